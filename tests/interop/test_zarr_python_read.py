"""zarr-python 3 writes, geozarr reads: the whole v2 and v3 matrix, compared exactly.

Each case creates one small array with zarr-python in ``tmp_path`` (shapes that are not
multiples of the chunks, and by default only part of the array written, so that edge chunks
are partial and some chunks or inner chunks are missing), then opens it with geozarr and
checks the metadata, the full read and a set of windows, steps and negative steps against
numpy applied to what zarr-python reads. For lossy filters the reference is what
zarr-python reads back, not the values written.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numcodecs
import numpy as np
import pytest
import zarr
import zarr.codecs.numcodecs as znc
from zarr.codecs import (
    BloscCodec,
    BytesCodec,
    Crc32cCodec,
    GzipCodec,
    ShardingCodec,
    TransposeCodec,
    ZstdCodec,
)

import geozarr

from .conftest import (
    STRING,
    V2_DTYPES,
    V3_DTYPES,
    assert_same,
    assert_same_array_metadata,
    fill_array,
    part_region,
    sample,
    selections,
)

NAN, INF = float("nan"), float("inf")
SHAPE, CHUNKS = (37, 23), (8, 5)


@dataclass(frozen=True)
class Case:
    """One array for zarr-python to write: ``options`` go to ``zarr.create_array``.

    ``written`` is "part" (a window leaving whole chunks missing and edge chunks partial),
    "all" or "none" (every chunk missing). ``lossy`` cases compare with zarr-python's read
    only, and their data has no NaN or infinities.
    """

    id: str
    zarr_format: int
    dtype: str
    shape: tuple[int, ...] = SHAPE
    chunks: tuple[int, ...] = CHUNKS
    written: str = "part"
    lossy: bool = False
    options: dict[str, Any] = field(default_factory=dict)


_CASE_FIELDS = ("shape", "chunks", "written", "lossy")


def _v2(id: str, dtype: str, **options: Any) -> Case:
    fields = {name: options.pop(name) for name in _CASE_FIELDS if name in options}
    return Case(f"v2-{id}", 2, dtype, options=options, **fields)


def _v3(id: str, dtype: str, **options: Any) -> Case:
    fields = {name: options.pop(name) for name in _CASE_FIELDS if name in options}
    return Case(f"v3-{id}", 3, dtype, options=options, **fields)


def _v2_cases() -> list[Case]:
    cases = [_v2(f"dtype-{dtype}", dtype) for dtype in V2_DTYPES]
    for dtype in ("<i2", ">f8", "<U5", ">c8", "|S7"):
        for order in "CF":
            for separator in "./":
                cases.append(_v2(f"order{order}-sep{separator}-{dtype}", dtype, order=order,
                                 chunk_key_encoding={"name": "v2", "separator": separator}))
    fills: list[tuple[str, Any]] = [
        ("<f4", None), ("<f4", 42.5), ("<f4", NAN), (">f8", NAN), (">f8", INF), ("<f2", -INF),
        ("<f8", -0.0), ("<i4", None), ("|i1", -128), (">i8", -(2**63)), ("<u8", 2**64 - 1),
        ("|b1", True), ("<c16", complex(1.5, -2.0)), (">c8", complex(NAN, 1.0)), ("|S7", b"ab"),
        ("<U5", "é水"),
    ]  # fmt: skip
    for dtype, fill in fills:
        cases.append(_v2(f"fill-{fill!r}-{dtype}", dtype, fill_value=fill))
    b = numcodecs.Blosc
    codecs: list[tuple[str, str, list | None, Any, bool]] = [
        ("blosc-lz4-shuffle", "<i4", None, b("lz4", 5, b.SHUFFLE), False),
        ("blosc-zstd-bitshuffle", ">f8", None, b("zstd", 3, b.BITSHUFFLE), False),
        ("blosc-zlib-autoshuffle", "<u2", None, b("zlib", 1, b.AUTOSHUFFLE), False),
        ("blosc-blosclz-noshuffle", "|S7", None, b("blosclz", 9, b.NOSHUFFLE), False),
        ("zstd", "<f4", None, numcodecs.Zstd(level=3), False),
        ("zstd-checksum", ">i8", None, numcodecs.Zstd(level=1, checksum=True), False),
        ("gzip", ">i2", None, numcodecs.GZip(level=1), False),
        ("zlib", "<c16", None, numcodecs.Zlib(level=1), False),
        ("lz4", "<U5", None, numcodecs.LZ4(), False),
        ("lzma", "<f8", None, numcodecs.LZMA(preset=1), False),
        ("bz2", "|u1", None, numcodecs.BZ2(level=1), False),
        ("no-compressor", ">u4", None, None, False),
        ("crc32", "<i4", None, numcodecs.CRC32(), False),
        ("adler32", ">f4", None, numcodecs.Adler32(), False),
        ("fletcher32", "<u8", None, numcodecs.Fletcher32(), False),
        ("delta", "<i4", [numcodecs.Delta("<i4")], numcodecs.Zlib(level=1), False),
        ("delta-crc32", ">i2", [numcodecs.Delta(">i2"), numcodecs.CRC32()],
         numcodecs.Zstd(level=1), False),
        ("shuffle", ">i8", [numcodecs.Shuffle(elementsize=8)], numcodecs.LZMA(preset=1), False),
        ("packbits", "|b1", [numcodecs.PackBits()], None, False),
        ("delta-shuffle-blosc", "<u4", [numcodecs.Delta("<u4"), numcodecs.Shuffle(elementsize=4)],
         b("lz4", 5, b.NOSHUFFLE), False),
        ("fixedscaleoffset", "<f8",
         [numcodecs.FixedScaleOffset(offset=1000, scale=10, dtype="<f8", astype="<i4")],
         None, True),
        ("quantize", "<f4", [numcodecs.Quantize(digits=3, dtype="<f4")],
         numcodecs.Zstd(level=1), True),
        ("bitround", "<f4", [numcodecs.BitRound(keepbits=6)], numcodecs.GZip(level=1), True),
        ("astype", "<f8", [numcodecs.AsType(encode_dtype="<f4", decode_dtype="<f8")],
         numcodecs.LZ4(), True),
    ]
    for id, dtype, filters, compressor, lossy in codecs:
        cases.append(_v2(f"codec-{id}", dtype, filters=filters, compressors=compressor,
                         lossy=lossy))
    cases += [
        _v2("0d", "<f8", shape=(), chunks=(), written="all"),
        _v2("0d-missing", ">i4", shape=(), chunks=(), written="none", fill_value=7),
        _v2("1d", ">u2", shape=(37,), chunks=(8,)),
        _v2("3d", "<f4", shape=(7, 11, 5), chunks=(3, 4, 2)),
        _v2("3d-orderF-sep/", ">i4", shape=(7, 11, 5), chunks=(3, 4, 2), order="F",
            chunk_key_encoding={"name": "v2", "separator": "/"}),
        _v2("chunk-larger-than-array", "<i2", shape=(5, 6), chunks=(8, 8)),
        _v2("all-missing", "<f4", written="none", fill_value=NAN),
        _v2("dimension-names-attribute", "<f4",
            attributes={"_ARRAY_DIMENSIONS": ["y", "x"], "units": "K", "scale": [1, 2.5]}),
    ]
    return cases


def _shard(id: str, dtype: str, inner: tuple[int, ...], *, shape: tuple[int, ...] = (8, 10),
           **sharding: Any) -> Case:
    """A v3 case whose array->bytes codec is a ``ShardingCodec`` built here (shards of
    ``shape``, inner chunks of ``inner``), for index placements and codecs ``shards=`` cannot
    choose."""
    codec = ShardingCodec(chunk_shape=inner, **sharding)
    return _v3(id, dtype, chunks=shape, filters=None, compressors=None, serializer=codec)


def _v3_cases() -> list[Case]:
    cases = [_v3(f"dtype-{dtype}", dtype) for dtype in V3_DTYPES]
    cases += [
        _v3(f"big-{dtype}", dtype, serializer=BytesCodec(endian="big"), compressors=None)
        for dtype in V3_DTYPES
        if np.dtype(dtype).itemsize > 1
    ]
    cases += [
        _v3("string", "string"),
        _v3("string-fill-uncompressed", "string", fill_value="fill", compressors=None),
        _v3("string-gzip-all", "string", compressors=[GzipCodec(level=1)], written="all"),
    ]
    cases += [
        _v3("transpose", "int32", filters=[TransposeCodec(order=(1, 0))],
            compressors=[GzipCodec(level=1)]),
        _v3("transpose-3d-big", "float64", shape=(7, 11, 5), chunks=(3, 4, 2),
            filters=[TransposeCodec(order=(2, 0, 1))], serializer=BytesCodec(endian="big")),
        _v3("blosc-lz4-shuffle", "float32",
            compressors=[BloscCodec(cname="lz4", clevel=5, shuffle="shuffle")]),
        _v3("blosc-zstd-bitshuffle", "int64",
            compressors=[BloscCodec(cname="zstd", clevel=3, shuffle="bitshuffle")]),
        _v3("blosc-zlib-noshuffle", "uint8",
            compressors=[BloscCodec(cname="zlib", clevel=1, shuffle="noshuffle")]),
        _v3("gzip", "int16", compressors=[GzipCodec(level=1)]),
        _v3("zstd-checksum", "uint32", compressors=[ZstdCodec(level=3, checksum=True)]),
        _v3("crc32c", "complex64", compressors=[Crc32cCodec()]),
        _v3("gzip-crc32c", "float16", compressors=[GzipCodec(level=1), Crc32cCodec()]),
        _v3("no-compressor", "uint64", compressors=None),
    ]
    cases += [
        _v3("shard-end", "int32", chunks=(4, 5), shards=(8, 10),
            compressors=[ZstdCodec(level=1)]),
        _v3("shard-end-all", "float32", chunks=(4, 5), shards=(8, 10), written="all"),
        _shard("shard-start-big-gzip", "int16", (4, 5), index_location="start",
               codecs=[BytesCodec(endian="big"), GzipCodec(level=1)]),
        _shard("shard-nested", "uint16", (8, 5), shape=(16, 10), codecs=[
            ShardingCodec(chunk_shape=(4, 5), codecs=[BytesCodec(), ZstdCodec(level=1)],
                          index_location="start"),
        ]),
        _shard("shard-index-without-crc32c", "float64", (4, 5), index_codecs=[BytesCodec()]),
        _shard("shard-inner-transpose-crc32c", "int64", (4, 5),
               codecs=[TransposeCodec(order=(1, 0)), BytesCodec(), Crc32cCodec()]),
        _shard("shard-inner-numcodecs-delta", "int32", (4, 5),
               codecs=[znc.Delta(dtype="<i4"), BytesCodec(), znc.Zlib(level=1)]),
        _v3("shard-then-gzip", "int32", chunks=(8, 10), filters=None,
            compressors=[GzipCodec(level=1)], serializer=ShardingCodec(chunk_shape=(4, 5))),
        _v3("shard-3d", "float32", shape=(7, 11, 5), chunks=(2, 2, 2), shards=(4, 4, 2)),
        _v3("shard-nan-fill", "float64", chunks=(4, 5), shards=(8, 10), fill_value=NAN),
    ]
    cases += [
        _v3("key-default-dot", "int16", chunk_key_encoding={"name": "default", "separator": "."}),
        _v3("key-v2-dot", "int16", chunk_key_encoding={"name": "v2", "separator": "."}),
        _v3("key-v2-slash", "int16", chunk_key_encoding={"name": "v2", "separator": "/"}),
        _v3("dimension-names", "float32", dimension_names=("y", "x"),
            attributes={"units": "K", "scale": [1, 2.5]}),
        _v3("dimension-names-partial", "uint8", dimension_names=("y", None)),
    ]
    numcodec_cases: list[tuple[str, str, list | None, list | None, bool]] = [
        ("zlib", "int32", None, [znc.Zlib(level=1)], False),
        ("gzip", "uint16", None, [znc.GZip(level=1)], False),
        ("zstd", "float64", None, [znc.Zstd(level=1)], False),
        ("lz4", "int16", None, [znc.LZ4()], False),
        ("lzma", "float32", None, [znc.LZMA(preset=1)], False),
        ("bz2", "uint8", None, [znc.BZ2(level=1)], False),
        ("blosc", "int64", None, [znc.Blosc(cname="lz4", clevel=5, shuffle=1)], False),
        ("delta", "int32", [znc.Delta(dtype="<i4")], [znc.Zlib(level=1)], False),
        ("shuffle-zlib", "int64", None, [znc.Shuffle(elementsize=8), znc.Zlib(level=1)], False),
        ("crc32", "int32", None, [znc.CRC32()], False),
        ("adler32", "float32", None, [znc.Adler32()], False),
        ("fletcher32", "uint16", None, [znc.Fletcher32()], False),
        ("packbits", "bool", [znc.PackBits()], None, False),
        ("fixedscaleoffset", "float64",
         [znc.FixedScaleOffset(offset=1000, scale=10, dtype="<f8", astype="<i4")], None, True),
        ("quantize", "float32", [znc.Quantize(digits=3, dtype="<f4")], [ZstdCodec(level=1)], True),
        ("bitround", "float32", [znc.BitRound(keepbits=6)], None, True),
        ("astype", "float64", [znc.AsType(encode_dtype="<f4", decode_dtype="<f8")], None, True),
    ]
    for id, dtype, filters, compressors, lossy in numcodec_cases:
        cases.append(_v3(f"numcodecs-{id}", dtype, filters=filters, compressors=compressors,
                         lossy=lossy))
    fills: list[tuple[str, Any]] = [
        ("float32", NAN), ("float64", INF), ("float16", -INF), ("float64", -0.0),
        ("complex64", complex(NAN, 1.0)), ("complex128", complex(1.5, -2.0)),
        ("uint64", 2**64 - 1), ("int64", -(2**63)), ("bool", True), ("int8", -5),
    ]  # fmt: skip
    for dtype, fill in fills:
        cases.append(_v3(f"fill-{fill!r}-{dtype}", dtype, fill_value=fill))
    cases += [
        _v3("0d", "int16", shape=(), chunks=(), written="all"),
        _v3("0d-missing", "float32", shape=(), chunks=(), written="none", fill_value=2.5),
        _v3("1d", "uint32", shape=(37,), chunks=(8,)),
        _v3("3d", "complex128", shape=(7, 11, 5), chunks=(3, 4, 2)),
        _v3("chunk-larger-than-array", "int8", shape=(5, 6), chunks=(8, 8)),
        _v3("all-missing", "int32", written="none", fill_value=-1),
    ]
    return cases


CASES = _v2_cases() + _v3_cases()


def numpy_dtype(case: Case) -> np.dtype:
    """The numpy dtype of a case's values ("string" is the variable-length string type)."""
    return STRING if case.dtype == "string" else np.dtype(case.dtype)


def write_with_zarr(case: Case, root: str) -> tuple[zarr.Array, np.ndarray]:
    """Create the case's array at ``root/arr`` with zarr-python, write it, and return the
    zarr-python array and the values it should hold."""
    dtype = numpy_dtype(case)
    z = zarr.create_array(zarr.storage.LocalStore(root), name="arr", shape=case.shape,
                          chunks=case.chunks, dtype=dtype, zarr_format=case.zarr_format,
                          **case.options)
    expected = fill_array(case.shape, dtype, z.fill_value)
    data = sample(dtype, case.shape, specials=not case.lossy)
    region = {"all": (Ellipsis,), "part": part_region(case.shape), "none": None}[case.written]
    if region is not None:
        z[region] = data[region]
        expected[region] = data[region]
    return z, expected


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_geozarr_reads_what_zarr_python_wrote(case: Case, tmp_path: Any) -> None:
    root = str(tmp_path / "data.zarr")
    z, expected = write_with_zarr(case, root)
    reference = np.asarray(z[...])
    if not case.lossy:
        assert_same(reference, expected)  # the reference tool reads back what it wrote

    a = geozarr.open_array(root, path="arr")
    assert_same_array_metadata(a, z)
    assert_same(a[...], reference)
    for selection in selections(case.shape):
        assert_same(a[selection], reference[selection])


OUT_CASES = {"v2-dtype-<f8", "v2-orderF-sep/->c8", "v2-3d", "v3-dtype-int16", "v3-shard-end",
             "v3-transpose-3d-big"}


@pytest.mark.parametrize("case", [c for c in CASES if c.id in OUT_CASES], ids=lambda c: c.id)
def test_read_into_out_buffer(case: Case, tmp_path: Any) -> None:
    root = str(tmp_path / "data.zarr")
    z, _ = write_with_zarr(case, root)
    reference = np.asarray(z[...])
    a = geozarr.open_array(root, path="arr")
    for selection in selections(case.shape)[1:6]:
        want = reference[selection]
        out = np.empty(want.shape, dtype=a.dtype)
        result = a.read(selection, out=out)
        assert_same(out, want)
        assert_same(result, want)


@pytest.mark.parametrize("zarr_format", [2, 3])
def test_geozarr_walks_a_zarr_python_hierarchy(zarr_format: int, tmp_path: Any) -> None:
    """Groups, nested groups, arrays and attributes written by zarr-python, opened by path."""
    root = str(tmp_path / "tree.zarr")
    top = zarr.open_group(zarr.storage.LocalStore(root), mode="w", zarr_format=zarr_format)
    top.attrs.update({"title": "tree", "nested": {"a": [1, 2, None]}})
    sub = top.create_group("sub")
    sub.attrs["level"] = 1
    deep = sub.create_group("deep")
    temperature = top.create_array("temperature", shape=(9, 7), chunks=(4, 4), dtype="f4",
                                   attributes={"units": "K"})
    temperature[...] = sample("f4", (9, 7))
    counts = deep.create_array("counts", shape=(6,), chunks=(4,), dtype="u2")
    counts[...] = np.arange(6, dtype="u2")
    sub.create_array("empty", shape=(3, 3), chunks=(2, 2), dtype="i1", fill_value=-1)

    g = geozarr.open_group(root)
    assert g.zarr_format == zarr_format
    assert list(g) == ["sub", "temperature"]
    assert "sub" in g and "temperature" in g and "nope" not in g
    assert dict(g.attrs) == {"title": "tree", "nested": {"a": [1, 2, None]}}
    assert sorted(name for name, _ in g.groups()) == ["sub"]
    assert sorted(name for name, _ in g.arrays()) == ["temperature"]
    assert sorted(name for name, _ in g["sub"].members()) == ["deep", "empty"]
    assert dict(g["sub"].attrs) == {"level": 1}
    assert g["sub"].path == "sub"
    assert_same(g["temperature"][...], temperature[...])
    assert dict(g["temperature"].attrs) == {"units": "K"}
    assert_same(g["sub/deep/counts"][...], counts[...])
    assert_same(g["sub"]["deep"]["counts"][1:5], counts[1:5])
    assert_same(g["sub/empty"][...], np.full((3, 3), -1, dtype="i1"))
    assert_same(geozarr.open_array(root, path="sub/deep/counts")[...], counts[...])
    assert_same(geozarr.open_array(f"{root}/sub/deep/counts")[...], counts[...])
    assert isinstance(geozarr.open_node(root, path="sub/deep"), geozarr.Group)
    assert isinstance(geozarr.open_node(root, path="temperature"), geozarr.Array)


@pytest.mark.parametrize("zarr_format", [2, 3])
def test_geozarr_reads_a_root_array(zarr_format: int, tmp_path: Any) -> None:
    """An array stored at the root of a store (no enclosing group)."""
    root = str(tmp_path / "root.zarr")
    data = sample("<i8", (10, 9), seed=3)
    z = zarr.create_array(zarr.storage.LocalStore(root), shape=data.shape, chunks=(4, 4),
                          dtype=data.dtype, zarr_format=zarr_format)
    z[...] = data
    a = geozarr.open_array(root)
    assert a.path == ""
    assert_same_array_metadata(a, z)
    assert_same(a[::-1, 2:7], data[::-1, 2:7])

