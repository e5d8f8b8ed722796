"""Handlers of torch.nn modules: the layers of a ``call_module`` node, read from the module.

Only torch's own layers (and subclasses keeping torch's ``forward``) reach
these handlers; anything else is traced through (see :mod:`.tracing`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from regionscope.network.layers import HardTanh, Identity, LeakyReLU, ReLU

from . import builders
from .support import SUPPORTED, torch_names

if TYPE_CHECKING:
    from .converter import Converter

__all__ = ["module_handler"]

#: ``handler(converter, module, node)``
Handler = Callable[["Converter", Any, Any], None]


def _array(p: Any) -> Any:
    return None if p is None else p.detach().numpy()


def _linear(c: Converter, m: Any, node: Any) -> None:
    builders.linear(c, node, node.args[0], _array(m.weight), _array(m.bias))


def _conv(c: Converter, m: Any, node: Any) -> None:
    if m.padding_mode != "zeros":
        raise c.fail(node, f"padding_mode={m.padding_mode!r} (only 'zeros' is supported)")
    builders.convolution(
        c, node, node.args[0], _array(m.weight), _array(m.bias), stride=m.stride,
        padding=m.padding, dilation=m.dilation, groups=m.groups,
    )  # fmt: skip


def _batchnorm(c: Converter, m: Any, node: Any) -> None:
    mean = _array(m.running_mean) if m.track_running_stats else None
    var = _array(m.running_var) if m.track_running_stats else None
    builders.batchnorm(c, node, node.args[0], mean, var, _array(m.weight), _array(m.bias), m.eps)


def _maxpool(d: int) -> Handler:
    def handler(c: Converter, m: Any, node: Any) -> None:
        builders.maxpool(
            c, node, node.args[0], d, m.kernel_size, m.stride, m.padding, m.dilation,
            m.ceil_mode, m.return_indices,
        )  # fmt: skip

    return handler


def _avgpool(d: int) -> Handler:
    def handler(c: Converter, m: Any, node: Any) -> None:
        builders.avgpool(
            c, node, node.args[0], d, m.kernel_size, m.stride, m.padding, m.ceil_mode,
            m.count_include_pad, getattr(m, "divisor_override", None),
        )  # fmt: skip

    return handler


def _adaptive(d: int) -> Handler:
    def handler(c: Converter, m: Any, node: Any) -> None:
        builders.adaptive_avgpool(c, node, node.args[0], d, m.output_size)

    return handler


def _adaptive_max(d: int) -> Handler:
    def handler(c: Converter, m: Any, node: Any) -> None:
        builders.adaptive_maxpool(c, node, node.args[0], d, m.output_size)

    return handler


def _reshape(c: Converter, m: Any, node: Any) -> None:
    builders.reshape(c, node, node.args[0])


def _relu(c: Converter, m: Any, node: Any) -> None:
    builders.activation(c, node, node.args[0], ReLU())


def _leaky(c: Converter, m: Any, node: Any) -> None:
    builders.activation(c, node, node.args[0], LeakyReLU(m.negative_slope))


def _prelu(c: Converter, m: Any, node: Any) -> None:
    builders.prelu(c, node, node.args[0], _array(m.weight))


def _hardtanh(c: Converter, m: Any, node: Any) -> None:
    builders.activation(c, node, node.args[0], HardTanh(m.min_val, m.max_val))


def _identity(c: Converter, m: Any, node: Any) -> None:
    x = node.args[0] if node.args else node.kwargs["input"]
    builders.activation(c, node, x, Identity())


@functools.lru_cache(maxsize=1)
def _table() -> tuple[tuple[Any, Handler], ...]:
    """(module types, handler) pairs; the first whose types match is used."""
    names = torch_names()
    nn = names.nn
    return (
        (nn.Linear, _linear),
        ((nn.Conv1d, nn.Conv2d, nn.Conv3d), _conv),
        (names.batchnorm_types, _batchnorm),
        (nn.MaxPool1d, _maxpool(1)),
        (nn.MaxPool2d, _maxpool(2)),
        (nn.AvgPool1d, _avgpool(1)),
        (nn.AvgPool2d, _avgpool(2)),
        (nn.AdaptiveAvgPool1d, _adaptive(1)),
        (nn.AdaptiveAvgPool2d, _adaptive(2)),
        (nn.AdaptiveMaxPool1d, _adaptive_max(1)),
        (nn.AdaptiveMaxPool2d, _adaptive_max(2)),
        ((nn.Flatten, nn.Unflatten), _reshape),
        (nn.ReLU, _relu),
        (nn.LeakyReLU, _leaky),
        (nn.PReLU, _prelu),
        (nn.Hardtanh, _hardtanh),  # ReLU6 is a Hardtanh(0, 6)
        ((nn.Identity, *names.dropout_types), _identity),
    )


def module_handler(c: Converter, node: Any, m: Any) -> Callable[[Any], None]:
    """The handler converting the ``call_module`` node ``node`` of module ``m``.

    Parameters
    ----------
    c : Converter
        The converter (for errors, and passed to the handler).
    node : torch.fx.Node
        A ``call_module`` node.
    m : torch.nn.Module
        Its module.

    Returns
    -------
    callable
        ``handler(node)``, which adds the node's layers to the converter.

    Raises
    ------
    TypeError
        ``m`` is not a supported layer, or is in training mode where that
        changes what it computes (batch-norm, dropout), or returns indices.
    """
    names = torch_names()
    nn = names.nn
    if isinstance(m, (*names.batchnorm_types, *names.dropout_types)):
        if m.training:
            raise c.fail(
                node,
                "it is in training mode, where its output depends on the batch or on "
                "randomness; call model.eval() before converting",
            )
    max_pools = (nn.MaxPool1d, nn.MaxPool2d, nn.AdaptiveMaxPool1d, nn.AdaptiveMaxPool2d)
    if isinstance(m, max_pools) and m.return_indices:
        raise c.fail(node, "max-pooling with return_indices=True is not supported")
    for types, handler in _table():
        if isinstance(m, types):
            return functools.partial(handler, c, m)
    raise c.fail(node, f"{type(m).__name__} is not a supported layer (supported: {SUPPORTED})")
