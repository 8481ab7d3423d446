"""How the dimensions of an N-D array become the bands of a 2-D raster.

Two dimensions are spatial (rows = y, columns = x), wherever they sit in the array. Extra
dimensions may be fixed to one index (``sel={"time": 2}`` or a connection string's
``:2``); every combination of the remaining ones is a band, in C order of those dimensions,
as GDAL's MULTIBAND does. Bands are numbered from 1.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from geozarr.errors import DimensionError


@dataclass(frozen=True)
class BandLayout:
    """The roles of an array's axes for a raster view of it."""

    dims: tuple[str, ...]
    shape: tuple[int, ...]
    y_axis: int
    x_axis: int
    fixed: tuple[tuple[int, int], ...]   # (axis, index) pairs of the fixed extra dims
    band_axes: tuple[int, ...]           # the extra axes that make up the bands

    @property
    def band_shape(self) -> tuple[int, ...]:
        return tuple(self.shape[axis] for axis in self.band_axes)

    @property
    def count(self) -> int:
        return math.prod(self.band_shape)

    def band_coordinates(self, bidx: int) -> tuple[int, ...]:
        """The index along each band axis of band ``bidx`` (1-based)."""
        if not 1 <= bidx <= self.count:
            raise DimensionError(f"band index {bidx} is out of range 1..{self.count}")
        return tuple(int(i) for i in np.unravel_index(bidx - 1, self.band_shape)) \
            if self.band_axes else ()

    def selection(self, rows: slice, cols: slice, bands: Sequence[int]
                  ) -> tuple[tuple[object, ...], tuple[int, ...]]:
        """The array selection covering ``bands`` over ``rows`` x ``cols``, and the positions
        of the wanted bands in the flattened band axis of what it returns.

        One selection reads every band at once (chunks that hold several bands are decoded
        once); band axes are read over the smallest range holding the wanted bands.
        """
        coordinates = [self.band_coordinates(b) for b in bands]
        selection: list[object] = [slice(None)] * len(self.shape)
        selection[self.y_axis] = rows
        selection[self.x_axis] = cols
        for axis, index in self.fixed:
            selection[axis] = index
        low = [min(c[i] for c in coordinates) for i in range(len(self.band_axes))]
        high = [max(c[i] for c in coordinates) + 1 for i in range(len(self.band_axes))]
        for i, axis in enumerate(self.band_axes):
            selection[axis] = slice(low[i], high[i])
        sub_shape = tuple(h - lo for lo, h in zip(low, high))
        positions = tuple(int(np.ravel_multi_index(tuple(c[i] - low[i] for i in range(len(c))),
                                                   sub_shape)) if sub_shape else 0
                          for c in coordinates)
        return tuple(selection), positions

    def to_band_first(self, block: np.ndarray) -> np.ndarray:
        """Reorder what :meth:`selection` read to ``(bands, rows, cols)``."""
        remaining = [axis for axis in range(len(self.shape))
                     if axis not in {a for a, _ in self.fixed}]
        order = [remaining.index(a) for a in self.band_axes]
        order += [remaining.index(self.y_axis), remaining.index(self.x_axis)]
        moved = np.transpose(block, order)
        return moved.reshape((-1,) + moved.shape[-2:])


def make_layout(dims: tuple[str, ...], shape: tuple[int, ...], y_axis: int, x_axis: int,
                *, sel: Mapping[str | int, int] | None = None,
                indices: Sequence[int] = (), path: str = "") -> BandLayout:
    """The band layout of an array, fixing the dims in ``sel`` (by name or axis) and, in
    order, the first extra dims to the connection string's ``indices``."""
    extra = [axis for axis in range(len(shape)) if axis not in (y_axis, x_axis)]
    fixed: dict[int, int] = {}
    if len(indices) > len(extra):
        raise DimensionError(f"{path}: {len(indices)} slice indices given, but the array has "
                             f"only {len(extra)} non-spatial dimension(s)")
    for axis, index in zip(extra, indices):
        fixed[axis] = index
    for name, index in (sel or {}).items():
        if isinstance(name, int) and not isinstance(name, bool):
            axis = name
        elif name in dims:
            axis = dims.index(name)
        else:
            raise DimensionError(f"{path}: no dimension named {name!r} (dimensions: "
                                 f"{', '.join(dims)})")
        if axis not in extra:
            raise DimensionError(f"{path}: dimension {dims[axis]!r} is spatial; only extra "
                                 "dimensions can be selected")
        fixed[axis] = index
    for axis, index in list(fixed.items()):
        size = shape[axis]
        if not isinstance(index, (int, np.integer)) or not -size <= index < size:
            raise DimensionError(f"{path}: index {index!r} is out of range for dimension "
                                 f"{dims[axis]!r} of size {size}")
        fixed[axis] = int(index) % size
    band_axes = tuple(axis for axis in extra if axis not in fixed)
    return BandLayout(dims, shape, y_axis, x_axis, tuple(sorted(fixed.items())), band_axes)
