"""Georeferencing written out: one CRS, transform and shape in, every reader's attributes out.

Each reader looks for georeferencing in its own place (see ``docs/recipes/geotiff-to-geozarr.md``),
so a raster is described several times over. Every encoding here is computed from the same
CRS and affine transform, so the descriptions cannot drift apart:

* the GeoZarr conventions v0.1 (:func:`proj_attributes`, :func:`spatial_attributes`, the
  convention metadata objects :data:`PROJ_CONVENTION` and :data:`SPATIAL_CONVENTION`);
* CF for xarray, rioxarray and netCDF tools (:func:`grid_mapping_attributes` for the
  ``spatial_ref`` variable, :func:`coordinate_values` and :func:`coordinate_attributes` for the
  1-D ``x``/``y`` variables at cell centres, :func:`fill_value_attribute` for ``_FillValue``);
* GDAL's ``_CRS`` (:func:`gdal_crs_attribute`), which every GDAL since 3.4 reads.

Everything is pure: values in, JSON-ready dicts and numpy arrays out.
"""

from __future__ import annotations

import base64
import math
import struct
from collections.abc import Sequence
from types import MappingProxyType
from typing import Any

import numpy as np
import pyproj
from affine import Affine
from pyproj.exceptions import CRSError

from geozarr.errors import GeoreferencingError, MetadataError
from geozarr.geo.conventions import PROJ_UUID, SPATIAL_UUID

#: The ``proj`` convention, v0.1, as its metadata object in ``zarr_conventions``.
PROJ_CONVENTION = MappingProxyType({
    "schema_url": "https://raw.githubusercontent.com/zarr-conventions/proj/refs/tags/v0.1/"
                  "schema.json",
    "spec_url": "https://github.com/zarr-conventions/proj/blob/v0.1/README.md",
    "uuid": PROJ_UUID,
    "name": "proj",
    "description": "Coordinate reference system information for geospatial data",
})
#: The ``spatial`` convention, v0.1, as its metadata object in ``zarr_conventions``.
SPATIAL_CONVENTION = MappingProxyType({
    "schema_url": "https://raw.githubusercontent.com/zarr-conventions/spatial/refs/tags/v0.1/"
                  "schema.json",
    "spec_url": "https://github.com/zarr-conventions/spatial/blob/v0.1/README.md",
    "uuid": SPATIAL_UUID,
    "name": "spatial",
    "description": "Spatial coordinate information",
})

#: Names of the dimensions and of the CF grid-mapping variable (rioxarray's spellings).
X_DIM = "x"
Y_DIM = "y"
BAND_DIM = "band"
GRID_MAPPING = "spatial_ref"

_EPSG_URL = "http://www.opengis.net/def/crs/EPSG/0/{code}"


# -- inputs -----------------------------------------------------------------------------------
def as_crs(value: Any) -> pyproj.CRS:
    """A :class:`pyproj.CRS` from whatever names one: ``"EPSG:32611"``, an EPSG number, WKT,
    PROJJSON, a PROJ string, a rasterio or pyproj CRS.

    Raises
    ------
    GeoreferencingError
        PROJ cannot make a CRS of ``value``; the message quotes it.
    """
    try:
        return pyproj.CRS.from_user_input(value)
    except (CRSError, TypeError, ValueError) as error:
        text = repr(value)
        text = text if len(text) <= 80 else text[:77] + "..."
        raise GeoreferencingError(f"crs {text} is not a CRS PROJ can parse: {error}") from None


def as_transform(value: Any) -> Affine:
    """An :class:`affine.Affine` from an Affine or six numbers in its order
    ``[a, b, c, d, e, f]`` (rasterio's and ``spatial:transform``'s, not GDAL's).

    Raises
    ------
    GeoreferencingError
        Not six (or nine, the last three ``0, 0, 1``) finite numbers, or a degenerate
        transform (a zero pixel size), which maps no pixel to a place.
    """
    if isinstance(value, Affine):
        numbers = tuple(value)[:6]
    else:
        try:
            numbers = tuple(float(v) for v in value)
        except (TypeError, ValueError):
            raise GeoreferencingError(
                f"transform {value!r} must be an affine.Affine or six numbers "
                f"[a, b, c, d, e, f]") from None
        if len(numbers) == 9 and numbers[6:] == (0.0, 0.0, 1.0):
            numbers = numbers[:6]
        if len(numbers) != 6:
            raise GeoreferencingError(
                f"transform has {len(numbers)} numbers; an affine transform has six "
                f"[a, b, c, d, e, f]")
    if not all(math.isfinite(n) for n in numbers):
        raise GeoreferencingError(f"transform {list(numbers)} holds a non-finite number")
    transform = Affine(*numbers)
    if transform.is_degenerate:
        raise GeoreferencingError(
            f"transform {list(numbers)} is degenerate (a zero pixel size): it maps no pixel "
            f"to a place")
    return transform


# -- GeoZarr conventions ----------------------------------------------------------------------
def conventions_attribute(*, proj: bool, spatial: bool) -> list[dict[str, str]]:
    """The ``zarr_conventions`` list declaring the conventions a node uses (``proj`` first)."""
    declared = []
    if proj:
        declared.append(dict(PROJ_CONVENTION))
    if spatial:
        declared.append(dict(SPATIAL_CONVENTION))
    return declared


def authority_code(crs: pyproj.CRS) -> str | None:
    """``"AUTHORITY:CODE"`` when PROJ identifies the CRS exactly (100 % confidence), else None:
    a code that only resembles the CRS would be a second, different definition."""
    found = crs.to_authority(min_confidence=100)
    return f"{found[0]}:{found[1]}" if found else None


def proj_attributes(crs: pyproj.CRS) -> dict[str, str]:
    """``proj:wkt2`` (always: the convention's authoritative form) and ``proj:code`` when the
    CRS has one (OpenLayers and xpublish-tiles read only the code)."""
    attributes = {"proj:wkt2": crs.to_wkt("WKT2_2019")}
    code = authority_code(crs)
    if code is not None:
        attributes["proj:code"] = code
    return attributes


def bounds(transform: Affine, shape: tuple[int, int]) -> tuple[float, float, float, float]:
    """``(xmin, ymin, xmax, ymax)`` of the four outer corners of a ``(height, width)`` grid
    (the envelope, for rotated grids too)."""
    height, width = shape
    corners = [transform @ (col, row) for col, row in
               ((0, 0), (width, 0), (0, height), (width, height))]
    xs = [x for x, _ in corners]
    ys = [y for _, y in corners]
    return (min(xs), min(ys), max(xs), max(ys))


def spatial_attributes(transform: Affine, shape: tuple[int, int]) -> dict[str, Any]:
    """The ``spatial`` convention's keys for one array: ``spatial:dimensions`` ``[y, x]``,
    ``spatial:transform`` (rasterio order, corner-based), ``spatial:shape`` ``[height, width]``
    and ``spatial:registration`` ``"pixel"`` (GeoTIFF's PixelIsArea)."""
    return {
        "spatial:dimensions": [Y_DIM, X_DIM],
        "spatial:transform": [float(v) for v in tuple(transform)[:6]],
        "spatial:shape": [int(shape[0]), int(shape[1])],
        "spatial:registration": "pixel",
    }


def spatial_group_attributes(transform: Affine, shape: tuple[int, int]) -> dict[str, Any]:
    """The ``spatial`` keys of the group holding the raster: ``spatial:dimensions`` (the
    default for its arrays) and ``spatial:bbox`` ``[xmin, ymin, xmax, ymax]``, the extent a
    catalogue or a map viewer reads without opening the array."""
    return {"spatial:dimensions": [Y_DIM, X_DIM],
            "spatial:bbox": [float(v) for v in bounds(transform, shape)]}


# -- GDAL -------------------------------------------------------------------------------------
def gdal_crs_attribute(crs: pyproj.CRS) -> dict[str, Any]:
    """GDAL's ``_CRS`` object: ``wkt`` (WKT2:2019), ``projjson`` and, for EPSG CRSs, ``url``
    (read first by GDAL)."""
    value: dict[str, Any] = {"wkt": crs.to_wkt("WKT2_2019"), "projjson": crs.to_json_dict()}
    code = authority_code(crs)
    if code is not None and code.startswith("EPSG:"):
        value["url"] = _EPSG_URL.format(code=code.split(":", 1)[1])
    return value


def geotransform_text(transform: Affine) -> str:
    """The six GDAL geotransform numbers ``c a b f d e``, space-separated, each written so that
    it reads back to the same float."""
    return " ".join(repr(float(v)) for v in transform.to_gdal())


# -- CF ---------------------------------------------------------------------------------------
def grid_mapping_attributes(crs: pyproj.CRS, transform: Affine | None) -> dict[str, Any]:
    """Attributes of the CF grid-mapping variable ``spatial_ref``, as rioxarray writes them.

    ``crs_wkt`` and ``spatial_ref`` (both WKT2:2019, as rioxarray writes them: WKT1 loses the
    axis order of CRSs such as EPSG:3035, and readers then disagree), the CF grid-mapping
    parameters
    PROJ derives (``grid_mapping_name``, ``semi_major_axis``...), and the ``GeoTransform`` in
    GDAL's order.
    """
    attributes: dict[str, Any] = {key: _plain(value) for key, value in crs.to_cf().items()}
    wkt2 = crs.to_wkt("WKT2_2019")
    attributes["crs_wkt"] = wkt2
    attributes["spatial_ref"] = wkt2
    if transform is not None:
        attributes["GeoTransform"] = geotransform_text(transform)
    return attributes


def is_axis_aligned(transform: Affine) -> bool:
    """Whether the grid is north-up or south-up (no rotation), so that 1-D x and y coordinates
    describe it."""
    return transform.b == 0.0 and transform.d == 0.0


def coordinate_values(transform: Affine, shape: tuple[int, int]
                      ) -> tuple[np.ndarray, np.ndarray]:
    """The cell-centre coordinates ``(x, y)`` (float64) of an axis-aligned grid of
    ``(height, width)``: ``x[i] = c + (i + 0.5) * a``, ``y[j] = f + (j + 0.5) * e``.

    Raises
    ------
    GeoreferencingError
        The transform is rotated: no 1-D coordinates describe it.
    """
    if not is_axis_aligned(transform):
        raise GeoreferencingError(
            f"transform {tuple(transform)[:6]} is rotated; 1-D x/y coordinates cannot "
            f"describe it")
    height, width = shape
    x = transform.c + (np.arange(width, dtype=np.float64) + 0.5) * transform.a
    y = transform.f + (np.arange(height, dtype=np.float64) + 0.5) * transform.e
    return x, y


def coordinate_attributes(crs: pyproj.CRS | None) -> tuple[dict[str, str], dict[str, str]]:
    """CF attributes of the ``x`` and ``y`` coordinate variables: ``standard_name``
    (``projection_x_coordinate`` or ``longitude``...), ``long_name``, ``units``, ``axis``,
    from the CRS's coordinate system; only ``axis`` and a ``long_name`` without a CRS."""
    found: dict[str, dict[str, str]] = {}
    if crs is not None:
        for axis in crs.cs_to_cf():
            if axis.get("axis") in ("X", "Y"):
                found.setdefault(axis["axis"], {k: str(v) for k, v in axis.items()})
    x = found.get("X", {"axis": "X", "long_name": "x coordinate"})
    y = found.get("Y", {"axis": "Y", "long_name": "y coordinate"})
    return x, y


def fill_value_attribute(nodata: float | int, dtype: np.dtype, zarr_format: int) -> Any:
    """CF ``_FillValue`` as each reader of that Zarr format expects it.

    Zarr v3: a float is the base64 of its little-endian float64 bytes (xarray's encoding; a
    plain number there makes xarray fail), an integer a JSON integer. Zarr v2: a number, or
    ``"NaN"``/``"Infinity"``/``"-Infinity"`` (JSON has no non-finite numbers); xarray reads the
    v2 ``fill_value`` instead.

    Raises
    ------
    MetadataError
        ``nodata`` is not a value of ``dtype`` (-1 for uint8, 0.5 for int16...).
    """
    dtype = np.dtype(dtype)
    value = nodata_value(nodata, dtype)
    if dtype.kind == "f":
        if zarr_format == 3:
            return base64.standard_b64encode(struct.pack("<d", float(value))).decode("ascii")
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "Infinity" if value > 0 else "-Infinity"
        return float(value)
    return int(value)


def nodata_value(nodata: float | int, dtype: Any) -> float | int:
    """``nodata`` as a Python int or float, checked to be exactly a value of ``dtype``.

    Raises
    ------
    MetadataError
        ``nodata`` is not a number, or not a value of ``dtype`` (-1 or 0.5 for uint8, 1e40
        for float32), or ``dtype`` has no numeric nodata.
    """
    dtype = np.dtype(dtype)
    if dtype.kind not in "iuf":
        raise MetadataError(f"nodata {nodata!r}: data type {dtype} has no numeric nodata")
    if isinstance(nodata, bool) or not isinstance(nodata, (int, float, np.integer,
                                                             np.floating)):
        raise MetadataError(f"nodata {nodata!r} is not a number")
    if isinstance(nodata, (int, np.integer)) and dtype.kind in "iu":
        info = np.iinfo(dtype)
        if not info.min <= int(nodata) <= info.max:
            raise MetadataError(f"nodata {nodata!r} is not a value of {dtype} "
                                f"(integers {info.min}..{info.max})")
        return int(nodata)
    number = float(nodata)
    if dtype.kind == "f":
        with np.errstate(over="ignore"):
            cast = np.array(number, dtype=dtype)
        if math.isfinite(number) and not np.isfinite(cast):
            raise MetadataError(f"nodata {nodata!r} is outside the range of {dtype}")
        return float(cast)
    info = np.iinfo(dtype)
    if not math.isfinite(number) or number != int(number) or not info.min <= number <= info.max:
        raise MetadataError(f"nodata {nodata!r} is not a value of {dtype} "
                            f"(integers {info.min}..{info.max})")
    return int(number)


def band_values(count: int) -> np.ndarray:
    """The values of the ``band`` coordinate: 1..count, GDAL's band numbers (int64)."""
    return np.arange(1, count + 1, dtype=np.int64)


def band_names_attribute(names: Sequence[str]) -> str | list[str]:
    """``long_name`` for the band names: the name itself for one band, the list for several
    (rioxarray's spelling, which its ``to_raster`` writes back as band descriptions)."""
    return names[0] if len(names) == 1 else list(names)


def _plain(value: Any) -> Any:
    """A JSON-ready copy of a ``to_cf()`` value (numpy scalars become Python numbers)."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value
