"""Decompression-bomb-safe decoding: geozarr.codecs.bounded."""

from __future__ import annotations

import bz2
import gzip
import random
import struct
import tracemalloc

import numcodecs
import numpy as np
import pytest

from geozarr.codecs.bounded import decompress
from geozarr.errors import ChunkDecodeError

MiB = 1024 * 1024

COMPRESSORS = {
    "zstd": lambda: numcodecs.Zstd(level=3),
    "zstd-checksum": lambda: numcodecs.Zstd(level=1, checksum=True),
    "blosc-lz4": lambda: numcodecs.Blosc("lz4", 5, numcodecs.Blosc.SHUFFLE, typesize=2),
    "blosc-zstd": lambda: numcodecs.Blosc("zstd", 5, numcodecs.Blosc.BITSHUFFLE, typesize=2),
    "blosc-zlib": lambda: numcodecs.Blosc("zlib", 5, numcodecs.Blosc.NOSHUFFLE),
    "lz4": lambda: numcodecs.LZ4(),
    "zlib": lambda: numcodecs.Zlib(level=5),
    "gzip": lambda: numcodecs.GZip(level=5),
    "bz2": lambda: numcodecs.BZ2(level=5),
    "lzma": lambda: numcodecs.LZMA(),
}
#: Codecs that cannot expand their input: decoded, then size-checked.
OTHERS = {"shuffle": lambda: numcodecs.Shuffle(elementsize=2)}


def sample(nbytes: int = 40_000) -> bytes:
    """Compressible but not trivial data (a noisy ramp of uint16)."""
    rng = np.random.default_rng(42)
    values = np.arange(nbytes // 2) % 700 + rng.integers(0, 4, nbytes // 2)
    return values.astype("<u2").tobytes()


@pytest.mark.parametrize("name", [*COMPRESSORS, *OTHERS])
def test_round_trip_matches_numcodecs(name: str) -> None:
    codec = {**COMPRESSORS, **OTHERS}[name]()
    data = sample()
    encoded = codec.encode(data)
    assert bytes(decompress(codec, encoded, max_nbytes=len(data), key="a/c/0")) == data
    assert bytes(decompress(codec, encoded, max_nbytes=None, key="a/c/0")) == data


@pytest.mark.parametrize("name", [*COMPRESSORS, *OTHERS])
def test_decode_into_out_returns_out(name: str) -> None:
    codec = {**COMPRESSORS, **OTHERS}[name]()
    data = sample()
    out = np.zeros(len(data), dtype=np.uint8)
    result = decompress(codec, codec.encode(data), max_nbytes=len(data), key="a/c/0", out=out)
    assert result is out
    assert out.tobytes() == data


@pytest.mark.parametrize("name", [*COMPRESSORS, *OTHERS])
def test_one_byte_over_the_limit_is_refused(name: str) -> None:
    codec = {**COMPRESSORS, **OTHERS}[name]()
    data = sample()
    with pytest.raises(ChunkDecodeError, match="a/c/0"):
        decompress(codec, codec.encode(data), max_nbytes=len(data) - 1, key="a/c/0")


@pytest.mark.parametrize("name", [*COMPRESSORS, *OTHERS])
@pytest.mark.parametrize("delta", [-1, 1])
def test_out_of_the_wrong_size_is_refused(name: str, delta: int) -> None:
    codec = {**COMPRESSORS, **OTHERS}[name]()
    data = sample()
    out = np.zeros(len(data) + delta, dtype=np.uint8)
    with pytest.raises(ChunkDecodeError, match="a/c/0"):
        decompress(codec, codec.encode(data), max_nbytes=None, key="a/c/0", out=out)


# -- bombs ---------------------------------------------------------------------------------
BOMB_SIZE = 64 * MiB
LIMIT = 1 * MiB


@pytest.fixture(scope="module")
def bombs() -> dict[str, tuple[numcodecs.abc.Codec, bytes]]:
    zeros = bytes(BOMB_SIZE)
    made = {}
    for name, factory in COMPRESSORS.items():
        if name.startswith("blosc-") and name != "blosc-lz4":
            continue
        codec = factory()
        made[name] = (codec, bytes(codec.encode(zeros)))
    return made


def peak_while(func) -> int:
    """The peak of traced memory (Python and numpy allocations) while ``func`` runs."""
    tracemalloc.start()
    try:
        func()
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return peak


@pytest.mark.parametrize("name", ["zstd", "zstd-checksum", "blosc-lz4", "lz4", "zlib", "gzip",
                                  "bz2", "lzma"])
@pytest.mark.parametrize("with_out", [False, True])
def test_bomb_is_refused_without_allocating_its_size(bombs, name: str, with_out: bool) -> None:
    codec, payload = bombs[name]
    assert len(payload) < BOMB_SIZE // 100  # really a bomb
    out = np.empty(LIMIT, dtype=np.uint8) if with_out else None

    def attempt() -> None:
        with pytest.raises(ChunkDecodeError, match="bomb/c/0"):
            decompress(codec, payload, max_nbytes=LIMIT, key="bomb/c/0", out=out)

    # lzma's dictionary (8 MiB at the default preset) is the largest legitimate allocation.
    assert peak_while(attempt) < 16 * MiB


# -- zstd frames built by hand (RFC 8878) --------------------------------------------------
ZSTD_MAGIC = struct.pack("<I", 0xFD2FB528)
NO_FCS_HEADER = ZSTD_MAGIC + bytes([0x00, 0x38])  # no content size; 128 KiB window


def raw_block(content: bytes, last: bool) -> bytes:
    header = int(last) | (len(content) << 3)
    return header.to_bytes(3, "little") + content


def rle_block(byte: int, size: int, last: bool) -> bytes:
    header = int(last) | (1 << 1) | (size << 3)
    return header.to_bytes(3, "little") + bytes([byte])


def strip_content_size(frame: bytes) -> bytes:
    """The same zstd frame without its content size, as streaming encoders write it.

    The single-segment header numcodecs writes becomes a header with a 256 KiB window
    descriptor (enough for the samples here) and no Frame_Content_Size field.
    """
    descriptor = frame[4]
    assert descriptor & 0x20  # single segment: no window descriptor, a content size
    fcs_size = (1, 2, 4, 8)[descriptor >> 6]
    did_size = (0, 1, 2, 4)[descriptor & 3]
    start = 5 + did_size + fcs_size
    window = (18 - 10) << 3  # 2**18 bytes
    return ZSTD_MAGIC + bytes([descriptor & 0x07, window]) + frame[5:5 + did_size] + \
        frame[start:]


def test_zstd_frame_without_content_size_decodes_when_the_size_fits() -> None:
    codec = numcodecs.Zstd(level=3)
    data = sample(250_000)
    frame = strip_content_size(codec.encode(data))
    assert bytes(decompress(codec, frame, max_nbytes=len(data), key="k")) == data
    assert bytes(decompress(codec, frame, max_nbytes=2 * len(data), key="k")) == data
    assert bytes(decompress(codec, frame, max_nbytes=None, key="k")) == data
    out = np.empty(len(data), dtype=np.uint8)
    assert decompress(codec, frame, max_nbytes=None, key="k", out=out) is out
    assert out.tobytes() == data


def test_zstd_frame_without_content_size_that_may_not_fit_is_refused() -> None:
    codec = numcodecs.Zstd(level=3)
    data = sample(250_000)
    frame = strip_content_size(codec.encode(data))
    with pytest.raises(ChunkDecodeError, match="does not declare its decoded size"):
        decompress(codec, frame, max_nbytes=len(data) + 1, key="k")
    with pytest.raises(ChunkDecodeError, match="k"):
        decompress(codec, frame, max_nbytes=None, key="k",
                   out=np.empty(len(data) + 1, dtype=np.uint8))


def test_zstd_rle_bomb_without_content_size_is_refused_cheaply() -> None:
    # 8192 RLE blocks of 128 KiB: 32 KiB of input declaring 1 GiB.
    blocks = [rle_block(0, 128 * 1024, last=False) for _ in range(8191)]
    payload = NO_FCS_HEADER + b"".join(blocks) + rle_block(0, 128 * 1024, last=True)

    def attempt() -> None:
        with pytest.raises(ChunkDecodeError, match="bomb"):
            decompress(numcodecs.Zstd(), payload, max_nbytes=LIMIT, key="bomb")

    assert peak_while(attempt) < 4 * LIMIT


def test_zstd_declared_size_larger_than_its_blocks_is_refused() -> None:
    # Single segment, 4-byte content size of 1 GiB, one empty raw block.
    payload = ZSTD_MAGIC + bytes([0xA0]) + struct.pack("<I", 2**30) + raw_block(b"", True)
    with pytest.raises(ChunkDecodeError, match="more than its blocks hold"):
        decompress(numcodecs.Zstd(), payload, max_nbytes=None, key="k")


def test_zstd_concatenated_and_skippable_frames() -> None:
    codec = numcodecs.Zstd(level=1)
    first, second = sample(10_000), b"tail" * 500
    skippable = struct.pack("<II", 0x184D2A53, 5) + b"hello"
    payload = codec.encode(first) + skippable + codec.encode(second)
    total = len(first) + len(second)
    assert bytes(decompress(codec, payload, max_nbytes=total, key="k")) == first + second
    with pytest.raises(ChunkDecodeError, match="more than the"):
        decompress(codec, payload, max_nbytes=total - 1, key="k")


def test_zstd_empty_frame_decodes_to_nothing() -> None:
    codec = numcodecs.Zstd()
    assert bytes(decompress(codec, codec.encode(b""), max_nbytes=0, key="k")) == b""


@pytest.mark.parametrize("payload", [b"", b"\x28\xb5", b"not zstd at all", ZSTD_MAGIC])
def test_zstd_garbage_is_refused(payload: bytes) -> None:
    with pytest.raises(ChunkDecodeError, match="k"):
        decompress(numcodecs.Zstd(), payload, max_nbytes=100, key="k")


# -- blosc and lz4 headers -----------------------------------------------------------------
def test_blosc_short_or_inconsistent_header_is_refused_before_decoding() -> None:
    codec = numcodecs.Blosc("lz4", 5, 1, typesize=2)
    encoded = bytes(codec.encode(sample()))
    with pytest.raises(ChunkDecodeError, match="shorter than its header"):
        decompress(codec, encoded[:15], max_nbytes=None, key="k")
    with pytest.raises(ChunkDecodeError, match="compressed bytes"):
        decompress(codec, encoded + b"\0", max_nbytes=None, key="k")


def test_lz4_declared_size_is_checked_before_allocating() -> None:
    codec = numcodecs.LZ4()
    payload = struct.pack("<I", 2**31) + b"\x00" * 16

    def attempt() -> None:
        with pytest.raises(ChunkDecodeError, match="more than the"):
            decompress(codec, payload, max_nbytes=LIMIT, key="k")

    assert peak_while(attempt) < LIMIT


# -- stream formats ------------------------------------------------------------------------
def test_multi_member_gzip_and_multi_stream_bz2_decode_like_the_stdlib() -> None:
    data = sample(5_000)
    members = gzip.compress(data[:2_000]) + gzip.compress(data[2_000:])
    assert bytes(decompress(numcodecs.GZip(), members, max_nbytes=len(data), key="k")) == data
    streams = bz2.compress(data[:2_000]) + bz2.compress(data[2_000:])
    assert bytes(decompress(numcodecs.BZ2(), streams, max_nbytes=len(data), key="k")) == data
    with pytest.raises(ChunkDecodeError, match="more than the"):
        decompress(numcodecs.BZ2(), streams, max_nbytes=len(data) - 1, key="k")


def test_trailing_garbage_after_a_gzip_member_is_refused() -> None:
    with pytest.raises(ChunkDecodeError, match="corrupt"):
        decompress(numcodecs.GZip(), gzip.compress(b"abc") + b"junk", max_nbytes=None, key="k")


# -- truncated and corrupted input ---------------------------------------------------------
@pytest.mark.parametrize("name", COMPRESSORS)
def test_every_truncation_is_refused(name: str) -> None:
    codec = COMPRESSORS[name]()
    data = sample(4_000)
    encoded = bytes(codec.encode(data))
    for cut in range(len(encoded)):
        with pytest.raises(ChunkDecodeError, match="t/c/0"):
            decompress(codec, encoded[:cut], max_nbytes=len(data), key="t/c/0")


@pytest.mark.parametrize("name", COMPRESSORS)
def test_flipped_bytes_never_crash_nor_exceed_the_limit(name: str) -> None:
    codec = COMPRESSORS[name]()
    data = sample(4_000)
    encoded = bytes(codec.encode(data))
    rng = random.Random(name)
    out = np.empty(len(data), dtype=np.uint8)
    refused = 0
    for position in range(len(encoded)):
        corrupt = bytearray(encoded)
        corrupt[position] ^= rng.randrange(1, 256)
        for target in (None, out):
            try:
                result = decompress(codec, bytes(corrupt), max_nbytes=len(data), key="f/c/0",
                                    out=target)
            except ChunkDecodeError as exc:
                assert "f/c/0" in str(exc)
                refused += 1
            else:
                assert memoryview(result).nbytes <= len(data)
    assert refused > 0


def test_subclassed_compressors_keep_their_guard(bombs) -> None:
    class MyZstd(numcodecs.Zstd):
        codec_id = "my-zstd"

    _, payload = bombs["zstd"]

    def attempt() -> None:
        with pytest.raises(ChunkDecodeError, match="my-zstd data decodes to"):
            decompress(MyZstd(), payload, max_nbytes=LIMIT, key="bomb")

    assert peak_while(attempt) < 4 * LIMIT


def test_raw_lzma_with_a_huge_dictionary_is_refused() -> None:
    import lzma

    filters = [{"id": lzma.FILTER_LZMA2, "dict_size": 1536 * MiB}]
    codec = numcodecs.LZMA(format=lzma.FORMAT_RAW, filters=filters)
    small = numcodecs.LZMA(format=lzma.FORMAT_RAW,
                           filters=[{"id": lzma.FILTER_LZMA2, "dict_size": MiB}])
    payload = small.encode(b"abc" * 100)
    with pytest.raises(ChunkDecodeError, match="dictionary"):
        decompress(codec, payload, max_nbytes=300, key="k")
    assert bytes(decompress(small, payload, max_nbytes=300, key="k")) == b"abc" * 100
