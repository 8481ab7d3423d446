"""Stores: bytes by key, and byte ranges of a key.

:func:`open_store` turns what a user passes (a path, a ``scheme://`` URL, a GDAL virtual
path such as ``/vsicurl/https://...`` or ``/vsis3/bucket/key``, or a store) into a
:class:`Store`. Remote schemes plug into ``_SCHEMES``: ``http``/``https``
(:class:`~geozarr.storage.http.HTTPStore`, read-only) and ``s3``/``gs``/``az`` and their
aliases (:class:`~geozarr.storage.object_store.ObjectStore`, needs ``geozarr[cloud]``). A
remote ``.zip`` is read in place by ranges; remote stores get a metadata cache.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any

from geozarr.errors import NodeNotFoundError, ReadOnlyError, StoreError
from geozarr.storage.base import ByteRange, Store
from geozarr.storage.cache import CachingStore
from geozarr.storage.keys import join_key, validate_key, validate_node_name, validate_prefix
from geozarr.storage.local import DirectoryStore
from geozarr.storage.memory import MemoryStore
from geozarr.storage.urls import parse_location, redact, split_http_url, split_object_url
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

Options = Mapping[str, Any]


def _open_memory(url: str, mode: str, options: Options, archive: bool) -> Store:
    if url != "memory://":
        raise StoreError(f"{url!r}: memory:// takes no path; each one opens a new, empty store")
    if options:
        raise StoreError("memory:// takes no storage_options")
    return MemoryStore()


#: The storage options an HTTP store takes (the keywords of ``HTTPStore``).
_HTTP_OPTIONS = ("headers", "timeout", "connect_timeout", "retries", "backoff", "max_backoff",
                 "concurrency", "verify")


def _open_http(url: str, mode: str, options: Options, archive: bool) -> Store:
    """A read-only HTTP store (or a zip archive read by ranges), with its cache."""
    from geozarr.storage.http import HTTPStore

    if mode != "r":
        raise ReadOnlyError(f"{redact(url)}: HTTP stores are read-only; open with mode 'r' "
                            f"(got {mode!r})")
    unknown = sorted(set(options) - set(_HTTP_OPTIONS))
    if unknown:
        raise StoreError(f"{redact(url)}: unknown storage option for HTTP {unknown[0]!r}; "
                         f"known are {', '.join(_HTTP_OPTIONS)}")
    if archive:
        from geozarr.storage.remote_zip import RemoteZipStore

        folder, name = split_http_url(url)
        return CachingStore(RemoteZipStore(HTTPStore(folder, **options), name))
    return CachingStore(HTTPStore(url, **options))


def _open_object(url: str, mode: str, options: Options, archive: bool) -> Store:
    """An object storage store (or a zip archive in it, read by ranges), with its cache."""
    from geozarr.storage.object_store import ObjectStore

    if archive:
        if mode != "r":
            raise StoreError(f"{redact(url)}: zip archives in object storage are read only "
                             f"(mode 'r', got {mode!r}); write a directory-style store")
        from geozarr.storage.remote_zip import RemoteZipStore

        folder, name = split_object_url(url)
        source = ObjectStore(folder, read_only=True, storage_options=options)
        return CachingStore(RemoteZipStore(source, name))
    return CachingStore(ObjectStore(url, read_only=mode == "r", storage_options=options))


#: URL scheme -> factory(url, mode, storage_options, is_zip_archive).
_SCHEMES: dict[str, Callable[[str, str, Options, bool], Store]] = {
    "memory": _open_memory,
    "http": _open_http,
    "https": _open_http,
    **{scheme: _open_object for scheme in ("s3", "s3a", "gs", "gcs", "az", "abfs", "abfss",
                                            "azure")},
}


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


def open_store(target: str | os.PathLike[str] | Store, *, mode: str = "r",
               storage_options: Options | None = None) -> Store:
    """The store for ``target``.

    Parameters
    ----------
    target
        A :class:`Store` (returned as it is); ``"memory://"`` (a new :class:`MemoryStore`);
        an ``http(s)://`` URL (a read-only :class:`~geozarr.storage.http.HTTPStore`); an
        ``s3://``, ``gs://`` or ``az://`` URL (an
        :class:`~geozarr.storage.object_store.ObjectStore`); GDAL's spelling of any of these
        (``/vsicurl/https://...``, ``/vsis3/bucket/key``, ``/vsigs/``, ``/vsiaz/``); a path or
        URL ending in ``.zip``, or wrapped in ``/vsizip/``, that is not a folder (a zip
        archive: a :class:`ZipStore` when local, read by ranges when remote); any other path
        (a :class:`DirectoryStore`). Remote stores cache their metadata documents.
    mode
        ``"r"`` read only; ``"r+"`` read-write, the store must exist; ``"a"``, ``"w"``,
        ``"w-"`` read-write, a directory is created when missing. A zip archive is read
        (``"r"``) or written anew (``"w"``, or ``"a"``/``"w-"`` when it does not exist yet);
        HTTP and remote zip archives are read only.
    storage_options
        Settings of a remote store: for HTTP ``headers``, ``timeout``, ``connect_timeout``,
        ``retries``, ``backoff``, ``max_backoff``, ``concurrency``, ``verify``; for object
        storage credentials and endpoint (``anon``, ``key``, ``secret``, ``endpoint_url``,
        ``region``... see :mod:`geozarr.storage.object_store`).

    Raises
    ------
    StoreError
        For an unknown mode, URL scheme (naming the supported ones) or storage option,
        storage options given for a local path or a store, or a zip archive that would have
        to be changed in place.
    ReadOnlyError
        For an HTTP URL opened with a mode other than ``"r"``.
    NodeNotFoundError
        When ``mode`` is ``"r"`` or ``"r+"`` and nothing exists at ``target``.
    """
    if mode not in MODES:
        raise StoreError(f"unknown store mode {mode!r} for {target!r}: use one of {MODES}")
    if isinstance(target, Store):
        if storage_options:
            raise StoreError(f"storage_options cannot apply to {target!r}, a store already "
                             "open; give them when opening it")
        return target
    location = parse_location(os.fsdecode(target))
    if location.scheme:
        factory = _SCHEMES.get(location.scheme)
        if factory is None:
            supported = ", ".join(f"{scheme}://" for scheme in sorted(_SCHEMES))
            raise StoreError(f"unsupported store URL {redact(location.url)!r}: supported are "
                             f"{supported} and local paths")
        return factory(location.url, mode, dict(storage_options or {}), location.archive)
    if storage_options:
        raise StoreError(f"storage_options apply to remote URLs, not to the local path "
                         f"{location.url!r}")
    if location.archive and not os.path.isdir(location.url):
        return _open_zip(location.url, mode)
    if mode == "r":
        return DirectoryStore(location.url, read_only=True)
    return DirectoryStore(location.url, create=mode != "r+")
