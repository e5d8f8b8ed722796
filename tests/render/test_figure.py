"""Tests of regionscope.render.figure: PDF figures, and text written on PNG pictures."""

from __future__ import annotations

import io

import numpy as np
import pytest

from regionscope import render
from regionscope.render import figure
from regionscope.render.overlay import Text
from regionscope.render.scene import build_scene

pytest.importorskip("matplotlib")


def read(data: bytes) -> np.ndarray:
    from matplotlib.image import imread

    return np.round(imread(io.BytesIO(data))[..., :3] * 255).astype(int)


def inner(poly: np.ndarray, point: np.ndarray) -> float:
    d = np.roll(poly, -1, axis=0) - poly
    cross = d[:, 0] * (point[1] - poly[:, 1]) - d[:, 1] * (point[0] - poly[:, 0])
    return float((cross / np.hypot(d[:, 0], d[:, 1])).min())


STYLE = {"size": 500, "title": "A figure", "legend": True, "axes": True, "color_by": "class"}


def test_pdf_is_a_vector_file(mlp, tmp_path):
    data = render.to_pdf(mlp, tmp_path / "f.pdf", **STYLE)
    assert data[:5] == b"%PDF-" and (tmp_path / "f.pdf").read_bytes() == data
    svg = render.to_pdf(mlp, None, fmt="svg", **STYLE).decode()
    assert "<svg" in svg
    line = render.to_pdf(mlp.slice([-1.0, 0.0], [1.0, 0.0]), None, title="along y = 0")
    assert line[:5] == b"%PDF-"


def test_matplotlib_figure_has_the_scenes_layout(mlp, rgb8):
    scene = build_scene(mlp, STYLE, "test")
    img = read(render.to_pdf(mlp, None, fmt="png", **STYLE))
    assert img.shape[:2] == (scene.height, scene.width)
    colors = rgb8(scene.region_rgba)
    checked = 0
    for f in range(mlp.num_regions):
        c = mlp.centroids()[f]
        if inner(mlp.polygon(f), c) * scene.scale < 6:
            continue
        px, py = scene.px(c[None])[0]
        assert np.abs(img[int(py), int(px)] - colors[f]).max() <= 2, f
        checked += 1
    assert checked >= 10
    # the same figure as the PNG engine draws (NumPy regions, matplotlib text)
    png = read(render.to_png(mlp, None, **STYLE))
    assert png.shape == img.shape


def test_text_layer_writes_only_near_the_text():
    image = np.full((60, 200, 3), 200, dtype=np.uint8)
    out = figure.text_layer(image, [Text(20.0, 30.0, "Hello", 16.0)])
    changed = np.argwhere((out != 200).any(axis=2))
    assert len(changed) > 30
    rows, cols = changed[:, 0], changed[:, 1]
    assert rows.min() >= 30 - 12 and rows.max() <= 30 + 12  # centred on y = 30
    assert cols.min() >= 20 - 1 and cols.max() <= 20 + 16 * 0.64 * 5 + 2  # starts at x = 20
    assert (figure.text_layer(image, []) == image).all()


def test_mark_labels_become_text_beside_the_marks(quad):
    scene = build_scene(quad, {"mark": [[0.5, 0.5]], "mark_labels": ["p"]}, "test")
    (t,) = figure.mark_texts(scene)
    px, py = scene.px(np.array([[0.5, 0.5]]))[0]
    assert t.text == "p" and t.x > px and t.y < py and t.group == "marks"
    assert figure.mark_texts(build_scene(quad, {}, "test")) == []
