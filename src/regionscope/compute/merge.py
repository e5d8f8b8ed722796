"""Merging the regions a max or argmax layer cut needlessly."""

from __future__ import annotations

from typing import Any

import numpy as np

from regionscope.geometry import Mesh, decode_source
from regionscope.geometry.arrays import expand
from regionscope.geometry.kernels import compiled_maxes
from regionscope.geometry.merging import merge_across
from regionscope.network.evaluate import Evaluator
from regionscope.tolerances import get_budget

__all__ = ["merge_layer", "mask_winners", "tied"]


def tied(masks: np.ndarray) -> np.ndarray:
    """``bool`` of ``masks``' shape: the groups whose candidate masks (int64, bit ``s``: slot
    ``s`` is within the group's tolerance of its largest input) do not hold exactly one
    candidate, as :meth:`MaxPool.decided <regionscope.network.layers.MaxPool>` negated.

    >>> tied(np.array([0b100, 0b101, 0])).tolist()
    [False, True, True]
    """
    return (masks == 0) | ((masks & (masks - 1)) != 0)


def mask_winners(
    masks: np.ndarray,
    region_vertices: np.ndarray,
    region_offsets: np.ndarray,
    regions: np.ndarray,
    groups: np.ndarray,
) -> np.ndarray:
    """``(Q,) int64``: the first slot of group ``groups[q]`` that is a candidate at every
    corner of region ``regions[q]``, read from the candidate masks ``(V, G) int64`` at the
    vertices (:func:`~regionscope.compute.tables.winners_and_maxima`); ``-1`` where no slot
    is.  What :meth:`Evaluator.group_winners
    <regionscope.network.evaluate.Evaluator.group_winners>` finds from the inputs.

    >>> square = np.array([0, 1, 2, 3]), np.array([0, 4])
    >>> mask_winners(np.array([[6], [7], [6], [2]]), *square, np.array([0]), np.array([0]))
    array([1])
    """
    fast = compiled_maxes()
    if fast is not None:
        return fast.mask_winners(masks, region_vertices, region_offsets, regions, groups)
    if len(regions) == 0:
        return np.zeros(0, dtype=np.int64)
    sizes = np.diff(region_offsets)[regions]
    own, k = expand(sizes)
    corners = region_vertices[region_offsets[regions][own] + k]
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    both = np.bitwise_and.reduceat(masks[corners, groups[own]], starts)
    lowest = both & -both  # (a power of two, exact as a float: its bit's index is its log2)
    return np.where(both != 0, np.log2(np.maximum(lowest, 1)).astype(np.int64), -1)


def _sides_made_by(
    mesh: Mesh, index: int, groups: slice | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(i1, i2, group)``: the two incidences of each interior side made by op ``index``
    (by ``groups`` only, if given), and the group that made it.

    Both incidences of a side carry the code of the unit that made it, so the
    sides are paired among those incidences alone: the work grows with them.
    """
    layer_of, unit = decode_source(mesh.incidence_source)
    ours = layer_of == index
    if groups is not None:
        ours &= (unit >= groups.start) & (unit < groups.stop)
    inc = ours.nonzero()[0]
    key = mesh.side_keys[inc]
    order = key.argsort(kind="stable")
    pair = (key[order][1:] == key[order][:-1]).nonzero()[0]
    i1, i2 = inc[order[pair]], inc[order[pair + 1]]
    return i1, i2, unit[i1]


def _tied_at_both_ends(
    ev: Evaluator,
    mesh: Mesh,
    index: int,
    x: np.ndarray | None,
    i1: np.ndarray,
    layer: Any,
    tol: Any,
    columns: np.ndarray | None,
    masks: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """``(side, group)`` pairs: the groups of max ``layer`` whose inputs tie (two or more
    within the group's tolerance of its largest) at both ends of the side of incidence
    ``i1[side]``.

    A group's winner can change across a side only along a line of its own; if that line
    runs along the side (no chord was cut for it: no region was crossed, e.g. the same
    input line in two groups), the group ties at both ends.  ``x`` is the layer's input at
    the vertices (on ``columns`` of it with a restricted layer), or None: computed here;
    the groups' candidate ``masks`` at the vertices, where given, are read instead.
    """
    groups = getattr(layer, "groups", None)  # (an argmax has one group: its own)
    if len(i1) == 0 or groups is None or len(groups) < 2:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    rv = mesh.region_vertices
    ends = np.concatenate([rv[i1], rv[mesh.incidence_next[i1]]])
    verts, at = np.unique(ends, return_inverse=True)
    n = len(i1)
    if masks is not None:
        tied_at = tied(masks[verts])
        return np.nonzero(tied_at[at[:n]] & tied_at[at[n:]])
    step = max(1, get_budget().chunk_values // max(groups.size, 1))
    tied_at = np.empty((len(verts), len(groups)), dtype=bool)
    for s in range(0, len(verts), step):
        part = verts[s : s + step]
        if x is not None:
            vals = x[part]
        else:
            vals = ev.layer_input(mesh.vertices[part], index)
            vals = vals if columns is None else vals[:, columns]
        tied_at[s : s + step] = ~layer.decided(vals, tol).reshape(len(part), -1)
    return np.nonzero(tied_at[at[:n]] & tied_at[at[n:]])


def merge_layer(
    ev: Evaluator,
    mesh: Mesh,
    index: int,
    x: np.ndarray | None,
    coincident: np.ndarray,
    groups: slice | None = None,
    restricted: Any = None,
    masks: np.ndarray | None = None,
) -> tuple[Mesh, np.ndarray]:
    """Merge regions that a max/argmax layer cut needlessly.

    Two regions on either side of a side the layer made have equal patterns
    when the group that made the side has one winner on both sides, and so
    has every group whose chord coincided with it (``coincident``: pairs of
    source codes reported by the cuts): any other group's winner changes only
    across a chord of its own.  So only those groups are compared, for only
    those regions: the work grows with the sides the layer made, not with
    regions times groups.  ``x``, if known, is the layer's input at the
    vertices (stored by the driver whenever the memory budget allows); without
    it, the groups' inputs are computed at the regions' corners, once per
    distinct vertex.  With ``groups``, only the sides made by those groups are
    candidates (the others were merged already).  With ``restricted`` (a
    :class:`~regionscope.compute.undecided.Restricted`), ``x`` holds only the
    columns its groups read and only its groups are compared: every other
    group had one winner on each region the layer started from, so on both
    sides of any side the layer made.  ``masks``, with ``restricted``, are its groups'
    candidate masks at the vertices, ``(V, U) int64``
    (:func:`~regionscope.compute.tables.winners_and_maxima`): ties and winners are read
    from them (:func:`tied`, :func:`mask_winners`), the same as from ``x``.

    Returns the merged mesh and ``kept (V,) bool``, the old vertices it kept.
    """
    if masks is not None and (restricted is None or len(masks) != mesh.num_vertices):
        raise ValueError("merge_layer: candidate masks are of a restricted layer's groups "
                         "at every vertex")  # fmt: skip
    i1, i2, group = _sides_made_by(mesh, index, groups)
    if len(group) == 0:  # the layer (or these groups) cut nothing: nothing to merge
        return mesh, np.ones(mesh.num_vertices, dtype=bool)
    if x is not None and len(x) != mesh.num_vertices:
        x = None  # computed at the corners, for the groups compared only
    # the groups to compare across each side: its own, those whose chords coincided with
    # it, and those sharing an input with it (their winners can move with its ties)
    ours = coincident[(coincident >> 32 == index).all(axis=1)] & 0xFFFFFFFF
    layer: Any = ev.program.ops[index].layer
    local = None
    if restricted is not None:  # in the restricted layer's own numbering
        layer, local = restricted.layer, (restricted.layer, restricted.tol)
        group = restricted.local(group)
        ours = restricted.local(ours.reshape(-1, 2))
        ours = ours[(ours >= 0).all(axis=1)]
    ours = np.concatenate([ours.reshape(-1, 2), layer.overlapping_groups()])
    pairs = np.concatenate([ours, ours[:, ::-1]]) if len(ours) else ours.reshape(0, 2)
    side = [np.arange(len(group))]
    compare = [group]
    columns = None if restricted is None else restricted.columns
    tol = ev.unit_tol[index] if restricted is None else restricted.tol
    tied_side, tied_group = _tied_at_both_ends(ev, mesh, index, x, i1, layer, tol, columns, masks)
    side.append(tied_side)
    compare.append(tied_group)
    if len(pairs):
        order = np.argsort(pairs[:, 0], kind="stable")
        lo = np.searchsorted(pairs[order, 0], group, side="left")
        hi = np.searchsorted(pairs[order, 0], group, side="right")
        own, k = expand(hi - lo)
        side.append(own)
        compare.append(pairs[order, 1][lo[own] + k])
    side_q = np.concatenate(side)
    group_q = np.concatenate(compare)
    r1 = mesh.incidence_region[i1[side_q]]
    r2 = mesh.incidence_region[i2[side_q]]
    rv, offsets = mesh.region_vertices, mesh.region_offsets
    if masks is not None:
        w1 = mask_winners(masks, rv, offsets, r1, group_q)
        w2 = mask_winners(masks, rv, offsets, r2, group_q)
    else:
        w1 = ev.group_winners(index, x, rv, offsets, r1, group_q, mesh.vertices, local)
        w2 = ev.group_winners(index, x, rv, offsets, r2, group_q, mesh.vertices, local)
    differ = np.zeros(len(group), dtype=bool)
    np.logical_or.at(differ, side_q, (w1 != w2) | (w1 < 0))
    merged, _, kept = merge_across(mesh, i1[~differ], i2[~differ])
    return merged, kept
