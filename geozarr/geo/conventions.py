"""Which Zarr conventions a node declares, and the attributes that belong to each.

The GeoZarr conventions (``proj``, ``spatial``, ``multiscales``) are registered per node in a
``zarr_conventions`` attribute. Their identity is the UUID: the names and URLs in circulation
disagree (``"proj:"`` or ``"proj"``, ``zarr-experimental/geo-proj`` or ``zarr-conventions/proj``,
a ``refs/tags/v1`` that never existed...), so a declaration is matched by UUID first, then by
a known schema or spec URL, then by a known name. The pre-2025 draft form, an object keyed by
UUID, is read as well.

Convention keys are read even when nobody declares the convention (GDAL reads ``proj:wkt2``
undeclared, xpublish-tiles and others never check): the resolvers call :func:`warn_undeclared`
when such keys decide a result.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Mapping
from typing import Any

from geozarr.errors import GeoreferencingWarning

PROJ_UUID = "f17cb550-5864-4468-aeb7-f3180cfb622f"
SPATIAL_UUID = "689b58e2-cf7b-45e0-9fff-9cfc0883d6b4"
MULTISCALES_UUID = "d35379db-88df-4056-af3a-620245f8e347"

_NAMES = {PROJ_UUID: "proj", SPATIAL_UUID: "spatial", MULTISCALES_UUID: "multiscales"}

# Repository names under github.com/zarr-conventions or zarr-experimental (and their
# raw.githubusercontent.com twins), whatever the tag, branch or commit that follows.
_URL_REPO = re.compile(r"zarr-(?:conventions|experimental)/(geo-proj|proj|spatial|multiscales)/")
_BY_REPO = {"geo-proj": PROJ_UUID, "proj": PROJ_UUID, "spatial": SPATIAL_UUID,
            "multiscales": MULTISCALES_UUID}
_BY_NAME = {"proj": PROJ_UUID, "proj:": PROJ_UUID, "geo-proj": PROJ_UUID, "geo:proj": PROJ_UUID,
            "spatial": SPATIAL_UUID, "spatial:": SPATIAL_UUID,
            "multiscales": MULTISCALES_UUID}
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def declared_conventions(attrs: Mapping[str, Any]) -> frozenset[str]:
    """The UUIDs (lower case) of the conventions a node's attributes declare.

    Parameters
    ----------
    attrs
        The attributes of one array or group.

    Returns
    -------
    frozenset of str
        Every UUID found, unknown ones included. A convention metadata object without a UUID
        counts when its ``schema_url`` or ``spec_url`` points into a known convention
        repository, or its ``name`` is a known name (``"proj:"``, ``"spatial"``...). Entries
        that match nothing, and a ``zarr_conventions`` of the wrong type, are ignored.
    """
    raw = attrs.get("zarr_conventions")
    if isinstance(raw, Mapping):  # pre-2025 draft: {uuid: {"name": ..., "schema": ...}}
        found = set()
        for key, value in raw.items():
            if isinstance(key, str) and _UUID.fullmatch(key):
                found.add(key.lower())
            elif isinstance(value, Mapping):
                found.update(_identify(value))
        return frozenset(found)
    if isinstance(raw, list):
        return frozenset(uuid for item in raw if isinstance(item, Mapping)
                         for uuid in _identify(item))
    return frozenset()


def is_declared(uuid: str, *nodes: Mapping[str, Any]) -> bool:
    """Whether any of ``nodes`` (attribute mappings) declares the convention ``uuid``.

    The resolvers pass the array, its parent group and the root: GDAL looks for the
    declaration up the hierarchy too, and writers put it on any of them.
    """
    return any(uuid in declared_conventions(node) for node in nodes)


def warn_undeclared(uuid: str, key: str, *nodes: Mapping[str, Any], path: str) -> None:
    """Warn (:class:`GeoreferencingWarning`) that ``key`` is used although none of ``nodes``
    declares its convention ``uuid``; do nothing when one does."""
    if not is_declared(uuid, *nodes):
        warnings.warn(
            f"{path}: {key!r} is used although no zarr_conventions entry declares the "
            f"{_NAMES.get(uuid, uuid)} convention (uuid {uuid})",
            GeoreferencingWarning, stacklevel=3)


def convention_keys(attrs: Mapping[str, Any], prefix: str) -> dict[str, Any]:
    """Every attribute of one convention, keyed with its prefix (``"proj:code"``...).

    Parameters
    ----------
    attrs
        The attributes of one array or group.
    prefix
        The convention's namespace, with or without the colon (``"proj"`` or ``"proj:"``).

    Returns
    -------
    dict
        The top-level ``<prefix>:*`` keys, plus the legacy nested forms the early drafts
        wrote, renamed to the flat keys: ``{"geo": {"proj": {"code": ...}}}`` (EOPF, the first
        geo-proj README) and ``{"geo:proj": {"code": ...}}`` (zarr-extensions proposal). A
        top-level key wins over its nested twin. Keys whose value is ``null`` are left out.
    """
    name = prefix.rstrip(":")
    colon = name + ":"
    found: dict[str, Any] = {}
    geo = attrs.get("geo")
    nested = [geo.get(name) if isinstance(geo, Mapping) else None, attrs.get(f"geo:{name}")]
    for block in nested:
        if isinstance(block, Mapping):
            for key, value in block.items():
                if isinstance(key, str) and key != "version" and value is not None:
                    found.setdefault(colon + key, value)
    for key, value in attrs.items():
        if isinstance(key, str) and key.startswith(colon) and value is not None:
            found[key] = value
    return found


def _identify(cmo: Mapping[str, Any]) -> set[str]:
    """The UUID a convention metadata object stands for (empty when it matches nothing)."""
    uuid = cmo.get("uuid")
    if isinstance(uuid, str) and _UUID.fullmatch(uuid.strip()):
        return {uuid.strip().lower()}
    for member in ("schema_url", "spec_url", "schema", "spec"):
        url = cmo.get(member)
        if isinstance(url, str) and (match := _URL_REPO.search(url)):
            return {_BY_REPO[match.group(1)]}
    name = cmo.get("name")
    if isinstance(name, str) and name.strip().lower() in _BY_NAME:
        return {_BY_NAME[name.strip().lower()]}
    return set()
