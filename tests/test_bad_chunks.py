"""Bad chunk data: each corrupt chunk is refused with a ChunkDecodeError, never misread.

Every array here is written by hand (its metadata as JSON, its chunks encoded with numcodecs
directly), so the tests depend on geozarr's reader only; a baseline test checks that
zarr-python reads each hand-made array too, which proves the fixtures right. Then one chunk
is replaced by: truncated bytes, random bytes, every single-byte corruption of it (the read
must raise a GeoZarrError or return exactly the original values: never other values, never
another exception), a decompression bomb (the read must fail without allocating anywhere
near the bomb's size), bytes encoding the wrong number of elements, a bad checksum, or a
shard shorter than its index or with an index pointing outside it. Ports GDAL's
``test_zarr_read_simple_sharding_read_errors`` and friends.
"""

from __future__ import annotations

import functools
import json
import struct
import tracemalloc
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import crc32c
import numcodecs
import numpy as np
import pytest
import zarr

import geozarr
from geozarr.errors import ChecksumError, ChunkDecodeError, GeoZarrError

SHAPE = (6, 8)
CHUNKS = (4, 4)  # a 2 x 2 grid; the chunks of row 1 stick out of the array (edge chunks)
SHARD = (8, 8)  # one shard of 2 x 2 inner chunks
DTYPE = np.dtype("<i2")
DATA = (np.arange(48, dtype=DTYPE).reshape(SHAPE) * 37 - 500).astype(DTYPE)  # no 0 (fill)
CHUNK_NBYTES = CHUNKS[0] * CHUNKS[1] * DTYPE.itemsize

MIB = 1 << 20
BOMB_NBYTES = 256 * MIB  # what the numcodecs-encoded bombs decode to
ZSTD_BOMB_NBYTES = 1 << 30  # what the hand-made zstd bombs decode to
PEAK_LIMIT = 16 * MIB  # traced memory a bomb may make the reader allocate, at most

MISSING = 2**64 - 1  # a shard index entry of (MISSING, MISSING) is an absent inner chunk

BYTES_LE = {"name": "bytes", "configuration": {"endian": "little"}}
CRC32C = {"name": "crc32c"}


def zstd(checksum: bool = False) -> dict[str, Any]:
    return {"name": "zstd", "configuration": {"level": 1, "checksum": checksum}}


GZIP = {"name": "gzip", "configuration": {"level": 1}}
BLOSC = {"name": "blosc", "configuration": {"cname": "lz4", "clevel": 5, "shuffle": "shuffle",
                                            "typesize": 2, "blocksize": 0}}
LZ4 = {"name": "numcodecs.lz4", "configuration": {"acceleration": 1}}


@dataclass(frozen=True)
class Layout:
    """How the array ``a`` is stored: v2 with a compressor, or v3 with codecs / sharding."""

    name: str
    zarr_format: int
    compressor: dict[str, Any] | None = None  # v2
    codecs: tuple[dict[str, Any], ...] = ()  # v3: the bytes -> bytes codecs after "bytes"
    index_location: str | None = None  # v3 sharded: "end" or "start"; None: not sharded
    index_codecs: tuple[dict[str, Any], ...] = field(default=(BYTES_LE, CRC32C))

    @property
    def sharded(self) -> bool:
        return self.index_location is not None

    @property
    def chunk_grid(self) -> tuple[int, int]:
        return SHARD if self.sharded else CHUNKS

    def key(self, coords: tuple[int, ...]) -> str:
        """The store key of the chunk (or shard) at ``coords``."""
        if self.zarr_format == 2:
            return "a/" + ".".join(map(str, coords))
        return "a/c/" + "/".join(map(str, coords))

    def inner_codecs(self) -> list[dict[str, Any]]:
        return [BYTES_LE, *self.codecs]

    def metadata(self) -> tuple[str, dict[str, Any]]:
        if self.zarr_format == 2:
            return "a/.zarray", {
                "zarr_format": 2, "shape": list(SHAPE), "chunks": list(CHUNKS),
                "dtype": DTYPE.str, "compressor": self.compressor, "fill_value": 0,
                "order": "C", "filters": None,
            }
        codecs = self.inner_codecs()
        if self.sharded:
            codecs = [{"name": "sharding_indexed", "configuration": {
                "chunk_shape": list(CHUNKS), "codecs": codecs,
                "index_codecs": list(self.index_codecs),
                "index_location": self.index_location,
            }}]
        return "a/zarr.json", {
            "zarr_format": 3, "node_type": "array", "shape": list(SHAPE), "data_type": "int16",
            "chunk_grid": {"name": "regular",
                           "configuration": {"chunk_shape": list(self.chunk_grid)}},
            "chunk_key_encoding": {"name": "default", "configuration": {"separator": "/"}},
            "fill_value": 0, "codecs": codecs, "attributes": {},
        }

    # -- encoding ---------------------------------------------------------------------
    def encode_bytes(self, raw: bytes) -> bytes:
        """Encode the C-order little-endian bytes of one (inner) chunk."""
        if self.zarr_format == 2:
            if self.compressor is None:
                return raw
            return bytes(numcodecs.get_codec(dict(self.compressor)).encode(raw))
        for codec in self.codecs:
            raw = encode_bytes_codec(codec, raw)
        return raw

    def encode_chunk(self, chunk: np.ndarray) -> bytes:
        return self.encode_bytes(np.ascontiguousarray(chunk, DTYPE).tobytes())

    def index_nbytes(self) -> int:
        return 16 * 4 + (4 if CRC32C in self.index_codecs else 0)

    def assemble_shard(self, inner: list[bytes | None],
                       entries: list[tuple[int, int]] | None = None) -> bytes:
        """A shard holding the encoded inner chunks (C order; None: absent).

        ``entries`` replaces the computed index entries (offset, nbytes), to corrupt them.
        """
        base = self.index_nbytes() if self.index_location == "start" else 0
        body = b""
        computed: list[tuple[int, int]] = []
        for blob in inner:
            if blob is None:
                computed.append((MISSING, MISSING))
            else:
                computed.append((base + len(body), len(blob)))
                body += blob
        index = b"".join(struct.pack("<QQ", *entry) for entry in (entries or computed))
        if CRC32C in self.index_codecs:
            index += struct.pack("<I", crc32c.crc32c(index))
        return index + body if self.index_location == "start" else body + index

    def inner_chunks(self, data: np.ndarray) -> list[bytes]:
        """The four encoded inner chunks of the (only) shard of ``data``."""
        padded = np.zeros(SHARD, DTYPE)
        padded[: data.shape[0], : data.shape[1]] = data
        return [self.encode_chunk(padded[i * 4:(i + 1) * 4, j * 4:(j + 1) * 4])
                for i in range(2) for j in range(2)]

    def stored_chunks(self, data: np.ndarray) -> Iterator[tuple[str, bytes]]:
        """Every (key, stored bytes) of ``data`` in this layout."""
        if self.sharded:
            yield self.key((0, 0)), self.assemble_shard(list(self.inner_chunks(data)))
            return
        for i in range(2):
            for j in range(2):
                chunk = np.zeros(CHUNKS, DTYPE)  # edge chunks are padded with the fill value
                part = data[i * 4:(i + 1) * 4, j * 4:(j + 1) * 4]
                chunk[: part.shape[0], : part.shape[1]] = part
                yield self.key((i, j)), self.encode_chunk(chunk)


def encode_bytes_codec(codec: dict[str, Any], data: bytes) -> bytes:
    """Encode ``data`` with one v3 bytes -> bytes codec, using numcodecs directly."""
    config = codec.get("configuration", {})
    name = codec["name"]
    if name == "zstd":
        return bytes(numcodecs.Zstd(level=config["level"], checksum=config["checksum"])
                     .encode(data))
    if name == "gzip":
        return bytes(numcodecs.GZip(level=config["level"]).encode(data))
    if name == "blosc":
        blosc = numcodecs.Blosc(cname=config["cname"], clevel=config["clevel"],
                                shuffle=numcodecs.Blosc.SHUFFLE, blocksize=config["blocksize"])
        return bytes(blosc.encode(np.frombuffer(data, DTYPE)))
    if name == "numcodecs.lz4":
        return bytes(numcodecs.LZ4(acceleration=config["acceleration"]).encode(data))
    if name == "crc32c":
        return data + struct.pack("<I", crc32c.crc32c(data))
    raise AssertionError(f"no test encoder for {name}")


LAYOUTS = {layout.name: layout for layout in [
    Layout("v2_raw", 2),
    Layout("v2_zstd", 2, compressor={"id": "zstd", "level": 1}),
    Layout("v2_zstd_checksum", 2, compressor={"id": "zstd", "level": 1, "checksum": True}),
    Layout("v2_gzip", 2, compressor={"id": "gzip", "level": 1}),
    Layout("v2_zlib", 2, compressor={"id": "zlib", "level": 1}),
    Layout("v2_blosc", 2, compressor={"id": "blosc", "cname": "lz4", "clevel": 5,
                                      "shuffle": 1, "blocksize": 0}),
    Layout("v2_lz4", 2, compressor={"id": "lz4", "acceleration": 1}),
    Layout("v3_raw", 3),
    Layout("v3_zstd", 3, codecs=(zstd(),)),
    Layout("v3_zstd_checksum", 3, codecs=(zstd(checksum=True),)),
    Layout("v3_gzip", 3, codecs=(GZIP,)),
    Layout("v3_blosc", 3, codecs=(BLOSC,)),
    Layout("v3_lz4", 3, codecs=(LZ4,)),
    Layout("v3_crc32c", 3, codecs=(CRC32C,)),
    Layout("v3_zstd_crc32c", 3, codecs=(zstd(), CRC32C)),
    Layout("v3_sharded", 3, codecs=(CRC32C,), index_location="end"),
    Layout("v3_sharded_start", 3, codecs=(CRC32C,), index_location="start"),
    Layout("v3_sharded_zstd", 3, codecs=(zstd(checksum=True),), index_location="end"),
    Layout("v3_sharded_zstd_nocrc", 3, codecs=(zstd(),), index_location="end",
           index_codecs=(BYTES_LE,)),
]}

# Layouts in which every stored byte is covered by a checksum (zstd's content checksum,
# gzip's CRC-32, zlib's Adler-32, crc32c): any single corrupt byte must be detected, or be
# one that does not change the decoded values (a header field such as gzip's mtime).
PROTECTED = ["v2_zstd_checksum", "v2_gzip", "v2_zlib", "v3_zstd_checksum", "v3_gzip",
             "v3_crc32c", "v3_zstd_crc32c", "v3_sharded", "v3_sharded_start",
             "v3_sharded_zstd"]
COMPRESSED = [name for name in LAYOUTS if "raw" not in name]
UNSHARDED = [name for name, layout in LAYOUTS.items() if not layout.sharded]
SHARDED = [name for name, layout in LAYOUTS.items() if layout.sharded]


def build(tmp_path: Path, layout: Layout, data: np.ndarray = DATA) -> str:
    """Write the root group, the array ``a`` and all its chunks; return the store path."""
    root = tmp_path / "root"
    meta_key, meta = layout.metadata()
    group = {"zarr_format": 2} if layout.zarr_format == 2 else {
        "zarr_format": 3, "node_type": "group", "attributes": {}}
    files: dict[str, bytes] = {
        (".zgroup" if layout.zarr_format == 2 else "zarr.json"): json.dumps(group).encode(),
        meta_key: json.dumps(meta).encode(),
    }
    files.update(layout.stored_chunks(data))
    for key, value in files.items():
        path = root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(value)
    return str(root)


def read(root: str) -> np.ndarray:
    return geozarr.open_array(root, path="a")[...]


def replace_chunk(root: str, key: str, value: bytes) -> None:
    (Path(root) / key).write_bytes(value)


def expect_decode_error(root: str, key: str,
                        error: type[ChunkDecodeError] = ChunkDecodeError) -> ChunkDecodeError:
    """The whole-array read raises ``error`` naming the chunk (or shard) ``key``."""
    with pytest.raises(error) as info:
        read(root)
    assert key in str(info.value), f"message {str(info.value)!r} does not name {key!r}"
    return info.value


# -- the fixtures are right --------------------------------------------------------------


@pytest.mark.parametrize("name", LAYOUTS)
def test_baseline_reads_back(tmp_path: Path, name: str) -> None:
    """zarr-python (the reference) and geozarr both read each hand-made array exactly."""
    root = build(tmp_path, LAYOUTS[name])
    reference = zarr.open_array(root, path="a", mode="r")[...]
    np.testing.assert_array_equal(reference, DATA)
    np.testing.assert_array_equal(read(root), DATA)
    np.testing.assert_array_equal(geozarr.open_array(root, path="a")[1:5, 3:7], DATA[1:5, 3:7])


@pytest.mark.parametrize("name", LAYOUTS)
def test_missing_chunk_is_fill(tmp_path: Path, name: str) -> None:
    """The control for the tests below: absent data is the fill value, not an error."""
    layout = LAYOUTS[name]
    root = build(tmp_path, layout)
    (Path(root) / layout.key((0, 0))).unlink()
    expected = DATA.copy()
    expected[: layout.chunk_grid[0], : layout.chunk_grid[1]] = 0
    np.testing.assert_array_equal(read(root), expected)


# -- truncated and random chunks ---------------------------------------------------------


@pytest.mark.parametrize("name", LAYOUTS)
def test_truncated_chunk(tmp_path: Path, name: str) -> None:
    layout = LAYOUTS[name]
    root = build(tmp_path, layout)
    key = layout.key((0, 0))
    original = (Path(root) / key).read_bytes()
    for length in sorted({0, 1, 3, len(original) // 2, len(original) - 4, len(original) - 1}):
        replace_chunk(root, key, original[:length])
        expect_decode_error(root, key)


@pytest.mark.parametrize("name", COMPRESSED)
def test_random_bytes_chunk(tmp_path: Path, name: str) -> None:
    layout = LAYOUTS[name]
    root = build(tmp_path, layout)
    key = layout.key((0, 0))
    rng = np.random.default_rng(20240611)
    for length in (1, 5, 17, 64, 1000, 70000):
        replace_chunk(root, key, rng.integers(0, 256, length, dtype=np.uint8).tobytes())
        expect_decode_error(root, key)


@pytest.mark.parametrize("name", ["v2_raw", "v3_raw"])
def test_raw_chunk_of_wrong_size(tmp_path: Path, name: str) -> None:
    """Without a compressor the size alone tells a bad chunk; any other size is refused."""
    layout = LAYOUTS[name]
    root = build(tmp_path, layout)
    key = layout.key((0, 0))
    for length in (CHUNK_NBYTES - 2, CHUNK_NBYTES - 1, CHUNK_NBYTES + 1, CHUNK_NBYTES + 2,
                   CHUNK_NBYTES * 2):
        replace_chunk(root, key, (bytes(range(1, 256)) * 2)[:length])
        expect_decode_error(root, key)


# -- every single corrupt byte -----------------------------------------------------------


def corruptions(original: bytes) -> Iterator[tuple[str, bytes]]:
    """Every copy of ``original`` with one byte changed: all bits flipped, or the low bit."""
    for position in range(len(original)):
        for mask in (0xFF, 0x01):
            corrupt = bytearray(original)
            corrupt[position] ^= mask
            yield f"byte {position} ^ {mask:#04x}", bytes(corrupt)


@pytest.mark.parametrize("name", PROTECTED)
def test_every_corrupt_byte_is_caught(tmp_path: Path, name: str) -> None:
    """Each single-byte corruption raises a GeoZarrError or decodes to the original values.

    The array is reopened for every read, so no cached shard index can hide a corruption.
    """
    layout = LAYOUTS[name]
    root = build(tmp_path, layout)
    key = layout.key((0, 0))
    original = (Path(root) / key).read_bytes()
    assert len(original) < 400  # keeps the loop short
    wrong: list[str] = []
    detected = 0
    for label, corrupt in corruptions(original):
        replace_chunk(root, key, corrupt)
        try:
            values = read(root)
        except GeoZarrError:
            detected += 1
            continue
        except Exception as exc:  # the property under test: nothing else may escape
            wrong.append(f"{label}: {type(exc).__name__}: {exc}")
            continue
        if not np.array_equal(values, DATA):
            wrong.append(f"{label}: wrong values returned without an error")
    assert not wrong, f"{len(wrong)} corruptions of {key} misread:\n" + "\n".join(wrong[:20])
    # Most corrupt bytes change the values, so most must have been caught: this also shows
    # that each read did decode the corrupt file (no cache answered instead).
    assert detected >= len(original), f"only {detected} of {2 * len(original)} caught"


@pytest.mark.parametrize("name", ["v2_zstd", "v2_blosc", "v2_lz4", "v3_zstd", "v3_blosc",
                                  "v3_lz4", "v3_sharded_zstd_nocrc"])
def test_corrupt_unprotected_chunk_never_crashes(tmp_path: Path, name: str) -> None:
    """Without a checksum a corrupt byte may decode to other values, but the read must
    still end in the right values, other values of the right shape, or a GeoZarrError:
    never another exception (numcodecs' RuntimeError, a numpy reshape error...)."""
    layout = LAYOUTS[name]
    root = build(tmp_path, layout)
    key = layout.key((0, 0))
    original = (Path(root) / key).read_bytes()
    escaped: list[str] = []
    changed = 0
    for label, corrupt in corruptions(original):
        replace_chunk(root, key, corrupt)
        try:
            values = read(root)
        except GeoZarrError:
            changed += 1
            continue
        except Exception as exc:  # the property under test: nothing else may escape
            escaped.append(f"{label}: {type(exc).__name__}: {exc}")
            continue
        assert values.shape == SHAPE and values.dtype == DTYPE
        changed += not np.array_equal(values, DATA)
    assert changed, "no corruption had any effect: the corrupt chunk was never read"
    assert not escaped, f"{len(escaped)} corruptions of {key} escaped:\n" + "\n".join(
        escaped[:20])


# -- decompression bombs -----------------------------------------------------------------


def zstd_rle_frame(total: int, *, content_size: int | None, byte: int = 0) -> bytes:
    """A zstd frame of RLE blocks decoding to ``total`` copies of ``byte`` (4 bytes per
    128 KiB), declaring ``content_size`` in its header (None: no declared size)."""
    block = 1 << 17
    window_descriptor = bytes([(17 - 10) << 3])  # a 128 KiB window
    if content_size is None:
        header = bytes([0x00]) + window_descriptor
    else:
        header = bytes([0x80]) + window_descriptor + struct.pack("<I", content_size)
    out = bytearray(struct.pack("<I", 0xFD2FB528) + header)
    left = total
    while left:
        size = min(block, left)
        left -= size
        block_header = (1 if left == 0 else 0) | (1 << 1) | (size << 3)  # last, RLE, size
        out += struct.pack("<I", block_header)[:3] + bytes([byte])
    return bytes(out)


def test_zstd_rle_frame_is_valid() -> None:
    """The control: libzstd decodes the hand-made frames (small here) as intended."""
    for content_size in (300_000, None):
        frame = zstd_rle_frame(300_000, content_size=content_size, byte=7)
        assert bytes(numcodecs.Zstd().decode(frame)) == bytes([7]) * 300_000


@functools.cache
def deflate_bomb(wbits: int) -> bytes:
    """``BOMB_NBYTES`` zero bytes deflated (wbits 31: gzip container, 15: zlib)."""
    compressor = zlib.compressobj(1, zlib.DEFLATED, wbits)
    zeros = bytes(MIB)
    return b"".join([compressor.compress(zeros) for _ in range(BOMB_NBYTES // MIB)]
                    + [compressor.flush()])


@functools.cache
def numcodecs_bomb(codec: str) -> bytes:
    zeros = np.zeros(BOMB_NBYTES // 2, DTYPE)
    if codec == "blosc":
        return bytes(numcodecs.Blosc(cname="lz4", clevel=5).encode(zeros))
    return bytes(numcodecs.LZ4().encode(zeros))


def header_lie(codec: str) -> bytes:
    """A real chunk of ours whose header claims it decodes to 1 GiB."""
    raw = np.zeros(CHUNKS, DTYPE).tobytes()
    if codec == "blosc":
        blob = bytearray(numcodecs.Blosc(cname="lz4", clevel=5).encode(raw))
        blob[4:8] = struct.pack("<I", 1 << 30)  # blosc header: nbytes (uncompressed size)
    else:
        blob = bytearray(numcodecs.LZ4().encode(raw))
        blob[0:4] = struct.pack("<I", 1 << 30)  # numcodecs lz4 header: uncompressed size
    return bytes(blob)


BOMBS = {
    "zstd_declared_1GiB": (["v2_zstd", "v3_zstd"],
                           lambda: zstd_rle_frame(ZSTD_BOMB_NBYTES,
                                                  content_size=ZSTD_BOMB_NBYTES)),
    "zstd_undeclared_1GiB": (["v2_zstd", "v3_zstd"],
                             lambda: zstd_rle_frame(ZSTD_BOMB_NBYTES, content_size=None)),
    "zstd_lying_header": (["v2_zstd", "v3_zstd"],
                          lambda: zstd_rle_frame(ZSTD_BOMB_NBYTES, content_size=CHUNK_NBYTES)),
    "gzip_256MiB": (["v2_gzip", "v3_gzip"], lambda: deflate_bomb(31)),
    "zlib_256MiB": (["v2_zlib"], lambda: deflate_bomb(15)),
    "blosc_256MiB": (["v2_blosc", "v3_blosc"], lambda: numcodecs_bomb("blosc")),
    "blosc_header_1GiB": (["v2_blosc", "v3_blosc"], lambda: header_lie("blosc")),
    "lz4_256MiB": (["v2_lz4", "v3_lz4"], lambda: numcodecs_bomb("lz4")),
    "lz4_header_1GiB": (["v2_lz4", "v3_lz4"], lambda: header_lie("lz4")),
}
BOMB_CASES = [(bomb, name) for bomb, (names, _) in BOMBS.items() for name in names]


def assert_refused_without_allocating(root: str, key: str) -> None:
    """The read raises ChunkDecodeError naming ``key``, and traced memory stays small."""
    tracemalloc.start()
    try:
        with pytest.raises(ChunkDecodeError) as info:
            read(root)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert key in str(info.value)
    assert peak < PEAK_LIMIT, f"reading the bomb allocated {peak / MIB:.0f} MiB"


@pytest.mark.parametrize(("bomb", "name"), BOMB_CASES, ids=[f"{b}-{n}" for b, n in BOMB_CASES])
def test_decompression_bomb(tmp_path: Path, bomb: str, name: str) -> None:
    layout = LAYOUTS[name]
    root = build(tmp_path, layout)
    key = layout.key((0, 0))
    replace_chunk(root, key, BOMBS[bomb][1]())
    assert_refused_without_allocating(root, key)


def test_decompression_bomb_in_shard(tmp_path: Path) -> None:
    layout = LAYOUTS["v3_sharded_zstd_nocrc"]
    root = build(tmp_path, layout)
    inner: list[bytes | None] = list(layout.inner_chunks(DATA))
    inner[1] = zstd_rle_frame(ZSTD_BOMB_NBYTES, content_size=None)
    key = layout.key((0, 0))
    replace_chunk(root, key, layout.assemble_shard(inner))
    assert_refused_without_allocating(root, key)


# -- chunks of the wrong decoded size ----------------------------------------------------


@pytest.mark.parametrize("name", UNSHARDED)
@pytest.mark.parametrize("rows", [0, 2, 3, 5, 8], ids=lambda r: f"{r}x4")
def test_chunk_of_wrong_decoded_size(tmp_path: Path, name: str, rows: int) -> None:
    """A chunk encoded for another chunk shape: the (1, 0) edge chunk holds 2 rows of data,
    but every stored chunk has the full 4 x 4 shape; 2 x 4 (the part inside the array) is
    as wrong as any other."""
    layout = LAYOUTS[name]
    root = build(tmp_path, layout)
    key = layout.key((1, 0))
    replace_chunk(root, key, layout.encode_chunk(np.full((rows, 4), 7, DTYPE)))
    expect_decode_error(root, key)


@pytest.mark.parametrize("name", SHARDED)
@pytest.mark.parametrize("rows", [0, 2, 3, 5], ids=lambda r: f"{r}x4")
def test_inner_chunk_of_wrong_decoded_size(tmp_path: Path, name: str, rows: int) -> None:
    layout = LAYOUTS[name]
    root = build(tmp_path, layout)
    inner: list[bytes | None] = list(layout.inner_chunks(DATA))
    inner[2] = layout.encode_chunk(np.full((rows, 4), 7, DTYPE))
    key = layout.key((0, 0))
    replace_chunk(root, key, layout.assemble_shard(inner))
    expect_decode_error(root, key)


# -- checksums ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["v3_crc32c", "v3_zstd_crc32c"])
def test_crc32c_mismatch(tmp_path: Path, name: str) -> None:
    layout = LAYOUTS[name]
    root = build(tmp_path, layout)
    key = layout.key((0, 0))
    original = (Path(root) / key).read_bytes()
    wrong_crc = original[:-4] + struct.pack("<I", crc32c.crc32c(original[:-4]) ^ 1)
    replace_chunk(root, key, wrong_crc)
    expect_decode_error(root, key, ChecksumError)
    wrong_data = bytes([original[0] ^ 0x10]) + original[1:]
    replace_chunk(root, key, wrong_data)
    expect_decode_error(root, key, ChecksumError)


def test_zstd_checksum_mismatch(tmp_path: Path) -> None:
    layout = LAYOUTS["v3_zstd_checksum"]
    root = build(tmp_path, layout)
    key = layout.key((0, 0))
    original = (Path(root) / key).read_bytes()
    replace_chunk(root, key, original[:-1] + bytes([original[-1] ^ 0xFF]))
    expect_decode_error(root, key)


@pytest.mark.parametrize("name", ["v3_sharded", "v3_sharded_start"])
def test_shard_index_crc32c_mismatch(tmp_path: Path, name: str) -> None:
    layout = LAYOUTS[name]
    root = build(tmp_path, layout)
    key = layout.key((0, 0))
    shard = bytearray((Path(root) / key).read_bytes())
    crc_at = layout.index_nbytes() - 4 if name.endswith("start") else len(shard) - 4
    shard[crc_at] ^= 0x01
    replace_chunk(root, key, bytes(shard))
    expect_decode_error(root, key, ChecksumError)


@pytest.mark.parametrize("name", ["v3_sharded", "v3_sharded_start"])
def test_inner_chunk_crc32c_mismatch(tmp_path: Path, name: str) -> None:
    layout = LAYOUTS[name]
    root = build(tmp_path, layout)
    inner: list[bytes | None] = list(layout.inner_chunks(DATA))
    blob = inner[3]
    assert blob is not None
    inner[3] = blob[:-4] + struct.pack("<I", crc32c.crc32c(blob[:-4]) ^ 0x80000000)
    key = layout.key((0, 0))
    replace_chunk(root, key, layout.assemble_shard(inner))
    expect_decode_error(root, key, ChecksumError)
    # Only the inner chunk is bad: a read that does not touch it still works.
    np.testing.assert_array_equal(geozarr.open_array(root, path="a")[0:4, 0:4], DATA[0:4, 0:4])


# -- shard structure ---------------------------------------------------------------------


@pytest.mark.parametrize("name", ["v3_sharded", "v3_sharded_start", "v3_sharded_zstd_nocrc"])
def test_shard_shorter_than_its_index(tmp_path: Path, name: str) -> None:
    layout = LAYOUTS[name]
    root = build(tmp_path, layout)
    key = layout.key((0, 0))
    shard = (Path(root) / key).read_bytes()
    size = layout.index_nbytes()
    for length in sorted({0, 1, 3, 16, size // 2, size - 1}):
        part = shard[:length] if name.endswith("start") else shard[-length:] if length else b""
        replace_chunk(root, key, part)
        expect_decode_error(root, key)


def corrupt_index_cases(layout: Layout, inner: list[bytes]) -> dict[str, list[tuple[int, int]]]:
    """Index entries, each list with entry 1 made wrong in one way."""
    base = layout.index_nbytes() if layout.index_location == "start" else 0
    good: list[tuple[int, int]] = []
    offset = base
    for blob in inner:
        good.append((offset, len(blob)))
        offset += len(blob)
    end = offset + (layout.index_nbytes() if layout.index_location == "end" else 0)

    def with_entry(entry: tuple[int, int]) -> list[tuple[int, int]]:
        return [*good[:1], entry, *good[2:]]

    return {
        "past_end": with_entry((end - 2, len(inner[1]))),
        "far_past_end": with_entry((end + 1000, len(inner[1]))),
        "offset_overflow": with_entry((2**64 - 8, 16)),
        "huge_nbytes": with_entry((good[1][0], 2**62)),
        "nbytes_zero": with_entry((good[1][0], 0)),
        "half_missing_offset": with_entry((MISSING, len(inner[1]))),
        "half_missing_nbytes": with_entry((good[1][0], MISSING)),
    }


@pytest.mark.parametrize("case", ["past_end", "far_past_end", "offset_overflow", "huge_nbytes",
                                  "nbytes_zero", "half_missing_offset", "half_missing_nbytes"])
@pytest.mark.parametrize("name", ["v3_sharded", "v3_sharded_start"])
def test_shard_index_pointing_outside(tmp_path: Path, name: str, case: str) -> None:
    """An index with a valid checksum but an impossible entry is refused, allocating
    nothing of the size it claims."""
    layout = LAYOUTS[name]
    root = build(tmp_path, layout)
    inner = list(layout.inner_chunks(DATA))
    entries = corrupt_index_cases(layout, inner)[case]
    key = layout.key((0, 0))
    replace_chunk(root, key, layout.assemble_shard(list(inner), entries))
    assert_refused_without_allocating(root, key)


@pytest.mark.parametrize("name", ["v3_sharded", "v3_sharded_start"])
def test_shard_missing_inner_chunk_is_fill(tmp_path: Path, name: str) -> None:
    """The control: an entry of (2**64 - 1, 2**64 - 1) is an absent inner chunk."""
    layout = LAYOUTS[name]
    root = build(tmp_path, layout)
    inner: list[bytes | None] = list(layout.inner_chunks(DATA))
    inner[1] = None
    replace_chunk(root, layout.key((0, 0)), layout.assemble_shard(inner))
    expected = DATA.copy()
    expected[0:4, 4:8] = 0
    np.testing.assert_array_equal(read(root), expected)
    np.testing.assert_array_equal(zarr.open_array(root, path="a", mode="r")[...], expected)


@pytest.mark.parametrize("zarr_format", [2, 3])
@pytest.mark.parametrize("checksum", ["crc32", "adler32", "fletcher32"])
def test_numcodecs_checksum_mismatch_is_a_checksum_error(tmp_path: Path, zarr_format: int,
                                                         checksum: str) -> None:
    """v2 checksum filters and v3 numcodecs.* checksums both report a ChecksumError."""
    codec = numcodecs.get_codec({"id": checksum})
    array = geozarr.create_array(tmp_path / "c.zarr", shape=(8,), chunks=(8,), dtype="i4",
                                 compressor=None, filters=[codec], zarr_format=zarr_format)
    array[...] = np.arange(8)
    chunk = next(p for p in (tmp_path / "c.zarr").rglob("*")
                 if p.is_file() and p.name not in ("zarr.json", ".zarray", ".zattrs", ".zgroup"))
    raw = bytearray(chunk.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    chunk.write_bytes(bytes(raw))
    with pytest.raises(geozarr.ChecksumError, match=checksum):
        geozarr.open_array(tmp_path / "c.zarr")[...]
