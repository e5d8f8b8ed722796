"""A NumPy description of piecewise-linear networks.

Every layer maps a batch of flat inputs ``(N, in_width)`` to flat outputs
``(N, out_width)`` with :meth:`Layer.forward`.  Affine layers (:class:`Linear`
and the operators of :mod:`regionscope.conv`) never cut the domain.
Piecewise layers (:class:`ReLU`, :class:`LeakyReLU`, :class:`HardTanh`,
:class:`MaxPool`, :class:`Argmax`) cut it along the zero sets of their
*units*, and record in each region an *activation pattern*.

Every layer also propagates *magnitudes* (:meth:`Layer.magnitude`): upper
bounds on the size of the terms that make each output, the scale of the
snapping rule of :mod:`regionscope.tolerances`.  Patterns take each unit's
tolerance (:meth:`Piecewise.pattern`), so that a value within rounding of
zero never decides a sign.

Every affine layer also applies its *linear part* alone (:meth:`Layer.forward_linear`,
``forward(x) - forward(0)`` without the subtraction), and every piecewise layer the
linear part of the piece a pattern selects (:meth:`Piecewise.forward_pattern_linear`):
composing them gives each region's affine map exactly.

Containers (:class:`Sequential`, :class:`Residual`, :class:`Graph`) are
flattened by :func:`regionscope.network.program.compile_model` into a
program of ops over numbered registers.

Examples
--------
>>> import numpy as np
>>> from regionscope.network.layers import Linear, ReLU, Sequential
>>> net = Sequential(Linear(np.eye(2)), ReLU(), Linear([[1.0, 1.0]], [0.5]))
>>> net.forward(np.array([[1.0, -2.0]]))
array([[1.5]])
>>> Linear([[1.0, -2.0]], [-3.0]).magnitude(np.array([[1.0, 1.0]]))  # |W| |x| + |b|
array([[6.]])
>>> Linear([[1.0, -2.0]], [-3.0]).forward_linear(np.array([[1.0, 1.0]]))  # W x, no bias
array([[-1.]])
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

import numpy as np

from regionscope.checks import as_indices, as_weights
from regionscope.geometry.arrays import expand
from regionscope.geometry.kernels import compiled_maxes

from .evidence import SIDE_EVERY, neutral_side_bits, side_bits, side_from_bits

__all__ = [
    "Layer",
    "Piecewise",
    "Linear",
    "ReLU",
    "LeakyReLU",
    "HardTanh",
    "MaxPool",
    "Argmax",
    "Identity",
    "Sequential",
    "Residual",
    "Add",
    "Concat",
    "Graph",
]


class Layer:
    """Base class of all layers.

    Subclasses implement :meth:`forward` and :meth:`out_width`.
    """

    #: True for layers that cut the domain (see :class:`Piecewise`)
    piecewise: bool = False
    #: number of inputs the layer takes (2 or more for :class:`Add`, :class:`Concat`)
    arity: int = 1

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Apply the layer to a batch ``(N, in_width)``; returns ``(N, out_width)``."""
        raise NotImplementedError

    def forward_linear(self, x: np.ndarray) -> np.ndarray:
        """Apply the linear part of an affine layer (no bias or shift) to a batch.

        Parameters
        ----------
        x : (N, in_width) float64
            One array per input for layers of :attr:`arity` 2 or more.

        Returns
        -------
        (N, out_width) float64
            ``forward(x) - forward(0)``, computed without the subtraction, so
            that coefficient columns of an affine map go through exactly.
            Piecewise layers have none (see
            :meth:`Piecewise.forward_pattern_linear`) and raise
            ``NotImplementedError``.
        """
        raise NotImplementedError(
            f"{type(self).__name__} has no linear part"
            + (" (use forward_pattern_linear with a pattern)" if self.piecewise else "")
        )

    def out_width(self, in_width: int) -> int:
        """Output width for an input of width ``in_width``; ``ValueError`` if it does not fit."""
        return in_width

    def forward_columns(self, x: np.ndarray, columns: np.ndarray) -> np.ndarray:
        """Only some outputs: ``forward(x)[:, columns]`` (cheaper where a layer can)."""
        return self.forward(x)[:, columns]

    def forward_entries(self, x: np.ndarray, columns: np.ndarray) -> np.ndarray:
        """Outputs ``columns[i] (k,)`` of row ``i`` only: ``(N, k)``."""
        return np.take_along_axis(self.forward(x), columns, axis=1)

    def magnitude(self, *mags: np.ndarray) -> np.ndarray:
        """Upper bounds ``(N, out_width)`` on the terms of each output, given those of the inputs.

        For an affine layer: the layer with every weight and bias replaced by
        its absolute value, applied to ``mags`` (``|W| m + |b|``).  The
        result bounds ``|forward(x)|`` wherever ``|x| <= m``, and it is a
        convex, non-decreasing function of ``m``.
        """
        return _absolute(self).forward(*mags)

    def __call__(self, x: Any) -> np.ndarray:
        return self.forward(np.asarray(x, dtype=np.float64))

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class Linear(Layer):
    """``x @ weight.T + bias``, as :class:`torch.nn.Linear`.

    Parameters
    ----------
    weight : array_like, shape (out, in)
    bias : array_like, shape (out,), optional
    """

    def __init__(self, weight: Any, bias: Any = None) -> None:
        w = as_weights(weight, "Linear weight")
        if w.ndim != 2 or 0 in w.shape:
            raise ValueError(f"Linear weight must have shape (out, in), got {w.shape}")
        self.weight = w
        if bias is None:
            self.bias = None
        else:
            b = as_weights(bias, "Linear bias")
            if b.shape != (w.shape[0],):
                raise ValueError(
                    f"Linear bias must have shape ({w.shape[0]},) to match weight "
                    f"{w.shape}, got {b.shape}"
                )
            self.bias = b

    def out_width(self, in_width: int) -> int:
        if in_width != self.weight.shape[1]:
            raise ValueError(
                f"Linear expects inputs of width {self.weight.shape[1]} "
                f"(weight {self.weight.shape}), got width {in_width}"
            )
        return int(self.weight.shape[0])

    def forward(self, x: np.ndarray) -> np.ndarray:
        y = x @ self.weight.T
        if self.bias is not None:
            y += self.bias
        return y

    def magnitude(self, *mags: np.ndarray) -> np.ndarray:
        y = mags[0] @ np.abs(self.weight).T  # as the base class's, without a copy of the layer
        return y if self.bias is None else y + np.abs(self.bias)

    def forward_columns(self, x: np.ndarray, columns: np.ndarray) -> np.ndarray:
        y = x @ self.weight[columns].T
        if self.bias is not None:
            y += self.bias[columns]
        return y

    def forward_entries(self, x: np.ndarray, columns: np.ndarray) -> np.ndarray:
        y = np.einsum("nki,ni->nk", self.weight[columns], x)
        if self.bias is not None:
            y += self.bias[columns]
        return y

    def forward_linear(self, x: np.ndarray) -> np.ndarray:
        """``x @ weight.T``: ``(N, in)`` to ``(N, out)`` float64."""
        return x @ self.weight.T

    def __repr__(self) -> str:
        out, inp = self.weight.shape
        return f"Linear({inp} -> {out}{'' if self.bias is not None else ', no bias'})"


class Identity(Layer):
    """The identity (also stands for dropout in evaluation mode)."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        return x

    def forward_linear(self, x: np.ndarray) -> np.ndarray:
        """``x`` itself, ``(N, width)``."""
        return x


def _absolute(layer: Layer) -> Layer:
    """A shallow copy of an affine layer with absolute weights, biases and scales."""
    out = copy.copy(layer)
    for key, value in vars(layer).items():
        if isinstance(value, np.ndarray) and value.dtype.kind == "f":
            setattr(out, key, np.abs(value))
        elif isinstance(value, float):
            setattr(out, key, abs(value))
        elif (
            isinstance(value, tuple)
            and value
            and all(isinstance(v, np.ndarray) and v.dtype.kind == "f" for v in value)
        ):
            setattr(out, key, tuple(np.abs(v) for v in value))
    return out


def _unit_tol(tol: np.ndarray | None, units: slice | None) -> np.ndarray | float:
    if tol is None:
        return 0.0
    return tol if units is None else tol[units]


class Piecewise(Layer):
    """A layer that cuts the domain.

    The cut is made in *stages*: :meth:`stage_values` gives, for each stage,
    continuous functions (*units*) of the layer's input whose zero sets cut
    every region; a stage's units are affine on every region made by the
    stages before it.  The activation pattern (:meth:`pattern`) is constant on
    each resulting region and selects the affine piece
    (:meth:`forward_pattern`).  When :attr:`merge` is true, adjacent regions
    cut by this layer with equal patterns are merged afterwards (max and
    argmax cut more than they need to).
    """

    piecewise = True
    merge = False
    #: dtype of the pattern: bool (on/off) or an integer index
    pattern_dtype: Any = np.bool_

    def num_stages(self, in_width: int) -> int:
        """Number of cutting stages."""
        return 1

    def stage_values(self, x: np.ndarray, stage: int, units: slice | None = None) -> np.ndarray:
        """``(N, units)`` values whose zero sets cut at ``stage`` (only ``units``, if given)."""
        raise NotImplementedError

    def num_units(self, in_width: int) -> int:
        """Number of units cutting at each stage."""
        return in_width

    def unit_of(self, stage: int, unit: np.ndarray) -> np.ndarray:
        """Neuron (output index, or group) that a stage's unit belongs to."""
        return unit

    def restrict(self, units: slice, in_width: int) -> tuple[np.ndarray, Piecewise]:
        """The input columns some units read, and a layer of those units alone on them.

        ``restrict(units)[1]`` applied to ``x[:, columns]`` gives the stage
        values and patterns of ``units`` (so a forward pass may compute only
        those columns).
        """
        return np.arange(units.start, units.stop), self

    def unit_scale(self, mags: np.ndarray) -> np.ndarray:
        """Scales ``(N, units)`` of the units, from the input magnitudes ``mags (N, in_width)``.

        They bound the terms of every stage's values and of the comparisons
        the pattern makes, and are convex in ``mags``; one tolerance per unit
        serves the cut (every stage) and the pattern alike.
        """
        return mags

    def pattern(
        self, x: np.ndarray, units: slice | None = None, tol: np.ndarray | None = None
    ) -> np.ndarray:
        """``(N, pattern_width)`` pattern of each input (only ``units``, if given).

        ``tol`` holds the absolute tolerance of each unit (the snapping rule,
        from :meth:`unit_scale`): values within it count as zero.  Without it,
        signs are exact.
        """
        raise NotImplementedError

    def magnitude(self, *mags: np.ndarray) -> np.ndarray:
        return self.forward(*mags)

    def corner_bits(self, x: np.ndarray, tol: np.ndarray | None = None) -> np.ndarray:
        """``(N, B) bool``: what the values at a region's corners say about its pattern.

        A region's pattern is :meth:`pattern_from_bits` of its corners' bits
        combined: column ``b`` by ``and`` over the corners where
        ``every_corner(width)[b]``, by ``or`` elsewhere.  The cut guarantees
        that it is the pattern at every point inside the region whose own
        pattern is :meth:`decided`.
        """
        raise NotImplementedError

    def every_corner(self, width: int) -> np.ndarray:
        """``(B,) bool``: which columns of :meth:`corner_bits` combine by ``and``."""
        raise NotImplementedError

    def neutral_bits(self, bits: np.ndarray, rows: np.ndarray, units: np.ndarray) -> None:
        """Make rows' bits of the given units (in place) say nothing about the pattern."""
        raise NotImplementedError

    def pattern_from_bits(self, bits: np.ndarray) -> np.ndarray:
        """Pattern ``(N, pattern_width)`` from combined corner bits; ``-1`` if undetermined."""
        raise NotImplementedError

    def decided(self, x: np.ndarray, tol: np.ndarray | None = None) -> np.ndarray:
        """``(N, pattern_width) bool``: the pattern entries that hold by more than their
        unit's tolerance (the others could go either way within rounding)."""
        raise NotImplementedError

    def forward_pattern(self, x: np.ndarray, pattern: np.ndarray) -> np.ndarray:
        """The affine piece selected by ``pattern`` applied to ``x``."""
        raise NotImplementedError

    def forward_pattern_linear(self, x: np.ndarray, pattern: np.ndarray) -> np.ndarray:
        """The linear part of the piece selected by ``pattern`` (no constant term).

        Parameters
        ----------
        x : (N, in_width) float64
        pattern : (N, pattern_width) of :attr:`pattern_dtype`
            One pattern per row of ``x``.

        Returns
        -------
        (N, out_width) float64
            ``forward_pattern(x, pattern) - forward_pattern(0, pattern)``,
            computed without the subtraction.
        """
        raise NotImplementedError

    def forward(self, x: np.ndarray) -> np.ndarray:
        return self.forward_pattern(x, self.pattern(x))


class ReLU(Piecewise):
    """``max(x, 0)``; pattern: ``x > 0`` (values within rounding of 0 count as off)."""

    def stage_values(self, x: np.ndarray, stage: int, units: slice | None = None) -> np.ndarray:
        return x if units is None else x[:, units]

    def pattern(
        self, x: np.ndarray, units: slice | None = None, tol: np.ndarray | None = None
    ) -> np.ndarray:
        t = _unit_tol(tol, units)
        return (x > t) if units is None else (x[:, units] > t)

    def corner_bits(self, x: np.ndarray, tol: np.ndarray | None = None) -> np.ndarray:
        return side_bits(x, _unit_tol(tol, None))

    def every_corner(self, width: int) -> np.ndarray:
        return SIDE_EVERY.repeat(width)

    def neutral_bits(self, bits: np.ndarray, rows: np.ndarray, units: np.ndarray) -> None:
        neutral_side_bits(bits, rows, units, bits.shape[1] // 4)

    def pattern_from_bits(self, bits: np.ndarray) -> np.ndarray:
        return side_from_bits(bits)

    def decided(self, x: np.ndarray, tol: np.ndarray | None = None) -> np.ndarray:
        return np.abs(x) > _unit_tol(tol, None)

    def forward(self, x: np.ndarray) -> np.ndarray:
        return np.maximum(x, 0.0)

    def forward_pattern(self, x: np.ndarray, pattern: np.ndarray) -> np.ndarray:
        return np.where(pattern, x, 0.0)

    def forward_pattern_linear(self, x: np.ndarray, pattern: np.ndarray) -> np.ndarray:
        """:meth:`forward_pattern` itself: every piece is linear (no constant term).

        ``where(pattern, x, 0)`` here, ``where(pattern, x, slope * x)`` for
        :class:`LeakyReLU` and :class:`~regionscope.network.conv.PReLU`, whose
        :meth:`forward_pattern` this calls.
        """
        return self.forward_pattern(x, pattern)


class LeakyReLU(ReLU):
    """``x`` where ``x > 0``, else ``negative_slope * x``; pattern: ``x > 0``."""

    def __init__(self, negative_slope: float = 0.01) -> None:
        slope = float(as_weights(negative_slope, "LeakyReLU negative_slope"))
        self.negative_slope = slope

    def forward_pattern(self, x: np.ndarray, pattern: np.ndarray) -> np.ndarray:
        return np.where(pattern, x, self.negative_slope * x)

    def forward(self, x: np.ndarray) -> np.ndarray:
        return np.where(x > 0, x, self.negative_slope * x)

    def magnitude(self, *mags: np.ndarray) -> np.ndarray:
        return max(1.0, abs(self.negative_slope)) * mags[0]

    def __repr__(self) -> str:
        return f"LeakyReLU({self.negative_slope})"


class HardTanh(Piecewise):
    """``clip(x, min_val, max_val)``; pattern 0 (below), 1 (linear), 2 (above)."""

    pattern_dtype = np.int8

    def __init__(self, min_val: float = -1.0, max_val: float = 1.0) -> None:
        lo, hi = (float(v) for v in as_weights([min_val, max_val], "HardTanh bounds"))
        if not lo < hi:
            raise ValueError(f"HardTanh needs min_val < max_val, got {lo} and {hi}")
        self.min_val, self.max_val = lo, hi

    def num_stages(self, in_width: int) -> int:
        return 2

    def stage_values(self, x: np.ndarray, stage: int, units: slice | None = None) -> np.ndarray:
        x = x if units is None else x[:, units]
        return x - (self.min_val if stage == 0 else self.max_val)

    def unit_scale(self, mags: np.ndarray) -> np.ndarray:
        return mags + max(abs(self.min_val), abs(self.max_val))

    def pattern(
        self, x: np.ndarray, units: slice | None = None, tol: np.ndarray | None = None
    ) -> np.ndarray:
        t = _unit_tol(tol, units)
        x = x if units is None else x[:, units]
        return ((x > self.min_val + t).astype(np.int8) + (x > self.max_val + t)).astype(np.int8)

    def corner_bits(self, x: np.ndarray, tol: np.ndarray | None = None) -> np.ndarray:
        t = _unit_tol(tol, None)
        return np.concatenate(
            [side_bits(x - self.min_val, t), side_bits(x - self.max_val, t)], axis=1
        )

    def every_corner(self, width: int) -> np.ndarray:
        return np.tile(SIDE_EVERY.repeat(width), 2)

    def neutral_bits(self, bits: np.ndarray, rows: np.ndarray, units: np.ndarray) -> None:
        n = bits.shape[1] // 8
        for half in (0, 4 * n):  # each threshold where the corner is inside its band
            neutral_side_bits(bits[:, half : half + 4 * n], rows, units, n)

    def pattern_from_bits(self, bits: np.ndarray) -> np.ndarray:
        n = bits.shape[1] // 2
        above_min = side_from_bits(bits[:, :n])
        return (above_min.astype(np.int8) + side_from_bits(bits[:, n:])).astype(np.int8)

    def decided(self, x: np.ndarray, tol: np.ndarray | None = None) -> np.ndarray:
        t = _unit_tol(tol, None)
        return (np.abs(x - self.min_val) > t) & (np.abs(x - self.max_val) > t)

    def magnitude(self, *mags: np.ndarray) -> np.ndarray:
        return mags[0]

    def forward(self, x: np.ndarray) -> np.ndarray:
        return np.clip(x, self.min_val, self.max_val)

    def forward_pattern(self, x: np.ndarray, pattern: np.ndarray) -> np.ndarray:
        return np.where(pattern == 0, self.min_val, np.where(pattern == 2, self.max_val, x))

    def forward_pattern_linear(self, x: np.ndarray, pattern: np.ndarray) -> np.ndarray:
        """``x`` on the linear piece (pattern 1), 0 on the constant ones (the bounds are
        constant terms: they are in :meth:`forward_pattern` of the offset)."""
        return np.where(pattern == 1, x, 0.0)

    def __repr__(self) -> str:
        return f"HardTanh({self.min_val}, {self.max_val})"


def _first_true(cand: np.ndarray) -> np.ndarray:
    """``cand (N, G, k) bool`` -> ``(N, G) intp``: ``cand.argmax(axis=2)`` in k passes."""
    out = np.zeros(cand.shape[:2], dtype=np.intp)
    for j in range(cand.shape[2] - 1, 0, -1):
        out[cand[:, :, j]] = j
    out[cand[:, :, 0]] = 0
    return out


class MaxPool(Piecewise):
    """The maximum over each group of inputs (windowed max-pooling, maxout).

    Parameters
    ----------
    groups : sequence of sequences of int, or int array (G, k)
        Input indices of each group; groups may differ in size (pad an array
        with -1).  The output has one entry per group; the pattern is the
        position, within its group, of the largest input.

    Examples
    --------
    >>> import numpy as np
    >>> pool = MaxPool([[0, 1], [2, 3, 4]])
    >>> pool.forward(np.array([[1.0, 2.0, 5.0, 0.0, 7.0]]))
    array([[2., 7.]])
    >>> pool.pattern(np.array([[1.0, 2.0, 5.0, 0.0, 7.0]]))
    array([[1, 2]])
    """

    merge = True
    pattern_dtype = np.intp

    def __init__(self, groups: Any) -> None:
        if isinstance(groups, np.ndarray) and groups.ndim == 2:
            table = as_indices(groups, "MaxPool groups").copy()
        else:
            try:
                rows = [as_indices(g, f"MaxPool group {i}") for i, g in enumerate(groups)]
                if any(r.ndim != 1 for r in rows):
                    raise TypeError("a group is not a sequence of indices")
                rows = [r.tolist() for r in rows]
            except TypeError as exc:
                raise TypeError(
                    f"MaxPool groups must be a sequence of index sequences or an int array ({exc})"
                ) from exc
            if not rows or min(len(r) for r in rows) == 0:
                raise ValueError("MaxPool needs at least one group, and no group may be empty")
            width = max(len(r) for r in rows)
            table = np.full((len(rows), width), -1, dtype=np.intp)
            for i, r in enumerate(rows):
                table[i, : len(r)] = r
        if table.ndim != 2 or table.shape[0] == 0 or (table[:, 0] < 0).any():
            raise ValueError("MaxPool groups must be non-empty")
        if (table < -1).any():
            raise ValueError("MaxPool group indices must be >= 0 (-1 pads short groups)")
        valid = table >= 0
        if (np.diff(valid.astype(np.int8), axis=1) > 0).any():
            raise ValueError("MaxPool padding (-1) must come after a group's indices")
        table.setflags(write=False)
        self.groups = table
        self.sizes = valid.sum(axis=1)

    def _gather(self, x: np.ndarray, units: slice | None = None, slots: int = 0) -> np.ndarray:
        """``(N, G, k)`` inputs of every group (or ``units``; the first ``slots``); pads -inf."""
        groups = self.groups if units is None else self.groups[units]
        groups = groups[:, :slots] if slots else groups
        # slot-major (N, k, G) seen as (N, G, k): a slot reduction is k elementwise passes
        if (groups >= 0).all():
            return np.take(x, groups.T, axis=1).transpose(0, 2, 1)
        vals = np.take(x, np.maximum(groups, 0).T, axis=1).transpose(0, 2, 1)
        vals[:, groups < 0] = -np.inf
        return vals

    def out_width(self, in_width: int) -> int:
        top = int(self.groups.max())
        if top >= in_width:
            raise ValueError(
                f"MaxPool group index {top} is out of range for inputs of width {in_width}"
            )
        return int(self.groups.shape[0])

    def num_stages(self, in_width: int) -> int:
        return int(self.groups.shape[1]) - 1

    def num_units(self, in_width: int) -> int:
        return int(self.groups.shape[0])

    def stage_values(self, x: np.ndarray, stage: int, units: slice | None = None) -> np.ndarray:
        k = stage + 1
        if (fast := compiled_maxes(x)) is not None:  # one pass (a max is exact in any order)
            return fast.max_stage(self, x, units, k)
        vals = self._gather(x, units, slots=k + 1)  # the slots this stage reads
        out = vals[:, :, :k].max(axis=2) - vals[:, :, k]
        # groups shorter than k + 1 have nothing to cut at this stage
        return np.where(np.isfinite(out), out, 1.0)

    def unit_scale(self, mags: np.ndarray) -> np.ndarray:
        """Per group: twice the largest magnitude of its inputs (a difference of two)."""
        return 2.0 * self._gather(mags).max(axis=2)

    def pattern(
        self, x: np.ndarray, units: slice | None = None, tol: np.ndarray | None = None
    ) -> np.ndarray:
        # ties within the tolerance go to the first of the largest inputs
        if (fast := compiled_maxes(x)) is not None:
            return fast.first_winners(self, x, units, _unit_tol(tol, units))
        return _first_true(self._candidates(x, tol, units))

    def every_corner(self, width: int) -> np.ndarray:
        return np.ones(self.groups.size, dtype=bool)

    def neutral_bits(self, bits: np.ndarray, rows: np.ndarray, units: np.ndarray) -> None:
        """Nothing to do: a corner on a group's side is a tie whose candidates include the
        winner on either side."""

    def _candidates(
        self, x: np.ndarray, tol: np.ndarray | None, units: slice | None = None
    ) -> np.ndarray:
        """``(N, G, k) bool``: the inputs within the group's tolerance of its largest."""
        vals = self._gather(x, units)
        t = _unit_tol(tol, units)
        t = t[None, :, None] if isinstance(t, np.ndarray) else t
        return vals >= vals.max(axis=2, keepdims=True) - t

    def corner_bits(self, x: np.ndarray, tol: np.ndarray | None = None) -> np.ndarray:
        return self._candidates(x, tol).reshape(len(x), -1)

    def restrict(self, units: slice, in_width: int) -> tuple[np.ndarray, Piecewise]:
        table = self.groups[units]
        columns = np.unique(table[table >= 0])
        local = np.where(table >= 0, np.searchsorted(columns, np.maximum(table, 0)), -1)
        return columns, MaxPool(local)

    def group_candidates(
        self,
        x: np.ndarray,
        rows: np.ndarray,
        group: np.ndarray,
        tol: np.ndarray | None = None,
    ) -> np.ndarray:
        """``(N, k) bool``: for row ``rows[i]`` of ``x``, the inputs of group ``group[i]``
        within the group's tolerance of its largest (padding is never a candidate).

        >>> pool = MaxPool([[0, 1], [2, 3]])
        >>> x = np.array([[1.0, 2.0, 5.0, 5.0]])
        >>> pool.group_candidates(x, np.array([0, 0]), np.array([0, 1])).tolist()
        [[False, True], [True, True]]
        """
        columns = self.group_columns(group, x.shape[1])
        vals = x[rows[:, None], np.maximum(columns, 0)]
        return self.candidates_of(vals, columns, group, tol)

    def group_columns(self, group: np.ndarray, in_width: int) -> np.ndarray:
        """``(N, k) int``: the input columns of each group (``-1`` pads short groups)."""
        return self.groups[group]

    def overlapping_groups(self) -> np.ndarray:
        """``(P, 2) int64``: pairs of distinct groups that share an input (both orders).

        >>> MaxPool([[0, 1], [1, 2], [3, 4]]).overlapping_groups().tolist()
        [[0, 1], [1, 0]]
        """
        group, slot = np.nonzero(self.groups >= 0)
        column = self.groups[group, slot]
        order = np.lexsort((group, column))
        column, group = column[order], group[order]
        # every pair of groups within one column's run
        starts = np.flatnonzero(np.r_[True, column[1:] != column[:-1]])
        counts = np.diff(np.r_[starts, len(column)])
        own, k = expand(counts)
        pairs = []
        for shift in range(1, int(counts.max(initial=1))):
            ok = k + shift < counts[own]
            a = group[starts[own[ok]] + k[ok]]
            b = group[starts[own[ok]] + k[ok] + shift]
            pairs.append(np.stack([a, b], axis=1))
        if not pairs:
            return np.zeros((0, 2), dtype=np.int64)
        both = np.concatenate(pairs + [p[:, ::-1] for p in pairs]).astype(np.int64)
        return np.unique(both, axis=0)

    @staticmethod
    def candidates_of(
        vals: np.ndarray, columns: np.ndarray, group: np.ndarray, tol: np.ndarray | None
    ) -> np.ndarray:
        """``(N, k) bool`` candidates among a group's input values ``vals`` (padding where
        ``columns < 0``)."""
        vals = np.where(columns < 0, -np.inf, vals)
        t = 0.0 if tol is None else np.asarray(tol)[group][:, None]
        return vals >= vals.max(axis=1, keepdims=True) - t

    def pattern_from_bits(self, bits: np.ndarray) -> np.ndarray:
        cand = bits.reshape(len(bits), -1, self.groups.shape[1])
        return np.where(cand.any(axis=2), cand.argmax(axis=2), -1)

    def decided(self, x: np.ndarray, tol: np.ndarray | None = None) -> np.ndarray:
        return self._candidates(x, tol).sum(axis=2) == 1

    def magnitude(self, *mags: np.ndarray) -> np.ndarray:
        return self._gather(mags[0]).max(axis=2)

    def forward(self, x: np.ndarray) -> np.ndarray:
        return self._gather(x).max(axis=2)

    def forward_pattern(self, x: np.ndarray, pattern: np.ndarray) -> np.ndarray:
        idx = np.take_along_axis(
            np.broadcast_to(self.groups, (len(x), *self.groups.shape)), pattern[..., None], axis=2
        )[..., 0]
        return np.take_along_axis(x, idx, axis=1)

    def forward_pattern_linear(self, x: np.ndarray, pattern: np.ndarray) -> np.ndarray:
        """:meth:`forward_pattern` itself: selecting each group's winner is linear (the
        identity for :class:`Argmax`)."""
        return self.forward_pattern(x, pattern)

    def __repr__(self) -> str:
        return f"MaxPool({self.groups.shape[0]} groups of up to {self.groups.shape[1]})"


class Argmax(MaxPool):
    """The class decision: cuts where the largest input changes.

    Its output is its input unchanged (so affine maps after it still describe
    the logits); its pattern ``(N, 1)`` is the index of the largest input.
    The edges it makes are the decision boundary.

    Examples
    --------
    >>> import numpy as np
    >>> Argmax().pattern(np.array([[0.1, 3.0, -1.0]]))
    array([[1]])
    """

    def __init__(self) -> None:
        pass

    def out_width(self, in_width: int) -> int:
        if in_width < 2:
            raise ValueError(f"Argmax needs at least 2 inputs, got width {in_width}")
        return in_width

    def num_stages(self, in_width: int) -> int:
        return in_width - 1

    def num_units(self, in_width: int) -> int:
        return 1

    def _gather(self, x: np.ndarray, units: slice | None = None, slots: int = 0) -> np.ndarray:
        return x[:, None, :slots] if slots else x[:, None, :]

    def every_corner(self, width: int) -> np.ndarray:
        return np.ones(width, dtype=bool)

    def group_columns(self, group: np.ndarray, in_width: int) -> np.ndarray:
        return np.broadcast_to(np.arange(in_width), (len(group), in_width))

    def overlapping_groups(self) -> np.ndarray:
        return np.zeros((0, 2), dtype=np.int64)

    def restrict(self, units: slice, in_width: int) -> tuple[np.ndarray, Piecewise]:
        return np.arange(in_width), self

    def pattern_from_bits(self, bits: np.ndarray) -> np.ndarray:
        cand = bits.reshape(len(bits), 1, -1)
        return np.where(cand.any(axis=2), cand.argmax(axis=2), -1)

    def forward_pattern(self, x: np.ndarray, pattern: np.ndarray) -> np.ndarray:
        return x

    def forward(self, x: np.ndarray) -> np.ndarray:
        return x

    def magnitude(self, *mags: np.ndarray) -> np.ndarray:
        return mags[0]

    def __repr__(self) -> str:
        return "Argmax()"


class Add(Layer):
    """Sum of its inputs (all of one width)."""

    arity = 2

    def forward(self, *xs: np.ndarray) -> np.ndarray:  # type: ignore[override]
        out = xs[0].copy()
        for x in xs[1:]:
            out += x
        return out

    def forward_linear(self, *xs: np.ndarray) -> np.ndarray:  # type: ignore[override]
        """The sum, as :meth:`forward` (it has no constant term)."""
        return self.forward(*xs)


class Concat(Layer):
    """Concatenation of its inputs along the (flat) feature axis."""

    arity = 2

    def forward(self, *xs: np.ndarray) -> np.ndarray:  # type: ignore[override]
        return np.concatenate(xs, axis=1)

    def forward_linear(self, *xs: np.ndarray) -> np.ndarray:  # type: ignore[override]
        """The concatenation, as :meth:`forward` (it has no constant term)."""
        return self.forward(*xs)


class Sequential(Layer):
    """Layers applied one after the other."""

    def __init__(self, *layers: Layer) -> None:
        if len(layers) == 1 and isinstance(layers[0], (list, tuple)):
            layers = tuple(layers[0])
        for i, layer in enumerate(layers):
            if not isinstance(layer, Layer):
                raise TypeError(
                    f"Sequential layer {i} must be a regionscope layer, got {type(layer).__name__}"
                    " (use regionscope.partition on a torch module to convert it)"
                )
        self.layers: tuple[Layer, ...] = tuple(layers)

    def __len__(self) -> int:
        return len(self.layers)

    def __getitem__(self, i: int) -> Layer:
        return self.layers[i]

    def forward(self, x: np.ndarray) -> np.ndarray:
        for layer in self.layers:
            x = layer.forward(x)
        return x

    def forward_linear(self, x: np.ndarray) -> np.ndarray:
        """The layers' linear parts one after the other (all must be affine)."""
        for layer in self.layers:
            x = layer.forward_linear(x)
        return x

    def __repr__(self) -> str:
        inner = ",\n  ".join(repr(layer).replace("\n", "\n  ") for layer in self.layers)
        return f"Sequential(\n  {inner}\n)"


class Residual(Layer):
    """``x + module(x)``."""

    def __init__(self, module: Layer) -> None:
        if not isinstance(module, Layer):
            raise TypeError(f"Residual needs a regionscope layer, got {type(module).__name__}")
        self.module = module

    def forward(self, x: np.ndarray) -> np.ndarray:
        return x + self.module.forward(x)

    def forward_linear(self, x: np.ndarray) -> np.ndarray:
        """``x + module.forward_linear(x)`` (the module must be affine)."""
        return x + self.module.forward_linear(x)

    def __repr__(self) -> str:
        return f"Residual({self.module!r})"


class Graph(Layer):
    """A network as a directed acyclic graph of layers.

    Parameters
    ----------
    nodes : sequence of (name, layer, inputs)
        In an order where every input comes earlier; ``inputs`` are names of
        earlier nodes or ``"input"``.
    output : str
        Name of the node whose value is the network's output.

    Examples
    --------
    >>> import numpy as np
    >>> g = Graph([("a", ReLU(), ["input"]), ("s", Add(), ["input", "a"])], output="s")
    >>> g.forward(np.array([[-1.0, 2.0]]))
    array([[-1.,  4.]])
    """

    def __init__(self, nodes: Sequence[tuple[str, Layer, Sequence[str]]], output: str) -> None:
        seen = {"input"}
        checked = []
        for i, node in enumerate(nodes):
            name, layer, inputs = node
            if not isinstance(layer, Layer):
                raise TypeError(f"Graph node {i} ({name!r}) is not a regionscope layer")
            inputs = tuple(inputs)
            missing = [s for s in inputs if s not in seen]
            if missing:
                raise ValueError(
                    f"Graph node {name!r} uses {missing}, which come later or are unknown"
                )
            if name in seen:
                raise ValueError(f"Graph node name {name!r} is used twice")
            seen.add(name)
            checked.append((str(name), layer, inputs))
        if output not in seen:
            raise ValueError(f"Graph output {output!r} is not a node")
        self.nodes = tuple(checked)
        self.output = output

    def forward(self, x: np.ndarray) -> np.ndarray:
        values = {"input": x}
        for name, layer, inputs in self.nodes:
            values[name] = layer.forward(*(values[s] for s in inputs))
        return values[self.output]

    def forward_linear(self, x: np.ndarray) -> np.ndarray:
        """The nodes' linear parts through the graph (all nodes must be affine)."""
        values = {"input": x}
        for name, layer, inputs in self.nodes:
            values[name] = layer.forward_linear(*(values[s] for s in inputs))
        return values[self.output]
