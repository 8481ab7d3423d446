"""Transform resolution: every source, precedence, regularity of coordinates, bad input."""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np
import pytest
from affine import Affine
from hypothesis import given
from hypothesis import strategies as st

from geozarr.errors import GeoreferencingError, GeoreferencingWarning, NotGeoreferencedWarning
from geozarr.geo.context import ArrayContext
from geozarr.geo.conventions import SPATIAL_UUID
from geozarr.geo.dimensions import find_spatial_axes
from geozarr.geo.transform import ResolvedTransform, resolve_transform, transform_from_centres

SPATIAL_DECLARED = {"zarr_conventions": [{"uuid": SPATIAL_UUID, "name": "spatial:"}]}
UTM = Affine(10.0, 0.0, 500000.0, 0.0, -10.0, 5000000.0)
UTM_LIST = [10.0, 0.0, 500000.0, 0.0, -10.0, 5000000.0]
UTM_GDAL = "500000.0 10.0 0.0 5000000.0 0.0 -10.0"


def make_ctx(attrs: Mapping[str, Any] | None = None, *, dims: tuple[str, ...] = ("y", "x"),
             shape: tuple[int, ...] = (3, 4), parent_attrs: Mapping[str, Any] | None = None,
             coords: Mapping[str, np.ndarray] | None = None,
             variables: Mapping[str, Mapping[str, Any]] | None = None) -> ArrayContext:
    """An array at ``/g/data``; ``coords`` are variable values, ``variables`` attributes."""
    values = dict(coords or {})
    known: dict[str, Mapping[str, Any]] = {name: {} for name in values}
    known.update(variables or {})
    return ArrayContext(
        path="/g/data", shape=shape, dims=dims, attrs=dict(attrs or {}), fill_value=None,
        dtype=np.dtype("f4"), parent_attrs=dict(parent_attrs or {}),
        variable_attrs=known.get, variable_values=values.get)


def resolve(ctx: ArrayContext) -> ResolvedTransform:
    return resolve_transform(ctx, find_spatial_axes(ctx))


def quietly(ctx: ArrayContext) -> ResolvedTransform:
    """Resolve, failing on any warning."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return resolve(ctx)


def utm_coords(south_up: bool = False) -> dict[str, np.ndarray]:
    """Cell centres of UTM over a (3, 4) raster (y decreasing, or increasing if south-up)."""
    y = 5000000.0 - 5.0 - 10.0 * np.arange(3)
    return {"x": 500000.0 + 5.0 + 10.0 * np.arange(4), "y": y[::-1] if south_up else y}


# -- spatial:transform ----------------------------------------------------------------------


def test_spatial_transform_on_the_array() -> None:
    result = quietly(make_ctx({**SPATIAL_DECLARED, "spatial:transform": UTM_LIST}))
    assert result == ResolvedTransform(UTM, "spatial:transform", "Area", None, None, True)


def test_spatial_transform_of_the_parent_group_applies() -> None:
    parent = {**SPATIAL_DECLARED, "spatial:transform": UTM_LIST, "spatial:shape": [3, 4]}
    result = quietly(make_ctx(parent_attrs=parent))
    assert (result.transform, result.source) == (UTM, "spatial:transform (parent group)")


def test_the_arrays_own_spatial_transform_beats_its_groups() -> None:
    parent = {**SPATIAL_DECLARED, "spatial:transform": [20.0, 0, 0, 0, -20.0, 0]}
    result = resolve(make_ctx({"spatial:transform": UTM_LIST}, parent_attrs=parent))
    assert (result.transform, result.source) == (UTM, "spatial:transform")


def test_node_registration_shifts_half_a_pixel_and_says_point() -> None:
    attrs = {**SPATIAL_DECLARED, "spatial:transform": UTM_LIST, "spatial:registration": "node"}
    result = quietly(make_ctx(attrs))
    assert result.transform == Affine(10.0, 0.0, 499995.0, 0.0, -10.0, 5000005.0)
    assert result.area_or_point == "Point"


def test_node_registration_set_on_the_group_applies_to_the_arrays_transform() -> None:
    result = quietly(make_ctx({"spatial:transform": UTM_LIST},
                              parent_attrs={**SPATIAL_DECLARED, "spatial:registration": "node"}))
    assert result.area_or_point == "Point"


def test_an_unknown_registration_is_read_as_pixel_with_a_warning() -> None:
    attrs = {**SPATIAL_DECLARED, "spatial:transform": UTM_LIST, "spatial:registration": "centre"}
    with pytest.warns(GeoreferencingWarning, match="spatial:registration 'centre'"):
        result = resolve(make_ctx(attrs))
    assert (result.transform, result.area_or_point) == (UTM, "Area")


def test_a_rotated_spatial_transform_is_kept() -> None:
    rotated = Affine.rotation(30) @ Affine.scale(10, -10)
    attrs = {**SPATIAL_DECLARED, "spatial:transform": list(rotated)[:6]}
    assert quietly(make_ctx(attrs)).transform == rotated


@pytest.mark.parametrize("value, message", [
    ([10.0, 0.0, 500000.0, 0.0, -10.0], "must be 6 numbers, got 5 values"),
    ([10.0, 0.0, 500000.0, 0.0, -10.0, 5.0, 0.0, 0.0, 1.0], "must be 6 numbers, got 9 values"),
    ("10 0 500000 0 -10 5000000", "must be 6 numbers, got '10 0"),
    ([10.0, 0.0, "east", 0.0, -10.0, 5.0], "holds 'east', which is not a number"),
    ([10.0, 0.0, None, 0.0, -10.0, 5.0], "holds None, which is not a number"),
    ([10.0, 0.0, True, 0.0, -10.0, 5.0], "holds True, which is not a number"),
    ([10.0, 0.0, float("nan"), 0.0, -10.0, 5.0], "holds nan, which is not finite"),
    ([0.0, 0.0, 0.0, 0.0, -10.0, 5.0], r"\(0.0, 0.0, 0.0, 0.0, -10.0, 5.0\) is degenerate"),
])  # fmt: skip
def test_a_bad_spatial_transform_is_an_error_naming_it(value: Any, message: str) -> None:
    attrs = {**SPATIAL_DECLARED, "spatial:transform": value}
    with pytest.raises(GeoreferencingError, match=f"^/g/data: spatial:transform {message}"):
        resolve(make_ctx(attrs))


def test_another_transform_type_is_skipped_with_a_warning() -> None:
    attrs = {**SPATIAL_DECLARED, "spatial:transform": UTM_LIST,
             "spatial:transform_type": "rpc"}
    with pytest.warns(GeoreferencingWarning, match="transform_type 'rpc' is not 'affine'"):
        result = resolve(make_ctx(attrs, coords=utm_coords()))
    assert result.source == "coordinates 'x', 'y'"


def test_an_undeclared_spatial_transform_is_read_with_a_warning() -> None:
    with pytest.warns(GeoreferencingWarning, match="'spatial:transform' is used although"):
        assert resolve(make_ctx({"spatial:transform": UTM_LIST})).transform == UTM


def test_a_spatial_shape_that_is_not_the_arrays_is_reported() -> None:
    attrs = {**SPATIAL_DECLARED, "spatial:transform": UTM_LIST, "spatial:shape": [4, 3]}
    with pytest.warns(GeoreferencingWarning, match=r"spatial:shape \[4, 3\] is not the raster"):
        assert resolve(make_ctx(attrs)).transform == UTM


# -- GeoTransform on the grid mapping -------------------------------------------------------


@pytest.mark.parametrize("value", [UTM_GDAL, " 500000.0, 10.0, 0, 5000000.0, 0, -10 ",
                                   [500000.0, 10.0, 0.0, 5000000.0, 0.0, -10.0]])
def test_geotransform_as_a_string_or_a_list(value: Any) -> None:
    ctx = make_ctx({"grid_mapping": "spatial_ref"},
                   variables={"spatial_ref": {"GeoTransform": value}})
    result = quietly(ctx)
    assert result == ResolvedTransform(UTM, "GeoTransform on grid_mapping 'spatial_ref'", "Area",
                                       None, None, True)


def test_a_geotransform_of_the_wrong_length_is_an_error_naming_it() -> None:
    ctx = make_ctx({"grid_mapping": "crs"}, variables={"crs": {"GeoTransform": "1 2 3 4 5"}})
    with pytest.raises(GeoreferencingError,
                       match="^/g/data: GeoTransform on grid_mapping 'crs' must be 6 numbers"):
        resolve(ctx)


def test_a_missing_grid_mapping_variable_is_an_error_when_nothing_else_georeferences() -> None:
    with pytest.raises(GeoreferencingError, match="grid_mapping names the variable 'crs'"):
        resolve(make_ctx({"grid_mapping": "crs"}))


# -- coordinates ----------------------------------------------------------------------------


def test_regular_north_up_coordinates() -> None:
    result = quietly(make_ctx(coords=utm_coords()))
    assert result.transform.almost_equals(UTM)
    assert result.source == "coordinates 'x', 'y'"
    assert result.georeferenced and result.area_or_point == "Area"
    np.testing.assert_array_equal(result.x_coords, utm_coords()["x"])
    assert result.x_coords is not None and not result.x_coords.flags.writeable


def test_south_up_coordinates_give_a_positive_e() -> None:
    result = quietly(make_ctx(coords=utm_coords(south_up=True)))
    assert result.transform.almost_equals(Affine(10.0, 0.0, 500000.0, 0.0, 10.0, 4999970.0))


def test_float32_coordinates_with_rounding_noise_are_regular() -> None:
    x = (np.float64(-179.95) + 0.1 * np.arange(3600)).astype(np.float32)
    y = (np.float64(89.95) - 0.1 * np.arange(1800)).astype(np.float32)
    ctx = make_ctx(shape=(1800, 3600), coords={"x": x, "y": y})
    result = quietly(ctx)
    assert result.transform.almost_equals(Affine(0.1, 0.0, -180.0, 0.0, -0.1, 90.0),
                                          precision=1e-4)


def test_longitudes_from_0_to_360_are_not_wrapped() -> None:
    lon = 0.5 + np.arange(360.0)
    lat = 89.5 - np.arange(180.0)
    ctx = make_ctx(dims=("lat", "lon"), shape=(180, 360), coords={"lon": lon, "lat": lat})
    result = quietly(ctx)
    assert result.transform == Affine(1.0, 0.0, 0.0, 0.0, -1.0, 90.0)
    assert (result.transform @ (360, 0))[0] == 360.0


def test_irregular_coordinates_give_the_identity_with_the_coordinates() -> None:
    coords = {"x": np.array([0.0, 1.0, 3.0, 7.0]), "y": np.array([2.0, 1.0, 0.0])}
    with pytest.warns(NotGeoreferencedWarning, match="coordinates 'x' are not regularly spaced"):
        result = resolve(make_ctx(coords=coords))
    assert result.transform == Affine.identity()
    assert (result.source, result.georeferenced) == (None, False)
    np.testing.assert_array_equal(result.x_coords, coords["x"])
    np.testing.assert_array_equal(result.y_coords, coords["y"])


def test_a_step_error_beyond_the_tolerance_is_irregular() -> None:
    x = 10.0 * np.arange(4)
    x[2] += 10.0 * 1e-5
    with pytest.warns(NotGeoreferencedWarning, match="'x' are not regularly spaced"):
        assert not resolve(make_ctx(coords={"x": x, "y": utm_coords()["y"]})).georeferenced


def test_a_single_coordinate_gives_no_cell_size() -> None:
    ctx = make_ctx(shape=(1, 4), coords={"x": utm_coords()["x"], "y": np.array([5.0])})
    with pytest.warns(NotGeoreferencedWarning, match="'y' has a single value"):
        assert not resolve(ctx).georeferenced


def test_coordinates_of_the_wrong_length_are_ignored_with_a_warning() -> None:
    coords = {"x": np.arange(5.0), "y": np.arange(3.0)}
    with (pytest.warns(GeoreferencingWarning, match=r"'x' has shape \(5,\), not \(4,\)"),
          pytest.warns(NotGeoreferencedWarning)):
        result = resolve(make_ctx(coords=coords))
    assert result.x_coords is None and not result.georeferenced


def test_packed_coordinates_are_unpacked() -> None:
    ctx = make_ctx(coords={"x": np.arange(4, dtype=np.int16), "y": np.arange(3, dtype=np.int16)},
                   variables={"x": {"scale_factor": 10.0, "add_offset": 5.0},
                              "y": {"scale_factor": -10.0, "add_offset": 100.0}})
    result = quietly(ctx)
    assert result.transform == Affine(10.0, 0.0, 0.0, 0.0, -10.0, 105.0)


def test_coordinates_of_a_transposed_array_follow_the_roles() -> None:
    ctx = make_ctx(dims=("x", "y"), shape=(4, 3), coords=utm_coords())
    assert quietly(ctx).transform.almost_equals(UTM)


@given(x0=st.floats(-1e6, 1e6), y0=st.floats(-1e6, 1e6),
       dx=st.floats(1e-3, 1e3) | st.floats(-1e3, -1e-3),
       dy=st.floats(1e-3, 1e3) | st.floats(-1e3, -1e-3),
       width=st.integers(2, 50), height=st.integers(2, 50))
def test_centres_of_a_regular_grid_round_trip(x0: float, y0: float, dx: float, dy: float,
                                              width: int, height: int) -> None:
    x = x0 + dx * np.arange(width)
    y = y0 + dy * np.arange(height)
    transform = transform_from_centres(x, y)
    assert transform is not None
    centres = np.array([transform @ (col + 0.5, 0.5) for col in range(width)])
    np.testing.assert_allclose(centres[:, 0], x, rtol=0, atol=1e-9 * max(1.0, abs(x0)) + 1e-9)
    assert np.isclose((transform @ (0.5, height - 0.5))[1], y[-1], rtol=1e-9, atol=1e-6)
    assert np.sign(transform.e) == np.sign(dy)


# -- STAC proj:transform and spatial:bbox ---------------------------------------------------


@pytest.mark.parametrize("value", [UTM_LIST, [*UTM_LIST, 0.0, 0.0, 1.0]])
def test_stac_proj_transform_of_six_or_nine_values(value: list) -> None:
    result = quietly(make_ctx({"proj:transform": value}))
    assert (result.transform, result.source) == (UTM, "proj:transform")


def test_a_nine_value_proj_transform_must_be_affine() -> None:
    with pytest.raises(GeoreferencingError, match="proj:transform .* is not affine"):
        resolve(make_ctx({"proj:transform": [*UTM_LIST, 0.0, 1.0, 1.0]}))


def test_spatial_bbox_with_the_shape_gives_a_north_up_transform() -> None:
    attrs = {**SPATIAL_DECLARED, "spatial:bbox": [500000.0, 4999970.0, 500040.0, 5000000.0]}
    result = quietly(make_ctx(attrs))
    assert (result.transform, result.source) == (UTM, "spatial:bbox")


def test_spatial_bbox_of_cell_centres_with_node_registration() -> None:
    attrs = {**SPATIAL_DECLARED, "spatial:bbox": [500005.0, 4999975.0, 500035.0, 4999995.0],
             "spatial:registration": "node"}
    result = quietly(make_ctx(attrs))
    assert result.transform == UTM and result.area_or_point == "Point"


def test_a_spatial_bbox_of_the_wrong_length_is_an_error() -> None:
    with pytest.raises(GeoreferencingError, match="^/g/data: spatial:bbox must be 4 numbers"):
        resolve(make_ctx({**SPATIAL_DECLARED, "spatial:bbox": [0, 0, 1]}))


# -- precedence ---------------------------------------------------------------------------


def test_spatial_transform_beats_geotransform_beats_coordinates_when_they_agree() -> None:
    variables = {"spatial_ref": {"GeoTransform": UTM_GDAL}}
    attrs = {**SPATIAL_DECLARED, "spatial:transform": UTM_LIST, "grid_mapping": "spatial_ref"}
    result = quietly(make_ctx(attrs, coords=utm_coords(), variables=variables))
    assert (result.transform, result.source) == (UTM, "spatial:transform")
    assert result.x_coords is not None
    attrs.pop("spatial:transform")
    result = quietly(make_ctx(attrs, coords=utm_coords(), variables=variables))
    assert result.source == "GeoTransform on grid_mapping 'spatial_ref'"


def test_sources_that_disagree_by_more_than_half_a_pixel_are_reported() -> None:
    shifted = [10.0, 0.0, 500006.0, 0.0, -10.0, 5000000.0]
    attrs = {**SPATIAL_DECLARED, "spatial:transform": shifted}
    with pytest.warns(GeoreferencingWarning, match="coordinates 'x', 'y' .* disagrees with "
                                                   "spatial:transform .* using spatial:transform"):
        result = resolve(make_ctx(attrs, coords=utm_coords()))
    assert result.transform == Affine(*shifted)


def test_a_difference_under_half_a_pixel_is_accepted() -> None:
    attrs = {**SPATIAL_DECLARED, "spatial:transform": [10.0, 0, 500004.0, 0, -10.0, 5000000.0]}
    assert quietly(make_ctx(attrs, coords=utm_coords())).source == "spatial:transform"


def test_irregular_coordinates_do_not_stop_a_later_source() -> None:
    coords = {"x": np.array([0.0, 1.0, 3.0, 7.0]), "y": np.array([2.0, 1.0, 0.0])}
    result = quietly(make_ctx({"proj:transform": UTM_LIST}, coords=coords))
    assert result.source == "proj:transform"
    np.testing.assert_array_equal(result.x_coords, coords["x"])


def test_a_broken_later_source_only_warns() -> None:
    attrs = {**SPATIAL_DECLARED, "spatial:transform": UTM_LIST, "proj:transform": [1, 2]}
    with pytest.warns(GeoreferencingWarning, match="proj:transform must be 6 or 9 numbers.*"
                                                   "ignored, spatial:transform gives"):
        assert resolve(make_ctx(attrs)).transform == UTM


def test_nothing_gives_the_identity_and_a_not_georeferenced_warning() -> None:
    with pytest.warns(NotGeoreferencedWarning, match="^/g/data: not georeferenced"):
        result = resolve(make_ctx())
    assert result == ResolvedTransform(Affine.identity(), None, "Area", None, None, False)
