"""Tests of regionscope.render: SVG structure, PNG pixels, matplotlib artists."""

from __future__ import annotations

import re
import struct
import xml.etree.ElementTree as ET
import zlib

import numpy as np
import pytest

import regionscope as rs
from regionscope import render
from regionscope.render import colors

SVG_NS = "{http://www.w3.org/2000/svg}"


# --------------------------------------------------------------------------------------
# helpers


def read_png(data: bytes) -> np.ndarray:
    """Decode a PNG written with filter 0 (what the NumPy back end writes)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat = 8, b""
    width = height = ctype = None
    while pos < len(data):
        n, tag = struct.unpack(">I4s", data[pos : pos + 8])
        body = data[pos + 8 : pos + 8 + n]
        (crc,) = struct.unpack(">I", data[pos + 8 + n : pos + 12 + n])
        assert crc == zlib.crc32(tag + body) & 0xFFFFFFFF
        if tag == b"IHDR":
            width, height, depth, ctype = struct.unpack(">IIBB", body[:10])
            assert depth == 8
        elif tag == b"IDAT":
            idat += body
        pos += 12 + n
    channels = {2: 3, 6: 4}[ctype]
    raw = np.frombuffer(zlib.decompress(idat), np.uint8).reshape(height, -1)
    assert (raw[:, 0] == 0).all()
    return raw[:, 1:].reshape(height, width, channels)


def polygons(part) -> list[np.ndarray]:
    rv, off = part.region_vertices, part.region_offsets
    return [part.vertices[rv[off[f] : off[f + 1]]] for f in range(part.num_regions)]


def svg_region_paths(svg: str) -> tuple[list[np.ndarray], list[str], float]:
    root = ET.fromstring(svg)
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


def rgb8(rgba) -> np.ndarray:
    return np.round(np.asarray(rgba)[..., :3] * 255).astype(int)


@pytest.fixture(scope="module")
def quad():
    """Box [0, 2] x [0, 1] cut by x = 1 and y = 0.25: four rectangles."""
    net = rs.Sequential(rs.Linear([[1.0, 0.0], [0.0, 1.0]], [-1.0, -0.25]), rs.ReLU())
    return rs.partition(net, rs.Box(0.0, 2.0, 0.0, 1.0))


@pytest.fixture(scope="module")
def mlp():
    """A small random ReLU classifier (3 classes) on Box(1)."""
    rng = np.random.default_rng(7)
    net = rs.Sequential(
        rs.Linear(rng.normal(size=(8, 2)), rng.normal(scale=0.5, size=8)),
        rs.ReLU(),
        rs.Linear(rng.normal(size=(8, 8)) / 3, rng.normal(scale=0.3, size=8)),
        rs.ReLU(),
        rs.Linear(rng.normal(size=(3, 8)), rng.normal(scale=0.3, size=3)),
        rs.Argmax(),
    )
    return rs.partition(net, rs.Box(1.0))


def to_px(xy, scale, x0, y0):
    xy = np.asarray(xy, dtype=float)
    return np.stack([x0 + scale * xy[:, 0], y0 - scale * xy[:, 1]], axis=1)


def inner_distance(poly: np.ndarray, point: np.ndarray) -> float:
    """Distance from a point inside a convex polygon to its boundary."""
    a, b = poly, np.roll(poly, -1, axis=0)
    d = b - a
    t = np.clip(((point - a) * d).sum(1) / np.maximum((d * d).sum(1), 1e-300), 0, 1)
    return float(np.hypot(*(a + t[:, None] * d - point).T).min())


# --------------------------------------------------------------------------------------
# SVG


def test_svg_one_path_per_region_with_flipped_y(quad):
    # 400 x 200 pixels for a 2 x 1 box without padding: scale 200, y flipped by hand
    svg = render.to_svg(quad, size=(400, 200), padding=0)
    paths, fills, k = svg_region_paths(svg)
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
    svg = render.to_svg(quad, size=(400, 400), padding=0)
    root = ET.fromstring(svg)
    assert (root.get("width"), root.get("height")) == ("400", "400")
    paths, _, _ = svg_region_paths(svg)
    allpts = np.concatenate(paths)
    # 2 x 1 box in a square: 400 px wide, 200 px high, centred vertically
    np.testing.assert_allclose(allpts.min(0), [0, 100], atol=0.006)
    np.testing.assert_allclose(allpts.max(0), [400, 300], atol=0.006)
    # default size: width 600, height from the aspect ratio (+ padding)
    root = ET.fromstring(render.to_svg(quad, padding=0))
    assert (root.get("width"), root.get("height")) == ("600", "300")


def test_svg_size_scales_with_regions(mlp):
    svg = render.to_svg(mlp, size=300)
    per_region = len(svg) / mlp.num_regions
    assert svg.count("<path d=") == mlp.num_regions
    assert per_region < 250  # compact integer coordinates


def test_svg_decision_boundary_colour_is_the_one_set(mlp):
    dec = mlp.decision_boundary()
    assert dec.any()
    svg = render.to_svg(mlp, size=300, decision_color="#ff00ff", decision_width=4)
    root = ET.fromstring(svg)
    (group,) = [g for g in root.iter(f"{SVG_NS}g") if g.get("class") == "decision"]
    strokes = {p.get("stroke") for p in group}
    assert strokes == {"#ff00ff"}
    assert float(group.get("stroke-width")) == 400  # 4 px in 1/100 px units
    # one segment per decision edge
    nsegs = sum(p.get("d").count("M") for p in group)
    assert nsegs == int(dec.sum())
    # edges group colours: one colour per layer that made edges (decision edges excluded)
    (edges,) = [g for g in root.iter(f"{SVG_NS}g") if g.get("class") == "edges"]
    layers_with_edges = set(mlp.edge_layer[(mlp.edge_layer >= 0) & ~dec].tolist())
    assert len({p.get("stroke") for p in edges}) == len(layers_with_edges)


def test_svg_marks_plane_points():
    pts = np.array([[0.0, 0.0, 1.0], [1.0, 0.0, 0.0], [0.0, 2.0, 0.0]])
    net = rs.Sequential(rs.Linear([[1.0, -1.0, 0.5], [0.2, 1.0, -1.0]]), rs.ReLU())
    plane = rs.Plane(pts)
    part = rs.partition(net, plane)
    svg = render.to_svg(part, size=300, padding=0, mark=True)
    root = ET.fromstring(svg)
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
    svg = render.to_svg(quad, size=(500, 300), axes=True)
    root = ET.fromstring(svg)
    labels = [t.text for t in root.iter(f"{SVG_NS}text")]
    assert "0" in labels and "2" in labels and "1" in labels


# --------------------------------------------------------------------------------------
# PNG


def test_png_size_and_region_colours(quad, tmp_path):
    out = tmp_path / "quad.png"
    data = render.to_png(quad, out, size=(300, 170))
    assert out.read_bytes() == data
    img = read_png(data)
    assert img.shape == (170, 300, 3)
    # scale = min(292 / 2, 162 / 1) = 146 with 4 px padding, centred
    scale, x0, y0 = 146.0, 4.0, 85 + 73.0
    cols = rgb8(render.region_colors(quad))
    for f, c in enumerate(quad.centroids()):
        px, py = to_px(c[None], scale, x0, y0)[0]
        assert (img[int(py), int(px)] == cols[f]).all()
    # outside the domain: the white background
    assert (img[2, 150] == 255).all() and (img[-2, 150] == 255).all()


def test_png_centroid_pixels_random_network(mlp):
    w = h = 400
    img = read_png(render.to_png(mlp, None, size=(w, h), padding=0))
    scale = w / 2.0
    cols = rgb8(render.region_colors(mlp))
    checked = 0
    for f, (poly, c) in enumerate(zip(polygons(mlp), mlp.centroids(), strict=True)):
        if inner_distance(poly, c) * scale < 5:
            continue  # too thin: edges cover it
        px, py = to_px(c[None], scale, w / 2, h / 2)[0]
        assert (img[int(py), int(px)] == cols[f]).all(), f
        checked += 1
    assert checked >= 10


def test_png_rasteriser_matches_locate(mlp):
    # every pixel centre inside the domain is filled by exactly the region containing it
    w, h = 162, 120  # another aspect than the box: empty columns on both sides
    scene = render._scene(mlp, {"size": (w, h), "padding": 0}, "test")
    pix, region = render._fill_spans(
        scene.px(mlp.vertices), mlp.region_vertices, mlp.region_offsets, w, h
    )
    assert np.bincount(pix, minlength=w * h).max() == 1
    rows, cols = np.divmod(np.arange(w * h), w)
    centres = np.stack(
        [(cols + 0.5 - scene.x0) / scene.scale, (scene.y0 - rows - 0.5) / scene.scale], axis=1
    )
    owner = np.full(w * h, -1)
    owner[pix] = region
    np.testing.assert_array_equal(owner, mlp.locate(centres))


def test_png_decision_colour_is_the_one_set(mlp):
    w = 400
    img = read_png(
        render.to_png(mlp, None, size=w, padding=0, decision_color="#ff00ff", decision_width=5)
    )
    dec = np.flatnonzero(mlp.decision_boundary())
    lengths = np.hypot(*(mlp.vertices[mlp.edges[dec, 0]] - mlp.vertices[mlp.edges[dec, 1]]).T)
    e = dec[np.argmax(lengths)]
    mid = mlp.vertices[mlp.edges[e]].mean(axis=0)
    px, py = to_px(mid[None], w / 2, w / 2, w / 2)[0]
    assert (img[int(py), int(px)] == [255, 0, 255]).all()


def test_png_vertices_and_marks(quad):
    img = read_png(
        render.to_png(
            quad,
            None,
            size=(200, 100),
            padding=0,
            vertices=True,
            vertex_color="#00ff00",
            vertex_size=5,
            mark=np.array([[0.5, 0.5]]),
            mark_color="#0000ff",
            mark_size=10,
        )
    )
    # vertex (1, 0.25) -> pixel (100, 75): green; mark (0.5, 0.5) -> (50, 50): blue
    assert (img[75, 100] == [0, 255, 0]).all()
    assert (img[50, 50] == [0, 0, 255]).all()


def test_encode_png_round_trip():
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, size=(7, 5, 3), dtype=np.uint8)
    np.testing.assert_array_equal(read_png(render.encode_png(img)), img)
    rgba = rng.integers(0, 256, size=(3, 4, 4), dtype=np.uint8)
    np.testing.assert_array_equal(read_png(render.encode_png(rgba)), rgba)
    with pytest.raises(ValueError, match="uint8"):
        render.encode_png(np.zeros((3, 3, 3)))


def test_repr_hooks(quad):
    assert render.repr_svg(quad).startswith("<svg")
    assert read_png(render.repr_png(quad)).shape[1] == 400


# --------------------------------------------------------------------------------------
# colours


def test_pattern_colours_follow_pattern_keys(mlp):
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


def test_class_colours_match_the_network(mlp):
    cols = render.region_colors(mlp, color_by="class")
    classes = mlp.model.forward(mlp.lift(mlp.centroids())).argmax(axis=1)
    for c in np.unique(classes):
        same = rgb8(cols[classes == c])
        assert (same == same[0]).all()
    firsts = [rgb8(cols[classes == c][0]) for c in np.unique(classes)]
    assert len({tuple(v) for v in firsts}) == len(firsts)


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


def test_bad_style_arguments(quad):
    with pytest.raises(TypeError, match="unknown style option"):
        render.to_svg(quad, colour_by="class")
    with pytest.raises(ValueError, match="size"):
        render.to_png(quad, None, size=(1, 1))
    with pytest.raises(ValueError, match="output=5"):
        render.to_svg(quad, color_by="output", output=5)
    with pytest.raises(ValueError, match="layer=7"):
        render.to_svg(quad, layer=7)
    with pytest.raises(ValueError, match="color"):
        render.to_svg(quad, decision_color="not-a-colour-xyz")
    with pytest.raises(ValueError, match="mark"):
        render.to_svg(quad, mark=np.zeros((2, 3)))
    with pytest.raises(ValueError, match="Plane"):
        render.to_svg(quad, mark=True)


# --------------------------------------------------------------------------------------
# matplotlib


@pytest.fixture
def ax():
    pytest.importorskip("matplotlib").use("Agg")
    plt = pytest.importorskip("matplotlib.pyplot")

    fig, ax = plt.subplots()
    yield ax
    plt.close(fig)


def test_plot_artists(mlp, ax):
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
    assert sum(lab.startswith("layer ") for lab in labels) == len(layers)
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


def test_png_matplotlib_engine_size(quad):
    imread = pytest.importorskip("matplotlib.image").imread
    import io

    data = render.to_png(quad, None, size=(320, 200), axes=True)
    assert imread(io.BytesIO(data)).shape[:2] == (200, 320)


def test_png_of_a_1d_partition(mlp):
    pytest.importorskip("matplotlib")
    imread = pytest.importorskip("matplotlib.image").imread
    import io

    part1d = mlp.slice([-1.0, 0.0], [1.0, 0.0])
    img = imread(io.BytesIO(render.to_png(part1d, None, size=(500, 250))))
    assert img.shape[:2] == (250, 500)
    assert render.to_svg(part1d).lstrip().startswith("<?xml")


def test_svg_single_edge_colour_and_no_edges(mlp):
    root = ET.fromstring(render.to_svg(mlp, size=200, edges="#123456", decision=False))
    (edges,) = [g for g in root.iter(f"{SVG_NS}g") if g.get("class") == "edges"]
    assert {p.get("stroke") for p in edges} == {"#123456"}
    assert sum(p.get("d").count("M") for p in edges) == int((mlp.edge_layer >= 0).sum())
    root = ET.fromstring(render.to_svg(mlp, size=200, edges="none", decision=False))
    assert not [g for g in root.iter(f"{SVG_NS}g") if g.get("class") == "edges"]


def test_single_logit_decision_boundary_is_drawn():
    # relu(x) + relu(y) - 0.5: its sign changes on a bent line through three regions
    net = rs.Sequential(rs.Linear(np.eye(2)), rs.ReLU(), rs.Linear([[1.0, 1.0]], [-0.5]))
    part = rs.partition(net, rs.Box(1.0))
    svg = part.to_svg(decision_color="#ff0000")
    root = ET.fromstring(svg)
    decision = [el for el in root.iter() if "decision" in (el.get("class") or "")]
    assert decision, "no decision-boundary group in the SVG"
    text = ET.tostring(decision[0], encoding="unicode").lower()
    assert "#ff0000" in text or "rgb(255,0,0)" in text.replace(" ", "")
    # without a classifier output (two outputs, no Argmax) nothing is drawn as decision
    two = rs.partition(rs.Sequential(rs.Linear(np.eye(2)), rs.ReLU()), rs.Box(1.0))
    root2 = ET.fromstring(two.to_svg())
    assert not [el for el in root2.iter() if "decision" in (el.get("class") or "")]
