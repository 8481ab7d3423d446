"""HTTP stores against real servers on loopback: reads, request counts, faults, zip, URLs.

Every server here is :class:`servers.LoopbackHTTPServer`, started by the fixtures on
127.0.0.1. The interop matrix (zarr-python writes v2, v3, sharded and consolidated stores)
is read over HTTP and compared with geozarr's read of the same directory and with
zarr-python's own read.
"""

from __future__ import annotations

import base64
import zipfile
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import zarr

import geozarr
from geozarr.errors import GeoZarrError, NodeNotFoundError, ReadOnlyError, StoreError
from geozarr.storage import ByteRange, open_store
from geozarr.storage.cache import CachingStore, is_metadata_key
from geozarr.storage.http import HTTPStore
from geozarr.storage.memory import MemoryStore
from geozarr.storage.urls import parse_location, redact
from interop.conftest import assert_same, assert_same_array_metadata, selections
from servers import (INNER, SHARD, LoopbackHTTPServer, RemoteCase, ServedData,
                     write_served_data)

pytestmark = pytest.mark.filterwarnings("ignore::zarr.errors.ZarrUserWarning")
FAST = {"backoff": 0.001, "max_backoff": 0.01}  # retries without slowing the suite


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> ServedData:
    return write_served_data(tmp_path_factory.mktemp("served"))


@pytest.fixture(scope="module")
def server(served: ServedData) -> Any:
    with LoopbackHTTPServer(served.root) as running:
        yield running


@pytest.fixture()
def http(server: LoopbackHTTPServer) -> Any:
    """The module's server, reset: Range on, no latency, no faults, an empty log."""
    server.configure(ranges=True, latency=0.0, stall_seconds=2.0)
    server.clear_faults()
    server.wait_idle()
    server.reset_log()
    yield server
    server.clear_faults()
    server.configure(ranges=True, latency=0.0)


# -- the interop matrix over HTTP ------------------------------------------------------------

CASE_IDS = ["v2-zlib-i2", "v2-blosc-f4-F", "v2-raw-u4-be-slash", "v3-zstd-u2",
            "v3-gzip-crc-f8", "v3-transpose-blosc-i4", "v3-v2keys-i8-3d", "v3-nothing-written",
            "v3-sharded-end", "v3-sharded-start", "v2-consolidated", "v3-consolidated"]


def _case(served: ServedData, case_id: str) -> RemoteCase:
    return next(case for case in served.cases if case.id == case_id)


@pytest.mark.parametrize("case_id", CASE_IDS)
def test_interop_matrix_reads_the_same_over_http(served: ServedData, http: Any,
                                                 case_id: str) -> None:
    case = _case(served, case_id)
    local_path = served.root / case.directory
    url = http.url_of(case.directory)
    for array_path in case.arrays:
        theirs = zarr.open_array(str(local_path), path=array_path, mode="r")
        local = geozarr.open_array(local_path, path=array_path)
        remote = geozarr.open_array(url, path=array_path)
        assert_same_array_metadata(remote, theirs)
        expected = theirs[...]
        assert_same(remote[...], expected)
        for selection in selections(theirs.shape):
            assert_same(remote[selection], local[selection])
            assert_same(remote[selection], expected[selection])


@pytest.mark.parametrize("case_id", ["v2-consolidated", "v3-consolidated"])
def test_consolidated_group_lists_and_opens_members_over_http(
        served: ServedData, http: Any, case_id: str) -> None:
    case = _case(served, case_id)
    group = geozarr.open_group(http.url_of(case.directory))
    assert list(group) == ["nested", "temperature"]
    assert list(group["nested"]) == ["pressure"]
    assert group.attrs["title"] == case_id
    assert dict(group["nested"].attrs) == {"level": 1}
    assert geozarr.open(http.url_of(case.directory)).arrays == ["/nested/pressure",
                                                                "/temperature"]
    local = geozarr.open_group(served.root / case.directory)
    for path in case.arrays:
        assert_same(group[path][...], local[path][...])
        assert dict(group[path].attrs) == dict(local[path].attrs)


# -- request counts ---------------------------------------------------------------------------

def test_opening_a_consolidated_v3_store_costs_one_request(served: ServedData,
                                                           http: Any) -> None:
    group = geozarr.open_group(http.url_of("v3-consolidated.zarr"))
    assert [(r.key, r.status) for r in http.log] == [("v3-consolidated.zarr/zarr.json", 200)]
    # Members and their metadata come from the consolidated document: still one request.
    assert group["nested/pressure"].shape == (37, 23)
    assert sorted(group) == ["nested", "temperature"]
    assert len(http.log) == 1


def test_opening_a_consolidated_v2_store_reads_zmetadata_first(served: ServedData,
                                                               http: Any) -> None:
    group = geozarr.open_group(http.url_of("v2-consolidated.zarr"), zarr_format=2)
    assert [(r.key, r.status) for r in http.log] == [("v2-consolidated.zarr/.zmetadata", 200)]
    assert group["temperature"].attrs["units"] == "K"
    assert len(http.log) == 1
    http.reset_log()
    geozarr.open_group(http.url_of("v2-consolidated.zarr"))  # format unknown: v3 looked for
    assert [(r.key, r.status) for r in http.log] == [
        ("v2-consolidated.zarr/zarr.json", 404), ("v2-consolidated.zarr/.zmetadata", 200)]


def _shard_runs(path: Path, inner: list[tuple[int, int]]) -> int:
    """Contiguous runs of the stored inner chunks ``inner`` in the shard file ``path``,
    from its index (16 bytes per inner chunk and a crc32c at the end)."""
    grid = (SHARD[0] // INNER[0], SHARD[1] // INNER[1])
    raw = path.read_bytes()
    index = np.frombuffer(raw[-(grid[0] * grid[1] * 16 + 4):-4], dtype="<u8").reshape(
        grid + (2,))
    spans = sorted((int(index[c][0]), int(index[c][1])) for c in inner)
    runs = 1
    for (offset, nbytes), (next_offset, _) in zip(spans, spans[1:]):
        runs += next_offset != offset + nbytes
    return runs


def test_a_sharded_window_costs_one_index_request_per_shard_and_one_per_run(
        served: ServedData, http: Any) -> None:
    array = geozarr.open_array(http.url_of("big.zarr"))
    http.reset_log()
    rows, cols = slice(900, 1156), slice(1000, 1256)  # crosses four shards
    assert_same(array[rows, cols], served.big[rows, cols])
    by_shard: dict[str, list[str]] = {}
    for request in http.log:
        assert request.range is not None, f"{request.key} was read whole"
        by_shard.setdefault(request.key, []).append(request.range)
    assert sorted(by_shard) == [f"big.zarr/c/{i}/{j}" for i in (0, 1) for j in (0, 1)]
    for key, ranges in by_shard.items():
        suffixes = [r for r in ranges if r.startswith("bytes=-")]
        assert len(suffixes) == 1, f"{key}: the index was read {len(suffixes)} times"
        shard = tuple(int(n) for n in key.split("/")[-2:])
        first = (max(rows.start, shard[0] * SHARD[0]) - shard[0] * SHARD[0]) // INNER[0]
        last = (min(rows.stop, (shard[0] + 1) * SHARD[0]) - 1 - shard[0] * SHARD[0]) // INNER[0]
        first_c = (max(cols.start, shard[1] * SHARD[1]) - shard[1] * SHARD[1]) // INNER[1]
        last_c = (min(cols.stop, (shard[1] + 1) * SHARD[1]) - 1 - shard[1] * SHARD[1]) // INNER[1]
        inner = [(r, c) for r in range(first, last + 1) for c in range(first_c, last_c + 1)]
        runs = _shard_runs(served.root / key, inner)
        assert len(ranges) - 1 == runs, f"{key}: {len(ranges) - 1} chunk requests, {runs} runs"


def test_later_windows_in_the_same_shards_reuse_the_cached_indexes(served: ServedData,
                                                                    http: Any) -> None:
    array = geozarr.open_array(http.url_of("big.zarr"))
    assert_same(array[0:300, 0:300], served.big[0:300, 0:300])
    assert sum(r.range.startswith("bytes=-") for r in http.log if r.range) == 1
    http.reset_log()
    assert_same(array[500:800, 600:900], served.big[500:800, 600:900])
    assert http.log and not any(r.range.startswith("bytes=-") for r in http.log if r.range)


def test_requests_run_in_parallel_within_the_pool_bound(served: ServedData,
                                                        http: Any) -> None:
    http.configure(latency=0.02)
    store = open_store(http.url_of("v3-zstd-u2.zarr"), storage_options={"concurrency": 4})
    array = geozarr.open_array(store)
    http.reset_log()
    assert_same(array[...], geozarr.open_array(served.root / "v3-zstd-u2.zarr")[...])
    assert len(http.log) > 8
    assert 1 < http.most_in_flight <= 4


def test_opening_a_band_reads_each_metadata_document_at_most_once(served: ServedData,
                                                                   http: Any) -> None:
    reader = geozarr.open_raster(f'ZARR:"{http.url_of("geo.zarr")}":/temperature')
    assert reader.read(1).shape == (40, 60)
    assert_same(reader.read(1), served.geo)
    counts = Counter(r.key for r in http.log if is_metadata_key(r.key))
    assert counts, "no metadata was read"
    assert max(counts.values()) == 1, counts
    assert reader.crs.to_epsg() == 32633


# -- ranges, and servers that ignore them -----------------------------------------------------

def test_get_and_byte_ranges_follow_the_store_contract(served: ServedData,
                                                       http: Any) -> None:
    store = HTTPStore(http.url, **FAST)
    key = "v3-zstd-u2.zarr/zarr.json"
    whole = (served.root / key).read_bytes()
    assert store.get(key) == whole
    assert store.get("no/such/key") is None
    asked = [ByteRange(2, 5), ByteRange.suffix(7), ByteRange(len(whole) - 3, 10),
             ByteRange(len(whole) + 5, 4), ByteRange(10), ByteRange.suffix(10 * len(whole)),
             ByteRange(4, 0)]
    expected = [whole[r.slice_of(len(whole))] for r in asked]
    assert store.get_ranges(key, asked) == expected
    assert store.get_ranges("no/such/key", [ByteRange(0, 4)]) is None
    assert store.exists(key) and not store.exists("no/such/key")
    assert store.size(key) == len(whole)
    assert store.ranges_supported


def test_a_server_that_ignores_range_is_read_whole_once_per_shard(served: ServedData,
                                                                  http: Any) -> None:
    http.configure(ranges=False)
    store = HTTPStore(http.url_of("big.zarr"), **FAST)
    array = geozarr.open_array(store)
    http.reset_log()
    rows, cols = slice(100, 356), slice(1900, 2048)
    assert_same(array[rows, cols], served.big[rows, cols])
    assert not store.ranges_supported
    assert Counter(r.key for r in http.log) == {"big.zarr/c/0/1": 1}
    # The ranges the server ignored still came back exactly.
    key = "c/1/1"
    whole = (served.root / "big.zarr" / key).read_bytes()
    assert store.get_ranges(key, [ByteRange(3, 9), ByteRange.suffix(20)]) == [
        whole[3:12], whole[-20:]]


# -- faults -----------------------------------------------------------------------------------

@pytest.mark.parametrize("fault", ["drop", "503", "429", "500", "truncate", "bad-range", "stall"])
def test_transient_faults_are_retried_and_the_data_is_right(served: ServedData, http: Any,
                                                            fault: str) -> None:
    http.configure(stall_seconds=1.0)
    store = open_store(http.url_of("big.zarr"),
                       storage_options={"timeout": 0.3, "retries": 4, **FAST})
    array = geozarr.open_array(store)
    http.reset_log()
    http.fail(fault, times=2)
    rows, cols = slice(1100, 1300), slice(50, 700)
    assert_same(array[rows, cols], served.big[rows, cols])
    statuses = [r.status for r in http.log]
    if fault in ("503", "429", "500"):
        assert statuses.count(int(fault)) == 2
    assert statuses.count(206) >= 2


@pytest.mark.parametrize("fault", ["drop", "503", "truncate", "bad-range", "stall"])
def test_persistent_faults_fail_with_a_geozarr_error_naming_the_url(
        served: ServedData, http: Any, fault: str) -> None:
    http.configure(stall_seconds=0.6)
    store = open_store(http.url_of("big.zarr"),
                       storage_options={"timeout": 0.2, "retries": 2, **FAST})
    array = geozarr.open_array(store)
    http.fail(fault, times=1000)
    with pytest.raises(GeoZarrError) as info:
        array[0:10, 0:10]
    assert isinstance(info.value, StoreError)
    assert http.url_of("big.zarr/c/0/0") in str(info.value)
    assert "3 attempts" in str(info.value)


def test_forbidden_is_an_error_naming_the_url_without_retries(http: Any) -> None:
    store = HTTPStore(http.url_of("big.zarr"), **FAST)
    http.fail("403", times=5)
    with pytest.raises(StoreError, match="403") as info:
        store.get("zarr.json")
    assert http.url_of("big.zarr/zarr.json") in str(info.value)
    assert [r.status for r in http.log] == [403]


def test_missing_chunks_read_as_fill_and_missing_metadata_as_not_found(
        served: ServedData, http: Any) -> None:
    array = geozarr.open_array(http.url_of("v3-nothing-written.zarr"))
    assert (array[...] == 42).all()
    assert {r.status for r in http.log if "/c/" in r.key} == {404}
    with pytest.raises(NodeNotFoundError) as info:
        geozarr.open_array(http.url_of("nowhere.zarr"))
    assert http.url_of("nowhere.zarr") in str(info.value)


# -- what HTTP cannot do ----------------------------------------------------------------------

def test_http_stores_are_read_only(http: Any) -> None:
    with pytest.raises(ReadOnlyError, match="read-only"):
        open_store(http.url_of("big.zarr"), mode="a")
    store = open_store(http.url_of("big.zarr"))
    with pytest.raises(ReadOnlyError):
        store.set("x", b"1")
    with pytest.raises(ReadOnlyError):
        geozarr.open_array(store)[0, 0] = 1


def test_listing_fails_clearly_but_nodes_open_by_path(served: ServedData,
                                                      http: Any) -> None:
    group = geozarr.open_group(http.url_of("geo.zarr"))
    with pytest.raises(StoreError, match="consolidated metadata"):
        list(group)
    assert group["temperature"].shape == (40, 60)
    assert "x" in group and "nope" not in group
    with pytest.raises(StoreError, match="do not list keys"):
        list(open_store(http.url).list_prefix(""))


def test_unknown_http_option_is_named(http: Any) -> None:
    with pytest.raises(StoreError, match="unknown storage option"):
        open_store(http.url, storage_options={"bogus": 1})
    with pytest.raises(StoreError, match="timeout"):
        open_store(http.url, storage_options={"timeout": -1})


# -- credentials ------------------------------------------------------------------------------

def test_credentials_are_sent_but_never_shown(http: Any) -> None:
    secret_url = http.url.replace("http://", "http://alice:s3cr3t@") + "/big.zarr?token=t0k3n"
    store = open_store(secret_url, storage_options={"headers": {"X-Api-Key": "k3y"}})
    assert store.get("zarr.json") is not None
    request = http.log[-1]
    assert request.headers["Authorization"] == "Basic " + base64.b64encode(
        b"alice:s3cr3t").decode()
    assert request.headers["X-Api-Key"] == "k3y"
    http.fail("403")
    with pytest.raises(StoreError) as info:
        store.get("c/0/0")
    for text in (repr(store), str(info.value)):
        assert "s3cr3t" not in text and "t0k3n" not in text and "k3y" not in text
        assert "127.0.0.1" in text


# -- zip archives over HTTP -------------------------------------------------------------------

def test_zip_archive_is_read_in_place_by_ranges(served: ServedData, http: Any) -> None:
    array = geozarr.open_array(http.url_of("data.zarr.zip"), path="t")
    opening = [(r.method, r.range is not None) for r in http.log]
    assert opening[0] == ("HEAD", False)
    assert all(ranged for method, ranged in opening[1:])
    assert len(opening) <= 4
    http.reset_log()
    assert_same(array[10:300, 20:200], served.zipped[10:300, 20:200])
    assert all(r.range is not None for r in http.log)
    assert_same(array[...], served.zipped)


def test_deflated_zip_members_are_inflated_and_crc_checked(served: ServedData,
                                                           http: Any) -> None:
    source = served.root / "v3-zstd-u2.zarr"
    with zipfile.ZipFile(served.root / "deflated.zip", "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(source.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(source).as_posix())
    array = geozarr.open_array(http.url_of("deflated.zip"))
    assert_same(array[...], geozarr.open_array(source)[...])
    # A member whose bytes no longer match its CRC-32 is refused, not returned.
    raw = bytearray((served.root / "deflated.zip").read_bytes())
    with zipfile.ZipFile(served.root / "deflated.zip") as archive:
        info = archive.getinfo("zarr.json")
    raw[info.header_offset + 30 + len(info.filename) + info.compress_size // 2] ^= 0xFF
    (served.root / "corrupt.zip").write_bytes(bytes(raw))
    with pytest.raises(StoreError, match="zarr.json"):
        geozarr.open_array(http.url_of("corrupt.zip"))


def test_gdal_spellings_open_the_same_data(served: ServedData, http: Any) -> None:
    reader = geozarr.open_raster(f'ZARR:"/vsicurl/{http.url_of("geo.zarr")}":/temperature')
    assert_same(reader.read(1), served.geo)
    zipped = geozarr.open_array(f"/vsizip//vsicurl/{http.url_of('data.zarr.zip')}", path="t")
    assert_same(zipped[0:5, 0:5], served.zipped[0:5, 0:5])
    braced = geozarr.open_array(f"/vsizip/{{/vsicurl/{http.url_of('data.zarr.zip')}}}",
                                path="t")
    assert braced.shape == (512, 512)


@pytest.mark.parametrize(("text", "url", "scheme", "archive"), [
    ("/vsicurl/https://h.org/a.zarr", "https://h.org/a.zarr", "https", False),
    ("/vsicurl_streaming/http://h.org/a.zarr", "http://h.org/a.zarr", "http", False),
    ("/vsis3/bucket/key/a.zarr", "s3://bucket/key/a.zarr", "s3", False),
    ("/vsigs/bucket/a.zarr", "gs://bucket/a.zarr", "gs", False),
    ("/vsiaz/container/a.zarr", "az://container/a.zarr", "az", False),
    ("/vsizip//vsicurl/https://h.org/a.zip", "https://h.org/a.zip", "https", True),
    ("/vsizip/{/vsis3/b/a.zarr.zip}", "s3://b/a.zarr.zip", "s3", True),
    ("HTTPS://h.org/a.zarr", "https://h.org/a.zarr", "https", False),
    ("s3://b/a.ZIP", "s3://b/a.ZIP", "s3", True),
    ("relative/dir.zarr", "relative/dir.zarr", "", False),
])
def test_parse_location(text: str, url: str, scheme: str, archive: bool) -> None:
    location = parse_location(text)
    assert (location.url, location.scheme, location.archive) == (url, scheme, archive)


@pytest.mark.parametrize(("text", "message"), [
    ("/vsicurl/ftp://h.org/a", "http:// or https://"),
    ("/vsizip/{/vsicurl/https://h.org/a.zip}/inner", "inside a zip archive"),
    ("/vsizip/{/vsicurl/https://h.org/a.zip", "never closed"),
    ("/vsitar/x.tar", "not supported"),
    ("/vsis3/", "bucket"),
])
def test_parse_location_refuses_what_it_cannot_follow(text: str, message: str) -> None:
    with pytest.raises(StoreError, match=message):
        parse_location(text)


def test_redact_hides_user_password_and_query() -> None:
    assert redact("https://u:p@h.org:8080/a/b?sig=x&t=y") == "https://h.org:8080/a/b?..."
    assert redact("https://h.org/a") == "https://h.org/a"
    assert redact("/local/path") == "/local/path"


# -- the metadata cache ----------------------------------------------------------------------

def test_metadata_cache_reads_each_document_once_and_stays_right_on_writes() -> None:
    inner = MemoryStore()
    inner.set("a/zarr.json", b"{}")
    inner.set("a/c/0", b"chunk")
    store = CachingStore(inner)
    assert store.get("a/zarr.json") == b"{}"
    assert store.get("b/.zarray") is None
    inner.set("a/zarr.json", b"changed behind the cache")
    inner.set("b/.zarray", b"appeared behind the cache")
    assert store.get("a/zarr.json") == b"{}"
    assert store.get("b/.zarray") is None
    assert store.get("a/c/0") == b"chunk"  # chunks are never cached
    assert "a/c/0" not in store.cached_keys()
    store.set("a/zarr.json", b"new")
    assert store.get("a/zarr.json") == b"new" == inner.get("a/zarr.json")
    store.delete("a/zarr.json")
    assert store.get("a/zarr.json") is None and not store.exists("a/zarr.json")


def test_metadata_cache_is_bounded() -> None:
    store = CachingStore(MemoryStore(), max_entries=3)
    for name in "abcde":
        store.get(f"{name}/zarr.json")
    assert store.cached_keys() == ["c/zarr.json", "d/zarr.json", "e/zarr.json"]


def test_shard_indexes_are_not_cached_for_writable_stores() -> None:
    inner = MemoryStore({"s/c/0": b"chunks" + b"INDEX1"})
    store = CachingStore(inner)
    assert store.get_ranges("s/c/0", [ByteRange.suffix(6)]) == [b"INDEX1"]
    inner.set("s/c/0", b"chunks" + b"INDEX2")  # rewritten behind the cache
    assert store.get_ranges("s/c/0", [ByteRange.suffix(6)]) == [b"INDEX2"]
    assert not any("\x00" in key for key in store.cached_keys())


def test_arrays_over_http_pickle_as_their_url(served: ServedData, http: Any) -> None:
    """dask ships arrays to workers by pickle: the HTTP store travels as its URL and
    settings (no connection pool, no lock) and reads the same values again."""
    import pickle

    case = _case(served, "v3-sharded-end")
    array = geozarr.open_array(http.url_of(case.directory), path=case.arrays[0])
    again = pickle.loads(pickle.dumps(array))
    assert again.store is not array.store and repr(again.store) == repr(array.store)
    assert_same(again[...], array[...])
    zipped = geozarr.open_array(http.url_of("data.zarr.zip"), path="t")
    assert_same(pickle.loads(pickle.dumps(zipped))[...], served.zipped)
