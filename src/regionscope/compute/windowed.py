"""Max layers whose input is affine on the domain, cut with work that follows their regions.

A max layer (maxout, windowed max-pooling, an argmax) is cut stage by stage:
stage ``s`` compares each group's input ``s + 1`` with the largest of the
inputs before it, and the later stages run on a mesh that the earlier ones
already cut.  Evaluating every group at every vertex of that mesh costs
``vertices * groups * k`` per stage: quadratic in the groups, while the
regions the layer makes grow about as fast.

When the layer's input is one affine map of the domain point (nothing
piecewise before it: :attr:`Evaluator.prefix_maps
<regionscope.network.evaluate.Evaluator.prefix_maps>`), each group's
winner changes only along the edges of the upper envelope of its ``k``
planes: stretches of the lines ``x[a] = x[b]``, known in closed form
(:func:`envelope_edges`).  The mesh is cut along those lines in a few cuts
(:func:`_cut_envelopes`): first the longest lines across the few regions
there are, then all the others at once, each region cut only by the lines
whose stretch reaches it (the cut's pair filter).  A line is cut across a
whole region, so a little beyond its stretch; one merge at the end joins
those pieces again, deciding as :func:`~regionscope.compute.merge.merge_layer`
does (a side well inside its stretch, with a region on each side beyond the
tolerance, surely stays and is not compared).  The work follows the regions
made: a [2, 1000] x 4 maxout layer costs a few times a ReLU layer of as many
regions.

Layers whose inputs nearly (not exactly) repeat, whose lines nearly
coincide, or where lines of several groups meet in one point snap otherwise
when cut this way: they are cut as the stage-by-stage driver cuts them
(:func:`_cut_plain`) when small, else block by block (:func:`_cut_blocks`):
blocks of groups, each stage computed only at the corners of the regions
its lines come near (:func:`~regionscope.geometry.grid.boxes_meeting_lines`),
cut as a submesh (:mod:`~regionscope.geometry.submesh`), then merged.  So
are groups of more than :data:`MAX_ENVELOPE_INPUTS` inputs.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import numpy as np

from regionscope.errors import RegionLimitError
from regionscope.geometry import Mesh, cut, decode_source, encode_source
from regionscope.geometry.arrays import expand
from regionscope.geometry.grid import boxes_meeting_lines
from regionscope.geometry.kernels import compiled_maxes
from regionscope.geometry.merging import interior_sides, merge_across
from regionscope.geometry.submesh import splice, submesh
from regionscope.network.evaluate import Evaluator
from regionscope.network.layers import MaxPool
from regionscope.network.program import Op
from regionscope.tolerances import get_budget

from .merge import merge_layer
from .pairs import disagreeing

__all__ = [
    "EnvelopeEdges",
    "affine_input",
    "block_size",
    "cut_windowed",
    "envelope_edges",
    "group_winners",
    "stage_lines",
    "stage_values",
]

#: the fewest lines in the first cut (see :func:`_round_size`)
FIRST_CUT = 16
#: groups of more inputs than this are cut stage by stage (their pairs grow as k**2)
MAX_ENVELOPE_INPUTS = 16
#: relative distance below which two inputs or two lines count as nearly repeated
NEAR_REPEAT = 1e-6
#: a nearly degenerate layer of at most this many groups is cut as the driver cuts it
#: (larger ones block by block, see :func:`_cut_blocks`)
PLAIN_GROUPS = 256


def affine_input(ev: Evaluator, op: Op) -> tuple[np.ndarray, np.ndarray] | None:
    """Op ``op``'s input as ``(linear (2, width), offset (width,))`` of the domain point, if
    it is affine on the whole domain and ``op`` is a max layer; else ``None``."""
    if not isinstance(op.layer, MaxPool) or op.index < ev.prefix or ev.prefix == 0:
        return None
    return ev.prefix_maps.get(op.inputs[0])


def stage_lines(
    columns: np.ndarray, stage: int, linear: np.ndarray, offset: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The lines holding each group's zero set at ``stage``.

    Parameters
    ----------
    columns : (B, k) int64
        Each group's input columns (``-1`` pads short groups).
    stage : int
    linear : (2, width) float64
    offset : (width,) float64
        The input is ``u @ linear + offset``.

    Returns
    -------
    group : (L,) int64
        The row of ``columns`` of each line.
    normal : (L, 2) float64
    line_offset : (L,) float64
        Line ``l`` is ``x[columns[group[l], stage + 1]] - x[columns[group[l], j]] = 0``
        for a ``j <= stage``, i.e. ``normal[l] . u + line_offset[l] = 0``.

    >>> cols = np.array([[0, 1, 2]])
    >>> g, n, o = stage_lines(cols, 1, np.eye(2, 3), np.array([0.0, 0.0, 1.0]))
    >>> g.tolist(), n.tolist(), o.tolist()
    ([0, 0], [[-1.0, 0.0], [0.0, -1.0]], [1.0, 1.0])
    """
    nxt = columns[:, stage + 1]
    group, j = np.nonzero((nxt >= 0)[:, None] & (columns[:, : stage + 1] >= 0))
    a, b = nxt[group], columns[group, j]
    normal = (linear[:, a] - linear[:, b]).T
    return group.astype(np.int64), normal, offset[a] - offset[b]


def _near_pairs(
    mesh: Mesh,
    columns: np.ndarray,
    stage: int,
    affine: tuple[np.ndarray, np.ndarray],
    tol: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """``(region, group)`` pairs, sorted, such that a line of the group at ``stage`` comes
    within the group's tolerance of the region (its bounding box)."""
    line_group, normal, line_offset = stage_lines(columns, stage, *affine)
    rv, offsets = mesh.region_vertices, mesh.region_offsets
    corner_xy = mesh.vertices[rv]
    lo = np.minimum.reduceat(corner_xy, offsets[:-1], axis=0)
    hi = np.maximum.reduceat(corner_xy, offsets[:-1], axis=0)
    region, line = boxes_meeting_lines(lo, hi, normal, line_offset, tol[line_group])
    nblock = np.int64(len(columns))
    pair = np.unique(region * nblock + line_group[line])
    return pair // nblock, pair % nblock


def stage_values(
    coords: np.ndarray,
    columns: np.ndarray,
    stage: int,
    affine: tuple[np.ndarray, np.ndarray],
    tol: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """The stage value and the winner of one group at each of some points.

    Parameters
    ----------
    coords : (N, 2) float64
        Domain points.
    columns : (N, k) int64
        The input columns of the group asked about at each point (``-1`` pads).
    stage : int
    affine : tuple
        The layer's input as ``(linear (2, width), offset (width,))``.
    tol : (N,) float64
        The group's tolerance.

    Returns
    -------
    z : (N,) float64
        The largest of inputs ``0..stage`` less input ``stage + 1`` (``1.0``
        where the group has no input ``stage + 1``).
    winner : (N,) int64
        The first input within ``tol`` of the group's largest, as
        :meth:`MaxPool.pattern <regionscope.network.layers.MaxPool.pattern>` takes it.

    >>> cols = np.array([[0, 1, 2]])
    >>> z, w = stage_values(np.array([[1.0, 0.0]]), cols, 0, (np.eye(2, 3), np.zeros(3)),
    ...                     np.zeros(1))
    >>> z.tolist(), w.tolist()
    ([1.0], [0])
    """
    linear, offset = affine
    k = columns.shape[1]
    vals = []
    for j in range(k):  # one column at a time: NumPy reduces a short last axis slowly
        c = np.maximum(columns[:, j], 0)
        v = coords[:, 0] * linear[0, c] + coords[:, 1] * linear[1, c] + offset[c]
        v[columns[:, j] < 0] = -np.inf
        vals.append(v)
    top = vals[0].copy()
    for j in range(1, stage + 1):
        np.maximum(top, vals[j], out=top)
    z = top - vals[stage + 1]
    z[columns[:, stage + 1] < 0] = 1.0  # a group shorter than stage + 2: nothing to cut
    for j in range(stage + 1, k):
        np.maximum(top, vals[j], out=top)
    top -= tol
    winner = np.full(len(top), k - 1, dtype=np.int64)
    for j in range(k - 2, -1, -1):
        winner[vals[j] >= top] = j
    return z, winner


def _pair_filter(
    part: Mesh, region: np.ndarray, group: np.ndarray, winners: np.ndarray, nblock: int
) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """Cut only the ``(region, group)`` pairs found near, where the corners disagree on the
    group's winner (:func:`~regionscope.compute.pairs.disagreeing`)."""
    keys = region * np.int64(nblock) + group
    differ = disagreeing(part, winners)

    def keep(r: np.ndarray, g: np.ndarray) -> np.ndarray:
        q = r * np.int64(nblock) + g
        at = np.minimum(np.searchsorted(keys, q), max(len(keys) - 1, 0))
        near = keys[at] == q if len(keys) else np.zeros(len(q), dtype=bool)
        out = np.zeros(len(q), dtype=bool)
        out[near] = differ(r[near], g[near])
        return out

    return keep


def _cut_stage(
    ev: Evaluator,
    mesh: Mesh,
    op: Op,
    table: np.ndarray,
    stage: int,
    block: slice,
    affine: tuple[np.ndarray, np.ndarray],
    point_tol: float,
    max_regions: int,
) -> tuple[Mesh, np.ndarray]:
    """One stage of the groups ``block``: only the regions near their lines are cut, and
    values are computed only at their corners, for the groups near them.

    Returns the new mesh and the coincident source codes the cut reported.
    """
    layer: Any = op.layer
    columns = table[block]
    nblock = len(columns)
    tol = np.asarray(ev.unit_tol[op.index], dtype=np.float64)[block]
    codes = encode_source(op.index, layer.unit_of(stage, np.arange(block.start, block.stop)))
    pair_region, pair_group = _near_pairs(mesh, columns, stage, affine, tol)
    regions = np.unique(pair_region)
    while True:
        part, vmap = submesh(mesh, regions)
        local = np.searchsorted(regions, pair_region)
        own, k = expand(part.sizes[local])
        entry = part.region_vertices[part.region_offsets[local][own] + k] * np.int64(nblock)
        entry = np.unique(entry + pair_group[own])
        vertex, group = entry // nblock, entry % nblock
        z, winner = stage_values(part.vertices[vertex], columns[group], stage, affine, tol[group])
        if not np.isfinite(z).all():
            raise ValueError(
                f"layer {op.index} ({op.name}: MaxPool): its input is not finite at some points "
                "of the domain (float64 overflow); the weights or the domain are too large"
            )
        # dense tables for the cut; where nothing was computed the pair filter refuses
        values = np.empty((part.num_vertices, nblock))
        values[:] = 2.0 * tol + 1.0
        values[vertex, group] = z
        winners = np.full((part.num_vertices, nblock), -1, dtype=np.int64)
        winners[vertex, group] = winner
        keep = _pair_filter(part, local, pair_group, winners, nblock)
        res = cut(part, values, tol, codes, point_tol, max_regions, pair_filter=keep)
        n_old = part.num_vertices
        between = np.concatenate(
            [np.stack([a, b], axis=1)[(a < n_old) & (b < n_old)] for a, b, _ in res.interp]
            or [np.zeros((0, 2), dtype=np.int64)]
        )
        spliced, conflicts = splice(mesh, regions, vmap, res.mesh, n_old, between)
        if spliced is not None:
            break
        # rare: take in the regions whose sides the cut split, with the pairs near them
        regions = np.union1d(regions, conflicts)
    if spliced.num_regions > max_regions:
        raise RegionLimitError(spliced.num_regions, max_regions)
    return spliced, res.coincident


def block_size(num_groups: int) -> int:
    """Groups per block: small enough that each block's lines come near a small part of the
    mesh, large enough that the fixed cost of a cut is shared."""
    return int(min(num_groups, 128))


@dataclasses.dataclass(frozen=True)
class EnvelopeEdges:
    """The lines along which each group's winner can change, with the stretch of each line
    where it does (the edges of the upper envelope of the group's affine inputs).

    Line ``e`` is ``normal[e] . (u - origin) + offset[e] = 0`` (``x[first] - x[second]``
    for two inputs of group ``group[e]``); its points are ``origin + point[e] + t *
    direction[e]``.  ``outer[e]`` holds every ``t`` where the two inputs may be the
    group's largest within the tolerances (a superset of the envelope edge, clipped to
    the box of the mesh); ``inner[e]`` only ``t`` where they are, by more than the
    tolerances, above every other input (a subset).
    """

    group: np.ndarray  #: (E,) int64
    first: np.ndarray  #: (E,) int64 input column
    second: np.ndarray  #: (E,) int64
    normal: np.ndarray  #: (E, 2) float64
    offset: np.ndarray  #: (E,) float64
    point: np.ndarray  #: (E, 2) float64, relative to ``origin``
    direction: np.ndarray  #: (E, 2) float64, unit length
    outer: np.ndarray  #: (E, 2) float64
    inner: np.ndarray  #: (E, 2) float64
    origin: np.ndarray  #: (2,) float64

    def __len__(self) -> int:
        return len(self.group)

    def values(self, coords: np.ndarray, edges: np.ndarray) -> np.ndarray:
        """``(N, len(edges))``: each line's function at each point ``coords (N, 2)``."""
        rel = coords - self.origin
        n = self.normal[edges]
        return rel[:, :1] * n[:, 0] + rel[:, 1:] * n[:, 1] + self.offset[edges]

    def along(self, coords: np.ndarray, edges: np.ndarray) -> np.ndarray:
        """``(N,)``: where point ``coords[i]`` projects on line ``edges[i]`` (its ``t``)."""
        rel = coords - self.origin - self.point[edges]
        return (rel * self.direction[edges]).sum(axis=1)


def _clip(
    lo: np.ndarray, hi: np.ndarray, alpha: np.ndarray, beta: np.ndarray, need: np.ndarray
) -> None:
    """Narrow ``[lo, hi]`` (in place) to the ``t`` with ``alpha + beta * t >= need``."""
    with np.errstate(divide="ignore", invalid="ignore"):
        bound = (need - alpha) / beta
    up, down = beta > 0, beta < 0
    np.maximum(lo, np.where(up, bound, -np.inf), out=lo)
    np.minimum(hi, np.where(down, bound, np.inf), out=hi)
    flat = ~(up | down) & (alpha < need)
    lo[flat], hi[flat] = np.inf, -np.inf


def envelope_edges(
    columns: np.ndarray,
    affine: tuple[np.ndarray, np.ndarray],
    tol: np.ndarray,
    box: tuple[np.ndarray, np.ndarray],
    margin: float,
) -> EnvelopeEdges:
    """The edges of each group's upper envelope over a box, as stretches of lines.

    Parameters
    ----------
    columns : (G, k) int64
        Each group's input columns (``-1`` pads).
    affine : tuple
        The inputs as ``(linear (2, width), offset (width,))`` of the domain point.
    tol : (G,) float64
        Each group's tolerance.
    box : tuple
        ``(lo (2,), hi (2,))``: a box holding the mesh.
    margin : float
        Distance by which ``outer`` is widened and ``inner`` narrowed (at least
        the distance a snapped vertex may lie off its line).

    Returns
    -------
    EnvelopeEdges
        One line per pair of a group's inputs whose difference changes sign by
        more than the tolerance over the box and whose ``outer`` stretch is not
        empty.

    Examples
    --------
    >>> cols = np.array([[0, 1, 2]])            # x0 = u, x1 = -u, x2 = 1: cells u < -1,
    >>> aff = (np.array([[1.0, -1.0, 0.0], [0.0, 0.0, 0.0]]), np.array([0.0, 0.0, 1.0]))
    >>> box = (np.array([-2.0, -1.0]), np.array([2.0, 1.0]))
    >>> e = envelope_edges(cols, aff, np.zeros(1), box, 0.0)
    >>> (e.first.tolist(), e.second.tolist())  # x0 = x2 at u = 1, x1 = x2 at u = -1
    ([0, 1], [2, 2])
    >>> np.abs(e.values(np.array([[1.0, 0.5], [-1.0, 0.5]]), np.arange(2))).round(12).tolist()
    [[0.0, 2.0], [2.0, 0.0]]
    """
    linear, offset = affine
    lo_box, hi_box = (np.asarray(b, dtype=np.float64) for b in box)
    origin = 0.5 * (lo_box + hi_box)
    half = 0.5 * (hi_box - lo_box)
    off = offset + origin @ linear  # the inputs relative to the origin
    ngroups, k = columns.shape
    si, sj = np.triu_indices(k, 1)
    group = np.repeat(np.arange(ngroups, dtype=np.int64), len(si))
    si, sj = np.tile(si, ngroups), np.tile(sj, ngroups)
    a, b = columns[group, si], columns[group, sj]
    # rounding of an input at a point of the box, per group
    size = np.abs(linear).sum(axis=0) * float(np.abs(half).max()) + np.abs(off)
    size = np.where(columns >= 0, size[np.maximum(columns, 0)], 0.0).max(axis=1)
    slack = 1e-12 * size + 2.0 * tol
    normal = (linear[:, a] - linear[:, b]).T
    length = np.sqrt((normal * normal).sum(axis=1))
    # a line whose function changes by no more than the tolerance over the box never cuts
    ok = (a >= 0) & (b >= 0) & (2.0 * length * np.sqrt(half @ half) > tol[group])
    group, si, sj, a, b = group[ok], si[ok], sj[ok], a[ok], b[ok]
    normal, length = normal[ok], length[ok]
    line_off = off[a] - off[b]
    point = -(line_off / length**2)[:, None] * normal
    direction = np.stack([-normal[:, 1], normal[:, 0]], axis=1) / length[:, None]
    lo = np.full(len(group), -np.inf)
    hi = np.full(len(group), np.inf)
    for axis in (0, 1):  # the box, widened by the margin
        for sign in (1.0, -1.0):
            _clip(
                lo,
                hi,
                sign * point[:, axis] + half[axis] + margin,
                sign * direction[:, axis],
                np.zeros(len(group)),
            )
    inner = [lo + margin, hi - margin]
    outer = [lo - 0.0, hi + 0.0]
    for slot in range(k):  # every other input of the group stays below (within the pads)
        c = columns[group, slot]
        other = (c >= 0) & (slot != si) & (slot != sj)
        m = (linear[:, a] - linear[:, np.maximum(c, 0)]).T
        alpha = (m * point).sum(axis=1) + off[a] - off[np.maximum(c, 0)]
        beta = (m * direction).sum(axis=1)
        pad = slack[group] + np.sqrt((m * m).sum(axis=1)) * margin
        alpha = np.where(other, alpha, np.inf)
        beta = np.where(other, beta, 0.0)
        _clip(*outer, alpha, beta, -pad)
        _clip(*inner, alpha, beta, pad)
    outer_t = np.stack([outer[0] - margin, outer[1] + margin], axis=1)
    keep = outer_t[:, 0] <= outer_t[:, 1]
    return EnvelopeEdges(
        group[keep], a[keep], b[keep], normal[keep], line_off[keep], point[keep],
        direction[keep], outer_t[keep], np.stack(inner, axis=1)[keep], origin,
    )  # fmt: skip


def _nearly_degenerate(edges: EnvelopeEdges, linear: np.ndarray, table: np.ndarray) -> bool:
    """Whether some inputs of one group nearly (not exactly) repeat, so that their line is
    barely defined, or two groups' lines nearly (not exactly) coincide.  Cut along
    envelope edges, such layers snap otherwise than stage by stage; they go stage by
    stage."""
    scale = np.sqrt((linear * linear).sum(axis=0))
    cols = np.where(table >= 0, table, 0)
    for i in range(table.shape[1]):  # every pair of a group's inputs
        for j in range(i + 1, table.shape[1]):
            d = linear[:, cols[:, i]] - linear[:, cols[:, j]]
            both = (table[:, i] >= 0) & (table[:, j] >= 0)
            size = scale[cols[:, i]] + scale[cols[:, j]]
            apart = np.sqrt((d * d).sum(axis=0))
            if (both & (apart > 0) & (apart <= NEAR_REPEAT * size)).any():
                return True
    if len(edges) < 2:
        return False
    length = np.sqrt((edges.normal**2).sum(axis=1))
    line = np.column_stack([edges.normal / length[:, None], edges.offset / length])
    line *= np.where(line[:, :1] < 0, -1.0, 1.0)  # one sign per line
    key = np.round(line / NEAR_REPEAT).astype(np.int64)
    order = np.lexsort(key.T[::-1])
    near = (key[order][1:] == key[order][:-1]).all(axis=1)
    # lines repeated exactly (an input shared, or repeated) are cut as one: that is fine
    same = (line[order][1:] == line[order][:-1]).all(axis=1)
    return bool((near & ~same).any())


def _valid_after_merge(mesh: Mesh) -> bool:
    """Cheap checks that the merge made a valid mesh: every region of three corners or more
    and Euler's ``V - E + F = 1``."""
    if len(mesh.sizes) and mesh.sizes.min() < 3:
        return False
    boundary = int((mesh.incidence_source < 0).sum())
    used = np.zeros(mesh.num_vertices, dtype=bool)
    used[mesh.region_vertices] = True
    num_edges = (len(mesh.region_vertices) + boundary) // 2
    return int(used.sum()) - num_edges + mesh.num_regions == 1


def _concurrent_across_groups(mesh: Mesh, edges: EnvelopeEdges, index: int) -> bool:
    """Whether lines of two groups meet at a vertex where a third line meets them (lines of
    one group meet in threes at the corners of its envelope; those of different groups,
    in general, in twos)."""
    count = np.bincount(mesh.region_vertices, minlength=mesh.num_vertices)
    busy = count >= 5
    if not busy.any():
        return False
    at = busy[mesh.region_vertices].nonzero()[0]
    code = mesh.incidence_source[at]
    ours = ((code >> 32) == index) & (code >= 0)
    vertex, edge = mesh.region_vertices[at[ours]], code[ours] & 0xFFFFFFFF
    pair = np.unique(vertex * np.int64(len(edges) + 1) + edge)
    vertex, edge = pair // (len(edges) + 1), pair % (len(edges) + 1)
    group = edges.group[edge]
    starts = np.flatnonzero(np.r_[True, vertex[1:] != vertex[:-1]])
    lines = np.diff(np.r_[starts, len(vertex)])
    mixed = np.minimum.reduceat(group, starts) != np.maximum.reduceat(group, starts)
    return bool((mixed & (lines >= 3)).any())


def _input_differences(
    coords: np.ndarray,
    affine: tuple[np.ndarray, np.ndarray],
    first: np.ndarray,
    second: np.ndarray,
) -> np.ndarray:
    """``x[first] - x[second]`` at points ``coords (N, 2)``, ``(N, len(first))``, from the
    difference of the two maps (in global coordinates, as the stage-by-stage driver
    computes the inputs; inputs so close that the two ways round apart by more than the
    point tolerance go stage by stage, see :func:`_nearly_degenerate`)."""
    linear, offset = affine
    out = coords @ (linear[:, first] - linear[:, second])
    out += offset[first] - offset[second]
    return out


def _segment_filter(
    mesh: Mesh, edges: EnvelopeEdges, sel: np.ndarray
) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """A pair filter: cut region ``r`` along line ``sel[u]`` only where the line's ``outer``
    stretch reaches the region (the projections of its corners on the line)."""

    def keep(region: np.ndarray, unit: np.ndarray) -> np.ndarray:
        sizes = mesh.sizes[region]
        own, k = expand(sizes)
        corners = mesh.region_vertices[mesh.region_offsets[region][own] + k]
        e = sel[unit]
        t = edges.along(mesh.vertices[corners], e[own])
        starts = np.append(0, np.cumsum(sizes)[:-1])
        t_lo = np.minimum.reduceat(t, starts)
        t_hi = np.maximum.reduceat(t, starts)
        return (t_hi >= edges.outer[e, 0]) & (t_lo <= edges.outer[e, 1])

    return keep


def _round_size(remaining: int, total: int, mesh: Mesh, first: bool) -> int:
    """How many lines the next cut takes.

    A line is cut across whole regions, also beyond its stretch (merged again
    afterwards): the first cut, on a mesh of few large regions, takes few
    lines, the longest; the next takes the rest within regions about
    ``1 / first`` across.  Every cut's ``(vertex, line)`` table fits the
    budget's ``table_values``: so the first takes about ``sqrt(table / total)``
    lines (its mesh has about ``first**2 / 2`` vertices).
    """
    table = get_budget().table_values
    fit = max(1, table // max(mesh.num_vertices, 1))
    if first:
        fit = min(fit, max(FIRST_CUT, int(np.sqrt(table / (0.6 * max(total, 1))))))
    return min(fit, remaining)


def _layer_sides(mesh: Mesh, index: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(i1, i2, unit)``: the two incidences of each interior side made by op ``index``
    (a side made by a cut carries its unit's code on both incidences)."""
    i1, i2 = interior_sides(mesh)
    code = mesh.incidence_source[i1]
    ours = ((code >> 32) == index) & (code >= 0) & (mesh.incidence_source[i2] == code)
    i1, i2 = i1[ours], i2[ours]
    return i1, i2, code[ours] & 0xFFFFFFFF


def _surely_kept(
    mesh: Mesh,
    edges: EnvelopeEdges,
    i1: np.ndarray,
    i2: np.ndarray,
    e: np.ndarray,
    tol: np.ndarray,
) -> np.ndarray:
    """Sides that surely separate two winners of their own group.

    A side of line ``e`` within its ``inner`` stretch has only the line's two
    inputs within the tolerance of the largest at its ends; where the region
    on each side has a corner beyond the tolerance on its own side of the
    line, the winners of the two regions differ (or one is undetermined): the
    merge keeps the side whatever the other groups do.
    """
    fast = compiled_maxes()
    if fast is not None:  # the same numbers, one pass over the sides
        return fast.surely_kept(mesh, edges, i1, i2, e, tol)
    rv, nxt, prv = mesh.region_vertices, mesh.incidence_next, mesh.incidence_prev
    x = mesh.vertices[:, 0] - edges.origin[0]
    y = mesh.vertices[:, 1] - edges.origin[1]
    dx, dy = edges.direction[:, 0][e], edges.direction[:, 1][e]
    shift = (edges.point * edges.direction).sum(axis=1)[e]
    p, q = rv[i1], rv[nxt[i1]]
    t_p = x[p] * dx + y[p] * dy
    t_q = x[q] * dx + y[q] * dy
    lo, hi = edges.inner[:, 0][e] + shift, edges.inner[:, 1][e] + shift
    ok = (t_p >= lo) & (t_q >= lo) & (t_p <= hi) & (t_q <= hi)
    sel = ok.nonzero()[0]
    e, i1, i2 = e[sel], i1[sel], i2[sel]
    nx, ny, o = edges.normal[:, 0][e], edges.normal[:, 1][e], edges.offset[e]
    thr = 1.5 * tol[edges.group[e]] + 1e-12 * np.abs(o)
    # the corner after the side, then (where that one is within the tolerance) the one before
    far = []
    for inc in (i1, i2):
        a = rv[nxt[nxt[inc]]]
        v = x[a] * nx + y[a] * ny + o
        near = (np.abs(v) <= thr).nonzero()[0]
        b = rv[prv[inc[near]]]
        v[near] = x[b] * nx[near] + y[b] * ny[near] + o[near]
        far.append(v)
    ok[sel] = ((far[0] > thr) & (far[1] < -thr)) | ((far[0] < -thr) & (far[1] > thr))
    return ok


def group_winners(
    mesh: Mesh,
    layer: Any,
    table: np.ndarray,
    affine: tuple[np.ndarray, np.ndarray],
    tol: np.ndarray,
    regions: np.ndarray,
    groups: np.ndarray,
) -> np.ndarray:
    """The winner of group ``groups[q]`` in region ``regions[q]``, as
    :meth:`Evaluator.group_winners <regionscope.network.evaluate.Evaluator.group_winners>`
    finds it (the first input that is a candidate at every corner, ``-1`` where none
    is), with the input computed from its affine map at the corners, for the queried
    group's columns only.

    Returns
    -------
    (Q,) int64

    >>> square = Mesh.from_polygon(np.array([[0.0, 0], [1, 0], [1, 1], [0, 1]]))
    >>> layer = MaxPool([[0, 1]])                           # max(u, 2): input 1 everywhere
    >>> aff = (np.array([[1.0, 0.0], [0.0, 0.0]]), np.array([0.0, 2.0]))
    >>> group_winners(square, layer, layer.groups, aff, np.zeros(1), np.array([0]),
    ...               np.array([0])).tolist()
    [1]
    """
    if len(regions) == 0:
        return np.zeros(0, dtype=np.int64)
    linear, offset = affine
    fast = compiled_maxes(mesh.vertices)
    if fast is not None:  # the same values and comparisons, one pass per query
        return fast.winners_on_regions(mesh, table, affine, tol, regions, groups)
    sizes = mesh.sizes[regions]
    own, k = expand(sizes)
    xy = mesh.vertices[mesh.region_vertices[mesh.region_offsets[regions][own] + k]]
    cols = table[groups[own]]
    c = np.maximum(cols, 0)
    vals = xy[:, :1] * linear[0, c] + xy[:, 1:] * linear[1, c] + offset[c]
    cand = layer.candidates_of(vals, cols, groups[own], tol)
    every = np.logical_and.reduceat(cand, np.append(0, np.cumsum(sizes)[:-1]), axis=0)
    return np.where(every.any(axis=1), every.argmax(axis=1), -1)


def _merge_needless(
    mesh: Mesh,
    op: Op,
    table: np.ndarray,
    affine: tuple[np.ndarray, np.ndarray],
    edges: EnvelopeEdges,
    coincident: np.ndarray,
    tol: np.ndarray,
) -> Mesh:
    """Merge the regions a cut along whole lines (beyond the envelope edges) split
    needlessly, deciding as :func:`~regionscope.compute.merge.merge_layer` does; then
    give every side of the layer its group's code.

    Sides that surely stay (:func:`_surely_kept`) are not compared; for the
    others the winners of their group, of the groups whose lines coincided
    with theirs and of the groups sharing an input with it are compared at the
    regions' corners.
    """
    index = op.index
    layer: Any = op.layer
    i1, i2, e = _layer_sides(mesh, index)
    group = edges.group[e]
    differ = _surely_kept(mesh, edges, i1, i2, e, tol)
    rest = (~differ).nonzero()[0]
    ours = coincident[(coincident >> 32 == index).all(axis=1)] & 0xFFFFFFFF
    ours = edges.group[ours.reshape(-1, 2)]
    ours = np.concatenate([ours[ours[:, 0] != ours[:, 1]], layer.overlapping_groups()])
    pairs = np.concatenate([ours, ours[:, ::-1]])
    side, compare = [rest], [group[rest]]
    if len(pairs):
        order = np.argsort(pairs[:, 0], kind="stable")
        lo = np.searchsorted(pairs[order, 0], group[rest], side="left")
        hi = np.searchsorted(pairs[order, 0], group[rest], side="right")
        own, k = expand(hi - lo)
        side.append(rest[own])
        compare.append(pairs[order, 1][lo[own] + k])
    side_q, group_q = np.concatenate(side), np.concatenate(compare)
    r1, r2 = mesh.incidence_region[i1[side_q]], mesh.incidence_region[i2[side_q]]
    w1 = group_winners(mesh, layer, table, affine, tol, r1, group_q)
    w2 = group_winners(mesh, layer, table, affine, tol, r2, group_q)
    np.logical_or.at(differ, side_q, (w1 != w2) | (w1 < 0))
    merged, _, _ = merge_across(mesh, i1[~differ], i2[~differ])
    layer_of, unit = decode_source(merged.incidence_source)
    ours_inc = layer_of == index
    source = merged.incidence_source.copy()
    source[ours_inc] = encode_source(index, edges.group[unit[ours_inc]])
    return Mesh(
        merged.vertices, merged.region_vertices, merged.region_offsets, source, merged.num_corners
    )


def _finished(
    mesh: Mesh, groups: int, max_regions: int, report: Callable[[Mesh, int], None] | None
) -> Mesh:
    """The end of a layer: ``groups`` more reported done, and the region limit checked."""
    if report is not None:
        report(mesh, groups)
    if mesh.num_regions > max_regions:
        raise RegionLimitError(mesh.num_regions, max_regions)
    return mesh


def _cut_envelopes(
    ev: Evaluator,
    mesh: Mesh,
    op: Op,
    table: np.ndarray,
    affine: tuple[np.ndarray, np.ndarray],
    point_tol: float,
    max_regions: int,
    report: Callable[[Mesh, int], None] | None,
) -> Mesh | None:
    """Cut along the envelope edges of every group, in a few cuts, then merge once.

    ``None`` where the layer is nearly degenerate (:func:`_nearly_degenerate`,
    :func:`_concurrent_across_groups`) or the merge left an invalid mesh: the
    caller cuts it stage by stage.
    """
    index = op.index
    tol = np.broadcast_to(np.asarray(ev.unit_tol[index], dtype=np.float64), (len(table),))
    xy = mesh.vertices
    box = (xy.min(axis=0), xy.max(axis=0))
    diameter = float(np.hypot(*(box[1] - box[0])))
    margin = 4.0 * point_tol + 1e-9 * diameter
    edges = envelope_edges(table, affine, tol, box, margin)
    if not np.isfinite(edges.normal).all() or not np.isfinite(edges.offset).all():
        raise ValueError(
            f"layer {index} ({op.name}: MaxPool): its input is not finite at some points "
            "of the domain (float64 overflow); the weights or the domain are too large"
        )
    if _nearly_degenerate(edges, affine[0], table):
        return None
    codes = encode_source(index, np.arange(len(edges), dtype=np.int64))
    # longest first: the first cuts run across whole regions, the later ones within small
    order = np.argsort(edges.outer[:, 1] - edges.outer[:, 0], kind="stable")[::-1]
    last = np.zeros(len(table), dtype=np.int64)  # groups finished after each cut: progress
    np.maximum.at(last, edges.group[order], np.arange(len(order)))
    done_at = np.bincount(last, minlength=len(order) + 1)
    limit = 2 * max_regions + 64  # pieces cut needlessly go again in the merge
    coincident = []
    pos, reported = 0, 0
    while pos < len(order):
        step = _round_size(len(order) - pos, len(order), mesh, pos == 0)
        sel = np.sort(order[pos : pos + step])
        values = _input_differences(mesh.vertices, affine, edges.first[sel], edges.second[sel])
        keep = _segment_filter(mesh, edges, sel)
        res = cut(
            mesh, values, tol[edges.group[sel]], codes[sel], point_tol, limit, pair_filter=keep
        )
        coincident.append(res.coincident)
        mesh = res.mesh
        pos += step
        if report is not None and pos < len(order):
            finished = int(done_at[:pos].sum())
            report(mesh, finished - reported)
            reported = finished
    if _concurrent_across_groups(mesh, edges, index):
        return None
    coincident.append(np.zeros((0, 2), dtype=np.int64))
    mesh = _merge_needless(mesh, op, table, affine, edges, np.concatenate(coincident), tol)
    if not _valid_after_merge(mesh):
        return None
    return _finished(mesh, len(table) - reported, max_regions, report)


def cut_windowed(
    ev: Evaluator,
    mesh: Mesh,
    op: Op,
    affine: tuple[np.ndarray, np.ndarray],
    point_tol: float,
    max_regions: int,
    report: Callable[[Mesh, int], None] | None = None,
) -> Mesh:
    """Cut ``mesh`` by the max layer ``op``, whose input is ``affine`` on the domain.

    Groups of at most :data:`MAX_ENVELOPE_INPUTS` inputs are cut along their
    envelope edges (:func:`envelope_edges`): a few cuts, each region cut only
    by the lines whose edge reaches it, then one merge of the pieces cut
    beyond an edge's ends.  Larger groups go block by block, stage by stage.
    ``report(mesh, groups)`` is called as groups are finished.  The result is
    the partition the stage-by-stage driver makes.
    """
    layer: Any = op.layer
    ngroups = layer.num_units(op.in_width)
    k = layer.num_stages(op.in_width) + 1
    table = layer.group_columns(np.arange(ngroups), op.in_width)
    if report is not None:  # a layer that starts again another way counts its groups once
        sent = [0]
        outer_report = report

        def report(cur: Mesh, groups: int) -> None:
            groups = min(groups, ngroups - sent[0])
            sent[0] += groups
            outer_report(cur, groups * (k - 1))  # the driver counts each stage's units

    if k <= MAX_ENVELOPE_INPUTS:
        out = _cut_envelopes(ev, mesh, op, table, affine, point_tol, max_regions, report)
        if out is not None:
            return out
        if ngroups <= PLAIN_GROUPS:  # nearly degenerate and small: as the driver cuts it
            return _cut_plain(ev, mesh, op, point_tol, max_regions, report)
    return _cut_blocks(ev, mesh, op, affine, point_tol, max_regions, report)


def _cut_plain(
    ev: Evaluator,
    mesh: Mesh,
    op: Op,
    point_tol: float,
    max_regions: int,
    report: Callable[[Mesh, int], None] | None,
) -> Mesh:
    """The layer cut stage by stage over the whole mesh, every group's values at every
    vertex, then merged: the stage-by-stage driver's own steps for a max layer on an
    affine input (so the same partition, also where snapping decides)."""
    layer: Any = op.layer
    index = op.index
    ngroups = layer.num_units(op.in_width)
    tol = np.broadcast_to(np.asarray(ev.unit_tol[index], dtype=np.float64), (ngroups,))
    budget = get_budget()
    coincident = [np.zeros((0, 2), dtype=np.int64)]
    for stage in range(layer.num_stages(op.in_width)):
        codes = encode_source(index, layer.unit_of(stage, np.arange(ngroups)))
        g0 = 0
        while g0 < ngroups:
            g1 = min(ngroups, g0 + max(1, budget.chunk_values * 16 // max(mesh.num_vertices, 1)))
            z, winners = ev.stage_values(mesh.vertices, index, stage, slice(g0, g1))
            if not np.isfinite(z).all():
                raise ValueError(
                    f"layer {index} ({op.name}: MaxPool): its input is not finite at some "
                    "points of the domain (float64 overflow); the weights or the domain are "
                    "too large"
                )
            keep = disagreeing(mesh, winners) if winners is not None else None
            res = cut(mesh, z, tol[g0:g1], codes[g0:g1], point_tol, max_regions, pair_filter=keep)
            coincident.append(res.coincident)
            mesh = res.mesh
            g0 = g1
    mesh, _ = merge_layer(ev, mesh, index, None, np.concatenate(coincident))
    return _finished(mesh, ngroups, max_regions, report)


def _cut_blocks(
    ev: Evaluator,
    mesh: Mesh,
    op: Op,
    affine: tuple[np.ndarray, np.ndarray],
    point_tol: float,
    max_regions: int,
    report: Callable[[Mesh, int], None] | None = None,
) -> Mesh:
    """Cut ``mesh`` by the max layer ``op``, whose input is ``affine`` on the domain.

    Blocks of groups go through all their stages and are then merged
    (:func:`~regionscope.compute.merge.merge_layer`); ``report(mesh, groups)``
    is called after each block.  The result is the partition the stage-by-stage
    driver makes.
    """
    layer: Any = op.layer
    ngroups = layer.num_units(op.in_width)
    k = layer.num_stages(op.in_width) + 1
    table = layer.group_columns(np.arange(ngroups), op.in_width)
    g0 = 0
    while g0 < ngroups:
        g1 = g0 + block_size(ngroups - g0)
        block = slice(g0, g1)
        coincident = []
        for stage in range(k - 1):
            mesh, co = _cut_stage(
                ev, mesh, op, table, stage, block, affine, point_tol, max_regions
            )
            coincident.append(co)
        mesh, _ = merge_layer(ev, mesh, op.index, None, np.concatenate(coincident), block)
        if report is not None:
            report(mesh, g1 - g0)
        g0 = g1
    return mesh
