"""The 1-D steps."""

from __future__ import annotations

import numpy as np

from regionscope.geometry.line import cut_line, drop_unchanged, merge_close, polygon_spans


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


def test_polygon_spans_along_a_side_through_a_corner_and_across():
    # the unit square cut by its diagonal: two triangles
    xy = np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]])
    tri = np.array([0, 1, 2, 0, 2, 3])
    starts = np.array([0, 3])
    nxt = np.array([1, 2, 0, 4, 5, 3])

    def spans(p, d, verts=xy):
        d = np.asarray(d, float) / np.hypot(*d)
        rel = verts - np.asarray(p, float)
        off = rel[:, 0] * d[1] - rel[:, 1] * d[0]
        return polygon_spans(off, rel @ d, tri, nxt, starts, 1e-12)

    # along the bottom side, its far corner off the line by rounding: the lower triangle
    # meets it in the side, the upper one in its corner (0, 0)
    lo, hi = spans([0.0, 0.0], [1.0, 1e-17])
    assert lo.tolist() == [0.0, 0.0] and hi.tolist() == [1.0, 0.0]
    # along the diagonal: both triangles meet it in the whole diagonal
    lo, hi = spans([0.0, 0.0], [1.0, 1.0])
    np.testing.assert_allclose(lo, [0.0, 0.0], atol=1e-15)
    np.testing.assert_allclose(hi, [np.sqrt(2)] * 2)
    # through the corner (1, 0) only: a single point of the lower triangle
    lo, hi = spans([2.0, 1.0], [1.0, 1.0])
    np.testing.assert_allclose(lo, [-np.sqrt(2), np.inf])
    np.testing.assert_allclose(hi, [-np.sqrt(2), -np.inf])
    # across both: x = 0.5
    lo, hi = spans([0.5, -1.0], [0.0, 1.0])
    np.testing.assert_allclose(lo, [1.0, 1.5])
    np.testing.assert_allclose(hi, [1.5, 2.0])
