"""Independent oracles shared by the lab tests (plain NumPy, no regionscope geometry)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest


def _points_in_polygon(points: np.ndarray, poly: np.ndarray) -> np.ndarray:
    """(N,) bool: strictly inside a counter-clockwise convex polygon (K, 2)."""
    edge = np.roll(poly, -1, axis=0) - poly
    rel = points[:, None, :] - poly[None, :, :]
    cross = edge[None, :, 0] * rel[..., 1] - edge[None, :, 1] * rel[..., 0]
    return (cross > 0).all(axis=1)


def _polygons(part) -> list[np.ndarray]:
    """The corners (K, 2) of every region of a 2-D partition, from its raw arrays."""
    off, idx = part.region_offsets, part.region_vertices
    return [part.vertices[idx[off[f] : off[f + 1]]] for f in range(part.num_regions)]


@pytest.fixture(scope="session")
def points_in_polygon() -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """Independent oracle: (N,) bool, strictly inside a counter-clockwise convex polygon."""
    return _points_in_polygon


@pytest.fixture(scope="session")
def polygons() -> Callable[..., list[np.ndarray]]:
    """The corners of every region of a partition, as a list of (K, 2) arrays."""
    return _polygons
