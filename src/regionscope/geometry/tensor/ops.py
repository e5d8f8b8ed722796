"""Flat and ragged tensor helpers of the torch cut: the counterparts of :mod:`..arrays`.

Every function takes and returns ``torch`` tensors on one device, ``int64``
for indices and ``float64`` for numbers.  Orders are total: sorts are stable,
and keys are sorted from the least significant to the most significant, so
that ties come in index order, as :func:`regionscope.geometry.arrays.sort_by`
gives them.

Examples
--------
>>> import torch
>>> owner, pos = expand(torch.tensor([2, 0, 3]))
>>> owner.tolist(), pos.tolist()
([0, 0, 2, 2, 2], [0, 1, 0, 1, 2])
>>> order(torch.tensor([1, 0, 1]), torch.tensor([0.5, 0.7, 0.2])).tolist()
[1, 2, 0]
"""

from __future__ import annotations

from typing import Any

import numpy as np

try:  # the torch extra; this package is imported by the torch backend only
    import torch
except ImportError:  # pragma: no cover - checked by regionscope.backends
    torch = None

__all__ = [
    "I64",
    "F64",
    "empty_int",
    "arange",
    "exclusive_cumsum",
    "expand",
    "changes",
    "order",
    "first_true",
    "components",
    "cycles",
    "bincount",
    "to_device",
]

I64 = torch.int64 if torch is not None else None
F64 = torch.float64 if torch is not None else None


def to_device(arr: Any, dtype: Any, device: torch.device) -> torch.Tensor:
    """A NumPy array (copied, contiguous, of ``dtype``) as a tensor on ``device``."""
    return torch.from_numpy(np.array(arr, dtype=dtype, order="C", copy=True)).to(device)


def empty_int(device: torch.device) -> torch.Tensor:
    """``(0,) int64`` on ``device``."""
    return torch.zeros(0, dtype=I64, device=device)


def arange(n: int, device: torch.device) -> torch.Tensor:
    """``(n,) int64``: ``0, 1, ..., n - 1``."""
    return torch.arange(int(n), dtype=I64, device=device)


def exclusive_cumsum(counts: torch.Tensor) -> torch.Tensor:
    """``(n,) int64`` offsets of ragged ``counts`` (the first is 0).

    >>> exclusive_cumsum(torch.tensor([3, 1, 2])).tolist()
    [0, 3, 4]
    """
    out = torch.zeros(len(counts), dtype=I64, device=counts.device)
    if len(counts) > 1:
        out[1:] = torch.cumsum(counts[:-1], 0)
    return out


def expand(counts: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """For ragged ``counts (n,)``: ``(owner, position within owner)`` of every element."""
    counts = counts.to(I64)
    dev = counts.device
    owner = torch.repeat_interleave(arange(len(counts), dev), counts)
    pos = arange(len(owner), dev) - exclusive_cumsum(counts)[owner]
    return owner, pos


def changes(*keys: torch.Tensor) -> torch.Tensor:
    """``(n,) bool``: True at 0 and wherever any key differs from the element before."""
    n = len(keys[0])
    out = torch.ones(n, dtype=torch.bool, device=keys[0].device)
    if n > 1:
        diff = keys[0][1:] != keys[0][:-1]
        for k in keys[1:]:
            diff |= k[1:] != k[:-1]
        out[1:] = diff
    return out


def order(*keys: torch.Tensor) -> torch.Tensor:
    """Indices sorting by ``keys[0]``, then ``keys[1]``, ...; ties in index order.

    Float keys get ``+ 0.0`` first, so ``-0.0`` and ``0.0`` tie whatever the
    device's sort does with signs.
    """
    idx = arange(len(keys[0]), keys[0].device)
    for key in reversed(keys):
        k = key[idx]
        if k.is_floating_point():
            k = k + 0.0
        idx = idx[torch.sort(k, stable=True).indices]
    return idx


def first_true(mask: torch.Tensor, group: torch.Tensor) -> torch.Tensor:
    """Positions of the first True of ``mask`` in each run of equal (sorted) ``group``."""
    idx = mask.nonzero().flatten()
    return idx[changes(group[idx])]


def bincount(x: torch.Tensor, minlength: int = 0) -> torch.Tensor:
    """``torch.bincount`` of int64 ``x``, empty input allowed."""
    if len(x) == 0:
        return torch.zeros(minlength, dtype=I64, device=x.device)
    return torch.bincount(x, minlength=minlength)


def components(n: int, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Smallest member of the connected component of each of ``n`` nodes, given links ``a-b``.

    >>> components(5, torch.tensor([0, 3]), torch.tensor([2, 4])).tolist()
    [0, 1, 0, 3, 3]
    """
    label = arange(n, a.device)
    if len(a) == 0:
        return label
    while True:
        m = torch.minimum(label[a], label[b])
        new = label.clone()
        new.scatter_reduce_(0, a, m, reduce="amin")
        new.scatter_reduce_(0, b, m, reduce="amin")
        new = new[new]
        while True:  # pointer jumping to the root
            nxt = new[new]
            if bool((nxt == new).all()):
                break
            new = nxt
        if bool((new == label).all()):
            return label
        label = new


def cycles(succ: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The cycles of a permutation ``succ (n,)``: ``(offsets (K+1,), members (n,))``.

    As :func:`regionscope.geometry.arrays.cycles`: cycle ``k`` starts at its
    smallest element and follows ``succ``; cycles come in order of their
    smallest elements.  Every element walks forward until it meets a smaller
    one, all at once, so the number of steps is the longest cycle.

    >>> offsets, members = cycles(torch.tensor([2, 0, 1, 3]))
    >>> offsets.tolist(), members.tolist()
    ([0, 3, 4], [0, 2, 1, 3])
    """
    n = len(succ)
    dev = succ.device
    cand = arange(n, dev)
    cur = succ
    size = torch.zeros(n, dtype=I64, device=dev)
    seen_cand: list[torch.Tensor] = []
    seen_at: list[torch.Tensor] = []
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
    starts = size.nonzero().flatten()
    offsets = torch.zeros(len(starts) + 1, dtype=I64, device=dev)
    offsets[1:] = torch.cumsum(size[starts], 0)
    first = torch.full((n,), -1, dtype=I64, device=dev)
    first[starts] = offsets[:-1]
    members = torch.empty(n, dtype=I64, device=dev)
    members[offsets[:-1]] = starts
    if n:
        c = torch.cat(seen_cand)
        keep = first[c] >= 0
        lengths = torch.tensor([len(x) for x in seen_cand], dtype=I64, device=dev)
        rank = torch.repeat_interleave(torch.tensor(seen_rank, dtype=I64, device=dev), lengths)
        members[first[c[keep]] + rank[keep]] = torch.cat(seen_at)[keep]
    return offsets, members
