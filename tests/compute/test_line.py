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
    net = rs.Sequential(rs.Linear([[1.0], [2.0], [0.0]], [0.0, 0.0, 0.5]), rs.MaxPool([[0, 1, 2]]))
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
    """cut_1d with the compiled kernels is cut_1d with NumPy, bit for bit (rs.partition of a
    ReLU chain takes chain_1d instead: the same partition, tested below)."""
    assume(kind != "argmax" or width >= 2)
    model = random_mlp(
        [dim] + [width] * depth, seed=seed, argmax=kind == "argmax",
        maxout=2 if kind == "maxout" else 0,
    )  # fmt: skip
    p, q = np.random.default_rng(seed).normal(size=(2, dim))
    assume(np.linalg.norm(q - p) > 1e-3)
    dom = rs.Segment(p, q)
    program = compile_model(model, dim)
    with rs.backend("numba"):
        ev, got = general_1d(program, dom)
    with rs.backend("numpy"):
        ev, want = general_1d(program, dom)
    np.testing.assert_array_equal(got, want)  # bit for bit
    if kind != "relu":  # not a chain: rs.partition takes the same path
        part = rs.partition(model, dom, backend="numba")
        np.testing.assert_array_equal(part.points, want)
        mine = part.activation_patterns()
        for i, pat in Partition1D(dom, want, ev).activation_patterns().items():
            np.testing.assert_array_equal(mine[i], pat)


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


def near_degenerate(ev, points, domain):
    """Whether the reference partition (``ev``, ``points``) has a decision that rounding in
    the last bits may turn (a different order of the sums, ``1e-14`` of a unit's scale):

    * a unit within a tenth of its tolerance from its tolerance at a point (zero or not);
    * a breakpoint whose unit changes by less than ``1e-3`` of its scale times the share
      of the length of the two pieces beside it: its zero is ill-conditioned, and moves
      by more than ``1e-12`` of the length;
    * two points closer than twice the point tolerance (merged or not).
    """
    if (np.diff(points) < 2 * get_tolerance().point_rtol * domain.length).any():
        return True
    part = Partition1D(domain, points, ev)
    for i, tol in ev.unit_tol.items():
        scale = tol / get_tolerance().value_rtol
        x = ev.layer_input(points[:, None], i)
        if (np.abs(np.abs(x) - tol) <= 0.1 * tol).any():
            return True
        made = np.flatnonzero(part.breakpoint_layer == i)
        unit = part.breakpoint_neuron[made]
        change = np.abs(x[made + 2, unit] - x[made, unit])
        share = (points[made + 2] - points[made]) / domain.length
        if (change <= 1e-3 * scale[unit] * share).any():
            return True
    return False


def assert_same_partition(domain, got, want, rel=1e-12):
    """Two (evaluator, points): the same pieces, breakpoints within ``rel`` of the length,
    the same activation pattern on every piece, tolerances equal up to rounding."""
    (ev, points), (ev_want, points_want) = got, want
    assert len(points) == len(points_want), (points, points_want)
    assert points[0] == points_want[0] and points[-1] == points_want[-1]
    np.testing.assert_allclose(points, points_want, rtol=0, atol=rel * domain.length)
    mine = Partition1D(domain, points, ev).activation_patterns()
    theirs = Partition1D(domain, points_want, ev_want).activation_patterns()
    assert mine.keys() == theirs.keys()
    for i in theirs:
        np.testing.assert_array_equal(mine[i], theirs[i])
    assert ev.unit_tol.keys() == ev_want.unit_tol.keys() and ev.prefix == ev_want.prefix
    for i in ev.unit_tol:
        np.testing.assert_allclose(ev.unit_tol[i], ev_want.unit_tol[i], rtol=1e-12)
    np.testing.assert_allclose(ev.output_tol, ev_want.output_tol, rtol=1e-12)
    np.testing.assert_array_equal(ev.lift_linear, ev_want.lift_linear)
    np.testing.assert_array_equal(ev.lift_offset, ev_want.lift_offset)
    # the offsets' rounding grows with their terms (a segment far from 0: |p| |W|), which
    # the first layer's unit scales bound (its magnitudes at the domain's ends)
    terms = np.max(ev_want.unit_tol[min(ev_want.unit_tol)]) / get_tolerance().value_rtol
    for r, (lin, off) in ev_want.prefix_maps.items():
        mine_lin, mine_off = ev.prefix_maps[r]
        assert mine_lin.shape == lin.shape and mine_off.shape == off.shape
        big = np.abs(lin).sum() + np.abs(off).sum()
        np.testing.assert_allclose(mine_lin, lin, rtol=0, atol=1e-14 * big)
        np.testing.assert_allclose(mine_off, off, rtol=0, atol=1e-14 * max(big, terms))


@pytest.mark.skipif(not NUMBA, reason="numba is not installed")
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 10**6),
    dim=st.integers(1, 4),
    widths=st.lists(st.integers(1, 9), min_size=1, max_size=3),
    scale=st.sampled_from([1e-3, 1.0, 1e3, 1e150, 1e300]),
    leading=st.integers(0, 2),
    interval=st.booleans(),
)
def test_property_chain_1d_gives_the_partition_of_the_numpy_path(
    seed, dim, widths, scale, leading, interval
):
    rng = np.random.default_rng(seed)
    dim = 1 if interval else dim
    model = chain_mlp(rng, dim, widths, scale, leading)
    if interval:
        dom = rs.Interval(*sorted(rng.normal(size=2) * 3))
    else:
        p, q = rng.normal(size=(2, dim)) * 10.0 ** rng.integers(-3, 4)
        assume(np.linalg.norm(q - p) > 1e-6 * np.abs([p, q]).max())
        dom = rs.Segment(p, q, margin=float(rng.choice([0.0, 0.25])))
    program = compile_model(model, dim)
    with rs.backend("numpy"):
        want = outcome(lambda: general_1d(program, dom))
    with rs.backend("numba"):
        got = outcome(lambda: rs.compute.line.chain_1d(program, dom))
    if isinstance(want, str):  # overflow: the kernel refuses too, and the general path raises
        if got is not None:  # ... unless the overflow was in values the general path carried
            # (a unit's input within its tolerance, so its sign is rounding noise, times
            # weights of 1e150): the network itself is finite at every point the kernel gave
            assert scale >= 1e150
            x = dom.lift(got[1])
            with np.errstate(over="ignore", invalid="ignore"):
                for layer in model.layers:
                    x = layer.forward(x)
                    assert np.isfinite(x).all()
        return
    if got is None:  # the kernel's sums overflowed where NumPy's did not
        assert scale >= 1e150
        return
    assume(not near_degenerate(*want, dom))
    assert_same_partition(dom, got, want)


@pytest.mark.skipif(not NUMBA, reason="numba is not installed")
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=RANDOM_NETWORKS["seed"],
    depth=RANDOM_NETWORKS["depth"],
    width=RANDOM_NETWORKS["width"],
    dim=RANDOM_NETWORKS["dim"],
)
def test_property_relu_partitions_of_both_backends_agree(seed, depth, width, dim):
    """rs.partition of the test networks' ReLU MLPs (chain_1d with numba)."""
    model = random_mlp([dim] + [width] * depth, seed=seed)
    p, q = np.random.default_rng(seed).normal(size=(2, dim))
    assume(np.linalg.norm(q - p) > 1e-3)
    dom = rs.Segment(p, q)
    want = rs.partition(model, dom, backend="numpy")
    got = rs.partition(model, dom, backend="numba")
    assume(not near_degenerate(want._ev, want.points, dom))  # noqa: SLF001
    assert_same_partition(dom, (got._ev, got.points), (want._ev, want.points))  # noqa: SLF001


@pytest.mark.skipif(not NUMBA, reason="numba is not installed")
def test_partition_takes_the_chain_path_with_the_same_result():
    rng = np.random.default_rng(3)
    model = chain_mlp(rng, 3, [8, 8], 1.0, 1)
    dom = rs.Segment(rng.normal(size=3), rng.normal(size=3))
    with rs.backend("numba"):
        part = rs.partition(model, dom)
        got = rs.compute.line.chain_1d(part.program, dom)
    assert got is not None and got[1].tolist() == part.points.tolist()
    numpy = rs.partition(model, dom, backend="numpy")
    assert part.num_regions == numpy.num_regions > 3
    assert not near_degenerate(numpy._ev, numpy.points, dom)  # noqa: SLF001
    assert_same_partition(
        dom,
        (part._ev, part.points),
        (numpy._ev, numpy.points),  # noqa: SLF001
    )
    # the partition's own evaluator: the kernel's tolerances, read-only
    ev = part._ev  # noqa: SLF001
    for arr in (*ev.unit_tol.values(), ev.output_tol, ev.lift_linear, ev.lift_offset):
        assert not arr.flags.writeable
    s = np.linspace(-3.0, 2.0, 5)
    np.testing.assert_array_equal(ev.lift(s[:, None]), dom.lift(s))


@pytest.mark.skipif(not NUMBA, reason="numba is not installed")
def test_chain_1d_by_hand():
    # relu(s) and relu(1 - s) on [-1, 2], then relu(relu(s) + relu(1 - s) - 1.5): zeros of
    # the second layer at s = -0.5 and s = 1.5; magnitudes at s = 2: |s| + 0 = 2, |s| + 1 = 3,
    # then 2 + 3 + 1.5 = 6.5
    net = rs.Sequential(
        rs.Linear([[1.0], [-1.0]], [0.0, 1.0]), rs.ReLU(), rs.Linear([[1.0, 1.0]], [-1.5]),
        rs.ReLU(),
    )  # fmt: skip
    program = compile_model(net, 1)
    with rs.backend("numba"):
        ev, points = rs.compute.line.chain_1d(program, rs.Interval(-1.0, 2.0))
    assert points.tolist() == [-1.0, -0.5, 0.0, 1.0, 1.5, 2.0]
    rtol = get_tolerance().value_rtol
    assert ev.unit_tol[1].tolist() == [rtol * 2.0, rtol * 3.0]
    assert ev.unit_tol[3].tolist() == [rtol * 6.5] == ev.output_tol.tolist()
    assert ev.prefix == 1
    ((lin, off),) = ev.prefix_maps.values()
    assert lin.tolist() == [[1.0, -1.0]] and off.tolist() == [0.0, 1.0]


@pytest.mark.skipif(not NUMBA, reason="numba is not installed")
def test_deep_and_reassigned_chains():
    rng = np.random.default_rng(5)
    dom = rs.Segment(rng.normal(size=2), rng.normal(size=2))

    def deep(n):
        layers = []
        for _ in range(n):
            weight = 0.6 * rng.normal(size=(3, 3 if layers else 2))
            layers += [rs.Linear(weight, rng.normal(size=3)),
                       rs.ReLU()]  # fmt: skip
        return rs.Sequential(*layers)

    for n in (8, 9, 32):  # the kernel's tuples of 8 and of 32 weights
        model = deep(n)
        program = compile_model(model, 2)
        with rs.backend("numba"):
            got = rs.compute.line.chain_1d(program, dom)
        with rs.backend("numpy"):
            want = general_1d(program, dom)
        assert got is not None
        assert not near_degenerate(*want, dom)
        assert_same_partition(dom, got, want)
    with rs.backend("numba"):
        assert rs.compute.line.chain_1d(compile_model(deep(33), 2), dom) is None
    # weights assigned since (writable, Fortran order, float32, a list): copies are taken
    model = deep(2)
    program = compile_model(model, 2)
    with rs.backend("numba"):
        before = rs.compute.line.chain_1d(program, dom)[1]
        first = model.layers[0]
        first.weight = np.asfortranarray(first.weight.copy())
        first.bias = list(first.bias)
        assert first.weight.flags.writeable
        assert rs.compute.line.chain_1d(program, dom)[1].tolist() == before.tolist()
        model.layers[2].weight = model.layers[2].weight.astype(np.float32)
        assert rs.compute.line.chain_1d(program, dom) is not None


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
            rs.Sequential(rs.Linear(np.eye(2)), rs.ReLU(), rs.ReLU()),  # two in a row
        ):
            assert rs.compute.line.chain_1d(compile_model(other, 2), seg) is None
        assert rs.compute.line.chain_1d(chain, SliceOf(rs.Box(1.0), [-1, 0], [1, 0])) is None
        with budget(memory_bytes=16 * 3):  # the table of the ends' values does not fit
            assert rs.compute.line.chain_1d(chain, seg) is None
            ev, points = general_1d(chain, seg)
            assert rs.partition(rs.Sequential(*chain.layers), seg).points.tolist() == (
                points.tolist())  # fmt: skip
        with rs.tolerance(value_rtol=1e-6):  # the rule's factor is read at each call
            ev, points = rs.compute.line.chain_1d(chain, seg)
            assert ev.unit_tol[1].tolist() == compute.evaluator(seg, chain).unit_tol[1].tolist()
    with rs.backend("numpy"):
        assert rs.compute.line.chain_1d(chain, seg) is None


@pytest.mark.skipif(not NUMBA, reason="numba is not installed")
def test_chain_1d_names_the_layer_past_the_region_limit():
    model = rs.Sequential(rs.Linear(np.arange(1.0, 6.0)[:, None], -np.arange(5.0)), rs.ReLU())
    with rs.backend("numba"), pytest.raises(RegionLimitError, match=r"layer 1 \(1\)"):
        rs.partition(model, rs.Interval(-1.0, 10.0), max_regions=3)
    # values that are not finite: the general path's error, naming the layer
    big = rs.Sequential(rs.Linear([[1e300]]), rs.ReLU(), rs.Linear([[1e300]]), rs.ReLU())
    with rs.backend("numba"), pytest.raises(ValueError, match="not finite"):
        rs.partition(big, rs.Interval(1.0, 2.0))


@pytest.mark.skipif(not NUMBA, reason="numba is not installed")
def test_chain_1d_takes_limits_past_int64():
    net = rs.Sequential(rs.Linear([[1.0], [2.0]], [0.0, -1.0]), rs.ReLU())
    program, dom = compile_model(net, 1), rs.Interval(-1.0, 2.0)
    with rs.backend("numba"), budget(memory_bytes=10**40):
        ev, points = rs.compute.line.chain_1d(program, dom, max_regions=10**30)
    assert points.tolist() == [-1.0, 0.0, 0.5, 2.0]


@pytest.mark.skipif(not NUMBA, reason="numba is not installed")
def test_chain_1d_deferred_gives_chain_1d_with_the_program_put_off():
    rng = np.random.default_rng(11)
    model = chain_mlp(rng, 4, [16, 12], 1.0, 1)
    dom = rs.Segment(rng.normal(size=4), rng.normal(size=4), margin=2.0)
    with rs.backend("numba"):
        points, make = rs.compute.line.chain_1d_deferred(model.layers, dom)
        ev, want = rs.compute.line.chain_1d(compile_model(model, 4), dom)
    assert points.tolist() == want.tolist() and len(points) > 4
    got = make()
    assert got.program.ops[-1].layer is model.layers[-1]
    assert got.unit_tol.keys() == ev.unit_tol.keys()
    for i in ev.unit_tol:
        assert got.unit_tol[i].tolist() == ev.unit_tol[i].tolist()
    assert got.output_tol.tolist() == ev.output_tol.tolist()
    assert got.prefix == ev.prefix == 2  # Linear, Linear, then the first ReLU
    for a, b in zip(got.prefix_maps[2], ev.prefix_maps[2], strict=True):
        assert a.tolist() == b.tolist()
    assert got.lift_linear.tolist() == ev.lift_linear.tolist()
    assert got.lift_offset.tolist() == ev.lift_offset.tolist()
    # rs.partition takes it: the same arrays as a partition made with the evaluator at once
    with rs.backend("numba"):
        part = rs.partition(model, dom)
    eager = Partition1D(dom, want, ev)
    for key, arr in eager.to_arrays().items():
        np.testing.assert_array_equal(part.to_arrays()[key], arr, err_msg=key)
    np.testing.assert_array_equal(part.affine_maps()[0], eager.affine_maps()[0])
    # anything else (another layer, widths that do not follow): None, the general path
    with rs.backend("numba"):
        lrelu = (rs.Linear(np.eye(4)), rs.LeakyReLU(0.1))
        assert rs.compute.line.chain_1d_deferred(lrelu, dom) is None
        wrong = (rs.Linear(np.ones((3, 4))), rs.ReLU(), rs.Linear(np.ones((2, 2))), rs.ReLU())
        assert rs.compute.line.chain_1d_deferred(wrong, dom) is None
        with pytest.raises(ValueError, match=r"layer 2 \(2: Linear\).*width 2"):
            rs.partition(rs.Sequential(*wrong), dom)
        both = rs.partition(model, dom, decision=True)  # the decision cut: the general path
    assert both.num_regions >= part.num_regions
