"""GDAL-style connection strings."""

from __future__ import annotations

import pytest

from geozarr.errors import ConnectionStringError, GeoZarrError
from geozarr.raster.connection import ConnectionString, is_connection_string, \
    parse_connection_string


@pytest.mark.parametrize("text, expected", [
    ('ZARR:"data.zarr"', ConnectionString("data.zarr")),
    ('ZARR:"data.zarr":/temperature', ConnectionString("data.zarr", "/temperature")),
    ('ZARR:"data.zarr":/g/temperature:2', ConnectionString("data.zarr", "/g/temperature", (2,))),
    ('ZARR:"d.zarr":/t:2:0', ConnectionString("d.zarr", "/t", (2, 0))),
    ('zarr:"C:\\data\\x.zarr":/a', ConnectionString("C:\\data\\x.zarr", "/a")),
    ('ZARR:"/vsicurl/https://h/x.zarr":/a:1', ConnectionString("/vsicurl/https://h/x.zarr", "/a", (1,))),
    ("ZARR:data.zarr", ConnectionString("data.zarr")),
    ('ZARR:"data.zarr":/', ConnectionString("data.zarr")),
])
def test_parse(text: str, expected: ConnectionString) -> None:
    assert parse_connection_string(text) == expected


def test_round_trip() -> None:
    text = 'ZARR:"data.zarr":/g/t:3:1'
    assert str(parse_connection_string(text)) == text


@pytest.mark.parametrize("text, message", [
    ('ZARR:"data.zarr', "never closed"), ('ZARR:""', "no path"),
    ('ZARR:"d.zarr":temperature', "expected"), ('ZARR:"d.zarr":/t:x', "expected"),
    ('ZARR:"d.zarr":2', "need an array path"), ("data.zarr", "does not start"),
])
def test_errors_name_the_string(text: str, message: str) -> None:
    with pytest.raises(ConnectionStringError, match=message) as info:
        parse_connection_string(text)
    assert isinstance(info.value, GeoZarrError) and isinstance(info.value, ValueError)


def test_detection() -> None:
    assert is_connection_string('ZARR:"x"') and not is_connection_string("x.zarr")
    assert not is_connection_string(None)
