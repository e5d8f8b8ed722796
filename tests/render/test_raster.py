"""Tests of regionscope.render.raster: scan-line fills, anti-aliased lines and dots."""

from __future__ import annotations

import math

import numpy as np
import pytest

from regionscope.render import raster
from regionscope.render.scene import build_scene


def test_png_rasteriser_matches_locate(mlp):
    # every pixel centre inside the domain is filled by exactly the region containing it
    w, h = 162, 120  # another aspect than the box: empty columns on both sides
    scene = build_scene(mlp, {"size": (w, h), "padding": 0}, "test")
    pix, region = raster.fill_spans(
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


def test_fill_spans_pixel_centre_rule():
    # a triangle (0, 0), (4, 0), (0, 4) in pixels: a pixel is in when its centre is
    px = np.array([[0.0, 0.0], [4.0, 0.0], [0.0, 4.0]])
    pix, polygon = raster.fill_spans(px, np.array([0, 1, 2]), np.array([0, 3]), 5, 5)
    row, col = np.divmod(pix, 5)
    assert (polygon == 0).all()
    # centres (c + 0.5, r + 0.5) strictly below the diagonal x + y = 4 (on it: out)
    expected = {(r, c) for r in range(5) for c in range(5) if c + r + 1 < 4}
    assert set(zip(row.tolist(), col.tolist(), strict=True)) == expected


def test_line_coverage_horizontal_line():
    # a 1 px wide line along the centre of row 2, from x = 1 to x = 7
    p0, p1 = np.array([[1.0, 2.5]]), np.array([[7.0, 2.5]])
    pix, cov, seg = raster.line_coverage(p0, p1, 1.0, 10, 5)
    row, col = np.divmod(pix, 10)
    assert (row == 2).all() and (seg == 0).all()
    np.testing.assert_allclose(cov, 1.0)
    # the ends reach half a line width further: pixel centres 0.5 to 6.5 (not 7.5)
    assert sorted(col.tolist()) == list(range(0, 7))


def test_line_coverage_diagonal_ink_and_clipping():
    # the ink of a thin diagonal line is about its area: length x width
    p0, p1 = np.array([[2.0, 3.0]]), np.array([[30.0, 20.0]])
    pix, cov, _ = raster.line_coverage(p0, p1, 0.8, 40, 40)
    assert (cov > 0).all() and (cov <= 1).all()
    length = math.hypot(28.0, 17.0)
    assert cov.sum() == pytest.approx(length * 0.8, rel=0.05)
    # outside the picture nothing is returned; zero-length segments draw nothing
    pix, cov, _ = raster.line_coverage(np.array([[-9.0, -9.0]]), np.array([[-3.0, -1.0]]), 1, 8, 8)
    assert len(pix) == 0
    pix, _, _ = raster.line_coverage(np.array([[3.0, 3.0]]), np.array([[3.0, 3.0]]), 2.0, 8, 8)
    assert len(pix) == 0


def test_disc_coverage_area_and_owner():
    centers = np.array([[10.0, 10.0], [30.3, 12.7]])
    pix, cov, owner = raster.disc_coverage(centers, 8.0, 50, 30)
    for i in range(2):
        assert cov[owner == i].sum() == pytest.approx(math.pi * 16.0, rel=0.03)
    # the centre pixel of each disc is fully covered
    assert cov[(owner == 0) & (pix == 10 * 50 + 10)] == pytest.approx(1.0)
    assert cov[(owner == 1) & (pix == 12 * 50 + 30)] == pytest.approx(1.0)


def test_blend_coverage_weighted_average():
    flat = np.ones((3, 3))  # three white pixels
    pix = np.array([0, 1, 1])
    cov = np.array([1.0, 0.5, 0.5])
    rgba = np.array([[1.0, 0.0, 0.0, 1.0], [0.0, 0.0, 0.0, 1.0], [0.0, 0.0, 1.0, 1.0]])
    raster.blend(flat, pix, cov, rgba)
    np.testing.assert_allclose(flat[0], [1.0, 0.0, 0.0])  # full coverage: the colour
    np.testing.assert_allclose(flat[1], [0.0, 0.0, 0.5])  # two halves: their average
    np.testing.assert_allclose(flat[2], [1.0, 1.0, 1.0])  # untouched
    # half coverage of one colour: half way from the picture to the colour
    flat = np.ones((1, 3))
    raster.blend(flat, np.array([0]), np.array([0.5]), np.array([[0.0, 0.0, 0.0, 1.0]]))
    np.testing.assert_allclose(flat[0], [0.5, 0.5, 0.5])


def test_rasterize_background_and_regions(quad, rgb8):
    scene = build_scene(quad, {"size": (60, 40), "background": "#102030"}, "test")
    img = raster.rasterize(quad, scene)
    assert img.shape == (40, 60, 3) and img.dtype == np.uint8
    assert img[0, 0].tolist() == [16, 32, 48]  # the padding shows the background
    f = int(quad.locate(np.array([[0.5, 0.6]]))[0])
    x, y = scene.px(np.array([[0.5, 0.6]]))[0]
    assert (img[int(y), int(x)] == rgb8(scene.region_rgba[f])).all()


def test_draw_overlay_rect_gradient_and_strokes():
    from regionscope.render.overlay import Gradient, Rect, Strokes, Text

    w, h = 20, 10
    flat = np.ones((w * h, 3))
    red = (1.0, 0.0, 0.0, 1.0)
    colors = np.array([[0.0, 0.0, 0.0, 1.0], [1.0, 1.0, 1.0, 1.0]])  # black at the bottom
    items = [
        Rect(2.0, 2.0, 4.0, 3.0, red),
        Gradient(10.0, 0.0, 2.0, 10.0, colors),
        Strokes(np.array([[15.0, 0.0]]), np.array([[15.0, 10.0]]), (0.0, 0.0, 1.0, 1.0), 2.0),
        Text(0.0, 0.0, "no fonts: skipped", 10.0),
    ]
    raster.draw_overlay(flat, items, w, h)
    img = flat.reshape(h, w, 3)
    # the rectangle covers the pixels whose centres it contains: columns 2..5, rows 2..4
    red_px = np.all(img == [1.0, 0.0, 0.0], axis=2)
    assert red_px.sum() == 12 and red_px[2:5, 2:6].all()
    # the gradient darkens downwards, linearly from white (top) to black (bottom)
    column = img[:, 10, 0]
    assert np.all(np.diff(column) < 0)
    # pixel row r takes the colour at its centre: (h - (r + 0.5)) / h of the way up
    np.testing.assert_allclose(column, (h - 0.5 - np.arange(h)) / h, atol=1e-12)
    # a 2 px blue line along x = 15 covers columns 14 and 15
    assert np.all(img[:, 14:16, 2] == 1.0) and np.all(img[:, 14:16, 0] == 0.0)
