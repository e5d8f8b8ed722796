"""Affine maps composed exactly (``forward_linear``, ``Evaluator.affine_maps``) against
forward passes, at any scale of the domain."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import regionscope as rs
from regionscope.network.conv import (
    AdaptiveAvgPool,
    AvgPool,
    AxisLinear,
    ChannelAffine,
    Conv,
    ElementwiseAffine,
    Flatten,
    PReLU,
    Reshape,
    maxpool_groups,
)
from regionscope.network.evaluate import Evaluator
from regionscope.network.layers import (
    Add,
    Argmax,
    Concat,
    Graph,
    HardTanh,
    Identity,
    LeakyReLU,
    Linear,
    MaxPool,
    ReLU,
    Residual,
    Sequential,
)
from regionscope.network.program import compile_model
from regionscope.testing import interior_points, random_mlp


def _linear(rng: np.random.Generator, n_in: int, n_out: int, scale: float = 1.0) -> Linear:
    bound = scale / np.sqrt(n_in)
    return Linear(rng.uniform(-bound, bound, (n_out, n_in)), rng.uniform(-bound, bound, n_out))


def _points_1d(part: rs.Partition1D, n: int = 3, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``n`` random points strictly inside every piece: ``(points (F*n, 1), piece (F*n,))``."""
    rng = np.random.default_rng(seed)
    owner = np.repeat(np.arange(part.num_regions), n)
    t = rng.uniform(0.1, 0.9, len(owner))
    pts = part.points[owner] + t * (part.points[owner + 1] - part.points[owner])
    return pts[:, None], owner


def _check_maps(part, pts: np.ndarray, owner: np.ndarray, rtol: float = 1e-9) -> None:
    """Every layer's maps at the points equal a plain forward pass there."""
    for layer in range(len(part.layers)):
        a, c = part.affine_maps(layer)
        assert a.shape == (part.num_regions, part.layers[layer].out_width, pts.shape[1])
        assert c.shape == a.shape[:2]
        mapped = np.einsum("fwd,fd->fw", a[owner], pts) + c[owner]
        direct = part.region_values(pts, layer)
        scale = max(1.0, float(np.abs(direct).max()))
        err = float(np.abs(mapped - direct).max())
        assert err <= rtol * scale, f"layer {layer}: maps differ from the forward pass by {err}"


def _check_2d(part, rtol: float = 1e-9) -> None:
    pts, owner = interior_points(part, n=3, seed=1)
    _check_maps(part, pts, owner, rtol)


# ------------------------------------------------------------------ the reported case


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_maps_on_a_huge_box_are_the_rescaled_maps(seed):
    """Box(1e12) with first-layer weights times 1e-12 is the same function of u / 1e12: its
    maps are those on Box(1) with A scaled by 1e-12, to rounding (finite differences with a
    step of 1 were off by about 1e-4)."""
    net = random_mlp([2, 16, 16, 3], seed)
    first = net.layers[0]
    scaled = Sequential(Linear(first.weight * 1e-12, first.bias), *net.layers[1:])
    small = rs.partition(net, rs.Box(1.0))
    huge = rs.partition(scaled, rs.Box(1e12))
    assert small.num_regions == huge.num_regions
    keys_small, keys_huge = small.pattern_keys(), huge.pattern_keys()
    order = np.argsort(keys_huge)
    match = order[np.searchsorted(keys_huge[order], keys_small)]
    assert np.array_equal(keys_huge[match], keys_small)
    for layer in small.piecewise_layers + (len(small.layers) - 1,):
        a1, c1 = small.affine_maps(layer)
        a2, c2 = huge.affine_maps(layer)
        a2, c2 = a2[match], c2[match]
        scale_a = float(np.abs(a1).max()) * 1e-12
        assert np.abs(a2 - a1 * 1e-12).max() <= 1e-12 * scale_a
        assert np.abs(c2 - c1).max() <= 1e-12 * max(float(np.abs(c1).max()), 1e-300)


def test_huge_box_maps_match_the_forward_pass():
    net = random_mlp([2, 8, 8, 2], 3)
    first = net.layers[0]
    scaled = Sequential(Linear(first.weight * 1e-12, first.bias), *net.layers[1:])
    part = rs.partition(scaled, rs.Box(1e12))
    _check_2d(part, rtol=1e-12)


# ------------------------------------------------------------------ maps = forward passes


def _leaky(rng):
    return Sequential(
        _linear(rng, 2, 6), LeakyReLU(0.1), _linear(rng, 6, 5), LeakyReLU(-0.3), _linear(rng, 5, 2)
    )


def _hardtanh(rng):
    return Sequential(_linear(rng, 2, 6, 3.0), HardTanh(-0.5, 0.5), _linear(rng, 6, 3))


def _residual(rng):
    block = Sequential(_linear(rng, 4, 4), ReLU(), _linear(rng, 4, 4))
    return Sequential(_linear(rng, 2, 4), ReLU(), Residual(block), ReLU(), _linear(rng, 4, 2))


def _graph(rng):
    nodes = [
        ("a", _linear(rng, 2, 3), ["input"]),
        ("r", ReLU(), ["a"]),
        ("cat", Concat(), ["input", "r"]),
        ("l", _linear(rng, 5, 2), ["cat"]),
        ("s", Add(), ["l", "input"]),
        ("h", HardTanh(-0.4, 0.6), ["s"]),
    ]
    return Graph(nodes, output="h")


NETWORKS = {
    "relu": lambda rng: random_mlp([2, 8, 8, 2], 5),
    "leaky": _leaky,
    "hardtanh": _hardtanh,
    "maxout": lambda rng: random_mlp([2, 5, 4], 6, maxout=3),
    "argmax": lambda rng: random_mlp([2, 8, 4], 7, argmax=True),
    "residual": _residual,
    "graph": _graph,
}


@pytest.mark.parametrize("name", sorted(NETWORKS))
def test_maps_match_forward_pass_on_box(name):
    net = NETWORKS[name](np.random.default_rng(11))
    _check_2d(rs.partition(net, rs.Box(1.5)))


def _conv_net(rng):
    shape = (1, 4, 4)
    return Sequential(
        Conv(rng.normal(size=(3, 1, 3, 3)), rng.normal(size=3), in_shape=shape, padding=1),
        ChannelAffine(rng.uniform(0.5, 2, 3), rng.normal(size=3), in_shape=(3, 4, 4)),
        ReLU(),
        AvgPool((3, 4, 4), kernel=2),
        ElementwiseAffine(rng.uniform(-2, 2, (3, 2, 2)), -0.1, in_shape=(3, 2, 2)),
        PReLU(rng.uniform(0, 0.5, 3), in_shape=(3, 2, 2)),
        MaxPool(maxpool_groups((3, 2, 2), kernel=2)),
        Flatten((3, 1, 1)),
        _linear(rng, 3, 2),
    )


def test_maps_match_forward_pass_on_a_plane_through_images():
    rng = np.random.default_rng(3)
    plane = rs.Plane(rng.normal(size=(3, 1, 4, 4)))
    part = rs.partition(_conv_net(rng), plane)
    assert part.num_regions > 1
    _check_2d(part)
    # the plane's lift is affine: the first layer's map is the convolution of the lift's
    a, c = part.affine_maps(0)
    conv = part.layers[0].layer
    np.testing.assert_allclose(a[0], conv.forward_linear(plane.basis).T, rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(c[0], conv.forward(plane.origin[None])[0], rtol=1e-13, atol=1e-13)


def test_maps_match_forward_pass_on_an_interval():
    part = rs.partition(random_mlp([1, 8, 8, 2], 8), rs.Interval(-2.0, 3.0))
    assert part.num_regions > 1
    _check_maps(part, *_points_1d(part))


def test_maps_match_forward_pass_on_a_segment():
    rng = np.random.default_rng(4)
    net = Sequential(_linear(rng, 3, 8), HardTanh(), _linear(rng, 8, 6), ReLU(), Argmax())
    part = rs.partition(net, rs.Segment(rng.normal(size=3), rng.normal(size=3)))
    assert part.num_regions > 1
    _check_maps(part, *_points_1d(part))


def test_maps_match_forward_pass_on_a_slice_of_a_plane():
    rng = np.random.default_rng(5)
    part = rs.partition(random_mlp([5, 8, 2], 9), rs.Plane(rng.normal(size=(3, 5))))
    xmin, xmax, ymin, ymax = part.domain.bounds
    line = part.slice([0.9 * xmin, 0.8 * ymin], [0.9 * xmax, 0.7 * ymax])
    assert line.num_regions > 1
    _check_maps(line, *_points_1d(line))


class _Doubled(rs.Box):
    """A domain whose lift (``2 u + 1``) regionscope knows only as a function."""

    def lift(self, u):
        return 2.0 * super().lift(u) + 1.0


def test_maps_of_an_unknown_domain_come_from_its_lift():
    part = rs.partition(random_mlp([2, 6, 6, 2], 10), _Doubled(1.0))
    _check_2d(part)
    a, _ = part.affine_maps(0)
    np.testing.assert_allclose(a[0], 2.0 * part.layers[0].layer.weight, rtol=1e-15)


@settings(max_examples=25, deadline=None)
@given(
    hidden=st.lists(st.integers(1, 8), min_size=1, max_size=3),
    seed=st.integers(0, 2**31 - 1),
    kind=st.sampled_from(["relu", "maxout", "argmax"]),
    half_width=st.sampled_from([0.25, 1.0, 4.0]),
)
def test_maps_match_forward_pass_random_networks(hidden, seed, kind, half_width):
    widths = [2, *hidden] + ([3] if kind == "argmax" else [])
    net = random_mlp(widths, seed, argmax=kind == "argmax", maxout=2 if kind == "maxout" else 0)
    _check_2d(rs.partition(net, rs.Box(half_width)))


# ------------------------------------------------------------------ the evaluator's maps


def test_maps_do_not_depend_on_the_chunk_budget():
    part = rs.partition(random_mlp([2, 8, 8, 3], 12), rs.Box(1.0))
    a, c = part.affine_maps()
    pats = part.activation_patterns()
    index = len(part.layers) - 1
    with rs.budget(chunk_values=50):
        a2, c2 = part.affine_maps()
        ev = Evaluator(part.program, part.domain.lift, part.domain.polygon)
        a3, c3 = ev.affine_maps(index, pats, np.eye(2), np.zeros(2))
    np.testing.assert_array_equal(a, a2)
    np.testing.assert_array_equal(c, c2)
    np.testing.assert_array_equal(a, a3)
    np.testing.assert_array_equal(c, c3)


def test_maps_of_chosen_regions_and_layers():
    part = rs.partition(random_mlp([2, 8, 8, 3], 13), rs.Box(1.0))
    a, c = part.affine_maps(1)
    sub_a, sub_c = part.affine_maps("1", regions=[3, 0, 3])
    np.testing.assert_array_equal(sub_a, a[[3, 0, 3]])
    np.testing.assert_array_equal(sub_c, c[[3, 0, 3]])
    none_a, none_c = part.affine_maps(regions=[])
    assert none_a.shape == (0, 3, 2) and none_c.shape == (0, 3)
    with pytest.raises(ValueError, match="regions must be in"):
        part.affine_maps(regions=[part.num_regions])


def test_evaluator_maps_without_piecewise_layers():
    net = Sequential(Linear([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], [1.0, 0.0, -1.0]))
    square = np.array([[-1.0, -1.0], [1.0, -1.0], [1.0, 1.0], [-1.0, 1.0]])
    ev = Evaluator(compile_model(net, 2), lambda u: u, square)
    a, c = ev.affine_maps(0, {}, [[2.0, 0.0], [0.0, 1.0]], [1.0, 1.0], num_regions=2)
    np.testing.assert_array_equal(a[1], net.layers[0].weight * [2.0, 1.0])
    np.testing.assert_array_equal(c[1], [4.0, 7.0, 10.0])
    with pytest.raises(ValueError, match="num_regions"):
        ev.affine_maps(0, {}, np.eye(2), np.zeros(2))
    with pytest.raises(ValueError, match="lift's map"):
        ev.affine_maps(0, {}, np.eye(3), np.zeros(3), num_regions=1)


def test_evaluator_maps_need_every_pattern():
    ev = Evaluator(compile_model(random_mlp([2, 3], 0), 2), lambda u: u, np.eye(2))
    with pytest.raises(ValueError, match="pattern of layer 1"):
        ev.affine_maps(1, {}, np.eye(2), np.zeros(2), num_regions=1)


# ------------------------------------------------------------------ linear parts of layers


def _affine_layers():
    rng = np.random.default_rng(0)
    img = (2, 5, 4)
    n_img = 40
    return [
        (Linear(rng.normal(size=(3, 4)), rng.normal(size=3)), [4]),
        (Linear(rng.normal(size=(3, 4))), [4]),
        (Identity(), [4]),
        (Add(), [4, 4, 4]),
        (Concat(), [3, 5]),
        (Sequential(Linear(rng.normal(size=(3, 4)), rng.normal(size=3)), Identity()), [4]),
        (Residual(Linear(rng.normal(size=(4, 4)), rng.normal(size=4))), [4]),
        (
            Graph(
                [
                    ("a", Linear(rng.normal(size=(4, 4)), rng.normal(size=4)), ["input"]),
                    ("s", Add(), ["input", "a"]),
                ],
                output="s",
            ),
            [4],
        ),
        (Conv(rng.normal(size=(3, 2, 3, 2)), rng.normal(size=3), in_shape=img), [n_img]),
        (
            Conv(
                rng.normal(size=(4, 1, 2, 2)),
                rng.normal(size=4),
                in_shape=img,
                stride=2,
                padding=1,
                dilation=(1, 2),
                groups=2,
            ),
            [n_img],
        ),
        (Conv(rng.normal(size=(2, 2, 3)), rng.normal(size=2), in_shape=(2, 6)), [12]),
        (ChannelAffine(rng.normal(size=2), rng.normal(size=2), in_shape=img), [n_img]),
        (ElementwiseAffine(rng.normal(size=img), rng.normal(size=img), in_shape=img), [n_img]),
        (ElementwiseAffine(2.0, -1.0, in_shape=img), [n_img]),
        (AxisLinear([None, rng.normal(size=(2, 5)), None], in_shape=img, scale=0.5), [n_img]),
        (AvgPool(img, kernel=2, padding=1, count_include_pad=False), [n_img]),
        (AdaptiveAvgPool(img, (3, 2)), [n_img]),
        (Reshape(img, (n_img,)), [n_img]),
        (Flatten(img), [n_img]),
    ]


@pytest.mark.parametrize("case", range(len(_affine_layers())))
def test_forward_linear_is_forward_minus_forward_at_zero(case):
    layer, widths = _affine_layers()[case]
    rng = np.random.default_rng(case)
    xs = [rng.normal(size=(5, w)) * 10.0 ** rng.integers(-3, 4, size=(5, 1)) for w in widths]
    zeros = [np.zeros((1, w)) for w in widths]
    got = layer.forward_linear(*xs)
    want = layer.forward(*xs) - layer.forward(*zeros)
    assert got.shape == want.shape
    scale = float(np.abs(layer.forward(*xs)).max()) + 1.0
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-13 * scale)


def _piecewise_layers(rng):
    groups = maxpool_groups((2, 3, 3), kernel=2, padding=1)
    sizes = (groups >= 0).sum(axis=1)
    return [
        (ReLU(), 6, lambda n: rng.random((n, 6)) < 0.5),
        (LeakyReLU(0.2), 6, lambda n: rng.random((n, 6)) < 0.5),
        (PReLU([0.3, -0.5], in_shape=(2, 3)), 6, lambda n: rng.random((n, 6)) < 0.5),
        (HardTanh(-0.5, 2.0), 6, lambda n: rng.integers(0, 3, (n, 6)).astype(np.int8)),
        (MaxPool(groups), 18, lambda n: rng.integers(0, sizes, (n, len(sizes)))),
        (Argmax(), 4, lambda n: rng.integers(0, 4, (n, 1))),
    ]


@pytest.mark.parametrize("case", range(6))
def test_forward_pattern_linear_is_the_piece_minus_its_value_at_zero(case):
    rng = np.random.default_rng(case)
    layer, width, make_pattern = _piecewise_layers(rng)[case]
    x = rng.normal(size=(7, width)) * 10.0
    pattern = make_pattern(7)
    got = layer.forward_pattern_linear(x, pattern)
    want = layer.forward_pattern(x, pattern) - layer.forward_pattern(np.zeros_like(x), pattern)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-13 * float(np.abs(x).max()))
    with pytest.raises(NotImplementedError, match="no linear part"):
        layer.forward_linear(x)
