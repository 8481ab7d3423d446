"""Datasets written by xarray + rioxarray (CF: a ``spatial_ref`` grid-mapping variable named by
``grid_mapping``, 1-D coordinate variables of cell centres): geozarr's raster layer reports what
GDAL reports for the same dataset.

Zarr v2 stores are compared with GDAL 3.10 (through rasterio). GDAL 3.10 cannot open
zarr-python's v3 arrays ("Unsupported codec: bytes": it predates the codec every v3 array
needs), so v3 stores are compared with what rioxarray reports (CRS, transform, nodata) and
xarray reads (every value, the time coordinate), through a GeoTIFF twin written by GDAL that
carries those values and gives rasterio's semantics for bounds, windows and decimated reads.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import rioxarray  # noqa: F401  (registers the .rio accessor)
import xarray as xr
from rasterio.io import DatasetReader
from rasterio.windows import Window

import geozarr

from .geo_helpers import (
    CountingStore,
    assert_matches_gdal,
    assert_same_coordinate_helpers,
    assert_same_georeferencing,
    assert_same_pixels,
    assert_same_reads,
    connection,
    gdal_open,
    gdal_subdatasets,
    geotiff_twin,
    open_geozarr,
    raster_view,
)

pytestmark = [
    pytest.mark.filterwarnings("ignore::geozarr.MetadataWarning"),
    # zarr-python says consolidated metadata is not part of the v3 spec yet; xarray writes it.
    pytest.mark.filterwarnings("ignore::UserWarning:zarr"),
]

HEIGHT, WIDTH = 20, 30


def _ramp(shape: tuple[int, ...], dtype: str, step: float = 0.25) -> np.ndarray:
    ramp = np.arange(int(np.prod(shape)), dtype=np.int64) * 11 % 881
    return (ramp * step - 50).astype(dtype).reshape(shape)


def _centres(origin: float, step: float, count: int) -> np.ndarray:
    return origin + step * (np.arange(count) + 0.5)


def utm_nan_with_geotransform() -> xr.Dataset:
    """2-D float32, NaN nodata (xarray's default _FillValue), EPSG:32633, and a GeoTransform
    attribute on spatial_ref (rioxarray's write_transform) that agrees with the coordinates."""
    values = _ramp((HEIGHT, WIDTH), "float32")
    values[3, 4] = values[10, 20] = np.nan
    da = xr.DataArray(values, dims=("y", "x"), name="elevation", coords={
        "y": _centres(5000000.0, -10.0, HEIGHT), "x": _centres(500000.0, 10.0, WIDTH)})
    da = da.rio.write_crs("EPSG:32633")
    da = da.rio.write_transform(da.rio.transform(recalc=True))
    return da.to_dataset()


def time_latitude_longitude_fill() -> xr.Dataset:
    """(time, latitude, longitude) float32, 3 daily steps, EPSG:4326, _FillValue -1 (in the
    data; v3 keeps the fill_value NaN apart from it)."""
    values = _ramp((3, HEIGHT, WIDTH), "float32")
    values[:, ::7, ::5] = -1.0
    da = xr.DataArray(values, dims=("time", "latitude", "longitude"), name="t2m", coords={
        "time": pd.date_range("2020-01-01", periods=3, freq="D"),
        "latitude": _centres(50.0, -0.25, HEIGHT),
        "longitude": _centres(5.0, 0.25, WIDTH)})
    da.encoding["_FillValue"] = -1.0
    return da.rio.write_crs("EPSG:4326").to_dataset()


def packed_int16() -> xr.Dataset:
    """int16 packed with scale_factor / add_offset, units "K", _FillValue -32768, EPSG:3035."""
    kelvin = 250.0 + _ramp((HEIGHT, WIDTH), "float64", step=0.05)
    kelvin[0, 0] = np.nan
    da = xr.DataArray(kelvin, dims=("y", "x"), name="temperature", attrs={"units": "K"},
                      coords={"y": _centres(3000000.0, -1000.0, HEIGHT),
                              "x": _centres(4000000.0, 1000.0, WIDTH)})
    da.encoding.update(dtype="int16", scale_factor=0.01, add_offset=273.15,
                       _FillValue=np.int16(-32768))
    return da.rio.write_crs("EPSG:3035").to_dataset()


def two_variables() -> xr.Dataset:
    """Two 2-D variables (float32 and float64) sharing the grid; written into group "sub"."""
    coords = {"y": _centres(200.0, -2.0, HEIGHT), "x": _centres(0.0, 2.0, WIDTH)}
    ds = xr.Dataset({
        "t2m": xr.DataArray(_ramp((HEIGHT, WIDTH), "float32"), dims=("y", "x"), coords=coords),
        "tp": xr.DataArray(_ramp((HEIGHT, WIDTH), "float64", 0.5), dims=("y", "x"),
                           coords=coords),
    })
    return ds.rio.write_crs("EPSG:32631")


@dataclass(frozen=True)
class XarrayCase:
    """A dataset xarray writes, and the data arrays of it to compare (paths in the store)."""

    name: str
    build: Callable[[], xr.Dataset]
    arrays: tuple[str, ...]
    group: str | None = None


CASES = (
    XarrayCase("utm_nan_with_geotransform", utm_nan_with_geotransform, ("/elevation",)),
    XarrayCase("time_latitude_longitude_fill", time_latitude_longitude_fill, ("/t2m",)),
    XarrayCase("packed_int16", packed_int16, ("/temperature",)),
    XarrayCase("group_two_variables", two_variables, ("/sub/t2m", "/sub/tp"), group="sub"),
)


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, int], Path]:
    """Every case written by xarray in both formats: (case, zarr_format) -> path."""
    root = tmp_path_factory.mktemp("xarray_geo")
    paths = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zarr-python's notes on v3 consolidated metadata
        for case in CASES:
            for zarr_format in (2, 3):
                path = root / f"{case.name}_v{zarr_format}.zarr"
                case.build().to_zarr(path, group=case.group, zarr_format=zarr_format,
                                     mode="w", consolidated=True)
                paths[case.name, zarr_format] = path
    return paths


def _cases(zarr_format: int) -> list[Any]:
    return [pytest.param(case, array, zarr_format, id=f"{case.name}{array.replace('/', '-')}")
            for case in CASES for array in case.arrays]


# -- v2: GDAL is the reference -------------------------------------------------------------------
@pytest.mark.parametrize(("case", "array", "zarr_format"), _cases(2))
def test_v2_matches_gdal(written: dict[tuple[str, int], Path], case: XarrayCase, array: str,
                         zarr_format: int) -> None:
    path = written[case.name, zarr_format]
    reader, _ = open_geozarr(str(path), array=array)
    with gdal_open(path, array) as reference:
        assert reference.crs is not None  # GDAL resolved the CF grid mapping
        assert_matches_gdal(reader, reference)
        assert_same_reads(reader, reference)
        assert_same_coordinate_helpers(reader, reference)


def test_v2_connection_string_slice_matches_gdal(written: dict[tuple[str, int], Path]) -> None:
    """``ZARR:"path":/t2m:2`` is the 2-D slice at time index 2, as in GDAL; ``sel`` by name
    gives the same raster."""
    path = written["time_latitude_longitude_fill", 2]
    with gdal_open(path, "/t2m:2") as reference:
        reader, _ = open_geozarr(connection(path, "/t2m:2"))
        assert reader.count == 1
        assert_matches_gdal(reader, reference)
        by_name, _ = open_geozarr(str(path), array="t2m", sel={"time": 2})
        assert_matches_gdal(by_name, reference)


def test_v2_scales_offsets_units_match_gdal(written: dict[tuple[str, int], Path]) -> None:
    path = written["packed_int16", 2]
    reader, _ = open_geozarr(str(path), array="temperature")
    with gdal_open(path, "/temperature") as reference:
        assert tuple(reader.scales) == pytest.approx(tuple(reference.scales))
        assert tuple(reader.offsets) == pytest.approx(tuple(reference.offsets))
        assert tuple(reader.units) == tuple(reference.units)
        assert reader.read().dtype == np.int16  # read packed, as rasterio does


def test_v2_subdatasets_in_a_group_are_gdals(written: dict[tuple[str, int], Path]) -> None:
    """Every >= 2-D array GDAL lists (in GDAL's spelling) is listed, and nothing GDAL does not
    list (GDAL 3.10 also lists 1-D and 0-D arrays there; later GDALs do not by default)."""
    path = written["group_two_variables", 2]
    theirs = gdal_subdatasets(path)
    rasters = [connection(path, "/sub/t2m"), connection(path, "/sub/tp")]
    assert set(rasters) <= set(theirs), theirs
    ds = geozarr.open(str(path))
    assert set(rasters) <= set(ds.subdatasets) <= set(theirs), ds.subdatasets
    assert sorted(ds.arrays) == ["/sub/t2m", "/sub/tp"]


@pytest.mark.parametrize("zarr_format", [2, 3])
def test_data_arrays_exclude_coordinates_and_grid_mapping(
        written: dict[tuple[str, int], Path], zarr_format: int) -> None:
    ds = geozarr.open(str(written["time_latitude_longitude_fill", zarr_format]))
    assert list(ds.arrays) == ["/t2m"]
    reader, _ = open_geozarr(str(written["time_latitude_longitude_fill", zarr_format]))
    assert reader.count == 3


# -- v3: rioxarray and xarray are the reference ----------------------------------------------
@contextmanager
def rioxarray_reference(path: Path, array: str) -> Iterator[tuple[DatasetReader, xr.DataArray]]:
    """A GeoTIFF twin holding what rioxarray and xarray report for ``array`` of ``path``: its
    CRS, transform and nodata (rioxarray), and its raw values (xarray, unmasked, unscaled)."""
    group, _, name = array.strip("/").rpartition("/")
    ds = xr.open_zarr(path, group=group or None, mask_and_scale=False, decode_coords="all",
                      consolidated=True)
    da = ds[name]
    y_dim, x_dim = da.rio.y_dim, da.rio.x_dim
    values = raster_view(da.values, da.dims, y_dim, x_dim)
    with geotiff_twin(values, crs=da.rio.crs, transform=da.rio.transform(),
                      nodata=da.rio.nodata) as twin:
        yield twin, da


@pytest.mark.parametrize(("case", "array", "zarr_format"), _cases(3))
def test_v3_matches_rioxarray(written: dict[tuple[str, int], Path], case: XarrayCase,
                              array: str, zarr_format: int) -> None:
    path = written[case.name, zarr_format]
    reader, _ = open_geozarr(str(path), array=array)
    with rioxarray_reference(path, array) as (reference, _):
        assert reference.crs is not None  # rioxarray resolved the CF grid mapping
        assert_same_georeferencing(reader, reference)
        assert_same_pixels(reader.read(), reference.read())
        assert_same_reads(reader, reference)
        assert_same_coordinate_helpers(reader, reference)


def test_v3_time_band_tags_are_the_time_coordinate(written: dict[tuple[str, int], Path]) -> None:
    """Band i carries DIM_time_INDEX i and DIM_time_VALUE the i-th time, ISO 8601."""
    path = written["time_latitude_longitude_fill", 3]
    reader, _ = open_geozarr(str(path), array="t2m")
    with rioxarray_reference(path, "/t2m") as (_, da):
        times = da["time"].values
    assert reader.count == len(times)
    for index, time in enumerate(times):
        tags = reader.tags(index + 1)
        assert tags["DIM_time_INDEX"] == str(index)
        assert np.datetime64(tags["DIM_time_VALUE"].rstrip("Z"), "ns") == time


def test_v3_slice_by_name_is_the_time_step(written: dict[tuple[str, int], Path]) -> None:
    path = written["time_latitude_longitude_fill", 3]
    whole, _ = open_geozarr(str(path), array="t2m")
    step, _ = open_geozarr(str(path), array="t2m", sel={"time": 1})
    by_string, _ = open_geozarr(connection(path, "/t2m:1"))
    assert step.count == by_string.count == 1
    assert_same_pixels(step.read(1), whole.read(2))
    assert_same_pixels(by_string.read(1), whole.read(2))
    assert step.transform == whole.transform and step.crs == whole.crs


# -- v3 sharding (GDAL 3.10: "Unsupported codec: sharding_indexed") ----------------------------
@pytest.fixture(scope="module")
def sharded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The UTM raster as v3 shards of 8 x 16 holding inner chunks of 4 x 8."""
    path = tmp_path_factory.mktemp("xarray_sharded") / "sharded.zarr"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        utm_nan_with_geotransform().to_zarr(
            path, zarr_format=3, mode="w", consolidated=True,
            encoding={"elevation": {"chunks": (4, 8), "shards": (8, 16)}})
    return path


def test_v3_sharded_matches_rioxarray(sharded: Path) -> None:
    reader, _ = open_geozarr(str(sharded), array="elevation")
    with rioxarray_reference(sharded, "/elevation") as (reference, _):
        assert_same_georeferencing(reader, reference)
        assert_same_pixels(reader.read(), reference.read())
        assert_same_reads(reader, reference)


def test_v3_sharded_window_reads_part_of_one_shard(sharded: Path) -> None:
    """A window inside inner chunk (2, 2) reads shard (1, 1) only, by byte ranges (its index
    and that inner chunk), never the whole shard."""
    store = CountingStore(sharded)
    reader = geozarr.open_raster(store, array="elevation")
    _ = (reader.crs, reader.transform, reader.nodata)
    store.reset()
    window = Window(col_off=17, row_off=9, width=5, height=3)
    got = reader.read(1, window=window)
    assert store.chunk_keys("elevation") == {"elevation/c/1/1"}
    assert not store.whole_chunk_reads("elevation"), store.whole_reads
    with rioxarray_reference(sharded, "/elevation") as (reference, _):
        assert_same_pixels(got, reference.read(1, window=window))
