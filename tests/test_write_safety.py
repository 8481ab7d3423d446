"""Failed writes damage nothing: every refused or failed write leaves the store as it was.

Each test takes a snapshot of every file's bytes before the write and compares after. The
cases: a value of the wrong shape (ValueShapeError), an out-of-bounds selection
(ArrayIndexError), any write through a read-only array or group (ReadOnlyError), creating a
node where one exists (NodeExistsError), a store that fails part-way through a multi-chunk
write (every chunk is then old or new, each still decodes, and no temporary file is left),
and attributes that cannot be stored. Also: a chunk that ends up all fill value is not
stored, and the error classes derive from GeoZarrError and the matching built-in.
"""

from __future__ import annotations

import builtins
import inspect
import json
import os
import struct
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import zarr

import geozarr
import geozarr.errors
from geozarr.errors import (
    ArrayIndexError,
    GeoZarrError,
    NodeExistsError,
    ReadOnlyError,
    StoreError,
    ValueShapeError,
)

SHAPE = (7, 15)
CHUNKS = (4, 4)  # a 2 x 4 grid whose last row and column stick out of the array
SHARDS = (8, 8)  # a 1 x 2 grid of shards of 2 x 2 inner chunks
OLD = (np.arange(105, dtype="int16").reshape(SHAPE) * 3 + 1).astype("int16")  # no 0 (fill)
NEW = (-OLD).astype("int16")
METADATA_NAMES = {".zarray", ".zgroup", ".zattrs", ".zmetadata", "zarr.json"}
KINDS = ["v2", "v3", "v3_sharded"]
MISSING = 2**64 - 1


def create(root: str, kind: str, *, name: str = "a", data: np.ndarray | None = OLD,
           **kwargs: Any) -> Any:
    """Create the int16 array ``name`` of ``kind`` and write ``data`` into it."""
    options: dict[str, Any] = {"shape": SHAPE, "chunks": CHUNKS, "dtype": "int16",
                               "fill_value": 0, "zarr_format": 2 if kind == "v2" else 3}
    if kind == "v3_sharded":
        options["shards"] = SHARDS
    options.update(kwargs)
    array = geozarr.create_array(root, name=name, **options)
    if data is not None:
        array[...] = data
    return array


def unit_key(kind: str, coords: tuple[int, int], name: str = "a") -> str:
    """The key of the stored unit (chunk, or shard when sharded) at ``coords``."""
    if kind == "v2":
        return f"{name}/{coords[0]}.{coords[1]}"
    return f"{name}/c/{coords[0]}/{coords[1]}"


def unit_shape(kind: str) -> tuple[int, int]:
    return SHARDS if kind == "v3_sharded" else CHUNKS


def snapshot(root: str) -> dict[str, bytes]:
    """Every file's bytes under ``root``, by "/"-separated relative path."""
    found: dict[str, bytes] = {}
    for folder, _, files in os.walk(root):
        for name in files:
            path = os.path.join(folder, name)
            found[os.path.relpath(path, root).replace(os.sep, "/")] = Path(path).read_bytes()
    return found


def data_keys(files: dict[str, bytes]) -> set[str]:
    return {key for key in files if key.rsplit("/", 1)[-1] not in METADATA_NAMES}


def metadata_of(files: dict[str, bytes]) -> dict[str, bytes]:
    return {k: v for k, v in files.items() if k.rsplit("/", 1)[-1] in METADATA_NAMES}


@pytest.fixture(params=KINDS)
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def root(tmp_path: Path) -> str:
    return str(tmp_path / "store.zarr")


def test_fixture_layout(root: str, kind: str) -> None:
    """The control for every test here: the array holds OLD in the expected files."""
    create(root, kind)
    files = snapshot(root)
    grid = [(i, j) for i in range(-(-SHAPE[0] // unit_shape(kind)[0]))
            for j in range(-(-SHAPE[1] // unit_shape(kind)[1]))]
    assert data_keys(files) == {unit_key(kind, c) for c in grid}
    np.testing.assert_array_equal(geozarr.open_array(root, path="a")[...], OLD)
    np.testing.assert_array_equal(zarr.open_array(root, path="a", mode="r")[...], OLD)


# -- values of the wrong shape, selections out of bounds ---------------------------------

WRONG_SHAPES: dict[str, tuple[Any, np.ndarray]] = {
    "block_3x3_into_2x2": ((slice(0, 2), slice(0, 2)), np.ones((3, 3), "int16")),
    "block_4x5_into_4x4": ((slice(0, 4), slice(0, 4)), np.ones((4, 5), "int16")),
    "all_missing_a_column": ((Ellipsis,), np.ones((7, 14), "int16")),
    "all_extra_dimension": ((Ellipsis,), np.ones((2, 7, 15), "int16")),
    "row_of_3_into_15": ((0,), np.ones(3, "int16")),
    "vector_into_scalar": ((0, 0), np.ones(2, "int16")),
    "strided_6_into_8": ((0, slice(None, None, 2)), np.ones(6, "int16")),
}


@pytest.mark.parametrize(("selection", "value"), WRONG_SHAPES.values(), ids=WRONG_SHAPES)
def test_wrong_shape_write_changes_nothing(root: str, kind: str, selection: Any,
                                           value: np.ndarray) -> None:
    array = create(root, kind)
    before = snapshot(root)
    with pytest.raises(ValueShapeError) as info:
        array[selection] = value
    assert str(info.value)
    assert snapshot(root) == before
    np.testing.assert_array_equal(geozarr.open_array(root, path="a")[...], OLD)


OUT_OF_BOUNDS: dict[str, Any] = {
    "row_7": (7, 0),
    "column_15": (0, 15),
    "row_minus_8": (-8, 0),
    "too_many_indices": (0, 0, 0),
}


@pytest.mark.parametrize("selection", OUT_OF_BOUNDS.values(), ids=OUT_OF_BOUNDS)
def test_out_of_bounds_write_changes_nothing(root: str, kind: str, selection: Any) -> None:
    array = create(root, kind)
    before = snapshot(root)
    with pytest.raises(ArrayIndexError):
        array[selection] = 5
    assert snapshot(root) == before


def test_broadcast_write_touches_only_its_chunk(root: str, kind: str) -> None:
    """The control: a value that broadcasts is written, to the covered chunk only."""
    array = create(root, kind)
    before = snapshot(root)
    array[0:2, 0:4] = np.full((1, 4), 9, "int16")
    after = snapshot(root)
    changed = {key for key in after if after[key] != before.get(key)} | (before.keys()
                                                                           - after.keys())
    assert changed == {unit_key(kind, (0, 0))}
    expected = OLD.copy()
    expected[0:2, 0:4] = 9
    np.testing.assert_array_equal(geozarr.open_array(root, path="a")[...], expected)


# -- read-only -------------------------------------------------------------------------

READ_ONLY_ARRAY_WRITES: dict[str, Callable[[Any], None]] = {
    "setitem": lambda a: a.__setitem__((0, 0), 5),
    "setitem_all": lambda a: a.__setitem__(Ellipsis, NEW),
    "setitem_same_value": lambda a: a.__setitem__((0, 0), OLD[0, 0]),
    "attrs_set": lambda a: a.attrs.__setitem__("k", 1),
    "attrs_update": lambda a: a.attrs.update({"k": 1}),
}


@pytest.mark.parametrize("write", READ_ONLY_ARRAY_WRITES.values(), ids=READ_ONLY_ARRAY_WRITES)
@pytest.mark.parametrize("via", ["open_array", "group_getitem", "open"])
def test_read_only_array(root: str, kind: str, via: str,
                         write: Callable[[Any], None]) -> None:
    create(root, kind)
    before = snapshot(root)
    if via == "open_array":
        array = geozarr.open_array(root, path="a", mode="r")
    elif via == "open":
        array = geozarr.open_node(root, path="a", mode="r")
    else:
        array = geozarr.open_group(root, mode="r")["a"]
    assert array.read_only
    with pytest.raises(ReadOnlyError) as info:
        write(array)
    assert isinstance(info.value, PermissionError)
    assert snapshot(root) == before


READ_ONLY_GROUP_WRITES: dict[str, Callable[[Any], None]] = {
    "create_group": lambda g: g.create_group("new"),
    "require_group": lambda g: g.require_group("new"),
    "create_array": lambda g: g.create_array("new", shape=(2,), dtype="int8"),
    "create_array_overwrite": lambda g: g.create_array("a", shape=(2,), dtype="int8",
                                                        overwrite=True),
    "attrs_set": lambda g: g.attrs.__setitem__("k", 1),
}


@pytest.mark.parametrize("write", READ_ONLY_GROUP_WRITES.values(), ids=READ_ONLY_GROUP_WRITES)
def test_read_only_group(root: str, kind: str, write: Callable[[Any], None]) -> None:
    create(root, kind)
    before = snapshot(root)
    group = geozarr.open_group(root, mode="r")
    with pytest.raises(ReadOnlyError):
        write(group)
    assert snapshot(root) == before


def test_read_only_consolidate(root: str, kind: str) -> None:
    """Consolidating is a write: a store opened read-only refuses it."""
    create(root, kind)
    before = snapshot(root)
    store = geozarr.open_group(root, mode="r").store
    with pytest.raises(ReadOnlyError):
        geozarr.consolidate_metadata(store)
    assert snapshot(root) == before


# -- creating where a node exists ------------------------------------------------------


def _create_same(root: str) -> None:
    create(root, "v3", data=None)


def _create_other_format(root: str) -> None:
    create(root, "v2", data=None)


def _create_array_over_group(root: str) -> None:
    geozarr.create_array(root, name="g", shape=(2,), dtype="int8")


def _group_create_group_over_array(root: str) -> None:
    geozarr.open_group(root, mode="r+").create_group("a")


def _group_create_array_over_group(root: str) -> None:
    geozarr.open_group(root, mode="r+").create_array("g", shape=(2,), dtype="int8")


def _create_array_inside_array(root: str) -> None:
    geozarr.create_array(root, name="a/b", shape=(2,), dtype="int8")


def _open_group_w_minus(root: str) -> None:
    geozarr.open_group(root, mode="w-")


def _open_group_w_minus_on_array(root: str) -> None:
    geozarr.open_group(root, path="a", mode="w-")


EXISTING: dict[str, Callable[[str], None]] = {
    "create_array_same_name": _create_same,
    "create_array_other_format": _create_other_format,
    "create_array_over_group": _create_array_over_group,
    "group_create_group_over_array": _group_create_group_over_array,
    "group_create_array_over_group": _group_create_array_over_group,
    "create_array_inside_array": _create_array_inside_array,
    "open_group_w-_on_store": _open_group_w_minus,
    "open_group_w-_on_array": _open_group_w_minus_on_array,
}


@pytest.mark.parametrize("attempt", EXISTING.values(), ids=EXISTING)
def test_create_where_node_exists(root: str, kind: str, attempt: Callable[[str], None]) -> None:
    create(root, kind)
    geozarr.open_group(root, mode="r+").create_group("g")
    before = snapshot(root)
    with pytest.raises(NodeExistsError) as info:
        attempt(root)
    assert isinstance(info.value, FileExistsError)
    assert snapshot(root) == before
    np.testing.assert_array_equal(geozarr.open_array(root, path="a")[...], OLD)


def test_overwrite_replaces_and_leaves_no_stale_chunk(root: str, kind: str) -> None:
    """The control: overwrite=True does replace, and no chunk of the old array survives
    (an old chunk left behind would be read as data of the new array)."""
    create(root, kind)
    fresh = create(root, kind, data=None, overwrite=True)
    assert data_keys(snapshot(root)) == set()
    np.testing.assert_array_equal(fresh[...], np.zeros(SHAPE, "int16"))
    np.testing.assert_array_equal(geozarr.open_array(root, path="a")[...],
                                  np.zeros(SHAPE, "int16"))


# -- a store that fails part-way -------------------------------------------------------


def regions(kind: str) -> list[tuple[slice, slice]]:
    """The region of the array each stored unit (chunk or shard) holds."""
    rows, cols = unit_shape(kind)
    return [(slice(i, i + rows), slice(j, j + cols))
            for i in range(0, SHAPE[0], rows) for j in range(0, SHAPE[1], cols)]


def assert_each_unit_old_or_new(root: str, kind: str, old: np.ndarray) -> None:
    """Every chunk (shard) decodes, with geozarr and with zarr-python, to all-old or
    all-new values."""
    for values in (geozarr.open_array(root, path="a")[...],
                   zarr.open_array(root, path="a", mode="r")[...]):
        for region in regions(kind):
            got = values[region]
            assert np.array_equal(got, old[region]) or np.array_equal(got, NEW[region]), (
                f"region {region} is neither all old nor all new: {got}")


@pytest.mark.parametrize("fail_at", [1, 2, -1], ids=["first", "second", "last"])
def test_store_failing_part_way(root: str, kind: str, fail_at: int,
                                monkeypatch: pytest.MonkeyPatch) -> None:
    """The store's backend write raises on one call of a whole-array write (the first, the
    second or the last of the one call per chunk or shard)."""
    array = create(root, kind)
    if fail_at < 0:
        fail_at += len(regions(kind)) + 1
    before = snapshot(root)
    store = array.store
    real_set = store._set
    calls = 0
    lock = threading.Lock()

    def failing_set(key: str, value: bytes) -> None:
        nonlocal calls
        with lock:
            calls += 1
            fail = calls == fail_at
        if fail:
            raise StoreError(f"injected failure writing {key!r}")
        real_set(key, value)

    monkeypatch.setattr(store, "_set", failing_set)
    with pytest.raises(GeoZarrError):
        array[...] = NEW
    monkeypatch.undo()
    after = snapshot(root)
    assert after.keys() == before.keys()
    assert metadata_of(after) == metadata_of(before)
    assert_each_unit_old_or_new(root, kind, OLD)


def test_real_write_failure_leaves_no_temp_file(root: str, kind: str) -> None:
    """A chunk whose file cannot be written (its path is a folder) fails the write with a
    StoreError; the other chunks are old or new and no temporary file is left behind."""
    create(root, kind)
    blocked = unit_key(kind, (1, 3) if kind != "v3_sharded" else (0, 1))
    blocked_path = Path(root) / blocked
    blocked_path.unlink()
    blocked_path.mkdir()
    (blocked_path / "keep").write_bytes(b"not a chunk")
    old = OLD.copy()
    region = regions(kind)[-1]
    old[region] = 0  # a folder where a chunk should be reads as a missing chunk
    before = snapshot(root)
    array = geozarr.open_array(root, path="a", mode="r+")
    with pytest.raises(StoreError) as info:
        array[...] = NEW
    assert blocked in str(info.value)
    after = snapshot(root)
    assert after.keys() == before.keys(), f"left behind: {sorted(after.keys() - before.keys())}"
    assert metadata_of(after) == metadata_of(before)
    values = geozarr.open_array(root, path="a")[...]
    np.testing.assert_array_equal(values[region], old[region])
    for other in regions(kind)[:-1]:
        assert np.array_equal(values[other], OLD[other]) or np.array_equal(values[other],
                                                                           NEW[other])


@pytest.mark.parametrize("value", [object(), {1, 2}, b"bytes", np.int16],
                         ids=["object", "set", "bytes", "type"])
@pytest.mark.parametrize("node", ["array", "group"])
def test_unstorable_attribute_keeps_metadata(root: str, kind: str, node: str,
                                             value: Any) -> None:
    """An attribute JSON cannot hold is refused before the metadata document is touched
    (v3 keeps attributes inside zarr.json: a half-written one loses the array)."""
    create(root, kind)
    before = snapshot(root)
    target = (geozarr.open_array(root, path="a", mode="r+") if node == "array"
              else geozarr.open_group(root, mode="r+"))
    with pytest.raises(GeoZarrError):
        target.attrs["bad"] = value
    assert snapshot(root) == before
    assert "bad" not in geozarr.open_array(root, path="a").attrs
    np.testing.assert_array_equal(geozarr.open_array(root, path="a")[...], OLD)


# -- chunks that end up all fill value -------------------------------------------------


def test_fill_write_removes_the_unit(root: str, kind: str) -> None:
    array = create(root, kind)
    before = snapshot(root)
    first = regions(kind)[0]
    array[first] = 0
    after = snapshot(root)
    assert unit_key(kind, (0, 0)) not in after
    assert {k: v for k, v in before.items() if k != unit_key(kind, (0, 0))} == after
    expected = OLD.copy()
    expected[first] = 0
    np.testing.assert_array_equal(geozarr.open_array(root, path="a")[...], expected)


def test_fill_written_in_two_steps_removes_the_unit(root: str, kind: str) -> None:
    array = create(root, kind)
    rows, cols = unit_shape(kind)
    half = rows // 2
    array[0:half, 0:cols] = 0
    assert unit_key(kind, (0, 0)) in snapshot(root)
    array[half:rows, 0:cols] = 0
    assert unit_key(kind, (0, 0)) not in snapshot(root)


def test_fill_write_removes_edge_unit(root: str, kind: str) -> None:
    """Only the part inside the array counts: the edge chunk's padding is not data."""
    array = create(root, kind)
    last = regions(kind)[-1]
    array[last] = 0
    key = unit_key(kind, (1, 3) if kind != "v3_sharded" else (0, 1))
    assert key not in snapshot(root)


@pytest.mark.parametrize("fill", [0, 5, -7])
def test_fill_write_to_empty_array_stores_nothing(root: str, kind: str, fill: int) -> None:
    array = create(root, kind, data=None, fill_value=fill)
    array[...] = fill
    array[0:3, 2:9] = np.full((3, 7), fill, "int16")
    assert data_keys(snapshot(root)) == set()
    np.testing.assert_array_equal(geozarr.open_array(root, path="a")[...],
                                  np.full(SHAPE, fill, "int16"))


def test_nan_fill_chunks_are_not_stored(root: str, kind: str) -> None:
    """NaN never equals NaN, yet an all-NaN chunk of a NaN-filled array is all fill."""
    array = create(root, kind, data=None, dtype="float32", fill_value=float("nan"))
    array[...] = np.nan
    assert data_keys(snapshot(root)) == set()
    array[0:2, 0:2] = 1.5
    assert data_keys(snapshot(root)) == {unit_key(kind, (0, 0))}
    array[0:2, 0:2] = np.nan
    assert data_keys(snapshot(root)) == set()
    assert np.isnan(geozarr.open_array(root, path="a")[...]).all()


def shard_index(root: str, key: str) -> list[tuple[int, int]]:
    """The (offset, nbytes) entries of the shard at ``key``, read as the spec lays them out."""
    meta = json.loads((Path(root) / "a" / "zarr.json").read_bytes())
    (codec,) = meta["codecs"]
    config = codec["configuration"]
    count = int(np.prod(np.array(SHARDS) // np.array(config["chunk_shape"])))
    size = 16 * count
    has_crc = any(c["name"] == "crc32c" for c in config["index_codecs"])
    shard = (Path(root) / key).read_bytes()
    location = config.get("index_location", "end")
    raw = shard[:size] if location == "start" else shard[len(shard) - size - 4 * has_crc:][:size]
    return [struct.unpack_from("<QQ", raw, 16 * i) for i in range(count)]


def test_fill_inner_chunk_is_left_out_of_its_shard(root: str) -> None:
    array = create(root, "v3_sharded")
    array[0:4, 0:4] = 0
    entries = shard_index(root, unit_key("v3_sharded", (0, 0)))
    assert entries[0] == (MISSING, MISSING)
    assert all(entry != (MISSING, MISSING) for entry in entries[1:])
    expected = OLD.copy()
    expected[0:4, 0:4] = 0
    np.testing.assert_array_equal(zarr.open_array(root, path="a", mode="r")[...], expected)


# -- the error classes -----------------------------------------------------------------

BUILTIN_OF = {
    "StoreError": OSError,
    "ReadOnlyError": PermissionError,
    "NodeNotFoundError": FileNotFoundError,
    "NodeExistsError": FileExistsError,
    "InvalidKeyError": ValueError,
    "MetadataError": ValueError,
    "UnsupportedDataTypeError": ValueError,
    "UnsupportedCodecError": ValueError,
    "UnsafeCodecError": ValueError,
    "ChunkDecodeError": ValueError,
    "ChecksumError": ValueError,
    "ArrayIndexError": IndexError,
    "ValueShapeError": ValueError,
}

_BUILTIN_EXCEPTIONS = tuple(
    cls for cls in vars(builtins).values()
    if isinstance(cls, type) and issubclass(cls, Exception) and cls is not Exception
)


def error_classes() -> list[type[BaseException]]:
    return [cls for _, cls in inspect.getmembers(geozarr.errors, inspect.isclass)
            if issubclass(cls, BaseException) and not issubclass(cls, Warning)
            and cls.__module__ == "geozarr.errors"]


def test_every_error_class_derives_from_root_and_a_builtin() -> None:
    classes = error_classes()
    assert {cls.__name__ for cls in classes} >= set(BUILTIN_OF) | {"GeoZarrError"}
    for cls in classes:
        assert issubclass(cls, GeoZarrError), cls
        if cls is GeoZarrError:
            continue
        assert issubclass(cls, _BUILTIN_EXCEPTIONS), f"{cls.__name__} has no built-in base"
        if cls.__name__ in BUILTIN_OF:
            assert issubclass(cls, BUILTIN_OF[cls.__name__]), cls


def test_warning_classes() -> None:
    warnings_ = [cls for _, cls in inspect.getmembers(geozarr.errors, inspect.isclass)
                 if issubclass(cls, Warning)]
    assert warnings_
    for cls in warnings_:
        assert issubclass(cls, geozarr.errors.GeoZarrWarning) and issubclass(cls, UserWarning)
        assert not issubclass(cls, GeoZarrError)


def test_root_error_is_exported() -> None:
    assert geozarr.GeoZarrError is GeoZarrError
