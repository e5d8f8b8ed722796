"""Layer builders: each adds the regionscope layers computing one traced node.

Shared by the handlers of torch modules (:mod:`.modules`), functions
(:mod:`.functions`) and tensor methods (:mod:`.methods`), which find the
arguments; a builder checks what the layer needs (shapes, constants) and
raises the converter's ``TypeError`` naming the node when it cannot convert.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from regionscope.network.conv import (
    AdaptiveAvgPool,
    AvgPool,
    AxisLinear,
    ChannelAffine,
    Conv,
    ElementwiseAffine,
    PReLU,
    Reshape,
    maxpool_groups,
)
from regionscope.network.layers import (
    Add,
    Concat,
    HardTanh,
    Layer,
    LeakyReLU,
    Linear,
    MaxPool,
    ReLU,
)

from .maxima import adaptive_max_groups, axes_max_groups

if TYPE_CHECKING:
    from .converter import Converter

__all__ = [
    "activation",
    "adaptive_avgpool",
    "adaptive_maxpool",
    "affine_const",
    "arith",
    "avgpool",
    "batchnorm",
    "cat",
    "clamp",
    "convolution",
    "linear",
    "max_over_axes",
    "maxpool",
    "mean",
    "prelu",
    "reshape",
]


def _in_shape(c: Converter, node: Any, arg: Any) -> tuple[int, ...]:
    return c.sample_shape[c.data(node, arg)]


def _pool_shape(shape: tuple[int, ...], d: int) -> tuple[int, ...]:
    """Unbatched-style inputs (no channel axis) pool as one channel."""
    return (1, *shape) if len(shape) == d else shape


def _check_pool_rank(c: Converter, node: Any, shape: tuple[int, ...], d: int) -> None:
    if len(shape) != d + 1:
        raise c.fail(node, f"it expects {d} spatial axes, got a sample of shape {shape}")


def linear(c: Converter, node: Any, x: Any, weight: Any, bias: Any) -> None:
    """``x @ weight.T + bias`` on samples with one axis."""
    shape = _in_shape(c, node, x)
    if len(shape) != 1:
        raise c.fail(
            node,
            f"a linear layer on samples of shape {shape} (more than one axis) is not supported;"
            " flatten first",
        )
    try:
        layer = Linear(weight, bias)
        layer.out_width(shape[0])
    except ValueError as exc:
        raise c.fail(node, str(exc)) from None
    c.emit(node, layer, [x])


def convolution(c: Converter, node: Any, x: Any, w: Any, b: Any, **kw: Any) -> None:
    """A zero-padded convolution (``kw``: stride, padding, dilation, groups)."""
    shape = _in_shape(c, node, x)
    try:
        layer = Conv(w, b, in_shape=shape, **kw)
    except (TypeError, ValueError) as exc:
        raise c.fail(node, str(exc)) from None
    c.emit(node, layer, [x])


def batchnorm(
    c: Converter, node: Any, x: Any, mean: Any, var: Any, weight: Any, bias: Any, eps: Any
) -> None:
    """Batch-norm with running statistics, folded into a per-channel affine map."""
    if mean is None or var is None:
        raise c.fail(
            node,
            "it normalizes with batch statistics (no running statistics: "
            "track_running_stats=False), which depend on the batch",
        )
    shape = _in_shape(c, node, x)
    try:
        layer = ChannelAffine.from_batchnorm(mean, var, weight, bias, float(eps), in_shape=shape)
    except ValueError as exc:
        raise c.fail(node, str(exc)) from None
    c.emit(node, layer, [x])


def maxpool(
    c: Converter, node: Any, x: Any, d: int, kernel: Any, stride: Any, padding: Any,
    dilation: Any, ceil_mode: Any, return_indices: Any,
) -> None:  # fmt: skip
    """Windowed max-pooling over ``d`` spatial axes."""
    if return_indices:
        raise c.fail(node, "max-pooling with return_indices=True is not supported")
    shape = _pool_shape(_in_shape(c, node, x), d)
    _check_pool_rank(c, node, shape, d)
    try:
        groups = maxpool_groups(shape, kernel, stride or None, padding, dilation, bool(ceil_mode))
    except (TypeError, ValueError) as exc:
        raise c.fail(node, str(exc)) from None
    c.emit(node, MaxPool(groups), [x])


def avgpool(
    c: Converter, node: Any, x: Any, d: int, kernel: Any, stride: Any, padding: Any,
    ceil_mode: Any, count_include_pad: Any, divisor_override: Any,
) -> None:  # fmt: skip
    """Average pooling over ``d`` spatial axes."""
    shape = _pool_shape(_in_shape(c, node, x), d)
    _check_pool_rank(c, node, shape, d)
    try:
        layer = AvgPool(
            shape, kernel, stride or None, padding, bool(ceil_mode), bool(count_include_pad),
            divisor_override,
        )  # fmt: skip
    except (TypeError, ValueError) as exc:
        raise c.fail(node, str(exc)) from None
    c.emit(node, layer, [x])


def adaptive_avgpool(c: Converter, node: Any, x: Any, d: int, output_size: Any) -> None:
    """Adaptive average pooling over ``d`` spatial axes."""
    shape = _pool_shape(_in_shape(c, node, x), d)
    _check_pool_rank(c, node, shape, d)
    try:
        layer = AdaptiveAvgPool(shape, output_size)
    except (TypeError, ValueError) as exc:
        raise c.fail(node, str(exc)) from None
    c.emit(node, layer, [x])


def adaptive_maxpool(c: Converter, node: Any, x: Any, d: int, output_size: Any) -> None:
    """Adaptive max-pooling over ``d`` spatial axes (any output size: torch's windows)."""
    shape = _pool_shape(_in_shape(c, node, x), d)
    _check_pool_rank(c, node, shape, d)
    try:
        groups = adaptive_max_groups(shape, output_size)
    except (TypeError, ValueError) as exc:
        raise c.fail(node, f"adaptive max-pooling: {exc}") from None
    c.emit(node, MaxPool(groups), [x])


def max_over_axes(c: Converter, node: Any, x: Any, dim: Any, what: str) -> None:
    """The maximum over axes ``dim`` of a sample (``torch.amax``, ``torch.max(x, dim)``).

    ``node`` is the node whose value is the maximum (with or without
    ``keepdim``: the flat order is the same); ``what`` names the call in errors.
    """
    shape = _in_shape(c, node, x)
    ndim = len(shape) + 1
    dims = [dim] if isinstance(dim, (int, np.integer)) else list(dim or ())
    if not dims or not all(isinstance(a, (int, np.integer)) for a in dims):
        raise c.fail(
            node,
            f"{what} needs dim= as an int or a tuple of ints (axes of a sample); without it"
            " the maximum includes the batch axis",
        )
    if any(not -ndim <= a < ndim for a in dims):
        raise c.fail(node, f"{what}: dim={dim!r} is out of range for tensors with {ndim} axes")
    axes = sorted({int(a) % ndim for a in dims})
    if 0 in axes:
        raise c.fail(node, f"{what} over the batch axis (dim 0) mixes samples")
    groups = axes_max_groups(shape, [a - 1 for a in axes])
    c.emit(node, MaxPool(groups), [x])


def reshape(c: Converter, node: Any, x: Any) -> None:
    """Any change of a sample's shape (the new shape is the recorded one)."""
    layer = Reshape(_in_shape(c, node, x), c.sample_shape[node])
    c.emit(node, layer, [x])


def activation(c: Converter, node: Any, x: Any, layer: Layer) -> None:
    """An elementwise layer (ReLU, LeakyReLU, HardTanh, Identity) on ``x``."""
    c.data(node, x)
    c.emit(node, layer, [x])


def prelu(c: Converter, node: Any, x: Any, weight: Any) -> None:
    """PReLU with one slope, or one per channel."""
    shape = _in_shape(c, node, x)
    w = np.asarray(weight, dtype=np.float64).reshape(-1)
    try:
        layer: Layer = LeakyReLU(float(w[0])) if w.size == 1 else PReLU(w, in_shape=shape)
    except ValueError as exc:
        raise c.fail(node, str(exc)) from None
    c.emit(node, layer, [x])


def mean(c: Converter, node: Any, x: Any, dim: Any, keepdim: Any, dtype: Any) -> None:
    """A mean over axes of a sample (never the batch axis)."""
    shape = _in_shape(c, node, x)
    if dim is None or dtype is not None:
        raise c.fail(node, "mean needs dim= (axes of a sample, not the batch), and no dtype")
    dims = [dim] if isinstance(dim, int) else list(dim)
    ndim = len(shape) + 1
    axes = {d % ndim for d in dims}
    if 0 in axes:
        raise c.fail(node, "a mean over the batch axis mixes samples")
    mats = [np.full((1, n), 1.0 / n) if a + 1 in axes else None for a, n in enumerate(shape)]
    c.emit(node, AxisLinear(mats, in_shape=shape), [x])


def affine_const(c: Converter, node: Any, x: Any, scale: Any = 1.0, shift: Any = 0.0) -> None:
    """``scale * x + shift`` with constants that do not broadcast the sample shape."""
    shape = c.sample_shape[x]
    if c.sample_shape[node] != shape:
        raise c.fail(
            node,
            f"a constant of shape {np.shape(scale if np.ndim(scale) else shift)} broadcasts the"
            f" sample shape {shape} to {c.sample_shape[node]}",
        )
    pieces = []
    for value in (scale, shift):
        v = np.asarray(value, dtype=np.float64)
        if v.ndim == len(shape) + 1:
            if v.shape[0] != 1:
                raise c.fail(node, f"a constant of shape {v.shape} differs across the batch")
            v = v[0]
        pieces.append(v)
    try:
        layer = ElementwiseAffine(pieces[0], pieces[1], in_shape=shape)
    except ValueError as exc:
        raise c.fail(node, str(exc)) from None
    c.emit(node, layer, [x])


def arith(c: Converter, node: Any, op: str, a: Any, b: Any, alpha: Any = 1) -> None:
    """``a op alpha * b`` for op in add, sub, mul, div (a or b may be constant)."""
    a_data, b_data = c.is_data(a), c.is_data(b)
    if a_data and b_data:
        if op not in ("add", "sub"):
            raise c.fail(
                node, "a product or quotient of two tensors computed from the input is not"
                " piecewise linear",
            )  # fmt: skip
        out = c.sample_shape[node]
        if c.sample_shape[a] != out or c.sample_shape[b] != out:
            raise c.fail(
                node,
                f"adding samples of shapes {c.sample_shape[a]} and {c.sample_shape[b]} "
                "(broadcasting between two computed tensors is not supported)",
            )
        coef = float(c.const(node, alpha)) * (-1.0 if op == "sub" else 1.0)
        b_in = b
        if coef != 1.0:
            scale = ElementwiseAffine(coef, in_shape=out)
            b_in = c.emit_named(f"{c.base_name(node)}.scale", scale, [b])
        c.emit(node, Add(), [a, b_in])
        return
    if not (a_data or b_data):
        raise c.fail(node, "internal: no operand depends on the input")
    alpha_v = float(c.const(node, alpha))
    if a_data:
        k = alpha_v * c.const(node, b)
        if op == "add":
            return affine_const(c, node, a, 1.0, k)
        if op == "sub":
            return affine_const(c, node, a, 1.0, -k)
        if op == "mul":
            return affine_const(c, node, a, k, 0.0)
        if np.any(np.asarray(k) == 0):
            raise c.fail(node, "division by a constant that is zero")
        return affine_const(c, node, a, 1.0 / np.asarray(k, dtype=np.float64), 0.0)
    k = c.const(node, a)
    if op == "add":
        return affine_const(c, node, b, alpha_v, k)
    if op == "sub":
        return affine_const(c, node, b, -alpha_v, k)
    if op == "mul":
        return affine_const(c, node, b, alpha_v * np.asarray(k, dtype=np.float64), 0.0)
    raise c.fail(node, "division by a tensor computed from the input is not piecewise linear")


def cat(c: Converter, node: Any, tensors: Any, dim: Any) -> None:
    """Concatenation along the channel axis."""
    tensors = list(tensors)
    for t in tensors:
        c.data(node, t, "every concatenated tensor")
    ndim = len(c.sample_shape[node]) + 1
    d = int(c.const(node, dim)) % ndim
    if d != 1:
        raise c.fail(
            node,
            f"concatenation along axis {dim} of tensors with {ndim} axes: only the channel axis"
            " (dim=1) is supported",
        )
    if len(tensors) == 1:
        c.alias(node, tensors[0])
        return
    c.emit(node, Concat(), tensors)


def _bound(c: Converter, node: Any, value: Any, name: str) -> float | None:
    v = c.const(node, value)
    if v is None:
        return None
    arr = np.asarray(v, dtype=np.float64)
    if arr.size != 1:
        raise c.fail(node, f"clamp with a tensor {name}= of shape {arr.shape} is not supported")
    return float(arr.reshape(()))


def clamp(c: Converter, node: Any, x: Any, low: Any, high: Any) -> None:
    """``clamp(x, low, high)`` with constant numbers as bounds (either may be None).

    Both bounds make a HardTanh; ``min=0`` alone a ReLU; one other bound a
    ReLU between two affine maps (``max(x, a) = relu(x - a) + a`` and
    ``min(x, b) = b - relu(b - x)``).
    """
    shape = _in_shape(c, node, x)
    lo, hi = _bound(c, node, low, "min"), _bound(c, node, high, "max")
    if lo is None and hi is None:
        raise c.fail(node, "clamp needs min= or max=")
    if lo is not None and hi is not None:
        if not lo < hi:
            raise c.fail(node, f"clamp with min={lo} >= max={hi} is constant")
        c.emit(node, HardTanh(lo, hi), [x])
        return
    if lo == 0.0:
        c.emit(node, ReLU(), [x])
        return
    sign, bound = (1.0, lo) if lo is not None else (-1.0, hi)
    base = c.base_name(node)
    shift = ElementwiseAffine(sign, -sign * bound, in_shape=shape)
    shifted = c.emit_named(f"{base}.shift", shift, [x])
    cut = c.emit_named(f"{base}.relu", ReLU(), [shifted])
    c.emit(node, ElementwiseAffine(sign, bound, in_shape=shape), [cut])
