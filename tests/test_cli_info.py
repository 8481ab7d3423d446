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
