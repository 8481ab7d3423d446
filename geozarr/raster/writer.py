"""Writing a raster as GeoZarr that every reader gets right, and never half of one.

:func:`write_raster` writes a numpy array; :class:`ZarrRasterWriter` is the streaming writer
under it and under :func:`geozarr.raster.translate.translate`: blocks go in one at a time,
and the hierarchy appears at the destination only when it is complete.

What is written (a raster of ``count`` bands, ``height`` x ``width``), all from one CRS and
one transform (:mod:`geozarr.geo.encode`):

* the data array ``<name>``, dimensions ``(band, y, x)`` (``(y, x)`` for one band), Zarr
  ``fill_value`` = nodata, CF ``_FillValue``, ``units``, ``scale_factor``/``add_offset``,
  ``long_name`` (the band names), ``grid_mapping``, GDAL's ``_CRS``, the ``proj`` and
  ``spatial`` conventions;
* 1-D ``x`` and ``y`` coordinates at cell centres, a ``band`` coordinate 1..count, and the 0-D
  CF grid-mapping variable ``spatial_ref``;
* on the root group the conventions again with ``spatial:bbox``; consolidated metadata.

How the output stays whole (``docs/recipes/geotiff-to-geozarr.md``) is
:mod:`geozarr.raster.staging`'s job: a local output is built in a temporary sibling and
renamed into place when complete (temporary files of chunk writes a lost dask worker cut
short are removed first); a store that cannot rename gets the chunks first and the metadata
last.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyproj
from affine import Affine
from rasterio.windows import Window

from geozarr.core.array import Array
from geozarr.core.creation import DEFAULT, build_array_metadata, create_group_node, \
    write_array_metadata
from geozarr.core.hierarchy import consolidate_metadata
from geozarr.errors import DimensionError, InvalidKeyError, MetadataError, \
    UnsupportedDataTypeError, ValueShapeError
from geozarr.geo import encode
from geozarr.raster.progress import Progress
from geozarr.raster.staging import open_stage
from geozarr.storage import MemoryStore, validate_node_name

#: The chunk shape (rows, columns) used when none is given: GDAL's and most viewers' tile.
DEFAULT_CHUNKS = (512, 512)
RESERVED_NAMES = frozenset({encode.X_DIM, encode.Y_DIM, encode.BAND_DIM,
                            encode.GRID_MAPPING})


@dataclass(frozen=True)
class RasterSpec:
    """Everything about a raster to write except its pixels, checked by :func:`raster_spec`."""

    height: int
    width: int
    count: int
    dtype: np.dtype
    crs: pyproj.CRS | None
    transform: Affine | None
    nodata: float | int | None
    name: str
    band_names: tuple[str, ...] | None
    units: str | None
    scale: float | None
    offset: float | None
    chunks: tuple[int, int]
    shards: tuple[int, int] | None
    compressor: Any
    zarr_format: int

    @property
    def dims(self) -> tuple[str, ...]:
        """The data array's dimension names."""
        spatial = (encode.Y_DIM, encode.X_DIM)
        return (encode.BAND_DIM, *spatial) if self.count > 1 else spatial

    @property
    def shape(self) -> tuple[int, ...]:
        """The data array's shape."""
        return (self.count, self.height, self.width) if self.count > 1 \
            else (self.height, self.width)

    @property
    def write_unit(self) -> tuple[int, int]:
        """(rows, columns) of one stored object: the shard when sharded, else the chunk.
        Blocks aligned to it write each object once, never read-modify-write."""
        return self.shards or self.chunks

    @property
    def pixel_bytes(self) -> int:
        """Bytes of one pixel over all bands."""
        return self.count * self.dtype.itemsize


def raster_spec(*, height: int, width: int, count: int, dtype: Any, crs: Any = None,
                transform: Any = None, nodata: float | int | None = None, name: str = "data",
                band_names: Sequence[str] | None = None, units: str | None = None,
                scale: float | None = None, offset: float | None = None,
                chunks: Sequence[int] = DEFAULT_CHUNKS, shards: Sequence[int] | None = None,
                compressor: Any = DEFAULT, zarr_format: int = 3) -> RasterSpec:
    """Check a raster's description and return it as a :class:`RasterSpec`.

    Raises
    ------
    GeoreferencingError
        ``crs`` is not a CRS PROJ parses, or ``transform`` is not an invertible affine.
    DimensionError
        ``band_names`` does not hold one name per band.
    ValueShapeError
        A size is not a positive integer.
    MetadataError
        A bad ``name``, ``chunks``, ``shards``, ``zarr_format``, ``scale``/``offset`` or a
        ``nodata`` that is not a value of ``dtype``; ``UnsupportedDataTypeError`` for a dtype
        that is not an integer or floating point type.
    """
    for label, size in (("height", height), ("width", width), ("count", count)):
        if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 1:
            raise ValueShapeError(f"raster {label} must be a positive integer, got {size!r}")
    try:
        dtype_np = np.dtype(dtype)
    except TypeError as error:
        raise UnsupportedDataTypeError(f"unknown data type {dtype!r}: {error}") from None
    if dtype_np.kind not in "iuf" or dtype_np.itemsize > 8:
        raise UnsupportedDataTypeError(
            f"data type {dtype_np} is not a raster type: use an integer or float type")
    if zarr_format not in (2, 3):
        raise MetadataError(f"zarr_format must be 2 or 3, got {zarr_format!r}")
    try:
        validate_node_name(name)
    except InvalidKeyError as error:
        raise MetadataError(f"name {name!r} cannot name the data array: {error}") from None
    if name in RESERVED_NAMES:
        raise MetadataError(f"name {name!r} is taken by a coordinate or grid-mapping variable; "
                            f"choose another (not {', '.join(sorted(RESERVED_NAMES))})")
    names = None
    if band_names is not None:
        names = tuple(band_names) if not isinstance(band_names, str) else (band_names,)
        if len(names) != count or not all(isinstance(n, str) for n in names):
            raise DimensionError(f"band_names {list(names)!r} must be {count} strings, one per "
                                 f"band of the data")
    return RasterSpec(
        height=int(height), width=int(width), count=int(count), dtype=dtype_np,
        crs=None if crs is None else encode.as_crs(crs),
        transform=None if transform is None else encode.as_transform(transform),
        nodata=None if nodata is None else encode.nodata_value(nodata, dtype_np),
        name=name, band_names=names, units=units or None,
        scale=_optional_number(scale, "scale"), offset=_optional_number(offset, "offset"),
        chunks=_pair(chunks, "chunks"), shards=None if shards is None else _pair(shards, "shards"),
        compressor=compressor, zarr_format=zarr_format)


def _pair(value: Sequence[int], label: str) -> tuple[int, int]:
    try:
        pair = tuple(int(v) for v in value)
    except (TypeError, ValueError):
        raise MetadataError(f"{label} must be two integers (rows, columns), got {value!r}") \
            from None
    if len(pair) != 2 or min(pair) < 1:
        raise MetadataError(f"{label} must be two positive integers (rows, columns), got "
                            f"{value!r}")
    return pair[0], pair[1]


def _optional_number(value: float | None, label: str) -> float | None:
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise MetadataError(f"{label} must be a number, got {value!r}") from None
    if not np.isfinite(number):
        raise MetadataError(f"{label} must be finite, got {value!r}")
    return number


# -- what goes where ----------------------------------------------------------------------------
@dataclass(frozen=True)
class _Planned:
    """One array of the hierarchy: its metadata, and its values when it is a coordinate."""

    path: str
    metadata: Any
    attributes: dict[str, Any]
    values: np.ndarray | None


def data_attributes(*, crs: pyproj.CRS | None, transform: Affine | None,
                    shape: tuple[int, int], dtype: np.dtype, nodata: float | int | None,
                    zarr_format: int, units: str | None = None, scale: float | None = None,
                    offset: float | None = None, band_names: Sequence[str] | None = None
                    ) -> dict[str, Any]:
    """The attributes of a raster's data array, so that every reader finds the same
    georeferencing and CF values in it.

    The ``proj`` and ``spatial`` conventions (each only with its CRS or transform), GDAL's
    ``_CRS`` and the CF ``grid_mapping`` with the CRS, CF ``_FillValue`` with ``nodata``
    (encoded for ``zarr_format``), and ``units``, ``scale_factor``, ``add_offset`` and
    ``long_name`` (the band names) when given. :class:`ZarrRasterWriter` and every level of
    a pyramid (:mod:`geozarr.pyramid.metadata`) write their data arrays with it.

    Parameters
    ----------
    crs, transform
        The raster's CRS and affine transform (pixel corners to CRS coordinates), or None.
    shape
        (rows, columns) of the raster.
    dtype, nodata, zarr_format
        The array's data type, missing-data value (or None) and Zarr format.
    units, scale, offset, band_names
        CF ``units``, ``scale_factor``, ``add_offset`` and one name per band, or None.
    """
    attrs: dict[str, Any] = {}
    if crs is not None or transform is not None:
        attrs["zarr_conventions"] = encode.conventions_attribute(
            proj=crs is not None, spatial=transform is not None)
    if crs is not None:
        attrs.update(encode.proj_attributes(crs))
    if transform is not None:
        attrs.update(encode.spatial_attributes(transform, shape))
    if crs is not None:
        attrs["_CRS"] = encode.gdal_crs_attribute(crs)
        attrs["grid_mapping"] = encode.GRID_MAPPING
        attrs["coordinates"] = encode.GRID_MAPPING
    if nodata is not None:
        attrs["_FillValue"] = encode.fill_value_attribute(nodata, dtype, zarr_format)
    if units is not None:
        attrs["units"] = units
    if scale is not None:
        attrs["scale_factor"] = scale
    if offset is not None:
        attrs["add_offset"] = offset
    if band_names is not None:
        attrs["long_name"] = encode.band_names_attribute(band_names)
    return attrs


def group_attributes(spec: RasterSpec) -> dict[str, Any]:
    """The root group's attributes: the conventions, the CRS and the raster's extent."""
    attrs: dict[str, Any] = {}
    if spec.crs is None and spec.transform is None:
        return attrs
    attrs["zarr_conventions"] = encode.conventions_attribute(
        proj=spec.crs is not None, spatial=spec.transform is not None)
    if spec.crs is not None:
        attrs.update(encode.proj_attributes(spec.crs))
    if spec.transform is not None:
        attrs.update(encode.spatial_group_attributes(spec.transform, (spec.height, spec.width)))
    return attrs


def _plan(spec: RasterSpec) -> tuple[_Planned, list[_Planned]]:
    """The data array and the coordinate arrays, validated like stored documents."""
    v2 = spec.zarr_format == 2

    def planned(path: str, values: np.ndarray, dims: list[str], attrs: dict[str, Any],
                fill: Any) -> _Planned:
        metadata, attributes = build_array_metadata(
            path=path, shape=values.shape, dtype=values.dtype, chunks=values.shape or None,
            compressor=None, fill_value=fill, zarr_format=spec.zarr_format,
            dimension_names=dims, attributes=attrs)
        return _Planned(path, metadata, attributes, values)

    leading = (1,) if spec.count > 1 else ()
    metadata, attributes = build_array_metadata(
        path=spec.name, shape=spec.shape, dtype=spec.dtype, chunks=leading + spec.chunks,
        shards=None if spec.shards is None else leading + spec.shards,
        compressor=spec.compressor, fill_value=spec.nodata, zarr_format=spec.zarr_format,
        dimension_names=spec.dims, attributes=data_attributes(
            crs=spec.crs, transform=spec.transform, shape=(spec.height, spec.width),
            dtype=spec.dtype, nodata=spec.nodata, zarr_format=spec.zarr_format,
            units=spec.units, scale=spec.scale, offset=spec.offset,
            band_names=spec.band_names))
    data = _Planned(spec.name, metadata, attributes, None)
    coordinates = []
    integer_fill = None if v2 else 0  # xarray masks a v2 fill value: keep integers unmasked
    if spec.transform is not None and encode.is_axis_aligned(spec.transform):
        x, y = encode.coordinate_values(spec.transform, (spec.height, spec.width))
        x_attrs, y_attrs = encode.coordinate_attributes(spec.crs)
        coordinates.append(planned(encode.X_DIM, x, [encode.X_DIM], x_attrs, float("nan")))
        coordinates.append(planned(encode.Y_DIM, y, [encode.Y_DIM], y_attrs, float("nan")))
    if spec.count > 1:
        coordinates.append(planned(encode.BAND_DIM, encode.band_values(spec.count),
                                   [encode.BAND_DIM], {"long_name": "band number"},
                                   integer_fill))
    if spec.crs is not None:
        coordinates.append(planned(encode.GRID_MAPPING, np.zeros((), dtype=np.int64), [],
                                   encode.grid_mapping_attributes(spec.crs, spec.transform),
                                   integer_fill))
    return data, coordinates


# -- the writer ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class BlockWriter:
    """Writes blocks into the data array of a raster being built: the part of a
    :class:`ZarrRasterWriter` that a dask worker needs. It pickles as the spec and the
    array (the array as its store's location), so a worker process writes straight into
    the unfinished output; blocks aligned to :attr:`RasterSpec.write_unit` never share a
    stored object, so any number of them may be written at once."""

    spec: RasterSpec
    array: Array

    def write(self, window: Window, block: np.ndarray) -> None:
        """Write ``block`` (``(count, rows, cols)``, or ``(rows, cols)`` for one band) at the
        integer ``window`` of the raster.

        Raises
        ------
        ValueShapeError
            ``block`` does not fill ``window``, or ``window`` is outside the raster.
        """
        spec = self.spec
        row, col = int(window.row_off), int(window.col_off)
        rows, cols = int(window.height), int(window.width)
        values = np.asarray(block)
        if values.ndim == 2:
            values = values[np.newaxis]
        if values.shape != (spec.count, rows, cols):
            raise ValueShapeError(f"{spec.name}: a block of shape {np.shape(block)} does not "
                                  f"fill window {window} of {spec.count} band(s)")
        if row < 0 or col < 0 or row + rows > spec.height or col + cols > spec.width:
            raise ValueShapeError(f"{spec.name}: window {window} is outside the raster "
                                  f"({spec.height} x {spec.width})")
        if spec.count > 1:
            self.array.write((slice(None), slice(row, row + rows), slice(col, col + cols)),
                             values)
        else:
            self.array.write((slice(row, row + rows), slice(col, col + cols)), values[0])


class ZarrRasterWriter:
    """Writes one raster as a GeoZarr hierarchy, block by block, and commits it whole.

    ``with ZarrRasterWriter(destination, spec) as writer: writer.write(window, block)``:
    leaving the block normally finishes the metadata and moves the output into place; an
    exception (or :meth:`abort`) removes the unfinished output instead.

    Raises
    ------
    NodeExistsError
        Something is at ``destination`` and ``overwrite`` is false.
    MetadataError
        From checking the arrays' metadata (bad chunks, shards, compressor) -- before anything
        is created.
    StoreError
        ``destination`` exists but is not a Zarr store (it is never replaced), or cannot be
        written.
    """

    def __init__(self, destination: Any, spec: RasterSpec, *, overwrite: bool = False):
        self._spec = spec
        self._data_plan, self._coordinates = _plan(spec)
        self._group_attributes = group_attributes(spec)
        plan = self._data_plan
        # Building an array builds its codec pipeline: an unusable or unsafe codec fails
        # here, on a scratch store, before the destination is touched.
        Array(MemoryStore(), plan.path, plan.metadata, plan.attributes, read_only=False)
        self._stage = open_stage(destination, overwrite=overwrite)
        self._blocks = BlockWriter(spec, Array(self._stage.store, plan.path, plan.metadata,
                                               plan.attributes, read_only=False))
        self._done = False

    @property
    def spec(self) -> RasterSpec:
        return self._spec

    @property
    def location(self) -> str:
        """Where the output will be once committed."""
        return self._stage.target

    @property
    def blocks(self) -> BlockWriter:
        """The block writer of the data array, to hand to other processes."""
        return self._blocks

    def write(self, window: Window, block: np.ndarray) -> None:
        """Write ``block`` (``(count, rows, cols)``, or ``(rows, cols)`` for one band) at the
        integer ``window`` of the raster (see :meth:`BlockWriter.write`)."""
        self._blocks.write(window, block)

    def commit(self) -> None:
        """Write the coordinates and the metadata (the data array's, then the root group's
        and the consolidated metadata), and move the output into place."""
        if self._done:
            return
        store = self._stage.store
        for plan in self._coordinates:
            array = Array(store, plan.path, plan.metadata, plan.attributes, read_only=False)
            array.write(..., plan.values)
        for plan in (*self._coordinates, self._data_plan):
            write_array_metadata(store, plan.path, plan.metadata, plan.attributes)
        create_group_node(store, "", zarr_format=self._spec.zarr_format,
                          attributes=self._group_attributes)
        consolidate_metadata(store)
        self._stage.commit()
        self._done = True

    def abort(self, error: BaseException) -> None:
        """Remove the unfinished output (a failure to do so is added as a note to ``error``)."""
        if not self._done:
            self._done = True
            self._stage.abort(error)

    def __enter__(self) -> ZarrRasterWriter:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: object) -> None:
        if error is not None:
            self.abort(error)
            return
        try:
            self.commit()
        except BaseException as failure:
            self.abort(failure)
            raise


def write_raster(destination: Any, data: np.ndarray, *, crs: Any = None, transform: Any = None,
                 nodata: float | int | None = None, name: str = "data",
                 band_names: Sequence[str] | None = None, units: str | None = None,
                 scale: float | None = None, offset: float | None = None,
                 chunks: Sequence[int] = DEFAULT_CHUNKS, shards: Sequence[int] | None = None,
                 compressor: Any = DEFAULT, zarr_format: int = 3, overwrite: bool = False,
                 progress: Progress | None = None) -> None:
    """Write a georeferenced numpy array as GeoZarr (see the module documentation for what
    is written).

    Parameters
    ----------
    destination
        A directory path (``"out.zarr"``), a ``.zip`` path, a store URL or a
        :class:`geozarr.storage.Store`.
    data
        ``(height, width)`` or ``(count, height, width)``, any integer or float type.
    crs
        Anything PROJ reads (``"EPSG:32611"``, WKT, a rasterio or pyproj CRS); None for none.
    transform
        An :class:`affine.Affine` (or its six numbers, rasterio's order) mapping pixel corners
        to CRS coordinates; None leaves the raster without georeferencing.
    nodata
        The missing-data value, which is also the Zarr ``fill_value``: chunks holding only it
        are not stored. Must be a value of the data type.
    name
        The data array's name in the hierarchy.
    band_names
        One name per band (CF ``long_name``; GeoTIFF band descriptions).
    units, scale, offset
        CF ``units``, ``scale_factor`` and ``add_offset`` (physical = stored * scale + offset).
    chunks, shards
        Chunk (and Zarr v3 shard) shape over (rows, columns); bands are chunked one by one.
    compressor
        A numcodecs codec; ``"default"`` is Zstd level 3, None stores raw bytes.
    zarr_format
        3 (default) or 2.
    overwrite
        Replace an existing Zarr at ``destination`` (only once the new one is complete, for
        local paths); otherwise an existing destination is an error.
    progress
        Called with the fraction done (0..1) after each block; raise from it to cancel.

    Raises
    ------
    GeoZarrError
        For bad input (see :func:`raster_spec`), an existing destination, or a failed write;
        nothing is left at ``destination`` but what was there before.
    """
    values = np.asarray(data)
    if values.ndim not in (2, 3):
        raise ValueShapeError(f"data must be (height, width) or (count, height, width); got "
                              f"shape {values.shape}")
    bands = values if values.ndim == 3 else values[np.newaxis]
    spec = raster_spec(height=bands.shape[1], width=bands.shape[2], count=bands.shape[0],
                       dtype=values.dtype, crs=crs, transform=transform, nodata=nodata,
                       name=name, band_names=band_names, units=units, scale=scale,
                       offset=offset, chunks=chunks, shards=shards, compressor=compressor,
                       zarr_format=zarr_format)
    with ZarrRasterWriter(destination, spec, overwrite=overwrite) as writer:
        rows = spec.write_unit[0]
        for row in range(0, spec.height, rows):
            height = min(rows, spec.height - row)
            writer.write(Window(0, row, spec.width, height), bands[:, row:row + height])
            if progress is not None:
                progress(min(1.0, (row + height) / spec.height))
