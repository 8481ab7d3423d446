"""``geozarr preview`` through click's runner: the picture's size, colours, transparency and
stretch, for GeoTIFF, Zarr, connection-string and pyramid sources."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
import rasterio
from click.testing import CliRunner
from rasterio.errors import NotGeoreferencedWarning
from rasterio.io import MemoryFile

import geozarr
import pyramid_sources as sources
from geozarr.cli import main
from geozarr.errors import DimensionError
from geozarr.pyramid.build import build_pyramid
from geozarr.render import lookup_table


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("preview")


@pytest.fixture(scope="module")
def tif(folder: Path) -> Path:
    """600 x 400 float32, nodata -9999 in rows 10..40, columns 10..60."""
    return sources.utm_float32(folder)


@pytest.fixture(scope="module")
def zarr(folder: Path, tif: Path) -> Path:
    out = folder / "small_chunks.zarr"
    geozarr.translate(tif, out, chunks=(48, 64))   # strips of 48 rows when previewed
    return out


def invoke(*args: str) -> object:
    return CliRunner().invoke(main, list(args))


def decode(path: Path) -> np.ndarray:
    """(rows, cols, 4) RGBA, decoded by GDAL."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with MemoryFile(path.read_bytes()) as memory, memory.open() as image:
            return image.read().transpose(1, 2, 0)


def test_full_size_colours_and_nodata(tif: Path, tmp_path: Path) -> None:
    out = tmp_path / "look.png"
    result = invoke("preview", str(tif), "-o", str(out))
    assert result.exit_code == 0, result.output
    with rasterio.open(tif) as src:
        values = src.read(1, masked=True)
    low, high = np.percentile(values.compressed(), [2, 98])
    assert result.output == (f"Wrote {out}: 600 x 400, band 1, viridis, values "
                             f"{low:g}..{high:g}\n")
    rgba = decode(out)
    assert rgba.shape == (400, 600, 4)
    assert (rgba[10:40, 10:60, 3] == 0).all()            # nodata is transparent
    assert (rgba[~np.ma.getmaskarray(values), 3] == 255).all()
    table = lookup_table("viridis")
    coolest = np.unravel_index(np.argmin(values), values.shape)
    warmest = np.unravel_index(np.argmax(values), values.shape)
    assert tuple(rgba[coolest][:3]) == tuple(table[0])
    assert tuple(rgba[warmest][:3]) == tuple(table[255])


def test_zarr_strips_equal_gdal_decimation(tif: Path, zarr: Path, tmp_path: Path) -> None:
    from_tif, from_zarr = tmp_path / "tif.png", tmp_path / "zarr.png"
    for source, out in ((tif, from_tif), (zarr, from_zarr)):
        result = invoke("preview", str(source), "-o", str(out), "--size", "100",
                        "--rescale", "-100,200", "--colormap", "magma")
        assert result.exit_code == 0, result.output
        assert "100 x 67, band 1, magma, values -100..200" in result.output
    assert decode(from_tif).shape == (67, 100, 4)
    assert np.array_equal(decode(from_zarr), decode(from_tif))


def test_connection_string_and_percentiles(zarr: Path, tmp_path: Path) -> None:
    out = tmp_path / "band.webp"
    target = f'ZARR:"{zarr}":/small_chunks'
    result = invoke("preview", target, "-o", str(out), "--percentiles", "0,100",
                    "--colormap", "grey")
    assert result.exit_code == 0, result.output
    with geozarr.open_raster(target) as raster:
        values = raster.read(1, masked=True)
    assert f"values {values.min():g}..{values.max():g}" in result.output
    rgba = decode(out)
    assert rgba[..., 0].max() == 255 and rgba[~values.mask, 0].min() == 0


def test_rgb_uint8_is_shown_as_it_is(folder: Path, tmp_path: Path) -> None:
    tif = sources.geographic_uint8_rgb(folder)
    out = tmp_path / "rgb.png"
    result = invoke("preview", str(tif), "-o", str(out))
    assert result.exit_code == 0, result.output
    assert "bands 1,2,3 as RGB, values as they are" in result.output
    with rasterio.open(tif) as src:
        values = src.read()
    rgba = decode(out)
    valid = (values != 0).all(axis=0)
    assert np.array_equal(rgba[valid][:, :3], values.transpose(1, 2, 0)[valid])
    assert (rgba[~valid, 3] == 0).all()
    swapped = invoke("preview", str(tif), "-o", str(tmp_path / "b.png"), "-b", "2")
    assert "band 2, viridis" in swapped.output


def test_pyramid_previews_its_level_nearest_the_size(folder: Path, tif: Path,
                                                     tmp_path: Path) -> None:
    pyramid = folder / "pyr.zarr"
    build_pyramid(tif, pyramid, minzoom=8, maxzoom=11)
    out = tmp_path / "pyr.png"
    result = invoke("preview", str(pyramid), "-o", str(out), "--size", "256")
    assert result.exit_code == 0, result.output
    # Level 11 is 2 x 2 tiles; 256 pixels across its extent is the cell size of level 10,
    # one tile wide and two high, read whole and fitted into 256 pixels.
    assert f"Wrote {out}: 128 x 256, band 1" in result.output
    assert decode(out).shape[:2] == (256, 128)


@pytest.mark.parametrize("args, message", [
    (["-o", "x.jpg"], "must end in .png or .webp"),
    (["-o", "x.png", "-b", "1,1"], "one band or three"),
    (["-o", "x.png", "-b", "2"], "has 1 band(s); there is no band 2"),
    (["-o", "x.png", "--size", "0"], "0 is not in the range"),
    (["-o", "x.png", "--colormap", "jet"], "'jet' is not one of"),
])
def test_bad_options_exit_2(tif: Path, tmp_path: Path, args: list[str], message: str) -> None:
    result = CliRunner().invoke(main, ["preview", str(tif), *args], catch_exceptions=False)
    assert result.exit_code == 2 and message in result.output


def test_store_of_several_rasters_lists_them(folder: Path) -> None:
    store = folder / "two.zarr"
    for name in ("a", "b"):
        array = geozarr.create_array(str(store), name=name, shape=(8, 8), dtype="float32",
                                     dimension_names=("y", "x"))
        array[...] = 1.0
    result = invoke("preview", str(store), "-o", str(folder / "never.png"))
    assert isinstance(result.exception, DimensionError)
    assert f'ZARR:"{store}":/a' in str(result.exception)
    assert not (folder / "never.png").exists()
