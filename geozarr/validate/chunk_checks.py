"""Chunks: every stored key belongs to an array's chunk grid, and (``--chunks``) decodes.

A key that is neither a metadata document nor a chunk key of the array it sits in is data no
reader will ever see: a chunk written with the other separator or key encoding (the array
then silently reads as fill values), a chunk left outside the grid after a resize, or a stray
file. Decoding every chunk finds what only reading can: truncated or corrupt chunks, bad
checksums, shards whose index points outside them.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Mapping
from dataclasses import dataclass

from geozarr.core.array import Array
from geozarr.errors import GeoZarrError, MetadataWarning, StoreError
from geozarr.metadata.v2 import ArrayMetadataV2
from geozarr.metadata.v3 import ArrayMetadataV3
from geozarr.validate.codes import finding
from geozarr.validate.hierarchy import METADATA_NAMES, Hierarchy, Node
from geozarr.validate.report import Finding
from geozarr.validate.zarr_checks import without_key

#: At most this many findings of one code are reported per node; one more says how many
#: were left out.
MAX_PER_NODE = 20

_INDEX = re.compile(r"0|[1-9][0-9]*")
_ENCODINGS = (("default", "/"), ("default", "."), ("v2", "."), ("v2", "/"))

ArrayMetadata = ArrayMetadataV2 | ArrayMetadataV3


@dataclass(frozen=True)
class StoredChunk:
    """A stored chunk: its key and its coordinates in the array's chunk grid."""

    key: str
    coords: tuple[int, ...]


def chunk_coords(relative: str, ndim: int, encoding: str, separator: str
                 ) -> tuple[int, ...] | None:
    """The chunk coordinates a key (relative to its array) stands for, or None.

    Parameters
    ----------
    relative
        The key below the array's path (``"c/0/1"``, ``"0.1"``).
    ndim
        The array's number of dimensions.
    encoding
        ``"default"`` (v3: ``c`` then the indices) or ``"v2"`` (the indices alone, as in
        every v2 array).
    separator
        ``"/"`` or ``"."``.
    """
    if encoding == "default":
        if ndim == 0:
            return () if relative == "c" else None
        head, sep, rest = relative.partition(separator)
        if head != "c" or not sep:
            return None
        parts = rest.split(separator)
    else:
        if ndim == 0:
            return () if relative == "0" else None
        parts = relative.split(separator)
    if len(parts) != ndim or not all(_INDEX.fullmatch(part) for part in parts):
        return None
    return tuple(int(part) for part in parts)


def declared_encoding(metadata: ArrayMetadata) -> tuple[str, str]:
    """The (key encoding, separator) an array's metadata declares."""
    if isinstance(metadata, ArrayMetadataV3):
        return metadata.chunk_key_encoding, str(metadata.separator)
    return "v2", metadata.dimension_separator


def check_chunk_keys(hierarchy: Hierarchy
                     ) -> tuple[list[Finding], dict[str, list[StoredChunk]]]:
    """Check that every key that is no metadata document is a chunk of the array it is in.

    Returns
    -------
    (list of Finding, dict)
        The findings, and the stored chunks of each array by array path (for decoding).
    """
    capped = _Capped()
    chunks: dict[str, list[StoredChunk]] = {}
    if not hierarchy.nodes:
        return [], chunks  # not a Zarr store at all: its keys are not worth listing
    for key in hierarchy.keys:
        folder, _, name = key.rpartition("/")
        if name in METADATA_NAMES:
            continue
        owner = _owner(hierarchy.nodes, folder)
        if owner is None or owner.kind == "group":
            where = f"the group /{owner.path}" if owner is not None else "no node"
            capped.add(owner.path if owner else "", finding(
                "ZARR-STRAY-KEY", key,
                f"belongs to no array (it lies in {where}); no reader sees it"))
            continue
        metadata = owner.metadata
        if owner.kind != "array" or not isinstance(metadata, (ArrayMetadataV2,
                                                              ArrayMetadataV3)):
            continue  # a broken node: its documents are reported already
        relative = key[len(owner.path) + 1:] if owner.path else key
        stored = _classify(owner, metadata, key, relative, capped)
        if stored is not None:
            chunks.setdefault(owner.path, []).append(stored)
    return capped.findings(), chunks


def decode_chunks(hierarchy: Hierarchy, chunks: Mapping[str, list[StoredChunk]]
                  ) -> list[Finding]:
    """Read every stored chunk through the array's codecs, reporting those that fail."""
    capped = _Capped()
    for path, stored in sorted(chunks.items()):
        node = hierarchy.nodes[path]
        metadata = node.metadata
        if not isinstance(metadata, (ArrayMetadataV2, ArrayMetadataV3)):
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", MetadataWarning)  # reported by the scan
            try:
                array = Array(hierarchy.store, path, metadata, dict(node.attributes),
                              read_only=True)
            except GeoZarrError:
                continue  # its codecs do not build: reported by the scan
            for chunk in stored:
                region = tuple(slice(index * size, min((index + 1) * size, extent))
                               for index, size, extent in
                               zip(chunk.coords, metadata.chunks, metadata.shape))
                try:
                    array.read(region)
                except StoreError as error:
                    capped.add(path, finding("ZARR-STORE-READ", chunk.key,
                                             f"cannot read it: {error}"))
                except GeoZarrError as error:
                    message = without_key(str(error), chunk.key)
                    message = without_key(message, f"chunk {chunk.key!r}")
                    capped.add(path, finding("ZARR-CHUNK-CORRUPT", chunk.key, message))
    return capped.findings()


def _owner(nodes: Mapping[str, Node], folder: str) -> Node | None:
    """The deepest node whose path holds ``folder`` (the folder of a key)."""
    path = folder
    while True:
        node = nodes.get(path)
        if node is not None:
            return node
        if not path:
            return None
        path = path.rpartition("/")[0]


def _classify(owner: Node, metadata: ArrayMetadata, key: str, relative: str,
              capped: _Capped) -> StoredChunk | None:
    """The stored chunk ``key`` is, or None with a finding when it is not a chunk key."""
    ndim = len(metadata.shape)
    encoding, separator = declared_encoding(metadata)
    coords = chunk_coords(relative, ndim, encoding, separator)
    if coords is None:
        alternatives = [(other, sep) for other, sep in _ENCODINGS
                        if (other, sep) != (encoding, separator)
                        and (metadata.zarr_format == 3 or other == "v2")
                        and chunk_coords(relative, ndim, other, sep) is not None]
        if alternatives:
            other, sep = alternatives[0]
            capped.add(owner.path, finding(
                "ZARR-CHUNK-KEY-ENCODING", key,
                f"a chunk key of the {other!r} encoding with separator {sep!r}, but /"
                f"{owner.path} declares {encoding!r} with {separator!r}: readers look for "
                f"{metadata.chunk_key(tuple(0 for _ in range(ndim)))!r}-style keys, miss "
                f"this chunk and read fill values instead"))
        else:
            capped.add(owner.path, finding(
                "ZARR-CHUNK-KEY-INVALID", key,
                f"{relative!r} is not a chunk key of /{owner.path} ({encoding!r} encoding, "
                f"separator {separator!r}, {ndim} dimensions); no reader sees it"))
        return None
    grid = metadata.chunk_grid_shape
    if any(index >= count for index, count in zip(coords, grid)):
        capped.add(owner.path, finding(
            "ZARR-CHUNK-OUT-OF-GRID", key,
            f"chunk {list(coords)} lies outside the chunk grid {list(grid)} of /{owner.path} "
            f"(shape {list(metadata.shape)}); a leftover of a resize that readers ignore"))
        return None
    return StoredChunk(key, coords)


class _Capped:
    """Findings, at most :data:`MAX_PER_NODE` of each code per node, then a count."""

    def __init__(self) -> None:
        self._kept: list[Finding] = []
        self._counts: dict[tuple[str, str], int] = {}
        self._first: dict[tuple[str, str], Finding] = {}

    def add(self, node_path: str, found: Finding) -> None:
        slot = (node_path, found.code)
        count = self._counts.get(slot, 0) + 1
        self._counts[slot] = count
        self._first.setdefault(slot, found)
        if count <= MAX_PER_NODE:
            self._kept.append(found)

    def findings(self) -> list[Finding]:
        extra = []
        for (node_path, code), count in self._counts.items():
            if count > MAX_PER_NODE:
                extra.append(finding(code, f"{node_path}/" if node_path else "/",
                                     f"{count - MAX_PER_NODE} more keys like "
                                     f"{self._first[(node_path, code)].key!r} left out"))
        return self._kept + extra
