"""The torch cut (regionscope.geometry.tensor) against the NumPy reference, with torch on the CPU.

Every cut must come out the same, bit for bit: vertices, region tables, edge
sources, parents, interpolation blocks and the coincident chords; and so every
partition made with ``backend="torch"``.  No GPU is needed: CI runs these on
the CPU (the GPU is timed by ``bench/gpu.py``).
"""

from __future__ import annotations

import math
import os
import warnings

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

torch = pytest.importorskip("torch", reason="the torch backend needs torch")

import regionscope as rs  # noqa: E402
from regionscope.backends import backend  # noqa: E402
from regionscope.errors import RegionLimitError  # noqa: E402
from regionscope.geometry import arrays  # noqa: E402
from regionscope.geometry.cutting import cut  # noqa: E402
from regionscope.geometry.mesh import Mesh, encode_source  # noqa: E402
from regionscope.geometry.tensor import ops  # noqa: E402
from regionscope.testing import (  # noqa: E402
    check_partition,
    line_arrangement_count,
    random_mlp,
    tiny_lines,
)

DEVICE = os.environ.get("REGIONSCOPE_TEST_DEVICE", "cpu")
SQUARE = Mesh.from_polygon(np.array([[-1.0, -1.0], [1.0, -1.0], [1.0, 1.0], [-1.0, 1.0]]))


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """One torch thread: the test machines are small and shared."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def t(x):
    return torch.as_tensor(np.asarray(x))


# --------------------------------------------------------------------------------------
# the ragged-tensor helpers against their NumPy counterparts


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 60), st.integers(0, 2**16))
def test_cycles_match_the_numpy_cycles(n, seed):
    succ = np.random.default_rng(seed).permutation(n).astype(np.int64)
    want = arrays.cycles(succ)
    for way in (ops.cycles, ops.cycles_by_jumps, ops.cycles_by_walks):  # GPU's, CPU's
        got = way(t(succ))
        assert got[0].tolist() == want[0].tolist()
        assert got[1].tolist() == want[1].tolist()


def test_cycles_refuse_a_map_that_is_not_a_permutation():
    for way in (ops.cycles, ops.cycles_by_jumps, ops.cycles_by_walks):
        with pytest.raises(ValueError, match="not a permutation"):
            way(t(np.array([1, 1, 0])))


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 40), st.integers(0, 30), st.integers(0, 2**16))
def test_components_match_the_numpy_components(n, links, seed):
    rng = np.random.default_rng(seed)
    a, b = rng.integers(0, n, links), rng.integers(0, n, links)
    assert ops.components(n, t(a), t(b)).tolist() == arrays.components(n, a, b).tolist()


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 50), st.integers(0, 2**16))
def test_order_is_the_total_order_of_sort_by(n, seed):
    rng = np.random.default_rng(seed)
    major = rng.integers(0, 4, n)
    minor = rng.choice([-0.0, 0.0, 0.25, 0.5], n)  # many ties, signed zeros among them
    last = rng.permutation(n)
    assert (
        ops.order(t(major), t(minor), t(last)).tolist()
        == arrays.sort_by(major, minor, last).tolist()
    )
    assert ops.order(t(major), t(minor)).tolist() == arrays.sort_by(major, minor).tolist()


def test_expand_changes_and_offsets():
    owner, pos = ops.expand(t([2, 0, 3]))
    assert (owner.tolist(), pos.tolist()) == ([0, 0, 2, 2, 2], [0, 1, 0, 1, 2])
    assert ops.changes(t([1, 1, 2]), t([0, 1, 1])).tolist() == [True, True, True]
    assert ops.changes(t([1, 1, 2])).tolist() == [True, False, True]
    assert ops.exclusive_cumsum(t([3, 1, 2])).tolist() == [0, 3, 4]
    assert ops.first_true(t([False, True, True, True]), t([0, 0, 1, 1])).tolist() == [1, 2]


def test_arrays_go_to_the_device_and_back_unchanged():
    held = np.arange(6.0).reshape(3, 2)
    held.setflags(write=False)  # as the mesh's arrays are
    on_cpu = ops.to_device(held, np.float64, torch.device("cpu"))
    on_cpu[0, 0] = 7.0  # a copy of its own on a CPU
    assert held[0, 0] == 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning about the read-only array
        meta = ops.to_device(held, np.int64, torch.device("meta"))  # the path of a GPU
    assert meta.device.type == "meta" and meta.shape == (3, 2) and meta.dtype == torch.int64
    flat = torch.tensor([3, -1, 2**40])
    back = ops.to_host(flat)
    assert back.dtype == np.int64 and back.tolist() == [3, -1, 2**40]
    narrow = ops.narrow(t([3, 1]), 4)  # indices below 4: an int32 sort key, the same order
    assert narrow.dtype == torch.int32 and narrow.tolist() == [3, 1]
    assert ops.narrow(t([3, 1]), 2**40).dtype == torch.int64


# --------------------------------------------------------------------------------------
# one cut, both ways


def lines(mesh, abc):
    abc = np.asarray(abc, dtype=np.float64)
    return mesh.vertices @ abc[:, :2].T + abc[:, 2]


def cut_with(name, mesh, values, tol, point_tol=1e-12, max_regions=10**6):
    codes = encode_source(0, np.arange(values.shape[1]))
    kwargs = {"device": DEVICE, "host_below": 0} if name == "torch" else {}
    with backend(name, **kwargs):
        return cut(mesh, values, tol, codes, point_tol, max_regions)


def assert_same_cut(a, b):
    for field in ("vertices", "region_vertices", "region_offsets", "incidence_source"):
        x, y = getattr(a.mesh, field), getattr(b.mesh, field)
        assert x.dtype == y.dtype and np.array_equal(x, y), field
    assert a.mesh.num_corners == b.mesh.num_corners
    assert a.num_chords == b.num_chords
    assert np.array_equal(a.region_parent, b.region_parent)
    assert np.array_equal(a.coincident, b.coincident)
    assert len(a.interp) == len(b.interp)
    for x, y in zip(a.interp, b.interp, strict=True):
        for u, v in zip(x, y, strict=True):
            assert u.dtype == v.dtype and np.array_equal(u, v)


def test_two_axes_cut_the_square_into_four_unit_quadrants():
    res = cut_with("torch", SQUARE, SQUARE.vertices.copy(), np.zeros(2))
    assert res.mesh.num_regions == 4 and res.mesh.num_vertices == 9
    assert res.mesh.areas.tolist() == [1.0, 1.0, 1.0, 1.0]
    assert res.mesh.vertices[-1].tolist() == [0.0, 0.0]  # the crossing
    src, dst, w = res.interp[0]
    # the last new vertex is the crossing: half way along the chord it mixes
    assert w[-1] == 0.5 and res.mesh.vertices[src[-1]].tolist() != [0.0, 0.0]


def _lines(seed, n, kind):
    rng = np.random.default_rng(seed)
    if kind == "general":
        return rng.uniform(-1, 1, (n, 3))
    angle = rng.uniform(0, math.pi, n)
    abc = np.stack([np.cos(angle), np.sin(angle), np.zeros(n)], axis=1)
    point = rng.uniform(-0.5, 0.5, 2)
    abc[:, 2] = -(abc[:, :2] @ point)  # all through one point
    if kind == "near":
        abc[:, 2] += rng.choice([0.0, 1e-15, 1e-13, 1e-11, 1e-9], n)
    if kind == "repeated":
        abc = np.concatenate([abc, abc[: n // 2] * 2.0, rng.uniform(-1, 1, (2, 3))])
    return abc


def outcome(name, mesh, values, tol):
    """The cut, or the error it raised (the reference may refuse a degenerate cut)."""
    try:
        return cut_with(name, mesh, values, tol)
    except Exception as err:  # noqa: BLE001 - compared below, type and message
        return err


@settings(max_examples=25, deadline=None)
@given(
    st.integers(0, 2**16),
    st.integers(2, 25),
    st.sampled_from(["general", "concurrent", "near", "repeated"]),
    st.sampled_from([1e-13, 1e-10]),
)
def test_line_arrangements_are_cut_identically(seed, n, kind, unit_tol):
    abc = _lines(seed, n, kind)
    # a first cut by some lines makes a mesh of many regions; the second cut by the others
    first_lines, second_lines = abc[: len(abc) // 2], abc[len(abc) // 2 :]
    half = lines(SQUARE, first_lines)
    tol = np.full(half.shape[1], unit_tol)
    first = cut_with("numpy", SQUARE, half, tol)
    assert_same_cut(first, cut_with("torch", SQUARE, half, tol))
    values = lines(first.mesh, second_lines[::-1])
    tol = np.full(values.shape[1], unit_tol)
    a = outcome("numpy", first.mesh, values, tol)
    b = outcome("torch", first.mesh, values, tol)
    if isinstance(a, Exception):
        assert type(a) is type(b) and str(a) == str(b)
    else:
        assume(a.num_chords > 0)
        assert_same_cut(a, b)


def test_the_one_layer_count_is_the_arrangement_count():
    abc = np.random.default_rng(5).uniform(-1, 1, (60, 3))
    res = cut_with("torch", SQUARE, lines(SQUARE, abc), np.zeros(60))
    assert res.mesh.num_regions == line_arrangement_count(abc, (-1, 1, -1, 1))
    assert math.isclose(res.mesh.areas.sum(), 4.0, rel_tol=1e-12)


def test_the_cut_is_the_same_with_either_way_of_finding_cycles(monkeypatch):
    # a GPU finds the faces' cycles by pointer jumping, a CPU by walks: both here
    from regionscope.geometry.tensor import faces

    abc = np.random.default_rng(6).uniform(-1, 1, (50, 3))
    values, tol = lines(SQUARE, abc), np.zeros(50)
    reference = cut_with("numpy", SQUARE, values, tol)
    for way in (ops.cycles_by_jumps, ops.cycles_by_walks):
        monkeypatch.setattr(faces, "cycles", way)
        assert_same_cut(reference, cut_with("torch", SQUARE, values, tol))


def test_small_cuts_run_on_the_host_with_the_same_result(monkeypatch):
    import regionscope.geometry.tensor as tensor

    calls = []
    device_cut = tensor.cut_once
    monkeypatch.setattr(tensor, "cut_once", lambda *a: calls.append(1) or device_cut(*a))
    abc = np.random.default_rng(8).uniform(-1, 1, (12, 3)) * [1, 1, 0.1]
    values, tol = lines(SQUARE, abc), np.zeros(12)
    assert ((values.min(axis=0) < 0) & (values.max(axis=0) > 0)).all()  # all cross
    reference = cut_with("numpy", SQUARE, values, tol)
    codes = encode_source(0, np.arange(12))
    work = 12 + 12 * 11 // 2  # 12 crossed pairs in one region, 66 crossings at most
    for host_below, on_device in [(0, True), (work, True), (work + 1, False), (None, False)]:
        calls.clear()
        with backend("torch", device=DEVICE, host_below=host_below):
            res = cut(SQUARE, values, tol, codes, 1e-12, 10**6)
        assert len(calls) == on_device, host_below
        assert_same_cut(reference, res)


def test_the_region_limit_reads_the_same():
    abc = np.random.default_rng(1).uniform(-1, 1, (40, 3))
    messages = []
    for name in ("numpy", "torch"):
        with pytest.raises(RegionLimitError) as info:
            cut_with(name, SQUARE, lines(SQUARE, abc), np.zeros(40), max_regions=100)
        messages.append(str(info.value))
    assert messages[0] == messages[1]


# --------------------------------------------------------------------------------------
# whole partitions


def _star(n, eps=0.0, seed=0):
    angle = np.linspace(0, math.pi, n + 1)[:-1]
    c = -(np.cos(angle) * 0.1 + np.sin(angle) * 0.2)
    c = c + eps * np.random.default_rng(seed).normal(size=n)
    return tiny_lines(np.stack([np.cos(angle), np.sin(angle), c], axis=1))


NETWORKS = {
    "relu": lambda: random_mlp([2, 12, 12, 6], 3),
    "deep": lambda: random_mlp([2, 6, 6, 6, 6], 5),
    "wide": lambda: random_mlp([2, 80], 1),
    "argmax": lambda: random_mlp([2, 10, 10, 4], 7, argmax=True),
    "maxpool": lambda: random_mlp([2, 6, 6], 2, maxout=3),
    "star": lambda: _star(12),
    "nearly-concurrent": lambda: _star(10, 1e-12),
    "repeated": lambda: tiny_lines([[1, 0, 0], [0, 1, 0], [2, 0, 0], [0, 2, 0], [1, 1, 0]]),
    "tiny-slope": lambda: tiny_lines([[1, 0, 0], [0, 1, -1], [1, -1, 0], [1, 1e-13, 0.5]]),
}


def assert_same_partition(a, b):
    x, y = a.to_arrays(), b.to_arrays()
    assert sorted(x) == sorted(y)
    for key in x:
        if key != "stats":  # timings
            assert np.array_equal(np.asarray(x[key]), np.asarray(y[key])), key


@pytest.mark.parametrize("net", sorted(NETWORKS))
def test_networks_are_partitioned_identically(net):
    domain = rs.Polygon([[-1, -1], [2, -0.5], [1, 1.5], [-1.5, 0.5]])
    a = rs.partition(NETWORKS[net](), domain, backend="numpy")
    with backend("torch", device=torch.device(DEVICE), host_below=0):
        b = rs.partition(NETWORKS[net](), domain)
    assert_same_partition(a, b)
    check_partition(b)


def test_a_plane_through_three_points_of_a_wider_input():
    images = np.random.default_rng(4).normal(size=(3, 5))
    net = random_mlp([5, 8, 8], 4)
    a = rs.partition(net, rs.Plane(images), backend="numpy")
    with backend("torch", device=DEVICE, host_below=0):
        b = rs.partition(net, rs.Plane(images))
    assert_same_partition(a, b)
