"""The nodes of a store as the validator sees them, parsed or not.

:func:`geozarr.validate.zarr_checks.scan` builds a :class:`Hierarchy` from every key of a
store. Unlike the core's opening path, which stops at the first bad document, it keeps every
node it finds, with ``metadata`` None when the document does not parse, so that each later
check can still look at the attributes and the key layout of a broken store.
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal

from geozarr.metadata.v2 import ArrayMetadataV2, GroupMetadataV2
from geozarr.metadata.v3 import ArrayMetadataV3, GroupMetadataV3
from geozarr.storage.base import Store
from geozarr.validate.report import attribute_key

V3_NODE, V2_ARRAY, V2_GROUP, V2_ATTRS, V2_CONSOLIDATED = (
    "zarr.json", ".zarray", ".zgroup", ".zattrs", ".zmetadata")
#: Names of the metadata documents; every other key is (or should be) a chunk.
METADATA_NAMES = frozenset({V3_NODE, V2_ARRAY, V2_GROUP, V2_ATTRS, V2_CONSOLIDATED})

Kind = Literal["array", "group", "unknown"]
Metadata = ArrayMetadataV2 | ArrayMetadataV3 | GroupMetadataV2 | GroupMetadataV3


def parent_path(path: str) -> str | None:
    """The path of the group enclosing ``path`` ("" for a top-level node, None for the root)."""
    if not path:
        return None
    return path.rpartition("/")[0]


def join_path(*parts: str) -> str:
    """Node paths joined with "/", empty parts dropped."""
    return "/".join(part for part in parts if part)


@dataclass(frozen=True)
class Node:
    """One array or group of the store.

    Attributes
    ----------
    path
        The node's path ("" for the root).
    kind
        ``"array"``, ``"group"``, or ``"unknown"`` when the document does not say.
    zarr_format
        2 or 3.
    document_key
        The key of the node's document (``"a/zarr.json"``, ``"a/.zarray"``, ``"a/.zgroup"``).
    attributes_key
        The key holding its attributes (``"a/zarr.json"`` or ``"a/.zattrs"``).
    attributes
        The attributes (``{}`` when absent or unreadable).
    document
        The decoded JSON document, or None when it is not a JSON object.
    metadata
        The parsed metadata, or None when the document breaks the specification.
    """

    path: str
    kind: Kind
    zarr_format: int
    document_key: str
    attributes_key: str
    attributes: Mapping[str, Any] = field(default_factory=dict)
    document: Mapping[str, Any] | None = None
    metadata: Metadata | None = None

    @property
    def name(self) -> str:
        """The last segment of the path ("" for the root)."""
        return self.path.rpartition("/")[2]

    @property
    def display(self) -> str:
        """The path as messages show it: ``"/a/b"``, ``"/"`` for the root."""
        return "/" + self.path

    def attribute_key(self, *path: str | int) -> str:
        """The key of an attribute (or a place inside one): ``"a/zarr.json#attributes/x"``,
        ``"a/.zattrs#x"``."""
        prefix: tuple[str | int, ...] = ("attributes",) if self.zarr_format == 3 else ()
        return attribute_key(self.attributes_key, *prefix, *path)

    @property
    def shape(self) -> tuple[int, ...] | None:
        """The array's shape; None for groups and unparsed arrays."""
        if isinstance(self.metadata, (ArrayMetadataV2, ArrayMetadataV3)):
            return tuple(self.metadata.shape)
        return None

    @property
    def dimension_names(self) -> tuple[str, ...] | None:
        """The array's dimension names: v3 ``dimension_names`` (all entries set), else a valid
        ``_ARRAY_DIMENSIONS`` list; None when it has neither."""
        shape = self.shape
        if shape is None:
            return None
        if isinstance(self.metadata, ArrayMetadataV3) and self.metadata.dimension_names:
            names = self.metadata.dimension_names
            if all(isinstance(name, str) for name in names):
                return tuple(str(name) for name in names)
        names = self.attributes.get("_ARRAY_DIMENSIONS")
        if (isinstance(names, list) and len(names) == len(shape)
                and all(isinstance(name, str) for name in names)):
            return tuple(names)
        return None


@dataclass(frozen=True)
class Hierarchy:
    """Every node of a store, and every key it holds.

    Attributes
    ----------
    store
        The store, open read-only.
    keys
        Every key of the store, sorted.
    nodes
        The nodes by path.
    """

    store: Store
    keys: tuple[str, ...]
    nodes: Mapping[str, Node]

    def node(self, path: str) -> Node | None:
        """The node at ``path``, or None."""
        return self.nodes.get(path)

    def parent(self, node: Node) -> Node | None:
        """The group directly enclosing ``node`` (None for the root, or when that path holds
        no group)."""
        path = parent_path(node.path)
        found = None if path is None else self.nodes.get(path)
        return found if found is not None and found.kind == "group" else None

    def children(self, path: str) -> list[Node]:
        """The nodes directly below ``path``, by name."""
        return list(self._children.get(path, ()))

    def descendants(self, path: str) -> list[Node]:
        """Every node below ``path``, by path."""
        paths = self._paths
        if not path:
            return [self.nodes[found] for found in paths if found]
        start = bisect.bisect_left(paths, path + "/")
        end = bisect.bisect_left(paths, path + "0")  # "0" sorts right after "/"
        return [self.nodes[found] for found in paths[start:end]]

    def has_key(self, key: str) -> bool:
        """Whether the store holds ``key``."""
        return key in self._key_set

    @cached_property
    def _paths(self) -> list[str]:
        return sorted(self.nodes)

    @cached_property
    def _key_set(self) -> frozenset[str]:
        return frozenset(self.keys)

    @cached_property
    def _children(self) -> dict[str, list[Node]]:
        children: dict[str, list[Node]] = {}
        for path in self._paths:
            parent = parent_path(path)
            if parent is not None:
                children.setdefault(parent, []).append(self.nodes[path])
        return children

    def arrays(self) -> list[Node]:
        """Every array, by path."""
        return sorted((node for node in self.nodes.values() if node.kind == "array"),
                      key=lambda node: node.path)

    def groups(self) -> list[Node]:
        """Every group, by path."""
        return sorted((node for node in self.nodes.values() if node.kind == "group"),
                      key=lambda node: node.path)
