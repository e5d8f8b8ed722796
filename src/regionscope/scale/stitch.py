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
import functools
import os
from collections import OrderedDict
from collections.abc import Callable, Sequence

import numpy as np

from regionscope.geometry.arrays import components, exclusive_cumsum, expand, lexsort2
from regionscope.tolerances import get_budget

__all__ = [
    "Stitched",
    "stitch",
    "first_difference",
    "pair_differences",
    "border_points",
    "REGION_FILES",
]


@dataclasses.dataclass
class Stitched:
    """The whole partition's tables, from the tiles' summaries (see the module docstring).

    Pieces are numbered tile after tile (tile ``t``'s are
    ``piece_offsets[t]:piece_offsets[t+1]``).  Regions are numbered by their
    first piece: a region whose pieces are all in one tile is that piece, and
    only the pieces on inner borders (``border_pieces``) may be pieces of a
    larger region.  So everything kept here grows with the border pieces, not
    with the regions, except ``areas`` and ``centroids`` (which may be arrays
    memory-mapped from files, :func:`stitch`'s ``directory``).

    Attributes
    ----------
    piece_offsets : (T+1,) int64
    border_pieces : (R,) int64
        The pieces on inner borders, sorted.
    border_labels : (R,) int64
        The region of each.
    later_pieces : (N,) int64
        The pieces (sorted) that are not the first piece of their region.
    num_regions, num_vertices, num_edges : int
    areas : (F,) float64
    centroids : (F, 2) float64
    multi_regions : (M,) int64
        The regions of more than one piece, sorted.
    multi_num_pieces : (M,) int64
        Number of pieces (tiles) of each.
    multi_representative : (M,) int64
        The largest piece of each.
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

    piece_offsets: np.ndarray
    border_pieces: np.ndarray
    border_labels: np.ndarray
    later_pieces: np.ndarray
    num_regions: int
    num_vertices: int
    num_edges: int
    areas: np.ndarray
    centroids: np.ndarray
    multi_regions: np.ndarray
    multi_num_pieces: np.ndarray
    multi_representative: np.ndarray
    bv_point: np.ndarray
    bv_offsets: np.ndarray
    point_xy: np.ndarray
    point_is_vertex: np.ndarray
    edge_points: np.ndarray
    edge_layer: np.ndarray
    edge_unit: np.ndarray
    collisions: int

    def first_piece(self, regions: np.ndarray) -> np.ndarray:
        """``(K,) int64``: the first piece of each region (the ``g``-th piece not in
        ``later_pieces``)."""
        g = np.asarray(regions, dtype=np.int64)
        shifted = self.later_pieces - np.arange(len(self.later_pieces))
        return g + np.searchsorted(shifted, g, side="right")

    def tile_labels(self, t: int) -> np.ndarray:
        """``(F_t,) int64``: the region of each piece of tile ``t`` (in the summaries' order)."""
        lo, hi = int(self.piece_offsets[t]), int(self.piece_offsets[t + 1])
        pieces = np.arange(lo, hi, dtype=np.int64)
        out = pieces - np.searchsorted(self.later_pieces, pieces)
        b0, b1 = np.searchsorted(self.border_pieces, [lo, hi])
        out[self.border_pieces[b0:b1] - lo] = self.border_labels[b0:b1]
        return out

    @property
    def labels(self) -> np.ndarray:
        """``(N,) int64``: the region of every piece (all tiles; as large as the pieces)."""
        return np.concatenate(
            [self.tile_labels(t) for t in range(len(self.piece_offsets) - 1)] or [np.zeros(0, int)]
        )

    @property
    def num_pieces(self) -> np.ndarray:
        """``(F,) int64``: number of tiles each region meets."""
        out = np.ones(self.num_regions, dtype=np.int64)
        out[self.multi_regions] = self.multi_num_pieces
        return out

    @property
    def representative(self) -> np.ndarray:
        """``(F,) int64``: the largest piece of each region."""
        out = self.first_piece(np.arange(self.num_regions))
        out[self.multi_regions] = self.multi_representative
        return out


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


def _tile_of(offsets: np.ndarray, pieces: np.ndarray) -> np.ndarray:
    return np.searchsorted(offsets, pieces, side="right") - 1


def pair_differences(
    pairs: np.ndarray,
    border: np.ndarray,
    border_offsets: np.ndarray,
    piece_offsets: np.ndarray,
    patterns: Callable[[int], dict[str, np.ndarray]],
    cache: int = 8,
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`first_difference` of piece pairs ``(P, 2)`` whose patterns are read tile by tile.

    ``patterns(t)`` gives the patterns of tile ``t``'s border pieces (rows in
    the order of ``border[border_offsets[t]:border_offsets[t+1]]``).  Pairs are
    taken tile pair by tile pair, with the patterns of the last ``cache``
    tiles kept, so memory holds a few tiles' border patterns, not all.
    """
    layer = np.full(len(pairs), -1, dtype=np.int64)
    unit = np.full(len(pairs), -1, dtype=np.int64)
    if not len(pairs):
        return layer, unit
    rows = np.searchsorted(border, pairs)  # (P, 2) index among the border pieces
    tiles = _tile_of(piece_offsets, pairs)
    local = rows - border_offsets[tiles]
    order = lexsort2(tiles[:, 1], tiles[:, 0])
    starts = np.flatnonzero(np.diff(tiles[order], axis=0).any(axis=1)) + 1
    kept: OrderedDict[int, dict[str, np.ndarray]] = OrderedDict()

    def read(t: int) -> dict[str, np.ndarray]:
        if t not in kept:
            kept[t] = patterns(t)
            while len(kept) > max(2, cache):
                kept.popitem(last=False)
        kept.move_to_end(t)
        return kept[t]

    for group in np.split(order, starts):
        ta, tb = int(tiles[group[0], 0]), int(tiles[group[0], 1])
        pa, pb = read(ta), read(tb)
        both = pa if ta == tb else {n: _stack(pa[n], pb[n]) for n in pa}
        shift = 0 if ta == tb else len(next(iter(pa.values()), ()))
        layer[group], unit[group] = first_difference(
            both, local[group, 0], local[group, 1] + shift
        )
    return layer, unit


def _stack(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    if a.shape[1:] != b.shape[1:]:
        raise ValueError(f"border patterns of two tiles differ in shape: {a.shape}, {b.shape}")
    return np.concatenate([a, b])


def _border_rows(summaries: Sequence[dict[str, np.ndarray]], t: int) -> dict[str, np.ndarray]:
    """The border patterns that a summary holds itself."""
    return {k: v for k, v in summaries[t].items() if k.startswith(("pattern/", "bits/"))}


def _pieces_tables(s: dict[str, np.ndarray], rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Areas and centroids of some pieces of a tile (its border pieces, by default)."""
    if "border_areas" in s:
        return np.asarray(s["border_areas"]), np.asarray(s["border_centroids"]).reshape(-1, 2)
    return np.asarray(s["areas"])[rows], np.asarray(s["centroids"]).reshape(-1, 2)[rows]


def _regions(
    n_pieces: int, border: np.ndarray, pairs: np.ndarray, same: np.ndarray
) -> tuple[np.ndarray, np.ndarray, int]:
    """Regions from the joined pairs: ``(border_labels (R,), later_pieces (N,), F)``.

    A region is numbered by its first piece (its smallest piece number);
    pieces off the borders are regions of their own.
    """
    a = np.searchsorted(border, pairs[same, 0])
    b = np.searchsorted(border, pairs[same, 1])
    first = border[components(len(border), a, b)]  # smallest piece of each one's region
    later = np.sort(border[first != border])
    labels = first - np.searchsorted(later, first)
    return labels, later, n_pieces - len(later)


def _multi(
    border: np.ndarray, labels: np.ndarray, areas_b: np.ndarray, cent_b: np.ndarray
) -> dict[str, np.ndarray]:
    """Regions of several pieces: their numbers, pieces, largest piece, area and centroid."""
    regions, inverse, counts = np.unique(labels, return_inverse=True, return_counts=True)
    inverse = inverse.reshape(-1)
    keep = counts > 1
    area = np.bincount(inverse, weights=areas_b, minlength=len(regions))
    moment = [np.bincount(inverse, weights=areas_b * cent_b[:, c], minlength=len(regions))
              for c in range(2)]  # fmt: skip
    order = lexsort2(-areas_b, inverse)
    largest = border[order[np.flatnonzero(np.diff(inverse[order], prepend=-1) != 0)]]
    return {
        "regions": regions[keep],
        "num_pieces": counts[keep].astype(np.int64),
        "representative": largest[keep],
        "areas": area[keep],
        "centroids": np.stack([m[keep] / area[keep] for m in moment], axis=1).reshape(-1, 2),
    }


class _Column:
    """A per-region array written in order, to a ``.npy`` file or to memory."""

    def __init__(self, path: str | None, n: int, tail: tuple[int, ...]) -> None:
        self.path, self.n, self.tail = path, n, tail
        self.parts: list[np.ndarray] = []
        self.fh = None
        if path is not None:  # written next to it, renamed when complete
            self.fh = open(f"{path}.{os.getpid()}.tmp", "wb")
            header = {"descr": "<f8", "fortran_order": False, "shape": (n, *tail)}
            np.lib.format.write_array_header_1_0(self.fh, header)

    def write(self, values: np.ndarray) -> None:
        values = np.ascontiguousarray(values, dtype="<f8")
        if self.fh is not None:
            self.fh.write(values.tobytes())
        else:
            self.parts.append(values)

    def discard(self) -> None:
        """Close and remove the unfinished file."""
        if self.fh is not None:
            self.fh.close()
            if os.path.exists(self.fh.name):
                os.remove(self.fh.name)

    def close(self) -> np.ndarray:
        if self.fh is not None:
            self.fh.close()
            os.replace(self.fh.name, self.path)
            return np.load(self.path, mmap_mode="r")
        return np.concatenate(self.parts or [np.zeros((0, *self.tail))]).reshape(-1, *self.tail)


#: the names of the per-region files that :func:`stitch` writes in its ``directory``
REGION_FILES = {"areas": "region_areas.npy", "centroids": "region_centroids.npy"}


def _region_tables(
    tables: Callable[[int], tuple[np.ndarray, np.ndarray]],
    piece_offsets: np.ndarray,
    later: np.ndarray,
    multi: dict[str, np.ndarray],
    num_regions: int,
    directory: str | None,
) -> tuple[np.ndarray, np.ndarray]:
    """Areas ``(F,)`` and centroids ``(F, 2)`` of the regions, written tile by tile."""
    paths = {k: None if directory is None else os.path.join(directory, v)
             for k, v in REGION_FILES.items()}  # fmt: skip
    areas, cents = (
        _Column(paths["areas"], num_regions, ()),
        _Column(paths["centroids"], num_regions, (2,)),
    )
    try:
        _write_regions(tables, piece_offsets, later, multi, (areas, cents))
    except BaseException:
        areas.discard()
        cents.discard()
        raise
    return areas.close(), cents.close()


def _write_regions(
    tables: Callable[[int], tuple[np.ndarray, np.ndarray]],
    piece_offsets: np.ndarray,
    later: np.ndarray,
    multi: dict[str, np.ndarray],
    columns: tuple[_Column, _Column],
) -> None:
    """The regions' areas and centroids in order, tile after tile: each tile's first pieces,
    with the totals of the regions of several pieces."""
    areas, cents = columns
    start = 0
    for t in range(len(piece_offsets) - 1):
        lo, hi = int(piece_offsets[t]), int(piece_offsets[t + 1])
        if hi == lo:
            continue
        a, c = tables(t)
        if len(a) != hi - lo:
            raise ValueError(f"tile {t}: {len(a)} areas for its {hi - lo} regions")
        l0, l1 = np.searchsorted(later, [lo, hi])
        first = np.ones(hi - lo, dtype=bool)
        first[later[l0:l1] - lo] = False
        a, c = np.asarray(a, dtype=np.float64)[first], np.asarray(c).reshape(-1, 2)[first]
        chunk_c = np.stack([(a * c[:, k]) / a for k in range(2)], axis=1)
        m0, m1 = np.searchsorted(multi["regions"], [start, start + len(a)])
        at = multi["regions"][m0:m1] - start
        a = a.copy()
        a[at] = multi["areas"][m0:m1]
        chunk_c[at] = multi["centroids"][m0:m1]
        areas.write(a)
        cents.write(chunk_c)
        start += len(a)


def _border_vertices(
    summaries: Sequence[dict[str, np.ndarray]],
    sides: np.ndarray,
    border: np.ndarray,
    labels_b: np.ndarray,
    pair_of: np.ndarray,
    point: np.ndarray,
    n_points: int,
    xy: np.ndarray,
    line_first: np.ndarray,
    ordered: tuple[np.ndarray, np.ndarray],
    starts: tuple[np.ndarray, np.ndarray],
    domain_corners: np.ndarray,
    tol: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The border points that are vertices, the first border vertex of each point, the
    ends ``(Q, 2)`` of the intervals, which intervals are edges between two regions, and the
    pair of pieces of each interval (``-1``: a side of the domain)."""
    both = (sides >= 0).all(axis=1)
    lab = np.full(sides.shape, -1, dtype=np.int64)
    lab[sides >= 0] = labels_b[np.searchsorted(border, sides[sides >= 0])]
    is_edge = ~both | (lab[:, 0] != lab[:, 1])
    ends = _interval_ends(len(sides), line_first, ordered, starts)
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
    real_pair = np.full(len(sides), -1, dtype=np.int64)
    real_pair[both] = pair_of
    return is_vertex, first_vertex, ends, both & is_edge, real_pair


def stitch(
    summaries: Sequence[dict[str, np.ndarray]],
    domain_corners: np.ndarray,
    tol: float,
    patterns: Callable[[int], dict[str, np.ndarray]] | None = None,
    tables: Callable[[int], tuple[np.ndarray, np.ndarray]] | None = None,
    directory: str | None = None,
    cache: int = 8,
) -> Stitched:
    """Join tile summaries (:func:`~regionscope.scale.grid.tile_summary`) into global tables.

    Parameters
    ----------
    summaries : sequence of dict
        One per tile, in any fixed order (pieces are numbered in it).  A
        summary may leave out its border patterns (given by ``patterns``) and
        its per-region ``areas`` and ``centroids`` (given by ``tables``; it
        then holds ``border_areas (R,)`` and ``border_centroids (R, 2)`` of its
        border regions).
    domain_corners : (K, 2) float64
        Corners of the whole domain (always vertices).
    tol : float
        Border vertices of neighbouring tiles closer than this along a line
        are the same point.
    patterns : callable, optional
        ``patterns(t)``: tile ``t``'s border patterns (``bits/<layer>``,
        ``pattern/<layer>``), e.g. read from its file; default: the summary's.
    tables : callable, optional
        ``tables(t)``: tile ``t``'s ``(areas (F_t,), centroids (F_t, 2))``;
        default: the summary's.
    directory : str, optional
        Write the regions' areas and centroids there (:data:`REGION_FILES`) and
        keep them memory-mapped, instead of in memory.
    cache : int
        The patterns of this many tiles are kept at once (the grid's width
        plus two reads each tile once).

    Returns
    -------
    Stitched
        Its tables grow with the pieces on borders and the border vertices
        (and the areas and centroids, in ``directory`` if given).
    """
    if patterns is None:
        patterns = functools.partial(_border_rows, summaries)
    if tables is None:

        def tables(t: int) -> tuple[np.ndarray, np.ndarray]:
            return summaries[t]["areas"], summaries[t]["centroids"]

    sizes = np.array([int(s["num_regions"]) for s in summaries], dtype=np.int64)
    piece_base = exclusive_cumsum(sizes)
    piece_offsets = np.concatenate([piece_base, [int(sizes.sum())]])
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
    border_local = [np.asarray(s["border_regions"], dtype=np.int64) for s in summaries]
    border = np.concatenate([b + piece_base[t] for t, b in enumerate(border_local)])
    border_offsets = exclusive_cumsum(np.array([len(b) for b in border_local], dtype=np.int64))
    keys = _cat(summaries, "border_keys").astype(np.uint64)
    both = (sides >= 0).all(axis=1)
    pairs, pair_of = np.unique(sides[both], axis=0, return_inverse=True)
    pairs, pair_of = pairs.reshape(-1, 2), pair_of.reshape(-1)
    layer, unit = pair_differences(pairs, border, border_offsets, piece_offsets, patterns, cache)
    key_a, key_b = (keys[np.searchsorted(border, pairs[:, c])] for c in range(2))
    same_key = key_a == key_b
    same = same_key & (layer < 0)
    collisions = int((same_key & ~same).sum())
    labels_b, later, num_regions = _regions(int(sizes.sum()), border, pairs, same)
    tables_b = [_pieces_tables(s, border_local[t]) for t, s in enumerate(summaries)]
    multi = _multi(
        border,
        labels_b,
        np.concatenate([a for a, _ in tables_b] or [np.zeros(0)]),
        np.concatenate([c for _, c in tables_b] or [np.zeros((0, 2))]).reshape(-1, 2),
    )
    del tables_b
    areas, centroids = _region_tables(tables, piece_offsets, later, multi, num_regions, directory)
    is_vertex, first_vertex, ends, real, real_pair = _border_vertices(
        summaries, sides, border, labels_b, pair_of, point, n_points, xy, line_first,
        (ordered_v, ordered_h), (start_v, start_h), domain_corners, tol,
    )  # fmt: skip
    num_vertices = int(sum(int(s["inner_vertices"]) for s in summaries) + is_vertex.sum())
    return Stitched(
        piece_offsets=piece_offsets,
        border_pieces=border,
        border_labels=labels_b,
        later_pieces=later,
        num_regions=num_regions,
        num_vertices=num_vertices,
        num_edges=num_vertices + num_regions - 1,
        areas=areas,
        centroids=centroids,
        multi_regions=multi["regions"],
        multi_num_pieces=multi["num_pieces"],
        multi_representative=multi["representative"],
        bv_point=point,
        bv_offsets=np.concatenate([bv_base, [len(point)]]),
        point_xy=xy[first_vertex] if n_points else np.zeros((0, 2)),
        point_is_vertex=is_vertex,
        edge_points=ends[real],
        edge_layer=layer[real_pair[real]],
        edge_unit=unit[real_pair[real]],
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
