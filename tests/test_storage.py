"""The stores: one generic suite every store passes, then what is particular to each."""

from __future__ import annotations

import gc
import os
import threading
import zipfile
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from geozarr.errors import InvalidKeyError, NodeNotFoundError, ReadOnlyError, StoreError
from geozarr.storage import (
    ByteRange,
    DirectoryStore,
    MemoryStore,
    Store,
    ZipStore,
    open_store,
)
from geozarr.storage.local import TEMP_MARK

BIG = bytes(range(256)) * 4
DIGITS = b"0123456789"
SAMPLE = {
    "zarr.json": b'{"zarr_format": 3, "node_type": "group"}',
    "a/zarr.json": b"{}",
    "a/c/0/0": BIG,
    "a/c/0/1": b"",
    "a/c/1/0": DIGITS,
    "b/.zarray": b"{}",
    "b.txt": b"a value next to a folder of a similar name",
}
HOSTILE_KEYS = ["../x", "/etc/passwd", "a/../../b", "a\\b", "a\x00", "C:/x", "a//b", "./a", ""]


# -- the kinds of store --------------------------------------------------------------------
@dataclass(frozen=True)
class Kind:
    """How to make one kind of store empty and writable, and reopen it read-only."""

    name: str
    mutable: bool  # values can be replaced and deleted (a zip is write-once)
    new: Callable[[Path], Store]
    reopen: Callable[[Store, Path], Store]


def _reopen_memory(store: Store, tmp_path: Path) -> Store:
    contents = {key: store.get(key) for key in store.list_prefix("")}
    return MemoryStore(contents, read_only=True)  # type: ignore[arg-type]


def _reopen_zip(store: Store, tmp_path: Path) -> Store:
    store.close()
    return ZipStore(tmp_path / "store.zip", mode="r")


KINDS = [
    Kind(
        "directory",
        True,
        lambda tmp: DirectoryStore(tmp / "store", create=True),
        lambda store, tmp: DirectoryStore(tmp / "store", read_only=True),
    ),
    Kind("memory", True, lambda tmp: MemoryStore(), _reopen_memory),
    Kind("zip", False, lambda tmp: ZipStore(tmp / "store.zip", mode="w"), _reopen_zip),
]


@pytest.fixture(params=KINDS, ids=lambda kind: kind.name)
def kind(request: pytest.FixtureRequest) -> Kind:
    return request.param


@pytest.fixture
def writable(kind: Kind, tmp_path: Path) -> Iterator[Store]:
    store = kind.new(tmp_path)
    yield store
    store.close()


@pytest.fixture
def filled(kind: Kind, tmp_path: Path) -> Iterator[Store]:
    """SAMPLE written, then the store reopened read-only (a zip written then read)."""
    store = kind.new(tmp_path)
    for key, value in SAMPLE.items():
        store.set(key, value)
    reopened = kind.reopen(store, tmp_path)
    yield reopened
    reopened.close()


def _contents(store: Store) -> dict[str, bytes | None]:
    return {key: store.get(key) for key in store.list_prefix("")}


# -- the generic suite ---------------------------------------------------------------------
def test_get_returns_every_value(filled: Store) -> None:
    for key, value in SAMPLE.items():
        got = filled.get(key)
        assert type(got) is bytes
        assert got == value
        assert filled.exists(key)


@pytest.mark.parametrize("key", ["nope", "a/c/9/9", "a", "a/c", "b", "b.txt/x", "zarr.json/x"])
def test_missing_key_is_none(filled: Store, key: str) -> None:
    assert filled.get(key) is None
    assert filled.get_ranges(key, [ByteRange(0, 1)]) is None
    assert not filled.exists(key)


def test_set_accepts_bytes_like_and_survives_reopening(
    kind: Kind, writable: Store, tmp_path: Path
) -> None:
    values = {
        "x/bytes": b"abc",
        "x/bytearray": bytearray(b"def"),
        "x/memoryview": memoryview(b"ghi"),
        "x/ndarray": np.arange(6, dtype="<u2").reshape(2, 3),
        "y": b"",
    }
    for key, value in values.items():
        writable.set(key, value)
    expected = {key: memoryview(value).tobytes() for key, value in values.items()}
    assert {key: writable.get(key) for key in values} == expected
    reopened = kind.reopen(writable, tmp_path)
    try:
        assert _contents(reopened) == expected
    finally:
        reopened.close()


def test_stored_value_is_a_copy(writable: Store) -> None:
    value = bytearray(b"before")
    writable.set("k", value)
    value[:] = b"after!"
    assert writable.get("k") == b"before"


def test_overwrite_replaces_or_is_refused_by_write_once_stores(
    kind: Kind, writable: Store
) -> None:
    writable.set("a/k", b"old value")
    if kind.mutable:
        writable.set("a/k", b"new")
        assert writable.get("a/k") == b"new"
    else:
        with pytest.raises(StoreError, match="write-once") as info:
            writable.set("a/k", b"new")
        assert "'a/k'" in str(info.value)
        assert writable.get("a/k") == b"old value"
    assert list(writable.list_prefix("")) == ["a/k"]


def test_delete(kind: Kind, writable: Store) -> None:
    writable.set("a/k", b"value")
    writable.set("a/other", b"stays")
    writable.delete("nothing/here")  # a missing key is not an error
    if kind.mutable:
        writable.delete("a/k")
        assert writable.get("a/k") is None
        assert sorted(writable.list_prefix("")) == ["a/other"]
        writable.delete("a/k")
    else:
        with pytest.raises(StoreError, match="write-once"):
            writable.delete("a/k")
        assert writable.get("a/k") == b"value"
    assert writable.get("a/other") == b"stays"


def test_delete_prefix(kind: Kind, writable: Store) -> None:
    for key in ["g/a/1", "g/a/2", "g/b", "gx"]:
        writable.set(key, b"v")
    if kind.mutable:
        writable.delete_prefix("g/")
        assert list(writable.list_prefix("")) == ["gx"]
    else:
        with pytest.raises(StoreError):
            writable.delete_prefix("g/")


@pytest.mark.parametrize(
    ("prefix", "expected"),
    [
        ("", sorted(SAMPLE)),
        ("a/", ["a/c/0/0", "a/c/0/1", "a/c/1/0", "a/zarr.json"]),
        ("a/c/0/", ["a/c/0/0", "a/c/0/1"]),
        ("a/c/0", ["a/c/0/0", "a/c/0/1"]),
        ("a/z", ["a/zarr.json"]),
        ("b", ["b.txt", "b/.zarray"]),
        ("b/", ["b/.zarray"]),
        ("zarr", ["zarr.json"]),
        ("zzz", []),
        ("nope/", []),
        ("a/c/0/0/", []),
    ],
)
def test_list_prefix(filled: Store, prefix: str, expected: list[str]) -> None:
    assert sorted(filled.list_prefix(prefix)) == sorted(expected)


@pytest.mark.parametrize(
    ("prefix", "expected"),
    [
        ("", (["b.txt", "zarr.json"], ["a", "b"])),
        ("a", (["zarr.json"], ["c"])),
        ("a/", (["zarr.json"], ["c"])),
        ("a/c/", ([], ["0", "1"])),
        ("a/c/0", (["0", "1"], [])),
        ("nope/", ([], [])),
        ("b.txt", ([], [])),
    ],
)
def test_list_dir(filled: Store, prefix: str, expected: tuple[list[str], list[str]]) -> None:
    assert filled.list_dir(prefix) == expected


RANGES = [
    (ByteRange(2, 3), b"234"),
    (ByteRange(0), DIGITS),
    (ByteRange(7), b"789"),
    (ByteRange.suffix(4), b"6789"),
    (ByteRange(8, 10), b"89"),
    (ByteRange(10, 1), b""),
    (ByteRange(20, 5), b""),
    (ByteRange(20), b""),
    (ByteRange.suffix(50), DIGITS),
    (ByteRange(0, 0), b""),
]


@pytest.mark.parametrize(("byte_range", "expected"), RANGES)
def test_get_ranges_one(filled: Store, byte_range: ByteRange, expected: bytes) -> None:
    assert filled.get_ranges("a/c/1/0", [byte_range]) == [expected]


def test_get_ranges_many_in_order(filled: Store) -> None:
    ranges = [byte_range for byte_range, _ in RANGES]
    assert filled.get_ranges("a/c/1/0", ranges) == [expected for _, expected in RANGES]
    assert filled.get_ranges("a/c/1/0", []) == []
    assert filled.get_ranges("a/c/0/1", [ByteRange(0), ByteRange.suffix(3)]) == [b"", b""]


_RANGE = st.one_of(
    st.builds(ByteRange, st.integers(0, 1100), st.none() | st.integers(0, 1100)),
    st.integers(1, 1100).map(ByteRange.suffix),
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(ranges=st.lists(_RANGE, max_size=6))
def test_get_ranges_agree_with_slicing(filled: Store, ranges: list[ByteRange]) -> None:
    assert filled.get_ranges("a/c/0/0", ranges) == [BIG[r.slice_of(len(BIG))] for r in ranges]


def test_read_only_store_refuses_writes_and_changes_nothing(filled: Store) -> None:
    assert filled.read_only
    before = _contents(filled)
    for write in (
        lambda: filled.set("new", b"x"),
        lambda: filled.set("zarr.json", b"x"),
        lambda: filled.delete("zarr.json"),
        lambda: filled.delete_prefix("a/"),
    ):
        with pytest.raises(ReadOnlyError, match="read-only"):
            write()
    assert _contents(filled) == before == SAMPLE


@pytest.mark.parametrize("key", HOSTILE_KEYS)
def test_hostile_keys_are_refused_everywhere(writable: Store, tmp_path: Path, key: str) -> None:
    def snapshot() -> tuple[list[str], list[Path]]:
        return sorted(p.name for p in tmp_path.parent.iterdir()), sorted(tmp_path.rglob("*"))

    before = snapshot()
    for use in (
        lambda: writable.set(key, b"pwned"),
        lambda: writable.get(key),
        lambda: writable.get_ranges(key, [ByteRange(0)]),
        lambda: writable.exists(key),
        lambda: writable.delete(key),
    ):
        with pytest.raises(InvalidKeyError):
            use()
    assert list(writable.list_prefix("")) == []
    assert snapshot() == before


@pytest.mark.parametrize("prefix", ["../", "/", "a/../", "a\\b/"])
def test_hostile_prefixes_are_refused(filled: Store, prefix: str) -> None:
    with pytest.raises(InvalidKeyError):
        list(filled.list_prefix(prefix))
    with pytest.raises(InvalidKeyError):
        filled.list_dir(prefix)


def test_concurrent_sets_from_8_threads_all_land(
    kind: Kind, writable: Store, tmp_path: Path
) -> None:
    def work(thread: int) -> None:
        for i in range(25):
            # shared new folders, so threads race to create them
            writable.set(f"shared/{i % 5}/t{thread}-{i}", f"{thread}:{i}".encode())

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(work, range(8)))
    expected = {
        f"shared/{i % 5}/t{t}-{i}": f"{t}:{i}".encode() for t in range(8) for i in range(25)
    }
    assert _contents(writable) == expected
    reopened = kind.reopen(writable, tmp_path)
    try:
        assert _contents(reopened) == expected
    finally:
        reopened.close()


def test_repr_names_the_store(filled: Store, tmp_path: Path) -> None:
    text = repr(filled)
    assert type(filled).__name__ in text
    if not isinstance(filled, MemoryStore):
        assert str(tmp_path) in text


# -- DirectoryStore ------------------------------------------------------------------------
@pytest.fixture
def directory(tmp_path: Path) -> DirectoryStore:
    return DirectoryStore(tmp_path / "store", create=True)


def _temp_files(root: Path) -> list[Path]:
    return [path for path in root.rglob("*") if TEMP_MARK in path.name]


def test_failed_rename_leaves_old_value_and_no_temp_file(
    directory: DirectoryStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    directory.set("a/k", b"old")

    def fail(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(StoreError, match="No space left") as info:
        directory.set("a/k", b"new")
    monkeypatch.undo()
    assert str(directory.root / "a" / "k") in str(info.value)
    assert directory.get("a/k") == b"old"
    assert _temp_files(directory.root) == []


def test_failed_write_leaves_old_value_and_no_temp_file(directory: DirectoryStore) -> None:
    directory.set("a/k", b"old")
    with pytest.raises(TypeError):
        directory.set("a/k", (b"x" for _ in range(3)))  # type: ignore[arg-type]
    assert directory.get("a/k") == b"old"
    assert _temp_files(directory.root) == []


def test_temp_files_are_never_listed(directory: DirectoryStore) -> None:
    directory.set("a/k", b"v")
    (directory.root / f".k{TEMP_MARK}0123456789abcdef").write_bytes(b"half")
    (directory.root / "a" / f".k{TEMP_MARK}0123456789abcdef").write_bytes(b"half")
    (directory.root / "only-temp").mkdir()
    (directory.root / "only-temp" / f".x{TEMP_MARK}00").write_bytes(b"half")
    assert list(directory.list_prefix("")) == ["a/k"]
    assert list(directory.list_prefix(".")) == []
    assert directory.list_dir("") == ([], ["a"])
    assert directory.list_dir("a/") == (["k"], [])


def test_files_without_a_valid_key_are_not_listed(directory: DirectoryStore) -> None:
    directory.set("a/k", b"v")
    (directory.root / "a" / "back\\slash").write_bytes(b"x")
    (directory.root / "a" / "ctrl\x01").write_bytes(b"x")
    assert list(directory.list_prefix("")) == ["a/k"]
    assert directory.list_dir("a") == (["k"], [])


def test_delete_prunes_empty_folders_up_to_the_root(directory: DirectoryStore) -> None:
    directory.set("a/b/c/d", b"1")
    directory.set("a/x", b"2")
    directory.delete("a/b/c/d")
    assert sorted(p.name for p in (directory.root / "a").iterdir()) == ["x"]
    directory.delete("a/x")
    assert list(directory.root.iterdir()) == []
    assert directory.root.is_dir()


def test_sets_and_deletes_racing_in_one_folder(directory: DirectoryStore) -> None:
    for i in range(40):
        directory.set(f"g/old/{i}", b"old")

    def work(thread: int) -> None:
        for i in range(thread, 40, 8):
            directory.delete(f"g/old/{i}")  # may prune g/ while others create in it
            directory.set(f"g/new/{i}", b"new")

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(work, range(8)))
    assert sorted(directory.list_prefix("")) == sorted(f"g/new/{i}" for i in range(40))
    assert not (directory.root / "g" / "old").exists()


def test_get_of_an_unreadable_path_raises_store_error_naming_it(
    directory: DirectoryStore,
) -> None:
    directory.set("a/x", b"")
    key = "a/" + "n" * 300  # longer than any file system allows a name to be
    with pytest.raises(StoreError, match="n" * 300) as info:
        directory.get(key)
    assert str(directory.root) in str(info.value)
    with pytest.raises(StoreError):
        directory.get_ranges(key, [ByteRange(0)])
    with pytest.raises(StoreError):
        directory.set(key, b"x")


def test_set_over_a_folder_or_under_a_value_fails_clearly(directory: DirectoryStore) -> None:
    directory.set("a/b", b"v")
    with pytest.raises(StoreError, match="folder is in the way"):
        directory.set("a", b"x")
    with pytest.raises(StoreError, match="'a/b/c'"):
        directory.set("a/b/c", b"x")
    assert _contents(directory) == {"a/b": b"v"}
    assert _temp_files(directory.root) == []
    directory.delete("a")  # a folder is not a value
    assert directory.get("a/b") == b"v"


def test_missing_root(tmp_path: Path) -> None:
    missing = tmp_path / "missing"
    with pytest.raises(NodeNotFoundError, match=str(missing)):
        DirectoryStore(missing, read_only=True)
    with pytest.raises(NodeNotFoundError, match=str(missing)):
        DirectoryStore(missing)
    assert not missing.exists()
    store = DirectoryStore(missing / "deep", create=True)
    assert store.root == missing / "deep" and store.root.is_dir()


def test_root_that_is_a_file(tmp_path: Path) -> None:
    (tmp_path / "f").write_bytes(b"")
    with pytest.raises(StoreError, match="not a directory"):
        DirectoryStore(tmp_path / "f", create=True)


def test_equality_by_resolved_root(tmp_path: Path) -> None:
    store = DirectoryStore(tmp_path / "s", create=True)
    (tmp_path / "link").symlink_to(tmp_path / "s")
    same = DirectoryStore(tmp_path / "link", read_only=True)
    assert same == store and hash(same) == hash(store)
    assert same.root == store.root == (tmp_path / "s").resolve()
    assert store != DirectoryStore(tmp_path, read_only=True)
    assert store != MemoryStore()
    assert repr(store) == f"DirectoryStore({str(store.root)!r})"


# -- MemoryStore ---------------------------------------------------------------------------
def test_memory_store_initial_data_is_validated_and_copied() -> None:
    source = {"a/b": bytearray(b"v")}
    store = MemoryStore(source)  # type: ignore[arg-type]
    source["a/b"][:] = b"w"
    assert store.get("a/b") == b"v"
    with pytest.raises(InvalidKeyError):
        MemoryStore({"../x": b"v"})


# -- ZipStore ------------------------------------------------------------------------------
def _siblings(path: Path) -> list[str]:
    return sorted(p.name for p in path.parent.iterdir())


def test_zip_target_appears_only_on_close(tmp_path: Path) -> None:
    target = tmp_path / "out.zip"
    store = ZipStore(target, mode="w")
    store.set("a", b"1")
    assert not target.exists()
    [temp] = _siblings(target)
    assert temp.startswith(".out.zip" + TEMP_MARK)
    store.close()
    store.close()
    assert _siblings(target) == ["out.zip"]
    assert zipfile.ZipFile(target).read("a") == b"1"


def test_zip_interrupted_inside_with_leaves_nothing(tmp_path: Path) -> None:
    target = tmp_path / "out.zip"
    with pytest.raises(KeyError):
        with ZipStore(target, mode="w") as store:
            store.set("a", b"1")
            raise KeyError("interrupted")
    assert _siblings(target) == []


def test_zip_never_closed_leaves_nothing(tmp_path: Path) -> None:
    target = tmp_path / "out.zip"
    store = ZipStore(target, mode="w")
    store.set("a", b"1")
    del store
    gc.collect()
    assert _siblings(target) == []


def test_zip_discard_keeps_the_previous_archive(tmp_path: Path) -> None:
    target = tmp_path / "out.zip"
    with ZipStore(target, mode="w") as store:
        store.set("a", b"first")
    store = ZipStore(target, mode="w")
    store.set("a", b"second")
    with ZipStore(target) as reader:
        assert reader.get("a") == b"first"
    store.discard()
    assert _siblings(target) == ["out.zip"]
    with ZipStore(target) as reader:
        assert reader.get("a") == b"first"


def test_zip_rewrite_replaces_the_archive_on_close(tmp_path: Path) -> None:
    target = tmp_path / "out.zip"
    with ZipStore(target, mode="w") as store:
        store.set("a", b"first")
    with ZipStore(target, mode="w") as store:
        store.set("b", b"second")
    with ZipStore(target) as reader:
        assert _contents(reader) == {"b": b"second"}


def test_zip_closed_store_refuses_use(tmp_path: Path) -> None:
    store = ZipStore(tmp_path / "out.zip", mode="w")
    store.close()
    with pytest.raises(StoreError, match="closed"):
        store.set("a", b"1")
    with pytest.raises(StoreError, match="closed"):
        store.get("a")


def test_zip_members_are_stored_uncompressed(tmp_path: Path) -> None:
    with ZipStore(tmp_path / "out.zip", mode="w") as store:
        store.set("a/b", b"x" * 1000)
    [info] = zipfile.ZipFile(tmp_path / "out.zip").infolist()
    assert info.filename == "a/b"
    assert info.compress_type == zipfile.ZIP_STORED


def test_zip_ranges_of_compressed_and_extra_field_members(tmp_path: Path) -> None:
    path = tmp_path / "foreign.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("deflated", BIG, compress_type=zipfile.ZIP_DEFLATED)
        info = zipfile.ZipInfo("stored-with-extra")
        info.extra = b"\xfe\xca\x04\x00abcd"  # an unknown extra field in the local header
        archive.writestr(info, DIGITS)
        archive.writestr("folder/", b"")
    ranges = [ByteRange(5, 10), ByteRange.suffix(16), ByteRange(1000), ByteRange(3000, 2)]
    with ZipStore(path) as store:
        assert store.get_ranges("deflated", ranges) == [BIG[r.slice_of(len(BIG))] for r in ranges]
        assert store.get_ranges("stored-with-extra", ranges) == [
            DIGITS[r.slice_of(len(DIGITS))] for r in ranges
        ]
        assert sorted(store.list_prefix("")) == ["deflated", "stored-with-extra"]


def test_zip_hostile_member_names_are_unreachable(tmp_path: Path) -> None:
    path = tmp_path / "hostile.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("../evil", b"x")
        archive.writestr("/abs", b"x")
        archive.writestr("good", b"ok")
    with ZipStore(path) as store:
        assert list(store.list_prefix("")) == ["good"]
        assert store.list_dir("") == (["good"], [])


def test_zip_corrupt_member_raises_store_error(tmp_path: Path) -> None:
    path = tmp_path / "out.zip"
    with ZipStore(path, mode="w") as store:
        store.set("k", DIGITS)
    data = path.read_bytes()
    path.write_bytes(data.replace(DIGITS, b"0123456X89"))
    with ZipStore(path) as store:
        with pytest.raises(StoreError, match="'k'") as info:
            store.get("k")
        assert str(path) in str(info.value)


@pytest.mark.parametrize("content", [b"", b"not a zip at all", b"PK\x03\x04truncated"])
def test_zip_not_a_zip_raises_store_error_naming_path(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "bad.zip"
    path.write_bytes(content)
    with pytest.raises(StoreError, match="not a readable zip archive") as info:
        ZipStore(path)
    assert str(path) in str(info.value)


def test_zip_missing_archive_and_bad_mode(tmp_path: Path) -> None:
    with pytest.raises(NodeNotFoundError, match="missing.zip"):
        ZipStore(tmp_path / "missing.zip")
    with pytest.raises(StoreError, match="unknown zip store mode 'a'"):
        ZipStore(tmp_path / "x.zip", mode="a")
    (tmp_path / "folder.zip").mkdir()
    with pytest.raises(StoreError, match="it is a folder"):
        ZipStore(tmp_path / "folder.zip", mode="w")


# -- open_store ----------------------------------------------------------------------------
def test_open_store_returns_a_store_as_is() -> None:
    store = MemoryStore()
    assert open_store(store, mode="w") is store


def test_open_store_memory_urls() -> None:
    first, second = open_store("memory://"), open_store("memory://", mode="w")
    assert isinstance(first, MemoryStore) and first is not second
    first.set("k", b"v")
    assert second.get("k") is None
    with pytest.raises(StoreError, match="takes no path"):
        open_store("memory://name")


def test_open_store_unknown_scheme_lists_supported() -> None:
    with pytest.raises(StoreError, match="memory://") as info:
        open_store("ftp://host/data.zarr")
    assert "ftp://host/data.zarr" in str(info.value)


def test_open_store_unknown_mode(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="unknown store mode 'x'"):
        open_store(tmp_path, mode="x")


def test_open_store_directories(tmp_path: Path) -> None:
    path = tmp_path / "data.zarr"
    with pytest.raises(NodeNotFoundError):
        open_store(path)
    with pytest.raises(NodeNotFoundError):
        open_store(path, mode="r+")
    assert not path.exists()
    for mode in ("w", "w-", "a"):
        store = open_store(str(path), mode=mode)
        assert isinstance(store, DirectoryStore) and not store.read_only
    assert path.is_dir()
    assert not open_store(path, mode="r+").read_only
    reader = open_store(path)
    assert isinstance(reader, DirectoryStore) and reader.read_only
    (tmp_path / "folder.zip").mkdir()
    assert isinstance(open_store(tmp_path / "folder.zip"), DirectoryStore)


def test_open_store_zip_archives(tmp_path: Path) -> None:
    path = tmp_path / "data.ZIP"
    with pytest.raises(NodeNotFoundError):
        open_store(path, mode="r+")
    with open_store(path, mode="a") as store:
        assert isinstance(store, ZipStore) and store.mode == "w"
        store.set("k", b"v")
    with open_store(path) as store:
        assert isinstance(store, ZipStore) and store.read_only and store.get("k") == b"v"
    for mode in ("a", "w-", "r+"):
        with pytest.raises(StoreError, match="cannot be changed in place"):
            open_store(path, mode=mode)
    with open_store(path, mode="w") as store:
        assert isinstance(store, ZipStore) and store.mode == "w"
    with open_store(tmp_path / "new.zip", mode="w-") as store:
        assert store.mode == "w"


def test_threads_share_a_reading_zip_store(tmp_path: Path) -> None:
    path = tmp_path / "out.zip"
    with ZipStore(path, mode="w") as store:
        for i in range(64):
            store.set(f"c/{i}", bytes([i]) * 100)
    barrier = threading.Barrier(8)

    def read(thread: int) -> bool:
        barrier.wait()
        return all(
            reader.get_ranges(f"c/{i}", [ByteRange(i % 100, 1)]) == [bytes([i])]
            and reader.get(f"c/{i}") == bytes([i]) * 100
            for i in range(thread, 64, 8)
        )

    with ZipStore(path) as reader, ThreadPoolExecutor(8) as pool:
        assert all(pool.map(read, range(8)))


def test_zip_archives_are_reproducible(tmp_path) -> None:
    """The same content makes the same archive, byte for byte, whenever it is written."""
    import time as clock

    archives = []
    for name in ("a.zip", "b.zip"):
        with ZipStore(tmp_path / name, mode="w") as store:
            store.set("zarr.json", b"{}")
            store.set("c/0", b"\x00\x01")
        archives.append((tmp_path / name).read_bytes())
        if len(archives) == 1:
            clock.sleep(2.1)  # the zip format stores times to the 2 seconds
    assert archives[0] == archives[1]
