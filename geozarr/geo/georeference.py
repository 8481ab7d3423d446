"""Everything that georeferences one array, resolved at once."""

from __future__ import annotations

from dataclasses import dataclass

from geozarr.geo.cf import ValueEncoding, resolve_values
from geozarr.geo.context import ArrayContext
from geozarr.geo.crs import ResolvedCRS, resolve_crs
from geozarr.geo.dimensions import SpatialAxes, find_spatial_axes
from geozarr.geo.transform import ResolvedTransform, resolve_transform


@dataclass(frozen=True)
class Georeference:
    """The X/Y axes, CRS, transform and value encoding of an array."""

    axes: SpatialAxes
    crs: ResolvedCRS
    transform: ResolvedTransform
    values: ValueEncoding


def resolve_georeference(ctx: ArrayContext, *, x_dim: str | int | None = None,
                         y_dim: str | int | None = None) -> Georeference:
    """Resolve the axes (with the ``x_dim``/``y_dim`` overrides), then the CRS, the transform
    and the value encoding of ``ctx``'s array.

    Raises
    ------
    DimensionError
        From :func:`~geozarr.geo.dimensions.find_spatial_axes`: fewer than two dimensions, or
        an override naming no dimension.
    GeoreferencingError
        From :func:`~geozarr.geo.crs.resolve_crs` or
        :func:`~geozarr.geo.transform.resolve_transform`: georeferencing metadata that is
        present but unusable.
    """
    axes = find_spatial_axes(ctx, x_dim=x_dim, y_dim=y_dim)
    return Georeference(axes=axes, crs=resolve_crs(ctx, axes),
                        transform=resolve_transform(ctx, axes), values=resolve_values(ctx))
