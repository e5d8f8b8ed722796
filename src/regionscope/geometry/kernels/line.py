"""The 1-D cut, compiled: :func:`~regionscope.geometry.line.cut_points` and
:func:`~regionscope.geometry.line.interpolate` in one pass each.

Both give what the NumPy functions give, bit for bit: the same signs (``z >
tol``, ``z < -tol``), the zeros in the same order (piece by piece, unit by
unit), the same formulas (``w = za / (za - zb)``, ``a + w * (b - a)``), the
same stable order of the points and zeros (an old point before a zero at the
same place, zeros in their own order), the same merging rule.

:func:`chain` is a whole 1-D partition of a chain of Linear and ReLU layers in
one call: the unit tolerances, the folded first layers, the values at the
points and the cuts.  It follows the same rules as the NumPy path (the
snapping rule, the cut above) with its own summation order in the matrix
products, so its numbers may differ from NumPy's in the last bits: the same
partition, not the same bits.
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np
from numba import types

from .common import F1, F2, I1, helper, kernel, sort_index
from .dense import add_bias, as_lists, chain_scales, check_chain, relu_span, times, transposed

__all__ = ["cut_points", "interpolate", "chain", "CHAIN_SIZES"]


@kernel(F1, F2, F1, types.float64)
def _cut_points(points, values, unit_tol, point_tol):
    n, width = values.shape
    # every value finite, and the crossings counted, in one pass without branches
    finite = True
    count = 0
    for i in range(n - 1):
        for u in range(width):
            t = unit_tol[u]
            a = values[i, u]
            b = values[i + 1, u]
            finite &= a - a == 0.0  # False for infinity and NaN
            count += ((a > t) & (b < -t)) | ((a < -t) & (b > t))
    for u in range(width):
        finite &= values[n - 1, u] - values[n - 1, u] == 0.0
    if not finite:  # the caller refuses it (check_finite)
        empty = np.zeros(0, dtype=np.int64)
        return points.copy(), empty, empty, np.zeros(0), False
    piece = np.empty(count, dtype=np.int64)
    weight = np.empty(count)
    if count == 0:
        return points.copy(), np.arange(n), piece, weight, True
    roots = np.empty(count)
    lo = points[0]
    hi = points[n - 1]
    k = 0
    for i in range(n - 1):  # the crossings, piece by piece and unit by unit
        for u in range(width):
            t = unit_tol[u]
            za = values[i, u]
            zb = values[i + 1, u]
            if ((za > t) & (zb < -t)) | ((za < -t) & (zb > t)):
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


# -- a chain of Linear and ReLU layers, in one call ---------------------------------------

#: how many Linear layers a chain may have: :func:`chain` is compiled for tuples of
#: 8 and of 32 weights (unused places hold empty arrays)
CHAIN_SIZES = (8, 32)


@helper
def _after_first(points, x, lin, off, w):
    """``max(z, 0) @ w.T`` at the points, for ``z = s lin + off`` affine along the whole
    line (the first ReLU's input) and ``x`` its values at the points.

    On a piece, ``max(z, 0)`` is ``on * (s lin + off)`` for the units ``on`` there (those
    positive at its midpoint), so the product is ``s g + h``, with ``g = w[:, on] @
    lin[on]`` and ``h = w[:, on] @ off[on]``: both are kept from piece to piece, adding or
    taking away the column of each unit that turns on or off.  A point takes the map of
    the piece before it (the first point, of the piece after it).  That costs ``O(out)`` per
    unit turning, not ``O(in * out)`` per point; the numbers differ from the product at
    the points by rounding (a few units of the magnitudes' last bit), and for a unit
    within its tolerance at both ends of a piece and changing sign in between, by at
    most its tolerance times its weights.
    """
    n, width = x.shape
    out = w.shape[0]
    y = np.empty((n, out))
    g = np.zeros(out)
    h = np.zeros(out)
    on = np.zeros(width, dtype=np.bool_)
    for i in range(n - 1):
        for u in range(width):
            now = x[i, u] + x[i + 1, u] > 0.0
            if now != on[u]:
                on[u] = now
                a = lin[u] if now else -lin[u]
                c = off[u] if now else -off[u]
                for o in range(out):
                    g[o] += a * w[o, u]
                    h[o] += c * w[o, u]
        if i == 0:
            for o in range(out):
                y[0, o] = points[0] * g[o] + h[o]
        for o in range(out):
            y[i + 1, o] = points[i + 1] * g[o] + h[o]
    return y


def _chain(
    weights, biases, n_linear, relu_mask, bias_mask, p, direction, lo, hi, value_rtol,
    point_tol, limit, max_regions,
):  # fmt: skip
    dim = len(p)
    ws, bs = as_lists(weights, biases, n_linear)
    if relu_mask == 0 or not check_chain(ws, bs, n_linear, bias_mask, dim):
        return np.zeros(0), 4
    ends = np.empty((2, 1))  # the interval's ends: the corners of its scales
    ends[0, 0] = lo
    ends[1, 0] = hi
    tols, out_tol, fold = chain_scales(
        ws, bs, n_linear, relu_mask, bias_mask, ends, direction.reshape((1, dim)), p, value_rtol
    )
    lin = fold[0].copy()
    off = fold[1].copy()
    first, last = relu_span(relu_mask, n_linear)
    # the values at the ends (from the folded map, as the evaluator's prefix), then cut by cut
    width = len(lin)
    if 2 * width > limit:
        return np.zeros(0), 3
    points = np.empty(2)
    points[0] = lo
    points[1] = hi
    x = np.empty((2, width))
    for k in range(width):
        x[0, k] = lo * lin[k] + off[k]
        x[1, k] = hi * lin[k] + off[k]
    t = 0
    for j in range(first, last + 1):
        relu = (relu_mask >> j) & 1
        if relu:
            pts, order, piece, weight, finite = _cut_points(
                points, x, tols[t : t + width], point_tol
            )
            t += width
            if not finite:
                return np.zeros(0), 1
            if j != last and len(piece):
                if len(order) * width > limit:
                    return np.zeros(0), 3
                x = _interpolate(x, order, piece, weight)
            points = pts
            if len(points) - 1 > max_regions:
                return np.zeros(0), 2
        if j == last:
            break
        width = ws[j].shape[0]
        if len(points) * width > limit:
            return np.zeros(0), 3
        if j == first:  # the first ReLU's input is affine along the line
            x = _after_first(points, x, lin, off, ws[j])
        else:
            x = times(x, transposed(ws[j]), relu == 1)
        if (bias_mask >> j) & 1:
            add_bias(x, bs[j])
    n_lin = len(lin) if first else 0
    n_tol = len(tols)
    n_out = len(out_tol)
    res = np.empty(n_tol + n_out + 2 * n_lin + 2 * dim + len(points))
    res[:n_tol] = tols
    res[n_tol : n_tol + n_out] = out_tol
    at = n_tol + n_out
    if n_lin:
        res[at : at + n_lin] = lin
        res[at + n_lin : at + 2 * n_lin] = off
        at += 2 * n_lin
    res[at : at + dim] = direction
    res[at + dim : at + 2 * dim] = p
    res[at + 2 * dim :] = points
    return res, 0


def _chain_signature(size: int) -> tuple[Any, ...]:
    return (
        types.UniTuple(F2, size), types.UniTuple(F1, size), types.int64, types.int64,
        types.int64, F1, F1, types.float64, types.float64, types.float64, types.float64,
        types.int64, types.int64,
    )  # fmt: skip


_chain = numba.njit([_chain_signature(size) for size in CHAIN_SIZES], cache=True)(_chain)


def chain(
    weights: tuple[np.ndarray, ...],
    biases: tuple[np.ndarray | None, ...],
    relus: tuple[bool, ...],
    p: np.ndarray,
    direction: np.ndarray,
    lo: float,
    hi: float,
    value_rtol: float,
    point_tol: float,
    limit: int,
    max_regions: int,
) -> tuple[np.ndarray, int]:
    """The 1-D partition of a chain of Linear and ReLU layers on the line ``p + s direction``,
    ``lo <= s <= hi``, in one call.

    Parameters
    ----------
    weights : tuple of (out, in) float64
        The Linear layers' weights, in order (at most ``CHAIN_SIZES[-1]``).
    biases : tuple of (out,) float64 or None
    relus : tuple of bool
        One more than ``weights``: whether a ReLU comes before Linear layer ``j`` (the last:
        after the last Linear layer).  At least one.
    p, direction : (D,) float64
    lo, hi : float
    value_rtol : float
        The snapping rule's factor: a unit's tolerance is ``value_rtol`` times its scale
        (:meth:`Tolerance.unit_tolerance <regionscope.tolerances.Tolerance.unit_tolerance>`).
    point_tol : float
        Points closer than this are one (:func:`cut_points`).
    limit : int
        The most values (points times width) a table at the points may hold.
    max_regions : int
        The most pieces.

    Returns
    -------
    result : (R,) float64
        One after the other: the unit tolerances of each ReLU, the tolerances of the
        outputs, the folded map of the Linear layers before the first ReLU (``lin``,
        ``off``: that many numbers each, none when the chain starts with a ReLU),
        ``direction`` and ``p`` (copies), the points (both ends included).  Empty unless
        ``status`` is 0.
    status : int
        0; 1 where a ReLU's input is not finite, 2 past ``max_regions`` pieces, 3 past
        ``limit`` values, 4 where the widths do not follow one another (nothing is
        returned then: the caller takes the general path, which raises or stores what it
        can).

    Examples
    --------
    >>> # s -> relu(s - 1): one zero, at s = 1
    >>> res, status = chain((np.ones((1, 1)),), (-np.ones(1),), (False, True), np.zeros(1),
    ...                     np.ones(1), -2.0, 3.0, 1e-11, 1e-12, 100, 10)
    >>> status, res.tolist()
    (0, [4e-11, 4e-11, 1.0, -1.0, 1.0, 0.0, -2.0, 1.0, 3.0])
    """
    n = len(weights)
    size = next(s for s in CHAIN_SIZES if s >= n)
    ws = tuple(_fixed(w) for w in weights) + (_fixed(np.zeros((0, 0))),) * (size - n)
    bs = tuple(_fixed(np.zeros(0) if b is None else b) for b in biases)
    relu_mask = sum(1 << j for j, r in enumerate(relus) if r)
    bias_mask = sum(1 << j for j, b in enumerate(biases) if b is not None)
    return _chain(ws, bs + (_fixed(np.zeros(0)),) * (size - n), n, relu_mask, bias_mask,
                  _fixed(p), _fixed(direction), float(lo), float(hi), float(value_rtol),
                  float(point_tol), int(limit), int(max_regions))  # fmt: skip


def _fixed(arr: Any) -> np.ndarray:
    """``arr`` as a read-only C-contiguous float64 array (the kernels' own type)."""
    out = np.array(arr, dtype=np.float64, order="C")
    out.flags.writeable = False
    return out
