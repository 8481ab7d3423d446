"""The attributes of a pyramid, written once from its plan and read back in every form seen.

Written (all from one plan, so they cannot disagree):

* on the pyramid group, the ``multiscales`` convention (v0.1, declared by UUID with ``proj``
  and ``spatial``): a ``layout`` entry per level, finest first, with ``asset`` (the
  TileMatrix id), ``derived_from`` (the next finer level), ``transform`` (``scale``, the
  ratio of cell sizes, and ``translation``, where the level's first pixel corner falls in
  ``derived_from``'s pixel grid, per array axis), ``resampling_method`` and the absolute
  ``spatial:transform`` and ``spatial:shape``; beside the layout, ``tile_matrix_set`` (the
  OGC TMS 2.0 JSON of the levels held) and ``tile_matrix_limits`` (OGC ``TileMatrixLimits``
  by TileMatrix id, the GeoZarr 0.4 / OpenLayers spelling); and ``proj:`` and
  ``spatial:bbox``;
* on each level group and its data array, the ``proj`` and ``spatial`` conventions, CF
  (``x``/``y`` cell-centre coordinates, the ``spatial_ref`` grid mapping, ``_FillValue``)
  and GDAL's ``_CRS`` (:mod:`geozarr.geo.encode`), so a level opens alone.

Read: that form, its draft spellings (``tile_matrix_set_limits``, snake_case limits, a
TMS id or URI instead of the JSON), the GeoZarr 0.4 ``multiscales`` object (a
``tile_matrix_set`` and child groups named by TileMatrix id, no layout), and ndpyramid's
list form (``[{"datasets": [{"path": ..., "level": ..., "crs": ..., "pixels_per_tile":
...}]}]``, full-world Web Mercator levels).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import numpy as np
import pyproj
from affine import Affine
from morecantile.models import TileMatrixSet

from geozarr.core.creation import build_array_metadata
from geozarr.errors import GeoreferencingError, MetadataError
from geozarr.geo import encode
from geozarr.geo.conventions import MULTISCALES_UUID
from geozarr.pyramid.plan import LevelPlan, PyramidPlan
from geozarr.pyramid.tms import TileLimits, resolve_tms, tms_document
from geozarr.raster.writer import data_attributes

#: The ``multiscales`` convention, v0.1, as its metadata object in ``zarr_conventions``.
MULTISCALES_CONVENTION = MappingProxyType({
    "schema_url": "https://raw.githubusercontent.com/zarr-conventions/multiscales/refs/tags/"
                  "v0.1/schema.json",
    "spec_url": "https://github.com/zarr-conventions/multiscales/blob/v0.1/README.md",
    "uuid": MULTISCALES_UUID,
    "name": "multiscales",
    "description": "Multiscale layout of zarr datasets",
})
#: The convention's spelling of GDAL's resampling names, where they differ.
_CONVENTION_METHOD = {"cubicspline": "cubic_spline"}
#: Coordinate arrays are stored in chunks of this many values.
COORDINATE_CHUNK = 1 << 18
#: Attribute recording the build's parameters (a resumed build checks it).
BUILD_ATTRIBUTE = "geozarr:pyramid_build"


def convention_method(method: str) -> str:
    """The ``multiscales`` spelling of a GDAL resampling name."""
    return _CONVENTION_METHOD.get(method, method)


# -- writing ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ArrayDocument:
    """One array of a level: its path, validated metadata and attributes."""

    path: str
    metadata: Any
    attributes: dict[str, Any]


@dataclass(frozen=True)
class LevelDocuments:
    """What describes one level: the data array, the coordinate arrays, the group."""

    level: LevelPlan
    data: ArrayDocument
    coordinates: tuple[ArrayDocument, ...]
    group_attributes: dict[str, Any]

    def coordinate_values(self, name: str, start: int, stop: int) -> np.ndarray:
        """Values ``start:stop`` of the coordinate ``name`` (cell centres for x and y)."""
        transform = self.level.transform
        index = np.arange(start, stop, dtype=np.float64) + 0.5
        if name == encode.X_DIM:
            return transform.c + index * transform.a
        if name == encode.Y_DIM:
            return transform.f + index * transform.e
        if name == encode.BAND_DIM:
            return np.arange(start + 1, stop + 1, dtype=np.int64)
        return np.zeros((), dtype=np.int64)


@dataclass(frozen=True)
class DataDescription:
    """What every level's data array shares."""

    name: str
    count: int
    dtype: np.dtype
    nodata: float | int
    crs: pyproj.CRS
    band_names: tuple[str, ...] | None
    units: str | None
    scale: float | None
    offset: float | None
    compressor: Any
    shard_tiles: int | None

    @property
    def dims(self) -> tuple[str, ...]:
        spatial = (encode.Y_DIM, encode.X_DIM)
        return (encode.BAND_DIM, *spatial) if self.count > 1 else spatial


def level_documents(level: LevelPlan, data: DataDescription) -> LevelDocuments:
    """The documents of one level, validated like stored ones (a bad compressor or shard
    size fails here, before anything is written).

    Raises
    ------
    MetadataError
        From building the array metadata.
    """
    leading = (1,) if data.count > 1 else ()
    shape = ((data.count,) if data.count > 1 else ()) + level.shape
    chunks = leading + level.tile_shape
    shards = None
    if data.shard_tiles is not None:
        side = data.shard_tiles
        shards = leading + (level.tile_shape[0] * side, level.tile_shape[1] * side)
    metadata, attributes = build_array_metadata(
        path=f"{level.id}/{data.name}", shape=shape, dtype=data.dtype, chunks=chunks,
        shards=shards, compressor=data.compressor, fill_value=data.nodata, zarr_format=3,
        dimension_names=data.dims, attributes=data_attributes(
            crs=data.crs, transform=level.transform, shape=level.shape, dtype=data.dtype,
            nodata=data.nodata, zarr_format=3, units=data.units, scale=data.scale,
            offset=data.offset, band_names=data.band_names))
    coordinates = []
    height, width = level.shape
    x_attrs, y_attrs = encode.coordinate_attributes(data.crs)
    for name, size, attrs, fill in ((encode.X_DIM, width, x_attrs, float("nan")),
                                    (encode.Y_DIM, height, y_attrs, float("nan"))):
        meta, attrs = build_array_metadata(
            path=f"{level.id}/{name}", shape=(size,), dtype="float64",
            chunks=(min(size, COORDINATE_CHUNK),), compressor="default", fill_value=fill,
            zarr_format=3, dimension_names=[name], attributes=attrs)
        coordinates.append(ArrayDocument(f"{level.id}/{name}", meta, attrs))
    if data.count > 1:
        meta, attrs = build_array_metadata(
            path=f"{level.id}/{encode.BAND_DIM}", shape=(data.count,), dtype="int64",
            chunks=(data.count,), compressor=None, fill_value=0, zarr_format=3,
            dimension_names=[encode.BAND_DIM], attributes={"long_name": "band number"})
        coordinates.append(ArrayDocument(f"{level.id}/{encode.BAND_DIM}", meta, attrs))
    meta, attrs = build_array_metadata(
        path=f"{level.id}/{encode.GRID_MAPPING}", shape=(), dtype="int64", chunks=None,
        compressor=None, fill_value=0, zarr_format=3, dimension_names=[],
        attributes=encode.grid_mapping_attributes(data.crs, level.transform))
    coordinates.append(ArrayDocument(f"{level.id}/{encode.GRID_MAPPING}", meta, attrs))
    group = {"zarr_conventions": encode.conventions_attribute(proj=True, spatial=True),
             **encode.proj_attributes(data.crs),
             **encode.spatial_group_attributes(level.transform, level.shape),
             "spatial:transform": [float(v) for v in tuple(level.transform)[:6]],
             "spatial:shape": [int(level.shape[0]), int(level.shape[1])],
             "spatial:registration": "pixel"}
    return LevelDocuments(level, ArrayDocument(f"{level.id}/{data.name}", metadata, attributes),
                          tuple(coordinates), group)


def pyramid_attributes(plan: PyramidPlan, *, crs: pyproj.CRS, ndim: int, method: str,
                       overview_method: str, build: str) -> dict[str, Any]:
    """The pyramid group's attributes (see the module documentation)."""
    layout = []
    by_id = {level.id: level for level in plan.levels}
    for level in plan.levels:
        entry: dict[str, Any] = {"asset": level.id}
        if level.derived_from is None:
            entry["transform"] = {"scale": [1.0] * ndim, "translation": [0.0] * ndim}
            entry["resampling_method"] = convention_method(method)
        else:
            finer = by_id[level.derived_from]
            scale, translation = _relative(finer.transform, level.transform)
            lead = [1.0] * (ndim - 2)
            entry["derived_from"] = level.derived_from
            entry["transform"] = {"scale": lead + [scale, scale],
                                  "translation": [0.0] * (ndim - 2) + list(translation)}
            entry["resampling_method"] = convention_method(overview_method)
        entry["spatial:transform"] = [float(v) for v in tuple(level.transform)[:6]]
        entry["spatial:shape"] = [int(level.shape[0]), int(level.shape[1])]
        layout.append(entry)
    extents = [encode.bounds(level.transform, level.shape) for level in plan.levels]
    bbox = [min(e[0] for e in extents), min(e[1] for e in extents),
            max(e[2] for e in extents), max(e[3] for e in extents)]
    return {
        "zarr_conventions": [dict(MULTISCALES_CONVENTION),
                             *encode.conventions_attribute(proj=True, spatial=True)],
        "multiscales": {
            "layout": layout,
            "resampling_method": convention_method(overview_method),
            "tile_matrix_set": tms_document(plan.tms, plan.ids),
            "tile_matrix_limits": {level.id: level.limits.to_ogc(level.id)
                                   for level in plan.levels},
        },
        **encode.proj_attributes(crs),
        "spatial:dimensions": [encode.Y_DIM, encode.X_DIM],
        "spatial:bbox": [float(v) for v in bbox],
        BUILD_ATTRIBUTE: build,
    }


def _relative(finer: Affine, current: Affine) -> tuple[float, tuple[float, float]]:
    """(scale, (row, col) translation): current pixel corner ``i`` falls at
    ``i * scale + translation`` in the finer level's pixel grid."""
    scale = current.a / finer.a
    col = (current.c - finer.c) / finer.a
    row = (current.f - finer.f) / finer.e
    return float(scale), (_tidy(row), _tidy(col))


def _tidy(value: float) -> float:
    nearest = round(value)
    return float(nearest) if abs(value - nearest) < 1e-6 else float(value)


# -- reading ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class LevelEntry:
    """One level as the metadata describes it; anything missing is None."""

    id: str
    asset: str
    transform: Affine | None
    shape: tuple[int, int] | None
    limits: TileLimits | None


@dataclass(frozen=True)
class PyramidLayout:
    """A pyramid as read from its group's attributes.

    ``form`` is ``"multiscales"`` (the zarr-conventions layout), ``"geozarr-0.4"`` or
    ``"ndpyramid"``; ``levels`` run finest first.
    """

    form: str
    tms: TileMatrixSet | None
    levels: tuple[LevelEntry, ...]
    resampling_method: str | None


def read_layout(attrs: Mapping[str, Any], children: Sequence[str], *, where: str
                ) -> PyramidLayout:
    """The pyramid described by a group's ``attrs`` (``children``: its child group names).

    Raises
    ------
    MetadataError
        No ``multiscales`` attribute, or one of no known form, or levels that cannot be told.
    """
    value = attrs.get("multiscales")
    if isinstance(value, list):
        return _ndpyramid(value, where=where)
    if not isinstance(value, Mapping):
        raise MetadataError(f"{where}: no 'multiscales' attribute; not a pyramid")
    tms = _tms_of(value.get("tile_matrix_set"), where=where)
    limits = _limits_of(value.get("tile_matrix_limits", value.get("tile_matrix_set_limits")),
                        where=where)
    method = value.get("resampling_method")
    method = method if isinstance(method, str) else None
    layout = value.get("layout")
    if isinstance(layout, list) and layout:
        levels = [_layout_entry(item, limits, where=where) for item in layout]
        return PyramidLayout("multiscales", tms, _finest_first(levels, tms), method)
    if tms is not None:
        ids = [m.id for m in tms.tileMatrices if m.id in set(children)]
        if not ids:
            raise MetadataError(f"{where}: no child group is named like a TileMatrix of "
                                f"{tms.id!r}")
        levels = [LevelEntry(i, i, None, None, limits.get(i)) for i in ids]
        return PyramidLayout("geozarr-0.4", tms, _finest_first(levels, tms), method)
    raise MetadataError(f"{where}: 'multiscales' has neither a layout nor a tile_matrix_set")


def _layout_entry(item: Any, limits: Mapping[str, TileLimits], *, where: str) -> LevelEntry:
    if not isinstance(item, Mapping) or not isinstance(item.get("asset"), str):
        raise MetadataError(f"{where}: a multiscales layout entry needs an 'asset' path, got "
                            f"{item!r}")
    asset = item["asset"].strip("/")
    level_id = asset.split("/")[0]
    transform = None
    raw = item.get("spatial:transform")
    if raw is not None:
        try:
            transform = encode.as_transform(raw)
        except GeoreferencingError as error:
            raise MetadataError(f"{where}: layout entry {asset!r}: {error}") from None
    shape = None
    raw_shape = item.get("spatial:shape")
    if isinstance(raw_shape, list) and len(raw_shape) == 2 \
            and all(isinstance(v, int) and not isinstance(v, bool) for v in raw_shape):
        shape = (raw_shape[0], raw_shape[1])
    return LevelEntry(level_id, asset, transform, shape, limits.get(level_id))


def _finest_first(levels: list[LevelEntry], tms: TileMatrixSet | None) -> tuple[LevelEntry, ...]:
    def size(entry: LevelEntry) -> float:
        if entry.transform is not None:
            return math.hypot(entry.transform.a, entry.transform.d)
        if tms is not None:
            for matrix in tms.tileMatrices:
                if matrix.id == entry.id:
                    return float(matrix.cellSize)
        return math.nan
    sizes = [size(entry) for entry in levels]
    if any(math.isnan(s) for s in sizes):
        return tuple(levels)
    return tuple(entry for _, entry in sorted(zip(sizes, levels), key=lambda pair: pair[0]))


def _tms_of(value: Any, *, where: str) -> TileMatrixSet | None:
    if value is None:
        return None
    if isinstance(value, str):
        name = value.rstrip("/").rsplit("/", 1)[-1]  # an id, or an OGC URI ending in one
        return resolve_tms(name)
    if isinstance(value, Mapping):
        return resolve_tms(value)
    raise MetadataError(f"{where}: tile_matrix_set must be an id, a URI or a TMS document, "
                        f"got {type(value).__name__}")


def _limits_of(value: Any, *, where: str) -> dict[str, TileLimits]:
    if value is None:
        return {}
    found: dict[str, TileLimits] = {}
    if isinstance(value, Mapping):
        for key, limits in value.items():
            found[str(key)] = TileLimits.from_json(limits, where=f"{where}: limits {key!r}")
        return found
    if isinstance(value, list):
        for limits in value:
            matrix = limits.get("tileMatrix", limits.get("tile_matrix")) \
                if isinstance(limits, Mapping) else None
            if matrix is None:
                raise MetadataError(f"{where}: a tile matrix limits entry names no "
                                    f"tileMatrix: {limits!r}")
            found[str(matrix)] = TileLimits.from_json(limits, where=f"{where}: limits "
                                                                    f"{matrix!r}")
        return found
    raise MetadataError(f"{where}: tile matrix limits must be an object or a list")


def _ndpyramid(value: list[Any], *, where: str) -> PyramidLayout:
    first = value[0] if value else None
    datasets = first.get("datasets") if isinstance(first, Mapping) else None
    if not isinstance(datasets, list) or not datasets:
        raise MetadataError(f"{where}: a list-valued 'multiscales' needs 'datasets'")
    entries, crs, tile = [], None, None
    for dataset in datasets:
        if not isinstance(dataset, Mapping) or not isinstance(dataset.get("path"), str):
            raise MetadataError(f"{where}: a multiscales dataset needs a 'path': {dataset!r}")
        path = dataset["path"].strip("/")
        level = dataset.get("level")
        crs = crs or dataset.get("crs")
        tile = tile or dataset.get("pixels_per_tile")
        entries.append((level if isinstance(level, int) else None, path))
    tms = None
    if isinstance(crs, str) and crs.upper() == "EPSG:3857" and isinstance(tile, int) \
            and all(level is not None for level, _ in entries):
        tms = _web_mercator(tile, max(level for level, _ in entries))
    levels = []
    for level, path in entries:
        limits = None if level is None else TileLimits(0, 2**level - 1, 0, 2**level - 1)
        levels.append(LevelEntry(str(level) if level is not None else path, path, None,
                                 None, limits if tms is not None else None))
    levels.sort(key=lambda entry: -int(entry.id) if entry.id.lstrip("-").isdigit() else 0)
    return PyramidLayout("ndpyramid", tms, tuple(levels), None)


def _web_mercator(tile: int, maxzoom: int) -> TileMatrixSet:
    """Web Mercator quad tiles of ``tile`` pixels: ndpyramid's full-world levels."""
    half = 20037508.342789244
    return TileMatrixSet.custom([-half, -half, half, half], pyproj.CRS.from_epsg(3857),
                                tile_width=tile, tile_height=tile, minzoom=0, maxzoom=maxzoom,
                                id=f"WebMercatorQuad{tile}")
