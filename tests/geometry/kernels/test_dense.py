"""The chain kernels' dense helpers against NumPy and the evaluator, up to rounding."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

pytest.importorskip("numba")

from regionscope.compute.chain import describe_chain  # noqa: E402
from regionscope.geometry.kernels import dense  # noqa: E402
from regionscope.network.evaluate import Evaluator  # noqa: E402
from regionscope.network.layers import ReLU, Sequential  # noqa: E402
from regionscope.network.program import compile_model  # noqa: E402
from regionscope.testing import random_mlp  # noqa: E402


def test_largest_is_the_evaluators_maximum():
    m = np.array([[1.0, -2.0, np.nan, 0.5], [3.0, -1.0, 1.0, np.nan], [2.0, -5.0, 7.0, 9.0]])
    want = 1e-11 * np.maximum.reduce(m, axis=0, initial=0.0)
    np.testing.assert_array_equal(dense.largest(m, 1e-11), want)  # NaN kept, 0 at least


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 6), st.integers(1, 40), st.integers(1, 40), st.integers(0, 2**16))
def test_products_are_numpys_up_to_rounding(rows, width, out, seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, width))
    w = rng.normal(size=(out, width))
    np.testing.assert_allclose(dense.rows_times(x, w, False), x @ w.T, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(dense.rows_times(x, w, True), x @ np.abs(w).T, rtol=1e-12,
                               atol=1e-12)  # fmt: skip
    relu = np.maximum(x, 0.0) @ w.T
    np.testing.assert_allclose(dense.times(x, dense.transposed(w), True), relu, atol=1e-12)
    np.testing.assert_allclose(dense.times(x, dense.transposed(w), False), x @ w.T, atol=1e-12)


@settings(max_examples=25, deadline=None)
@given(
    st.lists(st.integers(1, 12), min_size=1, max_size=4),
    st.integers(0, 2**16),
    st.integers(3, 7),
    st.booleans(),
)
def test_chain_scales_are_the_evaluators(widths, seed, corners, relu_first):
    """Unit tolerances, output tolerances and the folded map, at any corners and lift."""
    rng = np.random.default_rng(seed)
    layers = random_mlp([5, *widths], seed).layers
    if relu_first:
        layers = (ReLU(), *layers)  # a ReLU on the lifted point first: nothing folded
    described = describe_chain(layers, 5)
    assert described is not None
    args = described[0]
    pts = rng.normal(size=(corners, 2)) * 3.0
    lin, off = rng.normal(size=(2, 5)), rng.normal(size=5)
    tols, out_tol, fold = dense.chain_scales(*args, pts, lin, off, 1e-11)
    program = compile_model(Sequential(*layers), 5)
    ev = Evaluator(program, lambda u: u @ lin + off, pts, (lin, off))
    want = np.concatenate([ev.unit_tol[i] for i in sorted(ev.unit_tol)])
    np.testing.assert_allclose(tols, want, rtol=1e-13)
    np.testing.assert_allclose(out_tol, ev.output_tol, rtol=1e-13)
    if ev.prefix:
        ((m, o),) = ev.prefix_maps.values()
        np.testing.assert_allclose(fold[:2], m, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(fold[2], o, rtol=1e-12, atol=1e-12)


def test_check_chain():
    w = (np.ones((3, 2)), np.ones((1, 3)))
    b = (np.zeros(3), np.zeros(0))
    assert dense.check_chain(w, b, 2, 0b01, 2)
    assert not dense.check_chain(w, b, 2, 0b01, 3)  # inputs of another width
    assert not dense.check_chain(w, b, 2, 0b11, 2)  # a bias of the wrong width


@settings(max_examples=20, deadline=None)
@given(st.integers(1, 6), st.integers(1, 12), st.sampled_from([3, 64, 65, 130]),
       st.integers(0, 2**16))  # fmt: skip
def test_times_adds_in_the_inputs_order_with_or_without_zeros(rows, width, out, seed):
    """Bit for bit a plain sum in the inputs' order, zero terms included: a ReLU's rows and
    wide rows leave the zero inputs out (``SKIP_ZEROS_ABOVE``), other rows do not, and
    all give these bits (signed zeros too)."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, width))
    x[rng.random(x.shape) < 0.4] = 0.0
    x[rng.random(x.shape) < 0.1] = -0.0
    wt = rng.normal(size=width * out)
    for relu in (True, False):
        want = np.zeros((rows, out))
        for r in range(rows):
            for o in range(out):
                s = 0.0
                for k in range(width):
                    v = max(x[r, k], 0.0) if relu else x[r, k]
                    s += v * wt[k * out + o]
                want[r, o] = s
        got = dense.times(x, wt, relu)
        assert np.array_equal(got, want) and np.array_equal(np.signbit(got), np.signbit(want))
