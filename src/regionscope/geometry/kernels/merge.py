"""Merging regions, compiled: the counterparts of :mod:`regionscope.geometry.merging`."""

from __future__ import annotations

import numpy as np
from numba import types

from .common import I1, find, helper, i64, kernel, sort_runs, union

__all__ = ["interior_sides", "merge_across"]


@helper
def _sides_by_key(rv, offsets, nverts):
    """Incidences in order of their side key ``lo * V + hi``, ties in incidence order.

    A counting sort by the smaller vertex, then each vertex's few sides by the
    larger one.
    """
    n = len(rv)
    lo = np.empty(n, dtype=np.int64)
    hi = np.empty(n, dtype=np.int64)
    for f in range(len(offsets) - 1):
        o, e = offsets[f], offsets[f + 1]
        for i in range(o, e):
            a, b = rv[i], rv[i + 1 if i + 1 < e else o]
            lo[i] = min(a, b)
            hi[i] = max(a, b)
    start = np.zeros(nverts + 1, dtype=np.int64)
    for i in range(n):
        start[lo[i] + 1] += 1
    for v in range(nverts):
        start[v + 1] += start[v]
    fill = start[:-1].copy()
    order = np.empty(n, dtype=np.int64)
    for i in range(n):
        order[fill[lo[i]]] = i
        fill[lo[i]] += 1
    key = hi[order]
    sort_runs(key, order, start, 0, -1)
    return order, lo, hi


@kernel(I1, I1, types.int64)
def _interior_sides(rv, offsets, nverts):
    order, lo, hi = _sides_by_key(rv, offsets, nverts)
    n = len(order)
    i1 = np.empty(n // 2, dtype=np.int64)
    i2 = np.empty(n // 2, dtype=np.int64)
    k = 0
    for j in range(1, n):
        a, b = order[j - 1], order[j]
        if lo[a] == lo[b] and hi[a] == hi[b]:
            i1[k] = a
            i2[k] = b
            k += 1
    return i1[:k], i2[:k]


def interior_sides(mesh) -> tuple[np.ndarray, np.ndarray]:  # noqa: ANN001
    """As :func:`regionscope.geometry.merging.interior_sides`."""
    return _interior_sides(i64(mesh.region_vertices), i64(mesh.region_offsets), mesh.num_vertices)


@helper
def _boundary_cycles(rv, offsets, source, i1, i2, nverts):
    """The kept sides' cycles, region by new region: ``(orig, source, counts, group)``."""
    nregions = len(offsets) - 1
    region = np.empty(len(rv), dtype=np.int64)
    for f in range(nregions):
        region[offsets[f] : offsets[f + 1]] = f
    parent = np.arange(nregions)
    drop = np.zeros(len(rv), dtype=np.bool_)
    for k in range(len(i1)):
        union(parent, region[i1[k]], region[i2[k]])
        drop[i1[k]] = True
        drop[i2[k]] = True
    comp = np.empty(nregions, dtype=np.int64)
    for f in range(nregions):
        comp[f] = find(parent, f)
    keep = np.flatnonzero(~drop)
    nk = len(keep)
    h_comp = comp[region[keep]]
    h_orig = rv[keep]
    # the kept side leaving vertex v in component c: by origin vertex, then component
    by_v = np.zeros(nverts + 1, dtype=np.int64)
    for j in range(nk):
        by_v[h_orig[j] + 1] += 1
    for v in range(nverts):
        by_v[v + 1] += by_v[v]
    fill = by_v[:-1].copy()
    at_v = np.empty(nk, dtype=np.int64)
    for j in range(nk):
        at_v[fill[h_orig[j]]] = j
        fill[h_orig[j]] += 1
    succ = np.empty(nk, dtype=np.int64)
    for j in range(nk):
        i = keep[j]
        f = region[i]
        dest = rv[i + 1 if i + 1 < offsets[f + 1] else offsets[f]]
        succ[j] = -1
        for q in range(by_v[dest], by_v[dest + 1]):
            if h_comp[at_v[q]] == h_comp[j]:
                succ[j] = at_v[q]
                break
    # cycles from their smallest side, in order; then by component (stable)
    seen = np.zeros(nk, dtype=np.bool_)
    members = np.empty(nk, dtype=np.int64)
    cstart = np.empty(nk + 1, dtype=np.int64)
    ncyc = 0
    m = 0
    for j0 in range(nk):
        if seen[j0]:
            continue
        cstart[ncyc] = m
        ncyc += 1
        j = j0
        while j >= 0 and not seen[j]:
            seen[j] = True
            members[m] = j
            m += 1
            j = succ[j]
    cstart[ncyc] = m
    cycle_comp = np.empty(ncyc, dtype=np.int64)
    for c in range(ncyc):
        cycle_comp[c] = h_comp[members[cstart[c]]]
    by_comp = np.zeros(nregions + 1, dtype=np.int64)
    for c in range(ncyc):
        by_comp[cycle_comp[c] + 1] += 1
    for f in range(nregions):
        by_comp[f + 1] += by_comp[f]
    first_of = by_comp[:-1].copy()
    corder = np.empty(ncyc, dtype=np.int64)
    for c in range(ncyc):
        corder[first_of[cycle_comp[c]]] = c
        first_of[cycle_comp[c]] += 1
    orig = np.empty(m, dtype=np.int64)
    src = np.empty(m, dtype=np.int64)
    counts = np.empty(ncyc, dtype=np.int64)
    k = 0
    for q in range(ncyc):
        c = corder[q]
        counts[q] = cstart[c + 1] - cstart[c]
        for p in range(cstart[c], cstart[c + 1]):
            orig[k] = h_orig[members[p]]
            src[k] = source[keep[members[p]]]
            k += 1
    group = np.empty(nregions, dtype=np.int64)
    for f in range(nregions):
        group[f] = by_comp[comp[f]]  # the first cycle of the region's component
    return orig, src, counts, group


@helper
def _drop_degree_two(vertices, rv, offsets, source, num_corners):
    """As :func:`regionscope.geometry.merging.drop_degree_two`: ``(vertices, rv, offsets,
    source, used)``."""
    nverts = len(vertices)
    order, lo, hi = _sides_by_key(rv, offsets, nverts)
    degree = np.zeros(nverts, dtype=np.int64)
    for j in range(len(order)):  # distinct sides
        a = order[j]
        if j == 0 or lo[a] != lo[order[j - 1]] or hi[a] != hi[order[j - 1]]:
            degree[lo[a]] += 1
            degree[hi[a]] += 1
    removable = degree <= 2
    removable[:num_corners] = False
    used = np.zeros(nverts, dtype=np.bool_)
    new_off = np.empty(len(offsets), dtype=np.int64)
    new_rv = np.empty(len(rv), dtype=np.int64)
    new_src = np.empty(len(rv), dtype=np.int64)
    new_off[0] = 0
    k = 0
    for f in range(len(offsets) - 1):
        for i in range(offsets[f], offsets[f + 1]):
            if not removable[rv[i]]:
                new_rv[k] = rv[i]
                new_src[k] = source[i]
                used[rv[i]] = True
                k += 1
        new_off[f + 1] = k
    remap = np.cumsum(used) - 1
    for i in range(k):
        new_rv[i] = remap[new_rv[i]]
    out_v = np.empty((np.sum(used), 2), dtype=np.float64)
    j = 0
    for v in range(nverts):
        if used[v]:
            out_v[j] = vertices[v]
            j += 1
    return out_v, new_rv[:k], new_off, new_src[:k], used


@kernel(types.Array(types.float64, 2, "C", readonly=True), I1, I1, I1, I1, I1, types.int64)
def _merge_across(vertices, rv, offsets, source, i1, i2, num_corners):
    orig, src, counts, group = _boundary_cycles(rv, offsets, source, i1, i2, len(vertices))
    off = np.zeros(len(counts) + 1, dtype=np.int64)
    for q in range(len(counts)):
        off[q + 1] = off[q] + counts[q]
    out_v, out_rv, out_off, out_src, used = _drop_degree_two(vertices, orig, off, src,
                                                             num_corners)
    return out_v, out_rv, out_off, out_src, group, used


def merge_across(mesh, i1: np.ndarray, i2: np.ndarray) -> tuple[np.ndarray, ...]:  # noqa: ANN001
    """``(vertices, region_vertices, region_offsets, incidence_source, group, kept)`` as
    :func:`regionscope.geometry.merging.merge_across` (``len(i1) > 0``)."""
    return _merge_across(
        np.ascontiguousarray(mesh.vertices, dtype=np.float64), i64(mesh.region_vertices),
        i64(mesh.region_offsets), i64(mesh.incidence_source), i64(i1), i64(i2),
        mesh.num_corners,
    )  # fmt: skip
