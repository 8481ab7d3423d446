"""The affine transform of an array: pixel corners to CRS coordinates.

Sources, first hit wins:

1. ``spatial:transform`` on the array, else on its parent group (the ``spatial`` convention;
   rasterio order ``[a, b, c, d, e, f]``); ``spatial:registration: "node"`` means the
   transform maps pixel centres, so it is shifted half a pixel to rasterio's corner
   convention and the area-or-point is ``"Point"``;
2. ``GeoTransform`` on the CF grid-mapping variable (GDAL order, a string or a list), as
   rioxarray and GDAL write it;
3. regularly spaced 1-D coordinate variables of the X and Y dimensions (cell centres), north-up
   or south-up, as GDAL, xarray and odc-geo write them;
4. STAC's ``proj:transform`` (6 or 9 values, rasterio order) on the array, else its parent;
5. ``spatial:bbox`` with the array's shape (axis-aligned).

A present but unusable source (wrong length, not numbers, not invertible) raises
:class:`GeoreferencingError` when it would win and only warns otherwise. Every other usable
source is compared with the winner and a difference of more than half a pixel at a corner of
the raster is a :class:`GeoreferencingWarning`. Without any source the transform is the
identity and :class:`NotGeoreferencedWarning` says why, as rasterio does; irregular
coordinates are still returned. Longitudes are never wrapped: 0..360 coordinates give a
transform whose origin is near 0.
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np
from affine import Affine

from geozarr.errors import GeoreferencingError, GeoreferencingWarning, NotGeoreferencedWarning
from geozarr.geo.cf import grid_mapping, unpack
from geozarr.geo.context import ArrayContext
from geozarr.geo.conventions import SPATIAL_UUID, convention_keys, warn_undeclared
from geozarr.geo.dimensions import SpatialAxes

#: Regularity tolerance relative to the step (coordinates written in decimal text...).
RELATIVE_TOLERANCE = 1e-6


@dataclass(frozen=True)
class ResolvedTransform:
    """The affine transform of an array and where it came from.

    Attributes
    ----------
    transform
        Maps (col, row) of a pixel's upper-left corner to (x, y), rasterio's convention;
        the identity when ``georeferenced`` is False.
    source
        ``"spatial:transform"`` (or ``"... (parent group)"``),
        ``"GeoTransform on grid_mapping 'spatial_ref'"``, ``"coordinates 'x', 'y'"``,
        ``"proj:transform"``, ``"spatial:bbox"``; None when not georeferenced.
    area_or_point
        ``"Point"`` for ``spatial:registration: "node"``, else ``"Area"`` (GDAL's
        ``AREA_OR_POINT``).
    x_coords, y_coords
        The 1-D coordinate values of the X and Y dimensions (float64, read-only) when the
        array has them with the right length, regular or not; else None.
    georeferenced
        False when no source gives a transform.
    """

    transform: Affine
    source: str | None
    area_or_point: str
    x_coords: np.ndarray | None
    y_coords: np.ndarray | None
    georeferenced: bool


@dataclass(frozen=True)
class _Candidate:
    """One source of a transform: its label, how to build (transform, area_or_point), and
    what to do once it wins."""

    label: str
    build: Callable[[], tuple[Affine, str]]
    on_use: Callable[[], None] = lambda: None


def resolve_transform(ctx: ArrayContext, axes: SpatialAxes) -> ResolvedTransform:
    """The transform of ``ctx``'s array (see the module documentation for the order).

    Raises
    ------
    GeoreferencingError
        The winning source is unusable: a ``spatial:transform``, ``GeoTransform`` or
        ``proj:transform`` of the wrong length or not numbers, a transform that cannot be
        inverted, a ``grid_mapping`` naming a missing variable. The message names the
        attribute and ``ctx.path``.
    """
    width, height = ctx.shape[axes.x_axis], ctx.shape[axes.y_axis]
    x = _coordinate(ctx, axes.x_dim, width)
    y = _coordinate(ctx, axes.y_dim, height)
    x_coords = x[0] if x is not None else None
    y_coords = y[0] if y is not None else None
    coordinates, reasons = _coordinate_transform(axes, x, y)
    candidates = _candidates(ctx, axes, coordinates)
    winner: tuple[str, Affine, str] | None = None
    for candidate in candidates:
        try:
            transform, area_or_point = candidate.build()
        except GeoreferencingError as error:
            if winner is None:
                raise
            warnings.warn(f"{error}; ignored, {winner[0]} gives the transform",
                          GeoreferencingWarning, stacklevel=2)
            continue
        if winner is None:
            candidate.on_use()
            winner = (candidate.label, transform, area_or_point)
        elif _comparable(winner, candidate.label) and _disagree(winner[1], transform, width,
                                                                 height):
            warnings.warn(
                f"{ctx.path}: {candidate.label} {tuple(transform)[:6]} disagrees with "
                f"{winner[0]} {tuple(winner[1])[:6]} by more than half a pixel; using "
                f"{winner[0]}", GeoreferencingWarning, stacklevel=2)
    if winner is None:
        why = "; ".join(reasons) if reasons else (
            "no spatial:transform, GeoTransform, 1-D coordinates, proj:transform or "
            "spatial:bbox")
        warnings.warn(f"{ctx.path}: not georeferenced ({why}); the identity transform is "
                      f"used", NotGeoreferencedWarning, stacklevel=2)
        return ResolvedTransform(Affine.identity(), None, "Area", x_coords, y_coords, False)
    return ResolvedTransform(winner[1], winner[0], winner[2], x_coords, y_coords, True)


def transform_from_centres(x_coords: np.ndarray, y_coords: np.ndarray,
                           dtypes: tuple[np.dtype, np.dtype] | None = None) -> Affine | None:
    """The transform of a grid whose cell centres are ``x_coords`` and ``y_coords``, or None
    when either is not regularly spaced (or has fewer than two values).

    ``c_i = c_0 + i * step`` gives ``a = step`` and origin ``c_0 - step / 2`` (so increasing Y,
    a south-up grid, gives a positive ``e``). A value may stray from the line by
    :data:`RELATIVE_TOLERANCE` of the step plus four units in the last place of its stored
    type (``dtypes``, float64 by default) at the largest magnitude.
    """
    x_dtype, y_dtype = dtypes or (np.dtype(np.float64), np.dtype(np.float64))
    x_step = _regular_step(x_coords, x_dtype)
    y_step = _regular_step(y_coords, y_dtype)
    if x_step is None or y_step is None:
        return None
    return Affine(x_step, 0.0, float(x_coords[0]) - x_step / 2,
                  0.0, y_step, float(y_coords[0]) - y_step / 2)


def _candidates(ctx: ArrayContext, axes: SpatialAxes, coordinates: Affine | None
                ) -> list[_Candidate]:
    """Every source present, in order of precedence."""
    nodes = (ctx.attrs, ctx.parent_attrs, ctx.root_attrs)
    own = convention_keys(ctx.attrs, "spatial")
    spatial = {**convention_keys(ctx.parent_attrs, "spatial"), **own}  # groups give defaults
    size = (ctx.shape[axes.x_axis], ctx.shape[axes.y_axis])
    candidates = []
    if "spatial:transform" in spatial:
        kind = spatial.get("spatial:transform_type", "affine")
        if kind == "affine":
            where = "" if "spatial:transform" in own else " (parent group)"
            candidates.append(_Candidate(
                f"spatial:transform{where}",
                partial(_spatial_transform, ctx, spatial, f"spatial:transform{where}", size),
                partial(warn_undeclared, SPATIAL_UUID, "spatial:transform", *nodes,
                        path=ctx.path)))
        else:
            warnings.warn(f"{ctx.path}: spatial:transform_type {kind!r} is not 'affine'; the "
                          f"spatial:transform is ignored", GeoreferencingWarning, stacklevel=3)
    try:
        mapping = grid_mapping(ctx, (axes.x_dim, axes.y_dim))
    except GeoreferencingError as error:
        candidates.append(_Candidate("grid_mapping", partial(_fail, str(error))))
    else:
        if mapping is not None and mapping[1].get("GeoTransform") is not None:
            label = f"GeoTransform on grid_mapping {mapping[0]!r}"
            candidates.append(_Candidate(label, partial(
                _gdal_transform, mapping[1]["GeoTransform"], label, ctx.path)))
    if coordinates is not None:
        candidates.append(_Candidate(f"coordinates {axes.x_dim!r}, {axes.y_dim!r}",
                                     partial(_area, coordinates)))
    for attrs, where in ((ctx.attrs, ""), (ctx.parent_attrs, " (parent group)")):
        raw = convention_keys(attrs, "proj").get("proj:transform")
        if raw is not None:
            label = f"proj:transform{where}"
            candidates.append(_Candidate(label, partial(_stac_transform, raw, label, ctx.path)))
            break
    if "spatial:bbox" in spatial:
        candidates.append(_Candidate(
            "spatial:bbox", partial(_bbox_transform, ctx, spatial, size),
            partial(warn_undeclared, SPATIAL_UUID, "spatial:bbox", *nodes, path=ctx.path)))
    return candidates


def _spatial_transform(ctx: ArrayContext, spatial: Mapping[str, Any], label: str,
                       size: tuple[int, int]) -> tuple[Affine, str]:
    values = _numbers(spatial["spatial:transform"], (6,), label, ctx.path)
    _check_shape(ctx, spatial, size)
    transform = _invertible(Affine(*values), label, ctx.path)
    if _registration(ctx, spatial) == "node":
        return transform @ Affine.translation(-0.5, -0.5), "Point"
    return transform, "Area"


def _bbox_transform(ctx: ArrayContext, spatial: Mapping[str, Any],
                    size: tuple[int, int]) -> tuple[Affine, str]:
    xmin, ymin, xmax, ymax = _numbers(spatial["spatial:bbox"], (4,), "spatial:bbox", ctx.path)
    _check_shape(ctx, spatial, size)
    width, height = size
    if _registration(ctx, spatial) == "node":
        if width < 2 or height < 2:
            raise GeoreferencingError(
                f"{ctx.path}: spatial:bbox with registration 'node' needs at least two cells "
                f"per axis to give a cell size; the raster is {width} x {height}")
        step_x, step_y = (xmax - xmin) / (width - 1), (ymax - ymin) / (height - 1)
        transform = Affine(step_x, 0.0, xmin - step_x / 2, 0.0, -step_y, ymax + step_y / 2)
        return _invertible(transform, "spatial:bbox", ctx.path), "Point"
    transform = Affine((xmax - xmin) / width, 0.0, xmin, 0.0, -(ymax - ymin) / height, ymax)
    return _invertible(transform, "spatial:bbox", ctx.path), "Area"


def _gdal_transform(raw: Any, label: str, path: str) -> tuple[Affine, str]:
    """GDAL's six geotransform numbers, as a string (space or comma separated) or a list."""
    if isinstance(raw, str):
        raw = [part for part in re.split(r"[\s,]+", raw.strip()) if part]
    values = _numbers(raw, (6,), label, path)
    return _invertible(Affine.from_gdal(*values), label, path), "Area"


def _stac_transform(raw: Any, label: str, path: str) -> tuple[Affine, str]:
    values = _numbers(raw, (6, 9), label, path)
    if len(values) == 9 and values[6:] != (0.0, 0.0, 1.0):
        raise GeoreferencingError(
            f"{path}: {label} {list(values)} is not affine: its last row is not [0, 0, 1]")
    return _invertible(Affine(*values[:6]), label, path), "Area"


def _numbers(raw: Any, lengths: tuple[int, ...], label: str, path: str) -> tuple[float, ...]:
    """``raw`` as finite floats, checking the count; numbers written as strings are taken."""
    expected = " or ".join(str(n) for n in lengths)
    if not isinstance(raw, (list, tuple)) or len(raw) not in lengths:
        count = f"{len(raw)} values" if isinstance(raw, (list, tuple)) else repr(raw)
        raise GeoreferencingError(f"{path}: {label} must be {expected} numbers, got {count}")
    values = []
    for item in raw:
        try:
            if isinstance(item, bool):
                raise ValueError(item)
            value = float(item)
        except (TypeError, ValueError):
            raise GeoreferencingError(
                f"{path}: {label} holds {item!r}, which is not a number") from None
        if not math.isfinite(value):
            raise GeoreferencingError(f"{path}: {label} holds {item!r}, which is not finite")
        values.append(value)
    return tuple(values)


def _invertible(transform: Affine, label: str, path: str) -> Affine:
    if transform.is_degenerate:
        raise GeoreferencingError(
            f"{path}: {label} {tuple(transform)[:6]} is degenerate (a zero pixel size), so it "
            f"cannot map pixels to coordinates")
    return transform


def _registration(ctx: ArrayContext, spatial: Mapping[str, Any]) -> str:
    value = spatial.get("spatial:registration", "pixel")
    if value not in ("pixel", "node"):
        warnings.warn(f"{ctx.path}: spatial:registration {value!r} is neither 'pixel' nor "
                      f"'node'; 'pixel' is assumed", GeoreferencingWarning, stacklevel=5)
        return "pixel"
    return str(value)


def _check_shape(ctx: ArrayContext, spatial: Mapping[str, Any], size: tuple[int, int]) -> None:
    width, height = size
    shape = spatial.get("spatial:shape")
    if shape is not None and shape != [height, width]:
        warnings.warn(f"{ctx.path}: spatial:shape {shape} is not the raster's [height, width] "
                      f"[{height}, {width}]", GeoreferencingWarning, stacklevel=5)


def _coordinate(ctx: ArrayContext, dim: str, size: int) -> tuple[np.ndarray, np.dtype] | None:
    """The 1-D numeric coordinate values of ``dim`` (unpacked, float64, read-only), and the
    data type they are stored in."""
    values = ctx.variable_values(dim)
    if values is None or values.dtype.kind not in "iuf":
        return None
    if values.ndim != 1 or values.shape[0] != size:
        warnings.warn(f"{ctx.path}: the coordinate variable {dim!r} has shape {values.shape}, "
                      f"not ({size},) like the dimension; ignored", GeoreferencingWarning,
                      stacklevel=3)
        return None
    result = np.array(unpack(values, ctx.variable_attrs(dim) or {}), dtype=np.float64)
    result.flags.writeable = False
    return result, values.dtype


def _coordinate_transform(axes: SpatialAxes, x: tuple[np.ndarray, np.dtype] | None,
                          y: tuple[np.ndarray, np.dtype] | None
                          ) -> tuple[Affine | None, list[str]]:
    """The transform regular coordinates give, or None and why not."""
    if x is None or y is None:
        return None, []
    reasons = []
    for dim, (coords, dtype) in ((axes.x_dim, x), (axes.y_dim, y)):
        if coords.shape[0] < 2:
            reasons.append(f"coordinate {dim!r} has a single value, which gives no cell size")
        elif _regular_step(coords, dtype) is None:
            reasons.append(f"coordinates {dim!r} are not regularly spaced")
    if reasons:
        return None, reasons
    return transform_from_centres(x[0], y[0], (x[1], y[1])), []


def _regular_step(coords: np.ndarray, dtype: np.dtype) -> float | None:
    count = coords.shape[0]
    if count < 2 or not np.all(np.isfinite(coords)):
        return None
    step = float(coords[-1] - coords[0]) / (count - 1)
    if step == 0.0:
        return None
    eps = np.finfo(dtype if dtype.kind == "f" else np.float64).eps
    noise = 4 * float(eps) * float(np.max(np.abs(coords)))
    expected = float(coords[0]) + step * np.arange(count)
    if float(np.max(np.abs(coords - expected))) > RELATIVE_TOLERANCE * abs(step) + noise:
        return None
    return step


def _disagree(first: Affine, second: Affine, width: int, height: int) -> bool:
    """Whether two transforms put a corner of the raster more than half a pixel apart."""
    pixel = math.sqrt(abs(first.determinant))
    for corner in ((0, 0), (width, 0), (0, height), (width, height)):
        x1, y1 = first @ corner
        x2, y2 = second @ corner
        if math.hypot(x1 - x2, y1 - y2) > 0.5 * pixel:
            return True
    return False


def _area(transform: Affine) -> tuple[Affine, str]:
    return transform, "Area"


def _fail(message: str) -> tuple[Affine, str]:
    raise GeoreferencingError(message)


def _comparable(winner: tuple[str, Affine, str], label: str) -> bool:
    """Whether a losing source should agree with the winner: a parent group's keys are
    defaults the array may override, and a bbox (an envelope) cannot express a rotation."""
    if label.endswith("(parent group)") and not winner[0].endswith("(parent group)"):
        return False
    rotated = winner[1].b != 0 or winner[1].d != 0
    return not (rotated and label.startswith("spatial:bbox"))
