"""Tests of regionscope.lab (lab 01), the example script and the notebook."""

from __future__ import annotations

import importlib.util
import itertools
import json
import os
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import regionscope as rs
from regionscope import bounds, lab

ROOT = Path(__file__).resolve().parents[2]


def points_in_polygon(points: np.ndarray, poly: np.ndarray) -> np.ndarray:
    """Independent oracle: (N,) bool, strictly inside a counter-clockwise convex polygon."""
    edge = np.roll(poly, -1, axis=0) - poly
    rel = points[:, None, :] - poly[None, :, :]
    cross = edge[None, :, 0] * rel[..., 1] - edge[None, :, 1] * rel[..., 0]
    return (cross > 0).all(axis=1)


def polygons(part) -> list[np.ndarray]:
    off, idx = part.region_offsets, part.region_vertices
    return [part.vertices[idx[off[f] : off[f + 1]]] for f in range(part.num_regions)]


# ------------------------------------------------------------------ lab_network


def test_lab_network_init_is_documented_draw_order():
    net = lab.lab_network([2, 3, 5, 1], seed=7)
    rng = np.random.default_rng(7)
    expected = []
    for n_in, n_out in [(2, 3), (3, 5), (5, 1)]:
        expected.append((rng.standard_normal((n_out, n_in)), rng.standard_normal(n_out)))
    linears = [layer for layer in net.layers if isinstance(layer, rs.Linear)]
    assert [type(layer).__name__ for layer in net.layers] == [
        "Linear",
        "ReLU",
        "Linear",
        "ReLU",
        "Linear",
    ]
    for lin, (w, b) in zip(linears, expected, strict=True):
        np.testing.assert_array_equal(lin.weight, w)
        np.testing.assert_array_equal(lin.bias, b)


def test_lab_network_validation():
    with pytest.raises(ValueError, match="at least 2 entries"):
        lab.lab_network([2])
    with pytest.raises(ValueError, match=r"widths\[1\] must be at least 1, got 0"):
        lab.lab_network([2, 0, 1])
    with pytest.raises(TypeError, match="seed must be an integer"):
        lab.lab_network([2, 4, 1], seed=1.5)


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


def test_grid_validation():
    net = lab.lab_network([2, 4, 1], seed=0)
    with pytest.raises(ValueError, match="resolution must be at least 2, got 1"):
        rs.grid_patterns(net, rs.Box(1.0), resolution=1)
    with pytest.raises(TypeError, match="resolution must be an integer"):
        rs.grid_patterns(net, rs.Box(1.0), resolution=30.0)
    with pytest.raises(TypeError, match="domain must be a 2-D domain"):
        rs.grid_patterns(net, rs.Interval(0.0, 1.0))
    with pytest.raises(TypeError, match="model must be a regionscope Layer"):
        rs.grid_patterns("not a model", rs.Box(1.0))


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
def test_grid_hits_against_point_in_polygon(resolution):
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


# ------------------------------------------------------------------ max_regions_network


@pytest.mark.parametrize("m", [1, 2, 3, 4, 5, 8, 13, 20])
def test_max_regions_network_reaches_zaslavsky(m):
    net = rs.max_regions_network(m)
    part = rs.partition(net, rs.Box(1.0))
    assert part.num_regions == bounds.zaslavsky(m, 2)


@pytest.mark.parametrize(
    "domain",
    [rs.Box(0.0, 3.0, -0.5, 0.5), rs.Polygon([[0.0, 0.0], [4.0, 0.0], [1.0, 2.0]]), rs.Box(2.0)],
)
@pytest.mark.parametrize("seed", [0, 5])
def test_max_regions_network_other_domains(domain, seed):
    net = rs.max_regions_network(7, domain, seed=seed)
    assert rs.partition(net, domain).num_regions == bounds.zaslavsky(7, 2) == 29


def test_max_regions_lines_in_general_position_inside():
    domain = rs.Box(0.0, 2.0, 0.0, 1.0)
    net = rs.max_regions_network(10, domain, seed=3)
    w, b = net[0].weight, net[0].bias
    assert w.shape == (10, 2) and net[2].weight.shape == (1, 10)
    for i, j in itertools.combinations(range(10), 2):
        a = np.array([w[i], w[j]])
        assert abs(np.linalg.det(a)) > 1e-3 * np.linalg.norm(w[i]) * np.linalg.norm(w[j])
        p = np.linalg.solve(a, -np.array([b[i], b[j]]))
        assert domain.contains(p[None])[0]
        others = [k for k in range(10) if k not in (i, j)]
        dist = np.abs(w[others] @ p + b[others]) / np.linalg.norm(w[others], axis=1)
        assert dist.min() > 1e-6  # no third line through the crossing


def test_max_regions_network_validation():
    with pytest.raises(ValueError, match="m must be at least 1, got 0"):
        rs.max_regions_network(0)
    with pytest.raises(TypeError, match="domain must be a Box or Polygon"):
        rs.max_regions_network(3, rs.Plane(np.eye(3)))


# ------------------------------------------------------------------ arrangement_box, stats


def test_arrangement_box_counts_the_whole_plane():
    for seed in range(6):
        net = lab.lab_network([2, 6, 1], seed)
        box = lab.arrangement_box(net)
        inner = rs.partition(net, box).num_regions
        # random lines are in general position: all C(6,2) + 6 + 1 cells
        assert inner == bounds.zaslavsky(6, 2)
        assert rs.partition(net, rs.Box(50.0 * box.bounds[1])).num_regions == inner


def test_arrangement_box_parallel_lines():
    # three parallel lines (no crossing): 4 strips, all met by the box
    net = rs.Sequential(
        rs.Linear([[1.0, 1.0], [2.0, 2.0], [-1.0, -1.0]], [-10.0, 4.0, 30.0]),
        rs.ReLU(),
        rs.Linear([[1.0, 1.0, 1.0]]),
    )
    assert rs.partition(net, lab.arrangement_box(net)).num_regions == 4


def test_arrangement_box_validation():
    with pytest.raises(TypeError, match="arrangement_box needs a Sequential"):
        lab.arrangement_box(lab.lab_network([2, 3, 3, 1], 0))
    with pytest.raises(ValueError, match="margin must be a finite number >= 0"):
        lab.arrangement_box(lab.lab_network([2, 3, 1], 0), margin=-1.0)


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


def test_region_count_stats_validation():
    with pytest.raises(ValueError, match="domain='plane' needs one hidden layer"):
        rs.region_count_stats([2, 3, 3, 1], 2, "plane")
    with pytest.raises(ValueError, match=r"widths must be \[2, n_1, ..., n_out\]"):
        rs.region_count_stats([3, 4, 1], 2)
    with pytest.raises(ValueError, match="seeds must hold at least one seed"):
        rs.region_count_stats([2, 4, 1], [])
    with pytest.raises(ValueError, match="'plane'"):
        rs.region_count_stats([2, 4, 1], 2, "sphere")


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


def test_perturbation_validation():
    net = lab.lab_network([2, 4, 1], 0)
    with pytest.raises(ValueError, match="eps must be finite numbers >= 0"):
        rs.perturbation_series(net, eps=[-0.1])
    with pytest.raises(ValueError, match="eps must be finite numbers >= 0"):
        rs.perturbation_series(net, eps=[])
    with pytest.raises(TypeError, match="model must be a regionscope Layer"):
        rs.perturbation_series("net")


# ------------------------------------------------------------------ check_affine


def test_check_affine_origin_region_lab_formula():
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


def test_check_affine_detects_a_wrong_map():
    part = rs.partition(lab.lab_network([2, 4, 1], seed=0), rs.Box(2.0))
    check = rs.check_affine(_WrongMaps(part, 2), 2)
    assert not check.ok
    assert check.max_error == pytest.approx(1e-3)
    assert rs.check_affine(_WrongMaps(part, 2), 1).ok


def test_check_affine_validation():
    part = rs.partition(lab.lab_network([2, 4, 1], seed=0), rs.Box(2.0))
    with pytest.raises(ValueError, match=rf"region must be in \[0, {part.num_regions}\)"):
        rs.check_affine(part, part.num_regions)
    with pytest.raises(TypeError, match="region must be an integer index"):
        rs.check_affine(part, 0.5)
    with pytest.raises(ValueError, match="n must be at least 1"):
        rs.check_affine(part, 0, n=0)


# ------------------------------------------------------------------ the whole lab


def _load_example():
    spec = importlib.util.spec_from_file_location("lab01_example", ROOT / "examples" / "lab01.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_example_main_writes_figures_and_numbers(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    example = _load_example()
    res = example.main(["--out", str(tmp_path), "--num-seeds", "6"])
    names = sorted(os.path.basename(p) for p in res["figures"])
    assert names == [
        "lab01_grid.png",
        "lab01_histogram.png",
        "lab01_perturbation.png",
        "lab01_regions.png",
        "lab01_widths.png",
    ]
    for p in res["figures"]:
        assert Path(p).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # the numbers agree with independent computations
    net = lab.lab_network([2, 4, 1], lab.LAB_SEED)
    assert res["regions"] == rs.partition(net, rs.Box(2.0)).num_regions
    assert res["bound"] == 11 and res["regions"] <= 11
    assert res["regions_plane"] == 11  # random lines: general position
    assert res["max_regions_4"] == 11
    assert res["max_regions_m_count"] == res["max_regions_m_bound"]
    assert res["max_regions_m_grid"] + res["max_regions_m_missed"] == res["max_regions_m_count"]
    assert len(res["counts_window"]) == 6 and all(c <= 11 for c in res["counts_window"])
    assert res["counts_plane"] == [11] * 6
    assert res["affine_ok"] and res["affine_max_error"] < 1e-12
    assert res["width_counts_plane"] == res["width_bounds"] == [11, 37, 137]
    assert all(c <= b for c, b in zip(res["width_counts"], res["width_bounds"], strict=True))
    assert res["W1"] == net[0].weight.tolist()
    out = capsys.readouterr().out
    assert "exercise 4" in out and "lab01_widths.png" in out


def test_run_lab01_without_out_dir_draws_nothing():
    res = lab.run_lab01(None, seed=4, num_seeds=2, resolution=50)
    assert res["figures"] == []
    assert res["regions"] == rs.partition(lab.lab_network([2, 4, 1], 4), rs.Box(2.0)).num_regions


def test_notebook_runs(tmp_path, monkeypatch):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    pytest.importorskip("matplotlib")
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import KernelManager

    nb = nbformat.read(ROOT / "examples" / "lab01.ipynb", as_version=4)
    # a kernel running this interpreter, whatever kernels the machine has installed
    kernel_dir = tmp_path / "kernels" / "python3"
    kernel_dir.mkdir(parents=True)
    spec = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3",
        "language": "python",
    }
    (kernel_dir / "kernel.json").write_text(json.dumps(spec))
    ksm = KernelSpecManager(kernel_dirs=[str(tmp_path / "kernels")])
    km = KernelManager(kernel_name="python3", kernel_spec_manager=ksm)
    monkeypatch.setenv("REGIONSCOPE_FAST", "1")
    client = nbclient.NotebookClient(
        nb, km=km, timeout=300, resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute()
    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    text = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert "bound 11" in text
    assert sum("image/png" in o.get("data", {}) for o in outputs) >= 5
