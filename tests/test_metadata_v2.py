"""Zarr v2 metadata (geozarr/metadata/v2.py) and the shared JSON layer (metadata/jsondoc.py)."""

from __future__ import annotations

import json
import warnings

import numcodecs
import numpy as np
import pytest
import zarr
import zarr.storage
from zarr.core.buffer import default_buffer_prototype

from geozarr.errors import ArrayIndexError, MetadataError, MetadataWarning, UnsupportedDataTypeError
from geozarr.metadata import MAX_CHUNK_BYTES, dump_json_document, parse_json_document
from geozarr.metadata.jsondoc import check_chunk_grid
from geozarr.metadata.v2 import ArrayMetadataV2, GroupMetadataV2, parse_attributes

pytestmark = pytest.mark.filterwarnings("error::geozarr.errors.MetadataWarning")

KEY = "test.zarr/.zarray"

# The base document of GDAL's test_zarr_invalid_json_remove_member / _wrong_values.
GDAL_BASE = {
    "chunks": [2, 3],
    "compressor": None,
    "dtype": "!b1",
    "fill_value": None,
    "filters": None,
    "order": "C",
    "shape": [5, 4],
    "zarr_format": 2,
}


def doc_bytes(doc: object) -> bytes:
    return json.dumps(doc).encode()


# --- JSON documents -----------------------------------------------------------------------------


def test_parse_json_document() -> None:
    assert parse_json_document(b'{"a": [1, 2.5, null, "\\u00e9"]}', key="k") == {
        "a": [1, 2.5, None, "é"]
    }
    assert parse_json_document(b'\xef\xbb\xbf{"bom": true}', key="k") == {"bom": True}
    attrs = parse_json_document(b'{"_FillValue": NaN, "x": -Infinity}', key="k")
    assert np.isnan(attrs["_FillValue"]) and attrs["x"] == float("-inf")


@pytest.mark.parametrize(
    ("raw", "match"),
    [
        (b"\xff\xfe{}", "UTF-8"),
        (b"{", "not valid JSON"),
        (b"", "not valid JSON"),
        (b"[1, 2]", "JSON object, not an array"),
        (b"null", "JSON object, not null"),
        (b'"x"', "JSON object, not a string"),
        (b"[" * 100000 + b"]" * 100000, "nested too deeply"),
        (b'{"a": ' + b"1" * 5000 + b"}", "not valid JSON"),
    ],
)
def test_parse_json_document_invalid(raw: bytes, match: str) -> None:
    with pytest.raises(MetadataError, match=match) as info:
        parse_json_document(raw, key="grp/.zattrs")
    assert "grp/.zattrs" in str(info.value)


def test_dump_json_document() -> None:
    raw = dump_json_document(
        {"a": np.int64(3), "b": np.float32(1.5), "c": np.arange(2), "é": "ü", "t": np.True_}
    )
    assert json.loads(raw) == {"a": 3, "b": 1.5, "c": [0, 1], "é": "ü", "t": True}
    assert "ü".encode() in raw and b'\n  "a": 3' in raw


@pytest.mark.parametrize(
    "value", [float("nan"), float("inf"), np.float64("nan"), object(), b"bytes"]
)
def test_dump_json_document_refuses_what_json_cannot_hold(value: object) -> None:
    with pytest.raises(MetadataError, match="cannot encode"):
        dump_json_document({"x": value})


# --- the grid limits ----------------------------------------------------------------------------


def test_chunk_grid_limits() -> None:
    check_chunk_grid((1 << 40,), (MAX_CHUNK_BYTES,), 1, key="k")  # exactly at the byte limit
    with pytest.raises(MetadataError, match="more than the limit"):
        check_chunk_grid((1 << 40,), (MAX_CHUNK_BYTES // 2 + 1,), 2, key="k")
    check_chunk_grid(((1 << 63) - 1,), (1,), 1, key="k")  # 2**63 - 1 chunks
    with pytest.raises(MetadataError, match="chunks, more than"):
        check_chunk_grid(((1 << 62), 3), (1, 1), 1, key="k")
    with pytest.raises(MetadataError, match="outside"):
        check_chunk_grid((1 << 63,), (1 << 40,), 1, key="k")
    check_chunk_grid((0, 5), (1, 1), 8, key="k")  # empty arrays are fine


# --- GDAL's bad .zarray documents ---------------------------------------------------------------


@pytest.mark.parametrize(
    "member", ["zarr_format", "chunks", "compressor", "dtype", "order", "shape"]
)
def test_gdal_missing_member_is_an_error(member: str) -> None:
    doc = dict(GDAL_BASE)
    del doc[member]
    with pytest.raises(MetadataError, match=f"{KEY}: required member '{member}' is missing"):
        ArrayMetadataV2.from_json(doc, key=KEY)


def test_gdal_base_document_is_valid() -> None:
    meta = ArrayMetadataV2.parse(doc_bytes(GDAL_BASE), key=KEY)
    assert meta.shape == (5, 4) and meta.chunks == (2, 3) and meta.dtype == np.dtype(bool)
    assert meta.fill_value is None and meta.compressor is None and meta.filters == ()


def test_gdal_missing_fill_value_warns_and_is_null() -> None:
    doc = dict(GDAL_BASE, fill_value=7)
    del doc["fill_value"]
    with pytest.warns(MetadataWarning, match=f"{KEY}: required member 'fill_value' is missing"):
        meta = ArrayMetadataV2.from_json(doc, key=KEY)
    assert meta.fill_value is None


def test_gdal_missing_filters_warns_and_is_empty() -> None:
    # GDAL refuses this one; geozarr reads it liberally.
    doc = dict(GDAL_BASE)
    del doc["filters"]
    with pytest.warns(MetadataWarning, match="'filters' is missing"):
        meta = ArrayMetadataV2.from_json(doc, key=KEY)
    assert meta.filters == ()


GDAL_WRONG_VALUES = [
    ({"chunks": None}, "chunks must be an array"),
    ({"chunks": "invalid"}, "chunks must be an array"),
    ({"chunks": [2]}, "shape has 2 dimensions but the chunk shape has 1"),
    ({"chunks": [2, 0]}, r"chunk shape\[1\] = 0 is outside"),
    ({"shape": None}, "shape must be an array"),
    ({"shape": "invalid"}, "shape must be an array"),
    ({"shape": [5]}, "shape has 1 dimensions"),
    ({"chunks": [1 << 40, 1 << 40], "shape": [1 << 40, 1 << 40]}, "more than the limit"),
    ({"shape": [1 << 30, 1 << 30, 1 << 30], "chunks": [1, 1, 1]}, "chunks, more than 2"),
    ({"dtype": None}, "dtype must be a string"),
    ({"dtype": 1}, "dtype must be a string"),
    ({"dtype": ""}, "invalid or unsupported dtype"),
    ({"dtype": "!"}, "invalid or unsupported dtype"),
    ({"dtype": "!b"}, "invalid or unsupported dtype"),
    ({"dtype": "<u16"}, "no 16-byte type"),
    ({"dtype": "<u0"}, "no 0-byte type"),
    ({"dtype": "<u10000"}, "no 10000-byte type"),
    ({"fill_value": []}, "invalid fill_value"),
    ({"fill_value": "x"}, "invalid fill_value"),
    ({"fill_value": "NaN"}, "invalid fill_value"),
    ({"dtype": "!S1", "fill_value": 0}, "invalid fill_value"),
    ({"order": None}, "order must be 'C' or 'F'"),
    ({"order": "invalid"}, "order must be 'C' or 'F'"),
    ({"compressor": "invalid"}, "compressor must be an object"),
    ({"compressor": {}}, "compressor must have a string 'id'"),
    ({"filters": "invalid"}, "filters must be null or an array"),
    ({"filters": {}}, "filters must be null or an array"),
    ({"filters": [{"missing_id": True}]}, r"filters\[0\] must have a string 'id'"),
    ({"zarr_format": None}, "zarr_format must be 2"),
    ({"zarr_format": 1}, "zarr_format must be 2"),
]


@pytest.mark.parametrize(("update", "match"), GDAL_WRONG_VALUES)
def test_gdal_wrong_value_is_an_error(update: dict, match: str) -> None:
    with pytest.raises(MetadataError, match=match) as info:
        ArrayMetadataV2.parse(doc_bytes({**GDAL_BASE, **update}), key=KEY)
    assert str(info.value).startswith(KEY)


def test_gdal_wrong_values_accepted_on_purpose() -> None:
    """The two GDAL 'wrong value' cases that are valid Zarr and therefore parse here.

    * ``"shape": [5, 0]``: a zero-length dimension is valid Zarr (zarr-python writes them).
    * ``"compressor": {"id": "invalid"}``: well-formed metadata; an unknown codec id is refused
      by the codec layer when the array is opened, not by the metadata layer.
    """
    empty = ArrayMetadataV2.from_json({**GDAL_BASE, "shape": [5, 0]}, key=KEY)
    assert empty.shape == (5, 0) and empty.chunk_grid_shape == (3, 0)
    unknown = ArrayMetadataV2.from_json({**GDAL_BASE, "compressor": {"id": "invalid"}}, key=KEY)
    assert unknown.compressor == {"id": "invalid"}


def test_dtype_errors_are_unsupported_data_type_errors() -> None:
    with pytest.raises(UnsupportedDataTypeError, match=KEY):
        ArrayMetadataV2.from_json({**GDAL_BASE, "dtype": [["r", "|u1"]]}, key=KEY)


@pytest.mark.parametrize(
    ("update", "match"),
    [
        ({"shape": [5, True]}, r"shape\[1\] must be an integer"),
        ({"shape": [5, 4.0]}, r"shape\[1\] must be an integer"),
        ({"shape": [-1, 4]}, r"shape\[0\] = -1 is outside"),
        ({"chunks": [2, "3"]}, r"chunks\[1\] must be an integer"),
        ({"dimension_separator": "-"}, "dimension_separator must be"),
        ({"zarr_format": "2"}, "zarr_format must be 2"),
        ({"zarr_format": 2.0}, "zarr_format must be 2"),
        ({"compressor": {"id": 3}}, "string 'id'"),
        ({"dtype": "<i2", "fill_value": 1 << 15}, "out of range"),
    ],
)
def test_more_wrong_values(update: dict, match: str) -> None:
    with pytest.raises(MetadataError, match=match):
        ArrayMetadataV2.from_json({**GDAL_BASE, **update}, key=KEY)


def test_not_an_object() -> None:
    with pytest.raises(MetadataError, match="must be a JSON object"):
        ArrayMetadataV2.from_json([1], key=KEY)
    with pytest.raises(MetadataError, match="not valid JSON"):
        ArrayMetadataV2.parse(b"{nope", key=KEY)


def test_unknown_members_are_ignored_and_separator_defaults() -> None:
    meta = ArrayMetadataV2.from_json(
        {**GDAL_BASE, "extra": {"x": 1}, "dimension_separator": None}, key=KEY
    )
    assert meta.dimension_separator == "."
    assert "extra" not in meta.to_json()


# --- values and behaviour -----------------------------------------------------------------------


def test_chunk_keys() -> None:
    meta = ArrayMetadataV2.from_json(GDAL_BASE, key=KEY)
    assert meta.chunk_key((0, 1)) == "0.1"
    assert meta.chunk_grid_shape == (3, 2)
    nested = ArrayMetadataV2.from_json({**GDAL_BASE, "dimension_separator": "/"}, key=KEY)
    assert nested.chunk_key((12, 0)) == "12/0"
    scalar = ArrayMetadataV2.from_json({**GDAL_BASE, "shape": [], "chunks": []}, key=KEY)
    assert scalar.chunk_key(()) == "0" and scalar.chunk_grid_shape == ()
    with pytest.raises(ArrayIndexError):
        meta.chunk_key((0,))


def test_constructor_normalises_and_checks() -> None:
    meta = ArrayMetadataV2(
        shape=[np.int64(10)], chunks=[4], dtype="<f4", fill_value=1.5, order="F",
        compressor={"id": "zlib", "level": 1}, filters=[{"id": "delta", "dtype": "<f4"}],
    )  # fmt: skip
    assert meta.shape == (10,) and type(meta.shape[0]) is int
    assert meta.dtype == np.dtype("<f4") and meta.fill_value == np.float32(1.5)
    assert isinstance(meta.fill_value, np.float32)
    assert meta.filters == ({"id": "delta", "dtype": "<f4"},)
    with pytest.raises(MetadataError, match="ArrayMetadataV2: order"):
        ArrayMetadataV2(
            shape=(1,),
            chunks=(1,),
            dtype="u1",
            fill_value=0,
            order="X",
            compressor=None,
            filters=(),
        )
    with pytest.raises(MetadataError, match="cannot be stored"):
        ArrayMetadataV2(
            shape=(1,),
            chunks=(1,),
            dtype="u1",
            fill_value="x",
            order="C",
            compressor=None,
            filters=(),
        )
    with pytest.raises(MetadataError, match="out of range"):
        ArrayMetadataV2(
            shape=(1,),
            chunks=(1,),
            dtype="u1",
            fill_value=300,
            order="C",
            compressor=None,
            filters=(),
        )
    with pytest.raises(
        UnsupportedDataTypeError, match="ArrayMetadataV2: 'nonsense' is not a data type"
    ):
        ArrayMetadataV2(
            shape=(1,),
            chunks=(1,),
            dtype="nonsense",
            fill_value=None,
            order="C",
            compressor=None,
            filters=(),
        )
    with pytest.raises(UnsupportedDataTypeError):
        ArrayMetadataV2(
            shape=(1,),
            chunks=(1,),
            dtype=[("a", "u1")],
            fill_value=None,
            order="C",
            compressor=None,
            filters=(),
        )


def test_metadata_is_frozen_and_isolated_from_inputs() -> None:
    compressor = {"id": "zstd", "level": 1}
    meta = ArrayMetadataV2(
        shape=(1,),
        chunks=(1,),
        dtype="u1",
        fill_value=0,
        order="C",
        compressor=compressor,
        filters=(),
    )
    compressor["level"] = 9
    assert meta.compressor == {"id": "zstd", "level": 1}
    meta.to_json()["compressor"]["level"] = 5
    assert meta.compressor == {"id": "zstd", "level": 1}
    with pytest.raises(AttributeError):
        meta.order = "F"  # type: ignore[misc]


ROUND_TRIP = [
    ("|b1", [None, True, False]),
    ("|i1", [-5]),
    (">i2", [7]),
    ("<u8", [(1 << 64) - 1]),
    ("<f2", [1.5, "NaN"]),
    (">f4", ["-Infinity", 0.5]),
    ("<f8", ["NaN", -0.0, 1e300]),
    ("<c8", [[1.0, "NaN"]]),
    (">c16", [["Infinity", 2.0]]),
    ("|S3", ["eHl6", None]),
    ("<U4", ["abc"]),
    ("<M8[ns]", [0]),
    ("|O", [None, "x"]),
]


@pytest.mark.parametrize(
    ("dtype", "fill_value"), [(d, f) for d, fills in ROUND_TRIP for f in fills]
)
@pytest.mark.parametrize("order", ["C", "F"])
def test_round_trip(dtype: str, fill_value: object, order: str) -> None:
    doc = {
        **GDAL_BASE, "dtype": dtype, "fill_value": fill_value, "order": order,
        "compressor": {"id": "blosc", "cname": "lz4", "clevel": 5, "shuffle": 1},
        "filters": [{"id": "vlen-utf8"}] if dtype == "|O" else None, "dimension_separator": "/",
    }  # fmt: skip
    meta = ArrayMetadataV2.parse(dump_json_document(doc), key=KEY)
    assert meta.to_json() == doc
    again = ArrayMetadataV2.parse(dump_json_document(meta.to_json()), key=KEY)
    assert again == meta
    assert ArrayMetadataV2.from_json(meta.to_json(), key=KEY) == meta


def test_equality_compares_fill_values_bitwise() -> None:
    base = {**GDAL_BASE, "dtype": "<f4"}
    assert ArrayMetadataV2.from_json(
        {**base, "fill_value": "NaN"}, key=KEY
    ) == ArrayMetadataV2.from_json({**base, "fill_value": "NaN"}, key=KEY)
    assert ArrayMetadataV2.from_json(
        {**base, "fill_value": 0.0}, key=KEY
    ) != ArrayMetadataV2.from_json({**base, "fill_value": -0.0}, key=KEY)
    assert ArrayMetadataV2.from_json(base, key=KEY) != ArrayMetadataV2.from_json(
        {**base, "order": "F"}, key=KEY
    )


# --- groups and attributes ----------------------------------------------------------------------


def test_group() -> None:
    group = GroupMetadataV2.parse(b'{"zarr_format": 2}', key=".zgroup")
    assert group.to_json() == {"zarr_format": 2} and group.zarr_format == 2
    # zarr-python puts extra members in the .zgroup entries of .zmetadata; they are ignored
    extra = {
        "zarr_format": 2,
        "consolidated_metadata": {"metadata": {}, "must_understand": False, "kind": "inline"},
    }
    assert GroupMetadataV2.from_json(extra, key=".zgroup") == group


@pytest.mark.parametrize(
    "raw", [b"{}", b'{"zarr_format": 3}', b'{"zarr_format": "2"}', b"[]", b"nope"]
)
def test_group_invalid(raw: bytes) -> None:
    with pytest.raises(MetadataError, match="sub/.zgroup"):
        GroupMetadataV2.parse(raw, key="sub/.zgroup")


def test_attributes() -> None:
    assert parse_attributes(b'{"a": 1, "_ARRAY_DIMENSIONS": ["y", "x"]}', key=".zattrs") == {
        "a": 1,
        "_ARRAY_DIMENSIONS": ["y", "x"],
    }
    with pytest.raises(MetadataError, match="a/.zattrs"):
        parse_attributes(b"[1]", key="a/.zattrs")


# --- documents written by zarr-python 3.1.6 -----------------------------------------------------


def zarr_python_zarray(**kwargs: object) -> bytes:
    """Create a v2 array with zarr-python in memory and return its stored .zarray bytes."""
    stored: dict = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        zarr.create_array(store=zarr.storage.MemoryStore(stored), zarr_format=2, **kwargs)
    return stored[".zarray"].to_bytes()


@pytest.mark.parametrize(
    ("kwargs", "dtype", "fill_value"),
    [
        ({"dtype": "<u2", "fill_value": 3}, np.dtype("<u2"), np.uint16(3)),
        ({"dtype": ">i8", "fill_value": -(1 << 63)}, np.dtype(">i8"), np.int64(-(1 << 63))),
        ({"dtype": "<u8", "fill_value": (1 << 64) - 1}, np.dtype("<u8"), np.uint64((1 << 64) - 1)),
        ({"dtype": "bool", "fill_value": True}, np.dtype(bool), np.True_),
        ({"dtype": "f2", "fill_value": 1.5}, np.dtype("<f2"), np.float16(1.5)),
        ({"dtype": ">f8", "fill_value": float("-inf")}, np.dtype(">f8"), np.float64("-inf")),
        ({"dtype": "c8", "fill_value": 1 + 2j}, np.dtype("<c8"), np.complex64(1 + 2j)),
        ({"dtype": "S4", "fill_value": b"ab"}, np.dtype("S4"), np.bytes_(b"ab")),
        ({"dtype": "U5", "fill_value": "hé"}, np.dtype("<U5"), np.str_("hé")),
        ({"dtype": "<M8[ns]", "fill_value": None}, np.dtype("<M8[ns]"), None),
        ({"dtype": str, "fill_value": "x"}, np.dtype("O"), "x"),
    ],
)
def test_reads_zarr_python_arrays(kwargs: dict, dtype: np.dtype, fill_value: object) -> None:
    raw = zarr_python_zarray(shape=(5, 4), chunks=(2, 3), **kwargs)
    meta = ArrayMetadataV2.parse(raw, key=".zarray")
    assert meta.shape == (5, 4) and meta.chunks == (2, 3)
    assert meta.dtype == dtype and meta.dtype.str == dtype.str
    assert type(meta.fill_value) is type(fill_value) and meta.fill_value == fill_value
    assert meta.order == "C" and meta.dimension_separator == "."
    assert meta.to_json() == json.loads(raw)  # geozarr writes back what zarr-python wrote


def test_reads_zarr_python_nan_fill_order_and_filters() -> None:
    raw = zarr_python_zarray(
        shape=(),
        dtype="<f4",
        fill_value=float("nan"),
        order="F",
        compressors=None,
        filters=[numcodecs.Delta(dtype="<f4")],
    )
    meta = ArrayMetadataV2.parse(raw, key=".zarray")
    assert meta.shape == () and np.isnan(meta.fill_value) and meta.order == "F"
    assert meta.compressor is None and meta.filters == (
        {"id": "delta", "dtype": "<f4", "astype": "<f4"},
    )
    assert meta.chunk_key(()) == "0"


def test_zarr_python_reads_geozarr_zarray() -> None:
    meta = ArrayMetadataV2(
        shape=(5, 4), chunks=(2, 3), dtype=">i2", fill_value=-1, order="C",
        compressor={"id": "zlib", "level": 1}, filters=(), dimension_separator="/",
    )  # fmt: skip
    stored = {
        ".zarray": default_buffer_prototype().buffer.from_bytes(dump_json_document(meta.to_json()))
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        array = zarr.open_array(store=zarr.storage.MemoryStore(stored), zarr_format=2, mode="r")
    assert array.shape == (5, 4) and array.dtype == np.dtype(">i2") and array.fill_value == -1
    assert array[0, 0] == -1
