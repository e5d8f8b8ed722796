"""The chords of a cut: where units cross region boundaries, and where chords cross.

Steps 3 to 8 of :func:`regionscope.geometry.cutting.cut`, each a function of
flat arrays: :func:`chord_ends`, :func:`edge_points`, :func:`make_chords`,
:func:`chord_crossings`, :func:`merge_concurrent` (with :func:`along_chords`,
the crossings in order along each chord) and :func:`chord_segments`.  This
is the NumPy reference; the compiled kernels
(:mod:`regionscope.geometry.kernels`) give the same arrays.

Examples
--------
Two units, ``x`` and ``y``, on the square ``[-1, 1]^2``: two chords crossing
at the origin, each cut there into two segments.

>>> import numpy as np
>>> from regionscope.geometry.cutting import crossed_pairs
>>> from regionscope.geometry.mesh import Mesh, encode_source
>>> square = Mesh.from_polygon(np.array([[-1.0, -1], [1, -1], [1, 1], [-1, 1]]))
>>> values, tol = square.vertices.copy(), np.zeros(2)
>>> pairs = crossed_pairs(values, tol, square.region_vertices, square.region_offsets)
>>> ends = chord_ends(square, values, tol, *pairs)
>>> points, at = edge_points(ends, square.vertices, 1e-12)
>>> chords = make_chords(ends, at, encode_source(0, np.arange(2)))
>>> xy = np.concatenate([square.vertices, points.xy])
>>> crossings = chord_crossings(chords, xy, 1, 100)
>>> crossings.xy
array([[0., 0.]])
>>> point_of, roots, _ = merge_concurrent(crossings, chords, xy, 1e-12)
>>> chord_segments(chords, crossings, len(xy) + point_of).seg_chord.tolist()
[0, 0, 1, 1]
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np

from regionscope.errors import RegionLimitError
from regionscope.tolerances import NEAR_FACTOR, get_budget

from .arrays import (
    argsort_ints,
    changes,
    components,
    exclusive_cumsum,
    expand,
    lexsort2,
    sort_by,
    untie,
)
from .mesh import Mesh

__all__ = [
    "ChordEnds",
    "EdgePoints",
    "Chords",
    "Crossings",
    "chord_ends",
    "edge_points",
    "make_chords",
    "chord_crossings",
    "merge_concurrent",
    "rise_along",
    "Along",
    "along_chords",
    "chord_segments",
    "ChordPaths",
    "EndVertices",
]


@dataclasses.dataclass(frozen=True)
class ChordEnds:
    """The two ends of the chord of each crossed (region, unit) pair.

    End 0 is where the unit goes from positive to negative around the region
    (counter-clockwise), end 1 where it goes back.  An end is either a corner
    where the unit is zero, or a point inside the side from corner
    ``edge_from`` to corner ``edge_to``.
    """

    region: np.ndarray  #: (P,) int64
    unit: np.ndarray  #: (P,) int64
    size: np.ndarray  #: (P,) int64 corners of the region
    on_side: np.ndarray  #: (P, 2) bool: the end lies inside a side
    corner: np.ndarray  #: (P, 2) int64 the zero corner (where not on a side)
    corner_pos: np.ndarray  #: (P, 2) int64 its position around the region
    side_pos: np.ndarray  #: (P, 2) int64 position of the side's first corner
    side_lo: np.ndarray  #: (P, 2) int64 the side's smaller vertex
    side_hi: np.ndarray  #: (P, 2) int64 the side's larger vertex
    side_forward: np.ndarray  #: (P, 2) bool: the side runs from lo to hi
    side_t: np.ndarray  #: (P, 2) float64 crossing parameter from lo to hi


def chord_ends(
    mesh: Mesh,
    values: np.ndarray,
    unit_tol: np.ndarray,
    pair_region: np.ndarray,
    pair_unit: np.ndarray,
) -> ChordEnds:
    """Find the two sign transitions of each crossed pair around its region.

    Signs are those of :func:`~regionscope.geometry.cutting.classify`.  Going
    round the region's corners, zero corners are skipped: a transition from a
    nonzero sign to the opposite one happens either across a side (the two
    corners are neighbours) or at the zero corner just after the first.
    """
    rv = mesh.region_vertices
    m = mesh.sizes[pair_region]
    pid, k = expand(m)
    pstart = exclusive_cumsum(m)
    inc = mesh.region_offsets[pair_region][pid] + k
    unit = pair_unit[pid]
    z = values[rv[inc], unit]
    tol = unit_tol[unit]
    s = (z > tol).astype(np.int8) - (z < -tol).astype(np.int8)
    g = np.arange(len(s), dtype=np.int64)
    nonzero_at = np.where(s != 0, g, -1)
    run = np.maximum.accumulate(nonzero_at)
    prev = np.empty(len(s), dtype=np.int64)  # previous nonzero position, cyclically
    prev[0] = -1
    prev[1:] = run[:-1]
    last_nonzero = np.maximum.reduceat(nonzero_at, pstart)
    prev = np.where(prev < pstart[pid], last_nonzero[pid], prev)
    sign_prev = s[prev]
    first_of = []
    for want in (-1, 1):  # the first "+ to -" and the first "- to +" transition
        idx = ((s == want) & (sign_prev == -want)).nonzero()[0]
        first_of.append(idx[changes(pid[idx])])
    ends = np.stack(first_of, axis=1)  # (P, 2): one transition of each kind per pair
    before = prev[ends]
    p_end = (pstart + m)[:, None]
    on_side = (before == ends - 1) | ((ends == pstart[:, None]) & (before == p_end - 1))
    zero_pos = np.where(before + 1 < p_end, before + 1, pstart[:, None])
    va = rv[inc[before]]
    vb = rv[inc[ends]]
    lo = np.minimum(va, vb)
    hi = np.maximum(va, vb)
    unit2 = np.repeat(pair_unit[:, None], 2, axis=1)
    z_lo = values[lo, unit2]
    z_hi = values[hi, unit2]
    with np.errstate(invalid="ignore", divide="ignore"):
        t = np.where(on_side, z_lo / (z_lo - z_hi), 0.0)
    return ChordEnds(
        region=pair_region,
        unit=pair_unit,
        size=m,
        on_side=on_side,
        corner=rv[inc[zero_pos]],
        corner_pos=k[zero_pos],
        side_pos=k[before],
        side_lo=lo,
        side_hi=hi,
        side_forward=va == lo,
        side_t=np.clip(t, 0.0, 1.0),
    )


@dataclasses.dataclass(frozen=True)
class EdgePoints:
    """New vertices inside old sides, sorted by side then position along it."""

    key: np.ndarray  #: (N,) int64 side key ``lo * V + hi``
    t: np.ndarray  #: (N,) float64 position from lo to hi
    lo: np.ndarray  #: (N,) int64
    hi: np.ndarray  #: (N,) int64
    xy: np.ndarray  #: (N, 2) float64
    #: regions with two crossings of a side that are one point up to snapping, yet apart
    near_regions: np.ndarray = dataclasses.field(
        default_factory=lambda: np.zeros(0, dtype=np.int64)
    )
    #: regions with crossings of a side that were merged into one point
    merged_regions: np.ndarray = dataclasses.field(
        default_factory=lambda: np.zeros(0, dtype=np.int64)
    )


@dataclasses.dataclass(frozen=True)
class EndVertices:
    """The vertex of each chord end, and where it lies around its region.

    ``pos`` is the corner index plus the fraction of the way along the side;
    ``corner`` and ``step`` say the same with integers: the end is corner
    ``corner`` (``step == 0``), or the ``step``-th new vertex along the side
    leaving that corner (counter-clockwise).
    """

    vid: np.ndarray  #: (P, 2) int64, new vertices numbered from ``V``
    pos: np.ndarray  #: (P, 2) float64
    corner: np.ndarray  #: (P, 2) int64
    step: np.ndarray  #: (P, 2) int64


def edge_points(
    ends: ChordEnds,
    vertices: np.ndarray,
    point_tol: float,
    values: np.ndarray | None = None,
    unit_tol: np.ndarray | None = None,
) -> tuple[EdgePoints, EndVertices]:
    """One new vertex per (side, unit); crossings of a side closer than ``point_tol`` are one.

    Given ``values`` and ``unit_tol``, neighbouring crossings of a side that
    lie within each other's unit tolerance (one point up to snapping, but
    farther apart than ``point_tol``) are reported: the regions they come from
    are ``near``, to be cut one unit at a time (see :func:`cut`).

    Returns the new vertices (sorted by side, then along the side, then by
    unit), and the vertex of every chord end (:class:`EndVertices`).
    """
    nverts = len(vertices)
    ex = ends.on_side.ravel().nonzero()[0]
    e_lo = ends.side_lo.ravel()[ex]
    e_hi = ends.side_hi.ravel()[ex]
    e_unit = ends.unit[ex >> 1]
    e_t = ends.side_t.ravel()[ex]
    ekey = e_lo * np.int64(nverts) + e_hi
    order = lexsort2(e_unit, ekey)
    first = changes(ekey[order], e_unit[order])
    uniq = order[first]  # one entry per (side, unit)
    crossing_of = np.empty(len(ex), dtype=np.int64)
    crossing_of[order] = first.cumsum() - 1
    u_key, u_t, u_lo, u_hi = ekey[uniq], e_t[uniq], e_lo[uniq], e_hi[uniq]
    # merge crossings of one side closer than the point tolerance
    o = sort_by(u_key, u_t, e_unit[uniq])
    d = vertices[u_hi[o]] - vertices[u_lo[o]]
    side_len = np.sqrt(d[:, 0] * d[:, 0] + d[:, 1] * d[:, 1])
    new_cluster = np.empty(len(o), dtype=bool)
    new_cluster[:1] = True
    key_o = u_key[o]
    t_o = u_t[o]
    same_side = key_o[1:] == key_o[:-1]
    gap = t_o[1:] - t_o[:-1]
    close = gap * side_len[1:] <= point_tol
    new_cluster[1:] = ~(same_side & close)
    near = np.zeros(len(gap), dtype=bool)
    if values is not None and unit_tol is not None:
        unit = e_unit[uniq][o]
        lo_o, hi_o = u_lo[o][1:], u_hi[o][1:]
        for k in (unit[1:], unit[:-1]):  # the value of either unit at the other's crossing
            near |= gap * np.abs(values[hi_o, k] - values[lo_o, k]) <= unit_tol[k]
        near &= same_side & ~close
    cluster_of = np.empty(len(o), dtype=np.int64)
    cluster_of[o] = new_cluster.cumsum() - 1
    pair_region = ends.region[ex >> 1]

    def regions_on(keys: np.ndarray) -> np.ndarray:
        return np.unique(pair_region[np.isin(ekey, keys)]) if len(keys) else keys

    near_regions = regions_on(key_o[1:][near])
    merged_regions = regions_on(key_o[1:][same_side & close])
    rep = o[new_cluster]
    lo, hi, t = u_lo[rep], u_hi[rep], u_t[rep]
    key = u_key[rep]
    points = EdgePoints(
        key=key,
        t=t,
        lo=lo,
        hi=hi,
        xy=vertices[lo] + t[:, None] * (vertices[hi] - vertices[lo]),
        near_regions=near_regions,
        merged_regions=merged_regions,
    )
    # each point's rank along its side, and the number of points on the side
    side_first = changes(key).nonzero()[0]
    side_of = np.cumsum(changes(key)) - 1
    rank = np.arange(len(key)) - side_first[side_of]
    count = np.diff(np.append(side_first, len(key)))[side_of]
    vid = ends.corner.ravel().copy()
    pos = ends.corner_pos.ravel().astype(np.float64)
    corner = ends.corner_pos.ravel().copy()
    step = np.zeros(len(vid), dtype=np.int64)
    cl = cluster_of[crossing_of]
    vid[ex] = nverts + cl
    forward = ends.side_forward.ravel()[ex]
    t_rep = t[cl]
    pos[ex] = ends.side_pos.ravel()[ex] + np.where(forward, t_rep, 1.0 - t_rep)
    corner[ex] = ends.side_pos.ravel()[ex]
    step[ex] = np.where(forward, rank[cl] + 1, count[cl] - rank[cl])
    return points, EndVertices(
        vid.reshape(-1, 2), pos.reshape(-1, 2), corner.reshape(-1, 2), step.reshape(-1, 2)
    )


@dataclasses.dataclass(frozen=True)
class Chords:
    """Chords to insert, sorted by region then unit.

    End ``a`` is where the unit goes from positive to negative around the
    region (counter-clockwise), end ``b`` where it goes back; each end's place
    is as in :class:`EndVertices`.
    """

    region: np.ndarray  #: (C,) int64
    unit: np.ndarray  #: (C,) int64 the unit (column of the values)
    code: np.ndarray  #: (C,) int64 source code
    pos_a: np.ndarray  #: (C,) float64 position of each end around the region
    pos_b: np.ndarray
    vid_a: np.ndarray  #: (C,) int64 vertex of each end
    vid_b: np.ndarray
    corner_a: np.ndarray  #: (C,) int64 corner index of each end (see EndVertices)
    corner_b: np.ndarray
    step_a: np.ndarray  #: (C,) int64 step along the side from that corner
    step_b: np.ndarray
    #: ``(K, 2) int64`` source codes of coincident chords: the one kept, one dropped
    coincident: np.ndarray = dataclasses.field(
        default_factory=lambda: np.zeros((0, 2), dtype=np.int64)
    )

    def __len__(self) -> int:
        return len(self.region)


def make_chords(
    ends: ChordEnds,
    at: EndVertices,
    unit_codes: np.ndarray,
    mesh: Mesh | None = None,
) -> Chords:
    """Drop chords that are a point or run along a side; keep one of coincident chords.

    The side a kept chord makes carries its unit's code only: the pairs of
    codes of coincident chords are reported (``Chords.coincident``), so that
    whoever reads a side's code knows the other units that change there.
    Given the ``mesh``, a chord along an existing side is reported with that
    side's code too.
    """
    end_vid, end_pos = at.vid, at.pos
    size = ends.size.astype(np.float64)
    gap = np.abs(end_pos[:, 0] - end_pos[:, 1])
    along_side = (at.step == 0).all(axis=1) & ((gap == 1) | (gap == size - 1))
    ok = (end_vid[:, 0] != end_vid[:, 1]) & ~along_side
    v1 = end_vid.min(axis=1)
    v2 = end_vid.max(axis=1)
    sel = ok.nonzero()[0]
    coincident = np.zeros((0, 2), dtype=np.int64)
    # chords of one region with the same two end vertices coincide: keep the first unit's
    vkey = v1[sel] * np.int64(max(int(end_vid.max(initial=0)) + 1, 1)) + v2[sel]
    by_key = lexsort2(vkey, ends.region[sel])
    if len(sel) > 1 and not changes(ends.region[sel][by_key], vkey[by_key]).all():
        sel = sel[np.lexsort((ends.unit[sel], v2[sel], v1[sel], ends.region[sel]))]
        dup = np.zeros(len(sel), dtype=bool)
        dup[1:] = ~changes(ends.region[sel], v1[sel], v2[sel])[1:]
        kept_of = np.maximum.accumulate(np.where(dup, -1, np.arange(len(sel))))
        pairs = np.stack([ends.unit[sel[kept_of[dup]]], ends.unit[sel[dup]]], axis=1)
        coincident = unit_codes[pairs].reshape(-1, 2)
        sel = np.sort(sel[~dup])  # sorted by (region, unit) as the pairs are
    keep = sel
    if mesh is not None and along_side.any():
        on = along_side.nonzero()[0]
        lo = np.minimum(end_pos[on, 0], end_pos[on, 1]).astype(np.int64)
        k = np.where(gap[on] == 1, lo, size[on].astype(np.int64) - 1)  # the side leaving k
        side = mesh.incidence_source[mesh.region_offsets[ends.region[on]] + k]
        along = np.stack([side, unit_codes[ends.unit[on]]], axis=1)
        coincident = np.concatenate([coincident, along[side >= 0]])
    if len(coincident) > 1:
        coincident = np.unique(coincident, axis=0)
    return Chords(
        region=ends.region[keep],
        unit=ends.unit[keep],
        code=unit_codes[ends.unit[keep]],
        pos_a=end_pos[keep, 0],
        pos_b=end_pos[keep, 1],
        vid_a=end_vid[keep, 0],
        vid_b=end_vid[keep, 1],
        corner_a=at.corner[keep, 0],
        corner_b=at.corner[keep, 1],
        step_a=at.step[keep, 0],
        step_b=at.step[keep, 1],
        coincident=coincident,
    )


@dataclasses.dataclass(frozen=True)
class Crossings:
    """Crossings of chords ``a[x]`` and ``b[x]``, at ``s_a`` along one, ``s_b`` along the other."""

    a: np.ndarray  #: (X,) int64
    b: np.ndarray  #: (X,) int64
    s_a: np.ndarray  #: (X,) float64
    s_b: np.ndarray  #: (X,) float64
    xy: np.ndarray  #: (X, 2) float64

    def __len__(self) -> int:
        return len(self.a)


def _interleaved(
    chords: Chords, num_regions: int, max_regions: int
) -> tuple[np.ndarray, np.ndarray]:
    """Pairs of chords of one region whose ends interleave around it (they cross).

    Each crossing adds a region: :class:`RegionLimitError` is raised while
    enumerating, as soon as ``num_regions`` plus the chords and crossings
    found exceed ``max_regions``, before memory runs out.
    """
    nch = len(chords)
    # rank end positions within regions (equal positions are the same vertex)
    ep_region = np.concatenate([chords.region, chords.region])
    ep_pos = np.concatenate([chords.pos_a, chords.pos_b])
    o = lexsort2(ep_pos, ep_region)
    rank = np.empty(len(o), dtype=np.int64)
    rank[o] = changes(ep_region[o], ep_pos[o]).cumsum() - 1
    lo_rank = np.minimum(rank[:nch], rank[nch:])
    hi_rank = np.maximum(rank[:nch], rank[nch:])
    by_lo = lo_rank.argsort(kind="stable")
    lo_sorted = lo_rank[by_lo]
    start = np.searchsorted(lo_sorted, lo_rank, side="right")
    stop = np.searchsorted(lo_sorted, hi_rank, side="left")
    counts = np.maximum(stop - start, 0)
    # enumerate candidates in chunks of about `budget` pairs
    budget = get_budget().table_values
    cum = counts.cumsum()
    bounds = [0]
    if len(cum) and cum[-1] > budget:
        marks = np.searchsorted(cum, np.arange(budget, cum[-1], budget))
        bounds += sorted({int(x) + 1 for x in marks if x + 1 < nch})
    bounds.append(nch)
    xa_parts: list[np.ndarray] = []
    xb_parts: list[np.ndarray] = []
    found = 0
    for c0, c1 in zip(bounds[:-1], bounds[1:], strict=True):
        own, off = expand(counts[c0:c1])
        own = own + c0
        cand = by_lo[start[own] + off]
        crosses = hi_rank[cand] > hi_rank[own]
        xa_parts.append(own[crosses])
        xb_parts.append(cand[crosses])
        found += int(crosses.sum())
        if num_regions + nch + found > max_regions:
            raise RegionLimitError(
                num_regions + nch + found, max_regions, f"{nch} new cuts and {found}+ crossings"
            )
    if not xa_parts:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    return np.concatenate(xa_parts), np.concatenate(xb_parts)


def chord_crossings(
    chords: Chords, xy: np.ndarray, num_regions: int, max_regions: int
) -> Crossings:
    """Where the chords of each region cross (see :func:`_interleaved` for the limit)."""
    xa, xb = _interleaved(chords, num_regions, max_regions)
    pa, pb = xy[chords.vid_a], xy[chords.vid_b]
    d = pb - pa
    da, db = d[xa], d[xb]
    w = pa[xb] - pa[xa]
    denom = da[:, 0] * db[:, 1] - da[:, 1] * db[:, 0]
    with np.errstate(invalid="ignore", divide="ignore"):
        sa = (w[:, 0] * db[:, 1] - w[:, 1] * db[:, 0]) / denom
        sb = (w[:, 0] * da[:, 1] - w[:, 1] * da[:, 0]) / denom
    # interleaved ends never give parallel chords; guard against NaN anyway
    sa = np.where(sa == sa, sa, 0.5).clip(0.0, 1.0)
    sb = np.where(sb == sb, sb, 0.5).clip(0.0, 1.0)
    return Crossings(xa, xb, sa, sb, pa[xa] + sa[:, None] * da)


# --------------------------------------------------------------------------------------
# 6-7. concurrent crossings, chord segments


def _shared_twice(
    xa: np.ndarray, xb: np.ndarray, xlabel: np.ndarray, nch: int
) -> tuple[np.ndarray, np.ndarray]:
    """Links between clusters of crossings that one pair of chords both pass through.

    Crossing ``x`` of chords ``xa[x]`` and ``xb[x]`` belongs to cluster
    ``xlabel[x]``.  Two chords meet at most once, so clusters sharing a pair
    of chords are one point.  Only clusters of two or more crossings can hold
    a pair of chords twice, so only their pairs are listed.
    """
    nx = len(xa)
    size = np.bincount(xlabel, minlength=nx)
    multi = (size[xlabel] > 1).nonzero()[0]
    if len(multi) == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    cl_ch = np.unique(
        np.concatenate(
            [xlabel[multi] * np.int64(nch) + xa[multi], xlabel[multi] * np.int64(nch) + xb[multi]]
        )
    )
    cl = cl_ch // nch
    ch = cl_ch % nch
    stop = np.searchsorted(cl, cl, side="right")
    own, off = expand(stop - np.arange(len(cl)) - 1)
    partner = own + 1 + off
    pair = ch[own] * np.int64(nch) + ch[partner]
    pair_cluster = cl[own]
    # the crossing of each such pair, if the two chords cross at all
    xkey = np.minimum(xa, xb) * np.int64(nch) + np.maximum(xa, xb)
    xorder = xkey.argsort()
    at = np.minimum(np.searchsorted(xkey[xorder], pair), nx - 1)
    hit = xkey[xorder][at] == pair
    link_a = [pair_cluster[hit]]
    link_b = [xlabel[xorder[at[hit]]]]
    # the same pair in two multi-crossing clusters
    order = lexsort2(pair_cluster, pair)
    p_s, c_s = pair[order], pair_cluster[order]
    twice = (p_s[1:] == p_s[:-1]) & (c_s[1:] != c_s[:-1])
    link_a.append(c_s[:-1][twice])
    link_b.append(c_s[1:][twice])
    a = np.concatenate(link_a)
    b = np.concatenate(link_b)
    differ = a != b
    return a[differ], b[differ]


@dataclasses.dataclass(frozen=True)
class Along:
    """The crossings' memberships in order along the chords.

    Membership ``x`` is crossing ``x`` on chord ``a[x]``, membership ``X + x``
    the same crossing on chord ``b[x]``; they are sorted by chord, then by the
    position along it, then by membership (a total order).
    """

    order: np.ndarray  #: (2X,) int64 the memberships, in order
    chord: np.ndarray  #: (2X,) int64 the chord of each
    s: np.ndarray  #: (2X,) float64 its position along the chord


def along_chords(crossings: Crossings) -> Along:
    """The memberships of the crossings in order along the chords (:class:`Along`)."""
    chord = np.concatenate([crossings.a, crossings.b])
    s = np.concatenate([crossings.s_a, crossings.s_b])
    first = s.argsort()
    order = first[argsort_ints(chord[first])]
    order = untie(order, chord[order], s[order])
    return Along(order, chord[order], s[order])


def merge_concurrent(
    crossings: Crossings,
    chords: Chords,
    xy: np.ndarray,
    point_tol: float,
    near_data: tuple[np.ndarray, np.ndarray, EdgePoints] | None = None,
    along: Along | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Make crossings closer than ``point_tol`` along a chord one vertex.

    Returns ``(point (X,) int64, roots (R,) int64, near (R',) int64)``: the
    new vertex (0..R-1) of each crossing, the crossing that gives each new
    vertex its place, and the regions where two crossings along a chord are
    one point up to the units' tolerances yet farther apart than
    ``point_tol`` (given ``near_data = (values, unit_tol, points)``: the
    units at the old vertices, their tolerances and the new side points; see
    :func:`rise_along`).  Those regions are cut one unit at a time (see
    :func:`cut`), where snapping to vertices decides.  Two chords meet at
    most once: where tolerances chain so that one pair of chords passes
    through two clusters, those clusters are merged too.  ``along`` is
    :func:`along_chords` (computed if not given).
    """
    nx = len(crossings)
    along = along_chords(crossings) if along is None else along
    link_a, link_b, near = _neighbours(crossings, chords, xy, point_tol, near_data, along)
    label = components(nx, link_a, link_b)
    while len(link_a):
        extra_a, extra_b = _shared_twice(crossings.a, crossings.b, label, len(chords))
        if len(extra_a) == 0:
            break
        link_a = np.concatenate([link_a, extra_a])
        link_b = np.concatenate([link_b, extra_b])
        label = components(nx, link_a, link_b)
    roots = (label == np.arange(nx)).nonzero()[0]
    root_index = np.full(nx, -1, dtype=np.int64)
    root_index[roots] = np.arange(len(roots))
    return root_index[label], roots, near


def _neighbours(
    crossings: Crossings,
    chords: Chords,
    xy: np.ndarray,
    point_tol: float,
    near_data: tuple[np.ndarray, np.ndarray, EdgePoints] | None,
    along: Along,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Links between neighbouring crossings along a chord closer than ``point_tol``, and the
    regions of those one point up to the units' tolerances (see :func:`merge_concurrent`)."""
    nx = len(crossings)
    d = xy[chords.vid_b] - xy[chords.vid_a]
    o, mc, mem_s = along.order, along.chord, along.s
    mem_x = np.where(o < nx, o, o - nx)
    length = np.sqrt(d[:, 0] * d[:, 0] + d[:, 1] * d[:, 1])
    gap = mem_s[1:] - mem_s[:-1]
    same_chord = mc[1:] == mc[:-1]
    span = gap * length[mc[1:]]
    close = span <= point_tol
    near = np.zeros(0, dtype=np.int64)
    if near_data is not None:
        values, unit_tol, points = near_data
        rise = rise_along(chords, points, values)
        # only neighbours closer than a millionth of the domain can be one point up to
        # the units' tolerances (about 1e-11 of their scale)
        cand = (same_chord & ~close & (span <= NEAR_FACTOR * point_tol)).nonzero()[0]
        if len(cand):
            other = np.concatenate([crossings.b, crossings.a])[o]
            within = np.zeros(len(cand), dtype=bool)
            for k in (other[1:][cand], other[:-1][cand]):  # the other chord's unit along it
                within |= gap[cand] * np.abs(rise(mc[1:][cand], k)) <= unit_tol[chords.unit[k]]
            near = np.unique(chords.region[mc[1:][cand[within]]])
    link = same_chord & close
    return mem_x[:-1][link], mem_x[1:][link], near


def rise_along(
    chords: Chords, points: EdgePoints, values: np.ndarray
) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """``rise(c, k)``: the change of chord ``k``'s unit along chord ``c``, end to end.

    Chord ends are old vertices or new side points, whose values are mixed
    from the side's ends (exact interpolation).
    """
    nverts = len(values)

    def value_at(vertex: np.ndarray, unit: np.ndarray) -> np.ndarray:
        out = np.empty(len(vertex))
        old = vertex < nverts
        out[old] = values[vertex[old], unit[old]]
        p = vertex[~old] - nverts
        u = unit[~old]
        lo = values[points.lo[p], u]
        out[~old] = lo + points.t[p] * (values[points.hi[p], u] - lo)
        return out

    def rise(c: np.ndarray, k: np.ndarray) -> np.ndarray:
        unit = chords.unit[k]
        return value_at(chords.vid_b[c], unit) - value_at(chords.vid_a[c], unit)

    return rise


@dataclasses.dataclass(frozen=True)
class ChordPaths:
    """Each chord cut at its crossings: its vertices and segments in order along it.

    A chord's path is its end ``a``, the vertices of its crossings in order
    (a vertex that several of its crossings share, once), and its end ``b``.
    The crossings kept on the paths are *visits*; segment ``c + v`` of chord
    ``c`` ends at visit ``v``, segment ``c + v + 1`` starts there, so chord
    ``c`` has segments ``first_seg[c]`` to ``first_seg[c + 1] - 1``.
    """

    seg_from: np.ndarray  #: (S,) int64 first vertex of each segment
    seg_to: np.ndarray  #: (S,) int64 last vertex of each segment
    seg_chord: np.ndarray  #: (S,) int64
    first_seg: np.ndarray  #: (C+1,) int64
    visit_chord: np.ndarray  #: (K,) int64 the chord of each visit
    visit_vertex: np.ndarray  #: (K,) int64 its vertex
    #: (2X,) int64 the visit of each membership (see :class:`Along`), -1 if repeated
    visit_of: np.ndarray
    #: (X,) bool: the crossing is the only one at its vertex
    single: np.ndarray


def chord_segments(
    chords: Chords,
    crossings: Crossings,
    crossing_vid: np.ndarray,
    along: Along | None = None,
) -> ChordPaths:
    """Each chord cut at its crossings (``along``: :func:`along_chords`, computed if not given)."""
    nch = len(chords)
    nx = len(crossings)
    along = along_chords(crossings) if along is None else along
    o, mem_chord = along.order, along.chord
    mem_v = crossing_vid[np.where(o < nx, o, o - nx)]
    kept = changes(mem_chord, mem_v)  # a vertex shared by neighbouring crossings, once
    visit_chord = mem_chord[kept]
    visit_vertex = mem_v[kept]
    visit_of = np.full(2 * nx, -1, dtype=np.int64)
    visit_of[o[kept]] = np.arange(len(visit_chord))
    visits = np.bincount(visit_chord, minlength=nch)
    first_seg = np.zeros(nch + 1, dtype=np.int64)
    np.cumsum(visits + 1, out=first_seg[1:])
    # the path of chord c: end a at first_seg[c] + c, its visits, end b at first_seg[c+1] + c
    path = np.empty(len(visit_chord) + 2 * nch, dtype=np.int64)
    path[first_seg[:-1] + np.arange(nch)] = chords.vid_a
    path[first_seg[1:] + np.arange(nch)] = chords.vid_b
    path[np.arange(len(visit_chord)) + 2 * visit_chord + 1] = visit_vertex
    seg_chord = np.repeat(np.arange(nch, dtype=np.int64), visits + 1)
    seg = np.arange(len(seg_chord)) + seg_chord
    shared = np.bincount(crossing_vid - crossing_vid.min(initial=0))
    single = shared[crossing_vid - crossing_vid.min(initial=0)] == 1
    return ChordPaths(
        seg_from=path[seg],
        seg_to=path[seg + 1],
        seg_chord=seg_chord,
        first_seg=first_seg,
        visit_chord=visit_chord,
        visit_vertex=visit_vertex,
        visit_of=visit_of,
        single=single,
    )
