"""``geozarr translate`` through click's runner: GeoTIFF <-> GeoZarr with every option, the
values and layout checked in the output; errors; the progress bar on a real terminal and a
real Ctrl-C that leaves nothing behind."""

from __future__ import annotations

import os
import pty
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import rasterio
from click.testing import CliRunner

import geozarr
import pyramid_sources as sources
from geozarr.cli import main
from geozarr.errors import NodeExistsError

RUN = [sys.executable, "-c", "from geozarr.cli import run; run()"]


@pytest.fixture(scope="module")
def tif(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """300 x 200, three uint16 bands in UTM 33N, nodata 0 in a corner."""
    folder = tmp_path_factory.mktemp("translate")
    data = (sources.smooth(200, 300, bands=3) + 200).astype("uint16")
    data[:, :10, :20] = 0
    return sources.write_tif(folder / "three_bands.tif", data, crs="EPSG:32633",
                             transform=sources.from_origin(400000, 5000000, 30, 30), nodata=0)


def source_values(path: Path) -> np.ndarray:
    with rasterio.open(path) as dataset:
        return dataset.read()


def invoke(*args: str) -> object:
    return CliRunner().invoke(main, list(args))


def test_geotiff_to_zarr_v3_with_chunks_shards_and_compressor(tif: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.zarr"
    result = invoke("translate", str(tif), str(out), "--chunks", "64", "--shards", "128,128",
                    "--compressor", "zstd:5")
    assert result.exit_code == 0, result.output
    assert result.output == (f"Wrote {out}: Zarr v3, 300 x 200 pixels, 3 band(s) of uint16, "
                             f"EPSG:32633\n")
    with geozarr.open_raster(str(out)) as raster, rasterio.open(tif) as src:
        assert np.array_equal(raster.read(), src.read())
        assert raster.transform == src.transform and raster.nodata == 0
        assert raster.array.chunks[-2:] == (64, 64) and raster.array.shards[-2:] == (128, 128)
        inner = raster.array.codecs[0]["configuration"]["codecs"]
        assert {"name": "zstd", "configuration": {"level": 5, "checksum": False}} in inner


def test_zarr_format_2_with_zlib_and_a_name(tif: Path, tmp_path: Path) -> None:
    out = tmp_path / "v2.zarr"
    result = invoke("translate", str(tif), str(out), "--zarr-format", "2", "--compressor",
                    "zlib:6", "--name", "elevation")
    assert result.exit_code == 0, result.output
    assert "Zarr v2" in result.output
    with geozarr.open_raster(f'ZARR:"{out}":/elevation') as raster:
        assert raster.array.zarr_format == 2
        assert raster.array.compressor == {"id": "zlib", "level": 6}
        assert np.array_equal(raster.read(), source_values(tif))


def test_band_selection_keeps_the_order_given(tif: Path, tmp_path: Path) -> None:
    out = tmp_path / "bands.zarr"
    result = invoke("translate", str(tif), str(out), "-b", "3,1", "--compressor", "none")
    assert result.exit_code == 0, result.output
    assert "2 band(s) of uint16" in result.output
    with geozarr.open_raster(str(out)) as raster:
        assert np.array_equal(raster.read(), source_values(tif)[[2, 0]])
        assert raster.nodata == 0 and raster.crs.to_epsg() == 32633


def test_zarr_connection_string_back_to_geotiff(tif: Path, tmp_path: Path) -> None:
    zarr = tmp_path / "cube.zarr"
    assert invoke("translate", str(tif), str(zarr)).exit_code == 0
    out = tmp_path / "band2.tif"
    result = invoke("translate", f'ZARR:"{zarr}":/cube:1', str(out), "--chunks", "128",
                    "--co", "COMPRESS=LZW")
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"Wrote {out}: GTiff, 300 x 200 pixels, 1 band(s)")
    with rasterio.open(out) as dataset:
        assert np.array_equal(dataset.read(1), source_values(tif)[1])
        assert dataset.block_shapes[0] == (128, 128)
        assert dataset.compression.name == "lzw"
        assert dataset.crs.to_epsg() == 32633


def test_driver_overrides_the_extension(tif: Path, tmp_path: Path) -> None:
    store = tmp_path / "store.data"
    result = invoke("translate", str(tif), str(store), "--driver", "Zarr", "--name", "dem")
    assert result.exit_code == 0, result.output
    assert "Zarr v3" in result.output
    with geozarr.open_raster(f'ZARR:"{store}":/dem') as raster:
        assert np.array_equal(raster.read(), source_values(tif))
    cog = tmp_path / "cog.tif"
    result = invoke("translate", str(store), str(cog), "--driver", "COG")
    assert result.exit_code == 0, result.output
    with rasterio.open(cog) as dataset:
        assert dataset.tags(ns="IMAGE_STRUCTURE").get("LAYOUT") == "COG"
        assert np.array_equal(dataset.read(), source_values(tif))
    result = invoke("translate", str(tif), str(tmp_path / "x.tif"), "--driver", "NoSuch")
    assert "no driver 'NoSuch'" in str(result.exception)


def test_quiet_when_not_on_a_terminal(tif: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["translate", str(tif), str(tmp_path / "q.zarr")])
    assert result.exit_code == 0
    assert result.stderr == "" and "Translating" not in result.output


@pytest.mark.parametrize("args, message", [
    (["--bands", "4"], "has 3 band(s); there is no band 4"),
    (["--bands", "0"], "positive integers"),
    (["--chunks", "64,64,64"], "one or 2 integers"),
    (["--compressor", "snappy"], "unknown compressor 'snappy'"),
    (["--compressor", "zstd:high"], "integer level"),
    (["--co", "COMPRESS"], "expected NAME=VALUE"),
    (["--memory-limit", "lots"], "size such as 512M"),
    (["--zarr-format", "4"], "'4' is not one of"),
])
def test_bad_options_exit_2_with_the_reason(tif: Path, tmp_path: Path, args: list[str],
                                            message: str) -> None:
    result = invoke("translate", str(tif), str(tmp_path / "bad.zarr"), *args)
    assert result.exit_code == 2
    assert message in result.output
    assert not (tmp_path / "bad.zarr").exists()


def test_bands_of_a_zarr_source_point_to_the_connection_string(tif: Path,
                                                               tmp_path: Path) -> None:
    zarr = tmp_path / "z.zarr"
    assert invoke("translate", str(tif), str(zarr)).exit_code == 0
    result = invoke("translate", str(zarr), str(tmp_path / "b.tif"), "--bands", "1")
    assert result.exit_code == 2
    assert 'ZARR:"path":/array:index' in result.output


def test_existing_destination_is_kept_unless_overwrite(tif: Path, tmp_path: Path) -> None:
    out = tmp_path / "twice.zarr"
    assert invoke("translate", str(tif), str(out), "-b", "1").exit_code == 0
    result = invoke("translate", str(tif), str(out))
    assert isinstance(result.exception, NodeExistsError)
    with geozarr.open_raster(str(out)) as raster:
        assert raster.count == 1
    assert invoke("translate", str(tif), str(out), "--overwrite").exit_code == 0
    with geozarr.open_raster(str(out)) as raster:
        assert raster.count == 3


def test_errors_are_one_line_and_verbose_gives_the_traceback(tmp_path: Path) -> None:
    missing = tmp_path / "missing.tif"
    plain = subprocess.run([*RUN, "translate", str(missing), str(tmp_path / "o.zarr")],
                           capture_output=True, text=True)
    assert plain.returncode == 1
    lines = plain.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and "missing.tif" in lines[0]
    verbose = subprocess.run([*RUN, "--verbose", "translate", str(missing),
                              str(tmp_path / "o.zarr")], capture_output=True, text=True)
    assert verbose.returncode == 1 and "Traceback" in verbose.stderr


def _read_until(fd: int, wanted: bytes, timeout: float) -> bytes:
    """What a pty shows until ``wanted`` appears (or the timeout, or the end)."""
    seen = b""
    deadline = time.monotonic() + timeout
    while wanted not in seen and time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.1)
        if ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:  # the other side closed
                break
            if not chunk:
                break
            seen += chunk
    return seen


def _on_a_terminal(args: list[str]) -> tuple[subprocess.Popen, int]:
    """A command with stderr on a real pseudo-terminal; returns it and the pty's reading end."""
    reader, writer = pty.openpty()
    process = subprocess.Popen([*RUN, *args], stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=writer)
    os.close(writer)
    return process, reader


def test_progress_bar_on_a_terminal(tif: Path, tmp_path: Path) -> None:
    process, terminal = _on_a_terminal(["translate", str(tif), str(tmp_path / "bar.zarr")])
    try:
        shown = _read_until(terminal, b"100%", timeout=30)
        stdout, _ = process.communicate(timeout=30)
    finally:
        os.close(terminal)
    assert process.returncode == 0
    assert b"Translating" in shown and b"100%" in shown
    assert stdout.decode().startswith("Wrote ")   # the bar is on stderr only


@pytest.fixture(scope="module")
def big_tif(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """2048 x 2048 float32 of noise: a translate long enough to interrupt."""
    data = np.random.default_rng(3).random((2048, 2048), dtype=np.float32)
    return sources.write_tif(tmp_path_factory.mktemp("big") / "big.tif", data,
                             crs="EPSG:32633", transform=sources.from_origin(0, 0, 10, 10))


def test_ctrl_c_cancels_and_leaves_nothing(big_tif: Path, tmp_path: Path) -> None:
    out = tmp_path / "cancelled.zarr"
    process, terminal = _on_a_terminal(["translate", str(big_tif), str(out), "--chunks", "64",
                                        "--memory-limit", "2M", "--compressor", "zstd:9"])
    try:
        shown = _read_until(terminal, b"Translating", timeout=30)
        assert b"Translating" in shown
        process.send_signal(signal.SIGINT)
        stdout, _ = process.communicate(timeout=30)
        shown += _read_until(terminal, b"Cancelled", timeout=5)
    finally:
        os.close(terminal)
    assert process.returncode == 130
    assert f"Cancelled: nothing was written to {out}".encode() in shown
    assert stdout == b""
    assert os.listdir(tmp_path) == []   # no output, no partial sibling
