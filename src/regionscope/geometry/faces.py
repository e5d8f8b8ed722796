"""Faces of the chords' arrangement inside many convex regions at once, with no angle sort.

Inside one convex region every chord is straight, so the order of the edges
around each vertex follows from positions along the region's boundary alone:

- at a crossing, the rays leave counter-clockwise in the order of the
  boundary points they head for (the region is star-shaped from any inner
  point); two chords crossing once give four rays in an order read off
  one comparison;
- at a boundary vertex, the side leaving it counter-clockwise comes first,
  then the chords in the order of their other ends (counter-clockwise from
  the vertex), then the side arriving at it.

The face to the left of a half-edge continues with the half-edge just
clockwise of its twin: with the leaving half-edges ``R[0], R[1], ...`` of a
vertex in counter-clockwise order, ``next(twin(R[i])) = R[i - 1]``.  Only
vertices where more than one chord ends on the boundary, or where several
crossings were made one vertex, need a (small) sort.

Half-edges are numbered: boundary side ``j`` (its inner side, counter-clockwise
around its region) is ``j``; segment ``s`` of :class:`~regionscope.geometry.chords.ChordPaths`
is ``nb + 2 s`` from its first vertex to its last and ``nb + 2 s + 1`` back.  The
outer sides of the boundaries are not traced.  Faces start at their smallest
half-edge and come in order of it (:func:`~regionscope.geometry.arrays.cycles`).

Examples
--------
A square cut by the chord from the middle of its bottom side to the middle
of its top side: two faces.

>>> import numpy as np
>>> from regionscope.geometry.chords import ChordPaths, Chords, Crossings
>>> one, none = np.array([0]), np.zeros(0, dtype=np.int64)
>>> ring = Boundary(vertex=np.array([0, 4, 1, 2, 5, 3]), next=np.array([1, 2, 3, 4, 5, 0]),
...                 group=np.zeros(6, np.int64), code=np.full(6, -1))
>>> chords = Chords(region=one, unit=one, code=one + 7, pos_a=one + 0.5, pos_b=one + 2.5,
...                 vid_a=one + 4, vid_b=one + 5, corner_a=one, corner_b=one + 2,
...                 step_a=one + 1, step_b=one + 1)
>>> places = ChordPlaces(group=one, end_at=np.array([1, 4]), size=one + 4)
>>> paths = ChordPaths(seg_from=one + 4, seg_to=one + 5, seg_chord=one,
...                    first_seg=np.array([0, 1]), visit_chord=none, visit_vertex=none,
...                    visit_of=none, single=none > 0)
>>> crossings = Crossings(none, none, none / 1.0, none / 1.0, np.zeros((0, 2)))
>>> offsets, corners, codes, group = trace_faces(ring, chords, places, paths, crossings)
>>> np.diff(offsets).tolist(), corners.tolist(), codes.tolist()
([4, 4], [0, 4, 5, 3, 4, 1, 2, 5], [-1, 7, -1, -1, -1, -1, -1, 7])
"""

from __future__ import annotations

import dataclasses

import numpy as np

from .arrays import changes, cycles
from .chords import ChordPaths, Chords, Crossings

__all__ = ["Boundary", "ChordPlaces", "trace_faces", "face_successors"]


@dataclasses.dataclass(frozen=True)
class Boundary:
    """The boundary cycles of the regions being cut, new vertices on their sides included.

    Side ``j`` runs from ``vertex[j]`` to ``vertex[next[j]]``, counter-clockwise
    around region ``group[j]``; the sides of a region are consecutive.
    """

    vertex: np.ndarray  #: (nb,) int64
    next: np.ndarray  #: (nb,) int64
    group: np.ndarray  #: (nb,) int64
    code: np.ndarray  #: (nb,) int64 source code of the side


@dataclasses.dataclass(frozen=True)
class ChordPlaces:
    """Where each chord lies among the boundaries being cut."""

    group: np.ndarray  #: (C,) int64 the boundary group (region) of each chord
    #: (2C,) int64 the boundary side leaving the vertex of each end (ends a, then ends b)
    end_at: np.ndarray
    size: np.ndarray  #: (C,) int64 corners of the chord's region (positions wrap at it)


def _in_arc(x: np.ndarray, start: np.ndarray, stop: np.ndarray) -> np.ndarray:
    """Whether position ``x`` lies strictly inside the counter-clockwise arc ``start -> stop``."""
    return np.where(start < stop, (start < x) & (x < stop), (x > start) | (x < stop))


def _at_ends(
    succ: np.ndarray,
    prev_side: np.ndarray,
    chords: Chords,
    places: ChordPlaces,
    paths: ChordPaths,
    nb: int,
) -> None:
    """Successors at boundary vertices where chords end (in place)."""
    nch = len(chords)
    first = paths.first_seg[:-1]
    last = paths.first_seg[1:] - 1
    # the half-edge leaving each end into the region, and the one arriving at it
    leave = np.concatenate([nb + 2 * first, nb + 2 * last + 1])
    arrive = ((leave - nb) ^ 1) + nb
    pos = np.concatenate([chords.pos_a, chords.pos_b])
    other = np.concatenate([chords.pos_b, chords.pos_a])
    m = np.concatenate([places.size, places.size]).astype(np.float64)
    offset = np.where(other > pos, other - pos, other - pos + m)  # ccw from the end
    o = np.lexsort((np.arange(2 * nch), offset, places.end_at))
    at = places.end_at[o]
    start = changes(at)
    stop = np.append(start[1:], True)
    # next(twin(L[i])) = L[i - 1]; next(twin(L[0])) = the side leaving the vertex
    before = np.empty(len(o), dtype=np.int64)
    before[1:] = leave[o][:-1]
    succ[arrive[o]] = np.where(start, at, before)
    # the side arriving at the vertex continues into the last chord
    succ[prev_side[at[stop]]] = leave[o][stop]


def _at_crossings(
    succ: np.ndarray,
    chords: Chords,
    a: np.ndarray,
    b: np.ndarray,
    paths: ChordPaths,
    nb: int,
) -> None:
    """Successors at crossings of two chords only (in place): four rays in a known order."""
    nx = len(a)
    x = paths.single.nonzero()[0]
    a, b = a[x], b[x]
    va, vb = paths.visit_of[x], paths.visit_of[nx + x]
    # rays leaving the crossing: along chord a backwards (to its end a), forwards (to b)
    a_bwd = nb + 2 * (a + va) + 1
    a_fwd = nb + 2 * (a + va + 1)
    b_bwd = nb + 2 * (b + vb) + 1
    b_fwd = nb + 2 * (b + vb + 1)
    # counter-clockwise: a_bwd, b_fwd, a_fwd, b_bwd if chord b's end b lies in the arc
    # from chord a's end a to its end b, else a_bwd, b_bwd, a_fwd, b_fwd
    flip = _in_arc(chords.pos_b[b], chords.pos_a[a], chords.pos_b[a])
    succ[((a_bwd - nb) ^ 1) + nb] = np.where(flip, b_bwd, b_fwd)
    succ[((a_fwd - nb) ^ 1) + nb] = np.where(flip, b_fwd, b_bwd)
    succ[((b_bwd - nb) ^ 1) + nb] = np.where(flip, a_fwd, a_bwd)
    succ[((b_fwd - nb) ^ 1) + nb] = np.where(flip, a_bwd, a_fwd)


def _at_shared(succ: np.ndarray, chords: Chords, paths: ChordPaths, nb: int) -> None:
    """Successors at vertices made of several crossings (in place), by sorting their rays."""
    shared = np.ones(len(paths.visit_chord), dtype=bool)
    singles = paths.single.nonzero()[0]
    nx = len(paths.single)
    shared[paths.visit_of[singles]] = False
    shared[paths.visit_of[nx + singles]] = False
    v = shared.nonzero()[0]
    if len(v) == 0:
        return
    c = paths.visit_chord[v]
    ray = np.concatenate([nb + 2 * (c + v) + 1, nb + 2 * (c + v + 1)])  # backwards, forwards
    key = np.concatenate([chords.pos_a[c], chords.pos_b[c]])
    vertex = np.concatenate([paths.visit_vertex[v], paths.visit_vertex[v]])
    o = np.lexsort((np.concatenate([2 * v, 2 * v + 1]), key, vertex))
    start = changes(vertex[o])
    stop = np.append(start[1:], True)
    ray = ray[o]
    before = np.empty(len(o), dtype=np.int64)
    before[1:] = ray[:-1]
    before[start] = ray[stop]  # cyclically
    succ[((ray - nb) ^ 1) + nb] = before


def face_successors(
    boundary: Boundary,
    chords: Chords,
    places: ChordPlaces,
    paths: ChordPaths,
    crossings: Crossings,
) -> np.ndarray:
    """``(nb + 2 S,) int64``: the next half-edge around the face to the left of each."""
    nb = len(boundary.vertex)
    succ = np.full(nb + 2 * len(paths.seg_chord), -1, dtype=np.int64)
    succ[:nb] = boundary.next
    if len(chords):
        prev_side = np.empty(nb, dtype=np.int64)
        prev_side[boundary.next] = np.arange(nb)
        _at_ends(succ, prev_side, chords, places, paths, nb)
        _at_crossings(succ, chords, crossings.a, crossings.b, paths, nb)
        _at_shared(succ, chords, paths, nb)
    return succ


def trace_faces(
    boundary: Boundary,
    chords: Chords,
    places: ChordPlaces,
    paths: ChordPaths,
    crossings: Crossings,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The faces of the arrangement of the chords in every region of ``boundary``.

    Returns
    -------
    face_offsets : (F+1,) int64
    face_vertices : (I,) int64
        Corners, counter-clockwise, from the face's smallest half-edge.
    face_source : (I,) int64
        Source code of the side leaving each corner.
    face_group : (F,) int64
        The region (boundary group) of each face.
    """
    succ = face_successors(boundary, chords, places, paths, crossings)
    offsets, members = cycles(succ)
    nb = len(boundary.vertex)
    n = len(succ)
    orig = np.empty(n, dtype=np.int64)
    code = np.empty(n, dtype=np.int64)
    group = np.empty(n, dtype=np.int64)
    orig[:nb] = boundary.vertex
    orig[nb::2] = paths.seg_from
    orig[nb + 1 :: 2] = paths.seg_to
    code[:nb] = boundary.code
    group[:nb] = boundary.group
    for half in (nb, nb + 1):
        code[half::2] = chords.code[paths.seg_chord]
        group[half::2] = places.group[paths.seg_chord]
    return offsets, orig[members], code[members], group[members[offsets[:-1]]]
