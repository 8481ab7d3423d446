"""Whole-array resolution, on hand-made contexts and on what rioxarray and GDAL really write.

The producer tests read the JSON the producer left on disk into an :class:`ArrayContext`
(``context_from_disk``, a small stand-in for the reader's own context builder) and compare the
resolved CRS and transform with what the producer's own reader reports for the same store.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import rasterio
import rioxarray  # noqa: F401  (registers the .rio accessor)
import xarray as xr
from affine import Affine
from rasterio.crs import CRS
from rasterio.errors import NotGeoreferencedWarning as RasterioNotGeoreferencedWarning
from rasterio.transform import from_origin

import geozarr
from geozarr.errors import (
    DimensionError,
    GeoreferencingError,
    MetadataWarning,
    NotGeoreferencedWarning,
)
from geozarr.geo.context import ArrayContext
from geozarr.geo.conventions import PROJ_UUID, SPATIAL_UUID
from geozarr.geo.dimensions import array_dimensions
from geozarr.geo.georeference import Georeference, resolve_georeference

# rasterio's from_origin and rioxarray still compose Affine with "*" (affine 3 prefers "@").
pytestmark = pytest.mark.filterwarnings("ignore:Use `@` matmul:PendingDeprecationWarning")

# The Zarr members of array metadata; anything else goes to ArrayContext.metadata_extra.
ZARR_MEMBERS = {"zarr_format", "shape", "chunks", "dtype", "compressor", "fill_value", "order",
                "filters", "dimension_separator", "node_type", "data_type", "chunk_grid",
                "chunk_key_encoding", "codecs", "attributes", "dimension_names",
                "storage_transformers"}


def _node_json(root: Path, path: str) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """(metadata document, attributes) of the node at ``path``, v3 or v2; None if absent."""
    node = root / path if path else root
    if (node / "zarr.json").exists():
        doc = json.loads((node / "zarr.json").read_text())
        return doc, doc.get("attributes", {})
    for name in (".zarray", ".zgroup"):
        if (node / name).exists():
            attrs_file = node / ".zattrs"
            attrs = json.loads(attrs_file.read_text()) if attrs_file.exists() else {}
            return json.loads((node / name).read_text()), attrs
    return None


def open_array(root: Path, path: str) -> geozarr.Array:
    """The array through geozarr, ignoring the warnings about GDAL's v3 quirks (the core
    reads them liberally; tests/interop/test_gdal.py checks those warnings)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MetadataWarning)
        return geozarr.open_array(root, path=path)


def context_from_disk(root: Path, path: str) -> ArrayContext:
    """The context of the array at ``path`` (no leading "/") in the store at ``root``."""
    doc, attrs = _node_json(root, path) or ({}, {})
    array = open_array(root, path)
    parent = path.rpartition("/")[0]
    ancestors = [parent]
    while ancestors[-1]:
        ancestors.append(ancestors[-1].rpartition("/")[0])

    def lookup(name: str) -> str | None:
        for group in ancestors:
            candidate = f"{group}/{name}" if group else name
            found = _node_json(root, candidate)
            if found is not None and "shape" in found[0]:
                return candidate
        return None

    def variable_attrs(name: str) -> dict[str, Any] | None:
        found = lookup(name)
        return None if found is None else (_node_json(root, found) or ({}, {}))[1]

    def variable_values(name: str) -> np.ndarray | None:
        found = lookup(name)
        if found is None:
            return None
        variable = open_array(root, found)
        return variable[...] if variable.ndim <= 1 else None

    extra = {key: value for key, value in doc.items() if key not in ZARR_MEMBERS}
    names = doc.get("dimension_names")
    return ArrayContext(
        path=f"/{path}", shape=array.shape,
        dims=array_dimensions(array.shape, attrs, tuple(names) if names else None, extra,
                              path=f"/{path}"),
        attrs=attrs, fill_value=array.fill_value, dtype=array.dtype,
        parent_attrs=(_node_json(root, parent) or ({}, {}))[1],
        root_attrs=(_node_json(root, "") or ({}, {}))[1], metadata_extra=extra,
        variable_attrs=variable_attrs, variable_values=variable_values)


def quietly(ctx: ArrayContext, **overrides: Any) -> Georeference:
    """Resolve, failing on any warning geozarr emits."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        return resolve_georeference(ctx, **overrides)


# -- hand-made contexts ---------------------------------------------------------------------


def geozarr_group_context() -> ArrayContext:
    """A band of a GeoZarr dataset group: proj and spatial on the group, per the conventions."""
    group = {
        "zarr_conventions": [{"uuid": PROJ_UUID, "name": "proj"},
                             {"uuid": SPATIAL_UUID, "name": "spatial"}],
        "proj:code": "EPSG:32633",
        "spatial:dimensions": ["Y", "X"],
        "spatial:transform": [10.0, 0.0, 500000.0, 0.0, -10.0, 5000000.0],
        "spatial:shape": [3, 4],
    }
    attrs = {"spatial:dimensions": ["Y", "X"], "_FillValue": 0, "scale_factor": 0.0001,
             "units": "1", "long_name": "B04"}
    return ArrayContext(path="/r10m/b04", shape=(2, 3, 4), dims=("time", "Y", "X"), attrs=attrs,
                        fill_value=np.uint16(0), dtype=np.dtype("u2"), parent_attrs=group)


def test_a_geozarr_convention_dataset_resolves_completely() -> None:
    result = quietly(geozarr_group_context())
    assert (result.axes.y_axis, result.axes.x_axis) == (1, 2)
    assert result.axes.source == "spatial:dimensions"
    assert result.crs.crs == CRS.from_epsg(32633)
    assert result.crs.source == "proj:code (parent group)"
    assert result.transform.transform == Affine(10.0, 0.0, 500000.0, 0.0, -10.0, 5000000.0)
    assert result.transform.source == "spatial:transform (parent group)"
    assert (result.values.nodata, result.values.scale, result.values.description) == (
        0, 0.0001, "B04")


def test_overrides_reach_the_axes_and_the_transform_follows_them() -> None:
    ctx = ArrayContext(
        path="/v", shape=(3, 4), dims=("a", "b"), attrs={}, fill_value=None,
        dtype=np.dtype("f8"),
        variable_values={"a": np.array([0.5, 1.5, 2.5]), "b": np.array([3.0, 2.0, 1.0, 0.0])}.get)
    result = quietly(ctx, x_dim="a", y_dim="b")
    assert (result.axes.x_dim, result.axes.y_dim) == ("a", "b")
    assert result.transform.transform == Affine(1.0, 0.0, 0.0, 0.0, -1.0, 3.5)
    with pytest.raises(DimensionError, match="^/v: x_dim='c'"):
        resolve_georeference(ctx, x_dim="c")


def test_bad_georeferencing_is_an_error_from_the_whole_resolution() -> None:
    ctx = ArrayContext(path="/g/v", shape=(3, 4), dims=("y", "x"),
                       attrs={"_CRS": {"wkt": "broken"}}, fill_value=None, dtype=np.dtype("f4"))
    with pytest.raises(GeoreferencingError, match="^/g/v: _CRS.wkt"):
        resolve_georeference(ctx)


# -- rioxarray ------------------------------------------------------------------------------


def rioxarray_says(store: Path, name: str) -> tuple[CRS, Affine]:
    """CRS and transform rioxarray reads back from the store."""
    dataset = xr.open_zarr(store, consolidated=False, decode_coords="all")
    array = dataset[name]
    return CRS.from_wkt(array.rio.crs.to_wkt()), array.rio.transform()


@pytest.mark.parametrize("zarr_format", [2, 3])
def test_rioxarray_geotransform_and_crs(tmp_path: Path, zarr_format: int) -> None:
    transform = Affine(10.0, 0.0, 500000.0, 0.0, -10.0, 5000000.0)
    data = xr.DataArray(np.arange(12, dtype="float32").reshape(3, 4), dims=("y", "x"))
    data = data.rio.write_crs("EPSG:32633").rio.write_transform(transform)
    data = data.rio.write_nodata(np.nan, encoded=True)
    store = tmp_path / "rio.zarr"
    data.to_dataset(name="band").to_zarr(store, zarr_format=zarr_format, consolidated=False)
    result = quietly(context_from_disk(store, "band"))
    crs, rio_transform = rioxarray_says(store, "band")
    assert result.crs.crs == crs and result.crs.crs.to_epsg() == 32633
    assert result.crs.source == "grid_mapping 'spatial_ref'"
    assert result.transform.transform == rio_transform == transform
    assert result.transform.source == "GeoTransform on grid_mapping 'spatial_ref'"
    assert result.values.nodata is not None and np.isnan(result.values.nodata)


@pytest.mark.parametrize("south_up", [False, True])
def test_rioxarray_coordinates_north_up_and_south_up(tmp_path: Path, south_up: bool) -> None:
    y = 45.0 - 0.25 * np.arange(6) - 0.125
    x = -3.0 + 0.5 * np.arange(5) + 0.25
    data = xr.DataArray(np.zeros((6, 5), dtype="int16"), dims=("y", "x"),
                        coords={"y": y[::-1] if south_up else y, "x": x})
    data = data.rio.write_crs("EPSG:4326")
    data.encoding["_FillValue"] = -1
    store = tmp_path / "coords.zarr"
    data.to_dataset(name="v").to_zarr(store, zarr_format=3, consolidated=False)
    result = quietly(context_from_disk(store, "v"))
    crs, rio_transform = rioxarray_says(store, "v")
    assert result.crs.crs == crs
    assert result.transform.source == "coordinates 'x', 'y'"
    assert result.transform.transform.almost_equals(rio_transform)
    assert (result.transform.transform.e > 0) == south_up
    np.testing.assert_array_equal(result.transform.y_coords, y[::-1] if south_up else y)
    assert result.values.nodata == -1


def test_xarray_lat_lon_without_any_crs_is_wgs84(tmp_path: Path) -> None:
    data = xr.DataArray(np.zeros((3, 4)), dims=("lat", "lon"),
                        coords={"lat": [10.0, 9.0, 8.0], "lon": [0.5, 1.5, 2.5, 3.5]})
    data.lat.attrs.update(units="degrees_north", standard_name="latitude")
    data.lon.attrs.update(units="degrees_east", standard_name="longitude")
    store = tmp_path / "latlon.zarr"
    data.to_dataset(name="v").to_zarr(store, zarr_format=2, consolidated=False)
    result = quietly(context_from_disk(store, "v"))
    assert result.crs.crs == CRS.from_epsg(4326)
    assert result.crs.source == "lat/lon coordinates (WGS 84 assumed)"
    assert result.axes.source == "CF coordinate attributes"
    assert result.transform.transform == Affine(1.0, 0.0, 0.0, 0.0, -1.0, 10.5)


# -- GDAL -----------------------------------------------------------------------------------


def gdal_says(store: Path, array: str) -> dict[str, Any]:
    """What rasterio reports for the array through GDAL's Zarr driver."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RasterioNotGeoreferencedWarning)
        with rasterio.open(f'ZARR:"{store}":/{array}') as dataset:
            return {"crs": dataset.crs, "transform": dataset.transform, "nodata": dataset.nodata,
                    "scale": dataset.scales[0], "offset": dataset.offsets[0],
                    "units": dataset.units[0] or ""}


def assert_same_as_gdal(result: Georeference, gdal: dict[str, Any]) -> None:
    assert result.crs.crs == gdal["crs"]
    assert result.crs.crs is not None and result.crs.crs.to_epsg() == gdal["crs"].to_epsg()
    assert result.transform.transform.almost_equals(gdal["transform"])
    nodata = result.values.nodata
    assert nodata == gdal["nodata"] or (np.isnan(nodata) and np.isnan(gdal["nodata"]))
    assert (result.values.scale, result.values.offset, result.values.units) == (
        gdal["scale"], gdal["offset"], gdal["units"])


@pytest.mark.parametrize("fixture", ["v2_georeferenced.zarr", "v3_georeferenced.zarr"])
def test_gdal_fixtures_resolve_as_gdal_reports_them(fixtures_dir: Path, fixture: str) -> None:
    store = fixtures_dir / "gdal" / fixture
    result = quietly(context_from_disk(store, "data"))
    assert result.crs.source == "_CRS.url"
    assert result.transform.source == "coordinates 'X', 'Y'"
    assert (result.axes.y_dim, result.axes.x_dim) == ("Y", "X")
    gdal = gdal_says(store, "data")
    assert gdal["transform"] == from_origin(10.0, 50.0, 0.25, 0.125)
    assert_same_as_gdal(result, gdal)


@pytest.mark.parametrize("zarr_format", [2, 3])
def test_a_projected_gdal_write_resolves_as_gdal_reports_it(tmp_path: Path,
                                                            zarr_format: int) -> None:
    store = tmp_path / "utm.zarr"
    profile = {"driver": "Zarr", "width": 7, "height": 5, "count": 1, "dtype": "int16",
               "crs": "EPSG:32633", "transform": from_origin(500000.0, 5000000.0, 30.0, 30.0),
               "nodata": -9999, "FORMAT": f"ZARR_V{zarr_format}", "ARRAY_NAME": "data"}
    with rasterio.open(store, "w", **profile) as dataset:
        dataset.write(np.arange(35, dtype="int16").reshape(1, 5, 7))
        dataset.scales, dataset.offsets, dataset.units = (0.5,), (1.0,), ("m",)
    result = quietly(context_from_disk(store, "data"))
    assert_same_as_gdal(result, gdal_says(store, "data"))


def test_an_ungeoreferenced_gdal_write_is_the_identity_for_both(fixtures_dir: Path) -> None:
    store = fixtures_dir / "gdal" / "v2_bands_first_3d.zarr"
    ctx = context_from_disk(store, "data")
    with pytest.warns(NotGeoreferencedWarning, match="/data: not georeferenced"):
        result = resolve_georeference(ctx)
    gdal = gdal_says(store, "data")
    assert result.transform.transform == gdal["transform"] == Affine.identity()
    assert result.crs.crs is None and gdal["crs"] is None
    assert (result.axes.y_axis, result.axes.x_axis) == (1, 2)
