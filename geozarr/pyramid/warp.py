"""Warping a region (a tile, or a group of tiles) from a source grid with GDAL, reading
only the source pixels it needs.

Passing a whole source to ``rasterio.warp.reproject`` for every tile costs about 35 times
more than cropping it first (docs/performance.md); so each region's source window is found
by transforming a lattice over the region back to the source, padded by the kernel's reach,
and only that crop is warped. The crop is chosen from the region alone, so a region's pixels
never depend on how regions are batched for reading (a resumed build writes the same bytes
as a clean one).

Geographic sources may hold longitudes outside -180..180 (0..360 grids, grids crossing the
antimeridian): the region is looked for at its longitude and 360 degrees either side, and
each part found is warped in turn into it (GDAL recentres the longitudes of each crop).
"""

from __future__ import annotations

import functools
import math
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pyproj
from affine import Affine
from rasterio.crs import CRS
from rasterio.enums import Resampling
from rasterio.warp import reproject
from rasterio.windows import Window

from geozarr.pyramid.reduce import KERNEL_RADIUS, canonical_method

#: Destination pixels between the points of the lattice transformed back to the source
#: (9 points along a 256-pixel tile).
_LATTICE_STEP = 32
#: Extra source pixels around the window of a region that reaches past the source's edge.
EDGE_PAD = 32
#: A region whose source window is this many times finer than it is read reduced first.
DECIMATE_ABOVE = 4.0

_RASTERIO_NAMES = {"cubicspline": "cubic_spline"}


def resampling_enum(method: str) -> Resampling:
    """rasterio's :class:`Resampling` member for a GDAL method name."""
    name = canonical_method(method)
    return Resampling[_RASTERIO_NAMES.get(name, name)]


@dataclass(frozen=True)
class SourceGrid:
    """Where the source's pixels are: CRS, transform, size."""

    crs: CRS
    transform: Affine
    width: int
    height: int

    @property
    def wraps(self) -> bool:
        """Whether longitudes may need looking for 360 degrees away (geographic CRS)."""
        return bool(self.crs.is_geographic)


@dataclass(frozen=True)
class SourcePiece:
    """One integer window of the source that a region needs (a region across the
    antimeridian of a 0..360 source needs two), how much finer than the region it is, and
    whether the region reaches past the source's edge there (GDAL then sizes its kernels
    from the window cut to the source, so the region's extent decides its pixels)."""

    window: Window
    scale: float
    past_edge: bool = False


class _Transformers(threading.local):
    """pyproj transformers are not thread-safe: one per thread and CRS pair."""

    def __init__(self) -> None:
        self.cache: dict[tuple[str, str], pyproj.Transformer] = {}

    def get(self, source: CRS, target: CRS) -> pyproj.Transformer:
        key = (source.to_wkt(), target.to_wkt())
        found = self.cache.get(key)
        if found is None:
            found = pyproj.Transformer.from_crs(pyproj.CRS.from_user_input(source),
                                                pyproj.CRS.from_user_input(target),
                                                always_xy=True)
            self.cache[key] = found
        return found


_transformers = _Transformers()


def kernel_pad(method: str, scale: float) -> int:
    """Source pixels to add around a region's window so every pixel the kernel reaches is
    read: its radius in destination pixels times the source pixels per destination pixel,
    plus one."""
    radius = max(KERNEL_RADIUS.get(canonical_method(method), 0), 1)
    return math.ceil(radius * max(1.0, scale)) + 1


def source_pieces(grid: SourceGrid, dst_crs: CRS, bounds: tuple[float, float, float, float],
                  shape: tuple[int, int], method: str) -> list[SourcePiece]:
    """The source windows the region ``bounds`` (in ``dst_crs``) of ``shape`` pixels needs,
    padded for ``method`` and cut to the source; empty when the region misses the source."""
    left, bottom, right, top = bounds
    points = -(-max(shape) // _LATTICE_STEP) + 1
    steps = np.linspace(0.0, 1.0, points)
    xs = (left + (right - left) * steps)[np.newaxis, :].repeat(points, 0).ravel()
    ys = (top - (top - bottom) * steps)[:, np.newaxis].repeat(points, 1).ravel()
    if dst_crs == grid.crs:
        sx, sy = xs, ys
    else:
        with np.errstate(invalid="ignore", over="ignore"):
            sx, sy = _transformers.get(dst_crs, grid.crs).transform(xs, ys, errcheck=False)
        sx, sy = np.asarray(sx, dtype=np.float64), np.asarray(sy, dtype=np.float64)
    finite = np.isfinite(sx) & np.isfinite(sy)
    if not finite.any():
        return []
    sx, sy = sx[finite], sy[finite]
    inverse = ~grid.transform
    pieces = []
    for shift in ((-360.0, 0.0, 360.0) if grid.wraps else (0.0,)):
        cols, rows = inverse @ (sx + shift, sy)
        piece = _piece(grid, np.asarray(cols), np.asarray(rows), shape, method)
        if piece is not None:
            pieces.append(piece)
    return pieces


def _piece(grid: SourceGrid, cols: np.ndarray, rows: np.ndarray, shape: tuple[int, int],
           method: str) -> SourcePiece | None:
    col0, col1 = float(cols.min()), float(cols.max())
    row0, row1 = float(rows.min()), float(rows.max())
    if col1 <= 0 or row1 <= 0 or col0 >= grid.width or row0 >= grid.height:
        return None
    scale = max((col1 - col0) / shape[1], (row1 - row0) / shape[0])
    pad = kernel_pad(method, scale)
    past_edge = col0 < 0 or row0 < 0 or col1 > grid.width or row1 > grid.height
    if past_edge:
        # A region past the source's edge: GDAL sizes its kernels from the source window it
        # computes, clipped to the raster; a crop must not clip it further.
        pad += EDGE_PAD + math.ceil(0.1 * max(col1 - col0, row1 - row0))
    c0 = max(0, math.floor(col0) - pad)
    r0 = max(0, math.floor(row0) - pad)
    c1 = min(grid.width, math.ceil(col1) + pad)
    r1 = min(grid.height, math.ceil(row1) + pad)
    if c1 <= c0 or r1 <= r0:
        return None
    return SourcePiece(Window(c0, r0, c1 - c0, r1 - r0), scale, past_edge)


def decimation(piece: SourcePiece) -> int:
    """The factor by which a piece is reduced before warping: 1 unless the source is more
    than :data:`DECIMATE_ABOVE` times finer than the region, then down to about twice the
    region's resolution (gdal2tiles reads a 4x query window the same way)."""
    if piece.scale <= DECIMATE_ABOVE:
        return 1
    return max(2, math.floor(piece.scale / 2))


@functools.lru_cache(maxsize=64)
def _operation(source_wkt: str, target_wkt: str) -> str | None:
    source = pyproj.CRS.from_wkt(source_wkt)
    target = pyproj.CRS.from_wkt(target_wkt)
    for crs in (source, target):
        axes = [axis.direction.lower() for axis in crs.axis_info]
        if not crs.is_projected or axes != ["east", "north"]:
            return None
    if source.datum != target.datum:
        return None
    return pyproj.Transformer.from_crs(source, target, always_xy=True).to_proj4()


def coordinate_operation(source: CRS, target: CRS) -> str | None:
    """The PROJ pipeline from ``source`` to ``target`` when there is no choice to make,
    else None (GDAL then chooses, as it would by itself).

    Handed to GDAL's warper, it saves the search of PROJ's database for operations that
    GDAL otherwise runs on every call (a fifth to a third of warping a single tile:
    docs/performance.md). It is given only where that search has one answer and there is
    no axis order to reconcile: two projected CRSs with east, north axes on the same datum
    (UTM in WGS 84 to Web Mercator), whose operation is the inverse of one projection then
    the other, so the warp is unchanged.
    """
    if source == target:
        return None
    return _operation(source.to_wkt(), target.to_wkt())


def warp_region(crop: np.ndarray, crop_transform: Affine, src_crs: CRS, out: np.ndarray,
                dst_transform: Affine, dst_crs: CRS, method: str,
                nodata: float | int, *, first: bool) -> None:
    """Warp ``crop`` ``(bands, rows, cols)`` into ``out`` ``(bands, h, w)``.

    ``first`` starts from an all-nodata region; later pieces only fill pixels they cover.
    Each band's nodata is its own (GDAL's ``UNIFIED_SRC_NODATA=NO``).
    """
    operation = coordinate_operation(src_crs, dst_crs)
    options = {} if operation is None else {"COORDINATE_OPERATION": operation}
    reproject(np.ascontiguousarray(crop), out, src_transform=crop_transform, src_crs=src_crs,
              src_nodata=nodata, dst_transform=dst_transform, dst_crs=dst_crs,
              dst_nodata=nodata, resampling=resampling_enum(method), num_threads=1,
              init_dest_nodata=first, UNIFIED_SRC_NODATA="NO", **options)


def window_transform(transform: Affine, window: Window, factor: int = 1) -> Affine:
    """The transform of ``window`` of a grid, read reduced by ``factor``."""
    return (transform @ Affine.translation(window.col_off, window.row_off)
            @ Affine.scale(factor, factor))


def decimated_window(window: Window, factor: int, width: int, height: int) -> Window:
    """``window`` grown to whole ``factor`` x ``factor`` blocks of the grid (never past its
    edges: a partial block at the grid's edge stays partial, read padded with nodata)."""
    c0 = (int(window.col_off) // factor) * factor
    r0 = (int(window.row_off) // factor) * factor
    c1 = min(width, -(-(int(window.col_off) + int(window.width)) // factor) * factor)
    r1 = min(height, -(-(int(window.row_off) + int(window.height)) // factor) * factor)
    return Window(c0, r0, c1 - c0, r1 - r0)


def sub_windows(window: Window, side: int) -> Iterator[tuple[int, int, Window]]:
    """``window`` cut into windows of at most ``side`` x ``side``, with each one's (row,
    col) offset inside ``window``."""
    r0, c0 = int(window.row_off), int(window.col_off)
    r1, c1 = r0 + int(window.height), c0 + int(window.width)
    for row in range(r0, r1, side):
        for col in range(c0, c1, side):
            yield (row - r0, col - c0,
                   Window(col, row, min(side, c1 - col), min(side, r1 - row)))
