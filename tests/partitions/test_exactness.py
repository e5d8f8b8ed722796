"""Signs decided by the one snapping rule: scale-free, translation-free, noise-proof.

Regression tests for the adversarial report (issue 10): each test is named
after the failure it covers.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import regionscope as rs
from regionscope.testing import assert_partitions_equal, check_partition, random_mlp


def rescaled(net: rs.Sequential, scales: list[np.ndarray]) -> rs.Sequential:
    """The same function with hidden unit j of each ReLU layer scaled by ``c_j > 0``."""
    layers = list(net.layers)
    linears = [i for i, layer in enumerate(layers) if isinstance(layer, rs.Linear)]
    for k, c in enumerate(scales):
        i, j = linears[k], linears[k + 1]
        w, b = layers[i].weight, layers[i].bias
        layers[i] = rs.Linear(w * c[:, None], b * c)
        nxt = layers[j]
        layers[j] = rs.Linear(nxt.weight / c[None, :], nxt.bias)
    return rs.Sequential(*layers)


def test_item1_a_huge_unit_does_not_switch_off_a_small_one():
    net = rs.Sequential(rs.Linear([[1e12, 0.0], [0.0, 1.0]]), rs.ReLU())
    part = rs.partition(net, rs.Box(1.0))
    assert part.num_regions == 4
    pats = part.activation_patterns(1)
    np.testing.assert_array_equal(pats, part.centroids() > 0)
    a, c = part.affine_maps()
    f = part.locate([[0.5, 0.5]])[0]
    np.testing.assert_allclose(a[f], [[1e12, 0.0], [0.0, 1.0]], rtol=1e-12)
    check_partition(part)


@settings(max_examples=20, deadline=None)
@given(st.integers(0, 2**16), st.lists(st.floats(-3, 3), min_size=24, max_size=24))
def test_item2_positive_per_unit_rescaling_changes_nothing(seed, logc):
    net = random_mlp([2, 12, 12, 3], seed, argmax=True)
    scales = [10.0 ** np.array(logc[:12]), 10.0 ** np.array(logc[12:])]
    other = rescaled(net, scales)
    a = rs.partition(net, rs.Box(1.0))
    b = rs.partition(other, rs.Box(1.0))
    assert_partitions_equal(a, b, atol=1e-7)
    match = b.locate(a.centroids())
    for layer in a.piecewise_layers:
        np.testing.assert_array_equal(
            a.activation_patterns(layer), b.activation_patterns(layer)[match]
        )
    la, ca = a.affine_maps()
    lb, cb = b.affine_maps()
    np.testing.assert_allclose(lb[match], la, rtol=1e-6, atol=1e-9)
    check_partition(b, n=1)


def cancellation_net(last: rs.Layer) -> rs.Sequential:
    # h0 = x + 2, h1 = x + 1 (on over the box); layer 2 computes h0 - h1 - 1 = 0
    return rs.Sequential(
        rs.Linear([[1.0, 0.3], [1.0, 0.3]], [2.0, 1.0]),
        rs.ReLU(),
        rs.Linear([[1.0, -1.0], [0.0, 0.0]], [-1.0, 0.0]),
        last,
    )


def test_item3_a_unit_zero_by_cancellation_neither_cuts_nor_flips():
    part = rs.partition(cancellation_net(rs.ReLU()), rs.Box(0.5))
    assert part.num_regions == 1
    assert not part.activation_patterns(3).any()
    # an argmax tie (both logits zero) goes to the first class
    tie = rs.partition(cancellation_net(rs.Argmax()), rs.Box(0.5))
    assert tie.num_regions == 1
    assert tie.activation_patterns(3).tolist() == [[0]]
    pts = np.random.default_rng(0).uniform(-0.5, 0.5, size=(200, 2))
    assert (tie.patterns_at(pts)[3] == 0).all()


@pytest.mark.parametrize("offset", [1.0, 1e3, 1e5])
def test_translating_the_domain_and_the_network_changes_nothing(offset):
    net = random_mlp([2, 16, 16, 3], seed=4, argmax=True)
    first = net.layers[0]
    shift = np.array([offset, -offset])
    moved = rs.Sequential(
        rs.Linear(first.weight, first.bias - first.weight @ shift), *net.layers[1:]
    )
    a = rs.partition(net, rs.Box(1.0))
    b = rs.partition(moved, rs.Box(offset - 1, offset + 1, -offset - 1, -offset + 1))
    assert a.num_regions == b.num_regions
    np.testing.assert_allclose(np.sort(b.areas()), np.sort(a.areas()), atol=1e-9 * offset)
    assert (b.areas() > 0).all()
    match = b.locate(a.centroids() + shift)
    assert len(np.unique(match)) == a.num_regions
    for layer in a.piecewise_layers:
        np.testing.assert_array_equal(
            a.activation_patterns(layer), b.activation_patterns(layer)[match]
        )


def test_item6_no_silent_coercions():
    with pytest.raises(TypeError, match="real numbers"):
        rs.Linear(np.array([[1 + 2j, 0.0]]))
    with pytest.raises(ValueError, match="whole numbers"):
        rs.MaxPool([[0, 1.5]])
    with pytest.raises(ValueError, match="whole numbers"):
        rs.MaxPool(np.array([[0.0, 1.5]]))
    assert rs.MaxPool([[0.0, 1.0]]).groups.tolist() == [[0, 1]]  # whole floats are fine
    with pytest.raises(TypeError):
        rs.Box("1.0")


def test_item16_progress_does_not_change_the_cost(monkeypatch):
    import regionscope.compute.chain2d as chain2d
    import regionscope.compute.driver as compute

    calls = []
    real_cut = compute.cut

    def counting(*args, **kwargs):
        calls.append(args[1].shape[1])  # the number of units cut at once
        return real_cut(*args, **kwargs)

    monkeypatch.setattr(compute, "cut", counting)
    monkeypatch.setattr(chain2d, "CHAIN_2D", False)  # the driver, with and without progress
    net = random_mlp([2, 300, 40], seed=2)
    quiet = rs.partition(net, rs.Box(1.0))
    groups_quiet = list(calls)
    calls.clear()
    loud = rs.partition(net, rs.Box(1.0), progress=True)
    assert calls == groups_quiet  # the same cuts, in the same groups of units
    assert_partitions_equal(quiet, loud)


def test_item17_region_limit_reports_what_was_reached():
    with pytest.raises(rs.RegionLimitError) as info:
        rs.partition(random_mlp([2, 60], seed=1), rs.Box(1.0), max_regions=100)
    err = info.value
    assert err.limit == 100 and err.count > 100
    assert f"reached {err.count} regions" in str(err)
    assert "layer" in str(err) or "cuts" in str(err)


def test_item9_wide_maxout_is_merged_by_the_groups_that_change():
    # maxout over groups of 4: needless cuts of the running maximum are merged by comparing,
    # across each side the layer made, only the group that made it (and coincident ones)
    net = random_mlp([2, 40], seed=5, maxout=4)
    part = rs.partition(net, rs.Box(1.0))
    check_partition(part, n=1)  # includes: no two neighbours with equal patterns
    with rs.budget(register_values=1, chunk_values=256):  # streamed, restricted columns
        assert_partitions_equal(part, rs.partition(net, rs.Box(1.0)))


def test_item9_coincident_groups_are_compared_too():
    # groups 1 and 2 are copies of group 0: their tie lines coincide with group 0's
    rng = np.random.default_rng(3)
    w, b = rng.normal(size=(3, 2)), rng.normal(size=3) * 0.3
    net = rs.Sequential(
        rs.Linear(np.vstack([w, w, w]), np.concatenate([b, b, b])),
        rs.MaxPool([[0, 1, 2], [3, 4, 5], [6, 7, 8]]),
    )
    single = rs.partition(rs.Sequential(rs.Linear(w, b), rs.MaxPool([[0, 1, 2]])), rs.Box(1.0))
    part = rs.partition(net, rs.Box(1.0))
    check_partition(part, n=2)
    assert part.num_regions == single.num_regions
    pats = part.activation_patterns(1)
    assert (pats == pats[:, :1]).all()  # the three groups agree everywhere


def test_item9_region_limit_stops_a_wide_maxout_early():
    with pytest.raises(rs.RegionLimitError) as info:
        rs.partition(random_mlp([2, 1000], seed=0, maxout=4), rs.Box(1.0), max_regions=20_000)
    assert info.value.count > 20_000 and "layer 1" in str(info.value)


def test_item9_overlapping_windows_are_compared_too():
    # windows sharing an input: a tie in one can move the other's winner (found by hypothesis)
    rng = np.random.default_rng(3141)
    w1, b1 = rng.integers(-2, 3, (6, 2)).astype(float), rng.integers(-1, 2, 6) / 2
    w2, b2 = rng.integers(-1, 2, (5, 6)).astype(float), rng.integers(-1, 2, 5) / 2
    net = rs.Sequential(
        rs.Linear(w1, b1), rs.ReLU(), rs.Linear(w2, b2), rs.MaxPool([[0, 1, 2], [2, 3, 4]])
    )
    check_partition(rs.partition(net, rs.Box(1.0)), n=2, seed=3141)
