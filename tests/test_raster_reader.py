"""RasterReader against rasterio reading the same pixels from a GeoTIFF."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio
from affine import Affine
from rasterio.enums import Resampling
from rasterio.io import MemoryFile
from rasterio.windows import Window

import geozarr
from geozarr.errors import DimensionError
from geozarr.storage import MemoryStore

TRANSFORM = Affine(30.0, 0.0, 500000.0, 0.0, -30.0, 4200000.0)
CRS_WKT = rasterio.crs.CRS.from_epsg(32611).to_wkt()


def _data(count: int = 3, height: int = 45, width: int = 61) -> np.ndarray:
    rng = np.random.default_rng(7)
    return rng.integers(0, 250, (count, height, width)).astype("uint8")


def _zarr(data: np.ndarray, *, chunks=(1, 16, 16), nodata=None) -> MemoryStore:
    """A GDAL-style Zarr: _CRS plus X/Y coordinate arrays at cell centres."""
    store = MemoryStore()
    count, height, width = data.shape
    group = geozarr.open_group(store, mode="w", zarr_format=2)
    attrs = {"_CRS": {"wkt": CRS_WKT}}
    array = group.create_array("data", shape=data.shape, dtype=data.dtype, chunks=chunks,
                               dimension_names=("band", "Y", "X"), fill_value=nodata,
                               attributes=attrs)
    array[...] = data
    x = group.create_array("X", shape=(width,), dtype="f8", dimension_names=("X",))
    x[...] = TRANSFORM.c + TRANSFORM.a * (np.arange(width) + 0.5)
    y = group.create_array("Y", shape=(height,), dtype="f8", dimension_names=("Y",))
    y[...] = TRANSFORM.f + TRANSFORM.e * (np.arange(height) + 0.5)
    return store


def _tiff(data: np.ndarray, nodata=None) -> MemoryFile:
    memory = MemoryFile()
    with memory.open(driver="GTiff", width=data.shape[2], height=data.shape[1],
                     count=data.shape[0], dtype=data.dtype, crs=CRS_WKT, transform=TRANSFORM,
                     nodata=nodata) as dataset:
        dataset.write(data)
    return memory


@pytest.fixture
def pair():
    data = _data()
    memory = _tiff(data)
    with memory.open() as reference:
        yield geozarr.open_raster(_zarr(data), array="data"), reference
    memory.close()


def test_description_matches_rasterio(pair) -> None:
    raster, reference = pair
    assert raster.count == reference.count and raster.shape == reference.shape
    assert raster.crs == reference.crs and raster.transform == reference.transform
    assert raster.bounds == reference.bounds and raster.res == reference.res
    assert raster.dtypes == reference.dtypes and raster.indexes == reference.indexes
    assert raster.block_shapes == [(16, 16)] * 3


@pytest.mark.parametrize("window", [None, Window(0, 0, 61, 45), Window(5, 7, 20, 11),
                                    Window(60, 44, 1, 1), Window(3.4, 2.6, 10.2, 9.7)])
@pytest.mark.parametrize("indexes", [None, 2, [3, 1], [2, 2]])
def test_windowed_reads(pair, window, indexes) -> None:
    raster, reference = pair
    np.testing.assert_array_equal(raster.read(indexes, window=window),
                                  reference.read(indexes, window=window))


@pytest.mark.parametrize("out_shape", [(20, 30), (45, 61), (7, 5), (90, 122), (44, 17)])
@pytest.mark.parametrize("method", [Resampling.nearest, Resampling.average,
                                    Resampling.bilinear, Resampling.mode])
def test_decimated_reads_match_rasterio(pair, out_shape, method) -> None:
    raster, reference = pair
    expected = reference.read(out_shape=(3,) + out_shape, resampling=method)
    np.testing.assert_array_equal(raster.read(out_shape=(3,) + out_shape, resampling=method),
                                  expected)


def test_pixel_arithmetic_matches_rasterio(pair) -> None:
    raster, reference = pair
    assert raster.index(500123.0, 4199000.0) == reference.index(500123.0, 4199000.0)
    assert raster.xy(10, 20) == reference.xy(10, 20)
    window = raster.window(500300.0, 4199100.0, 501000.0, 4199700.0)
    assert window == reference.window(500300.0, 4199100.0, 501000.0, 4199700.0)
    assert raster.window_transform(window) == reference.window_transform(window)


def test_masked_reads() -> None:
    data = _data()
    data[:, 3:9, 4:6] = 0
    memory = _tiff(data, nodata=0)
    with memory.open() as reference:
        raster = geozarr.open_raster(_zarr(data, nodata=0), array="data")
        ours, theirs = raster.read(masked=True), reference.read(masked=True)
        np.testing.assert_array_equal(ours.mask, theirs.mask)
        np.testing.assert_array_equal(ours.filled(255), theirs.filled(255))
        assert raster.nodata == reference.nodata == 0.0
    memory.close()


def test_reads_touch_only_the_chunks_of_the_window() -> None:
    class Counting(MemoryStore):
        def __init__(self, data):
            super().__init__(data)
            self.keys: list[str] = []

        def get(self, key):
            self.keys.append(key)
            return super().get(key)

    source = _zarr(_data())
    store = Counting(dict(source._data))
    raster = geozarr.open_raster(store, array="data")
    store.keys.clear()
    raster.read(2, window=Window(17, 18, 10, 10))   # rows 18..27, cols 17..26: chunk (1, 1)
    chunks = [k for k in store.keys if k.startswith("data/") and not k.endswith(
        (".zarray", ".zattrs", ".zgroup"))]
    assert chunks == ["data/1.1.1"]


def test_spatial_axes_anywhere_and_selection() -> None:
    data = _data()
    store = MemoryStore()
    group = geozarr.open_group(store, mode="w")
    cube = np.moveaxis(data, 0, -1)                         # (y, x, band)
    array = group.create_array("cube", shape=cube.shape, dtype="u1", chunks=(16, 16, 3),
                               dimension_names=("y", "x", "band"))
    array[...] = cube
    raster = geozarr.open_raster(store, array="cube")
    assert (raster.count, raster.height, raster.width) == (3, 45, 61)
    np.testing.assert_array_equal(raster.read(), data)
    single = geozarr.open_raster(store, array="cube", sel={"band": 2})
    assert single.count == 1
    np.testing.assert_array_equal(single.read(1), data[2])
    assert single.tags(1) == {"DIM_band_INDEX": "2"}
    with pytest.raises(DimensionError, match="band"):
        geozarr.open_raster(store, array="cube", sel={"band": 3})
    with pytest.raises(DimensionError, match="nope"):
        geozarr.open_raster(store, array="cube", sel={"nope": 0})


def test_four_dimensions_are_multiband() -> None:
    values = np.arange(2 * 3 * 5 * 4, dtype="i2").reshape(2, 3, 5, 4)
    store = MemoryStore()
    array = geozarr.create_array(store, name="v", shape=values.shape, dtype="i2",
                                 chunks=(1, 2, 5, 4), dimension_names=("time", "z", "y", "x"))
    array[...] = values
    raster = geozarr.open_raster(store)
    assert raster.count == 6 and raster.band_dims == ("time", "z")
    np.testing.assert_array_equal(raster.read(5), values[1, 1])
    assert raster.tags(5) == {"DIM_time_INDEX": "1", "DIM_z_INDEX": "1"}


def test_connection_string_slices(tmp_path) -> None:
    values = np.arange(2 * 3 * 5 * 4, dtype="i2").reshape(2, 3, 5, 4)
    path = tmp_path / "cube.zarr"
    geozarr.create_array(path, name="v", shape=values.shape, dtype="i2", chunks=(1, 1, 5, 4),
                         dimension_names=("time", "z", "y", "x"))[...] = values
    raster = geozarr.open_raster(f'ZARR:"{path}":/v:1')
    assert raster.count == 3
    np.testing.assert_array_equal(raster.read(), values[1])
    np.testing.assert_array_equal(geozarr.open_raster(f'ZARR:"{path}":/v:1:2').read(1),
                                  values[1, 2])
    with pytest.raises(DimensionError, match="out of range"):
        geozarr.open_raster(f'ZARR:"{path}":/v:2')
    with pytest.raises(DimensionError, match="nope"):
        geozarr.open_raster(f'ZARR:"{path}":/nope')


def test_closed_reader_refuses_reads(pair) -> None:
    raster, _ = pair
    with raster:
        raster.read(1)
    assert raster.closed
    with pytest.raises(ValueError):
        raster.read(1)
