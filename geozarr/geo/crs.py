"""The coordinate reference system of an array, from every place producers put one.

Sources, first hit wins (GDAL's order, so that ``gdalinfo`` and geozarr agree):

1. GDAL's ``_CRS`` on the array: ``url`` > ``wkt`` > ``projjson`` (a bare string is tolerated);
2. CF: the variable the array's ``grid_mapping`` names: ``crs_wkt`` > ``spatial_ref`` > the CF
   grid-mapping parameters (``pyproj.CRS.from_cf``);
3. the ``proj`` convention on the array, then on its parent group: ``proj:wkt2`` >
   ``proj:projjson`` > ``proj:code`` (the convention says WKT2 wins a discrepancy);
4. legacy keys: STAC's ``proj:epsg`` on the array, then its parent group, then EOPF's
   ``stac_discovery.properties`` (``proj:epsg``/``proj:code``) on the root;
5. no CRS anywhere but latitude/longitude coordinates: WGS 84 (EPSG:4326).

A source that is present but unusable raises :class:`GeoreferencingError` when it would win,
and only warns when a source before it already won. Every other source present is compared
with the winner (ignoring axis order); a disagreement is a :class:`GeoreferencingWarning`
naming both and the winner. Inside one source (the members of ``_CRS``, the ``proj:`` keys
of one node) a broken member is skipped with a warning when a later member works.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

import pyproj
from pyproj.exceptions import CRSError as PyprojCRSError
from rasterio.crs import CRS
from rasterio.errors import CRSError

from geozarr.errors import GeoreferencingError, GeoreferencingWarning, MetadataWarning
from geozarr.geo.cf import grid_mapping
from geozarr.geo.context import ArrayContext
from geozarr.geo.conventions import PROJ_UUID, convention_keys, warn_undeclared
from geozarr.geo.dimensions import SpatialAxes, is_latitude, is_longitude

WGS84_SOURCE = "lat/lon coordinates (WGS 84 assumed)"


@dataclass(frozen=True)
class ResolvedCRS:
    """The CRS of an array and where it came from.

    Attributes
    ----------
    crs
        A :class:`rasterio.crs.CRS`, or None when no source gives one.
    source
        Where it was found: ``"_CRS.url"``, ``"_CRS.wkt"``, ``"_CRS.projjson"``,
        ``"_CRS (string)"``, ``"grid_mapping 'spatial_ref'"``, ``"proj:wkt2"``,
        ``"proj:code (parent group)"``, ``"proj:epsg"``,
        ``"stac_discovery proj:epsg (root group)"``, ``"lat/lon coordinates (WGS 84
        assumed)"``; None when ``crs`` is None.
    """

    crs: CRS | None
    source: str | None


@dataclass(frozen=True)
class _Member:
    """One representation inside a source: its label, and how to build it."""

    label: str
    build: Callable[[], CRS]


@dataclass(frozen=True)
class _Source:
    """One place a CRS can come from, with its representations in order of preference."""

    members: tuple[_Member, ...]
    on_use: Callable[[], None] = lambda: None


def resolve_crs(ctx: ArrayContext, axes: SpatialAxes) -> ResolvedCRS:
    """The CRS of ``ctx``'s array (see the module documentation for the order).

    Raises
    ------
    GeoreferencingError
        The winning source is unusable: a malformed ``_CRS``, an unknown EPSG code, a
        ``grid_mapping`` naming a variable that does not exist or holding no CRS, a
        ``proj:`` key that is not a CRS. The message names the attribute and ``ctx.path``.
    """
    winner: tuple[str, CRS] | None = None
    for source in _sources(ctx, axes):
        try:
            found = _evaluate(ctx, source)
        except GeoreferencingError as error:
            if winner is None:
                raise
            warnings.warn(f"{error}; ignored, {winner[0]} gives the CRS",
                          GeoreferencingWarning, stacklevel=2)
            continue
        if winner is None:
            source.on_use()
            winner = found
        elif not _is_override(winner[0], found[0]) and not same_crs(winner[1], found[1]):
            warnings.warn(
                f"{ctx.path}: {found[0]} ({_describe(found[1])}) disagrees with {winner[0]} "
                f"({_describe(winner[1])}); using {winner[0]}", GeoreferencingWarning,
                stacklevel=2)
    if winner is not None:
        return ResolvedCRS(crs=winner[1], source=winner[0])
    if is_longitude(ctx, axes.x_dim) and is_latitude(ctx, axes.y_dim):
        return ResolvedCRS(crs=CRS.from_epsg(4326), source=WGS84_SOURCE)
    return ResolvedCRS(crs=None, source=None)


def _is_override(winner: str, other: str) -> bool:
    """Whether ``winner`` (the array's own convention keys) overrides ``other`` (its parent
    group's): the proj convention allows that, so it is no disagreement."""
    return (other.endswith("(parent group)") and not winner.endswith("(parent group)")
            and winner.split(":", 1)[0] == other.split(":", 1)[0])


def same_crs(first: CRS, second: CRS) -> bool:
    """Whether two CRS are the same for georeferencing a raster: equal as rasterio compares
    them, or equal to PROJ once axis order is ignored (EPSG:4326 and OGC:CRS84)."""
    if first == second:
        return True
    try:
        return bool(pyproj.CRS.from_wkt(first.to_wkt()).equals(
            pyproj.CRS.from_wkt(second.to_wkt()), ignore_axis_order=True))
    except PyprojCRSError:
        return False


def crs_from_user_input(value: Any, *, key: str, path: str) -> CRS:
    """A rasterio CRS from a URL, ``AUTHORITY:CODE``, WKT or PROJJSON (text or object).

    Raises
    ------
    GeoreferencingError
        The value is empty, not text or an object, or not a CRS PROJ knows (an unknown EPSG
        code...); the message names ``key`` and ``path``.
    """
    if isinstance(value, Mapping):
        value = json.dumps(value)
    if not isinstance(value, str) or not value.strip():
        raise GeoreferencingError(f"{path}: {key} {_short(value)} is not a CRS definition")
    try:
        return CRS.from_user_input(value.strip())
    except CRSError as error:
        raise GeoreferencingError(
            f"{path}: {key} {_short(value)} is not a usable CRS: {error}") from None


def _sources(ctx: ArrayContext, axes: SpatialAxes) -> list[_Source]:
    sources = []
    if "_CRS" in ctx.attrs:
        sources.append(_gdal_crs(ctx))
    cf_source = _grid_mapping_source(ctx, axes)
    if cf_source is not None:
        sources.append(cf_source)
    nodes = (ctx.attrs, ctx.parent_attrs, ctx.root_attrs)
    for attrs, where in ((ctx.attrs, ""), (ctx.parent_attrs, " (parent group)")):
        proj = convention_keys(attrs, "proj")
        keys = [key for key in ("proj:wkt2", "proj:projjson", "proj:code") if key in proj]
        if keys:
            members = tuple(_Member(label, _builder(proj[key], label, ctx.path))
                            for key in keys for label in (f"{key}{where}",))
            sources.append(_Source(members, partial(warn_undeclared, PROJ_UUID, keys[0], *nodes,
                                                    path=ctx.path)))
    for attrs, where in ((ctx.attrs, ""), (ctx.parent_attrs, " (parent group)")):
        epsg = convention_keys(attrs, "proj").get("proj:epsg")
        if epsg is not None:
            label = f"proj:epsg{where}"
            sources.append(_Source((_Member(label, _epsg_builder(epsg, label, ctx.path)),)))
    stac = ctx.root_attrs.get("stac_discovery")
    properties = stac.get("properties") if isinstance(stac, Mapping) else None
    if isinstance(properties, Mapping):
        members = []
        for key in ("proj:code", "proj:epsg"):
            if properties.get(key) is not None:
                label = f"stac_discovery {key} (root group)"
                members.append(_Member(label, _epsg_builder(properties[key], label, ctx.path)))
        if members:
            sources.append(_Source(tuple(members)))
    return sources


def _evaluate(ctx: ArrayContext, source: _Source) -> tuple[str, CRS]:
    """(label, CRS) of the first member of ``source`` that works; the others are checked
    against it. Raises the first member's error when none works."""
    built: list[tuple[str, CRS]] = []
    errors: list[GeoreferencingError] = []
    for member in source.members:
        try:
            built.append((member.label, member.build()))
        except GeoreferencingError as error:
            errors.append(error)
    if not built:
        raise errors[0]
    for error in errors:
        warnings.warn(f"{error}; ignored, {built[0][0]} gives the CRS", GeoreferencingWarning,
                      stacklevel=3)
    for label, crs in built[1:]:
        if not same_crs(built[0][1], crs):
            warnings.warn(
                f"{ctx.path}: {label} ({_describe(crs)}) disagrees with {built[0][0]} "
                f"({_describe(built[0][1])}); using {built[0][0]}", GeoreferencingWarning,
                stacklevel=3)
    return built[0]


def _gdal_crs(ctx: ArrayContext) -> _Source:
    """GDAL's ``_CRS``: an object with ``url``, ``wkt`` and/or ``projjson``."""
    raw = ctx.attrs["_CRS"]
    if isinstance(raw, str):
        def bare() -> CRS:
            crs = crs_from_user_input(raw, key="_CRS", path=ctx.path)
            warnings.warn(f"{ctx.path}: _CRS is a bare string, not GDAL's object with url, wkt "
                          f"or projjson; read as a CRS definition", MetadataWarning,
                          stacklevel=5)
            return crs
        return _Source((_Member("_CRS (string)", bare),))
    if not isinstance(raw, Mapping):
        return _Source((_Member("_CRS", _failing(
            f"{ctx.path}: _CRS {_short(raw)} is neither GDAL's object (url, wkt, projjson) "
            f"nor a CRS string")),))
    members = tuple(_Member(f"_CRS.{key}", _builder(raw[key], f"_CRS.{key}", ctx.path))
                    for key in ("url", "wkt", "projjson") if raw.get(key) is not None)
    if not members:
        members = (_Member("_CRS", _failing(
            f"{ctx.path}: _CRS has none of the members url, wkt, projjson: {_short(raw)}")),)
    return _Source(members)


def _grid_mapping_source(ctx: ArrayContext, axes: SpatialAxes) -> _Source | None:
    """The CF grid-mapping variable: ``crs_wkt`` > ``spatial_ref`` > CF parameters (None
    without a ``grid_mapping`` attribute)."""
    try:
        found = grid_mapping(ctx, (axes.x_dim, axes.y_dim))
    except GeoreferencingError as error:
        return _Source((_Member("grid_mapping", _failing(str(error))),))
    if found is None:
        return None
    name, attrs = found
    label = f"grid_mapping {name!r}"

    def build() -> CRS:
        for key in ("crs_wkt", "spatial_ref"):
            if isinstance(attrs.get(key), str) and attrs[key].strip():
                return crs_from_user_input(attrs[key], key=f"{label} {key}", path=ctx.path)
        try:
            crs = pyproj.CRS.from_cf(dict(attrs))
        except (PyprojCRSError, KeyError, TypeError, ValueError) as error:
            raise GeoreferencingError(
                f"{ctx.path}: {label} has no crs_wkt, no spatial_ref and no usable CF "
                f"grid-mapping parameters ({error})") from None
        return crs_from_user_input(crs.to_wkt(), key=label, path=ctx.path)

    return _Source((_Member(label, build),))


def _builder(value: Any, key: str, path: str) -> Callable[[], CRS]:
    return partial(crs_from_user_input, value, key=key, path=path)


def _epsg_builder(value: Any, key: str, path: str) -> Callable[[], CRS]:
    """An EPSG code given as a number, ``"4326"`` or ``"EPSG:4326"``."""
    def build() -> CRS:
        code = value
        if isinstance(code, str) and code.strip().isdigit():
            code = int(code)
        if isinstance(code, int) and not isinstance(code, bool):
            code = f"EPSG:{code}"
        return crs_from_user_input(code, key=key, path=path)
    return build


def _failing(message: str) -> Callable[[], CRS]:
    def build() -> CRS:
        raise GeoreferencingError(message)
    return build


def _describe(crs: CRS) -> str:
    epsg = crs.to_epsg(confidence_threshold=70)
    return f"EPSG:{epsg}" if epsg is not None else _short(crs.to_string(), 60)


def _short(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
