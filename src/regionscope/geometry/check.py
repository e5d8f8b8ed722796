"""The validity check of a mesh, run after every layer in strict mode.

A valid mesh is a subdivision of its convex domain into convex regions:

- every region has positive area, no repeated corner, and turns left (convex,
  counter-clockwise), its area computed relative to its own first corner;
- the areas sum to the domain's;
- every side is shared by at most two region sides; those with a region on
  one side only lie on the domain boundary and enclose the domain's area;
- Euler's formula for a disk holds: ``V - E + F = 1``;
- no two vertices coincide, and every vertex is a corner of some region.

Examples
--------
>>> import numpy as np
>>> from regionscope.geometry.mesh import Mesh
>>> square = np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]])
>>> check_mesh(Mesh.from_polygon(square), 1.0)
>>> check_mesh(Mesh.from_polygon(square[::-1]), 1.0)
Traceback (most recent call last):
...
regionscope.errors.InvalidMeshError: 1 regions of non-positive area (smallest -1.0); ...
"""

from __future__ import annotations

import math

import numpy as np

from regionscope.errors import InvalidMeshError
from regionscope.tolerances import AREA_RTOL, CONVEX_RTOL, FACE_TURN_RTOL

from .arrays import changes, expand, lexsort2
from .mesh import BOUNDARY, Mesh

__all__ = ["check_mesh", "mesh_problems", "invalid_faces"]


def mesh_problems(mesh: Mesh, domain_area: float) -> list[str]:
    """Every broken invariant of ``mesh`` (see the module docstring), as sentences."""
    problems = []
    areas = mesh.areas
    if not (areas > 0).all():
        problems.append(
            f"{int((areas <= 0).sum())} regions of non-positive area "
            f"(smallest {float(areas.min())})"
        )
    total = float(areas.sum())
    if not math.isclose(total, domain_area, rel_tol=AREA_RTOL):
        problems.append(f"areas sum to {total}, the domain's area is {domain_area}")
    # repeated corners within a region
    owner = mesh.incidence_region
    o = lexsort2(mesh.region_vertices, owner)
    repeated = ~changes(owner[o], mesh.region_vertices[o])
    if repeated.any():
        problems.append(f"{int(repeated.sum())} corners repeated within a region")
    # sides: at most two incidences each; those with one make the outer boundary
    counts = np.bincount(np.unique(mesh.side_keys, return_inverse=True)[1])
    if (counts > 2).any():
        problems.append(f"{int((counts > 2).sum())} sides shared by more than two region sides")
    outer = mesh.edge_regions[:, 1] < 0
    crack = outer & (mesh.edge_source != BOUNDARY)
    if crack.any():
        problems.append(f"{int(crack.sum())} inner sides have a region on one side only")
    enclosed = _outer_area(mesh)
    if not math.isclose(enclosed, domain_area, rel_tol=AREA_RTOL):
        problems.append(f"the outer boundary encloses {enclosed}, not the domain's {domain_area}")
    v, e, f = mesh.num_vertices, len(mesh.edge_vertices), mesh.num_regions
    if v - e + f != 1:
        problems.append(f"Euler characteristic V - E + F = {v} - {e} + {f} = {v - e + f}, not 1")
    # convex and counter-clockwise
    xy = mesh.vertices
    rv = mesh.region_vertices
    a = xy[rv[mesh.incidence_prev]]
    b = xy[rv]
    c = xy[rv[mesh.incidence_next]]
    ab, bc = b - a, c - b
    cross = ab[:, 0] * bc[:, 1] - ab[:, 1] * bc[:, 0]
    scale = np.hypot(*ab.T) * np.hypot(*bc.T)
    if (cross < -CONVEX_RTOL * scale).any():
        problems.append(f"{int((cross < -CONVEX_RTOL * scale).sum())} corners turn right")
    used = np.zeros(v, dtype=bool)
    used[rv] = True
    if not used.all():
        problems.append(f"{int((~used).sum())} vertices are no region's corner")
    if v > 1:
        order = lexsort2(xy[:, 1], xy[:, 0])
        same = (np.diff(xy[order], axis=0) == 0).all(axis=1)
        if same.any():
            problems.append(f"{int(same.sum())} vertices coincide with another")
    return problems


def _outer_area(mesh: Mesh) -> float:
    """Area enclosed by the sides that have a region on one side only (the outer boundary)."""
    inverse = np.unique(mesh.side_keys, return_inverse=True)[1]
    single = np.bincount(inverse)[inverse] == 1
    if not single.any():
        return 0.0
    xy = mesh.vertices - mesh.vertices[0]
    p = xy[mesh.region_vertices[single]]
    q = xy[mesh.region_vertices[mesh.incidence_next[single]]]
    return 0.5 * float((p[:, 0] * q[:, 1] - p[:, 1] * q[:, 0]).sum())


def check_mesh(mesh: Mesh, domain_area: float, where: str = "") -> None:
    """Raise :class:`~regionscope.errors.InvalidMeshError` listing what is broken, if anything."""
    problems = mesh_problems(mesh, domain_area)
    if problems:
        at = f"after {where}: " if where else ""
        raise InvalidMeshError(at + "; ".join(problems))


def invalid_faces(
    group: np.ndarray,
    offsets: np.ndarray,
    corners: np.ndarray,
    xy: np.ndarray,
    check: np.ndarray,
    turn_rtol: float = FACE_TURN_RTOL,
) -> np.ndarray:
    """Groups (old regions, only those with ``check[group]``) with a new face that is not a
    convex counter-clockwise polygon: a corner that turns right by more than ``turn_rtol``
    times the product of its sides' lengths, a non-positive area or a repeated corner.

    Faces traced from a consistent arrangement turn left at every corner,
    have positive area and pass each vertex once; the faces of a group always
    add up to its area (every half-edge is used once), so a face traced
    wrongly shows up as a right turn, a non-positive area or a repeated
    corner.
    """
    faces = check[group].nonzero()[0]
    if len(faces) == 0:
        return faces
    own, k = expand(np.diff(offsets)[faces])
    corners = corners[offsets[faces][own] + k]
    group = group[faces]
    offsets = np.append(0, np.cumsum(np.diff(offsets)[faces]))
    sizes = np.diff(offsets)
    base = np.repeat(xy[corners[offsets[:-1]]], sizes, axis=0)
    nxt = np.arange(1, len(corners) + 1)
    nxt[offsets[1:] - 1] = offsets[:-1]
    p = xy[corners] - base
    q = xy[corners[nxt]] - base
    area = np.add.reduceat(p[:, 0] * q[:, 1] - p[:, 1] * q[:, 0], offsets[:-1])
    a = q - p  # side leaving each corner
    b = a[nxt]  # the next side
    turn = a[:, 0] * b[:, 1] - a[:, 1] * b[:, 0]
    scale = np.sqrt(a[:, 0] * a[:, 0] + a[:, 1] * a[:, 1]) * np.sqrt(
        b[:, 0] * b[:, 0] + b[:, 1] * b[:, 1]
    )
    right = np.logical_or.reduceat(turn < -turn_rtol * scale, offsets[:-1])
    face = np.repeat(np.arange(len(sizes)), sizes)
    o = lexsort2(corners, face)
    repeated = (face[o][1:] == face[o][:-1]) & (corners[o][1:] == corners[o][:-1])
    bad_face = (area <= 0) | right
    bad_face[face[o][1:][repeated]] = True
    return np.unique(group[bad_face])
