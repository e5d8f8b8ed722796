"""Boxes paired on a grid, segment distances and polygons near segments, against plain loops."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import regionscope as rs
from regionscope.workflows.proximity import box_pairs, polygons_near_segments, segment_distances


def sampled_distance(p0, p1, q0, q1, n=401):
    """Distance between two segments from points sampled along both (an upper bound)."""
    t = np.linspace(0.0, 1.0, n)[:, None]
    a = p0 + t * (p1 - p0)
    b = q0 + t * (q1 - q0)
    return float(np.sqrt(((a[:, None, :] - b[None, :, :]) ** 2).sum(axis=2)).min())


coord = st.floats(-10, 10, allow_nan=False)


@settings(max_examples=50, deadline=None)
@given(st.lists(coord, min_size=8, max_size=8), st.booleans())
def test_segment_distance_matches_dense_sampling(xs, point):
    p0, p1, q0, q1 = (np.array(xs[i : i + 2]) for i in range(0, 8, 2))
    if point:
        q1 = q0.copy()  # a segment of length zero: a point
    got = segment_distances(p0[None], p1[None], q0[None], q1[None])[0]
    sampled = sampled_distance(p0, p1, q0, q1)
    step = (np.hypot(*(p1 - p0)) + np.hypot(*(q1 - q0))) / 400
    assert got <= sampled + 1e-9
    assert sampled <= got + step + 1e-9


def test_segment_distance_by_hand():
    # crossing, touching at an end, parallel 2 apart, a point 5 from a segment's end
    p0 = np.array([[0.0, 0.0], [0.0, 0.0], [0.0, 0.0], [0.0, 0.0]])
    p1 = np.array([[2.0, 2.0], [2.0, 0.0], [4.0, 0.0], [1.0, 0.0]])
    q0 = np.array([[0.0, 2.0], [2.0, 0.0], [1.0, 2.0], [4.0, 4.0]])
    q1 = np.array([[2.0, 0.0], [3.0, 5.0], [3.0, 2.0], [4.0, 4.0]])
    assert segment_distances(p0, p1, q0, q1).tolist() == [0.0, 0.0, 2.0, 5.0]


boxes = st.lists(
    st.tuples(coord, coord, st.floats(0, 6), st.floats(0, 6)), min_size=0, max_size=25
)


def as_boxes(items):
    arr = np.array(items, dtype=np.float64).reshape(-1, 4)
    return arr[:, :2], arr[:, :2] + arr[:, 2:]


@settings(max_examples=80, deadline=None)
@given(boxes, boxes)
def test_box_pairs_equal_all_pairs(a, b):
    lo_a, hi_a = as_boxes(a)
    lo_b, hi_b = as_boxes(b)
    ia, ib = box_pairs(lo_a, hi_a, lo_b, hi_b)
    want = sorted(
        (j, i)
        for i in range(len(lo_a))
        for j in range(len(lo_b))
        if (lo_a[i] <= hi_b[j]).all() and (lo_b[j] <= hi_a[i]).all()
    )
    assert list(zip(ib.tolist(), ia.tolist(), strict=True)) == want


def test_box_pairs_with_tiny_and_huge_boxes():
    # one box covering everything, many tiny ones: the grid follows the median size
    rng = np.random.default_rng(1)
    lo_a = rng.uniform(0, 100, (300, 2))
    hi_a = lo_a + rng.uniform(0, 0.01, (300, 2))
    lo_a = np.vstack([lo_a, [[-1.0, -1.0]]])
    hi_a = np.vstack([hi_a, [[101.0, 101.0]]])
    lo_b = rng.uniform(0, 100, (50, 2))
    hi_b = lo_b + 1.0
    ia, ib = box_pairs(lo_a, hi_a, lo_b, hi_b)
    overlap = (lo_a[:, None] <= hi_b[None]).all(2) & (lo_b[None] <= hi_a[:, None]).all(2)
    assert len(ia) == int(overlap.sum())
    assert overlap[ia, ib].all()
    assert (ia == 300).sum() == 50


def polygon_segment_distance(poly, s0, s1):
    """Plain-Python distance from a convex counter-clockwise polygon to a segment."""

    def point_seg(p, a, b):
        dx, dy = b[0] - a[0], b[1] - a[1]
        dd = dx * dx + dy * dy
        t = 0.0 if dd == 0 else max(0.0, min(1.0, ((p[0] - a[0]) * dx + (p[1] - a[1]) * dy) / dd))
        return math.hypot(p[0] - a[0] - t * dx, p[1] - a[1] - t * dy)

    def inside(p):
        return all(
            (poly[(k + 1) % len(poly)][0] - poly[k][0]) * (p[1] - poly[k][1])
            - (poly[(k + 1) % len(poly)][1] - poly[k][1]) * (p[0] - poly[k][0])
            >= 0
            for k in range(len(poly))
        )

    if inside(s0) or inside(s1):
        return 0.0
    best = math.inf
    for k in range(len(poly)):
        a, b = poly[k], poly[(k + 1) % len(poly)]
        # proper crossing of side and segment
        d1 = (b[0] - a[0]) * (s0[1] - a[1]) - (b[1] - a[1]) * (s0[0] - a[0])
        d2 = (b[0] - a[0]) * (s1[1] - a[1]) - (b[1] - a[1]) * (s1[0] - a[0])
        d3 = (s1[0] - s0[0]) * (a[1] - s0[1]) - (s1[1] - s0[1]) * (a[0] - s0[0])
        d4 = (s1[0] - s0[0]) * (b[1] - s0[1]) - (s1[1] - s0[1]) * (b[0] - s0[0])
        if d1 * d2 < 0 and d3 * d4 < 0:
            return 0.0
        best = min(best, point_seg(s0, a, b), point_seg(s1, a, b))
        best = min(best, point_seg(a, s0, s1), point_seg(b, s0, s1))
    return best


@settings(max_examples=15, deadline=None)
@given(st.integers(0, 10_000), st.floats(0.0, 0.6))
def test_polygons_near_segments_equal_a_plain_loop(seed, radius):
    part = rs.partition(rs.testing.random_mlp([2, 8, 8], seed=seed), rs.Box(1.0))
    rng = np.random.default_rng(seed)
    starts = rng.uniform(-1.5, 1.5, (12, 2))
    ends = starts + rng.normal(scale=0.5, size=(12, 2)) * (rng.random((12, 1)) < 0.7)
    query, region = polygons_near_segments(
        part.vertices, part.region_vertices, part.region_offsets,
        starts, ends, np.full(12, radius),
    )  # fmt: skip
    got = set(zip(query.tolist(), region.tolist(), strict=True))
    want = set()
    for f in range(part.num_regions):
        poly = part.polygon(f).tolist()
        for i in range(12):
            d = polygon_segment_distance(poly, starts[i].tolist(), ends[i].tolist())
            assume(abs(d - radius) > 1e-9)  # not a tie within rounding
            if d <= radius:
                want.add((i, f))
    assert got == want
