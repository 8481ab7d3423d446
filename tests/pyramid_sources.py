"""Small GeoTIFF sources for the pyramid tests, one per edge case, named for it.

Each writes a GeoTIFF with rasterio and returns its path. Values are smooth functions of
position (so resampled values can be compared with a tolerance) or of longitude/latitude
(so a tile's pixels can be checked against where they are).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import rasterio
from affine import Affine


def from_origin(west: float, north: float, xsize: float, ysize: float) -> Affine:
    """The north-up transform with its top-left corner at (west, north)."""
    return Affine(xsize, 0.0, west, 0.0, -ysize, north)


def write_tif(path: Path, data: np.ndarray, *, crs: str, transform: Affine,
              nodata: float | int | None = None) -> Path:
    """Write ``data`` ``(bands, rows, cols)`` (or 2-D) as a tiled GeoTIFF."""
    bands = data if data.ndim == 3 else data[np.newaxis]
    count, height, width = bands.shape
    with rasterio.open(path, "w", driver="GTiff", width=width, height=height, count=count,
                       dtype=bands.dtype, crs=crs, transform=transform, nodata=nodata,
                       tiled=True, blockxsize=256, blockysize=256) as dataset:
        dataset.write(bands)
    return path


def smooth(height: int, width: int, *, bands: int = 1) -> np.ndarray:
    """A smooth field of about -150..250, one offset copy per band (float64)."""
    rows, cols = np.mgrid[0:height, 0:width]
    field = (np.sin(cols / 37.0) + np.cos(rows / 23.0)) * 100 + 50
    return np.stack([field + 10 * band for band in range(bands)])


def utm_float32(folder: Path) -> Path:
    """600 x 400 float32 in UTM 33N at 30 m, sentinel nodata -9999 in a 30 x 50 hole."""
    data = smooth(400, 600).astype("float32")
    data[:, 10:40, 10:60] = -9999.0
    return write_tif(folder / "utm_float32.tif", data, crs="EPSG:32633",
                     transform=from_origin(400000, 5000000, 30, 30), nodata=-9999.0)


def geographic_uint8_rgb(folder: Path) -> Path:
    """600 x 400 three-band uint8 in EPSG:4326 at 0.01 degrees, nodata 0 in a corner."""
    data = np.clip(smooth(400, 600, bands=3) / 2 + 60, 1, 255).astype("uint8")
    data[:, :20, :30] = 0
    return write_tif(folder / "geographic_uint8_rgb.tif", data, crs="EPSG:4326",
                     transform=from_origin(10, 50, 0.01, 0.01), nodata=0)


def geographic_int16(folder: Path) -> Path:
    """300 x 200 int16 in EPSG:4326 with nodata -32768 along one edge."""
    data = (smooth(200, 300) * 10).astype("int16")
    data[:, :, :5] = -32768
    return write_tif(folder / "geographic_int16.tif", data, crs="EPSG:4326",
                     transform=from_origin(-5, 45, 0.02, 0.02), nodata=-32768)


def nan_float32(folder: Path) -> Path:
    """300 x 200 float32 in UTM with NaN nodata (a block of NaN) and no nodata tag."""
    data = smooth(200, 300).astype("float32")
    data[:, 50:120, 100:200] = np.nan
    return write_tif(folder / "nan_float32.tif", data, crs="EPSG:32633",
                     transform=from_origin(500000, 4800000, 60, 60), nodata=float("nan"))


def _lonlat_field(transform: Affine, height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    rows, cols = np.mgrid[0:height, 0:width]
    lon = transform.c + (cols + 0.5) * transform.a
    lat = transform.f + (rows + 0.5) * transform.e
    return lon, lat


def longitude_valued(folder: Path, name: str, transform: Affine, height: int,
                     width: int) -> Path:
    """float32 in EPSG:4326 whose value is the pixel centre's longitude in -180..180."""
    lon, _ = _lonlat_field(transform, height, width)
    data = (((lon + 180.0) % 360.0) - 180.0).astype("float32")
    return write_tif(folder / name, data, crs="EPSG:4326", transform=transform)


def dateline(folder: Path) -> Path:
    """400 x 400 at 0.05 degrees from 170E to 190E (crossing the antimeridian)."""
    return longitude_valued(folder, "dateline.tif", from_origin(170, 10, 0.05, 0.05), 400, 400)


def lon_0_360(folder: Path) -> Path:
    """A global grid with longitudes 0..360 at 0.5 degrees (720 x 360)."""
    return longitude_valued(folder, "lon_0_360.tif", from_origin(0, 90, 0.5, 0.5), 360, 720)


def polar(folder: Path) -> Path:
    """600 x 300 at 0.1 degrees reaching the North Pole; the value is the latitude."""
    transform = from_origin(-30, 90, 0.1, 0.1)
    _, lat = _lonlat_field(transform, 300, 600)
    return write_tif(folder / "polar.tif", lat.astype("float32"), crs="EPSG:4326",
                     transform=transform)


def categorical_uint8(folder: Path) -> Path:
    """400 x 400 uint8 land classes 1..5 in UTM (blocks with speckle), nodata 0."""
    rng = np.random.default_rng(7)
    classes = (np.arange(400)[:, None] // 80 + np.arange(400)[None, :] // 100) % 5 + 1
    speckle = rng.random((400, 400)) < 0.1
    data = np.where(speckle, rng.integers(1, 6, (400, 400)), classes).astype("uint8")
    data[:50, :50] = 0
    return write_tif(folder / "categorical_uint8.tif", data, crs="EPSG:32633",
                     transform=from_origin(400000, 5000000, 30, 30), nodata=0)
