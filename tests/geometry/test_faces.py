"""Face tracing of plane graphs given as twin half-edges."""

from __future__ import annotations

import numpy as np

from regionscope.geometry.faces import trace_faces


def half_edges(pairs):
    orig = np.array([v for a, b in pairs for v in (a, b)])
    dest = np.array([v for a, b in pairs for v in (b, a)])
    return orig, dest


def test_square_with_a_cross_gives_four_faces():
    # corners 0-3, side midpoints 4-7, centre 8
    xy = np.array([[0, 0], [2, 0], [2, 2], [0, 2], [1, 0], [2, 1], [1, 2], [0, 1], [1, 1.0]])
    ring = [(0, 4), (4, 1), (1, 5), (5, 2), (2, 6), (6, 3), (3, 7), (7, 0)]
    inner = [(4, 8), (8, 6), (7, 8), (8, 5)]
    orig, dest = half_edges(ring + inner)
    outer = np.zeros(len(orig), dtype=bool)
    outer[1 : 2 * len(ring) : 2] = True
    group, offsets, corners, code = trace_faces(
        np.zeros(len(orig), dtype=np.int64), orig, dest, np.arange(len(orig)), xy, outer
    )
    assert np.diff(offsets).tolist() == [4, 4, 4, 4]
    faces = [corners[offsets[i] : offsets[i + 1]] for i in range(4)]
    assert all(8 in f for f in faces)
    # counter-clockwise: positive shoelace
    for f in faces:
        p = xy[f]
        q = np.roll(p, -1, axis=0)
        assert (p[:, 0] * q[:, 1] - p[:, 1] * q[:, 0]).sum() > 0


def test_graphs_in_groups_are_traced_separately():
    xy = np.array([[0, 0], [1, 0], [0, 1.0], [5, 5], [6, 5], [5, 6]])
    tri = [(0, 1), (1, 2), (2, 0)]
    tri2 = [(3, 4), (4, 5), (5, 3)]
    orig, dest = half_edges(tri + tri2)
    group = np.repeat([0, 1], 6)
    outer = np.zeros(12, dtype=bool)
    outer[1::2] = True
    g, offsets, corners, _ = trace_faces(group, orig, dest, np.zeros(12, np.int64), xy, outer)
    assert g.tolist() == [0, 1]
    assert sorted(corners[: offsets[1]].tolist()) == [0, 1, 2]
