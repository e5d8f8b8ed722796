"""Units whose pattern is the same in every region: found from bounds over the domain.

On a window of a wide network most units keep one side of their zero on the
whole window: a ReLU unit whose input exceeds its tolerance at every point is
on in every region, whatever the corners say.  :func:`fixed_units` finds
them without evaluating any vertex, from one pass of bounds through the ops
after the folded prefix: each register is bounded as ``u @ M + c + e`` with
``M, c`` an affine map of the domain point ``u`` and ``e`` in a box
``[lo, hi]`` (a symbolic interval).  An affine op maps ``M, c`` exactly and
the box by its centre and its radius through ``|W|``
(:meth:`~regionscope.network.layers.Layer.magnitude`); a ReLU unit's input
ranges over ``min / max`` of ``u @ M + c`` at the corners of the vertices'
bounding box plus the box.  A unit beyond **twice** its tolerance over the
whole range is fixed (its bit is the same at every vertex, so the corner
rule gives every region that pattern); the margin covers rounding of the
bounds and of the values at the vertices.  A max-pooling group is fixed when
one input exceeds every other by twice the tolerance, or when all its inputs
are exactly zero (a tie, won by the first).  Other piecewise layers, and
everything after them, are left live.

Examples
--------
>>> import numpy as np
>>> import regionscope as rs
>>> from regionscope.network.layers import Linear, ReLU, Sequential
>>> net = Sequential(Linear([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]], [5.0, 0.0, -9.0]), ReLU())
>>> part = rs.partition(net, rs.Box(1.0))
>>> got = fixed_units(part._ev, part.vertices)
>>> got[1].live.tolist(), got[1].pattern[[0, 2]].tolist()   # x + 5 > 0 and x + y - 9 < 0
([1], [True, False])
"""

from __future__ import annotations

import itertools
from typing import Any, NamedTuple

import numpy as np

from regionscope.network.evaluate import Evaluator
from regionscope.network.layers import Argmax, MaxPool, ReLU

__all__ = ["Fixed", "fixed_units"]


class Fixed(NamedTuple):
    """One piecewise op's pattern where it is the same in every region.

    ``pattern (units,)``: the pattern of every region on the fixed units
    (its entries on the live units mean nothing); ``live (k,) int64``: the
    other units, sorted; ``columns (m,) int64``: the op's input columns those
    read, sorted; ``zero (width,) bool``, when known: the op's outputs that
    are zero on the whole domain (a ReLU unit off, a group of such units).
    """

    pattern: np.ndarray
    live: np.ndarray
    columns: np.ndarray
    zero: np.ndarray | None = None


class _Bound(NamedTuple):
    """``u @ rows[:dim] + rows[dim] + e``, ``e`` in ``[lo, hi]``; ``rows (dim + 1, w)``."""

    rows: np.ndarray
    lo: np.ndarray
    hi: np.ndarray


def _box_corners(points: np.ndarray) -> np.ndarray:
    """``(2^dim, dim + 1)``: the corners of the bounding box of ``points``, lifted by a 1."""
    lo, hi = points.min(axis=0), points.max(axis=0)
    corners = np.array(list(itertools.product(*zip(lo, hi, strict=True))), dtype=np.float64)
    return np.hstack([corners, np.ones((len(corners), 1))])


def _range(b: _Bound, box: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(lower (w,), upper (w,))`` of the bound over the box."""
    vals = box @ b.rows
    return vals.min(axis=0) + b.lo, vals.max(axis=0) + b.hi


def _affine(layer: Any, args: list[_Bound], dim: int) -> _Bound:
    """An affine op: ``M, c`` exactly, the box by its centre and ``|W|`` times its radius."""
    lin = layer.forward_linear(*(a.rows[:dim] for a in args))
    off = layer.forward(*(a.rows[dim : dim + 1] for a in args))
    centre = layer.forward_linear(*(((a.lo + a.hi) / 2)[None] for a in args))[0]
    radius = layer.magnitude(*(((a.hi - a.lo) / 2)[None] for a in args))[0]
    radius = radius - layer.magnitude(*(np.zeros((1, len(a.lo))) for a in args))[0]
    radius = np.maximum(radius, 0.0) * (1 + 1e-12)  # |W| r, rounded up
    return _Bound(np.vstack([lin, off]), centre - radius, centre + radius)


def _relu(b: _Bound, tol: np.ndarray, box: np.ndarray) -> tuple[Fixed, _Bound]:
    lower, upper = _range(b, box)
    on, off = lower > 2 * tol, upper < -2 * tol
    live = np.flatnonzero(~(on | off))
    out = _Bound(
        np.where(on, b.rows, 0.0),
        np.where(on, b.lo, 0.0),
        np.where(on, b.hi, np.where(off, 0.0, np.maximum(upper, 0.0))),
    )
    return Fixed(on, live, live, off), out


def _maxpool(layer: MaxPool, b: _Bound, tol: np.ndarray, box: np.ndarray) -> tuple[Fixed, _Bound]:
    groups = _table(layer, b.rows.shape[1])
    ngroups, k = groups.shape
    cols = np.maximum(groups, 0)
    valid = groups >= 0
    # only the input largest at the box's first corner (with its box low) can exceed every
    # other input by 2 tol on the whole box: test that one against the others
    score = np.where(valid, (box[0] @ b.rows + b.lo)[cols], -np.inf)
    cand = score.argmax(axis=1)
    top = cols[np.arange(ngroups), cand]
    wins = np.ones(ngroups, dtype=bool)
    for j in range(k):
        other = valid[:, j] & (cand != j)
        diff = box @ (b.rows[:, top] - b.rows[:, cols[:, j]])
        low = diff.min(axis=0) + b.lo[top] - b.hi[cols[:, j]]
        wins &= ~other | (low > 2 * tol)
    winner = np.where(wins, cand, -1).astype(np.intp)
    zero = (b.rows[:, cols] == 0).all(axis=0) & (b.lo[cols] == 0) & (b.hi[cols] == 0)
    tie = (zero | ~valid).all(axis=1) & (winner < 0)
    winner[tie] = 0
    fixed = winner >= 0
    live = np.flatnonzero(~fixed)
    win_col = cols[np.arange(ngroups), np.maximum(winner, 0)]
    lower, upper = _range(b, box)
    top_lo = np.where(valid, lower[cols], -np.inf).max(axis=1)
    top_hi = np.where(valid, upper[cols], -np.inf).max(axis=1)
    out = _Bound(
        np.where(fixed, b.rows[:, win_col], 0.0),
        np.where(fixed, b.lo[win_col], top_lo),
        np.where(fixed, b.hi[win_col], top_hi),
    )
    members = groups[live]
    columns = np.unique(members[members >= 0]).astype(np.int64)
    if type(layer) is Argmax:  # its output is its input
        return Fixed(np.maximum(winner, 0), live, columns), b
    zero_out = (out.rows == 0).all(axis=0) & (out.lo == 0) & (out.hi == 0)
    return Fixed(np.maximum(winner, 0), live, columns, zero_out), out


def _table(layer: MaxPool, width: int) -> np.ndarray:
    """``(G, k)``: the input columns of each group (an Argmax: one group of all)."""
    if type(layer) is Argmax:
        return np.arange(width)[None, :]
    return layer.groups


#: the vertices are bounded in ``CELLS ** dim`` boxes (a grid) when there are this many
#: (and one box leaves at most half the units live)
SPLIT_VERTICES = 2000
#: boxes per axis then (bounds of smaller boxes are tighter: fewer live units)
CELLS = 3


def fixed_units(ev: Evaluator, points: np.ndarray) -> dict[int, Fixed]:
    """``{op index: Fixed}`` for the piecewise ops after the folded prefix whose patterns
    can be bounded (ReLU, max-pooling, Argmax) at ``points (V, dim)`` (the partition's
    vertices), up to the first op that cannot.

    A fixed unit has the same pattern in every region whose corners lie among
    ``points``, by the corner rule of :meth:`Evaluator.region_patterns
    <regionscope.network.evaluate.Evaluator.region_patterns>`.  The bounds hold
    on the bounding box of the points or, with many points, on the boxes of the
    points in each cell of a grid (a unit is fixed when it is fixed, the same
    way, in every box).
    """
    dim = ev.lift_linear.shape[0]
    pts = np.asarray(points, dtype=np.float64).reshape(len(points), dim)
    if len(pts) == 0 or dim > 2:
        return {}
    whole = _fixed_in_box(ev, _box_corners(pts))
    total = sum(len(f.pattern) for f in whole.values())
    if len(pts) < SPLIT_VERTICES or 2 * sum(len(f.live) for f in whole.values()) > total:
        return whole  # few points, or most units live: smaller boxes are not worth it
    cells = CELLS
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    span = np.where(hi > lo, hi - lo, 1.0)
    cell = np.clip(((pts - lo) / span * cells).astype(np.int64), 0, cells - 1)
    key = cell @ (cells ** np.arange(dim))
    parts = [_fixed_in_box(ev, _box_corners(pts[key == k])) for k in np.unique(key)]
    out: dict[int, Fixed] = {}
    for i, first in parts[0].items():
        if not all(i in p for p in parts):
            break
        live = np.zeros(len(first.pattern), dtype=bool)
        zero = None if first.zero is None else first.zero.copy()
        for p in parts:
            live[p[i].live] = True
            live |= p[i].pattern != first.pattern
            if zero is not None and p[i].zero is not None:
                zero &= p[i].zero
        units = np.flatnonzero(live)
        op = ev.program.ops[i]
        layer: Any = op.layer
        if isinstance(layer, MaxPool):
            members = _table(layer, op.in_width)[units]
            columns = np.unique(members[members >= 0]).astype(np.int64)
        else:
            columns = units
        out[i] = Fixed(first.pattern, units, columns, zero)
    return out


def _fixed_in_box(ev: Evaluator, box: np.ndarray) -> dict[int, Fixed]:
    """:func:`fixed_units` on the box whose corners are ``box (K, dim + 1)`` (lifted)."""
    program = ev.program
    dim = ev.lift_linear.shape[0]
    start = ev.prefix_maps if ev.prefix else {0: (ev.lift_linear, ev.lift_offset)}
    regs: dict[int, _Bound] = {}
    for r, (lin, off) in start.items():
        rows = np.vstack([lin, np.reshape(off, (1, -1))])
        regs[r] = _Bound(rows, np.zeros(rows.shape[1]), np.zeros(rows.shape[1]))
    out: dict[int, Fixed] = {}
    for o in program.ops[ev.prefix :]:
        layer: Any = o.layer
        if any(r not in regs for r in o.inputs):
            break
        args = [regs[r] for r in o.inputs]
        if not (np.isfinite(args[0].lo).all() and np.isfinite(args[0].hi).all()):
            break
        if not layer.piecewise:
            regs[o.output] = _affine(layer, args, dim)
        elif type(layer) is ReLU:
            out[o.index], regs[o.output] = _relu(args[0], ev.unit_tol[o.index], box)
        elif type(layer) in (MaxPool, Argmax):
            out[o.index], regs[o.output] = _maxpool(layer, args[0], ev.unit_tol[o.index], box)
        else:
            break
        for r in program.frees[o.index]:
            regs.pop(r, None)
    return out
