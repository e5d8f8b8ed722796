"""The compiled 1-D cut and interpolation against the NumPy functions, bit for bit."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

pytest.importorskip("numba")

from regionscope.geometry import line as reference  # noqa: E402
from regionscope.geometry.kernels import line  # noqa: E402


def both(points, values, tol, point_tol):
    want = reference.cut_points(points, values, tol, point_tol)
    got = line.cut_points(points, values, tol, point_tol)
    assert got[4] is True  # every value finite
    for g, w in zip(got[:4], want, strict=True):
        assert g.dtype == w.dtype and g.shape == w.shape
        np.testing.assert_array_equal(g, w)
    rng = np.random.default_rng(len(points))
    table = rng.normal(size=(len(points), 3))
    np.testing.assert_array_equal(
        line.interpolate(table, *got[1:4]), reference.interpolate(table, *want[1:])
    )
    return got


def test_by_hand():
    # unit s - 0.5 crosses in piece 0 at weight 0.25; unit 1.5 - s in piece 1 at weight 0.5
    pts, order, piece, weight, _ = both(
        np.array([0.0, 2.0, 4.0]), np.array([[-0.5, 1.5], [1.5, -0.5], [3.5, -2.5]]),
        np.zeros(2), 1e-12,
    )  # fmt: skip
    assert pts.tolist() == [0.0, 0.5, 1.5, 2.0, 4.0]
    assert order.tolist() == [0, 3, 4, 1, 2]
    assert piece.tolist() == [0, 0] and weight.tolist() == [0.25, 0.75]


def test_ties_merges_and_ends():
    # three units with the same zero (one point stays), zeros within the tolerance of the ends
    s = np.array([-1.0, 1.0])
    values = np.stack([s, 2 * s, -s, s + 1 - 1e-13, s - 1 + 1e-13], axis=1)
    pts = both(s, values, np.zeros(5), 1e-9)[0]
    assert pts.tolist() == [-1.0, 0.0, 1.0]


def test_no_crossing_and_values_within_the_tolerance():
    s = np.array([-1.0, 0.0, 1.0])
    values = np.stack([s * 1e-12, np.zeros(3), s + 5], axis=1)
    pts, order, piece, _, _ = both(s, values, np.full(3, 1e-11), 1e-12)
    assert pts.tolist() == s.tolist() and order.tolist() == [0, 1, 2] and len(piece) == 0


def test_non_finite_values_are_reported():
    values = np.array([[1.0], [np.inf]])
    assert line.cut_points(np.array([0.0, 1.0]), values, np.zeros(1), 1e-12)[4] is False
    values = np.array([[np.nan], [1.0]])
    assert line.cut_points(np.array([0.0, 1.0]), values, np.zeros(1), 1e-12)[4] is False


@settings(max_examples=60, deadline=None)
@given(
    st.integers(2, 40), st.integers(1, 30), st.integers(0, 2**16),
    st.sampled_from([0.0, 1e-12, 1e-3, 0.2]), st.booleans(),
)  # fmt: skip
def test_property_same_as_numpy(num_points, width, seed, point_tol, coarse):
    rng = np.random.default_rng(seed)
    pts = np.unique(np.concatenate([[-1.0, 1.0], rng.uniform(-1, 1, num_points - 2)]))
    values = rng.normal(size=(len(pts), width))
    if coarse:  # exact zeros at points, equal values: ties and zeros at the ends
        values = np.round(values, 1)
        half = width // 2
        values[:, width - half :] = values[:, :half]
    tol = np.abs(rng.normal(size=width)) * rng.choice([0.0, 1e-3, 0.3])
    both(pts, values, tol, point_tol)
