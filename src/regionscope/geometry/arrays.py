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

import numpy as np

__all__ = [
    "exclusive_cumsum",
    "expand",
    "changes",
    "lexsort2",
    "components",
    "order_cycles",
    "mix64",
    "pack_bits",
    "unpack_bits",
    "read_only",
]


def read_only(arr: np.ndarray) -> np.ndarray:
    """Mark ``arr`` read-only and return it (derived arrays are cached read-only).

    >>> read_only(np.zeros(2)).flags.writeable
    False
    """
    arr.setflags(write=False)
    return arr


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


def lexsort2(minor: np.ndarray, major: np.ndarray) -> np.ndarray:
    """Indices sorting by ``major``, ties by ``minor`` (like ``np.lexsort((minor, major))``).

    Two argsorts, the second stable, are faster than ``np.lexsort``.

    >>> lexsort2(np.array([2, 1, 0]), np.array([1, 0, 1])).tolist()
    [1, 2, 0]
    """
    first = minor.argsort()
    return first[major[first].argsort(kind="stable")]


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


def order_cycles(succ: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cycles of a permutation ``succ (n,)``: ``(label, rank)`` per element.

    ``label`` is the smallest element of the cycle, ``rank`` the number of
    steps from it along ``succ`` (Wyllie's list ranking, with the root
    absorbing).

    >>> label, rank = order_cycles(np.array([2, 0, 1, 3]))
    >>> label.tolist(), rank.tolist()
    ([0, 0, 0, 3], [0, 2, 1, 0])
    """
    n = len(succ)
    label = np.arange(n, dtype=np.int64)
    jump = succ.copy()
    while True:
        new = np.minimum(label, label[jump])
        jump = jump[jump]
        if (new == label).all():
            break
        label = new
    root = label == np.arange(n)
    to_root = np.where(root, 0, 1).astype(np.int64)  # steps forward to the root
    nxt = np.where(root, np.arange(n), succ)
    while not root[nxt].all():
        to_root = to_root + np.where(root, 0, to_root[nxt])
        nxt = nxt[nxt]
    length = np.bincount(label, minlength=n)[label]
    rank = np.where(root, 0, length - to_root)
    return label, rank


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
