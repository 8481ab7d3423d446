"""Remote locations: GDAL's ``/vsicurl/`` and ``/vsis3/`` spellings, HTTP URLs, redaction.

Users name remote data the way their other tools do: ``https://host/data.zarr``,
``s3://bucket/data.zarr``, or GDAL's virtual file system paths (``/vsicurl/https://...``,
``/vsis3/bucket/key``, ``/vsizip//vsicurl/https://.../data.zip``), which is what a GDAL
connection string such as ``ZARR:"/vsicurl/https://host/data.zarr":/temperature`` holds.
:func:`parse_location` turns any of them into one :class:`Location` (string work only, but
for one existence check of a local path that looks like a GDAL virtual path).

A URL may carry secrets (``https://user:password@host``, a signed query string), so every
message that names one goes through :func:`redact` first.
"""

from __future__ import annotations

import base64
import os
import re
from dataclasses import dataclass
from urllib.parse import quote, unquote, urlsplit, urlunsplit

from geozarr.errors import StoreError

#: GDAL's virtual file systems for object storage -> our URL schemes.
_GDAL_OBJECT_PREFIXES = {
    "/vsis3/": "s3", "/vsigs/": "gs", "/vsiaz/": "az", "/vsiadls/": "az",
}
_GDAL_CURL_PREFIXES = ("/vsicurl/", "/vsicurl_streaming/")
_GDAL_ZIP_PREFIX = "/vsizip/"
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*)://")
_GDAL_SYSTEM = re.compile(r"/vsi[a-z0-9_]+/")


@dataclass(frozen=True)
class Location:
    """Where a store lives, once GDAL spellings are undone.

    Attributes
    ----------
    url
        A ``scheme://`` URL (the scheme lower-cased) or a local path.
    scheme
        The URL's scheme (``"https"``, ``"s3"``...), or ``""`` for a local path.
    archive
        Whether the location is a zip archive: named by ``/vsizip/``, or ending in ``.zip``.
    """

    url: str
    scheme: str
    archive: bool


def parse_location(text: str) -> Location:
    """The :class:`Location` a user's string names.

    Parameters
    ----------
    text
        A URL, a local path, or a GDAL virtual path: ``/vsicurl/<http(s) URL>``,
        ``/vsis3/<bucket>/<key>`` (also ``/vsigs/``, ``/vsiaz/``, ``/vsiadls/``), or
        ``/vsizip/<archive>`` / ``/vsizip/{<archive>}`` around any of those.

    Raises
    ------
    StoreError
        For a GDAL path this reader cannot follow: a ``/vsicurl/`` target that is not an
        http(s) URL, a path inside a zip archive (``/vsizip/{a.zip}/inner``), or another
        ``/vsi...`` file system.
    """
    archive = False
    inner = text
    if inner.startswith(_GDAL_ZIP_PREFIX):
        archive = True
        inner = _zip_archive(text, inner[len(_GDAL_ZIP_PREFIX):])
    inner = _undo_gdal(text, inner)
    match = _SCHEME.match(inner)
    if match is None:
        return Location(inner, "", archive or _is_zip_name(inner))
    scheme = match[1].lower()
    url = f"{scheme}://{inner[match.end():]}"
    return Location(url, scheme, archive or _is_zip_name(urlsplit(url).path))


def _zip_archive(text: str, rest: str) -> str:
    """The archive named after ``/vsizip/``: ``{archive}`` or the whole rest."""
    if rest.startswith("{"):
        end = rest.find("}")
        if end < 0:
            raise StoreError(f"{redact(text)}: '/vsizip/{{' is never closed by '}}'")
        if rest[end + 1:].strip("/"):
            raise StoreError(
                f"{redact(text)}: paths inside a zip archive are not supported; put the Zarr "
                "hierarchy at the root of the archive")
        return rest[1:end]
    return rest


def _undo_gdal(text: str, inner: str) -> str:
    """``inner`` with a leading ``/vsicurl/``, ``/vsis3/``... turned into a URL."""
    for prefix in _GDAL_CURL_PREFIXES:
        if inner.startswith(prefix):
            url = inner[len(prefix):]
            if not url.lower().startswith(("http://", "https://")):
                raise StoreError(f"{redact(text)}: {prefix} must be followed by an http:// or "
                                 "https:// URL (the '?url=' form is not supported)")
            return url
    for prefix, scheme in _GDAL_OBJECT_PREFIXES.items():
        if inner.startswith(prefix):
            path = inner[len(prefix):].strip("/")
            if not path:
                raise StoreError(f"{text!r}: {prefix} must be followed by a bucket name")
            return f"{scheme}://{path}"
    system = _GDAL_SYSTEM.match(inner)
    if system is not None and not os.path.exists(inner):
        raise StoreError(
            f"{redact(text)}: GDAL's {system[0]} is not supported; use a URL (https://, s3://, "
            "gs://, az://) or /vsicurl/, /vsis3/, /vsigs/, /vsiaz/, /vsizip/")
    return inner


def _is_zip_name(path: str) -> bool:
    return path.lower().rstrip("/").endswith(".zip")


def redact(url: str) -> str:
    """``url`` safe to show: no user name or password, and ``?...`` for a query string.

    Signed URLs and ``user:password@`` carry credentials; messages and reprs never show them.
    """
    if "://" not in url:
        return url
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, host, parts.path, "..." if parts.query else "", ""))


@dataclass(frozen=True)
class HTTPBase:
    """An http(s) URL split for building key URLs: ``base`` + "/" + key + ``query``.

    Attributes
    ----------
    base
        Scheme, host and path, without credentials or query, no trailing "/".
    query
        ``"?..."`` (kept for every key: signed URLs and tokens), or ``""``.
    authorization
        An ``Authorization`` header built from ``user:password@`` in the URL, or None.
    """

    base: str
    query: str
    authorization: str | None

    @classmethod
    def parse(cls, url: str) -> HTTPBase:
        """Split an http(s) URL.

        Raises
        ------
        StoreError
            When ``url`` is not http(s) or has no host.
        """
        parts = urlsplit(url)
        if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
            raise StoreError(f"{redact(url)} is not an http:// or https:// URL with a host")
        userinfo, _, host = parts.netloc.rpartition("@")
        authorization = None
        if userinfo:
            token = base64.b64encode(_unquote_userinfo(userinfo).encode()).decode("ascii")
            authorization = f"Basic {token}"
        base = urlunsplit((parts.scheme.lower(), host, parts.path.rstrip("/"), "", ""))
        return cls(base, f"?{parts.query}" if parts.query else "", authorization)

    def key_url(self, key: str) -> str:
        """The URL of store key ``key`` (segments percent-encoded, "/" kept)."""
        return f"{self.base}/{quote(key, safe='/')}{self.query}"

    def __repr__(self) -> str:
        return f"HTTPBase({redact(self.base + self.query)!r})"


def _unquote_userinfo(userinfo: str) -> str:
    user, sep, password = userinfo.partition(":")
    return f"{unquote(user)}{sep}{unquote(password)}"


def split_http_url(url: str) -> tuple[str, str]:
    """(the folder URL, the last path segment unquoted) of an http(s) URL naming a file,
    credentials and query kept on the folder: a zip archive served over HTTP is the key
    ``name`` of a store rooted at the folder.

    Raises
    ------
    StoreError
        When the URL's path names no file.
    """
    parts = urlsplit(url)
    folder, _, name = parts.path.rstrip("/").rpartition("/")
    if not name:
        raise StoreError(f"{redact(url)} names no file")
    return urlunsplit((parts.scheme, parts.netloc, folder, parts.query, "")), unquote(name)


def split_object_url(url: str) -> tuple[str, str]:
    """(the folder URL, the last segment) of ``scheme://bucket/.../name``: a zip archive
    in object storage is the key ``name`` of a store rooted at the folder.

    Raises
    ------
    StoreError
        When the URL has no segment after the bucket.
    """
    match = _SCHEME.match(url)
    rest = url[match.end():] if match else url
    folder, _, name = rest.rstrip("/").rpartition("/")
    if not folder or not name:
        raise StoreError(f"{redact(url)} names no object inside a bucket")
    return url[: len(url) - len(rest)] + folder, name
