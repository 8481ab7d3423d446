"""The pyramid builders the benchmark times, each run alone in a fresh process.

``python bench/_pyramid_peers.py <builder> '<json parameters>'`` imports what the builder
needs, then times only the build, and prints one JSON line: the seconds of each phase, what
was written, and the process's resident memory just before the build (the interpreter and
its imports), so that the parent can tell the build's own memory from the baseline.

Builders:

- ``geozarr``: :func:`geozarr.build_pyramid` into Zarr (zstd), then, timed separately in the
  same process, :func:`geozarr.export_tiles` of every level as PNG files (grey colour map,
  values as they are), so that its total can be set beside a tiler that writes PNGs.
- ``gdal2tiles``: gdal2tiles' algorithm re-done with rasterio (GDAL 3.10 wheels carry no
  ``gdal2tiles.py``): a warped VRT in EPSG:3857 at GDAL's suggested resolution; every base
  tile read from it as gdal2tiles' ``geo_query`` says, with the 4x query window (nearest
  read at 4 x 256 pixels, then a 4x4 box average of data and alpha); every overview tile
  made from its 4 child PNG files read back from disk (2x2 box average); every tile written
  as a grey + alpha PNG by GDAL's PNG driver; 2 processes in a ``multiprocessing.Pool``,
  base tiles first and then one zoom level after the other, as ``--processes=2`` does;
  GDAL's block cache split between the processes as gdal2tiles splits it; transparent base
  tiles skipped, as ``-x`` does (geozarr does not store nodata-only tiles either).
- ``ndpyramid``: ndpyramid 0.4's per-level path (``level_reproject``, then the chunking
  and Zarr encoding ``pyramid_reproject`` applies) written with ``to_zarr``. Every level is
  reprojected from the full-resolution source into a full-world square of
  ``2**z * 256`` pixels, so only coarse levels fit in memory; the parent picks them.
- ``gdal``: GDAL's own tiler, ``gdal raster tile`` (GDAL >= 3.11) or ``gdal2tiles.py``,
  when installed; see :func:`gdal_tiler_command`.
"""

from __future__ import annotations

import json
import math
import multiprocessing
import multiprocessing.util
import os
import shutil
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

TILE = 256
#: gdal2tiles' query window for every kernel but nearest (4x) and bilinear (2x).
QUERY_FACTOR = 4
#: Half the circumference of the WebMercatorQuad world, in metres.
ORIGIN_SHIFT = 2 * math.pi * 6378137 / 2.0
INITIAL_RESOLUTION = 2 * ORIGIN_SHIFT / TILE


def rss_bytes() -> int:
    """This process's resident memory now (Linux ``/proc``; 0 elsewhere)."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return 0


def peak_rss_bytes() -> int:
    """This process's resident-memory high-water mark since it started its program
    (``VmHWM``; Linux ``/proc``; 0 elsewhere).

    Not ``getrusage().ru_maxrss``: Linux folds the memory of the process that forked this
    one into that figure when it calls ``exec``, so a child of a large benchmark process
    would report at least the benchmark's own size.
    """
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def count_files(root: Path, suffix: str) -> dict[str, int]:
    """Files ending in ``suffix`` under each ``root/<z>`` folder."""
    counts: dict[str, int] = {}
    if not root.is_dir():
        return counts
    for level in sorted(root.iterdir(), key=lambda p: p.name):
        if level.is_dir() and level.name.isdigit():
            counts[level.name] = sum(1 for p in level.rglob(f"*{suffix}") if p.is_file())
    return counts


# -- geozarr ----------------------------------------------------------------------------------
def build_geozarr(source: str, out: str, *, minzoom: int, maxzoom: int, resampling: str,
                  export: bool) -> dict[str, Any]:
    """Build the pyramid into ``out/pyramid.zarr`` and, with ``export``, write its PNG tiles
    into ``out/png``; each phase timed on its own."""
    import geozarr

    target = Path(out)
    zarr_path, png_path = target / "pyramid.zarr", target / "png"
    baseline = rss_bytes()
    start = time.perf_counter()
    geozarr.build_pyramid(source, str(zarr_path), minzoom=minzoom, maxzoom=maxzoom,
                          resampling=resampling)
    built = time.perf_counter()
    phases = {"build": built - start}
    # The high-water mark of the build alone (the export may add to it afterwards).
    build_peak = peak_rss_bytes()
    written: dict[str, Any] = {}
    if export:
        files = geozarr.export_tiles(str(zarr_path), str(png_path), format="png",
                                     colormap="grey", rescale=(0.0, 255.0))
        phases["export_png"] = time.perf_counter() - built
        written["png_files"] = files
    pyramid = geozarr.open_pyramid(str(zarr_path))
    try:
        written["zarr_tiles"] = {z: len(pyramid.stored_tiles(z)) for z in pyramid.levels}
    finally:
        pyramid.close()
    written["zarr_bytes"] = _folder_bytes(zarr_path)
    if export:
        written["png_bytes"] = _folder_bytes(png_path)
    return {"baseline_rss": baseline, "phases": phases, "written": written,
            "build_peak": build_peak}


def _folder_bytes(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file())


# -- gdal2tiles' algorithm with rasterio --------------------------------------------------------
@dataclass(frozen=True)
class BaseTile:
    """One base tile and its ReadRaster query (gdal2tiles' ``TileDetail``), XYZ numbering.

    ``rx, ry, rxsize, rysize`` is the window of the warped VRT; ``wx, wy, wxsize, wysize``
    where its pixels land in the ``querysize`` x ``querysize`` query buffer.
    """

    x: int
    y: int
    rx: int
    ry: int
    rxsize: int
    rysize: int
    wx: int
    wy: int
    wxsize: int
    wysize: int


@dataclass(frozen=True)
class TilerJob:
    """What every worker process needs: the source, the output folder, the zoom range, its
    share of GDAL's block cache, and where it reports its peak memory when it exits."""

    source: str
    out: str
    minzoom: int
    maxzoom: int
    cache_bytes: int
    report_dir: str


def _resolution(zoom: int) -> float:
    return INITIAL_RESOLUTION / 2**zoom


def _tile_range(bounds: tuple[float, float, float, float], zoom: int
                ) -> tuple[int, int, int, int]:
    """(min col, min row, max col, max row), XYZ rows (from the top), of the tiles the
    bounds touch: gdal2tiles' ``MetersToTile`` of the two corners, clamped to the world."""
    west, south, east, north = bounds
    span = _resolution(zoom) * TILE
    last = 2**zoom - 1

    def index(metres: float) -> int:  # gdal2tiles: ceil(pixels / tile) - 1
        return int(math.ceil((metres + ORIGIN_SHIFT) / span) - 1)

    min_col, max_col = max(0, index(west)), min(last, index(east))
    min_row_tms, max_row_tms = max(0, index(south)), min(last, index(north))
    return min_col, last - max_row_tms, max_col, last - min_row_tms


def _tile_bounds(x: int, y: int, zoom: int) -> tuple[float, float, float, float]:
    """(west, south, east, north) in metres of XYZ tile (x, y)."""
    span = _resolution(zoom) * TILE
    west = x * span - ORIGIN_SHIFT
    north = ORIGIN_SHIFT - y * span
    return west, north - span, west + span, north


def _geo_query(transform: Any, width: int, height: int,
               bounds: tuple[float, float, float, float], querysize: int
               ) -> tuple[int, int, int, int, int, int, int, int]:
    """gdal2tiles' ``geo_query``: the VRT window of ``bounds`` and where it lands in the
    query buffer, both cut to the VRT."""
    west, south, east, north = bounds
    rx = int((west - transform.c) / transform.a + 0.001)
    ry = int((north - transform.f) / transform.e + 0.001)
    rxsize = max(1, int((east - west) / transform.a + 0.5))
    rysize = max(1, int((south - north) / transform.e + 0.5))
    wxsize = wysize = querysize
    wx = wy = 0
    if rx < 0:
        shift = abs(rx)
        wx = int(wxsize * (shift / rxsize))
        wxsize -= wx
        rxsize -= int(rxsize * (shift / rxsize))
        rx = 0
    if rx + rxsize > width:
        wxsize = int(wxsize * ((width - rx) / rxsize))
        rxsize = width - rx
    if ry < 0:
        shift = abs(ry)
        wy = int(wysize * (shift / rysize))
        wysize -= wy
        rysize -= int(rysize * (shift / rysize))
        ry = 0
    if ry + rysize > height:
        wysize = int(wysize * ((height - ry) / rysize))
        rysize = height - ry
    return rx, ry, rxsize, rysize, wx, wy, wxsize, wysize


def _box_average(query: Any, factor: int) -> Any:
    """GDAL's ``average`` overview of a uint8 (bands, n, n) buffer by ``factor``: the mean of
    each factor x factor box, rounded, every band alike (gdal2tiles' query datasets carry no
    nodata, so alpha and data are averaged as they are)."""
    import numpy as np

    area = factor * factor
    total = np.full((query.shape[0], query.shape[1] // factor, query.shape[2] // factor),
                    area // 2, dtype=np.uint16)
    for row in range(factor):
        for col in range(factor):
            total += query[:, row::factor, col::factor]
    return (total // area).astype(np.uint8)


_STATE: dict[str, Any] = {}


def _worker_start(job: TilerJob) -> None:
    """Pool initializer: GDAL's block cache for this process (gdal2tiles gives each process
    an equal share of GDAL's default), opened lazily by the first tile."""
    import rasterio

    env = rasterio.Env(GDAL_CACHEMAX=job.cache_bytes)
    env.__enter__()  # held for the life of the worker process, as gdal2tiles' setting is
    _STATE["env"] = env
    _STATE["job"] = job
    multiprocessing.util.Finalize(None, _report_peak, args=(job.report_dir,), exitpriority=10)


def _report_peak(folder: str) -> None:
    """At a worker's normal exit: its memory high-water mark, into ``folder/<pid>``."""
    with open(os.path.join(folder, str(os.getpid())), "w") as report:
        report.write(str(peak_rss_bytes()))


def _warped() -> Any:
    """The worker's warped VRT (opened once per process, as gdal2tiles caches its dataset)."""
    vrt = _STATE.get("vrt")
    if vrt is None:
        vrt = _open_warped(_STATE["job"].source)
        _STATE["vrt"] = vrt
    return vrt


def _open_warped(source: str) -> Any:
    """gdal2tiles' ``reproject_dataset`` + nodata: ``AutoCreateWarpedVRT`` to EPSG:3857
    (nearest; GDAL's suggested grid), destination initialised to the source's nodata."""
    import rasterio
    from rasterio.enums import Resampling
    from rasterio.vrt import WarpedVRT

    dataset = rasterio.open(source)
    return WarpedVRT(dataset, crs="EPSG:3857", resampling=Resampling.nearest,
                     nodata=dataset.nodata, src_nodata=dataset.nodata,
                     init_dest_nodata=True)


def _write_png(path: str, tile: Any) -> None:
    """A (2, 256, 256) uint8 grey + alpha tile as PNG through GDAL's driver (a MEM dataset
    copied with CreateCopy, as gdal2tiles does)."""
    import rasterio
    from rasterio.errors import NotGeoreferencedWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with rasterio.open(path, "w", driver="PNG", width=TILE, height=TILE, count=2,
                           dtype="uint8") as dataset:
            dataset.write(tile)


def _read_png(path: str) -> Any:
    import rasterio
    from rasterio.errors import NotGeoreferencedWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with rasterio.open(path) as dataset:
            return dataset.read()


def _base_tile(tile: BaseTile) -> int:
    """gdal2tiles' ``create_base_tile`` with ``-r average -x``: 1 if a file was written."""
    import numpy as np
    from rasterio.enums import Resampling
    from rasterio.windows import Window

    job: TilerJob = _STATE["job"]
    vrt = _warped()
    querysize = QUERY_FACTOR * TILE
    window = Window(tile.rx, tile.ry, tile.rxsize, tile.rysize)
    shape = (tile.wysize, tile.wxsize)
    alpha = vrt.read_masks(1, window=window, out_shape=shape, resampling=Resampling.nearest)
    if not alpha.any():  # -x: a transparent tile is not written
        return 0
    data = vrt.read(1, window=window, out_shape=shape, resampling=Resampling.nearest)
    query = np.zeros((2, querysize, querysize), dtype=np.uint8)
    rows = slice(tile.wy, tile.wy + tile.wysize)
    cols = slice(tile.wx, tile.wx + tile.wxsize)
    query[0, rows, cols] = data
    query[1, rows, cols] = alpha
    folder = os.path.join(job.out, str(job.maxzoom), str(tile.x))
    _write_png(os.path.join(folder, f"{tile.y}.png"), _box_average(query, QUERY_FACTOR))
    return 1


def _overview_tile(job_tile: tuple[int, int, int]) -> int:
    """gdal2tiles' ``create_overview_tile``: tile (x, y) of zoom z from the child PNGs of
    zoom z + 1 that exist; 1 if a file was written."""
    import numpy as np

    z, x, y = job_tile
    job: TilerJob = _STATE["job"]
    query = np.zeros((2, 2 * TILE, 2 * TILE), dtype=np.uint8)
    found = False
    for dy in (0, 1):
        for dx in (0, 1):
            child = os.path.join(job.out, str(z + 1), str(2 * x + dx), f"{2 * y + dy}.png")
            if not os.path.isfile(child):
                continue
            query[:, dy * TILE:(dy + 1) * TILE, dx * TILE:(dx + 1) * TILE] = _read_png(child)
            found = True
    if not found:
        return 0
    _write_png(os.path.join(job.out, str(z), str(x), f"{y}.png"), _box_average(query, 2))
    return 1


def plan_base_tiles(source: str, maxzoom: int) -> tuple[list[BaseTile],
                                                        tuple[float, float, float, float]]:
    """The base tiles gdal2tiles would query at ``maxzoom`` (every tile of the warped VRT's
    bounding box, bottom row first as gdal2tiles walks them), and the VRT's bounds."""
    vrt = _open_warped(source)
    try:
        transform, width, height = vrt.transform, vrt.width, vrt.height
        bounds = (vrt.bounds.left, vrt.bounds.bottom, vrt.bounds.right, vrt.bounds.top)
    finally:
        vrt.src_dataset.close()
        vrt.close()
    min_col, min_row, max_col, max_row = _tile_range(bounds, maxzoom)
    tiles = []
    for y in range(max_row, min_row - 1, -1):
        for x in range(min_col, max_col + 1):
            query = _geo_query(transform, width, height, _tile_bounds(x, y, maxzoom),
                               QUERY_FACTOR * TILE)
            tiles.append(BaseTile(x, y, *query))
    return tiles, bounds


def build_gdal2tiles(source: str, out: str, *, minzoom: int, maxzoom: int,
                     processes: int = 2) -> dict[str, Any]:
    """gdal2tiles' ``--processes`` run (see the module docstring) into ``out/z/x/y.png``."""
    import numpy  # noqa: F401  (imported before the baseline, as the other builders do)
    import rasterio  # noqa: F401

    baseline = rss_bytes()
    start = time.perf_counter()
    tiles, bounds = plan_base_tiles(source, maxzoom)
    reports = tempfile.mkdtemp(prefix="gdal2tiles-peaks-")
    # GDAL's default block cache, split between the processes as gdal2tiles splits it.
    job = TilerJob(source, out, minzoom, maxzoom,
                   max(2**20, _gdal_default_cache() // processes), reports)
    for x in sorted({t.x for t in tiles}):
        os.makedirs(os.path.join(out, str(maxzoom), str(x)), exist_ok=True)
    written = {}
    context = multiprocessing.get_context("fork")
    pool = context.Pool(processes, initializer=_worker_start, initargs=(job,))
    try:
        chunk = max(1, min(128, len(tiles) // processes))
        written[str(maxzoom)] = sum(pool.imap_unordered(_base_tile, tiles, chunksize=chunk))
        base_done = time.perf_counter()
        for z in range(maxzoom - 1, minzoom - 1, -1):
            min_col, min_row, max_col, max_row = _tile_range(bounds, z)
            jobs = [(z, x, y) for y in range(max_row, min_row - 1, -1)
                    for x in range(min_col, max_col + 1)]
            for x in range(min_col, max_col + 1):
                os.makedirs(os.path.join(out, str(z), str(x)), exist_ok=True)
            chunk = max(1, min(128, len(jobs) // processes))
            written[str(z)] = sum(pool.imap_unordered(_overview_tile, jobs, chunksize=chunk))
        pool.close()  # the workers exit normally and report their peaks
        pool.join()
    finally:
        pool.terminate()
    end = time.perf_counter()
    peaks = [int(Path(reports, name).read_text()) for name in os.listdir(reports)]
    shutil.rmtree(reports, ignore_errors=True)
    return {"baseline_rss": baseline,
            "phases": {"base_tiles": base_done - start, "overview_tiles": end - base_done},
            "written": {"png_tiles": written, "png_bytes": _folder_bytes(Path(out)),
                        "gdal_cache_per_process": job.cache_bytes},
            "worker_peaks": peaks}


def _gdal_default_cache() -> int:
    """GDAL's default block cache: 5 % of the physical memory."""
    return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") * 0.05)


# -- ndpyramid ----------------------------------------------------------------------------------
def world_bytes(zoom: int, itemsize: int) -> int:
    """Bytes of ndpyramid's full-world square at ``zoom`` (256-pixel tiles)."""
    return (2**zoom * TILE) ** 2 * itemsize


def build_ndpyramid(source: str, out: str, *, levels: list[int], resampling: str
                    ) -> dict[str, Any]:
    """ndpyramid 0.4's pyramid_reproject, one level at a time, into ``out/pyramid.zarr``
    (Zarr v2, as ndpyramid's zlib encoding is written)."""
    import rioxarray
    from ndpyramid.reproject import level_reproject
    from ndpyramid.utils import set_zarr_encoding

    baseline = rss_bytes()
    start = time.perf_counter()
    target = Path(out) / "pyramid.zarr"
    dataset = rioxarray.open_rasterio(source).squeeze("band", drop=True).to_dataset(
        name="data")
    for zoom in levels:
        level = level_reproject(dataset, projection="web-mercator", level=zoom,
                                pixels_per_tile=TILE, resampling=resampling)
        level = level.chunk({"x": TILE, "y": TILE})
        level = set_zarr_encoding(level, codec_config={"id": "zlib", "level": 1},
                                  float_dtype="float32", int_dtype="int32",
                                  datetime_dtype="int32", object_dtype="str")
        level.to_zarr(str(target), group=str(zoom), mode="w", zarr_format=2,
                      consolidated=False)
        del level
    end = time.perf_counter()
    chunks = {}
    for zoom in levels:
        folder = target / str(zoom) / "data"
        chunks[str(zoom)] = sum(1 for p in folder.iterdir() if not p.name.startswith("."))
    return {"baseline_rss": baseline, "phases": {"build": end - start},
            "written": {"zarr_chunks": chunks, "zarr_bytes": _folder_bytes(target),
                        "world_bytes": {str(z): world_bytes(z, 1) for z in levels}}}


# -- GDAL's own tiler ----------------------------------------------------------------------------
def gdal_tiler_command(source: str, *, minzoom: int, maxzoom: int,
                       processes: int = 2) -> list[str] | None:
    """The command line of GDAL's own tiler for this pyramid, short of the output folder
    (its last argument), or None when neither ``gdal raster tile`` (GDAL >= 3.11) nor
    ``gdal2tiles.py`` is on ``PATH``. Both get average resampling, blank tiles skipped, XYZ
    numbering, no web viewer and ``processes`` workers."""
    gdal = shutil.which("gdal")
    if gdal is not None:
        return [gdal, "raster", "tile", "--min-zoom", str(minzoom), "--max-zoom",
                str(maxzoom), "-r", "average", "--overview-resampling", "average",
                "--skip-blank", "--webviewer", "none", "-j", str(processes), source]
    for name in ("gdal2tiles.py", "gdal2tiles"):
        script = shutil.which(name)
        if script is not None:
            return [script, "--xyz", "-x", "-r", "average", "-z", f"{minzoom}-{maxzoom}",
                    "-w", "none", f"--processes={processes}", "-q", source]
    return None


BUILDERS: dict[str, Callable[..., dict[str, Any]]] = {
    "geozarr": build_geozarr,
    "gdal2tiles": build_gdal2tiles,
    "ndpyramid": build_ndpyramid,
}


def main(argv: list[str]) -> int:
    """Run one builder (``argv[0]``) with its JSON keyword arguments (``argv[1]``) and print
    its result as one JSON line, with this process's peak resident memory."""
    name, params = argv[0], json.loads(argv[1])
    result = BUILDERS[name](**params)
    result["self_peak"] = peak_rss_bytes()
    print("RESULT " + json.dumps(result), flush=True)
    return 0


def iter_children(pid: int) -> Iterator[int]:
    """``pid`` and every process below it (Linux ``/proc``)."""
    todo = [pid]
    while todo:
        current = todo.pop()
        yield current
        try:
            tasks = os.listdir(f"/proc/{current}/task")
        except OSError:
            continue
        for task in tasks:
            try:
                with open(f"/proc/{current}/task/{task}/children") as listing:
                    todo.extend(int(child) for child in listing.read().split())
            except OSError:
                continue


if __name__ == "__main__":
    bench = str(Path(__file__).resolve().parent)
    sys.path.insert(1, str(Path(bench).parent))  # the working tree's geozarr
    sys.exit(main(sys.argv[1:]))
