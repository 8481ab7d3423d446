"""The v3 array->bytes codecs for plain arrays: ``bytes`` (fixed-size items) and
``vlen-utf8`` (the v3 ``string`` data type)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np
from numcodecs.vlen import VLenUTF8

from geozarr.codecs._configuration import read_choice, read_configuration
from geozarr.codecs.base import ArrayBytesCodec, Buffer, ChunkSpec
from geozarr.codecs.bounded import DECODE_ERRORS, byte_view
from geozarr.errors import ChunkDecodeError, UnsupportedCodecError

_ENDIANS = ("little", "big")


class BytesCodec(ArrayBytesCodec):
    """Items in C order, each in the configured byte order (``endian``).

    ``endian`` may be absent for 1-byte types; for wider ones zarr-python reads a missing
    ``endian`` as little-endian, and so does this codec. Decoding returns a native-endian
    array: a zero-copy view of the input when the stored order is native.
    """

    name: ClassVar[str] = "bytes"

    def __init__(self, endian: str | None, *, key: str = "") -> None:
        self.endian = endian
        self._key = key
        self._order = ">" if endian == "big" else "<"
        # Per decoded dtype: (stored dtype, native dtype). Filled once per dtype.
        self._layouts: dict[np.dtype, tuple[np.dtype, np.dtype]] = {}

    @classmethod
    def from_config(cls, configuration: Mapping[str, Any] | None, *, key: str) -> BytesCodec:
        config = read_configuration(configuration, name=cls.name, key=key, allowed=("endian",))
        endian = None
        if "endian" in config:
            endian = read_choice(config, "endian", "little", name=cls.name, key=key,
                                 choices=_ENDIANS)
        return cls(endian, key=key)

    def to_dict(self) -> dict[str, Any]:
        if self.endian is None:
            return {"name": self.name}
        return {"name": self.name, "configuration": {"endian": self.endian}}

    def _layout(self, dtype: np.dtype) -> tuple[np.dtype, np.dtype]:
        layout = self._layouts.get(dtype)
        if layout is None:
            if dtype.kind in "OT" or dtype.itemsize == 0:
                raise UnsupportedCodecError(f"{self._key}: the 'bytes' codec needs a fixed-size "
                                            f"data type, got {dtype}")
            native = dtype.newbyteorder("=")
            layout = (native.newbyteorder(self._order), native)
            self._layouts[dtype] = layout
        return layout

    def encode(self, array: np.ndarray, spec: ChunkSpec) -> Buffer:
        stored, _native = self._layout(spec.dtype)
        # A view of the (C-contiguous) values: the compressor reads it without a copy.
        return memoryview(np.ascontiguousarray(array, dtype=stored)).cast("B")

    def decode(self, data: Buffer, spec: ChunkSpec, *, key: str) -> np.ndarray:
        stored, native = self._layout(spec.dtype)
        expected = math.prod(spec.shape) * stored.itemsize  # ChunkSpec.nbytes is 15x slower
        try:
            array = np.frombuffer(data, dtype=stored)
        except ValueError as exc:  # not a whole number of items
            raise ChunkDecodeError(f"chunk {key!r}: {exc}; expected {expected} bytes "
                                   f"({spec.shape} of {spec.dtype})") from exc
        if array.nbytes != expected:
            raise ChunkDecodeError(f"chunk {key!r}: holds {array.nbytes} bytes, expected "
                                   f"{expected} ({spec.shape} of {spec.dtype})")
        array = array.reshape(spec.shape)
        if stored != native:
            array = array.astype(native)
        return array

    def max_encoded_size(self, spec: ChunkSpec) -> int | None:
        return spec.nbytes


class VlenUtf8Codec(ArrayBytesCodec):
    """Variable-length UTF-8 strings, numcodecs' ``vlen-utf8`` layout: a little-endian uint32
    item count, then each item as a uint32 byte length and its UTF-8 bytes.

    The item count is checked against the chunk shape before numcodecs sees the data: it
    would otherwise allocate an object array of whatever count a corrupt chunk declares.
    """

    name: ClassVar[str] = "vlen-utf8"

    def __init__(self, *, key: str = "") -> None:
        self._key = key
        self._codec = VLenUTF8()

    @classmethod
    def from_config(cls, configuration: Mapping[str, Any] | None, *, key: str) -> VlenUtf8Codec:
        read_configuration(configuration, name=cls.name, key=key, allowed=())
        return cls(key=key)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "configuration": {}}

    def _string_dtype(self, dtype: np.dtype) -> np.dtype:
        if dtype.kind not in "OT":
            raise UnsupportedCodecError(f"{self._key}: the 'vlen-utf8' codec needs a string "
                                        f"data type, got {dtype}")
        return dtype

    def encode(self, array: np.ndarray, spec: ChunkSpec) -> bytes:
        self._string_dtype(spec.dtype)
        items = np.asarray(array).astype(object).reshape(-1)
        return bytes(self._codec.encode(items))

    def decode(self, data: Buffer, spec: ChunkSpec, *, key: str) -> np.ndarray:
        dtype = self._string_dtype(spec.dtype)
        view = byte_view(data)
        nitems = math.prod(spec.shape)
        if len(view) < 4:
            raise ChunkDecodeError(f"chunk {key!r}: vlen-utf8 data is truncated ({len(view)} "
                                   "bytes, no item count)")
        declared = int.from_bytes(view[:4], "little")
        if declared != nitems:
            raise ChunkDecodeError(f"chunk {key!r}: vlen-utf8 data declares {declared} items, "
                                   f"expected {nitems} (chunk shape {spec.shape})")
        if 4 + 4 * nitems > len(view):
            raise ChunkDecodeError(f"chunk {key!r}: vlen-utf8 data is truncated ({len(view)} "
                                   f"bytes cannot hold {nitems} items)")
        try:
            items = self._codec.decode(view)
        except DECODE_ERRORS as exc:  # UnicodeDecodeError is a ValueError
            raise ChunkDecodeError(f"chunk {key!r}: corrupt vlen-utf8 data ({exc})") from exc
        return items.astype(dtype).reshape(spec.shape)

    def max_encoded_size(self, spec: ChunkSpec) -> int | None:
        return None
