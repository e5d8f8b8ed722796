"""Join the partitions of the tiles into the partition of the whole domain.

Every region of a tile is a *piece* ``(tile, region)``.  A region of the
whole domain is convex, so it meets each tile in at most one piece; pieces of
neighbouring tiles that share a stretch of the border between them, with
equal patterns, are pieces of one region (union-find over the tiles).

The border vertices of the tiles that coincide (within the point tolerance)
are grouped into *border points*; consecutive border points along an inner
line bound an *elementary interval*, which has one piece on each side.  Equal
pattern keys (:meth:`~regionscope.Partition.pattern_keys`) propose a join,
equal full patterns confirm it.  An interval whose two sides stay apart is
an edge of the whole partition lying along the border (its layer and unit
are the first entry where the two patterns differ).

Counts of the whole partition follow without ever holding its mesh:

* regions: the number of components;
* vertices: those of each tile off its boundary, plus the border points
  where at least three edges meet (inner edges of the tiles, sides of the
  domain, and intervals that are edges), or that are corners of the domain;
* edges: from Euler's formula for a subdivided disk, ``E = V + F - 1``.

Areas add up, centroids are area-weighted means of the pieces' centroids.

Examples
--------
>>> import regionscope as rs
>>> from regionscope.scale.grid import tile_borders, tile_domains, tile_summary
>>> net = rs.Sequential(rs.Linear([[1.0, 1.0]], [-0.5]), rs.ReLU())
>>> xs, ys = tile_borders(rs.Box(1.0), 2)
>>> tiles = tile_domains(rs.Box(1.0), xs, ys)
>>> sums = [tile_summary(rs.partition(net, t), ij, xs, ys, 1e-12) for ij, t in tiles]
>>> s = stitch(sums, rs.Box(1.0).polygon, 1e-12)
>>> whole = rs.partition(net, rs.Box(1.0))
>>> (s.num_regions, s.num_vertices, s.num_edges) == (
...     whole.num_regions, whole.num_vertices, whole.num_edges)
True
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

from regionscope.geometry.arrays import components, exclusive_cumsum, expand, lexsort2
from regionscope.tolerances import get_budget

__all__ = ["Stitched", "stitch", "first_difference", "border_points"]


@dataclasses.dataclass
class Stitched:
    """The whole partition's tables, from the tiles' summaries (see the module docstring).

    Attributes
    ----------
    labels : (N,) int64
        Global region of every piece; the pieces of tile ``t`` (in the order
        of the summaries) are ``labels[piece_offsets[t]:piece_offsets[t+1]]``.
    piece_offsets : (T+1,) int64
    num_regions, num_vertices, num_edges : int
    areas : (F,) float64
    centroids : (F, 2) float64
    num_pieces : (F,) int64
        Number of tiles each region meets.
    representative : (F,) int64
        The largest piece of each region (an index into ``labels``).
    bv_point : (B,) int64
        Border point of every border vertex of every tile (tile ``t``'s are
        ``bv_offsets[t]:bv_offsets[t+1]``).
    bv_offsets : (T+1,) int64
    point_xy : (C, 2) float64
        Coordinates of each border point (those of its first vertex).
    point_is_vertex : (C,) bool
        Whether the border point is a vertex of the whole partition.
    edge_points : (Q, 2) int64
        Border points at the ends of each elementary interval that is an edge
        of the whole partition between two regions.
    edge_layer, edge_unit : (Q,) int64
        The first layer and unit where the patterns on its two sides differ.
    collisions : int
        Neighbouring pieces with equal keys but different patterns (kept apart).
    """

    labels: np.ndarray
    piece_offsets: np.ndarray
    num_regions: int
    num_vertices: int
    num_edges: int
    areas: np.ndarray
    centroids: np.ndarray
    num_pieces: np.ndarray
    representative: np.ndarray
    bv_point: np.ndarray
    bv_offsets: np.ndarray
    point_xy: np.ndarray
    point_is_vertex: np.ndarray
    edge_points: np.ndarray
    edge_layer: np.ndarray
    edge_unit: np.ndarray
    collisions: int


def _cat(summaries: Sequence[dict[str, np.ndarray]], key: str) -> np.ndarray:
    return np.concatenate([np.asarray(s[key]) for s in summaries])


def border_points(
    xy: np.ndarray, vline: np.ndarray, hline: np.ndarray, tol: float
) -> tuple[np.ndarray, int]:
    """Border point ``(B,)`` of each border vertex: the same point within ``tol`` on a line."""
    a_all, b_all = [], []
    for line, along in ((vline, xy[:, 1]), (hline, xy[:, 0])):
        idx = np.flatnonzero(line >= 0)
        order = idx[lexsort2(along[idx], line[idx])]
        close = (line[order][1:] == line[order][:-1]) & (np.abs(np.diff(along[order])) <= tol)
        a_all.append(order[:-1][close])
        b_all.append(order[1:][close])
    label = components(len(xy), np.concatenate(a_all), np.concatenate(b_all))
    _, point = np.unique(label, return_inverse=True)
    return point.reshape(-1).astype(np.int64), int(point.max()) + 1 if len(point) else 0


def _point_lines(
    point: np.ndarray, num_points: int, line: np.ndarray, along: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Border points on the inner lines of one direction, in order along each line.

    Returns ``rank (C,)`` (position of each point along its line, -1 if on
    none), ``ordered (P,)`` (the points, line by line, in order) and
    ``line_start (L+1,)`` where each line's points begin in ``ordered``
    (lines are numbered by their index; empty lines have no points).
    """
    pl = np.full(num_points, -1, dtype=np.int64)
    pa = np.zeros(num_points)
    on = line >= 0
    pl[point[on]] = line[on]
    pa[point[on]] = along[on]
    idx = np.flatnonzero(pl >= 0)
    ordered = idx[lexsort2(pa[idx], pl[idx])]
    nlines = int(pl.max()) + 2 if len(idx) else 1
    counts = np.bincount(pl[ordered], minlength=nlines)
    start = np.concatenate([[0], np.cumsum(counts)])
    rank = np.full(num_points, -1, dtype=np.int64)
    rank[ordered] = np.arange(len(ordered)) - start[pl[ordered]]
    return rank, ordered, start


def first_difference(
    patterns: dict[str, np.ndarray], rows_a: np.ndarray, rows_b: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """First ``(layer, unit)`` where the patterns of row pairs differ (``-1`` where equal).

    ``patterns`` maps ``"pattern/<layer>"`` to ``(R, k)`` arrays and ``"bits/<layer>"`` to
    on/off patterns packed 8 units a byte (:func:`~regionscope.scale.grid.pattern_rows`).
    Row pairs are compared in blocks within the memory budget.

    >>> pats = {"pattern/1": np.array([[1, 0], [1, 1]]), "pattern/3": np.array([[2], [0]])}
    >>> first_difference(pats, np.array([0, 0]), np.array([1, 0]))
    (array([ 1, -1]), array([ 1, -1]))
    >>> bits = {"bits/2": np.packbits(np.eye(10, dtype=bool)[[3, 9]], axis=1)}
    >>> first_difference(bits, np.array([0, 0]), np.array([1, 0]))
    (array([ 2, -1]), array([ 3, -1]))
    """
    layer = np.full(len(rows_a), -1, dtype=np.int64)
    unit = np.full(len(rows_a), -1, dtype=np.int64)
    for name in sorted(patterns, key=lambda n: int(n.split("/")[1])):
        p = patterns[name]
        width = max(1, int(np.prod(p.shape[1:])))
        step = max(1, get_budget().chunk_values // width)
        for s in range(0, len(rows_a), step):
            a, b = p[rows_a[s : s + step]], p[rows_b[s : s + step]]
            if name.startswith("bits/"):
                diff = a ^ b  # the first differing byte, then its first differing bit
            else:
                diff = (a != b).reshape(len(a), width)
            new = (layer[s : s + step] < 0) & diff.any(axis=1)
            found = diff[new]
            first = (found != 0).argmax(axis=1)
            if name.startswith("bits/"):
                byte = found[np.arange(len(found)), first].astype(np.int64)
                first = 8 * first + 8 - _BIT_LENGTH[byte]
            layer[s : s + step][new] = int(name.split("/")[1])
            unit[s : s + step][new] = first
    return layer, unit


#: the bit length of each byte value (the position of its highest set bit, plus one)
_BIT_LENGTH = np.array([int(v).bit_length() for v in range(256)], dtype=np.int64)


def _intervals(
    summaries: Sequence[dict[str, np.ndarray]],
    point: np.ndarray,
    bv_base: np.ndarray,
    piece_base: np.ndarray,
    ranks: tuple[np.ndarray, np.ndarray],
    starts: tuple[np.ndarray, np.ndarray],
) -> tuple[np.ndarray, np.ndarray]:
    """Piece on each side ``(Q, 2)`` (-1: none) of every elementary interval, and its line.

    Intervals are numbered line by line, vertical lines first; interval ``q``
    lies between the points of rank ``r`` and ``r + 1`` on its line.
    Returns ``(sides (Q, 2), first_interval (2, L+1))``.
    """
    nint = [np.maximum(np.diff(s) - 1, 0) for s in starts]
    first = [exclusive_cumsum(n) for n in nint]
    offset_h = int(nint[0].sum())
    sides = np.full((offset_h + int(nint[1].sum()), 2), -1, dtype=np.int64)
    for t, s in enumerate(summaries):
        ends = np.asarray(s["bs_ends"], dtype=np.int64).reshape(-1, 2) + bv_base[t]
        if not len(ends):
            continue
        axis = np.asarray(s["bs_axis"], dtype=np.int64)
        line = np.asarray(s["bs_line"], dtype=np.int64)
        region = np.asarray(s["bs_region"], dtype=np.int64) + piece_base[t]
        ij = np.asarray(s["ij"])
        r = np.where(axis[:, None] == 0, ranks[0][point[ends]], ranks[1][point[ends]])  # (S, 2)
        lo, hi = r.min(axis=1), r.max(axis=1)
        side = np.where(axis == 0, ij[0] == line, ij[1] == line).astype(np.int64)
        base = np.where(
            axis == 0,
            first[0][np.minimum(line, len(first[0]) - 1)],
            offset_h + first[1][np.minimum(line, len(first[1]) - 1)],
        )
        own, k = expand(np.maximum(hi - lo, 0))
        sides[base[own] + lo[own] + k, side[own]] = region[own]
    line_first = np.zeros((2, max(len(first[0]), len(first[1])) + 1), dtype=np.int64)
    line_first[0, : len(first[0])] = first[0]
    line_first[1, : len(first[1])] = offset_h + first[1]
    return sides, line_first


def _border_patterns(
    summaries: Sequence[dict[str, np.ndarray]], piece_base: np.ndarray
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """The pieces on inner borders ``(R,)`` (sorted) and their patterns by layer."""
    border = np.concatenate(
        [
            np.asarray(s["border_regions"], dtype=np.int64) + piece_base[t]
            for t, s in enumerate(summaries)
        ]
    )
    names = [k for k in summaries[0] if k.startswith(("pattern/", "bits/"))]
    return border, {n: _cat(summaries, n) for n in names}


def _joins(
    pairs: np.ndarray, keys: np.ndarray, border: np.ndarray, patterns: dict[str, np.ndarray]
) -> tuple[np.ndarray, int]:
    """Which neighbouring pairs ``(P, 2)`` of pieces are one region: equal keys and patterns."""
    same_key = keys[pairs[:, 0]] == keys[pairs[:, 1]]
    layer, _ = first_difference(
        patterns, np.searchsorted(border, pairs[:, 0]), np.searchsorted(border, pairs[:, 1])
    )
    same = same_key & (layer < 0)
    return same, int((same_key & ~same).sum())


def stitch(
    summaries: Sequence[dict[str, np.ndarray]], domain_corners: np.ndarray, tol: float
) -> Stitched:
    """Join tile summaries (:func:`~regionscope.scale.grid.tile_summary`) into global tables.

    Parameters
    ----------
    summaries : sequence of dict
        One per tile, in any fixed order (pieces are numbered in it).
    domain_corners : (K, 2) float64
        Corners of the whole domain (always vertices).
    tol : float
        Border vertices of neighbouring tiles closer than this along a line
        are the same point.

    Returns
    -------
    Stitched
    """
    sizes = np.array([int(s["num_regions"]) for s in summaries], dtype=np.int64)
    piece_base = exclusive_cumsum(sizes)
    n_pieces = int(sizes.sum())
    bsizes = np.array([len(s["bv_vertex"]) for s in summaries], dtype=np.int64)
    bv_base = exclusive_cumsum(bsizes)
    xy = _cat(summaries, "bv_xy").reshape(-1, 2)
    vline, hline = _cat(summaries, "bv_vline"), _cat(summaries, "bv_hline")
    point, n_points = border_points(xy, vline, hline, tol)
    rank_v, ordered_v, start_v = _point_lines(point, n_points, vline, xy[:, 1])
    rank_h, ordered_h, start_h = _point_lines(point, n_points, hline, xy[:, 0])
    sides, line_first = _intervals(
        summaries, point, bv_base, piece_base, (rank_v, rank_h), (start_v, start_h)
    )
    keys = np.zeros(n_pieces, dtype=np.uint64)  # the pieces on inner borders have keys
    both = (sides >= 0).all(axis=1)
    pairs = np.unique(sides[both], axis=0).reshape(-1, 2)
    border, patterns = _border_patterns(summaries, piece_base)
    keys[border] = _cat(summaries, "border_keys").astype(np.uint64)
    same, collisions = _joins(pairs, keys, border, patterns)
    root = components(n_pieces, pairs[same, 0], pairs[same, 1])
    _, labels = np.unique(root, return_inverse=True)
    labels = labels.reshape(-1).astype(np.int64)
    num_regions = int(labels.max()) + 1 if n_pieces else 0
    areas_p = _cat(summaries, "areas")
    cent_p = _cat(summaries, "centroids").reshape(-1, 2)
    areas = np.bincount(labels, weights=areas_p, minlength=num_regions)
    centroids = np.stack(
        [
            np.bincount(labels, weights=areas_p * cent_p[:, c], minlength=num_regions) / areas
            for c in range(2)
        ],
        axis=1,
    )
    order = lexsort2(-areas_p, labels)
    representative = order[np.flatnonzero(np.diff(labels[order], prepend=-1) != 0)]
    # edges of the whole partition along the borders
    lab = np.where(sides >= 0, labels[np.maximum(sides, 0)], -1)
    is_edge = ~both | (lab[:, 0] != lab[:, 1])
    ends = _interval_ends(len(sides), line_first, (ordered_v, ordered_h), (start_v, start_h))
    degree = np.bincount(
        point,
        weights=_cat(summaries, "bv_inner_degree") + _cat(summaries, "bv_outer_degree"),
        minlength=n_points,
    )
    degree += np.bincount(ends[is_edge].reshape(-1), minlength=n_points)
    corner = _near_any(xy, domain_corners, tol)
    is_vertex = (degree >= 3) | (np.bincount(point[corner], minlength=n_points) > 0)
    first_vertex = np.full(n_points, len(point), dtype=np.int64)
    np.minimum.at(first_vertex, point, np.arange(len(point)))
    real = both & is_edge
    elayer, eunit = first_difference(
        patterns, np.searchsorted(border, sides[real, 0]), np.searchsorted(border, sides[real, 1])
    )
    num_vertices = int(sum(int(s["inner_vertices"]) for s in summaries) + is_vertex.sum())
    return Stitched(
        labels=labels,
        piece_offsets=np.concatenate([piece_base, [n_pieces]]),
        num_regions=num_regions,
        num_vertices=num_vertices,
        num_edges=num_vertices + num_regions - 1,
        areas=areas,
        centroids=centroids,
        num_pieces=np.bincount(labels, minlength=num_regions),
        representative=representative,
        bv_point=point,
        bv_offsets=np.concatenate([bv_base, [len(point)]]),
        point_xy=xy[first_vertex] if n_points else np.zeros((0, 2)),
        point_is_vertex=is_vertex,
        edge_points=ends[real],
        edge_layer=elayer,
        edge_unit=eunit,
        collisions=collisions,
    )


def _interval_ends(
    n: int,
    line_first: np.ndarray,
    ordered: tuple[np.ndarray, np.ndarray],
    starts: tuple[np.ndarray, np.ndarray],
) -> np.ndarray:
    """The two border points ``(Q, 2)`` at the ends of every elementary interval."""
    ends = np.zeros((n, 2), dtype=np.int64)
    for axis in (0, 1):
        start = starts[axis]
        for line in range(len(start) - 1):
            pts = ordered[axis][start[line] : start[line + 1]]
            if len(pts) < 2:
                continue
            q0 = line_first[axis, line]
            ends[q0 : q0 + len(pts) - 1, 0] = pts[:-1]
            ends[q0 : q0 + len(pts) - 1, 1] = pts[1:]
    return ends


def _near_any(xy: np.ndarray, corners: np.ndarray, tol: float) -> np.ndarray:
    """``(B,) bool``: points within ``tol`` (each coordinate) of one of the corners."""
    close = np.abs(xy[:, None, :] - np.asarray(corners)[None, :, :]) <= tol
    return close.all(axis=2).any(axis=1)
