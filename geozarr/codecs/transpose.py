"""The v3 ``transpose`` codec: stores a chunk with its dimensions permuted.

Encoding chunk ``A`` gives ``B`` with ``B.shape[i] == A.shape[order[i]]``. Both directions
return a numpy view (no copy): the next codec (``bytes``) or the caller copying into the
output lays the items out. ``order`` may also be the legacy strings ``"C"`` (identity) and
``"F"`` (reversed), resolved once the number of dimensions is known.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np

from geozarr.codecs._configuration import read_configuration
from geozarr.codecs.base import ArrayArrayCodec, ChunkSpec
from geozarr.errors import UnsupportedCodecError


class TransposeCodec(ArrayArrayCodec):
    """Permutes the dimensions of a chunk (``configuration: {"order": [...]}``)."""

    name: ClassVar[str] = "transpose"

    def __init__(self, order: tuple[int, ...] | str, *, key: str = "") -> None:
        self.order = order
        self._key = key
        # Per number of dimensions: (encode permutation, decode permutation).
        self._permutations: dict[int, tuple[tuple[int, ...], tuple[int, ...]]] = {}

    @classmethod
    def from_config(cls, configuration: Mapping[str, Any] | None, *,
                    key: str) -> TransposeCodec:
        config = read_configuration(configuration, name=cls.name, key=key, allowed=("order",))
        order = config.get("order")
        if order in ("C", "F"):
            return cls(order, key=key)
        if (not isinstance(order, (list, tuple))
                or not all(isinstance(i, int) and not isinstance(i, bool) for i in order)
                or sorted(order) != list(range(len(order)))):
            raise UnsupportedCodecError(f"{key}: codec 'transpose': 'order' must be a "
                                        f"permutation of 0..n-1 (or 'C' or 'F'), got {order!r}")
        return cls(tuple(order), key=key)

    def to_dict(self) -> dict[str, Any]:
        order = self.order if isinstance(self.order, str) else list(self.order)
        return {"name": self.name, "configuration": {"order": order}}

    def _permutation(self, ndim: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
        permutations = self._permutations.get(ndim)
        if permutations is None:
            if self.order == "C":
                forward = tuple(range(ndim))
            elif self.order == "F":
                forward = tuple(range(ndim - 1, -1, -1))
            elif len(self.order) == ndim:
                forward = tuple(self.order)
            else:
                raise UnsupportedCodecError(
                    f"{self._key}: codec 'transpose': order {list(self.order)} has "
                    f"{len(self.order)} dimensions but the chunk has {ndim}")
            permutations = (forward, tuple(int(i) for i in np.argsort(forward)))
            self._permutations[ndim] = permutations
        return permutations

    def resolve(self, spec: ChunkSpec) -> ChunkSpec:
        forward, _ = self._permutation(len(spec.shape))
        return spec._replace(shape=tuple(spec.shape[i] for i in forward))

    def encode(self, array: np.ndarray, spec: ChunkSpec) -> np.ndarray:
        forward, _ = self._permutation(array.ndim)
        return array.transpose(forward)

    def decode(self, array: np.ndarray, spec: ChunkSpec) -> np.ndarray:
        _, backward = self._permutation(array.ndim)
        return array.transpose(backward)
