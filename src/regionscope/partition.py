"""The :class:`Partition` of a domain into activation regions, and how to compute it.

Definition used throughout: an *activation region* is a set of inputs that
share one activation pattern in every piecewise layer (ReLU on/off, which
input of a max is largest, ...).  For the networks regionscope takes each
such set is convex, and the network is affine on it.  (Neighbouring regions
may happen to carry the same affine map; regionscope does not merge them:
they are distinct activation regions.  See Stargalla, Hertrich and Reichman,
2025, on the several definitions of "linear region" in the literature.)

Examples
--------
>>> import numpy as np
>>> import regionscope as rs
>>> net = rs.Sequential(
...     rs.Linear([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]], [0.0, 0.0, -0.5]), rs.ReLU()
... )
>>> part = rs.partition(net, rs.Box(1.0))
>>> part.num_regions, part.num_vertices
(7, 13)
>>> float(part.areas().sum())
4.0
>>> part.activation_patterns(1)[part.locate([[0.9, 0.9]])[0]]
array([ True,  True,  True])
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Iterator
from typing import Any

import numpy as np

from . import core
from .domains import Box, Domain, Domain1D, Domain2D, SliceOf, as_finite, coerce_domain
from .errors import RegionLimitError
from .layers import Layer, Program, Sequential, compile_model
from .tolerance import get_tolerance

__all__ = ["Partition", "Partition1D", "partition", "load"]

#: default limit on the number of regions
DEFAULT_MAX_REGIONS = 4_000_000
#: number of float64 values a chunked forward pass may hold at once
_CHUNK_VALUES = 1 << 22


# --------------------------------------------------------------------------------------
# models


def _is_torch_module(obj: Any) -> bool:
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(obj, torch.nn.Module)


def _as_layers(model: Any, domain: Domain, until: str | None) -> tuple[tuple[Layer, ...], Any]:
    """The model as a tuple of top-level regionscope layers, and the user's original."""
    source = model
    if model is None:
        return (), None
    if _is_torch_module(model):
        from .torch_import import convert

        model = convert(model, input_shape=domain.input_shape, until=until)
    elif until is not None:
        raise ValueError("until= is only for torch modules")
    if isinstance(model, Sequential):
        return model.layers, source
    if isinstance(model, Layer):
        return (model,), source
    if isinstance(model, (list, tuple)) and all(isinstance(m, Layer) for m in model):
        return tuple(model), source
    raise TypeError(
        f"model must be a regionscope layer (e.g. Sequential) or a torch.nn.Module, "
        f"got {type(model).__name__}"
    )


def _chunks(n: int, width: int) -> Iterator[slice]:
    step = max(1, _CHUNK_VALUES // max(width, 1))
    for i in range(0, n, step):
        yield slice(i, min(n, i + step))


def _max_width(program: Program) -> int:
    return max([program.in_width] + [op.out_width for op in program.ops])


def _pattern_hash(patterns: dict[int, np.ndarray], n: int) -> np.ndarray:
    """``(n,) uint64`` hash of the patterns of all layers (stable across partitions)."""
    key = np.zeros(n, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for layer in sorted(patterns):
            p = patterns[layer].astype(np.int64).reshape(n, -1)
            cols = np.arange(p.shape[1], dtype=np.uint64)
            weights = core.mix64(cols + np.uint64(layer) * np.uint64(0x9E3779B97F4A7C15))
            h = ((p + 1).astype(np.uint64) * weights[None, :]).sum(axis=1, dtype=np.uint64)
            key = core.mix64(key ^ core.mix64(h + np.uint64(layer)))
    return key


class _Progress:
    """A progress bar over layers and their units (tqdm when installed, else plain lines)."""

    def __init__(self, enabled: bool, total: int) -> None:
        self.bar = None
        self.enabled = enabled
        if not enabled:
            return
        try:
            from tqdm.auto import tqdm
        except ImportError:
            self.bar = None
        else:
            self.bar = tqdm(total=total, unit="unit", desc="regionscope")

    def update(self, label: str, regions: int, units: int) -> None:
        if not self.enabled:
            return
        if self.bar is not None:
            self.bar.set_postfix_str(f"{label}: {regions} regions")
            self.bar.update(units)
        else:
            sys.stderr.write(f"regionscope: {label}: {regions} regions\n")

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


# --------------------------------------------------------------------------------------
# shared base


class _Base:
    """What 2-D and 1-D partitions share: the model, patterns, values, affine maps."""

    domain: Domain
    _layers: tuple[Layer, ...]
    program: Program
    source_model: Any

    def _setup_model(self, layers: tuple[Layer, ...], source_model: Any) -> None:
        self._layers = tuple(layers)
        self.program = compile_model(Sequential(*self._layers), self.domain.input_dim)
        self.source_model = source_model
        self._cache: dict[Any, Any] = {}

    @property
    def model(self) -> Sequential:
        """The network as a regionscope :class:`~regionscope.layers.Sequential`."""
        return Sequential(*self._layers)

    @property
    def layers(self) -> tuple[Any, ...]:
        """The compiled ops; ``layers[i]`` is layer index ``i`` (``.name``, ``.layer``)."""
        return self.program.ops

    @property
    def piecewise_layers(self) -> tuple[int, ...]:
        """Layer indices of the piecewise (cutting) layers."""
        return tuple(op.index for op in self.program.ops if op.layer.piecewise)

    def _layer_index(self, layer: int | str | None, *, piecewise: bool = False) -> int:
        ops = self.program.ops
        if isinstance(layer, str):
            names = [op.name for op in ops]
            if layer not in names:
                raise ValueError(f"no layer named {layer!r}; layers are {names}")
            index = names.index(layer)
        elif isinstance(layer, (int, np.integer)) and not isinstance(layer, bool):
            index = int(layer) + (len(ops) if layer < 0 else 0)
            if not 0 <= index < len(ops):
                raise ValueError(
                    f"layer {layer} is out of range: the model has {len(ops)} layers "
                    f"(0..{len(ops) - 1}, or negative from the end)"
                )
        else:
            raise TypeError(f"layer must be an int or a layer name, got {type(layer).__name__}")
        if piecewise and not ops[index].layer.piecewise:
            raise ValueError(
                f"layer {index} ({ops[index].name}: {type(ops[index].layer).__name__}) has no "
                f"activation pattern; piecewise layers are {list(self.piecewise_layers)}"
            )
        return index

    # -- forward passes --------------------------------------------------------------

    def _lift(self, coords: np.ndarray) -> np.ndarray:
        return self.domain.lift(coords)

    def _forward(
        self,
        coords: np.ndarray,
        stop: int | None = None,
        register: int | None = None,
        patterns: dict[int, np.ndarray] | None = None,
    ) -> np.ndarray:
        """Chunked forward pass of domain coordinates."""
        n = len(coords)
        ops = self.program.ops
        if stop is None:
            stop = len(ops)
        width = ops[stop - 1].out_width if register is None and stop else _max_width(self.program)
        if register is not None:
            width = self._register_width(register)
        out = np.empty((n, width))
        for sl in _chunks(n, _max_width(self.program)):
            pats = None if patterns is None else {k: v[sl] for k, v in patterns.items()}
            out[sl] = self.program.run(
                self._lift(coords[sl]), stop=stop, register=register, patterns=pats
            )
        return out

    def _layer_pattern_at(self, coords: np.ndarray, index: int) -> np.ndarray:
        """Pattern of piecewise layer ``index`` at domain points, in chunks."""
        op = self.program.ops[index]
        layer: Any = op.layer
        parts = [
            layer.pattern(
                self.program.run(self._lift(coords[sl]), stop=index, register=op.inputs[0])
            )
            for sl in _chunks(len(coords), _max_width(self.program))
        ]
        return np.concatenate(parts) if parts else np.zeros((0, 1), dtype=layer.pattern_dtype)

    def _forward_on(self, coords: np.ndarray, index: int, register: int) -> np.ndarray:
        """Values of ``register`` (the input of layer ``index``) at domain points."""
        return self._forward(coords, stop=index, register=register)

    def _register_width(self, register: int) -> int:
        if register == 0:
            return self.program.in_width
        for op in self.program.ops:
            if op.output == register:
                return op.out_width
        raise ValueError(f"unknown register {register}")

    def _interior(self) -> np.ndarray:
        raise NotImplementedError

    def _all_patterns(self) -> dict[int, np.ndarray]:
        if "patterns" not in self._cache:
            result = self._patterns_at(self._interior())
            for arr in result.values():
                arr.setflags(write=False)
            self._cache["patterns"] = result
        return self._cache["patterns"]

    def _patterns_at(self, coords: np.ndarray) -> dict[int, np.ndarray]:
        """Pattern of every piecewise layer at domain points, by a forward pass in chunks."""
        pats: dict[int, list[np.ndarray]] = {i: [] for i in self.piecewise_layers}

        def grab(op: Any, out: np.ndarray, args: list[np.ndarray]) -> None:
            if op.layer.piecewise:
                pats[op.index].append(op.layer.pattern(args[0]))

        for sl in _chunks(len(coords), _max_width(self.program)):
            self.program.run(self._lift(coords[sl]), collect=grab)
        return {
            i: np.concatenate(parts) if parts else np.zeros((0, 0), bool)
            for i, parts in pats.items()
        }

    def activation_patterns(
        self, layer: int | str | None = None
    ) -> np.ndarray | dict[int, np.ndarray]:
        """Activation pattern of every region.

        Parameters
        ----------
        layer : int or str, optional
            A piecewise layer (index or name).  Without it, all of them.

        Returns
        -------
        ndarray or dict
            ``(F, k)``: bool for ReLU-like layers (unit active), int8 for
            HardTanh (0 below, 1 linear, 2 above), int for max-pooling (position
            of the largest input in each group) and argmax (the class, ``k = 1``).
            With ``layer=None`` a dict ``{layer index: pattern}``.

        Examples
        --------
        >>> import regionscope as rs
        >>> part = rs.partition(rs.testing.tiny_cross(), rs.Box(1.0))
        >>> f = part.locate([[0.5, -0.5]])[0]
        >>> part.activation_patterns(1)[f]        # relu(x) on, relu(y) off
        array([ True, False])
        """
        pats = self._all_patterns()
        if layer is None:
            return dict(pats)
        return pats[self._layer_index(layer, piecewise=True)]

    def pattern_keys(self) -> np.ndarray:
        """``(F,) uint64`` hash of each region's full activation pattern.

        Equal patterns give equal keys in any partition of any network with the
        same layer structure, so colours derived from them stay put while the
        weights change a little (during training, say).
        """
        if "keys" not in self._cache:
            self._cache["keys"] = _pattern_hash(self._all_patterns(), self.num_regions)
        return self._cache["keys"]

    def vertex_values(self, layer: int | str = -1) -> np.ndarray:
        """Output of ``layer`` at every vertex: ``(V, width) float64``."""
        index = self._layer_index(layer)
        op = self.program.ops[index]
        return self._forward(self._vertex_coords(), stop=index + 1, register=op.output)

    def region_values(self, points: Any, layer: int | str = -1) -> np.ndarray:
        """Output of ``layer`` at domain points: ``(N, width) float64`` (a forward pass)."""
        index = self._layer_index(layer)
        op = self.program.ops[index]
        pts = self._check_coords(points)
        return self._forward(pts, stop=index + 1, register=op.output)

    def _vertex_coords(self) -> np.ndarray:
        raise NotImplementedError

    def _check_coords(self, points: Any) -> np.ndarray:
        raise NotImplementedError

    def affine_maps(
        self, layer: int | str = -1, regions: Any = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """The affine map the network computes on each region, up to ``layer``.

        Parameters
        ----------
        layer : int or str
            Layer whose output is described (default: the last).
        regions : array_like of int, optional
            Only these regions (the full table has ``F * width * (dim + 1)``
            numbers).

        Returns
        -------
        A : (F, width, dim) float64
        c : (F, width) float64
            Inside region ``f`` the layer's output at domain point ``u`` is
            ``A[f] @ u + c[f]``.

        Examples
        --------
        >>> import numpy as np
        >>> import regionscope as rs
        >>> net = rs.Sequential(rs.Linear([[2.0, 0.0]], [1.0]), rs.ReLU())
        >>> part = rs.partition(net, rs.Box(1.0))
        >>> A, c = part.affine_maps()
        >>> f = part.locate([[0.5, 0.0]])[0]      # where 2x + 1 > 0
        >>> A[f], c[f]
        (array([[2., 0.]]), array([1.]))
        """
        index = self._layer_index(layer)
        op = self.program.ops[index]
        sel = (
            np.arange(self.num_regions)
            if regions is None
            else np.asarray(regions, dtype=np.int64).reshape(-1)
        )
        if len(sel) and (sel.min() < 0 or sel.max() >= self.num_regions):
            raise ValueError(f"regions must be in 0..{self.num_regions - 1}")
        pats = {i: p[sel] for i, p in self._all_patterns().items() if i <= index}
        base = self._interior()[sel]
        dim = self.domain.dim
        n = len(sel)
        pts = np.repeat(base, dim + 1, axis=0)
        for j in range(dim):
            pts[j + 1 :: dim + 1, j] += 1.0
        rep = {i: np.repeat(p, dim + 1, axis=0) for i, p in pats.items()}
        vals = self._forward(pts, stop=index + 1, register=op.output, patterns=rep)
        vals = vals.reshape(n, dim + 1, -1)
        f0 = vals[:, 0, :]
        a = np.stack([vals[:, j + 1, :] - f0 for j in range(dim)], axis=2)
        c = f0 - np.einsum("fwd,fd->fw", a, base)
        return a, c

    def locate(self, points: Any) -> np.ndarray:
        """Region index of each point (``-1`` outside the domain).

        A point on a shared side or corner gets one of the regions touching it.

        Examples
        --------
        >>> import regionscope as rs
        >>> part = rs.partition(rs.testing.tiny_cross(), rs.Box(1.0))
        >>> idx = part.locate([[0.5, 0.5], [3.0, 0.0]])
        >>> part.centroids()[idx[0]].round(2), int(idx[1])
        (array([0.5, 0.5]), -1)
        """
        pts = self._check_coords(points)
        out = np.full(len(pts), -1, dtype=np.int64)
        inside = self._contains(pts)
        idx = np.flatnonzero(inside)
        if len(idx) == 0 or self.num_regions == 0:
            return out
        keys = _pattern_hash(self._patterns_at(pts[idx]), len(idx))
        rkeys = self.pattern_keys()
        order = np.argsort(rkeys, kind="stable")
        pos = np.searchsorted(rkeys[order], keys)
        pos = np.minimum(pos, len(order) - 1)
        found = rkeys[order][pos] == keys
        out[idx[found]] = order[pos[found]]
        missing = idx[~found]
        if len(missing):
            out[missing] = self._locate_geometric(pts[missing])
        return out

    def _contains(self, pts: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _locate_geometric(self, pts: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    @property
    def num_regions(self) -> int:
        raise NotImplementedError


# --------------------------------------------------------------------------------------
# 2-D


class Partition(_Base):
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
        each piecewise layer.
    """

    def __init__(
        self,
        domain: Domain2D,
        layers: tuple[Layer, ...],
        mesh: core.Mesh,
        source_model: Any = None,
        stats: dict[str, Any] | None = None,
    ) -> None:
        self.domain = domain
        self._setup_model(layers, source_model)
        self._mesh = mesh
        for arr in (
            mesh.vertices,
            mesh.region_vertices,
            mesh.region_offsets,
            mesh.incidence_source,
        ):
            arr.setflags(write=False)
        self.stats = dict(stats or {})

    # -- construction ----------------------------------------------------------------

    @classmethod
    def start(cls, domain: Any = None) -> Partition:
        """The partition of a domain by the empty network (one region)."""
        dom = Box(1.0) if domain is None else coerce_domain(domain)
        if not isinstance(dom, Domain2D):
            raise TypeError("Partition.start needs a 2-D domain; use Partition1D.start")
        return cls(dom, (), core.Mesh.from_polygon(dom.polygon))

    def add(
        self, *layers: Layer, progress: bool = False, max_regions: int = DEFAULT_MAX_REGIONS
    ) -> Partition:
        """A new partition with ``layers`` applied after the current model.

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
        for i, layer in enumerate(layers):
            if not isinstance(layer, Layer):
                raise TypeError(f"add: argument {i} is a {type(layer).__name__}, not a layer")
        return _compute_2d(
            self.domain,
            self._layers + tuple(layers),
            self._mesh,
            len(self.program.ops) if self._layers else 0,
            self.source_model,
            progress,
            max_regions,
            self.stats,
        )

    # -- arrays ----------------------------------------------------------------------

    @property
    def vertices(self) -> np.ndarray:
        return self._mesh.vertices

    @property
    def region_vertices(self) -> np.ndarray:
        return self._mesh.region_vertices

    @property
    def region_offsets(self) -> np.ndarray:
        return self._mesh.region_offsets

    @property
    def num_regions(self) -> int:
        return self._mesh.num_regions

    @property
    def num_vertices(self) -> int:
        return len(self._mesh.vertices)

    def _edges(self) -> tuple[np.ndarray, ...]:
        if "edges" not in self._cache:
            ev, src, regions = self._mesh.edges()
            layer, unit = core.decode_source(src)
            for arr in (ev, layer, unit, regions):
                arr.setflags(write=False)
            self._cache["edges"] = (ev, layer, unit, regions)
        return self._cache["edges"]

    @property
    def edges(self) -> np.ndarray:
        return self._edges()[0]

    @property
    def edge_layer(self) -> np.ndarray:
        return self._edges()[1]

    @property
    def edge_neuron(self) -> np.ndarray:
        return self._edges()[2]

    @property
    def edge_regions(self) -> np.ndarray:
        """``(E, 2) int64``: the regions on either side of each edge (``-1``: outside)."""
        return self._edges()[3]

    @property
    def num_edges(self) -> int:
        return len(self._edges()[0])

    def region_sizes(self) -> np.ndarray:
        """``(F,) int64`` number of corners of each region."""
        return self._mesh.sizes

    def polygon(self, region: int) -> np.ndarray:
        """Corners ``(k, 2)`` of one region, counter-clockwise."""
        f = int(region)
        if not 0 <= f < self.num_regions:
            raise ValueError(f"region must be in 0..{self.num_regions - 1}, got {region}")
        o = self.region_offsets
        return self.vertices[self.region_vertices[o[f] : o[f + 1]]]

    def areas(self) -> np.ndarray:
        """``(F,) float64`` area of each region."""
        return self._mesh.areas()

    def centroids(self) -> np.ndarray:
        """``(F, 2) float64`` centroid of each region (an interior point)."""
        if "centroids" not in self._cache:
            c = self._mesh.centroids()
            c.setflags(write=False)
            self._cache["centroids"] = c
        return self._cache["centroids"]

    def lift(self, u: Any) -> np.ndarray:
        """Network inputs ``(N, D)`` at domain points ``(N, 2)``."""
        return self.domain.lift(u)

    def _interior(self) -> np.ndarray:
        return self.centroids()

    def _vertex_coords(self) -> np.ndarray:
        return self.vertices

    def _check_coords(self, points: Any) -> np.ndarray:
        pts = as_finite(points, "points")
        if pts.shape == (2,):
            pts = pts[None]
        if pts.ndim != 2 or pts.shape[1] != 2:
            raise ValueError(f"points must have shape (N, 2), got {pts.shape}")
        return pts

    def _contains(self, pts: np.ndarray) -> np.ndarray:
        return self.domain.contains(pts)

    def _locate_geometric(self, pts: np.ndarray) -> np.ndarray:
        """Containing region by half-plane tests, for points on boundaries."""
        verts = self.vertices
        rv = self.region_vertices
        nxt = self._mesh.incidence_next()
        a = verts[rv]
        d = verts[rv[nxt]] - a
        length = np.hypot(d[:, 0], d[:, 1])
        lo = np.minimum.reduceat(a, self.region_offsets[:-1], axis=0)
        hi = np.maximum.reduceat(a, self.region_offsets[:-1], axis=0)
        tol = get_tolerance().point_rtol * self.domain.diameter * 10
        out = np.full(len(pts), -1, dtype=np.int64)
        for i, p in enumerate(pts):  # only points that lie on region boundaries get here
            cand = np.flatnonzero(((lo - tol) <= p).all(axis=1) & ((hi + tol) >= p).all(axis=1))
            if not len(cand):
                continue
            sizes = self._mesh.sizes[cand]
            own, k = core._expand(sizes)
            inc = self.region_offsets[cand][own] + k
            r = p - a[inc]
            cross = d[inc, 0] * r[:, 1] - d[inc, 1] * r[:, 0]
            worst = np.minimum.reduceat(cross / length[inc], core._exclusive_cumsum(sizes))
            out[i] = cand[int(np.argmax(worst))]
        return out

    # -- queries ---------------------------------------------------------------------

    def decision_boundary(self) -> np.ndarray:
        """``(E,) bool``: the edges made by an :class:`~regionscope.layers.Argmax` layer."""
        from .layers import Argmax

        argmax_layers = [op.index for op in self.program.ops if isinstance(op.layer, Argmax)]
        return np.isin(self.edge_layer, argmax_layers)

    def decision_segments(self, output: int = 0) -> np.ndarray:
        """The decision boundary as segments ``(S, 2, 2)`` in domain coordinates.

        With an Argmax layer: its edges.  Otherwise the zero set of output
        ``output`` of the network (the decision of a single-logit classifier),
        cut exactly out of every region.
        """
        mask = self.decision_boundary()
        if mask.any():
            return self.vertices[self.edges[mask]]
        values = self.vertex_values(-1)
        if not 0 <= output < values.shape[1]:
            raise ValueError(f"output must be in 0..{values.shape[1] - 1}, got {output}")
        code = np.array([core.encode_source(len(self.program.ops), 0)])
        res = core.cut(
            self._mesh, values[:, [output]], code, self.domain.diameter, np.iinfo(np.int64).max
        )
        ev, src, _ = res.mesh.edges()
        return res.mesh.vertices[ev[src == code[0]]]

    def slice(self, p: Any, q: Any) -> Partition1D:
        """The partition along the segment from ``p`` to ``q`` (domain coordinates).

        Computed from this partition's polygons (each region meets a segment in
        one interval); it equals computing the 1-D case directly.

        Examples
        --------
        >>> import regionscope as rs
        >>> part = rs.partition(rs.testing.tiny_cross(), rs.Box(1.0))
        >>> line = part.slice([-1.0, -0.5], [1.0, 0.5])   # crosses both axes at the origin
        >>> line.num_regions, line.breakpoints.round(6)
        (2, array([1.118034]))
        """
        dom = SliceOf(self.domain, p, q)
        a, b = dom.p, dom.q
        verts = self.vertices
        rv = self.region_vertices
        nxt = self._mesh.incidence_next()
        v0 = verts[rv]
        e = verts[rv[nxt]] - v0
        normal = np.stack([-e[:, 1], e[:, 0]], axis=1)  # inward for counter-clockwise regions
        num = np.einsum("ij,ij->i", normal, a - v0)
        den = normal @ (b - a)
        with np.errstate(divide="ignore", invalid="ignore"):
            t = -num / den
        enter = np.where(den > 0, t, -np.inf)
        leave = np.where(den < 0, t, np.inf)
        starts = self.region_offsets[:-1]
        t0 = np.maximum(np.maximum.reduceat(enter, starts), 0.0)
        t1 = np.minimum(np.minimum.reduceat(leave, starts), 1.0)
        outside = np.minimum.reduceat(np.where(den == 0, num, 0.0), starts) < 0
        tol = get_tolerance().point_rtol * self.domain.diameter / dom.length
        hit = (t1 - t0 > tol) & ~outside
        cuts = np.concatenate([[0.0, 1.0], t0[hit], t1[hit]]) * dom.length
        return Partition1D._from_candidates(dom, self._layers, cuts, self.source_model)

    # -- pictures (see regionscope.render) -------------------------------------------

    def to_svg(self, path: Any = None, **style: Any) -> str:
        """SVG picture of the regions (see :func:`regionscope.render.to_svg`)."""
        from . import render

        return render.to_svg(self, path, **style)

    def to_png(self, path: Any = None, **style: Any) -> bytes:
        """PNG picture of the regions (see :func:`regionscope.render.to_png`)."""
        from . import render

        return render.to_png(self, path, **style)

    def plot(self, ax: Any = None, **style: Any) -> Any:
        """Draw on matplotlib axes (see :func:`regionscope.render.plot`)."""
        from . import render

        return render.plot(self, ax=ax, **style)

    def plot_bent_hyperplanes(self, layer: int | str, ax: Any = None, **style: Any) -> Any:
        """Draw the zero set of each unit of ``layer`` in its own colour."""
        from . import render

        return render.plot_bent_hyperplanes(self, layer, ax=ax, **style)

    def _repr_svg_(self) -> str | None:
        from . import render

        return render.repr_svg(self)

    def _repr_png_(self) -> bytes:
        from . import render

        return render.repr_png(self)

    def __repr__(self) -> str:
        return (
            f"<Partition of {self.domain!r}: {self.num_regions} regions, "
            f"{self.num_vertices} vertices, {len(self.program.ops)} layers>"
        )

    # -- files -----------------------------------------------------------------------

    def save(self, path: Any) -> None:
        """Write to an ``.npz`` file (atomically); read back with :func:`regionscope.load`."""
        from .io import save_partition

        save_partition(self, path)


def _stage_plan(program: Program, start: int) -> list[tuple[int, int]]:
    plan = []
    for op in program.ops[start:]:
        if op.layer.piecewise:
            for stage in range(op.layer.num_stages(op.in_width)):  # type: ignore[attr-defined]
                plan.append((op.index, stage))
    return plan


def _quiet_overflow(fn: Any) -> Any:
    """Run ``fn`` with NumPy's overflow warnings off: overflow shows up as
    non-finite values, which :func:`_check_finite` refuses with a named error."""
    import functools

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with np.errstate(over="ignore", invalid="ignore"):
            return fn(*args, **kwargs)

    return wrapper


#: number of float64 values the register table at the vertices may hold
_REGISTER_VALUES = 1 << 25


@_quiet_overflow
def _compute_2d(
    domain: Domain2D,
    layers: tuple[Layer, ...],
    mesh: core.Mesh,
    start: int,
    source_model: Any,
    progress: bool,
    max_regions: int,
    stats: dict[str, Any] | None = None,
) -> Partition:
    """Apply the piecewise layers from op ``start`` on to ``mesh``.

    The values of the network's registers at the vertices are carried along:
    a piecewise layer's input is affine on the regions it starts from, so the
    values at the vertices it creates are exact mixes of values at old ones
    (:meth:`core.CutResult.extend`).  When the registers would take more than
    ``_REGISTER_VALUES`` numbers, a layer's input is recomputed by a forward
    pass in chunks instead, and only that input is carried.
    """
    part = Partition(domain, layers, mesh, source_model, stats)
    program = part.program
    plan = _stage_plan(program, start)
    total_units = sum(
        program.ops[i].layer.num_units(program.ops[i].in_width)  # type: ignore[attr-defined]
        for i, _ in plan
    )
    bar = _Progress(progress, total_units)
    timings = dict(part.stats.get("layer_seconds", {}))
    diameter = domain.diameter
    strict = get_tolerance().strict
    last_piecewise = plan[-1][0] if plan else -1
    # where a layer's input comes from: the registers at the vertices (regs),
    # that input alone (x), or neither (streamed by a chunked forward pass)
    regs: dict[int, np.ndarray] | None = None
    pos = 0  # ops [0, pos) are applied to regs
    x: np.ndarray | None = None
    try:
        for index, stage in plan:
            t0 = time.perf_counter()
            op = program.ops[index]
            layer: Any = op.layer
            last_stage = stage == layer.num_stages(op.in_width) - 1
            later = index != last_piecewise
            if stage == 0:
                nverts = len(mesh.vertices)
                widest = max(o.out_width for o in program.ops[: index + 1])
                if nverts * (widest + op.in_width) * 2 > _REGISTER_VALUES:
                    regs = None
                elif regs is None:
                    regs, pos = {0: domain.lift(mesh.vertices)}, 0
                if regs is not None:
                    pos = _advance(program, regs, pos, index)
                    x = regs[op.inputs[0]]
                elif nverts * op.in_width <= _REGISTER_VALUES:
                    x = part._forward_on(mesh.vertices, index, op.inputs[0])
                else:
                    x = None
            n_units = layer.num_units(op.in_width)
            codes = core.encode_source(index, layer.unit_of(stage, np.arange(n_units)))
            u0 = 0
            while u0 < n_units:
                # cut by groups of units small enough for the (vertex, unit) tables
                step = max(1, _CHUNK_VALUES * 16 // max(len(mesh.vertices), 1))
                if layer.merge:  # the (corner, group) winner table too
                    step = min(step, max(1, _CHUNK_VALUES * 8 // len(mesh.region_vertices)))
                if progress:  # smaller groups of units, so that the bar moves
                    step = min(step, max(32, -(-n_units // 20)))
                u1 = min(n_units, u0 + step)
                units = slice(u0, u1)
                if x is not None:
                    z = layer.stage_values(x, stage, units)
                    winners = _chunked_pattern(layer, x, units) if layer.merge else None
                else:
                    z, winners = _stream_stage_values(part, mesh, index, stage, units)
                _check_finite(z, op)
                active = _undecided(mesh, winners) if layer.merge else None
                res = core.cut(mesh, z, codes[u0:u1], diameter, max_regions, active)
                del z, active
                mesh = res.mesh
                bar.update(f"layer {index} ({op.name})", mesh.num_regions, u1 - u0)
                more = u1 < n_units or not last_stage
                u0 = u1
                if not len(res.interp_from):
                    continue
                nverts = len(mesh.vertices)
                if regs is not None and later:
                    if nverts * sum(v.shape[1] for v in regs.values()) <= _REGISTER_VALUES:
                        for r in regs:
                            regs[r] = res.extend(regs[r])
                        x = regs[op.inputs[0]]
                        continue
                    regs = None
                regs = None
                if x is not None and more:
                    x = res.extend(x) if nverts * x.shape[1] <= _REGISTER_VALUES else None
            if last_stage and layer.merge:
                mesh, kept = _merge_layer(part, mesh, index)
                if regs is not None:
                    for r in regs:
                        regs[r] = regs[r][kept]
            if strict:
                check_mesh(mesh, domain)
            timings[index] = timings.get(index, 0.0) + time.perf_counter() - t0
    finally:
        bar.close()
    result = Partition(
        domain, layers, mesh, source_model, {**part.stats, "layer_seconds": timings}
    )
    if result.num_regions > max_regions:
        raise RegionLimitError(result.num_regions, max_regions)
    return result


def _check_finite(z: np.ndarray, op: Any) -> None:
    """Refuse values that overflowed: the geometry would be silently wrong."""
    if not np.isfinite(z).all():
        raise ValueError(
            f"layer {op.index} ({op.name}: {type(op.layer).__name__}): its input is not finite "
            "at some points of the domain (float64 overflow); the weights or the domain are "
            "too large"
        )


def _stream_stage_values(
    part: Partition, mesh: core.Mesh, index: int, stage: int, units: slice
) -> tuple[np.ndarray, np.ndarray | None]:
    """Some units of a stage at every vertex, by a forward pass in chunks.

    Returns the values, and for max layers the winner of each of those groups.
    """
    op = part.program.ops[index]
    layer: Any = op.layer
    verts = mesh.vertices
    out = np.empty((len(verts), units.stop - units.start))
    winners = np.empty(out.shape, dtype=np.int64) if layer.merge else None
    for sl in _chunks(len(verts), _max_width(part.program)):
        xs = part.program.run(part._lift(verts[sl]), stop=index, register=op.inputs[0])
        out[sl] = layer.stage_values(xs, stage, units)
        if winners is not None:
            winners[sl] = layer.pattern(xs, units)
    return out, winners


def _chunked_pattern(layer: Any, x: np.ndarray, units: slice) -> np.ndarray:
    """Pattern of some units at every row of ``x``, in chunks of rows."""
    return np.concatenate([layer.pattern(x[sl], units) for sl in _chunks(len(x), x.shape[1])])


def _undecided(mesh: core.Mesh, winners: np.ndarray) -> np.ndarray:
    """``(F, groups) bool``: regions whose corners disagree on a max's winner.

    ``winners (V, groups)`` holds each group's winner at each vertex.  Inputs
    affine on a convex region that have one winner at every corner have it
    everywhere inside, so only the other (region, group) pairs are cut.
    """
    small = winners.max(initial=0) < 2**15
    at = winners.astype(np.int16 if small else np.int64)[mesh.region_vertices]
    starts = mesh.region_offsets[:-1]
    return np.minimum.reduceat(at, starts, axis=0) != np.maximum.reduceat(at, starts, axis=0)


def _advance(program: Program, regs: dict[int, np.ndarray], pos: int, stop: int) -> int:
    """Run ops ``[pos, stop)`` on the register values in ``regs``; return ``stop``."""
    for op in program.ops[pos:stop]:
        regs[op.output] = op.layer.forward(*[regs[r] for r in op.inputs])
        for r in program.frees[op.index]:
            regs.pop(r, None)
    return max(pos, stop)


def _merge_layer(part: Partition, mesh: core.Mesh, index: int) -> tuple[core.Mesh, np.ndarray]:
    """Merge regions that a max/argmax layer cut needlessly (patterns at centroids)."""
    pat = part._layer_pattern_at(mesh.centroids(), index)
    layer_of_side, _ = core.decode_source(mesh.incidence_source)
    merged, _, kept = core.merge(mesh, pat.reshape(len(pat), -1), layer_of_side == index)
    return merged, kept


def check_mesh(mesh: core.Mesh, domain: Domain2D) -> None:
    """Costly invariant checks (``tolerance(strict=True)``): raise ``AssertionError``."""
    areas = mesh.areas()
    if not (areas > 0).all():
        raise AssertionError(f"{int((areas <= 0).sum())} regions of non-positive area")
    total = float(areas.sum())
    if not math.isclose(total, domain.area, rel_tol=1e-9):
        raise AssertionError(f"areas sum to {total}, domain area is {domain.area}")
    ev, _, regions = mesh.edges()
    boundary = regions[:, 1] < 0
    if not (regions[:, 0] >= 0).all():
        raise AssertionError("edge without a region")
    # every region convex and counter-clockwise
    v = mesh.vertices
    rv = mesh.region_vertices
    nxt = mesh.incidence_next()
    prv = np.empty_like(nxt)
    prv[nxt] = np.arange(len(nxt))
    a = v[rv[prv]]
    b = v[rv]
    c = v[rv[nxt]]
    cross = (b[:, 0] - a[:, 0]) * (c[:, 1] - b[:, 1]) - (b[:, 1] - a[:, 1]) * (c[:, 0] - b[:, 0])
    scale = np.hypot(*(b - a).T) * np.hypot(*(c - b).T)
    if (cross < -1e-7 * scale).any():
        raise AssertionError("a region is not convex")
    uniq = np.unique(rv)
    if len(uniq) != len(v):
        raise AssertionError("unused vertices")
    # no duplicate vertices
    order = np.lexsort((v[:, 1], v[:, 0]))
    dv = np.abs(np.diff(v[order], axis=0)).max(axis=1) if len(v) > 1 else np.zeros(0)
    if (dv == 0).any():
        raise AssertionError("duplicate vertices")
    if boundary.sum() < 3:
        raise AssertionError("domain boundary lost")


# --------------------------------------------------------------------------------------
# 1-D


class Partition1D(_Base):
    """A 1-D domain cut into pieces on which the network is affine.

    Attributes
    ----------
    domain : Domain1D
    points : (F+1,) float64
        Sorted piece boundaries, both ends of the domain included.
    breakpoints : (F-1,) float64
        The interior boundaries.
    breakpoint_layer, breakpoint_neuron : (F-1,) int64
        The first layer, and in it the first unit, whose pattern differs
        across each breakpoint.
    """

    def __init__(
        self,
        domain: Domain1D,
        layers: tuple[Layer, ...],
        points: np.ndarray,
        source_model: Any = None,
    ) -> None:
        self.domain = domain
        self._setup_model(layers, source_model)
        pts = np.asarray(points, dtype=np.float64).copy()
        pts.setflags(write=False)
        self.points = pts

    @classmethod
    def start(cls, domain: Domain1D) -> Partition1D:
        """The partition of a 1-D domain by the empty network (one piece)."""
        if not isinstance(domain, Domain1D):
            raise TypeError("Partition1D.start needs a 1-D domain (Interval, Segment)")
        return cls(domain, (), np.array([domain.lo, domain.hi]))

    @classmethod
    def _from_candidates(
        cls, domain: Domain1D, layers: tuple[Layer, ...], cuts: np.ndarray, source_model: Any
    ) -> Partition1D:
        """Pieces between candidate cuts, merging neighbours with equal patterns."""
        tol = get_tolerance().point_rtol * domain.length
        pts = np.sort(np.clip(cuts, domain.lo, domain.hi))
        keep = np.ones(len(pts), dtype=bool)
        keep[1:] = np.diff(pts) > tol
        pts = pts[keep]
        pts[0], pts[-1] = domain.lo, domain.hi
        part = cls(domain, layers, pts, source_model)
        if part.num_regions > 1:
            keys = part.pattern_keys()
            same = keys[1:] == keys[:-1]
            if same.any():
                part = cls(
                    domain, layers, pts[np.append(True, np.append(~same, True))], source_model
                )
        return part

    def add(self, *layers: Layer, max_regions: int = DEFAULT_MAX_REGIONS) -> Partition1D:
        """A new partition with ``layers`` applied after the current model."""
        return _compute_1d(
            self.domain,
            self._layers + tuple(layers),
            self.points,
            len(self.program.ops) if self._layers else 0,
            self.source_model,
            max_regions,
        )

    @property
    def num_regions(self) -> int:
        return len(self.points) - 1

    @property
    def breakpoints(self) -> np.ndarray:
        return self.points[1:-1]

    def _breakpoint_sources(self) -> tuple[np.ndarray, np.ndarray]:
        if "sources" not in self._cache:
            pats = self._all_patterns()
            n = self.num_regions - 1
            layer = np.full(n, -1, dtype=np.int64)
            unit = np.full(n, -1, dtype=np.int64)
            for i in sorted(pats, reverse=True):  # earliest layer wins
                p = pats[i].reshape(self.num_regions, -1)
                diff = p[1:] != p[:-1]
                any_diff = diff.any(axis=1)
                layer[any_diff] = i
                unit[any_diff] = diff[any_diff].argmax(axis=1)
            self._cache["sources"] = (layer, unit)
        return self._cache["sources"]

    @property
    def breakpoint_layer(self) -> np.ndarray:
        return self._breakpoint_sources()[0]

    @property
    def breakpoint_neuron(self) -> np.ndarray:
        return self._breakpoint_sources()[1]

    def lengths(self) -> np.ndarray:
        """``(F,) float64`` length of each piece."""
        return np.diff(self.points)

    def midpoints(self) -> np.ndarray:
        """``(F,) float64`` midpoint of each piece."""
        return 0.5 * (self.points[1:] + self.points[:-1])

    def _lift(self, coords: np.ndarray) -> np.ndarray:
        return self.domain.lift(coords.reshape(-1))

    def _interior(self) -> np.ndarray:
        return self.midpoints()[:, None]

    def _vertex_coords(self) -> np.ndarray:
        return self.points[:, None]

    def _check_coords(self, points: Any) -> np.ndarray:
        return as_finite(points, "points").reshape(-1, 1)

    def _contains(self, pts: np.ndarray) -> np.ndarray:
        tol = get_tolerance().point_rtol * self.domain.length
        s = pts[:, 0]
        return (s >= self.domain.lo - tol) & (s <= self.domain.hi + tol)

    def _locate_geometric(self, pts: np.ndarray) -> np.ndarray:
        i = np.searchsorted(self.points, pts[:, 0], side="right") - 1
        return np.clip(i, 0, self.num_regions - 1)

    def plot(self, ax: Any = None, **style: Any) -> Any:
        """Draw the outputs along the segment (see :func:`regionscope.render.plot_1d`)."""
        from . import render

        return render.plot_1d(self, ax=ax, **style)

    def to_png(self, path: Any = None, **style: Any) -> bytes:
        """PNG of the outputs along the segment (needs matplotlib)."""
        from . import render

        return render.to_png(self, path, **style)

    def to_svg(self, path: Any = None, **style: Any) -> str:
        """SVG of the outputs along the segment (needs matplotlib)."""
        from . import render

        return render.to_svg(self, path, **style)

    def save(self, path: Any) -> None:
        """Write to an ``.npz`` file (atomically); read back with :func:`regionscope.load`."""
        from .io import save_partition

        save_partition(self, path)

    def __repr__(self) -> str:
        return f"<Partition1D of {self.domain!r}: {self.num_regions} pieces>"


@_quiet_overflow
def _compute_1d(
    domain: Domain1D,
    layers: tuple[Layer, ...],
    points: np.ndarray,
    start: int,
    source_model: Any,
    max_regions: int,
) -> Partition1D:
    part = Partition1D(domain, layers, points, source_model)
    program = part.program
    tol = get_tolerance().point_rtol * domain.length
    for index, stage in _stage_plan(program, start):
        op = program.ops[index]
        layer = op.layer
        if stage == 0:
            before = points.copy()
        x = part._forward(points[:, None], stop=index, register=op.inputs[0])
        z = layer.stage_values(x, stage)  # type: ignore[attr-defined]
        _check_finite(z, op)
        s = core._classify(z)
        cross = (s[:-1] * s[1:]) < 0  # (pieces, units)
        piece, unit = np.nonzero(cross)
        za = z[piece, unit]
        zb = z[piece + 1, unit]
        t = za / (za - zb)
        roots = points[piece] + t * (points[piece + 1] - points[piece])
        allp = np.sort(np.concatenate([points, roots]))
        keep = np.ones(len(allp), dtype=bool)
        keep[1:] = np.diff(allp) > tol
        points = allp[keep]
        points[0], points[-1] = domain.lo, domain.hi
        if len(points) - 1 > max_regions:
            raise RegionLimitError(len(points) - 1, max_regions, f"layer {index}")
        if layer.merge and stage == layer.num_stages(op.in_width) - 1:  # type: ignore[attr-defined]
            mids = 0.5 * (points[1:] + points[:-1])
            pat = layer.pattern(part._forward(mids[:, None], stop=index, register=op.inputs[0]))  # type: ignore[attr-defined]
            pat = pat.reshape(len(mids), -1)
            # drop breakpoints this layer made where its pattern does not change
            same = (pat[1:] == pat[:-1]).all(axis=1) & ~np.isin(points[1:-1], before)
            points = points[np.append(True, np.append(~same, True))]
    return Partition1D(domain, layers, points, source_model)


# --------------------------------------------------------------------------------------
# entry points


def partition(
    model: Any,
    domain: Any = None,
    *,
    progress: bool = False,
    max_regions: int = DEFAULT_MAX_REGIONS,
    until: str | None = None,
) -> Partition | Partition1D:
    """Cut a domain into the activation regions of a network, exactly.

    Parameters
    ----------
    model : Layer or torch.nn.Module
        A regionscope network (:class:`~regionscope.layers.Sequential` of
        :class:`~regionscope.layers.Linear`, :class:`~regionscope.layers.ReLU`,
        ...), or a PyTorch module (converted with :mod:`regionscope.torch_import`).
    domain : Domain or float, optional
        :class:`~regionscope.domains.Box` (default ``Box(1.0)``),
        :class:`~regionscope.domains.Polygon`, :class:`~regionscope.domains.Plane`,
        or a 1-D :class:`~regionscope.domains.Interval` /
        :class:`~regionscope.domains.Segment`.  A number ``h`` means ``Box(h)``.
    progress : bool
        Show a progress bar (tqdm if installed) over the cutting steps.
    max_regions : int
        Stop with :class:`~regionscope.errors.RegionLimitError` (a
        ``ValueError``) beyond this many regions.
    until : str, optional
        For torch modules: stop after the module of this name.

    Returns
    -------
    Partition or Partition1D

    Notes
    -----
    Each piecewise layer cuts every region along the zero sets of its units,
    all units and all regions at once: in a region the units are affine, so
    their zero sets are chords of a convex polygon, and the region is replaced
    by the faces of their arrangement.  A layer costs one forward pass over the
    vertices plus work proportional to what it produces: the regions its
    units cross, their sides, and the chord crossings
    (``O(V n + (F_crossed + X) log)`` for ``V`` vertices, ``n`` units and
    ``X`` new crossings).  Max-pooling and argmax cut by the pairwise
    comparisons of a running maximum and then merge the pieces they cut
    needlessly.

    Examples
    --------
    >>> import regionscope as rs
    >>> net = rs.Sequential(rs.Linear([[1.0, -1.0]], [0.0]), rs.ReLU())
    >>> rs.partition(net, rs.Box(1.0)).num_regions
    2
    >>> rs.partition(net, rs.Box(1.0, 2.0, -1.0, 0.0)).num_regions
    1
    """
    if (
        not isinstance(max_regions, (int, np.integer))
        or isinstance(max_regions, bool)
        or max_regions < 1
    ):
        raise ValueError(f"max_regions must be a positive integer, got {max_regions!r}")
    dom = Box(1.0) if domain is None else coerce_domain(domain)
    layers, source = _as_layers(model, dom, until)
    if isinstance(dom, Domain2D):
        start = Partition.start(dom)
        return _compute_2d(dom, layers, start._mesh, 0, source, progress, int(max_regions))
    if isinstance(dom, Domain1D):
        return _compute_1d(dom, layers, np.array([dom.lo, dom.hi]), 0, source, int(max_regions))
    raise TypeError(f"unsupported domain {dom!r}")  # pragma: no cover


def load(path: Any) -> Partition | Partition1D:
    """Read a partition written by :meth:`Partition.save` (no pickles are loaded)."""
    from .io import load_partition

    return load_partition(path)
