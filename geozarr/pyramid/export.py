"""Exporting a pyramid as static map tiles: ``{z}/{x}/{y}.png`` (or ``.webp``), nodata
transparent, for any web server or object store to host.

Only stored tiles are exported (tiles holding only nodata were never stored). Values become
8-bit as they are for uint8 data and through a linear stretch otherwise (``rescale``, by
default the range of the coarsest level: one small read). One band is written grey with
alpha; three (or the bands chosen) RGB with alpha. The folder is written beside its
destination and renamed into place when complete.
"""

from __future__ import annotations

import concurrent.futures as futures
import os
import secrets
import shutil
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from geozarr.errors import DimensionError, MetadataError, NodeExistsError, StoreError
from geozarr.pyramid.images import FORMATS, encode
from geozarr.pyramid.reader import Pyramid, open_pyramid
from geozarr.pyramid.reduce import valid_mask
from geozarr.pyramid.staging import move_into_place
from geozarr.pyramid.tms import MatrixGrid
from geozarr.raster.staging import PARTIAL_MARK

Progress = Callable[[float], None]


def export_tiles(pyramid: Any, directory: str | os.PathLike[str], *, format: str = "png",
                 levels: Sequence[int | str] | None = None, bands: Sequence[int] | None = None,
                 rescale: tuple[float, float] | None = None, scheme: str = "xyz",
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
        1-based band numbers: one (grey) or three (RGB); default band 1, or 1, 2, 3 when
        the data has three bands or more.
    rescale
        ``(low, high)`` mapped linearly to 0..255 (clipped); default none for uint8 data,
        else the coarsest level's minimum and maximum.
    scheme
        ``"xyz"`` (rows from the top, web maps) or ``"tms"`` (rows from the bottom).
    workers
        Threads encoding tiles; default the number of CPUs.
    overwrite
        Replace an existing ``directory`` (once the new one is complete).
    progress
        Called with the fraction of tiles done.

    Returns
    -------
    int
        The number of tile files written.

    Raises
    ------
    MetadataError
        An unknown format or scheme, bad bands or rescale, or a pyramid without a
        TileMatrixSet and limits.
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
    count = source.level(wanted[0]).count
    chosen = _bands(bands, count)
    stretch = _stretch(source, chosen, rescale)
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
    temp = f"{target}{PARTIAL_MARK}{secrets.token_hex(4)}"
    os.makedirs(temp)
    try:
        written = _run(source, jobs, temp, fmt, chosen, stretch, workers or os.cpu_count() or 1,
                       progress)
        move_into_place(temp, target)
    except BaseException:
        shutil.rmtree(temp, ignore_errors=True)
        raise
    finally:
        if not isinstance(pyramid, Pyramid):
            source.close()
    return written


def _bands(bands: Sequence[int] | None, count: int) -> tuple[int, ...]:
    if bands is None:
        return (1, 2, 3) if count >= 3 else (1,)
    chosen = tuple(bands)
    if len(chosen) not in (1, 3) or not all(isinstance(b, int) and 1 <= b <= count
                                            for b in chosen):
        raise MetadataError(f"bands must be one or three band numbers in 1..{count}, got "
                            f"{bands!r}")
    return chosen


def _stretch(source: Pyramid, bands: tuple[int, ...], rescale: tuple[float, float] | None
             ) -> tuple[float, float] | None:
    """(low, high) mapped to 0..255, or None to keep uint8 values as they are."""
    coarsest = source.level(source.levels[-1])
    if rescale is not None:
        try:
            low, high = (float(v) for v in rescale)
        except (TypeError, ValueError):
            raise MetadataError(f"rescale must be (low, high), got {rescale!r}") from None
        if not high > low:
            raise MetadataError(f"rescale needs high > low, got {rescale!r}")
        return low, high
    if np.dtype(coarsest.dtypes[0]) == np.uint8:
        return None
    values = coarsest.read(list(bands))
    finite = values[valid_mask(values, coarsest.nodata)]
    if finite.size == 0:
        return (0.0, 1.0)
    low, high = float(finite.min()), float(finite.max())
    return (low, high if high > low else low + 1.0)


def _pixels(tile: np.ma.MaskedArray, bands: tuple[int, ...],
            stretch: tuple[float, float] | None) -> np.ndarray | None:
    """``(h, w, channels)`` uint8 with alpha last; None when the tile has no valid pixel."""
    data = tile.data[[b - 1 for b in bands]]
    mask = np.ma.getmaskarray(tile)[[b - 1 for b in bands]].any(axis=0)
    if mask.all():
        return None
    if stretch is None:
        values = data.astype(np.uint8)
    else:
        low, high = stretch
        scaled = (data.astype(np.float64) - low) * (255.0 / (high - low))
        values = np.clip(np.nan_to_num(scaled, nan=0.0) + 0.5, 0, 255).astype(np.uint8)
    alpha = np.where(mask, 0, 255).astype(np.uint8)
    values = np.where(mask, 0, values)
    return np.ascontiguousarray(np.concatenate([values, alpha[np.newaxis]]).transpose(1, 2, 0))


def _run(source: Pyramid, jobs: list[tuple[str, int, int, int]], root: str, fmt: str,
         bands: tuple[int, ...], stretch: tuple[float, float] | None, workers: int,
         progress: Progress | None) -> int:
    def one(job: tuple[str, int, int, int]) -> int:
        z, col, xyz, y = job
        pixels = _pixels(source.tile(z, col, xyz), bands, stretch)
        if pixels is None:
            return 0
        folder = os.path.join(root, z, str(col))
        os.makedirs(folder, exist_ok=True)
        with open(os.path.join(folder, f"{y}.{fmt}"), "wb") as file:
            file.write(encode(pixels, fmt))
        return 1

    written, done = 0, 0
    with futures.ThreadPoolExecutor(max_workers=workers,
                                    thread_name_prefix="geozarr-export") as pool:
        for result in pool.map(one, jobs):
            written += result
            done += 1
            if progress is not None:
                progress(done / len(jobs))
    return written
