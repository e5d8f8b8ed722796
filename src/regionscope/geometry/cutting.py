"""Cut every region of a :class:`~regionscope.geometry.mesh.Mesh` along the zero sets of units.

A *unit* is a continuous function, affine on every region, given by its
values at the vertices.  Within one region its zero set is a chord of a
convex polygon; the region is replaced by the faces of the arrangement of its
chords.  :func:`cut` runs these steps, each a function of flat arrays:

1. :func:`classify`: the sign of every unit at every vertex, snapped to zero
   within the unit's tolerance (:mod:`regionscope.tolerances`);
2. :func:`crossed_pairs`: the (region, unit) pairs with corners of both signs;
3. :func:`~regionscope.geometry.chords.chord_ends` (steps 3 to 8 live in
   :mod:`regionscope.geometry.chords`): where each pair's chord meets the
   region's boundary: a corner where the unit is zero, or a point inside a side;
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
from regionscope.tolerances import FACE_TURN_RTOL, get_budget

from .arrays import (
    changes,
    expand,
    pack_bits,
    unpack_bits,
)
from .chords import (
    Chords,
    EdgePoints,
    chord_crossings,
    chord_ends,
    chord_segments,
    edge_points,
    make_chords,
    merge_concurrent,
    rise_along,
)
from .faces import trace_faces
from .mesh import Mesh

__all__ = ["CutResult", "cut", "classify", "crossed_pairs", "rebuild_regions"]


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
    #: ``(K, 2) int64`` source codes of coincident chords (see ``Chords.coincident``)
    coincident: np.ndarray = dataclasses.field(
        default_factory=lambda: np.zeros((0, 2), dtype=np.int64)
    )

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
    pair_filter: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None,
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
        (:meth:`regionscope.tolerances.Tolerance.unit_tolerance`).
    unit_codes : (n,) int64
        Edge-source code of each unit (see :func:`~regionscope.geometry.mesh.encode_source`).
    point_tol : float
        Distance below which two new points are one.
    max_regions : int
        Raise :class:`~regionscope.errors.RegionLimitError` when the result
        would have more regions (``count`` is then a lower bound).
    active : (F, n) bool, optional
        Only these (region, unit) pairs may be cut.
    pair_filter : callable, optional
        ``pair_filter(region, unit) -> bool``: which of the crossed
        (region, unit) pairs of ``mesh`` may be cut (asked for the crossed
        pairs only, so its cost follows the cut's).

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
    res, bad = _cut_once(
        mesh, signs, values, unit_tol, unit_codes, point_tol, max_regions, active, pair_filter
    )
    if len(bad) == 0:
        return res
    n = values.shape[1]
    allowed = np.ones((mesh.num_regions, n), dtype=bool) if active is None else active.copy()
    slow = np.zeros(mesh.num_regions, dtype=bool)
    while len(bad):  # the other regions, all at once, without the failing ones
        slow[bad] = True
        allowed[bad] = False
        res, bad = _cut_once(
            mesh, signs, values, unit_tol, unit_codes, point_tol, max_regions, allowed, pair_filter
        )
    return _cut_one_by_one(
        mesh, res, slow, values, unit_tol, unit_codes, point_tol, max_regions, pair_filter
    )


def _cut_one_by_one(
    mesh: Mesh,
    res: CutResult,
    slow: np.ndarray,
    values: np.ndarray,
    unit_tol: np.ndarray,
    unit_codes: np.ndarray,
    point_tol: float,
    max_regions: int,
    pair_filter: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None,
) -> CutResult:
    """Finish a cut: the regions marked ``slow`` are cut by one unit at a time (only where
    ``pair_filter``, asked about the regions of ``mesh`` they came from, allows)."""
    signs = classify(values, unit_tol)
    wanted = np.repeat(slow[:, None], values.shape[1], axis=1)
    units = np.unique(crossed_pairs(signs, mesh.region_vertices, mesh.region_offsets, wanted)[1])
    cur_values = res.extend(values)
    cur = res.mesh
    in_slow = slow[res.region_parent]
    parent = res.region_parent
    blocks = list(res.interp)
    chords = res.num_chords
    coincident = [res.coincident]
    for u in units.tolist():
        z = cur_values[:, [u]]
        signs_u = classify(z, unit_tol[[u]])
        allowed = in_slow.copy()
        if pair_filter is not None:
            rows = allowed.nonzero()[0]
            allowed[rows] = pair_filter(parent[rows], np.full(len(rows), u, dtype=np.int64))
        step, bad = _cut_once(
            cur,
            signs_u,
            z,
            unit_tol[[u]],
            unit_codes[[u]],
            point_tol,
            max_regions,
            allowed[:, None],
        )
        if len(bad):
            raise InvalidMeshError(f"cutting {len(bad)} regions by one unit made invalid faces")
        cur_values = step.extend(cur_values)
        cur = step.mesh
        in_slow = in_slow[step.region_parent]
        parent = parent[step.region_parent]
        blocks.extend(step.interp)
        chords += step.num_chords
        coincident.append(step.coincident)
    return CutResult(cur, chords, parent, tuple(blocks), np.concatenate(coincident))


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
    right = np.logical_or.reduceat(turn < -FACE_TURN_RTOL * scale, offsets[:-1])
    bad_face = (area <= 0) | right
    return np.unique(group[bad_face])


def _cut_once(
    mesh: Mesh,
    signs: np.ndarray,
    values: np.ndarray,
    unit_tol: np.ndarray,
    unit_codes: np.ndarray,
    point_tol: float,
    max_regions: int,
    active: np.ndarray | None,
    pair_filter: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None,
) -> tuple[CutResult, np.ndarray]:
    """All steps once; returns the result and the old regions whose faces came out invalid."""
    nregions = mesh.num_regions
    nverts = mesh.num_vertices
    pair_region, pair_unit = crossed_pairs(
        signs, mesh.region_vertices, mesh.region_offsets, active
    )
    if pair_filter is not None and len(pair_region):
        keep = pair_filter(pair_region, pair_unit)
        pair_region, pair_unit = pair_region[keep], pair_unit[keep]
    if len(pair_region) == 0:
        return CutResult(mesh, 0, np.arange(nregions), ()), np.zeros(0, np.int64)
    ends = chord_ends(mesh, signs, values, pair_region, pair_unit)
    points, end_vid, end_pos = edge_points(ends, mesh.vertices, point_tol, values, unit_tol)
    chords = make_chords(ends, end_vid, end_pos, unit_codes, mesh)
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
    invalid = np.zeros(0, dtype=np.int64)
    if len(risky):
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
    return CutResult(out, len(chords), parent, (block,), chords.coincident), bad
