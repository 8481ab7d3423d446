"""Planning: levels, limits, shapes and transforms as morecantile says; zoom defaults; every
kind of TMS; sources across the antimeridian, in 0..360, beyond Web Mercator's latitudes."""

from __future__ import annotations

from pathlib import Path

import morecantile
import numpy as np
import pyproj
import pytest
import rasterio
from affine import Affine
from rasterio.errors import NotGeoreferencedWarning
from rasterio.warp import transform_bounds

import pyramid_sources as sources
from pyramid_sources import from_origin
from geozarr.errors import GeoreferencingError, MetadataError
from geozarr.pyramid.plan import LevelPlan, PyramidPlan, plan_levels, plan_pyramid
from geozarr.pyramid.tms import TileLimits


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("plan")


def _morecantile_limits(tms: morecantile.TileMatrixSet, lonlat: tuple[float, ...],
                        zoom: int) -> TileLimits:
    tiles = list(tms.tiles(*lonlat, [zoom]))
    return TileLimits(min(t.x for t in tiles), max(t.x for t in tiles),
                      min(t.y for t in tiles), max(t.y for t in tiles))


def _check_level_geometry(tms: morecantile.TileMatrixSet, level: LevelPlan) -> None:
    matrix = tms.matrix(level.zoom)
    limits = level.limits
    left, _, _, top = tms.xy_bounds(limits.min_col, limits.min_row, level.zoom)
    assert level.transform == Affine(matrix.cellSize, 0, left, 0, -matrix.cellSize, top)
    assert level.shape == (limits.rows * matrix.tileHeight, limits.cols * matrix.tileWidth)
    assert level.tile_shape == (matrix.tileHeight, matrix.tileWidth)


@pytest.mark.parametrize("tms_name", ["WebMercatorQuad", "WGS1984Quad"])
@pytest.mark.parametrize("make", [sources.utm_float32, sources.geographic_uint8_rgb])
def test_levels_are_what_morecantile_says(folder: Path, make, tms_name: str) -> None:
    path = make(folder)
    plan = plan_pyramid(path, tms=tms_name)
    tms = morecantile.tms.get(tms_name)
    with rasterio.open(path) as dataset:
        lonlat = transform_bounds(dataset.crs, "EPSG:4326", *dataset.bounds, densify_pts=21)
        count, dtype = dataset.count, dataset.dtypes[0]
    assert [level.zoom for level in plan.levels] == list(range(plan.maxzoom,
                                                                plan.minzoom - 1, -1))
    for level in plan.levels:
        _check_level_geometry(tms, level)
        assert level.limits == _morecantile_limits(tms, lonlat, level.zoom)
    # maxzoom keeps the source's resolution; minzoom is the finest single-tile zoom
    assert plan.maxzoom == tms.zoom_for_res(plan.source_resolution)
    assert plan.levels[-1].limits.count == 1
    if len(plan.levels) > 1:
        assert plan.levels[-2].limits.count > 1
    assert plan.estimated_bytes == sum(
        level.shape[0] * level.shape[1] * count * np.dtype(dtype).itemsize
        for level in plan.levels)
    # every coarser level nests in the one below (both are quadtrees)
    for finer, level in zip(plan.levels, plan.levels[1:]):
        assert level.derived_from == finer.id and level.factor == 2
        row, col = level.offset
        size = finer.transform.a
        assert level.transform.c == pytest.approx(finer.transform.c + col * size, abs=1e-6 * size)
        assert level.transform.f == pytest.approx(finer.transform.f - row * size, abs=1e-6 * size)


def test_plan_pyramid_is_plan_levels_on_the_source_grid(folder: Path) -> None:
    path = sources.utm_float32(folder)
    plan = plan_pyramid(path, "WebMercatorQuad", minzoom=8, maxzoom=11)
    with rasterio.open(path) as dataset:
        pure = plan_levels("WebMercatorQuad", crs=dataset.crs, transform=dataset.transform,
                           width=dataset.width, height=dataset.height, count=dataset.count,
                           dtype=dataset.dtypes[0], nodata=dataset.nodata, minzoom=8,
                           maxzoom=11)
    assert isinstance(plan, PyramidPlan)
    assert plan.levels == pure.levels and plan.ids == ("11", "10", "9", "8")
    assert plan.level(9).id == "9" and plan.nodata == -9999.0
    with pytest.raises(MetadataError, match="no level"):
        plan.level(3)


def test_ids_starting_at_one_non_power_of_two_and_custom(folder: Path) -> None:
    path = sources.utm_float32(folder)
    utm31 = plan_pyramid(path, "UTM31WGS84Quad")
    assert utm31.minzoom >= 1 and all(level.factor == 2 for level in utm31.levels[1:])
    canada = plan_pyramid(path, "CanadianNAD83_LCC", minzoom=3, maxzoom=8)
    tms = morecantile.tms.get("CanadianNAD83_LCC")
    for level in canada.levels:
        _check_level_geometry(tms, level)
    assert all(level.factor is None and level.derived_from is not None
               for level in canada.levels[1:])
    custom = morecantile.TileMatrixSet.custom(
        [380000, 4980000, 420000, 5020000], pyproj.CRS.from_epsg(32633), minzoom=2,
        maxzoom=9, id="UTM33Local", decimation_base=3)
    plan = plan_pyramid(path, custom)
    assert plan.tms is custom and plan.levels[-1].zoom >= 2
    for level in plan.levels[1:]:
        assert level.factor == 3
        _check_level_geometry(custom, level)


def test_antimeridian_and_0_360_cover_both_ends(folder: Path) -> None:
    for path in (sources.dateline(folder), sources.lon_0_360(folder)):
        for tms_name in ("WebMercatorQuad", "WGS1984Quad"):
            plan = plan_pyramid(path, tms_name)
            finest = plan.levels[0]
            assert finest.limits.min_col == 0
            assert finest.limits.max_col == finest.grid.matrix_width - 1


def test_beyond_web_mercator_latitudes_is_cut_to_the_extent(folder: Path) -> None:
    plan = plan_pyramid(sources.polar(folder), "WebMercatorQuad")
    for level in plan.levels:
        assert level.limits.min_row == 0
        assert all(np.isfinite(list(level.transform)))
    top = plan.levels[0].transform.f
    assert top == pytest.approx(20037508.342789244)


def test_zoom_errors(folder: Path) -> None:
    path = sources.utm_float32(folder)
    with pytest.raises(MetadataError, match="maxzoom 30 is not a TileMatrix"):
        plan_pyramid(path, maxzoom=30)
    with pytest.raises(MetadataError, match="minzoom 0 is not a TileMatrix"):
        plan_pyramid(path, "UTM31WGS84Quad", minzoom=0)
    with pytest.raises(MetadataError, match="above maxzoom"):
        plan_pyramid(path, minzoom=9, maxzoom=8)
    with pytest.raises(MetadataError, match="unknown TileMatrixSet"):
        plan_pyramid(path, "WebMercatorQuadd")
    plan = plan_pyramid(path, minzoom=13)
    assert plan.minzoom == 13 and plan.maxzoom >= 13


def test_source_without_crs_or_outside_the_tms(folder: Path) -> None:
    plain = folder / "no_crs.tif"
    with pytest.warns(NotGeoreferencedWarning):
        with rasterio.open(plain, "w", driver="GTiff", width=8, height=8, count=1,
                           dtype="uint8") as dataset:
            dataset.write(np.ones((1, 8, 8), dtype="uint8"))
    with pytest.raises(GeoreferencingError, match="no CRS"), \
            pytest.warns(NotGeoreferencedWarning):
        plan_pyramid(plain)
    small = morecantile.TileMatrixSet.custom([0, 0, 1000, 1000], pyproj.CRS.from_epsg(32633),
                                             id="Small")
    with pytest.raises(GeoreferencingError, match="outside the TileMatrixSet's extent"):
        plan_levels(small, crs="EPSG:32633", transform=from_origin(600000, 5000000, 10, 10),
                    width=10, height=10)
