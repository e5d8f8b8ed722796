"""Tiles of a 2-D domain, and what each tile tells about its border.

A grid of ``kx x ky`` tiles is given by its borders: ``xs (kx+1,)`` and
``ys (ky+1,)``, the first and last of each at the domain's bounds.  Tile
``(i, j)`` is the domain cut to the box ``[xs[i], xs[i+1]] x [ys[j], ys[j+1]]``
(:meth:`~regionscope.domains.Domain2D.subdomain`): a sub-box of a
:class:`~regionscope.Box`, a polygon cut to the box, or a :class:`~regionscope.Plane`
with a window.  The *inner lines* are the borders between tiles: vertical
line ``i`` is ``x = xs[i]`` for ``0 < i < kx``, horizontal line ``j`` is
``y = ys[j]`` for ``0 < j < ky``.

:func:`tile_summary` runs on a worker with one tile's partition.  Besides the
tile's counts and per-region tables it reads the tile's boundary: the
vertices on it (*border vertices*, with the inner lines they lie on and how
many inner edges of the tile meet them) and its boundary sides along inner
lines (with the region inside).  That is all :mod:`.stitch` needs to join
the tiles; it is proportional to the tile's perimeter, not its area.

Examples
--------
>>> import regionscope as rs
>>> xs, ys = tile_borders(rs.Box(1.0), (2, 1))
>>> xs.tolist(), ys.tolist()
([-1.0, 0.0, 1.0], [-1.0, 1.0])
>>> [(ij, t.bounds) for ij, t in tile_domains(rs.Box(1.0), xs, ys)]
[((0, 0), (-1.0, 0.0, -1.0, 1.0)), ((1, 0), (0.0, 1.0, -1.0, 1.0))]
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from regionscope.domains import Domain2D
from regionscope.geometry.arrays import expand
from regionscope.geometry.mesh import BOUNDARY, Mesh

__all__ = [
    "tile_borders",
    "tile_domains",
    "tile_summary",
    "compute_tile",
    "pattern_rows",
    "peak_rss_mb",
    "reset_peak_rss",
    "region_subset",
    "whole_scales",
    "tile_tolerance",
    "tile_partition",
    "SCALE_KEYS",
]

#: the keys of a tile's partition file that hold the whole domain's tolerances
SCALE_KEYS = ("scale/corners", "scale/point_tol")


def _borders(spec: Any, lo: float, hi: float, name: str) -> np.ndarray:
    """Borders ``(k+1,)`` along one axis from ``k`` or from the inner cut positions."""
    if isinstance(spec, (int, np.integer)) and not isinstance(spec, bool):
        k = int(spec)
        if k < 1:
            raise ValueError(f"{name} must be at least 1 tile, got {k}")
        inner = lo + (hi - lo) * np.arange(1, k) / k
    else:
        try:
            inner = np.asarray(spec, dtype=np.float64).reshape(-1)
        except (TypeError, ValueError):
            raise TypeError(
                f"{name} must be a number of tiles or a sequence of cut positions, "
                f"got {type(spec).__name__}"
            ) from None
        if not np.isfinite(inner).all() or (np.diff(inner) <= 0).any():
            raise ValueError(f"{name} cut positions must be finite and increasing")
        if len(inner) and (inner[0] <= lo or inner[-1] >= hi):
            raise ValueError(
                f"{name} cut positions must lie strictly inside the domain's range "
                f"({lo}, {hi}), got {inner.tolist()}"
            )
    return np.concatenate([[lo], inner, [hi]])


def tile_borders(domain: Domain2D, tiles: Any) -> tuple[np.ndarray, np.ndarray]:
    """The grid's borders ``xs (kx+1,)``, ``ys (ky+1,)`` float64 over the domain's bounds.

    Parameters
    ----------
    domain : Domain2D
    tiles : int or (kx, ky)
        ``k`` (``k x k`` equal tiles), or per axis a number of equal tiles
        or a sequence of cut positions inside the domain's range (e.g.
        ``([0.0], 2)``: cut at ``x = 0``, two rows).

    Examples
    --------
    >>> import regionscope as rs
    >>> [b.tolist() for b in tile_borders(rs.Box(0, 3, 0, 1), ([1.0, 2.5], 1))]
    [[0.0, 1.0, 2.5, 3.0], [0.0, 1.0]]
    """
    if isinstance(tiles, (int, np.integer)) and not isinstance(tiles, bool):
        tiles = (tiles, tiles)
    if not isinstance(tiles, (tuple, list)) or len(tiles) != 2:
        raise ValueError(f"tiles must be k or (kx, ky), got {tiles!r}")
    xmin, xmax, ymin, ymax = domain.bounds
    return _borders(tiles[0], xmin, xmax, "tiles[0]"), _borders(tiles[1], ymin, ymax, "tiles[1]")


def tile_domains(
    domain: Domain2D, xs: np.ndarray, ys: np.ndarray
) -> list[tuple[tuple[int, int], Domain2D]]:
    """``[((i, j), tile domain)]`` of the tiles that meet the domain, ``i`` fastest."""
    out = []
    for j in range(len(ys) - 1):
        for i in range(len(xs) - 1):
            tile = domain.subdomain(float(xs[i]), float(xs[i + 1]), float(ys[j]), float(ys[j + 1]))
            if tile is not None:
                out.append(((i, j), tile))
    return out


def pattern_rows(patterns: dict[int, np.ndarray], rows: np.ndarray) -> dict[str, np.ndarray]:
    """The patterns of some regions: ``{"bits/<layer>": (R, ceil(k / 8)) uint8}`` for on/off
    patterns, packed 8 units a byte (first unit in the high bit), ``{"pattern/<layer>": (R, k)}``
    for the others (a max layer's winners, as ``int8`` when they fit).

    Packed, a CNN tile's border patterns are 8x smaller to send and to stitch.

    >>> out = pattern_rows({1: np.array([[True, False, True]]), 3: np.array([[2, 0]])}, [0])
    >>> out["bits/1"], out["pattern/3"]
    (array([[160]], dtype=uint8), array([[2, 0]], dtype=int8))
    """
    out = {}
    for layer, p in sorted(patterns.items()):
        p = np.asarray(p)[rows]
        if p.dtype == np.bool_ and p.ndim == 2:
            out[f"bits/{layer}"] = np.packbits(p, axis=1)
        elif p.dtype.kind == "i" and p.size and -128 <= p.min() and p.max() < 128:
            out[f"pattern/{layer}"] = p.astype(np.int8)  # winners in a group: small
        else:
            out[f"pattern/{layer}"] = p
    return out


def _lines_at(coords: np.ndarray, borders: np.ndarray, index: int, tol: float) -> np.ndarray:
    """``(B,) int64``: the inner line (of ``borders``) each coordinate lies on, or -1.

    A tile ``index`` along this axis touches lines ``index`` and ``index + 1``.
    """
    out = np.full(len(coords), -1, dtype=np.int64)
    for line in (index, index + 1):
        if 0 < line < len(borders) - 1:
            out[np.abs(coords - borders[line]) <= tol] = line
    return out


def tile_summary(
    part: Any,
    ij: tuple[int, int],
    xs: np.ndarray,
    ys: np.ndarray,
    tol: float,
    scale_corners: Any = None,
) -> dict[str, np.ndarray]:
    """What the stitching needs of one tile's partition (runs on the worker).

    Parameters
    ----------
    part : Partition
        The partition of tile ``ij``.
    ij : (int, int)
    xs, ys : ndarray
        The grid's borders.
    tol : float
        Distance within which a vertex lies on an inner line.
    scale_corners : (K, 2) float64, optional
        The corners ``part``'s unit scales come from (the whole domain's).

    Returns
    -------
    dict of arrays
        ``areas (F,)``, ``centroids (F, 2)``;
        ``inner_vertices`` (vertices off the tile's boundary);
        border vertices: ``bv_vertex (B,)`` (mesh index), ``bv_xy (B, 2)``,
        ``bv_inner_degree (B,)`` (inner edges of the tile meeting it),
        ``bv_outer_degree (B,)`` (boundary sides not on an inner line),
        ``bv_vline, bv_hline (B,)`` (inner line it lies on, or -1);
        sides along inner lines: ``bs_ends (S, 2)`` (border vertex indices),
        ``bs_region (S,)``, ``bs_axis (S,)`` (0: vertical line, 1:
        horizontal), ``bs_line (S,)``; the regions on them, their pattern keys
        and patterns: ``border_regions (R,)``, ``border_keys (R,) uint64`` and
        ``bits/<layer>`` or ``pattern/<layer>`` (:func:`pattern_rows`).  Patterns
        are computed for these regions only (:func:`region_subset`): the rest of
        the tile needs none.
    """
    mesh = part.mesh
    edges = np.asarray(mesh.edge_vertices, dtype=np.int64).reshape(-1, 2)
    regions = np.asarray(mesh.edge_regions, dtype=np.int64).reshape(-1, 2)
    on_boundary = np.asarray(mesh.edge_source) == BOUNDARY
    used = np.unique(np.asarray(mesh.region_vertices))
    bv = np.unique(edges[on_boundary])
    local = np.full(mesh.num_vertices, -1, dtype=np.int64)
    local[bv] = np.arange(len(bv))
    xy = np.asarray(mesh.vertices)[bv]
    vline = _lines_at(xy[:, 0], xs, ij[0], tol)
    hline = _lines_at(xy[:, 1], ys, ij[1], tol)
    inner_edges = edges[~on_boundary]
    inner_degree = np.bincount(local[inner_edges[local[inner_edges] >= 0]], minlength=len(bv))
    side = local[edges[on_boundary]]  # (S_all, 2) border vertex indices
    side_region = regions[on_boundary].max(axis=1)
    vertical = (vline[side[:, 0]] >= 0) & (vline[side[:, 0]] == vline[side[:, 1]])
    horizontal = (hline[side[:, 0]] >= 0) & (hline[side[:, 0]] == hline[side[:, 1]])
    inner_side = vertical | horizontal
    outer_degree = np.bincount(side[~inner_side].reshape(-1), minlength=len(bv))
    border_regions = np.unique(side_region[inner_side])
    # (one region stands in when none lies on a border, for the shapes of the patterns)
    n_border = len(border_regions)
    subset = border_regions if n_border else np.zeros(1, dtype=np.int64)
    border = region_subset(part, subset, scale_corners)
    out = {
        "ij": np.array(ij, dtype=np.int64),
        "num_regions": np.array(part.num_regions, dtype=np.int64),
        "num_vertices": np.array(len(used), dtype=np.int64),
        "areas": np.asarray(part.areas(), dtype=np.float64),
        "centroids": np.asarray(part.centroids(), dtype=np.float64),
        "inner_vertices": np.array(len(np.setdiff1d(used, bv)), dtype=np.int64),
        "bv_vertex": bv,
        "bv_xy": xy,
        "bv_inner_degree": inner_degree.astype(np.int64),
        "bv_outer_degree": outer_degree.astype(np.int64),
        "bv_vline": vline,
        "bv_hline": hline,
        "bs_ends": side[inner_side],
        "bs_region": side_region[inner_side],
        "bs_axis": np.where(vertical[inner_side], 0, 1).astype(np.int64),
        "bs_line": np.where(vertical, vline[side[:, 0]], hline[side[:, 0]])[inner_side],
        "border_regions": border_regions,
        "border_keys": np.asarray(border.pattern_keys(), dtype=np.uint64)[:n_border],
    }
    out.update(pattern_rows(border.activation_patterns(), np.arange(n_border)))
    return out


def region_subset(part: Any, regions: np.ndarray, scale_corners: Any = None) -> Any:
    """A partition holding only some regions of ``part`` (same network, same domain).

    A region's pattern comes from its own corners, sides and interior point,
    so the subset's patterns are those regions' patterns in ``part``, at the
    cost of these regions only.  ``scale_corners`` are those ``part``'s
    evaluator was made with (:func:`regionscope.compute.evaluator`).
    """
    from regionscope import compute
    from regionscope.partitions import Partition

    mesh = part.mesh
    sizes = np.asarray(mesh.sizes)[regions]
    own, k = expand(sizes)
    inc = np.asarray(mesh.region_offsets)[regions][own] + k
    sub = Mesh(
        mesh.vertices,
        np.asarray(mesh.region_vertices)[inc],
        np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64),
        np.asarray(mesh.incidence_source)[inc],
        mesh.num_corners,
    )
    ev = compute.evaluator(part.domain, part.program, scale_corners)
    return Partition(part.domain, sub, ev)


def reset_peak_rss() -> bool:
    """Start measuring this process's peak memory again (Linux); whether it could."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")  # resets the peak resident set size (VmHWM)
    except OSError:
        return False
    return True


def peak_rss_mb() -> float:
    """Peak resident memory of this process in MiB: since :func:`reset_peak_rss` on Linux.

    Read from ``VmHWM`` of ``/proc/self/status`` (the process's own address
    space, so a worker does not report the memory of the process it was
    started from); elsewhere ``getrusage``'s peak, NaN where neither exists.
    """
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    try:
        import resource
    except ImportError:  # pragma: no cover - not on Windows
        return float("nan")
    import sys

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1 << 20) if sys.platform == "darwin" else peak / 1024.0


def whole_scales(domain: Domain2D) -> tuple[np.ndarray, float]:
    """The whole domain's tolerances that every tile uses: ``(corners (K, 2), point_tol)``.

    ``corners`` give the unit scales (:func:`regionscope.compute.evaluator`), and
    ``point_tol = point_rtol * diameter`` is the distance within which two
    vertices are one, both as when the whole domain is one partition.

    >>> import regionscope as rs
    >>> corners, point_tol = whole_scales(rs.Box(-3.0, 3.0, -4.0, 4.0))
    >>> corners.tolist(), point_tol
    ([[-3.0, -4.0], [3.0, -4.0], [3.0, 4.0], [-3.0, 4.0]], 1e-11)
    """
    from regionscope.tolerances import get_tolerance

    corners = np.array(domain.polygon, dtype=np.float64)
    return corners, float(get_tolerance().point_rtol * domain.diameter)


def tile_tolerance(tile: Domain2D, point_tol: float) -> Any:
    """A :func:`~regionscope.tolerances.tolerance` block in which ``tile`` snaps points by
    ``point_tol`` (the whole domain's): ``point_rtol * tile.diameter == point_tol``.

    The relative tolerance is chosen among the floats next to
    ``point_tol / tile.diameter`` so that the product is ``point_tol`` itself
    where one of them gives it (the tile then decides like the whole domain, to
    the last bit).  Raises ``ValueError`` when the tile is not larger than
    ``point_tol`` (tiles that small cannot be told from a point).

    >>> import regionscope as rs
    >>> from regionscope.tolerances import get_tolerance
    >>> tile = rs.Box(0.0, 0.3, 0.0, 0.1)
    >>> with tile_tolerance(tile, 1e-11):
    ...     get_tolerance().point_rtol * tile.diameter
    1e-11
    """
    from regionscope.tolerances import tolerance

    diameter = float(tile.diameter)
    if not point_tol < diameter:
        raise ValueError(
            f"a tile of diameter {diameter:g} is not larger than the point tolerance "
            f"{point_tol:g} of the whole domain: use fewer tiles"
        )
    rtol = point_tol / diameter
    candidates = [rtol]
    up = down = rtol
    for _ in range(4):
        up, down = float(np.nextafter(up, np.inf)), float(np.nextafter(down, -np.inf))
        candidates += [up, down]
    exact = [r for r in candidates if r * diameter == point_tol]
    return tolerance(point_rtol=exact[0] if exact else rtol)


def tile_partition(arrays: dict[str, np.ndarray]) -> Any:
    """A tile's :class:`~regionscope.Partition` from its file's arrays, deciding signs with
    the whole domain's unit scales (:data:`SCALE_KEYS`; a file without them keeps the
    tile's own)."""
    from regionscope import compute
    from regionscope.partitions import Partition, from_arrays

    part = from_arrays(arrays)
    if SCALE_KEYS[0] not in arrays:
        return part
    ev = compute.evaluator(part.domain, part.program, np.asarray(arrays[SCALE_KEYS[0]]))
    return Partition(part.domain, part.mesh, ev, part.timings)


def _partition(model: Any, tile: Domain2D, corners: np.ndarray, max_regions: int) -> Any:
    """The tile's partition (:func:`regionscope.partition`), with the whole domain's
    unit scales."""
    from regionscope.partitions import partition

    return partition(model, tile, progress=False, max_regions=max_regions, scale_corners=corners)


def compute_tile(
    model: Any,
    tile: Domain2D,
    ij: tuple[int, int],
    xs: np.ndarray,
    ys: np.ndarray,
    scales: tuple[np.ndarray, float],
    max_regions: int,
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Partition one tile and read its border (the task run by a worker).

    The tile decides every sign and snaps every point with the whole
    domain's tolerances, ``scales = (corners, point_tol)`` of
    :func:`whole_scales`, so it cuts exactly as the partition of the whole
    domain does inside the tile.

    Returns ``(summary, arrays)``: :func:`tile_summary` with ``seconds``
    (the partition's wall time), ``cpu_seconds`` (the process's CPU time for
    the partition and the summary), ``peak_rss_mb`` (the worker's peak memory
    during this tile, where the system can tell) and ``pid`` added, and the tile's partition as
    :meth:`~regionscope.Partition.to_arrays` (an ordinary partition file)
    with the whole domain's tolerances added (:data:`SCALE_KEYS`, read by
    :func:`tile_partition`).
    """
    import os

    corners, point_tol = scales
    reset_peak_rss()
    t0, c0 = time.perf_counter(), time.process_time()
    with tile_tolerance(tile, point_tol):
        part = _partition(model, tile, corners, max_regions)
        seconds = time.perf_counter() - t0
        summary = tile_summary(part, ij, xs, ys, point_tol, corners)
    summary["seconds"] = np.array(seconds)
    summary["cpu_seconds"] = np.array(time.process_time() - c0)
    summary["peak_rss_mb"] = np.array(peak_rss_mb())
    summary["pid"] = np.array(os.getpid(), dtype=np.int64)
    arrays = dict(part.to_arrays())
    arrays[SCALE_KEYS[0]] = np.asarray(corners, dtype=np.float64)
    arrays[SCALE_KEYS[1]] = np.array(point_tol, dtype=np.float64)
    return summary, arrays
