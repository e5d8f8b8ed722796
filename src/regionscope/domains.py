"""Input domains: where in input space the regions are computed.

A 2-D domain is a convex polygon in *domain coordinates* ``u`` (shape
``(N, 2)``) together with a map :meth:`Domain2D.lift` from domain coordinates
to network inputs (shape ``(N, D)``, flattened).  For :class:`Box` and
:class:`Polygon` the network input *is* ``u``; a :class:`Plane` embeds the
domain in a plane through three points of ``R^D`` (three images, say).

A 1-D domain is an interval of a coordinate ``s`` with a map to network
inputs: :class:`Interval` (the input is ``s`` itself) and :class:`Segment`
(the line through two points of ``R^D``).

Examples
--------
>>> import numpy as np
>>> from regionscope.domains import Box, Plane
>>> Box(1.0).area
4.0
>>> plane = Plane(np.eye(3))          # the plane through e1, e2, e3
>>> u = plane.to_plane(np.eye(3))
>>> np.allclose(plane.lift(u), np.eye(3))
True
>>> bool(plane.contains(u).all())
True
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .tolerance import get_tolerance

__all__ = [
    "Domain",
    "Domain2D",
    "Box",
    "Polygon",
    "Plane",
    "Domain1D",
    "Interval",
    "Segment",
]


def as_finite(x: Any, name: str, *, ndim: int | None = None) -> np.ndarray:
    """Convert ``x`` to a float64 array, checking that it is finite.

    Raises ``ValueError`` naming ``name`` when ``x`` is not numeric, has the
    wrong number of dimensions or holds NaN or infinity.
    """
    try:
        arr = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be an array of numbers, got {type(x).__name__}") from exc
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimension(s), got shape {arr.shape}")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} must be finite, got NaN or infinity")
    return arr


def _check_points_2d(u: Any, name: str = "u") -> np.ndarray:
    arr = as_finite(u, name)
    if arr.ndim == 1 and arr.shape == (2,):
        arr = arr[None]
    if arr.ndim != 2 or arr.shape[1] != 2:
        raise ValueError(f"{name} must have shape (N, 2), got {arr.shape}")
    return arr


class Domain:
    """Base class of all domains."""

    #: number of domain coordinates (2 or 1)
    dim: int = 0
    #: shape of one network input (``(2,)`` for a box, ``(1, 28, 28)`` for images)
    input_shape: tuple[int, ...] = ()

    @property
    def input_dim(self) -> int:
        """Number of network inputs per point, ``prod(input_shape)``."""
        return int(math.prod(self.input_shape))


class Domain2D(Domain):
    """A convex polygon of domain coordinates and its map to network inputs.

    Subclasses set :attr:`polygon` (``(K, 2) float64``, counter-clockwise,
    no three consecutive corners collinear).
    """

    dim = 2
    polygon: np.ndarray

    @property
    def area(self) -> float:
        """Area of the polygon."""
        return float(_signed_area(self.polygon))

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """``(xmin, xmax, ymin, ymax)`` of the polygon."""
        lo = self.polygon.min(axis=0)
        hi = self.polygon.max(axis=0)
        return float(lo[0]), float(hi[0]), float(lo[1]), float(hi[1])

    @property
    def diameter(self) -> float:
        """Length of the diagonal of the bounding box."""
        xmin, xmax, ymin, ymax = self.bounds
        return float(math.hypot(xmax - xmin, ymax - ymin))

    def lift(self, u: Any) -> np.ndarray:
        """Map domain coordinates ``(N, 2)`` to flat network inputs ``(N, D)``."""
        return _check_points_2d(u).copy()

    def contains(self, u: Any) -> np.ndarray:
        """``(N,) bool``: which points lie in the closed polygon (with tolerance)."""
        pts = _check_points_2d(u)
        poly = self.polygon
        edge = np.roll(poly, -1, axis=0) - poly  # (K, 2)
        rel = pts[:, None, :] - poly[None, :, :]  # (N, K, 2)
        cross = edge[None, :, 0] * rel[..., 1] - edge[None, :, 1] * rel[..., 0]
        length = np.hypot(edge[:, 0], edge[:, 1])
        tol = get_tolerance().point_rtol * self.diameter
        return (cross >= -tol * length[None, :]).all(axis=1)

    def to_arrays(self) -> dict[str, Any]:
        """Arrays that rebuild this domain with :func:`domain_from_arrays`."""
        return {"kind": "polygon", "polygon": self.polygon}


def _signed_area(poly: np.ndarray) -> float:
    x, y = poly[:, 0], poly[:, 1]
    return 0.5 * float(np.dot(x, np.roll(y, -1)) - np.dot(np.roll(x, -1), y))


def _clean_convex_polygon(points: Any, name: str) -> np.ndarray:
    """Validate a convex polygon; return it counter-clockwise without redundant corners."""
    pts = as_finite(points, name)
    if pts.ndim != 2 or pts.shape[1] != 2:
        raise ValueError(f"{name} must have shape (K, 2), got {pts.shape}")
    if len(pts) < 3:
        raise ValueError(f"{name} needs at least 3 corners, got {len(pts)}")
    scale = float(np.ptp(pts, axis=0).max())
    if scale == 0.0:
        raise ValueError(f"{name} is empty: all corners coincide")
    if _signed_area(pts) < 0:
        pts = pts[::-1]
    tol = get_tolerance().collinear_rtol * scale
    # drop repeated corners, then corners collinear with their neighbours
    keep = np.hypot(*(pts - np.roll(pts, 1, axis=0)).T) > tol
    pts = pts[keep]
    prev = np.roll(pts, 1, axis=0)
    nxt = np.roll(pts, -1, axis=0)
    a, b = pts - prev, nxt - pts
    cross = a[:, 0] * b[:, 1] - a[:, 1] * b[:, 0]
    norm = np.hypot(*a.T) * np.hypot(*b.T)
    if (cross < -tol * np.maximum(norm, tol) / scale).any():
        raise ValueError(f"{name} must be convex (corners in order around it); it is not")
    pts = pts[cross > tol * norm / scale]
    if len(pts) < 3 or _signed_area(pts) <= tol * scale:
        raise ValueError(f"{name} is empty: its corners are collinear")
    return np.ascontiguousarray(pts)


class Polygon(Domain2D):
    """A convex polygon given by its corners.

    Parameters
    ----------
    points : array_like, shape (K, 2)
        Corners in order around the polygon (either orientation).  Repeated
        corners and corners on a straight side are dropped.

    Examples
    --------
    >>> Polygon([[0, 0], [2, 0], [0, 1]]).area
    1.0
    """

    def __init__(self, points: Any) -> None:
        self.polygon = _clean_convex_polygon(points, "points")
        self.input_shape = (2,)

    def __repr__(self) -> str:
        return f"Polygon({self.polygon.tolist()})"


class Box(Polygon):
    """An axis-aligned rectangle.

    ``Box(h)`` is the square ``[-h, h]^2`` and ``Box(xmin, xmax, ymin, ymax)``
    any rectangle.

    Examples
    --------
    >>> Box(1.0).bounds
    (-1.0, 1.0, -1.0, 1.0)
    >>> Box(0, 2, 0, 1).area
    2.0
    """

    def __init__(self, *bounds: float, half_width: float | None = None) -> None:
        if half_width is not None:
            if bounds:
                raise ValueError("give either half_width or bounds to Box, not both")
            bounds = (half_width,)
        if not bounds:
            bounds = (1.0,)
        b = as_finite(bounds, "Box bounds", ndim=1)
        if len(b) == 1:
            h = float(b[0])
            if h <= 0:
                raise ValueError(f"Box half_width must be positive, got {h}")
            b = np.array([-h, h, -h, h])
        elif len(b) != 4:
            raise ValueError(f"Box takes a half width or (xmin, xmax, ymin, ymax), got {len(b)}")
        xmin, xmax, ymin, ymax = (float(v) for v in b)
        if not (xmin < xmax and ymin < ymax):
            raise ValueError(
                f"Box needs xmin < xmax and ymin < ymax, got ({xmin}, {xmax}, {ymin}, {ymax})"
            )
        self.polygon = np.array([[xmin, ymin], [xmax, ymin], [xmax, ymax], [xmin, ymax]])
        self.input_shape = (2,)

    def to_arrays(self) -> dict[str, Any]:
        """Arrays that rebuild this box with :func:`domain_from_arrays`."""
        return {"kind": "box", "bounds": np.array(self.bounds)}

    def __repr__(self) -> str:
        xmin, xmax, ymin, ymax = self.bounds
        if xmin == ymin == -xmax == -ymax:
            return f"Box({xmax!r})"
        return f"Box({xmin!r}, {xmax!r}, {ymin!r}, {ymax!r})"


class Plane(Domain2D):
    """The plane through three points of ``R^D``, with a box around them.

    Parameters
    ----------
    points : array_like, shape (3, ...)
        Three inputs of any shape (vectors, ``(C, H, W)`` images...).  They are
        flattened; the network receives inputs of shape ``points.shape[1:]``.
    margin : float
        The box around the projected points is enlarged on every side by
        ``margin`` times its larger side, so the points are always inside.

    Notes
    -----
    In-plane coordinates are orthonormal: the origin is the mean of the three
    points, the first axis points from ``points[0]`` to ``points[1]``.

    Examples
    --------
    >>> import numpy as np
    >>> plane = Plane(np.array([[0., 0, 0], [1, 0, 0], [0, 1, 0]]), margin=0.0)
    >>> plane.to_plane([[1.0, 0.0, 0.0]]).round(3)
    array([[ 0.667, -0.333]])
    """

    def __init__(self, points: Any, margin: float = 0.25) -> None:
        pts = as_finite(points, "points")
        if pts.ndim < 2 or pts.shape[0] != 3:
            raise ValueError(
                f"points must hold exactly 3 inputs (shape (3, ...)), got {pts.shape}"
            )
        margin = float(as_finite(margin, "margin", ndim=0))
        if margin < 0:
            raise ValueError(f"margin must be >= 0, got {margin}")
        self.input_shape = tuple(int(s) for s in pts.shape[1:])
        flat = pts.reshape(3, -1)
        tol = get_tolerance().collinear_rtol
        spread = max(float(np.abs(flat - flat.mean(axis=0)).max()), np.finfo(float).tiny)
        d1 = flat[1] - flat[0]
        d2 = flat[2] - flat[0]
        n1 = float(np.linalg.norm(d1))
        if n1 <= tol * spread or float(np.linalg.norm(d2)) <= tol * spread or spread <= 0:
            raise ValueError("points must be three distinct inputs; two of them coincide")
        e1 = d1 / n1
        r2 = d2 - np.dot(d2, e1) * e1
        n2 = float(np.linalg.norm(r2))
        if n2 <= tol * max(n1, float(np.linalg.norm(d2))):
            raise ValueError("points are collinear: they do not span a plane")
        e2 = r2 / n2
        self.points = flat
        self.origin = flat.mean(axis=0)
        self.basis = np.stack([e1, e2])  # (2, D)
        self.margin = margin
        self.projected = self.to_plane(flat)  # (3, 2)
        lo = self.projected.min(axis=0)
        hi = self.projected.max(axis=0)
        pad = margin * float((hi - lo).max())
        self.polygon = np.array(
            [
                [lo[0] - pad, lo[1] - pad],
                [hi[0] + pad, lo[1] - pad],
                [hi[0] + pad, hi[1] + pad],
                [lo[0] - pad, hi[1] + pad],
            ]
        )

    def to_plane(self, x: Any) -> np.ndarray:
        """Project inputs ``(N, ...)`` (or one input) onto plane coordinates ``(N, 2)``."""
        arr = as_finite(x, "x")
        d = self.input_dim
        if arr.size == d and arr.shape in (self.input_shape, (d,)):
            arr = arr.reshape(1, d)
        else:
            if arr.size % d or arr.shape[1:] not in (self.input_shape, (d,)):
                raise ValueError(
                    f"x must have shape (N, {', '.join(map(str, self.input_shape))}) or (N, {d}), "
                    f"got {arr.shape}"
                )
            arr = arr.reshape(-1, d)
        return (arr - self.origin) @ self.basis.T

    def lift(self, u: Any) -> np.ndarray:
        """Map plane coordinates ``(N, 2)`` to flat inputs ``(N, D)``."""
        pts = _check_points_2d(u)
        return self.origin + pts @ self.basis

    def to_arrays(self) -> dict[str, Any]:
        return {
            "kind": "plane",
            "points": self.points.reshape((3, *self.input_shape)),
            "margin": np.float64(self.margin),
        }

    def __repr__(self) -> str:
        return f"Plane(points of shape {self.input_shape}, margin={self.margin})"


class Domain1D(Domain):
    """An interval ``[lo, hi]`` of a coordinate ``s`` and its map to network inputs."""

    dim = 1
    lo: float
    hi: float

    @property
    def length(self) -> float:
        """``hi - lo``."""
        return self.hi - self.lo

    def lift(self, s: Any) -> np.ndarray:
        """Map coordinates ``(N,)`` to flat network inputs ``(N, D)``."""
        return as_finite(s, "s").reshape(-1, 1)

    def to_arrays(self) -> dict[str, Any]:
        return {"kind": "interval", "lo": np.float64(self.lo), "hi": np.float64(self.hi)}


class Interval(Domain1D):
    """The interval ``[a, b]`` of a one-dimensional input.

    Examples
    --------
    >>> Interval(-1, 2).length
    3.0
    """

    def __init__(self, a: float = -1.0, b: float = 1.0) -> None:
        lo, hi = (float(v) for v in as_finite([a, b], "Interval bounds"))
        if not lo < hi:
            raise ValueError(f"Interval needs a < b, got a={lo}, b={hi}")
        self.lo, self.hi = lo, hi
        self.input_shape = (1,)

    def __repr__(self) -> str:
        return f"Interval({self.lo!r}, {self.hi!r})"


class Segment(Domain1D):
    """The line through two points ``p`` and ``q`` of ``R^D``.

    The coordinate ``s`` is arc length from ``p`` (so ``q`` is at
    ``s = |q - p|``); the interval reaches ``margin * |q - p|`` beyond both
    points, so both are inside.

    Examples
    --------
    >>> seg = Segment([0.0, 0.0], [3.0, 4.0], margin=0.0)
    >>> seg.lo, seg.hi
    (0.0, 5.0)
    >>> seg.lift([2.5])
    array([[1.5, 2. ]])
    """

    def __init__(self, p: Any, q: Any, margin: float = 0.25) -> None:
        a = as_finite(p, "p")
        b = as_finite(q, "q")
        if a.shape != b.shape:
            raise ValueError(f"p and q must have the same shape, got {a.shape} and {b.shape}")
        margin = float(as_finite(margin, "margin", ndim=0))
        if margin < 0:
            raise ValueError(f"margin must be >= 0, got {margin}")
        self.input_shape = tuple(int(s) for s in a.shape) or (1,)
        self.p = a.reshape(-1)
        self.q = b.reshape(-1)
        d = self.q - self.p
        length = float(np.linalg.norm(d))
        scale = max(float(np.abs(self.p).max()), float(np.abs(self.q).max()))
        if length <= get_tolerance().collinear_rtol * scale or length == 0.0:
            raise ValueError("p and q coincide: a segment needs two distinct points")
        self.direction = d / length
        self.margin = margin
        self.lo = -margin * length
        self.hi = (1.0 + margin) * length

    def to_line(self, x: Any) -> np.ndarray:
        """Coordinates ``(N,)`` of the projections of inputs ``(N, ...)`` onto the line."""
        arr = as_finite(x, "x").reshape(-1, self.input_dim)
        return (arr - self.p) @ self.direction

    def lift(self, s: Any) -> np.ndarray:
        return self.p + as_finite(s, "s").reshape(-1, 1) * self.direction

    def to_arrays(self) -> dict[str, Any]:
        return {
            "kind": "segment",
            "p": self.p.reshape(self.input_shape),
            "q": self.q.reshape(self.input_shape),
            "margin": np.float64(self.margin),
        }

    def __repr__(self) -> str:
        return f"Segment(p, q of shape {self.input_shape}, margin={self.margin})"


class SliceOf(Domain1D):
    """The straight segment from ``p`` to ``q`` (domain coordinates) of a 2-D domain.

    The coordinate is arc length from ``p``; network inputs are those of the
    parent domain at ``p + s * (q - p) / |q - p|``.
    """

    def __init__(self, parent: Domain2D, p: Any, q: Any) -> None:
        a = _check_points_2d(p, "p")[0]
        b = _check_points_2d(q, "q")[0]
        if not parent.contains(np.stack([a, b])).all():
            raise ValueError("p and q must both lie in the domain")
        length = float(np.hypot(*(b - a)))
        if length <= get_tolerance().point_rtol * parent.diameter:
            raise ValueError("p and q coincide: a slice needs two distinct points")
        self.parent = parent
        self.p, self.q = a, b
        self.direction = (b - a) / length
        self.lo, self.hi = 0.0, length
        self.input_shape = parent.input_shape

    def to_domain(self, s: Any) -> np.ndarray:
        """Domain coordinates ``(N, 2)`` of slice coordinates ``(N,)``."""
        return self.p + as_finite(s, "s").reshape(-1, 1) * self.direction

    def lift(self, s: Any) -> np.ndarray:
        return self.parent.lift(self.to_domain(s))

    def to_arrays(self) -> dict[str, Any]:
        out = {f"parent_{k}": v for k, v in self.parent.to_arrays().items()}
        out.update(kind="slice", p=self.p, q=self.q)
        return out


def domain_from_arrays(d: dict[str, Any]) -> Domain:
    """Rebuild a domain from what ``to_arrays`` returned (used by :func:`regionscope.load`)."""
    kind = str(d["kind"])
    if kind == "box":
        return Box(*(float(v) for v in np.asarray(d["bounds"]).reshape(-1)))
    if kind == "polygon":
        return Polygon(d["polygon"])
    if kind == "plane":
        return Plane(d["points"], margin=float(d["margin"]))
    if kind == "interval":
        return Interval(float(d["lo"]), float(d["hi"]))
    if kind == "segment":
        return Segment(d["p"], d["q"], margin=float(d["margin"]))
    if kind == "slice":
        parent = domain_from_arrays(
            {k[len("parent_") :]: v for k, v in d.items() if k.startswith("parent_")}
        )
        if not isinstance(parent, Domain2D):
            raise ValueError("a saved slice must have a 2-D parent domain")
        return SliceOf(parent, d["p"], d["q"])
    raise ValueError(f"unknown domain kind {kind!r} in saved file")


def coerce_domain(domain: Any) -> Domain:
    """Accept a :class:`Domain`, or a number ``h`` meaning ``Box(h)``."""
    if isinstance(domain, Domain):
        return domain
    if isinstance(domain, (int, float)) and not isinstance(domain, bool):
        return Box(float(domain))
    raise TypeError(
        f"domain must be a regionscope domain (Box, Polygon, Plane, Interval, Segment) "
        f"or a number, got {type(domain).__name__}"
    )
