"""Chord ends, points on sides and chords, on tensors (steps 3 to 5 of a cut).

The counterparts of :func:`~regionscope.geometry.chords.chord_ends`,
:func:`~regionscope.geometry.chords.edge_points` and
:func:`~regionscope.geometry.chords.make_chords`: the same formulas, term for
term, so that every coordinate comes out bit for bit the same; the same
orders (sorts here are stable and total).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from .ops import (
    F64,
    I64,
    arange,
    changes,
    empty_int,
    exclusive_cumsum,
    expand,
    first_true,
    order,
    take,
    to_device,
)

try:  # the torch extra
    import torch
except ImportError:  # pragma: no cover
    torch = None

__all__ = ["MeshT", "Ends", "Points", "ChordsT", "chord_ends", "edge_points", "make_chords"]


@dataclasses.dataclass(frozen=True)
class MeshT:
    """A :class:`~regionscope.geometry.mesh.Mesh` on a device, with the derived arrays a
    cut reads."""

    vertices: torch.Tensor  #: (V, 2) float64
    rv: torch.Tensor  #: (I,) int64 region vertices
    offsets: torch.Tensor  #: (F+1,) int64
    source: torch.Tensor  #: (I,) int64
    sizes: torch.Tensor  #: (F,) int64
    inc_region: torch.Tensor  #: (I,) int64
    inc_next: torch.Tensor  #: (I,) int64
    side_keys: torch.Tensor  #: (I,) int64

    @classmethod
    def from_arrays(cls, vertices, rv, offsets, source, device) -> MeshT:  # noqa: ANN001
        """The mesh arrays (NumPy) moved to ``device``, and the derived arrays made there."""
        v = to_device(vertices, np.float64, device)
        rv = to_device(rv, np.int64, device)
        offsets = to_device(offsets, np.int64, device)
        source = to_device(source, np.int64, device)
        sizes = offsets[1:] - offsets[:-1]
        inc_region = torch.repeat_interleave(arange(len(sizes), device), sizes)
        nxt = arange(len(rv), device) + 1
        nxt[offsets[1:] - 1] = offsets[:-1]
        b = take(rv, nxt)
        keys = torch.minimum(rv, b) * len(v) + torch.maximum(rv, b)
        return cls(v, rv, offsets, source, sizes, inc_region, nxt, keys)

    @property
    def num_vertices(self) -> int:
        return len(self.vertices)

    @property
    def num_regions(self) -> int:
        return len(self.sizes)


@dataclasses.dataclass(frozen=True)
class Ends:
    """As :class:`~regionscope.geometry.chords.ChordEnds` (pairs ``P``, two ends each)."""

    region: torch.Tensor
    unit: torch.Tensor
    size: torch.Tensor
    on_side: torch.Tensor  #: (P, 2) bool
    corner: torch.Tensor
    corner_pos: torch.Tensor
    side_pos: torch.Tensor
    side_lo: torch.Tensor
    side_hi: torch.Tensor
    side_forward: torch.Tensor
    side_t: torch.Tensor  #: (P, 2) float64


def chord_ends(
    mesh: MeshT,
    values: torch.Tensor,
    unit_tol: torch.Tensor,
    pair_region: torch.Tensor,
    pair_unit: torch.Tensor,
) -> Ends:
    """The two sign transitions of each crossed pair around its region (see ``chord_ends``)."""
    rv = mesh.rv
    m = take(mesh.sizes, pair_region)
    pid, k = expand(m)
    pstart = exclusive_cumsum(m)
    inc = take(take(mesh.offsets, pair_region), pid) + k
    unit = take(pair_unit, pid)
    # values[rv[inc], unit], read from the flat table
    z = take(values.reshape(-1), take(rv, inc) * values.shape[1] + unit)
    tol = take(unit_tol, unit)
    s = (z > tol).to(torch.int8) - (z < -tol).to(torch.int8)
    g = arange(len(s), s.device)
    nonzero_at = torch.where(s != 0, g, -1)
    run = torch.cummax(nonzero_at, 0).values
    prev = torch.empty_like(g)  # previous nonzero position, cyclically
    prev[:1] = -1
    prev[1:] = run[:-1]
    last = take(run, pstart + m - 1)
    last_nonzero = torch.where(last >= pstart, last, -1)
    prev = torch.where(prev < take(pstart, pid), take(last_nonzero, pid), prev)
    sign_prev = take(s, prev.clamp(min=0))
    first_of = [first_true((s == want) & (sign_prev == -want), pid) for want in (-1, 1)]
    ends = torch.stack(first_of, dim=1)  # (P, 2)
    before = prev[ends]
    p_end = (pstart + m)[:, None]
    on_side = (before == ends - 1) | ((ends == pstart[:, None]) & (before == p_end - 1))
    zero_pos = torch.where(before + 1 < p_end, before + 1, pstart[:, None])
    va = rv[inc[before]]
    vb = rv[inc[ends]]
    lo = torch.minimum(va, vb)
    hi = torch.maximum(va, vb)
    unit2 = pair_unit[:, None].expand(-1, 2)
    z_lo = values[lo, unit2]
    z_hi = values[hi, unit2]
    t = torch.where(on_side, z_lo / (z_lo - z_hi), 0.0)
    return Ends(
        region=pair_region,
        unit=pair_unit,
        size=m,
        on_side=on_side,
        corner=rv[inc[zero_pos]],
        corner_pos=k[zero_pos],
        side_pos=k[before],
        side_lo=lo,
        side_hi=hi,
        side_forward=va == lo,
        side_t=t.clamp(0.0, 1.0),
    )


@dataclasses.dataclass(frozen=True)
class Points:
    """As :class:`~regionscope.geometry.chords.EdgePoints`."""

    key: torch.Tensor
    t: torch.Tensor
    lo: torch.Tensor
    hi: torch.Tensor
    xy: torch.Tensor
    near_regions: torch.Tensor
    merged_regions: torch.Tensor


def _regions_on(ekey: torch.Tensor, pair_region: torch.Tensor, keys: torch.Tensor) -> torch.Tensor:
    if len(keys) == 0:
        return empty_int(ekey.device)
    return torch.unique(pair_region[torch.isin(ekey, keys)])


def edge_points(
    ends: Ends,
    vertices: torch.Tensor,
    point_tol: float,
    values: torch.Tensor,
    unit_tol: torch.Tensor,
) -> tuple[Points, tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]]:
    """One new vertex per (side, unit), close crossings of a side made one (``edge_points``).

    Returns the points and the ends' ``(vid, pos, corner, step)``, each ``(P, 2)``.
    """
    nverts = len(vertices)
    dev = vertices.device
    ex = ends.on_side.flatten().nonzero().flatten()
    e_lo = ends.side_lo.flatten()[ex]
    e_hi = ends.side_hi.flatten()[ex]
    e_unit = ends.unit[ex >> 1]
    e_t = ends.side_t.flatten()[ex]
    ekey = e_lo * nverts + e_hi
    by_key = order(ekey, e_unit)
    first = changes(ekey[by_key], e_unit[by_key])
    uniq = by_key[first]  # one entry per (side, unit)
    crossing_of = torch.empty(len(ex), dtype=I64, device=dev)
    crossing_of[by_key] = torch.cumsum(first.to(I64), 0) - 1
    u_key, u_t, u_lo, u_hi, u_unit = ekey[uniq], e_t[uniq], e_lo[uniq], e_hi[uniq], e_unit[uniq]
    # merge crossings of one side closer than the point tolerance
    o = order(u_key, u_t, u_unit)
    d = vertices[u_hi[o]] - vertices[u_lo[o]]
    side_len = torch.sqrt(d[:, 0] * d[:, 0] + d[:, 1] * d[:, 1])
    key_o = u_key[o]
    t_o = u_t[o]
    same_side = key_o[1:] == key_o[:-1]
    gap = t_o[1:] - t_o[:-1]
    close = gap * side_len[1:] <= point_tol
    new_cluster = torch.ones(len(o), dtype=torch.bool, device=dev)
    new_cluster[1:] = ~(same_side & close)
    near = torch.zeros(len(gap), dtype=torch.bool, device=dev)
    unit = u_unit[o]
    lo_o, hi_o = u_lo[o][1:], u_hi[o][1:]
    for k in (unit[1:], unit[:-1]):  # the value of either unit at the other's crossing
        near |= gap * torch.abs(values[hi_o, k] - values[lo_o, k]) <= unit_tol[k]
    near &= same_side & ~close
    cluster_of = torch.empty(len(o), dtype=I64, device=dev)
    cluster_of[o] = torch.cumsum(new_cluster.to(I64), 0) - 1
    pair_region = ends.region[ex >> 1]
    rep = o[new_cluster]
    lo, hi, t, key = u_lo[rep], u_hi[rep], u_t[rep], u_key[rep]
    points = Points(
        key=key,
        t=t,
        lo=lo,
        hi=hi,
        xy=vertices[lo] + t[:, None] * (vertices[hi] - vertices[lo]),
        near_regions=_regions_on(ekey, pair_region, key_o[1:][near]),
        merged_regions=_regions_on(ekey, pair_region, key_o[1:][same_side & close]),
    )
    # each point's rank along its side, and the number of points on the side
    new_side = changes(key)
    side_first = new_side.nonzero().flatten()
    side_of = torch.cumsum(new_side.to(I64), 0) - 1
    rank = arange(len(key), dev) - side_first[side_of]
    side_end = torch.cat([side_first[1:], torch.tensor([len(key)], dtype=I64, device=dev)])
    count = (side_end - side_first)[side_of]
    vid = ends.corner.flatten().clone()
    pos = ends.corner_pos.flatten().to(F64)
    corner = ends.corner_pos.flatten().clone()
    step = torch.zeros(len(vid), dtype=I64, device=dev)
    cl = cluster_of[crossing_of]
    vid[ex] = nverts + cl
    forward = ends.side_forward.flatten()[ex]
    t_rep = t[cl]
    side_pos = ends.side_pos.flatten()[ex]
    pos[ex] = side_pos + torch.where(forward, t_rep, 1.0 - t_rep)
    corner[ex] = side_pos
    step[ex] = torch.where(forward, rank[cl] + 1, count[cl] - rank[cl])
    at = tuple(a.reshape(-1, 2) for a in (vid, pos, corner, step))
    return points, at


@dataclasses.dataclass(frozen=True)
class ChordsT:
    """As :class:`~regionscope.geometry.chords.Chords`; ``coincident`` is ``(K, 2)``."""

    region: torch.Tensor
    unit: torch.Tensor
    code: torch.Tensor
    pos_a: torch.Tensor
    pos_b: torch.Tensor
    vid_a: torch.Tensor
    vid_b: torch.Tensor
    corner_a: torch.Tensor
    corner_b: torch.Tensor
    step_a: torch.Tensor
    step_b: torch.Tensor
    coincident: torch.Tensor

    def __len__(self) -> int:
        return len(self.region)


def make_chords(
    ends: Ends,
    at: tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor],
    unit_codes: torch.Tensor,
    mesh: MeshT,
) -> ChordsT:
    """Drop chords that are a point or run along a side; keep one of coincident chords."""
    end_vid, end_pos, end_corner, end_step = at
    dev = end_vid.device
    size = ends.size.to(F64)
    gap = torch.abs(end_pos[:, 0] - end_pos[:, 1])
    along_side = (end_step == 0).all(dim=1) & ((gap == 1) | (gap == size - 1))
    ok = (end_vid[:, 0] != end_vid[:, 1]) & ~along_side
    v1 = end_vid.min(dim=1).values
    v2 = end_vid.max(dim=1).values
    sel = ok.nonzero().flatten()
    coincident = torch.zeros((0, 2), dtype=I64, device=dev)
    region, unit = ends.region, ends.unit
    # chords of one region with the same two end vertices coincide: keep the first unit's
    if len(sel) > 1:
        by_key = order(region[sel], v1[sel], v2[sel])
        s = sel[by_key]
        if not bool(changes(region[s], v1[s], v2[s]).all()):
            sel = sel[order(region[sel], v1[sel], v2[sel], unit[sel])]
            dup = ~changes(region[sel], v1[sel], v2[sel])
            kept_of = torch.cummax(torch.where(dup, -1, arange(len(sel), dev)), 0).values
            pairs = torch.stack([unit[sel[kept_of[dup]]], unit[sel[dup]]], dim=1)
            coincident = unit_codes[pairs].reshape(-1, 2)
            sel = torch.sort(sel[~dup]).values  # sorted by (region, unit) as the pairs are
    keep = sel
    if bool(along_side.any()):
        on = along_side.nonzero().flatten()
        lo = torch.minimum(end_pos[on, 0], end_pos[on, 1]).to(I64)
        k = torch.where(gap[on] == 1, lo, size[on].to(I64) - 1)  # the side leaving k
        side = mesh.source[mesh.offsets[region[on]] + k]
        along = torch.stack([side, unit_codes[unit[on]]], dim=1)
        coincident = torch.cat([coincident, along[side >= 0]])
    return ChordsT(
        region=region[keep],
        unit=unit[keep],
        code=unit_codes[unit[keep]],
        pos_a=end_pos[keep, 0],
        pos_b=end_pos[keep, 1],
        vid_a=end_vid[keep, 0],
        vid_b=end_vid[keep, 1],
        corner_a=end_corner[keep, 0],
        corner_b=end_corner[keep, 1],
        step_a=end_step[keep, 0],
        step_b=end_step[keep, 1],
        coincident=coincident,
    )
