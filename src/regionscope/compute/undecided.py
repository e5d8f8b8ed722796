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
region (:func:`undecided_groups`); a layer on those groups alone, reading
only their inputs (:func:`restrict_groups`).  Its stages are cut exactly as
the driver cuts the whole layer's (the same values, tolerances, source
codes and pair filter for those groups; the others have no pair to cut),
and merged by :func:`~regionscope.compute.merge.merge_layer` on those groups.
The output of every other group is the input of its winner, affine on each
region the layer started from: it is carried through the layer's cuts by
exact interpolation, a column per group instead of one per input.  The
work and the memory follow the undecided groups, not all of them.

Examples
--------
>>> import numpy as np
>>> from regionscope.geometry import Mesh
>>> square = Mesh.from_polygon(np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]]))
>>> winners = np.array([[0, 1], [0, 1], [0, 0], [0, 1]])  # 2 groups at the 4 corners
>>> undecided_groups(square, winners).tolist()
[False, True]
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import numpy as np

from regionscope.geometry import Mesh, cut, encode_source
from regionscope.network.evaluate import Evaluator
from regionscope.network.layers import MaxPool
from regionscope.network.program import Op
from regionscope.tolerances import Budget

from .limits import check_finite
from .merge import merge_layer
from .pairs import disagreeing

__all__ = [
    "MAX_GROUP",
    "Restricted",
    "cut_undecided",
    "region_sides",
    "restrict_groups",
    "undecided_groups",
    "unit_groups",
    "winners_and_maxima",
]

#: the most inputs of a group (winners are int8)
MAX_GROUP = 127
#: sides compared at once when looking for undecided groups (times the groups: the table)
SIDE_BLOCK = 4096


def winners_and_maxima(
    table: np.ndarray, x: np.ndarray, tol: np.ndarray, rows: int
) -> tuple[np.ndarray, np.ndarray]:
    """Each group's winner and largest input at each row of ``x (N, in_width)``.

    ``table (G, k) int`` holds the groups' input columns (``-1`` pads short
    groups), ``tol (G,)`` their tolerances.  The winner is the first input
    within the tolerance of the largest, as :meth:`MaxPool.pattern
    <regionscope.network.layers.MaxPool.pattern>` picks it; both come from one
    gather, ``rows`` rows at a time.  Returns ``winners (N, G) int8`` and
    ``maxima (N, G) float64``.

    >>> w, m = winners_and_maxima(np.array([[0, 1], [2, -1]]), np.array([[1.0, 3.0, 2.0]]),
    ...                           np.zeros(2), 10)
    >>> w.tolist(), m.tolist()
    ([[1, 0]], [[3.0, 2.0]])
    """
    n_groups, k = table.shape
    winners = np.empty((len(x), n_groups), dtype=np.int8)
    maxima = np.empty((len(x), n_groups))
    pad = table < 0
    columns = np.maximum(table, 0).T  # slot-major: a slot's inputs are contiguous
    for s in range(0, len(x), max(rows, 1)):
        vals = np.take(x[s : s + rows], columns, axis=1)  # (n, k, G)
        if pad.any():
            vals[:, pad.T] = -np.inf
        top = vals.max(axis=1)
        maxima[s : s + rows] = top
        cand = vals >= (top - tol)[:, None, :]
        # the first candidate: k - 1 where none of the slots before it is one
        first = np.full(top.shape, k - 1, dtype=np.int8)
        for j in range(k - 2, -1, -1):
            np.copyto(first, np.int8(j), where=cand[:, j])
        winners[s : s + rows] = first
    return winners, maxima


def unit_groups(n_units: int, mesh: Mesh, budget: Budget) -> int:
    """How many units to cut at once: the (vertex, unit) tables must fit the budget."""
    step = max(1, budget.chunk_values * 16 // max(mesh.num_vertices, 1))
    return min(step, n_units)


def region_sides(mesh: Mesh) -> tuple[np.ndarray, np.ndarray]:
    """``(a, b)``: the two end vertices of every distinct side of every region, ``(S,) int64``
    each (consecutive corners of a region; a side two regions share is listed once)."""
    rv, offsets = mesh.region_vertices, mesh.region_offsets
    following = np.arange(1, len(rv) + 1)
    following[offsets[1:] - 1] = offsets[:-1]  # each region's last corner is followed by its first
    a, b = rv, rv[following]
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    key = np.unique(lo.astype(np.int64) * max(mesh.num_vertices, 1) + hi)
    return key // max(mesh.num_vertices, 1), key % max(mesh.num_vertices, 1)


def undecided_groups(mesh: Mesh, winners: np.ndarray) -> np.ndarray:
    """``(G,) bool``: the groups whose winner differs between two corners of some region.

    ``winners (V, G) int`` holds each group's winner at each vertex.  A
    region's corners all agree when every two consecutive ones do, so the
    sides of the regions are enough (:func:`region_sides`).
    """
    a, b = region_sides(mesh)
    out = np.zeros(winners.shape[1], dtype=bool)
    for s in range(0, len(a), SIDE_BLOCK):
        out |= (winners[a[s : s + SIDE_BLOCK]] != winners[b[s : s + SIDE_BLOCK]]).any(axis=0)
    return out


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
) -> tuple[Mesh, np.ndarray, dict[int, np.ndarray]]:
    """Cut and merge the max-pooling op ``op`` on its undecided groups only (at most
    127 inputs per group).

    ``x (V, in_width)`` is its input at the vertices of ``mesh``; ``carried``
    holds other values at the vertices (``{register: (V, width)}``) to carry
    through the cuts.  Returns the cut and merged mesh, the op's output at its
    vertices ``(V', G) float64``, and ``carried`` at its vertices.  The
    partition is the one of the stage-by-stage driver (see the module's notes).
    """
    layer: Any = op.layer
    index = op.index
    n_groups = layer.num_units(op.in_width)
    tol_all = np.broadcast_to(np.asarray(ev.unit_tol[index], np.float64), (n_groups,))
    rows = max(1, budget.chunk_values // max(layer.groups.size, 1))
    check_finite(x, op)
    # the outputs at the vertices; those of the decided groups (their winners' inputs)
    # are carried by interpolation, the others recomputed from their inputs at the end
    winners, out = winners_and_maxima(layer.groups, x, tol_all, rows)
    res_groups = np.flatnonzero(undecided_groups(mesh, winners))
    if len(res_groups) == 0:  # every group decided on every region: nothing to cut
        return mesh, out, carried
    restricted = restrict_groups(layer, res_groups, tol_all)
    local = restricted.layer
    xl = np.take(x, restricted.columns, axis=1)
    wl = winners[:, res_groups]
    del x, winners
    coincident: list[np.ndarray] = []
    for stage in range(layer.num_stages(op.in_width)):
        codes = encode_source(index, layer.unit_of(stage, res_groups))
        g0 = 0
        while g0 < n_groups:  # the driver's chunks of groups, their undecided ones only
            g1 = g0 + unit_groups(n_groups - g0, mesh, budget)
            u0, u1 = np.searchsorted(res_groups, [g0, g1]).tolist()
            if u1 > u0:
                z = local.stage_values(xl, stage, slice(u0, u1))
                res = cut(
                    mesh,
                    z,
                    restricted.tol[u0:u1],
                    codes[u0:u1],
                    point_tol,
                    max_regions,
                    pair_filter=disagreeing(mesh, wl[:, u0:u1]),
                )
                del z
                coincident.append(res.coincident)
                mesh = res.mesh
                if res.num_new_vertices:
                    old = len(xl)
                    xl = res.extend(xl)
                    out = res.extend(out)
                    carried = {r: res.extend(v) for r, v in carried.items()}
                    new = winners_and_maxima(local.groups, xl[old:], restricted.tol, rows)[0]
                    wl = np.concatenate([wl, new])
            report(mesh, g1 - g0)
            g0 = g1
    if coincident:  # (a cut that made no side leaves nothing to merge: merge_layer returns)
        mesh, kept = merge_layer(
            ev, mesh, index, xl, np.concatenate(coincident), restricted=restricted
        )
        if not kept.all():
            xl, out = xl[kept], out[kept]
            carried = {r: v[kept] for r, v in carried.items()}
    out[:, res_groups] = winners_and_maxima(local.groups, xl, restricted.tol, rows)[1]
    return mesh, out, carried
