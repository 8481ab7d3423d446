"""Bad georeferencing input and bad requests: a ``GeoZarrError`` naming the attribute or path.

The malformed datasets are committed under ``fixtures/data/geo/bad/`` (``generate_geo.py``
says what each must raise): a malformed ``_CRS``, unknown EPSG codes, a ``grid_mapping``
naming a missing variable, transforms of the wrong length. The bad requests (a slice index out
of range, an unknown array, dimension or axis) are made against good fixtures. Georeferencing
may be resolved when the raster is opened or on first access: both count.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import geozarr
from geozarr import errors
from geozarr.errors import DimensionError, GeoZarrError

from .geo_helpers import GEO_FIXTURES, connection, generate_geo

pytestmark = pytest.mark.filterwarnings("ignore::geozarr.GeoZarrWarning")


def _open_and_resolve(target: Any, **kwargs: Any) -> None:
    reader = geozarr.open_raster(target, **kwargs)
    _ = (reader.crs, reader.transform, reader.bounds, reader.nodata)


@pytest.mark.parametrize("fixture", generate_geo.BAD_FIXTURES, ids=lambda f: f.name)
def test_bad_georeferencing_names_the_attribute(fixture: Any) -> None:
    spec = next(fixture.data_arrays())
    expected = getattr(errors, spec.expect.error)
    path = GEO_FIXTURES / fixture.relative_path
    with pytest.raises(expected) as caught:
        _open_and_resolve(str(path), array=spec.path)
    assert isinstance(caught.value, GeoZarrError)
    message = str(caught.value)
    for name in spec.expect.names:
        assert name in message, f"{name!r} not named in: {message}"


@pytest.mark.parametrize("fixture", generate_geo.BAD_FIXTURES, ids=lambda f: f.name)
def test_bad_georeferencing_through_a_connection_string(fixture: Any) -> None:
    spec = next(fixture.data_arrays())
    with pytest.raises(getattr(errors, spec.expect.error)):
        _open_and_resolve(connection(GEO_FIXTURES / fixture.relative_path, spec.path))


# -- bad requests against good data -------------------------------------------------------------
BAND_LAST = GEO_FIXTURES / "spatial_dimensions_band_last.zarr"  # data(row, col, band=3)
GROUPED = GEO_FIXTURES / "proj_group_level_direct_children.zarr"


def test_slice_index_out_of_range_in_a_connection_string() -> None:
    with pytest.raises(DimensionError) as caught:
        _open_and_resolve(connection(BAND_LAST, "/data:3"))
    message = str(caught.value)
    assert "3" in message and ("band" in message or "/data" in message), message


@pytest.mark.parametrize("sel", [{"band": 3}, {"band": -4}, {"band": 100}])
def test_slice_index_out_of_range_by_name(sel: dict[str, int]) -> None:
    with pytest.raises(DimensionError) as caught:
        _open_and_resolve(str(BAND_LAST), array="data", sel=sel)
    assert "band" in str(caught.value)


def test_selection_of_an_unknown_dimension() -> None:
    with pytest.raises(DimensionError) as caught:
        _open_and_resolve(str(BAND_LAST), array="data", sel={"time": 0})
    assert "time" in str(caught.value)


def test_too_many_slice_indices() -> None:
    """GDAL: "Wrong number of indices of extra dimensions" (one extra dimension here)."""
    with pytest.raises(DimensionError):
        _open_and_resolve(connection(BAND_LAST, "/data:1:2"))


@pytest.mark.parametrize("target", [
    connection(GROUPED, "/nope"),
    connection(GROUPED, "/tile/nope"),
    connection(GROUPED, "/tile/nested"),  # a group, not an array
])
def test_unknown_array_in_a_connection_string(target: str) -> None:
    name = target.rsplit(":", 1)[-1]
    with pytest.raises(GeoZarrError) as caught:
        _open_and_resolve(target)
    assert name in str(caught.value), str(caught.value)


def test_unknown_array_by_keyword() -> None:
    with pytest.raises(GeoZarrError) as caught:
        _open_and_resolve(str(GROUPED), array="tile/missing")
    assert "missing" in str(caught.value)


@pytest.mark.parametrize("axes", [{"x_dim": "lon"}, {"y_dim": "lat"},
                                  {"x_dim": "col", "y_dim": "col"}])
def test_unknown_or_repeated_spatial_axis(axes: dict[str, str]) -> None:
    with pytest.raises(DimensionError) as caught:
        _open_and_resolve(str(BAND_LAST), array="data", **axes)
    assert any(name in str(caught.value) for name in axes.values()), str(caught.value)


def test_a_store_that_does_not_exist(tmp_path: Path) -> None:
    missing = tmp_path / "missing.zarr"
    with pytest.raises(GeoZarrError) as caught:
        _open_and_resolve(connection(missing, "/data"))
    assert "missing.zarr" in str(caught.value)


@pytest.mark.parametrize("target", ['ZARR:"unterminated', "ZARR:", 'ZARR:""'])
def test_malformed_connection_string(target: str) -> None:
    with pytest.raises(GeoZarrError):
        _open_and_resolve(target)


def test_listing_a_dataset_does_not_resolve_bad_georeferencing() -> None:
    """``geozarr.open`` lists the data array (not the grid-mapping variable next to it)
    without resolving its broken GeoTransform; opening the raster then raises."""
    fixture = next(f for f in generate_geo.BAD_FIXTURES
                   if f.name == "bad_geotransform_wrong_length")
    ds = geozarr.open(str(GEO_FIXTURES / fixture.relative_path))
    assert list(ds.arrays) == ["/data"]
    with pytest.raises(errors.GeoreferencingError):
        reader = ds.open_raster("/data")
        _ = (reader.crs, reader.transform)
