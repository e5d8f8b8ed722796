"""Tests of regionscope.render itself: the re-exports of its modules."""

from __future__ import annotations

import importlib

import regionscope as rs
from regionscope import render


def test_public_names_are_the_module_functions():
    expected = {
        "STYLE_KEYS": "style",
        "region_colors": "fills",
        "to_svg": "svg",
        "repr_svg": "svg",
        "to_png": "png",
        "encode_png": "png",
        "repr_png": "png",
        "plot": "mpl",
        "plot_bent_hyperplanes": "mpl",
        "plot_1d": "mpl",
        "repr_format": "jupyter",
        "repr_png_1d": "jupyter",
        "to_pdf": "figure",
        "to_html": "html",
        "write_html": "html",
    }
    assert sorted(render.__all__) == sorted(expected)
    for name, module in expected.items():
        mod = importlib.import_module(f"regionscope.render.{module}")
        assert getattr(render, name) is getattr(mod, name), name
    assert rs.render is render
    for name in ("DEFAULT_WIDTH", "LEGEND_MAX_ENTRIES", "SVG_REPR_MAX_REGIONS"):
        assert isinstance(getattr(render, name), int)


def test_partition_methods_draw_through_render(quad):
    assert quad.to_svg(size=120) == render.to_svg(quad, size=120)
    assert quad.to_png(None, size=(60, 40)) == render.to_png(quad, None, size=(60, 40))
    assert quad._repr_svg_() == render.repr_svg(quad)
