"""Faces of chord arrangements, traced without angles, against tracing by angles."""

from __future__ import annotations

import math
from collections import defaultdict

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from regionscope.geometry.check import check_mesh
from regionscope.geometry.chords import (
    along_chords,
    chord_crossings,
    chord_ends,
    chord_segments,
    edge_points,
    make_chords,
    merge_concurrent,
)
from regionscope.geometry.cutting import crossed_pairs, cut, rebuild_regions
from regionscope.geometry.faces import Boundary, ChordPlaces, face_successors
from regionscope.geometry.mesh import Mesh, encode_source
from regionscope.testing import line_arrangement_count

pytestmark = pytest.mark.usefixtures("both_backends")

SQUARE = Mesh.from_polygon(np.array([[-1.0, -1.0], [1.0, -1.0], [1.0, 1.0], [-1.0, 1.0]]))


def faces_by_angle(xy, edges):
    """Inner faces of a plane graph, by sorting each vertex's neighbours by angle."""
    nbrs = defaultdict(list)
    for a, b in edges:
        nbrs[a].append(b)
        nbrs[b].append(a)
    for v, ws in nbrs.items():
        ws.sort(key=lambda w: math.atan2(xy[w][1] - xy[v][1], xy[w][0] - xy[v][0]))
    seen, faces = set(), set()
    for a in nbrs:
        for b in nbrs[a]:
            if (a, b) in seen:
                continue
            cycle, (u, v) = [], (a, b)
            while (u, v) not in seen:
                seen.add((u, v))
                cycle.append(u)
                ws = nbrs[v]
                u, v = v, ws[ws.index(u) - 1]  # the next edge clockwise of the twin
            area = sum(
                xy[p][0] * xy[q][1] - xy[p][1] * xy[q][0]
                for p, q in zip(cycle, cycle[1:] + cycle[:1], strict=True)
            )
            if area > 0:  # the outer face runs clockwise
                k = cycle.index(min(cycle))
                faces.add(tuple(cycle[k:] + cycle[:k]))
    return faces


def mesh_faces(mesh):
    faces = set()
    for f in range(mesh.num_regions):
        c = mesh.region_vertices[mesh.region_offsets[f] : mesh.region_offsets[f + 1]].tolist()
        k = c.index(min(c))
        faces.add(tuple(c[k:] + c[:k]))
    return faces


def lines_cut(mesh, abc):
    """Cut by the lines ``a x + b y + c`` with the snapping rule's tolerances (scale: the
    largest of ``|a| + |b| + |c|`` over the domain ``[-1, 1]^2``)."""
    abc = np.asarray(abc, dtype=np.float64)
    values = mesh.vertices @ abc[:, :2].T + abc[:, 2]
    codes = encode_source(0, np.arange(len(abc)))
    tol = 1e-11 * np.abs(abc).sum(axis=1)
    return cut(mesh, values, tol, codes, 1e-12 * math.sqrt(8), 10_000)


def pipeline(mesh, abc):
    """The inputs of the face tracing for lines ``abc`` cutting ``mesh``."""
    abc = np.asarray(abc, dtype=np.float64)
    values = mesh.vertices @ abc[:, :2].T + abc[:, 2]
    tol = np.zeros(len(abc))
    pairs = crossed_pairs(values, tol, mesh.region_vertices, mesh.region_offsets)
    ends = chord_ends(mesh, values, tol, *pairs)
    points, at = edge_points(ends, mesh.vertices, 1e-12)
    chords = make_chords(ends, at, encode_source(0, np.arange(len(abc))), mesh)
    xy = np.concatenate([mesh.vertices, points.xy])
    crossings = chord_crossings(chords, xy, mesh.num_regions, 10_000)
    along = along_chords(crossings)
    point_of, roots, _ = merge_concurrent(crossings, chords, xy, 1e-12, along=along)
    paths = chord_segments(chords, crossings, len(xy) + point_of, along)
    return chords, crossings, paths, points, np.concatenate([xy, crossings.xy[roots]])


def test_a_cross_gives_four_quadrants_each_turning_left():
    chords, crossings, paths, points, xy = pipeline(SQUARE, [[1, 0, 0], [0, 1, 0]])
    touched, (offsets, corners, codes, group) = rebuild_regions(
        SQUARE, chords, crossings, paths, points
    )
    assert touched.tolist() == [True] and group.tolist() == [0, 0, 0, 0]
    assert np.diff(offsets).tolist() == [4, 4, 4, 4]
    centre = len(xy) - 1
    for f in range(4):
        c = corners[offsets[f] : offsets[f + 1]]
        assert centre in c
        p, q = xy[c], xy[np.roll(c, -1)]
        assert (p[:, 0] * q[:, 1] - p[:, 1] * q[:, 0]).sum() > 0  # counter-clockwise
    # each face has two chord sides and two sides on the square's boundary
    assert np.bincount(codes < 0).tolist() == [8, 8]


def test_lines_in_general_position_give_one_face_per_line_and_crossing():
    abc = [[1, 0, 0.1], [0, 1, -0.2], [1, 1, 0.05], [1, -2, 0.3], [3, 1, -0.4]]
    chords, crossings, paths, points, _ = pipeline(SQUARE, abc)
    _, (offsets, corners, _, group) = rebuild_regions(SQUARE, chords, crossings, paths, points)
    assert len(offsets) - 1 == line_arrangement_count(np.array(abc), (-1, 1, -1, 1))
    assert len(corners) == offsets[-1] and (group == 0).all()


def test_face_successors_permute_and_start_each_face_at_its_smallest_half_edge():
    chords, crossings, paths, points, _ = pipeline(SQUARE, [[1, 0, 0.3], [1, 2, -0.1]])
    # the square's boundary with the four side points inserted, counter-clockwise
    pos = np.concatenate([chords.pos_a, chords.pos_b])
    vid = np.concatenate([chords.vid_a, chords.vid_b])
    ends = list(zip(pos.tolist(), vid.tolist(), strict=True))
    ring = sorted([(float(k), k) for k in range(4)] + ends)
    vertex = np.array([v for _, v in ring])
    nb = len(vertex)
    boundary = Boundary(vertex, (np.arange(nb) + 1) % nb, np.zeros(nb, np.int64), np.full(nb, -1))
    end_at = np.array([[v for _, v in ring].index(x) for x in vid])
    places = ChordPlaces(np.zeros(len(chords), np.int64), end_at, np.full(len(chords), 4))
    succ = face_successors(boundary, chords, places, paths, crossings)
    assert sorted(succ.tolist()) == list(range(len(succ)))


@settings(max_examples=30, deadline=None)
@given(
    st.lists(
        st.tuples(st.floats(-1, 1), st.floats(-1, 1), st.floats(-0.9, 0.9)), min_size=1, max_size=9
    ),
    st.booleans(),
)
def test_faces_match_tracing_by_angles(lines, concurrent):
    abc = np.array(lines)
    if concurrent:  # every line through one point: a vertex of high degree
        abc[:, 2] = -(abc[:, :2] @ [0.2, -0.3])
    # lines through one point at angles below ~1e-7 can still leave a sliver (a known
    # limit of the snapping, older than this face tracing): keep clear of those
    n = abc[:, :2] / np.maximum(np.hypot(abc[:, 0], abc[:, 1]), 1e-300)[:, None]
    sine = np.abs(n[:, None, 0] * n[None, :, 1] - n[:, None, 1] * n[None, :, 0])
    assume(((sine == 0) | (sine > 1e-6)).all())
    res = lines_cut(SQUARE, abc)
    mesh = res.mesh
    check_mesh(mesh, 4.0)
    assert mesh_faces(mesh) == faces_by_angle(mesh.vertices, mesh.edge_vertices.tolist())


def test_faces_of_several_regions_are_traced_separately():
    two = lines_cut(SQUARE, [[1, 0, 0]]).mesh  # two halves, then a line across both
    res = lines_cut(two, [[0, 1, 0.25], [1, 1, 0.1]])
    check_mesh(res.mesh, 4.0)
    assert res.mesh.num_regions == 2 + 2 + 2 + 1
    assert sorted(np.bincount(res.region_parent).tolist()) == [3, 4]
    assert mesh_faces(res.mesh) == faces_by_angle(
        res.mesh.vertices, res.mesh.edge_vertices.tolist()
    )
