"""Nodata-aware block reductions: a level of a pyramid from the level below, in numpy.

Each output pixel summarises a ``factor`` x ``factor`` window of input pixels, by GDAL's
rules for its resampling methods (checked against GDAL's warper in the tests):

* ``nearest``: the window's centre pixel (``floor((i + 0.5) * factor)``), valid or not;
* ``average``, ``rms``: of the valid pixels; integer results round half up, as GDAL's;
* ``min``, ``max``; ``med``, ``q1``, ``q3``: the valid value of rank ``ceil(q * n - 1)``
  among the ``n`` sorted valid values (GDAL's quantile, no interpolation);
* ``mode``: the most frequent valid value; on a tie, the one whose count reaches the maximum
  first in row-major order (GDAL's);
* ``bilinear``, ``cubic``, ``cubicspline``, ``lanczos``: GDAL's kernels stretched by the
  factor (a triangle of radius ``factor``, Keys' cubic with a = -0.5, the cubic B-spline,
  Lanczos-3), weights of nodata pixels zeroed and the rest renormalised; these reach past
  the window, so they take an input with ``pad`` pixels of context on each side.

Whatever the method, an output pixel whose window holds no valid pixel is nodata, and one
whose window holds any is not: nodata never pulls a value toward the sentinel and never
spreads. Values that are NaN count as nodata in float data whatever the sentinel.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from geozarr.errors import MetadataError

#: GDAL's resampling names, in the order of its documentation.
METHODS = ("nearest", "bilinear", "cubic", "cubicspline", "lanczos", "average", "mode",
           "min", "max", "med", "q1", "q3", "rms")
_ALIASES = {"near": "nearest", "cubic_spline": "cubicspline", "mean": "average",
            "median": "med"}
#: Kernel radius in output pixels of the convolution methods.
KERNEL_RADIUS = {"bilinear": 1, "cubic": 2, "cubicspline": 2, "lanczos": 3}
_QUANTILES = {"q1": 0.25, "med": 0.5, "q3": 0.75}


def canonical_method(name: str) -> str:
    """GDAL's name of a resampling method (``"near"`` and ``"cubic_spline"`` accepted).

    Raises
    ------
    MetadataError
        An unknown name; the message lists the known ones.
    """
    if not isinstance(name, str):
        raise MetadataError(f"resampling must be a method name, got {name!r}")
    key = _ALIASES.get(name.lower(), name.lower())
    if key not in METHODS:
        raise MetadataError(f"unknown resampling {name!r}; use one of {', '.join(METHODS)}")
    return key


def context_pad(method: str, factor: int) -> int:
    """Pixels of context each side that :func:`reduce_block` needs for ``method``."""
    radius = KERNEL_RADIUS.get(method, 0)
    return math.ceil(radius * factor - factor / 2) if radius else 0


def valid_mask(block: np.ndarray, nodata: float | int | None) -> np.ndarray:
    """Where ``block`` holds data: not ``nodata``, and not NaN in float data."""
    if block.dtype.kind == "f":
        valid = ~np.isnan(block)
        if nodata is not None and not math.isnan(nodata):
            valid &= block != nodata
        return valid
    if nodata is None:
        return np.ones(block.shape, dtype=bool)
    return block != nodata


def reduce_block(block: np.ndarray, factor: int, method: str, nodata: float | int | None,
                 *, pad: int = 0) -> np.ndarray:
    """Reduce ``block`` ``(bands, rows, cols)`` by ``factor`` with ``method``.

    Parameters
    ----------
    block
        The input, with ``pad`` pixels of context on every side; the rest must be whole
        windows: ``rows - 2 * pad`` and ``cols - 2 * pad`` are multiples of ``factor``.
    factor
        Input pixels per output pixel along each axis.
    method
        One of :data:`METHODS`.
    nodata
        The missing-data value (NaN or a sentinel); None when every pixel is valid.
    pad
        Context pixels each side (:func:`context_pad` for the method); ignored by the
        window methods.

    Returns
    -------
    numpy.ndarray
        ``(bands, (rows - 2 * pad) // factor, (cols - 2 * pad) // factor)``, of the input's
        data type (integers rounded half up and clipped to the type's range).
    """
    method = canonical_method(method)
    bands, rows, cols = block.shape
    inner_rows, inner_cols = rows - 2 * pad, cols - 2 * pad
    if factor < 1 or inner_rows % factor or inner_cols % factor or inner_rows < 0 \
            or inner_cols < 0:
        raise MetadataError(f"a block of {rows} x {cols} with pad {pad} is not whole "
                            f"{factor} x {factor} windows")
    valid = valid_mask(block, nodata)
    inner = (slice(None), slice(pad, pad + inner_rows), slice(pad, pad + inner_cols))
    if method == "nearest":
        centre = factor // 2
        return np.ascontiguousarray(block[inner][:, centre::factor, centre::factor])
    values_in, valid_in = block[inner], valid[inner]
    counts = _accumulate(valid_in, factor, np.add, np.int32)
    if method in KERNEL_RADIUS:
        values = _convolve(block, valid, factor, method, pad)
        means = _mean(values_in, valid_in, factor, counts)
        weak = ~np.isfinite(values)
        values[weak] = means[weak]
    elif method in _STRIDED:
        values = _STRIDED[method](values_in, valid_in, factor, counts)
    else:
        windows, window_valid = _windows(values_in, factor), _windows(valid_in, factor)
        values = _WINDOW_REDUCERS[method](windows, window_valid, counts)
    return _finish(values, counts > 0, block.dtype, nodata)


def _offsets(factor: int) -> list[tuple[int, int]]:
    return [(i, j) for i in range(factor) for j in range(factor)]


def _accumulate(values: np.ndarray, factor: int, combine: np.ufunc, dtype: Any
                ) -> np.ndarray:
    """``combine`` over each window's pixels, as strided views (no window copy)."""
    offsets = _offsets(factor)
    first_row, first_col = offsets[0]
    result = values[:, first_row::factor, first_col::factor].astype(dtype, copy=True)
    for row, col in offsets[1:]:
        combine(result, values[:, row::factor, col::factor], out=result)
    return result


def _windows(block: np.ndarray, factor: int) -> np.ndarray:
    """``(bands, out_rows, out_cols, factor * factor)``: each window's pixels, row-major."""
    bands, rows, cols = block.shape
    shaped = block.reshape(bands, rows // factor, factor, cols // factor, factor)
    return shaped.transpose(0, 1, 3, 2, 4).reshape(bands, rows // factor, cols // factor,
                                                   factor * factor)


def _mean(values: np.ndarray, valid: np.ndarray, factor: int, counts: np.ndarray
          ) -> np.ndarray:
    total = _accumulate(np.where(valid, values, 0), factor, np.add, np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        return total / counts


def _rms(values: np.ndarray, valid: np.ndarray, factor: int, counts: np.ndarray
         ) -> np.ndarray:
    squares = np.where(valid, values.astype(np.float64) ** 2, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.sqrt(_accumulate(squares, factor, np.add, np.float64) / counts)


def _extreme(highest: bool) -> Callable[[np.ndarray, np.ndarray, int, np.ndarray],
                                        np.ndarray]:
    def reducer(values: np.ndarray, valid: np.ndarray, factor: int, counts: np.ndarray
                ) -> np.ndarray:
        if values.dtype.kind == "f":
            fill = -np.inf if highest else np.inf
        else:
            info = np.iinfo(values.dtype)
            fill = info.min if highest else info.max
        masked = np.where(valid, values, fill).astype(values.dtype, copy=False)
        return _accumulate(masked, factor, np.maximum if highest else np.minimum,
                           values.dtype)
    return reducer


def _quantile(q: float) -> Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]:
    def reducer(windows: np.ndarray, valid: np.ndarray, counts: np.ndarray) -> np.ndarray:
        # Invalid pixels sort last (as the largest value of the type), so the first
        # ``counts`` entries of each sorted window are its valid values.
        if windows.dtype.kind == "f":
            last = np.inf
        else:
            last = np.iinfo(windows.dtype).max
        ordered = np.sort(np.where(valid, windows, last), axis=-1)
        rank = np.clip(np.ceil(q * counts - 1).astype(np.int64), 0, windows.shape[-1] - 1)
        return np.take_along_axis(ordered, rank[..., np.newaxis], axis=-1)[..., 0]
    return reducer


def _mode(windows: np.ndarray, valid: np.ndarray, counts: np.ndarray) -> np.ndarray:
    size = windows.shape[-1]
    equal = (windows[..., :, np.newaxis] == windows[..., np.newaxis, :]) \
        & valid[..., :, np.newaxis] & valid[..., np.newaxis, :]
    frequency = equal.sum(axis=-1)
    later = np.triu(np.ones((size, size), dtype=bool), k=1)
    is_last = ~(equal & later).any(axis=-1)
    # Among values at their last occurrence, the highest frequency wins; on a tie, the
    # one that reached it first (the smallest position).
    score = np.where(valid & is_last, frequency * (size + 1) + (size - np.arange(size)), -1)
    choice = score.argmax(axis=-1)
    return np.take_along_axis(windows, choice[..., np.newaxis], axis=-1)[..., 0]


_STRIDED: dict[str, Callable[[np.ndarray, np.ndarray, int, np.ndarray], np.ndarray]] = {
    "average": _mean, "rms": _rms, "min": _extreme(False), "max": _extreme(True),
}
_WINDOW_REDUCERS: dict[str, Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]] = {
    "mode": _mode, **{name: _quantile(q) for name, q in _QUANTILES.items()},
}


def _kernel(method: str, x: np.ndarray) -> np.ndarray:
    """GDAL's kernel ``method`` at distances ``x`` (in output pixels)."""
    x = np.abs(x)
    if method == "bilinear":
        return np.clip(1.0 - x, 0.0, None)
    if method == "cubic":  # Keys, a = -0.5
        return np.where(x < 1, 1.5 * x**3 - 2.5 * x**2 + 1,
                        np.where(x < 2, -0.5 * x**3 + 2.5 * x**2 - 4 * x + 2, 0.0))
    if method == "cubicspline":
        return np.where(x < 1, 2 / 3 - x**2 + x**3 / 2,
                        np.where(x < 2, (2 - x) ** 3 / 6, 0.0))
    # lanczos, radius 3
    return np.where(x < 3, np.sinc(x) * np.sinc(x / 3), 0.0)


def _weights(size_out: int, size_in: int, factor: int, pad: int, method: str) -> np.ndarray:
    """``(size_out, size_in)``: the weight of each input pixel in each output pixel."""
    centres_out = pad + (np.arange(size_out) + 0.5) * factor
    centres_in = np.arange(size_in) + 0.5
    return _kernel(method, (centres_in[np.newaxis, :] - centres_out[:, np.newaxis]) / factor)


def _convolve(block: np.ndarray, valid: np.ndarray, factor: int, method: str,
              pad: int) -> np.ndarray:
    """Separable kernel reduction with nodata weights zeroed; inf where the valid weights
    do not sum to a usable total."""
    bands, rows, cols = block.shape
    out_rows, out_cols = (rows - 2 * pad) // factor, (cols - 2 * pad) // factor
    along_rows = _weights(out_rows, rows, factor, pad, method)
    along_cols = _weights(out_cols, cols, factor, pad, method)
    full = along_rows.sum(axis=1)[:, np.newaxis] * along_cols.sum(axis=1)[np.newaxis, :]
    result = np.empty((bands, out_rows, out_cols), dtype=np.float64)
    for band in range(bands):
        mask = valid[band].astype(np.float64)
        values = np.where(valid[band], block[band], 0).astype(np.float64)
        total = along_rows @ values @ along_cols.T
        weight = along_rows @ mask @ along_cols.T
        usable = weight > 1e-3 * full
        with np.errstate(invalid="ignore", divide="ignore"):
            result[band] = np.where(usable, total / np.where(usable, weight, 1.0), np.inf)
    return result


def _finish(values: np.ndarray, has_data: np.ndarray, dtype: np.dtype,
            nodata: float | int | None) -> np.ndarray:
    """Cast to ``dtype`` (rounding half up and clipping integers) and put nodata where no
    window pixel was valid, and only there."""
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        if values.dtype.kind == "f":
            with np.errstate(invalid="ignore"):
                values = np.clip(np.floor(values + 0.5), info.min, info.max)
        out = np.where(has_data, values, 0).astype(dtype)
        if nodata is not None:
            # A valid result equal to the sentinel would read as nodata: step it aside by
            # one, downwards unless that leaves the type (GDAL's rule).
            aside = nodata - 1 if nodata > info.min else nodata + 1
            out[has_data & (out == nodata)] = aside
    else:
        out = values.astype(dtype)
    if nodata is not None:
        out[~has_data] = nodata
    elif dtype.kind == "f":
        out[~has_data] = np.nan
    return out
