"""Local complexity: by hand, against an independent brute-force count, and its checks."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import regionscope as rs
from regionscope.workflows.complexity import local_complexity, regions_within


def brute_force_count(part, point, radius):
    """Regions whose polygon is within ``radius`` of ``point``: a plain loop over the polygons.

    Also returns the smallest gap between a polygon's distance and the radius (near-ties
    are decided by rounding, so tests skip them).
    """
    px, py = float(point[0]), float(point[1])
    count, gap = 0, math.inf
    for f in range(part.num_regions):
        poly = part.polygon(f).tolist()
        k = len(poly)
        inside = True
        dist = math.inf
        for i in range(k):
            (ax, ay), (bx, by) = poly[i], poly[(i + 1) % k]
            if (bx - ax) * (py - ay) - (by - ay) * (px - ax) < 0:
                inside = False
            dx, dy = bx - ax, by - ay
            t = max(0.0, min(1.0, ((px - ax) * dx + (py - ay) * dy) / (dx * dx + dy * dy)))
            dist = min(dist, math.hypot(px - ax - t * dx, py - ay - t * dy))
        d = 0.0 if inside else dist
        gap = min(gap, abs(d - radius))
        count += d <= radius
    return count, gap


def test_quadrants_by_hand():
    part = rs.partition(rs.testing.tiny_cross(), rs.Box(1.0))
    # (0.3, 0.4) is 0.3 from x = 0, 0.4 from y = 0 and 0.5 from the origin
    p = [[0.3, 0.4]]
    counts = [int(local_complexity(part, p, r)[0]) for r in (0.2, 0.35, 0.45, 0.55)]
    assert counts == [1, 2, 3, 4]
    assert part.local_complexity(p, 0.45).tolist() == [3]


def test_touching_counts_and_zero_radius():
    part = rs.partition(rs.testing.tiny_cross(), rs.Box(1.0))
    # exactly 0.5 from x = 0 and from y = 0 (and 0.71 from the third quadrant): the
    # closed disk touches two more quadrants
    assert local_complexity(part, [[0.5, 0.5]], 0.5).tolist() == [3]
    assert local_complexity(part, [[0.5, 0.5]], 0.0).tolist() == [1]
    # a point outside the domain meets only the regions its disk reaches
    assert local_complexity(part, [[3.0, 0.5], [1.2, 0.5]], 0.5).tolist() == [0, 1]


def test_radius_per_point_and_regions_within():
    part = rs.partition(rs.testing.tiny_cross(), rs.Box(1.0))
    pts = [[0.3, 0.4], [0.3, 0.4], [-0.5, -0.5]]
    assert local_complexity(part, pts, [0.2, 0.55, 0.1]).tolist() == [1, 4, 1]
    offsets, regions = regions_within(part, pts, [0.2, 0.55, 0.1])
    assert offsets.tolist() == [0, 1, 5, 6]
    assert regions[1:5].tolist() == [0, 1, 2, 3]
    assert regions[0] == part.locate([[0.3, 0.4]])[0]
    assert regions[5] == part.locate([[-0.5, -0.5]])[0]


@settings(max_examples=12, deadline=None)
@given(st.integers(0, 10_000), st.floats(0.01, 0.8))
def test_equals_brute_force_on_random_networks(seed, radius):
    net = rs.testing.random_mlp([2, 10, 10, 3], seed=seed, argmax=True)
    part = rs.partition(net, rs.Box(1.0))
    rng = np.random.default_rng(seed)
    pts = np.vstack([rng.uniform(-1.2, 1.2, (15, 2)), part.vertices[:3]])
    got = local_complexity(part, pts, radius)
    for i, p in enumerate(pts):
        want, gap = brute_force_count(part, p, radius)
        assume(gap > 1e-9)
        assert got[i] == want


def test_equals_brute_force_on_a_plane_of_a_deeper_network():
    rng = np.random.default_rng(3)
    net = rs.testing.random_mlp([5, 16, 16, 16], seed=3)
    plane = rs.Plane(rng.normal(size=(3, 5)))
    part = rs.partition(net, plane)
    pts = plane.to_plane(rng.normal(size=(20, 5)) * 0.5)
    got = local_complexity(part, pts, 0.3)
    for i, p in enumerate(pts):
        want, gap = brute_force_count(part, p, 0.3)
        assert gap > 1e-9
        assert got[i] == want
    assert got.max() > 3  # the disks do meet several regions


def test_bigger_disks_meet_more_regions():
    part = rs.partition(rs.testing.random_mlp([2, 16, 16], seed=5), rs.Box(1.0))
    pts = np.random.default_rng(5).uniform(-1, 1, (40, 2))
    counts = [local_complexity(part, pts, r) for r in (0.0, 0.05, 0.2, 3.0)]
    assert (counts[0] >= 1).all()
    for small, big in zip(counts[:-1], counts[1:], strict=True):
        assert (small <= big).all()
    assert (counts[-1] == part.num_regions).all()  # a disk holding the whole box


def test_input_checks():
    part = rs.partition(rs.testing.tiny_cross(), rs.Box(1.0))
    with pytest.raises(ValueError, match="radius must be >= 0"):
        local_complexity(part, [[0.0, 0.0]], -1.0)
    with pytest.raises(ValueError, match=r"points must have shape \(N, 2\)"):
        local_complexity(part, [[0.0, 0.0, 0.0]], 1.0)
    with pytest.raises(ValueError, match="radius must be a number or have shape"):
        local_complexity(part, [[0.0, 0.0]], [1.0, 2.0])
    with pytest.raises(ValueError, match="finite"):
        local_complexity(part, [[np.nan, 0.0]], 1.0)
    line = rs.partition(rs.testing.tiny_cross(), rs.Segment([0.0, 0.0], [1.0, 1.0]))
    with pytest.raises(TypeError, match="2-D Partition"):
        local_complexity(line, [[0.0, 0.0]], 1.0)
