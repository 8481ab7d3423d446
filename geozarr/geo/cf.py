"""CF attributes: what the values mean, the grid-mapping variable, and times as text.

* :func:`resolve_values`: nodata, scale, offset, units and description of an array, with
  CF's order for nodata (``_FillValue`` > ``missing_value`` > the Zarr ``fill_value``, which
  is what GDAL reports when there is no CF attribute).
* :func:`grid_mapping` finds the variable a ``grid_mapping`` attribute names (both the plain
  and the extended ``"crs: x y crs2: lat lon"`` forms).
* :func:`decode_cf_time` turns ``"<unit> since <date>"`` numbers into ISO 8601 text in every
  CF calendar but ``utc``/``tai`` (leap seconds) and ``none``; :func:`dimension_values`
  gives the tag values of a non-spatial dimension (GDAL's ``NETCDF_DIM_time_VALUE``).
"""

from __future__ import annotations

import base64
import binascii
import math
import re
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from geozarr.errors import DimensionError, GeoreferencingError, MetadataWarning
from geozarr.geo.context import ArrayContext


@dataclass(frozen=True)
class ValueEncoding:
    """How stored values map to physical ones, as rasterio exposes them per band.

    Attributes
    ----------
    nodata
        The missing-data value, in stored (packed) units: an ``int`` for integer and boolean
        arrays, a ``float`` for floating point ones; None when there is none, or for data
        types without numeric nodata (complex, strings, datetimes).
    scale, offset
        CF ``scale_factor`` and ``add_offset``: physical = stored * scale + offset.
    units
        CF ``units`` ("" when absent).
    description
        CF ``long_name``, else ``description`` ("" when absent).
    """

    nodata: float | int | None
    scale: float
    offset: float
    units: str
    description: str


def resolve_values(ctx: ArrayContext) -> ValueEncoding:
    """The :class:`ValueEncoding` of ``ctx``'s array.

    Nodata comes from ``_FillValue``, else ``missing_value`` (the first value when it is a
    list), else the Zarr ``fill_value``. Attribute values may be numbers, ``"NaN"`` /
    ``"Infinity"`` / ``"-Infinity"``, numbers written as strings, or base64 of the value's
    bytes (xarray writes float ``_FillValue`` that way in v3). A value that cannot be nodata
    for the array's data type (unparseable, not an integer for an integer array, out of
    range) is skipped with a :class:`MetadataWarning`, and the next source is used. A
    non-numeric ``scale_factor``/``add_offset`` is ignored with a warning too.
    """
    nodata = None
    if _numeric_kind(ctx.dtype):
        for key in ("_FillValue", "missing_value"):
            if key in ctx.attrs and ctx.attrs[key] is not None:
                nodata = _nodata(ctx.attrs[key], ctx.dtype, key, ctx.path)
                if nodata is not None:
                    break
        if nodata is None and ctx.fill_value is not None:
            nodata = _nodata(ctx.fill_value, ctx.dtype, "fill_value", ctx.path)
    units = ctx.attrs.get("units")
    description = ctx.attrs.get("long_name")
    if not isinstance(description, str):
        description = ctx.attrs.get("description")
    return ValueEncoding(
        nodata=nodata,
        scale=_factor(ctx, "scale_factor", 1.0),
        offset=_factor(ctx, "add_offset", 0.0),
        units=units if isinstance(units, str) else "",
        description=description if isinstance(description, str) else "",
    )


def grid_mapping(ctx: ArrayContext, coordinates: tuple[str, str] = ("", "")
                 ) -> tuple[str, Mapping[str, Any]] | None:
    """The grid-mapping variable ``ctx``'s array names: ``(name, attributes)``, or None when
    the array has no ``grid_mapping`` attribute.

    Parameters
    ----------
    ctx
        The array and its surroundings.
    coordinates
        The names of the array's X and Y dimensions. With the extended form
        ``"crsA: x y crsB: lat lon"`` the mapping listed with one of them is used, else the
        first one.

    Raises
    ------
    GeoreferencingError
        ``grid_mapping`` is not a string of the CF forms, or names a variable that exists
        neither in the array's group nor in an ancestor.
    """
    raw = ctx.attrs.get("grid_mapping")
    if raw is None:
        return None
    name = _grid_mapping_name(raw, coordinates) if isinstance(raw, str) else None
    if name is None:
        raise GeoreferencingError(
            f"{ctx.path}: grid_mapping {raw!r} is not a variable name nor CF's "
            f"'name: coordinates ...' form")
    attrs = ctx.variable_attrs(name)
    if attrs is None:
        raise GeoreferencingError(
            f"{ctx.path}: grid_mapping names the variable {name!r}, which does not exist in "
            f"the array's group or any ancestor")
    return name, attrs


def decode_cf_time(values: np.ndarray, units: str, calendar: str = "standard"
                   ) -> list[str] | None:
    """CF time values as ISO 8601 text (``"2020-01-01T06:00:00"``).

    Parameters
    ----------
    values
        Numbers of ``units`` since the reference date.
    units
        ``"<unit> since <date>[ <time>][ <zone>]"``: unit one of days, hours, minutes,
        seconds, milliseconds, microseconds (and their udunits abbreviations); the date as
        ``YYYY-M-D``, the time as ``h:m[:s[.f]]``, the zone as ``Z``, ``UTC`` or ``+hh[:mm]``.
    calendar
        A CF calendar: ``standard``/``gregorian`` (Julian before 1582-10-15, Gregorian after),
        ``proleptic_gregorian``, ``julian``, ``noleap``/``365_day``,
        ``all_leap``/``366_day``, ``360_day``.

    Returns
    -------
    list of str or None
        One string per value, in seconds (or in microseconds for all values when any has a
        fraction of a second); ``"NaT"`` for a NaN, infinite or absurdly large value. Years
        before 1 use ISO 8601's astronomical numbering (``0000`` is 1 BC), as numpy does.
        None when ``units`` are not CF time units, use ``months``/``years`` (whose length CF
        leaves to udunits' mean month and year, which nobody means), or the calendar is
        ``utc``/``tai`` (leap seconds), ``none`` or unknown; also when the reference date
        does not exist in the calendar.
    """
    parsed = _parse_time_units(units)
    kind = _CALENDARS.get(calendar.strip().lower()) if isinstance(calendar, str) else None
    if parsed is None or kind is None:
        return None
    unit_us, (year, month, day), reference_us = parsed
    calendar_days = _CALENDAR_DAYS[kind]
    base = calendar_days.to_days(year, month, day)
    if base is None:
        return None
    flat = np.asarray(values, dtype=np.float64).ravel()
    finite = np.isfinite(flat) & (np.abs(flat) < _MAX_OFFSET_US / unit_us)
    totals = reference_us + np.round(flat[finite] * unit_us).astype(np.int64)
    if kind in ("gregorian", "standard") and abs(base - _UNIX_JDN) < _MAX_DAYS:
        # Julian day numbers are the same in both calendars, so the standard calendar is
        # numpy's proleptic Gregorian one as long as no result falls before 1582-10-15.
        # (numpy writes negative years unpadded: those take the slower path below.)
        stamps = (base - _UNIX_JDN) * 86_400_000_000 + totals
        earliest = _YEAR_ZERO_US if kind == "gregorian" else _GREGORIAN_START_US
        if not stamps.size or stamps.min() >= earliest:
            unit = "us" if np.any(stamps % 1_000_000) else "s"
            texts = np.datetime_as_string(stamps.astype("datetime64[us]"), unit=unit)
            return _merge([str(text) for text in texts], finite)
    fraction = bool(np.any(totals % 1_000_000))
    decoded = []
    for total in totals.tolist():
        days, in_day = divmod(total, 86_400_000_000)
        decoded.append(_iso(calendar_days.from_days(base + days), in_day, fraction))
    return _merge(decoded, finite)


def dimension_values(ctx: ArrayContext, dim: str) -> list[str | float | int] | None:
    """The values of a non-spatial dimension, for band tags (``DIM_time_VALUE``).

    Returns
    -------
    list or None
        Decoded ISO 8601 times when the coordinate variable named ``dim`` has CF time units
        (``"... since ..."``) that :func:`decode_cf_time` handles; text for a text coordinate;
        otherwise its numbers, unpacked with its ``scale_factor``/``add_offset`` if any. None
        when there is no such 1-D variable, or (with a :class:`MetadataWarning`) when its
        length is not the dimension's.

    Raises
    ------
    DimensionError
        ``dim`` is not a dimension of the array.
    """
    if dim not in ctx.dims:
        raise DimensionError(f"{ctx.path}: {dim!r} is not a dimension of the array; its "
                             f"dimensions are {list(ctx.dims)}")
    values = ctx.variable_values(dim)
    if values is None:
        return None
    size = ctx.shape[ctx.dims.index(dim)]
    if values.ndim != 1 or values.shape[0] != size:
        warnings.warn(f"{ctx.path}: the coordinate variable {dim!r} has shape {values.shape}, "
                      f"not ({size},) like the dimension; its values are not used",
                      MetadataWarning, stacklevel=2)
        return None
    if values.dtype.kind == "M":
        return [str(text) for text in np.datetime_as_string(values)]
    if values.dtype.kind in "SUOT":
        return [item.decode("utf-8", "replace") if isinstance(item, bytes) else str(item)
                for item in values.tolist()]
    attrs = ctx.variable_attrs(dim) or {}
    units = attrs.get("units")
    if isinstance(units, str) and " since " in units and values.dtype.kind in "iuf":
        calendar = attrs.get("calendar", "standard")
        decoded = decode_cf_time(values, units, calendar if isinstance(calendar, str) else "")
        if decoded is not None:
            return list(decoded)
    return list(unpack(values, attrs).tolist())


def unpack(values: np.ndarray, attrs: Mapping[str, Any]) -> np.ndarray:
    """``values`` with CF ``scale_factor``/``add_offset`` applied when ``attrs`` have numeric
    ones; the values themselves otherwise."""
    scale = attrs.get("scale_factor")
    offset = attrs.get("add_offset")
    has_scale = _is_number(scale)
    has_offset = _is_number(offset)
    if not (has_scale or has_offset) or values.dtype.kind not in "iuf":
        return values
    result = values.astype(np.float64)
    if has_scale:
        result = result * float(scale)
    if has_offset:
        result = result + float(offset)
    return result


# -- values --------------------------------------------------------------------------------

_FLOAT_WORDS = {"nan": math.nan, "infinity": math.inf, "-infinity": -math.inf, "inf": math.inf,
                "-inf": -math.inf, "+infinity": math.inf, "+inf": math.inf}


def _numeric_kind(dtype: np.dtype) -> bool:
    return dtype.kind in "biuf"


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(
        value, (bool, np.bool_))


def _nodata(raw: Any, dtype: np.dtype, key: str, path: str) -> float | int | None:
    """``raw`` as a nodata value for ``dtype``, or None with a warning."""
    if isinstance(raw, list) and raw:
        raw = raw[0]
    value = _as_number(raw, dtype)
    if value is None:
        _warn_value(path, key, raw, f"is not a number for data type {dtype}")
        return None
    if dtype.kind == "f":
        return float(value)
    if isinstance(value, float) and not value.is_integer():
        _warn_value(path, key, raw, f"is not an integer, as data type {dtype} needs")
        return None
    number = int(value)
    limits = (0, 1) if dtype.kind == "b" else (np.iinfo(dtype).min, np.iinfo(dtype).max)
    if not limits[0] <= number <= limits[1]:
        _warn_value(path, key, raw, f"is outside the range of data type {dtype}")
        return None
    return number


def _as_number(raw: Any, dtype: np.dtype) -> float | int | None:
    """A JSON or numpy value as a Python number (None when it is not one)."""
    if isinstance(raw, (bool, np.bool_)):
        return int(raw)
    if isinstance(raw, (int, np.integer)):
        return int(raw)
    if isinstance(raw, (float, np.floating)):
        return float(raw)
    if not isinstance(raw, str):
        return None
    text = raw.strip()
    if text.lower() in _FLOAT_WORDS:
        return _FLOAT_WORDS[text.lower()]
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        pass
    return _from_base64(text, dtype)


def _from_base64(text: str, dtype: np.dtype) -> float | int | None:
    """A little-endian value in base64 (xarray's v3 ``_FillValue``): float64, float32 or
    float16 by length for float arrays, the array's own type otherwise."""
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None
    if dtype.kind == "f":
        types = {8: "<f8", 4: "<f4", 2: "<f2"}
        if len(data) not in types:
            return None
        return float(np.frombuffer(data, dtype=types[len(data)])[0])
    if len(data) != dtype.itemsize:
        return None
    return int(np.frombuffer(data, dtype=dtype.newbyteorder("<"))[0])


def _factor(ctx: ArrayContext, key: str, default: float) -> float:
    raw = ctx.attrs.get(key)
    if isinstance(raw, list) and len(raw) == 1:
        raw = raw[0]
    if raw is None:
        return default
    if not _is_number(raw) or not math.isfinite(float(raw)):
        _warn_value(ctx.path, key, raw, "is not a finite number")
        return default
    return float(raw)


def _warn_value(path: str, key: str, raw: Any, problem: str) -> None:
    warnings.warn(f"{path}: {key} {raw!r} {problem}; ignored", MetadataWarning, stacklevel=4)


# -- grid mapping --------------------------------------------------------------------------

_NAME = re.compile(r"[A-Za-z0-9_.@+-][^\s:]*")


def _grid_mapping_name(raw: str, coordinates: tuple[str, str]) -> str | None:
    """The variable name in a ``grid_mapping`` value (plain or extended form)."""
    tokens = raw.split()
    if len(tokens) == 1 and ":" not in tokens[0]:
        return tokens[0] if _NAME.fullmatch(tokens[0]) else None
    mappings: list[tuple[str, list[str]]] = []
    for token in tokens:
        if token.endswith(":") and _NAME.fullmatch(token[:-1]):
            mappings.append((token[:-1], []))
        elif mappings and ":" not in token:
            mappings[-1][1].append(token)
        else:
            return None
    if not mappings or not all(listed for _, listed in mappings):
        return None
    for name, listed in mappings:
        if any(coordinate in listed for coordinate in coordinates if coordinate):
            return name
    return mappings[0][0]


# -- time ----------------------------------------------------------------------------------

_UNIT_US = {
    **dict.fromkeys(("days", "day", "d"), 86_400_000_000),
    **dict.fromkeys(("hours", "hour", "hrs", "hr", "h"), 3_600_000_000),
    **dict.fromkeys(("minutes", "minute", "mins", "min"), 60_000_000),
    **dict.fromkeys(("seconds", "second", "secs", "sec", "s"), 1_000_000),
    **dict.fromkeys(("milliseconds", "millisecond", "msecs", "msec", "ms"), 1_000),
    **dict.fromkeys(("microseconds", "microsecond", "usecs", "usec", "us"), 1),
}
_TIME_UNITS = re.compile(
    r"\s*(?P<unit>[A-Za-z]+)\s+since\s+"
    r"(?P<year>[+-]?\d{1,5})-(?P<month>\d{1,2})-(?P<day>\d{1,2})"
    r"(?:(?:T|\s+)(?P<hour>\d{1,2}):(?P<minute>\d{1,2})(?::(?P<second>\d{1,2}(?:\.\d*)?))?)?"
    r"\s*(?P<zone>Z|UTC|GMT|[+-]\d{1,2}(?::?\d{2})?)?\s*",
    re.IGNORECASE)
_CALENDARS = {
    "standard": "standard", "gregorian": "standard", "proleptic_gregorian": "gregorian",
    "julian": "julian", "noleap": "noleap", "365_day": "noleap", "all_leap": "all_leap",
    "366_day": "all_leap", "360_day": "360_day",
}
_GREGORIAN_START = (1582, 10, 15)
_FIRST_GREGORIAN_JDN = 2299161  # the Julian day number of 1582-10-15
_UNIX_JDN = 2440588  # the Julian day number of 1970-01-01
_GREGORIAN_START_US = (_FIRST_GREGORIAN_JDN - _UNIX_JDN) * 86_400_000_000
_YEAR_ZERO_US = (1721060 - _UNIX_JDN) * 86_400_000_000  # 0000-01-01, proleptic Gregorian
# Bounds that keep every microsecond count inside int64: offsets of up to about 36,000
# years from a reference date within about 136,000 years of 1970.
_MAX_OFFSET_US = 2**60
_MAX_DAYS = 50_000_000


def _parse_time_units(units: str) -> tuple[int, tuple[int, int, int], int] | None:
    """(microseconds per unit, reference date, reference time of day in UTC microseconds,
    which may fall outside the day), or None."""
    match = _TIME_UNITS.fullmatch(units) if isinstance(units, str) else None
    if match is None or match["unit"].lower() not in _UNIT_US:
        return None
    month, day = int(match["month"]), int(match["day"])
    if not (1 <= month <= 12 and 1 <= day <= 31):
        return None
    hour, minute = int(match["hour"] or 0), int(match["minute"] or 0)
    second = float(match["second"] or 0)
    if hour > 24 or minute > 59 or second >= 61:
        return None
    reference_us = (hour * 3600 + minute * 60) * 1_000_000 + round(second * 1_000_000)
    zone = (match["zone"] or "").upper()
    if zone[:1] in ("+", "-"):
        hours, _, minutes = zone[1:].partition(":")
        if not minutes and len(hours) > 2:
            hours, minutes = hours[:-2], hours[-2:]
        shift = (int(hours) * 60 + int(minutes or 0)) * 60_000_000
        reference_us -= shift if zone[0] == "+" else -shift
    return _UNIT_US[match["unit"].lower()], (int(match["year"]), month, day), reference_us


def _merge(texts: list[str], finite: np.ndarray) -> list[str]:
    """Decoded texts for the finite values, ``"NaT"`` in the places of the others."""
    result = ["NaT"] * len(finite)
    for index, text in zip(np.flatnonzero(finite), texts, strict=True):
        result[index] = text
    return result


def _iso(date: tuple[int, int, int], in_day_us: int, fraction: bool) -> str:
    year, month, day = date
    seconds, micro = divmod(in_day_us, 1_000_000)
    hours, rest = divmod(seconds, 3600)
    text = (f"{'-' if year < 0 else ''}{abs(year):04d}-{month:02d}-{day:02d}"
            f"T{hours:02d}:{rest // 60:02d}:{rest % 60:02d}")
    return f"{text}.{micro:06d}" if fraction else text


class _GregorianDays:
    """Julian day numbers in the proleptic Gregorian calendar (astronomical years)."""

    @staticmethod
    def to_days(year: int, month: int, day: int) -> int | None:
        if day > _month_length(year, month, gregorian=True):
            return None
        a = (14 - month) // 12
        y, m = year + 4800 - a, month + 12 * a - 3
        return day + (153 * m + 2) // 5 + 365 * y + y // 4 - y // 100 + y // 400 - 32045

    @staticmethod
    def from_days(jdn: int) -> tuple[int, int, int]:
        a = jdn + 32044
        b = (4 * a + 3) // 146097
        c = a - 146097 * b // 4
        d = (4 * c + 3) // 1461
        e = c - 1461 * d // 4
        m = (5 * e + 2) // 153
        return (100 * b + d - 4800 + m // 10, m + 3 - 12 * (m // 10),
                e - (153 * m + 2) // 5 + 1)


class _JulianDays:
    """Julian day numbers in the Julian calendar."""

    @staticmethod
    def to_days(year: int, month: int, day: int) -> int | None:
        if day > _month_length(year, month, gregorian=False):
            return None
        a = (14 - month) // 12
        y, m = year + 4800 - a, month + 12 * a - 3
        return day + (153 * m + 2) // 5 + 365 * y + y // 4 - 32083

    @staticmethod
    def from_days(jdn: int) -> tuple[int, int, int]:
        c = jdn + 32082
        d = (4 * c + 3) // 1461
        e = c - 1461 * d // 4
        m = (5 * e + 2) // 153
        return d - 4800 + m // 10, m + 3 - 12 * (m // 10), e - (153 * m + 2) // 5 + 1


class _StandardDays:
    """CF's standard calendar: Julian up to 1582-10-04, Gregorian from 1582-10-15."""

    @staticmethod
    def to_days(year: int, month: int, day: int) -> int | None:
        if (year, month, day) >= _GREGORIAN_START:
            return _GregorianDays.to_days(year, month, day)
        jdn = _JulianDays.to_days(year, month, day)
        return None if jdn is None or jdn >= _FIRST_GREGORIAN_JDN else jdn

    @staticmethod
    def from_days(jdn: int) -> tuple[int, int, int]:
        if jdn >= _FIRST_GREGORIAN_JDN:
            return _GregorianDays.from_days(jdn)
        return _JulianDays.from_days(jdn)


class _FixedYearDays:
    """Calendars whose years all have the same months: noleap, all_leap, 360_day."""

    def __init__(self, month_lengths: tuple[int, ...]) -> None:
        self.month_lengths = month_lengths
        self.year_length = sum(month_lengths)
        self.month_starts = tuple(int(x) for x in np.cumsum((0, *month_lengths[:-1])))

    def to_days(self, year: int, month: int, day: int) -> int | None:
        if day > self.month_lengths[month - 1]:
            return None
        return year * self.year_length + self.month_starts[month - 1] + day - 1

    def from_days(self, days: int) -> tuple[int, int, int]:
        year, in_year = divmod(days, self.year_length)
        month = 12
        while self.month_starts[month - 1] > in_year:
            month -= 1
        return year, month, in_year - self.month_starts[month - 1] + 1


_COMMON_MONTHS = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
_CALENDAR_DAYS: dict[str, Any] = {
    "gregorian": _GregorianDays, "standard": _StandardDays, "julian": _JulianDays,
    "noleap": _FixedYearDays(_COMMON_MONTHS),
    "all_leap": _FixedYearDays((31, 29, *_COMMON_MONTHS[2:])),
    "360_day": _FixedYearDays((30,) * 12),
}


def _month_length(year: int, month: int, *, gregorian: bool) -> int:
    if month != 2:
        return _COMMON_MONTHS[month - 1]
    leap = year % 4 == 0 and (not gregorian or year % 100 != 0 or year % 400 == 0)
    return 29 if leap else 28
