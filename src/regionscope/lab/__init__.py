"""Lab 01, "Visualizing activation regions", done exactly.

The lab builds a ``[2, 4, 1]`` ReLU network ``x -> W2 relu(W1 x + b1) + b2``,
samples its activation pattern on a ``300 x 300`` grid over ``[-2, 2]^2``,
counts the distinct patterns and compares the count with the bound
``sum_{i<=2} C(4, i) = 11`` for four lines in the plane.  This module has the
lab's grid method as a baseline (:func:`grid_patterns`), the exact answer from
:func:`regionscope.partition` and the tools for the lab's exercises:

* :func:`compare_with_grid` -- which exact regions the grid misses;
* :func:`lab_network`, :func:`region_count_stats` -- counts over many seeds;
* :func:`max_regions_network` -- weights reaching the maximum count;
* :func:`perturbation_series` -- regions of noisy copies of a network;
* :func:`check_affine` -- the network is affine on each region;
* :func:`arrangement_box` -- a box that every region of a one-hidden-layer
  network meets, to count regions in the whole plane;
* :func:`run_lab01` -- all of it, figures included.

Networks are given in the lab's notation ``widths = [2, n_1, ..., n_L, 1]``
(input, hidden widths, output).  Note that :mod:`regionscope.bounds` takes
``[n_0, n_1, ..., n_L]`` without the output width.

The lab's init (:func:`lab_network`): ``rng = np.random.default_rng(seed)``
draws, layer after layer, the weight ``(n_out, n_in)`` and then the bias
``(n_out,)`` from the standard normal distribution.

Examples
--------
>>> import regionscope as rs
>>> from regionscope.lab import lab_network
>>> net = lab_network([2, 4, 1], seed=0)
>>> grid = rs.grid_patterns(net, rs.Box(2.0), resolution=50)
>>> grid.labels.shape
(50, 50)
>>> part = rs.partition(net, rs.Box(2.0))
>>> part.num_regions >= grid.num_patterns
True
"""

from __future__ import annotations

import dataclasses
import math
import numbers
import os
import sys
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from regionscope import bounds
from regionscope.domains import Box, Domain2D, Polygon, coerce_domain
from regionscope.network.layers import Graph, Layer, Linear, ReLU, Residual, Sequential
from regionscope.network.program import compile_model
from regionscope.tolerance import get_tolerance

__all__ = [
    "LAB_DOMAIN",
    "LAB_SEED",
    "GridPatterns",
    "GridComparison",
    "RegionCountStats",
    "PerturbationSeries",
    "AffineCheck",
    "lab_network",
    "grid_patterns",
    "compare_with_grid",
    "max_regions_network",
    "arrangement_box",
    "region_count_stats",
    "perturbation_series",
    "check_affine",
    "run_lab01",
]

#: the lab's window ``[-2, 2]^2``
LAB_DOMAIN = Box(2.0)
#: the seed of the lab's default network (:func:`run_lab01`)
LAB_SEED = 0

_CHUNK = 1 << 14  # grid points per forward pass


# --------------------------------------------------------------------------------------
# helpers


def _check_int(value: Any, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__} {value!r}")
    if int(value) < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {int(value)}")
    return int(value)


def _domain_2d(domain: Any, name: str = "domain") -> Domain2D:
    dom = coerce_domain(domain)
    if not isinstance(dom, Domain2D):
        raise TypeError(f"{name} must be a 2-D domain (Box, Polygon, Plane), got {dom!r}")
    return dom


def _as_layer(model: Any, domain: Domain2D) -> Layer:
    """A regionscope layer for ``model`` (torch modules are converted)."""
    if isinstance(model, Layer):
        return model
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(model, torch.nn.Module):
        from regionscope.network.torch_import import convert

        return convert(model, input_shape=domain.input_shape)
    raise TypeError(
        f"model must be a regionscope Layer or a torch.nn.Module, got {type(model).__name__}"
    )


def _piecewise_patterns(model: Layer, x: np.ndarray) -> np.ndarray:
    """``(N, P) int`` concatenated patterns of every piecewise op at inputs ``x``."""
    program = compile_model(model, x.shape[1])
    parts: list[np.ndarray] = []

    def collect(op: Any, out: np.ndarray, args: list[np.ndarray]) -> None:
        if op.layer.piecewise:
            pat = np.asarray(op.layer.pattern(args[0]))
            parts.append(pat.reshape(len(x), -1).astype(np.int64))

    program.run(x, collect=collect)
    if not parts:
        return np.zeros((len(x), 0), dtype=np.int64)
    return np.concatenate(parts, axis=1)


def _lab_layers(model: Layer) -> tuple[Linear, Linear] | None:
    """``(first, last)`` Linear of a ``Sequential(Linear, ReLU, Linear)``, else ``None``."""
    if (
        isinstance(model, Sequential)
        and len(model) == 3
        and isinstance(model[0], Linear)
        and type(model[1]) is ReLU
        and isinstance(model[2], Linear)
    ):
        return model[0], model[2]
    return None


# --------------------------------------------------------------------------------------
# networks


def lab_network(widths: Sequence[int] = (2, 4, 1), seed: int = LAB_SEED) -> Sequential:
    """A ReLU network with the lab's init.

    ``rng = np.random.default_rng(seed)`` draws, for each layer in turn, the
    weight ``(n_out, n_in)`` and then the bias ``(n_out,)`` from the standard
    normal distribution; every layer but the last is followed by a ReLU.

    Parameters
    ----------
    widths : sequence of int
        ``[n_in, n_1, ..., n_L, n_out]``, at least two entries; the lab's
        network is ``[2, 4, 1]``.
    seed : int

    Returns
    -------
    Sequential
        ``Sequential(Linear, ReLU, ..., Linear)``.

    Examples
    --------
    >>> net = lab_network([2, 4, 1], seed=0)
    >>> [type(layer).__name__ for layer in net.layers]
    ['Linear', 'ReLU', 'Linear']
    >>> net(np.zeros((1, 2))).shape
    (1, 1)
    """
    w = [_check_int(v, f"widths[{i}]", 1) for i, v in enumerate(widths)]
    if len(w) < 2:
        raise ValueError(f"widths must have at least 2 entries [n_in, n_out], got {list(w)}")
    seed = _check_int(seed, "seed", 0)
    rng = np.random.default_rng(seed)
    layers: list[Layer] = []
    for i, (n_in, n_out) in enumerate(zip(w[:-1], w[1:], strict=True)):
        weight = rng.standard_normal((n_out, n_in))
        bias = rng.standard_normal(n_out)
        layers.append(Linear(weight, bias))
        if i < len(w) - 2:
            layers.append(ReLU())
    return Sequential(*layers)


def max_regions_network(m: int, domain: Any = None, seed: int = 0) -> Sequential:
    """A ``[2, m, 1]`` ReLU network with the most regions possible in ``domain``.

    The ``m`` hidden neurons' zero lines are tangent to one circle at distinct
    angles spread over ``2 pi / 3``: no two tangents of a circle at angles
    less than ``pi`` apart are parallel and no three tangents of a circle
    meet in a point, so the lines are in general position, and every two of
    them cross at distance at most ``r / cos(pi / 3) = 2 r`` from the centre.
    The centre is the mean of the domain's corners and ``2 r`` is 0.9 times the
    distance from it to the nearest side, so all ``C(m, 2)`` crossings lie
    inside the domain and the domain holds all
    :func:`regionscope.bounds.zaslavsky` ``(m, 2)`` regions of the
    arrangement.

    Parameters
    ----------
    m : int
        Number of hidden neurons, ``m >= 1``.
    domain : Box or Polygon, optional
        Default ``Box(1.0)``.  A domain whose network input is the domain
        point itself (not a :class:`~regionscope.Plane`).
    seed : int
        Draws the angles (sorted, uniform, at least a tenth of the even
        spacing apart), the neurons' orientations (the sign of each row of
        ``W1``, which flips the pattern, not the lines) and the output layer.

    Returns
    -------
    Sequential
        ``Sequential(Linear(W1 (m, 2), b1), ReLU(), Linear(W2 (1, m), b2))``.

    Examples
    --------
    >>> import regionscope as rs
    >>> net = max_regions_network(4)
    >>> rs.partition(net, rs.Box(1.0)).num_regions
    11
    """
    m = _check_int(m, "m", 1)
    seed = _check_int(seed, "seed", 0)
    dom = Box(1.0) if domain is None else _domain_2d(domain)
    if not isinstance(dom, Polygon):
        raise TypeError(
            f"domain must be a Box or Polygon (network input = domain point), got {dom!r}"
        )
    poly = dom.polygon
    centre = poly.mean(axis=0)
    edge = np.roll(poly, -1, axis=0) - poly
    rel = centre - poly
    dist = np.abs(edge[:, 0] * rel[:, 1] - edge[:, 1] * rel[:, 0]) / np.hypot(
        edge[:, 0], edge[:, 1]
    )
    radius = 0.45 * float(dist.min())
    rng = np.random.default_rng(seed)
    spread = 2.0 * math.pi / 3.0
    # m angles in [0, spread): even spacing jittered by at most 45% of the gap
    gap = spread / m
    angles = (np.arange(m) + 0.5 + rng.uniform(-0.45, 0.45, m)) * gap
    angles += rng.uniform(0.0, 2.0 * math.pi)  # a random rotation
    normals = np.stack([np.cos(angles), np.sin(angles)], axis=1)  # (m, 2)
    signs = rng.choice([-1.0, 1.0], size=m)
    # tangent line at angle a: normal(a) . (x - centre) = radius
    w1 = signs[:, None] * normals
    b1 = -signs * (normals @ centre + radius)
    w2 = rng.standard_normal((1, m))
    b2 = rng.standard_normal(1)
    return Sequential(Linear(w1, b1), ReLU(), Linear(w2, b2))


def arrangement_box(model: Layer, margin: float = 0.5) -> Box:
    """A box that meets every activation region of a one-hidden-layer network in ``R^2``.

    The regions of ``x -> W2 relu(W1 x + b1) + b2`` on the whole plane are the
    cells of the arrangement of the lines ``(W1 x + b1)_j = 0``.  Every cell
    has a crossing of two lines on its boundary, unless all lines are
    parallel; then every cell meets the segment joining the lines' points
    nearest the origin.  The returned square holds all crossings and those
    points with a margin, so partitioning it counts the regions of the whole
    plane.

    Parameters
    ----------
    model : Sequential
        ``Sequential(Linear (m, 2), ReLU(), Linear)``.
    margin : float
        The half width is ``(1 + margin) * r + 1`` where ``r`` is the points'
        largest coordinate magnitude.

    Examples
    --------
    >>> net = Sequential(Linear([[1.0, 0.0], [0.0, 1.0]], [-5.0, 0.0]), ReLU(),
    ...                  Linear([[1.0, 1.0]]))
    >>> arrangement_box(net).bounds
    (-8.5, 8.5, -8.5, 8.5)
    """
    layers = _lab_layers(model)
    if layers is None or layers[0].weight.shape[1] != 2:
        raise TypeError(
            "arrangement_box needs a Sequential(Linear(W1 (m, 2), b1), ReLU(), Linear) "
            f"network, got {model!r}"
        )
    if (
        isinstance(margin, bool)
        or not isinstance(margin, numbers.Real)
        or not (math.isfinite(margin) and margin >= 0)
    ):
        raise ValueError(f"margin must be a finite number >= 0, got {margin!r}")
    first = layers[0]
    w = np.asarray(first.weight, dtype=np.float64)
    b = np.zeros(len(w)) if first.bias is None else np.asarray(first.bias, dtype=np.float64)
    norm2 = (w**2).sum(axis=1)
    keep = norm2 > 0  # a zero row is a constant neuron: no line
    w, b, norm2 = w[keep], b[keep], norm2[keep]
    points = [-(b / norm2)[:, None] * w]  # nearest points to the origin
    i, j = np.triu_indices(len(w), k=1)
    det = w[i, 0] * w[j, 1] - w[i, 1] * w[j, 0]
    scale = np.sqrt(norm2[i] * norm2[j])
    crossing = np.abs(det) > get_tolerance().collinear_rtol * scale
    i, j, det = i[crossing], j[crossing], det[crossing]
    # solve w_i . x = -b_i, w_j . x = -b_j by Cramer's rule
    x = (-b[i] * w[j, 1] + b[j] * w[i, 1]) / det
    y = (-w[i, 0] * b[j] + w[j, 0] * b[i]) / det
    points.append(np.stack([x, y], axis=1))
    allp = np.concatenate(points)
    reach = float(np.abs(allp).max()) if len(allp) else 0.0
    return Box(reach * (1.0 + margin) + 1.0)


# --------------------------------------------------------------------------------------
# the grid baseline


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
        piecewise layers concatenated (0/1 for ReLU-like layers).
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


def _grid_axes(domain: Domain2D, resolution: int) -> tuple[np.ndarray, np.ndarray]:
    xmin, xmax, ymin, ymax = domain.bounds
    return np.linspace(xmin, xmax, resolution), np.linspace(ymin, ymax, resolution)


def grid_patterns(model: Any, domain: Any, resolution: int = 300) -> GridPatterns:
    """The lab's method: activation patterns on a ``resolution x resolution`` grid.

    Evaluates the network at every grid point, collects the pattern of every
    piecewise layer (ReLU, max-pool, ...), and numbers the distinct patterns.
    A baseline: a region that no grid point hits is missed, see
    :func:`compare_with_grid`.

    Parameters
    ----------
    model : Layer or torch.nn.Module
    domain : Domain2D or float
        A 2-D domain (a number ``h`` is ``Box(h)``); the grid covers its
        bounding box, points outside the domain get label ``-1``.
    resolution : int
        Grid points per side, at least 2.

    Returns
    -------
    GridPatterns
        ``labels (R, R) int64`` (row index = y index, y increasing), grid
        coordinates ``x (R,)``, ``y (R,)`` and the distinct ``patterns (K, P)``,
        labelled in lexicographic order of the patterns.

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
    dom = _domain_2d(domain)
    resolution = _check_int(resolution, "resolution", 2)
    net = _as_layer(model, dom)
    x, y = _grid_axes(dom, resolution)
    xx, yy = np.meshgrid(x, y)
    u = np.stack([xx.ravel(), yy.ravel()], axis=1)
    inside = dom.contains(u) if not isinstance(dom, Box) else np.ones(len(u), dtype=bool)
    idx = np.flatnonzero(inside)
    pats = [
        _piecewise_patterns(net, dom.lift(u[idx[s : s + _CHUNK]]))
        for s in range(0, len(idx), _CHUNK)
    ]
    pat = np.concatenate(pats) if pats else np.zeros((0, 0), dtype=np.int64)
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

    Examples
    --------
    >>> import regionscope as rs
    >>> part = rs.partition(max_regions_network(12), rs.Box(1.0))
    >>> cmp = compare_with_grid(part, resolution=20)
    >>> cmp.exact_count, cmp.grid_count + cmp.num_missed
    (79, 79)
    """
    resolution = _check_int(resolution, "resolution", 2)
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


# --------------------------------------------------------------------------------------
# exercise 1: counts over seeds


@dataclasses.dataclass(frozen=True)
class RegionCountStats:
    """Exact region counts of many randomly initialised networks.

    Attributes
    ----------
    widths : tuple of int
        ``[n_in, n_1, ..., n_L, n_out]`` (the lab's notation).
    seeds : (S,) int64
    counts : (S,) int64
        Exact number of regions of :func:`lab_network` ``(widths, seed)``.
    histogram : (max(counts) + 1,) int64
        ``np.bincount(counts)``: ``histogram[k]`` networks have ``k`` regions.
    bound : int
        :func:`regionscope.bounds.serra_upper` of the hidden widths (for one
        hidden layer, :func:`regionscope.bounds.zaslavsky`): the maximum over
        all weights on the whole input space.
    domain : Domain2D
        Where the regions were counted (for ``domain="plane"``, one box per
        network, see :func:`arrangement_box`; this holds the last one).
    """

    widths: tuple[int, ...]
    seeds: np.ndarray
    counts: np.ndarray
    histogram: np.ndarray
    bound: int
    domain: Any

    @property
    def fraction_at_bound(self) -> float:
        """Fraction of the networks reaching :attr:`bound`."""
        return float(np.mean(self.counts == self.bound))

    def plot(self, ax: Any = None, label: str | None = None, **bar_kw: Any) -> Any:
        """Bar chart of :attr:`histogram` with the bound marked; returns the axes."""
        ax = _axes(ax)
        ks = np.arange(len(self.histogram))
        ax.bar(ks, self.histogram, width=0.8, label=label, **bar_kw)
        ax.axvline(self.bound, color="#c0392b", linestyle="--", label=f"bound {self.bound}")
        ax.set_xlabel("number of regions")
        ax.set_ylabel("networks")
        ax.set_xlim(-0.5, max(len(ks), self.bound + 1) + 0.5)
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.legend(frameon=False)
        return ax


def region_count_stats(
    widths: Sequence[int] = (2, 4, 1),
    seeds: int | Iterable[int] = 50,
    domain: Any = LAB_DOMAIN,
) -> RegionCountStats:
    """Exact region counts of :func:`lab_network` ``(widths, seed)`` over seeds.

    Parameters
    ----------
    widths : sequence of int
        ``[2, n_1, ..., n_L, n_out]``.
    seeds : int or iterable of int
        An int ``S`` means ``range(S)``.
    domain : Domain2D, float or "plane"
        Where to count (default: the lab's window ``[-2, 2]^2``).  ``"plane"``
        counts the regions of the whole plane (one hidden layer only), in
        :func:`arrangement_box` of each network.

    Returns
    -------
    RegionCountStats

    Examples
    --------
    >>> stats = region_count_stats([2, 4, 1], seeds=5, domain="plane")
    >>> stats.counts.tolist(), stats.bound
    ([11, 11, 11, 11, 11], 11)
    """
    from regionscope.partitions import partition as _partition

    w = tuple(_check_int(v, f"widths[{i}]", 1) for i, v in enumerate(widths))
    if len(w) < 3 or w[0] != 2:
        raise ValueError(
            f"widths must be [2, n_1, ..., n_out] (2 inputs, at least one hidden layer), got {w}"
        )
    if isinstance(seeds, numbers.Integral) and not isinstance(seeds, bool):
        seed_list = list(range(_check_int(seeds, "seeds", 1)))
    else:
        seed_list = [_check_int(s, "seeds[...]", 0) for s in seeds]  # type: ignore[union-attr]
        if not seed_list:
            raise ValueError("seeds must hold at least one seed, got none")
    plane = isinstance(domain, str)
    if plane and domain != "plane":
        raise ValueError(f"domain must be a 2-D domain, a number or 'plane', got {domain!r}")
    if plane and len(w) != 3:
        raise ValueError(f"domain='plane' needs one hidden layer, got widths {w}")
    dom = None if plane else _domain_2d(domain)
    counts = np.empty(len(seed_list), dtype=np.int64)
    for k, s in enumerate(seed_list):
        net = lab_network(w, s)
        if plane:
            dom = arrangement_box(net)
        counts[k] = _partition(net, dom).num_regions
    bound = bounds.serra_upper([w[0], *w[1:-1]])
    return RegionCountStats(
        w, np.asarray(seed_list, dtype=np.int64), counts, np.bincount(counts), bound, dom
    )


# --------------------------------------------------------------------------------------
# exercise 2: perturbation


def _map_linear(layer: Layer, fn: Any) -> Layer:
    """A copy of ``layer`` with every :class:`Linear` replaced by ``fn(linear)``."""
    if isinstance(layer, Linear):
        return fn(layer)
    if isinstance(layer, Sequential):
        return Sequential(*(_map_linear(sub, fn) for sub in layer.layers))
    if isinstance(layer, Residual):
        return Residual(_map_linear(layer.module, fn))
    if isinstance(layer, Graph):
        nodes = [(name, _map_linear(sub, fn), list(ins)) for name, sub, ins in layer.nodes]
        return Graph(nodes, layer.output)
    return layer


@dataclasses.dataclass(frozen=True)
class PerturbationSeries:
    """Partitions of noisy copies of a network.

    Attributes
    ----------
    eps : (K,) float64
    base : Partition
        The unperturbed network's partition.
    partitions : tuple of Partition
        ``partitions[k]`` for the weights ``W + eps[k] * Z``, ``Z`` standard
        normal noise (one draw shared by all ``eps``).
    figure : matplotlib Figure or None
    """

    eps: np.ndarray
    base: Any
    partitions: tuple[Any, ...]
    figure: Any = None

    @property
    def counts(self) -> np.ndarray:
        """``(K,) int64`` region counts."""
        return np.array([p.num_regions for p in self.partitions], dtype=np.int64)

    def shared_patterns(self) -> np.ndarray:
        """``(K,) float64``: fraction of each partition's patterns also in the base."""
        base = np.asarray(self.base.pattern_keys())
        return np.array(
            [float(np.isin(np.asarray(p.pattern_keys()), base).mean()) for p in self.partitions]
        )


def perturbation_series(
    model: Layer,
    eps: Sequence[float] = (0.01, 0.1, 0.5, 1.0),
    seed: int = 0,
    domain: Any = LAB_DOMAIN,
    *,
    plot: bool = False,
) -> PerturbationSeries:
    """Regions of ``model`` with ``eps * N(0, I)`` noise added to its weights.

    One standard normal draw ``Z`` (from ``np.random.default_rng([1, seed])``,
    a stream unrelated to :func:`lab_network`'s ``default_rng(seed)``, so the
    noise of seed 0 is not the weights of the lab's network of seed 0; for each
    :class:`Linear` in order, its weight then its bias) is scaled by each
    ``eps``, so the series follows one path away from the model.  Other layers
    are kept.  With ``plot=True`` the partitions are drawn side by side, the
    model first, coloured by a hash of the activation pattern, so a region
    that survives the noise keeps its colour.

    Parameters
    ----------
    model : Layer
    eps : sequence of float
        Noise scales, each ``>= 0``.
    seed : int
    domain : Domain2D or float
        Default: the lab's window ``[-2, 2]^2``.
    plot : bool
        Also draw the figure (needs matplotlib).

    Returns
    -------
    PerturbationSeries

    Examples
    --------
    >>> net = lab_network([2, 4, 1], seed=0)
    >>> series = perturbation_series(net, eps=[0.0, 0.01])
    >>> bool(series.counts[0] == series.base.num_regions)
    True
    """
    from regionscope.partitions import partition as _partition

    if not isinstance(model, Layer):
        raise TypeError(f"model must be a regionscope Layer, got {type(model).__name__}")
    try:
        eps_arr = np.asarray(eps, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        raise TypeError(f"eps must be a sequence of numbers, got {eps!r}") from None
    if len(eps_arr) == 0 or not np.all(np.isfinite(eps_arr)) or np.any(eps_arr < 0):
        raise ValueError(f"eps must be finite numbers >= 0, at least one, got {eps!r}")
    seed = _check_int(seed, "seed", 0)
    dom = _domain_2d(domain)
    rng = np.random.default_rng([1, seed])
    noise: dict[int, tuple[np.ndarray, np.ndarray | None]] = {}

    def draw(lin: Linear) -> Linear:
        z_w = rng.standard_normal(lin.weight.shape)
        z_b = None if lin.bias is None else rng.standard_normal(lin.bias.shape)
        noise[id(lin)] = (z_w, z_b)
        return lin

    _map_linear(model, draw)  # the draws, in a fixed order

    def noisy(e: float) -> Layer:
        def fn(lin: Linear) -> Linear:
            z_w, z_b = noise[id(lin)]
            bias = None if lin.bias is None else lin.bias + e * z_b
            return Linear(lin.weight + e * z_w, bias)

        return _map_linear(model, fn)

    base = _partition(model, dom)
    parts = tuple(_partition(noisy(float(e)), dom) for e in eps_arr)
    fig = None
    if plot:
        fig = _figure(1, len(parts) + 1, panel=3.0)
        axes = fig.axes
        _draw_regions(base, axes[0])
        axes[0].set_title(f"model: {base.num_regions} regions")
        for ax, e, p in zip(axes[1:], eps_arr, parts, strict=True):
            _draw_regions(p, ax)
            ax.set_title(f"eps = {e:g}: {p.num_regions} regions")
    return PerturbationSeries(eps_arr, base, parts, fig)


# --------------------------------------------------------------------------------------
# exercise 3: affine check


@dataclasses.dataclass(frozen=True)
class AffineCheck:
    """The network against a region's affine map at points inside the region.

    Attributes
    ----------
    region : int
    points : (n, 2) float64
        Random strictly interior points of the region.
    outputs : (n, out) float64
        The network's output there (forward pass).
    predicted : (n, out) float64
        ``A @ u + c`` with the region's affine map from ``part.affine_maps()``.
    max_error : float
        ``max |outputs - predicted|``.
    scale : float
        ``max(1, max |outputs|)``: errors are judged relative to it.
    pattern_ok : bool
        Every sample point has the region's activation pattern.
    A, c : (out, 2), (out,) float64
        The region's affine map.
    lab_A, lab_c : ndarray or None
        For a ``Sequential(Linear, ReLU, Linear)`` on a Box/Polygon, the
        lab's formula ``W2 diag(sigma) W1`` and ``W2 diag(sigma) b1 + b2``
        with ``sigma`` the region's pattern; else ``None``.
    lab_map_error : float or None
        ``max`` of ``|lab_A - A|`` and ``|lab_c - c|``.
    """

    region: int
    points: np.ndarray
    outputs: np.ndarray
    predicted: np.ndarray
    max_error: float
    scale: float
    pattern_ok: bool
    A: np.ndarray
    c: np.ndarray
    lab_A: np.ndarray | None = None
    lab_c: np.ndarray | None = None
    lab_map_error: float | None = None

    @property
    def ok(self) -> bool:
        """Errors within ``value_rtol * scale`` (float round-off) and patterns right."""
        tol = get_tolerance().value_rtol * self.scale
        lab_ok = self.lab_map_error is None or self.lab_map_error <= tol
        return bool(self.pattern_ok and self.max_error <= tol and lab_ok)


def _interior_points(polygon: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """``(n, 2)`` random strictly interior points of a convex polygon ``(K, 2)``.

    Convex combinations of the corners with Dirichlet(1, ..., 1) weights, all
    positive, lie strictly inside a polygon of positive area.
    """
    weights = rng.dirichlet(np.ones(len(polygon)), size=n)
    return weights @ polygon


def check_affine(part: Any, region: int, n: int = 20, seed: int = 0) -> AffineCheck:
    """Check that the network is affine on ``region``, with the region's map.

    Samples ``n`` random strictly interior points of the region's polygon,
    runs the network on them and compares with ``A @ u + c`` from
    ``part.affine_maps()``; for the lab's ``[2, m, 1]`` network it also builds
    the map by the lab's formula ``W2 diag(sigma) W1``,
    ``W2 diag(sigma) b1 + b2``.

    Parameters
    ----------
    part : Partition
    region : int
        Region index, ``0 <= region < part.num_regions``.
    n : int
        Number of points, at least 1.
    seed : int

    Returns
    -------
    AffineCheck

    Examples
    --------
    >>> import regionscope as rs
    >>> part = rs.partition(lab_network([2, 4, 1], seed=0), rs.Box(2.0))
    >>> origin = int(part.locate([[0.0, 0.0]])[0])
    >>> check = check_affine(part, origin)
    >>> check.ok, check.max_error < 1e-12
    (True, True)
    """
    if not hasattr(part, "affine_maps") or not isinstance(getattr(part, "domain", None), Domain2D):
        raise TypeError(f"part must be a 2-D Partition, got {type(part).__name__}")
    if isinstance(region, bool) or not isinstance(region, numbers.Integral):
        raise TypeError(f"region must be an integer index, got {type(region).__name__}")
    region = int(region)
    if not 0 <= region < part.num_regions:
        raise ValueError(
            f"region must be in [0, {part.num_regions}) for this partition, got {region}"
        )
    n = _check_int(n, "n", 1)
    seed = _check_int(seed, "seed", 0)
    rng = np.random.default_rng(seed)
    lo, hi = part.region_offsets[region], part.region_offsets[region + 1]
    poly = np.asarray(part.vertices)[np.asarray(part.region_vertices)[lo:hi]]
    u = _interior_points(poly, n, rng)
    x = part.domain.lift(u)
    outputs = np.asarray(part.model(x), dtype=np.float64).reshape(n, -1)
    a_all, c_all = part.affine_maps()
    a, c = np.asarray(a_all[region]), np.asarray(c_all[region])
    predicted = u @ a.T + c
    max_error = float(np.abs(outputs - predicted).max())
    scale = max(1.0, float(np.abs(outputs).max()))
    # every sample point must have the region's full pattern
    pats = _piecewise_patterns(part.model, x)
    stored = part.activation_patterns()
    want = (
        np.concatenate(
            [np.asarray(stored[k])[region].reshape(-1).astype(np.int64) for k in sorted(stored)]
        )
        if stored
        else np.zeros(0, dtype=np.int64)
    )
    pattern_ok = bool(pats.shape[1] == want.shape[0] and (pats == want).all())
    lab_a = lab_c = lab_err = None
    layers = _lab_layers(part.model)
    if layers is not None and isinstance(part.domain, Polygon):
        first, last = layers
        sigma = np.asarray(part.activation_patterns(1))[region].astype(np.float64)
        b1 = np.zeros(first.weight.shape[0]) if first.bias is None else first.bias
        b2 = np.zeros(last.weight.shape[0]) if last.bias is None else last.bias
        lab_a = last.weight @ (sigma[:, None] * first.weight)
        lab_c = last.weight @ (sigma * b1) + b2
        lab_err = float(max(np.abs(lab_a - a).max(), np.abs(lab_c - c).max()))
    return AffineCheck(
        region, u, outputs, predicted, max_error, scale, pattern_ok, a, c, lab_a, lab_c, lab_err
    )


# --------------------------------------------------------------------------------------
# drawing (matplotlib, imported lazily)


def _figure(rows: int, cols: int, panel: float = 3.2) -> Any:
    try:
        from matplotlib.figure import Figure  # noqa: TID251
    except ImportError:
        raise ImportError("drawing needs matplotlib: pip install 'regionscope[plot]'") from None
    fig = Figure(figsize=(panel * cols, panel * rows), layout="constrained")
    fig.subplots(rows, cols, squeeze=False)
    return fig


def _axes(ax: Any) -> Any:
    if ax is not None:
        return ax
    return _figure(1, 1, panel=4.0).axes[0]


def _render() -> Any:
    try:
        from regionscope import render
    except ImportError:  # pragma: no cover - render ships with regionscope
        return None
    return render


def _draw_regions(part: Any, ax: Any) -> Any:
    """Regions coloured by a hash of their pattern (with :mod:`regionscope.render`)."""
    render = _render()
    if render is not None and hasattr(render, "plot"):
        render.plot(part, ax=ax, decision=False, legend=False)
    else:
        _fallback_regions(part, ax)
    ax.set_aspect("equal")
    return ax


def _draw_lines(part: Any, ax: Any, layer: int) -> Any:
    """Regions (faint) with the zero lines of ``layer``, one colour per neuron."""
    render = _render()
    if render is not None and hasattr(render, "plot_bent_hyperplanes"):
        render.plot_bent_hyperplanes(part, layer, ax=ax, color_by="pattern", alpha=0.45)
    else:
        _fallback_regions(part, ax)
        _fallback_lines(part, ax, layer)
    ax.set_aspect("equal")
    return ax


def _region_polygons(part: Any, regions: Any = None) -> list[np.ndarray]:
    """Corner arrays of ``regions`` (default all), for matplotlib collections."""
    verts = np.asarray(part.vertices)
    offs = np.asarray(part.region_offsets)
    idx = np.asarray(part.region_vertices)
    which = range(part.num_regions) if regions is None else np.asarray(regions).tolist()
    return [verts[idx[offs[f] : offs[f + 1]]] for f in which]


def _fallback_regions(part: Any, ax: Any) -> None:
    from matplotlib.collections import PolyCollection  # noqa: TID251

    from regionscope.render.colors import hash_colors

    colors = hash_colors(np.asarray(part.pattern_keys(), dtype=np.uint64))
    ax.add_collection(
        PolyCollection(
            _region_polygons(part), facecolors=colors, edgecolors="#333333", linewidths=0.6
        )
    )
    xmin, xmax, ymin, ymax = part.domain.bounds
    ax.set_xlim(xmin, xmax)
    ax.set_ylim(ymin, ymax)


def _fallback_lines(part: Any, ax: Any, layer: int) -> None:
    from matplotlib.collections import LineCollection  # noqa: TID251

    from regionscope.render.colors import CATEGORICAL

    verts = np.asarray(part.vertices)
    edges = np.asarray(part.edges)
    e_layer = np.asarray(part.edge_layer)
    e_neuron = np.asarray(part.edge_neuron)
    for j in np.unique(e_neuron[e_layer == layer]):
        sel = (e_layer == layer) & (e_neuron == j)
        ax.add_collection(
            LineCollection(
                verts[edges[sel]],
                colors=CATEGORICAL[j % len(CATEGORICAL)],
                linewidths=2.0,
                label=f"neuron {j}",
            )
        )
    ax.legend(loc="upper right", fontsize=8)


def _mark_regions(part: Any, ax: Any, regions: np.ndarray, color: str = "#d62728") -> None:
    from matplotlib.collections import PolyCollection  # noqa: TID251

    ax.add_collection(
        PolyCollection(
            _region_polygons(part, regions), facecolors=color, edgecolors=color, linewidths=1.5
        )
    )
    cents = np.asarray(part.centroids())[regions]
    if len(cents):
        ax.scatter(
            cents[:, 0], cents[:, 1], s=60, facecolors="none", edgecolors=color, linewidths=1.2
        )


# --------------------------------------------------------------------------------------
# the whole lab


def run_lab01(
    out_dir: str | os.PathLike[str] | None = None,
    seed: int = LAB_SEED,
    *,
    num_seeds: int = 50,
    resolution: int = 300,
    verbose: bool = False,
) -> dict[str, Any]:
    """Run lab 01 and its exercises exactly; write the figures; return the numbers.

    Steps (figures as ``out_dir/lab01_*.png`` when ``out_dir`` is given and
    matplotlib is installed):

    0. the ``[2, 4, 1]`` network :func:`lab_network` ``([2, 4, 1], seed)`` on
       ``[-2, 2]^2``: regions coloured by pattern, and the four zero lines
       (``lab01_regions.png``); the exact count against ``zaslavsky(4, 2) =
       11``, in the window and in the whole plane;
    0'. the lab's ``resolution``-grid against the exact partition
       (``lab01_grid.png``), and a network with ``zaslavsky(m, 2)`` regions;
    1. counts over ``num_seeds`` seeds, window and whole plane
       (``lab01_histogram.png``);
    2. the perturbation series ``eps = 0.01, 0.1, 0.5, 1`` (``lab01_perturbation.png``);
    3. the affine check in the region containing the origin;
    4. widths 4, 8, 16 (``lab01_widths.png``).

    Parameters
    ----------
    out_dir : path, optional
        Folder for the figures (created).  ``None``: no figures.
    seed : int
        Seed of the lab's network.
    num_seeds : int
        Networks in exercise 1.
    resolution : int
        The lab's grid resolution.
    verbose : bool
        Print the numbers as they come.

    Returns
    -------
    dict
        Plain numbers and lists (see the keys); ``"figures"`` lists the files.
    """
    from regionscope.partitions import partition as _partition

    seed = _check_int(seed, "seed", 0)
    num_seeds = _check_int(num_seeds, "num_seeds", 1)
    resolution = _check_int(resolution, "resolution", 2)
    out = None
    if out_dir is not None:
        out = os.fspath(out_dir)
        os.makedirs(out, exist_ok=True)
    try:
        import matplotlib  # noqa: F401, TID251

        draw = out is not None
    except ImportError:
        draw = False

    def say(*args: Any) -> None:
        if verbose:
            print(*args)  # noqa: T201

    figures: list[str] = []

    def save(fig: Any, name: str) -> None:
        path = os.path.join(out, name)  # type: ignore[arg-type]
        fig.savefig(path, dpi=110)
        figures.append(path)

    res: dict[str, Any] = {"seed": seed}
    domain = LAB_DOMAIN

    # --- the lab: build, partition, count
    net = lab_network([2, 4, 1], seed)
    part = _partition(net, domain)
    plane_part = _partition(net, arrangement_box(net))
    bound = bounds.zaslavsky(4, 2)
    grid = grid_patterns(net, domain, resolution)
    res.update(
        W1=net[0].weight.tolist(),
        b1=net[0].bias.tolist(),
        W2=net[2].weight.tolist(),
        b2=net[2].bias.tolist(),
        regions=part.num_regions,
        regions_plane=plane_part.num_regions,
        grid_patterns=grid.num_patterns,
        bound=bound,
    )
    say(
        f"[2, 4, 1] network, seed {seed}: {part.num_regions} regions in [-2, 2]^2 "
        f"({grid.num_patterns} patterns on the {resolution}x{resolution} grid), "
        f"{plane_part.num_regions} in the whole plane; bound {bound}"
    )
    if draw:
        fig = _figure(1, 2, panel=4.0)
        ax0, ax1 = fig.axes
        _draw_regions(part, ax0)
        ax0.set_title(f"{part.num_regions} activation regions (bound {bound})")
        _draw_lines(part, ax1, layer=1)
        ax1.set_title("zero lines (W1 x + b1)_j = 0")
        save(fig, "lab01_regions.png")

    # --- what the grid gets wrong
    cmp_lab = compare_with_grid(part, resolution)
    m_max = 12
    max_net = max_regions_network(m_max, domain, seed=seed)
    max_part = _partition(max_net, domain)
    cmp_max = compare_with_grid(max_part, resolution)
    max4 = _partition(max_regions_network(4, domain, seed=seed), domain)
    res.update(
        grid_missed=cmp_lab.num_missed,
        max_regions_4=max4.num_regions,
        max_regions_m=m_max,
        max_regions_m_count=max_part.num_regions,
        max_regions_m_bound=bounds.zaslavsky(m_max, 2),
        max_regions_m_grid=cmp_max.grid_count,
        max_regions_m_missed=cmp_max.num_missed,
        max_regions_m_missed_areas=cmp_max.missed_areas.tolist(),
    )
    say("lab network:", cmp_lab.summary())
    say(f"max_regions_network(4): {max4.num_regions} regions (bound {bound})")
    say(f"max_regions_network({m_max}):", cmp_max.summary(), f"bound {bounds.zaslavsky(m_max, 2)}")
    if draw:
        fig = _figure(1, 3, panel=3.6)
        ax0, ax1, ax2 = fig.axes
        _draw_regions(max4, ax0)
        ax0.set_title(f"max_regions_network(4): {max4.num_regions} regions")
        g = grid_patterns(max_net, domain, resolution)
        ax1.imshow(
            g.labels, origin="lower", extent=g.extent, cmap="tab20", interpolation="nearest"
        )
        ax1.set_title(f"m={m_max}, {resolution}x{resolution} grid: {g.num_patterns} patterns")
        ax1.set_aspect("equal")
        _draw_regions(max_part, ax2)
        _mark_regions(max_part, ax2, cmp_max.missed)
        ax2.set_title(f"exact: {max_part.num_regions}; {cmp_max.num_missed} missed (red)")
        save(fig, "lab01_grid.png")

    # --- exercise 1: histogram over seeds
    stats_window = region_count_stats([2, 4, 1], num_seeds, domain)
    stats_plane = region_count_stats([2, 4, 1], num_seeds, "plane")
    res.update(
        counts_window=stats_window.counts.tolist(),
        counts_plane=stats_plane.counts.tolist(),
        at_bound_window=stats_window.fraction_at_bound,
        at_bound_plane=stats_plane.fraction_at_bound,
    )
    say(
        f"exercise 1: over {num_seeds} seeds, the count reaches {bound} for "
        f"{stats_window.fraction_at_bound:.0%} in [-2, 2]^2 and "
        f"{stats_plane.fraction_at_bound:.0%} in the whole plane; window histogram "
        f"{stats_window.histogram.tolist()}"
    )
    if draw:
        fig = _figure(1, 2, panel=3.6)
        stats_window.plot(fig.axes[0], color="#56b4e9")
        fig.axes[0].set_title("regions in [-2, 2]^2")
        stats_plane.plot(fig.axes[1], color="#009e73")
        fig.axes[1].set_title("regions in the whole plane")
        save(fig, "lab01_histogram.png")

    # --- exercise 2: perturbation
    series = perturbation_series(net, (0.01, 0.1, 0.5, 1.0), seed=seed, domain=domain, plot=draw)
    res.update(
        perturb_eps=series.eps.tolist(),
        perturb_counts=series.counts.tolist(),
        perturb_shared=series.shared_patterns().tolist(),
    )
    say(
        "exercise 2: eps",
        series.eps.tolist(),
        "counts",
        series.counts.tolist(),
        "patterns kept",
        np.round(series.shared_patterns(), 2).tolist(),
    )
    if draw:
        save(series.figure, "lab01_perturbation.png")

    # --- exercise 3: affine check at the origin
    origin = int(np.asarray(part.locate(np.zeros((1, 2))))[0])
    check = check_affine(part, origin, n=20, seed=seed)
    res.update(
        origin_region=origin,
        origin_pattern=np.asarray(part.activation_patterns(1))[origin].astype(int).tolist(),
        affine_max_error=check.max_error,
        affine_lab_map_error=check.lab_map_error,
        affine_ok=check.ok,
    )
    say(
        f"exercise 3: region {origin} (pattern {res['origin_pattern']}): max |f(x) - (A x + c)|"
        f" = {check.max_error:.2e} over 20 points; |lab formula - affine_maps| = "
        f"{check.lab_map_error:.2e}; ok={check.ok}"
    )

    # --- exercise 4: wider networks
    wide = {}
    for m in (4, 8, 16):
        wnet = lab_network([2, m, 1], seed)
        wide[m] = (_partition(wnet, domain), _partition(wnet, arrangement_box(wnet)))
    res.update(
        widths=[4, 8, 16],
        width_counts=[wide[m][0].num_regions for m in (4, 8, 16)],
        width_counts_plane=[wide[m][1].num_regions for m in (4, 8, 16)],
        width_bounds=[bounds.zaslavsky(m, 2) for m in (4, 8, 16)],
        width_grid_missed=[
            compare_with_grid(wide[m][0], resolution).num_missed for m in (4, 8, 16)
        ],
    )
    say(
        "exercise 4: widths 4, 8, 16:",
        res["width_counts"],
        "regions in [-2, 2]^2,",
        res["width_counts_plane"],
        "in the plane; bounds",
        res["width_bounds"],
        "; missed by the grid",
        res["width_grid_missed"],
    )
    if draw:
        fig = _figure(1, 3, panel=3.6)
        for ax, m in zip(fig.axes, (4, 8, 16), strict=True):
            _draw_regions(wide[m][0], ax)
            ax.set_title(
                f"[2, {m}, 1]: {wide[m][0].num_regions} regions in the window\n"
                f"{wide[m][1].num_regions} in the plane (bound {bounds.zaslavsky(m, 2)})",
                fontsize=10,
            )
        save(fig, "lab01_widths.png")
    res["figures"] = figures
    return res
