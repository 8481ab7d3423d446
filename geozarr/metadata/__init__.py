"""Pure Zarr metadata: bytes or decoded JSON in, frozen values out; no I/O.

``v2`` and ``v3`` hold the array and group documents, ``consolidated`` the v2 ``.zmetadata``
document, ``dtypes`` and ``fill_values`` the two members whose encoding depends on the data
type, and ``jsondoc`` the JSON decoding and the limits every document shares.
"""

from __future__ import annotations

from geozarr.metadata.consolidated import build_zmetadata, parse_zmetadata
from geozarr.metadata.jsondoc import MAX_CHUNK_BYTES, dump_json_document, parse_json_document
from geozarr.metadata.v2 import ArrayMetadataV2, GroupMetadataV2, parse_attributes
from geozarr.metadata.v3 import ArrayMetadataV3, GroupMetadataV3, parse_v3_node

__all__ = [
    "MAX_CHUNK_BYTES",
    "ArrayMetadataV2",
    "ArrayMetadataV3",
    "GroupMetadataV2",
    "GroupMetadataV3",
    "build_zmetadata",
    "dump_json_document",
    "parse_attributes",
    "parse_json_document",
    "parse_v3_node",
    "parse_zmetadata",
]
