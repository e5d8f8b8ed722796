"""partition_tiles: a grid of tiles equals the partition of the whole domain."""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import regionscope as rs
from regionscope.scale import TiledPartition, grid, load_tiles, partition_tiles
from regionscope.scale.grid import tile_borders, tile_domains
from regionscope.scale.store import tile_file

POLYGON = rs.Polygon([[-1.0, -1.0], [1.2, -0.5], [0.3, 1.1], [-0.9, 0.6]])


def by_key(keys: np.ndarray) -> np.ndarray:
    order = np.argsort(keys, kind="stable")
    assert len(np.unique(keys)) == len(keys), "pattern keys repeat"
    return order


def assert_same(
    tiled: TiledPartition, whole: rs.Partition, picture: Any, size: Any = (96, 80)
) -> None:
    """Counts, areas, centroids, patterns and the picture of the tiles equal the whole's."""
    assert (tiled.num_regions, tiled.num_vertices, tiled.num_edges) == (
        whole.num_regions,
        whole.num_vertices,
        whole.num_edges,
    )
    t, w = by_key(tiled.pattern_keys()), by_key(whole.pattern_keys())
    np.testing.assert_array_equal(tiled.pattern_keys()[t], whole.pattern_keys()[w])
    scale = whole.domain.area
    np.testing.assert_allclose(tiled.areas()[t], whole.areas()[w], rtol=1e-9, atol=1e-12 * scale)
    assert tiled.areas().sum() == pytest.approx(whole.domain.area, rel=1e-12)
    np.testing.assert_allclose(
        tiled.centroids()[t], whole.centroids()[w], rtol=1e-9, atol=1e-9 * whole.domain.diameter
    )
    tp, wp = tiled.activation_patterns(), whole.activation_patterns()
    assert sorted(tp) == sorted(wp)
    for layer in wp:
        np.testing.assert_array_equal(tp[layer][t], wp[layer][w])
    assert tiled.stitched.collisions == 0
    picture(tiled.raster(size=size), whole, {"size": size})


@pytest.mark.parametrize("tiles", [2, (3, 2), ([-0.3], 4), (5, 1)])
@pytest.mark.parametrize(
    "kind",
    ["relu", "argmax", "one_output", "maxpool"],
)
def test_tiles_equal_the_whole_partition(make_net, assert_same_picture, kind, tiles):
    rng = np.random.default_rng(11)
    if kind == "relu":
        net = make_net(1)
    elif kind == "argmax":
        net = make_net(2, out=3, argmax=True)
    elif kind == "one_output":
        net = make_net(3, out=1)
    else:
        net = rs.Sequential(
            rs.Linear(rng.normal(size=(12, 2)), rng.normal(size=12)),
            rs.MaxPool(np.arange(12).reshape(4, 3)),
            rs.Linear(rng.normal(size=(3, 4))),
            rs.Argmax(),
        )
    for domain in (rs.Box(1.5), POLYGON):
        tiled = partition_tiles(net, domain, tiles, client="serial")
        assert_same(tiled, rs.partition(net, domain), assert_same_picture)


def test_borders_through_vertices_and_along_edges(assert_same_picture):
    # units x, y, x + y, x - y: the tile corner (0, 0) is a vertex where 8 edges meet,
    # and the borders x = 0, y = 0 run along edges
    w = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [1.0, -1.0]])
    star = rs.Sequential(rs.Linear(w, np.zeros(4)), rs.ReLU())
    for tiles in (2, ([0.0], [-0.5, 0.0, 0.5]), ([-0.5, 0.0], [0.0])):
        tiled = partition_tiles(star, rs.Box(1.0), tiles, client="serial")
        assert (tiled.num_regions, tiled.num_vertices, tiled.num_edges) == (8, 9, 16)
        assert_same(tiled, rs.partition(star, rs.Box(1.0)), assert_same_picture)
        # the border edges are edges of the whole partition, made by the unit along them
        s = tiled.stitched
        assert len(s.edge_layer) > 0 and set(s.edge_layer.tolist()) == {1}
    # a grid of lines, with tile borders along some of them and through their crossings
    cuts = np.linspace(-0.75, 0.75, 7)
    w = np.array([[1.0, 0.0]] * 7 + [[0.0, 1.0]] * 7)
    rng = np.random.default_rng(1)
    grid = rs.Sequential(
        rs.Linear(w, -np.concatenate([cuts, cuts])), rs.ReLU(),
        rs.Linear(rng.normal(size=(3, 14))), rs.Argmax(),
    )  # fmt: skip
    for tiles in (4, (8, 3)):
        tiled = partition_tiles(grid, rs.Box(1.0), tiles, client="serial")
        # the 8 x 8 cells of the ReLUs, each cut further by the argmax
        assert len(np.unique(tiled.activation_patterns(1), axis=0)) == 64
        assert tiled.num_regions >= 64
        assert_same(tiled, rs.partition(grid, rs.Box(1.0)), assert_same_picture, (160, 160))


def test_a_region_across_many_tiles(assert_same_picture):
    net = rs.Sequential(rs.Linear([[1.0, 0.2]], [-0.9]), rs.ReLU())
    tiled = partition_tiles(net, rs.Box(1.0), tiles=5, client="serial")
    whole = rs.partition(net, rs.Box(1.0))
    assert_same(tiled, whole, assert_same_picture)
    big = int(np.argmax(tiled.areas()))
    assert tiled.num_pieces()[big] >= 20  # one region, in 20 or more tiles
    assert len(tiled.pieces(big)) == tiled.num_pieces()[big]
    # its pieces' areas add up to its area, and each is a region of its tile
    total = sum(tiled.tile(ij).areas()[f] for ij, f in tiled.pieces(big))
    assert total == pytest.approx(tiled.areas()[big], rel=1e-12)


def test_plane_in_tiles_of_windows(make_net, assert_same_picture):
    rng = np.random.default_rng(4)
    images = rng.normal(size=(3, 2, 3))
    net = make_net(5, widths=(10,), out=3, argmax=True, inputs=6)
    plane = rs.Plane(images, window=((0.2, -0.1), 1.5))
    tiled = partition_tiles(net, plane, (3, 2), client="serial")
    whole = rs.partition(net, plane)
    assert_same(tiled, whole, assert_same_picture)
    ij = tiled.tiles[0]
    tile = tiled.tile(ij)
    assert isinstance(tile.domain, rs.Plane)
    np.testing.assert_array_equal(tile.domain.basis, plane.basis)
    # the affine maps of the regions (from their largest pieces) are the whole's
    a_t, c_t = tiled.affine_maps()
    a_w, c_w = whole.affine_maps()
    t, w = by_key(tiled.pattern_keys()), by_key(whole.pattern_keys())
    np.testing.assert_allclose(a_t[t], a_w[w], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(c_t[t], c_w[w], rtol=1e-12, atol=1e-12)


def test_tiles_on_a_dask_cluster(cluster, make_net, assert_same_picture, tmp_path):
    net = make_net(6, out=3, argmax=True)
    tiled = partition_tiles(net, rs.Box(2.0), (3, 3), client=cluster, directory=tmp_path)
    assert_same(tiled, rs.partition(net, rs.Box(2.0)), assert_same_picture)
    # the two workers shared the tiles, each tile reports its time and memory
    assert len(set(tiled.tile_stats["pid"].tolist())) >= 1
    assert (tiled.tile_stats["seconds"] > 0).all()
    assert (tiled.tile_stats["cpu_seconds"] > 0).all()
    assert (tiled.tile_stats["peak_rss_mb"] > 0).all()
    # the picture drawn by the workers is the same
    got = tiled.raster(client=cluster, size=(90, 90))
    assert_same_picture(got, rs.partition(net, rs.Box(2.0)), {"size": (90, 90)})


def test_save_load_and_regions(make_net, tmp_path):
    net = make_net(7, out=2)
    whole = rs.partition(net, rs.Box(1.0))
    tiled = partition_tiles(net, rs.Box(1.0), (2, 3), client="serial")
    tiled.save(tmp_path / "tiles")
    back = load_tiles(tmp_path / "tiles")
    assert isinstance(back, TiledPartition)
    assert (back.num_regions, back.num_vertices, back.num_edges) == (
        tiled.num_regions, tiled.num_vertices, tiled.num_edges,
    )  # fmt: skip
    np.testing.assert_array_equal(back.stitched.labels, tiled.stitched.labels)
    assert back.to_png(size=(64, 64)) == tiled.to_png(size=(64, 64))
    # every tile file is an ordinary partition file, with the whole box's tolerances
    for ij in tiled.tiles:
        np.testing.assert_array_equal(back.tile_arrays(ij)["scale/corners"], rs.Box(1.0).polygon)
        part = rs.load(tmp_path / "tiles" / f"tile_{ij[0]}_{ij[1]}.npz")
        np.testing.assert_array_equal(part.pattern_keys(), tiled.tile(ij).pattern_keys())
    # a region pulled out of its tile: an ordinary Partition with the region's pattern
    points = np.array([[0.3, -0.4], [-0.7, 0.8], [0.0, 0.05]])
    regions = back.locate(points)
    np.testing.assert_array_equal(
        back.pattern_keys()[regions], whole.pattern_keys()[whole.locate(points)]
    )
    for g in regions.tolist():
        part, f = back.region(g)
        assert isinstance(part, rs.Partition)
        assert part.pattern_keys()[f] == back.pattern_keys()[g]
        assert part.areas()[f] == max(back.tile(ij).areas()[k] for ij, k in back.pieces(g))
    assert back.locate([[5.0, 5.0]]).tolist() == [-1]


def test_bad_input_is_named(make_net, tmp_path):
    net = make_net(8)
    with pytest.raises(ValueError, match="tiles"):
        partition_tiles(net, rs.Box(1.0), (0, 2), client="serial")
    with pytest.raises(ValueError, match="strictly inside"):
        partition_tiles(net, rs.Box(1.0), ([1.5], 2), client="serial")
    with pytest.raises(TypeError, match="2-D domain"):
        partition_tiles(net, rs.Interval(0, 1), 2, client="serial")
    with pytest.raises(ValueError, match="max_regions"):
        partition_tiles(net, rs.Box(1.0), 2, client="serial", max_regions=0)
    with pytest.raises(RuntimeError, match=r"tile \(\d, \d\) failed: RegionLimitError"):
        partition_tiles(net, rs.Box(1.0), 2, client="serial", max_regions=2)
    (tmp_path / "tiled.npz").write_bytes(b"junk")
    with pytest.raises(ValueError, match="not a zip"):
        load_tiles(tmp_path)
    # an index of the former format (per-region tables inside it) is refused, not misread
    rs.io.save_arrays(tmp_path / "tiled.npz", {"format": np.array("regionscope-tiles-1")})
    with pytest.raises(ValueError, match="older"):
        load_tiles(tmp_path)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.integers(0, 10_000),
    st.integers(1, 4),
    st.integers(1, 4),
    st.sampled_from(["box", "polygon"]),
)
def test_tiles_equal_the_whole_hypothesis(seed, kx, ky, shape):
    assume(kx * ky > 1)
    rng = np.random.default_rng(seed)
    net = rs.Sequential(
        rs.Linear(rng.normal(size=(6, 2)), rng.normal(size=6)), rs.ReLU(),
        rs.Linear(rng.normal(size=(5, 6)), rng.normal(size=5)), rs.ReLU(),
        rs.Linear(rng.normal(size=(3, 5))), rs.Argmax(),
    )  # fmt: skip
    domain = rs.Box(1.0) if shape == "box" else POLYGON
    tiled = partition_tiles(net, domain, (kx, ky), client="serial")
    whole = rs.partition(net, domain)
    assert (tiled.num_regions, tiled.num_vertices, tiled.num_edges) == (
        whole.num_regions, whole.num_vertices, whole.num_edges,
    )  # fmt: skip
    t, w = by_key(tiled.pattern_keys()), by_key(whole.pattern_keys())
    np.testing.assert_array_equal(tiled.pattern_keys()[t], whole.pattern_keys()[w])
    np.testing.assert_allclose(tiled.areas()[t], whole.areas()[w], rtol=1e-9, atol=1e-12)


# -- the whole domain's tolerances in every tile -----------------------------------------

BIG = rs.Box(-1000.0, 1000.0, -1000.0, 1000.0)


def test_lines_meeting_within_the_tolerance_meet_in_every_tile(assert_same_picture):
    # x = 0.3, y = 0.3 and x + y = 0.6 + 1e-9 miss one point by 1e-9: by the box's unit
    # tolerance of the third (1e-11 * (2000 + 0.6) = 2e-8) they are concurrent, so the box
    # has the 6 regions of three lines through a point; a tile of size 1 computed on its own
    # (tolerance 2.6e-11) keeps the small triangle between them
    net = rs.Sequential(
        rs.Linear([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]], [-0.3, -0.3, -0.6 - 1e-9]), rs.ReLU()
    )
    whole = rs.partition(net, BIG)
    assert whole.num_regions == 6
    grids = [
        ([0.0, 1.0], [0.0, 1.0]),  # a unit tile around the point
        ([0.29, 0.3, 0.31], [0.25, 0.3, 0.35]),  # small tiles, a corner at the point
        ([0.3], [0.3]),  # borders along two of the lines, through the point
    ]
    for tiles in grids:
        tiled = partition_tiles(net, BIG, tiles, client="serial")
        assert_same(tiled, whole, assert_same_picture)
        # the tiles cut as the box does; on their own, the small ones would not
        alone = [rs.partition(net, tiled.tile(ij).domain).num_regions for ij in tiled.tiles]
        own = tiled.tile_stats["num_regions"].tolist()
        if tiles != grids[-1]:
            assert sum(alone) > sum(own)


def test_a_unit_within_its_tolerance_over_a_tile():
    # x - 5e-9 is within its box tolerance (1e-11 * 1000 = 1e-8) of zero all over the tile
    # 0 <= x <= 1e-8: that tile counts it as zero, as the box's partition would at those
    # points; its neighbours see it along their borders.  The counts and patterns are the
    # box's; the line may lie anywhere in its tolerance band (|x - 5e-9| <= 1e-8), which
    # moves areas by at most the band times the box's height
    net = rs.Sequential(rs.Linear([[1.0, 0.0], [0.0, 1.0]], [-5e-9, 0.0]), rs.ReLU())
    whole = rs.partition(net, BIG)
    tiled = partition_tiles(net, BIG, ([0.0, 1e-8], 2), client="serial")
    assert (tiled.num_regions, tiled.num_vertices, tiled.num_edges) == (
        whole.num_regions, whole.num_vertices, whole.num_edges,
    )  # fmt: skip
    t, w = by_key(tiled.pattern_keys()), by_key(whole.pattern_keys())
    np.testing.assert_array_equal(tiled.pattern_keys()[t], whole.pattern_keys()[w])
    np.testing.assert_allclose(tiled.areas()[t], whole.areas()[w], rtol=0, atol=1e-8 * 1000.0)
    assert tiled.areas().sum() == pytest.approx(BIG.area, rel=1e-12)
    # borders closer than the point tolerance (1e-12 * 2828) are refused
    with pytest.raises(ValueError, match=r"tiles\[0\].*point tolerance"):
        partition_tiles(net, BIG, ([0.0, 1e-9], 2), client="serial")


def _cuts(values: np.ndarray, lo: float, hi: float) -> list:
    """Distinct cut positions among ``values``, strictly inside ``(lo, hi)``."""
    span = hi - lo
    values = np.unique(values[(values > lo + 1e-6 * span) & (values < hi - 1e-6 * span)])
    keep = np.concatenate([[True], np.diff(values) > 1e-6 * span])[: len(values)]
    return values[keep].tolist()


def _vertex_cuts(part: rs.Partition, rng: np.random.Generator, kx: int, ky: int) -> tuple:
    """Cut positions through ``max(kx, ky)`` random vertices of ``part``: ``kx`` of their
    x and ``ky`` of their y, so that tile corners lie on vertices."""
    xy = np.asarray(part.vertices)[np.unique(np.asarray(part.region_vertices))]
    picked = xy[rng.choice(len(xy), size=min(max(kx, ky), len(xy)), replace=False)]
    xmin, xmax, ymin, ymax = part.domain.bounds
    return _cuts(picked[:kx, 0], xmin, xmax), _cuts(picked[:ky, 1], ymin, ymax)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.integers(0, 10_000),
    st.integers(0, 3),
    st.integers(0, 3),
    st.booleans(),
    st.sampled_from(["box", "polygon"]),
)
def test_borders_through_vertices_hypothesis(seed, kx, ky, integral, shape):
    # random small nets, integral ones (many exact concurrencies) or not, and tile borders
    # through vertices of the whole partition (tile corners at vertices where both
    # coordinates come from one vertex)
    assume(kx + ky > 0)
    rng = np.random.default_rng(seed)
    if integral:
        w1, b1 = rng.integers(-2, 3, size=(6, 2)), rng.integers(-2, 3, size=6) / 2
        w2, b2 = rng.integers(-2, 3, size=(4, 6)), rng.integers(-2, 3, size=4) / 2
    else:
        w1, b1 = rng.normal(size=(6, 2)), rng.normal(size=6)
        w2, b2 = rng.normal(size=(4, 6)), rng.normal(size=4)
    net = rs.Sequential(
        rs.Linear(w1.astype(float), b1), rs.ReLU(),
        rs.Linear(w2.astype(float), b2), rs.ReLU(),
        rs.Linear(rng.normal(size=(3, 4))), rs.Argmax(),
    )  # fmt: skip
    domain = rs.Box(2.0) if shape == "box" else POLYGON
    whole = rs.partition(net, domain)
    xs, ys = _vertex_cuts(whole, rng, kx, ky)
    assume(len(xs) + len(ys) > 0)
    tiled = partition_tiles(net, domain, (xs or 1, ys or 1), client="serial")
    assert (tiled.num_regions, tiled.num_vertices, tiled.num_edges) == (
        whole.num_regions, whole.num_vertices, whole.num_edges,
    )  # fmt: skip
    t, w = by_key(tiled.pattern_keys()), by_key(whole.pattern_keys())
    np.testing.assert_array_equal(tiled.pattern_keys()[t], whole.pattern_keys()[w])
    np.testing.assert_allclose(
        tiled.areas()[t], whole.areas()[w], rtol=1e-9, atol=1e-12 * domain.area
    )
    assert tiled.stitched.collisions == 0


def test_borders_through_a_point_of_the_polygons_side(make_net):
    # the tile above-left of (x0, y0) meets the polygon in (about) one point, its side's
    # point (x0, y0): within the point tolerance it is no tile at all
    net = make_net(9, out=3, argmax=True)
    x0 = -0.6047619047619047
    y0 = 0.6 + 0.5 * (x0 + 0.9) / 1.2
    tiled = partition_tiles(net, POLYGON, ([x0], [y0]), client="serial")
    whole = rs.partition(net, POLYGON)
    assert (tiled.num_regions, tiled.num_vertices, tiled.num_edges) == (
        whole.num_regions, whole.num_vertices, whole.num_edges,
    )  # fmt: skip
    assert tiled.areas().sum() == pytest.approx(POLYGON.area, rel=1e-12)


def _files(folder) -> dict[str, int]:
    """Tile file name -> inode (a file written again is a new inode: written atomically)."""
    return {n: os.stat(os.path.join(folder, n)).st_ino for n in os.listdir(folder)
            if n.startswith("tile_")}  # fmt: skip


def test_an_interrupted_run_resumes(cluster, make_net, tmp_path, monkeypatch):
    net = make_net(21, out=3, argmax=True)
    box = rs.Box(2.0)
    whole = rs.partition(net, box)
    folder = tmp_path / "run"
    # a first run stops: the tile with the most regions fails, the others are written
    sizes = [rs.partition(net, t).num_regions for _, t in tile_domains(box, *tile_borders(box, 3))]
    assert max(sizes) > sorted(sizes)[-2]
    with pytest.raises(RuntimeError, match="failed"):
        partition_tiles(net, box, 3, client=cluster, directory=folder,
                        max_regions=sorted(sizes)[-2])  # fmt: skip
    first = _files(folder)
    assert len(first) == 8
    # the rerun computes only the missing tile
    tiled = partition_tiles(net, box, 3, client=cluster, directory=folder)
    assert int(tiled.tile_stats["computed"].sum()) == 1
    assert tiled.tile_stats["num_regions"][tiled.tile_stats["computed"]].item() == max(sizes)
    again = _files(folder)
    assert {n: again[n] for n in first} == first  # the 8 tiles were not written again
    # remove two tiles: only they are computed (in this process), the result is the same
    gone = sorted(first)[:2]
    for name in gone:
        os.remove(folder / name)
    calls = []
    real = grid.compute_tile

    def counting(*args):
        calls.append(args[2])
        return real(*args)

    monkeypatch.setattr(grid, "compute_tile", counting)
    resumed = partition_tiles(net, box, 3, client="serial", directory=folder)
    monkeypatch.undo()
    assert sorted(tile_file(ij) for ij in calls) == gone
    assert int(resumed.tile_stats["computed"].sum()) == 2
    uninterrupted = partition_tiles(net, box, 3, client="serial")
    for got in (tiled, resumed):
        assert (got.num_regions, got.num_vertices, got.num_edges) == (
            whole.num_regions, whole.num_vertices, whole.num_edges)  # fmt: skip
        np.testing.assert_array_equal(got.stitched.labels, uninterrupted.stitched.labels)
        np.testing.assert_array_equal(got.areas(), uninterrupted.areas())
        np.testing.assert_array_equal(got.pattern_keys(), uninterrupted.pattern_keys())
    # another task (another grid, or another network) is refused in this directory
    with pytest.raises(ValueError, match="another task"):
        partition_tiles(net, box, 2, client="serial", directory=folder)
    with pytest.raises(ValueError, match="another task"):
        partition_tiles(make_net(22), box, 3, client="serial", directory=folder)
    assert _files(folder).keys() == again.keys()  # nothing written by the refused runs
