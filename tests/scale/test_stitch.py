"""Stitching tiles: border points, joins verified by full patterns, counts by hand."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import regionscope as rs
from regionscope.scale.grid import pattern_rows, tile_borders, tile_domains, tile_summary
from regionscope.scale.stitch import border_points, first_difference, stitch


def summaries(net, domain, tiles):
    xs, ys = tile_borders(domain, tiles)
    return [
        tile_summary(rs.partition(net, t), ij, xs, ys, 1e-12)
        for ij, t in tile_domains(domain, xs, ys)
    ]


def test_border_points_group_within_the_tolerance_along_a_line():
    xy = np.array(
        [[1.0, 0.0], [1.0, 1e-15], [1.0, 0.5], [1.0, 0.5 + 1e-9], [0.3, 1.0], [0.3 + 1e-15, 1.0]]
    )
    vline = np.array([1, 1, 1, 1, -1, -1])
    hline = np.array([-1, -1, -1, -1, 2, 2])
    point, n = border_points(xy, vline, hline, 1e-12)
    assert n == 4
    assert point[0] == point[1] and point[4] == point[5]
    assert len({point[0], point[2], point[3], point[4]}) == 4


def test_first_difference():
    pats = {
        "pattern/1": np.array([[True, False], [True, True], [True, False]]),
        "pattern/3": np.array([[0], [0], [2]]),
    }
    layer, unit = first_difference(pats, np.array([0, 0, 1]), np.array([1, 2, 1]))
    assert layer.tolist() == [1, 3, -1] and unit.tolist() == [1, 0, -1]


@settings(max_examples=60, deadline=None)
@given(
    rows=st.integers(1, 12),
    width=st.integers(1, 40),
    seed=st.integers(0, 2**31 - 1),
    step=st.sampled_from([None, 8, 1]),
)
def test_first_difference_packed_is_unpacked(rows, width, seed, step):
    # packed 8 units a byte (scale.grid.pattern_rows), the same first (layer, unit) as the
    # bool rows, also when pairs are compared in small blocks
    rng = np.random.default_rng(seed)
    bools = rng.random((rows, width)) < 0.5
    winners = rng.integers(0, 3, size=(rows, 2))
    a, b = rng.integers(0, rows, size=(2, 30))
    assume((a != b).any())
    plain = first_difference({"pattern/1": bools, "pattern/4": winners}, a, b)
    packed = pattern_rows({1: bools, 4: winners}, np.arange(rows))
    assert sorted(packed) == ["bits/1", "pattern/4"]
    chunk = {} if step is None else {"chunk_values": step}
    with rs.budget(**chunk):
        got = first_difference(packed, a, b)
    assert got[0].tolist() == plain[0].tolist() and got[1].tolist() == plain[1].tolist()


def test_star_by_hand():
    # units x, y, x + y, x - y on Box(1) in 2 x 2 tiles: every border runs along an edge and
    # the tile corner is the vertex where the 8 edges meet
    star = rs.Sequential(rs.Linear([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [1.0, -1.0]]), rs.ReLU())
    s = stitch(summaries(star, rs.Box(1.0), 2), rs.Box(1.0).polygon, 1e-12)
    # regions: 8; vertices: the centre, 4 corners, 4 midpoints of the sides; E = V + F - 1
    assert (s.num_regions, s.num_vertices, s.num_edges) == (8, 9, 16)
    assert s.num_pieces.tolist() == [1] * 8  # no region crosses a border
    assert s.areas.tolist() == [0.5] * 8
    # the 4 half-borders from the centre are edges made by unit 0 (x = 0) or 1 (y = 0)
    assert len(s.edge_layer) == 4
    assert sorted(s.edge_unit.tolist()) == [0, 0, 1, 1]
    centre = np.flatnonzero((np.abs(s.point_xy) < 1e-12).all(axis=1))
    assert len(centre) == 1 and s.point_is_vertex[centre[0]]


def test_one_line_across_tiles_by_hand():
    # one ReLU y = 0.3 x + 0.1 across 3 x 3 tiles: 2 regions, 4 vertices (corners) + 2 where
    # the line meets the sides; the points where it crosses inner borders are not vertices
    net = rs.Sequential(rs.Linear([[-0.3, 1.0]], [-0.1]), rs.ReLU())
    s = stitch(summaries(net, rs.Box(1.0), 3), rs.Box(1.0).polygon, 1e-12)
    assert (s.num_regions, s.num_vertices, s.num_edges) == (2, 6, 7)
    # the line crosses the middle row of tiles and, from x = 7 / 9 on, the top right one:
    # above it, the 3 top tiles and 3 middle ones; below it, the 6 lower ones and the top right
    assert sorted(s.num_pieces.tolist()) == [6, 7]
    # the line makes no edge along a border
    assert len(s.edge_layer) == 0
    below = 2.0 * (0.1 + 1.0)  # area under the line y = 0.3 x + 0.1 in [-1, 1]^2
    assert sorted(s.areas.tolist()) == pytest.approx(sorted([below, 4.0 - below]), rel=1e-14)


def test_equal_keys_but_different_patterns_are_kept_apart():
    # tamper with one tile's keys: the full patterns still decide
    net = rs.Sequential(rs.Linear([[1.0, 0.0]], [0.0]), rs.ReLU())
    sums = summaries(net, rs.Box(1.0), (2, 1))  # the border x = 0 is the ReLU's edge
    assert stitch(sums, rs.Box(1.0).polygon, 1e-12).num_regions == 2
    right = dict(sums[1])
    right["border_keys"] = sums[0]["border_keys"].copy()  # a "collision" across the edge
    s = stitch([sums[0], right], rs.Box(1.0).polygon, 1e-12)
    assert s.num_regions == 2 and s.collisions == 1


@pytest.mark.parametrize("where", ["summaries", "callbacks", "files"])
def test_regions_are_numbered_by_their_first_piece(where, tmp_path):
    # an independent oracle: the pieces of one region are the pieces whose patterns are one
    # region's pattern in the whole partition (its keys are unique there)
    rng = np.random.default_rng(3)
    net = rs.Sequential(
        rs.Linear(rng.normal(size=(9, 2)), rng.normal(size=9)), rs.ReLU(),
        rs.Linear(rng.normal(size=(4, 9)), rng.normal(size=4)), rs.ReLU(),
    )  # fmt: skip
    box = rs.Box(2.0)
    xs, ys = tile_borders(box, 3)
    parts = [rs.partition(net, t) for _, t in tile_domains(box, xs, ys)]
    sums = summaries(net, box, 3)
    whole = rs.partition(net, box)
    assert len(np.unique(whole.pattern_keys())) == whole.num_regions
    if where == "summaries":
        s = stitch(sums, box.polygon, 1e-12)
    else:  # patterns and per-region tables given tile by tile, the summaries light
        light = [
            {k: v for k, v in x.items() if k not in ("areas", "centroids")
             and not k.startswith(("bits/", "pattern/"))}
            | {"border_areas": x["areas"][x["border_regions"]],
               "border_centroids": x["centroids"][x["border_regions"]]}
            for x in sums
        ]  # fmt: skip
        s = stitch(
            light, box.polygon, 1e-12,
            patterns=lambda t: {k: v for k, v in sums[t].items()
                                if k.startswith(("bits/", "pattern/"))},
            tables=lambda t: (sums[t]["areas"], sums[t]["centroids"]),
            directory=str(tmp_path) if where == "files" else None, cache=2,
        )  # fmt: skip
        assert isinstance(s.areas, np.memmap) == (where == "files")
    keys = np.concatenate([p.pattern_keys() for p in parts])
    labels = s.labels
    assert s.num_regions == whole.num_regions
    _, by_key = np.unique(keys, return_inverse=True)
    # one label per key and one key per label
    assert (
        len(set(zip(labels.tolist(), by_key.reshape(-1).tolist(), strict=True)))
        == len(np.unique(labels))
        == len(np.unique(by_key))
        == s.num_regions
    )
    # numbered in the order of their first pieces, which first_piece finds
    first = np.unique(labels, return_index=True)[1]
    assert (np.diff(first) > 0).all()
    np.testing.assert_array_equal(s.first_piece(np.arange(s.num_regions)), first)
    # areas add up; the representative is the largest piece; num_pieces counts them
    areas_p = np.concatenate([p.areas() for p in parts])
    np.testing.assert_allclose(s.areas, np.bincount(labels, weights=areas_p), rtol=1e-13)
    np.testing.assert_array_equal(s.num_pieces, np.bincount(labels))
    assert (areas_p[s.representative] == np.maximum.reduceat(
        areas_p[np.argsort(labels, kind="stable")], np.searchsorted(np.sort(labels),
        np.arange(s.num_regions)))).all()  # fmt: skip
    assert len(s.multi_regions) == int((np.bincount(labels) > 1).sum()) > 0
    # only the border pieces are kept, and every piece of a region of several is one
    assert len(s.border_pieces) < len(labels)
    assert np.isin(np.flatnonzero(np.isin(labels, s.multi_regions)), s.border_pieces).all()
