"""Core read/write benchmark: geozarr beside zarr-python, zarrs-python, tensorstore and GDAL.

Times a full read, random 1024x1024 and 256x256 windows, and a full write of a square uint16
raster (16384x16384 by default, 512x512 chunks) in three encodings (v3 zstd, v2 blosc-lz4,
v3 sharded), with every implementation in the same process, in interleaved rounds whose
order rotates, so the noise of a shared 2-core VM hits all of them alike. The protocol is the
one of ``/work/shared/research/perf_anchors.md`` section 2; see ``bench/README.md``.

Usage::

    python bench/core_readwrite.py --quick                    # smoke test, < 1 minute
    python bench/core_readwrite.py --out bench/results/run1.json
    python bench/core_readwrite.py --datasets v3-zstd --impls geozarr,zarrs --rounds 7
"""

from __future__ import annotations

import argparse
import datetime
import gc
import importlib.metadata
import json
import os
import platform
import shutil
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent
# Benchmark the working tree's geozarr (it need not be pip-installed).
sys.path.insert(1, str(REPO_DIR))

import numpy as np  # noqa: E402

from _datasets import (  # noqa: E402
    DATASETS,
    SEED,
    DatasetSpec,
    Layout,
    describe,
    ensure_dataset,
    generate,
    stored_codecs,
    stored_nbytes,
)
from _impls import (  # noqa: E402
    ADAPTERS,
    DEFAULT_PIPELINE,
    IMPL_NAMES,
    Implementation,
    ImplementationUnavailable,
)
from _probe import ScalingProbe  # noqa: E402
from _report import DatasetResult, format_dataset  # noqa: E402


@dataclass(frozen=True)
class Settings:
    """What one run measures; built from the command line by :func:`parse_args`."""

    size: int
    full_rounds: int
    window_rounds: int
    write_rounds: int
    windows_1024: int
    windows_256: int
    datasets: tuple[str, ...]
    impls: tuple[str, ...]
    data_dir: Path
    out: Path | None
    writes: bool
    probe_chunks: int


def _names(text: str, allowed: Sequence[str], what: str) -> tuple[str, ...]:
    names = tuple(n.strip() for n in text.split(",") if n.strip())
    unknown = [n for n in names if n not in allowed]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"unknown {what} {', '.join(unknown) or '(none given)'}; "
            f"choose from {', '.join(allowed)}"
        )
    return names


def parse_args(argv: Sequence[str] | None = None) -> Settings:
    """Parse the command line into :class:`Settings` (``--quick`` changes the defaults)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add = parser.add_argument
    add("--size", type=int, help="edge of the square array (default 16384; 2048 with --quick)")
    add("--rounds", type=int, help="full-read rounds (default 5; 1 with --quick)")
    add("--window-rounds", type=int, help="window rounds (default 3; 1 with --quick)")
    add("--write-rounds", type=int, help="write rounds (default 3; 1 with --quick)")
    add("--windows-1024", type=int, default=50, help="1024x1024 windows per round (default 50)")
    add("--windows-256", type=int, default=200, help="256x256 windows per round (default 200)")
    parser.add_argument(
        "--datasets",
        type=lambda t: _names(t, tuple(DATASETS), "dataset"),
        default=tuple(DATASETS),
        help=f"comma-separated, from {','.join(DATASETS)} (default all)",
    )
    parser.add_argument(
        "--impls",
        type=lambda t: _names(t, IMPL_NAMES, "implementation"),
        default=IMPL_NAMES,
        help=f"comma-separated, from {','.join(IMPL_NAMES)} (default all)",
    )
    add("--data-dir", type=Path, default=BENCH_DIR / "data", help="dataset cache (bench/data)")
    add("--out", type=Path, help="write all samples, medians and ratios to this JSON file")
    add("--no-writes", action="store_true", help="skip the write measurements")
    add("--quick", action="store_true", help="smoke test: size 2048, 1 round of everything")
    args = parser.parse_args(argv)

    quick = args.quick
    size = args.size if args.size is not None else (2048 if quick else 16384)
    if size < 1024 or size % 512:
        parser.error(f"--size {size}: must be a multiple of 512 and at least 1024")

    def rounds(value: int | None, default: int, flag: str) -> int:
        chosen = value if value is not None else (1 if quick else default)
        if chosen < 1:
            parser.error(f"{flag} {chosen}: must be at least 1")
        return chosen

    return Settings(
        size=size,
        full_rounds=rounds(args.rounds, 5, "--rounds"),
        window_rounds=rounds(args.window_rounds, 3, "--window-rounds"),
        write_rounds=rounds(args.write_rounds, 3, "--write-rounds"),
        windows_1024=args.windows_1024,
        windows_256=args.windows_256,
        datasets=args.datasets,
        impls=tuple(n for n in IMPL_NAMES if n in args.impls),
        data_dir=args.data_dir,
        out=args.out,
        writes=not args.no_writes,
        probe_chunks=16 if quick else 64,
    )


def environment() -> dict[str, Any]:
    """Return versions, CPU count and load, recorded with every run."""
    versions: dict[str, str | None] = {}
    for dist in ("numpy", "numcodecs", "zarr", "zarrs", "tensorstore", "rasterio"):
        try:
            versions[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            versions[dist] = None
    try:
        import rasterio

        versions["gdal"] = rasterio.__gdal_version__
    except ImportError:
        versions["gdal"] = None
    try:
        import geozarr

        location = getattr(geozarr, "__file__", None)
        version = getattr(geozarr, "__version__", "?")
        versions["geozarr"] = f"{version} ({Path(location).parent})" if location else "incomplete"
    except Exception as exc:  # noqa: BLE001 - a half-written package is reported, not fatal
        versions["geozarr"] = f"not importable ({type(exc).__name__}: {exc})"
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "loadavg_1_5_15": list(os.getloadavg()),
        "versions": versions,
    }


def _attempt(result: DatasetResult, op: str, label: str, action: Callable[[], None]) -> bool:
    """Run ``action``; on failure record it against ``op/label`` and return False.

    The catch is deliberately broad: an implementation that crashes is a result to report,
    and must not stop the measurement of the others.
    """
    try:
        action()
    except Exception as exc:  # noqa: BLE001 - see docstring
        result.failures[f"{op}/{label}"] = f"{type(exc).__name__}: {exc}"
        return False
    return True


def _rotated(labels: list[str], round_index: int) -> list[str]:
    if not labels:
        return []
    k = round_index % len(labels)
    return labels[k:] + labels[:k]


def open_all(
    spec: DatasetSpec, layout: Layout, path: Path, settings: Settings, result: DatasetResult
) -> dict[str, Implementation]:
    """Open every requested implementation once; record the ones that cannot take part."""
    opened: dict[str, Implementation] = {}
    for name in settings.impls:
        for cls in ADAPTERS[name]:
            adapter = cls(spec, layout)
            result.rows.append(adapter.label)
            try:
                adapter.open(path)
            except ImplementationUnavailable as exc:
                result.unavailable[adapter.label] = str(exc)
            except ImportError as exc:
                result.unavailable[adapter.label] = f"not importable: {exc}"
            except Exception as exc:  # noqa: BLE001 - a failed open is reported, not fatal
                result.unavailable[adapter.label] = f"open failed: {type(exc).__name__}: {exc}"
            else:
                opened[adapter.label] = adapter
    return opened


def warm_up(impls: dict[str, Implementation], source: np.ndarray, result: DatasetResult) -> None:
    """One untimed full read and two windows per implementation, checked against the source.

    First reads are 1.5-2.5x slower (thread pools start, the allocator grows), so they are
    never timed. An implementation that returns wrong data is dropped from the dataset.
    """
    size = source.shape[0]
    checks = [(0, 0, size), (size // 3 + 7, size // 5 + 3, 1024), (size - 556, 301, 256)]
    checks = [(min(r, size - e), min(c, size - e), e) for r, c, e in checks]
    for label in list(impls):
        impl = impls[label]
        for row, col, edge in checks:
            impl.prepare()
            try:
                data = impl.read_full() if edge == size else impl.read_window(row, col, edge, edge)
                same = np.array_equal(data, source[row : row + edge, col : col + edge])
            except Exception as exc:  # noqa: BLE001 - reported, the others go on
                result.unavailable[label] = f"warm-up read failed: {type(exc).__name__}: {exc}"
                break
            if not same:
                result.unavailable[label] = (
                    f"warm-up read [{row}:{row + edge}, {col}:{col + edge}] "
                    "differs from the source data"
                )
                break
        if label in result.unavailable:
            impls.pop(label).close()


def measure_full(
    impls: dict[str, Implementation], settings: Settings, result: DatasetResult
) -> None:
    """Full reads: one sample per implementation per round, order rotating."""
    active = list(impls)
    for round_index in range(settings.full_rounds):
        for label in _rotated(active, round_index):
            impl = impls[label]

            def one() -> None:
                impl.prepare()
                gc.collect()
                start = time.perf_counter()
                data = impl.read_full()
                result.add("full", label, time.perf_counter() - start)
                del data

            if not _attempt(result, "full", label, one):
                active.remove(label)


def measure_windows(
    impls: dict[str, Implementation], settings: Settings, result: DatasetResult, *, edge: int
) -> None:
    """Random ``edge``-square windows, the same offsets for every implementation in a round.

    1024-windows record the mean of each round; 256-windows record every window.
    """
    op, count = ("w1024", settings.windows_1024) if edge == 1024 else ("w256", settings.windows_256)
    size = settings.size
    active = list(impls)
    for round_index in range(settings.window_rounds):
        rng = np.random.default_rng((SEED, edge, round_index))
        offsets = [(int(r), int(c)) for r, c in rng.integers(0, size - edge + 1, size=(count, 2))]
        for label in _rotated(active, round_index):
            impl = impls[label]
            times: list[float] = []

            def batch() -> None:
                gc.collect()
                for row, col in offsets:
                    impl.prepare()
                    start = time.perf_counter()
                    impl.read_window(row, col, edge, edge)
                    times.append(time.perf_counter() - start)

            if not _attempt(result, op, label, batch):
                active.remove(label)
            elif edge == 1024:
                result.add(op, label, statistics.fmean(times))
            else:
                for seconds in times:
                    result.add(op, label, seconds)


def _verify_write(path: Path, source: np.ndarray) -> dict[str, object]:
    import zarr

    with zarr.config.set({"codec_pipeline.path": DEFAULT_PIPELINE}):
        array = zarr.open_array(str(path), mode="r")
        same = array.shape == source.shape and np.array_equal(array[...], source)
    return {
        "verified": bool(same),
        "codecs": stored_codecs(path),
        "stored_bytes": stored_nbytes(path),
    }


def measure_writes(
    impls: dict[str, Implementation], settings: Settings, source: np.ndarray, result: DatasetResult
) -> None:
    """Full writes into a fresh directory each round; each first write is read back and checked."""
    spec_name = result.name
    root = settings.data_dir / "_writes"
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    active = [label for label, impl in impls.items() if impl.can_write]
    try:
        for round_index in range(settings.write_rounds):
            for label in _rotated(active, round_index):
                impl = impls[label]
                target = root / f"{spec_name}-{label.replace(' ', '_')}-r{round_index}.zarr"

                def one() -> None:
                    gc.collect()
                    start = time.perf_counter()
                    impl.write(target, source)
                    result.add("write", label, time.perf_counter() - start)
                    if label not in result.writes:
                        result.writes[label] = info = _verify_write(target, source)
                        if not info["verified"]:
                            result.failures[f"write/{label}"] = (
                                "zarr-python reads back different data"
                            )

                if not _attempt(result, "write", label, one) or f"write/{label}" in result.failures:
                    active.remove(label)
                shutil.rmtree(target, ignore_errors=True)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def run_dataset(
    spec: DatasetSpec, settings: Settings, source: np.ndarray, probe: ScalingProbe
) -> DatasetResult:
    """Measure every implementation on one dataset and return the collected result."""
    layout = Layout.for_size(settings.size)
    path = ensure_dataset(spec, layout, settings.data_dir, source)
    result = DatasetResult(
        name=spec.name,
        description=describe(spec, layout),
        array_nbytes=layout.nbytes,
        stored_nbytes=stored_nbytes(path),
    )
    result.probes.append(probe.run())
    impls = open_all(spec, layout, path, settings, result)
    try:
        warm_up(impls, source, result)
        measure_full(impls, settings, result)
        measure_windows(impls, settings, result, edge=1024)
        measure_windows(impls, settings, result, edge=256)
        if settings.writes:
            measure_writes(impls, settings, source, result)
    finally:
        for impl in impls.values():
            impl.close()
    result.probes.append(probe.run())
    return result


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark, print one table per dataset, optionally save JSON."""
    settings = parse_args(argv)
    env = environment()
    print(f"geozarr core read/write benchmark, {env['date']}")
    print(f"python {env['python']} on {env['platform']}, {env['cpus']} CPUs")
    print(f"load average (1, 5, 15 min): {env['loadavg_1_5_15']}")
    print("versions: " + ", ".join(f"{k} {v}" for k, v in env["versions"].items()))
    print(
        f"array {settings.size}x{settings.size} uint16; rounds: full {settings.full_rounds}, "
        f"windows {settings.window_rounds} x ({settings.windows_1024} of 1024, "
        f"{settings.windows_256} of 256), "
        f"write {settings.write_rounds if settings.writes else 0}; cache {settings.data_dir}"
    )
    started = time.perf_counter()
    source = generate(settings.size)
    probe = ScalingProbe(source, chunks=settings.probe_chunks)
    results: dict[str, DatasetResult] = {}
    try:
        for name in settings.datasets:
            results[name] = result = run_dataset(DATASETS[name], settings, source, probe)
            print()
            print(format_dataset(result), flush=True)
    finally:
        probe.close()
    elapsed = time.perf_counter() - started
    print(f"\ntotal {elapsed:.1f} s; figures from a shared, busy machine are indicative only")
    if settings.out is not None:
        settings.out.parent.mkdir(parents=True, exist_ok=True)
        document = {
            "environment": env,
            "settings": {
                k: str(v) if isinstance(v, Path) else v for k, v in settings.__dict__.items()
            },
            "elapsed_s": elapsed,
            "datasets": {name: r.to_json() for name, r in results.items()},
        }
        settings.out.write_text(json.dumps(document, indent=2) + "\n")
        print(f"results written to {settings.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
