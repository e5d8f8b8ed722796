"""The 1-D driver: cut the pieces of a segment by a network's piecewise layers.

:func:`cut_1d` runs the program along the points once.  The registers the
layers read are carried from layer to layer at the points: a cut inserts
the zeros of the units, and every register is affine on the pieces the cut
refines, so its values at a new point are those at the ends of its piece,
interpolated (:func:`~regionscope.geometry.line.cut_points` says where each
new point lies).  A layer then costs a few array operations on ``(P, width)``
tables: its forward pass at the points (from the ops before it, not from the
input), its units' signs, the zeros, a sort.  With the compiled backend
(:func:`regionscope.backends.compiled`) a stage's cut and each register's
interpolation are one kernel call each (:mod:`regionscope.geometry.kernels.line`,
the same numbers bit for bit), and nothing is interpolated after the last
cut.  When the table of registers
would pass the memory budget (:meth:`Budget.stores
<regionscope.tolerances.Budget.stores>`), a layer's input is
computed afresh at the points in chunks, as before.

Max layers (max-pooling, argmax) cut by the stages of a running maximum and
then drop the points where their pattern does not change
(:func:`~regionscope.geometry.line.changed`), each piece's pattern combined
from the carried values at its two ends, as a 2-D region's from its corners.

Examples
--------
>>> import numpy as np
>>> import regionscope as rs
>>> from regionscope import compute
>>> from regionscope.network.program import compile_model
>>> net = rs.Sequential(rs.Linear([[1.0], [1.0]], [0.0, -0.5]), rs.ReLU(),
...                     rs.Linear([[1.0, -2.0]], [-0.25]), rs.ReLU())
>>> dom = rs.Interval(-1.0, 1.0)
>>> ev = compute.evaluator(dom, compile_model(net, 1))
>>> cut_1d(ev, dom, np.array([-1.0, 1.0]), 0).tolist()
[-1.0, 0.0, 0.25, 0.5, 0.75, 1.0]
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from regionscope.backends import compiled
from regionscope.domains import Domain1D
from regionscope.errors import RegionLimitError
from regionscope.geometry.line import changed, cut_points, interpolate
from regionscope.network.evaluate import Evaluator
from regionscope.network.program import Op
from regionscope.tolerances import get_budget, get_tolerance

from .limits import DEFAULT_MAX_REGIONS, check_finite

__all__ = ["cut_1d", "PointValues"]



class PointValues:
    """The registers a network reads, at the points of a 1-D partition.

    Parameters
    ----------
    ev : Evaluator
    points : (P,) float64
        The domain coordinates of the points.

    Notes
    -----
    The table starts from the folded prefix (:attr:`Evaluator.prefix_maps
    <regionscope.network.evaluate.Evaluator.prefix_maps>`: ``2 * width``
    numbers a point) or, with nothing folded, from the lift.  Ops run on it
    as the layers ask (:meth:`layer_input`), and registers are freed after
    their last reader.  A table that would pass the budget is given up for
    good: each layer's input is then computed afresh at the points (a chunked
    forward pass) and carried through that layer's stages only while it
    fits.

    Examples
    --------
    >>> import regionscope as rs
    >>> from regionscope import compute
    >>> from regionscope.network.program import compile_model
    >>> net = rs.Sequential(rs.Linear([[2.0]], [1.0]), rs.ReLU(), rs.Linear([[3.0]]), rs.ReLU())
    >>> dom = rs.Interval(-1.0, 1.0)
    >>> ev = compute.evaluator(dom, compile_model(net, 1))
    >>> ends = np.array([-1.0, 1.0])
    >>> PointValues(ev, ends).layer_input(ev.program.ops[3], ends).tolist()  # 3 relu(2s + 1)
    [[0.0], [9.0]]
    """

    def __init__(self, ev: Evaluator, points: np.ndarray, fast: bool = False) -> None:
        self.ev = ev
        self.interpolate = _kernels().interpolate if fast else interpolate
        self.program = ev.program
        # rows * width <= limit: Budget.stores(rows, width), without a call per check
        self.limit = get_budget().stored_bytes // 16
        u = points[:, None]
        if ev.prefix:
            self.regs: dict[int, np.ndarray] | None = {
                r: u @ lin + off for r, (lin, off) in ev.prefix_maps.items()
            }
        else:
            self.regs = {0: ev.lift(u)}
        if not self._fits(len(points), self.regs):
            self.regs = None
        self.pos = ev.prefix  # ops [0, pos) are applied to regs
        self.x: np.ndarray | None = None  # the input of the layer being cut, without regs

    def _fits(self, num_points: int, regs: dict[int, np.ndarray]) -> bool:
        return num_points * sum([v.shape[1] for v in regs.values()]) <= self.limit

    def layer_input(self, op: Op, points: np.ndarray) -> np.ndarray:
        """The input ``(P, in_width)`` of piecewise op ``op`` at ``points``."""
        if self.regs is not None:
            for o in self.program.ops[self.pos : op.index]:
                out = o.layer.forward(*[self.regs[r] for r in o.inputs])
                self.regs[o.output] = out
                for r in self.program.frees[o.index]:
                    self.regs.pop(r, None)
                if not self._fits(len(points), self.regs):
                    self.regs = None
                    break
            else:
                self.pos = max(self.pos, op.index)
                return self.regs[op.inputs[0]]
        if self.x is None:
            self.x = self.ev.layer_input(points[:, None], op.index)
        return self.x

    def after_layer(self) -> None:
        """The layer is cut: its input alone (without the table) is not needed again."""
        self.x = None

    def carry(self, order: np.ndarray, piece: np.ndarray, weight: np.ndarray) -> None:
        """Values at the points of a cut (:func:`~regionscope.geometry.line.cut_points`)."""
        if len(piece) == 0:
            return
        if self.regs is not None:
            if self._fits(len(order), self.regs):
                interp = self.interpolate
                self.regs = {r: interp(v, order, piece, weight) for r, v in self.regs.items()}
                return
            self.regs = None
        if self.x is not None:
            fits = len(order) * self.x.shape[1] <= self.limit
            self.x = self.interpolate(self.x, order, piece, weight) if fits else None

    def keep(self, rows: np.ndarray) -> None:
        """Only the values at the points ``rows`` stay (a merge dropped the others)."""
        if self.regs is not None:
            self.regs = {r: v[rows] for r, v in self.regs.items()}
        if self.x is not None:
            self.x = self.x[rows]


def _merged(
    ev: Evaluator, op: Op, points: np.ndarray, x: np.ndarray, before: np.ndarray
) -> np.ndarray:
    """``(P,) bool``: the points a max layer keeps (those where its pattern changes, and
    those from before it).

    A piece's pattern combines its two ends' :meth:`corner_bits
    <regionscope.network.layers.Piecewise.corner_bits>`, as
    :meth:`Evaluator.region_patterns
    <regionscope.network.evaluate.Evaluator.region_patterns>` does for any
    region; where they leave a winner undetermined, the pattern at the
    piece's midpoint decides.
    """
    layer: Any = op.layer
    bits = layer.corner_bits(x, ev.unit_tol[op.index])
    every = layer.every_corner(op.in_width)
    combined = np.where(every, bits[:-1] & bits[1:], bits[:-1] | bits[1:])
    pat = layer.pattern_from_bits(combined)
    open_rows = np.flatnonzero((pat < 0).any(axis=1))
    if len(open_rows):
        mids = 0.5 * (points[open_rows] + points[open_rows + 1])
        pat[open_rows] = ev.patterns(mids[:, None])[op.index]
    return changed(points, pat.reshape(len(pat), -1), before)


def cut_1d(
    ev: Evaluator,
    domain: Domain1D,
    points: np.ndarray,
    start: int,
    *,
    max_regions: int = DEFAULT_MAX_REGIONS,
) -> np.ndarray:
    """Cut the pieces between ``points`` by the piecewise ops from op ``start`` on.

    Parameters
    ----------
    ev : Evaluator
        The network on ``domain``.
    domain : Domain1D
    points : (P,) float64
        Sorted piece boundaries, the domain's ends first and last.
    start : int
        The first op to apply (the ops before it made ``points``).
    max_regions : int
        Stop with :class:`~regionscope.errors.RegionLimitError` beyond this
        many pieces.

    Returns
    -------
    (P',) float64
        The boundaries of the pieces on which every piecewise op from
        ``start`` on has one pattern.
    """
    program = ev.program
    point_tol = get_tolerance().point_rtol * domain.length
    fast = compiled()
    cuts = [op for op in program.ops[start:] if op.layer.piecewise]
    with np.errstate(over="ignore", invalid="ignore"):  # overflow: refused by check_finite
        values = PointValues(ev, points, fast)
        for op in cuts:
            layer: Any = op.layer
            before = points
            tol = ev.unit_tol[op.index]
            stages = layer.num_stages(op.in_width)
            # the values at the new points are needed after this cut unless it is the last
            last = op is cuts[-1] and not layer.merge
            for stage in range(stages):
                z = layer.stage_values(values.layer_input(op, points), stage)
                points, order, piece, weight = _cut(fast, op, points, z, tol, point_tol)
                if not (last and stage == stages - 1):
                    values.carry(order, piece, weight)
                if len(points) - 1 > max_regions:
                    raise RegionLimitError(
                        len(points) - 1, max_regions, f"layer {op.index} ({op.name})"
                    )
            if layer.merge and len(points) > len(before):
                rows = _merged(ev, op, points, values.layer_input(op, points), before)
                points = points[rows]
                values.keep(rows)
            values.after_layer()
    return points


@functools.lru_cache(maxsize=1)
def _kernels() -> Any:
    """The compiled 1-D kernels (imported, so compiled or loaded, on first use)."""
    from regionscope.geometry.kernels import line

    return line


def _cut(
    fast: bool, op: Op, points: np.ndarray, z: np.ndarray, tol: np.ndarray, point_tol: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """:func:`~regionscope.geometry.line.cut_points` of one stage's values ``z (P, units)``,
    compiled when ``fast``; values that overflowed are refused (:func:`check_finite`)."""
    if not fast or z.ndim != 2:
        check_finite(z, op)
        return cut_points(points, z, tol, point_tol)
    if np.shape(tol) != z.shape[1:]:
        tol = np.broadcast_to(tol, z.shape[1:])
    pts, order, piece, weight, finite = _kernels().cut_points(points, z, tol, point_tol)
    if not finite:
        check_finite(z, op)
    return pts, order, piece, weight
