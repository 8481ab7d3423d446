"""The implementations under test, each behind the same small adapter.

An adapter is bound to one dataset: :meth:`Implementation.open` opens it once (untimed), then
the harness times :meth:`read_full`, :meth:`read_window` and :meth:`write`.
:meth:`prepare` runs untimed before every timed read (GDAL uses it to drop its block cache).

zarr-python and zarrs-python share one package: the codec pipeline is process-global
configuration, read when an array is opened or created. Each variant therefore opens and
creates its arrays inside ``with zarr.config.set({"codec_pipeline.path": ...})`` and checks
that the opened array really holds the expected pipeline class (zarrs runs with
``codec_pipeline.strict`` so it never falls back silently to the default pipeline).
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np

from _datasets import CHUNK, DatasetSpec, Layout, zarr_python_create_kwargs

IMPL_NAMES = ("geozarr", "zarr", "zarrs", "tensorstore", "gdal")
"""Names accepted by ``--impls``."""

DEFAULT_PIPELINE = "zarr.core.codec_pipeline.BatchedCodecPipeline"
ZARRS_PIPELINE = "zarrs.ZarrsCodecPipeline"


class ImplementationUnavailable(RuntimeError):
    """An implementation cannot open, or does not support, a dataset."""


class Implementation:
    """Adapter base: one implementation bound to one dataset.

    Parameters
    ----------
    spec, layout
        The dataset the adapter reads and the encoding its writes must produce.
    """

    label = "?"
    """Row label in the printed tables."""
    can_write = True

    def __init__(self, spec: DatasetSpec, layout: Layout) -> None:
        self.spec = spec
        self.layout = layout

    def open(self, path: Path) -> None:
        """Open the dataset at ``path`` for reading (untimed)."""
        raise NotImplementedError

    def prepare(self) -> None:
        """Run untimed before each timed read; a no-op unless the reader caches blocks."""

    def read_full(self) -> np.ndarray:
        """Read the whole array."""
        raise NotImplementedError

    def read_window(self, row: int, col: int, height: int, width: int) -> np.ndarray:
        """Read ``[row:row+height, col:col+width]``."""
        raise NotImplementedError

    def write(self, path: Path, data: np.ndarray) -> None:
        """Create a new array at ``path`` with the dataset's encoding and write ``data``."""
        raise NotImplementedError

    def close(self) -> None:
        """Release what :meth:`open` acquired."""


class ZarrPython(Implementation):
    """zarr-python 3 with its default ``BatchedCodecPipeline``."""

    label = "zarr-python"
    pipeline = DEFAULT_PIPELINE
    pipeline_class = "BatchedCodecPipeline"

    def _config(self) -> Any:
        import zarr

        if self.pipeline == ZARRS_PIPELINE:
            import zarrs  # noqa: F401  (registers the pipeline class)
        return zarr.config.set(
            {"codec_pipeline.path": self.pipeline, "codec_pipeline.strict": True}
        )

    def _check_pipeline(self, array: Any) -> None:
        found = type(array._async_array.codec_pipeline).__name__
        if found != self.pipeline_class:
            raise ImplementationUnavailable(
                f"{self.label}: array opened with codec pipeline {found}, "
                f"expected {self.pipeline_class}"
            )

    def open(self, path: Path) -> None:
        import zarr

        with self._config():
            self._array = zarr.open_array(str(path), mode="r")
        self._check_pipeline(self._array)

    def read_full(self) -> np.ndarray:
        return self._array[...]

    def read_window(self, row: int, col: int, height: int, width: int) -> np.ndarray:
        return self._array[row : row + height, col : col + width]

    def write(self, path: Path, data: np.ndarray) -> None:
        import zarr

        with self._config():
            kwargs = zarr_python_create_kwargs(self.spec, self.layout)
            array = zarr.create_array(store=str(path), **kwargs)
        self._check_pipeline(array)
        array[...] = data


class Zarrs(ZarrPython):
    """zarr-python 3 with the zarrs (Rust) codec pipeline, strict (no silent fallback)."""

    label = "zarrs"
    pipeline = ZARRS_PIPELINE
    pipeline_class = "ZarrsCodecPipeline"


class TensorStore(Implementation):
    """tensorstore's ``zarr3`` / ``zarr`` (v2) driver with the default context."""

    label = "tensorstore"

    def _kvstore(self, path: Path) -> dict[str, str]:
        return {"driver": "file", "path": str(path)}

    def _driver(self) -> str:
        return "zarr3" if self.spec.zarr_format == 3 else "zarr"

    def open(self, path: Path) -> None:
        import tensorstore as ts

        spec = {"driver": self._driver(), "kvstore": self._kvstore(path)}
        self._store = ts.open(spec, open=True, read=True).result()

    def read_full(self) -> np.ndarray:
        return self._store.read().result()

    def read_window(self, row: int, col: int, height: int, width: int) -> np.ndarray:
        return self._store[row : row + height, col : col + width].read().result()

    def _metadata(self) -> dict[str, Any]:
        shape = list(self.layout.shape)
        if self.spec.zarr_format == 2:
            return {
                "shape": shape,
                "chunks": [CHUNK, CHUNK],
                "dtype": "<u2",
                "fill_value": 0,
                "order": "C",
                "filters": None,
                "dimension_separator": ".",
                "compressor": {
                    "id": "blosc", "cname": "lz4", "clevel": 5, "shuffle": 1, "blocksize": 0
                },
            }
        chunk_codecs = [
            {"name": "bytes", "configuration": {"endian": "little"}},
            {"name": "zstd", "configuration": {"level": 3, "checksum": False}},
        ]
        grid_edge = CHUNK
        codecs = chunk_codecs
        if self.spec.sharded:
            grid_edge = self.layout.shard
            codecs = [
                {
                    "name": "sharding_indexed",
                    "configuration": {
                        "chunk_shape": [CHUNK, CHUNK],
                        "codecs": chunk_codecs,
                        "index_codecs": [
                            {"name": "bytes", "configuration": {"endian": "little"}},
                            {"name": "crc32c"},
                        ],
                        "index_location": "end",
                    },
                }
            ]
        return {
            "shape": shape,
            "data_type": "uint16",
            "chunk_grid": {
                "name": "regular", "configuration": {"chunk_shape": [grid_edge, grid_edge]}
            },
            "chunk_key_encoding": {"name": "default", "configuration": {"separator": "/"}},
            "fill_value": 0,
            "codecs": codecs,
        }

    def write(self, path: Path, data: np.ndarray) -> None:
        import tensorstore as ts

        spec = {
            "driver": self._driver(),
            "kvstore": self._kvstore(path),
            "metadata": self._metadata(),
        }
        store = ts.open(spec, create=True).result()
        store.write(data).result()


class Gdal(Implementation):
    """GDAL's Zarr driver through rasterio (reads only).

    GDAL keeps a block cache per dataset, so :meth:`prepare` reopens the dataset before every
    timed read; otherwise repeated reads would be served from the cache, not from the files.
    """

    label = "gdal"
    can_write = False

    def _open(self) -> Any:
        import rasterio
        from rasterio.errors import NotGeoreferencedWarning

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            return rasterio.open(self._path)

    def open(self, path: Path) -> None:
        from rasterio.errors import RasterioError

        self._path = str(path)
        try:
            self._dataset = self._open()
        except RasterioError as exc:
            raise ImplementationUnavailable(f"gdal cannot open the dataset: {exc}") from exc

    def prepare(self) -> None:
        self._dataset.close()
        self._dataset = self._open()

    def read_full(self) -> np.ndarray:
        return self._dataset.read(1)

    def read_window(self, row: int, col: int, height: int, width: int) -> np.ndarray:
        from rasterio.windows import Window

        return self._dataset.read(1, window=Window(col, row, width, height))

    def close(self) -> None:
        self._dataset.close()


class Geozarr(Implementation):
    """geozarr's core: ``open_array``, ``a[...]``, ``create_array`` and ``a[...] = data``."""

    label = "geozarr"

    def open(self, path: Path) -> None:
        import geozarr

        self._array = geozarr.open_array(str(path))

    def read_full(self) -> np.ndarray:
        return self._array[...]

    def read_window(self, row: int, col: int, height: int, width: int) -> np.ndarray:
        return self._array[row : row + height, col : col + width]

    def write(self, path: Path, data: np.ndarray) -> None:
        import geozarr
        import numcodecs

        if self.spec.compressor == "zstd":
            compressor: Any = numcodecs.Zstd(level=3)
        else:
            compressor = numcodecs.Blosc(cname="lz4", clevel=5, shuffle=numcodecs.Blosc.SHUFFLE)
        array = geozarr.create_array(
            str(path),
            shape=self.layout.shape,
            dtype="uint16",
            chunks=(CHUNK, CHUNK),
            shards=(self.layout.shard, self.layout.shard) if self.spec.sharded else None,
            compressor=compressor,
            fill_value=0,
            zarr_format=self.spec.zarr_format,
        )
        array[...] = data


class GeozarrOut(Geozarr):
    """geozarr reading into preallocated, pre-faulted buffers with ``a.read(sel, out=...)``.

    The buffers are allocated once at open time, as a caller that reuses memory would.
    """

    label = "geozarr (out=)"
    can_write = False

    def open(self, path: Path) -> None:
        super().open(path)
        self._full = np.zeros(self.layout.shape, dtype=np.uint16)
        self._windows: dict[tuple[int, int], np.ndarray] = {}

    def read_full(self) -> np.ndarray:
        self._array.read(..., out=self._full)
        return self._full

    def read_window(self, row: int, col: int, height: int, width: int) -> np.ndarray:
        out = self._windows.get((height, width))
        if out is None:
            out = self._windows[(height, width)] = np.zeros((height, width), dtype=np.uint16)
        self._array.read((slice(row, row + height), slice(col, col + width)), out=out)
        return out


ADAPTERS: dict[str, tuple[type[Implementation], ...]] = {
    "geozarr": (Geozarr, GeozarrOut),
    "zarr": (ZarrPython,),
    "zarrs": (Zarrs,),
    "tensorstore": (TensorStore,),
    "gdal": (Gdal,),
}
"""``--impls`` name -> the table rows it contributes."""
