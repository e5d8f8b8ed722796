"""Neighbourhood planes: the window around each point, and local complexity through them."""

from __future__ import annotations

import numpy as np
import pytest

import regionscope as rs
from regionscope.workflows.neighbourhoods import neighbourhood_planes


def test_window_is_centred_on_the_point_with_half_side_radius():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(5, 7))
    planes = neighbourhood_planes(x, 0.3, seed=1)
    assert len(planes) == 5
    for xi, plane in zip(x, planes, strict=True):
        c = plane.to_plane(xi)[0]
        xmin, xmax, ymin, ymax = plane.bounds
        assert [xmin, xmax, ymin, ymax] == pytest.approx(
            [c[0] - 0.3, c[0] + 0.3, c[1] - 0.3, c[1] + 0.3], abs=1e-12
        )
        assert np.allclose(plane.lift(c[None]), xi, atol=1e-12)  # the point is in the plane
        assert np.allclose(plane.basis @ plane.basis.T, np.eye(2), atol=1e-12)
    # random directions differ from point to point, and the seed fixes them
    assert not np.allclose(planes[0].basis, planes[1].basis)
    again = neighbourhood_planes(x, 0.3, seed=1)
    assert all(np.array_equal(a.basis, b.basis) for a, b in zip(planes, again, strict=True))


def test_given_directions_span_the_plane():
    x = np.zeros((2, 3))
    d = np.array([[2.0, 0.0, 0.0], [1.0, 1.0, 0.0]])  # not orthonormal: made so
    for plane in neighbourhood_planes(x, 1.0, d):
        assert np.allclose(np.abs(plane.basis), [[1, 0, 0], [0, 1, 0]], atol=1e-12)
    per_point = np.stack([d, d[:, [2, 0, 1]]])
    second = neighbourhood_planes(x, 1.0, per_point)[1]
    assert np.allclose(np.abs(second.basis), [[0, 1, 0], [0, 0, 1]], atol=1e-12)


def test_images_keep_their_shape():
    images = np.random.default_rng(2).random((3, 1, 4, 4))
    planes = neighbourhood_planes(images, 0.5, seed=0)
    assert planes[0].input_shape == (1, 4, 4)


def test_local_complexity_does_not_depend_on_the_window_size():
    # the disk of radius r fits in the window of half side r: a window twice as large,
    # along the same directions, must count the same regions
    rng = np.random.default_rng(4)
    net = rs.testing.random_mlp([6, 24, 24], seed=4)
    x = rng.normal(size=(6, 6)) * 0.5
    dirs = rng.normal(size=(6, 2, 6))
    r = 0.4
    small = neighbourhood_planes(x, r, dirs)
    large = neighbourhood_planes(x, 2 * r, dirs)
    total = 0
    for xi, a, b in zip(x, small, large, strict=True):
        na = rs.partition(net, a).local_complexity(a.to_plane(xi), r)[0]
        nb = rs.partition(net, b).local_complexity(b.to_plane(xi), r)[0]
        assert na == nb
        total += na
    assert total > len(x)  # some disks meet more than one region


def test_input_checks():
    x = np.zeros((2, 3))
    with pytest.raises(ValueError, match="radius must be > 0"):
        neighbourhood_planes(x, 0.0)
    with pytest.raises(ValueError, match="parallel"):
        neighbourhood_planes(x, 1.0, [[1.0, 0.0, 0.0], [2.0, 0.0, 0.0]])
    with pytest.raises(ValueError, match="directions must have shape"):
        neighbourhood_planes(x, 1.0, np.ones((3, 3)))
    with pytest.raises(ValueError, match="at least 2 coordinates"):
        neighbourhood_planes(np.zeros((2, 1)), 1.0)
    with pytest.raises(ValueError, match="shape"):
        neighbourhood_planes(np.zeros(3), 1.0)
