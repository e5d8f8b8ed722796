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
    ev = Evaluator(compile_model(net, 5), plane.lift, plane.polygon, (plane.basis, plane.origin))
    assert ev.prefix == 4 and len(ev.prefix_maps) == 1
    pts = rng.uniform(-2, 2, size=(50, 2))
    direct = ev.program.run(plane.lift(pts))
    scale = np.abs(direct).max() + 1
    np.testing.assert_allclose(ev.run(pts), direct, rtol=0, atol=1e-12 * scale)
    np.testing.assert_allclose(
        ev.layer_input(pts, 4),
        ev.program.run(plane.lift(pts), stop=4),
        rtol=0,
        atol=1e-12 * scale,
    )
    # a register inside the prefix is not folded: it comes from the layers themselves
    inner = ev.program.ops[1].output
    np.testing.assert_array_equal(
        ev.values(pts, inner, 2), ev.program.run(plane.lift(pts), stop=2, register=inner)
    )


def test_nothing_is_folded_when_the_first_layer_is_piecewise():
    ev = Evaluator(
        compile_model(rs.Sequential(rs.ReLU(), rs.Linear(np.eye(2))), 2), lambda u: u, SQUARE
    )
    assert ev.prefix == 0 and ev.prefix_maps == {}


# -- the unit tolerances against an independent loop (Evaluator.__init__, line helper) -----


def _tolerances_by_hand(layers, corners, lin, off, rtol):
    """Magnitudes through a chain of Linear and ReLU-like layers, one layer at a time."""
    m = np.abs(corners) @ np.abs(lin) + np.abs(off)
    tols = {}
    for i, layer in enumerate(layers):
        if isinstance(layer, rs.Linear):
            m = m @ np.abs(layer.weight).T
            if layer.bias is not None:
                m = m + np.abs(layer.bias)
        else:  # ReLU: the scale is the input's; HardTanh adds its largest bound
            scale = m + max(abs(layer.min_val), abs(layer.max_val)) if isinstance(
                layer, rs.HardTanh) else m  # fmt: skip
            tols[i] = rtol * np.max(np.vstack([scale, np.zeros((1, m.shape[1]))]), axis=0)
            if isinstance(layer, rs.LeakyReLU):  # LeakyReLU scales the magnitudes
                m = max(1.0, abs(layer.negative_slope)) * m
    return tols, rtol * np.max(np.vstack([m, np.zeros((1, m.shape[1]))]), axis=0)


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 10**6), st.integers(1, 3), st.integers(1, 6),
       st.sampled_from([1e-11, 1e-6]), st.booleans())  # fmt: skip
def test_property_unit_tolerances_are_the_magnitudes_by_hand(seed, depth, width, rtol, bias):
    rng = np.random.default_rng(seed)
    dim = int(rng.integers(1, 4))
    layers, w = [], dim
    for k in range(depth):
        b = rng.normal(size=width) if bias else None
        layers.append(rs.Linear(rng.normal(size=(width, w)), b))
        layers.append([rs.ReLU(), rs.LeakyReLU(-2.5), rs.HardTanh()][(seed + k) % 3])
        w = width
    layers.append(rs.Linear(rng.normal(size=(2, w))))
    corners = rng.normal(size=(int(rng.integers(2, 5)), 2)) * 10.0 ** rng.integers(-3, 4)
    lin, off = rng.normal(size=(2, dim)), rng.normal(size=dim)
    with rs.tolerance(value_rtol=rtol):
        ev = Evaluator(compile_model(rs.Sequential(*layers), dim), lambda u: u @ lin + off,
                       corners, (lin, off))  # fmt: skip
    want, want_out = _tolerances_by_hand(layers, corners, lin, off, rtol)
    assert sorted(ev.unit_tol) == sorted(want)
    for index, tol in want.items():
        assert np.array_equal(ev.unit_tol[index], tol)  # bit for bit
    assert np.array_equal(ev.output_tol, want_out)


def test_the_lift_is_copied_unless_read_only():
    prog = compile_model(rs.Sequential(rs.Linear(np.eye(2)), rs.ReLU()), 2)
    lin, off = np.eye(2), np.zeros(2)
    ev = Evaluator(prog, lambda u: u, np.eye(2), (lin, off))
    lin[0, 0] = 5.0  # the caller's writable arrays are not the evaluator's
    assert ev.lift_linear[0, 0] == 1.0 and not ev.lift_linear.flags.writeable
    again = Evaluator(prog, lambda u: u, np.eye(2), (ev.lift_linear, ev.lift_offset))
    assert again.lift_linear is ev.lift_linear  # read-only and its own: shared, not copied
    view = ev.lift_linear[:1]  # read-only but a view: copied
    one = compile_model(rs.Sequential(rs.Linear(np.eye(2)), rs.ReLU()), 2)
    assert Evaluator(one, lambda u: u, np.eye(1), (view, off)).lift_linear is not view
    ints = Evaluator(prog, lambda u: u, np.eye(2), (np.eye(2, dtype=int), [0, 0]))
    assert ints.lift_linear.dtype == np.float64 and ints.lift_offset.dtype == np.float64


def test_forward_registers_are_the_forward_pass_bit_for_bit():
    """The stored registers after a folded prefix (a convolution, a batch-norm), a ReLU
    applied in place on the folded values and a convolution written straight into its
    table, in chunks of a few points: the values of a plain forward pass, bit for bit,
    and the points untouched."""
    rng = np.random.default_rng(3)
    net = rs.Sequential(
        Conv(rng.normal(size=(3, 1, 3, 3)), rng.normal(size=3), in_shape=(1, 5, 5), padding=1),
        ChannelAffine(rng.normal(size=3), rng.normal(size=3), in_shape=(3, 5, 5)),
        rs.ReLU(),
        Conv(rng.normal(size=(2, 3, 3, 3)), rng.normal(size=2), in_shape=(3, 5, 5), padding=1),
        rs.ReLU(),
        rs.Linear(rng.normal(size=(4, 50))),
    )
    program = compile_model(net, 25)
    basis = rng.normal(size=(2, 25))
    ev = Evaluator(program, lambda u: u @ basis, np.array([[-1.0, -1], [1, -1], [1, 1], [-1, 1]]),
                   (basis, np.zeros(25)))  # fmt: skip
    assert ev.prefix == 2
    coords = rng.uniform(-1, 1, size=(23, 2))
    kept = coords.copy()
    (reg,) = ev.stored_registers(4)
    with rs.budget(chunk_values=5 * program.max_width):  # 5 points a chunk
        got = ev.forward_registers(coords, 4)[reg]
    # (the same chunks: a matrix product of one row may round otherwise than of several)
    want = np.concatenate(
        [ev.run(coords[s : s + 5], stop=4, register=reg) for s in range(0, 23, 5)]
    )
    assert got.tobytes() == want.tobytes()
    assert coords.tobytes() == kept.tobytes()
    assert (got < 0).any() and (got > 0).any()
