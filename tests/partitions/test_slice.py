"""Slices of a 2-D partition, and 1-D partitions, along a unit's zero line.

The report: a segment lying along a unit's zero line (through two vertices of
the 2-D partition on that unit's line, or a ``Segment`` / ``Interval`` on
which a unit is zero) got breakpoints where nothing changes, and
``Partition.slice`` disagreed with the 1-D partition computed directly.
Along such a segment the unit is zero (its values are within its tolerance):
it neither cuts nor changes patterns, and counts as off.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import regionscope as rs
from regionscope import compute
from regionscope.domains import SliceOf
from regionscope.network.program import compile_model
from regionscope.partitions.linear import Partition1D
from regionscope.testing import random_mlp

BOX = rs.Box(1.0)


def three_lines(angle: float = 0.0) -> rs.Sequential:
    """Units ``x``, ``y`` and ``x + y - 0.5`` of the input turned by ``angle``."""
    c, s = np.cos(angle), np.sin(angle)
    w = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]) @ np.array([[c, s], [-s, c]])
    return rs.Sequential(rs.Linear(w, [0.0, 0.0, -0.5]), rs.ReLU())


def across(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The line through ``a`` and ``b``, clipped to the box ``[-1, 1]^2``."""
    d = (b - a) / np.linalg.norm(b - a)
    moving = d != 0
    t1 = (-1.0 - a[moving]) / d[moving]
    t2 = (1.0 - a[moving]) / d[moving]
    lo, hi = np.minimum(t1, t2).max(), np.maximum(t1, t2).min()
    return np.clip(a + lo * d, -1.0, 1.0), np.clip(a + hi * d, -1.0, 1.0)


def assert_no_twins(line: Partition1D) -> None:
    """No two neighbouring pieces have equal patterns (no breakpoint where nothing changes)."""
    keys = line.pattern_keys()
    assert not (keys[1:] == keys[:-1]).any(), line.points


def assert_same(sliced: Partition1D, straight: Partition1D) -> None:
    """The slice equals the 1-D partition computed directly."""
    assert_no_twins(sliced)
    assert_no_twins(straight)
    assert sliced.num_regions == straight.num_regions, (sliced.points, straight.points)
    np.testing.assert_allclose(sliced.points, straight.points, rtol=0, atol=1e-9)
    np.testing.assert_array_equal(sliced.breakpoint_layer, straight.breakpoint_layer)
    np.testing.assert_array_equal(sliced.breakpoint_neuron, straight.breakpoint_neuron)
    mine, theirs = sliced.activation_patterns(), straight.activation_patterns()
    assert mine.keys() == theirs.keys()
    at_mine, at_theirs = (x.patterns_at(sliced.midpoints()) for x in (sliced, straight))
    for i in mine:
        np.testing.assert_array_equal(mine[i], theirs[i])
        np.testing.assert_array_equal(at_mine[i], at_theirs[i])


def check_slice(part: rs.Partition, p: np.ndarray, q: np.ndarray) -> Partition1D:
    """Slice ``part`` from ``p`` to ``q``, check it against the direct 1-D partition."""
    sliced = part.slice(p, q)
    assert_same(sliced, rs.partition(part.model, SliceOf(part.domain, p, q)))
    return sliced


def zero_unit_is_silent(line: Partition1D, layer: int, unit: int) -> None:
    """A unit zero along the whole line: off on every piece, never a breakpoint's source."""
    assert not line.activation_patterns(layer)[:, unit].any()
    made = (line.breakpoint_layer == layer) & (line.breakpoint_neuron == unit)
    assert not made.any(), line.breakpoints[made]


# ---------------------------------------------------------------- a hand example


@pytest.mark.parametrize("angle", [0.0, 0.3, 1.1, 2.5])
def test_segment_along_a_zero_line_has_no_spurious_breakpoints(angle):
    net = three_lines(angle)
    part = rs.partition(net, BOX)
    c, s = np.cos(angle), np.sin(angle)
    turn = np.array([[c, -s], [s, c]])  # the input turned back: x = 0 is this line
    # the line x = 0 through two of its vertices, across the box
    on_line = part.vertices[np.abs(part.vertices @ turn[:, 0]) < 1e-12]
    assert len(on_line) >= 3
    first, last = on_line[np.argsort(on_line @ turn[:, 1])[[0, -1]]]
    p, q = across(first, last)
    sliced = part.slice(p, q)
    origin = -(p @ turn[:, 1])  # where y = 0 along the slice
    for straight in (
        rs.partition(net, SliceOf(BOX, p, q)),
        rs.partition(net, rs.Segment(p, q, margin=0.0)),
    ):
        # exactly the breakpoints where y and x + y - 0.5 change sign
        np.testing.assert_allclose(straight.breakpoints, origin + np.array([0.0, 0.5]))
        np.testing.assert_array_equal(straight.breakpoint_layer, [1, 1])
        np.testing.assert_array_equal(straight.breakpoint_neuron, [1, 2])
        np.testing.assert_array_equal(
            straight.activation_patterns(1), [[0, 0, 0], [0, 1, 0], [0, 1, 1]]
        )
        assert_same(sliced, straight)
    # between two vertices on the line, and the other way round
    between = on_line[np.argsort(on_line @ turn[:, 1])]
    for a, b in zip(between[:-1], between[1:], strict=True):
        assert check_slice(part, a, b).num_regions == 1
        assert check_slice(part, b, a).num_regions == 1
    assert check_slice(part, q, p).num_regions == 3


def test_interval_with_a_unit_zero_up_to_rounding_has_no_spurious_breakpoints():
    # unit 0 is 1e-12 s: within its tolerance everywhere, leaning either way by more than
    # rounding noise; unit 1 is s - 0.5
    net = rs.Sequential(
        rs.Linear([[1.0 + 1e-12], [1.0], [1.0]], [0.0, 0.0, -0.5]),
        rs.Linear([[1.0, -1.0, 0.0], [0.0, 0.0, 1.0]]),
        rs.ReLU(),
    )
    dom = rs.Interval(-1.0, 1.0)
    line = rs.partition(net, dom)
    np.testing.assert_allclose(line.breakpoints, [0.5])
    zero_unit_is_silent(line, 2, 0)
    np.testing.assert_array_equal(line.breakpoint_neuron, [1])
    # candidate cuts where only unit 0's rounding changes side merge away
    ev = compute.evaluator(dom, compile_model(net, 1))
    cuts = np.array([-1.0, -0.5, 0.0, 0.25, 0.5, 1.0])
    merged = Partition1D.from_candidates(dom, ev, cuts)
    np.testing.assert_array_equal(merged.points, line.points)
    zero_unit_is_silent(merged, 2, 0)


# ---------------------------------------------------------------- random networks


def first_layer_edges(part: rs.Partition) -> list[tuple[int, np.ndarray, np.ndarray]]:
    """Each edge made by the first piecewise layer: its unit and its two vertices."""
    first = part.edge_layer == part.piecewise_layers[0]
    ends = part.vertices[part.edges[first]]
    return [(int(u), a, b) for u, (a, b) in zip(part.edge_neuron[first], ends, strict=True)]


@pytest.mark.parametrize("maxout", [False, True])
@pytest.mark.parametrize("seed", [4, 17, 19, 22, 24, 30, 32, 37])
def test_slice_along_a_first_layer_line_through_two_vertices(seed, maxout):
    net = random_mlp([2, 5, 5], seed, maxout=2) if maxout else random_mlp([2, 8, 8], seed)
    part = rs.partition(net, BOX)
    first = part.piecewise_layers[0]
    for unit, a, b in first_layer_edges(part):
        check_slice(part, a, b)  # the edge itself
        line = check_slice(part, *across(a, b))  # its line, across the box
        if not maxout:  # a ReLU zero along the line: off, no breakpoint of its own
            zero_unit_is_silent(line, first, unit)


def network(seed: int, kind: int) -> rs.Sequential:
    if kind == 0:
        return random_mlp([2, 8, 8], seed)
    if kind == 1:
        return random_mlp([2, 6, 6, 3], seed, argmax=True)
    return random_mlp([2, 5, 5], seed, maxout=2)


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    kind=st.integers(0, 2),
    ends=st.lists(st.floats(-1.0, 1.0), min_size=4, max_size=4),
    pick=st.integers(0, 10_000),
)
def test_slice_equals_the_direct_1d_partition(seed, kind, ends, pick):
    part = rs.partition(network(seed, kind), BOX)
    p, q = np.array(ends[:2]), np.array(ends[2:])
    if np.hypot(*(q - p)) > 1e-3:
        check_slice(part, p, q)
    made = np.flatnonzero(part.edge_layer >= 0)
    if len(made):  # along an edge (of any layer), and along the line of a first-layer one
        a, b = part.vertices[part.edges[made[pick % len(made)]]]
        check_slice(part, a, b)
        lines = first_layer_edges(part)
        if lines:
            _, a, b = lines[pick % len(lines)]
            check_slice(part, *across(a, b))


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), kind=st.integers(0, 2), pick=st.integers(0, 10_000))
def test_pieces_are_never_adjacent_with_equal_patterns(seed, kind, pick):
    net = network(seed, kind)
    part = rs.partition(net, BOX)
    made = np.flatnonzero(part.edge_layer >= 0)
    if not len(made):
        return
    a, b = part.vertices[part.edges[made[pick % len(made)]]]
    sliced = part.slice(a, b)
    segment = rs.partition(net, rs.Segment(a, b, margin=0.0))  # the same line, as a Segment
    assert_same(sliced, segment)
    for line in (part.slice(*across(a, b)), rs.partition(net, rs.Segment(a, b, margin=2.0))):
        assert_no_twins(line)
