"""Reading a window at another size, as rasterio's decimated and fractional reads do.

rasterio hands GDAL a floating-point window and an output size; output pixel ``i`` of a
nearest-neighbour read takes source pixel ``floor(offset + (i + 0.5) * length / size)``. This
module reproduces that rule in numpy, and hands every other method to GDAL itself through an
in-memory dataset, so results are what ``rasterio`` returns for the same read.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
import rasterio
from rasterio.enums import Resampling
from rasterio.io import MemoryFile
from rasterio.windows import Window


class SourceWindow(NamedTuple):
    """A floating-point window, as rasterio passes it to GDAL."""

    row_off: float
    col_off: float
    height: float
    width: float

    @classmethod
    def of(cls, window: Window) -> SourceWindow:
        return cls(float(window.row_off), float(window.col_off), float(window.height),
                   float(window.width))

    def default_size(self) -> tuple[int, int]:
        """The output size rasterio gives a window read without ``out_shape``."""
        return (math.floor(self.height + 0.5), math.floor(self.width + 0.5))

    def pixel_bounds(self) -> tuple[int, int, int, int]:
        """The whole pixels the window touches: (row0, col0, row1, col1)."""
        return (math.floor(self.row_off), math.floor(self.col_off),
                math.ceil(self.row_off + self.height - 1e-9),
                math.ceil(self.col_off + self.width - 1e-9))

    def is_whole(self) -> bool:
        return all(float(v).is_integer() for v in self)


def _nearest(offset: float, length: float, size: int, limit: int) -> np.ndarray:
    positions = np.floor(offset + (np.arange(size) + 0.5) * (length / size))
    return np.clip(positions.astype(np.int64), 0, limit - 1)


def resample(block: np.ndarray, window: SourceWindow, size: tuple[int, int],
             method: Resampling, *, nodata: float | None = None) -> np.ndarray:
    """Read ``window`` (relative to ``block``, of shape (bands, rows, cols)) at ``size``."""
    height, width = size
    if method == Resampling.nearest:
        rows = _nearest(window.row_off, window.height, height, block.shape[1])
        cols = _nearest(window.col_off, window.width, width, block.shape[2])
        return block[:, rows][:, :, cols]
    dtype = block.dtype.newbyteorder("=")
    profile = {"driver": "GTiff", "width": block.shape[2], "height": block.shape[1],
               "count": block.shape[0], "dtype": dtype.name, "nodata": nodata}
    with MemoryFile() as memory:
        with memory.open(**profile) as dataset:
            dataset.write(block.astype(dtype, copy=False))
        with memory.open() as dataset, rasterio.Env():
            return dataset.read(window=Window(window.col_off, window.row_off, window.width,
                                              window.height),
                                out_shape=(block.shape[0], height, width), resampling=method)
