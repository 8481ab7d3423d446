"""Reading the ``configuration`` member of a v3 codec: shared checks with exact messages."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from geozarr.errors import UnsupportedCodecError


def read_configuration(configuration: Mapping[str, Any] | None, *, name: str, key: str,
                       allowed: Collection[str]) -> dict[str, Any]:
    """A copy of ``configuration`` (``{}`` for None), refusing members not in ``allowed``."""
    if configuration is None:
        return {}
    if not isinstance(configuration, Mapping):
        raise UnsupportedCodecError(f"{key}: codec {name!r}: configuration must be a JSON "
                                    f"object, got {configuration!r}")
    unknown = sorted(set(configuration) - set(allowed))
    if unknown:
        raise UnsupportedCodecError(f"{key}: codec {name!r}: unknown configuration member(s) "
                                    f"{', '.join(map(repr, unknown))}")
    return dict(configuration)


def read_int(config: Mapping[str, Any], member: str, default: int, *, name: str, key: str,
             low: int, high: int) -> int:
    """``config[member]`` (``default`` when absent): an integer in ``[low, high]``."""
    value = config.get(member, default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise UnsupportedCodecError(f"{key}: codec {name!r}: {member!r} must be an integer "
                                    f"from {low} to {high}, got {value!r}")
    return value


def read_choice(config: Mapping[str, Any], member: str, default: str, *, name: str, key: str,
                choices: Collection[str]) -> str:
    """``config[member]`` (``default`` when absent): one of ``choices``."""
    value = config.get(member, default)
    if not isinstance(value, str) or value not in choices:
        raise UnsupportedCodecError(f"{key}: codec {name!r}: {member!r} must be one of "
                                    f"{', '.join(map(repr, choices))}, got {value!r}")
    return value
