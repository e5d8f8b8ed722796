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
from collections.abc import Mapping
from typing import Any

import numpy as np

from .checks import as_finite, as_number
from .geometry.arrays import read_only
from .geometry.polygon import (
    box_overlap,
    check_box,
    clean_convex_polygon,
    clip_polygon_to_box,
    signed_area,
)
from .tolerances import get_tolerance

__all__ = [
    "Domain",
    "Domain2D",
    "Box",
    "Polygon",
    "Plane",
    "Domain1D",
    "Interval",
    "Segment",
    "clip_polygon_to_box",
]


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

    def __repr__(self) -> str:
        return f"<{type(self).__name__}: {self.dim}-D domain, inputs of shape {self.input_shape}>"


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
        return float(signed_area(self.polygon))

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

    def subdomain(self, u0: float, u1: float, v0: float, v1: float) -> Domain2D | None:
        """The part of this domain inside the box ``[u0, u1] x [v0, v1]``, or ``None``.

        A tile of the domain: the same kind of domain, with the same
        coordinates and the same map to network inputs (see
        :meth:`Box.subdomain`, :meth:`Polygon.subdomain`, :meth:`Plane.subdomain`).
        """
        raise TypeError(f"{type(self).__name__} has no tiles (subdomain)")


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
        self.polygon = clean_convex_polygon(points, "points")
        self.input_shape = (2,)

    def subdomain(self, u0: float, u1: float, v0: float, v1: float) -> Polygon | None:
        """The polygon cut to the box ``[u0, u1] x [v0, v1]`` (``None`` if nothing is left).

        >>> Polygon([[0, 0], [4, 0], [0, 4]]).subdomain(0, 2, 0, 2).area
        4.0
        """
        corners = clip_polygon_to_box(self.polygon, (u0, u1, v0, v1))
        return None if corners is None else Polygon(corners)

    def __repr__(self) -> str:
        return f"Polygon({self.polygon.tolist()})"


class Box(Polygon):
    """An axis-aligned rectangle.

    ``Box(h)`` is the square ``[-h, h]^2`` and ``Box(xmin, xmax, ymin, ymax)``
    any rectangle.

    Parameters
    ----------
    *bounds : float
        Either one positive half width ``h`` or ``xmin, xmax, ymin, ymax``
        (real numbers: strings, booleans and complex numbers are refused with
        ``TypeError``).  No argument means ``Box(1.0)``.
    half_width : float, optional
        The half width, given by name instead of ``*bounds``.

    Attributes
    ----------
    polygon : ndarray, shape (4, 2), float64
        The corners, counter-clockwise from ``(xmin, ymin)``.

    Examples
    --------
    >>> Box(1.0).bounds
    (-1.0, 1.0, -1.0, 1.0)
    >>> Box(0, 2, 0, 1).area
    2.0
    >>> Box(1e8 - 1, 1e8 + 1, 1e8 - 1, 1e8 + 1).area   # far from the origin
    4.0
    >>> Box("1.0")
    Traceback (most recent call last):
    ...
    TypeError: Box half_width must be a number, got str
    """

    def __init__(self, *bounds: float, half_width: float | None = None) -> None:
        if half_width is not None:
            if bounds:
                raise ValueError("give either half_width or bounds to Box, not both")
            bounds = (half_width,)
        if not bounds:
            bounds = (1.0,)
        if len(bounds) == 1:
            h = as_number(bounds[0], "Box half_width")
            if h <= 0:
                raise ValueError(f"Box half_width must be positive, got {h}")
            xmin, xmax, ymin, ymax = -h, h, -h, h
        elif len(bounds) == 4:
            names = ("xmin", "xmax", "ymin", "ymax")
            xmin, xmax, ymin, ymax = (
                as_number(v, f"Box {n}") for v, n in zip(bounds, names, strict=True)
            )
        else:
            raise ValueError(
                f"Box takes a half width or (xmin, xmax, ymin, ymax), got {len(bounds)} numbers"
            )
        if not (xmin < xmax and ymin < ymax):
            raise ValueError(
                f"Box needs xmin < xmax and ymin < ymax, got ({xmin}, {xmax}, {ymin}, {ymax})"
            )
        self.polygon = read_only(
            np.array([[xmin, ymin], [xmax, ymin], [xmax, ymax], [xmin, ymax]])
        )
        self.input_shape = (2,)
        self._bounds = (xmin, xmax, ymin, ymax)

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """``(xmin, xmax, ymin, ymax)``, as given (no reduction over the corners)."""
        return self._bounds

    def to_arrays(self) -> dict[str, Any]:
        """Arrays that rebuild this box with :func:`domain_from_arrays`."""
        return {"kind": "box", "bounds": np.array(self.bounds)}

    def subdomain(self, u0: float, u1: float, v0: float, v1: float) -> Box | None:
        """The sub-box inside ``[u0, u1] x [v0, v1]`` (``None`` if it has no area).

        >>> Box(1.0).subdomain(0.0, 2.0, -1.0, 0.0).bounds
        (0.0, 1.0, -1.0, 0.0)
        """
        part = box_overlap(self.bounds, check_box((u0, u1, v0, v1), "box"))
        return None if part is None else Box(*part)

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
    window : tuple, optional
        A window of the plane instead of the box around the points, in plane
        coordinates: ``(center, half_width)`` (``center`` two numbers,
        ``half_width`` one positive number or two) or ``(u0, u1, v0, v1)``.
        The plane coordinates (origin and basis) are those of the plane
        without a window, so windows of one plane fit together (``margin``
        is then unused).

    Attributes
    ----------
    points : ndarray, shape (3, D), float64
        The three points, flattened.
    origin : ndarray, shape (D,), float64
        The mean of the points: plane coordinates ``(0, 0)``.
    basis : ndarray, shape (2, D), float64
        The orthonormal axes of the plane (rows), orthonormal to rounding.
    projected : ndarray, shape (3, 2), float64
        The points in plane coordinates.
    window : tuple of 4 floats or None
        ``(u0, u1, v0, v1)`` of the window, if one was given.

    Raises
    ------
    ValueError
        When two points coincide or the three are collinear: when the
        triangle they span is at most ``collinear_rtol`` (see
        :func:`regionscope.tolerances.get_tolerance`) times its longest side
        high, or a side is at most that fraction of the longest one.

    Notes
    -----
    In-plane coordinates are orthonormal: the origin is the mean of the three
    points, the first axis points from ``points[0]`` to ``points[1]``, the
    second towards ``points[2]``.  The second axis is made orthogonal to the
    first by two Gram-Schmidt passes ("twice is enough"), so ``basis @ basis.T``
    is the identity to rounding even for nearly collinear points.

    Examples
    --------
    >>> import numpy as np
    >>> plane = Plane(np.array([[0., 0, 0], [1, 0, 0], [0, 1, 0]]), margin=0.0)
    >>> plane.to_plane([[1.0, 0.0, 0.0]]).round(3)
    array([[ 0.667, -0.333]])
    >>> Plane([[0., 0], [1, 0], [2, 1e-12]])
    Traceback (most recent call last):
    ...
    ValueError: points are collinear: ... at most collinear_rtol=1e-09 times its longest side ...
    >>> Plane(np.eye(3), window=((0.0, 0.0), 0.5)).bounds      # same coordinates, a window
    (-0.5, 0.5, -0.5, 0.5)
    >>> Plane(np.eye(3), window=(0, 1, -1, 0)).area
    1.0
    """

    def __init__(self, points: Any, margin: float = 0.25, window: Any = None) -> None:
        pts = as_finite(points, "points")
        if pts.ndim < 2 or pts.shape[0] != 3:
            raise ValueError(
                f"points must hold exactly 3 inputs (shape (3, ...)), got {pts.shape}"
            )
        margin = as_number(margin, "margin")
        if margin < 0:
            raise ValueError(f"margin must be >= 0, got {margin}")
        self.input_shape = tuple(int(s) for s in pts.shape[1:])
        flat = pts.reshape(3, -1)
        rtol = get_tolerance().collinear_rtol
        d1 = flat[1] - flat[0]
        d2 = flat[2] - flat[0]
        sides = {
            (0, 1): float(np.linalg.norm(d1)),
            (0, 2): float(np.linalg.norm(d2)),
            (1, 2): float(np.linalg.norm(flat[2] - flat[1])),
        }
        longest = max(sides.values())
        if longest == 0.0:
            raise ValueError("points must be three distinct inputs; all three coincide")
        (i, j), shortest = min(sides.items(), key=lambda kv: kv[1])
        if shortest <= rtol * longest:
            raise ValueError(
                f"points must be three distinct inputs; points[{i}] and points[{j}] coincide: "
                f"they are {shortest:.6g} apart, at most collinear_rtol={rtol:g} times the "
                f"largest distance {longest:.6g} between the points"
            )
        n1 = sides[(0, 1)]
        e1 = d1 / n1
        r2 = d2 - np.dot(d2, e1) * e1
        r2 = r2 - np.dot(r2, e1) * e1  # second pass: orthogonal to rounding
        n2 = float(np.linalg.norm(r2))  # distance of points[2] from the line 0-1
        height = n1 * n2 / longest  # the triangle's smallest height
        if height <= rtol * longest:
            raise ValueError(
                f"points are collinear: the triangle they span is {height:.6g} high, at most "
                f"collinear_rtol={rtol:g} times its longest side {longest:.6g}; "
                "they do not span a plane"
            )
        e2 = r2 / n2
        self.points = flat
        self.origin = flat.mean(axis=0)
        self.basis = np.stack([e1, e2])  # (2, D)
        self.margin = margin
        self.projected = self.to_plane(flat)  # (3, 2)
        self.window = None if window is None else _plane_window(window)
        if self.window is None:
            lo = self.projected.min(axis=0)
            hi = self.projected.max(axis=0)
            pad = margin * float((hi - lo).max())
            u0, u1, v0, v1 = lo[0] - pad, hi[0] + pad, lo[1] - pad, hi[1] + pad
        else:
            u0, u1, v0, v1 = self.window
        self.polygon = np.array([[u0, v0], [u1, v0], [u1, v1], [u0, v1]], dtype=np.float64)

    def subdomain(self, u0: float, u1: float, v0: float, v1: float) -> Plane | None:
        """The window of this plane inside ``[u0, u1] x [v0, v1]`` (``None`` if empty).

        The result is a :class:`Plane` through the same points with a window:
        its plane coordinates are this plane's.

        >>> import numpy as np
        >>> plane = Plane(np.eye(3), window=(-1, 1, -1, 1))
        >>> tile = plane.subdomain(0, 2, 0, 2)
        >>> tile.window, bool((tile.basis == plane.basis).all())
        ((0.0, 1.0, 0.0, 1.0), True)
        """
        part = box_overlap(self.bounds, check_box((u0, u1, v0, v1), "box"))
        if part is None:
            return None
        points = self.points.reshape((3, *self.input_shape))
        return Plane(points, margin=self.margin, window=part)

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
        out = {
            "kind": "plane",
            "points": self.points.reshape((3, *self.input_shape)),
            "margin": np.float64(self.margin),
        }
        if self.window is not None:
            out["window"] = np.array(self.window, dtype=np.float64)
        return out

    def __repr__(self) -> str:
        window = "" if self.window is None else f", window={tuple(self.window)}"
        return f"Plane(points of shape {self.input_shape}, margin={self.margin}{window})"


def _plane_window(window: Any) -> tuple[float, float, float, float]:
    """A plane's ``window`` as ``(u0, u1, v0, v1)``: from ``(center, half_width)`` or a box.

    >>> _plane_window(((1.0, 2.0), 0.5)), _plane_window(((0, 0), (2, 1)))
    ((0.5, 1.5, 1.5, 2.5), (-2.0, 2.0, -1.0, 1.0))
    """
    if isinstance(window, (str, bytes)) or not hasattr(window, "__len__"):
        kind = type(window).__name__
        raise TypeError(f"window must be (center, half_width) or (u0, u1, v0, v1), got {kind}")
    if len(window) == 4:
        return check_box(window, "window")
    if len(window) != 2:
        raise ValueError(
            f"window must be (center, half_width) or (u0, u1, v0, v1), got {len(window)} entries"
        )
    center = as_finite(window[0], "window center")
    half = as_finite(window[1], "window half_width")
    if center.shape != (2,):
        raise ValueError(f"window center must be 2 numbers (u, v), got shape {center.shape}")
    if half.shape not in ((), (2,)):
        raise ValueError(f"window half_width must be 1 or 2 numbers, got shape {half.shape}")
    hu, hv = np.broadcast_to(half, (2,)).tolist()
    if not (hu > 0 and hv > 0):
        raise ValueError(f"window half_width must be positive, got {half.tolist()}")
    cu, cv = center.tolist()
    return check_box((cu - hu, cu + hu, cv - hv, cv + hv), "window")


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
        lo, hi = as_number(a, "Interval a"), as_number(b, "Interval b")
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
        rows = _float_rows(p, q)  # None: not two float64 arrays of one shape
        if rows is None:
            a, p_scale = _point(p, "p")
            b, q_scale = _point(q, "q")
            if a.shape != b.shape:
                raise ValueError(f"p and q must have the same shape, got {a.shape} and {b.shape}")
            shape: tuple[int, ...] = a.shape
        else:
            a, b = rows[0], rows[1]
            shape = p.shape
        if type(margin) is not float or not math.isfinite(margin):
            margin = as_number(margin, "margin")
        if margin < 0:
            raise ValueError(f"margin must be >= 0, got {margin}")
        if a.size == 0:
            raise ValueError("p and q must have at least one coordinate, got empty arrays")
        self.input_shape = shape or (1,)
        self.p = a if a.ndim == 1 else a.reshape(-1)
        self.q = b if b.ndim == 1 else b.reshape(-1)
        d = self.q - self.p
        length = math.sqrt(float(d.dot(d)))  # np.linalg.norm's own formula for a vector
        rtol = get_tolerance().collinear_rtol
        if rows is None:
            scale = max(p_scale, q_scale)
        else:  # |p_i| and |q_i| are at most |p| + |q - p|: only a near tie needs the largest
            bound = math.sqrt(float(self.p.dot(self.p))) + length
            if not math.isfinite(bound):  # a coordinate not finite (named), or squares past
                scale = max(_point(p, "p")[1], _point(q, "q")[1])  # the float64 range
            else:
                scale = 0.0 if length > rtol * 2.0 * bound else _largest(rows)
        if length <= rtol * scale or length == 0.0:
            raise ValueError(
                f"p and q coincide: they are {length:.6g} apart, at most collinear_rtol={rtol:g} "
                f"times their largest coordinate {scale:.6g}; a segment needs two distinct points"
            )
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

    def __repr__(self) -> str:
        return f"SliceOf({self.parent!r}, p={self.p.tolist()}, q={self.q.tolist()})"


def _float_rows(p: Any, q: Any) -> np.ndarray | None:
    """Two non-empty float64 arrays of one shape as the rows of one ``(2, size)`` copy;
    ``None`` for anything else (:func:`_point` then checks each)."""
    if not (
        type(p) is type(q) is np.ndarray
        and p.dtype == q.dtype == np.float64
        and p.shape == q.shape
        and p.size
    ):
        return None
    rows = np.array((p, q))
    return rows if rows.ndim == 2 else rows.reshape(2, -1)


def _largest(x: np.ndarray) -> float:
    """The largest ``|coordinate|`` of ``x`` (0 for an empty array)."""
    return float(np.maximum.reduce(np.abs(x), axis=None, initial=0.0))


def _point(x: Any, name: str) -> tuple[np.ndarray, float]:
    """``x`` as a float64 array (a copy) checked by :func:`as_finite`, and its largest
    ``|coordinate|`` (0 for an empty array).

    >>> _point([[3.0, -4.0]], "p")
    (array([[ 3., -4.]]), 4.0)
    """
    arr = as_finite(x, name)
    return arr, _largest(arr)


def _saved(d: Mapping[str, Any], key: str, ndim: int | None = None) -> np.ndarray:
    """The real finite array ``d[key]`` of a saved domain (with ``ndim`` dimensions if given)."""
    if key not in d:
        raise ValueError(f"the saved domain has no {key!r}")
    return as_finite(d[key], f"the saved domain's {key!r}", ndim=ndim)


def domain_from_arrays(d: Mapping[str, Any]) -> Domain:
    """Rebuild a domain from what ``to_arrays`` returned (used by :func:`regionscope.load`).

    Parameters
    ----------
    d : mapping of str to array_like
        ``{"kind": str, ...}`` as returned by a domain's ``to_arrays``: for
        ``"box"`` the ``(4,)`` bounds, for ``"polygon"`` the ``(K, 2)``
        corners, for ``"plane"`` the ``(3, ...)`` points and the margin...

    Returns
    -------
    Domain
        A domain of the same type with the same geometry, bit for bit.

    Raises
    ------
    ValueError
        For an unknown kind, a missing entry or an entry of the wrong type,
        shape or value (never ``KeyError`` or ``TypeError``: the arrays come
        from a file).

    Examples
    --------
    >>> domain_from_arrays(Box(0, 2, 0, 1).to_arrays())
    Box(0.0, 2.0, 0.0, 1.0)
    >>> domain_from_arrays({"kind": "box"})
    Traceback (most recent call last):
    ...
    ValueError: the saved domain has no 'bounds'
    """
    try:
        return _domain_from_arrays(d)
    except TypeError as exc:
        raise ValueError(f"the saved domain is malformed: {exc}") from None


def _domain_from_arrays(d: Mapping[str, Any]) -> Domain:
    if "kind" not in d:
        raise ValueError("the saved domain has no 'kind'")
    kind_arr = np.asarray(d["kind"])
    if kind_arr.dtype.kind != "U" or kind_arr.ndim != 0:
        raise ValueError(f"the saved domain's kind must be a string, got {kind_arr.dtype}")
    kind = str(kind_arr)
    if kind == "box":
        bounds = _saved(d, "bounds", 1)
        if bounds.shape != (4,):
            raise ValueError(f"the saved box bounds must have shape (4,), got {bounds.shape}")
        return Box(*(float(v) for v in bounds))
    if kind == "polygon":
        return Polygon(_saved(d, "polygon", 2))
    if kind == "plane":
        window = _saved(d, "window", 1) if "window" in d else None
        return Plane(_saved(d, "points"), margin=_margin(d), window=window)
    if kind == "interval":
        return Interval(float(_saved(d, "lo", 0)), float(_saved(d, "hi", 0)))
    if kind == "segment":
        return Segment(_saved(d, "p"), _saved(d, "q"), margin=_margin(d))
    if kind == "slice":
        parent = _domain_from_arrays(
            {k[len("parent_") :]: v for k, v in d.items() if k.startswith("parent_")}
        )
        if not isinstance(parent, Domain2D):
            raise ValueError("a saved slice must have a 2-D parent domain")
        return SliceOf(parent, _saved(d, "p", 1), _saved(d, "q", 1))
    raise ValueError(f"unknown domain kind {kind!r} in saved file")


def _margin(d: Mapping[str, Any]) -> float:
    return float(_saved(d, "margin", 0))


def coerce_domain(domain: Any) -> Domain:
    """Accept a :class:`Domain`, or a number ``h`` meaning ``Box(h)``.

    >>> coerce_domain(2)
    Box(2.0)
    """
    if isinstance(domain, Domain):
        return domain
    if isinstance(domain, (int, float, np.integer, np.floating)) and not isinstance(
        domain, (bool, np.bool_)
    ):
        return Box(domain)
    raise TypeError(
        f"domain must be a regionscope domain (Box, Polygon, Plane, Interval, Segment) "
        f"or a number, got {type(domain).__name__}"
    )
