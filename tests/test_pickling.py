"""Pickling stores, arrays, groups and rasters: they travel as (store, path, metadata), the
store as how to reopen it, so that dask can ship them to workers.

Directory and zip stores pickle as their path (no data, no open file); a memory store pickles
a snapshot of its data (documented: the copy is independent). Every round trip is checked
in this process and, for the stores on disk, in a freshly spawned one.
"""

from __future__ import annotations

import copy
import multiprocessing
import pickle
import warnings
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import geozarr
from geozarr.errors import StoreError, UsageError
from geozarr.storage import DirectoryStore, MemoryStore, Store, ZipStore
from geozarr.storage.base import ReopenSpec

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "data"
VALUES = np.arange(6 * 8, dtype="int16").reshape(6, 8)
CRS_WKT = 'GEOGCS["WGS 84",DATUM["WGS_1984",SPHEROID["WGS 84",6378137,298.257223563]],' \
    'PRIMEM["Greenwich",0],UNIT["degree",0.0174532925199433],AUTHORITY["EPSG","4326"]]'


def _fill(store: Store) -> Store:
    """A georeferenced group in ``store``: /sub/data (int16, GDAL's _CRS) and its x/y
    coordinates; built in memory and copied key by key (zip stores are write-once)."""
    built = MemoryStore()
    group = geozarr.open_group(built, mode="w", zarr_format=3)
    group.attrs["title"] = "pickled"
    sub = group.create_group("sub")
    data = sub.create_array("data", shape=VALUES.shape, dtype="int16", chunks=(4, 4),
                            fill_value=-1, dimension_names=("y", "x"),
                            attributes={"_CRS": {"wkt": CRS_WKT}, "units": "m"})
    data[...] = VALUES
    sub.create_array("x", shape=(8,), dtype="f8", dimension_names=("x",))[...] = \
        10.0 + np.arange(8) + 0.5
    sub.create_array("y", shape=(6,), dtype="f8", dimension_names=("y",))[...] = \
        50.0 - np.arange(6) - 0.5
    for key in built.list_prefix(""):
        store.set(key, built.get(key) or b"")
    return store


def directory(tmp_path: Path) -> Store:
    _fill(DirectoryStore(tmp_path / "d.zarr", create=True))
    return DirectoryStore(tmp_path / "d.zarr", read_only=True)


def zipped(tmp_path: Path) -> Store:
    with ZipStore(tmp_path / "z.zip", mode="w") as store:
        _fill(store)
    return ZipStore(tmp_path / "z.zip")


def memory(tmp_path: Path) -> Store:
    return _fill(MemoryStore())


STORES = {"directory": directory, "zip": zipped, "memory": memory}


@pytest.fixture(params=list(STORES))
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Store:
    return STORES[request.param](tmp_path)


def roundtrip(value: Any) -> Any:
    return pickle.loads(pickle.dumps(value))


# -- stores ---------------------------------------------------------------------------------
def test_store_reopens_as_the_same_kind(store: Store) -> None:
    copy_ = roundtrip(store)
    assert type(copy_) is type(store) and copy_ is not store
    assert copy_.get("sub/data/zarr.json") == store.get("sub/data/zarr.json")
    assert sorted(copy_.list_prefix("")) == sorted(store.list_prefix(""))
    assert copy_.read_only == store.read_only


def test_directory_store_pickles_as_its_path(tmp_path: Path) -> None:
    store = directory(tmp_path)
    payload = pickle.dumps(store)
    assert len(payload) < 300 and str(store.root).encode() in payload
    assert roundtrip(store) == store
    assert copy.copy(store) == store


def test_zip_store_reopens_its_own_file(tmp_path: Path) -> None:
    store = zipped(tmp_path)
    copy_ = roundtrip(store)
    store.close()  # the copy holds its own file handle
    assert copy_.get("sub/data/zarr.json") is not None
    assert copy_.path == store.path and copy_.mode == "r"
    copy_.close()


def test_zip_store_being_written_or_closed_refuses(tmp_path: Path) -> None:
    writing = ZipStore(tmp_path / "w.zip", mode="w")
    with pytest.raises(StoreError, match="being written"):
        pickle.dumps(writing)
    writing.discard()
    closed = ZipStore(zipped(tmp_path).path)
    closed.close()
    with pytest.raises(StoreError, match="closed"):
        pickle.dumps(closed)


def test_memory_store_pickles_a_snapshot(tmp_path: Path) -> None:
    store = memory(tmp_path)
    copy_ = roundtrip(store)
    copy_.set("extra", b"1")
    store.set("other", b"2")
    assert store.get("extra") is None and copy_.get("other") is None
    assert roundtrip(MemoryStore({"a": b"x"}, read_only=True)).read_only


class DictStore(Store):
    """A store with no reopen description: plain state, pickled as Python does."""

    def __init__(self) -> None:
        super().__init__()
        self.data: dict[str, bytes] = {}

    def get(self, key: str) -> bytes | None:
        return self.data.get(key)

    def list_prefix(self, prefix: str) -> Any:
        return iter([k for k in self.data if k.startswith(prefix)])

    def _set(self, key: str, value: bytes) -> None:
        self.data[key] = value

    def _delete(self, key: str) -> None:
        self.data.pop(key, None)


def test_a_store_without_reopen_spec_pickles_its_state() -> None:
    store = DictStore()
    store.set("k", b"v")
    assert store.reopen_spec() is None
    assert roundtrip(store).get("k") == b"v"


def test_reopen_spec_is_a_value() -> None:
    spec = DirectoryStore(FIXTURES / "gdal" / "v2_georeferenced.zarr", read_only=True
                          ).reopen_spec()
    assert isinstance(spec, ReopenSpec)
    assert spec.factory is DirectoryStore and spec.kwargs == {"read_only": True}


# -- arrays and groups --------------------------------------------------------------------------
def test_array_roundtrip(store: Store) -> None:
    array = geozarr.open_array(store, path="sub/data")
    copy_ = roundtrip(array)
    assert (copy_.path, copy_.shape, copy_.chunks, copy_.fill_value, copy_.dimension_names) == \
        (array.path, array.shape, array.chunks, array.fill_value, array.dimension_names)
    assert copy_.metadata == array.metadata and dict(copy_.attrs) == dict(array.attrs)
    assert copy_.read_only
    np.testing.assert_array_equal(copy_[1:5, ::3], VALUES[1:5, ::3])


def test_array_pickle_holds_no_chunk_data(tmp_path: Path) -> None:
    store = DirectoryStore(tmp_path / "big.zarr", create=True)
    array = geozarr.create_array(store, shape=(512, 512), dtype="f8", chunks=(128, 128))
    array[...] = np.random.default_rng(1).random((512, 512))
    assert len(pickle.dumps(array)) < 4000  # the data is 2 MiB


def test_writable_array_writes_through_its_copy(tmp_path: Path) -> None:
    _fill(DirectoryStore(tmp_path / "w.zarr", create=True))
    array = geozarr.open_array(tmp_path / "w.zarr", mode="r+", path="sub/data")
    copy_ = roundtrip(array)
    copy_[0, 0] = 99
    copy_.attrs["written"] = True
    assert array[0, 0] == 99
    assert geozarr.open_array(tmp_path / "w.zarr", path="sub/data").attrs["written"] is True


def test_group_roundtrip(store: Store) -> None:
    group = geozarr.open_group(store)
    copy_ = roundtrip(group)
    assert list(copy_) == list(group) == ["sub"]
    assert copy_.attrs["title"] == "pickled" and copy_.read_only
    np.testing.assert_array_equal(copy_["sub/data"][...], VALUES)


def test_consolidated_group_keeps_its_documents(tmp_path: Path) -> None:
    _fill(DirectoryStore(tmp_path / "c.zarr", create=True))
    group = geozarr.consolidate_metadata(tmp_path / "c.zarr")
    copy_ = roundtrip(group)
    (tmp_path / "c.zarr" / "sub" / "data" / "zarr.json").unlink()
    assert copy_["sub/data"].shape == VALUES.shape  # read from the consolidated metadata


# -- rasters -----------------------------------------------------------------------------------
def test_raster_roundtrip_resolves_nothing_again(store: Store) -> None:
    reader = geozarr.open_raster(store, array="sub/data")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # unpickling warns about nothing
        copy_ = roundtrip(reader)
    assert (copy_.crs, copy_.transform, copy_.nodata, copy_.name) == \
        (reader.crs, reader.transform, reader.nodata, reader.name)
    assert copy_.crs.to_epsg() == 4326
    assert copy_.tags() == reader.tags()
    np.testing.assert_array_equal(copy_.read(1), VALUES)
    np.testing.assert_array_equal(copy_.x_coords, reader.x_coords)


@pytest.mark.filterwarnings("ignore::geozarr.NotGeoreferencedWarning")
def test_raster_keeps_its_band_selection_and_closed_state() -> None:
    path = FIXTURES / "gdal" / "v2_bands_first_3d.zarr"
    reader = geozarr.open_raster(str(path), sel={0: 1})
    copy_ = roundtrip(reader)
    assert copy_.count == 1 and copy_.tags(1) == reader.tags(1)
    np.testing.assert_array_equal(copy_.read(), reader.read())
    reader.close()
    closed = roundtrip(reader)
    assert closed.closed
    with pytest.raises(UsageError, match="closed"):
        closed.read()


def test_raster_of_a_root_array() -> None:
    store = MemoryStore()
    geozarr.create_array(store, shape=(3, 4), dtype="u1", dimension_names=("y", "x"),
                         attributes={"proj:code": "EPSG:32633",
                                     "spatial:transform": [10, 0, 500000, 0, -10, 5000000]}
                         )[...] = 5
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reader = geozarr.open_raster(store)
    copy_ = roundtrip(reader)
    assert copy_.crs == reader.crs and copy_.transform == reader.transform
    assert copy_.read(1).sum() == 60


# -- in another process --------------------------------------------------------------------------
def _read_in_worker(payload: bytes) -> tuple[Any, ...]:
    value = pickle.loads(payload)
    if isinstance(value, geozarr.RasterReader):
        return value.crs.to_epsg(), tuple(value.transform), value.read(1).sum()
    return (int(value[...].sum()),)


@pytest.fixture(scope="module")
def spawned() -> Any:
    """One spawned process (nothing inherited from this one), shared by the module."""
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        yield pool


@pytest.mark.parametrize("make", [directory, zipped], ids=["directory", "zip"])
def test_a_spawned_process_reads_what_was_pickled(
        spawned: Any, tmp_path: Path, make: Callable[[Path], Store]) -> None:
    store = make(tmp_path)
    array = geozarr.open_array(store, path="sub/data")
    reader = geozarr.open_raster(store, array="sub/data")
    assert spawned.submit(_read_in_worker, pickle.dumps(array)).result() == (VALUES.sum(),)
    epsg, transform, total = spawned.submit(_read_in_worker, pickle.dumps(reader)).result()
    assert (epsg, transform, total) == (4326, tuple(reader.transform), VALUES.sum())
