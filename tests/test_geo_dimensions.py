"""Dimension names from every producer, and the X/Y roles of an array's dimensions."""

from __future__ import annotations

import json
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import netCDF4
import numpy as np
import pytest

from geozarr.errors import DimensionError, GeoreferencingWarning, MetadataWarning
from geozarr.geo.context import ArrayContext
from geozarr.geo.conventions import SPATIAL_UUID
from geozarr.geo.dimensions import (
    SpatialAxes,
    array_dimensions,
    find_spatial_axes,
    is_latitude,
    is_longitude,
)

SPATIAL_DECLARED = {"zarr_conventions": [{"uuid": SPATIAL_UUID, "name": "spatial:"}]}


def make_ctx(dims: tuple[str, ...], *, shape: tuple[int, ...] | None = None,
             attrs: Mapping[str, Any] | None = None,
             parent_attrs: Mapping[str, Any] | None = None,
             variables: Mapping[str, Mapping[str, Any]] | None = None) -> ArrayContext:
    """A context for an array at ``/g/data``; ``variables`` maps names to attributes."""
    known = dict(variables or {})
    return ArrayContext(
        path="/g/data", shape=shape or tuple(range(3, 3 + len(dims))), dims=dims,
        attrs=dict(attrs or {}), fill_value=None, dtype=np.dtype("f4"),
        parent_attrs=dict(parent_attrs or {}), variable_attrs=known.get)


# -- array_dimensions ---------------------------------------------------------------------


def test_v3_dimension_names_come_first_and_nulls_get_positional_names() -> None:
    names = array_dimensions((2, 3, 4), {"_ARRAY_DIMENSIONS": ["a", "b", "c"]},
                             ("time", None, "x"), {}, path="/v")
    assert names == ("time", "dim_1", "x")


def test_all_null_dimension_names_count_as_absent() -> None:
    names = array_dimensions((2, 3), {"_ARRAY_DIMENSIONS": ["y", "x"]}, (None, None), {},
                             path="/v")
    assert names == ("y", "x")


def test_array_dimensions_attribute_is_read() -> None:
    assert array_dimensions((2, 3), {"_ARRAY_DIMENSIONS": ["lat", "lon"]}, None, {},
                            path="/v") == ("lat", "lon")


@pytest.mark.parametrize("where, block", [
    ("attrs", {"_nczarr_array": {"dimension_references": ["/lat", "/g/lon"]}}),
    ("attrs", {"_nczarr_array": {"dimrefs": ["/lat", "/g/lon"], "storage": "chunked"}}),
    ("extra", {"_NCZARR_ARRAY": {"dimrefs": ["/lat", "/g/lon"], "storage": "chunked"}}),
    ("extra", {"_nczarr_array": {"dimensions": ["/lat", "/g/lon"]}}),
])  # fmt: skip
def test_nczarr_dimension_references_give_their_last_segment(where: str, block: dict) -> None:
    attrs, extra = (block, {}) if where == "attrs" else ({}, block)
    assert array_dimensions((2, 3), attrs, None, extra, path="/v") == ("lat", "lon")


def test_array_dimensions_wins_over_nczarr() -> None:
    attrs = {"_ARRAY_DIMENSIONS": ["y", "x"], "_nczarr_array": {"dimrefs": ["/a", "/b"]}}
    assert array_dimensions((2, 3), attrs, None, {}, path="/v") == ("y", "x")


def test_without_any_source_dimensions_are_positional() -> None:
    assert array_dimensions((2, 3, 4), {}, None, {}, path="/v") == ("dim_0", "dim_1", "dim_2")
    assert array_dimensions((), {}, None, {}, path="/v") == ()


@pytest.mark.parametrize("attrs, names, problem", [
    ({"_ARRAY_DIMENSIONS": ["y"]}, None, "has 1 names for 2 dimensions"),
    ({"_ARRAY_DIMENSIONS": "y x"}, None, "is not a list of names"),
    ({"_ARRAY_DIMENSIONS": ["y", 3]}, None, "is not a list of names"),
    ({"_ARRAY_DIMENSIONS": ["x", "x"]}, None, "repeats a name"),
    ({}, ("y", "x", "z"), "has 3 names for 2 dimensions"),
])  # fmt: skip
def test_an_unusable_source_is_skipped_with_a_warning(attrs: dict, names: Any,
                                                      problem: str) -> None:
    with pytest.warns(MetadataWarning, match=f"/v: .*{problem}"):
        assert array_dimensions((2, 3), attrs, names, {}, path="/v") == ("dim_0", "dim_1")


def test_a_bad_source_falls_through_to_the_next_one() -> None:
    attrs = {"_ARRAY_DIMENSIONS": ["y", "x"]}
    with pytest.warns(MetadataWarning, match="dimension_names has 1 names"):
        assert array_dimensions((2, 3), attrs, ("t",), {}, path="/v") == ("y", "x")


def test_dimensions_written_by_netcdf_c_nczarr(tmp_path: Path) -> None:
    target = tmp_path / "nc.zarr"
    with netCDF4.Dataset(f"file://{target}#mode=nczarr,file", "w") as dataset:
        dataset.createDimension("lat", 3)
        dataset.createDimension("lon", 4)
        group = dataset.createGroup("sub")
        group.createVariable("t", "f4", ("lat", "lon"))[:] = np.zeros((3, 4))
    attrs = json.loads((target / "sub" / "t" / ".zattrs").read_text())
    assert "_nczarr_array" in attrs
    assert array_dimensions((3, 4), attrs, None, {}, path="/sub/t") == ("lat", "lon")
    nczarr_only = {key: value for key, value in attrs.items() if key != "_ARRAY_DIMENSIONS"}
    assert array_dimensions((3, 4), nczarr_only, None, {}, path="/sub/t") == ("lat", "lon")


# -- find_spatial_axes --------------------------------------------------------------------


def test_fewer_than_two_dimensions_is_a_dimension_error() -> None:
    with pytest.raises(DimensionError, match="/g/data: an array of 1 dimension"):
        find_spatial_axes(make_ctx(("x",)))


def test_the_last_two_dimensions_are_the_default() -> None:
    axes = find_spatial_axes(make_ctx(("band", "rows", "cols")))
    assert axes == SpatialAxes(y_axis=1, x_axis=2, y_dim="rows", x_dim="cols",
                               source="last two dimensions")


@pytest.mark.parametrize("dims, y_axis, x_axis", [
    (("y", "x"), 0, 1),
    (("x", "y"), 1, 0),
    (("time", "lat", "lon"), 1, 2),
    (("lon", "lat", "time"), 1, 0),
    (("Y", "X"), 0, 1),  # GDAL's X and Y coordinate arrays
    (("northing", "easting", "band"), 0, 1),
    (("latitude", "longitude"), 0, 1),
])  # fmt: skip
def test_well_known_names_give_the_roles(dims: tuple[str, ...], y_axis: int,
                                         x_axis: int) -> None:
    axes = find_spatial_axes(make_ctx(dims))
    assert (axes.y_axis, axes.x_axis, axes.source) == (y_axis, x_axis, "dimension names")
    assert (axes.y_dim, axes.x_dim) == (dims[y_axis], dims[x_axis])


@pytest.mark.parametrize("x_attrs, y_attrs", [
    ({"axis": "X"}, {"axis": "Y"}),
    ({"standard_name": "projection_x_coordinate"}, {"standard_name": "projection_y_coordinate"}),
    ({"standard_name": "longitude"}, {"standard_name": "latitude"}),
    ({"standard_name": "grid_longitude"}, {"standard_name": "grid_latitude"}),
    ({"units": "degrees_east"}, {"units": "degrees_north"}),
    ({"units": "degree_E"}, {"units": "degreesN"}),
])  # fmt: skip
def test_cf_attributes_of_coordinate_variables_give_the_roles(x_attrs: dict,
                                                              y_attrs: dict) -> None:
    ctx = make_ctx(("u", "v", "w"), variables={"u": x_attrs, "w": y_attrs})
    axes = find_spatial_axes(ctx)
    assert (axes.x_dim, axes.y_dim, axes.source) == ("u", "w", "CF coordinate attributes")


def test_cf_attributes_win_over_names() -> None:
    ctx = make_ctx(("x", "y"), variables={"x": {"axis": "Y"}, "y": {"axis": "X"}})
    axes = find_spatial_axes(ctx)
    assert (axes.x_dim, axes.y_dim) == ("y", "x")


def test_an_axis_found_alone_leaves_the_other_to_the_last_two_dimensions() -> None:
    axes = find_spatial_axes(make_ctx(("band", "rows", "lon")))
    assert (axes.y_dim, axes.x_dim) == ("rows", "lon")
    assert axes.source == "dimension names (x), last two dimensions (y)"
    axes = find_spatial_axes(make_ctx(("band", "lat", "cols")))
    assert (axes.y_dim, axes.x_dim) == ("lat", "cols")
    axes = find_spatial_axes(make_ctx(("a", "lon", "b")))
    assert (axes.y_dim, axes.x_dim) == ("b", "lon")


def test_ambiguous_names_are_not_used() -> None:
    axes = find_spatial_axes(make_ctx(("x", "lon", "rows")))
    assert axes.source == "last two dimensions"
    assert (axes.y_dim, axes.x_dim) == ("lon", "rows")


def test_spatial_dimensions_on_the_array_win() -> None:
    attrs = {**SPATIAL_DECLARED, "spatial:dimensions": ["b", "a"]}
    axes = find_spatial_axes(make_ctx(("a", "b", "x"), attrs=attrs))
    assert axes == SpatialAxes(y_axis=1, x_axis=0, y_dim="b", x_dim="a",
                               source="spatial:dimensions")


def test_spatial_dimensions_of_the_parent_group_apply() -> None:
    parent = {**SPATIAL_DECLARED, "spatial:dimensions": ["lat", "lon"]}
    axes = find_spatial_axes(make_ctx(("lat", "lon", "t"), parent_attrs=parent))
    assert (axes.y_dim, axes.x_dim) == ("lat", "lon")
    assert axes.source == "spatial:dimensions (parent group)"


def test_gdal_three_name_spatial_dimensions_use_the_last_two() -> None:
    attrs = {**SPATIAL_DECLARED, "spatial:dimensions": ["z", "Y", "X"]}
    axes = find_spatial_axes(make_ctx(("z", "Y", "X"), attrs=attrs))
    assert (axes.y_axis, axes.x_axis) == (1, 2)


def test_spatial_dimensions_match_names_without_case() -> None:
    attrs = {**SPATIAL_DECLARED, "spatial:dimensions": ["Y", "X"]}
    axes = find_spatial_axes(make_ctx(("x", "y"), attrs=attrs))
    assert (axes.y_axis, axes.x_axis, axes.source) == (1, 0, "spatial:dimensions")


@pytest.mark.parametrize("key", ["spatial:dims", "proj:spatial_dimensions"])
def test_legacy_spatial_dimension_keys_are_read(key: str) -> None:
    attrs = {**SPATIAL_DECLARED, key: ["b", "a"]}
    axes = find_spatial_axes(make_ctx(("a", "b"), attrs=attrs))
    assert (axes.y_dim, axes.x_dim, axes.source) == ("b", "a", key)


def test_spatial_dimensions_naming_no_dimension_are_ignored_with_a_warning() -> None:
    attrs = {**SPATIAL_DECLARED, "spatial:dimensions": ["northing", "easting"]}
    with pytest.warns(GeoreferencingWarning, match="/g/data: spatial:dimensions .* ignored"):
        axes = find_spatial_axes(make_ctx(("y", "x"), attrs=attrs))
    assert axes.source == "dimension names"


def test_undeclared_spatial_dimensions_are_read_with_a_warning() -> None:
    with pytest.warns(GeoreferencingWarning, match="'spatial:dimensions' is used although"):
        axes = find_spatial_axes(make_ctx(("a", "b"), attrs={"spatial:dimensions": ["b", "a"]}))
    assert (axes.y_dim, axes.x_dim) == ("b", "a")


def test_declared_spatial_dimensions_do_not_warn() -> None:
    ctx = make_ctx(("a", "b"), attrs={"spatial:dimensions": ["a", "b"]},
                   parent_attrs=SPATIAL_DECLARED)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert find_spatial_axes(ctx).source == "spatial:dimensions"


@pytest.mark.parametrize("x_dim, y_dim", [("a", "c"), (0, 2), (-3, -1), ("a", 2)])
def test_overrides_by_name_or_index(x_dim: str | int, y_dim: str | int) -> None:
    axes = find_spatial_axes(make_ctx(("a", "y", "c")), x_dim=x_dim, y_dim=y_dim)
    assert axes == SpatialAxes(y_axis=2, x_axis=0, y_dim="c", x_dim="a",
                               source="x_dim/y_dim override")


def test_one_override_leaves_the_other_to_detection() -> None:
    axes = find_spatial_axes(make_ctx(("lat", "b", "c")), x_dim="c")
    assert (axes.y_dim, axes.x_dim) == ("lat", "c")
    assert axes.source == "x_dim/y_dim override (x), dimension names (y)"
    axes = find_spatial_axes(make_ctx(("a", "b", "c")), y_dim="c")
    assert (axes.y_dim, axes.x_dim) == ("c", "b")


def test_an_override_beats_spatial_dimensions_which_still_give_the_other_axis() -> None:
    attrs = {**SPATIAL_DECLARED, "spatial:dimensions": ["b", "a"]}
    axes = find_spatial_axes(make_ctx(("a", "b", "c"), attrs=attrs), x_dim="c")
    assert (axes.x_dim, axes.y_dim) == ("c", "b")
    assert axes.source == "x_dim/y_dim override (x), spatial:dimensions (y)"
    clash = find_spatial_axes(make_ctx(("a", "b", "c"), attrs=attrs), y_dim="a")
    assert (clash.x_dim, clash.y_dim) == ("c", "a")


@pytest.mark.parametrize("kwargs, message", [
    ({"x_dim": "nope"}, "x_dim='nope' is not a dimension of the array"),
    ({"y_dim": 3}, "y_dim=3 is out of range"),
    ({"y_dim": -4}, "y_dim=-4 is out of range"),
    ({"x_dim": "a", "y_dim": 0}, "both name dimension 'a'"),
    ({"x_dim": 1.5}, "x_dim must be a dimension name or index"),
    ({"x_dim": True}, "x_dim must be a dimension name or index"),
])  # fmt: skip
def test_bad_overrides_are_dimension_errors(kwargs: dict, message: str) -> None:
    with pytest.raises(DimensionError, match=f"/g/data: .*{message}"):
        find_spatial_axes(make_ctx(("a", "b", "c")), **kwargs)


def test_geographic_dimensions_by_attributes_or_names() -> None:
    ctx = make_ctx(("lat", "lon", "a", "b"), variables={
        "a": {"units": "degrees_east"}, "b": {"standard_name": "latitude"},
        "lon": {"units": "m"}})
    assert is_latitude(ctx, "lat") and is_latitude(ctx, "b")
    assert is_longitude(ctx, "a")
    assert not is_longitude(ctx, "lon")  # its own attributes say metres
    assert not is_latitude(ctx, "a")
