"""Domains: geometry, projections and their errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import regionscope as rs
from regionscope.domains import SliceOf


def test_box_forms():
    assert rs.Box().bounds == (-1.0, 1.0, -1.0, 1.0)
    assert rs.Box(half_width=2).area == 16.0
    assert rs.Box(0, 3, 1, 2).area == 3.0
    with pytest.raises(ValueError, match="xmin < xmax"):
        rs.Box(1, 0, 0, 1)
    with pytest.raises(ValueError, match="positive"):
        rs.Box(-1.0)
    with pytest.raises(ValueError, match="finite"):
        rs.Box(np.nan)


def test_polygon_cleaning_and_errors():
    # clockwise input, a repeated corner and a corner on a side are fixed
    poly = rs.Polygon([[0, 0], [0, 2], [0, 2], [2, 2], [2, 1], [2, 0]])
    assert len(poly.polygon) == 4 and poly.area == 4.0
    with pytest.raises(ValueError, match="convex"):
        rs.Polygon([[0, 0], [2, 0], [1, 0.2], [1, 2]])
    with pytest.raises(ValueError, match="collinear|empty"):
        rs.Polygon([[0, 0], [1, 1], [2, 2]])
    with pytest.raises(ValueError, match="empty"):
        rs.Polygon([[1, 1], [1, 1], [1, 1]])
    with pytest.raises(ValueError, match="at least 3"):
        rs.Polygon([[0, 0], [1, 1]])
    with pytest.raises(ValueError, match="shape"):
        rs.Polygon([[0, 0, 0], [1, 1, 1], [0, 1, 0]])
    with pytest.raises(ValueError, match="finite"):
        rs.Polygon([[0, 0], [np.inf, 0], [0, 1]])


@settings(max_examples=50, deadline=None)
@given(st.integers(1, 50), st.integers(0, 10_000), st.floats(0.0, 1.0))
def test_plane_round_trip(dim, seed, margin):
    dim += 2
    rng = np.random.default_rng(seed)
    pts = rng.normal(size=(3, dim))
    plane = rs.Plane(pts, margin=margin)
    u = plane.to_plane(pts)
    np.testing.assert_allclose(plane.lift(u), pts, atol=1e-9)
    assert plane.contains(u).all()
    # coordinates are orthonormal
    np.testing.assert_allclose(plane.basis @ plane.basis.T, np.eye(2), atol=1e-12)
    # distances are kept
    np.testing.assert_allclose(
        np.linalg.norm(u[0] - u[1]), np.linalg.norm(pts[0] - pts[1]), rtol=1e-9
    )


def test_plane_images_and_errors():
    imgs = np.arange(3 * 2 * 3 * 3, dtype=float).reshape(3, 2, 3, 3) ** 1.5
    plane = rs.Plane(imgs)
    assert plane.input_shape == (2, 3, 3) and plane.input_dim == 18
    np.testing.assert_allclose(plane.to_plane(imgs[1]), plane.projected[[1]])
    with pytest.raises(ValueError, match="collinear"):
        rs.Plane([[0, 0, 0], [1, 1, 1], [2, 2, 2]])
    with pytest.raises(ValueError, match="coincide"):
        rs.Plane([[0, 0, 0], [0, 0, 0], [1, 2, 3]])
    with pytest.raises(ValueError, match="exactly 3"):
        rs.Plane(np.ones((4, 3)))
    with pytest.raises(ValueError, match="finite"):
        rs.Plane([[0, 0, np.nan], [1, 0, 0], [0, 1, 0]])
    with pytest.raises(ValueError, match="shape"):
        plane.to_plane(np.ones((2, 5)))


def test_one_dimensional_domains():
    seg = rs.Segment([0, 0, 0], [0, 3, 4], margin=0.25)
    assert (seg.lo, seg.hi) == (-1.25, 6.25)
    np.testing.assert_allclose(seg.to_line([[0, 3, 4]]), [5.0])
    with pytest.raises(ValueError, match="coincide"):
        rs.Segment([1, 1], [1, 1])
    with pytest.raises(ValueError, match="a < b"):
        rs.Interval(1, 1)
    sl = SliceOf(rs.Box(1.0), [-1, 0], [1, 0])
    np.testing.assert_allclose(sl.lift([1.0]), [[0.0, 0.0]])
    with pytest.raises(ValueError, match="lie in the domain"):
        SliceOf(rs.Box(1.0), [-2, 0], [1, 0])


# --- regressions -------------------------------------------------------------------------------

OFFSETS = [0.0, 1e3, 1e6, 1e8, 1e12]
SQUARE = np.array([[-1.0, -1.0], [1.0, -1.0], [1.0, 1.0], [-1.0, 1.0]])


@pytest.mark.parametrize("c", OFFSETS)
def test_domains_far_from_origin(c):
    assert rs.Box(c - 1, c + 1, c - 1, c + 1).area == 4.0
    box = rs.Box(c - 1, c + 3, c - 2, c + 1)
    assert box.area == 12.0 and box.bounds == (c - 1, c + 3, c - 2, c + 1)
    for square in (SQUARE + c, (SQUARE + c)[::-1]):
        poly = rs.Polygon(square)
        assert poly.area == 4.0
        assert len(poly.polygon) == 4
        # corners on a side and repeated corners are still dropped far away
    noisy = np.array([[-1, -1], [0, -1], [1, -1], [1, 1], [1, 1], [-1, 1]], dtype=float) + c
    assert len(rs.Polygon(noisy).polygon) == 4 and rs.Polygon(noisy).area == 4.0
    with pytest.raises(ValueError, match="convex"):
        rs.Polygon(np.array([[0, 0], [2, 0], [1, 0.25], [1, 2]]) + c)
    with pytest.raises(ValueError, match="collinear"):
        rs.Polygon(np.array([[0, 0], [1, 1], [2, 2]]) + c)
    # containment is decided relative to the polygon too
    inside = np.array([[c, c], [c + 0.999, c - 0.999]])
    assert rs.Polygon(SQUARE + c).contains(inside).all()
    assert not rs.Polygon(SQUARE + c).contains([[c + 1.5, c]]).any()


def _hull(points: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Convex hull (counter-clockwise, no collinear corners) of integer points, exactly."""
    pts = sorted(set(points))

    def half(seq):
        out: list[tuple[int, int]] = []
        for p in seq:
            while len(out) >= 2:
                (ax, ay), (bx, by) = out[-2], out[-1]
                if (bx - ax) * (p[1] - ay) - (by - ay) * (p[0] - ax) > 0:
                    break
                out.pop()
            out.append(p)
        return out

    lower, upper = half(pts), half(pts[::-1])
    return lower[:-1] + upper[:-1]


def _twice_area(corners: list[tuple[int, int]]) -> int:
    n = len(corners)
    return sum(
        corners[i][0] * corners[(i + 1) % n][1] - corners[(i + 1) % n][0] * corners[i][1]
        for i in range(n)
    )


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.tuples(st.integers(-60, 60), st.integers(-60, 60)), min_size=3, max_size=25),
    st.sampled_from(OFFSETS + [-1e12, 3.0e9]),
    st.sampled_from(OFFSETS + [-1e8, 7.0e5]),
    st.booleans(),
    st.integers(0, 30),
)
def test_domains_far_from_origin_hypothesis(points, ox, oy, reverse, start):
    hull = _hull(points)
    twice = _twice_area(hull) if len(hull) >= 3 else 0
    if twice == 0:
        with pytest.raises(ValueError, match="collinear|empty"):
            rs.Polygon(np.array(points, dtype=float) + [ox, oy])
        return
    corners = np.array(hull, dtype=float)
    corners = np.roll(corners, start % len(corners), axis=0)
    if reverse:
        corners = corners[::-1]
    # integer coordinates plus these offsets are exact in float64
    poly = rs.Polygon(corners + [ox, oy])
    assert poly.area == twice / 2
    assert len(poly.polygon) == len(hull)
    at_origin = rs.Polygon(corners)
    np.testing.assert_array_equal(poly.polygon - [ox, oy], at_origin.polygon)
    # the cleaned polygon is its own cleaning (so files round-trip exactly)
    np.testing.assert_array_equal(rs.Polygon(poly.polygon).polygon, poly.polygon)


def _regular(n: int, radius: float = 1.0) -> np.ndarray:
    ang = 2 * np.pi * np.arange(n) / n
    return radius * np.c_[np.cos(ang), np.sin(ang)]


@pytest.mark.parametrize("c", [0.0, 1e6])
@pytest.mark.parametrize("reverse", [False, True])
def test_self_intersecting_polygons_refused(c, reverse):
    pentagon = _regular(5) + c
    star = pentagon[[0, 2, 4, 1, 3]]
    twice = np.concatenate([pentagon, pentagon])
    heptagram = (_regular(7) + c)[[0, 3, 6, 2, 5, 1, 4]]
    bowtie = np.array([[0, 0], [2, 2], [2, 0], [0, 2]], dtype=float) + c
    for pts, message in (
        (star, "self-intersects"),
        (twice, "self-intersects"),
        (heptagram, "self-intersects"),
        (bowtie, "turns left"),
    ):
        if reverse:
            pts = pts[::-1]
        with pytest.raises(ValueError, match=f"not convex.*{message}"):
            rs.Polygon(pts)
    # a polygon doubling back on a side is refused, not silently simplified
    with pytest.raises(ValueError, match="not convex.*doubles back"):
        rs.Polygon([[0, 0], [2, 0], [1, 0], [1, 1]])
    # the convex pentagon itself is fine, in either direction
    for pts in (pentagon, pentagon[::-1]):
        assert rs.Polygon(pts).area == pytest.approx(2.5 * np.sin(2 * np.pi / 5))


@pytest.mark.parametrize(
    "make",
    [
        lambda: rs.Box("1.0"),
        lambda: rs.Box(0, "2", 0, 1),
        lambda: rs.Box(1 + 0j),
        lambda: rs.Box(True),
        lambda: rs.Box(half_width="2"),
        lambda: rs.Polygon([[0, 0], [1j, 0], [0, 1]]),
        lambda: rs.Polygon([["0", "0"], ["1", "0"], ["0", "1"]]),
        lambda: rs.Plane(np.eye(3) + 0j),
        lambda: rs.Plane(np.eye(3), margin="0.1"),
        lambda: rs.Interval("0", 1),
        lambda: rs.Interval(0, 1j),
        lambda: rs.Segment([0, 0], [1j, 1]),
        lambda: rs.Segment([0, 0], [1, 1], margin="0"),
        lambda: rs.Box(1.0).contains([["0", "0"]]),
        lambda: rs.Box(1.0).lift([[0j, 0]]),
    ],
)
def test_silent_coercions_refused(make):
    with pytest.raises(TypeError, match="number|real"):
        make()


def test_silent_coercions_single_checks_module():
    import regionscope.checks
    import regionscope.domains

    # domains uses the shared checks, not a copy of its own
    assert regionscope.domains.as_finite is regionscope.checks.as_finite
    with pytest.raises(TypeError, match=r"Box xmax must be a number, got str"):
        rs.Box(0, "2", 0, 1)
    # numpy scalars are numbers
    assert rs.Box(np.float32(2.0)).area == 16.0
    assert rs.Box(np.int64(0), np.float64(1), 0, 1).area == 1.0
    with pytest.raises(ValueError, match="finite"):
        rs.Box(0, np.inf, 0, 1)
    with pytest.raises(ValueError, match="1 numbers|2 numbers"):
        rs.Box(0, 1)


def _plane_points(angle: float, dim: int, seed: int, offset: float) -> np.ndarray:
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.normal(size=(dim, 2)))
    u, v = q[:, 0], q[:, 1]
    base = offset * rng.normal(size=dim)
    return np.stack([base, base + u, base + 1.5 * (np.cos(angle) * u + np.sin(angle) * v)])


@pytest.mark.parametrize("dim", [3, 17, 784])
@pytest.mark.parametrize("offset", [0.0, 1e3])
@pytest.mark.parametrize("angle", [1.0, 1e-2, 1e-4, 1e-6, 1e-7, 1e-8, 4e-9])
def test_plane_nearly_collinear_orthonormal(dim, offset, angle):
    pts = _plane_points(angle, dim, seed=dim, offset=offset)
    plane = rs.Plane(pts)
    e1, e2 = plane.basis
    assert abs(float(e1 @ e2)) < 1e-15
    assert abs(float(np.linalg.norm(e1)) - 1.0) < 1e-15
    assert abs(float(np.linalg.norm(e2)) - 1.0) < 1e-15
    # the first axis points from points[0] to points[1], the second towards points[2]
    assert float(e1 @ (pts[1] - pts[0])) > 0 and plane.projected[2, 1] > plane.projected[0, 1]
    # the points are recovered to rounding of their size
    np.testing.assert_allclose(plane.lift(plane.projected), pts, rtol=0, atol=1e-12 * (1 + offset))


@pytest.mark.parametrize("angle", [1e-9, 1e-10, 0.0])
def test_plane_nearly_collinear_refused_with_threshold(angle):
    # height of the triangle = sin(angle) * 1.5 / 1.5: refused at or below 1e-9 * 1.5
    with pytest.raises(ValueError, match=r"collinear.*collinear_rtol=1e-09"):
        rs.Plane(_plane_points(angle, 5, seed=0, offset=0.0))


def test_plane_nearly_collinear_threshold_follows_tolerance():
    pts = _plane_points(1e-6, 5, seed=1, offset=0.0)
    assert rs.Plane(pts).basis.shape == (2, 5)
    with rs.tolerance(collinear_rtol=1e-5):
        with pytest.raises(ValueError, match=r"collinear_rtol=1e-05"):
            rs.Plane(pts)
    with pytest.raises(ValueError, match=r"points\[0\] and points\[1\] coincide.*1e-09"):
        rs.Plane([[0.0, 0, 0], [1e-12, 0, 0], [1, 2, 3]])
    # the decision does not depend on the order of the points
    for perm in ([0, 1, 2], [2, 0, 1], [1, 2, 0], [2, 1, 0]):
        with pytest.raises(ValueError, match="collinear"):
            rs.Plane(_plane_points(1e-10, 5, seed=2, offset=0.0)[perm])
        assert rs.Plane(_plane_points(1e-7, 5, seed=2, offset=0.0)[perm]).area > 0


@pytest.mark.parametrize(
    "domain",
    [
        rs.Box(1.0),
        rs.Box(1e8 - 1, 1e8 + 1, -3.5, 0.25),
        rs.Polygon([[0, 0], [2, 0], [2.5, 1], [0, 1.5]]),
        rs.Polygon(SQUARE[::-1] + 1e12),
        rs.Plane(np.arange(3 * 2 * 2 * 2, dtype=float).reshape(3, 2, 2, 2) ** 1.3, margin=0.1),
        rs.Plane(_plane_points(1e-7, 9, seed=3, offset=10.0)),
        rs.Plane(np.eye(4).reshape(4, 2, 2)[:3], window=((0.1, -0.2), 0.3)),
        rs.Plane(_plane_points(1e-3, 6, seed=4, offset=1.0), window=(-1.0, 2.0, 0.5, 0.75)),
        rs.Interval(-0.5, 2.0),
        rs.Segment(np.zeros((1, 2, 2)), np.ones((1, 2, 2)), margin=0.3),
        SliceOf(rs.Box(1.0), [-1, 0.5], [1, -0.25]),
        SliceOf(rs.Polygon([[0, 0], [3, 0], [0, 3]]), [0, 0], [1, 1]),
    ],
    ids=repr,
)
def test_domain_arrays_round_trip(domain):
    from regionscope.domains import domain_from_arrays

    arrays = domain.to_arrays()
    # as they come back from a file: numpy arrays, strings as 0-d unicode arrays
    back = domain_from_arrays({k: np.asarray(v) for k, v in arrays.items()})
    assert type(back) is type(domain)
    assert back.input_shape == domain.input_shape
    if isinstance(domain, rs.domains.Domain2D):
        np.testing.assert_array_equal(back.polygon, domain.polygon)
        assert back.bounds == domain.bounds
    else:
        assert (back.lo, back.hi) == (domain.lo, domain.hi)
    if isinstance(domain, rs.Plane):
        np.testing.assert_array_equal(back.basis, domain.basis)
        np.testing.assert_array_equal(back.origin, domain.origin)
    if isinstance(domain, rs.Box):
        assert arrays["kind"] == "box"
    again = back.to_arrays()
    assert sorted(again) == sorted(arrays)
    for key in arrays:
        np.testing.assert_array_equal(np.asarray(again[key]), np.asarray(arrays[key]))


@pytest.mark.parametrize(
    ("arrays", "match"),
    [
        ({}, "no 'kind'"),
        ({"kind": np.array("box")}, "no 'bounds'"),
        ({"kind": np.array("box"), "bounds": np.zeros(3)}, "shape"),
        ({"kind": np.array("box"), "bounds": np.array([0, 1j, 0, 1])}, "real"),
        ({"kind": np.array("box"), "bounds": np.array([0, np.nan, 0, 1])}, "finite"),
        ({"kind": np.array("plane"), "points": np.eye(3)}, "no 'margin'"),
        ({"kind": np.array("plane"), "points": np.eye(3), "margin": np.ones(2)}, "dimension"),
        ({"kind": np.array("segment"), "p": np.zeros(2), "margin": np.float64(0)}, "no 'q'"),
        ({"kind": np.array("interval"), "lo": np.array("0"), "hi": np.array(1.0)}, "number"),
        ({"kind": np.array(3)}, "kind must be a string"),
        ({"kind": np.array("torus")}, "unknown domain kind"),
        ({"kind": np.array("slice"), "p": np.zeros(2), "q": np.ones(2)}, "no 'kind'"),
    ],
)
def test_domain_from_bad_arrays(arrays, match):
    from regionscope.domains import domain_from_arrays

    with pytest.raises(ValueError, match=match):
        domain_from_arrays(arrays)


def test_self_intersecting_polygons_finely_sampled_circle_is_convex():
    # many nearly flat corners: each turns by 2 pi / n, far above collinear_rtol
    n = 200_000
    for c in (0.0, 1e6):
        circle = rs.Polygon(_regular(n) + c)
        assert len(circle.polygon) == n
        assert circle.area == pytest.approx(np.pi, rel=1e-9)
    # a square with cut corners keeps its short sides
    cut = 1e-6
    octagon = rs.Polygon(
        [[cut, 0], [1 - cut, 0], [1, cut], [1, 1 - cut], [1 - cut, 1], [cut, 1], [0, 1 - cut],
         [0, cut]]
    )  # fmt: skip
    assert len(octagon.polygon) == 8
    assert octagon.area == pytest.approx(1 - 2 * cut**2, rel=1e-15)


# -- windows on a plane, tiles of a domain -----------------------------------------------


def test_plane_window_forms_keep_the_plane_coordinates():
    rng = np.random.default_rng(5)
    pts = rng.normal(size=(3, 3, 4, 4))
    plain = rs.Plane(pts)
    centred = rs.Plane(pts, window=((0.5, -1.0), 2.0))
    boxed = rs.Plane(pts, window=(-1.5, 2.5, -3.0, 1.0))
    uneven = rs.Plane(pts, window=([0.5, -1.0], [2.0, 1.0]))
    assert centred.bounds == (-1.5, 2.5, -3.0, 1.0) == boxed.bounds
    assert uneven.bounds == (-1.5, 2.5, -2.0, 0.0)
    for plane in (centred, boxed, uneven):
        # the same plane coordinates, bit for bit: only the polygon changes
        np.testing.assert_array_equal(plane.origin, plain.origin)
        np.testing.assert_array_equal(plane.basis, plain.basis)
        np.testing.assert_array_equal(plane.projected, plain.projected)
        u = rng.uniform(-1, 1, size=(5, 2))
        np.testing.assert_array_equal(plane.lift(u), plain.lift(u))
    assert boxed.window == (-1.5, 2.5, -3.0, 1.0) and plain.window is None
    assert boxed.area == 16.0
    # a window need not hold the three points
    far = rs.Plane(pts, window=((100.0, 100.0), 1.0))
    assert not far.contains(far.projected).any()


@pytest.mark.parametrize(
    ("window", "error", "match"),
    [
        ((1.0, 0.0, 0.0, 1.0), ValueError, "window needs u0 < u1"),
        (((0.0, 0.0), 0.0), ValueError, "half_width must be positive"),
        (((0.0, 0.0), -1.0), ValueError, "half_width must be positive"),
        (((0.0, 0.0, 0.0), 1.0), ValueError, "center must be 2 numbers"),
        (((0.0, 0.0), (1.0, 1.0, 1.0)), ValueError, "half_width must be 1 or 2"),
        ((0.0, 1.0, 2.0), ValueError, "3 entries"),
        ((0.0, np.inf, 0.0, 1.0), ValueError, "finite"),
        (2.0, TypeError, "window must be"),
        ("box", TypeError, "window must be"),
    ],
)
def test_plane_window_errors_name_the_window(window, error, match):
    with pytest.raises(error, match=match):
        rs.Plane(np.eye(3), window=window)


def test_box_and_polygon_tiles():
    box = rs.Box(0, 4, 0, 2)
    assert box.subdomain(1, 3, -5, 1).bounds == (1.0, 3.0, 0.0, 1.0)
    assert isinstance(box.subdomain(1, 3, -5, 1), rs.Box)
    assert box.subdomain(4, 5, 0, 1) is None  # touches along a side only
    with pytest.raises(ValueError, match="u0 < u1"):
        box.subdomain(2, 1, 0, 1)
    tri = rs.Polygon([[0, 0], [4, 0], [0, 4]])
    piece = tri.subdomain(1, 5, 1, 5)  # the triangle x, y >= 1, x + y <= 4
    assert isinstance(piece, rs.Polygon)
    assert piece.area == pytest.approx(2.0, rel=1e-15)
    assert sorted(map(tuple, piece.polygon.tolist())) == [(1.0, 1.0), (1.0, 3.0), (3.0, 1.0)]
    assert tri.subdomain(3, 5, 3, 5) is None
    with pytest.raises(TypeError, match="no tiles"):
        rs.domains.Domain2D().subdomain(0, 1, 0, 1)


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 10_000), st.integers(1, 4), st.integers(1, 4))
def test_polygon_tiles_fit_together(seed, kx, ky):
    # a random convex polygon cut by a grid: the tiles' areas add up, each tile lies in its
    # box and in the polygon, and neighbours agree on the points of their common border
    rng = np.random.default_rng(seed)
    angles = np.sort(rng.uniform(0, 2 * np.pi, size=rng.integers(3, 9)))
    poly = rs.Polygon(np.stack([np.cos(angles), np.sin(angles)], 1) * rng.uniform(0.5, 2.0))
    xmin, xmax, ymin, ymax = poly.bounds
    xs = np.linspace(xmin, xmax, kx + 1)
    ys = np.linspace(ymin, ymax, ky + 1)
    tiles = {}
    for i in range(kx):
        for j in range(ky):
            tile = poly.subdomain(xs[i], xs[i + 1], ys[j], ys[j + 1])
            if tile is None:
                continue
            tiles[i, j] = tile.polygon
            c = tile.polygon
            assert (c[:, 0] >= xs[i]).all() and (c[:, 0] <= xs[i + 1]).all()
            assert (c[:, 1] >= ys[j]).all() and (c[:, 1] <= ys[j + 1]).all()
            assert poly.contains(c).all()
    assert sum(rs.Polygon(c).area for c in tiles.values()) == pytest.approx(poly.area, rel=1e-12)

    def on_line(c, x):  # the points a tile has on x = const, other than the grid's corners
        y = c[c[:, 0] == x, 1]
        return set(y[np.abs(y[:, None] - ys[None, :]).min(axis=1) > 1e-9].tolist())

    # where the polygon's boundary crosses the border of two tiles, both make the same point
    for (i, j), c in tiles.items():
        if (i + 1, j) in tiles:
            assert on_line(c, xs[i + 1]) == on_line(tiles[i + 1, j], xs[i + 1])


def test_plane_tiles_are_windows_with_the_same_coordinates():
    rng = np.random.default_rng(1)
    plane = rs.Plane(rng.normal(size=(3, 2, 3)), window=(-2.0, 2.0, -1.0, 1.0))
    tile = plane.subdomain(0.0, 5.0, -1.0, 0.5)
    assert isinstance(tile, rs.Plane) and tile.window == (0.0, 2.0, -1.0, 0.5)
    np.testing.assert_array_equal(tile.basis, plane.basis)
    np.testing.assert_array_equal(tile.origin, plane.origin)
    assert tile.input_shape == plane.input_shape == (2, 3)
    assert plane.subdomain(2.0, 3.0, 0.0, 1.0) is None
    # a plane with a margin box tiles the same way
    plain = rs.Plane(rng.normal(size=(3, 4)))
    u0, u1, v0, v1 = plain.bounds
    half = plain.subdomain(u0, 0.5 * (u0 + u1), v0, v1)
    assert half.area == pytest.approx(0.5 * plain.area, rel=1e-14)
    np.testing.assert_array_equal(half.basis, plain.basis)


def test_a_windowed_plane_shows_its_window():
    plane = rs.Plane(np.eye(3), window=((0.0, 0.0), 0.5))
    assert "window=(-0.5, 0.5, -0.5, 0.5)" in repr(plane)
    assert "window" not in repr(rs.Plane(np.eye(3)))


# -- Segment from float64 arrays (the lean path) and from anything else --------------------

_coordinate = st.floats(-1e6, 1e6, allow_nan=False, allow_subnormal=False) | st.sampled_from(
    [0.0, -0.0, 1e-300, -1e300, 3.0]
)


@settings(max_examples=200, deadline=None)
@given(
    st.integers(1, 6).flatmap(
        lambda d: st.tuples(*[st.lists(_coordinate, min_size=d, max_size=d)] * 2)
    ),
    st.sampled_from([0.0, 0.25, 1.5]),
)
def test_property_segment_is_numpys_norm_and_direction(points, margin):
    p, q = (np.array(v, dtype=np.float64) for v in points)
    d = q - p
    with np.errstate(over="ignore"):
        length = float(np.linalg.norm(d))
    scale = max(np.abs(p).max(), np.abs(q).max())
    assume(np.isfinite(length) and length > 1e-9 * scale and length > 0)
    seg = rs.Segment(p, q, margin=margin)
    assert seg.hi == (1.0 + margin) * length and seg.lo == -margin * length  # bit for bit
    assert np.array_equal(seg.direction, d / length)
    assert seg.input_shape == p.shape
    # the same numbers from lists, float32-exact values or a 2-D shape
    again = rs.Segment(list(points[0]), list(points[1]), margin=margin)
    assert (again.lo, again.hi) == (seg.lo, seg.hi)
    assert np.array_equal(again.direction, seg.direction)
    shaped = rs.Segment(p.reshape(1, -1), q.reshape(1, -1), margin=margin)
    assert shaped.input_shape == (1, len(p)) and (shaped.lo, shaped.hi) == (seg.lo, seg.hi)


def test_segment_copies_its_points():
    p, q = np.array([1.0, 2.0]), np.array([4.0, 6.0])
    seg = rs.Segment(p, q)
    p[0] = 100.0
    assert seg.p.tolist() == [1.0, 2.0] and seg.hi == 1.25 * 5.0
    seg.q[0] = 7.0
    assert q.tolist() == [4.0, 6.0]


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("where", ["p", "q"])
def test_segment_refuses_non_finite_points_naming_them(bad, where):
    good = np.array([0.0, 1.0])
    worse = np.array([2.0, bad])
    p, q = (worse, good) if where == "p" else (good, worse)
    for make in (np.array, list):
        with pytest.raises(ValueError, match=f"^{where} must be finite"):
            rs.Segment(make(p), make(q))


def test_segment_refuses_empty_points():
    with pytest.raises(ValueError, match="at least one coordinate"):
        rs.Segment(np.zeros(0), np.zeros(0))
    with pytest.raises(ValueError, match="same shape"):
        rs.Segment(np.zeros(0), np.ones(1))


@settings(max_examples=60, deadline=None)
@given(
    exponent=st.integers(-6, 12),
    gap=st.floats(0.05, 20.0),
    dim=st.integers(1, 40),
    seed=st.integers(0, 2**16),
)
def test_segment_coincidence_follows_the_rule_on_both_paths(exponent, gap, dim, seed):
    """Two float64 arrays take the fast test (dot products, the largest coordinate only
    near a tie), lists the general one: both refuse exactly the pairs the rule refuses,
    ``|q - p| <= collinear_rtol * (largest |coordinate|)``, near the threshold too."""
    rng = np.random.default_rng(seed)
    p = rng.normal(size=dim) * 10.0**exponent
    rtol = rs.get_tolerance().collinear_rtol
    largest = float(np.abs(p).max())
    step = rng.normal(size=dim)
    q = p + step / np.linalg.norm(step) * gap * rtol * largest
    d = q - p
    length = math.sqrt(float(d.dot(d)))
    refused = length <= rtol * max(largest, float(np.abs(q).max())) or length == 0.0
    for args in ((p, q), (p.tolist(), q.tolist())):
        if refused:
            with pytest.raises(ValueError, match="coincide"):
                rs.Segment(*args)
        else:
            assert rs.Segment(*args).hi == 1.25 * length
