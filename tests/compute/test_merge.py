"""Merging the needless cuts of max layers: from stored values, from computed entries."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import regionscope as rs
import regionscope.compute.driver as driver
from regionscope.compute.merge import mask_winners, merge_layer, tied
from regionscope.compute.tables import winners_and_maxima
from regionscope.geometry import Mesh, cut, encode_source
from regionscope.network.conv import Conv, maxpool_groups
from regionscope.network.evaluate import Evaluator
from regionscope.network.layers import MaxPool
from regionscope.network.program import compile_model
from regionscope.testing import assert_partitions_equal, check_partition


def small_cnn(seed: int, argmax: bool, head: bool = False) -> rs.Sequential:
    """conv 1->3 pad 1, ReLU, conv 3->4 pad 1, ReLU, max-pool 2, linear 36->5 (with
    ``head``: ReLU, linear 5->3) (argmax)."""
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
    ]  # fmt: skip
    if head:
        layers += [rs.ReLU(), rs.Linear(rng.normal(size=(3, 5)))]
    if argmax:
        layers.append(rs.Argmax())
    return rs.Sequential(*layers)


def plane(seed: int, half: float = 0.2) -> rs.Plane:
    """A window of half-width ``half`` around the middle of the plane through three points."""
    points = np.random.default_rng(seed + 100).normal(size=(3, 36)) * 0.5
    lo, hi = rs.Plane(points).polygon.min(axis=0), rs.Plane(points).polygon.max(axis=0)
    (u, v) = (lo + hi) / 2
    return rs.Plane(points, window=(u - half, u + half, v - half, v + half))


@pytest.mark.parametrize("argmax", [False, True])
def test_merge_from_stored_values_equals_merge_from_computed_entries(monkeypatch, argmax):
    """The driver hands the max layer's input at the vertices to the merge (the budget is
    ample); merging without it (the input computed at the corners) gives the same mesh.
    (The max-pooling layer is cut stage by stage here, on all its groups, and so is the
    argmax, on the whole mesh: ``compute.undecided_regions`` always merges from stored
    values.)"""
    net, domain = small_cnn(3, argmax), plane(3)
    calls = []
    monkeypatch.setattr(driver, "UNDECIDED_ONLY", False)
    monkeypatch.setattr(driver, "UNDECIDED_REGIONS", False)

    def both(ev, mesh, index, x, coincident, groups=None):
        calls.append(x is not None)
        stored = merge_layer(ev, mesh, index, x, coincident, groups)
        computed = merge_layer(ev, mesh, index, None, coincident, groups)
        assert stored[0].num_regions == computed[0].num_regions
        np.testing.assert_array_equal(stored[1], computed[1])
        np.testing.assert_array_equal(stored[0].region_offsets, computed[0].region_offsets)
        np.testing.assert_array_equal(stored[0].region_vertices, computed[0].region_vertices)
        return stored

    monkeypatch.setattr(driver, "merge_layer", both)
    with rs.budget(memory_bytes=1 << 30):
        part = rs.partition(net, domain)
    assert calls and all(calls)  # every merge got the stored values
    assert len(calls) == 1 + argmax  # one per max layer that cut something
    check_partition(part, n=2)


@pytest.mark.parametrize("argmax", [False, True])
def test_budgets_give_one_partition_on_a_cnn(argmax):
    """Everything stored, only the layer's input stored, nothing stored (every value and
    every merge computed again): one partition, checked against the network."""
    net, domain = small_cnn(3, argmax), plane(3)
    with rs.budget(memory_bytes=1 << 34):
        ample = rs.partition(net, domain)
    assert ample.num_regions > 50
    for small, chunk in ((1, 3000), (16 * 2000 * 36, 1 << 22), (1 << 16, 1 << 22)):
        with rs.budget(memory_bytes=small, chunk_values=chunk):
            part = rs.partition(net, domain)
        assert_partitions_equal(ample, part)
    check_partition(ample, n=2)


def test_a_max_layer_that_cut_nothing_is_not_merged():
    square = np.array([[-1.0, -1.0], [1.0, -1.0], [1.0, 1.0], [-1.0, 1.0]])
    program = compile_model(rs.Sequential(rs.Linear(np.eye(2)), rs.MaxPool([[0, 1]])), 2)
    ev = Evaluator(program, lambda u: u, square)
    mesh = Mesh.from_polygon(square)  # no side made by layer 1
    merged, kept = merge_layer(ev, mesh, 1, None, np.zeros((0, 2), dtype=np.int64))
    assert merged is mesh
    assert kept.dtype == bool and kept.all() and len(kept) == mesh.num_vertices


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), k=st.integers(1, 5), tol=st.sampled_from([0.0, 0.6]))
def test_winners_and_ties_read_from_candidate_masks_are_those_of_the_inputs(seed, k, tol):
    """:func:`mask_winners` and :func:`tied` against the candidates of the inputs at the
    corners (:meth:`MaxPool.group_candidates`), on a mesh of a few cuts, ties included."""
    rng = np.random.default_rng(seed)
    mesh = Mesh.from_polygon(np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]]))
    for i in range(2):
        z = mesh.vertices @ rng.normal(size=(2, 2)) + rng.normal(size=2) * 0.3
        mesh = cut(mesh, z, np.zeros(2), encode_source(i, np.arange(2)), 1e-12, 1000).mesh
    groups, width = 4, 4 * k
    table = np.full((groups, k), -1)
    for g in range(groups):
        size = int(rng.integers(1, k + 1))
        table[g, :size] = rng.choice(width, size=size, replace=False)
    pool = MaxPool(table)
    x = rng.integers(-1, 2, size=(mesh.num_vertices, width)).astype(float)  # many ties
    t = np.full(groups, tol)
    masks = winners_and_maxima(table, x, t, 7, masks=True)[2]
    regions = rng.integers(0, mesh.num_regions, size=30)
    group_q = rng.integers(0, groups, size=30)
    rv, offsets = mesh.region_vertices, mesh.region_offsets
    want = []
    for r, g in zip(regions.tolist(), group_q.tolist(), strict=True):
        corners = rv[offsets[r] : offsets[r + 1]]
        every = pool.group_candidates(x, corners, np.full(len(corners), g), t).all(axis=0)
        want.append(int(np.argmax(every)) if every.any() else -1)
    for name in ["numpy"] + (["numba"] if "numba" in rs.available_backends() else []):
        with rs.backend(name):
            assert mask_winners(masks, rv, offsets, regions, group_q).tolist() == want
    np.testing.assert_array_equal(tied(masks), ~pool.decided(x, t))


def test_candidate_masks_need_a_restricted_layer_at_every_vertex():
    square = np.array([[-1.0, -1.0], [1.0, -1.0], [1.0, 1.0], [-1.0, 1.0]])
    program = compile_model(rs.Sequential(rs.Linear(np.eye(2)), rs.MaxPool([[0, 1]])), 2)
    ev = Evaluator(program, lambda u: u, square)
    mesh = Mesh.from_polygon(square)
    masks = np.zeros((4, 1), dtype=np.int64)
    with pytest.raises(ValueError, match="masks are of a restricted layer's groups"):
        merge_layer(ev, mesh, 1, None, np.zeros((0, 2), np.int64), masks=masks)
