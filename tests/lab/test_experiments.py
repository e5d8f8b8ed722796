"""Tests of regionscope.lab.experiments: counts over seeds, perturbation, the affine check."""

from __future__ import annotations

import numpy as np
import pytest

import regionscope as rs
from regionscope import bounds, lab

# ------------------------------------------------------------------ region_count_stats


def test_region_count_stats_against_direct_counts():
    stats = rs.region_count_stats([2, 4, 1], seeds=[3, 1, 4, 1, 5], domain=rs.Box(2.0))
    direct = [
        rs.partition(lab.lab_network([2, 4, 1], s), rs.Box(2.0)).num_regions
        for s in [3, 1, 4, 1, 5]
    ]
    assert stats.counts.tolist() == direct
    assert stats.histogram.sum() == 5
    assert len(stats.histogram) == max(direct) + 1
    assert stats.bound == 11
    plane = rs.region_count_stats([2, 4, 1], seeds=[3, 1, 4, 1, 5], domain="plane")
    assert (plane.counts == 11).all() and plane.fraction_at_bound == 1.0
    assert (stats.counts <= plane.counts).all()  # a window sees a subset of the cells


def test_region_count_stats_deep_within_serra():
    stats = rs.region_count_stats([2, 3, 3, 1], seeds=6, domain=rs.Box(3.0))
    assert stats.bound == bounds.serra_upper([2, 3, 3])
    assert (stats.counts >= 1).all() and (stats.counts <= stats.bound).all()
    assert stats.seeds.tolist() == list(range(6))


def test_region_count_stats_fraction_and_histogram_by_hand():
    stats = rs.region_count_stats([2, 2, 1], seeds=np.arange(8), domain=rs.Box(0.5))
    counts = stats.counts
    assert stats.bound == 4  # two lines: 1 + 2 + 1
    np.testing.assert_array_equal(stats.histogram, np.bincount(counts))
    assert stats.fraction_at_bound == np.count_nonzero(counts == 4) / 8
    assert stats.widths == (2, 2, 1) and stats.domain.bounds == (-0.5, 0.5, -0.5, 0.5)


def test_region_count_stats_plot():
    pytest.importorskip("matplotlib")
    stats = rs.region_count_stats([2, 4, 1], seeds=4, domain="plane")
    ax = stats.plot(label="plane")
    heights = [bar.get_height() for bar in ax.patches]
    assert heights == stats.histogram.tolist()
    assert ax.get_xlabel() == "number of regions"
    assert ax.lines[0].get_xdata()[0] == stats.bound  # the bound's dashed line


def test_region_count_stats_validation():
    with pytest.raises(ValueError, match="domain='plane' needs one hidden layer"):
        rs.region_count_stats([2, 3, 3, 1], 2, "plane")
    with pytest.raises(ValueError, match=r"widths must be \[2, n_1, ..., n_out\]"):
        rs.region_count_stats([3, 4, 1], 2)
    with pytest.raises(ValueError, match="seeds must hold at least one seed"):
        rs.region_count_stats([2, 4, 1], [])
    with pytest.raises(ValueError, match="'plane'"):
        rs.region_count_stats([2, 4, 1], 2, "sphere")
    with pytest.raises(TypeError, match="seeds must be a sequence of integers, got float"):
        rs.region_count_stats([2, 4, 1], 2.5)
    with pytest.raises(ValueError, match=r"seeds\[1\] must be at least 0, got -3"):
        rs.region_count_stats([2, 4, 1], [1, -3])
    with pytest.raises(ValueError, match="seeds must be at least 1, got 0"):
        rs.region_count_stats([2, 4, 1], 0)


# ------------------------------------------------------------------ perturbation_series


def test_perturbation_noise_is_documented_draw():
    net = lab.lab_network([2, 4, 1], seed=0)
    series = rs.perturbation_series(net, eps=(0.0, 0.5), seed=2, domain=rs.Box(2.0))
    rng = np.random.default_rng([1, 2])
    z = [rng.standard_normal(s) for s in [(4, 2), (4,), (1, 4), (1,)]]
    noisy = series.partitions[1].model
    np.testing.assert_allclose(noisy[0].weight, net[0].weight + 0.5 * z[0])
    np.testing.assert_allclose(noisy[0].bias, net[0].bias + 0.5 * z[1])
    np.testing.assert_allclose(noisy[2].weight, net[2].weight + 0.5 * z[2])
    np.testing.assert_allclose(noisy[2].bias, net[2].bias + 0.5 * z[3])
    # eps = 0 is the model itself
    assert series.counts[0] == series.base.num_regions
    assert set(series.partitions[0].pattern_keys()) == set(series.base.pattern_keys())
    assert series.shared_patterns()[0] == 1.0


def test_perturbation_tiny_noise_keeps_regions_and_colours():
    from regionscope import render

    net = rs.max_regions_network(5, rs.Box(2.0))
    series = rs.perturbation_series(net, eps=(1e-7,), domain=rs.Box(2.0))
    base, moved = series.base, series.partitions[0]
    assert moved.num_regions == base.num_regions == 16
    # regions keep their patterns, hence their colours
    order_b = np.argsort(base.pattern_keys())
    order_m = np.argsort(moved.pattern_keys())
    np.testing.assert_array_equal(base.pattern_keys()[order_b], moved.pattern_keys()[order_m])
    np.testing.assert_array_equal(
        render.region_colors(base)[order_b], render.region_colors(moved)[order_m]
    )
    np.testing.assert_allclose(base.areas()[order_b], moved.areas()[order_m], atol=1e-5)


def test_perturbation_residual_model_and_plot():
    pytest.importorskip("matplotlib")
    rng = np.random.default_rng(0)
    net = rs.Sequential(
        rs.Linear(rng.standard_normal((3, 2)), rng.standard_normal(3)),
        rs.Residual(rs.Sequential(rs.ReLU(), rs.Linear(rng.standard_normal((3, 3))))),
        rs.ReLU(),
    )
    series = rs.perturbation_series(net, eps=[0.1, 1.0], plot=True)
    assert len(series.partitions) == 2
    assert len(series.figure.axes) == 3
    assert series.partitions[1].model[1].module[1].bias is None  # no bias stays no bias
    titles = [ax.get_title() for ax in series.figure.axes]
    assert titles[0] == f"model: {series.base.num_regions} regions"
    assert titles[2] == f"eps = 1: {series.counts[1]} regions"


def test_perturbation_leaves_the_model_alone():
    net = lab.lab_network([2, 4, 1], seed=0)
    before = [np.array(net[0].weight), np.array(net[2].bias)]
    series = rs.perturbation_series(net, eps=[1.0])
    np.testing.assert_array_equal(net[0].weight, before[0])
    np.testing.assert_array_equal(net[2].bias, before[1])
    assert series.figure is None
    assert series.base.model[0].weight.tolist() == net[0].weight.tolist()


def test_perturbation_validation():
    net = lab.lab_network([2, 4, 1], 0)
    with pytest.raises(ValueError, match="eps must be finite numbers >= 0"):
        rs.perturbation_series(net, eps=[-0.1])
    with pytest.raises(ValueError, match="eps must be finite numbers >= 0"):
        rs.perturbation_series(net, eps=[])
    with pytest.raises(TypeError, match="model must be a regionscope Layer"):
        rs.perturbation_series("net")
    with pytest.raises(TypeError, match="eps must be a sequence of numbers"):
        rs.perturbation_series(net, eps=["a"])
    with pytest.raises(ValueError, match="seed must be at least 0"):
        rs.perturbation_series(net, seed=-1)


# ------------------------------------------------------------------ check_affine


def test_check_affine_origin_region_lab_formula(points_in_polygon, polygons):
    net = lab.lab_network([2, 4, 1], seed=0)
    part = rs.partition(net, rs.Box(2.0))
    origin = int(part.locate([[0.0, 0.0]])[0])
    check = rs.check_affine(part, origin, n=20, seed=1)
    assert check.ok and check.pattern_ok
    assert check.points.shape == (20, 2) and check.outputs.shape == (20, 1)
    # the points are strictly inside the region (independent test) and located there
    poly = polygons(part)[origin]
    assert points_in_polygon(check.points, poly).all()
    assert (part.locate(check.points) == origin).all()
    # the lab's formula, by hand
    w1, b1, w2, b2 = net[0].weight, net[0].bias, net[2].weight, net[2].bias
    sigma = (w1 @ np.zeros(2) + b1 > 0).astype(float)
    np.testing.assert_allclose(check.lab_A, w2 @ np.diag(sigma) @ w1)
    np.testing.assert_allclose(check.lab_c, w2 @ np.diag(sigma) @ b1 + b2)
    f = np.maximum(check.points @ w1.T + b1, 0) @ w2.T + b2
    np.testing.assert_allclose(check.points @ check.lab_A.T + check.lab_c, f, atol=1e-12)
    assert check.max_error < 1e-12 and check.lab_map_error < 1e-12


def test_check_affine_every_region_deep_net():
    part = rs.partition(lab.lab_network([2, 5, 4, 1], seed=2), rs.Box(2.0))
    for f in range(part.num_regions):
        check = rs.check_affine(part, f, n=5, seed=f)
        assert check.ok, (f, check.max_error)
        assert check.lab_A is None and check.lab_map_error is None


def test_check_affine_on_a_plane_has_no_lab_formula():
    # a Plane feeds 3-D inputs: the lab's 2-D formula does not apply, the map does
    net = lab.lab_network([3, 4, 1], seed=1)
    plane = rs.Plane([[0.0, 0.0, 0.0], [1.0, 0.0, 0.5], [0.0, 1.0, -0.5]])
    part = rs.partition(net, plane)
    check = rs.check_affine(part, 0, n=8)
    assert check.ok and check.lab_A is None
    assert check.A.shape == (1, 2) and check.c.shape == (1,)


class _WrongMaps:
    """A partition whose affine maps are off by 1e-3 in one region."""

    def __init__(self, part, region):
        self._part, self._region = part, region

    def __getattr__(self, name):
        return getattr(self._part, name)

    def affine_maps(self, layer=-1):
        a, c = self._part.affine_maps(layer)
        c = np.array(c)
        c[self._region] += 1e-3
        return a, c


class _WrongPatterns:
    """A partition whose stored patterns are flipped in one region."""

    def __init__(self, part, region):
        self._part, self._region = part, region

    def __getattr__(self, name):
        return getattr(self._part, name)

    def activation_patterns(self, layer=None):
        pats = {k: np.array(v) for k, v in self._part.activation_patterns().items()}
        for v in pats.values():
            v[self._region] = ~v[self._region]
        return pats if layer is None else pats[layer]


def test_check_affine_detects_a_wrong_map():
    part = rs.partition(lab.lab_network([2, 4, 1], seed=0), rs.Box(2.0))
    check = rs.check_affine(_WrongMaps(part, 2), 2)
    assert not check.ok
    assert check.max_error == pytest.approx(1e-3)
    assert rs.check_affine(_WrongMaps(part, 2), 1).ok


def test_check_affine_detects_a_wrong_pattern():
    part = rs.partition(lab.lab_network([2, 4, 1], seed=0), rs.Box(2.0))
    check = rs.check_affine(_WrongPatterns(part, 1), 1)
    assert not check.pattern_ok and not check.ok
    assert rs.check_affine(_WrongPatterns(part, 1), 0).pattern_ok


def test_check_affine_validation():
    part = rs.partition(lab.lab_network([2, 4, 1], seed=0), rs.Box(2.0))
    with pytest.raises(ValueError, match=rf"region must be in \[0, {part.num_regions}\)"):
        rs.check_affine(part, part.num_regions)
    with pytest.raises(TypeError, match="region must be an integer index"):
        rs.check_affine(part, 0.5)
    with pytest.raises(ValueError, match="n must be at least 1"):
        rs.check_affine(part, 0, n=0)
    with pytest.raises(TypeError, match="part must be a 2-D Partition, got str"):
        rs.check_affine("part", 0)
