"""What the first piecewise layer will make, known before any cut.

When the input of the first piecewise layer is affine on the domain (always,
through the folded prefix), each unit of its first stage is an affine
function of the domain point, and its zero set a line.  For a layer that
never merges (ReLU, LeakyReLU, HardTanh...) those lines stay in the final
partition, which later layers only refine, so the arrangement they make in
the domain is a floor on the final count: ``1 + lines + crossings`` regions
for lines in general position (lines meeting three at a point make fewer).

The crossings are counted from where the lines meet the domain's boundary:
two chords of a convex polygon cross inside it exactly when their ends
interleave along the boundary, which is counted in ``O(n log^2 n)`` (a merge
sort's levels, each in a few array operations).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from regionscope.network.evaluate import Evaluator

__all__ = ["Estimate", "first_layer_estimate", "interleaved_pairs"]


@dataclasses.dataclass(frozen=True)
class Estimate:
    """The first piecewise layer's lines in the domain.

    Attributes
    ----------
    layer : int
        Its op index.
    name : str
        Its name.
    units : int
        Units of its first stage.
    crossing : int
        Units whose zero line crosses the domain.
    crossings : int
        Pairs of those lines that cross inside the domain.
    regions : int
        ``1 + crossing + crossings``: the regions of the lines' arrangement.
    floor : bool
        Whether ``regions`` is a floor on the final count (the layer never
        merges regions).
    """

    layer: int
    name: str
    units: int
    crossing: int
    crossings: int
    regions: int
    floor: bool

    def describe(self) -> str:
        """One line for a progress report."""
        what = "at least" if self.floor else "before merging,"
        return (
            f"layer {self.layer} ({self.name}): {self.crossing} of {self.units} units cross "
            f"the domain, {self.crossings} crossings inside; this layer alone makes {what} "
            f"{self.regions} regions"
        )


def interleaved_pairs(a: np.ndarray, b: np.ndarray) -> int:
    """Pairs ``i, j`` with ``a[i] < a[j] < b[i] < b[j]``: chords whose ends interleave.

    Parameters
    ----------
    a, b : (n,) float64
        The two ends of each chord along the boundary (chords with
        ``a >= b`` are empty and cross nothing).

    >>> interleaved_pairs(np.array([0.0, 1.0, 2.5]), np.array([2.0, 3.0, 2.7]))
    1
    """
    keep = a < b  # an empty chord crosses nothing
    a, b = a[keep], b[keep]
    n = len(a)
    if n < 2:
        return 0
    order = np.lexsort((b, a))  # by start, then end
    a, b = a[order], b[order]
    # chords that start strictly inside chord i: a_i < a_j < b_i
    starts_inside = np.searchsorted(a, b, side="left") - np.searchsorted(a, a, side="right")
    # of those, the ones that also end by b_i (a_i < a_j, b_j <= b_i): pairs i < j of this
    # order with b_j <= b_i, less the pairs of equal chords (equal a, so not nested)
    rank = np.searchsorted(np.sort(b), b, side="left")
    same = np.flatnonzero((a[1:] != a[:-1]) | (b[1:] != b[:-1])) + 1
    runs = np.diff(np.concatenate(([0], same, [n])))
    nested = _pairs_not_increasing(rank) - int((runs * (runs - 1) // 2).sum())
    return int(starts_inside.sum()) - nested


def _pairs_not_increasing(rank: np.ndarray) -> int:
    """Pairs ``i < j`` with ``rank[j] <= rank[i]`` (``rank (n,) int64`` in ``0..n-1``).

    Counted level by level as in a merge sort, all blocks of a level at once:
    at width ``w`` every element of the second half of a block of ``2 w``
    counts the elements of the first half that are at least its rank.
    """
    n = len(rank)
    pos = np.arange(n)
    total = 0
    w = 1
    while w < n:
        block = pos // (2 * w)
        second = (pos // w) % 2 == 1
        key = block * (n + 1) + rank
        first_keys = np.sort(key[~second])
        below = np.searchsorted(first_keys, key[second], side="left") - block[second] * w
        total += int(second.sum()) * w - int(below.sum())
        w *= 2
    return total


def first_layer_estimate(
    ev: Evaluator, polygon: np.ndarray, above: int | None = None
) -> Estimate | None:
    """The :class:`Estimate` of the first piecewise op of ``ev`` on the convex ``polygon``
    ``(K, 2)`` (counter-clockwise), or ``None`` when the program has no piecewise op.

    With ``above``, also ``None`` when ``1 + c + c (c - 1) / 2`` for the ``c``
    crossing lines (the most regions they can make) is at most ``above``: the
    crossings are then not counted (the cost of a small network stays small).
    """
    ops = ev.program.ops
    index = ev.prefix
    if index >= len(ops) or not ops[index].layer.piecewise:
        return None
    op = ops[index]
    layer: Any = op.layer
    units = layer.num_units(op.in_width)
    if above is not None and 1 + units + units * (units - 1) // 2 <= above:
        return None  # even if every line crossed: nothing to compute (c <= units)
    # each unit's value at the origin and the unit points: exact for the affine first stage
    if ev.prefix:
        lin, off = ev.prefix_maps[op.inputs[0]]
    else:
        lin, off = ev.lift_linear, ev.lift_offset
    three = np.concatenate([off[None, :], off[None, :] + lin])
    z = layer.stage_values(three, 0)
    tol = np.broadcast_to(ev.unit_tol[index], z.shape[1:])
    at_corner = z[0] + polygon @ (z[1:] - z[0])  # (K, units)
    crosses = (at_corner.min(axis=0) < -tol) & (at_corner.max(axis=0) > tol)
    c = int(crosses.sum())
    if above is not None and 1 + c + c * (c - 1) // 2 <= above:
        return None
    zc = at_corner[:, crosses]
    # where each crossing line meets the boundary, as a position along it (edge + fraction)
    nxt = np.roll(zc, -1, axis=0)
    change = (zc > 0) != (nxt > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        frac = np.where(change, zc / (zc - nxt), np.nan)
    pos = np.arange(len(polygon))[:, None] + np.clip(frac, 0.0, 1.0)
    ends_a, ends_b = np.nanmin(pos, axis=0), np.nanmax(pos, axis=0)
    crossing = int(crosses.sum())
    crossings = interleaved_pairs(ends_a, ends_b)
    return Estimate(
        index,
        op.name,
        int(z.shape[1]),
        crossing,
        crossings,
        1 + crossing + crossings,
        not layer.merge,
    )
