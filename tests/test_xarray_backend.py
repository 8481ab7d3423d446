"""The xarray backend (``engine="geozarr"``) against geozarr's raster layer and xarray's own
zarr engine.

For every committed geo and GDAL fixture, and for stores written by xarray + rioxarray (v2,
v3, sharded, a group), by netCDF4 (NCZarr) and by GDAL, each data array opens with the values,
CRS and transform ``geozarr.open_raster`` reports, seen through rioxarray. Where xarray's zarr
engine can open the same store, every variable it shows is shown the same (values, dtype,
dimensions, attributes, after CF decoding).
"""

from __future__ import annotations

import json
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

import netCDF4
import numpy as np
import pandas as pd
import pyproj
import pytest
import rasterio
import rioxarray  # noqa: F401  (registers the .rio accessor)
import xarray as xr
from affine import Affine
from rasterio.crs import CRS

import geozarr
from geozarr.errors import (
    DimensionError,
    GeoreferencingWarning,
    MetadataError,
    NodeNotFoundError,
    StoreError,
)
from geozarr.storage import DirectoryStore, MemoryStore, ZipStore
from geozarr.xarray_backend import decode_fill_attribute

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "data"
COMMITTED = sorted((FIXTURES / "geo").glob("*.zarr")) + sorted((FIXTURES / "gdal").glob("*.zarr"))
HEIGHT, WIDTH = 20, 30

pytestmark = [
    pytest.mark.filterwarnings("ignore::geozarr.MetadataWarning"),
    pytest.mark.filterwarnings("ignore::geozarr.GeoreferencingWarning"),
    # zarr-python's note that consolidated metadata is not in the v3 spec yet.
    pytest.mark.filterwarnings("ignore::UserWarning:zarr"),
    # rioxarray 0.19 still multiplies Affines with "*".
    pytest.mark.filterwarnings("ignore::PendingDeprecationWarning:rioxarray"),
]


# -- helpers ----------------------------------------------------------------------------------
def open_geozarr(target: Any, **kwargs: Any) -> xr.Dataset:
    return xr.open_dataset(target, engine="geozarr", **kwargs)


def raster_values(da: xr.DataArray, reader: geozarr.RasterReader) -> np.ndarray:
    """``da`` as ``reader.read()`` lays it out: (bands, rows, cols)."""
    ordered = da.transpose(*reader.band_dims, reader.y_dim, reader.x_dim)
    return ordered.values.reshape(reader.count, reader.height, reader.width)


def assert_matches_raster(ds: xr.Dataset, name: str, reader: geozarr.RasterReader) -> None:
    """Values (raw), CRS, transform and spatial dims of ``ds[name]`` are the reader's."""
    da = ds[name]
    np.testing.assert_array_equal(raster_values(da, reader), reader.read())
    if reader.crs is not None or not reader.transform.is_identity:
        # Without georeferencing there is nothing to tell rioxarray which dims are spatial.
        assert (da.rio.x_dim, da.rio.y_dim) == (reader.x_dim, reader.y_dim)
    if reader.crs is None:
        assert da.rio.crs is None
    else:
        assert da.rio.crs == reader.crs, (da.rio.crs, reader.crs)
    assert tuple(da.rio.transform())[:6] == pytest.approx(tuple(reader.transform)[:6],
                                                         rel=1e-12, abs=1e-9)


def data_array_cases() -> list[Any]:
    cases = []
    for root in COMMITTED:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            arrays = geozarr.open(str(root)).arrays
        for path in arrays:
            cases.append(pytest.param(root, path, id=f"{root.parent.name}/{root.name}{path}"))
    return cases


def assert_same_as_zarr_engine(path: Path, **kwargs: Any) -> xr.Dataset:
    """Every variable xarray's zarr engine shows, geozarr shows the same; returns ours."""
    reference = xr.open_dataset(path, engine="zarr", **kwargs)
    ours = open_geozarr(path, **kwargs)
    assert set(reference.variables) <= set(ours.variables)
    for name, expected in reference.variables.items():
        got = ours.variables[name]
        assert got.dims == expected.dims, name
        assert got.dtype == expected.dtype, name
        np.testing.assert_array_equal(got.values, expected.values, err_msg=name)
        added = {"grid_mapping", "coordinates", "axis"}
        assert {k: v for k, v in got.attrs.items() if k not in added} == \
            {k: v for k, v in expected.attrs.items() if k not in added}, name
    assert set(reference.coords) <= set(ours.coords)
    assert ours.attrs == reference.attrs
    return ours


class CountingStore(DirectoryStore):
    """A directory store that records the keys read, to check what opening costs."""

    def __init__(self, root: Path):
        super().__init__(root, read_only=True)
        self.keys: list[str] = []

    def get(self, key: str) -> bytes | None:
        self.keys.append(key)
        return super().get(key)

    def get_ranges(self, key: str, ranges: Any) -> list[bytes] | None:
        self.keys.append(key)
        return super().get_ranges(key, ranges)

    def chunk_keys(self) -> list[str]:
        names = {"zarr.json", ".zarray", ".zattrs", ".zgroup", ".zmetadata"}
        return [key for key in self.keys if key.rsplit("/", 1)[-1] not in names]


# -- stores written by other tools --------------------------------------------------------------
def _centres(origin: float, step: float, count: int) -> np.ndarray:
    return origin + step * (np.arange(count) + 0.5)


def _ramp(shape: tuple[int, ...], dtype: str) -> np.ndarray:
    """A ramp with -1 (a nodata value below) every 50th cell."""
    ramp = ((np.arange(int(np.prod(shape))) * 7 % 881) * 0.25 - 50).astype(dtype)
    ramp[::50] = -1
    return ramp.reshape(shape)


def utm_nan() -> xr.Dataset:
    values = _ramp((HEIGHT, WIDTH), "float32")
    values[3, 4] = np.nan
    da = xr.DataArray(values, dims=("y", "x"), name="elevation", coords={
        "y": _centres(5000000.0, -10.0, HEIGHT), "x": _centres(500000.0, 10.0, WIDTH)})
    return da.rio.write_crs("EPSG:32633").to_dataset()


def time_lat_lon_fill() -> xr.Dataset:
    values = _ramp((3, HEIGHT, WIDTH), "float32")
    values[:, ::7, ::5] = -1.0
    da = xr.DataArray(values, dims=("time", "latitude", "longitude"), name="t2m", coords={
        "time": pd.date_range("2020-01-01", periods=3, freq="D"),
        "latitude": _centres(50.0, -0.25, HEIGHT), "longitude": _centres(5.0, 0.25, WIDTH)})
    da.encoding["_FillValue"] = -1.0
    return da.rio.write_crs("EPSG:4326").to_dataset()


def packed_int16() -> xr.Dataset:
    kelvin = 250.0 + _ramp((HEIGHT, WIDTH), "float64") / 20
    kelvin[0, 0] = np.nan
    da = xr.DataArray(kelvin, dims=("y", "x"), name="temperature", attrs={"units": "K"},
                      coords={"y": _centres(3000000.0, -1000.0, HEIGHT),
                              "x": _centres(4000000.0, 1000.0, WIDTH)})
    da.encoding.update(dtype="int16", scale_factor=0.01, add_offset=273.15,
                       _FillValue=np.int16(-32768))
    return da.rio.write_crs("EPSG:3035").to_dataset()


XARRAY_CASES = {"utm_nan": (utm_nan, "elevation"), "time_lat_lon_fill": (time_lat_lon_fill, "t2m"),
                "packed_int16": (packed_int16, "temperature")}


@pytest.fixture(scope="module")
def xarray_written(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, int], Path]:
    """Every xarray case in both formats, plus the UTM case sharded and in a group."""
    root = tmp_path_factory.mktemp("xarray_written")
    paths = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name, (build, _) in XARRAY_CASES.items():
            for zarr_format in (2, 3):
                path = root / f"{name}_v{zarr_format}.zarr"
                build().to_zarr(path, zarr_format=zarr_format, mode="w", consolidated=True)
                paths[name, zarr_format] = path
        sharded = root / "sharded.zarr"
        utm_nan().to_zarr(sharded, zarr_format=3, mode="w", consolidated=True, encoding={
            "elevation": {"chunks": (4, 8), "shards": (8, 16)}})
        paths["sharded", 3] = sharded
        grouped = root / "grouped.zarr"
        utm_nan().to_zarr(grouped, group="sub/inner", zarr_format=3, mode="w")
        paths["grouped", 3] = grouped
    return paths


@pytest.fixture(scope="module")
def nczarr(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """temp(time, y, x) with a CF grid mapping "crs" (EPSG:32633), written by netCDF4 as
    NCZarr with the dimension names only in ``_nczarr_array`` (no _ARRAY_DIMENSIONS)."""
    path = tmp_path_factory.mktemp("nczarr") / "temp.zarr"
    ds = netCDF4.Dataset(f"file://{path}#mode=nczarr,file", "w")
    try:
        for name, size in (("time", 2), ("y", HEIGHT), ("x", WIDTH)):
            ds.createDimension(name, size)
        time = ds.createVariable("time", "f8", ("time",))
        time.units = "days since 2000-01-01"
        time[:] = [0.0, 31.0]
        ds.createVariable("y", "f8", ("y",))[:] = _centres(5000000.0, -10.0, HEIGHT)
        ds.createVariable("x", "f8", ("x",))[:] = _centres(500000.0, 10.0, WIDTH)
        crs = ds.createVariable("crs", "i4", ())
        for key, value in pyproj.CRS.from_epsg(32633).to_cf().items():
            setattr(crs, key, value)
        temp = ds.createVariable("temp", "f4", ("time", "y", "x"), fill_value=-999.0)
        temp.grid_mapping = "crs"
        temp.set_auto_mask(False)
        temp[:] = _ramp((2, HEIGHT, WIDTH), "float32")
    finally:
        ds.close()
    for attrs_file in path.rglob(".zattrs"):
        attrs = json.loads(attrs_file.read_text())
        attrs.pop("_ARRAY_DIMENSIONS", None)
        attrs_file.write_text(json.dumps(attrs))
    return path


#: GDAL-written cases: format, transform (north-up, and south-up).
GDAL_CASES = {
    "v2_north_up": ("ZARR_V2", Affine(10.0, 0.0, 500000.0, 0.0, -10.0, 5000000.0)),
    "v3_north_up": ("ZARR_V3", Affine(10.0, 0.0, 500000.0, 0.0, -10.0, 5000000.0)),
    "v2_south_up": ("ZARR_V2", Affine(10.0, 0.0, 500000.0, 0.0, 10.0, 4000000.0)),
}


@pytest.fixture(scope="module")
def gdal_written(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One-band int16 UTM rasters with nodata -1 that GDAL writes as Zarr (array "data")."""
    root = tmp_path_factory.mktemp("gdal")
    paths = {}
    for name, (fmt, transform) in GDAL_CASES.items():
        path = root / f"{name}.zarr"
        with rasterio.open(path, "w", driver="Zarr", width=WIDTH, height=HEIGHT, count=1,
                           dtype="int16", crs="EPSG:32633", nodata=-1, transform=transform,
                           FORMAT=fmt, ARRAY_NAME="data", BLOCKSIZE="8,16") as dataset:
            dataset.write(_ramp((1, HEIGHT, WIDTH), "int16"))
        paths[name] = path
    return paths


# -- the acceptance: what open_raster reports ---------------------------------------------------
@pytest.mark.parametrize(("root", "path"), data_array_cases())
def test_committed_fixture_matches_open_raster(root: Path, path: str) -> None:
    group, _, name = path.strip("/").rpartition("/")
    ds = open_geozarr(root, group=group or None, mask_and_scale=False)
    assert_matches_raster(ds, name or "data", geozarr.open_raster(str(root), array=path))


@pytest.mark.parametrize("case", ["utm_nan", "time_lat_lon_fill", "packed_int16"])
@pytest.mark.parametrize("zarr_format", [2, 3])
def test_xarray_written_matches_open_raster_and_zarr_engine(
        xarray_written: dict[tuple[str, int], Path], case: str, zarr_format: int) -> None:
    path = xarray_written[case, zarr_format]
    name = XARRAY_CASES[case][1]
    ours = assert_same_as_zarr_engine(path)
    assert set(ours.variables) == set(xr.open_dataset(path, engine="zarr").variables), (
        "a store that carries its CRS as CF gets nothing added")
    # The grid mapping is a coordinate, as the zarr engine makes it with decode_coords="all".
    assert "spatial_ref" in ours[name].coords
    every = assert_same_as_zarr_engine(path, decode_coords="all")
    assert set(every.coords) == set(xr.open_dataset(path, engine="zarr",
                                                    decode_coords="all").coords)
    assert_matches_raster(open_geozarr(path, mask_and_scale=False), name,
                          geozarr.open_raster(str(path), array=name))


def test_sharded_matches_zarr_engine_and_prefers_whole_shards(
        xarray_written: dict[tuple[str, int], Path]) -> None:
    path = xarray_written["sharded", 3]
    ours = assert_same_as_zarr_engine(path)
    assert ours["elevation"].encoding["preferred_chunks"] == {"y": 8, "x": 16}
    assert ours["elevation"].encoding["chunks"] == (4, 8)
    lazy = open_geozarr(path, chunks={})
    assert lazy["elevation"].chunks == ((8, 8, 4), (16, 14))
    assert lazy["elevation"].rio.crs == geozarr.open_raster(str(path)).crs
    np.testing.assert_array_equal(lazy["elevation"].values, ours["elevation"].values)
    assert_matches_raster(open_geozarr(path, mask_and_scale=False), "elevation",
                          geozarr.open_raster(str(path), array="elevation"))


def test_group_keyword_opens_nested_group(xarray_written: dict[tuple[str, int], Path]) -> None:
    path = xarray_written["grouped", 3]
    ours = assert_same_as_zarr_engine(path, group="sub/inner")
    assert list(ours.data_vars) == ["elevation"]
    assert_matches_raster(open_geozarr(path, group="/sub/inner/", mask_and_scale=False),
                          "elevation", geozarr.open_raster(str(path), array="sub/inner/elevation"))


def test_nczarr_dimensions_and_cf_grid_mapping(nczarr: Path) -> None:
    ds = open_geozarr(nczarr, decode_times=False)
    assert ds["temp"].dims == ("time", "y", "x")
    assert ds["time"].attrs["units"] == "days since 2000-01-01"
    assert not any(key.lower().startswith("_nc") for key in ds["temp"].attrs)
    assert "spatial_ref" not in ds.variables  # the CF "crs" variable is the grid mapping
    assert ds["temp"].attrs["grid_mapping"] == "crs"
    assert_matches_raster(open_geozarr(nczarr, mask_and_scale=False), "temp",
                          geozarr.open_raster(str(nczarr), array="temp"))
    decoded = open_geozarr(nczarr)
    assert decoded["time"].values[1] == np.datetime64("2000-02-01")


@pytest.mark.parametrize("case", list(GDAL_CASES))
def test_gdal_written_matches_open_raster(gdal_written: dict[str, Path], case: str) -> None:
    path = gdal_written[case]
    reader = geozarr.open_raster(str(path))
    assert_matches_raster(open_geozarr(path, mask_and_scale=False), "data", reader)
    # GDAL's nodata is the Zarr fill value (the default for v2, asked for in v3).
    ds = open_geozarr(path, use_zarr_fill_value_as_mask=True)
    assert ds["data"].attrs["grid_mapping"] == "spatial_ref"
    assert ds["data"].rio.encoded_nodata == reader.nodata == -1
    assert np.isnan(ds["data"].values).sum() == (reader.read() == -1).sum() > 0
    if GDAL_CASES[case][0] == "ZARR_V2":
        assert_same_as_zarr_engine(path)


# -- what the backend adds ------------------------------------------------------------------------
def test_spatial_ref_carries_cf_wkt_and_geotransform() -> None:
    ds = open_geozarr(FIXTURES / "gdal" / "v2_georeferenced.zarr")
    spatial_ref = ds["spatial_ref"]
    assert "spatial_ref" in ds.coords
    assert CRS.from_wkt(spatial_ref.attrs["crs_wkt"]) == CRS.from_epsg(4326)
    assert spatial_ref.attrs["grid_mapping_name"] == "latitude_longitude"
    gdal = [float(v) for v in spatial_ref.attrs["GeoTransform"].split()]
    assert Affine.from_gdal(*gdal) == geozarr.open_raster(
        str(FIXTURES / "gdal" / "v2_georeferenced.zarr")).transform
    # GDAL's X/Y coordinates are not named like rioxarray expects: they get an axis.
    assert (ds["X"].attrs["axis"], ds["Y"].attrs["axis"]) == ("X", "Y")


def test_coordinates_from_the_transform_when_the_store_has_none() -> None:
    root = FIXTURES / "geo" / "proj_v01_cmo_array_level.zarr"
    reader = geozarr.open_raster(str(root))
    ds = open_geozarr(root)
    assert ds["x"].attrs["standard_name"] == "projection_x_coordinate"
    assert ds["x"].values[0] == reader.xy(0, 0)[0]
    assert ds["y"].values[-1] == reader.xy(reader.height - 1, 0)[1]
    assert ds.sel(x=reader.xy(0, 3)[0], y=reader.xy(2, 0)[1])["data"].values == \
        reader.read(1, masked=True)[2, 3]


def test_a_coordinate_the_store_has_is_kept() -> None:
    store = MemoryStore()
    group = geozarr.open_group(store, mode="w")
    group.create_array("data", shape=(4, 5), dtype="f4", dimension_names=("y", "x"),
                       attributes={"proj:code": "EPSG:32633",
                                   "spatial:transform": [10, 0, 500000, 0, -10, 5000000]})
    group.create_array("x", shape=(5,), dtype="f8", dimension_names=("x",),
                       attributes={"units": "m"})[...] = 500005.0 + 10 * np.arange(5)
    ds = open_geozarr(store)
    assert ds["x"].attrs == {"units": "m"}
    np.testing.assert_array_equal(ds["y"].values, 4999995.0 - 10 * np.arange(4))
    assert ds["data"].rio.transform() == geozarr.open_raster(store, array="data").transform


def test_rotated_transform_has_geotransform_and_no_coordinates() -> None:
    root = FIXTURES / "geo" / "spatial_transform_rotated.zarr"
    ds = open_geozarr(root)
    assert "x" not in ds.variables and "y" not in ds.variables
    assert ds["data"].rio.transform() == geozarr.open_raster(str(root)).transform
    assert ds["data"].rio.transform().b != 0


def test_arrays_with_different_grids_get_one_grid_mapping_each() -> None:
    root = FIXTURES / "geo" / "spatial_registration_node.zarr"
    ds = open_geozarr(root)
    mappings = {ds[name].attrs["grid_mapping"] for name in ("node", "pixel")}
    assert mappings == {"spatial_ref", "spatial_ref_1"}
    assert "x" not in ds.variables  # the two grids disagree: each has its GeoTransform
    for name in ("node", "pixel"):
        assert ds[name].rio.transform() == geozarr.open_raster(str(root), array=name).transform


def test_one_grid_mapping_for_arrays_that_share_one() -> None:
    ds = open_geozarr(FIXTURES / "geo" / "proj_crs_precedence.zarr")
    used = {ds[name].attrs["grid_mapping"] for name in ds.data_vars}
    assert len(used) < len(ds.data_vars)
    assert used == {name for name in ds.variables if name.startswith("spatial_ref")}


def test_not_georeferenced_adds_nothing_and_does_not_warn() -> None:
    root = FIXTURES / "geo" / "no_crs_no_transform.zarr"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ds = open_geozarr(root)
    assert set(ds.variables) == {"data"}
    assert ds["data"].rio.crs is None


def test_unusable_georeferencing_warns_and_still_opens() -> None:
    root = FIXTURES / "geo" / "bad" / "bad_crs_malformed_wkt.zarr"
    with pytest.warns(GeoreferencingWarning, match="_CRS"):
        ds = open_geozarr(root)
    assert "spatial_ref" not in ds.variables
    assert ds["data"].shape == (4, 5)


def test_store_object_root_array_and_drop_variables() -> None:
    store = MemoryStore()
    array = geozarr.create_array(store, shape=(4, 6), dtype="uint8", chunks=(2, 3),
                                 dimension_names=("y", "x"), attributes={"units": "m"})
    array[...] = np.arange(24).reshape(4, 6)
    ds = open_geozarr(store)
    assert list(ds.data_vars) == ["data"]
    assert ds["data"].attrs["units"] == "m"
    np.testing.assert_array_equal(ds["data"].values, np.arange(24).reshape(4, 6))
    root = FIXTURES / "gdal" / "v2_georeferenced.zarr"
    assert "X" not in open_geozarr(root, drop_variables=["X"]).variables


def test_missing_group_and_inconsistent_dimensions_raise() -> None:
    with pytest.raises(NodeNotFoundError):
        open_geozarr(FIXTURES / "gdal" / "v2_georeferenced.zarr", group="nowhere")
    store = MemoryStore()
    group = geozarr.open_group(store, mode="w")
    group.create_array("a", shape=(3,), dtype="i1", dimension_names=("n",))
    group.create_array("b", shape=(4,), dtype="i1", dimension_names=("n",))
    with pytest.raises(DimensionError, match="'n' has size 3 in /a but 4 in /b"):
        open_geozarr(store)


# -- CF decoding ---------------------------------------------------------------------------------
def _v3_with_fill(attributes: dict[str, Any]) -> MemoryStore:
    store = MemoryStore()
    array = geozarr.create_array(store, name="v", shape=(4,), dtype="float32", fill_value=-9.0,
                                 dimension_names=("n",), attributes=attributes)
    array[...] = [1.0, -9.0, -5.0, 2.0]
    return store


def test_v3_fill_value_masks_only_when_asked() -> None:
    store = _v3_with_fill({})
    assert not np.isnan(open_geozarr(store)["v"].values).any()  # as the zarr engine
    masked = open_geozarr(store, use_zarr_fill_value_as_mask=True)["v"].values
    np.testing.assert_array_equal(np.isnan(masked), [False, True, False, False])


@pytest.mark.parametrize("encoded", ["AAAAAAAAFMA=", -5.0, "-5.0"])
def test_v3_fill_value_attribute_base64_or_plain(encoded: Any) -> None:
    """xarray writes base64 float64 bytes; other producers write numbers."""
    values = open_geozarr(_v3_with_fill({"_FillValue": encoded}))["v"].values
    np.testing.assert_array_equal(np.isnan(values), [False, False, True, False])


def test_decode_fill_attribute_refuses_a_non_value() -> None:
    with pytest.raises(MetadataError, match="/v: attribute _FillValue"):
        decode_fill_attribute("not a number", np.dtype("f4"), path="/v")
    assert decode_fill_attribute("AA==", np.dtype("S1"), path="/s") == b"\x00"
    assert decode_fill_attribute(["AAAAAAAA8D8=", "AAAAAAAAAEA="], np.dtype("c16"),
                                 path="/c") == 1 + 2j


# -- laziness, closing, the entry point ------------------------------------------------
def test_open_reads_no_data_chunk_and_load_reads_each_once(
        xarray_written: dict[tuple[str, int], Path]) -> None:
    store = CountingStore(xarray_written["utm_nan", 3])
    ds = open_geozarr(store)
    assert store.chunk_keys(), "the x/y coordinates are read (xarray indexes them)"
    assert not [key for key in store.chunk_keys() if key.startswith("elevation/")]
    store.keys.clear()
    ds["elevation"].load()  # with its non-index coordinate, spatial_ref
    assert sorted(store.chunk_keys()) == ["elevation/c/0/0", "spatial_ref/c"]


def test_zip_store_is_closed_with_the_dataset(tmp_path: Path) -> None:
    with ZipStore(tmp_path / "a.zip", mode="w") as store:
        geozarr.create_array(store, name="v", shape=(3, 2), dtype="i2",
                             dimension_names=("y", "x"))[...] = 7
    ds = open_geozarr(tmp_path / "a.zip")
    assert ds["v"].values.sum() == 42
    lazy = open_geozarr(tmp_path / "a.zip")
    lazy.close()
    with pytest.raises(StoreError, match="closed"):
        lazy["v"].values


def test_entry_point_is_registered_and_import_geozarr_stays_light() -> None:
    assert "geozarr" in xr.backends.list_engines()
    code = ("import sys, geozarr; "
            "print(sorted(m for m in ('xarray', 'dask', 'distributed') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"
