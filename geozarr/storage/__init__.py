"""Stores: bytes by key, and byte ranges of a key.

:func:`open_store` turns what a user passes (a path, a ``scheme://`` URL or a store) into a
:class:`Store`. Remote schemes plug into ``_SCHEMES`` without touching anything else.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable

from geozarr.errors import NodeNotFoundError, StoreError
from geozarr.storage.base import ByteRange, Store
from geozarr.storage.keys import join_key, validate_key, validate_node_name, validate_prefix
from geozarr.storage.local import DirectoryStore
from geozarr.storage.memory import MemoryStore
from geozarr.storage.zip import ZipStore

__all__ = [
    "ByteRange",
    "DirectoryStore",
    "MemoryStore",
    "Store",
    "ZipStore",
    "join_key",
    "open_store",
    "validate_key",
    "validate_node_name",
    "validate_prefix",
]

#: The modes of :func:`open_store`, as in zarr: read; read-write an existing store;
#: read-write, creating if needed; and create (the node layer decides about overwriting).
MODES = ("r", "r+", "a", "w", "w-")

_URL = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*)://")


def _open_memory(url: str, mode: str) -> Store:
    if url != "memory://":
        raise StoreError(f"{url!r}: memory:// takes no path; each one opens a new, empty store")
    return MemoryStore()


#: URL scheme -> factory(url, mode). HTTP and object storage register here.
_SCHEMES: dict[str, Callable[[str, str], Store]] = {"memory": _open_memory}


def _open_zip(path: str, mode: str) -> ZipStore:
    """A zip store for ``mode``: archives are read, or written whole; never changed in place."""
    if mode == "r":
        return ZipStore(path, mode="r")
    if mode == "w":
        return ZipStore(path, mode="w")
    if os.path.exists(path):
        raise StoreError(
            f"cannot open zip archive {path} with mode {mode!r}: zip archives cannot be "
            "changed in place; read it with 'r' or replace it with 'w'"
        )
    if mode == "r+":
        raise NodeNotFoundError(f"no zip archive at {path} (mode 'r+' needs one)")
    return ZipStore(path, mode="w")


def open_store(target: str | os.PathLike[str] | Store, *, mode: str = "r") -> Store:
    """The store for ``target``.

    Parameters
    ----------
    target
        A :class:`Store` (returned as it is); ``"memory://"`` (a new :class:`MemoryStore`);
        a path ending in ``.zip`` that is not a folder (a :class:`ZipStore`); any other path
        (a :class:`DirectoryStore`).
    mode
        ``"r"`` read only; ``"r+"`` read-write, the store must exist; ``"a"``, ``"w"``,
        ``"w-"`` read-write, a directory is created when missing. A zip archive is read
        (``"r"``) or written anew (``"w"``, or ``"a"``/``"w-"`` when it does not exist yet).

    Raises
    ------
    StoreError
        For an unknown mode or URL scheme (naming the supported ones), or a zip archive
        that would have to be changed in place.
    NodeNotFoundError
        When ``mode`` is ``"r"`` or ``"r+"`` and nothing exists at ``target``.
    """
    if mode not in MODES:
        raise StoreError(f"unknown store mode {mode!r} for {target!r}: use one of {MODES}")
    if isinstance(target, Store):
        return target
    location = os.fsdecode(target)
    url = _URL.match(location)
    if url is not None:
        factory = _SCHEMES.get(url[1].lower())
        if factory is None:
            supported = ", ".join(f"{scheme}://" for scheme in sorted(_SCHEMES))
            raise StoreError(
                f"unsupported store URL {location!r}: supported are {supported} and local paths"
            )
        return factory(location, mode)
    if location.lower().endswith(".zip") and not os.path.isdir(location):
        return _open_zip(location, mode)
    if mode == "r":
        return DirectoryStore(location, read_only=True)
    return DirectoryStore(location, create=mode != "r+")
