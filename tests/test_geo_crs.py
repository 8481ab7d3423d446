"""CRS resolution: every source, GDAL's precedence, disagreements and bad input."""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np
import pyproj
import pytest
from rasterio.crs import CRS

from geozarr.errors import GeoreferencingError, GeoreferencingWarning, MetadataWarning
from geozarr.geo.context import ArrayContext
from geozarr.geo.conventions import PROJ_UUID
from geozarr.geo.crs import ResolvedCRS, resolve_crs, same_crs
from geozarr.geo.dimensions import find_spatial_axes

PROJ_DECLARED = {"zarr_conventions": [{"uuid": PROJ_UUID, "name": "proj:"}]}
UTM33 = pyproj.CRS.from_epsg(32633)
WKT_UTM33 = UTM33.to_wkt()
WKT1_UTM33 = UTM33.to_wkt("WKT1_GDAL")
WKT_3857 = pyproj.CRS.from_epsg(3857).to_wkt()
URL_4326 = "http://www.opengis.net/def/crs/EPSG/0/4326"


def make_ctx(attrs: Mapping[str, Any] | None = None, *, dims: tuple[str, str] = ("y", "x"),
             parent_attrs: Mapping[str, Any] | None = None,
             root_attrs: Mapping[str, Any] | None = None,
             variables: Mapping[str, Mapping[str, Any]] | None = None) -> ArrayContext:
    """A (3, 4) float32 array at ``/g/data``; ``variables`` maps names to attributes."""
    known = dict(variables or {})
    return ArrayContext(
        path="/g/data", shape=(3, 4), dims=dims, attrs=dict(attrs or {}), fill_value=None,
        dtype=np.dtype("f4"), parent_attrs=dict(parent_attrs or {}),
        root_attrs=dict(root_attrs or {}), variable_attrs=known.get)


def resolve(ctx: ArrayContext) -> ResolvedCRS:
    return resolve_crs(ctx, find_spatial_axes(ctx))


def quietly(ctx: ArrayContext) -> ResolvedCRS:
    """Resolve, failing on any warning."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return resolve(ctx)


def assert_epsg(result: ResolvedCRS, code: int, source: str) -> None:
    assert result.crs is not None
    assert result.crs.to_epsg() == code
    assert result.source == source


# -- GDAL _CRS -------------------------------------------------------------------------------


def test_gdal_crs_url_wins_over_wkt_and_projjson() -> None:
    crs_attr = {"url": URL_4326, "wkt": pyproj.CRS.from_epsg(4326).to_wkt(),
                "projjson": pyproj.CRS.from_epsg(4326).to_json_dict()}
    result = quietly(make_ctx({"_CRS": crs_attr}))
    assert_epsg(result, 4326, "_CRS.url")
    assert isinstance(result.crs, CRS)


def test_gdal_crs_wkt_then_projjson() -> None:
    assert_epsg(quietly(make_ctx({"_CRS": {"wkt": WKT_UTM33}})), 32633, "_CRS.wkt")
    projjson = {"projjson": UTM33.to_json_dict()}
    assert_epsg(quietly(make_ctx({"_CRS": projjson})), 32633, "_CRS.projjson")


def test_a_broken_crs_member_is_skipped_when_a_later_one_works() -> None:
    ctx = make_ctx({"_CRS": {"url": "http://www.opengis.net/def/crs/EPSG/0/999999",
                             "wkt": WKT_UTM33}})
    with pytest.warns(GeoreferencingWarning, match="_CRS.url .*ignored, _CRS.wkt gives"):
        assert_epsg(resolve(ctx), 32633, "_CRS.wkt")


def test_members_of_crs_that_disagree_are_reported() -> None:
    ctx = make_ctx({"_CRS": {"url": URL_4326, "wkt": WKT_UTM33}})
    with pytest.warns(GeoreferencingWarning,
                      match=r"_CRS.wkt \(EPSG:32633\) disagrees with _CRS.url .*using _CRS.url"):
        assert_epsg(resolve(ctx), 4326, "_CRS.url")


@pytest.mark.parametrize("value, message", [
    ({"wkt": "PROJCRS[garbage"}, "_CRS.wkt 'PROJCRS\\[garbage' is not a usable CRS"),
    ({"url": "http://www.opengis.net/def/crs/EPSG/0/999999"}, "_CRS.url .* not a usable CRS"),
    ({}, "_CRS has none of the members url, wkt, projjson"),
    ({"name": "WGS 84"}, "_CRS has none of the members"),
    (4326, "_CRS 4326 is neither GDAL's object"),
    ({"wkt": ""}, "_CRS.wkt '' is not a CRS definition"),
])  # fmt: skip
def test_a_malformed_gdal_crs_is_an_error_naming_it(value: Any, message: str) -> None:
    with pytest.raises(GeoreferencingError, match=f"^/g/data: {message}"):
        resolve(make_ctx({"_CRS": value}))


def test_a_bare_string_gdal_crs_is_tolerated_with_a_warning() -> None:
    with pytest.warns(MetadataWarning, match="_CRS is a bare string"):
        assert_epsg(resolve(make_ctx({"_CRS": "EPSG:32633"})), 32633, "_CRS (string)")


# -- CF grid_mapping ------------------------------------------------------------------------


def test_grid_mapping_crs_wkt_then_spatial_ref_then_cf_parameters() -> None:
    cf = UTM33.to_cf()
    params = {key: value for key, value in cf.items() if key != "crs_wkt"}
    for grid in ({"crs_wkt": WKT_UTM33, "spatial_ref": WKT_3857}, {"spatial_ref": WKT1_UTM33},
                 params):
        ctx = make_ctx({"grid_mapping": "spatial_ref"}, variables={"spatial_ref": grid})
        assert_epsg(quietly(ctx), 32633, "grid_mapping 'spatial_ref'")


def test_grid_mapping_extended_form_picks_the_mapping_of_the_spatial_dimensions() -> None:
    attrs = {"grid_mapping": "crs_wgs: lat lon crs_utm: x y"}
    ctx = make_ctx(attrs, variables={"crs_utm": {"crs_wkt": WKT_UTM33},
                                     "crs_wgs": {"crs_wkt": pyproj.CRS(4326).to_wkt()}})
    assert_epsg(quietly(ctx), 32633, "grid_mapping 'crs_utm'")


def test_grid_mapping_naming_a_missing_variable_is_an_error() -> None:
    ctx = make_ctx({"grid_mapping": "spatial_ref"})
    with pytest.raises(GeoreferencingError,
                       match="^/g/data: grid_mapping names the variable 'spatial_ref', which "
                             "does not exist"):
        resolve(ctx)


@pytest.mark.parametrize("value", ["a: b: c", ": x y", 5, "two names"])
def test_a_malformed_grid_mapping_is_an_error(value: Any) -> None:
    with pytest.raises(GeoreferencingError, match="^/g/data: grid_mapping .* is not a variable"):
        resolve(make_ctx({"grid_mapping": value}, variables={"a": {"crs_wkt": WKT_UTM33}}))


def test_a_grid_mapping_variable_without_a_crs_is_an_error() -> None:
    ctx = make_ctx({"grid_mapping": "crs"}, variables={"crs": {"long_name": "nothing"}})
    with pytest.raises(GeoreferencingError, match="^/g/data: grid_mapping 'crs' has no crs_wkt"):
        resolve(ctx)


# -- proj convention ------------------------------------------------------------------------


def test_proj_wkt2_then_projjson_then_code() -> None:
    both = {**PROJ_DECLARED, "proj:wkt2": WKT_UTM33, "proj:code": "EPSG:32633",
            "proj:projjson": UTM33.to_json_dict()}
    assert_epsg(quietly(make_ctx(both)), 32633, "proj:wkt2")
    projjson = {**PROJ_DECLARED, "proj:projjson": UTM33.to_json_dict(), "proj:code": "EPSG:32633"}
    assert_epsg(quietly(make_ctx(projjson)), 32633, "proj:projjson")
    assert_epsg(quietly(make_ctx({**PROJ_DECLARED, "proj:code": "EPSG:32633"})), 32633,
                "proj:code")


def test_proj_keys_that_disagree_are_reported_and_wkt2_wins() -> None:
    attrs = {**PROJ_DECLARED, "proj:wkt2": WKT_UTM33, "proj:code": "EPSG:3857"}
    with pytest.warns(GeoreferencingWarning,
                      match=r"proj:code \(EPSG:3857\) disagrees with proj:wkt2 .*using proj:wkt2"):
        assert_epsg(resolve(make_ctx(attrs)), 32633, "proj:wkt2")


def test_proj_keys_of_the_parent_group_apply() -> None:
    parent = {**PROJ_DECLARED, "proj:code": "EPSG:32633"}
    assert_epsg(quietly(make_ctx(parent_attrs=parent)), 32633, "proj:code (parent group)")


def test_proj_keys_of_the_root_do_not_reach_grandchildren() -> None:
    root = {**PROJ_DECLARED, "proj:code": "EPSG:32633"}
    assert quietly(make_ctx(root_attrs=root)) == ResolvedCRS(crs=None, source=None)


def test_the_array_overrides_its_group_silently() -> None:
    """The proj convention lets an array override its group's CRS: no disagreement."""
    ctx = make_ctx({"proj:code": "EPSG:32632"}, parent_attrs={**PROJ_DECLARED,
                                                              "proj:code": "EPSG:4326"})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert_epsg(resolve(ctx), 32632, "proj:code")


def test_a_group_crs_disagreeing_with_another_source_is_reported() -> None:
    ctx = make_ctx({"_CRS": {"url": "http://www.opengis.net/def/crs/EPSG/0/32632"}},
                   parent_attrs={**PROJ_DECLARED, "proj:code": "EPSG:4326"})
    with pytest.warns(GeoreferencingWarning, match=r"proj:code \(parent group\) .* disagrees"):
        assert_epsg(resolve(ctx), 32632, "_CRS.url")


def test_an_unknown_epsg_code_is_an_error_naming_the_key() -> None:
    ctx = make_ctx({**PROJ_DECLARED, "proj:code": "EPSG:999999"})
    with pytest.raises(GeoreferencingError, match="^/g/data: proj:code 'EPSG:999999' is not a "
                                                  "usable CRS"):
        resolve(ctx)


def test_undeclared_proj_keys_are_read_with_a_warning() -> None:
    with pytest.warns(GeoreferencingWarning, match="'proj:wkt2' is used although no "
                                                   "zarr_conventions entry declares"):
        assert_epsg(resolve(make_ctx({"proj:wkt2": WKT_UTM33})), 32633, "proj:wkt2")


def test_a_declaration_on_the_root_counts() -> None:
    ctx = make_ctx({"proj:code": "EPSG:32633"}, root_attrs=PROJ_DECLARED)
    assert_epsg(quietly(ctx), 32633, "proj:code")


# -- legacy keys ----------------------------------------------------------------------------


@pytest.mark.parametrize("value", [32633, "32633", "EPSG:32633"])
def test_stac_proj_epsg_is_read(value: Any) -> None:
    assert_epsg(quietly(make_ctx({"proj:epsg": value})), 32633, "proj:epsg")


def test_nested_legacy_geo_proj_is_read() -> None:
    attrs = {"geo": {"proj": {"version": "0.1", "code": "EPSG:32633"}}}
    with pytest.warns(GeoreferencingWarning, match="'proj:code' is used although"):
        assert_epsg(resolve(make_ctx(attrs)), 32633, "proj:code")


def test_eopf_stac_discovery_on_the_root_is_the_last_resort() -> None:
    root = {"stac_discovery": {"properties": {"proj:epsg": 32633}}}
    assert_epsg(quietly(make_ctx(root_attrs=root)), 32633, "stac_discovery proj:epsg (root group)")


def test_an_unknown_legacy_epsg_is_an_error() -> None:
    with pytest.raises(GeoreferencingError, match="^/g/data: proj:epsg 'EPSG:0' is not a usable"):
        resolve(make_ctx({"proj:epsg": 0}))


# -- precedence between sources -------------------------------------------------------------


def test_gdal_crs_beats_grid_mapping_beats_proj_and_disagreements_name_the_winner() -> None:
    variables = {"spatial_ref": {"crs_wkt": WKT_3857}}
    attrs = {**PROJ_DECLARED, "_CRS": {"wkt": WKT_UTM33}, "grid_mapping": "spatial_ref",
             "proj:code": "EPSG:4326"}
    with pytest.warns(GeoreferencingWarning) as caught:
        result = resolve(make_ctx(attrs, variables=variables))
    assert_epsg(result, 32633, "_CRS.wkt")
    messages = [str(w.message) for w in caught]
    assert any("grid_mapping 'spatial_ref' (EPSG:3857) disagrees with _CRS.wkt" in m
               and "using _CRS.wkt" in m for m in messages)
    assert any("proj:code (EPSG:4326) disagrees with _CRS.wkt" in m for m in messages)
    attrs.pop("_CRS")
    with pytest.warns(GeoreferencingWarning, match="disagrees with grid_mapping 'spatial_ref'"):
        assert_epsg(resolve(make_ctx(attrs, variables=variables)), 3857,
                    "grid_mapping 'spatial_ref'")


def test_sources_that_agree_do_not_warn() -> None:
    attrs = {**PROJ_DECLARED, "_CRS": {"url": URL_4326}, "grid_mapping": "crs",
             "proj:code": "OGC:CRS84"}  # CRS84 is EPSG:4326 with the axes swapped
    ctx = make_ctx(attrs, variables={"crs": {"crs_wkt": pyproj.CRS(4326).to_wkt("WKT1_GDAL")}})
    assert_epsg(quietly(ctx), 4326, "_CRS.url")


def test_a_broken_source_after_the_winner_only_warns() -> None:
    attrs = {"_CRS": {"url": URL_4326}, "grid_mapping": "missing"}
    with pytest.warns(GeoreferencingWarning, match="'missing', which does not exist.*ignored, "
                                                   "_CRS.url gives the CRS"):
        assert_epsg(resolve(make_ctx(attrs)), 4326, "_CRS.url")


def test_a_broken_winner_is_an_error_even_when_a_later_source_works() -> None:
    attrs = {**PROJ_DECLARED, "_CRS": {"wkt": "nonsense"}, "proj:code": "EPSG:4326"}
    with pytest.raises(GeoreferencingError, match="_CRS.wkt"):
        resolve(make_ctx(attrs))


# -- no CRS ---------------------------------------------------------------------------------


@pytest.mark.parametrize("dims, variables", [
    (("lat", "lon"), {}),
    (("a", "b"), {"a": {"units": "degrees_north"}, "b": {"units": "degrees_east"}}),
    (("a", "b"), {"a": {"standard_name": "latitude"}, "b": {"standard_name": "longitude"}}),
])  # fmt: skip
def test_latitude_longitude_coordinates_without_a_crs_mean_wgs84(dims: tuple[str, str],
                                                                 variables: dict) -> None:
    result = quietly(make_ctx(dims=dims, variables=variables))
    assert_epsg(result, 4326, "lat/lon coordinates (WGS 84 assumed)")


def test_projected_coordinates_without_a_crs_have_none() -> None:
    variables = {"y": {"standard_name": "projection_y_coordinate"},
                 "x": {"standard_name": "projection_x_coordinate"}}
    assert quietly(make_ctx(variables=variables)) == ResolvedCRS(crs=None, source=None)
    assert quietly(make_ctx(dims=("lat", "x"))) == ResolvedCRS(crs=None, source=None)


def test_same_crs_ignores_axis_order_but_not_the_datum() -> None:
    assert same_crs(CRS.from_epsg(4326), CRS.from_user_input("OGC:CRS84"))
    assert same_crs(CRS.from_epsg(32633), CRS.from_wkt(WKT1_UTM33))
    assert not same_crs(CRS.from_epsg(4326), CRS.from_epsg(4269))
