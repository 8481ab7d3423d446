"""Bad metadata, bad names and bad arguments: each is refused with a GeoZarrError that names it.

The metadata documents are written by hand into a temporary directory (never through
geozarr), so each test controls exactly one defect. The cases port the bad-input tests of
the GDAL Zarr driver (autotest ``zarr_driver.py``: ``test_zarr_invalid_json_remove_member``,
``test_zarr_invalid_json_wrong_values``, ``test_zarr_read_invalid_zarr_v3``,
``test_zarr_read_sharding_errors``, ``test_zarr_create_group_errors``,
``test_zarr_create_array_errors``) and add the cases a Python reader must also refuse: the
numcodecs ``pickle`` codec and the object dtype (decoding them runs code), and node names or
paths that would leave the store.

Every error is checked twice: its class (the most specific one the contract promises) and
its message, which must name the metadata document (``"a/.zarray"``, ``"a/zarr.json"``) and,
for a bad member, the member.
"""

from __future__ import annotations

import copy
import json
import os
import pickle
import tracemalloc
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numcodecs
import numpy as np
import pytest

import geozarr
from geozarr.errors import (
    GeoZarrError,
    InvalidKeyError,
    MetadataError,
    MetadataWarning,
    NodeExistsError,
    NodeNotFoundError,
    UnsafeCodecError,
    UnsupportedCodecError,
    UnsupportedDataTypeError,
)

DROP = object()  # marks a member to remove from a document

GROUP_V2 = {"zarr_format": 2}
GROUP_V3 = {"zarr_format": 3, "node_type": "group", "attributes": {}}

ARRAY_V2: dict[str, Any] = {
    "zarr_format": 2,
    "shape": [6, 8],
    "chunks": [4, 4],
    "dtype": "<i2",
    "compressor": None,
    "fill_value": 0,
    "order": "C",
    "filters": None,
}

BYTES_LE = {"name": "bytes", "configuration": {"endian": "little"}}
CRC32C = {"name": "crc32c"}

ARRAY_V3: dict[str, Any] = {
    "zarr_format": 3,
    "node_type": "array",
    "shape": [6, 8],
    "data_type": "int16",
    "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": [4, 4]}},
    "chunk_key_encoding": {"name": "default", "configuration": {"separator": "/"}},
    "fill_value": 0,
    "codecs": [BYTES_LE],
    "attributes": {},
}

SHARDING = {
    "name": "sharding_indexed",
    "configuration": {
        "chunk_shape": [4, 4],
        "codecs": [BYTES_LE],
        "index_codecs": [BYTES_LE, CRC32C],
        "index_location": "end",
    },
}


def changed(base: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """A deep copy of ``base`` with members replaced, or removed when given ``DROP``."""
    doc = copy.deepcopy(base)
    for member, value in changes.items():
        if value is DROP:
            doc.pop(member, None)
        else:
            doc[member] = value
    return doc


def sharded_v3(**config_changes: Any) -> dict[str, Any]:
    """An (8, 8) v3 array of one shard of 2 x 2 inner chunks, its sharding config changed."""
    codec = copy.deepcopy(SHARDING)
    for member, value in config_changes.items():
        if value is DROP:
            codec["configuration"].pop(member, None)
        else:
            codec["configuration"][member] = value
    return changed(
        ARRAY_V3,
        shape=[8, 8],
        chunk_grid={"name": "regular", "configuration": {"chunk_shape": [8, 8]}},
        codecs=[codec],
    )


def write_docs(root: Path, docs: dict[str, Any]) -> str:
    """Write each document (a JSON value, or raw bytes) at its key under ``root``."""
    for key, doc in docs.items():
        path = root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(doc if isinstance(doc, bytes) else json.dumps(doc).encode())
    return str(root)


def v2_store(tmp_path: Path, array_doc: Any, **more: Any) -> str:
    """A v2 store: a root group and the array ``a`` described by ``array_doc``."""
    return write_docs(tmp_path / "root", {".zgroup": GROUP_V2, "a/.zarray": array_doc, **more})


def v3_store(tmp_path: Path, array_doc: Any, **more: Any) -> str:
    """A v3 store: a root group and the array ``a`` described by ``array_doc``."""
    return write_docs(tmp_path / "root", {"zarr.json": GROUP_V3, "a/zarr.json": array_doc, **more})


def raises_naming(
    error: type[BaseException], call: Callable[[], Any], *names: str
) -> BaseException:
    """Assert ``call()`` raises ``error`` with a message holding every one of ``names``."""
    with pytest.raises(error) as info:
        call()
    message = str(info.value)
    for name in names:
        assert name in message, f"{type(info.value).__name__} message {message!r} lacks {name!r}"
    return info.value


def snapshot(top: Path) -> dict[str, bytes | None]:
    """Every file (its bytes) and directory (None) under ``top``, by relative path."""
    found: dict[str, bytes | None] = {}
    for folder, dirs, files in os.walk(top):
        for name in dirs:
            found[os.path.relpath(os.path.join(folder, name), top)] = None
        for name in files:
            path = os.path.join(folder, name)
            found[os.path.relpath(path, top)] = Path(path).read_bytes()
    return found


OPENERS: dict[str, Callable[[str], Any]] = {
    "open_array": lambda root: geozarr.open_array(root, path="a"),
    "open": lambda root: geozarr.open_node(root, path="a"),
    "group_getitem": lambda root: geozarr.open_group(root)["a"],
}


# -- the valid documents the bad ones are made from --------------------------------------


def test_base_documents_open(tmp_path: Path) -> None:
    """Every defect below is one change away from these documents, which open and read."""
    for maker, base in ((v2_store, ARRAY_V2), (v3_store, ARRAY_V3)):
        root = maker(tmp_path / str(base["zarr_format"]), base)
        array = geozarr.open_array(root, path="a")
        assert array.shape == (6, 8)
        assert array.dtype == np.dtype("int16")
        assert array.chunks == (4, 4)
        np.testing.assert_array_equal(array[...], np.zeros((6, 8), "int16"))
    sharded = geozarr.open_array(v3_store(tmp_path / "s", sharded_v3()), path="a")
    assert sharded.chunks == (4, 4)
    assert sharded.shards == (8, 8)


# -- malformed JSON -----------------------------------------------------------------------

MALFORMED = {
    "truncated": b'{"zarr_format": 2, "shape": [6',
    "empty": b"",
    "not_utf8": b'{"zarr_format": 2, "dtype": "\xff\xfe"}',
    "list": b"[1, 2]",
    "string": b'"zarr"',
    "number": b"2",
    "null": b"null",
    "trailing_garbage": json.dumps(ARRAY_V2).encode() + b"}",
}


@pytest.mark.parametrize("opener", OPENERS)
@pytest.mark.parametrize("content", MALFORMED.values(), ids=MALFORMED)
def test_malformed_zarray(tmp_path: Path, content: bytes, opener: str) -> None:
    root = v2_store(tmp_path, content)
    raises_naming(MetadataError, lambda: OPENERS[opener](root), "a/.zarray")


@pytest.mark.parametrize("opener", OPENERS)
@pytest.mark.parametrize("content", MALFORMED.values(), ids=MALFORMED)
def test_malformed_array_zarr_json(tmp_path: Path, content: bytes, opener: str) -> None:
    root = v3_store(tmp_path, content)
    raises_naming(MetadataError, lambda: OPENERS[opener](root), "a/zarr.json")


@pytest.mark.parametrize("content", MALFORMED.values(), ids=MALFORMED)
def test_malformed_zgroup(tmp_path: Path, content: bytes) -> None:
    root = write_docs(tmp_path / "root", {".zgroup": GROUP_V2, "g/.zgroup": content})
    raises_naming(MetadataError, lambda: geozarr.open_group(root, path="g"), "g/.zgroup")


@pytest.mark.parametrize("content", MALFORMED.values(), ids=MALFORMED)
def test_malformed_group_zarr_json(tmp_path: Path, content: bytes) -> None:
    root = write_docs(tmp_path / "root", {"zarr.json": GROUP_V3, "g/zarr.json": content})
    raises_naming(MetadataError, lambda: geozarr.open_group(root, path="g"), "g/zarr.json")


@pytest.mark.parametrize("content", [b"{", b"[1]", b"\xff"], ids=["truncated", "list", "bytes"])
def test_malformed_zattrs(tmp_path: Path, content: bytes) -> None:
    """Attributes may be read lazily, so the error may come at open or at first access."""
    root = v2_store(tmp_path, ARRAY_V2, **{"a/.zattrs": content})
    raises_naming(MetadataError, lambda: dict(geozarr.open_array(root, path="a").attrs),
                  "a/.zattrs")


# -- v2: missing and wrong members (GDAL test_zarr_invalid_json_remove_member) ----------


@pytest.mark.parametrize("opener", OPENERS)
@pytest.mark.parametrize("member", ["zarr_format", "shape", "chunks", "dtype", "compressor",
                                    "order"])
def test_zarray_missing_member(tmp_path: Path, member: str, opener: str) -> None:
    root = v2_store(tmp_path, changed(ARRAY_V2, **{member: DROP}))
    raises_naming(MetadataError, lambda: OPENERS[opener](root), "a/.zarray", member)


def refused_or_warned(root: str, key: str, word: str) -> None:
    """Opening raises MetadataError, or opens with a MetadataWarning; both name ``key``.

    For defects a liberal reader may repair (GDAL opens a .zarray without fill_value, and
    a zarr.json whose codecs lack "bytes", with a warning): never silently.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            array = geozarr.open_array(root, path="a")
        except MetadataError as error:
            assert key in str(error) and word in str(error)
            return
    np.testing.assert_array_equal(array[...], np.zeros((6, 8), "int16"))
    warned = [str(w.message) for w in caught if issubclass(w.category, MetadataWarning)]
    assert warned, f"{key} with a defect in {word!r} was accepted silently"
    assert any(key in message for message in warned), warned


@pytest.mark.parametrize("member", ["fill_value", "filters"])
def test_zarray_missing_liberal_member(tmp_path: Path, member: str) -> None:
    """The v2 spec requires these too, but some writers omit them."""
    root = v2_store(tmp_path, changed(ARRAY_V2, **{member: DROP}))
    refused_or_warned(root, "a/.zarray", member)


LIBERAL_V3 = {
    "codecs_missing": {"codecs": DROP},
    "codecs_without_bytes": {"codecs": [{"name": "zstd", "configuration": {"level": 1}}]},
}


@pytest.mark.parametrize("changes", LIBERAL_V3.values(), ids=LIBERAL_V3)
def test_zarr_json_liberal_codecs(tmp_path: Path, changes: dict[str, Any]) -> None:
    root = v3_store(tmp_path, changed(ARRAY_V3, **changes))
    refused_or_warned(root, "a/zarr.json", "codecs")


ZARRAY_WRONG_VALUES: list[tuple[str, Any, type[GeoZarrError]]] = [
    ("chunks", None, MetadataError),
    ("chunks", "invalid", MetadataError),
    ("chunks", 4, MetadataError),
    ("chunks", [4], MetadataError),  # rank differs from shape
    ("chunks", [4, 4, 4], MetadataError),
    ("chunks", [4, 0], MetadataError),
    ("chunks", [4, -1], MetadataError),
    ("chunks", [4, 1.5], MetadataError),
    ("chunks", [4, "4"], MetadataError),
    ("shape", None, MetadataError),
    ("shape", "invalid", MetadataError),
    ("shape", {}, MetadataError),
    ("shape", [6], MetadataError),  # rank differs from chunks
    ("shape", [6, -1], MetadataError),
    ("shape", [6, 2.5], MetadataError),
    ("dtype", None, UnsupportedDataTypeError),
    ("dtype", 1, UnsupportedDataTypeError),
    ("dtype", "", UnsupportedDataTypeError),
    ("dtype", "!", UnsupportedDataTypeError),
    ("dtype", "!b", UnsupportedDataTypeError),
    ("dtype", "<u16", UnsupportedDataTypeError),
    ("dtype", "<u0", UnsupportedDataTypeError),
    ("dtype", "<u10000", UnsupportedDataTypeError),
    ("dtype", "<x4", UnsupportedDataTypeError),
    ("dtype", "invalid", UnsupportedDataTypeError),
    ("fill_value", [], MetadataError),
    ("fill_value", {}, MetadataError),
    ("fill_value", "x", MetadataError),
    ("fill_value", "NaN", MetadataError),  # not an integer
    ("fill_value", 40000, MetadataError),  # does not fit int16
    ("order", None, MetadataError),
    ("order", "invalid", MetadataError),
    ("compressor", "invalid", MetadataError),
    ("compressor", {}, MetadataError),
    ("compressor", [], MetadataError),
    ("compressor", {"id": "no_such_codec"}, UnsupportedCodecError),
    ("compressor", {"id": "zstd", "no_such_option": 1}, UnsupportedCodecError),
    ("filters", "invalid", MetadataError),
    ("filters", {}, MetadataError),
    ("filters", [{}], MetadataError),
    ("filters", [1], MetadataError),
    ("filters", [{"id": "no_such_codec"}], UnsupportedCodecError),
    ("zarr_format", None, MetadataError),
    ("zarr_format", 1, MetadataError),
    ("zarr_format", 3, MetadataError),
    ("zarr_format", "2", MetadataError),
    ("dimension_separator", "x", MetadataError),
    ("dimension_separator", "", MetadataError),
]


@pytest.mark.parametrize(
    ("member", "value", "error"),
    ZARRAY_WRONG_VALUES,
    ids=[f"{m}={v!r}" for m, v, _ in ZARRAY_WRONG_VALUES],
)
def test_zarray_wrong_value(tmp_path: Path, member: str, value: Any,
                            error: type[GeoZarrError]) -> None:
    root = v2_store(tmp_path, changed(ARRAY_V2, **{member: value}))
    named = ["a/.zarray"]
    rank_clash = member in ("shape", "chunks") and isinstance(value, list) and len(value) != 2
    if not rank_clash:  # a rank clash may name either side
        named.append(culprit(member, value))
    raises_naming(error, lambda: geozarr.open_array(root, path="a"), *named)


def culprit(member: str, value: Any) -> str:
    """The word a clear message about ``member`` = ``value`` must hold: the codec id for
    an unknown codec, "chunk" for the chunk shape, else the member itself."""
    entries = value if isinstance(value, list) else [value]
    for entry in entries:
        if isinstance(entry, dict) and isinstance(entry.get("id"), str):
            return entry["id"]
    return "chunk" if member == "chunks" else member


@pytest.mark.parametrize("fill", ["NaN", 2, "x"], ids=["nan", "two", "x"])
def test_zarray_bool_fill_value(tmp_path: Path, fill: Any) -> None:
    root = v2_store(tmp_path, changed(ARRAY_V2, dtype="|b1", fill_value=fill))
    raises_naming(MetadataError, lambda: geozarr.open_array(root, path="a"), "a/.zarray",
                  "fill_value")


ABSURD_SIZES = {
    # One chunk of 2**80 elements: more bytes than any machine has (GDAL "huge" case).
    "chunk_2^80": ([2**40, 2**40], [2**40, 2**40]),
    # 2**90 chunks: more than 2**64, so no chunk count fits an integer (GDAL case).
    "chunks_2^90": ([2**30] * 3, [1, 1, 1]),
    # A dimension that does not fit a signed 64-bit integer.
    "dim_2^64": ([2**64, 1], [1, 1]),
    "dim_2^63": ([2**63, 1], [1, 1]),
}


@pytest.mark.parametrize(("shape", "chunks"), ABSURD_SIZES.values(), ids=ABSURD_SIZES)
def test_zarray_absurd_sizes(tmp_path: Path, shape: list[int], chunks: list[int]) -> None:
    root = v2_store(tmp_path, changed(ARRAY_V2, shape=shape, chunks=chunks))
    raises_naming(MetadataError, lambda: geozarr.open_array(root, path="a"), "a/.zarray")


@pytest.mark.parametrize(("shape", "chunks"), ABSURD_SIZES.values(), ids=ABSURD_SIZES)
def test_zarr_json_absurd_sizes(tmp_path: Path, shape: list[int], chunks: list[int]) -> None:
    grid = {"name": "regular", "configuration": {"chunk_shape": chunks}}
    root = v3_store(tmp_path, changed(ARRAY_V3, shape=shape, chunk_grid=grid))
    raises_naming(MetadataError, lambda: geozarr.open_array(root, path="a"), "a/zarr.json")


@pytest.mark.parametrize("zarr_format", [2, 3])
def test_chunk_far_larger_than_array(tmp_path: Path, zarr_format: int) -> None:
    """GDAL's 5 x 4 array with 1e6 x 2000 chunks (2 GB each): refused at open, or read as
    fill without allocating a chunk's worth of memory."""
    if zarr_format == 2:
        doc = changed(ARRAY_V2, shape=[5, 4], chunks=[1_000_000, 2000], dtype="|u1")
        root, key = v2_store(tmp_path, doc), "a/.zarray"
    else:
        doc = changed(ARRAY_V3, shape=[5, 4], data_type="uint8",
                      chunk_grid=grid([1_000_000, 2000]))
        root, key = v3_store(tmp_path, doc), "a/zarr.json"
    try:
        array = geozarr.open_array(root, path="a")
    except MetadataError as error:
        assert key in str(error)
        return
    tracemalloc.start()
    try:
        values = array[...]
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    np.testing.assert_array_equal(values, np.zeros((5, 4), "uint8"))
    assert peak < 64 << 20, f"reading 20 fill values allocated {peak >> 20} MiB"


# -- v3: zarr.json (GDAL test_zarr_read_invalid_zarr_v3) -----------------------------------


@pytest.mark.parametrize("opener", OPENERS)
@pytest.mark.parametrize("member", ["zarr_format", "node_type", "shape", "data_type",
                                    "chunk_grid", "chunk_key_encoding", "fill_value"])
def test_zarr_json_missing_member(tmp_path: Path, member: str, opener: str) -> None:
    root = v3_store(tmp_path, changed(ARRAY_V3, **{member: DROP}))
    raises_naming(MetadataError, lambda: OPENERS[opener](root), "a/zarr.json", member)


def grid(chunk_shape: Any) -> dict[str, Any]:
    return {"name": "regular", "configuration": {"chunk_shape": chunk_shape}}


def key_encoding(name: str, separator: str | None) -> dict[str, Any]:
    if separator is None:
        return {"name": name}
    return {"name": name, "configuration": {"separator": separator}}


ZARR_JSON_WRONG_VALUES: list[tuple[str, Any, type[GeoZarrError]]] = [
    ("zarr_format", 2, MetadataError),
    ("zarr_format", "3", MetadataError),
    ("node_type", "banana", MetadataError),
    ("shape", None, MetadataError),
    ("shape", "invalid", MetadataError),
    ("shape", [6, -1], MetadataError),
    ("shape", [6, 2.5], MetadataError),
    ("shape", [6], MetadataError),  # rank differs from the chunk shape
    ("data_type", None, UnsupportedDataTypeError),
    ("data_type", 1, UnsupportedDataTypeError),
    ("data_type", "invalid", UnsupportedDataTypeError),
    ("data_type", "uint128", UnsupportedDataTypeError),
    ("data_type", "<i2", UnsupportedDataTypeError),  # a v2 dtype is not a v3 data type
    ("data_type", {"name": "no_such_extension", "configuration": {}}, UnsupportedDataTypeError),
    ("chunk_grid", "invalid", MetadataError),
    ("chunk_grid", {"name": "no_such_grid", "configuration": {"chunk_shape": [4, 4]}},
     MetadataError),
    ("chunk_grid", {"name": "regular"}, MetadataError),
    ("chunk_grid", {"name": "regular", "configuration": {}}, MetadataError),
    ("chunk_grid", grid("invalid"), MetadataError),
    ("chunk_grid", grid([4]), MetadataError),
    ("chunk_grid", grid([4, 0]), MetadataError),
    ("chunk_grid", grid([4, -4]), MetadataError),
    ("chunk_key_encoding", "invalid", MetadataError),
    ("chunk_key_encoding", key_encoding("no_such_encoding", "/"), MetadataError),
    ("chunk_key_encoding", key_encoding("default", "x"), MetadataError),
    ("chunk_key_encoding", key_encoding("v2", "|"), MetadataError),
    ("storage_transformers", [{"name": "no_such_transformer"}], MetadataError),
    ("storage_transformers", "invalid", MetadataError),
    ("fill_value", "invalid", MetadataError),
    ("fill_value", "NaN", MetadataError),
    ("fill_value", [], MetadataError),
    ("fill_value", 40000, MetadataError),
    ("fill_value", 1.5, MetadataError),
    ("dimension_names", "yx", MetadataError),
    ("dimension_names", ["y"], MetadataError),
    ("dimension_names", ["y", "x", "t"], MetadataError),
    ("dimension_names", [1, 2], MetadataError),
    ("attributes", "invalid", MetadataError),
    ("attributes", [1], MetadataError),
    ("codecs", None, MetadataError),
    ("codecs", "invalid", MetadataError),
    ("codecs", [], MetadataError),  # no array -> bytes codec
    ("codecs", [BYTES_LE, BYTES_LE], MetadataError),  # two array -> bytes codecs
    ("codecs", [CRC32C, BYTES_LE], MetadataError),  # bytes -> bytes before array -> bytes
    ("codecs", [{"name": "no_such_codec"}, BYTES_LE], UnsupportedCodecError),
    ("codecs", [BYTES_LE, {"name": "no_such_codec"}], UnsupportedCodecError),
    ("codecs", [{"name": "bytes", "configuration": {"endian": "middle"}}],
     UnsupportedCodecError),
    ("codecs", [BYTES_LE, {"name": "zstd", "configuration": {"level": "high"}}],
     UnsupportedCodecError),
    ("codecs", [BYTES_LE, {"name": "gzip", "configuration": {"level": 99}}],
     UnsupportedCodecError),
    ("codecs", [{"name": "transpose", "configuration": {"order": [0]}}, BYTES_LE],
     UnsupportedCodecError),
    ("codecs", [{"name": "transpose", "configuration": {"order": [0, 0]}}, BYTES_LE],
     UnsupportedCodecError),
    ("codecs", [BYTES_LE, {"name": "crc32c", "configuration": {"no_such_option": 1}}],
     UnsupportedCodecError),
    # An unknown top-level member that does not say ``"must_understand": false``.
    ("no_such_member", 1, MetadataError),
    ("no_such_member", {"must_understand": True}, MetadataError),
]


@pytest.mark.parametrize(
    ("member", "value", "error"),
    ZARR_JSON_WRONG_VALUES,
    ids=[f"{m}={json.dumps(v)}" for m, v, _ in ZARR_JSON_WRONG_VALUES],
)
def test_zarr_json_wrong_value(tmp_path: Path, member: str, value: Any,
                               error: type[GeoZarrError]) -> None:
    root = v3_store(tmp_path, changed(ARRAY_V3, **{member: value}))
    named = ["a/zarr.json"]
    if member not in ("codecs", "shape", "chunk_grid"):  # a rank clash may name either side
        named.append(member)
    raises_naming(error, lambda: geozarr.open_array(root, path="a"), *named)


def test_zarr_json_extension_member_that_may_be_ignored(tmp_path: Path) -> None:
    """A member marked ``"must_understand": false`` is ignored (the positive control)."""
    doc = changed(ARRAY_V3, no_such_member={"must_understand": False, "anything": [1]})
    array = geozarr.open_array(v3_store(tmp_path, doc), path="a")
    assert array.shape == (6, 8)


UINT8_BAD_FILLS = ["invalid", "NaN", "Infinity", "0x00", "0b00", 256, -1, 1.5, [0]]


@pytest.mark.parametrize("fill", UINT8_BAD_FILLS, ids=[json.dumps(f) for f in UINT8_BAD_FILLS])
def test_zarr_json_uint8_bad_fill(tmp_path: Path, fill: Any) -> None:
    """Hex and binary bit patterns are for floats only; integers take JSON integers."""
    root = v3_store(tmp_path, changed(ARRAY_V3, data_type="uint8", fill_value=fill))
    raises_naming(MetadataError, lambda: geozarr.open_array(root, path="a"), "a/zarr.json",
                  "fill_value")


COMPLEX_BAD_FILLS = [1, "NaN", [], [1, 2, 3], ["invalid", 1], {"re": 1}]


@pytest.mark.parametrize("fill", COMPLEX_BAD_FILLS,
                         ids=[json.dumps(f) for f in COMPLEX_BAD_FILLS])
def test_zarr_json_complex_bad_fill(tmp_path: Path, fill: Any) -> None:
    root = v3_store(tmp_path, changed(ARRAY_V3, data_type="complex64", fill_value=fill))
    raises_naming(MetadataError, lambda: geozarr.open_array(root, path="a"), "a/zarr.json",
                  "fill_value")


def test_zarr_json_complex_good_fill(tmp_path: Path) -> None:
    """The positive control: a [re, im] pair with a special value opens."""
    doc = changed(ARRAY_V3, data_type="complex64", fill_value=[1.5, "NaN"])
    array = geozarr.open_array(v3_store(tmp_path, doc), path="a")
    value = array[0, 0]
    assert value.real == 1.5 and np.isnan(value.imag)


# -- sharding_indexed configuration (GDAL test_zarr_read_sharding_errors) -----------------

SHARDING_ERRORS: dict[str, dict[str, Any]] = {
    "configuration_missing": {"__whole__": DROP},
    "chunk_shape_missing": {"chunk_shape": DROP},
    "chunk_shape_not_array": {"chunk_shape": "invalid"},
    "chunk_shape_wrong_rank": {"chunk_shape": [4]},
    "chunk_shape_negative": {"chunk_shape": [-1, 4]},
    "chunk_shape_zero": {"chunk_shape": [0, 4]},
    "chunk_shape_not_dividing": {"chunk_shape": [3, 4]},
    "chunk_shape_larger_than_shard": {"chunk_shape": [16, 4]},
    "codecs_missing": {"codecs": DROP},
    "codecs_not_array": {"codecs": "invalid"},
    "codecs_empty": {"codecs": []},
    "codecs_unknown": {"codecs": [BYTES_LE, {"name": "no_such_codec"}]},
    "index_codecs_missing": {"index_codecs": DROP},
    "index_codecs_not_array": {"index_codecs": "invalid"},
    "index_codecs_empty": {"index_codecs": []},
    "index_codecs_unknown": {"index_codecs": [BYTES_LE, {"name": "no_such_codec"}]},
    # The index must have a fixed encoded size: no compressor may encode it.
    "index_codecs_variable_size": {
        "index_codecs": [BYTES_LE, {"name": "zstd", "configuration": {"level": 1}}]
    },
    "index_location_invalid": {"index_location": "middle"},
    "index_location_not_string": {"index_location": 1},
}


@pytest.mark.parametrize("defect", SHARDING_ERRORS.values(), ids=SHARDING_ERRORS)
def test_sharding_configuration_errors(tmp_path: Path, defect: dict[str, Any]) -> None:
    if "__whole__" in defect:
        doc = sharded_v3()
        del doc["codecs"][0]["configuration"]
    else:
        doc = sharded_v3(**defect)
    root = v3_store(tmp_path, doc)
    raises_naming(UnsupportedCodecError, lambda: geozarr.open_array(root, path="a"),
                  "a/zarr.json")


def test_sharding_configuration_not_object(tmp_path: Path) -> None:
    """A configuration that is not a JSON object is malformed metadata before it is a codec
    problem: MetadataError (the parent of UnsupportedCodecError) is the promise here."""
    doc = sharded_v3()
    doc["codecs"][0]["configuration"] = "invalid"
    root = v3_store(tmp_path, doc)
    raises_naming(MetadataError, lambda: geozarr.open_array(root, path="a"), "a/zarr.json",
                  "configuration")


# -- code-running codecs and the object dtype --------------------------------------------


class _Tripwire:
    """Unpickling this creates ``path``: proof that decoding ran code from the store."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self) -> tuple[Any, tuple[str, str]]:
        return (open, (self.path, "w"))


def _tripwire_chunk(tmp_path: Path) -> tuple[bytes, Path]:
    marker = tmp_path / "code_ran"
    return pickle.dumps(_Tripwire(str(marker))), marker


@pytest.fixture
def numcodecs_unpickles(monkeypatch: pytest.MonkeyPatch) -> None:
    """Opt numcodecs in to unpickling (numcodecs >= 0.16 refuses by default), so that the
    tests prove geozarr refuses on its own, whatever the process-wide numcodecs setting."""
    monkeypatch.setattr(numcodecs.pickles, "ALLOW_UNSAFE_PICKLE_DECODE", True)


@pytest.mark.usefixtures("numcodecs_unpickles")
def test_tripwire_works(tmp_path: Path) -> None:
    """The control: with the opt-in, the numcodecs pickle codec does run the payload."""
    payload, marker = _tripwire_chunk(tmp_path)
    numcodecs.Pickle().decode(payload)
    assert marker.exists()


PICKLE_V2 = {
    "object_dtype_pickle_filter": changed(ARRAY_V2, dtype="|O", filters=[{"id": "pickle"}]),
    "pickle_compressor": changed(ARRAY_V2, compressor={"id": "pickle"}),
    "pickle_filter_numeric": changed(ARRAY_V2, filters=[{"id": "pickle"}]),
}


@pytest.mark.usefixtures("numcodecs_unpickles")
@pytest.mark.parametrize("opener", OPENERS)
@pytest.mark.parametrize("doc", PICKLE_V2.values(), ids=PICKLE_V2)
def test_v2_pickle_is_refused_at_open(tmp_path: Path, doc: dict[str, Any], opener: str) -> None:
    payload, marker = _tripwire_chunk(tmp_path)
    root = v2_store(tmp_path, doc, **{"a/0.0": payload})
    raises_naming(UnsafeCodecError, lambda: OPENERS[opener](root), "a/.zarray", "pickle")
    assert not marker.exists()


@pytest.mark.parametrize("doc", PICKLE_V2.values(), ids=PICKLE_V2)
@pytest.mark.usefixtures("numcodecs_unpickles")
def test_v2_pickle_never_runs(tmp_path: Path, doc: dict[str, Any]) -> None:
    """Even a reader that got past opening must not unpickle the chunk."""
    payload, marker = _tripwire_chunk(tmp_path)
    root = v2_store(tmp_path, doc, **{"a/0.0": payload})
    with pytest.raises(UnsafeCodecError):
        geozarr.open_array(root, path="a")[...]
    assert not marker.exists()


def test_v2_object_dtype_without_codec(tmp_path: Path) -> None:
    root = v2_store(tmp_path, changed(ARRAY_V2, dtype="|O", fill_value=None))
    raises_naming(MetadataError, lambda: geozarr.open_array(root, path="a"), "a/.zarray")


PICKLE_V3 = {
    "array_bytes": [{"name": "numcodecs.pickle", "configuration": {}}],
    "bytes_bytes": [BYTES_LE, {"name": "numcodecs.pickle", "configuration": {}}],
}


@pytest.mark.usefixtures("numcodecs_unpickles")
@pytest.mark.parametrize("codecs", PICKLE_V3.values(), ids=PICKLE_V3)
def test_v3_pickle_is_refused(tmp_path: Path, codecs: list[dict[str, Any]]) -> None:
    payload, marker = _tripwire_chunk(tmp_path)
    root = v3_store(tmp_path, changed(ARRAY_V3, codecs=codecs), **{"a/c/0/0": payload})
    raises_naming(UnsafeCodecError, lambda: geozarr.open_array(root, path="a"), "a/zarr.json",
                  "pickle")
    with pytest.raises(UnsafeCodecError):
        geozarr.open_array(root, path="a")[...]
    assert not marker.exists()


@pytest.mark.usefixtures("numcodecs_unpickles")
def test_consolidated_v2_pickle_is_refused(tmp_path: Path) -> None:
    """Consolidated metadata is validated exactly as the document it copies."""
    payload, marker = _tripwire_chunk(tmp_path)
    doc = PICKLE_V2["object_dtype_pickle_filter"]
    zmetadata = {
        "zarr_consolidated_format": 1,
        "metadata": {".zgroup": GROUP_V2, "a/.zarray": doc},
    }
    root = v2_store(tmp_path, doc, **{".zmetadata": zmetadata, "a/0.0": payload})
    with pytest.raises(UnsafeCodecError):
        geozarr.open_group(root)["a"][...]
    assert not marker.exists()


@pytest.mark.usefixtures("numcodecs_unpickles")
def test_consolidated_v3_pickle_is_refused(tmp_path: Path) -> None:
    payload, marker = _tripwire_chunk(tmp_path)
    doc = changed(ARRAY_V3, codecs=PICKLE_V3["array_bytes"])
    root_doc = changed(GROUP_V3, consolidated_metadata={
        "kind": "inline", "must_understand": False, "metadata": {"a": doc},
    })
    root = write_docs(tmp_path / "root", {"zarr.json": root_doc, "a/zarr.json": doc,
                                          "a/c/0/0": payload})
    with pytest.raises(UnsafeCodecError):
        geozarr.open_group(root)["a"][...]
    assert not marker.exists()


# -- consolidated metadata ----------------------------------------------------------------


def test_malformed_zmetadata(tmp_path: Path) -> None:
    root = v2_store(tmp_path, ARRAY_V2, **{".zmetadata": b'{"metadata": {'})
    raises_naming(MetadataError, lambda: geozarr.open_group(root), ".zmetadata")
    group = geozarr.open_group(root, use_consolidated=False)  # the documents themselves are fine
    assert "a" in group


@pytest.mark.parametrize("doc", [{"metadata": []}, {"zarr_consolidated_format": 1},
                                 {"zarr_consolidated_format": 99, "metadata": {}}],
                         ids=["metadata_list", "metadata_missing", "unknown_format"])
def test_zmetadata_wrong_values(tmp_path: Path, doc: dict[str, Any]) -> None:
    root = v2_store(tmp_path, ARRAY_V2, **{".zmetadata": doc})
    raises_naming(MetadataError, lambda: geozarr.open_group(root), ".zmetadata")


def test_zmetadata_entry_is_validated(tmp_path: Path) -> None:
    """A bad array document inside .zmetadata is as bad as the .zarray it stands for."""
    bad = changed(ARRAY_V2, dtype="<u16")
    zmetadata = {"zarr_consolidated_format": 1, "metadata": {".zgroup": GROUP_V2,
                                                             "a/.zarray": bad}}
    root = v2_store(tmp_path, ARRAY_V2, **{".zmetadata": zmetadata})
    with pytest.raises(UnsupportedDataTypeError) as info:
        geozarr.open_group(root)["a"]
    assert "a/.zarray" in str(info.value)


@pytest.mark.parametrize("bad_key", ["../x/.zarray", "/x/.zarray", "a/../../x/.zarray"])
def test_zmetadata_with_escaping_key(tmp_path: Path, bad_key: str) -> None:
    """A consolidated entry whose key leaves the store is refused, or at least unreachable."""
    zmetadata = {"zarr_consolidated_format": 1,
                 "metadata": {".zgroup": GROUP_V2, "a/.zarray": ARRAY_V2, bad_key: ARRAY_V2}}
    root = v2_store(tmp_path, ARRAY_V2, **{".zmetadata": zmetadata})
    try:
        group = geozarr.open_group(root)
    except (InvalidKeyError, MetadataError) as error:
        assert ".zmetadata" in str(error) or bad_key in str(error)
        return
    assert list(group) == ["a"]
    with pytest.raises(InvalidKeyError):
        group["../x"]


def test_v3_inline_consolidated_not_object(tmp_path: Path) -> None:
    root_doc = changed(GROUP_V3, consolidated_metadata={"kind": "inline",
                                                        "must_understand": False,
                                                        "metadata": "invalid"})
    root = write_docs(tmp_path / "root", {"zarr.json": root_doc, "a/zarr.json": ARRAY_V3})
    raises_naming(MetadataError, lambda: geozarr.open_group(root), "zarr.json",
                  "consolidated_metadata")


# -- groups and nodes --------------------------------------------------------------------


GROUP_V3_WRONG = {
    "node_type_missing": changed(GROUP_V3, node_type=DROP),
    "node_type_banana": changed(GROUP_V3, node_type="banana"),
    "zarr_format_missing": changed(GROUP_V3, zarr_format=DROP),
    "zarr_format_2": changed(GROUP_V3, zarr_format=2),
    "attributes_not_object": changed(GROUP_V3, attributes=[1, 2]),
}


@pytest.mark.parametrize("doc", GROUP_V3_WRONG.values(), ids=GROUP_V3_WRONG)
def test_group_zarr_json_wrong(tmp_path: Path, doc: dict[str, Any]) -> None:
    root = write_docs(tmp_path / "root", {"zarr.json": GROUP_V3, "g/zarr.json": doc})
    raises_naming(MetadataError, lambda: geozarr.open_group(root, path="g"), "g/zarr.json")


@pytest.mark.parametrize("doc", [{"zarr_format": 3}, {"zarr_format": None}, {}],
                         ids=["format_3", "format_null", "empty"])
def test_zgroup_wrong(tmp_path: Path, doc: dict[str, Any]) -> None:
    root = write_docs(tmp_path / "root", {".zgroup": GROUP_V2, "g/.zgroup": doc})
    raises_naming(MetadataError, lambda: geozarr.open_group(root, path="g"), "g/.zgroup")


def test_missing_node(tmp_path: Path) -> None:
    root = v3_store(tmp_path, ARRAY_V3)
    raises_naming(NodeNotFoundError, lambda: geozarr.open_array(root, path="nothing"),
                  "nothing")
    raises_naming(NodeNotFoundError, lambda: geozarr.open_group(root, path="nothing"),
                  "nothing")
    raises_naming(NodeNotFoundError, lambda: geozarr.open_node(root, path="nothing"), "nothing")
    raises_naming(NodeNotFoundError, lambda: geozarr.open_group(root)["nothing"], "nothing")
    (tmp_path / "root" / "empty_dir").mkdir()
    raises_naming(NodeNotFoundError, lambda: geozarr.open_node(root, path="empty_dir"), "empty_dir")


def test_missing_store(tmp_path: Path) -> None:
    missing = str(tmp_path / "no_such_store")
    raises_naming(NodeNotFoundError, lambda: geozarr.open_group(missing), "no_such_store")
    raises_naming(NodeNotFoundError, lambda: geozarr.open_array(missing), "no_such_store")
    assert not os.path.exists(missing)  # reading never creates


def test_array_where_group_expected_and_back(tmp_path: Path) -> None:
    root = v3_store(tmp_path, ARRAY_V3)
    raises_naming(NodeNotFoundError, lambda: geozarr.open_group(root, path="a"), "a")
    raises_naming(NodeNotFoundError, lambda: geozarr.open_array(root, path=""), "")


def test_store_path_is_a_file(tmp_path: Path) -> None:
    path = tmp_path / "not_a_store"
    path.write_bytes(b"hello")
    for call in (lambda: geozarr.open_group(str(path)), lambda: geozarr.open_array(str(path)),
                 lambda: geozarr.open_group(str(path), mode="a")):
        raises_naming(GeoZarrError, call, "not_a_store")
    assert path.read_bytes() == b"hello"


@pytest.mark.parametrize("content", [b"", b"PK\x03\x04 truncated", b"not a zip at all"],
                         ids=["empty", "truncated", "garbage"])
def test_corrupt_zip_store(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "bad.zip"
    path.write_bytes(content)
    raises_naming(GeoZarrError, lambda: geozarr.open_group(str(path)), "bad.zip")
    assert path.read_bytes() == content


def test_wrong_zarr_format_requested(tmp_path: Path) -> None:
    root = v3_store(tmp_path, ARRAY_V3)
    raises_naming(NodeNotFoundError, lambda: geozarr.open_array(root, path="a", zarr_format=2),
                  "a")


# -- node names and paths ----------------------------------------------------------------

# Names that would leave the store, collide with metadata, or are not names at all. The
# Zarr v3 spec forbids "", names made only of periods, and "/" inside a node name; keys
# forbid ".." and absolute paths. "a/b" is fine for create_array (intermediate groups).
BAD_NAMES = ["..", "../x", "/abs", "/x", "a/../../b", "a/../x", ".", "...", "a//b", "a/./b",
             ".zarray", ".zgroup", ".zattrs", ".zmetadata", "zarr.json", "a/zarr.json",
             "a/.zarray", "x\x00y", "a\n", "..\\x", "C:x"]


@pytest.fixture
def guarded(tmp_path: Path) -> tuple[str, Path]:
    """A v3 store holding a group, and a valid array just outside it, at ``../x``.

    The outside array makes an escape observable: a path that climbs out would open it,
    and a create that climbs out would overwrite it.
    """
    root = write_docs(tmp_path / "root", {"zarr.json": GROUP_V3})
    write_docs(tmp_path, {"x/zarr.json": ARRAY_V3})
    return root, tmp_path


def _name_id(name: str) -> str:
    return repr(name) if name else "empty"


@pytest.mark.parametrize("name", BAD_NAMES, ids=_name_id)
@pytest.mark.parametrize("method", ["create_group", "require_group", "create_array"])
def test_group_method_refuses_bad_name(guarded: tuple[str, Path], name: str,
                                       method: str) -> None:
    root, top = guarded
    before = snapshot(top)
    group = geozarr.open_group(root, mode="r+")
    kwargs = {"shape": (2,), "dtype": "int8"} if method == "create_array" else {}
    with pytest.raises(InvalidKeyError) as info:
        getattr(group, method)(name, **kwargs)
    named = [name, *name.split("/")]  # the whole name, or the segment at fault
    assert any(repr(part) in str(info.value) for part in named), str(info.value)
    assert snapshot(top) == before


@pytest.mark.parametrize("method", ["create_group", "create_array"])
def test_group_method_refuses_empty_name(guarded: tuple[str, Path], method: str) -> None:
    """"" names the group itself (as name="" names the root in create_array): refused as
    invalid, or as already existing; nothing is written either way."""
    root, top = guarded
    before = snapshot(top)
    group = geozarr.open_group(root, mode="r+")
    kwargs = {"shape": (2,), "dtype": "int8"} if method == "create_array" else {}
    with pytest.raises((InvalidKeyError, NodeExistsError)):
        getattr(group, method)("", **kwargs)
    assert snapshot(top) == before


@pytest.mark.parametrize("zarr_format", [2, 3])
@pytest.mark.parametrize("name", BAD_NAMES, ids=_name_id)
def test_create_array_refuses_bad_name(guarded: tuple[str, Path], name: str,
                                       zarr_format: int) -> None:
    root, top = guarded
    before = snapshot(top)
    with pytest.raises(InvalidKeyError):
        geozarr.create_array(root, name=name, shape=(2,), dtype="int8", zarr_format=zarr_format)
    assert snapshot(top) == before


def test_create_array_nested_name_creates_groups(tmp_path: Path) -> None:
    """The positive control: "a/b" is a path, and the enclosing group is made."""
    root = write_docs(tmp_path / "root", {"zarr.json": GROUP_V3})
    geozarr.create_array(root, name="a/b", shape=(2,), dtype="int8")
    assert list(geozarr.open_group(root, path="a")) == ["b"]
    assert geozarr.open_array(root, path="a/b").shape == (2,)


BAD_PATHS = ["..", "../x", "a/../../x", "../root/../x", "..\\x"]


@pytest.mark.parametrize("path", BAD_PATHS)
@pytest.mark.parametrize("opener", ["open_array", "open_group", "open_node", "getitem"])
def test_open_refuses_escaping_path(guarded: tuple[str, Path], path: str, opener: str) -> None:
    root, top = guarded
    with pytest.raises(InvalidKeyError):
        if opener == "getitem":
            geozarr.open_group(root)[path]
        else:
            getattr(geozarr, opener)(root, path=path)


@pytest.mark.parametrize("absolute", [True, False], ids=["filesystem_path", "slash_x"])
@pytest.mark.parametrize("opener", ["open_array", "open_node"])
def test_open_never_follows_absolute_path(guarded: tuple[str, Path], opener: str,
                                          absolute: bool) -> None:
    """``path`` is a key inside the store, never a file-system path (here: to a real array).

    A leading "/" may be refused, or read as the store's root (as zarr-python does); it
    must never reach the array outside.
    """
    root, top = guarded
    path = str(top / "x") if absolute else "/x"
    with pytest.raises((InvalidKeyError, NodeNotFoundError)):
        getattr(geozarr, opener)(root, path=path)


# -- bad arguments to create_array -------------------------------------------------------

CREATE_ERRORS: dict[str, tuple[dict[str, Any], type[GeoZarrError]]] = {
    "negative_shape": ({"shape": (-1, 4)}, GeoZarrError),
    "zero_chunk": ({"chunks": (0, 4)}, GeoZarrError),
    "negative_chunk": ({"chunks": (-2, 4)}, GeoZarrError),
    "chunks_wrong_rank": ({"chunks": (4,)}, GeoZarrError),
    "huge_chunk": ({"shape": (2**40, 2**40), "chunks": (2**40, 2**40)}, GeoZarrError),
    "chunk_count_over_2^64": ({"shape": (2**30,) * 3, "chunks": (1, 1, 1)}, GeoZarrError),
    "dim_over_int64": ({"shape": (2**64, 1), "chunks": (1, 1)}, GeoZarrError),
    "unknown_dtype": ({"dtype": "invalid"}, UnsupportedDataTypeError),
    "object_dtype": ({"dtype": object}, MetadataError),
    "pickle_compressor": ({"compressor": numcodecs.Pickle()}, UnsafeCodecError),
    "pickle_filter": ({"filters": [numcodecs.Pickle()]}, UnsafeCodecError),
    "pickle_filter_v2": ({"filters": [numcodecs.Pickle()], "zarr_format": 2}, UnsafeCodecError),
    "shards_not_multiple": ({"shards": (6, 4)}, GeoZarrError),
    "shards_wrong_rank": ({"shards": (8,)}, GeoZarrError),
    "shards_in_v2": ({"shards": (8, 8), "zarr_format": 2}, GeoZarrError),
    "zarr_format_4": ({"zarr_format": 4}, GeoZarrError),
    "order_x": ({"order": "X"}, GeoZarrError),
    "dimension_names_wrong_length": ({"dimension_names": ("y",)}, MetadataError),
    "fill_value_not_int": ({"fill_value": "x"}, MetadataError),
    "fill_value_out_of_range": ({"fill_value": 40000}, MetadataError),
    "dimension_separator_x": ({"dimension_separator": "x", "zarr_format": 2}, MetadataError),
}


@pytest.mark.parametrize(("changes", "error"), CREATE_ERRORS.values(), ids=CREATE_ERRORS)
def test_create_array_refuses_bad_arguments(tmp_path: Path, changes: dict[str, Any],
                                            error: type[GeoZarrError]) -> None:
    """Refused before anything is written (GDAL #11023: no half-made array is left)."""
    root = write_docs(tmp_path / "root", {"zarr.json": GROUP_V3})
    before = snapshot(tmp_path)
    kwargs: dict[str, Any] = {"name": "new", "shape": (8, 8), "chunks": (4, 4), "dtype": "int16"}
    kwargs.update(changes)
    with pytest.raises(error) as info:
        geozarr.create_array(root, **kwargs)
    assert isinstance(info.value, ValueError), "bad arguments are ValueErrors"
    assert str(info.value)
    assert snapshot(tmp_path) == before
