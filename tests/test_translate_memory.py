"""translate keeps its memory bounded: a raster several times larger than the memory budget
goes through in a process whose peak resident memory stays under that budget."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import rasterio
from affine import Affine
from rasterio.windows import Window

import geozarr
from geozarr.errors import MetadataError
from geozarr.raster.translate import translate

SIZE = 20000
BANDS = 3
BUDGET = 256 * 2**20
TILE = 512


def big_geotiff(path: Path) -> Path:
    """A 3 x 20000 x 20000 uint8 GeoTIFF (1.2 GB of pixels) written tile by tile.

    Every tile holds data (so every chunk is decoded, encoded and stored), made of a few
    repeated patterns so that it compresses well and is quick to write and read.
    """
    patterns = [((np.arange(TILE * TILE) // (7 + k)) % 250 + 1).astype(np.uint8)
                .reshape(TILE, TILE) for k in range(4)]
    with rasterio.open(path, "w", driver="GTiff", width=SIZE, height=SIZE, count=BANDS,
                       dtype="uint8", crs="EPSG:32611", nodata=0,
                       transform=Affine(10.0, 0.0, 300000.0, 0.0, -10.0, 4200000.0),
                       tiled=True, blockxsize=TILE, blockysize=TILE, compress="zstd",
                       zstd_level=1, interleave="band") as dataset:
        for row in range(0, SIZE, TILE):
            for col in range(0, SIZE, TILE):
                window = Window(col, row, min(TILE, SIZE - col), min(TILE, SIZE - row))
                tile = patterns[(row // TILE + col // TILE) % 4][:window.height, :window.width]
                for band in range(1, BANDS + 1):
                    dataset.write(tile, band, window=window)
    return path


def test_peak_memory_stays_under_the_budget(tmp_path: Path) -> None:
    source = big_geotiff(tmp_path / "big.tif")
    assert SIZE * SIZE * BANDS > 4 * BUDGET
    out = tmp_path / "big.zarr"
    script = textwrap.dedent(f"""
        import json, resource
        from geozarr.raster.translate import translate
        translate({str(source)!r}, {str(out)!r}, memory_limit={BUDGET})
        with open("/proc/self/status") as status:
            peak = [int(line.split()[1]) * 1024 for line in status
                    if line.startswith("VmHWM:")][0]
        print(json.dumps({{"peak": peak,
                          "maxrss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}}))
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            timeout=120, check=True)
    measured = json.loads(result.stdout.strip().splitlines()[-1])
    assert measured["peak"] < BUDGET, f"peak resident memory {measured['peak'] / 2**20:.0f} MiB"
    reader = geozarr.open_raster(out)
    assert (reader.count, reader.height, reader.width) == (BANDS, SIZE, SIZE)
    with rasterio.open(source) as dataset:
        for window in (Window(0, 0, 600, 600), Window(19500, 19400, 500, 600)):
            np.testing.assert_array_equal(reader.read(window=window),
                                          dataset.read(window=window))


@pytest.mark.parametrize("limit", [0, -5, 1.5, True])
def test_memory_limit_must_be_a_positive_integer(tmp_path: Path, limit: Any) -> None:
    with pytest.raises(MetadataError, match="memory_limit"):
        translate(tmp_path / "in.tif", tmp_path / "out.zarr", memory_limit=limit)
    assert list(tmp_path.iterdir()) == []
