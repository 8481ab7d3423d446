"""The persistent thread pools that decode and encode chunks.

Pools live for the process, created on first use: one sized by the configuration for
decoding, and a wider one for stores that keep many requests in flight. Chunk codecs
(numcodecs' Zstd, Blosc, zlib...) release the GIL, so threads give real parallelism; a pool
that lives across calls keeps the per-call overhead small.
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
_pools: dict[int, ThreadPoolExecutor] = {}
_in_worker = threading.local()


def _mark_worker() -> None:
    _in_worker.flag = True


def _get_pool(threads: int) -> ThreadPoolExecutor:
    """The pool of ``threads`` workers: one per size asked for, kept for the process, so a
    network read's wide pool never oversubscribes the cores for local decoding."""
    pool = _pools.get(threads)
    if pool is None:
        with _lock:
            pool = _pools.get(threads)
            if pool is None:
                pool = _pools[threads] = ThreadPoolExecutor(
                    max_workers=threads, thread_name_prefix=f"geozarr-{threads}",
                    initializer=_mark_worker)
    return pool


def run_all(function: Callable[[T], R], items: Sequence[T], *,
            threads: int | None = None) -> list[R]:
    """``[function(item) for item in items]``, on the pool when that pays off.

    ``threads`` asks for more workers than the configured decode threads (a network store
    keeps many requests in flight). Runs serially when the work is small, when one thread is configured, or when called from
    inside a pool thread (nested submission could starve a small pool). The first exception
    raised by any item is re-raised here after every submitted item has finished, so no task
    is still writing when the caller sees the error.
    """
    settings = get_config()
    workers = max(settings.threads, threads or 0)
    if (len(items) <= settings.serial_chunk_limit or workers == 1
            or getattr(_in_worker, "flag", False)):
        return [function(item) for item in items]
    pool = _get_pool(workers)
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

