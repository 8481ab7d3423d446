"""Data types and fill values: geozarr/metadata/dtypes.py and geozarr/metadata/fill_values.py."""

from __future__ import annotations

import math

import numpy as np
import pytest

from geozarr.errors import MetadataError, MetadataWarning, UnsupportedDataTypeError
from geozarr.metadata.dtypes import (
    STRING_DTYPE,
    encode_v2_dtype,
    encode_v3_data_type,
    parse_v2_dtype,
    parse_v3_data_type,
)
from geozarr.metadata.fill_values import (
    encode_v2_fill_value,
    encode_v3_fill_value,
    fill_values_equal,
    parse_v2_fill_value,
    parse_v3_fill_value,
)

pytestmark = pytest.mark.filterwarnings("error::geozarr.errors.MetadataWarning")

KEY = "a/.zarray"


def bits(value: np.generic) -> str:
    return value.tobytes().hex()


# --- v2 dtype strings -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("<u2", np.dtype("<u2")),
        (">f8", np.dtype(">f8")),
        ("|b1", np.dtype(bool)),
        ("|u1", np.dtype("u1")),
        ("|i1", np.dtype("i1")),
        ("<i1", np.dtype("i1")),
        ("!b1", np.dtype(bool)),  # GDAL's own tests write '!' (numpy's network order)
        ("!i4", np.dtype(">i4")),
        ("<c8", np.dtype("<c8")),
        (">c16", np.dtype(">c16")),
        ("<f2", np.dtype("<f2")),
        ("<U5", np.dtype("<U5")),
        (">U3", np.dtype(">U3")),
        ("|S4", np.dtype("S4")),
        ("|V3", np.dtype("V3")),
        ("<M8[ns]", np.dtype("<M8[ns]")),
        (">m8[s]", np.dtype(">m8[s]")),
        ("<M8[10s]", np.dtype("<M8[10s]")),
        ("|O", np.dtype("O")),
    ],
)
def test_parse_v2_dtype_valid(spec: str, expected: np.dtype) -> None:
    dtype = parse_v2_dtype(spec, key=KEY)
    assert dtype == expected
    assert dtype.str == expected.str  # byte order kept


@pytest.mark.parametrize(
    "spec",
    [
        None, 1, True, "", "!", "!b", "<u16", "<u0", "<u10000", "<u3", "<f1", "<f16", "|b2", "<c4",
        "<M8", "<M8[xx]", "<M8[0s]", "<f8[ns]", "|u2", "|f4", "|U3", "=u2", "u2", "<S0",
        "<U536870912", "<q8", "|O8", " <u2", "<u2 ", {"name": "uint8"},
    ],
)  # fmt: skip
def test_parse_v2_dtype_invalid(spec: object) -> None:
    with pytest.raises(UnsupportedDataTypeError, match="a/.zarray"):
        parse_v2_dtype(spec, key=KEY)


def test_parse_v2_structured_dtype_refused() -> None:
    with pytest.raises(UnsupportedDataTypeError, match="structured"):
        parse_v2_dtype([["r", "|u1"], ["g", "|u1"]], key=KEY)


@pytest.mark.parametrize(
    "spec",
    [
        "<u2",
        ">u2",
        "|u1",
        "|b1",
        "|i1",
        "<i8",
        ">f4",
        "<f2",
        "<c16",
        "<U5",
        ">U1",
        "|S4",
        "|V2",
        "<M8[ns]",
        "|O",
    ],
)
def test_encode_v2_dtype_round_trip(spec: str) -> None:
    assert encode_v2_dtype(parse_v2_dtype(spec, key=KEY)) == spec


def test_encode_v2_dtype_of_variable_length_strings_is_object() -> None:
    assert encode_v2_dtype(STRING_DTYPE) == "|O"


@pytest.mark.parametrize(
    "dtype", [np.dtype([("a", "u1")]), np.dtype(("u1", (2,))), np.dtype("M8"), np.dtype("S0")]
)
def test_encode_v2_dtype_refuses_what_v2_cannot_describe(dtype: np.dtype) -> None:
    with pytest.raises(UnsupportedDataTypeError):
        encode_v2_dtype(dtype)


# --- v3 data types ----------------------------------------------------------------------------

V3_NAMES = [
    "bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
    "float16", "float32", "float64", "complex64", "complex128",
]  # fmt: skip


@pytest.mark.parametrize("name", V3_NAMES)
def test_parse_v3_core_data_types_are_native(name: str) -> None:
    dtype = parse_v3_data_type(name, key="zarr.json")
    assert dtype == np.dtype(name)
    assert dtype.isnative
    assert encode_v3_data_type(dtype) == name
    assert parse_v3_data_type({"name": name}, key="zarr.json") == dtype
    assert parse_v3_data_type({"name": name, "configuration": {}}, key="zarr.json") == dtype


def test_v3_string_data_type() -> None:
    assert parse_v3_data_type("string", key="zarr.json") == np.dtypes.StringDType()
    assert parse_v3_data_type({"name": "string"}, key="zarr.json") == STRING_DTYPE
    assert encode_v3_data_type(STRING_DTYPE) == "string"


def test_encode_v3_data_type_drops_byte_order() -> None:
    assert encode_v3_data_type(np.dtype(">u2")) == "uint16"
    assert encode_v3_data_type(np.dtype("<c8")) == "complex64"


@pytest.mark.parametrize(
    "spec",
    [
        "uint8_INVALID", "r16", "<u2", "float8", None, 3, ["uint8"], {"name": 3},
        {"configuration": {}}, {"name": "uint8", "configuration": {"endian": "big"}},
        {"name": "uint8", "configuration": None},
        {"name": "numpy.datetime64", "configuration": {"unit": "s"}},
        {"name": "fixed_length_utf32", "configuration": {"length_bytes": 4}},
    ],
)  # fmt: skip
def test_parse_v3_data_type_invalid(spec: object) -> None:
    with pytest.raises(UnsupportedDataTypeError, match="zarr.json"):
        parse_v3_data_type(spec, key="zarr.json")


@pytest.mark.parametrize(
    "dtype", [np.dtype("U3"), np.dtype("S3"), np.dtype("M8[s]"), np.dtype("O"), np.dtype("V2")]
)
def test_encode_v3_data_type_refuses_extension_types(dtype: np.dtype) -> None:
    with pytest.raises(UnsupportedDataTypeError):
        encode_v3_data_type(dtype)


# --- v2 fill values ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("dtype", "value", "expected"),
    [
        ("|b1", True, np.True_),
        ("|b1", False, np.False_),
        ("|i1", -1, np.int8(-1)),
        ("<i8", -(1 << 63), np.int64(-(1 << 63))),
        ("<u4", 4000000000, np.uint32(4000000000)),
        ("<u8", (1 << 64) - 1, np.uint64((1 << 64) - 1)),
        ("<f4", 1.5, np.float32(1.5)),
        ("<f4", 2, np.float32(2)),
        (">f8", "Infinity", np.float64("inf")),
        ("<f8", "-Infinity", np.float64("-inf")),
        ("<f2", 1.5, np.float16(1.5)),
        ("<c8", [1.0, 2.0], np.complex64(1 + 2j)),
        ("<c16", ["Infinity", -1], np.complex128(complex(math.inf, -1))),
        ("<c16", 3.5, np.complex128(3.5)),
        ("|S3", "eHl6", np.bytes_(b"xyz")),
        ("|S4", "YWI=", np.bytes_(b"ab")),
        ("|S4", "", np.bytes_(b"")),
        ("|V2", "AQI=", np.void(b"\x01\x02")),
        ("<U5", "hé", np.str_("hé")),
        ("<M8[ns]", 0, np.datetime64(0, "ns")),
        ("<m8[s]", "NaT", np.timedelta64("NaT", "s")),
        ("|O", "x", "x"),
    ],
)
def test_parse_v2_fill_value(dtype: str, value: object, expected: object) -> None:
    parsed = parse_v2_fill_value(value, np.dtype(dtype), key=KEY)
    assert type(parsed) is type(expected)
    assert parsed == expected or (
        isinstance(parsed, np.datetime64 | np.timedelta64) and np.isnat(parsed)
    )


def test_parse_v2_fill_value_null_and_nan() -> None:
    assert parse_v2_fill_value(None, np.dtype("<f4"), key=KEY) is None
    nan = parse_v2_fill_value("NaN", np.dtype("<f4"), key=KEY)
    assert isinstance(nan, np.float32) and np.isnan(nan)
    c = parse_v2_fill_value(["NaN", 1.0], np.dtype("<c16"), key=KEY)
    assert np.isnan(c.real) and c.imag == 1.0


@pytest.mark.parametrize(
    ("dtype", "value", "expected"),
    [
        ("|u1", "1", np.uint8(1)),  # GDAL: "not really legit to have the fill_value as a str"
        ("<i8", str(-(1 << 63)), np.int64(-(1 << 63))),
        ("<u8", str((1 << 64) - 1), np.uint64((1 << 64) - 1)),
        ("<i4", 3.0, np.int32(3)),
        ("|b1", 1, np.True_),
    ],
)
def test_parse_v2_fill_value_tolerated_with_warning(
    dtype: str, value: object, expected: np.generic
) -> None:
    with pytest.warns(MetadataWarning, match="a/.zarray"):
        parsed = parse_v2_fill_value(value, np.dtype(dtype), key=KEY)
    assert parsed == expected and type(parsed) is type(expected)


def test_parse_v2_fill_value_object_number_is_ignored_with_warning() -> None:
    with pytest.warns(MetadataWarning, match="object"):
        assert parse_v2_fill_value(0, np.dtype("O"), key=KEY) is None


@pytest.mark.parametrize(
    ("dtype", "value"),
    [
        ("|b1", []), ("|b1", "x"), ("|b1", "NaN"), ("|b1", 2), ("|b1", 0.5),
        ("|S1", 0), ("|S1", "not base64!"), ("|S1", "YWI="), ("|V1", "AQI="),
        ("|u1", 256), ("|u1", -1), ("|u1", "NaN"), ("|u1", 1.5), ("|u1", "0x01"), ("|u1", True),
        ("<i8", 1 << 63), ("<i4", "1e3"), ("<f4", "x"), ("<f4", "nan"), ("<f4", "0x7fc00000"),
        ("<f4", True), ("<f4", [1.0]),
        ("<c8", [1.0]), ("<c8", [1.0, 2.0, 3.0]), ("<c8", "NaN"), ("<c8", [1.0, "x"]),
        ("<U2", "abc"), ("<U2", 3), ("<M8[s]", 1.5), ("<M8[s]", "2020-01-01"), ("<f8", 10**400),
    ],
)  # fmt: skip
def test_parse_v2_fill_value_invalid(dtype: str, value: object) -> None:
    with pytest.raises(MetadataError, match="a/.zarray"):
        parse_v2_fill_value(value, np.dtype(dtype), key=KEY)


V2_FILL_MATRIX = [
    ("|b1", [None, True, False]),
    ("|i1", [None, -128, 0, 127]),
    (">i2", [-32768, 32767]),
    ("<u8", [0, (1 << 64) - 1]),
    ("<i8", [-(1 << 63), (1 << 63) - 1]),
    ("<f2", [0.0, -0.0, 1.5, 65504.0, "NaN", "Infinity", "-Infinity"]),
    (
        ">f4",
        [0.10000000149011612, 3.4028234663852886e38, 1.401298464324817e-45, "NaN", "-Infinity"],
    ),
    ("<f8", [0.1, -5e-324, 1.7976931348623157e308, "NaN", "Infinity"]),
    ("<c8", [[1.0, 2.0], ["NaN", "Infinity"], [-0.0, 0.10000000149011612]]),
    (">c16", [[1.0, -2.0], ["-Infinity", "NaN"]]),
    ("|S4", ["", "YWI=", "YWJjZA=="]),
    ("|V2", ["AQI="]),
    ("<U5", ["", "hé", "abcde"]),
    (">U2", ["zz"]),
    ("<M8[ns]", [0, -(1 << 63), 1600000000000000000]),
    ("<m8[D]", [-3]),
    ("|O", [None, "x"]),
]


@pytest.mark.parametrize(
    ("dtype", "value"), [(d, v) for d, values in V2_FILL_MATRIX for v in values]
)
def test_v2_fill_value_round_trip(dtype: str, value: object) -> None:
    parsed = parse_v2_fill_value(value, np.dtype(dtype), key=KEY)
    encoded = encode_v2_fill_value(parsed, np.dtype(dtype))
    assert encoded == value
    assert fill_values_equal(parse_v2_fill_value(encoded, np.dtype(dtype), key=KEY), parsed)


def test_encode_v2_fill_value_float_is_exact() -> None:
    # the float64 value of the float32 nearest 0.1, as zarr-python writes it
    assert encode_v2_fill_value(np.float32(0.1), np.dtype("<f4")) == 0.10000000149011612
    assert parse_v2_fill_value(0.1, np.dtype("<f4"), key=KEY) == np.float32(0.1)


def test_encode_v2_fill_value_drops_nan_payload() -> None:
    payload_nan = np.array(0x7FC00001, dtype="<u4").view("<f4")[()]
    assert encode_v2_fill_value(payload_nan, np.dtype("<f4")) == "NaN"


# --- v3 fill values ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("dtype", "value", "expected"),
    [
        ("bool", True, np.True_),
        ("int8", -128, np.int8(-128)),
        ("uint64", (1 << 64) - 1, np.uint64((1 << 64) - 1)),
        ("int64", -(1 << 63), np.int64(-(1 << 63))),
        ("float32", 1.5, np.float32(1.5)),
        ("float32", 1, np.float32(1)),
        ("float32", "0x3fc00000", np.float32(1.5)),  # GDAL's test_zarr_read_fill_value_v3
        ("float64", "0x3ff8000000000000", np.float64(1.5)),
        ("float16", "0x3e00", np.float16(1.5)),
        ("float32", "Infinity", np.float32("inf")),
        ("float64", "-Infinity", np.float64("-inf")),
        ("float32", "0x7f800000", np.float32("inf")),
        ("float32", "0x0", np.float32(0)),
        ("complex64", [1, 2], np.complex64(1 + 2j)),
        ("complex128", ["Infinity", "0x3ff8000000000000"], np.complex128(complex(math.inf, 1.5))),
        ("complex64", ["-Infinity", "0x3fc00000"], np.complex64(complex(-math.inf, 1.5))),
    ],
)
def test_parse_v3_fill_value(dtype: str, value: object, expected: np.generic) -> None:
    parsed = parse_v3_fill_value(value, np.dtype(dtype), key="zarr.json")
    assert type(parsed) is type(expected)
    assert bits(parsed) == bits(expected)


@pytest.mark.parametrize(
    ("dtype", "canonical"),
    [("float16", 0x7E00), ("float32", 0x7FC00000), ("float64", 0x7FF8000000000000)],
)
def test_parse_v3_nan_is_canonical(dtype: str, canonical: int) -> None:
    nan = parse_v3_fill_value("NaN", np.dtype(dtype), key="zarr.json")
    assert int(np.asarray(nan).view(f"u{nan.itemsize}")) == canonical
    assert encode_v3_fill_value(nan, np.dtype(dtype)) == "NaN"


@pytest.mark.parametrize(
    ("dtype", "pattern"),
    [
        ("float32", "0x7fc00001"),
        ("float32", "0xffc00000"),
        ("float64", "0x7ff0000000000001"),
        ("float16", "0x7c01"),
    ],
)
def test_v3_nan_payload_survives_round_trip(dtype: str, pattern: str) -> None:
    parsed = parse_v3_fill_value(pattern, np.dtype(dtype), key="zarr.json")
    assert np.isnan(parsed)
    assert encode_v3_fill_value(parsed, np.dtype(dtype)) == pattern


def test_v3_complex_nan_payload_survives_round_trip() -> None:
    value = ["0x7fc00001", "NaN"]
    parsed = parse_v3_fill_value(value, np.dtype("complex64"), key="zarr.json")
    assert encode_v3_fill_value(parsed, np.dtype("complex64")) == value


@pytest.mark.parametrize(
    ("dtype", "value", "expected"),
    [
        ("float32", bin(0x3FC00000), np.float32(1.5)),  # GDAL accepts binary bit patterns
        ("float64", bin(0x3FF8000000000000), np.float64(1.5)),
        ("uint8", "0", np.uint8(0)),  # GDAL tolerates integers as strings
        ("int16", 4.0, np.int16(4)),
    ],
)
def test_parse_v3_fill_value_tolerated_with_warning(
    dtype: str, value: object, expected: np.generic
) -> None:
    with pytest.warns(MetadataWarning, match="zarr.json"):
        parsed = parse_v3_fill_value(value, np.dtype(dtype), key="zarr.json")
    assert bits(parsed) == bits(expected)


@pytest.mark.parametrize(
    ("dtype", "expected"),
    [
        ("bool", np.False_),
        ("uint8", np.uint8(0)),
        ("float32", np.float32(0)),
        ("complex64", np.complex64(0)),
    ],
)
def test_parse_v3_null_fill_value_is_zero_with_warning(dtype: str, expected: np.generic) -> None:
    with pytest.warns(MetadataWarning, match="null"):
        parsed = parse_v3_fill_value(None, np.dtype(dtype), key="zarr.json")
    assert bits(parsed) == bits(expected) and type(parsed) is type(expected)


def test_v3_string_fill_value() -> None:
    assert parse_v3_fill_value("", STRING_DTYPE, key="zarr.json") == ""
    assert parse_v3_fill_value("hé", STRING_DTYPE, key="zarr.json") == "hé"
    assert encode_v3_fill_value("hé", STRING_DTYPE) == "hé"
    with pytest.warns(MetadataWarning):
        assert parse_v3_fill_value(None, STRING_DTYPE, key="zarr.json") == ""
    with pytest.raises(MetadataError):
        parse_v3_fill_value(0, STRING_DTYPE, key="zarr.json")


@pytest.mark.parametrize(
    ("dtype", "value", "match"),
    [
        ("uint8", "invalid", "invalid fill_value"),
        ("uint8", "NaN", "invalid fill_value"),
        (
            "uint8",
            "0x00",
            "only allowed for float",
        ),  # GDAL: hexadecimal not supported for this type
        ("uint8", "0b00", "only allowed for float"),
        ("uint8", 256, "out of range"),
        ("int8", -129, "out of range"),
        ("uint64", 1 << 64, "out of range"),
        ("int64", 1 << 63, "out of range"),
        ("uint8", True, "invalid fill_value"),
        ("uint8", 1.5, "invalid fill_value"),
        ("uint8", [0], "invalid fill_value"),
        ("bool", 0, "invalid fill_value"),
        ("bool", "true", "invalid fill_value"),
        ("float32", "nan", "invalid fill_value"),
        ("float32", "0x7fc000000", "does not fit"),
        ("float16", "0x10000", "does not fit"),
        ("float32", "0x", "invalid fill_value"),
        ("float32", "0xzz", "invalid fill_value"),
        ("float32", "0b2", "invalid fill_value"),
        ("float32", [1.0, 2.0], "invalid fill_value"),
        ("float32", False, "invalid fill_value"),
        ("complex64", 1.0, "invalid fill_value"),
        ("complex64", [1.0], "invalid fill_value"),
        ("complex64", ["NaN", "x"], "invalid fill_value"),
        ("complex64", ["0x7ff8000000000000", 0], "does not fit"),
    ],
)
def test_parse_v3_fill_value_invalid(dtype: str, value: object, match: str) -> None:
    with pytest.raises(MetadataError, match=match):
        parse_v3_fill_value(value, np.dtype(dtype), key="zarr.json")


V3_FILL_MATRIX = [
    ("bool", [True, False]),
    ("int8", [-128, 0, 127]),
    ("int16", [-32768, 32767]),
    ("int32", [-(1 << 31), (1 << 31) - 1]),
    ("int64", [-(1 << 63), (1 << 63) - 1]),
    ("uint8", [0, 255]),
    ("uint16", [65535]),
    ("uint32", [(1 << 32) - 1]),
    ("uint64", [0, (1 << 64) - 1]),
    ("float16", [0.0, -0.0, 1.5, 65504.0, "NaN", "Infinity", "-Infinity", "0x7e01"]),
    (
        "float32",
        [
            0.10000000149011612,
            -2.5,
            3.4028234663852886e38,
            1.401298464324817e-45,
            "NaN",
            "0xffc00000",
        ],
    ),
    ("float64", [0.1, -5e-324, 1.7976931348623157e308, "NaN", "-Infinity", "0x7ff8000000000001"]),
    ("complex64", [[1.0, 2.0], ["NaN", "Infinity"], [-0.0, "0x7fc00001"]]),
    ("complex128", [[1.0, -2.0], ["-Infinity", "NaN"]]),
]


@pytest.mark.parametrize(
    ("dtype", "value"), [(d, v) for d, values in V3_FILL_MATRIX for v in values]
)
def test_v3_fill_value_round_trip(dtype: str, value: object) -> None:
    parsed = parse_v3_fill_value(value, np.dtype(dtype), key="zarr.json")
    encoded = encode_v3_fill_value(parsed, np.dtype(dtype))
    assert encoded == value
    assert fill_values_equal(parse_v3_fill_value(encoded, np.dtype(dtype), key="zarr.json"), parsed)


def test_fill_values_equal_is_bitwise() -> None:
    assert fill_values_equal(np.float32("nan"), np.float32("nan"))
    assert not fill_values_equal(np.float32(0.0), np.float32(-0.0))
    assert not fill_values_equal(np.float32(1), np.float64(1))
    assert fill_values_equal(None, None) and not fill_values_equal(None, np.uint8(0))
    assert fill_values_equal("a", "a") and not fill_values_equal("a", "b")
