"""Ragged-array helpers, against plain Python loops."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from regionscope.geometry.arrays import (
    changes,
    components,
    exclusive_cumsum,
    expand,
    lexsort2,
    mix64,
    order_cycles,
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


@given(st.permutations(list(range(9))))
def test_order_cycles_labels_and_ranks(perm):
    succ = np.array(perm, dtype=np.int64)
    label, rank = order_cycles(succ)
    for start in range(len(succ)):
        cycle = [start]
        while succ[cycle[-1]] != start:
            cycle.append(int(succ[cycle[-1]]))
        root = min(cycle)
        assert label[start] == root
        steps, x = 0, root
        while x != start:
            x, steps = int(succ[x]), steps + 1
        assert rank[start] == steps


def test_mix64_is_a_bijection_on_a_sample():
    keys = np.arange(10_000, dtype=np.uint64)
    assert len(np.unique(mix64(keys))) == len(keys)
