"""Chord ends, new points on sides, and chords, compiled.

The counterparts of :func:`~regionscope.geometry.chords.chord_ends`,
:func:`~regionscope.geometry.chords.edge_points` and
:func:`~regionscope.geometry.chords.make_chords`.
"""

from __future__ import annotations

import numpy as np

from .common import helper, search, sort_runs, unique

__all__ = ["chord_ends", "edge_points", "end_vertices", "make_chords"]


@helper
def chord_ends(rv, offsets, values, tol, pair_region, pair_unit):
    """``(size, on_side, corner, corner_pos, side_pos, side_lo, side_hi, side_forward, side_t)``
    as in :class:`~regionscope.geometry.chords.ChordEnds`."""
    npairs = len(pair_region)
    size = np.empty(npairs, dtype=np.int64)
    on_side = np.zeros((npairs, 2), dtype=np.bool_)
    corner = np.empty((npairs, 2), dtype=np.int64)
    corner_pos = np.empty((npairs, 2), dtype=np.int64)
    side_pos = np.empty((npairs, 2), dtype=np.int64)
    side_lo = np.empty((npairs, 2), dtype=np.int64)
    side_hi = np.empty((npairs, 2), dtype=np.int64)
    side_forward = np.empty((npairs, 2), dtype=np.bool_)
    side_t = np.empty((npairs, 2), dtype=np.float64)
    widest = 0
    for p in range(npairs):
        f = pair_region[p]
        widest = max(widest, offsets[f + 1] - offsets[f])
    s = np.empty(widest, dtype=np.int8)
    found = np.empty(2, dtype=np.int64)
    before = np.empty(2, dtype=np.int64)
    for p in range(npairs):
        f = pair_region[p]
        u = pair_unit[p]
        o = offsets[f]
        m = offsets[f + 1] - o
        size[p] = m
        last = -1
        for j in range(m):
            z = values[rv[o + j], u]
            s[j] = 1 if z > tol[u] else (-1 if z < -tol[u] else 0)
            if s[j] != 0:
                last = j
        # the first "+ to -" (end 0) and "- to +" (end 1) transition, zero corners skipped
        prev = last
        found[0] = found[1] = -1
        for j in range(m):
            if s[j] != 0:
                e = 0 if s[j] < 0 else 1
                if found[e] < 0 and s[prev] == -s[j]:
                    found[e] = j
                    before[e] = prev
                prev = j
        for e in range(2):
            j = found[e]
            b = before[e]
            side = b == j - 1 or (j == 0 and b == m - 1)
            zero = b + 1 if b + 1 < m else 0
            va = rv[o + b]
            vb = rv[o + j]
            lo = min(va, vb)
            hi = max(va, vb)
            t = 0.0
            if side:
                z_lo = values[lo, u]
                t = z_lo / (z_lo - values[hi, u])
                t = min(max(t, 0.0), 1.0)
            on_side[p, e] = side
            corner[p, e] = rv[o + zero]
            corner_pos[p, e] = zero
            side_pos[p, e] = b
            side_lo[p, e] = lo
            side_hi[p, e] = hi
            side_forward[p, e] = va == lo
            side_t[p, e] = t
    return size, on_side, corner, corner_pos, side_pos, side_lo, side_hi, side_forward, side_t


@helper
def _regions_on(keys, ekey, region):
    """Sorted distinct regions of the entries whose key is in the sorted array ``keys``."""
    if len(keys) == 0:
        return np.zeros(0, dtype=np.int64)
    at = np.minimum(search(keys, ekey, False), len(keys) - 1)
    return unique(region[keys[at] == ekey])


@helper
def edge_points(side_lo, side_hi, on_side, side_t, unit, region, vertices, point_tol, values, tol,
                near_check):
    """The new points on sides, as :func:`~regionscope.geometry.chords.edge_points`:
    ``(key, t, lo, hi, xy, near_regions, merged_regions, ex, e_cluster, rank, count)``, the
    last four for :func:`end_vertices`."""
    nverts = len(vertices)
    ex = np.flatnonzero(on_side.ravel())
    ne = len(ex)
    e_lo = side_lo.ravel()[ex]
    e_hi = side_hi.ravel()[ex]
    e_unit = unit[ex >> 1]
    e_t = side_t.ravel()[ex]
    ekey = e_lo * nverts + e_hi
    # one entry per (side, unit): sorted by (key, unit, entry); first by the side's smaller
    # vertex (a counting sort), then each vertex's few entries by (larger vertex, unit)
    by_lo = np.zeros(nverts + 1, dtype=np.int64)
    for i in range(ne):
        by_lo[e_lo[i] + 1] += 1
    for v in range(nverts):
        by_lo[v + 1] += by_lo[v]
    fill = by_lo[:-1].copy()
    order = np.empty(ne, dtype=np.int64)
    for i in range(ne):
        order[fill[e_lo[i]]] = i
        fill[e_lo[i]] += 1
    nunits = 1
    for i in range(ne):
        nunits = max(nunits, e_unit[i] + 1)
    second = np.empty(ne, dtype=np.int64)
    for k in range(ne):
        second[k] = e_hi[order[k]] * nunits + e_unit[order[k]]
    sort_runs(second, order, by_lo, 0, -1)
    crossing_of = np.empty(ne, dtype=np.int64)
    uniq = np.empty(ne, dtype=np.int64)
    nu = 0
    for i in range(ne):
        j = order[i]
        if i == 0 or ekey[j] != ekey[order[i - 1]] or e_unit[j] != e_unit[order[i - 1]]:
            uniq[nu] = j
            nu += 1
        crossing_of[j] = nu - 1
    uniq = uniq[:nu]
    u_key = ekey[uniq]
    u_t = e_t[uniq]
    # sorted by (key, t, unit): uniq is in (key, unit) order; sort each key's run by (t, unit)
    tk = u_t.copy()
    tu = e_unit[uniq] * nu + np.arange(nu)
    starts = np.empty(nu + 1, dtype=np.int64)
    nruns = 0
    for i in range(nu):
        if i == 0 or u_key[i] != u_key[i - 1]:
            starts[nruns] = i
            nruns += 1
    starts[nruns] = nu
    sort_runs(tk, tu, starts[: nruns + 1], 0.0, 1.0)
    o = tu % nu if nu else tu
    new_cluster = np.empty(nu, dtype=np.bool_)
    near_keys = np.empty(nu, dtype=np.int64)
    merged_keys = np.empty(nu, dtype=np.int64)
    n_near = 0
    n_merged = 0
    for i in range(nu):
        j = uniq[o[i]]
        if i == 0:
            new_cluster[i] = True
            continue
        jp = uniq[o[i - 1]]
        lo = e_lo[j]
        hi = e_hi[j]
        d0 = vertices[hi, 0] - vertices[lo, 0]
        d1 = vertices[hi, 1] - vertices[lo, 1]
        same = ekey[j] == ekey[jp]
        gap = e_t[j] - e_t[jp]
        close = gap * np.sqrt(d0 * d0 + d1 * d1) <= point_tol
        new_cluster[i] = not (same and close)
        if same and close:
            merged_keys[n_merged] = ekey[j]
            n_merged += 1
        elif same and near_check:
            near = False
            for k in (e_unit[j], e_unit[jp]):  # either unit's value at the other's crossing
                near |= gap * np.abs(values[hi, k] - values[lo, k]) <= tol[k]
            if near:
                near_keys[n_near] = ekey[j]
                n_near += 1
    e_region = region[ex >> 1]
    near_regions = _regions_on(near_keys[:n_near], ekey, e_region)
    merged_regions = _regions_on(merged_keys[:n_merged], ekey, e_region)
    cluster_of = np.empty(nu, dtype=np.int64)
    npts = 0
    for i in range(nu):
        if new_cluster[i]:
            npts += 1
        cluster_of[o[i]] = npts - 1
    rep = uniq[o[new_cluster]]
    p_key = ekey[rep]
    p_t = e_t[rep]
    p_lo = e_lo[rep]
    p_hi = e_hi[rep]
    p_xy = np.empty((npts, 2), dtype=np.float64)
    rank = np.empty(npts, dtype=np.int64)
    count = np.empty(npts, dtype=np.int64)
    first = 0
    for i in range(npts):
        for c in range(2):
            a = vertices[p_lo[i], c]
            p_xy[i, c] = a + p_t[i] * (vertices[p_hi[i], c] - a)
        if i > 0 and p_key[i] != p_key[i - 1]:
            for k in range(first, i):
                count[k] = i - first
            first = i
        rank[i] = i - first
    for k in range(first, npts):
        count[k] = npts - first
    e_cluster = np.empty(ne, dtype=np.int64)
    for i in range(ne):
        e_cluster[i] = cluster_of[crossing_of[i]]
    return (p_key, p_t, p_lo, p_hi, p_xy, near_regions, merged_regions,
            ex, e_cluster, rank, count)


@helper
def end_vertices(ex, corner, corner_pos, side_pos, side_forward, p_t, e_cluster, rank, count,
                 nverts):
    """``(vid, pos, corner, step)`` of every chord end, as
    :class:`~regionscope.geometry.chords.EndVertices`."""
    n = corner.size
    vid = corner.ravel().copy()
    pos = corner_pos.ravel().astype(np.float64)
    at = corner_pos.ravel().copy()
    step = np.zeros(n, dtype=np.int64)
    sp = side_pos.ravel()
    fwd = side_forward.ravel()
    for i in range(len(ex)):
        e = ex[i]
        cl = e_cluster[i]
        vid[e] = nverts + cl
        t = p_t[cl]
        pos[e] = sp[e] + (t if fwd[e] else 1.0 - t)
        at[e] = sp[e]
        step[e] = rank[cl] + 1 if fwd[e] else count[cl] - rank[cl]
    return vid.reshape(-1, 2), pos.reshape(-1, 2), at.reshape(-1, 2), step.reshape(-1, 2)


@helper
def make_chords(region, unit, size, vid, pos, corner, step, unit_codes, offsets,
                incidence_source):
    """The fields of :class:`~regionscope.geometry.chords.Chords` (coincident pairs last, not
    yet made unique), as :func:`~regionscope.geometry.chords.make_chords` with the mesh."""
    npairs = len(region)
    ok = np.zeros(npairs, dtype=np.bool_)
    along = np.zeros(npairs, dtype=np.bool_)
    for p in range(npairs):
        gap = np.abs(pos[p, 0] - pos[p, 1])
        along[p] = step[p, 0] == 0 and step[p, 1] == 0 and (gap == 1 or gap == size[p] - 1)
        ok[p] = vid[p, 0] != vid[p, 1] and not along[p]
    # coincident chords: same region, same end vertices; the smallest unit is kept
    keep = np.flatnonzero(ok)
    dup = np.zeros(npairs, dtype=np.bool_)
    pairs = np.empty((len(keep), 2), dtype=np.int64)
    npairs_dup = 0
    vmax = 1
    for p in keep:
        vmax = max(vmax, vid[p, 0] + 1, vid[p, 1] + 1)
    # runs of one region's kept pairs, sorted by end vertices, then by position (unit order)
    nk = len(keep)
    vkey = np.empty(nk, dtype=np.int64)
    o = np.arange(nk)
    starts = np.empty(nk + 1, dtype=np.int64)
    nruns = 0
    for k in range(nk):
        p = keep[k]
        vkey[k] = min(vid[p, 0], vid[p, 1]) * vmax + max(vid[p, 0], vid[p, 1])
        if k == 0 or region[p] != region[keep[k - 1]]:
            starts[nruns] = k
            nruns += 1
    starts[nruns] = nk
    sort_runs(vkey, o, starts[: nruns + 1], 0, -1)
    for run in range(nruns):
        for k in range(starts[run] + 1, starts[run + 1]):
            if vkey[k] == vkey[k - 1]:
                first = k - 1
                while first > starts[run] and vkey[first - 1] == vkey[k]:
                    first -= 1
                dup[keep[o[k]]] = True
                pairs[npairs_dup, 0] = unit_codes[unit[keep[o[first]]]]
                pairs[npairs_dup, 1] = unit_codes[unit[keep[o[k]]]]
                npairs_dup += 1
    sel = keep[~dup[keep]]
    # chords along an existing side: that side's code with the unit's
    on = np.flatnonzero(along)
    side_rows = np.empty((len(on), 2), dtype=np.int64)
    n_side = 0
    for p in on:
        lo = int(min(pos[p, 0], pos[p, 1]))
        k = lo if np.abs(pos[p, 0] - pos[p, 1]) == 1 else size[p] - 1
        side = incidence_source[offsets[region[p]] + k]
        if side >= 0:
            side_rows[n_side, 0] = side
            side_rows[n_side, 1] = unit_codes[unit[p]]
            n_side += 1
    coincident = np.concatenate((pairs[:npairs_dup], side_rows[:n_side]))
    return (
        region[sel], unit[sel], unit_codes[unit[sel]], pos[sel, 0], pos[sel, 1],
        vid[sel, 0], vid[sel, 1], corner[sel, 0], corner[sel, 1], step[sel, 0], step[sel, 1],
        coincident,
    )  # fmt: skip
