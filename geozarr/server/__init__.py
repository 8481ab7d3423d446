"""The tile server behind ``geozarr serve``: a pyramid's XYZ tiles, its TileJSON, the value
under a click, and a map page that needs nothing from the network.

:class:`~geozarr.server.service.TileService` does the work (no HTTP);
:class:`~geozarr.server.http.TileServer` answers requests; ``static/`` is the page (our own
small slippy map in plain JavaScript).
"""

from __future__ import annotations

from geozarr.server.http import TileServer
from geozarr.server.service import TileService

__all__ = ["TileServer", "TileService"]
