"""Each step of the cut on tiny hand-made meshes, then the whole cut."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from regionscope.backends import available_backends, backend
from regionscope.errors import RegionLimitError
from regionscope.geometry.chords import (
    along_chords,
    chord_crossings,
    chord_ends,
    chord_segments,
    edge_points,
    make_chords,
    merge_concurrent,
)
from regionscope.geometry.cutting import classify, crossed_pairs, cut, rebuild_regions
from regionscope.geometry.mesh import Mesh, encode_source
from regionscope.tolerances import budget

pytestmark = pytest.mark.usefixtures("both_backends")

SQUARE = Mesh.from_polygon(np.array([[-1.0, -1.0], [1.0, -1.0], [1.0, 1.0], [-1.0, 1.0]]))


def lines(mesh, abc):
    """Values at the vertices of units ``a x + b y + c`` (rows of ``abc``)."""
    abc = np.asarray(abc, dtype=np.float64)
    return mesh.vertices @ abc[:, :2].T + abc[:, 2]


def steps(mesh, abc, point_tol=1e-12):
    values = lines(mesh, abc)
    tol = np.zeros(len(abc))
    pr, pu = crossed_pairs(values, tol, mesh.region_vertices, mesh.region_offsets)
    ends = chord_ends(mesh, values, tol, pr, pu)
    points, at = edge_points(ends, mesh.vertices, point_tol)
    chords = make_chords(ends, at, encode_source(0, np.arange(len(abc))))
    return values, ends, points, chords


def test_classify_uses_each_units_own_tolerance():
    values = np.array([[1e-9, 1e-9], [-1e-9, 5.0]])
    got = classify(values, np.array([1e-8, 1e-12]))
    assert got.tolist() == [[0, 1], [0, 1]]


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 3), st.integers(1, 130), st.integers(0, 2**16))
def test_crossed_pairs_match_brute_force(nregions, n, seed):
    # regions of 3 corners each over a shared vertex table; values at random, some zero
    rng = np.random.default_rng(seed)
    nverts = 6
    rv = rng.integers(0, nverts, size=3 * nregions)
    offsets = np.arange(0, 3 * nregions + 1, 3)
    values = rng.normal(size=(nverts, n)) * (rng.random((nverts, n)) < 0.8)
    tol = rng.random(n) * 0.3
    signs = classify(values, tol)
    active = rng.random((nregions, n)) < 0.7
    for act, table in [(None, 1 << 24), (active, 1 << 24), (None, 8), (active, 8)]:
        with budget(table_values=table):  # in one chunk, or region by region
            pairs = crossed_pairs(values, tol, rv, offsets, act)
        assert all(np.diff(pairs[0] * n + pairs[1]) > 0)  # sorted by region, then unit
        got = set(zip(*(a.tolist() for a in pairs), strict=True))
        want = {
            (f, u)
            for f in range(nregions)
            for u in range(n)
            if (signs[rv[3 * f : 3 * f + 3], u] > 0).any()
            and (signs[rv[3 * f : 3 * f + 3], u] < 0).any()
            and (act is None or act[f, u])
        }
        assert got == want


def test_no_units_cross_nothing_and_leave_the_mesh_as_it_is():
    # a layer stage with no units (values of shape (V, 0)) on a mesh of one square
    mesh = Mesh(
        np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]]),
        np.arange(4), np.array([0, 4]), np.full(4, -1), 4,
    )  # fmt: skip
    values, tol = np.zeros((4, 0)), np.zeros(0)
    region, unit = crossed_pairs(values, tol, mesh.region_vertices, mesh.region_offsets)
    assert len(region) == len(unit) == 0
    res = cut(mesh, values, tol, np.zeros(0, dtype=np.int64), 1e-9, 100)
    assert res.mesh.num_regions == 1 and res.num_chords == 0
    assert res.region_parent.tolist() == [0]


def test_chord_ends_on_sides_and_at_corners():
    # x - 0.5 crosses the bottom and top sides; x - y runs through corners 0 and 2
    _, ends, _, _ = steps(SQUARE, [[1, 0, -0.5], [1, -1, 0]])
    assert ends.on_side.tolist() == [[True, True], [False, False]]
    assert sorted(ends.corner[1].tolist()) == [0, 2]
    lo, hi = SQUARE.vertices[ends.side_lo[0]], SQUARE.vertices[ends.side_hi[0]]
    crossing = lo + ends.side_t[0][:, None] * (hi - lo)
    np.testing.assert_allclose(crossing[:, 0], 0.5)  # where x - 0.5 = 0


def test_end_vertices_say_where_each_end_lies_around_its_region():
    # x - 0.5 crosses the bottom side (corner 0 -> 1) and the top side (corner 2 -> 3);
    # x - y runs through corners 0 and 2
    values = lines(SQUARE, [[1, 0, -0.5], [1, -1, 0]])
    tol = np.zeros(2)
    ends = chord_ends(
        SQUARE,
        values,
        tol,
        *crossed_pairs(values, tol, SQUARE.region_vertices, SQUARE.region_offsets),
    )
    points, at = edge_points(ends, SQUARE.vertices, 1e-12)
    assert sorted(map(tuple, at.corner[0].reshape(-1, 1).tolist())) == [(0,), (2,)]
    assert at.step[0].tolist() == [1, 1] and at.step[1].tolist() == [0, 0]
    assert sorted(at.corner[1].tolist()) == [0, 2]
    assert sorted(at.pos[0].tolist()) == [0.75, 2.25]  # a quarter of the way, and back
    assert (at.vid[0] >= 4).all() and len(points.key) == 2


def test_edge_points_merge_units_meeting_a_side_at_one_point():
    # x and 2x cross the same sides at the same points: two new vertices, not four
    _, _, points, chords = steps(SQUARE, [[1, 0, 0], [2, 0, 0]])
    assert len(points.key) == 2
    np.testing.assert_allclose(np.sort(points.xy[:, 1]), [-1, 1])
    assert len(chords) == 1  # the two chords coincide: kept once


def test_make_chords_drops_chords_along_a_side():
    # y + 1 is zero along the bottom side: no chord; x cuts
    _, _, _, chords = steps(SQUARE, [[0, 1, 1], [1, 0, 0]])
    assert len(chords) == 1
    assert chords.code.tolist() == [int(encode_source(0, 1))]


def test_chord_crossings_and_segments():
    values, ends, points, chords = steps(SQUARE, [[1, 0, 0], [0, 1, 0]])
    xy = np.concatenate([SQUARE.vertices, points.xy])
    crossings = chord_crossings(chords, xy, SQUARE.num_regions, 100)
    assert len(crossings) == 1
    np.testing.assert_allclose(crossings.xy, [[0.0, 0.0]], atol=1e-15)
    np.testing.assert_allclose([crossings.s_a[0], crossings.s_b[0]], [0.5, 0.5])
    point_of, roots, _ = merge_concurrent(crossings, chords, xy, 1e-12)
    paths = chord_segments(chords, crossings, len(xy) + point_of)
    assert len(paths.seg_from) == 4 and paths.seg_chord.tolist() == [0, 0, 1, 1]
    assert paths.first_seg.tolist() == [0, 2, 4]
    centre = len(xy)  # the one crossing vertex, visited once by each chord
    assert paths.seg_to[[0, 2]].tolist() == [centre, centre]
    assert paths.seg_from[[1, 3]].tolist() == [centre, centre]
    assert paths.visit_vertex.tolist() == [centre, centre] and paths.single.tolist() == [True]


def test_chord_crossings_respect_the_region_limit():
    _, _, points, chords = steps(SQUARE, [[1, 0, 0], [0, 1, 0]])
    xy = np.concatenate([SQUARE.vertices, points.xy])
    with pytest.raises(RegionLimitError) as info:
        chord_crossings(chords, xy, SQUARE.num_regions, 3)
    assert info.value.count == 4  # 1 region + 2 chords + 1 crossing


def test_merge_concurrent_makes_three_lines_through_a_point_one_vertex():
    _, _, points, chords = steps(SQUARE, [[1, 0, 0], [0, 1, 0], [1, 1, 0]])
    xy = np.concatenate([SQUARE.vertices, points.xy])
    crossings = chord_crossings(chords, xy, 1, 100)
    assert len(crossings) == 3
    point_of, roots, _ = merge_concurrent(crossings, chords, xy, 1e-12)
    assert point_of.tolist() == [0, 0, 0] and len(roots) == 1
    # each chord visits the shared vertex once, though it crosses two chords there
    paths = chord_segments(chords, crossings, len(xy) + point_of)
    assert np.bincount(paths.visit_chord).tolist() == [1, 1, 1]
    assert not paths.single.any() and len(paths.seg_from) == 6


def test_along_chords_is_ordered_by_chord_then_position_then_membership():
    _, _, points, chords = steps(SQUARE, [[1, 0, 0.1], [0, 1, 0.2], [1, 1, 0.05], [1, -1, 0.3]])
    xy = np.concatenate([SQUARE.vertices, points.xy])
    crossings = chord_crossings(chords, xy, 1, 100)
    along = along_chords(crossings)
    key = [(c, s, m) for c, s, m in zip(along.chord, along.s, along.order, strict=True)]
    assert key == sorted(key)
    nx = len(crossings)
    chord_of = np.concatenate([crossings.a, crossings.b])
    assert (chord_of[along.order] == along.chord).all()
    assert sorted(along.order.tolist()) == list(range(2 * nx))


def test_rebuild_regions_traces_the_faces():
    values, ends, points, chords = steps(SQUARE, [[1, 0, 0]])
    xy = np.concatenate([SQUARE.vertices, points.xy])
    crossings = chord_crossings(chords, xy, 1, 100)
    point_of, _, _ = merge_concurrent(crossings, chords, xy, 1e-12)
    paths = chord_segments(chords, crossings, len(xy) + point_of)
    touched, (offsets, corners, codes, group) = rebuild_regions(
        SQUARE, chords, crossings, paths, points
    )
    assert touched.tolist() == [True]
    assert np.diff(offsets).tolist() == [4, 4]
    made = codes == int(encode_source(0, 0))
    assert made.sum() == 2  # the chord bounds both halves


def test_cut_whole_and_exact_interpolation():
    res = cut(SQUARE, lines(SQUARE, [[1, 0, 0], [0, 1, 0]]), np.zeros(2),
              encode_source(0, np.arange(2)), 1e-12, 100)  # fmt: skip
    mesh = res.mesh
    assert (mesh.num_regions, mesh.num_vertices, len(mesh.edge_vertices)) == (4, 9, 12)
    np.testing.assert_allclose(mesh.areas, 1.0)
    # any function affine on the old region is carried exactly to the new vertices
    f = SQUARE.vertices @ [2.0, -3.0] + 0.5
    np.testing.assert_allclose(res.extend(f), mesh.vertices @ [2.0, -3.0] + 0.5, atol=1e-14)


def test_cut_by_nothing_returns_the_mesh():
    res = cut(SQUARE, lines(SQUARE, [[0, 0, 1]]), np.zeros(1), encode_source(0, [0]), 0.0, 9)
    assert res.mesh is SQUARE and res.num_chords == 0


# A region of a real tile (the CIFAR-shaped CNN on the plane through three patches, tile
# (22, 75) of 80 x 80) that earlier cuts left with a corner turning right by 1.26e-9 of its
# sides' product (rounding: sides of 1e-6 at coordinates near 20), and a unit whose zero line
# runs between two of its corners.  The cut's own check flagged the faces that keep that
# corner, cutting one unit at a time flagged them again, and the tile failed.
TILE_REGION = np.array([
    (-6.056381907499467, 19.57118455830322),
    (-6.051724471225806, 19.57174151552992),
    (-6.021636108986309, 19.575339617533725),
    (-6.022279286024712, 19.580359787805104),
    (-6.0330746315766195, 19.584588044398952),
    (-6.057935618614177, 19.57277859868427),
    (-6.057934898376406, 19.57277785975148),
    (-6.057932169202194, 19.572775059736816),
    (-6.0573696294703545, 19.572197918310714),
])  # fmt: skip
TILE_VALUES = np.array([
    7.403904736941191e-07, 0.0, -4.783132921681865e-06, -8.723539688365589e-06,
    -1.1384863812288759e-05, -4.242620723765578e-07, -4.237221864566146e-07,
    -4.216764138130121e-07, 0.0,
])  # fmt: skip


def _turns(xy):
    """Each corner's turn over the product of its sides' lengths (positive: left)."""
    a = xy - np.roll(xy, 1, axis=0)
    b = np.roll(xy, -1, axis=0) - xy
    return (a[:, 0] * b[:, 1] - a[:, 1] * b[:, 0]) / (np.hypot(*a.T) * np.hypot(*b.T))


def test_a_chord_between_corners_of_a_region_with_a_rounding_right_turn():
    from regionscope.tolerances import CONVEX_RTOL, FACE_TURN_RTOL

    turns = _turns(TILE_REGION)
    assert -CONVEX_RTOL < turns.min() < -FACE_TURN_RTOL  # the mesh allows it, a new face not
    mesh = Mesh.from_polygon(TILE_REGION)
    args = (TILE_VALUES[:, None], np.array([4.1984455069423684e-10]),
            encode_source(5, np.array([7])), 5.111169817327169e-11, 100)  # fmt: skip
    out = cut(mesh, *args).mesh
    if "torch" in available_backends():  # the torch backend's cut, on the CPU: the same
        with backend("torch", device="cpu", host_below=0):
            again = cut(mesh, *args).mesh
        for name in ("vertices", "region_vertices", "region_offsets", "incidence_source"):
            assert np.array_equal(getattr(again, name), getattr(out, name)), name
    assert out.num_regions == 2 and out.num_vertices == 9  # the chord joins corners 1 and 8
    faces = sorted(
        sorted(out.region_vertices[out.region_offsets[f] : out.region_offsets[f + 1]].tolist())
        for f in range(2)
    )
    assert faces == [[0, 1, 8], [1, 2, 3, 4, 5, 6, 7, 8]]
    for f in range(2):
        corners = out.region_vertices[out.region_offsets[f] : out.region_offsets[f + 1]]
        assert _turns(out.vertices[corners]).min() > -CONVEX_RTOL
    area = mesh.areas.sum()
    assert abs(out.areas.sum() - area) <= 1e-12 * area


def test_cutting_one_unit_at_a_time_carries_one_column(monkeypatch):
    """The region above, a second unit across its middle: the region is cut one unit at a
    time, and each unit's values reach the new vertices as one column (a table of every
    unit at every step cost a tile 90 s), with the faces every unit makes."""
    import regionscope.geometry.cutting as cutting

    widths: list[int] = []
    real = cutting._interpolate

    def spy(values, *args):
        widths.append(values.shape[1] if values.ndim == 2 else 1)
        return real(values, *args)

    monkeypatch.setattr(cutting, "_interpolate", spy)
    middle = TILE_REGION[:, 0].mean()
    values = np.stack([TILE_VALUES, 1e-3 * (TILE_REGION[:, 0] - middle)], axis=1)
    mesh = Mesh.from_polygon(TILE_REGION)
    out = cut(mesh, values, np.array([4.1984455069423684e-10, 1e-12]),
              encode_source(5, np.array([7, 8])), 5.111169817327169e-11, 100).mesh  # fmt: skip
    assert set(widths) <= {1}
    assert out.num_regions == 3 and out.num_vertices == 11  # the second chord: two new ends
    area = mesh.areas.sum()
    assert (out.areas > 0).all() and abs(out.areas.sum() - area) <= 1e-12 * area
