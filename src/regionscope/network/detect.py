"""Recognising a PyTorch module without importing torch (the one place it is done).

Examples
--------
>>> is_torch_module([1, 2])
False
"""

from __future__ import annotations

import sys
from typing import Any

__all__ = ["is_torch_module"]


def is_torch_module(obj: Any) -> bool:
    """Whether ``obj`` is a ``torch.nn.Module``; torch is looked up only if already imported."""
    torch = sys.modules.get("torch")
    nn = getattr(torch, "nn", None)
    return nn is not None and isinstance(obj, nn.Module)
