"""The Zarr conventions framework and the ``proj`` convention, node by node.

* ``zarr_conventions``: an array of convention metadata objects (CMOs), each with at least one
  of ``uuid``/``schema_url``/``spec_url``, optionally ``name`` and ``description``, and nothing
  else (zarr-conventions-spec). The known conventions are compared with their v0.1 CMOs; the
  draft-era spellings most producers still write (``"proj:"``, ``refs/tags/v1`` URLs that were
  never published) are warnings, not errors, since readers match by UUID.
* keys of a convention on a node that does not declare it (readers matching by UUID, such as
  GDAL and OpenLayers, ignore them), and keys the conventions do not define;
* ``proj`` v0.1: at least one of ``proj:code`` (``^[^:]+:[^:]+$``), ``proj:wkt2`` and
  ``proj:projjson``, each one PROJ can read, all naming the same CRS.

``spatial`` is checked by :mod:`geozarr.validate.spatial_checks` and ``multiscales`` by
:mod:`geozarr.validate.multiscales_checks`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pyproj
from pyproj.exceptions import CRSError

from geozarr.geo.conventions import (
    MULTISCALES_UUID,
    PROJ_UUID,
    SPATIAL_UUID,
    declared_conventions,
)
from geozarr.validate.codes import finding
from geozarr.validate.hierarchy import Hierarchy, Node
from geozarr.validate.report import Finding


@dataclass(frozen=True)
class Convention:
    """A convention as its v0.1 release declares itself."""

    name: str
    uuid: str
    schema_url: str
    spec_url: str
    description: str
    draft_names: frozenset[str]


def _v01(name: str, uuid: str, description: str, *draft_names: str) -> Convention:
    return Convention(
        name, uuid,
        f"https://raw.githubusercontent.com/zarr-conventions/{name}/refs/tags/v0.1/schema.json",
        f"https://github.com/zarr-conventions/{name}/blob/v0.1/README.md",
        description, frozenset(draft_names))


PROJ = _v01("proj", PROJ_UUID, "Coordinate reference system information for geospatial data",
            "proj:", "geo-proj", "geo:proj")
SPATIAL = _v01("spatial", SPATIAL_UUID, "Spatial coordinate information", "spatial:")
MULTISCALES = _v01("multiscales", MULTISCALES_UUID, "Multiscale layout of zarr datasets")
KNOWN = (PROJ, SPATIAL, MULTISCALES)
_BY_UUID = {convention.uuid: convention for convention in KNOWN}
_BY_REPO = {"proj": PROJ, "geo-proj": PROJ, "spatial": SPATIAL, "multiscales": MULTISCALES}
_REPO = re.compile(r"zarr-(?:conventions|experimental)/(geo-proj|proj|spatial|multiscales)/")
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_CMO_MEMBERS = ("uuid", "schema_url", "spec_url", "name", "description")

_PROJ_KEYS = ("proj:code", "proj:wkt2", "proj:projjson")
#: Pre-v0.1 keys (STAC's projection extension, the geo-proj drafts) and what replaces each.
_PROJ_LEGACY = {
    "proj:epsg": 'proj:code "EPSG:<code>"', "proj:transform": "spatial:transform",
    "proj:bbox": "spatial:bbox", "proj:shape": "spatial:shape",
    "proj:spatial_dimensions": "spatial:dimensions", "proj:geometry": "spatial:bbox",
    "proj:centroid": "spatial:bbox",
}
_CODE_PATTERN = re.compile(r"[^:]+:[^:]+")
_DRAFT_CODE_PATTERN = re.compile(r"[A-Z]+:[0-9]+")
_WKT1_ROOTS = ("PROJCS[", "GEOGCS[", "GEOCCS[", "COMPD_CS[", "VERT_CS[", "VERTCS[",
               "LOCAL_CS[", "FITTED_CS[")


def check_conventions(hierarchy: Hierarchy) -> list[Finding]:
    """The ``zarr_conventions`` declarations, undeclared and unknown convention keys, and the
    ``proj`` keys of every node."""
    findings: list[Finding] = []
    for node in sorted(hierarchy.nodes.values(), key=lambda found: found.path):
        findings.extend(check_declarations(node))
        findings.extend(_check_undeclared(hierarchy, node))
        findings.extend(_check_proj_keys(node))
        findings.extend(_check_inheritance(hierarchy, node))
    return findings


def declares(node: Node, convention: Convention) -> bool:
    """Whether ``node`` itself declares ``convention`` (by UUID, URL or name, as readers
    match declarations)."""
    return convention.uuid in declared_conventions(node.attributes)


def spatial_keys_of(attrs: Mapping[str, Any]) -> dict[str, Any]:
    """The top-level ``spatial:`` keys of a node, ``null`` values left out."""
    return {key: value for key, value in attrs.items()
            if isinstance(key, str) and key.startswith("spatial:") and value is not None}


def layout_spatial_keys(attrs: Mapping[str, Any]) -> list[str]:
    """The ``spatial:`` keys used inside ``multiscales.layout`` entries."""
    multiscales = attrs.get("multiscales")
    layout = multiscales.get("layout") if isinstance(multiscales, Mapping) else None
    if not isinstance(layout, list):
        return []
    return sorted({key for entry in layout if isinstance(entry, Mapping)
                   for key in entry if isinstance(key, str) and key.startswith("spatial:")})


def check_declarations(node: Node) -> list[Finding]:
    """The ``zarr_conventions`` attribute of one node."""
    raw = node.attributes.get("zarr_conventions")
    if raw is None:
        return []
    key = node.attribute_key("zarr_conventions")
    if isinstance(raw, Mapping):
        return [finding("CMO-DRAFT-OBJECT", key,
                        "zarr_conventions is an object keyed by UUID, the pre-2025 draft form; "
                        "the conventions framework now wants an array of convention metadata "
                        "objects ({uuid, schema_url, spec_url, name, description})")]
    if not isinstance(raw, list):
        return [finding("CMO-NOT-A-LIST", key,
                        f"zarr_conventions must be an array of convention metadata objects, "
                        f"not {type(raw).__name__}; no reader sees a declaration")]
    findings: list[Finding] = []
    seen: set[str] = set()
    for index, entry in enumerate(raw):
        convention = _check_cmo(node, index, entry, findings)
        if convention is None:
            continue
        if convention.name in seen:
            findings.append(finding("CMO-DUPLICATE", node.attribute_key("zarr_conventions",
                                                                        index),
                                    f"declares {convention.name} a second time; keep one "
                                    f"entry"))
        seen.add(convention.name)
    return findings


def _check_cmo(node: Node, index: int, entry: Any, findings: list[Finding]
               ) -> Convention | None:
    """Check one convention metadata object; the known convention it declares, if any."""
    key = node.attribute_key("zarr_conventions", index)
    if not isinstance(entry, Mapping):
        findings.append(finding("CMO-NOT-AN-OBJECT", key,
                                f"{entry!r} is not a convention metadata object"))
        return None
    extra = sorted(str(member) for member in entry if member not in _CMO_MEMBERS)
    if extra:
        findings.append(finding(
            "CMO-EXTRA-MEMBER", key,
            f"member(s) {', '.join(extra)} are not allowed: a convention metadata object holds "
            f"only uuid, schema_url, spec_url, name and description (the framework MUST NOT "
            f"clause; put versions in the URLs)"))
    values: dict[str, str] = {}
    for member in _CMO_MEMBERS:
        value = entry.get(member)
        if value is None:
            continue
        if isinstance(value, str):
            values[member] = value
        else:
            findings.append(finding("CMO-MEMBER-TYPE", f"{key}/{member}",
                                    f"{member} must be a string, not {value!r}"))
    if not any(member in values for member in ("uuid", "schema_url", "spec_url")):
        findings.append(finding("CMO-NO-IDENTIFIER", key,
                                "has none of uuid, schema_url and spec_url, so it identifies no "
                                "convention (the name must not be used to identify one)"))
        return None
    by_uuid: Convention | None = None
    uuid = values.get("uuid")
    if uuid is not None and not _UUID.fullmatch(uuid.strip().lower()):
        findings.append(finding("CMO-UUID-FORMAT", f"{key}/uuid",
                                f"{uuid!r} is not a UUID (8-4-4-4-12 hexadecimal digits)"))
        uuid = None
    elif uuid is not None:
        by_uuid = _BY_UUID.get(uuid.strip().lower())
    by_url = {member: _repository(values[member]) for member in ("schema_url", "spec_url")
              if member in values}
    by_name = next((known for known in KNOWN if values.get("name") in
                    (known.name, *known.draft_names)), None)
    convention = by_uuid or next((found for found in by_url.values() if found), None) or (
        by_name if uuid is None and "uuid" not in values else None)
    if convention is None:
        named = next(values[member] for member in ("name", "uuid", "schema_url", "spec_url")
                     if member in values)
        findings.append(finding("CMO-UNKNOWN-CONVENTION", key,
                                f"declares {named}, which this validator does not check"))
        return None
    if uuid is None and "uuid" not in values:
        findings.append(finding(
            "CMO-UUID-MISSING", key,
            f"declares {convention.name} without its uuid; add \"uuid\": "
            f"\"{convention.uuid}\": GDAL and OpenLayers recognise conventions by UUID alone"))
    elif uuid is not None and by_uuid is None:
        findings.append(finding(
            "CMO-IDENTITY-CONFLICT", f"{key}/uuid",
            f"{uuid!r} is not the {convention.name} UUID {convention.uuid}, yet the URLs point "
            f"to the {convention.name} repository"))
    for member, found in by_url.items():
        findings.extend(_check_url(key, member, values[member], found, convention))
    findings.extend(_check_name_and_description(key, values, convention))
    return convention


def _check_url(key: str, member: str, url: str, found: Convention | None,
               convention: Convention) -> list[Finding]:
    expected = getattr(convention, member)
    where = f"{key}/{member}"
    if found is not None and found is not convention:
        return [finding("CMO-IDENTITY-CONFLICT", where,
                        f"{url} points to the {found.name} repository, but the entry declares "
                        f"{convention.name}")]
    if url == expected:
        return []
    if found is convention:
        never = (" (the refs/tags/v1 tag was never published, so it does not resolve)"
                 if "/v1/" in url else "")
        return [finding("CMO-URL-DRAFT", where,
                        f"{url} is a draft-era URL{never}; v0.1's is {expected}")]
    return [finding("CMO-URL-UNKNOWN", where,
                    f"{url} is not in the {convention.name} convention's repository; "
                    f"v0.1's is {expected}")]


def _check_name_and_description(key: str, values: Mapping[str, str],
                                convention: Convention) -> list[Finding]:
    findings: list[Finding] = []
    name = values.get("name")
    if name is None:
        findings.append(finding("CMO-NAME-MISSING", key,
                                f"no name; v0.1's is {convention.name!r}"))
    elif name in convention.draft_names:
        findings.append(finding(
            "CMO-NAME-DRAFT", f"{key}/name",
            f"{name!r} is the draft-era name; v0.1's is {convention.name!r} (rioxarray 0.23 "
            f"and earlier still look for {convention.name + ':'!r})"))
    elif name != convention.name:
        findings.append(finding("CMO-NAME-MISMATCH", f"{key}/name",
                                f"{name!r} is not the name of {convention.name} "
                                f"({convention.name!r})"))
    description = values.get("description")
    if description is not None and description != convention.description:
        findings.append(finding("CMO-DESCRIPTION", f"{key}/description",
                                f"{description!r} differs from v0.1's "
                                f"{convention.description!r}"))
    return findings


def _repository(url: str) -> Convention | None:
    match = _REPO.search(url)
    return _BY_REPO[match.group(1)] if match else None


def _proj_keys_of(attrs: Mapping[str, Any]) -> list[str]:
    """The ``proj:`` keys of a node, with the legacy nested forms named as written."""
    keys = [key for key in attrs if isinstance(key, str) and key.startswith("proj:")]
    geo = attrs.get("geo")
    if isinstance(geo, Mapping) and isinstance(geo.get("proj"), Mapping):
        keys.append("geo.proj")
    if isinstance(attrs.get("geo:proj"), Mapping):
        keys.append("geo:proj")
    return keys


def _check_undeclared(hierarchy: Hierarchy, node: Node) -> list[Finding]:
    used = (
        (PROJ, _proj_keys_of(node.attributes)),
        (SPATIAL, [*spatial_keys_of(node.attributes), *(
            f"multiscales.layout[].{key}" for key in layout_spatial_keys(node.attributes))]),
        (MULTISCALES, ["multiscales"] if "multiscales" in node.attributes else []),
    )
    findings = []
    for convention, keys in used:
        if not keys or declares(node, convention):
            continue
        parent = hierarchy.parent(node)
        elsewhere = [other for other in (parent, hierarchy.node(""))
                     if other is not None and other is not node and declares(other, convention)]
        if elsewhere:
            which = "root" if not elsewhere[0].path else "parent"
            why = (f"the {which} group {elsewhere[0].display} declares it, but each node using "
                   f"the keys should declare it too (GDAL stops looking at the first node with "
                   f"a zarr_conventions)")
        else:
            why = ("readers that recognise conventions by UUID (GDAL, OpenLayers) ignore them")
        findings.append(finding(
            f"{convention.name.upper()}-UNDECLARED", node.attribute_key(keys[0]),
            f"{', '.join(keys)} used without a {convention.name} entry (uuid "
            f"{convention.uuid}) in this node's zarr_conventions; {why}"))
    return findings


def _check_proj_keys(node: Node) -> list[Finding]:
    attrs = node.attributes
    findings: list[Finding] = []
    for key in _proj_keys_of(attrs):
        if key in _PROJ_KEYS:
            continue
        if key in _PROJ_LEGACY or key in ("geo.proj", "geo:proj"):
            replacement = _PROJ_LEGACY.get(key, "top-level proj:/spatial: keys")
            findings.append(finding("PROJ-LEGACY-KEY", node.attribute_key(key.split(".")[0]),
                                    f"{key} predates proj v0.1 and v0.1 readers ignore it; "
                                    f"write {replacement}"))
        else:
            findings.append(finding("PROJ-UNKNOWN-KEY", node.attribute_key(key),
                                    f"{key} is not a proj v0.1 key (proj:code, proj:wkt2, "
                                    f"proj:projjson); a typo?"))
    present = {key: attrs[key] for key in _PROJ_KEYS if attrs.get(key) is not None}
    if not present:
        if declares(node, PROJ) and not any(key in attrs for key in _PROJ_KEYS):
            findings.append(finding(
                "PROJ-MISSING", node.attribute_key("zarr_conventions"),
                "declares proj but has none of proj:code, proj:wkt2 and proj:projjson; give at "
                "least one (null when the data has no CRS)"))
        return findings
    crs: dict[str, pyproj.CRS] = {}
    for key, value in present.items():
        parsed = _parse_crs(node, key, value, findings)
        if parsed is not None:
            crs[key] = parsed
    findings.extend(_compare_representations(node, crs))
    if list(present) == ["proj:code"] and "proj:code" in crs:
        findings.append(finding(
            "PROJ-CODE-ONLY", node.attribute_key("proj:code"),
            "proj:code is the only representation; the convention recommends always writing "
            "proj:wkt2 as well, so that readers without this authority's database still get "
            "the CRS"))
    return findings


def _parse_crs(node: Node, key: str, value: Any, findings: list[Finding]) -> pyproj.CRS | None:
    where = node.attribute_key(key)
    if key == "proj:code":
        if not isinstance(value, str) or not _CODE_PATTERN.fullmatch(value):
            findings.append(finding("PROJ-CODE-PATTERN", where,
                                    f"{value!r} is not an AUTHORITY:CODE string such as "
                                    f"\"EPSG:4326\" (pattern ^[^:]+:[^:]+$)"))
            return None
        if not _DRAFT_CODE_PATTERN.fullmatch(value):
            findings.append(finding("PROJ-CODE-DRAFT-PATTERN", where,
                                    f"{value!r} is valid in v0.1 but fails the draft pattern "
                                    f"^[A-Z]+:[0-9]+$ that tools validating against the draft "
                                    f"schema still use"))
        return _build(lambda: pyproj.CRS.from_user_input(value), "PROJ-CODE-UNKNOWN", where,
                      f"PROJ does not know {value!r}", findings)
    if key == "proj:wkt2":
        if not isinstance(value, str) or not value.strip():
            findings.append(finding("PROJ-WKT2-INVALID", where,
                                    f"{_short(value)} is not WKT2 text"))
            return None
        if value.lstrip().upper().startswith(_WKT1_ROOTS):
            findings.append(finding("PROJ-WKT2-IS-WKT1", where,
                                    f"{_short(value)} is WKT1, not WKT2 (ISO 19162): WKT1 cannot "
                                    f"express every datum and axis; write WKT2:2019"))
        return _build(lambda: pyproj.CRS.from_wkt(value), "PROJ-WKT2-INVALID", where,
                      f"{_short(value)} is not WKT PROJ can read", findings)
    if isinstance(value, str):
        findings.append(finding("PROJ-PROJJSON-INVALID", where,
                                "is a string; proj:projjson must be the PROJJSON object itself, "
                                "not JSON text"))
        return None
    if not isinstance(value, Mapping):
        findings.append(finding("PROJ-PROJJSON-INVALID", where,
                                f"{_short(value)} is not a PROJJSON object"))
        return None
    return _build(lambda: pyproj.CRS.from_json(json.dumps(value)), "PROJ-PROJJSON-INVALID",
                  where, f"{_short(value)} is not PROJJSON PROJ can read", findings)


def _build(make: Any, code: str, where: str, message: str,
           findings: list[Finding]) -> pyproj.CRS | None:
    try:
        return make()
    except (CRSError, TypeError, ValueError) as error:
        findings.append(finding(code, where, f"{message}: {error}"))
        return None


def _compare_representations(node: Node, crs: Mapping[str, pyproj.CRS]) -> list[Finding]:
    """Every representation against the one readers must prefer (wkt2 > projjson > code)."""
    order = [key for key in ("proj:wkt2", "proj:projjson", "proj:code") if key in crs]
    if len(order) < 2:
        return []
    winner = order[0]
    findings = []
    for key in order[1:]:
        if not crs[key].equals(crs[winner], ignore_axis_order=True):
            findings.append(finding(
                "PROJ-CRS-DISAGREE", node.attribute_key(key),
                f"{key} ({_describe(crs[key])}) and {winner} ({_describe(crs[winner])}) name "
                f"different CRSs; the convention makes {winner} win, but GDAL reads proj:code "
                f"first, so tools disagree on where the data is"))
    return findings


def _check_inheritance(hierarchy: Hierarchy, node: Node) -> list[Finding]:
    """Group-level proj/spatial keys reach direct child arrays only."""
    if node.kind != "group" or "multiscales" in node.attributes:
        return []
    keys = [key for key in node.attributes if isinstance(key, str)
            and (key in _PROJ_KEYS or key.startswith("spatial:"))
            and node.attributes[key] is not None]
    if not keys:
        return []
    rasters = [found for found in hierarchy.descendants(node.path)
               if found.kind == "array" and len(found.shape or ()) >= 2]
    direct = [found for found in rasters if hierarchy.parent(found) is node]
    if direct or not rasters:
        return []
    return [finding(
        "GROUP-KEYS-NOT-INHERITED", node.attribute_key(keys[0]),
        f"{', '.join(keys)} apply to the group's direct child arrays only, and it has none; "
        f"arrays deeper ({rasters[0].display}...) do not get them: put the keys on the "
        f"arrays' own group")]


def _describe(crs: pyproj.CRS) -> str:
    code = crs.to_authority(min_confidence=70)
    return f"{code[0]}:{code[1]}" if code else crs.name


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
