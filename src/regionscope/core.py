"""The geometric core: planar subdivisions as flat arrays, cut by zero sets.

A *mesh* is a subdivision of a convex polygon into convex regions, held as

``vertices (V, 2) float64``
    domain coordinates;
``region_vertices (I,) int64`` and ``region_offsets (F+1,) int64``
    the ragged array of each region's corners, counter-clockwise; every
    vertex on a region's boundary is listed (a vertex in the middle of a side
    of one region may be a corner of its neighbour);
``incidence_source (I,) int64``
    for incidence ``i`` of region ``f``, what made the side from that corner
    to the next: ``layer << 32 | unit``, or ``-1`` for the domain boundary.

Two operations change a mesh, each vectorized over all regions at once:

:func:`cut`
    cuts every region along the zero sets of some continuous functions
    (*units*) that are affine on each region, given their values at the
    vertices.  Within one region the units' zero sets are chords of a convex
    polygon; the region is replaced by the faces of their arrangement.  The
    work is proportional to the regions crossed, their sides and the chord
    crossings made, plus one pass over the value table.
:func:`merge`
    merges adjacent regions made by one layer that ended up with equal
    activation patterns (max-pooling and argmax cut more than they need to),
    and drops the vertices left in the middle of a straight side.

Degenerate input is resolved by snapping, with the tolerances of
:mod:`regionscope.tolerance`: a vertex whose value is within ``value_rtol``
of zero lies on the zero set; crossings closer than ``point_rtol`` times the
domain diameter are one vertex; coincident chords are one chord.  This is what
gives lines through one point a single vertex, and repeated neurons no sliver.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from .tolerance import get_tolerance

__all__ = ["Mesh", "cut", "merge", "encode_source", "decode_source", "mix64"]

_UNIT_BITS = 32


def encode_source(layer: int | np.ndarray, unit: int | np.ndarray) -> np.ndarray:
    """Edge-source code ``layer << 32 | unit`` (int64)."""
    return (np.asarray(layer, dtype=np.int64) << _UNIT_BITS) | np.asarray(unit, dtype=np.int64)


def decode_source(code: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(layer, unit)`` of edge-source codes; ``(-1, -1)`` for the domain boundary."""
    code = np.asarray(code, dtype=np.int64)
    boundary = code < 0
    layer = np.where(boundary, -1, code >> _UNIT_BITS)
    unit = np.where(boundary, -1, code & ((1 << _UNIT_BITS) - 1))
    return layer, unit


@dataclasses.dataclass
class Mesh:
    """A convex subdivision as flat arrays (see the module docstring)."""

    vertices: np.ndarray
    region_vertices: np.ndarray
    region_offsets: np.ndarray
    incidence_source: np.ndarray
    #: number of leading vertices that are corners of the domain (never removed)
    num_corners: int

    @classmethod
    def from_polygon(cls, polygon: np.ndarray) -> Mesh:
        """The mesh with one region: a convex polygon ``(K, 2)``, counter-clockwise."""
        k = len(polygon)
        return cls(
            vertices=np.array(polygon, dtype=np.float64),
            region_vertices=np.arange(k, dtype=np.int64),
            region_offsets=np.array([0, k], dtype=np.int64),
            incidence_source=np.full(k, -1, dtype=np.int64),
            num_corners=k,
        )

    @property
    def num_regions(self) -> int:
        return len(self.region_offsets) - 1

    @property
    def sizes(self) -> np.ndarray:
        """``(F,) int64`` number of corners of each region."""
        return np.diff(self.region_offsets)

    def incidence_region(self) -> np.ndarray:
        """``(I,) int64`` region of each incidence."""
        return np.repeat(np.arange(self.num_regions, dtype=np.int64), self.sizes)

    def incidence_next(self) -> np.ndarray:
        """``(I,) int64`` index of the next incidence around the same region."""
        nxt = np.arange(1, len(self.region_vertices) + 1, dtype=np.int64)
        nxt[self.region_offsets[1:] - 1] = self.region_offsets[:-1]
        return nxt

    def areas(self) -> np.ndarray:
        """``(F,) float64`` region areas (shoelace)."""
        p = self.vertices[self.region_vertices]
        q = self.vertices[self.region_vertices[self.incidence_next()]]
        cross = p[:, 0] * q[:, 1] - p[:, 1] * q[:, 0]
        return 0.5 * np.add.reduceat(cross, self.region_offsets[:-1]) if len(cross) else cross

    def centroids(self) -> np.ndarray:
        """``(F, 2) float64`` area centroids (interior points of convex regions)."""
        p = self.vertices[self.region_vertices]
        q = self.vertices[self.region_vertices[self.incidence_next()]]
        # shift to a corner of each region for accuracy
        base = self.vertices[self.region_vertices[self.region_offsets[:-1]]]
        shift = np.repeat(base, self.sizes, axis=0)
        p = p - shift
        q = q - shift
        cross = p[:, 0] * q[:, 1] - p[:, 1] * q[:, 0]
        starts = self.region_offsets[:-1]
        a = np.add.reduceat(cross, starts)
        cx = np.add.reduceat((p[:, 0] + q[:, 0]) * cross, starts)
        cy = np.add.reduceat((p[:, 1] + q[:, 1]) * cross, starts)
        with np.errstate(invalid="ignore", divide="ignore"):
            c = np.stack([cx, cy], axis=1) / (3.0 * a[:, None])
        # fall back on the vertex mean where the area vanishes (never for valid meshes)
        bad = ~np.isfinite(c).all(axis=1)
        if bad.any():
            mean = np.add.reduceat(p, starts, axis=0) / self.sizes[:, None]
            c[bad] = mean[bad]
        return c + base

    def edges(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Undirected edges.

        Returns
        -------
        edge_vertices : (E, 2) int64
            Vertex pairs, smaller index first, sorted.
        edge_source : (E,) int64
            Source code of each edge.
        edge_regions : (E, 2) int64
            The regions on either side (``-1`` outside the domain).
        """
        a = self.region_vertices
        b = self.region_vertices[self.incidence_next()]
        lo = np.minimum(a, b)
        hi = np.maximum(a, b)
        key = lo * np.int64(len(self.vertices)) + hi
        order = (key).argsort(kind="stable")
        key_s = key[order]
        first = _changes(key_s)
        starts = (first).nonzero()[0]
        ev = np.stack([lo[order][starts], hi[order][starts]], axis=1)
        src = self.incidence_source[order][starts]
        regions = np.full((len(starts), 2), -1, dtype=np.int64)
        inc_region = self.incidence_region()[order]
        regions[:, 0] = inc_region[starts]
        counts = np.diff(np.concatenate((starts, [len(key_s)])))
        two = counts > 1
        regions[two, 1] = inc_region[starts[two] + 1]
        return ev, src, regions


# --------------------------------------------------------------------------------------
# small array helpers


def _exclusive_cumsum(counts: np.ndarray) -> np.ndarray:
    out = np.zeros(len(counts), dtype=np.int64)
    if len(counts) > 1:
        np.cumsum(counts[:-1], out=out[1:])
    return out


def _expand(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For ragged counts: ``(owner, position within owner)`` of every element."""
    counts = counts.astype(np.int64, copy=False)
    owner = np.repeat(np.arange(len(counts), dtype=np.int64), counts)
    pos = np.arange(len(owner), dtype=np.int64) - _exclusive_cumsum(counts)[owner]
    return owner, pos


def mix64(keys: np.ndarray) -> np.ndarray:
    """Scramble ``uint64`` keys (the splitmix64 finaliser) so every bit depends on all bits.

    Wrapping arithmetic; used for pattern hashes and the colours derived from them.

    Examples
    --------
    >>> int(mix64(np.array([1], dtype=np.uint64))[0]) != 1
    True
    """
    z = np.asarray(keys, dtype=np.uint64).copy()
    with np.errstate(over="ignore"):
        z ^= z >> np.uint64(30)
        z *= np.uint64(0xBF58476D1CE4E5B9)
        z ^= z >> np.uint64(27)
        z *= np.uint64(0x94D049BB133111EB)
        z ^= z >> np.uint64(31)
    return z


def _changes(*keys: np.ndarray) -> np.ndarray:
    """``(n,) bool``: True at 0 and wherever any key differs from the element before."""
    n = len(keys[0])
    out = np.empty(n, dtype=bool)
    if n:
        out[0] = True
        diff = keys[0][1:] != keys[0][:-1]
        for k in keys[1:]:
            diff |= k[1:] != k[:-1]
        out[1:] = diff
    return out


def _lexsort2(minor: np.ndarray, major: np.ndarray) -> np.ndarray:
    """Indices sorting by ``major``, ties by ``minor`` (like ``np.lexsort((minor, major))``).

    Two argsorts, the second stable, are faster than ``np.lexsort``.
    """
    first = (minor).argsort()
    return first[(major[first]).argsort(kind="stable")]


def _components(n: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Smallest member of the connected component of each of ``n`` nodes, given links ``a-b``."""
    label = np.arange(n, dtype=np.int64)
    if len(a) == 0:
        return label
    while True:
        m = np.minimum(label[a], label[b])
        new = label.copy()
        np.minimum.at(new, a, m)
        np.minimum.at(new, b, m)
        new = new[new]
        while True:  # pointer jumping to the root
            nxt = new[new]
            if (nxt == new).all():
                break
            new = nxt
        if (new == label).all():
            return label
        label = new


def _order_cycles(succ: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cycles of a permutation: ``(label, rank)`` per element.

    ``label`` is the smallest element of the cycle, ``rank`` the number of
    steps from it along ``succ``.
    """
    n = len(succ)
    label = np.arange(n, dtype=np.int64)
    jump = succ.copy()
    while True:
        new = np.minimum(label, label[jump])
        jump = jump[jump]
        if (new == label).all():
            break
        label = new
    root = label == np.arange(n)
    # distance forward to the root (Wyllie's list ranking with the root absorbing)
    dist = np.where(root, 0, 1).astype(np.int64)
    nxt = np.where(root, np.arange(n), succ)
    while True:
        done = root[nxt]
        if done.all():
            break
        dist = dist + np.where(root, 0, dist[nxt])
        nxt = nxt[nxt]
    # the last hop lands on the root: add it for those not yet at root
    length = np.bincount(label, minlength=n)[label]
    dist_to_root = dist  # steps from element to root (root: 0)
    rank = np.where(root, 0, length - dist_to_root)
    return label, rank


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
    key = np.unique(
        np.concatenate(
            [xlabel[multi] * np.int64(nch) + xa[multi], xlabel[multi] * np.int64(nch) + xb[multi]]
        )
    )
    cl = key // nch
    ch = key % nch
    stop = np.searchsorted(cl, cl, side="right")
    own, off = _expand(stop - np.arange(len(cl)) - 1)
    partner = own + 1 + off
    pair = ch[own] * np.int64(nch) + ch[partner]
    pair_cluster = cl[own]
    # the crossing of each such pair, if the two chords cross at all
    xkey = np.minimum(xa, xb) * np.int64(nch) + np.maximum(xa, xb)
    xorder = (xkey).argsort()
    at = np.minimum(np.searchsorted(xkey[xorder], pair), nx - 1)
    hit = xkey[xorder][at] == pair
    link_a = [pair_cluster[hit]]
    link_b = [xlabel[xorder[at[hit]]]]
    # the same pair in two multi-crossing clusters
    order = _lexsort2(pair_cluster, pair)
    p_s, c_s = pair[order], pair_cluster[order]
    twice = (p_s[1:] == p_s[:-1]) & (c_s[1:] != c_s[:-1])
    link_a.append(c_s[:-1][twice])
    link_b.append(c_s[1:][twice])
    a = np.concatenate(link_a)
    b = np.concatenate(link_b)
    differ = a != b
    return a[differ], b[differ]


def _trace_faces(
    group: np.ndarray,
    orig: np.ndarray,
    dest: np.ndarray,
    code: np.ndarray,
    vertices: np.ndarray,
    outer: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Faces of plane graphs given as twin half-edge pairs (``h`` and ``h ^ 1``).

    Every graph (one per ``group``) is connected; ``outer (H,) bool`` marks
    the half-edges of its outer face (the outside of its boundary), which is
    not returned.

    Returns
    -------
    face_group : (F,) int64
    face_offsets : (F+1,) int64
    face_vertices : (I,) int64
        Corners, counter-clockwise.
    face_source : (I,) int64
        Source code of the side leaving each corner.
    """
    h = len(orig)
    d = vertices[dest] - vertices[orig]
    angle = np.arctan2(d[:, 1], d[:, 0])
    order = _lexsort2(angle, group * np.int64(len(vertices)) + orig)
    pos = np.empty(h, dtype=np.int64)
    pos[order] = np.arange(h)
    g_s = group[order]
    o_s = orig[order]
    start = _changes(g_s, o_s)
    seg_start = np.maximum.accumulate(np.where(start, np.arange(h), 0))
    end = np.empty(h, dtype=bool)
    end[:-1] = start[1:]
    end[-1:] = True
    seg_end = np.minimum.accumulate(np.where(end, np.arange(h), h)[::-1])[::-1]
    twin = np.arange(h) ^ 1
    tp = pos[twin]
    prev = np.where(tp == seg_start[tp], seg_end[tp], tp - 1)
    succ = order[prev]
    # faces inside never use the outer side of the boundary: trace the rest only
    inner = (~outer).nonzero()[0]
    local = np.full(h, -1, dtype=np.int64)
    local[inner] = np.arange(len(inner))
    label, rank = _order_cycles(local[succ[inner]])
    idx = _lexsort2(rank, label)
    lab = label[idx]
    idx = inner[idx]
    starts = _changes(lab).nonzero()[0]
    offsets = np.concatenate((starts, [len(idx)])).astype(np.int64)
    return group[idx[starts]], offsets, orig[idx], code[idx]


# --------------------------------------------------------------------------------------
# cutting


@dataclasses.dataclass
class CutResult:
    """A cut mesh, and where its new vertices came from.

    New vertex ``V_old + i`` lies at ``(1 - interp_weight[i])`` of vertex
    ``interp_from[i]`` plus ``interp_weight[i]`` of vertex ``interp_to[i]``,
    on a segment inside one old region: any function affine on the old regions
    takes the same mix of its values there (exact interpolation).  The
    vertices it mixes come earlier in the table, so one pass in order fills it.
    """

    mesh: Mesh
    #: number of chords inserted (coincident units counted once)
    num_chords: int
    interp_from: np.ndarray
    interp_to: np.ndarray
    interp_weight: np.ndarray

    def extend(self, values: np.ndarray) -> np.ndarray:
        """``values (V_old, ...)`` at old vertices -> ``(V_new, ...)`` at all vertices."""
        n_old = len(values)
        n_new = len(self.interp_from)
        if n_new == 0:
            return values
        out = np.empty((n_old + n_new, *values.shape[1:]), dtype=values.dtype)
        out[:n_old] = values
        # two passes: vertices on old sides mix old vertices; crossings mix those
        first = self.interp_from < n_old
        first &= self.interp_to < n_old
        for sel in ((first).nonzero()[0], (~first).nonzero()[0]):
            if len(sel) == 0:
                continue
            w = self.interp_weight[sel].reshape(-1, *([1] * (values.ndim - 1)))
            a = out[self.interp_from[sel]]
            a += w * (out[self.interp_to[sel]] - a)
            out[n_old + sel] = a
        return out


def _crossed_pairs(
    signs: np.ndarray, rv: np.ndarray, offsets: np.ndarray, active: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """``(region, unit)`` pairs with corners of both signs, sorted by region then unit.

    With ``active (F, n) bool``, only those pairs are considered.

    The signs are packed 64 units to a word, so that the reductions over each
    region's corners touch ``n / 64`` words per corner.
    """
    n = signs.shape[1]
    nregions = len(offsets) - 1
    words = -(-n // 64)

    def pack(mask: np.ndarray) -> np.ndarray:
        packed = np.packbits(mask, axis=1, bitorder="little")
        out = np.zeros((len(mask), words * 8), dtype=np.uint8)
        out[:, : packed.shape[1]] = packed
        return out.view(np.uint64)

    pos = pack(signs > 0)
    neg = pack(signs < 0)
    step = max(1, (1 << 24) // words)  # incidences per chunk
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
            crossed &= pack(active[f0:f1])
        rows = (crossed.any(axis=1)).nonzero()[0]
        bits = np.unpackbits(crossed[rows].view(np.uint8), axis=1, bitorder="little")[:, :n]
        r, u = np.nonzero(bits)
        regions.append(rows[r].astype(np.int64) + f0)
        units.append(u.astype(np.int64))
        f0 = f1
    if not regions:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    return np.concatenate(regions), np.concatenate(units)


def _classify(z: np.ndarray) -> np.ndarray:
    """Signs of unit values with snapping to zero: ``(V, n) int8``."""
    tol = get_tolerance().value_rtol * np.abs(z).max(axis=0, initial=0.0)
    s = np.sign(z).astype(np.int8)
    s[np.abs(z) <= tol] = 0
    return s


def cut(
    mesh: Mesh,
    values: np.ndarray,
    unit_codes: np.ndarray,
    diameter: float,
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
    unit_codes : (n,) int64
        Edge-source code of each unit (see :func:`encode_source`).
    diameter : float
        Diameter of the domain (scale of the point tolerance).
    max_regions : int
        Raise :class:`~regionscope.errors.RegionLimitError` when the result
        would have more regions.
    active : (F, n) bool, optional
        Only these (region, unit) pairs may be cut.

    Returns
    -------
    CutResult
    """
    from .errors import RegionLimitError

    tol = get_tolerance()
    verts = mesh.vertices
    rv = mesh.region_vertices
    offsets = mesh.region_offsets
    sizes = mesh.sizes
    nregions = mesh.num_regions
    nverts = len(verts)
    point_tol = tol.point_rtol * diameter
    signs = _classify(values)

    # ---- 1. which (region, unit) pairs are crossed: both signs among the corners
    pair_region, pair_unit = _crossed_pairs(signs, rv, offsets, active)
    if len(pair_region) == 0:
        empty = np.zeros(0, dtype=np.int64)
        return CutResult(mesh, 0, empty, empty, np.zeros(0))

    # ---- 2. the two points where each crossed pair's zero set meets the boundary
    m = sizes[pair_region]
    pid, k = _expand(m)
    pstart = _exclusive_cumsum(m)
    inc = offsets[pair_region][pid] + k
    s = signs[rv[inc], pair_unit[pid]]
    nl = len(s)
    g = np.arange(nl, dtype=np.int64)
    nzpos = np.where(s != 0, g, -1)
    run = np.maximum.accumulate(nzpos)
    prev = np.empty(nl, dtype=np.int64)
    prev[0] = -1
    prev[1:] = run[:-1]
    last_nz = np.maximum.reduceat(nzpos, pstart)
    prev = np.where(prev < pstart[pid], last_nz[pid], prev)
    sp = s[prev]
    first_of = []
    for want in (-1, 1):  # the first "+ to -" and the first "- to +" transition
        idx = ((s == want) & (sp == -want)).nonzero()[0]
        p_of = pid[idx]
        first_of.append(idx[_changes(p_of)])
    # each crossed pair has exactly one of each kind of first transition
    ends = np.empty((len(pair_region), 2), dtype=np.int64)  # (P, 2) positions of transitions
    ends[:, 0], ends[:, 1] = first_of
    q = prev[ends]  # previous nonzero position
    p_end = pstart + m  # one past the end of each pair's run
    pp = np.arange(len(pair_region))[:, None]
    adjacent = (q == ends - 1) | ((ends == pstart[:, None]) & (q == p_end[:, None] - 1))
    # zero-vertex endpoints: the corner after q
    zpos = np.where(q + 1 < p_end[pp], q + 1, pstart[pp])
    ka = k[q]  # local index of the corner before an edge crossing
    va = rv[inc[q]]
    vb = rv[inc[ends]]
    unit2 = pair_unit[:, None].repeat(2, axis=1)
    # edge crossings, computed in the canonical orientation (smaller vertex first)
    lo = np.minimum(va, vb)
    hi = np.maximum(va, vb)
    z_lo = values[lo, unit2]
    z_hi = values[hi, unit2]
    with np.errstate(invalid="ignore", divide="ignore"):
        t_canon = np.where(adjacent, z_lo / (z_lo - z_hi), 0.0)
    t_canon = np.clip(t_canon, 0.0, 1.0)

    # ---- 3. new vertices on edges: one per (edge, unit), then merge close ones per edge
    ex = (adjacent.ravel()).nonzero()[0]
    e_lo = lo.ravel()[ex]
    e_hi = hi.ravel()[ex]
    e_unit = unit2.ravel()[ex]
    e_t = t_canon.ravel()[ex]
    ekey = e_lo * np.int64(nverts) + e_hi
    order = _lexsort2(e_unit, ekey)
    first = _changes(ekey[order], e_unit[order])
    uniq = order[first]  # one entry per (edge, unit)
    crossing_of = np.empty(len(ex), dtype=np.int64)  # entry -> unique crossing
    crossing_of[order] = (first).cumsum() - 1
    u_key = ekey[uniq]
    u_t = e_t[uniq]
    u_lo = e_lo[uniq]
    u_hi = e_hi[uniq]
    # merge crossings of one edge closer than the point tolerance
    o2 = _lexsort2(u_t, u_key)
    edge_len = np.hypot(*(verts[u_hi] - verts[u_lo]).T)
    new_cluster = np.empty(len(o2), dtype=bool)
    new_cluster[:1] = True
    same_edge = u_key[o2][1:] == u_key[o2][:-1]
    close = (u_t[o2][1:] - u_t[o2][:-1]) * edge_len[o2][1:] <= point_tol
    new_cluster[1:] = ~(same_edge & close)
    cluster_sorted = (new_cluster).cumsum() - 1
    cluster_of_crossing = np.empty(len(o2), dtype=np.int64)
    cluster_of_crossing[o2] = cluster_sorted
    rep = o2[new_cluster]  # representative crossing of each cluster
    c_key = u_key[rep]
    c_t = u_t[rep]
    c_lo = u_lo[rep]
    c_hi = u_hi[rep]
    n_edge_new = len(rep)
    c_xy = verts[c_lo] + c_t[:, None] * (verts[c_hi] - verts[c_lo])

    # endpoint vertex ids and boundary positions
    end_vid = rv[inc[zpos]].copy()
    end_pos = k[zpos].astype(np.float64)
    flat_vid = end_vid.ravel()
    flat_pos = end_pos.ravel()
    cl = cluster_of_crossing[crossing_of]
    flat_vid[ex] = nverts + cl
    t_rep = c_t[cl]
    forward = va.ravel()[ex] == c_lo[cl]
    flat_pos[ex] = ka.ravel()[ex] + np.where(forward, t_rep, 1.0 - t_rep)
    end_vid = flat_vid.reshape(ends.shape)
    end_pos = flat_pos.reshape(ends.shape)
    all_xy = np.concatenate([verts, c_xy])

    # ---- 4. chords: drop degenerate ones, keep one of coincident ones
    sizes_p = m.astype(np.float64)
    gap = np.abs(end_pos[:, 0] - end_pos[:, 1])
    along_side = (end_pos == end_pos.round()).all(axis=1) & ((gap == 1) | (gap == sizes_p - 1))
    ok = (end_vid[:, 0] != end_vid[:, 1]) & ~along_side
    v1 = np.minimum(end_vid[:, 0], end_vid[:, 1])
    v2 = np.maximum(end_vid[:, 0], end_vid[:, 1])
    sel = (ok).nonzero()[0]
    ck = np.lexsort((pair_unit[sel], v2[sel], v1[sel], pair_region[sel]))
    sel = sel[ck]
    dup = np.zeros(len(sel), dtype=bool)
    dup[1:] = (
        (pair_region[sel][1:] == pair_region[sel][:-1])
        & (v1[sel][1:] == v1[sel][:-1])
        & (v2[sel][1:] == v2[sel][:-1])
    )
    chords = np.sort(sel[~dup])  # sorted by (region, unit) as the pairs are
    ch_region = pair_region[chords]
    ch_code = unit_codes[pair_unit[chords]]
    pos_a = end_pos[chords, 0]
    pos_b = end_pos[chords, 1]
    vid_a = end_vid[chords, 0]
    vid_b = end_vid[chords, 1]
    nch = len(chords)

    # ---- 5. crossings of chords inside each region: endpoints interleave on the boundary
    # rank endpoint positions within regions (equal positions are the same vertex)
    ep_region = np.concatenate([ch_region, ch_region])
    ep_pos = np.concatenate([pos_a, pos_b])
    o3 = _lexsort2(ep_pos, ep_region)
    newrank = _changes(ep_region[o3], ep_pos[o3])
    rank = np.empty(len(o3), dtype=np.int64)
    rank[o3] = (newrank).cumsum() - 1
    ra, rb = rank[:nch], rank[nch:]
    c_lo_r = np.minimum(ra, rb)
    c_hi_r = np.maximum(ra, rb)
    o4 = (c_lo_r).argsort(kind="stable")
    lo_sorted = c_lo_r[o4]
    start = np.searchsorted(lo_sorted, c_lo_r, side="right")
    stop = np.searchsorted(lo_sorted, c_hi_r, side="left")
    counts = np.maximum(stop - start, 0)
    xa_parts = []
    xb_parts = []
    budget = 1 << 24
    cum = (counts).cumsum()
    chunk_starts = [0]
    # split the candidate enumeration into chunks of about `budget` candidates
    if len(cum) and cum[-1] > budget:
        marks = np.searchsorted(cum, np.arange(budget, cum[-1], budget))
        chunk_starts = [0, *sorted(set(int(x) + 1 for x in marks if x + 1 < nch))]
    bounds = [*chunk_starts, nch]
    for c0, c1 in zip(bounds[:-1], bounds[1:], strict=True):
        own, off = _expand(counts[c0:c1])
        own = own + c0
        cand = o4[start[own] + off]
        cross_ok = c_hi_r[cand] > c_hi_r[own]
        xa_parts.append(own[cross_ok])
        xb_parts.append(cand[cross_ok])
        found = sum(len(p) for p in xa_parts)
        if nregions + nch + found > max_regions:  # stop before memory runs out
            raise RegionLimitError(nregions, max_regions, f"{nch} new cuts and {found}+ crossings")
    xa = np.concatenate(xa_parts) if xa_parts else np.zeros(0, np.int64)
    xb = np.concatenate(xb_parts) if xb_parts else np.zeros(0, np.int64)
    nx = len(xa)
    estimate = nregions + nch + nx
    if estimate > max_regions:
        raise RegionLimitError(nregions, max_regions, f"{nch} new cuts and {nx} crossings")
    pa, pb = all_xy[vid_a], all_xy[vid_b]
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
    x_xy = pa[xa] + sa[:, None] * da

    # ---- 6. merge concurrent crossings: close neighbours along a chord are one point
    mem_chord = np.concatenate([xa, xb])
    mem_s = np.concatenate([sa, sb])
    mem_x = np.concatenate([np.arange(nx), np.arange(nx)])
    o5 = _lexsort2(mem_s, mem_chord)
    ch_len = np.hypot(d[:, 0], d[:, 1])
    mc = mem_chord[o5]
    link = (mc[1:] == mc[:-1]) & ((mem_s[o5][1:] - mem_s[o5][:-1]) * ch_len[mc[1:]] <= point_tol)
    link_a = mem_x[o5][:-1][link]
    link_b = mem_x[o5][1:][link]
    xlabel = _components(nx, link_a, link_b)
    # two chords meet at most once: where a pair of chords shares two clusters
    # (possible when tolerances chain), those clusters are one point
    while nx:
        extra_a, extra_b = _shared_twice(xa, xb, xlabel, nch)
        if len(extra_a) == 0:
            break
        link_a = np.concatenate([link_a, extra_a])
        link_b = np.concatenate([link_b, extra_b])
        xlabel = _components(nx, link_a, link_b)
    roots = (xlabel == np.arange(nx)).nonzero()[0]
    root_index = np.full(nx, -1, dtype=np.int64)
    root_index[roots] = np.arange(len(roots))
    x_vid = nverts + n_edge_new + root_index[xlabel]
    new_vertices = np.concatenate([verts, c_xy, x_xy[roots]])

    # ---- 7. chord segments: endpoints and crossings in order along each chord
    seq_chord = np.concatenate([np.arange(nch), np.arange(nch), mem_chord])
    seq_s = np.concatenate([np.full(nch, -1.0), np.full(nch, 2.0), mem_s])
    seq_v = np.concatenate([vid_a, vid_b, x_vid[mem_x]])
    o6 = _lexsort2(seq_s, seq_chord)
    seq_chord = seq_chord[o6]
    seq_v = seq_v[o6]
    keep = _changes(seq_chord, seq_v)
    seq_chord = seq_chord[keep]
    seq_v = seq_v[keep]
    segment = seq_chord[1:] == seq_chord[:-1]
    seg_a = seq_v[:-1][segment]
    seg_b = seq_v[1:][segment]
    seg_chord = seq_chord[:-1][segment]

    # ---- 8. regions to rebuild: those with chords, and those with a side that was split
    inc_next = mesh.incidence_next()
    a_inc = rv
    b_inc = rv[inc_next]
    inc_key = np.minimum(a_inc, b_inc) * np.int64(nverts) + np.maximum(a_inc, b_inc)
    # c_key is sorted: membership by binary search
    at = np.minimum(np.searchsorted(c_key, inc_key), max(len(c_key) - 1, 0))
    split_side = c_key[at] == inc_key if len(c_key) else np.zeros(len(inc_key), dtype=bool)
    inc_region = mesh.incidence_region()
    touched = np.zeros(nregions, dtype=bool)
    touched[ch_region] = True
    touched[inc_region[split_side]] = True
    t_regions = (touched).nonzero()[0]
    local = np.full(nregions, -1, dtype=np.int64)
    local[t_regions] = np.arange(len(t_regions))

    # boundary of each touched region with the new vertices inserted on its sides
    t_sizes = sizes[t_regions]
    t_own, t_k = _expand(t_sizes)
    t_inc = offsets[t_regions][t_own] + t_k
    key_t = inc_key[t_inc]
    c_order = (c_key).argsort(kind="stable")  # clusters sorted by (edge, t) already
    ck_sorted = c_key[c_order]
    lo_i = np.searchsorted(ck_sorted, key_t, side="left")
    hi_i = np.searchsorted(ck_sorted, key_t, side="right")
    n_ins = hi_i - lo_i
    fwd = a_inc[t_inc] < b_inc[t_inc]
    b_own, b_r = _expand(1 + n_ins)
    is_corner = b_r == 0
    ins_idx = np.where(
        fwd[b_own], lo_i[b_own] + b_r - 1, hi_i[b_own] - b_r
    )  # position among the edge's clusters
    ins_idx = np.clip(ins_idx, 0, max(len(c_order) - 1, 0))
    bvid = np.where(
        is_corner,
        rv[t_inc][b_own],
        nverts + (c_order[ins_idx] if len(c_order) else 0),
    )
    bcode = mesh.incidence_source[t_inc][b_own]
    bgroup = t_own[b_own]
    # next vertex around the rebuilt boundary
    nb = len(bvid)
    bnext = np.arange(1, nb + 1)
    grp_start = _changes(bgroup).nonzero()[0]
    grp_end = np.concatenate((grp_start[1:] - 1, [nb - 1]))
    bnext[grp_end] = grp_start
    bdest = bvid[bnext]

    # half-edges in twin pairs: boundary (inner side, outer side), chord segments (both ways)
    sgroup = local[ch_region[seg_chord]]
    n_h = 2 * (nb + len(seg_a))
    group = np.empty(n_h, dtype=np.int64)
    orig = np.empty(n_h, dtype=np.int64)
    dest = np.empty(n_h, dtype=np.int64)
    code = np.empty(n_h, dtype=np.int64)
    group[0 : 2 * nb : 2] = bgroup
    group[1 : 2 * nb : 2] = bgroup
    orig[0 : 2 * nb : 2] = bvid
    dest[0 : 2 * nb : 2] = bdest
    orig[1 : 2 * nb : 2] = bdest
    dest[1 : 2 * nb : 2] = bvid
    code[0 : 2 * nb : 2] = bcode
    code[1 : 2 * nb : 2] = bcode
    scode = ch_code[seg_chord]
    group[2 * nb :: 2] = sgroup
    group[2 * nb + 1 :: 2] = sgroup
    orig[2 * nb :: 2] = seg_a
    dest[2 * nb :: 2] = seg_b
    orig[2 * nb + 1 :: 2] = seg_b
    dest[2 * nb + 1 :: 2] = seg_a
    code[2 * nb :: 2] = scode
    code[2 * nb + 1 :: 2] = scode
    outer = np.zeros(n_h, dtype=bool)
    outer[1 : 2 * nb : 2] = True
    f_group, f_off, f_vert, f_code = _trace_faces(group, orig, dest, code, new_vertices, outer)

    # ---- 9. assemble: untouched regions first, in order, then the new faces
    kept = (~touched).nonzero()[0]
    k_sizes = sizes[kept]
    k_own, k_k = _expand(k_sizes)
    k_inc = offsets[kept][k_own] + k_k
    new_rv = np.concatenate([rv[k_inc], f_vert])
    new_src = np.concatenate([mesh.incidence_source[k_inc], f_code])
    new_sizes = np.concatenate([k_sizes, np.diff(f_off)])
    new_offsets = np.zeros(len(new_sizes) + 1, dtype=np.int64)
    np.cumsum(new_sizes, out=new_offsets[1:])
    if len(new_sizes) > max_regions:
        raise RegionLimitError(len(new_sizes), max_regions)
    out = Mesh(new_vertices, new_rv, new_offsets, new_src, mesh.num_corners)
    interp_from = np.concatenate([c_lo, vid_a[xa[roots]]])
    interp_to = np.concatenate([c_hi, vid_b[xa[roots]]])
    interp_weight = np.concatenate([c_t, sa[roots]])
    return CutResult(out, nch, interp_from, interp_to, interp_weight)


# --------------------------------------------------------------------------------------
# merging


def merge(
    mesh: Mesh, region_key: np.ndarray, removable: np.ndarray
) -> tuple[Mesh, np.ndarray, np.ndarray]:
    """Merge adjacent regions with equal keys across removable sides.

    Parameters
    ----------
    mesh : Mesh
    region_key : (F,) or (F, k) array
        Regions with equal keys (rows) that share a removable side are merged.
    removable : (I,) bool
        Which sides (by incidence) may be removed.

    Returns
    -------
    mesh : Mesh
        Merged mesh, with vertices left in the middle of a straight side (or
        inside a region) removed.
    group : (F,) int64
        New region of each old region.
    kept : (V,) bool
        Which old vertices remain (in order).
    """
    nregions = mesh.num_regions
    rv = mesh.region_vertices
    nverts = len(mesh.vertices)
    inc_next = mesh.incidence_next()
    inc_region = mesh.incidence_region()
    a = rv
    b = rv[inc_next]
    key = np.minimum(a, b) * np.int64(nverts) + np.maximum(a, b)
    order = (key).argsort(kind="stable")
    ks = key[order]
    pair = (ks[1:] == ks[:-1]).nonzero()[0]  # interior sides: two incidences
    i1 = order[pair]
    i2 = order[pair + 1]
    r1 = inc_region[i1]
    r2 = inc_region[i2]
    join = removable[i1] & removable[i2]
    same = region_key[r1[join]] == region_key[r2[join]]
    if same.ndim > 1:
        same = same.all(axis=1)
    join[join] = same
    if not join.any():
        return mesh, np.arange(nregions, dtype=np.int64), np.ones(nverts, dtype=bool)
    comp = _components(nregions, r1[join], r2[join])
    drop = np.zeros(len(rv), dtype=bool)
    drop[i1[join]] = True
    drop[i2[join]] = True
    # the remaining sides of each component form its boundary cycle
    keep = (~drop).nonzero()[0]
    h_comp = comp[inc_region[keep]]
    h_orig = a[keep]
    h_dest = b[keep]
    o = _lexsort2(h_orig, h_comp)
    sorted_key = h_comp[o] * np.int64(nverts) + h_orig[o]
    want = h_comp * np.int64(nverts) + h_dest
    succ = o[np.searchsorted(sorted_key, want)]
    label, rank = _order_cycles(succ)
    idx = _lexsort2(rank, label)
    f_comp = h_comp[idx]
    new_first = _changes(label[idx])
    # order regions by component id so that group maps old -> new
    cycle_comp = f_comp[new_first]
    corder = (cycle_comp).argsort(kind="stable")
    starts = (new_first).nonzero()[0]
    counts = np.diff(np.concatenate((starts, [len(idx)])))
    s_own, s_k = _expand(counts[corder])
    sel = idx[starts[corder][s_own] + s_k]
    new_rv = h_orig[sel]
    new_src = mesh.incidence_source[keep][sel]
    new_sizes = counts[corder]
    uniq_comp = cycle_comp[corder]
    group = np.searchsorted(uniq_comp, comp)
    offsets = np.zeros(len(new_sizes) + 1, dtype=np.int64)
    np.cumsum(new_sizes, out=offsets[1:])
    merged = Mesh(mesh.vertices, new_rv, offsets, new_src, mesh.num_corners)
    out, kept = _drop_degree_two(merged)
    return out, group, kept


def _drop_degree_two(mesh: Mesh) -> tuple[Mesh, np.ndarray]:
    """Remove vertices with two neighbours (other than domain corners) and unused vertices."""
    ev, _, _ = mesh.edges()
    nverts = len(mesh.vertices)
    degree = np.bincount(ev.ravel(), minlength=nverts)
    removable = degree <= 2
    removable[: mesh.num_corners] = False
    keep_inc = ~removable[mesh.region_vertices]
    # the source of a merged side: sides on both sides of a removed vertex come from one line
    counts = np.add.reduceat(keep_inc.astype(np.int64), mesh.region_offsets[:-1])
    new_rv = mesh.region_vertices[keep_inc]
    new_src = mesh.incidence_source[keep_inc]
    used = np.zeros(nverts, dtype=bool)
    used[new_rv] = True
    remap = (used).cumsum() - 1
    offsets = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    out = Mesh(
        mesh.vertices[used], remap[new_rv].astype(np.int64), offsets, new_src, mesh.num_corners
    )
    return out, used
