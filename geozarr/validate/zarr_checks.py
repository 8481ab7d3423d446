"""The Zarr layer: every node's metadata against the v2 and v3 specifications.

:func:`scan` lists every key of a store, finds the node documents among them, parses each with
the core's own parsers (:mod:`geozarr.metadata`) and builds each array's codec chain, turning
every :class:`~geozarr.errors.GeoZarrError` and :class:`~geozarr.errors.MetadataWarning` into a
finding instead of stopping at the first. It then checks how the nodes fit together: a root
node, no node below an array, group documents at every ancestor, one format per hierarchy.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import MappingProxyType
from typing import Any

from geozarr.core.array import Array
from geozarr.errors import (
    GeoZarrError,
    MetadataError,
    MetadataWarning,
    UnsafeCodecError,
    UnsupportedCodecError,
    UnsupportedDataTypeError,
)
from geozarr.metadata.jsondoc import parse_json_document
from geozarr.metadata.v2 import ArrayMetadataV2, GroupMetadataV2
from geozarr.metadata.v3 import ArrayMetadataV3, GroupMetadataV3
from geozarr.storage.base import Store
from geozarr.validate.codes import finding
from geozarr.validate.hierarchy import (
    METADATA_NAMES,
    V2_ARRAY,
    V2_ATTRS,
    V2_GROUP,
    V3_NODE,
    Hierarchy,
    Kind,
    Node,
    join_path,
    parent_path,
)
from geozarr.validate.report import STORE_KEY, Finding

#: How the parsers' :class:`MetadataWarning` messages map to codes; any other is
#: ``ZARR-LENIENT``. The fragments are the parsers' own wording (``geozarr.metadata.v2``,
#: ``geozarr.metadata.v3``, ``geozarr.codecs.pipeline``).
_BENDS = (
    ("fill_value is null", "ZARR-V3-FILL-VALUE"),
    ("required member 'codecs' is missing", "ZARR-V3-CODECS-MISSING"),
    ("no array->bytes codec", "ZARR-V3-NO-ARRAY-BYTES"),
    ("required member 'filters' is missing", "ZARR-V2-REQUIRED-MEMBER"),
    ("required member 'fill_value' is missing", "ZARR-V2-REQUIRED-MEMBER"),
)
#: Error classes and their codes, most specific first.
_ERRORS: tuple[tuple[type[GeoZarrError], str], ...] = (
    (UnsafeCodecError, "ZARR-CODEC-UNSAFE"),
    (UnsupportedCodecError, "ZARR-CODEC"),
    (UnsupportedDataTypeError, "ZARR-DATA-TYPE"),
    (GeoZarrError, "ZARR-METADATA"),
)


def scan(store: Store) -> tuple[Hierarchy, list[Finding]]:
    """Every node of ``store``, parsed, and what is wrong with them.

    Parameters
    ----------
    store
        The store to validate (only read).

    Returns
    -------
    (Hierarchy, list of Finding)
        The nodes found (those whose document is broken included, with ``metadata`` None)
        and the findings about their documents and about the shape of the hierarchy.
    """
    findings: list[Finding] = []
    try:
        keys = tuple(sorted(store.list_prefix("")))
    except GeoZarrError as error:
        findings.append(finding("ZARR-STORE-READ", STORE_KEY, f"cannot list the store: {error}"))
        return Hierarchy(store, (), MappingProxyType({})), findings
    documents: dict[str, set[str]] = {}
    for key in keys:
        folder, _, name = key.rpartition("/")
        if name in METADATA_NAMES:
            documents.setdefault(folder, set()).add(name)
    nodes: dict[str, Node] = {}
    for path in sorted(documents):
        node = _load(store, path, documents[path], findings)
        if node is not None:
            nodes[path] = node
    hierarchy = Hierarchy(store, keys, MappingProxyType(nodes))
    if not nodes:
        findings.append(finding(
            "ZARR-STORE-EMPTY", STORE_KEY,
            "no zarr.json, .zarray or .zgroup anywhere in the store: it is not a Zarr store"))
        return hierarchy, findings
    findings.extend(_check_structure(hierarchy))
    for node in hierarchy.arrays():
        findings.extend(_check_dimension_attribute(node))
        if node.metadata is not None:
            findings.extend(_check_codecs(store, node))
    return hierarchy, findings


def without_key(message: str, key: str) -> str:
    """``message`` without the ``"<key>: "`` the core's messages start with (the finding
    names the key already)."""
    prefix = f"{key}: "
    return message[len(prefix):] if message.startswith(prefix) else message


def error_finding(error: GeoZarrError, key: str) -> Finding:
    """The finding for an error a parser or codec raised about the document at ``key``."""
    code = next(code for kind, code in _ERRORS if isinstance(error, kind))
    return finding(code, key, without_key(str(error), key))


@contextmanager
def collecting_warnings(findings: list[Finding], key: str) -> Iterator[None]:
    """Turn the :class:`MetadataWarning` raised inside the block into findings about ``key``
    (other warnings are left alone)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            yield
        finally:
            for warning in caught:
                if issubclass(warning.category, MetadataWarning):
                    message = without_key(str(warning.message), key)
                    code = next((code for fragment, code in _BENDS if fragment in message),
                                "ZARR-LENIENT")
                    findings.append(finding(code, key, message))
                else:
                    warnings.warn_explicit(warning.message, warning.category, warning.filename,
                                           warning.lineno)


def read_document(store: Store, key: str, findings: list[Finding]) -> dict[str, Any] | None:
    """The JSON object stored at ``key``, or None (with a finding) when it is unreadable."""
    try:
        raw = store.get(key)
    except GeoZarrError as error:
        findings.append(finding("ZARR-STORE-READ", key, f"cannot read it: {error}"))
        return None
    if raw is None:
        return None
    try:
        return parse_json_document(raw, key=key)
    except MetadataError as error:
        findings.append(finding("ZARR-JSON", key, without_key(str(error), key)))
        return None


def _load(store: Store, path: str, names: set[str], findings: list[Finding]) -> Node | None:
    """The node whose documents ``names`` sit at ``path`` (None when there is none)."""
    present = [name for name in (V3_NODE, V2_ARRAY, V2_GROUP) if name in names]
    if not present:
        if V2_ATTRS in names:
            findings.append(finding(
                "ZARR-ATTRS-ORPHAN", join_path(path, V2_ATTRS),
                "attributes with no .zarray or .zgroup beside them belong to no node; "
                "readers ignore them"))
        return None
    if len(present) > 1:
        findings.append(finding(
            "ZARR-NODE-AMBIGUOUS", join_path(path, present[0]),
            f"/{path} holds {' and '.join(present)}: readers disagree on which one is the node "
            f"({present[0]} is used here); keep one"))
    if present[0] == V3_NODE:
        return _load_v3(store, path, findings)
    return _load_v2(store, path, present[0], V2_ATTRS in names, findings)


def _load_v3(store: Store, path: str, findings: list[Finding]) -> Node:
    key = join_path(path, V3_NODE)
    doc = read_document(store, key, findings)
    if doc is None:
        return Node(path, "unknown", 3, key, key)
    node_type = doc.get("node_type")
    kind: Kind = node_type if node_type in ("array", "group") else "unknown"
    raw_attributes = doc.get("attributes")
    attributes = raw_attributes if isinstance(raw_attributes, dict) else {}
    metadata: ArrayMetadataV3 | GroupMetadataV3 | None = None
    with collecting_warnings(findings, key):
        try:
            if kind == "array":
                metadata = ArrayMetadataV3.from_json(doc, key=key)
            elif kind == "group":
                metadata = GroupMetadataV3.from_json(doc, key=key)
            else:
                findings.append(finding("ZARR-METADATA", key,
                                        f"node_type must be 'array' or 'group', not "
                                        f"{node_type!r}"))
        except GeoZarrError as error:
            findings.append(error_finding(error, key))
    if metadata is not None:
        attributes = metadata.attributes
    return Node(path, kind, 3, key, key, MappingProxyType(dict(attributes)), doc, metadata)


def _load_v2(store: Store, path: str, name: str, has_attributes: bool,
             findings: list[Finding]) -> Node:
    key = join_path(path, name)
    attributes_key = join_path(path, V2_ATTRS)
    kind: Kind = "array" if name == V2_ARRAY else "group"
    attributes: dict[str, Any] = {}
    if has_attributes:
        attributes = read_document(store, attributes_key, findings) or {}
    doc = read_document(store, key, findings)
    metadata: ArrayMetadataV2 | GroupMetadataV2 | None = None
    if doc is not None:
        parse: Callable[..., Any] = (ArrayMetadataV2.from_json if kind == "array"
                                     else GroupMetadataV2.from_json)
        with collecting_warnings(findings, key):
            try:
                metadata = parse(doc, key=key)
            except GeoZarrError as error:
                findings.append(error_finding(error, key))
    return Node(path, kind, 2, key, attributes_key, MappingProxyType(attributes), doc,
                metadata)


def _check_codecs(store: Store, node: Node) -> list[Finding]:
    """Build the array's chunk pipeline as a reader would, reporting what refuses to build."""
    findings: list[Finding] = []
    metadata = node.metadata
    if not isinstance(metadata, (ArrayMetadataV2, ArrayMetadataV3)):
        return findings
    with collecting_warnings(findings, node.document_key):
        try:
            Array(store, node.path, metadata, dict(node.attributes), read_only=True)
        except GeoZarrError as error:
            findings.append(error_finding(error, node.document_key))
    return findings


def _check_structure(hierarchy: Hierarchy) -> list[Finding]:
    """A root node; every node below a group (not an array); group documents at every
    ancestor; one Zarr format per parent and child."""
    findings: list[Finding] = []
    nodes = hierarchy.nodes
    if "" not in nodes:
        top = sorted({path.split("/", 1)[0] for path in nodes})
        findings.append(finding(
            "ZARR-ROOT-MISSING", STORE_KEY,
            f"no zarr.json, .zarray or .zgroup at the root of the store; it holds nodes below "
            f"({', '.join(top[:5])}{', ...' if len(top) > 5 else ''}): validate one of them, "
            f"or add a root group"))
    implicit: dict[str, str] = {}
    for node in sorted(nodes.values(), key=lambda found: found.path):
        ancestor = parent_path(node.path)
        while ancestor is not None:
            above = nodes.get(ancestor)
            if above is None:
                if ancestor:
                    implicit.setdefault(ancestor, node.path)
            elif above.kind == "array":
                findings.append(finding(
                    "ZARR-NODE-IN-ARRAY", node.document_key,
                    f"/{node.path} lies below the array /{above.path}: arrays hold chunks, not "
                    f"nodes; readers never find it and may take its documents for chunks"))
                break
            else:
                if above.zarr_format != node.zarr_format:
                    findings.append(finding(
                        "ZARR-MIXED-FORMATS", node.document_key,
                        f"/{node.path} is Zarr v{node.zarr_format} but its group /{above.path} "
                        f"is v{above.zarr_format}; readers open a hierarchy in one format and "
                        f"do not see it"))
                break
            ancestor = parent_path(ancestor)
    for path, below in implicit.items():
        findings.append(finding(
            "ZARR-IMPLICIT-GROUP", f"{path}/",
            f"no group document (zarr.json or .zgroup) at /{path}, though /{below} lies below "
            f"it; readers that walk the hierarchy from the root do not find what is inside"))
    return findings


def _check_dimension_attribute(node: Node) -> list[Finding]:
    """xarray's ``_ARRAY_DIMENSIONS``: one name per dimension, and in v3 redundant with (and
    not contradicting) ``dimension_names``."""
    names = node.attributes.get("_ARRAY_DIMENSIONS")
    shape = node.shape
    if names is None or shape is None:
        return []
    key = node.attribute_key("_ARRAY_DIMENSIONS")
    if (not isinstance(names, list) or len(names) != len(shape)
            or not all(isinstance(name, str) for name in names)):
        return [finding("ZARR-ARRAY-DIMENSIONS-INVALID", key,
                        f"{names!r} is not a list of {len(shape)} names, one per dimension; "
                        f"xarray cannot open the array")]
    if isinstance(node.metadata, ArrayMetadataV3):
        declared = node.metadata.dimension_names
        if declared is not None and list(declared) != names:
            return [finding("ZARR-DIMENSIONS-DISAGREE", key,
                            f"{names} disagrees with dimension_names {list(declared)}; readers "
                            f"pick different names (dimension_names is the v3 one)")]
        return [finding("ZARR-V3-ARRAY-DIMENSIONS", key,
                        "Zarr v3 has dimension_names; xarray no longer writes "
                        "_ARRAY_DIMENSIONS in v3, and it can drift from dimension_names")]
    return []
