"""Crossed (region, unit) pairs, compiled: :func:`regionscope.geometry.cutting.crossed_pairs`."""

from __future__ import annotations

import numpy as np
from numba import types

from .common import B2, F1, F2, I1, f64, flag, helper, i64, kernel

__all__ = ["pairs_kernel", "crossed_pairs"]


_DEBRUIJN = 0x03F79D71B4CA8B09
#: the index of the lowest set bit ``x & -x`` from the top six bits of its de Bruijn product
_LOWEST = np.zeros(64, dtype=np.int64)
for _k in range(64):
    _LOWEST[(((1 << _k) * _DEBRUIJN) % (1 << 64)) >> 58] = _k


@helper
def _signs(values, tol):
    """``(pos, neg)``: the units above / below their tolerance, 64 to a word, per vertex."""
    nverts, n = values.shape
    words = (n + 63) // 64
    pos = np.empty((nverts, words), dtype=np.uint64)
    neg = np.empty((nverts, words), dtype=np.uint64)
    for v in range(nverts):
        for w in range(words):
            p = np.uint64(0)
            q = np.uint64(0)
            for b in range(min(64, n - 64 * w)):
                z = values[v, 64 * w + b]
                t = tol[64 * w + b]
                p |= np.uint64(z > t) << np.uint64(b)
                q |= np.uint64(z < -t) << np.uint64(b)
            pos[v, w] = p
            neg[v, w] = q
    return pos, neg


#: ``active`` where there is none (read-only: the kernel's own type)
_NO_ACTIVE = flag(np.zeros((1, 1), dtype=np.bool_))


@kernel(F2, F1, I1, I1, B2, types.boolean)
def _pairs(values, tol, rv, offsets, active, use_active):
    pos, neg = _signs(values, tol)
    words = pos.shape[1]
    nregions = len(offsets) - 1
    zero = np.uint64(0)
    count = np.zeros(nregions + 1, dtype=np.int64)
    out_r = np.empty(0, dtype=np.int64)
    out_u = np.empty(0, dtype=np.int64)
    for sweep in range(2):  # count, then fill (only the regions with crossed pairs)
        if sweep == 1:
            for f in range(nregions):
                count[f + 1] += count[f]
            out_r = np.empty(count[nregions], dtype=np.int64)
            out_u = np.empty(count[nregions], dtype=np.int64)
        for f in range(nregions):
            if sweep == 1 and count[f + 1] == count[f]:
                continue
            k = count[f] if sweep == 1 else 0
            for w in range(words):
                p = zero
                q = zero
                for i in range(offsets[f], offsets[f + 1]):
                    p |= pos[rv[i], w]
                    q |= neg[rv[i], w]
                both = p & q
                while both != zero:
                    low = both & (~both + np.uint64(1))
                    u = 64 * w + _LOWEST[(low * np.uint64(_DEBRUIJN)) >> np.uint64(58)]
                    both ^= low
                    if not use_active or active[f, u]:
                        if sweep == 1:
                            out_r[k] = f
                            out_u[k] = u
                        k += 1
            if sweep == 0:
                count[f + 1] = k
    return out_r, out_u


#: the crossed pairs themselves, for kernels that call it (:mod:`.chain`)
pairs_kernel = _pairs


def crossed_pairs(
    values: np.ndarray,
    unit_tol: np.ndarray,
    rv: np.ndarray,
    offsets: np.ndarray,
    active: np.ndarray | None,
) -> tuple[np.ndarray, np.ndarray]:
    """``(region, unit)`` pairs with corners of both signs, sorted by region then unit."""
    use = active is not None
    act = flag(active) if use else _NO_ACTIVE
    return _pairs(f64(values), f64(unit_tol), i64(rv), i64(offsets), act, use)
