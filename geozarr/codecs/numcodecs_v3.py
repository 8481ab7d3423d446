"""The ``numcodecs.<id>`` v3 codecs zarr-python writes (``numcodecs.zarr3``).

Their ``configuration`` is the numcodecs configuration without its ``id``
(``{"name": "numcodecs.zlib", "configuration": {"level": 4}}``). Each is an adapter around
one numcodecs codec built by :func:`~geozarr.codecs.numcodecs_bridge.make_numcodec` (which
refuses unsafe codecs), of one of three kinds:

* bytes->bytes compressors and ``shuffle``, decoded through the decompression-bomb guard;
* bytes->bytes checksums, whose mismatch raises :class:`~geozarr.errors.ChecksumError`;
* array->array filters, whose ``resolve`` gives the encoded data type (``astype``,
  ``fixedscaleoffset``, ``delta``, ``quantize``) or shape (``packbits``).

:data:`NUMCODECS_V3` maps each v3 name to its adapter class.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, ClassVar

import numcodecs.abc
import numpy as np
from numcodecs.compat import ensure_bytes

from geozarr.codecs.base import ArrayArrayCodec, Buffer, BytesBytesCodec, ChunkSpec, Codec
from geozarr.codecs.bounded import CHECKSUM_IDS, DECODE_ERRORS, byte_view, decompress
from geozarr.codecs.numcodecs_bridge import make_numcodec
from geozarr.errors import ChecksumError, ChunkDecodeError, UnsupportedCodecError

PREFIX = "numcodecs."

BYTES_IDS = ("blosc", "lz4", "zstd", "zlib", "gzip", "bz2", "lzma", "shuffle")
ARRAY_IDS = ("delta", "bitround", "fixedscaleoffset", "quantize", "packbits", "astype")


class _NumcodecsAdapter(Codec):
    """Shared by the three kinds: configuration in and out, one numcodecs codec."""

    codec_id: ClassVar[str]

    def __init__(self, codec: numcodecs.abc.Codec, configuration: dict[str, Any], *,
                 key: str = "") -> None:
        self._codec = codec
        self.configuration = configuration
        self._key = key

    @classmethod
    def from_config(cls, configuration: Mapping[str, Any] | None, *,
                    key: str) -> _NumcodecsAdapter:
        if configuration is not None and not isinstance(configuration, Mapping):
            raise UnsupportedCodecError(f"{key}: codec {cls.name!r}: configuration must be a "
                                        f"JSON object, got {configuration!r}")
        config = dict(configuration or {})
        codec_id = config.pop("id", cls.codec_id)
        if codec_id != cls.codec_id:
            raise UnsupportedCodecError(f"{key}: codec {cls.name!r}: configuration id "
                                        f"{codec_id!r} does not match the name")
        return cls(make_numcodec({"id": cls.codec_id, **config}, key=key), config, key=key)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "configuration": dict(self.configuration)}


class NumcodecsBytesBytesCodec(_NumcodecsAdapter, BytesBytesCodec):
    """A numcodecs compressor (or ``shuffle``) as a v3 bytes->bytes codec."""

    def encode(self, data: Buffer) -> bytes:
        return ensure_bytes(self._codec.encode(data))

    def decode(self, data: Buffer, *, max_nbytes: int | None, key: str,
               out: np.ndarray | None = None) -> Buffer:
        return decompress(self._codec, data, max_nbytes=max_nbytes, key=key, out=out)


class NumcodecsChecksumCodec(NumcodecsBytesBytesCodec):
    """A numcodecs 32-bit checksum (stored before or after the data, per codec)."""

    def encoded_size(self, nbytes: int) -> int | None:
        return nbytes + 4

    def decode(self, data: Buffer, *, max_nbytes: int | None, key: str,
               out: np.ndarray | None = None) -> Buffer:
        view = byte_view(data)
        nbytes = len(view) - 4
        expected = out.nbytes if out is not None else None
        if nbytes < 0 or (expected is not None and nbytes != expected):
            raise ChunkDecodeError(f"chunk {key!r}: {self.name} data holds {len(view)} bytes "
                                   f"with its checksum, expected {expected} plus 4")
        if max_nbytes is not None and nbytes > max_nbytes:
            raise ChunkDecodeError(f"chunk {key!r}: {self.name} data holds {nbytes} bytes, "
                                   f"more than the {max_nbytes} allowed")
        try:
            result = self._codec.decode(view)
        except RuntimeError as exc:  # numcodecs' checksum mismatch
            raise ChecksumError(f"chunk {key!r}: {self.name} checksum mismatch ({exc})") from exc
        except DECODE_ERRORS as exc:
            raise ChunkDecodeError(f"chunk {key!r}: corrupt {self.name} data ({exc})") from exc
        if out is None:
            return result
        out[:] = np.frombuffer(byte_view(result), dtype=np.uint8)
        return out


class NumcodecsArrayArrayCodec(_NumcodecsAdapter, ArrayArrayCodec):
    """A numcodecs filter as a v3 array->array codec.

    The filter's decoded data type (its ``dtype`` or ``decode_dtype``) must be the chunk's:
    numcodecs reinterprets the items as that type rather than converting them.
    """

    def resolve(self, spec: ChunkSpec) -> ChunkSpec:
        codec = self._codec
        if self.codec_id == "packbits":
            if spec.dtype != np.bool_:
                raise UnsupportedCodecError(f"{self._key}: codec {self.name!r} needs a bool "
                                            f"chunk, got {spec.dtype}")
            nitems = math.prod(spec.shape)
            return spec._replace(shape=(1 + math.ceil(nitems / 8),), dtype=np.dtype(np.uint8))
        decoded = getattr(codec, "decode_dtype", getattr(codec, "dtype", None))
        if decoded is not None and np.dtype(decoded) != spec.dtype:
            raise UnsupportedCodecError(f"{self._key}: codec {self.name!r} decodes to "
                                        f"{np.dtype(decoded)} but the chunk is {spec.dtype}")
        encoded = getattr(codec, "encode_dtype", getattr(codec, "astype", None))
        if encoded is None:
            return spec
        return spec._replace(dtype=np.dtype(encoded))

    def encode(self, array: np.ndarray, spec: ChunkSpec) -> np.ndarray:
        encoded_spec = self.resolve(spec)
        encoded = np.asarray(self._codec.encode(np.ascontiguousarray(array)))
        if encoded.dtype != encoded_spec.dtype:
            # bitround hands back the integer view of its floats: same bits, other type.
            if encoded.dtype.itemsize != encoded_spec.dtype.itemsize:
                raise UnsupportedCodecError(f"{self._key}: codec {self.name!r} encoded to "
                                            f"{encoded.dtype}, expected {encoded_spec.dtype}")
            encoded = encoded.view(encoded_spec.dtype)
        return encoded.reshape(encoded_spec.shape)

    def decode(self, array: np.ndarray, spec: ChunkSpec) -> np.ndarray:
        try:
            decoded = np.asarray(self._codec.decode(np.ascontiguousarray(array)))
        except DECODE_ERRORS + (TypeError,) as exc:
            raise ChunkDecodeError(f"{self._key}: codec {self.name!r} cannot decode a chunk "
                                   f"({exc})") from exc
        nitems = math.prod(spec.shape)
        if decoded.dtype != spec.dtype or decoded.size != nitems:
            raise ChunkDecodeError(f"{self._key}: codec {self.name!r} decoded {decoded.size} "
                                   f"items of {decoded.dtype}, expected {nitems} of "
                                   f"{spec.dtype}")
        return decoded.reshape(spec.shape)


def _adapter(base: type[_NumcodecsAdapter], codec_id: str) -> type[_NumcodecsAdapter]:
    name = PREFIX + codec_id
    return type(f"Numcodecs_{codec_id}", (base,), {
        "name": name, "codec_id": codec_id, "__module__": __name__,
        "__doc__": f"The v3 codec {name!r}: numcodecs {codec_id!r} ({base.__doc__})"})


#: Every supported ``numcodecs.<id>`` v3 name and its adapter class.
NUMCODECS_V3: dict[str, type[_NumcodecsAdapter]] = {
    cls.name: cls for cls in (
        *(_adapter(NumcodecsBytesBytesCodec, i) for i in BYTES_IDS),
        *(_adapter(NumcodecsChecksumCodec, i) for i in CHECKSUM_IDS),
        *(_adapter(NumcodecsArrayArrayCodec, i) for i in ARRAY_IDS),
    )
}
