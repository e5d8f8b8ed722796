"""Fixtures of the scale tests: a real Dask cluster of two worker processes, small networks.

The cluster is started once for the session (processes, one thread each, at
most two workers).  Helpers are fixtures because test modules are imported
with ``--import-mode=importlib`` and cannot import each other.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest

import regionscope as rs


@pytest.fixture(scope="session")
def cluster() -> Iterator[Any]:
    """A ``dask.distributed`` client of a LocalCluster of 2 worker processes."""
    distributed = pytest.importorskip("distributed")
    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",
            silence_logs=50,
        ) as local,
        distributed.Client(local) as client,
    ):
        yield client


@pytest.fixture(scope="session")
def make_net() -> Callable[..., rs.Sequential]:
    """A random ReLU network on 2 (or ``inputs``) inputs, with optional outputs and argmax."""

    def make(
        seed: int,
        widths: tuple[int, ...] = (8, 8),
        out: int = 0,
        argmax: bool = False,
        inputs: int = 2,
    ) -> rs.Sequential:
        rng = np.random.default_rng(seed)
        layers: list[Any] = []
        d = inputs
        for w in widths:
            layers += [rs.Linear(rng.normal(size=(w, d)), rng.normal(size=w)), rs.ReLU()]
            d = w
        if out:
            layers.append(rs.Linear(rng.normal(size=(out, d)), rng.normal(size=out)))
        if argmax:
            layers.append(rs.Argmax())
        return rs.Sequential(*layers)

    return make


@pytest.fixture(scope="session")
def assert_same_picture() -> Callable[..., None]:
    """Check a tiled raster against the whole partition's (what ``to_png`` encodes).

    Equal pixel for pixel, except that a channel whose exact value is a tie of
    the rounding to 8 bits (``k + 0.5``, as a half-covered pixel between two
    palette colours makes) may round either way: the two pictures add the same
    coverages in another order.  So a few channels may differ by one level.
    """

    def check(got: np.ndarray, whole: rs.Partition, style: dict[str, Any]) -> None:
        scene = rs.render.scene.build_scene(whole, style, "to_png")
        want = rs.render.raster.rasterize(whole, scene)
        assert got.shape == want.shape and got.dtype == want.dtype
        diff = np.abs(got.astype(np.int64) - want.astype(np.int64))
        assert diff.max() <= 1, f"pictures differ by up to {diff.max()} levels"
        assert np.count_nonzero(diff) <= 3, f"{np.count_nonzero(diff)} channels differ"

    return check
