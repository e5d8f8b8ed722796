"""Chains of Linear and ReLU layers as the compiled chain kernels take them.

A Sequential of :class:`~regionscope.network.layers.Linear` and
:class:`~regionscope.network.layers.ReLU` layers, the commonest network, is cut in
one kernel call: along a segment by :func:`regionscope.compute.line.chain_1d`, on a
polygon or a plane by :func:`regionscope.compute.chain2d.chain_2d`.  Both take the
layers as :func:`describe_chain` gives them, and make the evaluator, when a query
asks for it, from the kernel's numbers (:func:`chain_evaluator`).

Examples
--------
>>> import regionscope as rs
>>> args, n_tol, out, n_fold, relus = describe_chain(
...     (rs.Linear([[1.0, 2.0]]), rs.ReLU(), rs.Linear([[3.0], [4.0]]), rs.ReLU()), 2)
>>> args[2:], n_tol, out, n_fold, relus
((2, 6, 0), 3, 2, 1, [1, 3])
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from regionscope.geometry.arrays import read_only
from regionscope.network.conv import Reshape
from regionscope.network.evaluate import Evaluator
from regionscope.network.layers import Identity, Layer, Linear, ReLU
from regionscope.network.program import Program
from regionscope.tolerances import Budget, Tolerance, get_tolerance

__all__ = [
    "describe_chain",
    "chain_stop",
    "program_chain",
    "chain_evaluator",
    "kernel_tolerance",
    "table_limit",
    "NO_LIMIT",
]

#: the kernels' counts are int64: larger limits are no limit
NO_LIMIT = 1 << 62

#: the layers of a chain (identities and reshapes leave the flat values as they are)
_CHAIN_KINDS = (Linear, ReLU, Identity, Reshape)

#: unused places of the kernels' tuples of weights and biases
_NO_WEIGHT = read_only(np.zeros((0, 0)))
_NO_BIAS = read_only(np.zeros(0))


def kernel_tolerance() -> Tolerance | None:
    """The tolerance in force, where the chain kernels can follow it: its unit tolerance is
    :class:`~regionscope.tolerances.Tolerance`'s own, the rule they compute themselves;
    ``None`` for a class of one's own (the general path then runs)."""
    tol = get_tolerance()
    return tol if type(tol).unit_tolerance is Tolerance.unit_tolerance else None


def table_limit(budget: Budget) -> int:
    """The most values a chain kernel's table at the vertices may hold: the stored values'
    budget in bytes, for the table and the copy an interpolation makes (16 bytes a value).

    >>> from regionscope.tolerances import Budget
    >>> table_limit(Budget(memory_bytes=1600))
    100
    """
    return min(budget.stored_bytes // 16, NO_LIMIT)


def describe_chain(
    layers: tuple[Layer, ...], dim: int
) -> tuple[tuple[Any, ...], int, int, int, list[int]] | None:
    """The chain kernels' description of a chain of Linear and ReLU layers (at least one
    ReLU, at most one in a row; identities and reshapes, which leave the flat values as
    they are, anywhere) on inputs of width ``dim``; ``None`` for any other chain.

    Returns ``(args, n_tol, out_width, n_fold, relus)``: ``args = (weights, biases,
    n_linear, relu_mask, bias_mask)`` as the kernels take them (tuples of 8 or 32
    arrays, :data:`regionscope.geometry.kernels.line.CHAIN_SIZES`; bit ``j`` of
    ``relu_mask``: a ReLU before Linear layer ``j``), how many unit tolerances the ReLUs
    have, the output width, the width of the folded map (0 when the chain starts with a
    ReLU) and the positions of the ReLUs in ``layers`` (their op indices).  The widths
    are read from the weights: where they do not follow one another, the kernels say so.
    """
    weights: list[Any] = []
    biases: list[Any] = []
    relus: list[int] = []
    relu_mask = bias_mask = 0
    width = dim
    n_tol = n_fold = 0
    for at, layer in enumerate(layers):
        kind = type(layer)
        slot = len(weights)
        if kind is ReLU:
            if (relu_mask >> slot) & 1:
                return None
            if not relu_mask and slot:
                n_fold = width  # the folded map of the Linear layers before the first ReLU
            relu_mask |= 1 << slot
            n_tol += width
            relus.append(at)
        elif kind is Identity or kind is Reshape:  # the same flat values
            continue
        elif kind is Linear:
            linear: Any = layer
            weights.append(linear.weight)
            width = len(linear.weight)
            if linear.bias is None:
                biases.append(_NO_BIAS)
            else:
                biases.append(linear.bias)
                bias_mask |= 1 << slot
        else:
            return None
    n = len(weights)
    if not relu_mask or n > 32:
        return None
    size = 8 if n <= 8 else 32  # the kernels' tuples (kernels.line.CHAIN_SIZES)
    weights += [_NO_WEIGHT] * (size - n)
    biases += [_NO_BIAS] * (size - n)
    return (tuple(weights), tuple(biases), n, relu_mask, bias_mask), n_tol, width, n_fold, relus


def chain_stop(layers: tuple[Layer, ...]) -> int:
    """Where the chain of Linear and ReLU layers (identities and reshapes too) at the start
    of ``layers`` stops: ``len(layers)`` for a whole chain, the first other layer's place
    where that layer is piecewise (an :class:`~regionscope.network.layers.Argmax` after
    an MLP: the chain kernels cut the chain, the driver the rest), or 0 (nothing to take).

    >>> import regionscope as rs
    >>> mlp = (rs.Linear([[1.0, 2.0], [0.0, 1.0]]), rs.ReLU(), rs.Linear([[3.0, 4.0]]))
    >>> chain_stop(mlp), chain_stop(mlp + (rs.Argmax(),)), chain_stop((rs.Argmax(),) + mlp)
    (3, 3, 0)
    """
    for at, layer in enumerate(layers):
        if type(layer) not in _CHAIN_KINDS:
            return at if at and layer.piecewise else 0
    return len(layers)


def program_chain(program: Program) -> tuple[Layer, ...] | None:
    """The layers of a compiled model whose ops each read the one before (a chain, as
    :func:`describe_chain` takes it), in order; ``None`` for any other program.

    >>> import regionscope as rs
    >>> from regionscope.network.program import compile_model
    >>> program_chain(compile_model(rs.Sequential(rs.Linear([[1.0]]), rs.ReLU()), 1))
    (Linear(1 -> 1, no bias), ReLU())
    """
    ops = program.ops
    for op in ops:
        if op.inputs != (op.index,) or op.output != op.index + 1:
            return None
    return tuple(op.layer for op in ops)


def chain_evaluator(
    program: Program,
    lift: Callable[[np.ndarray], np.ndarray],
    lift_affine: tuple[np.ndarray, np.ndarray] | None,
    res: np.ndarray,
    dim: int,
    corners: np.ndarray | None = None,
    stop: int | None = None,
) -> Evaluator:
    """The evaluator of ``program`` (a chain of Linear and ReLU layers) from a chain
    kernel's result ``res`` (read-only): views of its unit tolerances, its output
    tolerances and its folded map (``dim`` rows, then the offset), the numbers
    :class:`~regionscope.network.evaluate.Evaluator` computes (:meth:`Evaluator.assemble
    <regionscope.network.evaluate.Evaluator.assemble>`).  The lift's map ``(linear (dim, D),
    offset (D,))`` is ``lift_affine``, or where that is ``None``, the kernel's copies after
    the folded map (the 1-D kernel's ``direction`` and ``p``).

    Where the kernel cut only ops ``[0, stop)`` of ``program`` (:func:`chain_stop`), the
    tolerances of the ops after them, and of the outputs, are the constructor's, from
    the domain's ``corners``.
    """
    ops = program.ops if stop is None else program.ops[:stop]
    unit_tol: dict[int, np.ndarray] = {}
    at = 0
    prefix = -1
    for op in ops:
        if type(op.layer) is ReLU:
            unit_tol[op.index] = res[at : at + op.out_width]
            at += op.out_width
            if prefix < 0:
                prefix = op.index
    out_width = ops[-1].out_width
    output_tol = res[at : at + out_width]
    at += out_width
    maps: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    if prefix:
        width = ops[prefix].in_width
        rows = res[at : at + dim * width].reshape(dim, width)
        maps[prefix] = (rows, res[at + dim * width : at + (dim + 1) * width])
        at += (dim + 1) * width
    if lift_affine is None:
        d = ops[0].in_width
        rows = res[at : at + dim * d].reshape(dim, d)
        lift_affine = (rows, res[at + dim * d : at + (dim + 1) * d])
    if stop is not None:  # the ops after the chain: the constructor's tolerances
        whole = Evaluator(program, lift, np.asarray(corners), lift_affine)
        unit_tol = {**whole.unit_tol, **unit_tol}
        output_tol = whole.output_tol
    return Evaluator.assemble(program, lift, lift_affine, (unit_tol, output_tol), (prefix, maps))
