"""Lab 01, "Visualizing activation regions", done exactly.

The lab builds a ``[2, 4, 1]`` ReLU network ``x -> W2 relu(W1 x + b1) + b2``,
samples its activation pattern on a ``300 x 300`` grid over ``[-2, 2]^2``,
counts the distinct patterns and compares the count with the bound
``sum_{i<=2} C(4, i) = 11`` for four lines in the plane.  This package has the
lab's grid method as a baseline, the exact answer from
:func:`regionscope.partition` and the tools for the lab's exercises.

Layout (one concept per module; everything public is re-exported here):

* :mod:`~regionscope.lab.networks` -- :func:`lab_network` (the lab's init),
  :func:`max_regions_network` (weights reaching the maximum count),
  :func:`arrangement_box` (a box every region of a one-hidden-layer network
  meets, to count regions in the whole plane), :data:`LAB_DOMAIN`,
  :data:`LAB_SEED`;
* :mod:`~regionscope.lab.grid` -- :func:`grid_patterns` (the lab's method,
  with the partition's snapping rule) and :func:`compare_with_grid` (which
  exact regions the grid misses);
* :mod:`~regionscope.lab.experiments` -- :func:`region_count_stats` (counts
  over many seeds), :func:`perturbation_series` (regions of noisy copies of a
  network), :func:`check_affine` (the network is affine on each region);
* :mod:`~regionscope.lab.figures` -- drawing helpers (matplotlib, imported
  lazily);
* :mod:`~regionscope.lab.lab01` -- :func:`run_lab01`, all of it, figures
  included, in named steps;
* :mod:`~regionscope.lab.arguments` -- argument checks shared by the modules.

Networks are given in the lab's notation ``widths = [2, n_1, ..., n_L, 1]``
(input, hidden widths, output).  Note that :mod:`regionscope.bounds` takes
``[n_0, n_1, ..., n_L]`` without the output width.

The lab's init (:func:`lab_network`): ``rng = np.random.default_rng(seed)``
draws, layer after layer, the weight ``(n_out, n_in)`` and then the bias
``(n_out,)`` from the standard normal distribution.

Examples
--------
>>> import regionscope as rs
>>> from regionscope.lab import LAB_DOMAIN, grid_patterns, lab_network
>>> net = lab_network([2, 4, 1], seed=0)
>>> grid = grid_patterns(net, LAB_DOMAIN, resolution=50)
>>> grid.labels.shape
(50, 50)
>>> part = rs.partition(net, LAB_DOMAIN)
>>> part.num_regions >= grid.num_patterns
True
"""

from __future__ import annotations

from .experiments import (
    AffineCheck,
    PerturbationSeries,
    RegionCountStats,
    check_affine,
    perturbation_series,
    region_count_stats,
)
from .grid import GridComparison, GridPatterns, compare_with_grid, grid_patterns
from .lab01 import run_lab01
from .networks import LAB_DOMAIN, LAB_SEED, arrangement_box, lab_network, max_regions_network

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
