"""The 1-D case: points on a line cut by the zero sets of units.

A 1-D partition is a sorted array of points, both ends of the domain
included; piece ``i`` runs from ``points[i]`` to ``points[i + 1]``.

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

__all__ = ["cut_line", "merge_close", "drop_unchanged"]


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
