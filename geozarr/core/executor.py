"""The persistent thread pool that decodes and encodes chunks.

One pool for the process, created on first use and grown when the configuration asks for
more threads. Chunk codecs (numcodecs' Zstd, Blosc, zlib...) release the GIL, so threads give
real parallelism; a pool that lives across calls keeps the per-call overhead small.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from geozarr.config import get_config

T = TypeVar("T")
R = TypeVar("R")

_lock = threading.Lock()
_pool: ThreadPoolExecutor | None = None
_pool_size = 0
_in_worker = threading.local()


def _mark_worker() -> None:
    _in_worker.flag = True


def _get_pool(threads: int) -> ThreadPoolExecutor:
    global _pool, _pool_size
    with _lock:
        if _pool is None or _pool_size < threads:
            old = _pool
            _pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="geozarr",
                                       initializer=_mark_worker)
            _pool_size = threads
            if old is not None:
                old.shutdown(wait=False)
        return _pool


def run_all(function: Callable[[T], R], items: Sequence[T]) -> list[R]:
    """``[function(item) for item in items]``, on the pool when that pays off.

    Runs serially when the work is small, when one thread is configured, or when called from
    inside a pool thread (nested submission could starve a small pool). The first exception
    raised by any item is re-raised here after every submitted item has finished, so no task
    is still writing when the caller sees the error.
    """
    settings = get_config()
    if (len(items) <= settings.serial_chunk_limit or settings.threads == 1
            or getattr(_in_worker, "flag", False)):
        return [function(item) for item in items]
    pool = _get_pool(settings.threads)
    futures = [pool.submit(function, item) for item in items]
    results: list[R] = []
    error: BaseException | None = None
    for future in futures:
        try:
            results.append(future.result())
        except BaseException as exc:  # re-raised below, once every task has finished
            if error is None:
                error = exc
    if error is not None:
        raise error
    return results

