"""Creating arrays and groups: keywords in, metadata documents written to the store.

``create_array`` builds the metadata value from friendly keywords (a numpy dtype, a numcodecs
compressor, a shard shape...), validates it by the same parser that reads stored documents,
makes sure every enclosing group exists (so other tools can open the store's root), and
writes the documents. Node names are checked before anything is written.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import numcodecs
import numpy as np
from numcodecs.abc import Codec as NumcodecsCodec

from geozarr.codecs.base import ArrayArrayCodec, BytesBytesCodec
from geozarr.codecs.numcodecs_bridge import make_numcodec
from geozarr.codecs.registry import codec_from_numcodec
from geozarr.core.array import Array
from geozarr.core.nodes import V2_ARRAY, V2_ATTRS, V2_GROUP, V3_NODE, \
    MetadataSource, NodeInfo
from geozarr.errors import InvalidKeyError, MetadataError, NodeExistsError, \
    UnsupportedCodecError, UnsupportedDataTypeError
from geozarr.metadata.jsondoc import dump_json_document
from geozarr.metadata.v2 import ArrayMetadataV2, GroupMetadataV2
from geozarr.metadata.v3 import ArrayMetadataV3, GroupMetadataV3
from geozarr.storage import Store, join_key, open_store, validate_node_name

#: The compressor used when none is chosen: fast to decode, good ratio on rasters.
DEFAULT = "default"


def default_compressor() -> NumcodecsCodec:
    """Zstd level 3: decodes at about 1 GB/s per core and compresses rasters well."""
    return numcodecs.Zstd(level=3)


def normalise_path(name: str | None, *, absolute_ok: bool = True) -> str:
    """A node path inside a store: "" for the root, each component a valid node name.

    A leading "/" reads as root-relative (GDAL's ``/group/array`` spelling) when opening;
    a new node's name must be relative (``absolute_ok=False``).
    """
    if name is None:
        return ""
    if not absolute_ok and str(name).startswith("/"):
        raise InvalidKeyError(f"node name {name!r} must be relative (no leading '/')")
    stripped = str(name).strip("/")
    parts = stripped.split("/") if stripped else []
    for part in parts:
        validate_node_name(part)
    return "/".join(parts)


def default_chunks(shape: tuple[int, ...]) -> tuple[int, ...]:
    """512 x 512 tiles over the last two dimensions, one step along the others."""
    if not shape:
        return ()
    if len(shape) == 1:
        return (max(1, min(shape[0], 65536)),)
    leading = (1,) * (len(shape) - 2)
    return leading + tuple(max(1, min(n, 512)) for n in shape[-2:])


def _fill_value(fill_value: Any, dtype: np.dtype, *, key: str) -> Any:
    try:
        return np.array(fill_value, dtype=dtype)[()]
    except (ValueError, TypeError, OverflowError) as exc:
        raise MetadataError(f"{key}: fill_value {fill_value!r} does not fit the data type "
                            f"{dtype}: {exc}") from None


def _as_numcodec(codec: Any, *, key: str) -> NumcodecsCodec:
    if isinstance(codec, NumcodecsCodec):
        return codec
    if isinstance(codec, Mapping):
        return make_numcodec(codec, key=key)
    raise MetadataError(f"{key}: expected a numcodecs codec or its config dict, got {codec!r}")


def _v3_codecs(*, dtype: np.dtype, chunks: tuple[int, ...], shards: tuple[int, ...] | None,
               compressor: NumcodecsCodec | None, filters: Sequence[NumcodecsCodec],
               order: str) -> list[dict[str, Any]]:
    chain: list[dict[str, Any]] = []
    if order == "F" and len(chunks) > 1:
        chain.append({"name": "transpose",
                      "configuration": {"order": list(range(len(chunks) - 1, -1, -1))}})
    # A numcodecs filter may act on arrays (delta, astype...) or on bytes (shuffle): each
    # goes on its side of the serialiser.
    converted = [codec_from_numcodec(f, dtype=dtype) for f in filters]
    for codec in converted:
        if not isinstance(codec, (ArrayArrayCodec, BytesBytesCodec)):
            raise UnsupportedCodecError(f"{codec.name!r} serialises arrays and cannot be used "
                                        "as a filter")
    chain += [c.to_dict() for c in converted if isinstance(c, ArrayArrayCodec)]
    if dtype.kind == "T":
        chain.append({"name": "vlen-utf8", "configuration": {}})
    else:
        chain.append({"name": "bytes", "configuration": {"endian": "little"}})
    chain += [c.to_dict() for c in converted if isinstance(c, BytesBytesCodec)]
    if compressor is not None:
        chain.append(codec_from_numcodec(compressor, dtype=dtype).to_dict())
    if shards is None:
        return chain
    return [{"name": "sharding_indexed", "configuration": {
        "chunk_shape": list(chunks), "codecs": chain,
        "index_codecs": [{"name": "bytes", "configuration": {"endian": "little"}},
                         {"name": "crc32c"}],
        "index_location": "end"}}]


def build_array_metadata(*, path: str, shape: Sequence[int], dtype: Any,
                         chunks: Sequence[int] | None = None,
                         shards: Sequence[int] | None = None, compressor: Any = DEFAULT,
                         filters: Sequence[Any] | None = None, fill_value: Any = None,
                         order: str = "C", zarr_format: int = 3,
                         dimension_names: Sequence[str | None] | None = None,
                         attributes: Mapping[str, Any] | None = None,
                         dimension_separator: str | None = None
                         ) -> tuple[ArrayMetadataV2 | ArrayMetadataV3, dict[str, Any]]:
    """The metadata value and attributes for a new array, validated like a stored document."""
    key = join_key(path, V3_NODE if zarr_format == 3 else V2_ARRAY)
    if zarr_format not in (2, 3):
        raise MetadataError(f"{key}: zarr_format must be 2 or 3, got {zarr_format!r}")
    if order not in ("C", "F"):
        raise MetadataError(f"{key}: order must be 'C' or 'F', got {order!r}")
    try:
        shape_t = tuple(int(n) for n in shape)
        chunks_t = tuple(int(n) for n in chunks) if chunks is not None \
            else default_chunks(shape_t)
        shards_t = tuple(int(n) for n in shards) if shards is not None else None
    except (TypeError, ValueError) as exc:
        raise MetadataError(f"{key}: shape, chunks and shards must be integers: {exc}") from None
    if dtype in (str, "str", "string") and zarr_format == 3:
        dtype_np = np.dtypes.StringDType()
    else:
        try:
            dtype_np = np.dtype(dtype)
        except TypeError as exc:
            raise UnsupportedDataTypeError(f"{key}: unknown data type {dtype!r}: {exc}") from None
    if dtype_np.kind in "OV":
        raise UnsupportedDataTypeError(f"{key}: data type {dtype_np} is not supported "
                                       "(object and structured types are refused)")
    codec = default_compressor() if isinstance(compressor, str) and compressor == DEFAULT \
        else (None if compressor is None else _as_numcodec(compressor, key=key))
    filter_codecs = [_as_numcodec(f, key=key) for f in filters or ()]
    attrs = dict(attributes or {})
    if dimension_names is not None:
        names = list(dimension_names)
        if len(names) != len(shape_t):
            raise MetadataError(f"{key}: {len(names)} dimension_names for {len(shape_t)} "
                                "dimensions")
    if zarr_format == 2:
        if shards_t is not None:
            raise MetadataError(f"{key}: sharding needs Zarr v3 (zarr_format=3)")
        if dimension_names is not None:
            attrs["_ARRAY_DIMENSIONS"] = list(dimension_names)
        metadata = ArrayMetadataV2(
            shape=shape_t, chunks=chunks_t, dtype=dtype_np,
            fill_value=None if fill_value is None else _fill_value(fill_value, dtype_np, key=key),
            order=order, compressor=codec.get_config() if codec else None,
            filters=tuple(f.get_config() for f in filter_codecs),
            dimension_separator=dimension_separator or ".")
        # Validate exactly as a stored document would be.
        return ArrayMetadataV2.from_json(metadata.to_json(), key=key), attrs
    if shards_t is not None:
        if len(shards_t) != len(chunks_t) or any(
                s <= 0 or c <= 0 or s % c for s, c in zip(shards_t, chunks_t)):
            raise MetadataError(f"{key}: shards {list(shards_t)} must be a positive multiple "
                                f"of chunks {list(chunks_t)} in every dimension")
    if dtype_np.kind == "T":
        fill = "" if fill_value is None else str(fill_value)
    else:
        fill = _fill_value(0 if fill_value is None else fill_value, dtype_np, key=key)
    metadata3 = ArrayMetadataV3(
        shape=shape_t, chunks=shards_t or chunks_t, dtype=dtype_np, fill_value=fill,
        codecs=tuple(_v3_codecs(dtype=dtype_np, chunks=chunks_t, shards=shards_t,
                                compressor=codec, filters=filter_codecs, order=order)),
        chunk_key_encoding="default",
        separator=dimension_separator or "/",
        dimension_names=tuple(dimension_names) if dimension_names is not None else None,
        attributes=attrs)
    return ArrayMetadataV3.from_json(metadata3.to_json(), key=key), attrs


def _write_group(store: Store, path: str, zarr_format: int,
                 attributes: Mapping[str, Any] | None) -> None:
    if zarr_format == 3:
        doc = GroupMetadataV3(attributes=dict(attributes or {})).to_json()
        store.set(join_key(path, V3_NODE), dump_json_document(doc))
    else:
        if attributes:
            store.set(join_key(path, V2_ATTRS), dump_json_document(dict(attributes)))
        store.set(join_key(path, V2_GROUP), dump_json_document(GroupMetadataV2().to_json()))


def ensure_groups(store: Store, path: str, zarr_format: int) -> None:
    """Make every group enclosing ``path`` (the root included) exist.

    An enclosing array is an error: nothing can be created inside an array.
    """
    source = MetadataSource(store)
    parts = path.split("/") if path else []
    for depth in range(len(parts)):
        ancestor = "/".join(parts[:depth])
        info = source.find(ancestor)
        if info is None:
            _write_group(store, ancestor, zarr_format, None)
        elif info.is_array:
            raise NodeExistsError(f"cannot create {path!r}: {ancestor or 'the root'!r} is an "
                                  "array, and arrays cannot contain nodes")


def prepare_node(store: Store, path: str, *, overwrite: bool) -> None:
    """Clear the way for a new node at ``path``: an error if one exists, unless ``overwrite``."""
    existing = MetadataSource(store).find(path)
    if existing is None:
        return
    if not overwrite:
        kind = "an array" if existing.is_array else "a group"
        raise NodeExistsError(f"{path or 'the root'!r} of {store!r} is already {kind}; pass "
                              "overwrite=True to replace it")
    if path:
        store.delete_prefix(path + "/")
    else:
        store.delete_prefix("")


def write_array_metadata(store: Store, path: str, metadata: ArrayMetadataV2 | ArrayMetadataV3,
                         attributes: Mapping[str, Any]) -> None:
    """Write a new array's documents; for v2 the attributes first, so the array never
    appears without them."""
    if metadata.zarr_format == 3:
        store.set(join_key(path, V3_NODE), dump_json_document(metadata.to_json()))
        return
    if attributes:
        store.set(join_key(path, V2_ATTRS), dump_json_document(dict(attributes)))
    store.set(join_key(path, V2_ARRAY), dump_json_document(metadata.to_json()))


def create_array(store: str | os.PathLike[str] | Store, *, name: str | None = None,
                 shape: Sequence[int], dtype: Any, chunks: Sequence[int] | None = None,
                 shards: Sequence[int] | None = None, compressor: Any = DEFAULT,
                 filters: Sequence[Any] | None = None, fill_value: Any = None,
                 order: str = "C", zarr_format: int = 3,
                 dimension_names: Sequence[str | None] | None = None,
                 attributes: Mapping[str, Any] | None = None,
                 dimension_separator: str | None = None, overwrite: bool = False) -> Array:
    """Create an array at ``name`` in ``store`` and return it open for writing.

    Parameters
    ----------
    store
        A directory path, a ``.zip`` path, ``"memory://"`` or a :class:`geozarr.storage.Store`.
    name
        "/"-separated path of the array inside the store; None or "" for the root. Missing
        enclosing groups are created.
    shape, dtype, chunks
        As in numpy; ``chunks`` defaults to 512 x 512 tiles over the last two dimensions.
    shards
        Zarr v3 only: the shard shape, a multiple of ``chunks``. Each shard is one stored
        object holding many chunks (fewer files, same read granularity).
    compressor, filters
        numcodecs codecs (or their config dicts). ``"default"`` is Zstd level 3, None is raw.
    fill_value
        The value of missing chunks (and nodata for most readers); None means 0 in v3 and
        ``null`` in v2.
    order
        "C" or "F": the memory order of each chunk (v3 stores "F" as a transpose codec).
    dimension_names
        Stored as v3 ``dimension_names`` and v2 ``_ARRAY_DIMENSIONS`` (xarray's convention).
    overwrite
        Replace whatever node is already at ``name``; otherwise that is an error.
    """
    target = open_store(store, mode="a")
    path = normalise_path(name, absolute_ok=False)
    metadata, attrs = build_array_metadata(
        path=path, shape=shape, dtype=dtype, chunks=chunks, shards=shards,
        compressor=compressor, filters=filters, fill_value=fill_value, order=order,
        zarr_format=zarr_format, dimension_names=dimension_names, attributes=attributes,
        dimension_separator=dimension_separator)
    # Building the array builds its codec pipeline: bad or unsafe codecs fail here,
    # before anything is written.
    array = Array(target, path, metadata, attrs, read_only=False)
    prepare_node(target, path, overwrite=overwrite)
    ensure_groups(target, path, zarr_format)
    write_array_metadata(target, path, metadata, attrs)
    return array


def create_group_node(store: Store, path: str, *, zarr_format: int,
                      attributes: Mapping[str, Any] | None = None,
                      overwrite: bool = False) -> NodeInfo:
    """Create a group at ``path`` (enclosing groups too) and return its node info."""
    prepare_node(store, path, overwrite=overwrite)
    ensure_groups(store, path, zarr_format)
    _write_group(store, path, zarr_format, attributes)
    return MetadataSource(store).load(path, zarr_format)
