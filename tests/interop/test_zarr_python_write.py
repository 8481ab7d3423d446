"""geozarr writes, zarr-python 3 reads: the v2 and v3 matrix, values and metadata.

Each case creates one small array with ``geozarr.create_array`` in ``tmp_path``, writes part
of it (or all of it) with ``a[...] = ...``, then opens it with ``zarr.open_array`` and checks
what zarr-python sees: the values (exactly, against the values written; for lossy filters
against what geozarr itself reads back), and the metadata: dtype, fill_value, chunks, shards,
dimension names, attributes, and for v2 the order, compressor and filters.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import numcodecs
import numpy as np
import pytest
import zarr

import geozarr

from .conftest import (
    STRING,
    V2_DTYPES,
    V3_DTYPES,
    assert_same,
    assert_same_array_metadata,
    fill_array,
    part_region,
    native,
    same_scalar,
    sample,
    zarr_dimension_names,
)

NAN, INF = float("nan"), float("inf")
SHAPE, CHUNKS = (37, 23), (8, 5)


@dataclass(frozen=True)
class Case:
    """One array for geozarr to write: ``options`` go to ``geozarr.create_array``.

    ``written`` is "part" (a window leaving whole chunks missing and edge chunks partial),
    "all" or "none". ``lossy`` cases compare zarr-python's read with geozarr's, and their
    data has no NaN or infinities.
    """

    id: str
    zarr_format: int
    dtype: Any
    shape: tuple[int, ...] = SHAPE
    chunks: tuple[int, ...] = CHUNKS
    written: str = "part"
    lossy: bool = False
    options: dict[str, Any] = field(default_factory=dict)


_CASE_FIELDS = ("shape", "chunks", "written", "lossy")


def _case(zarr_format: int, id: str, dtype: Any, **options: Any) -> Case:
    fields = {name: options.pop(name) for name in _CASE_FIELDS if name in options}
    return Case(f"v{zarr_format}-{id}", zarr_format, dtype, options=options, **fields)


def _codec_cases(zarr_format: int) -> list[Case]:
    """Compressors and filters, as numcodecs objects, for either format."""
    b = numcodecs.Blosc
    codecs: list[tuple[str, str, list | None, Any, bool]] = [
        ("default-compressor", "<i4", None, "default", False),
        ("no-compressor", ">u4", None, None, False),
        ("blosc-lz4-shuffle", "<i4", None, b("lz4", 5, b.SHUFFLE), False),
        ("blosc-zstd-bitshuffle", ">f8", None, b("zstd", 3, b.BITSHUFFLE), False),
        ("blosc-zlib-noshuffle", "<u2", None, b("zlib", 1, b.NOSHUFFLE), False),
        ("zstd", "<f4", None, numcodecs.Zstd(level=3), False),
        ("gzip", ">i2", None, numcodecs.GZip(level=1), False),
        ("zlib", "<c16", None, numcodecs.Zlib(level=1), False),
        ("lz4", "<i8", None, numcodecs.LZ4(), False),
        ("lzma", "<f8", None, numcodecs.LZMA(preset=1), False),
        ("bz2", "|u1", None, numcodecs.BZ2(level=1), False),
        ("crc32", "<i4", None, numcodecs.CRC32(), False),
        ("crc32c", "<i4", None, numcodecs.CRC32C(), False),
        ("adler32", ">f4", None, numcodecs.Adler32(), False),
        ("fletcher32", "<u8", None, numcodecs.Fletcher32(), False),
        ("delta", "<i4", [numcodecs.Delta("<i4")], numcodecs.Zlib(level=1), False),
        ("shuffle", "<i8", [numcodecs.Shuffle(elementsize=8)], numcodecs.Zlib(level=1), False),
        ("packbits", "|b1", [numcodecs.PackBits()], None, False),
        ("fixedscaleoffset", "<f8",
         [numcodecs.FixedScaleOffset(offset=1000, scale=10, dtype="<f8", astype="<i4")],
         None, True),
        ("quantize", "<f4", [numcodecs.Quantize(digits=3, dtype="<f4")],
         numcodecs.Zstd(level=1), True),
        ("bitround", "<f4", [numcodecs.BitRound(keepbits=6)], numcodecs.GZip(level=1), True),
        ("astype", "<f8", [numcodecs.AsType(encode_dtype="<f4", decode_dtype="<f8")],
         numcodecs.LZ4(), True),
    ]
    if zarr_format == 2:
        codecs.append(("delta-crc32-zstd", ">i2", [numcodecs.Delta(">i2"), numcodecs.CRC32()],
                       numcodecs.Zstd(level=1), False))
    cases = []
    for id, dtype, filters, compressor, lossy in codecs:
        if zarr_format == 3:
            dtype = np.dtype(dtype).newbyteorder("=").str if np.dtype(dtype).itemsize > 1 else dtype
        cases.append(_case(zarr_format, f"codec-{id}", dtype, filters=filters,
                           compressor=compressor, lossy=lossy))
    return cases


def _v2_cases() -> list[Case]:
    cases = [_case(2, f"dtype-{dtype}", dtype) for dtype in V2_DTYPES]
    for dtype in ("<i2", ">f8", "<U5", ">c8", "|S7"):
        for order in "CF":
            for separator in "./":
                cases.append(_case(2, f"order{order}-sep{separator}-{dtype}", dtype, order=order,
                                   dimension_separator=separator))
    fills: list[tuple[str, Any]] = [
        ("<f4", None), ("<f4", 42.5), ("<f4", NAN), (">f8", INF), ("<f2", -INF), ("<f8", -0.0),
        ("<i4", None), ("|i1", -128), (">i8", -(2**63)), ("<u8", 2**64 - 1), ("|b1", True),
        ("<c16", complex(1.5, -2.0)), (">c8", complex(NAN, 1.0)), ("|S7", b"ab"), ("<U5", "é水"),
    ]  # fmt: skip
    cases += [_case(2, f"fill-{fill!r}-{dtype}", dtype, fill_value=fill) for dtype, fill in fills]
    cases += _codec_cases(2)
    cases += [
        _case(2, "0d", "<f8", shape=(), chunks=(), written="all"),
        _case(2, "1d", ">u2", shape=(37,), chunks=(8,)),
        _case(2, "3d-orderF-sep/", ">i4", shape=(7, 11, 5), chunks=(3, 4, 2), order="F",
              dimension_separator="/"),
        _case(2, "chunk-larger-than-array", "<i2", shape=(5, 6), chunks=(8, 8)),
        _case(2, "dimension-names", "<f4", dimension_names=("y", "x"),
              attributes={"units": "K", "scale": [1, 2.5]}),
        _case(2, "all-missing", "<f4", written="none", fill_value=NAN),
    ]
    return cases


def _v3_cases() -> list[Case]:
    cases = [_case(3, f"dtype-{dtype}", dtype) for dtype in V3_DTYPES]
    cases += [
        _case(3, f"big-endian-{dtype}", np.dtype(dtype).newbyteorder(">").str, compressor=None)
        for dtype in V3_DTYPES
        if np.dtype(dtype).itemsize > 1
    ]
    cases += [
        _case(3, "string", STRING),
        _case(3, "string-fill-uncompressed", STRING, fill_value="fill", compressor=None),
        _case(3, "orderF", "int32"),
        _case(3, "orderF-3d", "float64", shape=(7, 11, 5), chunks=(3, 4, 2), order="F"),
        _case(3, "separator-dot", "int16", dimension_separator="."),
        _case(3, "separator-slash", "int16", dimension_separator="/"),
        _case(3, "dimension-names", "float32", dimension_names=("y", "x"),
              attributes={"units": "K", "scale": [1, 2.5]}),
        _case(3, "dimension-names-partial", "uint8", dimension_names=("y", None)),
        _case(3, "shard", "int32", chunks=(4, 5), shards=(8, 10)),
        _case(3, "shard-all", "float32", chunks=(4, 5), shards=(8, 10), written="all"),
        _case(3, "shard-uncompressed", "uint16", chunks=(4, 5), shards=(16, 10), compressor=None),
        _case(3, "shard-blosc-delta", "int64", chunks=(4, 5), shards=(8, 10),
              filters=[numcodecs.Delta("<i8")],
              compressor=numcodecs.Blosc("zstd", 3, numcodecs.Blosc.SHUFFLE)),
        _case(3, "shard-orderF", "float64", chunks=(4, 5), shards=(8, 10), order="F"),
        _case(3, "shard-3d", "complex64", shape=(7, 11, 5), chunks=(2, 2, 2), shards=(4, 4, 2)),
        _case(3, "shard-nan-fill", "float64", chunks=(4, 5), shards=(8, 10), fill_value=NAN),
        _case(3, "shard-none-written", "int8", chunks=(4, 5), shards=(8, 10), written="none",
              fill_value=3),
    ]
    cases += _codec_cases(3)
    fills: list[tuple[str, Any]] = [
        ("float32", NAN), ("float64", INF), ("float16", -INF), ("float64", -0.0),
        ("complex64", complex(NAN, 1.0)), ("complex128", complex(1.5, -2.0)),
        ("uint64", 2**64 - 1), ("int64", -(2**63)), ("bool", True), ("int8", -5),
    ]  # fmt: skip
    cases += [_case(3, f"fill-{fill!r}-{dtype}", dtype, fill_value=fill) for dtype, fill in fills]
    cases += [
        _case(3, "0d", "int16", shape=(), chunks=(), written="all"),
        _case(3, "0d-missing", "float32", shape=(), chunks=(), written="none", fill_value=2.5),
        _case(3, "1d", "uint32", shape=(37,), chunks=(8,)),
        _case(3, "3d", "complex128", shape=(7, 11, 5), chunks=(3, 4, 2)),
        _case(3, "chunk-larger-than-array", "int8", shape=(5, 6), chunks=(8, 8)),
    ]
    return cases


CASES = _v2_cases() + _v3_cases()


def write_with_geozarr(case: Case, root: str) -> tuple[Any, np.ndarray]:
    """Create the case's array at ``root/arr`` with geozarr, write it, and return the geozarr
    array and the values it should hold."""
    dtype = np.dtype(case.dtype)
    a = geozarr.create_array(root, name="arr", shape=case.shape, dtype=dtype, chunks=case.chunks,
                             zarr_format=case.zarr_format, **case.options)
    expected = fill_array(case.shape, dtype, a.fill_value)
    data = sample(dtype, case.shape, specials=not case.lossy)
    region = {"all": (Ellipsis,), "part": part_region(case.shape), "none": None}[case.written]
    if region is not None:
        a[region] = data[region]
        expected[region] = data[region]
    return a, expected


def assert_requested_metadata(case: Case, z: zarr.Array) -> None:
    """Assert zarr-python sees the metadata the case asked geozarr for."""
    dtype = np.dtype(case.dtype)
    assert z.metadata.zarr_format == case.zarr_format
    assert tuple(z.shape) == case.shape
    assert tuple(z.chunks) == case.chunks
    shards = case.options.get("shards")
    assert (None if z.shards is None else tuple(z.shards)) == shards
    if case.zarr_format == 2:
        assert np.dtype(z.dtype) == dtype
        assert z.metadata.order == case.options.get("order", "C")
        assert z.metadata.dimension_separator == (case.options.get("dimension_separator") or ".")
        compressor = case.options.get("compressor", "default")
        if compressor != "default":
            got = z.metadata.compressor
            want = None if compressor is None else compressor.get_config()
            assert (None if got is None else got.get_config()) == want
        filters = case.options.get("filters")
        got_filters = [f.get_config() for f in z.metadata.filters or ()]
        assert got_filters == [f.get_config() for f in filters or ()]
    else:
        assert native(z.dtype) == native(dtype)
        separator = case.options.get("dimension_separator")
        if separator is not None:
            assert z.metadata.chunk_key_encoding.separator == separator
    fill = case.options.get("fill_value")
    if "fill_value" in case.options and not (case.zarr_format == 3 and fill is None):
        assert same_scalar(z.fill_value, fill, np.dtype(z.dtype))
    names = case.options.get("dimension_names")
    assert zarr_dimension_names(z) == (None if names is None else tuple(names))
    attributes = {k: v for k, v in z.attrs.asdict().items() if k != "_ARRAY_DIMENSIONS"}
    assert attributes == case.options.get("attributes", {})


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_zarr_python_reads_what_geozarr_wrote(case: Case, tmp_path: Any) -> None:
    root = str(tmp_path / "data.zarr")
    a, expected = write_with_geozarr(case, root)

    z = zarr.open_array(zarr.storage.LocalStore(root, read_only=True), path="arr")
    assert_requested_metadata(case, z)
    assert_same_array_metadata(a, z)
    got = np.asarray(z[...])
    if case.lossy:
        assert_same(got, a[...])
    else:
        assert_same(got, expected)
        assert_same(a[...], expected)


WRITE_SELECTIONS: list[tuple[Any, ...]] = [
    (slice(3, 30), slice(2, 21)),
    (slice(None, None, 3), slice(1, None, 2)),
    (slice(None, None, -2), slice(20, 3, -3)),
    (slice(-5, None), Ellipsis),
    (0, slice(None)),
    (slice(None), -1),
    (17, 4),
]


@pytest.mark.parametrize(
    ("zarr_format", "options"),
    [
        (2, {}),
        (2, {"order": "F", "dimension_separator": "/", "fill_value": NAN}),
        (3, {}),
        (3, {"shards": (16, 10), "fill_value": NAN}),
    ],
    ids=["v2", "v2-orderF-nan", "v3", "v3-sharded-nan"],
)
def test_successive_writes_of_windows_steps_and_negative_steps(
    zarr_format: int, options: dict[str, Any], tmp_path: Any
) -> None:
    """Overlapping partial writes (chunks read, patched, rewritten) read the same in zarr-python."""
    root = str(tmp_path / "data.zarr")
    chunks = (8, 5)
    a = geozarr.create_array(root, name="arr", shape=SHAPE, dtype="<f8", chunks=chunks,
                             zarr_format=zarr_format, **options)
    mirror = fill_array(SHAPE, "<f8", a.fill_value)
    for seed, selection in enumerate(WRITE_SELECTIONS):
        values = sample("<f8", mirror[selection].shape, seed=seed)
        a[selection] = values
        mirror[selection] = values
    a[30:, 10] = 1.5  # a scalar broadcast to a selection
    mirror[30:, 10] = 1.5
    z = zarr.open_array(zarr.storage.LocalStore(root, read_only=True), path="arr")
    assert_same(z[...], mirror)
    assert_same(a[...], mirror)


@pytest.mark.parametrize("zarr_format", [2, 3])
def test_a_chunk_rewritten_to_fill_value_is_removed(zarr_format: int, tmp_path: Any) -> None:
    """A chunk that ends up all fill value is deleted; zarr-python reads it as fill value."""
    root = tmp_path / "data.zarr"
    a = geozarr.create_array(str(root), name="arr", shape=(10, 10), dtype="i2", chunks=(5, 5),
                             fill_value=-1, zarr_format=zarr_format, dimension_separator="/")
    a[...] = np.arange(100, dtype="i2").reshape(10, 10)
    chunk_file = root / "arr" / ("c/0/1" if zarr_format == 3 else "0/1")
    assert chunk_file.is_file()
    a[:5, 5:] = -1
    assert not chunk_file.exists()
    expected = np.arange(100, dtype="i2").reshape(10, 10)
    expected[:5, 5:] = -1
    assert_same(zarr.open_array(str(root), path="arr", mode="r")[...], expected)
    assert sorted(os.listdir(root / "arr" / ("c/0" if zarr_format == 3 else "0"))) == ["0"]


@pytest.mark.parametrize("zarr_format", [2, 3])
def test_zarr_python_reads_a_geozarr_hierarchy(zarr_format: int, tmp_path: Any) -> None:
    """Groups created by geozarr (explicitly, and as the parents of a nested array)."""
    root = str(tmp_path / "tree.zarr")
    g = geozarr.open_group(root, mode="w", zarr_format=zarr_format)
    g.attrs["title"] = "tree"
    sub = g.create_group("sub")
    sub.attrs.update({"level": 1, "nested": {"a": [1, None]}})
    sub.create_array("values", shape=(6,), dtype="u1", chunks=(4,))[...] = np.arange(6)
    geozarr.create_array(root, name="x/y/deep", shape=(3, 2), dtype="f4", chunks=(2, 2),
                         zarr_format=zarr_format, fill_value=0.5)

    z = zarr.open_group(zarr.storage.LocalStore(root, read_only=True), mode="r",
                        use_consolidated=False)
    assert z.metadata.zarr_format == zarr_format
    assert z.attrs.asdict() == {"title": "tree"}
    assert sorted(z.group_keys()) == ["sub", "x"]
    assert z["sub"].attrs.asdict() == {"level": 1, "nested": {"a": [1, None]}}
    assert_same(z["sub/values"][...], np.arange(6, dtype="u1"))
    assert isinstance(z["x/y"], zarr.Group)
    assert_same(z["x/y/deep"][...], np.full((3, 2), 0.5, dtype="f4"))
