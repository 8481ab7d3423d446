"""GDAL's Zarr connection strings: ``ZARR:"path"``, ``ZARR:"path":/group/array:2:0``.

The path is quoted (it may hold colons: URLs, Windows drives); after it come the array's
path and then one index per extra (non-spatial) dimension to fix, as GDAL's driver reads them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from geozarr.errors import ConnectionStringError

PREFIX = "ZARR:"
_TAIL = re.compile(r"^(?::(?P<array>/[^:]*))?(?P<indices>(?::-?\d+)*)$")


@dataclass(frozen=True)
class ConnectionString:
    """A parsed connection string: the store location, the array path, the fixed indices."""

    location: str
    array: str | None = None
    indices: tuple[int, ...] = ()

    def __str__(self) -> str:
        text = f'{PREFIX}"{self.location}"'
        if self.array is not None:
            text += ":" + self.array
        return text + "".join(f":{i}" for i in self.indices)


def is_connection_string(target: object) -> bool:
    """Whether ``target`` uses GDAL's ``ZARR:`` prefix."""
    return isinstance(target, str) and target[:len(PREFIX)].upper() == PREFIX


def parse_connection_string(text: str) -> ConnectionString:
    """Split ``ZARR:"path":/array:i:j`` into its parts.

    The quotes may be left out when the path holds no colon (``ZARR:data.zarr``).
    """
    if not is_connection_string(text):
        raise ConnectionStringError(f"{text!r} does not start with {PREFIX!r}")
    rest = text[len(PREFIX):]
    if rest.startswith('"'):
        end = rest.find('"', 1)
        if end < 0:
            raise ConnectionStringError(
                f"{text!r}: the path opens a quote that is never closed (quote the whole path: "
                f'ZARR:"path":/array)')
        location, tail = rest[1:end], rest[end + 1:]
    else:
        location, sep, tail = rest.partition(":")
        tail = sep + tail
    if not location:
        raise ConnectionStringError(f"{text!r}: no path between the quotes")
    match = _TAIL.match(tail)
    if match is None:
        raise ConnectionStringError(
            f"{text!r}: after the path expected ':/array' and ':<index>' parts, got {tail!r} "
            '(a path holding ":" must be quoted: ZARR:"path")')
    array = match["array"]
    indices = tuple(int(i) for i in match["indices"].split(":")[1:])
    if indices and array is None:
        raise ConnectionStringError(f"{text!r}: slice indices need an array path before them")
    return ConnectionString(location, array if array not in (None, "/") else None, indices)
