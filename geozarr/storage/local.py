"""A store that keeps each key as a file under a root directory.

The key ``"temperature/c/0/1"`` is the file ``<root>/temperature/c/0/1``. Reads are one
``open`` and one read (no ``exists`` check first: this is the hot path); byte ranges are one
``pread`` each on a single open file. A write goes to a hidden temporary file in the target's
own directory and is renamed over the target, so a reader sees the old value or the new one,
never half of either, and a failed write leaves the old value in place. (Writes are atomic,
not durable: nothing is fsynced, so a power cut may lose recent writes.)

Keys are checked by :func:`geozarr.storage.keys.validate_key`, so no key can name a file
outside the root. Symbolic links inside the root are the owner's to place and are followed
when reading; symlinked folders are not descended into when listing.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO

from geozarr.errors import InvalidKeyError, NodeNotFoundError, StoreError
from geozarr.storage.base import ByteRange, ReopenSpec, Store
from geozarr.storage.keys import validate_key, validate_prefix

#: Marks the temporary files of unfinished writes: ``.<name>.geozarr-tmp-<random hex>``.
#: Names starting with "." and holding this mark are never listed.
TEMP_MARK = ".geozarr-tmp-"
_TEMP_NAME_KEEP = 64  # characters of the target name kept in a temp name (NAME_MAX is 255)
_CREATE_ATTEMPTS = 5  # a concurrent delete may prune the folder we just created
_MISSING = (FileNotFoundError, NotADirectoryError, IsADirectoryError)
_NATIVE_SEP = os.sep != "/"


def _pread_fallback(fd: int, size: int, offset: int) -> bytes:
    # Only for platforms without os.pread; safe because every caller owns its descriptor.
    os.lseek(fd, offset, os.SEEK_SET)
    return os.read(fd, size)


_pread = getattr(os, "pread", _pread_fallback)


def _read_at(fd: int, size: int, offset: int) -> bytes:
    """Up to ``size`` bytes of ``fd`` from ``offset``; fewer only at the end of the file."""
    data = _pread(fd, size, offset)
    if len(data) == size or not data:
        return data
    parts = [data]
    done = len(data)
    while done < size:
        more = _pread(fd, size - done, offset + done)
        if not more:
            break
        parts.append(more)
        done += len(more)
    return b"".join(parts)


def _is_temp_name(name: str) -> bool:
    return name.startswith(".") and TEMP_MARK in name


def _discard(path: str) -> None:
    """Remove ``path`` if it is there (clean-up after a failed write)."""
    try:
        os.remove(path)
    except FileNotFoundError:
        pass


class DirectoryStore(Store):
    """Keys as files under a root directory.

    Parameters
    ----------
    root
        The directory holding the store. It is resolved (symbolic links included) once,
        here.
    read_only
        Refuse every write with ``ReadOnlyError``.
    create
        Create ``root`` (and its parents) when it does not exist.

    Raises
    ------
    NodeNotFoundError
        When ``root`` does not exist and ``create`` is false (always for a read-only store).
    StoreError
        When ``root`` exists but is not a directory, or cannot be created.
    """

    def __init__(
        self, root: str | os.PathLike[str], *, read_only: bool = False, create: bool = False
    ) -> None:
        super().__init__(read_only=read_only)
        resolved = os.path.realpath(os.fspath(root))
        if not os.path.isdir(resolved):
            if os.path.exists(resolved):
                raise StoreError(f"store root {resolved} exists but is not a directory")
            if read_only or not create:
                raise NodeNotFoundError(f"no directory store at {resolved}: it does not exist")
            try:
                os.makedirs(resolved, exist_ok=True)
            except OSError as exc:
                raise StoreError(f"cannot create store root {resolved}: {exc}") from exc
        self._root = resolved
        self._prefix = resolved if resolved.endswith(os.sep) else resolved + os.sep

    @property
    def root(self) -> Path:
        """The resolved root directory."""
        return Path(self._root)

    def __repr__(self) -> str:
        return f"DirectoryStore({self._root!r}{', read_only=True' if self.read_only else ''})"

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self._root == other._root  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash((type(self), self._root))

    def reopen_spec(self) -> ReopenSpec:
        """Pickled as its root (and read-only flag): the same folder, opened again."""
        return ReopenSpec(DirectoryStore, (self._root,), {"read_only": self.read_only})

    def _path(self, key: str) -> str:
        validate_key(key)
        return self._prefix + (key.replace("/", os.sep) if _NATIVE_SEP else key)

    # -- reading ------------------------------------------------------------------------
    def get(self, key: str) -> bytes | None:
        """The bytes of the file for ``key``; None when there is no such file.

        Raises ``StoreError`` naming the path for any failure other than a missing file.
        """
        path = self._path(key)
        try:
            with open(path, "rb", buffering=0) as file:
                return file.readall()
        except _MISSING:
            return None
        except OSError as exc:
            if os.path.isdir(path):  # Windows reports opening a folder as PermissionError
                return None
            raise StoreError(f"cannot read {key!r} from {path}: {exc}") from exc

    def get_ranges(self, key: str, ranges: Sequence[ByteRange]) -> list[bytes] | None:
        """The bytes of each range of ``key``, read with one ``pread`` each from one open file.

        Ranges past the end are clamped as slices are; None when the file is missing.
        """
        path = self._path(key)
        try:
            with open(path, "rb", buffering=0) as file:
                fd = file.fileno()
                size = -1
                out: list[bytes] = []
                for byte_range in ranges:
                    start, length = byte_range.start, byte_range.length
                    if start < 0 or length is None or length < 0:
                        if size < 0:
                            size = os.fstat(fd).st_size
                        part = byte_range.slice_of(size)
                        start, length = part.start, part.stop - part.start
                    out.append(_read_at(fd, length, start) if length > 0 else b"")
                return out
        except _MISSING:
            return None
        except OSError as exc:
            if os.path.isdir(path):
                return None
            raise StoreError(f"cannot read byte ranges of {key!r} from {path}: {exc}") from exc

    def exists(self, key: str) -> bool:
        """Whether a file is stored at ``key`` (a stat, not a read)."""
        return os.path.isfile(self._path(key))

    def list_prefix(self, prefix: str) -> Iterator[str]:
        """Every key starting with ``prefix``, walking only the folder the prefix points into.

        Temporary files of unfinished writes are never listed.
        """
        folder_key, _, rest = validate_prefix(prefix).rpartition("/")
        if folder_key:
            return self._walk(self._path(folder_key), folder_key + "/", rest)
        return self._walk(self._root, "", rest)

    def list_dir(self, prefix: str) -> tuple[list[str], list[str]]:
        """The values and non-empty sub-folders directly under ``prefix``, each sorted.

        Reads the one folder instead of walking everything below it.
        """
        if prefix and not prefix.endswith("/"):
            prefix += "/"
        folder_key = validate_prefix(prefix)[:-1]
        folder = self._path(folder_key) if folder_key else self._root
        base = folder_key + "/" if folder_key else ""
        values: list[str] = []
        folders: list[str] = []
        for entry in self._scan(folder):
            if entry.is_dir(follow_symlinks=False):
                if next(self._walk(entry.path, base + entry.name + "/", ""), None) is not None:
                    folders.append(entry.name)
            elif entry.is_file() and self._listable(base + entry.name):
                values.append(entry.name)
        return sorted(values), sorted(folders)

    def _scan(self, folder: str) -> list[os.DirEntry[str]]:
        """The entries of ``folder`` other than temp files; none when it is missing."""
        try:
            with os.scandir(folder) as entries:
                return [entry for entry in entries if not _is_temp_name(entry.name)]
        except _MISSING:
            return []
        except OSError as exc:
            raise StoreError(f"cannot list folder {folder}: {exc}") from exc

    def _walk(self, folder: str, base: str, name_start: str) -> Iterator[str]:
        """Keys of the files below ``folder`` (whose key is ``base``) whose first name
        starts with ``name_start``."""
        for entry in self._scan(folder):
            if not entry.name.startswith(name_start):
                continue
            if entry.is_dir(follow_symlinks=False):
                yield from self._walk(entry.path, base + entry.name + "/", "")
            elif entry.is_file() and self._listable(base + entry.name):
                yield base + entry.name

    @staticmethod
    def _listable(key: str) -> bool:
        """Whether a file found on disk has a valid key (a stray "a\\b" file has none)."""
        try:
            validate_key(key)
        except InvalidKeyError:
            return False
        return True

    # -- writing ------------------------------------------------------------------------
    def _set(self, key: str, value: bytes) -> None:
        path = self._path(key)
        folder, _, name = path.rpartition(os.sep)
        temp = f"{folder}{os.sep}.{name[:_TEMP_NAME_KEEP]}{TEMP_MARK}{secrets.token_hex(8)}"
        try:
            file = self._create(temp, folder)
            try:
                with file:
                    file.write(value)
                os.replace(temp, path)
            except BaseException:
                _discard(temp)
                raise
        except OSError as exc:
            reason = "a folder is in the way" if os.path.isdir(path) else str(exc)
            raise StoreError(f"cannot write {key!r} to {path}: {reason}") from exc

    @staticmethod
    def _create(temp: str, folder: str) -> IO[bytes]:
        """Open ``temp`` for writing, creating ``folder`` when it is missing.

        Retried because a concurrent delete may prune ``folder`` between the two steps.
        """
        for _ in range(_CREATE_ATTEMPTS):
            try:
                return open(temp, "xb")
            except FileNotFoundError:
                os.makedirs(folder, exist_ok=True)
        return open(temp, "xb")

    def _delete(self, key: str) -> None:
        path = self._path(key)
        try:
            os.remove(path)
        except _MISSING:
            return
        except OSError as exc:
            if os.path.isdir(path):  # a folder is not a value: nothing to delete
                return
            raise StoreError(f"cannot delete {key!r} at {path}: {exc}") from exc
        self._prune(os.path.dirname(path))

    def _prune(self, folder: str) -> None:
        """Remove ``folder`` and its parents while they are empty, stopping at the root."""
        while len(folder) > len(self._root):
            try:
                os.rmdir(folder)
            except OSError:  # not empty (or already gone): nothing more to prune
                return
            folder = os.path.dirname(folder)
