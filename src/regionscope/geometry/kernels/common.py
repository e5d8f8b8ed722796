"""Shared pieces of the kernels: signatures, array coercion, NumPy's summation order.

Importing this module imports numba.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numba
import numpy as np
from numba import types

from regionscope.geometry.arrays import read_only

__all__ = [
    "kernel",
    "helper",
    "I1",
    "I2",
    "F1",
    "F2",
    "B1",
    "B2",
    "i64",
    "f64",
    "flag",
    "numpy_sum",
    "insertion_argsort",
    "sort_pairs",
    "sort_runs",
    "find",
    "union",
    "search",
    "sort_index",
    "unique",
]

def _refresh_cache() -> None:
    """Drop the cached kernels when any kernel module changed since they were compiled.

    numba checks only the file of a cached function, not the files of the
    functions it calls: the fused cut would keep an old ``faces`` or ``ends``.
    A digest of all the kernel modules, kept next to numba's cache, decides.
    (Where the package is read-only, numba caches elsewhere and this does
    nothing; installing a new version rewrites every file, which numba notices.)
    """
    here = Path(__file__).parent
    digest = hashlib.sha256()
    for path in sorted(here.glob("*.py")):
        digest.update(path.name.encode() + path.read_bytes())
    cache = here / "__pycache__"
    stamp = cache / "kernels.sha256"
    try:
        if stamp.is_file() and stamp.read_text() == digest.hexdigest():
            return
        for old in [*cache.glob("*.nbi"), *cache.glob("*.nbc")]:
            old.unlink()
        cache.mkdir(exist_ok=True)
        stamp.write_text(digest.hexdigest())
    except OSError:
        pass


_refresh_cache()

#: read-only C-contiguous arrays: writable arrays convert to them, so one
#: compiled version serves both
I1 = types.Array(types.int64, 1, "C", readonly=True)
I2 = types.Array(types.int64, 2, "C", readonly=True)
F1 = types.Array(types.float64, 1, "C", readonly=True)
F2 = types.Array(types.float64, 2, "C", readonly=True)
B1 = types.Array(types.boolean, 1, "C", readonly=True)
B2 = types.Array(types.boolean, 2, "C", readonly=True)


def kernel(*signature: Any) -> Callable[[Callable[..., Any]], Any]:
    """Compile a function now (or load it from the cache) for the argument types given."""
    return numba.njit(signature, cache=True)


def helper(fn: Callable[..., Any]) -> Any:
    """Compile a function called from kernels only (typed by its callers)."""
    return numba.njit(cache=True)(fn)


def inline(fn: Callable[..., Any]) -> Any:
    """Like :func:`helper`, inlined into its callers: a call that passes arrays costs about
    100 ns (reference counts), too much inside a loop over regions or chords."""
    return numba.njit(cache=True, inline="always")(fn)


def _read_only(arr: np.ndarray) -> np.ndarray:
    """``arr``, or a read-only view of it: the kernels' own types (:data:`I1`...), so that a
    call finds its compiled version at once (a writable array converts, but the first call
    with each new mix of types searches the conversions: 0.2-0.4 ms a kernel)."""
    return read_only(arr.view()) if arr.flags.writeable else arr


def i64(arr: Any) -> np.ndarray:
    """``arr`` as a read-only C-contiguous int64 array (no copy if it is one)."""
    return _read_only(np.ascontiguousarray(arr, dtype=np.int64))


def f64(arr: Any) -> np.ndarray:
    """``arr`` as a read-only C-contiguous float64 array (no copy if it is one)."""
    return _read_only(np.ascontiguousarray(arr, dtype=np.float64))


def flag(arr: Any) -> np.ndarray:
    """``arr`` as a read-only C-contiguous bool array (no copy if it is one)."""
    return _read_only(np.ascontiguousarray(arr, dtype=np.bool_))


@helper
def _pairwise(x: np.ndarray, start: int, n: int) -> float:
    """NumPy's pairwise summation of ``x[start:start + n]`` (``pairwise_sum`` in its loops)."""
    if n < 8:
        res = -0.0
        for i in range(start, start + n):
            res += x[i]
        return res
    if n <= 128:
        r0, r1, r2, r3 = x[start], x[start + 1], x[start + 2], x[start + 3]
        r4, r5, r6, r7 = x[start + 4], x[start + 5], x[start + 6], x[start + 7]
        i = 8
        while i < n - n % 8:
            j = start + i
            r0 += x[j]
            r1 += x[j + 1]
            r2 += x[j + 2]
            r3 += x[j + 3]
            r4 += x[j + 4]
            r5 += x[j + 5]
            r6 += x[j + 6]
            r7 += x[j + 7]
            i += 8
        res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
        while i < n:
            res += x[start + i]
            i += 1
        return res
    n2 = n // 2
    n2 -= n2 % 8
    return _pairwise(x, start, n2) + _pairwise(x, start + n2, n - n2)


@helper
def numpy_sum(x: np.ndarray, start: int, n: int) -> float:
    """``np.add.reduceat`` of one slice ``x[start:start + n]`` (``n >= 1``), bit for bit.

    NumPy starts from the first element and adds the pairwise sum of the rest.
    """
    return x[start] + _pairwise(x, start + 1, n - 1)


@inline
def insertion_argsort(key: np.ndarray, idx: np.ndarray, lo: int, hi: int) -> None:
    """Sort ``idx[lo:hi]`` in place by ``key[idx]``, ties kept in order (stable)."""
    for i in range(lo + 1, hi):
        v = idx[i]
        k = key[v]
        j = i - 1
        while j >= lo and key[idx[j]] > k:
            idx[j + 1] = idx[j]
            j -= 1
        idx[j + 1] = v



@inline
def _less(key, idx, i, j):
    return key[i] < key[j] or (key[i] == key[j] and idx[i] < idx[j])


@inline
def _insertion(key, idx, lo, hi):
    for i in range(lo + 1, hi):
        k = key[i]
        v = idx[i]
        j = i - 1
        while j >= lo and (key[j] > k or (key[j] == k and idx[j] > v)):
            key[j + 1] = key[j]
            idx[j + 1] = idx[j]
            j -= 1
        key[j + 1] = k
        idx[j + 1] = v


@helper
def _quicksort(key, idx, lo, hi):
    stack = np.empty(128, dtype=np.int64)
    stack[0] = lo
    stack[1] = hi
    sp = 2
    while sp:
        hi = stack[sp - 1]
        lo = stack[sp - 2]
        sp -= 2
        while hi - lo > 16:
            mid = (lo + hi) >> 1
            a, b, c = lo, mid, hi - 1  # median of three at mid
            if _less(key, idx, b, a):
                key[a], key[b] = key[b], key[a]
                idx[a], idx[b] = idx[b], idx[a]
            if _less(key, idx, c, b):
                key[b], key[c] = key[c], key[b]
                idx[b], idx[c] = idx[c], idx[b]
                if _less(key, idx, b, a):
                    key[a], key[b] = key[b], key[a]
                    idx[a], idx[b] = idx[b], idx[a]
            pk = key[mid]
            pi = idx[mid]
            i = lo
            j = hi - 1
            while i <= j:
                while key[i] < pk or (key[i] == pk and idx[i] < pi):
                    i += 1
                while pk < key[j] or (pk == key[j] and pi < idx[j]):
                    j -= 1
                if i <= j:
                    key[i], key[j] = key[j], key[i]
                    idx[i], idx[j] = idx[j], idx[i]
                    i += 1
                    j -= 1
            if j + 1 - lo < hi - i:  # the smaller part first, the larger later
                stack[sp] = i
                stack[sp + 1] = hi
                hi = j + 1
            else:
                stack[sp] = lo
                stack[sp + 1] = j + 1
                lo = i
            sp += 2
        _insertion(key, idx, lo, hi)


@inline
def sort_pairs(key, idx, lo, hi):
    """Sort ``key[lo:hi]`` and ``idx[lo:hi]`` together by ``(key, idx)``, in place.

    With distinct ``idx`` this is a total order: any correct sort gives it.
    """
    if hi - lo <= 16:
        _insertion(key, idx, lo, hi)
    else:
        _quicksort(key, idx, lo, hi)


@helper
def sort_runs(key, idx, starts, lower, upper):
    """Sort each run ``starts[r]:starts[r + 1]`` of ``key`` and ``idx`` by ``(key, idx)``.

    One call for all runs: a call that passes arrays costs about 100 ns
    (reference counts), too much once per run.  Short runs are sorted by
    insertion; long ones are dealt into about as many equal buckets of
    ``[lower, upper]`` (the keys' range; the bucket is monotone in the key)
    and each bucket is sorted: linear time for spread-out keys, ``n log n``
    at worst.
    """
    widest = 0
    for r in range(len(starts) - 1):
        widest = max(widest, starts[r + 1] - starts[r])
    work_key = np.empty(widest if widest > 32 else 0, dtype=key.dtype)
    work_idx = np.empty(widest if widest > 32 else 0, dtype=np.int64)
    for r in range(len(starts) - 1):
        lo = starts[r]
        hi = starts[r + 1]
        if hi - lo < 2:  # most runs of a counting sort by vertex are empty
            continue
        if hi - lo <= 16:
            _insertion(key, idx, lo, hi)
        elif hi - lo <= 32 or not upper > lower:
            _quicksort(key, idx, lo, hi)
        else:
            _bucket_sort(key, idx, lo, hi, lower, upper, work_key, work_idx)


@helper
def _bucket_sort(key, idx, lo, hi, lower, upper, work_key, work_idx):
    n = hi - lo
    count = np.zeros(n + 1, dtype=np.int64)
    scale = n / (upper - lower)
    for i in range(lo, hi):
        b = min(int((key[i] - lower) * scale), n - 1)
        count[b + 1] += 1
    for b in range(n):
        count[b + 1] += count[b]
    fill = count[:n].copy()
    for i in range(lo, hi):
        b = min(int((key[i] - lower) * scale), n - 1)
        work_key[fill[b]] = key[i]
        work_idx[fill[b]] = idx[i]
        fill[b] += 1
    for b in range(n):
        if count[b + 1] - count[b] > 1:
            sort_pairs(work_key, work_idx, count[b], count[b + 1])
    key[lo:hi] = work_key[:n]
    idx[lo:hi] = work_idx[:n]


@inline
def find(parent, x):
    """Root of ``x`` (the smallest member of its set), with path halving."""
    while parent[x] != x:
        parent[x] = parent[parent[x]]
        x = parent[x]
    return x


@helper
def union(parent, a, b):
    """Join the sets of ``a`` and ``b`` (the smaller root stays); whether they were apart."""
    ra = find(parent, a)
    rb = find(parent, b)
    if ra == rb:
        return False
    if ra < rb:
        parent[rb] = ra
    else:
        parent[ra] = rb
    return True


@helper
def search(sorted_keys, keys, right):
    """``np.searchsorted(sorted_keys, keys, side="right" if right else "left")``."""
    out = np.empty(len(keys), dtype=np.int64)
    n = len(sorted_keys)
    for i in range(len(keys)):
        k = keys[i]
        lo = 0
        hi = n
        while lo < hi:
            mid = (lo + hi) >> 1
            if sorted_keys[mid] < k or (right and sorted_keys[mid] == k):
                lo = mid + 1
            else:
                hi = mid
        out[i] = lo
    return out


@helper
def sort_index(keys):
    """A stable argsort of ``keys`` (ties in index order)."""
    k = keys.copy()
    idx = np.arange(len(keys))
    if len(keys) > 16:
        _quicksort(k, idx, 0, len(keys))
    else:
        _insertion(k, idx, 0, len(keys))
    return idx


@helper
def unique(keys):
    """``np.unique`` of a 1-D int64 array."""
    idx = sort_index(keys)
    out = np.empty(len(keys), dtype=keys.dtype)
    n = 0
    for i in range(len(idx)):
        v = keys[idx[i]]
        if n == 0 or out[n - 1] != v:
            out[n] = v
            n += 1
    return out[:n]
