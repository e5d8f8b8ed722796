"""Convex polygons of domain coordinates: validation, areas, boxes and clipping.

The domains (:mod:`regionscope.domains`) are convex polygons; these functions check
and clean their corners, measure them, and cut them to boxes (tiles of a domain).
Every test runs on coordinates relative to a corner, so no decision depends on where
a polygon sits.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from regionscope.checks import as_finite
from regionscope.tolerances import get_tolerance

__all__ = [
    "box_overlap",
    "check_box",
    "clean_convex_polygon",
    "clip_polygon_to_box",
    "signed_area",
]


def check_box(box: Any, name: str) -> tuple[float, float, float, float]:
    """``(u0, u1, v0, v1)`` as floats with ``u0 < u1`` and ``v0 < v1``, or ValueError."""
    arr = as_finite(box, name)
    if arr.shape != (4,):
        raise ValueError(f"{name} must be (u0, u1, v0, v1), got shape {arr.shape}")
    u0, u1, v0, v1 = (float(v) for v in arr)
    if not (u0 < u1 and v0 < v1):
        raise ValueError(f"{name} needs u0 < u1 and v0 < v1, got ({u0}, {u1}, {v0}, {v1})")
    return u0, u1, v0, v1


def box_overlap(
    bounds: tuple[float, float, float, float], box: tuple[float, float, float, float]
) -> tuple[float, float, float, float] | None:
    """The intersection of two ``(u0, u1, v0, v1)`` boxes, ``None`` when it has no area."""
    u0, u1 = max(bounds[0], box[0]), min(bounds[1], box[1])
    v0, v1 = max(bounds[2], box[2]), min(bounds[3], box[3])
    if not (u0 < u1 and v0 < v1):
        return None
    return u0, u1, v0, v1


def clip_polygon_to_box(polygon: np.ndarray, box: Any) -> np.ndarray | None:
    """Corners ``(M, 2)`` of a convex polygon ``(K, 2)`` cut to a box, or ``None`` if empty.

    Every new corner is computed from the polygon's own sides, with the
    box side's coordinate set exactly: two boxes sharing a side get the same
    points on it, bit for bit (so tiles of a polygon fit together).

    >>> tri = np.array([[0.0, 0.0], [4.0, 0.0], [0.0, 4.0]])
    >>> clip_polygon_to_box(tri, (1.0, 5.0, -1.0, 5.0)).tolist()
    [[1.0, 0.0], [4.0, 0.0], [1.0, 3.0]]
    >>> clip_polygon_to_box(tri, (3.0, 5.0, 3.0, 5.0)) is None
    True
    """
    u0, u1, v0, v1 = check_box(box, "box")
    poly = np.asarray(polygon, dtype=np.float64)
    a, b = poly, np.roll(poly, -1, axis=0)
    # a box corner on a side (up to rounding): its crossings are clamped onto it, and it
    # counts as inside, so the piece keeps that corner
    extent = float(np.ptp(poly, axis=0).max())
    tol = get_tolerance().point_rtol * extent
    inside = (poly[:, 0] >= u0) & (poly[:, 0] <= u1) & (poly[:, 1] >= v0) & (poly[:, 1] <= v1)
    found = [poly[inside]]
    for axis, cuts in ((0, (u0, u1)), (1, (v0, v1))):
        other = 1 - axis
        lo_other, hi_other = (v0, v1) if axis == 0 else (u0, u1)
        for c in cuts:
            cross = (a[:, axis] - c) * (b[:, axis] - c) < 0
            # each side from its lexicographically smaller end: the same bits on both tiles
            swap = (b[:, 0] < a[:, 0]) | ((b[:, 0] == a[:, 0]) & (b[:, 1] < a[:, 1]))
            p = np.where(swap[:, None], b, a)[cross]
            q = np.where(swap[:, None], a, b)[cross]
            t = (c - p[:, axis]) / (q[:, axis] - p[:, axis])
            pts = np.empty_like(p)
            pts[:, axis] = c
            pts[:, other] = p[:, other] + t * (q[:, other] - p[:, other])
            keep = (pts[:, other] >= lo_other - tol) & (pts[:, other] <= hi_other + tol)
            pts[:, other] = np.clip(pts[:, other], lo_other, hi_other)
            found.append(pts[keep])
    corners = np.array([[u0, v0], [u1, v0], [u1, v1], [u0, v1]])
    rel = corners[:, None, :] - a[None, :, :]
    edge = b - a
    side = edge[None, :, 0] * rel[..., 1] - edge[None, :, 1] * rel[..., 0]
    found.append(corners[(side >= -tol * np.hypot(edge[:, 0], edge[:, 1])).all(axis=1)])
    pts = np.unique(np.concatenate(found), axis=0)
    if len(pts) < 3:
        return None
    centre = pts.mean(axis=0)
    pts = pts[np.argsort(np.arctan2(pts[:, 1] - centre[1], pts[:, 0] - centre[0]))]
    try:
        return clean_convex_polygon(pts, "the polygon cut to the box")
    except ValueError:
        return None  # no area left


def signed_area(poly: np.ndarray) -> float:
    """Signed area of a polygon ``(K, 2)`` (positive when counter-clockwise).

    The shoelace sum runs on coordinates relative to the first corner, so the
    result does not depend on where the polygon sits: far from the origin the
    absolute products would cancel catastrophically.

    >>> signed_area(np.array([[1e8 - 1, 1e8 - 1], [1e8 + 1, 1e8 - 1], [1e8 + 1, 1e8 + 1]]))
    2.0
    """
    rel = poly - poly[0]
    x, y = rel[:, 0], rel[:, 1]
    return 0.5 * float(np.dot(x, np.roll(y, -1)) - np.dot(np.roll(x, -1), y))


def clean_convex_polygon(points: Any, name: str) -> np.ndarray:
    """Validate a convex polygon; return it counter-clockwise without redundant corners.

    Parameters
    ----------
    points : array_like, shape (K, 2)
        Corners in order around the polygon, either orientation.
    name : str
        Name of the argument, for error messages.

    Returns
    -------
    ndarray, shape (M, 2), float64
        The corners counter-clockwise, starting from the first kept corner,
        without repeated corners or corners on a straight side (``M >= 3``).

    Notes
    -----
    Every test runs on coordinates relative to the first corner, so the
    decisions do not depend on where the polygon sits.  A corner within
    ``collinear_rtol`` times the polygon's extent of the corner before it is a
    repeat (dropped); a corner where the boundary turns by less than about
    ``collinear_rtol`` radians is flat (dropped).  Every other corner must turn
    the same way, and the turns must add up to exactly one full turn: a
    pentagram turns the same way at every corner but winds twice around.
    """
    pts = as_finite(points, name)
    if pts.ndim != 2 or pts.shape[1] != 2:
        raise ValueError(f"{name} must have shape (K, 2), got {pts.shape}")
    if len(pts) < 3:
        raise ValueError(f"{name} needs at least 3 corners, got {len(pts)}")
    index = np.arange(len(pts))
    rel = pts - pts[0]
    scale = float(np.ptp(rel, axis=0).max())
    if scale == 0.0:
        raise ValueError(f"{name} is empty: all corners coincide")
    rtol = get_tolerance().collinear_rtol
    tol = rtol * scale
    # drop repeated corners (within tol of the corner before them)
    step = rel - np.roll(rel, 1, axis=0)
    keep = np.hypot(step[:, 0], step[:, 1]) > tol
    pts, index = pts[keep], index[keep]
    if len(pts) < 3:
        raise ValueError(f"{name} is empty: its corners are collinear")
    rel = pts - pts[0]
    a = rel - np.roll(rel, 1, axis=0)  # edge into each corner
    b = np.roll(a, -1, axis=0)  # edge out of each corner (the same vectors)
    cross = a[:, 0] * b[:, 1] - a[:, 1] * b[:, 0]
    dot = a[:, 0] * b[:, 0] + a[:, 1] * b[:, 1]
    # the sine of the turn at a corner is cross / (|a| |b|): a corner turning
    # by at most collinear_rtol (in radians, about) is flat, one turning by
    # pi within that is a reversal; far above rounding (eps |a| |b|)
    straight = np.abs(cross) <= rtol * np.hypot(a[:, 0], a[:, 1]) * np.hypot(b[:, 0], b[:, 1])
    flat = straight & (dot > 0)
    back = straight & (dot <= 0)
    if (flat | back).all():
        raise ValueError(f"{name} is empty: its corners are collinear")
    if back.any():
        i = int(index[np.flatnonzero(back)[0]])
        raise ValueError(
            f"{name} is not convex: the boundary doubles back on itself at corner {i}"
        )
    sharp = ~flat
    left = sharp & (cross > 0)
    right = sharp & (cross < 0)
    if left.any() and right.any():
        i = int(index[np.flatnonzero(left)[0]])
        j = int(index[np.flatnonzero(right)[0]])
        raise ValueError(
            f"{name} is not convex: it turns left at corner {i} and right at corner {j} "
            "(corners must be given in order around a convex polygon)"
        )
    winding = round(float(np.arctan2(cross, dot).sum()) / (2.0 * math.pi))
    if abs(winding) != 1:
        raise ValueError(
            f"{name} is not convex: its boundary self-intersects, turning {abs(winding)} "
            "times around (a convex polygon turns exactly once)"
        )
    pts = pts[sharp]
    if winding < 0:
        pts = np.roll(pts[::-1], 1, axis=0)  # counter-clockwise, same first corner
    if len(pts) < 3 or signed_area(pts) <= tol * scale:
        raise ValueError(
            f"{name} is empty: its corners are collinear (area at most "
            f"collinear_rtol={rtol:g} times the squared extent {scale:.6g})"
        )
    return np.ascontiguousarray(pts)
