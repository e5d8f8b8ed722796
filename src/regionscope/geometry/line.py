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

from .cutting import classify

__all__ = ["cut_line", "merge_close", "drop_unchanged", "polygon_spans"]


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
        The sorted points with the zeros added.
    """
    s = classify(values, unit_tol)
    piece, unit = np.nonzero((s[:-1] * s[1:]) < 0)
    za = values[piece, unit]
    zb = values[piece + 1, unit]
    roots = points[piece] + za / (za - zb) * (points[piece + 1] - points[piece])
    return merge_close(np.concatenate([points, roots]), points[0], points[-1], point_tol)


def drop_unchanged(points: np.ndarray, patterns: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """Drop the inner points where the pattern does not change, except those in ``keep``.

    ``patterns (P - 1, k)`` holds each piece's pattern.

    >>> pts = np.array([0.0, 1.0, 2.0, 3.0])
    >>> drop_unchanged(pts, np.array([[0], [0], [1]]), np.array([])).tolist()
    [0.0, 2.0, 3.0]
    """
    same = (patterns[1:] == patterns[:-1]).all(axis=1) & ~np.isin(points[1:-1], keep)
    return points[np.concatenate([[True], ~same, [True]])]


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
