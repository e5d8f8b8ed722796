"""Magnitudes bound values (the scale of the snapping rule); the evaluator's tolerances."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import regionscope as rs
from regionscope.network.conv import AvgPool, ChannelAffine, Conv, PReLU
from regionscope.network.evaluate import Evaluator
from regionscope.network.program import compile_model
from regionscope.testing import random_mlp

SQUARE = np.array([[-1.0, -1.0], [1.0, -1.0], [1.0, 1.0], [-1.0, 1.0]])


def layers_of_every_kind(rng):
    return [
        rs.Linear(rng.normal(size=(8, 8)), rng.normal(size=8)),
        rs.ReLU(),
        rs.LeakyReLU(-3.0),
        rs.HardTanh(-0.5, 2.0),
        rs.MaxPool(np.arange(8).reshape(4, 2)),
        rs.Argmax(),
        Conv(rng.normal(size=(2, 2, 3)), rng.normal(size=2), in_shape=(2, 4), padding=1),
        ChannelAffine(rng.normal(size=2), rng.normal(size=2), in_shape=(2, 4)),
        AvgPool(in_shape=(2, 4), kernel=2),
        PReLU(rng.normal(size=2), in_shape=(2, 4)),
    ]


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 2**16))
def test_magnitude_bounds_every_layer(seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(5, 8)) * rng.uniform(0.1, 10)
    m = np.abs(x) * rng.uniform(1.0, 2.0, size=x.shape)  # any bound of |x|
    for layer in layers_of_every_kind(rng):
        y = layer.forward(x)
        bound = layer.magnitude(m)
        assert bound.shape == y.shape
        assert (np.abs(y) <= bound * (1 + 1e-12) + 1e-300).all(), repr(layer)


def test_unit_tolerances_scale_with_each_unit():
    rng = np.random.default_rng(0)
    net = random_mlp([2, 6, 6], seed=3)
    ev = Evaluator(compile_model(net, 2), lambda u: u, SQUARE)
    c = rng.uniform(1e-3, 1e3, size=6)
    w1, b1 = net.layers[0].weight, net.layers[0].bias
    scaled = rs.Sequential(rs.Linear(w1 * c[:, None], b1 * c), rs.ReLU(), *net.layers[2:])
    ev2 = Evaluator(compile_model(scaled, 2), lambda u: u, SQUARE)
    np.testing.assert_allclose(ev2.unit_tol[1], ev.unit_tol[1] * c, rtol=1e-12)


def test_unit_scale_is_largest_at_a_corner():
    # magnitudes are convex in the domain point: interior points never exceed the corners
    net = random_mlp([2, 10, 10, 4], seed=5, argmax=True)
    prog = compile_model(net, 2)
    ev = Evaluator(prog, lambda u: u, SQUARE)
    rng = np.random.default_rng(1)
    inside = rng.uniform(-1, 1, size=(200, 2))
    inner = Evaluator(prog, lambda u: u, inside)
    for index, tol in ev.unit_tol.items():
        assert (inner.unit_tol[index] <= tol * (1 + 1e-12)).all()


def test_a_zero_by_cancellation_is_off_everywhere():
    # h0 = x + 2, h1 = x + 1 (both on over the box); h0 - h1 - 1 is zero up to rounding
    net = rs.Sequential(
        rs.Linear([[1.0, 0.0], [1.0, 0.0]], [2.0, 1.0]),
        rs.ReLU(),
        rs.Linear([[1.0, -1.0]], [-1.0]),
        rs.ReLU(),
    )
    ev = Evaluator(compile_model(net, 2), lambda u: u, SQUARE)
    pts = np.random.default_rng(0).uniform(-1, 1, size=(500, 2))
    assert not ev.patterns(pts)[3].any()


@settings(max_examples=20, deadline=None)
@given(st.integers(0, 2**16))
def test_folded_prefix_gives_the_values_of_the_layers(seed):
    """Forward passes start from the affine prefix folded into one map of the plane point:
    the same values as lifting the point and running every layer."""
    rng = np.random.default_rng(seed)
    conv = Conv(rng.normal(size=(2, 2, 3)), rng.normal(size=2), in_shape=(2, 4), padding=1)
    net = rs.Sequential(
        rs.Linear(rng.normal(size=(8, 5)), rng.normal(size=8)),
        conv,
        ChannelAffine(rng.normal(size=2), rng.normal(size=2), in_shape=(2, 4)),
        AvgPool(in_shape=(2, 4), kernel=2),
        rs.ReLU(),
        rs.Linear(rng.normal(size=(3, 4))),
        rs.Argmax(),
    )
    plane = rs.Plane(rng.normal(size=(3, 5)) * 3)
    ev = Evaluator(compile_model(net, 5), plane.lift, plane.polygon,
                   (plane.basis, plane.origin))
    assert ev.prefix == 4 and len(ev.prefix_maps) == 1
    pts = rng.uniform(-2, 2, size=(50, 2))
    direct = ev.program.run(plane.lift(pts))
    scale = np.abs(direct).max() + 1
    np.testing.assert_allclose(ev.run(pts), direct, rtol=0, atol=1e-12 * scale)
    np.testing.assert_allclose(
        ev.layer_input(pts, 4), ev.program.run(plane.lift(pts), stop=4), rtol=0,
        atol=1e-12 * scale,
    )
    # a register inside the prefix is not folded: it comes from the layers themselves
    inner = ev.program.ops[1].output
    np.testing.assert_array_equal(
        ev.values(pts, inner, 2), ev.program.run(plane.lift(pts), stop=2, register=inner)
    )


def test_nothing_is_folded_when_the_first_layer_is_piecewise():
    ev = Evaluator(compile_model(rs.Sequential(rs.ReLU(), rs.Linear(np.eye(2))), 2),
                   lambda u: u, SQUARE)
    assert ev.prefix == 0 and ev.prefix_maps == {}
