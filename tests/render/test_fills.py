"""Tests of regionscope.render.fills: region colours for every ``color_by``."""

from __future__ import annotations

import numpy as np
import pytest

import regionscope as rs
from regionscope import render
from regionscope.render import colors, fills
from regionscope.render.style import check_style


def test_pattern_colours_follow_pattern_keys(mlp, rgb8):
    keys = mlp.pattern_keys()
    cols = render.region_colors(mlp)
    assert len(np.unique(keys)) == mlp.num_regions
    # distinct patterns get visibly distinct colours (almost surely for ~100 regions)
    assert len(np.unique(rgb8(cols), axis=0)) >= 0.95 * mlp.num_regions
    # the colour is a function of the key only
    np.testing.assert_array_equal(cols, colors.hash_colors(keys))
    np.testing.assert_array_equal(colors.hash_colors(keys[::-1]), cols[::-1])


def test_pattern_colours_survive_small_weight_changes():
    rng = np.random.default_rng(3)
    w, b = rng.normal(size=(6, 2)), rng.normal(scale=0.4, size=6)
    head = rng.normal(size=(2, 6))

    def net(w, b):
        return rs.Sequential(rs.Linear(w, b), rs.ReLU(), rs.Linear(head))

    p1 = rs.partition(net(w, b), rs.Box(1.0))
    p2 = rs.partition(net(w + 1e-7, b), rs.Box(1.0))
    probe = np.array(p1.centroids())
    c1 = render.region_colors(p1)[p1.locate(probe)]
    c2 = render.region_colors(p2)[p2.locate(probe)]
    np.testing.assert_array_equal(c1, c2)


def test_class_colours_match_the_network(mlp, rgb8):
    cols = render.region_colors(mlp, color_by="class")
    classes = mlp.model.forward(mlp.lift(mlp.centroids())).argmax(axis=1)
    for c in np.unique(classes):
        same = rgb8(cols[classes == c])
        assert (same == same[0]).all()
    firsts = [rgb8(cols[classes == c][0]) for c in np.unique(classes)]
    assert len({tuple(v) for v in firsts}) == len(firsts)


def test_class_colours_of_a_decision_partition_come_from_its_maps(mlp, monkeypatch):
    # the picture's partition (with the decision cut) answers classes() from its stored
    # maps: no forward pass at the centroids, and the classes of the network there
    part = mlp.with_decision()
    classes = part.model.forward(part.lift(part.centroids())).argmax(axis=1)
    assert len(np.unique(classes)) > 1

    def no_forward(*args, **kwargs):
        raise AssertionError("the network was run at the centroids")

    monkeypatch.setattr(type(part), "region_values", no_forward)
    cols, scale = fills.resolve_fill(part, check_style({"color_by": "class"}, "t"))
    np.testing.assert_array_equal(scale.classes, classes)
    assert scale.num_classes == mlp.num_outputs
    np.testing.assert_array_equal(cols[:, :3], fills.class_colors(classes)[:, :3])


def test_class_colours_are_the_lightened_palette(mlp):
    cols = render.region_colors(mlp, color_by="class")
    classes = mlp.model.forward(mlp.lift(mlp.centroids())).argmax(axis=1)
    base = colors.categorical_colors(classes)
    expected = base[:, :3] + (1.0 - base[:, :3]) * fills.CLASS_LIGHTEN
    np.testing.assert_allclose(cols[:, :3], expected)
    np.testing.assert_array_equal(cols[:, 3], 1.0)


def test_output_colours_use_the_colormap(mlp):
    vals = mlp.model.forward(mlp.lift(mlp.centroids()))[:, 1]
    cols = render.region_colors(mlp, color_by="output", output=1)
    cmap = colors.colormap("viridis")
    np.testing.assert_allclose(cols[np.argmin(vals)], cmap(np.array([0.0]))[0])
    np.testing.assert_allclose(cols[np.argmax(vals)], cmap(np.array([1.0]))[0])
    t = (vals - vals.min()) / (vals.max() - vals.min())
    np.testing.assert_allclose(cols, cmap(t), atol=1e-12)
    # a colormap name means "output" with that map; vmin / vmax fix the range
    cols2 = render.region_colors(mlp, color_by="diverging", output=1, vmin=-10, vmax=10)
    np.testing.assert_allclose(cols2, colors.colormap("diverging")((vals + 10) / 20))


def test_user_colour_functions(quad):
    own = np.array([[1.0, 0, 0], [0, 1.0, 0], [0, 0, 1.0], [1.0, 1.0, 0]])
    np.testing.assert_array_equal(render.region_colors(quad, color_by=lambda p: own)[:, :3], own)
    by_area = render.region_colors(quad, color_by=lambda p: p.areas())
    big = np.argmax(quad.areas())
    np.testing.assert_allclose(by_area[big], colors.colormap()(np.array([1.0]))[0])
    with pytest.raises(ValueError, match="color_by function"):
        render.region_colors(quad, color_by=lambda p: np.zeros(3))
    with pytest.raises(ValueError, match=r"colours in \[0, 1\]"):
        render.region_colors(quad, color_by=lambda p: own * 2)


def test_value_scale_of_each_colouring(quad, mlp):
    st = check_style({"color_by": "output", "output": -1}, "test")
    _, scale = fills.resolve_region_colors(mlp, st)
    vals = mlp.model.forward(mlp.lift(mlp.centroids()))[:, 2]
    assert scale.label == "output 2"  # negative indices count from the end
    assert (scale.vmin, scale.vmax) == (pytest.approx(vals.min()), pytest.approx(vals.max()))

    def area(p):
        return p.areas()

    _, scale = fills.resolve_region_colors(quad, check_style({"color_by": area}, "test"))
    assert scale.label == "area" and scale.vmax == pytest.approx(quad.areas().max())
    for color_by in ("pattern", "class", "none", lambda p: np.zeros((p.num_regions, 3))):
        st = check_style({"color_by": color_by}, "test")
        assert fills.resolve_region_colors(quad, st)[1] is None


def test_fill_and_alpha(quad):
    cols = render.region_colors(quad, color_by="none", fill="#336699", alpha=0.25)
    np.testing.assert_allclose(cols, np.tile([0.2, 0.4, 0.6, 0.25], (quad.num_regions, 1)))
    # alpha multiplies the colours' own opacity
    half = np.full((quad.num_regions, 4), 0.5)
    got = render.region_colors(quad, color_by=lambda p: half, alpha=0.5)
    np.testing.assert_allclose(got[:, 3], 0.25)
