"""The v3 codec leaves (bytes, vlen-utf8, transpose, blosc, gzip, zstd, crc32c, numcodecs.*)
against zarr-python 3: chunks it writes decode here, and chunks encoded here read there."""

from __future__ import annotations

import itertools
import json
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pytest
import zarr
import zarr.codecs as zc
from zarr.core.buffer import cpu

from geozarr.codecs.base import (
    ArrayArrayCodec,
    ArrayBytesCodec,
    BytesBytesCodec,
    ChunkSpec,
    Codec,
)
from geozarr.codecs.bytes_codec import BytesCodec, VlenUtf8Codec
from geozarr.codecs.compressors import BloscCodec, Crc32cCodec, GzipCodec, ZstdCodec
from geozarr.codecs.registry import codec_from_dict
from geozarr.codecs.transpose import TransposeCodec
from geozarr.errors import ChecksumError, ChunkDecodeError, UnsupportedCodecError

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import zarr.codecs.numcodecs as znc

# zarr-python warns that numcodecs.* codecs are outside the v3 spec: that is the point here.
pytestmark = pytest.mark.filterwarnings("ignore::zarr.errors.ZarrUserWarning")


# -- a minimal chain runner (the real one is geozarr.codecs.pipeline) -------------------------
def split(chain: Sequence[Codec]) -> tuple[list[ArrayArrayCodec], ArrayBytesCodec,
                                           list[BytesBytesCodec]]:
    array_array = [c for c in chain if isinstance(c, ArrayArrayCodec)]
    (array_bytes,) = [c for c in chain if isinstance(c, ArrayBytesCodec)]
    bytes_bytes = [c for c in chain if isinstance(c, BytesBytesCodec)]
    return array_array, array_bytes, bytes_bytes


def specs_down(array_array: list[ArrayArrayCodec], spec: ChunkSpec) -> list[ChunkSpec]:
    specs = [spec]
    for codec in array_array:
        specs.append(codec.resolve(specs[-1]))
    return specs


def decode_chunk(chain: Sequence[Codec], data: bytes, spec: ChunkSpec, key: str) -> np.ndarray:
    array_array, array_bytes, bytes_bytes = split(chain)
    specs = specs_down(array_array, spec)
    for codec in reversed(bytes_bytes):
        data = codec.decode(data, max_nbytes=None, key=key)
    array = array_bytes.decode(data, specs[-1], key=key)
    for codec, codec_spec in zip(reversed(array_array), reversed(specs[:-1])):
        array = codec.decode(array, codec_spec)
    return array


def encode_chunk(chain: Sequence[Codec], chunk: np.ndarray, spec: ChunkSpec) -> bytes:
    array_array, array_bytes, bytes_bytes = split(chain)
    specs = specs_down(array_array, spec)
    for codec, codec_spec in zip(array_array, specs):
        chunk = codec.encode(chunk, codec_spec)
    data: Any = array_bytes.encode(chunk, specs[-1])
    for codec in bytes_bytes:
        data = codec.encode(data)
    return bytes(data)


# -- zarr-python side ----------------------------------------------------------------------
SHAPE = (9, 7)
CHUNKS = (4, 3)


def zarr_create(store_dict: dict, dtype: Any, fill_value: Any, **kwargs: Any) -> zarr.Array:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return zarr.create_array(zarr.storage.MemoryStore(store_dict), shape=SHAPE,
                                 chunks=CHUNKS, dtype=dtype, fill_value=fill_value,
                                 config={"write_empty_chunks": True}, **kwargs)


def chunk_keys() -> list[tuple[str, tuple[slice, ...]]]:
    grid = [range(-(-n // c)) for n, c in zip(SHAPE, CHUNKS)]
    return [("c/" + "/".join(map(str, coords)),
             tuple(slice(i * c, min((i + 1) * c, n)) for i, c, n in zip(coords, CHUNKS, SHAPE)))
            for coords in itertools.product(*grid)]


def padded(values: np.ndarray, region: tuple[slice, ...], fill: Any) -> np.ndarray:
    chunk = np.full(CHUNKS, fill, dtype=values.dtype)
    chunk[tuple(slice(0, s.stop - s.start) for s in region)] = values[region]
    return chunk


CASES: dict[str, tuple[Any, Callable[[], dict[str, Any]]]] = {
    # name: (dtype, zarr-python create_array keywords)
    "bytes-u1": ("u1", lambda: {"compressors": None}),
    "bytes-bool": ("bool", lambda: {"compressors": None}),
    "bytes-big-i4": (">i4", lambda: {"compressors": None,
                                     "serializer": zc.BytesCodec(endian="big")}),
    "bytes-big-f8": ("f8", lambda: {"compressors": None,
                                    "serializer": zc.BytesCodec(endian="big")}),
    "bytes-c8": ("c8", lambda: {"compressors": None}),
    "zstd-default-u2": ("u2", lambda: {}),
    "zstd-checksum-i8": ("i8", lambda: {"compressors": zc.ZstdCodec(level=5, checksum=True)}),
    "zstd-big-u2": ("u2", lambda: {"compressors": zc.ZstdCodec(level=3),
                                   "serializer": zc.BytesCodec(endian="big")}),
    "blosc-lz4-shuffle-f8": ("f8", lambda: {"compressors": zc.BloscCodec(
        cname="lz4", clevel=5, shuffle="shuffle")}),
    "blosc-zstd-bitshuffle-u1": ("u1", lambda: {"compressors": zc.BloscCodec(
        cname="zstd", clevel=3, shuffle="bitshuffle")}),
    "blosc-zlib-noshuffle-i2": ("i2", lambda: {"compressors": zc.BloscCodec(
        cname="zlib", clevel=1, shuffle="noshuffle", typesize=2)}),
    "blosc-default-f4": ("f4", lambda: {"compressors": zc.BloscCodec()}),
    "gzip-f4": ("f4", lambda: {"compressors": zc.GzipCodec(level=6)}),
    "zstd-crc32c-i2": ("i2", lambda: {"compressors": [zc.ZstdCodec(level=1), zc.Crc32cCodec()]}),
    "crc32c-only-u2": ("u2", lambda: {"compressors": zc.Crc32cCodec()}),
    "transpose-u2": ("u2", lambda: {"filters": zc.TransposeCodec(order=(1, 0))}),
    "transpose-big-f8": ("f8", lambda: {"filters": zc.TransposeCodec(order=(1, 0)),
                                        "serializer": zc.BytesCodec(endian="big")}),
    "numcodecs-blosc": ("u2", lambda: {"compressors": znc.Blosc(cname="lz4", shuffle=2)}),
    "numcodecs-lz4": ("i4", lambda: {"compressors": znc.LZ4()}),
    "numcodecs-zstd": ("u2", lambda: {"compressors": znc.Zstd(level=2)}),
    "numcodecs-zlib": ("u2", lambda: {"compressors": znc.Zlib(level=4)}),
    "numcodecs-gzip": ("u2", lambda: {"compressors": znc.GZip(level=2)}),
    "numcodecs-bz2": ("f4", lambda: {"compressors": znc.BZ2(level=9)}),
    "numcodecs-lzma": ("f8", lambda: {"compressors": znc.LZMA()}),
    "numcodecs-shuffle": ("u4", lambda: {"compressors": [znc.Shuffle(elementsize=4),
                                                         znc.Zlib()]}),
    "numcodecs-checksums": ("u2", lambda: {"compressors": [
        znc.CRC32(), znc.Adler32(), znc.Fletcher32(), znc.JenkinsLookup3(), znc.CRC32C()]}),
    "numcodecs-delta": ("i4", lambda: {"filters": znc.Delta(dtype="<i4")}),
    "numcodecs-delta-astype": ("u2", lambda: {"filters": znc.Delta(dtype="<u2", astype="<i4")}),
    "numcodecs-fixedscaleoffset": ("f8", lambda: {"filters": znc.FixedScaleOffset(
        offset=10, scale=4, dtype="<f8", astype="<u2")}),
    "numcodecs-quantize": ("f4", lambda: {"filters": znc.Quantize(digits=2, dtype="<f4")}),
    "numcodecs-bitround": ("f4", lambda: {"filters": znc.BitRound(keepbits=6)}),
    "numcodecs-astype": ("f4", lambda: {"filters": znc.AsType(encode_dtype="<f8",
                                                              decode_dtype="<f4")}),
    "numcodecs-packbits": ("bool", lambda: {"filters": znc.PackBits(), "compressors": None}),
}

#: Chains whose encoding is not deterministic (gzip stores the time).
NOT_BYTE_IDENTICAL = {"gzip-f4", "numcodecs-gzip"}


def values_for(dtype: np.dtype) -> np.ndarray:
    rng = np.random.default_rng(7)
    if dtype.kind == "b":
        return rng.integers(0, 2, SHAPE).astype(bool)
    if dtype.kind == "f":
        return (rng.normal(50, 20, SHAPE)).round(2).astype(dtype)
    if dtype.kind == "c":
        return (rng.normal(size=SHAPE) + 1j * rng.normal(size=SHAPE)).astype(dtype)
    info = np.iinfo(dtype)
    return rng.integers(max(info.min, 0), min(info.max, 3000), SHAPE).astype(dtype)


@pytest.mark.parametrize("case", CASES)
def test_zarr_python_chunks_decode_here(case: str) -> None:
    dtype_spec, kwargs = CASES[case]
    dtype = np.dtype(dtype_spec)
    values = values_for(dtype)
    store: dict = {}
    zarr_create(store, dtype, 0, **kwargs())[...] = values
    document = json.loads(store["zarr.json"].to_bytes())
    chain = [codec_from_dict(c, key="a/zarr.json") for c in document["codecs"]]
    spec = ChunkSpec(CHUNKS, dtype.newbyteorder("="), 0)
    result = np.zeros(SHAPE, dtype=spec.dtype)
    for key, region in chunk_keys():
        chunk = decode_chunk(chain, store[key].to_bytes(), spec, key)
        assert chunk.shape == CHUNKS
        assert chunk.dtype == spec.dtype and chunk.dtype.isnative
        result[region] = chunk[tuple(slice(0, s.stop - s.start) for s in region)]
    expected = zarr.open_array(zarr.storage.MemoryStore(store))[...]
    np.testing.assert_array_equal(result, expected)


@pytest.mark.parametrize("case", CASES)
def test_chunks_encoded_here_read_in_zarr_python(case: str) -> None:
    dtype_spec, kwargs = CASES[case]
    dtype = np.dtype(dtype_spec)
    values = values_for(dtype)
    reference: dict = {}
    zarr_create(reference, dtype, 0, **kwargs())[...] = values
    document = json.loads(reference["zarr.json"].to_bytes())
    chain = [codec_from_dict(c, key="a/zarr.json") for c in document["codecs"]]
    assert [c.to_dict() for c in chain] == document["codecs"]
    spec = ChunkSpec(CHUNKS, dtype.newbyteorder("="), 0)
    ours: dict = {}
    array = zarr_create(ours, dtype, 0, **kwargs())
    for key, region in chunk_keys():
        encoded = encode_chunk(chain, padded(values, region, 0), spec)
        if case not in NOT_BYTE_IDENTICAL:
            assert encoded == reference[key].to_bytes(), key
        ours[key] = cpu.Buffer.from_bytes(encoded)
    read_back = array[...]
    np.testing.assert_array_equal(read_back, zarr.open_array(
        zarr.storage.MemoryStore(reference))[...])


# -- strings -------------------------------------------------------------------------------
def string_values() -> np.ndarray:
    words = ["", "a", "été", "raster", "ñandú", "日本語", "x" * 40]
    return np.array([[words[(i * 7 + j) % len(words)] for j in range(SHAPE[1])]
                     for i in range(SHAPE[0])], dtype=np.dtypes.StringDType())


def test_vlen_utf8_round_trips_with_zarr_python() -> None:
    values = string_values()
    reference: dict = {}
    zarr_create(reference, str, "")[...] = values
    document = json.loads(reference["zarr.json"].to_bytes())
    chain = [codec_from_dict(c, key="s/zarr.json") for c in document["codecs"]]
    assert isinstance(chain[0], VlenUtf8Codec)
    spec = ChunkSpec(CHUNKS, np.dtypes.StringDType(), "")
    ours: dict = {}
    array = zarr_create(ours, str, "")
    for key, region in chunk_keys():
        chunk = decode_chunk(chain, reference[key].to_bytes(), spec, key)
        assert chunk.dtype == np.dtypes.StringDType()
        expected = padded(values, region, "")
        np.testing.assert_array_equal(chunk, expected)
        encoded = encode_chunk(chain, expected, spec)
        assert encoded == reference[key].to_bytes()
        ours[key] = cpu.Buffer.from_bytes(encoded)
    assert array[...].tolist() == values.tolist()


def test_vlen_utf8_item_count_bomb_is_refused_before_allocating() -> None:
    codec = VlenUtf8Codec.from_config({}, key="s/zarr.json")
    spec = ChunkSpec((2, 2), np.dtypes.StringDType(), "")
    bomb = (2**31).to_bytes(4, "little") + b"\0" * 16
    with pytest.raises(ChunkDecodeError, match="declares 2147483648 items, expected 4"):
        codec.decode(bomb, spec, key="s/c/0/0")
    truncated = (4).to_bytes(4, "little") + b"\0" * 8
    with pytest.raises(ChunkDecodeError, match="truncated"):
        codec.decode(truncated, spec, key="s/c/0/0")


def test_vlen_utf8_corrupt_data_raises_chunk_decode_error() -> None:
    codec = VlenUtf8Codec.from_config(None, key="s/zarr.json")
    spec = ChunkSpec((3,), np.dtypes.StringDType(), "")
    good = codec.encode(np.array(["ab", "é", "xyz"], dtype=np.dtypes.StringDType()), spec)
    for position in range(len(good)):
        corrupt = bytearray(good)
        corrupt[position] ^= 0xFF
        try:
            decoded = codec.decode(bytes(corrupt), spec, key="s/c/0")
        except ChunkDecodeError as exc:
            assert "s/c/0" in str(exc)
        else:
            assert decoded.shape == (3,)
    for cut in range(len(good)):
        with pytest.raises(ChunkDecodeError, match="s/c/0"):
            codec.decode(good[:cut], spec, key="s/c/0")


def test_vlen_utf8_needs_a_string_dtype() -> None:
    codec = VlenUtf8Codec.from_config({}, key="s/zarr.json")
    with pytest.raises(UnsupportedCodecError, match="s/zarr.json"):
        codec.decode(b"\0\0\0\0", ChunkSpec((0,), np.dtype("i4"), 0), key="s/c/0")


# -- bytes ---------------------------------------------------------------------------------
@pytest.mark.parametrize("endian", ["little", "big"])
@pytest.mark.parametrize("dtype", ["u1", "i2", "u4", "i8", "f2", "f4", "f8", "c16", "bool"])
def test_bytes_codec_layout_and_round_trip(endian: str, dtype: str) -> None:
    codec = BytesCodec.from_config({"endian": endian}, key="b/zarr.json")
    spec = ChunkSpec((3, 4), np.dtype(dtype), 0)
    values = values_for(np.dtype(dtype))[:3, :4] if dtype != "f2" else \
        np.arange(12, dtype="f2").reshape(3, 4)
    encoded = codec.encode(values, spec)
    order = "<" if endian == "little" else ">"
    assert encoded == values.astype(np.dtype(dtype).newbyteorder(order)).tobytes()
    decoded = codec.decode(encoded, spec, key="b/c/0")
    assert decoded.dtype.isnative and decoded.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(decoded, values)


def test_bytes_codec_encodes_views_in_c_order() -> None:
    codec = BytesCodec.from_config({"endian": "little"}, key="b/zarr.json")
    values = np.arange(12, dtype="<u2").reshape(3, 4)
    spec = ChunkSpec((4, 3), np.dtype("u2"), 0)
    assert codec.encode(values.T, spec) == np.ascontiguousarray(values.T).tobytes()


def test_bytes_codec_decodes_from_any_buffer_without_copying() -> None:
    codec = BytesCodec.from_config({"endian": "little"}, key="b/zarr.json")
    spec = ChunkSpec((2, 3), np.dtype("u2"), 0)
    scratch = np.arange(12, dtype=np.uint8)
    decoded = codec.decode(scratch, spec, key="b/c/0")
    assert np.shares_memory(decoded, scratch)
    np.testing.assert_array_equal(decoded, scratch.view("<u2").reshape(2, 3))
    np.testing.assert_array_equal(codec.decode(memoryview(scratch.tobytes()), spec, key="k"),
                                  decoded)


@pytest.mark.parametrize("nbytes", [0, 11, 13, 24])
def test_bytes_codec_wrong_size_names_the_key(nbytes: int) -> None:
    codec = BytesCodec.from_config({"endian": "little"}, key="b/zarr.json")
    spec = ChunkSpec((2, 3), np.dtype("u2"), 0)
    with pytest.raises(ChunkDecodeError, match="b/c/1/0"):
        codec.decode(bytes(nbytes), spec, key="b/c/1/0")


def test_bytes_codec_without_endian_reads_little_endian_like_zarr_python() -> None:
    codec = BytesCodec.from_config(None, key="b/zarr.json")
    assert codec.to_dict() == {"name": "bytes"}
    spec = ChunkSpec((2,), np.dtype("u2"), 0)
    np.testing.assert_array_equal(codec.decode(b"\x01\x00\x02\x00", spec, key="k"), [1, 2])
    assert codec.max_encoded_size(spec) == 4


def test_bytes_codec_refuses_variable_size_types() -> None:
    codec = BytesCodec.from_config({"endian": "little"}, key="b/zarr.json")
    with pytest.raises(UnsupportedCodecError, match="b/zarr.json"):
        codec.decode(b"", ChunkSpec((1,), np.dtypes.StringDType(), ""), key="b/c/0")


# -- transpose -----------------------------------------------------------------------------
@pytest.mark.parametrize("order", [[2, 0, 1], [1, 2, 0], [0, 1, 2], "C", "F"])
def test_transpose_matches_the_spec_definition(order: Any) -> None:
    codec = TransposeCodec.from_config({"order": order}, key="t/zarr.json")
    values = np.arange(24, dtype="u2").reshape(2, 3, 4)
    spec = ChunkSpec(values.shape, values.dtype, 0)
    permutation = {"C": [0, 1, 2], "F": [2, 1, 0]}[order] if isinstance(order, str) else order
    encoded = codec.encode(values, spec)
    assert codec.resolve(spec).shape == encoded.shape == tuple(values.shape[i] for i in
                                                              permutation)
    # B[B_pos] = A[A_pos] with B_pos[i] = A_pos[order[i]]
    for a_pos in itertools.product(*map(range, values.shape)):
        assert encoded[tuple(a_pos[i] for i in permutation)] == values[a_pos]
    np.testing.assert_array_equal(codec.decode(encoded, spec), values)
    assert codec.to_dict() == {"name": "transpose", "configuration": {"order": order}}


def test_transpose_order_of_the_wrong_rank_is_refused_when_resolved() -> None:
    codec = TransposeCodec.from_config({"order": [1, 0]}, key="t/zarr.json")
    with pytest.raises(UnsupportedCodecError, match="t/zarr.json"):
        codec.resolve(ChunkSpec((2, 3, 4), np.dtype("u1"), 0))


# -- compressors and checksums -------------------------------------------------------------
def test_crc32c_appends_the_little_endian_checksum() -> None:
    codec = Crc32cCodec.from_config(None, key="k/zarr.json")
    # RFC 3720 B.4: 32 bytes of zeros have CRC32C 0x8A9136AA.
    assert codec.encode(bytes(32)) == bytes(32) + (0x8A9136AA).to_bytes(4, "little")
    assert codec.encoded_size(32) == 36
    assert bytes(codec.decode(codec.encode(b"abc"), max_nbytes=3, key="k")) == b"abc"


def test_crc32c_mismatch_and_short_input() -> None:
    codec = Crc32cCodec.from_config({}, key="k/zarr.json")
    encoded = bytearray(codec.encode(b"some chunk bytes"))
    for position in range(len(encoded)):
        corrupt = bytearray(encoded)
        corrupt[position] ^= 0x10
        with pytest.raises(ChecksumError, match="k/c/0"):
            codec.decode(bytes(corrupt), max_nbytes=None, key="k/c/0")
    for nbytes in range(4):
        with pytest.raises(ChunkDecodeError, match="too short"):
            codec.decode(bytes(nbytes), max_nbytes=None, key="k/c/0")
    with pytest.raises(ChunkDecodeError, match="more than the"):
        codec.decode(bytes(encoded), max_nbytes=3, key="k/c/0")


def test_crc32c_decodes_into_out() -> None:
    codec = Crc32cCodec.from_config(None, key="k/zarr.json")
    out = np.empty(3, dtype=np.uint8)
    assert codec.decode(codec.encode(b"xyz"), max_nbytes=None, key="k", out=out) is out
    assert out.tobytes() == b"xyz"
    with pytest.raises(ChunkDecodeError, match="expected 4"):
        codec.decode(codec.encode(b"xyz"), max_nbytes=None, key="k",
                     out=np.empty(4, dtype=np.uint8))


@pytest.mark.parametrize("checksum_id", ["crc32", "crc32c", "adler32", "fletcher32",
                                         "jenkins_lookup3"])
def test_numcodecs_checksum_mismatch_raises_checksum_error(checksum_id: str) -> None:
    codec = codec_from_dict({"name": f"numcodecs.{checksum_id}", "configuration": {}},
                            key="k/zarr.json")
    assert isinstance(codec, BytesBytesCodec)
    assert codec.encoded_size(10) == 14
    encoded = codec.encode(b"0123456789")
    assert bytes(codec.decode(encoded, max_nbytes=10, key="k")) == b"0123456789"
    corrupt = bytearray(encoded)
    corrupt[6] ^= 0x01
    with pytest.raises(ChecksumError, match="k/c/0"):
        codec.decode(bytes(corrupt), max_nbytes=None, key="k/c/0")
    with pytest.raises(ChunkDecodeError, match="k/c/0"):
        codec.decode(b"ab", max_nbytes=None, key="k/c/0")


@pytest.mark.parametrize("codec", [
    ZstdCodec.from_config({"level": 3, "checksum": True}, key="k"),
    BloscCodec.from_config({"cname": "lz4", "clevel": 5, "shuffle": "shuffle", "typesize": 4,
                            "blocksize": 0}, key="k"),
    GzipCodec.from_config({"level": 1}, key="k"),
], ids=["zstd", "blosc", "gzip"])
def test_compressors_guard_against_bombs_and_corruption(codec: BytesBytesCodec) -> None:
    data = np.arange(50_000, dtype="<u4").tobytes()
    encoded = codec.encode(data)
    assert bytes(codec.decode(encoded, max_nbytes=len(data), key="k")) == data
    out = np.empty(len(data), dtype=np.uint8)
    assert codec.decode(encoded, max_nbytes=len(data), key="k", out=out) is out
    assert out.tobytes() == data
    with pytest.raises(ChunkDecodeError, match="z/c/0"):
        codec.decode(encoded, max_nbytes=len(data) // 2, key="z/c/0")
    with pytest.raises(ChunkDecodeError, match="z/c/0"):
        codec.decode(encoded[: len(encoded) // 2], max_nbytes=len(data), key="z/c/0")


def test_numcodecs_array_filters_resolve_the_encoded_spec() -> None:
    spec = ChunkSpec((4, 5), np.dtype("f8"), 0.0)
    fso = codec_from_dict({"name": "numcodecs.fixedscaleoffset", "configuration": {
        "offset": 0, "scale": 10, "dtype": "<f8", "astype": "<i2"}}, key="f/zarr.json")
    assert fso.resolve(spec) == ChunkSpec((4, 5), np.dtype("i2"), 0.0)
    astype = codec_from_dict({"name": "numcodecs.astype", "configuration": {
        "encode_dtype": "<f4", "decode_dtype": "<f8"}}, key="f/zarr.json")
    assert astype.resolve(spec).dtype == np.dtype("f4")
    bits = codec_from_dict({"name": "numcodecs.packbits", "configuration": {}},
                           key="f/zarr.json")
    assert bits.resolve(ChunkSpec((4, 5), np.dtype(bool), False)).shape == (4,)
    with pytest.raises(UnsupportedCodecError, match="f/zarr.json"):
        bits.resolve(spec)
    delta = codec_from_dict({"name": "numcodecs.delta", "configuration": {"dtype": "<i4"}},
                            key="f/zarr.json")
    with pytest.raises(UnsupportedCodecError, match="decodes to int32 but the chunk is"):
        delta.resolve(spec)


def test_codecs_decode_concurrently_from_threads() -> None:
    from concurrent.futures import ThreadPoolExecutor

    chain_documents = [
        [{"name": "zstd", "configuration": {"level": 3, "checksum": True}}, {"name": "crc32c"}],
        [{"name": "blosc", "configuration": {"typesize": 2, "cname": "lz4", "clevel": 5,
                                             "shuffle": "shuffle", "blocksize": 0}}],
        [{"name": "gzip", "configuration": {"level": 1}}],
    ]
    chunks = [np.arange(i, i + 40_000, dtype="<u2").tobytes() for i in range(16)]
    for documents in chain_documents:
        chain = [codec_from_dict(d, key="p/zarr.json") for d in documents]
        encoded = []
        for data in chunks:
            for codec in chain:
                data = codec.encode(data)
            encoded.append(data)

        def decode(index: int, chain: list = chain, encoded: list = encoded) -> bytes:
            out = np.empty(len(chunks[index]), dtype=np.uint8)
            data = encoded[index]
            for position in range(len(chain) - 1, -1, -1):
                data = chain[position].decode(data, max_nbytes=None, key=f"p/c/{index}",
                                              out=out if position == 0 else None)
            return bytes(data)

        with ThreadPoolExecutor(2) as pool:
            results = list(pool.map(decode, list(range(len(chunks))) * 4))
        assert results == chunks * 4
