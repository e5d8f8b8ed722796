"""Tracing a model's forward with :mod:`torch.fx`, and cutting the traced graph to one output.

torch's own layers (those of :attr:`TorchNames.leaf_types` that keep torch's
``forward``) stay single operations; everything else, subclasses with their
own ``forward`` and containers included, is traced through.

Augmented assignments on traced tensors (``h += y``) are recorded as the
in-place operations they are (``operator.iadd``), not as ``h = h + y``: when
another name refers to the same tensor, torch changes it too, and
:mod:`.inplace` follows that change.
"""

from __future__ import annotations

import dataclasses
import functools
import operator
from typing import Any

from .support import torch_names

__all__ = ["Traced", "ancestors", "output_node", "trace", "truncate"]


@dataclasses.dataclass
class Traced:
    """A traced forward.

    Attributes
    ----------
    module : torch.fx.GraphModule
        The whole forward; its nodes are in the order the forward ran them.
    node_index : dict of str to int
        Position of each node (by name) in the traced graph, quoted in errors.
    until : tuple or None
        For ``until=``: the node the named submodule returned, and how many
        nodes the graph had when it returned (in-place changes of that tensor
        before then are part of the submodule's output).
    """

    module: Any
    node_index: dict[str, int]
    until: tuple[Any, int] | None


_AUGMENTED = {
    "__iadd__": operator.iadd,
    "__isub__": operator.isub,
    "__imul__": operator.imul,
    "__itruediv__": operator.itruediv,
}


@functools.lru_cache(maxsize=1)
def _tracer_class() -> type:
    """The fx tracer (a class built on first use, as torch is imported lazily)."""
    import torch.fx as fx

    names = torch_names()

    class Proxy(fx.Proxy):
        """A proxy whose augmented assignments are traced as in-place operations."""

    for dunder, fn in _AUGMENTED.items():

        def augmented(self: Any, other: Any, fn: Any = fn) -> Any:
            return self.tracer.create_proxy("call_function", fn, (self, other), {})

        augmented.__name__ = dunder
        setattr(Proxy, dunder, augmented)

    class Tracer(fx.Tracer):
        def __init__(self, until: str | None) -> None:
            super().__init__()
            self.until = until
            self.until_outputs: list[tuple[Any, int]] = []

        def proxy(self, node: Any) -> Any:
            return Proxy(node, self)

        def is_leaf_module(self, m: Any, qualname: str) -> bool:
            if isinstance(m, names.leaf_types) and type(m).forward in names.known_forwards:
                return True  # torch's own forward: converted by type
            return super().is_leaf_module(m, qualname)

        def call_module(self, m: Any, forward: Any, args: Any, kwargs: Any) -> Any:
            out = super().call_module(m, forward, args, kwargs)
            if self.until is not None and self.path_of_module(m) == self.until:
                self.until_outputs.append((out, len(self.graph.nodes)))
            return out

    return Tracer


def trace(model: Any, until: str | None) -> Traced:
    """Trace ``model``'s forward.

    Parameters
    ----------
    model : torch.nn.Module
        The model (the converter's float64 copy).
    until : str or None
        Name of a submodule whose output is wanted (it must be called once).

    Returns
    -------
    Traced

    Raises
    ------
    TypeError
        The forward cannot be traced, or returns something other than one
        tensor, or the ``until`` submodule returns something other than a tensor.
    ValueError
        The ``until`` submodule is not called exactly once.
    """
    import torch.fx as fx

    tracer = _tracer_class()(until)
    try:
        graph = tracer.trace(model)
    except Exception as exc:  # noqa: BLE001 - fx raises many kinds of errors
        raise TypeError(
            f"cannot convert {type(model).__name__}: torch.fx could not trace its "
            f"forward ({type(exc).__name__}: {exc}); regionscope needs a forward without "
            "control flow that depends on the input"
        ) from exc
    gm = fx.GraphModule(tracer.root, graph)
    node_index = {n.name: i for i, n in enumerate(gm.graph.nodes)}
    found = None
    if until is not None:
        if len(tracer.until_outputs) != 1:
            n = len(tracer.until_outputs)
            how = "never called" if not n else f"called {n} times"
            raise ValueError(
                f"until={until!r}: that module is {how} in the model's forward; "
                "until needs a module called exactly once"
            )
        out, position = tracer.until_outputs[0]
        if not isinstance(out, fx.Proxy):
            kind = type(out).__name__
            raise TypeError(f"until={until!r}: that module returns {kind}, not a tensor")
        found = (out.node, position)
    else:
        result = output_node(gm).args[0]
        if not isinstance(result, fx.Node):
            raise TypeError(
                f"cannot convert {type(model).__name__}: its forward must return one "
                f"tensor, it returns {type(result).__name__}"
            )
    return Traced(gm, node_index, found)


def output_node(gm: Any) -> Any:
    """The ``output`` node of a graph module."""
    return next(n for n in gm.graph.nodes if n.op == "output")


def ancestors(nodes: Any) -> set[Any]:
    """The given nodes and every node they are computed from."""
    found: set[Any] = set()
    stack = list(nodes)
    while stack:
        n = stack.pop()
        if n not in found:
            found.add(n)
            stack.extend(n.all_input_nodes)
    return found


def truncate(gm: Any, target: Any, also: Any = ()) -> Any:
    """A graph module computing ``target`` (it keeps every placeholder).

    Parameters
    ----------
    gm : torch.fx.GraphModule
        A traced forward.
    target : torch.fx.Node
        The node whose value the new graph returns.
    also : iterable of torch.fx.Node
        Nodes to keep as well although ``target`` does not need them (they
        run, and are not converted).

    Returns
    -------
    torch.fx.GraphModule
        The nodes ``target`` and ``also`` need, in their order, copied under
        their names.
    """
    import torch.fx as fx

    needed = ancestors([target, *also])
    graph = fx.Graph()
    env: dict[Any, Any] = {}
    for n in gm.graph.nodes:
        if n in needed or n.op == "placeholder":
            env[n] = graph.node_copy(n, lambda a: env[a])
    graph.output(env[target])
    return fx.GraphModule(gm, graph)
