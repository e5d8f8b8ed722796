"""Tiled pictures: drawn tile by tile, pixel for pixel the whole partition's PNG."""

from __future__ import annotations

import numpy as np
import pytest

import regionscope as rs
from regionscope.scale import partition_tiles
from regionscope.scale.picture import chain_segments

POLYGON = rs.Polygon([[-1.0, -1.0], [1.2, -0.5], [0.3, 1.1], [-0.9, 0.6]])


@pytest.mark.parametrize(
    "style",
    [
        {"size": (160, 130)},
        {"size": (150, 150), "color_by": "output", "output": 1},
        {"size": (150, 140), "color_by": "class", "vertices": True},
        {"size": (140, 150), "edges": "neuron", "mark": [[0.1, 0.2], [1.0, -0.9]]},
        {"size": (150, 150), "layer": 3, "boundary": False, "alpha": 0.6},
        {"size": 171, "color_by": "viridis", "vmin": -1.0, "edge_width": 2.0},
        {
            "size": (150, 150),
            "color_by": lambda part: part.region_values(part.centroids())[:, 2],
            "edges": "#ff0000",
        },
    ],
)
def test_tiled_picture_is_the_whole_picture(make_net, assert_same_picture, style):
    net = make_net(3, out=3, argmax=True)
    for domain, tiles in ((rs.Box(1.5), (3, 4)), (POLYGON, 2)):
        tiled = partition_tiles(net, domain, tiles, client="serial")
        whole = rs.partition(net, domain)
        assert_same_picture(tiled.raster(**style), whole, style)


def test_one_output_decision_boundary(make_net, assert_same_picture):
    # the zero set of one output, cut in each tile, joined where it crosses a border
    net = make_net(4, out=1)
    tiled = partition_tiles(net, rs.Box(2.0), 4, client="serial")
    whole = rs.partition(net, rs.Box(2.0))
    assert len(whole.decision_segments(0)) > 0
    assert_same_picture(tiled.raster(size=(200, 200)), whole, {"size": (200, 200)})


def test_picture_of_a_plane_with_marks(make_net, assert_same_picture, tmp_path):
    rng = np.random.default_rng(2)
    images = rng.normal(size=(3, 1, 2, 3))
    net = make_net(5, widths=(12,), out=3, argmax=True, inputs=6)
    plane = rs.Plane(images)
    tiled = partition_tiles(net, plane, (2, 3), client="serial")
    whole = rs.partition(net, plane)
    style = {"size": (180, 160), "mark": True, "mark_color": [0, 1, 2]}
    assert_same_picture(tiled.raster(**style), whole, style)
    data = tiled.to_png(tmp_path / "t.png", **style)
    assert (tmp_path / "t.png").read_bytes() == data
    assert data == rs.render.encode_png(tiled.raster(**style))


@pytest.mark.parametrize(
    "option", [{"axes": True}, {"title": "x"}, {"mark_labels": ["a"]}, {"legend": True}]
)
def test_text_is_refused(make_net, option):
    tiled = partition_tiles(make_net(1), rs.Box(1.0), 2, client="serial")
    with pytest.raises(ValueError, match="a tiled picture has no text"):
        tiled.to_png(**option)
    with pytest.raises(TypeError, match="unknown style option"):
        tiled.to_png(colour_by="class")


def test_chain_segments():
    # a path of three pieces through two joinable points, a lone piece, and a point where
    # three pieces meet (not joined, though marked joinable)
    ends = np.array([[-1, 0], [0, 1], [1, -1], [-1, 2], [3, -1], [3, -1], [3, -1]])
    chain, outer = chain_segments(ends, np.array([True, True, False, True]))
    assert chain.tolist() == [0, 0, 0, 3, 4, 5, 6]
    assert outer.tolist() == [
        [True, False],
        [False, False],
        [False, True],
        [True, True],
        [True, True],
        [True, True],
        [True, True],
    ]
