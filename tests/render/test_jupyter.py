"""Tests of regionscope.render.jupyter: one picture per display, and readable reprs."""

from __future__ import annotations

import numpy as np
import pytest

import regionscope as rs
from regionscope.render import jupyter, svg


def shown(obj) -> dict:
    """What Jupyter would keep: every ``_repr_*_`` that answers."""
    out = {}
    for name in ("_repr_svg_", "_repr_png_", "_repr_html_"):
        method = getattr(obj, name, None)
        if method is not None and method() is not None:
            out[name] = method()
    return out


def test_one_representation_chosen_by_size(quad, monkeypatch):
    assert list(shown(quad)) == ["_repr_svg_"]
    assert jupyter.repr_format(quad) == "svg"
    monkeypatch.setattr(svg, "SVG_REPR_MAX_REGIONS", quad.num_regions - 1)
    assert jupyter.repr_format(quad) == "png"
    (png,) = shown(quad).values()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"


def test_svg_repr_stays_small_up_to_the_limit():
    # a partition just under the limit: its SVG is a few hundred kB, not megabytes
    rng = np.random.default_rng(2)
    net = rs.Sequential(rs.Linear(rng.normal(size=(70, 2)), 0.5 * rng.normal(size=70)), rs.ReLU())
    part = rs.partition(net, rs.Box(1.0))
    assert 1000 < part.num_regions <= svg.SVG_REPR_MAX_REGIONS
    (text,) = shown(part).values()
    assert len(text.encode()) < 150 * svg.SVG_REPR_MAX_REGIONS


def test_1d_partitions_show_their_plot(mlp, monkeypatch):
    pytest.importorskip("matplotlib")
    line = mlp.slice([-1.0, 0.0], [1.0, 0.3])
    (png,) = shown(line).values()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    monkeypatch.setattr(jupyter.importlib.util, "find_spec", lambda name: None)
    assert shown(line) == {}  # without matplotlib: the text repr only


def test_every_domain_has_a_readable_repr(mlp):
    domains = [
        rs.Box(1.0),
        rs.Box(0, 2, 0, 1),
        rs.Polygon([[0, 0], [1, 0], [0, 1]]),
        rs.Plane(np.eye(3)),
        rs.Interval(-1, 2),
        rs.Segment([0.0, 0.0], [1.0, 1.0]),
        mlp.slice([-1.0, 0.0], [1.0, 0.5]).domain,
    ]
    for dom in domains:
        text = repr(dom)
        assert "object at 0x" not in text and text.startswith(type(dom).__name__), text
    assert repr(domains[-1]) == "SliceOf(Box(1.0), p=[-1.0, 0.0], q=[1.0, 0.5])"
    line = mlp.slice([-1.0, 0.0], [1.0, 0.5])
    assert repr(line) == f"<Partition1D of {domains[-1]!r}: {line.num_regions} pieces>"
