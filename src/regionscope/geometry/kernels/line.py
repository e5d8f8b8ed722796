"""The 1-D cut, compiled: :func:`~regionscope.geometry.line.cut_points` and
:func:`~regionscope.geometry.line.interpolate` in one pass each.

Both give what the NumPy functions give, bit for bit: the same signs (``z >
tol``, ``z < -tol``), the zeros in the same order (piece by piece, unit by
unit), the same formulas (``w = za / (za - zb)``, ``a + w * (b - a)``), the
same stable order of the points and zeros (an old point before a zero at the
same place, zeros in their own order), the same merging rule.
"""

from __future__ import annotations

import numpy as np
from numba import types

from .common import F1, F2, I1, kernel, sort_index

__all__ = ["cut_points", "interpolate"]


@kernel(F1, F2, F1, types.float64)
def _cut_points(points, values, unit_tol, point_tol):
    n, width = values.shape
    for i in range(n):  # a non-finite value: the caller refuses it (check_finite)
        for u in range(width):
            if not np.isfinite(values[i, u]):
                empty = np.zeros(0, dtype=np.int64)
                return points.copy(), empty, empty, np.zeros(0), False
    count = 0
    for i in range(n - 1):
        for u in range(width):
            t = unit_tol[u]
            a = values[i, u]
            b = values[i + 1, u]
            if (a > t and b < -t) or (a < -t and b > t):
                count += 1
    piece = np.empty(count, dtype=np.int64)
    weight = np.empty(count)
    if count == 0:
        return points.copy(), np.arange(n), piece, weight, True
    roots = np.empty(count)
    lo = points[0]
    hi = points[n - 1]
    k = 0
    for i in range(n - 1):
        for u in range(width):
            t = unit_tol[u]
            za = values[i, u]
            zb = values[i + 1, u]
            if (za > t and zb < -t) or (za < -t and zb > t):
                w = za / (za - zb)
                a = points[i]
                r = a + w * (points[i + 1] - a)
                r = r if r >= lo else lo  # np.maximum, then np.minimum (no NaN here)
                r = r if r <= hi else hi
                piece[k] = i
                weight[k] = w
                roots[k] = r
                k += 1
    # the stable argsort of [points, roots]: the sorted points merged with the stably sorted
    # roots, an old point first on a tie
    by = sort_index(roots)
    total = n + count
    merged = np.empty(total)
    order = np.empty(total, dtype=np.int64)
    i = 0
    j = 0
    for m in range(total):
        if j == count or (i < n and points[i] <= roots[by[j]]):
            merged[m] = points[i]
            order[m] = i
            i += 1
        else:
            merged[m] = roots[by[j]]
            order[m] = n + by[j]
            j += 1
    kept = 1
    for m in range(1, total):
        if merged[m] - merged[m - 1] > point_tol:
            kept += 1
    pts = np.empty(kept)
    out_order = np.empty(kept, dtype=np.int64)
    pts[0] = merged[0]
    out_order[0] = order[0]
    kept = 1
    for m in range(1, total):
        if merged[m] - merged[m - 1] > point_tol:
            pts[kept] = merged[m]
            out_order[kept] = order[m]
            kept += 1
    pts[0] = lo
    pts[kept - 1] = hi
    out_order[kept - 1] = n - 1
    return pts, out_order, piece, weight, True


@kernel(F2, I1, I1, F1)
def _interpolate(values, order, piece, weight):
    n, width = values.shape
    out = np.empty((len(order), width))
    for k in range(len(order)):
        s = order[k]
        if s < n:
            for c in range(width):
                out[k, c] = values[s, c]
        else:
            i = piece[s - n]
            w = weight[s - n]
            for c in range(width):
                a = values[i, c]
                out[k, c] = a + w * (values[i + 1, c] - a)
    return out


def cut_points(
    points: np.ndarray, values: np.ndarray, unit_tol: np.ndarray, point_tol: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, bool]:
    """:func:`regionscope.geometry.line.cut_points` (``unit_tol`` one per column of
    ``values``), and whether every value is finite (if not, nothing is cut)."""
    c = np.ascontiguousarray
    return _cut_points(c(points, np.float64), c(values, np.float64), c(unit_tol, np.float64),
                       float(point_tol))  # fmt: skip


def interpolate(
    values: np.ndarray, order: np.ndarray, piece: np.ndarray, weight: np.ndarray
) -> np.ndarray:
    """:func:`regionscope.geometry.line.interpolate` of ``(P, width)`` values."""
    if len(piece) == 0:
        return values
    c = np.ascontiguousarray  # order, piece and weight: as cut_points made them
    return _interpolate(c(values, np.float64), c(order, np.int64), c(piece, np.int64),
                        c(weight, np.float64))  # fmt: skip
