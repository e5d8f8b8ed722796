"""Every region's affine map, composed along a walk through neighbouring regions.

The map of a layer's output on region ``f`` is composed op by op from the
folded prefix (:attr:`Evaluator.prefix_maps
<regionscope.network.evaluate.Evaluator.prefix_maps>`) and the region's
patterns: ``dim + 1`` rows (the linear part and the offset) go through every
op.  Through a wide linear op (a convolution, a large dense layer) that is
``dim + 1`` forward passes per region.  But neighbouring regions differ in few
units: where region ``g`` follows region ``f`` and their input maps differ in
the columns ``K`` only, the op's output map on ``g`` is that on ``f`` plus the
op's columns ``K`` applied to the difference, ``L(X_g) = L(X_f) + sum_k
(X_g - X_f)[:, k] L(e_k)``.  :func:`compose_maps` walks the regions in an
order that keeps neighbours together (:func:`hilbert_order` of their
centroids), computes each op's column ``L(e_k)`` once, when a walk first
needs it, and restarts from a full pass at the start of every batch of
positions, so rounding accumulates over one batch at most.  Ops whose input
maps differ densely along the walk (or that are cheap) are composed region by
region, as :meth:`Evaluator.affine_maps
<regionscope.network.evaluate.Evaluator.affine_maps>` does.

Examples
--------
>>> import numpy as np
>>> import regionscope as rs
>>> from regionscope import compute
>>> from regionscope.network.program import compile_model
>>> net = rs.testing.random_mlp([2, 16, 16], seed=0)
>>> part = rs.partition(net, rs.Box(1.0))
>>> pats = part.activation_patterns()
>>> ev = compute.evaluator(part.domain, compile_model(net, 2))
>>> order = hilbert_order(part.centroids())
>>> A, c = compose_maps(ev, 3, pats, order)
>>> A0, c0 = ev.affine_maps(3, {i: p[order] for i, p in pats.items()}, ev.lift_linear,
...                         ev.lift_offset)
>>> bool(np.allclose(A, A0, rtol=0, atol=1e-12) and np.allclose(c, c0, rtol=0, atol=1e-12))
True
"""

from __future__ import annotations

from typing import Any

import numpy as np

from regionscope.network.evaluate import Evaluator
from regionscope.network.program import Op
from regionscope.tolerances import get_budget

__all__ = ["compose_maps", "hilbert_order", "WIDE_OP"]

#: an op whose ``in_width * out_width`` reaches this is applied by its columns along the walk
WIDE_OP = 1 << 16
#: ... when the columns that change along a batch are at most this fraction of the dense ones
SPARSE_FRACTION = 0.125


def hilbert_order(points: np.ndarray, bits: int = 16) -> np.ndarray:
    """``(N,) int64``: the order of ``points (N, 2)`` along a Hilbert curve over their box.

    Points close along the curve are close in the plane (the converse
    mostly holds), so regions taken in this order of their centroids are
    mostly neighbours.

    >>> hilbert_order(np.array([[1.0, 1.0], [0.0, 0.0], [1.0, 0.0], [0.0, 1.0]])).tolist()
    [1, 3, 0, 2]
    """
    pts = np.asarray(points, dtype=np.float64).reshape(len(points), 2)
    if len(pts) == 0:
        return np.zeros(0, dtype=np.int64)
    n = 1 << bits
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    span = np.where(hi > lo, hi - lo, 1.0)
    q = np.clip(((pts - lo) / span * (n - 1)).astype(np.int64), 0, n - 1)
    x, y = q[:, 0].copy(), q[:, 1].copy()
    d = np.zeros(len(pts), dtype=np.int64)
    s = n // 2
    while s > 0:
        rx = (x & s) > 0
        ry = (y & s) > 0
        d += s * s * ((3 * rx.astype(np.int64)) ^ ry.astype(np.int64))
        turn = ~ry  # rotate the quadrant so that the curve continues
        flip = turn & rx
        x[flip] = s - 1 - x[flip]
        y[flip] = s - 1 - y[flip]
        x[turn], y[turn] = y[turn], x[turn].copy()
        s //= 2
    return np.argsort(d, kind="stable").astype(np.int64)


class _Columns:
    """The columns ``L(e_k)`` of a linear op, computed when first asked, kept sparse."""

    def __init__(self, op: Op) -> None:
        self.op = op
        self.index: dict[int, np.ndarray] = {}
        self.value: dict[int, np.ndarray] = {}

    def get(self, units: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(lengths (k,), out index (m,), value (m,))`` of the columns ``units (k,)``."""
        missing = np.array([u for u in np.unique(units).tolist() if u not in self.index])
        layer: Any = self.op.layer
        step = max(1, get_budget().chunk_values // max(self.op.in_width + self.op.out_width, 1))
        for s in range(0, len(missing), step):
            part = missing[s : s + step]
            basis = np.zeros((len(part), self.op.in_width))
            basis[np.arange(len(part)), part] = 1.0
            cols = layer.forward_linear(basis)
            for u, col in zip(part.tolist(), cols, strict=True):
                nz = np.flatnonzero(col)
                self.index[u], self.value[u] = nz, col[nz]
        idx = [self.index[u] for u in units.tolist()]
        val = [self.value[u] for u in units.tolist()]
        lengths = np.array([len(i) for i in idx], dtype=np.int64)
        if not idx:
            return lengths, np.zeros(0, dtype=np.int64), np.zeros(0)
        return lengths, np.concatenate(idx), np.concatenate(val)


def _along_walk(
    op: Op, lin: np.ndarray, off: np.ndarray, dim: int, columns: _Columns
) -> tuple[np.ndarray, np.ndarray] | None:
    """A linear op on the maps of consecutive positions ``(lin (n * dim, w), off (n, w))``,
    by its columns: the first position by a full pass, each next one from the one before.
    ``None`` where the maps differ densely (a full pass is then cheaper)."""
    n = len(off)
    rows = lin.reshape(n, dim, -1)
    moved = off[1:] != off[:-1]
    moved |= (rows[1:] != rows[:-1]).any(axis=1)
    pos, unit = np.nonzero(moved)  # (position - 1, column) where the input map changes
    if len(pos) > SPARSE_FRACTION * max(n - 1, 1) * op.in_width:
        return None
    step = np.empty((len(pos), dim + 1))
    step[:, :dim] = rows[pos + 1, :, unit] - rows[pos, :, unit]
    step[:, dim] = off[pos + 1, unit] - off[pos, unit]
    layer: Any = op.layer
    first_lin = layer.forward_linear(lin[:dim])
    first_off = layer.forward(off[:1])
    out_w = first_off.shape[1]
    lengths, where, value = columns.get(unit)
    which = np.repeat(np.arange(len(pos)), lengths)
    target = (pos[which] + 1) * out_w + where  # the position each entry lands on
    deltas = np.empty((dim + 1, n, out_w))
    for j in range(dim + 1):
        weights = step[which, j] * value
        deltas[j] = np.bincount(target, weights, minlength=n * out_w).reshape(n, out_w)
    deltas[:dim, 0] = first_lin
    deltas[dim, 0] = first_off[0]
    np.cumsum(deltas, axis=1, out=deltas)
    return deltas[:dim].transpose(1, 0, 2).reshape(n * dim, out_w), deltas[dim]


def _apply(
    op: Op,
    maps: list[tuple[np.ndarray, np.ndarray]],
    pattern: np.ndarray | None,
    dim: int,
    columns: _Columns | None,
) -> tuple[np.ndarray, np.ndarray]:
    """One op on the maps of its inputs at consecutive positions of the walk."""
    layer: Any = op.layer
    if pattern is not None:
        (lin, off) = maps[0]
        return (
            layer.forward_pattern_linear(lin, np.repeat(pattern, dim, axis=0)),
            layer.forward_pattern(off, pattern),
        )
    if columns is not None:
        done = _along_walk(op, maps[0][0], maps[0][1], dim, columns)
        if done is not None:
            return done
    return layer.forward_linear(*(m[0] for m in maps)), layer.forward(*(m[1] for m in maps))


def compose_maps(
    ev: Evaluator,
    index: int,
    patterns: dict[int, np.ndarray],
    order: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """The affine map of op ``index``'s output on every region, along the walk ``order``.

    Parameters
    ----------
    ev : Evaluator
        The network on the partition's domain; ``index`` at or after its
        folded prefix (``ev.prefix``).
    index : int
        The op whose output is described.
    patterns : dict
        ``{op index: (F, ...) pattern}`` of every region, for every piecewise
        op up to ``index``.
    order : (n,) int64
        The regions wanted, in the order of the walk.

    Returns
    -------
    A : (n, width, dim) float64
    c : (n, width) float64
        Row ``t`` for region ``order[t]``: as :meth:`Evaluator.affine_maps
        <regionscope.network.evaluate.Evaluator.affine_maps>`, up to rounding.
    """
    program = ev.program
    dim = ev.lift_linear.shape[0]
    first = ev.prefix
    if index < first:
        raise ValueError(f"compose_maps starts after the folded prefix (op {first})")
    start = ev.prefix_maps if first else {0: (ev.lift_linear, ev.lift_offset)}
    nregions = len(order)
    out = program.ops[index]
    a = np.empty((nregions, out.out_width, dim))
    c = np.empty((nregions, out.out_width))
    columns = {
        o.index: _Columns(o)
        for o in program.ops[first : index + 1]
        if not o.layer.piecewise and len(o.inputs) == 1 and o.in_width * o.out_width >= WIDE_OP
    }
    step = max(2, get_budget().chunk_values // ((dim + 1) * max(program.max_width, 1)))
    for s in range(0, nregions, step):
        rows = order[s : s + step]
        n = len(rows)
        at = slice(s, s + n)
        regs = {
            r: (np.tile(lin, (n, 1)), np.tile(off, (n, 1)))
            for r, (lin, off) in start.items()
        }
        for o in program.ops[first : index + 1]:
            pat = None
            if o.layer.piecewise:
                if o.index not in patterns:
                    raise ValueError(f"affine maps need the pattern of layer {o.index}")
                pat = patterns[o.index][rows]
            regs[o.output] = _apply(o, [regs[r] for r in o.inputs], pat, dim, columns.get(o.index))
            for r in program.frees[o.index]:
                regs.pop(r, None)
        lin_out, off_out = regs[out.output]
        a[at] = lin_out.reshape(n, dim, -1).transpose(0, 2, 1)
        c[at] = off_out
    return a, c
