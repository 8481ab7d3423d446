"""The moves every whole-hierarchy writer shares: rename into place keeping the old output
until the new one is whole, zip packing with documents last, in-place stages, and removal of
the temporary files of unfinished writes on commit."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import pytest

from geozarr.errors import NodeExistsError, StoreError
from geozarr.raster.staging import PARTIAL_MARK, FolderStage, InPlaceStage, ZipStage, \
    check_local_destination, move_into_place, open_stage, partial_sibling
from geozarr.storage import MemoryStore
from geozarr.storage.local import TEMP_MARK


def _zarr_folder(path: Path, marker: bytes) -> Path:
    path.mkdir()
    (path / "zarr.json").write_bytes(marker)
    return path


def test_partial_sibling_is_fresh_and_marked(tmp_path: Path) -> None:
    target = str(tmp_path / "out.zarr")
    first, second = partial_sibling(target), partial_sibling(target)
    assert first.startswith(target + PARTIAL_MARK) and first != second


def test_move_into_place_replaces_the_old_output_and_leaves_nothing(tmp_path: Path) -> None:
    target = _zarr_folder(tmp_path / "out.zarr", b"old")
    partial = _zarr_folder(tmp_path / "new", b"new")
    move_into_place(str(partial), str(target))
    assert (target / "zarr.json").read_bytes() == b"new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.zarr"]


def test_a_failed_move_puts_the_old_output_back(tmp_path: Path) -> None:
    target = _zarr_folder(tmp_path / "out.zarr", b"old")
    with pytest.raises(StoreError, match="cannot move the finished output"):
        move_into_place(str(tmp_path / "missing"), str(target))
    assert (target / "zarr.json").read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.zarr"]


def test_without_replace_an_output_that_appeared_meanwhile_stays(tmp_path: Path) -> None:
    target = _zarr_folder(tmp_path / "out.zarr", b"someone else's")
    partial = _zarr_folder(tmp_path / "new", b"new")
    with pytest.raises(StoreError):
        move_into_place(str(partial), str(target), replace=False)
    assert (target / "zarr.json").read_bytes() == b"someone else's"


@pytest.mark.parametrize(("make", "zipped", "overwrite", "outcome"), [
    (None, False, False, False),
    ("empty folder", False, False, True),
    ("zarr folder", False, True, True),
    ("zarr folder", False, False, NodeExistsError),
    ("plain folder", False, True, StoreError),
    ("file", True, True, True),
    ("zarr folder", True, True, StoreError),
])
def test_check_local_destination(tmp_path: Path, make: str | None, zipped: bool,
                                 overwrite: bool, outcome: bool | type[Exception]) -> None:
    target = tmp_path / "out"
    if make == "file":
        target.write_bytes(b"PK")
    elif make is not None:
        target.mkdir()
        if make == "zarr folder":
            (target / "zarr.json").write_bytes(b"{}")
        elif make == "plain folder":
            (target / "notes.txt").write_bytes(b"mine")
    if isinstance(outcome, bool):
        assert check_local_destination(str(target), zipped=zipped,
                                       overwrite=overwrite) is outcome
    else:
        with pytest.raises(outcome, match=str(target)):
            check_local_destination(str(target), zipped=zipped, overwrite=overwrite)


def test_folder_commit_removes_unfinished_writes(tmp_path: Path) -> None:
    stage = open_stage(tmp_path / "out.zarr", overwrite=False)
    assert isinstance(stage, FolderStage)
    stage.store.set("a/c/0", b"chunk")
    stage.store.set("zarr.json", b"{}")
    Path(stage.partial, "a", f".0{TEMP_MARK}0123456789abcdef").write_bytes(b"half")
    stage.commit()
    found = sorted(os.path.relpath(os.path.join(folder, name), tmp_path / "out.zarr")
                   for folder, _, names in os.walk(tmp_path / "out.zarr") for name in names)
    assert found == [os.path.join("a", "c", "0"), "zarr.json"]


def test_zip_commit_packs_documents_last(tmp_path: Path) -> None:
    stage = open_stage(tmp_path / "out.zip", overwrite=False)
    assert isinstance(stage, ZipStage)
    for key in ("zarr.json", "a/zarr.json", "a/c/0", "b/c/1"):
        stage.store.set(key, key.encode())
    stage.commit()
    with zipfile.ZipFile(tmp_path / "out.zip") as archive:
        assert archive.namelist() == ["a/c/0", "b/c/1", "a/zarr.json", "zarr.json"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.zip"]


def test_abort_removes_the_partial_folder(tmp_path: Path) -> None:
    stage = open_stage(tmp_path / "out.zarr", overwrite=False)
    stage.store.set("zarr.json", b"{}")
    stage.abort(RuntimeError("stopped"))
    assert list(tmp_path.iterdir()) == []


def test_in_place_stage_needs_overwrite_to_clear_a_store() -> None:
    store = MemoryStore()
    store.set("zarr.json", b"{}")
    with pytest.raises(NodeExistsError, match="not empty"):
        open_stage(store, overwrite=False)
    stage = open_stage(store, overwrite=True)
    assert isinstance(stage, InPlaceStage)
    assert list(store.list_prefix("")) == []
    stage.store.set("x", b"1")
    stage.abort(RuntimeError("stopped"))
    assert list(store.list_prefix("")) == []


def test_a_destination_that_is_no_path_url_or_store_is_refused() -> None:
    with pytest.raises(StoreError, match="give a path, a URL or a geozarr Store"):
        open_stage(42, overwrite=False)
