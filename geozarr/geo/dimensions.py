"""Dimension names of an array, and which two of them are the raster's X and Y.

Names come from wherever a producer put them: v3 ``dimension_names``, xarray's
``_ARRAY_DIMENSIONS`` (also found in v3 arrays written by EOPF), or NCZarr's
``_nczarr_array`` / ``_NCZARR_ARRAY`` (fully qualified ``/group/dim`` references, reduced to
their last segment). The X/Y roles are found the way GDAL and the GeoZarr conventions do,
most explicit first: overrides, ``spatial:dimensions``, CF attributes of the coordinate
variables, well-known names, and finally the last two dimensions.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from geozarr.errors import DimensionError, GeoreferencingWarning, MetadataWarning
from geozarr.geo.context import ArrayContext
from geozarr.geo.conventions import SPATIAL_UUID, convention_keys, warn_undeclared

#: CF ``units`` of longitude and latitude coordinates (CF 1.11 section 4.1 and 4.2).
LONGITUDE_UNITS = frozenset({"degrees_east", "degree_east", "degree_e", "degrees_e",
                             "degreee", "degreese"})
LATITUDE_UNITS = frozenset({"degrees_north", "degree_north", "degree_n", "degrees_n",
                            "degreen", "degreesn"})
_X_STANDARD_NAMES = frozenset({"projection_x_coordinate", "longitude", "grid_longitude",
                               "projection_x_angular_coordinate"})
_Y_STANDARD_NAMES = frozenset({"projection_y_coordinate", "latitude", "grid_latitude",
                               "projection_y_angular_coordinate"})
#: Dimension names that say X or Y by themselves (compared in lower case). "x"/"y" covers
#: the "X"/"Y" dimensions and coordinate arrays GDAL writes.
_X_NAMES = frozenset({"x", "lon", "long", "longitude", "easting", "xc", "rlon"})
_Y_NAMES = frozenset({"y", "lat", "latitude", "northing", "yc", "rlat"})
#: NCZarr members that hold the dimension references, in the order they are tried.
_NCZARR_BLOCKS = ("_nczarr_array", "_NCZARR_ARRAY")
_NCZARR_DIMS = ("dimension_references", "dimrefs", "dimensions")


def array_dimensions(shape: tuple[int, ...], attrs: Mapping[str, Any],
                     dimension_names: tuple[str | None, ...] | None,
                     metadata_extra: Mapping[str, Any], *, path: str) -> tuple[str, ...]:
    """One name per dimension of an array, from the first source that has them.

    Parameters
    ----------
    shape
        The array shape.
    attrs
        The array's attributes (``_ARRAY_DIMENSIONS``; ``_nczarr_array`` for NCZarr 3).
    dimension_names
        The v3 ``dimension_names`` member (None when absent, or for v2).
    metadata_extra
        Non-Zarr members of the array's metadata document (NCZarr 2's ``_NCZARR_ARRAY``).
    path
        The array's path, for warnings.

    Returns
    -------
    tuple of str
        Sources in order: v3 ``dimension_names`` (a ``null`` entry becomes ``dim_<i>``; all
        ``null`` counts as absent), ``_ARRAY_DIMENSIONS``, NCZarr dimension references (last
        path segment), then ``dim_0``, ``dim_1``... Never raises: a source of the wrong
        length or type is skipped with a :class:`MetadataWarning`, and so are duplicated
        names (a name must pick one dimension).
    """
    ndim = len(shape)
    candidates: list[tuple[str, Any]] = []
    if dimension_names is not None and any(name is not None for name in dimension_names):
        candidates.append(("dimension_names", list(dimension_names)))
    if "_ARRAY_DIMENSIONS" in attrs:
        candidates.append(("_ARRAY_DIMENSIONS", attrs["_ARRAY_DIMENSIONS"]))
    for where in (attrs, metadata_extra):
        for block_name in _NCZARR_BLOCKS:
            block = where.get(block_name)
            if isinstance(block, Mapping):
                for member in _NCZARR_DIMS:
                    if member in block:
                        candidates.append((f"{block_name}.{member}", _basenames(block[member])))
                        break
    for source, names in candidates:
        usable = _usable_names(names, ndim, source, path)
        if usable is not None:
            return usable
    return tuple(f"dim_{i}" for i in range(ndim))


@dataclass(frozen=True)
class SpatialAxes:
    """Which dimensions of an array are the raster's rows (Y) and columns (X).

    Attributes
    ----------
    y_axis, x_axis
        Indexes of the Y and X dimensions in the array's shape.
    y_dim, x_dim
        Their names.
    source
        How they were found: ``"x_dim/y_dim override"``, ``"spatial:dimensions"`` (or
        ``"spatial:dimensions (parent group)"``), ``"CF coordinate attributes"``,
        ``"dimension names"``, ``"last two dimensions"``, or, when the two axes were found
        differently, ``"<how> (x), <how> (y)"``.
    """

    y_axis: int
    x_axis: int
    y_dim: str
    x_dim: str
    source: str


def find_spatial_axes(ctx: ArrayContext, *, x_dim: str | int | None = None,
                      y_dim: str | int | None = None) -> SpatialAxes:
    """Find the X and Y dimensions of ``ctx``'s array.

    Parameters
    ----------
    ctx
        The array and its surroundings.
    x_dim, y_dim
        Overrides, as a dimension name or index (negative counts from the end), like GDAL's
        ``DIM_X``/``DIM_Y`` open options. Giving one leaves the other to detection.

    Returns
    -------
    SpatialAxes

    Raises
    ------
    DimensionError
        The array has fewer than two dimensions, an override names no dimension of the
        array, or both overrides name the same one.
    """
    ndim = len(ctx.shape)
    if ndim < 2:
        raise DimensionError(
            f"{ctx.path}: an array of {ndim} dimension(s) is not a raster; it needs at least "
            f"two (Y and X)")
    x_fixed = _override(ctx, x_dim, "x_dim")
    y_fixed = _override(ctx, y_dim, "y_dim")
    if x_fixed is not None and x_fixed == y_fixed:
        raise DimensionError(
            f"{ctx.path}: x_dim and y_dim both name dimension {ctx.dims[x_fixed]!r}")
    x_found = (x_fixed, "x_dim/y_dim override") if x_fixed is not None else None
    y_found = (y_fixed, "x_dim/y_dim override") if y_fixed is not None else None
    if x_found is None or y_found is None:
        declared = _spatial_dimensions(ctx)
        if declared is not None:
            (y_index, x_index), source = declared
            if x_found is None and (y_found is None or y_found[0] != x_index):
                x_found = (x_index, source)
            if y_found is None and (x_found is None or x_found[0] != y_index):
                y_found = (y_index, source)
    for detect, source in ((_cf_role, "CF coordinate attributes"),
                           (_name_role, "dimension names")):
        if x_found is None or y_found is None:
            roles = [detect(ctx, dim) for dim in ctx.dims]  # one look-up per dimension
            x_found = x_found or _unique(roles, "X", y_found, source)
            y_found = y_found or _unique(roles, "Y", x_found, source)
    if x_found is None and y_found is None:
        x_found, y_found = (ndim - 1, "last two dimensions"), (ndim - 2, "last two dimensions")
    elif x_found is None:
        x_found = (_remaining(y_found[0], (ndim - 1, ndim - 2)), "last two dimensions")
    elif y_found is None:
        y_found = (_remaining(x_found[0], (ndim - 2, ndim - 1)), "last two dimensions")
    source = x_found[1] if x_found[1] == y_found[1] else f"{x_found[1]} (x), {y_found[1]} (y)"
    return SpatialAxes(y_axis=y_found[0], x_axis=x_found[0], y_dim=ctx.dims[y_found[0]],
                       x_dim=ctx.dims[x_found[0]], source=source)


def is_longitude(ctx: ArrayContext, dim: str) -> bool:
    """Whether ``dim`` holds longitudes: CF ``standard_name``/``units`` of its coordinate
    variable, or a name (``lon``, ``longitude``) when that variable has neither."""
    return _is_geographic(ctx, dim, "longitude", LONGITUDE_UNITS, ("lon", "long", "longitude"))


def is_latitude(ctx: ArrayContext, dim: str) -> bool:
    """Whether ``dim`` holds latitudes (see :func:`is_longitude`)."""
    return _is_geographic(ctx, dim, "latitude", LATITUDE_UNITS, ("lat", "latitude"))


def _is_geographic(ctx: ArrayContext, dim: str, standard_name: str, units: frozenset[str],
                   names: Sequence[str]) -> bool:
    attrs = ctx.variable_attrs(dim) or {}
    declared_name = attrs.get("standard_name")
    declared_units = attrs.get("units")
    if isinstance(declared_name, str) or isinstance(declared_units, str):
        return declared_name == standard_name or (
            isinstance(declared_units, str) and declared_units.lower() in units)
    return dim.lower() in names


def _basenames(references: Any) -> Any:
    """NCZarr's ``/group/dim`` references reduced to ``dim`` (anything else as it is)."""
    if not isinstance(references, list):
        return references
    return [ref.rsplit("/", 1)[-1] if isinstance(ref, str) else ref for ref in references]


def _usable_names(names: Any, ndim: int, source: str, path: str) -> tuple[str, ...] | None:
    """``names`` as dimension names, or None (with a warning) when they cannot be."""
    if not isinstance(names, list) or not all(n is None or isinstance(n, str) for n in names):
        _warn_names(path, source, f"is not a list of names: {names!r}")
        return None
    if len(names) != ndim:
        _warn_names(path, source, f"has {len(names)} names for {ndim} dimensions")
        return None
    result = tuple(name if name else f"dim_{i}" for i, name in enumerate(names))
    if len(set(result)) != ndim:
        _warn_names(path, source, f"repeats a name: {list(result)}")
        return None
    return result


def _warn_names(path: str, source: str, problem: str) -> None:
    warnings.warn(f"{path}: {source} {problem}; ignored", MetadataWarning, stacklevel=4)


def _override(ctx: ArrayContext, value: str | int | None, option: str) -> int | None:
    """The dimension index an ``x_dim``/``y_dim`` override names."""
    if value is None:
        return None
    ndim = len(ctx.shape)
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise DimensionError(f"{ctx.path}: {option} must be a dimension name or index, "
                             f"got {value!r}")
    if isinstance(value, int):
        if not -ndim <= value < ndim:
            raise DimensionError(f"{ctx.path}: {option}={value} is out of range for an array "
                                 f"of {ndim} dimensions {list(ctx.dims)}")
        return value % ndim
    if value not in ctx.dims:
        raise DimensionError(f"{ctx.path}: {option}={value!r} is not a dimension of the array; "
                             f"its dimensions are {list(ctx.dims)}")
    return ctx.dims.index(value)


def _spatial_dimensions(ctx: ArrayContext) -> tuple[tuple[int, int], str] | None:
    """(Y index, X index) from ``spatial:dimensions`` on the array, else its parent group.

    The legacy spellings ``spatial:dims`` and ``proj:spatial_dimensions`` are read too. With
    more than two names (GDAL 3.13 prepends a vertical dimension) the last two are [Y, X].
    Names that are not dimensions of the array are compared without case, then ignored with
    a warning.
    """
    for attrs, where in ((ctx.attrs, ""), (ctx.parent_attrs, " (parent group)")):
        spatial = convention_keys(attrs, "spatial")
        proj = convention_keys(attrs, "proj")
        for key, value in (("spatial:dimensions", spatial.get("spatial:dimensions")),
                           ("spatial:dims", spatial.get("spatial:dims")),
                           ("proj:spatial_dimensions", proj.get("proj:spatial_dimensions"))):
            if value is None:
                continue
            indexes = _dimension_indexes(ctx, value)
            if indexes is None:
                warnings.warn(
                    f"{ctx.path}: {key}{where} = {value!r} does not name two dimensions of the "
                    f"array {list(ctx.dims)}; ignored", GeoreferencingWarning, stacklevel=4)
                continue
            if key.startswith("spatial:"):
                warn_undeclared(SPATIAL_UUID, key, ctx.attrs, ctx.parent_attrs, ctx.root_attrs,
                                path=ctx.path)
            return indexes, f"{key}{where}"
    return None


def _dimension_indexes(ctx: ArrayContext, value: Any) -> tuple[int, int] | None:
    if not isinstance(value, list) or len(value) < 2:
        return None
    indexes = []
    lowered = [dim.lower() for dim in ctx.dims]
    for name in value[-2:]:
        if not isinstance(name, str):
            return None
        if name in ctx.dims:
            indexes.append(ctx.dims.index(name))
        elif lowered.count(name.lower()) == 1:
            indexes.append(lowered.index(name.lower()))
        else:
            return None
    if indexes[0] == indexes[1]:
        return None
    return indexes[0], indexes[1]


def _cf_role(ctx: ArrayContext, dim: str) -> str | None:
    """X or Y from the CF attributes of the coordinate variable named like ``dim``."""
    attrs = ctx.variable_attrs(dim)
    if not attrs:
        return None
    axis = attrs.get("axis")
    if isinstance(axis, str) and axis.upper() in ("X", "Y"):
        return axis.upper()
    standard_name = attrs.get("standard_name")
    if standard_name in _X_STANDARD_NAMES:
        return "X"
    if standard_name in _Y_STANDARD_NAMES:
        return "Y"
    units = attrs.get("units")
    if isinstance(units, str):
        if units.lower() in LONGITUDE_UNITS:
            return "X"
        if units.lower() in LATITUDE_UNITS:
            return "Y"
    return None


def _name_role(_ctx: ArrayContext, dim: str) -> str | None:
    """X or Y from the dimension name alone."""
    lowered = dim.lower()
    if lowered in _X_NAMES:
        return "X"
    if lowered in _Y_NAMES:
        return "Y"
    return None


def _unique(roles: list[str | None], role: str, other: tuple[int, str] | None,
            source: str) -> tuple[int, str] | None:
    """The one dimension whose entry in ``roles`` is ``role``, not taken by ``other``; None
    if there is no such dimension or more than one."""
    taken = other[0] if other is not None else None
    matches = [i for i, found in enumerate(roles) if i != taken and found == role]
    return (matches[0], source) if len(matches) == 1 else None


def _remaining(taken: int, preferred: tuple[int, int]) -> int:
    """The first of the two distinct ``preferred`` indexes that is not ``taken``."""
    return preferred[0] if preferred[0] != taken else preferred[1]
