"""Max layers on an affine input: the windowed cut against the stage-by-stage driver."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import regionscope as rs
import regionscope.compute.driver as driver
from regionscope.compute.windowed import stage_lines, stage_values
from regionscope.testing import assert_partitions_equal, check_partition


def maxout(groups: int, k: int, seed: int, ragged: bool = False) -> rs.Sequential:
    rng = np.random.default_rng(seed)
    table = np.arange(groups * k).reshape(groups, k)
    if ragged:  # some groups shorter (padded with -1)
        table = table.copy()
        table[::3, k - 1] = -1
    return rs.Sequential(
        rs.Linear(rng.normal(size=(groups * k, 2)), rng.normal(size=groups * k)),
        rs.MaxPool(table),
    )


def stagewise(net, domain, monkeypatch):
    """The partition the driver makes stage by stage (no windowed cut)."""
    with monkeypatch.context() as m:
        m.setattr(driver, "affine_input", lambda ev, op: None)
        return rs.partition(net, domain)


@settings(max_examples=12, deadline=None)
@given(seed=st.integers(0, 10**6), groups=st.integers(1, 70), k=st.integers(2, 5),
       ragged=st.booleans())
def test_windowed_equals_stagewise(seed, groups, k, ragged):
    net = maxout(groups, k, seed, ragged and k > 2)
    with pytest.MonkeyPatch.context() as mp:
        slow = stagewise(net, rs.Box(1.0), mp)
    fast = rs.partition(net, rs.Box(1.0))
    assert_partitions_equal(fast, slow)
    np.testing.assert_array_equal(
        fast.activation_patterns(1)[fast.locate(slow.centroids())], slow.activation_patterns(1)
    )


def test_windowed_partition_is_exact_and_covers_many_blocks():
    net = maxout(150, 4, seed=7)  # several blocks of groups
    part = rs.partition(net, rs.Box(1.0))
    check_partition(part, n=1)
    # neighbours differ in pattern: the merge after each block left no needless side
    keys = part.pattern_keys()
    inner = part.edge_regions[part.edge_regions[:, 1] >= 0]
    assert (keys[inner[:, 0]] != keys[inner[:, 1]]).all()


def test_argmax_head_on_a_linear_model_and_a_plane():
    rng = np.random.default_rng(1)
    net = rs.Sequential(rs.Linear(rng.normal(size=(6, 5)), rng.normal(size=6)), rs.Argmax())
    plane = rs.Plane(rng.normal(size=(3, 5)))
    fast = rs.partition(net, plane)
    with pytest.MonkeyPatch.context() as mp:
        slow = stagewise(net, plane, mp)
    assert_partitions_equal(fast, slow)
    check_partition(fast, n=2)


def test_region_limit_names_the_layer():
    with pytest.raises(rs.RegionLimitError, match="layer 1"):
        rs.partition(maxout(60, 4, seed=2), rs.Box(1.0), max_regions=50)


def test_stage_lines_hand_example():
    # inputs x0 = u, x1 = v, x2 = 1: stage 1 compares x2 with x0 and with x1
    group, normal, offset = stage_lines(np.array([[0, 1, 2]]), 1, np.eye(2, 3),
                                        np.array([0.0, 0.0, 1.0]))
    assert group.tolist() == [0, 0]
    assert normal.tolist() == [[-1.0, 0.0], [0.0, -1.0]]
    assert offset.tolist() == [1.0, 1.0]


def test_stage_values_hand_example():
    cols = np.array([[0, 1, 2], [0, 1, -1]])
    lin, off = np.eye(2, 3), np.array([0.0, 0.0, 0.5])
    pts = np.array([[1.0, 2.0], [1.0, 2.0]])
    z, w = stage_values(pts, cols, 1, (lin, off), np.zeros(2))
    # group 0: max(x0, x1) - x2 = 2 - 0.5; winner x1.  group 1: no x2, nothing to cut
    assert z.tolist() == [1.5, 1.0] and w.tolist() == [1, 1]
    # ties within the tolerance go to the first input
    z, w = stage_values(np.array([[1.0, 1.0 + 1e-13]]), cols[:1], 0, (lin, off), np.array([1e-12]))
    assert w.tolist() == [0]
