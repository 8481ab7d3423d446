"""A store held in a dict: for tests, scratch arrays and building a hierarchy before saving it.

Keys are validated exactly as on disk, so a hierarchy built in memory can be copied to a
directory or zip store unchanged. Reads take no lock (a dict lookup is atomic); writes and
listings share one lock so that a listing never sees the dict change size under it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping

from geozarr.storage.base import ReopenSpec, Store
from geozarr.storage.keys import validate_key, validate_prefix


def _as_bytes(value: bytes) -> bytes:
    """``value`` as immutable bytes (a copy of a bytearray, memoryview or ndarray)."""
    return value if isinstance(value, bytes) else memoryview(value).tobytes()


class MemoryStore(Store):
    """Bytes by key in a dict.

    Parameters
    ----------
    data
        Initial contents; keys are validated and values copied to bytes.
    read_only
        Refuse every write with ``ReadOnlyError``.
    """

    def __init__(
        self, data: Mapping[str, bytes] | None = None, *, read_only: bool = False
    ) -> None:
        super().__init__(read_only=read_only)
        self._lock = threading.Lock()
        self._data: dict[str, bytes] = {
            validate_key(key): _as_bytes(value) for key, value in (data or {}).items()
        }

    def __repr__(self) -> str:
        state = ", read_only=True" if self.read_only else ""
        return f"<MemoryStore with {len(self._data)} keys{state} at {id(self):#x}>"

    def reopen_spec(self) -> ReopenSpec:
        """Pickled with a snapshot of its data: the copy a worker gets is independent, and
        writes to it are not seen here."""
        with self._lock:
            data = dict(self._data)
        return ReopenSpec(MemoryStore, (data,), {"read_only": self.read_only})

    def get(self, key: str) -> bytes | None:
        """The value at ``key``, or None."""
        return self._data.get(validate_key(key))

    def exists(self, key: str) -> bool:
        """Whether ``key`` holds a value."""
        return validate_key(key) in self._data

    def list_prefix(self, prefix: str) -> Iterator[str]:
        """Every key starting with ``prefix`` (a snapshot taken when called)."""
        validate_prefix(prefix)
        with self._lock:
            keys = [key for key in self._data if key.startswith(prefix)]
        return iter(keys)

    def _set(self, key: str, value: bytes) -> None:
        data = _as_bytes(value)
        with self._lock:
            self._data[validate_key(key)] = data

    def _delete(self, key: str) -> None:
        with self._lock:
            self._data.pop(validate_key(key), None)
