"""TileMatrixSet geometry: every shipped set against morecantile, limits, bad input."""

from __future__ import annotations

import morecantile
import pyproj
import pytest
from affine import Affine

from geozarr.errors import MetadataError
from geozarr.pyramid.tms import MatrixGrid, TileLimits, resolve_tms, tms_document, zoom_ids

#: Every registered TMS whose matrices have fixed widths (the ones a pyramid can hold).
SHIPPED = [name for name in morecantile.tms.list()
           if not morecantile.tms.get(name).is_variable]


@pytest.mark.parametrize("name", SHIPPED)
def test_tile_bounds_and_transform_equal_morecantile(name: str) -> None:
    tms = resolve_tms(name)
    for zoom in zoom_ids(tms)[:4]:
        grid = MatrixGrid.of(tms, zoom)
        col, row = grid.matrix_width // 2, grid.matrix_height // 2
        assert grid.tile_bounds(col, row) == tuple(tms.xy_bounds(col, row, zoom))
        limits = TileLimits(col, col, row, row)
        left, bottom, right, top = tms.xy_bounds(col, row, zoom)
        assert grid.transform(limits) == Affine(grid.cell_size, 0, left, 0, -grid.cell_size,
                                                top)
        assert grid.shape(limits) == (grid.tile_height, grid.tile_width)


@pytest.mark.parametrize("name", ["WGS1984Quad", "EuropeanETRS89_LAEAQuad", "NZTM2000Quad"])
def test_latitude_first_sets_give_origin_in_x_y_order(name: str) -> None:
    tms = resolve_tms(name)
    grid = MatrixGrid.of(tms, tms.minzoom)
    point = tms.tileMatrices[0].pointOfOrigin
    assert (grid.origin_x, grid.origin_y) == (point[1], point[0])


def test_wgs1984quad_origin_is_minus180_plus90() -> None:
    grid = MatrixGrid.of(resolve_tms("WGS1984Quad"), 0)
    assert (grid.origin_x, grid.origin_y) == (-180.0, 90.0)
    assert (grid.matrix_width, grid.matrix_height) == (2, 1)


def test_limits_of_exact_tile_bounds_is_one_tile() -> None:
    tms = resolve_tms("WebMercatorQuad")
    grid = MatrixGrid.of(tms, 18)
    bounds = tuple(tms.xy_bounds(76669, 98727, 18))
    assert grid.limits_of(bounds) == TileLimits(76669, 76669, 98727, 98727)


def test_limits_of_corner_point_and_clamping() -> None:
    grid = MatrixGrid.of(resolve_tms("WebMercatorQuad"), 1)
    assert grid.limits_of((0.0, 0.0, 0.0, 0.0)) == TileLimits(1, 1, 1, 1)
    world = (-3e7, -3e7, 3e7, 3e7)
    assert grid.limits_of(world) == TileLimits(0, 1, 0, 1)
    assert grid.limits_of((2.1e7, 0, 2.2e7, 1)) is None


def test_bottom_left_corner_maps_rows_from_the_bottom() -> None:
    custom = morecantile.TileMatrixSet.custom(
        [0, 0, 4096, 4096], pyproj.CRS.from_epsg(32633), minzoom=0, maxzoom=2,
        corner_of_origin="bottomLeft", id="BottomLeft")
    grid = MatrixGrid.of(custom, 2)
    limits = TileLimits(1, 2, 0, 1)
    for col, row in ((1, 0), (2, 1)):
        assert grid.tile_bounds(col, row) == tuple(custom.xy_bounds(col, row, 2))
    transform = grid.transform(limits)
    assert transform.f == custom.xy_bounds(1, 1, 2).top  # the top row is tile row 1
    assert grid.array_tile(limits, 2, 1) == (0, 1)
    assert grid.matrix_tile(limits, 1, 0) == (1, 0)


def test_resolve_custom_and_json() -> None:
    custom = morecantile.TileMatrixSet.custom([0, 0, 1000, 1000], pyproj.CRS.from_epsg(3857),
                                              id="Custom")
    assert resolve_tms(custom) is custom
    document = tms_document(resolve_tms("WebMercatorQuad"), ("3", "4"))
    assert [m["id"] for m in document["tileMatrices"]] == ["3", "4"]
    again = resolve_tms(document)
    assert again.id == "WebMercatorQuad" and zoom_ids(again) == [3, 4]


@pytest.mark.parametrize("value, message", [
    ("NoSuchTMS", "unknown TileMatrixSet"),
    ({"tileMatrices": "nope"}, "not a valid"),
    (42, "must be a TileMatrixSet"),
    ("GNOSISGlobalGrid", "variable matrix widths"),
])
def test_bad_tms(value: object, message: str) -> None:
    with pytest.raises(MetadataError, match=message):
        resolve_tms(value)  # type: ignore[arg-type]


def test_unknown_zoom_and_limits_json() -> None:
    with pytest.raises(MetadataError, match="no TileMatrix 99"):
        MatrixGrid.of(resolve_tms("WebMercatorQuad"), 99)
    limits = TileLimits(1, 2, 3, 4)
    assert TileLimits.from_json(limits.to_ogc("5"), where="x") == limits
    snake = {"min_tile_col": 1, "max_tile_col": 2, "min_tile_row": 3, "max_tile_row": 4}
    assert TileLimits.from_json(snake, where="x") == limits
    with pytest.raises(MetadataError, match="empty"):
        TileLimits.from_json({"minTileCol": 2, "maxTileCol": 1, "minTileRow": 0,
                              "maxTileRow": 0}, where="x")
    with pytest.raises(MetadataError, match="integer"):
        TileLimits.from_json({"minTileCol": 1.5}, where="x")
