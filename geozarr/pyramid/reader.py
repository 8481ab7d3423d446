"""Reading a pyramid: its levels as rasters, its tiles by (z, x, y), the level for a scale.

:func:`open_pyramid` opens a group holding a pyramid in any form
:mod:`geozarr.pyramid.metadata` reads; :class:`Pyramid` gives each level as a
:class:`~geozarr.raster.reader.RasterReader` and each tile as a masked array. A tile of the
pyramid's own TileMatrixSet is one chunk read; a tile of another TMS is warped from the
level whose resolution suits it.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from typing import Any

import numpy as np
from affine import Affine
from morecantile.models import TileMatrixSet
from rasterio.windows import Window

from geozarr.core.array import Array
from geozarr.core.group import Group
from geozarr.core.hierarchy import open_group
from geozarr.errors import DimensionError, MetadataError
from geozarr.pyramid.metadata import LevelEntry, PyramidLayout, read_layout
from geozarr.pyramid.plan import transform_points
from geozarr.pyramid.reduce import valid_mask
from geozarr.pyramid.tms import MatrixGrid, TileLimits, resolve_tms
from geozarr.pyramid.warp import SourceGrid, source_pieces, warp_region, window_transform
from geozarr.raster.dataset import GeoDataset
from geozarr.raster.reader import RasterReader
from geozarr.storage import Store

#: How a level is chosen for a resolution (GDAL's ZOOM_LEVEL_STRATEGY, morecantile's).
STRATEGIES = ("auto", "lower", "upper")


def open_pyramid(target: str | os.PathLike[str] | Store, *, variable: str | None = None
                 ) -> Pyramid:
    """Open the pyramid at ``target`` (a path, ``.zip``, URL or store of its group).

    Parameters
    ----------
    variable
        The data array of each level, when a level holds several.

    Raises
    ------
    MetadataError
        The group holds no pyramid metadata of a known form.
    NodeNotFoundError
        Nothing is at ``target``.
    """
    group = open_group(target, mode="r")
    children = [name for name, _ in group.groups()]
    location = target if not isinstance(target, Store) else repr(target)
    layout = read_layout(group.attrs.asdict(), children, where=os.fspath(location))
    return Pyramid(group, layout, variable=variable, location=os.fspath(location))


class Pyramid:
    """A tile pyramid: ``tms``, ``levels`` (TileMatrix ids, finest first), ``level(z)``,
    ``tile(z, x, y)`` and ``select_level(res)``."""

    def __init__(self, group: Group, layout: PyramidLayout, *, variable: str | None,
                 location: str):
        self._group = group
        self._layout = layout
        self._variable = variable
        self._location = location
        self._entries = {entry.id: entry for entry in layout.levels}
        self._readers: dict[str, RasterReader] = {}

    @property
    def tms(self) -> TileMatrixSet | None:
        """The morecantile TileMatrixSet of the levels (None when the metadata names none)."""
        return self._layout.tms

    @property
    def levels(self) -> tuple[str, ...]:
        """The TileMatrix ids of the levels, finest first."""
        return tuple(entry.id for entry in self._layout.levels)

    @property
    def layout(self) -> PyramidLayout:
        """The metadata as read (its form, the per-level transforms and limits)."""
        return self._layout

    @property
    def resampling_method(self) -> str | None:
        return self._layout.resampling_method

    def limits(self, z: int | str) -> TileLimits | None:
        """The tile limits of level ``z`` (None when the metadata gives none)."""
        return self._entry(z).limits

    def _entry(self, z: int | str) -> LevelEntry:
        entry = self._entries.get(str(z))
        if entry is None:
            raise DimensionError(f"{self._location}: no level {z!r}; the levels are "
                                 f"{', '.join(self.levels)}")
        return entry

    def level(self, z: int | str) -> RasterReader:
        """Level ``z`` as a raster (rasterio's names: ``crs``, ``transform``, ``read``...)."""
        entry = self._entry(z)
        reader = self._readers.get(entry.id)
        if reader is None:
            node = self._group[entry.asset]
            where = f"{self._location}/{entry.asset}"
            if isinstance(node, Array):
                reader = GeoDataset(self._group, self._location).open_raster(entry.asset)
            else:
                reader = GeoDataset(node, where).open_raster(self._variable)
            self._readers[entry.id] = reader
        return reader

    def _cell_size(self, entry: LevelEntry) -> float:
        if entry.transform is not None:
            return math.hypot(entry.transform.a, entry.transform.d)
        if self.tms is not None and entry.id.lstrip("-").isdigit():
            return MatrixGrid.of(self.tms, int(entry.id)).cell_size
        return max(self.level(entry.id).res)

    def select_level(self, res: float, strategy: str = "auto") -> str:
        """The level to read for a target resolution ``res`` (in the pyramid CRS's units).

        ``"upper"`` takes the coarsest level at least as fine as ``res`` (never upsampled);
        ``"lower"`` the next coarser one; ``"auto"`` whichever of the two is nearer in scale
        (GDAL's COG ``ZOOM_LEVEL_STRATEGY``, morecantile's ``zoom_for_res``).

        Raises
        ------
        MetadataError
            ``res`` is not a positive number, or ``strategy`` is unknown.
        """
        if isinstance(res, bool) or not isinstance(res, (int, float)) or not res > 0 \
                or not math.isfinite(res):
            raise MetadataError(f"res must be a positive resolution, got {res!r}")
        if strategy not in STRATEGIES:
            raise MetadataError(f"strategy must be one of {', '.join(STRATEGIES)}, got "
                                f"{strategy!r}")
        entries = list(self._layout.levels)  # finest first
        sizes = [self._cell_size(entry) for entry in entries]
        finer = None
        for index in range(len(entries) - 1, -1, -1):  # coarse to fine
            if sizes[index] <= res * (1 + 1e-8):
                finer = index
                break
        if finer is None:
            return entries[0].id
        if abs(sizes[finer] - res) <= 1e-8 * res or finer == len(entries) - 1:
            return entries[finer].id
        coarser = finer + 1
        if strategy == "upper":
            return entries[finer].id
        if strategy == "lower":
            return entries[coarser].id
        return entries[coarser].id if sizes[coarser] / res < res / sizes[finer] \
            else entries[finer].id

    def tile(self, z: int | str, x: int, y: int, *,
             tms: str | TileMatrixSet | Mapping[str, Any] | None = None, scheme: str = "xyz",
             resampling: str = "nearest") -> np.ma.MaskedArray:
        """Tile (x, y) of TileMatrix ``z``: ``(count, tileHeight, tileWidth)``, masked where
        nodata (and everywhere for a tile the pyramid does not hold).

        Parameters
        ----------
        tms
            None for the pyramid's own TileMatrixSet (a chunk read); another TMS (id, object
            or JSON) warps the tile from the level whose resolution suits it.
        scheme
            ``"xyz"``: rows counted from the top, as web maps do; ``"tms"``: from the
            bottom (``y = matrixHeight - 1 - row``), as gdal2tiles' TMS profile does.
        resampling
            The warp kernel for a tile of another TMS.

        Raises
        ------
        DimensionError
            No level ``z``, a tile outside the TileMatrix, or an unknown scheme.
        MetadataError
            The pyramid names no TileMatrixSet and ``tms`` is None.
        """
        if scheme not in ("xyz", "tms"):
            raise DimensionError(f"scheme must be 'xyz' or 'tms', got {scheme!r}")
        native = self.tms
        target = native if tms is None else resolve_tms(tms)
        if target is None:
            raise MetadataError(f"{self._location}: the pyramid names no TileMatrixSet; pass "
                                f"tms= to read tiles")
        if native is not None and target == native:
            return self._native_tile(native, z, x, y, scheme)
        try:
            zoom = int(z)
        except ValueError:
            raise DimensionError(f"{target.id!r} has no TileMatrix {z!r}") from None
        return self._warped_tile(target, zoom, x, y, scheme, resampling)

    def _grid_tile(self, tms: TileMatrixSet, z: int, x: int, y: int, scheme: str
                   ) -> tuple[MatrixGrid, int]:
        try:
            grid = MatrixGrid.of(tms, z)
        except MetadataError:
            raise DimensionError(f"{tms.id!r} has no TileMatrix {z!r}") from None
        row = y if (scheme == "xyz") == grid.top_left else grid.matrix_height - 1 - y
        if not (0 <= x < grid.matrix_width and 0 <= row < grid.matrix_height):
            raise DimensionError(f"tile ({x}, {y}) is outside TileMatrix {z} of {tms.id!r} "
                                 f"({grid.matrix_width} x {grid.matrix_height} tiles)")
        return grid, row

    def _native_tile(self, tms: TileMatrixSet, z: int | str, x: int, y: int, scheme: str
                     ) -> np.ma.MaskedArray:
        entry = self._entry(z)
        grid, row = self._grid_tile(tms, int(entry.id), x, y, scheme)
        reader = self.level(entry.id)
        shape = (reader.count, grid.tile_height, grid.tile_width)
        if entry.limits is not None:
            if not entry.limits.contains(x, row):
                return _empty(shape, reader)
            array_row, array_col = grid.array_tile(entry.limits, x, row)
            row0, col0 = array_row * grid.tile_height, array_col * grid.tile_width
        else:
            left, _, _, top = grid.tile_bounds(x, row)
            col, line = ~reader.transform @ (left, top)
            col0, row0 = round(col), round(line)
            if abs(col - col0) > 1e-6 or abs(line - row0) > 1e-6:
                return self._warped_tile(tms, int(entry.id), x, y, scheme, "nearest")
        return _read_boundless(reader, row0, col0, shape)

    def _warped_tile(self, tms: TileMatrixSet, z: int, x: int, y: int, scheme: str,
                     resampling: str) -> np.ma.MaskedArray:
        grid, row = self._grid_tile(tms, z, x, y, scheme)
        bounds = grid.tile_bounds(x, row)
        first = self.level(self.levels[0])
        crs = first.crs
        resolution = _resolution_in(tms.rasterio_crs, crs, bounds, grid)
        reader = self.level(self.select_level(resolution))
        shape = (reader.count, grid.tile_height, grid.tile_width)
        nodata = reader.nodata if reader.nodata is not None else (
            math.nan if np.dtype(reader.dtypes[0]).kind == "f" else 0)
        tile = np.full(shape, nodata, dtype=reader.dtypes[0])
        source = SourceGrid(reader.crs, reader.transform, reader.width, reader.height)
        dst_transform = Affine(grid.cell_size, 0.0, bounds[0], 0.0, -grid.cell_size, bounds[3])
        pieces = source_pieces(source, tms.rasterio_crs, bounds, shape[1:], resampling)
        for index, piece in enumerate(pieces):
            crop = reader.read(window=piece.window)
            warp_region(crop, window_transform(reader.transform, piece.window), reader.crs,
                        tile, dst_transform, tms.rasterio_crs, resampling, nodata,
                        first=index == 0)
        return np.ma.MaskedArray(tile, mask=~valid_mask(tile, nodata))

    def stored_tiles(self, z: int | str) -> list[tuple[int, int]]:
        """(col, row), in the TileMatrix's numbering, of every tile of level ``z`` that is
        stored (tiles holding only nodata are not; in a sharded level, every tile of a
        stored shard), found by listing the store.

        Raises
        ------
        MetadataError
            The pyramid gives no TileMatrixSet or no tile limits for the level.
        """
        entry = self._entry(z)
        if self.tms is None or entry.limits is None:
            raise MetadataError(f"{self._location}: level {entry.id} has no TileMatrixSet "
                                f"limits; its tiles cannot be told")
        grid = MatrixGrid.of(self.tms, int(entry.id))
        tiles = [grid.matrix_tile(entry.limits, row, col)
                 for row, col in stored_chunks(self.level(entry.id).array)]
        return sorted(t for t in tiles if entry.limits.contains(*t))

    def close(self) -> None:
        for reader in self._readers.values():
            reader.close()
        self._readers.clear()

    def __enter__(self) -> Pyramid:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        tms = self.tms.id if self.tms is not None else None
        return f"<geozarr.Pyramid {self._location} tms={tms} levels={list(self.levels)}>"


def stored_chunks(array: Array) -> set[tuple[int, int]]:
    """(row, column) chunk coordinates over the last two dimensions of every chunk of
    ``array`` that is stored (a stored shard counts for every chunk it holds)."""
    zero = array.metadata.chunk_key((0,) * array.ndim)  # "c/0/0", "c.0.0", "0.0", "0/0"
    lead = zero[:2] if zero.startswith("c") else ""
    separator = zero[1] if lead else (zero[1] if len(zero) > 1 else ".")
    prefix = (array.path + "/" if array.path else "") + lead
    inner = array.chunks[-2:]
    outer = tuple(array.metadata.chunks)[-2:]
    per_row, per_col = outer[0] // inner[0], outer[1] // inner[1]
    found = set()
    for key in array.store.list_prefix(prefix):
        parts = key[len(prefix):].split(separator)
        if len(parts) != array.ndim or not all(p.isdigit() for p in parts):
            continue
        row, col = int(parts[-2]), int(parts[-1])
        found.update((row * per_row + i, col * per_col + j)
                     for i in range(per_row) for j in range(per_col))
    return found


def _empty(shape: tuple[int, int, int], reader: RasterReader) -> np.ma.MaskedArray:
    nodata = reader.nodata if reader.nodata is not None else 0
    data = np.full(shape, nodata, dtype=reader.dtypes[0])
    return np.ma.MaskedArray(data, mask=np.ones(shape, dtype=bool))


def _read_boundless(reader: RasterReader, row0: int, col0: int, shape: tuple[int, int, int]
                    ) -> np.ma.MaskedArray:
    """The ``shape`` block of a level from (row0, col0), masked outside the level."""
    nodata = reader.nodata
    fill = nodata if nodata is not None else 0
    data = np.full(shape, fill, dtype=reader.dtypes[0])
    r0, c0 = max(0, row0), max(0, col0)
    r1, c1 = min(reader.height, row0 + shape[1]), min(reader.width, col0 + shape[2])
    inside = np.zeros(shape, dtype=bool)
    if r1 > r0 and c1 > c0:
        target = (slice(None), slice(r0 - row0, r1 - row0), slice(c0 - col0, c1 - col0))
        data[target] = reader.read(window=Window(c0, r0, c1 - c0, r1 - r0))
        inside[target] = True
    return np.ma.MaskedArray(data, mask=~(inside & valid_mask(data, nodata)))


def _resolution_in(tile_crs: Any, crs: Any, bounds: tuple[float, float, float, float],
                   grid: MatrixGrid) -> float:
    """The size in ``crs`` of a tile pixel at the tile's centre."""
    cx, cy = (bounds[0] + bounds[2]) / 2, (bounds[1] + bounds[3]) / 2
    step = grid.cell_size
    xs = np.array([cx, cx + step, cx])
    ys = np.array([cy, cy, cy - step])
    px, py = transform_points(tile_crs, crs, xs, ys)
    sizes = [math.hypot(px[i] - px[0], py[i] - py[0]) for i in (1, 2)]
    finite = [s for s in sizes if math.isfinite(s) and s > 0]
    if not finite:
        return step
    return max(finite)
