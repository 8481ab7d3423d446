"""Georeferencing encodings: every attribute dict from one CRS and transform, and bad input."""

from __future__ import annotations

import base64
import math
import struct

import numpy as np
import pyproj
import pytest
from affine import Affine
from rasterio.crs import CRS

from geozarr.errors import GeoreferencingError, MetadataError
from geozarr.geo import encode
from geozarr.geo.conventions import PROJ_UUID, SPATIAL_UUID, declared_conventions

UTM11 = pyproj.CRS.from_epsg(32611)
WGS84 = pyproj.CRS.from_epsg(4326)
POLAR = pyproj.CRS.from_epsg(3413)
#: The NSIDC polar stereographic grid as a PROJ string: no authority code.
POLAR_NO_CODE = pyproj.CRS.from_proj4(
    "+proj=stere +lat_0=90 +lat_ts=70 +lon_0=-45 +datum=WGS84 +units=m +no_defs")
NORTH_UP = Affine(30.0, 0.0, 500000.0, 0.0, -30.0, 4000000.0)


# -- inputs -----------------------------------------------------------------------------------
@pytest.mark.parametrize("value", ["EPSG:32611", 32611, UTM11.to_wkt(), UTM11.to_json(),
                                   CRS.from_epsg(32611), UTM11])
def test_as_crs_takes_every_spelling(value: object) -> None:
    assert encode.as_crs(value).equals(UTM11)


@pytest.mark.parametrize("value", ["EPSG:0", "not a crs", "+proj=nonsense", ""])
def test_as_crs_refuses_what_proj_cannot_parse(value: str) -> None:
    with pytest.raises(GeoreferencingError, match="not a CRS PROJ can parse"):
        encode.as_crs(value)


def test_as_transform_takes_affine_and_six_or_nine_numbers() -> None:
    assert encode.as_transform(NORTH_UP) == NORTH_UP
    assert encode.as_transform(list(NORTH_UP)[:6]) == NORTH_UP
    assert encode.as_transform(list(NORTH_UP)) == NORTH_UP


@pytest.mark.parametrize("value, message", [
    ([1.0, 0.0, 0.0, 0.0, -1.0], "five numbers|5 numbers"),
    ([0.0, 0.0, 5.0, 0.0, -1.0, 3.0], "degenerate"),
    ([1.0, 0.0, float("nan"), 0.0, -1.0, 0.0], "non-finite"),
    ("30 0 500000 0 -30 4000000", "must be an affine"),
    ([1, 0, 0, 0, -1, 0, 1, 1, 1], "9 numbers"),
])
def test_as_transform_refuses_bad_transforms(value: object, message: str) -> None:
    with pytest.raises(GeoreferencingError, match=message):
        encode.as_transform(value)


# -- conventions ------------------------------------------------------------------------------
def test_convention_objects_are_the_v01_ones_and_identified_by_uuid() -> None:
    declared = encode.conventions_attribute(proj=True, spatial=True)
    assert [item["name"] for item in declared] == ["proj", "spatial"]
    assert declared_conventions({"zarr_conventions": declared}) == {PROJ_UUID, SPATIAL_UUID}
    for item in declared:
        assert set(item) == {"schema_url", "spec_url", "uuid", "name", "description"}
        assert "/refs/tags/v0.1/schema.json" in item["schema_url"]
        assert item["spec_url"].endswith("/blob/v0.1/README.md")
    assert encode.conventions_attribute(proj=False, spatial=True) == [
        dict(encode.SPATIAL_CONVENTION)]


def test_proj_attributes_always_have_wkt2_and_a_code_when_there_is_one() -> None:
    utm = encode.proj_attributes(UTM11)
    assert utm["proj:code"] == "EPSG:32611"
    assert pyproj.CRS.from_wkt(utm["proj:wkt2"]).equals(UTM11)
    assert utm["proj:wkt2"].startswith("PROJCRS[")  # WKT2, not WKT1's PROJCS
    custom = encode.proj_attributes(POLAR_NO_CODE)
    assert "proj:code" not in custom
    assert pyproj.CRS.from_wkt(custom["proj:wkt2"]).equals(POLAR_NO_CODE)


def test_spatial_attributes_follow_rasterio_order_and_role_order() -> None:
    attrs = encode.spatial_attributes(NORTH_UP, (700, 900))
    assert attrs == {"spatial:dimensions": ["y", "x"],
                     "spatial:transform": [30.0, 0.0, 500000.0, 0.0, -30.0, 4000000.0],
                     "spatial:shape": [700, 900], "spatial:registration": "pixel"}
    group = encode.spatial_group_attributes(NORTH_UP, (700, 900))
    assert group["spatial:bbox"] == [500000.0, 4000000.0 - 700 * 30, 500000.0 + 900 * 30,
                                     4000000.0]


def test_bounds_of_a_rotated_grid_are_its_envelope() -> None:
    rotated = Affine(10.0, 2.0, 100.0, 3.0, -10.0, 500.0)
    xmin, ymin, xmax, ymax = encode.bounds(rotated, (5, 4))
    corners = [rotated @ (c, r) for c, r in ((0, 0), (4, 0), (0, 5), (4, 5))]
    assert (xmin, xmax) == (min(x for x, _ in corners), max(x for x, _ in corners))
    assert (ymin, ymax) == (min(y for _, y in corners), max(y for _, y in corners))


# -- GDAL and CF ------------------------------------------------------------------------------
def test_gdal_crs_has_wkt_projjson_and_an_epsg_url() -> None:
    value = encode.gdal_crs_attribute(UTM11)
    assert value["url"] == "http://www.opengis.net/def/crs/EPSG/0/32611"
    assert pyproj.CRS.from_wkt(value["wkt"]).equals(UTM11)
    assert pyproj.CRS.from_json_dict(value["projjson"]).equals(UTM11)
    assert "url" not in encode.gdal_crs_attribute(POLAR_NO_CODE)


def test_geotransform_text_is_gdal_order_and_exact() -> None:
    odd = Affine(0.1, 0.0, -180.00000000000003, 0.0, -1 / 3, 90.0)
    numbers = [float(v) for v in encode.geotransform_text(odd).split()]
    assert Affine.from_gdal(*numbers) == odd


@pytest.mark.parametrize("crs, mapping", [(UTM11, "transverse_mercator"),
                                          (WGS84, "latitude_longitude"),
                                          (POLAR, "polar_stereographic")])
def test_grid_mapping_attributes_read_back_as_the_crs(crs: pyproj.CRS, mapping: str) -> None:
    attrs = encode.grid_mapping_attributes(crs, NORTH_UP)
    assert attrs["grid_mapping_name"] == mapping
    assert pyproj.CRS.from_wkt(attrs["crs_wkt"]).equals(crs)
    assert pyproj.CRS.from_wkt(attrs["spatial_ref"]).equals(crs, ignore_axis_order=True)
    assert pyproj.CRS.from_cf(attrs).equals(crs, ignore_axis_order=True)
    assert Affine.from_gdal(*map(float, attrs["GeoTransform"].split())) == NORTH_UP
    assert "GeoTransform" not in encode.grid_mapping_attributes(crs, None)


def test_coordinates_are_cell_centres_that_give_back_the_transform() -> None:
    x, y = encode.coordinate_values(NORTH_UP, (3, 4))
    assert x.tolist() == [500015.0, 500045.0, 500075.0, 500105.0]
    assert y.tolist() == [3999985.0, 3999955.0, 3999925.0]
    assert x.dtype == y.dtype == np.float64
    with pytest.raises(GeoreferencingError, match="rotated"):
        encode.coordinate_values(Affine(1.0, 0.5, 0.0, 0.0, -1.0, 0.0), (3, 4))


@pytest.mark.parametrize("crs, x_name, y_units", [
    (UTM11, "projection_x_coordinate", "metre"),
    (WGS84, "longitude", "degrees_north"),
    (POLAR, "projection_x_coordinate", "metre"),
])
def test_coordinate_attributes_come_from_the_crs_axes(crs: pyproj.CRS, x_name: str,
                                                      y_units: str) -> None:
    x, y = encode.coordinate_attributes(crs)
    assert (x["axis"], y["axis"]) == ("X", "Y")
    assert x["standard_name"] == x_name
    assert y["units"] == y_units
    bare_x, bare_y = encode.coordinate_attributes(None)
    assert (bare_x["axis"], bare_y["axis"]) == ("X", "Y") and "units" not in bare_x


# -- values -----------------------------------------------------------------------------------
def _unpack(text: str) -> float:
    return struct.unpack("<d", base64.standard_b64decode(text))[0]


def test_fill_value_attribute_per_format() -> None:
    assert math.isnan(_unpack(encode.fill_value_attribute(float("nan"), np.float32, 3)))
    assert _unpack(encode.fill_value_attribute(-9999.0, np.float64, 3)) == -9999.0
    assert encode.fill_value_attribute(float("nan"), np.float32, 2) == "NaN"
    assert encode.fill_value_attribute(float("-inf"), np.float32, 2) == "-Infinity"
    assert encode.fill_value_attribute(-9999.5, np.float32, 2) == -9999.5
    assert encode.fill_value_attribute(-9999, np.int16, 3) == -9999
    assert encode.fill_value_attribute(0.0, np.uint8, 2) == 0
    assert isinstance(encode.fill_value_attribute(0.0, np.uint8, 2), int)


@pytest.mark.parametrize("nodata, dtype", [(-1, np.uint8), (256, np.uint8), (0.5, np.int16),
                                           (float("nan"), np.int32), (1e40, np.float32),
                                           ("0", np.uint8), (True, np.uint8)])
def test_nodata_must_be_a_value_of_the_type(nodata: object, dtype: type) -> None:
    with pytest.raises(MetadataError, match="nodata"):
        encode.nodata_value(nodata, dtype)  # type: ignore[arg-type]


def test_nodata_keeps_large_integers_exact() -> None:
    big = np.iinfo(np.int64).max
    assert encode.nodata_value(big, np.int64) == big
    assert encode.nodata_value(np.uint64(2**64 - 1), np.uint64) == 2**64 - 1


def test_band_values_and_names() -> None:
    assert encode.band_values(3).tolist() == [1, 2, 3]
    assert encode.band_names_attribute(["elevation"]) == "elevation"
    assert encode.band_names_attribute(("r", "g", "b")) == ["r", "g", "b"]
