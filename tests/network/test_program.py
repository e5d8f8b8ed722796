"""Compiled programs: stable names, registers, extension."""

from __future__ import annotations

import dataclasses
import gc
import weakref

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import regionscope as rs
from regionscope.network.program import Op, compile_model


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


# -- compiled once per flat model ---------------------------------------------------------


def _op_fields(op):
    return {f.name: getattr(op, f.name) for f in dataclasses.fields(op)}


def test_a_flat_model_compiles_once_while_its_program_lives():
    lin, relu = rs.Linear(np.ones((3, 2))), rs.ReLU()
    first = compile_model(rs.Sequential(lin, relu), 2)
    # a new Sequential of the same layer objects (what rs.partition builds each call)
    assert compile_model(rs.Sequential(lin, relu), 2) is first
    assert compile_model(lin, 2) is not first  # other layers: another program
    assert compile_model(rs.Sequential(lin, relu, rs.Linear(np.ones((1, 3)))), 2) is not first
    with pytest.raises(ValueError, match=r"layer 0 \(0: Linear\).*width 2 .*got width 3"):
        compile_model(rs.Sequential(lin, relu), 3)  # another input width: checked afresh


def test_the_program_cache_keeps_no_program_alive():
    net = rs.Sequential(rs.Linear(np.ones((3, 2))), rs.ReLU())
    ref = weakref.ref(compile_model(net, 2))
    gc.collect()
    assert ref() is None
    assert compile_model(net, 2).out_width == 3


def test_a_reassigned_weight_is_compiled_afresh():
    lin = rs.Linear(np.ones((3, 2)))
    net = rs.Sequential(lin, rs.ReLU())
    first = compile_model(net, 2)
    lin.weight = np.ones((4, 2))  # attributes can be reassigned: the widths are checked again
    again = compile_model(net, 2)
    assert again is not first
    assert (first.out_width, again.out_width) == (3, 4)
    assert [op.out_width for op in again.ops] == [4, 4]
    lin.weight = np.ones((4, 5))
    with pytest.raises(ValueError, match=r"layer 0 \(0: Linear\).*width 5 .*got width 2"):
        compile_model(net, 2)


def test_nested_models_compile_afresh_each_time():
    inner = rs.Sequential(rs.Linear(np.ones((3, 2))), rs.ReLU())
    net = rs.Sequential(inner, rs.Linear(np.ones((1, 3))))
    a, b = compile_model(net, 2), compile_model(net, 2)
    assert a is not b and a == b
    inner.layers = (rs.Linear(np.ones((5, 2))), rs.ReLU())  # a container's inside changed
    with pytest.raises(ValueError, match=r"layer 2 \(1: Linear\)"):
        compile_model(net, 2)


def test_compiled_ops_are_plain_frozen_ops():
    net = rs.Sequential(
        rs.Residual(rs.Sequential(rs.Linear(np.eye(2)), rs.ReLU())), rs.Linear(np.ones((1, 2)))
    )
    for program in (compile_model(net, 2), compile_model(rs.Sequential(*net.layers[1:]), 2)):
        for op in program.ops:
            rebuilt = Op(**_op_fields(op))
            assert rebuilt == op and hash(rebuilt) == hash(op) and vars(rebuilt) == vars(op)
            assert dataclasses.replace(op, name="x").name == "x"
            with pytest.raises(dataclasses.FrozenInstanceError):
                op.index = 7  # type: ignore[misc]


@settings(max_examples=50, deadline=None)
@given(st.lists(st.sampled_from(["linear", "relu", "leaky", "hardtanh", "pool"]), max_size=7),
       st.integers(2, 4), st.integers(0, 10**6))  # fmt: skip
def test_property_flat_models_compile_as_nested_ones(kinds, in_width, seed):
    rng = np.random.default_rng(seed)
    layers, width = [], in_width
    for kind in kinds:
        if kind == "linear":
            out = int(rng.integers(2, 5)) * 2
            layers.append(rs.Linear(rng.normal(size=(out, width))))
            width = out
        elif kind == "pool":
            assume(width % 2 == 0)
            layers.append(rs.MaxPool(np.arange(width).reshape(-1, 2)))
            width //= 2
        else:
            layers.append({"relu": rs.ReLU(), "leaky": rs.LeakyReLU(0.2),
                           "hardtanh": rs.HardTanh()}[kind])  # fmt: skip
    flat = compile_model(rs.Sequential(*layers), in_width)
    # the general compiler (a Sequential inside is never flat): the same program but names
    nested = compile_model(rs.Sequential(rs.Sequential(*layers)), in_width)
    assert [op.name for op in nested.ops] == [f"0.{i}" for i in range(len(layers))] or not layers
    renamed = [dataclasses.replace(op, name=str(op.index)) for op in nested.ops]
    if layers:
        assert list(flat.ops) == renamed
        assert flat.frees == nested.frees and flat.layers == tuple(layers)
    assert (flat.in_width, flat.out_register, flat.out_width) == (
        nested.in_width, nested.out_register, nested.out_width)  # fmt: skip
    assert flat.out_width == width


def test_flat_models_name_the_layer_that_does_not_fit():
    net = rs.Sequential(rs.Linear(np.ones((3, 2))), rs.ReLU(), rs.Linear(np.ones((1, 4))))
    with pytest.raises(ValueError, match=r"^layer 2 \(2: Linear\): Linear expects inputs of wid"):
        compile_model(net, 2)
    with pytest.raises(TypeError, match=r"^layer 1 \(1\) is a str, not a regionscope layer"):
        compile_model(_Bare((rs.ReLU(), "relu")), 2)
    with pytest.raises(ValueError, match=r"^layer 1 \(1: Add\) needs at least 2 inputs, got 1"):
        compile_model(rs.Sequential(rs.ReLU(), rs.Add()), 2)


class _Bare(rs.Sequential):
    """A Sequential whose layers are not checked (to reach the compiler's own check)."""

    def __init__(self, layers):
        self.layers = tuple(layers)


def test_a_dead_program_leaves_its_successor_cached():
    lin = rs.Linear(np.ones((3, 2)))
    net = rs.Sequential(lin, rs.ReLU())
    old = compile_model(net, 2)
    lin.weight = np.ones((4, 2))
    new = compile_model(net, 2)  # the same layers, so the same key: it replaces the old one
    del old
    gc.collect()
    assert compile_model(net, 2) is new
