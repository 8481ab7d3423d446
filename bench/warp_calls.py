"""What one GDAL warp call costs per tile, by the shape of the region it warps.

The finest level of a pyramid is GDAL's warp (``rasterio.warp.reproject``) of the source
onto its tiles. This measures, for a uint8 source in UTM zone 33N warped to Web Mercator
z13 tiles with ``average`` (the pyramid benchmark's case), the milliseconds per tile of:

- tiles warped one by one, and columns (one tile wide) of 2, 4 and 8 tiles;
- 2 x 2 and 4 x 4 blocks of tiles;
- each with and without the PROJ pipeline handed to GDAL (``COORDINATE_OPERATION``,
  :func:`geozarr.pyramid.warp.coordinate_operation`);

and how many pixels of each region equal the same tiles warped one by one. One thread;
best of ``--repeat`` runs. See docs/performance.md ("Where a tile's time goes").

Usage::

    python bench/warp_calls.py
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pyproj
from affine import Affine
from rasterio.crs import CRS
from rasterio.errors import NotGeoreferencedWarning
from rasterio.warp import reproject

sys.path.insert(1, str(Path(__file__).resolve().parent.parent))

from geozarr.pyramid.warp import SourceGrid, coordinate_operation, resampling_enum, \
    source_pieces, window_transform  # noqa: E402

TILE = 256
SOURCE_CRS, TARGET_CRS = CRS.from_epsg(32633), CRS.from_epsg(3857)
#: 10 m pixels with the top-left corner at (500 000 E, 5 200 000 N), about 47 degrees north.
SOURCE_TRANSFORM = Affine(10.0, 0.0, 500_000.0, 0.0, -10.0, 5_200_000.0)
#: Web Mercator z13 cells.
CELL = 19.109257071294063
#: (columns, rows) of tiles per call.
SHAPES = ((1, 1), (1, 2), (1, 4), (1, 8), (2, 2), (4, 4))


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="runs; the best is kept (5)")
    parser.add_argument("--method", default="average", help="resampling (average)")
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    rng = np.random.default_rng(20261121)
    source = rng.integers(1, 256, (1, 3000, 3000), dtype=np.uint8)
    x, y = pyproj.Transformer.from_crs(SOURCE_CRS, TARGET_CRS, always_xy=True).transform(
        500_500.0, 5_199_500.0)
    pipeline = coordinate_operation(SOURCE_CRS, TARGET_CRS)
    method = resampling_enum(args.method)

    grid = SourceGrid(SOURCE_CRS, SOURCE_TRANSFORM, source.shape[2], source.shape[1])

    def warp(cols: int, rows: int, col0: int, row0: int, options: dict) -> np.ndarray:
        """One call, from the region's own crop of the source (as a pyramid build does)."""
        out = np.zeros((1, rows * TILE, cols * TILE), dtype=np.uint8)
        left, top = x + col0 * TILE * CELL, y - row0 * TILE * CELL
        bounds = (left, top - rows * TILE * CELL, left + cols * TILE * CELL, top)
        [piece] = source_pieces(grid, TARGET_CRS, bounds, out.shape[1:], args.method)
        window = piece.window
        crop = source[:, int(window.row_off):int(window.row_off + window.height),
                      int(window.col_off):int(window.col_off + window.width)]
        reproject(np.ascontiguousarray(crop), out,
                  src_transform=window_transform(SOURCE_TRANSFORM, window),
                  src_crs=SOURCE_CRS, src_nodata=0,
                  dst_transform=Affine(CELL, 0.0, left, 0.0, -CELL, top),
                  dst_crs=TARGET_CRS, dst_nodata=0, resampling=method, num_threads=1,
                  UNIFIED_SRC_NODATA="NO", **options)
        return out

    def cover(cols: int, rows: int, options: dict) -> np.ndarray:
        """An 8 x 8 tile area warped in regions of cols x rows tiles."""
        area = np.zeros((1, 8 * TILE, 8 * TILE), dtype=np.uint8)
        for row0 in range(0, 8, rows):
            for col0 in range(0, 8, cols):
                area[:, row0 * TILE:(row0 + rows) * TILE, col0 * TILE:(col0 + cols) * TILE] \
                    = warp(cols, rows, col0, row0, options)
        return area

    print(f"{args.method}, uint8 UTM 33N 10 m -> Web Mercator z13, 8 x 8 tiles per run, "
          f"1 thread, best of {args.repeat}")
    print(f"{'tiles per call':<16}{'ms/tile':>10}{'with pipeline':>16}"
          f"{'pixels unlike the tiles warped alone':>40}")
    alone = None
    for cols, rows in SHAPES:
        timings = []
        for options in ({}, {"COORDINATE_OPERATION": pipeline}):
            best = float("inf")
            for _ in range(args.repeat):
                start = time.perf_counter()
                area = cover(cols, rows, options)
                best = min(best, time.perf_counter() - start)
            timings.append(best / 64 * 1000)
        if alone is None:
            alone = area
        unlike = int((area != alone).sum())
        print(f"{f'{cols} x {rows}':<16}{timings[0]:>10.2f}{timings[1]:>16.2f}"
              f"{f'{unlike} of {area.size} ({unlike / area.size:.2%})':>40}")


if __name__ == "__main__":
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        main()
