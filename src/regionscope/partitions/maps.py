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

The same walk finds the patterns it is not given (:func:`walk_maps`): a
piecewise op's input at a region's corners is the input map of that region
(or of a neighbour sharing the corner) at those points, so the corner rule
of :meth:`Evaluator.region_patterns
<regionscope.network.evaluate.Evaluator.region_patterns>` applies without a
forward pass through wide layers at the vertices.  Within a batch a map is
kept shared (the folded prefix), masked (a ReLU of it: only its pattern) or
written out per position.

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

from typing import Any, NamedTuple

import numpy as np

from regionscope.geometry.arrays import exclusive_cumsum, expand
from regionscope.network.conv import Reshape
from regionscope.network.corners import (
    VertexWords,
    combine_words,
    on_own_sides,
    plain_sides,
    side_pattern,
)
from regionscope.network.evaluate import Evaluator
from regionscope.network.layers import MaxPool, ReLU
from regionscope.network.program import Op
from regionscope.tolerances import get_budget

__all__ = ["compose_maps", "walk_maps", "hilbert_order", "RegionCorners", "WIDE_OP"]

#: an op whose ``in_width * out_width`` reaches this is applied by its columns along the walk
WIDE_OP = 1 << 16
#: ... when the columns that change along a batch are at most this fraction of the dense ones
SPARSE_FRACTION = 0.125
#: for patterns alone, a linear op with ``in_width * out_width`` up to this runs on the values
#: at the vertices (after the last wider one) instead of on the maps
CHEAP_OP = 1 << 18


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


class RegionCorners(NamedTuple):
    """Where the regions' patterns come from when they are not known: their corners.

    ``coords (V, dim)`` the vertices; ``region_vertices (I,)`` and
    ``region_offsets (F + 1,)`` each region's corners; ``incidence_source
    (I,)`` (or ``None``) what made the side leaving each corner; ``interior
    (F, dim)`` a point inside each region; ``zero_units`` ``{op index: (k,)
    int}`` units zero on the whole domain (or ``None``).  The same meaning as
    in :meth:`Evaluator.region_patterns
    <regionscope.network.evaluate.Evaluator.region_patterns>`.
    """

    coords: np.ndarray
    region_vertices: np.ndarray
    region_offsets: np.ndarray
    incidence_source: np.ndarray | None
    interior: np.ndarray
    zero_units: dict[int, np.ndarray] | None = None


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


class _Maps:
    """The affine maps of one register at the ``n`` positions of a batch, rows ``dim + 1``
    (the linear part, then the offset), in one of three forms: ``shared (dim + 1, w)``, the
    same at every position (a folded prefix); ``mask (n, w) bool`` with ``shared``, the
    shared map with the columns ``~mask`` zeroed (a ReLU of it); or ``dense (n, dim + 1,
    w)``."""

    def __init__(
        self,
        shared: np.ndarray | None = None,
        mask: np.ndarray | None = None,
        dense: np.ndarray | None = None,
    ) -> None:
        self.shared, self.mask, self.dense = shared, mask, dense

    def full(self, n: int) -> np.ndarray:
        """``(n, dim + 1, w)``: the maps written out."""
        if self.dense is not None:
            return self.dense
        if self.mask is not None:
            return np.where(self.mask[:, None, :], self.shared[None], 0.0)
        return np.broadcast_to(self.shared, (n, *self.shared.shape))

    def at(self, points: np.ndarray, positions: np.ndarray) -> np.ndarray:
        """``(k, w)``: the map of position ``positions[i]`` at domain point ``points[i]``."""
        dim = points.shape[1]
        if self.dense is None:
            x = points @ self.shared[:dim] + self.shared[dim]  # type: ignore[index]
            return x if self.mask is None else np.where(self.mask[positions], x, 0.0)
        # points grouped by position: one small product per position, no copy of the maps
        by = np.argsort(positions, kind="stable")
        bounds = np.searchsorted(positions[by], np.arange(len(self.dense) + 1))
        lifted = np.ones((len(points), dim + 1))
        lifted[:, :dim] = points[by]
        x = np.empty((len(points), self.dense.shape[2]))
        for t in np.flatnonzero(np.diff(bounds)).tolist():
            seg = slice(bounds[t], bounds[t + 1])
            np.matmul(lifted[seg], self.dense[t], out=x[seg])
        out = np.empty_like(x)
        out[by] = x
        return out


def _is_reshape(layer: Any) -> bool:
    """A layer that leaves flat data as it is (its maps pass through)."""
    return isinstance(layer, Reshape)


def _affine_rows(layer: Any, maps: list[np.ndarray], dim: int) -> np.ndarray:
    """An affine op on dense maps ``(n, dim + 1, w)``: the linear part on the linear rows,
    the whole op on the offsets."""
    n = len(maps[0])
    lin = layer.forward_linear(*(m[:, :dim].reshape(n * dim, -1) for m in maps))
    off = layer.forward(*(m[:, dim] for m in maps))
    out = np.empty((n, dim + 1, off.shape[1]))
    out[:, :dim] = lin.reshape(n, dim, -1)
    out[:, dim] = off
    return out


def _along_walk(layer: Any, x: _Maps, n: int, dim: int, columns: _Columns) -> _Maps | None:
    """A linear op on the maps of consecutive positions by its columns: the first position by
    a full pass, each next one from the one before, ``L(X_t) = L(X_{t-1}) + sum_k (X_t -
    X_{t-1})[:, k] L(e_k)``.  ``None`` where the maps differ densely (a pass is cheaper)."""
    if x.mask is not None:
        pos, unit = np.nonzero(x.mask[1:] != x.mask[:-1])
    else:
        rows = x.full(n)
        pos, unit = np.nonzero((rows[1:] != rows[:-1]).any(axis=1))
    if len(pos) > SPARSE_FRACTION * max(n - 1, 1) * columns.op.in_width:
        return None
    if x.mask is not None:
        sign = np.where(x.mask[pos + 1, unit], 1.0, -1.0)
        step = sign[:, None] * x.shared[:, unit].T  # type: ignore[index]
        first = np.where(x.mask[:1, None, :], x.shared[None], 0.0)  # type: ignore[index]
    else:
        step = rows[pos + 1, :, unit] - rows[pos, :, unit]  # (changes, dim + 1)
        first = rows[:1]
    start = _affine_rows(layer, [first], dim)[0]
    out_w = start.shape[1]
    lengths, where, value = columns.get(unit)
    which = np.repeat(np.arange(len(pos)), lengths)
    target = ((pos[which] + 1) * (dim + 1))[:, None] * out_w + where[:, None]
    target = target + np.arange(dim + 1) * out_w
    weights = step[which] * value[:, None]
    size = n * (dim + 1) * out_w
    maps = np.bincount(target.ravel(), weights.ravel(), minlength=size)
    maps = maps.astype(np.float64, copy=False).reshape(n, dim + 1, -1)  # int64 when empty
    maps[0] = start
    for t in range(1, n):  # a running sum, row after row (np.cumsum on axis 0 is far slower)
        np.add(maps[t], maps[t - 1], out=maps[t])
    return _Maps(dense=maps)


def _linear(op: Op, args: list[_Maps], n: int, dim: int, columns: _Columns | None) -> _Maps:
    """An affine op on the maps of its inputs at the positions of a batch."""
    layer: Any = op.layer
    if all(a.shared is not None and a.mask is None and a.dense is None for a in args):
        shared = [a.shared[None] for a in args]  # type: ignore[index]
        return _Maps(shared=_affine_rows(layer, shared, dim)[0])
    if len(args) == 1 and _is_reshape(layer):
        return args[0]
    if columns is not None and len(args) == 1:
        done = _along_walk(layer, args[0], n, dim, columns)
        if done is not None:
            return done
    return _Maps(dense=_affine_rows(layer, [a.full(n) for a in args], dim))


def _piece_values(layer: Any, x: np.ndarray, pattern: np.ndarray) -> np.ndarray:
    """``layer.forward_pattern(x, pattern)``, by one gather for a max-pooling."""
    if type(layer) is MaxPool:
        winner = layer.groups[np.arange(layer.groups.shape[0]), pattern]
        return np.take_along_axis(x, winner, axis=1)
    return layer.forward_pattern(x, pattern)


def _piecewise(layer: Any, x: _Maps, pattern: np.ndarray, n: int, dim: int) -> _Maps:
    """A piecewise op on maps: the piece each position's pattern selects."""
    if type(layer) is ReLU:
        if x.dense is None and x.mask is None:
            return _Maps(shared=x.shared, mask=pattern)
        if x.dense is None:
            return _Maps(shared=x.shared, mask=x.mask & pattern)
        return _Maps(dense=np.where(pattern[:, None, :], x.dense, 0.0))
    rows = x.full(n)
    if type(layer) is MaxPool:
        winner = layer.groups[np.arange(layer.groups.shape[0]), pattern]
        return _Maps(dense=np.take_along_axis(rows, winner[:, None, :], axis=2))
    lin = layer.forward_pattern_linear(
        rows[:, :dim].reshape(n * dim, -1), np.repeat(pattern, dim, axis=0)
    )
    off = layer.forward_pattern(rows[:, dim], pattern)
    out = np.empty((n, dim + 1, off.shape[1]))
    out[:, :dim] = lin.reshape(n, dim, -1)
    out[:, dim] = off
    return _Maps(dense=out)


class _BatchCorners:
    """The corners of the regions of a batch: each vertex once (``verts``), with the
    position of one region it is a corner of (``owner``, whose maps give its values)."""

    def __init__(self, regions: np.ndarray, corners: RegionCorners) -> None:
        offsets = corners.region_offsets
        sizes = offsets[regions + 1] - offsets[regions]
        own, k = expand(sizes)
        self.incidence = offsets[regions][own] + k
        self.verts, first, local = np.unique(
            corners.region_vertices[self.incidence], return_index=True, return_inverse=True
        )
        self.local = local.reshape(-1)
        self.owner = own[first]
        self.starts = exclusive_cumsum(sizes)
        self.coords = corners.coords[self.verts]


def _corner_pattern(
    ev: Evaluator,
    op: Op,
    values: np.ndarray,
    x: _Maps | None,
    regions: np.ndarray,
    at: _BatchCorners,
    corners: RegionCorners,
) -> np.ndarray:
    """The pattern of piecewise op ``op`` on ``regions`` from its input's ``values`` at
    their corners (``at.verts``), the rule of :meth:`Evaluator.region_patterns
    <regionscope.network.evaluate.Evaluator.region_patterns>`; a winner the corners leave
    open is taken inside, from the maps ``x`` (by a forward pass without them)."""
    layer: Any = op.layer
    tol = ev.unit_tol[op.index]
    zero = None if corners.zero_units is None else corners.zero_units.get(op.index)
    sources = corners.incidence_source
    on_sides = None
    if sources is not None:
        on_sides = on_own_sides(sources[at.incidence], at.starts, op.index)
    if plain_sides(layer) and (zero is None or not len(zero)):
        return side_pattern(values, tol, at.local, at.starts, on_sides)
    words = VertexWords(layer, op.in_width, layer.corner_bits(values, tol), zero)
    pattern = layer.pattern_from_bits(combine_words(words, at.local, at.starts, on_sides))
    if pattern.dtype.kind in "iu":
        bad = np.flatnonzero((pattern < 0).any(axis=1))
        if len(bad):
            if x is None:  # past the maps: a forward pass at those few points
                pattern[bad] = ev.layer_pattern(corners.interior[regions[bad]], op.index)
            else:
                pattern[bad] = layer.pattern(x.at(corners.interior[regions[bad]], bad), None, tol)
    return pattern


def _dense_width(ops: list[Op], first: int) -> int:
    """The widest register written out per position in a batch (a ReLU of the folded
    prefix is a mask: a byte per unit)."""
    widths = [
        o.out_width // 8 if o.index == first and type(o.layer) is ReLU else o.out_width
        for o in ops
    ]
    return max(widths + [1])


def _cheap(op: Op) -> bool:
    """A linear op cheap enough per vertex to run on values (a reshape, a narrow layer)."""
    return _is_reshape(op.layer) or op.in_width * op.out_width <= CHEAP_OP


def _feeding(ops: list[Op], missing: list[int], after: int) -> set[int]:
    """Registers whose values at the vertices are read: by a pattern of ``missing`` or an op
    after ``after``, directly or through reshapes."""
    feeds = {o.inputs[0] for o in ops if o.index in missing}
    feeds |= {r for o in ops if o.index > after for r in o.inputs}
    for o in reversed(ops):
        if o.output in feeds and _is_reshape(o.layer):
            feeds.add(o.inputs[0])
    return feeds


class _Walker:
    """One walk: the ops from the folded prefix on, batch after batch of positions."""

    def __init__(
        self,
        ev: Evaluator,
        ops: list[Op],
        patterns: dict[int, np.ndarray],
        corners: RegionCorners | None,
        maps: bool,
    ) -> None:
        self.ev, self.ops, self.patterns, self.corners = ev, ops, patterns, corners
        self.dim = ev.lift_linear.shape[0]
        self.missing = [o.index for o in ops if o.layer.piecewise and o.index not in patterns]
        self.found: dict[int, np.ndarray] = {}
        self.columns = {
            o.index: _Columns(o)
            for o in ops
            if not o.layer.piecewise and len(o.inputs) == 1 and o.in_width * o.out_width >= WIDE_OP
        }
        # without maps of the output, the ops after the last costly linear op run on the
        # values at the vertices alone (a forward pass through narrow layers)
        costly = [o.index for o in ops if not o.layer.piecewise and not _cheap(o)]
        self.after = len(ev.program.ops) if maps else max(costly, default=-1)
        self.feeds = _feeding(ops, self.missing, self.after)

    def batch(self, rows: np.ndarray, regs: dict[int, _Maps], nregions: int) -> None:
        """Every op on the maps (and the vertex values) of the regions ``rows``; the patterns
        missing kept in ``found``."""
        n, dim, program = len(rows), self.dim, self.ev.program
        at = _BatchCorners(rows, self.corners) if self.missing else None  # type: ignore[arg-type]
        values: dict[int, np.ndarray] = {}  # registers at the batch's vertices
        for o in self.ops:
            layer: Any = o.layer
            late = o.index > self.after
            if late:  # the inputs at the vertices, from their maps where not known yet
                for r in o.inputs:
                    if r not in values:
                        values[r] = regs[r].at(at.coords, at.owner)  # type: ignore[union-attr]
            if not layer.piecewise:
                if late:
                    values[o.output] = layer.forward(*(values[r] for r in o.inputs))
                    continue
                args = [regs[r] for r in o.inputs]
                regs[o.output] = _linear(o, args, n, dim, self.columns.get(o.index))
                if o.inputs[0] in values and _is_reshape(layer):
                    values[o.output] = values[o.inputs[0]]
            else:
                x = regs.get(o.inputs[0])
                wanted = o.index in self.missing or o.output in self.feeds
                if wanted and o.inputs[0] not in values:
                    values[o.inputs[0]] = x.at(at.coords, at.owner)  # type: ignore[union-attr]
                if o.index in self.missing:
                    v = values[o.inputs[0]]
                    pat = _corner_pattern(self.ev, o, v, x, rows, at, self.corners)  # type: ignore[arg-type]
                    if o.index not in self.found:
                        shape = (nregions, *pat.shape[1:])
                        self.found[o.index] = np.empty(shape, dtype=pat.dtype)
                    self.found[o.index][rows] = pat
                else:
                    pat = self.patterns[o.index][rows]
                if o.output in self.feeds:
                    values[o.output] = _piece_values(layer, values[o.inputs[0]], pat[at.owner])  # type: ignore[union-attr]
                if not late:
                    regs[o.output] = _piecewise(layer, x, pat, n, dim)  # type: ignore[arg-type]
            for r in program.frees[o.index]:
                regs.pop(r, None)
                values.pop(r, None)


def walk_maps(
    ev: Evaluator,
    index: int,
    patterns: dict[int, np.ndarray],
    order: np.ndarray,
    corners: RegionCorners | None = None,
    maps: bool = True,
) -> tuple[np.ndarray | None, np.ndarray | None, dict[int, np.ndarray]]:
    """The affine maps of op ``index``'s output along the walk ``order``, and the patterns
    of the piecewise ops up to ``index`` that ``patterns`` lacks (from ``corners``).

    Like :func:`compose_maps`; a pattern not given is found from the values of
    the op's input at each region's corners: each vertex of a batch once, from
    the map of a region it is a corner of, or, after a piecewise op, from the
    values before it (no forward pass through wide layers at the vertices).
    With ``maps=False`` only those patterns: the maps stop at the last linear
    op that is costly per vertex, and narrow ops after it run on the values.

    Returns
    -------
    A : (n, width, dim) float64 or None
    c : (n, width) float64 or None
    found : dict
        ``{op index: (n, ...) pattern}`` of the ops not in ``patterns``, row
        ``f`` for region ``f`` (``order`` is then a permutation of ``0..n-1``).
    """
    program = ev.program
    dim = ev.lift_linear.shape[0]
    first = ev.prefix
    if index < first:
        raise ValueError(f"compose_maps starts after the folded prefix (op {first})")
    start = ev.prefix_maps if first else {0: (ev.lift_linear, ev.lift_offset)}
    shared = {r: np.vstack([lin, off[None]]) for r, (lin, off) in start.items()}
    ops = program.ops[first : index + 1]
    missing = [o.index for o in ops if o.layer.piecewise and o.index not in patterns]
    if missing and corners is None:
        raise ValueError(f"affine maps need the pattern of layer {missing[0]}")
    nregions, out = len(order), program.ops[index]
    if missing and not np.array_equal(np.sort(order), np.arange(nregions)):
        raise ValueError("patterns are found along a walk through all the regions")
    if not maps:
        ops = [o for o in ops if o.index <= max(missing, default=first - 1)]
    a = np.empty((nregions, out.out_width, dim)) if maps else None
    c = np.empty((nregions, out.out_width)) if maps else None
    walker = _Walker(ev, ops, patterns, corners, maps)
    step = max(2, get_budget().chunk_values // ((dim + 1) * _dense_width(ops, first)))
    for s in range(0, nregions, step):
        rows = order[s : s + step]
        regs = {r: _Maps(shared=m) for r, m in shared.items()}
        walker.batch(rows, regs, nregions)
        if maps:
            done = regs[out.output].full(len(rows))
            a[s : s + len(rows)] = done[:, :dim].transpose(0, 2, 1)  # type: ignore[index]
            c[s : s + len(rows)] = done[:, dim]  # type: ignore[index]
    return a, c, walker.found


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
    a, c, _ = walk_maps(ev, index, patterns, order)
    return a, c  # type: ignore[return-value]
