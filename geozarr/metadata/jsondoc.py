"""Reading and writing JSON metadata documents, and the checks every document shares.

Every Zarr metadata document (``.zarray``, ``.zgroup``, ``.zattrs``, ``.zmetadata``,
``zarr.json``) is a UTF-8 JSON object. This module turns the stored bytes into a ``dict``
(or a :class:`~geozarr.errors.MetadataError` naming the key) and back, and holds the checks of
members that v2 and v3 arrays share: integer lists for ``shape`` and chunk shapes, and the
limits that keep absurd metadata from turning into absurd allocations.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from geozarr.errors import MetadataError

#: The largest size, in bytes, one decoded chunk may have. A larger chunk is refused when the
#: metadata is read, before any allocation is attempted.
MAX_CHUNK_BYTES = 2**31

#: The number of chunks of an array, and every dimension length, must stay below this, so that
#: chunk counts and element offsets fit a signed 64-bit integer.
MAX_COUNT = 2**63


def parse_json_document(raw: bytes, *, key: str) -> dict[str, Any]:
    """Decode a stored metadata document into a ``dict``.

    Parameters
    ----------
    raw : bytes
        The stored bytes: UTF-8 JSON (a leading byte-order mark is tolerated).
    key : str
        The store key the bytes came from, named in every error.

    Returns
    -------
    dict
        The top-level JSON object. Bare ``NaN``/``Infinity`` literals, which some writers put
        in attributes, are read as floats.

    Raises
    ------
    MetadataError
        The bytes are not UTF-8, not JSON, nested too deeply, or not a JSON object.
    """
    try:
        text = bytes(raw).decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise MetadataError(
            f"{key}: metadata is not valid UTF-8 ({exc.reason} at byte {exc.start})"
        ) from exc
    try:
        doc = json.loads(text)
    except RecursionError as exc:
        raise MetadataError(f"{key}: metadata JSON is nested too deeply") from exc
    except ValueError as exc:
        raise MetadataError(f"{key}: metadata is not valid JSON: {exc}") from exc
    if not isinstance(doc, dict):
        raise MetadataError(f"{key}: metadata must be a JSON object, not {json_type(doc)}")
    return doc


def dump_json_document(doc: Mapping[str, Any]) -> bytes:
    """Encode a metadata document as UTF-8 JSON, indented by two spaces.

    numpy scalars and arrays are converted to their JSON equivalents. Non-finite floats are
    refused: the specifications encode them as the strings ``"NaN"``, ``"Infinity"`` and
    ``"-Infinity"``, which callers must do before dumping.

    Raises
    ------
    MetadataError
        The document holds a non-finite float or a value JSON cannot represent.
    """
    try:
        text = json.dumps(
            doc, indent=2, allow_nan=False, ensure_ascii=False, default=_numpy_to_json
        )
    except (TypeError, ValueError) as exc:
        raise MetadataError(f"cannot encode metadata as JSON: {exc}") from exc
    return text.encode("utf-8")


def _numpy_to_json(value: object) -> object:
    """``json.dumps`` hook: numpy scalars and arrays become plain Python values."""
    if isinstance(value, (np.generic, np.ndarray)):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def json_type(value: object) -> str:
    """The JSON name of the type of a decoded value, for error messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def is_json_int(value: object) -> bool:
    """Whether a decoded JSON value is an integer (``true``/``false`` are not)."""
    return isinstance(value, int) and not isinstance(value, bool)


def parse_int_tuple(value: object, *, key: str, member: str) -> tuple[int, ...]:
    """Check that ``value`` is a list (or tuple) of integers and return it as a tuple.

    Python and numpy integers are accepted; booleans, floats and strings are not. Ranges are
    checked by :func:`check_chunk_grid`.

    Parameters
    ----------
    value : object
        The decoded member, or a sequence given by a caller building metadata.
    key : str
        The document's key, named in errors.
    member : str
        The member's name in the document (``"shape"``, ``"chunks"``...).
    """
    if not isinstance(value, (list, tuple)):
        raise MetadataError(f"{key}: {member} must be an array of integers, not {json_type(value)}")
    for i, entry in enumerate(value):
        if not (is_json_int(entry) or isinstance(entry, np.integer)):
            raise MetadataError(f"{key}: {member}[{i}] must be an integer, not {json_type(entry)}")
    return tuple(int(entry) for entry in value)


def check_chunk_grid(
    shape: tuple[int, ...], chunks: tuple[int, ...], itemsize: int, *, key: str
) -> None:
    """Check that a regular chunk grid is consistent and within the limits.

    Shape entries must be in ``[0, 2**63)`` and chunk shape entries in ``[1, 2**63)``, both
    must have the same rank, the grid must have fewer than ``2**63`` chunks, and one chunk must
    hold at most :data:`MAX_CHUNK_BYTES` bytes. Python integers are used throughout, so no
    product can overflow.

    Raises
    ------
    MetadataError
        Naming ``key`` and the violated limit.
    """
    for member, values, minimum in (("shape", shape, 0), ("chunk shape", chunks, 1)):
        for i, size in enumerate(values):
            if not minimum <= size < MAX_COUNT:
                raise MetadataError(f"{key}: {member}[{i}] = {size} is outside [{minimum}, 2**63)")
    if len(shape) != len(chunks):
        raise MetadataError(
            f"{key}: shape has {len(shape)} dimensions but the chunk shape has {len(chunks)}"
        )
    chunk_bytes = math.prod(chunks) * itemsize
    if chunk_bytes > MAX_CHUNK_BYTES:
        raise MetadataError(
            f"{key}: one chunk of shape {list(chunks)} takes {chunk_bytes} bytes, more than the "
            f"limit of {MAX_CHUNK_BYTES}"
        )
    n_chunks = math.prod(grid_shape(shape, chunks))
    if n_chunks >= MAX_COUNT:
        raise MetadataError(f"{key}: the array has {n_chunks} chunks, more than 2**63 - 1")


def grid_shape(shape: tuple[int, ...], chunks: tuple[int, ...]) -> tuple[int, ...]:
    """The number of chunks along each dimension: ``ceil(shape / chunks)``."""
    return tuple(-(-size // chunk) for size, chunk in zip(shape, chunks, strict=True))


def check_codec_config(value: object, *, key: str, member: str) -> dict[str, Any]:
    """Check a v2 codec configuration (compressor or filter): an object with a string ``id``."""
    if not isinstance(value, Mapping):
        raise MetadataError(
            f"{key}: {member} must be an object with an 'id', not {json_type(value)}"
        )
    if not isinstance(value.get("id"), str):
        raise MetadataError(f"{key}: {member} must have a string 'id', got {dict(value)!r}")
    return dict(value)


def check_node_path(path: object, *, key: str) -> str:
    """Check a path listed in consolidated metadata: relative, ``/``-separated, no ``.``/``..``."""
    if not isinstance(path, str) or not path:
        raise MetadataError(
            f"{key}: consolidated metadata path {path!r} must be a non-empty string"
        )
    for segment in path.split("/"):
        if segment in ("", ".", ".."):
            raise MetadataError(
                f"{key}: consolidated metadata path {path!r} is not a safe relative path"
            )
    return path
