"""The 1-D case: points on a line cut by the zero sets of units.

A 1-D partition is a sorted array of points, both ends of the domain
included; piece ``i`` runs from ``points[i]`` to ``points[i + 1]``.
:func:`polygon_spans` says where a line meets the regions of a 2-D mesh
(the candidate points of a slice).

Examples
--------
>>> import numpy as np
>>> pts = np.array([-1.0, 1.0])
>>> values = np.stack([pts, pts - 0.5], axis=1)       # units s and s - 0.5
>>> cut_line(pts, values, np.zeros(2), 1e-12).tolist()
[-1.0, 0.0, 0.5, 1.0]
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "cut_line",
    "cut_points",
    "interpolate",
    "merge_close",
    "drop_unchanged",
    "changed",
    "polygon_spans",
]


def merge_close(points: np.ndarray, lo: float, hi: float, point_tol: float) -> np.ndarray:
    """Sort points, clip them to ``[lo, hi]``, make those closer than ``point_tol`` one.

    The ends are exactly ``lo`` and ``hi``.

    >>> merge_close(np.array([0.3, -1.0, 0.3 + 1e-15, 2.0]), -1.0, 1.0, 1e-12).tolist()
    [-1.0, 0.3, 1.0]
    """
    pts = np.sort(np.clip(points, lo, hi))
    keep = np.ones(len(pts), dtype=bool)
    keep[1:] = np.diff(pts) > point_tol
    pts = pts[keep]
    pts[0], pts[-1] = lo, hi
    return pts


def cut_line(
    points: np.ndarray, values: np.ndarray, unit_tol: np.ndarray, point_tol: float
) -> np.ndarray:
    """Insert the zero of every unit that changes sign within a piece.

    Parameters
    ----------
    points : (P,) float64
        Sorted points, the domain's ends first and last.
    values : (P, n) float64
        Units (affine on every piece) at the points.
    unit_tol : (n,) float64
        Values within these are zero (the snapping rule).
    point_tol : float

    Returns
    -------
    (P',) float64
        The sorted points with the zeros added (:func:`cut_points` without the
        interpolation weights).
    """
    return cut_points(points, values, unit_tol, point_tol)[0]


def cut_points(
    points: np.ndarray, values: np.ndarray, unit_tol: np.ndarray, point_tol: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """:func:`cut_line`, and where each new point comes from.

    A unit's zero in piece ``i`` (its value ``za`` at ``points[i]``, ``zb`` at
    ``points[i + 1]``, of strictly opposite signs beyond its tolerance) lies at
    weight ``w = za / (za - zb)`` along the piece.  The points and the zeros
    are sorted (an old point before a zero at the same place) and merged by
    :func:`merge_close`'s rule: of points closer than ``point_tol`` the first
    stays; the ends stay exactly where they were.

    Returns
    -------
    points : (P',) float64
        The sorted points with the zeros added.
    order : (P',) int64
        New point ``k`` is row ``order[k]`` of the old points followed by the
        zeros (:func:`interpolate` carries values with it).
    piece : (Z,) int64
    weight : (Z,) float64
        Zero ``j`` lies at ``weight[j]`` along piece ``piece[j]``.

    Examples
    --------
    >>> pts, order, piece, w = cut_points(np.array([0.0, 2.0]), np.array([[-1.0], [3.0]]),
    ...                                   np.zeros(1), 1e-12)
    >>> pts.tolist(), order.tolist(), piece.tolist(), w.tolist()
    ([0.0, 0.5, 2.0], [0, 2, 1], [0], [0.25])
    """
    # the signs of classify(values, unit_tol): beyond the tolerance on either side
    pos = values > unit_tol
    neg = values < -unit_tol
    cross = pos[:-1] & neg[1:]
    cross |= neg[:-1] & pos[1:]
    flat = cross.ravel().nonzero()[0]  # faster than a 2-D nonzero
    n = len(points)
    if len(flat) == 0:
        return points, np.arange(n), flat, np.zeros(0)
    width = values.shape[1]
    piece = flat // width
    unit = flat - piece * width
    za = values[piece, unit]
    zb = values[piece + 1, unit]
    w = za / (za - zb)
    a = points[piece]
    roots = a + w * (points[piece + 1] - a)
    lo, hi = points[0], points[-1]
    every = np.concatenate([points, np.minimum(np.maximum(roots, lo), hi)])
    order = np.argsort(every, kind="stable")  # an old point before a zero at the same place
    pts = every[order]
    keep = np.empty(len(pts), dtype=bool)
    keep[0] = True
    np.greater(pts[1:] - pts[:-1], point_tol, out=keep[1:])
    order = order[keep]
    pts = pts[keep]
    pts[0], pts[-1] = lo, hi
    order[-1] = n - 1  # the end stays: its own values
    return pts, order, piece, w


def interpolate(
    values: np.ndarray, order: np.ndarray, piece: np.ndarray, weight: np.ndarray
) -> np.ndarray:
    """Values ``(P, ...)`` of a function affine on the old pieces, at the points of a cut
    (:func:`cut_points`): ``(P', ...)``.

    >>> interpolate(np.array([[1.0], [5.0]]), np.array([0, 2, 1]), np.array([0]),
    ...             np.array([0.25])).tolist()
    [[1.0], [2.0], [5.0]]
    """
    if len(piece) == 0:
        return values
    a = values[piece]
    w = weight.reshape(-1, *([1] * (values.ndim - 1)))
    a += w * (values[piece + 1] - a)
    return np.concatenate([values, a])[order]


def changed(points: np.ndarray, patterns: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """``(P,) bool``: the points :func:`drop_unchanged` keeps.

    >>> changed(np.array([0.0, 1.0, 2.0]), np.array([[0], [0]]), np.array([])).tolist()
    [True, False, True]
    """
    same = (patterns[1:] == patterns[:-1]).all(axis=1) & ~np.isin(points[1:-1], keep)
    return np.concatenate([[True], ~same, [True]])


def drop_unchanged(points: np.ndarray, patterns: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """Drop the inner points where the pattern does not change, except those in ``keep``.

    ``patterns (P - 1, k)`` holds each piece's pattern.

    >>> pts = np.array([0.0, 1.0, 2.0, 3.0])
    >>> drop_unchanged(pts, np.array([[0], [0], [1]]), np.array([])).tolist()
    [0.0, 2.0, 3.0]
    """
    return points[changed(points, patterns, keep)]


def polygon_spans(
    off: np.ndarray,
    along: np.ndarray,
    region_vertices: np.ndarray,
    incidence_next: np.ndarray,
    region_starts: np.ndarray,
    tol: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Where a line meets each convex polygon of a mesh, as spans of its coordinate.

    Vertices within ``tol`` of the line count as on it, so a polygon with a
    side along the line meets it in that side (however nearly parallel the
    computed side is), and one that only touches the line at a corner meets
    it in a single point.

    Parameters
    ----------
    off : (V,) float64
        Signed distance of each vertex from the line.
    along : (V,) float64
        Coordinate of each vertex's projection onto the line.
    region_vertices, incidence_next, region_starts : int64 arrays
        The polygons' corners (ragged), the next incidence around the same
        polygon, the first incidence of each polygon (see
        :class:`~regionscope.geometry.mesh.Mesh`).
    tol : float
        Distance within which a vertex is on the line.

    Returns
    -------
    lo, hi : (F,) float64
        Each polygon meets the line in ``[lo, hi]``; ``lo = inf`` and
        ``hi = -inf`` where it misses the line.

    Examples
    --------
    >>> # two unit squares side by side along the x-axis and one above it; the line y = 0
    >>> xy = np.array([[0, 0], [1, 0], [1, 1], [0, 1], [2, 0], [2, 1], [1, 2], [0, 2]], float)
    >>> corners = np.array([0, 1, 2, 3, 1, 4, 5, 2, 3, 2, 6, 7])
    >>> nxt = np.array([1, 2, 3, 0, 5, 6, 7, 4, 9, 10, 11, 8])
    >>> starts = np.array([0, 4, 8])
    >>> lo, hi = polygon_spans(xy[:, 1] + 1e-17, xy[:, 0], corners, nxt, starts, 1e-12)
    >>> lo.tolist(), hi.tolist()
    ([0.0, 1.0, inf], [1.0, 2.0, -inf])
    """
    if len(region_starts) == 0:
        return np.zeros(0), np.zeros(0)
    a = region_vertices
    b = region_vertices[incidence_next]
    side = np.where(off > tol, 1, np.where(off < -tol, -1, 0))[a]
    cross = side * side[incidence_next] < 0  # the side from a to b crosses the line
    with np.errstate(divide="ignore", invalid="ignore"):
        w = np.where(cross, off[a] / (off[a] - off[b]), 0.0)
    at = along[a] + w * (along[b] - along[a])
    meets = cross | (side == 0)  # a crossing, or a corner on the line
    lo = np.minimum.reduceat(np.where(meets, at, np.inf), region_starts)
    hi = np.maximum.reduceat(np.where(meets, at, -np.inf), region_starts)
    return lo, hi
