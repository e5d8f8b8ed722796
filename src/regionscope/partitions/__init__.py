"""Partitions of a domain into activation regions: :func:`partition`, the containers, files.

``base`` holds what 2-D and 1-D partitions share (patterns, values, affine
maps, :meth:`~base.PartitionBase.to_arrays`), ``planar`` the 2-D
:class:`Partition`, ``linear`` the 1-D :class:`Partition1D`.  This module
adds the entry points: :func:`partition` (model and domain in, partition out),
:func:`from_arrays` and :func:`load`.

Examples
--------
>>> import regionscope as rs
>>> net = rs.Sequential(rs.Linear([[1.0, -1.0]], [0.0]), rs.ReLU())
>>> part = rs.partition(net, rs.Box(1.0))
>>> again = from_arrays(part.to_arrays())
>>> type(again.domain).__name__, again.num_regions, again.layers[1].name
('Box', 2, '1')
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import numpy as np

from regionscope import backends, compute
from regionscope.compute.chain import program_chain
from regionscope.compute.chain2d import chain_2d
from regionscope.compute.estimate import Estimate, first_layer_estimate
from regionscope.compute.line import chain_1d, chain_1d_deferred
from regionscope.domains import Box, Domain1D, Domain2D, coerce_domain, domain_from_arrays
from regionscope.geometry import Mesh
from regionscope.network.coerce import as_layers
from regionscope.network.layers import Argmax, Sequential
from regionscope.network.program import compile_model
from regionscope.network.serialize import model_from_arrays

from .base import FORMAT, PartitionBase, pattern_hash, stats_from_json
from .linear import Partition1D
from .planar import Partition

__all__ = [
    "estimate",
    "Partition",
    "Partition1D",
    "PartitionBase",
    "partition",
    "load",
    "from_arrays",
    "pattern_hash",
]


def partition(
    model: Any,
    domain: Any = None,
    *,
    progress: bool | None = None,
    max_regions: int = compute.DEFAULT_MAX_REGIONS,
    until: str | None = None,
    decision: bool = False,
    backend: str | None = None,
    device: Any = None,
    scale_corners: Any = None,
) -> Partition | Partition1D:
    """Cut a domain into the activation regions of a network, exactly.

    Parameters
    ----------
    model : Layer or torch.nn.Module
        A regionscope network (:class:`~regionscope.network.layers.Sequential` of
        :class:`~regionscope.network.layers.Linear`,
        :class:`~regionscope.network.layers.ReLU`, ...), or a PyTorch module
        (converted with :mod:`regionscope.network.torch_import`).
    domain : Domain or float, optional
        :class:`~regionscope.domains.Box` (default ``Box(1.0)``),
        :class:`~regionscope.domains.Polygon`, :class:`~regionscope.domains.Plane`,
        or a 1-D :class:`~regionscope.domains.Interval` /
        :class:`~regionscope.domains.Segment`.  A number ``h`` means ``Box(h)``.
    progress : bool, optional
        Show a progress bar (tqdm if installed) over the cutting steps, after
        a line saying how many units of the first piecewise layer cross the
        domain and how many regions they make (:func:`estimate`).  By default
        it is shown on an interactive terminal when that layer alone makes
        200 000 regions or more.
    max_regions : int
        Stop with :class:`~regionscope.errors.RegionLimitError` (a
        ``ValueError``) beyond this many regions; at once, before any cut,
        when the first layer's lines alone make more.
    until : str, optional
        For torch modules: stop after the module of this name.
    decision : bool
        Also cut along the decision boundary of a classifier with ``K > 1``
        outputs (an :class:`~regionscope.network.layers.Argmax` after the
        network, unless it ends in one): every region then has one class.
        Off by default, so that region counts are those of the activation
        regions.  :meth:`Partition.with_decision` does the same afterwards.
    backend : {"auto", "numpy", "numba", "torch"}, optional
        Which implementation cuts (:func:`regionscope.backends.backend`); by
        default the one in force, ``"auto"``: numba's compiled kernels when
        numba is installed (``pip install regionscope[fast]``), else NumPy.
        ``"torch"`` runs the cuts on torch tensors on ``device``.  All give exactly
        the same partition, but numba's one-kernel Linear/ReLU chains (:mod:`~regionscope.
        compute.chain`) add products in their own order: vertices equal up to rounding.
    device : str or torch.device, optional
        For the torch backend: ``"cpu"``, ``"cuda"``, ``"cuda:1"``...; given
        alone, it means ``backend="torch"``.  By default a GPU when there is one.
    scale_corners : (K, dim) array_like of float64, optional
        For tiles (:func:`regionscope.partition_tiles`): points in the domain's
        coordinates whose unit magnitudes give the unit scales, hence the unit
        tolerances (:func:`regionscope.compute.evaluator`); a tile passes the
        whole domain's corners, to decide every sign as the whole domain's
        partition does.  By default the domain's own corners.

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
    needlessly.  Signs are decided by the snapping rule of
    :mod:`regionscope.tolerances`.

    Examples
    --------
    >>> import regionscope as rs
    >>> net = rs.Sequential(rs.Linear([[1.0, -1.0]], [0.0]), rs.ReLU())
    >>> rs.partition(net, rs.Box(1.0)).num_regions
    2
    >>> rs.partition(net, rs.Box(1.0, 2.0, -1.0, 0.0)).num_regions
    1
    >>> rs.partition(net, rs.Box(1.0), backend="numpy").num_regions
    2
    """
    if device is not None and backend is None:
        backend = "torch"
    if backend is not None:
        with backends.backend(backend, device=device):
            return partition(
                model, domain, progress=progress, max_regions=max_regions, until=until,
                decision=decision, scale_corners=scale_corners,
            )  # fmt: skip
    _check_max_regions(max_regions)
    plain = not (until or decision or scale_corners is not None)
    if plain and (line := _deferred_line(model, domain, int(max_regions))):
        return line
    dom = Box(1.0) if domain is None else coerce_domain(domain)
    # an MLP in one call (and a classifier's argmax after it by the driver)
    chained = not (until or progress or scale_corners is not None) and isinstance(dom, Domain2D)
    if chained and not decision and (plane := _chain_plane(model, dom, max_regions)):
        return plane
    program = _program(model, dom, until, decision)
    if isinstance(dom, Domain1D):
        return _partition_1d(program, dom, int(max_regions), scale_corners)
    if chained and (plane := _chain_plane(model, dom, max_regions, program, not decision)):
        return plane
    ev = compute.evaluator(dom, program, scale_corners)
    if isinstance(dom, Domain2D):
        mesh = Mesh.from_polygon(dom.polygon)
        mesh, seconds = compute.cut_2d(
            ev, dom, mesh, 0, progress=progress, max_regions=int(max_regions)
        )
        return Partition(dom, mesh, ev, {"layer_seconds": seconds})
    raise TypeError(f"unsupported domain {dom!r}")  # pragma: no cover


def _check_max_regions(max_regions: Any) -> None:
    if (
        not isinstance(max_regions, (int, np.integer))
        or isinstance(max_regions, bool)
        or max_regions < 1
    ):
        raise ValueError(f"max_regions must be a positive integer, got {max_regions!r}")


def _deferred_line(model: Any, domain: Any, max_regions: int) -> Partition1D | None:
    """A sweep's commonest call: a Sequential of Linear and ReLU layers on a Segment or an
    Interval, by :func:`~regionscope.compute.line.chain_1d_deferred` (the program put off
    until a query asks; it refuses other domains itself); ``None`` for anything else."""
    if type(model) is Sequential:
        done = chain_1d_deferred(model.layers, domain, max_regions=max_regions)
        if done is not None:
            return Partition1D(domain, *done)
    return None


def _program(model: Any, domain: Any, until: str | None, decision: bool) -> Any:
    """The model compiled for the domain's inputs, an argmax after it with ``decision``."""
    layers = as_layers(model, domain.input_shape, until)
    program = compile_model(Sequential(*layers), domain.input_dim)
    if decision and program.out_width > 1 and not isinstance(program.ops[-1].layer, Argmax):
        program = compile_model(Sequential(*layers, Argmax()), domain.input_dim)
    return program


def _chain_plane(
    model: Any, domain: Domain2D, max_regions: int, program: Any = None, tried: bool = True
) -> Partition | None:
    """A chain of Linear and ReLU layers on a polygon or a plane, in one compiled call
    (:func:`~regionscope.compute.chain2d.chain_2d`; an argmax or another piecewise layer
    after it, by the driver): a Sequential's layers before any program is compiled, or
    (``program`` given) the ops of another model compiled (a torch MLP, or a Sequential
    with the argmax of ``decision``, unless ``tried`` already), each reading the one
    before; ``None`` for anything else."""
    if program is None:
        if type(model) is not Sequential:
            return None
        done = chain_2d(model.layers, domain, max_regions=int(max_regions))
    elif (tried and type(model) is Sequential) or (layers := program_chain(program)) is None:
        return None  # (a Sequential was tried already)
    else:
        done = chain_2d(layers, domain, max_regions=int(max_regions), program=program)
    return None if done is None else Partition(domain, *done)


def _partition_1d(
    program: Any, dom: Domain1D, max_regions: int, scale_corners: Any
) -> Partition1D:
    """:func:`partition` of a 1-D domain: a chain of Linear and ReLU layers in one pass
    (:func:`~regionscope.compute.line.chain_1d`), any other network by its evaluator and
    :func:`~regionscope.compute.line.cut_1d`."""
    if scale_corners is None and (done := chain_1d(program, dom, max_regions=max_regions)):
        return Partition1D(dom, done[1], done[0])
    ev = compute.evaluator(dom, program, scale_corners)
    points = compute.cut_1d(ev, dom, np.array([dom.lo, dom.hi]), 0, max_regions=max_regions)
    return Partition1D(dom, points, ev)


def estimate(model: Any, domain: Any = None, *, until: str | None = None) -> Estimate | None:
    """What the first piecewise layer makes in a 2-D domain, counted before any cut.

    Its first stage's units are lines in the domain; the count is exact:
    units whose line crosses the domain, their crossings inside it, and the
    ``1 + lines + crossings`` regions of their arrangement (for lines in
    general position).  For a layer that never merges (ReLU, LeakyReLU,
    HardTanh) that is a floor on the final region count: later layers only
    cut further.  It costs one pass over the units, so it is the thing to
    ask before a long run.

    Returns
    -------
    Estimate or None
        ``None`` for a network without a piecewise layer.

    Examples
    --------
    >>> import regionscope as rs
    >>> net = rs.Sequential(rs.Linear([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]], [0.0, 0.0, 9.0]),
    ...                     rs.ReLU())
    >>> est = rs.estimate(net, rs.Box(1.0))
    >>> est.units, est.crossing, est.crossings, est.regions
    (3, 2, 1, 4)
    """
    dom = Box(1.0) if domain is None else coerce_domain(domain)
    if not isinstance(dom, Domain2D):
        raise TypeError(f"estimate needs a 2-D domain, got {dom!r}")
    layers = as_layers(model, dom.input_shape, until)
    ev = compute.evaluator(dom, compile_model(Sequential(*layers), dom.input_dim))
    return first_layer_estimate(ev, dom.polygon)


def _array(arrays: Mapping[str, Any], key: str, dtype_kinds: str, ndim: int) -> np.ndarray:
    if key not in arrays:
        raise ValueError(f"the partition has no {key!r} array")
    arr = np.asarray(arrays[key])
    if arr.dtype.kind not in dtype_kinds or arr.ndim != ndim:
        raise ValueError(
            f"the partition's {key!r} array has dtype {arr.dtype} and shape {arr.shape}; "
            f"expected {ndim} dimension(s) of kind {dtype_kinds!r}"
        )
    if arr.dtype.kind == "f" and not np.isfinite(arr).all():
        raise ValueError(f"the partition's {key!r} array holds NaN or infinity")
    return arr


def _mesh_from_arrays(arrays: Mapping[str, Any]) -> Mesh:
    vertices = _array(arrays, "vertices", "f", 2).astype(np.float64)
    rv = _array(arrays, "region_vertices", "iu", 1).astype(np.int64)
    offsets = _array(arrays, "region_offsets", "iu", 1).astype(np.int64)
    source = _array(arrays, "incidence_source", "iu", 1).astype(np.int64)
    corners = int(_array(arrays, "num_corners", "iu", 0))
    nverts = len(vertices)
    if vertices.shape[1:] != (2,):
        raise ValueError(f"the partition's vertices must have shape (V, 2), got {vertices.shape}")
    if (
        len(offsets) < 2
        or offsets[0] != 0
        or offsets[-1] != len(rv)
        or (np.diff(offsets) < 3).any()
    ):
        raise ValueError("the partition's region_offsets do not describe regions of 3+ corners")
    if len(rv) and (rv.min() < 0 or rv.max() >= nverts):
        raise ValueError(f"the partition's region_vertices are not all in 0..{nverts - 1}")
    if len(source) != len(rv):
        raise ValueError("the partition's incidence_source and region_vertices differ in length")
    if not 3 <= corners <= nverts:
        raise ValueError(f"the partition's num_corners {corners} is not in 3..{nverts}")
    return Mesh(vertices, rv, offsets, source, corners)


def from_arrays(arrays: Mapping[str, Any]) -> Partition | Partition1D:
    """Rebuild a partition from :meth:`~regionscope.partitions.base.PartitionBase.to_arrays`.

    Raises ``ValueError`` naming what is missing or inconsistent.
    """
    if "format" not in arrays or str(np.asarray(arrays["format"])) != FORMAT:
        raise ValueError(f"not a regionscope partition (no format {FORMAT!r})")
    model = model_from_arrays(str(np.asarray(arrays.get("model", ""))), arrays)
    layers = model.layers if isinstance(model, Sequential) else (model,)
    desc = {k[len("domain/") :]: np.asarray(arrays[k]) for k in arrays if k.startswith("domain/")}
    desc = {k: (str(v) if v.dtype.kind == "U" else v) for k, v in desc.items()}
    if "kind" not in desc:
        raise ValueError("the partition has no domain")
    domain = domain_from_arrays(desc)
    stats = stats_from_json(json.loads(str(np.asarray(arrays.get("stats", "{}")))))
    program = compile_model(Sequential(*layers), domain.input_dim)
    ev = compute.evaluator(domain, program)
    kind = str(np.asarray(arrays.get("kind", "")))
    if kind == "2d":
        if not isinstance(domain, Domain2D):
            raise ValueError("a 2-D partition must hold a 2-D domain")
        return Partition(domain, _mesh_from_arrays(arrays), ev, stats)
    if kind == "1d":
        if not isinstance(domain, Domain1D):
            raise ValueError("a 1-D partition must hold a 1-D domain")
        points = _array(arrays, "points", "f", 1)
        if len(points) < 2 or (np.diff(points) <= 0).any():
            raise ValueError("the partition's points are not increasing")
        return Partition1D(domain, points, ev, stats)
    raise ValueError(f"unknown partition kind {kind!r} (expected '2d' or '1d')")


def load(path: Any) -> Partition | Partition1D:
    """Read a partition written by :meth:`Partition.save` (no pickles are loaded).

    Problems with the file raise ``ValueError`` naming the file.
    """
    from regionscope.io import load_arrays

    arrays = load_arrays(path)
    try:
        return from_arrays(arrays)
    except ValueError as exc:
        raise ValueError(f"{path!s}: {exc}") from None
