"""Raster shapes and grids that trip readers up, each compared with GDAL where GDAL reads it.

Written on the fly by xarray + rioxarray as Zarr v2 (which GDAL 3.10 reads): time x y x,
4-D, (y, x, band), (x, y), south-up grids, 0..360 longitudes (global and across the
antimeridian), irregular coordinates, no CRS, no georeferencing at all, and axes that only an
override can find. GDAL takes the last two dimensions as y and x unless told otherwise; where
the spatial axes are elsewhere it is told with its DIM_X / DIM_Y open options, and geozarr must
find them on its own (from the names) or through ``x_dim`` / ``y_dim``. The rotated
``spatial:transform`` is a committed fixture (GDAL 3.10 reads no ``spatial:`` keys), compared
with a GeoTIFF twin.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import rioxarray  # noqa: F401  (registers the .rio accessor)
import xarray as xr
from affine import Affine

from geozarr.errors import NotGeoreferencedWarning

from .geo_helpers import (
    GEO_FIXTURES,
    assert_matches_gdal,
    assert_same_coordinate_helpers,
    assert_same_georeferencing,
    assert_same_pixels,
    assert_same_reads,
    connection,
    gdal_open,
    generate_geo,
    georeferencing_warnings,
    geotiff_twin,
    open_geozarr,
    raster_view,
)

pytestmark = pytest.mark.filterwarnings("ignore::geozarr.MetadataWarning")

HEIGHT, WIDTH = 20, 30


def _ramp(shape: tuple[int, ...], dtype: str) -> np.ndarray:
    ramp = np.arange(int(np.prod(shape)), dtype=np.int64) * 7 % 613
    values = ramp * 0.5 if np.dtype(dtype).kind == "f" else ramp % 250 + 1
    return values.astype(dtype).reshape(shape)


def _centres(origin: float, step: float, count: int) -> np.ndarray:
    return origin + step * (np.arange(count) + 0.5)


def _y() -> np.ndarray:
    return _centres(5000000.0, -10.0, HEIGHT)


def _x() -> np.ndarray:
    return _centres(500000.0, 10.0, WIDTH)


def time_y_x() -> xr.DataArray:
    values = _ramp((4, HEIGHT, WIDTH), "float32")
    values[:, 5, 5] = np.nan
    return xr.DataArray(values, dims=("time", "y", "x"), coords={
        "time": pd.date_range("2021-03-01T06:00", periods=4, freq="6h"), "y": _y(), "x": _x()},
    ).rio.write_crs("EPSG:32633")


def four_d() -> xr.DataArray:
    values = _ramp((2, 3, HEIGHT, WIDTH), "int16")
    values[..., 0, 0] = -1
    da = xr.DataArray(values, dims=("time", "level", "y", "x"), coords={
        "time": pd.date_range("2000-01-01", periods=2, freq="D"), "level": [1000, 850, 500],
        "y": _y(), "x": _x()})
    da.encoding["_FillValue"] = np.int16(-1)
    return da.rio.write_crs("EPSG:32633")


def y_x_band() -> xr.DataArray:
    return xr.DataArray(_ramp((HEIGHT, WIDTH, 3), "uint8"), dims=("y", "x", "band"),
                        coords={"y": _y(), "x": _x(), "band": [10, 20, 30]},
                        ).rio.write_crs("EPSG:32633")


def x_y() -> xr.DataArray:
    return xr.DataArray(_ramp((WIDTH, HEIGHT), "float32"), dims=("x", "y"),
                        coords={"y": _y(), "x": _x()}).rio.write_crs("EPSG:32633")


def south_up() -> xr.DataArray:
    return xr.DataArray(_ramp((HEIGHT, WIDTH), "float32"), dims=("y", "x"),
                        coords={"y": _centres(4000000.0, 10.0, HEIGHT), "x": _x()},
                        ).rio.write_crs("EPSG:32633")


def lon_0_360_global() -> xr.DataArray:
    return xr.DataArray(_ramp((HEIGHT, WIDTH), "float32"), dims=("lat", "lon"), coords={
        "lat": _centres(90.0, -9.0, HEIGHT), "lon": _centres(0.0, 12.0, WIDTH)},
    ).rio.write_crs("EPSG:4326")


def lon_0_360_antimeridian() -> xr.DataArray:
    return xr.DataArray(_ramp((HEIGHT, WIDTH), "float32"), dims=("lat", "lon"), coords={
        "lat": _centres(-10.0, -0.5, HEIGHT), "lon": _centres(170.0, 1.0, WIDTH)},
    ).rio.write_crs("EPSG:4326")


IRREGULAR_X = np.concatenate([_centres(0.0, 1.0, WIDTH - 1), [40.0]])


def irregular_x() -> xr.DataArray:
    return xr.DataArray(_ramp((HEIGHT, WIDTH), "float32"), dims=("y", "x"), coords={
        "y": _centres(45.0, -1.0, HEIGHT), "x": IRREGULAR_X}).rio.write_crs("EPSG:4326")


def no_crs_with_coordinates() -> xr.DataArray:
    return xr.DataArray(_ramp((HEIGHT, WIDTH), "float32"), dims=("y", "x"),
                        coords={"y": _y(), "x": _x()})


def not_georeferenced() -> xr.DataArray:
    return xr.DataArray(_ramp((HEIGHT, WIDTH), "int32"), dims=("a", "b"))


def axes_found_by_override() -> xr.DataArray:
    """(row, col, sample): nothing names the spatial axes, and they are not the last two."""
    return xr.DataArray(_ramp((HEIGHT, WIDTH, 2), "float32"), dims=("row", "col", "sample"),
                        coords={"row": _y(), "col": _x(), "sample": [0, 1]},
                        ).rio.write_crs("EPSG:32633", grid_mapping_name="spatial_ref")


BUILDERS: dict[str, Callable[[], xr.DataArray]] = {
    builder.__name__: builder for builder in (
        time_y_x, four_d, y_x_band, x_y, south_up, lon_0_360_global, lon_0_360_antimeridian,
        irregular_x, no_crs_with_coordinates, not_georeferenced, axes_found_by_override)
}
#: GDAL open options that point GDAL at the spatial axes when they are not the last two.
GDAL_AXES = {"y_x_band": {"DIM_X": "x", "DIM_Y": "y"}, "x_y": {"DIM_X": "x", "DIM_Y": "y"},
             "axes_found_by_override": {"DIM_X": "col", "DIM_Y": "row"}}
VARIABLE = "v"


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("edge_cases")
    paths = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name, build in BUILDERS.items():
            path = root / f"{name}.zarr"
            build().to_dataset(name=VARIABLE).to_zarr(path, zarr_format=2, mode="w",
                                                      consolidated=True)
            paths[name] = path
    return paths


def _compare_with_gdal(path: Path, name: str, **kwargs: Any) -> Any:
    reader, caught = open_geozarr(str(path), array=VARIABLE, **kwargs)
    with gdal_open(path, VARIABLE, **GDAL_AXES.get(name, {})) as reference:
        assert_matches_gdal(reader, reference)
        assert_same_reads(reader, reference)
        assert_same_coordinate_helpers(reader, reference)
    return reader, caught


@pytest.mark.parametrize("name", [n for n in BUILDERS if n != "axes_found_by_override"])
def test_matches_gdal(written: dict[str, Path], name: str) -> None:
    _compare_with_gdal(written[name], name)


def test_time_y_x_has_a_band_per_time_step(written: dict[str, Path]) -> None:
    path = written["time_y_x"]
    reader, _ = open_geozarr(str(path), array=VARIABLE)
    assert reader.count == 4 and tuple(reader.band_dims) == ("time",)
    for step in range(4):
        with gdal_open(path, f"{VARIABLE}:{step}") as reference:
            for target, kwargs in ((connection(path, f"{VARIABLE}:{step}"), {}),
                                   (str(path), {"array": VARIABLE, "sel": {"time": step}})):
                one, _ = open_geozarr(target, **kwargs)
                assert_matches_gdal(one, reference)
            assert_same_pixels(reader.read(step + 1), reference.read(1))


def test_four_d_bands_in_c_order_of_the_extra_dimensions(written: dict[str, Path]) -> None:
    path = written["four_d"]
    reader, _ = open_geozarr(str(path), array=VARIABLE)
    assert reader.count == 6 and tuple(reader.band_dims) == ("time", "level")
    assert [(reader.tags(b)["DIM_time_INDEX"], reader.tags(b)["DIM_level_INDEX"])
            for b in reader.indexes] == [(str(t), str(lv)) for t in range(2) for lv in range(3)]
    with gdal_open(path, f"{VARIABLE}:1:2") as reference:
        for target, kwargs in ((connection(path, f"{VARIABLE}:1:2"), {}),
                               (str(path), {"array": VARIABLE, "sel": {"time": 1, "level": 2}})):
            one, _ = open_geozarr(target, **kwargs)
            assert_matches_gdal(one, reference)
        assert_same_pixels(reader.read(6), reference.read(1))


def test_spatial_axes_not_last_are_found_by_name(written: dict[str, Path]) -> None:
    for name, dims in (("y_x_band", ("y", "x", "band")), ("x_y", ("x", "y"))):
        reader, _ = open_geozarr(str(written[name]), array=VARIABLE)
        assert tuple(reader.dims) == dims
        assert (reader.y_dim, reader.x_dim) == ("y", "x")


def test_axes_override(written: dict[str, Path]) -> None:
    """``x_dim`` / ``y_dim`` name the spatial axes, as GDAL's DIM_X / DIM_Y do."""
    reader, _ = _compare_with_gdal(written["axes_found_by_override"], "axes_found_by_override",
                                   x_dim="col", y_dim="row")
    assert (reader.y_dim, reader.x_dim, tuple(reader.band_dims)) == ("row", "col", ("sample",))


def test_south_up_keeps_its_row_order(written: dict[str, Path]) -> None:
    reader, _ = open_geozarr(str(written["south_up"]), array=VARIABLE)
    assert reader.transform.e > 0
    assert reader.bounds.bottom > reader.bounds.top  # as rasterio reports a south-up grid
    assert_same_pixels(reader.read(1), _ramp((HEIGHT, WIDTH), "float32"))
    np.testing.assert_array_equal(reader.y_coords, _centres(4000000.0, 10.0, HEIGHT))
    np.testing.assert_array_equal(reader.x_coords, _x())


@pytest.mark.parametrize(("name", "bounds"), [
    ("lon_0_360_global", (0.0, -90.0, 360.0, 90.0)),
    ("lon_0_360_antimeridian", (170.0, -20.0, 200.0, -10.0)),
])
def test_longitudes_0_to_360_are_not_wrapped(written: dict[str, Path], name: str,
                                             bounds: tuple[float, ...]) -> None:
    reader, _ = open_geozarr(str(written[name]), array=VARIABLE)
    assert tuple(reader.bounds) == pytest.approx(bounds)


def test_irregular_coordinates_are_kept_and_warned_about(written: dict[str, Path]) -> None:
    """GDAL gives up on the transform (the identity) but keeps the CRS; so does geozarr, with
    a GeoreferencingWarning, and the coordinates stay available."""
    reader, caught = _compare_with_gdal(written["irregular_x"], "irregular_x")
    assert reader.transform == Affine.identity()
    assert georeferencing_warnings(caught), "expected a GeoreferencingWarning"
    np.testing.assert_array_equal(reader.x_coords, IRREGULAR_X)
    np.testing.assert_array_equal(reader.y_coords, _centres(45.0, -1.0, HEIGHT))


def test_no_crs(written: dict[str, Path]) -> None:
    georeferenced, caught = open_geozarr(str(written["no_crs_with_coordinates"]),
                                         array=VARIABLE)
    assert georeferenced.crs is None
    assert georeferenced.transform == Affine(10.0, 0.0, 500000.0, 0.0, -10.0, 5000000.0)
    assert not any(issubclass(w.category, NotGeoreferencedWarning) for w in caught)
    bare, caught = open_geozarr(str(written["not_georeferenced"]), array=VARIABLE)
    assert bare.crs is None and bare.transform == Affine.identity()
    assert any(issubclass(w.category, NotGeoreferencedWarning) for w in caught)


def test_rotated_spatial_transform() -> None:
    fixture = next(f for f in generate_geo.CONVENTION_FIXTURES
                   if f.name == "spatial_transform_rotated")
    spec = next(fixture.data_arrays())
    reader, _ = open_geozarr(str(GEO_FIXTURES / fixture.relative_path), array="data")
    values = raster_view(spec.data(), spec.dims, "y", "x")
    with geotiff_twin(values, crs="EPSG:32633", transform=generate_geo.ROTATED,
                      nodata=spec.fill_value) as twin:
        assert_same_georeferencing(reader, twin)
        assert_same_coordinate_helpers(reader, twin)
        assert_same_reads(reader, twin)
