"""Tests of regionscope.render.png: PNG files, their pixels and the engine choice."""

from __future__ import annotations

import importlib.util
import struct
import zlib

import numpy as np
import pytest

from regionscope import render
from regionscope.render import png


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


def inner_distance(poly: np.ndarray, point: np.ndarray) -> float:
    """Distance from a point inside a convex polygon to its boundary."""
    a, b = poly, np.roll(poly, -1, axis=0)
    d = b - a
    t = np.clip(((point - a) * d).sum(1) / np.maximum((d * d).sum(1), 1e-300), 0, 1)
    return float(np.hypot(*(a + t[:, None] * d - point).T).min())


def test_png_size_and_region_colours(quad, tmp_path, rgb8, to_px):
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


def test_png_centroid_pixels_random_network(mlp, polygons, rgb8, to_px):
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


def test_png_decision_colour_is_the_one_set(mlp, to_px):
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


def test_repr_png(quad):
    assert read_png(render.repr_png(quad)).shape[1] == 400


def test_png_engine_choice(monkeypatch):
    assert png.png_engine("numpy", {"axes": True}) == "numpy"
    assert png.png_engine("matplotlib", {}) == "matplotlib"
    assert png.png_engine("auto", {}) == "numpy"
    assert png.png_engine("auto", {"axes": False, "mark_labels": None}) == "numpy"
    with pytest.raises(ValueError, match="engine"):
        png.png_engine("cairo", {})
    # text needs matplotlib, when it is installed
    installed = importlib.util.find_spec("matplotlib") is not None
    expected = "matplotlib" if installed else "numpy"
    assert png.png_engine("auto", {"axes": True}) == expected
    assert png.png_engine("auto", {"mark_labels": ["a"]}) == expected
    monkeypatch.setattr(png.importlib.util, "find_spec", lambda name: None)
    assert png.png_engine("auto", {"axes": True}) == "numpy"


def test_png_text_is_written_by_matplotlib(mlp):
    pytest.importorskip("matplotlib")
    style = {"size": 500, "title": "Title", "legend": True, "padding": 0}
    with_text = read_png(render.to_png(mlp, None, **style))
    without = read_png(render.to_png(mlp, None, engine="numpy", **style))
    assert with_text.shape == without.shape
    differs = (with_text != without).any(axis=2)
    rows, cols = np.nonzero(differs)
    assert len(rows) > 100
    # only text differs: the title above the domain and the legend labels right of it
    from regionscope.render.scene import build_scene

    scene = build_scene(mlp, style, "test")
    x0, y_top = scene.px(np.array([[-1.0, 1.0]]))[0]
    x1, y_bottom = scene.px(np.array([[1.0, -1.0]]))[0]
    inside = (rows > y_top + 1) & (rows < y_bottom - 1) & (cols > x0 + 1) & (cols < x1 - 1)
    assert not inside.any()
    assert (rows < y_top).any() and (cols > x1).any()


def test_png_numpy_engine_draws_the_legend_frame_without_text(quad):
    from regionscope.render.scene import build_scene

    style = {"size": 400, "legend": True}
    img = read_png(render.to_png(quad, None, engine="numpy", **style))
    right = int(build_scene(quad, style, "test").px(np.array([[2.0, 0.0]]))[0, 0]) + 3
    # the legend's gray frame and line sample: dark pixels right of the domain, where the
    # picture without a legend is blank
    assert (img[:, right:] < 200).any()
    plain = read_png(render.to_png(quad, None, engine="numpy", size=400))
    assert not (plain[:, 400 - 3 :] < 250).any()
