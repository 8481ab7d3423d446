"""Long raster work done block by block: the plan of blocks, the bounded pipeline that carries
them from a reader to a writer, and the progress it reports.

A raster larger than memory is copied in blocks: row bands as high as the destination's
storage unit (a Zarr chunk or shard, a GeoTIFF tile), as wide as the memory budget allows, so
that every stored object is written once and whole. One thread reads the next blocks while the
calling thread writes (and the core's pool encodes chunks): decoding and encoding overlap on
two cores. A bounded queue holds at most ``depth`` blocks between them, so memory stays at
about ``(depth + 3)`` blocks whatever the raster's size.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass

import numpy as np
from rasterio.windows import Window

from geozarr.errors import MetadataError

#: Blocks waiting in the queue between the reader and the writer.
QUEUE_DEPTH = 2
#: Blocks alive besides the queued ones: the one being read, the one being written, and the
#: chunk copies the write makes while encoding (about one more block).
BLOCKS_OUTSIDE_QUEUE = 3

Progress = Callable[[float], None]
BlockReader = Callable[[Window], np.ndarray]


@dataclass(frozen=True)
class BlockPlan:
    """The blocks a raster is copied in: ``rows`` x ``cols`` windows, row band by row band
    (the last row and column of blocks may be smaller)."""

    height: int
    width: int
    rows: int
    cols: int

    def windows(self) -> Iterator[Window]:
        """Every block as an integer :class:`rasterio.windows.Window`, in row-major order."""
        for row in range(0, self.height, self.rows):
            for col in range(0, self.width, self.cols):
                yield Window(col, row, min(self.cols, self.width - col),
                             min(self.rows, self.height - row))

    @property
    def count(self) -> int:
        """The number of blocks."""
        return -(-self.height // self.rows) * -(-self.width // self.cols)


def plan_blocks(height: int, width: int, unit: tuple[int, int], pixel_bytes: int,
                block_bytes: int) -> BlockPlan:
    """Blocks one storage ``unit`` high and as many units wide as fit in ``block_bytes``
    (at least one unit: a stored object is never split, so a unit larger than the budget
    sets the memory used instead).

    Parameters
    ----------
    height, width
        The raster size.
    unit
        (rows, columns) of one stored object of the destination.
    pixel_bytes
        Bytes of one pixel over all bands.
    block_bytes
        The most one block should take.
    """
    unit_rows, unit_cols = unit
    rows = min(unit_rows, height)
    unit_bytes = rows * min(unit_cols, width) * pixel_bytes
    units = max(1, block_bytes // max(1, unit_bytes))
    cols = min(width, units * unit_cols)
    return BlockPlan(height=height, width=width, rows=rows, cols=cols)


def block_budget(memory_limit: int) -> tuple[int, int]:
    """How ``memory_limit`` bytes are shared: (bytes per block, bytes of GDAL's block cache).

    A quarter of the limit goes to the blocks in flight, an eighth to GDAL's cache; the rest
    is left to the interpreter, the libraries and the encoders' buffers, so that the peak
    resident memory of the whole process stays under the limit.

    Raises
    ------
    MetadataError
        ``memory_limit`` is not a positive integer.
    """
    if isinstance(memory_limit, bool) or not isinstance(memory_limit, int) or memory_limit <= 0:
        raise MetadataError(f"memory_limit must be a positive number of bytes, got "
                            f"{memory_limit!r}")
    per_block = memory_limit // 4 // (QUEUE_DEPTH + BLOCKS_OUTSIDE_QUEUE)
    return max(1, per_block), max(8 * 2**20, memory_limit // 8)


@dataclass(frozen=True)
class _Failure:
    error: BaseException


_DONE = object()


def pump(windows: Sequence[Window],
         open_reader: Callable[[], AbstractContextManager[BlockReader]],
         write: Callable[[Window, np.ndarray], None], *, depth: int = QUEUE_DEPTH,
         progress: Progress | None = None, span: tuple[float, float] = (0.0, 1.0)) -> None:
    """Read every window on a second thread and write it on this one.

    Parameters
    ----------
    windows
        The blocks, in the order to read them.
    open_reader
        Called on the reading thread; gives a context whose value reads one window (so a
        dataset that is not thread-safe is opened, used and closed on that thread alone).
    write
        Writes one block; called on this thread, in the order of ``windows``.
    depth
        Blocks that may wait between the reader and the writer.
    progress
        Called after each block with the fraction done, mapped into ``span``.

    Raises
    ------
    BaseException
        Whatever the reader, the writer or ``progress`` raised (also ``KeyboardInterrupt``):
        the reading thread is stopped and joined first, so nothing runs on after the error.
    """
    pending: queue.Queue[object] = queue.Queue(maxsize=max(1, depth))
    stop = threading.Event()
    total = sum(int(w.width) * int(w.height) for w in windows) or 1

    def put(item: object) -> None:
        while not stop.is_set():
            try:
                pending.put(item, timeout=0.05)
                return
            except queue.Full:
                continue

    def produce() -> None:
        try:
            with open_reader() as read:
                for window in windows:
                    if stop.is_set():
                        return
                    put((window, read(window)))
            put(_DONE)
        except BaseException as error:  # handed to the writing thread, which re-raises it
            put(_Failure(error))

    reader = threading.Thread(target=produce, name="geozarr-block-reader", daemon=True)
    reader.start()
    try:
        done = 0
        start, end = span
        while True:
            item = pending.get()
            if item is _DONE:
                return
            if isinstance(item, _Failure):
                raise item.error
            window, block = item  # type: ignore[misc]
            write(window, block)
            done += int(window.width) * int(window.height)
            del item, block
            if progress is not None:
                progress(start + (end - start) * min(1.0, done / total))
    finally:
        stop.set()
        while True:  # unblock a reader waiting for room, and free what it queued
            try:
                pending.get_nowait()
            except queue.Empty:
                break
        reader.join()
