"""Planning a pyramid: which TileMatrices, which tiles of each, what arrays -- before any
pixel is read.

:func:`plan_pyramid` reads only the source's georeferencing; :func:`plan_levels` is the pure
core (a TMS and a grid in, frozen values out). Per level the plan gives the TileMatrix id,
the tile limits, the shape and transform of the array holding exactly those tiles, how it
derives from the level below, and the most it can take uncompressed.

Where the data is, in the TMS's CRS, comes from sampling the source grid (its edges densely,
its inside on a coarse lattice): points that PROJ cannot transform (a pole in Web Mercator)
are dropped, the rest is cut to the TMS's extent (so data beyond +-85.0511 degrees lands in
the first and last rows of tiles), and longitudes of a geographic TMS are wrapped into its
extent (so 0..360 data and data crossing the antimeridian are placed right).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyproj
from affine import Affine
from morecantile.models import TileMatrixSet
from rasterio.crs import CRS
from rasterio.errors import CRSError as RasterioCRSError

from geozarr.errors import GeoreferencingError, MetadataError
from geozarr.pyramid.source import open_source
from geozarr.pyramid.tms import Bounds, MatrixGrid, TileLimits, resolve_tms, zoom_ids

#: Points per edge of the source grid, and per side of the lattice inside it, that are
#: transformed to find where the data lies in the TMS's CRS.
EDGE_SAMPLES = 129
INSIDE_SAMPLES = 33
#: Two cell sizes within this relative difference are one resolution.
_SAME = 1e-9


@dataclass(frozen=True)
class LevelPlan:
    """One level of a pyramid: a TileMatrix and the tiles of it that the data touches.

    Attributes
    ----------
    id
        The TileMatrix id, also the level's group name.
    grid
        The TileMatrix's geometry.
    limits
        The tiles held, in the TileMatrix's numbering.
    shape
        (height, width) in pixels of the level's array: whole tiles.
    transform
        The array's affine transform (north-up, top-left corner on a tile corner).
    derived_from
        The id of the finer level this one is reduced from; None for the finest.
    factor
        The integer ratio of cell sizes to ``derived_from`` when its pixel grid nests in
        this one's (a block reduction); None for the finest level and for levels whose grid
        does not nest (built by warping the level below).
    offset
        Where this array's top-left corner falls in ``derived_from``'s array, in its
        pixels (row, col); None unless ``factor`` is set.
    """

    id: str
    grid: MatrixGrid
    limits: TileLimits
    shape: tuple[int, int]
    transform: Affine
    derived_from: str | None
    factor: int | None
    offset: tuple[int, int] | None

    @property
    def zoom(self) -> int:
        return int(self.id)

    @property
    def cell_size(self) -> float:
        return self.grid.cell_size

    @property
    def tile_shape(self) -> tuple[int, int]:
        """(tileHeight, tileWidth)."""
        return (self.grid.tile_height, self.grid.tile_width)

    @property
    def tiles(self) -> int:
        """The number of tiles within the limits (those holding only nodata are not stored)."""
        return self.limits.count

    def nbytes(self, count: int, dtype: Any) -> int:
        """The uncompressed size of every tile within the limits, ``count`` bands of
        ``dtype``: the most the level can take."""
        return self.shape[0] * self.shape[1] * count * np.dtype(dtype).itemsize


@dataclass(frozen=True)
class PyramidPlan:
    """What :func:`~geozarr.pyramid.build.build_pyramid` will write, level by level.

    ``levels`` runs finest first; ``estimated_bytes`` is the uncompressed size of every
    tile within the limits (tiles holding only nodata are not stored, and chunks are
    compressed, so the output is usually much smaller).
    """

    tms: TileMatrixSet
    crs: CRS
    levels: tuple[LevelPlan, ...]
    count: int
    dtype: np.dtype
    nodata: float | int | None
    source_shape: tuple[int, int]
    source_transform: Affine
    source_crs: CRS
    source_resolution: float

    @property
    def ids(self) -> tuple[str, ...]:
        """TileMatrix ids, finest first."""
        return tuple(level.id for level in self.levels)

    @property
    def minzoom(self) -> int:
        return self.levels[-1].zoom

    @property
    def maxzoom(self) -> int:
        return self.levels[0].zoom

    def level(self, id: str | int) -> LevelPlan:
        """The level of TileMatrix ``id``.

        Raises
        ------
        MetadataError
            The plan has no such level.
        """
        for level in self.levels:
            if level.id == str(id):
                return level
        raise MetadataError(f"the pyramid has no level {id!r} (it has {', '.join(self.ids)})")

    @property
    def estimated_bytes(self) -> int:
        return sum(level.nbytes(self.count, self.dtype) for level in self.levels)

    @property
    def tiles(self) -> int:
        """Tiles within the limits of every level."""
        return sum(level.tiles for level in self.levels)


def plan_pyramid(source: Any, tms: str | TileMatrixSet | Mapping[str, Any] = "WebMercatorQuad",
                 minzoom: int | None = None, maxzoom: int | None = None) -> PyramidPlan:
    """Plan the pyramid of ``source`` in ``tms``; no pixel is read.

    Parameters
    ----------
    source
        A path or URL rasterio opens, a Zarr path, ``ZARR:"..."`` string or store, or a
        :class:`~geozarr.raster.reader.RasterReader`.
    tms
        A TileMatrixSet id known to morecantile, a :class:`morecantile.TileMatrixSet`, or
        an OGC TMS 2.0 JSON object.
    minzoom, maxzoom
        TileMatrix ids of the coarsest and finest levels. ``maxzoom`` defaults to the zoom
        whose cell size is closest to the source's resolution in the TMS's CRS
        (morecantile's ``zoom_for_res``, GDAL's rule); ``minzoom`` to the finest zoom at
        which the data fits in a single tile (the TMS's first zoom when it never does).

    Raises
    ------
    MetadataError
        An unknown TMS, or zooms outside the TMS or in the wrong order.
    GeoreferencingError
        The source has no CRS, or lies outside the TMS.
    StoreError
        The source cannot be opened.
    """
    with open_source(source) as reader:
        info = reader.info
    return plan_levels(tms, crs=info.crs, transform=info.transform, width=info.width,
                       height=info.height, count=info.count, dtype=info.dtype,
                       nodata=info.nodata, minzoom=minzoom, maxzoom=maxzoom)


def plan_levels(tms: str | TileMatrixSet | Mapping[str, Any], *, crs: Any,
                transform: Affine, width: int, height: int, count: int = 1,
                dtype: Any = "float32", nodata: float | int | None = None,
                minzoom: int | None = None, maxzoom: int | None = None) -> PyramidPlan:
    """The pure core of :func:`plan_pyramid`: the same plan from a grid description.

    Parameters
    ----------
    crs, transform, width, height
        The source grid: CRS (anything rasterio's ``CRS.from_user_input`` takes), affine
        transform and size in pixels.
    count, dtype, nodata
        Bands, data type and nodata of the data (for the size estimate and the record).
    """
    matrices = resolve_tms(tms)
    try:
        source_crs = CRS.from_user_input(crs)
    except RasterioCRSError as error:
        raise GeoreferencingError(f"crs {crs!r} is not a CRS PROJ can parse: {error}") from None
    tms_crs = matrices.rasterio_crs
    ids = zoom_ids(matrices)
    for label, value in (("minzoom", minzoom), ("maxzoom", maxzoom)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                                  or value not in ids):
            raise MetadataError(f"{label} {value!r} is not a TileMatrix of {matrices.id!r} "
                                f"(its ids are {ids[0]}..{ids[-1]})")
    footprint = data_footprint(matrices, source_crs, transform, width, height)
    resolution = source_resolution(source_crs, tms_crs, transform, width, height)
    if maxzoom is None:
        top = ids[-1] if minzoom is None else max(ids[-1], minzoom)
        maxzoom = matrices.zoom_for_res(resolution, max_z=top, min_z=ids[0])
        if minzoom is not None:
            maxzoom = max(maxzoom, minzoom)
    if minzoom is None:
        minzoom = _single_tile_zoom(matrices, footprint, ids, maxzoom)
    if minzoom > maxzoom:
        raise MetadataError(f"minzoom {minzoom} is above maxzoom {maxzoom}")
    zooms = [z for z in ids if minzoom <= z <= maxzoom]
    levels = _levels(matrices, footprint, zooms)
    return PyramidPlan(tms=matrices, crs=tms_crs, levels=tuple(levels), count=int(count),
                       dtype=np.dtype(dtype), nodata=nodata,
                       source_shape=(int(height), int(width)), source_transform=transform,
                       source_crs=source_crs, source_resolution=resolution)


def _levels(tms: TileMatrixSet, footprint: Bounds, zooms: list[int]) -> list[LevelPlan]:
    """The levels, finest first; each coarser level also covers every pixel of the level
    below (so the cascade never loses data to a rounding of the footprint)."""
    levels: list[LevelPlan] = []
    for zoom in sorted(zooms, reverse=True):
        grid = MatrixGrid.of(tms, zoom)
        limits = grid.limits_of(footprint)
        if limits is None:
            raise GeoreferencingError(f"the data does not overlap TileMatrix {zoom} of "
                                      f"{tms.id!r}")
        finer = levels[-1] if levels else None
        if finer is not None:
            covering = grid.limits_of(_inner_extent(finer))
            if covering is not None:
                limits = limits.union(covering)
        transform = grid.transform(limits)
        factor, offset = (None, None) if finer is None else _nesting(finer, transform)
        levels.append(LevelPlan(id=grid.id, grid=grid, limits=limits,
                                shape=grid.shape(limits), transform=transform,
                                derived_from=None if finer is None else finer.id,
                                factor=factor, offset=offset))
    return levels


def _inner_extent(level: LevelPlan) -> Bounds:
    """The extent of a level's pixel centres: what a coarser level must cover."""
    height, width = level.shape
    half = level.cell_size / 2
    left, top = level.transform.c, level.transform.f
    return (left + half, top - height * level.cell_size + half,
            left + width * level.cell_size - half, top - half)


def _nesting(finer: LevelPlan, transform: Affine) -> tuple[int | None, tuple[int, int] | None]:
    """(factor, (row, col) offset) when the finer level's pixels tile this level's pixels
    exactly, else (None, None)."""
    ratio = transform.a / finer.transform.a
    factor = round(ratio)
    if factor < 1 or abs(ratio - factor) > _SAME * factor:
        return None, None
    col = (transform.c - finer.transform.c) / finer.transform.a
    row = (transform.f - finer.transform.f) / finer.transform.e
    if abs(col - round(col)) > 1e-6 or abs(row - round(row)) > 1e-6:
        return None, None
    return factor, (round(row), round(col))


def _single_tile_zoom(tms: TileMatrixSet, footprint: Bounds, ids: list[int],
                      maxzoom: int) -> int:
    """The finest zoom up to ``maxzoom`` at which the footprint is one tile."""
    for zoom in sorted((z for z in ids if z <= maxzoom), reverse=True):
        limits = MatrixGrid.of(tms, zoom).limits_of(footprint)
        if limits is not None and limits.count == 1:
            return zoom
    return ids[0]


def transform_points(source: CRS, target: CRS, xs: np.ndarray, ys: np.ndarray
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Points from ``source`` to ``target`` (x/easting first), inf where PROJ cannot
    transform a point (outside a projection's domain)."""
    xs = np.asarray(xs, dtype=np.float64)
    ys = np.asarray(ys, dtype=np.float64)
    if source == target:
        return xs, ys
    transformer = pyproj.Transformer.from_crs(pyproj.CRS.from_user_input(source),
                                              pyproj.CRS.from_user_input(target),
                                              always_xy=True)
    with np.errstate(invalid="ignore", over="ignore"):
        out_x, out_y = transformer.transform(xs, ys, errcheck=False)
    return np.asarray(out_x, dtype=np.float64), np.asarray(out_y, dtype=np.float64)


def _sample_grid(width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
    """Pixel-corner positions (cols, rows): the four edges densely, a lattice inside."""
    edge_c = np.linspace(0, width, EDGE_SAMPLES)
    edge_r = np.linspace(0, height, EDGE_SAMPLES)
    inner_c, inner_r = np.meshgrid(np.linspace(0, width, INSIDE_SAMPLES),
                                   np.linspace(0, height, INSIDE_SAMPLES))
    cols = np.concatenate([edge_c, edge_c, np.zeros(EDGE_SAMPLES), np.full(EDGE_SAMPLES, width),
                           inner_c.ravel()])
    rows = np.concatenate([np.zeros(EDGE_SAMPLES), np.full(EDGE_SAMPLES, height), edge_r,
                           edge_r, inner_r.ravel()])
    return cols, rows


def to_tms_points(tms: TileMatrixSet, crs: CRS, xs: np.ndarray, ys: np.ndarray
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Points of ``crs`` in the TMS's CRS, non-finite results dropped, longitudes of a
    geographic TMS wrapped into its extent."""
    tms_crs = tms.rasterio_crs
    out_x, out_y = transform_points(crs, tms_crs, xs, ys)
    finite = np.isfinite(out_x) & np.isfinite(out_y)
    out_x, out_y = out_x[finite], out_y[finite]
    if tms_crs.is_geographic:
        left = tms.xy_bbox.left
        outside = (out_x < left) | (out_x > left + 360.0)
        out_x = np.where(outside, left + np.mod(out_x - left, 360.0), out_x)
    return out_x, out_y


def data_footprint(tms: TileMatrixSet, crs: CRS, transform: Affine, width: int,
                   height: int) -> Bounds:
    """(xmin, ymin, xmax, ymax) of the source grid in the TMS's CRS, cut to the TMS.

    Raises
    ------
    GeoreferencingError
        No point of the source lands inside the TMS.
    """
    cols, rows = _sample_grid(width, height)
    xs = transform.c + cols * transform.a + rows * transform.b
    ys = transform.f + cols * transform.d + rows * transform.e
    tx, ty = to_tms_points(tms, crs, xs, ys)
    left, bottom, right, top = tms.xy_bbox
    if tx.size == 0:
        raise GeoreferencingError(f"no part of the source can be placed in the CRS of "
                                  f"{tms.id!r}")
    box = (max(float(tx.min()), left), max(float(ty.min()), bottom),
           min(float(tx.max()), right), min(float(ty.max()), top))
    if box[0] > box[2] or box[1] > box[3]:
        raise GeoreferencingError(f"the source (in {tms.id!r}'s CRS: x {tx.min():.6g}.."
                                  f"{tx.max():.6g}, y {ty.min():.6g}..{ty.max():.6g}) lies "
                                  f"outside the TileMatrixSet's extent {tuple(tms.xy_bbox)}")
    return box


def source_resolution(crs: CRS, tms_crs: CRS, transform: Affine, width: int,
                      height: int) -> float:
    """The source's pixel size in the TMS's CRS, measured at the centre of the source grid:
    the larger of the distances to the next pixel along a row and along a column (for each,
    the shorter of the steps forwards and backwards, so a step across the antimeridian
    does not count)."""
    if crs == tms_crs:
        return max(math.hypot(transform.a, transform.d), math.hypot(transform.b, transform.e))
    col, row = width / 2, height / 2
    steps = ((0, 0), (1, 0), (-1, 0), (0, 1), (0, -1))
    points = [transform @ (col + dc, row + dr) for dc, dr in steps]
    px, py = transform_points(crs, tms_crs, np.array([p[0] for p in points]),
                              np.array([p[1] for p in points]))
    distance = [math.hypot(px[i] - px[0], py[i] - py[0]) for i in range(1, 5)]
    along_row = min(d for d in distance[0:2] if math.isfinite(d)) \
        if any(math.isfinite(d) for d in distance[0:2]) else math.nan
    along_col = min(d for d in distance[2:4] if math.isfinite(d)) \
        if any(math.isfinite(d) for d in distance[2:4]) else math.nan
    resolution = max(along_row, along_col)
    if not (math.isfinite(resolution) and resolution > 0):
        raise GeoreferencingError(f"cannot tell the source's resolution in {tms_crs}: its "
                                  f"centre does not transform")
    return resolution
