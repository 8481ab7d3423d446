"""Running geozarr's independent write tasks on a dask.distributed cluster.

geozarr has no cluster code of its own: :func:`~geozarr.raster.translate.translate` and
:func:`~geozarr.pyramid.build.build_pyramid` split their work into units that each write
whole stored objects (chunks, or shards when sharded), and given a ``client`` they hand those
units here instead of to their local thread pool. The same function does the work either
way; only the scheduler changes:

* each unit becomes one task keyed ``<label>-<token>-<index>`` (the dashboard groups them
  under the label) that carries the description every unit shares (where the output is
  being staged, the plans, how to open the source: a few kilobytes, pickled as locations
  and parameters), so any worker can run any task and none depends on another's data;
* a task is retried on error, and moved to another worker when its worker dies:
  a unit's bytes depend only on its inputs and every object is written whole, so a unit
  written twice, or half written and then again, ends with the bytes of one clean run;
* the calling process follows completions (``distributed.as_completed``), records them and
  reports progress; an error or an interruption cancels the units not yet run and waits for
  those already running to end, so that no write lands after the caller cleans up.

dask and distributed are imported here only, and this module only when a client is given:
``import geozarr`` and every local run work without them (``pip install geozarr[dask]``).
"""

from __future__ import annotations

import os
import pickle
import secrets
import time
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from geozarr.errors import GeoZarrError, UsageError
from geozarr.storage import MemoryStore

#: How many times a unit that raised is run again before its error is raised here (for the
#: transient failures of object storage that outlast the store's own retries). A unit whose
#: worker died is rescheduled by dask without counting as a retry.
RETRIES = 2
#: Seconds to wait, after an error, for units already running on the workers to end.
SETTLE_TIMEOUT = 120.0

Shared = TypeVar("Shared")
Item = TypeVar("Item")


def check_destination(client: Any, destination: Any) -> None:
    """Refuse what cannot work before anything is written: ``client`` that is not a
    synchronous :class:`distributed.Client`, or a destination the workers cannot write
    into (a memory store: each worker would write into its own copy).

    Raises
    ------
    UsageError
        Either of those.
    """
    from distributed import Client

    if not isinstance(client, Client):
        raise UsageError(f"client must be a dask.distributed.Client, got {client!r}")
    if client.asynchronous:
        raise UsageError("client is asynchronous; geozarr waits for its tasks: give a "
                         "synchronous dask.distributed.Client")
    memory = isinstance(destination, MemoryStore) or (
        isinstance(destination, (str, os.PathLike))
        and os.fsdecode(destination).lower().startswith("memory://"))
    if memory:
        raise UsageError(f"dask workers cannot write into the memory store {destination!r}: "
                         f"each would write into its own copy; give a path every worker "
                         f"sees, or an object store URL")


def worker_threads(client: Any) -> tuple[int, int]:
    """(The most threads one worker of ``client`` runs, the threads of all its workers);
    (1, 1) while the cluster has no worker yet. Tasks are sized so that the first many fit
    in one worker's memory, and cut small enough that the second many all stay busy."""
    threads = client.nthreads().values()
    return max(threads, default=1), max(1, sum(threads))


def run_tasks(client: Any, function: Callable[[Shared, Item], None], shared: Shared,
              items: Sequence[Item], *, label: str,
              done: Callable[[Item], None] | None = None, retries: int = RETRIES) -> None:
    """Run ``function(shared, item)`` for every item as tasks on ``client``'s workers.

    Parameters
    ----------
    client
        A synchronous :class:`distributed.Client`.
    function
        A module-level function (workers import it); it writes its item's objects and
        returns nothing.
    shared
        What every item needs (kept small: it travels with each task).
    items
        The independent units of work: no two may write the same stored object.
    label
        The tasks' key prefix, shown on the dask dashboard.
    done
        Called here, on the calling thread, with each item whose task finished (in the
        order they finish): to record it and to report progress. An exception from it
        stops the run.
    retries
        Runs again of a task that raised, before its error is raised here.

    Raises
    ------
    UsageError
        ``shared`` cannot be pickled (a store being written, an open file...).
    BaseException
        The first error a task raised after its retries (the remote exception, re-raised
        here), or whatever ``done`` raised; the tasks not yet finished are cancelled
        first.
    """
    from distributed import as_completed

    items = list(items)
    if not items:
        return
    try:
        pickle.dumps(shared)
    except (pickle.PicklingError, TypeError, AttributeError, GeoZarrError) as error:
        raise UsageError(f"{label}: the work cannot be sent to dask workers: {error}") \
            from error
    token = secrets.token_hex(4)
    tasks = client.map(_call, items, function=function, shared=shared,
                       key=[f"{label}-{token}-{index}" for index in range(len(items))],
                       retries=retries, pure=False)
    by_key = {task.key: item for task, item in zip(tasks, items)}
    try:
        for task in as_completed(tasks):
            task.result()  # re-raises the task's error
            if done is not None:
                done(by_key[task.key])
    except BaseException as error:
        try:
            client.cancel(tasks)
            _settle(client, f"{label}-{token}-")
        except Exception as cleanup:  # noqa: BLE001 -- never hide the error being raised
            error.add_note(f"geozarr could not stop the remaining {label} tasks: {cleanup}")
        raise


def _call(item: Item, *, function: Callable[[Shared, Item], None], shared: Shared) -> None:
    """(On a worker) one unit of work. A geozarr error leaves its cause behind: dask ships
    an exception with its chain, and a chain holding an exception that does not unpickle
    (rasterio's) would reach the caller as a bare ``Exception``; the cause is kept as a
    note."""
    try:
        function(shared, item)
    except GeoZarrError as error:
        cause = error.__cause__ or error.__context__
        if cause is not None and not isinstance(cause, GeoZarrError):
            error.add_note(f"caused by {type(cause).__name__}: {cause}")
            error.__cause__ = error.__context__ = None
            error.__suppress_context__ = True
        raise


def _settle(client: Any, prefix: str) -> None:
    """Wait until no task whose key starts with ``prefix`` runs on any worker.

    Cancelling forgets tasks on the scheduler, but one that already started runs to its
    end on its worker and may still write. Two quiet polls in a row are required, since a
    worker may start a task before it hears of the cancellation.

    Raises
    ------
    TimeoutError
        Tasks still run after :data:`SETTLE_TIMEOUT` seconds.
    """
    deadline = time.monotonic() + SETTLE_TIMEOUT
    quiet = 0
    while quiet < 2:
        running = client.run(_running, prefix, on_error="ignore")
        quiet = 0 if any(running.values()) else quiet + 1
        if time.monotonic() > deadline:
            raise TimeoutError(f"tasks {prefix}* still run after {SETTLE_TIMEOUT:.0f} s")
        time.sleep(0.05)


def _running(prefix: str, dask_worker: Any) -> int:
    """(On a worker) how many tasks whose key starts with ``prefix`` are running there,
    cancelled ones included."""
    return sum(1 for task in dask_worker.state.all_running_tasks
               if str(task.key).startswith(prefix))
