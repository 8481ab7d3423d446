"""What the tile server serves, free of HTTP: a pyramid's Web Mercator tiles as coloured
PNGs, its TileJSON, and the value of the pixel at a longitude and latitude.

Web maps speak WebMercatorQuad XYZ tiles. A pyramid in that TileMatrixSet is served as it is
stored (one chunk read per tile); a pyramid in any other TileMatrixSet (WGS1984Quad, a UTM
grid...) is served as WebMercatorQuad tiles warped on the fly from the level whose
resolution suits each zoom, so every pyramid shows on the same map. Every tile is coloured
with one stretch (:func:`geozarr.pyramid.export.pyramid_stretch`, computed once from the
coarsest level) so that neighbours match, and so that ``geozarr tiles`` exports the same
colours.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

import morecantile
import numpy as np
import pyproj
from rasterio.warp import transform_bounds
from rasterio.windows import Window

from geozarr.errors import DimensionError, MetadataError, UsageError
from geozarr.pyramid.export import pyramid_stretch
from geozarr.pyramid.reader import Pyramid
from geozarr.pyramid.tms import MatrixGrid
from geozarr.render import COLORMAPS, Stretch, choose_bands, colorize_bands, encode_image, \
    lookup_table

#: The TileMatrixSet of the served tiles (the one web maps use).
WEB_TMS_ID = "WebMercatorQuad"
#: Rendered tiles kept in memory, most recently used first out last.
CACHE_TILES = 512


class TileService:
    """A pyramid seen as a web map: ``tile(z, x, y)`` PNG bytes in WebMercatorQuad XYZ
    numbering, ``tilejson(base_url)``, ``point(lon, lat)``.

    Parameters
    ----------
    pyramid
        An open :class:`~geozarr.pyramid.reader.Pyramid` (the service does not close it).
    bands
        1-based band numbers: one (colour-mapped) or three (RGB); default 1, 2, 3 for
        three uint8 bands or more, else 1.
    colormap
        A name of :data:`geozarr.render.COLORMAPS`, for one band.
    rescale
        ``(low, high)`` spanning the colours; default the 2nd to 98th percentile of the
        coarsest level (none for uint8 RGB).
    name
        The map's title.

    Raises
    ------
    MetadataError
        The pyramid names no TileMatrixSet, bad bands or rescale, or an unknown colour map.
    """

    def __init__(self, pyramid: Pyramid, *, bands: Sequence[int] | None = None,
                 colormap: str = "viridis", rescale: tuple[float, float] | None = None,
                 name: str = "geozarr"):
        if pyramid.tms is None:
            raise MetadataError(f"{pyramid!r} names no TileMatrixSet; it cannot be served as "
                                f"a web map")
        lookup_table(colormap)  # an unknown colour map fails here, not at the first tile
        self.pyramid = pyramid
        self.name = name
        self.colormap = colormap
        self.web = morecantile.tms.get(WEB_TMS_ID)
        self.finest = pyramid.level(pyramid.levels[0])
        for level in pyramid.levels[1:]:  # opened now, not by concurrent requests
            pyramid.level(level)
        self.count = self.finest.count
        self.dtype = np.dtype(self.finest.dtypes[0])
        self.bands = choose_bands(bands, self.count, self.dtype)
        self.native = _is_web_mercator(pyramid)
        self.minzoom, self.maxzoom = self._zoom_range()
        self.tile_size = MatrixGrid.of(self.web, self.maxzoom).tile_width
        self.stretch: Stretch | None = pyramid_stretch(pyramid, self.bands, rescale)
        self.bounds = _lonlat_bounds(self.finest)
        self._to_level = pyproj.Transformer.from_crs("EPSG:4326", self.finest.crs,
                                                     always_xy=True)
        self._cache: OrderedDict[tuple[int, int, int], bytes] = OrderedDict()
        self._lock = threading.Lock()
        self._empty = encode_image(np.zeros((self.tile_size, self.tile_size, 4), np.uint8))

    # -- tiles --------------------------------------------------------------------------------
    def _zoom_range(self) -> tuple[int, int]:
        if self.native:
            zooms = [int(z) for z in self.pyramid.levels]
            return min(zooms), max(zooms)
        finest = _metres_per_pixel(self.finest)
        coarsest = _metres_per_pixel(self.pyramid.level(self.pyramid.levels[-1]))
        high = self.web.zoom_for_res(finest)
        low = min(high, self.web.zoom_for_res(coarsest, zoom_level_strategy="lower"))
        return low, high

    def tile(self, z: int, x: int, y: int) -> bytes:
        """The PNG of WebMercatorQuad tile (z, x, y), rows counted from the top; a
        transparent tile where the pyramid holds no data.

        Raises
        ------
        DimensionError
            ``z`` outside ``minzoom..maxzoom`` or (x, y) outside the TileMatrix.
        """
        if not self.minzoom <= z <= self.maxzoom:
            raise DimensionError(f"zoom {z} is outside the pyramid's {self.minzoom}.."
                                 f"{self.maxzoom}")
        size = 2 ** z
        if not (0 <= x < size and 0 <= y < size):
            raise DimensionError(f"tile ({x}, {y}) is outside zoom {z} ({size} x {size} "
                                 f"tiles)")
        key = (z, x, y)
        with self._lock:
            cached = self._cache.get(key)
            if cached is not None:
                self._cache.move_to_end(key)
                return cached
        data = self.pyramid.tile(z, x, y) if self.native \
            else self.pyramid.tile(z, x, y, tms=self.web, resampling="nearest")
        rgba = colorize_bands(data, self.bands, stretch=self.stretch, colormap=self.colormap)
        png = self._empty if rgba is None else encode_image(rgba)
        with self._lock:
            self._cache[key] = png
            while len(self._cache) > CACHE_TILES:
                self._cache.popitem(last=False)
        return png

    # -- description --------------------------------------------------------------------------
    def tilejson(self, base_url: str) -> dict[str, Any]:
        """The TileJSON 3.0.0 document of the map, tiles at ``base_url/tiles/{z}/{x}/{y}.png``,
        with what the page needs under ``"geozarr"`` (stretch, colours, TileMatrixSet)."""
        west, south, east, north = self.bounds
        centre_zoom = max(self.minzoom, min(self.maxzoom, _fit_zoom(self.bounds, 2)))
        tms = self.pyramid.tms
        return {
            "tilejson": "3.0.0",
            "name": self.name,
            "scheme": "xyz",
            "tiles": [f"{base_url.rstrip('/')}/tiles/{{z}}/{{x}}/{{y}}.png"],
            "minzoom": self.minzoom,
            "maxzoom": self.maxzoom,
            "bounds": [west, south, east, north],
            "center": [(west + east) / 2, (south + north) / 2, centre_zoom],
            "geozarr": {
                "tileSize": self.tile_size,
                "tileMatrixSet": tms.id if tms is not None else None,
                "native": self.native,
                "note": None if self.native else (
                    f"The pyramid's TileMatrixSet is {tms.id if tms else 'unknown'}; the map "
                    f"shows it in {WEB_TMS_ID}, warped on the fly."),
                "bands": list(self.bands),
                "count": self.count,
                "dtype": self.dtype.name,
                "nodata": _json_number(self.finest.nodata),
                "colormap": self.colormap if len(self.bands) == 1 else None,
                "colors": list(COLORMAPS[self.colormap]) if len(self.bands) == 1 else None,
                "stretch": None if self.stretch is None
                else [self.stretch.low, self.stretch.high],
            },
        }

    # -- values ---------------------------------------------------------------------------
    def point(self, lon: float, lat: float) -> dict[str, Any]:
        """The values of every band at (``lon``, ``lat``) in the finest level: its pixel,
        coordinates in the pyramid's CRS, and each value (None where nodata).

        Raises
        ------
        UsageError
            ``lon`` or ``lat`` is not a finite number within -180..180 / -90..90.
        """
        if not (math.isfinite(lon) and math.isfinite(lat) and -180 <= lon <= 180
                and -90 <= lat <= 90):
            raise UsageError(f"({lon}, {lat}) is not a longitude and latitude")
        x, y = self._to_level.transform(lon, lat)
        level = self.finest
        answer: dict[str, Any] = {
            "lon": lon, "lat": lat, "x": _json_number(x), "y": _json_number(y),
            "crs": level.crs.to_string() if level.crs else None,
            "level": self.pyramid.levels[0], "row": None, "col": None, "inside": False,
            "values": None, "text": None,
        }
        if not (math.isfinite(x) and math.isfinite(y)):
            return answer
        col, row = ~level.transform @ (x, y)
        row, col = math.floor(row), math.floor(col)
        if not (0 <= row < level.height and 0 <= col < level.width):
            return answer
        pixel = level.read(window=Window(col, row, 1, 1), masked=True)[:, 0, 0]
        mask = np.ma.getmaskarray(pixel)
        values = [None if masked else np.ma.getdata(pixel)[i].item()
                  for i, masked in enumerate(mask)]
        answer.update(row=row, col=col, inside=True, values=[_json_number(v) for v in values],
                      text=[None if masked else str(np.ma.getdata(pixel)[i])
                            for i, masked in enumerate(mask)])
        return answer


def _is_web_mercator(pyramid: Pyramid) -> bool:
    """Whether every level is a TileMatrix of the standard WebMercatorQuad."""
    tms = pyramid.tms
    web = morecantile.tms.get(WEB_TMS_ID)
    if tms is None or tms.rasterio_crs != web.rasterio_crs:
        return False
    for level in pyramid.levels:
        if not level.isdigit() or int(level) > web.maxzoom:
            return False
        if MatrixGrid.of(tms, int(level)) != MatrixGrid.of(web, int(level)):
            return False
    return True


def _metres_per_pixel(level: Any) -> float:
    """A level's pixel size in Web Mercator metres at its centre."""
    left, bottom, right, top = transform_bounds(level.crs, "EPSG:3857", *level.bounds,
                                                densify_pts=21)
    return max((right - left) / level.width, (top - bottom) / level.height)


def _lonlat_bounds(level: Any) -> tuple[float, float, float, float]:
    """(west, south, east, north) of a level, within Web Mercator's latitudes."""
    west, south, east, north = transform_bounds(level.crs, "EPSG:4326", *level.bounds,
                                                densify_pts=21)
    limit = 85.0511287798066
    return (max(-180.0, west), max(-limit, south), min(180.0, east), min(limit, north))


def _fit_zoom(bounds: tuple[float, float, float, float], tiles: int) -> int:
    """The highest zoom at which ``bounds`` spans at most ``tiles`` tiles each way."""
    west, south, east, north = bounds

    def mercator_y(lat: float) -> float:
        phi = math.radians(lat)
        return (1 - math.log(math.tan(phi) + 1 / math.cos(phi)) / math.pi) / 2

    span = max((east - west) / 360.0, abs(mercator_y(south) - mercator_y(north)), 1e-12)
    return max(0, math.floor(math.log2(tiles / span)))


def _json_number(value: Any) -> Any:
    """A number JSON can carry: NaN and infinities become None."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
