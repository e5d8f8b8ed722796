"""New vertices' values by exact interpolation, compiled (see ``CutResult.extend``)."""

from __future__ import annotations

import numpy as np
from numba import types

from .common import B1, F1, F2, I1, f64, flag, i64, kernel

__all__ = ["interpolate_kernel", "interpolate", "interpolate_into", "keep_rows"]

#: a table written in place
_W2 = types.Array(types.float64, 2, "C")


@kernel(F2, I1, I1, F1)
def _interpolate(values, src, dst, weight):
    n_old, width = values.shape
    out = np.empty((n_old + len(src), width), dtype=np.float64)
    out[:n_old] = values
    for i in range(len(src)):  # each new vertex mixes earlier ones: one pass in order
        a = src[i]
        b = dst[i]
        w = weight[i]
        for j in range(width):
            x = out[a, j]
            out[n_old + i, j] = x + w * (out[b, j] - x)
    return out


#: the interpolation itself, for kernels that call it (:mod:`.chain`)
interpolate_kernel = _interpolate


def interpolate(
    values: np.ndarray, src: np.ndarray, dst: np.ndarray, weight: np.ndarray
) -> np.ndarray:
    """``values (V, w)`` extended by the new vertices ``(1 - weight) src + weight dst``."""
    return _interpolate(f64(values), i64(src), i64(dst), f64(weight))


@kernel(_W2, types.int64, I1, I1, F1, B1)
def _interpolate_into(out, n_old, src, dst, weight, zero):
    width = out.shape[1]
    for i in range(len(src)):  # the same operations as _interpolate, in the same order
        a = src[i]
        b = dst[i]
        w = weight[i]
        for j in range(width):
            if zero[j]:
                out[n_old + i, j] = 0.0
            else:
                x = out[a, j]
                out[n_old + i, j] = x + w * (out[b, j] - x)


def interpolate_into(
    out: np.ndarray,
    n_old: int,
    src: np.ndarray,
    dst: np.ndarray,
    weight: np.ndarray,
    zero: np.ndarray | None = None,
) -> None:
    """Fill rows ``n_old ...`` of ``out (n_old + len(src), w)`` float64 (C-contiguous,
    rows ``:n_old`` given) in place, as :func:`interpolate` fills them; the columns
    ``zero (w,) bool``, which hold 0.0 at every given row, are set to 0.0 (what the
    interpolation of 0.0 and 0.0 gives) without reading them."""
    if out.dtype != np.float64 or not out.flags.c_contiguous or out.ndim != 2:
        raise ValueError("interpolate_into needs a C-contiguous (N, w) float64 table")
    if len(out) != n_old + len(src):
        raise ValueError(f"interpolate_into: {len(out)} rows for {n_old} + {len(src)}")
    zero = np.zeros(out.shape[1], dtype=np.bool_) if zero is None else zero
    _interpolate_into(out, n_old, i64(src), i64(dst), f64(weight), flag(zero))


@kernel(_W2, B1)
def _keep_rows(out, kept):
    j = 0
    for i in range(len(kept)):
        if kept[i]:
            if i != j:
                out[j, :] = out[i, :]
            j += 1
    return j


def keep_rows(out: np.ndarray, kept: np.ndarray) -> int:
    """Move the rows ``kept (N,) bool`` of ``out (N, w)`` float64 (C-contiguous) to its
    first rows, in order, in place; returns how many (``out[:n]`` is then ``old[kept]``)."""
    if out.dtype != np.float64 or not out.flags.c_contiguous or out.ndim != 2:
        raise ValueError("keep_rows needs a C-contiguous (N, w) float64 table")
    if len(kept) != len(out):
        raise ValueError(f"keep_rows: {len(kept)} flags for {len(out)} rows")
    return int(_keep_rows(out, np.ascontiguousarray(kept, dtype=np.bool_)))
