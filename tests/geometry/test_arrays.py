"""Ragged-array helpers, against plain Python loops."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from regionscope.geometry.arrays import (
    argsort_ints,
    changes,
    components,
    cycles,
    exclusive_cumsum,
    expand,
    lexsort2,
    mix64,
    sort_by,
    untie,
)

counts_strategy = st.lists(st.integers(0, 5), max_size=12)


@given(counts_strategy)
def test_expand_and_exclusive_cumsum_match_loops(counts):
    counts = np.array(counts, dtype=np.int64)
    owner, pos = expand(counts)
    want = [(o, i) for o, c in enumerate(counts) for i in range(c)]
    assert list(zip(owner.tolist(), pos.tolist(), strict=True)) == want
    offsets = exclusive_cumsum(counts)
    assert offsets.tolist() == [int(sum(counts[:i])) for i in range(len(counts))]


@given(st.lists(st.integers(0, 3), max_size=20), st.lists(st.integers(0, 3), max_size=20))
def test_changes_marks_run_starts(a, b):
    n = min(len(a), len(b))
    a, b = np.array(a[:n]), np.array(b[:n])
    got = changes(a, b).tolist()
    want = [i == 0 or (a[i], b[i]) != (a[i - 1], b[i - 1]) for i in range(n)]
    assert got == want


@given(st.lists(st.tuples(st.integers(0, 4), st.integers(0, 4)), max_size=30))
def test_lexsort2_sorts_by_major_then_minor(pairs):
    major = np.array([p[0] for p in pairs], dtype=np.int64)
    minor = np.array([p[1] for p in pairs], dtype=np.int64)
    order = lexsort2(minor, major)
    keys = list(zip(major[order].tolist(), minor[order].tolist(), strict=True))
    assert keys == sorted(keys)
    assert sorted(order.tolist()) == list(range(len(pairs)))


@settings(max_examples=50)
@given(st.integers(1, 15), st.lists(st.tuples(st.integers(0, 14), st.integers(0, 14))))
def test_components_match_union_find(n, links):
    links = [(a % n, b % n) for a, b in links]
    parent = list(range(n))

    def find(x):
        while parent[x] != x:
            x = parent[x]
        return x

    for a, b in links:
        ra, rb = find(a), find(b)
        parent[max(ra, rb)] = min(ra, rb)
    want = []
    for x in range(n):
        members = [y for y in range(n) if find(y) == find(x)]
        want.append(min(members))
    a = np.array([p[0] for p in links], dtype=np.int64)
    b = np.array([p[1] for p in links], dtype=np.int64)
    assert components(n, a, b).tolist() == want


@given(st.permutations(list(range(12))))
def test_cycles_list_each_cycle_from_its_smallest_element(perm):
    succ = np.array(perm, dtype=np.int64)
    offsets, members = cycles(succ)
    # a plain walk: cycles in order of their smallest element, each from it
    seen, want = set(), []
    for start in range(len(succ)):
        if start in seen:
            continue
        cycle = [start]
        while succ[cycle[-1]] != start:
            cycle.append(int(succ[cycle[-1]]))
        seen.update(cycle)
        want.append(cycle)
    got = [members[offsets[k] : offsets[k + 1]].tolist() for k in range(len(offsets) - 1)]
    assert got == want


def test_cycles_of_nothing_and_refuses_a_non_permutation():
    offsets, members = cycles(np.zeros(0, dtype=np.int64))
    assert offsets.tolist() == [0] and len(members) == 0
    with pytest.raises(ValueError, match="not a permutation"):
        cycles(np.array([1, 2, 1]))


@given(st.lists(st.integers(-5, 70_000), max_size=40), st.sampled_from([0, 1, 2]))
def test_argsort_ints_is_a_stable_sort_whatever_the_range(keys, shift):
    keys = np.array(keys, dtype=np.int64) + (0, 1 << 20, 1 << 40)[shift]
    order = argsort_ints(keys)
    want = sorted(range(len(keys)), key=lambda i: (keys[i], i))
    assert order.tolist() == want


@settings(deadline=None)  # a first call can be slow on a loaded machine
@given(st.lists(st.tuples(st.integers(0, 3), st.sampled_from([0.0, 0.25, 1.0])), max_size=30))
def test_sort_by_is_the_total_order_major_minor_index(pairs):
    major = np.array([p[0] for p in pairs], dtype=np.int64)
    minor = np.array([p[1] for p in pairs], dtype=np.float64)
    want = sorted(range(len(pairs)), key=lambda i: (major[i], minor[i], i))
    assert sort_by(major, minor).tolist() == want
    last = -np.arange(len(pairs))  # break ties the other way round
    want = sorted(range(len(pairs)), key=lambda i: (major[i], minor[i], -i))
    assert sort_by(major, minor, last).tolist() == want


def test_untie_orders_only_the_runs_of_equal_keys():
    major = np.array([0, 0, 0, 1, 1])
    minor = np.array([0.5, 0.5, 0.7, 0.1, 0.1])
    order = np.array([4, 2, 0, 3, 1])  # sorted by keys, ties out of order
    assert untie(order, major, minor).tolist() == [2, 4, 0, 1, 3]


def test_mix64_is_a_bijection_on_a_sample():
    keys = np.arange(10_000, dtype=np.uint64)
    assert len(np.unique(mix64(keys))) == len(keys)
