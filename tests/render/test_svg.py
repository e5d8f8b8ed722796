"""Tests of regionscope.render.svg: the SVG structure and coordinates."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import numpy as np
import pytest

import regionscope as rs
from regionscope import render
from regionscope.render import colors, svg
from regionscope.render.scene import Lines, build_scene

SVG_NS = "{http://www.w3.org/2000/svg}"


def svg_region_paths(text: str) -> tuple[list[np.ndarray], list[str], float]:
    """Corners (in pixels) and fills of the region paths, and the units per pixel."""
    root = ET.fromstring(text)
    k = float(root.get("viewBox").split()[2]) / float(root.get("width"))
    groups = [g for g in root.iter(f"{SVG_NS}g") if g.get("class") == "regions"]
    assert len(groups) == 1
    pts, fills = [], []
    for path in groups[0]:
        d = path.get("d")
        assert d.startswith("M") and d.endswith("Z")
        nums = np.array([float(v) for v in re.findall(r"-?\d+(?:\.\d+)?", d)])
        pts.append(nums.reshape(-1, 2) / k)
        fills.append(path.get("fill"))
    return pts, fills, k


def groups_of(root: ET.Element, kind: str) -> list[ET.Element]:
    return [g for g in root.iter(f"{SVG_NS}g") if g.get("class") == kind]


def test_svg_one_path_per_region_with_flipped_y(quad, polygons):
    # 400 x 200 pixels for a 2 x 1 box without padding: scale 200, y flipped by hand
    text = render.to_svg(quad, size=(400, 200), padding=0)
    paths, fills, k = svg_region_paths(text)
    assert k == 100  # precision 2: integer coordinates in 1/100 pixel
    assert len(paths) == quad.num_regions == 4
    for pts, poly in zip(paths, polygons(quad), strict=True):
        expected = np.stack([200 * poly[:, 0], 200 * (1.0 - poly[:, 1])], axis=1)
        np.testing.assert_allclose(pts, expected, atol=0.006)
    # the region around (1.5, 0.75) is in the top-right corner of the picture
    f = int(quad.locate(np.array([[1.5, 0.75]]))[0])
    assert paths[f][:, 0].min() == pytest.approx(200) and paths[f][:, 1].min() == pytest.approx(0)
    assert paths[f][:, 1].max() == pytest.approx(150)
    expected_fill = colors.hex_array(render.region_colors(quad))
    assert fills == list(expected_fill)


def test_svg_keeps_aspect_ratio_and_centres(quad):
    text = render.to_svg(quad, size=(400, 400), padding=0)
    root = ET.fromstring(text)
    assert (root.get("width"), root.get("height")) == ("400", "400")
    paths, _, _ = svg_region_paths(text)
    allpts = np.concatenate(paths)
    # 2 x 1 box in a square: 400 px wide, 200 px high, centred vertically
    np.testing.assert_allclose(allpts.min(0), [0, 100], atol=0.006)
    np.testing.assert_allclose(allpts.max(0), [400, 300], atol=0.006)
    # default size: width 600, height from the aspect ratio (+ padding)
    root = ET.fromstring(render.to_svg(quad, padding=0))
    assert (root.get("width"), root.get("height")) == ("600", "300")


def test_svg_size_scales_with_regions(mlp):
    text = render.to_svg(mlp, size=300)
    per_region = len(text) / mlp.num_regions
    assert text.count("<path d=") == mlp.num_regions
    assert per_region < 250  # compact integer coordinates


def test_svg_decision_boundary_colour_is_the_one_set(mlp):
    dec = mlp.decision_boundary()
    assert dec.any()
    text = render.to_svg(mlp, size=300, decision_color="#ff00ff", decision_width=4)
    root = ET.fromstring(text)
    (group,) = groups_of(root, "decision")
    strokes = {p.get("stroke") for p in group}
    assert strokes == {"#ff00ff"}
    assert float(group.get("stroke-width")) == 400  # 4 px in 1/100 px units
    # one segment per decision edge
    nsegs = sum(p.get("d").count("M") for p in group)
    assert nsegs == int(dec.sum())
    # edges group colours: one colour per layer that made edges (decision edges excluded)
    (edges,) = groups_of(root, "edges")
    layers_with_edges = set(mlp.edge_layer[(mlp.edge_layer >= 0) & ~dec].tolist())
    assert len({p.get("stroke") for p in edges}) == len(layers_with_edges)


def test_svg_marks_plane_points(to_px):
    pts = np.array([[0.0, 0.0, 1.0], [1.0, 0.0, 0.0], [0.0, 2.0, 0.0]])
    net = rs.Sequential(rs.Linear([[1.0, -1.0, 0.5], [0.2, 1.0, -1.0]]), rs.ReLU())
    plane = rs.Plane(pts)
    part = rs.partition(net, plane)
    text = render.to_svg(part, size=300, padding=0, mark=True)
    root = ET.fromstring(text)
    k = 100
    circles = list(root.iter(f"{SVG_NS}circle"))
    assert len(circles) == 3
    xmin, xmax, ymin, ymax = plane.bounds
    h = float(root.get("height"))  # from the aspect ratio
    assert h == round(300 * (ymax - ymin) / (xmax - xmin))
    scale = min(300 / (xmax - xmin), h / (ymax - ymin))
    expected = to_px(
        plane.projected,
        scale,
        150 - scale * 0.5 * (xmin + xmax),
        h / 2 + scale * 0.5 * (ymin + ymax),
    )
    got = np.array([[float(c.get("cx")), float(c.get("cy"))] for c in circles]) / k
    np.testing.assert_allclose(got, expected, atol=0.01)
    texts = [t.text for t in root.iter(f"{SVG_NS}text")]
    assert texts == ["0", "1", "2"]
    # inputs of R^3 are projected onto the plane: the same marks
    svg2 = render.to_svg(part, size=300, padding=0, mark=pts, mark_labels=["a", "b", "c"])
    got2 = np.array(
        [
            [float(c.get("cx")), float(c.get("cy"))]
            for c in ET.fromstring(svg2).iter(f"{SVG_NS}circle")
        ]
    )
    np.testing.assert_allclose(got2 / k, expected, atol=0.01)


def test_svg_axes_ticks_in_domain_coordinates(quad):
    text = render.to_svg(quad, size=(500, 300), axes=True)
    root = ET.fromstring(text)
    labels = [t.text for t in root.iter(f"{SVG_NS}text")]
    assert "0" in labels and "2" in labels and "1" in labels


def test_svg_single_edge_colour_and_no_edges(mlp):
    root = ET.fromstring(render.to_svg(mlp, size=200, edges="#123456", decision=False))
    (edges,) = groups_of(root, "edges")
    assert {p.get("stroke") for p in edges} == {"#123456"}
    assert sum(p.get("d").count("M") for p in edges) == int((mlp.edge_layer >= 0).sum())
    root = ET.fromstring(render.to_svg(mlp, size=200, edges="none", decision=False))
    assert not groups_of(root, "edges")


def test_single_logit_decision_boundary_is_drawn():
    # relu(x) + relu(y) - 0.5: its sign changes on a bent line through three regions
    net = rs.Sequential(rs.Linear(np.eye(2)), rs.ReLU(), rs.Linear([[1.0, 1.0]], [-0.5]))
    part = rs.partition(net, rs.Box(1.0))
    text = part.to_svg(decision_color="#ff0000")
    root = ET.fromstring(text)
    decision = [el for el in root.iter() if "decision" in (el.get("class") or "")]
    assert decision, "no decision-boundary group in the SVG"
    body = ET.tostring(decision[0], encoding="unicode").lower()
    assert "#ff0000" in body or "rgb(255,0,0)" in body.replace(" ", "")
    # without a classifier output (two outputs, no Argmax) nothing is drawn as decision
    two = rs.partition(rs.Sequential(rs.Linear(np.eye(2)), rs.ReLU()), rs.Box(1.0))
    root2 = ET.fromstring(two.to_svg())
    assert not [el for el in root2.iter() if "decision" in (el.get("class") or "")]


def test_repr_svg(quad):
    assert render.repr_svg(quad).startswith("<svg")
    assert ET.fromstring(render.repr_svg(quad)).get("width") == str(svg.REPR_SIZE)


def test_repr_svg_is_none_above_the_region_limit(quad, monkeypatch):
    monkeypatch.setattr(svg, "SVG_REPR_MAX_REGIONS", quad.num_regions - 1)
    assert render.repr_svg(quad) is None
    monkeypatch.setattr(svg, "SVG_REPR_MAX_REGIONS", quad.num_regions)
    assert render.repr_svg(quad) is not None


# --------------------------------------------------------------------------------------
# the pieces of the document


def test_svg_lines_one_path_per_colour(quad):
    scene = build_scene(quad, {"size": (200, 100), "padding": 0, "precision": 0}, "test")
    red, blue = (1.0, 0.0, 0.0, 1.0), (0.0, 0.0, 1.0, 0.5)
    p0 = np.array([[0.0, 0.0], [0.0, 0.5], [0.0, 1.0]])
    p1 = np.array([[2.0, 0.0], [2.0, 0.5], [2.0, 1.0]])
    lines = Lines(p0, p1, np.array([red, blue, red]), 2.0, "edges", [])
    root = ET.fromstring(svg.svg_lines(lines, scene, 1))
    assert root.get("class") == "edges" and root.get("stroke-width") == "2"
    paths = {p.get("stroke"): p for p in root}
    assert set(paths) == {"#ff0000", "#0000ff"}
    # segments in pixels, y down: the two red ones share one path, in their order
    assert paths["#ff0000"].get("d") == "M0 100 200 100M0 0 200 0"
    assert paths["#ff0000"].get("stroke-opacity") is None
    assert paths["#0000ff"].get("d") == "M0 50 200 50"
    assert paths["#0000ff"].get("stroke-opacity") == "0.5"
    # nothing to draw: no group at all
    assert svg.svg_lines(Lines(p0, p1, np.array([red] * 3), 0.0, "edges", []), scene, 1) == ""
    assert svg.svg_lines(Lines(p0[:0], p1[:0], np.zeros((0, 4)), 1.0, "edges", []), scene, 1) == ""


def test_svg_vertices_and_marks_pieces(quad):
    style = {"size": (200, 100), "padding": 0, "precision": 1}
    scene = build_scene(quad, style, "test")
    assert svg.svg_vertices(scene, 10) == "" and svg.svg_marks(scene, 10) == ""
    scene = build_scene(
        quad, {**style, "vertices": True, "mark": [[0.5, 0.5]], "mark_labels": ["a<b"]}, "test"
    )
    dots = ET.fromstring(svg.svg_vertices(scene, 10))
    # one "Mx y" move per vertex, each a zero-length line ("h0")
    assert dots.get("d").count("M") == quad.num_vertices == dots.get("d").count("h0")
    marks = ET.fromstring(svg.svg_marks(scene, 10))
    (circle,) = marks.iter("circle")
    assert (circle.get("cx"), circle.get("cy")) == ("500", "500")  # (50, 50) px in 1/10 px
    assert [t.text for t in marks.iter("text")] == ["a<b"]  # escaped, parsed back


def test_svg_axes_ticks_follow_nice_ticks(quad):
    scene = build_scene(quad, {"size": (500, 300), "axes": True}, "test")
    root = ET.fromstring(svg.svg_axes(scene, 1))
    labels = [t.text for t in root.iter("text")]
    assert labels == ["0", "0.5", "1", "1.5", "2", "0", "0.2", "0.4", "0.6", "0.8", "1"]
    (frame,) = root.iter("rect")
    corners = scene.px(np.array([[0.0, 1.0]]))[0]
    assert (float(frame.get("x")), float(frame.get("y"))) == pytest.approx(corners, abs=0.5)


# --------------------------------------------------------------------------------------
# figures: title, legend, colour bar


def test_svg_figure_title_and_class_legend(mlp):
    names = ["cat", "dog", "emu"]
    root = ET.fromstring(
        mlp.to_svg(
            size=600, title="Three <classes>", legend=True, color_by="class", class_names=names
        )
    )
    groups = {g.get("class"): g for g in root.iter(f"{SVG_NS}g")}
    (title,) = groups["title"].iter(f"{SVG_NS}text")
    assert title.text == "Three <classes>"
    texts = [t.text for t in groups["legend"].iter(f"{SVG_NS}text")]
    # a heading per section: the classes by name, the layers by type, the decision boundary
    assert texts == ["class", *names, "edges made by", "ReLU 1", "ReLU 2", "decision boundary"]
    swatches = [r for r in groups["legend"].iter(f"{SVG_NS}rect")][1:]  # after the frame
    region_fills = {p.get("fill") for p in groups["regions"]}
    swatch_fills = {r.get("fill") for r in swatches}
    assert len(swatch_fills) == 3 and region_fills <= swatch_fills  # all classes, present or not
    # the legend is right of the domain, inside the picture
    frame = next(groups["legend"].iter(f"{SVG_NS}rect"))
    k = 100  # precision 2
    assert (
        float(frame.get("x")) / k > 300
        and float(frame.get("x")) + float(frame.get("width")) <= 600 * k
    )


def test_svg_colour_bar_for_values(mlp):
    root = ET.fromstring(mlp.to_svg(size=600, color_by="output", output=1, legend=True))
    groups = {g.get("class"): g for g in root.iter(f"{SVG_NS}g")}
    bar = groups["colorbar"]
    (gradient,) = bar.iter(f"{SVG_NS}linearGradient")
    fills = [r.get("fill") for r in bar.iter(f"{SVG_NS}rect")]
    assert f"url(#{gradient.get('id')})" in fills
    labels = [t.text for t in bar.iter(f"{SVG_NS}text")]
    assert labels[-1] == "output 1"
    vals = mlp.region_values(mlp.centroids())[:, 1]
    ticks = [float(v) for v in labels[:-1]]
    assert vals.min() <= min(ticks) and max(ticks) <= vals.max()
    # colorbar=False leaves it out; no legend, no colour bar by default
    assert "colorbar" not in mlp.to_svg(color_by="output", legend=True, colorbar=False)
    assert "colorbar" not in mlp.to_svg(color_by="output")


def test_svg_axes_name_plane_coordinates():
    plane = rs.Plane(np.eye(3))
    net = rs.Sequential(rs.Linear(np.eye(3)), rs.ReLU())
    part = rs.partition(net, plane)
    root = ET.fromstring(part.to_svg(axes=True, mark=True))
    groups = {g.get("class"): g for g in root.iter(f"{SVG_NS}g")}
    assert [t.text for t in groups["labels"].iter(f"{SVG_NS}text")] == [
        "plane coordinate 1",
        "plane coordinate 2",
    ]
    assert [t.text for t in groups["marks"].iter(f"{SVG_NS}text")] == ["0", "1", "2"]
    root = ET.fromstring(part.to_svg(axes=True, axis_labels=("a", "b")))
    assert [t.text for g in root.iter(f"{SVG_NS}g") if g.get("class") == "labels" for t in g] == [
        "a",
        "b",
    ]
