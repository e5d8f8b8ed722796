"""The last max layer (an argmax) cut on the regions where its winner is undecided only.

An argmax after the network's last ReLU layer changes its winner only on the
regions whose corners disagree on it: its input is affine on each region, so
a winner that holds at every corner of a (convex) region holds all over it.
The stage-by-stage driver cuts such a layer stage by stage on the whole mesh
(each stage's pair filter refuses the decided regions, :func:`~regionscope.
compute.pairs.disagreeing`) and then merges, also on the whole mesh: every
stage and the merge cost a pass over every region, for the few the decision
boundary crosses.

:func:`cut_undecided_regions` takes those regions out as a mesh of their own
(:func:`~regionscope.geometry.submesh.submesh`), cuts it by every stage with
the driver's values, tolerances, source codes and pair filter, merges it as
the driver merges (:func:`~regionscope.compute.merge.merge_layer`), and
puts it back (:func:`~regionscope.geometry.submesh.splice`).  The vertices the
part started with are kept through the merge (they are the whole mesh's, with
sides outside the part).  Where the part's cuts leave a vertex on a side of a
region outside it, that region is taken in and the part cut again.  The regions
and their vertices are the driver's; only their order differs (the regions left
out first, in order, then the part's).

Examples
--------
>>> import numpy as np
>>> import regionscope as rs
>>> net = rs.Sequential(rs.Linear([[1.0, 0.0], [0.0, 1.0]]), rs.ReLU(),
...                     rs.Linear([[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]], [0.0, 0.0, 0.5]),
...                     rs.Argmax())
>>> part = rs.partition(net, rs.Box(1.0))
>>> part.num_regions  # 4 quadrants: x = 1/2 and y = 1/2 cut the 3 with x > 0 or y > 0
8
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from regionscope.errors import RegionLimitError
from regionscope.geometry import Mesh, cut, encode_source
from regionscope.geometry.mesh import BOUNDARY
from regionscope.geometry.submesh import splice, submesh
from regionscope.network.evaluate import Evaluator
from regionscope.network.layers import Argmax
from regionscope.network.program import Op

from .limits import check_finite
from .merge import merge_layer
from .pairs import disagreeing

__all__ = ["cut_undecided_regions", "undecided_regions", "takes_undecided_regions"]


def takes_undecided_regions(op: Op, last: bool, stored: bool) -> bool:
    """Whether :func:`cut_undecided_regions` cuts op ``op``: an :class:`Argmax` that is the
    last piecewise op (``last``: nothing after it reads its values at new vertices), with
    its input stored at the vertices (``stored``)."""
    return last and stored and type(op.layer) is Argmax


def undecided_regions(mesh: Mesh, winners: np.ndarray) -> np.ndarray:
    """``(R,) int64``, increasing: the regions of ``mesh`` whose corners disagree on some
    group's winner (``winners (V, G)`` at the vertices): two of its corners next to each
    other in its list do.

    >>> square = Mesh.from_polygon(np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0],
    ...                                      [0.0, 1.0]]))
    >>> undecided_regions(square, np.array([[0], [0], [1], [0]])).tolist()
    [0]
    >>> undecided_regions(square, np.zeros((4, 1), int)).tolist()
    []
    """
    at = winners[mesh.region_vertices]  # (I, G), region by region
    change = (at[1:] != at[:-1]).any(axis=1)  # incidence i and i + 1 differ
    change[mesh.region_offsets[1:-1] - 1] = False  # (the last corner of one, the next's first)
    starts = mesh.region_starts
    return np.unique(np.searchsorted(starts, np.flatnonzero(change), side="right") - 1)


def cut_undecided_regions(
    ev: Evaluator,
    mesh: Mesh,
    op: Op,
    x: np.ndarray,
    point_tol: float,
    max_regions: int,
    report: Callable[[Mesh, int], None],
) -> Mesh:
    """Cut and merge the argmax op ``op`` (the last piecewise op) on the regions whose
    corners disagree on its winner, as a submesh (see the module's notes).

    ``x (V, in_width)`` is its input at the vertices of ``mesh``.  ``report(mesh, units)``
    follows the progress (once, at the end, with every stage's units).  Returns the cut
    and merged mesh: the regions the driver's stages and merge make, the undecided ones
    last.
    """
    layer: Any = op.layer
    index = op.index
    check_finite(x, op)
    n_units = layer.num_units(op.in_width)
    groups = slice(0, n_units)
    winners = ev.pattern(op, x, groups)
    regions = undecided_regions(mesh, winners)
    n_stages = layer.num_stages(op.in_width)
    if len(regions) == 0:  # one winner on every region: nothing to cut, nothing to merge
        report(mesh, n_stages * n_units)
        return mesh
    unit_tol = np.broadcast_to(np.asarray(ev.unit_tol[index], np.float64), (n_units,))
    outside = mesh.num_regions - len(regions)
    while True:
        part, vertex_map = submesh(mesh, regions)
        n_old = part.num_vertices
        border = _border_sides(part)
        # the part's own vertices are corners to the merge: they have sides outside it
        part = Mesh(
            part.vertices, part.region_vertices, part.region_offsets, part.incidence_source, n_old
        )
        xp, wp = x[vertex_map], winners[vertex_map]
        on_side = np.zeros((0, 2), dtype=np.int64)  # new vertices' old side (part ids)
        coincident = []
        for stage in range(n_stages):
            codes = encode_source(index, layer.unit_of(stage, np.arange(n_units)))
            z = layer.stage_values(xp, stage, slice(0, n_units))
            try:
                res = cut(
                    part, z, unit_tol, codes, point_tol, max(max_regions - outside, 1),
                    pair_filter=disagreeing(part, wp),
                )  # fmt: skip
            except RegionLimitError as exc:
                raise RegionLimitError(exc.count + outside, max_regions, exc.where) from None
            coincident.append(res.coincident)
            part = res.mesh
            if res.num_new_vertices:
                old = len(xp)
                xp = res.extend(xp)
                wp = np.concatenate([wp, ev.pattern(op, xp[old:], groups)])
                on_side = _old_sides(on_side, res.interp, n_old)
        part, kept = merge_layer(ev, part, index, xp, np.concatenate(coincident))
        between = on_side[kept[n_old:]]
        between = between[between[:, 0] >= 0]
        between = between[_on(border, between, n_old)]  # (a side inside the part: no)
        spliced, conflicts = splice(mesh, regions, vertex_map, part, n_old, between)
        if spliced is not None:
            break
        regions = np.union1d(regions, conflicts)  # rare: a side of theirs was split
        outside = mesh.num_regions - len(regions)
    if spliced.num_regions > max_regions:
        raise RegionLimitError(spliced.num_regions, max_regions)
    report(spliced, n_stages * n_units)
    return spliced


def _border_sides(part: Mesh) -> np.ndarray:
    """``(B,) int64``, increasing: the keys ``lo * V + hi`` of the sides of ``part`` (a
    submesh) that one of its regions has and that are not on the domain's boundary: the
    sides it may share with a region left out."""
    keys = part.side_keys
    unique, counts = np.unique(keys, return_counts=True)
    once = unique[counts == 1]
    inner = np.unique(keys[part.incidence_source != BOUNDARY])
    return np.intersect1d(once, inner, assume_unique=True)


def _on(border: np.ndarray, sides: np.ndarray, n: int) -> np.ndarray:
    """``(S,) bool``: which ``sides (S, 2)`` (``lo < hi``, of ``n`` vertices) are among the
    ``border`` keys (increasing)."""
    keys = sides[:, 0] * np.int64(n) + sides[:, 1]
    if len(border) == 0:
        return np.zeros(len(keys), dtype=bool)
    at = np.minimum(np.searchsorted(border, keys), len(border) - 1)
    return border[at] == keys


def _old_sides(
    on_side: np.ndarray, interp: tuple[tuple[np.ndarray, np.ndarray, np.ndarray], ...], n_old: int
) -> np.ndarray:
    """``on_side`` (the old side ``(a, b)`` each new vertex lies on, ``(-1, -1)`` if none)
    extended by a cut's new vertices: a vertex between two old vertices lies on their side
    (or on a chord between them: a side then too, as :func:`splice` reads it), one between
    two points of one old side on that side, any other on none."""
    rows = [on_side]
    known = on_side
    for src, dst, _ in interp:
        if len(src) == 0:
            continue
        side = np.full((len(src), 2), -1, dtype=np.int64)
        both = (src < n_old) & (dst < n_old)
        side[both, 0] = np.minimum(src[both], dst[both])
        side[both, 1] = np.maximum(src[both], dst[both])
        table = np.concatenate([np.stack([np.arange(n_old)] * 2, axis=1), known])
        a, b = table[src], table[dst]  # an old vertex stands for itself
        same = ~both & (a[:, 0] >= 0) & (b[:, 0] >= 0)
        # two points of one old side: the side's ends are among theirs
        lo = np.minimum(np.minimum(a[:, 0], b[:, 0]), np.minimum(a[:, 1], b[:, 1]))
        hi = np.maximum(np.maximum(a[:, 0], b[:, 0]), np.maximum(a[:, 1], b[:, 1]))
        fits = same & _on_one_side(a, b)
        side[fits, 0] = lo[fits]
        side[fits, 1] = hi[fits]
        rows.append(side)
        known = np.concatenate([known, side])
    return np.concatenate(rows)


def _on_one_side(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Whether the points ``a`` and ``b`` (each an old vertex ``(v, v)`` or a point of an old
    side ``(lo, hi)``) lie on one old side: their pairs share the side's two ends."""
    a_vertex = a[:, 0] == a[:, 1]
    b_vertex = b[:, 0] == b[:, 1]
    both_sides = ~a_vertex & ~b_vertex
    same_side = both_sides & (a[:, 0] == b[:, 0]) & (a[:, 1] == b[:, 1])
    # a side's point and one of the side's ends
    a_end = a_vertex & ~b_vertex & ((a[:, 0] == b[:, 0]) | (a[:, 0] == b[:, 1]))
    b_end = b_vertex & ~a_vertex & ((b[:, 0] == a[:, 0]) | (b[:, 0] == a[:, 1]))
    return same_side | a_end | b_end
