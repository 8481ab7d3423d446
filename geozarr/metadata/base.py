"""What the Zarr v2 and v3 metadata values share; each format keeps its own rules in
:mod:`geozarr.metadata.v2` and :mod:`geozarr.metadata.v3`.

Both check a document's ``zarr_format`` and that it is a JSON object the same way, and both
array values compare fill values bit for bit, derive the chunk grid's shape from ``shape``
and ``chunks``, and refuse chunk coordinates of the wrong rank.
"""

from __future__ import annotations

from dataclasses import fields
from functools import cached_property
from typing import Any

from geozarr.errors import ArrayIndexError, MetadataError
from geozarr.metadata.fill_values import fill_values_equal
from geozarr.metadata.jsondoc import grid_shape, is_json_int, json_type


def check_json_object(doc: object, name: str, *, key: str) -> dict[str, Any]:
    """``doc`` when it is a decoded JSON object; ``name`` names the document in the error.

    Raises
    ------
    MetadataError
        ``doc`` is not an object.
    """
    if not isinstance(doc, dict):
        raise MetadataError(f"{key}: {name} must be a JSON object, not {json_type(doc)}")
    return doc


def check_zarr_format(doc: dict[str, Any], version: int, *, key: str) -> None:
    """Check that a document says ``"zarr_format": version``.

    Raises
    ------
    MetadataError
        The member is missing or holds another value.
    """
    if "zarr_format" not in doc:
        raise MetadataError(f"{key}: required member 'zarr_format' is missing")
    value = doc["zarr_format"]
    if not is_json_int(value) or value != version:
        raise MetadataError(f"{key}: zarr_format must be {version}, not {value!r}")


class ArrayMetadataBase:
    """The part of :class:`~geozarr.metadata.v2.ArrayMetadataV2` and
    :class:`~geozarr.metadata.v3.ArrayMetadataV3` (frozen dataclasses, ``eq=False``) that
    does not depend on the format."""

    shape: tuple[int, ...]
    chunks: tuple[int, ...]
    fill_value: Any

    @cached_property
    def chunk_grid_shape(self) -> tuple[int, ...]:
        """The number of chunks along each dimension, ``ceil(shape / chunks)``."""
        return grid_shape(self.shape, self.chunks)

    def __eq__(self, other: object) -> bool:
        """Every field equal, fill values bit for bit (NaN payloads, signed zeros)."""
        if type(other) is not type(self):
            return NotImplemented
        return all(
            fill_values_equal(self.fill_value, other.fill_value)
            if f.name == "fill_value"
            else getattr(self, f.name) == getattr(other, f.name)
            for f in fields(self)  # type: ignore[arg-type]
        )

    def _check_chunk_coords(self, coords: tuple[int, ...]) -> None:
        """Refuse chunk coordinates that do not have one entry per dimension."""
        if len(coords) != len(self.shape):
            raise ArrayIndexError(
                f"chunk coordinates {tuple(coords)} do not match {len(self.shape)} dimensions"
            )
