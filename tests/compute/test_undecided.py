"""Max-pooling layers cut on their undecided groups only: same partitions, less work."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import regionscope as rs
import regionscope.compute.chain2d as chain2d
import regionscope.compute.driver as driver
import regionscope.compute.undecided as undecided
from regionscope.compute.tables import winners_and_maxima
from regionscope.compute.undecided import restrict_groups
from regionscope.geometry import Mesh, cut, encode_source
from regionscope.network.conv import ChannelAffine, Reshape
from regionscope.network.layers import MaxPool
from regionscope.network.program import compile_model
from regionscope.testing import check_partition

sys.path.insert(0, str(Path(__file__).parent))
from test_merge import small_cnn  # noqa: E402


def two_rectangles() -> Mesh:
    """The unit square cut at x = 0.5: vertices 0-3 the square's corners, 4 and 5 the cut's."""
    square = Mesh.from_polygon(np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]]))
    z = square.vertices[:, :1] - 0.5
    return cut(square, z, np.zeros(1), encode_source(0, np.zeros(1, np.int64)), 1e-12, 10).mesh


def test_restricted_local_numbering():
    r = restrict_groups(MaxPool([[0, 1], [2, 3], [4, 5], [6, 7]]), np.array([1, 3]), np.ones(4))
    assert r.local(np.array([[3, 1], [0, 2]])).tolist() == [[1, 0], [-1, -1]]
    assert r.columns.tolist() == [2, 3, 6, 7]
    assert r.layer.groups.tolist() == [[0, 1], [2, 3]]


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
    return small_cnn(seed, argmax, head=True)


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
    monkeypatch.setattr(driver, "LIVE_UNITS_MIN_WIDTH", 0)  # (ReLU layers narrowed for pools)
    monkeypatch.setattr(driver, "POOL_HEAD", False)  # (bit for bit: the pool's own output)
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


@pytest.mark.parametrize("name", ["cnn", "maxout"])
def test_merge_from_candidate_masks_gives_the_same_partition(monkeypatch, name):
    """The merge after the undecided groups' cuts reads their candidate masks (no inputs);
    from the inputs instead (``MERGE_MASKS = False``): the same arrays."""
    make, dim = NETWORKS[name]
    net, domain = make(2), _domain(dim, 2, 0.3 if dim > 4 else 1.5)
    seen = []
    real = undecided.merge_layer

    def spy(*args, masks=None, **kw):
        seen.append((args[3] is None, masks is not None))
        return real(*args, masks=masks, **kw)

    monkeypatch.setattr(undecided, "merge_layer", spy)
    with_masks = rs.partition(net, domain)
    assert seen == [(True, True)]  # (masks, and no inputs)
    monkeypatch.setattr(undecided, "MERGE_MASKS", False)
    from_inputs = rs.partition(net, domain)
    assert seen[1:] == [(False, False)]
    assert with_masks.num_regions > 10
    a, b = with_masks.to_arrays(), from_inputs.to_arrays()
    for key in a:
        if key != "stats":
            np.testing.assert_array_equal(np.asarray(a[key]), np.asarray(b[key]), err_msg=key)


@pytest.mark.parametrize("name", sorted(NETWORKS))
@pytest.mark.parametrize("head", [False, True])
def test_tables_on_a_torch_device_give_the_same_arrays(monkeypatch, name, head):
    """Every table of the pool's cut (and of the ReLU layer before it) on a torch device,
    torch on the CPU here (``host_below=0``): the arrays of NumPy's run, bit for bit (the
    numba backend may cut a first Linear/ReLU chain in one kernel, its own bits)."""
    pytest.importorskip("torch")
    make, dim = NETWORKS[name]
    net, domain = make(1), _domain(dim, 1, 0.3 if dim > 4 else 1.5)
    monkeypatch.setattr(driver, "LIVE_UNITS_MIN_WIDTH", 0)  # (ReLU layers narrowed for pools)
    monkeypatch.setattr(driver, "POOL_HEAD", head)
    host = rs.partition(net, domain, backend="numpy")
    seen = []  # where the pool's cut placed its tables (a tensor from the ReLU, or its own)
    for place in ("tables_of", "tables_for"):
        real = getattr(undecided, place)
        monkeypatch.setattr(
            undecided, place, lambda x, f=real: (t := f(x), seen.append(t.device))[0]
        )
    with rs.backend("torch", device="cpu", host_below=0):
        device = rs.partition(net, domain)
    assert seen == ["cpu"]  # (one max-pooling layer, cut on its undecided groups)
    a, b = host.to_arrays(), device.to_arrays()
    for key in a:
        if key != "stats":
            np.testing.assert_array_equal(np.asarray(a[key]), np.asarray(b[key]), err_msg=key)


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


def _heads_seen(monkeypatch) -> list:
    """The ``head`` each call of ``cut_undecided`` gets (None or its ops' names)."""
    seen = []
    real = undecided.cut_undecided

    def spy(*args):
        head = args[-1]
        seen.append(None if head is None else [op.name for op in head.ops])
        return real(*args)

    monkeypatch.setattr(driver, "cut_undecided", spy)
    return seen


def test_pool_head_carries_an_undecided_group_by_hand(monkeypatch):
    """y = relu(x + 2) on [-1, 1]^2 (no cut), max(y0, y1) (undecided: cuts along x0 = x1) and
    max(5, 0) (decided), then relu(g0 - g1 + 3.5) = relu(max(x0, x1) + 0.5): the Linear
    layer's input reaches the last ReLU through the pool's cut, the decided group through
    the head at the first vertices, the undecided one by the head's linear part."""
    net = rs.Sequential(
        rs.Linear(np.array([[1.0, 0], [0, 1], [0, 0], [0, 0]]), np.array([2.0, 2, 5, -5])),
        rs.ReLU(),
        rs.MaxPool([[0, 1], [2, 3]]),
        rs.Linear(np.array([[1.0, -1.0]]), np.array([3.5])),
        rs.ReLU(),
    )
    seen = _heads_seen(monkeypatch)
    part = rs.partition(net, rs.Box(1.0))
    assert len(seen) == 1 and seen[0] is not None and len(seen[0]) == 1  # the Linear layer
    # the diagonal, then x0 = -0.5 below it and x1 = -0.5 above it
    assert part.num_regions == 4
    np.testing.assert_allclose(np.sort(part.areas()), [0.125, 0.125, 1.875, 1.875])
    u = part.centroids()
    want = np.maximum(np.maximum(u[:, 0], u[:, 1]) + 0.5, 0)
    np.testing.assert_allclose(net.forward(u)[:, 0], want, atol=1e-12)
    check_partition(part, n=3)


def test_no_pool_head_where_it_would_not_be_narrower_or_has_no_next_layer(monkeypatch):
    seen = _heads_seen(monkeypatch)
    rng = np.random.default_rng(3)
    relu_pool = [rs.Linear(rng.normal(size=(6, 2)), rng.normal(size=6)), rs.ReLU()]
    pool = rs.MaxPool([[0, 1], [2, 3], [4, 5]])
    for tail, head in [
        ([], None),  # the pool is the last piecewise layer
        ([rs.Linear(rng.normal(size=(1, 3)))], None),  # nothing piecewise after it
        ([rs.Linear(rng.normal(size=(3, 3))), rs.ReLU()], None),  # not narrower
        ([rs.Linear(rng.normal(size=(2, 3))), rs.ReLU()], ["3"]),
    ]:
        seen.clear()
        part = rs.partition(rs.Sequential(*relu_pool, pool, *tail), rs.Box(2.0))
        assert seen == [head], tail
        check_partition(part, n=2)


def _head(weight, bias, shape=None):
    """A Head of an optional Reshape and a Linear layer (compiled alone)."""
    layers = ([Reshape(shape, (int(np.prod(shape)),))] if shape else []) + [
        rs.Linear(weight, bias)
    ]
    return undecided.Head(compile_model(rs.Sequential(*layers), weight.shape[1]).ops)


def test_head_rows_are_its_linear_part_at_unit_vectors():
    rng = np.random.default_rng(0)
    w1, w2 = rng.normal(size=(5, 6)), rng.normal(size=(3, 5))
    unit = np.eye(6)[[4, 0, 2]]
    for head in [
        _head(w1, rng.normal(size=5), (2, 3)),  # a reshape, then the weight's columns
        undecided.Head(  # Linear, Linear: the first's columns, the second's linear part
            compile_model(rs.Sequential(rs.Linear(w1, np.ones(5)), rs.Linear(w2)), 6).ops
        ),
        # a batch-norm first: the linear part from the unit vectors
        undecided.Head(
            compile_model(
                rs.Sequential(
                    ChannelAffine([2.0, -0.5], [1.0, 3.0], in_shape=(2, 3)), rs.Linear(w1)
                ),
                6,
            ).ops
        ),
    ]:
        got = head.rows(np.array([4, 0, 2]))
        np.testing.assert_allclose(got, head.linear(unit), rtol=1e-14, atol=1e-15)
        zero = head.forward(np.zeros((1, 6)))
        np.testing.assert_allclose(head.forward(unit) - zero, got, atol=1e-14)


def test_narrow_for_pool_folds_settled_groups_through_the_head_by_hand():
    """Groups (0, 1) settled with source 1, (2, 3) settled dead, (4, 5) open; unit 1 also
    cuts: column 1 stays for the unit, and the settled output goes through the head."""
    x = np.array([[0.5, 2.0, -1.0, -3.0, 0.25, 4.0], [1.0, 3.0, -2.0, -1.0, 0.5, 2.0]])
    table = np.array([[0, 1], [2, 3], [4, 5]])
    settled, source = np.array([True, True, False]), np.array([1, -1, -1])
    head = _head(np.array([[2.0, 5.0, -1.0], [-3.0, 1.0, 0.0]]), np.array([7.0, 7.0]))
    plain, n0 = undecided.narrow_for_pool(x, None, np.array([1]), table, settled, source)
    assert n0.columns.tolist() == [1, 4, 5] and n0.partial == 0
    np.testing.assert_array_equal(plain, x[:, [1, 4, 5]])
    for units, kept in [(np.array([1]), [1, 4, 5]), (np.array([], np.int64), [4, 5])]:
        got, n1 = undecided.narrow_for_pool(x, None, units, table, settled, source, head)
        assert n1.columns.tolist() == kept and n1.partial == 2
        held = len(kept)
        np.testing.assert_array_equal(got[:, :held], x[:, kept])
        plus, minus = got[:, held : held + 2], got[:, held + 2 :]
        assert (plus >= 0).all() and (minus >= 0).all()  # (the ReLU leaves them as they are)
        # group 0's output (x[:, 1]) times the head's column 0: (2, -3)
        np.testing.assert_array_equal(plus - minus, x[:, [1]] * np.array([[2.0, -3.0]]))
    # held columns given: the same, read from their positions
    some = np.array([0, 1, 4, 5])
    got, n2 = undecided.narrow_for_pool(x[:, some], some, np.array([1]), table, settled, source,
                                        head)  # fmt: skip
    assert n2.columns.tolist() == [1, 4, 5] and got.shape == (2, 3 + 4)


@pytest.mark.parametrize("name", ["cnn", "cnn+argmax", "maxout"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_pool_head_gives_the_same_partition(monkeypatch, name, seed):
    """The pool's output through the head where it is known, then carried, or the output
    carried and the head run at every vertex: the same partition, vertices equal up to
    rounding.  On the CNNs, the settled groups' outputs go through the head at the ReLU
    layer before the pool already (:func:`~regionscope.compute.undecided.narrow_for_pool`)."""
    make, dim = NETWORKS[name]
    net, domain = make(seed), _domain(dim, seed, 0.3 if dim > 4 else 1.5)
    monkeypatch.setattr(driver, "LIVE_UNITS_MIN_WIDTH", 0)  # (ReLU layers narrowed for pools)
    seen = _heads_seen(monkeypatch)
    folded = []
    real = undecided.narrow_for_pool

    def spy(*args):
        out = real(*args)
        folded.append(out[1].partial)
        return out

    monkeypatch.setattr(driver, "narrow_for_pool", spy)
    fast = rs.partition(net, domain)
    monkeypatch.setattr(driver, "POOL_HEAD", False)
    plain = rs.partition(net, domain)
    assert seen[0] is not None and seen[1] is None
    if name.startswith("cnn"):
        assert folded[0] > 0 and folded[-1] == 0
    assert fast.num_regions == plain.num_regions > 10
    a, b = fast.to_arrays(), plain.to_arrays()
    for key in a:
        if key == "vertices":
            size = np.abs(b[key]).max()
            np.testing.assert_allclose(a[key], b[key], rtol=0, atol=1e-12 * size)
        elif key != "stats":
            np.testing.assert_array_equal(np.asarray(a[key]), np.asarray(b[key]), err_msg=key)
    for op in fast.layers:
        if op.layer.piecewise:
            assert np.array_equal(
                fast.activation_patterns(op.index), plain.activation_patterns(op.index)
            )
    check_partition(fast, n=2)


@pytest.mark.parametrize(("seed", "half"), [(1, 0.02), (2, 0.1), (3, 0.05)])
def test_pool_head_through_the_expansion_gives_the_same_partition(monkeypatch, seed, half):
    """Small windows, where the ReLU layer's input comes from the first ReLU's live units
    and some groups are settled on the whole domain: their outputs go through the head
    from the expansion (``values_through``), never as columns."""
    monkeypatch.setattr(driver, "LIVE_UNITS_MIN_WIDTH", 0)
    seen = []
    real = undecided.narrow_for_pool

    def spy(*args):
        seen.append(len(args) > 7 and args[7] is not None)
        return real(*args)

    monkeypatch.setattr(driver, "narrow_for_pool", spy)
    net, domain = _cnn(seed, False), _domain(36, seed, half)
    fast = rs.partition(net, domain)
    assert seen == [True]
    monkeypatch.setattr(driver, "POOL_HEAD", False)
    plain = rs.partition(net, domain)
    a, b = fast.to_arrays(), plain.to_arrays()
    for key in a:
        if key == "vertices":
            np.testing.assert_allclose(a[key], b[key], rtol=0, atol=1e-12 * np.abs(b[key]).max())
        elif key != "stats":
            np.testing.assert_array_equal(np.asarray(a[key]), np.asarray(b[key]), err_msg=key)
    check_partition(fast, n=2)
    u = fast.centroids()
    linear, offset = fast.affine_maps()
    got = np.einsum("fij,fj->fi", linear, u) + offset
    np.testing.assert_allclose(got, net.forward(domain.lift(u)), rtol=1e-9, atol=1e-9)


def test_narrow_for_pool_adds_outputs_already_through_the_head():
    """Group 0 settled before (its part given, its source not held) and group 1 settled
    from x: the two parts add up."""
    x = np.array([[5.0, 1.0, 2.0, 0.5], [6.0, 1.5, 3.0, 1.0]])  # held columns 2..5
    held = np.array([2, 3, 4, 5])
    table = np.array([[0, 1], [2, 3], [4, 5]])
    settled, source = np.array([True, True, False]), np.array([0, 2, -1])
    head = _head(np.array([[1.0, -2.0, 4.0], [3.0, 1.0, -1.0]]), np.zeros(2))
    x0 = np.array([[7.0], [8.0]])  # group 0's source, never held
    w0 = head.rows(np.array([0]))
    part = np.concatenate([x0 @ np.maximum(w0, 0), x0 @ np.maximum(-w0, 0)], axis=1)
    done = (np.array([True, False, False]), part)
    got, n = undecided.narrow_for_pool(x, held, np.zeros(0, np.int64), table, settled,
                                       source, head, done)  # fmt: skip
    assert n.columns.tolist() == [4, 5] and n.partial == 2
    np.testing.assert_array_equal(got[:, :2], x[:, 2:])
    want = x0 * np.array([[1.0, 3.0]]) + x[:, [0]] * np.array([[-2.0, 1.0]])
    np.testing.assert_allclose(got[:, 2:4] - got[:, 4:], want, rtol=1e-15)
    with pytest.raises(ValueError, match="need the head"):
        undecided.narrow_for_pool(x, held, np.zeros(0, np.int64), table, settled, source,
                                  None, done)  # fmt: skip


def test_settled_groups_by_hand():
    """Four groups of two inputs at three vertices (tolerance 0.1): all inputs <= 0 (output
    0), input 1 leading by more than twice the tolerance (output input 1), a lead of only
    0.15 (open), and a leader that is negative somewhere (open)."""
    x = np.array(
        [
            [-1.0, 0.0, 1.0, 5.0, 1.0, 1.15, -0.5, -2.0],
            [-2.0, -3.0, 0.0, 3.0, 2.0, 2.5, 3.0, -1.0],
            [-0.5, -1.0, -1.0, 2.0, 3.0, 3.5, 4.0, 0.0],
        ]
    )
    table = np.arange(8).reshape(4, 2)
    settled, source = undecided.settled_groups(
        table, x, x.min(axis=0), x.max(axis=0), np.full(4, 0.1), 2
    )
    assert settled.tolist() == [True, True, False, False]
    assert source[:2].tolist() == [-1, 3]


def test_settled_groups_from_bounds_alone():
    """Without the values at the vertices (``x`` None: the columns' bounds only), groups the
    bounds decide are settled as with the values, and a group only the vertices settle (input
    0 leads input 1 by 1 at both vertices, but their ranges [1, 3] and [0, 2] overlap) is
    not."""
    x = np.array([[-1.0, -2.0, 3.0, 2.0, 5.0, 1.0], [-3.0, -1.0, 1.0, 0.0, 4.0, 2.0]])
    table = np.arange(6).reshape(3, 2)
    low, high, tol = x.min(axis=0), x.max(axis=0), np.full(3, 0.1)
    with_x = undecided.settled_groups(table, x, low, high, tol, 1)
    bounds = undecided.settled_groups(table, None, low, high, tol, 1)
    assert with_x[0].tolist() == [True, True, True]
    assert bounds[0].tolist() == [True, False, True]
    assert with_x[1].tolist() == [-1, 2, 4] and bounds[1][[0, 2]].tolist() == [-1, 4]


def _chain(values: np.ndarray, rng: np.random.Generator, n_new: int) -> np.ndarray:
    """``values (V, n)`` extended by ``n_new`` vertices, each a rounded mix ``a + w (b - a)``
    of two earlier ones (the interpolation of the cuts, chains included)."""
    out = [row for row in values]
    for _ in range(n_new):
        i, j = rng.integers(0, len(out), size=2)
        w = rng.choice([0.0, 1.0, rng.random()])
        out.append(out[i] + w * (out[j] - out[i]))
    return np.array(out)


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 10_000), k=st.integers(1, 4), spread=st.sampled_from([0.0, 1e-9, 1.0]))
def test_settled_groups_keep_output_and_winner_through_interpolation(seed, k, spread):
    """At vertices interpolated (in chains) from the vertices where a group was found
    settled, the max-pooling of ``relu(x)`` still outputs its source column (0 where it has
    none), bit for bit, and the winner is the same at every vertex."""
    rng = np.random.default_rng(seed)
    n_groups, n_verts = 6, 5
    base = rng.normal(size=n_groups * k) * rng.choice([0.0, 1.0, 1e3], size=n_groups * k)
    x = base + spread * rng.normal(size=(n_verts, n_groups * k))
    table = rng.permutation(n_groups * k).reshape(n_groups, k)
    tol = np.full(n_groups, 1e-6)
    settled, source = undecided.settled_groups(table, x, x.min(axis=0), x.max(axis=0), tol, 3)
    assume(settled.any())
    extended = _chain(x, rng, 40)
    winners, maxima = winners_and_maxima(table, np.maximum(extended, 0.0), tol, 7)
    for g in np.flatnonzero(settled):
        want = extended[:, source[g]] if source[g] >= 0 else np.zeros(len(extended))
        assert (maxima[:, g] == want).all()
        assert (winners[:, g] == winners[0, g]).all()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_narrowed_relu_before_pool_gives_the_same_arrays(monkeypatch, seed):
    """A ReLU layer before a max-pooling layer carries only the columns its live units and
    the pool's open groups need; the arrays are those of carrying every column."""
    seen = []
    real = undecided.settled_groups

    def spy(*args):
        out = real(*args)
        seen.append(out[0])
        return out

    monkeypatch.setattr(driver, "settled_groups", spy)
    monkeypatch.setattr(driver, "LIVE_UNITS_MIN_WIDTH", 0)
    monkeypatch.setattr(driver, "EXPANDED_ONLY", False)  # (bit for bit: a forward pass)
    monkeypatch.setattr(driver, "POOL_HEAD", False)  # (and the pool's own output)
    net, domain = _cnn(seed, False), _domain(36, seed, 0.3)
    with rs.budget(memory_bytes=1 << 30):
        fast = rs.partition(net, domain)
        monkeypatch.setattr(driver, "SETTLED_ONLY", False)
        plain = rs.partition(net, domain)
    assert len(seen) == 1 and seen[0].any()  # some groups settled, once
    assert fast.num_regions == plain.num_regions > 10
    a, b = fast.to_arrays(), plain.to_arrays()
    for key in a:
        if key != "stats":
            np.testing.assert_array_equal(np.asarray(a[key]), np.asarray(b[key]), err_msg=key)


def test_settled_group_output_reaches_the_next_layer_by_hand():
    """relu(x0), relu(x1) on [-1, 1]^2, then max(y0 + 10, y1) (input 0 leads by 9 > 2 tol:
    settled, output y0 + 10) and max(-y0 - 1, -y1 - 1) (both inputs < 0: settled, output
    0), then relu(out0 - 10.5): the partition is the quadrants, x0 = 0.5 splitting the two
    with x0 > 0, as without the narrowing."""
    net = rs.Sequential(
        rs.Linear(np.eye(2)),
        rs.ReLU(),
        rs.Linear(np.array([[1.0, 0], [0, 1], [-1, 0], [0, -1]]), np.array([10.0, 0, -1, -1])),
        rs.ReLU(),
        rs.MaxPool([[0, 1], [2, 3]]),
        rs.Linear(np.array([[1.0, 0.0]]), np.array([-10.5])),
        rs.ReLU(),
    )
    seen = []
    real = undecided.settled_groups

    def spy(*args):
        out = real(*args)
        seen.append((out[0].tolist(), out[1].tolist()))
        return out

    mp = pytest.MonkeyPatch()
    mp.setattr(chain2d, "CHAIN_2D", False)  # the driver's own passes from the start
    mp.setattr(driver, "LIVE_UNITS_MIN_WIDTH", 0)
    mp.setattr(driver, "EXPANDED_ONLY", False)
    mp.setattr(driver, "settled_groups", spy)
    try:
        part = rs.partition(net, rs.Box(1.0))
        assert seen == [([True, True], [0, -1])]
        mp.setattr(driver, "SETTLED_ONLY", False)
        plain = rs.partition(net, rs.Box(1.0))
    finally:
        mp.undo()
    assert part.num_regions == plain.num_regions == 6
    np.testing.assert_allclose(np.sort(part.areas()), [0.5, 0.5, 0.5, 0.5, 1, 1])
    assert part.to_arrays()["vertices"].tobytes() == plain.to_arrays()["vertices"].tobytes()


@pytest.mark.parametrize("memory", [1 << 14, 1 << 17, 1 << 19, 1 << 21])
def test_narrowed_relu_follows_the_budget_of_whole_registers(monkeypatch, memory):
    """Under budgets that drop the stored values somewhere (before, during or after the
    ReLU layer's cuts), the narrowed layer drops them where the whole registers would be
    dropped: the same arrays as without narrowing."""
    monkeypatch.setattr(driver, "LIVE_UNITS_MIN_WIDTH", 0)
    monkeypatch.setattr(driver, "EXPANDED_ONLY", False)  # (bit for bit: a forward pass)
    monkeypatch.setattr(driver, "POOL_HEAD", False)  # (and the pool's own output)
    net, domain = _cnn(0, False), _domain(36, 0, 0.3)
    with rs.budget(memory_bytes=memory):
        fast = rs.partition(net, domain)
        monkeypatch.setattr(driver, "SETTLED_ONLY", False)
        plain = rs.partition(net, domain)
    a, b = fast.to_arrays(), plain.to_arrays()
    for key in a:
        if key != "stats":
            np.testing.assert_array_equal(np.asarray(a[key]), np.asarray(b[key]), err_msg=key)
