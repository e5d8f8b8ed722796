"""Crossed pairs, compiled, against the NumPy function."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

pytest.importorskip("numba")

from regionscope.backends import backend  # noqa: E402
from regionscope.geometry.cutting import crossed_pairs  # noqa: E402
from regionscope.geometry.kernels import pairs  # noqa: E402


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 6), st.integers(1, 200), st.integers(0, 2**16), st.booleans())
def test_compiled_crossed_pairs_are_the_numpy_ones(nregions, n, seed, with_active):
    rng = np.random.default_rng(seed)
    nverts = 8
    sizes = rng.integers(3, 6, size=nregions)
    rv = rng.integers(0, nverts, size=sizes.sum())
    offsets = np.concatenate([[0], np.cumsum(sizes)])
    values = rng.normal(size=(nverts, n)) * (rng.random((nverts, n)) < 0.8)
    tol = rng.random(n) * 0.2
    active = rng.random((nregions, n)) < 0.6 if with_active else None
    with backend("numpy"):
        want = crossed_pairs(values, tol, rv, offsets, active)
    got = pairs.crossed_pairs(values, tol, rv, offsets, active)
    assert [g.tolist() for g in got] == [w.tolist() for w in want]


def test_units_past_a_word_of_64_and_zero_values():
    values = np.zeros((3, 130))
    values[0, 129] = 1.0
    values[1, 129] = -1.0
    values[0, 64], values[2, 64] = 1.0, -1e-13  # within the tolerance: zero
    got = pairs.crossed_pairs(values, np.full(130, 1e-12), np.arange(3), np.array([0, 3]), None)
    assert [g.tolist() for g in got] == [[0], [129]]
