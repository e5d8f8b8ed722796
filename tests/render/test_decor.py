"""Tests of regionscope.render.decor: room for the figure around the domain, and its layout."""

from __future__ import annotations

import numpy as np
import pytest

from regionscope.render import decor as dc
from regionscope.render.colors import colormap
from regionscope.render.fills import ValueScale
from regionscope.render.legend import Entry
from regionscope.render.overlay import Dot, Gradient, Rect, Strokes, Text

RED = (1.0, 0.0, 0.0, 1.0)
BOUNDS = (-1.0, 1.0, 0.0, 2.0)
BOX = (100.0, 50.0, 300.0, 250.0)  # the domain's pixels: x0, y0, x1, y1


def make(**kw):
    base = {"title": None, "entries": [], "values": None, "axes": False, "axis_labels": None}
    return dc.Decor(**{**base, **kw})


def scale(lo=-2.0, hi=3.0):
    return ValueScale(colormap("viridis"), None, lo, hi, "output 0")


def test_margins_add_up_the_parts():
    assert dc.decor_margins(make()) == (0, 0, 0, 0)
    entries = [Entry("ReLU 1", RED), Entry("cat", RED, "patch", section="classes")]
    w_legend, h_legend = dc.legend_size(entries)
    assert dc.decor_margins(make(entries=entries)) == (0, dc.GAP + w_legend, 0, 0)
    assert dc.decor_margins(make(title="T"))[2] == dc.TITLE_ROOM
    labels = make(axes=True, axis_labels=("x", "y"))
    assert dc.decor_margins(labels) == (dc.AXIS_LABEL_ROOM, 0, 0, dc.AXIS_LABEL_ROOM)
    both = dc.decor_margins(make(values=scale(), entries=entries))[1]
    bar = dc.decor_margins(make(values=scale()))[1]
    assert both == bar + dc.GAP + w_legend
    # two sections: one heading row each, plus the entries
    assert h_legend == 2 * dc.LEGEND_PAD + 4 * dc.LEGEND_ROW


def test_legend_sits_right_of_the_domain_without_overlap():
    entries = [Entry(f"ReLU {i}", RED) for i in range(3)] + [Entry("decision", RED, width=3)]
    items = dc.decor_items(make(entries=entries), BOX, BOUNDS, (10.0, 400.0, 600.0))
    (frame,) = [it for it in items if isinstance(it, Rect)]
    assert frame.x == BOX[2] + dc.GAP and frame.y == BOX[1]
    assert (frame.w, frame.h) == dc.legend_size(entries)
    texts = [it for it in items if isinstance(it, Text)]
    assert [t.text for t in texts] == [e.label for e in entries]
    for t in texts:  # inside the box, in reading order
        assert frame.x < t.x < frame.x + frame.w and frame.y < t.y < frame.y + frame.h
    assert [t.y for t in texts] == sorted(t.y for t in texts)
    samples = [it for it in items if isinstance(it, Strokes)]
    assert [s.width for s in samples] == [e.width for e in entries]
    # a legend taller than the room below the domain's top starts at the top of the room
    items = dc.decor_items(make(entries=entries), BOX, BOUNDS, (10.0, 120.0, 600.0))
    assert [it for it in items if isinstance(it, Rect)][0].y == 10.0


def test_axes_ticks_are_at_their_values():
    items = dc.decor_items(make(axes=True, axis_labels=("u", "v")), BOX, BOUNDS, (0, 400, 600))
    ticks = [it for it in items if isinstance(it, Text) and it.group == "axes"]
    x0, y0, x1, y1 = BOX
    for t in ticks:
        v = float(t.text)
        if t.anchor == "middle":  # x ticks below the frame
            assert t.x == pytest.approx(x0 + (v - BOUNDS[0]) / 2.0 * (x1 - x0)) and t.y > y1
        else:  # y ticks left of it
            assert t.y == pytest.approx(y1 - (v - BOUNDS[2]) / 2.0 * (y1 - y0)) and t.x < x0
    names = [it for it in items if isinstance(it, Text) and it.group == "labels"]
    assert [(n.text, n.rotation) for n in names] == [("u", 0.0), ("v", 90.0)]


def test_colorbar_ticks_and_gradient():
    items = dc.decor_items(make(values=scale()), BOX, BOUNDS, (0, 400, 600))
    (grad,) = [it for it in items if isinstance(it, Gradient)]
    assert grad.x == BOX[2] + dc.GAP and (grad.y, grad.y + grad.h) == (BOX[1], BOX[3])
    np.testing.assert_allclose(grad.colors[0], colormap("viridis")(np.array([0.0]))[0])
    labels = [it for it in items if isinstance(it, Text) and it.rotation == 0]
    values = [float(t.text) for t in labels]
    assert values == dc.nice_ticks(-2.0, 3.0).tolist()
    for t, v in zip(labels, values, strict=True):  # the bottom is vmin, the top vmax
        assert t.y == pytest.approx(BOX[3] - (v + 2.0) / 5.0 * (BOX[3] - BOX[1]))
    (name,) = [it for it in items if isinstance(it, Text) and it.rotation == 90]
    assert name.text == "output 0"
    # an empty range still draws one tick
    flat = dc.decor_items(make(values=scale(1.0, 1.0)), BOX, BOUNDS, (0, 400, 600))
    assert [t.text for t in flat if isinstance(t, Text) and t.rotation == 0] == ["1"]


def test_title_stays_in_the_picture():
    (t,) = dc.decor_items(make(title="short"), BOX, BOUNDS, (0, 400, 600))
    assert (t.x, t.anchor) == (200.0, "middle") and t.y < BOX[1]
    long = "a much longer title than the domain is wide, by far"
    (t,) = dc.decor_items(make(title=long), (10.0, 50.0, 60.0, 100.0), BOUNDS, (0, 400, 600))
    assert t.x - dc.text_width(long, dc.TITLE_SIZE) / 2 >= 0


def test_class_entries_are_swatches():
    entries = [Entry("cat", RED, "patch", section="classes"), Entry("pt", RED, "dot")]
    items = dc.decor_items(make(entries=entries), BOX, BOUNDS, (0, 400, 600))
    assert sum(isinstance(it, Rect) for it in items) == 2  # the frame and one swatch
    assert sum(isinstance(it, Dot) for it in items) == 1
