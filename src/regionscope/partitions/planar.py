"""The 2-D :class:`Partition`: a mesh of convex regions and the network on each.

Examples
--------
>>> import regionscope as rs
>>> part = rs.Partition.start(rs.Box(1.0)).add(rs.Linear([[1.0, 0.0]]), rs.ReLU())
>>> part.num_regions, part.edge_layer.tolist()
(2, [-1, -1, -1, -1, -1, -1, 1])
"""

from __future__ import annotations

from typing import Any

import numpy as np

from regionscope import compute
from regionscope.checks import as_finite
from regionscope.domains import Box, Domain2D, SliceOf, coerce_domain
from regionscope.geometry import Mesh, cut, decode_source, encode_source
from regionscope.geometry.arrays import exclusive_cumsum, expand, read_only
from regionscope.geometry.line import polygon_spans
from regionscope.network.evaluate import Evaluator
from regionscope.network.layers import Argmax, Layer, Sequential
from regionscope.network.program import compile_model
from regionscope.tolerances import get_budget, get_tolerance

from .base import PartitionBase
from .maps import hilbert_order

__all__ = ["Partition"]


class Partition(PartitionBase):
    """A 2-D domain cut into activation regions.

    Build one with :func:`regionscope.partition`.  Arrays are read-only; a
    partition never changes (``add`` returns a new one), so indices into it
    stay valid.

    Attributes
    ----------
    domain : Domain2D
    vertices : (V, 2) float64
        Domain coordinates of the vertices.
    region_vertices : (I,) int64
    region_offsets : (F+1,) int64
        Region ``f`` has corners ``region_vertices[region_offsets[f]:region_offsets[f+1]]``,
        counter-clockwise.
    edges : (E, 2) int64
        Vertex pairs (smaller index first).
    edge_layer, edge_neuron : (E,) int64
        What made each edge: layer index and unit, ``-1`` for the domain boundary.
    stats : dict
        ``{"layer_seconds": {layer index: seconds}}``: time spent cutting by
        each piecewise layer; ``"chain_seconds"``: the time of the compiled
        chain of Linear and ReLU layers (:mod:`regionscope.compute.chain2d`),
        which does not time each layer.
    """

    def __init__(
        self,
        domain: Domain2D,
        mesh: Mesh,
        evaluator: Evaluator,
        stats: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(domain, evaluator, stats)
        self.mesh = mesh

    # -- construction ----------------------------------------------------------------

    @classmethod
    def start(cls, domain: Any = None) -> Partition:
        """The partition of a domain by the empty network (one region)."""
        dom = Box(1.0) if domain is None else coerce_domain(domain)
        if not isinstance(dom, Domain2D):
            raise TypeError("Partition.start needs a 2-D domain; use Partition1D.start")
        program = compile_model(Sequential(), dom.input_dim)
        return cls(dom, Mesh.from_polygon(dom.polygon), compute.evaluator(dom, program))

    def add(
        self,
        *layers: Layer,
        progress: bool | None = None,
        max_regions: int = compute.DEFAULT_MAX_REGIONS,
    ) -> Partition:
        """A new partition with ``layers`` applied after the current model.

        Layers already there keep their names (and indices).

        Examples
        --------
        >>> import regionscope as rs
        >>> part = rs.Partition.start(rs.Box(1.0))
        >>> part = part.add(rs.Linear([[1.0, 0.0]]), rs.ReLU())
        >>> part.num_regions
        2
        >>> part.add(rs.Linear([[1.0], [-1.0]], [0.0, 0.5]), rs.ReLU()).num_regions
        3
        """
        return self._cut_after(layers, progress, max_regions, None)

    def _cut_after(
        self,
        layers: tuple[Layer, ...],
        progress: bool | None,
        max_regions: int,
        start_input: np.ndarray | None,
    ) -> Partition:
        """:meth:`add`, the first new piecewise layer's input at the vertices given or not
        (``start_input``, :func:`regionscope.compute.cut_2d`)."""
        start, ev = self._extended(layers)
        mesh, seconds = compute.cut_2d(
            ev, self.domain, self.mesh, start, progress=progress, max_regions=max_regions,
            start_input=start_input,
        )  # fmt: skip
        before = dict(self.timings.get("layer_seconds", {}))
        stats = {**self.timings, "layer_seconds": {**before, **seconds}}
        return Partition(self.domain, mesh, ev, stats)

    # -- arrays ----------------------------------------------------------------------

    @property
    def vertices(self) -> np.ndarray:
        return self.mesh.vertices

    @property
    def region_vertices(self) -> np.ndarray:
        return self.mesh.region_vertices

    @property
    def region_offsets(self) -> np.ndarray:
        return self.mesh.region_offsets

    @property
    def num_regions(self) -> int:
        return self.mesh.num_regions

    @property
    def num_vertices(self) -> int:
        return self.mesh.num_vertices

    @property
    def edges(self) -> np.ndarray:
        return self.mesh.edge_vertices

    def _edge_sources(self) -> tuple[np.ndarray, np.ndarray]:
        if "edge_sources" not in self._cache:
            layer, unit = decode_source(self.mesh.edge_source)
            self._cache["edge_sources"] = (read_only(layer), read_only(unit))
        return self._cache["edge_sources"]

    @property
    def edge_layer(self) -> np.ndarray:
        return self._edge_sources()[0]

    @property
    def edge_neuron(self) -> np.ndarray:
        return self._edge_sources()[1]

    @property
    def edge_regions(self) -> np.ndarray:
        """``(E, 2) int64``: the regions on either side of each edge (``-1``: outside)."""
        return self.mesh.edge_regions

    @property
    def num_edges(self) -> int:
        return len(self.mesh.edge_vertices)

    def region_sizes(self) -> np.ndarray:
        """``(F,) int64`` number of corners of each region."""
        return self.mesh.sizes

    def polygon(self, region: int) -> np.ndarray:
        """Corners ``(k, 2)`` of one region, counter-clockwise."""
        f = int(region)
        if not 0 <= f < self.num_regions:
            raise ValueError(f"region must be in 0..{self.num_regions - 1}, got {region}")
        o = self.region_offsets
        return self.vertices[self.region_vertices[o[f] : o[f + 1]]]

    def areas(self) -> np.ndarray:
        """``(F,) float64`` area of each region (computed relative to its own corner)."""
        return self.mesh.areas

    def centroids(self) -> np.ndarray:
        """``(F, 2) float64`` centroid of each region (an interior point)."""
        return self.mesh.centroids

    def lift(self, u: Any) -> np.ndarray:
        """Network inputs ``(N, D)`` at domain points ``(N, 2)``."""
        return self.domain.lift(u)

    def _interior(self) -> np.ndarray:
        return self.centroids()

    def _walk(self, regions: np.ndarray) -> np.ndarray:
        """``regions`` in the order of their centroids along a Hilbert curve (positions)."""
        return hilbert_order(self.centroids()[regions])

    def _vertex_coords(self) -> np.ndarray:
        return self.vertices

    def _corners(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
        return self.vertices, self.region_vertices, self.region_offsets, self.mesh.incidence_source

    def _check_coords(self, points: Any) -> np.ndarray:
        pts = as_finite(points, "points")
        if pts.shape == (2,):
            pts = pts[None]
        if pts.ndim != 2 or pts.shape[1] != 2:
            raise ValueError(f"points must have shape (N, 2), got {pts.shape}")
        return pts

    def _contains(self, pts: np.ndarray) -> np.ndarray:
        return self.domain.contains(pts)

    def _sides(self) -> tuple[np.ndarray, ...]:
        """Every side's start ``(I, 2)``, direction ``(I, 2)`` and length ``(I,)``, each
        region's bounding box ``(F, 2)`` twice, and the distance that counts as on a side."""
        mesh = self.mesh
        a = mesh.vertices[mesh.region_vertices]
        d = mesh.vertices[mesh.region_vertices[mesh.incidence_next]] - a
        length = np.hypot(d[:, 0], d[:, 1])
        lo = np.minimum.reduceat(a, mesh.region_starts, axis=0)
        hi = np.maximum.reduceat(a, mesh.region_starts, axis=0)
        return a, d, length, lo, hi, get_tolerance().point_rtol * self.domain.diameter * 10

    def _locate_geometric(self, pts: np.ndarray) -> np.ndarray:
        """Containing region by half-plane tests, for points on boundaries."""
        mesh = self.mesh
        a, d, length, lo, hi, tol = self._sides()
        out = np.full(len(pts), -1, dtype=np.int64)
        for i, p in enumerate(pts):  # only points that lie on region boundaries get here
            cand = np.flatnonzero(((lo - tol) <= p).all(axis=1) & ((hi + tol) >= p).all(axis=1))
            if not len(cand):
                continue
            sizes = mesh.sizes[cand]
            own, k = expand(sizes)
            inc = mesh.region_offsets[cand][own] + k
            r = p - a[inc]
            cross = d[inc, 0] * r[:, 1] - d[inc, 1] * r[:, 0]
            worst = np.minimum.reduceat(cross / length[inc], exclusive_cumsum(sizes))
            out[i] = cand[int(np.argmax(worst))]
        return out

    def _locate_inside(self, pts: np.ndarray) -> np.ndarray:
        """The region each point lies inside by more than the snapping distance of every
        side (so also by its pattern), ``-1`` for points nearer a side: by the polygons,
        candidates from the regions' bounding boxes, blocks of points within the budget."""
        mesh = self.mesh
        a, d, length, lo, hi, tol = self._sides()
        out = np.full(len(pts), -1, dtype=np.int64)
        step = max(1, get_budget().chunk_values // max(len(lo), 1))
        for s in range(0, len(pts), step):
            p = pts[s : s + step]
            box = ((lo[None] - tol) <= p[:, None]).all(axis=2)
            point, region = np.nonzero(box & ((hi[None] + tol) >= p[:, None]).all(axis=2))
            if not len(point):
                continue
            sizes = mesh.sizes[region]
            own, k = expand(sizes)
            inc = mesh.region_offsets[region][own] + k
            r = p[point[own]] - a[inc]
            cross = d[inc, 0] * r[:, 1] - d[inc, 1] * r[:, 0]
            margin = np.minimum.reduceat(cross / length[inc], exclusive_cumsum(sizes))
            clear = margin > tol
            out[s + point[clear]] = region[clear]
        return out

    # -- queries ---------------------------------------------------------------------

    def decision_boundary(self) -> np.ndarray:
        """``(E,) bool``: the edges made by an :class:`~regionscope.network.layers.Argmax`."""
        argmax_layers = [op.index for op in self.program.ops if isinstance(op.layer, Argmax)]
        return np.isin(self.edge_layer, argmax_layers)

    @property
    def num_outputs(self) -> int:
        """The width of the network's output (``K`` logits of a classifier)."""
        return int(self.program.out_width)

    def _ends_in_argmax(self) -> bool:
        ops = self.program.ops
        return bool(ops) and isinstance(ops[-1].layer, Argmax)

    def with_decision(self, max_regions: int = compute.DEFAULT_MAX_REGIONS) -> Partition:
        """This partition with the classifier's decision cut in, exactly.

        A network with ``K > 1`` outputs decides for the largest: the decision
        boundary is where the largest changes, and it crosses regions.  This
        adds an :class:`~regionscope.network.layers.Argmax` after the network
        (its output is its input, so affine maps still describe the logits):
        each region of the result has one class (:meth:`classes`).  A network
        that ends in an Argmax already, or has one output (whose zero set is
        its decision, :meth:`decision_segments`), is returned as it is.  The
        result is computed once and kept.

        Examples
        --------
        >>> import regionscope as rs
        >>> net = rs.Sequential(rs.Linear([[1.0, 0.0], [0.0, 1.0]]))   # two logits
        >>> part = rs.partition(net, rs.Box(1.0))
        >>> part.num_regions, part.with_decision().num_regions
        (1, 2)
        >>> sorted(part.with_decision().classes().tolist())
        [0, 1]
        """
        if self._ends_in_argmax() or self.num_outputs == 1:
            return self
        cached = getattr(self, "_with_decision", None)
        if cached is None:
            # the logits at the vertices from the regions' maps, not a forward pass
            logits = self._outputs_at_vertices()
            cached = self._cut_after((Argmax(),), None, max_regions, logits)
            self._with_decision = cached
        return cached

    def _outputs_at_vertices(self) -> np.ndarray:
        """The network's output ``(V, width) float64`` at every vertex, from the affine map
        of one region it bounds (continuous: any such region gives it, to rounding), with
        no forward pass of wide layers."""
        a, c = self.affine_maps()
        owner = np.full(self.num_vertices, -1, dtype=np.int64)
        owner[self.region_vertices] = np.repeat(np.arange(self.num_regions), self.mesh.sizes)
        if (owner < 0).any():  # a vertex of no region (not made by a cut): run the network
            return np.asarray(self.vertex_values(-1), dtype=np.float64)
        return np.einsum("vkd,vd->vk", a[owner], self.vertices) + c[owner]

    def classes(self) -> np.ndarray:
        """``(F,) int64``: the class of each region (the largest output; for one output,
        1 where it is positive).

        Defined when the class is constant on every region: when the network
        ends in an Argmax (see :meth:`with_decision`) or has one output.
        """
        if self._ends_in_argmax():
            return self.activation_patterns(self.program.ops[-1].index)[:, 0].astype(np.int64)
        if self.num_outputs == 1:
            a, c = self.affine_maps()
            values = np.einsum("fwd,fd->fw", a, self.centroids()) + c
            return (values[:, 0] > 0).astype(np.int64)
        raise ValueError(
            f"the network has {self.num_outputs} outputs and no decision cut, so a region "
            "may hold several classes; use part.with_decision().classes() (or "
            "rs.partition(..., decision=True))"
        )

    def decision_segments(self, output: int | None = None) -> np.ndarray:
        """The decision boundary as segments ``(S, 2, 2)`` in domain coordinates.

        With an Argmax layer: its edges.  With ``K > 1`` outputs and no Argmax:
        the edges of the decision cut (:meth:`with_decision`).  With one output:
        its zero set, cut exactly out of every region.  ``output=i`` asks for the
        zero set of output ``i`` instead.
        """
        mask = self.decision_boundary()
        if output is None and mask.any():
            return self.vertices[self.edges[mask]]
        if output is None and self.num_outputs > 1 and not self._ends_in_argmax():
            return self.with_decision().decision_segments()
        values = self.vertex_values(-1)
        output = 0 if output is None else output
        if not 0 <= output < values.shape[1]:
            raise ValueError(f"output must be in 0..{values.shape[1] - 1}, got {output}")
        code = np.array([encode_source(len(self.program.ops), 0)])
        res = cut(
            self.mesh,
            values[:, [output]],
            self._ev.output_tol[[output]],
            code,
            get_tolerance().point_rtol * self.domain.diameter,
            np.iinfo(np.int64).max,
        )
        return res.mesh.vertices[res.mesh.edge_vertices[res.mesh.edge_source == code[0]]]

    def stats(self, near: float | None = None) -> dict[str, Any]:
        """Exact summary statistics: region count, area distribution, decision-boundary
        length, the regions it crosses, density near and far from it, regions per class.

        See :func:`regionscope.workflows.statistics.partition_stats`.  (What the
        cut measured, seconds per layer, is :attr:`timings`.)
        """
        from regionscope.workflows.statistics import partition_stats

        return partition_stats(self, near)

    def local_complexity(self, points: Any, radius: Any) -> np.ndarray:
        """``(N,) int64``: regions meeting the disk of ``radius`` around each point, exactly.

        See :func:`regionscope.workflows.complexity.local_complexity`.
        """
        from regionscope.workflows.complexity import local_complexity

        return local_complexity(self, points, radius)

    def slice(self, p: Any, q: Any) -> Any:
        """The partition along the segment from ``p`` to ``q`` (domain coordinates).

        Computed from this partition's polygons: each region meets the segment
        in one interval (:func:`~regionscope.geometry.line.polygon_spans`, with
        corners within the point tolerance of the segment on it), whose ends
        are the candidate breakpoints; the pieces' patterns come from the
        network along the segment, and neighbours with equal patterns merge
        (:meth:`Partition1D.from_candidates
        <regionscope.partitions.linear.Partition1D.from_candidates>`).  It
        equals computing the 1-D case directly, also along an edge: both
        regions beside it meet the segment in the same interval, and the unit
        that made the edge is zero along it, so it is off there and cuts
        nothing, as in the direct computation.

        Examples
        --------
        >>> import regionscope as rs
        >>> part = rs.partition(rs.testing.tiny_cross(), rs.Box(1.0))
        >>> line = part.slice([-1.0, -0.5], [1.0, 0.5])   # crosses both axes at the origin
        >>> line.num_regions, line.breakpoints.round(6)
        (2, array([1.118034]))
        >>> along = part.slice([-1.0, 0.0], [1.0, 0.0])   # along y = 0
        >>> along.breakpoints.tolist(), along.activation_patterns(1).tolist()
        ([1.0], [[False, False], [True, False]])
        """
        from .linear import Partition1D

        dom = SliceOf(self.domain, p, q)
        mesh = self.mesh
        rel = mesh.vertices - dom.p
        d = dom.direction
        point_tol = get_tolerance().point_rtol * self.domain.diameter
        lo, hi = polygon_spans(
            rel[:, 0] * d[1] - rel[:, 1] * d[0],
            rel @ d,
            mesh.region_vertices,
            mesh.incidence_next,
            mesh.region_starts,
            point_tol,
        )
        lo, hi = np.maximum(lo, 0.0), np.minimum(hi, dom.length)
        hit = hi - lo > point_tol
        cuts = np.concatenate([[0.0, dom.length], lo[hit], hi[hit]])
        ev = compute.evaluator(dom, self.program)
        return Partition1D.from_candidates(dom, ev, cuts)

    # -- pictures (see regionscope.render) -------------------------------------------

    def to_svg(self, path: Any = None, **style: Any) -> str:
        """SVG picture of the regions (see :func:`regionscope.render.to_svg`)."""
        from regionscope import render

        return render.to_svg(self, path, **style)

    def to_png(self, path: Any = None, **style: Any) -> bytes:
        """PNG picture of the regions (see :func:`regionscope.render.to_png`)."""
        from regionscope import render

        return render.to_png(self, path, **style)

    def plot(self, ax: Any = None, **style: Any) -> Any:
        """Draw on matplotlib axes (see :func:`regionscope.render.plot`)."""
        from regionscope import render

        return render.plot(self, ax=ax, **style)

    def plot_bent_hyperplanes(self, layer: int | str, ax: Any = None, **style: Any) -> Any:
        """Draw the zero set of each unit of ``layer`` in its own colour."""
        from regionscope import render

        return render.plot_bent_hyperplanes(self, layer, ax=ax, **style)

    def to_html(self, path: Any = None, **options: Any) -> str:
        """An interactive page of the regions (see :func:`regionscope.render.to_html`)."""
        from regionscope import render

        return render.to_html(self, path, **options)

    # Jupyter keeps every representation that is not None: answer with one, by size
    def _repr_svg_(self) -> str | None:
        from regionscope import render

        return render.repr_svg(self) if render.repr_format(self) == "svg" else None

    def _repr_png_(self) -> bytes | None:
        from regionscope import render

        return render.repr_png(self) if render.repr_format(self) == "png" else None

    def __repr__(self) -> str:
        return (
            f"<Partition of {self.domain!r}: {self.num_regions} regions, "
            f"{self.num_vertices} vertices, {len(self.program.ops)} layers>"
        )

    # -- files -----------------------------------------------------------------------

    def to_arrays(self) -> dict[str, np.ndarray]:
        """Everything needed to rebuild this partition, as named arrays."""
        mesh = self.mesh
        return {
            **super().to_arrays(),
            "kind": np.array("2d"),
            "vertices": mesh.vertices,
            "region_vertices": mesh.region_vertices,
            "region_offsets": mesh.region_offsets,
            "incidence_source": mesh.incidence_source,
            "num_corners": np.array(mesh.num_corners),
        }
