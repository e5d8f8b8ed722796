"""Research workflows on top of partitions: training timelines, statistics, local complexity.

* :mod:`.timeline` -- :class:`Timeline`: the partitions of one domain across
  training checkpoints, regions matched by pattern, statistics per frame,
  animations (:mod:`.animation`: GIF with Pillow, MP4 with imageio-ffmpeg);
* :mod:`.statistics` -- :func:`partition_stats` (``part.stats()``): exact
  region counts, areas, decision-boundary length and density near it;
* :mod:`.complexity` -- :func:`local_complexity` (``part.local_complexity``):
  regions meeting a disk around each point, exactly (:mod:`.proximity`);
* :mod:`.neighbourhoods` -- :func:`neighbourhood_planes`: a plane window
  around each data point of ``R^D``;
* :mod:`.paths` -- :class:`Path`: polylines through inputs and the pattern
  transitions along them.

Everything here needs only NumPy except where noted: torch (models), Pillow
(``[anim]``), imageio-ffmpeg (``[video]``) and pandas (``to_pandas``) are
imported when used.

Examples
--------
>>> import regionscope as rs
>>> part = rs.partition(rs.testing.tiny_cross(), rs.Box(1.0))
>>> local_complexity(part, [[0.0, 0.0]], 0.1).tolist(), part.stats()["regions"]
([4], 4)
"""

from __future__ import annotations

from .complexity import local_complexity, regions_within
from .neighbourhoods import neighbourhood_planes
from .paths import Path, PathPartition
from .statistics import NEAR_FRACTION, StatsTable, partition_stats
from .timeline import RegionChanges, Timeline

__all__ = [
    "NEAR_FRACTION",
    "Path",
    "PathPartition",
    "RegionChanges",
    "StatsTable",
    "Timeline",
    "local_complexity",
    "neighbourhood_planes",
    "partition_stats",
    "regions_within",
]
