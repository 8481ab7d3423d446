"""Array reads and writes against numpy, on every store kind and both formats."""

from __future__ import annotations

import numcodecs
import numpy as np
import pytest

import geozarr
from geozarr.errors import ArrayIndexError, ReadOnlyError, ValueShapeError
from geozarr.storage import DirectoryStore, MemoryStore

SELECTIONS = [
    (...,), (0,), (slice(3, 30), slice(None, None, 2)), (slice(None, None, -1), 5),
    (slice(40, 2, -3), slice(7, None, -2)), (-1, -1), (slice(0, 0),), (slice(5, 6), ...),
]


@pytest.fixture(params=["v2", "v3", "v3-sharded"])
def layout(request: pytest.FixtureRequest) -> dict:
    return {"v2": {"zarr_format": 2}, "v3": {"zarr_format": 3},
            "v3-sharded": {"zarr_format": 3, "shards": (14, 10)}}[request.param]


def _make(store: object, layout: dict, **extra: object) -> geozarr.Array:
    keywords = {"name": "a", "shape": (45, 33), "dtype": "int32", "chunks": (7, 5),
                "fill_value": -1, **layout, **extra}
    return geozarr.create_array(store, **keywords)


@pytest.mark.parametrize("selection", SELECTIONS)
def test_read_write_round_trip(tmp_path, layout: dict, selection: tuple) -> None:
    expected = np.arange(45 * 33, dtype=np.int32).reshape(45, 33)
    array = _make(tmp_path / "d.zarr", layout)
    array[...] = expected
    reopened = geozarr.open_array(tmp_path / "d.zarr", path="a")
    np.testing.assert_array_equal(reopened[selection], expected[selection])


def test_partial_writes_touch_only_their_chunks(layout: dict) -> None:
    store = MemoryStore()
    array = _make(store, layout)
    expected = np.full((45, 33), -1, dtype=np.int32)
    array[10:20, 3:9] = 7
    expected[10:20, 3:9] = 7
    array[::4, 30] = np.arange(12)
    expected[::4, 30] = np.arange(12)
    array[44, ::-1] = np.arange(33)
    expected[44, ::-1] = np.arange(33)
    np.testing.assert_array_equal(array[...], expected)
    chunk_keys = [k for k in store.list_prefix("a/") if "zarr.json" not in k
                  and not k.endswith((".zarray", ".zattrs"))]
    assert chunk_keys, "chunks were written"
    assert len(chunk_keys) < (45 // 7 + 1) * (33 // 5 + 1), "untouched chunks stay absent"


def test_all_fill_chunks_are_not_stored(layout: dict) -> None:
    store = MemoryStore()
    array = _make(store, layout)
    array[...] = -1
    assert [k for k in store.list_prefix("a/") if k.rsplit("/", 1)[-1] not in
            ("zarr.json", ".zarray", ".zattrs")] == []
    array[0:7, 0:5] = 3
    array[0:7, 0:5] = -1  # back to all fill: removed again
    assert [k for k in store.list_prefix("a/") if k.rsplit("/", 1)[-1] not in
            ("zarr.json", ".zarray", ".zattrs")] == []


def test_missing_chunks_read_as_fill(layout: dict) -> None:
    array = _make(MemoryStore(), layout, fill_value=9)
    assert (array[...] == 9).all()


def test_read_into_out(layout: dict) -> None:
    array = _make(MemoryStore(), layout)
    data = np.random.default_rng(1).integers(0, 1000, (45, 33), dtype=np.int32)
    array[...] = data
    out = np.empty((20, 10), dtype=np.int32)
    returned = array.read((slice(5, 25), slice(20, 30)), out=out)
    assert returned is out
    np.testing.assert_array_equal(out, data[5:25, 20:30])
    with pytest.raises(ValueShapeError):
        array.read((slice(5, 25), slice(20, 30)), out=np.empty((20, 11), dtype=np.int32))
    with pytest.raises(ValueShapeError):
        array.read((slice(5, 25), slice(20, 30)), out=np.empty((20, 10), dtype=np.int64))


def test_scalar_read_and_broadcast_write(layout: dict) -> None:
    array = _make(MemoryStore(), layout)
    array[3:9, :] = np.arange(33)
    assert array[4, 7] == 7 and isinstance(array[4, 7], np.int32)
    with pytest.raises(ValueShapeError):
        array[3:9, :] = np.arange(32)
    with pytest.raises(ArrayIndexError):
        array[45, 0]


def test_read_only_refuses_writes(tmp_path, layout: dict) -> None:
    _make(tmp_path / "d.zarr", layout)[...] = 1
    array = geozarr.open_array(tmp_path / "d.zarr", path="a")
    with pytest.raises(ReadOnlyError):
        array[0, 0] = 5
    with pytest.raises(ReadOnlyError):
        array.attrs["x"] = 1
    assert array[0, 0] == 1 and "x" not in geozarr.open_array(tmp_path / "d.zarr", path="a").attrs


def test_attributes_persist(tmp_path, layout: dict) -> None:
    array = _make(tmp_path / "d.zarr", layout, attributes={"units": "m"},
                  dimension_names=("y", "x"))
    array.attrs["title"] = "elevation"
    array.attrs.update({"a": 1, "b": [1, 2]})
    reopened = geozarr.open_array(tmp_path / "d.zarr", path="a")
    assert reopened.attrs["units"] == "m" and reopened.attrs["title"] == "elevation"
    assert reopened.attrs["b"] == [1, 2]
    assert reopened.dimension_names == ("y", "x")


@pytest.mark.parametrize("dtype", ["bool", "int8", "uint16", "int64", "uint64", "float16",
                                   "float32", "float64", "complex64", "complex128", ">i4",
                                   ">f8"])
@pytest.mark.parametrize("zarr_format", [2, 3])
def test_dtypes(dtype: str, zarr_format: int) -> None:
    data = (np.arange(6 * 7) % 5).astype(dtype).reshape(6, 7)
    array = geozarr.create_array(MemoryStore(), shape=(6, 7), chunks=(4, 4), dtype=dtype,
                                 zarr_format=zarr_format)
    array[...] = data
    result = array[...]
    np.testing.assert_array_equal(result, data)
    assert result.dtype.newbyteorder("=") == np.dtype(dtype).newbyteorder("=")


@pytest.mark.parametrize("compressor", [None, numcodecs.Zstd(level=1), numcodecs.Blosc(),
                                        numcodecs.GZip(), numcodecs.LZ4(), numcodecs.Zlib(),
                                        numcodecs.BZ2(), numcodecs.LZMA()])
@pytest.mark.parametrize("zarr_format", [2, 3])
def test_compressors(compressor: object, zarr_format: int) -> None:
    data = np.arange(30 * 20, dtype="float32").reshape(30, 20)
    array = geozarr.create_array(MemoryStore(), shape=data.shape, chunks=(8, 8), dtype="f4",
                                 compressor=compressor, zarr_format=zarr_format)
    array[...] = data
    np.testing.assert_array_equal(array[...], data)


@pytest.mark.parametrize("zarr_format", [2, 3])
def test_fortran_order(zarr_format: int) -> None:
    data = np.arange(9 * 11 * 4, dtype="u2").reshape(9, 11, 4)
    array = geozarr.create_array(MemoryStore(), shape=data.shape, chunks=(4, 5, 3), dtype="u2",
                                 order="F", zarr_format=zarr_format)
    array[...] = data
    np.testing.assert_array_equal(array[...], data)
    np.testing.assert_array_equal(array[2:7, ::3, 1], data[2:7, ::3, 1])


def test_zero_dimensional() -> None:
    array = geozarr.create_array(MemoryStore(), shape=(), dtype="f8", fill_value=np.nan)
    assert np.isnan(array[...])
    array[...] = 2.5
    assert array[()] == 2.5


def test_threads_do_not_change_results(layout: dict) -> None:
    data = np.random.default_rng(3).integers(0, 99, (45, 33), dtype=np.int32)
    array = _make(MemoryStore(), layout)
    with geozarr.config(threads=1):
        array[...] = data
        serial = array[...]
    with geozarr.config(threads=4):
        parallel = array[...]
    np.testing.assert_array_equal(serial, data)
    np.testing.assert_array_equal(parallel, data)


def test_directory_layout_v2_separator(tmp_path) -> None:
    array = geozarr.create_array(tmp_path / "s.zarr", shape=(4, 4), chunks=(2, 2), dtype="u1",
                                 zarr_format=2, dimension_separator="/", fill_value=0)
    array[...] = 1
    assert (tmp_path / "s.zarr" / "1" / "1").is_file()
    assert isinstance(array.store, DirectoryStore)
