"""The v3 bytes->bytes codecs of the core specification: ``blosc``, ``gzip``, ``zstd`` and
``crc32c``.

Each wraps one numcodecs codec, built once in ``from_config`` and shared by every chunk
and thread (numcodecs codecs keep no per-call state). Encoded bytes are exactly those
zarr-python writes (it uses the same numcodecs codecs with the same parameters), and every
decode goes through :func:`geozarr.codecs.bounded.decompress`, the decompression-bomb guard.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, ClassVar

import numcodecs.abc
import numpy as np
from numcodecs.blosc import Blosc
from numcodecs.gzip import GZip
from numcodecs.zstd import Zstd

from geozarr.codecs._configuration import read_choice, read_configuration, read_int
from geozarr.codecs.base import Buffer, BytesBytesCodec
from geozarr.codecs.bounded import byte_view, decompress
from geozarr.errors import ChecksumError, ChunkDecodeError, UnsupportedCodecError


def _find_crc32c() -> Callable[[Buffer], int] | None:
    """The CRC32C function of ``crc32c`` (what numcodecs[crc32c] installs; it reads any
    buffer without a copy), else of ``google_crc32c`` (which only reads ``bytes``)."""
    try:
        from crc32c import crc32c
    except ImportError:
        pass
    else:
        return crc32c
    try:
        from google_crc32c import value
    except ImportError:
        return None
    return lambda data: value(data if isinstance(data, bytes) else bytes(data))


_crc32c = _find_crc32c()

BLOSC_CNAMES = ("lz4", "lz4hc", "blosclz", "zstd", "snappy", "zlib")
BLOSC_SHUFFLES = ("noshuffle", "shuffle", "bitshuffle")


class _NumcodecsCompressor(BytesBytesCodec):
    """A compressor backed by one numcodecs codec, decoded through the bomb guard."""

    _codec: numcodecs.abc.Codec

    def encode(self, data: Buffer) -> bytes:
        return bytes(self._codec.encode(data))

    def decode(self, data: Buffer, *, max_nbytes: int | None, key: str,
               out: np.ndarray | None = None) -> Buffer:
        return decompress(self._codec, data, max_nbytes=max_nbytes, key=key, out=out)


class BloscCodec(_NumcodecsCompressor):
    """Blosc (``cname``, ``clevel``, ``shuffle``, ``typesize``, ``blocksize``).

    ``shuffle`` is a name; the integers of older drafts and of Zarr v2 (0, 1, 2, and -1 for
    "bit-shuffle 1-byte items, byte-shuffle others") are read too and written as names.
    """

    name: ClassVar[str] = "blosc"

    def __init__(self, *, cname: str, clevel: int, shuffle: str, typesize: int | None,
                 blocksize: int) -> None:
        self.cname = cname
        self.clevel = clevel
        self.shuffle = shuffle
        self.typesize = typesize
        self.blocksize = blocksize
        self._codec = Blosc(cname=cname, clevel=clevel, shuffle=BLOSC_SHUFFLES.index(shuffle),
                            blocksize=blocksize, typesize=typesize)

    @classmethod
    def from_config(cls, configuration: Mapping[str, Any] | None, *, key: str) -> BloscCodec:
        config = read_configuration(configuration, name=cls.name, key=key,
                                    allowed=("cname", "clevel", "shuffle", "typesize",
                                             "blocksize"))
        typesize = None
        if config.get("typesize") is not None:
            typesize = read_int(config, "typesize", 1, name=cls.name, key=key, low=1, high=255)
        auto = "bitshuffle" if typesize in (None, 1) else "shuffle"
        shuffle = config.get("shuffle", auto)
        if isinstance(shuffle, int) and not isinstance(shuffle, bool) and -1 <= shuffle <= 2:
            config["shuffle"] = auto if shuffle == -1 else BLOSC_SHUFFLES[shuffle]
        return cls(
            cname=read_choice(config, "cname", "zstd", name=cls.name, key=key,
                              choices=BLOSC_CNAMES),
            clevel=read_int(config, "clevel", 5, name=cls.name, key=key, low=0, high=9),
            shuffle=read_choice(config, "shuffle", auto, name=cls.name, key=key,
                                choices=BLOSC_SHUFFLES),
            typesize=typesize,
            blocksize=read_int(config, "blocksize", 0, name=cls.name, key=key, low=0,
                               high=2**31 - 1),
        )

    def to_dict(self) -> dict[str, Any]:
        configuration: dict[str, Any] = {}
        if self.typesize is not None:
            configuration["typesize"] = self.typesize
        configuration.update(cname=self.cname, clevel=self.clevel, shuffle=self.shuffle,
                             blocksize=self.blocksize)
        return {"name": self.name, "configuration": configuration}


class GzipCodec(_NumcodecsCompressor):
    """Gzip (RFC 1952) at ``level`` 0-9."""

    name: ClassVar[str] = "gzip"

    def __init__(self, *, level: int) -> None:
        self.level = level
        self._codec = GZip(level=level)

    @classmethod
    def from_config(cls, configuration: Mapping[str, Any] | None, *, key: str) -> GzipCodec:
        config = read_configuration(configuration, name=cls.name, key=key, allowed=("level",))
        return cls(level=read_int(config, "level", 5, name=cls.name, key=key, low=0, high=9))

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "configuration": {"level": self.level}}


class ZstdCodec(_NumcodecsCompressor):
    """Zstandard (RFC 8878) at ``level`` (0 is zstd's default), with an optional frame
    ``checksum`` that libzstd verifies when decoding."""

    name: ClassVar[str] = "zstd"

    def __init__(self, *, level: int, checksum: bool) -> None:
        self.level = level
        self.checksum = checksum
        self._codec = Zstd(level=level, checksum=checksum)

    @classmethod
    def from_config(cls, configuration: Mapping[str, Any] | None, *, key: str) -> ZstdCodec:
        config = read_configuration(configuration, name=cls.name, key=key,
                                    allowed=("level", "checksum"))
        checksum = config.get("checksum", False)
        if not isinstance(checksum, bool):
            raise UnsupportedCodecError(f"{key}: codec 'zstd': 'checksum' must be true or "
                                        f"false, got {checksum!r}")
        return cls(level=read_int(config, "level", 0, name=cls.name, key=key, low=-131072,
                                  high=22),
                   checksum=checksum)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name,
                "configuration": {"level": self.level, "checksum": self.checksum}}


class Crc32cCodec(BytesBytesCodec):
    """Appends the CRC32C (Castagnoli) of the data as a little-endian uint32; decoding
    checks and strips it. Without ``out`` the result is a zero-copy view of the input."""

    name: ClassVar[str] = "crc32c"

    def __init__(self, *, key: str = "") -> None:
        if _crc32c is None:
            raise UnsupportedCodecError(f"{key}: codec 'crc32c' needs the crc32c package "
                                        "(pip install 'numcodecs[crc32c]')")
        self._checksum = _crc32c

    @classmethod
    def from_config(cls, configuration: Mapping[str, Any] | None, *, key: str) -> Crc32cCodec:
        read_configuration(configuration, name=cls.name, key=key, allowed=())
        return cls(key=key)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name}

    def encoded_size(self, nbytes: int) -> int | None:
        return nbytes + 4

    def encode(self, data: Buffer) -> bytes:
        view = byte_view(data)
        return b"".join((view, self._checksum(view).to_bytes(4, "little")))

    def decode(self, data: Buffer, *, max_nbytes: int | None, key: str,
               out: np.ndarray | None = None) -> Buffer:
        view = byte_view(data)
        nbytes = len(view) - 4
        if nbytes < 0:
            raise ChunkDecodeError(f"chunk {key!r}: {len(view)} bytes is too short to hold a "
                                   "crc32c checksum")
        if out is not None:
            if nbytes != out.nbytes:
                raise ChunkDecodeError(f"chunk {key!r}: holds {nbytes} bytes before its "
                                       f"crc32c checksum, expected {out.nbytes}")
        elif max_nbytes is not None and nbytes > max_nbytes:
            raise ChunkDecodeError(f"chunk {key!r}: holds {nbytes} bytes before its crc32c "
                                   f"checksum, more than the {max_nbytes} allowed")
        payload = view[:nbytes]
        stored = int.from_bytes(view[nbytes:], "little")
        computed = self._checksum(payload)
        if computed != stored:
            raise ChecksumError(f"chunk {key!r}: crc32c checksum mismatch (stored "
                                f"{stored:#010x}, computed {computed:#010x})")
        if out is None:
            return payload
        out[:] = np.frombuffer(payload, dtype=np.uint8)
        return out

