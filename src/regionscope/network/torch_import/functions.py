"""Handlers of torch functions (``call_function`` nodes): ``F.relu``, ``torch.cat``, ``+``...

Each handler matches the call's arguments to the function's parameters
(:meth:`Converter.bind`) and hands them to a layer builder
(:mod:`.builders`).  The table is built on first use, by topic.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from regionscope.network.layers import HardTanh, Layer, LeakyReLU, ReLU

from . import builders
from .support import REQUIRED, torch_names

if TYPE_CHECKING:
    from .converter import Converter

__all__ = ["function_handler"]

#: ``handler(converter, node)``
Handler = Callable[["Converter", Any], None]
Params = Sequence[tuple[str, Any]]


def _call(params: Params, build: Callable[[Converter, Any, dict], None]) -> Handler:
    """A handler binding the call to ``params``, then calling ``build(c, node, kwargs)``."""

    def handler(c: Converter, node: Any) -> None:
        build(c, node, c.bind(node, params))

    return handler


def _names(params: Params) -> list[str]:
    return [p for p, _ in params]


# ---------------------------------------------------------------------- activations


def _act(make: Callable[[Converter, Any, dict], Layer], params: Params) -> Handler:
    return _call(params, lambda c, n, kw: builders.activation(c, n, kw["input"], make(c, n, kw)))


def _clamp(params: Params) -> Handler:
    def build(c: Converter, n: Any, kw: dict) -> None:
        builders.clamp(c, n, kw["input"], kw.get("min"), kw.get("max"))

    return _call(params, build)


def _activations() -> dict[Any, Handler]:
    torch, F = torch_names().torch, torch_names().F
    R = REQUIRED
    relu = _act(lambda c, n, kw: ReLU(), [("input", R), ("inplace", False)])
    leaky = _act(
        lambda c, n, kw: LeakyReLU(float(c.const(n, kw["negative_slope"]))),
        [("input", R), ("negative_slope", 0.01), ("inplace", False)],
    )
    hardtanh = _act(
        lambda c, n, kw: HardTanh(
            float(c.const(n, kw["min_val"])), float(c.const(n, kw["max_val"]))
        ),
        [("input", R), ("min_val", -1.0), ("max_val", 1.0), ("inplace", False)],
    )
    relu6 = _act(lambda c, n, kw: HardTanh(0.0, 6.0), [("input", R), ("inplace", False)])
    prelu = _call(
        [("input", R), ("weight", R)],
        lambda c, n, kw: builders.prelu(c, n, kw["input"], c.const(n, kw["weight"])),
    )
    clamp = _clamp([("input", R), ("min", None), ("max", None)])
    table = {f: relu for f in (F.relu, torch.relu, torch.relu_, F.relu_)}
    table.update({f: leaky for f in (F.leaky_relu, F.leaky_relu_)})
    table.update({f: hardtanh for f in (F.hardtanh, F.hardtanh_)})
    table.update({F.relu6: relu6, F.prelu: prelu, torch.prelu: prelu})
    table.update({f: clamp for f in (torch.clamp, torch.clamp_, torch.clip, torch.clip_)})
    clamp_min, clamp_max = _clamp([("input", R), ("min", R)]), _clamp([("input", R), ("max", R)])
    table.update({f: clamp_min for f in (torch.clamp_min, torch.clamp_min_)})
    table.update({f: clamp_max for f in (torch.clamp_max, torch.clamp_max_)})
    return table


# ---------------------------------------------------------------------- layers


def _conv_build(c: Converter, n: Any, kw: dict) -> None:
    builders.convolution(
        c, n, kw["input"], c.const(n, kw["weight"]), c.const(n, kw["bias"]),
        stride=c.const(n, kw["stride"]), padding=c.const(n, kw["padding"]),
        dilation=c.const(n, kw["dilation"]), groups=int(c.const(n, kw["groups"])),
    )  # fmt: skip


def _batchnorm_build(c: Converter, n: Any, kw: dict) -> None:
    if c.const(n, kw["training"]):
        raise c.fail(n, "batch-norm with training=True uses batch statistics; use eval mode")
    builders.batchnorm(
        c, n, kw["input"], c.const(n, kw["running_mean"]), c.const(n, kw["running_var"]),
        c.const(n, kw["weight"]), c.const(n, kw["bias"]), c.const(n, kw["eps"]),
    )  # fmt: skip


def _dropout_build(c: Converter, n: Any, kw: dict) -> None:
    if c.const(n, kw["training"]):
        raise c.fail(n, "dropout with training=True is random; pass training=False")
    c.alias(n, c.data(n, kw["input"]))


def _layers() -> dict[Any, Handler]:
    F = torch_names().F
    R = REQUIRED
    linear = _call(
        [("input", R), ("weight", R), ("bias", None)],
        lambda c, n, kw: builders.linear(
            c, n, kw["input"], c.const(n, kw["weight"]), c.const(n, kw["bias"])
        ),
    )
    conv = _call(
        [
            ("input", R), ("weight", R), ("bias", None), ("stride", 1), ("padding", 0),
            ("dilation", 1), ("groups", 1),
        ],
        _conv_build,
    )  # fmt: skip
    batchnorm = _call(
        [
            ("input", R), ("running_mean", R), ("running_var", R), ("weight", None),
            ("bias", None), ("training", False), ("momentum", 0.1), ("eps", 1e-5),
        ],
        _batchnorm_build,
    )  # fmt: skip
    dropout = _call(
        [("input", R), ("p", 0.5), ("training", True), ("inplace", False)], _dropout_build
    )
    table: dict[Any, Handler] = {F.linear: linear, F.batch_norm: batchnorm}
    table.update({f: conv for f in (F.conv1d, F.conv2d, F.conv3d)})
    dropouts = (F.dropout, F.dropout1d, F.dropout2d, F.dropout3d, F.alpha_dropout)
    table.update({f: dropout for f in dropouts})
    return table


# ---------------------------------------------------------------------- pooling


def _maxpool(d: int) -> Handler:
    params = [
        ("input", REQUIRED), ("kernel_size", REQUIRED), ("stride", None), ("padding", 0),
        ("dilation", 1), ("ceil_mode", False), ("return_indices", False),
    ]  # fmt: skip

    def build(c: Converter, n: Any, kw: dict) -> None:
        values = [c.const(n, kw[k]) for k in _names(params)[1:]]
        builders.maxpool(c, n, kw["input"], d, *values)

    return _call(params, build)


def _avgpool(d: int) -> Handler:
    params = [
        ("input", REQUIRED), ("kernel_size", REQUIRED), ("stride", None), ("padding", 0),
        ("ceil_mode", False), ("count_include_pad", True), ("divisor_override", None),
    ]  # fmt: skip
    if d == 1:
        params = params[:-1]

    def build(c: Converter, n: Any, kw: dict) -> None:
        values = [c.const(n, kw.get(k)) for k in _names(params)[1:]]
        if d == 1:
            values.append(None)
        builders.avgpool(c, n, kw["input"], d, *values)

    return _call(params, build)


def _adaptive(d: int) -> Handler:
    return _call(
        [("input", REQUIRED), ("output_size", REQUIRED)],
        lambda c, n, kw: builders.adaptive_avgpool(
            c, n, kw["input"], d, c.const(n, kw["output_size"])
        ),
    )


def _adaptive_max(d: int) -> Handler:
    def build(c: Converter, n: Any, kw: dict) -> None:
        if c.const(n, kw["return_indices"]):
            raise c.fail(n, "max-pooling with return_indices=True is not supported")
        builders.adaptive_maxpool(c, n, kw["input"], d, c.const(n, kw["output_size"]))

    params = [("input", REQUIRED), ("output_size", REQUIRED), ("return_indices", False)]
    return _call(params, build)


def _amax(c: Converter, n: Any) -> None:
    kw = c.bind(n, [("input", REQUIRED), ("dim", ()), ("keepdim", False)])
    x = c.data(n, kw["input"])
    builders.max_over_axes(c, n, x, c.const(n, kw["dim"]), "torch.amax")


def _tensor_max(c: Converter, n: Any) -> None:
    """``torch.max`` returning one tensor: of two tensors (``torch.max(x)`` drops the batch)."""
    raise c.fail(
        n,
        "torch.max of two tensors (an elementwise maximum) is not supported; write "
        "b + F.relu(a - b), or use torch.amax(x, dim) / torch.max(x, dim).values for a maximum "
        "over axes",
    )


def _pools() -> dict[Any, Handler]:
    torch, F = torch_names().torch, torch_names().F
    mean = _call(
        [("input", REQUIRED), ("dim", None), ("keepdim", False), ("dtype", None)],
        lambda c, n, kw: builders.mean(
            c, n, kw["input"], c.const(n, kw["dim"]), kw["keepdim"], kw["dtype"]
        ),
    )
    return {
        F.max_pool1d: _maxpool(1),
        F.max_pool2d: _maxpool(2),
        torch.max_pool1d: _maxpool(1),
        torch.max_pool2d: _maxpool(2),
        F.avg_pool1d: _avgpool(1),
        F.avg_pool2d: _avgpool(2),
        F.adaptive_avg_pool1d: _adaptive(1),
        F.adaptive_avg_pool2d: _adaptive(2),
        torch.mean: mean,
        F.adaptive_max_pool1d: _adaptive_max(1),
        F.adaptive_max_pool2d: _adaptive_max(2),
        torch.amax: _amax,
        torch.max: _tensor_max,
    }


# ---------------------------------------------------------------------- arithmetic


def _arith(op: str, with_alpha: bool = False) -> Handler:
    params = [("input", REQUIRED), ("other", REQUIRED)] + ([("alpha", 1)] if with_alpha else [])
    if op == "div":
        params.append(("rounding_mode", None))

    def build(c: Converter, n: Any, kw: dict) -> None:
        if kw.get("rounding_mode") is not None:
            raise c.fail(n, "division with rounding is not piecewise linear")
        builders.arith(c, n, op, kw["input"], kw["other"], kw.get("alpha", 1))

    return _call(params, build)


def _neg(c: Converter, n: Any) -> None:
    kw = c.bind(n, [("input", REQUIRED)])
    builders.affine_const(c, n, c.data(n, kw["input"]), -1.0, 0.0)


def _arithmetic() -> dict[Any, Handler]:
    torch = torch_names().torch
    table: dict[Any, Handler] = {torch.add: _arith("add", True), torch.sub: _arith("sub", True)}
    table.update({f: _arith("add") for f in (operator.add, operator.iadd)})
    table.update({f: _arith("sub") for f in (operator.sub, operator.isub)})
    table.update({f: _arith("mul") for f in (operator.mul, operator.imul, torch.mul)})
    divisions = (operator.truediv, operator.itruediv, torch.true_divide, torch.div)
    table.update({f: _arith("div") for f in divisions})
    table.update({operator.neg: _neg, torch.neg: _neg})
    return table


# ---------------------------------------------------------------------- shapes


def _reshape(c: Converter, n: Any) -> None:
    builders.reshape(c, n, n.args[0] if n.args else n.kwargs["input"])


def _max_with_dim(node: Any) -> tuple[str, str] | None:
    """``(input parameter, what)`` if ``node`` is ``torch.max(x, dim)`` or ``x.max(dim)``."""
    if not hasattr(node, "op"):
        return None
    if node.op == "call_function" and node.target is torch_names().torch.max:
        return "input", "torch.max(x, dim)"
    if node.op == "call_method" and node.target == "max":
        return "self", "x.max(dim)"
    return None


def _indexing(c: Converter, n: Any) -> None:
    """``t[i]`` or ``t.name`` giving a tensor: the values of a maximum over an axis only."""
    source = n.args[0] if n.args else None
    if c.is_data(source):
        raise c.fail(n, "indexing or slicing a tensor is not supported")
    found = _max_with_dim(source)
    if found is None:
        raise c.fail(
            n,
            "taking a part of a result that is not a tensor is not supported (only the values "
            "of torch.max(x, dim) and x.max(dim) are; return_indices=True is not)",
        )
    first, what = found
    key = c.const(n, n.args[1]) if len(n.args) > 1 else None
    position = key if isinstance(key, int) and not isinstance(key, bool) else None
    if position in (1, -1) or key == "indices":
        raise c.fail(
            n,
            f"the indices of {what} are positions, not a piecewise-linear function of the "
            "input; use its values (or torch.amax)",
        )
    if position not in (0, -2) and key != "values":
        raise c.fail(n, f"only the values ([0] or .values) of {what} are supported, got {key!r}")
    kw = c.bind(source, [(first, REQUIRED), ("dim", REQUIRED), ("keepdim", False)])
    x = c.data(n, kw[first])
    builders.max_over_axes(c, n, x, c.const(n, kw["dim"]), what)


def _shapes() -> dict[Any, Handler]:
    torch = torch_names().torch
    cat = _call(
        [("tensors", REQUIRED), ("dim", 0)],
        lambda c, n, kw: builders.cat(c, n, kw["tensors"], kw["dim"]),
    )
    table = {f: cat for f in (torch.cat, torch.concat, torch.concatenate)}
    reshapes = (torch.flatten, torch.reshape, torch.squeeze, torch.unsqueeze)
    table.update({f: _reshape for f in reshapes})
    # functions that take sizes from a tensor (``x.shape[0]``); on tensors they are rejected
    table.update({getattr: _indexing, operator.getitem: _indexing})
    return table


@functools.lru_cache(maxsize=1)
def _table() -> dict[Any, Handler]:
    return {**_activations(), **_layers(), **_pools(), **_arithmetic(), **_shapes()}


def function_handler(fn: Any) -> Handler | None:
    """The handler of calls to ``fn`` (``handler(converter, node)``), or None.

    >>> import torch
    >>> function_handler(torch.relu) is not None, function_handler(torch.sigmoid)
    (True, None)
    """
    try:
        return _table().get(fn)
    except TypeError:  # an unhashable target
        return None
