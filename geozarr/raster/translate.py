"""``translate``: copy a raster between GeoTIFF (or anything rasterio reads or writes) and
GeoZarr, block by block, in bounded memory.

Sources: any path or URL rasterio opens, a GDAL ``ZARR:"path":/array`` string, a Zarr path
or :class:`~geozarr.storage.Store`, or an open :class:`~geozarr.raster.reader.RasterReader`.
Destinations: a ``.zarr`` or ``.zip`` path, a store URL or a Store (geozarr writes them, see
:mod:`geozarr.raster.writer`), or any path rasterio writes (GeoTIFF streams tile by tile; COG
and drivers that only copy are made from a temporary tiled GeoTIFF).

Every output is written beside its destination under a temporary name and moved into place
only when complete, so a failed or interrupted translate leaves the old content (or nothing).

A Zarr output can be written by a dask cluster (``client=``): each block, whole chunks or
shards wide, is one :func:`copy_window` task on a worker, which reads it from the source and
writes it into the unfinished output; the calling process writes the metadata and commits.
"""

from __future__ import annotations

import functools
import os
import secrets
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from typing import Any

import numpy as np
import rasterio
import rasterio.shutil
from affine import Affine
from rasterio.crs import CRS
from rasterio.drivers import driver_from_extension
from rasterio.windows import Window
from rasterio.errors import DriverRegistrationError, NotGeoreferencedWarning, RasterioError

from geozarr.core.creation import DEFAULT
from geozarr.errors import InvalidKeyError, MetadataError, NodeExistsError, StoreError, \
    UsageError
from geozarr.raster.dataset import open_raster
from geozarr.raster.connection import is_connection_string
from geozarr.raster.progress import BlockReader, Progress, block_budget, plan_blocks, pump
from geozarr.raster.reader import RasterReader
from geozarr.raster.staging import PARTIAL_MARK, holds_zarr
from geozarr.raster.writer import DEFAULT_CHUNKS, RESERVED_NAMES, BlockWriter, \
    ZarrRasterWriter, raster_spec
from geozarr.storage import Store, validate_node_name

#: The memory a translate may use when no ``memory_limit`` is given: 512 MiB.
DEFAULT_MEMORY_LIMIT = 512 * 2**20
#: Drivers that rasterio writes block by block; every other one is made by copying a
#: temporary tiled GeoTIFF (GDAL's CreateCopy), which works for every writable driver.
_STREAMING_DRIVERS = frozenset({"GTiff"})
#: With a dask client, blocks per worker thread that a raster is cut into when it is big
#: enough, so that the last blocks to finish leave few threads idle.
_BLOCKS_PER_THREAD = 4
#: Files GDAL may write beside a raster (its metadata, overviews, mask, world file).
_SIDECARS = (".aux.xml", ".ovr", ".msk", ".wld", ".tfw", ".pgw", ".jgw")


@dataclass(frozen=True)
class SourceInfo:
    """What a source is, read once on the calling thread, and how to read it on another."""

    name: str
    height: int
    width: int
    count: int
    dtype: np.dtype
    crs: CRS | None
    transform: Affine | None
    nodata: float | int | None
    band_names: tuple[str, ...] | None
    units: str | None
    scale: float | None
    offset: float | None
    open_reader: Callable[[], AbstractContextManager[BlockReader]]


@dataclass(frozen=True)
class BlockCopy:
    """What copying one block needs, in any process: how to open the source (a picklable
    callable) and where the block goes."""

    open_reader: Callable[[], AbstractContextManager[BlockReader]]
    writer: BlockWriter


def copy_window(copy: BlockCopy, window: Window) -> None:
    """Read ``window`` of the source and write it into the output: one task of a
    distributed translate."""
    with copy.open_reader() as read:
        copy.writer.write(window, read(window))


def translate(source: Any, destination: Any, *, driver: str | None = None,
              name: str | None = None, chunks: Sequence[int] = DEFAULT_CHUNKS,
              shards: Sequence[int] | None = None, compressor: Any = DEFAULT,
              zarr_format: int = 3, creation_options: Mapping[str, Any] | None = None,
              overwrite: bool = False, memory_limit: int = DEFAULT_MEMORY_LIMIT,
              progress: Progress | None = None, client: Any = None) -> None:
    """Copy the raster ``source`` to ``destination``, converting between GeoTIFF and GeoZarr.

    Parameters
    ----------
    source
        A path or URL rasterio opens (GeoTIFF, COG, ``/vsicurl/...``), a ``ZARR:"..."``
        connection string, a Zarr path or store, or a :class:`RasterReader`.
    destination
        A ``.zarr``/``.zip`` path, a store URL or a :class:`~geozarr.storage.Store` (written
        as GeoZarr), or a path rasterio writes (``.tif``...).
    driver
        ``"Zarr"`` for a GeoZarr output whatever its name; otherwise the rasterio driver
        (``"GTiff"``, ``"COG"``...). Guessed from the extension when None.
    name
        The data array's name in a Zarr output; default the destination's stem (GDAL's
        choice), else ``"data"``.
    chunks, shards, compressor, zarr_format
        The Zarr output's layout and codec (see :func:`~geozarr.raster.writer.write_raster`);
        for a GeoTIFF, ``chunks`` is the tile size (a multiple of 16).
    creation_options
        GDAL creation options for a rasterio output, over geozarr's defaults (tiled,
        DEFLATE with a predictor, BIGTIFF when needed).
    overwrite
        Replace an existing destination (once the new output is complete).
    memory_limit
        The peak resident memory to stay under, in bytes: the blocks in flight and GDAL's
        block cache are sized from it. A stored object (a chunk, shard or tile) is never
        split, so one larger than a twentieth of the limit raises the use to that object.
    progress
        Called with the fraction done (0..1) as blocks are written; raise from it to cancel.
    client
        A :class:`dask.distributed.Client`: the blocks of a Zarr output are copied by tasks
        on its workers, byte for byte what a local run writes. The source and
        ``destination`` must be reachable from every worker (shared paths, URLs);
        ``memory_limit`` then sizes the blocks for one worker. Needs ``geozarr[dask]``.

    Raises
    ------
    StoreError
        rasterio cannot open ``source``, or cannot write ``destination``.
    NodeExistsError
        ``destination`` exists and ``overwrite`` is false.
    UsageError
        ``client`` with a destination rasterio writes (one file cannot be written by many
        processes) or one workers cannot reach (a memory store).
    GeoZarrError
        Any other bad input (a CRS PROJ cannot parse, bands that disagree on scale...);
        nothing is written.
    """
    per_block, cache_bytes = block_budget(memory_limit)
    zarr = driver == "Zarr" or (driver is None and is_zarr_destination(destination))
    if client is not None:
        if not zarr:
            raise UsageError(f"cannot write {destination!r} with a dask client: only Zarr "
                             f"outputs are written in parallel (translate to .zarr, or "
                             f"leave client=None)")
        from geozarr.distributed import check_destination
        check_destination(client, destination)
    with rasterio.Env(GDAL_CACHEMAX=cache_bytes) as env:
        if driver not in (None, "Zarr") and driver not in env.drivers():
            raise StoreError(f"cannot write {destination!r}: rasterio has no driver "
                             f"{driver!r}")
        info, closing = _open_source(source)
        with closing:
            if zarr:
                _to_zarr(info, destination, name=name or _default_name(destination),
                         chunks=chunks, shards=shards, compressor=compressor,
                         zarr_format=zarr_format, overwrite=overwrite,
                         block_bytes=per_block, progress=progress, client=client)
            else:
                _to_rasterio(info, destination, driver=driver, chunks=chunks,
                             creation_options=creation_options or {}, overwrite=overwrite,
                             block_bytes=per_block, progress=progress)


# -- sources ------------------------------------------------------------------------------------
def _open_source(source: Any) -> tuple[SourceInfo, Any]:
    """The source's description and a context that releases what was opened for it."""
    if isinstance(source, RasterReader):
        return _reader_info(source), nullcontext()
    if isinstance(source, Store) or (isinstance(source, str) and is_connection_string(source)):
        reader = open_raster(source)
        return _reader_info(reader), reader
    if isinstance(source, (str, os.PathLike)):
        text = os.fsdecode(source)
        if is_zarr_source(text):
            reader = open_raster(text)
            return _reader_info(reader), reader
        return _rasterio_info(text), nullcontext()
    raise StoreError(f"cannot read a raster from {source!r}: give a path, a ZARR: string, a "
                     f"geozarr Store or a RasterReader")


def is_zarr_source(source: str) -> bool:
    """Whether the string ``source`` names something geozarr reads (a ``ZARR:`` connection
    string, a ``.zarr`` or ``.zip`` path, a folder holding Zarr metadata) rather than a
    file for rasterio."""
    lower = source.lower().rstrip("/\\")
    return (is_connection_string(source) or lower.endswith((".zarr", ".zip"))
            or (os.path.isdir(source) and holds_zarr(source)))


def _reader_info(reader: RasterReader) -> SourceInfo:
    names = tuple(d or "" for d in reader.descriptions) \
        if any(reader.descriptions) else _band_names_attribute(reader)
    georeferenced = reader.crs is not None or reader.transform != Affine.identity()
    return SourceInfo(
        name=reader.name, height=reader.height, width=reader.width, count=reader.count,
        dtype=np.dtype(reader.dtypes[0]), crs=reader.crs,
        transform=reader.transform if georeferenced else None, nodata=reader.nodata,
        band_names=names, units=_same(reader.units, "units", reader.name) or None,
        scale=_unless(_same(reader.scales, "scale", reader.name), 1.0),
        offset=_unless(_same(reader.offsets, "offset", reader.name), 0.0),
        open_reader=functools.partial(_shared_reader, reader))


def _band_names_attribute(reader: RasterReader) -> tuple[str, ...] | None:
    """Band names from a ``long_name`` list with one string per band (rioxarray's spelling,
    which :mod:`geozarr.raster.writer` writes)."""
    value = reader.array.attrs.get("long_name")
    if isinstance(value, list) and len(value) == reader.count \
            and all(isinstance(v, str) for v in value):
        return tuple(value)
    return None


def _rasterio_info(path: str) -> SourceInfo:
    try:
        with rasterio.open(path) as dataset:
            if len(set(dataset.dtypes)) != 1:
                raise MetadataError(f"{path}: bands of different data types {dataset.dtypes} "
                                    f"cannot share one Zarr array")
            if len(set(map(repr, dataset.nodatavals))) != 1:
                raise MetadataError(f"{path}: bands with different nodata values "
                                    f"{dataset.nodatavals} cannot share one Zarr array")
            georeferenced = dataset.crs is not None or dataset.transform != Affine.identity()
            names = tuple(d or "" for d in dataset.descriptions) \
                if any(dataset.descriptions) else None
            info = SourceInfo(
                name=path, height=dataset.height, width=dataset.width, count=dataset.count,
                dtype=np.dtype(dataset.dtypes[0]), crs=dataset.crs,
                transform=dataset.transform if georeferenced else None, nodata=dataset.nodata,
                band_names=names, units=_same(dataset.units, "units", path) or None,
                scale=_unless(_same(dataset.scales, "scale", path), 1.0),
                offset=_unless(_same(dataset.offsets, "offset", path), 0.0),
                open_reader=functools.partial(_rasterio_reader, path))
    except RasterioError as error:
        raise StoreError(f"cannot open {path} as a raster: {error}") from error
    return info


def _shared_reader(reader: RasterReader) -> AbstractContextManager[BlockReader]:
    """A geozarr reader, which is thread-safe and stays open: nothing to open or close."""
    return nullcontext(functools.partial(_read_window, reader))


def _read_window(reader: RasterReader, window: Window) -> np.ndarray:
    return reader.read(window=window)


@contextmanager
def _rasterio_reader(path: str) -> Iterator[BlockReader]:
    """A dataset opened on the calling (reading) thread, read window by window."""
    with rasterio.open(path) as dataset:
        def read(window: Window) -> np.ndarray:
            try:
                return dataset.read(window=window)
            except RasterioError as error:
                raise StoreError(f"cannot read window {window} of {path}: {error}") from error
        yield read


def _same(values: Sequence[Any], label: str, where: str) -> Any:
    """The one value every band shares; a GeoZarr array holds one of each."""
    distinct = set(values)
    if len(distinct) > 1:
        raise MetadataError(f"{where}: the bands have different {label} {tuple(values)}; one "
                            f"Zarr array holds a single {label}")
    return values[0] if values else None


def _unless(value: float | None, default: float) -> float | None:
    return None if value is None or value == default else float(value)


# -- Zarr destinations -------------------------------------------------------------------------
def is_zarr_destination(destination: Any) -> bool:
    """Whether ``destination`` names something geozarr writes: a store, a URL of a store
    scheme, a ``.zarr`` or ``.zip`` path, or an existing Zarr directory."""
    if isinstance(destination, Store):
        return True
    if not isinstance(destination, (str, os.PathLike)):
        return False
    text = os.fsdecode(destination).rstrip("/\\")
    lower = text.lower()
    return ("://" in text or lower.endswith((".zarr", ".zip"))
            or (os.path.isdir(text) and holds_zarr(text)))


def _default_name(destination: Any) -> str:
    """The destination's stem (``out.zarr`` -> ``"out"``, as GDAL names the array), when it
    is a valid, free array name; else ``"data"``."""
    if not isinstance(destination, (str, os.PathLike)) or "://" in os.fsdecode(destination):
        return "data"
    stem = os.path.basename(os.fsdecode(destination).rstrip("/\\"))
    for suffix in (".zip", ".zarr"):
        if stem.lower().endswith(suffix):
            stem = stem[:-len(suffix)]
    try:
        validate_node_name(stem)
    except InvalidKeyError:
        return "data"
    return "data" if stem.startswith(".") or stem in RESERVED_NAMES else stem


def _to_zarr(info: SourceInfo, destination: Any, *, name: str, chunks: Sequence[int],
             shards: Sequence[int] | None, compressor: Any, zarr_format: int, overwrite: bool,
             block_bytes: int, progress: Progress | None, client: Any) -> None:
    spec = raster_spec(height=info.height, width=info.width, count=info.count,
                       dtype=info.dtype, crs=info.crs, transform=info.transform,
                       nodata=info.nodata, name=name, band_names=info.band_names,
                       units=info.units, scale=info.scale, offset=info.offset, chunks=chunks,
                       shards=shards, compressor=compressor, zarr_format=zarr_format)
    if client is not None:  # blocks enough to keep every worker thread busy to the end
        from geozarr.distributed import worker_threads
        spread = _BLOCKS_PER_THREAD * worker_threads(client)[1]
        block_bytes = min(block_bytes, spec.height * spec.width * spec.pixel_bytes // spread)
    plan = plan_blocks(spec.height, spec.width, spec.write_unit, spec.pixel_bytes, block_bytes)
    windows = list(plan.windows())
    with ZarrRasterWriter(destination, spec, overwrite=overwrite) as writer:
        if client is None:
            pump(windows, info.open_reader, writer.write, progress=progress)
            return
        from geozarr.distributed import run_tasks
        run_tasks(client, copy_window, BlockCopy(info.open_reader, writer.blocks), windows,
                  label="geozarr-translate", done=_window_progress(windows, progress))


def _window_progress(windows: Sequence[Window], progress: Progress | None
                     ) -> Callable[[Window], None]:
    """Called as each window is written: reports the fraction of pixels done."""
    total = sum(int(w.width) * int(w.height) for w in windows) or 1
    done = 0

    def report(window: Window) -> None:
        nonlocal done
        done += int(window.width) * int(window.height)
        if progress is not None:
            progress(min(1.0, done / total))
    return report


# -- rasterio destinations ---------------------------------------------------------------------
def _tile(chunks: Sequence[int]) -> tuple[int, int]:
    try:
        rows, cols = (int(v) for v in chunks)
    except (TypeError, ValueError):
        raise MetadataError(f"chunks must be two integers (rows, columns), got {chunks!r}") \
            from None
    if rows < 16 or cols < 16 or rows % 16 or cols % 16:
        raise MetadataError(f"GeoTIFF tiles must be multiples of 16 pixels; chunks {chunks!r} "
                            f"are not")
    return rows, cols


def _profile(info: SourceInfo, tile: tuple[int, int], compression: Mapping[str, Any]
             ) -> dict[str, Any]:
    profile = {"driver": "GTiff", "width": info.width, "height": info.height,
               "count": info.count, "dtype": info.dtype.name, "crs": info.crs,
               "nodata": info.nodata, "tiled": True, "blockysize": tile[0],
               "blockxsize": tile[1], "bigtiff": "IF_SAFER", "num_threads": "ALL_CPUS",
               **compression}
    if info.transform is not None:  # none at all, rather than an identity GDAL would store
        profile["transform"] = info.transform
    return profile


def _default_compression(driver: str, dtype: np.dtype) -> dict[str, Any]:
    """DEFLATE, which every TIFF reader decodes, with the predictor that suits the type."""
    if driver == "COG":
        return {"compress": "DEFLATE", "predictor": "YES", "bigtiff": "IF_SAFER",
                "num_threads": "ALL_CPUS"}
    if driver == "GTiff":
        return {"compress": "DEFLATE", "predictor": 3 if dtype.kind == "f" else 2}
    return {}


def _check_file_destination(target: str, overwrite: bool) -> None:
    if os.path.isdir(target):
        raise StoreError(f"{target} is a folder; a {os.path.splitext(target)[1] or 'raster'} "
                         f"output must be a file")
    if os.path.lexists(target) and not overwrite:
        raise NodeExistsError(f"{target} already exists; pass overwrite=True to replace it")


def _temporary(target: str, suffix: str) -> str:
    folder, base = os.path.split(target)
    return os.path.join(folder, f".{base}{PARTIAL_MARK}{secrets.token_hex(4)}{suffix}")


def _discard(path: str) -> None:
    """Remove ``path`` and the files GDAL may have written beside it."""
    for candidate in (path, *(path + suffix for suffix in _SIDECARS)):
        try:
            os.remove(candidate)
        except FileNotFoundError:
            pass


def _move_into_place(temp: str, target: str) -> None:
    """Rename a finished file (and its sidecars) onto ``target``."""
    for suffix in _SIDECARS:
        if os.path.exists(temp + suffix):
            os.replace(temp + suffix, target + suffix)
    os.replace(temp, target)


def _to_rasterio(info: SourceInfo, destination: Any, *, driver: str | None,
                 chunks: Sequence[int], creation_options: Mapping[str, Any], overwrite: bool,
                 block_bytes: int, progress: Progress | None) -> None:
    if not isinstance(destination, (str, os.PathLike)):
        raise StoreError(f"cannot write {destination!r} with rasterio: give a path")
    target = os.path.abspath(os.fsdecode(destination))
    if driver is None:
        try:
            driver = driver_from_extension(target)
        except ValueError:
            raise StoreError(f"cannot tell the format of {target} from its extension: pass "
                             f"driver= ('GTiff', 'COG', 'Zarr'...)") from None
    tile = _tile(chunks)
    _check_file_destination(target, overwrite)
    options = {**_default_compression(driver, info.dtype),
               **{key.lower(): value for key, value in creation_options.items()}}
    streaming = driver in _STREAMING_DRIVERS
    tiff = _temporary(target, ".tif")
    final = tiff if streaming else _temporary(target, os.path.splitext(target)[1])
    compression = options if streaming else {"compress": "ZSTD", "zstd_level": 1}
    plan = plan_blocks(info.height, info.width, tile, info.count * info.dtype.itemsize,
                       block_bytes)
    try:
        with warnings.catch_warnings():
            # An ungeoreferenced source gives an ungeoreferenced output: no news to warn of.
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            out = rasterio.open(tiff, "w", **_profile(info, tile, compression))
        with out:
            _describe_bands(out, info)
            pump(list(plan.windows()), info.open_reader,
                 lambda window, block: out.write(block, window=window), progress=progress,
                 span=(0.0, 1.0 if streaming else 0.5))
        if not streaming:
            if driver == "COG":
                options.setdefault("blocksize", tile[1] if tile[0] == tile[1] else 512)
            rasterio.shutil.copy(tiff, final, driver=driver, **options)
        _move_into_place(final, target)
    except (RasterioError, DriverRegistrationError) as error:
        _discard(tiff)
        _discard(final)
        raise StoreError(f"cannot write {target} ({driver}): {error}") from error
    except BaseException:
        _discard(tiff)
        _discard(final)
        raise
    _discard(tiff)
    if progress is not None and not streaming:
        progress(1.0)


def _describe_bands(dataset: Any, info: SourceInfo) -> None:
    """Band descriptions, units, scales and offsets, as GDAL stores them per band."""
    for band in range(1, info.count + 1):
        if info.band_names is not None and info.band_names[band - 1]:
            dataset.set_band_description(band, info.band_names[band - 1])
        if info.units:
            dataset.set_band_unit(band, info.units)
    if info.scale is not None:
        dataset.scales = (info.scale,) * info.count
    if info.offset is not None:
        dataset.offsets = (info.offset,) * info.count


