"""Pyramid metadata: the multiscales layout with the TMS, self-describing levels, and the
older forms (GeoZarr 0.4's TMS object, ndpyramid's list) read back."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from affine import Affine

import pyramid_sources as sources
from geozarr.core.hierarchy import open_group
from geozarr.errors import MetadataError
from geozarr.geo.conventions import MULTISCALES_UUID, PROJ_UUID, SPATIAL_UUID, \
    declared_conventions
from geozarr.pyramid.build import build_pyramid
from geozarr.pyramid.metadata import read_layout
from geozarr.pyramid.reader import open_pyramid
from geozarr.pyramid.tms import TileLimits, resolve_tms
from geozarr.raster.writer import write_raster

pytestmark = pytest.mark.filterwarnings(
    "ignore:Dataset has no geotransform:rasterio.errors.NotGeoreferencedWarning")


@pytest.fixture(scope="module")
def pyramid_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("metadata")
    target = folder / "rgb.zarr"
    build_pyramid(sources.geographic_uint8_rgb(folder), target, resampling="bilinear",
                  overview_resampling="cubicspline")
    return target


def root_document(path: Path) -> dict:
    return json.loads((path / "zarr.json").read_text())


def test_multiscales_layout_finest_first(pyramid_path: Path) -> None:
    attrs = root_document(pyramid_path)["attributes"]
    assert {MULTISCALES_UUID, PROJ_UUID, SPATIAL_UUID} <= declared_conventions(attrs)
    multiscales = attrs["multiscales"]
    layout = multiscales["layout"]
    with open_pyramid(pyramid_path) as pyramid:
        assert [entry["asset"] for entry in layout] == list(pyramid.levels)
        sizes = [entry["spatial:transform"][0] for entry in layout]
        assert sizes == sorted(sizes)
        assert "derived_from" not in layout[0]
        assert layout[0]["resampling_method"] == "bilinear"
        assert multiscales["resampling_method"] == "cubic_spline"
        for finer, entry in zip(layout, layout[1:]):
            assert entry["derived_from"] == finer["asset"]
            assert entry["resampling_method"] == "cubic_spline"
            scale = entry["transform"]["scale"]
            translation = entry["transform"]["translation"]
            assert len(scale) == len(translation) == 3  # (band, y, x)
            assert scale[0] == 1.0 and translation[0] == 0.0
            assert scale[1:] == [2.0, 2.0]
            mine, theirs = Affine(*entry["spatial:transform"]), Affine(*finer["spatial:transform"])
            assert mine.a == pytest.approx(theirs.a * scale[2])
            # the level's first pixel corner falls at `translation` in the finer pixel grid
            corner = theirs @ (translation[2], translation[1])
            assert corner == pytest.approx(mine @ (0, 0), abs=1e-6 * theirs.a)
        for entry in layout:
            reader = pyramid.level(entry["asset"])
            assert Affine(*entry["spatial:transform"]) == reader.transform
            assert entry["spatial:shape"] == list(reader.shape)


def test_tile_matrix_set_limits_proj_and_bbox(pyramid_path: Path) -> None:
    attrs = root_document(pyramid_path)["attributes"]
    multiscales = attrs["multiscales"]
    tms = resolve_tms(multiscales["tile_matrix_set"])
    ids = [entry["asset"] for entry in multiscales["layout"]]
    assert tms.id == "WebMercatorQuad"
    assert sorted(m.id for m in tms.tileMatrices) == sorted(ids)
    limits = multiscales["tile_matrix_limits"]
    assert set(limits) == set(ids)
    with open_pyramid(pyramid_path) as pyramid:
        for z in ids:
            assert limits[z]["tileMatrix"] == z
            assert TileLimits.from_json(limits[z], where=z) == pyramid.limits(z)
    assert attrs["proj:code"] == "EPSG:3857" and "proj:wkt2" in attrs
    left, bottom, right, top = attrs["spatial:bbox"]
    for entry in multiscales["layout"]:
        transform = Affine(*entry["spatial:transform"])
        height, width = entry["spatial:shape"]
        x0, y0 = transform @ (0, 0)
        x1, y1 = transform @ (width, height)
        assert left <= x0 and x1 <= right and bottom <= y1 and y0 <= top


def test_levels_are_self_describing_and_consolidated(pyramid_path: Path) -> None:
    document = root_document(pyramid_path)
    consolidated = document["consolidated_metadata"]["metadata"]
    for z in (entry["asset"] for entry in document["attributes"]["multiscales"]["layout"]):
        for name in ("data", "x", "y", "band", "spatial_ref"):
            assert f"{z}/{name}" in consolidated
        level = json.loads((pyramid_path / z / "zarr.json").read_text())["attributes"]
        assert {PROJ_UUID, SPATIAL_UUID} <= declared_conventions(level)
        assert level["proj:code"] == "EPSG:3857"
        data = consolidated[f"{z}/data"]
        assert data["dimension_names"] == ["band", "y", "x"]
        assert data["chunk_grid"]["configuration"]["chunk_shape"] == [1, 256, 256]
        assert data["attributes"]["spatial:transform"] == level["spatial:transform"]
        assert data["attributes"]["grid_mapping"] == "spatial_ref"
    assert open_group(pyramid_path).attrs["multiscales"]["layout"]


def _level(root: Path, name: str, data: np.ndarray, transform: Affine) -> None:
    write_raster(root / name, data, crs="EPSG:3857", transform=transform, nodata=0,
                 chunks=(data.shape[-2] if data.shape[-2] < 256 else 256,) * 2)


def _group(root: Path, attributes: dict) -> None:
    (root / "zarr.json").write_text(json.dumps(
        {"zarr_format": 3, "node_type": "group", "attributes": attributes}))


def test_reads_geozarr_0_4_tile_matrix_set_object(tmp_path: Path) -> None:
    root = tmp_path / "v04.zarr"
    root.mkdir()
    tms = resolve_tms("WebMercatorQuad")
    for z in (1, 2):
        size = tms.matrix(z).cellSize
        left, _, _, top = tms.xy_bounds(1, 0, z)
        values = np.full((256, 512), z, dtype="uint8")
        _level(root, str(z), values, Affine(size, 0, left, 0, -size, top))
    limits = {"1": {"min_tile_col": 1, "max_tile_col": 1, "min_tile_row": 0,
                    "max_tile_row": 0},
              "2": {"min_tile_col": 1, "max_tile_col": 2, "min_tile_row": 0,
                    "max_tile_row": 0}}
    _group(root, {"multiscales": {"tile_matrix_set": "WebMercatorQuad",
                                  "resampling_method": "nearest",
                                  "tile_matrix_limits": limits}})
    with open_pyramid(root) as pyramid:
        assert pyramid.layout.form == "geozarr-0.4"
        assert pyramid.tms.id == "WebMercatorQuad" and pyramid.levels == ("2", "1")
        assert pyramid.limits("2") == TileLimits(1, 2, 0, 0)
        assert pyramid.tile(2, 2, 0).min() == 2
        assert pyramid.tile(1, 0, 0).mask.all()  # outside the limits: not held


def test_reads_ndpyramid_list_form(tmp_path: Path) -> None:
    root = tmp_path / "ndpyramid.zarr"
    root.mkdir()
    half = 20037508.342789244
    datasets = []
    for level in (0, 1):
        size = 128 * 2**level
        values = np.arange(size * size, dtype="uint16").reshape(size, size) % 250 + 1
        _level(root, str(level), values, Affine(2 * half / size, 0, -half, 0,
                                                -2 * half / size, half))
        datasets.append({"path": str(level), "level": level, "crs": "EPSG:3857",
                         "pixels_per_tile": 128})
    _group(root, {"multiscales": [{"datasets": datasets, "type": "reduce",
                                   "metadata": {"method": "pyramid_reproject"}}]})
    with open_pyramid(root) as pyramid:
        assert pyramid.layout.form == "ndpyramid"
        assert pyramid.levels == ("1", "0")
        assert pyramid.tms.matrix(1).tileWidth == 128
        tile = pyramid.tile(1, 1, 0)
        full = pyramid.level(1).read(1)
        assert np.array_equal(tile.data[0], full[0:128, 128:256])


def test_read_layout_errors() -> None:
    with pytest.raises(MetadataError, match="no 'multiscales'"):
        read_layout({}, [], where="g")
    with pytest.raises(MetadataError, match="needs an 'asset'"):
        read_layout({"multiscales": {"layout": [{"path": "0"}]}}, [], where="g")
    with pytest.raises(MetadataError, match="neither a layout nor"):
        read_layout({"multiscales": {"resampling_method": "nearest"}}, [], where="g")
    with pytest.raises(MetadataError, match="named like a TileMatrix"):
        read_layout({"multiscales": {"tile_matrix_set": "WebMercatorQuad"}}, ["a"], where="g")
    with pytest.raises(MetadataError, match="datasets"):
        read_layout({"multiscales": [{"nope": 1}]}, [], where="g")
    layout = read_layout({"multiscales": {"layout": [{"asset": "b"}, {"asset": "a"}],
                                          "tile_matrix_set_limits": [
                                              {"tileMatrix": "a", "minTileCol": 0,
                                               "maxTileCol": 0, "minTileRow": 0,
                                               "maxTileRow": 0}]}}, [], where="g")
    assert [level.id for level in layout.levels] == ["b", "a"]  # no sizes: kept in order
    assert layout.levels[1].limits == TileLimits(0, 0, 0, 0)
