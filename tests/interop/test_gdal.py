"""GDAL (3.10.3, through rasterio 1.4.4's Zarr driver) writes, geozarr reads, and back.

* The committed fixtures in ``fixtures/data/gdal/`` (made by ``fixtures/generate.py``) keep
  what GDAL really writes, quirks included: v3 arrays with no ``bytes`` codec (or no
  ``codecs`` at all) and ``"fill_value": null``, a v2 blosc ``"shuffle": "BIT"`` string, a v2
  lzma ``"delta"`` member. geozarr reads each the way GDAL does.
* More GDAL writes happen on the fly: every data type GDAL has, each compressor it offers.
* GDAL reads geozarr's v2 output with the same values. geozarr's v3 output is not opened in
  GDAL: GDAL 3.10 refuses the ``bytes`` codec every v3 array needs ("Unsupported codec:
  bytes"), and sharding ("Unsupported codec: sharding_indexed").
"""

from __future__ import annotations

import importlib.util
import json
import sys
import warnings
from pathlib import Path
from types import ModuleType
from typing import Any

import numcodecs
import numpy as np
import pytest
import rasterio
from rasterio.errors import NotGeoreferencedWarning
from rasterio.windows import Window

import geozarr

from .conftest import assert_same, same_scalar, selections

REPO_ROOT = Path(__file__).resolve().parents[2]

# GDAL's quirks (no "codecs", no "bytes" codec, "fill_value": null) are read with a
# MetadataWarning; test_geozarr_reads_gdal_fixture checks those warnings, the others ignore them.
pytestmark = pytest.mark.filterwarnings("ignore::geozarr.MetadataWarning")


def _load_generator() -> ModuleType:
    """``fixtures/generate.py``, which defines the GDAL fixtures and the values they hold."""
    location = REPO_ROOT / "fixtures" / "generate.py"
    spec = importlib.util.spec_from_file_location("fixtures_generate", location)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while being built
    spec.loader.exec_module(module)
    return module


generate = _load_generator()
FIXTURES = {fixture.name: fixture for fixture in generate.GDAL_FIXTURES}


def gdal_read(path: Path | str, array: str) -> np.ndarray:
    """Every band of ``array`` in the Zarr dataset at ``path``, as GDAL reads it: (bands, y, x)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with rasterio.open(f'ZARR:"{path}":/{array}') as dataset:
            return dataset.read()


def as_gdal_bands(values: np.ndarray, fixture: Any) -> np.ndarray:
    """geozarr's array in GDAL's (bands, y, x) layout (pixel interleaving ends in the bands)."""
    if values.ndim == 2:
        return values[np.newaxis]
    if fixture.options.get("INTERLEAVE") == "PIXEL":
        return np.moveaxis(values, -1, 0)
    return values


def raw_metadata(array_dir: Path) -> dict[str, Any]:
    """The JSON GDAL wrote for an array (``zarr.json``, or ``.zarray`` with ``.zattrs``)."""
    if (array_dir / "zarr.json").exists():
        return json.loads((array_dir / "zarr.json").read_text())
    doc = json.loads((array_dir / ".zarray").read_text())
    attrs = array_dir / ".zattrs"
    doc["attributes"] = json.loads(attrs.read_text()) if attrs.exists() else {}
    return doc


def expected_values(fixture: Any) -> np.ndarray:
    """What GDAL was given to write, (bands, y, x): the pattern where written, nodata elsewhere."""
    shape = (fixture.count, generate.HEIGHT, generate.WIDTH)
    written = generate.pattern(fixture.dtype, shape)
    if fixture.window is None:
        return written
    rows, cols = fixture.window.toslices()
    expected = np.full(shape, fixture.nodata, dtype=fixture.dtype)
    expected[:, rows, cols] = written[:, : fixture.window.height, : fixture.window.width]
    return expected


def test_every_fixture_is_committed(fixtures_dir: Path) -> None:
    on_disk = sorted(p.name for p in (fixtures_dir / "gdal").iterdir())
    assert on_disk == sorted(f"{name}.zarr" for name in FIXTURES)
    total = sum(p.stat().st_size for p in fixtures_dir.rglob("*") if p.is_file())
    assert total < 1_000_000


def test_fixtures_keep_the_gdal_quirks_they_are_named_for(fixtures_dir: Path) -> None:
    """A regeneration with a GDAL that writes differently would lose these edge cases."""
    def doc(name: str) -> dict[str, Any]:
        return raw_metadata(fixtures_dir / "gdal" / f"{name}.zarr" / "data")

    assert doc("v2_blosc_shuffle_as_string")["compressor"]["shuffle"] == "BIT"
    assert "delta" in doc("v2_lzma_with_delta_key")["compressor"]
    assert doc("v2_gzip_slash_separator")["dimension_separator"] == "/"
    assert "codecs" not in doc("v3_no_codecs_null_fill")
    assert doc("v3_no_codecs_null_fill")["fill_value"] is None
    assert [c["name"] for c in doc("v3_blosc_without_bytes")["codecs"]] == ["blosc"]
    assert [c["name"] for c in doc("v3_gzip_without_bytes")["codecs"]] == ["gzip"]
    assert (fixtures_dir / "gdal" / "v2_georeferenced.zarr" / ".zmetadata").is_file()


@pytest.mark.parametrize("name", list(FIXTURES))
def test_geozarr_reads_gdal_fixture(name: str, fixtures_dir: Path) -> None:
    fixture = FIXTURES[name]
    path = fixtures_dir / "gdal" / f"{name}.zarr"
    reference = gdal_read(path, "data")

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        g = geozarr.open_group(str(path))
        a = g["data"]
        got = a[...]
    # GDAL's quirks may be reported, but only with geozarr's own warning classes
    messages = [f"{w.category.__name__}: {w.message}" for w in caught]
    assert all(issubclass(w.category, geozarr.GeoZarrWarning) for w in caught), messages
    assert a.zarr_format == fixture.zarr_format
    assert_same(as_gdal_bands(got, fixture), reference)
    assert_same(as_gdal_bands(got, fixture), expected_values(fixture))

    doc = raw_metadata(path / "data")
    assert a.dtype == np.dtype(fixture.dtype)
    assert tuple(a.shape) == tuple(doc["shape"])
    if fixture.zarr_format == 2:
        chunks = doc["chunks"]
    else:
        chunks = doc["chunk_grid"]["configuration"]["chunk_shape"]
    assert tuple(a.chunks) == tuple(chunks)
    assert a.shards is None
    if fixture.nodata is not None:
        assert same_scalar(a.fill_value, fixture.nodata, a.dtype)
    names = doc.get("dimension_names") or doc["attributes"].get("_ARRAY_DIMENSIONS")
    assert tuple(a.dimension_names) == tuple(names)
    if fixture.georeferenced:
        assert "EPSG" in a.attrs["_CRS"]["wkt"]
    for selection in selections(got.shape):
        assert_same(a[selection], got[selection])


@pytest.mark.parametrize("name", [n for n, fixture in FIXTURES.items() if fixture.georeferenced])
def test_geozarr_reads_gdal_coordinate_arrays(name: str, fixtures_dir: Path) -> None:
    """GDAL writes the pixel-centre coordinates as 1-d X and Y arrays next to the raster."""
    path = fixtures_dir / "gdal" / f"{name}.zarr"
    g = geozarr.open_group(str(path))
    assert list(g) == ["X", "Y", "data"]
    with rasterio.open(f'ZARR:"{path}":/data') as dataset:
        transform = dataset.transform
        width, height = dataset.width, dataset.height
    x_centres = np.array([(transform @ (col + 0.5, 0.5))[0] for col in range(width)])
    y_centres = np.array([(transform @ (0.5, row + 0.5))[1] for row in range(height)])
    assert_same(g["X"][...], x_centres)
    assert_same(g["Y"][...], y_centres)
    assert tuple(g["X"].dimension_names) == ("X",)
    assert tuple(g["Y"].dimension_names) == ("Y",)


# -- GDAL writes on the fly ----------------------------------------------------------------

GDAL_DTYPES = ("uint8", "int8", "uint16", "int16", "uint32", "int32", "uint64", "int64",
               "float32", "float64", "complex64", "complex128")  # fmt: skip
# LZ4 is offered but not built into rasterio's GDAL ("Compressor/decompressor for LZ4 not
# available"); GDAL 3.10 writes only blosc and gzip in v3 ("COMPRESS = ZLIB not implemented
# with Zarr V3", likewise LZMA and ZSTD).
GDAL_COMPRESSORS = {
    "ZARR_V2": ("NONE", "BLOSC", "ZLIB", "GZIP", "LZMA", "ZSTD"),
    "ZARR_V3": ("NONE", "BLOSC", "GZIP"),
}
GDAL_WRITES = [
    (fmt, dtype, GDAL_COMPRESSORS[fmt][i % len(GDAL_COMPRESSORS[fmt])])
    for fmt in GDAL_COMPRESSORS
    for i, dtype in enumerate(GDAL_DTYPES)
]


def gdal_write(path: Path, data: np.ndarray, *, nodata: float | None = None,
               window: Window | None = None, **options: str) -> None:
    """Write (bands, y, x) ``data`` with GDAL's Zarr driver into the array ``data`` at ``path``."""
    count, height, width = data.shape
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with rasterio.open(path, "w", driver="Zarr", width=width, height=height, count=count,
                           dtype=data.dtype, nodata=nodata, ARRAY_NAME="data",
                           **options) as dataset:
            if window is None:
                dataset.write(data)
            else:
                dataset.write(data[:, : window.height, : window.width], window=window)


@pytest.mark.parametrize(("fmt", "dtype", "compress"), GDAL_WRITES,
                         ids=[f"{f}-{d}-{c}" for f, d, c in GDAL_WRITES])
def test_geozarr_reads_gdal_writes(fmt: str, dtype: str, compress: str, tmp_path: Path) -> None:
    path = tmp_path / "gdal.zarr"
    data = generate.pattern(dtype, (1, 29, 19))
    gdal_write(path, data, FORMAT=fmt, COMPRESS=compress, BLOCKSIZE="8,6")
    a = geozarr.open_array(str(path), path="data")
    assert a.dtype == np.dtype(dtype)
    assert tuple(a.chunks) == (8, 6)
    assert_same(a[...], data[0])
    assert_same(a[::-2, 3:17:4], data[0, ::-2, 3:17:4])
    assert_same(a[...], gdal_read(path, "data")[0])


@pytest.mark.parametrize("fmt", ["ZARR_V2", "ZARR_V3"])
def test_geozarr_reads_gdal_partial_multiband_write(fmt: str, tmp_path: Path) -> None:
    """Two bands, one window written over chunk edges: the untouched chunks are missing.

    GDAL cannot set a nodata value on a multi-band Zarr raster ("SetRawNoDataValue() not
    implemented"): the fill_value is null in v2 and "NaN" in v3, and the chunks the window
    touches are written whole, zeros around the window. GDAL's own read is the reference.
    """
    path = tmp_path / "gdal.zarr"
    data = generate.pattern("float32", (2, 29, 19))
    window = Window(col_off=4, row_off=7, width=11, height=13)
    gdal_write(path, data, window=window, FORMAT=fmt, BLOCKSIZE="1,8,6")
    reference = gdal_read(path, "data")
    assert_same(reference[:, 7:20, 4:15], data[:, :13, :11])
    a = geozarr.open_array(str(path), path="data")
    assert_same(a[...], reference)
    assert_same(a[1, 5:25:3, ::-1], reference[1, 5:25:3, ::-1])


# -- GDAL reads geozarr's output -------------------------------------------------------------

_BLOSC = numcodecs.Blosc
# geozarr v2 arrays GDAL can read. Left out on purpose, as GDAL 3.10 refuses them: the
# compressors lz4, bz2 and the checksums crc32/adler32/fletcher32 ("Decompressor ... not
# handled"); every filter but delta ("Filter ... not handled"); fixed-length strings ("Only
# arrays with numeric data types can be exposed as classic GDALDataset"); complex numbers
# with a fill value, written as [real, imag] ("Invalid fill_value"), so complex cases use None.
GEOZARR_V2_FOR_GDAL: list[tuple[str, str, dict[str, Any]]] = [
    ("uint8-default", "|u1", {"fill_value": 0}),
    ("int8-none", "|i1", {"compressor": None, "fill_value": -128}),
    ("uint16-zlib", "<u2", {"compressor": numcodecs.Zlib(level=1), "fill_value": 65535}),
    ("int16-gzip-slash", "<i2",
     {"compressor": numcodecs.GZip(level=1), "dimension_separator": "/", "fill_value": -9999}),
    ("uint32-zstd-orderF", "<u4",
     {"compressor": numcodecs.Zstd(level=1), "order": "F", "fill_value": 1}),
    ("int32-big-endian", ">i4", {"fill_value": -1}),
    ("uint64-lzma", "<u8", {"compressor": numcodecs.LZMA(preset=1), "fill_value": 2**64 - 1}),
    ("int64-blosc-lz4-shuffle", "<i8",
     {"compressor": _BLOSC("lz4", 5, _BLOSC.SHUFFLE), "fill_value": -(2**63)}),
    ("float32-blosc-zstd-bitshuffle-nan", "<f4",
     {"compressor": _BLOSC("zstd", 3, _BLOSC.BITSHUFFLE), "fill_value": float("nan")}),
    ("float64-big-endian-orderF", ">f8", {"order": "F", "fill_value": -9999.0}),
    ("float64-infinity-fill", "<f8", {"fill_value": float("-inf")}),
    ("int16-delta", "<i2",
     {"filters": [numcodecs.Delta("<i2")], "compressor": numcodecs.Zlib(level=1), "fill_value": 0}),
    ("int16-null-fill", "<i2", {"fill_value": None}),
    ("complex64-null-fill", "<c8", {"fill_value": None}),
    ("complex128-big-endian-null-fill", ">c16", {"fill_value": None}),
]


@pytest.mark.parametrize(("id", "dtype", "options"), GEOZARR_V2_FOR_GDAL,
                         ids=[case[0] for case in GEOZARR_V2_FOR_GDAL])
def test_gdal_reads_geozarr_v2(id: str, dtype: str, options: dict[str, Any],
                               tmp_path: Path) -> None:
    root = tmp_path / "geozarr.zarr"
    geozarr.open_group(str(root), mode="w", zarr_format=2)
    a = geozarr.create_array(str(root), name="data", shape=(29, 19), dtype=dtype, chunks=(8, 6),
                             zarr_format=2, dimension_names=("y", "x"), **options)
    data = generate.pattern(np.dtype(dtype).newbyteorder("=").str, (29, 19)).astype(dtype)
    if options["fill_value"] is None:
        a[...] = data  # the whole array: with no fill value, missing chunks are undefined
        expected = data
    else:
        a[3:25, 5:] = data[3:25, 5:]  # leaves chunks missing: GDAL fills them with fill_value
        expected = np.full(data.shape, options["fill_value"], dtype=dtype)
        expected[3:25, 5:] = data[3:25, 5:]
    assert_same(gdal_read(root, "data")[0], expected)


def test_gdal_reads_geozarr_v2_3d_as_bands(tmp_path: Path) -> None:
    root = tmp_path / "geozarr.zarr"
    geozarr.open_group(str(root), mode="w", zarr_format=2)
    a = geozarr.create_array(str(root), name="data", shape=(3, 29, 19), dtype="<u2",
                             chunks=(2, 8, 6), zarr_format=2, dimension_names=("band", "y", "x"),
                             fill_value=7)
    data = generate.pattern("<u2", (3, 29, 19))
    a[:, 1:] = data[:, 1:]
    expected = data.copy()
    expected[:, 0] = 7
    assert_same(gdal_read(root, "data"), expected)
