"""A store in object storage: S3 and S3-compatible servers, Google Cloud Storage, Azure.

Built on obstore (Rust's ``object_store``: one connection pool per store, retries with
backoff, request timeouts, the providers' signing and credential chains), installed with
``pip install geozarr[cloud]``. ``s3://bucket/prefix/data.zarr`` is the store rooted at
that prefix; a key is one object. Reads are a GET per key and one ranged GET per byte range
(the ranges of one call sent in parallel); every write is one
PUT (or one multipart upload, completed in one step), which object storage makes visible
atomically. Listing uses the provider's prefix listing.

``storage_options`` takes the names users know from s3fs/fsspec (``anon``, ``key``,
``secret``, ``token``, ``endpoint_url``, ``region``/``region_name``, ``client_kwargs``,
``profile``, ``requester_pays``) besides obstore's own configuration keys, and ``timeout``,
``connect_timeout``, ``retries`` and ``concurrency``. Credentials come from, in order: the
options; the provider's environment variables (``AWS_ACCESS_KEY_ID``...,
``GOOGLE_APPLICATION_CREDENTIALS``, ``AZURE_STORAGE_*``); for S3 the shared config and
credentials files (``~/.aws``, ``AWS_PROFILE``) through boto3 when it is installed; then the
cloud's instance metadata. They are never logged: messages name the URL only.
"""

from __future__ import annotations

import datetime
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from geozarr.errors import StoreError
from geozarr.storage.base import ByteRange, ReopenSpec, Store
from geozarr.storage.keys import validate_key, validate_prefix
from geozarr.storage.urls import redact

#: URL schemes served here (aliases included) and the obstore scheme each maps to.
SCHEMES = {"s3": "s3", "s3a": "s3", "gs": "gs", "gcs": "gs", "az": "az", "abfs": "abfs",
           "abfss": "abfss", "azure": "azure"}
#: s3fs/fsspec option names -> obstore configuration keys.
_S3_ALIASES = {"key": "access_key_id", "secret": "secret_access_key", "token": "session_token",
               "endpoint_url": "endpoint", "region_name": "region",
               "requester_pays": "request_payer"}
_SETTINGS = ("timeout", "connect_timeout", "retries", "concurrency", "client_options",
             "retry_config", "profile", "anon", "client_kwargs")
_AWS_KEY_VARIABLES = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")


def _obstore() -> Any:
    try:
        import obstore
    except ImportError:
        raise StoreError("object storage (s3://, gs://, az://) needs obstore: "
                         "pip install 'geozarr[cloud]'") from None
    return obstore


class ObjectStore(Store):
    """Bytes by key in an object storage bucket, under a prefix.

    Parameters
    ----------
    url
        ``s3://bucket/prefix`` (also ``s3a://``), ``gs://bucket/prefix`` (``gcs://``),
        ``az://container/prefix`` (``abfs://``, ``abfss://``, ``azure://``).
    read_only
        Refuse every write with ``ReadOnlyError``.
    storage_options
        Connection and credential settings; see the module docstring.

    Raises
    ------
    StoreError
        When obstore is not installed, the URL names no bucket, or an option is unknown or
        invalid (the message names the option, never its value).
    """

    def __init__(self, url: str, *, read_only: bool = False,
                 storage_options: Mapping[str, Any] | None = None) -> None:
        super().__init__(read_only=read_only)
        self._reopen = ReopenSpec(ObjectStore, (url,), {
            "read_only": read_only, "storage_options": dict(storage_options or {})})
        self._url = url.rstrip("/")
        options = dict(storage_options or {})
        self.concurrency = _positive_int(options.pop("concurrency", 16), "concurrency", url)
        self._obs = _obstore()
        self._store = _build(self._obs, url, options)
        self._parallel: ThreadPoolExecutor | None = None
        self._parallel_lock = threading.Lock()
        errors = self._obs.exceptions
        # obstore raises the built-in FileNotFoundError for a missing object, and ValueError
        # or its own BaseError subclasses for the rest.
        self._missing = (FileNotFoundError, errors.NotFoundError)
        self._failures = (errors.BaseError, OSError, ValueError)
        self._denied = (errors.PermissionDeniedError, errors.UnauthenticatedError)

    @property
    def url(self) -> str:
        """The store's root URL, redacted."""
        return redact(self._url)

    def __repr__(self) -> str:
        return f"ObjectStore({self.url!r})"

    def reopen_spec(self) -> ReopenSpec:
        """Pickled as its URL and options: a worker builds its own client (credentials from
        the options or its own environment); no connection crosses a pickle."""
        return self._reopen

    # -- reading ------------------------------------------------------------------------
    def get(self, key: str) -> bytes | None:
        """The object ``key`` (one GET), or None when there is none."""
        validate_key(key)
        try:
            return bytes(self._obs.get(self._store, key).bytes())
        except self._missing:
            return None
        except self._failures as exc:
            raise self._error("read", key, exc) from None

    def get_ranges(self, key: str, ranges: Sequence[ByteRange]) -> list[bytes] | None:
        """The bytes of each range of ``key`` (clamped at its end), or None when missing."""
        validate_key(key)
        try:
            return self._ranges(key, ranges, None)
        except self._missing:
            return None
        except self._failures:
            # A range starting past the end is an error to the server; clamp, as slices do.
            size = self.size(key)
            if size is None:
                return None
            try:
                return self._ranges(key, ranges, size)
            except self._missing:
                return None
            except self._failures as exc:
                raise self._error("read byte ranges of", key, exc) from None

    def _ranges(self, key: str, ranges: Sequence[ByteRange], size: int | None) -> list[bytes]:
        """One ranged GET per range, in parallel (clamped to ``size`` when it is known)."""
        wanted = []
        for byte_range in ranges:
            if size is not None:
                part = byte_range.slice_of(size)
                byte_range = ByteRange(part.start, max(part.stop - part.start, 0))
            wanted.append(byte_range)
        if len(wanted) == 1:
            return [self._range(key, wanted[0])]
        return list(self._executor().map(lambda r: self._range(key, r), wanted))

    def _range(self, key: str, byte_range: ByteRange) -> bytes:
        # obstore.get_ranges would merge near ranges, but it panics (an uncatchable
        # BaseException) when a merged range runs past the object's end: one GET per range.
        if byte_range.length == 0:
            return b""
        if byte_range.start >= 0 and byte_range.length is not None:
            return bytes(self._obs.get_range(self._store, key, start=byte_range.start,
                                             length=byte_range.length))
        spec = ({"suffix": -byte_range.start} if byte_range.start < 0
                else {"offset": byte_range.start})
        return bytes(self._obs.get(self._store, key, options={"range": spec}).bytes())

    def _executor(self) -> ThreadPoolExecutor:
        if self._parallel is None:
            with self._parallel_lock:
                if self._parallel is None:
                    self._parallel = ThreadPoolExecutor(
                        max_workers=self.concurrency, thread_name_prefix="geozarr-objects")
        return self._parallel

    def size(self, key: str) -> int | None:
        """The size of object ``key`` in bytes (a HEAD request), or None if it is missing."""
        validate_key(key)
        try:
            return int(self._obs.head(self._store, key)["size"])
        except self._missing:
            return None
        except self._failures as exc:
            raise self._error("inspect", key, exc) from None

    def exists(self, key: str) -> bool:
        """Whether object ``key`` exists (a HEAD request)."""
        return self.size(key) is not None

    def list_prefix(self, prefix: str) -> Iterator[str]:
        """Every key starting with ``prefix``, from the provider's listing."""
        validate_prefix(prefix)
        folder = prefix.rpartition("/")[0]
        try:
            keys = [meta["path"] for batch in self._obs.list(self._store, folder or None)
                    for meta in batch]
        except self._failures as exc:
            raise self._error("list", prefix, exc) from None
        return iter(sorted(key for key in keys if key.startswith(prefix)))

    def list_dir(self, prefix: str) -> tuple[list[str], list[str]]:
        """The values and sub-prefixes directly under ``prefix``: one delimited listing."""
        if prefix and not prefix.endswith("/"):
            prefix += "/"
        validate_prefix(prefix)
        try:
            listing = self._obs.list_with_delimiter(self._store, prefix.rstrip("/") or None)
        except self._failures as exc:
            raise self._error("list", prefix, exc) from None
        values = [meta["path"][len(prefix):] for meta in listing["objects"]]
        folders = [path[len(prefix):].rstrip("/") for path in listing["common_prefixes"]]
        return sorted(v for v in values if v), sorted(f for f in folders if f)

    # -- writing ------------------------------------------------------------------------
    def _set(self, key: str, value: bytes) -> None:
        validate_key(key)
        try:
            self._obs.put(self._store, key, memoryview(value).cast("B"))
        except self._failures as exc:
            raise self._error("write", key, exc) from None

    def _delete(self, key: str) -> None:
        validate_key(key)
        self._delete_keys([key])

    def delete_prefix(self, prefix: str) -> None:
        """Remove every object under ``prefix``, in bulk deletes where the provider has them."""
        self._check_writable(prefix)
        self._delete_keys(list(self.list_prefix(prefix)))

    def _delete_keys(self, keys: list[str]) -> None:
        if not keys:
            return
        try:
            self._obs.delete(self._store, keys)
        except self._missing:
            return
        except self._failures as exc:
            raise self._error("delete", keys[0], exc) from None

    def close(self) -> None:
        """Stop the threads of parallel range reads (obstore closes its connections itself
        when the store is dropped)."""
        if self._parallel is not None:
            self._parallel.shutdown(wait=False)

    def _error(self, action: str, key: str, exc: Exception) -> StoreError:
        """A :class:`StoreError` naming the object and the provider's reason (first line only:
        the rest is a debug dump)."""
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        where = f"{self.url}/{key}" if key else self.url
        if isinstance(exc, self._denied):
            return StoreError(f"access denied: cannot {action} {where} ({reason}); check the "
                              "credentials (storage_options, environment variables, ~/.aws)")
        return StoreError(f"cannot {action} {where}: {reason}")


def _build(obs: Any, url: str, options: dict[str, Any]) -> Any:
    """The obstore store for ``url`` and the user's ``options``."""
    scheme, sep, rest = url.partition("://")
    scheme = SCHEMES.get(scheme.lower(), "")
    if not sep or not scheme or not rest.strip("/"):
        raise StoreError(f"{redact(url)} is not an object storage URL with a bucket "
                         f"(supported: {', '.join(sorted(SCHEMES))})")
    settings = {name: options.pop(name) for name in _SETTINGS if name in options}
    config = _config(scheme, options, settings)
    client = dict(settings.get("client_options") or {})
    client.setdefault("timeout", _seconds(settings.get("timeout", 60), "timeout", url))
    client.setdefault("connect_timeout",
                      _seconds(settings.get("connect_timeout", 10), "connect_timeout", url))
    if _endpoint(scheme, config).startswith("http://"):
        client.setdefault("allow_http", True)
    retry = dict(settings.get("retry_config") or {})
    retry.setdefault("max_retries", _positive_int(settings.get("retries", 5), "retries", url,
                                                  low=0))
    retry.setdefault("retry_timeout", datetime.timedelta(seconds=120))
    provider = _s3_credentials(config, settings) if scheme == "s3" else None
    try:
        return obs.store.from_url(f"{scheme}://{rest}", config=config, client_options=client,
                                  retry_config=retry, credential_provider=provider)
    except obs.exceptions.UnknownConfigurationKeyError as exc:
        raise StoreError(f"{redact(url)}: unknown storage option ({str(exc).splitlines()[0]}); "
                         f"known are obstore's configuration keys and {', '.join(_SETTINGS)}, "
                         f"{', '.join(_S3_ALIASES)}") from None
    except (obs.exceptions.BaseError, ValueError, TypeError) as exc:
        reason = _scrub(str(exc).strip().split("\n")[0], config)
        raise StoreError(f"cannot open {redact(url)}: {reason} (check storage_options)"
                         ) from None


def _scrub(text: str, config: Mapping[str, Any]) -> str:
    """``text`` with every string option value (a key, a secret, a token) masked."""
    for value in config.values():
        if isinstance(value, str) and len(value) >= 4:
            text = text.replace(value, "***")
    return text


def _config(scheme: str, options: dict[str, Any], settings: dict[str, Any]) -> dict[str, Any]:
    """obstore configuration from the user's options (s3fs names translated)."""
    config: dict[str, Any] = {}
    client_kwargs = settings.get("client_kwargs") or {}
    for name in ("endpoint_url", "region_name"):
        if name in client_kwargs:
            options.setdefault(name, client_kwargs[name])
    for name, value in options.items():
        target = _S3_ALIASES.get(name, name) if scheme == "s3" else name
        config[target] = value
    if settings.get("anon"):
        config["skip_signature"] = True
    return config


def _endpoint(scheme: str, config: Mapping[str, Any]) -> str:
    """The endpoint the options or (for S3) the environment name, or ""."""
    if "endpoint" in config:
        return str(config["endpoint"])
    if scheme != "s3":
        return ""
    names = ("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL", "AWS_ENDPOINT")
    return next((os.environ[name] for name in names if os.environ.get(name)), "")


def _s3_credentials(config: Mapping[str, Any], settings: Mapping[str, Any]) -> Any:
    """A boto3 credential provider when the credentials must come from ``~/.aws`` files (a
    profile, or no keys given nor in the environment), else None (obstore's own chain)."""
    if config.get("skip_signature") or "access_key_id" in config:
        return None
    profile = settings.get("profile")
    if profile is None and all(os.environ.get(name) for name in _AWS_KEY_VARIABLES):
        return None
    try:
        import boto3
        import botocore.exceptions
        from obstore.auth.boto3 import Boto3CredentialProvider
    except ImportError:
        return None
    try:
        session = boto3.Session(profile_name=profile)
        if session.get_credentials() is None:
            return None
    except botocore.exceptions.BotoCoreError as exc:
        raise StoreError(f"cannot read the AWS credentials (profile {profile!r}): "
                         f"{type(exc).__name__}: {exc}") from None
    return Boto3CredentialProvider(session)


def _seconds(value: Any, name: str, url: str) -> datetime.timedelta:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise StoreError(f"{redact(url)}: storage option {name} must be a positive number of "
                         "seconds")
    return datetime.timedelta(seconds=value)


def _positive_int(value: Any, name: str, url: str, *, low: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise StoreError(f"{redact(url)}: storage option {name} must be an integer >= {low}")
    return value
