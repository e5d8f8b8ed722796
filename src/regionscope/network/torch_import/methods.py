"""Handlers of tensor methods (``call_method`` nodes): ``h.view(...)``, ``h.relu_()``...

In-place methods (``h.relu_()``, ``h.add_(1)``, ``h.clamp_(min=0)``) are
converted like their out-of-place forms: :mod:`.inplace` has already made
the later uses of ``h`` use their result.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from regionscope.network.layers import ReLU

from . import builders
from .support import REQUIRED

if TYPE_CHECKING:
    from .converter import Converter

__all__ = ["method_handler"]

#: ``handler(converter, node)``
Handler = Callable[["Converter", Any], None]


def _arith(op: str) -> Handler:
    params = [("self", REQUIRED), ("other", REQUIRED)]
    if op in ("add", "sub"):
        params.append(("alpha", 1))
    if op == "div":
        params.append(("rounding_mode", None))

    def handler(c: Converter, n: Any) -> None:
        kw = c.bind(n, params)
        if kw.get("rounding_mode") is not None:
            raise c.fail(n, "division with rounding is not piecewise linear")
        builders.arith(c, n, op, kw["self"], kw["other"], kw.get("alpha", 1))

    return handler


def _clamp(params: list[tuple[str, Any]]) -> Handler:
    def handler(c: Converter, n: Any) -> None:
        kw = c.bind(n, [("self", REQUIRED), *params])
        builders.clamp(c, n, kw["self"], kw.get("min"), kw.get("max"))

    return handler


def _reshape(c: Converter, n: Any) -> None:
    builders.reshape(c, n, n.args[0])


def _alias(c: Converter, n: Any) -> None:
    c.alias(n, c.data(n, n.args[0]))


def _relu(c: Converter, n: Any) -> None:
    builders.activation(c, n, c.bind(n, [("self", REQUIRED)])["self"], ReLU())


def _neg(c: Converter, n: Any) -> None:
    x = c.bind(n, [("self", REQUIRED)])["self"]
    builders.affine_const(c, n, c.data(n, x), -1.0, 0.0)


def _mean(c: Converter, n: Any) -> None:
    kw = c.bind(n, [("self", REQUIRED), ("dim", None), ("keepdim", False), ("dtype", None)])
    builders.mean(c, n, kw["self"], c.const(n, kw["dim"]), kw["keepdim"], kw["dtype"])


def _amax(c: Converter, n: Any) -> None:
    kw = c.bind(n, [("self", REQUIRED), ("dim", ()), ("keepdim", False)])
    x = c.data(n, kw["self"])
    builders.max_over_axes(c, n, x, c.const(n, kw["dim"]), "x.amax")


def _tensor_max(c: Converter, n: Any) -> None:
    """``x.max(...)`` returning one tensor: of two tensors (``x.max()`` drops the batch)."""
    raise c.fail(
        n,
        "x.max(other) (an elementwise maximum) is not supported; write other + F.relu(x - other),"
        " or use x.amax(dim) / x.max(dim).values for a maximum over axes",
    )


def _metadata(c: Converter, n: Any) -> None:
    return None  # size(), dim(): not tensors, used as arguments only


def _table() -> dict[str, Handler]:
    reshapes = (
        "view", "reshape", "flatten", "squeeze", "unsqueeze", "view_as", "reshape_as",
        "unflatten",
    )  # fmt: skip
    table: dict[str, Handler] = {m: _reshape for m in reshapes}
    table.update({m: _alias for m in ("contiguous", "clone", "detach")})
    table.update({m: _relu for m in ("relu", "relu_")})
    for op in ("add", "sub", "mul", "div"):
        table.update({op: _arith(op), f"{op}_": _arith(op)})
    table.update({"__add__": _arith("add"), "__radd__": _arith("add")})
    clamp = _clamp([("min", None), ("max", None)])
    table.update({m: clamp for m in ("clamp", "clamp_", "clip", "clip_")})
    table.update({m: _clamp([("min", REQUIRED)]) for m in ("clamp_min", "clamp_min_")})
    table.update({m: _clamp([("max", REQUIRED)]) for m in ("clamp_max", "clamp_max_")})
    table.update({"neg": _neg, "neg_": _neg, "mean": _mean, "amax": _amax, "max": _tensor_max})
    table.update({m: _metadata for m in ("size", "dim", "numel")})
    return table


_METHODS = _table()


def method_handler(name: str) -> Handler | None:
    """The handler of calls to the tensor method ``name``, or None.

    >>> method_handler("relu_") is not None, method_handler("tanh")
    (True, None)
    """
    return _METHODS.get(str(name))
