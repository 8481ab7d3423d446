"""The basic indexer against numpy: every selection maps every element exactly once."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from geozarr.errors import ArrayIndexError
from geozarr.indexing import BasicIndexer


def _gather(array: np.ndarray, chunks: tuple[int, ...], selection: object) -> np.ndarray:
    """Assemble ``array[selection]`` chunk by chunk, the way the core reads."""
    indexer = BasicIndexer(selection, array.shape, chunks)
    out = np.full(indexer.out_shape, -1, dtype=array.dtype)
    target = indexer.expand(out)
    seen = np.zeros(indexer.expanded_shape, dtype=int)
    for projection in indexer:
        origin = tuple(c * n for c, n in zip(projection.coords, chunks))
        chunk = array[tuple(slice(o, o + n) for o, n in zip(origin, chunks))]
        padded = np.full(chunks, -2, dtype=array.dtype)
        padded[tuple(slice(0, s) for s in chunk.shape)] = chunk
        target[projection.out_selection] = padded[projection.chunk_selection]
        seen[projection.out_selection] += 1
    assert (seen == 1).all(), "every output element comes from exactly one chunk"
    return out


def _slices(size: int) -> st.SearchStrategy[slice]:
    bound = st.integers(-size - 3, size + 3) | st.none()
    step = st.integers(-7, 7).filter(lambda s: s != 0) | st.none()
    return st.builds(slice, bound, bound, step)


@st.composite
def _case(draw: st.DrawFn) -> tuple[tuple[int, ...], tuple[int, ...], tuple[object, ...]]:
    ndim = draw(st.integers(1, 3))
    shape = tuple(draw(st.integers(0, 23)) for _ in range(ndim))
    chunks = tuple(draw(st.integers(1, 9)) for _ in range(ndim))
    selection = []
    for size in shape:
        if size and draw(st.booleans()):
            selection.append(draw(st.integers(-size, size - 1)))
        else:
            selection.append(draw(_slices(size)))
    return shape, chunks, tuple(selection)


@settings(max_examples=400, deadline=None)
@given(_case())
def test_matches_numpy(case: tuple) -> None:
    shape, chunks, selection = case
    array = np.arange(int(np.prod(shape)), dtype=np.int64).reshape(shape)
    np.testing.assert_array_equal(_gather(array, chunks, selection), array[selection])


@pytest.mark.parametrize("selection", [..., (Ellipsis, 2), (1, ...), (slice(None), ..., 3)])
def test_ellipsis(selection: object) -> None:
    array = np.arange(4 * 5 * 6).reshape(4, 5, 6)
    np.testing.assert_array_equal(_gather(array, (3, 2, 4), selection), array[selection])


def test_complete_flags_edge_chunks() -> None:
    indexer = BasicIndexer(..., (10, 7), (4, 4))
    flags = {p.coords: p.complete for p in indexer}
    assert all(flags.values()) and len(flags) == 6
    partial = {p.coords: p.complete for p in BasicIndexer((slice(1, 10), slice(0, 7)),
                                                          (10, 7), (4, 4))}
    assert partial[(0, 0)] is False and partial[(1, 0)] is True and partial[(2, 1)] is True


@pytest.mark.parametrize("selection, message", [
    ((10,), "out of bounds"), ((-11,), "out of bounds"), ((0, 0, 0), "too many indices"),
    ((..., ...), "single ellipsis"), (([1, 2],), "unsupported index"), ((1.5,), "unsupported"),
])
def test_bad_selections(selection: tuple, message: str) -> None:
    with pytest.raises(ArrayIndexError, match=message):
        BasicIndexer(selection, (10, 4), (3, 3))
