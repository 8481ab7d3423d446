"""Finding and loading the nodes of a hierarchy: metadata from the store or consolidated.

A :class:`MetadataSource` answers "what is at this path?" It reads the per-node documents
(``zarr.json``; ``.zarray``/``.zgroup``/``.zattrs``) from the store, or from consolidated
metadata when the hierarchy was opened through it, so that opening a band of a large
hierarchy costs no extra reads.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from geozarr.errors import MetadataError, NodeNotFoundError
from geozarr.metadata.jsondoc import parse_json_document
from geozarr.metadata.v2 import ArrayMetadataV2, GroupMetadataV2
from geozarr.metadata.v3 import ArrayMetadataV3, GroupMetadataV3
from geozarr.storage.base import Store
from geozarr.storage.keys import join_key

V2_ARRAY, V2_GROUP, V2_ATTRS, V3_NODE = ".zarray", ".zgroup", ".zattrs", "zarr.json"
METADATA_NAMES = (V3_NODE, V2_ARRAY, V2_GROUP)


class NodeInfo:
    """The parsed metadata of one node: its format, kind, metadata value and attributes."""

    __slots__ = ("path", "metadata", "attributes")

    def __init__(self, path: str, metadata: Any, attributes: dict[str, Any]):
        self.path = path
        self.metadata = metadata
        self.attributes = attributes

    @property
    def is_array(self) -> bool:
        return isinstance(self.metadata, (ArrayMetadataV2, ArrayMetadataV3))

    @property
    def zarr_format(self) -> int:
        return self.metadata.zarr_format


class MetadataSource:
    """Reads node metadata from ``store``, preferring ``consolidated`` documents.

    ``consolidated`` maps full store keys (``"a/b/zarr.json"``, ``"a/.zarray"``) to their
    JSON documents; ``consolidated_root`` is the path of the group that holds them, below
    which the consolidated view is authoritative for listing.
    """

    def __init__(self, store: Store, consolidated: Mapping[str, dict] | None = None,
                 consolidated_root: str = ""):
        self.store = store
        self.consolidated = consolidated
        self.consolidated_root = consolidated_root

    def without_consolidated(self) -> MetadataSource:
        """The same store, read node by node (for writing, where a snapshot would be stale)."""
        return MetadataSource(self.store)

    def _covers(self, path: str) -> bool:
        root = self.consolidated_root
        return self.consolidated is not None and (
            not root or path == root or path.startswith(root + "/"))

    def document(self, key: str) -> dict | None:
        """The JSON document at ``key``, or None when there is none."""
        if self.consolidated is not None and key in self.consolidated:
            return self.consolidated[key]
        raw = self.store.get(key)
        return None if raw is None else parse_json_document(raw, key=key)

    def find(self, path: str, zarr_format: int | None = None) -> NodeInfo | None:
        """The node at ``path``, or None. v3 metadata is looked for first."""
        if zarr_format in (None, 3):
            key = join_key(path, V3_NODE)
            doc = self.document(key)
            if doc is not None:
                return self._v3_node(path, doc, key)
        if zarr_format in (None, 2):
            key = join_key(path, V2_ARRAY)
            doc = self.document(key)
            kind: Any = ArrayMetadataV2
            if doc is None:
                key = join_key(path, V2_GROUP)
                doc = self.document(key)
                kind = GroupMetadataV2
            if doc is not None:
                metadata = kind.from_json(doc, key=key)
                attrs_key = join_key(path, V2_ATTRS)
                attributes = self.document(attrs_key) or {}
                if not isinstance(attributes, dict):
                    raise MetadataError(f"{attrs_key}: attributes must be a JSON object")
                return NodeInfo(path, metadata, dict(attributes))
        return None

    def load(self, path: str, zarr_format: int | None = None) -> NodeInfo:
        """The node at ``path``; :class:`NodeNotFoundError` naming it when there is none."""
        info = self.find(path, zarr_format)
        if info is None:
            where = f"{path!r}" if path else "the root"
            version = f"Zarr v{zarr_format} " if zarr_format else ""
            raise NodeNotFoundError(
                f"no {version}array or group at {where} of {self.store!r} (looked for "
                f"{', '.join(join_key(path, n) for n in METADATA_NAMES)})")
        return info

    @staticmethod
    def _v3_node(path: str, doc: dict, key: str) -> NodeInfo:
        node_type = doc.get("node_type")
        if node_type == "array":
            metadata: Any = ArrayMetadataV3.from_json(doc, key=key)
        elif node_type == "group":
            metadata = GroupMetadataV3.from_json(doc, key=key)
        else:
            raise MetadataError(f"{key}: node_type must be 'array' or 'group', got {node_type!r}")
        return NodeInfo(path, metadata, dict(metadata.attributes))

    def child_names(self, path: str) -> list[str]:
        """Names of the arrays and groups directly below the group at ``path``, sorted."""
        prefix = path + "/" if path else ""
        if self._covers(path):
            names = set()
            for key in self.consolidated or {}:
                if not key.startswith(prefix):
                    continue
                parts = key[len(prefix):].split("/")
                if len(parts) == 2 and parts[1] in METADATA_NAMES:
                    names.add(parts[0])
            return sorted(names)
        _, folders = self.store.list_dir(prefix)
        return [name for name in folders
                if any(self.store.exists(join_key(path, name, meta)) for meta in METADATA_NAMES)]
