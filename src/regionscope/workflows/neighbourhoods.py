"""Neighbourhoods of data points: a small plane window around each point of ``R^D``.

:func:`neighbourhood_planes` builds, for each data point ``x``, the square
window of half side ``radius`` centred at ``x`` in the plane through ``x``
spanned by two directions (given, or random and orthonormal).  Each is a plain
:class:`~regionscope.Plane`, so a list of them is what a sweep over domains
takes; the local complexity at ``x`` is then
``partition(model, plane).local_complexity(plane.to_plane(x), radius)``.

Examples
--------
>>> import numpy as np
>>> x = np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]])
>>> planes = neighbourhood_planes(x, 0.5, seed=0)
>>> centre = planes[0].to_plane(x[0])[0]        # the point, in plane coordinates
>>> xmin, xmax, ymin, ymax = planes[0].bounds
>>> len(planes), np.allclose([xmin, xmax, ymin, ymax],
...                          [centre[0] - 0.5, centre[0] + 0.5, centre[1] - 0.5, centre[1] + 0.5])
(2, True)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from regionscope.checks import as_finite, as_number
from regionscope.domains import Plane
from regionscope.tolerances import get_tolerance

__all__ = ["neighbourhood_planes", "orthonormal_directions"]


def orthonormal_directions(directions: np.ndarray, name: str = "directions") -> np.ndarray:
    """Rows ``(N, 2, D)`` made orthonormal pairwise (two Gram-Schmidt passes).

    Raises ``ValueError`` when a pair is (nearly) parallel or a direction is zero.
    """
    d1, d2 = directions[:, 0], directions[:, 1]
    n1 = np.linalg.norm(d1, axis=1)
    rtol = get_tolerance().collinear_rtol
    scale = np.maximum(n1, np.linalg.norm(d2, axis=1))
    if (n1 <= rtol * scale).any() or (scale == 0).any():
        raise ValueError(f"{name}: a first direction is zero")
    e1 = d1 / n1[:, None]
    r2 = d2 - np.einsum("nd,nd->n", d2, e1)[:, None] * e1
    r2 = r2 - np.einsum("nd,nd->n", r2, e1)[:, None] * e1
    n2 = np.linalg.norm(r2, axis=1)
    if (n2 <= rtol * scale).any():
        i = int(np.flatnonzero(n2 <= rtol * scale)[0])
        raise ValueError(f"{name}: the two directions of point {i} are parallel")
    return np.stack([e1, r2 / n2[:, None]], axis=1)


def neighbourhood_planes(
    points: Any,
    radius: float,
    directions: Any = None,
    *,
    seed: int | None = None,
) -> list[Plane]:
    """A square plane window of half side ``radius`` around each data point.

    Parameters
    ----------
    points : (N, ...) array_like
        Data points (vectors, ``(C, H, W)`` images...); planes take inputs of
        shape ``points.shape[1:]``.
    radius : float
        Half side of each window (> 0): the disk of that radius around the
        point fits in it.
    directions : (2, ...) or (N, 2, ...) array_like, optional
        Two directions spanning the plane, for all points or one pair per
        point (orthonormalised here).  Default: two random orthonormal
        directions per point (Gaussian, then Gram-Schmidt).
    seed : int, optional
        Seed of the random directions.

    Returns
    -------
    list of Plane
        Plane ``i`` holds ``points[i]`` at ``plane.to_plane(points[i])``, the
        centre of its square domain ``[c - radius, c + radius]^2``.  Plane
        coordinates are orthonormal, so distances in the window are distances
        in the input space.

    Notes
    -----
    Each window is ``Plane([x - r e1 - r e2, x + r e1 - r e2, x - r e1 + r e2],
    margin=0)`` for orthonormal ``e1, e2``: its axes are ``e1`` and ``e2``,
    and its box is the one the three points span.
    """
    pts = as_finite(points, "points")
    if pts.ndim < 2 or not len(pts):
        raise ValueError(f"points must have shape (N, ...) with N >= 1, got {pts.shape}")
    r = as_number(radius, "radius")
    if r <= 0:
        raise ValueError(f"radius must be > 0, got {r}")
    n, shape = len(pts), pts.shape[1:]
    flat = pts.reshape(n, -1)
    dim = flat.shape[1]
    if dim < 2:
        raise ValueError(f"points must have at least 2 coordinates to span a plane, got {dim}")
    if directions is None:
        rng = np.random.default_rng(seed)
        dirs = rng.standard_normal((n, 2, dim))
    else:
        dirs = as_finite(directions, "directions")
        if dirs.size == 2 * dim:
            dirs = np.broadcast_to(dirs.reshape(1, 2, dim), (n, 2, dim))
        elif dirs.size == n * 2 * dim and dirs.shape[:2] == (n, 2):
            dirs = dirs.reshape(n, 2, dim)
        else:
            raise ValueError(
                f"directions must have shape (2, {', '.join(map(str, shape))}) or "
                f"({n}, 2, ...), got {dirs.shape}"
            )
    basis = orthonormal_directions(np.asarray(dirs, dtype=np.float64))
    e1, e2 = basis[:, 0] * r, basis[:, 1] * r
    corners = np.stack([flat - e1 - e2, flat + e1 - e2, flat - e1 + e2], axis=1)
    return [Plane(c.reshape(3, *shape), margin=0.0) for c in corners]
