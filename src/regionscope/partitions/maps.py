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

import dataclasses
from typing import Any, NamedTuple

import numpy as np

from regionscope.geometry.arrays import exclusive_cumsum, expand
from regionscope.network.corners import (
    VertexWords,
    combine_words,
    on_own_sides,
    plain_sides,
    side_pattern,
)
from regionscope.network.evaluate import Evaluator
from regionscope.network.layers import Linear, MaxPool, ReLU
from regionscope.network.program import Op
from regionscope.tolerances import get_budget

from .columns import all_groups, is_reshape, kept_columns, needed_values, pool_inputs
from .fixed import Fixed

__all__ = ["compose_maps", "walk_maps", "hilbert_order", "RegionCorners", "WIDE_OP"]

#: an op whose ``in_width * out_width`` reaches this is applied by its columns along the walk
WIDE_OP = 1 << 16
#: ... when the columns that change along a batch are at most this fraction of the dense ones
SPARSE_FRACTION = 0.125
#: the fixed units of a layer are skipped when its live units are at most this fraction
FIXED_FRACTION = 0.5
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
    w)``.  ``varies (k,) int``, when known, holds the only columns where ``mask`` may differ
    between positions (the others are fixed, :mod:`~regionscope.partitions.fixed`);
    ``cols (w,) int``, when given, the register's columns held (sorted; the others are not
    needed), else all."""

    def __init__(
        self,
        shared: np.ndarray | None = None,
        mask: np.ndarray | None = None,
        dense: np.ndarray | None = None,
        varies: np.ndarray | None = None,
        cols: np.ndarray | None = None,
    ) -> None:
        self.shared, self.mask, self.dense = shared, mask, dense
        self.varies, self.cols = varies, cols

    def full(self, n: int) -> np.ndarray:
        """``(n, dim + 1, w)``: the maps written out."""
        if self.dense is not None:
            return self.dense
        if self.mask is not None:
            return np.where(self.mask[:, None, :], self.shared[None], 0.0)
        return np.broadcast_to(self.shared, (n, *self.shared.shape))

    def at(
        self, points: np.ndarray, positions: np.ndarray, columns: np.ndarray | None = None
    ) -> np.ndarray:
        """``(k, w)``: the map of position ``positions[i]`` at domain point ``points[i]``
        (only ``columns``, when given)."""
        dim = points.shape[1]
        if self.cols is not None:
            if columns is None:
                raise ValueError("walk: the maps of a register were kept on too few columns")
            columns = np.searchsorted(self.cols, columns)
            if len(columns) == len(self.cols):  # all of them
                columns = None
        if self.dense is None:
            shared: Any = self.shared if columns is None else self.shared[:, columns]  # type: ignore[index]
            x = points @ shared[:dim] + shared[dim]
            if self.mask is None:
                return x
            mask = self.mask if columns is None else self.mask[:, columns]
            return np.where(mask[positions], x, 0.0)
        dense = self.dense if columns is None else np.take(self.dense, columns, axis=2)
        # points grouped by position: one small product per position, no copy of the maps
        by = np.argsort(positions, kind="stable")
        bounds = np.searchsorted(positions[by], np.arange(len(dense) + 1))
        lifted = np.ones((len(points), dim + 1))
        lifted[:, :dim] = points[by]
        x = np.empty((len(points), dense.shape[2]))
        for t in np.flatnonzero(np.diff(bounds)).tolist():
            seg = slice(bounds[t], bounds[t + 1])
            np.matmul(lifted[seg], dense[t], out=x[seg])
        out = np.empty_like(x)
        out[by] = x
        return out


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


def _along_walk(
    layer: Any, x: _Maps, n: int, dim: int, columns: _Columns, out: np.ndarray | None
) -> _Maps | None:
    """A linear op on the maps of consecutive positions by its columns: the first position by
    a full pass, each next one from the one before, ``L(X_t) = L(X_{t-1}) + sum_k (X_t -
    X_{t-1})[:, k] L(e_k)`` (only the output columns ``out``, when given).  ``None`` where
    the maps differ densely (a pass is cheaper)."""
    if x.mask is not None and x.varies is not None:
        sub = x.mask[:, x.varies]
        pos, col = np.nonzero(sub[1:] != sub[:-1])
        unit = x.varies[col]
    elif x.mask is not None:
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
    lengths, where, value = columns.get(unit)
    which = np.repeat(np.arange(len(pos)), lengths)
    if out is not None:  # the entries of the columns kept, in the same order
        position = np.full(start.shape[1], -1)
        position[out] = np.arange(len(out))
        start = np.take(start, out, axis=1)
        local = position[where]
        keep = local >= 0
        which, where, value = which[keep], local[keep], value[keep]
    out_w = start.shape[1]
    target = ((pos[which] + 1) * (dim + 1))[:, None] * out_w + where[:, None]
    target = target + np.arange(dim + 1) * out_w
    weights = step[which] * value[:, None]
    size = n * (dim + 1) * out_w
    maps = np.bincount(target.ravel(), weights.ravel(), minlength=size)
    maps = maps.astype(np.float64, copy=False).reshape(n, dim + 1, -1)  # int64 when empty
    maps[0] = start
    for t in range(1, n):  # a running sum, row after row (np.cumsum on axis 0 is far slower)
        np.add(maps[t], maps[t - 1], out=maps[t])
    return _Maps(dense=maps, cols=out)


def _linear(
    op: Op,
    args: list[_Maps],
    n: int,
    dim: int,
    columns: _Columns | None,
    out: np.ndarray | None = None,
) -> _Maps:
    """An affine op on the maps of its inputs at the positions of a batch (only the output
    columns ``out``, when given)."""
    layer: Any = op.layer
    if len(args) == 1 and is_reshape(layer):
        same = out is None or (args[0].cols is not None and np.array_equal(args[0].cols, out))
        return args[0] if same else _narrow(args[0], out, n)
    if any(a.cols is not None and len(a.cols) != op.in_width for a in args):
        raise ValueError("walk: a linear op reads every column of its input")
    if all(a.shared is not None and a.mask is None and a.dense is None for a in args):
        shared = _affine_rows(layer, [a.shared[None] for a in args], dim)[0]  # type: ignore[index]
        return _Maps(shared=shared if out is None else shared[:, out], cols=out)
    if columns is not None and len(args) == 1:
        done = _along_walk(layer, args[0], n, dim, columns, out)
        if done is not None:
            return done
    dense = _affine_rows(layer, [a.full(n) for a in args], dim)
    return _Maps(dense=dense if out is None else np.take(dense, out, axis=2), cols=out)


def _narrow(x: _Maps, out: np.ndarray, n: int) -> _Maps:
    """The maps ``x`` on the columns ``out`` only (written out)."""
    full = x.full(n)
    if x.cols is not None:
        return _Maps(dense=np.take(full, np.searchsorted(x.cols, out), axis=2), cols=out)
    return _Maps(dense=np.take(full, out, axis=2), cols=out)


def _piece_values(layer: Any, x: np.ndarray, pattern: np.ndarray) -> np.ndarray:
    """``layer.forward_pattern(x, pattern)``, by one gather for a max-pooling."""
    if type(layer) is MaxPool:
        winner = layer.groups[np.arange(layer.groups.shape[0]), pattern]
        return np.take_along_axis(x, winner, axis=1)
    return layer.forward_pattern(x, pattern)


def _piecewise(
    layer: Any,
    x: _Maps,
    pattern: np.ndarray,
    n: int,
    dim: int,
    varies: np.ndarray | None,
    out: np.ndarray | None = None,
    fixed: Fixed | None = None,
) -> _Maps:
    """A piecewise op on maps: the piece each position's pattern selects (``varies``: the
    only units where the pattern may differ between positions, when known; ``out``: the
    output columns wanted, when not all)."""
    if out is not None or x.cols is not None:
        return _piecewise_narrow(layer, x, pattern, n, out, fixed)
    if type(layer) is ReLU:
        if x.dense is None and x.mask is None:
            return _Maps(shared=x.shared, mask=pattern, varies=varies)
        if x.dense is None:
            both = None
            if x.varies is not None and varies is not None:
                both = np.union1d(x.varies, varies)
            return _Maps(shared=x.shared, mask=x.mask & pattern, varies=both)
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


def _local(x: _Maps, columns: np.ndarray) -> np.ndarray:
    """Positions of the register's ``columns`` among those ``x`` holds."""
    if x.cols is None:
        return columns
    local = np.minimum(np.searchsorted(x.cols, columns), len(x.cols) - 1)
    if not np.array_equal(x.cols[local], columns):
        raise ValueError("walk: a column needed outside the columns kept")
    return local


def _piecewise_narrow(
    layer: Any,
    x: _Maps,
    pattern: np.ndarray,
    n: int,
    out: np.ndarray | None,
    fixed: Fixed | None,
) -> _Maps:
    """:func:`_piecewise` of a ReLU or a max-pooling on the output columns ``out`` (all
    when ``None``) from maps ``x`` held on some columns only."""
    rows = x.full(n)
    if type(layer) is ReLU:
        if out is None:
            raise ValueError("walk: a ReLU's input was kept on too few columns")
        pattern = pattern[:, out]
        if fixed is None:
            gated = np.where(pattern[:, None, :], np.take(rows, _local(x, out), axis=2), 0.0)
            return _Maps(dense=gated, cols=out)
        # fixed units: their input (on) or zero (off, not even kept) at every position; the
        # others by pattern
        moving = np.isin(out, fixed.live)
        still = np.flatnonzero(~moving)
        if not (pattern[:, still] == fixed.pattern[out[still]]).all():
            raise ValueError("walk: a fixed ReLU unit with another pattern")
        off = ~moving & ~fixed.pattern[out]
        if x.cols is not None and rows.shape[2] == 0:
            return _Maps(dense=np.zeros((n, rows.shape[1], len(out))), cols=out)
        read = np.flatnonzero(~off)
        loc = np.zeros(len(out), dtype=np.int64)
        loc[read] = _local(x, out[read])
        result = np.take(rows, loc, axis=2)  # a copy: the fixed-on columns as they are
        np.copyto(result, 0.0, where=off[None, None, :])
        moving = np.flatnonzero(moving)
        if len(moving):
            gate = pattern[:, None, moving]
            result[:, :, moving] = np.where(gate, result[:, :, moving], 0.0)
        return _Maps(dense=result, cols=out)
    if type(layer) is MaxPool:
        ids = all_groups(layer, out)
        fixed_group = np.zeros(len(ids), dtype=bool)
        if fixed is not None:
            fixed_group = ~np.isin(ids, fixed.live)
        still = np.flatnonzero(fixed_group)
        moving = np.flatnonzero(~fixed_group)
        if len(still) and not (pattern[:, ids[still]] == fixed.pattern[ids[still]]).all():  # type: ignore[union-attr]
            raise ValueError("walk: a fixed max-pooling group with another winner")
        # one winner per group for every position (a fixed group's, the first position's
        # of the others): a plain gather of columns; then the moving groups by position
        first = pattern[0, ids] if fixed is None else np.where(fixed_group, fixed.pattern[ids], 0)
        result = np.take(rows, _local(x, layer.groups[ids, first]), axis=2)
        if len(moving):
            winner = layer.groups[ids[moving][None, :], pattern[:, ids[moving]]]
            picked = np.take_along_axis(rows, _local(x, winner)[:, None, :], axis=2)
            result[:, :, moving] = picked
        return _Maps(dense=result, cols=out)
    raise ValueError(f"walk: {type(layer).__name__} on some columns only")


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
    return is_reshape(op.layer) or op.in_width * op.out_width <= CHEAP_OP


def _sub_pattern(
    ev: Evaluator,
    op: Op,
    fixed: Fixed,
    values: np.ndarray,
    x: _Maps | None,
    regions: np.ndarray,
    at: _BatchCorners,
    corners: RegionCorners,
) -> np.ndarray:
    """:func:`_corner_pattern` of the live units of ``op`` alone, from its input's ``values
    (V, len(fixed.columns))`` at the corners (the same rule, on fewer units)."""
    layer: Any = op.layer
    live = fixed.live
    tol = ev.unit_tol[op.index][live]
    if type(layer) is ReLU:
        on_sides = None
        if corners.incidence_source is not None:
            sources = corners.incidence_source[at.incidence]
            corner, unit = on_own_sides(sources, at.starts, op.index)
            pos = np.minimum(np.searchsorted(live, unit), len(live) - 1)
            keep = live[pos] == unit
            on_sides = (corner[keep], pos[keep])
        return side_pattern(values, tol, at.local, at.starts, on_sides)
    table = layer.groups[live]
    sub = MaxPool(np.where(table >= 0, np.searchsorted(fixed.columns, np.maximum(table, 0)), -1))
    words = VertexWords(sub, len(fixed.columns), sub.corner_bits(values, tol), None)
    pattern = sub.pattern_from_bits(combine_words(words, at.local, at.starts, None))
    bad = np.flatnonzero((pattern < 0).any(axis=1))
    if len(bad):
        inside = corners.interior[regions[bad]]
        if x is None:
            pattern[bad] = ev.layer_pattern(inside, op.index)[:, live]
        else:
            pattern[bad] = sub.pattern(x.at(inside, bad, fixed.columns), None, tol)
    return pattern


class _Walker:
    """One walk: the ops from the folded prefix on, batch after batch of positions."""

    def __init__(
        self,
        ev: Evaluator,
        ops: list[Op],
        patterns: dict[int, np.ndarray],
        corners: RegionCorners | None,
        maps: bool,
        fixed: dict[int, Fixed],
    ) -> None:
        self.ev, self.ops, self.patterns, self.corners = ev, ops, patterns, corners
        self.fixed = fixed
        self.dim = ev.lift_linear.shape[0]
        self.missing = [o.index for o in ops if o.layer.piecewise and o.index not in patterns]
        self.found: dict[int, np.ndarray] = {}
        zero = {} if corners is None or corners.zero_units is None else corners.zero_units
        self.sub = {
            i: f
            for i, f in fixed.items()
            if i in self.missing
            and len(f.live)
            and not len(zero.get(i, ()))
            and type(ev.program.ops[i].layer) in (ReLU, MaxPool)
        }
        self.columns = {
            o.index: _Columns(o)
            for o in ops
            if not o.layer.piecewise and len(o.inputs) == 1 and o.in_width * o.out_width >= WIDE_OP
        }
        # without maps of the output, the ops after the last costly linear op run on the
        # values at the vertices alone (a forward pass through narrow layers)
        costly = [o.index for o in ops if not o.layer.piecewise and not _cheap(o)]
        self.after = len(ev.program.ops) if maps else max(costly, default=-1)
        self.need = needed_values(ops, self.missing, self.sub, fixed, self.after)
        out = ops[-1].output if maps and ops else None
        self.keep = kept_columns(ops, self.need, fixed, self.after, out)
        # a Linear op that reads some columns only: its weights on those
        self.ops = [self._narrow_linear(o) for o in ops]

    def _narrow_linear(self, o: Op) -> Op:
        cols = self.keep.get(o.inputs[0])
        if type(o.layer) is not Linear or cols is None or o.index > self.after:
            return o
        layer: Any = o.layer
        narrow = Linear(layer.weight[:, cols], layer.bias)
        op = dataclasses.replace(o, layer=narrow, in_width=len(cols))
        if o.index in self.columns:
            self.columns[o.index] = _Columns(op)
        return op

    def _get(self, r: int, cols: np.ndarray | None, state: tuple) -> np.ndarray:
        """Register ``r`` at the batch's vertices, on ``cols`` (all when ``None``)."""
        values, regs, at = state
        if r not in values:
            have = self.need.get(r)
            values[r] = (have, regs[r].at(at.coords, at.owner, have))
        have, arr = values[r]
        if have is None:
            return arr if cols is None else arr[:, cols]
        if cols is None:
            raise AssertionError("walk: a register's values were kept on too few columns")
        return arr[:, np.searchsorted(have, cols)]

    def _piece_out(self, o: Op, pat: np.ndarray, state: tuple) -> tuple:
        """Op ``o``'s output at the vertices, on the columns needed."""
        layer: Any = o.layer
        owner = state[2].owner
        cols = self.need[o.output]
        if cols is not None and type(layer) is ReLU:
            return cols, np.where(pat[owner][:, cols], self._get(o.inputs[0], cols, state), 0.0)
        if type(layer) is MaxPool and (cols is not None or o.index in self.fixed):
            groups = all_groups(layer, cols)
            f = self.fixed.get(o.index)
            incols = pool_inputs(layer, groups, f)
            x = self._get(o.inputs[0], incols, state)
            out = np.empty((len(x), len(groups)))
            still = np.zeros(len(groups), dtype=bool) if f is None else ~np.isin(groups, f.live)
            if still.any():  # a fixed group's winner is the same at every vertex
                won = layer.groups[groups[still], f.pattern[groups[still]]]  # type: ignore[union-attr]
                out[:, still] = x[:, np.searchsorted(incols, won)]
            moving = groups[~still]
            if len(moving):
                winner = layer.groups[moving[None, :], pat[owner][:, moving]]
                picked = np.take_along_axis(x, np.searchsorted(incols, winner), axis=1)
                out[:, ~still] = picked
            return cols, out
        return None, _piece_values(layer, self._get(o.inputs[0], None, state), pat[owner])

    def _pattern(self, o: Op, x: _Maps | None, rows: np.ndarray, state: tuple) -> np.ndarray:
        """The pattern of missing op ``o`` on the regions ``rows`` from their corners."""
        at, corners = state[2], self.corners
        f = self.sub.get(o.index)
        if f is None:
            v = self._get(o.inputs[0], None, state)
            return _corner_pattern(self.ev, o, v, x, rows, at, corners)  # type: ignore[arg-type]
        v = self._get(o.inputs[0], f.columns, state)
        live = _sub_pattern(self.ev, o, f, v, x, rows, at, corners)  # type: ignore[arg-type]
        pat = np.empty((len(rows), len(f.pattern)), dtype=live.dtype)
        pat[:] = f.pattern
        pat[:, f.live] = live
        return pat

    def batch(self, rows: np.ndarray, regs: dict[int, _Maps], nregions: int) -> None:
        """Every op on the maps (and the vertex values) of the regions ``rows``; the patterns
        missing kept in ``found``."""
        n, dim, program = len(rows), self.dim, self.ev.program
        at = _BatchCorners(rows, self.corners) if self.need else None  # type: ignore[arg-type]
        values: dict[int, tuple] = {}  # registers at the batch's vertices: (columns, values)
        state = (values, regs, at)
        for o in self.ops:
            layer: Any = o.layer
            late = o.index > self.after
            wanted = o.output in self.need
            if not layer.piecewise:
                if late and wanted and is_reshape(layer):
                    cols = self.need[o.output]
                    values[o.output] = (cols, self._get(o.inputs[0], cols, state))
                elif late and wanted:
                    args = [self._get(r, None, state) for r in o.inputs]
                    values[o.output] = (None, layer.forward(*args))
                elif not late:
                    args = [regs[r] for r in o.inputs]
                    keep = self.keep.get(o.output)
                    regs[o.output] = _linear(o, args, n, dim, self.columns.get(o.index), keep)
                    if wanted and is_reshape(layer) and o.inputs[0] in values:
                        cols = self.need[o.output]
                        values[o.output] = (cols, self._get(o.inputs[0], cols, state))
            else:
                x = regs.get(o.inputs[0])
                if o.index in self.missing:
                    pat = self._pattern(o, x, rows, state)
                    if o.index not in self.found:
                        shape = (nregions, *pat.shape[1:])
                        self.found[o.index] = np.empty(shape, dtype=pat.dtype)
                    self.found[o.index][rows] = pat
                else:
                    pat = self.patterns[o.index][rows]
                if wanted:
                    values[o.output] = self._piece_out(o, pat, state)
                if not late:
                    f = self.fixed.get(o.index)
                    varies = None if f is None else f.live
                    keep = self.keep.get(o.output)
                    regs[o.output] = _piecewise(layer, x, pat, n, dim, varies, keep, f)  # type: ignore[arg-type]
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
    fixed: dict[int, Fixed] | None = None,
) -> tuple[np.ndarray | None, np.ndarray | None, dict[int, np.ndarray]]:
    """The affine maps of op ``index``'s output along the walk ``order``, and the patterns
    of the piecewise ops up to ``index`` that ``patterns`` lacks (from ``corners``).

    Like :func:`compose_maps`; a pattern not given is found from the values of
    the op's input at each region's corners: each vertex of a batch once, from
    the map of a region it is a corner of, or, after a piecewise op, from the
    values before it (no forward pass through wide layers at the vertices).
    With ``maps=False`` only those patterns: the maps stop at the last linear
    op that is costly per vertex, and narrow ops after it run on the values.
    With ``fixed`` (:func:`~regionscope.partitions.fixed.fixed_units`), units
    whose pattern is the same in every region are not looked at: only the
    live units' inputs are evaluated at the corners, and only the columns
    where a ReLU's pattern may change are followed along the walk.

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
    # a layer with many live units gains nothing from the fixed ones (only its constants)
    fixed = {
        i: f for i, f in (fixed or {}).items() if len(f.live) <= FIXED_FRACTION * len(f.pattern)
    }
    found: dict[int, np.ndarray] = {}
    for i in missing:  # the same in every region: no walk needed
        if i in fixed and not len(fixed[i].live):
            found[i] = np.empty((nregions, len(fixed[i].pattern)), dtype=fixed[i].pattern.dtype)
            found[i][:] = fixed[i].pattern
    if found:
        patterns = {**patterns, **found}
        missing = [i for i in missing if i not in found]
    if not maps:
        ops = [o for o in ops if o.index <= max(missing, default=first - 1)]
    a = np.empty((nregions, out.out_width, dim)) if maps else None
    c = np.empty((nregions, out.out_width)) if maps else None
    walker = _Walker(ev, ops, patterns, corners, maps, fixed)
    step = max(2, get_budget().chunk_values // ((dim + 1) * _dense_width(ops, first)))
    for s in range(0, nregions, step):
        rows = order[s : s + step]
        regs = {r: _Maps(shared=m) for r, m in shared.items()}
        walker.batch(rows, regs, nregions)
        if maps:
            done = regs[out.output].full(len(rows))
            a[s : s + len(rows)] = done[:, :dim].transpose(0, 2, 1)  # type: ignore[index]
            c[s : s + len(rows)] = done[:, dim]  # type: ignore[index]
    return a, c, {**found, **walker.found}


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
