"""What a user may pass as a model, turned into regionscope layers.

Torch modules (recognised by :func:`~regionscope.network.detect.is_torch_module`)
are handed to the converter.

Examples
--------
>>> from regionscope.network.layers import Linear, ReLU, Sequential
>>> as_layers(Sequential(Linear([[1.0, 0.0]]), ReLU()), (2,))
(Linear(2 -> 1, no bias), ReLU())
>>> as_layers("net", (2,))
Traceback (most recent call last):
...
TypeError: model must be a regionscope layer (e.g. Sequential) or a torch.nn.Module, got str
"""

from __future__ import annotations

from typing import Any

from .detect import is_torch_module
from .layers import Layer, Sequential

__all__ = ["is_torch_module", "as_layers"]


def as_layers(
    model: Any, input_shape: tuple[int, ...], until: str | None = None
) -> tuple[Layer, ...]:
    """The model's top-level regionscope layers.

    A torch module is converted (a copy, in float64; see
    :func:`regionscope.network.torch_import.convert`); ``until`` names the
    torch submodule to stop after.  ``None`` is the empty model.
    """
    if model is None:
        return ()
    if is_torch_module(model):
        from .torch_import import convert

        model = convert(model, input_shape=input_shape, until=until)
    elif until is not None:
        raise ValueError("until= is only for torch modules")
    if isinstance(model, Sequential):
        return model.layers
    if isinstance(model, Layer):
        return (model,)
    if isinstance(model, (list, tuple)) and all(isinstance(m, Layer) for m in model):
        return tuple(model)
    raise TypeError(
        "model must be a regionscope layer (e.g. Sequential) or a torch.nn.Module, "
        f"got {type(model).__name__}"
    )
