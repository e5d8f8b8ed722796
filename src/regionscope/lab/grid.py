"""The lab's grid method: activation patterns sampled on a grid, and what it misses.

The lab samples the activation pattern on a ``300 x 300`` grid and counts the
distinct patterns.  :func:`grid_patterns` does that, with the snapping rule
of the exact partition (:class:`regionscope.network.evaluate.Evaluator`: a
unit within rounding of zero is off), so at every grid point the grid's
pattern is the one :meth:`Partition.patterns_at
<regionscope.partitions.base.PartitionBase.patterns_at>` reports.
:func:`compare_with_grid` lists the exact regions that no grid point hits.

Examples
--------
>>> import regionscope as rs
>>> from regionscope.lab import lab_network
>>> net = lab_network([2, 4, 1], seed=0)
>>> grid = grid_patterns(net, rs.Box(2.0), resolution=50)
>>> grid.labels.shape
(50, 50)
>>> part = rs.partition(net, rs.Box(2.0))
>>> part.num_regions >= grid.num_patterns
True
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from regionscope.compute import evaluator
from regionscope.domains import Box, Domain2D
from regionscope.network.coerce import as_layers
from regionscope.network.evaluate import Evaluator
from regionscope.network.layers import Sequential
from regionscope.network.program import compile_model

from .arguments import check_domain_2d, check_int

__all__ = ["GridPatterns", "GridComparison", "grid_patterns", "compare_with_grid"]


@dataclasses.dataclass(frozen=True)
class GridPatterns:
    """Activation patterns sampled on a grid (the lab's method).

    Attributes
    ----------
    labels : (R, R) int64
        ``labels[i, j]`` numbers the activation pattern at the point
        ``(x[j], y[i])``: row index ``i`` goes with ``y`` (increasing with
        ``i``, so ``imshow(labels, origin="lower", extent=extent)`` draws it
        the right way up), column index ``j`` with ``x``.  Equal labels, equal
        patterns; ``-1`` for points outside the domain.
    x, y : (R,) float64
        Grid coordinates: ``np.linspace`` over the domain's bounding box, ends
        included (as in the lab).
    patterns : (K, P) int64
        ``patterns[k]`` is the pattern labelled ``k``: the patterns of all
        piecewise layers concatenated in layer order (0/1 for ReLU-like
        layers, 0/1/2 for HardTanh, the winner's position for max layers).
    """

    labels: np.ndarray
    x: np.ndarray
    y: np.ndarray
    patterns: np.ndarray

    @property
    def num_patterns(self) -> int:
        """Number of distinct patterns seen on the grid (the lab's count)."""
        return int(len(self.patterns))

    @property
    def points(self) -> np.ndarray:
        """``(R * R, 2) float64`` grid points, in the order of ``labels.ravel()``."""
        xx, yy = np.meshgrid(self.x, self.y)
        return np.stack([xx.ravel(), yy.ravel()], axis=1)

    @property
    def extent(self) -> tuple[float, float, float, float]:
        """``(xmin, xmax, ymin, ymax)`` for ``imshow``."""
        return float(self.x[0]), float(self.x[-1]), float(self.y[0]), float(self.y[-1])


def _pattern_matrix(ev: Evaluator, coords: np.ndarray) -> np.ndarray:
    """``(N, P) int64``: every piecewise op's pattern at domain points ``(N, 2)``, side by side."""
    n = len(coords)
    if n == 0:
        return np.zeros((0, 0), dtype=np.int64)
    pats = ev.patterns(coords)
    parts = [np.asarray(pats[k]).reshape(n, -1).astype(np.int64) for k in sorted(pats)]
    return np.concatenate(parts, axis=1) if parts else np.zeros((n, 0), dtype=np.int64)


def grid_patterns(model: Any, domain: Any, resolution: int = 300) -> GridPatterns:
    """The lab's method: activation patterns on a ``resolution x resolution`` grid.

    Evaluates the network at every grid point, collects the pattern of every
    piecewise layer (ReLU, max-pool, ...) with the partition's snapping rule,
    and numbers the distinct patterns.  A baseline: a region that no grid
    point hits is missed, see :func:`compare_with_grid`.

    Parameters
    ----------
    model : Layer or torch.nn.Module
        Converted as :func:`regionscope.partition` does
        (:func:`regionscope.network.coerce.as_layers`).
    domain : Domain2D or float
        A 2-D domain (a number ``h`` is ``Box(h)``); the grid covers its
        bounding box, points outside the domain get label ``-1``.
    resolution : int
        Grid points per side, at least 2.

    Returns
    -------
    GridPatterns
        ``labels (R, R) int64`` (row index = y index, y increasing), grid
        coordinates ``x (R,)``, ``y (R,)`` float64 and the distinct
        ``patterns (K, P) int64``, labelled in lexicographic order of the
        patterns (``K = 0`` when no grid point lies in the domain).

    Raises
    ------
    TypeError
        ``model`` is not a network, ``domain`` not a 2-D domain, or
        ``resolution`` not an integer.
    ValueError
        ``resolution < 2``.

    Examples
    --------
    >>> import regionscope as rs
    >>> net = rs.Sequential(rs.Linear([[1.0, 0.0]], [0.0]), rs.ReLU())
    >>> g = grid_patterns(net, rs.Box(1.0), resolution=4)
    >>> g.labels                       # x > 0 on the right half
    array([[0, 0, 1, 1],
           [0, 0, 1, 1],
           [0, 0, 1, 1],
           [0, 0, 1, 1]])
    >>> g.patterns.tolist()
    [[0], [1]]
    """
    dom = check_domain_2d(domain)
    resolution = check_int(resolution, "resolution", 2)
    layers = as_layers(model, dom.input_shape)
    ev = evaluator(dom, compile_model(Sequential(*layers), dom.input_dim))
    xmin, xmax, ymin, ymax = dom.bounds
    x, y = np.linspace(xmin, xmax, resolution), np.linspace(ymin, ymax, resolution)
    xx, yy = np.meshgrid(x, y)
    u = np.stack([xx.ravel(), yy.ravel()], axis=1)
    inside = np.ones(len(u), dtype=bool) if isinstance(dom, Box) else dom.contains(u)
    idx = np.flatnonzero(inside)
    pat = _pattern_matrix(ev, u[idx])
    labels = np.full(len(u), -1, dtype=np.int64)
    if pat.shape[1] == 0:
        patterns = np.zeros((1 if len(idx) else 0, 0), dtype=np.int64)
        labels[idx] = 0
    else:
        patterns, inverse = np.unique(pat, axis=0, return_inverse=True)
        labels[idx] = inverse.ravel()
    return GridPatterns(labels.reshape(resolution, resolution), x, y, patterns)


@dataclasses.dataclass(frozen=True)
class GridComparison:
    """What a grid of patterns gets wrong, against the exact partition.

    Attributes
    ----------
    resolution : int
    exact_count : int
        Number of regions of the exact partition.
    grid_count : int
        Number of distinct activation patterns on the grid (the lab's count).
    hits : (F,) int64
        Grid points inside each exact region (located with ``part.locate``).
    missed : (M,) int64
        Exact regions holding no grid point.
    missed_areas : (M,) float64
        Their areas.
    spacing : tuple of float
        Grid step ``(dx, dy)``.
    """

    resolution: int
    exact_count: int
    grid_count: int
    hits: np.ndarray
    missed: np.ndarray
    missed_areas: np.ndarray
    spacing: tuple[float, float]

    @property
    def num_missed(self) -> int:
        """Number of regions the grid misses."""
        return int(len(self.missed))

    def summary(self) -> str:
        """One line for printing."""
        text = (
            f"{self.resolution}x{self.resolution} grid: {self.grid_count} patterns, "
            f"exact: {self.exact_count} regions, missed by the grid: {self.num_missed}"
        )
        if self.num_missed:
            text += f" (largest missed area {self.missed_areas.max():.3g})"
        return text


def compare_with_grid(part: Any, resolution: int = 300) -> GridComparison:
    """Which exact regions a ``resolution x resolution`` grid misses.

    A region is missed when no grid point lies in it (too thin or too small
    to hold one): the grid points are located in the partition with
    ``part.locate``.  The grid's count is the number of distinct activation
    patterns at the grid points (:func:`grid_patterns`), the lab's count.

    Parameters
    ----------
    part : Partition
        A 2-D partition.
    resolution : int
        Grid points per side, at least 2.

    Returns
    -------
    GridComparison

    Raises
    ------
    TypeError
        ``part`` is not a 2-D partition, or ``resolution`` not an integer.
    ValueError
        ``resolution < 2``.

    Examples
    --------
    >>> import regionscope as rs
    >>> from regionscope.lab import max_regions_network
    >>> part = rs.partition(max_regions_network(12), rs.Box(1.0))
    >>> cmp = compare_with_grid(part, resolution=20)
    >>> cmp.exact_count, cmp.grid_count + cmp.num_missed
    (79, 79)
    """
    resolution = check_int(resolution, "resolution", 2)
    dom = getattr(part, "domain", None)
    if not isinstance(dom, Domain2D) or not hasattr(part, "locate"):
        raise TypeError(f"part must be a 2-D Partition, got {type(part).__name__}")
    grid = grid_patterns(part.model, dom, resolution)
    pts = grid.points[grid.labels.ravel() >= 0]
    where = np.asarray(part.locate(pts), dtype=np.int64)
    hits = np.bincount(where[where >= 0], minlength=part.num_regions).astype(np.int64)
    missed = np.flatnonzero(hits == 0).astype(np.int64)
    areas = np.asarray(part.areas(), dtype=np.float64)[missed]
    spacing = (float(grid.x[1] - grid.x[0]), float(grid.y[1] - grid.y[0]))
    return GridComparison(
        resolution, int(part.num_regions), grid.num_patterns, hits, missed, areas, spacing
    )
