"""The kernels' shared pieces against NumPy: its summation order, sorts, searches, sets."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

pytest.importorskip("numba")

from regionscope.geometry.kernels.common import (  # noqa: E402
    find,
    numpy_sum,
    search,
    sort_index,
    sort_runs,
    union,
    unique,
)


def test_numpy_sum_is_reduceat_bit_for_bit():
    rng = np.random.default_rng(0)
    for n in [*range(1, 40), 127, 128, 129, 130, 300, 1000]:
        x = rng.normal(size=n) * 10.0 ** rng.integers(-8, 8, size=n)
        want = np.add.reduceat(x, [0])[0]
        assert numpy_sum(x, 0, n) == want, n
        # a slice in the middle of a longer array
        y = np.concatenate([rng.normal(size=5), x, rng.normal(size=3)])
        assert numpy_sum(y, 5, n) == np.add.reduceat(y, [5, 5 + n])[0]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 60), min_size=1, max_size=8), st.integers(0, 2**16))
def test_sort_runs_sorts_each_run_by_key_then_index(sizes, seed):
    rng = np.random.default_rng(seed)
    starts = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    n = int(starts[-1])
    key = rng.choice([0.0, 0.25, 0.5, 1.0], size=n) if seed % 2 else rng.random(n)
    idx = rng.permutation(n).astype(np.int64)
    k, i = key.copy(), idx.copy()
    sort_runs(k, i, starts, 0.0, 1.0)
    for lo, hi in zip(starts[:-1], starts[1:], strict=True):
        want = sorted(zip(key[lo:hi].tolist(), idx[lo:hi].tolist(), strict=True))
        assert list(zip(k[lo:hi].tolist(), i[lo:hi].tolist(), strict=True)) == want


@settings(deadline=None)
@given(st.lists(st.integers(-3, 9), max_size=40), st.lists(st.integers(-4, 10), max_size=10))
def test_search_and_unique_and_stable_argsort_match_numpy(values, keys):
    values = np.array(values, dtype=np.int64)
    keys = np.array(keys, dtype=np.int64)
    s = np.sort(values)
    for right in (False, True):
        want = np.searchsorted(s, keys, side="right" if right else "left")
        assert search(s, keys, right).tolist() == want.tolist()
    assert unique(values).tolist() == np.unique(values).tolist()
    assert sort_index(values).tolist() == np.argsort(values, kind="stable").tolist()


def test_union_find_keeps_the_smallest_member_as_root():
    parent = np.arange(6)
    assert union(parent, 4, 2) and union(parent, 5, 4) and not union(parent, 2, 5)
    assert [int(find(parent, x)) for x in range(6)] == [0, 1, 2, 3, 2, 2]
