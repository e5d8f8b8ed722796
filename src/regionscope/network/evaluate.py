"""A compiled program bound to a domain: chunked forward passes and the snapping rule.

An :class:`Evaluator` is built once per partition.  It maps domain
coordinates to network inputs (the domain's ``lift``), runs the program in
chunks that fit the memory budget, and holds each piecewise layer's unit
tolerances, so that every sign regionscope decides (in a cut or in a
pattern) follows the one rule of :mod:`regionscope.tolerances`.  It also
composes each region's affine map exactly (:meth:`Evaluator.affine_maps`).

Examples
--------
>>> import numpy as np
>>> from regionscope.network.layers import Linear, ReLU, Sequential
>>> from regionscope.network.program import compile_model
>>> net = Sequential(Linear([[1e12, 0.0], [0.0, 1.0]]), ReLU())
>>> square = np.array([[-1.0, -1.0], [1.0, -1.0], [1.0, 1.0], [-1.0, 1.0]])
>>> ev = Evaluator(compile_model(net, 2), lambda u: u, square)
>>> ev.unit_tol[1].tolist()                     # one tolerance per unit, by its own scale
[10.0, 1e-11]
>>> ev.patterns(np.array([[0.5, 1e-3]]))[1]    # a small positive unit is on
array([[ True,  True]])
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from regionscope.geometry.arrays import expand, frozen, read_only
from regionscope.geometry.kernels import compiled_maxes
from regionscope.tolerances import Tolerance, get_budget, get_tolerance

from .corners import VertexWords, combine_words, on_own_sides
from .layers import ReLU
from .program import Op, Program

__all__ = ["Evaluator", "affine_of"]


def affine_of(lift: Callable[[np.ndarray], np.ndarray], dim: int) -> tuple[np.ndarray, np.ndarray]:
    """``(linear (dim, D), offset (D,))`` of an affine ``lift``, from its values at 0 and at
    the unit vectors: exact when those values are (as for the identity), a finite
    difference otherwise.

    >>> [a.tolist() for a in affine_of(lambda u: 2 * u + 1, 1)]
    [[[2.0]], [1.0]]
    """
    zero = lift(np.zeros((1, dim)))[0]
    return lift(np.eye(dim)) - zero, zero


class Evaluator:
    """A :class:`~regionscope.network.program.Program` evaluated at domain points.

    Parameters
    ----------
    program : Program
    lift : callable
        Domain coordinates ``(N, dim)`` to network inputs ``(N, in_width)``.
    corners : (K, dim) float64
        Corners of the (convex) domain: the unit scales are their largest
        there.
    lift_affine : tuple, optional
        The lift as ``(linear (dim, D), offset (D,))``: ``lift(u) = u @ linear
        + offset``.  The magnitudes start from ``|u| @ |linear| + |offset|``
        (the terms of the lift itself), and affine maps start from it.
        Without it, from ``|lift(u)|`` and differences of the lift.

    Attributes
    ----------
    unit_tol : dict
        ``{op index: (units,) float64}``: the absolute tolerance of each unit
        of each piecewise op (see :meth:`Layer.magnitude
        <regionscope.network.layers.Layer.magnitude>`).
    output_tol : (out_width,) float64
        The same for each output of the network (for zero sets of outputs).
    """

    def __init__(
        self,
        program: Program,
        lift: Callable[[np.ndarray], np.ndarray],
        corners: np.ndarray,
        lift_affine: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> None:
        self.program = program
        self.lift = lift
        corners = np.asarray(corners, dtype=np.float64)
        if lift_affine is None:
            lift_affine = affine_of(lift, corners.shape[1])
        self.lift_linear = frozen(lift_affine[0])
        self.lift_offset = frozen(lift_affine[1])
        self.unit_tol, self.output_tol = self._unit_tolerances(corners)
        self.prefix, self.prefix_maps = self._fold_prefix()

    @classmethod
    def assemble(
        cls,
        program: Program,
        lift: Callable[[np.ndarray], np.ndarray],
        lift_affine: tuple[np.ndarray, np.ndarray],
        tolerances: tuple[dict[int, np.ndarray], np.ndarray],
        prefix: tuple[int, dict[int, tuple[np.ndarray, np.ndarray]]],
    ) -> Evaluator:
        """An evaluator from what a driver computed itself, as the constructor would.

        For a driver that runs the constructor's arithmetic itself
        (:func:`regionscope.compute.line.chain_1d`, in a compiled kernel):
        ``lift_affine`` as :attr:`lift_linear`, :attr:`lift_offset` (read-only
        float64 arrays), ``tolerances`` as ``(unit_tol, output_tol)``, ``prefix``
        as ``(prefix, prefix_maps)``.  Nothing is checked or recomputed: they must
        be what ``Evaluator(program, lift, corners, lift_affine)`` computes, by the
        same rules (the sums of the magnitudes and of the folded maps may be added
        in another order: the same numbers up to rounding).

        >>> from regionscope.network.layers import Linear, ReLU, Sequential
        >>> from regionscope.network.program import compile_model
        >>> prog = compile_model(Sequential(Linear([[2.0]]), ReLU()), 1)
        >>> ev = Evaluator(prog, lambda u: u, np.array([[-1.0], [1.0]]))
        >>> same = Evaluator.assemble(prog, ev.lift, (ev.lift_linear, ev.lift_offset),
        ...                           (ev.unit_tol, ev.output_tol), (ev.prefix, ev.prefix_maps))
        >>> same.unit_tol[1].tolist(), same.prefix
        ([2e-11], 1)
        """
        ev = cls.__new__(cls)
        ev.program, ev.lift = program, lift
        ev.lift_linear, ev.lift_offset = lift_affine
        ev.unit_tol, ev.output_tol = tolerances
        ev.prefix, ev.prefix_maps = prefix
        return ev

    def _fold_prefix(self) -> tuple[int, dict[int, tuple[np.ndarray, np.ndarray]]]:
        """The ops before the first piecewise op, folded into affine maps of the domain point.

        Returns ``(p, maps)``: ops ``[0, p)`` are affine, and ``maps`` holds,
        for every register the ops from ``p`` on read before writing, its map
        ``(linear (dim, width), offset (width,))`` composed exactly from the
        lift's (:meth:`affine_maps` does the same per region).  Forward passes
        then start at op ``p`` from ``u @ linear + offset``: the lift to the
        network's input space and the affine layers (linear, convolution,
        batch-norm, pooling by averages...) cost ``2 * width`` per point.
        ``p = 0`` (nothing folded) when the first op is piecewise.
        """
        ops = self.program.ops
        p = 0
        for o in ops:
            if o.layer.piecewise:
                break
            p += 1
        if p == 0:
            return 0, {}
        dim = self.lift_linear.shape[0]
        regs = {0: (np.array(self.lift_linear), self.lift_offset[None, :])}
        for o in ops[:p]:
            regs[o.output] = _affine_op(o, [regs[r] for r in o.inputs], None, 0, dim)
        live = {r for o in ops[p:] for r in o.inputs if r in regs}
        if p == len(ops):
            live.add(self.program.out_register)
        return p, {r: (read_only(regs[r][0]), read_only(regs[r][1][0])) for r in live}

    def run(
        self,
        coords: np.ndarray,
        stop: int | None = None,
        register: int | None = None,
        collect: Callable[[Op, np.ndarray, list[np.ndarray]], None] | None = None,
        patterns: dict[int, np.ndarray] | None = None,
    ) -> np.ndarray:
        """The program at domain points ``coords (N, dim)`` (see :meth:`Program.run
        <regionscope.network.program.Program.run>`), from the folded prefix when the
        ops asked for come after it."""
        start = self.prefix
        folded = register is None or register in self.prefix_maps
        folded = folded or register not in self._prefix_registers()
        if start and (stop is None or stop >= start) and folded:
            regs = {r: coords @ lin + off for r, (lin, off) in self.prefix_maps.items()}
            return self.program.run(
                coords, stop, patterns, collect, register, start=start, registers=regs
            )
        return self.program.run(self.lift(coords), stop, patterns, collect, register)

    def _prefix_registers(self) -> set[int]:
        """Registers written by the folded ops."""
        return {o.output for o in self.program.ops[: self.prefix]} | {0}

    def affine_register(self, register: int) -> tuple[np.ndarray, np.ndarray] | None:
        """``(linear (dim, width), offset (width,))`` of a register that is one affine map of
        the domain point for the ops from :attr:`prefix` on (folded, or the input itself when
        nothing is folded); ``None`` for a register that ops from the prefix on compute."""
        if register in self.prefix_maps:
            return self.prefix_maps[register]
        if register == 0 and self.prefix == 0:
            return self.lift_linear, self.lift_offset
        return None

    def live_registers(self, index: int) -> tuple[int, ...]:
        """Registers that ops ``[index, ...)`` read and ops before ``index`` wrote (or the
        input): what a forward pass must hand over at op ``index``."""
        ops = self.program.ops
        writer = {o.output: o.index for o in ops}
        reads = {r for o in ops[index:] for r in o.inputs}
        return tuple(sorted(r for r in reads if writer.get(r, -1) < index))

    def stored_registers(self, index: int) -> tuple[int, ...]:
        """:meth:`live_registers` at op ``index`` that are not affine maps of the domain point
        (those are recomputed from their map, ``2 * width`` per point, never stored); kept
        per index (the driver asks several times a layer)."""
        known = self._stored.get(index)
        if known is None:
            known = tuple(r for r in self.live_registers(index) if self.affine_register(r) is None)
            self._stored[index] = known
        return known

    @functools.cached_property
    def _stored(self) -> dict[int, tuple[int, ...]]:
        """:meth:`stored_registers` found so far, by op index."""
        return {}

    def forward_registers(self, coords: np.ndarray, index: int) -> dict[int, np.ndarray]:
        """The :meth:`stored_registers` at op ``index``, ``{register: (N, width)}``, in one
        chunked forward pass from the folded prefix."""
        ops = self.program.ops
        wanted = self.stored_registers(index)
        out = {r: np.empty((len(coords), self.program.register_width(r))) for r in wanted}
        if not wanted:
            return out
        first = self.prefix if index >= self.prefix else 0
        # the folded registers go into buffers kept across chunks (no fresh pages each
        # chunk); a ReLU that frees its folded input overwrites it (the same values)
        step = max(1, get_budget().chunk_values // max(self.program.max_width, 1))
        step = min(step, len(coords))
        maps = self.prefix_maps if first else {}
        buffers = {r: np.empty((step, lin.shape[1])) for r, (lin, _) in maps.items()}
        for sl in self.chunks(len(coords)):
            regs: dict[int, np.ndarray] = {}
            if first:
                for r, (lin, off) in self.prefix_maps.items():
                    regs[r] = buffers[r][: sl.stop - sl.start]
                    np.matmul(coords[sl], lin, out=regs[r])
                    regs[r] += off
            else:
                regs = {0: self.lift(coords[sl])}
            direct = set()  # wanted registers written straight into their table
            for o in ops[first:index]:
                args = [regs[r] for r in o.inputs]
                own = o.inputs[0] in buffers and o.inputs[0] in self.program.frees[o.index]
                if type(o.layer) is ReLU and own and o.inputs[0] not in wanted:
                    regs[o.output] = np.maximum(args[0], 0.0, out=args[0])
                elif o.output in out and hasattr(o.layer, "forward_into"):
                    regs[o.output] = o.layer.forward_into(*args, out=out[o.output][sl])
                    direct.add(o.output)
                else:
                    regs[o.output] = o.layer.forward(*args)
                for r in self.program.frees[o.index]:
                    if r not in wanted:
                        regs.pop(r, None)
            for r in wanted:
                if r not in direct:
                    out[r][sl] = regs[r]
        return out

    def _unit_tolerances(self, corners: np.ndarray) -> tuple[dict[int, np.ndarray], np.ndarray]:
        """The unit magnitudes at the corners, through every op (:meth:`Layer.magnitude
        <regionscope.network.layers.Layer.magnitude>`), their largest per unit, and the
        tolerances of those scales (``max`` as ``np.maximum.reduce``, the same reduction)."""
        tol = get_tolerance()
        # Tolerance.unit_tolerance(scale) is value_rtol * scale, the scales being float64 arrays
        rtol = tol.value_rtol if type(tol).unit_tolerance is Tolerance.unit_tolerance else None
        mags = np.abs(corners) @ np.abs(self.lift_linear) + np.abs(self.lift_offset)
        regs: dict[int, np.ndarray] = {0: mags}
        out: dict[int, np.ndarray] = {}
        largest = np.maximum.reduce
        with np.errstate(over="ignore", invalid="ignore"):
            for op in self.program.ops:
                layer: Any = op.layer
                inputs = op.inputs
                mag = regs[inputs[0]]
                if layer.piecewise:
                    scale = largest(layer.unit_scale(mag), axis=0, initial=0.0)
                    out[op.index] = tol.unit_tolerance(scale) if rtol is None else rtol * scale
                if len(inputs) == 1:
                    regs[op.output] = layer.magnitude(mag)
                else:
                    regs[op.output] = layer.magnitude(*[regs[r] for r in inputs])
        last = regs[self.program.out_register] if self.program.ops else regs[0]
        return out, tol.unit_tolerance(largest(last, axis=0, initial=0.0))

    # -- chunked passes ------------------------------------------------------------------

    def _chunk_rows(self) -> int:
        return max(1, get_budget().chunk_values // max(self.program.max_width, 1))

    def chunks(self, n: int) -> Iterator[slice]:
        """Slices of ``n`` points small enough for the chunk budget."""
        step = self._chunk_rows()
        for i in range(0, n, step):
            yield slice(i, min(n, i + step))

    def values(
        self,
        coords: np.ndarray,
        register: int,
        stop: int,
        patterns: dict[int, np.ndarray] | None = None,
    ) -> np.ndarray:
        """Values ``(N, width)`` of ``register`` at domain points, running ops ``[0, stop)``.

        With ``patterns`` (``{op index: (N, ...)}``), those piecewise ops apply
        the affine piece the pattern selects.
        """
        out = np.empty((len(coords), self.program.register_width(register)))
        for sl in self.chunks(len(coords)):
            pats = None if patterns is None else {k: v[sl] for k, v in patterns.items()}
            out[sl] = self.run(coords[sl], stop=stop, register=register, patterns=pats)
        return out

    def output(self, coords: np.ndarray, index: int) -> np.ndarray:
        """Output ``(N, width)`` of op ``index`` at domain points."""
        return self.values(coords, self.program.ops[index].output, index + 1)

    def layer_input(self, coords: np.ndarray, index: int) -> np.ndarray:
        """Input ``(N, width)`` of op ``index`` at domain points."""
        return self.values(coords, self.program.ops[index].inputs[0], index)

    def pattern(self, op: Op, x: np.ndarray, units: slice | None = None) -> np.ndarray:
        """Pattern of piecewise op ``op`` for its input values ``x``, with its unit tolerances
        (rows at a time within the chunk budget, as :meth:`chunks` cuts them)."""
        layer: Any = op.layer
        tol = self.unit_tol[op.index]
        if len(x) <= self._chunk_rows():
            return layer.pattern(x, units, tol)
        return np.concatenate([layer.pattern(x[sl], units, tol) for sl in self.chunks(len(x))])

    def layer_pattern(self, coords: np.ndarray, index: int) -> np.ndarray:
        """Pattern of piecewise op ``index`` at domain points."""
        op = self.program.ops[index]
        parts = [
            self.pattern(op, self.run(coords[sl], stop=index, register=op.inputs[0]))
            for sl in self.chunks(len(coords))
        ]
        if parts:
            return np.concatenate(parts)
        return np.zeros((0, 1), dtype=op.layer.pattern_dtype)  # type: ignore[attr-defined]

    def patterns(self, coords: np.ndarray) -> dict[int, np.ndarray]:
        """Pattern of every piecewise op at domain points, in one forward pass per chunk."""
        return self.patterns_decided(coords)[0]

    def patterns_decided(
        self, coords: np.ndarray
    ) -> tuple[dict[int, np.ndarray], dict[int, np.ndarray]]:
        """Patterns at domain points, and which of their entries are decided.

        An entry is decided when no value within its unit's tolerance could
        change it (:meth:`~regionscope.network.layers.Piecewise.decided`):
        then it is the pattern of the region the point lies in.
        """
        pats: dict[int, list[np.ndarray]] = {i: [] for i in self.program.piecewise}
        sure: dict[int, list[np.ndarray]] = {i: [] for i in self.program.piecewise}

        def grab(op: Op, out: np.ndarray, args: list[np.ndarray]) -> None:
            if op.layer.piecewise:
                layer: Any = op.layer
                pats[op.index].append(self.pattern(op, args[0]))
                sure[op.index].append(layer.decided(args[0], self.unit_tol[op.index]))

        for sl in self.chunks(len(coords)):
            self.run(coords[sl], collect=grab)

        def joined(parts: dict[int, list[np.ndarray]]) -> dict[int, np.ndarray]:
            return {
                i: np.concatenate(p) if p else np.zeros((0, 0), bool) for i, p in parts.items()
            }

        return joined(pats), joined(sure)

    def region_patterns(
        self,
        coords: np.ndarray,
        region_vertices: np.ndarray,
        region_offsets: np.ndarray,
        interior: np.ndarray,
        indices: tuple[int, ...] | None = None,
        incidence_source: np.ndarray | None = None,
        inputs: np.ndarray | None = None,
        zero_units: dict[int, np.ndarray] | None = None,
    ) -> dict[int, np.ndarray]:
        """The pattern of every region, from the values at its corners.

        Parameters
        ----------
        coords : (V, dim) float64
            The vertices.
        region_vertices, region_offsets : (I,) and (F+1,) int64
            Each region's corners (ragged).
        interior : (F, dim) float64
            A point inside each region (used only where the corners leave a
            max layer's winner undetermined).
        indices : tuple of int, optional
            The piecewise ops wanted (default: all).
        incidence_source : (I,) int64, optional
            What made the side leaving each corner
            (:func:`~regionscope.geometry.encode_source`).  A corner on a side
            made by a unit lies on that unit's zero set, up to snapping: it
            says nothing about the region's side of it, and is left out of
            that unit's evidence.
        inputs : (V, in_width) float64, optional
            With a single op in ``indices``: its input at the vertices, known
            already (no forward pass is run).
        zero_units : dict, optional
            ``{op index: (k,) int}``: units zero on the whole domain (within
            their tolerance everywhere).  No corner says anything about them,
            so they are off in every region.

        Returns
        -------
        dict
            ``{op index: (F, pattern_width) pattern}``.

        Notes
        -----
        A region's pattern combines its corners' :meth:`corner_bits
        <regionscope.network.layers.Piecewise.corner_bits>`, so it is the
        pattern the cut made even for a region thinner than the tolerance,
        whose interior points are all within rounding of a unit's zero.
        """
        ops = self.program.ops
        wanted = self.program.piecewise if indices is None else tuple(indices)
        nregions = len(region_offsets) - 1
        out = {i: np.empty((nregions, 0), dtype=np.int64) for i in wanted}
        parts: dict[int, list[np.ndarray]] = {i: [] for i in wanted}
        # regions in groups whose vertices' packed bits fit the table budget: each vertex
        # of a group is evaluated once (by forward passes of chunk_values), its bits packed
        words = sum(-(-ops[i].out_width * 8 // 64) + 2 for i in wanted)
        step = max(1, get_budget().table_values // max(words, 1))
        step = max(step, get_budget().chunk_values // max(self.program.max_width, 1))
        f0 = 0
        while f0 < nregions:
            f1 = int(np.searchsorted(region_offsets, region_offsets[f0] + step, side="right")) - 1
            f1 = min(max(f1, f0 + 1), nregions)
            corners = region_vertices[region_offsets[f0] : region_offsets[f1]]
            verts, local = np.unique(corners, return_inverse=True)
            starts = region_offsets[f0:f1] - region_offsets[f0]
            packed = self._vertex_words(coords, verts, wanted, inputs, zero_units)
            sources = None
            if incidence_source is not None:
                sources = incidence_source[region_offsets[f0] : region_offsets[f1]]
            for i, vw in packed.items():
                on_sides = None if sources is None else on_own_sides(sources, starts, i)
                combined = combine_words(vw, local, starts, on_sides)
                parts[i].append(ops[i].layer.pattern_from_bits(combined))  # type: ignore[attr-defined]
            f0 = f1
        for i in wanted:
            if parts[i]:
                out[i] = np.concatenate(parts[i])
        self._settle_undetermined(out, interior)
        return out

    def _vertex_words(
        self,
        coords: np.ndarray,
        verts: np.ndarray,
        wanted: tuple[int, ...],
        inputs: np.ndarray | None,
        zero_units: dict[int, np.ndarray] | None,
    ) -> dict[int, VertexWords]:
        """The corner bits of the ops ``wanted`` at the vertices ``verts``, packed
        (:class:`~regionscope.network.corners.VertexWords`): one forward pass per chunk of
        vertices, or the op's ``inputs`` at the vertices when given."""
        ops = self.program.ops
        zero = {} if zero_units is None else zero_units
        found: dict[int, list[VertexWords]] = {i: [] for i in wanted}

        def grab(op: Op, result: np.ndarray, args: list[np.ndarray]) -> None:
            if op.index in found:
                layer: Any = op.layer
                bits = layer.corner_bits(args[0], self.unit_tol[op.index])
                found[op.index].append(VertexWords(layer, op.in_width, bits, zero.get(op.index)))

        if inputs is not None:
            (only,) = wanted
            grab(ops[only], inputs[verts], [inputs[verts]])
        else:
            stop = max(wanted, default=-1) + 1
            for sl in self.chunks(len(verts)):
                self.run(coords[verts[sl]], stop=stop, collect=grab)
        return {i: VertexWords.join(p) for i, p in found.items() if p}

    def group_winners(
        self,
        index: int,
        x: np.ndarray | None,
        region_vertices: np.ndarray,
        region_offsets: np.ndarray,
        regions: np.ndarray,
        groups: np.ndarray,
        coords: np.ndarray | None = None,
        restricted: tuple[Any, np.ndarray] | None = None,
    ) -> np.ndarray:
        """The winner of group ``groups[q]`` of max op ``index`` in region ``regions[q]``.

        From the op's input at the vertices, ``x (V, in_width)``, or, without
        it, computed at the vertices ``coords`` for the groups' inputs only:
        the first input that is a candidate (within the group's tolerance of
        its largest) at every corner of the region, as :meth:`region_patterns`
        finds it; ``-1`` where no input is.  The work is proportional to the
        queries, not to regions times groups.  ``restricted = (layer, tol)``
        replaces the op's layer and unit tolerances by those of a layer on some
        of its groups (:func:`~regionscope.compute.undecided.restrict_groups`):
        ``x`` and ``groups`` are then that layer's own.

        Returns
        -------
        (Q,) int64
        """
        layer: Any = self.program.ops[index].layer
        tol = self.unit_tol[index]
        if restricted is not None:
            layer, tol = restricted
        if x is not None and (fast := compiled_maxes(x)) is not None:  # the same, one pass
            return fast.winners_at_corners(layer, x, region_vertices, region_offsets, regions,
                                           groups, tol)  # fmt: skip
        sizes = np.diff(region_offsets)[regions]
        if len(regions) == 0:
            return np.zeros(0, dtype=np.int64)
        own, k = expand(sizes)
        corners = region_vertices[region_offsets[regions][own] + k]
        if x is not None:
            cand = layer.group_candidates(x, corners, groups[own], tol)
        elif restricted is not None:
            raise ValueError("group_winners on restricted groups needs the input x")
        else:
            if coords is None:
                raise ValueError("group_winners needs the input x or the vertices coords")
            cand = self._candidates_at_corners(index, coords, corners, groups[own])
        every = np.logical_and.reduceat(cand, np.append(0, np.cumsum(sizes)[:-1]), axis=0)
        return np.where(every.any(axis=1), every.argmax(axis=1), -1)

    def _candidates_at_corners(
        self, index: int, coords: np.ndarray, corners: np.ndarray, group: np.ndarray
    ) -> np.ndarray:
        """``(R, k) bool``: the candidates of group ``group[i]`` of max op ``index`` at vertex
        ``corners[i]``, its input computed once per distinct vertex, for the columns those
        groups read only (in blocks of rows that bound the table)."""
        layer: Any = self.program.ops[index].layer
        in_width = self.program.ops[index].in_width
        columns = layer.group_columns(group, in_width)
        k = max(columns.shape[1], 1)
        step = max(1, get_budget().chunk_values // min(in_width, 64 * k))
        cand = np.empty(columns.shape, dtype=bool)
        for s in range(0, len(corners), step):
            part = slice(s, s + step)
            cols = columns[part]
            verts, vrow = np.unique(corners[part], return_inverse=True)
            used, crow = np.unique(np.maximum(cols, 0), return_inverse=True)
            sub = self.columns_at(coords[verts], index, used)
            vals = sub[vrow.reshape(-1, 1), crow.reshape(cols.shape)]
            cand[part] = layer.candidates_of(vals, cols, group[part], self.unit_tol[index])
        return cand

    def _settle_undetermined(self, pats: dict[int, np.ndarray], interior: np.ndarray) -> None:
        """Where corners left a winner undetermined (``-1``), take the pattern inside."""
        rows = np.unique(
            np.concatenate([np.flatnonzero((p < 0).any(axis=1)) for p in pats.values()] or [[]])
        ).astype(np.int64)
        if len(rows) == 0:
            return
        inside = self.patterns(interior[rows])
        for i, p in pats.items():
            bad = (p[rows] < 0).any(axis=1)
            p[rows[bad]] = inside[i][bad]

    def columns_at(self, coords: np.ndarray, index: int, columns: np.ndarray) -> np.ndarray:
        """Columns ``columns (k,)`` of op ``index``'s input at domain points, ``(N, k)``, in
        chunks: from the folded map when the input is folded, from the op before when it
        computes the input (:meth:`~regionscope.network.layers.Layer.forward_columns`),
        else by a forward pass."""
        op = self.program.ops[index]
        prev = self.program.ops[index - 1] if index else None
        direct = prev is not None and prev.output == op.inputs[0] and len(prev.inputs) == 1
        out = np.empty((len(coords), len(columns)))
        folded = self.prefix_maps.get(op.inputs[0]) if index >= self.prefix else None
        if folded is not None:
            lin, off = folded[0][:, columns], folded[1][columns]
        for sl in self.chunks(len(coords)):
            if folded is not None:
                out[sl] = coords[sl] @ lin + off
            elif direct:
                before = self.run(coords[sl], stop=index - 1, register=prev.inputs[0])
                out[sl] = prev.layer.forward_columns(before, columns)
            else:
                out[sl] = self.run(coords[sl], stop=index, register=op.inputs[0])[:, columns]
        return out

    def stage_values(
        self, coords: np.ndarray, index: int, stage: int, units: slice
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """Some units of a stage of op ``index`` at domain points, streamed in chunks.

        Returns the values ``(N, units)`` and, for layers that merge (max,
        argmax), the winner of each of those groups at each point.
        """
        op = self.program.ops[index]
        layer: Any = op.layer
        columns, sub = layer.restrict(units, op.in_width)
        tol = self.unit_tol[index][units]
        out = np.empty((len(coords), units.stop - units.start))
        winners = np.empty(out.shape, dtype=np.int64) if layer.merge else None
        for sl in self.chunks(len(coords)):
            x = self.columns_at(coords[sl], index, columns)
            out[sl] = sub.stage_values(x, stage)
            if winners is not None:
                winners[sl] = sub.pattern(x, None, tol)
        return out, winners

    # -- affine maps ---------------------------------------------------------------------

    def affine_maps(
        self,
        index: int,
        patterns: dict[int, np.ndarray],
        lift_linear: np.ndarray,
        lift_offset: np.ndarray,
        num_regions: int | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """The affine map of op ``index``'s output on each region, composed exactly.

        Each register holds a map ``u -> u @ A + c`` of the domain point
        ``u``: register 0 the lift's, and each op maps ``A``'s rows with its
        linear part (:meth:`~regionscope.network.layers.Layer.forward_linear`;
        for a piecewise op, that of the piece the region's pattern selects,
        :meth:`~regionscope.network.layers.Piecewise.forward_pattern_linear`)
        and ``c`` with the whole layer (or piece).  No point is evaluated, so
        the maps carry no finite-difference error at any scale.

        Parameters
        ----------
        index : int
            The op whose output is described.
        patterns : dict
            ``{op index: (F, ...) pattern}`` of each region, for every
            piecewise op up to ``index``.
        lift_linear : (dim, in_width) float64
        lift_offset : (in_width,) float64
            The lift as ``lift(u) = u @ lift_linear + lift_offset``.
        num_regions : int, optional
            ``F``; needed only when ``patterns`` is empty.

        Returns
        -------
        A : (F, width, dim) float64
        c : (F, width) float64
            On region ``f`` the output is ``A[f] @ u + c[f]``.

        Examples
        --------
        >>> import numpy as np
        >>> from regionscope.network.layers import Linear, ReLU, Sequential
        >>> from regionscope.network.program import compile_model
        >>> net = Sequential(Linear([[2.0, -1.0]], [1.0]), ReLU())
        >>> square = np.array([[-1.0, -1.0], [1.0, -1.0], [1.0, 1.0], [-1.0, 1.0]])
        >>> ev = Evaluator(compile_model(net, 2), lambda u: u, square)
        >>> A, c = ev.affine_maps(1, {1: np.array([[True], [False]])}, np.eye(2), np.zeros(2))
        >>> A[:, 0], c[:, 0]
        (array([[ 2., -1.],
               [ 0.,  0.]]), array([1., 0.]))
        """
        lin = np.asarray(lift_linear, dtype=np.float64)
        off = np.asarray(lift_offset, dtype=np.float64).reshape(-1)
        dim = lin.shape[0]
        if lin.shape != (dim, self.program.in_width) or off.shape != (self.program.in_width,):
            raise ValueError(
                f"the lift's map must be (dim, {self.program.in_width}) and "
                f"({self.program.in_width},), got {lin.shape} and {off.shape}"
            )
        pats = {i: p for i, p in patterns.items() if i <= index}
        if num_regions is None:
            if not pats:
                raise ValueError("affine_maps needs num_regions when there are no patterns")
            num_regions = len(next(iter(pats.values())))
        op = self.program.ops[index]
        folded = (
            self.prefix > 0
            and index >= self.prefix
            and np.array_equal(lin, self.lift_linear)
            and np.array_equal(off, self.lift_offset)
        )
        a = np.empty((num_regions, op.out_width, dim))
        c = np.empty((num_regions, op.out_width))
        rows = (dim + 1) * max(self.program.max_width, 1)
        step = max(1, get_budget().chunk_values // rows)
        for s in range(0, num_regions, step):
            n = min(step, num_regions - s)
            # rows f * dim + j, f; from the folded prefix when the lift is the evaluator's own
            first = self.prefix if folded else 0
            start_maps = self.prefix_maps if folded else {0: (lin, off)}
            regs = {
                r: (np.tile(a, (n, 1)), np.tile(b, (n, 1))) for r, (a, b) in start_maps.items()
            }
            for o in self.program.ops[first : index + 1]:
                pat = pats.get(o.index) if o.layer.piecewise else None
                if o.layer.piecewise and pat is None:
                    raise ValueError(f"affine_maps needs the pattern of layer {o.index}")
                regs[o.output] = _affine_op(o, [regs[r] for r in o.inputs], pat, s, dim)
                for r in self.program.frees[o.index]:
                    regs.pop(r, None)
            lin_out, off_out = regs[op.output]
            a[s : s + n] = lin_out.reshape(n, dim, -1).transpose(0, 2, 1)
            c[s : s + n] = off_out
        return a, c


def _affine_op(
    op: Op,
    maps: list[tuple[np.ndarray, np.ndarray]],
    pattern: np.ndarray | None,
    start: int,
    dim: int,
) -> tuple[np.ndarray, np.ndarray]:
    """One op applied to the affine maps ``(A rows (n * dim, w), c (n, w))`` of its inputs,
    for the ``n`` regions from ``start`` (``pattern``: all regions' pattern of a piecewise op)."""
    layer: Any = op.layer
    try:
        if pattern is None:
            return layer.forward_linear(*(m[0] for m in maps)), layer.forward(
                *(m[1] for m in maps)
            )
        (lin, off), n = maps[0], len(maps[0][1])
        pat = pattern[start : start + n]
        return (
            layer.forward_pattern_linear(lin, np.repeat(pat, dim, axis=0)),
            layer.forward_pattern(off, pat),
        )
    except Exception as exc:
        if hasattr(exc, "add_note"):  # Python >= 3.11
            exc.add_note(f"in layer {op.index} ({op.name}: {type(layer).__name__})")
        raise
