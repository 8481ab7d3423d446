"""Raster values as pictures: a percentile stretch, a colour map for one band, RGB for three,
nodata transparent, encoded as PNG or WebP.

Pure functions on numpy arrays, shared by ``geozarr preview``, the tile server and the static
tile export, so that a quick look, a served map and exported tiles colour the same value
alike. PNG is written here with zlib (the format is small); WebP through GDAL's driver
(rasterio's wheels carry it), imported only when a WebP is asked for. This module depends on
numpy alone and knows nothing of pyramids or rasters: callers read, it paints.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from geozarr.errors import MetadataError

__all__ = ["COLORMAPS", "FORMATS", "Stretch", "choose_bands", "colorize", "colorize_bands",
           "default_stretch", "encode_image", "lookup_table", "percentile_stretch",
           "valid_mask"]

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

#: The image formats :func:`encode_image` writes (WebP lossless).
FORMATS = ("png", "webp")


@dataclass(frozen=True)
class Stretch:
    """The value range ``low..high`` mapped linearly onto the 256 colours (values outside
    it take the end colours).

    Raises
    ------
    MetadataError
        ``high`` is not above ``low`` (or either is NaN).
    """

    low: float
    high: float

    def __post_init__(self) -> None:
        if not self.high > self.low:
            raise MetadataError(f"a stretch needs high > low, got low={self.low!r}, "
                                f"high={self.high!r}")

    @classmethod
    def from_pair(cls, pair: Sequence[float]) -> Stretch:
        """The stretch of a user's ``(low, high)`` (a ``rescale`` option).

        Raises
        ------
        MetadataError
            ``pair`` is not two numbers with ``high > low``.
        """
        try:
            low, high = (float(v) for v in pair)
        except (TypeError, ValueError):
            raise MetadataError(f"rescale must be (low, high), got {pair!r}") from None
        return cls(low, high)

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
    if not high > low:  # a constant: widen by 1 (by one step where 1 is lost in rounding)
        high = max(low + 1.0, float(np.nextafter(low, np.inf)))
    return Stretch(low, high)


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


@lru_cache(maxsize=len(COLORMAPS))
def lookup_table(name: str) -> np.ndarray:
    """The ``(256, 3)`` uint8 colours of colour map ``name`` (read-only: it is shared).

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
    table = np.round(table).astype(np.uint8)
    table.flags.writeable = False
    return table


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
    levels = _levels(np.ma.getdata(bands), stretch)
    rgba = np.empty(bands.shape[1:] + (4,), dtype=np.uint8)
    if bands.shape[0] == 1:
        np.take(_opaque_table(colormap), levels[0], axis=0, out=rgba)
    else:
        rgba[..., :3] = levels.transpose(1, 2, 0)
        rgba[..., 3] = 255
    rgba[~valid] = 0
    return rgba


@lru_cache(maxsize=len(COLORMAPS))
def _opaque_table(colormap: str) -> np.ndarray:
    """``(256, 4)`` RGBA of each level of ``colormap``, opaque: one gather per pixel."""
    table = np.empty((256, 4), dtype=np.uint8)
    table[:, :3] = lookup_table(colormap)
    table[:, 3] = 255
    table.flags.writeable = False
    return table


def _levels(values: np.ndarray, stretch: Stretch | None) -> np.ndarray:
    """``values`` as colour levels 0..255 (:func:`_levels_of`). Bytes (uint8, int8) are
    looked up in a table of the levels of all 256 values: the same levels, several times
    faster than computing them per pixel."""
    if values.dtype.kind in "iu" and values.dtype.itemsize == 1:
        every = np.arange(256, dtype=np.uint8).view(values.dtype)
        return _levels_of(every, stretch)[values.view(np.uint8)]
    return _levels_of(values, stretch)


def _levels_of(values: np.ndarray, stretch: Stretch | None) -> np.ndarray:
    """Through ``stretch``, or without one the values as they are (clipped, NaN as 0)."""
    if stretch is None:
        return np.clip(np.nan_to_num(values.astype(np.float64), nan=0.0), 0, 255
                       ).astype(np.uint8)
    return stretch.to_bytes(values)


def colorize_bands(data: np.ndarray, bands: Sequence[int], *, stretch: Stretch | None,
                   colormap: str = "viridis") -> np.ndarray | None:
    """:func:`colorize` of the 1-based ``bands`` of ``data`` ``(count, rows, cols)`` (a
    tile as read), or None when no pixel is valid in every band chosen: a tile with nothing
    to show, which an export skips and a server answers with a transparent tile."""
    chosen = data[[b - 1 for b in bands]]
    if not valid_mask(chosen).all(axis=0).any():
        return None
    return colorize(chosen, stretch=stretch, colormap=colormap)


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
    pixels = np.ascontiguousarray(rgba)
    return _encode_png(pixels) if fmt == "png" else _encode_webp(pixels)


_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_RGBA = 6  # colour type: red, green, blue, alpha
_PNG_UP_FILTER = 2


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return (struct.pack(">I", len(body)) + kind + body
            + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF))


def _encode_png(rgba: np.ndarray, level: int = 4) -> bytes:
    """A PNG of contiguous ``(rows, cols, 4)`` uint8. Rows use PNG's "up" filter, which
    suits map tiles (smooth from one row to the next). zlib level 4 encodes a 256 x 256 tile
    three times faster than level 6 (GDAL's default) for files about 8 % larger."""
    height, width, _ = rgba.shape
    rows = rgba.reshape(height, width * 4)
    raw = np.empty((height, width * 4 + 1), dtype=np.uint8)
    raw[:, 0] = _PNG_UP_FILTER
    raw[0, 1:] = rows[0]
    np.subtract(rows[1:], rows[:-1], out=raw[1:, 1:])  # uint8 arithmetic wraps, as PNG's
    header = struct.pack(">IIBBBBB", width, height, 8, _PNG_RGBA, 0, 0, 0)
    return (_PNG_SIGNATURE + _png_chunk(b"IHDR", header)
            + _png_chunk(b"IDAT", zlib.compress(raw.tobytes(), level))
            + _png_chunk(b"IEND", b""))


def _encode_webp(rgba: np.ndarray) -> bytes:
    """A lossless WebP of ``(rows, cols, 4)`` uint8, written by GDAL's WEBP driver."""
    from affine import Affine
    from rasterio.io import MemoryFile

    height, width, _ = rgba.shape
    bands = np.ascontiguousarray(np.moveaxis(rgba, -1, 0))
    with MemoryFile() as memory:
        with memory.open(driver="WEBP", width=width, height=height, count=4, dtype="uint8",
                         transform=Affine(1.0, 0.0, 0.0, 0.0, -1.0, float(height)),
                         LOSSLESS=True) as dataset:
            dataset.write(bands)
        return bytes(memory.read())
