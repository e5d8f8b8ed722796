"""A ReLU layer's input from the live units of a ReLU before it: a forward pass's values,
bounds that hold on the domain, and the same partitions as a forward pass gives."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import regionscope as rs
import regionscope.compute.driver as driver
import regionscope.compute.expansion as expansion
from regionscope.compute.expansion import relu_chain, relu_expansion
from regionscope.network.conv import ChannelAffine, Conv
from regionscope.network.evaluate import Evaluator
from regionscope.network.program import compile_model
from regionscope.testing import assert_partitions_equal, check_partition

sys.path.insert(0, str(Path(__file__).parent))
from test_merge import plane, small_cnn  # noqa: E402


def _evaluator(net: rs.Sequential, domain) -> Evaluator:
    return Evaluator(compile_model(net, domain.input_dim), domain.lift, domain.polygon)


def _inside(domain, n: int, seed: int) -> np.ndarray:
    """``(n, 2)``: random points of the convex domain (convex combinations of its corners),
    its corners among them."""
    rng = np.random.default_rng(seed)
    w = rng.dirichlet(np.ones(len(domain.polygon)), size=n)
    return np.concatenate([domain.polygon, w @ domain.polygon])


def test_by_hand():
    """x, y and x + y + 5 on [-1, 1]^2, then their sum: units 0 and 1 cross the box, unit 2
    (in [3, 7]) is on everywhere, so the sum is x + y + 5 + relu(x) + relu(y), between 3 and
    9."""
    net = rs.Sequential(
        rs.Linear([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]], [0.0, 0.0, 5.0]),
        rs.ReLU(),
        rs.Linear([[1.0, 1.0, 1.0]]),
        rs.ReLU(),
    )
    box = rs.Box(1.0)
    exp = relu_expansion(_evaluator(net, box), 3, box.polygon, max_live_fraction=1.0)
    assert exp is not None
    assert exp.live.tolist() == [0, 1]
    assert exp.linear.tolist() == [[1.0], [1.0]] and exp.offset.tolist() == [5.0]
    assert exp.weights.tolist() == [[1.0], [1.0]]
    np.testing.assert_allclose(exp.low, [3.0], rtol=1e-8)
    np.testing.assert_allclose(exp.high, [9.0], rtol=1e-8)
    assert exp.low[0] <= 3.0 and exp.high[0] >= 9.0  # widened, never narrowed
    p = np.array([[0.5, -0.5], [-1.0, -1.0], [1.0, 1.0]])
    assert exp.values(p, np.array([0])).ravel().tolist() == [5.5, 3.0, 9.0]
    assert relu_expansion(_evaluator(net, box), 3, box.polygon, max_live_fraction=0.5) is None


def _mlp(rng: np.random.Generator, n1: int, n2: int, shift: float) -> rs.Sequential:
    return rs.Sequential(
        rs.Linear(rng.normal(size=(n1, 2)), rng.normal(size=n1) * shift),
        rs.ReLU(),
        rs.Linear(rng.normal(size=(n2, n1)), rng.normal(size=n2)),
        rs.ReLU(),
    )


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    n1=st.integers(1, 30),
    n2=st.integers(1, 12),
    shift=st.sampled_from([0.5, 2.0, 8.0]),
    half=st.sampled_from([0.05, 0.3, 1.0]),
)
def test_values_are_a_forward_pass_and_bounds_hold(seed, n1, n2, shift, half):
    rng = np.random.default_rng(seed)
    net = _mlp(rng, n1, n2, shift)
    centre = rng.normal(size=2)
    box = rs.Box(centre[0] - half, centre[0] + half, centre[1] - half, centre[1] + half)
    ev = _evaluator(net, box)
    exp = relu_expansion(ev, 3, box.polygon, max_live_fraction=1.0)
    assert exp is not None
    p = _inside(box, 200, seed)
    want = ev.layer_input(p, 3)
    got = exp.values(p, np.arange(n2))
    scale = np.abs(want).max() + 1.0
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-12 * scale)
    assert (exp.low <= got).all() and (got <= exp.high).all()
    # the units left out keep one sign beyond their tolerance at every point
    pre = ev.layer_input(p, 1)
    tol = np.broadcast_to(ev.unit_tol[1], (n1,))
    out = np.setdiff1d(np.arange(n1), exp.live)
    assume(len(out) > 0)
    fixed = (pre[:, out] > tol[out]).all(axis=0) | (pre[:, out] < -tol[out]).all(axis=0)
    assert fixed.all()


@pytest.mark.parametrize("bn", [False, True])
def test_chain_of_affine_ops_on_a_conv(bn):
    """conv, ReLU, conv (then a batch-norm), ReLU: the second ReLU's input from the first
    ReLU's live units equals the forward pass on a small window."""
    rng = np.random.default_rng(3)
    layers = [
        Conv(rng.normal(size=(3, 1, 3, 3)), rng.normal(size=3), in_shape=(1, 6, 6), padding=1),
        rs.ReLU(),
        Conv(rng.normal(size=(4, 3, 3, 3)), rng.normal(size=4), in_shape=(3, 6, 6), padding=1),
    ]
    if bn:
        layers.append(ChannelAffine(rng.normal(size=4), rng.normal(size=4), in_shape=(4, 6, 6)))
    net = rs.Sequential(*layers, rs.ReLU())
    domain = plane(3, half=0.05)
    ev = _evaluator(net, domain)
    index = len(layers)
    assert relu_chain(ev, index) is not None
    exp = relu_expansion(ev, index, domain.polygon, max_live_fraction=1.0)
    assert exp is not None and 0 < len(exp.live) < 108
    p = _inside(domain, 50, 3)
    want = ev.layer_input(p, index)
    got = exp.values(p, np.arange(144))
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-12 * (np.abs(want).max() + 1))


def test_no_chain_where_it_does_not_apply():
    rng = np.random.default_rng(0)
    lin = [rs.Linear(rng.normal(size=(4, 4)), rng.normal(size=4)) for _ in range(3)]
    box = rs.Box(1.0)

    def chain(*layers, index):
        net = rs.Sequential(rs.Linear(rng.normal(size=(4, 2))), *layers)
        return relu_chain(_evaluator(net, box), index)

    assert chain(rs.ReLU(), lin[0], rs.ReLU(), index=3) is not None
    # the ReLU's input is not an affine map of the domain point
    assert chain(rs.ReLU(), lin[0], rs.ReLU(), lin[1], rs.ReLU(), index=5) is None
    # a leaky ReLU bends on both sides
    assert chain(rs.LeakyReLU(0.1), lin[0], rs.ReLU(), index=3) is None
    # ReLU after ReLU: no affine op between
    assert chain(rs.ReLU(), rs.ReLU(), index=2) is None
    # a residual reads the ReLU's output twice
    assert chain(rs.ReLU(), rs.Residual(lin[2]), rs.ReLU(), index=3) is None


def _spy_values(monkeypatch) -> list[int]:
    calls: list[int] = []
    real = expansion.ReluExpansion.values

    def spy(self, coords, columns):
        calls.append(len(columns))
        return real(self, coords, columns)

    monkeypatch.setattr(expansion.ReluExpansion, "values", spy)
    return calls


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_partition_equals_the_forward_pass(monkeypatch, seed):
    """The small CNN on windows of a plane: the ReLU layer before the pool gets its input
    from the first ReLU's live units (on fewer columns than a forward pass); the partition
    is the one a forward pass gives, region by region, and passes every check."""
    monkeypatch.setattr(driver, "LIVE_UNITS_MIN_WIDTH", 0)
    monkeypatch.setattr(driver, "EXPANSION_MAX_LIVE_FRACTION", 1.0)
    monkeypatch.setattr(driver, "EXPANSION_MAX_COST", 10.0)
    calls = _spy_values(monkeypatch)
    net, domain = small_cnn(seed, False, head=True), plane(seed, half=0.15)
    fast = rs.partition(net, domain)
    assert len(calls) == 1 and calls[0] < 144
    monkeypatch.setattr(driver, "EXPANDED_ONLY", False)
    plain = rs.partition(net, domain)
    assert len(calls) == 1
    assert fast.num_regions == plain.num_regions > 10
    assert_partitions_equal(fast, plain, atol=1e-9)
    match = plain.locate(fast.centroids())
    mine, theirs = fast.activation_patterns(), plain.activation_patterns()
    assert sorted(mine) == sorted(theirs)
    for layer in mine:
        np.testing.assert_array_equal(mine[layer], theirs[layer][match], err_msg=str(layer))
    check_partition(fast)


@pytest.mark.parametrize("fraction, cost", [(0.0, 10.0), (1.0, 0.0)])
def test_many_live_units_or_costly_columns_take_the_forward_pass(monkeypatch, fraction, cost):
    """With no live unit allowed, or no cost, nothing is expanded."""
    monkeypatch.setattr(driver, "LIVE_UNITS_MIN_WIDTH", 0)
    monkeypatch.setattr(driver, "EXPANSION_MAX_LIVE_FRACTION", fraction)
    monkeypatch.setattr(driver, "EXPANSION_MAX_COST", cost)
    calls = _spy_values(monkeypatch)
    part = rs.partition(small_cnn(0, False, head=True), plane(0, half=0.15))
    assert calls == [] and part.num_regions > 10
