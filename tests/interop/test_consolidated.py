"""Consolidated metadata written by one tool is used by the other.

v2 keeps it in ``.zmetadata``; v3 inline, as ``consolidated_metadata`` in the root
``zarr.json`` (zarr-python's form). To prove the consolidated copy is what gets used, the
per-node metadata documents are deleted after consolidating: the hierarchy then opens only
through the consolidated metadata, and reading node by node finds nothing.
"""

from __future__ import annotations

import json
import shutil
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import rasterio
import zarr
from rasterio.errors import NotGeoreferencedWarning

import geozarr

from .conftest import assert_same, sample

V2_NODE_FILES = (".zarray", ".zattrs", ".zgroup")


def delete_node_metadata(root: Path, zarr_format: int) -> list[str]:
    """Delete every per-node metadata document below the root.

    What stays: the chunks, the root's own documents (``.zgroup``, ``.zattrs`` and
    ``.zmetadata`` for v2; ``zarr.json``, which holds the consolidated metadata, for v3).
    Both tools read the root group's own attributes from the root's documents. Returns the
    deleted keys.
    """
    names = V2_NODE_FILES if zarr_format == 2 else ("zarr.json",)
    deleted = [p for p in root.rglob("*") if p.name in names and p.parent != root]
    for path in deleted:
        path.unlink()
    assert deleted  # there were nodes to hide
    return sorted(p.relative_to(root).as_posix() for p in deleted)


def hierarchy_values() -> dict[str, np.ndarray]:
    """The values of the three arrays of the test hierarchy, by path."""
    return {
        "temperature": sample("<f4", (9, 7), seed=1),
        "sub/counts": sample("<u2", (11,), seed=2),
        "sub/deep/flags": sample("|b1", (4, 5), seed=3),
    }


def build_with_zarr(root: Path, zarr_format: int) -> dict[str, np.ndarray]:
    """A hierarchy with attributes, a nested group and three arrays, written by zarr-python."""
    top = zarr.open_group(zarr.storage.LocalStore(root), mode="w", zarr_format=zarr_format)
    top.attrs["title"] = "consolidated by zarr-python"
    values = hierarchy_values()
    temperature = top.create_array("temperature", shape=(9, 7), chunks=(4, 4), dtype="<f4",
                                   attributes={"units": "K"},
                                   dimension_names=("y", "x") if zarr_format == 3 else None)
    temperature[...] = values["temperature"]
    sub = top.create_group("sub", attributes={"level": 1})
    counts = sub.create_array("counts", shape=(11,), chunks=(4,), dtype="<u2")
    counts[...] = values["sub/counts"]
    flags = sub.create_group("deep").create_array("flags", shape=(4, 5), chunks=(3, 3), dtype="|b1")
    flags[...] = values["sub/deep/flags"]
    zarr.consolidate_metadata(zarr.storage.LocalStore(root))
    return values


def build_with_geozarr(root: Path, zarr_format: int) -> dict[str, np.ndarray]:
    """The same hierarchy, written and consolidated by geozarr."""
    top = geozarr.open_group(str(root), mode="w", zarr_format=zarr_format)
    top.attrs["title"] = "consolidated by geozarr"
    values = hierarchy_values()
    temperature = top.create_array("temperature", shape=(9, 7), chunks=(4, 4), dtype="<f4",
                                   fill_value=0.0, attributes={"units": "K"},
                                   dimension_names=("y", "x"))
    temperature[...] = values["temperature"]
    sub = top.create_group("sub")
    sub.attrs["level"] = 1
    counts = sub.create_array("counts", shape=(11,), chunks=(4,), dtype="<u2", fill_value=0)
    counts[...] = values["sub/counts"]
    flags = sub.create_group("deep").create_array("flags", shape=(4, 5), chunks=(3, 3),
                                                  dtype="|b1", fill_value=False)
    flags[...] = values["sub/deep/flags"]
    geozarr.consolidate_metadata(str(root))
    return values


@pytest.mark.parametrize("zarr_format", [2, 3])
def test_geozarr_uses_zarr_python_consolidated_metadata(zarr_format: int, tmp_path: Path) -> None:
    root = tmp_path / "zp.zarr"
    values = build_with_zarr(root, zarr_format)
    delete_node_metadata(root, zarr_format)

    g = geozarr.open_group(str(root))
    assert list(g) == ["sub", "temperature"]
    assert dict(g.attrs) == {"title": "consolidated by zarr-python"}
    assert dict(g["sub"].attrs) == {"level": 1}
    assert list(g["sub"]) == ["counts", "deep"]
    assert dict(g["temperature"].attrs) == {"units": "K"}
    for path, expected in values.items():
        assert_same(g[path][...], expected)
    assert_same(g["sub"]["deep"]["flags"][1:, ::-2], values["sub/deep/flags"][1:, ::-2])
    if zarr_format == 3:
        assert tuple(g["temperature"].dimension_names) == ("y", "x")

    # node by node, the deleted documents are gone: nothing below the root is found
    plain = geozarr.open_group(str(root), use_consolidated=False)
    assert "temperature" not in plain
    with pytest.raises((KeyError, FileNotFoundError)):
        plain["temperature"]


@pytest.mark.parametrize("zarr_format", [2, 3])
def test_zarr_python_uses_geozarr_consolidated_metadata(zarr_format: int, tmp_path: Path) -> None:
    root = tmp_path / "gz.zarr"
    values = build_with_geozarr(root, zarr_format)
    if zarr_format == 2:
        doc = json.loads((root / ".zmetadata").read_text())
        assert doc["zarr_consolidated_format"] == 1
        keys = {"sub/counts/.zarray", "sub/deep/.zgroup", "temperature/.zattrs"}
        assert keys <= set(doc["metadata"])
    else:
        inline = json.loads((root / "zarr.json").read_text())["consolidated_metadata"]
        assert inline["kind"] == "inline" and inline["must_understand"] is False
        paths = {"temperature", "sub", "sub/counts", "sub/deep", "sub/deep/flags"}
        assert paths <= set(inline["metadata"])
    delete_node_metadata(root, zarr_format)

    store = zarr.storage.LocalStore(root, read_only=True)
    for z in (
        zarr.open_consolidated(store, mode="r", zarr_format=zarr_format),
        zarr.open_group(store, mode="r", use_consolidated=True),
    ):
        assert z.metadata.zarr_format == zarr_format
        assert z.attrs.asdict() == {"title": "consolidated by geozarr"}
        assert sorted(z.group_keys()) == ["sub"]
        assert sorted(z.array_keys()) == ["temperature"]
        assert z["sub"].attrs.asdict() == {"level": 1}
        assert z["temperature"].attrs["units"] == "K"
        for path, expected in values.items():
            assert_same(z[path][...], expected)


def test_geozarr_uses_gdal_zmetadata(fixtures_dir: Path, tmp_path: Path) -> None:
    """GDAL writes .zmetadata with every v2 dataset; geozarr reads through it."""
    root = tmp_path / "gdal.zarr"
    shutil.copytree(fixtures_dir / "gdal" / "v2_georeferenced.zarr", root)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with rasterio.open(f'ZARR:"{root}":/data') as dataset:
            expected = dataset.read(1)
    deleted = delete_node_metadata(root, 2)
    assert "data/.zarray" in deleted and "X/.zarray" in deleted

    g = geozarr.open_group(str(root))
    assert list(g) == ["X", "Y", "data"]
    assert_same(g["data"][...], expected)
    assert tuple(g["data"].dimension_names) == ("Y", "X")
    assert "_CRS" in g["data"].attrs
    assert g["X"].shape == (expected.shape[1],)


def test_gdal_uses_geozarr_zmetadata(tmp_path: Path) -> None:
    """GDAL opens a geozarr v2 hierarchy whose per-node documents are gone, through .zmetadata."""
    root = tmp_path / "gz.zarr"
    values = build_with_geozarr(root, 2)
    delete_node_metadata(root, 2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with rasterio.open(f'ZARR:"{root}":/temperature') as dataset:
            got: Any = dataset.read(1)
    assert_same(got, values["temperature"])
