"""Helpers for testing code that uses regionscope (and regionscope itself).

:func:`check_partition` verifies every invariant a partition must satisfy,
against independent computations (forward passes at random interior points,
geometry recomputed from scratch).  :func:`assert_partitions_equal` compares
two partitions as sets of regions.  The ``tiny_*`` functions build small
networks with hand-set weights whose regions are known by hand.

Examples
--------
>>> from regionscope.testing import check_partition, tiny_cross
>>> import regionscope as rs
>>> part = rs.partition(tiny_cross(), rs.Box(1.0))
>>> check_partition(part)
>>> part.num_regions
4
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .geometry import check_mesh
from .network.layers import Argmax, Linear, MaxPool, ReLU, Sequential

__all__ = [
    "check_partition",
    "assert_partitions_equal",
    "tiny_cross",
    "tiny_lines",
    "tiny_star",
    "line_arrangement_count",
    "random_mlp",
    "interior_points",
]


def tiny_cross() -> Sequential:
    """ReLU of ``x`` and ``y``: the two axes cut ``Box(1)`` into 4 quadrants."""
    return Sequential(Linear([[1.0, 0.0], [0.0, 1.0]]), ReLU())


def tiny_lines(lines: Any) -> Sequential:
    """One ReLU layer whose units are the lines ``a x + b y + c = 0`` (rows ``(a, b, c)``)."""
    abc = np.asarray(lines, dtype=np.float64).reshape(-1, 3)
    return Sequential(Linear(abc[:, :2], abc[:, 2]), ReLU())


def tiny_star(n: int) -> Sequential:
    """``n`` lines through the origin at evenly spaced angles: ``n`` concurrent lines, a
    degenerate arrangement of ``2 n`` regions around one vertex.

    >>> import regionscope as rs
    >>> rs.partition(tiny_star(3), rs.Box(1.0)).num_regions
    6
    """
    t = np.linspace(0, np.pi, n + 1)[:-1]
    return tiny_lines(np.stack([np.cos(t), np.sin(t), 0 * t], axis=1))


def random_mlp(
    widths: list[int],
    seed: int = 0,
    *,
    argmax: bool = False,
    maxout: int = 0,
) -> Sequential:
    """An MLP with PyTorch's default initialisation (uniform in ``+-1/sqrt(fan_in)``).

    ``widths = [2, h1, ..., hL]``: a ReLU after every linear layer.  With
    ``argmax``, the last width is a logit layer followed by :class:`Argmax`
    (no ReLU).  With ``maxout=k``, ReLUs are replaced by maxout over groups of
    ``k`` consecutive units.
    """
    rng = np.random.default_rng(seed)
    layers: list[Any] = []
    for i, (a, b) in enumerate(zip(widths[:-1], widths[1:], strict=True)):
        bound = 1.0 / math.sqrt(a)
        out = b * maxout if maxout and not (argmax and i == len(widths) - 2) else b
        layers.append(
            Linear(rng.uniform(-bound, bound, (out, a)), rng.uniform(-bound, bound, out))
        )
        if argmax and i == len(widths) - 2:
            layers.append(Argmax())
        elif maxout:
            layers.append(MaxPool(np.arange(out).reshape(b, maxout)))
        else:
            layers.append(ReLU())
    return Sequential(*layers)


def line_arrangement_count(lines: np.ndarray, box: tuple[float, float, float, float]) -> int:
    """Regions of lines in general position inside a box: ``1 + lines + crossings``.

    Counts only lines meeting the box's interior and crossings strictly inside.
    An independent oracle for one ReLU layer (Zaslavsky's count restricted to
    a convex domain).
    """
    abc = np.asarray(lines, dtype=np.float64).reshape(-1, 3)
    xmin, xmax, ymin, ymax = box
    corners = np.array([[xmin, ymin], [xmax, ymin], [xmax, ymax], [xmin, ymax]])
    vals = corners @ abc[:, :2].T + abc[:, 2]
    meets = (vals.max(axis=0) > 0) & (vals.min(axis=0) < 0)
    used = abc[meets]
    count = 1 + len(used)
    for i in range(len(used)):
        for j in range(i + 1, len(used)):
            m = np.array([used[i, :2], used[j, :2]])
            if abs(np.linalg.det(m)) < 1e-12:
                continue
            x, y = np.linalg.solve(m, -np.array([used[i, 2], used[j, 2]]))
            if xmin < x < xmax and ymin < y < ymax:
                count += 1
    return count


def interior_points(part: Any, n: int = 3, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Random points strictly inside every region: ``(points (F*n, 2), region (F*n,))``.

    Random convex combinations of each region's corners, pulled towards its
    centroid.
    """
    rng = np.random.default_rng(seed)
    offsets = part.region_offsets
    sizes = np.diff(offsets)
    f = np.repeat(np.arange(part.num_regions), n)
    # pick 3 random corners per sample, with random barycentric weights
    k = rng.integers(0, sizes[f][:, None], size=(len(f), 3))
    corners = part.vertices[part.region_vertices[offsets[f][:, None] + k]]
    w = rng.dirichlet(np.ones(3), size=len(f))
    p = np.einsum("nk,nkd->nd", w, corners)
    c = part.centroids()[f]
    return c + 0.9 * (p - c), f


def check_partition(part: Any, n: int = 3, seed: int = 0, rtol: float = 1e-9) -> None:
    """Check all invariants of a 2-D partition; raise ``AssertionError`` naming the broken one.

    - every region is convex, counter-clockwise, of positive area; areas sum to the domain's;
    - no duplicate or unused vertex, no vertex in the middle of a straight side of all its
      regions (degree 2) except the domain's corners;
    - every edge has a region on each side, or is on the domain boundary;
    - regions sharing an edge differ in at least one activation;
    - at random interior points the pattern equals the region's and the affine maps of
      every layer equal a plain forward pass (relative ``rtol``);
    - ``locate`` finds the region of its interior points.
    """
    check_mesh(part.mesh, part.domain.area)
    ev = part.edges
    degree = np.bincount(ev.ravel(), minlength=part.num_vertices)
    corners = part.mesh.num_corners
    if (degree[corners:] < 3).any():
        raise AssertionError(f"{int((degree[corners:] < 3).sum())} vertices of degree < 3")
    regions = part.edge_regions
    inner = regions[:, 1] >= 0
    keys = part.pattern_keys()
    same = keys[regions[inner, 0]] == keys[regions[inner, 1]]
    if same.any():
        raise AssertionError(f"{int(same.sum())} edges separate regions with equal patterns")
    if part.num_regions == 0:
        raise AssertionError("no regions")
    pts, owner = interior_points(part, n=n, seed=seed)
    pats = part.activation_patterns()
    # a fresh forward pass at the random points: where a pattern entry is decided (no
    # value within its unit's tolerance), it must be the region's
    got, sure = part.patterns_decided_at(pts)
    for i, p in pats.items():
        seen = got[i].reshape(len(pts), -1)
        want = p.reshape(part.num_regions, -1)[owner]
        bad = ((seen != want) & sure[i].reshape(len(pts), -1)).any(axis=1)
        if bad.any():
            raise AssertionError(
                f"layer {i}: pattern at {int(bad.sum())} interior points differs from the region's"
            )
    piecewise = set(part.piecewise_layers)
    check_layers = sorted({len(part.layers) - 1} | piecewise)
    for layer in check_layers:
        a, c = part.affine_maps(layer)
        mapped = np.einsum("fwd,fd->fw", a[owner], pts) + c[owner]
        direct = part.region_values(pts, layer)
        scale = max(1.0, float(np.abs(direct).max()))
        err = float(np.abs(mapped - direct).max()) if direct.size else 0.0
        if err > rtol * scale:
            raise AssertionError(
                f"layer {layer}: affine maps differ from the forward pass by {err}"
            )
    found = part.locate(pts)
    if not np.array_equal(found, owner):
        raise AssertionError(f"locate missed {int((found != owner).sum())} interior points")


def assert_partitions_equal(a: Any, b: Any, atol: float = 1e-9) -> None:
    """Assert two 2-D partitions have the same regions, in any order.

    Each region of ``a`` must contain the centroid of exactly one region of
    ``b`` with the same area and the same corners (within ``atol``).
    """
    if a.num_regions != b.num_regions:
        raise AssertionError(f"{a.num_regions} regions != {b.num_regions} regions")
    match = b.locate(a.centroids())
    if (match < 0).any() or len(np.unique(match)) != len(match):
        raise AssertionError("regions do not correspond one to one")
    if not np.allclose(a.areas(), b.areas()[match], rtol=0, atol=atol):
        raise AssertionError("matched regions differ in area")
    for f in range(a.num_regions):
        pa, pb = a.polygon(f), b.polygon(int(match[f]))
        if len(pa) != len(pb):
            raise AssertionError(f"region {f}: {len(pa)} corners != {len(pb)} corners")
        dist = np.abs(pa[:, None, :] - pb[None, :, :]).max(axis=2).min(axis=1)
        if (dist > atol).any():
            raise AssertionError(f"region {f}: corners differ by {float(dist.max())}")
