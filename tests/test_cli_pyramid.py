"""``geozarr pyramid`` through click's runner: the options reach the build (the result equals
the library's build with the same parameters), the summary line, and bad input."""

from __future__ import annotations

import json
from pathlib import Path

import morecantile
import numpy as np
import pytest
from click.testing import CliRunner

import pyramid_sources as sources
from geozarr.cli import main
from geozarr.errors import MetadataError, NodeExistsError
from geozarr.pyramid.build import build_pyramid
from geozarr.pyramid.reader import open_pyramid


@pytest.fixture(scope="module")
def tif(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return sources.utm_float32(tmp_path_factory.mktemp("pyramid"))


def invoke(*args: str) -> object:
    return CliRunner().invoke(main, list(args))


def root_attributes(path: Path) -> dict:
    return json.loads((path / "zarr.json").read_text())["attributes"]


def test_default_build_and_summary(tif: Path, tmp_path: Path) -> None:
    out = tmp_path / "web.zarr"
    result = invoke("pyramid", str(tif), str(out))
    assert result.exit_code == 0, result.output
    assert result.output == (f"Wrote {out}: WebMercatorQuad, zoom 5-12 (8 levels, 21 tiles at "
                             f"most), 1 band(s) of float32\n")
    with open_pyramid(out) as pyramid:
        assert pyramid.tms.id == "WebMercatorQuad"
        assert pyramid.levels == ("12", "11", "10", "9", "8", "7", "6", "5")


def test_every_option_reaches_the_build(tif: Path, tmp_path: Path) -> None:
    cli, library = tmp_path / "cli.zarr", tmp_path / "library.zarr"
    result = invoke("pyramid", str(tif), str(cli), "--zoom", "9-11", "--resampling", "nearest",
                    "--overview-resampling", "max", "--nodata", "-9999", "--compressor",
                    "none", "--shards", "2", "--workers", "1", "--memory-limit", "64M")
    assert result.exit_code == 0, result.output
    assert "zoom 9-11 (3 levels" in result.output
    build_pyramid(tif, library, minzoom=9, maxzoom=11, resampling="nearest",
                  overview_resampling="max", nodata=-9999, compressor=None, shards=2)
    assert root_attributes(cli) == root_attributes(library)
    with open_pyramid(cli) as made, open_pyramid(library) as expected:
        assert made.levels == ("11", "10", "9")
        for z in made.levels:
            level = made.level(z)
            assert level.nodata == -9999
            assert level.array.shards[-2:] == (512, 512)       # 2 x 2 tiles of 256
            assert np.array_equal(level.read(), expected.level(z).read())
        codecs = made.level("11").array.codecs[0]["configuration"]["codecs"]
        assert [c["name"] for c in codecs] == ["bytes"]     # no compressor


def test_tms_by_id_and_from_a_json_file(tif: Path, tmp_path: Path) -> None:
    document = tmp_path / "wgs.json"
    document.write_text(morecantile.tms.get("WGS1984Quad").model_dump_json(exclude_none=True))
    for tms in ("WGS1984Quad", str(document)):
        out = tmp_path / f"{len(tms)}.zarr"
        result = invoke("pyramid", str(tif), str(out), "--tms", tms, "--zoom", "8")
        assert result.exit_code == 0, result.output
        assert "WGS1984Quad, zoom 8-8 (1 levels" in result.output
        with open_pyramid(out) as pyramid:
            assert pyramid.tms.id == "WGS1984Quad" and pyramid.levels == ("8",)


@pytest.mark.parametrize("args, message", [
    (["--zoom", "12-2"], "maximum zoom 2 is below the minimum 12"),
    (["--zoom", "a-b"], "expected MIN-MAX"),
    (["--shards", "0"], "0 is not in the range"),
    (["--compressor", "{\"level\": 3}"], "needs an \"id\""),
])
def test_bad_options_exit_2(tif: Path, tmp_path: Path, args: list[str], message: str) -> None:
    result = invoke("pyramid", str(tif), str(tmp_path / "bad.zarr"), *args)
    assert result.exit_code == 2 and message in result.output
    assert not (tmp_path / "bad.zarr").exists()


def test_unknown_tms_and_existing_destination(tif: Path, tmp_path: Path) -> None:
    result = invoke("pyramid", str(tif), str(tmp_path / "x.zarr"), "--tms", "Mars")
    assert isinstance(result.exception, MetadataError)
    assert "WebMercatorQuad" in str(result.exception)     # the known ones are listed
    out = tmp_path / "once.zarr"
    assert invoke("pyramid", str(tif), str(out), "--zoom", "6").exit_code == 0
    again = invoke("pyramid", str(tif), str(out), "--zoom", "6")
    assert isinstance(again.exception, NodeExistsError)
    assert invoke("pyramid", str(tif), str(out), "--zoom", "7", "--overwrite").exit_code == 0
    with open_pyramid(out) as pyramid:
        assert pyramid.levels == ("7",)


def test_resume_of_a_complete_pyramid_leaves_it(tif: Path, tmp_path: Path) -> None:
    out = tmp_path / "done.zarr"
    assert invoke("pyramid", str(tif), str(out), "--zoom", "6-7").exit_code == 0
    before = {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()}
    result = invoke("pyramid", str(tif), str(out), "--zoom", "6-7", "--resume")
    assert result.exit_code == 0, result.output
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()} == before
