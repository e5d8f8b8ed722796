"""What the converter knows about torch: its namespaces, the layers it converts, error text.

torch is imported by :func:`torch_names` on first use, never when this
module is imported.
"""

from __future__ import annotations

import functools
from typing import Any

__all__ = [
    "REQUIRED",
    "SUPPORTED",
    "TorchNames",
    "describe_target",
    "qualified_name",
    "torch_names",
]

#: short list of what can be converted, quoted in error messages
SUPPORTED = (
    "Linear, Conv1d/2d/3d, BatchNorm (eval), AvgPool, AdaptiveAvgPool, mean, MaxPool1d/2d, "
    "AdaptiveMaxPool1d/2d, amax/max over axes, "
    "Flatten/view/reshape, ReLU, LeakyReLU, PReLU, ReLU6, Hardtanh, clamp, Identity, "
    "Dropout (eval), x + y, x - y, affine ops with constants, torch.cat(dim=1)"
)


class TorchNames:
    """torch, its ``nn`` and ``nn.functional`` modules and the layer types converted by type.

    Attributes
    ----------
    torch, nn, F : module
        ``torch``, ``torch.nn`` and ``torch.nn.functional``.
    leaf_types : tuple of type
        Layers converted as one operation when they keep torch's own
        ``forward`` (a subclass with its own ``forward`` is traced through).
    known_forwards : frozenset
        The ``forward`` methods of torch's own classes among ``leaf_types``.
    batchnorm_types, dropout_types : tuple of type
        Layers whose output depends on the mode (training or evaluation).
    """

    def __init__(self) -> None:
        import torch
        import torch.nn.functional as F
        from torch import nn

        self.torch, self.nn, self.F = torch, nn, F
        self.batchnorm_types = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)
        self.dropout_types = (
            nn.Dropout,
            nn.Dropout1d,
            nn.Dropout2d,
            nn.Dropout3d,
            nn.AlphaDropout,
            nn.FeatureAlphaDropout,
        )
        self.leaf_types = (
            nn.Linear,
            nn.Conv1d,
            nn.Conv2d,
            nn.Conv3d,
            *self.batchnorm_types,
            nn.AvgPool1d,
            nn.AvgPool2d,
            nn.AdaptiveAvgPool1d,
            nn.AdaptiveAvgPool2d,
            nn.MaxPool1d,
            nn.MaxPool2d,
            nn.AdaptiveMaxPool1d,
            nn.AdaptiveMaxPool2d,
            nn.Flatten,
            nn.Unflatten,
            nn.ReLU,
            nn.LeakyReLU,
            nn.PReLU,
            nn.Hardtanh,
            nn.ReLU6,
            nn.Identity,
            *self.dropout_types,
        )
        known = set()
        for cls in self.leaf_types:
            for sub in (cls, *_subclasses(cls)):
                if sub.__module__.startswith("torch.nn"):
                    known.add(sub.forward)
        self.known_forwards = frozenset(known)


@functools.lru_cache(maxsize=1)
def torch_names() -> TorchNames:
    """The :class:`TorchNames` (torch is imported on the first call)."""
    return TorchNames()


def _subclasses(cls: type) -> list[type]:
    out = []
    for sub in cls.__subclasses__():
        out.append(sub)
        out.extend(_subclasses(sub))
    return out


def describe_target(node: Any) -> str:
    """What a traced fx node calls, as users write it (``"function 'torch.relu_'"``).

    Parameters
    ----------
    node : torch.fx.Node
        A node of a traced graph.

    Returns
    -------
    str
        ``module 'name'``, ``method '.name()'``, ``function 'module.name'``
        or ``op 'target'`` for the other kinds of node.
    """
    if node.op == "call_module":
        return f"module '{node.target}'"
    if node.op == "call_method":
        return f"method '.{node.target}()'"
    if node.op == "call_function":
        return f"function '{qualified_name(node.target)}'"
    return f"{node.op} '{node.target}'"


def qualified_name(fn: Any) -> str:
    """A function's name as users import it (``"torch.relu_"``, ``"operator.iadd"``).

    >>> import operator
    >>> qualified_name(operator.iadd)
    'operator.iadd'
    """
    name = getattr(fn, "__name__", None) or repr(fn)
    mod = getattr(fn, "__module__", None) or ""
    if mod in ("torch", "torch._C._VariableFunctions") or mod.startswith("torch._C"):
        mod = "torch.nn.functional" if mod == "torch._C._nn" else "torch"
    elif mod == "_operator":
        mod = "operator"
    return f"{mod}.{name}" if mod else name


class _Required:
    def __repr__(self) -> str:
        return "REQUIRED"


#: default of a parameter that must be passed (see ``Converter.bind``)
REQUIRED: Any = _Required()
