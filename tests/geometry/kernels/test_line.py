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


# -- chain: a chain of Linear and ReLU layers in one call -----------------------------------


def relu_chain(points, layers):
    """The breakpoints by the NumPy functions: values at the points by a forward pass, cut
    layer by layer (the tolerances given)."""
    for k, (w, b, tol) in enumerate(layers):
        x = points[:, None] * 1.0
        for w0, b0, _ in layers[:k]:
            x = np.maximum(x @ w0.T + b0, 0.0)
        points = reference.cut_line(points, x @ w.T + b, tol, 1e-12)
    return points


def test_chain_by_hand():
    # relu(s), relu(1 - s), then relu(relu(s) + relu(1 - s) - 1.5) on [-1, 2]
    w1, b1 = np.array([[1.0], [-1.0]]), np.array([0.0, 1.0])
    w2, b2 = np.array([[1.0, 1.0]]), np.array([-1.5])
    one = np.ones(1)
    res, status = line.chain((w1, w2), (b1, b2), (False, True, True), np.zeros(1), one,
                             -1.0, 2.0, 1e-11, 1e-12, 100, 10)  # fmt: skip
    assert status == 0
    # tolerances 2 and 3 (|s| + |b| at s = 2), 6.5 (twice: the last ReLU and the output);
    # the folded first layer (lin, off); direction and p; the points
    assert res.tolist() == [
        2e-11, 3e-11, 6.5e-11, 6.5e-11, 1.0, -1.0, 0.0, 1.0, 1.0, 0.0,
        -1.0, -0.5, 0.0, 1.0, 1.5, 2.0,
    ]  # fmt: skip
    points = relu_chain(np.array([-1.0, 2.0]), [(w1, b1, np.zeros(2)), (w2, b2, np.zeros(1))])
    assert points.tolist() == res[-6:].tolist()


def test_chain_refuses_what_the_general_path_must_decide():
    w, b = np.array([[1.0], [1.0]]), np.array([0.0, -0.5])
    args = (np.zeros(1), np.ones(1), -1.0, 1.0, 1e-11, 1e-12)
    assert line.chain((w,), (b,), (False, True), *args, 100, 10)[1] == 0
    big = np.array([[1e300]])
    refused = {
        1: line.chain((big, big), (None, None), (False, True, True), *args, 100, 10),
        2: line.chain((w,), (b,), (False, True), *args, 100, 2),  # 3 pieces
        3: line.chain((w,), (b,), (False, True), *args, 3, 10),  # 2 x 2 values
        4: line.chain((w, w), (b, b), (False, True, True), *args, 100, 10),  # widths
    }
    for status, (res, got) in refused.items():
        assert got == status and len(res) == 0  # nothing returned
    assert line.chain((w,), (b,), (False, False), *args, 100, 10)[1] == 4  # no ReLU


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 10**6),
    widths=st.lists(st.integers(1, 6), min_size=1, max_size=3),
)
def test_property_chain_finds_the_breakpoints_of_the_numpy_functions(seed, widths):
    """Dyadic weights on an interval: the same points as the NumPy cut, up to rounding."""
    rng = np.random.default_rng(seed)
    layers, fan_in = [], 1
    for width in widths:
        w = rng.integers(-8, 9, size=(width, fan_in)) / 4
        layers.append((w, rng.integers(-8, 9, size=width) / 4, np.zeros(width)))
        fan_in = width
    weights = tuple(w for w, _, _ in layers)
    biases = tuple(b for _, b, _ in layers)
    res, status = line.chain(weights, biases, (False, *[True] * len(layers)), np.zeros(1),
                             np.ones(1), -2.0, 2.0, 1e-11, 1e-12, 10**6, 10**6)  # fmt: skip
    assert status == 0
    at = 0  # the reference cuts with the kernel's tolerances
    for k, (w, b, _) in enumerate(layers):
        layers[k] = (w, b, res[at : at + len(b)])
        at += len(b)
    want = relu_chain(np.array([-2.0, 2.0]), layers)
    got = res[len(res) - len(want) :]
    assert got[0] == -2.0 and got[-1] == 2.0
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)
