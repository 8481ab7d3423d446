"""Dask arrays over geozarr arrays and rasters, one task per stored object.

A task reads whole stored objects only: the chunks of an array, or its shards when it is
sharded (tasks that each read some inner chunks of one shard would each read that shard's
index, and two tasks writing one shard would race). The graph holds the :class:`Array`
itself, which pickles as (store, path, metadata), so the threaded scheduler, processes and
``distributed`` workers all read straight from the store. dask is imported here only, when
a dask array is asked for: ``import geozarr`` never imports it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from geozarr.core.array import Array
from geozarr.errors import UsageError
from geozarr.raster.bands import BandLayout

if TYPE_CHECKING:
    import dask.array


def storage_unit(array: Array) -> tuple[int, ...]:
    """The shape of one stored object of ``array``: its shard shape, else its chunk shape."""
    return array.shards or array.chunks


def _task_chunks(array: Array, chunks: Sequence[int] | None) -> tuple[int, ...]:
    """``chunks`` checked to be whole numbers of stored objects (the storage unit when None)."""
    unit = storage_unit(array)
    if chunks is None:
        return unit
    chunks = tuple(chunks)
    if len(chunks) != array.ndim:
        raise UsageError(f"{array.path or '/'}: chunks {chunks} has {len(chunks)} entries; "
                         f"the array has {array.ndim} dimensions")
    for size, stored, extent in zip(chunks, unit, array.shape):
        if not isinstance(size, (int, np.integer)) or size < 1 or (
                size % stored and size < extent):
            raise UsageError(f"{array.path or '/'}: chunks {chunks} must be positive multiples "
                             f"of the stored objects {unit} (or cover the whole dimension), "
                             "so that no two tasks read or write the same object")
    return tuple(int(size) for size in chunks)


def array_to_dask(array: Array, *, chunks: Sequence[int] | None = None,
                  name: str | None = None) -> dask.array.Array:
    """A lazy dask array of ``array``'s values.

    Parameters
    ----------
    array
        The array to read.
    chunks
        The task shape: whole multiples of the stored objects along each dimension (or the
        whole dimension). None: one task per shard, else per chunk.
    name
        The dask key prefix; by default a token of the array (its store, path and metadata).

    Raises
    ------
    UsageError
        ``chunks`` that would split a stored object between tasks.
    ImportError
        dask is not installed (``pip install geozarr[dask]``).
    """
    import dask.array as da

    task_chunks = _task_chunks(array, chunks)
    meta = np.empty((0,) * array.ndim, dtype=array.dtype)
    return da.from_array(array, chunks=task_chunks, name=name, lock=False, asarray=True,
                         fancy=False, inline_array=False, meta=meta)


def raster_to_dask(array: Array, layout: BandLayout) -> dask.array.Array:
    """The raster view of ``array`` as a lazy dask array ``(bands, rows, cols)``.

    The fixed extra dimensions are indexed, the band dimensions moved first and merged in C
    order (GDAL's band order), as :meth:`RasterReader.read` returns them. Chunks along rows
    and columns are the stored objects'.
    """
    import dask.array as da

    whole = array_to_dask(array)
    selection: list[int | slice] = [slice(None)] * array.ndim
    for axis, index in layout.fixed:
        selection[axis] = index
    view = whole[tuple(selection)]
    remaining = [axis for axis in range(array.ndim) if axis not in dict(layout.fixed)]
    order = [remaining.index(axis) for axis in (*layout.band_axes, layout.y_axis,
                                                layout.x_axis)]
    moved = da.transpose(view, order)
    rows, cols = moved.shape[-2:]
    return moved.reshape((layout.count, rows, cols))
