"""``geozarr tiles`` through click's runner: an XYZ folder of images GDAL decodes, one per
stored tile, at the right {z}/{x}/{y}, with the options honoured."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from rasterio.errors import NotGeoreferencedWarning
from rasterio.io import MemoryFile

import pyramid_sources as sources
from geozarr.cli import main
from geozarr.errors import DimensionError, NodeExistsError
from geozarr.pyramid.build import build_pyramid
from geozarr.pyramid.reader import open_pyramid
from geozarr.render import Stretch, colorize
from geozarr.server import TileService


@pytest.fixture(scope="module")
def pyramid(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("tiles")
    out = folder / "pyr.zarr"
    build_pyramid(sources.utm_float32(folder), out, minzoom=9, maxzoom=11)
    return out


def invoke(*args: str) -> object:
    return CliRunner().invoke(main, list(args))


def decode(path: Path) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with MemoryFile(path.read_bytes()) as memory, memory.open() as image:
            return image.read()


def files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def expected_files(pyramid: Path, zooms: list[str], suffix: str, flip: bool = False
                   ) -> list[str]:
    """{z}/{x}/{y} of every stored tile (rows from the top; from the bottom if ``flip``)."""
    names = []
    with open_pyramid(pyramid) as source:
        for z in zooms:
            for col, row in source.stored_tiles(z):
                y = 2 ** int(z) - 1 - row if flip else row
                names.append(f"{z}/{col}/{y}.{suffix}")
    return sorted(names)


def test_png_folder_holds_every_stored_tile(pyramid: Path, tmp_path: Path) -> None:
    out = tmp_path / "xyz"
    result = invoke("tiles", str(pyramid), str(out))
    assert result.exit_code == 0, result.output
    written = files(out)
    assert written == expected_files(pyramid, ["9", "10", "11"], "png")
    assert result.output == f"Wrote {len(written)} tiles to {out} (zoom 9-11, png, xyz)\n"
    z, x, y = written[-1].removesuffix(".png").split("/")
    pixels = decode(out / written[-1])
    assert pixels.shape == (4, 256, 256)                  # colour-mapped RGBA
    with open_pyramid(pyramid) as source:
        tile = source.tile(z, int(x), int(y))
        served = TileService(source).tile(int(z), int(x), int(y))
    assert np.array_equal(pixels[3] == 0, np.ma.getmaskarray(tile)[0])   # nodata transparent
    assert (out / written[-1]).read_bytes() == served     # what `geozarr serve` shows


def test_zoom_format_scheme_and_bands(pyramid: Path, tmp_path: Path) -> None:
    out = tmp_path / "tms"
    result = invoke("tiles", str(pyramid), str(out), "--zoom", "10-11", "--format", "webp",
                    "--scheme", "tms", "--bands", "1", "--rescale", "0,100", "--workers", "1")
    assert result.exit_code == 0, result.output
    assert "(zoom 10-11, webp, tms)" in result.output
    assert files(out) == expected_files(pyramid, ["10", "11"], "webp", flip=True)
    assert decode(out / files(out)[0]).shape[0] == 4      # RGBA


def test_colormap_and_rescale(pyramid: Path, tmp_path: Path) -> None:
    out = tmp_path / "magma"
    result = invoke("tiles", str(pyramid), str(out), "--zoom", "11", "--colormap", "magma",
                    "--rescale", "-100,200")
    assert result.exit_code == 0, result.output
    name = files(out)[0]
    z, x, y = name.removesuffix(".png").split("/")
    with open_pyramid(pyramid) as source:
        tile = source.tile(z, int(x), int(y))
    expected = colorize(tile[0], stretch=Stretch(-100.0, 200.0), colormap="magma")
    assert np.array_equal(decode(out / name).transpose(1, 2, 0), expected)
    bad = invoke("tiles", str(pyramid), str(tmp_path / "bad"), "--colormap", "jet")
    assert bad.exit_code == 2 and "'jet' is not one of" in bad.output


def test_existing_folder_needs_overwrite(pyramid: Path, tmp_path: Path) -> None:
    out = tmp_path / "again"
    assert invoke("tiles", str(pyramid), str(out), "--zoom", "9").exit_code == 0
    result = invoke("tiles", str(pyramid), str(out), "--zoom", "10")
    assert isinstance(result.exception, NodeExistsError)
    assert {f.split("/")[0] for f in files(out)} == {"9"}
    assert invoke("tiles", str(pyramid), str(out), "--zoom", "10", "--overwrite").exit_code == 0
    assert {f.split("/")[0] for f in files(out)} == {"10"}


def test_zoom_without_levels_and_bad_options(pyramid: Path, tmp_path: Path) -> None:
    result = invoke("tiles", str(pyramid), str(tmp_path / "none"), "--zoom", "2-4")
    assert isinstance(result.exception, DimensionError)
    assert "levels are 11, 10, 9" in str(result.exception)
    assert not (tmp_path / "none").exists()
    bad = invoke("tiles", str(pyramid), str(tmp_path / "bad"), "--format", "gif")
    assert bad.exit_code == 2 and "'gif' is not one of" in bad.output
    rescale = invoke("tiles", str(pyramid), str(tmp_path / "bad"), "--rescale", "5,1")
    assert rescale.exit_code == 2 and "LOW below HIGH" in rescale.output
