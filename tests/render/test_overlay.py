"""Tests of regionscope.render.overlay: primitives and the text-width estimate."""

from __future__ import annotations

import numpy as np
import pytest

from regionscope.render import overlay


def test_text_width_grows_with_length_and_size():
    w = overlay.text_width("decision boundary", 11.0)
    assert w == pytest.approx(overlay.CHAR_WIDTH * 11.0 * 17)
    assert overlay.text_width("", 30.0) == 0.0
    assert overlay.text_width("ab", 20.0) == 2 * overlay.text_width("a", 20.0)


def test_estimate_covers_rendered_text():
    # the estimate is generous: matplotlib's rendering of typical labels is not wider
    pytest.importorskip("matplotlib")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(dpi=100)
    canvas = FigureCanvasAgg(fig)
    renderer = canvas.get_renderer()
    for text in ["ReLU 1", "decision boundary", "class 3", "features.3 (ReLU)", "Argmax"]:
        artist = fig.text(0, 0, text, fontsize=11 * 0.72)
        width = artist.get_window_extent(renderer).width
        assert width <= overlay.text_width(text, 11.0) * 1.1, text


def test_primitives_defaults():
    t = overlay.Text(1.0, 2.0, "x", 10.0)
    assert (t.anchor, t.rotation, t.bold, t.group) == ("start", 0.0, False, "legend")
    s = overlay.Strokes(np.zeros((1, 2)), np.ones((1, 2)), (0.0, 0.0, 0.0, 1.0), 2.0)
    assert (
        s.group == "legend" and overlay.Gradient(0, 0, 1, 1, np.zeros((2, 4))).group == "colorbar"
    )
