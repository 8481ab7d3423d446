"""What an open array and an open group share: where the node is, its parsed metadata, its
attributes, and writing changed attributes back to the store."""

from __future__ import annotations

import dataclasses
from typing import Any

from geozarr.core.attributes import Attributes
from geozarr.core.nodes import V2_ATTRS, V3_NODE
from geozarr.errors import ReadOnlyError
from geozarr.metadata.jsondoc import dump_json_document
from geozarr.storage.base import Store
from geozarr.storage.keys import join_key


class Node:
    """The base of :class:`~geozarr.core.array.Array` and :class:`~geozarr.core.group.Group`.

    Attributes are written back at once: into the node's ``zarr.json`` for Zarr v3 (the
    parsed metadata is replaced by the updated one), into its ``.zattrs`` for v2.
    """

    #: "array" or "group", as messages name the node.
    _kind = "node"

    def __init__(self, store: Store, path: str, metadata: Any, attributes: dict[str, Any],
                 *, read_only: bool):
        self._store = store
        self._path = path
        self._metadata = metadata
        self._read_only = read_only
        self._attrs = Attributes(attributes, self._write_attributes)

    @property
    def store(self) -> Store:
        """The store holding the node."""
        return self._store

    @property
    def path(self) -> str:
        """The node's path inside the store ("" for the root)."""
        return self._path

    @property
    def name(self) -> str:
        """The last component of :attr:`path` ("" for the root)."""
        return self._path.rsplit("/", 1)[-1]

    @property
    def zarr_format(self) -> int:
        """2 or 3."""
        return self._metadata.zarr_format

    @property
    def attrs(self) -> Attributes:
        """User attributes; changes are written to the store at once."""
        return self._attrs

    @property
    def read_only(self) -> bool:
        """Whether writes (values, attributes, children) are refused."""
        return self._read_only

    def _check_writable(self) -> None:
        if self._read_only:
            raise ReadOnlyError(f"{self._kind} {self._path or '/'!r} is open read-only")

    def _write_attributes(self, values: dict[str, Any]) -> None:
        self._check_writable()
        if self._metadata.zarr_format == 3:
            updated = dataclasses.replace(self._metadata, attributes=values)
            self._store.set(join_key(self._path, V3_NODE), dump_json_document(updated.to_json()))
            self._metadata = updated
        else:
            self._store.set(join_key(self._path, V2_ATTRS), dump_json_document(values))
