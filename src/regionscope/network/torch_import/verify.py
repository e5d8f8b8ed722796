"""The check of a conversion: the converted network against the model itself.

The model (the converter's float64 copy, without hooks) runs on random
inputs, and the converted network must give its outputs to
:attr:`regionscope.tolerances.Tolerance.conversion_rtol`.  The reference is the
model's own forward, never values recorded from the traced graph, so an
operation the trace did not capture (an in-place change, state kept between
calls, randomness) cannot pass unnoticed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from regionscope.network.layers import Graph
from regionscope.tolerances import get_tolerance

from .runs import run_model
from .support import torch_names

__all__ = ["relative_difference", "verify"]


def relative_difference(got: np.ndarray, want: np.ndarray) -> float:
    """Largest difference, relative to the largest value of ``want`` (at least 1).

    >>> relative_difference(np.array([[1.0, 2.0]]), np.array([[1.0, 4.0]]))
    0.5
    """
    scale = max(1.0, float(np.abs(want).max(initial=0.0)))
    return float(np.abs(got - want).max(initial=0.0)) / scale


def verify(
    graph: Graph,
    model: Any,
    inputs: Sequence[Any],
    *,
    until: str | None = None,
    final: str | None = None,
    logits: Sequence[Any] = (),
    context: str = "",
) -> None:
    """Check that ``graph`` computes what ``model`` computes on ``inputs``.

    Parameters
    ----------
    graph : Graph
        The converted network (flat inputs and outputs).
    model : torch.nn.Module
        The float64 copy of the model that was converted.
    inputs : sequence of torch.Tensor
        Random batches of inputs (batch axis first).
    until : str, optional
        Compare with the output of this submodule (the forward stops there).
    final : {"softmax", "log_softmax"}, optional
        The model ends with this function over the features, which the
        converted network leaves out (its output is the logits): it is
        applied to the network's output before the comparison.
    logits : sequence of torch.Tensor, optional
        With ``final``: the logits recorded from the traced graph for each
        batch, which the network's output must also match (a softmax does
        not see a shift of all logits).
    context : str
        A note on the inputs' shape, for errors.

    Raises
    ------
    TypeError
        The network differs from the model by more than the tolerance.
    ValueError
        The model fails on the inputs.
    """
    torch = torch_names().torch
    worst = 0.0
    for i, x in enumerate(inputs):
        want = run_model(model, x, until, context).numpy().reshape(len(x), -1)
        got = graph.forward(x.numpy().reshape(len(x), -1))
        if final is not None:
            if i < len(logits):
                recorded = logits[i].numpy().reshape(len(x), -1)
                worst = max(worst, relative_difference(got, recorded))
            got = getattr(torch, final)(torch.from_numpy(got), dim=1).numpy()
        if got.shape != want.shape:
            raise TypeError(
                f"cannot convert {type(model).__name__}: the converted network gives outputs "
                f"of shape {got.shape}, the model {want.shape}"
            )
        worst = max(worst, relative_difference(got, want))
    if not worst <= get_tolerance().conversion_rtol:
        raise TypeError(
            f"cannot convert {type(model).__name__}: the converted network differs from the "
            f"model on random inputs (relative difference {worst:.3g} > conversion_rtol="
            f"{get_tolerance().conversion_rtol:g}); its forward uses something regionscope "
            "does not follow (state kept between calls, randomness, a custom autograd "
            "function, or an in-place change it could not see)"
        )
