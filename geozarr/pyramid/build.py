"""Building a pyramid: the finest level warped from the source, every coarser level reduced
from the level below, tile by tile, on all cores, in bounded memory.

The finest level is built by :func:`rasterio.warp.reproject` one tile at a time, each from
only the source pixels it needs (:mod:`geozarr.pyramid.warp`); a coarser level whose pixel
grid nests in the finer one is a nodata-aware block reduction of it
(:mod:`geozarr.pyramid.reduce`), so the source is read once; a level that does not nest
(a TMS whose scales are not integer ratios) is warped from the level below.

Work goes in blocks of tiles (whole shards when sharded, so no stored object is written by
two threads) to a thread pool: GDAL's warper, numpy and the codecs release the GIL. At most
``workers + 1`` blocks are in flight, each sized from ``memory_limit``; tiles holding only
nodata are never stored. Each block is one call of :func:`run_block` with its level's
:class:`LevelWork`; given a dask ``client``, :mod:`geozarr.distributed` runs the same calls
as tasks on the cluster instead, level by level. Each finished block is recorded in the
staging store, so an interrupted build resumed with ``resume=True`` redoes only unrecorded
blocks, and since a tile's bytes depend on nothing but the source and the parameters, it
ends with exactly the bytes a clean build writes.
"""

from __future__ import annotations

import concurrent.futures as futures
import functools
import math
import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyproj
import rasterio
from affine import Affine
from morecantile.models import TileMatrixSet
from rasterio.crs import CRS
from rasterio.windows import Window

from geozarr.core.array import Array
from geozarr.core.creation import DEFAULT, write_array_metadata
from geozarr.core.hierarchy import consolidate_metadata
from geozarr.errors import InvalidKeyError, MetadataError, UsageError
from geozarr.geo import encode
from geozarr.metadata.jsondoc import dump_json_document
from geozarr.metadata.v3 import GroupMetadataV3
from geozarr.pyramid.metadata import DataDescription, LevelDocuments, level_documents, \
    pyramid_attributes
from geozarr.pyramid.plan import LevelPlan, PyramidPlan, plan_levels
from geozarr.pyramid.reader import stored_chunks
from geozarr.pyramid.reduce import KERNEL_RADIUS, canonical_method, context_pad, \
    reduce_block, valid_mask
from geozarr.pyramid.source import SourceInfo, SourceReader, open_source
from geozarr.pyramid.staging import Block, Stage, open_stage, signature
from geozarr.pyramid.warp import DECIMATE_ABOVE, SourceGrid, SourcePiece, decimated_window, \
    decimation, source_pieces, sub_windows, warp_tile, window_transform
from geozarr.raster.writer import RESERVED_NAMES
from geozarr.storage import Store, validate_node_name

#: The memory a build may use when no ``memory_limit`` is given: 512 MiB.
DEFAULT_MEMORY_LIMIT = 512 * 2**20
#: Most tiles along a side of one block.
MAX_BLOCK_TILES = 8
#: On a cluster, blocks per worker thread that a level is cut into when it is big enough,
#: so that the last blocks to finish leave few threads idle; but no smaller than this many
#: tiles a side, so that a task's work outweighs its scheduling (a few milliseconds).
BLOCKS_PER_THREAD = 2
MIN_SPREAD_SIDE = 2

Progress = Callable[[float], None]
Reader = Callable[[Window], np.ndarray]


def build_pyramid(source: Any, destination: Any, *,
                  tms: str | TileMatrixSet | Mapping[str, Any] = "WebMercatorQuad",
                  minzoom: int | None = None, maxzoom: int | None = None,
                  resampling: str = "average", overview_resampling: str | None = None,
                  nodata: float | int | None = None, compressor: Any = DEFAULT,
                  shards: int | None = None, workers: int | None = None,
                  memory_limit: int | None = None, resume: bool = False,
                  overwrite: bool = False, progress: Progress | None = None,
                  client: Any = None) -> PyramidPlan:
    """Build the tile pyramid of ``source`` in ``tms`` as GeoZarr at ``destination``.

    Parameters
    ----------
    source
        A path or URL rasterio opens, a Zarr path, ``ZARR:"..."`` string or store, or a
        :class:`~geozarr.raster.reader.RasterReader`.
    destination
        A directory path (``"pyr.zarr"``), a ``.zip`` path, a store URL or a
        :class:`~geozarr.storage.Store`.
    tms, minzoom, maxzoom
        The TileMatrixSet and zoom range (see :func:`~geozarr.pyramid.plan.plan_pyramid`).
    resampling
        The warp kernel of the finest level, by GDAL's name: ``nearest``, ``bilinear``,
        ``cubic``, ``cubicspline``, ``lanczos``, ``average``, ``mode``, ``min``, ``max``,
        ``med``, ``q1``, ``q3``, ``rms``.
    overview_resampling
        The method that reduces each level into the next coarser one; default
        ``resampling``.
    nodata
        The value marking missing pixels, in the source and in every level (also the Zarr
        ``fill_value``); default the source's nodata, else NaN for float data and 0 for
        integer data (so an integer source's zeros count as missing: pass another value
        when 0 is data).
    compressor
        A numcodecs codec; ``"default"`` is Zstd level 3, None stores raw bytes.
    shards
        Store ``shards`` x ``shards`` tiles per object (Zarr v3 sharding); None stores one
        object per tile.
    workers
        Threads working on blocks of tiles; default the number of CPUs (with ``client``,
        the most threads a dask worker has).
    memory_limit
        Bytes the build may hold (blocks in flight and GDAL's block cache are sized from
        it); default 512 MiB. A shard larger than a block's share raises it to one shard.
        With ``client`` it is the memory of one dask worker process (``docs/scale-out.md``).
    resume
        Finish an interrupted build of the same pyramid (same source, parameters and
        destination) instead of starting again; a pyramid already complete is left as it is.
    overwrite
        Replace what is at ``destination`` (only once the new pyramid is complete, for local
        paths).
    progress
        Called with the fraction done (0..1) as blocks finish; raise from it to stop (the
        unfinished build is kept for ``resume``).
    client
        A :class:`dask.distributed.Client`: the blocks run as tasks on its workers (each
        writes whole tiles or shards), level by level, and the output is byte for byte the
        local one. The source and ``destination`` must be reachable from every worker
        (shared paths, URLs); needs ``geozarr[dask]``. None runs on local threads.

    Returns
    -------
    PyramidPlan
        The plan that was built.

    Raises
    ------
    GeoZarrError
        Bad input (an unknown TMS or method, zooms outside the TMS, a source without CRS,
        a destination that exists without ``overwrite``/``resume``...): nothing is written.
        A failure while building keeps the unfinished pyramid for ``resume``, and says where.
    """
    method = canonical_method(resampling)
    overview = canonical_method(overview_resampling or method)
    default_threads, spread = os.cpu_count() or 1, 0
    if client is not None:
        from geozarr.distributed import check_destination, worker_threads
        check_destination(client, destination)
        default_threads, spread = worker_threads(client)
    threads = _positive(workers, "workers", default_threads)
    budget = _positive(memory_limit, "memory_limit", DEFAULT_MEMORY_LIMIT)
    shard_tiles = None if shards is None else _positive(shards, "shards", 1)
    with open_source(source) as reader:
        info = reader.info
        plan = plan_levels(tms, crs=info.crs, transform=info.transform, width=info.width,
                           height=info.height, count=info.count, dtype=info.dtype,
                           nodata=info.nodata, minzoom=minzoom, maxzoom=maxzoom)
        fill = _fill_value(nodata, info)
        crs = pyproj.CRS.from_user_input(plan.crs)
        data = DataDescription(
            name=_array_name(info.array_name), count=info.count, dtype=info.dtype, nodata=fill,
            crs=crs, band_names=info.band_names, units=info.units, scale=info.scale,
            offset=info.offset, compressor=compressor, shard_tiles=shard_tiles)
        documents = [level_documents(level, data) for level in plan.levels]
        build = signature(_manifest(info, plan, data, method, overview))
        root = pyramid_attributes(plan, crs=crs, ndim=len(data.dims), method=method,
                                  overview_method=overview, build=build)
        with rasterio.Env(GDAL_CACHEMAX=max(8 * 2**20, budget // 8)):
            stage = open_stage(destination, build, overwrite=overwrite, resume=resume)
            if stage is None:
                if progress is not None:
                    progress(1.0)
                return plan
            try:
                builder = _Builder(source, reader, plan, stage, documents, data, method,
                                   overview, threads, budget // 2 // (threads + 1), progress,
                                   client, spread)
                builder.run()
                _write_metadata(stage.store, documents, root)
                stage.commit()
            except BaseException as error:
                stage.keep(error)
                raise
    if progress is not None:
        progress(1.0)
    return plan


def _positive(value: Any, label: str, default: int) -> int:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise MetadataError(f"{label} must be a positive integer, got {value!r}")
    return int(value)


def _fill_value(nodata: float | int | None, info: SourceInfo) -> float | int:
    """The nodata every level uses: the given one, the source's, else NaN or 0."""
    if nodata is None:
        nodata = info.nodata
    if nodata is None:
        return math.nan if info.dtype.kind == "f" else 0
    return encode.nodata_value(nodata, info.dtype)


def _array_name(name: str | None) -> str:
    """The source array's name when the source is a Zarr array, else ``"data"``."""
    if not name or name in RESERVED_NAMES:
        return "data"
    try:
        validate_node_name(name)
    except InvalidKeyError:
        return "data"
    return name


def _manifest(info: SourceInfo, plan: PyramidPlan, data: DataDescription, method: str,
              overview: str) -> dict[str, Any]:
    """Everything the pyramid's bytes depend on."""
    compressor = data.compressor
    if hasattr(compressor, "get_config"):
        compressor = compressor.get_config()
    return {
        "format": "geozarr-pyramid/1",
        "source": list(info.identity),
        "grid": [info.width, info.height, info.count, str(info.dtype), info.crs.to_wkt(),
                 list(info.transform)[:6]],
        "tms": plan.tms.model_dump(mode="json", exclude_none=True),
        "levels": [[level.id, level.limits.to_ogc(level.id)] for level in plan.levels],
        "resampling": [method, overview],
        "nodata": repr(data.nodata), "name": data.name, "compressor": compressor,
        "shards": data.shard_tiles,
    }


# -- the work ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class LevelWork:
    """Everything a block of one level needs, and nothing that cannot travel.

    The local thread pool and dask workers both make a block with :func:`run_block` from
    this value; it pickles as plans, parameters and the staging store's location, so a
    worker process reopens the store (and the source) itself.

    Attributes
    ----------
    level
        The level being built.
    data
        What every level's data array shares (type, nodata, bands).
    target
        The level's data array in the staging store.
    crs
        The TileMatrixSet's CRS.
    method
        The warp kernel, or the reduction method of a level reduced from the one below.
    task_budget
        Bytes one block may hold.
    pixel_bytes
        Bytes of one pixel of what the block reads (over all bands).
    grid
        Warped levels: the grid warped from (the source's, or the level below's); None for
        a level reduced from the one below.
    finer
        Levels made from the level below: that level's data array; None for the finest.
    source
        The finest level: the source as given to :func:`build_pyramid`, which a worker
        opens again when it is not handed a reader.
    """

    level: LevelPlan
    data: DataDescription
    target: Array
    crs: CRS
    method: str
    task_budget: int
    pixel_bytes: int
    grid: SourceGrid | None
    finer: Array | None
    source: Any = None


def run_block(work: LevelWork, block: Block, read: Reader | None = None) -> None:
    """Make and store one block of tiles of ``work``'s level (nothing when it holds only
    nodata).

    ``read`` reads the source for the finest level (a reader shared by the local threads);
    without it the source is opened for this block (a dask worker). Other levels read the
    level below from the staging store.

    Raises
    ------
    UsageError
        ``work`` names neither a grid to warp from nor a level below to reduce.
    """
    grid, finer = work.grid, work.finer
    if grid is None:
        if finer is None:
            raise UsageError(f"level {work.level.id}: the work names neither a grid to warp "
                             f"from nor a level below to reduce")
        _reduce(work, finer, block)
    elif finer is not None:
        _warp(work, grid, block, _level_reader(finer, work.data))
    elif read is not None:
        _warp(work, grid, block, read)
    else:
        with open_source(work.source) as reader:
            _warp(work, grid, block, reader.read)


class _Builder:
    """Runs every level's blocks on the pool (or on a dask cluster), finest level first."""

    def __init__(self, source: Any, reader: SourceReader, plan: PyramidPlan, stage: Stage,
                 documents: list[LevelDocuments], data: DataDescription, method: str,
                 overview: str, threads: int, task_budget: int, progress: Progress | None,
                 client: Any, spread: int):
        self.source = source
        self.reader = reader
        self.plan = plan
        self.stage = stage
        self.data = data
        self.method = method
        self.overview = overview
        self.threads = threads
        self.task_budget = task_budget
        self.progress = progress
        self.client = client
        self.spread = spread
        self.arrays = {doc.level.id: Array(stage.store, doc.data.path, doc.data.metadata,
                                           doc.data.attributes, read_only=False)
                       for doc in documents}
        self.total = max(1, plan.tiles)
        self.finished = 0

    def run(self) -> None:
        done = self.stage.done()
        by_id = {level.id: level for level in self.plan.levels}
        for level in self.plan.levels:
            finished = np.zeros((level.limits.rows, level.limits.cols), dtype=bool)
            for r0, c0, r1, c1 in done.get(level.id, []):
                finished[r0:r1, c0:c1] = True
            finer = None if level.derived_from is None else by_id[level.derived_from]
            work, scale = self._work(level, finer)
            side = self._block_side(level, scale, work.pixel_bytes)
            blocks = [block for block in _blocks(level, side)
                      if not finished[block[0]:block[2], block[1]:block[3]].all()]
            self.finished += int(finished.sum())
            if work.grid is None and finer is not None:
                # blocks over no stored tile of the level below hold only nodata
                stored = stored_chunks(self.arrays[finer.id])
                pad = context_pad(self.overview, level.factor or 1)
                wanted = [block for block in blocks
                          if _touched(level, finer, pad, block) & stored]
                self.finished += sum((b[2] - b[0]) * (b[3] - b[1]) for b in blocks) \
                    - sum((b[2] - b[0]) * (b[3] - b[1]) for b in wanted)
                blocks = wanted
            self._report()
            if self.client is None:
                self._run(work, blocks)
            elif blocks:
                from geozarr.distributed import run_tasks
                run_tasks(self.client, run_block, work, blocks,
                          label=f"geozarr-pyramid-z{level.id}",
                          done=functools.partial(self._finished, level))

    def _work(self, level: LevelPlan, finer: LevelPlan | None) -> tuple[LevelWork, float]:
        """The level's work, and how many of the pixels it reads one of its pixels spans."""
        common = {"level": level, "data": self.data, "target": self.arrays[level.id],
                  "crs": self.plan.crs, "task_budget": self.task_budget}
        if finer is None:
            # tiles of sources finer than this are read reduced, in parts of their own
            scale = min(DECIMATE_ABOVE, max(1.0, level.cell_size / self.plan.source_resolution))
            grid = SourceGrid(self.plan.source_crs, self.plan.source_transform,
                              self.reader.info.width, self.reader.info.height)
            return LevelWork(**common, method=self.method,
                             pixel_bytes=self.reader.info.pixel_bytes, grid=grid, finer=None,
                             source=self.source), scale
        pixel_bytes = self.data.count * self.data.dtype.itemsize
        below = self.arrays[finer.id]
        if level.factor is not None:
            return LevelWork(**common, method=self.overview, pixel_bytes=pixel_bytes,
                             grid=None, finer=below), float(level.factor)
        grid = SourceGrid(self.plan.crs, finer.transform, finer.shape[1], finer.shape[0])
        return LevelWork(**common, method=self.overview, pixel_bytes=pixel_bytes, grid=grid,
                         finer=below), level.cell_size / finer.cell_size

    # -- scheduling --
    def _block_side(self, level: LevelPlan, scale: float, pixel_bytes: int) -> int:
        """Tiles per block side: as many as the task budget holds (source or finer pixels
        read, the block itself, the warper's and the encoder's copies), a whole number of
        shards; on a cluster, few enough that every worker thread has blocks to the end."""
        height, width = level.tile_shape
        out_bytes = height * width * self.data.count * self.data.dtype.itemsize
        read_bytes = (height * scale + 16) * (width * scale + 16) * pixel_bytes
        per_tile = read_bytes * 2 + out_bytes * 4
        side = max(1, min(MAX_BLOCK_TILES, math.isqrt(int(self.task_budget // per_tile))))
        if self.spread:
            wanted = math.isqrt(level.tiles // (BLOCKS_PER_THREAD * self.spread))
            side = min(side, max(MIN_SPREAD_SIDE, wanted))
        shard = self.data.shard_tiles
        if shard is not None:
            side = max(shard, side // shard * shard)
        return side

    def _run(self, work: LevelWork, blocks: list[Block]) -> None:
        if not blocks:
            return
        pending: set[futures.Future[None]] = set()
        order: dict[futures.Future[None], Block] = {}
        queue = iter(blocks)
        with futures.ThreadPoolExecutor(max_workers=self.threads,
                                        thread_name_prefix="geozarr-pyramid") as pool:
            try:
                for block in queue:
                    future = pool.submit(run_block, work, block, self.reader.read)
                    pending.add(future)
                    order[future] = block
                    if len(pending) > self.threads:
                        pending = self._collect(work.level, pending, order)
                while pending:
                    pending = self._collect(work.level, pending, order)
            except BaseException:
                for future in pending:
                    future.cancel()
                futures.wait(pending)
                raise

    def _collect(self, level: LevelPlan, pending: set[futures.Future[None]],
                 order: dict[futures.Future[None], Block]) -> set[futures.Future[None]]:
        finished, waiting = futures.wait(pending, return_when=futures.FIRST_COMPLETED)
        for future in finished:
            future.result()  # re-raises the block's error
            self._finished(level, order.pop(future))
        return set(waiting)

    def _finished(self, level: LevelPlan, block: Block) -> None:
        """Record a block whose tiles are stored, and report progress."""
        self.stage.record(level.id, block)
        self.finished += (block[2] - block[0]) * (block[3] - block[1])
        self._report()

    def _report(self) -> None:
        if self.progress is not None:
            self.progress(min(1.0, self.finished / self.total))


def _touched(level: LevelPlan, finer: LevelPlan, pad: int, block: Block
             ) -> set[tuple[int, int]]:
    """The tiles (chunks) of the level below that a reduced block reads, with its context."""
    factor = level.factor or 1
    off_row, off_col = level.offset or (0, 0)
    fine_h, fine_w = finer.tile_shape
    height, width = level.tile_shape
    r0, c0, r1, c1 = block
    row0 = off_row + r0 * height * factor - pad
    col0 = off_col + c0 * width * factor - pad
    rows = (r1 - r0) * height * factor + 2 * pad
    cols = (c1 - c0) * width * factor + 2 * pad
    return {(r, c) for r in range(max(0, row0) // fine_h, max(0, row0 + rows - 1) // fine_h + 1)
            for c in range(max(0, col0) // fine_w, max(0, col0 + cols - 1) // fine_w + 1)}


# -- making one block -------------------------------------------------------------------------
def _write(work: LevelWork, block: Block, values: np.ndarray) -> None:
    """Store a block (nothing when it holds only nodata: no tile of it is stored)."""
    if not valid_mask(values, work.data.nodata).any():
        return
    height, width = work.level.tile_shape
    r0, c0, r1, c1 = block
    rows = slice(r0 * height, r1 * height)
    cols = slice(c0 * width, c1 * width)
    if work.data.count > 1:
        work.target.write((slice(None), rows, cols), values)
    else:
        work.target.write((rows, cols), values[0])


def _level_reader(array: Array, data: DataDescription) -> Reader:
    def read(window: Window) -> np.ndarray:
        return _read_padded(array, data.count, int(window.row_off), int(window.col_off),
                            int(window.height), int(window.width), data.nodata)
    return read


def _reduced_read(work: LevelWork, grid: SourceGrid, read: Reader, piece: SourcePiece,
                  factor: int) -> tuple[np.ndarray, Affine]:
    """A source piece much finer than its tile, read in parts of at most a quarter of a
    block's budget and reduced by ``factor`` (with the level's method when it is a window
    method, else average): memory holds one part and the reduced piece, whatever the
    source's size."""
    count, dtype, nodata = work.data.count, work.data.dtype, work.data.nodata
    window = decimated_window(piece.window, factor, grid.width, grid.height)
    reducer = work.method if work.method not in KERNEL_RADIUS else "average"
    side = max(factor, math.isqrt(max(1, work.task_budget // 4 // work.pixel_bytes))
               // factor * factor)
    out = np.full((count, -(-int(window.height) // factor),
                   -(-int(window.width) // factor)), nodata, dtype=dtype)
    for row, col, part in sub_windows(window, side):
        values = read(part)
        _, height, width = values.shape
        whole = (-(-height // factor) * factor, -(-width // factor) * factor)
        if whole != (height, width):  # a partial block at the grid's edge
            padded = np.full((count, *whole), nodata, dtype=values.dtype)
            padded[:, :height, :width] = values
            values = padded
        reduced = reduce_block(values.astype(dtype, copy=False), factor, reducer, nodata)
        r, c = row // factor, col // factor
        out[:, r:r + reduced.shape[1], c:c + reduced.shape[2]] = reduced
    return out, window_transform(grid.transform, window, factor)


def _warp(work: LevelWork, grid: SourceGrid, block: Block, read: Reader) -> None:
    """The finest level, and levels that do not nest: one warp per tile from ``grid``."""
    level, method = work.level, work.method
    count, dtype, nodata = work.data.count, work.data.dtype, work.data.nodata
    height, width = level.tile_shape
    r0, c0, r1, c1 = block
    tiles = []
    for row in range(r0, r1):
        for col in range(c0, c1):
            bounds = level.grid.tile_bounds(*level.grid.matrix_tile(level.limits, row, col))
            pieces = source_pieces(grid, work.crs, bounds, (height, width), method)
            if pieces:
                tiles.append((row, col, bounds, pieces))
    if not tiles:
        return
    crops = _Crops(grid, read, [p for *_, pieces in tiles for p in pieces
                                if decimation(p) == 1])
    out = np.full((count, (r1 - r0) * height, (c1 - c0) * width), nodata, dtype=dtype)
    tile = np.empty((count, height, width), dtype=dtype)
    for row, col, bounds, pieces in tiles:
        dst_transform = Affine(level.cell_size, 0.0, bounds[0], 0.0, -level.cell_size,
                               bounds[3])
        for index, piece in enumerate(pieces):
            factor = decimation(piece)
            if factor == 1:
                crop, crop_transform = crops.get(piece)
            else:
                crop, crop_transform = _reduced_read(work, grid, read, piece, factor)
            warp_tile(crop, crop_transform, grid.crs, tile, dst_transform, work.crs, method,
                      nodata, first=index == 0)
        y, x = (row - r0) * height, (col - c0) * width
        out[:, y:y + height, x:x + width] = tile
    _write(work, block, out)


def _reduce(work: LevelWork, source: Array, block: Block) -> None:
    """Levels that nest: a block reduction of the level below (``source``)."""
    level = work.level
    factor = level.factor or 1
    off_row, off_col = level.offset or (0, 0)
    pad = context_pad(work.method, factor)
    height, width = level.tile_shape
    r0, c0, r1, c1 = block
    row0 = off_row + r0 * height * factor - pad
    col0 = off_col + c0 * width * factor - pad
    rows = (r1 - r0) * height * factor + 2 * pad
    cols = (c1 - c0) * width * factor + 2 * pad
    region = _read_padded(source, work.data.count, row0, col0, rows, cols, work.data.nodata)
    _write(work, block, reduce_block(region, factor, work.method, work.data.nodata, pad=pad))


def _blocks(level: LevelPlan, side: int) -> Iterator[Block]:
    """The level's tiles in blocks of ``side`` x ``side`` (array tile rows and columns,
    end exclusive), row by row."""
    rows, cols = level.limits.rows, level.limits.cols
    for r0 in range(0, rows, side):
        for c0 in range(0, cols, side):
            yield (r0, c0, min(rows, r0 + side), min(cols, c0 + side))


def _read_padded(array: Array, count: int, row0: int, col0: int, rows: int, cols: int,
                 nodata: float | int) -> np.ndarray:
    """``(count, rows, cols)`` of a level's array from (row0, col0), nodata outside it."""
    out = np.full((count, rows, cols), nodata, dtype=array.dtype)
    height, width = array.shape[-2:]
    r0, c0 = max(0, row0), max(0, col0)
    r1, c1 = min(height, row0 + rows), min(width, col0 + cols)
    if r1 <= r0 or c1 <= c0:
        return out
    target = out[:, r0 - row0:r1 - row0, c0 - col0:c1 - col0]
    if count > 1:
        target[...] = array.read((slice(None), slice(r0, r1), slice(c0, c1)))
    else:
        target[0] = array.read((slice(r0, r1), slice(c0, c1)))
    return out


class _Crops:
    """The source pixels of a block's tiles: one read of the union of their windows when it
    is compact, else one read per window."""

    def __init__(self, grid: SourceGrid, read: Reader, pieces: list[SourcePiece]):
        self.grid = grid
        self.read = read
        self.union: tuple[Window, np.ndarray] | None = None
        if not pieces:
            return
        c0 = min(int(p.window.col_off) for p in pieces)
        r0 = min(int(p.window.row_off) for p in pieces)
        c1 = max(int(p.window.col_off + p.window.width) for p in pieces)
        r1 = max(int(p.window.row_off + p.window.height) for p in pieces)
        area = sum(int(p.window.width) * int(p.window.height) for p in pieces)
        if (c1 - c0) * (r1 - r0) <= 2 * area:
            window = Window(c0, r0, c1 - c0, r1 - r0)
            self.union = (window, read(window))

    def get(self, piece: SourcePiece) -> tuple[np.ndarray, Affine]:
        window = piece.window
        if self.union is None:
            return self.read(window), window_transform(self.grid.transform, window)
        whole, block = self.union
        r = int(window.row_off - whole.row_off)
        c = int(window.col_off - whole.col_off)
        crop = block[:, r:r + int(window.height), c:c + int(window.width)]
        return crop, window_transform(self.grid.transform, window)


# -- metadata, written last -------------------------------------------------------------------
def _write_metadata(store: Store, documents: list[LevelDocuments],
                    root: dict[str, Any]) -> None:
    """Coordinates, then every array's and group's document, the pyramid group's last, and
    the consolidated metadata: a reader never finds a level before it is whole."""
    for doc in documents:
        for coordinate in doc.coordinates:
            array = Array(store, coordinate.path, coordinate.metadata, coordinate.attributes,
                          read_only=False)
            name = coordinate.path.rsplit("/", 1)[-1]
            if array.ndim == 0:
                array.write(..., doc.coordinate_values(name, 0, 0))
                continue
            size = array.shape[0]
            step = array.chunks[0]
            for start in range(0, size, step):
                stop = min(size, start + step)
                array.write(slice(start, stop), doc.coordinate_values(name, start, stop))
        for array_doc in (*doc.coordinates, doc.data):
            write_array_metadata(store, array_doc.path, array_doc.metadata,
                                 array_doc.attributes)
        _write_group(store, doc.level.id, doc.group_attributes)
    _write_group(store, "", root)
    consolidate_metadata(store)


def _write_group(store: Store, path: str, attributes: dict[str, Any]) -> None:
    key = f"{path}/zarr.json" if path else "zarr.json"
    store.set(key, dump_json_document(GroupMetadataV3(attributes=attributes).to_json()))
