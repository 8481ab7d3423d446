"""Key, prefix and node-name validation, and key joining."""

from __future__ import annotations

import posixpath
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from geozarr.errors import InvalidKeyError
from geozarr.storage.keys import join_key, validate_key, validate_node_name, validate_prefix

GOOD_KEYS = [
    "zarr.json",
    ".zarray",
    "a/b/c",
    "temperature/c/0/1",
    "a/.zattrs",
    "..a",
    "a../b",
    "a/...",
    "ünïcødé/名前",
    "with space/x",
    "ab:c",
    "0",
]

BAD_KEYS = {
    "": "empty",
    "/etc/passwd": "absolute",
    "/": "absolute",
    "C:\\a": "backslash",
    "C:/a": "drive",
    "c:": "drive",
    "a\\b": "backslash",
    "..": "'..' segment",
    "../x": "'..' segment",
    "a/../../b": "'..' segment",
    "a/..": "'..' segment",
    ".": "'.' segment",
    "./a": "'.' segment",
    "a/./b": "'.' segment",
    "a//b": "empty segment",
    "a/": "empty segment",
    "a\x00": "U+0000",
    "a\nb": "U+000A",
    "a\x7fb": "U+007F",
    "a\x85b": "U+0085",
}


@pytest.mark.parametrize("key", GOOD_KEYS)
def test_good_keys_are_returned_unchanged(key: str) -> None:
    assert validate_key(key) is key


@pytest.mark.parametrize(("key", "reason"), BAD_KEYS.items())
def test_bad_keys_are_refused_naming_key_and_reason(key: str, reason: str) -> None:
    with pytest.raises(InvalidKeyError) as info:
        validate_key(key)
    message = str(info.value)
    assert repr(key) in message or key == ""
    assert reason in message


@pytest.mark.parametrize("key", [None, b"a/b", 3])
def test_non_str_keys_are_refused(key: object) -> None:
    with pytest.raises(InvalidKeyError, match="must be str"):
        validate_key(key)  # type: ignore[arg-type]


def test_invalid_key_error_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        validate_key("../x")


_SEGMENT_CHARS = st.characters(blacklist_characters="/\\", blacklist_categories=("Cc", "Cs"))
_SEGMENTS = st.text(_SEGMENT_CHARS, min_size=1, max_size=8).filter(
    lambda s: s not in (".", "..") and re.match(r"[A-Za-z]:", s) is None  # not a drive
)


@given(st.lists(_SEGMENTS, min_size=1, max_size=5))
def test_keys_built_from_good_segments_are_accepted(segments: list[str]) -> None:
    key = "/".join(segments)
    assert validate_key(key) == key


@given(st.text(max_size=20))
def test_any_text_is_accepted_unchanged_or_refused_and_never_escapes(text: str) -> None:
    try:
        key = validate_key(text)
    except InvalidKeyError:
        return
    assert key == text
    resolved = posixpath.normpath(posixpath.join("/root", key))
    assert resolved.startswith("/root/")
    assert resolved == "/root/" + key
    assert "\\" not in key


@given(
    st.lists(_SEGMENTS, min_size=1, max_size=4),
    st.sampled_from(["", ".", "..", "a\\b", "x\x01"]),
)
def test_one_bad_segment_anywhere_is_refused(segments: list[str], bad: str) -> None:
    for position in range(len(segments) + 1):
        key = "/".join([*segments[:position], bad, *segments[position:]])
        with pytest.raises(InvalidKeyError):
            validate_key(key)


@pytest.mark.parametrize("prefix", ["", "a", "a/", "a/b", "a/b/", "a/.z", "..", "ab"])
def test_good_prefixes(prefix: str) -> None:
    assert validate_prefix(prefix) is prefix


@pytest.mark.parametrize("prefix", ["/", "/a", "../", "a/../", "a//", "a\\b", "a/\x00", "C:/"])
def test_bad_prefixes(prefix: str) -> None:
    with pytest.raises(InvalidKeyError, match="prefix"):
        validate_prefix(prefix)


@pytest.mark.parametrize(
    "name", ["temperature", "a.b", ".hidden", "_x", "x__", "zarr.json.bak", "名前"]
)
def test_good_node_names(name: str) -> None:
    assert validate_node_name(name) is name


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("", "not a valid node name"),
        (".", "not a valid node name"),
        ("..", "not a valid node name"),
        ("a/b", "separator"),
        ("a\\b", "separator"),
        ("a\tb", "control character"),
        (".zarray", "reserved"),
        (".zgroup", "reserved"),
        (".zattrs", "reserved"),
        (".zmetadata", "reserved"),
        ("zarr.json", "reserved"),
        ("ZARR.JSON", "reserved"),
        ("__private", "'__'"),
        ("C:", "drive"),
    ],
)
def test_bad_node_names(name: str, reason: str) -> None:
    with pytest.raises(InvalidKeyError, match=reason) as info:
        validate_node_name(name)
    assert repr(name) in str(info.value)


@given(_SEGMENTS)
def test_accepted_node_names_are_valid_keys(name: str) -> None:
    try:
        validate_node_name(name)
    except InvalidKeyError:
        return
    assert validate_key(name) == name
    assert validate_key(f"group/{name}/zarr.json")


@pytest.mark.parametrize(
    ("parts", "expected"),
    [
        ((), ""),
        (("",), ""),
        (("a",), "a"),
        (("a", "b", "c"), "a/b/c"),
        (("", "group/", "array", "zarr.json"), "group/array/zarr.json"),
        (("/a/", "", "/b"), "a/b"),
        (("a/b", "c/d"), "a/b/c/d"),
        (("/",), ""),
    ],
)
def test_join_key(parts: tuple[str, ...], expected: str) -> None:
    assert join_key(*parts) == expected
