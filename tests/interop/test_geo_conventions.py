"""The ``proj`` / ``spatial`` Zarr conventions, hand-written per the convention texts
(``fixtures/generate_geo.py``, committed under ``fixtures/data/geo/``): geozarr reports the CRS,
transform, nodata and pixels written, with the warnings the cases call for.

GDAL 3.10 does not read these conventions (GDAL 3.13 is the first that does), and the
installed rioxarray (0.19) predates them too. So the reference is what was written: the
expectations stored next to each fixture in ``generate_geo.py``, and a GeoTIFF twin written by
GDAL with exactly that georeferencing and those values, which gives rasterio's answers for
bounds, windows, ``index``/``xy`` and decimated or masked reads. Where GDAL 3.10 can read part
of a fixture (the EOPF x/y coordinate arrays) it is compared too.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from rasterio.io import DatasetReader
from rasterio.windows import Window

import geozarr

from .geo_helpers import (
    GEO_FIXTURES,
    CountingStore,
    assert_same_coordinate_helpers,
    assert_same_crs,
    assert_same_georeferencing,
    assert_same_pixels,
    assert_same_reads,
    assert_same_transform,
    assert_warnings,
    gdal_open,
    generate_geo,
    georeferencing_warnings,
    geotiff_twin,
    open_geozarr,
    raster_view,
    same_nodata,
)

pytestmark = pytest.mark.filterwarnings("ignore::geozarr.MetadataWarning")

IDENTITY = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0)
CASES = [
    pytest.param(fixture, spec, id=f"{fixture.name}{spec.path.replace('/', '-')}")
    for fixture in generate_geo.CONVENTION_FIXTURES for spec in fixture.data_arrays()
]


def path_of(fixture: Any) -> Path:
    return GEO_FIXTURES / fixture.relative_path


def expected_values(spec: Any) -> np.ndarray:
    """(bands, rows, cols) as a raster reader shows the values written."""
    return raster_view(spec.data(), spec.dims, spec.expect.y_dim, spec.expect.x_dim)


@contextmanager
def twin_of(spec: Any) -> Iterator[DatasetReader]:
    """A GeoTIFF written by GDAL with the georeferencing and values the fixture holds."""
    expect = spec.expect
    with geotiff_twin(expected_values(spec), crs=expect.crs,
                      transform=expect.transform or IDENTITY,
                      nodata=spec.fill_value) as twin:
        yield twin


@pytest.mark.parametrize(("fixture", "spec"), CASES)
def test_reads_what_was_written(fixture: Any, spec: Any) -> None:
    reader, caught = open_geozarr(str(path_of(fixture)), array=spec.path)
    expect = spec.expect
    assert_same_crs(reader.crs, expect.crs)
    assert_same_transform(reader.transform, expect.transform or IDENTITY)
    assert same_nodata(reader.nodata, spec.fill_value), f"nodata {reader.nodata!r}"
    assert (reader.y_dim, reader.x_dim) == (expect.y_dim, expect.x_dim)
    assert_same_pixels(reader.read(), expected_values(spec))
    assert_warnings(caught, expect.warning)


@pytest.mark.parametrize(("fixture", "spec"), CASES)
def test_matches_a_geotiff_twin(fixture: Any, spec: Any) -> None:
    """Bounds, resolution, windows, decimated and masked reads, index/xy/window helpers."""
    reader, _ = open_geozarr(str(path_of(fixture)), array=spec.path)
    with twin_of(spec) as twin:
        assert_same_georeferencing(reader, twin)
        assert_same_reads(reader, twin)
        assert_same_coordinate_helpers(reader, twin)


def _gdal_readable() -> list[Any]:
    return [case for case in CASES if case.values[1].expect.gdal_reads]


@pytest.mark.parametrize(("fixture", "spec"), _gdal_readable())
def test_gdal_agrees_where_it_reads_the_georeferencing(fixture: Any, spec: Any) -> None:
    """EOPF: GDAL 3.10 takes the transform from the x/y coordinate arrays (it ignores the
    legacy ``proj:epsg``, so its CRS is None and not compared)."""
    reader, _ = open_geozarr(str(path_of(fixture)), array=spec.path)
    with gdal_open(path_of(fixture), spec.path) as reference:
        assert reference.crs is None  # the premise: GDAL 3.10 does not read proj:epsg
        assert_same_transform(reader.transform, reference.transform)
        assert tuple(reader.bounds) == pytest.approx(tuple(reference.bounds))
        assert same_nodata(reader.nodata, reference.nodata)
        assert_same_pixels(reader.read(), reference.read())


# -- the cases one by one -------------------------------------------------------------------
def _fixture(name: str) -> Any:
    return next(f for f in generate_geo.CONVENTION_FIXTURES if f.name == name)


def test_group_level_convention_applies_to_direct_children_only() -> None:
    fixture = _fixture("proj_group_level_direct_children")
    ds = geozarr.open(str(path_of(fixture)))
    assert sorted(ds.arrays) == ["/tile/data", "/tile/nested/deep", "/tile/override",
                                 "/tile/partial"]
    inherited = ds.open_raster("/tile/data")
    assert_same_crs(inherited.crs, "EPSG:32633")
    assert_same_transform(inherited.transform, generate_geo.UTM33)
    deep, caught = open_geozarr(str(path_of(fixture)), array="/tile/nested/deep")
    assert deep.crs is None
    assert_same_transform(deep.transform, IDENTITY)
    assert_warnings(caught, generate_geo.NOT_GEOREFERENCED)


def test_disagreeing_crs_representations_warn_naming_the_winner() -> None:
    fixture = _fixture("proj_crs_precedence")
    for array in ("/all_disagree", "/code_vs_wkt2"):
        _, caught = open_geozarr(str(path_of(fixture)), array=array)
        messages = georeferencing_warnings(caught)
        assert any("proj:wkt2" in message for message in messages), messages


def test_undeclared_keys_warning_names_them() -> None:
    fixture = _fixture("undeclared_proj_spatial_keys")
    _, caught = open_geozarr(str(path_of(fixture)), array="/data")
    messages = georeferencing_warnings(caught)
    assert any("proj:" in message or "spatial:" in message for message in messages), messages


def test_transposed_storage_keeps_its_roles() -> None:
    fixture = _fixture("spatial_dimensions_transposed_xy")
    reader, _ = open_geozarr(str(path_of(fixture)), array="/data")
    assert tuple(reader.dims) == ("x", "y")
    assert (reader.height, reader.width) == (generate_geo.HEIGHT, generate_geo.WIDTH)
    assert tuple(reader.shape) == (generate_geo.HEIGHT, generate_geo.WIDTH)
    assert [tuple(shape) for shape in reader.block_shapes] == [(8, 16)]


def test_band_last_with_unconventional_names() -> None:
    fixture = _fixture("spatial_dimensions_band_last")
    reader, _ = open_geozarr(str(path_of(fixture)), array="/data")
    assert reader.count == 3
    assert tuple(reader.band_dims) == ("band",)
    assert [reader.tags(band)["DIM_band_INDEX"] for band in reader.indexes] == ["0", "1", "2"]


def test_node_registration_is_half_a_cell_off_the_written_transform() -> None:
    fixture = _fixture("spatial_registration_node")
    node, _ = open_geozarr(str(path_of(fixture)), array="/node")
    pixel, _ = open_geozarr(str(path_of(fixture)), array="/pixel")
    # the written transform locates the centre of the top-left cell
    assert tuple(node.xy(0, 0)) == pytest.approx((500000.0, 5000000.0))
    assert tuple(pixel.xy(0, 0)) == pytest.approx((500005.0, 4999995.0))


def test_rotated_transform_is_not_rectilinear() -> None:
    fixture = _fixture("spatial_transform_rotated")
    reader, _ = open_geozarr(str(path_of(fixture)), array="/data")
    assert not reader.transform.is_rectilinear
    assert tuple(reader.res) == pytest.approx((10.0, 10.0))


# -- chunk reads -----------------------------------------------------------------------------
@pytest.mark.parametrize(("name", "array", "window", "expected"), [
    # v3 "c/<row>/<col>" keys; the window lies inside chunk (1, 1)
    ("proj_v01_cmo_array_level", "data", Window(17, 9, 10, 5), {"data/c/1/1"}),
    # v2 "<row>.<col>" keys; across the four chunks round (8, 16)
    ("v2_proj_v01_cmo_array_level", "data", Window(10, 5, 10, 6),
     {"data/0.0", "data/0.1", "data/1.0", "data/1.1"}),
    # stored (x, y) in chunks of (16, 8): raster rows 0-7 and columns 16-29 are chunk (1, 0)
    ("spatial_dimensions_transposed_xy", "data", Window(16, 0, 14, 8), {"data/c/1/0"}),
    # inherited georeferencing: only the array's own chunks are read, none of the group's
    ("proj_group_level_direct_children", "tile/data", Window(0, 16, 16, 4),
     {"tile/data/c/2/0"}),
])
def test_window_read_touches_only_the_chunks_it_covers(name: str, array: str, window: Window,
                                                       expected: set[str]) -> None:
    fixture = _fixture(name)
    spec = next(s for s in fixture.arrays if s.path == "/" + array)
    store = CountingStore(path_of(fixture))
    reader = geozarr.open_raster(store, array=array)
    _ = (reader.crs, reader.transform, reader.nodata)
    store.reset()
    got = reader.read(1, window=window)
    assert store.chunk_keys(array) == expected
    with twin_of(spec) as twin:
        assert_same_pixels(got, twin.read(1, window=window))
