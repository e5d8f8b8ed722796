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
from collections.abc import Callable
from typing import Any

import numpy as np

from regionscope.backends import compiled
from regionscope.domains import Domain, Domain1D, Interval, Segment
from regionscope.errors import RegionLimitError
from regionscope.geometry.arrays import read_only
from regionscope.geometry.line import changed, cut_points, interpolate
from regionscope.network.evaluate import Evaluator
from regionscope.network.layers import Layer, Sequential
from regionscope.network.program import Op, Program, compile_model
from regionscope.tolerances import get_budget, get_tolerance

from .chain import (
    NO_LIMIT,
    chain_evaluator,
    describe_chain,
    kernel_tolerance,
    program_chain,
    table_limit,
)
from .limits import DEFAULT_MAX_REGIONS, check_finite

__all__ = ["cut_1d", "chain_1d", "chain_1d_deferred", "PointValues"]


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
        self.fast = fast
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
        #: the total width of the registers in the table
        self.width = sum([v.shape[1] for v in self.regs.values()])
        if len(points) * self.width > self.limit:
            self.regs = None
        self.pos = ev.prefix  # ops [0, pos) are applied to regs
        self.x: np.ndarray | None = None  # the input of the layer being cut, without regs

    def layer_input(self, op: Op, points: np.ndarray) -> np.ndarray:
        """The input ``(P, in_width)`` of piecewise op ``op`` at ``points``."""
        regs = self.regs
        if regs is not None:
            frees = self.program.frees
            rows = len(points)
            for o in self.program.ops[self.pos : op.index]:
                inputs = o.inputs
                if len(inputs) == 1:
                    out = o.layer.forward(regs[inputs[0]])
                else:
                    out = o.layer.forward(*[regs[r] for r in inputs])
                # registers are written once: the output is new to the table
                regs[o.output] = out
                self.width += out.shape[1]
                for r in frees[o.index]:
                    gone = regs.pop(r, None)
                    if gone is not None:
                        self.width -= gone.shape[1]
                if rows * self.width > self.limit:
                    self.regs = None
                    break
            else:
                self.pos = max(self.pos, op.index)
                return regs[op.inputs[0]]
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
        interp = _kernels()._interpolate if self.fast else interpolate
        if self.regs is not None:
            if len(order) * self.width <= self.limit:
                if self.fast:  # the kernel's own arguments: order, piece, weight as cut made them
                    c = np.ascontiguousarray
                    self.regs = {
                        r: interp(c(v, np.float64), order, piece, weight)
                        for r, v in self.regs.items()
                    }
                else:
                    self.regs = {r: interp(v, order, piece, weight) for r, v in self.regs.items()}
                return
            self.regs = None
        if self.x is not None:
            fits = len(order) * self.x.shape[1] <= self.limit
            if not fits:
                self.x = None
            elif self.fast:
                self.x = interp(np.ascontiguousarray(self.x, np.float64), order, piece, weight)
            else:
                self.x = interp(self.x, order, piece, weight)

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
    c = np.ascontiguousarray
    if tol.shape != z.shape[1:] or tol.dtype != np.float64:
        tol = c(np.broadcast_to(tol, z.shape[1:]), np.float64)
    # the kernel's own arguments (what the module's cut_points makes of them): the points
    # are the domain's ends or a cut's (float64, contiguous), the tolerances are the unit_tol
    pts, order, piece, weight, finite = _kernels()._cut_points(
        c(points, np.float64), c(z, np.float64), c(tol), float(point_tol)
    )
    if not finite:
        check_finite(z, op)
    return pts, order, piece, weight


# -- a chain of Linear and ReLU layers, in one pass ---------------------------------------

#: an interval's lift as a line: ``0 + s * 1``
_ORIGIN = read_only(np.zeros(1))
_UNIT = read_only(np.ones(1))


def chain_1d(
    program: Program, domain: Domain, *, max_regions: int = DEFAULT_MAX_REGIONS
) -> tuple[Evaluator, np.ndarray] | None:
    """The evaluator of ``program`` on ``domain`` and the points of its partition, in one
    compiled call, for the commonest case; ``None`` (nothing done) for any other.

    The case: compiled kernels (:func:`regionscope.backends.compiled`), an
    :class:`~regionscope.domains.Interval` or :class:`~regionscope.domains.Segment` (any
    other domain, 2-D ones included, gives ``None``), and a
    program that is a chain of :class:`~regionscope.network.layers.Linear` and
    :class:`~regionscope.network.layers.ReLU` layers (each reading the one before) with
    at least one ReLU.  One kernel (:func:`regionscope.geometry.kernels.line.chain`) runs
    what :func:`regionscope.compute.evaluator` and :func:`cut_1d` run: the unit
    magnitudes at the domain's two ends through every layer, the tolerances of the
    snapping rule from their largest, the folded first layers, the values at the points,
    the cuts and the interpolation.  Its matrix products add their terms in their own
    order, so the tolerances, the folded map and the points may differ from the NumPy
    path's in the last bits (the same pieces and patterns: a property test holds them
    to it).  Where the general path would raise or give up its table of values (values
    that are not finite, more than ``max_regions`` pieces, the memory budget), it
    returns ``None``, and the general path runs.

    Examples
    --------
    >>> import regionscope as rs
    >>> from regionscope import compute
    >>> from regionscope.network.program import compile_model
    >>> net = rs.Sequential(rs.Linear([[1.0], [1.0]], [0.0, -0.5]), rs.ReLU(),
    ...                     rs.Linear([[1.0, -2.0]], [-0.25]), rs.ReLU())
    >>> prog, dom = compile_model(net, 1), rs.Interval(-1.0, 1.0)
    >>> with rs.backend("numba"):
    ...     ev, points = chain_1d(prog, dom)
    >>> points.tolist()
    [-1.0, 0.0, 0.25, 0.5, 0.75, 1.0]
    >>> ev.unit_tol[1].tolist() == compute.evaluator(dom, prog).unit_tol[1].tolist()
    True
    """
    layers = program_chain(program)
    run = None if layers is None else _chain_run(layers, domain, max_regions)
    if run is None:
        return None
    return _chain_evaluator(program, domain, run[0]), run[1]


def chain_1d_deferred(
    layers: tuple[Layer, ...], domain: Domain, *, max_regions: int = DEFAULT_MAX_REGIONS
) -> tuple[np.ndarray, Callable[[], Evaluator]] | None:
    """:func:`chain_1d` of a model's top-level layers, before any program is compiled: the
    points, and a function that compiles the program and assembles its evaluator when it
    is first asked for (what ``chain_1d(compile_model(Sequential(*layers), dim),
    domain)`` gives, by the same numbers).

    For :func:`regionscope.partition` of a 1-D domain: the partition's points are all
    that a sweep of many segments needs at once; the program and the evaluator are
    Python objects that cost more than the kernel on a first call.  ``None`` where
    :func:`chain_1d` gives ``None`` (or a layer is not a Linear or a ReLU, widths that
    do not follow one another included: the general path then raises).

    Examples
    --------
    >>> import regionscope as rs
    >>> net = rs.Sequential(rs.Linear([[1.0], [1.0]], [0.0, -0.5]), rs.ReLU())
    >>> with rs.backend("numba"):
    ...     points, evaluator = chain_1d_deferred(net.layers, rs.Interval(-1.0, 1.0))
    >>> points.tolist(), evaluator().unit_tol[1].tolist()
    ([-1.0, 0.0, 0.5, 1.0], [1e-11, 1.5e-11])
    """
    run = _chain_run(layers, domain, max_regions)
    if run is None:
        return None
    res, points = run
    return points, functools.partial(_deferred_evaluator, layers, domain, res)


def _deferred_evaluator(layers: tuple[Layer, ...], domain: Domain, res: np.ndarray) -> Evaluator:
    """The evaluator :func:`chain_1d_deferred` puts off: the program compiled now."""
    return _chain_evaluator(compile_model(Sequential(*layers), domain.input_dim), domain, res)


def _chain_run(
    layers: tuple[Layer, ...], domain: Domain, max_regions: int
) -> tuple[np.ndarray, np.ndarray] | None:
    """The kernel's result (read-only) and the points (a view of it) of a chain of layers
    on a 1-D domain; ``None`` where the kernel does not take it or gives up."""
    kind = type(domain)
    if kind is Segment:
        line: Any = domain
        p, direction = line.p, line.direction
    elif kind is Interval:
        p, direction = _ORIGIN, _UNIT
    else:
        return None
    described = describe_chain(layers, len(p))
    if described is None or not compiled():
        return None
    chain, n_tol, width, n_fold, _ = described
    chain_points = n_tol + width + 2 * n_fold + 2 * len(p)  # after the tolerances and maps
    tol = kernel_tolerance()
    if tol is None:
        return None
    lo, hi = domain.lo, domain.hi  # type: ignore[attr-defined]
    args = (
        p, direction, lo, hi, tol.value_rtol, tol.point_rtol * (hi - lo),
        table_limit(get_budget()), min(max_regions, NO_LIMIT),
    )  # fmt: skip
    try:  # the kernel itself: the layers' arrays are of its own type (read-only float64)
        res, status = _kernels()._chain(*chain, *args)
    except TypeError:  # not so (a weight assigned since): copies of that type
        weights, biases, *masks = chain
        fixed = tuple(_fixed(w) for w in weights), tuple(_fixed(b) for b in biases)
        res, status = _kernels()._chain(*fixed, *masks, *args)
    if status:
        return None
    res.flags.writeable = False  # every array below is a view of it
    return res, res[chain_points:]


def _chain_evaluator(program: Program, domain: Domain, res: np.ndarray) -> Evaluator:
    """The evaluator of ``program`` (a chain of Linear and ReLU layers) on a 1-D domain from
    the kernel's result: views of its tolerances, folded map and lift."""

    def lift(coords: np.ndarray) -> np.ndarray:  # compute.evaluator's lift of a 1-D domain
        return domain.lift(coords.reshape(-1))

    return chain_evaluator(program, lift, None, res, 1)


def _fixed(arr: Any) -> np.ndarray:
    """A layer's array as the kernel takes it: read-only, C-contiguous float64 (as
    :class:`~regionscope.network.layers.Linear` makes them)."""
    return read_only(np.array(arr, dtype=np.float64, order="C"))
