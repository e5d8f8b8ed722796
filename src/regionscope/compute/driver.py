"""The driver: apply a compiled network's piecewise layers to a mesh (2-D) or points (1-D).

It runs the program once per call (compiled by the caller, held in an
:class:`~regionscope.network.evaluate.Evaluator`), reads the memory budget
once, and returns plain arrays; :mod:`regionscope.partitions` wraps them.

Data flow of :func:`cut_2d`, layer by layer: the values of the layer's input
at the mesh's vertices (carried from earlier layers by exact interpolation,
or recomputed in chunks when the budget is short) -> the values of the
layer's units (:meth:`~regionscope.network.layers.Piecewise.stage_values`)
-> :func:`regionscope.geometry.cut` with the units' tolerances -> for max
layers, :func:`regionscope.geometry.merging.merge_across` of the needless cuts.

Examples
--------
>>> import numpy as np
>>> from regionscope.domains import Box
>>> from regionscope.geometry import Mesh
>>> from regionscope.network.layers import Linear, ReLU, Sequential
>>> from regionscope.network.program import compile_model
>>> box = Box(1.0)
>>> ev = evaluator(box, compile_model(Sequential(Linear(np.eye(2)), ReLU()), 2))
>>> mesh, seconds = cut_2d(ev, box, Mesh.from_polygon(box.polygon), 0, max_regions=100)
>>> mesh.num_regions, sorted(seconds)
(4, [1])
"""

from __future__ import annotations

import functools
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from regionscope.domains import Domain, Domain1D, Domain2D, Plane, Segment, SliceOf
from regionscope.errors import RegionLimitError
from regionscope.geometry import CutResult, Mesh, check_mesh, cut, encode_source
from regionscope.geometry.arrays import read_only
from regionscope.geometry.cutting import preload_kernels
from regionscope.network.evaluate import Evaluator, affine_of
from regionscope.network.layers import MaxPool, ReLU
from regionscope.network.program import Op, Program
from regionscope.tolerances import (
    EXPANSION_MAX_COST,
    EXPANSION_MAX_LIVE_FRACTION,
    LIVE_UNITS_MIN_WIDTH,
    Budget,
    get_budget,
    get_tolerance,
)

from .estimate import first_layer_estimate
from .expansion import relu_expansion
from .limits import DEFAULT_MAX_REGIONS, check_finite
from .line import cut_1d
from .merge import merge_layer
from .pairs import disagreeing
from .tables import HOST, tables_for, tables_of
from .undecided import (
    MAX_GROUP,
    Head,
    Narrowed,
    cut_undecided,
    held_columns,
    narrow_for_pool,
    settled_groups,
    unit_groups,
)
from .undecided_regions import cut_undecided_regions, takes_undecided_regions
from .windowed import affine_input, cut_windowed

__all__ = [
    "evaluator",
    "lift_map",
    "stage_plan",
    "cut_2d",
    "cut_1d",
    "Progress",
    "DEFAULT_MAX_REGIONS",
]

#: a run whose first layer alone makes this many regions shows progress on a terminal
LONG_RUN = 200_000
#: cut ReLU layers on a stored input by the units whose input has both signs only
LIVE_UNITS_ONLY = True
#: cut max-pooling layers on a stored input by their undecided groups only
#: (:mod:`~regionscope.compute.undecided`; False: every group, stage by stage)
UNDECIDED_ONLY = True
#: cut the last argmax on the regions whose corners disagree on its winner only, as a
#: submesh (:mod:`~regionscope.compute.undecided_regions`; False: stage by stage on the
#: whole mesh, the same regions in another order)
UNDECIDED_REGIONS = True
#: carry through a ReLU layer's cuts only the inputs that its live units and the
#: max-pooling layer after it need (the groups settled at its start need one column or
#: none, :func:`~regionscope.compute.undecided.settled_groups`)
SETTLED_ONLY = True
#: a max-pooling layer cut on its undecided groups hands the next piecewise layer its input
#: (the affine ops between, a CNN's flatten and Linear layer, applied where the pool's output
#: is known, then carried: :class:`~regionscope.compute.undecided.Head`) rather than its
#: wider output; the same partition, vertices equal up to rounding (False: the output)
POOL_HEAD = True
#: such a ReLU layer's input, when affine ops compute it from a ReLU of the domain's affine
#: map, comes from that ReLU's live units, on the columns needed only
#: (:mod:`~regionscope.compute.expansion`; False: a forward pass of every column)
EXPANDED_ONLY = True


def evaluator(domain: Domain, program: Program) -> Evaluator:
    """The evaluator of ``program`` on ``domain`` (its lift, its corners)."""
    if isinstance(domain, Domain2D):
        return Evaluator(program, domain.lift, domain.polygon, lift_map(domain, domain.lift))

    if not isinstance(domain, Domain1D):
        raise TypeError(f"unsupported domain {domain!r}")

    def lift(coords: np.ndarray) -> np.ndarray:
        return domain.lift(coords.reshape(-1))

    return Evaluator(program, lift, np.array([[domain.lo], [domain.hi]]), lift_map(domain, lift))


@functools.lru_cache(maxsize=2)
def _identity(dim: int) -> tuple[np.ndarray, np.ndarray]:
    """The identity lift of ``dim`` coordinates, ``(eye, zeros)``, read-only (shared)."""
    return read_only(np.eye(dim)), read_only(np.zeros(dim))


def lift_map(
    domain: Domain, lift: Callable[[np.ndarray], np.ndarray]
) -> tuple[np.ndarray, np.ndarray]:
    """The lift as ``(linear (dim, D), offset (D,))`` float64: ``lift(u) = u @ linear + offset``.

    Read from the domain's own attributes, exactly: the identity for a
    polygon or an interval, ``origin`` and ``basis`` for a :class:`Plane`,
    ``p`` and ``direction`` for a :class:`Segment`, the parent's map composed
    with the line for a :class:`SliceOf`.  A domain of any other kind falls
    back to the differences of ``lift`` (the evaluator's: ``(N, dim)`` to
    ``(N, D)``) at 0 and at the unit vectors: exact when those values are (as
    for the identity), a finite difference otherwise.

    >>> import regionscope as rs
    >>> seg = rs.Segment([1.0, 2.0], [4.0, 6.0])
    >>> [m.tolist() for m in lift_map(seg, seg.lift)]
    [[[0.6, 0.8]], [1.0, 2.0]]
    """
    if isinstance(domain, Plane):
        return np.array(domain.basis, dtype=np.float64), np.array(domain.origin, np.float64)
    if isinstance(domain, Segment):
        return np.array(domain.direction, np.float64)[None, :], np.array(domain.p, np.float64)
    if isinstance(domain, SliceOf):
        lin, off = lift_map(domain.parent, domain.parent.lift)
        return domain.direction[None, :] @ lin, domain.p @ lin + off
    if type(domain).lift in (Domain2D.lift, Domain1D.lift):  # coordinates are the inputs
        return _identity(domain.dim)
    # an unknown kind of domain: differences of the lift, which is affine
    return affine_of(lift, domain.dim)


class Progress:
    """A progress bar over the units of the layers to cut (tqdm when installed, else lines)."""

    def __init__(self, enabled: bool, total: int) -> None:
        self.bar = None
        self.enabled = enabled
        if enabled:
            try:
                from tqdm.auto import tqdm
            except ImportError:
                self.bar = None
            else:
                self.bar = tqdm(total=total, unit="unit", desc="regionscope")

    def note(self, line: str) -> None:
        """A line of information before the bar moves."""
        if not self.enabled:
            return
        if self.bar is not None:
            self.bar.write(f"regionscope: {line}", file=sys.stderr)
        else:
            sys.stderr.write(f"regionscope: {line}\n")

    def update(self, label: str, regions: int, units: int) -> None:
        if not self.enabled:
            return
        if self.bar is not None:
            self.bar.set_postfix_str(f"{label}: {regions} regions")
            self.bar.update(units)
        else:
            sys.stderr.write(f"regionscope: {label}: {regions} regions\n")

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def stage_plan(program: Program, start: int) -> list[tuple[int, int]]:
    """``(op index, stage)`` of every cutting step of the ops from ``start`` on."""
    plan = []
    for op in program.ops[start:]:
        if op.layer.piecewise:
            for stage in range(op.layer.num_stages(op.in_width)):  # type: ignore[attr-defined]
                plan.append((op.index, stage))
    return plan


class _VertexInputs:
    """The input of the layer being cut, at the mesh's vertices.

    Values come from one of three places, the cheapest that fits the memory
    budget (:attr:`Budget.memory_bytes <regionscope.tolerances.Budget>`,
    spent here first): the table of the live registers at the vertices
    (computed once by a forward pass from the folded prefix, then carried
    through cuts by exact interpolation, :meth:`CutResult.extend`, and moved
    on through the ops between piecewise layers), the layer's input alone
    (carried the same way), or a chunked forward pass for each group of
    units.  Registers that are affine maps of the domain point (the folded
    prefix) are never stored: their columns cost ``2`` per value from the map.
    A ReLU layer's input before a max-pooling layer may be held on some
    columns only (:meth:`narrow`); the budget still counts whole registers,
    so values are dropped and computed again exactly where they would be.
    On the torch backend that narrowed input may live on the device
    (:meth:`on_device`, :mod:`~regionscope.compute.tables`): it is carried
    there, and the host gets the columns each cut reads (:meth:`columns`),
    or all of it where a step runs on the host only (:meth:`to_host`).
    """

    def __init__(self, ev: Evaluator, budget: Budget, corners: np.ndarray) -> None:
        self.ev = ev
        self.corners = corners  # (K, 2): the convex domain's corners
        self.program = ev.program
        self.budget = budget
        self.regs: dict[int, np.ndarray] | None = None
        self.pos = 0  # the registers in regs are those live at op pos
        self.x: np.ndarray | None = None
        self.winners: np.ndarray | None = None
        # the columns of the layer's input that x holds (None: all of them), and the
        # max-pooling layer's settled groups when x is a ReLU's input narrowed for it
        self.held: np.ndarray | None = None
        self.pooled: Narrowed | None = None
        self.range: tuple[np.ndarray, np.ndarray] | None = None
        # a ReLU layer's live units, when found with its input (:meth:`_expanded`)
        self.live: np.ndarray | None = None
        # the first layer's input at the vertices, given by the caller (op index, values)
        self.preloaded: tuple[int, np.ndarray] | None = None

    def preload(self, plan: list[tuple[int, int]], mesh: Mesh, x: np.ndarray | None) -> None:
        """Take ``x (V, in_width) float64``, the input of the first op of ``plan`` at the
        vertices of ``mesh``, instead of a forward pass there (nothing when ``x`` is None)."""
        if x is None or not plan:
            return
        op = self.program.ops[plan[0][0]]
        want = (mesh.num_vertices, op.in_width)
        if not isinstance(x, np.ndarray) or x.dtype != np.float64 or x.shape != want:
            raise ValueError(
                f"start_input must be a float64 array of shape {want} (the input of layer "
                f"{op.index} ({op.name}) at the vertices), got {getattr(x, 'dtype', type(x))} "
                f"{getattr(x, 'shape', '')}"
            )
        self.preloaded = (op.index, x)

    def _width(self, index: int) -> int:
        """Width of the registers stored at op ``index`` (the ops' outputs on the way there
        are held for a chunk of vertices at a time: :meth:`_advance`)."""
        return sum(self.program.register_width(r) for r in self.ev.stored_registers(index))

    def _advance(self, mesh: Mesh, index: int, regs: dict[int, np.ndarray]) -> None:
        """Move the stored registers ``regs`` from op ``pos`` to op ``index``: at once, or,
        where the widest output on the way would pass the memory budget beside them, in
        chunks of vertices (rather than a forward pass from the domain)."""
        ops = self.program.ops[self.pos : index]
        self.pos = index
        if not ops:
            return
        wanted = set(self.ev.stored_registers(index))
        n = mesh.num_vertices
        passing = max(o.out_width for o in ops)
        if self.budget.stores(n, self._width(index) + passing):
            self._run(ops, mesh.vertices, regs, wanted)
            return
        step = max(1, self.budget.chunk_values // max(passing, 1))
        parts = []
        for s in range(0, n, step):
            local = {r: v[s : s + step] for r, v in regs.items()}
            self._run(ops, mesh.vertices[s : s + step], local, wanted)
            parts.append(local)
        regs.clear()
        regs.update({r: tables_of(v).stack([p[r] for p in parts]) for r, v in parts[0].items()})

    def _run(
        self, ops: tuple[Op, ...], vertices: np.ndarray, regs: dict[int, np.ndarray], wanted: set
    ) -> None:
        """Run ``ops`` on the registers ``regs`` at ``vertices`` (in place), keeping those
        still read and the ``wanted`` ones."""
        for o in ops:
            args = []
            for r in o.inputs:
                folded = None if r in regs else self.ev.affine_register(r)
                args.append(regs[r] if folded is None else vertices @ folded[0] + folded[1])
            # (a ReLU's input narrowed for a pool may live on the torch backend's device)
            tables = next((tables_of(a) for a in args if not isinstance(a, np.ndarray)), HOST)
            regs[o.output] = tables.forward(o.layer, *args)
            for r in self.program.frees[o.index]:
                if r not in wanted:
                    regs.pop(r, None)

    def start_layer(self, mesh: Mesh, op: Op) -> None:
        nverts = mesh.num_vertices
        layer: Any = op.layer
        pooled, before = self.pooled, self.regs
        self.pooled, self.held, self.range, self.live = None, None, None, None
        # a max layer's winners, kept through its stages (none computed yet)
        self.winners = None
        if layer.merge:
            self.winners = np.zeros((0, layer.num_units(op.in_width)), np.intp)
        if self.ev.affine_register(op.inputs[0]) is not None:
            # affine on the domain: its columns come from the map, for each group of units
            self.x = None
            return
        if self.preloaded is not None and self.preloaded[0] == op.index:
            self.x, self.preloaded = self.preloaded[1], None
            # carried through this layer's cuts to the next ones where it is all they read
            alone = self.ev.stored_registers(op.index) == (op.inputs[0],)
            self.regs = {op.inputs[0]: self.x} if alone else None
            self.pos = op.index
            return
        if self.regs is not None and not self.budget.stores(nverts, self._width(op.index)):
            self.regs = None
        if self.regs is None and self.budget.stores(nverts, self._width(op.index)):
            if not self._expanded(mesh, op):
                self.regs = self.ev.forward_registers(mesh.vertices, op.index)
                self.pos = op.index
        if self.regs is not None:
            self._advance(mesh, op.index, self.regs)
            self.x = self.regs[op.inputs[0]]
            if pooled is not None and self.regs is before:  # narrowed for this layer
                self.pooled, self.held = pooled, pooled.columns
        elif self.budget.stores(nverts, op.in_width):
            self.x = self.ev.layer_input(mesh.vertices, op.index)
        else:
            self.x = None

    def stage_values(
        self, mesh: Mesh, op: Op, stage: int, units: slice
    ) -> tuple[np.ndarray, np.ndarray | None]:
        layer: Any = op.layer
        if self.x is None:
            return self.ev.stage_values(mesh.vertices, op.index, stage, units)
        self.to_host()
        z = layer.stage_values(self.x, stage, units)
        if not layer.merge:
            return z, None
        n_units = layer.num_units(op.in_width)
        if self.winners is None or not self.budget.stores(len(self.x), n_units):
            self.winners = None
            return z, self._winners(op, 0, units)
        # every group's winner is kept for the layer's stages: a cut appends vertices only
        if len(self.winners) < len(self.x):
            new = self._winners(op, len(self.winners), slice(0, n_units))
            self.winners = np.concatenate([self.winners, new])
        return z, self.winners[:, units]

    def _winners(self, op: Op, start: int, units: slice) -> np.ndarray:
        """The winners of groups ``units`` at the vertices from ``start`` on."""
        x: Any = self.x
        return self.ev.pattern(op, x[start:], units)

    def after_cut(self, res: CutResult, op: Op, later: bool, more: bool) -> None:
        """Carry the values to the new vertices of a cut (or give them up)."""
        if not res.num_new_vertices:
            return
        nverts = res.mesh.num_vertices
        # (the budget counts whole registers, also where fewer columns are held)
        if self.regs is not None and later:
            width = sum(self.program.register_width(r) for r in self.regs)
            if self.budget.stores(nverts, width):
                for r in self.regs:
                    self.regs[r] = _extend(self.regs[r], res)
                self.x = self.regs[op.inputs[0]]
                return
        self.regs, self.pooled = None, None
        if self.x is not None and more and self.budget.stores(nverts, op.in_width):
            self.x = _extend(self.x, res)
        else:
            self.x, self.held = None, None

    def columns(self, units: np.ndarray) -> np.ndarray:
        """The input of ``units`` (increasing) at the vertices, ``(V, len(units))`` float64
        on the host (gathered where x lives)."""
        tables = tables_of(self.x)
        return tables.get(tables.take(self.x, self.local(units)))

    def to_host(self) -> None:
        """Bring x and the registers stored with it to the host, where they live on a device
        (:meth:`on_device`)."""
        if self.x is None or isinstance(self.x, np.ndarray):
            return
        x, tables = self.x, tables_of(self.x)
        self.x = tables.get(x)
        if self.regs is not None:
            self.regs = {r: self.x if v is x else tables.get(v) for r, v in self.regs.items()}

    def on_device(self, x: np.ndarray) -> Any:
        """``x``, a ReLU layer's input narrowed for the pool after it, sent to the torch
        backend's device when it is large enough (:func:`~regionscope.backends.
        device_for_values`): carried through the layer's cuts there, the pool's cut
        (:func:`~regionscope.compute.undecided.cut_undecided`) reads it there."""
        return tables_for(x.size).put(x)

    def local(self, units: np.ndarray) -> np.ndarray:
        """The columns of x that hold the input of ``units`` (increasing, held)."""
        return units if self.held is None else np.searchsorted(self.held, units)

    def live_units(self, op: Op) -> np.ndarray | None:
        """``(L,) int64``: the units of ReLU op ``op`` whose stored input has both signs
        (beyond their tolerances) among the vertices, the only ones that can cut a region
        (a cut's new vertices mix old values); ``None`` where the input is not stored or
        the layer has fewer than ``LIVE_UNITS_MIN_WIDTH`` units (:mod:`~regionscope.
        tolerances`).  The whole input is checked to be finite, and narrowed for a
        max-pooling layer after it (:meth:`narrow`)."""
        layer: Any = op.layer
        if not LIVE_UNITS_ONLY or not isinstance(layer, ReLU) or self.x is None:
            return None
        if self.live is not None:
            return self.live
        n = layer.num_units(op.in_width)
        if n < LIVE_UNITS_MIN_WIDTH or len(self.x) == 0:
            return None
        self.range = _column_ranges(self.x, op)
        live = np.flatnonzero(_both_signs(*self.range, self._unit_tol(op)))
        self.narrow(op, live)
        return live

    def narrow(self, op: Op, live: np.ndarray) -> None:
        """Keep of ReLU op ``op``'s input (stored, its ``live`` units found) only the columns
        that its cuts and the max-pooling layer after it need: the live units' and the
        inputs of the groups not settled (:func:`~regionscope.compute.undecided.
        settled_groups`) and their sources.  Nothing changes unless that layer will be cut
        on its undecided groups (:meth:`restrictable`) from the values carried here."""
        nxt = self._pool_after(op)
        if (
            nxt is None
            or self.regs is None
            or self.x is not self.regs.get(op.inputs[0])
            or self.range is None
        ):
            return
        groups, tol, rows = self._groups(nxt)
        settled, source = settled_groups(groups, self.x, *self.range, tol, rows)
        if not settled.any():  # (every column would be kept)
            return
        x, self.pooled = narrow_for_pool(
            self.x, None, live, groups, settled, source, self._head(nxt)
        )
        self.x = self.regs[op.inputs[0]] = self.on_device(x)
        self.held = self.pooled.columns

    def _pool_after(self, op: Op) -> Op | None:
        """The max-pooling op right after ReLU op ``op`` that will be cut on its undecided
        groups from the values this layer carries, or None."""
        ops = self.program.ops
        nxt = ops[op.index + 1] if op.index + 1 < len(ops) else None
        if (
            not (SETTLED_ONLY and UNDECIDED_ONLY)
            or nxt is None
            or type(op.layer) is not ReLU
            or type(nxt.layer) is not MaxPool
            or nxt.layer.groups.shape[1] > MAX_GROUP
            or nxt.inputs[0] != op.output
            or op.output not in self.program.frees[nxt.index]
            or op.inputs[0] not in self.program.frees[op.index]
        ):
            return None
        return nxt

    def _unit_tol(self, op: Op) -> np.ndarray:
        """``(in_width,) float64``: the tolerance of each unit of ReLU op ``op``."""
        return np.broadcast_to(np.asarray(self.ev.unit_tol[op.index], np.float64), (op.in_width,))

    def _groups(self, pool: Op) -> tuple[np.ndarray, np.ndarray, int]:
        """Max-pooling op ``pool``'s groups ``(G, k)``, their tolerances ``(G,)`` and the rows
        of a ``(rows, G)`` table that fit a working chunk."""
        groups = pool.layer.groups  # type: ignore[attr-defined]
        tol = np.broadcast_to(np.asarray(self.ev.unit_tol[pool.index], np.float64), (len(groups),))
        return groups, tol, max(1, self.budget.chunk_values // max(len(groups), 1))

    def _expanded(self, mesh: Mesh, op: Op) -> bool:
        """Hold ReLU op ``op``'s input on the columns that its live units and the pooling
        layer after it need (as :meth:`narrow`), computed from the live units of a ReLU
        before it (:func:`~regionscope.compute.expansion.relu_expansion`), when that
        applies and costs less than a forward pass; whether it did."""
        nxt = self._pool_after(op)
        n = op.in_width
        if not EXPANDED_ONLY or nxt is None or n < LIVE_UNITS_MIN_WIDTH or not LIVE_UNITS_ONLY:
            return False
        exp = relu_expansion(self.ev, op.index, self.corners, EXPANSION_MAX_LIVE_FRACTION)
        if exp is None:
            return False
        tol = self._unit_tol(op)
        groups, gtol, rows = self._groups(nxt)
        # what the bounds leave open: units that may have both signs, groups not settled
        maybe = np.flatnonzero(_both_signs(exp.low, exp.high, tol))
        settled, source = settled_groups(groups, None, exp.low, exp.high, gtol, rows)
        # the groups settled on the whole domain: their outputs through the pool's head
        # (:func:`~regionscope.compute.undecided.narrow_for_pool`), their sources not needed
        head = self._head(nxt)
        early = settled & (source >= 0) & (head is not None)
        signed = None if head is None or not early.any() else head.signed_rows(early.nonzero()[0])
        columns = held_columns(maybe, groups, settled, np.where(early, -1, source))
        through = 0 if signed is None else signed.shape[1]
        cost = (len(exp.live) + 2) * (len(columns) + through)
        if len(exp.live) and cost > EXPANSION_MAX_COST * exp.fan_in * n:
            return False  # (a forward pass is cheaper)
        x = exp.values(mesh.vertices, columns)
        done = None
        if signed is not None:
            done = (early, exp.values_through(mesh.vertices, source[early], signed))
        low, high = _column_ranges(x, op)
        at = np.searchsorted(columns, maybe)
        live = maybe[_both_signs(low[at], high[at], tol[maybe])]
        # the open groups, settled from their columns' values at the vertices
        still = np.flatnonzero(~settled)
        table = groups[still]
        local = np.where(table >= 0, np.searchsorted(columns, np.maximum(table, 0)), -1)
        now, src = settled_groups(local, x, low, high, gtol[still], rows)
        settled[still] = now
        source[still] = np.where(src >= 0, columns[np.maximum(src, 0)], -1)
        x, pooled = narrow_for_pool(x, columns, live, groups, settled, source, head, done)
        x = self.on_device(x)
        self.regs, self.pos, self.x = {op.inputs[0]: x}, op.index, x
        self.held, self.pooled, self.live = pooled.columns, pooled, live
        return True

    def restrictable(self, op: Op) -> bool:
        """Whether max op ``op`` can be cut on its undecided groups
        (:func:`~regionscope.compute.undecided.cut_undecided`): a max-pooling layer whose
        input is stored and needed by no later op."""
        return (
            type(op.layer) is MaxPool
            and op.layer.groups.shape[1] <= MAX_GROUP
            and self.x is not None
            and op.inputs[0] in self.program.frees[op.index]
        )

    def take(
        self, op: Op, later: bool
    ) -> tuple[np.ndarray, dict[int, np.ndarray], Narrowed | None]:
        """The input of max op ``op`` (with its settled groups, if narrowed) and the other
        stored registers (if ``later`` ops need them), handed over for the layer's cuts."""
        x: Any = self.x
        pooled = self.pooled
        carried = {}
        if self.regs is not None and later:
            carried = {r: v for r, v in self.regs.items() if r != op.inputs[0]}
        self.forget()
        return x, carried, pooled

    def head_after(self, op: Op) -> tuple[Head, int] | None:
        """The affine ops after max-pooling op ``op`` up to the next piecewise op, as a
        :class:`~regionscope.compute.undecided.Head`, with that op's index, where the
        head's output is all the next op stores and is narrower than the pool's; else
        None (:data:`POOL_HEAD`)."""
        ops, frees = self.program.ops, self.program.frees
        reg, chain = op.output, []
        for o in ops[op.index + 1 :]:
            if o.layer.piecewise:
                break
            if o.inputs != (reg,) or reg not in frees[o.index]:
                return None
            chain.append(o)
            reg = o.output
        else:
            return None  # (nothing piecewise after: no next layer to hand over to)
        nxt = op.index + 1 + len(chain)
        if (
            not POOL_HEAD
            or not chain
            or self.ev.stored_registers(nxt) != (reg,)
            or chain[-1].out_width >= op.out_width
        ):
            return None
        return Head(tuple(chain)), nxt

    def _head(self, pool: Op) -> Head | None:
        """:meth:`head_after` max-pooling op ``pool``, without the index."""
        found = self.head_after(pool)
        return None if found is None else found[0]

    def give_head(self, head: Head, index: int, out: np.ndarray) -> None:
        """The registers at op ``index``: ``out``, the output of ``head`` (:meth:`head_after`),
        all that op stores."""
        self.regs, self.pos = {head.ops[-1].output: out}, index

    def give(self, op: Op, out: np.ndarray, carried: dict[int, np.ndarray], later: bool) -> None:
        """The registers after max op ``op``: its output and those it carried (if they are
        all those stored there; else the next layer computes them again)."""
        carried[op.output] = out
        if later and set(self.ev.stored_registers(op.index + 1)) <= set(carried):
            self.regs, self.pos = carried, op.index + 1

    def forget(self) -> None:
        """Drop every value: the mesh changed without them."""
        self.regs, self.x, self.winners = None, None, None
        self.held, self.pooled, self.range = None, None, None

    def after_merge(self, kept: np.ndarray) -> None:
        """Keep the values at the vertices a merge kept."""
        if kept.all():
            return
        if self.winners is not None:
            self.winners = self.winners[kept] if len(self.winners) == len(kept) else None
        if self.regs is not None:
            for r, v in self.regs.items():
                self.regs[r] = tables_of(v).rows(v, kept)
            self.x = self.regs.get(self.program.ops[self.pos].inputs[0])
        elif self.x is not None:
            self.x = tables_of(self.x).rows(self.x, kept)


def _extend(values: Any, res: CutResult) -> Any:
    """``values (V, ...)`` at the vertices before the cut ``res``, at every vertex after it,
    where they live (:func:`~regionscope.compute.tables.extend_all`: the bits of
    :meth:`CutResult.extend`)."""
    return tables_of(values).extend_all(values, [res])


def _column_ranges(x: np.ndarray, op: Op) -> tuple[np.ndarray, np.ndarray]:
    """The smallest and largest value of each column of ``x (V, n)`` (``V > 0``), op
    ``op``'s input at the vertices; a NaN or an infinity among them is refused
    (:func:`~.limits.check_finite`)."""
    low, high = x.min(axis=0), x.max(axis=0)
    if not (np.isfinite(low).all() and np.isfinite(high).all()):
        check_finite(x, op)
    return low, high


def _both_signs(low: np.ndarray, high: np.ndarray, tol: np.ndarray) -> np.ndarray:
    """``(n,) bool``: the units whose values between ``low`` and ``high`` take both signs
    beyond their tolerance ``tol``, the only ones that can cut a region."""
    return (high > tol) & (low < -tol)


def _finish_layer(
    mesh: Mesh, domain: Domain2D, op: Op, stage: int, strict: bool, seconds: dict, t0: float
) -> None:
    """After a stage: the validity check in strict mode, and the time spent."""
    if strict:
        check_mesh(mesh, domain.area, f"layer {op.index} ({op.name}), stage {stage}")
    seconds[op.index] = seconds.get(op.index, 0.0) + time.perf_counter() - t0


def _windowed(
    ev: Evaluator,
    mesh: Mesh,
    op: Op,
    affine: tuple[np.ndarray, np.ndarray],
    point_tol: float,
    max_regions: int,
    bar: Progress,
) -> Mesh:
    """A max layer on an affine input (:func:`~regionscope.compute.windowed.cut_windowed`),
    with the driver's progress and region-limit messages."""

    def report(cur: Mesh, groups: int) -> None:
        bar.update(f"layer {op.index} ({op.name})", cur.num_regions, groups)

    try:
        return cut_windowed(ev, mesh, op, affine, point_tol, max_regions, report)
    except RegionLimitError as exc:
        where = f"layer {op.index} ({op.name})" + (f", {exc.where}" if exc.where else "")
        raise RegionLimitError(exc.count, exc.limit, where) from None


def _undecided(
    ev: Evaluator,
    mesh: Mesh,
    op: Op,
    inputs: _VertexInputs,
    later: bool,
    point_tol: float,
    max_regions: int,
    bar: Progress,
) -> Mesh:
    """A max-pooling layer on a stored input, cut on its undecided groups
    (:func:`~regionscope.compute.undecided.cut_undecided`), with the driver's progress and
    region-limit messages."""

    def report(cur: Mesh, groups: int) -> None:
        bar.update(f"layer {op.index} ({op.name})", cur.num_regions, groups)

    found = inputs.head_after(op) if later else None
    head = None if found is None else found[0]
    x, carried, narrowed = inputs.take(op, later and head is None)
    try:
        mesh, out, carried = cut_undecided(
            ev, mesh, op, x, carried, point_tol, max_regions, inputs.budget, report, narrowed,
            head,
        )  # fmt: skip
    except RegionLimitError as exc:
        where = f"layer {op.index} ({op.name})" + (f", {exc.where}" if exc.where else "")
        raise RegionLimitError(exc.count, exc.limit, where) from None
    if found is None:
        inputs.give(op, out, carried, later)
    else:
        inputs.give_head(*found, out)
    return mesh


def _whole_layer(
    ev: Evaluator,
    mesh: Mesh,
    op: Op,
    inputs: _VertexInputs,
    last: bool,
    point_tol: float,
    max_regions: int,
    bar: Progress,
) -> Mesh | None:
    """Max op ``op`` (``last``: the last piecewise op) cut in one go on what can change: a
    max-pooling layer on its undecided groups (:func:`_undecided`), the last argmax on its
    undecided regions (:func:`_undecided_regions`); ``None`` for a layer cut stage by stage
    on the whole mesh."""
    if UNDECIDED_ONLY and inputs.restrictable(op):
        return _undecided(ev, mesh, op, inputs, not last, point_tol, max_regions, bar)
    if UNDECIDED_REGIONS and takes_undecided_regions(op, last, inputs.x is not None):
        return _undecided_regions(ev, mesh, op, inputs, point_tol, max_regions, bar)
    return None


def _undecided_regions(
    ev: Evaluator,
    mesh: Mesh,
    op: Op,
    inputs: _VertexInputs,
    point_tol: float,
    max_regions: int,
    bar: Progress,
) -> Mesh:
    """The last argmax, cut on its undecided regions only
    (:func:`~regionscope.compute.undecided_regions.cut_undecided_regions`), with the
    driver's progress and region-limit messages."""

    def report(cur: Mesh, units: int) -> None:
        bar.update(f"layer {op.index} ({op.name})", cur.num_regions, units)

    inputs.to_host()
    x, _, _ = inputs.take(op, False)
    try:
        return cut_undecided_regions(ev, mesh, op, x, point_tol, max_regions, report)
    except RegionLimitError as exc:
        where = f"layer {op.index} ({op.name})" + (f", {exc.where}" if exc.where else "")
        raise RegionLimitError(exc.count, exc.limit, where) from None


def cut_2d(
    ev: Evaluator,
    domain: Domain2D,
    mesh: Mesh,
    start: int,
    *,
    progress: bool | None = False,
    max_regions: int = DEFAULT_MAX_REGIONS,
    start_input: np.ndarray | None = None,
) -> tuple[Mesh, dict[int, float]]:
    """Cut ``mesh`` by the piecewise ops of ``ev.program`` from op ``start`` on (the first
    one's input at the vertices, ``(V, in_width) float64``, may be given: ``start_input``).

    Returns the mesh and the seconds spent on each piecewise op.  Before cutting a fresh
    mesh, the first layer's lines are counted (:func:`~.estimate.first_layer_estimate`):
    a run that would pass ``max_regions`` stops at once, and ``progress=None`` shows
    progress on a terminal when the run will be long.  Strict mode
    (:func:`regionscope.tolerances.tolerance`) checks the mesh after every layer.
    """
    program = ev.program
    plan = stage_plan(program, start)
    budget = get_budget()
    preload_kernels()
    total_units = sum(
        program.ops[i].layer.num_units(program.ops[i].in_width)  # type: ignore[attr-defined]
        for i, _ in plan
    )
    est = None
    if start <= ev.prefix and mesh.num_regions == 1:
        # counted exactly only when it could matter: a limit, a long run, a report
        above = None if progress else min(max_regions, LONG_RUN - 1)
        est = first_layer_estimate(ev, domain.polygon, above)
    if est is not None and est.floor and est.regions > max_regions:
        raise RegionLimitError(
            est.regions, max_regions, f"layer {est.layer} ({est.name}), known before cutting"
        )
    if progress is None:  # show it where a person waits for a long run
        progress = bool(est is not None and est.regions >= LONG_RUN and sys.stderr.isatty())
    bar = Progress(progress, total_units)
    if est is not None:
        bar.note(est.describe())
    seconds: dict[int, float] = {}
    point_tol = get_tolerance().point_rtol * domain.diameter
    strict = get_tolerance().strict
    last_piecewise = plan[-1][0] if plan else -1
    inputs = _VertexInputs(ev, budget, domain.polygon)
    inputs.preload(plan, mesh, start_input)
    restricted = -1  # the max layer cut on its undecided groups, all stages at once
    try:
        with np.errstate(over="ignore", invalid="ignore"):  # overflow: refused by check_finite
            for index, stage in plan:
                t0 = time.perf_counter()
                op = program.ops[index]
                layer: Any = op.layer
                last_stage = stage == layer.num_stages(op.in_width) - 1
                affine = affine_input(ev, op)
                if affine is not None:  # a max layer on an affine input: all stages at once
                    if stage == 0:
                        mesh = _windowed(ev, mesh, op, affine, point_tol, max_regions, bar)
                        inputs.forget()
                        _finish_layer(mesh, domain, op, stage, strict, seconds, t0)
                    continue
                if stage == 0:
                    inputs.start_layer(mesh, op)
                    coincident: list[np.ndarray] = []
                    last = index == last_piecewise
                    whole = _whole_layer(ev, mesh, op, inputs, last, point_tol, max_regions, bar)
                    if whole is not None:
                        mesh, restricted = whole, index
                        _finish_layer(mesh, domain, op, stage, strict, seconds, t0)
                if index == restricted:
                    continue
                n_units = layer.num_units(op.in_width)
                codes = encode_source(index, layer.unit_of(stage, np.arange(n_units)))
                unit_tol = np.broadcast_to(ev.unit_tol[index], (n_units,))
                live = inputs.live_units(op)  # a ReLU layer's units that can cut, or None
                u0 = 0
                while u0 < n_units:
                    u1 = u0 + unit_groups(n_units - u0, mesh, budget)
                    sel: Any = slice(u0, u1)
                    if live is not None and inputs.x is not None:  # the live ones only
                        sel = live[np.searchsorted(live, u0) : np.searchsorted(live, u1)]
                        z, winners = inputs.columns(sel), None
                    else:
                        z, winners = inputs.stage_values(mesh, op, stage, sel)
                        check_finite(z, op)
                    keep = disagreeing(mesh, winners) if winners is not None else None
                    try:
                        res = cut(
                            mesh,
                            z,
                            unit_tol[sel],
                            codes[sel],
                            point_tol,
                            max_regions,
                            pair_filter=keep,
                        )
                    except RegionLimitError as exc:
                        where = f"layer {index} ({op.name})" + (
                            f", {exc.where}" if exc.where else ""
                        )
                        raise RegionLimitError(exc.count, exc.limit, where) from None
                    coincident.append(res.coincident)
                    del z, keep
                    mesh = res.mesh
                    bar.update(f"layer {index} ({op.name})", mesh.num_regions, u1 - u0)
                    more = u1 < n_units or not last_stage or layer.merge  # merge needs x
                    inputs.after_cut(res, op, index != last_piecewise, more)
                    u0 = u1
                if last_stage and layer.merge:
                    inputs.to_host()
                    mesh, kept = merge_layer(ev, mesh, index, inputs.x, np.concatenate(coincident))
                    inputs.after_merge(kept)
                _finish_layer(mesh, domain, op, stage, strict, seconds, t0)
    finally:
        bar.close()
    if mesh.num_regions > max_regions:
        raise RegionLimitError(mesh.num_regions, max_regions)
    return mesh, seconds
