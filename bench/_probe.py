"""The 2-thread scaling probe: is the second core really available right now?

The benchmark machines are 2-vCPU VMs whose second core is at times contended; during such
spells no parallel reader can scale and every ratio shifts. The probe decodes the same zstd-3
chunks serially and on 2 threads (numcodecs releases the GIL while decoding) and reports the
speed-up: about 1.8-1.9x on a quiet machine, well under 1.5x when the core is busy.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numcodecs
import numpy as np

from _datasets import CHUNK


@dataclass(frozen=True)
class ProbeResult:
    """Median times of decoding ``chunks`` zstd chunks on 1 and 2 threads."""

    chunks: int
    one_thread_s: float
    two_threads_s: float

    @property
    def scaling(self) -> float:
        """Speed-up of 2 threads over 1 (2.0 is perfect)."""
        return self.one_thread_s / self.two_threads_s

    def line(self) -> str:
        """Return the one-line summary printed beside the tables."""
        if self.scaling >= 1.7:
            verdict = "quiet"
        elif self.scaling >= 1.4:
            verdict = "somewhat contended"
        else:
            verdict = "CONTENDED: parallel figures unreliable"
        return (
            f"2-thread probe (numcodecs Zstd decode of {self.chunks} {CHUNK}x{CHUNK} chunks): "
            f"1 thread {self.one_thread_s * 1e3:.1f} ms, "
            f"2 threads {self.two_threads_s * 1e3:.1f} ms, "
            f"scaling {self.scaling:.2f}x ({verdict})"
        )


class ScalingProbe:
    """Encoded chunks and a 2-thread pool, prepared once and run between measurements.

    Parameters
    ----------
    source : numpy.ndarray
        The benchmark raster; chunks are cut from it (cyclically if it holds fewer).
    chunks : int
        How many chunks each timed pass decodes (even, so the threads share the work equally).
    repeats : int
        Timed passes per thread count; the median is reported.
    """

    def __init__(self, source: np.ndarray, *, chunks: int = 64, repeats: int = 3) -> None:
        codec = numcodecs.Zstd(level=3)
        rows, cols = source.shape[0] // CHUNK, source.shape[1] // CHUNK
        tiles = [
            codec.encode(np.ascontiguousarray(source[r : r + CHUNK, c : c + CHUNK]))
            for r in range(0, rows * CHUNK, CHUNK)
            for c in range(0, cols * CHUNK, CHUNK)
            if (r // CHUNK) * cols + c // CHUNK < chunks
        ]
        self._encoded = [tiles[i % len(tiles)] for i in range(chunks)]
        self._codec = codec
        self._repeats = repeats
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="probe")

    def _decode_all(self, encoded: list[bytes]) -> None:
        out = np.empty(CHUNK * CHUNK * 2, dtype=np.uint8)
        for blob in encoded:
            self._codec.decode(blob, out=out)

    def _time(self, action: Callable[[], None]) -> float:
        times = []
        for _ in range(self._repeats):
            start = time.perf_counter()
            action()
            times.append(time.perf_counter() - start)
        return statistics.median(times)

    def _two_threads(self) -> None:
        half = len(self._encoded) // 2
        futures = [
            self._pool.submit(self._decode_all, self._encoded[:half]),
            self._pool.submit(self._decode_all, self._encoded[half:]),
        ]
        for future in futures:
            future.result()

    def run(self) -> ProbeResult:
        """Time the serial and the 2-thread decode; each is warmed up once, untimed."""
        self._decode_all(self._encoded)
        one = self._time(lambda: self._decode_all(self._encoded))
        self._two_threads()
        two = self._time(self._two_threads)
        return ProbeResult(chunks=len(self._encoded), one_thread_s=one, two_threads_s=two)

    def close(self) -> None:
        """Shut the probe's thread pool down."""
        self._pool.shutdown()
