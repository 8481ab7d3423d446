"""Static tiles: {z}/{x}/{y}.png and .webp, decoded back by GDAL, nodata transparent."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import rasterio

import pyramid_sources as sources
from geozarr.errors import DimensionError, MetadataError, NodeExistsError
from geozarr.pyramid.build import build_pyramid
from geozarr.pyramid.export import export_tiles
from geozarr.pyramid.images import encode_png
from geozarr.pyramid.reader import open_pyramid

pytestmark = [
    pytest.mark.filterwarnings(
        "ignore:Dataset has no geotransform:rasterio.errors.NotGeoreferencedWarning"),
]


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("export")


@pytest.fixture(scope="module")
def rgb(folder: Path) -> Path:
    target = folder / "rgb.zarr"
    build_pyramid(sources.geographic_uint8_rgb(folder), target, minzoom=5)
    return target


@pytest.fixture(scope="module")
def grey(folder: Path) -> Path:
    target = folder / "grey.zarr"
    build_pyramid(sources.utm_float32(folder), target, minzoom=10)
    return target


def decode(path: Path) -> np.ndarray:
    with pytest.warns(rasterio.errors.NotGeoreferencedWarning):
        with rasterio.open(path) as dataset:
            return dataset.read()


def test_png_rgba_tiles_hold_the_values(folder: Path, rgb: Path) -> None:
    out = folder / "tiles"
    written = export_tiles(rgb, out)
    with open_pyramid(rgb) as pyramid:
        expected = {(z, col, row) for z in pyramid.levels
                    for col, row in pyramid.stored_tiles(z)}
        files = {(Path(d).parent.name, int(Path(d).name), int(Path(f).stem))
                 for d, _, fs in os.walk(out) for f in fs}
        assert written == len(expected) and files == {(z, c, r) for z, c, r in expected}
        for z, col, row in sorted(expected)[:4]:
            image = decode(out / z / str(col) / f"{row}.png")
            tile = pyramid.tile(z, col, row)
            assert image.shape == (4, 256, 256)
            mask = np.ma.getmaskarray(tile).any(axis=0)
            assert np.array_equal(image[3] == 0, mask)
            assert np.array_equal(image[:3][:, ~mask], tile.data[:, ~mask])


def test_png_grey_stretch_and_tms_numbering(folder: Path, grey: Path) -> None:
    out = folder / "grey_tiles"
    export_tiles(grey, out, rescale=(-200, 300), scheme="tms", levels=[10])
    with open_pyramid(grey) as pyramid:
        matrix = pyramid.tms.matrix(10)
        for col, row in pyramid.stored_tiles(10):
            image = decode(out / "10" / str(col) / f"{matrix.matrixHeight - 1 - row}.png")
            tile = pyramid.tile(10, col, row)
            assert image.shape == (2, 256, 256)
            valid = ~tile.mask[0]
            assert np.array_equal(image[1] == 255, valid)
            expected = np.clip((tile.data[0] + 200) * 255 / 500 + 0.5, 0, 255).astype("uint8")
            assert np.array_equal(image[0][valid], expected[valid])
        assert sorted(os.listdir(out)) == ["10"]


def test_webp_is_lossless(folder: Path, rgb: Path) -> None:
    out = folder / "webp"
    written = export_tiles(rgb, out, format="webp", levels=["5"])
    assert written > 0
    with open_pyramid(rgb) as pyramid:
        for col, row in pyramid.stored_tiles(5):
            image = decode(out / "5" / str(col) / f"{row}.webp")
            tile = pyramid.tile(5, col, row)
            valid = ~np.ma.getmaskarray(tile).any(axis=0)
            assert np.array_equal(image[3] > 0, valid)
            assert np.array_equal(image[:3][:, valid], tile.data[:, valid])


def test_png_encoder_round_trips(tmp_path: Path) -> None:
    pixels = np.random.default_rng(1).integers(0, 256, (37, 53, 4), dtype=np.uint8)
    path = tmp_path / "random.png"
    path.write_bytes(encode_png(pixels))
    assert np.array_equal(decode(path), pixels.transpose(2, 0, 1))
    with pytest.raises(MetadataError, match="uint8"):
        encode_png(pixels.astype("uint16"))


def test_bad_input(folder: Path, rgb: Path) -> None:
    with pytest.raises(MetadataError, match="format"):
        export_tiles(rgb, folder / "x", format="gif")
    with pytest.raises(MetadataError, match="bands"):
        export_tiles(rgb, folder / "x", bands=[1, 4, 2])
    with pytest.raises(DimensionError, match="no level"):
        export_tiles(rgb, folder / "x", levels=[2])
    with pytest.raises(MetadataError, match="high > low"):
        export_tiles(rgb, folder / "x", rescale=(5, 5))
    existing = folder / "existing"
    existing.mkdir()
    (existing / "index.html").write_text("<html/>")
    with pytest.raises(NodeExistsError, match="overwrite=True"):
        export_tiles(rgb, existing)
    assert not (folder / "x").exists()
    export_tiles(rgb, existing, overwrite=True, levels=[5])
    assert not (existing / "index.html").exists() and (existing / "5").is_dir()
