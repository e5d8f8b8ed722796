"""Partitions: hand-computed answers, invariants, degenerate arrangements, oracles."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import regionscope as rs
from regionscope.testing import (
    assert_partitions_equal,
    check_partition,
    line_arrangement_count,
    random_mlp,
    tiny_cross,
    tiny_lines,
)

BOX = (-1.0, 1.0, -1.0, 1.0)


# ---------------------------------------------------------------- hand-computed answers


def test_quadrants():
    part = rs.partition(tiny_cross(), rs.Box(1.0))
    assert part.num_regions == 4
    assert part.num_vertices == 9  # 4 corners, 4 side midpoints, the origin
    assert part.num_edges == 12
    np.testing.assert_allclose(part.areas(), 1.0)
    pats = part.activation_patterns(1)
    cent = part.centroids()
    np.testing.assert_array_equal(pats, cent > 0)
    # each quadrant's map: relu(x), relu(y)
    a, c = part.affine_maps()
    for f in range(4):
        np.testing.assert_allclose(a[f], np.diag(pats[f].astype(float)))
        np.testing.assert_allclose(c[f], 0.0, atol=1e-15)
    check_partition(part)


def test_two_layer_hand_example():
    # relu(x), relu(y), then relu(h1 + h2 - 0.5): the second layer bends
    net = rs.Sequential(
        rs.Linear(np.eye(2)), rs.ReLU(), rs.Linear([[1.0, 1.0]], [-0.5]), rs.ReLU()
    )
    part = rs.partition(net, rs.Box(1.0))
    # quadrant x>0,y>0 split by x+y=0.5; x>0,y<0 by x=0.5; x<0,y>0 by y=0.5
    assert part.num_regions == 7
    areas = np.sort(part.areas())
    want = np.sort([1.0, 0.125, 0.875, 0.5, 0.5, 0.5, 0.5])
    np.testing.assert_allclose(areas, want)
    check_partition(part)
    # the bent line's edges are made by layer 3, unit 0
    assert set(np.unique(part.edge_layer).tolist()) == {-1, 1, 3}
    assert (part.edge_neuron[part.edge_layer == 3] == 0).all()


def test_leaky_relu_and_hardtanh_patterns():
    net = rs.Sequential(rs.Linear([[2.0, 0.0]]), rs.HardTanh(-1.0, 1.0))
    part = rs.partition(net, rs.Box(1.0))
    # 2x = -1 and 2x = 1 cut the square into three strips
    assert part.num_regions == 3
    np.testing.assert_allclose(np.sort(part.areas()), [1.0, 1.0, 2.0])
    pats = part.activation_patterns(1)[:, 0]
    order = np.argsort(part.centroids()[:, 0])
    np.testing.assert_array_equal(pats[order], [0, 1, 2])
    check_partition(part)
    leaky = rs.Sequential(rs.Linear([[1.0, 1.0]]), rs.LeakyReLU(0.1))
    part = rs.partition(leaky, rs.Box(1.0))
    a, _ = part.affine_maps()
    slopes = sorted(float(a[f, 0, 0]) for f in range(part.num_regions))
    assert slopes == pytest.approx([0.1, 1.0])


def test_maxpool_and_argmax_hand_example():
    # max(x, y, -x): three sectors meeting where x = y = -x, i.e. on the line x=0 ... at (0, 0)
    net = rs.Sequential(rs.Linear([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]]), rs.MaxPool([[0, 1, 2]]))
    part = rs.partition(net, rs.Box(1.0))
    assert part.num_regions == 3
    pats = part.activation_patterns(1)[:, 0]
    areas = dict(zip(pats.tolist(), part.areas().tolist(), strict=True))
    # y is largest where y > |x|: a triangle of area 1; x where x > max(y, 0) ...
    assert areas[1] == pytest.approx(1.0)
    assert areas[0] == pytest.approx(1.5)
    assert areas[2] == pytest.approx(1.5)
    check_partition(part)
    logits = rs.Sequential(rs.Linear([[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]]), rs.Argmax())
    part = rs.partition(logits, rs.Box(1.0))
    assert part.num_regions == 3
    assert part.decision_boundary().sum() == 3  # three rays from the origin
    np.testing.assert_allclose(np.sort(part.areas()), [1.0, 1.5, 1.5])
    check_partition(part)


def test_needless_max_cuts_are_merged():
    # four copies of structure where the running max cuts and then merges back
    rng = np.random.default_rng(5)
    w = rng.normal(size=(12, 2))
    net = rs.Sequential(rs.Linear(w, rng.normal(size=12)), rs.MaxPool(np.arange(12).reshape(3, 4)))
    part = rs.partition(net, rs.Box(1.0))
    check_partition(part)  # degree >= 3 everywhere, neighbours differ in pattern
    # count: each group's cells come from its upper envelope; brute-force via a fine grid
    g = np.linspace(-0.999, 0.999, 400)
    pts = np.stack(np.meshgrid(g, g), -1).reshape(-1, 2)
    grid_patterns = np.unique(net.layers[1].pattern(net.layers[0].forward(pts)), axis=0)
    assert part.num_regions >= len(grid_patterns)


def test_single_output_decision_segments():
    net = rs.Sequential(rs.Linear(np.eye(2)), rs.ReLU(), rs.Linear([[1.0, 1.0]], [-0.5]))
    part = rs.partition(net, rs.Box(1.0))
    segs = part.decision_segments()
    # the zero set relu(x) + relu(y) = 0.5: x=0.5 (y<0), y=0.5 (x<0), x+y=0.5 (both > 0)
    mids = segs.mean(axis=1)
    vals = net.forward(mids)[:, 0]
    np.testing.assert_allclose(vals, 0.0, atol=1e-12)
    total = np.linalg.norm(segs[:, 1] - segs[:, 0], axis=1).sum()
    assert total == pytest.approx(1.0 + 1.0 + math.sqrt(0.5))


# ---------------------------------------------------------------- oracle and properties


@st.composite
def general_lines(draw, max_lines=25):
    """Lines in general position by construction: normal angles at least 0.02 apart
    (never parallel), offsets spread over the box; rows ``(a, b, c)`` of ``a x + b y + c = 0``."""
    gaps = draw(st.lists(st.floats(0.02, 0.4), min_size=1, max_size=max_lines))
    start = draw(st.floats(0.0, np.pi))
    angles = start + np.cumsum(gaps)
    assume(angles[-1] - angles[0] < np.pi - 0.02)  # the first and last are not parallel
    offsets = draw(st.lists(st.floats(-1.4, 1.4), min_size=len(gaps), max_size=len(gaps)))
    return np.column_stack([np.cos(angles), np.sin(angles), offsets])


def _in_general_position(lines):
    """No three lines within 1e-6 of a common point, no crossing or line within 1e-6 of
    the box's boundary corners or sides (where the oracle's count would be ambiguous)."""
    corners = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1.0]])
    if (np.abs(corners @ lines[:, :2].T + lines[:, 2]) < 1e-6).any():
        return False
    m = len(lines)
    for i in range(m):
        for j in range(i + 1, m):
            x = np.linalg.solve(lines[[i, j], :2], -lines[[i, j], 2])
            if abs(np.abs(x).max() - 1) < 1e-6:
                return False
            others = np.delete(np.arange(m), [i, j])
            if len(others) and (np.abs(lines[others, :2] @ x + lines[others, 2]) < 1e-6).any():
                return False
    return True


@settings(max_examples=60, deadline=None)
@given(general_lines())
def test_one_layer_count_matches_oracle(lines):
    assume(_in_general_position(lines))
    part = rs.partition(tiny_lines(lines), rs.Box(1.0))
    check_partition(part, n=1)
    assert part.num_regions == line_arrangement_count(lines, BOX)


@settings(max_examples=25, deadline=None)
@given(
    st.lists(st.integers(1, 12), min_size=1, max_size=3),
    st.integers(0, 10_000),
    st.sampled_from(["relu", "argmax", "maxout", "residual", "leaky"]),
)
def test_random_networks_satisfy_invariants(widths, seed, kind):
    widths = [2, *widths]
    if kind == "argmax":
        net = random_mlp([*widths, 4], seed, argmax=True)
    elif kind == "maxout":
        net = random_mlp(widths, seed, maxout=2)
    elif kind == "residual":
        rng = np.random.default_rng(seed)
        h = widths[1]
        net = rs.Sequential(
            rs.Linear(rng.normal(size=(h, 2)), rng.normal(size=h)),
            rs.ReLU(),
            rs.Residual(rs.Sequential(rs.Linear(rng.normal(size=(h, h)) / h), rs.ReLU())),
            rs.Linear(rng.normal(size=(3, h))),
            rs.Argmax(),
        )
    else:
        net = random_mlp(widths, seed)
        if kind == "leaky":
            net = rs.Sequential(
                *[rs.LeakyReLU(0.2) if isinstance(x, rs.ReLU) else x for x in net.layers]
            )
    part = rs.partition(net, rs.Box(1.0))
    check_partition(part, n=2, seed=seed)


@settings(max_examples=40, deadline=None)
@given(
    st.integers(2, 12),
    st.floats(-0.9, 0.9),
    st.floats(-0.9, 0.9),
    st.integers(0, 1000),
)
def test_lines_through_one_point(m, px, py, seed):
    rng = np.random.default_rng(seed)
    ang = np.sort(rng.uniform(0, np.pi, m))
    assume(np.min(np.diff(np.append(ang, ang[0] + np.pi))) >= 1e-3)
    normals = np.stack([np.cos(ang), np.sin(ang)], 1) * rng.uniform(0.5, 2.0, (m, 1))
    lines = np.column_stack([normals, -(normals @ [px, py])])
    part = rs.partition(tiny_lines(lines), rs.Box(1.0))
    check_partition(part, n=1)
    assert part.num_regions == 2 * m
    # exactly one interior vertex where all meet
    inside = np.abs(part.vertices).max(axis=1) < 1 - 1e-12
    assert inside.sum() == 1
    np.testing.assert_allclose(part.vertices[inside][0], [px, py], atol=1e-12)


def test_twenty_lines_through_one_point_give_forty_regions():
    ang = np.linspace(0, np.pi, 20, endpoint=False)
    lines = np.stack([np.cos(ang), np.sin(ang), np.zeros(20)], 1)
    part = rs.partition(tiny_lines(lines), rs.Box(1.0))
    assert part.num_regions == 40
    assert part.areas().min() > 1e-3
    check_partition(part)


@pytest.mark.parametrize("transform", ["repeat", "scale", "negate", "scale_negate"])
def test_repeated_neuron_changes_nothing(transform):
    rng = np.random.default_rng(0)
    lines = rng.normal(size=(6, 3))
    extra = lines[2].copy()
    factor = {"repeat": 1.0, "scale": 3.7, "negate": -1.0, "scale_negate": -0.01}[transform]
    once = rs.partition(tiny_lines(lines), rs.Box(1.0))
    twice = rs.partition(tiny_lines(np.vstack([lines, factor * extra])), rs.Box(1.0))
    assert_partitions_equal(once, twice)
    check_partition(twice)


def test_line_through_vertex_and_along_edge():
    # x = 0 and y = 0 make the origin a vertex; x + y = 0 passes through it and
    # through two corners, x = 0 again lies along existing edges, y = 1 along the
    # domain boundary: two more regions, not a single new vertex
    base = rs.partition(tiny_lines([[1, 0, 0], [0, 1, 0]]), rs.Box(1.0))
    more = rs.partition(
        tiny_lines([[1, 0, 0], [0, 1, 0], [1, 1, 0], [2, 0, 0], [0, 1, -1]]), rs.Box(1.0)
    )
    assert more.num_regions == 6
    assert more.num_vertices == base.num_vertices
    assert more.areas().min() == pytest.approx(0.5)
    check_partition(more)
    # a second layer whose line runs along a first-layer edge
    net = rs.Sequential(
        rs.Linear([[1.0, 0.0], [0.0, 1.0]]), rs.ReLU(), rs.Linear([[1.0, 0.0]], [0.0]), rs.ReLU()
    )
    part = rs.partition(net, rs.Box(1.0))
    assert part.num_regions == 4
    check_partition(part)


def test_dead_zero_and_missing_neurons_change_nothing():
    rng = np.random.default_rng(3)
    lines = rng.normal(size=(5, 3))
    base = rs.partition(tiny_lines(lines), rs.Box(1.0))
    extra = np.array(
        [
            [0.0, 0.0, 0.0],  # zero weights, zero bias
            [0.0, 0.0, -1.0],  # always off
            [0.0, 0.0, 2.0],  # always on
            [1.0, 1.0, 5.0],  # line outside the domain
            [1.0, 0.0, 1.0],  # touches the boundary side x = -1 only
        ]
    )
    part = rs.partition(tiny_lines(np.vstack([lines, extra])), rs.Box(1.0))
    assert_partitions_equal(base, part)


def test_polygon_and_plane_domains():
    tri = rs.Polygon([[0, 0], [2, 0], [0, 2]])
    part = rs.partition(tiny_cross(), tri)
    assert part.num_regions == 1
    part = rs.partition(tiny_lines([[1, 0, -0.5], [0, 1, -0.5]]), tri)
    assert part.num_regions == 4
    assert part.areas().sum() == pytest.approx(2.0)
    check_partition(part)
    rng = np.random.default_rng(0)
    images = rng.normal(size=(3, 1, 4, 4))
    net = random_mlp([16, 20, 20], seed=1)
    plane = rs.Plane(images)
    part = rs.partition(net, plane)
    check_partition(part)
    # the three images are inside the domain and map back onto themselves
    assert plane.contains(plane.to_plane(images)).all()
    np.testing.assert_allclose(plane.lift(plane.to_plane(images)), images.reshape(3, -1))
    # values at the projected images equal the network on the images
    vals = part.region_values(plane.to_plane(images))
    np.testing.assert_allclose(vals, net.forward(images.reshape(3, -1)), rtol=1e-12)


def test_step_by_step_equals_all_at_once():
    net = random_mlp([2, 10, 10, 3], seed=4, argmax=True)
    whole = rs.partition(net, rs.Box(1.0))
    part = rs.Partition.start(rs.Box(1.0))
    for layer in net.layers:
        part = part.add(layer)
    assert_partitions_equal(whole, part)
    assert part.piecewise_layers == whole.piecewise_layers


def test_arrays_are_read_only_and_partitions_immutable():
    part = rs.partition(tiny_cross(), rs.Box(1.0))
    with pytest.raises(ValueError):
        part.vertices[0, 0] = 5.0
    more = part.add(rs.Linear([[1.0, 1.0]], [-0.5]), rs.ReLU())
    assert part.num_regions == 4 and more.num_regions > 4


def test_max_regions_stops_with_count():
    net = random_mlp([2, 200], seed=0)
    with pytest.raises(rs.RegionLimitError, match="max_regions=100") as info:
        rs.partition(net, rs.Box(1.0), max_regions=100)
    assert isinstance(info.value, ValueError)
    assert info.value.count >= 1 and info.value.limit == 100


def test_locate():
    part = rs.partition(tiny_cross(), rs.Box(1.0))
    pts = np.array([[0.5, 0.5], [-0.5, 0.5], [-0.5, -0.5], [0.5, -0.5], [2.0, 0.0], [0.0, 0.0]])
    got = part.locate(pts)
    assert got[4] == -1
    cent = part.centroids()
    for i in range(4):
        assert np.all(np.sign(cent[got[i]]) == np.sign(pts[i]))
    assert got[5] >= 0  # on a vertex: one of the touching regions


def test_progress_bar_is_silent_by_default(capsys):
    rs.partition(random_mlp([2, 8, 8], 0), rs.Box(1.0))
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""
    rs.partition(random_mlp([2, 8, 8], 0), rs.Box(1.0), progress=True)
    assert "regions" in capsys.readouterr().err


# ---------------------------------------------------------------- 1-D


def test_interval_hand_example():
    net = rs.Sequential(rs.Linear([[1.0], [-1.0], [2.0]], [0.0, 0.5, -1.0]), rs.ReLU())
    part = rs.partition(net, rs.Interval(-1.0, 1.0))
    assert isinstance(part, rs.Partition1D)
    np.testing.assert_allclose(part.breakpoints, [0.0, 0.5])
    assert part.num_regions == 3
    a, c = part.affine_maps()
    assert a.shape == (3, 3, 1)
    mids = part.midpoints()
    np.testing.assert_allclose(a[:, :, 0] * mids[:, None] + c, net.forward(mids[:, None]))
    np.testing.assert_array_equal(part.locate([-0.5, 0.25, 0.75, 3.0]), [0, 1, 2, -1])
    # breakpoint 0.5 is made by units 1 and 2 at once: the first is reported
    np.testing.assert_array_equal(part.breakpoint_neuron, [0, 1])


@pytest.mark.parametrize("seed", range(6))
def test_slice_equals_direct_1d(seed):
    rng = np.random.default_rng(seed)
    kind = seed % 3
    if kind == 0:
        net = random_mlp([2, 12, 12], seed)
    elif kind == 1:
        net = random_mlp([2, 10, 10, 4], seed, argmax=True)
    else:
        net = random_mlp([2, 8, 8], seed, maxout=3)
    part = rs.partition(net, rs.Box(1.0))
    p, q = rng.uniform(-1, 1, 2), rng.uniform(-1, 1, 2)
    sliced = part.slice(p, q)
    direct = rs.partition(net, rs.domains.SliceOf(rs.Box(1.0), p, q))
    assert sliced.num_regions == direct.num_regions
    np.testing.assert_allclose(sliced.points, direct.points, atol=1e-9)
    np.testing.assert_array_equal(sliced.breakpoint_layer, direct.breakpoint_layer)
    # along an existing edge: the slice still matches
    e = part.edges[part.edge_layer >= 0][0]
    a, b = part.vertices[e]
    along = part.slice(a, b)
    direct = rs.partition(net, rs.domains.SliceOf(rs.Box(1.0), a, b))
    np.testing.assert_allclose(along.points, direct.points, atol=1e-9)


def test_segment_domain_through_two_points():
    rng = np.random.default_rng(0)
    x0, x1 = rng.normal(size=(2, 5))
    net = random_mlp([5, 16, 16], 2)
    seg = rs.Segment(x0, x1)
    part = rs.partition(net, seg)
    assert seg.lo < 0 < np.linalg.norm(x1 - x0) < seg.hi  # both points inside
    a, c = part.affine_maps()
    s = part.midpoints()
    np.testing.assert_allclose(
        a[:, :, 0] * s[:, None] + c, net.forward(seg.lift(s)), rtol=1e-9, atol=1e-12
    )


# ---------------------------------------------------------------- bad input


def test_bad_input_errors():
    with pytest.raises(ValueError, match="layer 0 .*width 2"):
        rs.partition(rs.Sequential(rs.Linear(np.ones((3, 4)))), rs.Box(1.0))
    with pytest.raises(ValueError, match="layer 2 .*width 3"):
        rs.partition(
            rs.Sequential(rs.Linear(np.ones((3, 2))), rs.ReLU(), rs.Linear(np.ones((1, 4)))),
            rs.Box(1.0),
        )
    with pytest.raises(ValueError, match="finite"):
        rs.Linear([[np.nan, 0.0]])
    with pytest.raises(ValueError, match="shape"):
        rs.Linear(np.ones((2, 2)), np.ones(3))
    with pytest.raises(TypeError, match="regionscope layer"):
        rs.Sequential(rs.ReLU(), "relu")
    with pytest.raises(TypeError, match="model must be"):
        rs.partition(object(), rs.Box(1.0))
    with pytest.raises(TypeError, match="domain"):
        rs.partition(tiny_cross(), "box")
    with pytest.raises(ValueError, match="max_regions"):
        rs.partition(tiny_cross(), rs.Box(1.0), max_regions=0)
    part = rs.partition(tiny_cross(), rs.Box(1.0))
    with pytest.raises(ValueError, match="out of range"):
        part.vertex_values(7)
    with pytest.raises(ValueError, match="no activation pattern"):
        part.activation_patterns(0)
    with pytest.raises(ValueError, match=r"shape \(N, 2\)"):
        part.locate(np.ones((3, 3)))
    huge = rs.Sequential(
        rs.Linear([[1e200, 0.0], [0.0, 1.0]]), rs.ReLU(), rs.Linear([[1e200, 1.0]]), rs.ReLU()
    )
    with pytest.raises(ValueError, match=r"layer 3 \(3: ReLU\).*not finite"):
        rs.partition(huge, rs.Box(1.0))
    huge_1d = rs.Sequential(rs.Linear([[1e200]]), rs.ReLU(), rs.Linear([[1e200]]), rs.ReLU())
    with pytest.raises(ValueError, match="not finite"):
        rs.partition(huge_1d, rs.Interval(-1.0, 1.0))
    with pytest.raises(ValueError, match="MaxPool group index 5"):
        rs.partition(rs.Sequential(rs.Linear(np.ones((3, 2))), rs.MaxPool([[0, 5]])))


def _exact_arrangement_count(lines: list[tuple[int, int, int]], h: int) -> int:
    """Regions of any line arrangement in the open box (-h, h)^2, in exact arithmetic.

    Adding lines one by one, a line adds one region plus one for every distinct
    point where it meets earlier lines inside the box: in total
    ``1 + lines + sum over crossing points (lines through it - 1)``.
    """
    from fractions import Fraction

    distinct = set()
    for a, b, c in lines:
        if a == 0 and b == 0:
            continue
        g = math.gcd(math.gcd(abs(a), abs(b)), abs(c))
        a, b, c = a // g, b // g, c // g
        if a < 0 or (a == 0 and b < 0):
            a, b, c = -a, -b, -c
        distinct.add((a, b, c))
    corners = [(-h, -h), (h, -h), (h, h), (-h, h)]
    inner = [
        (a, b, c)
        for a, b, c in distinct
        if min(a * x + b * y + c for x, y in corners)
        < 0
        < max(a * x + b * y + c for x, y in corners)
    ]
    points: dict[tuple[Fraction, Fraction], set[int]] = {}
    for i, (a1, b1, c1) in enumerate(inner):
        for j in range(i + 1, len(inner)):
            a2, b2, c2 = inner[j]
            det = a1 * b2 - a2 * b1
            if det == 0:
                continue
            x = Fraction(-c1 * b2 + c2 * b1, det)
            y = Fraction(-a1 * c2 + a2 * c1, det)
            if -h < x < h and -h < y < h:
                points.setdefault((x, y), set()).update((i, j))
    return 1 + len(inner) + sum(len(s) - 1 for s in points.values())


@settings(max_examples=80, deadline=None)
@given(
    st.lists(st.tuples(*[st.integers(-3, 3)] * 3), min_size=1, max_size=14),
    st.floats(0.1, 10.0),
)
def test_degenerate_integer_arrangements(lines, scale):
    # integer lines in the box [-2, 2]^2: many lines through one point, parallel
    # lines, repeats, lines through corners and along sides
    arr = np.array(lines, dtype=np.float64) * np.array([1.0, 1.0, 2.0])
    rows = [(int(a), int(b), int(c)) for a, b, c in arr]
    part = rs.partition(tiny_lines(arr * scale), rs.Box(2.0))
    check_partition(part, n=1)
    assert part.num_regions == _exact_arrangement_count(rows, 2)


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 100_000), st.sampled_from(["relu", "argmax", "maxpool", "hardtanh"]))
def test_degenerate_deep_networks(seed, kind):
    # small-integer weights make many coincidences in every layer
    rng = np.random.default_rng(seed)
    w1 = rng.integers(-2, 3, (6, 2)).astype(float)
    b1 = rng.integers(-1, 2, 6).astype(float) / 2
    w2 = rng.integers(-1, 2, (5, 6)).astype(float)
    b2 = rng.integers(-1, 2, 5).astype(float) / 2
    act = rs.HardTanh(-0.5, 0.5) if kind == "hardtanh" else rs.ReLU()
    layers = [rs.Linear(w1, b1), act, rs.Linear(w2, b2)]
    if kind == "argmax":
        layers.append(rs.Argmax())
    elif kind == "maxpool":
        layers.append(rs.MaxPool([[0, 1, 2], [2, 3, 4]]))
    else:
        layers.append(rs.ReLU())
    part = rs.partition(rs.Sequential(*layers), rs.Box(1.0))
    check_partition(part, n=2, seed=seed)


@pytest.mark.parametrize("kind", ["mlp", "maxpool", "residual"])
def test_memory_budgets_do_not_change_the_result(kind):
    # the layer input is carried with all registers, alone, or streamed in unit groups
    # by a chunked forward pass, depending on memory budgets: all give one partition
    rng = np.random.default_rng(7)
    if kind == "mlp":
        net = random_mlp([2, 24, 24, 24], seed=7)
    elif kind == "maxpool":
        net = random_mlp([2, 12, 12, 5], seed=7, maxout=3)
    else:
        net = rs.Sequential(
            rs.Linear(rng.normal(size=(10, 2)), rng.normal(size=10)),
            rs.ReLU(),
            rs.Residual(rs.Sequential(rs.Linear(rng.normal(size=(10, 10)) / 3), rs.ReLU())),
            rs.Linear(rng.normal(size=(4, 10))),
            rs.Argmax(),
        )
    reference = rs.partition(net, rs.Box(1.0))
    for registers, chunk, table in [(200, 1 << 22, 1 << 24), (1, 1 << 22, 64), (1, 64, 7)]:
        with rs.budget(register_values=registers, chunk_values=chunk, table_values=table):
            part = rs.partition(net, rs.Box(1.0))
        assert_partitions_equal(reference, part)
        check_partition(part, n=1)


def test_progress_groups_give_the_same_partition():
    net = random_mlp([2, 100, 50], seed=1)
    assert_partitions_equal(
        rs.partition(net, rs.Box(1.0)), rs.partition(net, rs.Box(1.0), progress=True)
    )


def test_layer_timings_are_recorded(monkeypatch):
    import regionscope.compute.chain2d as chain2d

    monkeypatch.setattr(chain2d, "CHAIN_2D", False)  # the driver times each layer
    part = rs.partition(random_mlp([2, 8, 8], seed=0), rs.Box(1.0))
    assert set(part.timings["layer_seconds"]) == set(part.piecewise_layers)
    assert all(t >= 0 for t in part.timings["layer_seconds"].values())
