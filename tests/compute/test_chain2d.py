"""The compiled 2-D chain of Linear and ReLU layers against the driver: the same meshes up to
the last bits of the vertices, the same patterns, the hand-over to the driver."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

pytest.importorskip("numba")

import regionscope as rs  # noqa: E402
import regionscope.compute.chain2d as chain2d  # noqa: E402
import regionscope.compute.driver as driver  # noqa: E402
from regionscope.errors import RegionLimitError  # noqa: E402
from regionscope.testing import (  # noqa: E402
    assert_partitions_equal,
    check_partition,
    random_mlp,
    tiny_lines,
    tiny_star,
)

NETWORKS = {
    "mlp": lambda: random_mlp([2, 16, 16, 8], 3),
    "star": lambda: tiny_star(16),
    "deeper": lambda: random_mlp([2, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8], 5),  # 10 ReLUs: 32 slots
    "wide": lambda: random_mlp([2, 120], 1),
    "lines": lambda: tiny_lines([[1, 0, 0], [2, 0, 0], [0, 1, -1], [1, -1, 0], [1, 1e-13, 0.5]]),
    "no-bias": lambda: rs.Sequential(
        rs.Linear(np.array([[1.0, 2.0], [-1.0, 1.0]])),
        rs.ReLU(),
        rs.Linear(np.array([[1.0, -1.0]])),
        rs.ReLU(),
    ),  # fmt: skip
    "relu-first": lambda: rs.Sequential(
        rs.ReLU(), rs.Linear(np.array([[1.0, 1.0]]), [-0.5]), rs.ReLU()
    ),  # fmt: skip
    "argmax": lambda: random_mlp([2, 16, 16, 5], 3, argmax=True),  # the driver cuts it
    "leaky-after": lambda: rs.Sequential(
        rs.Linear(np.array([[1.0, 0.5], [0.0, 1.0], [2.0, -1.0]]), [0.1, 0.0, -0.3]),
        rs.ReLU(),
        rs.Linear(np.array([[1.0, 1.0, 0.0], [1.0, -1.0, 1.0]]), [0.0, 0.2]),
        rs.LeakyReLU(0.1),
        rs.Linear(np.array([[1.0, 0.5]]), [-0.1]),
        rs.ReLU(),
    ),  # fmt: skip
    "linear-pair": lambda: rs.Sequential(
        rs.Linear(np.array([[1.0, 0.5], [0.0, 1.0], [2.0, -1.0]]), [0.1, 0.0, -0.3]),
        rs.Linear(np.array([[1.0, 0.0, 1.0], [0.5, -1.0, 0.0]]), [0.0, 0.2]),
        rs.ReLU(),
        rs.Linear(np.array([[1.0, 1.0], [1.0, -1.0]])),
        rs.Linear(np.array([[1.0, 0.5]])),
        rs.ReLU(),
        rs.Linear(np.array([[2.0]]), [1.0]),
    ),  # fmt: skip
}
DOMAINS = {
    "box": lambda: rs.Box(1.0),
    "polygon": lambda: rs.Polygon([[-1, -1], [2, -0.5], [1, 1.5], [-1.5, 0.5]]),
    "far-box": lambda: rs.Box(1e3, 1e3 + 0.5, -1e3 - 0.25, -1e3 + 0.25),
}


def _both(net, domain, monkeypatch, **options):
    """The partition by the compiled chain, then by the driver alone (``options``: the
    partition's)."""
    spent = []
    real = chain2d.chain_2d

    def spy(*args, **kwargs):
        out = real(*args, **kwargs)
        spent.append(out is not None)
        return out

    import regionscope.partitions as partitions

    monkeypatch.setattr(partitions, "chain_2d", spy)
    fast = rs.partition(net, domain, **options)
    assert spent == [True], "the chain did not run"
    monkeypatch.setattr(chain2d, "CHAIN_2D", False)
    slow = rs.partition(net, domain, **options)
    monkeypatch.setattr(chain2d, "CHAIN_2D", True)
    return fast, slow


def _same_mesh(fast, slow):
    """The same topology, in the same order; vertices equal up to rounding."""
    a, b = fast.mesh, slow.mesh
    for name in ("region_vertices", "region_offsets", "incidence_source"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
    scale = float(np.abs(b.vertices).max())
    np.testing.assert_allclose(a.vertices, b.vertices, rtol=0, atol=1e-13 * scale)
    for index in fast.piecewise_layers:
        np.testing.assert_array_equal(
            fast.activation_patterns(index), slow.activation_patterns(index)
        )


@pytest.mark.parametrize("domain", sorted(DOMAINS))
@pytest.mark.parametrize("net", sorted(NETWORKS))
def test_the_chain_cuts_as_the_driver(net, domain, monkeypatch):
    fast, slow = _both(NETWORKS[net](), DOMAINS[domain](), monkeypatch)
    _same_mesh(fast, slow)
    check_partition(fast)
    # the evaluator, made when first asked, holds the driver's numbers up to rounding
    ev, ref = fast._ev, slow._ev  # noqa: SLF001
    assert ev.prefix == ref.prefix and sorted(ev.unit_tol) == sorted(ref.unit_tol)
    for index, tol in ref.unit_tol.items():
        np.testing.assert_allclose(ev.unit_tol[index], tol, rtol=1e-14)
    np.testing.assert_allclose(ev.output_tol, ref.output_tol, rtol=1e-14)
    for reg, (lin, off) in ref.prefix_maps.items():
        np.testing.assert_allclose(ev.prefix_maps[reg][0], lin, rtol=1e-14, atol=1e-300)
        np.testing.assert_allclose(ev.prefix_maps[reg][1], off, rtol=1e-14, atol=1e-300)


def test_a_plane_through_three_points(monkeypatch):
    images = np.random.default_rng(4).normal(size=(3, 6))
    fast, slow = _both(random_mlp([6, 10, 10], 4), rs.Plane(images), monkeypatch)
    _same_mesh(fast, slow)
    check_partition(fast)  # its affine maps against forward passes, locate, patterns


@settings(max_examples=25, deadline=None)
@given(
    st.lists(st.integers(1, 12), min_size=1, max_size=4),
    st.integers(0, 2**16),
    st.sampled_from(["box", "polygon"]),
)
def test_random_chains_give_the_drivers_regions(widths, seed, domain):
    net = random_mlp([2, *widths], seed)
    dom = DOMAINS[domain]()
    with pytest.MonkeyPatch.context() as mp:
        fast, slow = _both(net, dom, mp)
    assume(slow.num_regions > 1)
    assert fast.num_regions == slow.num_regions
    assert_partitions_equal(fast, slow, atol=1e-12)
    for index in slow.piecewise_layers:
        a = np.unique(fast.activation_patterns(index).reshape(fast.num_regions, -1), axis=0)
        b = np.unique(slow.activation_patterns(index).reshape(slow.num_regions, -1), axis=0)
        np.testing.assert_array_equal(a, b)


def _watch_hand_over(monkeypatch):
    """``(starts, forwards)``: what the driver starts from after the kernel, ``(op, regions,
    input's shape)`` per call, and one entry per forward pass of an evaluator."""
    starts, forwards = [], []
    real = driver.cut_2d

    def spy(ev, domain, mesh, start, **kwargs):
        given = kwargs.get("start_input")
        starts.append((start, mesh.num_regions, None if given is None else given.shape))
        return real(ev, domain, mesh, start, **kwargs)

    monkeypatch.setattr(chain2d, "cut_2d", spy)
    real_forward = rs.network.evaluate.Evaluator.forward_registers

    def counting(self, *args, **kwargs):
        forwards.append(1)
        return real_forward(self, *args, **kwargs)

    monkeypatch.setattr(rs.network.evaluate.Evaluator, "forward_registers", counting)
    return starts, forwards


def test_an_argmax_after_the_chain_is_the_drivers(monkeypatch):
    """A classifier: the kernel cuts the ReLUs, then hands its values at the vertices over
    to the driver, which cuts the argmax on them (no forward pass) and reads as the
    driver alone, classes included."""
    net = random_mlp([2, 12, 12, 4], 6, argmax=True)
    starts, forwards = _watch_hand_over(monkeypatch)
    fast = rs.partition(net, rs.Box(1.0))
    assert forwards == []
    chain = rs.partition(rs.Sequential(*net.layers[:-1]), rs.Box(1.0))  # the MLP's logits
    assert starts == [(5, chain.num_regions, (chain.mesh.num_vertices, 4))]
    monkeypatch.setattr(chain2d, "CHAIN_2D", False)
    slow = rs.partition(net, rs.Box(1.0))
    assert sorted(fast.timings["layer_seconds"]) == [5]
    _same_mesh(fast, slow)
    np.testing.assert_array_equal(fast.activation_patterns(5), slow.activation_patterns(5))
    assert len(np.unique(fast.activation_patterns(5))) == 3  # three classes meet here
    check_partition(fast)


@pytest.mark.parametrize("domain", ["box", "polygon"])
def test_decision_takes_the_chain_too(domain, monkeypatch):
    """``decision=True`` on an MLP: the argmax appended is cut after the chain's cuts."""
    net = rs.Sequential(*random_mlp([2, 12, 12, 4], 6, argmax=True).layers[:-1])  # logits
    dom = DOMAINS[domain]()
    fast, slow = _both(net, dom, monkeypatch, decision=True)
    _same_mesh(fast, slow)
    assert fast.num_regions > rs.partition(net, dom).num_regions  # the boundary cut too
    check_partition(fast)


@settings(max_examples=20, deadline=None)
@given(
    st.lists(st.integers(1, 10), min_size=1, max_size=3),
    st.integers(2, 6),
    st.integers(0, 2**16),
)
def test_random_classifiers_give_the_drivers_regions_and_classes(widths, classes, seed):
    net = random_mlp([2, *widths, classes], seed, argmax=True)
    with pytest.MonkeyPatch.context() as mp:
        fast, slow = _both(net, DOMAINS["box"](), mp)
    assume(slow.num_regions > 1)
    assert fast.num_regions == slow.num_regions
    assert_partitions_equal(fast, slow, atol=1e-12)
    last = slow.piecewise_layers[-1]
    cls_fast = fast.activation_patterns(last).reshape(-1)
    cls_slow = slow.activation_patterns(last).reshape(-1)
    np.testing.assert_array_equal(np.sort(cls_fast), np.sort(cls_slow))


def test_a_large_mesh_goes_on_in_the_driver(monkeypatch):
    """Past ``CHAIN_2D_MOST_REGIONS`` regions after a layer, the kernel hands its mesh and
    its values to the driver, which cuts the layers left (and times them)."""
    net = random_mlp([2, 12, 12, 12], 6)
    first = rs.partition(rs.Sequential(*net.layers[:2]), rs.Box(1.0)).num_regions
    monkeypatch.setattr(chain2d, "CHAIN_2D_MOST_REGIONS", first)  # the second layer hands over
    starts, forwards = _watch_hand_over(monkeypatch)
    fast = rs.partition(net, rs.Box(1.0))
    assert forwards == []  # the kernel's values, through NumPy's product, carried on
    monkeypatch.setattr(chain2d, "CHAIN_2D", False)
    slow = rs.partition(net, rs.Box(1.0))
    assert len(starts) == 1 and starts[0][0] == 5 and starts[0][1] > first
    assert sorted(fast.timings["layer_seconds"]) == [5]
    assert fast.num_regions == slow.num_regions
    assert_partitions_equal(fast, slow, atol=1e-12)
    check_partition(fast)


def test_nothing_cut_yet_leaves_it_all_to_the_driver(monkeypatch):
    monkeypatch.setattr(chain2d, "CHAIN_2D_MOST_REGIONS", 0)
    assert chain2d.chain_2d(random_mlp([2, 8, 8], 1).layers, rs.Box(1.0)) is None
    assert rs.partition(random_mlp([2, 8, 8], 1), rs.Box(1.0)).timings["layer_seconds"]


@pytest.mark.parametrize("limit", [150, 400])  # in the first layer, in the second
def test_the_region_limit_reads_as_the_drivers(monkeypatch, limit):
    messages = []
    for on in (True, False):
        monkeypatch.setattr(chain2d, "CHAIN_2D", on)
        with pytest.raises(RegionLimitError) as info:
            rs.partition(random_mlp([2, 40, 40], 0), max_regions=limit)
        messages.append(str(info.value))
    assert messages[0] == messages[1]


def test_an_overflow_is_refused_as_by_the_driver():
    huge = np.array([[1.0, 0.0], [1e308, 1e308]])
    net = rs.Sequential(rs.Linear(np.eye(2)), rs.ReLU(), rs.Linear(huge, [0.0, 0.0]),
                        rs.ReLU(), rs.Linear(np.array([[1.0, 1e308]])), rs.ReLU())  # fmt: skip
    with pytest.raises(ValueError, match="not finite"):
        rs.partition(net, rs.Box(1.0))


def test_what_it_does_not_take():
    dom = rs.Box(1.0)
    net = random_mlp([2, 8, 8], 2)
    assert chain2d.chain_2d(random_mlp([2, 631, 2], 2).layers, dom) is not None
    # 632 lines could make 200 029 regions: the driver counts them first
    assert chain2d.chain_2d(random_mlp([2, 632, 2], 2).layers, dom) is None
    assert chain2d.chain_2d(net.layers, rs.Interval(-1.0, 1.0)) is None
    # after the chain, a layer that is neither Linear nor piecewise (a block, here)
    block = rs.Sequential(rs.Linear(np.eye(8)), rs.ReLU())
    assert chain2d.chain_2d((*net.layers, block), dom) is None
    assert chain2d.chain_2d((rs.Linear(np.eye(2)),), dom) is None  # no ReLU
    assert chain2d.chain_2d((rs.ReLU(), rs.ReLU()), dom) is None
    with rs.backend("numpy"):
        assert chain2d.chain_2d(net.layers, dom) is None
    bad = rs.Sequential(rs.Linear(np.ones((3, 2))), rs.ReLU(), rs.Linear(np.ones((1, 4))))
    assert chain2d.chain_2d(bad.layers, dom) is None  # widths that do not follow
    with pytest.raises(ValueError):  # the general path names the rule broken
        rs.partition(bad, dom)
    got = chain2d.chain_2d(net.layers, dom)
    assert got is not None and callable(got[1]) and got[2]["chain_seconds"] >= 0


def test_strict_mode_checks_the_kernels_mesh(monkeypatch):
    seen = []
    real = chain2d.check_mesh

    def spy(mesh, area, where=""):
        seen.append(where)
        return real(mesh, area, where)

    monkeypatch.setattr(chain2d, "check_mesh", spy)
    with rs.tolerance(strict=True):
        rs.partition(random_mlp([2, 8, 8], 2), rs.Box(1.0))
    with rs.tolerance(strict=False):
        rs.partition(random_mlp([2, 8, 8], 2), rs.Box(1.0))
    assert seen == ["the compiled chain of 4 layers"]


def test_a_torch_mlp_takes_the_chain_too(monkeypatch):
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    mlp = torch.nn.Sequential(
        torch.nn.Flatten(),
        torch.nn.Linear(12, 16),
        torch.nn.ReLU(),
        torch.nn.Linear(16, 8),
        torch.nn.ReLU(),
        torch.nn.Linear(8, 3),
    )
    images = np.random.default_rng(1).normal(size=(3, 3, 2, 2))
    spent = []
    real = chain2d.chain_2d

    def spy(*args, **kwargs):
        out = real(*args, **kwargs)
        spent.append(out is not None and kwargs.get("program") is not None)
        return out

    import regionscope.partitions as partitions

    monkeypatch.setattr(partitions, "chain_2d", spy)
    fast = rs.partition(mlp.double().eval(), rs.Plane(images))
    assert spent == [True]
    monkeypatch.setattr(chain2d, "CHAIN_2D", False)
    slow = rs.partition(mlp.double().eval(), rs.Plane(images))
    _same_mesh(fast, slow)
    check_partition(fast)
    # the maps against the torch model itself, at the regions' centroids
    a, c = fast.affine_maps()
    pts = fast.centroids()
    want = mlp(torch.from_numpy(fast.domain.lift(pts).reshape(-1, 3, 2, 2))).detach().numpy()
    np.testing.assert_allclose(np.einsum("fwd,fd->fw", a, pts) + c, want, rtol=1e-9, atol=1e-9)


def test_a_wide_product_goes_to_numpy_and_the_driver(monkeypatch):
    """Past ``CHAIN_2D_MOST_PRODUCTS`` multiply-adds, the next Linear layer is NumPy's
    product and the driver goes on from the next ReLU."""
    monkeypatch.setattr(chain2d, "CHAIN_2D_MOST_PRODUCTS", 1000)
    net = random_mlp([2, 12, 12, 12], 6)
    fast = rs.partition(net, rs.Box(1.0))
    assert sorted(fast.timings["layer_seconds"]) == [3, 5]
    monkeypatch.setattr(chain2d, "CHAIN_2D", False)
    slow = rs.partition(net, rs.Box(1.0))
    _same_mesh(fast, slow)
