"""From codec JSON and numcodecs codecs to codec objects: geozarr.codecs.registry."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numcodecs
import numpy as np
import pytest

from geozarr.codecs import registry
from geozarr.codecs.base import ArrayArrayCodec, BytesBytesCodec, Codec
from geozarr.codecs.bytes_codec import BytesCodec, VlenUtf8Codec
from geozarr.codecs.compressors import BloscCodec, Crc32cCodec, GzipCodec, ZstdCodec
from geozarr.codecs.registry import codec_from_dict, codec_from_numcodec, register_codec
from geozarr.codecs.transpose import TransposeCodec
from geozarr.errors import UnsupportedCodecError

KEY = "group/array/zarr.json"

CORE = [
    ({"name": "bytes", "configuration": {"endian": "little"}}, BytesCodec),
    ({"name": "bytes", "configuration": {"endian": "big"}}, BytesCodec),
    ({"name": "bytes"}, BytesCodec),
    ({"name": "transpose", "configuration": {"order": [1, 0, 2]}}, TransposeCodec),
    ({"name": "transpose", "configuration": {"order": "F"}}, TransposeCodec),
    ({"name": "blosc", "configuration": {"typesize": 4, "cname": "zstd", "clevel": 5,
                                         "shuffle": "bitshuffle", "blocksize": 0}}, BloscCodec),
    ({"name": "gzip", "configuration": {"level": 5}}, GzipCodec),
    ({"name": "zstd", "configuration": {"level": 0, "checksum": False}}, ZstdCodec),
    ({"name": "zstd", "configuration": {"level": -5, "checksum": True}}, ZstdCodec),
    ({"name": "crc32c"}, Crc32cCodec),
    ({"name": "vlen-utf8", "configuration": {}}, VlenUtf8Codec),
]


@pytest.mark.parametrize("document, cls", CORE, ids=lambda v: str(v)[:40])
def test_core_codecs_build_and_round_trip_their_json(document: dict, cls: type) -> None:
    codec = codec_from_dict(document, key=KEY)
    assert type(codec) is cls
    assert codec.to_dict() == document
    assert codec_from_dict(codec.to_dict(), key=KEY) == codec


NUMCODECS_NAMES = {
    "numcodecs.blosc": BytesBytesCodec, "numcodecs.lz4": BytesBytesCodec,
    "numcodecs.zstd": BytesBytesCodec, "numcodecs.zlib": BytesBytesCodec,
    "numcodecs.gzip": BytesBytesCodec, "numcodecs.bz2": BytesBytesCodec,
    "numcodecs.lzma": BytesBytesCodec, "numcodecs.shuffle": BytesBytesCodec,
    "numcodecs.crc32": BytesBytesCodec, "numcodecs.crc32c": BytesBytesCodec,
    "numcodecs.adler32": BytesBytesCodec, "numcodecs.fletcher32": BytesBytesCodec,
    "numcodecs.jenkins_lookup3": BytesBytesCodec,
    "numcodecs.delta": ArrayArrayCodec, "numcodecs.bitround": ArrayArrayCodec,
    "numcodecs.fixedscaleoffset": ArrayArrayCodec, "numcodecs.quantize": ArrayArrayCodec,
    "numcodecs.packbits": ArrayArrayCodec, "numcodecs.astype": ArrayArrayCodec,
}
NUMCODECS_CONFIGS: dict[str, dict[str, Any]] = {
    "numcodecs.delta": {"dtype": "<i4"},
    "numcodecs.bitround": {"keepbits": 4},
    "numcodecs.fixedscaleoffset": {"offset": 1, "scale": 2, "dtype": "<f8", "astype": "<u1"},
    "numcodecs.quantize": {"digits": 2, "dtype": "<f4"},
    "numcodecs.astype": {"encode_dtype": "<f4", "decode_dtype": "<f8"},
}


@pytest.mark.parametrize("name", NUMCODECS_NAMES)
def test_every_numcodecs_name_zarr_python_writes_is_registered(name: str) -> None:
    document = {"name": name, "configuration": NUMCODECS_CONFIGS.get(name, {})}
    codec = codec_from_dict(document, key=KEY)
    assert isinstance(codec, NUMCODECS_NAMES[name])
    assert codec.name == name
    assert codec.to_dict() == document
    assert codec_from_dict(codec.to_dict(), key=KEY) == codec


def test_bare_names_and_the_legacy_endian_name() -> None:
    assert type(codec_from_dict("crc32c", key=KEY)) is Crc32cCodec
    assert codec_from_dict("bytes", key=KEY).to_dict() == {"name": "bytes"}
    legacy = codec_from_dict({"name": "endian", "configuration": {"endian": "big"}}, key=KEY)
    assert type(legacy) is BytesCodec
    assert legacy.to_dict() == {"name": "bytes", "configuration": {"endian": "big"}}


def test_must_understand_member_is_accepted() -> None:
    codec = codec_from_dict({"name": "gzip", "configuration": {"level": 1},
                             "must_understand": True}, key=KEY)
    assert codec == GzipCodec.from_config({"level": 1}, key=KEY)


def test_legacy_blosc_integer_shuffle_is_read_as_a_name() -> None:
    codec = codec_from_dict({"name": "blosc", "configuration": {
        "cname": "lz4", "clevel": 1, "shuffle": 1, "blocksize": 0}}, key=KEY)
    assert codec.to_dict()["configuration"]["shuffle"] == "shuffle"


def test_unknown_codec_names_the_key_and_the_name() -> None:
    with pytest.raises(UnsupportedCodecError, match=r"group/array/zarr\.json.*'lerc'"):
        codec_from_dict({"name": "lerc", "configuration": {}}, key=KEY)
    with pytest.raises(UnsupportedCodecError, match="'numcodecs.pickle'"):
        codec_from_dict({"name": "numcodecs.pickle", "configuration": {}}, key=KEY)


@pytest.mark.parametrize("document", [
    42, ["zstd"], {"configuration": {}}, {"name": 3}, {"name": "zstd", "extra": 1},
    {"name": "zstd", "configuration": [1, 2]},
], ids=str)
def test_malformed_entries_name_the_key(document: Any) -> None:
    with pytest.raises(UnsupportedCodecError, match=r"group/array/zarr\.json"):
        codec_from_dict(document, key=KEY)


BAD_CONFIGURATIONS = [
    ("bytes", {"endian": "middle"}),
    ("bytes", {"endian": "little", "order": "C"}),
    ("transpose", {}),
    ("transpose", {"order": [0, 0]}),
    ("transpose", {"order": [1, 2]}),
    ("transpose", {"order": [0, True]}),
    ("transpose", {"order": "X"}),
    ("blosc", {"cname": "brotli"}),
    ("blosc", {"clevel": 10}),
    ("blosc", {"clevel": True}),
    ("blosc", {"shuffle": "byteshuffle"}),
    ("blosc", {"shuffle": 3}),
    ("blosc", {"typesize": 0}),
    ("blosc", {"blocksize": -1}),
    ("gzip", {"level": 10}),
    ("gzip", {"level": "5"}),
    ("zstd", {"level": 23}),
    ("zstd", {"checksum": "yes"}),
    ("zstd", {"level": 3, "threads": 2}),
    ("crc32c", {"seed": 1}),
    ("vlen-utf8", {"encoding": "latin-1"}),
    ("numcodecs.zstd", {"not_a_parameter": 1}),
    ("numcodecs.zlib", {"id": "gzip"}),
    ("numcodecs.delta", {}),
    ("numcodecs.zlib", "level 5"),
]


@pytest.mark.parametrize("name, configuration", BAD_CONFIGURATIONS, ids=str)
def test_bad_configurations_name_the_key_and_the_codec(name: str, configuration: Any) -> None:
    # numcodecs.* errors may name the numcodecs id alone ("numcodecs codec 'zstd'").
    named = name.removeprefix("numcodecs.")
    with pytest.raises(UnsupportedCodecError, match=rf"group/array/zarr\.json.*{named}'"):
        codec_from_dict({"name": name, "configuration": configuration}, key=KEY)


class _Dummy(BytesBytesCodec):
    name = "test.dummy"

    @classmethod
    def from_config(cls, configuration: Mapping[str, Any] | None, *, key: str) -> _Dummy:
        return cls()

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name}

    def encode(self, data: Any) -> bytes:
        return bytes(data)

    def decode(self, data: Any, *, max_nbytes: int | None, key: str,
               out: np.ndarray | None = None) -> Any:
        return data


def test_register_codec(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))
    register_codec("test.dummy", _Dummy)
    register_codec("test.dummy", _Dummy)  # the same class again: fine
    assert type(codec_from_dict({"name": "test.dummy"}, key=KEY)) is _Dummy
    with pytest.raises(UnsupportedCodecError, match="already registered"):
        register_codec("zstd", _Dummy)
    assert type(codec_from_dict({"name": "zstd"}, key=KEY)) is ZstdCodec


@pytest.mark.parametrize("numcodec, dtype, expected", [
    (numcodecs.Zstd(level=3), "u2",
     {"name": "zstd", "configuration": {"level": 3, "checksum": False}}),
    (numcodecs.Zstd(level=1, checksum=True), "u2",
     {"name": "zstd", "configuration": {"level": 1, "checksum": True}}),
    (numcodecs.Blosc(cname="lz4", clevel=5, shuffle=numcodecs.Blosc.SHUFFLE), "f8",
     {"name": "blosc", "configuration": {"typesize": 8, "cname": "lz4", "clevel": 5,
                                         "shuffle": "shuffle", "blocksize": 0}}),
    (numcodecs.Blosc(cname="zstd", clevel=3, shuffle=numcodecs.Blosc.AUTOSHUFFLE), "u1",
     {"name": "blosc", "configuration": {"typesize": 1, "cname": "zstd", "clevel": 3,
                                         "shuffle": "bitshuffle", "blocksize": 0}}),
    (numcodecs.Blosc(cname="zstd", clevel=3, shuffle=numcodecs.Blosc.AUTOSHUFFLE), "i4",
     {"name": "blosc", "configuration": {"typesize": 4, "cname": "zstd", "clevel": 3,
                                         "shuffle": "shuffle", "blocksize": 0}}),
    (numcodecs.GZip(level=6), "f4", {"name": "gzip", "configuration": {"level": 6}}),
    (numcodecs.CRC32C(), "u1", {"name": "crc32c"}),
    (numcodecs.Zlib(level=4), "u1", {"name": "numcodecs.zlib", "configuration": {"level": 4}}),
    (numcodecs.Delta(dtype="<i4"), "i4",
     {"name": "numcodecs.delta", "configuration": {"dtype": "<i4", "astype": "<i4"}}),
], ids=lambda v: repr(v)[:30])
def test_codec_from_numcodec(numcodec: Any, dtype: str, expected: dict) -> None:
    codec = codec_from_numcodec(numcodec, dtype=np.dtype(dtype))
    assert isinstance(codec, Codec)
    assert codec.to_dict() == expected


def test_codec_from_numcodec_matches_zarr_python_blosc() -> None:
    import zarr.codecs as zc
    from zarr.core.array_spec import ArrayConfig, ArraySpec
    from zarr.core.buffer import default_buffer_prototype
    from zarr.core.dtype import parse_dtype

    spec = ArraySpec(shape=(4,), dtype=parse_dtype(np.dtype("u2"), zarr_format=3),
                     fill_value=0, config=ArrayConfig.from_dict({}),
                     prototype=default_buffer_prototype())
    theirs = zc.BloscCodec(cname="lz4", clevel=5).evolve_from_array_spec(spec).to_dict()
    ours = codec_from_numcodec(numcodecs.Blosc(cname="lz4", clevel=5,
                                               shuffle=numcodecs.Blosc.AUTOSHUFFLE),
                               dtype=np.dtype("u2")).to_dict()
    assert ours == theirs


def test_codec_from_numcodec_without_a_v3_form() -> None:
    with pytest.raises(UnsupportedCodecError, match="categorize"):
        codec_from_numcodec(numcodecs.Categorize(["a"], dtype="<U1"), dtype=np.dtype("<U1"))
