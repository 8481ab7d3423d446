"""The ``fill_value`` member: JSON to numpy scalar and back, for v2 and v3.

The JSON form depends on the data type and on the format version:

* numbers for integers and floats; ``"NaN"``, ``"Infinity"`` and ``"-Infinity"`` for the
  non-finite floats; ``[real, imag]`` pairs for complex numbers (both versions);
* v2 only: base64 for bytes (``S``/``V``) dtypes, the text itself for ``U`` dtypes, integers
  for datetimes, ``null`` for "no fill value";
* v3 only: hexadecimal bit patterns (``"0x7fc00000"``) for floats, which is the only way to
  write a NaN other than the canonical one, and (as GDAL accepts) binary ones (``"0b..."``).

Reading is liberal where real writers bend the rules (integers written as strings, ``null``
in v3), with a :class:`~geozarr.errors.MetadataWarning`; anything that cannot be represented
exactly in the data type is a :class:`~geozarr.errors.MetadataError` naming the key.
"""

from __future__ import annotations

import base64
import binascii
import re
import warnings
from typing import Any

import numpy as np

from geozarr.errors import MetadataError, MetadataWarning
from geozarr.metadata.dtypes import STRING_DTYPE
from geozarr.metadata.jsondoc import is_json_int, json_type

_FLOAT_WORDS = {"NaN": float("nan"), "Infinity": float("inf"), "-Infinity": float("-inf")}
# Sign 0, most significant mantissa bit 1, all other mantissa bits 0 (v3 "NaN").
_CANONICAL_NAN_BITS = {2: 0x7E00, 4: 0x7FC0_0000, 8: 0x7FF8_0000_0000_0000}
_DECIMAL_INT = re.compile(r"[+-]?[0-9]{1,40}")
_HEX_BITS = re.compile(r"0x([0-9a-fA-F]+)")
_BINARY_BITS = re.compile(r"0b([01]+)")


def parse_v2_fill_value(value: object, dtype: np.dtype, *, key: str) -> np.generic | str | None:
    """The fill value of a v2 array of ``dtype``, from its JSON ``fill_value``.

    Returns
    -------
    numpy scalar, str or None
        ``None`` for ``null`` (no fill value). For the object dtype, the JSON string as it is
        (a ``vlen-utf8`` fill value); other JSON values are ignored with a warning.

    Raises
    ------
    MetadataError
        The value has the wrong JSON type for ``dtype`` or cannot be represented in it.
    """
    if value is None:
        return None
    kind = dtype.kind
    if kind == "b":
        if isinstance(value, bool):
            return np.bool_(value)
        if is_json_int(value) and value in (0, 1):
            _warn(key, f"boolean fill_value written as the number {value}")
            return np.bool_(value)
        raise _invalid(key, value, dtype)
    if kind in "iu":
        return _parse_int(value, dtype, key=key)
    if kind == "f":
        return _parse_float(value, dtype, key=key, bit_patterns=False)
    if kind == "c":
        if is_json_int(value) or isinstance(value, float):
            return dtype.type(value)
        return _parse_complex(value, dtype, key=key, bit_patterns=False)
    if kind in "SV":
        return _parse_base64(value, dtype, key=key)
    if kind == "U":
        if not isinstance(value, str) or len(value) > dtype.itemsize // 4:
            raise _invalid(key, value, dtype)
        return np.str_(value)
    if kind in "mM":
        return _parse_datetime(value, dtype, key=key)
    if kind == "O":
        if isinstance(value, str):
            return value
        _warn(key, f"fill_value {value!r} of an object array ignored")
        return None
    raise MetadataError(f"{key}: no fill_value encoding for dtype {dtype}")


def encode_v2_fill_value(value: np.generic | str | None, dtype: np.dtype) -> object:
    """The JSON ``fill_value`` of a v2 array of ``dtype``, inverse of :func:`parse_v2_fill_value`.

    Every NaN is written ``"NaN"``: v2 has no way to write a NaN payload.
    """
    if value is None:
        return None
    kind = dtype.kind
    if kind in "biufc":
        return _encode_number(value, dtype, bit_patterns=False)
    if kind in "SV":
        return base64.standard_b64encode(
            np.asarray(value, dtype=dtype).tobytes().rstrip(b"\0")
        ).decode("ascii")
    if kind in "mM":
        return int(np.asarray(value, dtype=dtype.newbyteorder("=")).view("i8"))
    return str(value)


def parse_v3_fill_value(value: object, dtype: np.dtype, *, key: str) -> np.generic | str:
    """The fill value of a v3 array of ``dtype``, from its JSON ``fill_value``.

    Accepts every encoding of the v3 core specification: JSON booleans for ``bool``, JSON
    integers in range for the integer types, numbers, ``"NaN"``, ``"Infinity"``,
    ``"-Infinity"`` and hexadecimal bit patterns for floats, ``[real, imag]`` pairs of those
    for complex numbers, and strings for the ``string`` type. Also accepted, with a
    :class:`~geozarr.errors.MetadataWarning`: ``null`` (read as zero, ``False`` or ``""``:
    GDAL writes it), integers written as decimal strings or as integral floats, and binary
    bit patterns (``"0b..."``) for floats.

    Returns
    -------
    numpy scalar or str
        A scalar of ``dtype`` (a ``str`` for the ``string`` type). NaN payloads given as bit
        patterns are kept bit for bit.

    Raises
    ------
    MetadataError
        The value has the wrong JSON type for ``dtype`` or cannot be represented in it.
    """
    if value is None:
        _warn(key, "fill_value is null; zero is used")
        return "" if dtype == STRING_DTYPE else dtype.type(0)
    if dtype == STRING_DTYPE:
        if not isinstance(value, str):
            raise _invalid(key, value, dtype)
        return value
    kind = dtype.kind
    if kind == "b":
        if not isinstance(value, bool):
            raise _invalid(key, value, dtype)
        return np.bool_(value)
    if kind in "iu":
        return _parse_int(value, dtype, key=key)
    if kind == "f":
        return _parse_float(value, dtype, key=key, bit_patterns=True)
    if kind == "c":
        return _parse_complex(value, dtype, key=key, bit_patterns=True)
    raise MetadataError(f"{key}: no v3 fill_value encoding for dtype {dtype}")


def encode_v3_fill_value(value: np.generic | str, dtype: np.dtype) -> object:
    """The JSON ``fill_value`` of a v3 array of ``dtype``, inverse of :func:`parse_v3_fill_value`.

    Non-finite floats become ``"NaN"``, ``"Infinity"`` or ``"-Infinity"``; a NaN other than
    the canonical one becomes its hexadecimal bit pattern, so it survives the round trip.
    """
    if dtype == STRING_DTYPE:
        return str(value)
    if dtype.kind in "biufc":
        return _encode_number(value, dtype, bit_patterns=True)
    raise MetadataError(f"no v3 fill_value encoding for dtype {dtype}")


def _encode_number(value: Any, dtype: np.dtype, *, bit_patterns: bool) -> object:
    """A bool, integer, float or complex fill value as JSON; ``bit_patterns`` writes a
    non-canonical NaN as its hexadecimal bits (v3) rather than ``"NaN"`` (v2)."""
    kind = dtype.kind
    if kind == "b":
        return bool(value)
    if kind in "iu":
        return int(value)
    if kind == "f":
        return _encode_float(value, dtype, bit_patterns=bit_patterns)
    real, imag = _complex_parts(value, dtype)
    return [_encode_float(real, real.dtype, bit_patterns=bit_patterns),
            _encode_float(imag, imag.dtype, bit_patterns=bit_patterns)]


def fill_values_equal(a: object, b: object) -> bool:
    """Whether two fill values are the same, bit for bit (so NaN equals the same NaN).

    Used by the metadata classes' equality: ``NaN != NaN`` would make a parsed document
    differ from itself.
    """
    if isinstance(a, np.generic) and isinstance(b, np.generic):
        return a.dtype == b.dtype and a.tobytes() == b.tobytes()
    return type(a) is type(b) and a == b


def _warn(key: str, message: str) -> None:
    warnings.warn(MetadataWarning(f"{key}: {message}"), stacklevel=3)


def _invalid(key: str, value: object, dtype: np.dtype) -> MetadataError:
    return MetadataError(
        f"{key}: invalid fill_value {value!r} ({json_type(value)}) for dtype {dtype}"
    )


def _parse_int(value: object, dtype: np.dtype, *, key: str) -> np.generic:
    """An integer fill value: a JSON integer, tolerated as a decimal string or integral float."""
    if is_json_int(value):
        number = value
    elif isinstance(value, str) and _DECIMAL_INT.fullmatch(value):
        _warn(key, f"integer fill_value written as the string {value!r}")
        number = int(value)
    elif isinstance(value, float) and value.is_integer():
        _warn(key, f"integer fill_value written as the float {value!r}")
        number = int(value)
    elif isinstance(value, str) and (_HEX_BITS.fullmatch(value) or _BINARY_BITS.fullmatch(value)):
        raise MetadataError(
            f"{key}: bit-pattern fill_value {value!r} is only allowed for float types, not {dtype}"
        )
    else:
        raise _invalid(key, value, dtype)
    info = np.iinfo(dtype)
    if not info.min <= number <= info.max:
        raise MetadataError(f"{key}: fill_value {number} is out of range for dtype {dtype}")
    return dtype.type(number)


def _parse_float(value: object, dtype: np.dtype, *, key: str, bit_patterns: bool) -> np.generic:
    """A float fill value: a number, one of the three words, or (v3) a bit pattern."""
    if is_json_int(value) or isinstance(value, float):
        try:
            with np.errstate(over="ignore"):
                return dtype.type(value)
        except OverflowError as exc:
            raise MetadataError(
                f"{key}: fill_value {value} is out of range for dtype {dtype}"
            ) from exc
    if isinstance(value, str):
        if value in _FLOAT_WORDS:
            return dtype.type(_FLOAT_WORDS[value])
        if bit_patterns:
            hex_match = _HEX_BITS.fullmatch(value)
            binary_match = _BINARY_BITS.fullmatch(value)
            if hex_match or binary_match:
                if binary_match:
                    _warn(key, f"fill_value given as the binary bit pattern {value!r}")
                bits = int(value, 0)
                if bits >> (8 * dtype.itemsize):
                    raise MetadataError(
                        f"{key}: bit-pattern fill_value {value!r} does not fit dtype {dtype}"
                    )
                return np.array(bits, dtype=f"<u{dtype.itemsize}").view(f"<f{dtype.itemsize}")[()]
    raise _invalid(key, value, dtype)


def _parse_complex(value: object, dtype: np.dtype, *, key: str, bit_patterns: bool) -> np.generic:
    """A complex fill value: ``[real, imag]``, each part in any float encoding."""
    if not isinstance(value, list) or len(value) != 2:
        raise _invalid(key, value, dtype)
    component = np.dtype(f"f{dtype.itemsize // 2}")
    parts = np.array(
        [_parse_float(v, component, key=key, bit_patterns=bit_patterns) for v in value],
        dtype=component,
    )
    return parts.view(dtype.newbyteorder("="))[0]


def _complex_parts(value: object, dtype: np.dtype) -> tuple[np.generic, np.generic]:
    """The real and imaginary parts of a complex scalar, bit for bit."""
    parts = (
        np.asarray(value, dtype=dtype.newbyteorder("=")).reshape(1).view(f"f{dtype.itemsize // 2}")
    )
    return parts[0], parts[1]


def _encode_float(value: object, dtype: np.dtype, *, bit_patterns: bool) -> object:
    """The JSON form of one float: a number, a word, or (v3) the bit pattern of an odd NaN."""
    with np.errstate(over="ignore"):
        scalar = np.asarray(value, dtype=dtype.newbyteorder("="))
    if np.isnan(scalar):
        bits = int(scalar.view(f"u{dtype.itemsize}"))
        if not bit_patterns or bits == _CANONICAL_NAN_BITS[dtype.itemsize]:
            return "NaN"
        return f"0x{bits:0{2 * dtype.itemsize}x}"
    if np.isinf(scalar):
        return "Infinity" if scalar > 0 else "-Infinity"
    return float(scalar)


def _parse_base64(value: object, dtype: np.dtype, *, key: str) -> np.generic:
    """A bytes fill value: base64 text of at most ``itemsize`` bytes."""
    if not isinstance(value, str):
        raise _invalid(key, value, dtype)
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise MetadataError(f"{key}: fill_value {value!r} is not valid base64 ({exc})") from exc
    if len(raw) > dtype.itemsize:
        raise MetadataError(
            f"{key}: fill_value decodes to {len(raw)} bytes, more than dtype {dtype} holds"
        )
    return np.array(raw, dtype=dtype)[()]


def _parse_datetime(value: object, dtype: np.dtype, *, key: str) -> np.generic:
    """A datetime or timedelta fill value: its int64 count of units, or ``"NaT"``."""
    if value == "NaT":
        return np.array("NaT", dtype=dtype.newbyteorder("="))[()]
    if not is_json_int(value) or not -(2**63) <= value < 2**63:
        raise _invalid(key, value, dtype)
    return np.array(value, dtype="i8").view(dtype.newbyteorder("="))[()]
