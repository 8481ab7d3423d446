"""translate: GeoTIFF <-> GeoZarr both ways, every kind of source and destination, progress,
cancellation and bad input; and the block pipeline under it."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import threading
import time
import warnings
from collections.abc import Sequence
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import rasterio
from affine import Affine
from rasterio.env import get_gdal_config
from rasterio.errors import NotGeoreferencedWarning as RasterioNotGeoreferencedWarning
from rasterio.windows import Window

import geozarr
from geozarr.errors import MetadataError, NodeExistsError, NodeNotFoundError, StoreError
from geozarr.raster.progress import block_budget, plan_blocks, pump
from geozarr.raster.translate import translate
from geozarr.raster.staging import PARTIAL_MARK
from geozarr.raster.writer import write_raster
from geozarr.storage import MemoryStore

UTM = Affine(30.0, 0.0, 500000.0, 0.0, -30.0, 4000000.0)


def make_geotiff(path: Path, data: np.ndarray, *, crs: Any = "EPSG:32611",
                 transform: Affine | None = UTM, nodata: Any = None,
                 descriptions: Sequence[str] | None = None, units: str | None = None,
                 scales: Sequence[float] | None = None, offsets: Sequence[float] | None = None,
                 **options: Any) -> Path:
    """A tiled GeoTIFF of ``data`` ((count, rows, cols)) with the given georeferencing."""
    count, height, width = data.shape
    profile = {"driver": "GTiff", "width": width, "height": height, "count": count,
               "dtype": data.dtype.name, "crs": crs, "nodata": nodata, "tiled": True,
               "blockxsize": 64, "blockysize": 64, "compress": "deflate", **options}
    if transform is not None:
        profile["transform"] = transform
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RasterioNotGeoreferencedWarning)
        with rasterio.open(path, "w", **profile) as dataset:
            dataset.write(data)
            for band, text in enumerate(descriptions or (), start=1):
                dataset.set_band_description(band, text)
            if units:
                dataset.units = (units,) * count
            if scales:
                dataset.scales = tuple(scales)
            if offsets:
                dataset.offsets = tuple(offsets)
    return path


def sample(count: int = 3, height: int = 150, width: int = 170,
           dtype: str = "int16") -> np.ndarray:
    values = (np.arange(count * height * width) * 7919) % 20000 - 10000
    return values.astype(dtype).reshape(count, height, width)


def read_tif(path: Path) -> tuple[Any, np.ndarray]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RasterioNotGeoreferencedWarning)
        with rasterio.open(path) as dataset:
            return dataset.profile | {"descriptions": dataset.descriptions,
                                      "units": dataset.units, "scales": dataset.scales,
                                      "offsets": dataset.offsets,
                                      "layout": dataset.tags(ns="IMAGE_STRUCTURE"),
                                      "overviews": dataset.overviews(1)}, dataset.read()


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if PARTIAL_MARK in p.name
                  or ".geozarr-old-" in p.name)


class Cancel:
    """A progress callback that raises once ``after`` calls have been made."""

    def __init__(self, after: int):
        self.after = after
        self.calls: list[float] = []

    def __call__(self, fraction: float) -> None:
        self.calls.append(fraction)
        if len(self.calls) >= self.after:
            raise RuntimeError("cancelled")


# -- both ways ----------------------------------------------------------------------------------
@pytest.mark.parametrize("zarr_format", [2, 3])
def test_geotiff_to_zarr_and_back(tmp_path: Path, zarr_format: int) -> None:
    data = sample()
    source = make_geotiff(tmp_path / "in.tif", data, nodata=-9999,
                          descriptions=["red", "green", "blue"], units="m",
                          scales=(0.5,) * 3, offsets=(2.0,) * 3)
    translate(source, tmp_path / "elevation.zarr", chunks=(64, 96), zarr_format=zarr_format)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        reader = geozarr.open_raster(f'ZARR:"{tmp_path / "elevation.zarr"}":/elevation')
        assert (reader.crs.to_epsg(), reader.transform, reader.nodata) == (32611, UTM, -9999.0)
        assert (reader.units[0], reader.scales[0], reader.offsets[0]) == ("m", 0.5, 2.0)
        assert reader.block_shapes[0] == (64, 96)
        np.testing.assert_array_equal(reader.read(), data)
    assert reader.array.attrs["long_name"] == ["red", "green", "blue"]
    translate(f'ZARR:"{tmp_path / "elevation.zarr"}":/elevation', tmp_path / "back.tif")
    profile, values = read_tif(tmp_path / "back.tif")
    assert (profile["crs"].to_epsg(), profile["transform"], profile["nodata"]) == (
        32611, UTM, -9999.0)
    assert profile["descriptions"] == ("red", "green", "blue")
    assert (profile["units"], profile["scales"], profile["offsets"]) == (
        ("m",) * 3, (0.5,) * 3, (2.0,) * 3)
    assert (profile["tiled"], profile["blockxsize"], profile["compress"]) == (
        True, 512, "deflate")
    np.testing.assert_array_equal(values, data)
    assert leftovers(tmp_path) == []


def test_default_array_name_is_the_destination_stem(tmp_path: Path) -> None:
    source = make_geotiff(tmp_path / "in.tif", sample(1))
    translate(source, tmp_path / "dem.zarr")
    translate(source, tmp_path / "x.zarr")
    translate(source, tmp_path / "named.zarr", name="height")
    assert geozarr.open(tmp_path / "dem.zarr").arrays == ["/dem"]
    assert geozarr.open(tmp_path / "x.zarr").arrays == ["/data"]
    assert geozarr.open(tmp_path / "named.zarr").arrays == ["/height"]


def test_every_kind_of_geozarr_source(tmp_path: Path) -> None:
    data = sample(2, 40, 50, "float32")
    store = MemoryStore()
    write_raster(store, data, crs="EPSG:32611", transform=UTM, nodata=-1.0,
                 band_names=["a", "b"])
    write_raster(tmp_path / "s.zarr", data, crs="EPSG:32611", transform=UTM, nodata=-1.0,
                 name="v")
    sources: list[Any] = [store, geozarr.open_raster(store), tmp_path / "s.zarr",
                          f'ZARR:"{tmp_path / "s.zarr"}":/v']
    for i, source in enumerate(sources):
        translate(source, tmp_path / f"out{i}.tif")
        profile, values = read_tif(tmp_path / f"out{i}.tif")
        assert (profile["crs"].to_epsg(), profile["transform"], profile["nodata"]) == (
            32611, UTM, -1.0)
        np.testing.assert_array_equal(values, data)
    assert read_tif(tmp_path / "out0.tif")[0]["descriptions"] == ("a", "b")


def test_zarr_to_zarr_changes_format_and_layout(tmp_path: Path) -> None:
    data = sample(3, 100, 90, "uint16")
    write_raster(tmp_path / "a.zarr", data, crs="EPSG:3413", transform=UTM, nodata=0)
    translate(tmp_path / "a.zarr", tmp_path / "b.zarr", zarr_format=2, chunks=(32, 32))
    reader = geozarr.open_raster(tmp_path / "b.zarr")
    assert (reader.array.zarr_format, reader.block_shapes[0], reader.crs.to_epsg()) == (
        2, (32, 32), 3413)
    np.testing.assert_array_equal(reader.read(), data)


def test_store_destination(tmp_path: Path) -> None:
    store = MemoryStore()
    translate(make_geotiff(tmp_path / "in.tif", sample(1), nodata=0), store)
    reader = geozarr.open_raster(store, array="data")
    assert reader.nodata == 0.0
    np.testing.assert_array_equal(reader.read(1), sample(1)[0])


def test_cog_output(tmp_path: Path) -> None:
    data = sample(1, 1100, 700, "uint8")
    source = make_geotiff(tmp_path / "in.tif", data, nodata=0)
    translate(source, tmp_path / "in.zarr")
    calls: list[float] = []
    translate(tmp_path / "in.zarr", tmp_path / "cog.tif", driver="COG", progress=calls.append)
    profile, values = read_tif(tmp_path / "cog.tif")
    assert profile["layout"]["LAYOUT"] == "COG"
    assert profile["overviews"] == [2, 4]  # down to one 512 x 512 tile
    assert (profile["crs"].to_epsg(), profile["transform"], profile["nodata"]) == (
        32611, UTM, 0.0)
    np.testing.assert_array_equal(values, data)
    assert calls == sorted(calls) and calls[-1] == 1.0 and 0.5 in calls
    assert leftovers(tmp_path) == []


def test_driver_that_only_copies(tmp_path: Path) -> None:
    data = sample(1, 60, 80, "uint8")
    translate(make_geotiff(tmp_path / "in.tif", data), tmp_path / "out.png")
    with rasterio.open(tmp_path / "out.png") as dataset:
        assert dataset.driver == "PNG"
        assert (dataset.crs.to_epsg(), dataset.transform) == (32611, UTM)  # from .aux.xml
        np.testing.assert_array_equal(dataset.read(), data)
    assert leftovers(tmp_path) == []


def test_ungeoreferenced_source_stays_ungeoreferenced(tmp_path: Path) -> None:
    data = sample(1, 30, 40)
    source = make_geotiff(tmp_path / "plain.tif", data, crs=None, transform=None)
    with pytest.warns(RasterioNotGeoreferencedWarning):
        translate(source, tmp_path / "plain.zarr")
    attrs = dict(geozarr.open_group(tmp_path / "plain.zarr")["plain"].attrs)
    assert not [key for key in attrs if key.startswith(("proj:", "spatial:", "_CRS"))]
    with pytest.warns(geozarr.NotGeoreferencedWarning):
        translate(tmp_path / "plain.zarr", tmp_path / "back.tif")
    profile, values = read_tif(tmp_path / "back.tif")
    assert profile["crs"] is None and profile["transform"] == Affine.identity()
    np.testing.assert_array_equal(values, data)


def test_progress_is_monotonic_and_ends_at_one(tmp_path: Path) -> None:
    source = make_geotiff(tmp_path / "in.tif", sample(1, 300, 50))
    calls: list[float] = []
    translate(source, tmp_path / "out.zarr", chunks=(64, 64), progress=calls.append)
    assert len(calls) >= 5 and calls == sorted(calls) and calls[-1] == 1.0
    assert calls[0] == pytest.approx(64 / 300)


# -- never half an output -----------------------------------------------------------------------
@pytest.mark.parametrize("destination", ["out.zarr", "out.tif", "out.cog.tif", "out.zip"])
def test_cancelled_translate_leaves_nothing(tmp_path: Path, destination: str) -> None:
    source = make_geotiff(tmp_path / "in.tif", sample(1, 400, 64))
    driver = "COG" if "cog" in destination else None
    with pytest.raises(RuntimeError, match="cancelled"):
        translate(source, tmp_path / destination, chunks=(64, 64), driver=driver,
                  progress=Cancel(2))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.tif"]


@pytest.mark.parametrize("destination", ["out.zarr", "out.tif"])
def test_failed_overwrite_keeps_the_old_output(tmp_path: Path, destination: str) -> None:
    old = make_geotiff(tmp_path / "old.tif", sample(1, 200, 64, "uint8"))
    translate(old, tmp_path / destination)
    new = make_geotiff(tmp_path / "new.tif", sample(1, 200, 64, "uint8") + 1)
    with pytest.raises(NodeExistsError, match="overwrite"):
        translate(new, tmp_path / destination)
    with pytest.raises(RuntimeError):
        translate(new, tmp_path / destination, overwrite=True, chunks=(64, 64),
                  progress=Cancel(1))
    np.testing.assert_array_equal(read_tif_or_zarr(tmp_path / destination),
                                  sample(1, 200, 64, "uint8"))
    translate(new, tmp_path / destination, overwrite=True)
    np.testing.assert_array_equal(read_tif_or_zarr(tmp_path / destination),
                                  sample(1, 200, 64, "uint8") + 1)
    assert leftovers(tmp_path) == []


def read_tif_or_zarr(path: Path) -> np.ndarray:
    if path.suffix == ".zarr":
        return geozarr.open_raster(path).read()
    return read_tif(path)[1]


def test_translate_onto_its_own_source(tmp_path: Path) -> None:
    data = sample(1, 100, 100)
    write_raster(tmp_path / "a.zarr", data, crs="EPSG:32611", transform=UTM, chunks=(32, 32))
    translate(tmp_path / "a.zarr", tmp_path / "a.zarr", chunks=(64, 64), overwrite=True)
    reader = geozarr.open_raster(tmp_path / "a.zarr")
    assert reader.block_shapes[0] == (64, 64)
    np.testing.assert_array_equal(reader.read(), data)


def test_killed_translate_leaves_no_complete_looking_output(tmp_path: Path) -> None:
    make_geotiff(tmp_path / "in.tif", sample(1, 2048, 256, "uint8"))
    script = textwrap.dedent(f"""
        import sys, time
        from geozarr.raster.translate import translate
        def progress(fraction):
            print("block", flush=True)
            time.sleep(0.5)
        translate({str(tmp_path / "in.tif")!r}, {str(tmp_path / "out.zarr")!r},
                  chunks=(64, 64), progress=progress)
    """)
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "block"
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=30)
    assert not (tmp_path / "out.zarr").exists()
    partial = [p for p in tmp_path.iterdir() if PARTIAL_MARK in p.name]
    assert len(partial) == 1
    with pytest.raises(NodeNotFoundError):
        geozarr.open(partial[0])
    with pytest.raises(rasterio.errors.RasterioIOError):
        rasterio.open(f'ZARR:"{partial[0]}"')


# -- bad input ------------------------------------------------------------------------------------
def test_source_rasterio_cannot_open(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("not a raster")
    with pytest.raises(StoreError, match="cannot open"):
        translate(tmp_path / "notes.txt", tmp_path / "out.zarr")
    with pytest.raises(StoreError, match="cannot open"):
        translate(tmp_path / "missing.tif", tmp_path / "out.zarr")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


@pytest.mark.parametrize("destination", ["out.zarr", "out.tif"])
def test_corrupt_source_block(tmp_path: Path, destination: str) -> None:
    source = make_geotiff(tmp_path / "in.tif", sample(1, 400, 400, "uint8"))
    size = source.stat().st_size
    with open(source, "r+b") as file:  # garble tile data in the middle of the file
        file.seek(size // 2)
        file.write(b"\xff" * 2000)
    with pytest.raises(StoreError, match="cannot read window"):
        translate(source, tmp_path / destination, chunks=(64, 64))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.tif"]


def test_bands_that_cannot_share_one_array(tmp_path: Path) -> None:
    source = make_geotiff(tmp_path / "in.tif", sample(2), scales=(1.0, 2.0))
    with pytest.raises(MetadataError, match="different scale"):
        translate(source, tmp_path / "out.zarr")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.tif"]


@pytest.mark.parametrize("keywords, error, message", [
    ({"destination": "out.unknown"}, StoreError, "extension"),
    ({"destination": "out.tif", "chunks": (100, 100)}, MetadataError, "multiples of 16"),
    ({"destination": "folder.tif"}, StoreError, "is a folder"),
    ({"destination": "out.zarr", "memory_limit": 0}, MetadataError, "memory_limit"),
    ({"destination": "out.zarr", "shards": (100, 100)}, MetadataError, "multiple"),
    ({"destination": "out.tif", "driver": "NoSuchDriver"}, StoreError, "no driver"),
])
def test_bad_destination_options(tmp_path: Path, keywords: dict[str, Any],
                                 error: type[Exception], message: str) -> None:
    source = make_geotiff(tmp_path / "in.tif", sample(1, 40, 40))
    (tmp_path / "folder.tif").mkdir()
    before = sorted(p.name for p in tmp_path.iterdir())
    destination = tmp_path / keywords.pop("destination")
    with pytest.raises(error, match=message):
        translate(source, destination, **keywords)
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_geozarr_source_with_a_broken_crs(tmp_path: Path) -> None:
    write_raster(tmp_path / "a.zarr", sample(1, 20, 20), crs="EPSG:32611", transform=UTM)
    group = geozarr.open_group(tmp_path / "a.zarr", mode="r+")
    group["data"].attrs["_CRS"] = {"wkt": "garbage"}
    geozarr.consolidate_metadata(tmp_path / "a.zarr")
    with pytest.raises(geozarr.GeoreferencingError, match="_CRS"):
        translate(tmp_path / "a.zarr", tmp_path / "b.tif")
    assert not (tmp_path / "b.tif").exists()


# -- the block pipeline -------------------------------------------------------------------------
def test_plan_blocks_follows_the_storage_unit_and_the_budget() -> None:
    plan = plan_blocks(1000, 20000, (512, 512), 1, 6 * 512 * 512)
    assert (plan.rows, plan.cols, plan.count) == (512, 3072, 2 * 7)
    windows = list(plan.windows())
    assert windows[-1] == Window(18432, 512, 1568, 488)
    assert sum(w.width * w.height for w in windows) == 1000 * 20000
    whole = plan_blocks(100, 300, (64, 64), 4, 10**9)
    assert (whole.rows, whole.cols) == (64, 300)
    tiny = plan_blocks(100, 300, (64, 64), 4, 1)
    assert (tiny.rows, tiny.cols) == (64, 64)  # a stored object is never split


def test_block_budget() -> None:
    per_block, cache = block_budget(512 * 2**20)
    assert per_block * 5 <= 512 * 2**20 // 4 and cache == 64 * 2**20
    with pytest.raises(MetadataError):
        block_budget(-1)


def test_pump_reads_on_another_thread_and_writes_in_order() -> None:
    windows = list(plan_blocks(10, 4, (2, 4), 1, 100).windows())
    readers: set[str] = set()
    written: list[int] = []

    def read(window: Window) -> np.ndarray:
        readers.add(threading.current_thread().name)
        return np.full((1, window.height, window.width), window.row_off)

    pump(windows, lambda: nullcontext(read),
         lambda window, block: written.append(int(block[0, 0, 0])), depth=1)
    assert written == [0, 2, 4, 6, 8]
    assert readers == {"geozarr-block-reader"}


def test_pump_reraises_a_reader_error_and_stops() -> None:
    windows = list(plan_blocks(100, 4, (1, 4), 1, 100).windows())
    reads: list[int] = []

    def read(window: Window) -> np.ndarray:
        reads.append(int(window.row_off))
        if window.row_off == 3:
            raise OSError("disk gone")
        return np.zeros((1, 1, 4))

    with pytest.raises(OSError, match="disk gone"):
        pump(windows, lambda: nullcontext(read), lambda window, block: None, depth=1)
    assert max(reads) == 3


def test_pump_stops_the_reader_when_the_writer_fails() -> None:
    windows = list(plan_blocks(1000, 4, (1, 4), 1, 100).windows())
    reads: list[int] = []

    def read(window: Window) -> np.ndarray:
        reads.append(int(window.row_off))
        time.sleep(0.001)
        return np.zeros((1, 1, 4))

    def write(window: Window, block: np.ndarray) -> None:
        if window.row_off == 5:
            raise ValueError("full disk")

    with pytest.raises(ValueError, match="full disk"):
        pump(windows, lambda: nullcontext(read), write, depth=2)
    assert len(reads) < 20  # the reader was stopped, not left to read all 1000 blocks
    assert "geozarr-block-reader" not in [t.name for t in threading.enumerate()]


def test_gdal_cache_is_bounded_during_translate_and_restored_after(tmp_path: Path) -> None:
    before = get_gdal_config("GDAL_CACHEMAX")
    seen: list[int] = []
    translate(make_geotiff(tmp_path / "in.tif", sample(1)), tmp_path / "out.tif",
              memory_limit=128 * 2**20,
              progress=lambda _: seen.append(get_gdal_config("GDAL_CACHEMAX")))
    assert set(seen) == {16 * 2**20}
    assert get_gdal_config("GDAL_CACHEMAX") == before
