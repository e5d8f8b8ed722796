"""Small functions over flat and ragged integer arrays, used by every geometry step.

A *ragged array* is a flat array plus ``counts`` (or ``offsets``): element
``i`` of owner ``o`` is ``flat[offsets[o] + i]``.

Examples
--------
>>> import numpy as np
>>> owner, pos = expand(np.array([2, 0, 3]))
>>> owner.tolist(), pos.tolist()
([0, 0, 2, 2, 2], [0, 1, 0, 1, 2])
>>> changes(np.array([1, 1, 2, 2, 2, 5])).tolist()
[True, False, True, False, False, True]
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = [
    "exclusive_cumsum",
    "expand",
    "changes",
    "lexsort2",
    "argsort_ints",
    "sort_by",
    "untie",
    "components",
    "cycles",
    "mix64",
    "pack_bits",
    "unpack_bits",
    "read_only",
    "frozen",
]


def read_only(arr: np.ndarray) -> np.ndarray:
    """Mark ``arr`` read-only and return it (derived arrays are cached read-only).

    >>> read_only(np.zeros(2)).flags.writeable
    False
    """
    arr.setflags(write=False)
    return arr


def frozen(arr: Any, views: bool = False) -> np.ndarray:
    """``arr`` as a read-only C-contiguous float64 array: ``arr`` itself where it is one
    that owns its data (with ``views``, also one whose every array below is read-only too,
    as a view of a compiled kernel's result: it keeps them alive), else a read-only copy.

    >>> a = read_only(np.arange(3.0))
    >>> frozen(a) is a, frozen(a[1:]) is a[1:], frozen(a[1:], views=True).base is a
    (True, False, True)
    >>> w = np.arange(3.0)
    >>> f = frozen(w)
    >>> f is w, f.flags.writeable
    (False, False)
    >>> v = w[1:]
    >>> v.flags.writeable = False
    >>> frozen(v, views=True) is v  # a read-only view of data that can change: copied
    False
    """
    if (
        type(arr) is np.ndarray
        and arr.dtype == np.float64
        and not arr.flags.writeable
        and arr.flags.c_contiguous
    ):
        if arr.base is None:
            return arr
        below = arr.base
        while views and isinstance(below, np.ndarray) and not below.flags.writeable:
            below = below.base  # (a kernel's array ends on numba's memory record)
        if views and not isinstance(below, np.ndarray):
            return arr
    return read_only(np.array(arr, dtype=np.float64))


def exclusive_cumsum(counts: np.ndarray) -> np.ndarray:
    """``(n,) int64`` offsets of ragged ``counts`` (the first is 0).

    >>> exclusive_cumsum(np.array([3, 1, 2])).tolist()
    [0, 3, 4]
    """
    out = np.zeros(len(counts), dtype=np.int64)
    if len(counts) > 1:
        np.cumsum(counts[:-1], out=out[1:])
    return out


def expand(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For ragged ``counts (n,)``: ``(owner, position within owner)`` of every element."""
    counts = counts.astype(np.int64, copy=False)
    owner = np.repeat(np.arange(len(counts), dtype=np.int64), counts)
    pos = np.arange(len(owner), dtype=np.int64) - exclusive_cumsum(counts)[owner]
    return owner, pos


def changes(*keys: np.ndarray) -> np.ndarray:
    """``(n,) bool``: True at 0 and wherever any key differs from the element before."""
    n = len(keys[0])
    out = np.empty(n, dtype=bool)
    if n:
        out[0] = True
        diff = keys[0][1:] != keys[0][:-1]
        for k in keys[1:]:
            diff |= k[1:] != k[:-1]
        out[1:] = diff
    return out


def argsort_ints(keys: np.ndarray) -> np.ndarray:
    """A stable argsort of integer ``keys``.

    Keys in ``[0, 2**16)`` are sorted as ``uint16`` (NumPy sorts those by
    radix, many times faster than a merge sort of ``int64``), keys in
    ``[0, 2**32)`` as ``uint32``.

    >>> argsort_ints(np.array([3, 1, 3, 0])).tolist()
    [3, 1, 0, 2]
    """
    if len(keys) and keys.dtype.kind in "iu":
        lo, hi = int(keys.min()), int(keys.max())
        if lo >= 0 and hi < 1 << 16:
            return keys.astype(np.uint16).argsort(kind="stable")
        if lo >= 0 and hi < 1 << 32:
            return keys.astype(np.uint32).argsort(kind="stable")
    return keys.argsort(kind="stable")


def lexsort2(minor: np.ndarray, major: np.ndarray) -> np.ndarray:
    """Indices sorting by ``major``, ties by ``minor`` (like ``np.lexsort((minor, major))``).

    Two argsorts, the second stable, are faster than ``np.lexsort``.  Ties in
    both keys come in no particular order (see :func:`sort_by` for a total
    order).

    >>> lexsort2(np.array([2, 1, 0]), np.array([1, 0, 1])).tolist()
    [1, 2, 0]
    """
    first = minor.argsort()
    return first[argsort_ints(major[first])]


def untie(
    order: np.ndarray, major: np.ndarray, minor: np.ndarray, last: np.ndarray | None = None
) -> np.ndarray:
    """Put runs of equal ``(major, minor)`` (given in ``order``'s order) in order of ``last``.

    ``order`` sorts by ``major`` then ``minor`` with ties in any order;
    ``major`` and ``minor`` are the keys in that order; ``last`` defaults to
    the index.  Returns ``order`` (changed in place) in the total order.
    """
    if len(order) < 2:
        return order
    tie = (major[1:] == major[:-1]) & (minor[1:] == minor[:-1])
    if tie.any():
        at = tie.nonzero()[0]
        pos = np.unique(np.concatenate([at, at + 1]))
        run = np.cumsum(np.append(True, ~tie))[pos]  # runs of equal keys
        tiebreak = order[pos] if last is None else last[order[pos]]
        order[pos] = order[pos][np.lexsort((tiebreak, run))]
    return order


def sort_by(major: np.ndarray, minor: np.ndarray, last: np.ndarray | None = None) -> np.ndarray:
    """Indices sorting by ``major`` (integers), then ``minor``, then ``last`` (default: the index).

    A total order, whatever the sorting algorithm: ties in ``major`` and
    ``minor`` are put in order of ``last``, which must differ among them.

    >>> sort_by(np.array([1, 0, 1, 1]), np.array([0.5, 0.7, 0.5, 0.2])).tolist()
    [1, 3, 0, 2]
    """
    order = lexsort2(minor, major)
    return untie(order, major[order], minor[order], last)


def components(n: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Smallest member of the connected component of each of ``n`` nodes, given links ``a-b``.

    >>> components(5, np.array([0, 3]), np.array([2, 4])).tolist()
    [0, 1, 0, 3, 3]
    """
    label = np.arange(n, dtype=np.int64)
    if len(a) == 0:
        return label
    while True:
        m = np.minimum(label[a], label[b])
        new = label.copy()
        np.minimum.at(new, a, m)
        np.minimum.at(new, b, m)
        new = new[new]
        while True:  # pointer jumping to the root
            nxt = new[new]
            if (nxt == new).all():
                break
            new = nxt
        if (new == label).all():
            return label
        label = new


def cycles(succ: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The cycles of a permutation ``succ (n,)``: ``(offsets (K+1,), members (n,))``.

    Cycle ``k`` is ``members[offsets[k]:offsets[k + 1]]``: it starts at its
    smallest element and follows ``succ``; cycles come in order of their
    smallest elements.  Every element walks forward until it meets a smaller
    one, all at once; the walks of the cycles' smallest elements list the
    cycles.  The work is about ``n`` times the logarithm of the cycle length
    for cycles in no particular order, and the number of steps is the
    longest cycle.

    >>> offsets, members = cycles(np.array([2, 0, 1, 3]))
    >>> offsets.tolist(), members.tolist()
    ([0, 3, 4], [0, 2, 1, 3])
    """
    n = len(succ)
    succ = succ.astype(np.int64, copy=False)
    cand = np.arange(n, dtype=np.int64)
    cur = succ
    size = np.zeros(n, dtype=np.int64)
    seen_cand: list[np.ndarray] = []
    seen_at: list[np.ndarray] = []
    seen_rank: list[int] = []
    step = 1
    while len(cand):
        size[cand[cur == cand]] = step  # back at the start: the start is the smallest
        ahead = cur > cand
        cand = cand[ahead]
        cur = cur[ahead]
        seen_cand.append(cand)
        seen_at.append(cur)
        seen_rank.append(step)
        cur = succ[cur]
        step += 1
        if step > n + 1:
            raise ValueError("cycles: succ is not a permutation")
    starts = size.nonzero()[0]
    offsets = np.zeros(len(starts) + 1, dtype=np.int64)
    np.cumsum(size[starts], out=offsets[1:])
    first = np.full(n, -1, dtype=np.int64)
    first[starts] = offsets[:-1]
    members = np.empty(n, dtype=np.int64)
    members[offsets[:-1]] = starts
    if n:
        c = np.concatenate(seen_cand)
        keep = first[c] >= 0
        rank = np.repeat(np.array(seen_rank, dtype=np.int64), [len(x) for x in seen_cand])
        members[first[c[keep]] + rank[keep]] = np.concatenate(seen_at)[keep]
    return offsets, members


def pack_bits(mask: np.ndarray) -> np.ndarray:
    """``(N, B) bool`` as ``(N, ceil(B / 64)) uint64`` words (bit ``j`` of row ``i`` in order).

    >>> words = pack_bits(np.array([[True, False, True]]))
    >>> words.tolist(), unpack_bits(words, 3).tolist()
    ([[5]], [[True, False, True]])
    """
    words = -(-mask.shape[1] // 64)
    packed = np.packbits(mask, axis=1, bitorder="little")
    out = np.zeros((len(mask), words * 8), dtype=np.uint8)
    out[:, : packed.shape[1]] = packed
    return out.view(np.uint64)


def unpack_bits(words: np.ndarray, width: int) -> np.ndarray:
    """The inverse of :func:`pack_bits`: ``(N, width) bool``."""
    return np.unpackbits(words.view(np.uint8), axis=1, bitorder="little")[:, :width].astype(bool)


def mix64(keys: np.ndarray) -> np.ndarray:
    """Scramble ``uint64`` keys (the splitmix64 finaliser) so every bit depends on all bits.

    Wrapping arithmetic; used for pattern hashes and the colours derived from them.

    >>> int(mix64(np.array([1], dtype=np.uint64))[0]) != 1
    True
    """
    z = np.asarray(keys, dtype=np.uint64).copy()
    with np.errstate(over="ignore"):
        z ^= z >> np.uint64(30)
        z *= np.uint64(0xBF58476D1CE4E5B9)
        z ^= z >> np.uint64(27)
        z *= np.uint64(0x94D049BB133111EB)
        z ^= z >> np.uint64(31)
    return z
