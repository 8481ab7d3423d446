"""``geozarr serve`` in a real headless browser (Debian's chromium, driven by Playwright):
the page loads without console errors, tiles are requested and drawn in the right colours
at the right places, clicking shows the value under the cursor, dragging, the buttons and
the wheel move the map, and Ctrl-C stops the server.

Set ``GEOZARR_DOCS_SCREENSHOT=docs/img/map.png`` to save the screenshot the documentation
shows.
"""

from __future__ import annotations

import math
import os
import re
import select
import signal
import subprocess
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from playwright.sync_api import Browser, Page, sync_playwright
from rasterio.errors import NotGeoreferencedWarning
from rasterio.io import MemoryFile

import pyramid_sources as sources
from geozarr.pyramid.build import build_pyramid
from geozarr.render import Stretch, colorize

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
RUN = [sys.executable, "-c", "from geozarr.cli import run; run()"]
WEST, NORTH, PIXEL, BLOCK = 5.0, 48.0, 0.025, 8    # the source grid; blocks of 8 pixels
NODATA = -32768
BACKGROUND = (0xE4, 0xE7, 0xEB)                      # --map-background in map.css
VIEW = (6, 45.0, 10.0)             # zoom, lat, lon of the test view: all the data


def block_value(lon: float, lat: float) -> int:
    """The value of the source block holding (lon, lat): a smooth field, constant per
    block of 8 x 8 pixels (0.2 degrees), so a click near a block's centre has one answer."""
    size = BLOCK * PIXEL
    centre_lon = WEST + (math.floor((lon - WEST) / size) + 0.5) * size
    centre_lat = NORTH - (math.floor((NORTH - lat) / size) + 0.5) * size
    return round(1000 + 400 * math.sin(centre_lon * 0.9) + 300 * math.cos(centre_lat * 1.7))


def in_lake(lon: float, lat: float) -> bool:
    return 8.0 <= lon < 9.5 and 45.0 <= lat < 46.0


def write_source(folder: Path) -> Path:
    """400 x 240 int16 in EPSG:4326 over 5..15 E, 42..48 N, nodata in a lake."""
    rows, cols = np.mgrid[0:240, 0:400]
    lon, lat = WEST + (cols + 0.5) * PIXEL, NORTH - (rows + 0.5) * PIXEL
    values = np.vectorize(block_value)(lon, lat).astype("int16")
    values[np.vectorize(in_lake)(lon, lat)] = NODATA
    return sources.write_tif(folder / "field.tif", values, crs="EPSG:4326",
                             transform=sources.from_origin(WEST, NORTH, PIXEL, PIXEL),
                             nodata=NODATA)


def block_centre(row: int, col: int) -> tuple[float, float]:
    size = BLOCK * PIXEL
    return WEST + (col + 0.5) * size, NORTH - (row + 0.5) * size


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """``geozarr serve`` on a free port, as a user runs it."""
    folder = tmp_path_factory.mktemp("browser")
    pyramid = folder / "field.zarr"
    build_pyramid(write_source(folder), pyramid, resampling="nearest")
    process = subprocess.Popen([*RUN, "serve", str(pyramid), "--port", "0"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        ready, _, _ = select.select([process.stdout], [], [], 60)
        line = process.stdout.readline() if ready else ""
        match = re.search(r" at (http://127\.0\.0\.1:\d+/) \(Ctrl-C to stop\)", line)
        assert match, f"no address from geozarr serve: {line!r} {process.stderr.read()!r}"
        yield {"url": match.group(1), "process": process}
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium (see .ci/run)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


class Watched:
    """A page and everything that went wrong on it."""

    def __init__(self, page: Page):
        self.page = page
        self.errors: list[str] = []
        self.tiles: list[str] = []
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda error: self.errors.append(str(error)))
        page.on("requestfailed", lambda r: self.errors.append(f"failed: {r.url}"))
        page.on("response", self._response)

    def _response(self, response) -> None:
        if response.status >= 400:
            self.errors.append(f"{response.status}: {response.url}")
        if "/tiles/" in response.url:
            self.tiles.append(response.url)


@pytest.fixture()
def watched(browser: Browser) -> Iterator[Watched]:
    context = browser.new_context(viewport={"width": 1000, "height": 640},
                                  device_scale_factor=1)
    page = Watched(context.new_page())
    yield page
    context.close()


def open_map(watched: Watched, url: str, view: tuple[float, float, float] = VIEW) -> None:
    zoom, lat, lon = view
    watched.page.goto(f"{url}#{zoom:.2f}/{lat:.6f}/{lon:.6f}")
    settle(watched.page)


def settle(page: Page) -> None:
    page.wait_for_load_state("networkidle")
    page.wait_for_selector('#map[data-tiles-loading="0"]', timeout=15000)


def mercator(lon: float, lat: float) -> tuple[float, float]:
    """Web Mercator unit-square coordinates (0..1 from the top left)."""
    phi = math.radians(lat)
    return (lon + 180) / 360, (1 - math.log(math.tan(phi) + 1 / math.cos(phi)) / math.pi) / 2


def screen_position(page: Page, lon: float, lat: float,
                    view: tuple[float, float, float] = VIEW) -> tuple[float, float]:
    """Where (lon, lat) is on the canvas, by the projection's formulas (not the page's)."""
    zoom, centre_lat, centre_lon = view
    box = page.locator("#canvas").bounding_box()
    world = 256 * 2 ** zoom
    x, y = mercator(lon, lat)
    cx, cy = mercator(centre_lon, centre_lat)
    sx, sy = (x - cx) * world + box["width"] / 2, (y - cy) * world + box["height"] / 2
    assert 0 <= sx < box["width"] and 0 <= sy < box["height"], (lon, lat)
    return sx, sy


def canvas_pixels(page: Page) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with MemoryFile(page.locator("#canvas").screenshot()) as memory, \
                memory.open() as image:
            return image.read().transpose(1, 2, 0)[..., :3]


def stretch_of(page: Page) -> Stretch:
    return Stretch(*page.evaluate("fetch('tilejson.json').then(r => r.json())")
                   ["geozarr"]["stretch"])


def colour_of(value: int, stretch: Stretch) -> tuple[int, int, int]:
    return tuple(int(v) for v in colorize(np.array([[value]]), stretch=stretch)[0, 0, :3])


DATA_BLOCKS = [(3, 5), (10, 30), (20, 40), (25, 10), (5, 45)]   # (block row, block column)


def test_page_loads_and_draws_the_tiles(server: dict, watched: Watched) -> None:
    page = watched.page
    open_map(watched, server["url"])
    assert page.title() == "field.zarr \u2013 geozarr"
    assert watched.tiles, "no tile was requested"
    pixels = canvas_pixels(page)
    stretch = stretch_of(page)
    for row, col in DATA_BLOCKS:
        lon, lat = block_centre(row, col)
        assert not in_lake(lon, lat)
        x, y = screen_position(page, lon, lat)
        drawn = pixels[round(y), round(x)]
        expected = colour_of(block_value(lon, lat), stretch)
        assert np.abs(drawn.astype(int) - expected).max() <= 2, (row, col, drawn, expected)
    for lon, lat in ((8.75, 45.5), (16.5, 45.0), (10.0, 49.0)):   # the lake, beyond the data
        x, y = screen_position(page, lon, lat)
        assert tuple(pixels[round(y), round(x)]) == BACKGROUND
    data = (pixels != BACKGROUND).any(axis=-1)
    assert data.mean() > 0.3
    assert watched.errors == []


def test_click_shows_the_value_and_coordinates(server: dict, watched: Watched) -> None:
    page = watched.page
    open_map(watched, server["url"])
    box = page.locator("#canvas").bounding_box()
    for row, col in DATA_BLOCKS[:3]:
        lon, lat = block_centre(row, col)
        x, y = screen_position(page, lon, lat)
        page.mouse.click(box["x"] + x, box["y"] + y)
        page.wait_for_function(f"document.querySelector('#point-lon').textContent"
                               f".startsWith('{lon:.2f}')")
        assert page.inner_text("#point-values td") == str(block_value(lon, lat))
        assert float(page.inner_text("#point-lon")) == pytest.approx(lon, abs=0.01)
        assert float(page.inner_text("#point-lat")) == pytest.approx(lat, abs=0.01)
        assert page.inner_text("#point-pixel").startswith("level 5, row ")
        assert "(EPSG:3857)" in page.inner_text("#point-xy")
    x, y = screen_position(page, 8.75, 45.5)
    page.mouse.click(box["x"] + x, box["y"] + y)
    page.wait_for_function("document.querySelector('#point-lon').textContent"
                           ".startsWith('8.7')")
    assert page.inner_text("#point-values td") == "nodata"
    target = os.environ.get("GEOZARR_DOCS_SCREENSHOT")
    if target:
        lon, lat = block_centre(12, 30)
        x, y = screen_position(page, lon, lat)
        page.mouse.click(box["x"] + x, box["y"] + y)
        page.wait_for_function(f"document.querySelector('#point-lon').textContent"
                               f".startsWith('{lon:.2f}')")
        page.screenshot(path=target)
    assert watched.errors == []


def hash_view(page: Page) -> tuple[float, float, float]:
    zoom, lat, lon = (float(v) for v in page.evaluate("location.hash").lstrip("#").split("/"))
    return zoom, lat, lon


def wait_for_hash(page: Page, old: str) -> None:
    page.wait_for_function(f"location.hash !== {old!r}", timeout=5000)


def test_drag_buttons_and_wheel_move_the_map(server: dict, watched: Watched) -> None:
    page = watched.page
    open_map(watched, server["url"])
    box = page.locator("#canvas").bounding_box()
    start = page.evaluate("location.hash")
    page.mouse.move(box["x"] + 300, box["y"] + 300)
    page.mouse.down()
    page.mouse.move(box["x"] + 400, box["y"] + 250, steps=5)
    page.mouse.up()
    wait_for_hash(page, start)
    zoom, lat, lon = hash_view(page)
    world = 256 * 2 ** VIEW[0]
    assert zoom == VIEW[0]
    assert lon == pytest.approx(VIEW[2] - 100 / world * 360, abs=1e-4)   # dragged east
    assert mercator(lon, lat)[1] == pytest.approx(mercator(VIEW[2], VIEW[1])[1] + 50 / world,
                                                  abs=1e-6)
    assert page.is_hidden("#point")                                     # a drag is no click

    requested = len(watched.tiles)
    for step in (1, 2, 3):
        before = page.evaluate("location.hash")
        page.click("#zoom-out")
        wait_for_hash(page, before)
        assert hash_view(page)[0] == VIEW[0] - step
        settle(page)
    assert any("/tiles/4/" in url for url in watched.tiles[requested:])   # coarser tiles

    before = page.evaluate("location.hash")
    page.mouse.move(box["x"] + 500, box["y"] + 300)
    page.mouse.wheel(0, -200)                                            # half a zoom in
    wait_for_hash(page, before)
    assert hash_view(page)[0] == pytest.approx(VIEW[0] - 2.5)
    before = page.evaluate("location.hash")
    page.click("#zoom-in")
    wait_for_hash(page, before)
    assert hash_view(page)[0] == VIEW[0] - 1                            # whole zooms again
    settle(page)
    assert watched.errors == []


def test_ctrl_c_stops_the_server(server: dict) -> None:
    process = server["process"]
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=20)
    assert process.returncode == 0, err
    assert out.strip().splitlines()[-1] == "Stopped."
