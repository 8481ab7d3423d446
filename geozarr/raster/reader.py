"""A rasterio-like reader over one array of a Zarr hierarchy.

:class:`RasterReader` has the names and types of rasterio's ``DatasetReader`` (``crs`` is a
``rasterio.crs.CRS``, ``transform`` an ``affine.Affine``, windows are
``rasterio.windows.Window``), so a GIS script written for rasterio works unchanged. Pixel
arithmetic is delegated to rasterio's own pure functions, so both libraries agree to the bit.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import rasterio.transform
import rasterio.windows
from affine import Affine
from rasterio.coords import BoundingBox
from rasterio.crs import CRS
from rasterio.enums import Resampling
from rasterio.windows import Window

from geozarr.core.array import Array
from geozarr.core.hierarchy import open_node
from geozarr.errors import DimensionError, UsageError, ValueShapeError
from geozarr.geo.cf import dimension_values
from geozarr.geo.context import ArrayContext
from geozarr.geo.georeference import Georeference
from geozarr.geo.hierarchy import ContextBuilder
from geozarr.raster.bands import BandLayout
from geozarr.raster.resampling import SourceWindow, resample

#: Attributes that are encodings, not user metadata, left out of ``tags()``.
_HIDDEN_TAGS = frozenset({"_ARRAY_DIMENSIONS", "_CRS", "zarr_conventions", "_FillValue",
                          "_nczarr_array", "_nczarr_attr", "_NCZARR_ARRAY"})


class RasterReader:
    """One array seen as a georeferenced raster: bands over two spatial dimensions."""

    def __init__(self, array: Array, context: ArrayContext, georeference: Georeference,
                 layout: BandLayout, *, name: str):
        self._array = array
        self._context = context
        self._geo = georeference
        self._layout = layout
        self._closed = False
        self.name = name
        self.driver = "Zarr"
        self.mode = "r"
        self._dimension_value_cache: dict[str, list[Any] | None] = {}

    # -- description ----------------------------------------------------------------------
    @property
    def array(self) -> Array:
        """The underlying :class:`geozarr.Array`."""
        return self._array

    @property
    def dims(self) -> tuple[str, ...]:
        return self._context.dims

    @property
    def x_dim(self) -> str:
        return self._geo.axes.x_dim

    @property
    def y_dim(self) -> str:
        return self._geo.axes.y_dim

    @property
    def band_dims(self) -> tuple[str, ...]:
        """The dimensions whose combinations are the bands (C order)."""
        return tuple(self.dims[axis] for axis in self._layout.band_axes)

    @property
    def width(self) -> int:
        return self._array.shape[self._layout.x_axis]

    @property
    def height(self) -> int:
        return self._array.shape[self._layout.y_axis]

    @property
    def shape(self) -> tuple[int, int]:
        return (self.height, self.width)

    @property
    def count(self) -> int:
        return self._layout.count

    @property
    def indexes(self) -> tuple[int, ...]:
        return tuple(range(1, self.count + 1))

    @property
    def dtypes(self) -> tuple[str, ...]:
        return (self._array.dtype.newbyteorder("=").name,) * self.count

    @property
    def crs(self) -> CRS | None:
        return self._geo.crs.crs

    @property
    def transform(self) -> Affine:
        return self._geo.transform.transform

    @property
    def x_coords(self) -> np.ndarray | None:
        """The x coordinates (cell centres) when the array has a coordinate variable."""
        return self._geo.transform.x_coords

    @property
    def y_coords(self) -> np.ndarray | None:
        return self._geo.transform.y_coords

    @property
    def bounds(self) -> BoundingBox:
        west, south, east, north = rasterio.transform.array_bounds(
            self.height, self.width, self.transform)
        return BoundingBox(west, south, east, north)

    @property
    def res(self) -> tuple[float, float]:
        a, b, _, d, e, _ = self.transform[:6]
        return (math.hypot(a, d), math.hypot(b, e))

    @property
    def nodata(self) -> float | None:
        value = self._geo.values.nodata
        return None if value is None else float(value)

    @property
    def nodatavals(self) -> tuple[float | None, ...]:
        return (self.nodata,) * self.count

    @property
    def units(self) -> tuple[str, ...]:
        return (self._geo.values.units,) * self.count

    @property
    def scales(self) -> tuple[float, ...]:
        return (float(self._geo.values.scale),) * self.count

    @property
    def offsets(self) -> tuple[float, ...]:
        return (float(self._geo.values.offset),) * self.count

    @property
    def descriptions(self) -> tuple[str | None, ...]:
        """Per-band names: a list-valued ``long_name`` with one entry per band (rioxarray's
        spelling, and what geozarr writes), else the array's description for every band."""
        names = self._context.attrs.get("long_name")
        if isinstance(names, list) and len(names) == self.count:
            return tuple(str(name) if name is not None else None for name in names)
        return (self._geo.values.description or None,) * self.count

    @property
    def block_shapes(self) -> list[tuple[int, int]]:
        chunks = self._array.chunks
        return [(chunks[self._layout.y_axis], chunks[self._layout.x_axis])] * self.count

    @property
    def profile(self) -> dict[str, Any]:
        rows, cols = self.block_shapes[0] if self.count else (0, 0)
        return {"driver": "Zarr", "dtype": self.dtypes[0] if self.count else None,
                "nodata": self.nodata, "width": self.width, "height": self.height,
                "count": self.count, "crs": self.crs, "transform": self.transform,
                "blockxsize": cols, "blockysize": rows, "tiled": True}

    @property
    def meta(self) -> dict[str, Any]:
        return {key: self.profile[key] for key in ("driver", "dtype", "nodata", "width",
                                                   "height", "count", "crs", "transform")}

    def tags(self, bidx: int = 0) -> dict[str, str]:
        """Dataset tags (``bidx=0``: the array attributes), or a band's extra-dimension tags
        as GDAL writes them: ``DIM_<name>_INDEX`` and ``DIM_<name>_VALUE``."""
        if bidx == 0:
            tags = {key: value if isinstance(value, str) else json.dumps(value)
                    for key, value in self._context.attrs.items() if key not in _HIDDEN_TAGS}
            if self._geo.transform.area_or_point:
                tags["AREA_OR_POINT"] = self._geo.transform.area_or_point
            return tags
        coordinates = self._layout.band_coordinates(bidx)
        tags = {}
        pairs = list(zip(self._layout.band_axes, coordinates)) + list(self._layout.fixed)
        for axis, index in sorted(pairs):
            dim = self.dims[axis]
            tags[f"DIM_{dim}_INDEX"] = str(index)
            values = self._dimension_values(dim)
            if values is not None and index < len(values):
                tags[f"DIM_{dim}_VALUE"] = str(values[index])
        return tags

    def _dimension_values(self, dim: str) -> list[Any] | None:
        cache = self._dimension_value_cache
        if dim not in cache:
            cache[dim] = dimension_values(self._context, dim)
        return cache[dim]

    # -- pixel arithmetic (rasterio's own functions) ----------------------------------------
    def index(self, x: float, y: float, op: Any = math.floor) -> tuple[int, int]:
        """(row, col) of the pixel holding (x, y)."""
        row, col = rasterio.transform.rowcol(self.transform, x, y, op=op)
        return int(row), int(col)

    def xy(self, row: int, col: int, offset: str = "center") -> tuple[float, float]:
        """(x, y) of a pixel's centre (or corner, with ``offset``)."""
        x, y = rasterio.transform.xy(self.transform, row, col, offset=offset)
        return float(x), float(y)

    def window(self, left: float, bottom: float, right: float, top: float) -> Window:
        """The window covering these bounds."""
        return rasterio.windows.from_bounds(left, bottom, right, top, transform=self.transform)

    def window_transform(self, window: Window) -> Affine:
        """The transform of a window's upper-left corner."""
        return rasterio.windows.transform(window, self.transform)

    def window_bounds(self, window: Window) -> tuple[float, float, float, float]:
        return rasterio.windows.bounds(window, self.transform)

    # -- reading ----------------------------------------------------------------------------
    def read(self, indexes: int | Sequence[int] | None = None, window: Window | None = None,
             masked: bool = False, out_shape: tuple[int, ...] | None = None,
             out: np.ndarray | None = None,
             resampling: Resampling = Resampling.nearest) -> np.ndarray:
        """Read bands as rasterio does: ``indexes`` an int gives a 2-D array, a list or None a
        3-D ``(bands, rows, cols)`` one. Only the chunks the window covers are read.

        ``out_shape`` (or the shape of ``out``) resamples the window to that size, like
        rasterio's decimated reads; ``masked`` returns a ``numpy.ma`` array masked where the
        value is nodata.
        """
        self._check_open()
        single = isinstance(indexes, (int, np.integer))
        bands = [int(indexes)] if single else list(indexes or self.indexes)
        if not bands:
            raise DimensionError(f"{self.name}: no bands to read")
        source = SourceWindow(0.0, 0.0, float(self.height), float(self.width)) \
            if window is None else SourceWindow.of(_as_window(window))
        row0, col0, row1, col1 = source.pixel_bounds()
        if row0 < 0 or col0 < 0 or row1 > self.height or col1 > self.width:
            raise DimensionError(f"{self.name}: window {source} is outside the raster "
                                 f"({self.height} rows x {self.width} columns)")
        selection, positions = self._layout.selection(slice(row0, row1), slice(col0, col1),
                                                      bands)
        block = self._layout.to_band_first(np.asarray(self._array[selection]))
        data = block if list(positions) == list(range(block.shape[0])) \
            else block[list(positions)]
        target = out.shape if out is not None else out_shape
        size = tuple(target[-2:]) if target is not None else source.default_size()
        relative = SourceWindow(source.row_off - row0, source.col_off - col0, source.height,
                                source.width)
        if not (relative.is_whole() and size == data.shape[-2:]):
            data = resample(data, relative, size, resampling, nodata=self.nodata)
        if single:
            data = data[0]
        if out is not None:
            if out.shape != data.shape:
                raise ValueShapeError(f"{self.name}: out has shape {out.shape}, the read gives "
                                      f"{data.shape}")
            out[...] = data
            data = out
        if masked:
            return self._mask(data)
        return data

    def _mask(self, data: np.ndarray) -> np.ma.MaskedArray:
        nodata = self._geo.values.nodata
        if nodata is None:
            return np.ma.MaskedArray(data, mask=np.zeros(data.shape, dtype=bool))
        if isinstance(nodata, float) and math.isnan(nodata):
            mask = np.isnan(data) if data.dtype.kind in "fc" else np.zeros(data.shape, bool)
        else:
            mask = data == np.array(nodata).astype(data.dtype)
        return np.ma.MaskedArray(data, mask=mask, fill_value=nodata)

    # -- life cycle ---------------------------------------------------------------------------
    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        """Release the reader (the store stays usable by other readers)."""
        self._closed = True

    def _check_open(self) -> None:
        if self._closed:
            raise UsageError(f"{self.name}: the raster is closed")

    def __enter__(self) -> RasterReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return f"<{state} RasterReader name='{self.name}' mode='r'>"

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled as the array (store, path, metadata), its path in the hierarchy and the
        georeferencing and band layout already resolved: unpickling reads the surrounding
        metadata again but resolves (and warns) nothing again."""
        return (_reopen_raster, (self._array, self._context.path, self._geo, self._layout,
                                 self.name, self._closed))

    def to_dask(self) -> Any:
        """The raster as a dask array ``(bands, rows, cols)``, the values :meth:`read` gives,
        one task per stored object (shard or chunk). Needs ``geozarr[dask]``."""
        self._check_open()
        from geozarr.dask_support import raster_to_dask
        return raster_to_dask(self._array, self._layout)


def _reopen_raster(array: Array, path: str, georeference: Georeference, layout: BandLayout,
                   name: str, closed: bool) -> RasterReader:
    """A pickled :class:`RasterReader` again: its context rebuilt from the hierarchy whose
    root holds ``array`` at ``path`` ("/group/name", or "/" for a root array)."""
    inside = path.strip("/")
    root = array.path[:len(array.path) - len(inside)].rstrip("/") if inside else array.path
    context = ContextBuilder(open_node(array.store, "r", path=root)).context(path)
    reader = RasterReader(array, context, georeference, layout, name=name)
    if closed:
        reader.close()
    return reader


def _as_window(window: Window | tuple) -> Window:
    """A rasterio Window from a Window, ``((row0, row1), (col0, col1))`` or 4 numbers."""
    if isinstance(window, Window):
        return window
    if len(window) == 2:
        return Window.from_slices(*window)
    return Window(*window)
