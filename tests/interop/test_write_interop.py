"""Acceptance: GeoTIFFs go through ``translate`` to GeoZarr v2 and v3, and every reader reports
the source's CRS, transform, nodata and pixels; ``translate`` back gives the source again.

Sources: three CRSs (a UTM zone, geographic WGS 84, a polar stereographic) x three data types
(byte with nodata 0, int16 with nodata -9999, float32 with NaN nodata) x one and three bands,
all 301 x 437 pixels in 128 x 128 chunks (neither size is a multiple of the chunk).

Readers: GDAL 3.10 through rasterio (v2 only: that GDAL rejects every v3 array, zarr-python's
too, with "Unsupported codec: bytes"), xarray + rioxarray, zarr-python, geozarr's own
``open_raster``, and ``translate`` back to GeoTIFF read by rasterio.
"""

from __future__ import annotations

import itertools
import math
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import rasterio
import rioxarray  # noqa: F401  (registers the .rio accessor)
import xarray as xr
import zarr
from affine import Affine
from rasterio.crs import CRS

import geozarr
from geozarr.errors import GeoreferencingWarning
from geozarr.raster.translate import translate

pytestmark = [
    pytest.mark.filterwarnings("ignore::UserWarning:zarr"),
    # rioxarray 0.19 multiplies Affines with "*", which affine 3 deprecates.
    pytest.mark.filterwarnings("ignore:Use `@` matmul:PendingDeprecationWarning"),
]

HEIGHT, WIDTH, CHUNKS = 301, 437, (128, 128)


@dataclass(frozen=True)
class Case:
    """One source GeoTIFF."""

    crs: str
    transform: Affine
    dtype: str
    nodata: float | int
    count: int

    @property
    def id(self) -> str:
        return f"{self.crs.replace(':', '')}-{self.dtype}-{self.count}band"

    def data(self) -> np.ndarray:
        """Values spread over the type's range, with nodata in a corner and scattered."""
        shape = (self.count, HEIGHT, WIDTH)
        ramp = (np.arange(math.prod(shape), dtype=np.int64) * 7919) % 65521
        if self.dtype == "uint8":
            values = (ramp % 255 + 1).astype(np.uint8)
        elif self.dtype == "int16":
            values = (ramp - 32760).astype(np.int16)
        else:
            values = ((ramp - 30000) * 0.37).astype(np.float32)
        values = values.reshape(shape)
        values[:, :40, :50] = self.nodata
        values[:, ::17, ::13] = self.nodata
        return values


GRIDS = {
    "EPSG:32611": Affine(30.0, 0.0, 440720.0, 0.0, -30.0, 3751320.0),
    "EPSG:4326": Affine(0.01, 0.0, -120.5, 0.0, -0.01, 40.25),
    "EPSG:3413": Affine(1000.0, 0.0, -2500000.0, 0.0, -1000.0, 2000000.0),
}
TYPES = {"uint8": 0, "int16": -9999, "float32": float("nan")}
CASES = [Case(crs, GRIDS[crs], dtype, TYPES[dtype], count)
         for crs, dtype, count in itertools.product(GRIDS, TYPES, (1, 3))]
PARAMS = [pytest.param(case, fmt, id=f"{case.id}-v{fmt}") for case in CASES for fmt in (2, 3)]


@dataclass(frozen=True)
class Output:
    case: Case
    zarr_format: int
    source: Path
    zarr: Path
    back: Path

    @property
    def name(self) -> str:
        return "dem"


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, int], Output]:
    """Every case through translate to v2 and v3 and back, made once for the module."""
    made: dict[tuple[str, int], Output] = {}
    for case in CASES:
        folder = tmp_path_factory.mktemp(case.id)
        source = folder / "source.tif"
        with rasterio.open(source, "w", driver="GTiff", width=WIDTH, height=HEIGHT,
                           count=case.count, dtype=case.dtype, crs=case.crs,
                           transform=case.transform, nodata=case.nodata, tiled=True,
                           blockxsize=256, blockysize=256, compress="deflate") as dataset:
            dataset.write(case.data())
        for fmt in (2, 3):
            zarr_path = folder / f"v{fmt}" / "dem.zarr"
            back = folder / f"v{fmt}" / "back.tif"
            translate(source, zarr_path, chunks=CHUNKS, zarr_format=fmt)
            translate(f'ZARR:"{zarr_path}":/dem', back)
            made[case.id, fmt] = Output(case, fmt, source, zarr_path, back)
    return made


def output(outputs: dict[tuple[str, int], Output], case: Case, fmt: int) -> Output:
    return outputs[case.id, fmt]


def assert_pixels(got: Any, expected: np.ndarray) -> None:
    got = np.asarray(got)
    assert got.shape == expected.shape and got.dtype == expected.dtype
    np.testing.assert_array_equal(got, expected)  # NaN equals NaN here


def assert_nodata(got: Any, expected: float | int) -> None:
    assert got is not None
    if isinstance(expected, float) and math.isnan(expected):
        assert math.isnan(float(got))
    else:
        assert float(got) == float(expected)


def assert_crs(got: Any, case: Case) -> None:
    assert isinstance(got, CRS)
    assert got == CRS.from_user_input(case.crs) or got.to_epsg() == int(case.crs[5:])


def assert_transform(got: Affine, case: Case, *, exact: bool) -> None:
    if exact:
        assert got == case.transform
    else:  # rebuilt from the cell-centre coordinates: a few ulps away
        assert tuple(got)[:6] == pytest.approx(tuple(case.transform)[:6], rel=1e-12, abs=1e-9)


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id) for c in CASES])
def test_gdal_reads_v2(outputs: dict[tuple[str, int], Output], case: Case) -> None:
    out = output(outputs, case, 2)
    with rasterio.open(f'ZARR:"{out.zarr}":/dem') as dataset:
        assert (dataset.count, dataset.width, dataset.height) == (case.count, WIDTH, HEIGHT)
        assert dataset.dtypes[0] == case.dtype
        assert_crs(dataset.crs, case)
        assert_transform(dataset.transform, case, exact=False)
        assert_nodata(dataset.nodata, case.nodata)
        assert dataset.block_shapes[0] == CHUNKS
        assert_pixels(dataset.read(), case.data())


@pytest.mark.parametrize("case, fmt", PARAMS)
def test_xarray_and_rioxarray_read(outputs: dict[tuple[str, int], Output], case: Case,
                                   fmt: int) -> None:
    out = output(outputs, case, fmt)
    raw = xr.open_zarr(out.zarr, mask_and_scale=False)["dem"]
    assert raw.dims == (("band", "y", "x") if case.count > 1 else ("y", "x"))
    assert_crs(raw.rio.crs, case)
    assert_transform(raw.rio.transform(), case, exact=True)
    assert_nodata(raw.rio.nodata, case.nodata)
    assert_pixels(raw.values.reshape(case.count, HEIGHT, WIDTH), case.data())
    t = case.transform
    np.testing.assert_array_equal(raw["x"].values, t.c + (np.arange(WIDTH) + 0.5) * t.a)
    np.testing.assert_array_equal(raw["y"].values, t.f + (np.arange(HEIGHT) + 0.5) * t.e)
    decoded = xr.open_zarr(out.zarr)["dem"]  # CF decoding: nodata becomes NaN
    assert_nodata(decoded.rio.encoded_nodata, case.nodata)
    expected = case.data().astype(np.float64)
    expected[case.data() == case.nodata] = np.nan
    np.testing.assert_array_equal(
        decoded.values.reshape(case.count, HEIGHT, WIDTH).astype(np.float64), expected)


@pytest.mark.parametrize("case, fmt", PARAMS)
def test_zarr_python_reads(outputs: dict[tuple[str, int], Output], case: Case,
                           fmt: int) -> None:
    out = output(outputs, case, fmt)
    group = zarr.open_group(out.zarr, mode="r")
    array = group["dem"]
    assert array.metadata.zarr_format == fmt
    assert_pixels(np.asarray(array[...]).reshape(case.count, HEIGHT, WIDTH), case.data())
    assert_nodata(array.fill_value, case.nodata)
    assert sorted(group.array_keys()) == sorted(
        ["dem", "x", "y", "spatial_ref"] + (["band"] if case.count > 1 else []))


@pytest.mark.parametrize("case, fmt", PARAMS)
def test_geozarr_reads(outputs: dict[tuple[str, int], Output], case: Case, fmt: int) -> None:
    out = output(outputs, case, fmt)
    with warnings.catch_warnings():
        warnings.simplefilter("error", GeoreferencingWarning)
        reader = geozarr.open_raster(out.zarr)
        assert_crs(reader.crs, case)
        assert_transform(reader.transform, case, exact=True)
        assert_nodata(reader.nodata, case.nodata)
    assert (reader.count, reader.dtypes[0], reader.block_shapes[0]) == (
        case.count, case.dtype, CHUNKS)
    assert_pixels(reader.read(), case.data())


@pytest.mark.parametrize("case, fmt", PARAMS)
def test_translate_back_gives_the_source(outputs: dict[tuple[str, int], Output], case: Case,
                                         fmt: int) -> None:
    out = output(outputs, case, fmt)
    with rasterio.open(out.source) as source, rasterio.open(out.back) as back:
        assert back.driver == "GTiff"
        assert back.crs == source.crs
        assert back.transform == source.transform
        assert_nodata(back.nodata, source.nodata)
        assert (back.count, back.dtypes) == (source.count, source.dtypes)
        assert_pixels(back.read(), source.read())
