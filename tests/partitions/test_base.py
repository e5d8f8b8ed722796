"""Pattern keys: the packed-byte sums equal the plain weighted sum, for any width."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from regionscope.geometry.arrays import mix64
from regionscope.partitions.base import pattern_hash


def _plain_hash(patterns: dict[int, np.ndarray], n: int) -> np.ndarray:
    """The definition: per layer, mix of ``sum((p + 1) * w)`` in wrapping uint64."""
    key = np.zeros(n, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for layer in sorted(patterns):
            p = patterns[layer].reshape(n, -1)
            cols = np.arange(p.shape[1], dtype=np.uint64)
            w = mix64(cols + np.uint64(layer) * np.uint64(0x9E3779B97F4A7C15))
            w[w == 0] = np.uint64(0x9E3779B97F4A7C15)  # unit 0 of op 0 (mix64(0) is 0)
            h = np.zeros(n, dtype=np.uint64)
            for j in range(p.shape[1]):  # one column at a time, wrapping
                h += (p[:, j].astype(np.uint64) + np.uint64(1)) * w[j]
            key = mix64(key ^ mix64(h + np.uint64(layer)))
    return key


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(1, 20), widths=st.lists(st.integers(1, 70),
       min_size=1, max_size=3))  # fmt: skip
def test_pattern_hash_is_the_weighted_sum(seed, n, widths):
    rng = np.random.default_rng(seed)
    patterns = {2 * i: rng.random((n, k)) < 0.5 for i, k in enumerate(widths)}  # op 0 too
    want = _plain_hash(patterns, n)
    assert pattern_hash(patterns, n).tolist() == want.tolist()
    assert pattern_hash(patterns, n).tolist() == want.tolist()  # (tables cached: the same)
    ints = {i: p.astype(np.int64) for i, p in patterns.items()}  # the other path
    assert pattern_hash(ints, n).tolist() == want.tolist()


def test_every_unit_of_the_first_op_counts():
    """A network that starts with a ReLU: its unit 0 is op 0's column 0, whose weight was
    ``mix64(0) = 0``, so regions that differed there only had one key."""
    rng = np.random.default_rng(0)
    first = rng.random((64, 5)) < 0.5
    keys = pattern_hash({0: first, 2: np.zeros((64, 1), dtype=bool)}, 64)
    distinct = len(np.unique(first, axis=0))
    assert len(np.unique(keys)) == distinct
