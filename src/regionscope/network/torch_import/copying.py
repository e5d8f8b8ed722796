"""The model's copy: the converter works on a deep copy made without hooks.

Hooks are not part of the converted network, and the user's model is never
changed (not its parameters, mode, hooks, nor torch's random state).  torch
has no public way to list or leave out a module's hooks, so this module reads
the hook dictionaries of ``torch.nn.Module`` by name; it is the only place
that does.
"""

from __future__ import annotations

import copy
from typing import Any

__all__ = ["copy_without_hooks", "hooked_modules"]

# hook dictionaries of torch.nn.Module (not copied); the first five run in forward
_HOOK_DICTS = (
    "_forward_hooks",
    "_forward_hooks_with_kwargs",
    "_forward_hooks_always_called",
    "_forward_pre_hooks",
    "_forward_pre_hooks_with_kwargs",
    "_backward_hooks",
    "_backward_pre_hooks",
)


def copy_without_hooks(module: Any) -> Any:
    """Deep copy of ``module`` whose modules have no hooks (the hooks are not copied).

    Raises
    ------
    TypeError
        ``copy.deepcopy`` fails on the model.
    """
    memo: dict[int, Any] = {}
    for m in module.modules():
        for attr in _HOOK_DICTS:
            d = vars(m).get(attr)
            if isinstance(d, dict):
                memo[id(d)] = type(d)()
    try:
        return copy.deepcopy(module, memo)
    except Exception as exc:  # noqa: BLE001 - any failure of a user's __deepcopy__
        raise TypeError(
            f"cannot convert the model: copying it with copy.deepcopy failed ({exc!r}); "
            "regionscope converts a copy so that the model itself is never changed"
        ) from exc


def hooked_modules(module: Any) -> list[str]:
    """Names of the submodules (``"<model>"`` for the model) with forward hooks."""
    names = []
    for name, m in module.named_modules():
        if any(vars(m).get(attr) for attr in _HOOK_DICTS[:5]):
            names.append(name or "<model>")
    return names
