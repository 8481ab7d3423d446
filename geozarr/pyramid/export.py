"""Exporting a pyramid as static map tiles: ``{z}/{x}/{y}.png`` (or ``.webp``), nodata
transparent, for any web server or object store to host.

Only stored tiles are exported (tiles holding only nodata were never stored). Tiles are
coloured by :mod:`geozarr.render` exactly as ``geozarr serve`` colours them: one band through
a colour map, three uint8 bands as RGB, every tile with the one stretch of
:func:`pyramid_stretch`, so a static export and the served map look alike. The folder is
written beside its destination and renamed into place when complete.
"""

from __future__ import annotations

import concurrent.futures as futures
import itertools
import os
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from geozarr.errors import DimensionError, MetadataError, NodeExistsError, StoreError
from geozarr.pyramid.reader import Pyramid, open_pyramid
from geozarr.pyramid.tms import MatrixGrid
from geozarr.raster.staging import move_into_place, partial_sibling
from geozarr.render import FORMATS, Stretch, choose_bands, colorize_bands, default_stretch, \
    encode_image, lookup_table

Progress = Callable[[float], None]
#: Tiles in flight per worker thread: enough to keep the threads busy, few enough that a
#: cancelled export stops within a handful of tiles.
IN_FLIGHT_PER_WORKER = 2


def export_tiles(pyramid: Any, directory: str | os.PathLike[str], *, format: str = "png",
                 levels: Sequence[int | str] | None = None, bands: Sequence[int] | None = None,
                 colormap: str = "viridis", rescale: tuple[float, float] | None = None,
                 scheme: str = "xyz",
                 workers: int | None = None, overwrite: bool = False,
                 progress: Progress | None = None) -> int:
    """Write the tiles of ``pyramid`` as ``directory/{z}/{x}/{y}.{format}``.

    Parameters
    ----------
    pyramid
        A :class:`~geozarr.pyramid.reader.Pyramid`, or what :func:`open_pyramid` opens.
    format
        ``"png"`` or ``"webp"`` (lossless).
    levels
        TileMatrix ids to export; default every level.
    bands
        1-based band numbers: one (colour-mapped) or three (RGB); default 1, 2, 3 for
        three uint8 bands or more, else 1.
    colormap
        A name of :data:`geozarr.render.COLORMAPS`, for one band.
    rescale
        ``(low, high)`` spanning the colours; default :func:`pyramid_stretch`'s (the 2nd to
        98th percentile of the coarsest level; none for uint8 RGB), as ``geozarr serve``.
    scheme
        ``"xyz"`` (rows from the top, web maps) or ``"tms"`` (rows from the bottom).
    workers
        Threads encoding tiles; default the number of CPUs. At most
        ``IN_FLIGHT_PER_WORKER * workers`` tiles are queued at a time, so an interrupt (or
        ``progress`` raising) stops the export within a few tiles.
    overwrite
        Replace an existing ``directory`` (once the new one is complete).
    progress
        Called with the fraction of tiles done; an exception it raises cancels the export
        (``directory`` is left as it was).

    Returns
    -------
    int
        The number of tile files written.

    Raises
    ------
    MetadataError
        An unknown format, scheme or colour map, bad bands or rescale, or a pyramid
        without a TileMatrixSet and limits.
    NodeExistsError
        ``directory`` exists and ``overwrite`` is false.
    """
    fmt = str(format).lower()
    if fmt not in FORMATS:
        raise MetadataError(f"format must be one of {', '.join(FORMATS)}, got {format!r}")
    if scheme not in ("xyz", "tms"):
        raise MetadataError(f"scheme must be 'xyz' or 'tms', got {scheme!r}")
    source = pyramid if isinstance(pyramid, Pyramid) else open_pyramid(pyramid)
    tms = source.tms
    if tms is None:
        raise MetadataError(f"{source!r} names no TileMatrixSet; its tiles cannot be exported")
    wanted = [str(z) for z in (levels if levels is not None else source.levels)]
    for z in wanted:
        if z not in source.levels:
            raise DimensionError(f"no level {z!r} in {source!r} (levels {source.levels})")
    lookup_table(colormap)  # an unknown colour map fails here, before any work
    finest = source.level(wanted[0])
    chosen = choose_bands(bands, finest.count, finest.dtypes[0])
    stretch = pyramid_stretch(source, chosen, rescale)
    target = os.path.abspath(os.fspath(directory))
    if os.path.lexists(target) and not (os.path.isdir(target) and not os.listdir(target)):
        if not overwrite:
            raise NodeExistsError(f"{target} already exists; pass overwrite=True to replace it")
        if not os.path.isdir(target):
            raise StoreError(f"{target} exists and is not a folder; geozarr does not replace it")
    jobs = []
    for z in wanted:
        grid = MatrixGrid.of(tms, int(z))
        for col, row in source.stored_tiles(z):
            y = row if (scheme == "xyz") == grid.top_left else grid.matrix_height - 1 - row
            xyz = row if grid.top_left else grid.matrix_height - 1 - row
            jobs.append((z, col, xyz, y))
    temp = partial_sibling(target)
    os.makedirs(temp)
    try:
        written = _run(source, jobs, temp, _Paint(fmt, chosen, stretch, colormap),
                       workers or os.cpu_count() or 1, progress)
        move_into_place(temp, target)
    except BaseException:
        shutil.rmtree(temp, ignore_errors=True)
        raise
    finally:
        if not isinstance(pyramid, Pyramid):
            source.close()
    return written


def pyramid_stretch(pyramid: Pyramid, bands: Sequence[int],
                    rescale: Sequence[float] | None = None) -> Stretch | None:
    """The one stretch every tile of ``pyramid`` is coloured with (so that neighbouring
    tiles match): ``rescale`` when given, else :func:`geozarr.render.default_stretch` of
    the 1-based ``bands`` of the coarsest level (one small read). ``geozarr serve`` and
    :func:`export_tiles` both use it, so served and exported tiles look alike.

    Raises
    ------
    MetadataError
        ``rescale`` is not two numbers with ``high > low``.
    """
    if rescale is not None:
        return Stretch.from_pair(rescale)
    coarsest = pyramid.level(pyramid.levels[-1])
    return default_stretch(coarsest.read(list(bands), masked=True))


@dataclass(frozen=True)
class _Paint:
    """How a tile becomes an image file: its bands, stretch, colour map and format."""

    fmt: str
    bands: tuple[int, ...]
    stretch: Stretch | None
    colormap: str

    def __call__(self, tile: np.ma.MaskedArray) -> bytes | None:
        """The image file of ``tile``, or None when it shows nothing."""
        rgba = colorize_bands(tile, self.bands, stretch=self.stretch, colormap=self.colormap)
        return None if rgba is None else encode_image(rgba, self.fmt)


def _run(source: Pyramid, jobs: list[tuple[str, int, int, int]], root: str, paint: _Paint,
         workers: int, progress: Progress | None) -> int:
    """Write the tiles of ``jobs`` under ``root`` on ``workers`` threads, submitting a tile
    only as an earlier one finishes; returns the number of files written. On an exception
    (an interrupt, ``progress`` raising, a failed tile) the queued tiles are cancelled and
    only those already running finish."""
    def one(job: tuple[str, int, int, int]) -> int:
        z, col, xyz, y = job
        image = paint(source.tile(z, col, xyz))
        if image is None:
            return 0
        folder = os.path.join(root, z, str(col))
        os.makedirs(folder, exist_ok=True)
        with open(os.path.join(folder, f"{y}.{paint.fmt}"), "wb") as file:
            file.write(image)
        return 1

    waiting = iter(jobs)
    written, done = 0, 0
    pool = futures.ThreadPoolExecutor(max_workers=workers, thread_name_prefix="geozarr-export")
    try:
        running = {pool.submit(one, job)
                   for job in itertools.islice(waiting, IN_FLIGHT_PER_WORKER * workers)}
        while running:
            finished, running = futures.wait(running, return_when=futures.FIRST_COMPLETED)
            for future in finished:
                written += future.result()
                done += 1
                if progress is not None:
                    progress(done / len(jobs))
                running.update(pool.submit(one, job) for job in itertools.islice(waiting, 1))
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    return written
