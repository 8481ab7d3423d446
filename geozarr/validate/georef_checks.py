"""Georeferencing as readers resolve it: every source of every data array, together.

The convention checks look at each key alone; this check runs the geo layer's resolvers
(:func:`geozarr.geo.georeference.resolve_georeference`, GDAL's order of precedence) over every
data array, so that georeferencing outside the conventions (GDAL's ``_CRS``, a CF
``grid_mapping`` and its ``GeoTransform``, coordinate arrays) is checked too, and so is the
agreement between sources: a ``_CRS`` and a ``proj:code`` naming different CRSs, a
``GeoTransform`` half the raster away from ``spatial:transform``.
"""

from __future__ import annotations

import warnings
from collections.abc import Collection

import rasterio

from geozarr.core.array import Array
from geozarr.core.hierarchy import open_node
from geozarr.errors import (
    GeoreferencingWarning,
    GeoZarrError,
    MetadataWarning,
    NotGeoreferencedWarning,
)
from geozarr.geo.georeference import resolve_georeference
from geozarr.geo.hierarchy import ContextBuilder, data_arrays
from geozarr.validate.codes import finding
from geozarr.validate.hierarchy import Hierarchy
from geozarr.validate.report import Finding


def check_georeferencing(hierarchy: Hierarchy, skip: Collection[str] = ()) -> list[Finding]:
    """Resolve the georeferencing of every data array as a reader would.

    Parameters
    ----------
    hierarchy
        The scanned store.
    skip
        Paths of arrays not to resolve: those whose convention keys (or their group's) are
        already reported as errors, which the resolvers would only report again.

    Returns
    -------
    list of Finding
        ``GEOREF-UNUSABLE`` where a reader fails, ``GEOREF-DISAGREE`` where two sources
        disagree, ``GEOREF-NONE`` for data arrays with no georeferencing, ``GEOREF-NOTE`` for
        other caveats of the geo layer. Nothing when the hierarchy does not open (the Zarr
        findings say why).
    """
    if "" not in hierarchy.nodes:
        return []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the scan reports metadata warnings already
        try:
            root = open_node(hierarchy.store, "r", use_consolidated=False)
            paths = (["/"] if isinstance(root, Array) and root.ndim >= 2
                     else [] if isinstance(root, Array) else data_arrays(root))
        except GeoZarrError:
            return []
    builder = ContextBuilder(root)
    findings: list[Finding] = []
    for path in paths:
        node_path = path.strip("/")
        node = hierarchy.node(node_path)
        if node_path in skip or node is None:
            continue
        key = node.attributes_key
        with warnings.catch_warnings(record=True) as caught, rasterio.Env():
            warnings.simplefilter("always")  # rasterio.Env: GDAL errors raise, never print
            try:
                resolve_georeference(builder.context(path))
            except GeoZarrError as error:
                findings.append(finding("GEOREF-UNUSABLE", key,
                                        f"{_without_path(str(error), path)} (readers fail to "
                                        f"georeference {node.display})"))
        for warning in caught:
            message = _without_path(str(warning.message), path)
            if issubclass(warning.category, NotGeoreferencedWarning):
                findings.append(finding("GEOREF-NONE", key, message))
            elif issubclass(warning.category, GeoreferencingWarning) \
                    and "disagrees with" in message:
                findings.append(finding("GEOREF-DISAGREE", key, message))
            elif issubclass(warning.category, MetadataWarning) \
                    and str(warning.message).startswith("/"):
                # The geo layer's own caveats name the array path; metadata parsing warnings
                # name a document key and are reported by the scan.
                findings.append(finding("GEOREF-NOTE", key, message))
    return findings


def _without_path(message: str, path: str) -> str:
    prefix = f"{path or '/'}: "
    return message[len(prefix):] if message.startswith(prefix) else message
