"""Rasters written by GDAL (3.10.3, rasterio 1.4.4's Zarr driver, v2 and v3): geozarr's raster
layer reports what GDAL reports for the same dataset.

Each case is written on the fly (a 20 x 30 raster, chunks that do not divide it) and read twice:
``geozarr.open_raster`` and ``rasterio.open('ZARR:"path":/data')``. Compared: CRS, transform,
bounds, nodata, band count, every pixel, windowed / decimated / masked reads, ``xy``, ``index``,
``window``, ``window_transform``, block shapes and profile, subdatasets, and which chunks a
windowed read touches (through a counting store).
"""

from __future__ import annotations

import math
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import rasterio
from affine import Affine
from rasterio.errors import NotGeoreferencedWarning as RasterioNotGeoreferencedWarning
from rasterio.windows import Window

import geozarr
from geozarr.errors import DimensionError, NotGeoreferencedWarning

from .geo_helpers import (
    CountingStore,
    assert_matches_gdal,
    assert_same_coordinate_helpers,
    assert_same_pixels,
    assert_same_reads,
    connection,
    gdal_open,
    gdal_subdatasets,
    open_geozarr,
)

# GDAL's v3 quirks (no "bytes" codec, "fill_value": null) are read with a MetadataWarning,
# which tests/interop/test_gdal.py checks; here they are noise.
pytestmark = pytest.mark.filterwarnings("ignore::geozarr.MetadataWarning")

HEIGHT, WIDTH = 20, 30
ARRAY = "data"
FORMATS = ("ZARR_V2", "ZARR_V3")


@dataclass(frozen=True)
class GdalCase:
    """One raster for GDAL to write: dtype, bands, nodata, georeferencing, creation options."""

    name: str
    dtype: str
    count: int = 1
    nodata: float | None = None
    crs: str | None = None
    transform: Affine | None = None
    options: dict[str, str] = field(default_factory=dict)


def from_origin(west: float, north: float, xres: float, yres: float) -> Affine:
    """The north-up transform of a grid whose top-left corner is (west, north)."""
    return Affine(xres, 0.0, west, 0.0, -yres, north)


CASES = (
    GdalCase("float32_nan_nodata_utm", "float32", nodata=math.nan, crs="EPSG:32633",
             transform=from_origin(500000.0, 5000000.0, 10.0, 10.0)),
    # GDAL 3.10 cannot set a nodata value on a 3-D array (SetRawNoDataValue not implemented),
    # and it writes the CRS of a multi-band raster only to a pam.aux.xml side-car (for a
    # "Sliced view of /data") that ZARR:"path":/data does not read back: GDAL reports no CRS
    # for both multi-band cases, and so must geozarr.
    GdalCase("int16_three_bands_geographic", "int16", count=3, crs="EPSG:4326",
             transform=from_origin(10.0, 50.0, 0.25, 0.125), options={"BLOCKSIZE": "1,8,16"}),
    # (y, x, band), no nodata and no CRS read back either (see above)
    GdalCase("uint8_pixel_interleaved_yx_band", "uint8", count=3, crs="EPSG:3857",
             transform=from_origin(-20000.0, 60000.0, 100.0, 100.0),
             options={"INTERLEAVE": "PIXEL", "BLOCKSIZE": "8,16,3"}),
    GdalCase("uint16_south_up", "uint16", nodata=0, crs="EPSG:32633",
             transform=Affine(10.0, 0.0, 500000.0, 0.0, 10.0, 4000000.0)),
    GdalCase("float64_transform_without_crs", "float64", nodata=-1e30,
             transform=from_origin(0.0, 200.0, 0.5, 2.0)),
    GdalCase("int32_not_georeferenced", "int32", nodata=-2147483648),
)
CASE_IDS = [case.name for case in CASES]


def values_for(case: GdalCase) -> np.ndarray:
    """Deterministic (bands, rows, cols) values of the case's dtype, nodata on a diagonal."""
    ramp = np.arange(case.count * HEIGHT * WIDTH, dtype=np.int64) * 13 % 997
    dtype = np.dtype(case.dtype)
    values = (ramp * 0.5 - 100 if dtype.kind == "f" else ramp % 200 + 1).astype(dtype)
    if case.nodata is not None:
        values[::41] = case.nodata
    return values.reshape(case.count, HEIGHT, WIDTH)


def write_with_gdal(case: GdalCase, fmt: str, target: Path, array: str = ARRAY,
                    **extra: str) -> None:
    """Write ``case`` as array ``array`` of the Zarr at ``target`` with GDAL."""
    profile: dict[str, Any] = {
        "driver": "Zarr", "width": WIDTH, "height": HEIGHT, "count": case.count,
        "dtype": case.dtype, "crs": case.crs, "transform": case.transform, "FORMAT": fmt,
        "ARRAY_NAME": array, "BLOCKSIZE": "8,16", **case.options, **extra,
    }
    if case.nodata is not None:
        profile["nodata"] = case.nodata
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RasterioNotGeoreferencedWarning)
        with rasterio.open(target, "w", **profile) as dataset:
            dataset.write(values_for(case))


@pytest.fixture(scope="module")
def gdal_written(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], Path]:
    """Every case in both formats, written once for the module: (case, format) -> path."""
    root = tmp_path_factory.mktemp("gdal_geo")
    paths = {}
    for case in CASES:
        for fmt in FORMATS:
            path = root / f"{case.name}_{fmt.lower()}.zarr"
            write_with_gdal(case, fmt, path)
            paths[case.name, fmt] = path
    return paths


@pytest.fixture(params=[(case, fmt) for case in CASES for fmt in FORMATS],
                ids=[f"{case.name}-{fmt.lower()}" for case in CASES for fmt in FORMATS])
def dataset(request: pytest.FixtureRequest,
            gdal_written: dict[tuple[str, str], Path]) -> tuple[GdalCase, Path]:
    case, fmt = request.param
    return case, gdal_written[case.name, fmt]


def test_matches_gdal(dataset: tuple[GdalCase, Path]) -> None:
    case, path = dataset
    reader, _ = open_geozarr(str(path), array=ARRAY)
    with gdal_open(path, ARRAY) as reference:
        assert_matches_gdal(reader, reference)
    # and the values GDAL was given, so that a shared misreading cannot hide
    assert_same_pixels(reader.read(), values_for(case))


def test_connection_string_opens_the_same_raster(dataset: tuple[GdalCase, Path]) -> None:
    _, path = dataset
    reader, _ = open_geozarr(connection(path, ARRAY))
    with gdal_open(path, ARRAY) as reference:
        assert_matches_gdal(reader, reference)


def test_single_array_opens_without_naming_it(dataset: tuple[GdalCase, Path]) -> None:
    """GDAL opens the only data array of ``ZARR:"path"`` (its X/Y arrays are coordinates)."""
    _, path = dataset
    reader, _ = open_geozarr(str(path))
    with gdal_open(path) as reference:
        assert_matches_gdal(reader, reference)


def test_not_georeferenced_warns_like_rasterio(gdal_written: dict[tuple[str, str], Path]
                                               ) -> None:
    for fmt in FORMATS:
        reader, caught = open_geozarr(str(gdal_written["int32_not_georeferenced", fmt]),
                                      array=ARRAY)
        assert reader.crs is None
        assert reader.transform == Affine.identity()
        assert any(issubclass(w.category, NotGeoreferencedWarning)
                   for w in caught), [str(w.message) for w in caught]


def test_reads_match_gdal(dataset: tuple[GdalCase, Path]) -> None:
    """Windows, band subsets, nearest decimated and enlarged reads, masked reads."""
    _, path = dataset
    reader, _ = open_geozarr(str(path), array=ARRAY)
    with gdal_open(path, ARRAY) as reference:
        assert_same_reads(reader, reference)


def test_coordinate_helpers_match_gdal(dataset: tuple[GdalCase, Path]) -> None:
    _, path = dataset
    reader, _ = open_geozarr(str(path), array=ARRAY)
    with gdal_open(path, ARRAY) as reference:
        assert_same_coordinate_helpers(reader, reference)


def test_block_shapes_and_profile_match_gdal(dataset: tuple[GdalCase, Path]) -> None:
    _, path = dataset
    reader, _ = open_geozarr(str(path), array=ARRAY)
    with gdal_open(path, ARRAY) as reference:
        assert [tuple(shape) for shape in reader.block_shapes] == list(reference.block_shapes)
        theirs = reference.profile
        ours = reader.profile
        for key in ("driver", "dtype", "width", "height", "count", "blockxsize",
                    "blockysize"):
            assert ours[key] == theirs[key], key
        assert ours["crs"] == theirs["crs"]
        assert tuple(ours["transform"])[:6] == pytest.approx(tuple(theirs["transform"])[:6])
        assert set(reference.meta) <= set(reader.meta)
        assert (reader.driver, reader.mode) == ("Zarr", "r")


def test_read_out_and_closing(gdal_written: dict[tuple[str, str], Path]) -> None:
    """``read(out=...)`` fills the given array; ``with`` closes the reader."""
    path = gdal_written["int16_three_bands_geographic", "ZARR_V3"]
    with gdal_open(path, ARRAY) as reference:
        expected = reference.read(2, window=Window(4, 3, 10, 6))
    out = np.zeros((6, 10), dtype="int16")
    with geozarr.open_raster(str(path), array=ARRAY) as reader:
        result = reader.read(2, window=Window(4, 3, 10, 6), out=out)
        assert not reader.closed
    assert reader.closed
    assert_same_pixels(out, expected)
    assert_same_pixels(result, expected)


# -- several arrays: subdatasets ---------------------------------------------------------------
@pytest.fixture(scope="module", params=FORMATS, ids=str.lower)
def two_arrays(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
               ) -> Path:
    """A Zarr holding two rasters, "a" and "b" (GDAL's APPEND_SUBDATASET), with X/Y arrays."""
    path = tmp_path_factory.mktemp("two_arrays") / "two.zarr"
    write_with_gdal(CASES[0], request.param, path, array="a")
    write_with_gdal(CASES[0], request.param, path, array="b", APPEND_SUBDATASET="YES")
    return path


def test_subdatasets_are_gdals(two_arrays: Path) -> None:
    """``ds.subdatasets`` lists GDAL's SUBDATASETS in GDAL's spelling (``ZARR:"path":/a``).

    GDAL 3.10 also lists the 1-D X and Y coordinate arrays there; GDAL 3.11 and later list only
    arrays of two dimensions or more unless asked (open option LIST_ALL_ARRAYS), and a 1-D
    array is no raster. So the >= 2-D entries must all be there, and nothing GDAL does not list.
    """
    theirs = gdal_subdatasets(two_arrays)
    rasters = [name for name in theirs if re.search(r":/[ab]$", name)]
    assert len(rasters) == 2, theirs
    ds = geozarr.open(str(two_arrays))
    ours = list(ds.subdatasets)
    assert set(rasters) <= set(ours), f"{rasters} not all in {ours}"
    assert set(ours) <= set(theirs), f"{ours} not all in GDAL's {theirs}"
    assert sorted(ds.arrays) == ["/a", "/b"]
    for name in rasters:
        reader, _ = open_geozarr(name)
        with rasterio.open(name) as reference:
            assert_matches_gdal(reader, reference)
        reader_from_dataset = ds.open_raster(name.rsplit(":", 1)[-1])
        assert_same_pixels(reader_from_dataset.read(), reader.read())


def test_unnamed_array_among_several_is_a_dimension_error(two_arrays: Path) -> None:
    with pytest.raises(DimensionError) as caught:
        geozarr.open_raster(str(two_arrays))
    message = str(caught.value)
    assert connection(two_arrays, "a") in message and connection(two_arrays, "b") in message


# -- chunk reads ---------------------------------------------------------------------------------
def _chunk_coords(keys: set[str], array: str) -> set[tuple[int, ...]]:
    """Chunk grid coordinates from chunk keys (v2 "a/1.2" or "a/1/2", v3 "a/c/1/2")."""
    coords = set()
    for key in keys:
        tail = key[len(array) + 1:]
        parts = re.split(r"[./]", tail)
        coords.add(tuple(int(part) for part in parts if part != "c"))
    return coords


@pytest.mark.parametrize("fmt", FORMATS, ids=str.lower)
def test_window_read_touches_only_the_chunks_it_covers(
        gdal_written: dict[tuple[str, str], Path], fmt: str) -> None:
    """Chunks are 8 x 16 (one band each for the 3-band array): a window inside chunk (1, 1)
    reads that chunk only; a window across four chunks reads those four; band 2 alone reads
    only band 2's chunks."""
    store = CountingStore(gdal_written["float32_nan_nodata_utm", fmt])
    reader = geozarr.open_raster(store, array=ARRAY)
    _ = (reader.crs, reader.transform, reader.nodata)
    store.reset()
    window = Window(col_off=17, row_off=9, width=10, height=5)
    with gdal_open(gdal_written["float32_nan_nodata_utm", fmt], ARRAY) as reference:
        assert_same_pixels(reader.read(1, window=window), reference.read(1, window=window))
    assert _chunk_coords(store.chunk_keys(ARRAY), ARRAY) == {(1, 1)}

    store.reset()
    reader.read(1, window=Window(col_off=10, row_off=5, width=10, height=6))
    assert _chunk_coords(store.chunk_keys(ARRAY), ARRAY) == {(0, 0), (0, 1), (1, 0), (1, 1)}

    bands = CountingStore(gdal_written["int16_three_bands_geographic", fmt])
    reader = geozarr.open_raster(bands, array=ARRAY)
    _ = (reader.crs, reader.transform)
    bands.reset()
    reader.read(2, window=Window(col_off=0, row_off=16, width=16, height=4))
    assert _chunk_coords(bands.chunk_keys(ARRAY), ARRAY) == {(1, 2, 0)}
