"""Basic (numpy-style) indexing over a regular chunk grid.

A selection (ints, slices of any step, ``...``) is normalised to one ascending range per
dimension. The indexer then yields, for every chunk the selection touches, a
:class:`ChunkProjection`: the chunk's grid coordinates, the selection inside the chunk, and
where those values go in the output. Negative steps and integer indices are applied at the
end as a view of the output (a reversed axis, a dropped axis), so the per-chunk work only ever
sees positive steps.
"""

from __future__ import annotations

import itertools
import numbers
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from geozarr.errors import ArrayIndexError


@dataclass(frozen=True, slots=True)
class DimSelection:
    """One dimension of a selection: ``count`` items from ``start`` every ``step`` (> 0).

    ``drop`` marks an integer index (the axis disappears from the result); ``reverse`` a
    negative step (the axis is read ascending and reversed at the end).
    """

    start: int
    step: int
    count: int
    drop: bool = False
    reverse: bool = False


def _normalise_dim(item: object, size: int, dim: int) -> DimSelection:
    if isinstance(item, slice):
        start, stop, step = item.indices(size)
        count = len(range(start, stop, step))
        if step > 0:
            return DimSelection(start, step, count)
        if count == 0:
            return DimSelection(0, 1, 0, reverse=True)
        last = start + (count - 1) * step  # the smallest index selected
        return DimSelection(last, -step, count, reverse=True)
    if isinstance(item, (numbers.Integral, np.integer)) and not isinstance(item, bool):
        index = int(item)
        if not -size <= index < size:
            raise ArrayIndexError(
                f"index {index} is out of bounds for dimension {dim} of size {size}")
        return DimSelection(index % size, 1, 1, drop=True)
    raise ArrayIndexError(
        f"unsupported index {item!r} for dimension {dim}: use integers, slices or Ellipsis")


def normalise_selection(selection: object, shape: tuple[int, ...]) -> tuple[DimSelection, ...]:
    """One :class:`DimSelection` per dimension of ``shape`` for a basic-indexing selection."""
    if not isinstance(selection, tuple):
        selection = (selection,)
    if sum(1 for item in selection if item is Ellipsis) > 1:
        raise ArrayIndexError("an index can only have a single ellipsis ('...')")
    if Ellipsis in selection:
        at = selection.index(Ellipsis)
        fill = len(shape) - (len(selection) - 1)
        selection = selection[:at] + (slice(None),) * max(fill, 0) + selection[at + 1:]
    if len(selection) > len(shape):
        raise ArrayIndexError(
            f"too many indices: {len(selection)} given for an array of {len(shape)} dimensions")
    selection = selection + (slice(None),) * (len(shape) - len(selection))
    return tuple(_normalise_dim(item, size, dim)
                 for dim, (item, size) in enumerate(zip(selection, shape)))


@dataclass(frozen=True, slots=True)
class ChunkProjection:
    """The part of one chunk a selection touches.

    ``chunk_selection`` indexes the chunk (full chunk shape, positive steps);
    ``out_selection`` indexes the expanded output (one axis per array dimension, ascending);
    ``complete`` is True when the selection covers every element of the chunk that lies inside
    the array, so a write need not read the chunk first.
    """

    coords: tuple[int, ...]
    chunk_selection: tuple[slice, ...]
    out_selection: tuple[slice, ...]
    complete: bool


def _dim_projections(sel: DimSelection, chunk: int, size: int
                     ) -> list[tuple[int, slice, slice, bool]]:
    """(chunk index, selection in the chunk, selection in the output, complete) per chunk."""
    if sel.count == 0:
        return []
    first = sel.start
    last = sel.start + (sel.count - 1) * sel.step
    result = []
    for index in range(first // chunk, last // chunk + 1):
        low = index * chunk
        high = min(low + chunk, size)
        # items j with low <= start + j*step < high
        j_low = max(0, -(-(low - sel.start) // sel.step))
        j_high = min(sel.count, -(-(high - sel.start) // sel.step))
        if j_low >= j_high:
            continue
        begin = sel.start + j_low * sel.step - low
        end = sel.start + (j_high - 1) * sel.step - low + 1
        complete = sel.step == 1 and begin == 0 and end == high - low
        result.append((index, slice(begin, end, sel.step), slice(j_low, j_high), complete))
    return result


class BasicIndexer:
    """The chunks a basic selection touches on a regular grid, and how they map to the output.

    Parameters
    ----------
    selection
        Anything numpy basic indexing accepts: ints, slices (any step), ``...``.
    shape, chunks
        The array shape and the chunk shape of the grid.
    """

    def __init__(self, selection: object, shape: tuple[int, ...], chunks: tuple[int, ...]):
        self.dims = normalise_selection(selection, shape)
        self.shape = shape
        self.chunks = chunks
        #: Shape of the expanded output: one axis per array dimension.
        self.expanded_shape = tuple(d.count for d in self.dims)
        #: Shape of the result the user sees (integer-indexed axes dropped).
        self.out_shape = tuple(d.count for d in self.dims if not d.drop)
        self._per_dim = [_dim_projections(d, c, s) for d, c, s in zip(self.dims, chunks, shape)]

    @property
    def nchunks(self) -> int:
        """How many chunks the selection touches."""
        return int(np.prod([len(p) for p in self._per_dim], dtype=np.int64))

    def __iter__(self) -> Iterator[ChunkProjection]:
        for combo in itertools.product(*self._per_dim):
            yield ChunkProjection(
                coords=tuple(c[0] for c in combo),
                chunk_selection=tuple(c[1] for c in combo),
                out_selection=tuple(c[2] for c in combo),
                complete=all(c[3] for c in combo),
            )

    def expand(self, result: np.ndarray) -> np.ndarray:
        """A view of ``result`` (user-facing shape) with one ascending axis per dimension."""
        view = result.reshape(self.expanded_shape) if result.shape != self.expanded_shape \
            else result
        flips = tuple(slice(None, None, -1) if d.reverse else slice(None) for d in self.dims)
        return view[flips] if any(d.reverse for d in self.dims) else view
