"""Building pyramids: geometry as planned, the cascade exactly reduced, no seams, sparse
storage, every edge case of the acceptance list, resume, bad input."""

from __future__ import annotations

import glob
import hashlib
import math
import os
import tracemalloc
from pathlib import Path

import morecantile
import numpy as np
import pyproj
import pytest
import rasterio
from affine import Affine
from rasterio.warp import reproject

import pyramid_sources as sources
from geozarr.errors import GeoreferencingError, GeoZarrError, MetadataError, NodeExistsError
from geozarr.pyramid.build import build_pyramid
from geozarr.pyramid.plan import plan_pyramid
from geozarr.pyramid.reader import Pyramid, open_pyramid
from geozarr.pyramid.reduce import context_pad, reduce_block, valid_mask
from geozarr.pyramid.warp import resampling_enum
from geozarr.storage import MemoryStore

# rasterio silences this warning around the in-memory datasets of reproject with
# warnings.catch_warnings(), which is not thread-safe: builds on several threads can let it
# through although every dataset gets its transform.
pytestmark = pytest.mark.filterwarnings(
    "ignore:Dataset has no geotransform:rasterio.errors.NotGeoreferencedWarning")


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("build")


@pytest.fixture(scope="module")
def built(folder: Path) -> dict[str, Path]:
    """Pyramids shared by several tests, built once."""
    utm = sources.utm_float32(folder)
    geo = sources.geographic_uint8_rgb(folder)
    out = {}
    for name, source, tms, method in (("utm_wm", utm, "WebMercatorQuad", "average"),
                                      ("utm_wgs", utm, "WGS1984Quad", "bilinear"),
                                      ("geo_wm", geo, "WebMercatorQuad", "cubic"),
                                      ("geo_wgs", geo, "WGS1984Quad", "average")):
        target = folder / f"{name}.zarr"
        build_pyramid(source, target, tms=tms, resampling=method)
        out[name] = target
    out["utm"], out["geo"] = utm, geo
    return out


def level_values(pyramid: Pyramid, z: str) -> np.ndarray:
    """A whole level as (bands, rows, cols)."""
    return pyramid.level(z).read()


def stored_files(root: Path) -> dict[str, str]:
    """Digest of every file under a directory, by relative path."""
    found = {}
    for folder, _, files in os.walk(root):
        for name in files:
            path = Path(folder) / name
            found[str(path.relative_to(root))] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


@pytest.mark.parametrize("name", ["utm_wm", "utm_wgs", "geo_wm", "geo_wgs"])
def test_levels_are_the_planned_arrays_one_chunk_per_tile(built: dict[str, Path],
                                                          name: str) -> None:
    source = built["utm" if name.startswith("utm") else "geo"]
    tms = "WebMercatorQuad" if name.endswith("wm") else "WGS1984Quad"
    plan = plan_pyramid(source, tms)
    with open_pyramid(built[name]) as pyramid:
        assert pyramid.levels == plan.ids and pyramid.tms.id == tms
        for level in plan.levels:
            reader = pyramid.level(level.id)
            assert reader.shape == level.shape and reader.transform == level.transform
            assert reader.array.chunks[-2:] == level.tile_shape
            assert pyramid.limits(level.id) == level.limits
            values = level_values(pyramid, level.id)
            height, width = level.tile_shape
            has_data = valid_mask(values, reader.nodata).any(axis=0).reshape(
                level.limits.rows, height, level.limits.cols, width).any(axis=(1, 3))
            with_data = {level.grid.matrix_tile(level.limits, int(r), int(c))
                         for r, c in np.argwhere(has_data)}
            assert set(pyramid.stored_tiles(level.id)) == with_data  # none empty stored
            assert with_data


@pytest.mark.parametrize("name, method", [("utm_wm", "average"), ("utm_wgs", "bilinear"),
                                          ("geo_wm", "cubic")])
def test_coarser_levels_are_the_reduction_of_the_level_below(built: dict[str, Path],
                                                             name: str, method: str) -> None:
    with open_pyramid(built[name]) as pyramid:
        plan = plan_pyramid(built["utm" if name.startswith("utm") else "geo"],
                            pyramid.tms.id)
        for finer, level in zip(plan.levels, plan.levels[1:]):
            fine = level_values(pyramid, finer.id)
            nodata = pyramid.level(finer.id).nodata
            pad = context_pad(method, 2)
            row, col = level.offset
            rows, cols = level.shape[0] * 2 + 2 * pad, level.shape[1] * 2 + 2 * pad
            region = np.full((fine.shape[0], rows, cols), nodata, dtype=fine.dtype)
            top, left = -(row - pad), -(col - pad)
            region[:, top:top + fine.shape[1], left:left + fine.shape[2]] = fine
            expected = reduce_block(region, 2, method, nodata, pad=pad)
            assert np.array_equal(level_values(pyramid, level.id), expected, equal_nan=True)


@pytest.mark.parametrize("name, method", [("utm_wm", "average"), ("geo_wm", "cubic")])
def test_finest_tiles_are_gdals_warp_of_the_source(built: dict[str, Path], name: str,
                                                   method: str) -> None:
    """Each tile of the finest level is GDAL's warp of the whole source onto that tile
    (what rio-tiler does), although only the tile's window of the source was read."""
    with rasterio.open(built["utm" if name.startswith("utm") else "geo"]) as dataset:
        source, transform, crs, nodata = dataset.read(), dataset.transform, dataset.crs, \
            dataset.nodata
    with open_pyramid(built[name]) as pyramid:
        z = pyramid.levels[0]
        tms = pyramid.tms
        for col, row in pyramid.stored_tiles(z):
            left, bottom, right, top = tms.xy_bounds(col, row, int(z))
            size = tms.matrix(int(z)).cellSize
            expected = np.full((source.shape[0], 256, 256), nodata, dtype=source.dtype)
            reproject(source, expected, src_transform=transform, src_crs=crs,
                      src_nodata=nodata, dst_transform=Affine(size, 0, left, 0, -size, top),
                      dst_crs=tms.rasterio_crs, dst_nodata=nodata,
                      resampling=resampling_enum(method), UNIFIED_SRC_NODATA="NO")
            tile = pyramid.tile(z, col, row)
            assert np.array_equal(np.ma.getmaskarray(tile), ~valid_mask(expected, nodata))
            difference = np.abs(tile.filled(0).astype(float) - np.where(
                valid_mask(expected, nodata), expected, 0).astype(float))
            # The crop's origin is rounded differently from the whole source's: float
            # noise, which rounds an integer result the other way now and then.
            assert difference.max() <= (1 if source.dtype.kind in "iu" else 1e-3)
            assert (difference == 0).mean() > 0.999


def _jumps(values: np.ma.MaskedArray, columns: list[int]) -> np.ndarray:
    """|step across column k-1 -> k minus the mean of the steps either side|."""
    out = []
    for k in columns:
        step = values[:, k] - values[:, k - 1]
        around = ((values[:, k - 1] - values[:, k - 2]) + (values[:, k + 1] - values[:, k])) / 2
        out.append(np.ma.abs(step - around).compressed())
    return np.concatenate(out)


@pytest.mark.parametrize("method", ["bilinear", "cubic", "average"])
def test_tiles_join_without_seams(folder: Path, built: dict[str, Path], method: str) -> None:
    target = folder / f"seams_{method}.zarr"
    build_pyramid(built["utm"], target, resampling=method, overview_resampling=method)
    with open_pyramid(target) as pyramid:
        for z in pyramid.levels[:2]:
            values = pyramid.level(z).read(1, masked=True).astype(float)
            values = np.ma.masked_where(np.ma.getmaskarray(values), values)
            for grid in (values, values.T):
                edges = [k for k in range(256, grid.shape[1] - 1, 256)]
                inner = [k for k in range(3, grid.shape[1] - 2) if k % 256 not in (0, 1, 255)]
                if not edges:
                    continue
                assert _jumps(grid, edges).max() <= _jumps(grid, inner).max()


def test_antimeridian_and_0_360_land_where_they_are(folder: Path) -> None:
    for make in (sources.dateline, sources.lon_0_360):
        path = make(folder)
        for tms_name in ("WebMercatorQuad", "WGS1984Quad"):
            target = folder / f"{path.stem}_{tms_name}.zarr"
            build_pyramid(path, target, tms=tms_name, resampling="nearest")
            with open_pyramid(target) as pyramid:
                z = pyramid.levels[0]
                columns = {col for col, _ in pyramid.stored_tiles(z)}
                width = pyramid.tms.matrix(int(z)).matrixWidth
                assert 0 in columns and width - 1 in columns
                reader = pyramid.level(z)
                values = reader.read(1, masked=True)
                rows, cols = np.nonzero(~np.ma.getmaskarray(values))
                xs, ys = reader.transform @ (cols + 0.5, rows + 0.5)
                lon, _ = pyproj.Transformer.from_crs(
                    reader.crs.to_wkt(), "EPSG:4326", always_xy=True).transform(xs, ys)
                error = np.abs(values.compressed() - lon)
                error = np.minimum(error, 360 - error)
                with rasterio.open(path) as dataset:
                    assert error.max() <= dataset.res[0]  # within a source pixel


def test_data_beyond_web_mercator_latitudes(folder: Path) -> None:
    target = folder / "polar_wm.zarr"
    build_pyramid(sources.polar(folder), target, resampling="bilinear")
    with open_pyramid(target) as pyramid:
        for z in pyramid.levels:
            values = pyramid.level(z).read(1, masked=True)
            assert pyramid.limits(z).min_row == 0
            assert np.isfinite(values.compressed()).all()
            assert values.max() <= 85.06 and values.min() >= 59.9
            assert not np.ma.getmaskarray(values)[0].all()  # the top row holds data


def test_nan_and_sentinel_nodata(folder: Path, built: dict[str, Path]) -> None:
    target = folder / "nan.zarr"
    build_pyramid(sources.nan_float32(folder), target)
    with open_pyramid(target) as pyramid:
        for z in pyramid.levels:
            reader = pyramid.level(z)
            assert math.isnan(reader.nodata) and reader.array.fill_value != reader.array.fill_value
            values = reader.read(1)
            valid = values[np.isfinite(values)]
            assert valid.min() >= -150 - 1e-3 and valid.max() <= 250 + 1e-3
    with open_pyramid(built["utm_wm"]) as pyramid:
        for z in pyramid.levels:
            values = pyramid.level(z).read(1)
            assert pyramid.level(z).nodata == -9999.0
            real = values[values != -9999.0]
            assert real.min() >= -150 - 1e-3  # a nodata pixel never pulled an average


def test_categorical_mode_keeps_classes_and_the_majority(folder: Path) -> None:
    path = sources.categorical_uint8(folder)
    target = folder / "classes.zarr"
    build_pyramid(path, target, resampling="mode")
    with open_pyramid(target) as pyramid:
        assert pyramid.resampling_method == "mode"
        for z in pyramid.levels:
            classes = set(np.unique(pyramid.level(z).read(1)).tolist())
            assert classes <= {0, 1, 2, 3, 4, 5}
        fine = pyramid.level(pyramid.levels[0]).read(1)
        coarse = pyramid.level(pyramid.levels[1]).read(1)
        row, col = plan_pyramid(path).levels[1].offset
        for i, j in [(300, 300), (310, 290), (280, 320)]:
            window = fine[2 * i + row:2 * i + row + 2, 2 * j + col:2 * j + col + 2].ravel()
            window = window[window != 0]
            values, counts = np.unique(window, return_counts=True)
            if counts.size and (counts == counts.max()).sum() == 1:
                assert coarse[i, j] == values[counts.argmax()]


@pytest.mark.parametrize("make, dtype", [(sources.geographic_uint8_rgb, "uint8"),
                                         (sources.geographic_int16, "int16"),
                                         (sources.utm_float32, "float32")])
def test_source_dtypes_are_kept(tmp_path: Path, make, dtype: str) -> None:
    path = make(tmp_path)
    target = tmp_path / f"dtype_{dtype}.zarr"
    build_pyramid(path, target, tms="WGS1984Quad")
    with rasterio.open(path) as dataset:
        count, nodata = dataset.count, dataset.nodata
    with open_pyramid(target) as pyramid:
        for z in pyramid.levels:
            reader = pyramid.level(z)
            assert reader.dtypes == (dtype,) * count and reader.nodata == nodata
            assert reader.array.fill_value == nodata
            assert reader.array.dimension_names == (("band", "y", "x") if count > 1
                                                    else ("y", "x"))


def test_other_tile_matrix_sets(folder: Path, built: dict[str, Path]) -> None:
    utm31 = folder / "utm31.zarr"
    plan = build_pyramid(built["utm"], utm31, tms="UTM31WGS84Quad", minzoom=6)
    assert plan.minzoom == 6 and all(level.factor == 2 for level in plan.levels[1:])
    canada = folder / "canada.zarr"
    plan = build_pyramid(built["utm"], canada, tms="CanadianNAD83_LCC", minzoom=9, maxzoom=12)
    assert all(level.factor is None for level in plan.levels[1:])  # 5/8/13... tiles
    custom = morecantile.TileMatrixSet.custom(
        [390000, 4980000, 430000, 5020000], pyproj.CRS.from_epsg(32633), minzoom=0,
        maxzoom=6, id="Local", decimation_base=3)
    local = folder / "local.zarr"
    build_pyramid(built["utm"], local, tms=custom)
    for target in (utm31, canada, local):
        with open_pyramid(target) as pyramid:
            for z in pyramid.levels:
                values = pyramid.level(z).read(1, masked=True)
                assert values.count() > 0
                assert values.min() >= -150 - 1e-3 and values.max() <= 250 + 1e-3


def test_shards_hold_the_same_tiles(folder: Path, built: dict[str, Path]) -> None:
    target = folder / "sharded.zarr"
    build_pyramid(built["utm"], target, shards=2)
    with open_pyramid(target) as sharded, open_pyramid(built["utm_wm"]) as plain:
        for z in plain.levels:
            assert sharded.level(z).array.shards == (512, 512)
            assert np.array_equal(sharded.level(z).read(), plain.level(z).read())
            assert sharded.stored_tiles(z) == plain.stored_tiles(z)


def test_resume_finishes_with_the_bytes_of_a_clean_build(folder: Path,
                                                         built: dict[str, Path]) -> None:
    clean = folder / "clean.zarr"
    build_pyramid(built["utm"], clean, workers=1, memory_limit=4 * 2**20)
    target = folder / "resumed.zarr"
    calls: list[float] = []

    class Interrupted(Exception):
        pass

    def stop_early(fraction: float) -> None:
        calls.append(fraction)
        if len(calls) == 4:
            raise Interrupted

    with pytest.raises(Interrupted) as caught:
        build_pyramid(built["utm"], target, workers=2, memory_limit=4 * 2**20,
                      progress=stop_early)
    assert "resume=True" in caught.value.__notes__[0]
    assert not target.exists()
    [partial] = glob.glob(f"{target}.geozarr-partial-*")
    build_pyramid(built["utm"], target, workers=2, memory_limit=64 * 2**20, resume=True)
    assert not os.path.exists(partial)
    assert stored_files(target) == stored_files(clean)
    before = stored_files(target)
    build_pyramid(built["utm"], target, resume=True)  # already complete: left as it is
    assert stored_files(target) == before
    with pytest.raises(NodeExistsError, match="already exists"):
        build_pyramid(built["utm"], target)
    with pytest.raises(NodeExistsError, match="already exists"):
        build_pyramid(built["utm"], target, resume=True, resampling="nearest")


def test_workers_and_progress(folder: Path, built: dict[str, Path]) -> None:
    seen: list[float] = []
    one = folder / "one_worker.zarr"
    build_pyramid(built["utm"], one, workers=1, progress=seen.append)
    assert seen == sorted(seen) and seen[-1] == 1.0
    assert stored_files(one) == stored_files(built["utm_wm"])


def test_memory_stays_within_the_limit(folder: Path) -> None:
    data = sources.smooth(1500, 1500).astype("float32")  # 9 MB of source pixels
    path = sources.write_tif(folder / "large.tif", data, crs="EPSG:32633",
                             transform=sources.from_origin(400000, 5000000, 10, 10))
    limit = 8 * 2**20
    tracemalloc.start()
    try:
        build_pyramid(path, folder / "large.zarr", memory_limit=limit, workers=2)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < limit


def test_a_source_much_finer_than_the_finest_level(folder: Path) -> None:
    """Tiles 11 source pixels wide per pixel are read in parts and block-averaged 5 x 5
    first (gdal2tiles' query window does the same): memory stays bounded, the result is
    exactly GDAL's warp of the block-averaged source, and close to GDAL's one-step average
    of the whole source (within 1 % of the data's range for 99 % of pixels)."""
    data = sources.smooth(1500, 1500).astype("float32")
    path = sources.write_tif(folder / "fine.tif", data, crs="EPSG:32633",
                             transform=sources.from_origin(400000, 5000000, 10, 10))
    plan = plan_pyramid(path)
    target = folder / "coarse_only.zarr"
    limit = 8 * 2**20
    tracemalloc.start()
    try:
        build_pyramid(path, target, maxzoom=plan.maxzoom - 3, memory_limit=limit)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < limit
    with open_pyramid(target) as pyramid, rasterio.open(path) as dataset:
        level = pyramid.level(pyramid.levels[0])
        assert round(level.res[0] / plan.source_resolution) == 11  # so blocks of 5 x 5
        blocks = dataset.read(1).reshape(300, 5, 300, 5).mean(axis=(1, 3), dtype="float64")
        ours = level.read(1)
        for source, transform, exact in (
                (blocks.astype("float32"), dataset.transform @ Affine.scale(5), True),
                (dataset.read(1), dataset.transform, False)):
            warped = np.full(level.shape, np.nan, dtype="float32")
            reproject(source, warped, src_transform=transform, src_crs=dataset.crs,
                      dst_transform=level.transform, dst_crs=level.crs, src_nodata=np.nan,
                      dst_nodata=np.nan, resampling=resampling_enum("average"))
            both = np.isfinite(ours) & np.isfinite(warped)
            difference = np.abs(ours - warped)[both]
            if exact:
                assert np.array_equal(np.isfinite(ours), np.isfinite(warped))
                assert difference.max() < 1e-3
            else:  # the blocks' edge is not the source's: a pixel's worth of coverage moves
                assert both.sum() >= 0.99 * np.isfinite(warped).sum()
                assert np.median(difference) < 1.0 and np.percentile(difference, 99) < 4.0


def test_stores_and_zip_archives(folder: Path, built: dict[str, Path]) -> None:
    store = MemoryStore()
    build_pyramid(built["geo"], store, tms="WGS1984Quad")
    archive = folder / "pyramid.zip"
    build_pyramid(built["geo"], archive, tms="WGS1984Quad")
    with open_pyramid(store) as in_memory, open_pyramid(archive) as zipped, \
            open_pyramid(built["geo_wgs"]) as directory:
        for z in directory.levels:
            assert np.array_equal(in_memory.level(z).read(), directory.level(z).read())
            assert np.array_equal(zipped.level(z).read(), directory.level(z).read())
    with pytest.raises(NodeExistsError, match="not empty"):
        build_pyramid(built["geo"], store, tms="WGS1984Quad")
    build_pyramid(built["geo"], store, tms="WGS1984Quad", overwrite=True, maxzoom=4)
    assert open_pyramid(store).levels[0] == "4"


def test_overwrite_replaces_only_when_asked(folder: Path, built: dict[str, Path]) -> None:
    target = folder / "replace.zarr"
    build_pyramid(built["utm"], target, minzoom=9, maxzoom=10)
    build_pyramid(built["utm"], target, minzoom=8, maxzoom=9, overwrite=True)
    assert open_pyramid(target).levels == ("9", "8")
    not_zarr = folder / "folder_of_things"
    not_zarr.mkdir()
    (not_zarr / "notes.txt").write_text("keep me")
    with pytest.raises(GeoZarrError, match="not a Zarr store"):
        build_pyramid(built["utm"], not_zarr, overwrite=True)
    assert (not_zarr / "notes.txt").read_text() == "keep me"


@pytest.mark.parametrize("keywords, error, message", [
    ({"tms": "NoSuchQuad"}, MetadataError, "unknown TileMatrixSet"),
    ({"maxzoom": 25}, MetadataError, "not a TileMatrix"),
    ({"minzoom": 14, "maxzoom": 12}, MetadataError, "above maxzoom"),
    ({"resampling": "gauss"}, MetadataError, "unknown resampling"),
    ({"overview_resampling": "fancy"}, MetadataError, "unknown resampling"),
    ({"nodata": 1e40}, MetadataError, "outside the range"),
    ({"workers": 0}, MetadataError, "workers must be a positive integer"),
    ({"shards": -1}, MetadataError, "shards must be a positive integer"),
    ({"compressor": {"id": "no-such-codec"}}, GeoZarrError, "unknown numcodecs codec"),
])
def test_bad_input_writes_nothing(folder: Path, built: dict[str, Path], keywords: dict,
                                  error: type[Exception], message: str) -> None:
    target = folder / "never.zarr"
    with pytest.raises(error, match=message):
        build_pyramid(built["utm"], target, **keywords)
    assert not glob.glob(f"{target}*")


def test_source_without_crs_and_existing_destination_write_nothing(folder: Path,
                                                                   built: dict[str, Path]
                                                                   ) -> None:
    plain = folder / "plain.tif"
    with pytest.warns(rasterio.errors.NotGeoreferencedWarning):
        with rasterio.open(plain, "w", driver="GTiff", width=8, height=8, count=1,
                           dtype="uint8") as dataset:
            dataset.write(np.ones((1, 8, 8), dtype="uint8"))
    target = folder / "nowhere.zarr"
    with pytest.raises(GeoreferencingError, match="no CRS"), \
            pytest.warns(rasterio.errors.NotGeoreferencedWarning):
        build_pyramid(plain, target)
    assert not glob.glob(f"{target}*")
    before = stored_files(built["utm_wm"])
    with pytest.raises(NodeExistsError, match="overwrite=True"):
        build_pyramid(built["utm"], built["utm_wm"])
    assert stored_files(built["utm_wm"]) == before
    assert not glob.glob(f"{built['utm_wm']}.geozarr-partial-*")
