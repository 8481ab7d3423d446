"""Zarr data types: the v2 ``dtype`` strings and the v3 ``data_type`` names, as numpy dtypes.

v2 stores a numpy type string (``"<u2"``, ``"|b1"``, ``"<U5"``, ``"<M8[ns]"``) that carries
the byte order of the stored elements. v3 stores a name (``"uint16"``) and leaves the byte
order to the ``bytes`` codec, so v3 names map to native-endian dtypes. Both directions are
strict: a string that is not exactly one of the forms below is refused with an
:class:`~geozarr.errors.UnsupportedDataTypeError` naming the metadata key, before numpy gets
to guess what it might mean.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import numpy as np

from geozarr.errors import UnsupportedDataTypeError
from geozarr.metadata.jsondoc import MAX_CHUNK_BYTES, json_type

#: The variable-length UTF-8 string dtype used for the v3 ``string`` data type.
STRING_DTYPE = np.dtypes.StringDType()

# byte order, kind, size, optional [unit] for datetimes.
_V2_DTYPE = re.compile(r"([<>|!])([biufcSUVmM])([0-9]{1,10})(?:\[([0-9]{0,10})([a-zA-Z]{1,2})\])?")
_FIXED_SIZES = {
    "b": (1,),
    "i": (1, 2, 4, 8),
    "u": (1, 2, 4, 8),
    "f": (2, 4, 8),
    "c": (8, 16),
    "m": (8,),
    "M": (8,),
}
_TIME_UNITS = frozenset({"Y", "M", "W", "D", "h", "m", "s", "ms", "us", "ns", "ps", "fs", "as"})

_V3_NAMES: dict[str, np.dtype] = {
    name: np.dtype(name)
    for name in (
        "bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
        "float16", "float32", "float64", "complex64", "complex128",
    )
}  # fmt: skip
_V3_BY_KIND_SIZE = {(dtype.kind, dtype.itemsize): name for name, dtype in _V3_NAMES.items()}


def as_dtype(value: object, *, key: str) -> np.dtype:
    """``numpy.dtype(value)``, or an :class:`UnsupportedDataTypeError` naming ``key``."""
    try:
        return np.dtype(value)  # type: ignore[call-overload]
    except (TypeError, ValueError) as exc:
        raise UnsupportedDataTypeError(f"{key}: {value!r} is not a data type") from exc


def parse_v2_dtype(spec: object, *, key: str) -> np.dtype:
    """The numpy dtype of a v2 ``dtype`` member.

    Accepted: ``"<byteorder><kind><size>"`` with byte order ``<`` (little), ``>`` or ``!``
    (big) or ``|`` (not applicable), kinds ``b i u f c`` of their numpy sizes, ``S``/``V`` of
    any size >= 1 (bytes), ``U`` of any size >= 1 (characters), ``M``/``m`` of size 8 with a
    ``[unit]`` suffix, and ``"|O"`` (objects; whether they are safe to decode is the codec
    layer's decision). ``|`` is refused for multi-byte numbers and ``U``, whose byte order must
    be stated.

    Raises
    ------
    UnsupportedDataTypeError
        For anything else, including structured (list) dtypes, naming ``key``.
    """
    if isinstance(spec, list):
        raise UnsupportedDataTypeError(
            f"{key}: structured dtypes are not supported (dtype {spec!r})"
        )
    if not isinstance(spec, str):
        raise UnsupportedDataTypeError(f"{key}: dtype must be a string, not {json_type(spec)}")
    if spec == "|O":
        return np.dtype("O")
    match = _V2_DTYPE.fullmatch(spec)
    if match is None:
        raise UnsupportedDataTypeError(f"{key}: invalid or unsupported dtype {spec!r}")
    order, kind, size_text, multiplier, unit = match.groups()
    size = int(size_text)
    if kind in _FIXED_SIZES:
        if size not in _FIXED_SIZES[kind]:
            raise UnsupportedDataTypeError(
                f"{key}: dtype {spec!r}: kind {kind!r} has no {size}-byte type"
            )
    elif not 1 <= size * (4 if kind == "U" else 1) < MAX_CHUNK_BYTES:
        raise UnsupportedDataTypeError(f"{key}: dtype {spec!r}: size {size} is out of range")
    if (kind in "mM") != (unit is not None):
        raise UnsupportedDataTypeError(
            f"{key}: dtype {spec!r}: datetimes and timedeltas, and only they, need a [unit] suffix"
        )
    if unit is not None and (unit not in _TIME_UNITS or multiplier[:1] == "0"):
        raise UnsupportedDataTypeError(
            f"{key}: dtype {spec!r}: invalid time unit [{multiplier}{unit}]"
        )
    itemsize = size * 4 if kind == "U" else size
    if order == "|" and itemsize > 1 and kind not in "SV":
        raise UnsupportedDataTypeError(
            f"{key}: dtype {spec!r} must state its byte order ('<' or '>')"
        )
    numpy_order = "<" if order == "<" else ">" if order in ">!" else "|"
    suffix = f"[{multiplier}{unit}]" if unit is not None else ""
    return np.dtype(f"{numpy_order}{kind}{size}{suffix}")


def encode_v2_dtype(dtype: np.dtype) -> str:
    """The v2 ``dtype`` string of a dtype (``"<u2"``, ``"|u1"``, ``"<U5"``, ``"|S4"``...).

    The variable-length string dtype is stored as ``"|O"`` (v2 keeps variable-length strings
    in object arrays, with a ``vlen-utf8`` filter).

    Raises
    ------
    UnsupportedDataTypeError
        For structured, subarray and other dtypes v2 metadata cannot describe.
    """
    dtype = np.dtype(dtype)
    if dtype == STRING_DTYPE or dtype.kind == "O":
        return "|O"
    message = f"dtype {dtype} cannot be stored in Zarr v2 metadata"
    if dtype.fields is not None or dtype.subdtype is not None:
        raise UnsupportedDataTypeError(message)
    try:
        parse_v2_dtype(dtype.str, key="dtype")  # what is written must read back
    except UnsupportedDataTypeError as exc:
        raise UnsupportedDataTypeError(message) from exc
    return dtype.str


def parse_v3_data_type(spec: object, *, key: str) -> np.dtype:
    """The numpy dtype of a v3 ``data_type`` member.

    The core names (``bool``, ``int8`` ... ``uint64``, ``float16``/``32``/``64``,
    ``complex64``/``128``) map to native-endian dtypes and ``"string"`` to
    ``numpy.dtypes.StringDType()``. The object form ``{"name": ..., "configuration": {}}`` is
    accepted for the same names, with an absent or empty configuration.

    Raises
    ------
    UnsupportedDataTypeError
        For unknown names, extension data types and malformed objects, naming ``key``.
    """
    name = spec
    if isinstance(spec, Mapping):
        name = spec.get("name")
        if not isinstance(name, str):
            raise UnsupportedDataTypeError(
                f"{key}: data_type object needs a string 'name', got {spec!r}"
            )
        configuration = spec.get("configuration", {})
        if configuration != {} and name in (*_V3_NAMES, "string"):
            raise UnsupportedDataTypeError(
                f"{key}: data_type {name!r} takes no configuration, got {configuration!r}"
            )
    if not isinstance(name, str):
        raise UnsupportedDataTypeError(
            f"{key}: data_type must be a string or an object, not {json_type(spec)}"
        )
    if name == "string":
        return STRING_DTYPE
    dtype = _V3_NAMES.get(name)
    if dtype is None:
        raise UnsupportedDataTypeError(f"{key}: unsupported data_type {name!r}")
    return dtype


def encode_v3_data_type(dtype: np.dtype) -> str:
    """The v3 ``data_type`` name of a dtype; the byte order is dropped.

    Raises
    ------
    UnsupportedDataTypeError
        For dtypes without a supported v3 name (fixed-length strings, datetimes...).
    """
    dtype = np.dtype(dtype)
    if dtype == STRING_DTYPE:
        return "string"
    name = _V3_BY_KIND_SIZE.get((dtype.kind, dtype.itemsize)) if dtype.fields is None else None
    if name is None:
        raise UnsupportedDataTypeError(f"dtype {dtype} has no supported Zarr v3 data_type")
    return name
