"""The 1-D steps."""

from __future__ import annotations

import numpy as np
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from regionscope.geometry.line import (
    changed,
    cut_line,
    cut_points,
    drop_unchanged,
    interpolate,
    merge_close,
    polygon_spans,
)


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


# ------------------------------------------------------------------ cut_points, interpolate


def classify_reference(values, unit_tol):
    s = np.sign(values).astype(np.int8)
    s[np.abs(values) <= unit_tol] = 0
    return s


def cut_line_reference(points, values, unit_tol, point_tol):
    """The zeros inserted by the signs of classify, then merge_close (the rule itself)."""
    s = classify_reference(values, unit_tol)
    piece, unit = np.nonzero((s[:-1] * s[1:]) < 0)
    za, zb = values[piece, unit], values[piece + 1, unit]
    roots = points[piece] + za / (za - zb) * (points[piece + 1] - points[piece])
    return merge_close(np.concatenate([points, roots]), points[0], points[-1], point_tol)


def test_cut_points_keeps_the_ends_and_says_where_points_come_from():
    pts = np.array([0.0, 1.0, 2.0])
    # unit 0 crosses at 0.5 and (within 1e-13 of the end) at 2 - 1e-13; unit 1 at 1.5
    values = np.array([[-1.0, 1.0], [1.0, 1.0], [-1e-13, -1.0]])
    got, order, piece, w = cut_points(pts, values, np.zeros(2), 1e-9)
    np.testing.assert_allclose(got, [0.0, 0.5, 1.0, 1.5, 2.0], atol=1e-12)
    assert got[-1] == 2.0 and got[0] == 0.0
    assert order[-1] == 2  # the end keeps its own values, not the zero merged into it
    f = np.stack([3 * pts + 1, pts**2], axis=1)  # the first is affine on every piece
    at = interpolate(f, order, piece, w)
    np.testing.assert_allclose(at[:, 0], 3 * got + 1, atol=1e-12)


def test_no_crossing_leaves_the_points_alone():
    pts = np.array([-1.0, 0.0, 1.0])
    got, order, piece, w = cut_points(pts, np.ones((3, 4)), np.zeros(4), 1e-12)
    assert got is pts and order.tolist() == [0, 1, 2] and len(piece) == 0
    x = np.arange(6.0).reshape(3, 2)
    assert interpolate(x, order, piece, w) is x


def test_changed_marks_the_points_drop_unchanged_keeps():
    pts = np.array([0.0, 1.0, 2.0, 3.0])
    pats = np.array([[1], [1], [2]])
    keep = changed(pts, pats, np.array([1.0]))
    assert keep.tolist() == [True, True, True, True]
    assert (
        pts[changed(pts, pats, np.array([]))].tolist()
        == drop_unchanged(pts, pats, np.array([])).tolist()
        == [0.0, 2.0, 3.0]
    )


@settings(max_examples=80, deadline=None)
@given(
    seed=st.integers(0, 2**31),
    npts=st.integers(2, 12),
    units=st.integers(1, 8),
    tiny=st.sampled_from([0.0, 1e-12, 1e-3]),
)
def test_property_cut_line_is_the_signs_of_classify(seed, npts, units, tiny):
    rng = np.random.default_rng(seed)
    pts = np.sort(rng.uniform(-1.0, 1.0, npts))
    assume(np.diff(pts).min() > 1e-9)
    pts[0], pts[-1] = -1.0, 1.0
    values = rng.normal(size=(npts, units)) * rng.choice([1.0, 1e-12], (npts, units))
    tol = np.full(units, tiny)
    want = cut_line_reference(pts, values, tol, 1e-9)
    got, order, piece, w = cut_points(pts, values, tol, 1e-9)
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(cut_line(pts, values, tol, 1e-9), want)
    # values affine on every piece come out exactly at the new points
    f = 2.0 * pts[:, None] - 0.5
    np.testing.assert_allclose(interpolate(f, order, piece, w)[:, 0], 2.0 * got - 0.5, atol=1e-12)
