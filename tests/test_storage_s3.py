"""Object storage stores against a real S3 server on loopback (moto in server mode).

The fixtures start :class:`servers.LoopbackS3Server` on 127.0.0.1, upload the stores that
zarr-python wrote (the interop matrix, a sharded array, a CF hierarchy, a zip archive) with
boto3, and geozarr reads them through ``s3://`` URLs; geozarr also writes to the bucket and
zarr-python reads back what it wrote.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import obstore.store
import pytest
import zarr

import geozarr
from geozarr.errors import NodeNotFoundError, ReadOnlyError, StoreError
from geozarr.storage import ByteRange, open_store
from geozarr.storage.object_store import ObjectStore
from interop.conftest import assert_same, assert_same_array_metadata, selections
from servers import LoopbackS3Server, RemoteCase, ServedData, write_served_data

pytestmark = pytest.mark.filterwarnings("ignore::zarr.errors.ZarrUserWarning")
BUCKET, PUBLIC = "geozarr", "geozarr-public"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> ServedData:
    return write_served_data(tmp_path_factory.mktemp("served"))


@pytest.fixture(scope="module")
def s3(served: ServedData) -> Iterator[LoopbackS3Server]:
    """The server, with the served files uploaded to ``geozarr/data/`` and a public bucket."""
    with LoopbackS3Server() as server:
        client = server.client()
        client.create_bucket(Bucket=BUCKET)
        for path in sorted(served.root.rglob("*")):
            if path.is_file():
                key = "data/" + path.relative_to(served.root).as_posix()
                client.put_object(Bucket=BUCKET, Key=key, Body=path.read_bytes())
        client.create_bucket(Bucket=PUBLIC)
        client.put_bucket_policy(Bucket=PUBLIC, Policy=json.dumps({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
                           "Resource": f"arn:aws:s3:::{PUBLIC}/*"}]}))
        for name in ("zarr.json", "c/0/0", "c/0/1", "c/1/0", "c/1/1"):
            path = served.root / "v3-zstd-u2.zarr" / name
            if path.exists():
                client.put_object(Bucket=PUBLIC, Key=f"open.zarr/{name}", Body=path.read_bytes())
        yield server


@pytest.fixture()
def options(s3: LoopbackS3Server) -> dict[str, Any]:
    return s3.storage_options()


def _url(relative: str) -> str:
    return f"s3://{BUCKET}/data/{relative}"


def _keys(s3: LoopbackS3Server, prefix: str) -> list[str]:
    listing = s3.client().list_objects_v2(Bucket=BUCKET, Prefix=prefix)
    return sorted(item["Key"] for item in listing.get("Contents", []))


# -- the interop matrix over S3 ---------------------------------------------------------------

CASE_IDS = ["v2-zlib-i2", "v2-blosc-f4-F", "v2-raw-u4-be-slash", "v3-zstd-u2",
            "v3-gzip-crc-f8", "v3-transpose-blosc-i4", "v3-v2keys-i8-3d", "v3-nothing-written",
            "v3-sharded-end", "v3-sharded-start", "v2-consolidated", "v3-consolidated"]


def _case(served: ServedData, case_id: str) -> RemoteCase:
    return next(case for case in served.cases if case.id == case_id)


@pytest.mark.parametrize("case_id", CASE_IDS)
def test_interop_matrix_reads_the_same_over_s3(served: ServedData, options: dict[str, Any],
                                               case_id: str) -> None:
    case = _case(served, case_id)
    local_path = served.root / case.directory
    store = open_store(_url(case.directory), storage_options=options)
    for array_path in case.arrays:
        theirs = zarr.open_array(str(local_path), path=array_path, mode="r")
        local = geozarr.open_array(local_path, path=array_path)
        remote = geozarr.open_array(store, path=array_path)
        assert_same_array_metadata(remote, theirs)
        expected = theirs[...]
        assert_same(remote[...], expected)
        for selection in selections(theirs.shape)[1:5]:
            assert_same(remote[selection], local[selection])
            assert_same(remote[selection], expected[selection])


@pytest.mark.parametrize("consolidated", [True, False])
def test_groups_list_their_members_over_s3(served: ServedData, options: dict[str, Any],
                                           consolidated: bool) -> None:
    group = geozarr.open_group(_url("v3-consolidated.zarr"), storage_options=options,
                               use_consolidated=consolidated)
    assert list(group) == ["nested", "temperature"]
    assert list(group["nested"]) == ["pressure"]
    # S3 can list, so a hierarchy without consolidated metadata lists too.
    geo = geozarr.open_group(_url("geo.zarr"), storage_options=options)
    assert list(geo) == ["spatial_ref", "temperature", "x", "y"]


def test_a_sharded_window_and_a_raster_read_over_s3(served: ServedData,
                                                    options: dict[str, Any]) -> None:
    array = geozarr.open_array(f"/vsis3/{BUCKET}/data/big.zarr", storage_options=options)
    rows, cols = slice(900, 1156), slice(1000, 1256)
    assert_same(array[rows, cols], served.big[rows, cols])
    reader = geozarr.open_raster(f'ZARR:"/vsis3/{BUCKET}/data/geo.zarr":/temperature',
                                 storage_options=options)
    assert_same(reader.read(1), served.geo)
    assert reader.crs.to_epsg() == 32633


def test_zip_archive_in_object_storage(served: ServedData, options: dict[str, Any]) -> None:
    array = geozarr.open_array(_url("data.zarr.zip"), path="t", storage_options=options)
    assert_same(array[...], served.zipped)
    assert_same(array[300:400, 7:99], served.zipped[300:400, 7:99])


# -- the store contract -----------------------------------------------------------------------

def test_get_and_byte_ranges_follow_the_store_contract(served: ServedData,
                                                       options: dict[str, Any]) -> None:
    store = open_store(_url(""), storage_options=options)
    key = "v3-zstd-u2.zarr/zarr.json"
    whole = (served.root / key).read_bytes()
    assert store.get(key) == whole
    assert store.get("no/such/key") is None
    asked = [ByteRange(2, 5), ByteRange.suffix(7), ByteRange(len(whole) - 3, 10),
             ByteRange(len(whole) + 5, 4), ByteRange(10), ByteRange.suffix(10 * len(whole)),
             ByteRange(4, 0)]
    assert store.get_ranges(key, asked) == [whole[r.slice_of(len(whole))] for r in asked]
    assert store.get_ranges("no/such/key", [ByteRange(0, 4)]) is None
    assert store.exists(key) and not store.exists("no/such/key")


def test_listing_is_by_string_prefix(options: dict[str, Any]) -> None:
    store = open_store(f"s3://{BUCKET}/listing", mode="w", storage_options=options)
    for key in ("a/b1", "a/b2/c", "ab", "z"):
        store.set(key, b"x")
    assert list(store.list_prefix("a/b")) == ["a/b1", "a/b2/c"]
    assert list(store.list_prefix("a")) == ["a/b1", "a/b2/c", "ab"]
    assert list(store.list_prefix("")) == ["a/b1", "a/b2/c", "ab", "z"]
    assert store.list_dir("a") == (["b1"], ["b2"])
    assert store.list_dir("") == (["ab", "z"], ["a"])
    store.delete_prefix("a/")
    assert list(store.list_prefix("")) == ["ab", "z"]
    store.delete("ab")
    store.delete("never-there")
    assert list(store.list_prefix("")) == ["z"]


# -- writing ----------------------------------------------------------------------------------

def test_geozarr_writes_to_s3_and_zarr_python_reads_it(s3: LoopbackS3Server,
                                                       options: dict[str, Any]) -> None:
    url = f"s3://{BUCKET}/written/out.zarr"
    values = np.arange(100 * 80, dtype="int32").reshape(100, 80)
    group = geozarr.open_group(url, mode="w", storage_options=options)
    sharded = group.create_array("sharded", shape=(100, 80), dtype="int32", chunks=(10, 10),
                                 shards=(50, 40), fill_value=-1)
    sharded[...] = values
    plain = group.create_array("plain", shape=(100, 80), dtype="int32", chunks=(30, 30))
    plain[10:60, 5:70] = values[10:60, 5:70]
    group.attrs["title"] = "written over S3"
    assert "written/out.zarr/sharded/c/1/1" in _keys(s3, "written/")
    theirs = zarr.open_group(zarr.storage.ObjectStore(obstore.store.S3Store(
        BUCKET, prefix="written/out.zarr", endpoint=s3.endpoint, region="us-east-1",
        access_key_id=s3.ACCESS_KEY, secret_access_key=s3.SECRET_KEY,
        client_options={"allow_http": True}), read_only=True), mode="r")
    assert theirs.attrs["title"] == "written over S3"
    assert_same(theirs["sharded"][...], values)
    expected = np.zeros((100, 80), dtype="int32")
    expected[10:60, 5:70] = values[10:60, 5:70]
    assert_same(theirs["plain"][...], expected)
    again = geozarr.open_group(url, storage_options=options)
    assert_same(again["sharded"][37:91, 3:77], values[37:91, 3:77])


def test_mode_w_replaces_what_was_there(s3: LoopbackS3Server, options: dict[str, Any]) -> None:
    url = f"s3://{BUCKET}/replaced.zarr"
    first = geozarr.open_group(url, mode="w", storage_options=options)
    first.create_array("old", shape=(4,), dtype="uint8", chunks=(2,))[...] = 1
    geozarr.open_group(url, mode="w", storage_options=options)
    assert _keys(s3, "replaced.zarr/") == ["replaced.zarr/zarr.json"]


def test_read_only_mode_refuses_writes(options: dict[str, Any]) -> None:
    store = open_store(_url("v3-zstd-u2.zarr"), storage_options=options)
    with pytest.raises(ReadOnlyError):
        store.set("zarr.json", b"{}")
    with pytest.raises(ReadOnlyError):
        geozarr.open_array(store)[0, 0] = 1
    with pytest.raises(StoreError, match="read only"):
        open_store(_url("data.zarr.zip"), mode="a", storage_options=options)


# -- credentials ------------------------------------------------------------------------------

def _environment(s3: LoopbackS3Server, monkeypatch: pytest.MonkeyPatch) -> None:
    """Credentials, region and endpoint in the environment, as a deployment sets them."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", s3.ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", s3.SECRET_KEY)
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3.endpoint)


def test_credentials_and_endpoint_from_environment_variables(
        s3: LoopbackS3Server, monkeypatch: pytest.MonkeyPatch) -> None:
    _environment(s3, monkeypatch)
    array = geozarr.open_array(_url("v3-zstd-u2.zarr"))
    assert array.shape == (37, 23)
    assert_same(array[...], geozarr.open_array(_url("v3-zstd-u2.zarr"), storage_options={
        "endpoint_url": s3.endpoint})[...])


def test_translate_writes_a_geotiff_to_object_storage(s3: LoopbackS3Server, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    import rasterio
    from affine import Affine

    values = np.arange(200 * 300, dtype="uint16").reshape(200, 300)
    source = tmp_path / "in.tif"
    with rasterio.open(source, "w", driver="GTiff", width=300, height=200, count=1,
                       dtype="uint16", crs="EPSG:32633",
                       transform=Affine(10, 0, 500_000, 0, -10, 4_000_000)) as dataset:
        dataset.write(values, 1)
    _environment(s3, monkeypatch)
    geozarr.translate(str(source), f"s3://{BUCKET}/translated/out.zarr")
    assert "translated/out.zarr/zarr.json" in _keys(s3, "translated/")
    reader = geozarr.open_raster(f"s3://{BUCKET}/translated/out.zarr")
    assert reader.crs.to_epsg() == 32633
    assert_same(reader.read(1), values)


def test_credentials_from_a_shared_credentials_file(s3: LoopbackS3Server, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
                 "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    credentials = tmp_path / "credentials"
    credentials.write_text(f"[survey]\naws_access_key_id = {s3.ACCESS_KEY}\n"
                           f"aws_secret_access_key = {s3.SECRET_KEY}\n")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(credentials))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    array = geozarr.open_array(_url("v3-zstd-u2.zarr"), storage_options={
        "endpoint_url": s3.endpoint, "region": "us-east-1", "profile": "survey"})
    assert array.shape == (37, 23)
    with pytest.raises(StoreError, match="profile 'missing'"):
        open_store(_url("x"), storage_options={"endpoint_url": s3.endpoint,
                                               "profile": "missing"})


def test_anonymous_reads_of_a_public_bucket(served: ServedData, s3: LoopbackS3Server) -> None:
    anon = {"endpoint_url": s3.endpoint, "anon": True, "region": "us-east-1"}
    array = geozarr.open_array(f"s3://{PUBLIC}/open.zarr", storage_options=anon)
    assert array.shape == (37, 23)
    with pytest.raises(StoreError, match="access denied") as info:
        geozarr.open_array(_url("v3-zstd-u2.zarr"), storage_options=anon)
    assert f"s3://{BUCKET}/data/v3-zstd-u2.zarr/zarr.json" in str(info.value)


def test_secrets_never_appear_in_reprs_or_messages(s3: LoopbackS3Server) -> None:
    secret = "TOPSECRET-never-show-me"
    options = {"endpoint_url": s3.endpoint, "key": "k", "secret": secret, "region": "us-east-1"}
    store = open_store("s3://no-such-bucket/x.zarr", storage_options=options)
    with pytest.raises(NodeNotFoundError) as missing:
        geozarr.open_array(store)
    with pytest.raises(StoreError) as unknown:
        open_store(_url("x"), storage_options={**options, "bogus": 1})
    assert "bogus" in str(unknown.value)
    with pytest.raises(StoreError, match="boolean") as invalid:
        open_store(_url("x"), storage_options={**options, "secret": secret + "-invalid",
                                               "virtual_hosted_style_request": secret})
    for text in (repr(store), str(missing.value), str(unknown.value), str(invalid.value)):
        assert secret not in text
    assert "s3://no-such-bucket/x.zarr" in str(missing.value)


# -- other clouds: the same route, built without a network ------------------------------------

@pytest.mark.parametrize(("url", "extra"), [
    ("gs://bucket/data.zarr", {"skip_signature": True}),
    ("gcs://bucket/data.zarr", {"skip_signature": True}),
    ("az://container/data.zarr", {"account_name": "account", "skip_signature": True}),
])
def test_gcs_and_azure_stores_are_built_from_their_urls(url: str, extra: dict[str, Any]) -> None:
    store = open_store(url, storage_options=extra)
    assert repr(store) == f"ObjectStore({url!r})"
    assert store.read_only  # mode "r"
    with pytest.raises(StoreError, match="unknown storage option"):
        ObjectStore(url, storage_options={**extra, "not_an_option": 1})


def test_arrays_in_object_storage_pickle_as_their_url(s3: LoopbackS3Server,
                                                      options: dict[str, Any]) -> None:
    """What dask.distributed needs: an s3:// array travels as its URL and options and reads
    (and writes) the same values after unpickling."""
    import pickle

    store = geozarr.storage.open_store(f"s3://{BUCKET}/pickled.zarr", mode="w",
                                       storage_options=options)
    array = geozarr.create_array(store, name="a", shape=(6, 5), chunks=(3, 3), dtype="i2",
                                 fill_value=-1)
    array[...] = np.arange(30).reshape(6, 5)
    again = pickle.loads(pickle.dumps(array))
    assert again.store is not array.store
    np.testing.assert_array_equal(again[...], np.arange(30).reshape(6, 5))
    again[0, 0] = 77
    assert array[0, 0] == 77
