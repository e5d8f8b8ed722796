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
from regionscope.tolerances import NEAR_FACTOR, get_budget

from .crossings import along, concurrent, crossings, paths
from .ends import MeshT, chord_ends, edge_points, make_chords
from .faces import rebuild
from .ops import I64, expand, to_device

try:  # the torch extra
    import torch
except ImportError:  # pragma: no cover
    torch = None

__all__ = ["cut_once"]


def _host(t: torch.Tensor) -> np.ndarray:
    return t.detach().cpu().numpy()


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
    memberships = along(cr)
    tols = (point_tol, NEAR_FACTOR * point_tol)
    point_of, roots, near = concurrent(cr, chords, xy, tols, (vals, tol, points), memberships)
    new_vertices = torch.cat([xy, cr.xy[roots]])
    pa = paths(chords, len(cr), nverts + len(points.key) + point_of, memberships)
    touched, (f_off, f_vert, f_code, f_group) = rebuild(m, chords, cr, pa, points)
    t_regions = touched.nonzero().flatten()
    kept = (~touched).nonzero().flatten()
    new_sizes = torch.cat([m.sizes[kept], f_off[1:] - f_off[:-1]])
    if len(new_sizes) > max_regions:
        raise RegionLimitError(len(new_sizes), max_regions)
    # faces can come out wrong only where points were snapped together
    shared = torch.bincount(point_of, minlength=len(roots))[point_of] > 1
    at_corner = (chords.vid_a < nverts) | (chords.vid_b < nverts)
    risky = torch.cat(
        [chords.region[cr.a[shared]], chords.region[at_corner], points.merged_regions]
    )
    k_own, k_k = expand(m.sizes[kept])
    k_inc = m.offsets[kept][k_own] + k_k
    offsets = torch.zeros(len(new_sizes) + 1, dtype=I64, device=dev)
    offsets[1:] = torch.cumsum(new_sizes, 0)
    root_a = cr.a[roots]
    host = [
        _host(x)
        for x in (
            new_vertices, torch.cat([m.rv[k_inc], f_vert]), offsets,
            torch.cat([m.source[k_inc], f_code]), torch.cat([kept, t_regions[f_group]]),
            torch.cat([points.lo, chords.vid_a[root_a]]),
            torch.cat([points.hi, chords.vid_b[root_a]]), torch.cat([points.t, cr.s_a[roots]]),
            chords.coincident, t_regions, f_group, f_off, f_vert, risky, near,
            points.near_regions,
        )
    ]  # fmt: skip
    (vertices, rv, offsets_h, source, parent, src, dst, weight, coin, t_h) = host[:10]
    f_group_h, f_off_h, f_vert_h, risky_h, near_h, near_regions_h = host[10:]
    invalid = np.zeros(0, dtype=np.int64)
    if len(risky_h):
        check = np.isin(t_h, risky_h)
        invalid = invalid_faces(f_group_h, f_off_h, f_vert_h, vertices, check)
    bad = np.unique(np.concatenate([t_h[invalid], near_h, near_regions_h]))
    if len(coin) > 1:
        coin = np.unique(coin, axis=0)
    out = Mesh(vertices, rv, offsets_h, source, mesh.num_corners)
    return (out, len(chords), parent, ((src, dst, weight),), coin), bad

