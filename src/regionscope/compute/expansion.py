"""A register computed by affine ops from a ReLU of an affine map of the domain point,
evaluated from the ReLU's live units only.

On a convex domain, a ReLU unit whose pre-activation ``a_k(p) = p . A[:, k] + c_k`` is
above its tolerance at every corner is above it everywhere, so ``relu(a_k) = a_k`` on the
whole domain; one below minus its tolerance at every corner gives 0 everywhere.  Only the
other units, the *live* ones (``L`` of them), bend.  If affine ops ``f(u) = h(u) + f(0)``
(``h`` linear) follow the ReLU, their output is

.. math::

    y(p) = p\\,G + g + \\sum_{k \\text{ live}} \\mathrm{relu}(a_k(p))\\, H_k,
    \\qquad G = h(\\mathrm{on} \\odot A),\\; g = f(\\mathrm{on} \\odot c),\\; H_k = h(e_k),

``2 + L`` products per output column instead of the ops' own cost (a 3x3 convolution of
16 channels: 144), and only for the columns asked for.  The same terms bound every column
over the domain (the affine part at the corners, each live term between 0 and its largest
value), so most columns are known to keep one sign without being computed.

This is how the driver (:mod:`~regionscope.compute.driver`) gets a CNN's second ReLU
layer's input at the vertices on a small window or tile: the first layer's units that
cross it are few.  The values equal a forward pass's up to rounding (a different order of
the same sums), so the bounds are widened by ``EXPANSION_BOUND_RTOL`` of each column's
scale (:mod:`~regionscope.tolerances`) before they decide anything.

Examples
--------
>>> import numpy as np
>>> from regionscope.domains import Box
>>> from regionscope.network.layers import Linear, ReLU, Sequential
>>> from regionscope.network.program import compile_model
>>> from regionscope.network.evaluate import Evaluator
>>> net = Sequential(Linear([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]], [0.0, 0.0, 5.0]), ReLU(),
...                  Linear([[1.0, 1.0, 1.0]]), ReLU())
>>> box = Box(1.0)
>>> ev = Evaluator(compile_model(net, 2), box.lift, box.polygon)
>>> exp = relu_expansion(ev, 3, box.polygon, max_live_fraction=1.0)
>>> exp.live.tolist()          # units 0 and 1 cross the box, unit 2 is on everywhere
[0, 1]
>>> p = np.array([[0.5, -0.5]])
>>> exp.values(p, np.array([0])), ev.layer_input(p, 3)
(array([[5.5]]), array([[5.5]]))
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from regionscope.network.evaluate import Evaluator
from regionscope.network.layers import ReLU
from regionscope.network.program import Op
from regionscope.tolerances import EXPANSION_BOUND_RTOL, get_budget

__all__ = ["ReluExpansion", "relu_chain", "relu_expansion"]


@dataclasses.dataclass(frozen=True)
class ReluExpansion:
    """A register as an affine map of the domain point plus the live ReLU units' terms.

    Attributes
    ----------
    live : (L,) int64
        The ReLU's live units (increasing).
    live_linear, live_offset : (2, L), (L,) float64
        Their pre-activations' affine map of the domain point.
    linear, offset : (2, n), (n,) float64
        The register's affine part (every other unit on or off as on the whole domain).
    weights : (L, n) float64
        Each live unit's column of the ops' linear part.
    low, high : (n,) float64
        Bounds of every column over the domain, widened for rounding.
    in_width : int
        The ReLU's width.
    """

    live: np.ndarray
    live_linear: np.ndarray
    live_offset: np.ndarray
    linear: np.ndarray
    offset: np.ndarray
    weights: np.ndarray
    low: np.ndarray
    high: np.ndarray
    in_width: int

    @property
    def fan_in(self) -> float:
        """How many of the ReLU's units each output column reads, on average, estimated from
        the live units' weights (144 for a 3x3 convolution of 16 channels); the products per
        column of a forward pass through the ops."""
        n = self.weights.shape[1]
        return np.count_nonzero(self.weights) * self.in_width / max(len(self.live) * n, 1)

    def values(self, coords: np.ndarray, columns: np.ndarray) -> np.ndarray:
        """``(N, C) float64``: the register's ``columns (C,) int`` at ``coords (N, 2)``,
        in chunks of the working budget."""
        columns = np.asarray(columns, dtype=np.intp)
        return self._at(coords, self.weights[:, columns], self.linear[:, columns],
                        self.offset[columns])  # fmt: skip

    def values_through(
        self, coords: np.ndarray, columns: np.ndarray, rows: np.ndarray
    ) -> np.ndarray:
        """``(N, m) float64``: ``values(coords, columns) @ rows`` for ``rows (C, m)``, the
        map composed first: ``2 + L`` products per value instead of ``(2 + L) C / m + C``.
        Equal up to rounding.

        >>> e = ReluExpansion(np.array([0]), np.array([[1.0], [0.0]]), np.zeros(1),
        ...                   np.array([[0.0, 1.0], [1.0, 0.0]]), np.array([1.0, 2.0]),
        ...                   np.array([[2.0, 0.0]]), np.zeros(2), np.zeros(2), 1)
        >>> xy = np.array([[1.0, 3.0], [-1.0, 0.0]])
        >>> e.values(xy, np.array([0, 1])).tolist()  # (2 relu(x) + y + 1, x + 2)
        [[6.0, 3.0], [1.0, 1.0]]
        >>> e.values_through(xy, np.array([0, 1]), np.array([[1.0], [-1.0]])).tolist()
        [[3.0], [0.0]]
        """
        columns = np.asarray(columns, dtype=np.intp)
        return self._at(coords, self.weights[:, columns] @ rows,
                        self.linear[:, columns] @ rows, self.offset[columns] @ rows)  # fmt: skip

    def _at(
        self, coords: np.ndarray, weights: np.ndarray, lin: np.ndarray, off: np.ndarray
    ) -> np.ndarray:
        """``(N, C)``: ``relu(live units) @ weights + coords @ lin + off`` at ``coords (N, 2)``,
        in chunks of the working budget."""
        out = np.empty((len(coords), weights.shape[1]))
        width = max(weights.shape[1] + len(self.live), 1)
        step = max(1, get_budget().chunk_values // width)
        for s in range(0, len(coords), step):
            part = coords[s : s + step]
            bent = np.maximum(part @ self.live_linear + self.live_offset, 0.0)
            np.matmul(bent, weights, out=out[s : s + step])
            out[s : s + step] += part @ lin
            out[s : s + step] += off
        return out


def relu_chain(ev: Evaluator, index: int) -> tuple[Op, list[Op]] | None:
    """The ReLU op and the affine ops after it that compute op ``index``'s input, when that
    input is all a forward pass must hand over there, the ops form one chain (each reads
    the one before), and the ReLU's input is an affine map of the domain point; ``None``
    otherwise."""
    program = ev.program
    op = program.ops[index]
    if ev.stored_registers(index) != (op.inputs[0],):
        return None
    writer = {o.output: o for o in program.ops}
    chain: list[Op] = []
    cur = writer.get(op.inputs[0])
    while cur is not None and not cur.layer.piecewise:
        if len(cur.inputs) != 1:
            return None
        chain.append(cur)
        cur = writer.get(cur.inputs[0])
    if cur is None or type(cur.layer) is not ReLU or not chain:
        return None
    if ev.affine_register(cur.inputs[0]) is None:
        return None
    return cur, chain[::-1]


def _apply(chain: list[Op], x: np.ndarray, linear: bool) -> np.ndarray:
    """The chain's ops (their linear parts when ``linear``) on rows ``x``."""
    for o in chain:
        layer: Any = o.layer
        x = layer.forward_linear(x) if linear else layer.forward(x)
    return x


def relu_expansion(
    ev: Evaluator, index: int, corners: np.ndarray, max_live_fraction: float
) -> ReluExpansion | None:
    """Op ``index``'s input as a :class:`ReluExpansion` on the convex domain with
    ``corners (K, 2)``, or ``None`` where it does not apply (:func:`relu_chain`) or more
    than ``max_live_fraction`` of the ReLU's units are live."""
    found = relu_chain(ev, index)
    if found is None:
        return None
    relu, chain = found
    lin, off = ev.affine_register(relu.inputs[0])  # type: ignore[misc]
    n_in = lin.shape[1]
    tol = np.broadcast_to(np.asarray(ev.unit_tol[relu.index], np.float64), (n_in,))
    pre = corners @ lin + off
    lo, hi = pre.min(axis=0), pre.max(axis=0)
    if not (np.isfinite(lo).all() and np.isfinite(hi).all()):
        return None
    on = lo > tol
    live = np.flatnonzero(~on & (hi >= -tol))
    if len(live) > int(max_live_fraction * n_in):
        return None
    dim = lin.shape[0]
    rows = np.concatenate([lin * on, np.zeros((len(live), n_in))])
    rows[dim + np.arange(len(live)), live] = 1.0
    step = max(1, get_budget().chunk_values // max(n_in, 1))
    parts = [_apply(chain, rows[s : s + step], True) for s in range(0, len(rows), step)]
    image = np.concatenate(parts)
    linear, weights = image[:dim], image[dim:]
    offset = _apply(chain, (off * on)[None], False)[0]
    # bounds over the domain: the affine part at the corners, each live term in [0, top]
    flat = corners @ linear + offset
    top = np.maximum(hi[live], 0.0)
    terms = weights * top[:, None]
    scale = np.abs(flat).max(axis=0) + np.abs(terms).sum(axis=0)
    slack = EXPANSION_BOUND_RTOL * scale
    low = flat.min(axis=0) + np.minimum(terms, 0.0).sum(axis=0) - slack
    high = flat.max(axis=0) + np.maximum(terms, 0.0).sum(axis=0) + slack
    if not (np.isfinite(low).all() and np.isfinite(high).all()):
        return None  # (the forward pass reports what overflowed)
    return ReluExpansion(
        live.astype(np.int64),
        np.ascontiguousarray(lin[:, live]),
        off[live].copy(),
        linear,
        offset,
        weights,
        low,
        high,
        n_in,
    )
