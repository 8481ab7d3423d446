"""The raster a pyramid is built from: described once, read by window from many threads.

A source is any path or URL rasterio opens (GeoTIFF, COG, ``/vsicurl/...``), a Zarr the geo
layer opens (a ``.zarr`` path, a ``ZARR:"..."`` string, a :class:`~geozarr.storage.Store`),
or an open :class:`~geozarr.raster.reader.RasterReader`. GDAL datasets are not thread-safe,
so each thread reading a rasterio source opens its own handle; geozarr readers are shared.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import rasterio
from affine import Affine
from rasterio.crs import CRS
from rasterio.errors import RasterioError
from rasterio.windows import Window

from geozarr.errors import GeoreferencingError, MetadataError, StoreError
from geozarr.raster.connection import is_connection_string
from geozarr.raster.dataset import open_raster
from geozarr.raster.reader import RasterReader
from geozarr.raster.translate import is_zarr_source
from geozarr.storage import Store


@dataclass(frozen=True)
class SourceInfo:
    """What a source raster is: size, bands, type, georeferencing, nodata."""

    name: str
    width: int
    height: int
    count: int
    dtype: np.dtype
    crs: CRS
    transform: Affine
    nodata: float | int | None
    band_names: tuple[str, ...] | None
    units: str | None
    scale: float | None
    offset: float | None
    identity: tuple[Any, ...]
    array_name: str | None = None

    @property
    def pixel_bytes(self) -> int:
        """Bytes of one pixel over all bands."""
        return self.count * self.dtype.itemsize


class SourceReader:
    """Reads windows of a source; safe to call from several threads at once.

    Use as a context manager, or call :meth:`close` once every reading thread is done.
    """

    def __init__(self, info: SourceInfo, opener: Callable[[], Any], *, shared: bool,
                 owned: Any = None):
        self.info = info
        self._opener = opener
        self._shared = opener() if shared else None
        self._owned = owned
        self._local = threading.local()
        self._opened: list[Any] = []
        self._lock = threading.Lock()

    def _dataset(self) -> Any:
        if self._shared is not None:
            return self._shared
        dataset = getattr(self._local, "dataset", None)
        if dataset is None:
            dataset = self._opener()
            self._local.dataset = dataset
            with self._lock:
                self._opened.append(dataset)
        return dataset

    def read(self, window: Window) -> np.ndarray:
        """The pixels of an integer ``window`` inside the raster, ``(count, rows, cols)``.

        Raises
        ------
        StoreError
            rasterio could not read the window (a corrupt or vanished file).
        """
        try:
            block = self._dataset().read(window=window)
        except RasterioError as error:
            raise StoreError(f"cannot read window {window} of {self.info.name}: {error}") \
                from error
        return block if block.ndim == 3 else block[np.newaxis]

    def close(self) -> None:
        """Close every dataset opened for a thread (and the source opened for the build)."""
        with self._lock:
            opened, self._opened = self._opened, []
        for dataset in opened:
            dataset.close()
        if self._owned is not None:
            self._owned.close()
            self._owned = None

    def __enter__(self) -> SourceReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_source(source: Any) -> SourceReader:
    """Describe ``source`` and return a reader of it.

    Raises
    ------
    StoreError
        rasterio or geozarr cannot open it.
    GeoreferencingError
        It has no CRS or no transform: a pyramid needs to know where the pixels are.
    MetadataError
        Its bands differ in data type or nodata (one Zarr array holds them all).
    """
    if isinstance(source, RasterReader):
        return _zarr_reader(source, owned=None)
    if isinstance(source, Store) or (isinstance(source, str) and is_connection_string(source)):
        reader = open_raster(source)
        return _zarr_reader(reader, owned=reader)
    if isinstance(source, (str, os.PathLike)):
        text = os.fsdecode(source)
        if is_zarr_source(text):
            reader = open_raster(text)
            return _zarr_reader(reader, owned=reader)
        return _rasterio_reader(text)
    raise StoreError(f"cannot read a raster from {source!r}: give a path, a ZARR: string, a "
                     f"geozarr Store or a RasterReader")


def _check_georeferenced(name: str, crs: CRS | None, transform: Affine) -> CRS:
    if crs is None:
        raise GeoreferencingError(f"{name} has no CRS; a pyramid needs georeferenced input "
                                  f"(assign one first, e.g. with gdal_edit.py -a_srs)")
    if transform == Affine.identity():
        raise GeoreferencingError(f"{name} has no geotransform; a pyramid needs "
                                  f"georeferenced input")
    return crs


def _same(values: Any, label: str, where: str) -> Any:
    distinct = {repr(v) for v in values}
    if len(distinct) > 1:
        raise MetadataError(f"{where}: the bands have different {label} {tuple(values)}; one "
                            f"Zarr array holds a single {label}")
    return values[0] if len(values) else None


def _optional(value: float | None, default: float) -> float | None:
    return None if value is None or value == default else float(value)


def _zarr_reader(reader: RasterReader, *, owned: Any) -> SourceReader:
    crs = _check_georeferenced(reader.name, reader.crs, reader.transform)
    names = tuple(d or "" for d in reader.descriptions) if any(reader.descriptions) else None
    info = SourceInfo(
        name=reader.name, width=reader.width, height=reader.height, count=reader.count,
        dtype=np.dtype(reader.dtypes[0]), crs=crs, transform=reader.transform,
        nodata=reader.nodata, band_names=names,
        units=_same(reader.units, "units", reader.name) or None,
        scale=_optional(_same(reader.scales, "scale", reader.name), 1.0),
        offset=_optional(_same(reader.offsets, "offset", reader.name), 0.0),
        identity=("zarr", reader.name, reader.array.shape, str(reader.array.dtype)),
        array_name=reader.array.name or None)
    return SourceReader(info, lambda: reader, shared=True, owned=owned)


def _rasterio_reader(path: str) -> SourceReader:
    try:
        with rasterio.open(path) as dataset:
            _same(dataset.dtypes, "data types", path)
            _same(dataset.nodatavals, "nodata values", path)
            crs = _check_georeferenced(path, dataset.crs, dataset.transform)
            names = tuple(d or "" for d in dataset.descriptions) \
                if any(dataset.descriptions) else None
            info = SourceInfo(
                name=path, width=dataset.width, height=dataset.height, count=dataset.count,
                dtype=np.dtype(dataset.dtypes[0]), crs=crs, transform=dataset.transform,
                nodata=dataset.nodata, band_names=names,
                units=_same(dataset.units, "units", path) or None,
                scale=_optional(_same(dataset.scales, "scale", path), 1.0),
                offset=_optional(_same(dataset.offsets, "offset", path), 0.0),
                identity=("rasterio", path, *_file_stamp(path)))
    except RasterioError as error:
        raise StoreError(f"cannot open {path} as a raster: {error}") from error
    return SourceReader(info, lambda: rasterio.open(path), shared=False)


def _file_stamp(path: str) -> tuple[int, int]:
    """(size, modification time in ns) of a local file, (0, 0) for anything else: a
    resumed build refuses a source that changed since the interrupted one."""
    try:
        stat = os.stat(path)
    except OSError:
        return (0, 0)
    return (stat.st_size, stat.st_mtime_ns)
