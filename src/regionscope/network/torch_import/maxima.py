"""Groups of inputs for torch's maxima over axes and adaptive max-pooling.

``torch.amax(x, dim)``, ``torch.max(x, dim).values``, ``nn.AdaptiveMaxPool2d``
and their relatives are maxima over groups of a sample's entries, so each
becomes one :class:`~regionscope.network.layers.MaxPool`.  The functions here
give those groups as flat indices of one sample (C-major, as the converted
network's flat inputs), one row per output entry, in the output's own flat
order.  Pure NumPy: no torch needed.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["adaptive_max_groups", "adaptive_windows", "axes_max_groups"]


def axes_max_groups(in_shape: Sequence[int], axes: Sequence[int]) -> np.ndarray:
    """Groups of the maximum over the sample axes ``axes`` (``torch.amax``).

    Parameters
    ----------
    in_shape : tuple of int
        Shape of one sample (no batch axis).
    axes : sequence of int
        Sample axes reduced (``0 <= axis < len(in_shape)``, distinct).

    Returns
    -------
    groups : (G, k) intp
        ``G`` is the product of the kept axes' lengths and ``k`` that of the
        reduced ones; row ``g`` lists the entries whose maximum is output
        entry ``g`` (output order: the kept axes, C-major, with or without
        ``keepdim``, which does not change the flat order).

    Raises
    ------
    ValueError
        An axis out of range or repeated, or no axis.

    Examples
    --------
    >>> axes_max_groups((2, 2, 3), [1, 2])  # global max-pooling of 2 channels
    array([[ 0,  1,  2,  3,  4,  5],
           [ 6,  7,  8,  9, 10, 11]])
    >>> axes_max_groups((2, 3), [0])  # maximum over channels
    array([[0, 3],
           [1, 4],
           [2, 5]])
    """
    shape = tuple(int(s) for s in in_shape)
    reduced = [int(a) for a in axes]
    if not reduced or len(set(reduced)) != len(reduced):
        raise ValueError(f"axes must be distinct sample axes, at least one, got {list(axes)}")
    if min(reduced) < 0 or max(reduced) >= len(shape):
        raise ValueError(f"axes {reduced} out of range for a sample of shape {shape}")
    kept = [a for a in range(len(shape)) if a not in reduced]
    k = math.prod(shape[a] for a in reduced)
    index = np.arange(math.prod(shape), dtype=np.intp).reshape(shape)
    return np.ascontiguousarray(index.transpose(kept + sorted(reduced)).reshape(-1, k))


def adaptive_windows(size: int, out: int) -> tuple[np.ndarray, np.ndarray]:
    """PyTorch's adaptive windows ``[floor(i size / out), ceil((i + 1) size / out))``.

    Parameters
    ----------
    size : int
        Length of the pooled axis.
    out : int
        Number of windows.

    Returns
    -------
    start, stop : (out,) int
        Window ``i`` covers ``start[i] <= j < stop[i]`` (windows may overlap).

    Examples
    --------
    >>> adaptive_windows(5, 3)
    (array([0, 1, 3]), array([2, 4, 5]))
    """
    i = np.arange(out)
    return (i * size) // out, -((-(i + 1) * size) // out)


def _output_sizes(shape: tuple[int, ...], output_size: Any) -> list[int]:
    d = len(shape) - 1
    if output_size is None or isinstance(output_size, (int, np.integer)):
        sizes = [output_size] * d
    else:
        sizes = list(output_size)
        if len(sizes) != d:
            raise ValueError(f"output_size must have {d} entries, got {output_size!r}")
    out = [shape[1 + i] if m is None else int(m) for i, m in enumerate(sizes)]
    if min(out) < 1:
        raise ValueError(f"output sizes must be >= 1, got {output_size!r}")
    return out


def adaptive_max_groups(in_shape: Sequence[int], output_size: Any) -> np.ndarray:
    """Groups of adaptive max-pooling (``nn.AdaptiveMaxPool1d/2d``) to ``output_size``.

    Parameters
    ----------
    in_shape : tuple of int
        ``(C, *spatial)`` of one sample.
    output_size : int, None or tuple of (int or None)
        As in torch: one size for every spatial axis or one per axis; None
        keeps an axis's length.  Any size is allowed: windows follow
        :func:`adaptive_windows`, so they may differ in length and overlap.

    Returns
    -------
    groups : (C * prod(out), k) intp
        Flat input indices of each window, output order (channel, then
        spatial C-major); shorter windows are padded with -1 at the end.

    Raises
    ------
    ValueError
        ``in_shape`` without a spatial axis, or bad ``output_size``.

    Examples
    --------
    >>> adaptive_max_groups((1, 4), 2)
    array([[0, 1],
           [2, 3]])
    >>> adaptive_max_groups((1, 5), 3)
    array([[ 0,  1, -1],
           [ 1,  2,  3],
           [ 3,  4, -1]])
    """
    shape = tuple(int(s) for s in in_shape)
    if len(shape) < 2:
        raise ValueError(f"adaptive max-pooling needs (C, *spatial), got a sample of {shape}")
    sizes = _output_sizes(shape, output_size)
    d = len(sizes)
    # per axis: (out_i, w_i) positions of every window, -1 past a shorter window's end
    positions = []
    for i, m in enumerate(sizes):
        start, stop = adaptive_windows(shape[1 + i], m)
        width = int((stop - start).max())
        pos = start[:, None] + np.arange(width)
        positions.append(np.where(pos < stop[:, None], pos, -1))
    flat = np.zeros((*sizes, *(p.shape[1] for p in positions)), dtype=np.intp)
    valid = np.ones(flat.shape, dtype=bool)
    stride = 1
    for i in reversed(range(d)):
        view = [1] * (2 * d)
        view[i], view[d + i] = positions[i].shape
        pos = positions[i].reshape(view)
        flat = flat + pos * stride
        valid = valid & (pos >= 0)
        stride *= shape[1 + i]
    n_win = math.prod(sizes)
    flat, valid = flat.reshape(n_win, -1), valid.reshape(n_win, -1)
    order = np.argsort(~valid, axis=1, kind="stable")  # each window's entries first
    flat = np.take_along_axis(flat, order, axis=1)
    valid = np.take_along_axis(valid, order, axis=1)
    width = int(valid.sum(axis=1).max())
    flat, valid = flat[:, :width], valid[:, :width]
    table = flat[None] + (np.arange(shape[0]) * stride)[:, None, None]
    table = np.where(valid[None], table, -1)
    return table.reshape(shape[0] * n_win, width).astype(np.intp)
