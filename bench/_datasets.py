"""Benchmark datasets: the synthetic raster, its three encodings and their on-disk cache.

The raster is the one of ``perf_anchors.md`` section 2, so figures can be compared with the
numbers measured there::

    1000 + 50 * (3 sin(x/700) + 2.5 cos(y/900) + 1.5 sin((x+y)/310)
                 + 0.8 sin(x/53) cos(y/71)) + N(0, 2)

rounded and cast to uint16 (x is the column, y the row). It compresses about 2.6x with
zstd-3, like real elevation or temperature data and unlike the 26x synthetic cubes of the
published zarr benchmarks. Each dataset is written once with zarr-python's default pipeline
into a cache directory and reused while its marker file matches.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

CHUNK = 512
"""Edge of the square (inner) chunks of every dataset."""

SEED = 20_250_601
"""Seed of the N(0, 2) noise: the raster is the same in every run and every process."""

FORMULA_VERSION = 1
"""Bump when the raster formula or an encoding changes, so stale caches are rewritten."""

_STRIP_ROWS = 512


@dataclass(frozen=True)
class DatasetSpec:
    """One encoding of the benchmark raster.

    Attributes
    ----------
    name : str
        Command-line name, e.g. ``"v3-zstd"``.
    zarr_format : int
        2 or 3.
    compressor : str
        ``"zstd"`` (level 3, no checksum) or ``"blosc"`` (lz4, clevel 5, byte shuffle).
    sharded : bool
        Whether chunks are grouped into shards (v3 only; index bytes + crc32c at the end).
    """

    name: str
    zarr_format: int
    compressor: str
    sharded: bool


DATASETS: dict[str, DatasetSpec] = {
    spec.name: spec
    for spec in (
        DatasetSpec("v3-zstd", 3, "zstd", False),
        DatasetSpec("v2-blosc", 2, "blosc", False),
        DatasetSpec("v3-sharded", 3, "zstd", True),
    )
}


@dataclass(frozen=True)
class Layout:
    """Shape of the square uint16 array and of its chunks and shards.

    Attributes
    ----------
    size : int
        Edge of the array, a multiple of :data:`CHUNK`.
    shard : int
        Edge of the shards of sharded datasets: 4096 (as in ``perf_anchors.md``) when the
        array holds at least 2x2 such shards, otherwise half the array (so ``--quick``
        still has several shards with several inner chunks each).
    """

    size: int
    shard: int

    @classmethod
    def for_size(cls, size: int) -> Layout:
        """Return the layout used for an array of edge ``size``."""
        shard = 4096 if size >= 8192 else max(CHUNK, (size // 2) // CHUNK * CHUNK)
        return cls(size=size, shard=shard)

    @property
    def shape(self) -> tuple[int, int]:
        """Array shape."""
        return (self.size, self.size)

    @property
    def nbytes(self) -> int:
        """Uncompressed size of the array in bytes."""
        return self.size * self.size * 2


def describe(spec: DatasetSpec, layout: Layout) -> str:
    """Return a one-line human description of a dataset's encoding."""
    codec = "bytes + zstd(3)" if spec.compressor == "zstd" else "blosc(lz4, clevel 5, shuffle)"
    chunks = f"{CHUNK}x{CHUNK} chunks"
    if spec.sharded:
        chunks = f"{layout.shard}x{layout.shard} shards of {chunks}, index crc32c at end"
    return f"v{spec.zarr_format}, {chunks}, {codec}"


def generate(size: int) -> np.ndarray:
    """Return the benchmark raster of edge ``size`` as a new C-ordered uint16 array.

    The trigonometric terms are separable (``sin(a + b)`` is expanded), so the raster is
    built strip by strip from 1-D vectors and costs little more than drawing the noise.
    """
    out = np.empty((size, size), dtype=np.uint16)
    x = np.arange(size, dtype=np.float64)
    col_term = 3.0 * np.sin(x / 700.0)
    sin_x310, cos_x310 = np.sin(x / 310.0), np.cos(x / 310.0)
    sin_x53 = np.sin(x / 53.0)
    rng = np.random.default_rng(SEED)
    for row0 in range(0, size, _STRIP_ROWS):
        y = np.arange(row0, min(row0 + _STRIP_ROWS, size), dtype=np.float64)[:, None]
        field = (
            col_term
            + 2.5 * np.cos(y / 900.0)
            + 1.5 * (sin_x310 * np.cos(y / 310.0) + cos_x310 * np.sin(y / 310.0))
            + 0.8 * sin_x53 * np.cos(y / 71.0)
        )
        values = 1000.0 + 50.0 * field + rng.normal(0.0, 2.0, size=field.shape)
        out[row0 : row0 + len(y)] = np.rint(values).astype(np.uint16)
    return out


def zarr_python_create_kwargs(spec: DatasetSpec, layout: Layout) -> dict[str, object]:
    """Return the ``zarr.create_array`` keywords that produce ``spec``'s encoding."""
    import numcodecs
    from zarr.codecs import ZstdCodec

    kwargs: dict[str, object] = {
        "shape": layout.shape,
        "chunks": (CHUNK, CHUNK),
        "dtype": "uint16",
        "fill_value": 0,
        "zarr_format": spec.zarr_format,
    }
    if spec.compressor == "zstd":
        kwargs["compressors"] = ZstdCodec(level=3, checksum=False)
    else:
        kwargs["compressors"] = numcodecs.Blosc(
            cname="lz4", clevel=5, shuffle=numcodecs.Blosc.SHUFFLE
        )
    if spec.sharded:
        kwargs["shards"] = (layout.shard, layout.shard)
    return kwargs


def ensure_dataset(spec: DatasetSpec, layout: Layout, data_dir: Path, source: np.ndarray) -> Path:
    """Return the path of ``spec``'s cached dataset, writing it first when missing or stale.

    The cache is valid when ``<name>.json`` beside the array records the same formula
    version, seed, layout and encoding; the marker is written only after the array is
    complete, so an interrupted write is redone on the next run.
    """
    import zarr

    root = data_dir / f"s{layout.size}"
    path = root / f"{spec.name}.zarr"
    marker = root / f"{spec.name}.json"
    expected = {
        "formula_version": FORMULA_VERSION,
        "seed": SEED,
        "layout": asdict(layout),
        "dataset": asdict(spec),
    }
    if path.is_dir() and marker.is_file() and json.loads(marker.read_text()) == expected:
        return path
    shutil.rmtree(path, ignore_errors=True)
    marker.unlink(missing_ok=True)
    root.mkdir(parents=True, exist_ok=True)
    with zarr.config.set({"codec_pipeline.path": "zarr.core.codec_pipeline.BatchedCodecPipeline"}):
        array = zarr.create_array(store=str(path), **zarr_python_create_kwargs(spec, layout))
        array[...] = source
    marker.write_text(json.dumps(expected, indent=2) + "\n")
    return path


def stored_nbytes(path: Path) -> int:
    """Return the total size in bytes of the files under ``path``."""
    total = 0
    for folder, _dirs, files in os.walk(path):
        total += sum(os.path.getsize(os.path.join(folder, name)) for name in files)
    return total


def stored_codecs(path: Path) -> str:
    """Return the codec chain recorded in a dataset's metadata, e.g. ``"bytes+zstd(3)"``.

    Used to check that every implementation wrote the same encoding, so write times are
    comparable.
    """
    v3 = path / "zarr.json"
    if v3.is_file():
        return _v3_chain(json.loads(v3.read_text())["codecs"])
    meta = json.loads((path / ".zarray").read_text())
    compressor = meta.get("compressor") or {}
    parts = [f["id"] for f in meta.get("filters") or []]
    if compressor:
        shown = ("cname", "clevel", "shuffle", "level")
        params = ",".join(f"{k}={v}" for k, v in sorted(compressor.items()) if k in shown)
        parts.append(f"{compressor['id']}({params})")
    return "+".join(parts) or "raw"


def _v3_chain(codecs: list[dict[str, object]]) -> str:
    parts = []
    for codec in codecs:
        name = str(codec["name"])
        config = codec.get("configuration") or {}
        if not isinstance(config, dict):
            config = {}
        if name == "sharding_indexed":
            inner = _v3_chain(config.get("codecs", []))
            index = _v3_chain(config.get("index_codecs", []))
            where = config.get("index_location", "end")
            parts.append(f"sharding[{inner}; index {index} at {where}]")
        elif "level" in config:
            parts.append(f"{name}({config['level']})")
        else:
            parts.append(name)
    return "+".join(parts)
