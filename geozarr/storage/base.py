"""The store interface: bytes by key, and byte ranges of a key.

A store maps "/"-separated relative keys (``"temperature/zarr.json"``,
``"temperature/c/0/1"``) to bytes. It knows nothing of Zarr. The only primitive a fast
reader needs beyond ``get`` is "these byte ranges of this key", so that a sharded array can
read its index and then only the inner chunks it needs. Remote stores (HTTP, object
storage) implement the same few methods and plug in without touching the rest.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from geozarr.errors import ReadOnlyError


@dataclass(frozen=True, slots=True)
class ByteRange:
    """A byte range of one stored value.

    ``start >= 0`` with ``length`` None reads from ``start`` to the end; ``start >= 0`` with a
    ``length`` reads ``length`` bytes; ``start < 0`` (with ``length`` None) reads the last
    ``-start`` bytes (a suffix, used for a shard index stored at the end).
    """

    start: int
    length: int | None = None

    @classmethod
    def suffix(cls, nbytes: int) -> ByteRange:
        """The last ``nbytes`` bytes."""
        return cls(-nbytes, None)

    def slice_of(self, size: int) -> slice:
        """This range as a slice into a value of ``size`` bytes (clamped as Python slices are)."""
        if self.start < 0:
            return slice(max(size + self.start, 0), size)
        end = size if self.length is None else self.start + self.length
        return slice(self.start, min(end, size))


@dataclass(frozen=True)
class ReopenSpec:
    """How to open a store again in another process: ``factory(*args, **kwargs)``.

    A store pickles as this description rather than as its state, so that no open file,
    socket or lock crosses a pickle (dask ships arrays to its workers this way).
    """

    factory: Callable[..., Store]
    args: tuple[Any, ...] = ()
    kwargs: Mapping[str, Any] = field(default_factory=dict)


class Store(ABC):
    """Bytes by key. Subclasses implement the abstract methods; writes are atomic per key."""

    #: Requests worth keeping in flight at once. None means "as many as there are decode
    #: threads", right for local stores; network stores set more, since their requests wait
    #: on latency rather than on a CPU.
    concurrency: int | None = None

    def __init__(self, *, read_only: bool = False) -> None:
        self.read_only = read_only

    # -- reading ------------------------------------------------------------------------
    @abstractmethod
    def get(self, key: str) -> bytes | None:
        """The whole value stored at ``key``, or None when there is none."""

    def get_ranges(self, key: str, ranges: Sequence[ByteRange]) -> list[bytes] | None:
        """The bytes of each range of ``key``, in order, or None when the key is missing.

        A range that runs past the end of the value is clamped (as a slice is); callers that
        need an exact length check it. The default reads the whole value once; stores that can
        read part of a value (files, HTTP, object storage) override it.
        """
        value = self.get(key)
        if value is None:
            return None
        view = memoryview(value)
        return [bytes(view[r.slice_of(len(value))]) for r in ranges]

    def exists(self, key: str) -> bool:
        """Whether a value is stored at ``key``."""
        return self.get(key) is not None

    @abstractmethod
    def list_prefix(self, prefix: str) -> Iterator[str]:
        """Every key that starts with ``prefix`` (a "" prefix lists the whole store)."""

    def list_dir(self, prefix: str) -> tuple[list[str], list[str]]:
        """The immediate children of ``prefix`` (a folder-like key ending in "/" or ""):
        (names of values directly under it, names of sub-prefixes), each sorted."""
        if prefix and not prefix.endswith("/"):
            prefix += "/"
        values: set[str] = set()
        folders: set[str] = set()
        for key in self.list_prefix(prefix):
            head, sep, _ = key[len(prefix):].partition("/")
            (folders if sep else values).add(head)
        return sorted(values), sorted(folders)

    # -- writing ------------------------------------------------------------------------
    @abstractmethod
    def _set(self, key: str, value: bytes) -> None:
        """Store ``value`` at ``key`` atomically (readers see the old or the new value)."""

    @abstractmethod
    def _delete(self, key: str) -> None:
        """Remove ``key``; a missing key is not an error."""

    def set(self, key: str, value: bytes) -> None:
        """Store ``value`` at ``key`` atomically; refused on a read-only store."""
        self._check_writable(key)
        self._set(key, value)

    def delete(self, key: str) -> None:
        """Remove ``key`` (a missing key is not an error); refused on a read-only store."""
        self._check_writable(key)
        self._delete(key)

    def delete_prefix(self, prefix: str) -> None:
        """Remove every key under ``prefix`` (used when a node is overwritten)."""
        self._check_writable(prefix)
        for key in list(self.list_prefix(prefix)):
            self._delete(key)

    def _check_writable(self, key: str) -> None:
        if self.read_only:
            raise ReadOnlyError(f"{self!r} is open read-only: cannot write {key!r}")

    # -- pickling -----------------------------------------------------------------------
    def reopen_spec(self) -> ReopenSpec | None:
        """How to open this store again elsewhere; None (the default) pickles the store's
        state as Python does. Stores holding files, connections or locks override this, or
        raise ``StoreError`` when they cannot be reopened (a zip archive being written)."""
        return None

    def __reduce_ex__(self, protocol: Any) -> Any:
        spec = self.reopen_spec()
        if spec is None:
            return super().__reduce_ex__(protocol)
        return partial(spec.factory, **spec.kwargs), spec.args

    # -- life cycle ---------------------------------------------------------------------
    def close(self) -> None:
        """Release files or connections. The base store holds none."""

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
