"""Convention declarations matched by UUID, URL or name, and convention keys by prefix."""

from __future__ import annotations

import warnings

import pytest

from geozarr.errors import GeoreferencingWarning
from geozarr.geo.conventions import (
    MULTISCALES_UUID,
    PROJ_UUID,
    SPATIAL_UUID,
    convention_keys,
    declared_conventions,
    is_declared,
    warn_undeclared,
)

# The convention metadata objects found in the wild (research notes, table 2.5).
RAW = "https://raw.githubusercontent.com/"
PROJ_V01 = {
    "schema_url": RAW + "zarr-conventions/proj/refs/tags/v0.1/schema.json",
    "spec_url": "https://github.com/zarr-conventions/proj/blob/v0.1/README.md",
    "uuid": PROJ_UUID, "name": "proj",
    "description": "Coordinate reference system information for geospatial data",
}
PROJ_GDAL_313 = {
    "schema_url": RAW + "zarr-experimental/geo-proj/refs/tags/v1/schema.json",
    "spec_url": "https://github.com/zarr-experimental/geo-proj/blob/v1/README.md",
    "uuid": PROJ_UUID, "name": "proj:", "description": "Coordinate reference system information",
}
SPATIAL_RIOXARRAY = {
    "schema_url": RAW + "zarr-conventions/spatial/refs/tags/v1/schema.json",
    "spec_url": "https://github.com/zarr-conventions/spatial/blob/v1/README.md",
    "uuid": SPATIAL_UUID, "name": "spatial:", "description": "Spatial coordinate information",
}
MULTISCALES_V01 = {
    "schema_url": RAW + "zarr-conventions/multiscales/refs/tags/v0.1/schema.json",
    "spec_url": "https://github.com/zarr-conventions/multiscales/blob/v0.1/README.md",
    "uuid": MULTISCALES_UUID, "name": "multiscales",
}


def test_the_uuids_are_the_registered_ones() -> None:
    assert PROJ_UUID == "f17cb550-5864-4468-aeb7-f3180cfb622f"
    assert SPATIAL_UUID == "689b58e2-cf7b-45e0-9fff-9cfc0883d6b4"
    assert MULTISCALES_UUID == "d35379db-88df-4056-af3a-620245f8e347"


def test_a_list_of_cmos_is_matched_by_uuid_whatever_the_name_and_url() -> None:
    attrs = {"zarr_conventions": [PROJ_GDAL_313, SPATIAL_RIOXARRAY, MULTISCALES_V01]}
    assert declared_conventions(attrs) == {PROJ_UUID, SPATIAL_UUID, MULTISCALES_UUID}
    assert declared_conventions({"zarr_conventions": [PROJ_V01]}) == {PROJ_UUID}


@pytest.mark.parametrize("cmo, expected", [
    ({"uuid": PROJ_UUID.upper()}, PROJ_UUID),
    ({"schema_url": PROJ_GDAL_313["schema_url"]}, PROJ_UUID),
    ({"spec_url": "https://github.com/zarr-conventions/geo-proj/blob/v1/README.md"}, PROJ_UUID),
    ({"schema_url": RAW + "zarr-conventions/proj/5ca5b2f/schema.json"}, PROJ_UUID),
    ({"spec_url": SPATIAL_RIOXARRAY["spec_url"]}, SPATIAL_UUID),
    ({"schema_url": MULTISCALES_V01["schema_url"]}, MULTISCALES_UUID),
    ({"name": "proj:"}, PROJ_UUID),
    ({"name": "geo-proj"}, PROJ_UUID),
    ({"name": "spatial"}, SPATIAL_UUID),
    ({"name": "Spatial:"}, SPATIAL_UUID),
    ({"name": "multiscales"}, MULTISCALES_UUID),
])  # fmt: skip
def test_a_cmo_without_uuid_is_matched_by_url_then_name(cmo: dict, expected: str) -> None:
    assert declared_conventions({"zarr_conventions": [cmo]}) == {expected}


def test_the_uuid_wins_over_a_misleading_name() -> None:
    cmo = {"uuid": SPATIAL_UUID, "name": "proj:"}
    assert declared_conventions({"zarr_conventions": [cmo]}) == {SPATIAL_UUID}


def test_the_draft_object_keyed_by_uuid_is_read() -> None:
    attrs = {
        "zarr_conventions_version": "0.1.0",
        "zarr_conventions": {
            PROJ_UUID: {"version": "0.1.0", "name": "proj:"},
            "not-a-uuid": {"name": "spatial:"},
            "other": {"description": "nothing known"},
        },
    }
    assert declared_conventions(attrs) == {PROJ_UUID, SPATIAL_UUID}


def test_unknown_uuids_are_kept_and_garbage_is_ignored() -> None:
    cf_uuid = "77c308c7-4db2-4774-8b2d-aa37e9997db6"
    attrs = {"zarr_conventions": [{"uuid": cf_uuid, "name": "CF"}, "proj", 7, {"name": "ome"},
                                  {"uuid": "not a uuid"}]}
    assert declared_conventions(attrs) == {cf_uuid}
    assert declared_conventions({"zarr_conventions": "proj"}) == frozenset()
    assert declared_conventions({}) == frozenset()


def test_is_declared_looks_at_every_node_given() -> None:
    group = {"zarr_conventions": [PROJ_V01]}
    assert is_declared(PROJ_UUID, {}, group, {})
    assert not is_declared(SPATIAL_UUID, {}, group, {})


def test_warn_undeclared_warns_only_without_a_declaration() -> None:
    with pytest.warns(GeoreferencingWarning, match=r"/a/b: 'proj:code' .*proj convention"):
        warn_undeclared(PROJ_UUID, "proj:code", {}, {"zarr_conventions": [SPATIAL_RIOXARRAY]},
                        path="/a/b")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warn_undeclared(PROJ_UUID, "proj:code", {}, {}, {"zarr_conventions": [PROJ_V01]},
                        path="/a/b")


def test_convention_keys_takes_the_prefix_with_or_without_colon() -> None:
    attrs = {"proj:code": "EPSG:4326", "proj:wkt2": None, "projection": 1, "proj_x": 2,
             "spatial:transform": [1, 0, 0, 0, -1, 0]}
    assert convention_keys(attrs, "proj") == {"proj:code": "EPSG:4326"}
    assert convention_keys(attrs, "proj:") == {"proj:code": "EPSG:4326"}
    assert convention_keys(attrs, "spatial") == {"spatial:transform": [1, 0, 0, 0, -1, 0]}


def test_convention_keys_reads_the_legacy_nested_forms() -> None:
    eopf = {"geo": {"proj": {"version": "0.1", "code": "EPSG:32633", "transform": [1, 2, 3],
                             "spatial_dimensions": ["latitude", "longitude"]}}}
    assert convention_keys(eopf, "proj") == {
        "proj:code": "EPSG:32633", "proj:transform": [1, 2, 3],
        "proj:spatial_dimensions": ["latitude", "longitude"]}
    proposal = {"geo:proj": {"wkt2": "GEOGCRS[...]"}}
    assert convention_keys(proposal, "proj") == {"proj:wkt2": "GEOGCRS[...]"}


def test_a_top_level_key_wins_over_its_nested_twin() -> None:
    attrs = {"geo": {"proj": {"code": "EPSG:4326"}}, "proj:code": "EPSG:3857"}
    assert convention_keys(attrs, "proj") == {"proj:code": "EPSG:3857"}
