"""Domains: geometry, projections and their errors."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
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
