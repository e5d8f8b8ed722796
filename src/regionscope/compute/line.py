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
from regionscope.domains import Domain, Domain1D, Interval, Segment
from regionscope.errors import RegionLimitError
from regionscope.geometry.arrays import read_only
from regionscope.geometry.line import changed, cut_points, interpolate
from regionscope.network.evaluate import Evaluator
from regionscope.network.layers import Linear, ReLU
from regionscope.network.program import Op, Program
from regionscope.tolerances import Tolerance, get_budget, get_tolerance

from .limits import DEFAULT_MAX_REGIONS, check_finite

__all__ = ["cut_1d", "chain_1d", "PointValues"]



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


def chain_1d(
    program: Program, domain: Domain, *, max_regions: int = DEFAULT_MAX_REGIONS
) -> tuple[Evaluator, np.ndarray] | None:
    """The evaluator of ``program`` on ``domain`` and :func:`cut_1d`'s points, in one pass,
    for the commonest case; ``None`` (nothing done) for any other.

    The case: compiled kernels (:func:`regionscope.backends.compiled`), an
    :class:`~regionscope.domains.Interval` or :class:`~regionscope.domains.Segment` (any
    other domain, 2-D ones included, gives ``None``), and a
    program that is a chain of :class:`~regionscope.network.layers.Linear` and
    :class:`~regionscope.network.layers.ReLU` layers (each reading the one before) with
    at least one ReLU.  It runs the arithmetic of :func:`regionscope.compute.evaluator`
    (the unit magnitudes at the domain's ends, the folded prefix) and of :func:`cut_1d`
    (the same NumPy calls on the same operands, the same kernels) without their general
    structure: the same evaluator and the same points, bit for bit, for a fraction of
    the calls.  Where :func:`cut_1d` would give up its table of values (the memory
    budget), it returns ``None``, and the general path runs.

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
    ops = program.ops
    last = _chain_last_relu(ops)
    if last < 0 or type(domain) not in (Segment, Interval) or not compiled():
        return None
    tol = get_tolerance()
    if type(tol).unit_tolerance is not Tolerance.unit_tolerance:
        return None

    def lift(coords: np.ndarray) -> np.ndarray:  # compute.evaluator's lift of a 1-D domain
        return domain.lift(coords.reshape(-1))

    # the lift's map (compute.driver.lift_map), read-only copies of their own (Evaluator's)
    if type(domain) is Segment:
        line: Any = domain  # (float64 arrays: Segment made them)
        lift_linear = read_only(line.direction[None, :].copy())
        lift_offset = read_only(line.p.copy())
    else:
        lift_linear, lift_offset = read_only(np.eye(1)), read_only(np.zeros(1))
    # |corners| of the evaluator's magnitudes: abs of a float is exact, as np.abs
    corners = np.array([[abs(domain.lo)], [abs(domain.hi)]])
    prefix, maps = _chain_prefix(ops, lift_linear, lift_offset)
    # (the evaluator's magnitudes and cut_1d's cut each ignore overflow and invalid values)
    with np.errstate(over="ignore", invalid="ignore"):
        unit_tol, output_tol = _chain_tolerances(ops, corners, lift_linear, lift_offset, tol)
        ev = Evaluator.assemble(
            program, lift, (lift_linear, lift_offset), (unit_tol, output_tol), (prefix, maps)
        )
        points = _chain_cut(ev, domain, last, max_regions, tol.point_rtol * domain.length)
    return None if points is None else (ev, points)


def _chain_last_relu(ops: tuple[Op, ...]) -> int:
    """The index of the last ReLU of a chain of Linear and ReLU ops; -1 for other programs
    (or a chain without ReLU)."""
    last, reg = -1, 0
    for op in ops:
        kind = type(op.layer)
        if op.inputs != (reg,) or (kind is not Linear and kind is not ReLU):
            return -1
        if kind is ReLU:
            last = op.index
        reg = op.output
    return last


def _chain_tolerances(
    ops: tuple[Op, ...],
    abs_corners: np.ndarray,
    lift_linear: np.ndarray,
    lift_offset: np.ndarray,
    tol: Tolerance,
) -> tuple[dict[int, np.ndarray], np.ndarray]:
    """:meth:`Evaluator._unit_tolerances` of a chain from the domain's ``|corners|``:
    ``Linear.magnitude`` and ``ReLU.unit_scale`` written out, the same calls.

    ``ReLU.magnitude`` (``np.maximum(mags, 0.0)``) is left out: it returns its input
    unchanged, bit for bit, as the magnitudes are sums of products of absolute values
    (``+0.0`` or more, or infinity, or NaN from ``0 * inf``; never ``-0.0``).
    """
    rtol = tol.value_rtol
    largest = np.maximum.reduce
    mags = abs_corners @ np.abs(lift_linear) + np.abs(lift_offset)
    unit_tol: dict[int, np.ndarray] = {}
    for op in ops:
        layer: Any = op.layer
        if type(layer) is ReLU:
            unit_tol[op.index] = rtol * largest(mags, axis=0, initial=0.0)
        else:
            mags = mags @ np.abs(layer.weight).T
            if layer.bias is not None:
                mags = mags + np.abs(layer.bias)
    return unit_tol, rtol * largest(mags, axis=0, initial=0.0)


def _chain_prefix(
    ops: tuple[Op, ...], lift_linear: np.ndarray, lift_offset: np.ndarray
) -> tuple[int, dict[int, tuple[np.ndarray, np.ndarray]]]:
    """:meth:`Evaluator._fold_prefix` of a chain: the Linear ops before the first ReLU."""
    p = 0
    while type(ops[p].layer) is not ReLU:
        p += 1
    if p == 0:
        return 0, {}
    lin, off = np.array(lift_linear), lift_offset[None, :]
    for op in ops[:p]:
        lin, off = op.layer.forward_linear(lin), op.layer.forward(off)
    return p, {ops[p - 1].output: (read_only(lin), read_only(off[0]))}


def _chain_cut(
    ev: Evaluator, domain: Domain1D, last: int, max_regions: int, point_tol: float
) -> np.ndarray | None:
    """:func:`cut_1d` of a chain from the domain's ends, with the compiled kernels (overflow
    ignored by the caller); ``None`` where :class:`PointValues` would give up its table (the
    memory budget).

    The kernels take their arrays as they are: the points (the ends, then a cut's), the
    values (a matrix product, a maximum, an interpolation) and the tolerances (one per
    unit, made by :func:`_chain_tolerances`) are C-contiguous float64 here.
    """
    program = ev.program
    points = np.array([domain.lo, domain.hi])
    limit = get_budget().stored_bytes // 16
    kernels = _kernels()
    u = points[:, None]
    if ev.prefix:
        ((lin, off),) = ev.prefix_maps.values()
        x = u @ lin + off
    else:
        x = ev.lift(u)
    if len(points) * x.shape[1] > limit:
        return None
    for op in program.ops[ev.prefix : last + 1]:
        layer: Any = op.layer
        if type(layer) is ReLU:
            x = np.ascontiguousarray(x, np.float64)  # (a no-op: see above)
            points, order, piece, weight, finite = kernels._cut_points(
                points, x, ev.unit_tol[op.index], point_tol
            )
            if not finite:
                check_finite(x, op)  # raises, naming the layer
            if op.index != last and len(piece):
                if len(order) * x.shape[1] > limit:
                    return None
                x = kernels._interpolate(x, order, piece, weight)
            if len(points) - 1 > max_regions:
                raise RegionLimitError(
                    len(points) - 1, max_regions, f"layer {op.index} ({op.name})"
                )
            if op.index == last:
                return points
        x = layer.forward(x)
        if len(points) * x.shape[1] > limit:
            return None
    return points  # pragma: no cover  (the loop ends at the last ReLU)
