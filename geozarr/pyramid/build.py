"""Building a pyramid: the finest level warped from the source, every coarser level reduced
from the level below, on all cores, in bounded memory.

The finest level is built by :func:`rasterio.warp.reproject` a column of up to 8 tiles at
a time, each column from only the source pixels it needs (:mod:`geozarr.pyramid.warp`;
columns are aligned to the level's first row and sized from ``memory_limit`` alone, so
local and dask builds warp the same columns); a coarser level whose pixel
grid nests in the finer one is a nodata-aware block reduction of it
(:mod:`geozarr.pyramid.reduce`), so the source is read once; a level that does not nest
(a TMS whose scales are not integer ratios) is warped from the level below.

Work goes in blocks of tiles (whole shards when sharded, so no stored object is written by
two threads) to a thread pool: GDAL's warper, numpy and the codecs release the GIL. At most
``workers + 1`` blocks are in flight, each sized from ``memory_limit``; tiles holding only
nodata are never stored. Each block is one call of
:func:`~geozarr.pyramid.blocks.run_block` with its level's
:class:`~geozarr.pyramid.blocks.LevelWork` (:mod:`geozarr.pyramid.blocks` makes blocks; this
module plans, schedules and commits them); given a dask ``client``,
:mod:`geozarr.distributed` runs the same calls as tasks on the cluster instead, level by
level. Each finished block is recorded in the staging store, so an interrupted build resumed
with ``resume=True`` redoes only unrecorded blocks with the warp groups recorded when the
build started, and since a tile's bytes depend on nothing but the source, the parameters
and its group, it ends with exactly the bytes a clean build writes.
"""

from __future__ import annotations

import concurrent.futures as futures
import dataclasses
import functools
import math
import os
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import numpy as np
import pyproj
import rasterio
from morecantile.models import TileMatrixSet

from geozarr.core.array import Array
from geozarr.core.creation import DEFAULT, write_array_metadata
from geozarr.core.hierarchy import consolidate_metadata
from geozarr.errors import InvalidKeyError, MetadataError
from geozarr.geo import encode
from geozarr.metadata.jsondoc import dump_json_document
from geozarr.metadata.v3 import GroupMetadataV3
from geozarr.pyramid.blocks import LevelWork, run_block, tiles_read
from geozarr.pyramid.metadata import DataDescription, LevelDocuments, level_documents, \
    pyramid_attributes
from geozarr.pyramid.plan import LevelPlan, PyramidPlan, plan_levels
from geozarr.pyramid.reader import stored_chunks
from geozarr.pyramid.reduce import canonical_method
from geozarr.pyramid.source import SourceInfo, SourceReader, open_source
from geozarr.pyramid.staging import Block, Stage, open_stage, signature
from geozarr.pyramid.warp import DECIMATE_ABOVE, SourceGrid
from geozarr.raster.writer import RESERVED_NAMES
from geozarr.storage import Store, validate_node_name

#: The memory a build may use when no ``memory_limit`` is given: 512 MiB.
DEFAULT_MEMORY_LIMIT = 512 * 2**20
#: Most tiles along a side of one block.
MAX_BLOCK_TILES = 8
#: Most tiles in one warp (a column of tiles, :func:`~geozarr.pyramid.blocks.warp_groups`):
#: 8 warped in one call cost about half as much per tile as tiles warped one by one
#: (docs/performance.md).
WARP_GROUP_TILES = 8
#: A warp group's working set is at most this fraction of ``memory_limit`` (a share that
#: does not depend on the threads, so a dask build warps the groups a local one does).
WARP_GROUP_SHARE = 16
#: On a cluster, blocks per worker thread that a level is cut into when it is big enough,
#: so that the last blocks to finish leave few threads idle; but no smaller than this many
#: tiles a side, so that a task's work outweighs its scheduling (a few milliseconds).
BLOCKS_PER_THREAD = 2
MIN_SPREAD_SIDE = 2

Progress = Callable[[float], None]


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
                                   overview, threads, budget, progress, client, spread)
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
        "format": "geozarr-pyramid/2",
        "source": list(info.identity),
        "grid": [info.width, info.height, info.count, str(info.dtype), info.crs.to_wkt(),
                 list(info.transform)[:6]],
        "tms": plan.tms.model_dump(mode="json", exclude_none=True),
        "levels": [[level.id, level.limits.to_ogc(level.id)] for level in plan.levels],
        "resampling": [method, overview],
        "nodata": repr(data.nodata), "name": data.name, "compressor": compressor,
        "shards": data.shard_tiles,
    }


# -- scheduling the blocks --------------------------------------------------------------------
class _Builder:
    """Runs every level's blocks on the pool (or on a dask cluster), finest level first."""

    def __init__(self, source: Any, reader: SourceReader, plan: PyramidPlan, stage: Stage,
                 documents: list[LevelDocuments], data: DataDescription, method: str,
                 overview: str, threads: int, memory_limit: int, progress: Progress | None,
                 client: Any, spread: int):
        self.source = source
        self.reader = reader
        self.plan = plan
        self.stage = stage
        self.data = data
        self.method = method
        self.overview = overview
        self.threads = threads
        self.memory_limit = memory_limit
        #: Bytes one block may hold: half the memory, shared by the blocks in flight.
        self.task_budget = memory_limit // 2 // (threads + 1)
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
            if work.grid is not None:
                group = self.stage.warp_group(
                    level.id, functools.partial(self._warp_group, level, scale,
                                                work.pixel_bytes))
                work = dataclasses.replace(work, group=group)
            side = self._block_side(level, scale, work.pixel_bytes, work.group)
            blocks = [block for block in _blocks(level, side)
                      if not finished[block[0]:block[2], block[1]:block[3]].all()]
            self.finished += int(finished.sum())
            if work.grid is None and finer is not None:
                # blocks over no stored tile of the level below hold only nodata
                stored = stored_chunks(self.arrays[finer.id])
                wanted = [block for block in blocks
                          if tiles_read(level, finer, block, self.overview) & stored]
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
    def _tile_bytes(self, level: LevelPlan, scale: float, pixel_bytes: int) -> float:
        """The working set of one tile of a block: the source or finer pixels read, the
        tile itself, the warper's and the encoder's copies."""
        height, width = level.tile_shape
        out_bytes = height * width * self.data.count * self.data.dtype.itemsize
        read_bytes = (height * scale + 16) * (width * scale + 16) * pixel_bytes
        return read_bytes * 2 + out_bytes * 4

    def _warp_group(self, level: LevelPlan, scale: float, pixel_bytes: int) -> int:
        """Tiles in one warp: up to :data:`WARP_GROUP_TILES` (and dividing a shard's side),
        as many as :data:`WARP_GROUP_SHARE` of ``memory_limit`` holds a square block of."""
        group = WARP_GROUP_TILES
        if self.data.shard_tiles is not None:
            group = math.gcd(group, self.data.shard_tiles)
        per_tile = self._tile_bytes(level, scale, pixel_bytes)
        while group > 1 and per_tile * group * group > self.memory_limit / WARP_GROUP_SHARE:
            group //= 2
        return group

    def _block_side(self, level: LevelPlan, scale: float, pixel_bytes: int,
                    group: int) -> int:
        """Tiles per block side: as many as the task budget holds, a whole number of
        shards and of warp groups (at least one); on a cluster, few enough that every
        worker thread has blocks to the end."""
        per_tile = self._tile_bytes(level, scale, pixel_bytes)
        side = max(1, min(MAX_BLOCK_TILES, math.isqrt(int(self.task_budget // per_tile))))
        if self.spread:
            wanted = math.isqrt(level.tiles // (BLOCKS_PER_THREAD * self.spread))
            side = min(side, max(MIN_SPREAD_SIDE, wanted))
        unit = self.data.shard_tiles or 1
        unit = unit * group // math.gcd(unit, group)
        return max(unit, side // unit * unit)

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


def _blocks(level: LevelPlan, side: int) -> Iterator[Block]:
    """The level's tiles in blocks of ``side`` x ``side`` (array tile rows and columns,
    end exclusive), row by row."""
    rows, cols = level.limits.rows, level.limits.cols
    for r0 in range(0, rows, side):
        for c0 in range(0, cols, side):
            yield (r0, c0, min(rows, r0 + side), min(cols, c0 + side))


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
