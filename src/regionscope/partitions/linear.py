"""The 1-D :class:`Partition1D`: pieces of a segment on which the network is affine.

Examples
--------
>>> import regionscope as rs
>>> net = rs.Sequential(rs.Linear([[1.0], [1.0]], [0.0, -0.5]), rs.ReLU())
>>> line = rs.partition(net, rs.Interval(-1.0, 1.0))
>>> line.breakpoints.tolist(), line.breakpoint_neuron.tolist()
([0.0, 0.5], [0, 1])
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from regionscope import compute
from regionscope.checks import as_finite
from regionscope.domains import Domain1D
from regionscope.geometry.arrays import frozen, read_only
from regionscope.geometry.line import merge_close
from regionscope.network.evaluate import Evaluator
from regionscope.network.layers import Layer, Sequential
from regionscope.network.program import compile_model
from regionscope.tolerances import get_tolerance

from .base import PartitionBase

__all__ = ["Partition1D", "piece_ends", "piece_patterns"]


def piece_ends(num_pieces: int) -> tuple[np.ndarray, np.ndarray]:
    """The pieces of a 1-D partition as ragged ``(corners, offsets)``: piece ``i`` has ends
    ``i`` and ``i + 1``.

    >>> [a.tolist() for a in piece_ends(2)]
    [[0, 1, 1, 2], [0, 2, 4]]
    """
    ends = np.stack([np.arange(num_pieces), np.arange(1, num_pieces + 1)], axis=1).reshape(-1)
    return ends.astype(np.int64), np.arange(0, 2 * num_pieces + 1, 2, dtype=np.int64)


def piece_patterns(ev: Evaluator, points: np.ndarray) -> dict[int, np.ndarray]:
    """The pattern of every piece between sorted ``points``, from the values at its two ends.

    A piece's pattern combines what its ends say (:meth:`corner_bits
    <regionscope.network.layers.Piecewise.corner_bits>`), as a 2-D region's
    combines its corners' (:meth:`Evaluator.region_patterns
    <regionscope.network.evaluate.Evaluator.region_patterns>`), with one more
    rule: a unit within its tolerance at every point is zero along the whole
    segment (the segment lies in its zero set, up to snapping).  Like a 2-D
    corner on a side the unit made, no end then says anything about it
    (:meth:`neutral_bits <regionscope.network.layers.Piecewise.neutral_bits>`):
    it is off on every piece, as the snapping rule says, and never tells two
    pieces apart, whichever way its rounding noise leans.

    Parameters
    ----------
    ev : Evaluator
        The network on a 1-D domain.
    points : (P,) float64
        Sorted piece boundaries.

    Returns
    -------
    dict
        ``{op index: (P - 1, pattern_width) pattern}``.

    Examples
    --------
    >>> from regionscope.network.layers import Linear, ReLU, Sequential
    >>> from regionscope.network.program import compile_model
    >>> from regionscope import compute
    >>> from regionscope.domains import Interval
    >>> net = Sequential(                        # units 1e-12 (zero, up to rounding) and s
    ...     Linear([[1.0], [1.0], [1.0]], [1.0 + 1e-12, 1.0, 0.0]),
    ...     Linear([[1.0, -1.0, 0.0], [0.0, 0.0, 1.0]]),
    ...     ReLU(),
    ... )
    >>> ev = compute.evaluator(Interval(-1.0, 1.0), compile_model(net, 1))
    >>> piece_patterns(ev, np.array([-1.0, 0.0, 1.0]))[2]
    array([[False, False],
           [False,  True]])
    """
    pts = np.asarray(points, dtype=np.float64)
    _, sure = ev.patterns_decided(pts[:, None])
    zero = {i: np.flatnonzero(~s.reshape(len(pts), -1).any(axis=0)) for i, s in sure.items()}
    corners, offsets = piece_ends(len(pts) - 1)
    mids = 0.5 * (pts[1:] + pts[:-1])
    return ev.region_patterns(pts[:, None], corners, offsets, mids[:, None], zero_units=zero)


class Partition1D(PartitionBase):
    """A 1-D domain cut into pieces on which the network is affine.

    Attributes
    ----------
    domain : Domain1D
    points : (F+1,) float64
        Sorted piece boundaries, both ends of the domain included.
    breakpoints : (F-1,) float64
        The interior boundaries.
    breakpoint_layer, breakpoint_neuron : (F-1,) int64
        The first layer, and in it the first unit, whose pattern differs
        across each breakpoint.

    Notes
    -----
    Each piece's pattern comes from the values at its two ends
    (:func:`piece_patterns`); a unit zero along the whole segment (within its
    tolerance at every point) is off on every piece and makes no breakpoint.
    """

    def __init__(
        self,
        domain: Domain1D,
        points: np.ndarray,
        evaluator: Evaluator | Callable[[], Evaluator],
        stats: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(domain, evaluator, stats)
        self.points = frozen(points, views=True)  # a copy unless read-only (a kernel's)

    @classmethod
    def start(cls, domain: Domain1D) -> Partition1D:
        """The partition of a 1-D domain by the empty network (one piece)."""
        if not isinstance(domain, Domain1D):
            raise TypeError("Partition1D.start needs a 1-D domain (Interval, Segment)")
        program = compile_model(Sequential(), domain.input_dim)
        return cls(domain, np.array([domain.lo, domain.hi]), compute.evaluator(domain, program))

    @classmethod
    def from_candidates(cls, domain: Domain1D, ev: Evaluator, cuts: np.ndarray) -> Partition1D:
        """Pieces between candidate cuts, merging neighbours with equal patterns.

        Candidates where nothing changes (a polygon's corner along a zero
        line, a point twice) leave no breakpoint.

        >>> import regionscope as rs
        >>> from regionscope import compute
        >>> from regionscope.network.program import compile_model
        >>> net = rs.Sequential(rs.Linear([[1.0], [1.0]], [0.0, -0.5]), rs.ReLU())
        >>> dom = rs.Interval(-1.0, 1.0)
        >>> ev = compute.evaluator(dom, compile_model(net, 1))
        >>> cuts = np.array([-1.0, -0.3, 0.0, 0.2, 0.5, 0.5, 1.0])
        >>> Partition1D.from_candidates(dom, ev, cuts).points.tolist()
        [-1.0, 0.0, 0.5, 1.0]
        """
        pts = merge_close(cuts, domain.lo, domain.hi, get_tolerance().point_rtol * domain.length)
        while True:
            part = cls(domain, pts, ev)
            keys = part.pattern_keys()
            same = keys[1:] == keys[:-1]
            if not same.any():
                return part
            pts = pts[np.concatenate([[True], ~same, [True]])]

    def add(self, *layers: Layer, max_regions: int = compute.DEFAULT_MAX_REGIONS) -> Partition1D:
        """A new partition with ``layers`` applied after the current model."""
        start, ev = self._extended(layers)
        points = compute.cut_1d(ev, self.domain, self.points, start, max_regions=max_regions)
        return Partition1D(self.domain, points, ev, self.timings)

    @property
    def num_regions(self) -> int:
        return len(self.points) - 1

    @property
    def breakpoints(self) -> np.ndarray:
        return self.points[1:-1]

    def _breakpoint_sources(self) -> tuple[np.ndarray, np.ndarray]:
        if "sources" not in self._cache:
            pats = self._all_patterns()
            n = self.num_regions - 1
            layer = np.full(n, -1, dtype=np.int64)
            unit = np.full(n, -1, dtype=np.int64)
            for i in sorted(pats, reverse=True):  # earliest layer wins
                p = pats[i].reshape(self.num_regions, -1)
                diff = p[1:] != p[:-1]
                any_diff = diff.any(axis=1)
                layer[any_diff] = i
                unit[any_diff] = diff[any_diff].argmax(axis=1)
            self._cache["sources"] = (read_only(layer), read_only(unit))
        return self._cache["sources"]

    @property
    def breakpoint_layer(self) -> np.ndarray:
        return self._breakpoint_sources()[0]

    @property
    def breakpoint_neuron(self) -> np.ndarray:
        return self._breakpoint_sources()[1]

    def lengths(self) -> np.ndarray:
        """``(F,) float64`` length of each piece."""
        return np.diff(self.points)

    def midpoints(self) -> np.ndarray:
        """``(F,) float64`` midpoint of each piece."""
        return 0.5 * (self.points[1:] + self.points[:-1])

    def _interior(self) -> np.ndarray:
        return self.midpoints()[:, None]

    def _all_patterns(self) -> dict[int, np.ndarray]:
        # a unit zero along the whole segment is off on every piece (see piece_patterns)
        if "patterns" not in self._cache:
            pats = piece_patterns(self._ev, self.points)
            self._cache["patterns"] = {k: read_only(v) for k, v in pats.items()}
        return self._cache["patterns"]

    def _layer_patterns(self, index: int) -> np.ndarray:
        return self._all_patterns()[index]  # units zero along the segment: all layers at once

    def _vertex_coords(self) -> np.ndarray:
        return self.points[:, None]

    def _corners(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
        return (self.points[:, None], *piece_ends(self.num_regions), None)

    def _check_coords(self, points: Any) -> np.ndarray:
        return as_finite(points, "points").reshape(-1, 1)

    def _contains(self, pts: np.ndarray) -> np.ndarray:
        tol = get_tolerance().point_rtol * self.domain.length
        s = pts[:, 0]
        return (s >= self.domain.lo - tol) & (s <= self.domain.hi + tol)

    def _locate_geometric(self, pts: np.ndarray) -> np.ndarray:
        i = np.searchsorted(self.points, pts[:, 0], side="right") - 1
        return np.clip(i, 0, self.num_regions - 1)

    def plot(self, ax: Any = None, **style: Any) -> Any:
        """Draw the outputs along the segment (see :func:`regionscope.render.plot_1d`)."""
        from regionscope import render

        return render.plot_1d(self, ax=ax, **style)

    def to_png(self, path: Any = None, **style: Any) -> bytes:
        """PNG of the outputs along the segment (needs matplotlib)."""
        from regionscope import render

        return render.to_png(self, path, **style)

    def to_svg(self, path: Any = None, **style: Any) -> str:
        """SVG of the outputs along the segment (needs matplotlib)."""
        from regionscope import render

        return render.to_svg(self, path, **style)

    def to_arrays(self) -> dict[str, np.ndarray]:
        """Everything needed to rebuild this partition, as named arrays."""
        return {**super().to_arrays(), "kind": np.array("1d"), "points": self.points}

    def __repr__(self) -> str:
        return f"<Partition1D of {self.domain!r}: {self.num_regions} pieces>"

    def _repr_png_(self) -> bytes | None:
        """The outputs along the segment, for Jupyter (``None`` without matplotlib)."""
        from regionscope import render

        return render.repr_png_1d(self)
