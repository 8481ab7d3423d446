"""The catalogue of finding codes: each one's severity and what it means, in one place.

A code is a stable short id (``"PROJ-CODE-PATTERN"``) that scripts, CI jobs and bug reports
can quote; its severity never depends on the store, so ``docs/validate.md`` can document
each once. A check creates findings with :func:`finding`, which refuses codes that are not in
the catalogue.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from geozarr.validate.report import Finding, Severity


@dataclass(frozen=True)
class Code:
    """One kind of finding: its stable id, its severity and a one-line summary."""

    code: str
    severity: Severity
    summary: str


def _catalogue(*entries: tuple[str, Severity, str]) -> Mapping[str, Code]:
    return MappingProxyType({code: Code(code, severity, summary)
                             for code, severity, summary in entries})


#: Every finding code, by id.
CODES: Mapping[str, Code] = _catalogue(
    # -- the store and its nodes -------------------------------------------------------------
    ("ZARR-STORE-READ", "error", "a key could not be listed or read from the store"),
    ("ZARR-STORE-EMPTY", "error", "the store holds no Zarr metadata document at all"),
    ("ZARR-ROOT-MISSING", "error", "the store has nodes but no array or group at its root"),
    ("ZARR-NODE-AMBIGUOUS", "error", "one path holds several node documents"),
    ("ZARR-NODE-IN-ARRAY", "error", "a node document lies below an array"),
    ("ZARR-IMPLICIT-GROUP", "warning", "an ancestor of a node has no group document"),
    ("ZARR-MIXED-FORMATS", "warning", "a node's Zarr format differs from its parent group's"),
    ("ZARR-ATTRS-ORPHAN", "warning", "a .zattrs document with no .zarray or .zgroup beside it"),
    ("ZARR-JSON", "error", "a metadata document is not a UTF-8 JSON object"),
    ("ZARR-METADATA", "error", "a metadata document breaks the Zarr specification"),
    ("ZARR-DATA-TYPE", "error", "the data type is unknown or not supported"),
    ("ZARR-CODEC", "error", "a codec is unknown or its configuration is invalid"),
    ("ZARR-CODEC-UNSAFE", "error", "a codec would run code when decoding (pickle, objects)"),
    ("ZARR-V3-FILL-VALUE", "error", "a v3 array has a null fill_value"),
    ("ZARR-V3-CODECS-MISSING", "error", "a v3 array has no codecs member"),
    ("ZARR-V3-NO-ARRAY-BYTES", "error", "a v3 codec chain has no array -> bytes codec"),
    ("ZARR-V2-REQUIRED-MEMBER", "error", "a .zarray misses fill_value or filters"),
    ("ZARR-LENIENT", "warning", "metadata readable only by bending the specification"),
    ("ZARR-ARRAY-DIMENSIONS-INVALID", "warning",
     "_ARRAY_DIMENSIONS is not one name per dimension"),
    ("ZARR-V3-ARRAY-DIMENSIONS", "info", "a v3 array repeats its dimension_names in "
                                         "_ARRAY_DIMENSIONS"),
    ("ZARR-DIMENSIONS-DISAGREE", "warning", "_ARRAY_DIMENSIONS and dimension_names disagree"),
    # -- chunks -------------------------------------------------------------------------------
    ("ZARR-STRAY-KEY", "warning", "a stored key belongs to no array"),
    ("ZARR-CHUNK-KEY-INVALID", "warning", "a key inside an array is not one of its chunk keys"),
    ("ZARR-CHUNK-KEY-ENCODING", "error",
     "chunks are stored under another key encoding or separator than declared"),
    ("ZARR-CHUNK-OUT-OF-GRID", "warning", "a chunk lies outside the array's chunk grid"),
    ("ZARR-CHUNK-CORRUPT", "error", "a stored chunk does not decode (--chunks)"),
    # -- consolidated metadata ----------------------------------------------------------------
    ("ZARR-CONSOLIDATED-INVALID", "error", "consolidated metadata cannot be parsed"),
    ("ZARR-CONSOLIDATED-MISMATCH", "error",
     "consolidated metadata differs from a node's own documents"),
    ("ZARR-CONSOLIDATED-STALE-NODE", "error",
     "consolidated metadata lists a node that does not exist"),
    ("ZARR-CONSOLIDATED-MISSING-NODE", "warning", "a node is missing from consolidated metadata"),
    # -- zarr_conventions ---------------------------------------------------------------------
    ("CMO-NOT-A-LIST", "error", "zarr_conventions is not an array"),
    ("CMO-DRAFT-OBJECT", "warning", "zarr_conventions uses the pre-2025 object form"),
    ("CMO-NOT-AN-OBJECT", "error", "a zarr_conventions entry is not an object"),
    ("CMO-NO-IDENTIFIER", "error", "a convention metadata object has no uuid, schema_url "
                                   "or spec_url"),
    ("CMO-EXTRA-MEMBER", "error", "a convention metadata object has a member the framework "
                                  "forbids"),
    ("CMO-MEMBER-TYPE", "error", "a convention metadata object member is not a string"),
    ("CMO-UUID-FORMAT", "error", "a convention uuid is not a UUID"),
    ("CMO-UUID-MISSING", "warning", "a known convention is declared without its uuid"),
    ("CMO-IDENTITY-CONFLICT", "error", "a uuid and a URL name different conventions"),
    ("CMO-NAME-DRAFT", "warning", "a draft-era convention name (\"proj:\", \"spatial:\")"),
    ("CMO-NAME-MISMATCH", "warning", "a convention name that is not the convention's"),
    ("CMO-NAME-MISSING", "info", "a convention metadata object has no name"),
    ("CMO-URL-DRAFT", "warning", "a draft-era schema_url or spec_url (refs/tags/v1, geo-proj)"),
    ("CMO-URL-UNKNOWN", "warning", "a schema_url or spec_url outside the convention's "
                                   "repository"),
    ("CMO-DESCRIPTION", "info", "a description that differs from the convention's"),
    ("CMO-DUPLICATE", "warning", "a convention is declared twice on one node"),
    ("CMO-UNKNOWN-CONVENTION", "info", "a convention this validator does not check"),
    # -- proj ---------------------------------------------------------------------------------
    ("PROJ-UNDECLARED", "warning", "proj: keys on a node that does not declare proj"),
    ("PROJ-MISSING", "error", "proj is declared but no proj:code, proj:wkt2 or proj:projjson"),
    ("PROJ-LEGACY-KEY", "warning", "a pre-v0.1 key (proj:epsg, proj:transform, geo.proj...)"),
    ("PROJ-UNKNOWN-KEY", "warning", "a proj: key the convention does not define"),
    ("PROJ-CODE-PATTERN", "error", "proj:code is not an AUTHORITY:CODE string"),
    ("PROJ-CODE-DRAFT-PATTERN", "info", "proj:code fails the draft pattern ^[A-Z]+:[0-9]+$"),
    ("PROJ-CODE-UNKNOWN", "error", "PROJ does not know proj:code"),
    ("PROJ-CODE-ONLY", "info", "proj:code is the only CRS representation"),
    ("PROJ-WKT2-INVALID", "error", "proj:wkt2 is not WKT PROJ can read"),
    ("PROJ-WKT2-IS-WKT1", "warning", "proj:wkt2 holds WKT1"),
    ("PROJ-PROJJSON-INVALID", "error", "proj:projjson is not a PROJJSON object PROJ can read"),
    ("PROJ-CRS-DISAGREE", "error", "proj:code, proj:wkt2 and proj:projjson name different CRSs"),
    ("GROUP-KEYS-NOT-INHERITED", "info",
     "group-level proj:/spatial: keys reach no array (direct children only)"),
    # -- spatial ------------------------------------------------------------------------------
    ("SPATIAL-UNDECLARED", "warning", "spatial: keys on a node that does not declare spatial"),
    ("SPATIAL-UNKNOWN-KEY", "warning", "a spatial: key the convention does not define"),
    ("SPATIAL-DIMENSIONS-INVALID", "error", "spatial:dimensions is not two distinct names"),
    ("SPATIAL-DIMENSIONS-MISSING", "error",
     "an array declares spatial but has no spatial:dimensions"),
    ("SPATIAL-DIMENSIONS-NOT-ON-ARRAY", "warning",
     "an array declaring spatial takes spatial:dimensions from its group"),
    ("SPATIAL-NO-DIMENSION-NAMES", "error", "an array using spatial has no dimension names"),
    ("SPATIAL-DIMENSIONS-UNKNOWN", "error", "spatial:dimensions names no dimension of the array"),
    ("SPATIAL-TRANSFORM-INVALID", "error", "spatial:transform is not a list of finite numbers"),
    ("SPATIAL-TRANSFORM-LENGTH", "error", "spatial:transform does not have six numbers"),
    ("SPATIAL-TRANSFORM-DEGENERATE", "error", "spatial:transform cannot be inverted"),
    ("SPATIAL-TRANSFORM-MISSING", "warning", "an array using spatial has no spatial:transform"),
    ("SPATIAL-TRANSFORM-TYPE-UNKNOWN", "warning", "spatial:transform_type is not 'affine'"),
    ("SPATIAL-SHAPE-INVALID", "error", "spatial:shape is not two positive integers"),
    ("SPATIAL-SHAPE-MISMATCH", "error", "spatial:shape is not the array's [height, width]"),
    ("SPATIAL-BBOX-INVALID", "error", "spatial:bbox is not [xmin, ymin, xmax, ymax]"),
    ("SPATIAL-BBOX-MISMATCH", "error", "spatial:bbox is not the extent of the transform"),
    ("SPATIAL-REGISTRATION-INVALID", "error", "spatial:registration is not 'pixel' or 'node'"),
    # -- multiscales --------------------------------------------------------------------------
    ("MULTISCALES-UNDECLARED", "warning", "a multiscales attribute on a node that does not "
                                          "declare the convention"),
    ("MULTISCALES-MISSING", "error", "multiscales is declared but there is no multiscales "
                                     "attribute"),
    ("MULTISCALES-ON-ARRAY", "error", "multiscales on an array (it is for groups only)"),
    ("MULTISCALES-LEGACY-FORM", "warning", "a pre-v0.1 multiscales form (list, TMS, group/"
                                           "from_group)"),
    ("MULTISCALES-INVALID", "error", "multiscales or its layout is malformed"),
    ("MULTISCALES-ASSET-PATH", "error", "an asset or derived_from is not a safe relative path"),
    ("MULTISCALES-ASSET-NOT-FOUND", "error", "no array or group at a layout asset"),
    ("MULTISCALES-ASSET-DUPLICATE", "error", "two layout entries name the same asset"),
    ("MULTISCALES-DERIVED-FROM-UNKNOWN", "error",
     "derived_from names no other level, or levels derive in a cycle"),
    ("MULTISCALES-TRANSFORM-MISSING", "error", "a level with derived_from has no transform"),
    ("MULTISCALES-TRANSFORM-INVALID", "error", "transform.scale or transform.translation is "
                                               "malformed"),
    ("MULTISCALES-SCALE-LENGTH", "error", "transform.scale/translation have the wrong length"),
    ("MULTISCALES-SCALE-NDIM", "warning", "transform.scale has 2 entries for arrays of more "
                                          "dimensions"),
    ("MULTISCALES-SCALE-MISMATCH", "error", "a level's shape does not follow from its source "
                                            "and scale"),
    ("MULTISCALES-LEVEL-SHAPE", "error", "a layout spatial:shape is not the level's shape"),
    ("MULTISCALES-LEVEL-TRANSFORM", "warning",
     "a layout spatial:transform does not follow from its source and scale"),
    ("MULTISCALES-LEVEL-GEOREF", "error",
     "a layout spatial:transform disagrees with the level's own spatial:transform"),
    ("MULTISCALES-SPATIAL-TRANSFORM-MISSING", "warning",
     "a layout entry has no spatial:transform"),
    ("MULTISCALES-LEVEL-ORDER", "warning", "levels are not listed finest first"),
    ("MULTISCALES-LEVEL-ARRAYS", "warning", "levels hold differently named or typed arrays"),
    ("MULTISCALES-UNLISTED-CHILD", "info", "a child of the multiscales group is no level"),
    ("MULTISCALES-NOT-CONSOLIDATED", "warning", "the multiscales group has no consolidated "
                                                "metadata"),
    # -- georeferencing as readers resolve it -------------------------------------------------
    ("GEOREF-UNUSABLE", "error", "the georeferencing a reader would use is unusable"),
    ("GEOREF-DISAGREE", "warning", "two georeferencing sources of an array disagree"),
    ("GEOREF-NONE", "info", "a data array is not georeferenced"),
    ("GEOREF-NOTE", "info", "georeferencing metadata read with a caveat"),
)


def finding(code: str, key: str, message: str) -> Finding:
    """A :class:`Finding` of ``code``, with the code's severity.

    Raises
    ------
    KeyError
        ``code`` is not in :data:`CODES` (a programming error in a check).
    """
    return Finding(CODES[code].severity, code, key, message)
