"""geozarr.validate as a library: the report values, the pure helpers, stores written by
geozarr and zarr-python, and the conformance datasets of geozarr-spec PR #127."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import pyproj
import pytest
import zarr
from affine import Affine

import geozarr
from geozarr.errors import StoreError
from geozarr.storage import ByteRange, MemoryStore
from geozarr.validate import CODES, Finding, Report, validate
from geozarr.validate.chunk_checks import MAX_PER_NODE, chunk_coords
from geozarr.validate.codes import finding
from geozarr.validate.report import attribute_key, sort_findings
from geozarr.validate.spatial_checks import bbox_mismatch, extent

PROJ_V1 = {"schema_url": "https://raw.githubusercontent.com/zarr-experimental/geo-proj/refs/tags/"
                         "v1/schema.json",
           "spec_url": "https://github.com/zarr-experimental/geo-proj/blob/v1/README.md",
           "uuid": "f17cb550-5864-4468-aeb7-f3180cfb622f", "name": "proj:",
           "description": "Coordinate reference system information for geospatial data"}
SPATIAL_V1 = {"schema_url": "https://raw.githubusercontent.com/zarr-conventions/spatial/refs/tags/"
                            "v1/schema.json",
              "spec_url": "https://github.com/zarr-conventions/spatial/blob/v1/README.md",
              "uuid": "689b58e2-cf7b-45e0-9fff-9cfc0883d6b4", "name": "spatial:",
              "description": "Spatial coordinate information"}
MULTISCALES_V1 = {"schema_url": "https://raw.githubusercontent.com/zarr-conventions/multiscales/"
                                "refs/tags/v1/schema.json",
                  "spec_url": "https://github.com/zarr-conventions/multiscales/blob/v1/README.md",
                  "uuid": "d35379db-88df-4056-af3a-620245f8e347", "name": "multiscales",
                  "description": "Multiscale layout of zarr datasets"}


def store_of(docs: dict[str, Any]) -> MemoryStore:
    store = MemoryStore()
    for key, value in docs.items():
        store.set(key, value if isinstance(value, bytes) else json.dumps(value).encode())
    return store


def uint8_array(shape: list[int], attributes: dict[str, Any] | None = None) -> dict[str, Any]:
    """An array document as the geozarr-spec test datasets write them (zarr-python 3)."""
    return {"shape": shape, "data_type": "uint8",
            "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": shape}},
            "chunk_key_encoding": {"name": "default", "configuration": {"separator": "/"}},
            "fill_value": 0, "codecs": [{"name": "bytes"}, {"name": "zstd", "configuration":
                                                          {"level": 0, "checksum": False}}],
            "attributes": attributes or {}, "dimension_names": ["y", "x"], "zarr_format": 3,
            "node_type": "array", "storage_transformers": []}


def group(attributes: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"attributes": attributes or {}, "zarr_format": 3, "node_type": "group"}


def codes(report: Report, severity: str | None = None) -> set[str]:
    return {found.code for found in report.findings
            if severity is None or found.severity == severity}


# -- report values ------------------------------------------------------------------------------
def test_finding_line_and_json() -> None:
    found = finding("PROJ-CODE-PATTERN", "a/zarr.json#attributes/proj:code", "bad")
    assert found.severity == "error"
    assert found.line() == "ERROR PROJ-CODE-PATTERN a/zarr.json#attributes/proj:code: bad"
    assert found.to_json() == {"severity": "error", "code": "PROJ-CODE-PATTERN",
                               "key": "a/zarr.json#attributes/proj:code", "message": "bad"}
    with pytest.raises(KeyError):
        finding("NO-SUCH-CODE", "k", "m")
    with pytest.raises(ValueError, match="severity"):
        Finding("fatal", "X", "k", "m")


def test_every_code_is_stable_and_unique() -> None:
    assert all(code == entry.code and code.upper() == code and " " not in code
               and entry.severity in ("error", "warning", "info") and entry.summary
               for code, entry in CODES.items())


def test_report_verdict_counts_and_strictness() -> None:
    warning = finding("CMO-NAME-DRAFT", "zarr.json#attributes/zarr_conventions/0/name", "w")
    info = finding("PROJ-CODE-ONLY", "zarr.json#attributes/proj:code", "i")
    report = Report("x.zarr", (warning, info))
    assert (report.failed(), report.failed(strict=True)) == (False, True)
    assert report.summary() == "x.zarr: valid: 0 errors, 1 warning, 1 info"
    assert report.to_json(strict=True)["valid"] is False
    assert report.to_json()["counts"] == {"error": 0, "warning": 1, "info": 1}
    error = finding("ZARR-JSON", "a/zarr.json", "e")
    assert Report("x", (error,)).failed() and Report("x", ()).summary() == (
        "x: valid: 0 errors, 0 warnings, 0 info")
    assert report.lines()[-1] == report.summary()


def test_findings_are_sorted_by_document_then_severity() -> None:
    unsorted = [finding("PROJ-CODE-ONLY", "b/zarr.json#attributes/proj:code", ""),
                finding("SPATIAL-BBOX-MISMATCH", "b/zarr.json#attributes/spatial:bbox", ""),
                finding("ZARR-STORE-EMPTY", "/", ""),
                finding("CMO-NAME-DRAFT", "zarr.json#attributes/zarr_conventions/0/name", ""),
                finding("CMO-URL-DRAFT", "a/zarr.json#attributes/zarr_conventions/0", "")]
    assert [found.code for found in sort_findings(unsorted)] == [
        "ZARR-STORE-EMPTY", "CMO-NAME-DRAFT", "CMO-URL-DRAFT", "SPATIAL-BBOX-MISMATCH",
        "PROJ-CODE-ONLY"]


def test_attribute_keys_are_json_pointers() -> None:
    assert attribute_key("a/zarr.json", "attributes", "proj:code") == \
        "a/zarr.json#attributes/proj:code"
    assert attribute_key("zarr.json", "consolidated_metadata", "metadata", "r0/data") == \
        "zarr.json#consolidated_metadata/metadata/r0~1data"
    assert attribute_key("a/.zattrs", "x~y", 0) == "a/.zattrs#x~0y/0"
    assert attribute_key("a/.zattrs") == "a/.zattrs"


# -- pure helpers -------------------------------------------------------------------------------
@pytest.mark.parametrize(("relative", "ndim", "encoding", "separator", "expected"), [
    ("c/0/12", 2, "default", "/", (0, 12)),
    ("c.3.4", 2, "default", ".", (3, 4)),
    ("c", 0, "default", "/", ()),
    ("0", 0, "v2", ".", ()),
    ("1.2.3", 3, "v2", ".", (1, 2, 3)),
    ("1/2", 2, "v2", "/", (1, 2)),
    ("c/0/1", 3, "default", "/", None),      # too few indices
    ("0.1", 2, "default", ".", None),        # v2 key for a default encoding
    ("c/01/1", 2, "default", "/", None),     # leading zero: not the canonical key
    ("c/-1/1", 2, "default", "/", None),
    ("0/1", 2, "v2", ".", None),             # wrong separator
    ("c/", 1, "default", "/", None),
])
def test_chunk_coords(relative: str, ndim: int, encoding: str, separator: str,
                      expected: tuple[int, ...] | None) -> None:
    assert chunk_coords(relative, ndim, encoding, separator) == expected


def test_extent_of_pixel_node_and_rotated_grids() -> None:
    transform = Affine(10, 0, 500000, 0, -10, 5000000)
    assert extent(transform, (20, 30), "pixel") == (500000, 4999800, 500300, 5000000)
    # Node registration: the transform maps index (0, 0) to the centre of the first cell.
    assert extent(transform, (20, 30), "node") == (500000, 4999810, 500290, 5000000)
    rotated = Affine.rotation(90) @ Affine.scale(2)
    assert extent(rotated, (1, 1), "pixel") == pytest.approx((-2, 0, 0, 2))


def test_bbox_mismatch_allows_half_a_cell() -> None:
    transform = Affine(10, 0, 0, 0, -10, 100)
    assert bbox_mismatch((4.9, 0, 100, 100), transform, (10, 10), "pixel") is None
    assert bbox_mismatch((5.1, 0, 100, 100), transform, (10, 10), "pixel") == (0, 0, 100, 100)
    assert bbox_mismatch((9, 0, 100, 100), transform, (10, 10), "pixel", cells=1.0) is None


# -- stores that cannot be read -----------------------------------------------------------------
class FailingStore(MemoryStore):
    """A store whose listing or one of whose keys fails, as a flaky remote store does."""

    def __init__(self, data: dict[str, bytes], *, bad_key: str | None = None,
                 listing_fails: bool = False):
        super().__init__(data, read_only=True)
        self.bad_key = bad_key
        self.listing_fails = listing_fails

    def get(self, key: str) -> bytes | None:
        if key == self.bad_key:
            raise StoreError(f"{key}: connection reset")
        return super().get(key)

    def get_ranges(self, key: str, ranges: Sequence[ByteRange]) -> list[bytes] | None:
        if key == self.bad_key:
            raise StoreError(f"{key}: connection reset")
        return super().get_ranges(key, ranges)

    def list_prefix(self, prefix: str) -> Iterator[str]:
        if self.listing_fails:
            raise StoreError("listing refused")
        return super().list_prefix(prefix)


def _data(store: MemoryStore) -> dict[str, bytes]:
    return {key: store.get(key) or b"" for key in store.list_prefix("")}


def test_unreadable_keys_are_findings_not_crashes() -> None:
    source = geozarr.create_array(MemoryStore(), name="a", shape=(4,), dtype="u1",
                                  chunks=(2,))
    source[...] = 1
    data = _data(source.store)
    report = validate(FailingStore(data, listing_fails=True))
    assert [(found.code, found.key) for found in report.findings] == [("ZARR-STORE-READ", "/")]
    report = validate(FailingStore(data, bad_key="a/zarr.json"))
    assert ("ZARR-STORE-READ", "a/zarr.json") in {(f.code, f.key) for f in report.findings}
    report = validate(FailingStore(data, bad_key="a/c/1"), chunks=True)
    assert [(found.code, found.key) for found in report.findings] == [("ZARR-STORE-READ",
                                                                       "a/c/1")]


def test_a_store_passed_in_is_left_open_and_named() -> None:
    store = MemoryStore()
    geozarr.create_array(store, name="a", shape=(3,), dtype="i2")
    report = validate(store)
    assert report.findings == () and report.target == repr(store)
    assert store.get("a/zarr.json") is not None


# -- what geozarr and zarr-python write ---------------------------------------------------------
@pytest.mark.parametrize("zarr_format", [2, 3])
def test_hierarchies_geozarr_writes_are_clean(zarr_format: int) -> None:
    store = MemoryStore()
    root = geozarr.open_group(store, mode="w", zarr_format=zarr_format)
    sub = root.create_group("sub", attributes={"title": "t"})
    a = sub.create_array("a", shape=(37, 23), dtype="f4", chunks=(8, 5), fill_value=np.nan,
                         dimension_names=("y", "x"))
    a[...] = np.arange(37 * 23, dtype="f4").reshape(37, 23)
    root.create_array("t", shape=(5,), dtype="i8", chunks=(2,))[...] = np.arange(5)
    if zarr_format == 3:
        root.create_array("s", shape=(64, 64), dtype="u2", chunks=(8, 8), shards=(32, 32),
                          dimension_names=("y", "x"))[:40, :40] = 7
    geozarr.consolidate_metadata(store)
    report = validate(store, chunks=True)
    # The 2-D arrays are data arrays without georeferencing; nothing else is to be said.
    assert codes(report) <= {"GEOREF-NONE"} and not report.failed(strict=True)


@pytest.mark.parametrize("zarr_format", [2, 3])
@pytest.mark.parametrize(("bands", "transform", "shards"), [
    (None, Affine(10, 0, 500000, 0, -10, 4000000), None),
    (3, Affine(0.1, 0, 10, 0, -0.1, 50), (32, 32)),
    (None, Affine.translation(500000, 4000000) @ Affine.rotation(30) @ Affine.scale(10, -10),
     None),
], ids=["north-up", "bands-sharded", "rotated"])
def test_rasters_geozarr_writes_are_clean(tmp_path: Any, zarr_format: int, bands: int | None,
                                          transform: Affine,
                                          shards: tuple[int, int] | None) -> None:
    """geozarr.write_raster's GeoZarr (conventions, CF, _CRS, consolidated) passes --strict."""
    if zarr_format == 2 and shards:
        shards = None
    shape = (bands, 40, 60) if bands else (40, 60)
    data = np.arange(np.prod(shape), dtype="u2").reshape(shape)
    geozarr.write_raster(tmp_path / "r.zarr", data, crs="EPSG:32611", transform=transform,
                         nodata=0, chunks=(16, 16), shards=shards, zarr_format=zarr_format)
    report = validate(tmp_path / "r.zarr", chunks=True)
    assert report.findings == (), report.lines()


def _truncate(stored: bytes) -> bytes:
    return stored[: len(stored) // 2]


def _flip_index_checksum(stored: bytes) -> bytes:
    return stored[:-1] + bytes([stored[-1] ^ 0xFF])


@pytest.mark.parametrize(("compressor", "shards", "corrupt"), [
    ("default", None, _truncate), (None, (64,), _flip_index_checksum)],
    ids=["truncated-zstd-chunk", "shard-index-checksum"])
def test_corrupt_chunks_and_shards_are_found(compressor: Any, shards: Any, corrupt: Any) -> None:
    store = MemoryStore()
    array = geozarr.create_array(store, name="a", shape=(256,), dtype="u2", chunks=(16,),
                                 shards=shards, compressor=compressor)
    array[...] = np.arange(256, dtype="u2")
    key = "a/c/1"
    store.set(key, corrupt(store.get(key) or b""))
    assert validate(store).findings == ()
    report = validate(store, chunks=True)
    assert [(found.code, found.key) for found in report.findings] == [
        ("ZARR-CHUNK-CORRUPT", key)]


def test_a_stale_geozarr_consolidation_is_found() -> None:
    store = MemoryStore()
    array = geozarr.create_array(store, name="a", shape=(4,), dtype="u1")
    geozarr.consolidate_metadata(store)
    array.attrs["units"] = "m"
    report = validate(store)
    [found] = report.findings
    assert (found.code, found.key) == ("ZARR-CONSOLIDATED-MISMATCH",
                                       "zarr.json#consolidated_metadata/metadata/a")
    assert "units" in found.message


@pytest.mark.filterwarnings("ignore:Consolidated metadata is currently not part")
@pytest.mark.parametrize("zarr_format", [2, 3])
def test_zarr_python_consolidated_hierarchies_are_clean(tmp_path: Any, zarr_format: int) -> None:
    root = zarr.open_group(str(tmp_path / "z.zarr"), mode="w", zarr_format=zarr_format)
    root.attrs["title"] = "zarr-python"
    level = root.create_group("g")
    array = level.create_array("a", shape=(10, 12), chunks=(4, 5), dtype="int16",
                               fill_value=-1)
    array[...] = 3
    zarr.consolidate_metadata(str(tmp_path / "z.zarr"), zarr_format=zarr_format)
    report = validate(tmp_path / "z.zarr", chunks=True)
    assert codes(report) <= {"GEOREF-NONE"} and not report.failed(strict=True)


def test_too_many_findings_of_one_kind_are_counted() -> None:
    store = MemoryStore()
    geozarr.create_array(store, name="a", shape=(4,), dtype="u1", chunks=(4,))
    for index in range(MAX_PER_NODE + 5):
        store.set(f"a/c/{100 + index}", b"x")
    report = validate(store)
    assert [found.code for found in report.findings] == ["ZARR-CHUNK-OUT-OF-GRID"] * (
        MAX_PER_NODE + 1)
    assert report.findings[0].key == "a/" and report.findings[0].message.startswith("5 more")


# -- the conformance datasets of geozarr-spec PR #127 (test-datasets/, reproduced) --------------
def sentinel2() -> dict[str, Any]:
    """valid/multiscales/multiscales-sentinel2.zarr: three levels, draft-era CMOs."""
    def level(asset: str, size: int, cell: float, scale: float | None) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "asset": asset, "transform": {"scale": [scale or 1.0] * 2, "translation": [0.0] * 2},
            "spatial:shape": [size, size],
            "spatial:transform": [cell, 0.0, 500000.0, 0.0, -cell, 5000120.0]}
        if scale:
            entry["derived_from"] = "r10m"
        return entry

    layout = [level("r10m", 12, 10.0, None), level("r20m", 6, 20.0, 2.0),
              level("r60m", 2, 60.0, 6.0)]
    docs: dict[str, Any] = {"zarr.json": group({
        "zarr_conventions": [MULTISCALES_V1, PROJ_V1, SPATIAL_V1],
        "multiscales": {"layout": layout, "resampling_method": "average"},
        "proj:code": "EPSG:32632", "spatial:dimensions": ["y", "x"],
        "spatial:bbox": [500000.0, 5000000.0, 500120.0, 5000120.0]})}
    for name, size in (("r10m", 12), ("r20m", 6), ("r60m", 2)):
        docs[f"{name}/zarr.json"] = group()
        docs[f"{name}/ar/zarr.json"] = uint8_array([size, size])
    docs["zarr.json"]["consolidated_metadata"] = {
        "kind": "inline", "must_understand": False,
        "metadata": {key[:-len("/zarr.json")]: value for key, value in docs.items()
                     if key != "zarr.json"}}
    return docs


def test_the_sentinel2_pyramid_is_valid_with_draft_spellings() -> None:
    report = validate(store_of(sentinel2()), chunks=True)
    assert not report.failed()
    assert codes(report, "warning") == {"CMO-NAME-DRAFT", "CMO-URL-DRAFT"}
    # Its levels carry no georeferencing of their own: opened alone they are not placed.
    assert codes(report, "info") == {"GEOREF-NONE", "PROJ-CODE-ONLY"}


def test_invalid_missing_required() -> None:
    spatial = {"zarr_conventions": [SPATIAL_V1],
               "spatial:transform": [1.0, 0.0, 0.0, 0.0, -1.0, 4.0]}
    report = validate(store_of({"zarr.json": group(), "ar/zarr.json": uint8_array([4, 4],
                                                                                   spatial)}))
    assert codes(report, "error") == {"SPATIAL-DIMENSIONS-MISSING"}


def test_invalid_bad_transform_length() -> None:
    spatial = {"zarr_conventions": [SPATIAL_V1], "spatial:dimensions": ["y", "x"],
               "spatial:transform": [1.0, 0.0, 0.0, 0.0]}
    report = validate(store_of({"zarr.json": group(), "ar/zarr.json": uint8_array([4, 4],
                                                                                   spatial)}))
    assert codes(report, "error") == {"SPATIAL-TRANSFORM-LENGTH"}


def test_invalid_multiscales_no_transform() -> None:
    docs = {"zarr.json": group({"zarr_conventions": [MULTISCALES_V1], "multiscales": {
        "layout": [{"asset": "0", "transform": {"scale": [1.0, 1.0]}},
                   {"asset": "1", "derived_from": "0"}]}}),
        "0/zarr.json": group(), "0/ar/zarr.json": uint8_array([8, 8]),
        "1/zarr.json": group(), "1/ar/zarr.json": uint8_array([4, 4])}
    report = validate(store_of(docs))
    assert codes(report, "error") == {"MULTISCALES-TRANSFORM-MISSING"}
    assert "MULTISCALES-NOT-CONSOLIDATED" in codes(report, "warning")


@pytest.mark.parametrize("proj", [
    {"proj:code": "epsg:4326"},                                       # invalid-bad-crs
    {"proj:code": "EPSG:4326",
     "proj:wkt2": pyproj.CRS("EPSG:4326").to_wkt()},                  # invalid-multiple-crs
], ids=["lower-case-code", "code-and-wkt2"])
def test_datasets_the_suite_calls_invalid_are_valid_under_v01(proj: dict[str, Any]) -> None:
    """The suite predates v0.1: its proj:code pattern and its one-representation rule
    (oneOf) were relaxed (pattern ^[^:]+:[^:]+$, anyOf)."""
    attrs = {"zarr_conventions": [PROJ_V1], **proj}
    report = validate(store_of({"zarr.json": group(), "ar/zarr.json": uint8_array([4, 4], attrs)}))
    assert not report.failed()


# -- multiscales details ------------------------------------------------------------------------
def pyramid(layout: list[dict[str, Any]], sizes: dict[str, int]) -> MemoryStore:
    docs: dict[str, Any] = {"zarr.json": group({"zarr_conventions": [MULTISCALES_V1],
                                                "multiscales": {"layout": layout}})}
    for name, size in sizes.items():
        docs[f"{name}/zarr.json"] = group()
        docs[f"{name}/ar/zarr.json"] = uint8_array([size, size])
    docs["zarr.json"]["consolidated_metadata"] = {
        "kind": "inline", "must_understand": False,
        "metadata": {key[:-len("/zarr.json")]: value for key, value in docs.items()
                     if key != "zarr.json"}}
    return store_of(docs)


def test_an_upsampled_level_may_come_last() -> None:
    """The multiscales DEM example: 30 m, 90 m, then a 10 m super-resolution level."""
    layout = [{"asset": "m30"},
              {"asset": "m90", "derived_from": "m30", "transform": {"scale": [3.0, 3.0]}},
              {"asset": "m10", "derived_from": "m30", "transform": {"scale": [1 / 3, 1 / 3]}}]
    report = validate(pyramid(layout, {"m30": 9, "m90": 3, "m10": 27}))
    assert not report.failed() and "MULTISCALES-LEVEL-ORDER" not in codes(report)
    layout[2]["transform"] = {"scale": [1.0, 1.0]}  # the same level, no longer upsampled
    report = validate(pyramid(layout, {"m30": 9, "m90": 3, "m10": 9}))
    assert "MULTISCALES-LEVEL-ORDER" in codes(report, "warning")


def test_a_derivation_cycle_is_reported_once() -> None:
    layout = [{"asset": "a", "derived_from": "b", "transform": {"scale": [1.0, 1.0]}},
              {"asset": "b", "derived_from": "a", "transform": {"scale": [1.0, 1.0]}}]
    report = validate(pyramid(layout, {"a": 4, "b": 4}))
    cycles = [found for found in report.findings if "cycle" in found.message]
    assert len(cycles) == 1 and cycles[0].code == "MULTISCALES-DERIVED-FROM-UNKNOWN"
    assert "a -> b -> a" in cycles[0].message or "b -> a -> b" in cycles[0].message


def test_scale_per_dimension_is_checked_axis_by_axis() -> None:
    layout = [{"asset": "0"},
              {"asset": "1", "derived_from": "0", "transform": {"scale": [2.0, 1.0]}}]
    report = validate(pyramid(layout, {"0": 8, "1": 4}))
    [found] = [found for found in report.findings if found.code == "MULTISCALES-SCALE-MISMATCH"]
    assert "axis 1" in found.message and found.key.endswith("layout/1/transform/scale")
