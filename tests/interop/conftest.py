"""Helpers for the interop tests: sample data, exact comparisons, selections, metadata checks.

The interop tests compare geozarr with the reference tools (zarr-python 3, GDAL through
rasterio, xarray) in both directions. The helpers here are plain functions, imported by the
test modules with ``from .conftest import ...``, so that the parametrize matrices can use them
at collection time.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest
import zarr

#: Every numeric v2 dtype, in both byte orders where the byte order matters, and the fixed
#: length strings (``|S`` bytes, ``<U``/``>U`` UCS-4 text).
V2_DTYPES: tuple[str, ...] = (
    "|b1", "|i1", "<i2", ">i2", "<i4", ">i4", "<i8", ">i8",
    "|u1", "<u2", ">u2", "<u4", ">u4", "<u8", ">u8",
    "<f2", ">f2", "<f4", ">f4", "<f8", ">f8", "<c8", ">c8", "<c16", ">c16",
    "|S7", "<U5", ">U5",
)  # fmt: skip

#: The core v3 data types (the byte order is the ``bytes`` codec's business, not the type's).
V3_DTYPES: tuple[str, ...] = (
    "bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
    "float16", "float32", "float64", "complex64", "complex128",
)  # fmt: skip

#: The variable-length UTF-8 string type (v3 ``"string"``) as numpy holds it.
STRING = np.dtypes.StringDType()

_WORDS = ("", "a", "zarr", "é", "水の", "🌍 x", "tab\there", "a longer sentence of text")
_TEXT_ALPHABET = "aZ0 é水🌍"
_BYTES_ALPHABET = b"aZ0 -~\x00"  # NUL inside a value is kept, trailing NULs are not


def pytest_configure(config: pytest.Config) -> None:
    """Silence zarr-python's own warnings about codecs and data types outside the v3 spec.

    They say that ``numcodecs.*`` codecs and some data types may not be portable, which is
    exactly what these tests exercise on purpose (also while collecting, when the case
    matrices build their codecs); geozarr's warnings stay visible.
    """
    config.addinivalue_line("filterwarnings", "ignore::zarr.errors.ZarrUserWarning")
    config.addinivalue_line("filterwarnings", "ignore::zarr.errors.UnstableSpecificationWarning")


def sample(dtype: Any, shape: tuple[int, ...], *, seed: int = 0,
           specials: bool = True) -> np.ndarray:
    """Deterministic values of ``dtype`` filling ``shape``.

    Integers span the whole range of the type and hit both extremes; floats and complex
    numbers include NaN, +-Infinity and -0.0 when ``specials`` (leave it off for lossy
    filters, which are undefined on them); strings include the empty string and non-ASCII
    text. The values are made in native byte order and then cast to ``dtype``.
    """
    rng = np.random.default_rng(seed)
    size = math.prod(shape)
    dtype = np.dtype(dtype)
    if dtype == STRING:
        picks = rng.integers(0, len(_WORDS), size)
        values: np.ndarray = np.array([_WORDS[i] for i in picks], dtype=STRING)
    elif dtype.kind == "b":
        values = rng.random(size) < 0.5
    elif dtype.kind in "iu":
        info = np.iinfo(native(dtype))
        values = rng.integers(info.min, info.max, size=size, endpoint=True, dtype=native(dtype))
        if size >= 2:
            values[0], values[-1] = info.min, info.max
    elif dtype.kind == "f":
        values = rng.standard_normal(size) * 1000.0
        if specials and size >= 5:
            values[1:5] = [np.nan, np.inf, -np.inf, -0.0]
    elif dtype.kind == "c":
        values = (rng.standard_normal(size) + 1j * rng.standard_normal(size)) * 1000.0
        if specials and size >= 5:
            values[1:5] = [complex(np.nan, 1.0), complex(np.inf, -np.inf),
                           complex(-0.0, np.nan), -0.0j]
    elif dtype.kind == "S":
        letters = np.frombuffer(_BYTES_ALPHABET, dtype="u1")
        lengths = rng.integers(0, dtype.itemsize + 1, size)
        values = np.array([rng.choice(letters, n).tobytes() for n in lengths], dtype=dtype)
    elif dtype.kind == "U":
        length = dtype.itemsize // 4
        letters = list(_TEXT_ALPHABET)
        lengths = rng.integers(0, length + 1, size)
        values = np.array(["".join(rng.choice(letters, n)) for n in lengths], dtype=dtype)
    else:
        raise ValueError(f"sample: no generator for dtype {dtype}")
    return values.astype(dtype).reshape(shape)


def native(dtype: Any) -> np.dtype:
    """``dtype`` in native byte order (the variable-length string type has no byte order)."""
    dtype = np.dtype(dtype)
    return dtype if dtype == STRING else dtype.newbyteorder("=")


def _as_text(values: np.ndarray) -> list[Any]:
    return np.asarray(values, dtype=object).ravel().tolist()


def assert_same(got: Any, expected: Any) -> None:
    """Assert ``got`` equals ``expected`` exactly: shape, kind and size of dtype, every value.

    NaN equals NaN (also inside complex numbers); the sign of zeros must match too. The byte
    order of the dtypes is not compared (a v3 array reads in native order). Variable-length
    strings compare as Python strings, whatever numpy dtype holds them.
    """
    got_array = np.asarray(got)
    expected_array = np.asarray(expected)
    assert got_array.shape == expected_array.shape, (
        f"shape {got_array.shape} != {expected_array.shape}"
    )
    kinds = (got_array.dtype.kind, expected_array.dtype.kind)
    if STRING in (got_array.dtype, expected_array.dtype) or "O" in kinds:
        assert _as_text(got_array) == _as_text(expected_array)
        return
    assert native(got_array.dtype) == native(expected_array.dtype), (
        f"dtype {got_array.dtype} != {expected_array.dtype}"
    )
    np.testing.assert_array_equal(got_array, expected_array, strict=False)
    if expected_array.dtype.kind in "fc":
        for part in (np.real, np.imag):
            np.testing.assert_array_equal(np.signbit(part(got_array)),
                                          np.signbit(part(expected_array)),
                                          err_msg="the signs of zeros (or NaNs) differ")


def same_scalar(got: Any, expected: Any, dtype: np.dtype) -> bool:
    """Whether two fill values are the same value of ``dtype``.

    NaN equals NaN, the signs of zeros must match, None only equals None.
    """
    if got is None or expected is None:
        return got is None and expected is None
    if dtype == STRING:
        return str(got) == str(expected)
    left = np.array(got, dtype=dtype)
    right = np.array(expected, dtype=dtype)
    if dtype.kind in "fc":
        return bool(np.array_equal(left, right, equal_nan=True)) and all(
            np.signbit(part(left)) == np.signbit(part(right)) for part in (np.real, np.imag)
        )
    return bool(left == right)


def selections(shape: Sequence[int]) -> list[tuple[Any, ...]]:
    """Basic-indexing selections to read from an array of ``shape`` (each axis >= 5 long).

    Windows across chunk edges, steps, negative steps, integers (dropping axes), negative
    starts, empty slices and a lone ``...``.
    """
    if not shape:
        return [(), (Ellipsis,)]
    return [
        (Ellipsis,),
        tuple(slice(1, n - 1) for n in shape),
        tuple(slice(2, None, 3) for n in shape),
        tuple(slice(None, None, -1) for n in shape),
        tuple(slice(n - 2, 0, -2) for n in shape),
        tuple(slice(-3, None) for n in shape),
        (shape[0] - 1, Ellipsis),
        (Ellipsis, slice(None, None, -3)),
        tuple(-1 for n in shape),
        (slice(2, 2), Ellipsis),
    ]


def zarr_dimension_names(array: zarr.Array) -> tuple[str | None, ...] | None:
    """The dimension names zarr-python holds: v3 ``dimension_names`` or v2 ``_ARRAY_DIMENSIONS``."""
    if array.metadata.zarr_format == 3:
        names = array.metadata.dimension_names
    else:
        names = array.attrs.get("_ARRAY_DIMENSIONS")
    return None if names is None else tuple(names)


def assert_same_array_metadata(ours: Any, theirs: zarr.Array) -> None:
    """Assert a geozarr array and a zarr-python array describe the same array.

    Compares zarr_format, shape, dtype (v3 byte orders aside), chunks (the inner chunks when
    sharded), shards, fill_value, dimension names, attributes and, for v2, the order.
    """
    assert ours.zarr_format == theirs.metadata.zarr_format
    assert tuple(ours.shape) == tuple(theirs.shape)
    assert ours.ndim == theirs.ndim
    if theirs.metadata.zarr_format == 2:
        assert np.dtype(ours.dtype) == np.dtype(theirs.dtype), (
            f"dtype {ours.dtype} != {theirs.dtype}"
        )
        assert ours.order == theirs.metadata.order
    else:
        assert native(ours.dtype) == native(theirs.dtype), f"dtype {ours.dtype} != {theirs.dtype}"
    ours_shards = None if ours.shards is None else tuple(ours.shards)
    theirs_shards = None if theirs.shards is None else tuple(theirs.shards)
    if theirs_shards is None and ours_shards is not None:
        # zarr-python reports shards only when sharding is the sole codec; after a
        # bytes->bytes codec (sharding_indexed then gzip) it calls the shards "chunks".
        assert [c.__class__.__name__ for c in theirs.metadata.codecs][0] == "ShardingCodec"
        assert ours_shards == tuple(theirs.chunks)
    else:
        assert tuple(ours.chunks) == tuple(theirs.chunks)
        assert ours_shards == theirs_shards
    assert same_scalar(ours.fill_value, theirs.fill_value, np.dtype(theirs.dtype)), (
        f"fill_value {ours.fill_value!r} != {theirs.fill_value!r}"
    )
    ours_names = None if ours.dimension_names is None else tuple(ours.dimension_names)
    assert ours_names == zarr_dimension_names(theirs)
    assert dict(ours.attrs) == theirs.attrs.asdict()


def part_region(shape: tuple[int, ...]) -> tuple[slice, ...]:
    """A window to write that leaves chunks missing and chunks partly written.

    It skips the first chunk(s) of every axis; on the first axis it runs to the end (so the
    partial edge chunks there are stored), on the others it stops short of the end (so the
    edge chunks there stay missing).
    """
    if not shape:
        return ()
    first = slice(shape[0] // 4, None)
    return (first, *(slice(n // 4, n - n // 6) for n in shape[1:]))


def fill_array(shape: tuple[int, ...], dtype: Any, fill_value: Any) -> np.ndarray:
    """An array of ``shape`` holding ``fill_value`` (zero, or the empty string, when None)."""
    dtype = np.dtype(dtype)
    if fill_value is None:
        return np.zeros(shape, dtype=dtype) if dtype != STRING else np.full(shape, "", dtype=dtype)
    return np.full(shape, fill_value, dtype=dtype)
