"""Compiled programs: stable names, registers, extension."""

from __future__ import annotations

import numpy as np
import pytest

import regionscope as rs
from regionscope.network.program import compile_model


def test_names_do_not_change_when_layers_are_added():
    net = rs.Sequential(rs.Linear(np.eye(2)), rs.ReLU())
    prog = compile_model(net, 2)
    longer = prog.extend(rs.Linear([[1.0, 1.0]]), rs.ReLU())
    assert [op.name for op in longer.ops][:2] == [op.name for op in prog.ops] == ["0", "1"]
    assert [op.name for op in longer.ops] == ["0", "1", "2", "3"]
    assert longer.layers == (*net.layers, *longer.layers[2:])


def test_a_graph_in_first_place_keeps_its_node_names_after_extension():
    g = rs.Graph([("fc", rs.Linear(np.eye(2)), ["input"]), ("act", rs.ReLU(), ["fc"])], "act")
    prog = compile_model(rs.Sequential(g), 2)
    assert [op.name for op in prog.ops] == ["fc", "act"]
    assert [op.name for op in prog.extend(rs.Linear([[1.0, 0.0]])).ops] == ["fc", "act", "1"]


def test_partition_add_keeps_names_usable():
    part = rs.partition(rs.Sequential(rs.Linear(np.eye(2)), rs.ReLU()), rs.Box(1.0))
    more = part.add(rs.Linear([[1.0, -1.0]]), rs.ReLU())
    np.testing.assert_array_equal(
        more.activation_patterns("1")[more.locate(part.centroids())],
        part.activation_patterns("1"),
    )
    assert [op.name for op in more.layers] == ["0", "1", "2", "3"]


def test_empty_model_is_the_identity():
    prog = compile_model(rs.Sequential(), 3)
    x = np.arange(6.0).reshape(2, 3)
    np.testing.assert_array_equal(prog.run(x), x)
    assert prog.layers == () and prog.piecewise == ()


def test_registers_and_widths():
    net = rs.Sequential(rs.Linear(np.ones((4, 2))), rs.ReLU(), rs.Linear(np.ones((3, 4))))
    prog = compile_model(net, 2)
    assert prog.max_width == 4
    assert [prog.register_width(op.output) for op in prog.ops] == [4, 4, 3]
    with pytest.raises(ValueError, match="unknown register"):
        prog.register_width(99)
