"""Which convex regions lie within a distance of points or segments, exactly.

The regions of a partition are convex polygons, so a region lies within
distance ``r`` of a query segment (a point is a segment of length zero)
exactly when the segment starts inside the polygon or one of the polygon's
sides is within ``r`` of the segment.  :func:`polygons_near_segments` finds
all such (query, region) pairs at once: candidate pairs come from a uniform
grid over the bounding boxes (:func:`box_pairs`, each pair reported once),
and each candidate is decided by the distances between its sides and the
segment (:func:`segment_distances`), in chunks bounded by
``Budget.table_values``.

Examples
--------
>>> import numpy as np
>>> square = np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]])
>>> query, region = polygons_near_segments(
...     square, np.arange(4), np.array([0, 4]),
...     starts=np.array([[0.5, 0.5], [1.5, 0.5], [3.0, 3.0]]),
...     ends=np.array([[0.5, 0.5], [1.5, 0.5], [3.0, 3.0]]),
...     radius=np.array([0.1, 0.6, 0.1]),
... )
>>> query.tolist(), region.tolist()      # inside; 0.5 from the side; far away
([0, 1], [0, 0])
"""

from __future__ import annotations

import numpy as np

from regionscope.geometry.arrays import exclusive_cumsum, expand
from regionscope.tolerances import get_budget

__all__ = ["box_pairs", "segment_distances", "polygons_near_segments"]

#: the grid has at most this many cells along each axis (its cells grow to fit)
MAX_GRID_SIDE = 1 << 20


def _cross(ax: np.ndarray, ay: np.ndarray, bx: np.ndarray, by: np.ndarray) -> np.ndarray:
    return ax * by - ay * bx


def _point_segment(p: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``(n,)`` distances from points ``p (n, 2)`` to segments ``a b`` (length 0 allowed)."""
    d = b - a
    w = p - a
    dd = np.einsum("ij,ij->i", d, d)
    with np.errstate(invalid="ignore", divide="ignore"):
        t = np.where(dd > 0, np.einsum("ij,ij->i", w, d) / dd, 0.0)
    t = np.clip(t, 0.0, 1.0)
    r = w - t[:, None] * d
    return np.hypot(r[:, 0], r[:, 1])


def segment_distances(
    p0: np.ndarray, p1: np.ndarray, q0: np.ndarray, q1: np.ndarray
) -> np.ndarray:
    """Distances between segments ``p0 p1`` and ``q0 q1``, row by row.

    Parameters
    ----------
    p0, p1, q0, q1 : (n, 2) float64
        End points; a segment may have length zero (a point).

    Returns
    -------
    (n,) float64
        Zero where the segments cross; otherwise the smallest of the four
        distances from an end point to the other segment (for two segments of
        the plane that do not cross, the closest pair of points includes an
        end point).

    Examples
    --------
    >>> z = np.zeros((2, 2))
    >>> segment_distances(
    ...     np.array([[0.0, 0.0], [0.0, 0.0]]), np.array([[2.0, 0.0], [2.0, 0.0]]),
    ...     np.array([[1.0, -1.0], [1.0, 1.0]]), np.array([[1.0, 1.0], [1.0, 3.0]]),
    ... ).tolist()                                # crossing; 1 above the first
    [0.0, 1.0]
    """
    dp = p1 - p0
    dq = q1 - q0
    o1 = _cross(dp[:, 0], dp[:, 1], q0[:, 0] - p0[:, 0], q0[:, 1] - p0[:, 1])
    o2 = _cross(dp[:, 0], dp[:, 1], q1[:, 0] - p0[:, 0], q1[:, 1] - p0[:, 1])
    o3 = _cross(dq[:, 0], dq[:, 1], p0[:, 0] - q0[:, 0], p0[:, 1] - q0[:, 1])
    o4 = _cross(dq[:, 0], dq[:, 1], p1[:, 0] - q0[:, 0], p1[:, 1] - q0[:, 1])
    crossing = (o1 * o2 < 0) & (o3 * o4 < 0)
    ends = np.minimum(
        np.minimum(_point_segment(p0, q0, q1), _point_segment(p1, q0, q1)),
        np.minimum(_point_segment(q0, p0, p1), _point_segment(q1, p0, p1)),
    )
    return np.where(crossing, 0.0, ends)


def _grid_cells(
    lo: np.ndarray, hi: np.ndarray, origin: np.ndarray, cell: float, side: int
) -> tuple[np.ndarray, np.ndarray]:
    """Every (box, cell id) pair of boxes ``[lo, hi] (n, 2)`` on the grid."""
    c_lo = np.clip(np.floor((lo - origin) / cell), 0, side - 1).astype(np.int64)
    c_hi = np.clip(np.floor((hi - origin) / cell), 0, side - 1).astype(np.int64)
    span = c_hi - c_lo + 1
    owner, k = expand(span[:, 0] * span[:, 1])
    cx = c_lo[owner, 0] + k % span[owner, 0]
    cy = c_lo[owner, 1] + k // span[owner, 0]
    return owner, cx * side + cy


def box_pairs(
    lo_a: np.ndarray, hi_a: np.ndarray, lo_b: np.ndarray, hi_b: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """All pairs of overlapping axis-aligned boxes, one from each set, each once.

    Parameters
    ----------
    lo_a, hi_a : (A, 2) float64
        Lower and upper corners of the first set of boxes.
    lo_b, hi_b : (B, 2) float64
        Lower and upper corners of the second set.

    Returns
    -------
    ia, ib : (K,) int64
        Box ``ia[k]`` of the first set overlaps (closed boxes) box ``ib[k]``
        of the second; sorted by ``ib``, then ``ia``.

    Notes
    -----
    Both sets are laid on a uniform grid whose cell is the larger of the two
    sets' median box sizes; boxes meet only in cells both cover, and a pair is
    reported only in the cell holding the lower corner of the boxes'
    intersection, so it is reported once without a ``unique``.

    Examples
    --------
    >>> ia, ib = box_pairs(np.array([[0.0, 0.0], [2.0, 2.0]]), np.array([[1.0, 1.0], [3.0, 3.0]]),
    ...                    np.array([[0.5, 0.5], [5.0, 5.0]]), np.array([[2.5, 2.5], [6.0, 6.0]]))
    >>> ia.tolist(), ib.tolist()
    ([0, 1], [0, 0])
    """
    empty = np.zeros(0, dtype=np.int64)
    if not len(lo_a) or not len(lo_b):
        return empty, empty
    origin = np.minimum(lo_a.min(axis=0), lo_b.min(axis=0))
    top = np.maximum(hi_a.max(axis=0), hi_b.max(axis=0))
    extent = float((top - origin).max())
    sizes = [float(np.median((hi - lo).max(axis=1))) for lo, hi in ((lo_a, hi_a), (lo_b, hi_b))]
    cell = max(max(sizes), extent / MAX_GRID_SIDE, np.finfo(np.float64).tiny)
    side = min(int(extent / cell) + 1, MAX_GRID_SIDE)
    own_a, cells_a = _grid_cells(lo_a, hi_a, origin, cell, side)
    own_b, cells_b = _grid_cells(lo_b, hi_b, origin, cell, side)
    order = np.argsort(cells_a, kind="stable")
    own_a, cells_a = own_a[order], cells_a[order]
    left = np.searchsorted(cells_a, cells_b, side="left")
    count = np.searchsorted(cells_a, cells_b, side="right") - left
    out_a, out_b = [], []
    budget = get_budget().table_values
    bounds = np.searchsorted(np.cumsum(count), np.arange(budget, int(count.sum()), budget))
    for chunk in np.split(np.arange(len(cells_b)), bounds):
        which, k = expand(count[chunk])
        ia = own_a[left[chunk][which] + k]
        ib = own_b[chunk][which]
        cell_id = cells_b[chunk][which]
        keep = (lo_a[ia] <= hi_b[ib]).all(axis=1) & (lo_b[ib] <= hi_a[ia]).all(axis=1)
        ia, ib, cell_id = ia[keep], ib[keep], cell_id[keep]
        ref = np.maximum(lo_a[ia], lo_b[ib])  # lower corner of the intersection
        _, ref_id = _grid_cells(ref, ref, origin, cell, side)
        once = ref_id == cell_id
        out_a.append(ia[once])
        out_b.append(ib[once])
    ia, ib = np.concatenate(out_a), np.concatenate(out_b)
    order = np.lexsort((ia, ib))
    return ia[order], ib[order]


def _ring_next(offsets: np.ndarray) -> np.ndarray:
    """``(I,) int64``: the next corner of each corner around its polygon."""
    nxt = np.arange(1, offsets[-1] + 1, dtype=np.int64)
    nxt[offsets[1:] - 1] = offsets[:-1]
    return nxt


def polygons_near_segments(
    vertices: np.ndarray,
    region_vertices: np.ndarray,
    region_offsets: np.ndarray,
    starts: np.ndarray,
    ends: np.ndarray,
    radius: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Every (query, region) pair whose convex polygon lies within ``radius`` of the query.

    Parameters
    ----------
    vertices : (V, 2) float64
    region_vertices : (I,) int64
    region_offsets : (F+1,) int64
        Convex polygons, counter-clockwise (a partition's arrays).
    starts, ends : (N, 2) float64
        Query segments (equal ends: a point).
    radius : (N,) float64
        Distance of each query, ``>= 0``.

    Returns
    -------
    query, region : (K,) int64
        The pairs whose closed polygon and segment are at most ``radius[query]``
        apart, sorted by query, then region.

    Notes
    -----
    A pair is in when the segment's start lies inside the polygon (on the
    inner side of every side) or some side is within the radius of the
    segment (:func:`segment_distances`).  No sampling: the answer is exact up
    to the rounding of these distances.
    """
    rv = region_vertices
    corner = vertices[rv]
    lo = np.minimum.reduceat(corner, region_offsets[:-1], axis=0)
    hi = np.maximum.reduceat(corner, region_offsets[:-1], axis=0)
    q_lo = np.minimum(starts, ends) - radius[:, None]
    q_hi = np.maximum(starts, ends) + radius[:, None]
    region, query = box_pairs(lo, hi, q_lo, q_hi)
    sizes = np.diff(region_offsets)
    nxt = _ring_next(region_offsets)
    points = bool(np.array_equal(starts, ends))  # one distance per side instead of four
    found = np.zeros(len(query), dtype=bool)
    pair_sides = sizes[region]
    budget = get_budget().table_values
    bounds = np.searchsorted(
        np.cumsum(pair_sides), np.arange(budget, int(pair_sides.sum()), budget)
    )
    for chunk in np.split(np.arange(len(query)), bounds):
        if not len(chunk):
            continue
        which, k = expand(pair_sides[chunk])
        inc = region_offsets[region[chunk]][which] + k
        a, b = corner[inc], corner[nxt[inc]]
        s0, s1 = starts[query[chunk]][which], ends[query[chunk]][which]
        d = b - a
        side = _cross(d[:, 0], d[:, 1], s0[:, 0] - a[:, 0], s0[:, 1] - a[:, 1])
        first = exclusive_cumsum(pair_sides[chunk])
        inside = np.minimum.reduceat(side, first) >= 0
        dist = _point_segment(s0, a, b) if points else segment_distances(a, b, s0, s1)
        near = np.minimum.reduceat(dist, first)
        found[chunk] = inside | (near <= radius[query[chunk]])
    order = np.lexsort((region[found], query[found]))
    return query[found][order], region[found][order]
