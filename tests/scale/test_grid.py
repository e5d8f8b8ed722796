"""Tiles of a domain, and what a tile's partition tells about its border."""

from __future__ import annotations

import numpy as np
import pytest

import regionscope as rs
from regionscope.scale.grid import (
    SCALE_KEYS,
    compute_tile,
    tile_borders,
    tile_domains,
    tile_partition,
    tile_summary,
    tile_tolerance,
    whole_scales,
)
from regionscope.tolerances import get_tolerance


def test_tile_borders():
    xs, ys = tile_borders(rs.Box(0, 3, -1, 1), (3, [0.25]))
    assert xs.tolist() == [0.0, 1.0, 2.0, 3.0] and ys.tolist() == [-1.0, 0.25, 1.0]
    xs, ys = tile_borders(rs.Box(1.0), 1)
    assert xs.tolist() == [-1.0, 1.0] and ys.tolist() == [-1.0, 1.0]
    with pytest.raises(ValueError, match="at least 1 tile"):
        tile_borders(rs.Box(1.0), (0, 1))
    with pytest.raises(ValueError, match="increasing"):
        tile_borders(rs.Box(1.0), ([0.5, 0.0], 1))
    with pytest.raises(ValueError, match="strictly inside"):
        tile_borders(rs.Box(1.0), ([-1.0], 1))
    with pytest.raises(TypeError, match="number of tiles or a sequence"):
        tile_borders(rs.Box(1.0), ("a", 1))
    with pytest.raises(ValueError, match="k or"):
        tile_borders(rs.Box(1.0), (1, 2, 3))


def test_tile_domains_cover_the_domain():
    tri = rs.Polygon([[0, 0], [4, 0], [0, 4]])
    xs, ys = tile_borders(tri, 4)
    tiles = tile_domains(tri, xs, ys)
    # the 6 tiles above the diagonal x + y = 4 are empty, or touch it at a corner only
    assert len(tiles) == 10
    assert sum(t.area for _, t in tiles) == pytest.approx(8.0, rel=1e-14)
    for (i, j), t in tiles:
        x0, x1, y0, y1 = t.bounds
        assert xs[i] <= x0 < x1 <= xs[i + 1] and ys[j] <= y0 < y1 <= ys[j + 1]


def test_tile_summary_by_hand():
    # Box [0, 2] x [0, 1] split at x = 1; in the left tile, one ReLU cuts at y = 0.5
    net = rs.Sequential(rs.Linear([[0.0, 1.0]], [-0.5]), rs.ReLU())
    box = rs.Box(0, 2, 0, 1)
    xs, ys = tile_borders(box, (2, 1))
    (ij, left), _ = tile_domains(box, xs, ys)
    part = rs.partition(net, left)
    s = tile_summary(part, ij, xs, ys, 1e-12)
    assert int(s["num_regions"]) == 2 and int(s["num_vertices"]) == 6
    assert int(s["inner_vertices"]) == 0  # every vertex is on the tile's boundary
    on_line = s["bv_vline"] == 1  # the border x = 1: 3 vertices, y = 0, 0.5, 1
    assert sorted(s["bv_xy"][on_line, 1].tolist()) == [0.0, 0.5, 1.0]
    assert (s["bv_hline"] == -1).all()  # one row of tiles: no horizontal inner line
    # the vertex (1, 0.5) has one inner edge; the corners none
    degree = dict(
        zip(
            s["bv_xy"][:, 1][on_line].tolist(), s["bv_inner_degree"][on_line].tolist(), strict=True
        )
    )
    assert degree == {0.0: 0, 0.5: 1, 1.0: 0}
    # two sides along the border, one per region; both regions have patterns there
    assert len(s["bs_ends"]) == 2 and (s["bs_axis"] == 0).all() and (s["bs_line"] == 1).all()
    assert sorted(s["bs_region"].tolist()) == [0, 1]
    # on/off patterns travel packed, the first unit in the high bit
    assert s["bits/1"].dtype == np.uint8
    bits = np.unpackbits(s["bits/1"], axis=1, count=1).astype(bool)
    assert bits.tolist() in ([[False], [True]], [[True], [False]])
    assert s["areas"].sum() == pytest.approx(1.0)


def test_compute_tile_is_an_ordinary_partition():
    net = rs.Sequential(rs.Linear(np.eye(2), [0.1, -0.2]), rs.ReLU())
    box = rs.Box(1.0)
    xs, ys = tile_borders(box, 2)
    ij, tile = tile_domains(box, xs, ys)[3]
    summary, arrays = compute_tile(net, tile, ij, xs, ys, whole_scales(box), 100)
    part = rs.partitions.from_arrays(arrays)
    assert part.num_regions == int(summary["num_regions"]) == 2  # only x = -0.1 misses it
    assert float(summary["seconds"]) >= 0 and int(summary["pid"]) > 0
    # the file keeps the whole box's tolerances: its corners and its point tolerance
    np.testing.assert_array_equal(arrays[SCALE_KEYS[0]], box.polygon)
    assert float(arrays[SCALE_KEYS[1]]) == 1e-12 * box.diameter


def test_tiles_use_the_whole_domains_tolerances():
    # unit x + 0.1 has scale |x| + 0.1: 10.1 over the box [-10, 10] x [-1, 1], 1.1 over the
    # tile [0, 1]^2, so tolerances 1.01e-10 and 1.1e-11; at x = -0.1 + 5e-11 it is zero by
    # the box's tolerance (off, as the box's own partition says) but on by the tile's own
    net = rs.Sequential(rs.Linear([[1.0, 0.0], [0.0, 100.0]], [0.1, -0.2]), rs.ReLU())
    box = rs.Box(-10.0, 10.0, -1.0, 1.0)
    tile = rs.Box(0.0, 1.0, 0.0, 1.0)
    point = np.array([[-0.1 + 5e-11, 0.5]])
    own = tile_partition(rs.partition(net, tile).to_arrays())
    assert own.patterns_at(point)[1].tolist() == [[True, True]]
    _, arrays = compute_tile(net, tile, (0, 0), np.array([0.0, 1.0]), np.array([0.0, 1.0]),
                             whole_scales(box), 100)  # fmt: skip
    assert tile_partition(arrays).patterns_at(point)[1].tolist() == [[False, True]]
    assert rs.partition(net, box).patterns_at(point)[1].tolist() == [[False, True]]
    # rs.partition itself takes the whole domain's corners (what compute_tile passes)
    scaled = rs.partition(net, tile, scale_corners=box.polygon)
    assert scaled.patterns_at(point)[1].tolist() == [[False, True]]
    with pytest.raises(ValueError, match="scale_corners"):
        rs.partition(net, tile, scale_corners=[1.0, 2.0])
    # and its point tolerance is the whole box's, to the last bit
    with tile_tolerance(tile, float(arrays[SCALE_KEYS[1]])):
        assert get_tolerance().point_rtol * tile.diameter == 1e-12 * box.diameter
    with pytest.raises(ValueError, match="not larger than the point tolerance"):
        tile_tolerance(rs.Box(0.0, 1e-13, 0.0, 1e-13), 1e-12)
