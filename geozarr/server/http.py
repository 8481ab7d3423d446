"""The tile server: the standard library's threading HTTP server, on loopback by default.

Routes (all GET):

* ``/`` -- the map page (``static/index.html``), which loads ``static/map.js`` and
  ``static/map.css`` from this server only, so it works offline;
* ``/tiles/{z}/{x}/{y}.png`` -- WebMercatorQuad XYZ tiles;
* ``/tilejson.json`` -- the TileJSON 3.0.0 document;
* ``/point?lon=..&lat=..`` -- the pixel values and coordinates at a location (JSON).

Errors answer JSON ``{"error": "..."}`` with status 400 (bad parameters), 404 (nothing
there) or 500 (the data could not be read).
"""

from __future__ import annotations

import json
import re
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import Any
from urllib.parse import parse_qs, urlsplit

from geozarr.errors import DimensionError, GeoZarrError, UsageError
from geozarr.server.service import TileService

_TILE = re.compile(r"^/tiles/(\d{1,2})/(\d{1,9})/(\d{1,9})\.png$")
_STATIC = re.compile(r"^/static/([a-z][a-z0-9_-]*\.(?:html|js|css))$")
_TYPES = {"html": "text/html; charset=utf-8", "js": "text/javascript; charset=utf-8",
          "css": "text/css; charset=utf-8"}


class TileServer(ThreadingHTTPServer):
    """A :class:`~http.server.ThreadingHTTPServer` serving one :class:`TileService`.

    ``url`` is the address to open; ``access_log`` (a callable taking one line) receives a
    line per request when given.
    """

    daemon_threads = True

    def __init__(self, service: TileService, host: str = "127.0.0.1", port: int = 8080, *,
                 access_log: Any = None):
        self.service = service
        self.access_log = access_log
        super().__init__((host, port), _Handler)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        shown = f"[{host}]" if ":" in str(host) else host
        return f"http://{shown}:{port}/"


class _Handler(BaseHTTPRequestHandler):
    server: TileServer
    server_version = "geozarr"

    def do_GET(self) -> None:  # noqa: N802 (the stdlib's name)
        parts = urlsplit(self.path)
        path = parts.path
        try:
            if path in ("/", "/index.html"):
                self._static("index.html")
            elif (match := _STATIC.match(path)) is not None:
                self._static(match.group(1))
            elif (match := _TILE.match(path)) is not None:
                z, x, y = (int(group) for group in match.groups())
                self._send(HTTPStatus.OK, self.server.service.tile(z, x, y), "image/png",
                           cache="public, max-age=60")
            elif path == "/tilejson.json":
                self._json(HTTPStatus.OK, self.server.service.tilejson(self._base_url()))
            elif path == "/point":
                lon, lat = _coordinates(parse_qs(parts.query))
                self._json(HTTPStatus.OK, self.server.service.point(lon, lat))
            else:
                self._error(HTTPStatus.NOT_FOUND, f"nothing at {path}")
        except UsageError as error:
            self._error(HTTPStatus.BAD_REQUEST, str(error))
        except DimensionError as error:
            self._error(HTTPStatus.NOT_FOUND, str(error))
        except GeoZarrError as error:
            self._error(HTTPStatus.INTERNAL_SERVER_ERROR, str(error))

    def _base_url(self) -> str:
        host = self.headers.get("Host") or self.server.url.split("//", 1)[1].rstrip("/")
        return f"http://{host}"

    def _static(self, name: str) -> None:
        resource = resources.files("geozarr.server").joinpath("static", name)
        if not resource.is_file():
            self._error(HTTPStatus.NOT_FOUND, f"no file /static/{name}")
            return
        self._send(HTTPStatus.OK, resource.read_bytes(), _TYPES[name.rsplit(".", 1)[1]],
                   cache="no-cache")

    def _json(self, status: HTTPStatus, document: Any) -> None:
        body = json.dumps(document, allow_nan=False).encode("utf-8")
        self._send(status, body, "application/json", cache="no-cache")

    def _error(self, status: HTTPStatus, message: str) -> None:
        self._json(status, {"error": message})

    def _send(self, status: HTTPStatus, body: bytes, content_type: str, *, cache: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", cache)
        self.send_header("Access-Control-Allow-Origin", "*")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.access_log is not None:
            self.server.access_log(f"{self.address_string()} {format % args}")


def _coordinates(query: dict[str, list[str]]) -> tuple[float, float]:
    values = []
    for name in ("lon", "lat"):
        given = query.get(name)
        if not given:
            raise UsageError(f"/point needs ?lon=..&lat=..; {name} is missing")
        try:
            values.append(float(given[0]))
        except ValueError:
            raise UsageError(f"{name}={given[0]!r} is not a number") from None
    return values[0], values[1]
