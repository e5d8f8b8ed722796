"""A max layer on a stored input, cut by the groups left undecided somewhere only.

A max layer (max-pooling, maxout) is cut stage by stage; each stage cuts a
region by a group only where the region's corners disagree on the group's
winner (the pair filter :func:`~regionscope.compute.pairs.disagreeing`).
The layer's input is affine on each region of the mesh it starts from, so a
group whose winner is the same at every corner of a region keeps it on the
whole region, and on every piece that the layer's own cuts make of it.  On
a window of a convolutional network most groups are like that on every
region: they can never cut, and need no stage values, no winners at new
vertices, no interpolated inputs.

So, when the layer starts (:func:`cut_undecided`): the groups' winners at
the vertices, once; the groups whose winner changes along some side of a
region (:func:`~regionscope.compute.tables.undecided_groups`); a layer on
those groups alone, reading only their inputs (:func:`restrict_groups`).
Its stages are cut exactly as the driver cuts the whole layer's (the same
values, tolerances, source codes and pair filter for those groups; the
others have no pair to cut), and merged by
:func:`~regionscope.compute.merge.merge_layer` on those groups.  The output
of every other group is the input of its winner, affine on each
region the layer started from: it is carried through the layer's cuts by
exact interpolation, a column per group instead of one per input.  The
work and the memory follow the undecided groups, not all of them.

One layer earlier: when a ReLU layer feeds the max-pooling layer, most groups
are settled already at the ReLU layer's start (:func:`settled_groups`: every
input at most 0, or one input ahead of the others and of 0 by a margin at
every vertex), and stay so at every vertex its cuts make.  The ReLU layer then
carries through its cuts only the columns of its live units, of the other
groups' inputs and of the settled groups' leading inputs (:class:`Narrowed`),
and the max-pooling layer finds winners and maxima for the other groups only.
The values carried are those of the whole table's columns, bit for bit, so
the partition is the same.

The tables of values at the vertices (the layer's input, the undecided groups'
inputs, the outputs) live on the host, or on the torch backend's device
(:mod:`~regionscope.compute.tables`), the same values either way.

Examples
--------
>>> import numpy as np
>>> from regionscope.network.layers import MaxPool
>>> r = restrict_groups(MaxPool([[0, 1], [2, 3], [4, 5]]), np.array([1]), np.zeros(3))
>>> r.columns.tolist(), r.layer.groups.tolist()
([2, 3], [[0, 1]])
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import numpy as np

from regionscope.backends import compiled
from regionscope.geometry import CutResult, Mesh, cut, encode_source
from regionscope.network.conv import Reshape
from regionscope.network.evaluate import Evaluator
from regionscope.network.layers import Linear, MaxPool
from regionscope.network.program import Op
from regionscope.tolerances import SETTLED_MARGIN_RTOL, SETTLED_MAX_MAGNITUDE, Budget

from .merge import merge_layer
from .pairs import disagreeing
from .tables import MASK_SLOTS, HostTables, extend_all, tables_for, tables_of

__all__ = [
    "MAX_GROUP",
    "MERGE_MASKS",
    "Head",
    "Narrowed",
    "Restricted",
    "cut_undecided",
    "held_columns",
    "narrow_for_pool",
    "restrict_groups",
    "settled_groups",
    "unit_groups",
]

#: the most inputs of a group (winners are int8)
MAX_GROUP = 127
#: the merge after the undecided groups' cuts reads their candidate masks at the vertices
#: (:func:`~regionscope.compute.merge.mask_winners`; groups of at most ``MASK_SLOTS``
#: inputs) instead of their inputs; False: from the inputs (the same merge)
MERGE_MASKS = True


def unit_groups(n_units: int, mesh: Mesh, budget: Budget) -> int:
    """How many units to cut at once: the (vertex, unit) tables must fit the budget."""
    step = max(1, budget.chunk_values * 16 // max(mesh.num_vertices, 1))
    return min(step, n_units)


@dataclasses.dataclass(frozen=True)
class Restricted:
    """A max-pooling layer on some of its groups.

    ``groups (U,) int64`` (increasing) are the original groups, ``columns (C,) int64``
    (increasing) the input columns they read, ``layer`` the :class:`MaxPool` of those
    groups on those columns (group ``i`` is ``groups[i]``), ``tol (U,) float64`` their
    unit tolerances.
    """

    groups: np.ndarray
    columns: np.ndarray
    layer: MaxPool
    tol: np.ndarray

    def local(self, group: np.ndarray) -> np.ndarray:
        """The restricted layer's index of each original group in ``group`` (``-1`` where
        it is not one of :attr:`groups`); any shape."""
        group = np.asarray(group, dtype=np.int64)
        at = np.searchsorted(self.groups, group).clip(0, max(len(self.groups) - 1, 0))
        found = (self.groups[at] == group) if len(self.groups) else np.zeros(group.shape, bool)
        return np.where(found, at, -1)


def restrict_groups(layer: MaxPool, groups: np.ndarray, tol: np.ndarray) -> Restricted:
    """The max-pooling ``layer`` on the original groups ``groups (U,) int`` (increasing,
    at least one), with the unit tolerances ``tol (G,)`` of all the groups.

    >>> r = restrict_groups(MaxPool([[0, 1], [2, 3], [4, 5]]), np.array([0, 2]), np.ones(3))
    >>> r.columns.tolist(), r.layer.groups.tolist()
    ([0, 1, 4, 5], [[0, 1], [2, 3]])
    """
    groups = np.asarray(groups, dtype=np.int64)
    table = layer.groups[groups]
    columns = np.unique(table[table >= 0])
    local = np.where(table >= 0, np.searchsorted(columns, np.maximum(table, 0)), -1)
    return Restricted(groups, columns, MaxPool(local), np.asarray(tol, np.float64)[groups])


@dataclasses.dataclass(frozen=True)
class Narrowed:
    """The input of a max-pooling layer held on some of its columns only, with the groups
    settled before the layer (:func:`settled_groups`).

    ``columns (C,) int64`` (increasing) are the input columns held, ``settled (G,) bool``
    the groups whose output is known, ``source (G,) int64`` the input column (original
    numbering) whose value is a settled group's output, ``-1`` where that output is 0.
    The columns held are every settled source and every input of the other groups;
    with ``partial > 0`` (:func:`narrow_for_pool` with a :class:`Head`), the settled
    groups' outputs are held instead, through the head's linear part (``partial``
    columns), after the held ones, and their sources only where something else needs
    them.  That part is held as two sums of positive terms, ``2 * partial`` columns,
    ``plus - minus``: a settled group's source is positive at every vertex, so the
    ReLU layer between leaves both as they are.
    """

    columns: np.ndarray
    settled: np.ndarray
    source: np.ndarray
    partial: int = 0

    def local(self, columns: np.ndarray) -> np.ndarray:
        """The position in :attr:`columns` of each input column in ``columns`` (held ones);
        any shape."""
        return np.searchsorted(self.columns, columns)


@dataclasses.dataclass(frozen=True)
class Head:
    """The affine ops after a max-pooling layer, up to the next piecewise layer, as the
    layer's cut takes them (:func:`cut_undecided`, ``head=``): its output goes through
    them where it is known, at the vertices the layer starts from, and the result (often
    far narrower: a CNN's pool, flatten and first Linear layer, 2048 columns to 64) is
    carried through the cuts instead of the output.

    ``ops`` read each the one before, the first the pool's output.

    >>> from regionscope.network.layers import Linear
    >>> from regionscope.network.program import compile_model
    >>> program = compile_model(Linear([[1.0, 2.0]], [3.0]), 2)
    >>> head = Head(program.ops)
    >>> head.forward(np.array([[1.0, 1.0]])).tolist(), head.linear(np.eye(2)).tolist()
    ([[6.0]], [[1.0], [2.0]])
    """

    ops: tuple[Op, ...]

    def forward(self, x: np.ndarray) -> np.ndarray:
        """``(N, out_width)``: the ops at ``x (N, G)``."""
        for op in self.ops:
            x = op.layer.forward(x)
        return x

    def linear(self, x: np.ndarray) -> np.ndarray:
        """``(N, out_width)``: the ops' linear part (no offsets) at ``x (N, G)``."""
        for op in self.ops:
            x = op.layer.forward_linear(x)
        return x

    def rows(self, groups: np.ndarray) -> np.ndarray:
        """``(len(groups), out_width)``: the linear part at the unit vectors of the input
        columns ``groups``; a first Linear layer's (after reshapes) are its weight's columns
        (what its products at a unit vector give), the rest from the unit vectors.

        >>> from regionscope.network.layers import Linear
        >>> from regionscope.network.program import compile_model
        >>> Head(compile_model(Linear([[1.0, 2.0, 3.0]], [3.0]), 3).ops).rows(np.array([2, 0]))
        array([[3.],
               [1.]])
        """
        ops = list(self.ops)
        while ops and isinstance(ops[0].layer, Reshape):  # (nothing to do on flat data)
            ops.pop(0)
        if ops and isinstance(ops[0].layer, Linear):
            x = ops.pop(0).layer.weight[:, groups].T
        else:
            x = np.zeros((len(groups), self.ops[0].in_width))
            x[np.arange(len(groups)), groups] = 1.0
        return np.array(Head(tuple(ops)).linear(x), dtype=np.float64)

    def signed_rows(self, groups: np.ndarray) -> np.ndarray:
        """``(len(groups), 2 m)``: :meth:`rows`' positive parts, then its negative parts
        negated, side by side: inputs that are positive times these are two sums of
        positive terms whose difference is their product with :meth:`rows` (how
        :class:`Narrowed` holds a partial output, which a ReLU leaves as it is)."""
        weights = self.rows(groups)
        return np.concatenate([np.maximum(weights, 0.0), np.maximum(-weights, 0.0)], axis=1)


def settled_groups(
    table: np.ndarray,
    x: np.ndarray | None,
    low: np.ndarray,
    high: np.ndarray,
    tol: np.ndarray,
    rows: int,
) -> tuple[np.ndarray, np.ndarray]:
    """The max-pooling groups of ``relu(x)`` whose output and winner a ReLU layer's cuts
    cannot change, and their output.

    ``x (V, n)`` is the ReLU layer's input at the vertices, ``low, high (n,)`` its
    smallest and largest value in each column, ``table (G, k) int`` the groups' columns
    (``-1`` pads), ``tol (G,)`` their tolerances.  A group is settled when

    - all its inputs are at most 0 at every vertex: ``relu`` of every input is exactly 0
      at every vertex that interpolation makes from them (a rounded convex combination of
      numbers of one sign keeps that sign), so the output is 0 and the winner the first
      input; or
    - one input ``j`` leads: ``x[j] - max(x[i], 0) >= 2 tol + SETTLED_MARGIN_RTOL * M``
      at every vertex, for every other input ``i`` (``M``: the group's largest
      magnitude).  At an interpolated vertex the lead shrinks by at most the rounding of
      the chain of interpolations that made it (about ``3e-16 M`` per link), so input
      ``j`` stays above every other and above ``tol``: it is the strict maximum (the
      output is ``x[j]``, bit for bit) and the only candidate (the winner is ``j``).

    Groups whose inputs exceed ``SETTLED_MAX_MAGNITUDE`` are never settled.  The table
    ``(V, groups)`` is compared ``rows`` rows at a time, only for the groups that the
    columns' ranges leave open; with ``x`` None (bounds of the columns only) those groups
    are not settled.  Returns ``settled (G,) bool`` and ``source (G,) int64``:
    the column whose value is the output, ``-1`` where it is 0.

    >>> x = np.array([[3.0, 1.0, -1.0, -2.0], [4.0, -1.0, -3.0, 0.0]])
    >>> s, src = settled_groups(np.array([[0, 1], [2, 3]]), x, x.min(0), x.max(0),
    ...                         np.zeros(2), 10)
    >>> s.tolist(), src.tolist()
    ([True, True], [0, -1])
    """
    pad = table < 0
    cols = np.maximum(table, 0)
    lo = np.where(pad, -np.inf, low[cols])
    hi = np.where(pad, -np.inf, high[cols])
    mag = np.where(pad, 0.0, np.maximum(np.abs(low[cols]), np.abs(high[cols]))).max(axis=1)
    margin = 2.0 * tol + SETTLED_MARGIN_RTOL * mag
    groups = np.arange(len(table))
    dead = (hi <= 0).all(axis=1)
    lead = lo.argmax(axis=1)  # the leader, if any, has the largest smallest value
    lead_low = lo[groups, lead]
    rest = np.maximum(np.where(np.arange(table.shape[1]) == lead[:, None], 0.0, hi), 0.0)
    sure = lead_low - rest.max(axis=1) >= margin
    check = np.flatnonzero(~dead & ~sure & (lead_low >= margin))
    leads = np.full(len(check), x is not None)
    for slot in range(table.shape[1]):  # the others at every vertex, for the open groups
        other = check[(slot != lead[check]) & ~pad[check, slot]]
        at = np.searchsorted(check, other)
        for s in range(0, 0 if x is None else len(x), max(rows, 1)):
            part: Any = x[s : s + rows]  # type: ignore[index]
            gap = part[:, cols[other, lead[other]]] - np.maximum(part[:, cols[other, slot]], 0)
            leads[at] &= (gap >= margin[other]).all(axis=0)
    settled = dead | sure
    settled[check] = leads
    settled &= mag <= SETTLED_MAX_MAGNITUDE
    return settled, np.where(dead, -1, cols[groups, lead]).astype(np.int64)


def held_columns(
    units: np.ndarray, table: np.ndarray, settled: np.ndarray, source: np.ndarray
) -> np.ndarray:
    """``(C,) int64`` (increasing): the input columns a ReLU layer narrowed for a
    max-pooling layer holds: its cutting ``units``' own, every input of the groups of
    ``table (G, k)`` not ``settled``, and each settled group's ``source`` (none where it
    is ``-1``), as :class:`Narrowed` describes.

    >>> held_columns(np.array([5]), np.array([[0, 1], [2, 3]]), np.array([True, False]),
    ...              np.array([1, -1])).tolist()
    [1, 2, 3, 5]
    """
    inputs = table[~settled]
    keep = [units, inputs[inputs >= 0], source[settled & (source >= 0)]]
    return np.unique(np.concatenate(keep))


def narrow_for_pool(
    x: np.ndarray,
    held: np.ndarray | None,
    units: np.ndarray,
    table: np.ndarray,
    settled: np.ndarray,
    source: np.ndarray,
    head: Head | None = None,
    done: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[np.ndarray, Narrowed]:
    """A ReLU layer's input ``x (V, C)`` at the vertices, holding the input columns
    ``held (C,)`` (increasing; None: all), narrowed for the max-pooling layer after it
    (groups ``table (G, k)``, their ``settled`` and ``source``, :func:`settled_groups`)
    and the cutting ``units``: the columns :func:`held_columns` names, and the
    :class:`Narrowed` that describes them.

    With the pool's ``head`` (:class:`Head`), a settled group's source is not held for
    the group: the settled groups' outputs (their sources, affine on each region the
    ReLU layer cuts) go through the head's linear part at once, ``(V, m)``, held after
    the columns as two sums of positive terms (:attr:`Narrowed.partial`) and carried
    through the cuts like them.  ``done``, ``(groups (G,) bool, part (V, 2 m))``: settled
    groups whose outputs went through the head already (their sources need not be in
    ``x``), the two sums side by side, added to the others'.

    >>> x = np.array([[1.0, 2.0, 3.0, 4.0]])
    >>> y, n = narrow_for_pool(x, None, np.array([3]), np.array([[0, 1], [2, -1]]),
    ...                        np.array([True, False]), np.array([1, -1]))
    >>> y.tolist(), n.columns.tolist()
    ([[2.0, 3.0, 4.0]], [1, 2, 3])
    """

    def at(columns: np.ndarray) -> np.ndarray:
        return columns if held is None else np.searchsorted(held, columns)

    folded = settled & (source >= 0)
    if done is not None:
        if head is None:
            raise ValueError("narrow_for_pool: outputs through a head need the head")
        folded &= ~done[0]
    if head is None or (not folded.any() and done is None):
        keep = held_columns(units, table, settled, source)
        return np.take(x, at(keep), axis=1), Narrowed(keep, settled, source)
    gone = folded if done is None else folded | done[0]
    keep = held_columns(units, table, settled, np.where(gone, -1, source))
    # (sums of positive terms: the ReLU between leaves them as they are)
    part = np.take(x, at(source[folded]), axis=1) @ head.signed_rows(np.flatnonzero(folded))
    if done is not None:
        part += done[1]
    out = np.concatenate([np.take(x, at(keep), axis=1), part], axis=1)
    return out, Narrowed(keep, settled, source, part.shape[1] // 2)


def _narrowed(layer: MaxPool, x: np.ndarray, narrowed: Narrowed | None) -> Narrowed:
    """``narrowed``, or every column held and no group settled."""
    if narrowed is not None:
        return narrowed
    n_groups = len(layer.groups)
    return Narrowed(
        np.arange(x.shape[1]), np.zeros(n_groups, dtype=bool), np.full(n_groups, -1, np.int64)
    )


def cut_undecided(
    ev: Evaluator,
    mesh: Mesh,
    op: Op,
    x: np.ndarray,
    carried: dict[int, np.ndarray],
    point_tol: float,
    max_regions: int,
    budget: Budget,
    report: Callable[[Mesh, int], None],
    narrowed: Narrowed | None = None,
    head: Head | None = None,
) -> tuple[Mesh, np.ndarray, dict[int, np.ndarray]]:
    """Cut and merge the max-pooling op ``op`` on its undecided groups only (at most
    127 inputs per group).

    ``x (V, C)`` is its input at the vertices of ``mesh``: every column, or those of
    ``narrowed`` (:class:`Narrowed`; its settled groups are decided, with a known
    output).  ``carried`` holds other values at the vertices (``{register: (V, width)}``)
    to carry through the cuts.  Returns the cut and merged mesh, the op's output at its
    vertices ``(V', G) float64``, and ``carried`` at its vertices.  The partition is the
    one of the stage-by-stage driver (see the module's notes).

    With ``head`` (:class:`Head`), the output returned is the head's, ``(V', m)``: the
    decided groups' outputs go through the head at the vertices the layer starts from
    (the undecided groups' at 0; only the columns they read, through the head's rows,
    :meth:`Head.rows`) and are carried through the cuts, then the head's rows for the
    undecided groups add their maxima at the last vertices.  The same values as the
    head at the whole output, up to rounding (interpolation and the head's sums in
    another order), so the layers after it make the same partition, with vertices equal
    up to rounding.
    """
    layer: Any = op.layer
    index = op.index
    n_groups = layer.num_units(op.in_width)
    tol_all = np.broadcast_to(np.asarray(ev.unit_tol[index], np.float64), (n_groups,))
    rows = max(1, budget.chunk_values // max(layer.groups.size, 1))
    narrowed = _narrowed(layer, x, narrowed)
    if narrowed.partial and head is None:
        raise ValueError(f"layer {index} ({op.name}): a partial head output needs its head")
    # the tables of values at the vertices: on the host, or on the torch backend's device
    tables = tables_for(x.size) if isinstance(x, np.ndarray) else tables_of(x)
    x = tables.put(x)
    tables.check_finite(x, op)
    # the other groups' winners and outputs at the vertices
    open_groups = np.flatnonzero(~narrowed.settled)
    table = layer.groups[open_groups]
    table = np.where(table >= 0, narrowed.local(np.maximum(table, 0)), -1)
    winners, maxima = tables.winners_and_maxima(table, x, tol_all[open_groups], rows)
    undecided = tables.undecided_groups(mesh, winners)
    res_groups = open_groups[undecided]
    # the outputs: the decided groups' (their winners' inputs) are carried by
    # interpolation (at the end, at once), the undecided ones' recomputed from their inputs
    held = x.shape[1] - 2 * narrowed.partial
    table, where = _output_table(tables, x[:, :held], narrowed, open_groups, maxima)
    del maxima
    base = None  # with a head: its output at these vertices, the undecided groups at 0
    if head is not None:
        base = _head_base(tables, head, table, where, res_groups, x[:, held:])
        del table
    if len(res_groups) == 0:  # every group decided on every region: nothing to cut
        out = tables.take(table, where) if base is None else base
        return mesh, tables.get(out), carried
    restricted = restrict_groups(layer, res_groups, tol_all)
    local = restricted.layer
    xl = tables.take(x, narrowed.local(restricted.columns))
    room, n_xl = xl, len(xl)  # (xl is room[:n_xl], grown through the cuts)
    wl = tables.take(winners, np.flatnonzero(undecided))
    del x, winners
    coincident: list[np.ndarray] = []
    cuts: list[CutResult] = []  # the outputs and carried values follow at the end, at once
    for stage in range(layer.num_stages(op.in_width)):
        codes = encode_source(index, layer.unit_of(stage, res_groups))
        g0 = 0
        while g0 < n_groups:  # the driver's chunks of groups, their undecided ones only
            g1 = g0 + unit_groups(n_groups - g0, mesh, budget)
            u0, u1 = np.searchsorted(res_groups, [g0, g1]).tolist()
            if u1 > u0:
                z = tables.get(tables.stage_values(local, xl, stage, slice(u0, u1)))
                keep = disagreeing(mesh, tables.get(wl[:, u0:u1]))
                res = cut(mesh, z, restricted.tol[u0:u1], codes[u0:u1], point_tol, max_regions,
                          pair_filter=keep)  # fmt: skip
                del z, keep
                coincident.append(res.coincident)
                mesh = res.mesh
                if res.num_new_vertices:
                    old = len(xl)
                    room, n_xl = tables.grow(room, n_xl, res)
                    xl = room[:n_xl]
                    cuts.append(res)
                    new = tables.winners_and_maxima(local.groups, xl[old:], restricted.tol, rows)
                    wl = tables.stack([wl, new[0]])
            report(mesh, g1 - g0)
            g0 = g1
    mesh, kept, maxima = _merge(ev, mesh, op, tables, xl, restricted, rows, coincident)
    if base is None:
        out = _extended_outputs(tables, table, where, cuts, kept)
        del table
    else:  # the head's output without the undecided groups, carried
        out = tables.extend_all(base, cuts)
        out = out if kept is None else tables.rows(out, kept)
    carried = {r: extend_all(v, cuts) for r, v in carried.items()}
    # the undecided groups' maxima at every vertex, then at those kept (fewer columns)
    if maxima is None:
        maxima = tables.winners_and_maxima(local.groups, xl, restricted.tol, rows)[1]
    del xl, room
    if kept is not None:
        maxima = tables.rows(maxima, kept)
        carried = {r: v[kept] for r, v in carried.items()}
    out, maxima = tables.get(out), tables.get(maxima)
    if head is None:
        out[:, res_groups] = maxima
    else:
        out += maxima @ head.rows(res_groups)
    return mesh, out, carried


def _merge(
    ev: Evaluator,
    mesh: Mesh,
    op: Op,
    tables: HostTables,
    xl: Any,
    restricted: Restricted,
    rows: int,
    coincident: list[np.ndarray],
) -> tuple[Mesh, np.ndarray | None, Any]:
    """Merge the needless cuts of the undecided groups (``restricted``, their inputs ``xl``
    at the vertices, living with ``tables``): from their candidate masks, found with their
    maxima at every vertex (:data:`MERGE_MASKS`), else from their inputs.  Returns the
    mesh, the vertices kept (None: all) and the maxima (None where not found here)."""
    maxima, masks = None, None
    if MERGE_MASKS and restricted.layer.groups.shape[1] <= MASK_SLOTS:
        # the undecided groups' maxima and candidates at every vertex: the merge reads the
        # candidates instead of the inputs (on the host, from where the tables live)
        _, maxima, masks = tables.winners_and_maxima(
            restricted.layer.groups, xl, restricted.tol, rows, masks=True
        )
    if not coincident:  # (no cut made a side: nothing to merge)
        return mesh, None, maxima
    mesh, kept = merge_layer(
        ev, mesh, op.index, None if masks is not None else tables.get(xl),
        np.concatenate(coincident), restricted=restricted,
        masks=None if masks is None else tables.get(masks),
    )  # fmt: skip
    return mesh, None if kept.all() else kept, maxima


def _head_base(
    tables: HostTables,
    head: Head,
    table: Any,
    where: np.ndarray,
    res_groups: np.ndarray,
    partial: Any,
) -> Any:
    """``(V, m)``: ``head`` at the outputs ``table[:, where]`` with the groups ``res_groups``
    at 0, plus the settled groups' part held in ``partial (V, 2 m)`` (``plus - minus``,
    :attr:`Narrowed.partial`; ``(V, 0)`` where none is).  The head's rows of the groups
    read from each column of ``table`` are added up (most groups read its last, the
    column of zeros), so only the columns read are multiplied, on the host (the same
    bits wherever ``tables`` live); the result lives with ``tables``."""
    zero = table.shape[1] - 1
    decided = where.copy()
    decided[res_groups] = zero
    groups = np.flatnonzero(decided != zero)
    columns, inverse = np.unique(decided[groups], return_inverse=True)
    weights = np.zeros((len(columns), head.ops[-1].out_width))
    np.add.at(weights, inverse, head.rows(groups))
    base = tables.get(tables.take(table, columns)) @ weights
    base += head.forward(np.zeros((1, len(where))))  # (the head's offset)
    base = tables.put(base)
    if partial.shape[1]:
        m = partial.shape[1] // 2
        base += partial[:, :m]
        base -= partial[:, m:]
    return base


def _output_table(
    tables: HostTables, x: Any, narrowed: Narrowed, open_groups: np.ndarray, maxima: Any
) -> tuple[Any, np.ndarray]:
    """Every group's output at the vertices as ``table[:, where]``: its source column of
    ``x (V, C)`` (the columns held) for a settled group (a column of zeros where it has
    none, or where its output is in a partial head output, :attr:`Narrowed.partial`),
    ``maxima (V, O)`` for the groups ``open_groups (O,)``.  Returns ``table (V, C + O +
    1)`` (living with ``tables``) and ``where (G,) int64``."""
    n_groups = len(narrowed.settled)
    # (with a partial head output, the settled groups' outputs are there, not here)
    sources = narrowed.settled & (narrowed.source >= 0) & (narrowed.partial == 0)
    where = np.full(n_groups, x.shape[1] + maxima.shape[1], dtype=np.int64)
    where[sources] = narrowed.local(narrowed.source[sources])
    where[open_groups] = x.shape[1] + np.arange(len(open_groups))
    return tables.concat([x, maxima, tables.zeros(len(x), 1)]), where


def _extended_outputs(
    tables: HostTables,
    table: Any,
    where: np.ndarray,
    cuts: list[CutResult],
    kept: np.ndarray | None,
) -> Any:
    """``table[:, where]`` extended through ``cuts`` (:func:`extend_all`), at the vertices
    ``kept (V',) bool`` (all if ``None``): gathered into the rows of the old vertices of
    one table that the compiled kernels then fill and compact in place (on the host)."""
    blocks = [b for res in cuts for b in res.interp if len(b[0])]
    if not blocks or not compiled() or tables.device is not None:
        out = tables.extend_all(tables.take(table, where), cuts)
        return out if kept is None else tables.rows(out, kept)
    from regionscope.geometry.kernels import interp  # (numba: compiled() says it runs)

    src, dst, weight = (np.concatenate([b[i] for b in blocks]) for i in range(3))
    out = np.empty((len(table) + len(src), len(where)))
    np.take(table, where, axis=1, out=out[: len(table)], mode="clip")  # (unbuffered)
    interp.interpolate_into(out, len(table), src, dst, weight, where == table.shape[1] - 1)
    if kept is not None:
        out = out[: interp.keep_rows(out, kept)]
    return out
