"""Chord paths and the faces of the changed regions, compiled.

The counterparts of :func:`~regionscope.geometry.chords.chord_segments` and
:func:`~regionscope.geometry.cutting.rebuild_regions`: the
touched regions, their boundary cycles with the new side points, the
successor of every half-edge (:func:`~regionscope.geometry.faces.face_successors`,
the same rules) and the faces traced from their smallest half-edge, in order
of it (:func:`~regionscope.geometry.arrays.cycles`).
"""

from __future__ import annotations

import numpy as np

from .common import helper, inline, insertion_argsort, numpy_sum, sort_index

__all__ = ["paths", "rebuild", "invalid"]


@helper
def _points_by_lo(p_key, nverts):
    """``(V + 1,)``: the first point (``p_key`` is sorted) whose side's smaller vertex is ``v``
    (the number of points on sides with a smaller one: one division per point)."""
    start = np.zeros(nverts + 1, dtype=np.int64)
    for j in range(len(p_key)):
        start[p_key[j] // nverts + 1] += 1
    for v in range(nverts):
        start[v + 1] += start[v]
    return start


@helper
def _side_points(rv, offsets, regions, p_key, by_lo, nverts):
    """``(lo, hi)`` per incidence of ``regions``: the points on its side are ``lo..hi-1``.

    The points of a side are found among those whose side has the same smaller
    vertex (a few): no binary search, whose branches cost more than the work.
    """
    n = 0
    for f in regions:
        n += offsets[f + 1] - offsets[f]
    lo_i = np.empty(n, dtype=np.int64)
    hi_i = np.empty(n, dtype=np.int64)
    k = 0
    for f in regions:
        o, e = offsets[f], offsets[f + 1]
        for i in range(o, e):
            a, b = rv[i], rv[i + 1 if i + 1 < e else o]
            v = min(a, b)
            key = v * nverts + max(a, b)
            j = by_lo[v]
            stop = by_lo[v + 1]
            while j < stop and p_key[j] < key:
                j += 1
            lo_i[k] = j
            while j < stop and p_key[j] == key:
                j += 1
            hi_i[k] = j
            k += 1
    return lo_i, hi_i


@helper
def _touched(rv, offsets, source, p_key, by_lo, ch_region, nverts):
    """``(touched, lo, hi, more)``: ``(F,) bool``, the regions with a chord or with a new
    point on a side; the points on the sides of the regions with a chord
    (:func:`_side_points`); whether other regions were touched.

    Usually every point's side lies in regions with chords already: it is
    then found twice among their sides (once, on the domain's boundary), and
    the other regions need no look.
    """
    nregions = len(offsets) - 1
    touched = np.zeros(nregions, dtype=np.bool_)
    for c in range(len(ch_region)):
        touched[ch_region[c]] = True
    chorded = np.flatnonzero(touched)
    lo_i, hi_i = _side_points(rv, offsets, chorded, p_key, by_lo, nverts)
    if len(p_key) == 0:
        return touched, lo_i, hi_i, False
    seen = np.zeros(len(p_key), dtype=np.int64)
    k = 0
    for f in chorded:
        for i in range(offsets[f], offsets[f + 1]):
            for q in range(lo_i[k], hi_i[k]):
                seen[q] += 2 if source[i] < 0 else 1
            k += 1
    if (seen == 2).all():
        return touched, lo_i, hi_i, False
    # the other regions with a point on a side (a region's look ends at its first one);
    # a side's smaller vertex is a corner of the region: regions without a corner that
    # is the smaller vertex of a point's side are passed over at one load per corner
    lows = np.zeros(nverts, dtype=np.bool_)
    for j in range(len(p_key)):
        lows[p_key[j] // nverts] = True
    for f in np.flatnonzero(~touched):
        o, e = offsets[f], offsets[f + 1]
        near = False
        for i in range(o, e):
            near |= lows[rv[i]]
        if not near:
            continue
        for i in range(o, e):
            a, b = rv[i], rv[i + 1 if i + 1 < e else o]
            v = min(a, b)
            j = by_lo[v]
            stop = by_lo[v + 1]
            if j == stop:
                continue
            key = v * nverts + max(a, b)
            while j < stop and p_key[j] < key:
                j += 1
            if j < stop and p_key[j] == key:
                touched[f] = True
                break
    return touched, lo_i, hi_i, len(np.flatnonzero(touched)) > len(chorded)


@helper
def _boundaries(rv, offsets, source, t_regions, nverts, lo_i, hi_i):
    """Boundary cycles of the touched regions: (vertex, next, group, code, block, first_inc);
    ``lo_i, hi_i`` are the points on their sides (:func:`_side_points`)."""
    nt = len(t_regions)
    first_inc = np.zeros(nt + 1, dtype=np.int64)
    for t in range(nt):
        f = t_regions[t]
        first_inc[t + 1] = first_inc[t] + offsets[f + 1] - offsets[f]
    block = np.empty(first_inc[nt], dtype=np.int64)
    nb = 0
    for k in range(first_inc[nt]):
        block[k] = nb
        nb += 1 + hi_i[k] - lo_i[k]
    vertex = np.empty(nb, dtype=np.int64)
    nxt = np.empty(nb, dtype=np.int64)
    group = np.empty(nb, dtype=np.int64)
    code = np.empty(nb, dtype=np.int64)
    j = 0
    for t in range(nt):
        f = t_regions[t]
        o, e = offsets[f], offsets[f + 1]
        start = j
        for i in range(o, e):
            a, b = rv[i], rv[i + 1 if i + 1 < e else o]
            k = first_inc[t] + i - o
            for r in range(1 + hi_i[k] - lo_i[k]):
                if r == 0:
                    vertex[j] = a
                elif a < b:
                    vertex[j] = nverts + lo_i[k] + r - 1
                else:
                    vertex[j] = nverts + hi_i[k] - r
                group[j] = t
                code[j] = source[i]
                nxt[j] = j + 1
                j += 1
        nxt[j - 1] = start
    return vertex, nxt, group, code, block, first_inc


@inline
def _twin(h, nb):
    return ((h - nb) ^ 1) + nb


@helper
def _at_ends(succ, b_next, nb, ch_group_size, pos_a, pos_b, end_at, first_seg):
    nch = len(pos_a)
    prev_side = np.empty(nb, dtype=np.int64)
    for j in range(nb):
        prev_side[b_next[j]] = j
    leave = np.empty(2 * nch, dtype=np.int64)
    offset = np.empty(2 * nch, dtype=np.float64)
    for c in range(nch):
        m = np.float64(ch_group_size[c])
        leave[c] = nb + 2 * first_seg[c]
        leave[nch + c] = nb + 2 * (first_seg[c + 1] - 1) + 1
        for e in range(2):
            pos = pos_a[c] if e == 0 else pos_b[c]
            other = pos_b[c] if e == 0 else pos_a[c]
            offset[e * nch + c] = other - pos if other > pos else other - pos + m
    # ends by boundary vertex (a stable counting sort), then by offset
    start = np.zeros(nb + 1, dtype=np.int64)
    for e in range(2 * nch):
        start[end_at[e] + 1] += 1
    for j in range(nb):
        start[j + 1] += start[j]
    fill = start[:-1].copy()
    order = np.empty(2 * nch, dtype=np.int64)
    for e in range(2 * nch):
        order[fill[end_at[e]]] = e
        fill[end_at[e]] += 1
    for j in range(nb):
        lo, hi = start[j], start[j + 1]
        if hi == lo:
            continue
        if hi - lo > 1:
            insertion_argsort(offset, order, lo, hi)
        for i in range(lo, hi):
            e = order[i]
            succ[_twin(leave[e], nb)] = j if i == lo else leave[order[i - 1]]
        succ[prev_side[j]] = leave[order[hi - 1]]


@helper
def _at_crossings(succ, nb, xa, xb, pos_a, pos_b, visit_of, single):
    nx = len(xa)
    for x in range(nx):
        if not single[x]:
            continue
        a, b = xa[x], xb[x]
        va, vb = visit_of[x], visit_of[nx + x]
        a_bwd = nb + 2 * (a + va) + 1
        a_fwd = nb + 2 * (a + va + 1)
        b_bwd = nb + 2 * (b + vb) + 1
        b_fwd = nb + 2 * (b + vb + 1)
        s, t, p = pos_a[a], pos_b[a], pos_b[b]
        flip = (s < p and p < t) if s < t else (p > s or p < t)
        succ[_twin(a_bwd, nb)] = b_bwd if flip else b_fwd
        succ[_twin(a_fwd, nb)] = b_fwd if flip else b_bwd
        succ[_twin(b_bwd, nb)] = a_fwd if flip else a_bwd
        succ[_twin(b_fwd, nb)] = a_bwd if flip else a_fwd


@helper
def _at_shared(succ, nb, pos_a, pos_b, visit_chord, visit_vertex, visit_of, single):
    nx = len(single)
    shared = np.ones(len(visit_chord), dtype=np.bool_)
    for x in range(nx):
        if single[x]:
            shared[visit_of[x]] = False
            shared[visit_of[nx + x]] = False
    v = np.flatnonzero(shared)
    nv = len(v)
    if nv == 0:
        return
    ray = np.empty(2 * nv, dtype=np.int64)
    key = np.empty(2 * nv, dtype=np.float64)
    vertex = np.empty(2 * nv, dtype=np.int64)
    for i in range(nv):  # in the order of the tie-break: 2 v (backwards), 2 v + 1
        c = visit_chord[v[i]]
        ray[2 * i] = nb + 2 * (c + v[i]) + 1
        ray[2 * i + 1] = nb + 2 * (c + v[i] + 1)
        key[2 * i] = pos_a[c]
        key[2 * i + 1] = pos_b[c]
        vertex[2 * i] = visit_vertex[v[i]]
        vertex[2 * i + 1] = visit_vertex[v[i]]
    order = sort_index(vertex)
    i = 0
    while i < 2 * nv:
        j = i
        while j < 2 * nv and vertex[order[j]] == vertex[order[i]]:
            j += 1
        insertion_argsort(key, order, i, j)
        for q in range(i, j):
            before = ray[order[q - 1]] if q > i else ray[order[j - 1]]
            succ[_twin(ray[order[q]], nb)] = before
        i = j


@helper
def _trace(succ, nb, b_vertex, b_group, b_code, seg_from, seg_to, seg_chord, ch_code, ch_group):
    """Faces from the successor of every half-edge, each from its smallest half-edge.

    The walk reads one row ``(successor, origin, tag)`` per step, int32 (the
    table is half the size and the walk about twice as fast on large cuts than
    with int64); the tag is the chord of a segment, or ``-1 - j`` for boundary
    side ``j``; a visited half-edge gets successor ``-1``.
    """
    n = len(succ)
    he = np.empty((n, 3), dtype=np.int32)
    for h in range(nb):
        he[h, 0] = succ[h]
        he[h, 1] = b_vertex[h]
        he[h, 2] = -1 - h
    for s in range(len(seg_chord)):
        c = seg_chord[s]
        for d in range(2):
            h = nb + 2 * s + d
            he[h, 0] = succ[h]
            he[h, 1] = seg_to[s] if d else seg_from[s]
            he[h, 2] = c
    offsets = np.empty(n + 1, dtype=np.int64)
    corners = np.empty(n, dtype=np.int64)
    tags = np.empty(n, dtype=np.int32)
    group = np.empty(n, dtype=np.int64)
    nf = 0
    k = 0
    offsets[0] = 0
    for h0 in range(n):
        if he[h0, 0] < 0:
            continue
        group[nf] = b_group[h0] if h0 < nb else ch_group[seg_chord[(h0 - nb) >> 1]]
        h = h0
        while h >= 0:
            corners[k] = he[h, 1]
            tags[k] = he[h, 2]
            k += 1
            nxt = he[h, 0]
            he[h, 0] = -1
            h = nxt
            if h >= 0 and he[h, 0] < 0:
                h = -1
        nf += 1
        offsets[nf] = k
    codes = np.empty(n, dtype=np.int64)
    for i in range(n):
        t = tags[i]
        codes[i] = b_code[-1 - t] if t < 0 else ch_code[t]
    return offsets[: nf + 1], corners, codes, group[:nf]


@helper
def paths(order, mc, crossing_vid, vid_a, vid_b):
    """The fields of :class:`~regionscope.geometry.chords.ChordPaths`."""
    nx = len(crossing_vid)
    nch = len(vid_a)
    visit_of = np.full(2 * nx, -1, dtype=np.int64)
    visit_chord = np.empty(2 * nx, dtype=np.int64)
    visit_vertex = np.empty(2 * nx, dtype=np.int64)
    visits = np.zeros(nch, dtype=np.int64)
    nv = 0
    for i in range(2 * nx):
        m = order[i]
        c = mc[i]
        v = crossing_vid[m if m < nx else m - nx]
        if nv and visit_chord[nv - 1] == c and visit_vertex[nv - 1] == v:
            continue  # a vertex shared by neighbouring crossings, once
        visit_chord[nv] = c
        visit_vertex[nv] = v
        visit_of[m] = nv
        visits[c] += 1
        nv += 1
    first_seg = np.zeros(nch + 1, dtype=np.int64)
    for c in range(nch):
        first_seg[c + 1] = first_seg[c] + visits[c] + 1
    nseg = first_seg[nch]
    seg_from = np.empty(nseg, dtype=np.int64)
    seg_to = np.empty(nseg, dtype=np.int64)
    seg_chord = np.empty(nseg, dtype=np.int64)
    v = 0
    for c in range(nch):
        prev = vid_a[c]
        last = first_seg[c + 1] - 1
        for s in range(first_seg[c], last + 1):
            if s == last:
                nxt = vid_b[c]
            else:
                nxt = visit_vertex[v]
                v += 1
            seg_from[s] = prev
            seg_to[s] = nxt
            seg_chord[s] = c
            prev = nxt
    single = np.ones(nx, dtype=np.bool_)
    if nx:
        lo = crossing_vid.min()
        shared = np.zeros(crossing_vid.max() - lo + 1, dtype=np.int64)
        for x in range(nx):
            shared[crossing_vid[x] - lo] += 1
        for x in range(nx):
            single[x] = shared[crossing_vid[x] - lo] == 1
    return (seg_from, seg_to, seg_chord, first_seg, visit_chord[:nv], visit_vertex[:nv],
            visit_of, single)


@helper
def rebuild(rv, offsets, source, p_key, nverts, ch_region, ch_code, pos_a, pos_b, corner_a,
            corner_b, step_a, step_b, seg_from, seg_to, seg_chord, first_seg, visit_chord,
            visit_vertex, visit_of, single, xa, xb):
    """``(touched, (offsets, corners, codes, group))`` as
    :func:`~regionscope.geometry.cutting.rebuild_regions`."""
    by_lo = _points_by_lo(p_key, nverts)
    touched, lo_i, hi_i, more = _touched(rv, offsets, source, p_key, by_lo, ch_region, nverts)
    t_regions = np.flatnonzero(touched)
    if more:  # regions without a chord have points: the sides of all touched ones
        lo_i, hi_i = _side_points(rv, offsets, t_regions, p_key, by_lo, nverts)
    b_vertex, b_next, b_group, b_code, block, first_inc = _boundaries(
        rv, offsets, source, t_regions, nverts, lo_i, hi_i
    )
    nb = len(b_vertex)
    local = np.cumsum(touched) - 1
    nch = len(ch_region)
    ch_group = np.empty(nch, dtype=np.int64)
    ch_size = np.empty(nch, dtype=np.int64)
    end_at = np.empty(2 * nch, dtype=np.int64)
    for c in range(nch):
        r = ch_region[c]
        g = local[r]
        ch_group[c] = g
        ch_size[c] = offsets[r + 1] - offsets[r]
        end_at[c] = block[first_inc[g] + corner_a[c]] + step_a[c]
        end_at[nch + c] = block[first_inc[g] + corner_b[c]] + step_b[c]
    if nb + 2 * len(seg_chord) >= 2**31 or nverts + len(p_key) + len(xa) >= 2**31:
        raise MemoryError("a cut of more than 2**31 half-edges or vertices")
    succ = np.empty(nb + 2 * len(seg_chord), dtype=np.int32)
    succ[:nb] = b_next
    if nch:
        _at_ends(succ, b_next, nb, ch_size, pos_a, pos_b, end_at, first_seg)
        _at_crossings(succ, nb, xa, xb, pos_a, pos_b, visit_of, single)
        _at_shared(succ, nb, pos_a, pos_b, visit_chord, visit_vertex, visit_of, single)
    faces = _trace(succ, nb, b_vertex, b_group, b_code, seg_from, seg_to, seg_chord, ch_code,
                   ch_group)
    return touched, faces


@helper
def invalid(f_offsets, corners, f_group, xy, check, rtol):
    """``(G,) bool``: groups (with ``check``) with a face that is not convex
    counter-clockwise or passes a vertex twice, as ``_invalid_faces`` of
    :mod:`regionscope.geometry.cutting` (NumPy's sums included)."""
    bad = np.zeros(len(check), dtype=np.bool_)
    widest = 0
    for f in range(len(f_offsets) - 1):
        widest = max(widest, f_offsets[f + 1] - f_offsets[f])
    px = np.empty(widest, dtype=np.float64)
    py = np.empty(widest, dtype=np.float64)
    cross = np.empty(widest, dtype=np.float64)
    for f in range(len(f_offsets) - 1):
        g = f_group[f]
        if not check[g] or bad[g]:
            continue
        o = f_offsets[f]
        k = f_offsets[f + 1] - o
        bx, by = xy[corners[o], 0], xy[corners[o], 1]
        for i in range(k):
            px[i] = xy[corners[o + i], 0] - bx
            py[i] = xy[corners[o + i], 1] - by
        for i in range(k):
            j = i + 1 if i + 1 < k else 0
            cross[i] = px[i] * py[j] - py[i] * px[j]
        right = False
        for i in range(k):
            j = i + 1 if i + 1 < k else 0
            l = j + 1 if j + 1 < k else 0
            a0, a1 = px[j] - px[i], py[j] - py[i]
            b0, b1 = px[l] - px[j], py[l] - py[j]
            turn = a0 * b1 - a1 * b0
            scale = np.sqrt(a0 * a0 + a1 * a1) * np.sqrt(b0 * b0 + b1 * b1)
            right |= turn < -rtol * scale
        repeated = False
        for i in range(1, k):
            for j in range(i):
                repeated |= corners[o + i] == corners[o + j]
        if numpy_sum(cross, 0, k) <= 0 or right or repeated:
            bad[g] = True
    return bad
