"""``geozarr validate`` through click's runner: the committed fixtures, clean stores that must
give no finding, and one broken store per finding code that must give that code."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pyproj
import pytest
from click.testing import CliRunner

from geozarr.cli import main
from geozarr.validate import CODES

FIXTURES = Path(__file__).parent.parent / "fixtures" / "data"

PROJ_UUID = "f17cb550-5864-4468-aeb7-f3180cfb622f"
SPATIAL_UUID = "689b58e2-cf7b-45e0-9fff-9cfc0883d6b4"
MULTISCALES_UUID = "d35379db-88df-4056-af3a-620245f8e347"


def cmo(name: str, uuid: str, description: str) -> dict[str, str]:
    """The v0.1 convention metadata object of ``name``."""
    return {
        "schema_url": f"https://raw.githubusercontent.com/zarr-conventions/{name}/refs/tags/v0.1/"
                      f"schema.json",
        "spec_url": f"https://github.com/zarr-conventions/{name}/blob/v0.1/README.md",
        "uuid": uuid, "name": name, "description": description,
    }


PROJ = cmo("proj", PROJ_UUID, "Coordinate reference system information for geospatial data")
SPATIAL = cmo("spatial", SPATIAL_UUID, "Spatial coordinate information")
MULTISCALES = cmo("multiscales", MULTISCALES_UUID, "Multiscale layout of zarr datasets")
UTM33 = pyproj.CRS.from_epsg(32633)
CRS_KEYS = {"proj:code": "EPSG:32633", "proj:wkt2": UTM33.to_wkt()}

Documents = dict[str, Any]


# -- building stores ----------------------------------------------------------------------------
def v3_array(shape: list[int], chunks: list[int], dims: list[str] | None,
             attributes: dict[str, Any] | None = None) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "zarr_format": 3, "node_type": "array", "shape": shape, "data_type": "float32",
        "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": chunks}},
        "chunk_key_encoding": {"name": "default", "configuration": {"separator": "/"}},
        "fill_value": -9999.0,
        "codecs": [{"name": "bytes", "configuration": {"endian": "little"}}],
        "attributes": attributes or {},
    }
    if dims is not None:
        doc["dimension_names"] = dims
    return doc


def v3_group(attributes: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"zarr_format": 3, "node_type": "group", "attributes": attributes or {}}


def chunk(shape: list[int]) -> bytes:
    return np.zeros(shape, dtype="<f4").tobytes()


def geo_store() -> Documents:
    """A clean GeoZarr v3 raster: 20 x 30 cells of 10 m in UTM 33N, both conventions on the
    group and on the array, every chunk written."""
    transform = [10.0, 0.0, 500000.0, 0.0, -10.0, 5000000.0]
    bbox = [500000.0, 4999800.0, 500300.0, 5000000.0]
    docs: Documents = {
        "zarr.json": v3_group({"zarr_conventions": [PROJ, SPATIAL], **CRS_KEYS,
                               "spatial:dimensions": ["y", "x"], "spatial:bbox": bbox}),
        "data/zarr.json": v3_array([20, 30], [8, 16], ["y", "x"], {
            "zarr_conventions": [PROJ, SPATIAL], **CRS_KEYS,
            "spatial:dimensions": ["y", "x"], "spatial:transform": transform,
            "spatial:shape": [20, 30], "spatial:bbox": bbox, "spatial:registration": "pixel"}),
    }
    for row in range(3):
        for col in range(2):
            docs[f"data/c/{row}/{col}"] = chunk([8, 16])
    return copy.deepcopy(docs)


def level_transform(cell: float) -> list[float]:
    return [cell, 0.0, 500000.0, 0.0, -cell, 5000000.0]


def pyramid_store(*, bands: int | None = None, consolidated: bool = True) -> Documents:
    """A clean two-level multiscales pyramid (16 x 16 at 10 m, 8 x 8 at 20 m), each level group
    self-describing, consolidated at the multiscales group."""
    def scale(factor: float) -> list[float]:
        return [1.0, factor, factor] if bands else [factor, factor]

    layout = [
        {"asset": "r0", "transform": {"scale": scale(1.0), "translation": [0.0] * len(scale(1))},
         "spatial:shape": [16, 16], "spatial:transform": level_transform(10.0)},
        {"asset": "r1", "derived_from": "r0",
         "transform": {"scale": scale(2.0), "translation": [0.0] * len(scale(1))},
         "spatial:shape": [8, 8], "spatial:transform": level_transform(20.0)},
    ]
    docs: Documents = {"zarr.json": v3_group({
        "zarr_conventions": [MULTISCALES, PROJ, SPATIAL],
        "multiscales": {"layout": layout, "resampling_method": "average"}, **CRS_KEYS,
        "spatial:dimensions": ["y", "x"],
        "spatial:bbox": [500000.0, 4999840.0, 500160.0, 5000000.0]})}
    for name, size, cell in (("r0", 16, 10.0), ("r1", 8, 20.0)):
        docs[f"{name}/zarr.json"] = v3_group({
            "zarr_conventions": [PROJ, SPATIAL], **CRS_KEYS, "spatial:dimensions": ["y", "x"],
            "spatial:transform": level_transform(cell), "spatial:shape": [size, size]})
        shape = [bands, size, size] if bands else [size, size]
        dims = ["band", "y", "x"] if bands else ["y", "x"]
        docs[f"{name}/data/zarr.json"] = v3_array(shape, shape, dims)
        docs[f"{name}/data/c/" + "/".join("0" * len(shape))] = chunk(shape)
    docs = copy.deepcopy(docs)
    if consolidated:
        consolidate(docs)
    return docs


def consolidate(docs: Documents, group: str = "") -> None:
    """Put every node document below ``group`` into its inline consolidated metadata."""
    prefix = f"{group}/" if group else ""
    inline = {key[len(prefix):-len("/zarr.json")]: copy.deepcopy(doc)
              for key, doc in docs.items()
              if key.endswith("/zarr.json") and key.startswith(prefix)}
    docs[f"{prefix}zarr.json"]["consolidated_metadata"] = {
        "kind": "inline", "must_understand": False, "metadata": inline}


def write(root: Path, docs: Documents) -> Path:
    for key, value in docs.items():
        path = root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(value if isinstance(value, bytes) else json.dumps(value).encode())
    return root


def attrs(docs: Documents, key: str = "data/zarr.json") -> dict[str, Any]:
    return docs[key]["attributes"]


def run(*args: str) -> tuple[int, dict[str, Any]]:
    """Run ``geozarr validate --json``; the exit code and the report."""
    result = CliRunner().invoke(main, ["validate", "--json", *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, json.loads(result.output)


def codes_of(report: dict[str, Any], severity: str | None = None) -> set[str]:
    return {found["code"] for found in report["findings"]
            if severity is None or found["severity"] == severity}


# -- clean stores -------------------------------------------------------------------------------
@pytest.mark.parametrize("build", [geo_store, pyramid_store, lambda: pyramid_store(bands=3)],
                         ids=["geo", "pyramid", "pyramid-3d"])
def test_a_clean_store_gives_no_finding(tmp_path: Path, build: Callable[[], Documents]) -> None:
    code, report = run(str(write(tmp_path / "clean.zarr", build())), "--chunks", "--strict")
    assert report["findings"] == []
    assert code == 0 and report["valid"] is True and report["chunks_checked"] is True


def test_a_clean_v2_store_gives_no_finding(tmp_path: Path) -> None:
    docs: Documents = {
        ".zgroup": {"zarr_format": 2},
        "data/.zarray": {"zarr_format": 2, "shape": [4, 6], "chunks": [4, 6], "dtype": "<f4",
                         "compressor": None, "fill_value": "NaN", "order": "C", "filters": None},
        "data/.zattrs": {"_ARRAY_DIMENSIONS": ["y", "x"], "zarr_conventions": [PROJ, SPATIAL],
                         **CRS_KEYS, "spatial:dimensions": ["y", "x"],
                         "spatial:transform": level_transform(10.0)},
        "data/0.0": chunk([4, 6]),
    }
    code, report = run(str(write(tmp_path / "v2.zarr", docs)), "--chunks", "--strict")
    assert (code, report["findings"]) == (0, [])


# -- one broken store per code ------------------------------------------------------------------
def mutate(base: Callable[[], Documents], change: Callable[[Documents], Any]
           ) -> Callable[[Path], list[str]]:
    """A case: ``base`` changed by ``change``, written to a directory."""
    def build(tmp_path: Path) -> list[str]:
        docs = base()
        change(docs)
        return [str(write(tmp_path / "store.zarr", docs))]
    return build


def v2_store(change: Callable[[Documents], Any]) -> Callable[[Path], list[str]]:
    def base() -> Documents:
        return {".zgroup": {"zarr_format": 2},
                "data/.zarray": {"zarr_format": 2, "shape": [4, 6], "chunks": [4, 6],
                                 "dtype": "<f4", "compressor": None, "fill_value": 0.0,
                                 "order": "C", "filters": None}}
    return mutate(base, change)


def fixture(*parts: str) -> Callable[[Path], list[str]]:
    return lambda tmp_path: [str(FIXTURES.joinpath(*parts))]


def pop(mapping: dict[str, Any], *keys: str) -> None:
    for key in keys:
        mapping.pop(key)


def set_cmo(docs: Documents, **members: Any) -> None:
    """Change the proj CMO of the array."""
    entry = attrs(docs)["zarr_conventions"][0]
    for name, value in members.items():
        if value is None:
            entry.pop(name)
        else:
            entry[name] = value


def layout(docs: Documents, index: int) -> dict[str, Any]:
    return docs["zarr.json"]["attributes"]["multiscales"]["layout"][index]


def nested_raster(docs: Documents) -> None:
    """Move the array one group down, leaving the proj/spatial keys on the root."""
    for key in [key for key in docs if key.startswith("data/")]:
        docs["sub/" + key] = docs.pop(key)
    docs["sub/zarr.json"] = v3_group()


CASES: dict[str, Callable[[Path], list[str]]] = {
    # the store and its nodes
    "ZARR-STORE-EMPTY": mutate(geo_store, lambda d: (d.clear(), d.update({"notes.txt": b"x"}))),
    "ZARR-ROOT-MISSING": lambda tmp: [str(write(tmp / "outer" / "inner.zarr", geo_store())
                                          .parent)],
    "ZARR-NODE-AMBIGUOUS": mutate(geo_store, lambda d: d.update({".zgroup": {"zarr_format": 2}})),
    "ZARR-NODE-IN-ARRAY": mutate(geo_store, lambda d: d.update({"data/sub/zarr.json":
                                                                v3_group()})),
    "ZARR-IMPLICIT-GROUP": mutate(geo_store, lambda d: d.update({"a/b/zarr.json": v3_group()})),
    "ZARR-MIXED-FORMATS": mutate(geo_store, lambda d: d.update({"old/.zgroup":
                                                                {"zarr_format": 2}})),
    "ZARR-ATTRS-ORPHAN": mutate(geo_store, lambda d: d.update({"x/.zattrs": {"a": 1}})),
    "ZARR-JSON": mutate(geo_store, lambda d: d.update({"data/zarr.json": b"{not json"})),
    "ZARR-METADATA": mutate(geo_store, lambda d: d["data/zarr.json"].update(node_type="thing")),
    "ZARR-DATA-TYPE": mutate(geo_store, lambda d: d["data/zarr.json"].update(
        data_type="int128")),
    "ZARR-CODEC": mutate(geo_store, lambda d: d["data/zarr.json"]["codecs"].append(
        {"name": "no-such-codec"})),
    "ZARR-CODEC-UNSAFE": v2_store(lambda d: d["data/.zarray"].update(
        filters=[{"id": "pickle"}])),
    "ZARR-V3-FILL-VALUE": mutate(geo_store, lambda d: d["data/zarr.json"].update(
        fill_value=None)),
    "ZARR-V3-CODECS-MISSING": mutate(geo_store, lambda d: d["data/zarr.json"].pop("codecs")),
    "ZARR-V3-NO-ARRAY-BYTES": mutate(geo_store, lambda d: d["data/zarr.json"].update(
        codecs=[{"name": "gzip", "configuration": {"level": 1}}])),
    "ZARR-V2-REQUIRED-MEMBER": v2_store(lambda d: d["data/.zarray"].pop("filters")),
    "ZARR-LENIENT": v2_store(lambda d: d["data/.zarray"].update(dtype="|u1", fill_value="0")),
    "ZARR-ARRAY-DIMENSIONS-INVALID": v2_store(lambda d: d.update(
        {"data/.zattrs": {"_ARRAY_DIMENSIONS": ["y"]}})),
    "ZARR-V3-ARRAY-DIMENSIONS": mutate(geo_store, lambda d: attrs(d).update(
        _ARRAY_DIMENSIONS=["y", "x"])),
    "ZARR-DIMENSIONS-DISAGREE": mutate(geo_store, lambda d: attrs(d).update(
        _ARRAY_DIMENSIONS=["x", "y"])),
    # chunks
    "ZARR-STRAY-KEY": mutate(geo_store, lambda d: d.update({"notes.txt": b"hello"})),
    "ZARR-CHUNK-KEY-INVALID": mutate(geo_store, lambda d: d.update({"data/c/0/zz": b"x"})),
    "ZARR-CHUNK-KEY-ENCODING": mutate(geo_store, lambda d: d.update(
        {"data/c.0.0": chunk([8, 16])})),
    "ZARR-CHUNK-OUT-OF-GRID": mutate(geo_store, lambda d: d.update(
        {"data/c/9/0": chunk([8, 16])})),
    "ZARR-CHUNK-CORRUPT": lambda tmp: [*mutate(geo_store, lambda d: d.update(
        {"data/c/0/0": b"truncated"}))(tmp), "--chunks"],
    # consolidated metadata
    "ZARR-CONSOLIDATED-INVALID": v2_store(lambda d: d.update({".zmetadata": {"metadata": {}}})),
    "ZARR-CONSOLIDATED-MISMATCH": mutate(pyramid_store, lambda d: d["zarr.json"][
        "consolidated_metadata"]["metadata"]["r0/data"].update(shape=[17, 16])),
    "ZARR-CONSOLIDATED-STALE-NODE": mutate(pyramid_store, lambda d: d["zarr.json"][
        "consolidated_metadata"]["metadata"].update(gone=v3_group())),
    "ZARR-CONSOLIDATED-MISSING-NODE": mutate(pyramid_store, lambda d: d["zarr.json"][
        "consolidated_metadata"]["metadata"].pop("r0/data")),
    # zarr_conventions
    "CMO-NOT-A-LIST": mutate(geo_store, lambda d: attrs(d).update(zarr_conventions="proj")),
    "CMO-DRAFT-OBJECT": mutate(geo_store, lambda d: attrs(d).update(
        zarr_conventions={PROJ_UUID: {"name": "proj"}, SPATIAL_UUID: {"name": "spatial"}})),
    "CMO-NOT-AN-OBJECT": mutate(geo_store, lambda d: attrs(d)["zarr_conventions"].append(
        "proj")),
    "CMO-NO-IDENTIFIER": mutate(geo_store, lambda d: attrs(d)["zarr_conventions"].append(
        {"name": "proj"})),
    "CMO-EXTRA-MEMBER": mutate(geo_store, lambda d: set_cmo(d, version="0.1")),
    "CMO-MEMBER-TYPE": mutate(geo_store, lambda d: set_cmo(d, description=5)),
    "CMO-UUID-FORMAT": mutate(geo_store, lambda d: set_cmo(d, uuid="not-a-uuid")),
    "CMO-UUID-MISSING": mutate(geo_store, lambda d: set_cmo(d, uuid=None)),
    "CMO-IDENTITY-CONFLICT": mutate(geo_store, lambda d: set_cmo(
        d, schema_url=SPATIAL["schema_url"])),
    "CMO-NAME-DRAFT": mutate(geo_store, lambda d: set_cmo(d, name="proj:")),
    "CMO-NAME-MISMATCH": mutate(geo_store, lambda d: set_cmo(d, name="projection")),
    "CMO-NAME-MISSING": mutate(geo_store, lambda d: set_cmo(d, name=None)),
    "CMO-URL-DRAFT": mutate(geo_store, lambda d: set_cmo(
        d, schema_url="https://raw.githubusercontent.com/zarr-experimental/geo-proj/refs/tags/"
                      "v1/schema.json")),
    "CMO-URL-UNKNOWN": mutate(geo_store, lambda d: set_cmo(
        d, spec_url="https://example.com/proj.md")),
    "CMO-DESCRIPTION": mutate(geo_store, lambda d: set_cmo(d, description="CRS")),
    "CMO-DUPLICATE": mutate(geo_store, lambda d: attrs(d)["zarr_conventions"].append(PROJ)),
    "CMO-UNKNOWN-CONVENTION": mutate(geo_store, lambda d: attrs(d)["zarr_conventions"].append(
        {"uuid": "77c308c7-4db2-4774-8b2d-aa37e9997db6", "name": "CF"})),
    # proj
    "PROJ-UNDECLARED": mutate(geo_store, lambda d: attrs(d)["zarr_conventions"].pop(0)),
    "PROJ-MISSING": mutate(geo_store, lambda d: pop(attrs(d), "proj:code", "proj:wkt2")),
    "PROJ-LEGACY-KEY": mutate(geo_store, lambda d: attrs(d).update({"proj:epsg": 32633})),
    "PROJ-UNKNOWN-KEY": mutate(geo_store, lambda d: attrs(d).update({"proj:cod": "EPSG:1"})),
    "PROJ-CODE-PATTERN": mutate(geo_store, lambda d: attrs(d).update(
        {"proj:code": "urn:ogc:def:crs:EPSG::32633"})),
    "PROJ-CODE-DRAFT-PATTERN": mutate(geo_store, lambda d: attrs(d).update(
        {"proj:code": "epsg:32633"})),
    "PROJ-CODE-UNKNOWN": mutate(geo_store, lambda d: attrs(d).update(
        {"proj:code": "EPSG:999999"})),
    "PROJ-CODE-ONLY": mutate(geo_store, lambda d: pop(attrs(d), "proj:wkt2")),
    "PROJ-WKT2-INVALID": mutate(geo_store, lambda d: attrs(d).update({"proj:wkt2": "not wkt"})),
    "PROJ-WKT2-IS-WKT1": mutate(geo_store, lambda d: attrs(d).update(
        {"proj:wkt2": UTM33.to_wkt("WKT1_GDAL")})),
    "PROJ-PROJJSON-INVALID": mutate(geo_store, lambda d: attrs(d).update(
        {"proj:projjson": UTM33.to_json()})),
    "PROJ-CRS-DISAGREE": mutate(geo_store, lambda d: attrs(d).update(
        {"proj:code": "EPSG:4326"})),
    "GROUP-KEYS-NOT-INHERITED": mutate(geo_store, nested_raster),
    # spatial
    "SPATIAL-UNDECLARED": mutate(geo_store, lambda d: attrs(d)["zarr_conventions"].pop(1)),
    "SPATIAL-UNKNOWN-KEY": mutate(geo_store, lambda d: attrs(d).update(
        {"spatial:dims": ["y", "x"]})),
    "SPATIAL-DIMENSIONS-INVALID": mutate(geo_store, lambda d: attrs(d).update(
        {"spatial:dimensions": ["time", "y", "x"]})),
    "SPATIAL-DIMENSIONS-MISSING": mutate(geo_store, lambda d: (
        pop(attrs(d), "spatial:dimensions"), pop(attrs(d, "zarr.json"), "spatial:dimensions"))),
    "SPATIAL-DIMENSIONS-NOT-ON-ARRAY": mutate(geo_store, lambda d: pop(attrs(d),
                                                                       "spatial:dimensions")),
    "SPATIAL-NO-DIMENSION-NAMES": mutate(geo_store, lambda d: d["data/zarr.json"].pop(
        "dimension_names")),
    "SPATIAL-DIMENSIONS-UNKNOWN": mutate(geo_store, lambda d: attrs(d).update(
        {"spatial:dimensions": ["lat", "lon"]})),
    "SPATIAL-TRANSFORM-INVALID": mutate(geo_store, lambda d: attrs(d).update(
        {"spatial:transform": ["10", "0", "500000", "0", "-10", "5000000"]})),
    "SPATIAL-TRANSFORM-LENGTH": mutate(geo_store, lambda d: attrs(d).update(
        {"spatial:transform": [10.0, -10.0, 500000.0, 5000000.0]})),
    "SPATIAL-TRANSFORM-DEGENERATE": mutate(geo_store, lambda d: attrs(d).update(
        {"spatial:transform": [0.0, 0.0, 500000.0, 0.0, 0.0, 5000000.0]})),
    "SPATIAL-TRANSFORM-MISSING": mutate(geo_store, lambda d: pop(attrs(d),
                                                                 "spatial:transform")),
    "SPATIAL-TRANSFORM-TYPE-UNKNOWN": mutate(geo_store, lambda d: attrs(d).update(
        {"spatial:transform_type": "rpc"})),
    "SPATIAL-SHAPE-INVALID": mutate(geo_store, lambda d: attrs(d).update(
        {"spatial:shape": [20]})),
    "SPATIAL-SHAPE-MISMATCH": mutate(geo_store, lambda d: attrs(d).update(
        {"spatial:shape": [30, 20]})),
    "SPATIAL-BBOX-INVALID": mutate(geo_store, lambda d: attrs(d).update(
        {"spatial:bbox": [500300.0, 4999800.0, 500000.0, 5000000.0]})),
    "SPATIAL-BBOX-MISMATCH": mutate(geo_store, lambda d: attrs(d).update(
        {"spatial:bbox": [501000.0, 5000800.0, 501300.0, 5001000.0]})),
    "SPATIAL-REGISTRATION-INVALID": mutate(geo_store, lambda d: attrs(d).update(
        {"spatial:registration": "area"})),
    # multiscales
    "MULTISCALES-UNDECLARED": mutate(pyramid_store, lambda d: attrs(d, "zarr.json")[
        "zarr_conventions"].pop(0)),
    "MULTISCALES-MISSING": mutate(geo_store, lambda d: attrs(d, "zarr.json")[
        "zarr_conventions"].append(MULTISCALES)),
    "MULTISCALES-ON-ARRAY": mutate(geo_store, lambda d: attrs(d).update(
        multiscales={"layout": [{"asset": "data"}]})),
    "MULTISCALES-LEGACY-FORM": mutate(pyramid_store, lambda d: attrs(d, "zarr.json").update(
        multiscales=[{"datasets": [{"path": "r0"}, {"path": "r1"}]}])),
    "MULTISCALES-INVALID": mutate(pyramid_store, lambda d: attrs(d, "zarr.json")[
        "multiscales"].update(layout=[])),
    "MULTISCALES-ASSET-PATH": mutate(pyramid_store, lambda d: layout(d, 1).update(
        asset="../r1")),
    "MULTISCALES-ASSET-NOT-FOUND": mutate(pyramid_store, lambda d: layout(d, 1).update(
        asset="level1")),
    "MULTISCALES-ASSET-DUPLICATE": mutate(pyramid_store, lambda d: layout(d, 1).update(
        asset="r0")),
    "MULTISCALES-DERIVED-FROM-UNKNOWN": mutate(pyramid_store, lambda d: layout(d, 1).update(
        derived_from="r9")),
    "MULTISCALES-TRANSFORM-MISSING": mutate(pyramid_store, lambda d: layout(d, 1).pop(
        "transform")),
    "MULTISCALES-TRANSFORM-INVALID": mutate(pyramid_store, lambda d: layout(d, 1).update(
        transform={"scale": [0.0, 2.0]})),
    "MULTISCALES-SCALE-LENGTH": mutate(pyramid_store, lambda d: layout(d, 1).update(
        transform={"scale": [2.0, 2.0, 2.0], "translation": [0.0, 0.0, 0.0]})),
    "MULTISCALES-SCALE-NDIM": mutate(lambda: pyramid_store(bands=3), lambda d: layout(
        d, 1).update(transform={"scale": [2.0, 2.0], "translation": [0.0, 0.0]})),
    "MULTISCALES-SCALE-MISMATCH": mutate(pyramid_store, lambda d: layout(d, 1)[
        "transform"].update(scale=[4.0, 4.0])),
    "MULTISCALES-LEVEL-SHAPE": mutate(pyramid_store, lambda d: layout(d, 1).update(
        {"spatial:shape": [9, 9]})),
    "MULTISCALES-LEVEL-TRANSFORM": mutate(pyramid_store, lambda d: layout(d, 1).update(
        {"spatial:transform": level_transform(20.5)})),
    "MULTISCALES-LEVEL-GEOREF": mutate(pyramid_store, lambda d: attrs(d, "r1/zarr.json").update(
        {"spatial:transform": [20.0, 0.0, 501000.0, 0.0, -20.0, 5000000.0]})),
    "MULTISCALES-SPATIAL-TRANSFORM-MISSING": mutate(pyramid_store, lambda d: layout(d, 1).pop(
        "spatial:transform")),
    "MULTISCALES-LEVEL-ORDER": mutate(pyramid_store, lambda d: attrs(d, "zarr.json")[
        "multiscales"]["layout"].reverse()),
    "MULTISCALES-LEVEL-ARRAYS": mutate(pyramid_store, lambda d: d.update(
        {"r1/extra/zarr.json": v3_array([8, 8], [8, 8], ["y", "x"])})),
    "MULTISCALES-UNLISTED-CHILD": mutate(pyramid_store, lambda d: d.update(
        {"masks/zarr.json": v3_group()})),
    "MULTISCALES-NOT-CONSOLIDATED": mutate(lambda: pyramid_store(consolidated=False),
                                           lambda d: None),
    # georeferencing as readers resolve it
    "GEOREF-UNUSABLE": fixture("geo", "bad", "bad_crs_malformed_wkt.zarr"),
    "GEOREF-DISAGREE": mutate(geo_store, lambda d: attrs(d).update(
        _CRS={"url": "http://www.opengis.net/def/crs/EPSG/0/4326"})),
    "GEOREF-NONE": fixture("geo", "no_crs_no_transform.zarr"),
    "GEOREF-NOTE": mutate(geo_store, lambda d: attrs(d).update(_CRS="EPSG:32633")),
}
#: Codes a command line cannot trigger, tested through the API in tests/test_validate.py.
API_ONLY = {"ZARR-STORE-READ"}


def test_every_code_has_a_case_and_a_documentation_entry() -> None:
    assert set(CASES) | API_ONLY == set(CODES)
    documented = (Path(__file__).parent.parent / "docs" / "validate.md").read_text()
    assert [code for code in CODES if f"`{code}`" not in documented] == []


@pytest.mark.parametrize("code", sorted(CASES))
def test_each_check_reports_its_code(tmp_path: Path, code: str) -> None:
    exit_code, report = run(*CASES[code](tmp_path))
    found = [item for item in report["findings"] if item["code"] == code]
    assert found, report["findings"]
    assert all(item["severity"] == CODES[code].severity and item["key"] and item["message"]
               for item in found)
    assert exit_code == (1 if codes_of(report, "error") else 0)


def test_findings_name_the_key_at_fault(tmp_path: Path) -> None:
    _, report = run(*CASES["PROJ-CODE-UNKNOWN"](tmp_path / "a"))
    [found] = [item for item in report["findings"] if item["code"] == "PROJ-CODE-UNKNOWN"]
    assert found["key"] == "data/zarr.json#attributes/proj:code"
    assert "EPSG:999999" in found["message"]
    _, report = run(*CASES["MULTISCALES-DERIVED-FROM-UNKNOWN"](tmp_path / "b"))
    keys = {item["key"] for item in report["findings"]}
    assert "zarr.json#attributes/multiscales/layout/1/derived_from" in keys
    _, report = run(*CASES["ZARR-CHUNK-KEY-ENCODING"](tmp_path / "c"))
    assert {item["key"] for item in report["findings"]} == {"data/c.0.0"}


# -- the committed fixtures ---------------------------------------------------------------------
def _fixture_ids() -> list[str]:
    return sorted(str(path.relative_to(FIXTURES)) for folder in ("gdal", "geo", "geo/bad")
                  for path in (FIXTURES / folder).glob("*.zarr"))


#: The errors each committed fixture must give (every other fixture gives none).
FIXTURE_ERRORS = {
    "gdal/v3_bands_first_3d.zarr": {"ZARR-V3-FILL-VALUE", "ZARR-V3-NO-ARRAY-BYTES"},
    "gdal/v3_blosc_without_bytes.zarr": {"ZARR-V3-NO-ARRAY-BYTES"},
    "gdal/v3_gzip_without_bytes.zarr": {"ZARR-V3-NO-ARRAY-BYTES"},
    "gdal/v3_georeferenced.zarr": {"ZARR-V3-CODECS-MISSING"},
    "gdal/v3_missing_chunks.zarr": {"ZARR-V3-CODECS-MISSING"},
    "gdal/v3_nan_fill.zarr": {"ZARR-V3-CODECS-MISSING"},
    "gdal/v3_no_codecs_null_fill.zarr": {"ZARR-V3-CODECS-MISSING", "ZARR-V3-FILL-VALUE"},
    "geo/proj_crs_precedence.zarr": {"PROJ-CRS-DISAGREE"},
    "geo/bad/bad_crs_malformed_wkt.zarr": {"GEOREF-UNUSABLE"},
    "geo/bad/bad_crs_not_an_object.zarr": {"GEOREF-UNUSABLE"},
    "geo/bad/bad_crs_unknown_epsg_url.zarr": {"GEOREF-UNUSABLE"},
    "geo/bad/bad_geotransform_wrong_length.zarr": {"GEOREF-UNUSABLE"},
    "geo/bad/bad_grid_mapping_missing_variable.zarr": {"GEOREF-UNUSABLE"},
    "geo/bad/bad_proj_code_unknown_epsg.zarr": {"PROJ-CODE-UNKNOWN"},
    "geo/bad/bad_spatial_transform_wrong_length.zarr": {"SPATIAL-TRANSFORM-LENGTH"},
}
#: The warnings the fixtures of draft and legacy spellings must give.
FIXTURE_WARNINGS = {
    "geo/proj_draft_cmo_colon_names.zarr": {"CMO-NAME-DRAFT", "CMO-URL-DRAFT"},
    "geo/proj_object_keyed_conventions.zarr": {"CMO-DRAFT-OBJECT", "PROJ-LEGACY-KEY"},
    "geo/undeclared_proj_spatial_keys.zarr": {"PROJ-UNDECLARED", "SPATIAL-UNDECLARED"},
    "geo/v2_proj_epsg_legacy_eopf.zarr": {"PROJ-LEGACY-KEY", "PROJ-UNDECLARED"},
}


def test_the_fixture_tables_name_existing_fixtures() -> None:
    assert set(FIXTURE_ERRORS) | set(FIXTURE_WARNINGS) <= set(_fixture_ids())


@pytest.mark.parametrize("name", _fixture_ids())
def test_committed_fixtures(name: str) -> None:
    exit_code, report = run(str(FIXTURES / name), "--chunks")
    assert codes_of(report, "error") == FIXTURE_ERRORS.get(name, set())
    assert codes_of(report, "warning") == FIXTURE_WARNINGS.get(name, set())
    assert exit_code == (1 if name in FIXTURE_ERRORS else 0)
    assert report["counts"]["error"] == sum(1 for item in report["findings"]
                                            if item["severity"] == "error")


# -- the command line ---------------------------------------------------------------------------
def test_text_output_is_one_line_per_finding_and_a_summary() -> None:
    target = str(FIXTURES / "geo" / "proj_crs_precedence.zarr")
    result = CliRunner().invoke(main, ["validate", target])
    lines = result.output.strip().splitlines()
    assert result.exit_code == 1
    assert lines[0] == ("ERROR PROJ-CRS-DISAGREE all_disagree/zarr.json#attributes/proj:code: "
                        "proj:code (EPSG:4326) and proj:wkt2 (EPSG:32633) name different CRSs; "
                        "the convention makes proj:wkt2 win, but GDAL reads proj:code first, so "
                        "tools disagree on where the data is")
    assert lines[-1] == f"{target}: INVALID: 3 errors, 0 warnings, 1 info"
    assert all(line.split(" ", 2)[0] in ("ERROR", "WARNING", "INFO") for line in lines[:-1])


def test_strict_counts_warnings_as_errors() -> None:
    target = str(FIXTURES / "geo" / "proj_draft_cmo_colon_names.zarr")
    assert CliRunner().invoke(main, ["validate", target]).exit_code == 0
    strict = CliRunner().invoke(main, ["validate", target, "--strict"])
    assert strict.exit_code == 1
    assert strict.output.strip().splitlines()[-1].startswith(
        f"{target}: INVALID (strict: warnings count as errors): 0 errors, 6 warnings")
    code, report = run(target, "--strict")
    assert (code, report["valid"], report["strict"]) == (1, False, True)


def test_corrupt_chunks_are_found_only_with_chunks(tmp_path: Path) -> None:
    args = CASES["ZARR-CHUNK-CORRUPT"](tmp_path)
    code, report = run(*args[:-1])
    assert (code, report["findings"], report["chunks_checked"]) == (0, [], False)
    code, report = run(*args)
    [found] = report["findings"]
    assert (code, found["code"], found["key"]) == (1, "ZARR-CHUNK-CORRUPT", "data/c/0/0")


def test_a_missing_store_is_one_clear_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["validate", str(tmp_path / "nothing.zarr")])
    assert result.exit_code == 1
    assert result.output.startswith("Error: ") and "nothing.zarr" in result.output


def test_a_zip_store_is_validated(tmp_path: Path) -> None:
    import zipfile

    docs = geo_store()
    archive = tmp_path / "raster.zarr.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        for key, value in docs.items():
            handle.writestr(key, value if isinstance(value, bytes) else json.dumps(value))
        handle.writestr("data/c/7/7", chunk([8, 16]))
    code, report = run(str(archive))
    assert code == 0 and codes_of(report) == {"ZARR-CHUNK-OUT-OF-GRID"}
