"""Consolidated metadata: the snapshot must say what the nodes themselves say.

Readers that open a hierarchy through consolidated metadata (xarray, GDAL, geozarr in read
mode) never look at the per-node documents again, so a stale snapshot silently shows them an
old shape, old attributes, a node that is gone, or hides a node that exists. Both forms are
checked: v2's ``.zmetadata`` and v3's ``consolidated_metadata`` inline in a group's
``zarr.json`` (zarr-python's).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

from geozarr.errors import GeoZarrError
from geozarr.metadata.consolidated import parse_zmetadata
from geozarr.metadata.v2 import ArrayMetadataV2
from geozarr.metadata.v3 import ArrayMetadataV3, GroupMetadataV3
from geozarr.validate.codes import finding
from geozarr.validate.hierarchy import (
    V2_ARRAY,
    V2_ATTRS,
    V2_CONSOLIDATED,
    V2_GROUP,
    Hierarchy,
    Node,
    join_path,
)
from geozarr.validate.report import Finding, attribute_key
from geozarr.validate.zarr_checks import without_key


def check_consolidated(hierarchy: Hierarchy) -> list[Finding]:
    """Compare every consolidated snapshot of the store with the documents it copies."""
    findings: list[Finding] = []
    for key in hierarchy.keys:
        folder, _, name = key.rpartition("/")
        if name == V2_CONSOLIDATED:
            findings.extend(_check_zmetadata(hierarchy, folder, key))
    for group in hierarchy.groups():
        if isinstance(group.metadata, GroupMetadataV3) \
                and group.metadata.consolidated_metadata is not None:
            findings.extend(_check_inline(hierarchy, group, group.metadata.consolidated_metadata))
    return findings


def is_consolidated(hierarchy: Hierarchy, path: str) -> bool:
    """Whether the node at ``path`` is described by consolidated metadata held at it or at
    one of its ancestors."""
    ancestor: str | None = path
    while ancestor is not None:
        node = hierarchy.node(ancestor)
        if node is not None and isinstance(node.metadata, GroupMetadataV3):
            inline = node.metadata.consolidated_metadata
            relative = path[len(ancestor):].lstrip("/")
            if inline is not None and (not relative or relative in inline):
                return True
        if hierarchy.has_key(join_path(ancestor, V2_CONSOLIDATED)):
            return True
        ancestor = None if not ancestor else ancestor.rpartition("/")[0]
    return False


def _check_zmetadata(hierarchy: Hierarchy, folder: str, key: str) -> list[Finding]:
    group = hierarchy.node(folder)
    if group is None or group.kind != "group" or group.zarr_format != 2:
        return [finding("ZARR-CONSOLIDATED-INVALID", key,
                        f"is not beside a Zarr v2 group (/{folder} holds "
                        f"{'no node' if group is None else f'a v{group.zarr_format} {group.kind}'})"
                        f"; readers never use it")]
    raw = hierarchy.store.get(key)
    try:
        documents = parse_zmetadata(raw or b"", key=key)
    except GeoZarrError as error:
        return [finding("ZARR-CONSOLIDATED-INVALID", key, without_key(str(error), key))]
    findings: list[Finding] = []
    listed: set[str] = set()
    for name, document in documents.items():
        relative, _, doc_name = name.rpartition("/")
        if doc_name not in (V2_ARRAY, V2_GROUP):
            continue
        path = join_path(folder, relative)
        listed.add(path)
        entry = attribute_key(key, "metadata", name)
        node = hierarchy.node(path)
        kind = "array" if doc_name == V2_ARRAY else "group"
        if node is None or node.kind != kind or node.zarr_format != 2:
            findings.append(_stale(entry, path, kind, node))
        elif kind == "array" and node.metadata is not None:
            findings.extend(_compare_v2_array(entry, node, document))
    for name in documents:
        relative, _, doc_name = name.rpartition("/")
        path = join_path(folder, relative)
        if doc_name == V2_ATTRS and path not in listed and hierarchy.node(path) is None:
            findings.append(_stale(attribute_key(key, "metadata", name), path, "node", None))
    for node in [hierarchy.nodes[folder], *hierarchy.descendants(folder)]:
        if node.zarr_format != 2:
            continue
        relative = node.path[len(folder):].lstrip("/")
        if node.path not in listed:
            findings.append(_missing(key, node))
            continue
        snapshot = documents.get(join_path(relative, V2_ATTRS), {})
        if dict(snapshot) != dict(node.attributes):
            findings.append(_attributes_differ(attribute_key(key, "metadata",
                                                             join_path(relative, V2_ATTRS)),
                                               node, snapshot))
    return findings


def _check_inline(hierarchy: Hierarchy, group: Node,
                  documents: Mapping[str, Mapping[str, Any]]) -> list[Finding]:
    findings: list[Finding] = []
    for relative, document in documents.items():
        path = join_path(group.path, relative)
        entry = attribute_key(group.document_key, "consolidated_metadata", "metadata", relative)
        node = hierarchy.node(path)
        kind = document.get("node_type")
        if node is None or node.kind != kind or node.zarr_format != 3:
            findings.append(_stale(entry, path, str(kind), node))
            continue
        if node.metadata is None:
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the node's own warnings are reported already
            try:
                snapshot: Any = (ArrayMetadataV3 if kind == "array"
                                 else GroupMetadataV3).from_json(dict(document), key=entry)
            except GeoZarrError as error:
                findings.append(finding("ZARR-CONSOLIDATED-INVALID", entry,
                                        without_key(str(error), entry)))
                continue
        if kind == "array" and snapshot != node.metadata:
            findings.append(_differ(entry, node, snapshot.to_json(), node.metadata.to_json()))
        elif kind == "group" and snapshot.attributes != dict(node.attributes):
            findings.append(_attributes_differ(entry, node, snapshot.attributes))
    for node in hierarchy.descendants(group.path):
        relative = node.path[len(group.path):].lstrip("/")
        if node.zarr_format == 3 and relative not in documents:
            findings.append(_missing(group.document_key, node))
    return findings


def _compare_v2_array(entry: str, node: Node, document: Mapping[str, Any]) -> list[Finding]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            snapshot = ArrayMetadataV2.from_json(dict(document), key=entry)
        except GeoZarrError as error:
            return [finding("ZARR-CONSOLIDATED-INVALID", entry, without_key(str(error), entry))]
    if node.metadata is not None and snapshot != node.metadata:
        return [_differ(entry, node, snapshot.to_json(), node.metadata.to_json())]
    return []


def _differ(entry: str, node: Node, snapshot: Mapping[str, Any],
            stored: Mapping[str, Any]) -> Finding:
    members = sorted(name for name in set(snapshot) | set(stored)
                     if snapshot.get(name) != stored.get(name))
    shown = "; ".join(f"{name}: {snapshot.get(name)!r} here, {stored.get(name)!r} in "
                      f"{node.document_key}" for name in members if name != "attributes")
    if "attributes" in members:
        shown = "; ".join(filter(None, [shown, _attribute_names(snapshot.get("attributes"),
                                                                stored.get("attributes"))]))
    return finding("ZARR-CONSOLIDATED-MISMATCH", entry,
                   f"the snapshot of /{node.path} is stale ({shown}); readers using "
                   f"consolidated metadata see the old values: consolidate again")


def _attributes_differ(entry: str, node: Node, snapshot: Any) -> Finding:
    return finding("ZARR-CONSOLIDATED-MISMATCH", entry,
                   f"the snapshot of /{node.path} is stale "
                   f"({_attribute_names(snapshot, node.attributes)}); readers using "
                   f"consolidated metadata see the old values: consolidate again")


def _attribute_names(snapshot: Any, stored: Any) -> str:
    old = snapshot if isinstance(snapshot, Mapping) else {}
    new = stored if isinstance(stored, Mapping) else {}
    names = sorted(name for name in set(old) | set(new) if old.get(name) != new.get(name))
    return f"attributes differ: {', '.join(names)}"


def _stale(entry: str, path: str, kind: str, node: Node | None) -> Finding:
    actual = "nothing" if node is None else f"a v{node.zarr_format} {node.kind}"
    return finding("ZARR-CONSOLIDATED-STALE-NODE", entry,
                   f"lists /{path} as a {kind}, but the store holds {actual} there; readers "
                   f"using consolidated metadata open a node that is not there: consolidate "
                   f"again")


def _missing(key: str, node: Node) -> Finding:
    return finding("ZARR-CONSOLIDATED-MISSING-NODE", key,
                   f"/{node.path} is not in the consolidated metadata held here; readers using "
                   f"it do not see that {node.kind}: consolidate again")
