"""A small cache in front of a remote store: metadata documents and shard indexes.

Over a network every read is a round trip, and some reads repeat:

* Opening one band of a large hierarchy reads the same few JSON documents more than once (a
  group's ``zarr.json`` to find the group, again to look up a ``grid_mapping`` variable; a
  missing ``zarr.json`` before ``.zarray``...). :class:`CachingStore` remembers the metadata
  documents it has read, and the keys it found missing.
* Reading a window of a sharded array reads each shard's index (a suffix of the shard, the
  index at its end: zarr-python's, GDAL's and tensorstore's default) before the inner chunks
  it needs; the next window in the same shard needs the same index. On a read-only store,
  suffix reads of at most :data:`INDEX_LIMIT` bytes are remembered, so later windows cost
  one round trip instead of two.

Chunks and other ranges are never cached: they are large, and the core fetches each at most
once per read. Entries live as long as the store is open, least recently used out first.
Writes through the store keep the metadata entries right (a write or delete replaces the
entry). Changes made by someone else after an entry was cached are not seen: reopen the
store to see them, as with consolidated metadata. (A shard rewritten in place while a
read-only store has its index cached could be read at stale offsets, which is why shard
indexes are cached only when the store is read-only.)
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator, Sequence

from geozarr.storage.base import ByteRange, ReopenSpec, Store

#: The names of the metadata documents of Zarr v2 and v3.
METADATA_NAMES = frozenset({"zarr.json", ".zarray", ".zgroup", ".zattrs", ".zmetadata"})
#: The largest suffix read cached as a shard index (an index takes 16 bytes per inner chunk
#: and a checksum: 64 KiB covers 4096 inner chunks per shard).
INDEX_LIMIT = 64 * 1024
_ABSENT = object()


def is_metadata_key(key: str) -> bool:
    """Whether ``key`` names a Zarr metadata document (its last segment is one of
    :data:`METADATA_NAMES`)."""
    return key.rpartition("/")[2] in METADATA_NAMES


class CachingStore(Store):
    """``store`` with its metadata documents (and their absence) cached, and its shard
    indexes when it is read-only.

    Parameters
    ----------
    store
        The store to read and write through; it is closed with this one.
    max_entries
        Entries remembered at most (documents, missing keys, shard indexes); the least
        recently used go first.
    """

    def __init__(self, store: Store, *, max_entries: int = 1024) -> None:
        super().__init__(read_only=store.read_only)
        self.inner = store
        self.concurrency = store.concurrency
        self._max_entries = max_entries
        self._entries: OrderedDict[str, object] = OrderedDict()
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return repr(self.inner)

    def reopen_spec(self) -> ReopenSpec:
        """Pickled as the store it wraps (reopened by its own spec), with an empty cache."""
        return ReopenSpec(CachingStore, (self.inner,), {"max_entries": self._max_entries})

    # -- reading ------------------------------------------------------------------------
    def get(self, key: str) -> bytes | None:
        """The value at ``key``; metadata documents come from the cache after the first read."""
        if not is_metadata_key(key):
            return self.inner.get(key)
        with self._lock:
            cached = self._entries.get(key)
            if cached is not None:
                self._entries.move_to_end(key)
                return None if cached is _ABSENT else cached  # type: ignore[return-value]
        value = self.inner.get(key)
        self._remember(key, value)
        return value

    def get_ranges(self, key: str, ranges: Sequence[ByteRange]) -> list[bytes] | None:
        """Byte ranges of ``key``; a lone suffix of at most :data:`INDEX_LIMIT` bytes (a shard
        index) comes from the cache after the first read when the store is read-only."""
        if not (self.read_only and len(ranges) == 1 and ranges[0].start < 0
                and -ranges[0].start <= INDEX_LIMIT):
            return self.inner.get_ranges(key, ranges)
        entry = f"{key}\x00{ranges[0].start}"  # "\x00" never occurs in a valid key
        with self._lock:
            cached = self._entries.get(entry)
            if cached is not None:
                self._entries.move_to_end(entry)
                return None if cached is _ABSENT else [cached]  # type: ignore[list-item]
        parts = self.inner.get_ranges(key, ranges)
        self._remember(entry, None if parts is None else parts[0])
        return parts

    def exists(self, key: str) -> bool:
        if is_metadata_key(key):
            return self.get(key) is not None
        return self.inner.exists(key)

    def list_prefix(self, prefix: str) -> Iterator[str]:
        return self.inner.list_prefix(prefix)

    def list_dir(self, prefix: str) -> tuple[list[str], list[str]]:
        return self.inner.list_dir(prefix)

    def cached_keys(self) -> list[str]:
        """The keys cached now, least recent first (a shard index shows as
        ``"<key>\\x00-<nbytes>"``)."""
        with self._lock:
            return list(self._entries)

    def _remember(self, key: str, value: bytes | None) -> None:
        with self._lock:
            self._entries[key] = _ABSENT if value is None else value
            self._entries.move_to_end(key)
            while len(self._entries) > self._max_entries:
                self._entries.popitem(last=False)

    def _forget(self, prefix: str) -> None:
        with self._lock:
            for key in [k for k in self._entries if k.startswith(prefix)]:
                del self._entries[key]

    # -- writing ------------------------------------------------------------------------
    def _set(self, key: str, value: bytes) -> None:
        self.inner.set(key, value)
        if is_metadata_key(key):
            self._remember(key, bytes(value))

    def _delete(self, key: str) -> None:
        self.inner.delete(key)
        if is_metadata_key(key):
            self._remember(key, None)

    def delete_prefix(self, prefix: str) -> None:
        self._check_writable(prefix)
        self.inner.delete_prefix(prefix)
        self._forget(prefix)

    # -- life cycle ---------------------------------------------------------------------
    def close(self) -> None:
        """Close the inner store and drop the cache."""
        with self._lock:
            self._entries.clear()
        self.inner.close()
