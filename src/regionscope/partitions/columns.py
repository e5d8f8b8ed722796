"""Which columns of each register the walk through the regions reads.

:func:`~regionscope.partitions.maps.walk_maps` keeps a register's maps (and its values at
the vertices) only on the columns that later ops read: a ReLU reads its output's columns
except its units off on the whole domain, a max-pooling the winner of a group fixed on the
whole domain and every input of the others, a ``Linear`` every column not zero on the whole
domain, other ops every column (:mod:`~regionscope.partitions.fixed`).

Examples
--------
>>> import numpy as np
>>> from regionscope.network.layers import MaxPool
>>> from regionscope.partitions.fixed import Fixed
>>> pool = MaxPool([[0, 1], [2, 3]])
>>> still = Fixed(np.array([1, 0]), np.array([1]), np.array([2, 3]))  # group 0: input 1
>>> pool_inputs(pool, np.array([0, 1]), still).tolist()
[1, 2, 3]
"""

from __future__ import annotations

from typing import Any

import numpy as np

from regionscope.network.conv import Reshape
from regionscope.network.layers import Linear, MaxPool, ReLU
from regionscope.network.program import Op

from .fixed import Fixed

__all__ = ["add_columns", "all_groups", "is_reshape", "kept_columns", "needed_values",
           "pool_inputs", "reads", "zero_columns"]  # fmt: skip


def is_reshape(layer: Any) -> bool:
    """A layer that leaves flat data as it is (its maps pass through)."""
    return isinstance(layer, Reshape)


def pool_inputs(layer: MaxPool, groups: np.ndarray, fixed: Fixed | None) -> np.ndarray:
    """The input columns that the outputs ``groups`` of a max-pooling read (a fixed group
    only its winner's)."""
    table = layer.groups[groups]
    if fixed is not None:
        won = ~np.isin(groups, fixed.live)
        winners = layer.groups[groups[won], fixed.pattern[groups[won]]]
        table = np.concatenate([np.where(won[:, None], -1, table).ravel(), winners])
    return np.unique(table[table >= 0]).astype(np.int64)


def needed_values(
    ops: list[Op], missing: list[int], sub: dict[int, Fixed], fixed: dict[int, Fixed], after: int
) -> dict[int, np.ndarray | None]:
    """``{register: columns (sorted) or None (all)}`` whose values at the vertices are read:
    by a pattern of ``missing`` (only the live units' columns when in ``sub``) or by an op
    run on values (after ``after``), through piecewise ops and reshapes."""
    need: dict[int, np.ndarray | None] = {}
    for o in reversed(ops):
        layer: Any = o.layer
        if o.output in need and (o.index > after or layer.piecewise or is_reshape(layer)):
            for r, cols in reads(o, need[o.output], fixed):
                add_columns(need, r, cols)
        if o.index in missing:
            add_columns(need, o.inputs[0], sub[o.index].columns if o.index in sub else None)
    return need


def add_columns(sets: dict[int, np.ndarray | None], r: int, cols: np.ndarray | None) -> None:
    """Add the columns ``cols`` (sorted; None: all) to register ``r``'s in ``sets``."""
    if r in sets and sets[r] is None:
        return
    sets[r] = cols if cols is None or r not in sets else np.union1d(sets[r], cols)  # type: ignore[arg-type]


def reads(
    o: Op, cols: np.ndarray | None, fixed: dict[int, Fixed]
) -> list[tuple[int, np.ndarray | None]]:
    """``[(register, columns or None (all))]``: what op ``o`` reads of its inputs to give
    the columns ``cols`` (None: all) of its output: a ReLU or a reshape the same columns, a
    max-pooling its groups' inputs (a fixed group's winner only), any other op all."""
    layer: Any = o.layer
    if cols is not None and (type(layer) is ReLU or is_reshape(layer)):
        return [(o.inputs[0], cols)]
    if type(layer) is MaxPool and (cols is not None or o.index in fixed):
        return [(o.inputs[0], pool_inputs(layer, all_groups(layer, cols), fixed.get(o.index)))]
    return [(r, None) for r in o.inputs]


def all_groups(layer: MaxPool, cols: np.ndarray | None) -> np.ndarray:
    """``cols``, or every group of ``layer``."""
    return np.arange(layer.groups.shape[0]) if cols is None else cols


def zero_columns(ops: list[Op], fixed: dict[int, Fixed]) -> dict[int, np.ndarray]:
    """``{register: (k,) int}``: columns zero on the whole domain (outputs of fixed units,
    through reshapes)."""
    zero: dict[int, np.ndarray] = {}
    for o in ops:
        f = fixed.get(o.index)
        if f is not None and f.zero is not None and f.zero.any():
            zero[o.output] = np.flatnonzero(f.zero)
        elif is_reshape(o.layer) and o.inputs[0] in zero:
            zero[o.output] = zero[o.inputs[0]]
    return zero


def kept_columns(
    ops: list[Op],
    need: dict[int, np.ndarray | None],
    fixed: dict[int, Fixed],
    after: int,
    out: int | None,
) -> dict[int, np.ndarray | None]:
    """``{register: columns (sorted) or None (all)}`` of the maps kept along the walk: those
    read at the vertices (``need``), by the ops on maps (up to ``after``; a ReLU reads its
    output's columns, a max-pooling the winners of fixed groups and every input of the
    others, other ops all) and the output register ``out``."""
    keep: dict[int, np.ndarray | None] = {}
    if out is not None:
        add_columns(keep, out, None)
    for r, cols in need.items():
        add_columns(keep, r, cols)
    zero = zero_columns(ops, fixed)
    for o in reversed(ops):
        if o.index > after:
            continue
        layer: Any = o.layer
        cols = keep.get(o.output)
        f = fixed.get(o.index)
        rest = None
        if type(layer) is Linear and o.inputs[0] in zero:  # the zero columns add nothing
            rest = np.setdiff1d(np.arange(o.in_width), zero[o.inputs[0]])
        if rest is not None and len(rest):
            add_columns(keep, o.inputs[0], rest)
        elif cols is not None and type(layer) is ReLU and f is not None:
            # not the off units
            add_columns(keep, o.inputs[0], cols[f.pattern[cols] | np.isin(cols, f.live)])
        else:
            for r, read in reads(o, cols, fixed):
                add_columns(keep, r, read)
    return keep
