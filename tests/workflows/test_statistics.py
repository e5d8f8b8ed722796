"""Partition statistics: by hand, against independent computations; part.stats()."""

from __future__ import annotations

import json
import math
import pickle

import numpy as np
import pytest

import regionscope as rs
from regionscope.workflows.statistics import (
    NEAR_FRACTION,
    StatsTable,
    boundary_regions,
    partition_stats,
    region_classes,
)


def random_classifier(seed: int, width: int = 12, classes: int = 3) -> rs.Sequential:
    """Two ReLU layers with normal weights and an Argmax over ``classes`` logits."""
    rng = np.random.default_rng(seed)
    return rs.Sequential(
        rs.Linear(rng.normal(size=(width, 2)), rng.normal(scale=0.5, size=width)),
        rs.ReLU(),
        rs.Linear(rng.normal(size=(width, width)) / 3, rng.normal(scale=0.3, size=width)),
        rs.ReLU(),
        rs.Linear(rng.normal(size=(classes, width)), rng.normal(scale=0.3, size=classes)),
        rs.Argmax(),
    )


def same(a: dict, b: dict) -> bool:
    """Dicts equal, NaN equal to NaN."""
    return a.keys() == b.keys() and all(
        a[k] == b[k] or (isinstance(a[k], float) and math.isnan(a[k]) and math.isnan(b[k]))
        for k in a
    )


def two_class_net(shift: float = 0.0) -> rs.Sequential:
    """Logits (x - shift, shift - x): class 0 right of x = shift."""
    return rs.Sequential(rs.Linear([[1.0, 0.0], [-1.0, 0.0]], [-shift, shift]), rs.Argmax())


def test_by_hand_one_vertical_boundary():
    part = rs.partition(two_class_net(0.5), rs.Box(1.0))
    s = partition_stats(part, near=0.25)
    assert s["regions"] == 2 and s["vertices"] == 6 and s["edges"] == 7
    assert s["area_total"] == pytest.approx(4.0)
    assert s["area_min"] == pytest.approx(1.0) and s["area_max"] == pytest.approx(3.0)
    assert s["area_median"] == pytest.approx(2.0) and s["area_mean"] == pytest.approx(2.0)
    assert s["boundary_length"] == pytest.approx(2.0)
    assert s["boundary_regions"] == 1
    # both halves touch the boundary: all regions near, none far
    assert (s["near_regions"], s["far_regions"]) == (2, 0)
    assert s["near_density"] == pytest.approx(0.5)
    assert math.isnan(s["far_density"])
    assert (s["class_0_regions"], s["class_1_regions"]) == (1, 1)


def test_by_hand_near_and_far():
    # the boundary x = 0.5, and ReLU lines x = -0.5 and x = 0.9 cutting the box in strips
    net = rs.Sequential(
        rs.Linear([[1.0, 0.0], [1.0, 0.0], [1.0, 0.0]], [0.5, -0.9, 0.0]),
        rs.ReLU(),
        rs.Linear([[0.0, 0.0, 1.0], [0.0, 0.0, -1.0]], [-0.5, 0.5]),
        rs.Argmax(),
    )
    part = rs.partition(net, rs.Box(1.0))
    # x < 0, the ReLU of unit 2 is off: logits (-0.5, 0.5), class 1; x in [0, 0.5]: class 1;
    # strips: [-1, -0.5], [-0.5, 0], [0, 0.5], [0.5, 0.9], [0.9, 1]
    assert part.num_regions == 5
    s = partition_stats(part, near=0.45)
    # strips within 0.45 of x = 0.5: [0, 0.5] (touches), [0.5, 0.9] and [0.9, 1] (0.4 away)
    assert s["near_regions"] == 3 and s["far_regions"] == 2
    assert s["near_area"] == pytest.approx(2.0) and s["far_area"] == pytest.approx(2.0)
    assert s["near_density"] == pytest.approx(1.5) and s["far_density"] == pytest.approx(1.0)
    assert s["boundary_regions"] == 1  # the strip (0, 0.9) of the ReLU layer
    assert (s["class_0_regions"], s["class_1_regions"]) == (2, 3)
    assert partition_stats(part, near=0.35)["near_regions"] == 2


def test_single_logit_boundary_is_its_zero_set():
    # no Argmax: the decision is output 0 > 0, here relu(x) - relu(y) + 0.25 = 0: the line
    # y = 0.25 in the second quadrant (length 1) and y = x + 0.25 in the first (0.75 sqrt 2)
    net = rs.Sequential(
        rs.Linear([[1.0, 0.0], [0.0, 1.0]]), rs.ReLU(), rs.Linear([[1.0, -1.0]], [0.25])
    )
    part = rs.partition(net, rs.Box(1.0))
    s = partition_stats(part)
    assert s["boundary_length"] == pytest.approx(1.0 + 0.75 * math.sqrt(2.0))
    assert s["boundary_regions"] == 2
    assert s["class_0_regions"] + s["class_1_regions"] == part.num_regions == 4
    # at the centroids output 0 is 0.25, -0.25, 0.25, 0.75 (quadrants 1 to 4)
    assert s["class_1_regions"] == 3
    # a positive output everywhere: no boundary
    shifted = rs.Sequential(
        rs.Linear([[1.0, 0.0], [0.0, 1.0]]), rs.ReLU(), rs.Linear([[1.0, 1.0]], [0.5])
    )
    s0 = partition_stats(rs.partition(shifted, rs.Box(1.0)))
    assert s0["boundary_length"] == 0.0 and s0["boundary_regions"] == 0 and s0["near_regions"] == 0


def test_default_near_distance():
    part = rs.partition(two_class_net(), rs.Box(0.0, 3.0, 0.0, 4.0))
    assert partition_stats(part)["near_distance"] == pytest.approx(NEAR_FRACTION * 5.0)


def polygon_segments_distance(poly, segments):
    """Plain loop: distance from a convex polygon to the nearest of some segments."""

    def point_seg(p, a, b):
        dx, dy = b[0] - a[0], b[1] - a[1]
        t = max(0.0, min(1.0, ((p[0] - a[0]) * dx + (p[1] - a[1]) * dy) / (dx * dx + dy * dy)))
        return math.hypot(p[0] - a[0] - t * dx, p[1] - a[1] - t * dy)

    corners = poly.tolist()
    edges = list(zip(corners, corners[1:] + corners[:1], strict=True))
    best = math.inf
    for a, b in segments.tolist():
        mid = (0.5 * (a[0] + b[0]), 0.5 * (a[1] + b[1]))
        if all((q[0] - p[0]) * (mid[1] - p[1]) - (q[1] - p[1]) * (mid[0] - p[0]) >= 0
               for p, q in edges):  # fmt: skip
            return 0.0
        for p, q in edges:
            best = min(best, point_seg(a, p, q), point_seg(b, p, q))
            best = min(best, point_seg(p, a, b), point_seg(q, a, b))
    return best


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_random_classifier_against_independent_computations(seed):
    net = random_classifier(seed)
    part = rs.partition(net, rs.Box(1.0))
    near = 0.1
    s = partition_stats(part, near=near)
    segments = part.decision_segments()
    assert len(segments) > 0
    # boundary length: summed edge lengths
    lengths = [float(np.hypot(*(b - a))) for a, b in segments]
    assert s["boundary_length"] == pytest.approx(sum(lengths))
    # boundary regions: the network without its Argmax, located at the boundary's midpoints
    before = rs.partition(rs.Sequential(*net.layers[:-1]), rs.Box(1.0))
    found = before.locate(segments.mean(axis=1))
    assert s["boundary_regions"] == len(np.unique(found))
    # near regions: polygon-to-segment distances in a plain loop (boundary edges are sides of
    # the regions beside them, so those are at distance 0 without a crossing test)
    dist = np.array(
        [polygon_segments_distance(part.polygon(f), segments) for f in range(part.num_regions)]
    )
    assert s["near_regions"] == int((dist <= near).sum())
    assert s["near_area"] == pytest.approx(float(part.areas()[dist <= near].sum()))
    # classes: the Argmax layer's pattern of each region (from its corners)
    counts = np.bincount(part.activation_patterns(-1)[:, 0], minlength=3)
    assert [s[f"class_{c}_regions"] for c in range(3)] == counts.tolist()
    areas = part.areas()
    assert s["area_q25"] == pytest.approx(np.quantile(areas, 0.25))
    assert s["area_std"] == pytest.approx(areas.std())


def test_region_classes_and_boundary_regions_without_a_boundary():
    part = rs.partition(rs.testing.tiny_cross(), rs.Box(1.0))
    classes, k = region_classes(part)
    assert k == 2
    # outputs relu(x), relu(y): the larger one at each centroid
    want = part.region_values(part.centroids()).argmax(axis=1)
    assert classes.tolist() == want.tolist()
    positive = rs.Sequential(rs.Linear([[1.0, 1.0]], [5.0]))  # one output, no zero set
    assert boundary_regions(rs.partition(positive, rs.Box(1.0))) == 0


def test_part_stats_is_the_summary_and_timings_stay_apart():
    part = rs.partition(random_classifier(3, width=8), rs.Box(1.0))
    # the argmax's time; the ReLUs' too, unless the compiled chain cut them (its own time)
    seconds = part.timings["layer_seconds"]
    assert set(seconds) <= set(part.piecewise_layers) and part.piecewise_layers[-1] in seconds
    assert set(seconds) == set(part.piecewise_layers) or part.timings["chain_seconds"] > 0
    assert same(part.stats(), partition_stats(part))
    assert same(part.stats(near=0.3), partition_stats(part, near=0.3))
    assert part.stats(near=0.3)["near_regions"] > 0
    again = rs.partitions.from_arrays(part.to_arrays())
    assert again.timings == part.timings and same(again.stats(), part.stats())
    more = part.add(rs.Linear(np.eye(3)), rs.ReLU())
    chained = set(part.piecewise_layers) - set(seconds)  # (the chain's: its own time)
    assert set(more.timings["layer_seconds"]) == set(more.piecewise_layers) - chained
    assert json.loads(json.dumps(part.timings))["layer_seconds"]
    back = pickle.loads(pickle.dumps(part))
    assert back.timings == part.timings and back.stats()["regions"] == part.num_regions


def test_stats_table_and_pandas():
    pd = pytest.importorskip("pandas")
    table = StatsTable([{"step": 0, "regions": 4}, {"step": 5, "regions": 7, "born": 3}])
    frame = table.to_pandas()
    assert isinstance(frame, pd.DataFrame)
    assert frame["regions"].tolist() == [4, 7]
    assert np.isnan(table.column("born")[0]) and table.column("born")[1] == 3
    with pytest.raises(KeyError, match="no column"):
        table.column("nothing")


def test_input_checks():
    part = rs.partition(two_class_net(), rs.Box(1.0))
    with pytest.raises(ValueError, match="near must be >= 0"):
        partition_stats(part, near=-1.0)
    with pytest.raises(TypeError, match="near must be a number"):
        partition_stats(part, near="far")
    line = rs.partition(two_class_net(), rs.Segment([0.0, 0.0], [1.0, 1.0]))
    with pytest.raises(TypeError, match="2-D Partition"):
        partition_stats(line)
