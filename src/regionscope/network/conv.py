"""Convolutions, pooling and per-channel affine maps as layers on flat batches.

Every layer here maps flat inputs ``(N, prod(in_shape))`` to flat outputs
``(N, prod(out_shape))``; a sample is stored in C-major order, exactly as
``tensor.reshape(N, -1)`` stores a PyTorch tensor of shape ``(N, *in_shape)``
(``in_shape = (C, L)`` for 1-D signals, ``(C, H, W)`` for images).  The
affine layers (:class:`Conv`, :class:`ChannelAffine`,
:class:`ElementwiseAffine`, :class:`AvgPool`, :class:`AdaptiveAvgPool`,
:class:`AxisLinear`, :class:`Reshape`) are applied with NumPy operations on
the batch, processed in chunks so that memory stays bounded; they are never
expanded into dense matrices.  :class:`PReLU` is a piecewise layer, and
:func:`maxpool_groups` turns windowed max-pooling into the groups of a
:class:`regionscope.layers.MaxPool`.

Examples
--------
>>> import numpy as np
>>> from regionscope.network.conv import Conv, maxpool_groups
>>> conv = Conv(np.ones((1, 1, 2, 2)), in_shape=(1, 3, 3))   # 2x2 box sum
>>> conv.out_shape
(1, 2, 2)
>>> conv.forward(np.arange(9.0)[None])
array([[ 8., 12., 20., 24.]])
>>> maxpool_groups((1, 2, 4), kernel=2)   # 2x2 windows of a 2x4 image
array([[0, 1, 4, 5],
       [2, 3, 6, 7]])
"""

from __future__ import annotations

import math
import sys
from collections.abc import Sequence
from typing import Any

import numpy as np

from regionscope.backends import torch_installed
from regionscope.checks import as_weights
from regionscope.tolerances import get_budget

from .layers import Layer, ReLU

#: convolutions run with torch's own kernels (float64, CPU) wherever torch is installed
#: (imported on the first convolution), so that a network's values, and its partition's
#: vertices, do not depend on whether torch was imported first; ``False`` keeps the NumPy
#: reference everywhere
TORCH_KERNELS = True


def _conv_torch() -> Any:
    """The torch module that runs the convolutions (:data:`TORCH_KERNELS`), or None for
    NumPy's: torch wherever it is installed, imported here on first use."""
    if not TORCH_KERNELS:
        return None
    torch = sys.modules.get("torch")
    if torch is None and torch_installed():
        import torch
    return torch


def _tensor(torch: Any, arr: np.ndarray) -> Any:
    """A float64 torch tensor sharing ``arr``'s memory (a copy where it is read-only)."""
    a = np.ascontiguousarray(arr, dtype=np.float64)
    return torch.from_numpy(a if a.flags.writeable else a.copy())


def _shape(shape: Any, name: str) -> tuple[int, ...]:
    try:
        out = tuple(int(s) for s in shape)
    except TypeError:
        out = (int(shape),)
    if not out or min(out) < 1:
        raise ValueError(f"{name} must be a non-empty tuple of positive sizes, got {shape!r}")
    return out


def _window(
    in_shape: Any, kernel: Any, stride: Any, padding: Any, name: str
) -> tuple[tuple[int, ...], int, tuple[int, ...], tuple[int, ...], tuple[int, ...]]:
    """Check a pooling window: ``(in_shape, spatial dims, kernel, stride, padding)``.

    The stride defaults to the kernel; padding may be at most half the kernel.
    """
    shape = _shape(in_shape, f"{name} in_shape")
    d = len(shape) - 1
    if d < 1:
        raise ValueError(f"{name} in_shape must be (C, *spatial), got {shape}")
    k = _tuple(kernel, d, f"{name} kernel", 1)
    st = k if stride is None else _tuple(stride, d, f"{name} stride", 1)
    pad = _tuple(padding, d, f"{name} padding", 0)
    if any(2 * p > kk for p, kk in zip(pad, k, strict=True)):
        raise ValueError(f"{name} padding {pad} must be at most half the kernel {k}")
    return shape, d, k, st, pad


def _tuple(value: Any, d: int, name: str, minimum: int) -> tuple[int, ...]:
    """Expand an int or a length-``d`` sequence of ints to a ``d``-tuple."""
    if isinstance(value, (int, np.integer)):
        out = (int(value),) * d
    else:
        try:
            out = tuple(int(v) for v in value)
        except TypeError:
            raise TypeError(
                f"{name} must be an int or a sequence of {d} ints, got {value!r}"
            ) from None
        if len(out) == 1:
            out = out * d
        if len(out) != d:
            raise ValueError(f"{name} must have {d} entries (one per spatial axis), got {value!r}")
    if min(out) < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value!r}")
    return out


def pool_output_size(
    size: int, kernel: int, stride: int, pad: int, dilation: int = 1, ceil_mode: bool = False
) -> int:
    """Output length of a pooling window sliding over ``size`` inputs, as in PyTorch.

    Examples
    --------
    >>> pool_output_size(5, 2, 2, 0), pool_output_size(5, 2, 2, 0, ceil_mode=True)
    (2, 3)
    """
    span = size + 2 * pad - dilation * (kernel - 1) - 1 + (stride - 1 if ceil_mode else 0)
    out = span // stride + 1
    if ceil_mode and (out - 1) * stride >= size + pad:
        out -= 1  # the last window would start in the right padding
    return int(out)


class ShapedLayer(Layer):
    """A layer that knows the shape of one sample of its input and output.

    Attributes
    ----------
    in_shape, out_shape : tuple of int
        Shapes of one sample (channels first); widths are their products.
    """

    in_shape: tuple[int, ...]
    out_shape: tuple[int, ...]

    @property
    def in_size(self) -> int:
        """``prod(in_shape)``: the input width."""
        return math.prod(self.in_shape)

    @property
    def out_size(self) -> int:
        """``prod(out_shape)``: the output width."""
        return math.prod(self.out_shape)

    def out_width(self, in_width: int) -> int:
        if in_width != self.in_size:
            raise ValueError(
                f"{type(self).__name__} expects inputs of shape {self.in_shape} (width "
                f"{self.in_size}), got width {in_width}"
            )
        return self.out_size

    def _check(self, x: np.ndarray) -> None:
        if x.ndim != 2 or x.shape[1] != self.in_size:
            raise ValueError(
                f"{type(self).__name__} expects a flat batch (N, {self.in_size}) of inputs of "
                f"shape {self.in_shape}, got an array of shape {x.shape}"
            )


class Conv(ShapedLayer):
    """A 1-D, 2-D or 3-D convolution (cross-correlation), as ``torch.nn.Conv2d``.

    Parameters
    ----------
    weight : array_like, shape (C_out, C_in / groups, *kernel)
    bias : array_like, shape (C_out,), optional
    in_shape : tuple of int
        ``(C_in, *spatial)`` of one input sample.
    stride, dilation : int or tuple of int
    padding : int, tuple of int, ``"same"`` or ``"valid"``
        Zeros added on both sides of each spatial axis (``"same"`` keeps the
        size, adding the odd extra zero on the right as PyTorch does, and needs
        stride 1).
    groups : int

    Examples
    --------
    >>> import numpy as np
    >>> conv = Conv([[[1.0, -1.0]]], [0.5], in_shape=(1, 4), padding="same")  # 1-D
    >>> conv.out_shape, conv.forward(np.array([[1.0, 2.0, 4.0, 8.0]]))
    ((1, 4), array([[-0.5, -1.5, -3.5,  8.5]]))
    """

    def __init__(
        self,
        weight: Any,
        bias: Any = None,
        *,
        in_shape: Sequence[int],
        stride: Any = 1,
        padding: Any = 0,
        dilation: Any = 1,
        groups: int = 1,
    ) -> None:
        w = as_weights(weight, "Conv weight")
        if w.ndim < 3 or 0 in w.shape:
            raise ValueError(
                f"Conv weight must have shape (C_out, C_in / groups, *kernel), got {w.shape}"
            )
        d = w.ndim - 2
        self.in_shape = _shape(in_shape, "Conv in_shape")
        if len(self.in_shape) != d + 1:
            raise ValueError(
                f"Conv with a {d}-D kernel {w.shape} needs in_shape (C_in, {d} spatial sizes), "
                f"got {self.in_shape}"
            )
        groups = int(groups)
        c_in, c_out = self.in_shape[0], w.shape[0]
        if groups < 1 or c_in % groups or c_out % groups:
            raise ValueError(
                f"Conv groups={groups} must divide both C_in={c_in} and C_out={c_out}"
            )
        if w.shape[1] * groups != c_in:
            raise ValueError(
                f"Conv weight {w.shape} takes {w.shape[1]} channels per group, but in_shape "
                f"{self.in_shape} with groups={groups} has {c_in // groups}"
            )
        self.weight = w
        self.kernel = tuple(int(k) for k in w.shape[2:])
        self.stride = _tuple(stride, d, "Conv stride", 1)
        self.dilation = _tuple(dilation, d, "Conv dilation", 1)
        self.groups = groups
        if isinstance(padding, str):
            if padding == "valid":
                pads = ((0, 0),) * d
            elif padding == "same":
                if self.stride != (1,) * d:
                    raise ValueError(f"Conv padding='same' needs stride 1, got {self.stride}")
                totals = [dl * (k - 1) for dl, k in zip(self.dilation, self.kernel, strict=True)]
                pads = tuple((t // 2, t - t // 2) for t in totals)
            else:
                raise ValueError(f"Conv padding must be 'same', 'valid' or ints, got {padding!r}")
        else:
            pads = tuple((p, p) for p in _tuple(padding, d, "Conv padding", 0))
        self.pads = pads
        if bias is None:
            self.bias = None
        else:
            b = as_weights(bias, "Conv bias")
            if b.shape != (c_out,):
                raise ValueError(f"Conv bias must have shape ({c_out},), got {b.shape}")
            self.bias = b
        out_sp = []
        for i in range(d):
            span = self.in_shape[1 + i] + sum(pads[i]) - self.dilation[i] * (self.kernel[i] - 1)
            if span < 1:
                raise ValueError(
                    f"Conv kernel {self.kernel} (dilation {self.dilation}) is larger than the "
                    f"padded input {self.in_shape[1:]} (padding {pads})"
                )
            out_sp.append((span - 1) // self.stride[i] + 1)
        self.out_shape = (int(c_out), *out_sp)

    def forward(self, x: np.ndarray) -> np.ndarray:
        return self._correlate(x, self.bias)

    def forward_into(self, x: np.ndarray, out: np.ndarray) -> np.ndarray:
        """:meth:`forward` written into ``out (N, out_size)`` float64 (C-contiguous rows),
        the same values, without a table of its own; returns ``out``."""
        self._check(x)
        torch = _conv_torch()
        if torch is not None and len(self.kernel) <= 3:
            return self._correlate_torch(torch, x, self.bias, out)
        out[...] = self._correlate_numpy(x, self.bias)
        return out

    def forward_linear(self, x: np.ndarray) -> np.ndarray:
        """The convolution without its bias: ``(N, in_size)`` to ``(N, out_size)`` float64."""
        return self._correlate(x, None)

    def _correlate(self, x: np.ndarray, bias: np.ndarray | None) -> np.ndarray:
        """The convolution of a flat batch, plus ``bias`` per output channel if given: with
        torch's kernels in float64 where torch is installed (:data:`TORCH_KERNELS`), else
        with NumPy (the reference)."""
        self._check(x)
        torch = _conv_torch()
        if torch is not None and len(self.kernel) <= 3:
            return self._correlate_torch(torch, x, bias)
        return self._correlate_numpy(x, bias)

    def _correlate_torch(
        self, torch: Any, x: np.ndarray, bias: np.ndarray | None, out: np.ndarray | None = None
    ) -> np.ndarray:
        """:meth:`_correlate` by ``torch.nn.functional.conv{1,2,3}d`` on the CPU, float64,
        in chunks of :attr:`Budget.conv_elements <regionscope.tolerances.Budget>` (into
        ``out`` when given)."""
        functional = torch.nn.functional
        conv = (functional.conv1d, functional.conv2d, functional.conv3d)[len(self.kernel) - 1]
        n = x.shape[0]
        if out is None:
            out = np.empty((n, self.out_size))
        weight = _tensor(torch, self.weight)
        b = None if bias is None else _tensor(torch, bias)
        symmetric = all(lo == hi for lo, hi in self.pads)
        # torch pads the last axis first: (last lo, last hi, ..., first lo, first hi)
        pad_arg = tuple(p for lo_hi in reversed(self.pads) for p in lo_hi)
        per_sample = 2 * (self.in_size + self.out_size) + self.in_shape[0] * math.prod(
            self.kernel
        ) * math.prod(self.out_shape[1:]) // max(self.groups, 1)
        step = max(1, get_budget().conv_elements // per_sample)
        with torch.no_grad():
            for s in range(0, n, step):
                xb = _tensor(torch, x[s : s + step]).reshape(-1, *self.in_shape)
                if not symmetric:
                    xb = functional.pad(xb, pad_arg)
                res = conv(
                    xb, weight, b, stride=self.stride, dilation=self.dilation, groups=self.groups,
                    padding=tuple(lo for lo, _ in self.pads) if symmetric else 0,
                )  # fmt: skip
                out[s : s + len(xb)] = res.reshape(len(xb), -1).numpy()
        return out

    def _correlate_numpy(self, x: np.ndarray, bias: np.ndarray | None) -> np.ndarray:
        """:meth:`_correlate` with NumPy: windows of a zero-padded copy of each chunk
        (``sliding_window_view``), contracted with the weights."""
        n = x.shape[0]
        d = len(self.kernel)
        g = self.groups
        cg = self.in_shape[0] // g
        og = self.out_shape[0] // g
        spatial_out = self.out_shape[1:]
        out = np.empty((n, self.out_size))
        per_sample = cg * math.prod(spatial_out) * math.prod(self.kernel) + self.out_size
        ext = tuple(dl * (k - 1) + 1 for dl, k in zip(self.dilation, self.kernel, strict=True))
        w = self.weight.reshape(g, og, cg, *self.kernel)
        # window positions are strided, positions inside a window dilated
        take = (
            (slice(None),) * 3
            + tuple(slice(None, None, st) for st in self.stride)
            + tuple(slice(None, None, dl) for dl in self.dilation)
        )
        contract = ([1, *range(2 + d, 2 + 2 * d)], [1, *range(2, 2 + d)])
        step = max(1, get_budget().conv_elements // per_sample)
        padded = any(p != (0, 0) for p in self.pads)
        sizes = self.in_shape[1:]
        inner = (slice(None),) * 3 + tuple(
            slice(lo, lo + size) for (lo, _), size in zip(self.pads, sizes, strict=True)
        )
        buf = None
        for s in range(0, n, step):
            xb = x[s : s + step].reshape(-1, g, cg, *self.in_shape[1:])
            nb = len(xb)
            if padded:  # into a zeroed buffer kept across chunks (its border stays zero)
                if buf is None or len(buf) != nb:
                    shape = [sz + lo + hi for (lo, hi), sz in zip(self.pads, self.in_shape[1:],
                                                                  strict=True)]  # fmt: skip
                    buf = np.zeros((nb, g, cg, *shape))
                buf[inner] = xb
                xb = buf
            win = np.lib.stride_tricks.sliding_window_view(xb, ext, axis=tuple(range(3, 3 + d)))[
                take
            ]  # (nb, g, cg, *out_spatial, *kernel)
            res = np.empty((nb, g, og, *spatial_out))
            for gi in range(g):
                # (nb, cg, *P, *k) . (og, cg, *k) -> (nb, *P, og)
                res[:, gi] = np.moveaxis(np.tensordot(win[:, gi], w[gi], axes=contract), -1, 1)
            res = res.reshape(nb, self.out_shape[0], -1)
            if bias is not None:
                res += bias[:, None]
            out[s : s + nb] = res.reshape(nb, -1)
        return out

    def __repr__(self) -> str:
        return (
            f"Conv({self.in_shape} -> {self.out_shape}, kernel {self.kernel}, stride "
            f"{self.stride}, padding {self.pads}, dilation {self.dilation}, groups {self.groups}"
            f"{'' if self.bias is not None else ', no bias'})"
        )


class ChannelAffine(ShapedLayer):
    """Per-channel ``scale * x + shift`` (batch-norm in evaluation mode, folded).

    Parameters
    ----------
    scale, shift : array_like, shape (C,)
    in_shape : tuple of int
        ``(C, *spatial)``; the output has the same shape.

    Examples
    --------
    >>> import numpy as np
    >>> ChannelAffine([2.0, -1.0], [0.0, 1.0], in_shape=(2, 2)).forward(np.ones((1, 4)))
    array([[2., 2., 0., 0.]])
    """

    def __init__(self, scale: Any, shift: Any, *, in_shape: Sequence[int]) -> None:
        self.in_shape = self.out_shape = _shape(in_shape, "ChannelAffine in_shape")
        c = self.in_shape[0]
        self.scale = as_weights(scale, "ChannelAffine scale")
        self.shift = as_weights(shift, "ChannelAffine shift")
        for name, arr in (("scale", self.scale), ("shift", self.shift)):
            if arr.shape != (c,):
                raise ValueError(
                    f"ChannelAffine {name} must have shape ({c},) for in_shape "
                    f"{self.in_shape}, got {arr.shape}"
                )

    @classmethod
    def from_batchnorm(
        cls,
        running_mean: Any,
        running_var: Any,
        weight: Any = None,
        bias: Any = None,
        eps: float = 1e-5,
        *,
        in_shape: Sequence[int],
    ) -> ChannelAffine:
        """Fold batch-norm statistics: ``(x - mean) / sqrt(var + eps) * weight + bias``.

        Examples
        --------
        >>> bn = ChannelAffine.from_batchnorm([1.0], [3.0], eps=1.0, in_shape=(1,))
        >>> float(bn.scale[0]), float(bn.shift[0])
        (0.5, -0.5)
        """
        mean = as_weights(running_mean, "batch-norm running_mean")
        var = as_weights(running_var, "batch-norm running_var")
        if (var + eps <= 0).any():
            raise ValueError("batch-norm running_var + eps must be positive")
        scale = 1.0 / np.sqrt(var + eps)
        if weight is not None:
            scale = scale * as_weights(weight, "batch-norm weight")
        shift = -mean * scale
        if bias is not None:
            shift = shift + as_weights(bias, "batch-norm bias")
        return cls(scale, shift, in_shape=in_shape)

    def forward(self, x: np.ndarray) -> np.ndarray:
        self._check(x)
        c = self.in_shape[0]
        y = x.reshape(len(x), c, -1) * self.scale[:, None] + self.shift[:, None]
        return y.reshape(len(x), -1)

    def forward_linear(self, x: np.ndarray) -> np.ndarray:
        """Per-channel ``scale * x`` (no shift), ``(N, in_size)`` float64."""
        self._check(x)
        c = self.in_shape[0]
        return (x.reshape(len(x), c, -1) * self.scale[:, None]).reshape(len(x), -1)

    def __repr__(self) -> str:
        return f"ChannelAffine({self.in_shape})"


class ElementwiseAffine(ShapedLayer):
    """``scale * x + shift`` with ``scale`` and ``shift`` broadcast to ``in_shape``.

    Examples
    --------
    >>> import numpy as np
    >>> ElementwiseAffine(-1.0, [1.0, 2.0], in_shape=(2,)).forward(np.array([[3.0, 3.0]]))
    array([[-2., -1.]])
    """

    def __init__(self, scale: Any = 1.0, shift: Any = 0.0, *, in_shape: Sequence[int]) -> None:
        self.in_shape = self.out_shape = _shape(in_shape, "ElementwiseAffine in_shape")
        arrays = []
        for name, value in (("scale", scale), ("shift", shift)):
            arr = as_weights(value, f"ElementwiseAffine {name}")
            try:
                arr = np.broadcast_to(arr, self.in_shape).reshape(-1)
            except ValueError:
                raise ValueError(
                    f"ElementwiseAffine {name} of shape {arr.shape} does not broadcast to "
                    f"in_shape {self.in_shape}"
                ) from None
            arr = arr[:1] if (arr == arr[0]).all() else np.ascontiguousarray(arr)
            arr.setflags(write=False)
            arrays.append(arr)
        self.scale, self.shift = arrays

    def forward(self, x: np.ndarray) -> np.ndarray:
        self._check(x)
        return x * self.scale + self.shift

    def forward_linear(self, x: np.ndarray) -> np.ndarray:
        """``scale * x`` (no shift), ``(N, in_size)`` float64."""
        self._check(x)
        return x * self.scale

    def __repr__(self) -> str:
        return f"ElementwiseAffine({self.in_shape})"


class AxisLinear(ShapedLayer):
    """A separable linear map: one matrix applied along each axis of a sample.

    Parameters
    ----------
    matrices : sequence of (array_like (out_i, in_i) or None)
        One entry per axis of ``in_shape``; ``None`` leaves the axis as is.
    in_shape : tuple of int
    scale : float
        A factor applied to the result.

    Examples
    --------
    >>> import numpy as np
    >>> mean_rows = AxisLinear([None, [[0.5, 0.5]]], in_shape=(2, 2))
    >>> mean_rows.out_shape, mean_rows.forward(np.array([[1.0, 3.0, 5.0, 9.0]]))
    ((2, 1), array([[2., 7.]]))
    """

    def __init__(
        self, matrices: Sequence[Any], *, in_shape: Sequence[int], scale: float = 1.0
    ) -> None:
        self.in_shape = _shape(in_shape, f"{type(self).__name__} in_shape")
        if len(matrices) != len(self.in_shape):
            raise ValueError(
                f"{type(self).__name__} needs one matrix (or None) per axis of in_shape "
                f"{self.in_shape}, got {len(matrices)}"
            )
        mats: list[np.ndarray | None] = []
        out = []
        for axis, (m, size) in enumerate(zip(matrices, self.in_shape, strict=True)):
            if m is None:
                mats.append(None)
                out.append(size)
                continue
            arr = as_weights(m, f"{type(self).__name__} matrix {axis}")
            if arr.ndim != 2 or arr.shape[1] != size or arr.shape[0] < 1:
                raise ValueError(
                    f"{type(self).__name__} matrix for axis {axis} must have shape (out, {size}),"
                    f" got {arr.shape}"
                )
            mats.append(arr)
            out.append(int(arr.shape[0]))
        self.matrices = tuple(mats)
        self.scale = float(as_weights(scale, f"{type(self).__name__} scale"))
        self.out_shape = tuple(out)

    def forward(self, x: np.ndarray) -> np.ndarray:
        self._check(x)
        n = len(x)
        out = np.empty((n, self.out_size))
        per_sample = 2 * max(self.in_size, self.out_size)
        step = max(1, get_budget().conv_elements // per_sample)
        for s in range(0, n, step):
            y = x[s : s + step]
            nb = len(y)
            y = y.reshape(nb, *self.in_shape)
            for axis, m in enumerate(self.matrices):
                if m is not None:
                    y = np.moveaxis(np.tensordot(y, m, axes=([axis + 1], [1])), -1, axis + 1)
            y = y.reshape(nb, -1)
            if self.scale != 1.0:
                y = y * self.scale
            out[s : s + nb] = y
        return out

    def forward_linear(self, x: np.ndarray) -> np.ndarray:
        """:meth:`forward` itself (the map has no constant term): ``(N, in_size)`` to
        ``(N, out_size)`` float64."""
        return self.forward(x)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.in_shape} -> {self.out_shape})"


def _avg_matrix(
    size: int, kernel: int, stride: int, pad: int, ceil_mode: bool, count_include_pad: bool
) -> np.ndarray:
    out = pool_output_size(size, kernel, stride, pad, 1, ceil_mode)
    if out < 1:
        raise ValueError(f"AvgPool kernel {kernel} is larger than the padded input {size}")
    start = np.arange(out) * stride - pad
    end = np.minimum(start + kernel, size + pad)
    divisor = end - start  # padding counted, the window clipped to the padded input
    lo, hi = np.maximum(start, 0), np.minimum(end, size)
    if not count_include_pad:
        divisor = hi - lo
    pos = np.arange(size)
    inside = (pos >= lo[:, None]) & (pos < hi[:, None])
    return np.where(inside, 1.0 / np.maximum(divisor, 1)[:, None], 0.0)


class AvgPool(AxisLinear):
    """Average pooling over the spatial axes, as ``torch.nn.AvgPool2d``.

    Parameters
    ----------
    in_shape : tuple of int
        ``(C, *spatial)``.
    kernel, stride, padding : int or tuple of int
        ``stride`` defaults to ``kernel``.
    ceil_mode, count_include_pad : bool
    divisor_override : int, optional

    Examples
    --------
    >>> import numpy as np
    >>> AvgPool((1, 4), kernel=2).forward(np.array([[1.0, 3.0, 5.0, 9.0]]))
    array([[2., 7.]])
    """

    def __init__(
        self,
        in_shape: Sequence[int],
        kernel: Any,
        stride: Any = None,
        padding: Any = 0,
        ceil_mode: bool = False,
        count_include_pad: bool = True,
        divisor_override: int | None = None,
    ) -> None:
        shape, d, k, st, pad = _window(in_shape, kernel, stride, padding, "AvgPool")
        mats: list[Any] = [None]
        scale = 1.0
        for i in range(d):
            m = _avg_matrix(
                shape[1 + i], k[i], st[i], pad[i], bool(ceil_mode), bool(count_include_pad)
            )
            if divisor_override is not None:
                m = (m > 0).astype(np.float64)
            mats.append(m)
        if divisor_override is not None:
            if int(divisor_override) < 1:
                raise ValueError(f"AvgPool divisor_override must be >= 1, got {divisor_override}")
            scale = 1.0 / int(divisor_override)
        super().__init__(mats, in_shape=shape, scale=scale)
        self.kernel, self.stride, self.padding = k, st, pad


def _adaptive_bounds(size: int, out: int) -> tuple[np.ndarray, np.ndarray]:
    """PyTorch's adaptive windows: ``[floor(i*size/out), ceil((i+1)*size/out))``."""
    i = np.arange(out)
    return (i * size) // out, -((-(i + 1) * size) // out)


class AdaptiveAvgPool(AxisLinear):
    """Adaptive average pooling to ``output_size``, as ``torch.nn.AdaptiveAvgPool2d``.

    Window ``i`` of an axis of length ``n`` pooled to ``m`` covers
    ``floor(i n / m) <= j < ceil((i + 1) n / m)``.

    Examples
    --------
    >>> import numpy as np
    >>> AdaptiveAvgPool((1, 3), 2).forward(np.array([[1.0, 3.0, 8.0]]))
    array([[2. , 5.5]])
    """

    def __init__(self, in_shape: Sequence[int], output_size: Any) -> None:
        shape = _shape(in_shape, "AdaptiveAvgPool in_shape")
        d = len(shape) - 1
        if d < 1:
            raise ValueError(f"AdaptiveAvgPool in_shape must be (C, *spatial), got {shape}")
        if isinstance(output_size, (int, np.integer)) or output_size is None:
            sizes = [output_size] * d
        else:
            sizes = list(output_size)
            if len(sizes) != d:
                raise ValueError(
                    f"AdaptiveAvgPool output_size must have {d} entries, got {output_size!r}"
                )
        mats: list[Any] = [None]
        for i, m in enumerate(sizes):
            n = shape[1 + i]
            m = n if m is None else int(m)
            if m < 1:
                raise ValueError(f"AdaptiveAvgPool output sizes must be >= 1, got {output_size!r}")
            lo, hi = _adaptive_bounds(n, m)
            pos = np.arange(n)
            inside = (pos >= lo[:, None]) & (pos < hi[:, None])
            mats.append(inside / (hi - lo)[:, None])
        super().__init__(mats, in_shape=shape)


class Reshape(ShapedLayer):
    """A change of sample shape: nothing to do on flat (C-major) data.

    Examples
    --------
    >>> import numpy as np
    >>> r = Reshape((2, 3), (6,))
    >>> r.forward(np.arange(6.0)[None]).shape, r.out_shape
    ((1, 6), (6,))
    """

    def __init__(self, in_shape: Sequence[int], out_shape: Sequence[int]) -> None:
        self.in_shape = _shape(in_shape, "Reshape in_shape")
        self.out_shape = _shape(out_shape, "Reshape out_shape")
        if math.prod(self.in_shape) != math.prod(self.out_shape):
            raise ValueError(
                f"Reshape from {self.in_shape} to {self.out_shape} changes the number of values"
            )

    def forward(self, x: np.ndarray) -> np.ndarray:
        self._check(x)
        return x

    def forward_linear(self, x: np.ndarray) -> np.ndarray:
        """``x`` itself, ``(N, in_size)`` (flat data does not move)."""
        return self.forward(x)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.in_shape} -> {self.out_shape})"


class Flatten(Reshape):
    """Flatten a sample to one axis (a no-op on flat data)."""

    def __init__(self, in_shape: Sequence[int]) -> None:
        shape = _shape(in_shape, "Flatten in_shape")
        super().__init__(shape, (math.prod(shape),))


class PReLU(ReLU):
    """Leaky ReLU with one negative slope per channel, as ``torch.nn.PReLU``.

    Parameters
    ----------
    weight : array_like, shape (C,)
        The slopes.
    in_shape : tuple of int
        ``(C, *spatial)``.

    Examples
    --------
    >>> import numpy as np
    >>> PReLU([0.5, 2.0], in_shape=(2,)).forward(np.array([[-1.0, -1.0], [1.0, 1.0]]))
    array([[-0.5, -2. ],
           [ 1. ,  1. ]])
    """

    def __init__(self, weight: Any, *, in_shape: Sequence[int]) -> None:
        self.in_shape = self.out_shape = _shape(in_shape, "PReLU in_shape")
        w = as_weights(weight, "PReLU weight").reshape(-1)
        c = self.in_shape[0]
        if w.shape not in ((1,), (c,)):
            raise ValueError(
                f"PReLU weight must have 1 or {c} entries for in_shape {self.in_shape}, "
                f"got {w.shape[0]}"
            )
        self.weight = w
        slopes = np.broadcast_to(
            np.broadcast_to(w, (c,))[:, None], (c, math.prod(self.in_shape[1:]))
        ).reshape(-1)
        slopes.setflags(write=False)
        self.slopes = slopes

    def out_width(self, in_width: int) -> int:
        if in_width != self.slopes.shape[0]:
            raise ValueError(
                f"PReLU expects inputs of shape {self.in_shape} (width {self.slopes.shape[0]}),"
                f" got width {in_width}"
            )
        return in_width

    def forward_pattern(self, x: np.ndarray, pattern: np.ndarray) -> np.ndarray:
        return np.where(pattern, x, self.slopes * x)

    def forward(self, x: np.ndarray) -> np.ndarray:
        return np.where(x > 0, x, self.slopes * x)

    def magnitude(self, *mags: np.ndarray) -> np.ndarray:
        return np.maximum(1.0, np.abs(self.slopes)) * mags[0]

    def __repr__(self) -> str:
        return f"PReLU({self.weight.shape[0]} slopes, {self.in_shape})"


def maxpool_groups(
    in_shape: Sequence[int],
    kernel: Any,
    stride: Any = None,
    padding: Any = 0,
    dilation: Any = 1,
    ceil_mode: bool = False,
) -> np.ndarray:
    """Windows of max-pooling as groups for :class:`regionscope.layers.MaxPool`.

    Parameters
    ----------
    in_shape : tuple of int
        ``(C, *spatial)`` of one input sample (flat C-major order).
    kernel, stride, padding, dilation : int or tuple of int
        As in ``torch.nn.MaxPool2d`` (``stride`` defaults to ``kernel``;
        ``padding`` at most half the kernel).
    ceil_mode : bool

    Returns
    -------
    groups : (C * prod(out_spatial), k) int
        Flat input indices of each window, output order (channel, then spatial
        C-major); positions in the padding are left out (PyTorch pads with
        ``-inf``), and shorter windows are padded with -1 at the end.

    Examples
    --------
    >>> maxpool_groups((1, 3), kernel=2, padding=1)
    array([[ 0, -1],
           [ 1,  2]])
    """
    shape, d, k, st, pad = _window(in_shape, kernel, stride, padding, "maxpool")
    dil = _tuple(dilation, d, "maxpool dilation", 1)
    # per axis: positions (out_i, k_i) of every window, and whether they are inside
    positions = []
    for i in range(d):
        n_out = pool_output_size(shape[1 + i], k[i], st[i], pad[i], dil[i], bool(ceil_mode))
        if n_out < 1:
            raise ValueError(
                f"maxpool kernel {k} (dilation {dil}) is larger than the padded input {shape[1:]}"
            )
        positions.append(np.arange(n_out)[:, None] * st[i] - pad[i] + np.arange(k[i]) * dil[i])
    out_sp = tuple(p.shape[0] for p in positions)
    # combine the axes: index (*out, *k) -> flat spatial index, validity
    flat = np.zeros(out_sp + k, dtype=np.intp)
    valid = np.ones(out_sp + k, dtype=bool)
    stride_in = 1
    for i in reversed(range(d)):
        view_shape = [1] * (2 * d)
        view_shape[i], view_shape[d + i] = positions[i].shape
        pos = positions[i].reshape(view_shape)
        flat = flat + pos * stride_in
        valid = valid & (pos >= 0) & (pos < shape[1 + i])
        stride_in *= shape[1 + i]
    n_win = math.prod(out_sp)
    flat = flat.reshape(n_win, -1)
    valid = valid.reshape(n_win, -1)
    if not valid.any(axis=1).all():
        raise ValueError(f"maxpool window lies entirely in the padding for in_shape {shape}")
    order = np.argsort(~valid, axis=1, kind="stable")  # valid positions first, in order
    flat = np.take_along_axis(flat, order, axis=1)
    valid = np.take_along_axis(valid, order, axis=1)
    width = int(valid.sum(axis=1).max())
    flat, valid = flat[:, :width], valid[:, :width]
    table = flat[None] + (np.arange(shape[0]) * stride_in)[:, None, None]
    table = np.where(valid[None], table, -1).reshape(shape[0] * n_win, width)
    return table.astype(np.intp)
