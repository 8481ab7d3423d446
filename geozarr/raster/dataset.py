"""Opening a Zarr hierarchy as georeferenced rasters: ``geozarr.open`` and ``open_raster``.

A :class:`GeoDataset` lists a hierarchy's data arrays the way GDAL lists subdatasets;
:func:`open_raster` turns one of them (or a 2-D slice of an N-D one) into a
:class:`~geozarr.raster.reader.RasterReader`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from geozarr.core.array import Array
from geozarr.core.group import Group
from geozarr.core.hierarchy import open_node
from geozarr.errors import DimensionError
from geozarr.geo.georeference import resolve_georeference
from geozarr.geo.hierarchy import ContextBuilder, data_arrays
from geozarr.raster.bands import make_layout
from geozarr.raster.connection import is_connection_string, parse_connection_string
from geozarr.raster.reader import RasterReader
from geozarr.storage import Store

Target = str | os.PathLike[str] | Store


def _location(target: Target) -> str:
    """How a store is named in subdataset strings."""
    if isinstance(target, Store):
        root = getattr(target, "root", None) or getattr(target, "path", None)
        return str(root) if root is not None else repr(target)
    return os.fspath(target)


class GeoDataset:
    """A Zarr hierarchy seen geospatially: its data arrays and how to open them as rasters."""

    def __init__(self, node: Group | Array, location: str):
        self._node = node
        self._location = location
        self._builder = ContextBuilder(node)
        self._arrays: list[str] | None = None

    @property
    def node(self) -> Group | Array:
        """The root group (or the single array) of the hierarchy."""
        return self._node

    @property
    def arrays(self) -> list[str]:
        """Paths ("/group/name") of the data arrays: not coordinate, bounds or grid-mapping
        variables, and at least 2-D."""
        if self._arrays is None:
            if isinstance(self._node, Array):
                self._arrays = ["/"] if self._node.ndim >= 2 else []
            else:
                self._arrays = data_arrays(self._node)
        return self._arrays

    @property
    def subdatasets(self) -> list[str]:
        """GDAL-style names of the data arrays: ``ZARR:"data.zarr":/group/temperature``."""
        if isinstance(self._node, Array):
            return [f'ZARR:"{self._location}"']
        return [f'ZARR:"{self._location}":{path}' for path in self.arrays]

    def open_raster(self, array: str | None = None, *, sel: Mapping[str | int, int] | None = None,
                    x_dim: str | int | None = None, y_dim: str | int | None = None,
                    indices: tuple[int, ...] = ()) -> RasterReader:
        """Open the data array ``array`` (a path; the only data array when None) as a raster.

        ``sel`` fixes extra dimensions to one index (``{"time": 2}``); ``indices`` fixes the
        first extra dimensions in order, as a connection string's ``:2:0`` does.
        """
        path = self._resolve(array)
        context = self._builder.context(path)
        georeference = resolve_georeference(context, x_dim=x_dim, y_dim=y_dim)
        layout = make_layout(context.dims, context.shape, georeference.axes.y_axis,
                             georeference.axes.x_axis, sel=sel, indices=indices,
                             path=context.path)
        name = (f'ZARR:"{self._location}"' if path == "/"
                else f'ZARR:"{self._location}":{path}')
        return RasterReader(self._builder.array(path), context, georeference, layout, name=name)

    def _resolve(self, array: str | None) -> str:
        if isinstance(self._node, Array):
            if array not in (None, "", "/"):
                raise DimensionError(f"{self._location!r} holds a single array; there is no "
                                     f"array {array!r} in it")
            return "/"
        if array is None:
            if len(self.arrays) == 1:
                return self.arrays[0]
            listing = "\n  ".join(self.subdatasets) or "(none)"
            raise DimensionError(f"{self._location!r} holds {len(self.arrays)} data arrays; "
                                 f"name one (array=...), or open a subdataset:\n  {listing}")
        path = "/" + array.strip("/")
        self._builder.array(path)  # DimensionError naming it when absent
        return path

    def __repr__(self) -> str:
        return f"<geozarr.GeoDataset {self._location!r} arrays={self.arrays}>"


def open(target: Target, *,  # noqa: A001 - the package's entry point
         storage_options: Mapping[str, Any] | None = None) -> GeoDataset:
    """Open a Zarr hierarchy (a path, a ``.zip``, a URL, a store) to see it geospatially.

    ``storage_options`` configure a remote store (see :func:`geozarr.storage.open_store`).
    """
    node = open_node(target, "r", storage_options=storage_options)
    return GeoDataset(node, _location(target))


def open_raster(target: Target, *, array: str | None = None,
                sel: Mapping[str | int, int] | None = None, x_dim: str | int | None = None,
                y_dim: str | int | None = None,
                storage_options: Mapping[str, Any] | None = None) -> RasterReader:
    """Open a data array as a rasterio-like raster.

    Parameters
    ----------
    target
        A path or store, or a GDAL connection string ``ZARR:"path":/array[:index...]``.
    array
        The array's path in the hierarchy; optional when there is a single data array.
    sel
        Extra dimensions to fix to one index, by name or axis: ``{"time": 2}``.
    x_dim, y_dim
        Override the detected spatial dimensions (name or axis).
    storage_options
        Settings of a remote store (credentials, endpoint, timeouts): see
        :func:`geozarr.storage.open_store`.
    """
    indices: tuple[int, ...] = ()
    if isinstance(target, str) and is_connection_string(target):
        parsed = parse_connection_string(target)
        if parsed.array is not None and array is not None:
            raise DimensionError(f"{target!r} names an array already; do not pass array=")
        target, array, indices = parsed.location, array or parsed.array, parsed.indices
    return open(target, storage_options=storage_options).open_raster(
        array, sel=sel, x_dim=x_dim, y_dim=y_dim, indices=indices)
