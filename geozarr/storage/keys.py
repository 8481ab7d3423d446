"""Key and node-name safety: the one place that decides what a store key may look like.

A key is a relative, "/"-separated path such as ``"temperature/c/0/1"``. Stores turn keys
into file names, zip member names or URLs, so a key must never be able to climb out of the
store (``".."``, an absolute path, a Windows drive), smuggle in a second separator (a
backslash) or hide characters a terminal or file system treats specially (control
characters). Every store validates every key it is given with :func:`validate_key`, which
costs one precompiled regular-expression match for a good key.
"""

from __future__ import annotations

import re

from geozarr.errors import InvalidKeyError

# One segment: no separator, backslash or control character (C0, DEL, C1), and not "." or
# "..". A key: segments joined by single "/", not starting with a Windows drive ("C:").
_SEGMENT = r"(?!\.\.?(?:/|\Z))[^/\\\x00-\x1f\x7f-\x9f]+"
_GOOD_KEY = re.compile(rf"(?![A-Za-z]:){_SEGMENT}(?:/{_SEGMENT})*")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_DRIVE = re.compile(r"[A-Za-z]:")

#: Metadata document names a new array or group may not take (compared case-insensitively,
#: because macOS and Windows file systems are).
RESERVED_NAMES = frozenset({".zarray", ".zgroup", ".zattrs", ".zmetadata", "zarr.json"})


def validate_key(key: str) -> str:
    """Return ``key`` unchanged if it is a safe store key, else raise.

    Parameters
    ----------
    key
        A relative key whose segments are separated by "/".

    Returns
    -------
    str
        ``key`` itself, so that callers can write ``path = root + validate_key(key)``.

    Raises
    ------
    InvalidKeyError
        Naming the key, when it is not a str, is empty, is absolute ("/a", "C:/a"), contains
        a ".", ".." or empty segment ("a//b", "a/"), a backslash, or a control character.
    """
    if isinstance(key, str) and _GOOD_KEY.fullmatch(key) is not None:
        return key
    raise InvalidKeyError(_why_bad_key(key))


def _why_bad_key(key: object) -> str:
    """The message explaining why ``key`` failed :func:`validate_key`."""
    if not isinstance(key, str):
        return f"store keys must be str, got {type(key).__name__} {key!r}"
    if not key:
        return "empty store key"
    if key.startswith("/"):
        return f"store key {key!r} is absolute; keys are relative to the store root"
    if "\\" in key:
        return f"store key {key!r} contains a backslash; keys separate segments with '/'"
    control = _CONTROL.search(key)
    if control is not None:
        return f"store key {key!r} contains the control character U+{ord(control[0]):04X}"
    if _DRIVE.match(key):
        return f"store key {key!r} starts with a Windows drive; keys are relative"
    # Whatever else fails the pattern is a bad segment, so this finds one.
    segment = next(part for part in key.split("/") if part in ("", ".", ".."))
    shown = "an empty" if not segment else f"a {segment!r}"
    return f"store key {key!r} has {shown} segment"


def validate_prefix(prefix: str) -> str:
    """Return ``prefix`` unchanged if it is a safe listing prefix, else raise.

    A prefix is "" (the whole store) or a valid key followed by "/" and the start of a
    segment (possibly empty): ``"a/"``, ``"a/b"``, ``"a/.z"``, ``"ab"``. Stores check it
    before listing, so that a listing can never start outside the store.

    Raises
    ------
    InvalidKeyError
        Naming the prefix, when its folder part is not a valid key, or the rest holds a
        backslash or a control character.
    """
    if not isinstance(prefix, str):
        raise InvalidKeyError(f"store prefixes must be str, got {type(prefix).__name__}")
    folder, sep, rest = prefix.rpartition("/")
    if sep and _GOOD_KEY.fullmatch(folder) is None:
        reason = "it is absolute" if not folder else _why_bad_key(folder)
        raise InvalidKeyError(f"store prefix {prefix!r} is not valid: {reason}")
    if "\\" in rest or _CONTROL.search(rest) is not None:
        raise InvalidKeyError(
            f"store prefix {prefix!r} contains a backslash or a control character"
        )
    return prefix


def validate_node_name(name: str) -> str:
    """Return ``name`` unchanged if a new array or group may take it, else raise.

    A node name is one key segment that is also not a metadata document name and does not
    start with "__" (reserved by Zarr v3 for the specification's own use).

    Parameters
    ----------
    name
        The name of the new array or group inside its parent group.

    Returns
    -------
    str
        ``name`` itself.

    Raises
    ------
    InvalidKeyError
        Naming ``name`` and what is wrong with it.
    """
    if not isinstance(name, str):
        raise InvalidKeyError(f"node names must be str, got {type(name).__name__} {name!r}")
    if not name.strip("."):
        raise InvalidKeyError(f"{name!r} is not a valid node name (empty, or only periods)")
    if "/" in name or "\\" in name:
        raise InvalidKeyError(f"node name {name!r} contains a path separator")
    control = _CONTROL.search(name)
    if control is not None:
        raise InvalidKeyError(
            f"node name {name!r} contains the control character U+{ord(control[0]):04X}"
        )
    if _DRIVE.match(name):
        raise InvalidKeyError(f"node name {name!r} would read as a Windows drive")
    if name.casefold() in RESERVED_NAMES:
        raise InvalidKeyError(f"node name {name!r} is reserved for Zarr metadata")
    if name.startswith("__"):
        raise InvalidKeyError(f"node name {name!r} starts with '__', which Zarr v3 reserves")
    return name


def join_key(*parts: str) -> str:
    """Join key parts with "/", skipping empty parts and stray "/" at their ends.

    ``join_key("", "group/", "array", "zarr.json") == "group/array/zarr.json"``. The result
    is not validated: the store that receives it does that.
    """
    return "/".join(stripped for part in parts if (stripped := part.strip("/")))
