"""Where a pyramid is built, how an interrupted build is found again, and the final move.

A local directory (or ``.zip``) is built in a sibling ``<target>.geozarr-partial-<random>``
and renamed into place (packed, for a zip) only once complete, as
:mod:`geozarr.raster.writer` does. The sibling holds the build's record under
``geozarr-build/``: ``state.json`` (the signature of the build's parameters and source) and
one empty marker per block of tiles written. An interrupted build leaves its sibling;
``resume=True`` finds the sibling whose signature matches and continues from its markers,
and every other build of the same target removes such leftovers. A store that cannot
rename (a :class:`~geozarr.storage.Store`, ``memory://``) is built in place, metadata last.
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
import secrets
import shutil
from collections.abc import Callable, Mapping
from typing import Any

from geozarr.errors import NodeExistsError, StoreError
from geozarr.metadata.jsondoc import dump_json_document
from geozarr.pyramid.metadata import BUILD_ATTRIBUTE
from geozarr.raster.staging import PARTIAL_MARK, holds_zarr
from geozarr.storage import DirectoryStore, Store, ZipStore, open_store
from geozarr.storage.local import TEMP_MARK

STATE_PREFIX = "geozarr-build/"
STATE_KEY = STATE_PREFIX + "state.json"
DONE_PREFIX = STATE_PREFIX + "done/"
_OLD_MARK = ".geozarr-old-"

Block = tuple[int, int, int, int]


def signature(manifest: Mapping[str, Any]) -> str:
    """A digest of everything that decides a pyramid's bytes."""
    text = json.dumps(manifest, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class Stage:
    """The store a pyramid is being written to, and its record of finished blocks."""

    def __init__(self, store: Store, location: str, *, partial: str | None,
                 finish: Callable[[], None]):
        self.store = store
        self.location = location
        self.partial = partial
        self._finish = finish

    def done(self) -> dict[str, list[Block]]:
        """The blocks (array tile rows r0..r1, columns c0..c1, end exclusive) already
        written, by level id."""
        found: dict[str, list[Block]] = {}
        for key in self.store.list_prefix(DONE_PREFIX):
            level, _, name = key[len(DONE_PREFIX):].partition("/")
            parts = name.split("-")
            if len(parts) == 4 and all(p.isdigit() for p in parts):
                r0, c0, r1, c1 = (int(p) for p in parts)
                found.setdefault(level, []).append((r0, c0, r1, c1))
        return found

    def record(self, level: str, block: Block) -> None:
        """Mark a block as written (after its chunks are stored)."""
        self.store.set(f"{DONE_PREFIX}{level}/{'-'.join(map(str, block))}", b"")

    def commit(self) -> None:
        """Drop the build record and move the finished pyramid into place."""
        self.store.delete_prefix(STATE_PREFIX)
        self._finish()

    def keep(self, error: BaseException) -> None:
        """Leave the unfinished build where it is, and say so on ``error``."""
        where = self.partial or self.location
        error.add_note(f"geozarr kept the unfinished pyramid in {where}; build again with "
                       f"resume=True to finish it, or remove it")


def open_stage(destination: Any, build: str, *, overwrite: bool, resume: bool
               ) -> Stage | None:
    """The stage to build into; None when ``resume`` finds the pyramid already complete.

    Raises
    ------
    NodeExistsError
        Something is at ``destination`` and neither ``overwrite`` nor a matching ``resume``
        allows going on.
    StoreError
        ``destination`` exists and is not a Zarr store (never replaced), or is not a path,
        URL or store.
    """
    if isinstance(destination, ZipStore):
        return _local_stage(os.fspath(destination.path), build, overwrite=overwrite,
                            resume=resume, archive=destination)
    if isinstance(destination, Store):
        return _in_place_stage(destination, build, overwrite=overwrite, resume=resume)
    if not isinstance(destination, (str, os.PathLike)):
        raise StoreError(f"cannot write a pyramid to {destination!r}: give a path, a URL or "
                         f"a geozarr Store")
    text = os.fsdecode(destination)
    if "://" in text:
        return _in_place_stage(open_store(text, mode="w"), build, overwrite=overwrite,
                               resume=resume)
    return _local_stage(os.path.abspath(text), build, overwrite=overwrite, resume=resume,
                        archive=None)


# -- in place ------------------------------------------------------------------------------------
def _in_place_stage(store: Store, build: str, *, overwrite: bool, resume: bool
                    ) -> Stage | None:
    location = repr(store)
    if resume and _state_matches(store.get(STATE_KEY), build):
        return Stage(store, location, partial=None, finish=lambda: None)
    if resume and _built_with(store.get("zarr.json"), build):
        return None
    if next(iter(store.list_prefix("")), None) is not None:
        if not overwrite:
            raise NodeExistsError(f"{location} is not empty; pass overwrite=True to replace "
                                  f"its content (or resume=True to finish an interrupted "
                                  f"build of the same pyramid)")
        store.delete_prefix("")
    store.set(STATE_KEY, dump_json_document({"build": build}))
    return Stage(store, location, partial=None, finish=lambda: None)


# -- local directories and zip archives ----------------------------------------------------------
def _local_stage(target: str, build: str, *, overwrite: bool, resume: bool,
                 archive: ZipStore | None) -> Stage | None:
    zipped = archive is not None or (target.lower().endswith(".zip")
                                     and not os.path.isdir(target))
    if os.path.lexists(target) and not (os.path.isdir(target) and not os.listdir(target)):
        if resume and _built_with(_root_document(target, zipped), build):
            return None
        if not overwrite:
            raise NodeExistsError(f"{target} already exists; pass overwrite=True to replace "
                                  f"it")
        if zipped and not os.path.isfile(target):
            raise StoreError(f"{target} exists and is not a file; geozarr does not replace "
                             f"it")
        if not zipped and not (os.path.isdir(target) and holds_zarr(target)):
            raise StoreError(f"{target} exists and is not a Zarr store; geozarr does not "
                             f"replace it (remove it yourself)")
    partial = None
    for candidate in sorted(glob.glob(glob.escape(target) + PARTIAL_MARK + "*")):
        state = os.path.join(candidate, *STATE_KEY.split("/"))
        if not os.path.isfile(state):
            continue  # not an interrupted pyramid build: not ours to touch
        if resume and partial is None and _state_matches(_read(state), build):
            partial = candidate
        else:
            shutil.rmtree(candidate, ignore_errors=True)
    if partial is None:
        partial = f"{target}{PARTIAL_MARK}{secrets.token_hex(4)}"
        store = DirectoryStore(partial, create=True)
        store.set(STATE_KEY, dump_json_document({"build": build}))
    else:
        store = DirectoryStore(partial)

    def finish() -> None:
        _remove_temporaries(partial)
        if zipped:
            _pack(store, partial, target, archive)
        else:
            move_into_place(partial, target)

    return Stage(store, target, partial=partial, finish=finish)


def _read(path: str) -> bytes | None:
    try:
        with open(path, "rb") as file:
            return file.read()
    except OSError:
        return None


def _root_document(target: str, zipped: bool) -> bytes | None:
    if not zipped:
        return _read(os.path.join(target, "zarr.json"))
    try:
        with ZipStore(target, mode="r") as store:
            return store.get("zarr.json")
    except (StoreError, OSError):
        return None


def _state_matches(raw: bytes | None, build: str) -> bool:
    try:
        return raw is not None and json.loads(raw).get("build") == build
    except (ValueError, AttributeError):
        return False


def _built_with(raw: bytes | None, build: str) -> bool:
    try:
        document = json.loads(raw) if raw is not None else None
    except ValueError:
        return False
    attributes = document.get("attributes") if isinstance(document, dict) else None
    return isinstance(attributes, dict) and attributes.get(BUILD_ATTRIBUTE) == build


def _remove_temporaries(root: str) -> None:
    """Delete the temporary files of writes an interruption cut short."""
    for folder, _, files in os.walk(root):
        for name in files:
            if name.startswith(".") and TEMP_MARK in name:
                os.remove(os.path.join(folder, name))


def move_into_place(partial: str, target: str) -> None:
    """Rename the finished folder ``partial`` to ``target``; an existing ``target`` is
    renamed away first and deleted only once the new one is in place.

    Raises
    ------
    StoreError
        The rename failed (the old ``target`` is put back).
    """
    old = None
    if os.path.isdir(target):
        if os.listdir(target):
            old = f"{target}{_OLD_MARK}{secrets.token_hex(4)}"
            os.rename(target, old)
        else:
            os.rmdir(target)
    try:
        os.rename(partial, target)
    except OSError as error:
        if old is not None:
            os.rename(old, target)
        raise StoreError(f"cannot move the finished output {partial} to {target}: {error}") \
            from error
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _pack(store: Store, partial: str, target: str, archive: ZipStore | None) -> None:
    """Copy the finished pyramid into the zip archive (documents last), then drop the
    folder it was built in."""
    out = archive or ZipStore(target, mode="w")
    keys = sorted(store.list_prefix(""), key=_documents_last)
    try:
        for key in keys:
            value = store.get(key)
            if value is not None:
                out.set(key, value)
    except BaseException:
        if archive is None:
            out.discard()
        raise
    if archive is None:
        out.close()
    shutil.rmtree(partial, ignore_errors=True)


def _documents_last(key: str) -> tuple[int, int, str]:
    name = key.rsplit("/", 1)[-1]
    if name != "zarr.json":
        return (0, 0, key)
    return (1, 1 if "/" not in key else 0, key)
