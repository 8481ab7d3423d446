"""Real servers on loopback for the remote-store tests: HTTP with switches, and S3 (moto).

:class:`LoopbackHTTPServer` serves a directory over HTTP/1.1 with keep-alive, from
127.0.0.1 only. It honours ``Range`` (``bytes=a-b``, ``bytes=a-``, ``bytes=-n``) unless told
not to, can sleep before every answer (injected latency), and can misbehave on request: drop
the connection, answer 503/429/500/403, stall, send a truncated body, or a 206 with the
wrong ``Content-Range``. It logs every request, so tests can count them.

:class:`LoopbackS3Server` is moto's S3 in server mode on a free loopback port.

:func:`write_served_data` writes what they serve: a dozen zarr-python stores across the core
matrix (v2, v3, sharded, consolidated), a large sharded array, a CF hierarchy and a zip
archive. ``bench/http_read.py`` serves its datasets with the same HTTP server.
"""

from __future__ import annotations

import logging
import os
import re
import threading
import time
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

FAULTS = ("drop", "503", "429", "500", "403", "stall", "truncate", "bad-range")
_RANGE = re.compile(r"bytes=(\d*)-(\d*)$")


@dataclass(frozen=True)
class Request:
    """One request as the server saw it: method, store key, Range header, answer status,
    and the request's headers."""

    method: str
    key: str
    range: str | None
    status: int
    headers: dict[str, str]


@dataclass
class _Fault:
    kind: str
    times: int
    key: str | None


class _State:
    """What the handler threads share: the switches, the pending faults, the log."""

    def __init__(self, root: Path):
        self.root = root.resolve()
        self.ranges = True
        self.latency = 0.0
        self.stall_seconds = 2.0
        self.faults: deque[_Fault] = deque()
        self.log: list[Request] = []
        self.in_flight = 0
        self.most_in_flight = 0
        self.lock = threading.Lock()

    def take_fault(self, key: str) -> str | None:
        with self.lock:
            for fault in self.faults:
                if fault.key is None or fault.key == key:
                    fault.times -= 1
                    if fault.times <= 0:
                        self.faults.remove(fault)
                    return fault.kind
        return None

    def record(self, request: Request) -> None:
        with self.lock:
            self.log.append(request)

    def enter(self) -> None:
        with self.lock:
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)

    def leave(self) -> None:
        with self.lock:
            self.in_flight -= 1


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes; without TCP_NODELAY the second waits for the
    # client's delayed ACK (~40 ms a request on Linux), which no real server suffers.
    disable_nagle_algorithm = True
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base's name
        """Quiet: the request log replaces the stderr lines."""

    def do_HEAD(self) -> None:  # noqa: N802 - the base class's naming
        self._answer(head=True)

    def do_GET(self) -> None:  # noqa: N802
        self._answer(head=False)

    def _answer(self, *, head: bool) -> None:
        state = self.server.state
        key = unquote(urlsplit(self.path).path).lstrip("/")
        asked = self.headers.get("Range")
        # Logged as soon as the status is known, before the client can see an answer.
        self._request = Request("HEAD" if head else "GET", key, asked, 0, dict(self.headers))
        state.enter()
        try:
            if state.latency:
                time.sleep(state.latency)
            self._serve(state, key, asked, head, state.take_fault(key))
        finally:
            state.leave()

    def _serve(self, state: _State, key: str, asked: str | None, head: bool,
               fault: str | None) -> None:
        if fault == "drop":
            state.record(self._request)
            self.close_connection = True
            return
        if fault in ("503", "429", "500", "403"):
            extra = {"Retry-After": "0"} if fault == "429" else {}
            self._empty(int(fault), extra)
            return
        if fault == "stall":
            time.sleep(state.stall_seconds)
        path = (state.root / key).resolve()
        if not key or state.root not in path.parents or not path.is_file():
            self._empty(404)
            return
        size = path.stat().st_size
        status, first, last, headers = 200, 0, size - 1, {}
        if asked is not None and state.ranges:
            part = _parse_range(asked, size)
            if part is None:
                self._empty(416, {"Content-Range": f"bytes */{size}"})
                return
            status, (first, last) = 206, part
            shown = (first + 1, last + 1) if fault == "bad-range" else (first, last)
            headers["Content-Range"] = f"bytes {shown[0]}-{shown[1]}/{size}"
        with path.open("rb") as file:  # only the bytes asked for, as a real server would
            file.seek(first)
            body = file.read(last - first + 1) if not head else b""
        headers["Content-Length"] = str(last - first + 1)
        try:
            self._head(status, headers)
            if head:
                return
            if fault == "truncate":
                self.wfile.write(body[: len(body) // 2])
                self.close_connection = True
            else:
                self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (a stall)
            self.close_connection = True

    def _head(self, status: int, headers: dict[str, str]) -> None:
        request = self._request
        self.server.state.record(Request(request.method, request.key, request.range, status,
                                         request.headers))
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()

    def _empty(self, status: int, headers: dict[str, str] | None = None) -> None:
        self._head(status, {**(headers or {}), "Content-Length": "0"})


def _parse_range(header: str, size: int) -> tuple[int, int] | None:
    """(first, last) byte of a single-range header, clamped; None when unsatisfiable."""
    match = _RANGE.match(header.strip())
    if match is None or not (match[1] or match[2]):
        return (0, size - 1) if size else None
    if not match[1]:
        suffix = int(match[2])
        return (max(size - suffix, 0), size - 1) if size and suffix else None
    first = int(match[1])
    last = int(match[2]) if match[2] else size - 1
    if first >= size or last < first:
        return None
    return first, min(last, size - 1)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # socketserver's default backlog of 5 drops the SYNs of a burst of new connections,
    # and the client retries after a second; real servers queue far more.
    request_queue_size = 128
    state: _State


class LoopbackHTTPServer:
    """An HTTP server for ``root`` on 127.0.0.1 and a free port, in a daemon thread.

    Use as a context manager, or call :meth:`stop`. ``url`` is the root URL.
    """

    def __init__(self, root: str | os.PathLike[str]):
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.state = _State(Path(root))
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    @property
    def state(self) -> _State:
        return self._server.state

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def url_of(self, relative: str) -> str:
        """The URL of ``relative`` (a path under the served root)."""
        return f"{self.url}/{relative.strip('/')}"

    @property
    def log(self) -> list[Request]:
        """Requests served so far (a copy)."""
        with self.state.lock:
            return list(self.state.log)

    @property
    def most_in_flight(self) -> int:
        """The most requests the server was answering at once since the last reset."""
        return self.state.most_in_flight

    def wait_idle(self, timeout: float = 5.0) -> None:
        """Wait until no request is being answered (a stalled one from an earlier test)."""
        deadline = time.monotonic() + timeout
        while self.state.in_flight and time.monotonic() < deadline:
            time.sleep(0.01)

    def reset_log(self) -> None:
        """Forget the requests logged so far and the in-flight peak."""
        with self.state.lock:
            self.state.log.clear()
            self.state.most_in_flight = 0

    def configure(self, *, ranges: bool | None = None, latency: float | None = None,
                  stall_seconds: float | None = None) -> None:
        """Switch Range support, the latency added to every request, the stall length."""
        if ranges is not None:
            self.state.ranges = ranges
        if latency is not None:
            self.state.latency = latency
        if stall_seconds is not None:
            self.state.stall_seconds = stall_seconds

    def fail(self, kind: str, times: int = 1, *, key: str | None = None) -> None:
        """Misbehave on the next ``times`` requests (for ``key`` only, if given)."""
        if kind not in FAULTS:
            raise ValueError(f"unknown fault {kind!r}: one of {FAULTS}")
        with self.state.lock:
            self.state.faults.append(_Fault(kind, times, key))

    def clear_faults(self) -> None:
        with self.state.lock:
            self.state.faults.clear()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> LoopbackHTTPServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


class LoopbackS3Server:
    """moto's S3 on 127.0.0.1 and a free port. ``endpoint`` is its URL.

    moto accepts any credentials; :meth:`storage_options` gives the ones the tests use.
    """

    ACCESS_KEY = "geozarr-test-key"
    SECRET_KEY = "geozarr-test-secret"

    def __init__(self) -> None:
        from moto.server import ThreadedMotoServer

        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.endpoint = f"http://{host}:{port}"

    def client(self) -> Any:
        """A boto3 S3 client for this server (to create buckets and inspect objects)."""
        import boto3

        return boto3.client("s3", endpoint_url=self.endpoint, region_name="us-east-1",
                            aws_access_key_id=self.ACCESS_KEY,
                            aws_secret_access_key=self.SECRET_KEY)

    def storage_options(self, **extra: Any) -> dict[str, Any]:
        """``storage_options`` reaching this server with the test credentials."""
        return {"endpoint_url": self.endpoint, "key": self.ACCESS_KEY,
                "secret": self.SECRET_KEY, "region": "us-east-1", **extra}

    def stop(self) -> None:
        self._server.stop()

    def __enter__(self) -> LoopbackS3Server:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


# -- the data the servers serve: a dozen zarr-python stores across the core matrix --------

@dataclass(frozen=True)
class RemoteCase:
    """One store written by zarr-python: its directory name under the served root, the
    paths of its arrays, and whether its root group has consolidated metadata."""

    id: str
    arrays: tuple[str, ...]
    consolidated: bool = False

    @property
    def directory(self) -> str:
        return f"{self.id}.zarr"


def _values(dtype: str, shape: tuple[int, ...], seed: int) -> Any:
    import numpy as np

    rng = np.random.default_rng(seed)
    if np.dtype(dtype).kind == "f":
        values = rng.standard_normal(shape) * 100
        values.flat[1:4] = [np.nan, np.inf, -0.0]
        return values.astype(dtype)
    info = np.iinfo(np.dtype(dtype).newbyteorder("="))
    return rng.integers(info.min, info.max, size=shape, endpoint=True).astype(dtype)


def _array(store: Any, name: str | None, dtype: str, shape: tuple[int, ...], seed: int,
           written: str = "part", **options: Any) -> None:
    """A zarr-python array with part of it written (edge chunks partial, chunks missing)."""
    import zarr

    if isinstance(store, zarr.Group):
        options.pop("zarr_format", None)
        array = store.create_array(name, shape=shape, dtype=dtype, **options)
    else:
        array = zarr.create_array(store, name=name, shape=shape, dtype=dtype, **options)
    data = _values(dtype, shape, seed)
    if written == "all":
        array[...] = data
    elif written == "part":
        region = tuple(slice(n // 4, n - n // 6) for n in shape)
        array[region] = data[region]


def write_remote_cases(root: Path) -> list[RemoteCase]:
    """Write the stores of :data:`REMOTE_CASES` under ``root`` with zarr-python."""
    import numcodecs
    import zarr
    from zarr.codecs import (BloscCodec, BytesCodec, Crc32cCodec, GzipCodec, ShardingCodec,
                             TransposeCodec, ZstdCodec)

    shape, chunks = (37, 23), (8, 5)
    cases: list[RemoteCase] = []

    def store(case: RemoteCase) -> str:
        cases.append(case)
        return str(root / case.directory)

    _array(store(RemoteCase("v2-zlib-i2", ("",))), None, "<i2", shape, 1, zarr_format=2,
           chunks=chunks, compressors=numcodecs.Zlib(level=3), fill_value=-7)
    _array(store(RemoteCase("v2-blosc-f4-F", ("",))), None, "<f4", shape, 2, zarr_format=2,
           chunks=chunks, order="F", fill_value=float("nan"),
           compressors=numcodecs.Blosc(cname="lz4", clevel=5, shuffle=1))
    _array(store(RemoteCase("v2-raw-u4-be-slash", ("",))), None, ">u4", shape, 3,
           zarr_format=2, chunks=chunks, compressors=None,
           chunk_key_encoding={"name": "v2", "separator": "/"})
    _array(store(RemoteCase("v3-zstd-u2", ("",))), None, "uint16", shape, 4, chunks=chunks,
           compressors=ZstdCodec(level=3), fill_value=9)
    _array(store(RemoteCase("v3-gzip-crc-f8", ("",))), None, "float64", shape, 5,
           chunks=chunks, compressors=[GzipCodec(level=5), Crc32cCodec()])
    _array(store(RemoteCase("v3-transpose-blosc-i4", ("",))), None, "int32", shape, 6,
           chunks=chunks, filters=[TransposeCodec(order=(1, 0))],
           compressors=BloscCodec(cname="zstd", clevel=3))
    _array(store(RemoteCase("v3-v2keys-i8-3d", ("",))), None, "int64", (9, 11, 7), 7,
           chunks=(4, 3, 5), chunk_key_encoding={"name": "v2", "separator": "."})
    _array(store(RemoteCase("v3-nothing-written", ("",))), None, "int16", shape, 8,
           chunks=chunks, fill_value=42, written="none")
    _array(store(RemoteCase("v3-sharded-end", ("",))), None, "uint16", (64, 48), 9,
           chunks=(8, 8), shards=(32, 16), compressors=ZstdCodec(level=1))
    _array(store(RemoteCase("v3-sharded-start", ("",))), None, "float32", (40, 30), 10,
           serializer=ShardingCodec(chunk_shape=(5, 5), index_location="start",
                                    codecs=[BytesCodec(), GzipCodec(level=1)]),
           chunks=(20, 15))
    for zarr_format, case_id in ((2, "v2-consolidated"), (3, "v3-consolidated")):
        case = RemoteCase(case_id, ("temperature", "nested/pressure"), consolidated=True)
        path = store(case)
        group = zarr.open_group(path, mode="w", zarr_format=zarr_format,
                                attributes={"title": case_id})
        _array(group, "temperature", "float32", shape, 11, zarr_format=zarr_format,
               chunks=chunks, attributes={"units": "K"})
        nested = group.create_group("nested", attributes={"level": 1})
        sharding = {"shards": (20, 10)} if zarr_format == 3 else {}
        _array(nested, "pressure", "int32", shape, 12, zarr_format=zarr_format,
               chunks=(10, 5), **sharding)
        zarr.consolidate_metadata(path)
    return cases


SHARD, INNER = (1024, 1024), (128, 128)
"""The shard and inner chunk shapes of ``big.zarr``."""


@dataclass(frozen=True)
class ServedData:
    """What :func:`write_served_data` wrote under ``root``, and the values it holds."""

    root: Path
    cases: list[RemoteCase]
    big: Any
    geo: Any
    zipped: Any


def write_served_data(root: Path) -> ServedData:
    """Every store the remote-store tests read, written by zarr-python under ``root``:
    the :func:`write_remote_cases` matrix, ``big.zarr`` (2048x2048 uint16 in 1024x1024 shards
    of 128x128 chunks), ``geo.zarr`` (a CF hierarchy, not consolidated) and
    ``data.zarr.zip`` (a sharded array ``t`` in a zip archive)."""
    import warnings

    with warnings.catch_warnings():  # zarr-python's notes on consolidated metadata
        warnings.simplefilter("ignore")
        return ServedData(root, write_remote_cases(root), _sharded(root), _cf_hierarchy(root),
                          _zipped(root))


def _sharded(root: Path) -> Any:
    import numpy as np
    import zarr

    shape = (2 * SHARD[0], 2 * SHARD[1])
    data = (np.arange(np.prod(shape), dtype=np.uint32) % 65521).astype(np.uint16)
    data = data.reshape(shape)
    array = zarr.create_array(str(root / "big.zarr"), shape=shape, dtype="uint16",
                              chunks=INNER, shards=SHARD)
    array[...] = data
    return data


_UTM33_WKT = (
    'PROJCS["WGS 84 / UTM zone 33N",GEOGCS["WGS 84",DATUM["WGS_1984",SPHEROID["WGS 84",'
    '6378137,298.257223563]],PRIMEM["Greenwich",0],UNIT["degree",0.0174532925199433]],'
    'PROJECTION["Transverse_Mercator"],PARAMETER["latitude_of_origin",0],'
    'PARAMETER["central_meridian",15],PARAMETER["scale_factor",0.9996],'
    'PARAMETER["false_easting",500000],PARAMETER["false_northing",0],UNIT["metre",1],'
    'AUTHORITY["EPSG","32633"]]')


def _cf_hierarchy(root: Path) -> Any:
    """A v3 CF hierarchy: x, y, a grid mapping (UTM 33N) and ``temperature``."""
    import numpy as np
    import zarr

    group = zarr.open_group(str(root / "geo.zarr"), mode="w")
    temperature = np.arange(40 * 60, dtype="float32").reshape(40, 60)
    band = group.create_array("temperature", shape=(40, 60), dtype="float32", chunks=(20, 30),
                              dimension_names=("y", "x"),
                              attributes={"grid_mapping": "spatial_ref", "units": "K"})
    band[...] = temperature
    x = group.create_array("x", shape=(60,), dtype="float64", dimension_names=("x",))
    x[...] = 500_000 + 10.0 * np.arange(60) + 5
    y = group.create_array("y", shape=(40,), dtype="float64", dimension_names=("y",))
    y[...] = 4_000_000 - 10.0 * np.arange(40) - 5
    group.create_array("spatial_ref", shape=(), dtype="int32",
                       attributes={"crs_wkt": _UTM33_WKT})
    return temperature


def _zipped(root: Path) -> Any:
    import numpy as np
    import zarr

    data = np.arange(512 * 512, dtype="uint16").reshape(512, 512)
    with zarr.storage.ZipStore(str(root / "data.zarr.zip"), mode="w") as archive:
        array = zarr.create_array(archive, name="t", shape=data.shape, dtype=data.dtype,
                                  chunks=(64, 64), shards=(256, 256))
        array[...] = data
    return data
