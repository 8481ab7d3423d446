"""Reading pyramids: levels as rasters, tiles by (z, x, y) in both numberings, tiles of
another TMS, the level for a resolution."""

from __future__ import annotations

from pathlib import Path

import morecantile
import numpy as np
import pyproj
import pytest
from affine import Affine
from rasterio.warp import reproject

import geozarr
import pyramid_sources as sources
from geozarr.errors import DimensionError, MetadataError
from geozarr.pyramid.build import build_pyramid
from geozarr.pyramid.reader import open_pyramid
from geozarr.pyramid.tms import MatrixGrid
from geozarr.pyramid.warp import resampling_enum

pytestmark = pytest.mark.filterwarnings(
    "ignore:Dataset has no geotransform:rasterio.errors.NotGeoreferencedWarning")


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("reader")


@pytest.fixture(scope="module")
def pyramid_path(folder: Path) -> Path:
    target = folder / "utm.zarr"
    build_pyramid(sources.utm_float32(folder), target)
    return target


def test_levels_open_as_rasters(pyramid_path: Path) -> None:
    with open_pyramid(pyramid_path) as pyramid:
        assert pyramid.tms.id == "WebMercatorQuad"
        assert [int(z) for z in pyramid.levels] == sorted(map(int, pyramid.levels),
                                                          reverse=True)
        assert "WebMercatorQuad" in repr(pyramid)
        for z in pyramid.levels:
            level = pyramid.level(z)
            alone = geozarr.open_raster(f"{pyramid_path}/{z}")
            assert level.crs == alone.crs and level.transform == alone.transform
            assert np.array_equal(level.read(), alone.read())
            assert level is pyramid.level(int(z))  # by id or number, opened once


def test_tiles_in_xyz_and_tms_numbering(pyramid_path: Path) -> None:
    with open_pyramid(pyramid_path) as pyramid:
        z = pyramid.levels[0]
        grid = MatrixGrid.of(pyramid.tms, int(z))
        limits = pyramid.limits(z)
        level = pyramid.level(z).read()
        for col, row in pyramid.stored_tiles(z):
            tile = pyramid.tile(z, col, row)
            assert tile.shape == (1, 256, 256) and isinstance(tile, np.ma.MaskedArray)
            array_row, array_col = grid.array_tile(limits, col, row)
            expected = level[:, array_row * 256:(array_row + 1) * 256,
                             array_col * 256:(array_col + 1) * 256]
            assert np.array_equal(tile.data, expected)
            assert np.array_equal(tile.mask, expected == -9999.0)
            flipped = pyramid.tile(z, col, grid.matrix_height - 1 - row, scheme="tms")
            assert np.array_equal(flipped.data, tile.data)
        assert pyramid.tile(z, 0, 0).mask.all()  # in the matrix, outside the limits
        with pytest.raises(DimensionError, match="outside TileMatrix"):
            pyramid.tile(z, grid.matrix_width, 0)
        with pytest.raises(DimensionError, match="no level"):
            pyramid.tile(3, 0, 0)
        with pytest.raises(DimensionError, match="scheme"):
            pyramid.tile(z, 0, 0, scheme="quadkey")


def test_select_level(pyramid_path: Path) -> None:
    with open_pyramid(pyramid_path) as pyramid:
        sizes = {z: pyramid.tms.matrix(int(z)).cellSize for z in pyramid.levels}
        finest, second = pyramid.levels[0], pyramid.levels[1]
        assert pyramid.select_level(sizes[second]) == second
        assert pyramid.select_level(sizes[finest] / 10) == finest
        assert pyramid.select_level(1e12) == pyramid.levels[-1]
        between = sizes[finest] * 1.2  # nearer the finer level
        assert pyramid.select_level(between) == finest
        assert pyramid.select_level(between, "lower") == second
        assert pyramid.select_level(sizes[finest] * 1.8) == second
        assert pyramid.select_level(sizes[finest] * 1.8, "upper") == finest
        assert pyramid.select_level(sizes[finest] * 1.8) == morecantile.tms.get(
            "WebMercatorQuad").zoom_for_res(sizes[finest] * 1.8).__str__()
        with pytest.raises(MetadataError, match="positive"):
            pyramid.select_level(-1.0)
        with pytest.raises(MetadataError, match="strategy"):
            pyramid.select_level(10.0, "nearest")


def test_tile_of_another_tms_is_warped_from_the_suitable_level(pyramid_path: Path) -> None:
    other = morecantile.tms.get("WGS1984Quad")
    with open_pyramid(pyramid_path) as pyramid:
        finest = pyramid.level(pyramid.levels[0])
        lon, lat = pyproj.Transformer.from_crs(finest.crs.to_wkt(), "EPSG:4326",
                                               always_xy=True).transform(
            *(finest.transform @ (finest.width / 2, finest.height / 2)))
        for z in (8, 11):
            tile_index = other.tile(lon, lat, z)
            tile = pyramid.tile(z, tile_index.x, tile_index.y, tms=other, resampling="bilinear")
            assert tile.shape == (1, 256, 256) and 0 < tile.count()
            bounds = other.xy_bounds(tile_index)
            size = other.matrix(z).cellSize
            # a degree of latitude in Web Mercator metres, at this latitude
            resolution = size * 111319.49 / np.cos(np.radians(lat))
            level = pyramid.level(pyramid.select_level(resolution))
            expected = np.full((1, 256, 256), -9999.0, dtype="float32")
            reproject(level.read(), expected, src_transform=level.transform, src_crs=level.crs,
                      src_nodata=-9999.0, dst_transform=Affine(size, 0, bounds.left, 0, -size,
                                                               bounds.top),
                      dst_crs=other.rasterio_crs, dst_nodata=-9999.0,
                      resampling=resampling_enum("bilinear"), UNIFIED_SRC_NODATA="NO")
            both = ~tile.mask & (expected != -9999.0)
            assert both.sum() > 0.9 * tile.count()
            assert np.abs(tile.data[both] - expected[both]).max() < 1e-2


def test_bottom_left_tms_counts_xyz_rows_from_the_top(folder: Path) -> None:
    custom = morecantile.TileMatrixSet.custom(
        [380000, 4980000, 430000, 5030000], pyproj.CRS.from_epsg(32633), minzoom=0,
        maxzoom=5, id="LocalBottomLeft", corner_of_origin="bottomLeft")
    target = folder / "bottom_left.zarr"
    build_pyramid(sources.utm_float32(folder), target, tms=custom, resampling="nearest")
    with open_pyramid(target) as pyramid:
        z = pyramid.levels[0]
        grid = MatrixGrid.of(custom, int(z))
        level = pyramid.level(z)
        values = level.read()
        for col, row in pyramid.stored_tiles(z):
            left, _, _, top = custom.xy_bounds(col, row, int(z))
            c, r = ~level.transform @ (left, top)
            tile = pyramid.tile(z, col, grid.matrix_height - 1 - row)  # xyz: from the top
            expected = values[:, round(r):round(r) + 256, round(c):round(c) + 256]
            assert np.array_equal(tile.data, expected)
            assert np.array_equal(pyramid.tile(z, col, row, scheme="tms").data, expected)
