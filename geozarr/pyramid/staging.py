"""Resumable pyramid builds: the build record, and how an interrupted build is found again.

Where a pyramid is built and how it is moved into place is :mod:`geozarr.raster.staging`'s
job, as for every output: a local directory (or ``.zip``) is built in a sibling
``<target>.geozarr-partial-<random>`` and renamed (packed) into place only once complete; a
store that cannot rename is built in place, metadata last. What this module adds is the
build's record under ``geozarr-build/`` in the store being built: ``state.json`` (the
signature of the build's parameters and source), the warp group size of each warped level,
and one empty marker per block of tiles written. An interrupted build leaves its sibling;
``resume=True`` finds the sibling whose signature matches and continues from its markers,
and every other build of the same target removes such leftovers.
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
import shutil
from collections.abc import Callable, Mapping
from typing import Any

from geozarr.errors import StoreError
from geozarr.metadata.jsondoc import dump_json_document
from geozarr.pyramid.metadata import BUILD_ATTRIBUTE
from geozarr.raster import staging
from geozarr.storage import Store, ZipStore

STATE_PREFIX = "geozarr-build/"
STATE_KEY = STATE_PREFIX + "state.json"
DONE_PREFIX = STATE_PREFIX + "done/"
GROUP_PREFIX = STATE_PREFIX + "group/"
_RESUME_HINT = " (or resume=True to finish an interrupted build of the same pyramid)"

Block = tuple[int, int, int, int]


def signature(manifest: Mapping[str, Any]) -> str:
    """A digest of everything that decides a pyramid's bytes."""
    text = json.dumps(manifest, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class Stage:
    """The store a pyramid is being written to, and its record of finished blocks.

    It wraps the :mod:`geozarr.raster.staging` stage that moves the output into place.
    """

    def __init__(self, output: staging.Stage, *, partial: str | None):
        self._output = output
        self.store = output.store
        self.location = output.target
        self.partial = partial

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

    def warp_group(self, level: str, choose: Callable[[], int]) -> int:
        """Tiles in one warp at ``level``: what the build that started this pyramid chose
        (a resumed build keeps it whatever its ``memory_limit``, so its tiles are the bytes
        a clean build writes), else ``choose()``, recorded."""
        key = f"{GROUP_PREFIX}{level}"
        raw = self.store.get(key)
        if raw is not None and raw.isdigit() and int(raw) >= 1:
            return int(raw)
        group = choose()
        self.store.set(key, str(group).encode("ascii"))
        return group

    def record(self, level: str, block: Block) -> None:
        """Mark a block as written (after its chunks are stored)."""
        self.store.set(f"{DONE_PREFIX}{level}/{'-'.join(map(str, block))}", b"")

    def commit(self) -> None:
        """Drop the build record and move the finished pyramid into place."""
        self.store.delete_prefix(STATE_PREFIX)
        self._output.commit()

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
    where = staging.resolve_destination(destination, what="a pyramid")
    if where.store is not None:
        return _in_place_stage(where.store, build, overwrite=overwrite, resume=resume)
    return _local_stage(where, build, overwrite=overwrite, resume=resume)


def _in_place_stage(store: Store, build: str, *, overwrite: bool, resume: bool
                    ) -> Stage | None:
    if resume and _state_matches(store.get(STATE_KEY), build):
        return Stage(staging.InPlaceStage(store), partial=None)
    if resume and _built_with(store.get("zarr.json"), build):
        return None
    staging.clear_in_place(store, overwrite=overwrite, hint=_RESUME_HINT)
    store.set(STATE_KEY, dump_json_document({"build": build}))
    return Stage(staging.InPlaceStage(store), partial=None)


def _local_stage(where: staging.Destination, build: str, *, overwrite: bool, resume: bool
                 ) -> Stage | None:
    target = where.target
    if resume and os.path.lexists(target) \
            and _built_with(_root_document(target, where.zipped), build):
        return None
    replace = staging.check_local_destination(target, zipped=where.zipped,
                                              overwrite=overwrite)
    partial = _interrupted_build(target, build if resume else None)
    fresh = partial is None
    output = staging.local_stage(where, partial or staging.partial_sibling(target),
                                 replace=replace)
    if fresh:
        output.store.set(STATE_KEY, dump_json_document({"build": build}))
    return Stage(output, partial=output.partial)


def _interrupted_build(target: str, build: str | None) -> str | None:
    """The sibling of ``target`` holding an interrupted build with the signature ``build``
    (None: none wanted); the siblings of other interrupted builds are removed."""
    found = None
    for candidate in sorted(glob.glob(glob.escape(target) + staging.PARTIAL_MARK + "*")):
        state = os.path.join(candidate, *STATE_KEY.split("/"))
        if not os.path.isfile(state):
            continue  # not an interrupted pyramid build: not ours to touch
        if build is not None and found is None and _state_matches(_read(state), build):
            found = candidate
        else:
            shutil.rmtree(candidate, ignore_errors=True)
    return found


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
