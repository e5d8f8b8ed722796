"""In-place operations: which tensor a node changes, following the change, and its limits.

An in-place operation (``F.relu_(h)``, ``h.relu_()``, ``h.add_(1)``,
``h += y``, ``F.relu(h, inplace=True)``, ``nn.ReLU(inplace=True)``...) changes
the tensor ``h`` itself, so every later use of ``h`` sees the new values, even
where the result is not assigned to anything.  In the traced graph those later
uses still point at the node that computed ``h``; :func:`follow_inplace`
points them at the in-place node instead, so that the converted network
computes what the model does.

What cannot be followed through the graph is refused while the graph runs
(:class:`InplaceGuard`): a change of a tensor that shares its memory with
another tensor used afterwards (a view, ``h.detach()``, a module returning
its input), a change of the model's own parameters or buffers, and ``+=`` on
a number that is used again.
"""

from __future__ import annotations

import dataclasses
import inspect
import operator
from collections.abc import Callable
from typing import Any

from .support import describe_target, qualified_name

__all__ = [
    "Change",
    "InplaceGuard",
    "changed_input",
    "follow_inplace",
    "latest_version",
    "rewrite_hint",
]

#: augmented assignments, traced as these functions (see :mod:`.tracing`)
INPLACE_OPERATORS = {
    operator.iadd: "+",
    operator.isub: "-",
    operator.imul: "*",
    operator.itruediv: "/",
}


@dataclasses.dataclass(frozen=True)
class Change:
    """An in-place node of the traced graph.

    Attributes
    ----------
    changed : str
        Name of the node whose tensor it changes.
    redirected : tuple of str
        Names of the later nodes that used ``changed`` and now use the
        in-place node.
    """

    changed: str
    redirected: tuple[str, ...]


def _first_input(node: Any) -> Any:
    if node.args:
        return node.args[0]
    return node.kwargs.get("input", node.kwargs.get("self"))


def _inplace_flag(fn: Any, node: Any) -> bool:
    """Whether a call passes ``inplace=True`` (by keyword or position)."""
    if "inplace" in node.kwargs:
        return node.kwargs["inplace"] is True
    try:
        bound = inspect.signature(fn).bind_partial(*node.args, **node.kwargs)
    except (TypeError, ValueError):  # builtins without a signature, or a bad call
        return False
    return bound.arguments.get("inplace") is True


def changed_input(node: Any, modules: dict[str, Any]) -> Any:
    """The node whose tensor ``node`` changes in place, or None.

    Parameters
    ----------
    node : torch.fx.Node
        A node of a traced graph.
    modules : dict
        The graph module's submodules by name (for ``call_module`` nodes).

    Returns
    -------
    torch.fx.Node or None
        The changed tensor's node: the first argument of a method or function
        whose name ends in ``_`` (torch's convention for in-place operations),
        of ``+= -= *= /=``, of a function called with ``inplace=True``, or of
        a module whose ``inplace`` attribute is True.
    """
    if node.op == "call_method":
        name = str(node.target)
        inplace = name.endswith("_") and not name.endswith("__")
    elif node.op == "call_function":
        fn = node.target
        name = getattr(fn, "__name__", "") or ""
        inplace = (
            fn in INPLACE_OPERATORS
            or (name.endswith("_") and not name.endswith("__"))
            or _inplace_flag(fn, node)
        )
    elif node.op == "call_module":
        inplace = getattr(modules.get(node.target), "inplace", False) is True
    else:
        inplace = False
    arg = _first_input(node) if inplace else None
    return arg if hasattr(arg, "users") else None  # an fx.Node (not a constant)


def follow_inplace(gm: Any) -> dict[str, Change]:
    """Point every later use of a tensor changed in place at the node that changed it.

    Parameters
    ----------
    gm : torch.fx.GraphModule
        A traced forward; its graph is changed.

    Returns
    -------
    dict of str to Change
        The in-place nodes by name.
    """
    modules = dict(gm.named_modules())
    nodes = list(gm.graph.nodes)
    order = {n: i for i, n in enumerate(nodes)}
    changes = {}
    for node in nodes:
        source = changed_input(node, modules)
        if source is None:
            continue
        later = [u for u in source.users if order[u] > order[node]]
        for user in later:
            user.replace_input_with(source, node)
        changes[node.name] = Change(source.name, tuple(u.name for u in later))
    return changes


def latest_version(node: Any, position: int, changes: dict[str, Change]) -> Any:
    """The node holding ``node``'s tensor after the in-place changes among the first nodes.

    Parameters
    ----------
    node : torch.fx.Node
        A node of the traced graph.
    position : int
        Only in-place nodes among the first ``position`` nodes of the graph
        count (those that ran before a submodule returned ``node``).
    changes : dict of str to Change
        From :func:`follow_inplace`.
    """
    for i, n in enumerate(node.graph.nodes):
        if i >= position:
            break
        change = changes.get(n.name)
        if change is not None and change.changed == node.name:
            node = n
    return node


def rewrite_hint(node: Any) -> str:
    """How to write an in-place node as an operation whose result is assigned.

    >>> from types import SimpleNamespace
    >>> rewrite_hint(SimpleNamespace(op="call_method", target="clamp_", args=(), kwargs={}))
    'h = h.clamp(...)'
    """
    if node.op == "call_method":
        return f"h = h.{str(node.target)[:-1]}(...)"
    if node.op == "call_module":
        return f"inplace=False in module '{node.target}', then h = self.{node.target}(h)"
    fn = node.target
    if fn in INPLACE_OPERATORS:
        return f"h = h {INPLACE_OPERATORS[fn]} y"
    name = qualified_name(fn)
    if name.endswith("_"):
        return f"h = {name[:-1]}(h, ...)"
    return f"h = {name}(h, ...) without inplace=True"


class InplaceGuard:
    """Checks, while a graph runs, that its in-place changes are ones the graph follows.

    Parameters
    ----------
    gm : torch.fx.GraphModule
        The graph that runs (after :func:`follow_inplace`, possibly truncated).
    changes : dict of str to Change
        From :func:`follow_inplace`.
    fail : callable
        ``fail(node, reason)`` returns the ``TypeError`` to raise.
    """

    def __init__(self, gm: Any, changes: dict[str, Change], fail: Callable[..., Exception]):
        import torch

        self._torch = torch
        self._changes = changes
        self._fail = fail
        self._order = {n: i for i, n in enumerate(gm.graph.nodes)}
        self._state: dict[int, str] = {}
        named = [*gm.named_parameters(), *gm.named_buffers()]
        for n in gm.graph.nodes:
            if n.op == "get_attr":
                named.append((str(n.target), operator.attrgetter(str(n.target))(gm)))
        for name, value in named:
            if isinstance(value, torch.Tensor):
                self._state.setdefault(self._memory(value), name)

    def _memory(self, t: Any) -> int:
        return int(t.untyped_storage().data_ptr())

    def before(self, node: Any, env: dict[Any, Any]) -> None:
        """Check ``node`` before it runs; ``env`` holds the values still to be used.

        Raises
        ------
        TypeError
            ``node`` changes in place the model's parameters or buffers, or a
            tensor sharing its memory with another one used afterwards, or a
            number that is used again.
        """
        change = self._changes.get(node.name)
        if change is None:
            return
        source = next((a for a in node.all_input_nodes if a.name == change.changed), None)
        if source is None or source not in env:
            return
        value = env[source]
        hint = rewrite_hint(node)
        if not isinstance(value, self._torch.Tensor):
            if change.redirected:
                raise self._fail(
                    node,
                    f"it changes '{source.name}' (of type {type(value).__name__}, not a tensor) "
                    f"in place, and '{source.name}' is used again afterwards; write {hint}",
                )
            return
        memory = self._memory(value)
        if memory and memory in self._state:
            raise self._fail(
                node,
                f"it changes the model's parameter or buffer '{self._state[memory]}' in place, "
                "so the model changes each time it runs; regionscope converts a fixed network",
            )
        for other, v in env.items():
            if other is source or not isinstance(v, self._torch.Tensor) or not memory:
                continue
            used_later = any(self._order[u] > self._order[node] for u in other.users)
            if used_later and self._memory(v) == memory:
                raise self._fail(
                    node,
                    f"it changes '{source.name}' in place, and '{other.name}' "
                    f"({describe_target(other)}), which shares its memory (a view or another "
                    "name of the same tensor), is used afterwards; regionscope follows an "
                    "in-place change only through the changed tensor itself: write the result "
                    f"to a name and use that name, e.g. {hint}",
                )
