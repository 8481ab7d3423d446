"""Collected timings of one dataset, their medians, and the printed table.

Each timed call becomes one sample in seconds. What is summarised follows
``perf_anchors.md`` section 2: full reads and writes keep one sample per round (median of
rounds); 1024x1024 windows keep the mean of each round's windows (median of those means);
256x256 windows keep every window (median over all, with p10-p90).
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from _probe import ProbeResult

OPERATIONS = ("full", "w1024", "w256", "write")
READS = ("full", "w1024", "w256")
OP_LABELS = {
    "full": "full read",
    "w1024": "1024x1024 window, mean",
    "w256": "256x256 window, median",
    "write": "full write",
}
REFERENCE = "geozarr"
RATIO_ROWS = ("zarr-python", "zarrs", "tensorstore", "gdal")


def op_nbytes(op: str, array_nbytes: int) -> int:
    """Uncompressed bytes one timed sample of ``op`` moves (uint16)."""
    if op == "w1024":
        return 1024 * 1024 * 2
    if op == "w256":
        return 256 * 256 * 2
    return array_nbytes


@dataclass
class DatasetResult:
    """Everything measured on one dataset, filled in while the run goes on.

    Attributes
    ----------
    samples : dict
        ``samples[op][row]``: timings in seconds (see the module docstring for what one
        sample is per operation).
    unavailable : dict
        Row -> why the implementation took no part on this dataset at all.
    failures : dict
        ``"op/row"`` -> the error that stopped that measurement.
    writes : dict
        Row -> facts about its first (verified) write: codecs recorded, stored bytes.
    """

    name: str
    description: str
    array_nbytes: int
    stored_nbytes: int
    rows: list[str] = field(default_factory=list)
    samples: dict[str, dict[str, list[float]]] = field(
        default_factory=lambda: {op: {} for op in OPERATIONS}
    )
    unavailable: dict[str, str] = field(default_factory=dict)
    failures: dict[str, str] = field(default_factory=dict)
    writes: dict[str, dict[str, Any]] = field(default_factory=dict)
    probes: list[ProbeResult] = field(default_factory=list)

    def add(self, op: str, row: str, seconds: float) -> None:
        """Record one sample."""
        self.samples[op].setdefault(row, []).append(seconds)

    def median(self, op: str, row: str) -> float | None:
        """Median of ``row``'s samples for ``op`` in seconds, None when there are none."""
        values = self.samples[op].get(row)
        return statistics.median(values) if values else None

    def ratio(self, op: str, row: str) -> float | None:
        """``row``'s median time over geozarr's: above 1 means geozarr is faster."""
        mine, ref = self.median(op, row), self.median(op, REFERENCE)
        if mine is None or ref is None or ref == 0:
            return None
        return mine / ref

    def to_json(self) -> dict[str, Any]:
        """Return a JSON-ready dict with raw samples, medians, MB/s and ratios."""
        summary: dict[str, Any] = {}
        for op in OPERATIONS:
            for row, values in self.samples[op].items():
                med = statistics.median(values)
                entry = {
                    "median_ms": med * 1e3,
                    "mb_per_s": op_nbytes(op, self.array_nbytes) / med / 1e6,
                    "samples_ms": [v * 1e3 for v in values],
                }
                if op == "w256":
                    p10, p90 = np.percentile(values, [10, 90])
                    entry["p10_ms"], entry["p90_ms"] = float(p10) * 1e3, float(p90) * 1e3
                if row != REFERENCE and (r := self.ratio(op, row)) is not None:
                    entry[f"ratio_vs_{REFERENCE}"] = r
                summary.setdefault(op, {})[row] = entry
        return {
            "description": self.description,
            "array_bytes": self.array_nbytes,
            "stored_bytes": self.stored_nbytes,
            "results": summary,
            "unavailable": self.unavailable,
            "failures": self.failures,
            "writes": self.writes,
            "probes": [
                {"chunks": p.chunks, "one_thread_ms": p.one_thread_s * 1e3,
                 "two_threads_ms": p.two_threads_s * 1e3, "scaling": p.scaling}
                for p in self.probes
            ],
        }


def _fmt_ms(seconds: float) -> str:
    ms = seconds * 1e3
    if ms >= 100:
        return f"{ms:.0f}"
    if ms >= 10:
        return f"{ms:.1f}"
    return f"{ms:.2f}"


def _cell(result: DatasetResult, op: str, row: str) -> str:
    if row in result.unavailable:
        return "n/a"
    if f"{op}/{row}" in result.failures:
        return "FAILED"
    med = result.median(op, row)
    if med is None:
        return "-"
    mbps = op_nbytes(op, result.array_nbytes) / med / 1e6
    return f"{_fmt_ms(med)} ({mbps:.0f})"


def format_table(result: DatasetResult) -> str:
    """Return the dataset's table: medians as ``ms (MB/s)``, then ratio columns."""
    ratio_rows = [r for r in RATIO_ROWS if r in result.rows and r not in result.unavailable]
    headers = ["operation"] + result.rows + [f"{r} / {REFERENCE}" for r in ratio_rows]
    lines_cells = []
    for op in OPERATIONS:
        failed = any(key.startswith(op + "/") for key in result.failures)
        if not any(result.samples[op].values()) and not failed:
            continue
        cells = [OP_LABELS[op]] + [_cell(result, op, row) for row in result.rows]
        for row in ratio_rows:
            r = result.ratio(op, row)
            cells.append("-" if r is None else f"{r:.2f}")
        lines_cells.append(cells)
    widths = [max([len(h)] + [len(c[i]) for c in lines_cells]) for i, h in enumerate(headers)]
    out = ["  ".join(h.ljust(w) for h, w in zip(headers, widths)).rstrip()]
    out.append("  ".join("-" * w for w in widths))
    out.extend(
        "  ".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip() for cells in lines_cells
    )
    return "\n".join(out)


def format_dataset(result: DatasetResult) -> str:
    """Return the full printed block of one dataset: header, probes, table, notes, targets."""
    ratio = result.array_nbytes / max(result.stored_nbytes, 1)
    lines = [
        f"== {result.name}: {result.description}; {result.array_nbytes / 1e6:.1f} MB "
        f"uncompressed, {result.stored_nbytes / 1e6:.1f} MB stored ({ratio:.2f}x)",
    ]
    lines += [p.line() for p in result.probes]
    lines.append(
        "medians in ms (MB/s, MB = 1e6 B of uncompressed data); "
        "ratios > 1 mean geozarr is faster"
    )
    lines.append(format_table(result))
    w256 = result.samples["w256"]
    if w256:
        spread = ", ".join(
            f"{row} {_fmt_ms(float(np.percentile(v, 10)))}-{_fmt_ms(float(np.percentile(v, 90)))}"
            for row, v in w256.items()
        )
        lines.append(f"256x256 window p10-p90 (ms): {spread}")
    for row, info in result.writes.items():
        lines.append(
            f"write check {row}: {'verified' if info['verified'] else 'MISMATCH'} by zarr-python, "
            f"codecs {info['codecs']}, {info['stored_bytes'] / 1e6:.1f} MB stored"
        )
    for row, reason in result.unavailable.items():
        lines.append(f"n/a {row}: {reason}")
    for key, reason in result.failures.items():
        lines.append(f"FAILED {key}: {reason}")
    lines += target_lines(result)
    return "\n".join(lines)


def target_lines(result: DatasetResult) -> list[str]:
    """Return the verdicts on the issue's targets (reads only; printed, never asserted).

    Required: geozarr at least 1.5x faster than zarr-python's default pipeline on every
    read. Goal: no slower than zarrs-python and tensorstore on full and window reads.
    """
    if not any(result.samples[op].get(REFERENCE) for op in READS):
        return []

    def check(row: str, minimum: float) -> str:
        parts, ok = [], True
        for op in READS:
            r = result.ratio(op, row)
            if r is None:
                continue
            ok &= r >= minimum
            parts.append(f"{op} {r:.2f}x")
        if not parts:
            return f"{row}: not measured"
        return f"{row}: {'met' if ok else 'NOT met'} ({', '.join(parts)})"

    return [
        "target, required (>= 1.5x zarr-python on every read): " + check("zarr-python", 1.5),
        "target, goal (>= 1.0x zarrs and tensorstore on reads): "
        + "; ".join(check(row, 1.0) for row in ("zarrs", "tensorstore")),
    ]
