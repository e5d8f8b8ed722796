"""Tests of regionscope.bounds: known values, brute force, inequalities, real counts."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import regionscope as rs
from regionscope import bounds

widths_st = st.lists(st.integers(1, 6), min_size=2, max_size=5)


def serra_brute(widths: list[int]) -> int:
    """Serra et al.'s sum, enumerating J literally from its definition."""
    n0, hidden = widths[0], widths[1:]
    total = 0
    for js in itertools.product(*(range(n + 1) for n in hidden)):
        admissible = all(
            0 <= js[l] <= min([n0, hidden[l]] + [hidden[k] - js[k] for k in range(l)])
            for l in range(len(hidden))
        )
        if admissible:
            total += math.prod(math.comb(n, j) for n, j in zip(hidden, js, strict=True))
    return total


def zaslavsky_recurrence(m: int, d: int) -> int:
    """r(m, d) = r(m-1, d) + r(m-1, d-1): adding a hyperplane cuts r(m-1, d-1) regions."""
    if m == 0 or d == 0:
        return 1
    return zaslavsky_recurrence(m - 1, d) + zaslavsky_recurrence(m - 1, d - 1)


# ------------------------------------------------------------------ known values


def test_zaslavsky_known_values():
    assert bounds.zaslavsky(4, 2) == 11  # the lab's "Warren bound"
    assert bounds.zaslavsky(0, 2) == 1
    assert bounds.zaslavsky(1, 2) == 2
    assert bounds.zaslavsky(3, 2) == 7
    assert bounds.zaslavsky(3, 1) == 4
    assert bounds.zaslavsky(10, 3) == 1 + 10 + 45 + 120
    assert bounds.zaslavsky(6, 6) == 2**6
    assert bounds.zaslavsky(6, 100) == 2**6


@pytest.mark.parametrize("m", range(0, 9))
@pytest.mark.parametrize("d", range(0, 5))
def test_zaslavsky_matches_recurrence(m, d):
    assert bounds.zaslavsky(m, d) == zaslavsky_recurrence(m, d)


def test_zaslavsky_lines_closed_form():
    # m lines in general position: 1 + m + C(m, 2)
    for m in range(30):
        assert bounds.zaslavsky(m, 2) == 1 + m + m * (m - 1) // 2


def test_exact_big_integers():
    # no float rounding: 2**200 is not representable as an exact sum of floats here
    assert bounds.zaslavsky(200, 200) == 2**200
    n0, width, depth = 3, 50, 12
    expected = bounds.zaslavsky(width, n0) ** depth  # widths >= 2 n0: J is {0..n0}^L
    assert bounds.serra_upper([n0] + [width] * depth) == expected
    assert isinstance(bounds.serra_upper([n0] + [width] * depth), int)


def test_serra_known_values():
    assert bounds.serra_upper([2, 4]) == 11
    assert bounds.serra_upper([2, 8, 8]) == 37 * 37
    # 1-D input with widths >= 2: J = {0, 1}^L, the bound is prod (n_l + 1)
    assert bounds.serra_upper([1, 3, 4, 5]) == 4 * 5 * 6
    # a bottleneck of width 1 after 2-D input: the image is 1-D, so layer 2 cuts its
    # active side into at most 5 + 1 pieces; its inactive side stays whole: 6 + 1
    assert bounds.serra_upper([2, 1, 5]) == 6 + 1


def test_montufar_known_values():
    assert bounds.montufar_lower([2, 4]) == 11
    assert bounds.montufar_lower([2, 4, 4]) == 2**2 * 11
    assert bounds.montufar_lower([2, 5, 7]) == 2**2 * (1 + 7 + 21)
    assert bounds.montufar_lower([1, 3, 3]) == 3 * 4
    assert bounds.montufar_lower([3, 7, 6, 4]) == 2**3 * 2**3 * (1 + 4 + 6 + 4)


# ------------------------------------------------------------------ brute force, properties


@settings(max_examples=200, deadline=None)
@given(widths_st)
def test_serra_matches_brute_force(widths):
    assert bounds.serra_upper(widths) == serra_brute(widths)


@given(st.integers(1, 8), st.integers(1, 40))
def test_one_layer_bounds_are_zaslavsky(n0, n1):
    assert bounds.serra_upper([n0, n1]) == bounds.zaslavsky(n1, n0)
    if n1 >= n0:
        assert bounds.montufar_lower([n0, n1]) == bounds.zaslavsky(n1, n0)


@settings(max_examples=200, deadline=None)
@given(
    st.integers(1, 4).flatmap(
        lambda n0: st.lists(st.integers(n0, 9), min_size=1, max_size=5).map(lambda h: [n0] + h)
    )
)
def test_montufar_below_serra(widths):
    lower = bounds.montufar_lower(widths)
    upper = bounds.serra_upper(widths)
    assert 1 <= lower <= upper
    # and the Serra bound never exceeds the trivial bound 2^(number of neurons)
    assert upper <= 2 ** sum(widths[1:])


@given(widths_st, st.integers(1, 6))
def test_serra_monotone_in_added_layer(widths, extra):
    # adding a layer can only add regions (j = 0 for the new layer keeps every old term)
    assert bounds.serra_upper(widths + [extra]) >= bounds.serra_upper(widths)


# ------------------------------------------------------------------ input validation


@pytest.mark.parametrize(
    "args, exc, words",
    [
        ((4.0, 2), TypeError, "m must be an integer"),
        ((4, "2"), TypeError, "d must be an integer"),
        ((True, 2), TypeError, "m must be an integer"),
        ((-1, 2), ValueError, "m must be at least 0, got -1"),
        ((4, -3), ValueError, "d must be at least 0, got -3"),
    ],
)
def test_zaslavsky_rejects_bad_input(args, exc, words):
    with pytest.raises(exc, match=words):
        bounds.zaslavsky(*args)


@pytest.mark.parametrize("func", [bounds.serra_upper, bounds.montufar_lower])
def test_widths_validation(func):
    with pytest.raises(ValueError, match="at least one hidden width"):
        func([2])
    with pytest.raises(ValueError, match=r"widths\[1\] must be at least 1, got 0"):
        func([2, 0, 3])
    with pytest.raises(TypeError, match=r"widths\[2\] must be an integer, got float"):
        func([2, 4, 4.5])
    with pytest.raises(TypeError, match="sequence of integers"):
        func(5)
    assert func(np.array([2, 4])) == 11  # numpy integers are fine
    assert func(w for w in [2, 4]) == 11  # so is any iterable


def test_montufar_needs_wide_layers():
    with pytest.raises(
        ValueError, match=r"hidden width >= the input dimension n_0=3.*widths\[2\]=2"
    ):
        bounds.montufar_lower([3, 4, 2])


# ------------------------------------------------------------------ against exact counts


def random_mlp(widths: list[int], seed: int) -> rs.Sequential:
    rng = np.random.default_rng(seed)
    layers: list[rs.Layer] = []
    for n_in, n_out in zip(widths[:-1], widths[1:], strict=True):
        layers += [
            rs.Linear(rng.standard_normal((n_out, n_in)), rng.standard_normal(n_out)),
            rs.ReLU(),
        ]
    return rs.Sequential(*layers, rs.Linear(rng.standard_normal((1, widths[-1]))))


@pytest.mark.parametrize("widths", [[2, 3], [2, 5], [2, 3, 3], [2, 4, 2], [2, 2, 2, 2], [2, 6, 4]])
def test_exact_counts_never_exceed_serra(widths):
    upper = bounds.serra_upper(widths)
    for seed in range(4):
        part = rs.partition(random_mlp(widths, seed), rs.Box(10.0))
        assert 1 <= part.num_regions <= upper


@pytest.mark.parametrize("widths", [[1, 3], [1, 4, 2], [1, 3, 5, 2]])
def test_exact_counts_1d_never_exceed_serra(widths):
    upper = bounds.serra_upper(widths)
    for seed in range(4):
        part = rs.partition(random_mlp(widths, seed), rs.Interval(-10.0, 10.0))
        assert 1 <= part.num_regions <= upper


def test_montufar_construction_1d_reaches_lower_bound():
    # Montufar et al.'s construction for n_0 = 1: each layer folds [0, 1] onto itself
    # n_l times; the last layer cuts every fold at n_L points.
    widths = [1, 3, 2, 4]
    layers: list[rs.Layer] = []
    coef_prev = np.ones(1)  # the input x itself, x in [0, 1]
    for n in widths[1:-1]:
        coef = np.where(np.arange(n) == 0, n, 2.0 * n * (-1.0) ** np.arange(n))
        # pre-activation of unit i: g - i/n, with g = coef_prev . h_prev
        layers += [rs.Linear(np.outer(np.ones(n), coef_prev), -np.arange(n) / n), rs.ReLU()]
        coef_prev = coef
    n_last = widths[-1]
    thresholds = (np.arange(n_last) + 0.5) / n_last
    layers += [rs.Linear(np.outer(np.ones(n_last), coef_prev), -thresholds), rs.ReLU()]
    net = rs.Sequential(*layers)
    part = rs.partition(net, rs.Interval(0.0, 1.0))
    lower = bounds.montufar_lower(widths)
    assert lower == 3 * 2 * (4 + 1)
    assert part.num_regions == lower
    assert part.num_regions <= bounds.serra_upper(widths)
