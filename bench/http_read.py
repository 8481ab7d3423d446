"""Remote read benchmark: geozarr, zarr-python 3 and GDAL's /vsicurl/ over loopback HTTP.

The benchmark raster of ``_datasets.py`` (uint16, 512x512 chunks; v3 zstd, v2 blosc, v3
sharded) is served by the test suite's :class:`LoopbackHTTPServer` (``tests/servers.py``)
on 127.0.0.1, which sleeps ``--latency`` seconds before answering each request: a stand-in
for the round trip to object storage, the cost that dominates remote reads. Each
implementation opens each dataset once (untimed), is checked against the source on a
warm-up read, then times full reads and random 256x256 windows in rounds whose order
rotates. The implementations:

* geozarr: ``geozarr.open_array("http://...")`` (its HTTP store: a pool of 16 connections,
  shard index then coalesced inner-chunk ranges);
* zarr-python 3 with its obstore ``ObjectStore`` over obstore's ``HTTPStore``;
* GDAL through rasterio, ``ZARR:"/vsicurl/http://..."``, its /vsicurl/ cache disabled for
  the server and the dataset reopened before each timed read (no warm block cache).

Usage::

    python bench/http_read.py --quick            # 2048x2048, 1 round, about a minute
    python bench/http_read.py --out bench/results/http_read.json
    python bench/http_read.py --latency 0.05 --datasets v3-sharded --impls geozarr,zarr

Timings are printed and saved, never asserted; see ``docs/cloud.md``.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent
sys.path.insert(1, str(REPO_DIR))  # the working tree's geozarr
sys.path.insert(1, str(REPO_DIR / "tests"))  # the loopback server

import numpy as np  # noqa: E402

from _datasets import DATASETS, Layout, ensure_dataset, generate  # noqa: E402
from servers import LoopbackHTTPServer  # noqa: E402

IMPLS = ("geozarr", "zarr", "gdal")
WINDOW = 256


class Unavailable(RuntimeError):
    """An implementation cannot open or read a dataset (shown as n/a)."""


class Reader:
    """One implementation bound to one dataset URL."""

    label = "?"

    def open(self, url: str) -> None:
        raise NotImplementedError

    def prepare(self) -> None:
        """Untimed, before each timed read."""

    def full(self) -> np.ndarray:
        raise NotImplementedError

    def window(self, row: int, col: int) -> np.ndarray:
        raise NotImplementedError

    def close(self) -> None:
        """Release what :meth:`open` acquired."""


class GeozarrReader(Reader):
    label = "geozarr"

    def open(self, url: str) -> None:
        import geozarr

        self._array = geozarr.open_array(url)

    def full(self) -> np.ndarray:
        return self._array[...]

    def window(self, row: int, col: int) -> np.ndarray:
        return self._array[row:row + WINDOW, col:col + WINDOW]


class ZarrReader(Reader):
    label = "zarr-python"

    def open(self, url: str) -> None:
        try:
            import obstore.store
            import zarr
        except ImportError as exc:
            raise Unavailable(f"needs zarr and obstore: {exc}") from None
        http = obstore.store.HTTPStore.from_url(url, client_options={"allow_http": True})
        store = zarr.storage.ObjectStore(http, read_only=True)
        self._array = zarr.open_array(store, mode="r")

    def full(self) -> np.ndarray:
        return self._array[...]

    def window(self, row: int, col: int) -> np.ndarray:
        return self._array[row:row + WINDOW, col:col + WINDOW]


class GdalReader(Reader):
    label = "gdal /vsicurl/"

    def open(self, url: str) -> None:
        import rasterio

        self._name = f'ZARR:"/vsicurl/{url}"'
        server = url.split("/", 3)[:3]
        self._env = rasterio.Env(
            GDAL_DISABLE_READDIR_ON_OPEN="EMPTY_DIR",
            CPL_VSIL_CURL_NON_CACHED="/vsicurl/" + "/".join(server),
            GDAL_NUM_THREADS="ALL_CPUS", GDAL_HTTP_MAX_RETRY="3")
        self._env.__enter__()
        try:
            self._dataset = rasterio.open(self._name)
        except rasterio.errors.RasterioIOError as exc:
            self._env.__exit__(None, None, None)
            raise Unavailable(f"GDAL cannot open it: {str(exc).splitlines()[0]}") from None

    def prepare(self) -> None:
        import rasterio

        self._dataset.close()
        self._dataset = rasterio.open(self._name)

    def full(self) -> np.ndarray:
        return self._dataset.read(1)

    def window(self, row: int, col: int) -> np.ndarray:
        from rasterio.windows import Window

        return self._dataset.read(1, window=Window(col, row, WINDOW, WINDOW))

    def close(self) -> None:
        self._dataset.close()
        self._env.__exit__(None, None, None)


READERS: dict[str, Callable[[], Reader]] = {
    "geozarr": GeozarrReader, "zarr": ZarrReader, "gdal": GdalReader}


def _timed(function: Callable[[], np.ndarray]) -> tuple[float, np.ndarray]:
    start = time.perf_counter()
    result = function()
    return time.perf_counter() - start, result


def measure(name: str, url: str, source: np.ndarray, args: argparse.Namespace
            ) -> dict[str, Any]:
    """Open every implementation on ``url``, check it, and time it in rotating rounds."""
    readers: dict[str, Reader] = {}
    unavailable: dict[str, str] = {}
    for impl in args.impls:
        reader = READERS[impl]()
        try:
            reader.open(url)
            reader.prepare()
            if not np.array_equal(reader.full(), source):
                raise Unavailable("the warm-up full read returned wrong data")
            reader.prepare()
            if not np.array_equal(reader.window(17, 33), source[17:17 + WINDOW, 33:33 + WINDOW]):
                raise Unavailable("the warm-up window returned wrong data")
        except Unavailable as exc:
            unavailable[reader.label] = str(exc)
            continue
        readers[reader.label] = reader
    samples: dict[str, dict[str, list[float]]] = {"full": {}, "w256": {}}
    rng = np.random.default_rng(7)
    order = list(readers)
    for round_index in range(args.rounds):
        offsets = rng.integers(0, source.shape[0] - WINDOW, size=(args.windows, 2))
        turn = order[round_index % len(order):] + order[:round_index % len(order)]
        for label in turn:
            reader = readers[label]
            reader.prepare()
            seconds, _ = _timed(reader.full)
            samples["full"].setdefault(label, []).append(seconds)
            for row, col in offsets:
                reader.prepare()
                seconds, _ = _timed(lambda: reader.window(int(row), int(col)))
                samples["w256"].setdefault(label, []).append(seconds)
    for reader in readers.values():
        reader.close()
    medians = {op: {label: statistics.median(values) for label, values in rows.items()}
               for op, rows in samples.items()}
    return {"dataset": name, "samples": samples, "medians": medians,
            "unavailable": unavailable}


def report(result: dict[str, Any], latency: float) -> str:
    lines = [f"\n== {result['dataset']} (latency {latency * 1000:.0f} ms per request)"]
    for op, title in (("full", "full read"), ("w256", "256x256 window, median")):
        medians = result["medians"][op]
        reference = medians.get("geozarr")
        lines.append(f"  {title}")
        for label, seconds in sorted(medians.items(), key=lambda item: item[1]):
            ratio = f"{seconds / reference:5.2f}x geozarr's time" if reference else ""
            lines.append(f"    {label:<16} {seconds * 1000:9.1f} ms   {ratio}")
    for label, why in result["unavailable"].items():
        lines.append(f"    {label:<16}       n/a   ({why})")
    window = result["medians"]["w256"]
    if "geozarr" in window:
        if "zarr-python" in window:
            ratio = window["zarr-python"] / window["geozarr"]
            lines.append(f"  target window >= 2x faster than zarr-python: {ratio:.2f}x "
                         f"({'met' if ratio >= 2 else 'NOT met'})")
        if "gdal /vsicurl/" in window:
            ratio = window["gdal /vsicurl/"] / window["geozarr"]
            lines.append(f"  target window no slower than GDAL: {ratio:.2f}x "
                         f"({'met' if ratio >= 1 else 'NOT met'})")
    return "\n".join(lines)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=None,
                        help="edge of the raster (default 4096, 2048 with --quick)")
    parser.add_argument("--latency", type=float, default=0.02,
                        help="seconds the server waits before each answer (default 0.02)")
    parser.add_argument("--rounds", type=int, default=None, help="rounds (default 3; 1 quick)")
    parser.add_argument("--windows", type=int, default=None,
                        help="256x256 windows per round (default 20; 5 quick)")
    parser.add_argument("--datasets", default="v3-zstd,v2-blosc,v3-sharded")
    parser.add_argument("--impls", default=",".join(IMPLS))
    parser.add_argument("--data-dir", type=Path, default=BENCH_DIR / "data")
    parser.add_argument("--out", type=Path, default=None, help="write the samples as JSON")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    args.size = args.size or (2048 if args.quick else 4096)
    args.rounds = args.rounds or (1 if args.quick else 3)
    args.windows = args.windows or (5 if args.quick else 20)
    args.datasets = [name for name in args.datasets.split(",") if name]
    args.impls = [name for name in args.impls.split(",") if name]
    for name in args.datasets:
        if name not in DATASETS:
            parser.error(f"unknown dataset {name!r}: one of {', '.join(DATASETS)}")
    for name in args.impls:
        if name not in READERS:
            parser.error(f"unknown implementation {name!r}: one of {', '.join(READERS)}")
    return args


def _serve(root: Path, latency: float, urls: Any, stop: Any) -> None:
    """The server process: serve ``root``, send its URL, run until ``stop`` is set."""
    with LoopbackHTTPServer(root) as server:
        server.configure(latency=latency)
        urls.put(server.url)
        stop.wait()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    layout = Layout.for_size(args.size)
    source = generate(args.size)
    paths = {name: ensure_dataset(DATASETS[name], layout, args.data_dir, source)
             for name in args.datasets}
    results = []
    # The server runs in its own process: in this one, its threads would compete for the
    # GIL with the readers (and GDAL's open, which holds the GIL, would wait on it forever).
    context = multiprocessing.get_context("spawn")
    urls, stop = context.Queue(), context.Event()
    process = context.Process(target=_serve, daemon=True,
                              args=(args.data_dir / f"s{args.size}", args.latency, urls, stop))
    process.start()
    try:
        base = urls.get(timeout=60)
        for name, path in paths.items():
            result = measure(name, f"{base}/{path.name}", source, args)
            print(report(result, args.latency), flush=True)
            results.append(result)
    finally:
        stop.set()
        process.join(timeout=10)
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({"size": args.size, "latency": args.latency,
                                        "rounds": args.rounds, "windows": args.windows,
                                        "results": results}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
