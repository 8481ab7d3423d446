"""A read-only store over HTTP(S): a key is a GET, a byte range is a Range request.

``HTTPStore("https://host/data.zarr")`` reads the key ``"temperature/zarr.json"`` from
``https://host/data.zarr/temperature/zarr.json`` (a query string on the URL, such as a
signed-URL token, is kept on every key's URL). HTTP has no listing, so a hierarchy is
explored through its consolidated metadata or opened node by node by path.

What it does for speed and safety:

* One bounded connection pool (urllib3) with keep-alive: at most ``concurrency``
  connections, shared by every thread; the core's read path keeps that many requests in
  flight, and :meth:`HTTPStore.get_ranges` sends the ranges of one call in parallel.
* Retries with exponential backoff and full jitter on connection errors, timeouts,
  truncated bodies, malformed partial responses and the statuses 408, 425, 429, 500, 502,
  503, 504 (``Retry-After`` honoured up to the backoff cap); a clear :class:`StoreError`
  naming the URL once they are used up, and at once on 401/403 and other client errors.
* 404 and 410 mean "no such key" (the core reads a missing chunk as fill value, a missing
  metadata document as "no such node").
* Every 206 answer is checked: its ``Content-Range`` must be the range asked for (clamped at
  the end of the object) and the body exactly that long. A 200 answer to a Range request
  means the server ignores ranges: the store slices the body, remembers it, and from then on
  fetches each object once and serves all its ranges from a small bounded cache, so a shard
  costs one request rather than one per range.
* Credentials (``user:password@`` in the URL, ``headers``) are sent but never shown: the
  repr and every message show the URL redacted.
"""

from __future__ import annotations

import random
import re
import threading
import time
import urllib.request
from collections import OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from geozarr.errors import ReadOnlyError, StoreError
from geozarr.storage.base import ByteRange, ReopenSpec, Store
from geozarr.storage.keys import validate_key, validate_prefix
from geozarr.storage.urls import HTTPBase, redact

try:
    import urllib3
    from urllib3.exceptions import HTTPError as _Urllib3Error
    from urllib3.exceptions import LocationValueError, ResponseError, SSLError
except ImportError:  # pragma: no cover - urllib3 is a dependency; the message says so
    urllib3 = None

#: Statuses worth retrying: the server is busy, overloaded, or failed in passing.
RETRY_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
MISSING_STATUSES = frozenset({404, 410})
_CONTENT_RANGE = re.compile(r"bytes\s+(\d+)-(\d+)/(\d+|\*)\s*$", re.IGNORECASE)
_UNSATISFIED = re.compile(r"bytes\s+\*/(\d+)\s*$", re.IGNORECASE)
_MAX_REDIRECTS = 5
#: Bytes of whole objects kept when the server ignores ranges (see the module docstring).
WHOLE_OBJECT_CACHE_BYTES = 64 * 2**20


class _BadResponse(Exception):
    """A response that cannot be right (retried; never escapes this module)."""


class HTTPStore(Store):
    """Read-only bytes by key over HTTP(S).

    Parameters
    ----------
    url
        The ``http://`` or ``https://`` URL of the store's root.
    timeout
        Seconds to wait for each read from the server (the answer's start, then each part of
        its body) before the attempt counts as failed.
    connect_timeout
        Seconds to wait for a connection.
    retries
        Further attempts after a failed one (0: a single attempt).
    backoff
        Seconds of the first retry's wait; each later wait doubles, up to ``max_backoff``
        (a random fraction of it is waited: "full jitter").
    max_backoff
        Longest wait between attempts, also the cap on a ``Retry-After`` the server asks for.
    concurrency
        Connections kept open to a host, and so requests in flight at once.
    headers
        Extra request headers (``{"Authorization": "Bearer ..."}``); never logged.
    verify
        Check the server's TLS certificate (True), not (False), or against the CA bundle at
        this path.

    Raises
    ------
    StoreError
        When ``url`` is not an http(s) URL, a setting is out of range, or urllib3 (the HTTP
        client) is not installed.
    """

    def __init__(self, url: str, *, timeout: float = 30.0, connect_timeout: float = 10.0,
                 retries: int = 5, backoff: float = 0.2, max_backoff: float = 10.0,
                 concurrency: int = 16, headers: Mapping[str, str] | None = None,
                 verify: bool | str = True) -> None:
        super().__init__(read_only=True)
        self._reopen = ReopenSpec(HTTPStore, (url,), {
            "timeout": timeout, "connect_timeout": connect_timeout, "retries": retries,
            "backoff": backoff, "max_backoff": max_backoff, "concurrency": concurrency,
            "headers": dict(headers or {}), "verify": verify})
        if urllib3 is None:
            raise StoreError(f"reading {redact(url)} needs urllib3: pip install 'urllib3>=2'")
        self._location = HTTPBase.parse(url)
        _check_settings(url, timeout=timeout, connect_timeout=connect_timeout, retries=retries,
                        backoff=backoff, max_backoff=max_backoff, concurrency=concurrency)
        self.concurrency = concurrency
        self._retries = retries
        self._backoff = backoff
        self._max_backoff = max_backoff
        self._headers = {"User-Agent": "geozarr"}
        if self._location.authorization is not None:
            self._headers["Authorization"] = self._location.authorization
        self._headers.update(headers or {})
        self._timeout = urllib3.Timeout(connect=connect_timeout, read=timeout)
        # Redirects are followed by urllib3; every other failure comes back to our loop.
        self._redirects = urllib3.Retry(total=None, connect=0, read=0, status=0, other=0,
                                        redirect=_MAX_REDIRECTS, raise_on_redirect=True)
        self._pool = _pool_manager(self._location.base, concurrency, verify)
        self._parallel: ThreadPoolExecutor | None = None
        self._parallel_lock = threading.Lock()
        self._ranges_supported = True
        self._whole = _WholeObjects(WHOLE_OBJECT_CACHE_BYTES)
        self._closed = False

    @property
    def url(self) -> str:
        """The store's root URL, redacted (no credentials, ``?...`` for a query)."""
        return redact(self._location.base + self._location.query)

    @property
    def ranges_supported(self) -> bool:
        """False once the server has answered a Range request with the whole object."""
        return self._ranges_supported

    def __repr__(self) -> str:
        return f"HTTPStore({self.url!r})"

    def reopen_spec(self) -> ReopenSpec:
        """Pickled as its URL and settings (no connection pool crosses a pickle)."""
        return self._reopen

    # -- reading ------------------------------------------------------------------------
    def get(self, key: str) -> bytes | None:
        """The whole value at ``key`` (one GET), or None on 404/410."""
        validate_key(key)
        cached = self._whole.get(key)
        if cached is not None:
            return cached
        return self._request("GET", key, None)

    def get_ranges(self, key: str, ranges: Sequence[ByteRange]) -> list[bytes] | None:
        """The bytes of each range of ``key`` (clamped at its end), or None when it is missing.

        One Range request per range, sent in parallel; when the server ignores ranges, one
        GET of the whole object, sliced.
        """
        validate_key(key)
        wanted = [r for r in ranges if r.length != 0]
        if not wanted:
            return [b"" for _ in ranges] if self.exists(key) else None
        if not self._ranges_supported:
            return self._slice_whole(key, ranges)
        if len(wanted) == 1:
            parts = [self._request("GET", key, wanted[0])]
        else:
            futures = [self._executor().submit(self._request, "GET", key, byte_range)
                       for byte_range in wanted]
            parts = [future.result() for future in futures]
        if any(part is None for part in parts):
            return None
        fetched = iter(parts)
        return [next(fetched) if r.length != 0 else b"" for r in ranges]

    def _slice_whole(self, key: str, ranges: Sequence[ByteRange]) -> list[bytes] | None:
        whole = self.get(key)
        if whole is None:
            return None
        self._whole.put(key, whole)
        view = memoryview(whole)
        return [bytes(view[r.slice_of(len(whole))]) for r in ranges]

    def exists(self, key: str) -> bool:
        """Whether ``key`` is there: one HEAD request (a GET if the server refuses HEAD)."""
        validate_key(key)
        return self.size(key) is not None

    def size(self, key: str) -> int | None:
        """The size in bytes of the value at ``key`` (a HEAD request), or None if missing."""
        validate_key(key)
        head = self._request("HEAD", key, None)
        if head is None:
            return None
        if head >= 0:
            return head
        value = self.get(key)
        return None if value is None else len(value)

    def list_prefix(self, prefix: str) -> Iterator[str]:
        """Not possible over HTTP: raises :class:`StoreError` saying what to do instead."""
        validate_prefix(prefix)
        raise StoreError(
            f"cannot list {prefix or 'the root'!r} of {self.url}: HTTP servers do not list "
            "keys. Open arrays and groups by path, or give the hierarchy consolidated "
            "metadata (geozarr.consolidate_metadata) so that groups know their members")

    # -- the request loop ---------------------------------------------------------------
    def _request(self, method: str, key: str, byte_range: ByteRange | None) -> Any:
        """GET (bytes) or HEAD (the size, or -1 when unknown) of ``key``; None on 404/410."""
        if self._closed:
            raise StoreError(f"{self!r} is closed: cannot read {key!r}")
        url = self._location.key_url(key)
        headers = self._headers
        if byte_range is not None:
            headers = {**headers, "Range": _range_header(byte_range),
                       "Accept-Encoding": "identity"}
        failure = ""
        asked_wait: float | None = None
        for attempt in range(self._retries + 1):
            if attempt:
                time.sleep(self._wait(attempt, asked_wait))
                asked_wait = None
            try:
                response = self._pool.request(
                    method, url, headers=headers, retries=self._redirects,
                    timeout=self._timeout, preload_content=True,
                    decode_content=byte_range is None)
            except _Urllib3Error as exc:
                reason = getattr(exc, "reason", None) or exc
                if isinstance(reason, (SSLError, ResponseError, LocationValueError)):
                    raise StoreError(f"{method} {redact(url)} failed: {reason}") from None
                failure = f"{type(reason).__name__}: {reason}"
                continue
            status = response.status
            if status in MISSING_STATUSES:
                return None
            if status in RETRY_STATUSES:
                failure = f"HTTP {status} {response.reason}"
                asked_wait = _retry_after(response)
                continue
            if status in (401, 403):
                raise StoreError(
                    f"HTTP {status} {response.reason} for {redact(url)}: access denied (give "
                    "credentials with storage_options={'headers': {...}}, or check them)")
            if method == "HEAD":
                return self._head_result(status, response, url)
            try:
                return self._body(key, url, byte_range, response)
            except _BadResponse as exc:
                failure = str(exc)
        raise StoreError(f"{method} {redact(url)} failed after {self._retries + 1} attempts: "
                         f"{failure}")

    def _wait(self, attempt: int, asked: float | None) -> float:
        """Seconds to sleep before retry number ``attempt`` (1-based): a random share of
        the doubling backoff, or what the server asked for with Retry-After (capped)."""
        cap = min(self._max_backoff, self._backoff * 2 ** (attempt - 1))
        wait = random.uniform(0, cap)
        if asked is not None:
            wait = max(wait, min(asked, self._max_backoff))
        return wait

    @staticmethod
    def _head_result(status: int, response: Any, url: str) -> int:
        if status in (405, 501):  # HEAD refused: the caller falls back to GET
            return -1
        if status != 200:
            raise StoreError(f"HTTP {status} {response.reason} for HEAD {redact(url)}")
        length = response.headers.get("Content-Length")
        return int(length) if length is not None and length.isdigit() else -1

    def _body(self, key: str, url: str, byte_range: ByteRange | None, response: Any) -> bytes:
        """The bytes an answer carries, checked against what was asked."""
        status = response.status
        body = response.data
        if byte_range is None:
            if status == 200:
                return body
            if 200 <= status < 300:
                raise _BadResponse(f"HTTP {status} to a plain GET (expected 200)")
            raise StoreError(f"HTTP {status} {response.reason} for {redact(url)}")
        if status == 416:
            return _unsatisfiable(byte_range, response, url)
        encoding = response.headers.get("Content-Encoding", "identity").lower()
        if encoding not in ("identity", ""):
            raise StoreError(f"{redact(url)}: the server encoded a byte range with "
                             f"{encoding!r} although 'identity' was asked for")
        if status == 200:  # the server ignored Range: take the part asked for
            self._ranges_supported = False
            self._whole.put(key, body)
            return bytes(memoryview(body)[byte_range.slice_of(len(body))])
        if status != 206:
            raise StoreError(f"HTTP {status} {response.reason} for {redact(url)} "
                             f"(Range {_range_header(byte_range)})")
        _check_partial(byte_range, response.headers.get("Content-Range"), len(body))
        return body

    # -- life cycle ---------------------------------------------------------------------
    def _executor(self) -> ThreadPoolExecutor:
        if self._parallel is None:
            with self._parallel_lock:
                if self._parallel is None:
                    self._parallel = ThreadPoolExecutor(
                        max_workers=self.concurrency, thread_name_prefix="geozarr-http")
        return self._parallel

    def close(self) -> None:
        """Close the connections; later reads raise :class:`StoreError`."""
        self._closed = True
        self._pool.clear()
        if self._parallel is not None:
            self._parallel.shutdown(wait=False)
        self._whole.clear()

    # -- writing (refused: HTTP stores are read-only) --------------------------------------
    def _set(self, key: str, value: bytes) -> None:
        raise ReadOnlyError(f"{self!r} is read-only: cannot write {key!r}")

    def _delete(self, key: str) -> None:
        raise ReadOnlyError(f"{self!r} is read-only: cannot delete {key!r}")


def _check_settings(url: str, **settings: float) -> None:
    for name, value in settings.items():
        positive = name in ("timeout", "connect_timeout", "concurrency")
        if (isinstance(value, bool) or not isinstance(value, (int, float))
                or value < 0 or (positive and value == 0)):
            kind = "positive" if positive else "non-negative"
            raise StoreError(f"{redact(url)}: HTTP setting {name} must be a {kind} number, "
                             f"got {value!r}")
    if not isinstance(settings["retries"], int) or not isinstance(settings["concurrency"], int):
        raise StoreError(f"{redact(url)}: HTTP settings retries and concurrency must be "
                         "integers")


def _pool_manager(base: str, size: int, verify: bool | str) -> Any:
    """A connection pool for ``base``'s host: through the environment's proxy if it names one."""
    options: dict[str, Any] = {"num_pools": 8, "maxsize": size, "block": True}
    if verify is False:
        options["cert_reqs"] = "CERT_NONE"
    elif isinstance(verify, str):
        options["ca_certs"] = verify
    scheme, _, rest = base.partition("://")
    host = rest.split("/", 1)[0].rsplit(":", 1)[0]
    proxy = urllib.request.getproxies().get(scheme)
    if proxy and not urllib.request.proxy_bypass(host):
        return urllib3.ProxyManager(proxy, **options)
    return urllib3.PoolManager(**options)


def _range_header(byte_range: ByteRange) -> str:
    if byte_range.start < 0:
        return f"bytes={byte_range.start}"
    if byte_range.length is None:
        return f"bytes={byte_range.start}-"
    return f"bytes={byte_range.start}-{byte_range.start + byte_range.length - 1}"


def _check_partial(byte_range: ByteRange, content_range: str | None, nbytes: int) -> None:
    """Raise :class:`_BadResponse` unless a 206 carries exactly the range asked for."""
    match = _CONTENT_RANGE.match(content_range or "")
    if match is None:
        raise _BadResponse(f"206 with a missing or malformed Content-Range {content_range!r}")
    first, last = int(match[1]), int(match[2])
    total = None if match[3] == "*" else int(match[3])
    if last < first or nbytes != last - first + 1:
        raise _BadResponse(f"206 body of {nbytes} bytes for Content-Range {content_range!r}")
    if total is not None and last >= total:
        raise _BadResponse(f"Content-Range {content_range!r} runs past the object's end")
    at_end = total is not None and last == total - 1
    if byte_range.start < 0:
        wanted = -byte_range.start
        if not at_end and total is not None:
            raise _BadResponse(f"Content-Range {content_range!r} for the last {wanted} bytes")
        if nbytes != (wanted if total is None else min(wanted, total)):
            raise _BadResponse(f"Content-Range {content_range!r} for the last {wanted} bytes")
        return
    if first != byte_range.start:
        raise _BadResponse(f"Content-Range {content_range!r} for bytes from {byte_range.start}")
    if byte_range.length is None:
        if total is not None and not at_end:
            raise _BadResponse(f"Content-Range {content_range!r} stops before the end")
        return
    wanted_last = byte_range.start + byte_range.length - 1
    if last > wanted_last or (last < wanted_last and not at_end):
        raise _BadResponse(f"Content-Range {content_range!r} for bytes "
                           f"{byte_range.start}-{wanted_last}")


def _unsatisfiable(byte_range: ByteRange, response: Any, url: str) -> bytes:
    """A 416 answer: the range starts past the end, so the clamped range is empty."""
    match = _UNSATISFIED.match(response.headers.get("Content-Range", ""))
    if byte_range.start < 0 or match is None or byte_range.start >= int(match[1]):
        return b""
    raise StoreError(f"{redact(url)}: the server refused the range {_range_header(byte_range)} "
                     f"of an object of {match[1]} bytes")


def _retry_after(response: Any) -> float | None:
    value = response.headers.get("Retry-After", "")
    try:
        return max(0.0, float(value))
    except ValueError:  # an HTTP date, or garbage: the usual backoff will do
        return None


class _WholeObjects:
    """Whole objects fetched because the server ignores ranges, least recently used first
    out, at most ``limit`` bytes in all (objects larger than a quarter of it are not kept)."""

    def __init__(self, limit: int):
        self._limit = limit
        self._items: OrderedDict[str, bytes] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    def get(self, key: str) -> bytes | None:
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def put(self, key: str, value: bytes) -> None:
        if len(value) > self._limit // 4:
            return
        with self._lock:
            old = self._items.pop(key, None)
            self._size += len(value) - (0 if old is None else len(old))
            self._items[key] = value
            while self._size > self._limit:
                _, evicted = self._items.popitem(last=False)
                self._size -= len(evicted)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._size = 0
