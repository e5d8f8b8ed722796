"""Chord crossings, concurrent crossings and chord paths, on tensors (steps 6 to 8 of a cut).

The counterparts of :func:`~regionscope.geometry.chords.chord_crossings`,
:func:`~regionscope.geometry.chords.along_chords`,
:func:`~regionscope.geometry.chords.merge_concurrent` and
:func:`~regionscope.geometry.chords.chord_segments`, with the same formulas
and the same orders.
"""

from __future__ import annotations

import dataclasses

from regionscope.errors import RegionLimitError

from .ends import ChordsT, Points
from .ops import (
    I64,
    arange,
    bincount,
    changes,
    components,
    empty_int,
    expand,
    narrow,
    order,
    take,
)

try:  # the torch extra
    import torch
except ImportError:  # pragma: no cover
    torch = None

__all__ = ["CrossingsT", "Paths", "crossings", "along", "concurrent", "paths"]


@dataclasses.dataclass(frozen=True)
class CrossingsT:
    """As :class:`~regionscope.geometry.chords.Crossings`."""

    a: torch.Tensor
    b: torch.Tensor
    s_a: torch.Tensor
    s_b: torch.Tensor
    xy: torch.Tensor

    def __len__(self) -> int:
        return len(self.a)


def _chunk_bounds(counts: torch.Tensor, budget: int) -> list[int]:
    """Chords ``[b[i], b[i+1])`` whose candidates make one chunk (as the NumPy cut cuts)."""
    nch = len(counts)
    cum = torch.cumsum(counts, 0)
    bounds = [0]
    total = int(cum[-1]) if nch else 0
    if nch and total > budget:
        steps = torch.arange(budget, total, budget, dtype=I64, device=counts.device)
        marks = torch.searchsorted(cum, steps).tolist()
        bounds += sorted({int(x) + 1 for x in marks if x + 1 < nch})
    bounds.append(nch)
    return bounds


def _interleaved(
    chords: ChordsT, num_regions: int, max_regions: int, budget: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Pairs of chords of one region whose ends interleave around it (they cross)."""
    nch = len(chords)
    ep_region = torch.cat([chords.region, chords.region])
    ep_pos = torch.cat([chords.pos_a, chords.pos_b])
    o = order(ep_region, ep_pos)
    rank = torch.empty(len(o), dtype=I64, device=o.device)
    rank[o] = torch.cumsum(changes(ep_region[o], ep_pos[o]).to(I64), 0) - 1
    lo_rank = torch.minimum(rank[:nch], rank[nch:])
    hi_rank = torch.maximum(rank[:nch], rank[nch:])
    lo_sorted, by_lo = torch.sort(lo_rank, stable=True)
    start = torch.searchsorted(lo_sorted, lo_rank, right=True)
    stop = torch.searchsorted(lo_sorted, hi_rank)
    counts = torch.clamp(stop - start, min=0)
    xa_parts: list[torch.Tensor] = []
    xb_parts: list[torch.Tensor] = []
    found = 0
    bounds = _chunk_bounds(counts, budget)
    for c0, c1 in zip(bounds[:-1], bounds[1:], strict=True):
        own, off = expand(counts[c0:c1])
        own = own + c0
        cand = take(by_lo, take(start, own) + off)
        crosses = take(hi_rank, cand) > take(hi_rank, own)
        xa_parts.append(torch.masked_select(own, crosses))
        xb_parts.append(torch.masked_select(cand, crosses))
        found += len(xa_parts[-1])
        if num_regions + nch + found > max_regions:
            raise RegionLimitError(
                num_regions + nch + found, max_regions, f"{nch} new cuts and {found}+ crossings"
            )
    if not xa_parts:
        return empty_int(o.device), empty_int(o.device)
    return torch.cat(xa_parts), torch.cat(xb_parts)


def crossings(
    chords: ChordsT, xy: torch.Tensor, num_regions: int, max_regions: int, budget: int
) -> CrossingsT:
    """Where the chords of each region cross (:class:`RegionLimitError` beyond the limit)."""
    xa, xb = _interleaved(chords, num_regions, max_regions, budget)
    pa, pb = xy[chords.vid_a], xy[chords.vid_b]
    d = pb - pa
    da, db = take(d, xa), take(d, xb)
    pa_a = take(pa, xa)
    w = take(pa, xb) - pa_a
    denom = da[:, 0] * db[:, 1] - da[:, 1] * db[:, 0]
    sa = (w[:, 0] * db[:, 1] - w[:, 1] * db[:, 0]) / denom
    sb = (w[:, 0] * da[:, 1] - w[:, 1] * da[:, 0]) / denom
    # interleaved ends never give parallel chords; guard against NaN anyway
    sa = torch.where(sa == sa, sa, 0.5).clamp(0.0, 1.0)
    sb = torch.where(sb == sb, sb, 0.5).clamp(0.0, 1.0)
    return CrossingsT(xa, xb, sa, sb, pa_a + sa[:, None] * da)


def along(cr: CrossingsT, nch: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The memberships in order along the ``nch`` chords: ``(order, chord, s)`` as ``Along``."""
    chord = torch.cat([cr.a, cr.b])
    s = torch.cat([cr.s_a, cr.s_b])
    # s is in [0, 1]: the bits of a non-negative float64 (-0.0 made 0.0) sort as it does
    o = order(narrow(chord, nch), (s + 0.0).view(torch.int64))
    return o, take(chord, o), take(s, o)


def _value_at(
    vertex: torch.Tensor, unit: torch.Tensor, values: torch.Tensor, points: Points
) -> torch.Tensor:
    """A unit's value at old vertices or new side points (mixed from the side's ends)."""
    nverts = len(values)
    old = vertex < nverts
    at_old = values[torch.where(old, vertex, 0), unit]
    p = torch.where(old, 0, vertex - nverts)
    lo = values[points.lo[p], unit]
    return torch.where(old, at_old, lo + points.t[p] * (values[points.hi[p], unit] - lo))


def _neighbours(
    cr: CrossingsT,
    chords: ChordsT,
    xy: torch.Tensor,
    tols: tuple[float, float],
    near_data: tuple[torch.Tensor, torch.Tensor, Points],
    memberships: tuple[torch.Tensor, torch.Tensor, torch.Tensor],
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Links between neighbouring crossings along a chord closer than the point tolerance,
    and the regions of those one point up to the units' tolerances."""
    point_tol, near_tol = tols
    nx = len(cr)
    d = xy[chords.vid_b] - xy[chords.vid_a]
    o, mc, mem_s = memberships
    mem_x = torch.where(o < nx, o, o - nx)
    length = torch.sqrt(d[:, 0] * d[:, 0] + d[:, 1] * d[:, 1])
    gap = mem_s[1:] - mem_s[:-1]
    same_chord = mc[1:] == mc[:-1]
    span = gap * take(length, mc[1:])
    close = span <= point_tol
    values, unit_tol, points = near_data
    near = empty_int(o.device)
    cand = (same_chord & ~close & (span <= near_tol)).nonzero().flatten()
    if len(cand):
        other = torch.cat([cr.b, cr.a])[o]
        within = torch.zeros(len(cand), dtype=torch.bool, device=o.device)
        c = mc[1:][cand]
        for k in (other[1:][cand], other[:-1][cand]):  # the other chord's unit along it
            unit = chords.unit[k]
            rise = _value_at(chords.vid_b[c], unit, values, points) - _value_at(
                chords.vid_a[c], unit, values, points
            )
            within |= gap[cand] * torch.abs(rise) <= unit_tol[unit]
        near = torch.unique(chords.region[c[within]])
    link = same_chord & close
    return torch.masked_select(mem_x[:-1], link), torch.masked_select(mem_x[1:], link), near


def _shared_twice(
    xa: torch.Tensor, xb: torch.Tensor, xlabel: torch.Tensor, nch: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Links between clusters of crossings that one pair of chords both pass through."""
    nx = len(xa)
    dev = xa.device
    size = bincount(xlabel, nx)
    multi = (size[xlabel] > 1).nonzero().flatten()
    if len(multi) == 0:
        return empty_int(dev), empty_int(dev)
    lab = xlabel[multi] * nch
    cl_ch = torch.unique(torch.cat([lab + xa[multi], lab + xb[multi]]))
    cl = cl_ch // nch
    ch = cl_ch % nch
    stop = torch.searchsorted(cl, cl, right=True)
    own, off = expand(stop - arange(len(cl), dev) - 1)
    partner = own + 1 + off
    pair = ch[own] * nch + ch[partner]
    pair_cluster = cl[own]
    # the crossing of each such pair, if the two chords cross at all
    xkey = torch.minimum(xa, xb) * nch + torch.maximum(xa, xb)
    xsorted, xorder = torch.sort(xkey, stable=True)
    at = torch.clamp(torch.searchsorted(xsorted, pair), max=nx - 1)
    hit = xsorted[at] == pair
    link_a = [pair_cluster[hit]]
    link_b = [xlabel[xorder[at[hit]]]]
    # the same pair in two multi-crossing clusters
    o = order(pair, pair_cluster)
    p_s, c_s = pair[o], pair_cluster[o]
    twice = (p_s[1:] == p_s[:-1]) & (c_s[1:] != c_s[:-1])
    link_a.append(c_s[:-1][twice])
    link_b.append(c_s[1:][twice])
    a = torch.cat(link_a)
    b = torch.cat(link_b)
    differ = a != b
    return a[differ], b[differ]


def concurrent(
    cr: CrossingsT,
    chords: ChordsT,
    xy: torch.Tensor,
    tols: tuple[float, float],
    near_data: tuple[torch.Tensor, torch.Tensor, Points],
    memberships: tuple[torch.Tensor, torch.Tensor, torch.Tensor],
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Crossings closer than the point tolerance along a chord made one vertex.

    Returns ``(point (X,), roots (R,), near)`` as ``merge_concurrent``;
    ``tols`` is ``(point_tol, NEAR_FACTOR * point_tol)``.
    """
    nx = len(cr)
    link_a, link_b, near = _neighbours(cr, chords, xy, tols, near_data, memberships)
    label = components(nx, link_a, link_b)
    while len(link_a):
        extra_a, extra_b = _shared_twice(cr.a, cr.b, label, len(chords))
        if len(extra_a) == 0:
            break
        link_a = torch.cat([link_a, extra_a])
        link_b = torch.cat([link_b, extra_b])
        label = components(nx, link_a, link_b)
    is_root = label == arange(nx, label.device)
    roots = is_root.nonzero().flatten()
    root_index = torch.cumsum(is_root.to(I64), 0) - 1
    return take(root_index, label), roots, near


@dataclasses.dataclass(frozen=True)
class Paths:
    """As :class:`~regionscope.geometry.chords.ChordPaths`."""

    seg_from: torch.Tensor
    seg_to: torch.Tensor
    seg_chord: torch.Tensor
    first_seg: torch.Tensor
    visit_chord: torch.Tensor
    visit_vertex: torch.Tensor
    visit_of: torch.Tensor
    single: torch.Tensor


def paths(
    chords: ChordsT,
    nx: int,
    crossing_vid: torch.Tensor,
    memberships: tuple[torch.Tensor, torch.Tensor, torch.Tensor],
) -> Paths:
    """Each chord cut at its crossings (``chord_segments``)."""
    nch = len(chords)
    dev = crossing_vid.device
    o, mem_chord, _ = memberships
    mem_v = take(crossing_vid, torch.where(o < nx, o, o - nx))
    kept = changes(mem_chord, mem_v)  # a vertex shared by neighbouring crossings, once
    visit_chord = torch.masked_select(mem_chord, kept)
    visit_vertex = torch.masked_select(mem_v, kept)
    nvisit = len(visit_chord)
    visit_of = torch.full((2 * nx,), -1, dtype=I64, device=dev)
    visit_of.index_copy_(0, torch.masked_select(o, kept), arange(nvisit, dev))
    visits = bincount(visit_chord, nch)
    first_seg = torch.zeros(nch + 1, dtype=I64, device=dev)
    first_seg[1:] = torch.cumsum(visits + 1, 0)
    # the path of chord c: end a at first_seg[c] + c, its visits, end b at first_seg[c+1] + c
    path = torch.empty(nvisit + 2 * nch, dtype=I64, device=dev)
    c = arange(nch, dev)
    path.index_copy_(0, first_seg[:-1] + c, chords.vid_a)
    path.index_copy_(0, first_seg[1:] + c, chords.vid_b)
    path.index_copy_(0, arange(nvisit, dev) + 2 * visit_chord + 1, visit_vertex)
    nseg = nvisit + nch  # known here: no synchronisation for the size
    seg_chord = torch.repeat_interleave(c, visits + 1, output_size=nseg)
    seg = arange(nseg, dev) + seg_chord
    base = crossing_vid.min() if nx else 0
    shared = bincount(crossing_vid - base)
    single = take(shared, crossing_vid - base) == 1
    return Paths(
        seg_from=take(path, seg),
        seg_to=take(path, seg + 1),
        seg_chord=seg_chord,
        first_seg=first_seg,
        visit_chord=visit_chord,
        visit_vertex=visit_vertex,
        visit_of=visit_of,
        single=single,
    )
