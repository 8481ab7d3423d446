"""Building numcodecs codecs from untrusted metadata, refusing the unsafe ones.

Zarr v2 filters and compressors, and the v3 ``numcodecs.*`` codecs, are numcodecs
configurations (``{"id": "zstd", "level": 3}``) read from metadata anyone may have written.
Some numcodecs codecs decode to Python objects: ``pickle`` runs arbitrary code while decoding,
and the others (``msgpack2``, ``json2``, ``vlen-array``, any codec asked for the ``object``
data type) build object arrays a raster library has no use for. They are refused with
:class:`~geozarr.errors.UnsafeCodecError` before anything is constructed. ``vlen-utf8`` and
``vlen-bytes`` only ever yield ``str`` and ``bytes`` and are allowed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numcodecs
import numcodecs.abc
import numcodecs.registry
import numpy as np

from geozarr.errors import UnsafeCodecError, UnsupportedCodecError

#: numcodecs ids whose decoding runs code or yields arbitrary Python objects.
UNSAFE_IDS = frozenset({"pickle", "msgpack", "msgpack2", "json", "json2", "vlen-array"})

#: Members GDAL writes that numcodecs does not take, and that decoding does not need: GDAL's
#: lzma ``delta`` configures the encoder's filter chain, which the xz stream itself records.
_GDAL_EXTRA_MEMBERS = {"lzma": frozenset({"delta"})}

#: Configuration members that name a data type the codec decodes to or encodes to.
_DTYPE_MEMBERS = ("dtype", "astype", "encode_dtype", "decode_dtype")


def make_numcodec(config: Mapping[str, Any], *, key: str) -> numcodecs.abc.Codec:
    """Build the numcodecs codec that ``config`` describes.

    Parameters
    ----------
    config
        A numcodecs configuration: ``{"id": ..., **parameters}``. It is not modified.
    key
        The metadata document the configuration comes from, named in error messages.

    Returns
    -------
    numcodecs.abc.Codec
        A new codec instance; build it once and reuse it (numcodecs codecs are thread-safe).

    Raises
    ------
    UnsafeCodecError
        The codec would decode to Python objects (pickle, msgpack2, json2, vlen-array, or an
        ``object`` data type).
    UnsupportedCodecError
        ``config`` is not a mapping with a string ``id``, the id is unknown to numcodecs, or
        the codec refuses the parameters.
    """
    if not isinstance(config, Mapping):
        raise UnsupportedCodecError(f"{key}: codec configuration must be a JSON object, "
                                    f"got {config!r}")
    codec_id = config.get("id")
    if not isinstance(codec_id, str):
        raise UnsupportedCodecError(f"{key}: codec configuration has no string 'id': {config!r}")
    if codec_id in UNSAFE_IDS:
        raise UnsafeCodecError(f"{key}: codec {codec_id!r} refused: decoding it can run code "
                               "or yield arbitrary Python objects")
    for member in _DTYPE_MEMBERS:
        if member in config and _is_object_dtype(config[member]):
            raise UnsafeCodecError(f"{key}: codec {codec_id!r} refused: its {member!r} is the "
                                   "object data type, which yields Python objects")
    config = {name: value for name, value in config.items()
              if name not in _GDAL_EXTRA_MEMBERS.get(codec_id, ())}
    try:
        return numcodecs.get_codec(config)
    except (TypeError, ValueError, KeyError, OverflowError) as exc:
        if codec_id not in numcodecs.registry.codec_registry:
            raise UnsupportedCodecError(
                f"{key}: unknown numcodecs codec id {codec_id!r}") from exc
        raise UnsupportedCodecError(
            f"{key}: invalid configuration for numcodecs codec {codec_id!r}: {exc}") from exc


def _is_object_dtype(value: Any) -> bool:
    """Whether ``value`` names numpy's object data type (unparseable values are left to the
    codec's constructor to refuse)."""
    try:
        return np.dtype(value).hasobject
    except (TypeError, ValueError):
        return False
