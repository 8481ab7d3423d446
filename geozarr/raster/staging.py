"""Where an output is built, so that it appears whole or not at all.

A local directory (or a ``.zip``) is written into a temporary sibling
``<name>.geozarr-partial-<random>`` and renamed into place when complete; an existing output
is renamed away only then, and deleted last. A store that cannot rename (a
:class:`~geozarr.storage.Store` object, ``memory://``, object storage) is written where it is,
chunks first and metadata last, so that no reader finds an array before it is whole; there,
``overwrite=True`` removes the old content first.

Every writer of whole hierarchies (rasters, translate, pyramids) goes through
:func:`open_stage`: ``stage.store`` to write into, then ``stage.commit()`` or
``stage.abort(error)``.
"""

from __future__ import annotations

import os
import secrets
import shutil
import warnings
from typing import Any

from geozarr.errors import GeoZarrError, GeoZarrWarning, NodeExistsError, StoreError
from geozarr.storage import DirectoryStore, Store, ZipStore, open_store

#: Marks the temporary sibling a local output is written into before it is renamed.
PARTIAL_MARK = ".geozarr-partial-"
_OLD_MARK = ".geozarr-old-"
ZARR_DOCUMENTS = ("zarr.json", ".zgroup", ".zarray", ".zattrs", ".zmetadata")


def holds_zarr(path: str) -> bool:
    """Whether the folder ``path`` holds a Zarr node's metadata at its top."""
    return any(os.path.isfile(os.path.join(path, doc)) for doc in ZARR_DOCUMENTS)


def _discard_tree(path: str, error: BaseException | None = None) -> None:
    """Remove the folder ``path``; a failure is noted on ``error`` rather than hiding it."""
    try:
        shutil.rmtree(path)
    except FileNotFoundError:
        pass
    except OSError as cleanup:
        if error is None:
            raise StoreError(f"cannot remove the unfinished output {path}: {cleanup}") \
                from cleanup
        error.add_note(f"geozarr could not remove the unfinished output {path}: {cleanup}")


def _temporary_sibling(target: str) -> str:
    return f"{target}{PARTIAL_MARK}{secrets.token_hex(4)}"


class _DirectoryStage:
    """A local directory output: written in a temporary sibling, renamed into place."""

    def __init__(self, target: str, *, overwrite: bool):
        self.target = target
        self._replace = False
        if os.path.isdir(target) and not os.listdir(target):
            self._replace = True  # an empty folder is no output to keep
        elif os.path.lexists(target):
            if not overwrite:
                raise NodeExistsError(f"{target} already exists; pass overwrite=True to "
                                      f"replace it")
            if not (os.path.isdir(target) and holds_zarr(target)):
                raise StoreError(f"{target} exists and is not a Zarr store; geozarr does not "
                                 f"replace it (remove it yourself)")
            self._replace = True
        self.temp = _temporary_sibling(target)
        self.store: Store = DirectoryStore(self.temp, create=True)

    def commit(self) -> None:
        old = None
        if self._replace and os.path.isdir(self.target):
            if os.listdir(self.target):
                old = f"{self.target}{_OLD_MARK}{secrets.token_hex(4)}"
                os.rename(self.target, old)
            else:
                os.rmdir(self.target)
        try:
            os.rename(self.temp, self.target)
        except OSError as error:
            if old is not None:
                os.rename(old, self.target)
            raise StoreError(f"cannot move the finished output {self.temp} to {self.target}: "
                             f"{error}") from error
        if old is not None:
            try:
                _discard_tree(old)
            except StoreError as error:  # the new output is in place: say so, do not fail
                warnings.warn(f"{self.target} was replaced, but the old content moved to "
                              f"{old} could not be removed: {error}", GeoZarrWarning,
                              stacklevel=4)

    def abort(self, error: BaseException) -> None:
        _discard_tree(self.temp, error)


class _ZipStage:
    """A zip archive output: written in a temporary folder, then packed into the archive,
    which :class:`~geozarr.storage.ZipStore` itself renames into place when closed."""

    def __init__(self, target: str | ZipStore, *, overwrite: bool):
        self._archive = target if isinstance(target, ZipStore) else None
        path = str(target.path) if isinstance(target, ZipStore) else target
        if self._archive is None and os.path.lexists(path):
            if not overwrite:
                raise NodeExistsError(f"{path} already exists; pass overwrite=True to replace it")
            if not os.path.isfile(path):
                raise StoreError(f"{path} exists and is not a file; geozarr does not replace it")
        self.target = path
        self.temp = _temporary_sibling(path)
        self.store: Store = DirectoryStore(self.temp, create=True)

    def commit(self) -> None:
        archive = self._archive or ZipStore(self.target, mode="w")
        keys = sorted(self.store.list_prefix(""), key=_metadata_last)
        try:
            for key in keys:
                value = self.store.get(key)
                if value is not None:
                    archive.set(key, value)
        except BaseException:
            if self._archive is None:
                archive.discard()
            raise
        if self._archive is None:
            archive.close()
        _discard_tree(self.temp)

    def abort(self, error: BaseException) -> None:
        _discard_tree(self.temp, error)


def _metadata_last(key: str) -> tuple[int, int, str]:
    """Sort key: chunks first, then array/group documents, the root's documents last."""
    name = key.rsplit("/", 1)[-1]
    if name not in ZARR_DOCUMENTS:
        return (0, 0, key)
    return (1, 1 if "/" not in key else 0, key)


class _InPlaceStage:
    """A store that cannot rename: written where it is, metadata last (by the writer)."""

    def __init__(self, store: Store, *, overwrite: bool):
        if next(iter(store.list_prefix("")), None) is not None:
            if not overwrite:
                raise NodeExistsError(f"{store!r} is not empty; pass overwrite=True to replace "
                                      f"its content")
            store.delete_prefix("")
        self.store = store
        self.target = repr(store)

    def commit(self) -> None:
        """Nothing to move: the metadata written last made the output visible."""

    def abort(self, error: BaseException) -> None:
        try:
            self.store.delete_prefix("")
        except (GeoZarrError, OSError) as cleanup:
            error.add_note(f"geozarr could not remove the unfinished output from "
                           f"{self.store!r}: {cleanup}")


Stage = _DirectoryStage | _ZipStage | _InPlaceStage


def open_stage(destination: Any, *, overwrite: bool) -> Stage:
    """The stage that builds an output at ``destination`` (see the module docstring)."""
    if isinstance(destination, ZipStore):
        return _ZipStage(destination, overwrite=overwrite)
    if isinstance(destination, Store):
        return _InPlaceStage(destination, overwrite=overwrite)
    if not isinstance(destination, (str, os.PathLike)):
        raise StoreError(f"cannot write a raster to {destination!r}: give a path, a URL or a "
                         f"geozarr Store")
    text = os.fsdecode(destination)
    if "://" in text:
        return _InPlaceStage(open_store(text, mode="w"), overwrite=overwrite)
    target = os.path.abspath(text)
    if target.lower().endswith(".zip") and not os.path.isdir(target):
        return _ZipStage(target, overwrite=overwrite)
    return _DirectoryStage(target, overwrite=overwrite)
