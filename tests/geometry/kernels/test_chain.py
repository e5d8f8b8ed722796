"""The compiled 2-D chain kernel by hand: the cuts, the hand-over, the statuses."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("numba")

from regionscope.geometry.kernels import chain  # noqa: E402
from regionscope.geometry.mesh import Mesh, decode_source, encode_source  # noqa: E402


def _ro(a):
    out = np.array(a, dtype=np.float64, order="C")
    out.flags.writeable = False
    return out


SQUARE = Mesh.from_polygon(np.array([[-1.0, -1.0], [1.0, -1.0], [1.0, 1.0], [-1.0, 1.0]]))
EMPTY_W, EMPTY_B = _ro(np.zeros((0, 0))), _ro(np.zeros(0))


def _run(weights, biases, relu_mask, bias_mask, relu_ops, most=100, max_regions=100,
         products=10**6, keep_values=False):  # fmt: skip
    n = len(weights)
    ws = tuple(_ro(w) for w in weights) + (EMPTY_W,) * (8 - n)
    bs = tuple(_ro(b) for b in biases) + (EMPTY_B,) * (8 - n)
    return chain.chain_2d(
        ws, bs, n, relu_mask, bias_mask, encode_source(np.array(relu_ops), 0), SQUARE.vertices,
        _ro(np.eye(2)), _ro(np.zeros(2)), SQUARE.vertices, SQUARE.region_vertices,
        SQUARE.region_offsets, SQUARE.incidence_source, 1e-11, 2e-12, 2e-6, 1e-9, 10**6,
        10**6, max_regions, most, products, keep_values,
    )  # fmt: skip


def test_two_layers_by_hand():
    # relu(x), relu(y), then relu(x + y - 0.5): 4 quadrants, 3 of them cut once more
    out = _run([np.eye(2), [[1.0, 1.0]]], [np.zeros(2), [-0.5]], 0b110, 0b10, [1, 3])
    status, done, vertices, rv, offsets, source, res, x, x_relu = out
    assert (status, done, len(offsets) - 1) == (chain.OK, chain.FINISHED, 7)
    layer, unit = decode_source(source)
    assert sorted(set(layer.tolist())) == [-1, 1, 3]  # the boundary, op 1, op 3
    assert set(unit[layer == 1].tolist()) == {0, 1}
    # tolerances: 1e-11 times each unit's largest magnitude at the corners; then the outputs;
    # then the folded map (the identity: rows, then offset)
    np.testing.assert_allclose(res[:3], [1e-11, 1e-11, 2.5e-11])
    np.testing.assert_allclose(res[4:], [1.0, 0.0, 0.0, 1.0, 0.0, 0.0])


def test_kept_values_hand_over_after_the_last_relu():
    """``keep_values``: the same 7 regions, then the last ReLU's input,
    ``relu(x) + relu(y) - 0.5``, at every vertex, new ones included, for the layers after
    the chain."""
    args = ([np.eye(2), [[1.0, 1.0]]], [np.zeros(2), [-0.5]], 0b110, 0b10, [1, 3])
    plain = _run(*args)
    status, done, vertices, rv, offsets, source, res, x, x_relu = _run(*args, keep_values=True)
    assert (status, done, x_relu) == (chain.OK, 2, 1)
    for a, b in zip((vertices, rv, offsets, source, res), plain[2:7], strict=True):
        np.testing.assert_array_equal(a, b)
    assert x.shape == (len(vertices), 1)
    want = np.maximum(vertices, 0.0).sum(axis=1) - 0.5
    np.testing.assert_allclose(x[:, 0], want, rtol=0, atol=1e-15)
    assert np.isclose(x[:, 0], 0.0, atol=1e-15).sum() == 4  # the cut's four new vertices


def test_kept_values_are_the_chains_output_after_its_last_linear_layer():
    """relu(x), relu(y), then the Linear layer (relu(x) + relu(y) - 0.5, relu(x) - relu(y))
    after the last ReLU: its outputs at the quadrants' 9 vertices, as the next layer's
    input (``x_relu == done``); past the product limit, the ReLU's input instead."""
    args = ([np.eye(2), [[1.0, 1.0], [1.0, -1.0]]], [np.zeros(2), [-0.5, 0.0]], 0b010, 0b10,
            [1])  # fmt: skip
    status, done, vertices, rv, offsets, source, res, x, x_relu = _run(*args, keep_values=True)
    assert (status, done, x_relu, len(offsets) - 1) == (chain.OK, 1, 1, 4)
    r = np.maximum(vertices, 0.0)
    np.testing.assert_array_equal(x, np.stack([r[:, 0] + r[:, 1] - 0.5, r[:, 0] - r[:, 1]], 1))
    # 9 vertices times 2 inputs times 2 outputs: 36 multiply-adds, over 30
    out = _run(*args, keep_values=True, products=30)
    assert out[1] == 1 and out[8] == 0
    np.testing.assert_array_equal(out[7], out[2])  # the ReLU's input: the identity's


def test_a_large_mesh_is_handed_over_before_its_layer():
    out = _run([np.eye(2), [[1.0, 1.0]]], [np.zeros(2), [-0.5]], 0b110, 0b10, [1, 3], most=3)
    status, done, vertices, rv, offsets, source, res, x, x_relu = out
    assert (status, done, len(offsets) - 1) == (chain.OK, 1, 4)  # the quadrants only
    # handed over before the second Linear layer: x is the first ReLU's input, x and y
    assert x_relu == 0
    np.testing.assert_array_equal(x, vertices)


def test_past_the_limit_it_hands_over():
    out = _run([np.eye(2), [[1.0, 1.0]]], [np.zeros(2), [-0.5]], 0b110, 0b10, [1, 3],
               max_regions=5)  # fmt: skip
    assert out[:2] == (chain.OK, 1) and len(out[4]) - 1 == 4


def test_widths_that_do_not_follow():
    out = _run([np.eye(2), [[1.0, 1.0, 1.0]]], [np.zeros(2), [0.0]], 0b110, 0b10, [1, 3])
    assert out[0] == chain.MISMATCH


def test_a_wide_product_is_handed_over():
    # the quadrants' 9 vertices times 2 inputs times 1 output: 18 multiply-adds, over 10
    out = _run([np.eye(2), [[1.0, 1.0]]], [np.zeros(2), [-0.5]], 0b110, 0b10, [1, 3],
               products=10)  # fmt: skip
    status, done, vertices, rv, offsets, source, res, x, x_relu = out
    assert (done, x_relu, len(offsets) - 1) == (1, 0, 4)
    np.testing.assert_array_equal(x, vertices)  # the first ReLU's input: the identity's


def test_between_two_linear_layers_it_holds_no_values():
    # x, y -> ReLU -> Linear (2 -> 1) -> Linear (1 -> 3) -> ReLU: 9 vertices times 2 times 1
    # multiply-adds (18) pass, 9 times 1 times 3 (27) do not, where x is no ReLU's input
    out = _run([np.eye(2), [[1.0, 1.0]], [[1.0], [2.0], [-1.0]]],
               [np.zeros(2), np.zeros(1), [-0.5, 0.0, 0.5]], 0b1010, 0b101, [1, 4],
               products=20)  # fmt: skip
    status, done, vertices, rv, offsets, source, res, x, x_relu = out
    assert (done, x_relu) == (1, -1)
