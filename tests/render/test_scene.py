"""Tests of regionscope.render.scene: picture frame, line widths, drawing passes, ticks."""

from __future__ import annotations

import math

import numpy as np
import pytest

import regionscope as rs
from regionscope.render import scene as sc


def test_picture_size_from_width_or_pair():
    box = (0.0, 2.0, 0.0, 1.0)
    # a width: the height follows the aspect ratio of the area inside the padding
    assert sc.picture_size(300, box, (4, 4, 4, 4)) == (300, 4 + 146 + 4)
    assert sc.picture_size(np.int64(100), box, (10, 0, 3, 5)) == (100, 45 + 8)
    assert sc.picture_size(None, box, (0, 0, 0, 0)) == (sc.DEFAULT_WIDTH, sc.DEFAULT_WIDTH // 2)
    assert sc.picture_size((80, 60), box, (0, 0, 0, 0)) == (80, 60)
    assert sc.picture_size(["80", 61.9], box, (0, 0, 0, 0)) == (80, 61)
    assert sc.picture_size((10, 10), box, (4, 4, 4, 4)) == (10, 10)  # 2 x 2 pixels are left
    with pytest.raises(ValueError, match="at least 2 pixels"):
        sc.picture_size((9, 10), box, (4, 4, 4, 4))
    with pytest.raises(ValueError, match="int or"):
        sc.picture_size(True, box, (0, 0, 0, 0))


def test_place_domain_centres_and_keeps_aspect():
    # 2 x 1 domain in a square: full width, centred vertically
    frame = sc.place_domain((400, 400), (0.0, 2.0, 0.0, 1.0), 0, False)
    assert frame == (400, 400, 200.0, 0.0, 300.0)
    # padding shrinks the room; the domain's centre stays at the room's centre
    frame = sc.place_domain((300, 300), (-1.0, 3.0, 5.0, 6.0), 10, False)
    assert frame.scale == pytest.approx(280 / 4)
    assert frame.x0 + frame.scale * 1.0 == pytest.approx(150)
    assert frame.y0 - frame.scale * 5.5 == pytest.approx(150)
    # axes leave their margins on each side
    left, right, top, bottom = sc.AXES_MARGINS
    frame = sc.place_domain((500, 300), (0.0, 1.0, 0.0, 1.0), 0, True)
    room = (500 - left - right, 300 - top - bottom)
    assert frame.scale == min(room)
    assert frame.x0 == pytest.approx(left + 0.5 * room[0] - 0.5 * frame.scale)
    assert frame.y0 == pytest.approx(top + 0.5 * room[1] + 0.5 * frame.scale)
    with pytest.raises(ValueError, match="padding"):
        sc.place_domain(100, (0.0, 1.0, 0.0, 1.0), -1, False)


def test_line_widths_follow_region_density():
    lo, hi = sc.EDGE_WIDTH_RANGE
    # an average region of 10 x 10 pixels: 0.2 x 10 = 2 px, clipped to the range
    assert sc.line_widths(None, None, 2.5, 100.0)[0] == hi
    assert sc.line_widths(None, None, 2.5, 0.01)[0] == lo
    ew, bw, dw = sc.line_widths(None, None, 2.5, 16.0)
    assert ew == pytest.approx(sc.EDGE_WIDTH_PER_REGION_SIDE * 4.0)
    assert bw == pytest.approx(max(1.5 * ew, 1.0)) and dw == 2.5
    assert sc.line_widths(None, None, 1, 0.01)[1] == 1.0  # boundary at least 1 px
    # given widths are kept as given
    assert sc.line_widths(0.3, 4, 0, 1e9) == (0.3, 4.0, 0.0)
    for args in ((-1, None, 1), (None, math.inf, 1), (None, None, math.nan)):
        with pytest.raises(ValueError, match="finite number >= 0"):
            sc.line_widths(*args, 100.0)


def test_nice_ticks_steps_and_ends():
    np.testing.assert_allclose(sc.nice_ticks(0.0, 2.0), [0.0, 0.5, 1.0, 1.5, 2.0])
    np.testing.assert_allclose(sc.nice_ticks(-1.0, 1.0), [-1.0, -0.5, 0.0, 0.5, 1.0])
    np.testing.assert_allclose(sc.nice_ticks(0.0, 0.3), [0.0, 0.1, 0.2, 0.3])
    np.testing.assert_allclose(sc.nice_ticks(3.0, 1003.0), [200.0, 400.0, 600.0, 800.0, 1000.0])
    rng = np.random.default_rng(0)
    for _ in range(200):
        lo = rng.uniform(-100, 100)
        hi = lo + 10 ** rng.uniform(-3, 3)
        ticks = sc.nice_ticks(lo, hi)
        step = ticks[1] - ticks[0]
        assert 2 <= len(ticks) <= 11
        # steps are 1, 2 or 5 times a power of ten, ticks are multiples of the step
        nice = [m * 10.0**e for m in (1.0, 2.0, 5.0) for e in range(-5, 4)]
        assert any(step == pytest.approx(v, rel=1e-6) for v in nice), step
        np.testing.assert_allclose(np.diff(ticks), step, rtol=1e-9)
        np.testing.assert_allclose(ticks / step, np.round(ticks / step), atol=1e-6)
        assert ticks[0] >= lo - step * 1e-6 and ticks[-1] <= hi + step * 1e-6
        assert ticks[0] - step < lo and ticks[-1] + step > hi  # none missing


def test_nice_ticks_keep_the_ends_despite_rounding():
    # 0.3 / 0.1 is 2.9999999999999996: the tick at the upper end is still there
    assert 0.3 / 0.1 < 3
    np.testing.assert_allclose(sc.nice_ticks(0.0, 0.3), [0.0, 0.1, 0.2, 0.3])
    # -2.9 / 0.05 is -57.99999999999999: the tick at the lower end is still there
    assert -2.9 / 0.05 > -58
    np.testing.assert_allclose(sc.nice_ticks(-2.9, -2.8), [-2.9, -2.85, -2.8])


def test_tick_text():
    assert [sc.tick_text(v) for v in (0.0, -0.0, 1.0, -2.5, 0.1 + 0.2)] == [
        "0",
        "0",
        "1",
        "-2.5",
        "0.3",
    ]
    assert sc.tick_text(-1e-17) == "-1e-17"


def test_scene_passes_in_drawing_order(mlp):
    scene = sc.build_scene(mlp, {}, "test")
    assert [lines.kind for lines in scene.lines] == ["edges", "boundary", "decision"]
    edges, boundary, decision = scene.lines
    interior = mlp.edge_layer >= 0
    dec = mlp.decision_boundary() & interior
    assert len(edges.p0) == int((interior & ~dec).sum()) and len(decision.p0) == int(dec.sum())
    # group is the layer of each edge, one legend entry per layer
    assert sorted(set(edges.group.tolist())) == sorted(set(mlp.edge_layer[interior & ~dec]))
    assert len(edges.legend) == len(set(edges.group.tolist()))
    assert decision.legend[0][0] == "decision boundary"
    np.testing.assert_allclose(boundary.p0, mlp.domain.polygon)
    np.testing.assert_allclose(boundary.p1, np.roll(mlp.domain.polygon, -1, axis=0))
    assert edges.width < boundary.width < decision.width


def test_scene_selected_layer(mlp):
    layer = mlp.piecewise_layers[1]
    scene = sc.build_scene(mlp, {"layer": layer, "decision": False}, "test")
    kinds = [lines.kind for lines in scene.lines]
    assert kinds == ["other", "edges", "boundary"]
    other, mine = scene.lines[:2]
    assert len(mine.p0) == int((mlp.edge_layer == layer).sum())
    interior = mlp.edge_layer >= 0
    assert len(other.p0) == int((interior & (mlp.edge_layer != layer)).sum())
    # a unit's edges share a colour, listed as "neuron n" in the legend
    neurons = mlp.edge_neuron[mlp.edge_layer == layer]
    assert [label for label, _ in mine.legend] == [f"neuron {n}" for n in np.unique(neurons)]
    assert mine.group is None
    # other_edges="none" hides the other layers
    scene = sc.build_scene(mlp, {"layer": layer, "other_edges": "none"}, "test")
    assert "other" not in [lines.kind for lines in scene.lines]


def test_scene_marks_and_vertices(quad):
    style = {"mark": [[0.5, 0.5], [1.5, 0.5]], "mark_color": np.array([0, 1]), "vertices": True}
    scene = sc.build_scene(quad, style, "test")
    np.testing.assert_array_equal(scene.mark_xy, [[0.5, 0.5], [1.5, 0.5]])
    assert scene.mark_rgba.shape == (2, 4) and not np.array_equal(*scene.mark_rgba)
    assert scene.mark_labels is None
    np.testing.assert_array_equal(scene.vertex_xy, quad.vertices)
    scene = sc.build_scene(quad, {"mark": [1.0, 0.5], "mark_color": [(0.0, 0.0, 1.0)]}, "test")
    assert scene.mark_xy.shape == (1, 2) and scene.mark_rgba.tolist() == [[0.0, 0.0, 1.0, 1.0]]
    with pytest.raises(ValueError, match="finite"):
        sc.build_scene(quad, {"mark": [[np.nan, 0.0]]}, "test")


def test_scene_marks_on_a_plane_are_projected():
    pts = np.array([[0.0, 0.0, 1.0], [1.0, 0.0, 0.0], [0.0, 2.0, 0.0]])
    net = rs.Sequential(rs.Linear([[1.0, -1.0, 0.5], [0.2, 1.0, -1.0]]), rs.ReLU())
    part = rs.partition(net, rs.Plane(pts))
    scene = sc.build_scene(part, {"mark": True}, "test")
    np.testing.assert_allclose(scene.mark_xy, part.domain.projected)
    assert scene.mark_labels == ["0", "1", "2"]
    one = sc.build_scene(part, {"mark": pts[1]}, "test")  # a single input of R^3
    np.testing.assert_allclose(one.mark_xy, part.domain.projected[1:2])
