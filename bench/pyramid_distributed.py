"""Pyramid build: local threads beside a 2-worker dask LocalCluster, the cost of going
distributed.

The same ``build_pyramid`` runs on the local thread pool (as many threads as cores) and on a
``LocalCluster`` of as many single-threaded worker processes on loopback, in interleaved
rounds whose order alternates, so that the noise of a shared machine hits both alike. The
cluster is started (and its workers warmed up) once, untimed: what is measured is a build
on a running cluster, which is what a user of ``client=`` pays. The first round's two
outputs are compared file by file; they must be the same bytes.

The workers are started without dask's ``MALLOC_TRIM_THRESHOLD_=65536`` (the setting
``docs/scale-out.md`` recommends for this work: fixing glibc's trim threshold also fixes its
mmap threshold, so every large numpy buffer is mapped and faulted in afresh, which costs
geozarr's decode-reduce-encode loops about a third more time); ``--dask-malloc-default``
keeps dask's default to show that cost.

Usage::

    python bench/pyramid_distributed.py --quick            # smoke test, well under a minute
    python bench/pyramid_distributed.py                    # 8192 x 8192 float32, 3 rounds
    python bench/pyramid_distributed.py --size 16384 --rounds 5 --out bench/results/pyr.json
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent
# Benchmark the working tree's geozarr (it need not be pip-installed).
sys.path.insert(1, str(REPO_DIR))

import numpy as np  # noqa: E402
import rasterio  # noqa: E402
from affine import Affine  # noqa: E402

import geozarr  # noqa: E402

#: The target of issue 8: a distributed build at most this much slower than a local one.
TARGET_OVERHEAD = 0.15
FORMULA = "pyramid-source/1"


def source_path(data_dir: Path, size: int) -> Path:
    """A ``size`` x ``size`` float32 GeoTIFF in UTM 33N at 10 m (smooth field plus noise,
    fixed seed, DEFLATE, 512 x 512 tiles), written once and cached beside a marker."""
    path = data_dir / f"pyramid_{size}.tif"
    marker = path.with_suffix(".json")
    expected = {"formula": FORMULA, "size": size}
    if path.exists() and marker.exists() and json.loads(marker.read_text()) == expected:
        return path
    data_dir.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(8)
    profile = {"driver": "GTiff", "width": size, "height": size, "count": 1,
               "dtype": "float32", "crs": "EPSG:32633", "nodata": -9999.0,
               "transform": Affine(10.0, 0.0, 400000.0, 0.0, -10.0, 5000000.0),
               "tiled": True, "blockxsize": 512, "blockysize": 512, "compress": "deflate",
               "predictor": 3}
    with rasterio.open(path, "w", **profile) as dataset:
        for row in range(0, size, 512):
            rows, cols = np.mgrid[row:row + 512, 0:size]
            field = (np.sin(cols / 370.0) + np.cos(rows / 230.0)) * 100 + 50 \
                + rng.normal(0, 2, (512, size))
            dataset.write(field.astype("float32")[np.newaxis],
                          window=rasterio.windows.Window(0, row, size, 512))
    marker.write_text(json.dumps(expected))
    return path


def digest(root: Path) -> dict[str, str]:
    """sha256 of every file under ``root``, by relative path."""
    found = {}
    for folder, _, files in os.walk(root):
        for name in files:
            path = Path(folder) / name
            found[str(path.relative_to(root))] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def peak_rss_mib() -> float:
    """This process's peak resident memory so far, MiB (Linux reports KiB)."""
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timed_build(source: Path, target: Path, client: Any, options: dict[str, Any]) -> float:
    start = time.perf_counter()
    geozarr.build_pyramid(source, target, client=client, **options)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=None,
                        help="edge of the square source, pixels (8192; 2048 with --quick)")
    parser.add_argument("--rounds", type=int, default=None, help="timed rounds (3; 1 quick)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                        help="worker processes of the cluster, and local threads")
    parser.add_argument("--tms", default="WebMercatorQuad")
    parser.add_argument("--memory-limit", type=int, default=512 * 2**20,
                        help="bytes per build (local) and per worker (distributed)")
    parser.add_argument("--data-dir", type=Path, default=BENCH_DIR / "data" / "pyramid")
    parser.add_argument("--out", type=Path, default=None, help="write the samples as JSON")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--dask-malloc-default", action="store_true",
                        help="keep dask's MALLOC_TRIM_THRESHOLD_=65536 on the workers")
    args = parser.parse_args()
    size = args.size or (2048 if args.quick else 8192)
    rounds = args.rounds or (1 if args.quick else 3)

    import dask
    from distributed import Client, LocalCluster

    if not args.dask_malloc_default:  # None unsets it (before the worker processes start)
        dask.config.set({"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None})

    source = source_path(args.data_dir, size)
    options = {"tms": args.tms, "memory_limit": args.memory_limit}
    plan = geozarr.plan_pyramid(source, args.tms)
    print(f"source {size}x{size} float32, {plan.tiles} tiles in levels "
          f"{plan.maxzoom}..{plan.minzoom} of {args.tms}; {args.workers} local threads vs "
          f"{args.workers} worker processes x 1 thread; worker MALLOC_TRIM_THRESHOLD_ "
          f"{'65536 (dask default)' if args.dask_malloc_default else 'unset'}")
    scratch = Path(tempfile.mkdtemp(prefix="geozarr-bench-pyramid-"))
    samples: dict[str, list[float]] = {"local": [], "distributed": []}
    try:
        started = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            cluster = LocalCluster(n_workers=args.workers, threads_per_worker=1,
                                   processes=True, host="127.0.0.1", dashboard_address=None,
                                   silence_logs=logging.ERROR)
        with cluster, Client(cluster) as client:
            startup = time.perf_counter() - started
            small = source_path(args.data_dir, 1024)  # warm-up: imports on every worker
            geozarr.build_pyramid(small, scratch / "warm.zarr", client=client, **options)
            warm = client.run(peak_rss_mib)
            print(f"cluster start {startup:.2f} s (untimed below); worker peak RSS after a "
                  f"small build: {', '.join(f'{v:.0f}' for v in warm.values())} MiB")
            for index in range(rounds):
                order = ("local", "distributed") if index % 2 == 0 else ("distributed", "local")
                for kind in order:
                    target = scratch / f"{kind}-{index}.zarr"
                    seconds = timed_build(source, target, client if kind == "distributed"
                                          else None, {**options, "workers": args.workers})
                    samples[kind].append(seconds)
                    print(f"round {index + 1} {kind:>11}: {seconds:7.2f} s")
                if index == 0 and digest(scratch / "local-0.zarr") != \
                        digest(scratch / "distributed-0.zarr"):
                    raise SystemExit("the distributed output differs from the local one")
                for kind in order:
                    shutil.rmtree(scratch / f"{kind}-{index}.zarr")
            peaks = client.run(peak_rss_mib)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    local = statistics.median(samples["local"])
    remote = statistics.median(samples["distributed"])
    overhead = remote / local - 1
    verdict = "meets" if overhead <= TARGET_OVERHEAD else "MISSES"
    print(f"median local {local:.2f} s, distributed {remote:.2f} s: overhead "
          f"{overhead * 100:+.1f}% ({verdict} the {TARGET_OVERHEAD:.0%} target); outputs "
          f"identical")
    print(f"peak RSS: local process {peak_rss_mib():.0f} MiB (both kinds of build ran in "
          f"it), workers {', '.join(f'{v:.0f}' for v in peaks.values())} MiB")
    if args.out is not None:
        args.out.write_text(json.dumps({
            "size": size, "tms": args.tms, "tiles": plan.tiles, "workers": args.workers,
            "memory_limit": args.memory_limit, "cluster_start_s": startup,
            "dask_malloc_default": args.dask_malloc_default,
            "worker_peak_rss_mib": list(peaks.values()),
            "samples_s": samples, "median_s": {"local": local, "distributed": remote},
            "overhead": overhead, "python": platform.python_version(),
            "versions": {name: __import__(name).__version__
                         for name in ("geozarr", "dask", "distributed", "rasterio", "numpy")},
        }, indent=2))


if __name__ == "__main__":
    main()
