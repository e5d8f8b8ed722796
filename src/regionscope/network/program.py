"""Models flattened into programs: ops in order, over numbered registers.

:func:`compile_model` turns a model (a :class:`~regionscope.network.layers.Sequential`,
:class:`~regionscope.network.layers.Residual`, :class:`~regionscope.network.layers.Graph`
or any layer) into a :class:`Program`: a list of :class:`Op` over numbered
registers (register 0 is the network input).  The position of an op in that
list is its *layer index* everywhere in regionscope (edge sources, patterns,
values), and its dotted path in the model is its *name*.

Names depend only on the model's top-level layers: top-level layer ``i`` is
named ``str(i)`` (its sub-layers ``"i.j"``...), except a :class:`Graph` in
first place (a converted torch model), whose nodes keep their own names.  So
adding layers after a model never renames the layers already there.

Examples
--------
>>> import numpy as np
>>> from regionscope.network.layers import Linear, ReLU, Sequential
>>> net = Sequential(Linear(np.eye(2)), ReLU(), Linear([[1.0, 1.0]], [0.5]))
>>> prog = compile_model(net, 2)
>>> [op.name for op in prog.ops], prog.out_width
(['0', '1', '2'], 1)
>>> [op.name for op in prog.extend(ReLU()).ops]
['0', '1', '2', '3']
"""

from __future__ import annotations

import dataclasses
import functools
import weakref
from collections.abc import Callable

import numpy as np

from .layers import Add, Concat, Graph, Identity, Layer, Residual, Sequential

__all__ = ["Op", "Program", "compile_model"]


@dataclasses.dataclass(frozen=True)
class Op:
    """One leaf layer of a compiled model.

    Attributes
    ----------
    index : int
        Position in the program: the layer index used throughout regionscope.
    name : str
        Dotted path of the layer in the model (``"3.module.0"``).
    layer : Layer
        The leaf layer.
    inputs : tuple of int
        Registers it reads (register 0 is the network input).
    output : int
        Register it writes.
    in_width, out_width : int
    """

    index: int
    name: str
    layer: Layer
    inputs: tuple[int, ...]
    output: int
    in_width: int
    out_width: int


@dataclasses.dataclass(frozen=True)
class Program:
    """A compiled model: ops in order, over numbered registers."""

    ops: tuple[Op, ...]
    #: the model's top-level layers (what :attr:`model` holds)
    layers: tuple[Layer, ...]
    in_width: int
    out_register: int
    out_width: int
    #: for each op, the registers that may be freed after it runs
    frees: tuple[tuple[int, ...], ...]

    def __len__(self) -> int:
        return len(self.ops)

    @property
    def model(self) -> Sequential:
        """The model: a :class:`~regionscope.network.layers.Sequential` of the top-level layers."""
        return Sequential(*self.layers)

    @property
    def piecewise(self) -> tuple[int, ...]:
        """Indices of the piecewise (cutting) ops."""
        return tuple(op.index for op in self.ops if op.layer.piecewise)

    @property
    def max_width(self) -> int:
        """The widest register (input included)."""
        return max([self.in_width] + [op.out_width for op in self.ops])

    def register_width(self, register: int) -> int:
        """Width of a register (0: the input)."""
        if register == 0:
            return self.in_width
        for op in self.ops:
            if op.output == register:
                return op.out_width
        raise ValueError(f"unknown register {register}")

    def extend(self, *layers: Layer) -> Program:
        """The program of this model followed by ``layers`` (names of existing ops kept)."""
        return compile_model(Sequential(*self.layers, *layers), self.in_width)

    def run(
        self,
        x: np.ndarray,
        stop: int | None = None,
        patterns: dict[int, np.ndarray] | None = None,
        collect: Callable[[Op, np.ndarray, list[np.ndarray]], None] | None = None,
        register: int | None = None,
        start: int = 0,
        registers: dict[int, np.ndarray] | None = None,
    ) -> np.ndarray:
        """Evaluate ops ``[start, stop)`` on a batch and return the last op's output.

        Parameters
        ----------
        x : (N, in_width) float64
        stop : int, optional
            Number of ops to run (default: all).
        patterns : dict, optional
            ``{op index: (N, ...) pattern}``: piecewise ops with an entry apply
            the affine piece the pattern selects instead of their own.
        collect : callable, optional
            Called as ``collect(op, output, inputs)`` after every op.
        register : int, optional
            Return this register instead of the last op's output (it must be
            written by one of the ops run, or be 0, the input).
        start : int, optional
            The first op to run; ``registers`` then holds every register the
            ops from ``start`` on read before writing (``x`` is ignored).
        registers : dict, optional
            ``{register: (N, width)}`` at op ``start``.
        """
        ops = self.ops[start:] if stop is None else self.ops[start:stop]
        regs: dict[int, np.ndarray] = {0: x} if registers is None else dict(registers)
        if register is not None and register in regs:
            return regs[register]
        out = x
        for op in ops:
            args = [regs[r] for r in op.inputs]
            layer = op.layer
            try:
                if patterns is not None and op.index in patterns and layer.piecewise:
                    out = layer.forward_pattern(args[0], patterns[op.index])  # type: ignore[attr-defined]
                else:
                    out = layer.forward(*args)
            except Exception as exc:
                if hasattr(exc, "add_note"):  # Python >= 3.11
                    shapes = ", ".join(str(a.shape) for a in args)
                    exc.add_note(
                        f"in layer {op.index} ({op.name}: {type(layer).__name__}) on inputs of "
                        f"shape {shapes}"
                    )
                raise
            if collect is not None:
                collect(op, out, args)
            regs[op.output] = out
            if register is not None and op.output == register:
                return out
            for r in self.frees[op.index]:
                regs.pop(r, None)
        return out


def _op(
    index: int,
    name: str,
    layer: Layer,
    inputs: tuple[int, ...],
    output: int,
    in_width: int,
    out_width: int,
) -> Op:
    """``Op(index, name, ...)``, without the frozen dataclass's ``object.__setattr__`` per
    field: the same instance (its fields live in ``__dict__``)."""
    op = object.__new__(Op)
    op.__dict__.update(
        index=index, name=name, layer=layer, inputs=inputs, output=output, in_width=in_width,
        out_width=out_width,
    )  # fmt: skip
    return op


def _forget(key: tuple[int, ...], ref: weakref.ref) -> None:  # type: ignore[type-arg]
    """Drop the entry of :data:`_FLAT` of a program that died (only its own entry: a newer
    program may have taken the key since)."""
    if _FLAT.get(key) is ref:
        _FLAT.pop(key, None)


#: programs of flat models (no container among the top-level layers) by ``(in_width, ids of
#: the layers...)``, while the program lives (weak references that drop their entry when it
#: dies): its ops hold the layers, so the ids are theirs
_FLAT: dict[tuple[int, ...], weakref.ref] = {}  # type: ignore[type-arg]


def _still_compiles(program: Program, top: tuple[Layer, ...]) -> bool:
    """Whether ``top`` (the layers whose ids keyed ``program``) still compiles to ``program``:
    the same objects, and each still gives its op's output width (an attribute reassigned
    since, a weight of another shape, shows here)."""
    ops = program.ops
    if len(ops) != len(top):
        return False
    try:
        for op, layer in zip(ops, top, strict=True):
            if op.layer is not layer or int(layer.out_width(op.in_width)) != op.out_width:
                return False
    except ValueError:
        return False
    return True


def _layer_label(index: int, path: str, layer: Layer) -> str:
    """How errors name a leaf layer: ``layer 3 (2.module: Linear)``."""
    return f"layer {index} ({path or 'model'}: {type(layer).__name__})"


def compile_model(model: Layer, in_width: int) -> Program:
    """Flatten a model into a :class:`Program`, checking widths.

    Raises ``ValueError`` naming the layer (index and path) when widths do not
    fit, and ``TypeError`` for objects that are not regionscope layers.

    A flat model (no :class:`~regionscope.network.layers.Sequential`,
    :class:`~regionscope.network.layers.Residual` or
    :class:`~regionscope.network.layers.Graph` among its top-level layers) is
    compiled once while its program is alive (a partition holds it): the same
    layer objects, each still giving its op's output width, get the same
    :class:`Program` back.
    """
    top = tuple(model.layers) if isinstance(model, Sequential) else (model,)
    key = (int(in_width), *map(id, top))
    ref = _FLAT.get(key)
    known = None if ref is None else ref()
    if known is not None and _still_compiles(known, top):
        return known
    program = _compile_flat(top, key[0]) if top else None
    if program is None:
        return _compile(top, in_width)
    _FLAT[key] = weakref.ref(program, functools.partial(_forget, key))
    return program


#: layers that are not one op of their own (containers; Add and Concat take 2+ inputs)
_NOT_LEAF = (Sequential, Residual, Graph, Add, Concat)


def _compile_flat(top: tuple[Layer, ...], in_width: int) -> Program | None:
    """:func:`_compile` of leaf layers one after the other, written out (``None`` where a
    layer is not a leaf): op ``i`` is layer ``i``, named ``str(i)``, reads register ``i``
    (its last use) and writes ``i + 1``.  The frozen :class:`Op` and :class:`Program` get
    their fields as one ``__dict__`` (the same instances as their constructors make)."""
    ops = []
    frees = []
    width = in_width
    new, fields = object.__new__, object.__setattr__
    for i, layer in enumerate(top):
        if isinstance(layer, _NOT_LEAF) or not isinstance(layer, Layer):
            return None
        try:
            out_w = int(layer.out_width(width))
        except ValueError as exc:
            raise ValueError(f"{_layer_label(i, str(i), layer)}: {exc}") from None
        op = new(Op)
        fields(op, "__dict__", {
            "index": i, "name": str(i), "layer": layer, "inputs": (i,), "output": i + 1,
            "in_width": width, "out_width": out_w,
        })  # fmt: skip
        ops.append(op)
        frees.append((i,))
        width = out_w
    program = new(Program)
    fields(program, "__dict__", {
        "ops": tuple(ops), "layers": top, "in_width": in_width, "out_register": len(ops),
        "out_width": width, "frees": tuple(frees),
    })  # fmt: skip
    return program


def _compile(top: tuple[Layer, ...], in_width: int) -> Program:
    """:func:`compile_model` of the top-level layers ``top``, afresh."""
    ops: list[Op] = []
    counter = [1]  # next free register

    def new_reg() -> int:
        counter[0] += 1
        return counter[0] - 1

    def emit(
        layer: Layer, path: str, inputs: tuple[int, ...], widths: list[int]
    ) -> tuple[int, int]:
        if isinstance(layer, Sequential):
            reg, width = inputs[0], widths[0]
            for i, sub in enumerate(layer.layers):
                reg, width = emit(sub, f"{path}.{i}" if path else str(i), (reg,), [width])
            return reg, width
        if isinstance(layer, Residual):
            sub_path = f"{path}.module" if path else "module"
            reg, width = emit(layer.module, sub_path, inputs, widths)
            if width != widths[0]:
                raise ValueError(
                    f"layer {len(ops)} ({path or 'model'}: Residual) adds its input of width "
                    f"{widths[0]} to its module's output of width {width}; they must match"
                )
            return emit(Add(), path, (inputs[0], reg), [widths[0], width])
        if isinstance(layer, Graph):
            regs = {"input": (inputs[0], widths[0])}
            for name, sub, names in layer.nodes:
                sub_path = f"{path}.{name}" if path else name
                regs[name] = emit(
                    sub, sub_path, tuple(regs[s][0] for s in names), [regs[s][1] for s in names]
                )
            return regs[layer.output]
        if not isinstance(layer, Layer):
            raise TypeError(
                f"layer {len(ops)} ({path or 'model'}) is a {type(layer).__name__}, not a "
                "regionscope layer"
            )
        index = len(ops)
        if isinstance(layer, (Add, Concat)):
            label = _layer_label(index, path, layer)
            if len(inputs) < 2:
                raise ValueError(f"{label} needs at least 2 inputs, got {len(inputs)}")
            if isinstance(layer, Add):
                if len(set(widths)) != 1:
                    raise ValueError(f"{label} adds inputs of different widths {widths}")
                out_w = widths[0]
            else:
                out_w = int(sum(widths))
            in_w = int(sum(widths))
        else:
            if len(inputs) != 1:
                label = _layer_label(index, path, layer)
                raise ValueError(f"{label} takes one input, got {len(inputs)}")
            try:
                out_w = int(layer.out_width(widths[0]))
            except ValueError as exc:
                raise ValueError(f"{_layer_label(index, path, layer)}: {exc}") from None
            in_w = int(widths[0])
        out_reg = new_reg()
        ops.append(_op(index, path or "0", layer, tuple(inputs), out_reg, in_w, out_w))
        return out_reg, out_w

    out_reg, out_w = 0, int(in_width)
    for i, layer in enumerate(top):
        # a converted model (a Graph) in first place keeps its own names ("features.0")
        path = "" if i == 0 and isinstance(layer, Graph) else str(i)
        out_reg, out_w = emit(layer, path, (out_reg,), [out_w])
    if not ops:  # an empty model: the identity
        ops.append(Op(0, "0", Identity(), (0,), new_reg(), int(in_width), int(in_width)))
        out_reg = ops[0].output
    # liveness: free a register after its last use
    last_use: dict[int, int] = {}
    for op in ops:
        for r in op.inputs:
            last_use[r] = op.index
    frees: list[list[int]] = [[] for _ in ops]
    for r, i in last_use.items():
        if r != out_reg:
            frees[i].append(r)
    return Program(tuple(ops), top, int(in_width), out_reg, out_w, tuple(tuple(f) for f in frees))
