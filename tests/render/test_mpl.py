"""Tests of regionscope.render.mpl: matplotlib artists, 1-D plots, PNGs made by matplotlib."""

from __future__ import annotations

import io

import numpy as np
import pytest

from regionscope import render
from regionscope.render import mpl


def test_plot_artists(mlp, ax, polygons):
    out = render.plot(mlp, ax=ax, decision_color="#ff00ff")
    paths = out["regions"].get_paths()
    assert len(paths) == mlp.num_regions
    for path, poly in zip(paths, polygons(mlp), strict=True):
        np.testing.assert_allclose(path.vertices[: len(poly)], poly)
    np.testing.assert_allclose(out["regions"].get_facecolor(), render.region_colors(mlp))
    dec = out["decision"]
    assert len(dec.get_segments()) == int(mlp.decision_boundary().sum())
    assert (dec.get_colors() == [1.0, 0.0, 1.0, 1.0]).all()
    labels = [t.get_text() for t in out["legend"].get_texts()]
    layers = sorted(set(mlp.edge_layer[(mlp.edge_layer >= 0) & ~mlp.decision_boundary()]))
    assert sorted(out["edges"]) == layers
    assert "decision boundary" in labels
    # layers are named readably: "ReLU 1", "ReLU 2" (not by op index)
    assert [lab for lab in labels if lab.startswith("ReLU")] == ["ReLU 1", "ReLU 2"]
    assert ax.get_aspect() == 1.0


def test_plot_output_has_colorbar(mlp, ax):
    out = render.plot(mlp, ax=ax, color_by="output", output=2)
    assert out["colorbar"] is not None
    vals = mlp.model.forward(mlp.lift(mlp.centroids()))[:, 2]
    lo, hi = out["colorbar"].mappable.norm.vmin, out["colorbar"].mappable.norm.vmax
    assert (lo, hi) == (pytest.approx(vals.min()), pytest.approx(vals.max()))


def test_plot_bent_hyperplanes(mlp, ax):
    layer = mlp.piecewise_layers[0]
    out = render.plot_bent_hyperplanes(mlp, layer, ax=ax)
    lc = out["edges"][None]
    mine = mlp.edge_layer == layer
    assert len(lc.get_segments()) == int(mine.sum())
    neurons = mlp.edge_neuron[mine]
    cols = lc.get_colors()
    for n in np.unique(neurons):
        assert len(np.unique(cols[neurons == n], axis=0)) == 1
    assert len(np.unique(cols, axis=0)) == len(np.unique(neurons))
    labels = [t.get_text() for t in out["legend"].get_texts()]
    assert labels == [f"neuron {n}" for n in np.unique(neurons)]
    with pytest.raises(ValueError, match="piecewise layer"):
        render.plot_bent_hyperplanes(mlp, 0, ax=ax)


def test_plot_1d(mlp, ax):
    part1d = mlp.slice([-1.0, -0.5], [1.0, 0.7])
    out = render.plot_1d(part1d, ax=ax)
    vals = part1d.vertex_values(-1)
    assert len(out["lines"]) == vals.shape[1]
    for j, line in enumerate(out["lines"]):
        np.testing.assert_allclose(line.get_xdata(), part1d.points)
        np.testing.assert_allclose(line.get_ydata(), vals[:, j])
    segs = out["breakpoints"].get_segments()
    np.testing.assert_allclose([s[0, 0] for s in segs], part1d.breakpoints)


def test_plot_1d_options(mlp, ax):
    part1d = mlp.slice([-1.0, -0.5], [1.0, 0.7])
    out = render.plot_1d(part1d, ax=ax, outputs=[2], breakpoint_color="#ff0000")
    (line,) = out["lines"]
    np.testing.assert_allclose(line.get_ydata(), part1d.vertex_values(-1)[:, 2])
    assert (out["breakpoints"].get_colors()[:, :3] == [1.0, 0.0, 0.0]).all()
    # the breakpoint ticks span the y range: a margin below and above the curve
    lo, hi = line.get_ydata().min(), line.get_ydata().max()
    y0, y1 = ax.get_ylim()
    assert y0 == pytest.approx(lo - mpl.MARGINS_1D[0] * (hi - lo))
    assert y1 == pytest.approx(hi + mpl.MARGINS_1D[1] * (hi - lo))
    assert {tuple(s[:, 1]) for s in out["breakpoints"].get_segments()} == {(y0, y1)}
    with pytest.raises(ValueError, match="out of range"):
        render.plot_1d(part1d, ax=ax, outputs=[3])
    with pytest.raises(TypeError, match="unknown option"):
        render.plot_1d(part1d, ax=ax, colour="red")


def test_region_polygons_are_the_partition_polygons(mlp):
    polys = mpl.region_polygons(mlp)
    assert len(polys) == mlp.num_regions
    for f, poly in enumerate(polys):
        np.testing.assert_array_equal(poly, mlp.polygon(f))


def test_plot_marks_vertices_and_labels(quad, ax):
    out = render.plot(quad, ax=ax, vertices=True, mark=[[0.5, 0.5]], mark_labels=["p"])
    np.testing.assert_allclose(out["vertices"].get_offsets(), quad.vertices)
    np.testing.assert_allclose(out["marks"].get_offsets(), [[0.5, 0.5]])
    assert [t.get_text() for t in out["labels"]] == ["p"]
    assert out["colorbar"] is None  # pattern colours: no colour bar


def test_png_matplotlib_engine_size(quad):
    imread = pytest.importorskip("matplotlib.image").imread

    data = render.to_png(quad, None, size=(320, 200), axes=True)
    assert imread(io.BytesIO(data)).shape[:2] == (200, 320)


def test_png_of_a_1d_partition(mlp):
    pytest.importorskip("matplotlib")
    imread = pytest.importorskip("matplotlib.image").imread

    part1d = mlp.slice([-1.0, 0.0], [1.0, 0.0])
    img = imread(io.BytesIO(render.to_png(part1d, None, size=(500, 250))))
    assert img.shape[:2] == (250, 500)
    assert render.to_svg(part1d).lstrip().startswith("<?xml")


def test_picture_1d_size_and_options(mlp):
    imread = pytest.importorskip("matplotlib.image").imread

    part1d = mlp.slice([-1.0, 0.0], [1.0, 0.0])
    img = imread(io.BytesIO(mpl.picture_1d(part1d, "png", {"size": 300})))
    assert img.shape[:2] == (150, 300)  # an int size is a width, half as high
    img = imread(io.BytesIO(mpl.picture_1d(part1d, "png", {})))
    assert img.shape[:2] == mpl.SIZE_1D[::-1]
    with pytest.raises(TypeError, match="1-D pictures take"):
        mpl.picture_1d(part1d, "png", {"color_by": "class"})


def test_plot_class_legend_and_title(mlp, ax):
    out = render.plot(mlp, ax=ax, color_by="class", class_names=["a", "b", "c"], title="T")
    labels = [t.get_text() for t in out["legend"].get_texts()]
    assert labels[:3] == ["a", "b", "c"] and "decision boundary" in labels
    patches = out["legend"].get_patches()
    faces = {tuple(np.round(p.get_facecolor(), 6)) for p in patches[:3]}
    regions = {tuple(np.round(c, 6)) for c in out["regions"].get_facecolor()}
    assert len(faces) == 3 and regions <= faces  # a swatch per class, in its regions' colour
    assert ax.get_title() == "T"
    out = render.plot(mlp, ax=ax, color_by="output", colorbar=False)
    assert out["colorbar"] is None
