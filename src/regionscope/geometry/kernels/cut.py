"""One cut of a mesh by many units, compiled: everything after the crossed pairs.

The counterpart of ``_cut_once`` of :mod:`regionscope.geometry.cutting`
from the (filtered) crossed pairs on: chord ends, side points, chords,
crossings, concurrent crossings, chord paths, faces, the validity check of
risky faces and the new mesh, in one call, so that no intermediate array
crosses into Python.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import types

from .common import F1, F2, I1, f64, helper, i64, kernel, unique
from .crossings import along, concurrent, crossing_points, interleaved, neighbours
from .ends import chord_ends, edge_points, end_vertices, make_chords
from .faces import invalid, paths, rebuild

__all__ = ["cut_kernel", "cut_once"]

#: statuses of :func:`cut_once`
DONE, TOO_MANY_CROSSINGS, TOO_MANY_REGIONS = 0, 1, 2


@helper
def _assemble(rv, offsets, source, touched, faces, xy, xxy, roots):
    """The new mesh: untouched regions first, in order, then the new faces."""
    f_off, f_vert, f_code, f_group = faces
    t_regions = np.flatnonzero(touched)
    kept = np.flatnonzero(~touched)
    nk = 0
    for f in kept:
        nk += offsets[f + 1] - offsets[f]
    nnew = len(kept) + len(f_off) - 1
    out_off = np.empty(nnew + 1, dtype=np.int64)
    out_rv = np.empty(nk + len(f_vert), dtype=np.int64)
    out_src = np.empty(nk + len(f_vert), dtype=np.int64)
    parent = np.empty(nnew, dtype=np.int64)
    out_off[0] = 0
    # runs of consecutive kept regions are copied as slices (a cut that touches a few
    # regions of a large mesh copies it in a few blocks)
    k = 0
    i = 0
    while i < len(kept):
        j = i + 1
        while j < len(kept) and kept[j] == kept[j - 1] + 1:
            j += 1
        a, b = offsets[kept[i]], offsets[kept[j - 1] + 1]
        out_rv[k : k + b - a] = rv[a:b]
        out_src[k : k + b - a] = source[a:b]
        for q in range(i, j):
            f = kept[q]
            out_off[q + 1] = k + offsets[f + 1] - a
            parent[q] = f
        k += b - a
        i = j
    out_rv[k:] = f_vert
    out_src[k:] = f_code
    for i in range(len(f_off) - 1):
        out_off[len(kept) + i + 1] = k + f_off[i + 1]
        parent[len(kept) + i] = t_regions[f_group[i]]
    vertices = np.empty((len(xy) + len(roots), 2), dtype=np.float64)
    vertices[: len(xy)] = xy
    for i in range(len(roots)):
        vertices[len(xy) + i] = xxy[roots[i]]
    return vertices, out_rv, out_off, out_src, parent


@helper
def _risky(nregions, touched, ch_region, vid_a, vid_b, xa, point, merged, nverts):
    """``(T,) bool``: touched regions whose faces may come out wrong (points were snapped)."""
    risky = np.zeros(nregions, dtype=np.bool_)
    count = np.zeros(len(point), dtype=np.int64)
    for x in range(len(point)):
        count[point[x]] += 1
    for x in range(len(point)):
        if count[point[x]] > 1:
            risky[ch_region[xa[x]]] = True
    for c in range(len(ch_region)):
        if vid_a[c] < nverts or vid_b[c] < nverts:
            risky[ch_region[c]] = True
    for r in merged:
        risky[r] = True
    return risky[np.flatnonzero(touched)]


@kernel(F2, I1, I1, I1, F2, F1, I1, I1, I1, types.float64, types.float64, types.float64,
        types.int64, types.int64)
def _cut(vertices, rv, offsets, source, values, tol, pair_region, pair_unit, unit_codes,
         point_tol, near_tol, turn_rtol, budget, max_regions):
    nverts = len(vertices)
    nregions = len(offsets) - 1
    e = chord_ends(rv, offsets, values, tol, pair_region, pair_unit)
    size, on_side, corner, corner_pos, side_pos, side_lo, side_hi, side_forward, side_t = e
    pts = edge_points(side_lo, side_hi, on_side, side_t, pair_unit, pair_region, vertices,
                      point_tol, values, tol, True)
    p_key, p_t, p_lo, p_hi, p_xy, near_regions, merged, ex, e_cluster, rank, count = pts
    vid, pos, at, step = end_vertices(ex, corner, corner_pos, side_pos, side_forward, p_t,
                                      e_cluster, rank, count, nverts)
    ch = make_chords(pair_region, pair_unit, size, vid, pos, at, step, unit_codes, offsets, source)
    region, unit, code, pos_a, pos_b, vid_a, vid_b, corner_a, corner_b, step_a, step_b, coin = ch
    xy = np.empty((nverts + len(p_key), 2), dtype=np.float64)
    xy[:nverts] = vertices
    xy[nverts:] = p_xy
    xa, xb, over = interleaved(region, pos_a, pos_b, budget, nregions, max_regions)
    empty_i = np.zeros(0, dtype=np.int64)
    empty_v = np.zeros((0, 2), dtype=np.float64)
    if over >= 0:
        return (TOO_MANY_CROSSINGS, over, len(region), empty_v, empty_i, empty_i, empty_i, empty_i,
                empty_i, empty_i, np.zeros(0), coin, empty_i)
    sa, sb, xxy = crossing_points(xa, xb, vid_a, vid_b, xy)
    order, mc, ms = along(xa, xb, sa, sb, len(region))
    link_a, link_b, near = neighbours(order, mc, ms, xa, xb, vid_a, vid_b, unit, region, xy,
                                      point_tol, near_tol, values, tol, p_lo, p_hi, p_t)
    point, roots = concurrent(xa, xb, link_a, link_b, len(region))
    crossing_vid = point + (nverts + len(p_key))
    pa = paths(order, mc, crossing_vid, vid_a, vid_b)
    seg_from, seg_to, seg_chord, first_seg, visit_chord, visit_vertex, visit_of, single = pa
    touched, faces = rebuild(rv, offsets, source, p_key, nverts, region, code, pos_a, pos_b,
                             corner_a, corner_b, step_a, step_b, seg_from, seg_to, seg_chord,
                             first_seg, visit_chord, visit_vertex, visit_of, single, xa, xb)
    new_xy, out_rv, out_off, out_src, parent = _assemble(rv, offsets, source, touched, faces, xy,
                                                         xxy, roots)
    if len(parent) > max_regions:
        return (TOO_MANY_REGIONS, len(parent), len(region), empty_v, empty_i, empty_i, empty_i,
                empty_i, empty_i, empty_i, np.zeros(0), coin, empty_i)
    check = _risky(nregions, touched, region, vid_a, vid_b, xa, point, merged, nverts)
    bad_group = invalid(faces[0], faces[1], faces[3], new_xy, check, turn_rtol)
    t_regions = np.flatnonzero(touched)
    bad = unique(np.concatenate((t_regions[bad_group], near, near_regions)))
    nr = len(roots)
    src = np.empty(len(p_key) + nr, dtype=np.int64)
    dst = np.empty(len(p_key) + nr, dtype=np.int64)
    weight = np.empty(len(p_key) + nr, dtype=np.float64)
    src[: len(p_key)] = p_lo
    dst[: len(p_key)] = p_hi
    weight[: len(p_key)] = p_t
    for i in range(nr):
        src[len(p_key) + i] = vid_a[xa[roots[i]]]
        dst[len(p_key) + i] = vid_b[xa[roots[i]]]
        weight[len(p_key) + i] = sa[roots[i]]
    return (DONE, 0, len(region), new_xy, out_rv, out_off, out_src, parent, src, dst, weight,
            coin, bad)


#: the fused cut itself, for kernels that call it (:mod:`.chain`)
cut_kernel = _cut


def cut_once(mesh: Any, values: np.ndarray, unit_tol: np.ndarray, unit_codes: np.ndarray,
             point_tol: float, near_tol: float, turn_rtol: float, budget: int, max_regions: int,
             pair_region: np.ndarray, pair_unit: np.ndarray) -> tuple[Any, ...]:
    """Everything of ``_cut_once`` after the crossed pairs, in one compiled call.

    Returns ``(status, count, num_chords, vertices, region_vertices, region_offsets,
    incidence_source, parent, src, dst, weight, coincident (K, 2), bad)``; ``status`` is
    ``DONE``, or ``TOO_MANY_CROSSINGS`` / ``TOO_MANY_REGIONS`` with the ``count`` that
    exceeded ``max_regions`` (crossings found so far / regions).
    """
    return _cut(
        f64(mesh.vertices), i64(mesh.region_vertices), i64(mesh.region_offsets),
        i64(mesh.incidence_source), f64(values), f64(unit_tol), i64(pair_region),
        i64(pair_unit), i64(unit_codes), float(point_tol), float(near_tol), float(turn_rtol),
        int(budget), int(max_regions),
    )  # fmt: skip
