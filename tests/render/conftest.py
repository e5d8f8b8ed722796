"""Fixtures of the render tests: two partitions, matplotlib axes and small helpers.

The helpers are fixtures (returning functions) because test modules are
imported with ``--import-mode=importlib`` and cannot import each other.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest

import regionscope as rs


@pytest.fixture(scope="module")
def quad() -> rs.Partition:
    """Box [0, 2] x [0, 1] cut by x = 1 and y = 0.25: four rectangles."""
    net = rs.Sequential(rs.Linear([[1.0, 0.0], [0.0, 1.0]], [-1.0, -0.25]), rs.ReLU())
    return rs.partition(net, rs.Box(0.0, 2.0, 0.0, 1.0))


@pytest.fixture(scope="module")
def mlp() -> rs.Partition:
    """A small random ReLU classifier (3 classes) on Box(1)."""
    rng = np.random.default_rng(7)
    net = rs.Sequential(
        rs.Linear(rng.normal(size=(8, 2)), rng.normal(scale=0.5, size=8)),
        rs.ReLU(),
        rs.Linear(rng.normal(size=(8, 8)) / 3, rng.normal(scale=0.3, size=8)),
        rs.ReLU(),
        rs.Linear(rng.normal(size=(3, 8)), rng.normal(scale=0.3, size=3)),
        rs.Argmax(),
    )
    return rs.partition(net, rs.Box(1.0))


@pytest.fixture
def ax() -> Iterator[Any]:
    """Axes of a new matplotlib figure (Agg), closed after the test."""
    pytest.importorskip("matplotlib").use("Agg")
    plt = pytest.importorskip("matplotlib.pyplot")

    fig, ax = plt.subplots()
    yield ax
    plt.close(fig)


def _polygons(part: rs.Partition) -> list[np.ndarray]:
    rv, off = part.region_vertices, part.region_offsets
    return [part.vertices[rv[off[f] : off[f + 1]]] for f in range(part.num_regions)]


def _rgb8(rgba: Any) -> np.ndarray:
    return np.round(np.asarray(rgba)[..., :3] * 255).astype(int)


def _to_px(xy: Any, scale: float, x0: float, y0: float) -> np.ndarray:
    xy = np.asarray(xy, dtype=float)
    return np.stack([x0 + scale * xy[:, 0], y0 - scale * xy[:, 1]], axis=1)


@pytest.fixture(scope="session")
def polygons() -> Callable[[rs.Partition], list[np.ndarray]]:
    """``polygons(part)``: each region's corners ``(k, 2)``, in region order."""
    return _polygons


@pytest.fixture(scope="session")
def rgb8() -> Callable[[Any], np.ndarray]:
    """``rgb8(rgba)``: float colours ``(..., 3|4)`` as 8-bit RGB ints ``(..., 3)``."""
    return _rgb8


@pytest.fixture(scope="session")
def to_px() -> Callable[..., np.ndarray]:
    """``to_px(xy, scale, x0, y0)``: domain points ``(N, 2)`` to pixels, y down (by hand)."""
    return _to_px
