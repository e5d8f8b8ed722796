"""Beyond one machine: tiles of one domain and sweeps over many, on Dask.

* :func:`partition_tiles` computes a 2-D domain as a grid of tiles, one
  ordinary partition per tile, and joins them exactly
  (:class:`TiledPartition`: counts, areas, patterns and the picture of the
  whole domain, without any process holding the whole mesh);
* :func:`sweep` partitions many (model, domain) pairs and returns a tidy
  :class:`pandas.DataFrame`, writing each finished task to disk so that an
  interrupted sweep resumes where it stopped.

Both run on ``dask.distributed`` (the extra ``regionscope[dask]``): pass
``client=`` for any Dask cluster; without one a local cluster of processes
over this machine's cores is started; ``client="serial"`` runs in this
process.  Dask and pandas are imported only when these functions run.

Modules: :mod:`.engine` (where tasks run), :mod:`.grid` (tiles and what a
tile tells about its border), :mod:`.stitch` (joining tiles),
:mod:`.store` (a tiled run's directory: tile files tied to their task, resuming),
:mod:`.tiled` (:class:`TiledPartition`, files), :mod:`.picture` (drawing
tile by tile), :mod:`.specs` (models and domains of a sweep, task keys),
:mod:`.sweeps` (:func:`sweep`).
"""

from __future__ import annotations

from .sweeps import SweepError, read_results, sweep
from .tiled import TiledPartition, load_tiles, partition_tiles

__all__ = [
    "SweepError",
    "TiledPartition",
    "load_tiles",
    "partition_tiles",
    "read_results",
    "sweep",
]
