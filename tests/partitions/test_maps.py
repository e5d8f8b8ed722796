"""Affine maps composed along a walk through neighbouring regions: the same as region by
region, wide linear ops applied by their columns."""

from __future__ import annotations

import numpy as np
import pytest

import regionscope as rs
from regionscope.network.conv import Conv, maxpool_groups
from regionscope.partitions import maps
from regionscope.partitions.maps import RegionCorners, compose_maps, hilbert_order, walk_maps
from regionscope.testing import random_mlp
from regionscope.tolerances import budget


def region_by_region(part, index, order):
    ev = part._ev  # noqa: SLF001 - the partition's own evaluator
    pats = {i: p[order] for i, p in part.activation_patterns().items() if i <= index}
    return ev.affine_maps(index, pats, ev.lift_linear, ev.lift_offset, num_regions=len(order))


def assert_same_maps(part, index, order, rtol=1e-12):
    a, c = compose_maps(part._ev, index, part.activation_patterns(), order)  # noqa: SLF001
    a0, c0 = region_by_region(part, index, order)
    scale = max(np.abs(a0).max(), np.abs(c0).max(), 1.0)
    np.testing.assert_allclose(a, a0, rtol=0, atol=rtol * scale)
    np.testing.assert_allclose(c, c0, rtol=0, atol=rtol * scale)


def small_cnn(seed: int) -> rs.Sequential:
    """conv 1->4 3x3 on 8x8, ReLU, conv 4->4 3x3 stride 2, ReLU, max-pool 2, linear."""
    rng = np.random.default_rng(seed)
    conv1 = Conv(rng.normal(size=(4, 1, 3, 3)), rng.normal(size=4) * 0.1, in_shape=(1, 8, 8),
                 padding=1)  # fmt: skip
    conv2 = Conv(rng.normal(size=(4, 4, 3, 3)) / 3, rng.normal(size=4) * 0.1, in_shape=(4, 8, 8),
                 stride=2, padding=1)  # fmt: skip
    return rs.Sequential(
        conv1, rs.ReLU(), conv2, rs.ReLU(), rs.MaxPool(maxpool_groups((4, 4, 4), 2)),
        rs.Linear(rng.normal(size=(3, 16)) / 4), rs.ReLU(), rs.Linear(rng.normal(size=(2, 3))),
    )  # fmt: skip


def test_hilbert_order_walks_a_grid_cell_by_cell():
    g = np.stack(np.meshgrid(np.arange(8.0), np.arange(8.0)), axis=-1).reshape(-1, 2)
    order = hilbert_order(g[::-1])
    assert sorted(order.tolist()) == list(range(64))
    steps = np.abs(np.diff(g[::-1][order], axis=0)).sum(axis=1)
    assert (steps == 1).all()  # consecutive cells of a Hilbert curve are neighbours


def test_wide_mlp_by_columns_matches_region_by_region():
    part = rs.partition(random_mlp([2, 256, 256], seed=1), rs.Box(0.3))
    assert part.num_regions > 50
    order = hilbert_order(part.centroids())
    for index in (2, 3):  # the wide linear op's output, and after the last ReLU
        assert_same_maps(part, index, order)


@pytest.fixture
def every_op_by_columns(monkeypatch):
    """Every linear op goes by its columns along the walk (not only the wide ones)."""
    monkeypatch.setattr(maps, "WIDE_OP", 1)


def test_cnn_maps_match_region_by_region_and_the_forward_pass(every_op_by_columns):
    model = small_cnn(2)
    rng = np.random.default_rng(3)
    plane = rs.Plane(rng.normal(size=(3, 1, 8, 8)), window=((0.0, 0.0), 0.5))
    part = rs.partition(model, plane)
    assert part.num_regions > 100
    order = hilbert_order(part.centroids())
    last = len(part.layers) - 1
    for index in (2, 4, last):
        assert_same_maps(part, index, order)
    a, c = part.affine_maps()
    u = part.centroids()
    want = model.forward(plane.lift(u))
    np.testing.assert_allclose(np.einsum("fij,fj->fi", a, u) + c, want, rtol=1e-9, atol=1e-9)


def test_any_order_and_any_budget_give_the_same_maps():
    part = rs.partition(random_mlp([2, 256, 256], seed=4), rs.Box(0.2))
    order = np.random.default_rng(5).permutation(part.num_regions)  # dense steps: full passes
    assert_same_maps(part, 3, order)
    with budget(chunk_values=3000):  # batches of a few positions
        assert_same_maps(part, 3, hilbert_order(part.centroids()))


def test_residual_hardtanh_and_argmax_along_the_walk(every_op_by_columns):
    rng = np.random.default_rng(6)
    model = rs.Sequential(
        rs.Linear(rng.normal(size=(300, 2))),
        rs.ReLU(),
        rs.Residual(rs.Sequential(rs.Linear(rng.normal(size=(300, 300)) / 20), rs.HardTanh())),
        rs.Linear(rng.normal(size=(4, 300)) / 20),
        rs.Argmax(),
    )
    part = rs.partition(model, rs.Box(0.05))
    order = hilbert_order(part.centroids())
    assert_same_maps(part, len(part.layers) - 1, order)


def test_maps_of_the_prefix_are_refused():
    part = rs.partition(random_mlp([2, 4, 4], seed=7), rs.Box(1.0))
    with pytest.raises(ValueError, match="prefix"):
        compose_maps(part._ev, 0, part.activation_patterns(), np.arange(part.num_regions))  # noqa: SLF001


# ------------------------------------------------------------ patterns found along the walk


def corners_of(part) -> RegionCorners:
    coords, rv, offsets, sources = part._corners()  # noqa: SLF001 - the partition's own corners
    return RegionCorners(coords, rv, offsets, sources, part.centroids())


def by_forward_pass(part) -> dict[int, np.ndarray]:
    """Every region's patterns the way before the walk: a forward pass at every vertex."""
    coords, rv, offsets, sources = part._corners()  # noqa: SLF001
    ev = part._ev  # noqa: SLF001
    return ev.region_patterns(coords, rv, offsets, part.centroids(), incidence_source=sources)


def leaky_hardtanh_mlp(seed: int) -> rs.Sequential:
    rng = np.random.default_rng(seed)
    return rs.Sequential(
        rs.Linear(rng.normal(size=(40, 2)), rng.normal(size=40) * 0.3), rs.LeakyReLU(0.1),
        rs.Linear(rng.normal(size=(30, 40)) / 5), rs.HardTanh(),
        rs.Linear(rng.normal(size=(3, 30))), rs.Argmax(),
    )  # fmt: skip


WALK_CASES = {
    "cnn": (
        lambda: small_cnn(2),
        lambda: rs.Plane(
            np.random.default_rng(3).normal(size=(3, 1, 8, 8)), window=((0.0, 0.0), 0.5)
        ),
    ),  # fmt: skip
    "leaky-hardtanh-argmax": (lambda: leaky_hardtanh_mlp(8), lambda: rs.Box(1.0)),
    "residual": (
        lambda: rs.Sequential(
            rs.Linear(np.random.default_rng(9).normal(size=(64, 2))),
            rs.ReLU(),
            rs.Residual(
                rs.Sequential(
                    rs.Linear(np.random.default_rng(10).normal(size=(64, 64)) / 8), rs.ReLU()
                )
            ),
            rs.Linear(np.random.default_rng(11).normal(size=(2, 64)) / 8),
        ),  # fmt: skip
        lambda: rs.Box(0.5),
    ),
}


@pytest.mark.parametrize("case", sorted(WALK_CASES))
def test_patterns_found_along_the_walk_equal_the_forward_pass_at_the_vertices(case):
    make, domain = WALK_CASES[case]
    model, dom = make(), domain()
    part = rs.partition(model, dom)
    assert part.num_regions > 30
    want = by_forward_pass(part)
    ev = part._ev  # noqa: SLF001
    last = len(part.layers) - 1
    order = hilbert_order(part.centroids())
    a, c, found = walk_maps(ev, last, {}, order, corners_of(part))
    assert found.keys() == want.keys()
    for i in want:
        np.testing.assert_array_equal(found[i], want[i])  # row f: region f
    u = part.centroids()[order]
    got = np.einsum("fij,fj->fi", a, u) + c
    np.testing.assert_allclose(got, model.forward(dom.lift(u)), rtol=1e-9, atol=1e-9)
    # only the patterns: the same ones, the walk stopping at the last piecewise op
    _, _, alone = walk_maps(ev, last, {}, order, corners_of(part), maps=False)
    for i in want:
        np.testing.assert_array_equal(alone[i], want[i])


def test_the_partition_keeps_the_patterns_its_maps_found(every_op_by_columns):
    model = small_cnn(2)
    plane = rs.Plane(np.random.default_rng(3).normal(size=(3, 1, 8, 8)), window=((0.0, 0.0), 0.4))
    part = rs.partition(model, plane)
    a, c = part.affine_maps()  # nothing known yet: patterns found on the way
    want = by_forward_pass(part)
    got = part.activation_patterns()
    for i in want:
        np.testing.assert_array_equal(got[i], want[i])
    a2, c2 = part.affine_maps()  # patterns known now: the same walk, the same maps
    np.testing.assert_array_equal(a, a2)
    np.testing.assert_array_equal(c, c2)
    u = part.centroids()
    np.testing.assert_allclose(np.einsum("fij,fj->fi", a, u) + c, model.forward(plane.lift(u)),
                               rtol=1e-9, atol=1e-9)  # fmt: skip
    sub = np.array([3, 0, part.num_regions - 1])
    a3, c3 = part.affine_maps(regions=sub)
    np.testing.assert_allclose(a3, a[sub], rtol=0, atol=1e-12 * np.abs(a).max())
    np.testing.assert_allclose(c3, c[sub], rtol=0, atol=1e-12 * np.abs(c).max())


def test_batches_without_a_change_and_tiny_batches_keep_exact_maps():
    part = rs.partition(random_mlp([2, 256, 256], seed=4), rs.Box(0.05))
    assert part.num_regions > 100
    order = hilbert_order(part.centroids())
    for chunk in (3000, 10000):  # batches of 3 or 13 positions, some with no change inside
        with budget(chunk_values=chunk):
            assert_same_maps(part, 3, order)
            _, _, found = walk_maps(part._ev, 3, {}, order, corners_of(part), maps=False)  # noqa: SLF001
        want = by_forward_pass(part)
        for i in want:
            np.testing.assert_array_equal(found[i], want[i])


def test_a_walk_without_the_patterns_needs_the_corners_of_every_region():
    part = rs.partition(random_mlp([2, 8, 8], seed=12), rs.Box(1.0))
    ev = part._ev  # noqa: SLF001
    order = np.arange(part.num_regions)
    with pytest.raises(ValueError, match="pattern of layer 1"):
        walk_maps(ev, 3, {}, order)
    with pytest.raises(ValueError, match="all the regions"):
        walk_maps(ev, 3, {}, order[1:], corners_of(part))
