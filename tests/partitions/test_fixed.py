"""Units fixed on the whole domain: sound (every region has the fixed pattern, as the corner
rule finds it from a forward pass at the vertices), and the walk that skips them finds the
same patterns and maps, bit for bit, as the walk that looks at every unit."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import regionscope as rs
from regionscope.network.conv import Conv, maxpool_groups
from regionscope.partitions import fixed as fixed_module
from regionscope.partitions import maps
from regionscope.partitions.fixed import Fixed, fixed_units
from regionscope.partitions.maps import RegionCorners, hilbert_order, walk_maps
from regionscope.testing import random_mlp


def corners_of(part) -> RegionCorners:
    coords, rv, offsets, sources = part._corners()  # noqa: SLF001 - the partition's own corners
    return RegionCorners(coords, rv, offsets, sources, part.centroids())


def by_forward_pass(part) -> dict[int, np.ndarray]:
    """Every region's patterns by a forward pass at every vertex (no walk, no bounds)."""
    coords, rv, offsets, sources = part._corners()  # noqa: SLF001
    return part._ev.region_patterns(  # noqa: SLF001
        coords, rv, offsets, part.centroids(), incidence_source=sources
    )


def pool_cnn(seed: int) -> rs.Sequential:
    """conv 1->6 3x3 on 8x8, ReLU, conv 6->4 stride 2, ReLU, max-pool 2, linear, ReLU, linear."""
    rng = np.random.default_rng(seed)
    conv1 = Conv(rng.normal(size=(6, 1, 3, 3)), rng.normal(size=6), in_shape=(1, 8, 8),
                 padding=1)  # fmt: skip
    conv2 = Conv(rng.normal(size=(4, 6, 3, 3)) / 3, rng.normal(size=4), in_shape=(6, 8, 8),
                 stride=2, padding=1)  # fmt: skip
    return rs.Sequential(
        conv1, rs.ReLU(), conv2, rs.ReLU(), rs.MaxPool(maxpool_groups((4, 4, 4), 2)),
        rs.Linear(rng.normal(size=(5, 16)) / 4, rng.normal(size=5)), rs.ReLU(),
        rs.Linear(rng.normal(size=(3, 5))),
    )  # fmt: skip


def cnn_part(seed: int, width: float) -> rs.Partition:
    plane = rs.Plane(np.random.default_rng(seed + 1).normal(size=(3, 1, 8, 8)),
                     window=((0.0, 0.0), width))  # fmt: skip
    return rs.partition(pool_cnn(seed), plane)


def assert_sound(part, fixed: dict[int, Fixed]) -> None:
    want = by_forward_pass(part)
    for i, f in fixed.items():
        keep = np.ones(len(f.pattern), dtype=bool)
        keep[f.live] = False
        np.testing.assert_array_equal(want[i][:, keep], np.broadcast_to(f.pattern[keep],
                                      (part.num_regions, int(keep.sum()))))  # fmt: skip


def test_lines_by_hand():
    # x + 5 > 0 on the whole box (on), y crosses it (live), x + y - 9 < 0 (off)
    net = rs.Sequential(rs.Linear([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]], [5.0, 0.0, -9.0]),
                        rs.ReLU())  # fmt: skip
    part = rs.partition(net, rs.Box(1.0))
    got = fixed_units(part._ev, part.vertices)  # noqa: SLF001
    assert list(got) == [1]
    assert got[1].live.tolist() == [1] and got[1].columns.tolist() == [1]
    assert got[1].pattern[[0, 2]].tolist() == [True, False]
    assert_sound(part, got)


def test_max_pool_by_hand():
    # group (x + 3, x - 3): the first wins everywhere; group (y, -y): undecided; group (0, 0):
    # both inputs zero (ReLU off), a tie that the first wins
    net = rs.Sequential(
        rs.Linear([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.0, -1.0], [1.0, 0.0], [1.0, 0.0]],
                  [3.0, -3.0, 0.0, 0.0, -5.0, -6.0]),
        rs.ReLU(), rs.MaxPool([[0, 1], [2, 3], [4, 5]]),
    )  # fmt: skip
    part = rs.partition(net, rs.Box(1.0))
    got = fixed_units(part._ev, part.vertices)  # noqa: SLF001
    assert got[1].live.tolist() == [2, 3] and got[1].pattern[[0, 1, 4, 5]].tolist() == [
        True, False, False, False]  # fmt: skip
    pool = got[2]
    assert pool.live.tolist() == [1] and pool.columns.tolist() == [2, 3]
    assert pool.pattern[[0, 2]].tolist() == [0, 0]
    assert_sound(part, got)


@pytest.mark.parametrize("seed, width", [(0, 0.3), (1, 0.6), (2, 1.5)])
def test_fixed_units_of_a_cnn_are_sound(seed, width):
    part = cnn_part(seed, width)
    fixed = fixed_units(part._ev, part.vertices)  # noqa: SLF001
    assert set(fixed) <= set(part.piecewise_layers)
    assert_sound(part, fixed)


@pytest.mark.parametrize("seed", [3, 4])
def test_the_grid_of_boxes_is_sound_and_tighter(monkeypatch, seed):
    part = cnn_part(seed, 1.0)
    one = fixed_units(part._ev, part.vertices)  # noqa: SLF001
    monkeypatch.setattr(fixed_module, "SPLIT_VERTICES", 1)  # a 3 x 3 grid of boxes
    boxes = []
    in_box = fixed_module._fixed_in_box  # noqa: SLF001 - counting the boxes bounded
    monkeypatch.setattr(fixed_module, "_fixed_in_box", lambda ev, box: boxes.append(box) or
                        in_box(ev, box))  # fmt: skip
    grid = fixed_units(part._ev, part.vertices)  # noqa: SLF001
    assert len(boxes) == 1 + fixed_module.CELLS**2  # the whole box, then every cell
    assert_sound(part, grid)
    for i in grid:
        if i in one:
            assert set(grid[i].live.tolist()) <= set(one[i].live.tolist())


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 10_000),
    widths=st.lists(st.integers(3, 24), min_size=1, max_size=3),
    half=st.floats(0.05, 3.0),
    shift=st.tuples(st.floats(-2.0, 2.0), st.floats(-2.0, 2.0)),
)
def test_fixed_units_of_random_mlps_are_sound(seed, widths, half, shift):
    net = random_mlp([2, *widths, 2], seed=seed)
    part = rs.partition(net, rs.Box(shift[0] - half, shift[0] + half, shift[1] - half,
                                    shift[1] + half))  # fmt: skip
    assume(part.num_regions > 1)
    fixed = fixed_units(part._ev, part.vertices)  # noqa: SLF001
    assert_sound(part, fixed)


@pytest.mark.parametrize("seed, width", [(0, 0.3), (5, 0.8)])
@pytest.mark.parametrize("maps_too", [True, False])
def test_the_walk_with_fixed_units_is_the_walk_without(monkeypatch, seed, width, maps_too):
    monkeypatch.setattr(maps, "WIDE_OP", 1)  # every linear op by its columns
    part = cnn_part(seed, width)
    ev, last = part._ev, len(part.layers) - 1  # noqa: SLF001
    fixed = fixed_units(ev, part.vertices)
    assert any(len(f.live) < len(f.pattern) for f in fixed.values())  # something to skip
    order = hilbert_order(part.centroids())
    a0, c0, want = walk_maps(ev, last, {}, order, corners_of(part), maps=maps_too)
    a1, c1, got = walk_maps(ev, last, {}, order, corners_of(part), maps=maps_too, fixed=fixed)
    assert got.keys() == want.keys()
    for i in want:
        np.testing.assert_array_equal(got[i], want[i])
    if maps_too:  # a Linear after zero columns sums fewer terms: equal up to rounding
        scale = max(np.abs(a0).max(), np.abs(c0).max())
        np.testing.assert_allclose(a1, a0, rtol=0, atol=1e-13 * scale)
        np.testing.assert_allclose(c1, c0, rtol=0, atol=1e-13 * scale)
        u = part.centroids()[order]
        vals = part.model.forward(part.domain.lift(u))
        np.testing.assert_allclose(np.einsum("fij,fj->fi", a1, u) + c1, vals,
                                   rtol=1e-9, atol=1e-9)  # fmt: skip
    # with the patterns known: the same maps, the fixed columns only gathered
    if maps_too:
        a2, c2, _ = walk_maps(ev, last, want, order, fixed=fixed)
        np.testing.assert_array_equal(a2, a1)
        np.testing.assert_array_equal(c2, c1)


def test_a_pattern_against_its_fixed_units_is_refused():
    part = cnn_part(0, 0.3)
    ev, last = part._ev, len(part.layers) - 1  # noqa: SLF001
    fixed = fixed_units(ev, part.vertices)
    pool = next(i for i, f in fixed.items() if len(f.live) < len(f.pattern)
                and isinstance(part.layers[i].layer, rs.MaxPool))  # fmt: skip
    pats = {i: p.copy() for i, p in part.activation_patterns().items()}
    still = np.setdiff1d(np.arange(len(fixed[pool].pattern)), fixed[pool].live)[0]
    pats[pool][0, still] = (pats[pool][0, still] + 1) % 4  # another winner
    with pytest.raises(ValueError, match="fixed max-pooling group"):
        walk_maps(ev, last, pats, np.arange(part.num_regions), fixed=fixed)


def test_partition_queries_equal_the_forward_pass():
    part = cnn_part(6, 0.8)
    want = by_forward_pass(part)
    got = part.activation_patterns()
    for i in want:
        np.testing.assert_array_equal(got[i], want[i])
    fresh = cnn_part(6, 0.8)
    a, c = fresh.affine_maps()  # patterns found on the way, fixed units skipped
    u = fresh.centroids()
    want_values = fresh.model.forward(fresh.domain.lift(u))
    np.testing.assert_allclose(np.einsum("fij,fj->fi", a, u) + c, want_values, rtol=1e-9,
                               atol=1e-9)  # fmt: skip
    for i in want:
        np.testing.assert_array_equal(fresh.activation_patterns(i), want[i])


def test_a_class_fixed_on_the_window_needs_no_walk():
    # two logits, the first larger by 10 on the whole box: every region has class 0
    net = rs.Sequential(rs.Linear(np.random.default_rng(7).normal(size=(20, 2))), rs.ReLU(),
                        rs.Linear(np.zeros((2, 20)), [10.0, 0.0]))  # fmt: skip
    part = rs.partition(net, rs.Box(1.0)).with_decision()
    fixed = fixed_units(part._ev, part.vertices)  # noqa: SLF001
    last = len(part.layers) - 1
    assert fixed[last].live.tolist() == [] and fixed[last].pattern.tolist() == [0]
    assert_sound(part, fixed)
    assert part.classes().tolist() == [0] * part.num_regions


@pytest.mark.parametrize("seed", [0, 5])
def test_classes_of_a_cnn_are_the_forward_pass_argmax(seed):
    part = cnn_part(seed, 0.8).with_decision()
    fixed = fixed_units(part._ev, part.vertices)  # noqa: SLF001
    assert_sound(part, fixed)
    want = by_forward_pass(part)[len(part.layers) - 1][:, 0]
    np.testing.assert_array_equal(part.classes(), want)


def test_a_linear_after_units_off_everywhere():
    # the first ReLU is off on the whole box (every input of the next Linear is zero), the
    # second has one unit off: the Linears read the other columns only
    rng = np.random.default_rng(8)
    for first_bias in (-10.0, 0.0):
        net = rs.Sequential(
            rs.Linear(rng.normal(size=(4, 2)), np.full(4, first_bias)), rs.ReLU(),
            rs.Linear(rng.normal(size=(5, 4)), [-50.0, -40.0, 30.0, 0.1, -0.1]), rs.ReLU(),
            rs.Linear(rng.normal(size=(3, 5)), rng.normal(size=3)),
        )  # fmt: skip
        part = rs.partition(net, rs.Box(1.0))
        fixed = fixed_units(part._ev, part.vertices)  # noqa: SLF001
        assert fixed[3].zero[:3].tolist() == [True, True, False]  # off, off, on
        assert first_bias < 0 or len(fixed[3].live) == 2  # few live: the walk narrows
        a, c = part.affine_maps()
        u = part.centroids()
        want = net.forward(part.domain.lift(u))
        np.testing.assert_allclose(np.einsum("fij,fj->fi", a, u) + c, want, rtol=1e-12,
                                   atol=1e-12)  # fmt: skip
        for i, p in by_forward_pass(part).items():
            np.testing.assert_array_equal(part.activation_patterns(i), p)
