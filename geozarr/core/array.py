"""An open Zarr array: basic indexing reads and writes over its chunk grid.

Reads decode every chunk a selection touches on the shared thread pool, each straight into
its part of the output. Writes touch only the chunks the selection covers: a chunk covered
whole is encoded from the new values alone, a chunk covered in part is read, patched and
rewritten; a chunk that ends up all fill value is removed rather than stored. Every chunk is
stored with one atomic ``set``, so a failed write leaves each chunk old or new, never torn.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np

from geozarr.codecs.base import ChunkSpec
from geozarr.codecs.pipeline import ChunkPipeline, V2ChunkPipeline, V3ChunkPipeline
from geozarr.codecs.sharding import ShardingCodec
from geozarr.core.executor import run_all
from geozarr.core.node import Node
from geozarr.errors import ValueShapeError
from geozarr.indexing import BasicIndexer, ChunkProjection
from geozarr.metadata.v2 import ArrayMetadataV2
from geozarr.metadata.v3 import ArrayMetadataV3
from geozarr.storage.base import Store
from geozarr.storage.keys import join_key

ArrayMetadata = ArrayMetadataV2 | ArrayMetadataV3


def _default_fill(dtype: np.dtype) -> Any:
    """What a missing chunk reads as when the metadata has no fill value (v2 ``null``)."""
    if dtype.kind in "SUT":
        return dtype.type()
    return np.zeros((), dtype=dtype)[()]


class Array(Node):
    """A Zarr v2 or v3 array in a store.

    Open one with :func:`geozarr.open_array` or from a :class:`geozarr.Group`; create one with
    :func:`geozarr.create_array`. Index it like a numpy array (``a[0, 100:612, ::2]``).
    """

    _kind = "array"
    _metadata: ArrayMetadata

    def __init__(self, store: Store, path: str, metadata: ArrayMetadata,
                 attributes: dict[str, Any], *, read_only: bool):
        super().__init__(store, path, metadata, attributes, read_only=read_only)
        self._metadata_key = join_key(path, "zarr.json" if metadata.zarr_format == 3
                                      else ".zarray")
        fill = metadata.fill_value if metadata.fill_value is not None \
            else _default_fill(metadata.dtype)
        self._spec = ChunkSpec(tuple(metadata.chunks), metadata.dtype, fill)
        self._pipeline = self._build_pipeline()
        self._chunk_prefix = path + "/" if path else ""

    def _build_pipeline(self) -> ChunkPipeline:
        meta = self._metadata
        if isinstance(meta, ArrayMetadataV3):
            return V3ChunkPipeline(meta.codecs, self._spec, key=self._metadata_key)
        return V2ChunkPipeline(compressor=meta.compressor, filters=meta.filters,
                               order=meta.order, spec=self._spec, key=self._metadata_key)

    # -- description ----------------------------------------------------------------------
    @property
    def metadata(self) -> ArrayMetadata:
        """The parsed metadata document."""
        return self._metadata

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self._metadata.shape)

    @property
    def ndim(self) -> int:
        return len(self._metadata.shape)

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))

    @property
    def dtype(self) -> np.dtype:
        """The data type of the values (v2 keeps the stored byte order)."""
        return self._metadata.dtype

    @property
    def nbytes(self) -> int:
        """Size of the whole array in memory (uncompressed)."""
        return self.size * self.dtype.itemsize

    @property
    def _sharding(self) -> ShardingCodec | None:
        codec = getattr(self._pipeline, "array_bytes", None)
        return codec if isinstance(codec, ShardingCodec) else None

    @property
    def chunks(self) -> tuple[int, ...]:
        """The chunk shape: the inner chunk shape when the array is sharded."""
        sharding = self._sharding
        return tuple(sharding.chunk_shape) if sharding else tuple(self._metadata.chunks)

    @property
    def shards(self) -> tuple[int, ...] | None:
        """The shard shape, or None when the array is not sharded."""
        return tuple(self._metadata.chunks) if self._sharding else None

    @property
    def fill_value(self) -> Any:
        """The fill value from the metadata (None for a v2 ``null``)."""
        return self._metadata.fill_value

    @property
    def order(self) -> str:
        """Memory order of chunks: v2 ``order``; "C" for v3 (a transpose codec says more)."""
        return getattr(self._metadata, "order", "C")

    @property
    def compressor(self) -> dict[str, Any] | None:
        """The v2 compressor configuration (None for v3: see :attr:`codecs`)."""
        return getattr(self._metadata, "compressor", None)

    @property
    def filters(self) -> tuple[dict[str, Any], ...] | None:
        """The v2 filter configurations (None for v3: see :attr:`codecs`)."""
        return getattr(self._metadata, "filters", None)

    @property
    def codecs(self) -> tuple[dict[str, Any], ...] | None:
        """The v3 codec chain (None for v2)."""
        return getattr(self._metadata, "codecs", None)

    @property
    def dimension_names(self) -> tuple[str | None, ...] | None:
        """v3 ``dimension_names``, or the v2 ``_ARRAY_DIMENSIONS`` attribute; None if absent."""
        if isinstance(self._metadata, ArrayMetadataV3):
            return self._metadata.dimension_names
        names = self._attrs.get("_ARRAY_DIMENSIONS")
        if isinstance(names, list) and len(names) == self.ndim:
            return tuple(names)
        return None

    def __len__(self) -> int:
        if not self.shape:
            raise TypeError("len() of a 0-d array")
        return self.shape[0]

    def __repr__(self) -> str:
        return (f"<geozarr.Array {self._path or '/'} shape={self.shape} dtype={self.dtype} "
                f"chunks={self.chunks} v{self.zarr_format}>")

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled as (store, path, parsed metadata, attributes): no chunk data, no codec
        state; the store pickles as how to reopen it."""
        return (partial(Array, read_only=self._read_only),
                (self._store, self._path, self._metadata, self._attrs.asdict()))

    def to_dask(self, chunks: tuple[int, ...] | None = None) -> Any:
        """A dask array over this array, one task per stored object (shard or chunk);
        ``chunks``, multiples of those objects, makes bigger tasks. Needs ``geozarr[dask]``."""
        from geozarr.dask_support import array_to_dask
        return array_to_dask(self, chunks=chunks)

    # -- reading --------------------------------------------------------------------------
    def __getitem__(self, selection: Any) -> Any:
        return self.read(selection)

    def read(self, selection: Any = ..., *, out: np.ndarray | None = None) -> Any:
        """Read ``selection`` (numpy basic indexing) into a new array or into ``out``.

        ``out`` must be a writeable C-contiguous array of the selection's shape and the
        array's dtype; reusing one across calls saves an allocation and its page faults.
        A selection of single elements only returns a numpy scalar when ``out`` is None.
        """
        indexer = BasicIndexer(selection, self.shape, self._metadata.chunks)
        if out is None:
            result = np.empty(indexer.out_shape, dtype=self.dtype)
        else:
            self._check_out(out, indexer.out_shape)
            result = out
        target = indexer.expand(result)
        projections = list(indexer)
        pending = run_all(lambda projection: self._read_chunk(projection, target), projections,
                          threads=self._store.concurrency)
        # Partial shard reads fetch first, then decode their inner chunks on every core.
        decodes = [task for tasks in pending for task in tasks]
        if decodes:
            run_all(_call, decodes)
        if out is None and result.ndim == 0:
            return result[()]
        return result

    def _check_out(self, out: np.ndarray, shape: tuple[int, ...]) -> None:
        if not isinstance(out, np.ndarray):
            raise ValueShapeError(f"out must be a numpy array, got {type(out).__name__}")
        if out.shape != shape or out.dtype != self.dtype:
            raise ValueShapeError(f"out has shape {out.shape} and dtype {out.dtype}; this "
                                  f"read needs shape {shape} and dtype {self.dtype}")
        if not out.flags.c_contiguous or not out.flags.writeable:
            raise ValueShapeError("out must be a writeable C-contiguous array")

    def _read_chunk(self, projection: ChunkProjection, target: np.ndarray
                    ) -> list[Callable[[], None]]:
        """Read one stored object's part of a selection into ``target``; a partial shard read
        returns its inner-chunk decodes instead of running them."""
        key = self._chunk_prefix + self._metadata.chunk_key(projection.coords)
        view = target[projection.out_selection + (Ellipsis,)]
        pipeline = self._pipeline
        if pipeline.supports_partial_read and not projection.complete:
            return pipeline.fetch_region(self._store, key, projection.chunk_selection, view)
        data = self._store.get(key)
        if data is None:
            view[...] = self._spec.fill_value
        else:
            pipeline.decode_region(data, projection.chunk_selection, view, key=key)
        return []

    # -- writing --------------------------------------------------------------------------
    def __setitem__(self, selection: Any, value: Any) -> None:
        self.write(selection, value)

    def write(self, selection: Any, value: Any) -> None:
        """Write ``value`` (broadcast to the selection's shape) into ``selection``."""
        self._check_writable()
        indexer = BasicIndexer(selection, self.shape, self._metadata.chunks)
        try:
            values = np.asarray(value).astype(self.dtype, copy=False)
            values = np.broadcast_to(values, indexer.out_shape)
        except (ValueError, TypeError) as exc:
            raise ValueShapeError(
                f"{self._metadata_key}: cannot write a value of shape "
                f"{np.shape(value)} into a selection of shape {indexer.out_shape}: {exc}"
            ) from None
        source = indexer.expand(values)
        run_all(lambda projection: self._write_chunk(projection, source), list(indexer),
                threads=self._store.concurrency)

    def _write_chunk(self, projection: ChunkProjection, source: np.ndarray) -> None:
        key = self._chunk_prefix + self._metadata.chunk_key(projection.coords)
        spec = self._spec
        piece = source[projection.out_selection]
        if projection.complete:
            if piece.shape == spec.shape:
                chunk = np.ascontiguousarray(piece)
            else:  # an edge chunk: the part outside the array holds the fill value
                chunk = np.full(spec.shape, spec.fill_value, dtype=spec.dtype)
                chunk[projection.chunk_selection] = piece
        else:
            existing = self._store.get(key)
            if existing is None:
                chunk = np.full(spec.shape, spec.fill_value, dtype=spec.dtype)
            else:
                chunk = np.array(self._pipeline.decode(existing, key=key), copy=True)
            chunk[projection.chunk_selection] = piece
        if self._metadata.fill_value is not None and spec.is_fill(chunk):
            self._store.delete(key)
        else:
            self._store.set(key, self._pipeline.encode(chunk, key=key))


def _call(task: Callable[[], None]) -> None:
    task()
