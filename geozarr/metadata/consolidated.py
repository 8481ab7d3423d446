"""Zarr v2 consolidated metadata: the ``.zmetadata`` document.

``.zmetadata`` gathers every ``.zgroup``, ``.zarray`` and ``.zattrs`` document of a hierarchy
into one object, so a reader needs one request instead of one per node:
``{"zarr_consolidated_format": 1, "metadata": {"a/.zarray": {...}, ...}}``. (v3 keeps its
consolidated metadata inside the root group's ``zarr.json``; see
:class:`~geozarr.metadata.v3.GroupMetadataV3`.)
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from geozarr.errors import MetadataError
from geozarr.metadata.jsondoc import check_node_path, is_json_int, json_type, parse_json_document

__all__ = ["build_zmetadata", "parse_zmetadata"]


def parse_zmetadata(raw: bytes, *, key: str = ".zmetadata") -> dict[str, dict[str, Any]]:
    """The documents held by a ``.zmetadata`` document, by key relative to its group.

    Returns
    -------
    dict
        ``{".zgroup": {...}, "a/.zarray": {...}, "a/.zattrs": {...}, ...}``: decoded, not yet
        parsed; each is checked to be a JSON object under a safe relative key.

    Raises
    ------
    MetadataError
        The document is not JSON, ``zarr_consolidated_format`` is not 1, or ``metadata`` is
        not an object of objects.
    """
    doc = parse_json_document(raw, key=key)
    version = doc.get("zarr_consolidated_format")
    if not is_json_int(version) or version != 1:
        raise MetadataError(f"{key}: zarr_consolidated_format must be 1, not {version!r}")
    metadata = doc.get("metadata")
    if not isinstance(metadata, dict):
        raise MetadataError(f"{key}: metadata must be an object, not {json_type(metadata)}")
    documents: dict[str, dict[str, Any]] = {}
    for name, document in metadata.items():
        check_node_path(name, key=key)
        if not isinstance(document, dict):
            raise MetadataError(
                f"{key}: metadata[{name!r}] must be an object, not {json_type(document)}"
            )
        documents[name] = document
    return documents


def build_zmetadata(documents: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """The ``.zmetadata`` document consolidating ``documents`` (keys relative to the group).

    The documents are copied and sorted by key, so the output is deterministic.
    """
    return {
        "zarr_consolidated_format": 1,
        "metadata": {name: copy.deepcopy(dict(documents[name])) for name in sorted(documents)},
    }
