"""Paths: polylines through points of ``R^D`` and the pattern changes along them.

A :class:`Path` is a polyline through several inputs (a loop through three
images, say).  :meth:`Path.partition` cuts every segment exactly (one
:class:`~regionscope.Partition1D` per segment, on a
:class:`~regionscope.Segment` with margin 0) and counts *transitions*: places
along the path where the activation pattern changes, inside each segment and
at the joins between segments (the last piece of one segment against the
first of the next; for a closed path also the last against the first).

Examples
--------
>>> import regionscope as rs
>>> square = [[-1.0, -1.0], [1.0, -1.0], [1.0, 1.0], [-1.0, 1.0]]
>>> along = Path(square, closed=True).partition(rs.testing.tiny_cross())
>>> along.transitions.tolist(), along.join_transitions.tolist(), along.total_transitions
([1, 1, 1, 1], [0, 0, 0, 0], 4)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from regionscope import compute
from regionscope.checks import as_finite
from regionscope.domains import Segment
from regionscope.network.coerce import as_layers
from regionscope.network.layers import Sequential
from regionscope.partitions import Partition1D, partition

__all__ = ["Path", "PathPartition"]


class Path:
    """A polyline through points of ``R^D``, open or closed.

    Parameters
    ----------
    points : (K, ...) array_like
        The points in order (vectors, images...), ``K >= 2`` (``K >= 3`` when
        closed); consecutive points must differ.
    closed : bool
        Whether the path returns from the last point to the first.

    Attributes
    ----------
    points : (K, D) float64
        The points, flattened.
    input_shape : tuple of int
        The shape of one input (``points.shape[1:]``).
    segments : tuple of Segment
        One :class:`~regionscope.Segment` (margin 0) per leg; the coordinate
        along leg ``i`` runs from 0 to ``lengths[i]``.
    lengths : (S,) float64
    offsets : (S+1,) float64
        Arc length at the start of each leg (``offsets[-1]`` is the length).

    Examples
    --------
    >>> path = Path([[0.0, 0.0], [3.0, 4.0], [3.0, 0.0]], closed=True)
    >>> path.lengths.tolist(), path.lift([6.5]).tolist()
    ([5.0, 4.0, 3.0], [[3.0, 2.5]])
    """

    def __init__(self, points: Any, closed: bool = False) -> None:
        pts = as_finite(points, "points")
        if pts.ndim < 2:
            raise ValueError(f"points must have shape (K, ...) with K >= 2, got {pts.shape}")
        if not isinstance(closed, (bool, np.bool_)):
            raise TypeError(f"closed must be a bool, got {type(closed).__name__}")
        need = 3 if closed else 2
        if len(pts) < need:
            raise ValueError(
                f"a{' closed' if closed else 'n open'} path needs at least {need} points, "
                f"got {len(pts)}"
            )
        self.input_shape = tuple(int(s) for s in pts.shape[1:])
        self.points = pts.reshape(len(pts), -1)
        self.closed = bool(closed)
        count = len(pts) if closed else len(pts) - 1
        legs = [(i, (i + 1) % len(pts)) for i in range(count)]
        segments = []
        for i, j in legs:
            try:
                segments.append(Segment(pts[i], pts[j], margin=0.0))
            except ValueError as exc:
                raise ValueError(f"points {i} and {j} of the path: {exc}") from None
        self.segments = tuple(segments)
        self.lengths = np.array([s.hi for s in segments])
        self.offsets = np.concatenate([[0.0], np.cumsum(self.lengths)])

    @property
    def length(self) -> float:
        """Total arc length."""
        return float(self.offsets[-1])

    def lift(self, t: Any) -> np.ndarray:
        """Inputs ``(N, D)`` at arc lengths ``t (N,)`` along the path (``0 <= t <= length``)."""
        s = as_finite(t, "t").reshape(-1)
        if len(s) and (s.min() < 0 or s.max() > self.length):
            raise ValueError(f"t must be in [0, {self.length}], got {s.min()}..{s.max()}")
        leg = np.clip(np.searchsorted(self.offsets, s, side="right") - 1, 0, len(self.lengths) - 1)
        out = np.empty((len(s), self.points.shape[1]))
        for i, seg in enumerate(self.segments):
            sel = leg == i
            out[sel] = seg.lift(s[sel] - self.offsets[i])
        return out

    def partition(
        self,
        model: Any,
        *,
        until: str | None = None,
        max_regions: int = compute.DEFAULT_MAX_REGIONS,
    ) -> PathPartition:
        """The exact 1-D partition of every leg, and the transitions along the path.

        Parameters
        ----------
        model : Layer or torch.nn.Module
            Converted once (torch modules: a float64 copy) for all legs.
        until : str, optional
            For torch modules: stop after this submodule.
        max_regions : int
            Limit of pieces per leg (as :func:`regionscope.partition`).
        """
        net = Sequential(*as_layers(model, self.input_shape, until))
        pieces = [partition(net, seg, max_regions=max_regions) for seg in self.segments]
        return PathPartition(self, pieces)

    def __repr__(self) -> str:
        kind = "closed" if self.closed else "open"
        return f"Path({len(self.points)} points of shape {self.input_shape}, {kind})"


class PathPartition:
    """The pieces of every leg of a :class:`Path`, and the pattern changes along it.

    Attributes
    ----------
    path : Path
    pieces : tuple of Partition1D
        One per leg, with coordinates ``0..lengths[i]`` along it.
    """

    def __init__(self, path: Path, pieces: list[Partition1D]) -> None:
        self.path = path
        self.pieces = tuple(pieces)

    @property
    def transitions(self) -> np.ndarray:
        """``(S,) int64``: pattern changes between consecutive pieces inside each leg."""
        return np.array(
            [int((p.pattern_keys()[1:] != p.pattern_keys()[:-1]).sum()) for p in self.pieces],
            dtype=np.int64,
        )

    @property
    def join_transitions(self) -> np.ndarray:
        """``(J,) int64``, 0 or 1: a change at the join after leg ``j`` (``J = S - 1`` for
        an open path, ``S`` for a closed one: the last join returns to the first point)."""
        keys = [p.pattern_keys() for p in self.pieces]
        count = len(keys) if self.path.closed else len(keys) - 1
        return np.array(
            [int(keys[j][-1] != keys[(j + 1) % len(keys)][0]) for j in range(count)],
            dtype=np.int64,
        )

    @property
    def total_transitions(self) -> int:
        """All pattern changes along the path: inside the legs and at the joins."""
        return int(self.transitions.sum() + self.join_transitions.sum())

    @property
    def num_regions(self) -> int:
        """Pieces along the path (a piece cut by a join counts once per leg)."""
        return sum(p.num_regions for p in self.pieces)

    def breakpoints(self) -> np.ndarray:
        """``(T,) float64``: arc lengths of every transition along the path, joins included
        (a closed path's last join is at ``path.length``)."""
        out = []
        joins = self.join_transitions
        for i, p in enumerate(self.pieces):
            keys = p.pattern_keys()
            change = np.flatnonzero(keys[1:] != keys[:-1])
            out.append(self.path.offsets[i] + p.points[1:-1][change])
            if i < len(joins) and joins[i]:
                out.append(np.array([self.path.offsets[i + 1]]))
        return np.concatenate(out) if out else np.zeros(0)

    def __repr__(self) -> str:
        return (
            f"<PathPartition of {self.path!r}: {self.num_regions} pieces, "
            f"{self.total_transitions} transitions>"
        )
