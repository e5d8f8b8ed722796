"""Pair filters for :func:`~regionscope.geometry.cut`: the crossed (region, unit) pairs to cut."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from regionscope.geometry import Mesh
from regionscope.geometry.arrays import expand
from regionscope.geometry.kernels import compiled_maxes

__all__ = ["disagreeing"]


def disagreeing(mesh: Mesh, winners: np.ndarray) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """A pair filter for :func:`~regionscope.geometry.cut`: regions whose corners disagree
    on a max's winner.

    ``winners (V, groups)`` holds each group's winner at each vertex.  Inputs
    affine on a convex region that have one winner at every corner have it
    everywhere inside, so only the other (region, group) pairs are cut.  It
    is asked about the crossed pairs only: the work follows the cut's.
    """

    def keep(region: np.ndarray, group: np.ndarray) -> np.ndarray:
        if len(region) == 0:
            return np.zeros(0, dtype=bool)
        fast = compiled_maxes()
        if fast is not None and winners.ndim == 2:
            return fast.corners_disagree(mesh, winners, region, group)
        sizes = mesh.sizes[region]
        own, k = expand(sizes)
        at = winners[mesh.region_vertices[mesh.region_offsets[region][own] + k], group[own]]
        starts = np.append(0, np.cumsum(sizes)[:-1])
        return np.minimum.reduceat(at, starts) != np.maximum.reduceat(at, starts)

    return keep
