"""The ``sharding_indexed`` codec: many inner chunks stored in one object, with an index.

A shard holds the encoded inner chunks back to back and an index of (offset, nbytes) per
inner chunk, in C order of the inner grid, at the start or the end of the object; an inner
chunk with offset = nbytes = 2**64 - 1 is absent (all fill value). Reading part of a shard
reads the index once, then only the byte ranges of the inner chunks needed, with adjacent
ranges coalesced into one request.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import partial
from typing import Any

import numpy as np

from geozarr.codecs.base import ArrayBytesCodec, Buffer, ChunkSpec
from geozarr.codecs.pipeline import V3ChunkPipeline
from geozarr.indexing import BasicIndexer
from geozarr.errors import ChunkDecodeError, UnsupportedCodecError
from geozarr.storage.base import ByteRange, Store

EMPTY = np.uint64(2**64 - 1)


def _decode_inner(pipeline: V3ChunkPipeline, data: memoryview, projection: Any,
                  out: np.ndarray, key: str) -> None:
    """Decode one inner chunk and copy the part a read needs into ``out``."""
    chunk = pipeline.decode(data, key=key, transient=True)
    out[projection.out_selection] = chunk[projection.chunk_selection]


def _fill_chunk(shape: tuple[int, ...], spec: ChunkSpec) -> np.ndarray:
    return np.full(shape, spec.fill_value, dtype=spec.dtype)


class _Layout:
    """What the codec needs to know of one shard spec: its inner grid and pipelines."""

    def __init__(self, codec: ShardingCodec, spec: ChunkSpec, key: str):
        if len(codec.chunk_shape) != len(spec.shape):
            raise UnsupportedCodecError(
                f"{key}: sharding chunk_shape {list(codec.chunk_shape)} does not have the "
                f"rank of the shard shape {list(spec.shape)}")
        for inner, outer in zip(codec.chunk_shape, spec.shape):
            if outer % inner:
                raise UnsupportedCodecError(
                    f"{key}: sharding chunk_shape {list(codec.chunk_shape)} does not divide "
                    f"the shard shape {list(spec.shape)}")
        self.grid = tuple(o // i for o, i in zip(spec.shape, codec.chunk_shape))
        self.inner_spec = ChunkSpec(codec.chunk_shape, spec.dtype, spec.fill_value)
        self.inner = V3ChunkPipeline(codec.codecs, self.inner_spec, key=key)
        index_spec = ChunkSpec(self.grid + (2,), np.dtype(np.uint64), EMPTY)
        self.index = V3ChunkPipeline(codec.index_codecs, index_spec, key=key)
        size = self.index.fixed_encoded_size
        if size is None:
            raise UnsupportedCodecError(
                f"{key}: sharding index_codecs must produce a fixed size (bytes, crc32c)")
        self.index_nbytes = size


class ShardingCodec(ArrayBytesCodec):
    """``sharding_indexed``: see the module docstring."""

    name = "sharding_indexed"

    def __init__(self, chunk_shape: tuple[int, ...], codecs: Sequence[Mapping[str, Any]],
                 index_codecs: Sequence[Mapping[str, Any]], index_location: str = "end"):
        self.chunk_shape = chunk_shape
        self.codecs = list(codecs)
        self.index_codecs = list(index_codecs)
        self.index_location = index_location
        self._layouts: dict[tuple[Any, ...], _Layout] = {}

    @classmethod
    def from_config(cls, configuration: Mapping[str, Any] | None, *, key: str) -> ShardingCodec:
        if not isinstance(configuration, Mapping):
            raise UnsupportedCodecError(f"{key}: sharding_indexed needs a configuration object")
        shape = configuration.get("chunk_shape")
        if (not isinstance(shape, list) or not shape
                or not all(isinstance(n, int) and not isinstance(n, bool) and n > 0
                           for n in shape)):
            raise UnsupportedCodecError(
                f"{key}: sharding chunk_shape must be a list of positive integers, got {shape!r}")
        for member in ("codecs", "index_codecs"):
            value = configuration.get(member)
            if not isinstance(value, list) or not value:
                raise UnsupportedCodecError(
                    f"{key}: sharding {member} must be a non-empty list, got {value!r}")
        location = configuration.get("index_location", "end")
        if location not in ("start", "end"):
            raise UnsupportedCodecError(
                f"{key}: sharding index_location must be 'start' or 'end', got {location!r}")
        codec = cls(tuple(shape), configuration["codecs"], configuration["index_codecs"],
                    location)
        # The inner chain is checked against the array's data type in prepare(), at open.
        index = V3ChunkPipeline(codec.index_codecs,
                                ChunkSpec((1, 2), np.dtype(np.uint64), EMPTY), key=key)
        if index.array_array or index.fixed_encoded_size is None:
            raise UnsupportedCodecError(
                f"{key}: sharding index_codecs may only be 'bytes' and checksums, "
                f"got {[c.get('name') if isinstance(c, Mapping) else c for c in codec.index_codecs]}")
        return codec

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "configuration": {
            "chunk_shape": list(self.chunk_shape), "codecs": self.codecs,
            "index_codecs": self.index_codecs, "index_location": self.index_location}}

    def layout(self, spec: ChunkSpec, key: str) -> _Layout:
        """The inner grid and pipelines for ``spec`` (built once, then cached)."""
        cache_key = (spec.shape, spec.dtype.str, repr(spec.fill_value))
        layout = self._layouts.get(cache_key)
        if layout is None:
            layout = self._layouts[cache_key] = _Layout(self, spec, key)
        return layout

    def max_encoded_size(self, spec: ChunkSpec) -> int | None:
        return None

    def prepare(self, spec: ChunkSpec, *, key: str) -> None:
        self.layout(spec, key)

    # -- the index ----------------------------------------------------------------------
    def _index_range(self, layout: _Layout) -> ByteRange:
        if self.index_location == "end":
            return ByteRange.suffix(layout.index_nbytes)
        return ByteRange(0, layout.index_nbytes)

    def _decode_index(self, raw: Buffer, layout: _Layout, shard_size: int | None,
                      key: str) -> np.ndarray:
        if len(raw) != layout.index_nbytes:
            raise ChunkDecodeError(
                f"{key}: shard is too small to hold its index ({len(raw)} bytes, the index "
                f"takes {layout.index_nbytes})")
        index = np.asarray(layout.index.decode(raw, key=f"{key} (shard index)"))
        present = index[..., 0] != EMPTY
        if (present != (index[..., 1] != EMPTY)).any():
            raise ChunkDecodeError(f"{key}: shard index holds an invalid chunk location "
                                   "(only one of offset and nbytes marks the chunk absent)")
        if shard_size is not None and present.any():
            offsets = index[..., 0][present]
            ends = offsets + index[..., 1][present]
            low = layout.index_nbytes if self.index_location == "start" else 0
            high = shard_size - (layout.index_nbytes if self.index_location == "end" else 0)
            if (offsets < low).any() or (ends > high).any() or (ends < offsets).any():
                raise ChunkDecodeError(f"{key}: shard index holds an invalid chunk location "
                                       f"(outside bytes {low}..{high} of the shard)")
        return index

    # -- decoding -----------------------------------------------------------------------
    def decode(self, data: Buffer, spec: ChunkSpec, *, key: str) -> np.ndarray:
        out = _fill_chunk(spec.shape, spec)
        self.decode_region(data, spec, tuple(slice(0, n) for n in spec.shape), out, key=key)
        return out

    def decode_region(self, data: Buffer, spec: ChunkSpec, selection: tuple[slice, ...],
                      out: np.ndarray, *, key: str) -> None:
        """Decode the inner chunks of the in-memory shard ``data`` that ``selection`` touches."""
        layout = self.layout(spec, key)
        view = memoryview(data).cast("B") if not isinstance(data, bytes) else memoryview(data)
        raw_index = view[self._index_range(layout).slice_of(len(view))]
        index = self._decode_index(raw_index, layout, len(view), key)
        for projection in BasicIndexer(selection, spec.shape, layout.inner_spec.shape):
            offset, nbytes = index[projection.coords]
            target = out[projection.out_selection]
            if offset == EMPTY:
                target[...] = spec.fill_value
                continue
            inner = view[int(offset):int(offset) + int(nbytes)]
            chunk = layout.inner.decode(inner, key=f"{key} (inner chunk {projection.coords})",
                                        transient=True)
            target[...] = chunk[projection.chunk_selection]

    def fetch_region(self, store: Store, key: str, spec: ChunkSpec,
                     selection: tuple[slice, ...], out: np.ndarray
                     ) -> list[Callable[[], None]]:
        """Fetch what ``shard[selection]`` needs: the index, then only the inner chunks it
        touches, adjacent ones in one request. Absent inner chunks are filled at once; the
        returned tasks each decode one inner chunk into ``out``, so that the caller can run
        them in parallel (a window inside one shard still uses every core)."""
        layout = self.layout(spec, key)
        fetched = store.get_ranges(key, [self._index_range(layout)])
        if fetched is None:
            out[...] = spec.fill_value
            return []
        index = self._decode_index(fetched[0], layout, None, key)
        wanted: list[tuple[int, int, Any]] = []
        for projection in BasicIndexer(selection, spec.shape, layout.inner_spec.shape):
            offset, nbytes = index[projection.coords]
            if offset == EMPTY:
                out[projection.out_selection] = spec.fill_value
            else:
                wanted.append((int(offset), int(nbytes), projection))
        if not wanted:
            return []
        wanted.sort(key=lambda item: item[0])
        runs: list[list[tuple[int, int, Any]]] = [[wanted[0]]]
        for item in wanted[1:]:
            last_offset, last_nbytes, _ = runs[-1][-1]
            if item[0] == last_offset + last_nbytes:
                runs[-1].append(item)
            else:
                runs.append([item])
        ranges = [ByteRange(run[0][0], run[-1][0] + run[-1][1] - run[0][0]) for run in runs]
        blobs = store.get_ranges(key, ranges)
        if blobs is None:
            raise ChunkDecodeError(f"{key}: shard disappeared while it was being read")
        tasks: list[Callable[[], None]] = []
        for run, blob, requested in zip(runs, blobs, ranges):
            if len(blob) != requested.length:
                raise ChunkDecodeError(
                    f"{key}: shard is truncated: asked for {requested.length} bytes at "
                    f"{requested.start}, got {len(blob)}")
            view = memoryview(blob)
            for offset, nbytes, projection in run:
                start = offset - run[0][0]
                tasks.append(partial(_decode_inner, layout.inner,
                                     view[start:start + nbytes], projection, out,
                                     f"{key} (inner chunk {projection.coords})"))
        return tasks

    # -- encoding -----------------------------------------------------------------------
    def encode(self, array: np.ndarray, spec: ChunkSpec) -> bytes:
        layout = self.layout(spec, "shard")
        index = np.full(layout.grid + (2,), EMPTY, dtype=np.uint64)
        pieces: list[bytes] = []
        position = layout.index_nbytes if self.index_location == "start" else 0
        everything = tuple(slice(0, n) for n in spec.shape)
        for projection in BasicIndexer(everything, spec.shape, layout.inner_spec.shape):
            chunk = array[projection.out_selection]
            if layout.inner_spec.is_fill(chunk):
                continue
            encoded = layout.inner.encode(np.ascontiguousarray(chunk), key="inner chunk")
            index[projection.coords] = (position, len(encoded))
            pieces.append(encoded)
            position += len(encoded)
        raw_index = layout.index.encode(index, key="shard index")
        if self.index_location == "start":
            return raw_index + b"".join(pieces)
        return b"".join(pieces) + raw_index
