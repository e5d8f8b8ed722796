"""What 2-D and 1-D partitions share: the network, patterns, values, affine maps, files.

Definition used throughout: an *activation region* is a set of inputs that
share one activation pattern in every piecewise layer (ReLU on/off, which
input of a max is largest, ...).  For the networks regionscope takes each
such set is convex, and the network is affine on it.  (Neighbouring regions
may happen to carry the same affine map; regionscope does not merge them:
they are distinct activation regions.  See Stargalla, Hertrich and Reichman,
2025, on the several definitions of "linear region" in the literature.)

A partition holds its domain, its compiled network (an
:class:`~regionscope.network.evaluate.Evaluator`, compiled once) and its
geometry (a :class:`~regionscope.geometry.Mesh`, or sorted points in 1-D).
Everything else is derived on demand and cached read-only.

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

import functools
import json
from collections.abc import Callable
from typing import Any

import numpy as np

from regionscope import compute
from regionscope.domains import Domain
from regionscope.geometry.arrays import mix64, read_only
from regionscope.network.evaluate import Evaluator
from regionscope.network.layers import Layer, Sequential
from regionscope.network.program import Program
from regionscope.network.serialize import model_to_arrays
from regionscope.tolerances import get_budget

from .fixed import Fixed, fixed_units
from .maps import RegionCorners, walk_maps

__all__ = ["PartitionBase", "pattern_hash", "FORMAT", "stats_to_json", "stats_from_json"]

#: a layer's pattern alone is found along the walk (with every pattern before it) when at
#: most this fraction of the units are live (:mod:`~regionscope.partitions.fixed`), by a
#: forward pass through the layers before it at every vertex otherwise
FEW_LIVE = 0.05
#: the file format written by :meth:`Partition.to_arrays`
FORMAT = "regionscope-1"


def pattern_hash(patterns: dict[int, np.ndarray], n: int) -> np.ndarray:
    """``(n,) uint64`` hash of the patterns of all layers (stable across partitions).

    >>> a = pattern_hash({1: np.array([[True, False]])}, 1)
    >>> b = pattern_hash({1: np.array([[False, True]])}, 1)
    >>> bool(a[0] != b[0])
    True
    >>> c = pattern_hash({0: np.array([[True, False]])}, 1)  # unit 0 of op 0 counts too
    >>> d = pattern_hash({0: np.array([[False, False]])}, 1)
    >>> bool(c[0] != d[0])
    True
    """
    key = np.zeros(n, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for layer in sorted(patterns):
            p = patterns[layer].reshape(n, -1)
            cols = np.arange(p.shape[1], dtype=np.uint64)
            weights = mix64(cols + np.uint64(layer) * np.uint64(0x9E3779B97F4A7C15))
            weights[weights == 0] = np.uint64(0x9E3779B97F4A7C15)  # mix64(0) is 0: unit 0 of op 0
            h = _weighted_sums(p, weights)
            key = mix64(key ^ mix64(h + np.uint64(layer)))
    return key


@functools.lru_cache(maxsize=16)
def _byte_table(key: bytes) -> tuple[np.ndarray, np.uint64]:
    """For weights ``(k,) uint64`` (given as bytes): ``(ceil(k / 8), 256)`` sums of the weights
    of the set bits of each byte value (in :func:`numpy.packbits` order), and their total."""
    weights = np.frombuffer(key, dtype=np.uint64)
    k = len(weights)
    nbytes = -(-k // 8)
    w = np.zeros(nbytes * 8, dtype=np.uint64)
    w[:k] = weights
    bits = np.unpackbits(np.arange(256, dtype=np.uint8)[:, None], axis=1)  # as packbits
    table = (bits[None, :, :] * w.reshape(nbytes, 1, 8)).sum(axis=2, dtype=np.uint64)
    return read_only(table), weights.sum(dtype=np.uint64)


def _byte_sums(weights: np.ndarray) -> tuple[np.ndarray, np.uint64]:
    """:func:`_byte_table` of ``weights``, computed once per distinct weights (a layer's, the
    same in every partition and every tile)."""
    return _byte_table(np.ascontiguousarray(weights, dtype=np.uint64).tobytes())


def _weighted_sums(p: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """``((p + 1) * weights).sum(axis=1)`` in wrapping ``uint64``, ``(n,)``, in blocks of
    rows; a bool ``p`` by bytes of 8 columns and a table of the 256 sums of their weights."""
    n, k = p.shape
    out = np.empty(n, dtype=np.uint64)
    if p.dtype == bool:
        nbytes = -(-k // 8)
        table, total = _byte_sums(weights)
        step = max(1, get_budget().chunk_values // max(nbytes, 1))
        for s in range(0, n, step):
            packed = np.packbits(p[s : s + step], axis=1)
            got = table[np.arange(nbytes)[None, :], packed].sum(axis=1, dtype=np.uint64)
            out[s : s + step] = got + total
        return out
    step = max(1, get_budget().chunk_values // max(k, 1))
    for s in range(0, n, step):
        q = (p[s : s + step].astype(np.int64) + 1).astype(np.uint64)
        out[s : s + step] = (q * weights[None, :]).sum(axis=1, dtype=np.uint64)
    return out


class PartitionBase:
    """What 2-D and 1-D partitions share: the network, patterns, values, affine maps."""

    domain: Domain

    def __init__(
        self,
        domain: Domain,
        ev: Evaluator | Callable[[], Evaluator],
        stats: dict[str, Any] | None,
    ) -> None:
        self.domain = domain
        # the evaluator, or the function that makes it when first asked (a 1-D chain's
        # partition: compute.line.chain_1d_deferred)
        self._ev_or_maker = ev
        #: what the cut measured: ``timings["layer_seconds"]`` (seconds per piecewise op),
        #: ``timings["chain_seconds"]`` (a compiled chain's whole time)
        self.timings: dict[str, Any] = dict(stats or {})
        self._cache: dict[Any, Any] = {}

    @property
    def _ev(self) -> Evaluator:
        """The network's evaluator (made now if it was put off)."""
        ev = self._ev_or_maker
        if not isinstance(ev, Evaluator):
            ev = self._ev_or_maker = ev()  # type: ignore[operator]
        return ev  # type: ignore[return-value]

    # -- the network -------------------------------------------------------------------

    @property
    def program(self) -> Program:
        """The compiled network (:class:`~regionscope.network.program.Program`)."""
        return self._ev.program

    @property
    def model(self) -> Sequential:
        """The network as a regionscope :class:`~regionscope.network.layers.Sequential`."""
        return self.program.model

    @property
    def layers(self) -> tuple[Any, ...]:
        """The compiled ops; ``layers[i]`` is layer index ``i`` (``.name``, ``.layer``)."""
        return self.program.ops

    @property
    def piecewise_layers(self) -> tuple[int, ...]:
        """Layer indices of the piecewise (cutting) layers."""
        return self.program.piecewise

    def _extended(self, layers: tuple[Any, ...]) -> tuple[int, Evaluator]:
        """For ``add``: the first new op, and the evaluator of the model with ``layers`` after."""
        for i, layer in enumerate(layers):
            if not isinstance(layer, Layer):
                raise TypeError(f"add: argument {i} is a {type(layer).__name__}, not a layer")
        start = len(self.program.ops) if self.program.layers else 0
        return start, compute.evaluator(self.domain, self.program.extend(*layers))

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

    # -- to be provided by each kind -----------------------------------------------------

    @property
    def num_regions(self) -> int:
        raise NotImplementedError

    def _interior(self) -> np.ndarray:
        raise NotImplementedError

    def _corners(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
        """``(vertex coordinates, region_vertices, region_offsets, incidence_source)``."""
        raise NotImplementedError

    def _vertex_coords(self) -> np.ndarray:
        raise NotImplementedError

    def _check_coords(self, points: Any) -> np.ndarray:
        raise NotImplementedError

    def _contains(self, pts: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _locate_geometric(self, pts: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _locate_inside(self, pts: np.ndarray) -> np.ndarray:
        """The region each point lies well inside (beyond snapping of every side), else -1."""
        return np.full(len(pts), -1, dtype=np.int64)

    # -- patterns ----------------------------------------------------------------------

    def _all_patterns(self) -> dict[int, np.ndarray]:
        if "patterns" not in self._cache:
            piecewise = self.program.piecewise
            if piecewise and self.num_regions > 1:
                self._walk_patterns(piecewise[-1])
            else:
                coords, rv, offsets, sources = self._corners()
                result = self._ev.region_patterns(
                    coords, rv, offsets, self._interior(), incidence_source=sources
                )
                self._cache["patterns"] = {k: read_only(v) for k, v in result.items()}
        return self._cache["patterns"]

    def _known_patterns(self, index: int) -> dict[int, np.ndarray]:
        """The patterns found already of the piecewise ops up to ``index``."""
        if "patterns" in self._cache:
            return {i: p for i, p in self._cache["patterns"].items() if i <= index}
        return {
            i: self._cache[("pattern", i)]
            for i in self.program.piecewise
            if i <= index and ("pattern", i) in self._cache
        }

    def _keep_patterns(self, found: dict[int, np.ndarray]) -> None:
        """Keep patterns found along a walk through every region."""
        for i, p in found.items():
            self._cache[("pattern", i)] = read_only(p)
        piecewise = self.program.piecewise
        if all(("pattern", i) in self._cache for i in piecewise):
            self._cache["patterns"] = {i: self._cache.pop(("pattern", i)) for i in piecewise}

    def _fixed(self) -> dict[int, Fixed]:
        """The units whose pattern is the same in every region (from bounds over the
        vertices' box, :func:`~regionscope.partitions.fixed.fixed_units`), computed once."""
        if "fixed" not in self._cache:
            self._cache["fixed"] = fixed_units(self._ev, self._vertex_coords())
        return self._cache["fixed"]

    def _region_corners(self) -> RegionCorners:
        coords, rv, offsets, sources = self._corners()
        return RegionCorners(coords, rv, offsets, sources, self._interior())

    def _walk_patterns(self, index: int) -> None:
        """Find the patterns of the piecewise ops up to ``index`` along a walk through
        neighbouring regions, each from its input's maps at the regions' corners
        (:func:`~regionscope.partitions.maps.walk_maps`; no forward pass at the vertices)."""
        walk = self._walk(np.arange(self.num_regions))
        known = self._known_patterns(index)
        _, _, found = walk_maps(
            self._ev, index, known, walk, self._region_corners(), maps=False, fixed=self._fixed()
        )
        self._keep_patterns(found)

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
        if layer is None:
            return dict(self._all_patterns())
        return self._layer_patterns(self._layer_index(layer, piecewise=True))

    def _layer_patterns(self, index: int) -> np.ndarray:
        """The pattern of piecewise op ``index``: from all patterns when known, else that
        op's alone (the corner bits of one layer, not of every layer)."""
        if "patterns" in self._cache:
            return self._cache["patterns"][index]
        key = ("pattern", index)
        before = [i for i in self.program.piecewise if i < index]
        known = self._known_patterns(index)
        const = self._fixed().get(index)
        if key not in self._cache and const is not None and not len(const.live):
            got = np.empty((self.num_regions, len(const.pattern)), dtype=const.pattern.dtype)
            got[:] = const.pattern  # the same in every region
            self._cache[key] = read_only(got)
        fixed = self._fixed().values()
        units = sum(len(f.pattern) for f in fixed)
        nearly = units and sum(len(f.live) for f in fixed) <= FEW_LIVE * units
        walk = nearly or all(i in known for i in before)
        if key not in self._cache and self.num_regions > 1 and walk:
            # from the maps, with the patterns before it (cheap when most units are fixed)
            self._walk_patterns(index)
            if "patterns" in self._cache:
                return self._cache["patterns"][index]
        if key not in self._cache:
            coords, rv, offsets, sources = self._corners()
            got = self._ev.region_patterns(
                coords, rv, offsets, self._interior(), (index,), incidence_source=sources
            )[index]
            self._cache[key] = read_only(got)
        return self._cache[key]

    def patterns_at(self, points: Any) -> dict[int, np.ndarray]:
        """Pattern of every piecewise layer at domain points (a fresh forward pass).

        The same snapping rule as the cut: at a point inside a region it is
        the region's pattern, except for entries within rounding of a tie
        (see :meth:`patterns_decided_at`).
        """
        return self._ev.patterns(self._check_coords(points))

    def patterns_decided_at(
        self, points: Any
    ) -> tuple[dict[int, np.ndarray], dict[int, np.ndarray]]:
        """Patterns at domain points, and which entries hold by more than the tolerance.

        A decided entry equals the pattern of the region the point is in; an
        undecided one (the point lies within rounding of the unit's zero set,
        e.g. inside a region thinner than the tolerance) may not.
        """
        return self._ev.patterns_decided(self._check_coords(points))

    def pattern_keys(self) -> np.ndarray:
        """``(F,) uint64`` hash of each region's full activation pattern.

        Equal patterns give equal keys in any partition of any network with the
        same layer structure, so colours derived from them stay put while the
        weights change a little (during training, say).
        """
        if "keys" not in self._cache:
            self._cache["keys"] = read_only(pattern_hash(self._all_patterns(), self.num_regions))
        return self._cache["keys"]

    # -- values and maps -----------------------------------------------------------------

    def vertex_values(self, layer: int | str = -1) -> np.ndarray:
        """Output of ``layer`` at every vertex: ``(V, width) float64``."""
        return self._ev.output(self._vertex_coords(), self._layer_index(layer))

    def region_values(self, points: Any, layer: int | str = -1) -> np.ndarray:
        """Output of ``layer`` at domain points: ``(N, width) float64`` (a forward pass)."""
        return self._ev.output(self._check_coords(points), self._layer_index(layer))

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

        Notes
        -----
        The maps are composed exactly, layer by layer, from the domain's lift
        and each region's pattern (:meth:`Evaluator.affine_maps
        <regionscope.network.evaluate.Evaluator.affine_maps>`): no finite
        differences, so they hold to rounding at any scale of the domain.

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
        sel = (
            np.arange(self.num_regions)
            if regions is None
            else np.asarray(regions, dtype=np.int64).reshape(-1)
        )
        if len(sel) and (sel.min() < 0 or sel.max() >= self.num_regions):
            raise ValueError(f"regions must be in 0..{self.num_regions - 1}")
        if index >= self._ev.prefix and len(sel) > 1:
            # along a walk through neighbouring regions: wide linear ops by their columns,
            # the patterns not known yet found on the way (every region's, when all asked)
            walk = self._walk(sel)
            # (a partition that finds patterns its own way, the 1-D one, computes them first)
            if regions is None and type(self)._all_patterns is PartitionBase._all_patterns:
                known = self._known_patterns(index)
                corners, fixed = self._region_corners(), self._fixed()
                a, c, found = walk_maps(self._ev, index, known, walk, corners, fixed=fixed)
                self._keep_patterns(found)
            else:
                every = self._known_patterns(index)
                if any(i not in every for i in self.program.piecewise if i <= index):
                    every = self._all_patterns()
                a, c, _ = walk_maps(self._ev, index, every, sel[walk], fixed=self._fixed())
            back = np.empty(len(sel), dtype=np.int64)
            back[walk] = np.arange(len(sel))
            return a[back], c[back]  # type: ignore[index]
        every = self._all_patterns()
        pats = {i: p[sel] for i, p in every.items() if i <= index}
        lift_linear, lift_offset = self._ev.lift_linear, self._ev.lift_offset
        return self._ev.affine_maps(index, pats, lift_linear, lift_offset, num_regions=len(sel))

    def _walk(self, regions: np.ndarray) -> np.ndarray:
        """An order of ``regions`` that keeps neighbours together (positions into it)."""
        return np.arange(len(regions))

    def locate(self, points: Any) -> np.ndarray:
        """Region index of each point (``-1`` outside the domain).

        A point on a shared side or corner gets one of the regions touching it.
        A point inside a region by more than the snapping distance of each side
        is found by the polygons (until the patterns are known); the others,
        when their pattern is decided (no unit within its tolerance), by their
        pattern, and the rest by the regions' polygons.

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
        idx = np.flatnonzero(self._contains(pts))
        if len(idx) == 0 or self.num_regions == 0:
            return out
        if "patterns" not in self._cache:  # points well inside a region need no pattern
            inside = self._locate_inside(pts[idx])
            out[idx[inside >= 0]] = inside[inside >= 0]
            idx = idx[inside < 0]
            if len(idx) == 0:
                return out
        pats, sure = self._ev.patterns_decided(pts[idx])
        keys = pattern_hash(pats, len(idx))
        decided = np.ones(len(idx), dtype=bool)
        for s in sure.values():
            decided &= s.reshape(len(idx), -1).all(axis=1)
        rkeys = self.pattern_keys()
        order = np.argsort(rkeys, kind="stable")
        pos = np.minimum(np.searchsorted(rkeys[order], keys), len(order) - 1)
        found = (rkeys[order][pos] == keys) & decided
        out[idx[found]] = order[pos[found]]
        missing = idx[~found]
        if len(missing):
            out[missing] = self._locate_geometric(pts[missing])
        return out

    def to_arrays(self) -> dict[str, np.ndarray]:
        """Everything needed to rebuild this partition, as named arrays (:func:`from_arrays`)."""
        text, arrays = model_to_arrays(self.model)
        out: dict[str, np.ndarray] = {
            "format": np.array(FORMAT),
            "model": np.array(text),
            "stats": np.array(json.dumps(stats_to_json(self.timings))),
            **arrays,
        }
        for key, value in self.domain.to_arrays().items():
            out[f"domain/{key}"] = np.asarray(value)
        return out

    def save(self, path: Any) -> None:
        """Write to an ``.npz`` file (atomically); read back with :func:`regionscope.load`."""
        from regionscope.io import save_arrays

        save_arrays(path, self.to_arrays())


def stats_to_json(stats: dict[str, Any]) -> dict[str, Any]:
    """Stats with integer dict keys as strings, for JSON (reversed by :func:`stats_from_json`)."""
    out: dict[str, Any] = {}
    for key, value in stats.items():
        if isinstance(value, dict):
            out[key] = {"__int_keys__": {str(k): v for k, v in value.items()}}
        else:
            out[key] = value
    return out


def stats_from_json(stats: dict[str, Any]) -> dict[str, Any]:
    return {
        key: {int(k): v for k, v in value["__int_keys__"].items()}
        if isinstance(value, dict) and "__int_keys__" in value
        else value
        for key, value in stats.items()
    }
