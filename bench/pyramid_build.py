"""Pyramid build benchmark: geozarr beside gdal2tiles' algorithm, ndpyramid and GDAL's tiler.

Builds the WebMercatorQuad levels of one generated source (a 16384 x 16384 uint8 GeoTIFF in
UTM zone 33N, so every tool has to warp it to Web Mercator) over the same zoom range with the
same resampling (``average``), each build alone in a fresh process, in interleaved rounds
whose order rotates, and reports tiles per second and peak memory. See ``bench/README.md``.

Usage::

    python bench/pyramid_build.py --quick                 # 4096 x 4096 source, ~2 minutes
    python bench/pyramid_build.py --out bench/results/pyramid_build.json
    python bench/pyramid_build.py --impls geozarr,gdal2tiles --rounds 3
"""

from __future__ import annotations

import argparse
import datetime
import importlib.metadata
import importlib.util
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent
# Benchmark the working tree's geozarr (it need not be pip-installed).
sys.path.insert(1, str(REPO_DIR))

import numpy as np  # noqa: E402

from _probe import ScalingProbe  # noqa: E402
from _pyramid_peers import gdal_tiler_command, iter_children, world_bytes  # noqa: E402

PEERS_SCRIPT = BENCH_DIR / "_pyramid_peers.py"
IMPLS = ("geozarr", "gdal2tiles", "ndpyramid", "gdal")
#: The source: UTM zone 33N, 10 m pixels, top-left corner at (400 000 E, 5 300 000 N), about
#: 47.8 degrees north; nodata 0, values 1..255.
SOURCE_CRS = "EPSG:32633"
PIXEL_SIZE = 10.0
ORIGIN = (400_000.0, 5_300_000.0)
SEED = 20260523
FORMULA = "v1: 128 + 14 (3 sin(x/700) + 2.5 cos(y/900) + 1.5 sin((x+y)/310) " \
          "+ 0.8 sin(x/53) cos(y/71)) + N(0, 2), clipped to 1..255"
RESAMPLING = "average"
#: GNU time, which measures an external tool's peak memory from a small parent process.
TIME_TOOL = shutil.which("time", path="/usr/bin")
SAMPLE_INTERVAL = 0.05
MIB = 2**20


@dataclass(frozen=True)
class Settings:
    """What one run measures; built from the command line by :func:`parse_args`."""

    size: int
    rounds: int
    impls: tuple[str, ...]
    minzoom: int | None
    maxzoom: int | None
    ndpyramid_max_bytes: int
    data_dir: Path
    out: Path | None
    timeout: float


@dataclass(frozen=True)
class Job:
    """One build that each round runs once: a row of one comparison block."""

    row: str
    block: str
    builder: str
    params: dict[str, Any]
    command: list[str] | None = None  # an external tool instead of a builder


@dataclass
class Sample:
    """One timed build: its time (the phases the row counts), memory and output.

    ``peak_bytes`` is the larger of the build process's own high-water mark (``VmHWM``,
    exact) and the sampled peak of the summed PSS of its process tree (which is what counts
    for a tool running several processes); ``process_peaks`` lists every process's own
    high-water mark (their sum over-counts the pages forked workers share).
    """

    row: str
    round: int
    seconds: float
    wall: float
    phases: dict[str, float]
    peak_bytes: int
    tree_pss_peak: int
    process_peaks: list[int]
    baseline_rss: int
    written: dict[str, Any]
    build_peak: int = 0  # geozarr: its high-water mark when the build (not export) ended


@dataclass
class Block:
    """A comparison: the rows built over one zoom range, and the tiles it holds."""

    name: str
    minzoom: int
    maxzoom: int
    tiles: int
    rows: list[str] = field(default_factory=list)
    unavailable: dict[str, str] = field(default_factory=dict)
    failures: dict[str, str] = field(default_factory=dict)


# -- the source -----------------------------------------------------------------------------------
def ensure_source(data_dir: Path, size: int) -> Path:
    """The cached source GeoTIFF of ``size`` x ``size`` (written when missing or stale)."""
    import rasterio
    from affine import Affine
    from rasterio.windows import Window

    folder = data_dir / "pyramid"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"source-{size}.tif"
    marker = folder / f"source-{size}.json"
    spec = {"size": size, "formula": FORMULA, "seed": SEED, "crs": SOURCE_CRS,
            "pixel": PIXEL_SIZE, "origin": ORIGIN, "layout": "tiled 512, zstd, predictor 2"}
    spec = json.loads(json.dumps(spec))  # as the marker holds it (lists, not tuples)
    if path.exists() and marker.exists() and json.loads(marker.read_text()) == spec:
        return path
    print(f"writing the {size}x{size} source {path} ...", flush=True)
    rng = np.random.default_rng(SEED)
    transform = Affine(PIXEL_SIZE, 0.0, ORIGIN[0], 0.0, -PIXEL_SIZE, ORIGIN[1])
    temp = path.with_suffix(".partial.tif")
    x = np.arange(size, dtype=np.float64)[np.newaxis, :]
    with rasterio.open(temp, "w", driver="GTiff", width=size, height=size, count=1,
                       dtype="uint8", crs=SOURCE_CRS, transform=transform, nodata=0,
                       tiled=True, blockxsize=512, blockysize=512, compress="zstd",
                       predictor=2, BIGTIFF="IF_SAFER") as dataset:
        for top in range(0, size, 512):
            y = np.arange(top, min(size, top + 512), dtype=np.float64)[:, np.newaxis]
            relief = (3 * np.sin(x / 700) + 2.5 * np.cos(y / 900)
                      + 1.5 * np.sin((x + y) / 310) + 0.8 * np.sin(x / 53) * np.cos(y / 71))
            values = 128 + 14 * relief + rng.normal(0.0, 2.0, relief.shape)
            strip = np.clip(np.rint(values), 1, 255).astype(np.uint8)
            dataset.write(strip, 1, window=Window(0, top, size, strip.shape[0]))
    temp.replace(path)
    marker.write_text(json.dumps(spec))
    return path


# -- running one build ----------------------------------------------------------------------------
def tree_pss(pid: int) -> int:
    """Proportional set size summed over ``pid`` and its descendants (shared pages split
    between the processes sharing them; Linux ``/proc``)."""
    total = 0
    for process in iter_children(pid):
        try:
            with open(f"/proc/{process}/smaps_rollup") as rollup:
                for line in rollup:
                    if line.startswith("Pss:"):
                        total += int(line.split()[1]) * 1024
                        break
        except OSError:
            continue
    return total


def run_child(command: list[str], timeout: float) -> tuple[int, str, str, float, int]:
    """Run ``command``, sampling its memory; return (exit code, stdout, stderr, wall
    seconds, sampled peak of the summed PSS of its process tree)."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        start = time.perf_counter()
        process = subprocess.Popen(command, stdout=out, stderr=err, cwd=REPO_DIR)
        peak = 0
        try:
            while process.poll() is None:
                if time.perf_counter() - start > timeout:
                    raise RuntimeError(f"stopped after {timeout:.0f} s (--timeout)")
                peak = max(peak, tree_pss(process.pid))
                time.sleep(SAMPLE_INTERVAL)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
        wall = time.perf_counter() - start
        out.seek(0)
        err.seek(0)
        return process.returncode, out.read(), err.read(), wall, peak


def run_job(job: Job, number: int, workdir: Path, timeout: float) -> Sample:
    """Run ``job`` once into ``workdir`` (emptied first, untimed) and measure it."""
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    peak_file = workdir / "maxrss.txt"
    if job.command is not None:
        command = job.command + [str(workdir / "tiles")]
        if TIME_TOOL is not None:  # a small parent, so its figure is the tool's own
            command = [TIME_TOOL, "-f", "%M", "-o", str(peak_file)] + command
    else:
        params = dict(job.params, out=str(workdir))
        command = [sys.executable, str(PEERS_SCRIPT), job.builder, json.dumps(params)]
    code, stdout, stderr, wall, pss = run_child(command, timeout)
    if code != 0:
        tail = (stderr.strip() or stdout.strip()).splitlines()[-3:]
        raise RuntimeError(f"exit code {code}: {' | '.join(tail)}")
    if job.command is not None:
        own = int(peak_file.read_text().split()[-1]) * 1024 if peak_file.exists() else 0
        result: dict[str, Any] = {"phases": {"process": wall}, "baseline_rss": 0,
                                  "self_peak": own,
                                  "written": {"png_tiles": _count_tiles(workdir / "tiles")}}
    else:
        lines = [line for line in stdout.splitlines() if line.startswith("RESULT ")]
        if not lines:
            raise RuntimeError(f"no result printed: {stderr.strip()[-300:]}")
        result = json.loads(lines[-1][len("RESULT "):])
    phases = result["phases"]
    peaks = [result.get("self_peak", 0)] + result.get("worker_peaks", [])
    return Sample(row=job.row, round=number, seconds=sum(phases.values()), wall=wall,
                  phases=phases, peak_bytes=max(max(peaks), pss), tree_pss_peak=pss,
                  process_peaks=peaks, baseline_rss=result.get("baseline_rss", 0),
                  written=result["written"], build_peak=result.get("build_peak", 0))


def _count_tiles(root: Path) -> dict[str, int]:
    counts: dict[str, int] = {}
    if root.is_dir():
        for level in root.iterdir():
            if level.is_dir() and level.name.isdigit():
                counts[level.name] = sum(1 for p in level.rglob("*.png"))
    return counts


# -- planning the run -----------------------------------------------------------------------------
def plan_jobs(settings: Settings, source: Path) -> tuple[list[Job], list[Block], dict[str, Any]]:
    """The jobs of every round, the comparison blocks, and notes about what is left out."""
    import geozarr

    plan = geozarr.plan_pyramid(str(source), minzoom=settings.minzoom,
                                maxzoom=settings.maxzoom)
    minzoom, maxzoom = plan.minzoom, plan.maxzoom
    full = Block("full", minzoom, maxzoom, plan.tiles)
    notes: dict[str, Any] = {
        "plan": {"minzoom": minzoom, "maxzoom": maxzoom, "source_resolution_m":
                 plan.source_resolution, "maxzoom_cell_m": plan.levels[0].cell_size,
                 "tiles_per_level": {level.id: level.tiles for level in plan.levels}}}
    jobs: list[Job] = []
    common = {"source": str(source), "minzoom": minzoom, "maxzoom": maxzoom}
    wanted = settings.impls
    if "geozarr" in wanted:
        jobs.append(Job("geozarr (Zarr) + PNG export", "full", "geozarr",
                        dict(common, resampling=RESAMPLING, export=True)))
        full.rows += ["geozarr (Zarr)", "geozarr (Zarr) + PNG export"]
    if "gdal2tiles" in wanted:
        jobs.append(Job("gdal2tiles algorithm (rasterio, PNG)", "full", "gdal2tiles",
                        dict(common, processes=2)))
        full.rows.append("gdal2tiles algorithm (rasterio, PNG)")
    if "gdal" in wanted:
        command = gdal_tiler_command(str(source), minzoom=minzoom, maxzoom=maxzoom)
        if command is None:
            full.unavailable["GDAL's tiler"] = (
                "not installed: neither `gdal` (gdal raster tile, GDAL >= 3.11) nor "
                "gdal2tiles.py is on PATH; rasterio's wheel carries GDAL's library only")
        else:
            jobs.append(Job("GDAL's tiler", "full", "", {}, command=command))
            full.rows.append("GDAL's tiler")
    blocks = [full]
    if "ndpyramid" in wanted:
        need = world_bytes(maxzoom, 1)
        levels = [z for z in range(minzoom, maxzoom + 1)
                  if world_bytes(z, 1) <= settings.ndpyramid_max_bytes]
        reason = (f"ndpyramid reprojects every level into a full-world square of "
                  f"2**z * 256 pixels: z{maxzoom} alone is {_size(need)} of uint8 "
                  f"(and it writes int32), so it cannot build z{minzoom}-z{maxzoom}")
        if importlib.util.find_spec("ndpyramid") is None:
            full.unavailable["ndpyramid"] = "not installed (pip install ndpyramid)"
        elif len(levels) == maxzoom - minzoom + 1:  # the whole range fits: a full row
            jobs.append(Job("ndpyramid (Zarr)", "full", "ndpyramid",
                            {"source": str(source), "levels": levels,
                             "resampling": RESAMPLING}))
            full.rows.append("ndpyramid (Zarr)")
        elif levels:
            full.unavailable["ndpyramid"] = reason
            top = levels[-1]
            sub_plan = geozarr.plan_pyramid(str(source), minzoom=minzoom, maxzoom=top)
            sub = Block("ndpyramid range", minzoom, top, sub_plan.tiles)
            notes["ndpyramid"] = (
                f"{reason}; measured on z{minzoom}-z{top}, the levels whose world square "
                f"fits --ndpyramid-max-bytes ({settings.ndpyramid_max_bytes / MIB:.0f} MiB), "
                f"beside geozarr on the same levels")
            jobs.append(Job("ndpyramid (Zarr)", sub.name, "ndpyramid",
                            {"source": str(source), "levels": levels,
                             "resampling": RESAMPLING}))
            sub.rows.append("ndpyramid (Zarr)")
            if "geozarr" in wanted:
                jobs.append(Job("geozarr (Zarr), ndpyramid range", sub.name, "geozarr",
                                {"source": str(source), "minzoom": minzoom, "maxzoom": top,
                                 "resampling": RESAMPLING, "export": False}))
                sub.rows.append("geozarr (Zarr), ndpyramid range")
            blocks.append(sub)
        else:
            full.unavailable["ndpyramid"] = reason
            notes["ndpyramid"] = (f"{reason}; no level of z{minzoom}-z{maxzoom} fits "
                                  f"--ndpyramid-max-bytes")
    return jobs, blocks, notes


def _size(nbytes: int) -> str:
    for unit, scale in (("TiB", 2**40), ("GiB", 2**30)):
        if nbytes >= scale:
            return f"{nbytes / scale:.1f} {unit}"
    return f"{nbytes / MIB:.0f} MiB"


# -- the rounds -----------------------------------------------------------------------------------
def measure(settings: Settings, jobs: list[Job], blocks: list[Block], workroot: Path,
            probe: ScalingProbe) -> tuple[list[Sample], list[str], dict[str, Any]]:
    """Run every job once per round, the order rotating by one each round; check the first
    outputs (untimed). Returns the samples, the probe lines and the output checks."""
    samples: list[Sample] = []
    probes = [probe.run().line()]
    print(probes[-1], flush=True)
    checks: dict[str, Any] = {}
    by_block = {block.name: block for block in blocks}
    for number in range(settings.rounds):
        shift = number % max(1, len(jobs))
        order = jobs[shift:] + jobs[:shift]
        for job in order:
            workdir = workroot / _slug(job.row)
            block = by_block[job.block]
            try:
                taken = run_job(job, number, workdir, settings.timeout)
            except (RuntimeError, OSError, ValueError, KeyError) as error:
                block.failures[job.row] = str(error)
                print(f"  round {number + 1}: {job.row}: FAILED {error}", flush=True)
                continue
            rows = [taken]
            if job.row == "geozarr (Zarr) + PNG export":
                # The same process's build phase alone, with its own high-water mark.
                rows = [replace(taken, row="geozarr (Zarr)", seconds=taken.phases["build"],
                                peak_bytes=taken.build_peak or taken.peak_bytes), taken]
            samples.extend(rows)
            for sample in rows:
                print(f"  round {number + 1}: {sample.row}: {sample.seconds:.2f} s "
                      f"({block.tiles / sample.seconds:.1f} tiles/s), peak "
                      f"{sample.peak_bytes / MIB:.0f} MiB", flush=True)
        if number == 0:
            checks = check_outputs(workroot, jobs)
        for job in jobs:
            shutil.rmtree(workroot / _slug(job.row), ignore_errors=True)
        probes.append(probe.run().line())
        print(probes[-1], flush=True)
    return samples, probes, checks


def _slug(row: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in row.lower()).strip("-")


# -- output checks (untimed) ----------------------------------------------------------------------
def check_outputs(workroot: Path, jobs: list[Job]) -> dict[str, Any]:
    """Compare what the first round wrote: tile counts per level, and the imagery of
    geozarr's exported PNGs against the gdal2tiles algorithm's on the tiles both wrote."""
    checks: dict[str, Any] = {}
    rows = {job.row for job in jobs}
    geozarr_png = workroot / _slug("geozarr (Zarr) + PNG export") / "png"
    peer_png = workroot / _slug("gdal2tiles algorithm (rasterio, PNG)")
    if "geozarr (Zarr) + PNG export" in rows and "gdal2tiles algorithm (rasterio, PNG)" in rows \
            and geozarr_png.is_dir() and peer_png.is_dir():
        checks["geozarr_vs_gdal2tiles"] = compare_png_trees(geozarr_png, peer_png)
    return checks


def compare_png_trees(ours: Path, theirs: Path, per_level: int = 40) -> dict[str, Any]:
    """Per level: tiles only one side wrote, and on up to ``per_level`` tiles both wrote,
    the mean absolute grey difference where both are opaque and the share of pixels whose
    opacity agrees."""
    import rasterio
    from rasterio.errors import NotGeoreferencedWarning
    import warnings

    report: dict[str, Any] = {}
    for level in sorted((p.name for p in ours.iterdir() if p.name.isdigit()), key=int):
        mine = {p.relative_to(ours / level) for p in (ours / level).rglob("*.png")}
        other = {p.relative_to(theirs / level) for p in (theirs / level).rglob("*.png")}
        both = sorted(mine & other)
        step = max(1, len(both) // per_level)
        diffs, agree, opaque = [], 0, 0
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            for tile in both[::step]:
                with rasterio.open(ours / level / tile) as a:
                    rgba = a.read()
                with rasterio.open(theirs / level / tile) as b:
                    grey_alpha = b.read()
                a_opaque = rgba[3] == 255
                b_opaque = grey_alpha[1] == 255
                agree += int(np.count_nonzero(a_opaque == b_opaque))
                opaque += a_opaque.size
                shared = a_opaque & b_opaque
                if shared.any():
                    delta = np.abs(rgba[0][shared].astype(np.int16)
                                   - grey_alpha[0][shared].astype(np.int16))
                    diffs.append(float(delta.mean()))
        report[level] = {"geozarr_only": len(mine - other), "gdal2tiles_only": len(other - mine),
                         "compared": len(both[::step]),
                         "mean_abs_grey_diff": round(statistics.fmean(diffs), 3)
                         if diffs else None,
                         "alpha_agreement": round(agree / opaque, 4) if opaque else None}
    return report


# -- the report -----------------------------------------------------------------------------------
def summarise(blocks: list[Block], samples: list[Sample]) -> dict[str, Any]:
    """Median seconds, tiles per second and peak memory of every row, and the ratios."""
    summary: dict[str, Any] = {}
    for block in blocks:
        rows: dict[str, Any] = {}
        for row in block.rows:
            taken = [s for s in samples if s.row == row]
            if not taken:
                continue
            seconds = statistics.median(s.seconds for s in taken)
            rows[row] = {
                "rounds": len(taken),
                "median_s": seconds, "best_s": min(s.seconds for s in taken),
                "tiles_per_s": block.tiles / seconds,
                "peak_mib": max(s.peak_bytes for s in taken) / MIB,
                "baseline_mib": statistics.median(s.baseline_rss for s in taken) / MIB,
                "phases_median_s": {p: statistics.median(s.phases[p] for s in taken)
                                    for p in taken[0].phases},
                "written": taken[0].written,
            }
        summary[block.name] = {"minzoom": block.minzoom, "maxzoom": block.maxzoom,
                               "tiles": block.tiles, "rows": rows,
                               "unavailable": block.unavailable, "failures": block.failures,
                               "ratios": ratios(block.name, rows)}
    return summary


REFERENCE = {"full": ("geozarr (Zarr)", "geozarr (Zarr) + PNG export"),
             "ndpyramid range": ("geozarr (Zarr), ndpyramid range",)}


def ratios(block: str, rows: dict[str, Any]) -> dict[str, Any]:
    """For each geozarr row and each peer: geozarr's tiles/s over the peer's, and the
    peer's peak memory over geozarr's (both above 1 when geozarr is better)."""
    found: dict[str, Any] = {}
    for ours in REFERENCE.get(block, ()):
        if ours not in rows:
            continue
        for peer, figures in rows.items():
            if peer.startswith("geozarr"):
                continue
            found[f"{ours} vs {peer}"] = {
                "speed": rows[ours]["tiles_per_s"] / figures["tiles_per_s"],
                "memory": figures["peak_mib"] / rows[ours]["peak_mib"]}
    return found


def format_report(summary: dict[str, Any], notes: dict[str, Any], probes: list[str],
                  checks: dict[str, Any]) -> str:
    """The printed tables, ratios, target lines and notes."""
    lines = []
    for name, block in summary.items():
        title = "same zoom range for every tool" if name == "full" else \
            "the levels ndpyramid can build"
        lines.append(f"\n== z{block['minzoom']}-z{block['maxzoom']} ({title}): "
                     f"{block['tiles']} tiles ==")
        lines.append(f"{'row':<44} {'median s':>9} {'best s':>8} {'tiles/s':>9} "
                     f"{'peak MiB':>9} {'base MiB':>9}  phases (median s)")
        for row, figures in block["rows"].items():
            phases = ", ".join(f"{p} {v:.2f}" for p, v in figures["phases_median_s"].items())
            lines.append(f"{row:<44} {figures['median_s']:>9.2f} {figures['best_s']:>8.2f} "
                         f"{figures['tiles_per_s']:>9.1f} {figures['peak_mib']:>9.0f} "
                         f"{figures['baseline_mib']:>9.0f}  {phases}")
        for row, why in block["unavailable"].items():
            lines.append(f"{row:<44} n/a: {why}")
        for row, why in block["failures"].items():
            lines.append(f"{row:<44} FAILED: {why}")
        for pair, ratio in block["ratios"].items():
            lines.append(f"  {pair}: {ratio['speed']:.2f}x the tiles/s, "
                         f"peer peak memory {ratio['memory']:.2f}x geozarr's")
        lines.extend(target_lines(block))
    lines.append("")
    for key, value in notes.items():
        if key != "plan":
            lines.append(f"note ({key}): {value}")
    for pair, levels in checks.items():
        lines.append(f"output check ({pair}):")
        for level, facts in levels.items():
            lines.append(f"  z{level}: {facts}")
    lines.extend(probes)
    return "\n".join(lines)


def target_lines(block: dict[str, Any]) -> list[str]:
    """The issue's target on one block: at least 2x the fastest peer's tiles/s, at lower
    peak memory (printed only; never asserted)."""
    rows = block["rows"]
    peers = {row: f for row, f in rows.items() if not row.startswith("geozarr")}
    if not peers:
        return []
    fastest = max(peers, key=lambda row: peers[row]["tiles_per_s"])
    out = []
    for ours in ("geozarr (Zarr)", "geozarr (Zarr) + PNG export",
                 "geozarr (Zarr), ndpyramid range"):
        if ours not in rows:
            continue
        speed = rows[ours]["tiles_per_s"] / peers[fastest]["tiles_per_s"]
        lower = rows[ours]["peak_mib"] < peers[fastest]["peak_mib"]
        met = "MET" if speed >= 2 and lower else "not met"
        out.append(f"  target (>= 2x the fastest peer's tiles/s at lower peak memory), "
                   f"{ours} vs {fastest}: {speed:.2f}x, memory "
                   f"{'lower' if lower else 'not lower'} -> {met}")
    return out


def versions() -> dict[str, str]:
    """Versions of everything measured."""
    found = {"python": platform.python_version()}
    for name in ("numpy", "numcodecs", "rasterio", "ndpyramid", "xarray", "rioxarray", "zarr",
                 "dask", "morecantile"):
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            found[name] = "not installed"
    import rasterio

    found["gdal"] = rasterio.__gdal_version__
    found["geozarr"] = _geozarr_version()
    return found


def _geozarr_version() -> str:
    try:
        return importlib.metadata.version("geozarr")
    except importlib.metadata.PackageNotFoundError:
        return "working tree"


# -- command line -----------------------------------------------------------------------------------
def parse_args(argv: Sequence[str] | None = None) -> Settings:
    """The run's settings from the command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="a 4096x4096 source (about 2 minutes)")
    parser.add_argument("--size", type=int, default=None,
                        help="edge of the square source, a multiple of 512 (16384; 4096 "
                             "with --quick)")
    parser.add_argument("--rounds", type=int, default=2, help="interleaved rounds (2)")
    parser.add_argument("--impls", default=",".join(IMPLS),
                        help=f"which builders ({','.join(IMPLS)})")
    parser.add_argument("--minzoom", type=int, default=None,
                        help="coarsest level (default: the plan's, data in one tile)")
    parser.add_argument("--maxzoom", type=int, default=None,
                        help="finest level (default: the plan's, the source's resolution)")
    parser.add_argument("--ndpyramid-max-bytes", type=int, default=None,
                        help="largest full-world level ndpyramid is given, in bytes "
                             "(1 GiB; 256 MiB with --quick)")
    parser.add_argument("--data-dir", type=Path, default=BENCH_DIR / "data",
                        help="source cache and build outputs (git-ignored)")
    parser.add_argument("--timeout", type=float, default=3600.0,
                        help="seconds one build may take before it is stopped")
    parser.add_argument("--out", type=Path, default=None, help="write every figure as JSON")
    args = parser.parse_args(argv)
    size = args.size or (4096 if args.quick else 16384)
    if size % 512 or size < 512:
        parser.error("--size must be a positive multiple of 512")
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    impls = tuple(name.strip() for name in args.impls.split(",") if name.strip())
    unknown = sorted(set(impls) - set(IMPLS))
    if unknown:
        parser.error(f"unknown builders {unknown}; choose from {', '.join(IMPLS)}")
    cap = args.ndpyramid_max_bytes or (256 * MIB if args.quick else 1024 * MIB)
    return Settings(size=size, rounds=args.rounds, impls=impls, minzoom=args.minzoom,
                    maxzoom=args.maxzoom, ndpyramid_max_bytes=cap, data_dir=args.data_dir,
                    out=args.out, timeout=args.timeout)


def main(argv: Sequence[str] | None = None) -> int:
    settings = parse_args(argv)
    started = datetime.datetime.now(datetime.timezone.utc)
    source = ensure_source(settings.data_dir, settings.size)
    jobs, blocks, notes = plan_jobs(settings, source)
    plan = notes["plan"]
    print(f"source {source.name}: {settings.size}x{settings.size} uint8, {SOURCE_CRS}, "
          f"{PIXEL_SIZE:g} m pixels ({plan['source_resolution_m']:.2f} m in EPSG:3857); "
          f"z{plan['minzoom']}-z{plan['maxzoom']} (z{plan['maxzoom']} cell "
          f"{plan['maxzoom_cell_m']:.2f} m), resampling {RESAMPLING}, "
          f"{settings.rounds} round(s); load average {os.getloadavg()[0]:.2f}", flush=True)
    for block in blocks:
        for row, why in block.unavailable.items():
            print(f"  {row}: n/a: {why}", flush=True)
    workroot = settings.data_dir / "pyramid" / "build-runs"
    probe = ScalingProbe(_probe_source(), chunks=64)
    try:
        samples, probes, checks = measure(settings, jobs, blocks, workroot, probe)
    finally:
        probe.close()
        shutil.rmtree(workroot, ignore_errors=True)
    summary = summarise(blocks, samples)
    print(format_report(summary, notes, probes, checks), flush=True)
    if settings.out is not None:
        settings.out.parent.mkdir(parents=True, exist_ok=True)
        document = {
            "started": started.isoformat(), "settings": {
                **asdict(settings), "data_dir": str(settings.data_dir),
                "out": str(settings.out)},
            "machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                        "load_average_end": os.getloadavg()},
            "source": {"path": str(source), "size": settings.size, "crs": SOURCE_CRS,
                       "pixel_m": PIXEL_SIZE, "formula": FORMULA, "seed": SEED},
            "versions": versions(), "notes": notes, "probes": probes, "checks": checks,
            "summary": summary, "samples": [asdict(s) for s in samples]}
        settings.out.write_text(json.dumps(document, indent=1, default=str))
        print(f"wrote {settings.out}")
    return 0


def _probe_source() -> np.ndarray:
    """A uint16 raster to cut the 2-thread probe's zstd chunks from."""
    rng = np.random.default_rng(SEED)
    y, x = np.mgrid[0:2048, 0:2048].astype(np.float64)
    values = 1000 + 50 * (np.sin(x / 70) + np.cos(y / 90)) + rng.normal(0, 2, x.shape)
    return values.astype(np.uint16)


if __name__ == "__main__":
    sys.exit(main())
