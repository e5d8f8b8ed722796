"""regionscope: exact linear regions of piecewise-linear networks.

regionscope computes, exactly, how a piecewise-linear network (ReLU,
LeakyReLU, HardTanh, max-pooling, argmax, residual blocks, convolutions...)
cuts a 2-D or 1-D input domain into *activation regions*: the sets of inputs
that share one activation pattern in every layer.  On each region the network
is affine; regionscope keeps every region's polygon, its patterns and its
affine map, and draws the picture.

Examples
--------
>>> import numpy as np
>>> import regionscope as rs
>>> net = rs.Sequential(rs.Linear([[1.0, 0.0], [0.0, 1.0]]), rs.ReLU())
>>> part = rs.partition(net, rs.Box(1.0))
>>> part.num_regions
4
"""

from __future__ import annotations

from typing import Any

from .backends import available_backends, backend, get_backend, get_device
from .domains import Box, Interval, Plane, Polygon, Segment
from .errors import RegionLimitError
from .network.layers import (
    Add,
    Argmax,
    Concat,
    Graph,
    HardTanh,
    Identity,
    LeakyReLU,
    Linear,
    MaxPool,
    ReLU,
    Residual,
    Sequential,
)
from .partitions import Partition, Partition1D, estimate, load, partition
from .tolerances import Budget, Tolerance, budget, get_budget, get_tolerance, tolerance

__version__ = "0.1.0"

__all__ = [
    "Add",
    "Argmax",
    "Box",
    "Budget",
    "Concat",
    "Graph",
    "HardTanh",
    "Identity",
    "Interval",
    "LeakyReLU",
    "Linear",
    "MaxPool",
    "Partition",
    "Partition1D",
    "Path",
    "Plane",
    "Polygon",
    "ReLU",
    "RegionLimitError",
    "Residual",
    "Segment",
    "Sequential",
    "Timeline",
    "Tolerance",
    "available_backends",
    "backend",
    "bounds",
    "budget",
    "check_affine",
    "compare_with_grid",
    "estimate",
    "get_backend",
    "get_device",
    "get_budget",
    "get_tolerance",
    "grid_patterns",
    "load",
    "max_regions_network",
    "neighbourhood_planes",
    "partition",
    "partition_tiles",
    "perturbation_series",
    "region_count_stats",
    "sweep",
    "tolerance",
]

# lab tools and bounds import lazily (they are not needed by the core)
_LAZY = {
    "grid_patterns": "lab",
    "compare_with_grid": "lab",
    "max_regions_network": "lab",
    "region_count_stats": "lab",
    "perturbation_series": "lab",
    "check_affine": "lab",
    "lab_network": "lab",
    "arrangement_box": "lab",
    "partition_tiles": "scale",
    "sweep": "scale",
    "load_tiles": "scale",
    "Timeline": "workflows",
    "Path": "workflows",
    "neighbourhood_planes": "workflows",
}


# submodules reachable as attributes (rs.render, rs.layers...), imported on first use
_MODULES = {
    "bounds": ".bounds",
    "lab": ".lab",
    "render": ".render",
    "io": ".io",
    "testing": ".testing",
    "domains": ".domains",
    "geometry": ".geometry",
    "network": ".network",
    "layers": ".network.layers",
    "conv": ".network.conv",
    "compute": ".compute",
    "partitions": ".partitions",
    "scale": ".scale",
    "workflows": ".workflows",
}


def __getattr__(name: str) -> Any:
    import importlib

    if name in _MODULES:
        return importlib.import_module(_MODULES[name], __name__)
    if name in _LAZY:
        module = importlib.import_module(f".{_LAZY[name]}", __name__)
        return getattr(module, name)
    raise AttributeError(f"module 'regionscope' has no attribute {name!r}")
