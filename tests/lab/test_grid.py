"""Tests of regionscope.lab.grid: the lab's grid of patterns, and what it misses."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import regionscope as rs
from regionscope import bounds, lab


def exact_patterns(part, where: np.ndarray) -> np.ndarray:
    """(N, P) int64: stored patterns of regions ``where``, all piecewise layers side by side."""
    stored = part.activation_patterns()
    cols = [np.asarray(stored[k])[where].reshape(len(where), -1) for k in sorted(stored)]
    return np.concatenate(cols, axis=1).astype(np.int64)


# ------------------------------------------------------------------ grid_patterns


def test_grid_rows_are_y_and_columns_are_x():
    # relu(y - 0.3) and relu(-x + 0.1): patterns (y > 0.3, x < 0.1)
    net = rs.Sequential(rs.Linear([[0.0, 1.0], [-1.0, 0.0]], [-0.3, 0.1]), rs.ReLU())
    g = rs.grid_patterns(net, rs.Box(-1.0, 2.0, 0.0, 1.0), resolution=31)
    np.testing.assert_allclose(g.x, np.linspace(-1, 2, 31))
    np.testing.assert_allclose(g.y, np.linspace(0, 1, 31))
    assert g.labels.shape == (31, 31)
    assert g.num_patterns == 4
    pattern = g.patterns[g.labels]  # (31, 31, 2)
    np.testing.assert_array_equal(pattern[..., 0], np.broadcast_to(g.y[:, None] > 0.3, (31, 31)))
    np.testing.assert_array_equal(pattern[..., 1], np.broadcast_to(g.x[None, :] < 0.1, (31, 31)))
    assert g.extent == (-1.0, 2.0, 0.0, 1.0)
    np.testing.assert_array_equal(g.points[:31, 1], np.zeros(31))  # first row: y = 0


def test_grid_labels_match_lab_patterns():
    net = lab.lab_network([2, 4, 1], seed=3)
    g = rs.grid_patterns(net, 2.0, resolution=60)
    w1, b1 = net[0].weight, net[0].bias
    sigma = g.points @ w1.T + b1 > 0  # the lab's pattern, computed independently
    labels = g.labels.ravel()
    np.testing.assert_array_equal(g.patterns[labels].astype(bool), sigma)
    # equal labels <=> equal patterns
    _, inverse = np.unique(sigma, axis=0, return_inverse=True)
    assert len(np.unique(np.stack([labels, inverse.ravel()]), axis=1)[0]) == g.num_patterns
    assert g.patterns.dtype == np.int64 and g.labels.dtype == np.int64


def test_grid_all_piecewise_layers_and_outside_points():
    net = lab.lab_network([2, 3, 2, 1], seed=1)
    tri = rs.Polygon([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    g = rs.grid_patterns(net, tri, resolution=21)
    assert g.patterns.shape[1] == 3 + 2
    inside = tri.contains(g.points)
    np.testing.assert_array_equal(g.labels.ravel() >= 0, inside)
    assert inside.sum() == 21 * 22 // 2  # lattice points of the triangle


def test_grid_without_piecewise_layer():
    g = rs.grid_patterns(rs.Linear([[1.0, 2.0]]), rs.Box(1.0), resolution=5)
    assert g.num_patterns == 1
    assert (g.labels == 0).all()


def test_grid_snaps_like_the_partition():
    # relu(x - 0.3) and relu(x + y): grid column 13 is x = 0.30000000000000004 and the
    # anti-diagonal has x + y within 2.3e-16 of 0; both count as off (the snapping rule),
    # where exact signs would give noise.
    net = rs.Sequential(rs.Linear([[1.0, 0.0], [1.0, 1.0]], [-0.3, 0.0]), rs.ReLU())
    g = rs.grid_patterns(net, rs.Box(1.0), resolution=21)
    pattern = g.patterns[g.labels]  # (21, 21, 2)
    assert g.x[13] - 0.3 > 0  # a positive rounding error...
    np.testing.assert_array_equal(pattern[:, 13, 0], np.zeros(21))  # ...snapped to off
    diag = g.x + g.y[::-1]
    assert (diag > 0).any() and (np.abs(diag) < 1e-15).all()
    np.testing.assert_array_equal(pattern[np.arange(21), 20 - np.arange(21), 1], np.zeros(21))
    # the rest by hand: on strictly right of x = 0.3 / above y = -x
    np.testing.assert_array_equal(pattern[:, 14:, 0], np.ones((21, 7)))
    np.testing.assert_array_equal(pattern[:, :13, 0], np.zeros((21, 13)))
    i, j = np.indices((21, 21))
    np.testing.assert_array_equal(pattern[..., 1], (i + j > 20).astype(np.int64))
    # and exactly what the partition reports at every grid point
    part = rs.partition(net, rs.Box(1.0))
    at = part.patterns_at(g.points)
    want = np.concatenate([np.asarray(at[k]).reshape(21 * 21, -1) for k in sorted(at)], axis=1)
    np.testing.assert_array_equal(g.patterns[g.labels.ravel()], want.astype(np.int64))


@settings(max_examples=30, deadline=None)
@given(
    st.lists(st.integers(1, 5), min_size=1, max_size=3),
    st.integers(0, 10_000),
    st.integers(3, 40),
)
def test_grid_patterns_agree_with_partition_inside_regions(
    points_in_polygon, polygons, hidden, seed, resolution
):
    domain = rs.Box(2.0)
    net = lab.lab_network([2, *hidden, 1], seed)
    part = rs.partition(net, domain)
    g = rs.grid_patterns(net, domain, resolution)
    pts = g.points
    where = part.locate(pts)
    assert (where >= 0).all()  # a box: every grid point is in the domain
    # grid points strictly inside the region they are located in (independent oracle)
    polys = polygons(part)
    inside = np.array(
        [points_in_polygon(p[None], polys[f])[0] for p, f in zip(pts, where, strict=True)]
    )
    assume(inside.any())
    got = g.patterns[g.labels.ravel()[inside]]
    np.testing.assert_array_equal(got, exact_patterns(part, where[inside]))
    # one label per region among those points
    pairs = np.unique(np.stack([g.labels.ravel()[inside], where[inside]], axis=1), axis=0)
    assert len(np.unique(pairs[:, 1])) == len(pairs)


def test_grid_patterns_agree_with_partition_hardtanh_maxpool():
    rng = np.random.default_rng(4)
    net = rs.Sequential(
        rs.Linear(rng.standard_normal((6, 2)), rng.standard_normal(6)),
        rs.HardTanh(),
        rs.MaxPool([[0, 1, 2], [3, 4, 5]]),
        rs.ReLU(),
    )
    domain = rs.Box(2.0)
    part = rs.partition(net, domain)
    g = rs.grid_patterns(net, domain, resolution=50)
    assert g.patterns.shape[1] == 6 + 2 + 2
    assert set(np.unique(g.patterns[:, :6])) <= {0, 1, 2}  # HardTanh: below, linear, above
    assert set(np.unique(g.patterns[:, 6:8])) <= {0, 1, 2}  # MaxPool: winner in a group of 3
    where = part.locate(g.points)
    at = part.patterns_at(g.points)
    want = np.concatenate([np.asarray(at[k]).reshape(len(where), -1) for k in sorted(at)], 1)
    np.testing.assert_array_equal(g.patterns[g.labels.ravel()], want.astype(np.int64))
    # the stored pattern of the located region, wherever locate found it by its pattern
    np.testing.assert_array_equal(g.patterns[g.labels.ravel()], exact_patterns(part, where))


def test_grid_on_a_plane_domain_uses_its_lift():
    # a slanted plane in R^3: grid points are lifted to 3-D inputs
    net = lab.lab_network([3, 4, 1], seed=2)
    plane = rs.Plane([[0.0, 0.0, 0.0], [1.0, 0.0, 0.5], [0.0, 1.0, -0.5]])
    g = rs.grid_patterns(net, plane, resolution=25)
    x = plane.lift(g.points)
    sigma = x @ net[0].weight.T + net[0].bias > 0
    np.testing.assert_array_equal(g.patterns[g.labels.ravel()].astype(bool), sigma)
    assert g.num_patterns <= rs.partition(net, plane).num_regions


def test_grid_of_a_torch_module_is_the_converted_network():
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(2, 5), torch.nn.ReLU(), torch.nn.Linear(5, 1))
    g = rs.grid_patterns(model, rs.Box(2.0), resolution=40)
    w = model[0].weight.detach().double().numpy()
    b = model[0].bias.detach().double().numpy()
    sigma = g.points @ w.T + b > 0
    np.testing.assert_array_equal(g.patterns[g.labels.ravel()].astype(bool), sigma)
    part = rs.partition(model, rs.Box(2.0))
    assert rs.compare_with_grid(part, 40).grid_count == g.num_patterns


def test_grid_validation():
    net = lab.lab_network([2, 4, 1], seed=0)
    with pytest.raises(ValueError, match="resolution must be at least 2, got 1"):
        rs.grid_patterns(net, rs.Box(1.0), resolution=1)
    with pytest.raises(TypeError, match="resolution must be an integer"):
        rs.grid_patterns(net, rs.Box(1.0), resolution=30.0)
    with pytest.raises(TypeError, match="domain must be a 2-D domain"):
        rs.grid_patterns(net, rs.Interval(0.0, 1.0))
    # the library's one message for models (regionscope.network.coerce.as_layers)
    with pytest.raises(TypeError, match="(?i)model must be a regionscope Layer"):
        rs.grid_patterns("not a model", rs.Box(1.0))
    with pytest.raises(TypeError, match="domain must be a regionscope domain"):
        rs.grid_patterns(net, "box")


# ------------------------------------------------------------------ compare_with_grid


def test_grid_misses_a_strip_between_grid_rows():
    # two horizontal lines between two grid rows: a strip the grid cannot see
    res = 41
    y = np.linspace(-1.0, 1.0, res)
    dy = y[1] - y[0]
    lo, hi = y[25] + 0.3 * dy, y[25] + 0.6 * dy
    net = rs.Sequential(rs.Linear([[0.0, 1.0], [0.0, 1.0]], [-lo, -hi]), rs.ReLU())
    part = rs.partition(net, rs.Box(1.0))
    cmp = rs.compare_with_grid(part, resolution=res)
    assert (cmp.exact_count, cmp.grid_count, cmp.num_missed) == (3, 2, 1)
    np.testing.assert_allclose(cmp.missed_areas, [2.0 * 0.3 * dy])
    strip = part.locate([[0.0, 0.5 * (lo + hi)]])
    np.testing.assert_array_equal(cmp.missed, strip)
    assert cmp.spacing == pytest.approx((dy, dy))
    assert cmp.hits.sum() == res * res
    assert "missed by the grid: 1" in cmp.summary()
    # a finer grid sees it
    assert rs.compare_with_grid(part, resolution=4 * (res - 1) + 1).num_missed == 0


@pytest.mark.parametrize("resolution", [15, 60])
def test_grid_hits_against_point_in_polygon(resolution, points_in_polygon, polygons):
    part = rs.partition(lab.max_regions_network(9, rs.Box(1.0), seed=2), rs.Box(1.0))
    cmp = rs.compare_with_grid(part, resolution)
    g = rs.grid_patterns(part.model, part.domain, resolution)
    pts = g.points
    strict = np.array([points_in_polygon(pts, poly).sum() for poly in polygons(part)])
    # every point strictly inside a region is counted there; points on edges go to one side
    assert (cmp.hits >= strict).all()
    assert cmp.hits.sum() == resolution**2
    # no grid point lies strictly inside a missed region
    assert (strict[cmp.missed] == 0).all()
    # one hidden layer: one region per pattern, so the grid counts the regions it hits
    assert cmp.grid_count == cmp.exact_count - cmp.num_missed
    np.testing.assert_allclose(cmp.missed_areas, part.areas()[cmp.missed])


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 7), st.integers(0, 10_000), st.integers(3, 40))
def test_grid_never_sees_more_than_exact(m, seed, resolution):
    part = rs.partition(lab.lab_network([2, m, 1], seed), rs.Box(2.0))
    cmp = rs.compare_with_grid(part, resolution)
    assert 1 <= cmp.grid_count <= cmp.exact_count <= bounds.zaslavsky(m, 2)
    # one hidden layer: each pattern is one convex region, so hits and patterns agree
    assert cmp.grid_count == cmp.exact_count - cmp.num_missed
    assert cmp.hits.sum() == resolution**2


def test_compare_with_grid_validation():
    with pytest.raises(TypeError, match="part must be a 2-D Partition"):
        rs.compare_with_grid(object(), 10)
    part = rs.partition(lab.lab_network([2, 4, 1], 0), rs.Box(2.0))
    with pytest.raises(ValueError, match="resolution must be at least 2"):
        rs.compare_with_grid(part, 0)
    part1d = rs.partition(rs.Sequential(rs.Linear([[1.0]]), rs.ReLU()), rs.Interval(-1.0, 1.0))
    with pytest.raises(TypeError, match="part must be a 2-D Partition, got Partition1D"):
        rs.compare_with_grid(part1d, 10)
