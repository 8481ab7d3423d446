"""From v3 codec JSON (or a numcodecs codec) to a codec object.

The registry maps each v3 codec ``name`` to its class: the core codecs (``bytes``, with its
legacy name ``endian``, ``transpose``, ``blosc``, ``gzip``, ``zstd``, ``crc32c``,
``vlen-utf8``) and every ``numcodecs.<id>`` adapter. Codecs defined higher up the package
(``sharding_indexed``) add themselves with :func:`register_codec`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numcodecs.abc
import numpy as np
from numcodecs.blosc import Blosc
from numcodecs.gzip import GZip
from numcodecs.zstd import Zstd

from geozarr.codecs.base import Codec
from geozarr.codecs.bytes_codec import BytesCodec, VlenUtf8Codec
from geozarr.codecs.compressors import (
    BLOSC_SHUFFLES,
    BloscCodec,
    Crc32cCodec,
    GzipCodec,
    ZstdCodec,
)
from geozarr.codecs.numcodecs_bridge import UNSAFE_IDS
from geozarr.codecs.numcodecs_v3 import NUMCODECS_V3, PREFIX
from geozarr.codecs.transpose import TransposeCodec
from geozarr.errors import UnsafeCodecError, UnsupportedCodecError

_REGISTRY: dict[str, type[Codec]] = {
    "bytes": BytesCodec,
    "endian": BytesCodec,
    "transpose": TransposeCodec,
    "blosc": BloscCodec,
    "gzip": GzipCodec,
    "zstd": ZstdCodec,
    "crc32c": Crc32cCodec,
    "vlen-utf8": VlenUtf8Codec,
    **NUMCODECS_V3,
}

#: Members a v3 codec object may have besides ``name`` and ``configuration``.
_OPTIONAL_MEMBERS = frozenset({"must_understand"})


def register_codec(name: str, cls: type[Codec]) -> None:
    """Make ``codec_from_dict`` build ``cls`` for the v3 codec ``name``.

    Registering the same class again is a no-op; another class under a taken name is
    refused (``UnsupportedCodecError``) so that no codec is silently replaced.
    """
    current = _REGISTRY.get(name)
    if current is not None and current is not cls:
        raise UnsupportedCodecError(f"codec name {name!r} is already registered to "
                                    f"{current.__qualname__}")
    _REGISTRY[name] = cls


def codec_from_dict(spec: Mapping[str, Any] | str, *, key: str) -> Codec:
    """Build the codec that a v3 codec entry describes.

    Parameters
    ----------
    spec
        ``{"name": ..., "configuration": {...}}``, or the bare name (as the spec allows for
        codecs without configuration, e.g. ``"crc32c"``).
    key
        The metadata document the entry comes from, named in error messages.

    Raises
    ------
    UnsupportedCodecError
        The entry is malformed, its name unknown, or its configuration invalid.
    UnsafeCodecError
        A ``numcodecs.*`` codec that would decode to Python objects.
    """
    if isinstance(spec, str):
        name: Any = spec
        configuration = None
    elif isinstance(spec, Mapping):
        name = spec.get("name")
        configuration = spec.get("configuration")
        extra = set(spec) - {"name", "configuration"} - _OPTIONAL_MEMBERS
        if extra:
            raise UnsupportedCodecError(f"{key}: codec {name!r} has unknown member(s) "
                                        f"{', '.join(map(repr, sorted(extra)))}")
    else:
        raise UnsupportedCodecError(f"{key}: a codec must be a JSON object or a name, "
                                    f"got {spec!r}")
    if not isinstance(name, str):
        raise UnsupportedCodecError(f"{key}: codec entry has no string 'name': {spec!r}")
    if name.startswith(PREFIX) and name[len(PREFIX):] in UNSAFE_IDS:
        raise UnsafeCodecError(f"{key}: codec {name!r} refused: decoding it can run code or "
                               "yields Python objects")
    cls = _REGISTRY.get(name)
    if cls is None:
        raise UnsupportedCodecError(f"{key}: unknown codec {name!r}")
    return cls.from_config(configuration, key=key)


def codec_from_numcodec(codec: numcodecs.abc.Codec, *, dtype: np.dtype) -> Codec:
    """The v3 codec for a numcodecs ``codec`` used on an array of ``dtype``.

    Zstd, Blosc, GZip and CRC32C (checksum at the end) become the core v3 codecs (Blosc gets
    ``typesize`` from ``dtype`` and its shuffle as a name); anything else becomes its
    ``numcodecs.<id>`` adapter. ``UnsupportedCodecError`` when there is none.
    """
    key = f"numcodecs codec {codec!r}"
    dtype = np.dtype(dtype)
    config = codec.get_config()
    config.pop("id", None)
    if isinstance(codec, Zstd):
        return ZstdCodec.from_config({"level": codec.level,
                                      "checksum": bool(getattr(codec, "checksum", False))},
                                     key=key)
    if isinstance(codec, Blosc):
        shuffle = codec.shuffle
        if shuffle == Blosc.AUTOSHUFFLE:
            shuffle = 2 if dtype.itemsize == 1 else 1
        cname = codec.cname.decode() if isinstance(codec.cname, bytes) else codec.cname
        return BloscCodec.from_config({"cname": cname, "clevel": codec.clevel,
                                       "shuffle": BLOSC_SHUFFLES[shuffle],
                                       "typesize": max(dtype.itemsize, 1),
                                       "blocksize": codec.blocksize}, key=key)
    if isinstance(codec, GZip):
        return GzipCodec.from_config({"level": codec.level}, key=key)
    if codec.codec_id == "crc32c" and config.get("location", "end") == "end":
        return Crc32cCodec.from_config(None, key=key)
    return codec_from_dict({"name": PREFIX + codec.codec_id, "configuration": config}, key=key)
