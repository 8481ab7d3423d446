"""A zip archive read in place from a remote store, by byte ranges.

``https://host/data.zarr.zip`` and ``s3://bucket/data.zarr.zip`` are one object each;
:class:`RemoteZipStore` reads the archive's central directory from its tail (one ranged
request for most archives, plus one for the size), then serves each member with ranged
requests of the archive: a whole member is one request (its local header and data together),
and byte ranges of a stored member (a shard's index, its inner chunks) are ranges of the
archive, once the member's local header has been read (one small request per member, then
remembered). Members are checked against their CRC-32 when read whole. Stored and deflated
members are supported (Zarr archives are normally stored: chunks are compressed already).
"""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from collections.abc import Iterator, Sequence
from typing import Protocol

from geozarr.errors import InvalidKeyError, NodeNotFoundError, ReadOnlyError, StoreError
from geozarr.storage.base import ByteRange, ReopenSpec, Store
from geozarr.storage.keys import validate_key, validate_prefix

_LOCAL_HEADER = struct.Struct("<4s22xHH")  # signature, (skipped), name length, extra length
_LOCAL_SIGNATURE = b"PK\x03\x04"
_ENCRYPTED = 0x1
_TAIL_BYTES = 128 * 1024  # the end-of-central-directory record and, usually, the directory
_BLOCK = 64 * 1024  # the least the directory reader fetches at once
_HEADER_SLACK = 256  # local extra fields may be longer than the central directory's
_ZIP_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError, struct.error)


class RangeSource(Protocol):
    """What :class:`RemoteZipStore` needs of the store holding the archive."""

    concurrency: int | None

    def size(self, key: str) -> int | None: ...

    def get_ranges(self, key: str, ranges: Sequence[ByteRange]) -> list[bytes] | None: ...

    def close(self) -> None: ...


class RemoteZipStore(Store):
    """Read-only bytes by key from the zip archive ``key`` of ``source``.

    Parameters
    ----------
    source
        The store holding the archive (an :class:`~geozarr.storage.http.HTTPStore` or
        :class:`~geozarr.storage.object_store.ObjectStore`); closed with this store.
    key
        The archive's key in ``source``.

    Raises
    ------
    NodeNotFoundError
        When there is no archive at ``key``.
    StoreError
        When it is not a readable zip archive.
    """

    def __init__(self, source: RangeSource, key: str) -> None:
        super().__init__(read_only=True)
        self._source = source
        self._key = validate_key(key)
        self.concurrency = source.concurrency
        self._data_starts: dict[str, int] = {}
        self._members = self._read_directory()

    def __repr__(self) -> str:
        return f"RemoteZipStore({self._source!r}, {self._key!r})"

    def reopen_spec(self) -> ReopenSpec:
        """Pickled as the store holding the archive and the archive's key."""
        return ReopenSpec(RemoteZipStore, (self._source, self._key))

    def _read_directory(self) -> dict[str, zipfile.ZipInfo]:
        size = self._source.size(self._key)
        if size is None:
            raise NodeNotFoundError(f"no zip archive {self._key!r} in {self._source!r}")
        tail_start = max(size - _TAIL_BYTES, 0)
        tail = self._source.get_ranges(self._key, [ByteRange(tail_start, size - tail_start)])
        if tail is None:
            raise NodeNotFoundError(f"no zip archive {self._key!r} in {self._source!r}")
        reader = _RangeFile(self._source, self._key, size, tail_start, tail[0])
        try:
            with zipfile.ZipFile(reader) as archive:
                infos = archive.infolist()
        except _ZIP_ERRORS as exc:
            raise StoreError(f"{self!r} is not a readable zip archive: {exc}") from None
        members: dict[str, zipfile.ZipInfo] = {}
        for info in infos:
            if info.is_dir():
                continue
            try:
                members[validate_key(info.filename)] = info
            except InvalidKeyError:  # "../x" in a hostile archive: unreachable
                continue
        return members

    # -- reading ------------------------------------------------------------------------
    def get(self, key: str) -> bytes | None:
        """The value of member ``key`` (one request; its CRC checked), or None."""
        validate_key(key)
        info = self._members.get(key)
        if info is None:
            return None
        self._check_method(key, info)
        data = self._fetch_member(key, info)
        if info.compress_type == zipfile.ZIP_DEFLATED:
            data = self._inflate(key, info, data)
        if zlib.crc32(data) != info.CRC:
            raise StoreError(f"member {key!r} of {self!r} fails its CRC-32 check")
        return data

    def get_ranges(self, key: str, ranges: Sequence[ByteRange]) -> list[bytes] | None:
        """Byte ranges of member ``key`` (clamped), or None; ranges of a stored member are
        ranges of the archive, those of a deflated one are cut from the whole value."""
        validate_key(key)
        info = self._members.get(key)
        if info is None:
            return None
        self._check_method(key, info)
        if info.compress_type != zipfile.ZIP_STORED:
            value = self.get(key)
            view = memoryview(value or b"")
            return [bytes(view[r.slice_of(len(view))]) for r in ranges]
        start = self._data_start(key, info)
        wanted: list[ByteRange] = []
        for byte_range in ranges:
            part = byte_range.slice_of(info.file_size)
            wanted.append(ByteRange(start + part.start, max(part.stop - part.start, 0)))
        nonempty = [r for r in wanted if r.length]
        parts = self._source.get_ranges(self._key, nonempty) if nonempty else []
        if parts is None:
            raise StoreError(f"{self!r}: the archive disappeared while reading {key!r}")
        fetched = iter(parts)
        out = []
        for asked in wanted:
            data = next(fetched) if asked.length else b""
            if len(data) != asked.length:
                raise StoreError(f"member {key!r} of {self!r} is truncated")
            out.append(data)
        return out

    def exists(self, key: str) -> bool:
        """Whether the archive has a member ``key`` (no request)."""
        validate_key(key)
        return key in self._members

    def list_prefix(self, prefix: str) -> Iterator[str]:
        """Member names starting with ``prefix``, from the central directory."""
        validate_prefix(prefix)
        return iter([key for key in self._members if key.startswith(prefix)])

    def _check_method(self, key: str, info: zipfile.ZipInfo) -> None:
        if info.flag_bits & _ENCRYPTED:
            raise StoreError(f"member {key!r} of {self!r} is encrypted")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise StoreError(f"member {key!r} of {self!r} uses zip compression method "
                             f"{info.compress_type}; remote archives support stored and "
                             "deflated members (Zarr archives are normally stored)")

    def _fetch_member(self, key: str, info: zipfile.ZipInfo) -> bytes:
        """The stored bytes of a member: its local header and data in one request."""
        known = self._data_starts.get(key)
        if known is not None:
            return self._read(key, known, info.compress_size)
        guess = _LOCAL_HEADER.size + len(info.filename.encode()) + len(info.extra) + _HEADER_SLACK
        blob = self._read(key, info.header_offset, guess + info.compress_size, exact=False)
        offset = self._parse_header(key, info, blob)
        data = blob[offset:offset + info.compress_size]
        if len(data) < info.compress_size:
            data += self._read(key, info.header_offset + offset + len(data),
                               info.compress_size - len(data))
        return data

    def _data_start(self, key: str, info: zipfile.ZipInfo) -> int:
        """Where member ``key``'s data starts in the archive (its header read once)."""
        start = self._data_starts.get(key)
        if start is None:
            guess = _LOCAL_HEADER.size + len(info.filename.encode()) + len(info.extra)
            blob = self._read(key, info.header_offset, guess + _HEADER_SLACK, exact=False)
            self._parse_header(key, info, blob)
            start = self._data_starts[key]
        return start

    def _parse_header(self, key: str, info: zipfile.ZipInfo, blob: bytes) -> int:
        """The data's offset from the local header at the start of ``blob`` (remembered)."""
        if len(blob) < _LOCAL_HEADER.size:
            raise StoreError(f"member {key!r} of {self!r}: truncated local header")
        signature, name_length, extra_length = _LOCAL_HEADER.unpack_from(blob)
        if signature != _LOCAL_SIGNATURE:
            raise StoreError(f"member {key!r} of {self!r}: bad local header signature")
        offset = _LOCAL_HEADER.size + name_length + extra_length
        self._data_starts[key] = info.header_offset + offset
        return offset

    def _read(self, key: str, start: int, length: int, *, exact: bool = True) -> bytes:
        """Bytes ``start:start+length`` of the archive (fewer at its end unless ``exact``)."""
        parts = self._source.get_ranges(self._key, [ByteRange(start, length)])
        if parts is None:
            raise StoreError(f"{self!r}: the archive disappeared while reading {key!r}")
        if exact and len(parts[0]) != length:
            raise StoreError(f"member {key!r} of {self!r} is truncated")
        return parts[0]

    def _inflate(self, key: str, info: zipfile.ZipInfo, data: bytes) -> bytes:
        """Decompress a deflated member, refusing to produce more than its declared size."""
        inflater = zlib.decompressobj(-15)
        try:
            out = inflater.decompress(data, info.file_size + 1)
        except zlib.error as exc:
            raise StoreError(f"member {key!r} of {self!r} does not inflate: {exc}") from None
        if len(out) != info.file_size or inflater.unconsumed_tail:
            raise StoreError(f"member {key!r} of {self!r} does not inflate to its declared "
                             f"{info.file_size} bytes")
        return out

    # -- writing (refused) and life cycle -----------------------------------------------
    def _set(self, key: str, value: bytes) -> None:
        raise ReadOnlyError(f"{self!r} is read-only: cannot write {key!r}")

    def _delete(self, key: str) -> None:
        raise ReadOnlyError(f"{self!r} is read-only: cannot delete {key!r}")

    def close(self) -> None:
        """Close the store holding the archive."""
        self._source.close()


class _RangeFile(io.RawIOBase):
    """The archive as a read-only, seekable file for :mod:`zipfile`'s directory parser,
    served from the tail already fetched and from further ranged requests."""

    def __init__(self, source: RangeSource, key: str, size: int, start: int, tail: bytes):
        super().__init__()
        self._source = source
        self._key = key
        self._size = size
        self._position = 0
        self._blocks: list[tuple[int, bytes]] = [(start, tail)]

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self._size}[whence]
        self._position = max(base + offset, 0)
        return self._position

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        count = min(len(buffer), self._size - self._position)
        if count <= 0:
            return 0
        data = self._cached(self._position, count)
        if data is None:
            length = min(max(count, _BLOCK), self._size - self._position)
            parts = self._source.get_ranges(self._key, [ByteRange(self._position, length)])
            if parts is None or len(parts[0]) != length:
                raise zipfile.BadZipFile(f"{self._key}: the archive changed while it was read")
            self._blocks.append((self._position, parts[0]))
            data = parts[0][:count]
        buffer[:count] = data
        self._position += count
        return count

    def _cached(self, start: int, count: int) -> bytes | None:
        for block_start, block in self._blocks:
            if block_start <= start and start + count <= block_start + len(block):
                return block[start - block_start:start - block_start + count]
        return None
