"""Raster values as pictures: a percentile stretch, a colour map for one band, RGB for three,
nodata transparent, encoded as PNG or WebP.

Pure functions on numpy arrays, shared by ``geozarr preview`` and the tile server so that a
quick look and a served map colour the same value alike. The image encoders are the
pyramid's (:mod:`geozarr.pyramid.images`: PNG written with zlib, WebP through GDAL).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from geozarr.errors import MetadataError
from geozarr.pyramid.images import FORMATS, encode

__all__ = ["COLORMAPS", "FORMATS", "Stretch", "choose_bands", "colorize", "default_stretch",
           "encode_image", "lookup_table", "percentile_stretch", "valid_mask"]

#: Colour maps by name: evenly spaced stops (sRGB hex) interpolated linearly to 256 colours.
#: viridis and magma are the perceptually uniform maps of matplotlib (stops sampled from
#: them); grey runs from black to white.
COLORMAPS: dict[str, tuple[str, ...]] = {
    "viridis": ("#440154", "#472d7b", "#3b528b", "#2c728e", "#21918c", "#28ae80", "#5ec962",
                "#addc30", "#fde725"),
    "magma": ("#000004", "#1c1044", "#4f127b", "#812581", "#b5367a", "#e55064", "#fb8861",
              "#fec287", "#fcfdbf"),
    "grey": ("#000000", "#ffffff"),
}

#: The default stretch: the 2nd to the 98th percentile of the valid values.
DEFAULT_PERCENTILES = (2.0, 98.0)


@dataclass(frozen=True)
class Stretch:
    """The value range ``low..high`` mapped linearly onto the 256 colours (values outside
    it take the end colours)."""

    low: float
    high: float

    def to_bytes(self, values: np.ndarray) -> np.ndarray:
        """``values`` as uint8 0..255 (NaN becomes 0; mask it separately)."""
        scaled = (np.asarray(values, dtype=np.float64) - self.low) * (255.0 / (self.high
                                                                                 - self.low))
        return np.clip(np.nan_to_num(scaled, nan=0.0) + 0.5, 0, 255).astype(np.uint8)


def valid_mask(data: np.ndarray) -> np.ndarray:
    """True where a value is neither masked nor NaN/infinite."""
    values = np.ma.getdata(data)
    valid = ~np.ma.getmaskarray(data)
    if values.dtype.kind in "fc":
        valid &= np.isfinite(values)
    return valid


def percentile_stretch(data: np.ndarray,
                       percentiles: Sequence[float] = DEFAULT_PERCENTILES) -> Stretch:
    """The stretch from the ``percentiles`` (low, high, in 0..100) of the valid values of
    ``data`` (a masked or plain array); ``0..1`` when none is valid.

    Raises
    ------
    MetadataError
        ``percentiles`` are not two numbers with ``0 <= low < high <= 100``.
    """
    try:
        low_pct, high_pct = (float(p) for p in percentiles)
    except (TypeError, ValueError):
        raise MetadataError(f"percentiles must be (low, high), got {percentiles!r}") from None
    if not 0.0 <= low_pct < high_pct <= 100.0:
        raise MetadataError(f"percentiles must satisfy 0 <= low < high <= 100, got "
                            f"{percentiles!r}")
    values = np.ma.getdata(data)[valid_mask(data)]
    if values.size == 0:
        return Stretch(0.0, 1.0)
    low, high = (float(v) for v in np.percentile(values, [low_pct, high_pct]))
    return Stretch(low, high if high > low else low + 1.0)


def default_stretch(data: np.ndarray, percentiles: Sequence[float] = DEFAULT_PERCENTILES
                    ) -> Stretch | None:
    """The stretch :func:`colorize` should use for ``data`` ``(bands, rows, cols)``: None
    (values shown as they are) for three bands of uint8, which is imagery; otherwise the
    percentile stretch."""
    if data.ndim == 3 and data.shape[0] == 3 and data.dtype == np.uint8:
        return None
    return percentile_stretch(data, percentiles)


def choose_bands(bands: Sequence[int] | None, count: int, dtype: np.dtype | str
                 ) -> tuple[int, ...]:
    """The 1-based bands to picture: ``bands`` when given (one, colour-mapped, or three,
    RGB), else 1, 2, 3 for three uint8 bands or more (imagery) and band 1 otherwise.

    Raises
    ------
    MetadataError
        Not one or three bands, or a band outside ``1..count``.
    """
    if bands is None:
        return (1, 2, 3) if count >= 3 and np.dtype(dtype) == np.uint8 else (1,)
    chosen = tuple(bands)
    if len(chosen) not in (1, 3):
        raise MetadataError(f"give one band or three, got {len(chosen)}")
    wrong = [b for b in chosen if isinstance(b, bool) or not isinstance(b, (int, np.integer))
             or not 1 <= b <= count]
    if wrong:
        raise MetadataError(f"the raster has {count} band(s); there is no band "
                            f"{', '.join(map(str, wrong))}")
    return chosen


def lookup_table(name: str) -> np.ndarray:
    """The ``(256, 3)`` uint8 colours of colour map ``name``.

    Raises
    ------
    MetadataError
        An unknown colour map (the message lists the known ones).
    """
    stops = COLORMAPS.get(name)
    if stops is None:
        raise MetadataError(f"unknown colour map {name!r}; known ones are "
                            f"{', '.join(COLORMAPS)}")
    rgb = np.array([[int(stop[i:i + 2], 16) for i in (1, 3, 5)] for stop in stops],
                   dtype=np.float64)
    where = np.linspace(0.0, 1.0, len(stops))
    at = np.linspace(0.0, 1.0, 256)
    table = np.stack([np.interp(at, where, rgb[:, channel]) for channel in range(3)], axis=1)
    return np.round(table).astype(np.uint8)


def colorize(data: np.ndarray, *, stretch: Stretch | None, colormap: str = "viridis"
             ) -> np.ndarray:
    """``(rows, cols, 4)`` uint8 RGBA of ``data``: one band ``(rows, cols)`` or
    ``(1, rows, cols)`` through ``colormap``, three bands ``(3, rows, cols)`` as red, green
    and blue. Masked and NaN pixels (of any band) are transparent.

    Parameters
    ----------
    data
        A masked or plain array.
    stretch
        The value range mapped onto 0..255; None takes values as they are (clipped to
        0..255), which suits uint8 data.
    colormap
        A name of :data:`COLORMAPS` (one band only).

    Raises
    ------
    MetadataError
        Not one or three bands, or an unknown colour map.
    """
    bands = data[np.newaxis] if data.ndim == 2 else data
    if bands.ndim != 3 or bands.shape[0] not in (1, 3):
        raise MetadataError(f"can colour one band or three (RGB), got an array of shape "
                            f"{data.shape}")
    valid = valid_mask(bands).all(axis=0)
    values = np.ma.getdata(bands)
    if stretch is None:
        levels = np.clip(np.nan_to_num(values.astype(np.float64), nan=0.0), 0, 255
                         ).astype(np.uint8)
    else:
        levels = stretch.to_bytes(values)
    rgba = np.empty(bands.shape[1:] + (4,), dtype=np.uint8)
    if bands.shape[0] == 1:
        rgba[..., :3] = lookup_table(colormap)[levels[0]]
    else:
        rgba[..., :3] = levels.transpose(1, 2, 0)
    rgba[..., 3] = np.where(valid, 255, 0)
    rgba[~valid, :3] = 0
    return rgba


def encode_image(rgba: np.ndarray, format: str = "png") -> bytes:
    """``rgba`` ``(rows, cols, 4)`` uint8 as a PNG or lossless WebP file's bytes.

    Raises
    ------
    MetadataError
        An unknown format or pixels that are not uint8 RGBA.
    """
    fmt = str(format).lower()
    if fmt not in FORMATS:
        raise MetadataError(f"image format must be one of {', '.join(FORMATS)}, got "
                            f"{format!r}")
    if rgba.ndim != 3 or rgba.shape[2] != 4 or rgba.dtype != np.uint8:
        raise MetadataError(f"expected (rows, cols, 4) uint8 RGBA pixels, got "
                            f"{rgba.dtype} of shape {rgba.shape}")
    return encode(np.ascontiguousarray(rgba), fmt)
