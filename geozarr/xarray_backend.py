"""The xarray backend: ``xr.open_dataset("data.zarr", engine="geozarr")``.

Every array of a group becomes an xarray variable backed by a lazy array that reads through
geozarr (v2, v3, sharding, consolidated metadata, NCZarr dimensions). Attributes reach
xarray raw, with the Zarr fill value as ``_FillValue`` where xarray's own zarr engine puts it,
so that xarray's CF decoding (``mask_and_scale``, ``decode_times``) gives what that engine
gives. On top, the georeferencing geozarr resolves for each data array (GDAL's ``_CRS``, CF
grid mappings, the ``proj``/``spatial`` conventions, STAC and EOPF keys) is written the way
rioxarray reads it: a ``spatial_ref`` grid-mapping variable (``crs_wkt``, ``spatial_ref``,
``GeoTransform``) named by ``grid_mapping``, and 1-D x/y coordinates of cell centres where
the store has none. ``.rio.crs`` and ``.rio.transform()`` then equal what
:func:`geozarr.open_raster` reports.

Only this module imports xarray; ``import geozarr`` does not import it.
"""

from __future__ import annotations

import base64
import binascii
import os
import struct
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from xarray import Dataset, Variable
from xarray.backends import BackendArray, BackendEntrypoint
from xarray.backends.common import AbstractDataStore
from xarray.backends.store import StoreBackendEntrypoint
from xarray.core import indexing

from geozarr.core.array import Array
from geozarr.core.group import Group
from geozarr.core.hierarchy import open_node
from geozarr.errors import (
    DimensionError,
    GeoreferencingError,
    GeoreferencingWarning,
    MetadataError,
    NodeNotFoundError,
    NotGeoreferencedWarning,
)
from geozarr.geo.encode import (
    as_crs,
    coordinate_attributes,
    coordinate_values,
    grid_mapping_attributes,
    is_axis_aligned,
)
from geozarr.geo.georeference import Georeference, resolve_georeference
from geozarr.geo.hierarchy import ContextBuilder, data_arrays
from geozarr.storage import Store

#: The variable name of a store that is a single array (it has no name of its own).
ROOT_ARRAY_NAME = "data"
#: The name of the grid-mapping variable geozarr adds (rioxarray's default).
GRID_MAPPING_NAME = "spatial_ref"
#: Spatial dimension names rioxarray recognises without coordinate attributes.
_RIOXARRAY_DIMS = frozenset({("x", "y"), ("longitude", "latitude")})


class GeozarrBackendArray(BackendArray):
    """A geozarr :class:`Array` as xarray's lazy backend array (basic indexing).

    ``scalar`` presents a one-element array as 0-d (NCZarr stores netCDF scalars that way).
    It pickles as the array does (store, path, metadata), so dask can ship it to workers.
    """

    def __init__(self, array: Array, *, scalar: bool = False):
        self.array = array
        self.scalar = scalar
        self.shape = () if scalar else array.shape
        self.dtype = array.dtype

    def __getitem__(self, key: indexing.ExplicitIndexer) -> Any:
        return indexing.explicit_indexing_adapter(key, self.shape, indexing.IndexingSupport.BASIC,
                                                  self._read)

    def _read(self, key: tuple[Any, ...]) -> np.ndarray:
        return np.asarray(self.array.read((0,) if self.scalar else key))


def is_nczarr_scalar(array: Array) -> bool:
    """Whether ``array`` is a netCDF scalar NCZarr stored as one element."""
    block = array.attrs.get("_nczarr_array")
    return array.shape == (1,) and isinstance(block, Mapping) and bool(block.get("scalar"))


def decode_fill_attribute(value: Any, dtype: np.dtype, *, path: str) -> Any:
    """A ``_FillValue`` attribute of a v3 array as a value of ``dtype``.

    xarray writes float fill values in v3 attributes as the base64 of their little-endian
    float64 bytes (and complex ones as two of those); other producers write plain numbers or
    ``"NaN"``. Both are read.

    Raises
    ------
    MetadataError
        The attribute is not a value of ``dtype``; the message names the array.
    """
    try:
        if dtype.kind in "fc" and isinstance(value, str):
            try:
                return struct.unpack("<d", base64.b64decode(value, validate=True))[0]
            except (binascii.Error, struct.error):
                return float(value)  # "NaN", "Infinity", "-Infinity", or a number as text
        if dtype.kind == "c" and isinstance(value, (list, tuple)) and len(value) == 2:
            real, imag = (decode_fill_attribute(part, np.dtype("f8"), path=path)
                          for part in value)
            return complex(real, imag)
        if dtype.kind == "S" and isinstance(value, str):
            return base64.b64decode(value, validate=True)
        if dtype.kind in "biufc":
            return np.array(value).astype(dtype)[()]
        return value
    except (binascii.Error, TypeError, ValueError, OverflowError) as error:
        raise MetadataError(f"{path}: attribute _FillValue {value!r} is not a value of "
                            f"{dtype}: {error}") from None


def _visible_attributes(attrs: Mapping[str, Any]) -> dict[str, Any]:
    """Attributes without the encodings xarray's zarr engine hides (dimension names, NCZarr)."""
    return {key: value for key, value in attrs.items()
            if key != "_ARRAY_DIMENSIONS" and not key.lower().startswith("_nc")}


def open_variable(array: Array, dims: tuple[str, ...], *, fill_as_mask: bool,
                  path: str) -> Variable:
    """The lazy variable of ``array``, attributes and encoding as xarray's zarr engine makes
    them (``fill_as_mask``: the Zarr fill value becomes ``_FillValue``, as for v2)."""
    scalar = is_nczarr_scalar(array)
    dims = () if scalar else dims
    attrs = _visible_attributes(array.attrs)
    unit = array.shards or array.chunks
    encoding: dict[str, Any] = {"chunks": array.chunks, "shards": array.shards,
                                "preferred_chunks": dict(zip(dims, unit))}
    if array.dtype.kind == "T":
        encoding["dtype"] = array.dtype
    if fill_as_mask:
        if array.fill_value is not None:
            attrs["_FillValue"] = array.fill_value
    else:
        if array.zarr_format == 3:
            encoding["fill_value"] = array.fill_value
        if "_FillValue" in attrs:
            attrs["_FillValue"] = decode_fill_attribute(attrs["_FillValue"], array.dtype,
                                                        path=path)
    data = indexing.LazilyIndexedArray(GeozarrBackendArray(array, scalar=scalar))
    return Variable(dims, data, attrs, encoding)


# -- georeferencing as rioxarray reads it -------------------------------------------------
@dataclass(frozen=True)
class _Grid:
    """What one data array needs added: its grid-mapping attributes and its coordinates."""

    mapping: dict[str, Any] | None
    coordinates: dict[str, tuple[np.ndarray, dict[str, str]]]


def _covered_by_cf(name: str, geo: Georeference, variables: Mapping[str, Variable]) -> bool:
    """Whether rioxarray finds this array's CRS in the store already: it came from a CF
    grid-mapping variable of the same group, named in the simple ``grid_mapping`` form."""
    target = variables[name].attrs.get("grid_mapping")
    return bool(geo.crs.source and geo.crs.source.startswith("grid_mapping")
                and isinstance(target, str) and target in variables)


def _plan_grid(name: str, geo: Georeference, variables: Mapping[str, Variable]) -> _Grid:
    """The grid mapping and x/y coordinates rioxarray needs to see ``geo`` for ``name``."""
    dims = dict(zip(variables[name].dims, variables[name].shape))
    x_dim, y_dim = geo.axes.x_dim, geo.axes.y_dim
    resolved = geo.transform
    transform = resolved.transform
    has_coordinates = x_dim in variables and y_dim in variables
    coordinates: dict[str, tuple[np.ndarray, dict[str, str]]] = {}
    crs = as_crs(geo.crs.crs) if geo.crs.crs is not None else None
    if resolved.georeferenced and not has_coordinates:
        x_attrs, y_attrs = coordinate_attributes(crs)
        if resolved.x_coords is not None and resolved.y_coords is not None:
            x, y = resolved.x_coords, resolved.y_coords
        elif is_axis_aligned(transform):
            x, y = coordinate_values(transform, (dims[y_dim], dims[x_dim]))
        else:
            x = y = None
        if x is not None and y is not None:
            coordinates = {dim: (np.asarray(values), attrs) for dim, values, attrs in
                           ((x_dim, x, x_attrs), (y_dim, y, y_attrs)) if dim not in variables}
    if crs is None:
        return _Grid(None, coordinates)
    if _covered_by_cf(name, geo, variables) and (has_coordinates or coordinates):
        return _Grid(None, coordinates)
    mapping = grid_mapping_attributes(crs, transform if resolved.georeferenced else None)
    # rioxarray reads spatial_ref first; GDAL's WKT1 drops the EPSG axis order (EPSG:3035
    # becomes easting/northing), which makes a different CRS: give it the WKT2 too.
    mapping["spatial_ref"] = mapping["crs_wkt"]
    return _Grid(mapping, coordinates)


def _free_name(base: str, taken: Iterable[str]) -> str:
    names = set(taken)
    if base not in names:
        return base
    return next(f"{base}_{i}" for i in range(1, len(names) + 2) if f"{base}_{i}" not in names)


def add_georeferencing(variables: dict[str, Variable], resolved: Mapping[str, Georeference],
                       *, grid_mapping_coordinates: bool = True) -> None:
    """Add to ``variables`` what rioxarray needs to see each data array's georeferencing.

    A data array whose CRS the store does not carry as CF gets a grid-mapping variable (one
    per distinct CRS and transform, ``spatial_ref`` first) named by its ``grid_mapping``. A
    spatial dimension with no coordinate variable gets the cell-centre coordinates of the
    resolved transform, unless two data arrays disagree on them (their ``GeoTransform`` then
    speaks for each). Spatial coordinate variables rioxarray would not recognise by name get
    an ``axis`` attribute. With ``grid_mapping_coordinates``, each data array lists its grid
    mapping in ``coordinates``, so that CF decoding makes it the coordinate rioxarray looks
    for (xarray itself does so only with ``decode_coords="all"``).
    """
    plans = {name: _plan_grid(name, geo, variables) for name, geo in resolved.items()}
    candidates: dict[str, list[tuple[np.ndarray, dict[str, str]]]] = {}
    for plan in plans.values():
        for dim, values in plan.coordinates.items():
            candidates.setdefault(dim, []).append(values)
    for dim, options in candidates.items():
        first = options[0][0]
        if all(len(v) == len(first) and np.array_equal(v, first) for v, _ in options):
            variables[dim] = Variable((dim,), first, dict(options[0][1]))
    mappings: dict[str, str] = {}
    for name, plan in plans.items():
        geo = resolved[name]
        if plan.mapping is not None:
            key = repr(sorted(plan.mapping.items()))
            if key not in mappings:
                mappings[key] = _free_name(GRID_MAPPING_NAME, variables)
                variables[mappings[key]] = Variable((), np.int64(0), plan.mapping)
            variables[name].attrs["grid_mapping"] = mappings[key]
        mapping = variables[name].attrs.get("grid_mapping")
        if grid_mapping_coordinates and isinstance(mapping, str) and mapping in variables:
            _list_coordinate(variables[name].attrs, mapping)
        if (geo.axes.x_dim, geo.axes.y_dim) not in _RIOXARRAY_DIMS:
            for dim, axis in ((geo.axes.x_dim, "X"), (geo.axes.y_dim, "Y")):
                coordinate = variables.get(dim)
                if coordinate is not None and coordinate.dims == (dim,):
                    coordinate.attrs.setdefault("axis", axis)


def _list_coordinate(attrs: dict[str, Any], name: str) -> None:
    """Add ``name`` to the CF ``coordinates`` attribute in ``attrs``."""
    listed = str(attrs.get("coordinates", "")).split()
    if name not in listed:
        attrs["coordinates"] = " ".join([*listed, name])


def _resolve(builder: ContextBuilder, path: str) -> Georeference | None:
    """The georeferencing of the data array at ``path``; None, with a warning naming the
    problem, when its georeferencing metadata is unusable (the array still opens)."""
    try:
        with warnings.catch_warnings():
            # An array without georeferencing is ordinary in xarray: no warning for that.
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            return resolve_georeference(builder.context(path))
    except GeoreferencingError as error:
        warnings.warn(f"{error}; {path} is opened without georeferencing",
                      GeoreferencingWarning, stacklevel=3)
        return None


# -- the data store -----------------------------------------------------------------------
class GeozarrDataStore(AbstractDataStore):
    """One group of a hierarchy (or a store that is a single array) as xarray sees it.

    Parameters
    ----------
    root
        The root node of the hierarchy, opened read-only.
    group
        The path of the group to open ("" or None for the root).
    use_zarr_fill_value_as_mask
        Whether the Zarr fill value becomes ``_FillValue``; None as xarray's zarr engine:
        yes for v2, no for v3 (a v3 array's ``_FillValue`` attribute is used).
    grid_mapping_coordinates
        List each data array's grid mapping in its ``coordinates`` (see
        :func:`add_georeferencing`); the backend does when ``decode_coords`` is not False.
    store
        A store to close with the dataset (one this backend opened), or None.
    """

    def __init__(self, root: Group | Array, group: str | None = None, *,
                 use_zarr_fill_value_as_mask: bool | None = None,
                 grid_mapping_coordinates: bool = True, store: Store | None = None):
        self._builder = ContextBuilder(root)
        self._prefix = "/" + (group or "").strip("/")
        node = root if self._prefix == "/" else None
        if node is None and isinstance(root, Group):
            node = root[self._prefix.strip("/")]
        if not isinstance(node, Group) and node is not root:
            raise NodeNotFoundError(f"no group {group!r} in {root.store!r}")
        self._node = node
        self._fill_as_mask = use_zarr_fill_value_as_mask
        self._grid_mapping_coordinates = grid_mapping_coordinates
        self._store = store

    def _path(self, name: str) -> str:
        return f"{self._prefix.rstrip('/')}/{name}"

    def _members(self) -> list[tuple[str, str, Array]]:
        """(variable name, path in the hierarchy, array) of every array of the group."""
        if isinstance(self._node, Array):
            return [(ROOT_ARRAY_NAME, "/", self._node)]
        return [(name, self._path(name), array) for name, array in self._node.arrays()]

    def get_variables(self) -> dict[str, Variable]:
        variables: dict[str, Variable] = {}
        sizes: dict[str, tuple[int, str]] = {}
        members = self._members()
        for name, path, array in members:
            dims = () if is_nczarr_scalar(array) else self._builder.context(path).dims
            for dim, size in zip(dims, array.shape):
                seen = sizes.setdefault(dim, (size, path))
                if seen[0] != size:
                    raise DimensionError(f"dimension {dim!r} has size {seen[0]} in {seen[1]} "
                                         f"but {size} in {path}: xarray needs one size")
            fill_as_mask = self._fill_as_mask
            if fill_as_mask is None:
                fill_as_mask = array.zarr_format == 2
            variables[name] = open_variable(array, dims, fill_as_mask=fill_as_mask, path=path)
        resolved: dict[str, Georeference] = {}
        data = self._data_arrays()
        for name, path, _ in members:
            geo = _resolve(self._builder, path) if name in data else None
            if geo is not None:
                resolved[name] = geo
        add_georeferencing(variables, resolved,
                           grid_mapping_coordinates=self._grid_mapping_coordinates)
        return variables

    def _data_arrays(self) -> set[str]:
        """Names of the group's data arrays (geozarr's definition: see ``geozarr.open``)."""
        if isinstance(self._node, Array):
            return {ROOT_ARRAY_NAME} if self._node.ndim >= 2 else set()
        return {path.strip("/") for path in data_arrays(self._node) if path.count("/") == 1}

    def get_attrs(self) -> dict[str, Any]:
        if isinstance(self._node, Array):
            return {}
        return {key: value for key, value in self._node.attrs.items()
                if not key.lower().startswith("_nc")}

    def get_dimensions(self) -> dict[str, int]:
        return {dim: size for variable in self.get_variables().values()
                for dim, size in zip(variable.dims, variable.shape)}

    def close(self) -> None:
        if self._store is not None:
            self._store.close()


class GeozarrBackendEntrypoint(BackendEntrypoint):
    """``engine="geozarr"``: open any Zarr geozarr reads, georeferenced for rioxarray."""

    description = ("Open Zarr v2/v3 (sharded, NCZarr, GDAL and GeoZarr-convention "
                   "georeferencing) with geozarr, CRS and transform attached for rioxarray")
    url = "https://github.com/geozarr/geozarr/blob/main/docs/xarray.md"

    def open_dataset(  # type: ignore[override]
        self,
        filename_or_obj: str | os.PathLike[str] | Store,
        *,
        drop_variables: str | Iterable[str] | None = None,
        group: str | None = None,
        mask_and_scale: bool = True,
        decode_times: bool = True,
        concat_characters: bool = True,
        decode_coords: bool | str = True,
        use_cftime: bool | None = None,
        decode_timedelta: bool | None = None,
        use_zarr_fill_value_as_mask: bool | None = None,
        zarr_format: int | None = None,
        consolidated: bool | None = None,
        storage_options: Mapping[str, Any] | None = None,
    ) -> Dataset:
        """Open the group ``group`` of ``filename_or_obj`` (a path, ``.zip``, URL or
        :class:`~geozarr.storage.Store`) as a lazy Dataset; the decoding keywords are
        xarray's. ``consolidated`` and ``zarr_format`` are :func:`geozarr.open_group`'s
        ``use_consolidated`` and ``zarr_format``."""
        root = open_node(filename_or_obj, "r", zarr_format=zarr_format,
                         use_consolidated=consolidated, storage_options=storage_options)
        opened = None if isinstance(filename_or_obj, Store) else root.store
        try:
            store = GeozarrDataStore(root, group,
                                     use_zarr_fill_value_as_mask=use_zarr_fill_value_as_mask,
                                     grid_mapping_coordinates=decode_coords is not False,
                                     store=opened)
            return StoreBackendEntrypoint().open_dataset(
                store, mask_and_scale=mask_and_scale, decode_times=decode_times,
                concat_characters=concat_characters, decode_coords=decode_coords,
                drop_variables=drop_variables, use_cftime=use_cftime,
                decode_timedelta=decode_timedelta)
        except BaseException:
            if opened is not None:
                opened.close()
            raise
