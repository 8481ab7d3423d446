"""Zarr v2 metadata: ``.zarray``, ``.zgroup`` and ``.zattrs`` documents as frozen values.

Reading follows the v2 specification and bends where real writers do, with a
:class:`~geozarr.errors.MetadataWarning`: a missing ``fill_value`` is read as ``null`` (as GDAL
does) and a missing ``filters`` as no filters. Every other required member must be present.
Members the specification does not define are ignored, as it asks.
"""

from __future__ import annotations

import copy
import warnings
from dataclasses import InitVar, dataclass
from typing import Any, ClassVar

import numpy as np

from geozarr.errors import MetadataError, MetadataWarning
from geozarr.metadata.base import ArrayMetadataBase, check_json_object, check_zarr_format
from geozarr.metadata.dtypes import as_dtype, encode_v2_dtype, parse_v2_dtype
from geozarr.metadata.fill_values import encode_v2_fill_value, parse_v2_fill_value
from geozarr.metadata.jsondoc import (
    MAX_CHUNK_BYTES,
    check_chunk_grid,
    check_codec_config,
    json_type,
    parse_int_tuple,
    parse_json_document,
)

__all__ = ["MAX_CHUNK_BYTES", "ArrayMetadataV2", "GroupMetadataV2", "parse_attributes"]

_REQUIRED = ("shape", "chunks", "dtype", "compressor", "order")


@dataclass(frozen=True, eq=False)
class ArrayMetadataV2(ArrayMetadataBase):
    """The contents of a ``.zarray`` document.

    Built by :meth:`parse` / :meth:`from_json` from a stored document, or directly by code
    creating an array; both paths check the same rules, and the constructor normalises its
    arguments (lists to tuples, the fill value to a numpy scalar of ``dtype``), so
    ``from_json(m.to_json()) == m`` always holds. Equality compares fill values bit for bit.

    Parameters
    ----------
    shape, chunks : tuple of int
        Array and chunk shape; entries ``>= 0`` and ``>= 1``, same rank.
    dtype : numpy.dtype
        Element type, with the byte order of the stored chunks.
    fill_value : numpy scalar, str or None
        Value of missing chunks; ``None`` when the array has none.
    order : {"C", "F"}
        Memory layout of each chunk.
    compressor : dict or None
        The numcodecs configuration (``{"id": ..., ...}``) as stored.
    filters : tuple of dict
        numcodecs configurations applied before the compressor; ``()`` for none (``None`` is
        accepted and stored as ``()``).
    dimension_separator : {".", "/"}
        Separator of the chunk key's indices.
    key : str
        Only used to name the document in errors.
    """

    shape: tuple[int, ...]
    chunks: tuple[int, ...]
    dtype: np.dtype
    fill_value: np.generic | str | None
    order: str
    compressor: dict[str, Any] | None
    filters: tuple[dict[str, Any], ...]
    dimension_separator: str = "."
    key: InitVar[str] = "ArrayMetadataV2"
    zarr_format: ClassVar[int] = 2

    def __post_init__(self, key: str) -> None:
        dtype = as_dtype(self.dtype, key=key)
        encode_v2_dtype(dtype)  # refuses dtypes v2 cannot describe
        shape = parse_int_tuple(self.shape, key=key, member="shape")
        chunks = parse_int_tuple(self.chunks, key=key, member="chunks")
        check_chunk_grid(shape, chunks, dtype.itemsize, key=key)
        if self.order not in ("C", "F"):
            raise MetadataError(f"{key}: order must be 'C' or 'F', not {self.order!r}")
        if self.dimension_separator not in (".", "/"):
            raise MetadataError(
                f"{key}: dimension_separator must be '.' or '/', not {self.dimension_separator!r}"
            )
        compressor = None
        if self.compressor is not None:
            compressor = copy.deepcopy(
                check_codec_config(self.compressor, key=key, member="compressor")
            )
        raw_filters = () if self.filters is None else self.filters
        if not isinstance(raw_filters, (list, tuple)):
            raise MetadataError(
                f"{key}: filters must be null or an array of objects, not {json_type(raw_filters)}"
            )
        filters = tuple(
            copy.deepcopy(check_codec_config(f, key=key, member=f"filters[{i}]"))
            for i, f in enumerate(raw_filters)
        )
        try:
            encoded_fill = encode_v2_fill_value(self.fill_value, dtype)
        except (TypeError, ValueError, OverflowError) as exc:
            raise MetadataError(
                f"{key}: fill_value {self.fill_value!r} cannot be stored as dtype {dtype}"
            ) from exc
        set_field = object.__setattr__
        set_field(self, "dtype", dtype)
        set_field(self, "shape", shape)
        set_field(self, "chunks", chunks)
        set_field(self, "compressor", compressor)
        set_field(self, "filters", filters)
        set_field(self, "fill_value", parse_v2_fill_value(encoded_fill, dtype, key=key))

    @classmethod
    def parse(cls, raw: bytes, *, key: str) -> ArrayMetadataV2:
        """Parse the stored bytes of a ``.zarray`` document (``key`` names it in errors)."""
        return cls.from_json(parse_json_document(raw, key=key), key=key)

    @classmethod
    def from_json(cls, doc: object, *, key: str) -> ArrayMetadataV2:
        """Build from a decoded ``.zarray`` document.

        Raises
        ------
        MetadataError
            A required member is missing or has an invalid value (the message names ``key``
            and the member); :class:`~geozarr.errors.UnsupportedDataTypeError` for a dtype
            geozarr cannot represent.
        """
        doc = check_json_object(doc, ".zarray", key=key)
        check_zarr_format(doc, 2, key=key)
        for member in _REQUIRED:
            if member not in doc:
                raise MetadataError(f"{key}: required member {member!r} is missing")
        dtype = parse_v2_dtype(doc["dtype"], key=key)
        shape = parse_int_tuple(doc["shape"], key=key, member="shape")
        chunks = parse_int_tuple(doc["chunks"], key=key, member="chunks")
        check_chunk_grid(shape, chunks, dtype.itemsize, key=key)
        if "filters" not in doc:
            warnings.warn(
                MetadataWarning(f"{key}: required member 'filters' is missing; no filters used"),
                stacklevel=2,
            )
        if "fill_value" not in doc:
            warnings.warn(
                MetadataWarning(f"{key}: required member 'fill_value' is missing; null used"),
                stacklevel=2,
            )
        separator = doc.get("dimension_separator")
        return cls(
            shape=shape,
            chunks=chunks,
            dtype=dtype,
            fill_value=parse_v2_fill_value(doc.get("fill_value"), dtype, key=key),
            order=doc["order"],
            compressor=doc["compressor"],
            filters=doc.get("filters"),
            dimension_separator="." if separator is None else separator,
            key=key,
        )

    def to_json(self) -> dict[str, Any]:
        """The ``.zarray`` document, for :func:`~geozarr.metadata.jsondoc.dump_json_document`."""
        return {
            "zarr_format": 2,
            "shape": list(self.shape),
            "chunks": list(self.chunks),
            "dtype": encode_v2_dtype(self.dtype),
            "fill_value": encode_v2_fill_value(self.fill_value, self.dtype),
            "order": self.order,
            "compressor": copy.deepcopy(self.compressor),
            "filters": [copy.deepcopy(f) for f in self.filters] or None,
            "dimension_separator": self.dimension_separator,
        }

    def chunk_key(self, coords: tuple[int, ...]) -> str:
        """The store key of a chunk, relative to the array: ``"0.1"``, ``"0/1"``; ``"0"`` for 0-d.

        Raises
        ------
        ArrayIndexError
            ``coords`` does not have one entry per dimension.
        """
        self._check_chunk_coords(coords)
        if not coords:
            return "0"
        return self.dimension_separator.join(map(str, coords))


@dataclass(frozen=True)
class GroupMetadataV2:
    """The contents of a ``.zgroup`` document: ``{"zarr_format": 2}``.

    Other members are ignored (zarr-python adds some inside consolidated metadata).
    """

    zarr_format: ClassVar[int] = 2

    @classmethod
    def parse(cls, raw: bytes, *, key: str) -> GroupMetadataV2:
        """Parse the stored bytes of a ``.zgroup`` document (``key`` names it in errors)."""
        return cls.from_json(parse_json_document(raw, key=key), key=key)

    @classmethod
    def from_json(cls, doc: object, *, key: str) -> GroupMetadataV2:
        """Build from a decoded ``.zgroup`` document; ``zarr_format`` must be 2."""
        doc = check_json_object(doc, ".zgroup", key=key)
        check_zarr_format(doc, 2, key=key)
        return cls()

    def to_json(self) -> dict[str, Any]:
        """The ``.zgroup`` document."""
        return {"zarr_format": 2}


def parse_attributes(raw: bytes, *, key: str) -> dict[str, Any]:
    """Parse a ``.zattrs`` document: any JSON object.

    Raises
    ------
    MetadataError
        The bytes are not a UTF-8 JSON object.
    """
    return parse_json_document(raw, key=key)
