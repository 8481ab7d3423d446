"""CF values (nodata, scale, offset, units), grid-mapping lookup, and CF times as text."""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import cftime
import numpy as np
import pandas as pd
import pytest
import xarray as xr

import geozarr
from geozarr.errors import DimensionError, GeoreferencingError, MetadataWarning
from geozarr.geo.cf import (
    ValueEncoding,
    decode_cf_time,
    dimension_values,
    grid_mapping,
    resolve_values,
)
from geozarr.geo.context import ArrayContext


def make_ctx(attrs: Mapping[str, Any] | None = None, *, dtype: str = "f4",
             fill_value: Any = None, dims: tuple[str, ...] = ("time", "y", "x"),
             shape: tuple[int, ...] = (3, 2, 2),
             variables: Mapping[str, tuple[Mapping[str, Any], np.ndarray | None]] | None = None
             ) -> ArrayContext:
    """An array at ``/g/data``; ``variables`` maps names to (attributes, values)."""
    known = dict(variables or {})
    return ArrayContext(
        path="/g/data", shape=shape, dims=dims, attrs=dict(attrs or {}),
        fill_value=fill_value, dtype=np.dtype(dtype),
        variable_attrs=lambda name: known[name][0] if name in known else None,
        variable_values=lambda name: known[name][1] if name in known else None)


def quiet_values(ctx: ArrayContext) -> ValueEncoding:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return resolve_values(ctx)


# -- nodata, scale, offset, units -----------------------------------------------------------


def test_fill_value_attribute_beats_missing_value_beats_zarr_fill_value() -> None:
    attrs = {"_FillValue": -9999, "missing_value": -1}
    assert quiet_values(make_ctx(attrs, dtype="i2", fill_value=np.int16(0))).nodata == -9999
    assert quiet_values(make_ctx({"missing_value": -1}, dtype="i2",
                                 fill_value=np.int16(0))).nodata == -1
    assert quiet_values(make_ctx(dtype="i2", fill_value=np.int16(7))).nodata == 7


def test_nodata_types_follow_the_data_type() -> None:
    as_int = quiet_values(make_ctx({"_FillValue": -9999.0}, dtype="i2")).nodata
    assert as_int == -9999 and isinstance(as_int, int)
    as_float = quiet_values(make_ctx({"_FillValue": -9999}, dtype="f4")).nodata
    assert as_float == -9999.0 and isinstance(as_float, float)
    assert quiet_values(make_ctx(dtype="bool", fill_value=np.bool_(False))).nodata == 0


@pytest.mark.parametrize("raw, expected", [
    ("NaN", math.nan), ("-Infinity", -math.inf), ("Infinity", math.inf), ("-9999.5", -9999.5),
    ("AAAAAAAA+H8=", math.nan),  # what xarray writes for a float NaN _FillValue in v3
    ("AAAAAICHw8A=", -9999.0),  # ... and for -9999.0 (the bytes of a little-endian float64)
    ("AHwkxg==", -10527.0),  # base64 of a little-endian float32
])  # fmt: skip
def test_fill_value_attribute_spellings_for_floats(raw: str, expected: float) -> None:
    nodata = quiet_values(make_ctx({"_FillValue": raw})).nodata
    assert isinstance(nodata, float)
    assert nodata == expected or (math.isnan(expected) and math.isnan(nodata))


def test_missing_value_given_as_a_list_uses_its_first_value() -> None:
    assert quiet_values(make_ctx({"missing_value": [-1, -2]}, dtype="i4")).nodata == -1


@pytest.mark.parametrize("attrs, dtype, problem", [
    ({"_FillValue": 1.5}, "i2", "is not an integer"),
    ({"_FillValue": 70000}, "i2", "is outside the range of data type int16"),
    ({"_FillValue": -1}, "u1", "is outside the range"),
    ({"_FillValue": "a lot"}, "f4", "is not a number"),
    ({"_FillValue": {"v": 1}}, "f4", "is not a number"),
    ({"_FillValue": "NaN"}, "i4", "is not an integer"),
])  # fmt: skip
def test_an_unusable_nodata_falls_through_with_a_warning(attrs: dict, dtype: str,
                                                         problem: str) -> None:
    ctx = make_ctx(attrs, dtype=dtype, fill_value=np.dtype(dtype).type(0))
    with pytest.warns(MetadataWarning, match=f"^/g/data: _FillValue .* {problem}"):
        assert resolve_values(ctx).nodata == 0


def test_types_without_numeric_nodata_have_none() -> None:
    assert quiet_values(make_ctx({"_FillValue": 0}, dtype="c8", fill_value=0j)).nodata is None
    assert quiet_values(make_ctx(dtype="U4", fill_value="")).nodata is None


def test_no_fill_value_anywhere_is_no_nodata() -> None:
    assert quiet_values(make_ctx()).nodata is None


def test_scale_offset_units_and_description() -> None:
    attrs = {"scale_factor": 0.01, "add_offset": [273.15], "units": "K",
             "long_name": "air temperature", "description": "ignored when long_name exists"}
    assert quiet_values(make_ctx(attrs, dtype="i2")) == ValueEncoding(
        nodata=None, scale=0.01, offset=273.15, units="K", description="air temperature")
    described = quiet_values(make_ctx({"description": "band one"}))
    assert described == ValueEncoding(None, 1.0, 0.0, "", "band one")


@pytest.mark.parametrize("key", ["scale_factor", "add_offset"])
@pytest.mark.parametrize("value", ["0.5", [1.0, 2.0], True, float("inf")])
def test_a_bad_scale_or_offset_is_ignored_with_a_warning(key: str, value: Any) -> None:
    with pytest.warns(MetadataWarning, match=f"^/g/data: {key} .* is not a finite number"):
        result = resolve_values(make_ctx({key: value}))
    assert (result.scale, result.offset) == (1.0, 0.0)


def test_values_of_gdal_output(fixtures_dir: Path) -> None:
    array = geozarr.open_array(fixtures_dir / "gdal" / "v2_georeferenced.zarr", path="data")
    ctx = ArrayContext(path="/data", shape=array.shape, dims=("Y", "X"), attrs=dict(array.attrs),
                       fill_value=array.fill_value, dtype=array.dtype)
    assert quiet_values(ctx).nodata == -1


# -- grid mapping ---------------------------------------------------------------------------


def test_grid_mapping_plain_and_extended_forms() -> None:
    variables = {"crs": ({"a": 1}, None), "crs2": ({"b": 2}, None)}
    ctx = make_ctx({"grid_mapping": "crs"}, variables=variables)
    assert grid_mapping(ctx) == ("crs", {"a": 1})
    ctx = make_ctx({"grid_mapping": "crs: lat lon crs2: x y"}, variables=variables)
    assert grid_mapping(ctx, ("x", "y")) == ("crs2", {"b": 2})
    assert grid_mapping(ctx, ("u", "v")) == ("crs", {"a": 1})
    assert grid_mapping(make_ctx()) is None


def test_grid_mapping_naming_nothing_is_an_error() -> None:
    with pytest.raises(GeoreferencingError, match="^/g/data: grid_mapping names the variable "
                                                  "'crs', which does not exist"):
        grid_mapping(make_ctx({"grid_mapping": "crs"}))


# -- CF time --------------------------------------------------------------------------------


def test_decode_cf_time_standard_units() -> None:
    values = np.array([0.0, 6.0, 12.5, np.nan])
    assert decode_cf_time(values, "hours since 2020-01-01 00:00:00") == [
        "2020-01-01T00:00:00", "2020-01-01T06:00:00", "2020-01-01T12:30:00", "NaT"]
    assert decode_cf_time(np.array([1.5]), "seconds since 1970-1-1") == [
        "1970-01-01T00:00:01.500000"]
    assert decode_cf_time(np.array([2]), "days since 2000-01-01T00:00:00Z") == [
        "2000-01-03T00:00:00"]


def test_a_time_zone_in_the_reference_is_converted_to_utc() -> None:
    assert decode_cf_time(np.array([0]), "hours since 2000-01-01 00:00:00 +2:00") == [
        "1999-12-31T22:00:00"]
    assert decode_cf_time(np.array([0]), "hours since 2000-01-01 00:00 -0130") == [
        "2000-01-01T01:30:00"]


@pytest.mark.filterwarnings("ignore::cftime.CFWarning")  # CF itself has no year 0
@pytest.mark.parametrize("calendar", [
    "standard", "gregorian", "proleptic_gregorian", "julian", "noleap", "365_day", "all_leap",
    "366_day", "360_day",
])  # fmt: skip
@pytest.mark.parametrize("units", ["days since 1600-03-01 12:00", "hours since 1582-10-15",
                                   "minutes since 2000-02-28 06:30:00"])
def test_every_cf_calendar_agrees_with_cftime(calendar: str, units: str) -> None:
    values = np.arange(-900_000.0, 900_000.0, 1234.5)
    expected = [date.isoformat() for date in cftime.num2date(  # ISO 8601 has a year 0
        values, units, calendar, only_use_cftime_datetimes=True, has_year_zero=True)]
    decoded = decode_cf_time(values, units, calendar)
    assert decoded is not None
    assert [text[:19] for text in decoded] == [text[:19] for text in expected]


def test_the_standard_calendar_switches_from_julian_to_gregorian() -> None:
    assert decode_cf_time(np.array([0, 1]), "days since 1582-10-04", "standard") == [
        "1582-10-04T00:00:00", "1582-10-15T00:00:00"]
    assert decode_cf_time(np.array([0, 1]), "days since 1582-10-04", "proleptic_gregorian") == [
        "1582-10-04T00:00:00", "1582-10-05T00:00:00"]


def test_calendar_specific_days() -> None:
    assert decode_cf_time(np.array([1, 30]), "days since 2000-02-29", "360_day") == [
        "2000-02-30T00:00:00", "2000-03-29T00:00:00"]
    assert decode_cf_time(np.array([1]), "days since 2000-02-28", "noleap") == [
        "2000-03-01T00:00:00"]


@pytest.mark.parametrize("units, calendar", [
    ("months since 2000-01-01", "standard"),
    ("years since 2000-01-01", "360_day"),
    ("days since 2000-01-01", "utc"),
    ("days since 2000-01-01", "none"),
    ("days since 2000-01-01", "martian"),
    ("days", "standard"),
    ("metres", "standard"),
    ("days since yesterday", "standard"),
    ("days since 2001-02-29", "standard"),  # no such day
    ("days since 2000-02-30", "noleap"),
    ("days since 1582-10-10", "standard"),  # in the Julian-Gregorian gap
    ("days since 2000-13-01", "standard"),
])  # fmt: skip
def test_unsupported_units_or_calendars_give_none(units: str, calendar: str) -> None:
    assert decode_cf_time(np.array([0, 1]), units, calendar) is None


def test_absurdly_large_values_are_not_a_time() -> None:
    assert decode_cf_time(np.array([1e300, 1.0]), "days since 2000-01-01") == [
        "NaT", "2000-01-02T00:00:00"]


# -- dimension values -----------------------------------------------------------------------


def test_dimension_values_decode_cf_times() -> None:
    time = ({"units": "days since 2000-01-01", "calendar": "noleap"}, np.array([0, 59, 365]))
    ctx = make_ctx(variables={"time": time})
    assert dimension_values(ctx, "time") == [
        "2000-01-01T00:00:00", "2000-03-01T00:00:00", "2001-01-01T00:00:00"]


def test_dimension_values_of_other_coordinates() -> None:
    ctx = make_ctx(dims=("level", "band", "name", "y", "x"), shape=(2, 3, 2, 2, 2), variables={
        "level": ({"units": "hPa", "scale_factor": 10.0}, np.array([85, 50], dtype="i2")),
        "band": ({"units": "days since ever"}, np.array([1, 2, 3])),
        "name": ({}, np.array([b"red", b"nir"]))})
    assert dimension_values(ctx, "level") == [850.0, 500.0]
    assert dimension_values(ctx, "band") == [1, 2, 3]
    assert dimension_values(ctx, "name") == ["red", "nir"]
    assert dimension_values(ctx, "y") is None


def test_dimension_values_of_the_wrong_length_are_dropped_with_a_warning() -> None:
    ctx = make_ctx(variables={"time": ({}, np.arange(4))})
    with pytest.warns(MetadataWarning, match=r"'time' has shape \(4,\), not \(3,\)"):
        assert dimension_values(ctx, "time") is None


def test_dimension_values_of_an_unknown_dimension_is_an_error() -> None:
    with pytest.raises(DimensionError, match="^/g/data: 'band' is not a dimension"):
        dimension_values(make_ctx(), "band")


def test_times_written_by_xarray_decode_as_xarray_does(tmp_path: Path) -> None:
    times = pd.date_range("2020-01-30", periods=5, freq="7h")
    dataset = xr.Dataset({"v": (("time", "y", "x"), np.zeros((5, 2, 2)))}, coords={"time": times})
    dataset.to_zarr(tmp_path / "t.zarr", zarr_format=3, consolidated=False)
    group = geozarr.open_group(tmp_path / "t.zarr")
    time = group["time"]
    assert "since" in time.attrs["units"]
    ctx = make_ctx(shape=(5, 2, 2), variables={"time": (dict(time.attrs), time[...])})
    expected = [str(t) for t in np.datetime_as_string(times.values, unit="s")]
    assert dimension_values(ctx, "time") == expected
