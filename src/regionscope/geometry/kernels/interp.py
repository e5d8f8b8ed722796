"""New vertices' values by exact interpolation, compiled (see ``CutResult.extend``)."""

from __future__ import annotations

import numpy as np

from .common import F1, F2, I1, f64, i64, kernel

__all__ = ["interpolate"]


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


def interpolate(
    values: np.ndarray, src: np.ndarray, dst: np.ndarray, weight: np.ndarray
) -> np.ndarray:
    """``values (V, w)`` extended by the new vertices ``(1 - weight) src + weight dst``."""
    return _interpolate(f64(values), i64(src), i64(dst), f64(weight))
