"""The 1-D steps."""

from __future__ import annotations

import numpy as np

from regionscope.geometry.line import cut_line, drop_unchanged, merge_close


def test_cut_line_inserts_zeros_and_snaps_within_tolerance():
    pts = np.array([-1.0, 1.0])
    values = np.stack([pts - 0.25, 2 * (pts - 0.25), 1e-17 * pts], axis=1)
    out = cut_line(pts, values, np.array([0.0, 0.0, 1e-12]), 1e-12)
    np.testing.assert_allclose(out, [-1.0, 0.25, 1.0])  # one point for two units


def test_merge_close_clips_and_keeps_the_ends():
    out = merge_close(np.array([5.0, -5.0, 0.0, 0.0]), -1.0, 2.0, 1e-9)
    assert out.tolist() == [-1.0, 0.0, 2.0]


def test_drop_unchanged_keeps_points_from_before():
    pts = np.array([0.0, 1.0, 2.0, 3.0])
    pats = np.array([[1], [1], [1]])
    assert drop_unchanged(pts, pats, np.array([2.0])).tolist() == [0.0, 2.0, 3.0]
