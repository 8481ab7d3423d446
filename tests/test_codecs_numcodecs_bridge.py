"""Building numcodecs codecs from untrusted metadata: geozarr.codecs.numcodecs_bridge."""

from __future__ import annotations

import pickle

import numcodecs
import numpy as np
import pytest

from geozarr.codecs.numcodecs_bridge import make_numcodec
from geozarr.errors import UnsafeCodecError, UnsupportedCodecError


@pytest.mark.parametrize("config, cls", [
    ({"id": "zstd", "level": 3}, numcodecs.Zstd),
    ({"id": "blosc", "cname": "lz4", "clevel": 5, "shuffle": 1}, numcodecs.Blosc),
    ({"id": "zlib", "level": 1}, numcodecs.Zlib),
    ({"id": "delta", "dtype": "<i4"}, numcodecs.Delta),
    ({"id": "vlen-utf8"}, numcodecs.VLenUTF8),
    ({"id": "vlen-bytes"}, numcodecs.VLenBytes),
    ({"id": "categorize", "labels": ["a", "b"], "dtype": "<U1", "astype": "u1"},
     numcodecs.Categorize),
])
def test_builds_safe_codecs_without_touching_the_config(config: dict, cls: type) -> None:
    before = dict(config)
    codec = make_numcodec(config, key="a/.zarray")
    assert isinstance(codec, cls)
    assert config == before
    assert codec.get_config()["id"] == config["id"]


def test_built_codec_is_configured_as_asked() -> None:
    codec = make_numcodec({"id": "zstd", "level": 7}, key="a/.zarray")
    data = np.arange(1000, dtype="u2").tobytes()
    assert codec.level == 7
    assert bytes(codec.decode(codec.encode(data))) == data


@pytest.mark.parametrize("codec_id", ["pickle", "msgpack2", "json2", "vlen-array"])
def test_codecs_yielding_python_objects_are_refused(codec_id: str) -> None:
    with pytest.raises(UnsafeCodecError, match=f"a/.zarray.*{codec_id}"):
        make_numcodec({"id": codec_id}, key="a/.zarray")


def test_pickle_payload_is_never_decoded() -> None:
    # The whole point: metadata asking for pickle must not get a codec at all.
    payload = pickle.dumps(np.array([1, 2], dtype=object))
    with pytest.raises(UnsafeCodecError):
        make_numcodec({"id": "pickle"}, key="a/.zarray").decode(payload)


@pytest.mark.parametrize("config", [
    {"id": "astype", "encode_dtype": "f8", "decode_dtype": "O"},
    {"id": "categorize", "labels": ["a"], "dtype": "object", "astype": "u1"},
    {"id": "delta", "dtype": "|O"},
    {"id": "fixedscaleoffset", "offset": 0, "scale": 1, "dtype": "f8",
     "astype": [("a", "O")]},
])
def test_object_data_types_are_refused(config: dict) -> None:
    with pytest.raises(UnsafeCodecError, match="object data type"):
        make_numcodec(config, key="a/.zarray")


def test_unknown_id_names_the_key_and_the_id() -> None:
    with pytest.raises(UnsupportedCodecError, match=r"a/\.zarray.*unknown.*'no-such-codec'"):
        make_numcodec({"id": "no-such-codec"}, key="a/.zarray")


@pytest.mark.parametrize("config", [
    {"id": "zstd", "not_a_parameter": 1},
    {"id": "fixedscaleoffset"},
    {"id": "delta", "dtype": "not a dtype"},
    {"id": "crc32", "location": "middle"},
])
def test_bad_configuration_names_the_key_and_the_id(config: dict) -> None:
    with pytest.raises(UnsupportedCodecError, match=rf"a/\.zarray.*'{config['id']}'") as info:
        make_numcodec(config, key="a/.zarray")
    assert not isinstance(info.value, UnsafeCodecError)


@pytest.mark.parametrize("config", [{}, {"id": 3}, {"level": 1}, "zstd", ["zstd"], None])
def test_malformed_entries_are_refused(config: object) -> None:
    with pytest.raises(UnsupportedCodecError, match=r"a/\.zarray"):
        make_numcodec(config, key="a/.zarray")  # type: ignore[arg-type]
