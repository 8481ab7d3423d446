"""Encoding 8-bit tiles as PNG (zlib, written here: the format is small) and WebP (GDAL's
driver, which rasterio's wheels carry), with an alpha channel for nodata."""

from __future__ import annotations

import struct
import zlib

import numpy as np
from affine import Affine
from rasterio.io import MemoryFile

from geozarr.errors import MetadataError

FORMATS = ("png", "webp")
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_COLOUR = {2: 4, 4: 6}  # channels -> colour type: grey + alpha, RGB + alpha
_UP_FILTER = 2


def _chunk(kind: bytes, body: bytes) -> bytes:
    return (struct.pack(">I", len(body)) + kind + body
            + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF))


def encode_png(pixels: np.ndarray, *, level: int = 6) -> bytes:
    """A PNG of ``pixels`` ``(height, width, channels)`` uint8, channels 2 (grey, alpha)
    or 4 (red, green, blue, alpha). Rows use PNG's "up" filter, which suits map tiles."""
    height, width, channels = pixels.shape
    if pixels.dtype != np.uint8 or channels not in _PNG_COLOUR:
        raise MetadataError(f"PNG tiles are uint8 grey+alpha or RGBA, got {channels} "
                            f"channel(s) of {pixels.dtype}")
    rows = pixels.reshape(height, width * channels)
    filtered = np.empty_like(rows)
    filtered[0] = rows[0]
    np.subtract(rows[1:], rows[:-1], out=filtered[1:])  # uint8 arithmetic wraps, as PNG's
    raw = np.empty((height, width * channels + 1), dtype=np.uint8)
    raw[:, 0] = _UP_FILTER
    raw[:, 1:] = filtered
    header = struct.pack(">IIBBBBB", width, height, 8, _PNG_COLOUR[channels], 0, 0, 0)
    return (_PNG_SIGNATURE + _chunk(b"IHDR", header)
            + _chunk(b"IDAT", zlib.compress(raw.tobytes(), level)) + _chunk(b"IEND", b""))


def encode_webp(pixels: np.ndarray) -> bytes:
    """A lossless WebP of ``pixels`` ``(height, width, 2 or 4)`` uint8 (grey is spread to
    RGB: WebP has no grey mode)."""
    height, width, channels = pixels.shape
    if channels == 2:
        pixels = np.concatenate([pixels[..., :1]] * 3 + [pixels[..., 1:]], axis=-1)
    bands = np.ascontiguousarray(np.moveaxis(pixels, -1, 0))
    with MemoryFile() as memory:
        with memory.open(driver="WEBP", width=width, height=height, count=4, dtype="uint8",
                         transform=Affine(1.0, 0.0, 0.0, 0.0, -1.0, float(height)),
                         LOSSLESS=True) as dataset:
            dataset.write(bands)
        return bytes(memory.read())


def encode(pixels: np.ndarray, format: str) -> bytes:
    """``pixels`` in ``format`` (``"png"`` or ``"webp"``)."""
    return encode_png(pixels) if format == "png" else encode_webp(pixels)
