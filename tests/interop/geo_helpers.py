"""Helpers for the geo interop tests: open a dataset in GDAL and in geozarr, compare them.

The geo acceptance tests read the same Zarr dataset with geozarr's raster layer
(``geozarr.open_raster``) and with GDAL through rasterio (``ZARR:"path":/array``), and compare
what a rasterio user sees: CRS, transform, bounds, nodata, band count, every pixel, the band
tags of extra dimensions, windowed, decimated and masked reads, and the coordinate helpers.
Where GDAL 3.10 cannot read a case, a GeoTIFF "twin" written by GDAL with the expected
georeferencing plays the reference instead (:func:`geotiff_twin`).
"""

from __future__ import annotations

import importlib.util
import math
import sys
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

import cftime
import numpy as np
import pytest
import rasterio
from affine import Affine
from rasterio.crs import CRS
from rasterio.errors import NotGeoreferencedWarning as RasterioNotGeoreferencedWarning
from rasterio.io import DatasetReader, MemoryFile
from rasterio.windows import Window

import geozarr
from geozarr.errors import GeoreferencingWarning, NotGeoreferencedWarning
from geozarr.storage import ByteRange, DirectoryStore

REPO_ROOT = Path(__file__).resolve().parents[2]
GEO_FIXTURES = REPO_ROOT / "fixtures" / "data" / "geo"

#: Metadata documents; every other key a store is asked for is a chunk (or a shard).
METADATA_NAMES = frozenset({"zarr.json", ".zarray", ".zattrs", ".zgroup", ".zmetadata"})


def _load_generator() -> ModuleType:
    """``fixtures/generate_geo.py``: the hand-written fixtures and what they must read as."""
    location = REPO_ROOT / "fixtures" / "generate_geo.py"
    spec = importlib.util.spec_from_file_location("fixtures_generate_geo", location)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while being built
    spec.loader.exec_module(module)
    return module


generate_geo = _load_generator()


# -- opening ----------------------------------------------------------------------------------
def connection(path: Path | str, array: str | None = None) -> str:
    """The GDAL connection string ``ZARR:"path":/array`` (``ZARR:"path"`` without an array)."""
    text = f'ZARR:"{path}"'
    if array is None:
        return text
    return f"{text}:{array if array.startswith('/') else '/' + array}"


@contextmanager
def gdal_open(path: Path | str, array: str | None = None, **options: str
              ) -> Iterator[DatasetReader]:
    """The dataset GDAL opens for ``array`` of the Zarr at ``path`` (``options`` are GDAL
    open options such as ``DIM_X``). rasterio's NotGeoreferencedWarning is silenced: whether
    a dataset is georeferenced is what the tests compare."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RasterioNotGeoreferencedWarning)
        with rasterio.open(connection(path, array), **options) as dataset:
            yield dataset


def gdal_subdatasets(path: Path | str) -> list[str]:
    """The SUBDATASET_n_NAME values GDAL sets on ``ZARR:"path"``, in GDAL's spelling (rasterio's
    ``subdatasets`` property drops the quotes around the path)."""
    with gdal_open(path) as dataset:
        tags = dataset.tags(ns="SUBDATASETS")
    return [value for key, value in tags.items() if key.endswith("_NAME")]


def open_geozarr(target: Any, **kwargs: Any) -> tuple[Any, list[warnings.WarningMessage]]:
    """``geozarr.open_raster(target, **kwargs)`` and the warnings it emits while opening and
    resolving the georeferencing (which may happen lazily, on first access)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        reader = geozarr.open_raster(target, **kwargs)
        _ = (reader.crs, reader.transform, reader.bounds, reader.nodata)
    return reader, list(caught)


def georeferencing_warnings(caught: Sequence[warnings.WarningMessage]) -> list[str]:
    """The messages of the GeoreferencingWarnings (NotGeoreferencedWarning included) caught."""
    return [str(w.message) for w in caught if issubclass(w.category, GeoreferencingWarning)]


def assert_warnings(caught: Sequence[warnings.WarningMessage], expectation: str) -> None:
    """Check the georeferencing warnings against an expectation of ``generate_geo``.

    "none": no GeoreferencingWarning at all; "GeoreferencingWarning": at least one, and no
    NotGeoreferencedWarning (the array is georeferenced); "NotGeoreferencedWarning": at least
    one of those; "any": not checked.
    """
    not_georeferenced = any(issubclass(w.category, NotGeoreferencedWarning) for w in caught)
    messages = georeferencing_warnings(caught)
    if expectation == generate_geo.NO_WARNING:
        assert not messages, f"unexpected georeferencing warnings: {messages}"
    elif expectation == generate_geo.GEOREFERENCING_WARNING:
        assert messages, "expected a GeoreferencingWarning, got none"
        assert not not_georeferenced, messages
    elif expectation == generate_geo.NOT_GEOREFERENCED:
        assert not_georeferenced, (
            f"expected a NotGeoreferencedWarning, got {messages}")
    else:
        assert expectation == generate_geo.ANY_WARNING, expectation


# -- comparing --------------------------------------------------------------------------------
def assert_same_crs(got: Any, expected: Any) -> None:
    """``got`` is a rasterio CRS equal to ``expected`` (anything CRS.from_user_input takes),
    or both are None. Equal means CRS equality, else the same EPSG code."""
    if expected is None:
        assert got is None, f"expected no CRS, got {got}"
        return
    assert isinstance(got, CRS), f"crs should be a rasterio CRS, got {type(got).__name__}"
    reference = expected if isinstance(expected, CRS) else CRS.from_user_input(expected)
    same = got == reference or (reference.to_epsg() is not None
                                and got.to_epsg() == reference.to_epsg())
    assert same, f"crs {got.to_string()} != {reference.to_string()}"


def assert_same_transform(got: Any, expected: Any) -> None:
    """``got`` is an Affine almost equal to ``expected`` (an Affine or 6+ coefficients)."""
    assert isinstance(got, Affine), f"transform should be an Affine, got {type(got).__name__}"
    assert tuple(got)[:6] == pytest.approx(tuple(expected)[:6], rel=1e-12, abs=1e-9), (
        f"transform {tuple(got)[:6]} != {tuple(expected)[:6]}")


def same_nodata(got: Any, expected: Any) -> bool:
    """Whether two nodata values are equal, NaN equal to NaN, None only to None."""
    if got is None or expected is None:
        return got is None and expected is None
    if isinstance(expected, float) and math.isnan(expected):
        return isinstance(got, (float, np.floating)) and math.isnan(got)
    return bool(got == expected)


def assert_same_pixels(got: Any, expected: Any) -> None:
    """Same shape, dtype and values (NaN equal to NaN); masked arrays also compare masks."""
    got_array, expected_array = np.asarray(got), np.asarray(expected)
    assert got_array.shape == expected_array.shape, (
        f"shape {got_array.shape} != {expected_array.shape}")
    assert got_array.dtype == expected_array.dtype, (
        f"dtype {got_array.dtype} != {expected_array.dtype}")
    if np.ma.isMaskedArray(expected):
        assert np.ma.isMaskedArray(got), "a masked read should return a numpy.ma array"
        np.testing.assert_array_equal(np.ma.getmaskarray(got), np.ma.getmaskarray(expected))
        keep = ~np.ma.getmaskarray(expected)
        np.testing.assert_array_equal(np.asarray(got)[keep], np.asarray(expected)[keep])
        return
    np.testing.assert_array_equal(got_array, expected_array)


def assert_same_georeferencing(reader: Any, reference: DatasetReader) -> None:
    """Sizes, dtypes, CRS, transform, bounds, resolution and nodata of ``reader`` equal the
    reference dataset's."""
    assert (reader.width, reader.height, reader.count) == (
        reference.width, reference.height, reference.count)
    assert tuple(reader.shape) == tuple(reference.shape)
    assert tuple(reader.indexes) == tuple(reference.indexes)
    assert tuple(reader.dtypes) == tuple(reference.dtypes)
    assert_same_crs(reader.crs, reference.crs)
    assert_same_transform(reader.transform, reference.transform)
    assert tuple(reader.bounds) == pytest.approx(tuple(reference.bounds), rel=1e-12, abs=1e-9)
    assert tuple(reader.res) == pytest.approx(tuple(reference.res), rel=1e-12)
    assert same_nodata(reader.nodata, reference.nodata), (
        f"nodata {reader.nodata!r} != {reference.nodata!r}")
    assert len(reader.nodatavals) == reference.count
    assert all(same_nodata(ours, theirs)
               for ours, theirs in zip(reader.nodatavals, reference.nodatavals)), (
        f"nodatavals {reader.nodatavals!r} != {reference.nodatavals!r}")


def _cf_time(value: str, units: str) -> np.datetime64:
    """The instant a CF time number ``value`` in ``units`` ("days since ...") stands for."""
    instant = cftime.num2date(float(value), units, calendar="standard",
                              only_use_cftime_datetimes=False, only_use_python_datetimes=True)
    return np.datetime64(instant, "ns")


def _same_tag_value(got: str, expected: str) -> bool:
    try:
        return float(got) == float(expected)
    except ValueError:
        return got == expected


def assert_same_band_tags(reader: Any, reference: DatasetReader) -> None:
    """The DIM_<name>_INDEX / DIM_<name>_VALUE tags GDAL sets on each band are on ours too.

    Numbers compare as numbers ("1000" equals "1000.0"). For a CF time dimension (GDAL also
    sets DIM_<name>_UNIT "<unit> since <epoch>") GDAL 3.10 reports the raw number ("31") where
    the geozarr contract gives ISO 8601: both are turned into the instant they stand for.
    """
    for band in reference.indexes:
        theirs, ours = reference.tags(band), reader.tags(band)
        for key, value in theirs.items():
            if not key.startswith("DIM_") or not key.endswith(("_INDEX", "_VALUE")):
                continue
            assert key in ours, f"band {band}: tag {key} missing from {ours}"
            dim = key[len("DIM_"):].rsplit("_", 1)[0]
            units = theirs.get(f"DIM_{dim}_UNIT", "")
            if key.endswith("_VALUE") and " since " in units:
                got = np.datetime64(ours[key].rstrip("Z"), "ns")
                assert got == _cf_time(value, units), (
                    f"band {band}: {key}={ours[key]!r}, GDAL {value!r} {units}")
            else:
                assert _same_tag_value(ours[key], value), (
                    f"band {band}: {key}={ours[key]!r}, GDAL {value!r}")


def assert_matches_gdal(reader: Any, reference: DatasetReader) -> None:
    """Everything the acceptance criteria list: georeferencing, every pixel, band tags."""
    assert_same_georeferencing(reader, reference)
    assert_same_pixels(reader.read(), reference.read())
    assert_same_band_tags(reader, reference)


# -- reads and coordinate helpers -------------------------------------------------------------
def windows_for(height: int, width: int) -> list[Window]:
    """Windows to read: the whole raster, one across chunk borders, the bottom-right corner
    (partial edge chunks), one pixel, and a one-row strip."""
    return [
        Window(0, 0, width, height),
        Window(3, 2, min(14, width - 3), min(9, height - 2)),
        Window(width - 5, height - 4, 5, 4),
        Window(1, 1, 1, 1),
        Window(0, height // 2, width, 1),
    ]


def out_shapes_for(height: int, width: int) -> list[tuple[int, int]]:
    """Output shapes for decimated (and enlarged) reads: halves, odd ratios, doubles."""
    return [(max(1, height // 2), max(1, width // 3)), (3, 7), (height * 2, width * 2),
            (height, 1)]


def assert_same_reads(reader: Any, reference: DatasetReader) -> None:
    """Windowed, band-subset, decimated (nearest) and masked reads equal the reference's."""
    height, width = reference.height, reference.width
    bands = list(reference.indexes)
    for window in windows_for(height, width):
        assert_same_pixels(reader.read(window=window), reference.read(window=window))
        assert_same_pixels(reader.read(bands[-1], window=window),
                           reference.read(bands[-1], window=window))
    for rows, cols in out_shapes_for(height, width):
        assert_same_pixels(reader.read(out_shape=(len(bands), rows, cols)),
                           reference.read(out_shape=(len(bands), rows, cols)))
        assert_same_pixels(reader.read(1, out_shape=(rows, cols)),
                           reference.read(1, out_shape=(rows, cols)))
    inner = windows_for(height, width)[1]
    assert_same_pixels(reader.read(1, window=inner, out_shape=(4, 3)),
                       reference.read(1, window=inner, out_shape=(4, 3)))
    assert_same_pixels(reader.read(masked=True), reference.read(masked=True))
    assert_same_pixels(reader.read(1, masked=True, window=inner),
                       reference.read(1, masked=True, window=inner))
    if len(bands) > 1:
        subset = bands[::-1][:2]
        assert_same_pixels(reader.read(subset), reference.read(subset))


def assert_same_coordinate_helpers(reader: Any, reference: DatasetReader) -> None:
    """``xy``, ``index``, ``window``, ``window_transform`` and ``window_bounds`` equal
    rasterio's."""
    height, width = reference.height, reference.width
    cells = [(0, 0), (height - 1, width - 1), (height // 2, width // 3), (1, width - 2)]
    for row, col in cells:
        assert tuple(reader.xy(row, col)) == pytest.approx(tuple(reference.xy(row, col)))
        assert tuple(reader.xy(row, col, offset="ul")) == pytest.approx(
            tuple(reference.xy(row, col, offset="ul")))
        x, y = reference.xy(row, col)
        assert tuple(reader.index(x, y)) == tuple(reference.index(x, y))
    left, bottom, right, top = reference.bounds
    for x, y in [(left, top), ((left + right) / 2, (bottom + top) / 2),
                 (left + (right - left) * 0.37, bottom + (top - bottom) * 0.81)]:
        assert tuple(reader.index(x, y)) == tuple(reference.index(x, y))
    for box in [tuple(reference.bounds),
                reference.window_bounds(Window(2, 3, 5, 4))]:
        ours, theirs = reader.window(*box), reference.window(*box)
        assert isinstance(ours, Window)
        assert (ours.col_off, ours.row_off, ours.width, ours.height) == pytest.approx(
            (theirs.col_off, theirs.row_off, theirs.width, theirs.height), abs=1e-9)
    for window in windows_for(height, width):
        assert_same_transform(reader.window_transform(window),
                              reference.window_transform(window))
        assert tuple(reader.window_bounds(window)) == pytest.approx(
            tuple(reference.window_bounds(window)))


# -- references that GDAL cannot provide ------------------------------------------------------
@contextmanager
def geotiff_twin(values: np.ndarray, *, crs: Any, transform: Any, nodata: Any,
                 ) -> Iterator[DatasetReader]:
    """An in-memory GeoTIFF written by GDAL with ``values`` (bands, rows, cols) and the given
    georeferencing: the reference for rasterio's semantics (bounds, windows, decimated and
    masked reads) where GDAL 3.10 cannot read the Zarr itself."""
    values = values if values.ndim == 3 else values[np.newaxis]
    profile = {"driver": "GTiff", "count": values.shape[0], "height": values.shape[1],
               "width": values.shape[2], "dtype": values.dtype.name, "nodata": nodata,
               "transform": Affine(*transform[:6]) if transform is not None else Affine.identity(),
               "crs": None if crs is None else CRS.from_user_input(crs)}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RasterioNotGeoreferencedWarning)
        with MemoryFile() as memory:
            with memory.open(**profile) as dataset:
                dataset.write(values)
            with memory.open() as dataset:
                yield dataset


def raster_view(values: np.ndarray, dims: Sequence[str], y_dim: str, x_dim: str) -> np.ndarray:
    """The (bands, rows, cols) a raster reader shows of ``values`` stored with ``dims``: the
    spatial axes last, every combination of the other dimensions a band, in C order."""
    order = [i for i, name in enumerate(dims) if name not in (y_dim, x_dim)]
    order += [list(dims).index(y_dim), list(dims).index(x_dim)]
    moved = np.transpose(values, order)
    return moved.reshape((-1, *moved.shape[-2:]))


# -- counting chunk reads ---------------------------------------------------------------------
class CountingStore(DirectoryStore):
    """A read-only directory store that records every key read, whole or by byte ranges."""

    def __init__(self, root: Path | str) -> None:
        super().__init__(root, read_only=True)
        self.keys_read: list[str] = []
        self.whole_reads: list[str] = []
        self.ranges_read: list[tuple[str, ByteRange]] = []

    def get(self, key: str) -> bytes | None:
        self.keys_read.append(key)
        self.whole_reads.append(key)
        return super().get(key)

    def get_ranges(self, key: str, ranges: Sequence[ByteRange]) -> list[bytes] | None:
        self.keys_read.append(key)
        self.ranges_read.extend((key, byte_range) for byte_range in ranges)
        return super().get_ranges(key, ranges)

    @staticmethod
    def _chunks_of(keys: Sequence[str], array: str) -> set[str]:
        prefix = array.strip("/") + "/"
        return {key for key in keys
                if key.startswith(prefix) and key.rsplit("/", 1)[-1] not in METADATA_NAMES}

    def chunk_keys(self, array: str) -> set[str]:
        """The chunk (or shard) keys of ``array`` (a path relative to the root) read so far:
        every key under the array's folder but its metadata documents (an array has no child
        nodes)."""
        return self._chunks_of(self.keys_read, array)

    def whole_chunk_reads(self, array: str) -> set[str]:
        """The chunk (or shard) keys of ``array`` read whole, not by byte ranges."""
        return self._chunks_of(self.whole_reads, array)

    def reset(self) -> None:
        self.keys_read.clear()
        self.whole_reads.clear()
        self.ranges_read.clear()
