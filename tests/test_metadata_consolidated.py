"""v2 consolidated metadata (.zmetadata): geozarr/metadata/consolidated.py."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
import zarr
import zarr.storage

from geozarr.errors import MetadataError
from geozarr.metadata import dump_json_document
from geozarr.metadata.consolidated import build_zmetadata, parse_zmetadata
from geozarr.metadata.v2 import ArrayMetadataV2, GroupMetadataV2

pytestmark = pytest.mark.filterwarnings("error::geozarr.errors.MetadataWarning")

ZARRAY = {
    "zarr_format": 2, "shape": [4], "chunks": [2], "dtype": "<i2", "fill_value": 1, "order": "C",
    "compressor": None, "filters": None, "dimension_separator": ".",
}  # fmt: skip


def test_build_and_parse_round_trip() -> None:
    documents = {
        "b/.zarray": ZARRAY,
        ".zgroup": {"zarr_format": 2},
        ".zattrs": {"title": "t"},
        "b/.zattrs": {},
    }
    built = build_zmetadata(documents)
    assert built["zarr_consolidated_format"] == 1
    assert list(built["metadata"]) == [".zattrs", ".zgroup", "b/.zarray", "b/.zattrs"]  # sorted
    parsed = parse_zmetadata(dump_json_document(built))
    assert parsed == documents
    assert ArrayMetadataV2.from_json(parsed["b/.zarray"], key=".zmetadata#b/.zarray").shape == (4,)


def test_build_copies_its_input() -> None:
    documents = {".zattrs": {"a": [1]}}
    built = build_zmetadata(documents)
    documents[".zattrs"]["a"].append(2)
    assert built["metadata"][".zattrs"] == {"a": [1]}


@pytest.mark.parametrize(
    ("doc", "match"),
    [
        ({"metadata": {}}, "zarr_consolidated_format must be 1"),
        ({"zarr_consolidated_format": 2, "metadata": {}}, "zarr_consolidated_format must be 1"),
        ({"zarr_consolidated_format": True, "metadata": {}}, "zarr_consolidated_format must be 1"),
        ({"zarr_consolidated_format": 1}, "metadata must be an object, not null"),
        ({"zarr_consolidated_format": 1, "metadata": []}, "metadata must be an object"),
        (
            {"zarr_consolidated_format": 1, "metadata": {".zattrs": 1}},
            r"metadata\['.zattrs'\] must be an object",
        ),
        (
            {"zarr_consolidated_format": 1, "metadata": {"../.zarray": {}}},
            "not a safe relative path",
        ),
        (
            {"zarr_consolidated_format": 1, "metadata": {"a//.zarray": {}}},
            "not a safe relative path",
        ),
        ({"zarr_consolidated_format": 1, "metadata": {"": {}}}, "non-empty string"),
    ],
)
def test_parse_invalid(doc: dict, match: str) -> None:
    with pytest.raises(MetadataError, match=match) as info:
        parse_zmetadata(json.dumps(doc).encode(), key="root/.zmetadata")
    assert str(info.value).startswith("root/.zmetadata")


def test_parse_not_json() -> None:
    with pytest.raises(MetadataError, match=".zmetadata: metadata is not valid JSON"):
        parse_zmetadata(b"{")


def test_reads_zarr_python_zmetadata() -> None:
    stored: dict = {}
    store = zarr.storage.MemoryStore(stored)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        root = zarr.create_group(store=store, zarr_format=2, attributes={"title": "t"})
        root.create_group("sub").create_array(
            "arr", shape=(4,), dtype="i2", fill_value=1, attributes={"x": 1}
        )
        root.create_array("b", shape=(2, 2), dtype="f8", fill_value=float("nan"))
        zarr.consolidate_metadata(store)
    documents = parse_zmetadata(stored[".zmetadata"].to_bytes())
    assert documents[".zattrs"] == {"title": "t"} and documents["sub/arr/.zattrs"] == {"x": 1}
    GroupMetadataV2.from_json(
        documents["sub/.zgroup"], key="sub/.zgroup"
    )  # has zarr-python's extra members
    arr = ArrayMetadataV2.from_json(documents["sub/arr/.zarray"], key="sub/arr/.zarray")
    assert arr.shape == (4,) and arr.fill_value == np.int16(1)
    b = ArrayMetadataV2.from_json(documents["b/.zarray"], key="b/.zarray")
    assert np.isnan(b.fill_value)
    rebuilt = json.loads(dump_json_document(build_zmetadata(documents)))
    assert rebuilt == json.loads(stored[".zmetadata"].to_bytes())


def test_zarr_python_reads_built_zmetadata() -> None:
    documents = {
        ".zgroup": {"zarr_format": 2},
        ".zattrs": {"title": "t"},
        "a/.zarray": ZARRAY,
        "a/.zattrs": {"u": 1},
    }
    buffer = zarr.core.buffer.default_buffer_prototype().buffer
    stored = {name: buffer.from_bytes(dump_json_document(doc)) for name, doc in documents.items()}
    stored[".zmetadata"] = buffer.from_bytes(dump_json_document(build_zmetadata(documents)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        group = zarr.open_consolidated(
            store=zarr.storage.MemoryStore(stored), zarr_format=2, mode="r"
        )
        assert group.attrs["title"] == "t"
        assert group["a"].shape == (4,) and group["a"].attrs["u"] == 1
