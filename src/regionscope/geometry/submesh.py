"""A part of a mesh, cut on its own and put back.

A cut that can only change some regions (those a few lines come near) need
not touch the whole mesh: :func:`submesh` takes those regions out as a mesh
of their own (its vertices renumbered), and :func:`splice` puts the cut part
back in place of them.  The part's old vertices are the mesh's, so nothing
moves; its new vertices are appended.

The part must not split a side it shares with a region left out (that
region would keep the side whole, a T-junction): :func:`splice` reports such
regions instead, and the caller takes them in and cuts again.
"""

from __future__ import annotations

import numpy as np

from .arrays import expand
from .mesh import Mesh

__all__ = ["submesh", "splice"]


def submesh(mesh: Mesh, regions: np.ndarray) -> tuple[Mesh, np.ndarray]:
    """The regions ``regions`` of ``mesh`` as a mesh of their own.

    Parameters
    ----------
    mesh : Mesh
    regions : (R,) int64
        Sorted, distinct region ids.

    Returns
    -------
    part : Mesh
        Its region ``i`` is ``mesh``'s region ``regions[i]``.
    vertex_map : (V_part,) int64
        The mesh's id of each vertex of the part (increasing).

    Examples
    --------
    >>> import numpy as np
    >>> square = np.array([[0.0, 0.0], [2.0, 0.0], [2.0, 1.0], [0.0, 1.0]])
    >>> part, vmap = submesh(Mesh.from_polygon(square), np.array([0]))
    >>> part.num_regions, vmap.tolist()
    (1, [0, 1, 2, 3])
    """
    own, k = expand(mesh.sizes[regions])
    inc = mesh.region_offsets[regions][own] + k
    vertex_map, local = np.unique(mesh.region_vertices[inc], return_inverse=True)
    part = Mesh(
        mesh.vertices[vertex_map],
        local.astype(np.int64),
        np.append(0, np.cumsum(mesh.sizes[regions])).astype(np.int64),
        mesh.incidence_source[inc],
        int(np.searchsorted(vertex_map, mesh.num_corners)),
    )
    return part, vertex_map


def splice(
    mesh: Mesh,
    regions: np.ndarray,
    vertex_map: np.ndarray,
    part: Mesh,
    num_old: int,
    between: np.ndarray,
) -> tuple[Mesh | None, np.ndarray]:
    """``mesh`` with its regions ``regions`` replaced by ``part``, a cut of their submesh.

    Parameters
    ----------
    mesh : Mesh
    regions : (R,) int64
        The regions taken out (sorted).
    vertex_map : (num_old,) int64
        From :func:`submesh`.
    part : Mesh
        The cut submesh: its first ``num_old`` vertices are the submesh's,
        the others new.
    num_old : int
    between : (P, 2) int64
        For the part's new vertices that lie between two old ones (on an old
        side, or on a chord from corner to corner), those two (part ids).

    Returns
    -------
    spliced : Mesh or None
        The regions left out, in order, then the part's.  ``None`` when the
        part split a side of a region left out.
    conflicts : (C,) int64
        Those regions (empty when ``spliced`` is not ``None``).
    """
    nverts = mesh.num_vertices
    to_global = np.concatenate(
        [vertex_map, nverts + np.arange(part.num_vertices - num_old, dtype=np.int64)]
    )
    out = np.ones(mesh.num_regions, dtype=bool)
    out[regions] = False
    kept = out.nonzero()[0]
    # a new vertex on a side of a region left out would be a T-junction
    conflicts = _regions_with_split_sides(mesh, kept, vertex_map[between])
    if len(conflicts):
        return None, conflicts
    k_own, k_k = expand(mesh.sizes[kept])
    k_inc = mesh.region_offsets[kept][k_own] + k_k
    sizes = np.concatenate([mesh.sizes[kept], part.sizes])
    spliced = Mesh(
        np.concatenate([mesh.vertices, part.vertices[num_old:]]),
        np.concatenate([mesh.region_vertices[k_inc], to_global[part.region_vertices]]),
        np.append(0, np.cumsum(sizes)).astype(np.int64),
        np.concatenate([mesh.incidence_source[k_inc], part.incidence_source]),
        mesh.num_corners,
    )
    return spliced, np.zeros(0, dtype=np.int64)


def _regions_with_split_sides(mesh: Mesh, kept: np.ndarray, split: np.ndarray) -> np.ndarray:
    """Regions of ``kept`` with a side ``split[i] (2,)`` (vertex ids of ``mesh``)."""
    if len(split) == 0 or len(kept) == 0:
        return np.zeros(0, dtype=np.int64)
    nv = np.int64(mesh.num_vertices)
    keys = np.unique(np.min(split, axis=1) * nv + np.max(split, axis=1))
    k_own, k_k = expand(mesh.sizes[kept])
    side = mesh.side_keys[mesh.region_offsets[kept][k_own] + k_k]
    at = np.minimum(np.searchsorted(keys, side), len(keys) - 1)
    return np.unique(kept[k_own[keys[at] == side]])
