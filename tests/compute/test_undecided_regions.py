"""The last argmax cut on its undecided regions only, as a submesh."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import regionscope as rs
import regionscope.compute.driver as driver
import regionscope.compute.undecided_regions as ur
from regionscope.compute.undecided_regions import takes_undecided_regions, undecided_regions
from regionscope.geometry import Mesh
from regionscope.network.layers import Argmax, MaxPool, ReLU
from regionscope.network.program import compile_model
from regionscope.testing import check_partition, random_mlp


def _quadrants() -> rs.Sequential:
    """Logits ``(relu(x), relu(y), 1/2)``: class 2 on the quadrant x, y < 0; x = 1/2 and
    y = 1/2 and, where both pass 1/2, x = y cut the others."""
    return rs.Sequential(
        rs.Linear([[1.0, 0.0], [0.0, 1.0]]),
        rs.ReLU(),
        rs.Linear([[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]], [0.0, 0.0, 0.5]),
        rs.Argmax(),
    )


def _canonical(part) -> list[tuple[bytes, int]]:
    """Each region as the bytes of its corners (from its smallest corner, in order) and its
    class, sorted: equal for the same regions in any order, bit for bit."""
    out = []
    classes = part.classes()
    for f in range(part.num_regions):
        poly = part.polygon(f)
        start = min(range(len(poly)), key=lambda i: tuple(poly[i]))
        out.append((np.roll(poly, -start, axis=0).tobytes(), int(classes[f])))
    return sorted(out)


def test_quadrants_by_hand():
    part = rs.partition(_quadrants(), rs.Box(1.0))
    assert part.num_regions == 8  # 1 + 2 + 2 + 3 pieces of the four quadrants
    # the decided quadrant is left out, first and whole; the others follow
    assert part.polygon(0).tolist() == [[-1.0, -1.0], [0.0, -1.0], [0.0, 0.0], [-1.0, 0.0]]
    centroids = part.centroids()
    want = np.where(
        (centroids[:, 0] > 0.5) & (centroids[:, 0] > centroids[:, 1]),
        0,
        np.where(centroids[:, 1] > 0.5, 1, 2),
    )
    classes = part.classes()
    np.testing.assert_array_equal(classes, want)
    assert sorted(np.round(part.areas(), 12).tolist()) == sorted(
        [1.0, 0.5, 0.5, 0.5, 0.5, 0.25, 0.375, 0.375]
    )
    check_partition(part)


def test_undecided_regions_by_hand():
    square = Mesh.from_polygon(np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]]))
    assert undecided_regions(square, np.array([[2], [2], [2], [2]])).tolist() == []
    assert undecided_regions(square, np.array([[2], [2], [0], [2]])).tolist() == [0]
    # two groups: the second disagrees
    assert undecided_regions(square, np.array([[1, 0], [1, 0], [1, 0], [1, 1]])).tolist() == [0]


def test_takes_only_a_last_argmax_on_stored_inputs():
    prog = compile_model(rs.Sequential(rs.Linear(np.eye(2)), rs.ReLU(), rs.Argmax()), 2)
    relu, argmax = prog.ops[1], prog.ops[2]
    assert isinstance(relu.layer, ReLU) and isinstance(argmax.layer, Argmax)
    assert takes_undecided_regions(argmax, last=True, stored=True)
    assert not takes_undecided_regions(argmax, last=False, stored=True)
    assert not takes_undecided_regions(argmax, last=True, stored=False)
    assert not takes_undecided_regions(relu, last=True, stored=True)
    pool = compile_model(rs.Sequential(rs.Linear(np.eye(2)), MaxPool([[0, 1]])), 2).ops[1]
    assert not takes_undecided_regions(pool, last=True, stored=True)


def test_one_winner_everywhere_leaves_the_mesh_as_it_is(monkeypatch):
    """Class 0 ahead by 10 everywhere on the box: nothing to cut, the ReLUs' mesh itself."""
    net = rs.Sequential(
        rs.Linear([[1.0, 0.0], [0.0, 1.0]]),
        rs.ReLU(),
        rs.Linear([[0.0, 0.0], [1.0, 1.0]], [10.0, 0.0]),
        rs.Argmax(),
    )
    cuts = []
    real = ur.cut
    monkeypatch.setattr(ur, "cut", lambda *a, **k: cuts.append(1) or real(*a, **k))
    part = rs.partition(net, rs.Box(1.0))
    assert part.num_regions == 4 and cuts == []
    assert (part.classes() == 0).all()


def _plain(monkeypatch, net, domain):
    with monkeypatch.context() as m:
        m.setattr(driver, "UNDECIDED_REGIONS", False)
        return rs.partition(net, domain)


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    widths=st.sampled_from([[2, 8], [2, 12, 8], [2, 6, 6, 6]]),
    classes=st.integers(2, 7),
    half=st.sampled_from([1.0, 3.0]),
    offset=st.sampled_from([0.0, 1e3]),
)
def test_same_regions_as_the_stages_on_the_whole_mesh(seed, widths, classes, half, offset):
    """The regions, their corners (bit for bit) and their classes are those of the
    stage-by-stage cut and merge on the whole mesh; only their order differs."""
    net = random_mlp([*widths, classes], seed, argmax=True)
    domain = rs.Box(offset - half, offset + half, -half, half)
    calls = []
    real = ur.cut_undecided_regions
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(driver, "cut_undecided_regions", lambda *a: calls.append(1) or real(*a))
        fast = rs.partition(net, domain)
        plain = _plain(mp, net, domain)
    assert calls == [1]
    assert fast.num_regions == plain.num_regions
    assert _canonical(fast) == _canonical(plain)
    check_partition(fast, n=2)


@pytest.mark.parametrize("seed", [0, 3, 7])
def test_a_side_split_outside_the_part_takes_its_region_in(monkeypatch, seed):
    """Leave one undecided region out of the part on purpose: its side is split by the
    part's cuts, so it is taken in and the part cut again, to the same partition."""
    net = random_mlp([2, 10, 5], seed, argmax=True)
    domain = rs.Box(2.0)
    real_regions = ur.undecided_regions
    dropped = []

    def fewer(mesh, winners):
        regions = real_regions(mesh, winners)
        # the middle one: the decision boundary crosses it, so its sides are split
        dropped.append(int(regions[len(regions) // 2]))
        return np.delete(regions, len(regions) // 2)

    conflicts = []
    real_splice = ur.splice

    def spliced(*args):
        out = real_splice(*args)
        conflicts.append(out[1].tolist())
        return out

    monkeypatch.setattr(ur, "undecided_regions", fewer)
    monkeypatch.setattr(ur, "splice", spliced)
    fast = rs.partition(net, domain)
    assert conflicts[0] == [dropped[0]] and conflicts[-1] == []
    plain = _plain(monkeypatch, net, domain)
    assert _canonical(fast) == _canonical(plain)


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), groups=st.integers(1, 3), values=st.integers(1, 3))
def test_undecided_regions_are_those_with_two_winners_at_their_corners(seed, groups, values):
    """Against each region's corners one by one (random winners on a partition's mesh)."""
    mesh = rs.partition(random_mlp([2, 6, 5], seed), rs.Box(2.0)).mesh
    winners = np.random.default_rng(seed).integers(0, values, (mesh.num_vertices, groups))
    rv, offsets = mesh.region_vertices, mesh.region_offsets
    want = [
        f
        for f in range(mesh.num_regions)
        if len({tuple(w) for w in winners[rv[offsets[f] : offsets[f + 1]]]}) > 1
    ]
    assert undecided_regions(mesh, winners).tolist() == want
