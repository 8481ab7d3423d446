"""A store in one zip archive: read an existing archive, or write a new one once.

Reading uses :mod:`zipfile`. A whole value is read with its CRC checked; byte ranges of a
stored (uncompressed) member are read straight from the archive at the member's data offset,
so a shard's index and inner chunks cost only their own bytes. Ranges of a compressed
member are cut from the whole decompressed value.

Writing builds a new archive entry by entry in a hidden temporary file beside the target and
renames it onto the target in :meth:`ZipStore.close`, so a write that is interrupted (an
exception inside ``with``, a crash, a store never closed) never leaves a file at the target
that looks complete. A zip member cannot be replaced in place, so keys are write-once.
Members are stored uncompressed by default: chunks are already compressed by their codecs.
One lock serialises every use of the archive, so threads may share a store.
"""

from __future__ import annotations

import os
import secrets
import struct
import threading
import weakref
import zipfile
import zlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO

from geozarr.errors import InvalidKeyError, NodeNotFoundError, StoreError
from geozarr.storage.base import ByteRange, ReopenSpec, Store
from geozarr.storage.keys import validate_key, validate_prefix
from geozarr.storage.local import TEMP_MARK

# What zipfile raises on a damaged, encrypted or unsupported archive or member.
_ZIP_ERRORS = (
    OSError, EOFError, zipfile.BadZipFile, zlib.error, RuntimeError, NotImplementedError
)
_LOCAL_HEADER = struct.Struct("<4s22xHH")  # signature, (skipped), name length, extra length
_LOCAL_SIGNATURE = b"PK\x03\x04"
_ENCRYPTED = 0x1


def _as_bytes(value: bytes) -> bytes:
    """``value`` as bytes (a copy of a bytearray, memoryview or ndarray)."""
    return value if isinstance(value, bytes) else memoryview(value).tobytes()


def _release(archive: zipfile.ZipFile, file: IO[bytes], temp: str | None) -> None:
    """Close ``archive`` and ``file``; remove ``temp``, the unfinished archive, if given."""
    try:
        archive.close()
    finally:
        file.close()
        if temp is not None:
            try:
                os.remove(temp)
            except FileNotFoundError:
                pass


#: Every member's timestamp: the zip epoch, so that the same content always makes the same
#: archive, byte for byte (a distributed write equals a local one; builds are reproducible).
_REPRODUCIBLE_TIME = (1980, 1, 1, 0, 0, 0)

class ZipStore(Store):
    """Bytes by key in a zip archive.

    Parameters
    ----------
    path
        The archive.
    mode
        ``"r"`` reads an existing archive (the store is read-only); ``"w"`` writes a new one,
        which replaces ``path`` only when the store is closed without error.

    Raises
    ------
    NodeNotFoundError
        In ``"r"`` mode, when ``path`` does not exist.
    StoreError
        When ``path`` is not a readable zip archive, ``mode`` is unknown, or the archive
        cannot be created.
    """

    def __init__(self, path: str | os.PathLike[str], *, mode: str = "r") -> None:
        self._path = os.path.abspath(os.fspath(path))
        if mode not in ("r", "w"):
            raise StoreError(
                f"unknown zip store mode {mode!r} for {self._path}: "
                "use 'r' to read an archive or 'w' to write a new one"
            )
        super().__init__(read_only=mode == "r")
        self._mode = mode
        self._lock = threading.Lock()
        self._closed = False
        self._members: dict[str, zipfile.ZipInfo] = {}
        self._data_starts: dict[str, int] = {}
        if mode == "r":
            self._file, self._zip = self._open_for_reading()
            self._temp: str | None = None
        else:
            self._temp, self._file, self._zip = self._open_for_writing()
        self._finalizer = weakref.finalize(self, _release, self._zip, self._file, self._temp)

    def _open_for_reading(self) -> tuple[IO[bytes], zipfile.ZipFile]:
        try:
            file = open(self._path, "rb")
        except FileNotFoundError as exc:
            raise NodeNotFoundError(f"no zip archive at {self._path}") from exc
        except OSError as exc:
            raise StoreError(f"cannot open zip archive {self._path}: {exc}") from exc
        try:
            archive = zipfile.ZipFile(file)
        except _ZIP_ERRORS as exc:
            file.close()
            raise StoreError(f"{self._path} is not a readable zip archive: {exc}") from exc
        for info in archive.infolist():
            if info.is_dir():
                continue
            try:
                self._members[validate_key(info.filename)] = info
            except InvalidKeyError:  # "../x" or "C:\\x" in a hostile archive: unreachable
                continue
        return file, archive

    def _open_for_writing(self) -> tuple[str, IO[bytes], zipfile.ZipFile]:
        folder, name = os.path.split(self._path)
        if os.path.isdir(self._path):
            raise StoreError(f"cannot write a zip archive at {self._path}: it is a folder")
        temp = os.path.join(folder, f".{name}{TEMP_MARK}{secrets.token_hex(8)}")
        try:
            os.makedirs(folder, exist_ok=True)
            file = open(temp, "x+b")
        except OSError as exc:
            raise StoreError(f"cannot create zip archive {self._path}: {exc}") from exc
        archive = zipfile.ZipFile(file, "w", compression=zipfile.ZIP_STORED, allowZip64=True)
        return temp, file, archive

    @property
    def path(self) -> Path:
        """The archive's path (written there on close in ``"w"`` mode)."""
        return Path(self._path)

    @property
    def mode(self) -> str:
        """``"r"`` or ``"w"``."""
        return self._mode

    def __repr__(self) -> str:
        return f"ZipStore({self._path!r}, mode={self._mode!r})"

    def reopen_spec(self) -> ReopenSpec:
        """Pickled as its path: the archive opened again for reading. An archive being
        written, or a closed store, cannot be pickled (``StoreError``)."""
        if self._mode != "r" or self._closed:
            state = "closed" if self._closed else "being written"
            raise StoreError(f"{self!r} is {state}: only a zip store open for reading can be "
                             "pickled (it is reopened from its path)")
        return ReopenSpec(ZipStore, (self._path,), {"mode": "r"})

    def _check_open(self, key: str) -> None:
        if self._closed:
            raise StoreError(f"{self!r} is closed: cannot use {key!r}")

    # -- reading ------------------------------------------------------------------------
    def get(self, key: str) -> bytes | None:
        """The value of member ``key`` (its CRC checked), or None when there is none."""
        validate_key(key)
        with self._lock:
            self._check_open(key)
            info = self._members.get(key)
            if info is None:
                return None
            try:
                return self._zip.read(info)
            except _ZIP_ERRORS as exc:
                raise StoreError(f"cannot read {key!r} from {self._path}: {exc}") from exc

    def get_ranges(self, key: str, ranges: Sequence[ByteRange]) -> list[bytes] | None:
        """The bytes of each range of member ``key``, clamped as slices are; None if missing.

        A stored member is read at its data offset, range by range; a compressed one is
        decompressed once and sliced.
        """
        validate_key(key)
        with self._lock:
            self._check_open(key)
            info = self._members.get(key)
            if info is None:
                return None
            try:
                if info.compress_type != zipfile.ZIP_STORED or info.flag_bits & _ENCRYPTED:
                    view = memoryview(self._zip.read(info))
                    return [bytes(view[r.slice_of(len(view))]) for r in ranges]
                return self._read_stored(key, info, ranges)
            except _ZIP_ERRORS as exc:
                raise StoreError(
                    f"cannot read byte ranges of {key!r} from {self._path}: {exc}"
                ) from exc

    def _read_stored(
        self, key: str, info: zipfile.ZipInfo, ranges: Sequence[ByteRange]
    ) -> list[bytes]:
        """Ranges of a stored member, read at its data offset (the lock is held)."""
        start = self._data_starts.get(key)
        if start is None:
            self._file.seek(info.header_offset)
            header = self._file.read(_LOCAL_HEADER.size)
            if len(header) != _LOCAL_HEADER.size:
                raise zipfile.BadZipFile(f"truncated local header of {key!r}")
            signature, name_length, extra_length = _LOCAL_HEADER.unpack(header)
            if signature != _LOCAL_SIGNATURE:
                raise zipfile.BadZipFile(f"bad local header signature for {key!r}")
            start = info.header_offset + _LOCAL_HEADER.size + name_length + extra_length
            self._data_starts[key] = start
        out: list[bytes] = []
        for byte_range in ranges:
            part = byte_range.slice_of(info.file_size)
            length = part.stop - part.start
            if length <= 0:
                out.append(b"")
                continue
            self._file.seek(start + part.start)
            data = self._file.read(length)
            if len(data) != length:
                raise zipfile.BadZipFile(f"member {key!r} is truncated")
            out.append(data)
        return out

    def exists(self, key: str) -> bool:
        """Whether the archive has a member ``key`` (no read)."""
        validate_key(key)
        with self._lock:
            return key in self._members

    def list_prefix(self, prefix: str) -> Iterator[str]:
        """Every member name starting with ``prefix`` (directory entries are not keys)."""
        validate_prefix(prefix)
        with self._lock:
            keys = [key for key in self._members if key.startswith(prefix)]
        return iter(keys)

    # -- writing ------------------------------------------------------------------------
    def _set(self, key: str, value: bytes) -> None:
        validate_key(key)
        data = _as_bytes(value)
        with self._lock:
            self._check_open(key)
            if key in self._members:
                raise StoreError(f"zip stores are write-once: {key!r} is already in {self._path}")
            info = zipfile.ZipInfo(key, date_time=_REPRODUCIBLE_TIME)
            info.external_attr = 0o644 << 16
            try:
                self._zip.writestr(info, data)
            except _ZIP_ERRORS as exc:
                raise StoreError(f"cannot write {key!r} to {self._path}: {exc}") from exc
            self._members[key] = info

    def _delete(self, key: str) -> None:
        validate_key(key)
        with self._lock:
            self._check_open(key)
            if key in self._members:
                raise StoreError(
                    f"zip stores are write-once: cannot delete {key!r} from {self._path}"
                )

    # -- life cycle ---------------------------------------------------------------------
    def close(self) -> None:
        """Finish the store; in ``"w"`` mode write the archive and rename it onto its path.

        Closing twice is harmless. If finishing fails, the unfinished archive is removed and
        ``StoreError`` is raised; the target path is left as it was.
        """
        with self._lock:
            if self._closed:
                return
            self._closed = True
            if self._temp is None:
                self._finalizer()
                return
            self._finalizer.detach()
            try:
                try:
                    self._zip.close()
                finally:
                    self._file.close()
                os.replace(self._temp, self._path)
            except _ZIP_ERRORS as exc:
                _release(self._zip, self._file, self._temp)
                raise StoreError(f"cannot finish zip archive {self._path}: {exc}") from exc
            except BaseException:
                _release(self._zip, self._file, self._temp)
                raise

    def discard(self) -> None:
        """Close without writing: in ``"w"`` mode the unfinished archive is removed and
        the target path is left as it was."""
        with self._lock:
            self._closed = True
            self._finalizer()

    def __exit__(self, *exc: object) -> None:
        """Close, but discard an archive being written if the block raised."""
        if exc[0] is not None and self._temp is not None:
            self.discard()
        else:
            self.close()
