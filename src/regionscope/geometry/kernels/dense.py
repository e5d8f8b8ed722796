"""A chain of Linear and ReLU layers in compiled code: its checks, unit scales, folded
first layers and matrix products, shared by the 1-D and 2-D chain kernels
(:mod:`.line`, :mod:`.chain`).

The layers come as lists: ``weights`` ``(out, in)`` float64 each, ``biases`` (an empty
array where a layer has none: bit ``j`` of ``bias_mask`` says whether layer ``j`` has
one), and ``relu_mask``, whose bit ``j`` says whether a ReLU comes before Linear layer
``j`` (bit ``n_linear``: after the last one).

The sums here are added in their own order (four partial sums in :func:`rows_times`,
the inputs' order in :func:`times`), not NumPy's: the numbers may differ from the
evaluator's in the last bits, which the snapping rule makes harmless (the same
partition, not the same bits).
"""

from __future__ import annotations

import numpy as np

from .common import helper, inline

__all__ = [
    "as_lists",
    "check_chain",
    "chain_scales",
    "largest",
    "relu_span",
    "rows_times",
    "add_bias",
    "times",
    "transposed",
]


@helper
def as_lists(weights, biases, n_linear):
    """The first ``n_linear`` weights and biases of the kernels' tuples, as lists (a tuple
    indexed by a variable is a switch over its places in every function it goes to: the
    lists are made once, and the helpers compiled once for both tuple sizes)."""
    ws = [weights[0]]
    bs = [biases[0]]
    for j in range(1, n_linear):
        ws.append(weights[j])
        bs.append(biases[j])
    return ws, bs


@helper
def relu_span(relu_mask, n_linear):
    """``(first, last)``: the places of the first and the last ReLU (``relu_mask`` not 0)."""
    first = 0
    while not (relu_mask >> first) & 1:
        first += 1
    last = first
    for j in range(first, n_linear + 1):
        if (relu_mask >> j) & 1:
            last = j
    return first, last


@helper
def check_chain(weights, biases, n_linear, bias_mask, dim):
    """Whether the weights ``(out, in)`` follow one another from inputs of width ``dim``,
    and each bias has its layer's width."""
    width = dim
    for j in range(n_linear):
        w = weights[j]
        if w.shape[1] != width or w.shape[0] == 0:
            return False
        width = w.shape[0]
        if (bias_mask >> j) & 1 and len(biases[j]) != width:
            return False
    return True


@helper
def largest(m, rtol):
    """``rtol * max(0, m[0], m[1], ...)`` per unit (column of ``m (K, n)``), NaN kept
    (``np.maximum.reduce`` with ``initial=0.0`` over the rows, as the evaluator's
    scales)."""
    out = np.empty(m.shape[1])
    for u in range(m.shape[1]):
        s = 0.0
        for r in range(m.shape[0]):
            v = m[r, u]
            if v != v or v > s:
                s = v
        out[u] = rtol * s
    return out


#: :func:`times` skips zero inputs of a row that is not a ReLU's for outputs wider than
#: this; narrower rows cost more in the test than in the products it saves (32 outputs:
#: 1.5-1.8x faster without)
SKIP_ZEROS_ABOVE = 64


@helper
def times(x, wt, relu):
    """The rows of ``x (n, in)`` (``max(x, 0)`` with ``relu``) times the ``(in, out)`` matrix
    ``wt`` (flat): each sum's terms added in the order of the inputs, ``(n, out)``.

    Zero inputs are left out of a ReLU's rows (each row's positive inputs are listed
    first, without a branch: 1.2-1.6x faster than adding about half the products as
    zeros), and out of wide rows; adding their products, ``+-0.0``, changes no sum (a sum
    is never ``-0.0``: it starts at ``+0.0``), so either way gives the same bits.
    """
    n, width = x.shape
    out = len(wt) // width
    y = np.zeros((n, out))
    if relu:
        positive = np.empty(width, dtype=np.int64)
        for r in range(n):
            xr = x[r]
            m = 0
            for k in range(width):
                positive[m] = k
                m += xr[k] > 0.0
            yr = y[r]
            for i in range(m):
                k = positive[i]
                v = xr[k]
                w = wt[k * out : (k + 1) * out]
                for o in range(out):
                    yr[o] += v * w[o]
        return y
    skip = out > SKIP_ZEROS_ABOVE
    for r in range(n):
        for k in range(width):
            v = x[r, k]
            if v != 0.0 or not skip:
                base = k * out
                for o in range(out):
                    y[r, o] += v * wt[base + o]
    return y


@helper
def add_bias(x, b):
    """``x += b`` on every row of ``x (n, out)``, in place (a Linear layer's bias after
    :func:`times`)."""
    for r in range(x.shape[0]):
        for o in range(len(b)):
            x[r, o] += b[o]


@helper
def transposed(w):
    """``w.T`` of an ``(out, in)`` matrix, flat (the ``(in, out)`` rows :func:`times`
    reads)."""
    out, width = w.shape
    wt = np.empty(out * width)
    for o in range(out):
        for k in range(width):
            wt[k * out + o] = w[o, k]
    return wt


@inline
def _dot(a, w, absolute):
    """``a @ w`` (``a @ |w|`` with ``absolute``) in four partial sums (``k`` modulo 4)."""
    n = len(a)
    s0 = 0.0
    s1 = 0.0
    s2 = 0.0
    s3 = 0.0
    k = 0
    while k + 4 <= n:
        if absolute:
            s0 += a[k] * abs(w[k])
            s1 += a[k + 1] * abs(w[k + 1])
            s2 += a[k + 2] * abs(w[k + 2])
            s3 += a[k + 3] * abs(w[k + 3])
        else:
            s0 += a[k] * w[k]
            s1 += a[k + 1] * w[k + 1]
            s2 += a[k + 2] * w[k + 2]
            s3 += a[k + 3] * w[k + 3]
        k += 4
    while k < n:
        s0 += a[k] * (abs(w[k]) if absolute else w[k])
        k += 1
    return (s0 + s1) + (s2 + s3)


@helper
def rows_times(x, w, absolute):
    """The rows of ``x (K, in)`` times ``w.T`` (``|w|.T`` with ``absolute``), ``w`` being
    ``(out, in)``: ``(K, out)``."""
    out = w.shape[0]
    y = np.empty((x.shape[0], out))
    for o in range(out):
        for r in range(x.shape[0]):
            y[r, o] = _dot(x[r], w[o], absolute)
    return y


@helper
def chain_scales(weights, biases, n_linear, relu_mask, bias_mask, corners, lift_lin, lift_off,
                 rtol):  # fmt: skip
    """The unit tolerances of every ReLU (one after the other), the output tolerances, and
    the folded map of the lift and the Linear layers before the first ReLU: ``(tols,
    out_tol, fold)``, ``fold (dim + 1, width)`` holding the map's ``dim`` rows, then its
    offset.

    The magnitudes are the evaluator's (:meth:`Layer.magnitude
    <regionscope.network.layers.Layer.magnitude>`) at the ``corners (K, dim)`` of the
    domain (the points whose magnitudes give the scales), lifted by ``u -> u @ lift_lin
    + lift_off`` (``(dim, D)``, ``(D,)``): ``|u| @ |lift_lin| + |lift_off|``, then ``m @
    |W|.T + |b|`` through every Linear layer, unchanged through a ReLU.
    """
    k_rows, dim = corners.shape
    width = len(lift_off)
    m = np.empty((k_rows, width))
    for r in range(k_rows):
        for k in range(width):
            acc = abs(corners[r, 0]) * abs(lift_lin[0, k])
            for j in range(1, dim):
                acc += abs(corners[r, j]) * abs(lift_lin[j, k])
            m[r, k] = acc + abs(lift_off[k])
    fold = np.empty((dim + 1, width))
    fold[:dim] = lift_lin
    fold[dim] = lift_off
    n_tol = width if relu_mask & 1 else 0
    for j in range(n_linear):
        n_tol += weights[j].shape[0] if (relu_mask >> (j + 1)) & 1 else 0
    tols = np.empty(n_tol)
    t = 0
    for j in range(n_linear + 1):
        if (relu_mask >> j) & 1:
            tols[t : t + m.shape[1]] = largest(m, rtol)
            t += m.shape[1]
        if j == n_linear:
            break
        w = weights[j]
        m = rows_times(m, w, True)
        folded = (relu_mask & ((1 << (j + 1)) - 1)) == 0  # no ReLU yet
        if folded:
            fold = rows_times(fold, w, False)
        if (bias_mask >> j) & 1:
            b = biases[j]
            for o in range(w.shape[0]):
                for r in range(k_rows):
                    m[r, o] += abs(b[o])
                if folded:
                    fold[dim, o] += b[o]
    return tols, largest(m, rtol), fold
