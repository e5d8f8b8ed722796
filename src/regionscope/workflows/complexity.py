"""Local complexity: how many regions lie within a radius of each point, exactly.

The *local complexity* of a network at a point ``x`` for a radius ``r`` is the
number of its activation regions that meet the disk of radius ``r`` around
``x`` (in the domain's plane).  It measures how finely the network cuts the
input near its data; see Hanin and Rolnick (2019), "Complexity of linear
regions in deep networks", and Humayun, Balestriero and Baraniuk (2024),
"Deep networks always grok and here is why", who follow it through training.

regionscope counts it from the partition's convex polygons, not by sampling:
a region meets the disk when the point lies inside it or one of its sides is
within ``r`` of the point (:func:`~regionscope.workflows.proximity.polygons_near_segments`).

Examples
--------
>>> import regionscope as rs
>>> part = rs.partition(rs.testing.tiny_cross(), rs.Box(1.0))   # the four quadrants
>>> local_complexity(part, [[0.5, 0.5], [0.1, 0.5], [0.05, 0.05]], 0.2).tolist()
[1, 2, 4]
"""

from __future__ import annotations

from typing import Any

import numpy as np

from regionscope.checks import as_finite

from .proximity import polygons_near_segments

__all__ = ["local_complexity", "regions_within", "check_points_radius"]


def check_points_radius(points: Any, radius: Any) -> tuple[np.ndarray, np.ndarray]:
    """``points (N, 2)`` and ``radius (N,)`` float64, checked.

    ``points`` may be one point ``(2,)``; ``radius`` a number or one per point,
    finite and ``>= 0``.
    """
    pts = as_finite(points, "points")
    if pts.shape == (2,):
        pts = pts[None]
    if pts.ndim != 2 or pts.shape[1] != 2:
        raise ValueError(
            f"points must have shape (N, 2), in domain coordinates (for a Plane: "
            f"plane.to_plane(inputs)), got {pts.shape}"
        )
    rad = as_finite(radius, "radius")
    if rad.ndim > 1 or (rad.ndim == 1 and rad.shape != (len(pts),)):
        raise ValueError(f"radius must be a number or have shape ({len(pts)},), got {rad.shape}")
    if (rad < 0).any():
        raise ValueError(f"radius must be >= 0, got {float(rad.min())}")
    return pts, np.broadcast_to(rad, (len(pts),)).astype(np.float64)


def _mesh_arrays(part: Any, where: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    if not hasattr(part, "region_offsets") or getattr(part.domain, "dim", 0) != 2:
        raise TypeError(f"{where} needs a 2-D Partition, got {type(part).__name__}")
    return part.vertices, part.region_vertices, part.region_offsets


def regions_within(part: Any, points: Any, radius: Any) -> tuple[np.ndarray, np.ndarray]:
    """The regions that meet the disk of ``radius`` around each point.

    Parameters
    ----------
    part : Partition
        A 2-D partition.
    points : (N, 2) array_like
        Centres, in domain coordinates (for a :class:`~regionscope.Plane`,
        ``plane.to_plane(x)``; its coordinates are orthonormal, so the disk is
        the disk of radius ``radius`` of the input space inside the plane).
    radius : float or (N,) array_like
        Radius, ``>= 0``.  A region touching the circle counts.

    Returns
    -------
    offsets : (N+1,) int64
    regions : (K,) int64
        Point ``i`` meets regions ``regions[offsets[i]:offsets[i+1]]``, sorted.

    Examples
    --------
    >>> import regionscope as rs
    >>> part = rs.partition(rs.testing.tiny_cross(), rs.Box(1.0))
    >>> offsets, regions = regions_within(part, [[0.1, 0.5]], 0.2)
    >>> offsets.tolist(), sorted(part.centroids()[regions].round(1).tolist())
    ([0, 2], [[-0.5, 0.5], [0.5, 0.5]])
    """
    pts, rad = check_points_radius(points, radius)
    vertices, rv, offsets = _mesh_arrays(part, "regions_within")
    query, region = polygons_near_segments(vertices, rv, offsets, pts, pts, rad)
    counts = np.bincount(query, minlength=len(pts))
    out = np.zeros(len(pts) + 1, dtype=np.int64)
    np.cumsum(counts, out=out[1:])
    return out, region


def local_complexity(part: Any, points: Any, radius: Any) -> np.ndarray:
    """Number of regions meeting the disk of ``radius`` around each point, exactly.

    Parameters
    ----------
    part : Partition
        A 2-D partition.
    points : (N, 2) array_like
        Centres, in domain coordinates (see :func:`regions_within`).
    radius : float or (N,) array_like
        Radius, ``>= 0``.

    Returns
    -------
    (N,) int64
        For each point, the regions whose closed polygon is within ``radius``
        of it (the region holding the point included).  Disks reaching out of
        the domain count only the regions inside it.

    Notes
    -----
    Vectorized over all points and regions at once: bounding boxes are
    paired on a grid, then each candidate polygon is tested by the distance
    from the point to its sides.  Cost: the candidate pairs times the sides of
    their regions.

    Examples
    --------
    >>> import regionscope as rs
    >>> net = rs.testing.tiny_lines([[1.0, 0.0, 0.0], [1.0, 0.0, -0.5]])  # x = 0, x = 0.5
    >>> part = rs.partition(net, rs.Box(1.0))
    >>> local_complexity(part, [[0.25, 0.0]], [0.2]).tolist(), local_complexity(
    ...     part, [[0.25, 0.0]], 0.25).tolist()
    ([1], [3])
    """
    offsets, _ = regions_within(part, points, radius)
    return np.diff(offsets)
