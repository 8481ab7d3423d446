"""``Array.to_dask`` and ``RasterReader.to_dask``: lazy dask arrays whose tasks each own
whole stored objects (chunks, or shards when sharded), computed locally, in processes and on
a ``distributed`` cluster."""

from __future__ import annotations

import subprocess
import sys
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import dask
import dask.array as da
import numpy as np
import pytest
import xarray as xr
from distributed import Client, LocalCluster

import geozarr
from geozarr.errors import UsageError
from geozarr.storage import ByteRange, DirectoryStore, MemoryStore, ZipStore

pytestmark = pytest.mark.filterwarnings("ignore::geozarr.NotGeoreferencedWarning")

SHAPE = (3, 37, 50)  # (time, y, x): edge chunks on every axis
VALUES = (np.arange(np.prod(SHAPE)) % 1009).astype("int32").reshape(SHAPE)


class CountingStore(DirectoryStore):
    """A directory store that records every key read (whole or by ranges)."""

    def __init__(self, root: Path, **kwargs: Any):
        super().__init__(root, **kwargs)
        self.reads: list[str] = []
        self.range_reads: list[str] = []

    def get(self, key: str) -> bytes | None:
        self.reads.append(key)
        return super().get(key)

    def get_ranges(self, key: str, ranges: Sequence[ByteRange]) -> list[bytes] | None:
        self.range_reads.append(key)
        return super().get_ranges(key, ranges)


def _write(root: Path, **keywords: Any) -> geozarr.Array:
    array = geozarr.create_array(DirectoryStore(root, create=True), name="v", shape=SHAPE,
                                 dtype="int32", dimension_names=("time", "y", "x"),
                                 **keywords)
    array[...] = VALUES
    return array


@pytest.fixture
def chunked(tmp_path: Path) -> Path:
    _write(tmp_path / "chunked.zarr", chunks=(1, 16, 16))
    return tmp_path / "chunked.zarr"


@pytest.fixture
def sharded(tmp_path: Path) -> Path:
    _write(tmp_path / "sharded.zarr", chunks=(1, 8, 8), shards=(1, 16, 24))
    return tmp_path / "sharded.zarr"


def _chunk_reads(store: CountingStore) -> list[str]:
    return [key for key in store.reads + store.range_reads if not key.endswith("zarr.json")]


# -- Array.to_dask ---------------------------------------------------------------------------
def test_chunks_follow_the_zarr_chunks(chunked: Path) -> None:
    lazy = geozarr.open_array(chunked, path="v").to_dask()
    assert isinstance(lazy, da.Array)
    assert lazy.chunks == ((1, 1, 1), (16, 16, 5), (16, 16, 16, 2))
    assert lazy.dtype == np.int32
    np.testing.assert_array_equal(lazy.compute(scheduler="threads"), VALUES)
    np.testing.assert_array_equal(lazy[1, 10:30, ::3].compute(), VALUES[1, 10:30, ::3])


def test_each_stored_object_is_read_once_by_one_task(chunked: Path) -> None:
    store = CountingStore(chunked, read_only=True)
    lazy = geozarr.open_array(store, path="v").to_dask()
    store.reads.clear()
    lazy.compute(scheduler="threads")
    reads = _chunk_reads(store)
    assert len(reads) == len(set(reads)) == 3 * 3 * 4


def test_sharded_tasks_own_whole_shards(sharded: Path) -> None:
    store = CountingStore(sharded, read_only=True)
    array = geozarr.open_array(store, path="v")
    assert (array.chunks, array.shards) == ((1, 8, 8), (1, 16, 24))
    lazy = array.to_dask()
    assert lazy.chunks == ((1, 1, 1), (16, 16, 5), (24, 24, 2))
    store.reads.clear()
    np.testing.assert_array_equal(lazy.compute(scheduler="threads"), VALUES)
    assert not store.range_reads  # a task reads its shard whole, never by ranges
    assert len(store.reads) == len(set(store.reads)) == 3 * 3 * 3


def test_bigger_tasks_are_whole_multiples(chunked: Path) -> None:
    array = geozarr.open_array(chunked, path="v")
    lazy = array.to_dask(chunks=(3, 32, 64))  # 64 > 50: the whole dimension
    assert lazy.chunks == ((3,), (32, 5), (50,))
    np.testing.assert_array_equal(lazy.compute(), VALUES)
    with pytest.raises(UsageError, match="multiples of the stored objects"):
        array.to_dask(chunks=(1, 24, 16))
    with pytest.raises(UsageError, match="has 2 entries"):
        array.to_dask(chunks=(1, 16))


def test_zero_dimensional_and_memory_arrays() -> None:
    store = MemoryStore()
    scalar = geozarr.create_array(store, name="s", shape=(), dtype="f8")
    scalar[...] = 2.5
    assert scalar.to_dask().compute() == 2.5
    vector = geozarr.create_array(store, name="v", shape=(10,), dtype="u1", chunks=(4,))
    vector[...] = np.arange(10)
    assert vector.to_dask().chunks == ((4, 4, 2),)
    np.testing.assert_array_equal(vector.to_dask().compute(scheduler="processes"),
                                  np.arange(10))


def test_graph_holds_the_array_once(chunked: Path) -> None:
    lazy = geozarr.open_array(chunked, path="v").to_dask()
    arrays = [value for value in dict(lazy.__dask_graph__()).values()
              if isinstance(value, geozarr.Array)]
    assert len(arrays) == 1


# -- RasterReader.to_dask -----------------------------------------------------------------------
def test_raster_to_dask_is_what_read_returns(chunked: Path) -> None:
    reader = geozarr.open_raster(str(chunked), array="v")
    lazy = reader.to_dask()
    assert lazy.shape == (3, 37, 50)
    assert lazy.chunks[1:] == ((16, 16, 5), (16, 16, 16, 2))
    np.testing.assert_array_equal(lazy.compute(), reader.read())


def test_raster_with_a_fixed_band_and_bands_last(tmp_path: Path) -> None:
    fixed = geozarr.open_raster(str(_write(tmp_path / "a.zarr", chunks=(2, 8, 8)).store.root),
                                array="v", sel={"time": 2})
    np.testing.assert_array_equal(fixed.to_dask().compute(), fixed.read())
    assert fixed.to_dask().shape == (1, 37, 50)
    last = geozarr.create_array(DirectoryStore(tmp_path / "b.zarr", create=True), name="v",
                                shape=(37, 50, 3), dtype="int32", chunks=(16, 16, 3),
                                dimension_names=("y", "x", "band"))
    last[...] = np.moveaxis(VALUES, 0, -1)
    reader = geozarr.open_raster(str(tmp_path / "b.zarr"), array="v")
    assert reader.band_dims == ("band",)
    np.testing.assert_array_equal(reader.to_dask().compute(), reader.read())
    np.testing.assert_array_equal(reader.to_dask().compute(), VALUES)


def test_raster_with_two_band_dimensions() -> None:
    store = MemoryStore()
    cube = geozarr.create_array(store, name="v", shape=(2, 3, 5, 4), dtype="int16",
                                chunks=(1, 2, 2, 2), dimension_names=("time", "level", "y", "x"))
    cube[...] = np.arange(120, dtype="int16").reshape(2, 3, 5, 4)
    reader = geozarr.open_raster(store, array="v")
    np.testing.assert_array_equal(reader.to_dask().compute(), reader.read())


def test_closed_raster_refuses(chunked: Path) -> None:
    reader = geozarr.open_raster(str(chunked), array="v")
    reader.close()
    with pytest.raises(UsageError, match="closed"):
        reader.to_dask()


def test_dask_is_imported_only_when_asked() -> None:
    code = ("import sys, geozarr, geozarr.dask_support; "
            "print('dask' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"


# -- distributed ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def client() -> Iterator[Client]:
    """One worker process: every task and its array cross a pickle."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cluster = LocalCluster(n_workers=1, threads_per_worker=2, processes=True,
                               dashboard_address=None)
    with cluster, Client(cluster) as client:
        yield client


def test_distributed_reads_directory_zip_and_xarray(client: Client, sharded: Path,
                                                    tmp_path: Path) -> None:
    array = geozarr.open_array(sharded, path="v")
    assert int(client.compute(array.to_dask().sum()).result()) == int(VALUES.sum())
    with ZipStore(tmp_path / "z.zip", mode="w") as store:
        geozarr.create_array(store, name="v", shape=SHAPE, dtype="int32", chunks=(1, 16, 16),
                             dimension_names=("time", "y", "x"))[...] = VALUES
    reader = geozarr.open_raster(str(tmp_path / "z.zip"), array="v")
    np.testing.assert_array_equal(client.compute(reader.to_dask()).result(), VALUES)
    ds = xr.open_dataset(sharded, engine="geozarr", chunks={})
    assert ds["v"].chunks == ((1, 1, 1), (16, 16, 5), (24, 24, 2))
    with dask.config.set(scheduler=client):
        np.testing.assert_array_equal(ds["v"].mean("time").values, VALUES.mean(axis=0))
