"""Exact summary statistics of a 2-D partition: regions, areas, the decision boundary.

:func:`partition_stats` (also ``part.stats()``) returns one flat dict of
numbers, so that a series of them is a table (:class:`StatsTable`, with
``to_pandas()``).  Everything is computed from the polygons, not sampled:

* ``regions``, ``vertices``, ``edges``;
* the area distribution: ``area_total``, ``area_mean``, ``area_std``,
  ``area_min``, ``area_q25``, ``area_median``, ``area_q75``, ``area_max``;
* ``boundary_length``: the length of the decision boundary
  (:meth:`Partition.decision_segments
  <regionscope.partitions.planar.Partition.decision_segments>`: the edges of
  an :class:`~regionscope.Argmax` layer, or the zero set of a single output);
* ``boundary_regions``: the number of activation regions of the layers
  *before* the decision that the boundary passes through (with an Argmax
  layer: regions whose pattern without the Argmax's is shared by the two
  sides of a boundary edge; without one: the regions the decision segments
  cut);
* region density near the boundary against far from it: a region is *near*
  when its polygon lies within ``near`` of the boundary (default
  :data:`NEAR_FRACTION` times the domain's diameter), *far* otherwise;
  ``near_density = near_regions / near_area`` (regions per unit of area, in
  domain coordinates), and the same for ``far_*``.  Without a boundary the
  near values are 0 and the density NaN;
* per-class counts ``class_0_regions``, ``class_1_regions``, ...: regions by
  the class the network gives them (the largest logit, the Argmax's input, at
  the region's centroid; without Argmax the largest output, or output 0 > 0 for
  one output: without the decision cut a region may hold several classes, and
  counts by the one at its centroid).

Examples
--------
>>> import regionscope as rs
>>> net = rs.Sequential(rs.Linear([[1.0, 0.0], [-1.0, 0.0]]), rs.Argmax())   # x > 0: class 0
>>> s = partition_stats(rs.partition(net, rs.Box(1.0)), near=0.5)
>>> s["regions"], s["boundary_length"], s["boundary_regions"], s["class_0_regions"]
(2, 2.0, 1, 1)
>>> s["near_regions"], s["near_density"], s["far_regions"]
(2, 0.5, 0)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from regionscope.checks import as_number
from regionscope.network.layers import Argmax
from regionscope.partitions.base import pattern_hash

from .proximity import polygons_near_segments

__all__ = [
    "NEAR_FRACTION",
    "StatsTable",
    "boundary_regions",
    "partition_stats",
    "region_classes",
]

#: default "near the decision boundary": within this fraction of the domain's diameter
NEAR_FRACTION = 0.02


def _argmax_layers(part: Any) -> list[int]:
    return [op.index for op in part.program.ops if isinstance(op.layer, Argmax)]


def region_classes(part: Any) -> tuple[np.ndarray, int]:
    """The class of every region, and the number of classes.

    Returns
    -------
    classes : (F,) int64
        The largest input of the (last) :class:`~regionscope.Argmax` layer at
        the region's centroid (the class is constant on the region); without
        one, the largest output, or ``output 0 > 0`` for a single output.
    num_classes : int
        The width of the Argmax's input, or of the output (2 for one output).

    Examples
    --------
    >>> import regionscope as rs
    >>> part = rs.partition(rs.Sequential(rs.Linear([[1.0, 0.0]])), rs.Box(1.0))
    >>> region_classes(part)
    (array([0]), 2)
    """
    decision = _argmax_layers(part)
    centroids = part.centroids()
    # the class is constant on an activation region (the Argmax's pattern is part of it), so
    # the logits at its centroid decide it: one forward pass, no full pattern table
    values = part.region_values(centroids, layer=decision[-1] if decision else -1)
    if decision or values.shape[1] > 1:
        return values.argmax(axis=1).astype(np.int64), int(values.shape[1])
    return (values[:, 0] > 0).astype(np.int64), 2


def boundary_regions(part: Any) -> int:
    """The number of pre-decision activation regions the decision boundary passes through.

    With an :class:`~regionscope.Argmax` layer, each region is identified by its
    pattern in every other layer; a decision edge lies inside the region its
    two sides share (read at the centroid of the region on one side).  Without
    one, the decision boundary (:meth:`Partition.decision_segments
    <regionscope.partitions.planar.Partition.decision_segments>`) cuts regions
    of the partition itself: each of its segments lies in one region, found at
    the segment's midpoint.

    Examples
    --------
    >>> import regionscope as rs
    >>> net = rs.Sequential(rs.Linear([[1.0, 0.0], [0.0, 1.0]]), rs.ReLU(),
    ...                     rs.Linear([[1.0, -1.0], [-1.0, 1.0]], [0.1, -0.1]), rs.Argmax())
    >>> boundary_regions(rs.partition(net, rs.Box(1.0)))    # relu(y) - relu(x) = 0.1: 2 quadrants
    2
    """
    decision = _argmax_layers(part)
    if decision:
        # the regions beside boundary edges, their patterns at their centroids (a forward
        # pass over those regions only) without the Argmax layers'
        sides = part.edge_regions[part.decision_boundary()]
        beside = np.unique(sides[(sides >= 0).all(axis=1), 0])
        if not len(beside):
            return 0
        pats = part.patterns_at(part.centroids()[beside])
        keys = pattern_hash({i: p for i, p in pats.items() if i not in decision}, len(beside))
        return len(np.unique(keys))
    segments = part.decision_segments()
    if not len(segments):
        return 0
    found = part.locate(segments.mean(axis=1))
    return len(np.unique(found[found >= 0]))


def _near_far(part: Any, segments: np.ndarray, near: float) -> dict[str, float]:
    areas = part.areas()
    is_near = np.zeros(part.num_regions, dtype=bool)
    if len(segments):
        _, region = polygons_near_segments(
            part.vertices,
            part.region_vertices,
            part.region_offsets,
            segments[:, 0],
            segments[:, 1],
            np.full(len(segments), near),
        )
        is_near[region] = True
    out: dict[str, float] = {"near_distance": near}
    for name, mask in (("near", is_near), ("far", ~is_near)):
        count, area = int(mask.sum()), float(areas[mask].sum())
        out[f"{name}_regions"] = count
        out[f"{name}_area"] = area
        out[f"{name}_density"] = count / area if area > 0 else float("nan")
    return out


def partition_stats(part: Any, near: float | None = None) -> dict[str, Any]:
    """Exact summary statistics of a 2-D partition (see the module's list of keys).

    Parameters
    ----------
    part : Partition
    near : float, optional
        Distance (domain coordinates) within which a region counts as near
        the decision boundary; default :data:`NEAR_FRACTION` times the
        domain's diameter.

    Returns
    -------
    dict
        ``{name: int or float}``, flat.

    Examples
    --------
    >>> import regionscope as rs
    >>> net = rs.Sequential(rs.Linear([[1.0, 0.0], [0.0, 1.0]]), rs.ReLU(),
    ...                     rs.Linear([[1.0, -1.0]], [0.25]))   # relu(x) - relu(y) + 0.25
    >>> s = partition_stats(rs.partition(net, rs.Box(1.0)))
    >>> s["regions"], s["area_median"], round(s["boundary_length"], 4), s["near_regions"]
    (4, 1.0, 2.0607, 2)
    """
    if not hasattr(part, "region_offsets"):
        raise TypeError(f"partition_stats needs a 2-D Partition, got {type(part).__name__}")
    if near is None:
        dist = NEAR_FRACTION * part.domain.diameter
    else:
        dist = as_number(near, "near")
        if dist < 0:
            raise ValueError(f"near must be >= 0, got {dist}")
    areas = part.areas()
    q25, median, q75 = np.quantile(areas, [0.25, 0.5, 0.75])
    out: dict[str, Any] = {
        "regions": int(part.num_regions),
        "vertices": int(part.num_vertices),
        "edges": int(part.num_edges),
        "area_total": float(areas.sum()),
        "area_mean": float(areas.mean()),
        "area_std": float(areas.std()),
        "area_min": float(areas.min()),
        "area_q25": float(q25),
        "area_median": float(median),
        "area_q75": float(q75),
        "area_max": float(areas.max()),
    }
    segments = part.decision_segments()  # the partition's own definition of its decision
    lengths = np.hypot(*(segments[:, 1] - segments[:, 0]).T) if len(segments) else np.zeros(0)
    out["boundary_length"] = float(lengths.sum())
    out["boundary_regions"] = boundary_regions(part)
    out.update(_near_far(part, segments, dist))
    classes, num_classes = region_classes(part)
    counts = np.bincount(classes, minlength=num_classes)
    out.update({f"class_{c}_regions": int(n) for c, n in enumerate(counts)})
    return out


class StatsTable(list):
    """A list of dicts, one row per frame, with :meth:`to_pandas`.

    Examples
    --------
    >>> table = StatsTable([{"step": 0, "regions": 4}, {"step": 1, "regions": 6}])
    >>> table.column("regions").tolist()
    [4, 6]
    """

    def column(self, name: str) -> np.ndarray:
        """The values of one key, as an array (``NaN`` where a row lacks it)."""
        if not any(name in row for row in self):
            raise KeyError(f"no column {name!r}; columns are {list(self[0]) if self else []}")
        return np.array([row.get(name, np.nan) for row in self])

    def to_pandas(self) -> Any:
        """The table as a ``pandas.DataFrame`` (needs pandas)."""
        try:
            import pandas as pd
        except ImportError as exc:  # pragma: no cover - pandas is in the test extras
            raise ImportError(
                "StatsTable.to_pandas needs pandas: pip install 'regionscope[dask]' "
                "(or pip install pandas)"
            ) from exc
        return pd.DataFrame(list(self))
