"""Tests of regionscope.render.legend: names of layers and classes."""

from __future__ import annotations

import numpy as np
import pytest

import regionscope as rs
from regionscope.render import legend


@pytest.fixture(scope="module")
def three_kinds():
    """ReLU, HardTanh, ReLU, Argmax: layer indices 1, 3, 5, 7."""
    net = rs.Sequential(
        rs.Linear([[1.0, 0.0]]), rs.ReLU(),
        rs.Linear([[1.0], [0.5]]), rs.HardTanh(),
        rs.Linear([[1.0, -1.0]], [0.1]), rs.ReLU(),
        rs.Linear([[1.0], [-1.0]]), rs.Argmax(),
    )  # fmt: skip
    return rs.partition(net, rs.Box(1.0))


def test_layer_labels_number_repeated_types(three_kinds):
    part = three_kinds
    assert part.piecewise_layers == (1, 3, 5, 7)
    labels = [legend.layer_label(part, i) for i in part.piecewise_layers]
    assert labels == ["ReLU 1", "HardTanh", "ReLU 2", "Argmax"]
    # not a piecewise layer, or no such op: still a readable name
    assert legend.layer_label(part, 0) == "Linear"
    assert legend.layer_label(part, 99) == "layer 99"


def test_layer_names_option(three_kinds):
    part = three_kinds
    by_order = ["first", "clip", "second", "vote"]
    assert [legend.layer_label(part, i, by_order) for i in (1, 3, 5, 7)] == by_order
    # a dict by index or by the op's name; other layers keep their default names
    names = {3: "clip", "5": "by name"}
    assert [legend.layer_label(part, i, names) for i in (1, 3, 5)] == ["ReLU 1", "clip", "by name"]
    # a short sequence names the first layers only
    assert legend.layer_label(part, 5, ["a"]) == "ReLU 2"
    with pytest.raises(TypeError, match="layer_names"):
        legend.layer_label(part, 1, "abc")


def test_named_layers_keep_their_names():
    torch = pytest.importorskip("torch")
    model = torch.nn.Sequential()
    model.add_module("hidden", torch.nn.Linear(2, 3))
    model.add_module("act", torch.nn.ReLU())
    part = rs.partition(model.double().eval(), rs.Box(1.0))
    (layer,) = part.piecewise_layers
    assert legend.layer_label(part, layer) == "act (ReLU)"


def test_class_labels():
    assert legend.class_labels(3, None) == ["class 0", "class 1", "class 2"]
    assert legend.class_labels(2, ("no", "yes", "extra")) == ["no", "yes"]
    assert legend.class_labels(3, {1: "one", 7: "ignored"}) == ["class 0", "one", "class 2"]
    assert legend.class_labels(2, np.array(["a", "b"])) == ["a", "b"]
    with pytest.raises(ValueError, match="2 names but the network has 3"):
        legend.class_labels(3, ["a", "b"])
    with pytest.raises(TypeError, match="class_names"):
        legend.class_labels(3, 5)
