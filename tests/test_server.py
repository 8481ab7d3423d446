"""The tile server over HTTP on loopback: every route, against a real server, with the
answers checked against the pyramid read directly."""

from __future__ import annotations

import json
import socket
import threading
import urllib.error
import urllib.request
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyproj
import pytest
from click.testing import CliRunner
from rasterio.errors import NotGeoreferencedWarning
from rasterio.io import MemoryFile

import geozarr
import pyramid_sources as sources
from geozarr.cli import main
from geozarr.errors import MetadataError, StoreError
from geozarr.pyramid.build import build_pyramid
from geozarr.pyramid.reader import open_pyramid
from geozarr.render import Stretch, colorize
from geozarr.server import TileServer, TileService

NODATA = -32768


def blocks_tif(folder: Path) -> Path:
    """400 x 240 int16 in EPSG:4326 (5..15 E, 42..48 N, 0.025 degrees), constant in blocks
    of 10 x 10 pixels (100 + 7 * block row + 31 * block column), a nodata lake in pixel
    rows 80..120, columns 120..180."""
    rows, cols = np.mgrid[0:240, 0:400]
    values = (100 + 7 * (rows // 10) + 31 * (cols // 10)).astype("int16")
    values[80:120, 120:180] = NODATA
    return sources.write_tif(folder / "blocks.tif", values, crs="EPSG:4326",
                             transform=sources.from_origin(5, 48, 0.025, 0.025), nodata=NODATA)


@pytest.fixture(scope="module")
def pyramids(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("server")
    tif = blocks_tif(folder)
    out = {}
    for tms in ("WebMercatorQuad", "WGS1984Quad"):
        out[tms] = folder / f"{tms}.zarr"
        build_pyramid(tif, out[tms], tms=tms, resampling="nearest")
    return out


def start(pyramid: Path) -> Iterator[TileServer]:
    with open_pyramid(pyramid) as source:
        server = TileServer(TileService(source, name="blocks"), "127.0.0.1", 0)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield server
        finally:
            server.shutdown()
            server.server_close()
            thread.join(timeout=10)


@pytest.fixture(scope="module")
def web(pyramids: dict[str, Path]) -> Iterator[TileServer]:
    yield from start(pyramids["WebMercatorQuad"])


@pytest.fixture(scope="module")
def wgs(pyramids: dict[str, Path]) -> Iterator[TileServer]:
    yield from start(pyramids["WGS1984Quad"])


def get(server: TileServer, path: str) -> tuple[int, dict[str, str], bytes]:
    try:
        with urllib.request.urlopen(server.url.rstrip("/") + path, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def get_json(server: TileServer, path: str) -> tuple[int, dict]:
    status, headers, body = get(server, path)
    assert headers["Content-Type"] == "application/json"
    return status, json.loads(body)


def decode(png: bytes) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with MemoryFile(png) as memory, memory.open() as image:
            return image.read().transpose(1, 2, 0)


def test_page_and_static_files_need_no_network(web: TileServer) -> None:
    status, headers, page = get(web, "/")
    assert status == 200 and headers["Content-Type"] == "text/html; charset=utf-8"
    assert b'<script src="static/map.js">' in page
    for name, kind in (("map.js", "text/javascript"), ("map.css", "text/css")):
        status, headers, body = get(web, f"/static/{name}")
        assert status == 200 and headers["Content-Type"].startswith(kind)
        assert b"http://" not in body and b"https://" not in body   # nothing from a CDN
    assert b"http://" not in page and b"https://" not in page
    assert get(web, "/index.html")[2] == page


@pytest.mark.parametrize("path", ["/static/missing.js", "/static/../http.py",
                                  "/static/%2e%2e/service.py", "/static/map.py", "/nothing",
                                  "/tiles/5/0/0.jpg"])
def test_unknown_paths_are_404(web: TileServer, path: str) -> None:
    status, body = get_json(web, path)
    assert status == 404 and "error" in body


def test_tilejson_describes_the_pyramid(web: TileServer, pyramids: dict[str, Path]) -> None:
    status, doc = get_json(web, "/tilejson.json")
    assert status == 200
    assert doc["tilejson"] == "3.0.0" and doc["scheme"] == "xyz" and doc["name"] == "blocks"
    assert doc["tiles"] == [web.url + "tiles/{z}/{x}/{y}.png"]
    assert (doc["minzoom"], doc["maxzoom"]) == (4, 5)
    west, south, east, north = doc["bounds"]
    assert west <= 5 and south <= 42 and east >= 15 and north >= 48   # tiles cover the data
    assert (west, east) == pytest.approx((0.0, 22.5))                 # two tiles of zoom 5
    extra = doc["geozarr"]
    assert extra["native"] is True and extra["note"] is None
    assert extra["tileMatrixSet"] == "WebMercatorQuad" and extra["tileSize"] == 256
    assert extra["nodata"] == NODATA and extra["dtype"] == "int16" and extra["bands"] == [1]
    with open_pyramid(pyramids["WebMercatorQuad"]) as pyramid:
        coarsest = pyramid.level("4").read(1, masked=True).compressed()
    assert extra["stretch"] == pytest.approx(list(np.percentile(coarsest, [2, 98])))


def test_tiles_are_the_coloured_pyramid_tiles(web: TileServer,
                                              pyramids: dict[str, Path]) -> None:
    _, doc = get_json(web, "/tilejson.json")
    stretch = Stretch(*doc["geozarr"]["stretch"])
    with open_pyramid(pyramids["WebMercatorQuad"]) as pyramid:
        for col, row in pyramid.stored_tiles("5"):
            status, headers, png = get(web, f"/tiles/5/{col}/{row}.png")
            assert status == 200 and headers["Content-Type"] == "image/png"
            tile = pyramid.tile(5, col, row)
            rgba = decode(png)
            assert np.array_equal(rgba, colorize(tile[0], stretch=stretch, colormap="viridis"))
            assert 0 < (rgba[..., 3] == 255).sum() < 256 * 256   # data and transparency


def test_tiles_without_data_are_transparent(web: TileServer) -> None:
    status, _, png = get(web, "/tiles/5/0/0.png")
    assert status == 200
    assert (decode(png)[..., 3] == 0).all()


@pytest.mark.parametrize("path", ["/tiles/3/0/0.png", "/tiles/6/33/22.png",
                                  "/tiles/5/32/0.png", "/tiles/5/0/32.png"])
def test_tiles_outside_the_zooms_or_matrix_are_404(web: TileServer, path: str) -> None:
    status, body = get_json(web, path)
    assert status == 404 and ("zoom" in body["error"] or "outside" in body["error"])


def test_point_gives_the_value_of_the_finest_level(web: TileServer,
                                                   pyramids: dict[str, Path]) -> None:
    lon, lat = 7.1, 44.3
    status, answer = get_json(web, f"/point?lon={lon}&lat={lat}")
    assert status == 200
    x, y = pyproj.Transformer.from_crs(4326, 3857, always_xy=True).transform(lon, lat)
    with open_pyramid(pyramids["WebMercatorQuad"]) as pyramid:
        level = pyramid.level("5")
        row, col = level.index(x, y)
        expected = int(level.read(1)[row, col])
    assert answer["inside"] is True and answer["level"] == "5"
    assert (answer["row"], answer["col"]) == (row, col)
    assert answer["x"] == pytest.approx(x) and answer["y"] == pytest.approx(y)
    assert answer["crs"] == "EPSG:3857"
    # the source's block under (7.1, 44.3): row (48 - 44.3) / 0.25, column (7.1 - 5) / 0.25
    assert answer["values"] == [expected] == [100 + 7 * 14 + 31 * 8]
    assert answer["text"] == [str(expected)]


def test_point_on_nodata_and_outside(web: TileServer) -> None:
    status, lake = get_json(web, "/point?lon=9.0&lat=45.5")   # in the nodata lake
    assert status == 200 and lake["inside"] is True
    assert lake["values"] == [None] and lake["text"] == [None]
    status, away = get_json(web, "/point?lon=-70&lat=10")
    assert status == 200 and away["inside"] is False and away["values"] is None


@pytest.mark.parametrize("query, message", [("lon=7", "lat is missing"),
                                            ("lon=7&lat=north", "is not a number"),
                                            ("lon=7&lat=95", "not a longitude and latitude"),
                                            ("lon=nan&lat=4", "not a longitude and latitude")])
def test_bad_point_queries_are_400(web: TileServer, query: str, message: str) -> None:
    status, body = get_json(web, f"/point?{query}")
    assert status == 400 and message in body["error"]


def test_other_tms_is_served_warped_to_web_mercator(wgs: TileServer) -> None:
    _, doc = get_json(wgs, "/tilejson.json")
    extra = doc["geozarr"]
    assert extra["native"] is False and extra["tileMatrixSet"] == "WGS1984Quad"
    assert "WGS1984Quad" in extra["note"] and "WebMercatorQuad" in extra["note"]
    assert doc["minzoom"] <= 5 <= doc["maxzoom"]
    # zoom 5 tile (16, 11) holds 5..16.25 E, 40.98..48.92 N: the data
    status, _, png = get(wgs, "/tiles/5/16/11.png")
    assert status == 200 and (decode(png)[..., 3] == 255).sum() > 1000
    status, answer = get_json(wgs, "/point?lon=7.1&lat=44.3")
    assert answer["crs"] == "EPSG:4326" and answer["values"] == [100 + 7 * 14 + 31 * 8]


def test_service_refuses_bad_settings(pyramids: dict[str, Path]) -> None:
    with open_pyramid(pyramids["WebMercatorQuad"]) as pyramid:
        with pytest.raises(MetadataError, match="no band 2"):
            TileService(pyramid, bands=(2,))
        with pytest.raises(MetadataError, match="colour map"):
            TileService(pyramid, colormap="rainbow")
        service = TileService(pyramid, rescale=(0.0, 10.0), colormap="grey")
        assert service.stretch == Stretch(0.0, 10.0)
        assert service.tilejson("http://x")["geozarr"]["colors"] == ["#000000", "#ffffff"]


def test_serve_command_refuses_what_it_cannot_serve(pyramids: dict[str, Path],
                                                   tmp_path: Path) -> None:
    plain = tmp_path / "plain.zarr"
    geozarr.translate(pyramids["WebMercatorQuad"].parent / "blocks.tif", plain)
    result = CliRunner().invoke(main, ["serve", str(plain)])
    assert isinstance(result.exception, MetadataError)
    assert "not a pyramid" in str(result.exception)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = CliRunner().invoke(main, ["serve", str(pyramids["WebMercatorQuad"]),
                                           "--port", str(port)])
    assert isinstance(result.exception, StoreError)
    assert f"cannot listen on 127.0.0.1:{port}" in str(result.exception)
    bad = CliRunner().invoke(main, ["serve", str(pyramids["WebMercatorQuad"]), "-b", "1,2"])
    assert bad.exit_code == 1 and "give one band or three" in str(bad.exception)
