"""Tests of regionscope.lab.networks: the lab's init, max_regions_network, arrangement_box."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import regionscope as rs
from regionscope import bounds, lab
from regionscope.lab.networks import one_hidden_layer

# ------------------------------------------------------------------ lab_network


def test_lab_network_init_is_documented_draw_order():
    net = lab.lab_network([2, 3, 5, 1], seed=7)
    rng = np.random.default_rng(7)
    expected = []
    for n_in, n_out in [(2, 3), (3, 5), (5, 1)]:
        expected.append((rng.standard_normal((n_out, n_in)), rng.standard_normal(n_out)))
    linears = [layer for layer in net.layers if isinstance(layer, rs.Linear)]
    assert [type(layer).__name__ for layer in net.layers] == [
        "Linear",
        "ReLU",
        "Linear",
        "ReLU",
        "Linear",
    ]
    for lin, (w, b) in zip(linears, expected, strict=True):
        np.testing.assert_array_equal(lin.weight, w)
        np.testing.assert_array_equal(lin.bias, b)


def test_lab_network_defaults_are_the_lab():
    net = lab.lab_network()
    assert lab.LAB_SEED == 0
    assert lab.LAB_DOMAIN.bounds == (-2.0, 2.0, -2.0, 2.0)
    rng = np.random.default_rng(0)
    np.testing.assert_array_equal(net[0].weight, rng.standard_normal((4, 2)))
    assert net[2].weight.shape == (1, 4)
    # integer arrays are fine as widths
    same = lab.lab_network(np.array([2, 4, 1]), np.int64(0))
    np.testing.assert_array_equal(same[2].bias, net[2].bias)


def test_lab_network_validation():
    with pytest.raises(ValueError, match="at least 2 entries"):
        lab.lab_network([2])
    with pytest.raises(ValueError, match=r"widths\[1\] must be at least 1, got 0"):
        lab.lab_network([2, 0, 1])
    with pytest.raises(TypeError, match="seed must be an integer"):
        lab.lab_network([2, 4, 1], seed=1.5)
    with pytest.raises(TypeError, match="widths must be a sequence of integers, got int"):
        lab.lab_network(3)
    with pytest.raises(TypeError, match="widths must be a sequence of integers, got str"):
        lab.lab_network("241")
    with pytest.raises(ValueError, match="seed must be at least 0, got -1"):
        lab.lab_network([2, 4, 1], seed=-1)


def test_one_hidden_layer_matches_only_linear_relu_linear():
    net = lab.lab_network([2, 4, 1], 0)
    first, last = one_hidden_layer(net)
    assert first is net[0] and last is net[2]
    assert one_hidden_layer(lab.lab_network([2, 3, 3, 1], 0)) is None
    leaky = rs.Sequential(net[0], rs.LeakyReLU(), net[2])
    assert one_hidden_layer(leaky) is None  # a LeakyReLU network has other maps
    assert one_hidden_layer(net[0]) is None


# ------------------------------------------------------------------ max_regions_network


@pytest.mark.parametrize("m", [1, 2, 3, 4, 5, 8, 13, 20])
def test_max_regions_network_reaches_zaslavsky(m):
    net = rs.max_regions_network(m)
    part = rs.partition(net, rs.Box(1.0))
    assert part.num_regions == bounds.zaslavsky(m, 2)


@pytest.mark.parametrize(
    "domain",
    [rs.Box(0.0, 3.0, -0.5, 0.5), rs.Polygon([[0.0, 0.0], [4.0, 0.0], [1.0, 2.0]]), rs.Box(2.0)],
)
@pytest.mark.parametrize("seed", [0, 5])
def test_max_regions_network_other_domains(domain, seed):
    net = rs.max_regions_network(7, domain, seed=seed)
    assert rs.partition(net, domain).num_regions == bounds.zaslavsky(7, 2) == 29


def test_max_regions_lines_in_general_position_inside():
    domain = rs.Box(0.0, 2.0, 0.0, 1.0)
    net = rs.max_regions_network(10, domain, seed=3)
    w, b = net[0].weight, net[0].bias
    assert w.shape == (10, 2) and net[2].weight.shape == (1, 10)
    for i, j in itertools.combinations(range(10), 2):
        a = np.array([w[i], w[j]])
        assert abs(np.linalg.det(a)) > 1e-3 * np.linalg.norm(w[i]) * np.linalg.norm(w[j])
        p = np.linalg.solve(a, -np.array([b[i], b[j]]))
        assert domain.contains(p[None])[0]
        others = [k for k in range(10) if k not in (i, j)]
        dist = np.abs(w[others] @ p + b[others]) / np.linalg.norm(w[others], axis=1)
        assert dist.min() > 1e-6  # no third line through the crossing


def test_max_regions_network_validation():
    with pytest.raises(ValueError, match="m must be at least 1, got 0"):
        rs.max_regions_network(0)
    with pytest.raises(TypeError, match="domain must be a Box or Polygon"):
        rs.max_regions_network(3, rs.Plane(np.eye(3)))
    with pytest.raises(TypeError, match="domain must be a 2-D domain"):
        rs.max_regions_network(3, rs.Interval(0.0, 1.0))
    with pytest.raises(TypeError, match="m must be an integer"):
        rs.max_regions_network(3.0)


# ------------------------------------------------------------------ arrangement_box


def test_arrangement_box_counts_the_whole_plane():
    for seed in range(6):
        net = lab.lab_network([2, 6, 1], seed)
        box = lab.arrangement_box(net)
        inner = rs.partition(net, box).num_regions
        # random lines are in general position: all C(6,2) + 6 + 1 cells
        assert inner == bounds.zaslavsky(6, 2)
        assert rs.partition(net, rs.Box(50.0 * box.bounds[1])).num_regions == inner


def test_arrangement_box_parallel_lines():
    # three parallel lines (no crossing): 4 strips, all met by the box
    net = rs.Sequential(
        rs.Linear([[1.0, 1.0], [2.0, 2.0], [-1.0, -1.0]], [-10.0, 4.0, 30.0]),
        rs.ReLU(),
        rs.Linear([[1.0, 1.0, 1.0]]),
    )
    assert rs.partition(net, lab.arrangement_box(net)).num_regions == 4


def test_arrangement_box_by_hand():
    # lines x = 5 and y = 0 cross at (5, 0); nearest points (5, 0), (0, 0): r = 5
    net = rs.Sequential(
        rs.Linear([[1.0, 0.0], [0.0, 1.0]], [-5.0, 0.0]), rs.ReLU(), rs.Linear([[1.0, 1.0]])
    )
    assert lab.arrangement_box(net, margin=0.0).bounds == (-6.0, 6.0, -6.0, 6.0)
    assert lab.arrangement_box(net, margin=1.0).bounds == (-11.0, 11.0, -11.0, 11.0)


def test_arrangement_box_validation():
    with pytest.raises(TypeError, match="arrangement_box needs a Sequential"):
        lab.arrangement_box(lab.lab_network([2, 3, 3, 1], 0))
    with pytest.raises(ValueError, match="margin must be a finite number >= 0"):
        lab.arrangement_box(lab.lab_network([2, 3, 1], 0), margin=-1.0)
    with pytest.raises(ValueError, match="margin must be a finite number >= 0"):
        lab.arrangement_box(lab.lab_network([2, 3, 1], 0), margin=float("inf"))
    with pytest.raises(TypeError, match="as model"):
        lab.arrangement_box(lab.lab_network([3, 3, 1], 0))  # 3 inputs: planes, not lines
