"""Static tiles: {z}/{x}/{y}.png and .webp, decoded back by GDAL, nodata transparent,
coloured as the tile server colours them, and an export that stops soon when cancelled."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import rasterio

import pyramid_sources as sources
from geozarr.errors import DimensionError, MetadataError, NodeExistsError
from geozarr.pyramid.build import build_pyramid
from geozarr.pyramid.export import IN_FLIGHT_PER_WORKER, export_tiles, pyramid_stretch
from geozarr.pyramid.reader import open_pyramid
from geozarr.render import Stretch, lookup_table, percentile_stretch
from geozarr.server import TileService
from interop.geo_helpers import CountingStore

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
    export_tiles(grey, out, rescale=(-200, 300), colormap="grey", scheme="tms", levels=[10])
    with open_pyramid(grey) as pyramid:
        matrix = pyramid.tms.matrix(10)
        for col, row in pyramid.stored_tiles(10):
            image = decode(out / "10" / str(col) / f"{matrix.matrixHeight - 1 - row}.png")
            tile = pyramid.tile(10, col, row)
            assert image.shape == (4, 256, 256)
            valid = ~tile.mask[0]
            assert np.array_equal(image[3] == 255, valid)
            expected = np.clip((tile.data[0] + 200) * 255 / 500 + 0.5, 0, 255).astype("uint8")
            for channel in range(3):                      # the grey map: r = g = b = level
                assert np.array_equal(image[channel][valid], expected[valid])
        assert sorted(os.listdir(out)) == ["10"]


@pytest.mark.parametrize("colormap", ["viridis", "magma"])
def test_default_colours_are_the_served_ones(folder: Path, grey: Path, colormap: str) -> None:
    out = folder / f"served_{colormap}"
    written = export_tiles(grey, out, colormap=colormap)
    with open_pyramid(grey) as pyramid:
        coarsest = pyramid.level(pyramid.levels[-1]).read(1, masked=True)
        assert pyramid_stretch(pyramid, (1,)) == percentile_stretch(coarsest, (2, 98))
        service = TileService(pyramid, colormap=colormap)
        names = sorted(out.rglob("*.png"))
        assert written == len(names) == sum(len(pyramid.stored_tiles(z))
                                            for z in pyramid.levels)
        for path in names:
            z, x, y = int(path.parent.parent.name), int(path.parent.name), int(path.stem)
            assert path.read_bytes() == service.tile(z, x, y)   # byte for byte
        image = decode(names[-1])
        table = lookup_table(colormap)
        shown = image[:3].transpose(1, 2, 0)[image[3] == 255]
        assert shown.size and (shown[:, None, :] == table[None]).all(axis=2).any(axis=1).all()


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


def test_bad_input(folder: Path, rgb: Path) -> None:
    with pytest.raises(MetadataError, match="format"):
        export_tiles(rgb, folder / "x", format="gif")
    with pytest.raises(MetadataError, match="no band 4"):
        export_tiles(rgb, folder / "x", bands=[1, 4, 2])
    with pytest.raises(MetadataError, match="one band or three"):
        export_tiles(rgb, folder / "x", bands=[1, 2])
    with pytest.raises(MetadataError, match="unknown colour map 'jet'"):
        export_tiles(rgb, folder / "x", colormap="jet")
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


def test_pyramid_stretch_takes_rescale_or_leaves_rgb_imagery(rgb: Path) -> None:
    with open_pyramid(rgb) as pyramid:
        assert pyramid_stretch(pyramid, (1, 2, 3)) is None
        assert pyramid_stretch(pyramid, (1, 2, 3), (10, 20)) == Stretch(10.0, 20.0)
        single = pyramid_stretch(pyramid, (2,))
        assert single is not None and 0 < single.low < single.high < 255
        with pytest.raises(MetadataError, match="rescale must be"):
            pyramid_stretch(pyramid, (1,), (1, 2, 3))


@pytest.fixture(scope="module")
def many_tiles(folder: Path) -> Path:
    """One level of about a hundred stored tiles: enough that a finished queue shows."""
    target = folder / "many.zarr"
    build_pyramid(sources.utm_float32(folder), target, minzoom=14, maxzoom=14)
    return target


class Cancelled(Exception):
    """What the progress callback raises."""


@pytest.mark.parametrize("raised", [Cancelled, KeyboardInterrupt])
@pytest.mark.parametrize("workers", [1, 2])
def test_cancelling_stops_within_a_few_tiles(folder: Path, many_tiles: Path,
                                             raised: type[BaseException], workers: int) -> None:
    stop_after = 3
    destination = folder / f"cancelled_{raised.__name__}_{workers}"
    destination.mkdir()
    (destination / "index.html").write_text("<html/>")
    store = CountingStore(many_tiles)
    calls: list[float] = []

    def progress(fraction: float) -> None:
        calls.append(fraction)
        if len(calls) == stop_after:
            raise raised("stop")

    with open_pyramid(store) as pyramid:
        total = len(pyramid.stored_tiles("14"))
        store.keys_read.clear()
        with pytest.raises(raised, match="stop"):
            export_tiles(pyramid, destination, overwrite=True, workers=workers,
                         rescale=(0, 100), progress=progress)   # rescale: no stretch read
    tiles_read = sum(key.startswith("14/data/c/") for key in store.keys_read)
    assert total >= 60                                          # a long queue was waiting
    assert len(calls) == stop_after                             # no progress after the raise
    assert stop_after <= tiles_read <= stop_after + IN_FLIGHT_PER_WORKER * workers
    assert sorted(os.listdir(destination)) == ["index.html"]    # the destination is as it was
    assert not [name for name in os.listdir(folder) if "partial" in name]
