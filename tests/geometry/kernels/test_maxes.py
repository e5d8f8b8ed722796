"""Max layers' compiled steps against the NumPy code they replace, and hand-computed cases."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

pytest.importorskip("numba")

from regionscope.backends import backend  # noqa: E402
from regionscope.compute.pairs import disagreeing  # noqa: E402
from regionscope.compute.windowed import group_winners  # noqa: E402
from regionscope.geometry import Mesh  # noqa: E402
from regionscope.geometry.kernels import compiled_maxes, maxes  # noqa: E402
from regionscope.network.layers import Argmax, MaxPool  # noqa: E402


def _pool(rng: np.random.Generator, width: int, groups: int, k: int) -> MaxPool:
    """Random groups of 1..k distinct inputs of ``width`` (padded with -1)."""
    table = np.full((groups, k), -1, dtype=np.int64)
    for g in range(groups):
        size = int(rng.integers(1, k + 1))
        table[g, :size] = rng.choice(width, size=size, replace=False)
    return MaxPool(table)


def _values(rng: np.random.Generator, n: int, width: int) -> np.ndarray:
    """Values with exact ties (few distinct numbers) and a few large ones."""
    x = rng.integers(-3, 4, size=(n, width)).astype(np.float64) / 2
    noisy = rng.random((n, width)) < 0.4
    x[noisy] = rng.normal(size=int(noisy.sum())) * 3
    return x


def _mesh(rng: np.random.Generator, nverts: int, nregions: int) -> tuple[np.ndarray, np.ndarray]:
    """``(region_vertices, region_offsets)`` of random regions of 3 to 6 vertices."""
    sizes = rng.integers(3, 7, size=nregions)
    rv = rng.integers(0, nverts, size=int(sizes.sum()))
    return rv, np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**16), st.integers(1, 6), st.integers(2, 4), st.booleans())
def test_stage_values_and_patterns_are_the_numpy_ones(seed, groups, k, argmax):
    rng = np.random.default_rng(seed)
    width = 8
    layer = Argmax() if argmax else _pool(rng, width, groups, k)
    x = _values(rng, 30, width)
    n_units = layer.num_units(width)
    tol = rng.random(n_units) * 0.5
    units = slice(0, n_units) if seed % 2 else slice(n_units // 2, n_units)
    assume(units.stop > units.start)
    for stage in range(layer.num_stages(width)):
        with backend("numpy"):
            want = layer.stage_values(x, stage, units)
        with backend("numba"):
            got = layer.stage_values(x, stage, units)
        assert got.dtype == want.dtype and np.array_equal(got, want)
        assert np.array_equal(np.signbit(got), np.signbit(want))
    for t in (tol, None):
        with backend("numpy"):
            want = layer.pattern(x, units, t)
        with backend("numba"):
            got = layer.pattern(x, units, t)
        assert got.dtype == want.dtype and np.array_equal(got, want)


def test_stage_values_by_hand():
    # groups (0, 1, 2) and (3, pad): stage 0 is x0 - x1 and nothing; stage 1 max(x0, x1) - x2
    x = np.array([[1.0, 3.0, 2.0, 5.0]])
    table = np.array([[0, 1, 2], [3, -1, -1]])
    assert maxes.stage_values(x, table, 1).tolist() == [[-2.0, 1.0]]
    assert maxes.stage_values(x, table, 2).tolist() == [[1.0, 1.0]]
    # a NaN propagates through the maximum as np.max does, and is not finite: 1.0
    assert maxes.stage_values(np.array([[np.nan, 3.0, 2.0, 0.0]]), table, 2).tolist() == [
        [1.0, 1.0]
    ]


def test_signed_zeros_come_out_as_numpy_gives_them():
    # np.max keeps the later of equal values: max(-0.0, 0.0) is 0.0, max(0.0, -0.0) is -0.0
    rows = np.array(list(itertools.product([0.0, -0.0, 1.0, -1.0], repeat=4)))
    for layer in (Argmax(), MaxPool([[0, 1, 2, 3]]), MaxPool([[3, 1, -1], [0, 2, 1]])):
        for stage in range(layer.num_stages(4)):
            with backend("numpy"):
                want = layer.stage_values(rows, stage)
            with backend("numba"):
                got = layer.stage_values(rows, stage)
            assert np.array_equal(got, want)
            assert np.array_equal(np.signbit(got), np.signbit(want))
    assert np.signbit(maxes.stage_values(np.array([[0.0, -0.0, 0.0]]), np.array([[0, 1, 2]]), 2))


def test_winners_by_hand():
    # tolerance 0.5: in (1.0, 3.0, 2.6) inputs 1 and 2 are candidates; the first wins
    x = np.array([[1.0, 3.0, 2.6]])
    table = np.array([[0, 1, 2]])
    assert maxes.winners(x, table, np.array([0.5])).tolist() == [[1]]
    assert maxes.winners(x, table, np.array([0.0])).tolist() == [[1]]
    assert maxes.winners(x[:, ::-1].copy(), table, np.array([0.5])).tolist() == [[0]]


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 2**16), st.integers(1, 5), st.integers(1, 30))
def test_disagreement_is_the_numpy_filter(seed, groups, npairs):
    rng = np.random.default_rng(seed)
    nverts = 10
    rv, offsets = _mesh(rng, nverts, 6)
    mesh = Mesh(np.zeros((nverts, 2)), rv, offsets, np.full(len(rv), -1), 0)
    winners = rng.integers(0, 2, size=(nverts, groups))
    region = np.sort(rng.integers(0, 6, size=npairs))
    group = rng.integers(0, groups, size=npairs)
    with backend("numpy"):
        want = disagreeing(mesh, winners)(region, group)
    with backend("numba"):
        got = disagreeing(mesh, winners)(region, group)
    assert got.dtype == want.dtype and np.array_equal(got, want)
    # by definition: the winners at the region's corners are not all one
    for p in range(npairs):
        corners = rv[offsets[region[p]] : offsets[region[p] + 1]]
        assert got[p] == (len(set(winners[corners, group[p]].tolist())) > 1)


def _oracle_winner(vals: np.ndarray, columns: np.ndarray, t: float) -> int:
    """The first input that is within ``t`` of the largest at every corner (rows of
    ``vals``), ``-1`` if none: a plain Python loop."""
    valid = [s for s in range(len(columns)) if columns[s] >= 0]
    for s in valid:
        if all(row[s] >= max(row[j] for j in valid) - t for row in vals):
            return s
    return -1


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 2**16), st.integers(1, 5), st.integers(2, 4))
def test_winners_over_regions_are_the_numpy_ones_and_the_oracle(seed, groups, k):
    rng = np.random.default_rng(seed)
    nverts, width = 12, 7
    layer = _pool(rng, width, groups, k)
    rv, offsets = _mesh(rng, nverts, 8)
    vertices = rng.integers(-2, 3, size=(nverts, 2)).astype(np.float64)
    mesh = Mesh(vertices, rv, offsets, np.full(len(rv), -1), 0)
    linear = rng.integers(-2, 3, size=(2, width)).astype(np.float64) / 2
    offset = rng.integers(-2, 3, size=width).astype(np.float64) / 4
    tol = rng.random(groups) * 0.6
    regions = rng.integers(0, 8, size=20)
    group = rng.integers(0, groups, size=20)
    with backend("numpy"):
        want = group_winners(mesh, layer, layer.groups, (linear, offset), tol, regions, group)
    with backend("numba"):
        got = group_winners(mesh, layer, layer.groups, (linear, offset), tol, regions, group)
    assert got.dtype == want.dtype and np.array_equal(got, want)
    # the same winners from the input stored at the vertices
    x = vertices[:, :1] * linear[0] + vertices[:, 1:] * linear[1] + offset
    stored = maxes.winners_at_corners(layer, x, rv, offsets, regions, group, tol)
    assert np.array_equal(stored, got)
    for q in range(len(regions)):
        corners = rv[offsets[regions[q]] : offsets[regions[q] + 1]]
        cols = layer.groups[group[q]]
        vals = x[corners][:, np.maximum(cols, 0)]
        assert got[q] == _oracle_winner(vals, cols, tol[group[q]])


def test_the_kernels_run_only_on_2d_float64_with_the_compiled_backend():
    with backend("numba"):
        assert compiled_maxes(np.zeros((2, 3))) is maxes
        assert compiled_maxes(np.zeros((2, 3), dtype=np.float32)) is None
        assert compiled_maxes(np.zeros(3)) is None
    with backend("numpy"):
        assert compiled_maxes(np.zeros((2, 3))) is None
        assert compiled_maxes() is None


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_surely_kept_sides_are_the_numpy_ones(seed, monkeypatch):
    import regionscope as rs
    import regionscope.compute.windowed as windowed

    numpy_kept = windowed._surely_kept
    found = []

    def both(mesh, edges, i1, i2, e, tol):
        with backend("numpy"):
            want = numpy_kept(mesh, edges, i1, i2, e, tol)
        got = maxes.surely_kept(mesh, edges, i1, i2, e, tol)
        assert got.dtype == want.dtype and np.array_equal(got, want)
        found.append(want)
        return want

    monkeypatch.setattr(windowed, "_surely_kept", both)
    rng = np.random.default_rng(seed)
    groups, k = 12, 3
    net = rs.Sequential(
        rs.Linear(rng.normal(size=(groups * k, 2)), rng.normal(size=groups * k)),
        rs.MaxPool(np.arange(groups * k).reshape(groups, k)),
    )
    rs.partition(net, rs.Box(1.5))
    kept = np.concatenate(found)
    assert kept.any() and not kept.all()  # both kinds of sides were compared
