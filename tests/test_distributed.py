"""translate and build_pyramid on a dask.distributed cluster: the same bytes as the local run,
also when a worker dies in the middle; errors and refusals; dask stays optional.

One LocalCluster of two single-threaded worker processes on loopback serves the module, so
every unit of work crosses a pickle and two processes write into one output at once. The
outputs are compared file by file (every stored object's bytes, and nothing else left
behind) with the outputs of local runs.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import psutil
import pytest
import rasterio
from dask.utils import key_split
from distributed import Client, LocalCluster, get_task_stream
from rasterio.windows import Window

import geozarr
import pyramid_sources as sources
from geozarr.errors import ChunkDecodeError, StoreError, UsageError
from geozarr.raster.staging import PARTIAL_MARK, ZARR_DOCUMENTS
from geozarr.raster.writer import ZarrRasterWriter, raster_spec
from geozarr.storage import MemoryStore, Store
from geozarr.storage.local import TEMP_MARK

# rasterio silences this warning around the in-memory datasets of reproject with
# warnings.catch_warnings(), which is not thread-safe (see test_pyramid_build.py).
pytestmark = pytest.mark.filterwarnings(
    "ignore:Dataset has no geotransform:rasterio.errors.NotGeoreferencedWarning")

#: Small budgets, so that even these small rasters are cut into many tasks.
TRANSLATE_MEMORY = 2**20      # one 128 x 128 chunk per block
PYRAMID_MEMORY = 16 * 2**20   # one tile per block


@pytest.fixture(scope="module")
def client() -> Iterator[Client]:
    """Two worker processes of one thread each, on loopback, closed after the module."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the port and memory notices of a busy CI machine
        cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                               host="127.0.0.1", dashboard_address=None)
    with cluster, Client(cluster) as client:
        yield client


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("distributed")


@pytest.fixture(scope="module")
def utm(folder: Path) -> Path:
    """1200 x 1600 float32 in UTM 33N at 30 m, nodata -9999 in a hole."""
    data = sources.smooth(1200, 1600).astype("float32")
    data[:, 100:300, 200:500] = -9999.0
    return sources.write_tif(folder / "utm.tif", data, crs="EPSG:32633",
                             transform=sources.from_origin(400000, 5000000, 30, 30),
                             nodata=-9999.0)


@pytest.fixture(scope="module")
def rgb(folder: Path) -> Path:
    """The three-band uint8 geographic source of the pyramid tests."""
    return sources.geographic_uint8_rgb(folder)


def stored_files(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` (hidden ones too) and its bytes, by relative path."""
    found = {}
    for parent, _, names in os.walk(root):
        for name in names:
            path = Path(parent) / name
            found[path.relative_to(root).as_posix()] = path.read_bytes()
    return found


def assert_same_output(local: Path, distributed: Path) -> None:
    expected, got = stored_files(local), stored_files(distributed)
    assert sorted(got) == sorted(expected)
    assert [key for key in expected if got[key] != expected[key]] == []
    chunks = [key for key in expected if key.rsplit("/", 1)[-1] not in ZARR_DOCUMENTS]
    assert len(chunks) > 10  # chunks were compared, not only metadata


def partial_leftovers(path: Path) -> list[str]:
    return [name for name in os.listdir(path.parent) if PARTIAL_MARK in name]


# -- the same bytes ----------------------------------------------------------------------------
@pytest.mark.parametrize("layout", [
    {"chunks": (128, 128)},
    {"chunks": (64, 64), "shards": (128, 256)},
    {"chunks": (128, 128), "zarr_format": 2},
])
def test_translate_writes_the_local_bytes(client: Client, utm: Path, tmp_path: Path,
                                          layout: dict) -> None:
    local, remote = tmp_path / "local" / "out.zarr", tmp_path / "remote" / "out.zarr"
    geozarr.translate(utm, local, memory_limit=TRANSLATE_MEMORY, **layout)
    progress: list[float] = []
    with get_task_stream(client) as stream:
        geozarr.translate(utm, remote, memory_limit=TRANSLATE_MEMORY, client=client,
                          progress=progress.append, **layout)
    assert_same_output(local, remote)
    assert len(progress) > 20 and progress == sorted(progress) and progress[-1] == 1.0
    # one task per block, all shown under one name on the dashboard
    assert len(stream.data) == len(progress)
    assert {key_split(task["key"]) for task in stream.data} == {"geozarr-translate"}
    assert partial_leftovers(remote) == []


def test_translate_from_zarr_and_to_zip(client: Client, rgb: Path, tmp_path: Path) -> None:
    """A Zarr source (a geozarr reader, pickled to the workers) and a zip output (staged in
    a folder the workers write, packed by the client)."""
    source = tmp_path / "rgb.zarr"
    geozarr.translate(rgb, source, chunks=(64, 64))
    for name in ("out.zarr", "out.zip"):
        local, remote = tmp_path / "local" / name, tmp_path / "remote" / name
        geozarr.translate(source, local, chunks=(128, 128), memory_limit=TRANSLATE_MEMORY)
        geozarr.translate(source, remote, chunks=(128, 128), memory_limit=TRANSLATE_MEMORY,
                          client=client)
        if name.endswith(".zip"):
            assert remote.read_bytes() == local.read_bytes()
        else:
            assert_same_output(local, remote)
    with geozarr.open_raster(str(tmp_path / "remote" / "out.zip")) as reader, \
            rasterio.open(rgb) as original:
        np.testing.assert_array_equal(reader.read(), original.read())


@pytest.mark.parametrize("options", [
    {"tms": "WebMercatorQuad", "resampling": "average"},
    {"tms": "WGS1984Quad", "resampling": "bilinear", "shards": 2},
])
def test_pyramid_writes_the_local_bytes(client: Client, utm: Path, tmp_path: Path,
                                        options: dict) -> None:
    local, remote = tmp_path / "local.zarr", tmp_path / "remote.zarr"
    geozarr.build_pyramid(utm, local, memory_limit=PYRAMID_MEMORY, **options)
    progress: list[float] = []
    with get_task_stream(client) as stream:
        plan = geozarr.build_pyramid(utm, remote, memory_limit=PYRAMID_MEMORY, client=client,
                                     progress=progress.append, **options)
    assert {key_split(task["key"]) for task in stream.data} == {"geozarr-pyramid"}
    assert_same_output(local, remote)
    assert len(plan.levels) > 3 and progress == sorted(progress) and progress[-1] == 1.0
    assert partial_leftovers(remote) == []


def test_pyramid_of_a_zarr_source_with_resume(client: Client, rgb: Path,
                                              tmp_path: Path) -> None:
    """A Zarr source, a TMS whose levels do not nest (warped from the level below), and a
    distributed build stopped by its progress callback, then resumed on the cluster."""
    source = tmp_path / "rgb.zarr"
    geozarr.translate(rgb, source, chunks=(128, 128))
    options = {"tms": "CanadianNAD83_LCC", "maxzoom": 8, "resampling": "cubic",
               "memory_limit": PYRAMID_MEMORY}
    local, remote = tmp_path / "local.zarr", tmp_path / "remote.zarr"
    plan = geozarr.build_pyramid(source, local, **options)
    assert any(level.derived_from and level.factor is None for level in plan.levels)

    def stop_halfway(fraction: float) -> None:
        if fraction > 0.5:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        geozarr.build_pyramid(source, remote, client=client, progress=stop_halfway,
                              **options)
    assert not remote.exists() and len(partial_leftovers(remote)) == 1
    geozarr.build_pyramid(source, remote, client=client, resume=True, **options)
    assert_same_output(local, remote)
    assert partial_leftovers(remote) == []


# -- a worker dies in the middle ---------------------------------------------------------------
class WorkerKiller:
    """A progress callback that kills a worker busy with the run, the first time some but
    not all of the work is done; the nanny then starts a new worker process."""

    def __init__(self, client: Client):
        self.client = client
        self.pid: int | None = None
        self.busy: list[str] = []

    def __call__(self, fraction: float) -> None:
        if self.pid is not None or not 0 < fraction < 0.5:
            return
        processing = self.client.processing()
        victim = max(processing, key=lambda address: len(processing[address]))
        if not processing[victim]:
            return  # between tasks: try again at the next report
        self.busy = list(processing[victim])
        self.pid = self.client.run(os.getpid, workers=[victim])[victim]
        os.kill(self.pid, signal.SIGKILL)  # as the kernel's out-of-memory killer does

    def check(self) -> None:
        """The worker was killed while it had tasks of the run, and is gone."""
        assert self.pid is not None and self.busy
        assert not psutil.pid_exists(self.pid) or \
            psutil.Process(self.pid).status() == psutil.STATUS_ZOMBIE
        self.client.wait_for_workers(2, timeout=60)  # the next tests want two again


def test_translate_survives_a_killed_worker(client: Client, utm: Path, tmp_path: Path) -> None:
    local, remote = tmp_path / "local" / "out.zarr", tmp_path / "remote" / "out.zarr"
    geozarr.translate(utm, local, chunks=(64, 64), memory_limit=TRANSLATE_MEMORY)
    killer = WorkerKiller(client)
    geozarr.translate(utm, remote, chunks=(64, 64), memory_limit=TRANSLATE_MEMORY,
                      client=client, progress=killer)
    killer.check()
    assert_same_output(local, remote)


def test_pyramid_survives_a_killed_worker(client: Client, utm: Path, tmp_path: Path) -> None:
    local, remote = tmp_path / "local.zarr", tmp_path / "remote.zarr"
    options = {"maxzoom": 13, "memory_limit": PYRAMID_MEMORY}
    geozarr.build_pyramid(utm, local, **options)
    killer = WorkerKiller(client)
    geozarr.build_pyramid(utm, remote, client=client, progress=killer, **options)
    killer.check()
    assert_same_output(local, remote)


def test_writes_cut_short_by_a_dead_worker_leave_nothing(tmp_path: Path) -> None:
    """A worker killed inside a chunk write leaves that write's temporary file in the staged
    output; the commit deletes such files before the output moves into place (the chunk
    itself is written again by the retried task)."""
    spec = raster_spec(height=64, width=64, count=1, dtype="uint8", chunks=(32, 32))
    target = tmp_path / "out.zarr"
    with ZarrRasterWriter(target, spec) as writer:
        writer.write(Window(0, 0, 64, 64), np.ones((64, 64), dtype="uint8"))
        staged = next(path for path in tmp_path.iterdir() if PARTIAL_MARK in path.name)
        leftover = staged / "data" / "c" / "0" / f".1{TEMP_MARK}0123456789abcdef"
        leftover.write_bytes(b"half a chunk")
    assert not leftover.exists()
    assert not (target / "data" / "c" / "0" / leftover.name).exists()
    assert sorted(stored_files(target)) == sorted(
        ["zarr.json", "data/zarr.json", "data/c/0/0", "data/c/0/1", "data/c/1/0", "data/c/1/1"])


# -- errors ------------------------------------------------------------------------------------
def test_a_task_error_is_raised_and_nothing_is_left(client: Client, rgb: Path,
                                                     tmp_path: Path) -> None:
    """A corrupt chunk of the source fails its task on a worker (after the retries): the
    client raises that error, and the output is neither there nor half there."""
    source = tmp_path / "rgb.zarr"
    geozarr.translate(rgb, source, chunks=(128, 128))
    chunk = source / "rgb" / "c" / "1" / "1" / "1"
    assert chunk.is_file()
    chunk.write_bytes(b"not zstd at all")
    target = tmp_path / "out.zarr"
    with pytest.raises(ChunkDecodeError, match="rgb"):
        geozarr.translate(source, target, client=client)
    assert not target.exists() and partial_leftovers(target) == []


def test_refusals(client: Client, utm: Path, tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="only Zarr outputs"):
        geozarr.translate(utm, tmp_path / "out.tif", client=client)
    with pytest.raises(UsageError, match="memory store"):
        geozarr.translate(utm, MemoryStore(), client=client)
    with pytest.raises(UsageError, match="memory store"):
        geozarr.build_pyramid(utm, "memory://pyr", client=client)
    with pytest.raises(UsageError, match="dask.distributed.Client"):
        geozarr.build_pyramid(utm, tmp_path / "pyr.zarr", client="tcp://127.0.0.1:8786")
    assert os.listdir(tmp_path) == []


class LockedStore(Store):
    """A store whose state holds a lock: it cannot be pickled, so it cannot reach a worker."""

    def __init__(self) -> None:
        super().__init__()
        self.lock = threading.Lock()
        self.values: dict[str, bytes] = {}

    def get(self, key: str) -> bytes | None:
        return self.values.get(key)

    def list_prefix(self, prefix: str) -> Iterator[str]:
        return iter([key for key in self.values if key.startswith(prefix)])

    def _set(self, key: str, value: bytes) -> None:
        with self.lock:
            self.values[key] = bytes(value)

    def _delete(self, key: str) -> None:
        with self.lock:
            self.values.pop(key, None)


def test_a_destination_that_cannot_travel_is_refused(client: Client, utm: Path) -> None:
    store = LockedStore()
    with pytest.raises(UsageError, match="cannot be sent to dask workers"):
        geozarr.translate(utm, store, client=client)
    assert store.values == {}


def test_a_source_the_workers_cannot_read_fails_there(client: Client, tmp_path: Path,
                                                      rgb: Path) -> None:
    """The client checks the source; a worker that then finds it gone raises StoreError,
    which reaches the caller as it is."""
    moved = tmp_path / "moving.tif"
    moved.write_bytes(rgb.read_bytes())

    def remove_source(fraction: float) -> None:
        if moved.exists():
            moved.unlink()

    with pytest.raises(StoreError, match="moving.tif"):
        geozarr.build_pyramid(moved, tmp_path / "pyr.zarr", client=client,
                              memory_limit=PYRAMID_MEMORY, progress=remove_source)


def test_local_runs_never_import_dask() -> None:
    code = ("import sys, numpy, rasterio, geozarr\n"
            "from geozarr.raster.translate import translate\n"
            "from geozarr.pyramid.build import build_pyramid\n"
            "print(sorted({'dask', 'distributed'} & set(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"


def test_distributed_translate_into_object_storage_matches_local(client: Client,
                                                                  utm: Path) -> None:
    """The issue's own example: workers write into S3 (a moto server on loopback) and the
    objects are byte for byte those of a local run; the store travels to the workers as its
    URL and options."""
    from servers import LoopbackS3Server

    from geozarr.storage import open_store

    with LoopbackS3Server() as s3:
        s3.client().create_bucket(Bucket="out")
        outputs = {}
        for label, scheduler in (("local", None), ("distributed", client)):
            store = open_store(f"s3://out/{label}.zarr", mode="w",
                               storage_options=s3.storage_options())
            geozarr.translate(utm, store, chunks=(128, 128), memory_limit=TRANSLATE_MEMORY,
                              client=scheduler)
            listing = s3.client().list_objects_v2(Bucket="out", Prefix=f"{label}.zarr/")
            outputs[label] = {
                item["Key"].split("/", 1)[1]:
                    s3.client().get_object(Bucket="out", Key=item["Key"])["Body"].read()
                for item in listing.get("Contents", [])}
        assert outputs["local"] and outputs["distributed"] == outputs["local"]
