"""One cut of a mesh by many units on tensors: everything after the crossed pairs.

The counterpart of ``_cut_once`` of :mod:`regionscope.geometry.cutting` from
the (filtered) crossed pairs on, run on a torch device: chord ends, side
points, chords, crossings, concurrent crossings, chord paths, faces and the
new mesh.  The validity check of the few risky faces runs in NumPy on the
faces brought back, with the reference's own arithmetic (sums in the same
order), so that the regions sent to the one-unit-at-a-time cut are the same.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from regionscope.errors import RegionLimitError
from regionscope.geometry.check import invalid_faces
from regionscope.geometry.mesh import Mesh
from regionscope.tolerances import FACE_TURN_RTOL, NEAR_FACTOR, get_budget

from .crossings import CrossingsT, along, concurrent, crossings, paths
from .ends import ChordsT, MeshT, Points, chord_ends, edge_points, make_chords
from .faces import rebuild
from .ops import I64, bincount, expand, take, to_device, to_host

try:  # the torch extra
    import torch
except ImportError:  # pragma: no cover
    torch = None

__all__ = ["cut_once"]


def _host(tensors: list[torch.Tensor]) -> list[np.ndarray]:
    """Flat tensors of one dtype brought to the host in one transfer (one synchronisation):
    NumPy views of one array, in order."""
    if len(tensors) == 1:
        return [to_host(tensors[0].flatten())]
    whole = to_host(torch.cat([t.flatten() for t in tensors]))
    bounds = np.cumsum([0] + [t.numel() for t in tensors])
    return [whole[a:b] for a, b in zip(bounds[:-1], bounds[1:], strict=True)]


def cut_once(
    mesh: Mesh,
    values: np.ndarray,
    unit_tol: np.ndarray,
    unit_codes: np.ndarray,
    point_tol: float,
    max_regions: int,
    pair_region: np.ndarray,
    pair_unit: np.ndarray,
    device: Any = "cpu",
    turn_rtol: float = FACE_TURN_RTOL,
) -> tuple[tuple[Any, ...], np.ndarray]:
    """Everything of ``_cut_once`` after the crossed pairs, on ``device``.

    Returns ``((mesh, num_chords, region_parent, interp, coincident), bad)``:
    the fields of a :class:`~regionscope.geometry.cutting.CutResult` and the old
    regions whose faces came out invalid, NumPy arrays equal to the reference's.
    """
    dev = torch.device(device)
    m = MeshT.from_arrays(
        mesh.vertices, mesh.region_vertices, mesh.region_offsets, mesh.incidence_source, dev
    )
    vals = to_device(values, np.float64, dev)
    tol = to_device(unit_tol, np.float64, dev)
    codes = to_device(unit_codes, np.int64, dev)
    p_region = to_device(pair_region, np.int64, dev)
    p_unit = to_device(pair_unit, np.int64, dev)
    nregions, nverts = m.num_regions, m.num_vertices
    ends = chord_ends(m, vals, tol, p_region, p_unit)
    points, at = edge_points(ends, m.vertices, point_tol, vals, tol)
    chords = make_chords(ends, at, codes, m)
    xy = torch.cat([m.vertices, points.xy])
    cr = crossings(chords, xy, nregions, max_regions, get_budget().table_values)
    memberships = along(cr, len(chords))
    tols = (point_tol, NEAR_FACTOR * point_tol)
    point_of, roots, near = concurrent(cr, chords, xy, tols, (vals, tol, points), memberships)
    new_vertices = torch.cat([xy, take(cr.xy, roots)])
    pa = paths(chords, len(cr), nverts + len(points.key) + point_of, memberships)
    touched, faces = rebuild(m, chords, cr, pa, points)
    t_regions = touched.nonzero().flatten()
    kept = (~touched).nonzero().flatten()
    kept_sizes = take(m.sizes, kept)
    new_sizes = torch.cat([kept_sizes, faces[0][1:] - faces[0][:-1]])
    if len(new_sizes) > max_regions:
        raise RegionLimitError(len(new_sizes), max_regions)
    k_own, k_k = expand(kept_sizes)
    k_inc = take(take(m.offsets, kept), k_own) + k_k
    offsets = torch.zeros(len(new_sizes) + 1, dtype=I64, device=dev)
    offsets[1:] = torch.cumsum(new_sizes, 0)
    root_a = take(cr.a, roots)
    # back to the host in four transfers: the mesh's tables, its vertices, the rest
    rv, source, offsets_h = _host(
        [torch.cat([take(m.rv, k_inc), faces[1]]), torch.cat([take(m.source, k_inc), faces[2]]),
         offsets]
    )  # fmt: skip
    (vertices,) = _host([new_vertices])
    risky = _risky(chords, cr, point_of, len(roots), nverts, points)
    parent, src, dst, coin, t_h, near_h, near_regions_h = _host(
        [torch.cat([kept, take(t_regions, faces[3])]),
         torch.cat([points.lo, take(chords.vid_a, root_a)]),
         torch.cat([points.hi, take(chords.vid_b, root_a)]), chords.coincident.flatten(),
         t_regions, near, points.near_regions]
    )  # fmt: skip
    (weight,) = _host([torch.cat([points.t, take(cr.s_a, roots)])])
    invalid = np.zeros(0, dtype=np.int64)
    if len(risky):
        invalid = _invalid(faces, torch.isin(t_regions, risky), vertices, turn_rtol)
    bad = np.unique(np.concatenate([t_h[invalid], near_h, near_regions_h]))
    coin = coin.reshape(-1, 2)
    if len(coin) > 1:
        coin = np.unique(coin, axis=0)
    out = Mesh(vertices.reshape(-1, 2), rv, offsets_h, source, mesh.num_corners)
    return (out, len(chords), parent, ((src, dst, weight),), coin), bad


def _risky(
    chords: ChordsT, cr: CrossingsT, point_of: torch.Tensor, nroots: int, nverts: int,
    points: Points,
) -> torch.Tensor:  # fmt: skip
    """The old regions whose faces can come out wrong: where points were snapped together."""
    shared = take(bincount(point_of, nroots), point_of) > 1
    at_corner = (chords.vid_a < nverts) | (chords.vid_b < nverts)
    return torch.cat(
        [
            take(chords.region, torch.masked_select(cr.a, shared)),
            torch.masked_select(chords.region, at_corner),
            points.merged_regions,
        ]
    )


def _invalid(
    faces: tuple[torch.Tensor, ...], check: torch.Tensor, xy: np.ndarray, turn_rtol: float
) -> np.ndarray:
    """``invalid_faces`` (NumPy, the reference's arithmetic) of the faces of the regions
    ``check``, brought to the host alone."""
    f_off, f_vert, _, f_group = faces
    chosen = take(check, f_group).nonzero().flatten()
    sizes = take(f_off[1:] - f_off[:-1], chosen)
    own, k = expand(sizes)
    corners = take(f_vert, take(take(f_off, chosen), own) + k)
    offsets = torch.zeros(len(sizes) + 1, dtype=I64, device=sizes.device)
    offsets[1:] = torch.cumsum(sizes, 0)
    group, offsets, corners, check = _host(
        [take(f_group, chosen), offsets, corners, check.to(I64)]
    )
    return invalid_faces(group, offsets, corners, xy.reshape(-1, 2), check.astype(bool), turn_rtol)
