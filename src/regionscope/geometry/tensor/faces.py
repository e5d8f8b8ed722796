"""Faces of the changed regions, on tensors (step 9 of a cut).

The counterparts of ``rebuild_regions`` (:mod:`regionscope.geometry.cutting`)
and :func:`~regionscope.geometry.faces.trace_faces`: boundary cycles with the
new side vertices, the successor of every half-edge (no angle sort: the
order around a vertex is read from positions along the boundary), and the
cycles of the successor permutation.  Half-edges are numbered as there.
"""

from __future__ import annotations

from .crossings import CrossingsT, Paths
from .ends import ChordsT, MeshT, Points
from .ops import I64, arange, changes, cycles, exclusive_cumsum, expand, order, take

try:  # the torch extra
    import torch
except ImportError:  # pragma: no cover
    torch = None

__all__ = ["rebuild"]


def _boundaries(
    mesh: MeshT, regions: torch.Tensor, points: Points
) -> tuple[tuple[torch.Tensor, ...], torch.Tensor]:
    """Boundary cycles of ``regions`` with the new side vertices inserted.

    Returns ``(vertex, next, group, code)`` of the boundary sides and
    ``block``: the first boundary side of every incidence of ``regions``.
    """
    nverts = mesh.num_vertices
    dev = regions.device
    rv = mesh.rv
    sizes = take(mesh.sizes, regions)
    own, k = expand(sizes)
    inc = take(take(mesh.offsets, regions), own) + k
    key = take(mesh.side_keys, inc)
    lo_i = torch.searchsorted(points.key, key)
    hi_i = torch.searchsorted(points.key, key, right=True)
    counts = 1 + hi_i - lo_i
    block = exclusive_cumsum(counts)
    b_own, b_r = expand(counts)
    corner_v = take(rv, inc)
    forward = corner_v < take(rv, take(mesh.inc_next, inc))
    which = torch.where(take(forward, b_own), take(lo_i, b_own) + b_r - 1, take(hi_i, b_own) - b_r)
    vid = torch.where(b_r == 0, take(corner_v, b_own), nverts + which)
    nb = len(vid)
    nxt = arange(nb, dev) + 1
    # the last side of each region returns to its first
    region_block = block[exclusive_cumsum(sizes)]
    last = torch.cat([region_block[1:], torch.tensor([nb], dtype=I64, device=dev)]) - 1
    nxt[last] = region_block
    return (vid, nxt, take(own, b_own), take(take(mesh.source, inc), b_own)), block


def _at_ends(
    succ: torch.Tensor,
    prev_side: torch.Tensor,
    chords: ChordsT,
    places: tuple[torch.Tensor, torch.Tensor, torch.Tensor],
    pa: Paths,
    nb: int,
) -> None:
    """Successors at boundary vertices where chords end (in place)."""
    _, end_at, size = places
    first = pa.first_seg[:-1]
    last = pa.first_seg[1:] - 1
    leave = torch.cat([nb + 2 * first, nb + 2 * last + 1])
    arrive = ((leave - nb) ^ 1) + nb
    pos = torch.cat([chords.pos_a, chords.pos_b])
    other = torch.cat([chords.pos_b, chords.pos_a])
    m = torch.cat([size, size]).to(pos.dtype)
    offset = torch.where(other > pos, other - pos, other - pos + m)  # ccw from the end
    o = order(end_at, offset)
    at = end_at[o]
    start = changes(at)
    stop = torch.ones_like(start)
    stop[:-1] = start[1:]
    leave_o = leave[o]
    before = torch.empty_like(leave_o)
    before[1:] = leave_o[:-1]
    succ[arrive[o]] = torch.where(start, at, before)
    # the side arriving at the vertex continues into the last chord
    succ[prev_side[at[stop]]] = leave_o[stop]


def _in_arc(x: torch.Tensor, start: torch.Tensor, stop: torch.Tensor) -> torch.Tensor:
    return torch.where(start < stop, (start < x) & (x < stop), (x > start) | (x < stop))


def _at_crossings(succ: torch.Tensor, chords: ChordsT, cr: CrossingsT, pa: Paths, nb: int) -> None:
    """Successors at crossings of two chords only (in place): four rays in a known order."""
    nx = len(cr)
    x = pa.single.nonzero().flatten()
    a, b = take(cr.a, x), take(cr.b, x)
    va, vb = take(pa.visit_of, x), take(pa.visit_of, nx + x)
    # the four rays out of the crossing: backwards and forwards along a and along b; the
    # half-edge arriving on a ray is the other of its pair (nb + (ray - nb) ^ 1)
    a_bwd = nb + 2 * (a + va) + 1
    a_fwd = a_bwd + 1
    b_bwd = nb + 2 * (b + vb) + 1
    b_fwd = b_bwd + 1
    flip = _in_arc(take(chords.pos_b, b), take(chords.pos_a, a), take(chords.pos_b, a))
    succ.index_copy_(0, a_bwd - 1, torch.where(flip, b_bwd, b_fwd))
    succ.index_copy_(0, a_fwd + 1, torch.where(flip, b_fwd, b_bwd))
    succ.index_copy_(0, b_bwd - 1, torch.where(flip, a_fwd, a_bwd))
    succ.index_copy_(0, b_fwd + 1, torch.where(flip, a_bwd, a_fwd))


def _at_shared(succ: torch.Tensor, chords: ChordsT, pa: Paths, nb: int) -> None:
    """Successors at vertices made of several crossings (in place), by sorting their rays."""
    shared = torch.ones(len(pa.visit_chord), dtype=torch.bool, device=succ.device)
    singles = pa.single.nonzero().flatten()
    nx = len(pa.single)
    shared[pa.visit_of[singles]] = False
    shared[pa.visit_of[nx + singles]] = False
    v = shared.nonzero().flatten()
    if len(v) == 0:
        return
    c = pa.visit_chord[v]
    ray = torch.cat([nb + 2 * (c + v) + 1, nb + 2 * (c + v + 1)])  # backwards, forwards
    key = torch.cat([chords.pos_a[c], chords.pos_b[c]])
    vertex = torch.cat([pa.visit_vertex[v], pa.visit_vertex[v]])
    o = order(vertex, key, torch.cat([2 * v, 2 * v + 1]))
    start = changes(vertex[o])
    stop = torch.ones_like(start)
    stop[:-1] = start[1:]
    ray = ray[o]
    before = torch.empty_like(ray)
    before[1:] = ray[:-1]
    before[start] = ray[stop]  # cyclically
    succ[((ray - nb) ^ 1) + nb] = before


def rebuild(
    mesh: MeshT, chords: ChordsT, cr: CrossingsT, pa: Paths, points: Points
) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]]:
    """The faces of every region with a chord or a split side.

    Returns ``(touched (F,) bool, (offsets, corners, codes, group))`` as
    ``rebuild_regions``.
    """
    dev = chords.region.device
    touched = torch.zeros(mesh.num_regions, dtype=torch.bool, device=dev)
    touched[chords.region] = True
    if len(points.key):  # points.key is sorted: membership by binary search
        at = torch.clamp(torch.searchsorted(points.key, mesh.side_keys), max=len(points.key) - 1)
        touched[mesh.inc_region[points.key[at] == mesh.side_keys]] = True
    t_regions = touched.nonzero().flatten()
    (b_vertex, b_next, b_group, b_code), block = _boundaries(mesh, t_regions, points)
    local = torch.cumsum(touched.to(I64), 0) - 1
    group = local[chords.region]
    first_inc = exclusive_cumsum(mesh.sizes[t_regions])[group]
    end_at = torch.cat(
        [
            block[first_inc + chords.corner_a] + chords.step_a,
            block[first_inc + chords.corner_b] + chords.step_b,
        ]
    )
    nb = len(b_vertex)
    nseg = len(pa.seg_chord)
    succ = torch.full((nb + 2 * nseg,), -1, dtype=I64, device=dev)
    succ[:nb] = b_next
    if len(chords):
        prev_side = torch.empty(nb, dtype=I64, device=dev)
        prev_side[b_next] = arange(nb, dev)
        places = (group, end_at, mesh.sizes[chords.region])
        _at_ends(succ, prev_side, chords, places, pa, nb)
        _at_crossings(succ, chords, cr, pa, nb)
        _at_shared(succ, chords, pa, nb)
    offsets, members = cycles(succ)
    n = len(succ)
    orig = torch.empty(n, dtype=I64, device=dev)
    code = torch.empty(n, dtype=I64, device=dev)
    grp = torch.empty(n, dtype=I64, device=dev)
    orig[:nb] = b_vertex
    orig[nb::2] = pa.seg_from
    orig[nb + 1 :: 2] = pa.seg_to
    code[:nb] = b_code
    grp[:nb] = b_group
    seg_code = take(chords.code, pa.seg_chord)
    seg_group = take(group, pa.seg_chord)
    for half in (nb, nb + 1):
        code[half::2] = seg_code
        grp[half::2] = seg_group
    faces = (offsets, take(orig, members), take(code, members),
             take(grp, take(members, offsets[:-1])))  # fmt: skip
    return touched, faces
