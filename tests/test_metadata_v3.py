"""Zarr v3 metadata: geozarr/metadata/v3.py."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest
import rasterio
import zarr
import zarr.storage
from zarr.core.buffer import default_buffer_prototype

from geozarr.errors import ArrayIndexError, MetadataError, MetadataWarning, UnsupportedDataTypeError
from geozarr.metadata import dump_json_document
from geozarr.metadata.dtypes import STRING_DTYPE
from geozarr.metadata.v3 import ArrayMetadataV3, GroupMetadataV3, parse_v3_node

pytestmark = pytest.mark.filterwarnings("error::geozarr.errors.MetadataWarning")

KEY = "test.zarr/zarr.json"

BASE = {
    "zarr_format": 3,
    "node_type": "array",
    "shape": [5, 4],
    "data_type": "uint16",
    "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": [2, 3]}},
    "chunk_key_encoding": {"name": "default", "configuration": {"separator": "/"}},
    "fill_value": 0,
    "codecs": [{"name": "bytes", "configuration": {"endian": "little"}}],
}


def parse(doc: dict) -> ArrayMetadataV3:
    return ArrayMetadataV3.parse(json.dumps(doc).encode(), key=KEY)


# --- GDAL's bad zarr.json documents (test_zarr_read_invalid_zarr_v3) -----------------------------
# GDAL's documents have no "codecs" (GDAL 3.10 leaves it out); geozarr reads that with a
# MetadataWarning, so each case below fails for the reason GDAL tests.

GDAL_V3_BASE = {
    "zarr_format": 3,
    "node_type": "array",
    "shape": [1],
    "data_type": "uint8",
    "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": [1]}},
    "chunk_key_encoding": {"name": "default"},
    "fill_value": 0,
}


def gdal_case(**changes: object) -> dict:
    doc = dict(GDAL_V3_BASE)
    for name, value in changes.items():
        if value is None:
            del doc[name]
        else:
            doc[name] = value
    return doc


GDAL_V3_CASES = [
    (gdal_case(shape=None, MISSING_shape=[1]), "required member 'shape' is missing"),
    (gdal_case(shape="invalid"), "shape must be an array"),
    (
        gdal_case(chunk_grid={"name": "regular", "configuration": {"chunk_shape": [1, 2]}}),
        "shape has 1 dimensions",
    ),
    (
        gdal_case(data_type=None, MISSING_data_type="uint8"),
        "required member 'data_type' is missing",
    ),
    (gdal_case(data_type="uint8_INVALID"), "unsupported data_type 'uint8_INVALID'"),
    (
        gdal_case(chunk_grid=None, MISSING_chunk_grid={"name": "regular"}),
        "required member 'chunk_grid' is missing",
    ),
    (gdal_case(chunk_grid={"name": "invalid"}), "chunk_grid 'invalid' is not supported"),
    (gdal_case(chunk_grid={"name": "regular"}), "chunk_grid.configuration.chunk_shape is missing"),
    (
        gdal_case(chunk_key_encoding=None, MISSING_chunk_key_encoding={"name": "default"}),
        "required member 'chunk_key_encoding' is missing",
    ),
    (gdal_case(chunk_key_encoding={"name": "invalid"}), "unsupported chunk_key_encoding 'invalid'"),
    (
        gdal_case(
            chunk_key_encoding={"name": "default", "configuration": {"separator": "invalid"}}
        ),
        "separator must be '/' or '.'",
    ),
    (gdal_case(storage_transformers=[{}]), "storage_transformers are not supported"),
    (gdal_case(fill_value="invalid"), "invalid fill_value 'invalid'"),
    (gdal_case(fill_value="0", dimension_names="invalid"), "dimension_names must be an array"),
    (
        gdal_case(fill_value="0", dimension_names=[]),
        "dimension_names has 0 entries for 1 dimensions",
    ),
    (gdal_case(fill_value="NaN"), "invalid fill_value 'NaN'"),
    (gdal_case(fill_value="0x00"), "only allowed for float types"),
    (gdal_case(fill_value="0b00"), "only allowed for float types"),
    (
        gdal_case(
            shape=[1 << 40, 1 << 40],
            chunk_grid={"name": "regular", "configuration": {"chunk_shape": [1 << 40, 1 << 40]}},
        ),
        "more than the limit",
    ),
    (
        gdal_case(
            shape=[1 << 30] * 3,
            chunk_grid={"name": "regular", "configuration": {"chunk_shape": [1, 1, 1]}},
        ),
        "chunks, more than 2",
    ),
]


@pytest.mark.parametrize(("doc", "match"), GDAL_V3_CASES)
def test_gdal_invalid_zarr_json(doc: dict, match: str) -> None:
    with warnings.catch_warnings(), pytest.raises(MetadataError, match=match) as info:
        warnings.simplefilter("ignore", MetadataWarning)
        parse(doc)
    assert str(info.value).startswith(KEY)


@pytest.mark.parametrize(
    "member", ["shape", "data_type", "chunk_grid", "chunk_key_encoding", "fill_value"]
)
def test_missing_mandatory_member(member: str) -> None:
    doc = dict(BASE)
    del doc[member]
    with pytest.raises(MetadataError, match=f"required member '{member}' is missing"):
        parse(doc)


def test_gdal_document_without_codecs_means_plain_bytes() -> None:
    with pytest.warns(MetadataWarning, match="'codecs' is missing"):
        meta = parse(GDAL_V3_BASE)
    assert meta.codecs == ({"name": "bytes", "configuration": {}},)
    with pytest.warns(MetadataWarning, match="'codecs' is missing"):
        wide = parse({**GDAL_V3_BASE, "data_type": "float32", "fill_value": "NaN"})
    assert wide.codecs == ({"name": "bytes", "configuration": {"endian": "little"}},)


def test_reads_what_gdal_writes(tmp_path: Path) -> None:
    """GDAL 3.10 (through rasterio) writes v3 arrays without a codecs list."""
    path = tmp_path / "gdal.zarr"
    profile = {
        "driver": "Zarr",
        "width": 5,
        "height": 4,
        "count": 1,
        "dtype": "float32",
        "nodata": float("nan"),
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with rasterio.open(path, "w", FORMAT="ZARR_V3", **profile) as dataset:
            dataset.write(np.ones((1, 4, 5), "float32"))
    [array_json] = [p for p in path.rglob("zarr.json") if p.parent != path]
    with pytest.warns(MetadataWarning, match="codecs"):
        meta = ArrayMetadataV3.parse(array_json.read_bytes(), key="gdal.zarr/zarr.json")
    assert meta.shape == (4, 5) and meta.dtype == np.dtype("float32") and np.isnan(meta.fill_value)
    assert meta.dimension_names == ("Y", "X") and meta.chunk_key((0, 0)) == "c/0/0"
    assert isinstance(
        parse_v3_node((path / "zarr.json").read_bytes(), key="zarr.json"), GroupMetadataV3
    )


# --- more invalid documents ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"zarr_format": 2}, "zarr_format must be 3"),
        ({"zarr_format": "3"}, "zarr_format must be 3"),
        ({"node_type": "group"}, "node_type must be 'array'"),
        ({"node_type": None}, "node_type must be 'array'"),
        ({"codecs": []}, "codecs must not be empty"),
        ({"codecs": "bytes"}, "codecs must be an array"),
        ({"codecs": [{"configuration": {}}]}, r"codecs\[0\] needs a string 'name'"),
        (
            {"codecs": [{"name": "bytes", "configuration": []}]},
            r"codecs\[0\].configuration must be an object",
        ),
        ({"codecs": [3]}, r"codecs\[0\] must be an object or a name"),
        ({"storage_transformers": {}}, "storage_transformers must be an array"),
        ({"attributes": []}, "attributes must be an object"),
        ({"dimension_names": ["y", 3]}, r"dimension_names\[1\] must be a string or null"),
        ({"chunk_grid": "regular"}, "chunk_shape is missing"),
        ({"chunk_grid": {"name": "regular", "configuration": {"chunk_shape": [2, 0]}}}, "outside"),
        (
            {"chunk_grid": {"name": "regular", "configuration": {"chunk_shape": "2"}}},
            "must be an array",
        ),
        ({"chunk_grid": {"name": "rectilinear", "configuration": {}}}, "not supported"),
        ({"chunk_key_encoding": {"name": "v2", "configuration": {"separator": ""}}}, "separator"),
        ({"chunk_key_encoding": 3}, "must be an object or a name"),
        ({"fill_value": 1 << 16}, "out of range"),
        (
            {"data_type": {"name": "numpy.datetime64", "configuration": {"unit": "s"}}},
            "unsupported data_type",
        ),
        ({"extension": {"name": "x"}}, "unknown member 'extension'"),
        ({"extension": {"must_understand": True}}, "unknown member 'extension'"),
        ({"extension": 1}, "unknown member 'extension'"),
    ],
)
def test_invalid_documents(changes: dict, match: str) -> None:
    doc = {**BASE, **changes}
    doc = {name: value for name, value in doc.items() if value is not None}
    with pytest.raises(MetadataError, match=match):
        parse(doc)


def test_data_type_errors_are_unsupported_data_type_errors() -> None:
    with pytest.raises(UnsupportedDataTypeError, match=KEY):
        parse({**BASE, "data_type": "r16"})


def test_not_an_object() -> None:
    with pytest.raises(MetadataError, match="must be a JSON object"):
        ArrayMetadataV3.from_json("x", key=KEY)


def test_extension_with_must_understand_false_is_ignored() -> None:
    meta = parse({**BASE, "my_extension": {"must_understand": False, "whatever": [1]}})
    assert "my_extension" not in meta.to_json()


def test_optional_members_may_be_null() -> None:
    meta = parse(
        {**BASE, "attributes": None, "dimension_names": None, "storage_transformers": None}
    )
    assert meta.attributes == {} and meta.dimension_names is None
    assert parse({**BASE, "storage_transformers": []}) == meta


# --- values and behaviour -----------------------------------------------------------------------


def test_codecs_are_normalised() -> None:
    meta = parse(
        {
            **BASE,
            "codecs": [
                "bytes",
                {"name": "zstd"},
                {"name": "crc32c", "configuration": {}, "must_understand": False},
            ],
        }
    )
    assert meta.codecs == (
        {"name": "bytes", "configuration": {}},
        {"name": "zstd", "configuration": {}},
        {"name": "crc32c", "configuration": {}, "must_understand": False},
    )


@pytest.mark.parametrize(
    ("encoding", "coords", "expected"),
    [
        ({"name": "default"}, (1, 23), "c/1/23"),
        ("default", (1, 23), "c/1/23"),
        ({"name": "default", "configuration": {"separator": "."}}, (1, 23), "c.1.23"),
        ({"name": "v2"}, (1, 23), "1.23"),
        ({"name": "v2", "configuration": {"separator": "/"}}, (1, 23), "1/23"),
    ],
)
def test_chunk_keys(encoding: object, coords: tuple[int, ...], expected: str) -> None:
    meta = parse({**BASE, "chunk_key_encoding": encoding})
    assert meta.chunk_key(coords) == expected
    assert meta.chunk_grid_shape == (3, 2)


def test_zero_dimensional_chunk_keys() -> None:
    scalar = {
        **BASE,
        "shape": [],
        "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": []}},
    }
    assert parse(scalar).chunk_key(()) == "c"
    assert parse({**scalar, "chunk_key_encoding": {"name": "v2"}}).chunk_key(()) == "0"
    with pytest.raises(ArrayIndexError):
        parse(scalar).chunk_key((0,))


def test_constructor_defaults_and_checks() -> None:
    meta = ArrayMetadataV3(shape=[10], chunks=[4], dtype=">f4", fill_value=0.5, codecs=["bytes"])
    assert meta.dtype == np.dtype("float32") and meta.dtype.isnative
    assert meta.separator == "/" and meta.chunk_key((2,)) == "c/2"
    v2_keys = ArrayMetadataV3(
        shape=[10], chunks=[4], dtype="u1", fill_value=0, codecs=["bytes"], chunk_key_encoding="v2"
    )
    assert v2_keys.separator == "." and v2_keys.chunk_key((2,)) == "2"
    # None stands for GDAL's "fill_value": null, kept so that no nodata is implied.
    unset = ArrayMetadataV3(shape=[1], chunks=[1], dtype="u1", fill_value=None, codecs=["bytes"])
    assert unset.fill_value is None and unset.to_json()["fill_value"] is None
    with pytest.raises(MetadataError, match="fill_value 'x'"):
        ArrayMetadataV3(shape=[1], chunks=[1], dtype="u1", fill_value="x", codecs=["bytes"])
    with pytest.raises(MetadataError, match="dimension_names has 2 entries"):
        ArrayMetadataV3(
            shape=[1],
            chunks=[1],
            dtype="u1",
            fill_value=0,
            codecs=["bytes"],
            dimension_names=("a", "b"),
        )
    with pytest.raises(UnsupportedDataTypeError):
        ArrayMetadataV3(shape=[1], chunks=[1], dtype="U3", fill_value="", codecs=["bytes"])


ROUND_TRIP = [
    ("bool", [True]),
    ("int8", [-128]),
    ("uint64", [(1 << 64) - 1]),
    ("int64", [-(1 << 63)]),
    ("float16", ["NaN", 1.5, "0x7e01"]),
    ("float32", ["Infinity", "0x7fc00001", -0.0]),
    ("float64", ["-Infinity", 1e-300]),
    ("complex64", [[1.0, "NaN"]]),
    ("complex128", [["0x7ff8000000000001", -2.0]]),
    ("string", ["", "hé"]),
]


@pytest.mark.parametrize(
    ("data_type", "fill_value"), [(d, f) for d, fills in ROUND_TRIP for f in fills]
)
@pytest.mark.parametrize("encoding", ["default", "v2"])
def test_round_trip(data_type: str, fill_value: object, encoding: str) -> None:
    doc = {
        **BASE, "data_type": data_type, "fill_value": fill_value,
        "chunk_key_encoding": {"name": encoding, "configuration": {"separator": "."}},
        "codecs": [
            {"name": "transpose", "configuration": {"order": [1, 0]}},
            {"name": "bytes", "configuration": {}},
        ],
        "attributes": {"a": [1, {"b": None}]}, "dimension_names": ["y", None],
    }  # fmt: skip
    meta = ArrayMetadataV3.parse(dump_json_document(doc), key=KEY)
    assert meta.to_json() == doc
    assert ArrayMetadataV3.parse(dump_json_document(meta.to_json()), key=KEY) == meta
    assert ArrayMetadataV3.from_json(meta.to_json(), key=KEY) == meta


def test_metadata_is_isolated_from_inputs_and_outputs() -> None:
    doc = {**BASE, "attributes": {"a": [1]}}
    meta = parse(doc)
    meta.to_json()["attributes"]["a"].append(2)
    meta.to_json()["codecs"][0]["configuration"]["endian"] = "big"
    assert meta.attributes == {"a": [1]} and meta.codecs[0]["configuration"] == {"endian": "little"}
    with pytest.raises(AttributeError):
        meta.shape = (1,)  # type: ignore[misc]


def test_equality() -> None:
    assert parse({**BASE, "data_type": "float32", "fill_value": "NaN"}) == parse(
        {**BASE, "data_type": "float32", "fill_value": "NaN"}
    )
    assert parse({**BASE, "data_type": "float32", "fill_value": "NaN"}) != parse(
        {**BASE, "data_type": "float32", "fill_value": "0x7fc00001"}
    )
    assert parse(BASE) != parse({**BASE, "attributes": {"a": 1}})


# --- groups and nodes ---------------------------------------------------------------------------


def test_group() -> None:
    group = GroupMetadataV3.parse(
        b'{"zarr_format": 3, "node_type": "group", "attributes": {"t": 1}}', key="zarr.json"
    )
    assert group.attributes == {"t": 1} and group.consolidated_metadata is None
    assert group.to_json() == {"zarr_format": 3, "node_type": "group", "attributes": {"t": 1}}
    assert (
        GroupMetadataV3.from_json({"zarr_format": 3, "node_type": "group"}, key="k")
        == GroupMetadataV3()
    )


@pytest.mark.parametrize(
    ("doc", "match"),
    [
        ({"zarr_format": 3, "node_type": "array"}, "node_type must be 'group'"),
        ({"zarr_format": 2, "node_type": "group"}, "zarr_format must be 3"),
        ({"node_type": "group"}, "'zarr_format' is missing"),
        ({"zarr_format": 3, "node_type": "group", "attributes": 1}, "attributes must be an object"),
        ({"zarr_format": 3, "node_type": "group", "other": 1}, "unknown member 'other'"),
        (
            {"zarr_format": 3, "node_type": "group", "consolidated_metadata": []},
            "must be an object",
        ),
        (
            {"zarr_format": 3, "node_type": "group", "consolidated_metadata": {"kind": "x"}},
            "kind 'x'",
        ),
        (
            {
                "zarr_format": 3,
                "node_type": "group",
                "consolidated_metadata": {"kind": "inline", "metadata": 1},
            },
            "metadata must be an object",
        ),
        (
            {
                "zarr_format": 3,
                "node_type": "group",
                "consolidated_metadata": {"kind": "inline", "metadata": {"a": 1}},
            },
            "of 'a' must be an object",
        ),
        (
            {
                "zarr_format": 3,
                "node_type": "group",
                "consolidated_metadata": {"kind": "inline", "metadata": {"../a": {}}},
            },
            "not a safe relative path",
        ),
        (
            {
                "zarr_format": 3,
                "node_type": "group",
                "consolidated_metadata": {"kind": "inline", "metadata": {"/a": {}}},
            },
            "not a safe relative path",
        ),
    ],
)
def test_group_invalid(doc: dict, match: str) -> None:
    with pytest.raises(MetadataError, match=match):
        GroupMetadataV3.from_json(doc, key="g/zarr.json")


def test_group_unknown_consolidated_kind_that_may_be_ignored() -> None:
    doc = {
        "zarr_format": 3,
        "node_type": "group",
        "consolidated_metadata": {"kind": "new", "must_understand": False},
    }
    assert GroupMetadataV3.from_json(doc, key="k").consolidated_metadata is None


def test_group_consolidated_round_trip() -> None:
    nodes = {"a": {**BASE}, "sub": {"zarr_format": 3, "node_type": "group", "attributes": {}}}
    group = GroupMetadataV3(attributes={"x": 1}, consolidated_metadata=nodes)
    doc = group.to_json()
    assert doc["consolidated_metadata"] == {
        "kind": "inline",
        "must_understand": False,
        "metadata": nodes,
    }
    assert GroupMetadataV3.parse(dump_json_document(doc), key="zarr.json") == group


def test_parse_v3_node() -> None:
    assert isinstance(parse_v3_node(json.dumps(BASE).encode(), key=KEY), ArrayMetadataV3)
    assert isinstance(
        parse_v3_node(b'{"zarr_format": 3, "node_type": "group"}', key=KEY), GroupMetadataV3
    )
    with pytest.raises(MetadataError, match="node_type must be 'array' or 'group'"):
        parse_v3_node(b'{"zarr_format": 3, "node_type": "other"}', key=KEY)
    with pytest.raises(MetadataError, match="zarr_format must be 3"):
        parse_v3_node(b'{"zarr_format": 2}', key=KEY)
    with pytest.raises(MetadataError, match="not valid JSON"):
        parse_v3_node(b"{", key=KEY)


# --- documents written by zarr-python 3.1.6 -----------------------------------------------------


def zarr_python_json(path: str = "zarr.json", **kwargs: object) -> bytes:
    """Create a v3 array with zarr-python in memory and return its stored zarr.json bytes."""
    stored: dict = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        zarr.create_array(store=zarr.storage.MemoryStore(stored), zarr_format=3, **kwargs)
    return stored[path].to_bytes()


@pytest.mark.parametrize(
    ("kwargs", "dtype", "fill_value"),
    [
        ({"dtype": "<u2", "fill_value": 3}, np.dtype("uint16"), np.uint16(3)),
        ({"dtype": ">i8", "fill_value": -(1 << 63)}, np.dtype("int64"), np.int64(-(1 << 63))),
        (
            {"dtype": "uint64", "fill_value": (1 << 64) - 1},
            np.dtype("uint64"),
            np.uint64((1 << 64) - 1),
        ),
        ({"dtype": "bool", "fill_value": True}, np.dtype(bool), np.True_),
        ({"dtype": "int8", "fill_value": -3}, np.dtype("int8"), np.int8(-3)),
        ({"dtype": "float16", "fill_value": 1.5}, np.dtype("float16"), np.float16(1.5)),
        ({"dtype": "float32", "fill_value": float("inf")}, np.dtype("float32"), np.float32("inf")),
        (
            {"dtype": "complex128", "fill_value": 1 - 2j},
            np.dtype("complex128"),
            np.complex128(1 - 2j),
        ),
        ({"dtype": str, "fill_value": "x"}, STRING_DTYPE, "x"),
        ({"dtype": str}, STRING_DTYPE, ""),
    ],
)
def test_reads_zarr_python_arrays(kwargs: dict, dtype: np.dtype, fill_value: object) -> None:
    raw = zarr_python_json(shape=(5, 4), chunks=(2, 3), dimension_names=["y", None], **kwargs)
    meta = ArrayMetadataV3.parse(raw, key="zarr.json")
    assert meta.shape == (5, 4) and meta.chunks == (2, 3)
    assert meta.dtype == dtype
    assert type(meta.fill_value) is type(fill_value) and meta.fill_value == fill_value
    assert meta.dimension_names == ("y", None) and meta.attributes == {}
    assert meta.chunk_key_encoding == "default" and meta.separator == "/"
    assert all(set(codec) == {"name", "configuration"} for codec in meta.codecs)
    written = json.loads(raw)
    del written["storage_transformers"]  # always [] in zarr-python's output
    for codec in written["codecs"]:
        codec.setdefault(
            "configuration", {}
        )  # zarr-python writes {"name": "bytes"} for 1-byte types
    assert meta.to_json() == written


def test_reads_zarr_python_nan_sharding_and_v2_keys() -> None:
    raw = zarr_python_json(
        shape=(8, 8), chunks=(2, 2), shards=(4, 4), dtype="float64", fill_value=float("nan"),
        chunk_key_encoding={"name": "v2", "separator": "/"}, attributes={"units": "K"},
    )  # fmt: skip
    meta = ArrayMetadataV3.parse(raw, key="zarr.json")
    assert meta.chunks == (4, 4) and meta.chunk_grid_shape == (
        2,
        2,
    )  # the shard is the stored chunk
    assert meta.codecs[0]["name"] == "sharding_indexed"
    assert meta.codecs[0]["configuration"]["chunk_shape"] == [2, 2]
    assert np.isnan(meta.fill_value) and meta.attributes == {"units": "K"}
    assert meta.chunk_key((1, 0)) == "1/0"


def test_reads_zarr_python_consolidated_group() -> None:
    stored: dict = {}
    store = zarr.storage.MemoryStore(stored)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        root = zarr.create_group(store=store, zarr_format=3, attributes={"title": "t"})
        root.create_group("sub").create_array("arr", shape=(4,), dtype="i2", fill_value=1)
        zarr.consolidate_metadata(store)
    group = parse_v3_node(stored["zarr.json"].to_bytes(), key="zarr.json")
    assert isinstance(group, GroupMetadataV3) and group.attributes == {"title": "t"}
    assert set(group.consolidated_metadata) == {"sub", "sub/arr"}
    array = ArrayMetadataV3.from_json(
        group.consolidated_metadata["sub/arr"], key="zarr.json#sub/arr"
    )
    assert array.shape == (4,) and array.fill_value == np.int16(1)
    sub = GroupMetadataV3.from_json(group.consolidated_metadata["sub"], key="zarr.json#sub")
    assert sub.consolidated_metadata == {}


def test_zarr_python_reads_geozarr_zarr_json() -> None:
    meta = ArrayMetadataV3(
        shape=(5, 4), chunks=(2, 3), dtype="float32", fill_value=np.float32("nan"),
        codecs=[{"name": "bytes", "configuration": {"endian": "big"}}, {"name": "crc32c"}],
        dimension_names=("y", "x"), attributes={"units": "m"},
    )  # fmt: skip
    stored = {
        "zarr.json": default_buffer_prototype().buffer.from_bytes(
            dump_json_document(meta.to_json())
        )
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        array = zarr.open_array(store=zarr.storage.MemoryStore(stored), zarr_format=3, mode="r")
    assert array.shape == (5, 4) and array.dtype == np.dtype("float32")
    assert np.isnan(array[0, 0]) and array.metadata.dimension_names == ("y", "x")
    assert array.attrs["units"] == "m"
