"""Converting a model: the :func:`convert` entry point and the :class:`Converter`.

:func:`convert` checks its arguments and converts a float64 copy of the
model (:mod:`.copying`).  The :class:`Converter` traces the copy
(:mod:`.tracing`), points later uses of tensors changed in place at the
changing operation (:mod:`.inplace`), runs the traced graph on two random
batches to learn each tensor's shape (:mod:`.runs`), hands each traced node
to its handler (:mod:`.modules`, :mod:`.functions`, :mod:`.methods`), and
checks the result against the model itself (:mod:`.verify`).

Handlers use the converter through its public methods only: :meth:`~Converter.fail`,
:meth:`~Converter.bind`, :meth:`~Converter.const`, :meth:`~Converter.data`,
:meth:`~Converter.is_data`, :meth:`~Converter.emit`, :meth:`~Converter.emit_named`,
:meth:`~Converter.alias`, :meth:`~Converter.base_name`, :meth:`~Converter.name_of`
and the :attr:`~Converter.sample_shape` of each node.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from regionscope.network.layers import Argmax, Graph, Layer

from .copying import copy_without_hooks, hooked_modules
from .functions import function_handler
from .inplace import InplaceGuard, follow_inplace, latest_version
from .methods import method_handler
from .modules import module_handler
from .runs import BATCHES, Recorded, record_run
from .support import REQUIRED, SUPPORTED, describe_target, torch_names
from .tracing import ancestors, output_node, trace, truncate
from .verify import verify

__all__ = ["Converter", "convert"]


def convert(module: Any, input_shape: Sequence[int], until: str | None = None) -> Graph:
    """Convert a ``torch.nn.Module`` into a regionscope :class:`~regionscope.network.Graph`.

    Parameters
    ----------
    module : torch.nn.Module
        A piecewise-linear network (see :mod:`regionscope.network.torch_import`
        for what is supported).  It is not changed (not even its mode or hooks).
    input_shape : tuple of int
        Shape of one input sample, e.g. ``(2,)`` or ``(1, 8, 8)``; the
        converted graph takes flat inputs ``(N, prod(input_shape))``.
    until : str, optional
        Stop after this submodule (its dotted name in
        ``module.named_modules()``): the graph's output is that submodule's
        output.

    Returns
    -------
    Graph
        Nodes named after the traced operations (``"features.0"``,
        ``"relu_1"``); float32 models are converted to float64.

    Raises
    ------
    TypeError
        ``module`` is not a torch module, or uses an operation regionscope
        cannot convert (the message names the fx node, its target and its
        index in the traced graph), or a layer in training mode whose
        behaviour depends on the mode (batch-norm, dropout), or the converted
        network differs from the model on random inputs.
    ValueError
        Bad ``input_shape`` (the model does not run on it) or ``until``.

    Examples
    --------
    >>> import torch
    >>> import numpy as np
    >>> net = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.ReLU(), torch.nn.Linear(3, 1))
    >>> g = convert(net, (2,))
    >>> [name for name, _, _ in g.nodes]
    ['0', '1', '2']
    >>> x = np.array([[0.5, -1.0]])
    >>> bool(np.allclose(g.forward(x), net.double()(torch.tensor(x)).detach().numpy()))
    True
    """
    names = torch_names()
    if not isinstance(module, names.nn.Module):
        raise TypeError(f"module must be a torch.nn.Module, got {type(module).__name__}")
    shape = _check_input_shape(input_shape)
    if until is not None:
        _check_until(module, until)
    hooked = hooked_modules(module)
    if hooked:
        warnings.warn(
            f"forward hooks of {hooked[:5]} are not part of the converted network "
            "(regionscope converts the modules' forward methods only)",
            UserWarning,
            stacklevel=2,
        )
    torch = names.torch
    with torch.no_grad():
        model = copy_without_hooks(module).to(device="cpu", dtype=torch.float64)
        return Converter(model, shape, until).convert()


def _check_input_shape(input_shape: Any) -> tuple[int, ...]:
    message = f"input_shape must be a tuple of positive ints (one sample), got {input_shape!r}"
    try:
        shape = (int(input_shape),) if np.ndim(input_shape) == 0 else tuple(input_shape)
        shape = tuple(int(s) for s in shape)
    except (TypeError, ValueError):
        raise ValueError(message) from None
    if not shape or min(shape) < 1:
        raise ValueError(message)
    return shape


def _check_until(module: Any, until: Any) -> None:
    if not isinstance(until, str):
        raise TypeError(f"until must be a module name (str), got {type(until).__name__}")
    names = [name for name, _ in module.named_modules() if name]
    if until not in names:
        close = difflib.get_close_matches(until, names, n=3)
        hint = f"; did you mean {', '.join(map(repr, close))}?" if close else ""
        raise ValueError(
            f"until={until!r} is not the name of a submodule of {type(module).__name__} "
            f"(names as in model.named_modules(), e.g. {names[:4]}){hint}"
        )


@dataclasses.dataclass(frozen=True)
class _FinalSoftmax:
    """A softmax ending the forward: converted as an Argmax on its logits."""

    node: Any
    logits: Any
    function: str  # "softmax" or "log_softmax"


class Converter:
    """Turns the traced operations of one model into the nodes of a regionscope Graph.

    Parameters
    ----------
    model : torch.nn.Module
        The float64 copy of the model (it is traced and run, never changed
        otherwise).
    shape : tuple of int
        Shape of one input sample.
    until : str or None
        Name of the submodule whose output is the graph's output.

    Attributes
    ----------
    sample_shape : dict
        Shape of one sample of each converted tensor node (no batch axis).
    """

    def __init__(self, model: Any, shape: tuple[int, ...], until: str | None) -> None:
        self.model = model
        self.shape = shape
        self.until = until
        self.sample_shape: dict[Any, tuple[int, ...]] = {}
        self._names: dict[Any, str] = {}
        self._used_names: set[str] = set()
        self._graph_nodes: list[tuple[str, Layer, list[str]]] = []
        self._node_index: dict[str, int] = {}
        self._modules: dict[str, Any] = {}
        self._dep: set[Any] = set()
        self._needed: set[Any] = set()
        self._runs: list[dict[Any, Recorded]] = []

    # ---------------------------------------------------------------- main
    def convert(self) -> Graph:
        """Convert the model (once per converter).

        Returns
        -------
        Graph

        Raises
        ------
        TypeError, ValueError
            As :func:`convert`.
        """
        gm, target, changes = self._traced_graph()
        nodes = list(gm.graph.nodes)
        self._dep = self._dependent(nodes, target)
        final = self._final_softmax(target)
        skip = set()
        if final is not None:
            skip.add(final.node)
            target = final.logits
        # modules are checked before anything runs (training mode, unsupported types)
        for n in nodes:
            if n in self._dep and n in self._needed and n.op == "call_module" and n not in skip:
                self._handler(n)
        inputs = self._record_runs(gm, target, changes)
        self._build(nodes, target, skip)
        output = self._names[target]
        if final is not None:
            shape = self.sample_shape[target]
            if len(shape) != 1 or shape[0] < 2:
                raise self.fail(
                    final.node, f"a final softmax needs logits of shape (classes,), got {shape}"
                )
            output = self.emit_named("argmax", Argmax(), [output])
        graph = Graph(self._graph_nodes, output=output)
        function = None if final is None else final.function
        logits = [run[target].value for run in self._runs] if final is not None else []
        context = self._context()
        verify(
            graph,
            self.model,
            inputs,
            until=self.until,
            final=function,
            logits=logits,
            context=context,
        )
        return graph

    def _context(self) -> str:
        return f"input_shape={self.shape} plus a batch axis"

    def _traced_graph(self) -> tuple[Any, Any, dict]:
        """The traced graph cut to the output, its output node, and its in-place nodes.

        In-place nodes before the output stay in the graph even where the
        output does not need them: they run (and :class:`InplaceGuard`
        checks them), but only the nodes the output needs are converted.
        """
        traced = trace(self.model, self.until)
        self._node_index = traced.node_index
        changes = follow_inplace(traced.module)
        if traced.until is not None:
            target = latest_version(*traced.until, changes)
        else:
            target = output_node(traced.module).args[0]
        position = self._node_index[target.name]
        inplace = [
            n
            for n in traced.module.graph.nodes
            if n.name in changes and self._node_index[n.name] < position
        ]
        gm = truncate(traced.module, target, also=inplace)
        self._modules = dict(gm.named_modules())
        target = output_node(gm).args[0]
        self._needed = ancestors([target])
        return gm, target, changes

    def _dependent(self, nodes: list[Any], target: Any) -> set[Any]:
        """The nodes that depend on the input (the first placeholder)."""
        inp = next(n for n in nodes if n.op == "placeholder")
        dep: set[Any] = set()
        for n in nodes:
            if n is inp or any(a in dep for a in n.all_input_nodes):
                dep.add(n)
        if target not in dep:
            raise TypeError(
                f"cannot convert {type(self.model).__name__}: its output does not depend on "
                "its input"
            )
        self._names[inp] = "input"
        self._used_names.add("input")
        self.sample_shape[inp] = self.shape
        return dep

    def _record_runs(self, gm: Any, target: Any, changes: dict) -> list[Any]:
        """Run the graph twice, on batches of two sizes: shapes, constants, batch mixing."""
        torch = torch_names().torch
        rng = np.random.default_rng(0)
        keep = {n for n in gm.graph.nodes if n not in self._dep} | {target}
        guard = InplaceGuard(gm, changes, self.fail)
        inputs = [torch.from_numpy(rng.normal(size=(b, *self.shape))) for b in BATCHES]
        what = type(self.model).__name__
        self._runs = [record_run(gm, x, keep, guard, what, self._context()) for x in inputs]
        return inputs

    def _build(self, nodes: list[Any], target: Any, skip: set[Any]) -> None:
        """Hand each node computed from the input to its handler, in order."""
        b0, b1 = BATCHES
        for n in nodes:
            if n not in self._dep or n not in self._needed or n in skip:
                continue
            if n.op in ("placeholder", "output"):
                continue
            first, second = self._runs[0][n], self._runs[1][n]
            if not first.is_tensor:
                if n is target:
                    kind = type(first.value).__name__
                    raise self.fail(n, f"its result is a {kind}, not a tensor")
                continue  # sizes (x.shape[0]) and other metadata: used as arguments only
            handler = self._handler(n)
            shape_a, shape_b = first.shape or (), second.shape or ()
            if shape_a[:1] != (b0,) or shape_b[:1] != (b1,) or shape_a[1:] != shape_b[1:]:
                raise self.fail(
                    n,
                    f"its output has shape {shape_a} for a batch of {b0} inputs and {shape_b} "
                    f"for a batch of {b1}: it mixes or drops the batch axis (regionscope needs "
                    "every operation to act on each sample separately)",
                )
            self.sample_shape[n] = tuple(shape_a[1:])
            handler(n)

    def _final_softmax(self, node: Any) -> _FinalSoftmax | None:
        """``node`` as a softmax over the features of its input, or None."""
        names = torch_names()
        nn, F, torch = names.nn, names.F, names.torch
        function = "softmax"
        if node.op == "call_module":
            m = self._modules.get(node.target)
            if not isinstance(m, (nn.Softmax, nn.LogSoftmax)):
                return None
            dim = m.dim
            function = "log_softmax" if isinstance(m, nn.LogSoftmax) else "softmax"
        elif node.op == "call_function" and node.target in (
            F.softmax,
            F.log_softmax,
            torch.softmax,
            torch.log_softmax,
        ):
            dim = node.kwargs.get("dim", node.args[1] if len(node.args) > 1 else None)
            function = node.target.__name__
        elif node.op == "call_method" and node.target in ("softmax", "log_softmax"):
            dim = node.kwargs.get("dim", node.args[1] if len(node.args) > 1 else None)
            function = str(node.target)
        else:
            return None
        if dim not in (1, -1) or not node.args or not hasattr(node.args[0], "op"):
            return None
        return _FinalSoftmax(node, node.args[0], function)

    # ---------------------------------------------------------------- dispatch
    def _handler(self, node: Any) -> Callable[[Any], None]:
        if node.op == "call_module":
            return module_handler(self, node, self._modules[node.target])
        if node.op == "call_function":
            handler = function_handler(node.target)
            if handler is None:
                raise self.fail(node, f"not a supported operation (supported: {SUPPORTED})")
            return functools.partial(handler, self)
        if node.op == "call_method":
            handler = method_handler(node.target)
            if handler is None:
                raise self.fail(node, f"not a supported method (supported: {SUPPORTED})")
            return functools.partial(handler, self)
        if node.op == "get_attr":
            return lambda n: None
        raise self.fail(node, "a second input of forward is not supported")

    # ---------------------------------------------------------------- for handlers
    def fail(self, node: Any, reason: str) -> TypeError:
        """The error to raise for ``node``: its index, name, target and ``reason``.

        Parameters
        ----------
        node : torch.fx.Node
            The traced node that cannot be converted.
        reason : str
            Why (the rule it breaks).

        Returns
        -------
        TypeError
            ``cannot convert node 3 'relu_' (function 'torch.relu_'): reason``.
        """
        idx = self._node_index.get(node.name, "?")
        extra = ""
        if node.op == "call_module" and node.target in self._modules:
            extra = f", {type(self._modules[node.target]).__name__}"
        return TypeError(
            f"cannot convert node {idx} '{node.name}' ({describe_target(node)}{extra}): {reason}"
        )

    def name_of(self, arg: Any) -> str:
        """The graph name of a converted node's value (a ``str`` is returned as it is)."""
        return arg if isinstance(arg, str) else self._names[arg]

    def base_name(self, node: Any) -> str:
        """The name a node's layers are named after: its module path, or its fx name."""
        return str(node.target) if node.op == "call_module" else str(node.name)

    def emit_named(self, base: str, layer: Layer, inputs: Sequence[Any]) -> str:
        """Add ``layer`` under a fresh name derived from ``base``, and return the name.

        Parameters
        ----------
        base : str
            The name, or its stem when taken (``"relu:1"``).
        layer : Layer
            The layer.
        inputs : sequence of torch.fx.Node or str
            Its inputs: converted nodes, or names returned by this method.
        """
        unique = base
        k = 1
        while unique in self._used_names:
            unique = f"{base}:{k}"
            k += 1
        self._used_names.add(unique)
        self._graph_nodes.append((unique, layer, [self.name_of(i) for i in inputs]))
        return unique

    def emit(self, node: Any, layer: Layer, inputs: Sequence[Any]) -> str:
        """Add ``layer``, computing ``node`` from ``inputs``, and return its name.

        Parameters
        ----------
        node : torch.fx.Node
            The node the layer computes (named after it, see :meth:`base_name`).
        layer : Layer
            The layer.
        inputs : sequence of torch.fx.Node or str
            Its inputs: converted nodes, or names returned by :meth:`emit_named`.
        """
        name = self.emit_named(self.base_name(node), layer, inputs)
        self._names[node] = name
        return name

    def alias(self, node: Any, source: Any) -> None:
        """Let ``node`` stand for the converted value of ``source`` (no layer)."""
        self._names[node] = self._names[source]

    def is_data(self, arg: Any) -> bool:
        """Whether ``arg`` is a tensor node computed from the input (and converted)."""
        return arg in self._dep and arg in self.sample_shape

    def data(self, node: Any, arg: Any, what: str = "input") -> Any:
        """``arg``, checked to be a tensor computed from the input (see :meth:`is_data`)."""
        if not self.is_data(arg):
            raise self.fail(node, f"its {what} must be a tensor computed from the input")
        return arg

    def const(self, node: Any, arg: Any) -> Any:
        """The value of an argument of ``node`` that does not depend on the input.

        Tensors become float64 arrays; nodes are replaced by their recorded
        values (sizes must not depend on the batch size).
        """
        import torch.fx as fx

        torch = torch_names().torch

        def resolve(a: Any) -> Any:
            if not isinstance(a, fx.Node):
                return a
            if a in self.sample_shape:
                raise self.fail(
                    node,
                    f"its argument '{a.name}' depends on the input where regionscope needs a"
                    " constant (a product or quotient of two such tensors is not piecewise"
                    " linear)",
                )
            first = self._runs[0][a]
            if a in self._dep:
                second = self._runs[1][a]
                if first.is_tensor or second.value != first.value:
                    raise self.fail(node, f"its argument '{a.name}' depends on the batch size")
            return first.value

        value = fx.node.map_aggregate(arg, resolve)
        if isinstance(value, torch.Tensor):
            return value.detach().numpy().astype(np.float64)
        return value

    def bind(self, node: Any, params: Sequence[tuple[str, Any]]) -> dict[str, Any]:
        """Match a call's arguments to named parameters.

        Parameters
        ----------
        node : torch.fx.Node
            A call.
        params : sequence of (str, object)
            Parameter names in order, with defaults (``REQUIRED`` for none).

        Returns
        -------
        dict
            Every parameter's argument (or default).
        """
        args = list(node.args)
        names = [p for p, _ in params]
        if len(args) > len(names):
            raise self.fail(node, f"it is called with {len(args)} positional arguments")
        out = dict(zip(names, args, strict=False))
        for key, value in node.kwargs.items():
            if key not in names or key in out:
                raise self.fail(node, f"unexpected keyword argument {key!r}")
            out[key] = value
        for p, default in params:
            if p not in out:
                if default is REQUIRED:
                    raise self.fail(node, f"missing argument {p!r}")
                out[p] = default
        return out
