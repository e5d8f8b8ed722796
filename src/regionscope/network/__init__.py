"""Networks: layers in NumPy, convolution-type operators, compiled programs, torch import.

``layers`` defines the layers and containers, ``conv`` the operators a CNN
needs, ``program`` flattens a model into ops over registers, ``evaluate``
runs a program at domain points with the snapping rule, and
``torch_import`` converts a ``torch.nn.Module`` (imported lazily: torch is
an extra).
"""

from .layers import (
    Add,
    Argmax,
    Concat,
    Graph,
    HardTanh,
    Identity,
    Layer,
    LeakyReLU,
    Linear,
    MaxPool,
    Piecewise,
    ReLU,
    Residual,
    Sequential,
)
from .program import Op, Program, compile_model

__all__ = [
    "Add",
    "Argmax",
    "Concat",
    "Graph",
    "HardTanh",
    "Identity",
    "Layer",
    "LeakyReLU",
    "Linear",
    "MaxPool",
    "Op",
    "Piecewise",
    "Program",
    "ReLU",
    "Residual",
    "Sequential",
    "compile_model",
]
