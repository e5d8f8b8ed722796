"""Tables of values at the vertices: the host's steps, and a torch device's (the same bits).

On the device, torch on the CPU stands in for a GPU (``REGIONSCOPE_TEST_DEVICE=cuda`` runs these on
one, as ``bench/gpu_check.sh`` does).
"""

from __future__ import annotations

import os

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import regionscope as rs
from regionscope.backends import compiled
from regionscope.compute import tables as tb
from regionscope.compute.tables import (
    extend_all,
    grow,
    region_sides,
    undecided_groups,
    winners_and_maxima,
)
from regionscope.geometry import Mesh, cut, encode_source
from regionscope.network.layers import Linear, MaxPool, ReLU
from regionscope.network.program import compile_model
from regionscope.tolerances import DEVICE_MIN_VALUES

try:
    import torch
except ImportError:
    torch = None
needs_torch = pytest.mark.skipif(torch is None, reason="the torch backend needs torch")

DEVICE = os.environ.get("REGIONSCOPE_TEST_DEVICE", "cpu")
HOST = tb.HOST
SQUARE = np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]])


@pytest.fixture(scope="module")
def dev():
    """The steps on the test device (torch on the CPU unless ``REGIONSCOPE_TEST_DEVICE``)."""
    if torch is None:
        pytest.skip("the torch backend needs torch")
    return tb.DeviceTables(DEVICE)


# --------------------------------------------------------------------------------------
# the host's steps


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
    :meth:`MaxPool.forward`, and the candidate masks :meth:`MaxPool.group_candidates`,
    ties and short groups (padding) included."""
    rng = np.random.default_rng(seed)
    width = groups * k + 2
    table = np.full((groups, k), -1)
    for g in range(groups):
        size = int(rng.integers(1, k + 1))
        table[g, :size] = rng.choice(width, size=size, replace=False)
    assume((table[:, 0] >= 0).all())
    pool = MaxPool(table)
    x = rng.integers(-2, 3, size=(9, width)).astype(float)  # small integers: many ties
    x[rng.random(x.shape) < 0.2] = -0.0  # (signed zeros: the same bits on every backend)
    t = np.full(groups, tol)
    rows_q, group_q = np.divmod(np.arange(len(x) * groups), groups)
    cand = pool.group_candidates(x, rows_q, group_q, t)  # (N G, k) bool
    want_masks = (cand.astype(np.int64) << np.arange(k)).sum(axis=1).reshape(len(x), groups)
    got = {}
    for name in ["numpy"] + (["numba"] if "numba" in rs.available_backends() else []):
        with rs.backend(name):
            w, m, c = got[name] = winners_and_maxima(table, x, t, rows, masks=True)
            np.testing.assert_array_equal(w, pool.pattern(x, None, t))
            np.testing.assert_array_equal(m, pool.forward(x))
            np.testing.assert_array_equal(c, want_masks)
            assert all(
                a.tobytes() == b.tobytes()
                for a, b in zip(winners_and_maxima(table, x, t, rows), got[name], strict=False)
            )
        assert w.dtype == np.int8 and m.dtype == np.float64 and c.dtype == np.int64
        assert not np.signbit(m[m == 0]).any()  # a zero maximum is +0.0
    for found in got.values():
        assert all(a.tobytes() == b.tobytes() for a, b in zip(found, got["numpy"], strict=True))


def test_masks_of_groups_too_wide_are_refused():
    table = np.arange(2 * (tb.MASK_SLOTS + 1)).reshape(2, -1)
    x = np.zeros((1, table.size))
    with pytest.raises(ValueError, match="masks hold 62 slots, not 63"):
        winners_and_maxima(table, x, np.zeros(2), 5, masks=True)
    assert len(winners_and_maxima(table, x, np.zeros(2), 5)) == 2  # (without masks: fine)


def test_extend_all_is_each_cut_in_turn():
    """Values carried through three cuts at once are those carried cut by cut."""
    rng = np.random.default_rng(0)
    mesh = Mesh.from_polygon(np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]]))
    values = rng.normal(size=(4, 3))
    cuts, step = [], values
    for i in range(3):
        z = mesh.vertices @ rng.normal(size=(2, 2)) + rng.normal(size=2) * 0.3
        res = cut(mesh, z, np.zeros(2), encode_source(i, np.arange(2)), 1e-12, 1000)
        cuts.append(res)
        step, mesh = res.extend(step), res.mesh
    assert mesh.num_vertices > 8
    together = extend_all(values, cuts)
    assert together.tobytes() == step.tobytes()
    assert extend_all(values, []) is values


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_grow_is_each_cut_in_turn_with_fewer_copies(backend):
    """A table grown through six cuts holds, bit for bit, the values carried cut by cut;
    with the compiled kernels it is reallocated only when its room runs out."""
    if backend not in rs.available_backends():
        pytest.skip(f"{backend} is not installed")
    rng = np.random.default_rng(1)
    mesh = Mesh.from_polygon(np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]]))
    values = rng.normal(size=(4, 3))
    table, rows, step, tables = values.copy(), 4, values, []
    with rs.backend(backend):
        for i in range(6):
            z = mesh.vertices @ rng.normal(size=(2, 2)) + rng.normal(size=2) * 0.3
            res = cut(mesh, z, np.zeros(2), encode_source(i, np.arange(2)), 1e-12, 1000)
            step, mesh = res.extend(step), res.mesh
            table, rows = grow(table, rows, res)
            tables.append(table)  # (kept alive: their ids stay distinct)
            assert rows == mesh.num_vertices
            assert table[:rows].tobytes() == step.tobytes()
            assert backend == "numba" or len(table) == rows
    assert mesh.num_vertices > 30
    if backend == "numba":
        assert len({id(t) for t in tables}) < 6  # (some cuts wrote into the room left)


# --------------------------------------------------------------------------------------
# the device's steps against the host's


def same(device_values, host_values):
    """The device's values, brought back, equal the host's bit for bit (dtype and shape)."""
    got = tb.DeviceTables(DEVICE).get(device_values)
    assert got.dtype == np.asarray(host_values).dtype and got.shape == host_values.shape
    assert got.tobytes() == np.ascontiguousarray(host_values).tobytes()


def groups_table(rng, n_groups, k, width):
    """``(G, k)`` columns in ``[0, width)``, some groups padded with ``-1`` at the end."""
    table = rng.integers(0, width, size=(n_groups, k))
    for g in range(n_groups):
        table[g, rng.integers(1, k + 1) :] = -1
    return table


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**16), st.integers(1, 30), st.integers(1, 12), st.integers(2, 5))
def test_winners_maxima_and_stage_values_are_the_hosts(dev, seed, n, n_groups, k):
    """Ties, signed zeros and padded groups included; rows in chunks of any size."""
    rng = np.random.default_rng(seed)
    width = 8
    # few distinct values: many ties, and -0.0 beside 0.0
    x = rng.choice([-1.0, -0.0, 0.0, 0.5, 1.0, 1.0 + 1e-13, 2.0], size=(n, width))
    table = groups_table(rng, n_groups, k, width)
    tol = rng.choice([0.0, 1e-12, 0.6], size=n_groups)
    rows = int(rng.integers(1, n + 2))
    xd = dev.put(x)
    got = dev.winners_and_maxima(table, xd, tol, rows, masks=True)
    want = HOST.winners_and_maxima(table, x, tol, rows, masks=True)
    for a, b in zip(got, want, strict=True):  # winners, maxima, candidate masks
        same(a, b)
    layer = MaxPool(table)
    for stage in range(k - 1):
        units = slice(int(rng.integers(0, n_groups)), n_groups)
        got, want = (
            dev.stage_values(layer, xd, stage, units),
            HOST.stage_values(layer, x, stage, units),
        )
        if not compiled():  # (NumPy's maximum keeps either of two signed zeros; no cut reads it)
            got, want = got + 0.0, want + 0.0
        same(got, want)


def test_winners_and_maxima_by_hand(dev):
    x = dev.put(np.array([[1.0, 3.0, 2.0, -0.0], [5.0, 5.0, -1.0, -2.0]]))
    w, m = dev.winners_and_maxima(np.array([[0, 1, 2], [3, -1, -1]]), x, np.array([1.5, 0.0]), 1)
    assert dev.get(w).tolist() == [[1, 0], [0, 0]]  # 2.0 is within 1.5 of 3.0: not first
    assert dev.get(m).tolist() == [[3.0, 0.0], [5.0, -2.0]]
    assert np.signbit(dev.get(m)[0, 1]) == False  # noqa: E712 (a zero maximum is +0.0)


def random_cuts(seed, n_cuts, width=3):
    """A square cut ``n_cuts`` times by two random lines each, the values ``(4, width)`` at
    its corners, and the cuts."""
    rng = np.random.default_rng(seed)
    mesh = Mesh.from_polygon(SQUARE)
    values = rng.normal(size=(4, width))
    cuts = []
    for i in range(n_cuts):
        z = mesh.vertices @ rng.normal(size=(2, 2)) + rng.normal(size=2) * 0.3
        res = cut(mesh, z, np.zeros(2), encode_source(i, np.arange(2)), 1e-12, 10_000)
        cuts.append(res)
        mesh = res.mesh
    return mesh, values, cuts


@pytest.mark.parametrize("seed", range(4))
def test_grow_and_extend_all_interpolate_as_the_host(dev, seed):
    """Through cuts whose new vertices mix new ones (the crossings of two chords): the
    same values as the host's, grown in a table with room or extended at once."""
    mesh, values, cuts = random_cuts(seed, 5)
    crossings = [(s >= 4) | (d >= 4) for res in cuts for s, d, _ in res.interp]
    assert any(c.any() for c in crossings)  # (the second pass runs)
    want = extend_all(values, cuts)
    same(dev.extend_all(dev.put(values), cuts), want)
    table, rows, step = dev.put(values), 4, values
    for res in cuts:
        step = res.extend(step)
        table, rows = dev.grow(table, rows, res)
        assert rows == len(step) and len(table) >= rows
        same(table[:rows], step)
    assert rows == mesh.num_vertices
    assert dev.extend_all(values_t := dev.put(values), []) is values_t


def test_rows_columns_and_stacks_are_the_hosts(dev):
    rng = np.random.default_rng(3)
    x = rng.normal(size=(6, 5))
    kept = np.array([True, False, True, True, False, True])
    xd = dev.put(x)
    same(dev.rows(xd, kept), x[kept])
    same(dev.take(xd, np.array([4, 0, 0])), np.take(x, [4, 0, 0], axis=1))
    same(dev.concat([xd, dev.zeros(6, 1)]), np.concatenate([x, np.zeros((6, 1))], axis=1))
    same(dev.stack([xd, xd[:2]]), np.concatenate([x, x[:2]]))


def test_undecided_groups_are_the_hosts(dev):
    rng = np.random.default_rng(4)
    mesh, _, _ = random_cuts(4, 3)
    winners = rng.integers(0, 2, size=(mesh.num_vertices, 9)).astype(np.int8)
    winners[:, :3] = 1  # some groups agree everywhere
    want = HOST.undecided_groups(mesh, winners)
    assert want.tolist() == dev.undecided_groups(mesh, dev.put(winners)).tolist()
    assert not want[:3].any() and want[3:].any()


def test_a_relu_runs_on_the_device_and_other_layers_on_the_host(dev):
    x = np.array([[-1.0, 0.5], [2.0, -3.0]])
    relu = dev.forward(ReLU(), dev.put(x))
    assert isinstance(relu, torch.Tensor) and dev.get(relu).tolist() == [[0.0, 0.5], [2.0, 0.0]]
    linear = Linear([[1.0, 2.0]], [0.5])
    out = dev.forward(linear, dev.put(x))
    assert isinstance(out, torch.Tensor)
    same(out, linear.forward(x))


def test_values_that_overflowed_are_refused_naming_the_layer(dev):
    op = compile_model(rs.Sequential(Linear(np.eye(2)), MaxPool([[0, 1]])), 2).ops[1]
    dev.check_finite(dev.put(np.ones((3, 2))), op)  # finite: nothing
    with pytest.raises(ValueError, match=r"layer 1 \(.*MaxPool\): its input is not finite"):
        dev.check_finite(dev.put(np.array([[1.0, np.inf]])), op)


@needs_torch
@settings(max_examples=20, deadline=None)
@given(st.integers(1, 10**8))
def test_where_tables_live(n_values):
    """The host unless the torch backend's device is not the CPU and the tables are large;
    ``host_below=0`` sends every table to the device; a tensor's steps are its device's."""
    assert tb.tables_for(n_values) is HOST
    assert tb.tables_of(np.zeros(2)) is HOST and tb.tables_of(None) is HOST
    with rs.backend("torch", device="cpu"):
        assert tb.tables_for(n_values) is HOST  # (the CPU: numba's steps are faster)
    with rs.backend("torch", device="cpu", host_below=0):
        assert tb.tables_for(n_values).device == "cpu"
    on = tb.tables_of(torch.zeros(2, device=DEVICE))
    assert isinstance(on, tb.DeviceTables) and torch.device(on.device) == torch.device(DEVICE)


def test_large_tables_go_to_a_gpu(monkeypatch):
    """Where the device is a GPU, tables of at least DEVICE_MIN_VALUES values go there."""
    from regionscope import backends

    monkeypatch.setattr(backends, "get_device", lambda: "cuda")
    assert backends.device_for_values(DEVICE_MIN_VALUES) == "cuda"
    assert backends.device_for_values(DEVICE_MIN_VALUES - 1) is None
