"""The 1-D driver: values carried along the points, the same pieces as a fresh forward pass."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import regionscope as rs
from regionscope import compute
from regionscope.compute.line import cut_1d
from regionscope.domains import SliceOf
from regionscope.errors import RegionLimitError
from regionscope.geometry.line import cut_line, drop_unchanged
from regionscope.network.program import compile_model
from regionscope.partitions.linear import Partition1D
from regionscope.testing import random_mlp
from regionscope.tolerances import budget, get_tolerance


def fresh_cut_1d(ev, domain, points, start):
    """The reference: every stage's input computed afresh at the points by a forward pass
    from the input, max layers' patterns from a second forward pass (the driver's way
    before values were carried)."""
    program = ev.program
    point_tol = get_tolerance().point_rtol * domain.length
    before = points
    for op in program.ops[start:]:
        layer: Any = op.layer
        if not layer.piecewise:
            continue
        before = points.copy()
        for stage in range(layer.num_stages(op.in_width)):
            x = ev.layer_input(points[:, None], op.index)
            z = layer.stage_values(x, stage)
            tol = np.broadcast_to(ev.unit_tol[op.index], z.shape[1:])
            points = cut_line(points, z, tol, point_tol)
        if layer.merge:
            mids = 0.5 * (points[1:] + points[:-1])
            ends = np.arange(len(points) - 1)
            corners = np.stack([ends, ends + 1], axis=1).reshape(-1)
            offsets = 2 * np.arange(len(mids) + 1)
            pat = ev.region_patterns(
                points[:, None], corners, offsets, mids[:, None], (op.index,)
            )[op.index]
            points = drop_unchanged(points, pat.reshape(len(mids), -1), before)
    return points


def both(model, domain, input_dim):
    ev = compute.evaluator(domain, compile_model(model, input_dim))
    ends = np.array([domain.lo, domain.hi])
    return ev, cut_1d(ev, domain, ends, 0), fresh_cut_1d(ev, domain, ends, 0)


def assert_same_pieces(ev, domain, got, want):
    """Same number of pieces, the same points up to rounding, the same patterns."""
    assert len(got) == len(want), (got, want)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-9 * domain.length)
    mine = Partition1D(domain, got, ev).activation_patterns()
    theirs = Partition1D(domain, want, ev).activation_patterns()
    for i in mine:
        np.testing.assert_array_equal(mine[i], theirs[i])


# ------------------------------------------------------------------------ hand examples


def test_two_relu_layers_by_hand():
    # layer 1: units s and s - 0.5; layer 3: relu(s) - 2 relu(s - 0.5) - 0.25, which is
    # s - 0.25 on [0, 0.5] and 0.75 - s on [0.5, 1]: zeros at 0.25 and 0.75
    net = rs.Sequential(
        rs.Linear([[1.0], [1.0]], [0.0, -0.5]),
        rs.ReLU(),
        rs.Linear([[1.0, -2.0]], [-0.25]),
        rs.ReLU(),
    )
    dom = rs.Interval(-1.0, 1.0)
    ev = compute.evaluator(dom, compile_model(net, 1))
    got = cut_1d(ev, dom, np.array([-1.0, 1.0]), 0)
    np.testing.assert_allclose(got, [-1.0, 0.0, 0.25, 0.5, 0.75, 1.0], atol=1e-15)
    assert got[0] == -1.0 and got[-1] == 1.0


def test_max_pool_drops_the_needless_cut_by_hand():
    # max(s, 2s, 0.5): stage 0 compares s with 2s (a cut at 0), stage 1 max(s, 2s) with 0.5
    # (2s = 0.5 at 0.25; s < 0.5 left of 0).  The winner is 0.5 on [-1, 0.25] and 2s after:
    # the cut at 0 changes nothing and goes
    net = rs.Sequential(
        rs.Linear([[1.0], [2.0], [0.0]], [0.0, 0.0, 0.5]), rs.MaxPool([[0, 1, 2]])
    )
    dom = rs.Interval(-1.0, 1.0)
    ev = compute.evaluator(dom, compile_model(net, 1))
    got = cut_1d(ev, dom, np.array([-1.0, 1.0]), 0)
    np.testing.assert_allclose(got, [-1.0, 0.25, 1.0], atol=1e-15)
    pats = Partition1D(dom, got, ev).activation_patterns(1)
    assert pats[:, 0].tolist() == [2, 1]


def test_argmax_cuts_where_the_largest_logit_changes():
    # logits s, -s, 0.5: class 1 below -0.5, class 2 in between, class 0 above 0.5
    net = rs.Sequential(rs.Linear([[1.0], [-1.0], [0.0]], [0.0, 0.0, 0.5]), rs.Argmax())
    dom = rs.Interval(-1.0, 1.0)
    ev = compute.evaluator(dom, compile_model(net, 1))
    got = cut_1d(ev, dom, np.array([-1.0, 1.0]), 0)
    np.testing.assert_allclose(got, [-1.0, -0.5, 0.5, 1.0], atol=1e-15)
    assert Partition1D(dom, got, ev).activation_patterns(1)[:, 0].tolist() == [1, 2, 0]


# -------------------------------------------------------- the same as a fresh forward pass


@pytest.mark.parametrize(
    "model, dim",
    [
        (random_mlp([1, 8, 8, 8], seed=1), 1),
        (random_mlp([4, 16, 16, 3], seed=2), 4),
        (random_mlp([3, 12, 12, 4], seed=3, argmax=True), 3),
        (random_mlp([3, 6, 6], seed=4, maxout=3), 3),
        (
            rs.Sequential(
                rs.Linear(np.random.default_rng(5).normal(size=(6, 3))),
                rs.ReLU(),
                rs.Residual(
                    rs.Sequential(
                        rs.Linear(np.random.default_rng(6).normal(size=(6, 6))), rs.ReLU()
                    )
                ),
                rs.LeakyReLU(0.1),
                rs.Linear(np.random.default_rng(7).normal(size=(4, 6))),
                rs.HardTanh(),
                rs.MaxPool([[0, 1], [2, 3]]),
            ),
            3,
        ),
    ],
    ids=["mlp-1d", "mlp-segment", "argmax", "maxout", "residual-leaky-hardtanh-pool"],
)
def test_same_pieces_as_a_fresh_forward_pass(model, dim):
    rng = np.random.default_rng(dim)
    dom = rs.Interval(-2.0, 3.0) if dim == 1 else rs.Segment(*rng.normal(size=(2, dim)))
    ev, got, want = both(model, dom, dim)
    assert len(got) > 3  # the networks do cut
    assert_same_pieces(ev, dom, got, want)


def test_any_budget_gives_the_same_pieces():
    model = random_mlp([3, 10, 10, 10], seed=8, maxout=2)
    dom = rs.Segment([0.0, -1.0, 2.0], [1.5, 2.0, -1.0])
    ev, want, _ = both(model, dom, 3)
    for memory in (64, 4096):  # nothing stored, and the layer input alone
        with budget(memory_bytes=memory):
            got = cut_1d(ev, dom, np.array([dom.lo, dom.hi]), 0)
        assert_same_pieces(ev, dom, got, want)


def test_adding_layers_continues_from_the_points():
    first = random_mlp([2, 8, 8], seed=9)
    second = random_mlp([8, 8, 8], seed=10, maxout=0).layers
    dom = rs.Segment([0.3, -0.2], [-1.0, 1.7])
    whole = rs.partition(rs.Sequential(*first.layers, *second), dom)
    stepwise = rs.partition(first, dom).add(*second)
    assert_same_pieces(whole._ev, dom, stepwise.points, whole.points)  # noqa: SLF001


def test_region_limit_names_the_layer():
    dom = rs.Interval(-1.0, 1.0)
    ev = compute.evaluator(dom, compile_model(random_mlp([1, 16, 16], seed=11), 1))
    with pytest.raises(RegionLimitError, match=r"layer \d"):
        cut_1d(ev, dom, np.array([-1.0, 1.0]), 0, max_regions=2)


def test_overflow_is_refused():
    net = rs.Sequential(rs.Linear([[1e308], [1e308]]), rs.ReLU(), rs.Linear([[1e308, 1e308]]))
    net = rs.Sequential(*net.layers, rs.ReLU())
    dom = rs.Interval(1.0, 2.0)
    ev = compute.evaluator(dom, compile_model(net, 1))
    with pytest.raises(ValueError, match="not finite"):
        cut_1d(ev, dom, np.array([1.0, 2.0]), 0)


#: the random networks of the property tests: seed, hidden layers, width, kind, input dim
RANDOM_NETWORKS = {
    "seed": st.integers(0, 10_000),
    "depth": st.integers(1, 4),
    "width": st.integers(1, 12),
    "kind": st.sampled_from(["relu", "maxout", "argmax"]),
    "dim": st.integers(1, 5),
}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(**RANDOM_NETWORKS)
def test_property_same_pieces_as_a_fresh_forward_pass(seed, depth, width, kind, dim):
    widths = [dim] + [width] * depth
    if kind == "argmax":
        assume(width >= 2)
    model = random_mlp(
        widths, seed=seed, argmax=kind == "argmax", maxout=2 if kind == "maxout" else 0
    )
    rng = np.random.default_rng(seed)
    p, q = rng.normal(size=(2, dim))
    assume(np.linalg.norm(q - p) > 1e-3)
    dom = rs.Segment(p, q)
    ev, got, want = both(model, dom, dim)
    assert_same_pieces(ev, dom, got, want)


# ------------------------------------------------- compiled kernels, and an exact oracle

NUMBA = "numba" in rs.available_backends()


def exact_cut(layers: list, lo: Fraction, hi: Fraction) -> list[Fraction]:
    """The breakpoints of a ReLU MLP on ``[lo, hi]`` in exact rational arithmetic.

    ``layers``: ``(weight rows, bias)`` pairs of Fractions and ``"relu"``.  Before a
    ReLU layer every earlier unit keeps its sign on each piece, so the layer's inputs
    are affine there and their zeros are found by interpolation, exactly.
    """
    def forward(t: Fraction, upto: int) -> list[Fraction]:
        x = [t]
        for layer in layers[:upto]:
            if layer == "relu":
                x = [max(v, Fraction(0)) for v in x]
            else:
                w, b = layer
                x = [sum((c * v for c, v in zip(row, x, strict=True)), bi)
                     for row, bi in zip(w, b, strict=True)]  # fmt: skip
        return x

    points = [lo, hi]
    for k, layer in enumerate(layers):
        if layer != "relu":
            continue
        vals = [forward(t, k) for t in points]
        new = set(points)
        for i in range(len(points) - 1):
            for a, b in zip(vals[i], vals[i + 1], strict=True):
                if a * b < 0:  # a strict sign change inside the piece
                    new.add(points[i] + a / (a - b) * (points[i + 1] - points[i]))
        points = sorted(new)
    return points


def float_net(layers: list) -> rs.Sequential:
    ops = [rs.ReLU() if layer == "relu" else
           rs.Linear([[float(c) for c in row] for row in layer[0]], [float(c) for c in layer[1]])
           for layer in layers]  # fmt: skip
    return rs.Sequential(*ops)


def dyadic(rows: list[list[float]]) -> list[list[Fraction]]:
    return [[Fraction(c) for c in row] for row in rows]


def relu_net(*pairs: tuple[list[list[float]], list[float]]) -> list:
    out: list = []
    for w, b in pairs:
        out += [(dyadic(w), [Fraction(c) for c in b]), "relu"]
    return out


# hand-made degenerate cases on [-1, 1]: breakpoints that coincide, that fall on the ends,
# a second-layer unit zero on a whole piece, a second-layer zero on a first-layer breakpoint
DEGENERATE = {
    "coinciding": relu_net(([[1.0], [2.0], [-4.0]], [0.0, 0.0, 0.0])),
    "at-the-ends": relu_net(([[1.0], [1.0], [0.5]], [-1.0, 1.0, 0.5])),
    "zero-on-a-piece": relu_net(
        ([[1.0], [-1.0]], [0.0, 0.5]), ([[1.0, 0.0], [1.0, 1.0], [0.0, 2.0]], [0.0, -0.75, -0.5])
    ),
    "on-a-breakpoint": relu_net(([[1.0], [-1.0]], [0.0, 0.5]), ([[1.0, 0.0]], [-0.5])),
    "second-layer-coinciding": relu_net(
        ([[1.0], [1.0]], [0.0, -0.5]), ([[1.0, -2.0], [2.0, -4.0]], [-0.25, -0.5])
    ),
}


def check_against_exact(layers: list, lo: float, hi: float) -> np.ndarray:
    want = np.array([float(t) for t in exact_cut(layers, Fraction(lo), Fraction(hi))])
    dom = rs.Interval(lo, hi)
    part = rs.partition(float_net(layers), dom)
    assert len(part.points) == len(want), (part.points, want)
    np.testing.assert_allclose(part.points, want, rtol=0, atol=1e-12 * (hi - lo))
    assert part.points[0] == lo and part.points[-1] == hi
    return part.points


@pytest.mark.parametrize("name", sorted(DEGENERATE))
def test_degenerate_cases_against_exact_arithmetic(name):
    got = check_against_exact(DEGENERATE[name], -1.0, 1.0)
    if NUMBA:
        with rs.backend("numpy"):
            ref = rs.partition(float_net(DEGENERATE[name]), rs.Interval(-1.0, 1.0)).points
        np.testing.assert_array_equal(got, ref)


BY_HAND = {
    "coinciding": [-1.0, 0.0, 1.0],  # s, 2s and -4s are all zero at 0
    "at-the-ends": [-1.0, 1.0],  # s - 1, s + 1 and s / 2 + 1 / 2: zeros at the ends only
    # relu(s) is zero on all of [-1, 0]: no cut; relu(s) + relu(0.5 - s) - 0.75 is -s - 0.25
    # left of 0 and s - 0.75 right of 0.5; 2 relu(0.5 - s) - 0.5 is 0.5 - 2s left of 0.5
    "zero-on-a-piece": [-1.0, -0.25, 0.0, 0.25, 0.5, 0.75, 1.0],
    "on-a-breakpoint": [-1.0, 0.0, 0.5, 1.0],  # relu(s) - 0.5 is zero where 0.5 - s is
    # relu(s) - 2 relu(s - 0.5) - 0.25 and twice it: zeros at 0.25 and 0.75, once each
    "second-layer-coinciding": [-1.0, 0.0, 0.25, 0.5, 0.75, 1.0],
}


@pytest.mark.parametrize("name", sorted(BY_HAND))
def test_degenerate_cases_by_hand(name):
    part = rs.partition(float_net(DEGENERATE[name]), rs.Interval(-1.0, 1.0))
    np.testing.assert_allclose(part.points, BY_HAND[name], rtol=0, atol=1e-15)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=st.data(),
    widths=st.lists(st.integers(1, 4), min_size=1, max_size=3),
)
def test_property_breakpoints_are_exact(data, widths):
    """Dyadic weights (exact in float64): the breakpoints are the exact ones, rounded."""
    entry = st.integers(-8, 8).map(lambda k: Fraction(k, 4))
    layers: list = []
    fan_in = 1
    for width in widths:
        w = [[data.draw(entry) for _ in range(fan_in)] for _ in range(width)]
        b = [data.draw(entry) for _ in range(width)]
        layers += [(w, b), "relu"]
        fan_in = width
    exact = exact_cut(layers, Fraction(-2), Fraction(2))
    gaps = [float(b - a) for a, b in zip(exact[:-1], exact[1:], strict=True)]
    assume(min(gaps) > 1e-9)  # distinct breakpoints, far apart compared with the tolerance
    check_against_exact(layers, -2.0, 2.0)


@pytest.mark.skipif(not NUMBA, reason="numba is not installed")
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(**RANDOM_NETWORKS)
def test_property_compiled_and_numpy_cuts_are_identical(seed, depth, width, kind, dim):
    assume(kind != "argmax" or width >= 2)
    model = random_mlp(
        [dim] + [width] * depth, seed=seed, argmax=kind == "argmax",
        maxout=2 if kind == "maxout" else 0,
    )  # fmt: skip
    p, q = np.random.default_rng(seed).normal(size=(2, dim))
    assume(np.linalg.norm(q - p) > 1e-3)
    dom = rs.Segment(p, q)
    got = rs.partition(model, dom, backend="numba")
    want = rs.partition(model, dom, backend="numpy")
    np.testing.assert_array_equal(got.points, want.points)  # bit for bit
    for i, pat in want.activation_patterns().items():
        np.testing.assert_array_equal(got.activation_patterns()[i], pat)


# ---------------------------------------------------- chain_1d: the one-pass Linear/ReLU case


def general_1d(program, domain):
    """The general path: the evaluator, then cut_1d from the domain's ends."""
    ev = compute.evaluator(domain, program)
    return ev, cut_1d(ev, domain, np.array([domain.lo, domain.hi]), 0)


def outcome(make):
    """What ``make()`` returns, or the message of the ValueError it raises."""
    try:
        return make()
    except ValueError as exc:
        return str(exc)


def bits(a):
    a = np.asarray(a)
    return a.dtype, a.shape, a.tobytes()


def assert_same_evaluators(got, want):
    """Every array an evaluator holds, bit for bit (NaN and infinity included)."""
    assert vars(got).keys() == vars(want).keys()
    assert got.program is want.program
    assert bits(got.lift_linear) == bits(want.lift_linear)
    assert bits(got.lift_offset) == bits(want.lift_offset)
    for mine in (got.lift_linear, got.lift_offset):
        assert not mine.flags.writeable and mine.flags.owndata and mine.flags.c_contiguous
    assert got.unit_tol.keys() == want.unit_tol.keys()
    for i in want.unit_tol:
        assert bits(got.unit_tol[i]) == bits(want.unit_tol[i])
    assert bits(got.output_tol) == bits(want.output_tol)
    assert got.prefix == want.prefix and got.prefix_maps.keys() == want.prefix_maps.keys()
    for r, (lin, off) in want.prefix_maps.items():
        mine = got.prefix_maps[r]
        assert bits(mine[0]) == bits(lin) and bits(mine[1]) == bits(off)
        assert not mine[0].flags.writeable and not mine[1].flags.writeable
    s = np.linspace(-3.0, 2.0, 5)[:, None]
    assert bits(got.lift(s)) == bits(want.lift(s))


def chain_mlp(rng, dim, widths, scale, leading):
    """Linear and ReLU layers: ``leading`` Linear layers first, some without a bias, weights
    of the given scale (1e150 and more overflow the magnitudes), zero rows, dyadic values."""
    layers, w = [], dim
    for _ in range(leading):
        layers.append(rs.Linear(rng.normal(size=(w, w))))
    for k, out in enumerate(widths):
        weight = rng.normal(size=(out, w)) * scale
        if k % 2:
            weight = np.round(weight * 4) / 4
        weight[rng.random(out) < 0.2] = 0.0
        layers.append(rs.Linear(weight, rng.normal(size=out) if rng.random() < 0.7 else None))
        layers.append(rs.ReLU())
        w = out
    if rng.random() < 0.5:
        layers.append(rs.Linear(rng.normal(size=(2, w))))
    return rs.Sequential(*layers)


@pytest.mark.skipif(not NUMBA, reason="numba is not installed")
@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 10**6),
    dim=st.integers(1, 4),
    widths=st.lists(st.integers(1, 9), min_size=1, max_size=3),
    scale=st.sampled_from([1e-3, 1.0, 1e3, 1e150, 1e300]),
    leading=st.integers(0, 2),
    interval=st.booleans(),
)
def test_property_chain_1d_is_the_general_path_bit_for_bit(
    seed, dim, widths, scale, leading, interval
):
    rng = np.random.default_rng(seed)
    model = chain_mlp(rng, dim, widths, scale, leading)
    if interval:
        assume(dim == 1)
        dom = rs.Interval(*sorted(rng.normal(size=2) * 3))
    else:
        p, q = rng.normal(size=(2, dim)) * 10.0 ** rng.integers(-3, 4)
        assume(np.linalg.norm(q - p) > 1e-6 * np.abs([p, q]).max())
        dom = rs.Segment(p, q, margin=float(rng.choice([0.0, 0.25])))
    program = compile_model(model, dim)
    with rs.backend("numba"):
        want = outcome(lambda: general_1d(program, dom))
        got = outcome(lambda: rs.compute.line.chain_1d(program, dom))
    if isinstance(want, str):  # overflow: refused the same way, naming the same layer
        assert got == want
        return
    assert got is not None
    assert_same_evaluators(got[0], want[0])
    assert bits(got[1]) == bits(want[1])


@pytest.mark.skipif(not NUMBA, reason="numba is not installed")
def test_partition_takes_the_chain_path_with_the_same_result():
    rng = np.random.default_rng(3)
    model = chain_mlp(rng, 3, [8, 8], 1.0, 1)
    dom = rs.Segment(rng.normal(size=3), rng.normal(size=3))
    with rs.backend("numba"):
        part = rs.partition(model, dom)
        ev, points = general_1d(part.program, dom)
    assert bits(part.points) == bits(points)
    assert_same_evaluators(part._ev, ev)  # noqa: SLF001  (the partition's own evaluator)
    # the NumPy backend (the general path, no kernels): the same pieces and patterns
    numpy = rs.partition(model, dom, backend="numpy")
    assert bits(numpy.points) == bits(part.points)
    for i, pat in numpy.activation_patterns().items():
        np.testing.assert_array_equal(part.activation_patterns()[i], pat)


@pytest.mark.skipif(not NUMBA, reason="numba is not installed")
def test_chain_1d_leaves_other_cases_to_the_general_path():
    chain = compile_model(rs.Sequential(rs.Linear(np.eye(2)), rs.ReLU()), 2)
    seg = rs.Segment([0.0, -1.0], [1.0, 1.0])
    with rs.backend("numba"):
        assert rs.compute.line.chain_1d(chain, seg) is not None
        for other in (
            rs.Sequential(rs.Linear(np.eye(2)), rs.LeakyReLU(0.1)),
            rs.Sequential(rs.Linear(np.eye(2)), rs.ReLU(), rs.Argmax()),
            rs.Sequential(rs.Residual(rs.Sequential(rs.Linear(np.eye(2)), rs.ReLU()))),
            rs.Sequential(rs.Linear(np.eye(2))),  # nothing to cut
        ):
            assert rs.compute.line.chain_1d(compile_model(other, 2), seg) is None
        assert rs.compute.line.chain_1d(chain, SliceOf(rs.Box(1.0), [-1, 0], [1, 0])) is None
        with budget(memory_bytes=16 * 3):  # the table of the ends' values does not fit
            assert rs.compute.line.chain_1d(chain, seg) is None
            ev, points = general_1d(chain, seg)
            assert rs.partition(rs.Sequential(*chain.layers), seg).points.tolist() == (
                points.tolist())  # fmt: skip
    with rs.backend("numpy"):
        assert rs.compute.line.chain_1d(chain, seg) is None


@pytest.mark.skipif(not NUMBA, reason="numba is not installed")
def test_chain_1d_names_the_layer_past_the_region_limit():
    model = rs.Sequential(rs.Linear(np.arange(1.0, 6.0)[:, None], -np.arange(5.0)), rs.ReLU())
    with rs.backend("numba"), pytest.raises(RegionLimitError, match=r"layer 1 \(1\)"):
        rs.partition(model, rs.Interval(-1.0, 10.0), max_regions=3)
