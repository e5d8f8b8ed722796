"""boxes_meeting_lines against a test of every pair."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from regionscope.geometry.grid import boxes_meeting_lines


def brute_force(lo, hi, normal, offset, pad):
    corners = [
        (lo[:, 0], lo[:, 1]),
        (lo[:, 0], hi[:, 1]),
        (hi[:, 0], lo[:, 1]),
        (hi[:, 0], hi[:, 1]),
    ]
    vals = (
        np.stack(
            [x[:, None] * normal[None, :, 0] + y[:, None] * normal[None, :, 1] for x, y in corners]
        )
        + offset
    )
    meets = (vals.min(axis=0) <= pad) & (vals.max(axis=0) >= -pad)
    return set(zip(*(a.tolist() for a in np.nonzero(meets)), strict=True))


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    nbox=st.integers(1, 400),
    nline=st.integers(1, 60),
    axis_aligned=st.booleans(),
    shift=st.sampled_from([0.0, 1e6]),
)
def test_every_meeting_pair_is_found_and_only_those(seed, nbox, nline, axis_aligned, shift):
    rng = np.random.default_rng(seed)
    centre = rng.uniform(-1, 1, (nbox, 2)) + shift
    half = rng.exponential(0.05, (nbox, 2)) * (rng.random((nbox, 1)) < 0.9)  # some points
    normal = rng.normal(size=(nline, 2))
    if axis_aligned:
        normal[:, rng.integers(0, 2)] = 0.0
        normal[np.abs(normal).sum(axis=1) == 0, 0] = 1.0
    # lines through random points of the cloud, some exactly through box corners
    through = centre[rng.integers(0, nbox, nline)] + half[rng.integers(0, nbox, nline)]
    offset = -(normal * through).sum(axis=1)
    pad = rng.uniform(0, 0.01, nline) * (rng.random(nline) < 0.7)
    box, line = boxes_meeting_lines(centre - half, centre + half, normal, offset, pad)
    got = set(zip(box.tolist(), line.tolist(), strict=True))
    want = brute_force(centre - half, centre + half, normal, offset, pad)
    assert want <= got  # conservative: nothing missed
    # and nothing far: every reported pair is within rounding of meeting
    lo, hi = centre[box] - half[box], centre[box] + half[box]
    n, o = normal[line], offset[line]
    vmin = (
        o
        + np.minimum(n[:, 0] * lo[:, 0], n[:, 0] * hi[:, 0])
        + np.minimum(n[:, 1] * lo[:, 1], n[:, 1] * hi[:, 1])
    )
    vmax = (
        o
        + np.maximum(n[:, 0] * lo[:, 0], n[:, 0] * hi[:, 0])
        + np.maximum(n[:, 1] * lo[:, 1], n[:, 1] * hi[:, 1])
    )
    slack = pad[line] + 1e-6 * (np.abs(n).sum(axis=1) * (1 + shift))
    assert ((vmin <= slack) & (vmax >= -slack)).all()
    assert np.all(np.diff(box * nline + line) > 0)  # sorted, each once


def test_hand_example():
    lo = np.array([[0.0, 0.0], [2.0, 0.0], [0.0, 2.0]])
    hi = np.array([[1.0, 1.0], [3.0, 1.0], [1.0, 3.0]])
    normal = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, -1.0]])  # x = 2.5, y = 0.5, x = y
    box, line = boxes_meeting_lines(lo, hi, normal, np.array([-2.5, -0.5, 0.0]), np.zeros(3))
    assert list(zip(box.tolist(), line.tolist(), strict=True)) == [(0, 1), (0, 2), (1, 0), (1, 1)]


def test_empty_inputs():
    box, line = boxes_meeting_lines(
        np.zeros((0, 2)), np.zeros((0, 2)), np.ones((2, 2)), np.zeros(2), np.zeros(2)
    )
    assert len(box) == len(line) == 0


def test_a_point_box_on_a_line_through_it():
    """A box of no size (one point) with lines through it exactly: found, whatever rounding."""
    point = np.array([[-0.85304637, -0.84335682]])
    normal = np.array([[1.57231287, 1.01081542], [0.27252432, -0.52596469]])
    offset = -(normal @ point[0])
    box, line = boxes_meeting_lines(point, point, normal, offset, np.zeros(2))
    assert box.tolist() == [0, 0] and line.tolist() == [0, 1]


def test_a_line_of_zero_normal_meets_every_box_or_none():
    lo = np.array([[0.0, 0.0], [2.0, 0.0], [5.0, 5.0]])
    hi = lo + 1.0
    normal = np.zeros((2, 2))
    box, line = boxes_meeting_lines(lo, hi, normal, np.array([1e-15, 1.0]), np.full(2, 1e-12))
    assert box.tolist() == [0, 1, 2] and line.tolist() == [0, 0, 0]
