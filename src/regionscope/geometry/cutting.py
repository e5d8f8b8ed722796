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
   a chord made one vertex (lines through one point meet in one vertex), with
   the crossings sorted once along the chords (:func:`along_chords`);
8. :func:`chord_segments`: each chord cut at its crossings;
9. :func:`rebuild_regions`: the faces of every region that changed
   (:func:`~regionscope.geometry.faces.trace_faces`: no angles, the order of
   the edges around each vertex follows from positions along the boundary).

The work is proportional to the regions crossed, their sides and the chord
crossings made, plus one pass over the value table.  With the ``"numba"``
backend (:mod:`regionscope.backends`), steps 1-2 and steps 3-9 run as two
compiled kernels (:mod:`regionscope.geometry.kernels`) that give the same
result, bit for bit.

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
import functools
from collections.abc import Callable, Iterable
from types import ModuleType

import numpy as np

from regionscope.backends import compiled, device_for
from regionscope.errors import InvalidMeshError, RegionLimitError
from regionscope.tolerances import CONVEX_RTOL, FACE_TURN_RTOL, NEAR_FACTOR, get_budget

from .arrays import (
    exclusive_cumsum,
    expand,
    pack_bits,
    unpack_bits,
)
from .check import invalid_faces
from .chords import (
    ChordPaths,
    Chords,
    Crossings,
    EdgePoints,
    along_chords,
    chord_crossings,
    chord_ends,
    chord_segments,
    edge_points,
    make_chords,
    merge_concurrent,
)
from .faces import Boundary, ChordPlaces, trace_faces
from .mesh import Mesh

__all__ = ["CutResult", "cut", "classify", "crossed_pairs", "preload_kernels", "rebuild_regions"]


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
        return _through(values, self.interp)


def _through(
    values: np.ndarray, blocks: Iterable[tuple[np.ndarray, np.ndarray, np.ndarray]]
) -> np.ndarray:
    """``values`` at the vertices before the interpolation ``blocks`` (``(from, to,
    weight)`` each, in order) -> at every vertex after them."""
    for src, dst, weight in blocks:
        values = _interpolate(values, src, dst, weight)
    return values


def _interpolate(
    values: np.ndarray, src: np.ndarray, dst: np.ndarray, weight: np.ndarray
) -> np.ndarray:
    n_old = len(values)
    if len(src) == 0:
        return values
    if values.ndim == 2 and values.dtype == np.float64 and compiled():
        return _kernels().interp.interpolate(values, src, dst, weight)
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
    values: np.ndarray,
    unit_tol: np.ndarray,
    rv: np.ndarray,
    offsets: np.ndarray,
    active: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """``(region, unit)`` pairs with corners of both signs, sorted by region then unit.

    Signs are those of :func:`classify`.  With ``active (F, n) bool``, only
    those pairs are considered.  The signs are packed 64 units to a word, so
    that the reductions over each region's corners touch ``n / 64`` words per
    corner.

    >>> values = np.array([[1.0, 1.0], [-1.0, 1.0], [0.0, 1.0]])
    >>> crossed_pairs(values, np.zeros(2), np.array([0, 1, 2]), np.array([0, 3]))
    (array([0]), array([0]))
    """
    return _crossed_pairs(values, unit_tol, rv, offsets, active, compiled())


@functools.cache
def _kernels() -> ModuleType:
    """The compiled kernels, every one loaded (the first call compiles or loads them)."""
    from . import kernels

    kernels.load_all()
    return kernels


def preload_kernels() -> None:
    """Load every compiled kernel now where the backend is numba, as the first compiled
    cut would: a driver that goes on from a chain kernel's cuts calls it, so that a cut
    it makes in a later call (the first undecided region of an argmax) does not pay for
    the loading."""
    if compiled():
        _kernels()


def _crossed_pairs(
    values: np.ndarray,
    unit_tol: np.ndarray,
    rv: np.ndarray,
    offsets: np.ndarray,
    active: np.ndarray | None,
    fast: bool,
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`crossed_pairs`, by the compiled kernel when ``fast``."""
    if fast:
        return _kernels().pairs.crossed_pairs(values, unit_tol, rv, offsets, active)
    n = values.shape[1]
    nregions = len(offsets) - 1
    if n == 0:  # no units: nothing crossed (as the compiled kernel says)
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    words = -(-n // 64)
    pos = pack_bits(values > unit_tol)
    neg = pack_bits(values < -unit_tol)
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
) -> tuple[Boundary, np.ndarray]:
    """Boundary cycles of ``regions`` with the new side vertices inserted.

    Returns the :class:`~regionscope.geometry.faces.Boundary` (groups are
    positions in ``regions``) and ``block (I_t,) int64``: the first boundary
    side of every incidence of ``regions``, in order.
    """
    nverts = mesh.num_vertices
    rv = mesh.region_vertices
    sizes = mesh.sizes[regions]
    own, k = expand(sizes)
    inc = mesh.region_offsets[regions][own] + k
    key = mesh.side_keys[inc]
    lo_i = np.searchsorted(points.key, key, side="left")
    hi_i = np.searchsorted(points.key, key, side="right")
    counts = 1 + hi_i - lo_i
    block = exclusive_cumsum(counts)
    b_own, b_r = expand(counts)
    corner_v = rv[inc]
    forward = corner_v < rv[mesh.incidence_next[inc]]
    which = np.where(forward[b_own], lo_i[b_own] + b_r - 1, hi_i[b_own] - b_r)
    vid = np.where(b_r == 0, corner_v[b_own], nverts + which)
    nb = len(vid)
    nxt = np.arange(1, nb + 1, dtype=np.int64)
    # the last side of each region returns to its first
    region_block = block[exclusive_cumsum(sizes)]
    nxt[np.append(region_block[1:], nb) - 1] = region_block
    boundary = Boundary(
        vertex=vid, next=nxt, group=own[b_own], code=mesh.incidence_source[inc][b_own]
    )
    return boundary, block


def rebuild_regions(
    mesh: Mesh,
    chords: Chords,
    crossings: Crossings,
    paths: ChordPaths,
    points: EdgePoints,
) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    """The faces of every region with a chord or a split side.

    Returns ``(touched (F,) bool, faces)`` with ``faces`` as from
    :func:`~regionscope.geometry.faces.trace_faces`: ``(offsets, corners,
    codes, group)``, ``group`` indexing the touched regions in order.
    """
    touched = np.zeros(mesh.num_regions, dtype=bool)
    touched[chords.region] = True
    if len(points.key):  # points.key is sorted: membership by binary search
        side_keys = mesh.side_keys
        at = np.minimum(np.searchsorted(points.key, side_keys), len(points.key) - 1)
        touched[mesh.incidence_region[points.key[at] == side_keys]] = True
    t_regions = touched.nonzero()[0]
    boundary, block = _region_boundaries(mesh, t_regions, points)
    local = np.cumsum(touched) - 1
    group = local[chords.region]
    sizes = mesh.sizes[chords.region]
    first_inc = exclusive_cumsum(mesh.sizes[t_regions])[group]
    end_at = np.concatenate(
        [
            block[first_inc + chords.corner_a] + chords.step_a,
            block[first_inc + chords.corner_b] + chords.step_b,
        ]
    )
    places = ChordPlaces(group=group, end_at=end_at, size=sizes)
    return touched, trace_faces(boundary, chords, places, paths, crossings)


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
    res, bad = _cut_once(
        mesh, values, unit_tol, unit_codes, point_tol, max_regions, active, pair_filter
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
            mesh, values, unit_tol, unit_codes, point_tol, max_regions, allowed, pair_filter
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
    wanted = np.repeat(slow[:, None], values.shape[1], axis=1)
    rv, offsets = mesh.region_vertices, mesh.region_offsets
    units = np.unique(crossed_pairs(values, unit_tol, rv, offsets, wanted)[1])
    cur = res.mesh
    in_slow = slow[res.region_parent]
    parent = res.region_parent
    blocks = list(res.interp)
    chords = res.num_chords
    coincident = [res.coincident]
    for u in units.tolist():
        # the unit's values at the vertices so far: its own column carried through the cuts
        # made since (not the whole table at every step: a copy of V x n values per unit)
        z = _through(values[:, [u]], blocks)
        allowed = in_slow.copy()
        if pair_filter is not None:
            rows = allowed.nonzero()[0]
            allowed[rows] = pair_filter(parent[rows], np.full(len(rows), u, dtype=np.int64))
        # one chord a region cannot be traced wrongly; its faces keep the region's other
        # corners, which may turn right by rounding as far as the mesh allows (CONVEX_RTOL)
        step, bad = _cut_once(
            cur,
            z,
            unit_tol[[u]],
            unit_codes[[u]],
            point_tol,
            max_regions,
            allowed[:, None],
            turn_rtol=CONVEX_RTOL,
        )
        if len(bad):
            raise InvalidMeshError(f"cutting {len(bad)} regions by one unit made invalid faces")
        cur = step.mesh
        in_slow = in_slow[step.region_parent]
        parent = parent[step.region_parent]
        blocks.extend(step.interp)
        chords += step.num_chords
        coincident.append(step.coincident)
    return CutResult(cur, chords, parent, tuple(blocks), np.concatenate(coincident))


def _cut_once(
    mesh: Mesh,
    values: np.ndarray,
    unit_tol: np.ndarray,
    unit_codes: np.ndarray,
    point_tol: float,
    max_regions: int,
    active: np.ndarray | None,
    pair_filter: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None,
    turn_rtol: float = FACE_TURN_RTOL,
) -> tuple[CutResult, np.ndarray]:
    """All steps once; returns the result and the old regions whose faces came out invalid
    (:func:`~.check.invalid_faces` with ``turn_rtol``)."""
    nregions = mesh.num_regions
    nverts = mesh.num_vertices
    fast = compiled()
    pair_region, pair_unit = _crossed_pairs(
        values, unit_tol, mesh.region_vertices, mesh.region_offsets, active, fast
    )
    if pair_filter is not None and len(pair_region):
        keep = pair_filter(pair_region, pair_unit)
        pair_region, pair_unit = pair_region[keep], pair_unit[keep]
    if len(pair_region) == 0:
        return CutResult(mesh, 0, np.arange(nregions), ()), np.zeros(0, np.int64)
    device = device_for(pair_region)  # the torch backend, unless the cut is small
    if device is not None:  # regionscope.geometry.tensor: the same result as below
        from .tensor import cut_once

        fields, bad = cut_once(mesh, values, unit_tol, unit_codes, point_tol, max_regions,
                               pair_region, pair_unit, device, turn_rtol)  # fmt: skip
        return CutResult(*fields), bad
    if fast:  # (the numba backend, or the torch backend's small cuts)
        return _cut_once_compiled(
            mesh, values, unit_tol, unit_codes, point_tol, max_regions, pair_region, pair_unit,
            turn_rtol,
        )  # fmt: skip
    ends = chord_ends(mesh, values, unit_tol, pair_region, pair_unit)
    points, at = edge_points(ends, mesh.vertices, point_tol, values, unit_tol)
    chords = make_chords(ends, at, unit_codes, mesh)
    xy = np.concatenate([mesh.vertices, points.xy])
    crossings = chord_crossings(chords, xy, nregions, max_regions)
    along = along_chords(crossings)
    point_of, roots, near = merge_concurrent(
        crossings, chords, xy, point_tol, (values, unit_tol, points), along
    )
    new_vertices = np.concatenate([xy, crossings.xy[roots]])
    paths = chord_segments(chords, crossings, nverts + len(points.key) + point_of, along)
    touched, faces = rebuild_regions(mesh, chords, crossings, paths, points)
    f_off, f_vert, f_code, f_group = faces
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
        check = np.isin(t_regions, risky)
        invalid = invalid_faces(f_group, f_off, f_vert, new_vertices, check, turn_rtol)
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


def _cut_once_compiled(
    mesh: Mesh,
    values: np.ndarray,
    unit_tol: np.ndarray,
    unit_codes: np.ndarray,
    point_tol: float,
    max_regions: int,
    pair_region: np.ndarray,
    pair_unit: np.ndarray,
    turn_rtol: float = FACE_TURN_RTOL,
) -> tuple[CutResult, np.ndarray]:
    """``_cut_once`` from the crossed pairs on, by the compiled kernels (the same result)."""
    kernels = _kernels().cut
    out = kernels.cut_once(
        mesh, values, unit_tol, unit_codes, point_tol, NEAR_FACTOR * point_tol, turn_rtol,
        get_budget().table_values, max_regions, pair_region, pair_unit,
    )  # fmt: skip
    status, count, nch, vertices, rv, offsets, source, parent, src, dst, weight, coin, bad = out
    if status == kernels.TOO_MANY_CROSSINGS:
        raise RegionLimitError(
            mesh.num_regions + nch + count, max_regions, f"{nch} new cuts and {count}+ crossings"
        )
    if status == kernels.TOO_MANY_REGIONS:
        raise RegionLimitError(count, max_regions)
    if len(coin) > 1:
        coin = np.unique(coin, axis=0)
    new = Mesh(vertices, rv, offsets, source, mesh.num_corners)
    return CutResult(new, nch, parent, ((src, dst, weight),), coin), bad
