"""Making one block of tiles of a pyramid level: the unit of work of a build.

A block is a rectangle of a level's tiles (array tile rows r0..r1, columns c0..c1, end
exclusive). :func:`run_block` makes and stores one from its level's :class:`LevelWork`:
the finest level (and a level that does not nest in the one below) is warped a group of
tiles (a column) at a time with :func:`rasterio.warp.reproject` from only the pixels it needs
(:mod:`geozarr.pyramid.warp`); a level that nests is a nodata-aware block reduction of the
level below (:mod:`geozarr.pyramid.reduce`). A block holding only nodata stores nothing.
The local thread pool of :mod:`geozarr.pyramid.build` and dask workers
(:mod:`geozarr.distributed`) make blocks the same way.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from affine import Affine
from rasterio.crs import CRS
from rasterio.windows import Window

from geozarr.core.array import Array
from geozarr.errors import UsageError
from geozarr.pyramid.metadata import DataDescription
from geozarr.pyramid.plan import LevelPlan
from geozarr.pyramid.reduce import KERNEL_RADIUS, context_pad, reduce_block, valid_mask
from geozarr.pyramid.source import open_source
from geozarr.pyramid.staging import Block
from geozarr.pyramid.warp import SourceGrid, SourcePiece, decimated_window, decimation, \
    source_pieces, sub_windows, warp_region, window_transform

#: Reads a window of pixels, ``(count, rows, cols)``.
Reader = Callable[[Window], np.ndarray]


@dataclass(frozen=True)
class LevelWork:
    """Everything a block of one level needs, and nothing that cannot travel.

    The local thread pool and dask workers both make a block with :func:`run_block` from
    this value; it pickles as plans, parameters and the staging store's location, so a
    worker process reopens the store (and the source) itself.

    Attributes
    ----------
    level
        The level being built.
    data
        What every level's data array shares (type, nodata, bands).
    target
        The level's data array in the staging store.
    crs
        The TileMatrixSet's CRS.
    method
        The warp kernel, or the reduction method of a level reduced from the one below.
    task_budget
        Bytes one block may hold.
    pixel_bytes
        Bytes of one pixel of what the block reads (over all bands).
    grid
        Warped levels: the grid warped from (the source's, or the level below's); None for
        a level reduced from the one below.
    finer
        Levels made from the level below: that level's data array; None for the finest.
    group
        Warped levels: tiles in one warp (:func:`warp_groups`).
    source
        The finest level: the source as given to
        :func:`~geozarr.pyramid.build.build_pyramid`, which a worker opens again when it is
        not handed a reader.
    """

    level: LevelPlan
    data: DataDescription
    target: Array
    crs: CRS
    method: str
    task_budget: int
    pixel_bytes: int
    grid: SourceGrid | None
    finer: Array | None
    group: int = 1
    source: Any = None


def run_block(work: LevelWork, block: Block, read: Reader | None = None) -> None:
    """Make and store one block of tiles of ``work``'s level (nothing when it holds only
    nodata).

    ``read`` reads the source for the finest level (a reader shared by the local threads);
    without it the source is opened for this block (a dask worker). Other levels read the
    level below from the staging store.

    Raises
    ------
    UsageError
        ``work`` names neither a grid to warp from nor a level below to reduce.
    """
    grid, finer = work.grid, work.finer
    if grid is None:
        if finer is None:
            raise UsageError(f"level {work.level.id}: the work names neither a grid to warp "
                             f"from nor a level below to reduce")
        _reduce(work, finer, block)
    elif finer is not None:
        _warp(work, grid, block, _level_reader(finer, work.data))
    elif read is not None:
        _warp(work, grid, block, read)
    else:
        with open_source(work.source) as reader:
            _warp(work, grid, block, reader.read)


# -- what a reduced block reads ---------------------------------------------------------------
def tiles_read(level: LevelPlan, finer: LevelPlan, block: Block, method: str
               ) -> set[tuple[int, int]]:
    """The tiles (chunks) of the level below (``finer``) that reducing ``block`` of
    ``level`` with ``method`` reads, with the context the method needs."""
    pad = context_pad(method, level.factor or 1)
    row0, col0, rows, cols = _reduced_region(level, pad, block)
    fine_h, fine_w = finer.tile_shape
    return {(r, c) for r in range(max(0, row0) // fine_h, max(0, row0 + rows - 1) // fine_h + 1)
            for c in range(max(0, col0) // fine_w, max(0, col0 + cols - 1) // fine_w + 1)}


def _reduced_region(level: LevelPlan, pad: int, block: Block) -> tuple[int, int, int, int]:
    """(row, column, rows, columns) of the level below that a reduced block covers, with
    ``pad`` pixels of context on every side."""
    factor = level.factor or 1
    off_row, off_col = level.offset or (0, 0)
    height, width = level.tile_shape
    r0, c0, r1, c1 = block
    return (off_row + r0 * height * factor - pad, off_col + c0 * width * factor - pad,
            (r1 - r0) * height * factor + 2 * pad, (c1 - c0) * width * factor + 2 * pad)


# -- making one block -------------------------------------------------------------------------
def _write(work: LevelWork, block: Block, values: np.ndarray) -> None:
    """Store a block (nothing when it holds only nodata: no tile of it is stored)."""
    if not valid_mask(values, work.data.nodata).any():
        return
    height, width = work.level.tile_shape
    r0, c0, r1, c1 = block
    rows = slice(r0 * height, r1 * height)
    cols = slice(c0 * width, c1 * width)
    if work.data.count > 1:
        work.target.write((slice(None), rows, cols), values)
    else:
        work.target.write((rows, cols), values[0])


def _level_reader(array: Array, data: DataDescription) -> Reader:
    def read(window: Window) -> np.ndarray:
        return _read_padded(array, data.count, int(window.row_off), int(window.col_off),
                            int(window.height), int(window.width), data.nodata)
    return read


def _reduced_read(work: LevelWork, grid: SourceGrid, read: Reader, piece: SourcePiece,
                  factor: int) -> tuple[np.ndarray, Affine]:
    """A source piece much finer than its tile, read in parts of at most a quarter of a
    block's budget and reduced by ``factor`` (with the level's method when it is a window
    method, else average): memory holds one part and the reduced piece, whatever the
    source's size."""
    count, dtype, nodata = work.data.count, work.data.dtype, work.data.nodata
    window = decimated_window(piece.window, factor, grid.width, grid.height)
    reducer = work.method if work.method not in KERNEL_RADIUS else "average"
    side = max(factor, math.isqrt(max(1, work.task_budget // 4 // work.pixel_bytes))
               // factor * factor)
    out = np.full((count, -(-int(window.height) // factor),
                   -(-int(window.width) // factor)), nodata, dtype=dtype)
    for row, col, part in sub_windows(window, side):
        values = read(part)
        _, height, width = values.shape
        whole = (-(-height // factor) * factor, -(-width // factor) * factor)
        if whole != (height, width):  # a partial block at the grid's edge
            padded = np.full((count, *whole), nodata, dtype=values.dtype)
            padded[:, :height, :width] = values
            values = padded
        reduced = reduce_block(values.astype(dtype, copy=False), factor, reducer, nodata)
        r, c = row // factor, col // factor
        out[:, r:r + reduced.shape[1], c:c + reduced.shape[2]] = reduced
    return out, window_transform(grid.transform, window, factor)


def warp_groups(level: LevelPlan, block: Block, group: int) -> list[Block]:
    """The warp groups that cover ``block``: columns of ``group`` tiles (one tile wide),
    aligned to the level's first row and cut at its last. A group is warped whole,
    whichever block asks for it, so its pixels never depend on how blocks are cut.

    A group is one tile wide because GDAL's warper gives each pixel of a tile the value it
    gives it when warping that tile alone only if the region warped is as wide as the tile
    (its rows are processed alike, whatever their number): a column of tiles costs about
    half as much per tile as tiles one by one, and its tiles are the per-tile warps that
    rio-tiler makes. (Not where the region reaches past the source's edge: there the
    extent warped decides the pixels, so such tiles are warped one by one.)"""
    rows = level.limits.rows
    r0, c0, r1, c1 = block
    return [(gr, col, min(rows, gr + group), col + 1)
            for gr in range(r0 // group * group, r1, group) for col in range(c0, c1)]


def _regions(work: LevelWork, grid: SourceGrid, group: Block
             ) -> list[tuple[Block, Affine, tuple[int, int], list[SourcePiece]]]:
    """What warping ``group`` takes: (tiles, destination transform, shape, source pieces)
    of the group as one region; a group reaching past the source's edge is halved until
    each part is inside the source or a single tile. Nothing for what misses the source."""
    level = work.level
    height, width = level.tile_shape
    gr0, gc0, gr1, gc1 = group
    corners = [level.grid.tile_bounds(*level.grid.matrix_tile(level.limits, row, col))
               for row, col in ((gr0, gc0), (gr1 - 1, gc1 - 1))]
    left, bottom = min(b[0] for b in corners), min(b[1] for b in corners)
    right, top = max(b[2] for b in corners), max(b[3] for b in corners)
    shape = ((gr1 - gr0) * height, (gc1 - gc0) * width)
    pieces = source_pieces(grid, work.crs, (left, bottom, right, top), shape, work.method)
    if not pieces:
        return []
    if gr1 - gr0 > 1 and any(piece.past_edge for piece in pieces):
        middle = gr0 + (gr1 - gr0 + 1) // 2
        return _regions(work, grid, (gr0, gc0, middle, gc1)) \
            + _regions(work, grid, (middle, gc0, gr1, gc1))
    transform = Affine(level.cell_size, 0.0, left, 0.0, -level.cell_size, top)
    return [(group, transform, shape, pieces)]


def _warp(work: LevelWork, grid: SourceGrid, block: Block, read: Reader) -> None:
    """The finest level, and levels that do not nest: one warp per group of tiles
    (:func:`warp_groups`) from ``grid``."""
    level, method = work.level, work.method
    count, dtype, nodata = work.data.count, work.data.dtype, work.data.nodata
    height, width = level.tile_shape
    r0, c0, r1, c1 = block
    regions = [region for group in warp_groups(level, block, work.group)
               for region in _regions(work, grid, group)
               if region[0][0] < r1 and region[0][2] > r0]  # not a lone tile off the block
    if not regions:
        return
    crops = _Crops(grid, read, [p for *_, pieces in regions for p in pieces
                                if decimation(p) == 1])
    out = np.full((count, (r1 - r0) * height, (c1 - c0) * width), nodata, dtype=dtype)
    for (gr0, gc0, gr1, gc1), dst_transform, shape, pieces in regions:
        region = np.empty((count, *shape), dtype=dtype)
        for index, piece in enumerate(pieces):
            factor = decimation(piece)
            if factor == 1:
                crop, crop_transform = crops.get(piece)
            else:
                crop, crop_transform = _reduced_read(work, grid, read, piece, factor)
            warp_region(crop, crop_transform, grid.crs, region, dst_transform, work.crs,
                        method, nodata, first=index == 0)
        # the part of the group inside the block, in pixels of the group and of the block
        top, left = max(gr0, r0), max(gc0, c0)
        bottom, right = min(gr1, r1), min(gc1, c1)
        out[:, (top - r0) * height:(bottom - r0) * height,
            (left - c0) * width:(right - c0) * width] = \
            region[:, (top - gr0) * height:(bottom - gr0) * height,
                   (left - gc0) * width:(right - gc0) * width]
    _write(work, block, out)


def _reduce(work: LevelWork, source: Array, block: Block) -> None:
    """Levels that nest: a block reduction of the level below (``source``)."""
    factor = work.level.factor or 1
    pad = context_pad(work.method, factor)
    row0, col0, rows, cols = _reduced_region(work.level, pad, block)
    region = _read_padded(source, work.data.count, row0, col0, rows, cols, work.data.nodata)
    _write(work, block, reduce_block(region, factor, work.method, work.data.nodata, pad=pad))


def _read_padded(array: Array, count: int, row0: int, col0: int, rows: int, cols: int,
                 nodata: float | int) -> np.ndarray:
    """``(count, rows, cols)`` of a level's array from (row0, col0), nodata outside it."""
    out = np.full((count, rows, cols), nodata, dtype=array.dtype)
    height, width = array.shape[-2:]
    r0, c0 = max(0, row0), max(0, col0)
    r1, c1 = min(height, row0 + rows), min(width, col0 + cols)
    if r1 <= r0 or c1 <= c0:
        return out
    target = out[:, r0 - row0:r1 - row0, c0 - col0:c1 - col0]
    if count > 1:
        target[...] = array.read((slice(None), slice(r0, r1), slice(c0, c1)))
    else:
        target[0] = array.read((slice(r0, r1), slice(c0, c1)))
    return out


class _Crops:
    """The source pixels of a block's tiles: one read of the union of their windows when it
    is compact, else one read per window."""

    def __init__(self, grid: SourceGrid, read: Reader, pieces: list[SourcePiece]):
        self.grid = grid
        self.read = read
        self.union: tuple[Window, np.ndarray] | None = None
        if not pieces:
            return
        c0 = min(int(p.window.col_off) for p in pieces)
        r0 = min(int(p.window.row_off) for p in pieces)
        c1 = max(int(p.window.col_off + p.window.width) for p in pieces)
        r1 = max(int(p.window.row_off + p.window.height) for p in pieces)
        area = sum(int(p.window.width) * int(p.window.height) for p in pieces)
        if (c1 - c0) * (r1 - r0) <= 2 * area:
            window = Window(c0, r0, c1 - c0, r1 - r0)
            self.union = (window, read(window))

    def get(self, piece: SourcePiece) -> tuple[np.ndarray, Affine]:
        window = piece.window
        if self.union is None:
            return self.read(window), window_transform(self.grid.transform, window)
        whole, block = self.union
        r = int(window.row_off - whole.row_off)
        c = int(window.col_off - whole.col_off)
        crop = block[:, r:r + int(window.height), c:c + int(window.width)]
        return crop, window_transform(self.grid.transform, window)
