"""Max-pooling layers cut on their undecided groups only: same partitions, less work."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import regionscope as rs
import regionscope.compute.driver as driver
import regionscope.compute.undecided as undecided
from regionscope.compute.undecided import (
    region_sides,
    restrict_groups,
    undecided_groups,
    winners_and_maxima,
)
from regionscope.geometry import Mesh, cut, encode_source
from regionscope.network.conv import Conv, maxpool_groups
from regionscope.network.layers import MaxPool
from regionscope.testing import check_partition


def two_rectangles() -> Mesh:
    """The unit square cut at x = 0.5: vertices 0-3 the square's corners, 4 and 5 the cut's."""
    square = Mesh.from_polygon(np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]]))
    z = square.vertices[:, :1] - 0.5
    return cut(square, z, np.zeros(1), encode_source(0, np.zeros(1, np.int64)), 1e-12, 10).mesh


def test_region_sides_of_two_rectangles():
    mesh = two_rectangles()
    assert mesh.num_regions == 2 and mesh.num_vertices == 6
    a, b = region_sides(mesh)
    sides = {tuple(sorted(p)) for p in zip(a.tolist(), b.tolist(), strict=True)}
    assert len(sides) == len(a) == 7  # 3 + 3 outer sides of each rectangle, 1 shared
    xy = mesh.vertices
    for i, j in sides:  # every side is horizontal or vertical, of length 1 or 0.5
        d = np.abs(xy[i] - xy[j])
        assert d.min() == 0 and d.max() in (0.5, 1.0)


def test_undecided_groups_by_hand():
    mesh = two_rectangles()
    left = mesh.vertices[:, 0] <= 0.5
    right = mesh.vertices[:, 0] >= 0.5
    winners = np.zeros((6, 4), dtype=np.int8)
    winners[:, 1] = 2  # one winner everywhere
    winners[~right, 2] = 1  # one winner on each rectangle, changing along the shared side
    winners[right & ~left, 3] = 1  # the right rectangle's outer corners differ from the cut's
    winners[left & ~right, 0] = 0
    assert undecided_groups(mesh, winners).tolist() == [False, False, True, True]


def test_restricted_local_numbering():
    r = restrict_groups(MaxPool([[0, 1], [2, 3], [4, 5], [6, 7]]), np.array([1, 3]), np.ones(4))
    assert r.local(np.array([[3, 1], [0, 2]])).tolist() == [[1, 0], [-1, -1]]
    assert r.columns.tolist() == [2, 3, 6, 7]
    assert r.layer.groups.tolist() == [[0, 1], [2, 3]]


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    groups=st.integers(1, 6),
    k=st.integers(1, 5),
    tol=st.sampled_from([0.0, 0.5, 1.0]),
    rows=st.integers(1, 7),
)
def test_winners_and_maxima_are_maxpools(seed, groups, k, tol, rows):
    """The winners and maxima of one gather are :meth:`MaxPool.pattern` and
    :meth:`MaxPool.forward`, ties and short groups (padding) included."""
    rng = np.random.default_rng(seed)
    width = groups * k + 2
    table = np.full((groups, k), -1)
    for g in range(groups):
        size = int(rng.integers(1, k + 1))
        table[g, :size] = rng.choice(width, size=size, replace=False)
    assume((table[:, 0] >= 0).all())
    pool = MaxPool(table)
    x = rng.integers(-2, 3, size=(9, width)).astype(float)  # small integers: many ties
    t = np.full(groups, tol)
    w, m = winners_and_maxima(table, x, t, rows)
    np.testing.assert_array_equal(w, pool.pattern(x, None, t))
    np.testing.assert_array_equal(m, pool.forward(x))


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(1, 6))
def test_restricted_layer_reads_the_same_inputs(seed, n):
    rng = np.random.default_rng(seed)
    pool = MaxPool(rng.permutation(24).reshape(8, 3))
    chosen = np.unique(rng.choice(8, size=n))
    tol = rng.random(8)
    r = restrict_groups(pool, chosen, tol)
    x = rng.normal(size=(5, 24))
    np.testing.assert_array_equal(r.layer.forward(x[:, r.columns]), pool.forward(x)[:, chosen])
    np.testing.assert_array_equal(r.tol, tol[chosen])
    assert (np.diff(r.columns) > 0).all() and len(r.columns) == 3 * len(chosen)


def _domain(dim: int, seed: int, half: float) -> rs.Plane:
    points = np.random.default_rng(seed + 100).normal(size=(3, dim)) * 0.5
    lo, hi = rs.Plane(points).polygon.min(axis=0), rs.Plane(points).polygon.max(axis=0)
    (u, v) = (lo + hi) / 2
    return rs.Plane(points, window=(u - half, u + half, v - half, v + half))


def _cnn(seed: int, argmax: bool) -> rs.Sequential:
    rng = np.random.default_rng(seed)
    layers = [
        Conv(rng.normal(size=(3, 1, 3, 3)), 0.3 * rng.normal(size=3), in_shape=(1, 6, 6),
             padding=1),
        rs.ReLU(),
        Conv(rng.normal(size=(4, 3, 3, 3)) / 3, 0.3 * rng.normal(size=4), in_shape=(3, 6, 6),
             padding=1),
        rs.ReLU(),
        rs.MaxPool(maxpool_groups((4, 6, 6), kernel=2)),
        rs.Linear(rng.normal(size=(5, 36)) / 3, 0.3 * rng.normal(size=5)),
        rs.ReLU(),
        rs.Linear(rng.normal(size=(3, 5))),
    ]  # fmt: skip
    if argmax:
        layers.append(rs.Argmax())
    return rs.Sequential(*layers)


def _maxout(seed: int) -> rs.Sequential:
    rng = np.random.default_rng(seed)
    return rs.Sequential(
        rs.Linear(rng.normal(size=(12, 4)), rng.normal(size=12)),
        rs.ReLU(),
        rs.Linear(rng.normal(size=(18, 12)) / 2, rng.normal(size=18) / 2),
        rs.MaxPool(np.arange(18).reshape(6, 3)),
        rs.Linear(rng.normal(size=(4, 6))),
        rs.ReLU(),
    )


def _residual(seed: int) -> rs.Sequential:
    rng = np.random.default_rng(seed)
    return rs.Sequential(
        rs.Linear(rng.normal(size=(8, 4)), rng.normal(size=8)),
        rs.ReLU(),
        rs.Residual(rs.Sequential(rs.Linear(rng.normal(size=(8, 8)) / 2), rs.ReLU())),
        rs.MaxPool([[0, 1], [2, 3, 4], [5, 6, 7]]),
        rs.Linear(rng.normal(size=(3, 3))),
        rs.ReLU(),
    )


NETWORKS = {
    "cnn": (lambda s: _cnn(s, False), 36),
    "cnn+argmax": (lambda s: _cnn(s, True), 36),
    "maxout": (_maxout, 4),
    "residual": (_residual, 4),
}


@pytest.mark.parametrize("name", sorted(NETWORKS))
@pytest.mark.parametrize(("seed", "chunk"), [(0, 1 << 22), (1, 1 << 22), (0, 64)])
def test_same_partition_as_every_group_stage_by_stage(monkeypatch, name, seed, chunk):
    """Cut on the undecided groups or on all of them, stage by stage: the same arrays
    (also when a small chunk budget cuts the layer's groups in several chunks)."""
    make, dim = NETWORKS[name]
    net, domain = make(seed), _domain(dim, seed, 0.3 if dim > 4 else 1.5)
    calls = []
    real = undecided.cut_undecided

    def counted(ev, mesh, op, x, *args):
        out = real(ev, mesh, op, x, *args)
        calls.append(op.index)
        return out

    monkeypatch.setattr(driver, "cut_undecided", counted)
    with rs.budget(memory_bytes=1 << 30, chunk_values=chunk):
        fast = rs.partition(net, domain)
        monkeypatch.setattr(driver, "UNDECIDED_ONLY", False)
        plain = rs.partition(net, domain)
    assert len(calls) == 1  # the max-pooling layer (never the argmax)
    assert fast.num_regions == plain.num_regions > 10
    a, b = fast.to_arrays(), plain.to_arrays()
    for key in a:
        if key != "stats":
            np.testing.assert_array_equal(np.asarray(a[key]), np.asarray(b[key]), err_msg=key)
    check_partition(fast, n=2)


def test_decided_group_is_never_cut_by_hand():
    """relu(x) on the box [-1, 1]^2, then max(y0, y1) and max(y0 + 10, y1): the first
    group cuts the positive quadrant along x0 = x1, the second is decided everywhere."""
    net = rs.Sequential(
        rs.ReLU(),
        rs.Linear(np.array([[1.0, 0], [0, 1], [1, 0], [0, 1]]), np.array([0, 0, 10.0, 0])),
        rs.MaxPool([[0, 1], [2, 3]]),
    )
    seen = []
    real = undecided.restrict_groups

    def spy(layer, groups, tol):
        seen.append(groups.tolist())
        return real(layer, groups, tol)

    mp = pytest.MonkeyPatch()
    mp.setattr(undecided, "restrict_groups", spy)
    try:
        part = rs.partition(net, rs.Box(1.0))
    finally:
        mp.undo()
    assert seen == [[0]]
    assert part.num_regions == 5  # four quadrants, the positive one split in two
    np.testing.assert_allclose(np.sort(part.areas()), [0.5, 0.5, 1, 1, 1])


def test_every_group_decided_cuts_nothing():
    """max(y0 + 10, y1) and max(y0, y1 - 10) with y = relu(x) on [-1, 1]^2: one winner
    everywhere, so the layer cuts nothing and the partition is the four quadrants; its
    output at the vertices still reaches the next layer (relu(y0 - 0.5) cuts once more)."""
    net = rs.Sequential(
        rs.ReLU(),
        rs.Linear(np.array([[1.0, 0], [0, 1], [1, 0], [0, 1]]), np.array([10.0, 0, 0, -10])),
        rs.MaxPool([[0, 1], [2, 3]]),
        rs.Linear(np.array([[1.0, 0.0]]), np.array([-10.5])),
        rs.ReLU(),
    )
    part = rs.partition(net, rs.Box(1.0))
    assert part.num_regions == 6  # the quadrants; x0 = 0.5 splits the two with x0 > 0
    np.testing.assert_allclose(np.sort(part.areas()), [0.5, 0.5, 0.5, 0.5, 1, 1])
