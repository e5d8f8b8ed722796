"""Convert a PyTorch module into a regionscope :class:`~regionscope.layers.Graph`.

The module is traced with :mod:`torch.fx` (so subclasses of torch layers,
nested containers and custom ``forward`` methods are followed, not matched by
name), run on a float64 copy to learn every tensor's shape, and each traced
operation becomes a regionscope layer named after it (``"features.0"`` for a
submodule, ``"relu_1"`` or ``"add"`` for a function).  The converted network
is then checked against the torch model on random inputs.

The user's model is never changed: all work is done on a deep copy, made
without its hooks (hooks are not part of the converted network).

torch is imported only when a function here is called, so importing this
module is cheap and works without torch; :func:`is_torch_module` never
imports it.

Supported
---------
``Linear``; ``Conv1d/2d/3d`` (zero padding, any stride, dilation, groups);
``BatchNorm1d/2d/3d`` in evaluation mode (folded into a per-channel affine
map); ``AvgPool1d/2d``, ``AdaptiveAvgPool1d/2d``, ``mean`` over sample axes;
``MaxPool1d/2d`` (windowed max); ``Flatten``, ``Unflatten``, ``view``,
``reshape``, ``flatten``, ``squeeze``, ``unsqueeze``; ``ReLU``,
``LeakyReLU``, ``PReLU``, ``ReLU6``, ``Hardtanh``; ``Identity`` and dropout in
evaluation mode; ``+``/``-`` of two tensors (residual blocks), ``+ - * /``
with constants; ``torch.cat`` along the channel axis; and the functional
forms (``F.relu``, ``torch.relu``, ``F.conv2d``, ``F.max_pool2d``...).
Anything else raises ``TypeError`` naming the traced node.
"""

from __future__ import annotations

import copy
import difflib
import functools
import operator
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from regionscope.tolerance import get_tolerance

from .coerce import is_torch_module
from .conv import (
    AdaptiveAvgPool,
    AvgPool,
    AxisLinear,
    ChannelAffine,
    Conv,
    ElementwiseAffine,
    PReLU,
    Reshape,
    maxpool_groups,
)
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
    ReLU,
)

__all__ = ["convert", "is_torch_module"]

SUPPORTED = (
    "Linear, Conv1d/2d/3d, BatchNorm (eval), AvgPool, AdaptiveAvgPool, mean, MaxPool1d/2d, "
    "Flatten/view/reshape, ReLU, LeakyReLU, PReLU, ReLU6, Hardtanh, Identity, Dropout (eval), "
    "x + y, x - y, affine ops with constants, torch.cat(dim=1)"
)

# hook dictionaries of torch.nn.Module (not copied into the traced copy)
_HOOK_DICTS = (
    "_forward_hooks",
    "_forward_hooks_with_kwargs",
    "_forward_hooks_always_called",
    "_forward_pre_hooks",
    "_forward_pre_hooks_with_kwargs",
    "_backward_hooks",
    "_backward_pre_hooks",
)


def _describe_target(node: Any) -> str:
    if node.op == "call_module":
        return f"module '{node.target}'"
    if node.op == "call_method":
        return f"method '.{node.target}()'"
    if node.op == "call_function":
        fn = node.target
        name = getattr(fn, "__name__", None) or repr(fn)
        mod = getattr(fn, "__module__", None) or ""
        if mod in ("torch", "torch._C._VariableFunctions") or mod.startswith("torch._C"):
            mod = "torch.nn.functional" if mod == "torch._C._nn" else "torch"
        elif mod == "_operator":
            mod = "operator"
        return f"function '{mod + '.' if mod else ''}{name}'"
    return f"{node.op} '{node.target}'"


@functools.lru_cache(maxsize=1)
def _tables() -> dict[str, Any]:
    """Torch classes and functions the converter knows (built on first use)."""
    import torch
    import torch.nn.functional as F
    from torch import nn

    leaf_types = (
        nn.Linear,
        nn.Conv1d,
        nn.Conv2d,
        nn.Conv3d,
        nn.BatchNorm1d,
        nn.BatchNorm2d,
        nn.BatchNorm3d,
        nn.AvgPool1d,
        nn.AvgPool2d,
        nn.AdaptiveAvgPool1d,
        nn.AdaptiveAvgPool2d,
        nn.MaxPool1d,
        nn.MaxPool2d,
        nn.Flatten,
        nn.Unflatten,
        nn.ReLU,
        nn.LeakyReLU,
        nn.PReLU,
        nn.Hardtanh,
        nn.ReLU6,
        nn.Identity,
        nn.modules.dropout._DropoutNd,
    )
    known_forwards = set()
    for cls in leaf_types:
        for sub in (cls, *_subclasses(cls)):
            if sub.__module__.startswith("torch.nn"):
                known_forwards.add(sub.forward)
    return {
        "torch": torch,
        "nn": nn,
        "F": F,
        "leaf_types": leaf_types,
        "known_forwards": frozenset(known_forwards),
    }


def _subclasses(cls: type) -> list[type]:
    out = []
    for sub in cls.__subclasses__():
        out.append(sub)
        out.extend(_subclasses(sub))
    return out


def _check_input_shape(input_shape: Any) -> tuple[int, ...]:
    try:
        shape = (int(input_shape),) if np.ndim(input_shape) == 0 else tuple(input_shape)
        shape = tuple(int(s) for s in shape)
    except (TypeError, ValueError):
        raise ValueError(
            f"input_shape must be a tuple of positive ints (one sample), got {input_shape!r}"
        ) from None
    if not shape or min(shape) < 1:
        raise ValueError(
            f"input_shape must be a tuple of positive ints (one sample), got {input_shape!r}"
        )
    return shape


def _copy_without_hooks(module: Any) -> Any:
    """Deep copy of ``module`` whose modules have no hooks (the hooks are not copied)."""
    memo: dict[int, Any] = {}
    for m in module.modules():
        for attr in _HOOK_DICTS:
            d = m.__dict__.get(attr)
            if isinstance(d, dict):
                memo[id(d)] = type(d)()
    try:
        return copy.deepcopy(module, memo)
    except Exception as exc:  # noqa: BLE001 - any failure of a user's __deepcopy__
        raise TypeError(
            f"cannot convert the model: copying it with copy.deepcopy failed ({exc!r}); "
            "regionscope converts a copy so that the model itself is never changed"
        ) from exc


def _hooked_modules(module: Any) -> list[str]:
    names = []
    for name, m in module.named_modules():
        if any(getattr(m, attr, None) for attr in _HOOK_DICTS[:5]):
            names.append(name or "<model>")
    return names


def convert(module: Any, input_shape: Sequence[int], until: str | None = None) -> Graph:
    """Convert a ``torch.nn.Module`` into a regionscope :class:`~regionscope.layers.Graph`.

    Parameters
    ----------
    module : torch.nn.Module
        A piecewise-linear network (see the module docstring for what is
        supported).  It is not changed (not even its mode or hooks).
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
        behaviour depends on the mode (batch-norm, dropout).
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
    tables = _tables()
    nn = tables["nn"]
    if not isinstance(module, nn.Module):
        raise TypeError(f"module must be a torch.nn.Module, got {type(module).__name__}")
    shape = _check_input_shape(input_shape)
    if until is not None:
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
    hooked = _hooked_modules(module)
    if hooked:
        warnings.warn(
            f"forward hooks of {hooked[:5]} are not part of the converted network "
            "(regionscope converts the modules' forward methods only)",
            UserWarning,
            stacklevel=2,
        )
    torch = tables["torch"]
    with torch.no_grad():
        model = _copy_without_hooks(module).to(device="cpu", dtype=torch.float64)
        converter = _Converter(model, shape, until)
        return converter.convert()


class _Converter:
    def __init__(self, model: Any, shape: tuple[int, ...], until: str | None) -> None:
        self.t = _tables()
        self.model = model
        self.shape = shape
        self.until = until

    # ---------------------------------------------------------------- tracing
    def _trace(self) -> tuple[Any, Any]:
        import torch.fx as fx

        known = self.t["known_forwards"]
        leaf_types = self.t["leaf_types"]
        until = self.until

        class Tracer(fx.Tracer):
            def __init__(self) -> None:
                super().__init__()
                self.until_outputs: list[Any] = []

            def is_leaf_module(self, m: Any, qualname: str) -> bool:
                if isinstance(m, leaf_types) and type(m).forward in known:
                    return True  # torch's own forward: convert by type
                return super().is_leaf_module(m, qualname)

            def call_module(self, m: Any, forward: Any, args: Any, kwargs: Any) -> Any:
                out = super().call_module(m, forward, args, kwargs)
                if until is not None and self.path_of_module(m) == until:
                    self.until_outputs.append(out)
                return out

        tracer = Tracer()
        try:
            graph = tracer.trace(self.model)
        except Exception as exc:  # noqa: BLE001 - fx raises many kinds of errors
            raise TypeError(
                f"cannot convert {type(self.model).__name__}: torch.fx could not trace its "
                f"forward ({type(exc).__name__}: {exc}); regionscope needs a forward without "
                "control flow that depends on the input"
            ) from exc
        gm = fx.GraphModule(tracer.root, graph)
        self.node_index = {n.name: i for i, n in enumerate(gm.graph.nodes)}
        outputs = [n for n in gm.graph.nodes if n.op == "output"]
        if until is not None:
            found = tracer.until_outputs
            if len(found) != 1:
                how = "never called" if not found else f"called {len(found)} times"
                raise ValueError(
                    f"until={until!r}: that module is {how} in the model's forward; "
                    "until needs a module called exactly once"
                )
            target = found[0]
            if not isinstance(target, fx.Proxy):
                raise TypeError(
                    f"until={until!r}: that module returns {type(target).__name__}, not a tensor"
                )
            target = target.node
        else:
            target = outputs[0].args[0]
            if not isinstance(target, fx.Node):
                raise TypeError(
                    f"cannot convert {type(self.model).__name__}: its forward must return one "
                    f"tensor, it returns {type(target).__name__}"
                )
        return gm, target

    def _truncate(self, gm: Any, target: Any) -> Any:
        """A GraphModule computing ``target`` only (and every placeholder)."""
        import torch.fx as fx

        needed = set()
        stack = [target]
        while stack:
            n = stack.pop()
            if n in needed:
                continue
            needed.add(n)
            stack.extend(n.all_input_nodes)
        graph = fx.Graph()
        env: dict[Any, Any] = {}
        for n in gm.graph.nodes:
            if n in needed or n.op == "placeholder":
                env[n] = graph.node_copy(n, lambda a: env[a])
        graph.output(env[target])
        return fx.GraphModule(gm, graph)

    # ---------------------------------------------------------------- errors
    def fail(self, node: Any, reason: str) -> TypeError:
        idx = self.node_index.get(node.name, "?")
        extra = ""
        if node.op == "call_module":
            extra = f", {type(self.modules[node.target]).__name__}"
        return TypeError(
            f"cannot convert node {idx} '{node.name}' ({_describe_target(node)}{extra}): {reason}"
        )

    # ---------------------------------------------------------------- running
    def _run(self, gm: Any, x: Any, keep: set[Any]) -> dict[Any, Any]:
        import torch.fx as fx

        torch = self.t["torch"]
        record: dict[Any, Any] = {}

        class Recorder(fx.Interpreter):
            def call_module(self, target: Any, args: Any, kwargs: Any) -> Any:
                return self.fetch_attr(target).forward(*args, **kwargs)  # no hooks

            def run_node(self, n: Any) -> Any:
                out = super().run_node(n)
                if isinstance(out, torch.Tensor):
                    value = out.detach().clone() if n in keep else None
                    record[n] = ("tensor", tuple(out.shape), value)
                else:
                    record[n] = ("other", None, out)
                return out

        Recorder(gm).run(x)
        return record

    # ---------------------------------------------------------------- main
    def convert(self) -> Graph:
        torch = self.t["torch"]
        gm, target = self._trace()
        gm = self._truncate(gm, target)
        self.modules = dict(gm.named_modules())
        nodes = list(gm.graph.nodes)
        target = [n for n in nodes if n.op == "output"][0].args[0]
        placeholders = [n for n in nodes if n.op == "placeholder"]
        inp = placeholders[0]
        # which nodes depend on the input
        dep: set[Any] = set()
        for n in nodes:
            if n is inp or any(a in dep for a in n.all_input_nodes):
                dep.add(n)
        if target not in dep:
            raise TypeError(
                f"cannot convert {type(self.model).__name__}: its output does not depend on "
                "its input"
            )
        # a softmax as the very last step keeps the class decision: it becomes an Argmax
        # on the logits (softmax itself is not piecewise linear)
        final_softmax = self._final_softmax(target)
        skip = set()
        if final_softmax is not None:
            skip.add(target)
            target = final_softmax
        # modules are checked before anything runs (training mode, unsupported types)
        for n in nodes:
            if n in dep and n.op == "call_module" and n not in skip:
                self._handler(n)
        # run twice, on batches of two sizes, to learn shapes and catch batch mixing
        rng = np.random.default_rng(0)
        keep = {n for n in nodes if n not in dep} | {target}
        runs = []
        inputs = []
        for batch in _BATCHES:
            x = torch.from_numpy(rng.normal(size=(batch, *self.shape)))
            try:
                # leave the global RNG as it was; torch's own warnings about the model are
                # the user's to see when running it, not noise of the conversion
                with torch.random.fork_rng(devices=[]), warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    runs.append(self._run(gm, x, keep))
            except Exception as exc:  # noqa: BLE001 - report any failure with the shape
                raise ValueError(
                    f"running {type(self.model).__name__} on an input of shape "
                    f"{tuple(x.shape)} (input_shape={self.shape} plus a batch axis) failed: "
                    f"{type(exc).__name__}: {exc}"
                ) from exc
            inputs.append(x)
        self.runs = runs
        self.dep = dep
        self.sample_shape: dict[Any, tuple[int, ...]] = {}
        self.names: dict[Any, str] = {inp: "input"}
        self.sample_shape[inp] = self.shape
        self.used_names = {"input"}
        self.graph_nodes: list[tuple[str, Layer, list[str]]] = []
        for n in nodes:
            if n not in dep or n is inp or n.op == "output" or n in skip:
                continue
            kind_a, shape_a, value_a = runs[0][n]
            kind_b, shape_b, _ = runs[1][n]
            if kind_a != "tensor":
                if n is target:
                    raise self.fail(n, f"its result is a {type(value_a).__name__}, not a tensor")
                continue  # sizes (x.shape[0]) and other metadata: used as arguments only
            handler = self._handler(n)
            b0, b1 = _BATCHES
            if shape_a[:1] != (b0,) or shape_b[:1] != (b1,) or shape_a[1:] != shape_b[1:]:
                raise self.fail(
                    n,
                    f"its output has shape {shape_a} for a batch of {b0} inputs and {shape_b} "
                    f"for a batch of {b1}: it mixes or drops the batch axis (regionscope needs "
                    "every operation to act on each sample separately)",
                )
            self.sample_shape[n] = tuple(shape_a[1:])
            handler(n)
        output = self.names[target]
        if final_softmax is not None:
            if len(self.sample_shape[target]) != 1 or self.sample_shape[target][0] < 2:
                raise self.fail(
                    next(iter(skip)),
                    f"a final softmax needs logits of shape (classes,), got "
                    f"{self.sample_shape[target]}",
                )
            output = self._emit_named("argmax", Argmax(), [output])
        graph = Graph(self.graph_nodes, output=output)
        self._verify(graph, inputs, target)
        return graph

    def _final_softmax(self, node: Any) -> Any:
        """The logits node, if ``node`` is a softmax over features fed by them; else None."""
        nn, F, torch = self.t["nn"], self.t["F"], self.t["torch"]
        dim: Any = None
        if node.op == "call_module":
            m = self.modules.get(node.target)
            if not isinstance(m, (nn.Softmax, nn.LogSoftmax)):
                return None
            dim = m.dim
        elif node.op == "call_function" and node.target in (
            F.softmax,
            F.log_softmax,
            torch.softmax,
            torch.log_softmax,
        ):
            dim = node.kwargs.get("dim", node.args[1] if len(node.args) > 1 else None)
        elif node.op == "call_method" and node.target in ("softmax", "log_softmax"):
            dim = node.kwargs.get("dim", node.args[1] if len(node.args) > 1 else None)
        else:
            return None
        if dim not in (1, -1) or not node.args or not hasattr(node.args[0], "op"):
            return None
        return node.args[0]

    def _verify(self, graph: Graph, inputs: list[Any], target: Any) -> None:
        worst = 0.0
        for x, run in zip(inputs, self.runs, strict=True):
            want = run[target][2].numpy().reshape(len(x), -1)
            got = graph.forward(x.numpy().reshape(len(x), -1))
            scale = max(1.0, float(np.abs(want).max()))
            worst = max(worst, float(np.abs(got - want).max()) / scale)
        if not worst <= get_tolerance().conversion_rtol:
            raise TypeError(
                f"cannot convert {type(self.model).__name__}: the converted network differs "
                f"from the model on random inputs (relative difference {worst:.3g}); its forward"
                " uses something regionscope does not follow (in-place changes of a tensor used"
                " twice, randomness, or a custom autograd function)"
            )

    # ---------------------------------------------------------------- helpers
    def _emit_named(self, base: str, layer: Layer, input_names: Sequence[str]) -> str:
        """Add a graph node under a fresh name derived from ``base``; return the name."""
        unique = base
        k = 1
        while unique in self.used_names:
            unique = f"{base}:{k}"
            k += 1
        self.used_names.add(unique)
        self.graph_nodes.append((unique, layer, list(input_names)))
        return unique

    def _base_name(self, node: Any) -> str:
        return str(node.target) if node.op == "call_module" else str(node.name)

    def _emit(self, node: Any, layer: Layer, inputs: Sequence[Any]) -> str:
        """The layer computing ``node`` from the data nodes ``inputs``."""
        name = self._emit_named(self._base_name(node), layer, [self.names[i] for i in inputs])
        self.names[node] = name
        return name

    def _alias(self, node: Any, source: Any) -> None:
        self.names[node] = self.names[source]

    def is_data(self, arg: Any) -> bool:
        return arg in self.dep and arg in self.sample_shape

    def data(self, node: Any, arg: Any, what: str = "input") -> Any:
        if not self.is_data(arg):
            raise self.fail(node, f"its {what} must be a tensor computed from the input")
        return arg

    def const(self, node: Any, arg: Any) -> Any:
        """The value of an argument that does not depend on the input."""
        import torch.fx as fx

        torch = self.t["torch"]

        def resolve(a: Any) -> Any:
            if isinstance(a, fx.Node):
                if a in self.sample_shape:
                    raise self.fail(
                        node,
                        f"its argument '{a.name}' depends on the input where regionscope needs a"
                        " constant (a product or quotient of two such tensors is not piecewise"
                        " linear)",
                    )
                kind, _, value = self.runs[0][a]
                if a in self.dep:
                    other = self.runs[1][a][2]
                    if kind != "other" or other != value:
                        raise self.fail(node, f"its argument '{a.name}' depends on the batch size")
                return value
            return a

        value = fx.node.map_aggregate(arg, resolve)
        if isinstance(value, torch.Tensor):
            return value.detach().numpy().astype(np.float64)
        return value

    def bind(self, node: Any, params: Sequence[tuple[str, Any]]) -> dict[str, Any]:
        """Match a call's args and kwargs to named parameters (with defaults)."""
        args = list(node.args)
        kwargs = dict(node.kwargs)
        names = [p for p, _ in params]
        if len(args) > len(names):
            raise self.fail(node, f"it is called with {len(args)} positional arguments")
        out = dict(zip(names, args, strict=False))
        for key, value in kwargs.items():
            if key not in names or key in out:
                raise self.fail(node, f"unexpected keyword argument {key!r}")
            out[key] = value
        for p, default in params:
            if p not in out:
                if default is _REQUIRED:
                    raise self.fail(node, f"missing argument {p!r}")
                out[p] = default
        return out

    # ---------------------------------------------------------------- dispatch
    def _handler(self, node: Any) -> Callable[[Any], None]:
        if node.op == "call_module":
            return self._module_handler(node)
        if node.op == "call_function":
            handler = _function_handlers().get(node.target)
            if handler is None:
                raise self.fail(node, f"not a supported operation (supported: {SUPPORTED})")
            return functools.partial(handler, self)
        if node.op == "call_method":
            handler = _METHOD_HANDLERS.get(node.target)
            if handler is None:
                raise self.fail(node, f"not a supported method (supported: {SUPPORTED})")
            return functools.partial(handler, self)
        if node.op == "get_attr":
            return lambda n: None
        raise self.fail(node, "a second input of forward is not supported")

    def _module_handler(self, node: Any) -> Callable[[Any], None]:
        nn = self.t["nn"]
        m = self.modules[node.target]
        if isinstance(m, (nn.modules.batchnorm._BatchNorm, nn.modules.dropout._DropoutNd)):
            if m.training:
                raise self.fail(
                    node,
                    "it is in training mode, where its output depends on the batch or on "
                    "randomness; call model.eval() before converting",
                )
        if isinstance(m, (nn.MaxPool1d, nn.MaxPool2d)) and m.return_indices:
            raise self.fail(node, "max-pooling with return_indices=True is not supported")
        for cls, handler in _module_handlers(self.t):
            if isinstance(m, cls):
                return functools.partial(handler, self, m)
        raise self.fail(
            node, f"{type(m).__name__} is not a supported layer (supported: {SUPPORTED})"
        )


_REQUIRED = object()
#: batch sizes of the two runs that find shapes and check the conversion
_BATCHES = (5, 6)


def _in_shape(conv: _Converter, node: Any, arg: Any) -> tuple[int, ...]:
    return conv.sample_shape[conv.data(node, arg)]


def _pool_shape(shape: tuple[int, ...], d: int) -> tuple[int, ...]:
    """Unbatched-style inputs (no channel axis) pool as one channel."""
    return (1, *shape) if len(shape) == d else shape


def _check_pool_rank(conv: _Converter, node: Any, shape: tuple[int, ...], d: int) -> None:
    if len(shape) != d + 1:
        raise conv.fail(node, f"it expects {d} spatial axes, got a sample of shape {shape}")


# ---------------------------------------------------------------------- layer builders


def _linear(conv: _Converter, node: Any, x: Any, weight: Any, bias: Any) -> None:
    shape = _in_shape(conv, node, x)
    if len(shape) != 1:
        raise conv.fail(
            node,
            f"a linear layer on samples of shape {shape} (more than one axis) is not supported;"
            " flatten first",
        )
    try:
        layer = Linear(weight, bias)
        layer.out_width(shape[0])
    except ValueError as exc:
        raise conv.fail(node, str(exc)) from None
    conv._emit(node, layer, [x])


def _conv(conv: _Converter, node: Any, x: Any, w: Any, b: Any, **kw: Any) -> None:
    shape = _in_shape(conv, node, x)
    try:
        layer = Conv(w, b, in_shape=shape, **kw)
    except (TypeError, ValueError) as exc:
        raise conv.fail(node, str(exc)) from None
    conv._emit(node, layer, [x])


def _batchnorm(
    conv: _Converter, node: Any, x: Any, mean: Any, var: Any, weight: Any, bias: Any, eps: Any
) -> None:
    if mean is None or var is None:
        raise conv.fail(
            node,
            "it normalizes with batch statistics (no running statistics: "
            "track_running_stats=False), which depend on the batch",
        )
    shape = _in_shape(conv, node, x)
    try:
        layer = ChannelAffine.from_batchnorm(mean, var, weight, bias, float(eps), in_shape=shape)
    except ValueError as exc:
        raise conv.fail(node, str(exc)) from None
    conv._emit(node, layer, [x])


def _maxpool(
    conv: _Converter, node: Any, x: Any, d: int, kernel: Any, stride: Any, padding: Any,
    dilation: Any, ceil_mode: Any, return_indices: Any,
) -> None:  # fmt: skip
    if return_indices:
        raise conv.fail(node, "max-pooling with return_indices=True is not supported")
    shape = _pool_shape(_in_shape(conv, node, x), d)
    _check_pool_rank(conv, node, shape, d)
    try:
        groups = maxpool_groups(shape, kernel, stride or None, padding, dilation, bool(ceil_mode))
    except (TypeError, ValueError) as exc:
        raise conv.fail(node, str(exc)) from None
    conv._emit(node, MaxPool(groups), [x])


def _avgpool(
    conv: _Converter, node: Any, x: Any, d: int, kernel: Any, stride: Any, padding: Any,
    ceil_mode: Any, count_include_pad: Any, divisor_override: Any,
) -> None:  # fmt: skip
    shape = _pool_shape(_in_shape(conv, node, x), d)
    _check_pool_rank(conv, node, shape, d)
    try:
        layer = AvgPool(
            shape, kernel, stride or None, padding, bool(ceil_mode), bool(count_include_pad),
            divisor_override,
        )  # fmt: skip
    except (TypeError, ValueError) as exc:
        raise conv.fail(node, str(exc)) from None
    conv._emit(node, layer, [x])


def _adaptive_avgpool(conv: _Converter, node: Any, x: Any, d: int, output_size: Any) -> None:
    shape = _pool_shape(_in_shape(conv, node, x), d)
    _check_pool_rank(conv, node, shape, d)
    try:
        layer = AdaptiveAvgPool(shape, output_size)
    except (TypeError, ValueError) as exc:
        raise conv.fail(node, str(exc)) from None
    conv._emit(node, layer, [x])


def _reshape(conv: _Converter, node: Any, x: Any) -> None:
    layer = Reshape(_in_shape(conv, node, x), conv.sample_shape[node])
    conv._emit(node, layer, [x])


def _activation(conv: _Converter, node: Any, x: Any, layer: Layer) -> None:
    conv.data(node, x)
    conv._emit(node, layer, [x])


def _prelu(conv: _Converter, node: Any, x: Any, weight: Any) -> None:
    shape = _in_shape(conv, node, x)
    w = np.asarray(weight, dtype=np.float64).reshape(-1)
    try:
        layer: Layer = LeakyReLU(float(w[0])) if w.size == 1 else PReLU(w, in_shape=shape)
    except ValueError as exc:
        raise conv.fail(node, str(exc)) from None
    conv._emit(node, layer, [x])


def _mean(conv: _Converter, node: Any, x: Any, dim: Any, keepdim: Any, dtype: Any) -> None:
    shape = _in_shape(conv, node, x)
    if dim is None or dtype is not None:
        raise conv.fail(node, "mean needs dim= (axes of a sample, not the batch), and no dtype")
    dims = [dim] if isinstance(dim, int) else list(dim)
    ndim = len(shape) + 1
    axes = {d % ndim for d in dims}
    if 0 in axes:
        raise conv.fail(node, "a mean over the batch axis mixes samples")
    mats = [np.full((1, n), 1.0 / n) if a + 1 in axes else None for a, n in enumerate(shape)]
    conv._emit(node, AxisLinear(mats, in_shape=shape), [x])


def _affine_const(conv: _Converter, node: Any, x: Any, scale: Any = 1.0, shift: Any = 0.0) -> None:
    shape = conv.sample_shape[x]
    if conv.sample_shape[node] != shape:
        raise conv.fail(
            node,
            f"a constant of shape {np.shape(scale if np.ndim(scale) else shift)} broadcasts the"
            f" sample shape {shape} to {conv.sample_shape[node]}",
        )
    pieces = []
    for value in (scale, shift):
        v = np.asarray(value, dtype=np.float64)
        if v.ndim == len(shape) + 1:
            if v.shape[0] != 1:
                raise conv.fail(node, f"a constant of shape {v.shape} differs across the batch")
            v = v[0]
        pieces.append(v)
    try:
        layer = ElementwiseAffine(pieces[0], pieces[1], in_shape=shape)
    except ValueError as exc:
        raise conv.fail(node, str(exc)) from None
    conv._emit(node, layer, [x])


def _arith(conv: _Converter, node: Any, op: str, a: Any, b: Any, alpha: Any = 1) -> None:
    """``a op alpha * b`` for op in add, sub, mul, div (a or b may be constant)."""
    a_data, b_data = conv.is_data(a), conv.is_data(b)
    if a_data and b_data:
        if op not in ("add", "sub"):
            raise conv.fail(
                node, "a product or quotient of two tensors computed from the input is not"
                " piecewise linear",
            )  # fmt: skip
        out = conv.sample_shape[node]
        if conv.sample_shape[a] != out or conv.sample_shape[b] != out:
            raise conv.fail(
                node,
                f"adding samples of shapes {conv.sample_shape[a]} and {conv.sample_shape[b]} "
                "(broadcasting between two computed tensors is not supported)",
            )
        coef = float(conv.const(node, alpha)) * (-1.0 if op == "sub" else 1.0)
        b_name = conv.names[b]
        if coef != 1.0:
            scale = ElementwiseAffine(coef, in_shape=out)
            b_name = conv._emit_named(f"{conv._base_name(node)}.scale", scale, [b_name])
        conv.names[node] = conv._emit_named(conv._base_name(node), Add(), [conv.names[a], b_name])
        return
    if not (a_data or b_data):
        raise conv.fail(node, "internal: no operand depends on the input")
    alpha_v = float(conv.const(node, alpha))
    if a_data:
        c = alpha_v * conv.const(node, b)
        if op == "add":
            return _affine_const(conv, node, a, 1.0, c)
        if op == "sub":
            return _affine_const(conv, node, a, 1.0, -c)
        if op == "mul":
            return _affine_const(conv, node, a, c, 0.0)
        if np.any(np.asarray(c) == 0):
            raise conv.fail(node, "division by a constant that is zero")
        return _affine_const(conv, node, a, 1.0 / np.asarray(c, dtype=np.float64), 0.0)
    c = conv.const(node, a)
    if op == "add":
        return _affine_const(conv, node, b, alpha_v, c)
    if op == "sub":
        return _affine_const(conv, node, b, -alpha_v, c)
    if op == "mul":
        return _affine_const(conv, node, b, alpha_v * np.asarray(c, dtype=np.float64), 0.0)
    raise conv.fail(node, "division by a tensor computed from the input is not piecewise linear")


def _cat(conv: _Converter, node: Any, tensors: Any, dim: Any) -> None:
    tensors = list(tensors)
    for t in tensors:
        conv.data(node, t, "every concatenated tensor")
    ndim = len(conv.sample_shape[node]) + 1
    d = int(conv.const(node, dim)) % ndim
    if d != 1:
        raise conv.fail(
            node,
            f"concatenation along axis {dim} of tensors with {ndim} axes: only the channel axis"
            " (dim=1) is supported",
        )
    if len(tensors) == 1:
        conv._alias(node, tensors[0])
        return
    conv._emit(node, Concat(), tensors)


# ---------------------------------------------------------------------- handler tables


def _module_handlers(t: dict[str, Any]) -> list[tuple[Any, Callable[..., None]]]:
    nn = t["nn"]

    def linear(c: _Converter, m: Any, node: Any) -> None:
        w = m.weight.detach().numpy()
        b = None if m.bias is None else m.bias.detach().numpy()
        _linear(c, node, node.args[0], w, b)

    def conv_nd(c: _Converter, m: Any, node: Any) -> None:
        if m.padding_mode != "zeros":
            raise c.fail(node, f"padding_mode={m.padding_mode!r} (only 'zeros' is supported)")
        w = m.weight.detach().numpy()
        b = None if m.bias is None else m.bias.detach().numpy()
        _conv(
            c, node, node.args[0], w, b, stride=m.stride, padding=m.padding,
            dilation=m.dilation, groups=m.groups,
        )  # fmt: skip

    def batchnorm(c: _Converter, m: Any, node: Any) -> None:
        def arr(p: Any) -> Any:
            return None if p is None else p.detach().numpy()

        mean = arr(m.running_mean) if m.track_running_stats else None
        var = arr(m.running_var) if m.track_running_stats else None
        _batchnorm(c, node, node.args[0], mean, var, arr(m.weight), arr(m.bias), m.eps)

    def maxpool(d: int) -> Callable[..., None]:
        def handler(c: _Converter, m: Any, node: Any) -> None:
            _maxpool(
                c, node, node.args[0], d, m.kernel_size, m.stride, m.padding, m.dilation,
                m.ceil_mode, m.return_indices,
            )  # fmt: skip

        return handler

    def avgpool(d: int) -> Callable[..., None]:
        def handler(c: _Converter, m: Any, node: Any) -> None:
            _avgpool(
                c, node, node.args[0], d, m.kernel_size, m.stride, m.padding, m.ceil_mode,
                m.count_include_pad, getattr(m, "divisor_override", None),
            )  # fmt: skip

        return handler

    def adaptive(d: int) -> Callable[..., None]:
        def handler(c: _Converter, m: Any, node: Any) -> None:
            _adaptive_avgpool(c, node, node.args[0], d, m.output_size)

        return handler

    def reshape(c: _Converter, m: Any, node: Any) -> None:
        _reshape(c, node, node.args[0])

    def relu(c: _Converter, m: Any, node: Any) -> None:
        _activation(c, node, node.args[0], ReLU())

    def leaky(c: _Converter, m: Any, node: Any) -> None:
        _activation(c, node, node.args[0], LeakyReLU(m.negative_slope))

    def prelu(c: _Converter, m: Any, node: Any) -> None:
        _prelu(c, node, node.args[0], m.weight.detach().numpy())

    def hardtanh(c: _Converter, m: Any, node: Any) -> None:
        _activation(c, node, node.args[0], HardTanh(m.min_val, m.max_val))

    def identity(c: _Converter, m: Any, node: Any) -> None:
        _activation(c, node, node.args[0] if node.args else node.kwargs["input"], Identity())

    return [
        (nn.Linear, linear),
        ((nn.Conv1d, nn.Conv2d, nn.Conv3d), conv_nd),
        ((nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d), batchnorm),
        (nn.MaxPool1d, maxpool(1)),
        (nn.MaxPool2d, maxpool(2)),
        (nn.AvgPool1d, avgpool(1)),
        (nn.AvgPool2d, avgpool(2)),
        (nn.AdaptiveAvgPool1d, adaptive(1)),
        (nn.AdaptiveAvgPool2d, adaptive(2)),
        ((nn.Flatten, nn.Unflatten), reshape),
        (nn.ReLU, relu),
        (nn.LeakyReLU, leaky),
        (nn.PReLU, prelu),
        (nn.Hardtanh, hardtanh),  # ReLU6 is a Hardtanh(0, 6)
        ((nn.Identity, nn.modules.dropout._DropoutNd), identity),
    ]


@functools.lru_cache(maxsize=1)
def _function_handlers() -> dict[Any, Callable[..., None]]:
    t = _tables()
    torch, F = t["torch"], t["F"]
    R = _REQUIRED

    def fn(params: Sequence[tuple[str, Any]], build: Callable[..., None]) -> Callable[..., None]:
        def handler(c: _Converter, node: Any) -> None:
            kw = c.bind(node, params)
            build(c, node, kw)

        return handler

    def act(make: Callable[[_Converter, Any, dict], Layer], params: Sequence) -> Callable:
        return fn(params, lambda c, n, kw: _activation(c, n, kw["input"], make(c, n, kw)))

    relu = act(lambda c, n, kw: ReLU(), [("input", R), ("inplace", False)])
    leaky = act(
        lambda c, n, kw: LeakyReLU(float(c.const(n, kw["negative_slope"]))),
        [("input", R), ("negative_slope", 0.01), ("inplace", False)],
    )
    hardtanh = act(
        lambda c, n, kw: HardTanh(
            float(c.const(n, kw["min_val"])), float(c.const(n, kw["max_val"]))
        ),
        [("input", R), ("min_val", -1.0), ("max_val", 1.0), ("inplace", False)],
    )
    relu6 = act(lambda c, n, kw: HardTanh(0.0, 6.0), [("input", R), ("inplace", False)])
    prelu = fn(
        [("input", R), ("weight", R)],
        lambda c, n, kw: _prelu(c, n, kw["input"], c.const(n, kw["weight"])),
    )
    linear = fn(
        [("input", R), ("weight", R), ("bias", None)],
        lambda c, n, kw: _linear(
            c, n, kw["input"], c.const(n, kw["weight"]), c.const(n, kw["bias"])
        ),
    )
    conv_params = [
        ("input", R), ("weight", R), ("bias", None), ("stride", 1), ("padding", 0),
        ("dilation", 1), ("groups", 1),
    ]  # fmt: skip

    def conv_build(c: _Converter, n: Any, kw: dict) -> None:
        _conv(
            c, n, kw["input"], c.const(n, kw["weight"]), c.const(n, kw["bias"]),
            stride=c.const(n, kw["stride"]), padding=c.const(n, kw["padding"]),
            dilation=c.const(n, kw["dilation"]), groups=int(c.const(n, kw["groups"])),
        )  # fmt: skip

    conv = fn(conv_params, conv_build)

    def maxpool(d: int) -> Callable:
        params = [
            ("input", R), ("kernel_size", R), ("stride", None), ("padding", 0),
            ("dilation", 1), ("ceil_mode", False), ("return_indices", False),
        ]  # fmt: skip
        return fn(
            params,
            lambda c, n, kw: _maxpool(
                c, n, kw["input"], d,
                *(c.const(n, kw[k]) for k in _param_names(params)[1:]),
            ),
        )  # fmt: skip

    def avgpool(d: int) -> Callable:
        params = [
            ("input", R), ("kernel_size", R), ("stride", None), ("padding", 0),
            ("ceil_mode", False), ("count_include_pad", True), ("divisor_override", None),
        ]  # fmt: skip
        if d == 1:
            params = params[:-1]

        def build(c: _Converter, n: Any, kw: dict) -> None:
            vals = [c.const(n, kw.get(k)) for k in _param_names(params)[1:]]
            if d == 1:
                vals.append(None)
            _avgpool(c, n, kw["input"], d, *vals)

        return fn(params, build)

    def adaptive(d: int) -> Callable:
        return fn(
            [("input", R), ("output_size", R)],
            lambda c, n, kw: _adaptive_avgpool(
                c, n, kw["input"], d, c.const(n, kw["output_size"])
            ),
        )

    batchnorm = fn(
        [
            ("input", R),
            ("running_mean", R),
            ("running_var", R),
            ("weight", None),
            ("bias", None),
            ("training", False),
            ("momentum", 0.1),
            ("eps", 1e-5),
        ],  # fmt: skip
        lambda c, n, kw: _bn_function(c, n, kw),
    )

    def dropout(c: _Converter, n: Any) -> None:
        kw = c.bind(n, [("input", R), ("p", 0.5), ("training", True), ("inplace", False)])
        if c.const(n, kw["training"]):
            raise c.fail(n, "dropout with training=True is random; pass training=False")
        c._alias(n, c.data(n, kw["input"]))

    def arith(op: str, with_alpha: bool = False) -> Callable:
        params = [("input", R), ("other", R)] + ([("alpha", 1)] if with_alpha else [])
        if op == "div":
            params.append(("rounding_mode", None))

        def build(c: _Converter, n: Any, kw: dict) -> None:
            if kw.get("rounding_mode") is not None:
                raise c.fail(n, "division with rounding is not piecewise linear")
            _arith(c, n, op, kw["input"], kw["other"], kw.get("alpha", 1))

        return fn(params, build)

    def neg(c: _Converter, n: Any) -> None:
        kw = c.bind(n, [("input", R)])
        _affine_const(c, n, c.data(n, kw["input"]), -1.0, 0.0)

    cat = fn([("tensors", R), ("dim", 0)], lambda c, n, kw: _cat(c, n, kw["tensors"], kw["dim"]))

    def reshape(c: _Converter, n: Any) -> None:
        _reshape(c, n, n.args[0] if n.args else n.kwargs["input"])

    mean = fn(
        [("input", R), ("dim", None), ("keepdim", False), ("dtype", None)],
        lambda c, n, kw: _mean(
            c, n, kw["input"], c.const(n, kw["dim"]), kw["keepdim"], kw["dtype"]
        ),
    )

    table: dict[Any, Callable[..., None]] = {}
    for f in (F.relu, torch.relu, torch.relu_, F.relu_):
        table[f] = relu
    table[F.leaky_relu] = leaky
    table[F.hardtanh] = hardtanh
    table[F.relu6] = relu6
    table[F.prelu] = prelu
    table[torch.prelu] = prelu
    table[F.linear] = linear
    for f in (F.conv1d, F.conv2d, F.conv3d):
        table[f] = conv
    table[F.max_pool1d] = maxpool(1)
    table[F.max_pool2d] = maxpool(2)
    table[torch.max_pool1d] = maxpool(1)
    table[torch.max_pool2d] = maxpool(2)
    table[F.avg_pool1d] = avgpool(1)
    table[F.avg_pool2d] = avgpool(2)
    table[F.adaptive_avg_pool1d] = adaptive(1)
    table[F.adaptive_avg_pool2d] = adaptive(2)
    table[F.batch_norm] = batchnorm
    for f in (F.dropout, F.dropout1d, F.dropout2d, F.dropout3d, F.alpha_dropout):
        table[f] = dropout
    for f in (operator.add, operator.iadd):
        table[f] = arith("add")
    table[torch.add] = arith("add", with_alpha=True)
    for f in (operator.sub, operator.isub):
        table[f] = arith("sub")
    table[torch.sub] = arith("sub", with_alpha=True)
    for f in (operator.mul, operator.imul, torch.mul):
        table[f] = arith("mul")
    for f in (operator.truediv, operator.itruediv, torch.true_divide):
        table[f] = arith("div")
    table[torch.div] = arith("div")
    table[operator.neg] = neg
    table[torch.neg] = neg
    for f in (torch.cat, torch.concat, torch.concatenate):
        table[f] = cat
    for f in (torch.flatten, torch.reshape, torch.squeeze, torch.unsqueeze):
        table[f] = reshape
    table[torch.mean] = mean
    for f in _METADATA_FUNCTIONS:
        table[f] = _indexing
    return table


def _param_names(params: Sequence[tuple[str, Any]]) -> list[str]:
    return [p for p, _ in params]


def _bn_function(c: _Converter, n: Any, kw: dict) -> None:
    if c.const(n, kw["training"]):
        raise c.fail(n, "batch-norm with training=True uses batch statistics; use eval mode")
    _batchnorm(
        c, n, kw["input"], c.const(n, kw["running_mean"]), c.const(n, kw["running_var"]),
        c.const(n, kw["weight"]), c.const(n, kw["bias"]), c.const(n, kw["eps"]),
    )  # fmt: skip


#: functions that take sizes from a tensor (``x.shape[0]``); on tensors they are rejected
_METADATA_FUNCTIONS = (getattr, operator.getitem)


def _indexing(c: _Converter, n: Any) -> None:
    raise c.fail(n, "indexing or slicing a tensor is not supported")


def _method_arith(op: str) -> Callable[[_Converter, Any], None]:
    def handler(c: _Converter, n: Any) -> None:
        params = [("self", _REQUIRED), ("other", _REQUIRED)]
        if op in ("add", "sub"):
            params.append(("alpha", 1))
        if op == "div":
            params.append(("rounding_mode", None))
        kw = c.bind(n, params)
        if kw.get("rounding_mode") is not None:
            raise c.fail(n, "division with rounding is not piecewise linear")
        _arith(c, n, op, kw["self"], kw["other"], kw.get("alpha", 1))

    return handler


def _method_reshape(c: _Converter, n: Any) -> None:
    _reshape(c, n, n.args[0])


def _method_alias(c: _Converter, n: Any) -> None:
    c._alias(n, c.data(n, n.args[0]))


def _method_relu(c: _Converter, n: Any) -> None:
    _activation(c, n, n.args[0], ReLU())


def _method_neg(c: _Converter, n: Any) -> None:
    _affine_const(c, n, c.data(n, n.args[0]), -1.0, 0.0)


def _method_mean(c: _Converter, n: Any) -> None:
    kw = c.bind(n, [("self", _REQUIRED), ("dim", None), ("keepdim", False), ("dtype", None)])
    _mean(c, n, kw["self"], c.const(n, kw["dim"]), kw["keepdim"], kw["dtype"])


def _method_metadata(c: _Converter, n: Any) -> None:
    return None  # size(), dim(): not tensors, used as arguments only


_METHOD_HANDLERS: dict[str, Callable[[_Converter, Any], None]] = {
    **{
        m: _method_reshape
        for m in (
            "view",
            "reshape",
            "flatten",
            "squeeze",
            "unsqueeze",
            "view_as",
            "reshape_as",
            "unflatten",
        )
    },  # fmt: skip
    **{m: _method_alias for m in ("contiguous", "clone", "detach")},
    **{m: _method_relu for m in ("relu", "relu_")},
    **{m: _method_arith("add") for m in ("add", "add_", "__add__", "__radd__")},
    **{m: _method_arith("sub") for m in ("sub", "sub_")},
    **{m: _method_arith("mul") for m in ("mul", "mul_")},
    **{m: _method_arith("div") for m in ("div", "div_")},
    "neg": _method_neg,
    "mean": _method_mean,
    **{m: _method_metadata for m in ("size", "dim", "numel")},
}
