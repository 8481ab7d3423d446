"""The three kinds of Zarr v3 codec, and the chunk description they transform.

A v3 codec chain is zero or more array->array codecs (``transpose``), exactly one
array->bytes codec (``bytes``, ``sharding_indexed``), then zero or more bytes->bytes codecs
(``zstd``, ``crc32c``...). Each codec is a small object built once per array from its JSON
``configuration`` and reused for every chunk; none of them does I/O.

Decoding guards against decompression bombs: every bytes->bytes decoder receives the largest
size its output may legally have (``max_nbytes``) and must refuse, before allocating, input
that declares or produces more.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any, ClassVar, NamedTuple

import numpy as np

#: Anything with the buffer protocol: bytes, bytearray, memoryview, a contiguous ndarray.
Buffer = Any


class ChunkSpec(NamedTuple):
    """What a codec sees of one chunk: its shape, data type and fill value."""

    shape: tuple[int, ...]
    dtype: np.dtype
    fill_value: Any

    @property
    def nbytes(self) -> int:
        """Size of the chunk as a contiguous array of ``dtype``."""
        return math.prod(self.shape) * self.dtype.itemsize

    def is_fill(self, chunk: np.ndarray) -> bool:
        """Whether every element of ``chunk`` equals the fill value (NaN equals NaN)."""
        fill = self.fill_value
        if self.dtype.kind == "c":
            return bool((_equal_nan(chunk.real, fill.real)
                         & _equal_nan(chunk.imag, fill.imag)).all())
        if self.dtype.kind == "f":
            return bool(_equal_nan(chunk, fill).all())
        return bool((chunk == fill).all())


def _equal_nan(values: np.ndarray, scalar: Any) -> np.ndarray:
    if np.isnan(scalar):
        return np.isnan(values)
    return values == scalar


class Codec(ABC):
    """Behaviour shared by the three codec kinds: JSON in, JSON out."""

    #: The v3 ``name`` this codec is registered under.
    name: ClassVar[str]

    @classmethod
    @abstractmethod
    def from_config(cls, configuration: Mapping[str, Any] | None, *, key: str) -> Codec:
        """Build the codec from its v3 ``configuration``.

        Raises ``UnsupportedCodecError`` naming ``key`` (the metadata document) when the
        configuration is missing a member, has one of the wrong type, or an invalid value.
        """

    @abstractmethod
    def to_dict(self) -> dict[str, Any]:
        """The v3 JSON form: ``{"name": ..., "configuration": {...}}``."""

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other.to_dict() == self.to_dict()

    def __hash__(self) -> int:
        return hash(repr(self.to_dict()))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.to_dict().get('configuration', {})})"


class ArrayArrayCodec(Codec):
    """Turns an array into another array (``transpose``, ``numcodecs.delta``...)."""

    @abstractmethod
    def resolve(self, spec: ChunkSpec) -> ChunkSpec:
        """The spec of the encoded array, given the spec of the decoded one."""

    @abstractmethod
    def encode(self, array: np.ndarray, spec: ChunkSpec) -> np.ndarray:
        """Encode ``array`` (of ``spec``)."""

    @abstractmethod
    def decode(self, array: np.ndarray, spec: ChunkSpec) -> np.ndarray:
        """Decode ``array`` back to an array of ``spec`` (the decoded side's spec)."""


class ArrayBytesCodec(Codec):
    """Serialises an array to bytes (``bytes``, ``sharding_indexed``)."""

    @abstractmethod
    def encode(self, array: np.ndarray, spec: ChunkSpec) -> Buffer:
        """Serialise ``array`` (of ``spec``) to bytes or a bytes-like view."""

    @abstractmethod
    def decode(self, data: Buffer, spec: ChunkSpec, *, key: str) -> np.ndarray:
        """Deserialise ``data`` to an array of exactly ``spec``.

        Raises ``ChunkDecodeError`` naming ``key`` when ``data`` has the wrong size.
        """

    @abstractmethod
    def max_encoded_size(self, spec: ChunkSpec) -> int | None:
        """The largest size ``encode`` can produce for ``spec``, or None when unbounded."""

    def prepare(self, spec: ChunkSpec, *, key: str) -> None:
        """Check the configuration against ``spec`` once, when the array is opened.

        Raises ``UnsupportedCodecError`` naming ``key`` when they do not fit (e.g. a shard
        shape the inner chunk shape does not divide). The default accepts any spec.
        """


class BytesBytesCodec(Codec):
    """Turns bytes into bytes (compressors, checksums)."""

    @abstractmethod
    def encode(self, data: Buffer) -> bytes:
        """Encode ``data``."""

    @abstractmethod
    def decode(self, data: Buffer, *, max_nbytes: int | None, key: str,
               out: np.ndarray | None = None) -> Buffer:
        """Decode ``data``.

        ``max_nbytes`` is the largest size the decoded bytes may legally have (None when not
        known); a decoder that would produce more raises ``ChunkDecodeError`` naming ``key``
        without allocating it. ``out``, when given, is a C-contiguous uint8 array the decoder
        may decode into (to avoid an allocation per chunk); the result is then a view of it.
        Raises ``ChunkDecodeError`` (``ChecksumError`` for checksums) for corrupt input.
        """

    def encoded_size(self, nbytes: int) -> int | None:
        """The exact encoded size for an input of ``nbytes``, if fixed (checksums); else None."""
        return None
