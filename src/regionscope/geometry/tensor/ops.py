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

import warnings
from typing import Any

import numpy as np

try:  # the torch extra; this package is imported by the torch backend only
    import torch
except ImportError:  # pragma: no cover - checked by regionscope.backends
    torch = None

__all__ = [
    "I64",
    "F64",
    "take",
    "empty_int",
    "arange",
    "exclusive_cumsum",
    "expand",
    "changes",
    "order",
    "narrow",
    "first_true",
    "components",
    "cycles",
    "cycles_by_jumps",
    "cycles_by_walks",
    "bincount",
    "to_device",
    "to_host",
]

I64 = torch.int64 if torch is not None else None
F64 = torch.float64 if torch is not None else None


def to_device(arr: Any, dtype: Any, device: torch.device) -> torch.Tensor:
    """A NumPy array (contiguous, of ``dtype``) as a tensor of its own on ``device``.

    Copied once: on the host for a CPU device, else by the transfer alone (the
    read-only host array is only read).
    """
    if torch.device(device).type == "cpu":
        return torch.from_numpy(np.array(arr, dtype=dtype, order="C", copy=True))
    host = np.ascontiguousarray(arr, dtype=dtype)
    with warnings.catch_warnings():  # read-only arrays: read, never written
        warnings.simplefilter("ignore", UserWarning)
        view = torch.from_numpy(host)
    return view.to(device)


def to_host(flat: torch.Tensor) -> np.ndarray:
    """A 1-D tensor as a NumPy array: itself on a CPU, else copied into a new NumPy
    array (NumPy asks the kernel for huge pages: fewer page faults than torch's own)."""
    if flat.device.type == "cpu":
        return flat.numpy()
    out = np.empty(flat.numel(), dtype=torch.empty(0, dtype=flat.dtype).numpy().dtype)
    torch.from_numpy(out).copy_(flat)
    return out


def take(values: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """``values[index]`` for an int64 ``index`` (rows of a 2-D ``values``), by
    ``index_select``: the same result, several times faster than ``[]`` on a CPU.

    >>> take(torch.tensor([5, 6, 7]), torch.tensor([2, 2, 0])).tolist()
    [7, 7, 5]
    """
    return torch.index_select(values, 0, index)


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
    pos = arange(len(owner), dev) - take(exclusive_cumsum(counts), owner)
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
    idx = None
    for key in reversed(keys):
        k = key if idx is None else take(key, idx)
        if k.is_floating_point():
            k = k + 0.0
        by = torch.sort(k, stable=True).indices
        idx = by if idx is None else take(idx, by)
    return idx


def narrow(index: torch.Tensor, bound: int) -> torch.Tensor:
    """Indices below ``bound`` as int32 where that holds them (a sort key of half the
    width: the same order, fewer radix passes), else unchanged.

    >>> narrow(torch.tensor([3, 1]), 4).dtype, narrow(torch.tensor([3, 1]), 2**40).dtype
    (torch.int32, torch.int64)
    """
    return index.to(torch.int32) if bound < 2**31 else index


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
    smallest elements.  On a GPU by pointer jumping (:func:`cycles_by_jumps`:
    ``log2`` of the longest cycle rounds, one synchronisation each); on a CPU
    by walks (:func:`cycles_by_walks`: fewer random reads, which cost more
    than synchronisations there).  The same result either way.

    >>> offsets, members = cycles(torch.tensor([2, 0, 1, 3]))
    >>> offsets.tolist(), members.tolist()
    ([0, 3, 4], [0, 2, 1, 3])
    """
    return cycles_by_walks(succ) if succ.device.type == "cpu" else cycles_by_jumps(succ)


def _layout(starts: torch.Tensor, size: torch.Tensor, n: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Offsets of the cycles starting at ``starts`` (of lengths ``size[starts]``), and the
    offset of each start's cycle at the start (elsewhere -1)."""
    dev = starts.device
    offsets = torch.zeros(len(starts) + 1, dtype=I64, device=dev)
    offsets[1:] = torch.cumsum(take(size, starts), 0)
    first = torch.full((n,), -1, dtype=I64, device=dev)
    first.index_copy_(0, starts, offsets[:-1])
    return offsets, first


def cycles_by_jumps(succ: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """:func:`cycles` by pointer jumping: after round ``r`` every element knows the
    smallest of the ``2**r`` elements it reaches first and how far ahead that one is.

    >>> cycles_by_jumps(torch.tensor([2, 0, 1, 3]))[1].tolist()
    [0, 2, 1, 3]
    """
    n = len(succ)
    dev = succ.device
    every = arange(n, dev)
    low = every  # the smallest of the window of 2**r elements from each element on
    ahead = torch.zeros(n, dtype=I64, device=dev)  # steps from the element to it
    jump = succ  # the element 2**r steps on
    width = 1
    while n:
        other = take(low, jump)
        smaller = other < low  # ties keep the nearer one
        ahead = torch.where(smaller, take(ahead, jump) + width, ahead)
        low = torch.where(smaller, other, low)
        width *= 2
        if bool(torch.equal(take(low, succ), low)):  # every window holds its whole cycle
            break
        if width > 2 * n:
            raise ValueError("cycles: succ is not a permutation")
        jump = take(jump, jump)
    size = bincount(low, n)  # cycle length, at each cycle's smallest element
    offsets, first = _layout((low == every).nonzero().flatten(), size, n)
    length = take(size, low)
    place = take(first, low) + torch.remainder(length - ahead, length)
    members = torch.empty(n, dtype=I64, device=dev)
    members.index_copy_(0, place, every)
    return offsets, members


def cycles_by_walks(succ: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """:func:`cycles` by walks: every element walks forward until it meets a smaller one,
    all at once, so the number of steps is the longest cycle.

    >>> cycles_by_walks(torch.tensor([2, 0, 1, 3]))[1].tolist()
    [0, 2, 1, 3]
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
        # back at the start: the start is the smallest
        size.index_fill_(0, torch.masked_select(cand, cur == cand), step)
        ahead = cur > cand
        cand = torch.masked_select(cand, ahead)
        cur = torch.masked_select(cur, ahead)
        seen_cand.append(cand)
        seen_at.append(cur)
        seen_rank.append(step)
        cur = take(succ, cur)
        step += 1
        if step > n + 1:
            raise ValueError("cycles: succ is not a permutation")
    starts = size.nonzero().flatten()
    offsets, first = _layout(starts, size, n)
    members = torch.empty(n, dtype=I64, device=dev)
    members.index_copy_(0, offsets[:-1], starts)
    if n:
        c = torch.cat(seen_cand)
        at = take(first, c)
        keep = at >= 0
        lengths = torch.tensor([len(x) for x in seen_cand], dtype=I64, device=dev)
        ranks = torch.tensor(seen_rank, dtype=I64, device=dev)
        rank = torch.repeat_interleave(ranks, lengths, output_size=len(c))
        members.index_copy_(
            0, torch.masked_select(at + rank, keep), torch.masked_select(torch.cat(seen_at), keep)
        )
    return offsets, members
