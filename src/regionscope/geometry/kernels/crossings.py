"""Chord crossings, their order along the chords, and concurrent crossings, compiled.

The counterparts of :func:`~regionscope.geometry.chords.chord_crossings`,
:func:`~regionscope.geometry.chords.along_chords` and
:func:`~regionscope.geometry.chords.merge_concurrent` (``_shared_twice``
included).
"""

from __future__ import annotations

import numpy as np

from .common import find, helper, inline, search, sort_index, sort_runs, union, unique

__all__ = ["interleaved", "crossing_points", "along", "neighbours", "concurrent"]


@helper
def _ranks(region, pos_a, pos_b):
    """Ranks of the chords' ends around their regions (equal positions, equal ranks)."""
    nch = len(region)
    lo_rank = np.empty(nch, dtype=np.int64)
    hi_rank = np.empty(nch, dtype=np.int64)
    # the ends of each region's chords, a run per region: ends a, then ends b
    pos = np.empty(2 * nch, dtype=np.float64)
    end = np.empty(2 * nch, dtype=np.int64)
    starts = np.empty(nch + 1, dtype=np.int64)
    nruns = 0
    i = 0
    while i < nch:
        j = i
        while j < nch and region[j] == region[i]:
            j += 1
        starts[nruns] = 2 * i
        nruns += 1
        for q in range(j - i):
            pos[2 * i + q] = pos_a[i + q]
            pos[2 * i + j - i + q] = pos_b[i + q]
            end[2 * i + q] = i + q
            end[2 * i + j - i + q] = nch + i + q
        i = j
    starts[nruns] = 2 * nch
    sort_runs(pos, end, starts[: nruns + 1], 0.0, -1.0)
    rank = -1
    r = np.empty(2 * nch, dtype=np.int64)
    for run in range(nruns):
        for q in range(starts[run], starts[run + 1]):
            if q == starts[run] or pos[q] != pos[q - 1]:
                rank += 1
            r[end[q]] = rank
    for c in range(nch):
        lo_rank[c] = min(r[c], r[nch + c])
        hi_rank[c] = max(r[c], r[nch + c])
    return lo_rank, hi_rank


@helper
def interleaved(region, pos_a, pos_b, budget, num_regions, max_regions):
    """``(xa, xb, over)``: pairs of chords whose ends interleave, as ``_interleaved``.

    ``over`` is ``-1``, or the crossings found up to the chunk of candidates
    (chunks as the NumPy code takes them) where ``num_regions`` plus the
    chords and crossings first exceed ``max_regions`` (then no pairs).
    """
    nch = len(region)
    lo_rank, hi_rank = _ranks(region, pos_a, pos_b)
    # chords by their first end's rank (a stable counting sort: ranks are below 2 nch);
    # below[r]: the chords whose first end ranks below r
    below = np.zeros(2 * nch + 2, dtype=np.int64)
    for c in range(nch):
        below[lo_rank[c] + 1] += 1
    for r in range(2 * nch + 1):
        below[r + 1] += below[r]
    fill = below[:-1].copy()
    by_lo = np.empty(nch, dtype=np.int64)
    for c in range(nch):
        by_lo[fill[lo_rank[c]]] = c
        fill[lo_rank[c]] += 1
    # candidates: first end strictly between the chord's two ends
    start = np.empty(nch, dtype=np.int64)
    stop = np.empty(nch, dtype=np.int64)
    for c in range(nch):
        start[c] = below[lo_rank[c] + 1]
        stop[c] = below[hi_rank[c]]
    counts = np.maximum(stop - start, 0)
    cum = np.cumsum(counts)
    ths = np.arange(budget, cum[-1], budget) if nch and cum[-1] > budget else cum[:0]
    marks = np.zeros(len(ths) + 2, dtype=np.int64)
    nm = 1
    for x in search(cum, ths, False):
        if x + 1 < nch and x + 1 > marks[nm - 1]:
            marks[nm] = x + 1
            nm += 1
    marks[nm] = nch
    total = 0
    for c in range(nm):
        for own in range(marks[c], marks[c + 1]):
            for q in range(start[own], start[own] + counts[own]):
                if hi_rank[by_lo[q]] > hi_rank[own]:
                    total += 1
        if num_regions + nch + total > max_regions:
            empty = np.zeros(0, dtype=np.int64)
            return empty, empty, total
    xa = np.empty(total, dtype=np.int64)
    xb = np.empty(total, dtype=np.int64)
    n = 0
    for own in range(nch):
        for q in range(start[own], start[own] + counts[own]):
            cand = by_lo[q]
            if hi_rank[cand] > hi_rank[own]:
                xa[n] = own
                xb[n] = cand
                n += 1
    return xa, xb, -1


@helper
def crossing_points(xa, xb, vid_a, vid_b, xy):
    """``(s_a, s_b, xy)`` of the crossings of chords ``xa`` and ``xb``, as NumPy computes them."""
    nx = len(xa)
    sa = np.empty(nx, dtype=np.float64)
    sb = np.empty(nx, dtype=np.float64)
    out = np.empty((nx, 2), dtype=np.float64)
    for x in range(nx):
        a, b = xa[x], xb[x]
        pa0, pa1 = xy[vid_a[a], 0], xy[vid_a[a], 1]
        pb0, pb1 = xy[vid_a[b], 0], xy[vid_a[b], 1]
        da0, da1 = xy[vid_b[a], 0] - pa0, xy[vid_b[a], 1] - pa1
        db0, db1 = xy[vid_b[b], 0] - pb0, xy[vid_b[b], 1] - pb1
        w0, w1 = pb0 - pa0, pb1 - pa1
        denom = da0 * db1 - da1 * db0
        s = (w0 * db1 - w1 * db0) / denom
        r = (w0 * da1 - w1 * da0) / denom
        s = min(max(s, 0.0), 1.0) if s == s else 0.5
        r = min(max(r, 0.0), 1.0) if r == r else 0.5
        sa[x] = s
        sb[x] = r
        out[x, 0] = pa0 + s * da0
        out[x, 1] = pa1 + s * da1
    return sa, sb, out


@helper
def along(a, b, s_a, s_b, nch):
    """``(order, chord, s)`` of :class:`~regionscope.geometry.chords.Along`.

    Memberships are dealt to their chords in order (a stable counting sort),
    then each chord's are sorted by ``(s, membership)``.
    """
    nx = len(a)
    n = 2 * nx
    start = np.zeros(nch + 1, dtype=np.int64)
    for x in range(nx):
        start[a[x] + 1] += 1
        start[b[x] + 1] += 1
    for c in range(nch):
        start[c + 1] += start[c]
    fill = start[:nch].copy()
    order = np.empty(n, dtype=np.int64)
    ms = np.empty(n, dtype=np.float64)
    mc = np.empty(n, dtype=np.int64)
    for m in range(n):
        c = a[m] if m < nx else b[m - nx]
        k = fill[c]
        fill[c] += 1
        order[k] = m
        ms[k] = s_a[m] if m < nx else s_b[m - nx]
        mc[k] = c
    start[1:] = fill
    start[0] = 0
    sort_runs(ms, order, start, 0.0, 1.0)
    return order, mc, ms


@inline
def _value_at(values, vertex, unit, nverts, p_lo, p_hi, p_t):
    if vertex < nverts:
        return values[vertex, unit]
    p = vertex - nverts
    lo = values[p_lo[p], unit]
    return lo + p_t[p] * (values[p_hi[p], unit] - lo)


@helper
def neighbours(order, mc, ms, a, b, vid_a, vid_b, ch_unit, ch_region, xy, point_tol, near_tol,
               values, tol, p_lo, p_hi, p_t):
    """``(link_a, link_b, near)`` as ``_neighbours`` of
    :func:`~regionscope.geometry.chords.merge_concurrent`."""
    nx = len(a)
    nverts = len(values)
    link_a = np.empty(max(2 * nx - 1, 0), dtype=np.int64)
    link_b = np.empty(max(2 * nx - 1, 0), dtype=np.int64)
    near = np.empty(max(2 * nx - 1, 0), dtype=np.int64)
    nl = 0
    nn = 0
    length = -1.0
    for i in range(1, 2 * nx):
        c = mc[i]
        if c != mc[i - 1]:
            length = -1.0
            continue
        if length < 0:
            d0 = xy[vid_b[c], 0] - xy[vid_a[c], 0]
            d1 = xy[vid_b[c], 1] - xy[vid_a[c], 1]
            length = np.sqrt(d0 * d0 + d1 * d1)
        gap = ms[i] - ms[i - 1]
        span = gap * length
        if span <= point_tol:
            m0, m1 = order[i - 1], order[i]
            link_a[nl] = m0 if m0 < nx else m0 - nx
            link_b[nl] = m1 if m1 < nx else m1 - nx
            nl += 1
        elif span <= near_tol:
            m0, m1 = order[i - 1], order[i]
            within = False
            for k in (b[m1] if m1 < nx else a[m1 - nx], b[m0] if m0 < nx else a[m0 - nx]):
                u = ch_unit[k]
                rise = _value_at(values, vid_b[c], u, nverts, p_lo, p_hi, p_t) - _value_at(
                    values, vid_a[c], u, nverts, p_lo, p_hi, p_t
                )
                within |= gap * np.abs(rise) <= tol[u]
            if within:
                near[nn] = ch_region[c]
                nn += 1
    return link_a[:nl], link_b[:nl], unique(near[:nn])


@helper
def _shared_twice(xa, xb, parent, nch):
    """Join clusters that one pair of chords both pass through (in place); whether any were.

    As ``_shared_twice`` of :mod:`regionscope.geometry.chords`: two chords
    meet once, so clusters (of two or more crossings) holding the same pair,
    or holding a pair whose crossing lies in another cluster, are one point.
    """
    nx = len(xa)
    label = np.empty(nx, dtype=np.int64)
    size = np.zeros(nx, dtype=np.int64)
    for x in range(nx):
        label[x] = find(parent, x)
        size[label[x]] += 1
    keys = np.empty(2 * nx, dtype=np.int64)
    nk = 0
    for x in range(nx):
        if size[label[x]] > 1:
            keys[nk] = label[x] * nch + xa[x]
            keys[nk + 1] = label[x] * nch + xb[x]
            nk += 2
    cl_ch = unique(keys[:nk])
    xkey = np.empty(nx, dtype=np.int64)
    for x in range(nx):
        xkey[x] = min(xa[x], xb[x]) * nch + max(xa[x], xb[x])
    xorder = sort_index(xkey)
    xsorted = xkey[xorder]
    npairs = 0
    i = 0
    while i < len(cl_ch):  # runs of one cluster: its chords, ascending
        j = i
        while j < len(cl_ch) and cl_ch[j] // nch == cl_ch[i] // nch:
            j += 1
        npairs += (j - i) * (j - i - 1) // 2
        i = j
    pairs = np.empty(npairs, dtype=np.int64)
    clusters = np.empty(npairs, dtype=np.int64)
    k = 0
    i = 0
    while i < len(cl_ch):
        j = i
        while j < len(cl_ch) and cl_ch[j] // nch == cl_ch[i] // nch:
            j += 1
        for p in range(i, j):
            for q in range(p + 1, j):
                pairs[k] = (cl_ch[p] % nch) * nch + cl_ch[q] % nch
                clusters[k] = cl_ch[i] // nch
                k += 1
        i = j
    joined = False
    at = search(xsorted, pairs, False)
    for k in range(npairs):  # the pair's own crossing, in another cluster
        if at[k] < nx and xsorted[at[k]] == pairs[k]:
            joined |= union(parent, clusters[k], label[xorder[at[k]]])
    o = sort_index(pairs)
    for k in range(1, npairs):  # the same pair in two clusters
        if pairs[o[k]] == pairs[o[k - 1]] and clusters[o[k]] != clusters[o[k - 1]]:
            joined |= union(parent, clusters[o[k]], clusters[o[k - 1]])
    return joined


@helper
def concurrent(xa, xb, link_a, link_b, nch):
    """``(point (X,), roots (R,))`` as :func:`~regionscope.geometry.chords.merge_concurrent`."""
    nx = len(xa)
    parent = np.arange(nx)
    for k in range(len(link_a)):
        union(parent, link_a[k], link_b[k])
    if len(link_a):
        while _shared_twice(xa, xb, parent, nch):
            pass
    point = np.empty(nx, dtype=np.int64)
    roots = np.empty(nx, dtype=np.int64)
    nr = 0
    for x in range(nx):
        r = find(parent, x)
        if r == x:
            point[x] = nr
            roots[nr] = x
            nr += 1
        else:
            point[x] = point[r]
    return point, roots[:nr]
