"""Opening hierarchies, and consolidating their metadata.

``mode`` follows zarr-python: "r" read-only (must exist), "r+" read/write (must exist),
"a" read/write (a group is created when missing), "w" create (replacing what is there),
"w-" create (an error when something is there).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from typing import Any

from geozarr.core.array import Array
from geozarr.core.creation import create_group_node, normalise_path, prepare_node
from geozarr.core.group import Group, node_from_info
from geozarr.core.nodes import V2_ARRAY, V2_ATTRS, V2_GROUP, V3_NODE, MetadataSource, NodeInfo
from geozarr.errors import MetadataError, NodeExistsError, NodeNotFoundError, UsageError
from geozarr.metadata.consolidated import build_zmetadata, parse_zmetadata
from geozarr.metadata.jsondoc import dump_json_document
from geozarr.metadata.v3 import GroupMetadataV3
from geozarr.storage import Store, join_key, open_store

MODES = ("r", "r+", "a", "w", "w-")
ZMETADATA = ".zmetadata"
StoreLike = str | os.PathLike[str] | Store


def _check_mode(mode: str) -> None:
    if mode not in MODES:
        raise UsageError(f"mode must be one of {', '.join(MODES)}; got {mode!r}")


def _consolidated_source(store: Store, info: NodeInfo) -> MetadataSource | None:
    """A source reading through the consolidated metadata held at the group ``info``."""
    path = info.path
    if info.zarr_format == 3:
        documents = getattr(info.metadata, "consolidated_metadata", None)
        if documents is None:
            return None
        full = {join_key(path, relative, V3_NODE): doc for relative, doc in documents.items()}
        full[join_key(path, V3_NODE)] = info.metadata.to_json()
        return MetadataSource(store, full, path)
    documents = _v2_consolidated_documents(store, path)
    return None if documents is None else MetadataSource(store, documents, path)


def _v2_consolidated_documents(store: Store, path: str) -> dict[str, Any] | None:
    """The documents of the v2 ``.zmetadata`` at ``path`` by full store key, or None.

    Every node they describe also maps the metadata names it lacks (``zarr.json``, the other
    of ``.zarray``/``.zgroup``, ``.zattrs``) to None, so that looking a node up never falls
    back to a store request for a document the snapshot says is not there.
    """
    key = join_key(path, ZMETADATA)
    raw = store.get(key)
    if raw is None:
        return None
    documents = {join_key(path, k): v for k, v in parse_zmetadata(raw, key=key).items()}
    nodes = {k.rpartition("/")[0] for k in documents
             if k.rpartition("/")[2] in (V2_ARRAY, V2_GROUP)}
    closed: dict[str, Any] = {join_key(node, name): None for node in nodes
                              for name in (V3_NODE, V2_ARRAY, V2_GROUP, V2_ATTRS)}
    closed.update(documents)
    return closed


def _v2_consolidated_first(store: Store, path: str) -> MetadataSource | None:
    """A source over the v2 ``.zmetadata`` at ``path``, when there is one and it describes
    the node there: read before the node's own documents, so that opening a consolidated
    v2 hierarchy over a network costs one request rather than four."""
    documents = _v2_consolidated_documents(store, path)
    if documents is None or (documents.get(join_key(path, V2_GROUP)) is None
                             and documents.get(join_key(path, V2_ARRAY)) is None):
        return None
    return MetadataSource(store, documents, path)


def open_node(store: StoreLike, mode: str = "r", *, path: str = "", zarr_format: int | None = None,
         use_consolidated: bool | None = None,
         storage_options: Mapping[str, Any] | None = None) -> Array | Group:
    """Open the array or group at ``path`` of ``store``.

    Consolidated metadata at the opened group is used when present (and required when
    ``use_consolidated`` is True); read/write modes read node by node unless asked otherwise,
    since a consolidated snapshot goes stale as the hierarchy changes. ``storage_options``
    configure a remote store (see :func:`geozarr.storage.open_store`).
    """
    _check_mode(mode)
    target = open_store(store, mode=mode, storage_options=storage_options)
    node_path = normalise_path(path)
    source = MetadataSource(target)
    if mode in ("w", "w-"):
        return _create_root_group(target, node_path, mode, zarr_format)
    read_only = mode == "r" or target.read_only
    consolidate = use_consolidated or (use_consolidated is None and read_only)
    info = source.find(node_path, 3) if zarr_format in (None, 3) else None
    if info is None and zarr_format != 3:
        v2 = _v2_consolidated_first(target, node_path) if consolidate else None
        if v2 is not None:
            return node_from_info(v2, v2.load(node_path, 2), read_only=read_only)
        info = source.find(node_path, 2)
    if info is None:
        if mode == "a":
            created = create_group_node(target, node_path, zarr_format=zarr_format or 3)
            return Group(source, created, read_only=False)
        source.load(node_path, zarr_format)  # raises NodeNotFoundError naming the keys
    if not info.is_array and consolidate:
        consolidated = _consolidated_source(target, info)
        if consolidated is not None:
            source = consolidated
        elif use_consolidated:
            raise NodeNotFoundError(f"no consolidated metadata at {node_path or 'the root'!r} "
                                    f"of {target!r}")
    return node_from_info(source, info, read_only=read_only)


def _create_root_group(store: Store, path: str, mode: str, zarr_format: int | None) -> Group:
    if mode == "w-" and MetadataSource(store).find(path) is not None:
        raise NodeExistsError(f"{path or 'the root'!r} of {store!r} already holds a node "
                              "(mode 'w-' does not replace it)")
    if mode == "w":
        prepare_node(store, path, overwrite=True)
        if not path:
            store.delete_prefix("")
    info = create_group_node(store, path, zarr_format=zarr_format or 3)
    return Group(MetadataSource(store), info, read_only=False)


def open_group(store: StoreLike, mode: str = "r", *, path: str = "",
               zarr_format: int | None = None, use_consolidated: bool | None = None,
               storage_options: Mapping[str, Any] | None = None) -> Group:
    """Open (or, with modes "a", "w", "w-", create) the group at ``path`` of ``store``."""
    node = open_node(store, mode, path=path, zarr_format=zarr_format,
                use_consolidated=use_consolidated, storage_options=storage_options)
    if not isinstance(node, Group):
        raise NodeNotFoundError(f"{path or 'the root'!r} of {node.store!r} is an array, "
                                "not a group: use open_array")
    return node


def open_array(store: StoreLike, mode: str = "r", *, path: str = "",
               zarr_format: int | None = None,
               storage_options: Mapping[str, Any] | None = None) -> Array:
    """Open the existing array at ``path`` of ``store`` (or at ``store`` itself)."""
    if mode in ("w", "w-"):
        raise UsageError(f"open_array cannot create arrays (mode {mode!r}): use create_array")
    _check_mode(mode)
    target = open_store(store, mode=mode, storage_options=storage_options)
    source = MetadataSource(target)
    node_path = normalise_path(path)
    info = source.load(node_path, zarr_format)
    if not info.is_array:
        raise NodeNotFoundError(f"{node_path or 'the root'!r} of {target!r} is a group, not an "
                                "array: use open_group, or name the array with path=")
    return Array(target, node_path, info.metadata, info.attributes,
                 read_only=mode == "r" or target.read_only)


def _walk(source: MetadataSource, info: NodeInfo) -> list[NodeInfo]:
    """Every node below the group ``info``, depth first."""
    nodes: list[NodeInfo] = []
    for name in source.child_names(info.path):
        child = source.find(join_key(info.path, name), info.zarr_format)
        if child is None:
            continue
        nodes.append(child)
        if not child.is_array:
            nodes.extend(_walk(source, child))
    return nodes


def consolidate_metadata(store: StoreLike, *, path: str = "") -> Group:
    """Gather every node's metadata below the group at ``path`` into one document.

    v2 writes ``.zmetadata`` (zarr-python 2's format); v3 writes ``consolidated_metadata``
    inline in the group's ``zarr.json`` (zarr-python 3's). Readers then open any node with
    no further metadata reads. Returns the group, opened through the new metadata.
    """
    target = open_store(store, mode="r+")
    source = MetadataSource(target)
    root_path = normalise_path(path)
    root = source.load(root_path)
    if root.is_array:
        raise MetadataError(f"{root_path or 'the root'!r} is an array; only groups hold "
                            "consolidated metadata")
    nodes = _walk(source, root)
    prefix = root_path + "/" if root_path else ""
    if root.zarr_format == 2:
        documents: dict[str, Any] = {}
        for node in [root, *nodes]:
            relative = node.path[len(prefix):] if node.path != root_path else ""
            if node.is_array:
                documents[join_key(relative, V2_ARRAY)] = node.metadata.to_json()
            else:
                documents[join_key(relative, V2_GROUP)] = node.metadata.to_json()
            if node.attributes:
                documents[join_key(relative, V2_ATTRS)] = node.attributes
        target.set(join_key(root_path, ZMETADATA), dump_json_document(build_zmetadata(documents)))
    else:
        inline = {}
        for node in nodes:
            metadata = node.metadata
            if isinstance(metadata, GroupMetadataV3):
                metadata = dataclasses.replace(metadata, consolidated_metadata=None)
            inline[node.path[len(prefix):]] = metadata.to_json()
        updated = dataclasses.replace(root.metadata, consolidated_metadata=inline)
        target.set(join_key(root_path, V3_NODE), dump_json_document(updated.to_json()))
    return open_group(target, "r", path=root_path)
