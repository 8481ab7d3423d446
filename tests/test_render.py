"""Rendering values as pictures: the stretch, the colour maps, transparency, and images that
GDAL decodes back to the same pixels."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from rasterio.errors import NotGeoreferencedWarning
from rasterio.io import MemoryFile

from geozarr.errors import MetadataError
from geozarr.render import COLORMAPS, Stretch, choose_bands, colorize, colorize_bands, \
    default_stretch, encode_image, lookup_table, percentile_stretch


def decode(data: bytes) -> np.ndarray:
    """An image file's pixels ``(rows, cols, bands)``, decoded by GDAL (not by us)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with MemoryFile(data) as memory, memory.open() as image:
            return image.read().transpose(1, 2, 0)


def hex_rgb(text: str) -> tuple[int, int, int]:
    return tuple(int(text[i:i + 2], 16) for i in (1, 3, 5))


@pytest.mark.parametrize("name", sorted(COLORMAPS))
def test_lookup_table_runs_from_first_stop_to_last(name: str) -> None:
    table = lookup_table(name)
    assert table.shape == (256, 3) and table.dtype == np.uint8
    assert tuple(table[0]) == hex_rgb(COLORMAPS[name][0])
    assert tuple(table[-1]) == hex_rgb(COLORMAPS[name][-1])


def test_grey_is_the_identity_ramp() -> None:
    assert np.array_equal(lookup_table("grey"), np.repeat(np.arange(256, dtype=np.uint8)[:, None],
                                                          3, axis=1))


def test_unknown_colormap_names_the_known_ones() -> None:
    with pytest.raises(MetadataError, match="viridis"):
        lookup_table("jet")


def test_lookup_table_is_shared_and_read_only() -> None:
    table = lookup_table("magma")
    assert lookup_table("magma") is table
    with pytest.raises(ValueError, match="read-only"):
        table[0, 0] = 1


def test_percentile_stretch_of_known_values() -> None:
    values = np.arange(101, dtype="float32")
    stretch = percentile_stretch(values, (2, 98))
    assert (stretch.low, stretch.high) == pytest.approx((2.0, 98.0))
    assert percentile_stretch(values, (0, 100)) == Stretch(0.0, 100.0)


def test_percentile_stretch_ignores_masked_and_nan() -> None:
    values = np.ma.MaskedArray([1.0, 2.0, np.nan, -9999.0, 3.0],
                               mask=[False, False, False, True, False])
    assert percentile_stretch(values, (0, 100)) == Stretch(1.0, 3.0)


def test_percentile_stretch_of_nothing_or_a_constant() -> None:
    assert percentile_stretch(np.ma.masked_all((3, 3))) == Stretch(0.0, 1.0)
    assert percentile_stretch(np.full(5, 7.0)) == Stretch(7.0, 8.0)
    huge = percentile_stretch(np.full(5, 1e20))        # 1e20 + 1 rounds back to 1e20
    assert huge.low == 1e20 and huge.high > huge.low
    assert huge.to_bytes(np.array([1e20])).tolist() == [0]


@pytest.mark.parametrize("pair", [(5, 5), (6, 5), (float("nan"), 1)])
def test_a_stretch_needs_high_above_low(pair: tuple[float, float]) -> None:
    with pytest.raises(MetadataError, match="high > low"):
        Stretch(*pair)
    with pytest.raises(MetadataError, match="high > low"):
        Stretch.from_pair(pair)


@pytest.mark.parametrize("pair", [(1,), (1, 2, 3), ("a", "b"), None])
def test_stretch_from_a_bad_pair(pair: object) -> None:
    with pytest.raises(MetadataError, match="rescale must be"):
        Stretch.from_pair(pair)  # type: ignore[arg-type]
    assert Stretch.from_pair(("1", 2)) == Stretch(1.0, 2.0)


@pytest.mark.parametrize("percentiles", [(98, 2), (-1, 50), (2,), ("a", "b")])
def test_bad_percentiles(percentiles: tuple) -> None:
    with pytest.raises(MetadataError, match="percentiles"):
        percentile_stretch(np.arange(10), percentiles)


def test_default_stretch_leaves_rgb_imagery_alone() -> None:
    rgb = np.zeros((3, 4, 4), dtype=np.uint8)
    assert default_stretch(rgb) is None
    assert default_stretch(rgb.astype("uint16")) == Stretch(0.0, 1.0)
    assert default_stretch(np.arange(101.0)[None, None], (0, 100)) == Stretch(0.0, 100.0)


def test_stretch_maps_the_range_onto_256_levels() -> None:
    levels = Stretch(0.0, 255.0).to_bytes(np.array([-10.0, 0.0, 100.4, 255.0, 300.0, np.nan]))
    assert levels.tolist() == [0, 0, 100, 255, 255, 0]


def test_choose_bands_defaults_to_rgb_only_for_imagery() -> None:
    assert choose_bands(None, 4, "uint8") == (1, 2, 3)
    assert choose_bands(None, 3, "uint16") == (1,)
    assert choose_bands(None, 1, np.dtype("uint8")) == (1,)
    assert choose_bands([3, 1, 2], 3, "float32") == (3, 1, 2)
    with pytest.raises(MetadataError, match="one band or three"):
        choose_bands((1, 2), 3, "uint8")
    with pytest.raises(MetadataError, match="there is no band 0, 4"):
        choose_bands((0, 1, 4), 3, "uint8")


def test_colorize_one_band() -> None:
    data = np.ma.MaskedArray([[0.0, 50.0, 100.0], [np.nan, 100.0, 7.0]],
                             mask=[[False, False, False], [False, False, True]])
    rgba = colorize(data, stretch=Stretch(0.0, 100.0), colormap="viridis")
    table = lookup_table("viridis")
    assert rgba.shape == (2, 3, 4) and rgba.dtype == np.uint8
    assert tuple(rgba[0, 0]) == (*table[0], 255)
    assert tuple(rgba[0, 1]) == (*table[128], 255)
    assert tuple(rgba[0, 2]) == (*table[255], 255)
    assert tuple(rgba[1, 0]) == (0, 0, 0, 0)       # NaN
    assert tuple(rgba[1, 2]) == (0, 0, 0, 0)       # masked
    assert np.array_equal(colorize(data[np.newaxis], stretch=Stretch(0.0, 100.0)), rgba)


@pytest.mark.parametrize("dtype", ["uint8", "int8"])
@pytest.mark.parametrize("stretch", [None, Stretch(-20.5, 100.25)])
def test_colorize_bytes_by_table_as_the_float_rule(dtype: str, stretch: Stretch | None) -> None:
    """Byte data is coloured from a table of all 256 values' levels: each pixel as its
    value in float64 through the stretch (or clipped to 0..255 without one) would be."""
    every = np.arange(256, dtype=np.uint8).view(dtype).reshape(16, 16)
    data = np.ma.MaskedArray(every, mask=every == every[3, 5])
    rgba = colorize(data, stretch=stretch, colormap="viridis")
    as_float = every.astype(np.float64)
    levels = (np.clip(as_float, 0, 255) if stretch is None else np.clip(
        (as_float - stretch.low) * (255.0 / (stretch.high - stretch.low)) + 0.5, 0, 255)
    ).astype(np.uint8)
    expected = np.concatenate([lookup_table("viridis")[levels],
                               np.full((16, 16, 1), 255, dtype=np.uint8)], axis=2)
    expected[3, 5] = 0
    assert np.array_equal(rgba, expected)


def test_colorize_three_bands_as_rgb() -> None:
    data = np.ma.MaskedArray(np.array([[[10, 0]], [[20, 0]], [[30, 0]]], dtype=np.uint8),
                             mask=[[[False, False]], [[False, True]], [[False, False]]])
    rgba = colorize(data, stretch=None)
    assert rgba[0, 0].tolist() == [10, 20, 30, 255]
    assert rgba[0, 1].tolist() == [0, 0, 0, 0]      # one band masked: the pixel is missing
    stretched = colorize(data, stretch=Stretch(0.0, 20.0))
    assert stretched[0, 0].tolist() == [128, 255, 255, 255]


def test_colorize_bands_picks_bands_and_skips_empty_tiles() -> None:
    data = np.ma.MaskedArray(np.arange(24, dtype=np.float64).reshape(4, 2, 3),
                             mask=np.zeros((4, 2, 3), dtype=bool))
    data[0] = np.ma.masked
    stretch = Stretch(0.0, 24.0)
    assert np.array_equal(colorize_bands(data, (3,), stretch=stretch, colormap="magma"),
                          colorize(data[2], stretch=stretch, colormap="magma"))
    assert np.array_equal(colorize_bands(data, (4, 2, 3), stretch=stretch),
                          colorize(data[[3, 1, 2]], stretch=stretch))
    assert colorize_bands(data, (1,), stretch=stretch) is None
    assert colorize_bands(data, (2, 1, 3), stretch=stretch) is None   # band 1 missing
    nan = np.full((1, 2, 2), np.nan)
    assert colorize_bands(nan, (1,), stretch=stretch) is None


def test_colorize_refuses_two_bands() -> None:
    with pytest.raises(MetadataError, match="one band or three"):
        colorize(np.zeros((2, 3, 3)), stretch=None)


@pytest.mark.parametrize("fmt", ["png", "webp"])
def test_encode_image_decodes_to_the_same_pixels(fmt: str) -> None:
    rng = np.random.default_rng(7)
    rgba = rng.integers(0, 256, size=(19, 23, 4), dtype=np.uint8)
    rgba[..., 3] = np.where(rgba[..., 3] > 128, 255, 0)
    rgba[rgba[..., 3] == 0, :3] = 0
    data = encode_image(rgba, fmt)
    assert data[:4] == (b"\x89PNG" if fmt == "png" else b"RIFF")
    assert np.array_equal(decode(data), rgba)


def test_encode_image_refuses_bad_input() -> None:
    with pytest.raises(MetadataError, match="format"):
        encode_image(np.zeros((2, 2, 4), np.uint8), "jpeg")
    with pytest.raises(MetadataError, match="RGBA"):
        encode_image(np.zeros((2, 2, 3), np.uint8))
    with pytest.raises(MetadataError, match="RGBA"):
        encode_image(np.zeros((2, 2, 4), np.float32))
