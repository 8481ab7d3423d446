"""Configuration in one place: a frozen value, overridable per block and by environment.

``GEOZARR_THREADS`` (the size of the decode/encode thread pool) is read lazily the first time
the configuration is asked for, never at import. ``with geozarr.config(threads=1): ...``
overrides it for the block, in this thread and context only.
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import os
from collections.abc import Iterator
from dataclasses import dataclass

from geozarr.errors import GeoZarrError


class ConfigError(GeoZarrError, ValueError):
    """A configuration value (argument or ``GEOZARR_*`` variable) is invalid."""


@dataclass(frozen=True)
class Config:
    """Settings that change how geozarr works, not what it computes.

    Attributes
    ----------
    threads
        Threads that decode and encode chunks in parallel (numcodecs releases the GIL).
    serial_chunk_limit
        Requests touching at most this many chunks run on the calling thread: for one chunk
        the hand-off to the pool costs more than it saves.
    """

    threads: int = max(1, min(os.cpu_count() or 1, 8))
    serial_chunk_limit: int = 1

    def __post_init__(self) -> None:
        if self.threads < 1:
            raise ConfigError(f"threads must be at least 1, got {self.threads}")
        if self.serial_chunk_limit < 0:
            raise ConfigError(f"serial_chunk_limit must be >= 0, got {self.serial_chunk_limit}")


_override: contextvars.ContextVar[Config | None] = contextvars.ContextVar("geozarr_config",
                                                                           default=None)
_from_environment: Config | None = None


def _read_environment() -> Config:
    values: dict[str, int] = {}
    raw = os.environ.get("GEOZARR_THREADS")
    if raw:
        try:
            values["threads"] = int(raw)
        except ValueError:
            raise ConfigError(f"GEOZARR_THREADS must be an integer, got {raw!r}") from None
    return Config(**values)


def get_config() -> Config:
    """The configuration in force here: the innermost ``config()`` block, else the environment."""
    global _from_environment
    current = _override.get()
    if current is not None:
        return current
    if _from_environment is None:
        _from_environment = _read_environment()
    return _from_environment


@contextlib.contextmanager
def config(**overrides: int) -> Iterator[Config]:
    """Override settings for the ``with`` block: ``with geozarr.config(threads=1): ...``."""
    try:
        new = dataclasses.replace(get_config(), **overrides)
    except TypeError as exc:
        raise ConfigError(f"unknown configuration setting: {exc}") from None
    token = _override.set(new)
    try:
        yield new
    finally:
        _override.reset(token)
