"""Zarr v3 metadata: ``zarr.json`` documents of arrays and groups as frozen values.

Reading follows the v3 core specification: the mandatory members must be present, the chunk
grid must be ``regular``, the chunk key encoding ``default`` or ``v2``, storage transformers
are refused, and any other member must be an object with ``"must_understand": false`` or the
document is refused. Two bends, each with a :class:`~geozarr.errors.MetadataWarning`: a
``null`` fill value (see :func:`~geozarr.metadata.fill_values.parse_v3_fill_value`) and a
missing ``codecs`` list, which GDAL 3.10 leaves out for uncompressed little-endian arrays and
which is read as the plain ``bytes`` codec it means.
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Mapping
from dataclasses import InitVar, dataclass, field
from typing import Any, ClassVar

import numpy as np

from geozarr.errors import MetadataError, MetadataWarning
from geozarr.metadata.base import ArrayMetadataBase, check_json_object, check_zarr_format
from geozarr.metadata.dtypes import STRING_DTYPE, as_dtype, encode_v3_data_type, parse_v3_data_type
from geozarr.metadata.fill_values import encode_v3_fill_value, parse_v3_fill_value
from geozarr.metadata.jsondoc import (
    MAX_CHUNK_BYTES,
    check_chunk_grid,
    check_node_path,
    json_type,
    parse_int_tuple,
    parse_json_document,
)

__all__ = ["MAX_CHUNK_BYTES", "ArrayMetadataV3", "GroupMetadataV3", "parse_v3_node"]

_ARRAY_MEMBERS = frozenset(
    {
        "zarr_format", "node_type", "shape", "data_type", "chunk_grid", "chunk_key_encoding",
        "fill_value", "codecs", "attributes", "dimension_names", "storage_transformers",
    }
)  # fmt: skip
_GROUP_MEMBERS = frozenset({"zarr_format", "node_type", "attributes", "consolidated_metadata"})
_REQUIRED = ("shape", "data_type", "chunk_grid", "chunk_key_encoding", "fill_value")
_DEFAULT_SEPARATORS = {"default": "/", "v2": "."}


@dataclass(frozen=True, eq=False)
class ArrayMetadataV3(ArrayMetadataBase):
    """The contents of an array's ``zarr.json`` document.

    Built by :meth:`parse` / :meth:`from_json` from a stored document, or directly by code
    creating an array; both paths check the same rules, and the constructor normalises its
    arguments, so ``from_json(m.to_json()) == m`` always holds. Equality compares fill values
    bit for bit.

    Parameters
    ----------
    shape, chunks : tuple of int
        Array shape and the ``regular`` chunk grid's ``chunk_shape``.
    dtype : numpy.dtype
        Element type, native-endian (the stored byte order is the ``bytes`` codec's business).
    fill_value : numpy scalar or str
        Value of missing chunks (a ``str`` for the ``string`` data type).
    codecs : tuple of dict
        Each ``{"name": str, "configuration": dict}`` (plus ``"must_understand": False`` when
        the document says so); a bare name ``"zstd"`` becomes ``{"name": "zstd",
        "configuration": {}}``.
    chunk_key_encoding : {"default", "v2"}
    separator : {"/", "."} or None
        Separator of the chunk key; ``None`` means the encoding's default (``"/"`` for
        ``default``, ``"."`` for ``v2``) and is replaced by it.
    dimension_names : tuple of (str or None), or None
    attributes : dict
    key : str
        Only used to name the document in errors.
    """

    shape: tuple[int, ...]
    chunks: tuple[int, ...]
    dtype: np.dtype
    fill_value: Any
    codecs: tuple[dict[str, Any], ...]
    chunk_key_encoding: str = "default"
    separator: str | None = None
    dimension_names: tuple[str | None, ...] | None = None
    attributes: dict[str, Any] = field(default_factory=dict)
    key: InitVar[str] = "ArrayMetadataV3"
    zarr_format: ClassVar[int] = 3

    def __post_init__(self, key: str) -> None:
        dtype = as_dtype(self.dtype, key=key)
        if dtype != STRING_DTYPE:
            dtype = dtype.newbyteorder("=")
        encode_v3_data_type(dtype)  # refuses dtypes v3 cannot describe
        shape = parse_int_tuple(self.shape, key=key, member="shape")
        chunks = parse_int_tuple(
            self.chunks, key=key, member="chunk_grid.configuration.chunk_shape"
        )
        check_chunk_grid(shape, chunks, dtype.itemsize, key=key)
        if self.chunk_key_encoding not in _DEFAULT_SEPARATORS:
            raise MetadataError(
                f"{key}: unsupported chunk_key_encoding {self.chunk_key_encoding!r}"
            )
        separator = (
            _DEFAULT_SEPARATORS[self.chunk_key_encoding]
            if self.separator is None
            else self.separator
        )
        if separator not in ("/", "."):
            raise MetadataError(
                f"{key}: chunk_key_encoding separator must be '/' or '.', not {separator!r}"
            )
        codecs = _normalise_codecs(self.codecs, key=key)
        dimension_names = _check_dimension_names(self.dimension_names, len(shape), key=key)
        if not isinstance(self.attributes, Mapping):
            raise MetadataError(
                f"{key}: attributes must be an object, not {json_type(self.attributes)}"
            )
        encoded_fill = None
        if self.fill_value is not None:  # None: GDAL's "null", kept so nodata stays unset
            try:
                encoded_fill = encode_v3_fill_value(self.fill_value, dtype)
            except (TypeError, ValueError, OverflowError) as exc:
                raise MetadataError(
                    f"{key}: fill_value {self.fill_value!r} cannot be stored as {dtype}"
                ) from exc
        set_field = object.__setattr__
        set_field(self, "dtype", dtype)
        set_field(self, "shape", shape)
        set_field(self, "chunks", chunks)
        set_field(self, "separator", separator)
        set_field(self, "codecs", codecs)
        set_field(self, "dimension_names", dimension_names)
        set_field(self, "attributes", copy.deepcopy(dict(self.attributes)))
        set_field(self, "fill_value", None if encoded_fill is None
                  else parse_v3_fill_value(encoded_fill, dtype, key=key))

    @classmethod
    def parse(cls, raw: bytes, *, key: str) -> ArrayMetadataV3:
        """Parse the stored bytes of an array's ``zarr.json`` (``key`` names it in errors)."""
        return cls.from_json(parse_json_document(raw, key=key), key=key)

    @classmethod
    def from_json(cls, doc: object, *, key: str) -> ArrayMetadataV3:
        """Build from a decoded array ``zarr.json`` document.

        Raises
        ------
        MetadataError
            A mandatory member is missing or invalid, the chunk grid is not ``regular``,
            storage transformers are present, or an unknown member does not say
            ``"must_understand": false`` (the message names ``key`` and the member);
            :class:`~geozarr.errors.UnsupportedDataTypeError` for an unknown data type.
        """
        doc = check_json_object(doc, "zarr.json", key=key)
        _check_node(doc, "array", key=key)
        for member in _REQUIRED:
            if member not in doc:
                raise MetadataError(f"{key}: required member {member!r} is missing")
        _check_unknown_members(doc, _ARRAY_MEMBERS, key=key)
        shape = parse_int_tuple(doc["shape"], key=key, member="shape")
        dtype = parse_v3_data_type(doc["data_type"], key=key)
        chunks = _parse_chunk_grid(doc["chunk_grid"], key=key)
        check_chunk_grid(shape, chunks, dtype.itemsize, key=key)
        encoding, separator = _parse_chunk_key_encoding(doc["chunk_key_encoding"], key=key)
        transformers = doc.get("storage_transformers")
        if transformers is not None and not isinstance(transformers, list):
            raise MetadataError(
                f"{key}: storage_transformers must be an array, not {json_type(transformers)}"
            )
        if transformers:
            raise MetadataError(f"{key}: storage_transformers are not supported ({transformers!r})")
        dimension_names = doc.get("dimension_names")
        _check_dimension_names(dimension_names, len(shape), key=key)
        if "codecs" in doc:
            codecs = doc["codecs"]
        else:
            warnings.warn(
                MetadataWarning(
                    f"{key}: required member 'codecs' is missing; the plain bytes codec is used"
                ),
                stacklevel=2,
            )
            codecs = [_default_array_bytes_codec(dtype)]
        attributes = doc.get("attributes")
        return cls(
            shape=shape,
            chunks=chunks,
            dtype=dtype,
            fill_value=_parse_fill_value(doc["fill_value"], dtype, key=key),
            codecs=codecs,
            chunk_key_encoding=encoding,
            separator=separator,
            dimension_names=dimension_names,
            attributes={} if attributes is None else attributes,
            key=key,
        )

    def to_json(self) -> dict[str, Any]:
        """The ``zarr.json`` document, for :func:`~geozarr.metadata.jsondoc.dump_json_document`."""
        doc: dict[str, Any] = {
            "zarr_format": 3,
            "node_type": "array",
            "shape": list(self.shape),
            "data_type": encode_v3_data_type(self.dtype),
            "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": list(self.chunks)}},
            "chunk_key_encoding": {
                "name": self.chunk_key_encoding,
                "configuration": {"separator": self.separator},
            },
            "fill_value": None if self.fill_value is None
            else encode_v3_fill_value(self.fill_value, self.dtype),
            "codecs": copy.deepcopy(list(self.codecs)),
            "attributes": copy.deepcopy(self.attributes),
        }
        if self.dimension_names is not None:
            doc["dimension_names"] = list(self.dimension_names)
        return doc

    def chunk_key(self, coords: tuple[int, ...]) -> str:
        """The store key of a chunk, relative to the array.

        ``"c/0/1"`` or ``"c.0.1"`` with the ``default`` encoding (``"c"`` for a 0-d array),
        ``"0.1"`` or ``"0/1"`` with the ``v2`` encoding (``"0"`` for a 0-d array).

        Raises
        ------
        ArrayIndexError
            ``coords`` does not have one entry per dimension.
        """
        self._check_chunk_coords(coords)
        if self.chunk_key_encoding == "v2":
            return self.separator.join(map(str, coords)) if coords else "0"
        return self.separator.join(("c", *map(str, coords)))


@dataclass(frozen=True)
class GroupMetadataV3:
    """The contents of a group's ``zarr.json`` document.

    Parameters
    ----------
    attributes : dict
    consolidated_metadata : dict or None
        When the group carries consolidated metadata (the ``inline`` kind zarr-python writes):
        the ``zarr.json`` document of every node below the group, by path relative to it.
        The documents are kept as decoded JSON and parsed when a node is opened.
    """

    attributes: dict[str, Any] = field(default_factory=dict)
    consolidated_metadata: dict[str, dict[str, Any]] | None = None
    zarr_format: ClassVar[int] = 3

    @classmethod
    def parse(cls, raw: bytes, *, key: str) -> GroupMetadataV3:
        """Parse the stored bytes of a group's ``zarr.json`` (``key`` names it in errors)."""
        return cls.from_json(parse_json_document(raw, key=key), key=key)

    @classmethod
    def from_json(cls, doc: object, *, key: str) -> GroupMetadataV3:
        """Build from a decoded group ``zarr.json`` document.

        Raises
        ------
        MetadataError
            ``zarr_format``/``node_type`` are wrong, ``attributes`` is not an object, the
            consolidated metadata is malformed, or an unknown member does not say
            ``"must_understand": false``.
        """
        doc = check_json_object(doc, "zarr.json", key=key)
        _check_node(doc, "group", key=key)
        _check_unknown_members(doc, _GROUP_MEMBERS, key=key)
        attributes = doc.get("attributes")
        if attributes is None:
            attributes = {}
        if not isinstance(attributes, dict):
            raise MetadataError(f"{key}: attributes must be an object, not {json_type(attributes)}")
        return cls(
            attributes=copy.deepcopy(attributes),
            consolidated_metadata=_parse_consolidated(doc.get("consolidated_metadata"), key=key),
        )

    def to_json(self) -> dict[str, Any]:
        """The group's ``zarr.json`` document."""
        doc: dict[str, Any] = {
            "zarr_format": 3,
            "node_type": "group",
            "attributes": copy.deepcopy(self.attributes),
        }
        if self.consolidated_metadata is not None:
            doc["consolidated_metadata"] = {
                "kind": "inline",
                "must_understand": False,
                "metadata": copy.deepcopy(self.consolidated_metadata),
            }
        return doc


def parse_v3_node(raw: bytes, *, key: str) -> ArrayMetadataV3 | GroupMetadataV3:
    """Parse a ``zarr.json`` document as an array or a group, according to its ``node_type``.

    Raises
    ------
    MetadataError
        The document is not a v3 array or group document, or is invalid.
    """
    doc = parse_json_document(raw, key=key)
    node_type = doc.get("node_type")
    if node_type == "array":
        return ArrayMetadataV3.from_json(doc, key=key)
    if node_type == "group":
        return GroupMetadataV3.from_json(doc, key=key)
    check_zarr_format(doc, 3, key=key)
    raise MetadataError(f"{key}: node_type must be 'array' or 'group', not {node_type!r}")


def _check_node(doc: dict[str, Any], node_type: str, *, key: str) -> None:
    check_zarr_format(doc, 3, key=key)
    if doc.get("node_type") != node_type:
        raise MetadataError(f"{key}: node_type must be {node_type!r}, not {doc.get('node_type')!r}")


def _check_unknown_members(doc: dict[str, Any], known: frozenset[str], *, key: str) -> None:
    """Refuse unknown members, unless they say ``"must_understand": false``."""
    for name, value in doc.items():
        if name in known:
            continue
        if isinstance(value, dict) and value.get("must_understand") is False:
            continue
        raise MetadataError(f'{key}: unknown member {name!r} (not marked "must_understand": false)')


def _extension(value: object, *, key: str, member: str) -> tuple[str, dict[str, Any]]:
    """The name and configuration of an extension point: an object or a short-hand name."""
    if isinstance(value, str):
        return value, {}
    if not isinstance(value, dict):
        raise MetadataError(f"{key}: {member} must be an object or a name, not {json_type(value)}")
    name = value.get("name")
    if not isinstance(name, str):
        raise MetadataError(f"{key}: {member} needs a string 'name', got {value!r}")
    configuration = value.get("configuration", {})
    if not isinstance(configuration, dict):
        raise MetadataError(
            f"{key}: {member}.configuration must be an object, not {json_type(configuration)}"
        )
    return name, configuration


def _parse_chunk_grid(value: object, *, key: str) -> tuple[int, ...]:
    name, configuration = _extension(value, key=key, member="chunk_grid")
    if name != "regular":
        raise MetadataError(f"{key}: chunk_grid {name!r} is not supported (only 'regular')")
    if "chunk_shape" not in configuration:
        raise MetadataError(f"{key}: chunk_grid.configuration.chunk_shape is missing")
    return parse_int_tuple(
        configuration["chunk_shape"], key=key, member="chunk_grid.configuration.chunk_shape"
    )


def _parse_chunk_key_encoding(value: object, *, key: str) -> tuple[str, str]:
    name, configuration = _extension(value, key=key, member="chunk_key_encoding")
    if name not in _DEFAULT_SEPARATORS:
        raise MetadataError(
            f"{key}: unsupported chunk_key_encoding {name!r} (only 'default' and 'v2')"
        )
    separator = configuration.get("separator", _DEFAULT_SEPARATORS[name])
    if separator not in ("/", "."):
        raise MetadataError(
            f"{key}: chunk_key_encoding separator must be '/' or '.', not {separator!r}"
        )
    return name, separator


def _normalise_codecs(codecs: object, *, key: str) -> tuple[dict[str, Any], ...]:
    if not isinstance(codecs, (list, tuple)):
        raise MetadataError(f"{key}: codecs must be an array, not {json_type(codecs)}")
    if not codecs:
        raise MetadataError(
            f"{key}: codecs must not be empty (an array -> bytes codec is required)"
        )
    normalised = []
    for i, codec in enumerate(codecs):
        name, configuration = _extension(codec, key=key, member=f"codecs[{i}]")
        entry: dict[str, Any] = {"name": name, "configuration": copy.deepcopy(configuration)}
        if isinstance(codec, dict) and codec.get("must_understand") is False:
            entry["must_understand"] = False
        normalised.append(entry)
    return tuple(normalised)


def _default_array_bytes_codec(dtype: np.dtype) -> dict[str, Any]:
    """The codec a document without ``codecs`` means: plain little-endian bytes."""
    if dtype == STRING_DTYPE:
        return {"name": "vlen-utf8", "configuration": {}}
    if dtype.itemsize == 1:
        return {"name": "bytes", "configuration": {}}
    return {"name": "bytes", "configuration": {"endian": "little"}}


def _check_dimension_names(names: object, ndim: int, *, key: str) -> tuple[str | None, ...] | None:
    if names is None:
        return None
    if not isinstance(names, (list, tuple)):
        raise MetadataError(f"{key}: dimension_names must be an array, not {json_type(names)}")
    if len(names) != ndim:
        raise MetadataError(
            f"{key}: dimension_names has {len(names)} entries for {ndim} dimensions"
        )
    for i, name in enumerate(names):
        if name is not None and not isinstance(name, str):
            raise MetadataError(
                f"{key}: dimension_names[{i}] must be a string or null, not {json_type(name)}"
            )
    return tuple(names)


def _parse_consolidated(value: object, *, key: str) -> dict[str, dict[str, Any]] | None:
    """The node documents of inline consolidated metadata, or None."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise MetadataError(
            f"{key}: consolidated_metadata must be an object, not {json_type(value)}"
        )
    if value.get("kind") != "inline":
        if value.get("must_understand") is False:
            return None
        raise MetadataError(
            f"{key}: consolidated_metadata kind {value.get('kind')!r} is not supported"
        )
    metadata = value.get("metadata")
    if not isinstance(metadata, dict):
        raise MetadataError(
            f"{key}: consolidated_metadata.metadata must be an object, not {json_type(metadata)}"
        )
    nodes: dict[str, dict[str, Any]] = {}
    for path, node in metadata.items():
        check_node_path(path, key=key)
        if not isinstance(node, dict):
            raise MetadataError(
                f"{key}: consolidated metadata of {path!r} must be an object, not {json_type(node)}"
            )
        nodes[path] = copy.deepcopy(node)
    return nodes


def _parse_fill_value(value: object, dtype: np.dtype, *, key: str) -> Any:
    """A document's fill value; ``null`` (which GDAL writes) stays None, with a warning:
    missing chunks then read as zero, and no nodata is implied."""
    if value is None:
        warnings.warn(MetadataWarning(f"{key}: fill_value is null (invalid in Zarr v3); "
                                      "missing chunks read as zero"), stacklevel=4)
        return None
    return parse_v3_fill_value(value, dtype, key=key)
