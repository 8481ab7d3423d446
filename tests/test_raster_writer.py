"""write_raster and the streaming writer: what is written, where, and that it is never half."""

from __future__ import annotations

import base64
import json
import math
import os
import struct
import warnings
from pathlib import Path
from typing import Any

import numcodecs
import numpy as np
import pyproj
import pytest
from affine import Affine
from rasterio.windows import Window

import geozarr
from geozarr.errors import DimensionError, GeoreferencingError, \
    MetadataError, NodeExistsError, NodeNotFoundError, StoreError, UnsafeCodecError, \
    UnsupportedDataTypeError, ValueShapeError
from geozarr.geo.conventions import PROJ_UUID, SPATIAL_UUID, declared_conventions
from geozarr.raster.staging import PARTIAL_MARK
from geozarr.raster.writer import ZarrRasterWriter, raster_spec, write_raster
from geozarr.storage import MemoryStore

UTM = Affine(30.0, 0.0, 500000.0, 0.0, -30.0, 4000000.0)


def rgb(height: int = 70, width: int = 90) -> np.ndarray:
    values = np.arange(3 * height * width, dtype=np.int64) % 251
    return values.astype(np.uint8).reshape(3, height, width)


def doc(path: Path, key: str) -> dict[str, Any]:
    return json.loads((path / key).read_text())


def siblings(path: Path) -> list[str]:
    """Files next to ``path`` other than itself (temporary outputs left behind)."""
    return sorted(p.name for p in path.parent.iterdir() if p.name != path.name)


def open_quietly(target: Any, **kwargs: Any) -> Any:
    """geozarr.open_raster, failing on any warning (what we write must resolve cleanly)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        reader = geozarr.open_raster(target, **kwargs)
        _ = (reader.crs, reader.transform, reader.nodata)
    return reader


class FailAfter:
    """A progress callback that cancels after ``blocks`` blocks, recording what it saw."""

    def __init__(self, blocks: int, error: type[BaseException] = RuntimeError):
        self.blocks = blocks
        self.error = error
        self.seen: list[float] = []

    def __call__(self, fraction: float) -> None:
        self.seen.append(fraction)
        if len(self.seen) >= self.blocks:
            raise self.error("cancelled by the test")


# -- what is written ----------------------------------------------------------------------------
def test_v3_output_has_every_encoding(tmp_path: Path) -> None:
    out = tmp_path / "out.zarr"
    write_raster(out, rgb(), crs="EPSG:32611", transform=UTM, nodata=0, name="elevation",
                 band_names=["r", "g", "b"], units="m", chunks=(32, 32))
    array = doc(out, "elevation/zarr.json")
    assert array["dimension_names"] == ["band", "y", "x"]
    assert array["fill_value"] == 0
    assert array["chunk_grid"]["configuration"]["chunk_shape"] == [1, 32, 32]
    assert [c["name"] for c in array["codecs"]] == ["bytes", "zstd"]
    attrs = array["attributes"]
    assert "_ARRAY_DIMENSIONS" not in attrs
    assert declared_conventions(attrs) == {PROJ_UUID, SPATIAL_UUID}
    assert attrs["proj:code"] == "EPSG:32611"
    assert pyproj.CRS.from_wkt(attrs["proj:wkt2"]).to_epsg() == 32611
    assert attrs["spatial:transform"] == list(UTM)[:6]
    assert attrs["spatial:shape"] == [70, 90]
    assert attrs["spatial:dimensions"] == ["y", "x"]
    assert attrs["spatial:registration"] == "pixel"
    assert attrs["_CRS"]["url"].endswith("/EPSG/0/32611")
    assert attrs["grid_mapping"] == "spatial_ref" and attrs["coordinates"] == "spatial_ref"
    assert (attrs["_FillValue"], attrs["units"], attrs["long_name"]) == (0, "m", ["r", "g", "b"])
    x = doc(out, "x/zarr.json")
    assert x["dimension_names"] == ["x"] and x["shape"] == [90]
    assert x["attributes"]["standard_name"] == "projection_x_coordinate"
    band = doc(out, "band/zarr.json")
    assert band["shape"] == [3] and band["data_type"] == "int64"
    grid = doc(out, "spatial_ref/zarr.json")
    assert grid["shape"] == [] and grid["dimension_names"] == []
    assert grid["attributes"]["grid_mapping_name"] == "transverse_mercator"
    assert grid["attributes"]["GeoTransform"].split()[:2] == ["500000.0", "30.0"]
    root = doc(out, "zarr.json")
    assert root["node_type"] == "group"
    assert root["attributes"]["spatial:bbox"] == [500000.0, 4000000.0 - 2100, 502700.0,
                                                  4000000.0]
    assert root["attributes"]["proj:code"] == "EPSG:32611"
    assert set(root["consolidated_metadata"]["metadata"]) == {
        "elevation", "x", "y", "band", "spatial_ref"}


def test_v2_output_has_every_encoding(tmp_path: Path) -> None:
    out = tmp_path / "out.zarr"
    data = np.full((40, 50), np.nan, dtype=np.float32)
    data[5:, 5:] = 1.5
    write_raster(out, data, crs="EPSG:4326", transform=Affine(0.1, 0, -10, 0, -0.1, 50),
                 nodata=float("nan"), name="t", zarr_format=2, band_names=["temperature"])
    array = doc(out, "t/.zarray")
    assert array["fill_value"] == "NaN" and array["shape"] == [40, 50]
    attrs = doc(out, "t/.zattrs")
    assert attrs["_ARRAY_DIMENSIONS"] == ["y", "x"]
    assert attrs["_FillValue"] == "NaN"
    assert attrs["long_name"] == "temperature"
    assert attrs["proj:code"] == "EPSG:4326"
    assert doc(out, "x/.zattrs")["standard_name"] == "longitude"
    assert doc(out, "spatial_ref/.zattrs")["_ARRAY_DIMENSIONS"] == []
    assert doc(out, "spatial_ref/.zarray")["fill_value"] is None  # xarray masks v2 fills
    assert "band" not in os.listdir(out)
    assert set(doc(out, ".zmetadata")["metadata"]) >= {".zgroup", ".zattrs", "t/.zarray",
                                                       "x/.zarray", "spatial_ref/.zattrs"}


def test_v3_float_fill_value_attribute_is_xarrays_base64(tmp_path: Path) -> None:
    out = tmp_path / "f.zarr"
    write_raster(out, np.ones((4, 4), np.float32), crs=4326,
                 transform=Affine(1, 0, 0, 0, -1, 4), nodata=-9999.0)
    encoded = doc(out, "data/zarr.json")["attributes"]["_FillValue"]
    assert struct.unpack("<d", base64.standard_b64decode(encoded))[0] == -9999.0


@pytest.mark.parametrize("zarr_format", [2, 3])
@pytest.mark.parametrize("bands", [1, 3])
def test_round_trip_through_geozarr(tmp_path: Path, zarr_format: int, bands: int) -> None:
    data = rgb(45, 77)[:bands].astype(np.int16) - 100
    out = tmp_path / "out.zarr"
    write_raster(out, data if bands > 1 else data[0], crs="EPSG:32611", transform=UTM,
                 nodata=-9999, units="m", scale=0.5, offset=10.0, chunks=(16, 32),
                 zarr_format=zarr_format)
    reader = open_quietly(out)
    assert reader.crs.to_epsg() == 32611
    assert reader.transform == UTM
    assert (reader.count, reader.nodata, reader.units[0]) == (bands, -9999.0, "m")
    assert (reader.scales[0], reader.offsets[0]) == (0.5, 10.0)
    assert reader.block_shapes[0] == (16, 32)
    np.testing.assert_array_equal(reader.read(), data)


def test_sharded_output_reads_back(tmp_path: Path) -> None:
    data = rgb(100, 130)
    out = tmp_path / "s.zarr"
    write_raster(out, data, crs="EPSG:32611", transform=UTM, nodata=0, chunks=(16, 16),
                 shards=(64, 64))
    codec = doc(out, "data/zarr.json")["codecs"][0]
    assert codec["name"] == "sharding_indexed"
    assert codec["configuration"]["chunk_shape"] == [1, 16, 16]
    reader = open_quietly(out)
    assert reader.array.shards == (1, 64, 64)
    np.testing.assert_array_equal(reader.read(), data)


def test_rotated_grid_has_no_xy_coordinates_but_keeps_its_transform(tmp_path: Path) -> None:
    rotated = Affine(10.0, 2.0, 500000.0, 3.0, -10.0, 4000000.0)
    out = tmp_path / "r.zarr"
    write_raster(out, np.ones((20, 30), np.uint16), crs="EPSG:32611", transform=rotated)
    assert sorted(os.listdir(out)) == ["data", "spatial_ref", "zarr.json"]
    assert open_quietly(out).transform == rotated


def test_ungeoreferenced_raster_has_no_georeferencing_keys(tmp_path: Path) -> None:
    out = tmp_path / "plain.zarr"
    write_raster(out, np.arange(12, dtype=np.float64).reshape(3, 4))
    attrs = doc(out, "data/zarr.json")["attributes"]
    assert attrs == {}
    assert doc(out, "zarr.json")["attributes"] == {}
    assert sorted(os.listdir(out)) == ["data", "zarr.json"]


def test_crs_without_transform_declares_only_proj(tmp_path: Path) -> None:
    out = tmp_path / "crs.zarr"
    write_raster(out, np.ones((3, 4), np.uint8), crs="EPSG:3413")
    attrs = doc(out, "data/zarr.json")["attributes"]
    assert declared_conventions(attrs) == {PROJ_UUID}
    assert not [key for key in attrs if key.startswith("spatial:")]
    assert "GeoTransform" not in doc(out, "spatial_ref/zarr.json")["attributes"]


# -- stores ---------------------------------------------------------------------------------------
class RecordingStore(MemoryStore):
    """A memory store that remembers the order keys were written in."""

    def __init__(self) -> None:
        super().__init__()
        self.written: list[str] = []

    def _set(self, key: str, value: bytes) -> None:
        self.written.append(key)
        super()._set(key, value)


def test_store_without_rename_gets_chunks_first_and_metadata_last() -> None:
    store = RecordingStore()
    write_raster(store, rgb(), crs="EPSG:32611", transform=UTM, nodata=0, chunks=(32, 32))
    order = store.written
    first_metadata = min(i for i, key in enumerate(order) if key.endswith("zarr.json"))
    chunks = [i for i, key in enumerate(order) if not key.endswith("zarr.json")]
    assert chunks and max(chunks) < first_metadata
    assert order.index("data/zarr.json") > max(order.index(k) for k in
                                               ("x/zarr.json", "y/zarr.json", "band/zarr.json"))
    assert order[-1] == "zarr.json"  # the root, with the consolidated metadata, last
    np.testing.assert_array_equal(open_quietly(store).read(), rgb())


def test_failed_write_to_a_store_leaves_it_empty() -> None:
    store = MemoryStore()
    with pytest.raises(RuntimeError, match="cancelled"):
        write_raster(store, rgb(200, 50), crs="EPSG:32611", transform=UTM, chunks=(16, 16),
                     progress=FailAfter(3))
    assert list(store.list_prefix("")) == []


def test_store_overwrite_rules() -> None:
    store = MemoryStore()
    write_raster(store, rgb(), crs="EPSG:32611", transform=UTM)
    with pytest.raises(NodeExistsError, match="not empty"):
        write_raster(store, rgb(), crs="EPSG:32611", transform=UTM)
    with pytest.raises(GeoreferencingError):  # refused before the old content is cleared
        write_raster(store, rgb(), crs="EPSG:0", transform=UTM, overwrite=True)
    np.testing.assert_array_equal(open_quietly(store).read(), rgb())
    write_raster(store, rgb()[:1] + 1, crs="EPSG:32611", transform=UTM, overwrite=True)
    np.testing.assert_array_equal(open_quietly(store).read(), rgb()[:1] + 1)
    assert not any(key.startswith("band/") for key in store.list_prefix(""))


def test_zip_output_is_one_archive_that_reads_back(tmp_path: Path) -> None:
    out = tmp_path / "out.zarr.zip"
    write_raster(out, rgb(), crs="EPSG:32611", transform=UTM, nodata=0, chunks=(32, 32))
    assert out.is_file() and siblings(out) == []
    reader = open_quietly(str(out))
    assert reader.crs.to_epsg() == 32611
    np.testing.assert_array_equal(reader.read(), rgb())


def test_failed_zip_write_leaves_nothing(tmp_path: Path) -> None:
    out = tmp_path / "out.zip"
    with pytest.raises(RuntimeError):
        write_raster(out, rgb(), crs="EPSG:32611", transform=UTM, chunks=(16, 16),
                     progress=FailAfter(2))
    assert list(tmp_path.iterdir()) == []


# -- atomic outputs -------------------------------------------------------------------------------
@pytest.mark.parametrize("error", [RuntimeError, KeyboardInterrupt])
def test_interrupted_write_leaves_no_output(tmp_path: Path, error: type) -> None:
    out = tmp_path / "out.zarr"
    cancel = FailAfter(2, error)
    with pytest.raises(error):
        write_raster(out, rgb(200, 40), crs="EPSG:32611", transform=UTM, chunks=(16, 16),
                     progress=cancel)
    assert cancel.seen == pytest.approx([16 / 200, 32 / 200])
    assert list(tmp_path.iterdir()) == []


def test_existing_output_needs_overwrite(tmp_path: Path) -> None:
    out = tmp_path / "out.zarr"
    write_raster(out, rgb(), crs="EPSG:32611", transform=UTM)
    before = doc(out, "data/zarr.json")
    with pytest.raises(NodeExistsError, match="overwrite=True"):
        write_raster(out, rgb()[:1], crs="EPSG:4326", transform=UTM)
    assert doc(out, "data/zarr.json") == before
    assert siblings(out) == []


def test_failed_overwrite_keeps_the_old_output(tmp_path: Path) -> None:
    out = tmp_path / "out.zarr"
    write_raster(out, rgb(200, 40), crs="EPSG:32611", transform=UTM, nodata=0)
    with pytest.raises(RuntimeError):
        write_raster(out, np.zeros((200, 40), np.float32), crs="EPSG:4326",
                     transform=UTM, chunks=(16, 16), overwrite=True, progress=FailAfter(2))
    reader = open_quietly(out)
    assert (reader.count, reader.crs.to_epsg()) == (3, 32611)
    np.testing.assert_array_equal(reader.read(), rgb(200, 40))
    assert siblings(out) == []


def test_overwrite_replaces_only_when_complete_and_cleans_up(tmp_path: Path) -> None:
    out = tmp_path / "out.zarr"
    write_raster(out, rgb(), crs="EPSG:32611", transform=UTM, nodata=0)
    seen: list[list[str]] = []
    new = np.full((70, 90), 7, np.uint8)
    write_raster(out, new, crs="EPSG:32611", transform=UTM, chunks=(16, 16), overwrite=True,
                 progress=lambda _: seen.append(sorted(os.listdir(out))))
    assert all("band" in listing for listing in seen)  # the old output stayed until the end
    assert sorted(os.listdir(out)) == ["data", "spatial_ref", "x", "y", "zarr.json"]
    np.testing.assert_array_equal(open_quietly(out).read(1), new)
    assert siblings(out) == []


def test_a_folder_that_is_not_zarr_is_never_replaced(tmp_path: Path) -> None:
    out = tmp_path / "precious"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    with pytest.raises(StoreError, match="not a Zarr store"):
        write_raster(out, rgb(), overwrite=True)
    assert (out / "notes.txt").read_text() == "keep me"
    assert siblings(out) == []


def test_an_empty_folder_is_filled(tmp_path: Path) -> None:
    out = tmp_path / "empty.zarr"
    out.mkdir()
    write_raster(out, rgb(), crs="EPSG:32611", transform=UTM)
    assert open_quietly(out).count == 3


def test_a_killed_write_is_not_a_zarr(tmp_path: Path) -> None:
    """What a crash leaves (the unfinished sibling) holds chunks but no metadata, so every
    reader sees that it is not a complete Zarr; the destination itself does not exist."""
    out = tmp_path / "out.zarr"
    spec = raster_spec(height=64, width=64, count=1, dtype=np.uint8, crs="EPSG:32611",
                       transform=UTM, chunks=(16, 16))
    writer = ZarrRasterWriter(out, spec)
    writer.write(Window(0, 0, 64, 16), np.ones((16, 64), np.uint8))
    partial = [p for p in tmp_path.iterdir() if PARTIAL_MARK in p.name]
    assert not out.exists() and len(partial) == 1
    assert not [p for p in partial[0].rglob("*") if p.name in ("zarr.json", ".zarray")]
    with pytest.raises(NodeNotFoundError):
        geozarr.open(partial[0])
    writer.abort(RuntimeError("test"))
    assert list(tmp_path.iterdir()) == []


# -- bad input -------------------------------------------------------------------------------
BAD_INPUTS = [
    ({"crs": "EPSG:999999"}, GeoreferencingError, "not a CRS PROJ can parse"),
    ({"crs": "nonsense"}, GeoreferencingError, "not a CRS"),
    ({"transform": [1.0, 0.0, 0.0, 0.0, 0.0, 0.0]}, GeoreferencingError, "degenerate"),
    ({"transform": [1.0, 0.0, 0.0]}, GeoreferencingError, "six"),
    ({"band_names": ["a", "b"]}, DimensionError, "3 strings"),
    ({"nodata": -1}, MetadataError, "not a value of uint8"),
    ({"name": "x"}, MetadataError, "taken"),
    ({"name": "a/b"}, MetadataError, "cannot name"),
    ({"shards": (64, 64), "zarr_format": 2}, MetadataError, "sharding needs Zarr v3"),
    ({"shards": (48, 48), "chunks": (32, 32)}, MetadataError, "multiple"),
    ({"chunks": (0, 16)}, MetadataError, "positive"),
    ({"compressor": "zstd"}, MetadataError, "numcodecs codec"),
    ({"compressor": numcodecs.Pickle()}, UnsafeCodecError, "refused"),
    ({"compressor": numcodecs.Pickle(), "zarr_format": 2}, UnsafeCodecError, "refused"),
    ({"zarr_format": 4}, MetadataError, "zarr_format"),
    ({"scale": float("inf")}, MetadataError, "finite"),
]


@pytest.mark.parametrize("keywords, error, message", BAD_INPUTS)
def test_bad_input_raises_and_writes_nothing(tmp_path: Path, keywords: dict[str, Any],
                                             error: type[Exception], message: str) -> None:
    arguments: dict[str, Any] = {"crs": "EPSG:32611", "transform": UTM, **keywords}
    with pytest.raises(error, match=message):
        write_raster(tmp_path / "out.zarr", rgb(), **arguments)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("data, error", [
    (np.ones(5, np.uint8), ValueShapeError),
    (np.ones((2, 3, 4, 5), np.uint8), ValueShapeError),
    (np.ones((0, 5), np.uint8), ValueShapeError),
    (np.ones((3, 4), np.complex64), UnsupportedDataTypeError),
    (np.array([["a"]]), UnsupportedDataTypeError),
])
def test_bad_data_raises_and_writes_nothing(tmp_path: Path, data: np.ndarray,
                                            error: type[Exception]) -> None:
    with pytest.raises(error):
        write_raster(tmp_path / "out.zarr", data)
    assert list(tmp_path.iterdir()) == []


def test_writer_refuses_blocks_that_do_not_fit(tmp_path: Path) -> None:
    spec = raster_spec(height=10, width=10, count=2, dtype=np.float32)
    with pytest.raises(ValueShapeError, match="does not fill"):
        with ZarrRasterWriter(tmp_path / "o.zarr", spec) as writer:
            writer.write(Window(0, 0, 5, 5), np.ones((1, 5, 5), np.float32))
    with pytest.raises(ValueShapeError, match="outside"):
        with ZarrRasterWriter(tmp_path / "o.zarr", spec) as writer:
            writer.write(Window(8, 8, 5, 5), np.ones((2, 5, 5), np.float32))
    assert list(tmp_path.iterdir()) == []


def test_no_nodata_is_kept_in_v2_and_is_the_fill_value_in_v3(tmp_path: Path) -> None:
    data = np.arange(12, dtype=np.uint8).reshape(3, 4)
    write_raster(tmp_path / "v2.zarr", data, zarr_format=2)
    write_raster(tmp_path / "v3.zarr", data, zarr_format=3)
    assert doc(tmp_path / "v2.zarr", "data/.zarray")["fill_value"] is None
    assert "_FillValue" not in doc(tmp_path / "v2.zarr", "data/.zattrs")
    with pytest.warns(geozarr.NotGeoreferencedWarning):
        assert geozarr.open_raster(tmp_path / "v2.zarr").nodata is None
        assert geozarr.open_raster(tmp_path / "v3.zarr").nodata == 0.0  # v3 has no "none"


def test_nan_nodata_chunks_are_not_stored(tmp_path: Path) -> None:
    data = np.full((64, 64), np.nan, np.float32)
    data[:16, :16] = 1.0
    out = tmp_path / "sparse.zarr"
    write_raster(out, data, crs="EPSG:4326", transform=Affine(1, 0, 0, 0, -1, 64),
                 nodata=float("nan"), chunks=(16, 16))
    stored = [p for p in (out / "data").rglob("*") if p.is_file() and p.name != "zarr.json"]
    assert len(stored) == 1
    assert math.isnan(open_quietly(out).nodata)
