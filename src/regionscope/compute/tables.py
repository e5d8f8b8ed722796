"""Tables of values at the vertices while a max layer is cut: their steps, on the host or a device.

:func:`~regionscope.compute.undecided.cut_undecided` carries wide tables of
values at the vertices through its cuts: the layer's input, the undecided
groups' inputs, the decided groups' outputs.  It reads and grows them through
the few steps of :class:`HostTables`: winners and maxima, stage values,
columns, growth by exact interpolation.  :class:`DeviceTables` does the same
steps on torch tensors on the torch backend's device, so that the tables stay
there between the cuts; the host gets the small things the cuts and merges
read (the stage values of the groups cut, their winners, the undecided groups'
candidate masks for the merge, or their inputs where a group is too wide for a
mask).

Every step on the device is a gather, a comparison, a maximum or the same
elementwise operations in the same order as the host's (interpolation is
``a + w (b - a)``, in separate kernels: nothing is fused), so the values are
the same, bit for bit, and so is the partition.  Products of matrices stay
with the host (:mod:`~regionscope.compute.undecided` sends them there).

The host's steps are functions over arrays (:func:`winners_and_maxima`,
:func:`undecided_groups`, :func:`grow`, :func:`extend_all`), compiled where
numba runs.

Examples
--------
>>> import numpy as np
>>> from regionscope.geometry import Mesh
>>> square = Mesh.from_polygon(np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]]))
>>> winners = np.array([[0, 1], [0, 1], [0, 0], [0, 1]])  # 2 groups at the 4 corners
>>> undecided_groups(square, winners).tolist()
[False, True]
>>> tables = tables_for(10)  # the host, unless the torch backend is in force
>>> x = tables.put(np.array([[1.0, 3.0, 2.0], [0.0, -1.0, 4.0]]))
>>> w, m = tables.winners_and_maxima(np.array([[0, 1], [2, -1]]), x, np.zeros(2), 10)
>>> tables.get(w).tolist(), tables.get(m).tolist()
([[1, 0], [0, 0]], [[3.0, 2.0], [0.0, 4.0]])
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from regionscope.backends import compiled, device_for_values
from regionscope.geometry import CutResult, Mesh
from regionscope.geometry.kernels import compiled_maxes
from regionscope.network.layers import MaxPool, ReLU
from regionscope.network.program import Op

from .limits import check_finite

if TYPE_CHECKING:
    import torch

__all__ = [
    "SIDE_BLOCK",
    "MASK_SLOTS",
    "winners_and_maxima",
    "region_sides",
    "undecided_groups",
    "grow",
    "extend_all",
    "HostTables",
    "DeviceTables",
    "HOST",
    "tables_for",
    "tables_of",
]


#: sides compared at once when looking for undecided groups (times the groups: the table)
SIDE_BLOCK = 4096
#: the most inputs of a group whose candidates fit one int64 mask (:func:`winners_and_maxima`)
MASK_SLOTS = 62


def winners_and_maxima(
    table: np.ndarray, x: np.ndarray, tol: np.ndarray, rows: int, masks: bool = False
) -> tuple[np.ndarray, ...]:
    """Each group's winner and largest input at each row of ``x (N, in_width)``.

    ``table (G, k) int`` holds the groups' input columns (``-1`` pads short
    groups), ``tol (G,)`` their tolerances.  The winner is the first input
    within the tolerance of the largest, as :meth:`MaxPool.pattern
    <regionscope.network.layers.MaxPool.pattern>` picks it; both come from one
    gather, ``rows`` rows at a time (compiled, :mod:`regionscope.geometry.kernels.maxes`,
    in one pass without it).  Returns ``winners (N, G) int8`` and ``maxima (N, G)
    float64`` (a zero maximum as ``+0.0``), and with ``masks`` (``k`` at most
    :data:`MASK_SLOTS`) every group's candidates, ``(N, G) int64`` (bit ``s`` set
    where slot ``s`` is within the tolerance of the largest).

    >>> w, m, c = winners_and_maxima(np.array([[0, 1], [2, -1]]),
    ...                              np.array([[3.0, 3.0, 2.0]]), np.zeros(2), 10, masks=True)
    >>> w.tolist(), m.tolist(), c.tolist()
    ([[0, 0]], [[3.0, 2.0]], [[3, 1]])
    """
    if masks and table.shape[1] > MASK_SLOTS:
        raise ValueError(f"candidate masks hold {MASK_SLOTS} slots, not {table.shape[1]}")
    fast = compiled_maxes(x)
    if fast is not None:  # (numba: one pass, no gathered table)
        return fast.winners_and_maxima(table, x, tol, masks)
    n_groups, k = table.shape
    winners = np.empty((len(x), n_groups), dtype=np.int8)
    maxima = np.empty((len(x), n_groups))
    found = np.zeros((len(x) if masks else 0, n_groups), dtype=np.int64)
    pad = table < 0
    columns = np.maximum(table, 0).T  # slot-major: a slot's inputs are contiguous
    for s in range(0, len(x), max(rows, 1)):
        vals = np.take(x[s : s + rows], columns, axis=1)  # (n, k, G)
        if pad.any():
            vals[:, pad.T] = -np.inf
        top = vals.max(axis=1)
        # (+ 0.0: a zero is +0.0, whichever of two signed zeros NumPy's max keeps)
        np.add(top, 0.0, out=maxima[s : s + rows])
        cand = vals >= (top - tol)[:, None, :]
        # the first candidate: k - 1 where none of the slots before it is one
        first = np.full(top.shape, k - 1, dtype=np.int8)
        for j in range(k - 2, -1, -1):
            np.copyto(first, np.int8(j), where=cand[:, j])
        winners[s : s + rows] = first
        for j in range(k if masks else 0):
            found[s : s + rows] |= cand[:, j].astype(np.int64) << j
    return (winners, maxima, found) if masks else (winners, maxima)


def region_sides(mesh: Mesh) -> tuple[np.ndarray, np.ndarray]:
    """``(a, b)``: the two end vertices of every distinct side of every region, ``(S,) int64``
    each (consecutive corners of a region; a side two regions share is listed once)."""
    rv, offsets = mesh.region_vertices, mesh.region_offsets
    following = np.arange(1, len(rv) + 1)
    following[offsets[1:] - 1] = offsets[:-1]  # each region's last corner is followed by its first
    a, b = rv, rv[following]
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    key = np.unique(lo.astype(np.int64) * max(mesh.num_vertices, 1) + hi)
    return key // max(mesh.num_vertices, 1), key % max(mesh.num_vertices, 1)


def undecided_groups(mesh: Mesh, winners: np.ndarray) -> np.ndarray:
    """``(G,) bool``: the groups whose winner differs between two corners of some region.

    ``winners (V, G) int`` holds each group's winner at each vertex.  A
    region's corners all agree when every two consecutive ones do, so the
    sides of the regions are enough (:func:`region_sides`).
    """
    a, b = region_sides(mesh)
    out = np.zeros(winners.shape[1], dtype=bool)
    for s in range(0, len(a), SIDE_BLOCK):
        out |= (winners[a[s : s + SIDE_BLOCK]] != winners[b[s : s + SIDE_BLOCK]]).any(axis=0)
    return out


def grow(table: np.ndarray, rows: int, res: CutResult) -> tuple[np.ndarray, int]:
    """The first ``rows`` rows of ``table (N, w)`` extended through the cut ``res``, as
    :meth:`CutResult.extend <regionscope.geometry.CutResult.extend>` extends them (the same
    bits): ``(table', rows')``, the values in ``table'[:rows']``.

    ``table`` is the caller's own, so the rows after ``rows`` may be written: where the
    compiled kernels run, the new rows are written there in place when they fit, else into
    a new table with room for half as many rows again.  A table carried through many cuts
    is copied a few times instead of once per cut.

    >>> import numpy as np
    >>> from regionscope.geometry import Mesh, cut, encode_source
    >>> square = Mesh.from_polygon(np.array([[0.0, 0], [1, 0], [1, 1], [0, 1]]))
    >>> z = square.vertices[:, :1] - 0.25
    >>> res = cut(square, z, np.zeros(1), encode_source(0, np.zeros(1, np.int64)), 1e-12, 9)
    >>> table, rows = grow(z.copy(), 4, res)
    >>> rows, table[:rows].ravel().tolist() == res.extend(z).ravel().tolist()
    (6, True)
    """
    blocks = [b for b in res.interp if len(b[0])]
    if not blocks:
        return table, rows
    if table.ndim != 2 or table.dtype != np.float64 or not compiled():
        out = res.extend(table[:rows])
        return out, len(out)
    from regionscope.geometry.kernels import interp  # (numba: compiled() says it runs)

    src, dst, weight = (np.concatenate([b[i] for b in blocks]) for i in range(3))
    need = rows + len(src)
    if len(table) < need or not table.flags.c_contiguous or not table.flags.writeable:
        old, table = table, np.empty((need + need // 2, table.shape[1]))
        table[:rows] = old[:rows]
    interp.interpolate_into(table[:need], rows, src, dst, weight)
    return table, need


def extend_all(values: np.ndarray, cuts: list[CutResult]) -> np.ndarray:
    """``values (V, ...)`` extended through the cuts ``cuts`` made one after the other, as
    :meth:`CutResult.extend <regionscope.geometry.CutResult.extend>` of each in turn
    would (the same operations on each value, in the same order), with one copy of the
    table instead of one per cut where the compiled kernels run."""
    blocks = [b for res in cuts for b in res.interp if len(b[0])]
    if not blocks:
        return values
    if values.ndim == 2 and values.dtype == np.float64 and compiled():
        from regionscope.geometry.kernels import interp  # (numba: compiled() says it runs)

        src, dst, weight = (np.concatenate([b[i] for b in blocks]) for i in range(3))
        return interp.interpolate(values, src, dst, weight)
    for res in cuts:
        values = res.extend(values)
    return values


class HostTables:
    """The steps on NumPy arrays (compiled where numba runs): the reference."""

    device: str | None = None

    def put(self, values: np.ndarray) -> Any:
        """``values`` where the tables live (here: itself)."""
        return values

    def get(self, values: Any) -> np.ndarray:
        """``values`` as a NumPy array on the host (here: itself)."""
        return values

    def check_finite(self, x: Any, op: Op) -> None:
        """:func:`~regionscope.compute.limits.check_finite` of ``x`` for op ``op``."""
        check_finite(x, op)

    def forward(self, layer: Any, *args: Any) -> Any:
        """``layer``'s output at ``args``."""
        return layer.forward(*args)

    def winners_and_maxima(
        self, table: np.ndarray, x: Any, tol: np.ndarray, rows: int, masks: bool = False
    ) -> tuple[Any, ...]:
        """:func:`winners_and_maxima`."""
        return winners_and_maxima(table, x, tol, rows, masks)

    def undecided_groups(self, mesh: Mesh, winners: Any) -> np.ndarray:
        """:func:`undecided_groups`, ``(G,) bool`` on the host."""
        return undecided_groups(mesh, winners)

    def take(self, x: Any, columns: np.ndarray) -> Any:
        """The ``columns (C,) int`` of ``x (N, w)``."""
        return np.take(x, columns, axis=1)

    def concat(self, parts: list[Any]) -> Any:
        """``parts`` side by side (same rows)."""
        return np.concatenate(parts, axis=1)

    def stack(self, parts: list[Any]) -> Any:
        """``parts`` one after the other (same columns)."""
        return np.concatenate(parts)

    def rows(self, x: Any, kept: np.ndarray) -> Any:
        """The rows ``kept (N,) bool`` of ``x (N, ...)``."""
        return x[kept]

    def zeros(self, rows: int, width: int) -> Any:
        """``(rows, width) float64`` zeros."""
        return np.zeros((rows, width))

    def stage_values(self, layer: MaxPool, x: Any, stage: int, units: slice) -> Any:
        """:meth:`MaxPool.stage_values <regionscope.network.layers.MaxPool.stage_values>`."""
        return layer.stage_values(x, stage, units)

    def grow(self, table: Any, rows: int, res: CutResult) -> tuple[Any, int]:
        """:func:`grow`."""
        return grow(table, rows, res)

    def extend_all(self, values: Any, cuts: list[CutResult]) -> Any:
        """:func:`extend_all`."""
        return extend_all(values, cuts)


class DeviceTables(HostTables):
    """The steps on float64 torch tensors on ``device`` (the same values, bit for bit).

    Winners are ``int8`` tensors, indices go over as ``int64``, and the blocks of a
    cut's interpolation (:attr:`CutResult.interp <regionscope.geometry.CutResult>`)
    are sent for each cut (a few numbers per new vertex).
    """

    def __init__(self, device: str) -> None:
        import torch

        self.torch = torch
        self.device = device

    def put(self, values: Any) -> torch.Tensor:
        from regionscope.geometry.tensor.ops import to_device

        if isinstance(values, self.torch.Tensor):
            return values.to(self.device)
        values = np.asarray(values)
        dtype = np.int64 if values.dtype.kind in "iu" and values.itemsize > 1 else values.dtype
        return to_device(values, dtype, self.torch.device(self.device))

    def get(self, values: Any) -> np.ndarray:
        from regionscope.geometry.tensor.ops import to_host

        if isinstance(values, np.ndarray):
            return values
        return to_host(values.reshape(-1)).reshape(tuple(values.shape))

    def _index(self, index: np.ndarray) -> torch.Tensor:
        return self.put(np.asarray(index, dtype=np.int64))

    def forward(self, layer: Any, *args: Any) -> Any:
        """A ReLU on the device (``max(x, 0)``: zeros may differ in sign from the host's,
        which nothing reads); any other layer on the host, its output sent back."""
        if type(layer) is ReLU:
            return self.torch.clamp_min(args[0], 0.0)
        return self.put(layer.forward(*(self.get(a) for a in args)))

    def _slots(self, table: np.ndarray) -> tuple[Any, Any]:
        """Groups ``table (G, k)`` on the device: their input columns slot-major ``(k G,)``
        and their padding ``(k, G) bool``."""
        columns = self._index(np.maximum(table, 0).T.reshape(-1))
        return columns, self.put(np.ascontiguousarray((table < 0).T))

    def _gather(self, x: Any, columns: Any, pad: Any) -> Any:
        """``(N, k, G)``: the groups' inputs (:meth:`_slots`) at the rows of ``x``, ``-inf``
        for padding."""
        vals = self.torch.index_select(x, 1, columns).reshape(len(x), *pad.shape)
        return vals.masked_fill_(pad, -float("inf"))

    def check_finite(self, x: Any, op: Op) -> None:
        if not bool(self.torch.isfinite(x).all()):
            check_finite(self.get(x), op)  # (the host's message)

    def winners_and_maxima(
        self, table: np.ndarray, x: Any, tol: np.ndarray, rows: int, masks: bool = False
    ) -> tuple[Any, ...]:
        torch = self.torch
        n_groups, k = table.shape
        winners = torch.empty((len(x), n_groups), dtype=torch.int8, device=x.device)
        maxima = torch.empty((len(x), n_groups), dtype=torch.float64, device=x.device)
        found = torch.zeros((len(x) if masks else 0, n_groups), dtype=torch.int64, device=x.device)
        out = (winners, maxima, found) if masks else (winners, maxima)
        if len(x) == 0 or n_groups == 0:
            return out
        slots = self._slots(table)
        tol_t = self.put(np.asarray(tol, np.float64))
        for s in range(0, len(x), max(rows, 1)):
            part = x[s : s + rows]
            vals = self._gather(part, *slots)
            top = vals.amax(dim=1)
            maxima[s : s + len(part)] = top + 0.0  # (a zero is +0.0, as on the host)
            cand = vals >= (top - tol_t)[:, None, :]
            first = torch.full(top.shape, k - 1, dtype=torch.int8, device=x.device)
            for j in range(k - 2, -1, -1):  # the first candidate, as on the host
                first.masked_fill_(cand[:, j], j)
            winners[s : s + len(part)] = first
            for j in range(k if masks else 0):
                found[s : s + len(part)] |= cand[:, j].to(torch.int64) << j
        return out

    def undecided_groups(self, mesh: Mesh, winners: Any) -> np.ndarray:
        a, b = (self._index(v) for v in region_sides(mesh))
        out = self.torch.zeros(winners.shape[1], dtype=self.torch.bool, device=winners.device)
        for s in range(0, len(a), SIDE_BLOCK):
            wa = self.torch.index_select(winners, 0, a[s : s + SIDE_BLOCK])
            wb = self.torch.index_select(winners, 0, b[s : s + SIDE_BLOCK])
            out |= (wa != wb).any(dim=0)
        return self.get(out)

    def take(self, x: Any, columns: np.ndarray) -> Any:
        return self.torch.index_select(x, 1, self._index(columns))

    def concat(self, parts: list[Any]) -> Any:
        return self.torch.cat(parts, dim=1)

    def stack(self, parts: list[Any]) -> Any:
        return self.torch.cat(parts, dim=0)

    def rows(self, x: Any, kept: np.ndarray) -> Any:
        return self.torch.index_select(x, 0, self._index(np.flatnonzero(kept)))

    def zeros(self, rows: int, width: int) -> Any:
        return self.torch.zeros((rows, width), dtype=self.torch.float64, device=self.device)

    def stage_values(self, layer: MaxPool, x: Any, stage: int, units: slice) -> Any:
        torch = self.torch
        k = stage + 1
        vals = self._gather(x, *self._slots(layer.groups[units][:, : k + 1]))
        top = vals[:, 0]
        for s in range(1, k):  # of equal values the later, as the host's compiled maximum
            v = vals[:, s]
            top = torch.where((v >= top) | torch.isnan(v), v, top)
        out = top - vals[:, k]
        # groups shorter than k + 1 have nothing to cut at this stage (as on the host)
        return torch.where(torch.isfinite(out), out, 1.0)

    def _blocks(self, cuts: list[CutResult]) -> list[tuple[Any, Any, Any, np.ndarray]]:
        """The interpolation blocks of ``cuts``, in order, on the device, with which of
        each block's new vertices mix two vertices before the block (the first pass)."""
        out = []
        for res in cuts:
            start = res.mesh.num_vertices - res.num_new_vertices
            for src, dst, weight in res.interp:
                if len(src):
                    first = (src < start) & (dst < start)
                    out.append((self._index(src), self._index(dst), self.put(weight), first))
                    start += len(src)
        return out

    def _fill(self, table: Any, rows: int, blocks: list) -> int:
        """Rows ``rows ...`` of ``table`` filled in place through ``blocks``, as the host's
        interpolation fills them (two passes per block: the new vertices between old
        ones, then those mixing new ones); returns the rows filled."""
        torch = self.torch
        for src, dst, weight, first in blocks:
            for sel in (np.flatnonzero(first), np.flatnonzero(~first)):
                if len(sel) == 0:
                    continue
                at = self._index(sel)
                a = torch.index_select(table, 0, torch.index_select(src, 0, at))
                b = torch.index_select(table, 0, torch.index_select(dst, 0, at))
                w = torch.index_select(weight, 0, at)[:, None]
                a += w * (b - a)
                table[rows + at] = a
            rows += len(src)
        return rows

    def grow(self, table: Any, rows: int, res: CutResult) -> tuple[Any, int]:
        blocks = self._blocks([res])
        if not blocks:
            return table, rows
        need = rows + res.num_new_vertices
        if len(table) < need:
            old = table
            table = self.torch.empty(
                (need + need // 2, old.shape[1]), dtype=old.dtype, device=old.device
            )
            table[:rows] = old[:rows]
        return table, self._fill(table, rows, blocks)

    def extend_all(self, values: Any, cuts: list[CutResult]) -> Any:
        blocks = self._blocks(cuts)
        if not blocks:
            return values
        n_new = sum(len(b[3]) for b in blocks)
        out = self.torch.empty(
            (len(values) + n_new, *values.shape[1:]), dtype=values.dtype, device=values.device
        )
        out[: len(values)] = values
        self._fill(out, len(values), blocks)
        return out


#: the host's steps (they hold no state)
HOST = HostTables()


def tables_of(values: Any) -> HostTables:
    """The steps for the tables where ``values`` lives: :data:`HOST` for a NumPy array
    (or None), :class:`DeviceTables` on its device for a torch tensor."""
    if values is None or isinstance(values, np.ndarray):
        return HOST
    return DeviceTables(str(values.device))


def tables_for(n_values: int) -> HostTables:
    """Where tables of ``n_values`` values live: :class:`DeviceTables` on the torch
    backend's device when :func:`~regionscope.backends.device_for_values` sends them there,
    else :class:`HostTables`."""
    device = device_for_values(n_values)
    return HOST if device is None else DeviceTables(device)
