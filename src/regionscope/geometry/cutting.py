"""Cut every region of a :class:`~regionscope.geometry.mesh.Mesh` along the zero sets of units.

A *unit* is a continuous function, affine on every region, given by its
values at the vertices.  Within one region its zero set is a chord of a
convex polygon; the region is replaced by the faces of the arrangement of its
chords.  :func:`cut` runs these steps, each a function of flat arrays:

1. :func:`classify`: the sign of every unit at every vertex, snapped to zero
   within the unit's tolerance (:mod:`regionscope.tolerance`);
2. :func:`crossed_pairs`: the (region, unit) pairs with corners of both signs;
3. :func:`chord_ends`: where each pair's chord meets the region's boundary:
   a corner where the unit is zero, or a point inside a side;
4. :func:`edge_points`: one new vertex per side and unit, with crossings
   closer than the point tolerance on one side made one vertex;
5. :func:`make_chords`: chords with their end vertices, coincident chords
   (repeated units) kept once;
6. :func:`chord_crossings`: pairs of chords whose ends interleave around the
   region, and where they cross;
7. :func:`merge_concurrent`: crossings closer than the point tolerance along
   a chord made one vertex (lines through one point meet in one vertex);
8. :func:`chord_segments`: each chord cut at its crossings;
9. :func:`rebuild_regions`: the faces of every region that changed
   (:func:`~regionscope.geometry.faces.trace_faces`).

The work is proportional to the regions crossed, their sides and the chord
crossings made, plus one pass over the value table.

Examples
--------
>>> import numpy as np
>>> from regionscope.geometry.mesh import Mesh, encode_source
>>> square = Mesh.from_polygon(np.array([[-1.0, -1], [1, -1], [1, 1], [-1, 1]]))
>>> values = square.vertices.copy()              # two units: x and y
>>> res = cut(square, values, np.zeros(2), encode_source(0, np.arange(2)), 1e-12, 100)
>>> res.mesh.num_regions, res.mesh.num_vertices, res.mesh.areas.tolist()
(4, 9, [1.0, 1.0, 1.0, 1.0])
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np

from regionscope.errors import InvalidMeshError, RegionLimitError
from regionscope.tolerance import get_budget

from .arrays import (
    changes,
    components,
    exclusive_cumsum,
    expand,
    lexsort2,
    pack_bits,
    unpack_bits,
)
from .faces import trace_faces
from .mesh import Mesh

__all__ = [
    "CutResult",
    "cut",
    "classify",
    "crossed_pairs",
    "chord_ends",
    "edge_points",
    "make_chords",
    "chord_crossings",
    "merge_concurrent",
    "chord_segments",
    "rebuild_regions",
]


@dataclasses.dataclass(frozen=True)
class CutResult:
    """A cut mesh, where its regions and its new vertices came from.

    ``interp`` holds blocks ``(from, to, weight)`` of new vertices, in order:
    new vertex ``i`` of a block lies at ``(1 - weight[i])`` of vertex
    ``from[i]`` plus ``weight[i]`` of vertex ``to[i]``, on a segment inside
    one old region, so any function affine on the old regions takes the same
    mix of its values there (exact interpolation).  The vertices a block
    mixes come earlier in the table, so one pass in order fills it.
    """

    mesh: Mesh
    #: number of chords inserted (coincident units counted once)
    num_chords: int
    #: ``(F_new,) int64`` the old region each new region lies in
    region_parent: np.ndarray
    interp: tuple[tuple[np.ndarray, np.ndarray, np.ndarray], ...]

    @property
    def num_new_vertices(self) -> int:
        return sum(len(block[0]) for block in self.interp)

    def extend(self, values: np.ndarray) -> np.ndarray:
        """``values (V_old, ...)`` at old vertices -> ``(V_new, ...)`` at all vertices."""
        for src, dst, weight in self.interp:
            values = _interpolate(values, src, dst, weight)
        return values


def _interpolate(
    values: np.ndarray, src: np.ndarray, dst: np.ndarray, weight: np.ndarray
) -> np.ndarray:
    n_old = len(values)
    if len(src) == 0:
        return values
    out = np.empty((n_old + len(src), *values.shape[1:]), dtype=values.dtype)
    out[:n_old] = values
    # two passes: vertices on old sides mix old vertices; crossings mix those
    first = (src < n_old) & (dst < n_old)
    for sel in (first.nonzero()[0], (~first).nonzero()[0]):
        if len(sel) == 0:
            continue
        w = weight[sel].reshape(-1, *([1] * (values.ndim - 1)))
        a = out[src[sel]]
        a += w * (out[dst[sel]] - a)
        out[n_old + sel] = a
    return out


# --------------------------------------------------------------------------------------
# 1-2. signs and crossed pairs


def classify(values: np.ndarray, unit_tol: np.ndarray) -> np.ndarray:
    """Signs of unit values, snapped to zero within each unit's tolerance.

    Parameters
    ----------
    values : (V, n) float64
    unit_tol : (n,) float64
        A value with ``|z| <= unit_tol[j]`` is zero.

    Returns
    -------
    (V, n) int8

    >>> classify(np.array([[1.0, -1e-12], [-2.0, 3.0]]), np.array([0.0, 1e-9])).tolist()
    [[1, 0], [-1, 1]]
    """
    s = np.sign(values).astype(np.int8)
    s[np.abs(values) <= unit_tol] = 0
    return s


def crossed_pairs(
    signs: np.ndarray, rv: np.ndarray, offsets: np.ndarray, active: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """``(region, unit)`` pairs with corners of both signs, sorted by region then unit.

    With ``active (F, n) bool``, only those pairs are considered.  The signs
    are packed 64 units to a word, so that the reductions over each region's
    corners touch ``n / 64`` words per corner.

    >>> signs = np.array([[1, 1], [-1, 1], [0, 1]], dtype=np.int8)
    >>> crossed_pairs(signs, np.array([0, 1, 2]), np.array([0, 3]))
    (array([0]), array([0]))
    """
    n = signs.shape[1]
    nregions = len(offsets) - 1
    words = -(-n // 64)
    pos = pack_bits(signs > 0)
    neg = pack_bits(signs < 0)
    step = max(1, get_budget().table_values // words)  # incidences per chunk
    regions: list[np.ndarray] = []
    units: list[np.ndarray] = []
    f0 = 0
    while f0 < nregions:
        f1 = int(np.searchsorted(offsets, offsets[f0] + step, side="right")) - 1
        f1 = min(max(f1, f0 + 1), nregions)
        lo, hi = offsets[f0], offsets[f1]
        starts = offsets[f0:f1] - lo
        corners = rv[lo:hi]
        crossed = np.bitwise_or.reduceat(pos[corners], starts, axis=0)
        crossed &= np.bitwise_or.reduceat(neg[corners], starts, axis=0)
        if active is not None:
            crossed &= pack_bits(active[f0:f1])
        rows = crossed.any(axis=1).nonzero()[0]
        r, u = np.nonzero(unpack_bits(crossed[rows], n))
        regions.append(rows[r].astype(np.int64) + f0)
        units.append(u.astype(np.int64))
        f0 = f1
    if not regions:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    return np.concatenate(regions), np.concatenate(units)


# --------------------------------------------------------------------------------------
# 3-5. chords


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
    signs: np.ndarray,
    values: np.ndarray,
    pair_region: np.ndarray,
    pair_unit: np.ndarray,
) -> ChordEnds:
    """Find the two sign transitions of each crossed pair around its region.

    Going round the region's corners, zero corners are skipped: a transition
    from a nonzero sign to the opposite one happens either across a side (the
    two corners are neighbours) or at the zero corner just after the first.
    """
    rv = mesh.region_vertices
    m = mesh.sizes[pair_region]
    pid, k = expand(m)
    pstart = exclusive_cumsum(m)
    inc = mesh.region_offsets[pair_region][pid] + k
    s = signs[rv[inc], pair_unit[pid]]
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


def edge_points(
    ends: ChordEnds,
    vertices: np.ndarray,
    point_tol: float,
    values: np.ndarray | None = None,
    unit_tol: np.ndarray | None = None,
) -> tuple[EdgePoints, np.ndarray, np.ndarray]:
    """One new vertex per (side, unit); crossings of a side closer than ``point_tol`` are one.

    Given ``values`` and ``unit_tol``, neighbouring crossings of a side that
    lie within each other's unit tolerance (one point up to snapping, but
    farther apart than ``point_tol``) are reported: the regions they come from
    are ``near``, to be cut one unit at a time (see :func:`cut`).

    Returns the new vertices, and for every chord end its vertex id
    (``(P, 2) int64``, new vertices numbered from ``V``) and its position
    around the region (``(P, 2) float64``: corner index plus the fraction of
    the way along the side).
    """
    nverts = len(vertices)
    ex = ends.on_side.ravel().nonzero()[0]
    e_lo = ends.side_lo.ravel()[ex]
    e_hi = ends.side_hi.ravel()[ex]
    e_unit = np.repeat(ends.unit, 2)[ex]
    e_t = ends.side_t.ravel()[ex]
    ekey = e_lo * np.int64(nverts) + e_hi
    order = lexsort2(e_unit, ekey)
    first = changes(ekey[order], e_unit[order])
    uniq = order[first]  # one entry per (side, unit)
    crossing_of = np.empty(len(ex), dtype=np.int64)
    crossing_of[order] = first.cumsum() - 1
    u_key, u_t, u_lo, u_hi = ekey[uniq], e_t[uniq], e_lo[uniq], e_hi[uniq]
    # merge crossings of one side closer than the point tolerance
    o = lexsort2(u_t, u_key)
    side_len = np.hypot(*(vertices[u_hi] - vertices[u_lo]).T)
    new_cluster = np.empty(len(o), dtype=bool)
    new_cluster[:1] = True
    same_side = u_key[o][1:] == u_key[o][:-1]
    gap = u_t[o][1:] - u_t[o][:-1]
    close = gap * side_len[o][1:] <= point_tol
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
    pair_region = np.repeat(ends.region, 2)[ex]

    def regions_on(keys: np.ndarray) -> np.ndarray:
        return np.unique(pair_region[np.isin(ekey, keys)]) if len(keys) else keys

    near_regions = regions_on(u_key[o][1:][near])
    merged_regions = regions_on(u_key[o][1:][same_side & close])
    rep = o[new_cluster]
    lo, hi, t = u_lo[rep], u_hi[rep], u_t[rep]
    points = EdgePoints(
        key=u_key[rep],
        t=t,
        lo=lo,
        hi=hi,
        xy=vertices[lo] + t[:, None] * (vertices[hi] - vertices[lo]),
        near_regions=near_regions,
        merged_regions=merged_regions,
    )
    vid = ends.corner.ravel().copy()
    pos = ends.corner_pos.ravel().astype(np.float64)
    cl = cluster_of[crossing_of]
    vid[ex] = nverts + cl
    t_rep = t[cl]
    pos[ex] = ends.side_pos.ravel()[ex] + np.where(
        ends.side_forward.ravel()[ex], t_rep, 1.0 - t_rep
    )
    return points, vid.reshape(-1, 2), pos.reshape(-1, 2)


@dataclasses.dataclass(frozen=True)
class Chords:
    """Chords to insert, sorted by region then unit."""

    region: np.ndarray  #: (C,) int64
    unit: np.ndarray  #: (C,) int64 the unit (column of the values)
    code: np.ndarray  #: (C,) int64 source code
    pos_a: np.ndarray  #: (C,) float64 position of each end around the region
    pos_b: np.ndarray
    vid_a: np.ndarray  #: (C,) int64 vertex of each end
    vid_b: np.ndarray

    def __len__(self) -> int:
        return len(self.region)


def make_chords(
    ends: ChordEnds, end_vid: np.ndarray, end_pos: np.ndarray, unit_codes: np.ndarray
) -> Chords:
    """Drop chords that are a point or run along a side; keep one of coincident chords."""
    size = ends.size.astype(np.float64)
    gap = np.abs(end_pos[:, 0] - end_pos[:, 1])
    along_side = (end_pos == end_pos.round()).all(axis=1) & ((gap == 1) | (gap == size - 1))
    ok = (end_vid[:, 0] != end_vid[:, 1]) & ~along_side
    v1 = end_vid.min(axis=1)
    v2 = end_vid.max(axis=1)
    sel = ok.nonzero()[0]
    sel = sel[np.lexsort((ends.unit[sel], v2[sel], v1[sel], ends.region[sel]))]
    dup = np.zeros(len(sel), dtype=bool)
    dup[1:] = ~changes(ends.region[sel], v1[sel], v2[sel])[1:]
    keep = np.sort(sel[~dup])  # sorted by (region, unit) as the pairs are
    return Chords(
        region=ends.region[keep],
        unit=ends.unit[keep],
        code=unit_codes[ends.unit[keep]],
        pos_a=end_pos[keep, 0],
        pos_b=end_pos[keep, 1],
        vid_a=end_vid[keep, 0],
        vid_b=end_vid[keep, 1],
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


def merge_concurrent(
    crossings: Crossings,
    chords: Chords,
    xy: np.ndarray,
    point_tol: float,
    rise: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None,
    unit_tol: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Make crossings closer than ``point_tol`` along a chord one vertex.

    Returns ``(point (X,) int64, roots (R,) int64, near (R',) int64)``: the
    new vertex (0..R-1) of each crossing, the crossing that gives each new
    vertex its place, and the regions where two crossings along a chord are
    one point up to the units' tolerances yet farther apart than
    ``point_tol`` (given ``rise`` and ``unit_tol``; ``rise(c, k)`` is the
    change of chord ``k``'s unit from one end of chord ``c`` to the other,
    see :func:`rise_along`).  Those regions are cut one unit at a time (see
    :func:`cut`), where snapping to vertices decides.  Two chords meet at
    most once: where tolerances chain so that one pair of chords passes
    through two clusters, those clusters are merged too.
    """
    nx = len(crossings)
    nch = len(chords)
    d = xy[chords.vid_b] - xy[chords.vid_a]
    mem_chord = np.concatenate([crossings.a, crossings.b])
    mem_s = np.concatenate([crossings.s_a, crossings.s_b])
    mem_x = np.concatenate([np.arange(nx), np.arange(nx)])
    o = lexsort2(mem_s, mem_chord)
    length = np.hypot(d[:, 0], d[:, 1])
    mc = mem_chord[o]
    gap = mem_s[o][1:] - mem_s[o][:-1]
    same_chord = mc[1:] == mc[:-1]
    close = gap * length[mc[1:]] <= point_tol
    near = np.zeros(0, dtype=np.int64)
    if rise is not None and unit_tol is not None:
        # only neighbours closer than a millionth of the domain can be one point up to
        # the units' tolerances (about 1e-11 of their scale)
        cand = (
            same_chord & ~close & (gap * length[mc[1:]] <= _NEAR_FACTOR * point_tol)
        ).nonzero()[0]
        other = np.concatenate([crossings.b, crossings.a])[o]
        within = np.zeros(len(cand), dtype=bool)
        for k in (other[1:][cand], other[:-1][cand]):  # the other chord's unit along this one
            within |= gap[cand] * np.abs(rise(mc[1:][cand], k)) <= unit_tol[chords.unit[k]]
        near = np.unique(chords.region[mc[1:][cand[within]]])
    link = same_chord & close
    link_a = mem_x[o][:-1][link]
    link_b = mem_x[o][1:][link]
    label = components(nx, link_a, link_b)
    while nx:
        extra_a, extra_b = _shared_twice(crossings.a, crossings.b, label, nch)
        if len(extra_a) == 0:
            break
        link_a = np.concatenate([link_a, extra_a])
        link_b = np.concatenate([link_b, extra_b])
        label = components(nx, link_a, link_b)
    roots = (label == np.arange(nx)).nonzero()[0]
    root_index = np.full(nx, -1, dtype=np.int64)
    root_index[roots] = np.arange(len(roots))
    return root_index[label], roots, near


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


def chord_segments(
    chords: Chords, crossings: Crossings, crossing_vid: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each chord cut at its crossings: ``(seg_a, seg_b, seg_chord)``, vertex pairs in order."""
    nch = len(chords)
    nx = len(crossings)
    seq_chord = np.concatenate([np.arange(nch), np.arange(nch), crossings.a, crossings.b])
    seq_s = np.concatenate([np.full(nch, -1.0), np.full(nch, 2.0), crossings.s_a, crossings.s_b])
    x_ids = crossing_vid[np.concatenate([np.arange(nx), np.arange(nx)])]
    seq_v = np.concatenate([chords.vid_a, chords.vid_b, x_ids])
    o = lexsort2(seq_s, seq_chord)
    seq_chord, seq_v = seq_chord[o], seq_v[o]
    keep = changes(seq_chord, seq_v)
    seq_chord, seq_v = seq_chord[keep], seq_v[keep]
    segment = seq_chord[1:] == seq_chord[:-1]
    return seq_v[:-1][segment], seq_v[1:][segment], seq_chord[:-1][segment]


# --------------------------------------------------------------------------------------
# 8. faces of the changed regions


def _region_boundaries(
    mesh: Mesh, regions: np.ndarray, points: EdgePoints
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Boundary cycles of ``regions`` with the new side vertices inserted.

    Returns ``(vid, dest, code, owner)`` per boundary side: its first vertex,
    its last vertex, its source code, and the position of its region in
    ``regions``.
    """
    nverts = mesh.num_vertices
    rv = mesh.region_vertices
    own, k = expand(mesh.sizes[regions])
    inc = mesh.region_offsets[regions][own] + k
    key = mesh.side_keys[inc]
    lo_i = np.searchsorted(points.key, key, side="left")
    hi_i = np.searchsorted(points.key, key, side="right")
    forward = rv[inc] < rv[mesh.incidence_next[inc]]
    b_own, b_r = expand(1 + hi_i - lo_i)
    is_corner = b_r == 0
    which = np.where(forward[b_own], lo_i[b_own] + b_r - 1, hi_i[b_own] - b_r)
    which = np.clip(which, 0, max(len(points.key) - 1, 0))
    vid = np.where(is_corner, rv[inc][b_own], nverts + which)
    code = mesh.incidence_source[inc][b_own]
    owner = own[b_own]
    nb = len(vid)
    nxt = np.arange(1, nb + 1)
    grp_start = changes(owner).nonzero()[0]
    nxt[np.append(grp_start[1:] - 1, nb - 1)] = grp_start
    return vid, vid[nxt], code, owner


def rebuild_regions(
    mesh: Mesh,
    chords: Chords,
    segments: tuple[np.ndarray, np.ndarray, np.ndarray],
    points: EdgePoints,
    vertices: np.ndarray,
) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    """The faces of every region with a chord or a split side.

    Returns ``(touched (F,) bool, faces)`` with ``faces`` as from
    :func:`~regionscope.geometry.faces.trace_faces`.
    """
    # points.key is sorted: membership by binary search
    at = np.minimum(np.searchsorted(points.key, mesh.side_keys), max(len(points.key) - 1, 0))
    split_side = (
        points.key[at] == mesh.side_keys
        if len(points.key)
        else np.zeros(len(mesh.side_keys), dtype=bool)
    )
    touched = np.zeros(mesh.num_regions, dtype=bool)
    touched[chords.region] = True
    touched[mesh.incidence_region[split_side]] = True
    t_regions = touched.nonzero()[0]
    local = np.full(mesh.num_regions, -1, dtype=np.int64)
    local[t_regions] = np.arange(len(t_regions))
    bvid, bdest, bcode, bgroup = _region_boundaries(mesh, t_regions, points)
    seg_a, seg_b, seg_chord = segments
    # half-edges in twin pairs: boundary (inner side, outer side), chord segments (both ways)
    nb = len(bvid)
    n_h = 2 * (nb + len(seg_a))
    group = np.empty(n_h, dtype=np.int64)
    orig = np.empty(n_h, dtype=np.int64)
    dest = np.empty(n_h, dtype=np.int64)
    code = np.empty(n_h, dtype=np.int64)
    for half, (o_, d_) in enumerate(((bvid, bdest), (bdest, bvid))):
        group[half : 2 * nb : 2] = bgroup
        orig[half : 2 * nb : 2] = o_
        dest[half : 2 * nb : 2] = d_
        code[half : 2 * nb : 2] = bcode
    for half, (o_, d_) in enumerate(((seg_a, seg_b), (seg_b, seg_a))):
        group[2 * nb + half :: 2] = local[chords.region[seg_chord]]
        orig[2 * nb + half :: 2] = o_
        dest[2 * nb + half :: 2] = d_
        code[2 * nb + half :: 2] = chords.code[seg_chord]
    outer = np.zeros(n_h, dtype=bool)
    outer[1 : 2 * nb : 2] = True
    return touched, trace_faces(group, orig, dest, code, vertices, outer)


# --------------------------------------------------------------------------------------
# the whole cut


def cut(
    mesh: Mesh,
    values: np.ndarray,
    unit_tol: np.ndarray,
    unit_codes: np.ndarray,
    point_tol: float,
    max_regions: int,
    active: np.ndarray | None = None,
) -> CutResult:
    """Cut every region of ``mesh`` along the zero sets of units.

    Parameters
    ----------
    mesh : Mesh
    values : (V, n) float64
        Value of each unit at each vertex.  Each unit must be continuous and
        affine on every region.
    unit_tol : (n,) float64
        Absolute tolerance of each unit: a value within it is zero
        (:meth:`regionscope.tolerance.Tolerance.unit_tolerance`).
    unit_codes : (n,) int64
        Edge-source code of each unit (see :func:`~regionscope.geometry.mesh.encode_source`).
    point_tol : float
        Distance below which two new points are one.
    max_regions : int
        Raise :class:`~regionscope.errors.RegionLimitError` when the result
        would have more regions (``count`` is then a lower bound).
    active : (F, n) bool, optional
        Only these (region, unit) pairs may be cut.

    Returns
    -------
    CutResult

    Notes
    -----
    All units cut all regions at once.  Where snapping near-concurrent
    crossings leaves a region's faces invalid (a face of non-positive area,
    a repeated corner, or faces whose areas do not add up to the region's),
    that region is cut again by its units one at a time: a single chord
    splits a convex region into two convex pieces, whatever the tolerances.
    """
    signs = classify(values, unit_tol)
    res, bad = _cut_once(mesh, signs, values, unit_tol, unit_codes, point_tol, max_regions, active)
    if len(bad) == 0:
        return res
    n = values.shape[1]
    allowed = np.ones((mesh.num_regions, n), dtype=bool) if active is None else active.copy()
    slow = np.zeros(mesh.num_regions, dtype=bool)
    while len(bad):  # the other regions, all at once, without the failing ones
        slow[bad] = True
        allowed[bad] = False
        res, bad = _cut_once(
            mesh, signs, values, unit_tol, unit_codes, point_tol, max_regions, allowed
        )
    return _cut_one_by_one(mesh, res, slow, values, unit_tol, unit_codes, point_tol, max_regions)


def _cut_one_by_one(
    mesh: Mesh,
    res: CutResult,
    slow: np.ndarray,
    values: np.ndarray,
    unit_tol: np.ndarray,
    unit_codes: np.ndarray,
    point_tol: float,
    max_regions: int,
) -> CutResult:
    """Finish a cut: the regions marked ``slow`` are cut by one unit at a time."""
    signs = classify(values, unit_tol)
    wanted = np.repeat(slow[:, None], values.shape[1], axis=1)
    units = np.unique(crossed_pairs(signs, mesh.region_vertices, mesh.region_offsets, wanted)[1])
    cur_values = res.extend(values)
    cur = res.mesh
    in_slow = slow[res.region_parent]
    parent = res.region_parent
    blocks = list(res.interp)
    chords = res.num_chords
    for u in units.tolist():
        z = cur_values[:, [u]]
        signs_u = classify(z, unit_tol[[u]])
        step, bad = _cut_once(
            cur,
            signs_u,
            z,
            unit_tol[[u]],
            unit_codes[[u]],
            point_tol,
            max_regions,
            in_slow[:, None],
        )
        if len(bad):
            raise InvalidMeshError(f"cutting {len(bad)} regions by one unit made invalid faces")
        cur_values = step.extend(cur_values)
        cur = step.mesh
        in_slow = in_slow[step.region_parent]
        parent = parent[step.region_parent]
        blocks.extend(step.interp)
        chords += step.num_chords
    return CutResult(cur, chords, parent, tuple(blocks))


def _invalid_faces(
    group: np.ndarray,
    offsets: np.ndarray,
    corners: np.ndarray,
    xy: np.ndarray,
    check: np.ndarray,
) -> np.ndarray:
    """Groups (old regions, only those with ``check[group]``) with a new face that is not a
    convex counter-clockwise polygon.

    Faces traced from a consistent arrangement turn left at every corner and
    have positive area; the faces of a group always add up to its area
    (every half-edge is used once), so a face traced wrongly shows up as a
    right turn or a non-positive area.
    """
    faces = check[group].nonzero()[0]
    if len(faces) == 0:
        return faces
    own, k = expand(np.diff(offsets)[faces])
    corners = corners[offsets[faces][own] + k]
    group = group[faces]
    offsets = np.append(0, np.cumsum(np.diff(offsets)[faces]))
    sizes = np.diff(offsets)
    base = np.repeat(xy[corners[offsets[:-1]]], sizes, axis=0)
    nxt = np.arange(1, len(corners) + 1)
    nxt[offsets[1:] - 1] = offsets[:-1]
    p = xy[corners] - base
    q = xy[corners[nxt]] - base
    area = np.add.reduceat(p[:, 0] * q[:, 1] - p[:, 1] * q[:, 0], offsets[:-1])
    a = q - p  # side leaving each corner
    b = a[nxt]  # the next side
    turn = a[:, 0] * b[:, 1] - a[:, 1] * b[:, 0]
    scale = np.hypot(a[:, 0], a[:, 1]) * np.hypot(b[:, 0], b[:, 1])
    right = np.logical_or.reduceat(turn < -_TURN_RTOL * scale, offsets[:-1])
    bad_face = (area <= 0) | right
    return np.unique(group[bad_face])


#: crossings farther apart than this many point tolerances are never one point
_NEAR_FACTOR = 1e6
#: how far a corner may turn right, relative to its sides, and still count as straight
_TURN_RTOL = 1e-9


def _cut_once(
    mesh: Mesh,
    signs: np.ndarray,
    values: np.ndarray,
    unit_tol: np.ndarray,
    unit_codes: np.ndarray,
    point_tol: float,
    max_regions: int,
    active: np.ndarray | None,
) -> tuple[CutResult, np.ndarray]:
    """All steps once; returns the result and the old regions whose faces came out invalid."""
    nregions = mesh.num_regions
    nverts = mesh.num_vertices
    pair_region, pair_unit = crossed_pairs(
        signs, mesh.region_vertices, mesh.region_offsets, active
    )
    if len(pair_region) == 0:
        return CutResult(mesh, 0, np.arange(nregions), ()), np.zeros(0, np.int64)
    ends = chord_ends(mesh, signs, values, pair_region, pair_unit)
    points, end_vid, end_pos = edge_points(ends, mesh.vertices, point_tol, values, unit_tol)
    chords = make_chords(ends, end_vid, end_pos, unit_codes)
    xy = np.concatenate([mesh.vertices, points.xy])
    crossings = chord_crossings(chords, xy, nregions, max_regions)
    rise = rise_along(chords, points, values)
    point_of, roots, near = merge_concurrent(crossings, chords, xy, point_tol, rise, unit_tol)
    new_vertices = np.concatenate([xy, crossings.xy[roots]])
    segments = chord_segments(chords, crossings, nverts + len(points.key) + point_of)
    touched, faces = rebuild_regions(mesh, chords, segments, points, new_vertices)
    f_group, f_off, f_vert, f_code = faces
    t_regions = touched.nonzero()[0]
    # faces can come out wrong only where points were snapped together
    shared = np.bincount(point_of, minlength=len(roots))[point_of] > 1
    at_corner = (chords.vid_a < nverts) | (chords.vid_b < nverts)
    risky = np.concatenate(
        [
            chords.region[crossings.a[shared]],
            chords.region[at_corner],
            points.merged_regions,
        ]
    )
    invalid = _invalid_faces(f_group, f_off, f_vert, new_vertices, np.isin(t_regions, risky))
    bad = np.unique(np.concatenate([t_regions[invalid], near, points.near_regions]))
    # untouched regions first, in order, then the new faces
    kept = (~touched).nonzero()[0]
    k_own, k_k = expand(mesh.sizes[kept])
    k_inc = mesh.region_offsets[kept][k_own] + k_k
    new_sizes = np.concatenate([mesh.sizes[kept], np.diff(f_off)])
    if len(new_sizes) > max_regions:
        raise RegionLimitError(len(new_sizes), max_regions)
    out = Mesh(
        new_vertices,
        np.concatenate([mesh.region_vertices[k_inc], f_vert]),
        np.append(0, np.cumsum(new_sizes)).astype(np.int64),
        np.concatenate([mesh.incidence_source[k_inc], f_code]),
        mesh.num_corners,
    )
    block = (
        np.concatenate([points.lo, chords.vid_a[crossings.a[roots]]]),
        np.concatenate([points.hi, chords.vid_b[crossings.a[roots]]]),
        np.concatenate([points.t, crossings.s_a[roots]]),
    )
    parent = np.concatenate([kept, t_regions[f_group]])
    return CutResult(out, len(chords), parent, (block,)), bad
