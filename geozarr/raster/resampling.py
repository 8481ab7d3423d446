"""Resampling a block of bands to another size, as rasterio's decimated reads do.

Nearest neighbour uses GDAL's own rule (output pixel ``i`` takes source pixel
``floor((i + 0.5) * src / dst)``) in numpy. Every other method hands the block to GDAL itself
through an in-memory dataset, so the result is what ``rasterio`` returns for the same read.
"""

from __future__ import annotations

import numpy as np
import rasterio
from rasterio.enums import Resampling
from rasterio.io import MemoryFile


def _nearest_indices(source: int, target: int) -> np.ndarray:
    scale = source / target
    return np.minimum(np.floor((np.arange(target) + 0.5) * scale).astype(np.int64), source - 1)


def resample(data: np.ndarray, size: tuple[int, int], method: Resampling,
             *, nodata: float | None = None) -> np.ndarray:
    """``data`` (bands, rows, cols) resampled to ``size`` (rows, cols) with ``method``."""
    height, width = size
    if method == Resampling.nearest:
        rows = _nearest_indices(data.shape[1], height)
        cols = _nearest_indices(data.shape[2], width)
        return data[:, rows][:, :, cols]
    profile = {"driver": "GTiff", "width": data.shape[2], "height": data.shape[1],
               "count": data.shape[0], "dtype": data.dtype.newbyteorder("=").name,
               "nodata": nodata}
    with MemoryFile() as memory:
        with memory.open(**profile) as dataset:
            dataset.write(data.astype(data.dtype.newbyteorder("="), copy=False))
        with memory.open() as dataset, rasterio.Env():
            return dataset.read(out_shape=(data.shape[0], height, width), resampling=method)
