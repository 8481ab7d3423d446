"""Where an output is built, so that it appears whole or not at all.

A local directory (or a ``.zip``) is written into a temporary sibling
``<name>.geozarr-partial-<random>`` and renamed into place when complete (packed, for a zip,
with the metadata documents last); an existing output is renamed away only then, and deleted
last. A store that cannot rename (a :class:`~geozarr.storage.Store` object, ``memory://``,
object storage) is written where it is, chunks first and metadata last, so that no reader
finds an array before it is whole; there, ``overwrite=True`` removes the old content first.

Every writer of whole hierarchies (rasters, translate, pyramids) goes through this module:
:func:`open_stage` gives ``stage.store`` to write into, then ``stage.commit()`` or
``stage.abort(error)``. :mod:`geozarr.pyramid.staging` adds resumable builds on top of the
same pieces (:func:`resolve_destination`, :func:`check_local_destination`,
:func:`local_stage`, :func:`clear_in_place`).
"""

from __future__ import annotations

import os
import secrets
import shutil
import warnings
from contextlib import suppress
from dataclasses import dataclass
from typing import Any

from geozarr.errors import GeoZarrError, GeoZarrWarning, NodeExistsError, StoreError
from geozarr.storage import DirectoryStore, Store, ZipStore, open_store
from geozarr.storage.local import TEMP_MARK

#: Marks the temporary sibling a local output is written into before it is renamed.
PARTIAL_MARK = ".geozarr-partial-"
_OLD_MARK = ".geozarr-old-"
ZARR_DOCUMENTS = ("zarr.json", ".zgroup", ".zarray", ".zattrs", ".zmetadata")


def holds_zarr(path: str) -> bool:
    """Whether the folder ``path`` holds a Zarr node's metadata at its top."""
    return any(os.path.isfile(os.path.join(path, doc)) for doc in ZARR_DOCUMENTS)


def partial_sibling(target: str) -> str:
    """A fresh name ``<target>.geozarr-partial-<random>`` to build ``target`` in."""
    return f"{target}{PARTIAL_MARK}{secrets.token_hex(4)}"


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


def _discard_after_commit(path: str, what: str) -> None:
    """Remove the folder ``path`` once the output is in place: a failure is a warning,
    since the output itself is whole."""
    try:
        _discard_tree(path)
    except StoreError as error:
        warnings.warn(f"{what}, but {path} could not be removed: {error}", GeoZarrWarning,
                      stacklevel=6)


# -- the moves -----------------------------------------------------------------------------------
def move_into_place(partial: str, target: str, *, replace: bool = True) -> None:
    """Rename the finished folder ``partial`` to ``target``.

    With ``replace``, an existing ``target`` is renamed away first and deleted only once the
    new one is in place (a failure to delete it is a :class:`~geozarr.errors.GeoZarrWarning`);
    without, only an empty folder at ``target`` gives way, so that an output that appeared
    meanwhile is never replaced.

    Raises
    ------
    StoreError
        The rename failed (the old ``target`` is put back).
    """
    old = None
    if replace and os.path.isdir(target):
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
        _discard_after_commit(old, f"{target} was replaced")


def _documents_last(key: str) -> tuple[int, int, str]:
    """Sort key: chunks first, then array/group documents, the root's documents last."""
    name = key.rsplit("/", 1)[-1]
    if name not in ZARR_DOCUMENTS:
        return (0, 0, key)
    return (1, 1 if "/" not in key else 0, key)


def _pack_zip(folder: DirectoryStore, target: str, archive: ZipStore | None = None) -> None:
    """Copy the finished output in ``folder`` into a zip archive (documents last), then
    remove the folder.

    ``archive`` is a :class:`~geozarr.storage.ZipStore` the caller opened (and closes);
    without it a new archive at ``target`` is written, which
    :class:`~geozarr.storage.ZipStore` itself renames into place when closed.
    """
    out = archive or ZipStore(target, mode="w")
    try:
        for key in sorted(folder.list_prefix(""), key=_documents_last):
            value = folder.get(key)
            if value is not None:
                out.set(key, value)
    except BaseException:
        if archive is None:
            out.discard()
        raise
    if archive is None:
        out.close()
    _discard_after_commit(str(folder.root), f"{target} was written")


def _remove_unfinished_writes(root: str) -> None:
    """Delete the temporary files of writes that never finished under the folder ``root``.

    A process killed while writing a chunk (a lost dask worker, an interrupted build) leaves
    one; the chunk itself is written again, whole, by whoever redoes the work.
    """
    for folder, _, files in os.walk(root):
        for name in files:
            if name.startswith(".") and TEMP_MARK in name:
                with suppress(FileNotFoundError):  # a late writer renamed it after all
                    os.remove(os.path.join(folder, name))


# -- where an output goes ------------------------------------------------------------------------
@dataclass(frozen=True)
class Destination:
    """Where an output goes: a local path (a folder, or a zip archive) or a store written
    in place.

    Attributes
    ----------
    target
        The absolute local path, or the store's ``repr`` for a store written in place.
    store
        The store written in place; None for a local path.
    archive
        The :class:`~geozarr.storage.ZipStore` given as the destination, if one was.
    zipped
        Whether a local output is a zip archive.
    """

    target: str
    store: Store | None = None
    archive: ZipStore | None = None
    zipped: bool = False


def resolve_destination(destination: Any, *, what: str = "a raster") -> Destination:
    """Sort ``destination`` (a path, a URL, a store or a zip store) into a
    :class:`Destination`; a URL is opened as a store for writing.

    Raises
    ------
    StoreError
        ``destination`` is none of these (``what`` names the output in the message).
    """
    if isinstance(destination, ZipStore):
        return Destination(os.fspath(destination.path), archive=destination, zipped=True)
    if isinstance(destination, Store):
        return Destination(repr(destination), store=destination)
    if not isinstance(destination, (str, os.PathLike)):
        raise StoreError(f"cannot write {what} to {destination!r}: give a path, a URL or a "
                         f"geozarr Store")
    text = os.fsdecode(destination)
    if "://" in text:
        store = open_store(text, mode="w")
        return Destination(repr(store), store=store)
    target = os.path.abspath(text)
    return Destination(target, zipped=target.lower().endswith(".zip")
                       and not os.path.isdir(target))


def check_local_destination(target: str, *, zipped: bool, overwrite: bool) -> bool:
    """Check that a local output may be built at ``target``; return whether something is
    there that the finished output replaces.

    Nothing there and an empty folder are free; a Zarr folder (a file, for a zip) is
    replaced only with ``overwrite``; anything else is never replaced.

    Raises
    ------
    NodeExistsError
        Something is at ``target`` and ``overwrite`` is false.
    StoreError
        ``target`` is not a Zarr folder (not a file, for a zip).
    """
    if os.path.isdir(target) and not os.listdir(target):
        return True  # an empty folder is no output to keep
    if not os.path.lexists(target):
        return False
    if not overwrite:
        raise NodeExistsError(f"{target} already exists; pass overwrite=True to replace it")
    if zipped and not os.path.isfile(target):
        raise StoreError(f"{target} exists and is not a file; geozarr does not replace it")
    if not zipped and not (os.path.isdir(target) and holds_zarr(target)):
        raise StoreError(f"{target} exists and is not a Zarr store; geozarr does not "
                         f"replace it (remove it yourself)")
    return True


def clear_in_place(store: Store, *, overwrite: bool, hint: str = "") -> None:
    """Empty a store an output is written in place into.

    Raises
    ------
    NodeExistsError
        ``store`` holds something and ``overwrite`` is false (``hint`` is added to the
        message).
    """
    if next(iter(store.list_prefix("")), None) is None:
        return
    if not overwrite:
        raise NodeExistsError(f"{store!r} is not empty; pass overwrite=True to replace its "
                              f"content{hint}")
    store.delete_prefix("")


# -- the stages ----------------------------------------------------------------------------------
class FolderStage:
    """A local directory output built in the folder ``partial``, renamed to ``target`` on
    commit (the temporary files of unfinished writes removed first)."""

    def __init__(self, target: str, partial: str, *, replace: bool):
        self.target = target
        self.partial = partial
        self._replace = replace
        self.store: Store = DirectoryStore(partial, create=True)

    def commit(self) -> None:
        """Move the finished output into place."""
        _remove_unfinished_writes(self.partial)
        move_into_place(self.partial, self.target, replace=self._replace)

    def abort(self, error: BaseException) -> None:
        """Remove the unfinished output (a failure to do so is noted on ``error``)."""
        _discard_tree(self.partial, error)


class ZipStage:
    """A zip archive output built in the folder ``partial``, packed into the archive on
    commit (documents last)."""

    def __init__(self, target: str, partial: str, *, archive: ZipStore | None = None):
        self.target = target
        self.partial = partial
        self._archive = archive
        self._folder = DirectoryStore(partial, create=True)
        self.store: Store = self._folder

    def commit(self) -> None:
        """Pack the finished output into the archive."""
        _pack_zip(self._folder, self.target, self._archive)

    def abort(self, error: BaseException) -> None:
        """Remove the unfinished output (a failure to do so is noted on ``error``)."""
        _discard_tree(self.partial, error)


class InPlaceStage:
    """A store that cannot rename: written where it is, metadata last (by the writer)."""

    def __init__(self, store: Store):
        self.store = store
        self.target = repr(store)

    def commit(self) -> None:
        """Nothing to move: the metadata written last made the output visible."""

    def abort(self, error: BaseException) -> None:
        """Remove what was written (a failure to do so is noted on ``error``)."""
        try:
            self.store.delete_prefix("")
        except (GeoZarrError, OSError) as cleanup:
            error.add_note(f"geozarr could not remove the unfinished output from "
                           f"{self.store!r}: {cleanup}")


Stage = FolderStage | ZipStage | InPlaceStage


def local_stage(where: Destination, partial: str, *, replace: bool) -> FolderStage | ZipStage:
    """The stage building the local output ``where`` in the folder ``partial``;
    ``replace`` as :func:`check_local_destination` returned it."""
    if where.zipped:
        return ZipStage(where.target, partial, archive=where.archive)
    return FolderStage(where.target, partial, replace=replace)


def open_stage(destination: Any, *, overwrite: bool) -> Stage:
    """The stage that builds an output at ``destination`` (see the module docstring).

    Raises
    ------
    NodeExistsError
        Something is at ``destination`` and ``overwrite`` is false.
    StoreError
        ``destination`` exists and is not a Zarr store (never replaced), or is not a path,
        URL or store.
    """
    where = resolve_destination(destination)
    if where.store is not None:
        clear_in_place(where.store, overwrite=overwrite)
        return InPlaceStage(where.store)
    replace = where.archive is None and check_local_destination(
        where.target, zipped=where.zipped, overwrite=overwrite)
    return local_stage(where, partial_sibling(where.target), replace=replace)
