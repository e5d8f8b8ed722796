"""Max layers' small steps, compiled: stage values, winners, and winners over regions.

The counterparts of NumPy code in :mod:`regionscope.network.layers`
(``MaxPool.stage_values``, ``MaxPool.pattern``), :mod:`regionscope.compute.pairs`
(``disagreeing``) and :mod:`regionscope.compute.windowed` (``group_winners``),
each one pass over its rows without temporaries.  A group is a row of a
column ``table (G, m) int64`` (``-1`` pads short groups); the maximum of
values is exact in any order (NaN propagates as in ``np.max``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import types

from .common import F1, I1, I2, f64, i64, inline, kernel

__all__ = [
    "max_stage",
    "first_winners",
    "winners_on_regions",
    "winners_at_corners",
    "corners_disagree",
    "surely_kept",
    "stage_values",
    "winners",
    "disagree",
    "affine_winners",
    "stored_winners",
    "winners_and_maxima",
    "mask_winners",
]

#: a 2-D float64 array of any layout (a register's view is taken as it is)
FA = types.Array(types.float64, 2, "A", readonly=True)


@inline
def _larger(m, v):
    """``max(m, v)`` as ``np.max`` reduces: of equal values the later (so of ``-0.0`` and
    ``0.0``, the later's sign), and a NaN, once met, stays."""
    return v if (v >= m or v != v) else m


@kernel(FA, I2, types.int64)
def stage_values(x, table, k):
    """``(N, G)``: ``max(slots < k) - slot k`` of each group at each row; ``1.0`` where that
    is not finite (no slot ``k``, or an overflow)."""
    n, g = x.shape[0], table.shape[0]
    out = np.empty((n, g), dtype=np.float64)
    for i in range(n):
        for j in range(g):
            m = -np.inf
            for s in range(k):
                c = table[j, s]
                m = _larger(m, x[i, c] if c >= 0 else -np.inf)
            c = table[j, k]
            v = m - (x[i, c] if c >= 0 else -np.inf)
            out[i, j] = v if np.isfinite(v) else 1.0
    return out


@inline
def _group_max(x, i, table, j):
    """The largest input of group ``j`` at row ``i`` (``-inf`` for padding, as ``_larger``
    orders NaNs and signed zeros)."""
    m = -np.inf
    for s in range(table.shape[1]):
        c = table[j, s]
        m = _larger(m, x[i, c] if c >= 0 else -np.inf)
    return m


@inline
def _first_at_least(x, i, table, j, limit):
    """The first slot of group ``j`` whose input at row ``i`` is at least ``limit`` (``-1``
    where none is: a NaN)."""
    for s in range(table.shape[1]):
        c = table[j, s]
        if (x[i, c] if c >= 0 else -np.inf) >= limit:
            return s
    return -1


@inline
def _first_candidate(x, i, table, j, t):
    """The first slot of group ``j`` within ``t`` of its largest input at row ``i``
    (``-1`` where none is: a NaN)."""
    return _first_at_least(x, i, table, j, _group_max(x, i, table, j) - t)


@kernel(FA, I2, F1)
def winners(x, table, tol):
    """``(N, G) int64``: each group's first candidate at each row (``0`` where none is, as
    ``argmax`` of no true value)."""
    n, g = x.shape[0], table.shape[0]
    out = np.empty((n, g), dtype=np.int64)
    for i in range(n):
        for j in range(g):
            out[i, j] = max(_first_candidate(x, i, table, j, tol[j]), 0)
    return out


@kernel(FA, I2, F1, types.boolean)
def _winners_and_maxima(x, table, tol, with_masks):
    n, g, k = x.shape[0], table.shape[0], table.shape[1]
    won = np.empty((n, g), dtype=np.int8)
    top = np.empty((n, g), dtype=np.float64)
    masks = np.zeros((n if with_masks else 0, g), dtype=np.int64)
    for i in range(n):
        for j in range(g):
            m = _group_max(x, i, table, j)
            limit = m - tol[j]
            first = _first_at_least(x, i, table, j, limit)
            won[i, j] = first if first >= 0 else k - 1  # (no candidate: a NaN, as in NumPy)
            top[i, j] = m + 0.0  # (a zero is +0.0, as in the NumPy code)
            if with_masks:
                bits = 0
                for s in range(k):
                    c = table[j, s]
                    if c >= 0 and x[i, c] >= limit:
                        bits |= 1 << s
                masks[i, j] = bits
    return won, top, masks


def winners_and_maxima(
    table: np.ndarray, x: np.ndarray, tol: np.ndarray, with_masks: bool = False
) -> tuple[np.ndarray, ...]:
    """:func:`regionscope.compute.tables.winners_and_maxima`, compiled: each group's
    first candidate ``(N, G) int8`` and largest input ``(N, G) float64`` at each row of
    ``x``, and ``with_masks`` its candidates ``(N, G) int64`` (bit ``s``: slot ``s``), in
    one pass without the gathered ``(N, k, G)`` table (the same values)."""
    won, top, masks = _winners_and_maxima(x, i64(table), f64(tol), bool(with_masks))
    return (won, top, masks) if with_masks else (won, top)


def mask_winners(
    masks: np.ndarray, rv: np.ndarray, offsets: np.ndarray, regions: np.ndarray, groups: np.ndarray
) -> np.ndarray:
    """:func:`regionscope.compute.merge.mask_winners`, compiled: ``(Q,) int64``, the first
    slot of group ``groups[q]`` that is a candidate at every corner of region ``regions[q]``
    by the candidate ``masks (V, G) int64`` at the vertices (``-1`` where none is)."""
    return _mask_winners(i64(masks), i64(rv), i64(offsets), i64(regions), i64(groups))


@kernel(I2, I1, I1, I1, I1)
def _mask_winners(masks, rv, offsets, regions, groups):
    out = np.empty(len(regions), dtype=np.int64)
    for q in range(len(regions)):
        r, j = regions[q], groups[q]
        both = -1
        for i in range(offsets[r], offsets[r + 1]):
            both &= masks[rv[i], j]
        s = -1
        if both != 0:
            s = 0
            while not (both >> s) & 1:
                s += 1
        out[q] = s
    return out


@kernel(I1, I1, I1, I1, I2)
def disagree(rv, offsets, region, group, at):
    """``(P,) bool``: whether the corners of ``region[p]`` disagree on group ``group[p]``'s
    value in ``at (V, G)``."""
    out = np.empty(len(region), dtype=np.bool_)
    for p in range(len(region)):
        r, j = region[p], group[p]
        first = at[rv[offsets[r]], j]
        out[p] = False
        for i in range(offsets[r] + 1, offsets[r + 1]):
            if at[rv[i], j] != first:
                out[p] = True
                break
    return out


@kernel(FA, I1, I1, I1, I1, I2, F1)
def stored_winners(x, rv, offsets, regions, groups, table, tol):
    """``(Q,) int64``: the first input of group ``groups[q]`` that is a candidate at every
    corner of region ``regions[q]``, from the input ``x (V, width)`` at the vertices
    (``-1`` where none is)."""
    out = np.empty(len(regions), dtype=np.int64)
    every = np.empty(table.shape[1], dtype=np.bool_)
    for q in range(len(regions)):
        r, j = regions[q], groups[q]
        every[:] = True
        for i in range(offsets[r], offsets[r + 1]):
            v = rv[i]
            m = _group_max(x, v, table, j)
            for s in range(table.shape[1]):
                c = table[j, s]
                every[s] &= (x[v, c] if c >= 0 else -np.inf) >= m - tol[j]
        out[q] = -1
        for s in range(table.shape[1]):
            if every[s]:
                out[q] = s
                break
    return out


@kernel(types.Array(types.float64, 2, "C", readonly=True), I1, I1, I1, I1, I2, F1, F1, F1, F1)
def affine_winners(vertices, rv, offsets, regions, groups, table, lin_x, lin_y, offset, tol):
    """``(Q,) int64``: :func:`stored_winners` with the input ``x * lin_x + y * lin_y +
    offset`` computed at the corners (the same products and sums, in the same order, as
    ``xy[:, :1] * linear[0] + xy[:, 1:] * linear[1] + offset``)."""
    k = table.shape[1]
    out = np.empty(len(regions), dtype=np.int64)
    every = np.empty(k, dtype=np.bool_)
    vals = np.empty(k, dtype=np.float64)
    for q in range(len(regions)):
        r, j = regions[q], groups[q]
        every[:] = True
        for i in range(offsets[r], offsets[r + 1]):
            x, y = vertices[rv[i], 0], vertices[rv[i], 1]
            m = -np.inf
            for s in range(k):
                c = table[j, s]
                vals[s] = x * lin_x[c] + y * lin_y[c] + offset[c] if c >= 0 else -np.inf
                m = _larger(m, vals[s])
            for s in range(k):
                every[s] &= vals[s] >= m - tol[j]
        out[q] = -1
        for s in range(k):
            if every[s]:
                out[q] = s
                break
    return out


def _columns(layer: Any, width: int, units: slice | None) -> np.ndarray:
    """``(G, k) int64``: the input columns of the layer's groups (or of ``units``)."""
    groups = np.arange(layer.num_units(width))
    return i64(layer.group_columns(groups if units is None else groups[units], width))


def max_stage(layer: Any, x: np.ndarray, units: slice | None, k: int) -> np.ndarray:
    """``layer.stage_values(x, k - 1, units)`` (a ``MaxPool`` or ``Argmax``), compiled."""
    return stage_values(x, _columns(layer, x.shape[1], units), k)


def first_winners(layer: Any, x: np.ndarray, units: slice | None, tol: Any) -> np.ndarray:
    """``layer.pattern(x, units, tol)`` with ``tol`` a float or one per group, compiled."""
    table = _columns(layer, x.shape[1], units)
    return winners(x, table, _per_group(tol, len(table))).astype(np.intp, copy=False)


def _per_group(tol: Any, groups: int) -> np.ndarray:
    """``(G,) float64``: ``tol`` (a float or one per group) for every group."""
    return np.ascontiguousarray(np.broadcast_to(np.asarray(tol, dtype=np.float64), groups))


def winners_on_regions(
    mesh: Any, table: np.ndarray, affine: tuple[np.ndarray, np.ndarray], tol: Any,
    regions: np.ndarray, groups: np.ndarray,
) -> np.ndarray:
    """:func:`regionscope.compute.windowed.group_winners`, compiled (:func:`affine_winners`
    on the mesh's arrays)."""
    linear = f64(affine[0])
    return affine_winners(
        f64(mesh.vertices), i64(mesh.region_vertices), i64(mesh.region_offsets), i64(regions),
        i64(groups), i64(table), f64(linear[0]), f64(linear[1]), f64(affine[1]),
        _per_group(tol, len(table)),
    )  # fmt: skip


def winners_at_corners(
    layer: Any, x: np.ndarray, region_vertices: np.ndarray, region_offsets: np.ndarray,
    regions: np.ndarray, groups: np.ndarray, tol: Any,
) -> np.ndarray:
    """:meth:`Evaluator.group_winners <regionscope.network.evaluate.Evaluator.group_winners>`
    from the input ``x (V, width)`` at the vertices, compiled (:func:`stored_winners`)."""
    table = _columns(layer, x.shape[1], None)
    return stored_winners(
        x, i64(region_vertices), i64(region_offsets), i64(regions), i64(groups), table,
        _per_group(tol, len(table)),
    )  # fmt: skip


def corners_disagree(
    mesh: Any, winners: np.ndarray, region: np.ndarray, group: np.ndarray
) -> np.ndarray:
    """:func:`regionscope.compute.pairs.disagreeing`'s filter, compiled (:func:`disagree`)."""
    return disagree(
        i64(mesh.region_vertices), i64(mesh.region_offsets), i64(region), i64(group),
        i64(winners),
    )  # fmt: skip


@inline
def _far(vertices, origin, rv, nxt, prv, inc, nx, ny, o, t):
    """The line's value at the corner after side ``inc``, or (where that is within ``t``)
    at the corner before it."""
    c = rv[nxt[nxt[inc]]]
    v = (vertices[c, 0] - origin[0]) * nx + (vertices[c, 1] - origin[1]) * ny + o
    if np.abs(v) <= t:
        c = rv[prv[inc]]
        v = (vertices[c, 0] - origin[0]) * nx + (vertices[c, 1] - origin[1]) * ny + o
    return v


@kernel(types.Array(types.float64, 2, "C", readonly=True), F1, I1, I1, I1, I1, I1, I1, F1, F1,
        F1, F1, F1, F1, F1, F1, F1)
def _sides_kept(vertices, origin, rv, nxt, prv, i1, i2, e, dx, dy, shift, lo, hi, nx, ny, o,
                thr):
    """``(S,) bool``: :func:`surely_kept` on arrays (per side ``i1, i2``; per line the rest)."""
    ok = np.zeros(len(i1), dtype=np.bool_)
    for s in range(len(i1)):
        k = e[s]
        p, q = rv[i1[s]], rv[nxt[i1[s]]]
        t_p = (vertices[p, 0] - origin[0]) * dx[k] + (vertices[p, 1] - origin[1]) * dy[k]
        t_q = (vertices[q, 0] - origin[0]) * dx[k] + (vertices[q, 1] - origin[1]) * dy[k]
        a, b = lo[k] + shift[k], hi[k] + shift[k]
        if not (t_p >= a and t_q >= a and t_p <= b and t_q <= b):
            continue
        t = thr[k]
        f0 = _far(vertices, origin, rv, nxt, prv, i1[s], nx[k], ny[k], o[k], t)
        f1 = _far(vertices, origin, rv, nxt, prv, i2[s], nx[k], ny[k], o[k], t)
        ok[s] = (f0 > t and f1 < -t) or (f0 < -t and f1 > t)
    return ok


def surely_kept(mesh: Any, edges: Any, i1: np.ndarray, i2: np.ndarray, e: np.ndarray,
                tol: np.ndarray) -> np.ndarray:
    """:func:`regionscope.compute.windowed._surely_kept`, compiled: the per-line numbers
    (shift, thresholds) as NumPy computes them, then one pass over the sides."""
    shift = (edges.point * edges.direction).sum(axis=1)
    o = f64(edges.offset)
    thr = 1.5 * np.asarray(tol, dtype=np.float64)[edges.group] + 1e-12 * np.abs(o)
    return _sides_kept(
        f64(mesh.vertices), f64(edges.origin), i64(mesh.region_vertices),
        i64(mesh.incidence_next), i64(mesh.incidence_prev), i64(i1), i64(i2), i64(e),
        f64(edges.direction[:, 0]), f64(edges.direction[:, 1]), f64(shift),
        f64(edges.inner[:, 0]), f64(edges.inner[:, 1]), f64(edges.normal[:, 0]),
        f64(edges.normal[:, 1]), o, f64(thr),
    )  # fmt: skip
