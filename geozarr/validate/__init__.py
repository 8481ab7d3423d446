"""Validation of a store against the Zarr specifications and the GeoZarr conventions.

::

    from geozarr.validate import validate
    report = validate("data.zarr")
    report.failed(), [found.line() for found in report.findings]

Every problem becomes a :class:`Finding` with a stable code (the catalogue is
:data:`CODES`, documented in ``docs/validate.md``) and the key at fault. The checks, in the
order they run: the Zarr layer (:mod:`~geozarr.validate.zarr_checks`: every document parses,
the codecs build, the hierarchy holds together), the chunks
(:mod:`~geozarr.validate.chunk_checks`: every key is a chunk of its array; with
``chunks=True`` every chunk decodes), consolidated metadata
(:mod:`~geozarr.validate.consolidated_checks`), the conventions framework and ``proj``
(:mod:`~geozarr.validate.convention_checks`), ``spatial``
(:mod:`~geozarr.validate.spatial_checks`), ``multiscales``
(:mod:`~geozarr.validate.multiscales_checks`), and the georeferencing readers resolve
(:mod:`~geozarr.validate.georef_checks`).
"""

from __future__ import annotations

import os

from geozarr.storage import Store, open_store
from geozarr.validate.chunk_checks import check_chunk_keys, decode_chunks
from geozarr.validate.codes import CODES, Code
from geozarr.validate.consolidated_checks import check_consolidated
from geozarr.validate.convention_checks import check_conventions
from geozarr.validate.georef_checks import check_georeferencing
from geozarr.validate.hierarchy import Hierarchy, Node
from geozarr.validate.multiscales_checks import check_multiscales
from geozarr.validate.report import Finding, Report, sort_findings
from geozarr.validate.spatial_checks import check_spatial
from geozarr.validate.zarr_checks import scan

__all__ = ["CODES", "Code", "Finding", "Report", "validate"]


def validate(target: str | os.PathLike[str] | Store, *, chunks: bool = False) -> Report:
    """Check a store against Zarr v2/v3 and the ``proj``, ``spatial`` and ``multiscales``
    conventions.

    Parameters
    ----------
    target
        A path (directory or ``.zip``), a URL :func:`geozarr.storage.open_store` opens, or a
        :class:`~geozarr.storage.Store`. Only read.
    chunks
        Also read every stored chunk through its codecs, reporting corrupt ones (reads all
        the data; off by default).

    Returns
    -------
    Report
        Every finding; ``report.failed()`` says whether any is an error.

    Raises
    ------
    GeoZarrError
        Only when ``target`` cannot be opened at all (``NodeNotFoundError`` for a missing
        path, ``StoreError`` for an unknown URL scheme...); problems inside the store are
        findings.
    """
    store = open_store(target, mode="r")
    name = os.fspath(target) if not isinstance(target, Store) else repr(target)
    try:
        hierarchy, findings = scan(store)
        chunk_findings, stored = check_chunk_keys(hierarchy)
        findings.extend(chunk_findings)
        if chunks:
            findings.extend(decode_chunks(hierarchy, stored))
        findings.extend(check_consolidated(hierarchy))
        conventions = [*check_conventions(hierarchy), *check_spatial(hierarchy),
                       *check_multiscales(hierarchy)]
        findings.extend(conventions)
        findings.extend(check_georeferencing(hierarchy, _already_broken(hierarchy, findings)))
    finally:
        if not isinstance(target, Store):
            store.close()
    unique = list(dict.fromkeys(findings))
    return Report(name, sort_findings(unique), chunks_checked=chunks)


def _already_broken(hierarchy: Hierarchy, findings: list[Finding]) -> frozenset[str]:
    """Paths of the arrays whose georeferencing is not worth resolving: an error in their own
    documents or their group's (the resolvers would only report it again), or a Zarr-layer
    warning about their own documents."""
    errors = {found.key.split("#", 1)[0] for found in findings if found.severity == "error"}
    zarr_warnings = {found.key.split("#", 1)[0] for found in findings
                     if found.severity == "warning" and found.code.startswith("ZARR-")}

    def has(node: Node | None, documents: set[str]) -> bool:
        return node is not None and (node.document_key in documents
                                     or node.attributes_key in documents)

    return frozenset(node.path for node in hierarchy.arrays()
                     if has(node, errors) or has(node, zarr_warnings)
                     or has(hierarchy.parent(node), errors))
