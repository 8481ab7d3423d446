"""``geozarr info`` through click's runner, checked against GDAL for the same dataset."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import rasterio
from click.testing import CliRunner

from geozarr.cli import main

GDAL_FIXTURE = Path(__file__).parent.parent / "fixtures" / "data" / "gdal" / "v2_georeferenced.zarr"


def test_info_json_matches_gdal() -> None:
    result = CliRunner().invoke(main, ["info", str(GDAL_FIXTURE), "--json"])
    assert result.exit_code == 0, result.output
    described = json.loads(result.output)
    data = next(a for a in described["arrays"] if a["path"] == "/data")
    with rasterio.open(f'ZARR:"{GDAL_FIXTURE}":/data') as src:
        raster = data["raster"]
        assert (raster["width"], raster["height"], raster["count"]) == (src.width, src.height,
                                                                      src.count)
        assert raster["epsg"] == src.crs.to_epsg()
        assert raster["transform"] == pytest.approx(list(src.transform)[:6])
        assert raster["bounds"] == pytest.approx(list(src.bounds))
        assert raster["nodata"] == src.nodata
        assert data["dtype"] == src.dtypes[0]
        assert tuple(data["chunks"]) == src.block_shapes[0]
    assert described["subdatasets"] == [f'ZARR:"{GDAL_FIXTURE}":/data']
    assert {a["path"] for a in described["arrays"]} == {"/X", "/Y", "/data"}


def test_info_text() -> None:
    result = CliRunner().invoke(main, ["info", str(GDAL_FIXTURE)])
    assert result.exit_code == 0, result.output
    assert "/data  v2  uint8" in result.output or "/data  v2" in result.output
    assert "EPSG:4326" in result.output


def test_info_missing_store_is_one_clear_line(tmp_path) -> None:
    import subprocess
    import sys
    completed = subprocess.run([sys.executable, "-c", "from geozarr.cli import run; run()",
                                "info", str(tmp_path / "nothing.zarr")],
                               capture_output=True, text=True)
    assert completed.returncode == 1
    lines = completed.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error:") and "nothing.zarr" in lines[0]


def test_info_reports_conventions(tmp_path) -> None:
    import numpy as np
    from affine import Affine

    import geozarr

    geozarr.write_raster(tmp_path / "w.zarr", np.ones((4, 6), "u1"), crs="EPSG:32611",
                         transform=Affine(10, 0, 0, 0, -10, 40))
    result = CliRunner().invoke(main, ["info", str(tmp_path / "w.zarr"), "--json"])
    conventions = json.loads(result.output)["conventions"]
    assert set(conventions["/data"]) >= {"proj", "spatial", "gdal:_CRS", "cf:grid_mapping"}
    assert set(conventions["/"]) >= {"proj", "spatial"}


def test_quick_start_runs_on_the_bundled_dem(tmp_path) -> None:
    """The README's first command: a pyramid of the shipped DEM, then info on it."""
    from geozarr.data import sample_path

    runner = CliRunner()
    located = runner.invoke(main, ["sample-data", "dem"])
    assert located.exit_code == 0 and located.output.strip() == str(sample_path("dem"))
    with rasterio.open(located.output.strip()) as dem:
        assert dem.crs.to_epsg() == 32611 and dem.nodata == -32768
    built = runner.invoke(main, ["pyramid", located.output.strip(),
                                 str(tmp_path / "dem-pyramid.zarr")])
    assert built.exit_code == 0, built.output
    described = runner.invoke(main, ["info", str(tmp_path / "dem-pyramid.zarr"), "--json"])
    assert described.exit_code == 0, described.output
    levels = [a for a in json.loads(described.output)["arrays"] if a.get("raster")]
    assert levels and all(a["raster"]["epsg"] == 3857 for a in levels)
    assert "multiscales" in json.loads(described.output)["conventions"]["/"]
    assert runner.invoke(main, ["sample-data", "nope"]).exit_code != 0
