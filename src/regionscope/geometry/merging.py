"""Merge adjacent regions with equal keys, and drop vertices left in the middle of a side.

Max-pooling and argmax cut along every comparison of a running maximum, more
than they need to; :func:`merge` joins the pieces whose patterns agree.

Examples
--------
Two unit squares side by side with equal keys become one rectangle, and the
two vertices in the middle of its long sides go.

>>> import numpy as np
>>> from regionscope.geometry.mesh import Mesh
>>> xy = np.array([[0.0, 0], [2, 0], [2, 1], [0, 1], [1, 0], [1, 1]])
>>> mesh = Mesh(xy, np.array([0, 4, 5, 3, 4, 1, 2, 5]), np.array([0, 4, 8]),
...             np.array([-1, 7, -1, -1, -1, -1, -1, 7]), 4)
>>> merged, group, kept = merge(mesh, np.array([3, 3]), np.ones(8, dtype=bool))
>>> merged.num_regions, merged.num_vertices, group.tolist(), kept.tolist()
(1, 4, [0, 0], [True, True, True, True, False, False])
"""

from __future__ import annotations

import numpy as np

from regionscope.backends import compiled

from .arrays import components, cycles, expand, lexsort2
from .mesh import Mesh

__all__ = ["merge", "merge_across", "interior_sides", "drop_degree_two"]


def interior_sides(mesh: Mesh) -> tuple[np.ndarray, np.ndarray]:
    """The two incidences of every side shared by two regions: ``(i1, i2)``, each ``(S,)``.

    >>> square = Mesh.from_polygon(np.array([[0.0, 0], [1, 0], [1, 1], [0, 1]]))
    >>> [len(i) for i in interior_sides(square)]
    [0, 0]
    """
    if compiled():
        from .kernels import merge as kernels

        return kernels.interior_sides(mesh)
    key = mesh.side_keys
    order = key.argsort(kind="stable")
    pair = (key[order][1:] == key[order][:-1]).nonzero()[0]
    return order[pair], order[pair + 1]


def merge(
    mesh: Mesh, region_key: np.ndarray, removable: np.ndarray
) -> tuple[Mesh, np.ndarray, np.ndarray]:
    """Merge adjacent regions with equal keys across removable sides.

    Parameters
    ----------
    mesh : Mesh
    region_key : (F,) or (F, k) array
        Regions with equal keys (rows) that share a removable side are merged.
    removable : (I,) bool
        Which sides (by incidence) may be removed.

    Returns
    -------
    mesh : Mesh
        Merged mesh, with vertices left in the middle of a straight side (or
        inside a region) removed.
    group : (F,) int64
        New region of each old region.
    kept : (V,) bool
        Which old vertices remain (in order).
    """
    i1, i2 = interior_sides(mesh)
    r1 = mesh.incidence_region[i1]
    r2 = mesh.incidence_region[i2]
    join = removable[i1] & removable[i2]
    same = region_key[r1[join]] == region_key[r2[join]]
    if same.ndim > 1:
        same = same.all(axis=1)
    join[join] = same
    return merge_across(mesh, i1[join], i2[join])


def merge_across(
    mesh: Mesh, i1: np.ndarray, i2: np.ndarray
) -> tuple[Mesh, np.ndarray, np.ndarray]:
    """Remove the sides whose two incidences are ``i1[j]`` and ``i2[j]``, joining regions.

    Returns as :func:`merge`.
    """
    nregions = mesh.num_regions
    nverts = mesh.num_vertices
    if len(i1) == 0:
        return mesh, np.arange(nregions, dtype=np.int64), np.ones(nverts, dtype=bool)
    if compiled():
        from .kernels import merge as kernels

        vertices, rv, offsets, source, group, kept = kernels.merge_across(mesh, i1, i2)
        return Mesh(vertices, rv, offsets, source, mesh.num_corners), group, kept
    a = mesh.region_vertices
    b = a[mesh.incidence_next]
    comp = components(nregions, mesh.incidence_region[i1], mesh.incidence_region[i2])
    drop = np.zeros(len(a), dtype=bool)
    drop[i1] = True
    drop[i2] = True
    # the remaining sides of each component form its boundary cycle
    keep = (~drop).nonzero()[0]
    h_comp = comp[mesh.incidence_region[keep]]
    h_orig = a[keep]
    o = lexsort2(h_orig, h_comp)
    sorted_key = h_comp[o] * np.int64(nverts) + h_orig[o]
    succ = o[np.searchsorted(sorted_key, h_comp * np.int64(nverts) + b[keep])]
    offsets, idx = cycles(succ)
    starts = offsets[:-1]
    # order regions by component id so that group maps old -> new
    cycle_comp = h_comp[idx[starts]]
    corder = cycle_comp.argsort(kind="stable")
    counts = np.diff(offsets)[corder]
    s_own, s_k = expand(counts)
    sel = idx[starts[corder][s_own] + s_k]
    group = np.searchsorted(cycle_comp[corder], comp)
    merged = Mesh(
        mesh.vertices,
        h_orig[sel],
        np.append(0, np.cumsum(counts)).astype(np.int64),
        mesh.incidence_source[keep][sel],
        mesh.num_corners,
    )
    out, kept = drop_degree_two(merged)
    return out, group, kept


def drop_degree_two(mesh: Mesh) -> tuple[Mesh, np.ndarray]:
    """Remove vertices with two neighbours (other than domain corners) and unused vertices.

    Returns the new mesh and ``kept (V,) bool``, the old vertices that remain.
    """
    nverts = mesh.num_vertices
    degree = np.bincount(mesh.edge_vertices.ravel(), minlength=nverts)
    removable = degree <= 2
    removable[: mesh.num_corners] = False
    keep_inc = ~removable[mesh.region_vertices]
    # the sides on both sides of a removed vertex come from one line: keep the first's source
    counts = np.add.reduceat(keep_inc.astype(np.int64), mesh.region_starts)
    new_rv = mesh.region_vertices[keep_inc]
    used = np.zeros(nverts, dtype=bool)
    used[new_rv] = True
    remap = used.cumsum() - 1
    out = Mesh(
        mesh.vertices[used],
        remap[new_rv].astype(np.int64),
        np.append(0, np.cumsum(counts)).astype(np.int64),
        mesh.incidence_source[keep_inc],
        mesh.num_corners,
    )
    return out, used
