"""Groups, hierarchies, open modes and consolidated metadata."""

from __future__ import annotations

import numpy as np
import pytest

import geozarr
from geozarr.errors import NodeExistsError, NodeNotFoundError, ReadOnlyError
from geozarr.storage import MemoryStore


@pytest.mark.parametrize("zarr_format", [2, 3])
def test_hierarchy(tmp_path, zarr_format: int) -> None:
    root = geozarr.open_group(tmp_path / "h.zarr", mode="w", zarr_format=zarr_format)
    sub = root.create_group("sub")
    sub.attrs["title"] = "a sub group"
    c = sub.create_array("c", shape=(10, 10), dtype="float32", chunks=(5, 5), fill_value=0)
    c[...] = np.eye(10)
    root.create_array("deep/er/d", shape=(3,), dtype="u1")
    reopened = geozarr.open_group(tmp_path / "h.zarr")
    assert list(reopened) == ["deep", "sub"]
    assert reopened["sub"].attrs["title"] == "a sub group"
    np.testing.assert_array_equal(reopened["sub/c"][...], np.eye(10))
    assert isinstance(reopened["deep/er"], geozarr.Group)
    assert [name for name, _ in reopened["sub"].arrays()] == ["c"]
    assert [name for name, _ in reopened.groups()] == ["deep", "sub"]
    assert "sub" in reopened and "nope" not in reopened
    with pytest.raises(NodeNotFoundError, match="nope"):
        reopened["nope"]
    with pytest.raises(KeyError):
        reopened["nope"]
    assert reopened.zarr_format == zarr_format == reopened["sub/c"].zarr_format


def test_create_array_makes_enclosing_groups(tmp_path) -> None:
    geozarr.create_array(tmp_path / "o.zarr", name="x/y/b", shape=(2, 2), dtype="i2")
    group = geozarr.open_group(tmp_path / "o.zarr")
    assert list(group) == ["x"] and list(group["x"]) == ["y"]
    assert geozarr.open_array(tmp_path / "o.zarr" / "x" / "y" / "b").shape == (2, 2)


def test_modes(tmp_path) -> None:
    path = tmp_path / "m.zarr"
    with pytest.raises(NodeNotFoundError):
        geozarr.open_group(path, mode="r+")
    geozarr.open_group(path, mode="a").create_array("a", shape=(1,), dtype="u1")
    with pytest.raises(NodeExistsError):
        geozarr.open_group(path, mode="w-")
    with pytest.raises(ReadOnlyError):
        geozarr.open_group(path).create_group("g")
    with pytest.raises(NodeExistsError):
        geozarr.create_array(path, name="a", shape=(1,), dtype="u1")
    assert geozarr.create_array(path, name="a", shape=(4,), dtype="u1", overwrite=True).shape == (4,)
    assert list(geozarr.open_group(path, mode="w")) == []


@pytest.mark.parametrize("zarr_format", [2, 3])
def test_consolidated_metadata_is_used(zarr_format: int) -> None:
    store = MemoryStore()
    root = geozarr.open_group(store, mode="w", zarr_format=zarr_format)
    root.attrs["title"] = "root"
    root.create_group("g").create_array("a", shape=(4, 4), dtype="i4", chunks=(2, 2),
                                        fill_value=0, attributes={"units": "K"})[...] = 5
    geozarr.consolidate_metadata(store)
    # Remove every per-node document below the root: only the consolidated view remains.
    for key in list(store.list_prefix("g/")):
        if key.rsplit("/", 1)[-1] in ("zarr.json", ".zarray", ".zgroup", ".zattrs"):
            store.delete(key)
    group = geozarr.open_group(store)
    assert list(group) == ["g"] and list(group["g"]) == ["a"]
    array = group["g/a"]
    assert array.attrs["units"] == "K" and (array[...] == 5).all()
    with pytest.raises(NodeNotFoundError):
        geozarr.open_group(store, use_consolidated=False)["g"]
