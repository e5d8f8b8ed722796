"""The :class:`Mesh`: a subdivision of a convex polygon into convex regions, as flat arrays.

``vertices (V, 2) float64``
    domain coordinates;
``region_vertices (I,) int64`` and ``region_offsets (F+1,) int64``
    the ragged array of each region's corners, counter-clockwise; every
    vertex on a region's boundary is listed (a vertex in the middle of a side
    of one region may be a corner of its neighbour).  Index ``i`` into
    ``region_vertices`` is an *incidence*;
``incidence_source (I,) int64``
    for incidence ``i`` of region ``f``, what made the side from that corner
    to the next: ``layer << 32 | unit`` (:func:`encode_source`), or ``-1`` for
    the domain boundary.

A mesh never changes: its arrays are read-only, and derived arrays (sizes,
next incidence, edges, areas, centroids) are computed once and cached,
read-only too.

Examples
--------
>>> import numpy as np
>>> mesh = Mesh.from_polygon(np.array([[0.0, 0.0], [2.0, 0.0], [2.0, 1.0], [0.0, 1.0]]))
>>> mesh.num_regions, mesh.areas.tolist(), mesh.incidence_next.tolist()
(1, [2.0], [1, 2, 3, 0])
>>> mesh.edge_vertices.tolist()
[[0, 1], [0, 3], [1, 2], [2, 3]]
"""

from __future__ import annotations

import dataclasses
import functools

import numpy as np

from .arrays import changes, frozen, read_only

__all__ = ["Mesh", "encode_source", "decode_source", "BOUNDARY"]

_UNIT_BITS = 32
#: source code of the sides on the domain boundary
BOUNDARY = -1


def encode_source(layer: int | np.ndarray, unit: int | np.ndarray) -> np.ndarray:
    """Edge-source code ``layer << 32 | unit`` (int64).

    >>> decode_source(encode_source(3, np.array([0, 7])))
    (array([3, 3]), array([0, 7]))
    """
    return (np.asarray(layer, dtype=np.int64) << _UNIT_BITS) | np.asarray(unit, dtype=np.int64)


def decode_source(code: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(layer, unit)`` of edge-source codes; ``(-1, -1)`` for the domain boundary."""
    code = np.asarray(code, dtype=np.int64)
    boundary = code < 0
    layer = np.where(boundary, -1, code >> _UNIT_BITS)
    unit = np.where(boundary, -1, code & ((1 << _UNIT_BITS) - 1))
    return layer, unit


@functools.lru_cache(maxsize=16)
def _one_region(k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The region arrays of a mesh with one region of ``k`` corners, read-only."""
    return (
        read_only(np.arange(k, dtype=np.int64)),
        read_only(np.array([0, k], dtype=np.int64)),
        read_only(np.full(k, BOUNDARY, dtype=np.int64)),
    )


@dataclasses.dataclass(frozen=True, eq=False)
class Mesh:
    """A convex subdivision as flat arrays (see the module docstring)."""

    vertices: np.ndarray
    region_vertices: np.ndarray
    region_offsets: np.ndarray
    incidence_source: np.ndarray
    #: number of leading vertices that are corners of the domain (never removed)
    num_corners: int

    def __post_init__(self) -> None:
        for arr in (
            self.vertices,
            self.region_vertices,
            self.region_offsets,
            self.incidence_source,
        ):
            arr.setflags(write=False)

    @classmethod
    def from_polygon(cls, polygon: np.ndarray) -> Mesh:
        """The mesh with one region: a convex polygon ``(K, 2)``, counter-clockwise.

        A read-only float64 ``polygon`` (a domain's) is its vertices as it is
        (:func:`~regionscope.geometry.arrays.frozen`); any other is copied.  The one
        region's arrays are shared by every such mesh of ``K`` corners (all read-only).
        """
        vertices = frozen(polygon)
        k = len(vertices)
        region_vertices, region_offsets, incidence_source = _one_region(k)
        return cls(vertices, region_vertices, region_offsets, incidence_source, k)

    @property
    def num_regions(self) -> int:
        return len(self.region_offsets) - 1

    @property
    def num_vertices(self) -> int:
        return len(self.vertices)

    @property
    def region_starts(self) -> np.ndarray:
        """``(F,) int64`` first incidence of each region."""
        return self.region_offsets[:-1]

    @functools.cached_property
    def sizes(self) -> np.ndarray:
        """``(F,) int64`` number of corners of each region."""
        return read_only(np.diff(self.region_offsets))

    @functools.cached_property
    def incidence_region(self) -> np.ndarray:
        """``(I,) int64`` region of each incidence."""
        return read_only(np.repeat(np.arange(self.num_regions, dtype=np.int64), self.sizes))

    @functools.cached_property
    def incidence_next(self) -> np.ndarray:
        """``(I,) int64`` the next incidence around the same region."""
        nxt = np.arange(1, len(self.region_vertices) + 1, dtype=np.int64)
        nxt[self.region_offsets[1:] - 1] = self.region_offsets[:-1]
        return read_only(nxt)

    @functools.cached_property
    def incidence_prev(self) -> np.ndarray:
        """``(I,) int64`` the previous incidence around the same region."""
        prv = np.empty_like(self.incidence_next)
        prv[self.incidence_next] = np.arange(len(prv))
        return read_only(prv)

    @functools.cached_property
    def side_keys(self) -> np.ndarray:
        """``(I,) int64`` key of the undirected side leaving each incidence: ``lo * V + hi``."""
        a = self.region_vertices
        b = a[self.incidence_next]
        return read_only(np.minimum(a, b) * np.int64(self.num_vertices) + np.maximum(a, b))

    def _local_corners(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Corners ``p`` and next corners ``q`` relative to each region's first corner."""
        base = self.vertices[self.region_vertices[self.region_starts]]
        shift = np.repeat(base, self.sizes, axis=0)
        p = self.vertices[self.region_vertices] - shift
        q = self.vertices[self.region_vertices[self.incidence_next]] - shift
        return p, q, base

    @functools.cached_property
    def areas(self) -> np.ndarray:
        """``(F,) float64`` region areas: the shoelace relative to each region's first corner.

        Relative coordinates keep the sum accurate wherever the domain sits.
        """
        if len(self.region_vertices) == 0:
            return read_only(np.zeros(0))
        p, q, _ = self._local_corners()
        cross = p[:, 0] * q[:, 1] - p[:, 1] * q[:, 0]
        return read_only(0.5 * np.add.reduceat(cross, self.region_starts))

    @functools.cached_property
    def centroids(self) -> np.ndarray:
        """``(F, 2) float64`` area centroids (interior points of convex regions)."""
        p, q, base = self._local_corners()
        cross = p[:, 0] * q[:, 1] - p[:, 1] * q[:, 0]
        starts = self.region_starts
        a = np.add.reduceat(cross, starts)
        cx = np.add.reduceat((p[:, 0] + q[:, 0]) * cross, starts)
        cy = np.add.reduceat((p[:, 1] + q[:, 1]) * cross, starts)
        with np.errstate(invalid="ignore", divide="ignore"):
            c = np.stack([cx, cy], axis=1) / (3.0 * a[:, None])
        # the vertex mean where the area vanishes (never for valid meshes)
        bad = ~np.isfinite(c).all(axis=1)
        if bad.any():
            mean = np.add.reduceat(p, starts, axis=0) / self.sizes[:, None]
            c[bad] = mean[bad]
        return read_only(c + base)

    @functools.cached_property
    def _edges(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        a = self.region_vertices
        b = a[self.incidence_next]
        key = self.side_keys
        order = key.argsort(kind="stable")
        starts = changes(key[order]).nonzero()[0]
        first = order[starts]
        ev = np.stack([np.minimum(a, b)[first], np.maximum(a, b)[first]], axis=1)
        src = self.incidence_source[first]
        regions = np.full((len(starts), 2), -1, dtype=np.int64)
        inc_region = self.incidence_region[order]
        regions[:, 0] = inc_region[starts]
        counts = np.diff(np.append(starts, len(key)))
        two = counts > 1
        regions[two, 1] = inc_region[starts[two] + 1]
        return read_only(ev), read_only(src), read_only(regions)

    @property
    def edge_vertices(self) -> np.ndarray:
        """``(E, 2) int64`` undirected edges, smaller vertex first, sorted."""
        return self._edges[0]

    @property
    def edge_source(self) -> np.ndarray:
        """``(E,) int64`` source code of each edge."""
        return self._edges[1]

    @property
    def edge_regions(self) -> np.ndarray:
        """``(E, 2) int64`` the regions on either side of each edge (``-1`` outside)."""
        return self._edges[2]
