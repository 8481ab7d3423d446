"""Decompression-bomb-safe decoding of numcodecs compressors.

A stored chunk is untrusted input: a few hundred bytes of zstd or gzip can expand to
gigabytes. :func:`decompress` decodes with any numcodecs compressor while never allocating
more than the largest size the output may legally have (``max_nbytes``):

* formats that declare their decoded size (zstd frame headers, the blosc header, the size
  prefix numcodecs puts before an LZ4 block) are checked *before* anything is allocated;
* stream formats (zlib, gzip, bz2, lzma) are decoded with the standard library's
  incremental decompressors, asked for at most ``max_nbytes + 1`` bytes;
* any other codec (shuffle, checksums...) cannot expand its input much; it is decoded and
  its size checked afterwards.

When ``out`` (an exact-size, C-contiguous uint8 array) is given, zstd, blosc and LZ4 decode
straight into it, so reading a chunk allocates nothing; the result is then ``out`` itself.
Truncated or corrupt input raises :class:`~geozarr.errors.ChunkDecodeError` naming the key.
"""

from __future__ import annotations

import bz2
import functools
import lzma
import struct
import sys
import zlib
from collections.abc import Callable
from typing import Any

import numcodecs.abc
import numpy as np
from numcodecs.blosc import Blosc
from numcodecs.bz2 import BZ2
from numcodecs.gzip import GZip
from numcodecs.lz4 import LZ4
from numcodecs.lzma import LZMA
from numcodecs.zlib import Zlib
from numcodecs.zstd import Zstd

from geozarr.codecs.base import Buffer
from geozarr.errors import ChecksumError, ChunkDecodeError

#: The errors numcodecs and the standard library raise for corrupt or truncated input.
DECODE_ERRORS: tuple[type[Exception], ...] = (
    RuntimeError, ValueError, EOFError, OSError, IndexError, zlib.error, lzma.LZMAError,
)

#: numcodecs ids of checksum codecs: a failed decode there is a checksum mismatch.
CHECKSUM_IDS = ("crc32", "crc32c", "adler32", "fletcher32", "jenkins_lookup3")

_U32 = struct.Struct("<I")
_U16 = struct.Struct("<H")
_U64 = struct.Struct("<Q")

_ZSTD_MAGIC = 0xFD2FB528
_ZSTD_SKIPPABLE_MASK = 0xFFFFFFF0
_ZSTD_SKIPPABLE_MAGIC = 0x184D2A50
_ZSTD_BLOCK_MAX = 128 * 1024  # RFC 8878: no block decodes to more than 128 KiB
_ZSTD_FCS_SIZE = ((0, 2, 4, 8), (1, 2, 4, 8))  # [single segment][FCS flag]
_ZSTD_DID_SIZE = (0, 1, 2, 4)

_BLOSC_HEADER = 16
_LZ4_PREFIX = 4

#: Decoder memory allowed to lzma on top of the output: the dictionary of preset 9 (64 MiB).
_LZMA_MEMORY = 128 * 1024 * 1024


def decompress(codec: numcodecs.abc.Codec, data: Buffer, *, max_nbytes: int | None, key: str,
               out: np.ndarray | None = None) -> Buffer:
    """Decode ``data`` with ``codec`` without ever allocating more than ``max_nbytes``.

    Parameters
    ----------
    codec
        A numcodecs codec whose ``decode`` turns bytes into bytes.
    data
        The encoded bytes (any contiguous buffer).
    max_nbytes
        The largest legal size of the decoded bytes; None when unknown (no limit).
    key
        The store key of the chunk, named in error messages.
    out
        A C-contiguous uint8 array of exactly the expected decoded size, or None. When given,
        the decoded bytes must fill it exactly and the result is ``out``.

    Returns
    -------
    Buffer
        The decoded bytes: ``out`` when given, else a bytes-like object.

    Raises
    ------
    ChunkDecodeError
        ``data`` is truncated or corrupt, or decodes (or declares it decodes) to more than
        ``max_nbytes`` bytes, or to other than ``len(out)`` bytes.
    """
    if out is not None:
        limit: int | None = out.nbytes
    else:
        limit = max_nbytes
    decoder = _DECODERS.get(type(codec))
    if decoder is None:
        decoder = _decoder_for(type(codec))
    return decoder(codec, data, limit, key, out)


# -- helpers -------------------------------------------------------------------------------
def _fail(key: str, codec: numcodecs.abc.Codec, what: str) -> ChunkDecodeError:
    return ChunkDecodeError(f"chunk {key!r}: {codec.codec_id} data {what}")


def _too_big(key: str, codec: numcodecs.abc.Codec, nbytes: int, limit: int) -> ChunkDecodeError:
    return _fail(key, codec, f"decodes to {nbytes} bytes, more than the {limit} bytes allowed")


def _check_declared(codec: numcodecs.abc.Codec, declared: int, limit: int | None, key: str,
                    out: np.ndarray | None) -> None:
    """Refuse a declared decoded size that is too big, or that does not fill ``out``."""
    if out is not None:
        if declared != limit:
            raise _fail(key, codec, f"declares {declared} decoded bytes, expected {limit}")
    elif limit is not None and declared > limit:
        raise _too_big(key, codec, declared, limit)


def byte_view(data: Buffer) -> memoryview:
    """``data`` as a flat memoryview of bytes (no copy; ``data`` must be contiguous)."""
    view = memoryview(data)
    if view.format != "B" or view.ndim != 1:
        view = view.cast("B")
    return view


def _finish(codec: numcodecs.abc.Codec, result: Buffer, limit: int | None, key: str,
            out: np.ndarray | None) -> Buffer:
    """Check the size of an already decoded ``result``; copy it into ``out`` if given."""
    view = byte_view(result)
    if out is not None:
        if view.nbytes != limit:
            raise _fail(key, codec, f"decodes to {view.nbytes} bytes, expected {limit}")
        out[:] = np.frombuffer(view, dtype=np.uint8)
        return out
    if limit is not None and view.nbytes > limit:
        raise _too_big(key, codec, view.nbytes, limit)
    return result


# -- zstd ----------------------------------------------------------------------------------
def _zstd_size(view: memoryview, limit: int | None, key: str,
               codec: numcodecs.abc.Codec) -> tuple[int, bool]:
    """Walk the frames of ``view`` (RFC 8878) without decoding them.

    Returns the total decoded size and True when every frame declares its content size;
    otherwise an upper bound (128 KiB per compressed block) and False. Stops early, with a
    size above ``limit``, as soon as the size is known to exceed it.
    """
    n = len(view)
    if n == 0:
        raise _fail(key, codec, "is empty")
    pos = 0
    total = 0
    exact = True
    while pos < n:
        if n - pos < 4:
            raise _fail(key, codec, "is truncated (partial frame magic number)")
        magic = _U32.unpack_from(view, pos)[0]
        if magic & _ZSTD_SKIPPABLE_MASK == _ZSTD_SKIPPABLE_MAGIC:
            if n - pos < 8:
                raise _fail(key, codec, "is truncated (skippable frame header)")
            pos += 8 + _U32.unpack_from(view, pos + 4)[0]
            continue
        if magic != _ZSTD_MAGIC:
            raise _fail(key, codec, f"is not a zstd frame (magic number {magic:#010x})")
        pos += 4
        if pos >= n:
            raise _fail(key, codec, "is truncated (frame header)")
        descriptor = view[pos]
        pos += 1
        if descriptor & 0x08:
            raise _fail(key, codec, "has a frame header with its reserved bit set")
        single_segment = (descriptor >> 5) & 1
        pos += (1 - single_segment) + _ZSTD_DID_SIZE[descriptor & 3]
        fcs_size = _ZSTD_FCS_SIZE[single_segment][descriptor >> 6]
        if pos + fcs_size > n:
            raise _fail(key, codec, "is truncated (frame header)")
        content_size: int | None
        if fcs_size == 0:
            content_size = None
        elif fcs_size == 1:
            content_size = view[pos]
        elif fcs_size == 2:
            content_size = _U16.unpack_from(view, pos)[0] + 256
        elif fcs_size == 4:
            content_size = _U32.unpack_from(view, pos)[0]
        else:
            content_size = _U64.unpack_from(view, pos)[0]
        pos += fcs_size
        bound = 0
        while True:
            if pos + 3 > n:
                raise _fail(key, codec, "is truncated (block header)")
            header = view[pos] | (view[pos + 1] << 8) | (view[pos + 2] << 16)
            pos += 3
            block_type = (header >> 1) & 3
            block_size = header >> 3
            if block_type == 3 or block_size > _ZSTD_BLOCK_MAX:
                raise _fail(key, codec, "has an invalid block header")
            if block_type == 0:  # raw
                pos += block_size
                bound += block_size
            elif block_type == 1:  # RLE: one byte, repeated block_size times
                pos += 1
                bound += block_size
            else:  # compressed
                pos += block_size
                bound += _ZSTD_BLOCK_MAX
            if header & 1:
                break
            if limit is not None and content_size is None and total + bound > limit:
                return total + bound, False
        pos += 4 * ((descriptor >> 2) & 1)  # content checksum
        if pos > n:
            raise _fail(key, codec, "is truncated (block data)")
        if content_size is None:
            exact = False
            total += bound
        elif content_size > bound:
            raise _fail(key, codec, f"declares {content_size} bytes, more than its blocks hold")
        else:
            total += content_size
        if limit is not None and total > limit:
            return total, exact
    return total, exact


def _decode_zstd(codec: numcodecs.abc.Codec, data: Buffer, limit: int | None, key: str,
                 out: np.ndarray | None) -> Buffer:
    view = byte_view(data)
    size, exact = _zstd_size(view, limit, key, codec)
    if exact:
        _check_declared(codec, size, limit, key, out)
        if size == 0:
            return out if out is not None else b""
    elif out is not None:
        # libzstd writes at most len(out) bytes, and numcodecs checks it filled it exactly.
        if size < out.nbytes:
            raise _fail(key, codec, f"holds at most {size} bytes, expected {out.nbytes}")
    elif limit is not None and size > limit:
        # No declared size and too many blocks to bound it: only an exact fit is decoded.
        out = np.empty(limit, dtype=np.uint8)
        try:
            return codec.decode(view, out=out)
        except DECODE_ERRORS as exc:
            raise _fail(key, codec, f"does not declare its decoded size and does not decode "
                                    f"to exactly the {limit} bytes expected ({exc})") from exc
    try:
        result = codec.decode(view, out=out)
    except DECODE_ERRORS as exc:
        raise _checksum_aware(codec, key, exc) from exc
    if out is not None:
        return out
    return _finish(codec, result, limit, key, None)


# -- blosc ---------------------------------------------------------------------------------
def _decode_blosc(codec: numcodecs.abc.Codec, data: Buffer, limit: int | None, key: str,
                  out: np.ndarray | None) -> Buffer:
    view = byte_view(data)
    if len(view) < _BLOSC_HEADER:
        raise _fail(key, codec, f"is truncated ({len(view)} bytes, shorter than its header)")
    nbytes, _blocksize, cbytes = struct.unpack_from("<III", view, 4)
    # c-blosc reads `cbytes` bytes whatever the buffer holds: it must be exactly the input.
    if cbytes != len(view):
        raise _fail(key, codec, f"declares {cbytes} compressed bytes but has {len(view)}")
    _check_declared(codec, nbytes, limit, key, out)
    if nbytes == 0:
        return out if out is not None else b""
    try:
        result = codec.decode(view, out=out)
    except DECODE_ERRORS as exc:
        raise _fail(key, codec, f"is corrupt ({exc})") from exc
    return result


# -- lz4 -----------------------------------------------------------------------------------
def _decode_lz4(codec: numcodecs.abc.Codec, data: Buffer, limit: int | None, key: str,
                out: np.ndarray | None) -> Buffer:
    view = byte_view(data)
    if len(view) < _LZ4_PREFIX:
        raise _fail(key, codec, "is truncated (no size prefix)")
    _check_declared(codec, _U32.unpack_from(view, 0)[0], limit, key, out)
    try:
        result = codec.decode(view, out=out)
    except DECODE_ERRORS as exc:
        raise _fail(key, codec, f"is corrupt ({exc})") from exc
    return result


# -- stream formats ------------------------------------------------------------------------
def _stream(codec: numcodecs.abc.Codec, make: Callable[[], Any], data: Buffer,
            limit: int | None, key: str, out: np.ndarray | None) -> Buffer:
    """Decode the concatenated streams of ``data``, asking for at most ``limit + 1`` bytes."""
    budget = sys.maxsize if limit is None else limit + 1
    parts: list[bytes] = []
    produced = 0
    rest: Buffer = data
    while True:
        try:
            decoder = make()
            part = decoder.decompress(rest, budget - produced)
        except DECODE_ERRORS as exc:
            raise _fail(key, codec, f"is corrupt ({exc})") from exc
        produced += len(part)
        parts.append(part)
        if produced >= budget:
            raise _fail(key, codec, f"decodes to more than the {limit} bytes allowed")
        if not decoder.eof:
            raise _fail(key, codec, "is truncated")
        rest = decoder.unused_data
        if not rest.strip(b"\0"):  # nothing left but the zero padding gzip tolerates
            break
    result = parts[0] if len(parts) == 1 else b"".join(parts)
    return _finish(codec, result, limit, key, out)


def _zlib_maker(wbits: int) -> Callable[[], Any]:
    return lambda: zlib.decompressobj(wbits)


def _decode_zlib(codec: numcodecs.abc.Codec, data: Buffer, limit: int | None, key: str,
                 out: np.ndarray | None) -> Buffer:
    return _stream(codec, _zlib_maker(zlib.MAX_WBITS), data, limit, key, out)


def _decode_gzip(codec: numcodecs.abc.Codec, data: Buffer, limit: int | None, key: str,
                 out: np.ndarray | None) -> Buffer:
    return _stream(codec, _zlib_maker(16 + zlib.MAX_WBITS), data, limit, key, out)


def _decode_bz2(codec: numcodecs.abc.Codec, data: Buffer, limit: int | None, key: str,
                out: np.ndarray | None) -> Buffer:
    return _stream(codec, bz2.BZ2Decompressor, data, limit, key, out)


def _decode_lzma(codec: numcodecs.abc.Codec, data: Buffer, limit: int | None, key: str,
                 out: np.ndarray | None) -> Buffer:
    fmt = codec.format
    memlimit = None if limit is None else limit + _LZMA_MEMORY
    if fmt == lzma.FORMAT_RAW:
        # Raw streams take their filters (and dictionary size) from the metadata.
        for options in codec.filters or ():
            dict_size = options.get("dict_size", 0)
            if memlimit is not None and dict_size > memlimit:
                raise _fail(key, codec, f"asks for a {dict_size}-byte dictionary, more than "
                                        f"the {memlimit} bytes allowed")

        def make() -> Any:
            return lzma.LZMADecompressor(fmt, filters=codec.filters)
    else:
        def make() -> Any:
            return lzma.LZMADecompressor(fmt, memlimit=memlimit)
    return _stream(codec, make, data, limit, key, out)


# -- anything else -------------------------------------------------------------------------
def _decode_other(codec: numcodecs.abc.Codec, data: Buffer, limit: int | None, key: str,
                  out: np.ndarray | None) -> Buffer:
    try:
        result = codec.decode(data)
    except DECODE_ERRORS as exc:
        raise _checksum_aware(codec, key, exc) from exc
    return _finish(codec, result, limit, key, out)


def _checksum_aware(codec: numcodecs.abc.Codec, key: str, exc: Exception) -> ChunkDecodeError:
    """The error for a failed decode: a ChecksumError when a checksum did not match."""
    if codec.codec_id in CHECKSUM_IDS or "checksum" in str(exc).lower():
        return ChecksumError(f"chunk {key!r}: {codec.codec_id} checksum mismatch ({exc})")
    return _fail(key, codec, f"is corrupt ({exc})")


_Decoder = Callable[..., Buffer]

_DECODERS: dict[type, _Decoder] = {
    Zstd: _decode_zstd,
    Blosc: _decode_blosc,
    LZ4: _decode_lz4,
    Zlib: _decode_zlib,
    GZip: _decode_gzip,
    BZ2: _decode_bz2,
    LZMA: _decode_lzma,
}


@functools.cache
def _decoder_for(cls: type) -> _Decoder:
    """The decoder of the nearest known base class of ``cls`` (subclassed numcodecs codecs)."""
    for base in cls.__mro__:
        if base in _DECODERS:
            return _DECODERS[base]
    return _decode_other
