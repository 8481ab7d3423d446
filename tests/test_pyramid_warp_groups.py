"""Warping the finest level a column of tiles at a time: the tiles are the tiles warped one
by one, a resumed build keeps the columns it started with, and GDAL is handed the PROJ
pipeline only where it has no choice to make.

The warp calls are observed by wrapping :func:`geozarr.pyramid.blocks.warp_region` with a
recorder that passes every call through to it unchanged.
"""

from __future__ import annotations

import glob
import itertools
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyproj
import pytest
from affine import Affine
from rasterio.crs import CRS
from rasterio.warp import reproject

import pyramid_sources as sources
from geozarr.pyramid import blocks
from geozarr.pyramid.build import build_pyramid
from geozarr.pyramid.reader import open_pyramid
from geozarr.pyramid.warp import coordinate_operation, resampling_enum

pytestmark = pytest.mark.filterwarnings(
    "ignore:Dataset has no geotransform:rasterio.errors.NotGeoreferencedWarning")

TILE = 256
#: Memory that leaves room for single tiles only (uint8 source, tiles 1.3 source pixels
#: wide), and memory whose sixteenth holds a 2 x 2 block: columns of 2 tiles.
ONE_TILE_MEMORY = 4 * 2**20
TWO_TILE_MEMORY = 64 * 2**20


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """1800 x 1800 uint8 in UTM 33N at 10 m (7 x 7 tiles at the finest level, so columns
    of 2 tiles away from the source's edges), nodata 0."""
    data = np.clip(sources.smooth(1800, 1800) / 2 + 60, 1, 255).astype("uint8")
    folder = tmp_path_factory.mktemp("warp_groups")
    return sources.write_tif(folder / "utm_uint8.tif", data, crs="EPSG:32633",
                             transform=sources.from_origin(400000, 5300000, 10, 10), nodata=0)


@pytest.fixture
def warp_rows(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """The height in tiles of every region warped while the test runs."""
    heights: list[int] = []
    real = blocks.warp_region

    def recording(crop, crop_transform, src_crs, out, *args, **kwargs):
        heights.append(out.shape[1] // TILE)
        return real(crop, crop_transform, src_crs, out, *args, **kwargs)

    monkeypatch.setattr(blocks, "warp_region", recording)
    yield heights


def finest(path: Path) -> np.ndarray:
    with open_pyramid(path) as pyramid:
        return pyramid.level(pyramid.levels[0]).read()


def test_columns_of_tiles_are_the_tiles_warped_alone(source: Path, tmp_path: Path,
                                                     warp_rows: list[int]) -> None:
    """A 2 x 2 group would not be: GDAL's warper then gives most pixels another value
    (bench/warp_calls.py; it holds only for regions one tile wide)."""
    build_pyramid(source, tmp_path / "single.zarr", memory_limit=ONE_TILE_MEMORY)
    assert set(warp_rows) == {1}
    singles = len(warp_rows)
    warp_rows.clear()
    build_pyramid(source, tmp_path / "columns.zarr", memory_limit=TWO_TILE_MEMORY)
    assert 2 in warp_rows and len(warp_rows) < singles
    alone, grouped = finest(tmp_path / "single.zarr"), finest(tmp_path / "columns.zarr")
    difference = np.abs(alone.astype(int) - grouped.astype(int))
    # the crop's origin differs with the region: float noise, which rounds an integer
    # result the other way now and then
    assert difference.max() <= 1
    assert (difference == 0).mean() > 0.9999


def test_a_resumed_build_keeps_the_columns_it_started_with(source: Path, tmp_path: Path,
                                                           warp_rows: list[int]) -> None:
    clean = tmp_path / "clean.zarr"
    build_pyramid(source, clean, memory_limit=ONE_TILE_MEMORY)
    target = tmp_path / "resumed.zarr"
    reports = itertools.count(1)

    def stop_at_the_third_report(fraction: float) -> None:
        if next(reports) == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        build_pyramid(source, target, memory_limit=ONE_TILE_MEMORY,
                      progress=stop_at_the_third_report)
    [partial] = glob.glob(f"{target}.geozarr-partial-*")
    [record] = glob.glob(f"{partial}/geozarr-build/group/*")
    assert Path(record).read_text() == "1"
    warp_rows.clear()
    build_pyramid(source, target, memory_limit=TWO_TILE_MEMORY, resume=True)
    assert warp_rows and set(warp_rows) == {1}  # a fresh build of this memory warps pairs
    assert np.array_equal(finest(target), finest(clean))


def test_coordinate_operation_only_where_gdal_has_no_choice() -> None:
    utm, mercator = CRS.from_epsg(32633), CRS.from_epsg(3857)
    pipeline = coordinate_operation(utm, mercator)
    assert pipeline is not None and "+proj=utm" in pipeline and "+proj=webmerc" in pipeline
    assert coordinate_operation(CRS.from_epsg(4326), mercator) is None  # latitude first
    assert coordinate_operation(utm, CRS.from_epsg(4326)) is None
    assert coordinate_operation(CRS.from_epsg(26711), mercator) is None  # NAD27: datum shifts
    assert coordinate_operation(CRS.from_epsg(3035), mercator) is None  # northing first
    assert coordinate_operation(utm, utm) is None


def test_the_pipeline_changes_nothing_gdal_computes() -> None:
    data = np.clip(sources.smooth(900, 600) / 2 + 60, 1, 255).astype("uint8")
    source_transform = sources.from_origin(500000, 5200000, 10, 10)
    utm, mercator = CRS.from_epsg(32633), CRS.from_epsg(3857)
    x, y = pyproj.Transformer.from_crs(32633, 3857, always_xy=True).transform(500300, 5199700)
    target = Affine(19.109, 0, x, 0, -19.109, y)
    results = []
    for options in ({}, {"COORDINATE_OPERATION": coordinate_operation(utm, mercator)}):
        out = np.zeros((1, 2 * TILE, TILE), dtype="uint8")
        reproject(data, out, src_transform=source_transform, src_crs=utm, src_nodata=0,
                  dst_transform=target, dst_crs=mercator, dst_nodata=0,
                  resampling=resampling_enum("average"), **options)
        results.append(out)
    assert (results[0] != 0).mean() > 0.5
    assert np.array_equal(*results)
