"""Tests of regionscope.render.style: option names, defaults and their checks."""

from __future__ import annotations

import numpy as np
import pytest

from regionscope import render
from regionscope.render import style


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


def test_check_style_fills_defaults_without_changing_the_input():
    given = {"size": 300, "alpha": 0.5}
    st = style.check_style(given, "f")
    assert given == {"size": 300, "alpha": 0.5}
    assert set(st) == set(style.STYLE_KEYS)
    assert (st["size"], st["alpha"]) == (300, 0.5)
    assert {k: v for k, v in st.items() if k not in given} == {
        k: v for k, v in style.STYLE_KEYS.items() if k not in given
    }
    with pytest.raises(TypeError, match=r"f\(\) got unknown style option\(s\) \['a', 'b'\]"):
        style.check_style({"b": 1, "a": 2, "size": 3}, "f")


def test_check_int_option():
    for ok in (0, -3, np.int32(4), np.int64(7)):
        style.check_int_option(ok, "output", "an int")
    for bad in (True, 1.0, "1", None):
        with pytest.raises(TypeError, match="output must be an int"):
            style.check_int_option(bad, "output", "an int")


@pytest.mark.parametrize(
    ("option", "value", "error", "match"),
    [
        ("output", 1.0, TypeError, "output must be an int"),
        ("layer", True, TypeError, "layer must be an int layer index"),
        ("precision", 7, ValueError, "precision must be between 0 and 6"),
        ("precision", 2.0, TypeError, "precision must be an int"),
        ("padding", -1, ValueError, "padding must be >= 0"),
        ("edge_width", float("nan"), ValueError, "edge_width must be a finite number"),
        ("decision_width", -1, ValueError, "decision_width must be a finite number"),
        ("size", "big", ValueError, "size must be an int or"),
        ("size", 30000, ValueError, "at most 20000"),
        ("mark_labels", ["a"], ValueError, "mark_labels has 1 labels for 2 marks"),
        ("color_by", 3, TypeError, "color_by must be"),
    ],
)
def test_malformed_options_raise(quad, option, value, error, match):
    extra = {"color_by": "output"} if option == "output" else {}
    if option == "mark_labels":
        extra = {"mark": [[0.1, 0.1], [0.2, 0.2]]}
    with pytest.raises(error, match=match):
        render.to_svg(quad, **{**extra, option: value})
