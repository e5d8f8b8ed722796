"""Max layers whose input is affine on the domain, cut with work that follows their regions.

A max layer (maxout, windowed max-pooling, an argmax) is cut stage by stage:
stage ``s`` compares each group's input ``s + 1`` with the largest of the
inputs before it, and the later stages run on a mesh that the earlier ones
already cut.  Evaluating every group at every vertex of that mesh costs
``vertices * groups * k`` per stage: quadratic in the groups, while the
regions the layer makes grow about as fast.

When the layer's input is one affine map of the domain point (nothing
piecewise before it: :attr:`Evaluator.prefix_maps
<regionscope.network.evaluate.Evaluator.prefix_maps>`), the zero set of
group ``g``'s stage ``s`` lies on the lines ``x[s + 1] = x[j]``, ``j <= s``,
known in advance.  :func:`~regionscope.geometry.grid.boxes_meeting_lines`
finds the regions those lines come near (within the group's tolerance), and
only there are values computed: at the corners of those regions, for those
groups.  Everywhere else a group's value keeps one strict sign over each
region, so no cut can happen there, and the cut is told so by its pair
filter.  Groups are taken a block at a time, all stages and then the merge,
so that the mesh each block cuts carries only real sides.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from regionscope.errors import RegionLimitError
from regionscope.geometry import Mesh, cut, encode_source
from regionscope.geometry.arrays import expand
from regionscope.geometry.grid import boxes_meeting_lines
from regionscope.geometry.submesh import splice, submesh
from regionscope.network.evaluate import Evaluator
from regionscope.network.layers import MaxPool
from regionscope.network.program import Op

from .merge import merge_layer
from .pairs import disagreeing

__all__ = ["affine_input", "cut_windowed", "stage_lines", "stage_values", "block_size"]


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
