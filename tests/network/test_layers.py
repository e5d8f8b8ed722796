"""Layers: forward passes, patterns, compiled programs and their errors."""

from __future__ import annotations

import numpy as np
import pytest

import regionscope as rs
from regionscope.network.program import compile_model


def test_forward_matches_numpy():
    rng = np.random.default_rng(0)
    w1, b1, w2 = rng.normal(size=(4, 3)), rng.normal(size=4), rng.normal(size=(2, 4))
    net = rs.Sequential(rs.Linear(w1, b1), rs.ReLU(), rs.Linear(w2))
    x = rng.normal(size=(10, 3))
    np.testing.assert_allclose(net.forward(x), np.maximum(x @ w1.T + b1, 0) @ w2.T)


def test_piecewise_patterns_select_their_piece():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(50, 6))
    for layer in [
        rs.ReLU(),
        rs.LeakyReLU(0.3),
        rs.HardTanh(-0.5, 0.7),
        rs.MaxPool([[0, 1], [2, 3, 4], [5]]),
        rs.Argmax(),
    ]:
        p = layer.pattern(x)
        np.testing.assert_allclose(layer.forward_pattern(x, p), layer.forward(x))


def test_maxpool_and_hardtanh_values():
    x = np.array([[1.0, -2.0, 3.0, 0.5]])
    np.testing.assert_array_equal(rs.MaxPool([[0, 1], [1, 2, 3]]).forward(x), [[1.0, 3.0]])
    np.testing.assert_array_equal(rs.HardTanh().forward(x), [[1.0, -1.0, 1.0, 0.5]])
    # at a threshold exactly (x = 1.0) both pieces give the same value: the linear piece wins
    np.testing.assert_array_equal(rs.HardTanh().pattern(x), [[1, 0, 2, 1]])
    np.testing.assert_array_equal(rs.Argmax().pattern(x), [[2]])


def test_patterns_ignore_values_within_the_unit_tolerance():
    # a unit within its tolerance of zero is off, whatever the sign of the noise
    x = np.array([[1e-17, 2.0], [-1e-17, 2.0]])
    tol = np.array([1e-15, 1e-15])
    np.testing.assert_array_equal(rs.ReLU().pattern(x, tol=tol)[:, 0], [False, False])
    # each unit has its own tolerance: a huge neighbour does not switch a small unit off
    x = np.array([[1e12, 1e-3]])
    np.testing.assert_array_equal(rs.ReLU().pattern(x, tol=np.array([10.0, 1e-11])), [[1, 1]])
    ties = np.array([[1.0, 1.0 + 1e-16, 0.0]])
    np.testing.assert_array_equal(rs.MaxPool([[0, 1, 2]]).pattern(ties, tol=tol[:1]), [[0]])
    # without tolerances, signs are exact
    np.testing.assert_array_equal(rs.ReLU().pattern(np.array([[1e-300]])), [[True]])


def test_residual_graph_and_concat():
    rng = np.random.default_rng(2)
    w = rng.normal(size=(3, 3))
    res = rs.Residual(rs.Sequential(rs.Linear(w), rs.ReLU()))
    x = rng.normal(size=(5, 3))
    np.testing.assert_allclose(res.forward(x), x + np.maximum(x @ w.T, 0))
    g = rs.Graph(
        [
            ("a", rs.Linear(w), ["input"]),
            ("b", rs.ReLU(), ["a"]),
            ("c", rs.Concat(), ["input", "b"]),
        ],
        output="c",
    )
    prog = compile_model(g, 3)
    assert prog.out_width == 6
    np.testing.assert_allclose(prog.run(x), g.forward(x))
    np.testing.assert_allclose(compile_model(res, 3).run(x), res.forward(x))


def test_compile_errors_name_the_layer():
    with pytest.raises(ValueError, match=r"layer 1 \(1: Linear\).*width 5"):
        compile_model(rs.Sequential(rs.ReLU(), rs.Linear(np.ones((2, 4)))), 5)
    with pytest.raises(ValueError, match="Residual.*must match"):
        compile_model(rs.Residual(rs.Linear(np.ones((2, 3)))), 3)
    with pytest.raises(ValueError, match="uses"):
        rs.Graph([("a", rs.ReLU(), ["nope"])], output="a")
    with pytest.raises(ValueError, match="-1 pads"):
        rs.MaxPool(np.array([[0, -2]]))
    with pytest.raises(ValueError, match="min_val < max_val"):
        rs.HardTanh(1.0, 0.0)
    with pytest.raises(ValueError, match="Argmax needs at least 2"):
        compile_model(rs.Sequential(rs.Linear(np.ones((1, 2))), rs.Argmax()), 2)


def test_errors_inside_a_layer_name_it():
    class Broken(rs.ReLU):
        def forward(self, x):
            raise RuntimeError("boom")

    net = rs.Sequential(rs.Linear(np.eye(2)), Broken())
    with pytest.raises(RuntimeError, match="boom") as info:
        compile_model(net, 2).run(np.zeros((3, 2)))
    notes = getattr(info.value, "__notes__", None)
    if notes is not None:  # Python >= 3.11 records where it happened
        assert any("layer 1 (1: Broken)" in n and "(3, 2)" in n for n in notes)


@pytest.mark.parametrize("bias", [True, False])
def test_linear_magnitude_is_the_absolute_layer_and_bounds_the_output(bias):
    from regionscope.network.layers import Layer

    rng = np.random.default_rng(3)
    layer = rs.Linear(rng.normal(size=(6, 4)), rng.normal(size=6) if bias else None)
    x = rng.normal(size=(50, 4))
    mags = layer.magnitude(np.abs(x))
    assert np.array_equal(mags, Layer.magnitude(layer, np.abs(x)))  # the generic rule, bitwise
    assert (np.abs(layer.forward(x)) <= mags * (1 + 1e-12)).all()


@pytest.mark.parametrize("make", ["maxpool", "argmax"])
def test_max_stage_values_are_the_gaps_of_the_running_maximum(make):
    rng = np.random.default_rng(5)
    x = rng.normal(size=(7, 6))
    if make == "maxpool":
        groups = [[0, 3, 5], [1, 2, -1], [4, -1, -1], [5, 0, 2]]
        layer = rs.MaxPool(groups)
    else:
        groups = [list(range(6))]
        layer = rs.Argmax()
    for stage in range(layer.num_stages(6)):
        got = layer.stage_values(x, stage)
        for g, members in enumerate(groups):
            for n in range(len(x)):
                if members[stage + 1] < 0:  # a short group: nothing to cut at this stage
                    want = 1.0
                else:
                    want = max(x[n, m] for m in members[: stage + 1]) - x[n, members[stage + 1]]
                assert got[n, g] == want
