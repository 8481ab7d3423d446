"""TileMatrixSets as integer tile geometry: which matrix, which tiles, which pixels.

morecantile is the TMS engine (every OGC TMS 2.0 document, the registered sets, custom
ones); this module adds what it lacks for building arrays: the tile limits of an extent
(OGC ``TileMatrixLimits``), and the affine transform and shape of the array that holds
exactly those tiles. Every coordinate is computed the way morecantile computes tile bounds
(``origin + index * cellSize * tileWidth``), so a level's transform equals what
``tms.xy_bounds`` says for its first tile, to the bit.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import morecantile
from affine import Affine
from morecantile.errors import InvalidIdentifier
from morecantile.models import TileMatrixSet
from pydantic import ValidationError

from geozarr.errors import MetadataError

#: Relative tolerance, in tiles, below which an extent touching a tile edge does not
#: reach into the next tile (so exact tile bounds give exactly one tile).
EDGE_TOLERANCE = 1e-9

Bounds = tuple[float, float, float, float]


def resolve_tms(tms: str | TileMatrixSet | Mapping[str, Any]) -> TileMatrixSet:
    """The morecantile TileMatrixSet named, given or described by ``tms``.

    Parameters
    ----------
    tms
        A registered id (``"WebMercatorQuad"``, ``"WGS1984Quad"``, ``"UTM31WGS84Quad"``...),
        a :class:`morecantile.TileMatrixSet`, or an OGC TMS 2.0 JSON object.

    Raises
    ------
    MetadataError
        An unknown id (the message lists the known ones), an invalid TMS document, or a set
        with variable matrix widths (coalesced tiles cover several chunks' width and cannot
        be one chunk per tile).
    """
    if isinstance(tms, TileMatrixSet):
        found = tms
    elif isinstance(tms, str):
        try:
            found = morecantile.tms.get(tms)
        except InvalidIdentifier:
            known = ", ".join(sorted(morecantile.tms.list()))
            raise MetadataError(f"unknown TileMatrixSet {tms!r}; known ones are {known}") \
                from None
    elif isinstance(tms, Mapping):
        try:
            found = TileMatrixSet.model_validate(dict(tms))
        except (ValidationError, ValueError, TypeError) as error:
            raise MetadataError(f"not a valid OGC TileMatrixSet 2.0 document: {error}") \
                from None
    else:
        raise MetadataError(f"tms must be a TileMatrixSet id, a morecantile TileMatrixSet or "
                            f"a TMS 2.0 JSON object, got {type(tms).__name__}")
    if found.is_variable:
        raise MetadataError(f"TileMatrixSet {found.id!r} has variable matrix widths "
                            f"(coalesced tiles); pyramids need one chunk per tile")
    return found


def tms_document(tms: TileMatrixSet, ids: tuple[str, ...] | None = None) -> dict[str, Any]:
    """The OGC TMS 2.0 JSON of ``tms``, restricted to the TileMatrices ``ids`` when given
    (a pyramid describes the levels it holds, as GeoZarr 0.4's examples do)."""
    document = tms.model_dump(mode="json", exclude_none=True)
    if ids is not None:
        wanted = set(ids)
        document["tileMatrices"] = [m for m in document["tileMatrices"] if m["id"] in wanted]
    return document


def zoom_ids(tms: TileMatrixSet) -> list[int]:
    """The TileMatrix ids of ``tms`` as integers, coarsest first (morecantile's order)."""
    return [int(matrix.id) for matrix in tms.tileMatrices]


@dataclass(frozen=True)
class TileLimits:
    """The tiles of one TileMatrix a pyramid level holds: columns ``min_col..max_col`` and
    rows ``min_row..max_row``, inclusive, in the TileMatrix's own numbering (OGC's
    ``TileMatrixLimits``)."""

    min_col: int
    max_col: int
    min_row: int
    max_row: int

    @property
    def cols(self) -> int:
        return self.max_col - self.min_col + 1

    @property
    def rows(self) -> int:
        return self.max_row - self.min_row + 1

    @property
    def count(self) -> int:
        """The number of tiles within the limits."""
        return self.cols * self.rows

    def union(self, other: TileLimits) -> TileLimits:
        return TileLimits(min(self.min_col, other.min_col), max(self.max_col, other.max_col),
                          min(self.min_row, other.min_row), max(self.max_row, other.max_row))

    def contains(self, col: int, row: int) -> bool:
        return self.min_col <= col <= self.max_col and self.min_row <= row <= self.max_row

    def to_ogc(self, tile_matrix: str) -> dict[str, Any]:
        """The OGC ``TileMatrixLimits`` JSON object."""
        return {"tileMatrix": tile_matrix, "minTileRow": self.min_row,
                "maxTileRow": self.max_row, "minTileCol": self.min_col,
                "maxTileCol": self.max_col}

    @classmethod
    def from_json(cls, value: Any, *, where: str) -> TileLimits:
        """Limits from OGC camelCase (``minTileCol``) or STAC/GeoZarr-0.4 snake_case
        (``min_tile_col``) keys.

        Raises
        ------
        MetadataError
            Missing or non-integer bounds, or a maximum below its minimum.
        """
        if not isinstance(value, Mapping):
            raise MetadataError(f"{where}: tile matrix limits must be an object, got "
                                f"{value!r}")
        numbers = []
        for camel, snake in (("minTileCol", "min_tile_col"), ("maxTileCol", "max_tile_col"),
                             ("minTileRow", "min_tile_row"), ("maxTileRow", "max_tile_row")):
            raw = value.get(camel, value.get(snake))
            if isinstance(raw, bool) or not isinstance(raw, int):
                raise MetadataError(f"{where}: tile matrix limits need an integer {camel}, "
                                    f"got {raw!r}")
            numbers.append(raw)
        limits = cls(*numbers)
        if limits.max_col < limits.min_col or limits.max_row < limits.min_row:
            raise MetadataError(f"{where}: tile matrix limits {value!r} are empty")
        return limits


@dataclass(frozen=True)
class MatrixGrid:
    """One TileMatrix as a grid: cell size, tile size, matrix size, origin in (x, y) order
    (whatever the CRS's axis order), and the corner of origin."""

    id: str
    cell_size: float
    tile_width: int
    tile_height: int
    matrix_width: int
    matrix_height: int
    origin_x: float
    origin_y: float
    corner: str

    @classmethod
    def of(cls, tms: TileMatrixSet, zoom: int) -> MatrixGrid:
        """The grid of TileMatrix ``zoom`` of ``tms``.

        Raises
        ------
        MetadataError
            ``tms`` has no TileMatrix with that id.
        """
        if zoom not in zoom_ids(tms):
            raise MetadataError(f"TileMatrixSet {tms.id!r} has no TileMatrix {zoom} (its ids "
                                f"are {tms.minzoom}..{tms.maxzoom})")
        matrix = tms.matrix(zoom)
        origin_x, origin_y = tms._matrix_origin(matrix)  # axis order handled by morecantile
        return cls(id=str(matrix.id), cell_size=float(matrix.cellSize),
                   tile_width=int(matrix.tileWidth), tile_height=int(matrix.tileHeight),
                   matrix_width=int(matrix.matrixWidth), matrix_height=int(matrix.matrixHeight),
                   origin_x=float(origin_x), origin_y=float(origin_y),
                   corner=str(matrix.cornerOfOrigin or "topLeft"))

    @property
    def top_left(self) -> bool:
        return self.corner != "bottomLeft"

    def tile_bounds(self, col: int, row: int) -> Bounds:
        """(left, bottom, right, top) of tile (col, row), as ``TileMatrixSet.xy_bounds``."""
        left = self.origin_x + col * self.cell_size * self.tile_width
        right = self.origin_x + (col + 1) * self.cell_size * self.tile_width
        if self.top_left:
            top = self.origin_y - row * self.cell_size * self.tile_height
            bottom = self.origin_y - (row + 1) * self.cell_size * self.tile_height
        else:
            bottom = self.origin_y + row * self.cell_size * self.tile_height
            top = self.origin_y + (row + 1) * self.cell_size * self.tile_height
        return (left, bottom, right, top)

    @property
    def extent(self) -> Bounds:
        """(left, bottom, right, top) of the whole matrix."""
        left, _, _, top = self.tile_bounds(0, 0 if self.top_left else self.matrix_height - 1)
        _, bottom, right, _ = self.tile_bounds(self.matrix_width - 1,
                                               self.matrix_height - 1 if self.top_left else 0)
        return (left, bottom, right, top)

    def limits_of(self, bounds: Bounds) -> TileLimits | None:
        """The tiles an extent ``(xmin, ymin, xmax, ymax)`` touches, clamped to the matrix;
        None when it misses the matrix. An extent ending exactly on a tile edge does not
        take the next tile."""
        xmin, ymin, xmax, ymax = bounds
        span_x = self.cell_size * self.tile_width
        span_y = self.cell_size * self.tile_height
        col0 = math.floor((xmin - self.origin_x) / span_x + EDGE_TOLERANCE)
        col1 = math.ceil((xmax - self.origin_x) / span_x - EDGE_TOLERANCE) - 1
        if self.top_left:
            row0 = math.floor((self.origin_y - ymax) / span_y + EDGE_TOLERANCE)
            row1 = math.ceil((self.origin_y - ymin) / span_y - EDGE_TOLERANCE) - 1
        else:
            row0 = math.floor((ymin - self.origin_y) / span_y + EDGE_TOLERANCE)
            row1 = math.ceil((ymax - self.origin_y) / span_y - EDGE_TOLERANCE) - 1
        col1, row1 = max(col0, col1), max(row0, row1)
        if col1 < 0 or row1 < 0 or col0 >= self.matrix_width or row0 >= self.matrix_height:
            return None
        return TileLimits(max(col0, 0), min(col1, self.matrix_width - 1),
                          max(row0, 0), min(row1, self.matrix_height - 1))

    def transform(self, limits: TileLimits) -> Affine:
        """The affine transform of the north-up array holding exactly ``limits``: its
        top-left corner is the top-left corner of the limits' top-left tile."""
        left, _, _, top = self.tile_bounds(limits.min_col,
                                           limits.min_row if self.top_left else limits.max_row)
        return Affine(self.cell_size, 0.0, left, 0.0, -self.cell_size, top)

    def shape(self, limits: TileLimits) -> tuple[int, int]:
        """(height, width) in pixels of the array holding ``limits``."""
        return (limits.rows * self.tile_height, limits.cols * self.tile_width)

    def array_tile(self, limits: TileLimits, col: int, row: int) -> tuple[int, int]:
        """(tile row, tile column) in the north-up array of tile (col, row): chunk
        coordinates, since a chunk is a tile."""
        array_row = row - limits.min_row if self.top_left else limits.max_row - row
        return array_row, col - limits.min_col

    def matrix_tile(self, limits: TileLimits, array_row: int, array_col: int
                    ) -> tuple[int, int]:
        """(col, row) in the TileMatrix of the tile at (array_row, array_col)."""
        row = limits.min_row + array_row if self.top_left else limits.max_row - array_row
        return limits.min_col + array_col, row
