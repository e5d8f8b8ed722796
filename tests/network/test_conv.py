"""Convolution-type layers of regionscope.conv against PyTorch (float64) as the oracle."""

from __future__ import annotations

import math
import sys
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import regionscope as rs
import regionscope.network.conv as conv_module
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
    pool_output_size,
)
from regionscope.network.layers import Linear, MaxPool, ReLU, Sequential
from regionscope.network.program import compile_model

torch = pytest.importorskip("torch")
F = torch.nn.functional

RTOL = 1e-12


def _t(a: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(a, dtype=np.float64))


def _close(got: np.ndarray, want: torch.Tensor) -> None:
    want_np = want.detach().numpy().reshape(len(got), -1)
    assert got.shape == want_np.shape
    scale = max(1.0, float(np.abs(want_np).max()))
    np.testing.assert_allclose(got, want_np, rtol=0, atol=RTOL * scale)


def _flat(x: np.ndarray) -> np.ndarray:
    return x.reshape(len(x), -1)


def _both(layer: Conv, x: np.ndarray) -> np.ndarray:
    """The NumPy reference's output, after checking that torch's kernels (the path taken
    when torch is imported) give it to 1e-12 relative."""
    assert conv_module.TORCH_KERNELS and "torch" in sys.modules
    fast = layer.forward(x)
    conv_module.TORCH_KERNELS = False
    try:
        reference = layer.forward(x)
    finally:
        conv_module.TORCH_KERNELS = True
    assert fast.shape == reference.shape
    scale = max(1.0, float(np.abs(reference).max(initial=0.0)))
    np.testing.assert_allclose(fast, reference, rtol=0, atol=RTOL * scale)
    return reference


# ------------------------------------------------------------------ Conv


CONV2D_CASES = [
    dict(c_in=1, c_out=1, hw=(5, 5), k=(3, 3)),
    dict(c_in=3, c_out=4, hw=(7, 6), k=(3, 2), stride=2, padding=1, bias=False),
    dict(c_in=2, c_out=3, hw=(6, 7), k=(2, 3), stride=(1, 3), padding=(2, 0), dilation=(2, 1)),
    dict(c_in=4, c_out=6, hw=(5, 5), k=(3, 3), groups=2, padding="same"),
    dict(c_in=4, c_out=4, hw=(6, 5), k=(4, 2), groups=4, padding="same", dilation=2),
    dict(c_in=3, c_out=2, hw=(4, 4), k=(4, 4), padding="valid"),
    dict(c_in=2, c_out=2, hw=(8, 3), k=(1, 1), stride=3),
]


@pytest.mark.parametrize("case", CONV2D_CASES)
def test_conv2d_matches_torch(case: dict) -> None:
    rng = np.random.default_rng(0)
    c_in, c_out, hw, k = case["c_in"], case["c_out"], case["hw"], case["k"]
    groups = case.get("groups", 1)
    w = rng.normal(size=(c_out, c_in // groups, *k))
    b = rng.normal(size=c_out) if case.get("bias", True) else None
    kw = {key: case[key] for key in ("stride", "padding", "dilation") if key in case}
    layer = Conv(w, b, in_shape=(c_in, *hw), groups=groups, **kw)
    x = rng.normal(size=(5, c_in, *hw))
    want = F.conv2d(_t(x), _t(w), None if b is None else _t(b), groups=groups, **kw)
    assert layer.out_shape == tuple(want.shape[1:])
    assert layer.out_width(c_in * math.prod(hw)) == math.prod(want.shape[1:])
    _close(_both(layer, _flat(x)), want)


@pytest.mark.parametrize(
    "kw",
    [dict(), dict(stride=2, padding=2), dict(padding="same", dilation=3), dict(groups=3)],
)
def test_conv1d_and_conv3d_match_torch(kw: dict) -> None:
    rng = np.random.default_rng(1)
    groups = kw.get("groups", 1)
    w1 = rng.normal(size=(6, 3 // groups, 3))
    x1 = rng.normal(size=(4, 3, 11))
    layer1 = Conv(w1, np.arange(6.0), in_shape=(3, 11), **kw)
    _close(_both(layer1, _flat(x1)), F.conv1d(_t(x1), _t(w1), _t(np.arange(6.0)), **kw))
    w3 = rng.normal(size=(3, 3 // groups, 2, 3, 2))
    x3 = rng.normal(size=(2, 3, 4, 5, 4))
    layer3 = Conv(w3, None, in_shape=(3, 4, 5, 4), **kw)
    with warnings.catch_warnings():  # torch warns about even kernels with padding="same"
        warnings.simplefilter("ignore", UserWarning)
        want3 = F.conv3d(_t(x3), _t(w3), None, **kw)
    _close(_both(layer3, _flat(x3)), want3)


@settings(max_examples=40, deadline=None)
@given(
    h=st.integers(1, 7),
    w=st.integers(1, 7),
    k=st.tuples(st.integers(1, 3), st.integers(1, 3)),
    stride=st.tuples(st.integers(1, 3), st.integers(1, 3)),
    dilation=st.tuples(st.integers(1, 2), st.integers(1, 2)),
    pad=st.tuples(st.integers(0, 2), st.integers(0, 2)),
    groups=st.sampled_from([1, 2]),
    seed=st.integers(0, 2**16),
)
def test_conv2d_property(h, w, k, stride, dilation, pad, groups, seed) -> None:
    ext = [dl * (kk - 1) + 1 for dl, kk in zip(dilation, k, strict=True)]
    if h + 2 * pad[0] < ext[0] or w + 2 * pad[1] < ext[1]:
        with pytest.raises(ValueError, match="larger than the padded input"):
            Conv(np.ones((2, 4 // groups, *k)), in_shape=(4, h, w), padding=pad,
                 dilation=dilation, groups=groups)  # fmt: skip
    else:
        _check_conv2d_against_torch(h, w, k, stride, dilation, pad, groups, seed)


def _check_conv2d_against_torch(h, w, k, stride, dilation, pad, groups, seed) -> None:
    rng = np.random.default_rng(seed)
    weight = rng.normal(size=(2, 4 // groups, *k))
    x = rng.normal(size=(3, 4, h, w))
    layer = Conv(
        weight, [0.5, -1.0], in_shape=(4, h, w), stride=stride, padding=pad,
        dilation=dilation, groups=groups,
    )  # fmt: skip
    want = F.conv2d(
        _t(x), _t(weight), _t(np.array([0.5, -1.0])), stride=stride, padding=pad,
        dilation=dilation, groups=groups,
    )  # fmt: skip
    _close(_both(layer, _flat(x)), want)


def test_conv_chunks_give_the_same_answer() -> None:
    rng = np.random.default_rng(2)
    w = rng.normal(size=(3, 2, 3, 3))
    layer = Conv(w, [1.0, 2.0, 3.0], in_shape=(2, 6, 6), padding=1)
    x = rng.normal(size=(37, 72))
    whole = _both(layer, x)
    with rs.budget(conv_elements=500):  # a few samples per chunk
        chunked = _both(layer, x)
    np.testing.assert_array_equal(whole, chunked)
    _close(
        chunked, F.conv2d(_t(x.reshape(37, 2, 6, 6)), _t(w), _t(np.arange(1.0, 4.0)), padding=1)
    )


def test_conv_is_linear_plus_bias() -> None:
    # an independent identity: conv(a x + b y) - bias = a (conv(x) - bias) + b (conv(y) - bias)
    rng = np.random.default_rng(3)
    layer = Conv(rng.normal(size=(2, 1, 2, 2)), [3.0, -1.0], in_shape=(1, 4, 4), stride=2)
    x, y = rng.normal(size=(2, 1, 16))
    zero = layer.forward(np.zeros((1, 16)))
    lhs = layer.forward(2 * x - 3 * y) - zero
    rhs = 2 * (layer.forward(x) - zero) - 3 * (layer.forward(y) - zero)
    np.testing.assert_allclose(lhs, rhs, atol=1e-12)


def test_conv_hand_computed() -> None:
    # a 1-D difference filter with stride 2 on [0, 1, 4, 9, 16]: x[i+1] - x[i] at i = 0, 2
    layer = Conv([[[-1.0, 1.0]]], in_shape=(1, 5), stride=2)
    np.testing.assert_array_equal(layer.forward(np.array([[0.0, 1, 4, 9, 16]])), [[1.0, 5.0]])


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(weight=np.ones((2, 2)), in_shape=(2, 3)), "C_out, C_in / groups"),
        (dict(weight=np.ones((2, 1, 3)), in_shape=(2, 3, 3)), "needs in_shape"),
        (dict(weight=np.ones((2, 1, 3)), in_shape=(2, 5)), "takes 1 channels per group"),
        (dict(weight=np.ones((3, 1, 3)), in_shape=(2, 5), groups=2), "must divide"),
        (dict(weight=np.ones((2, 2, 3)), in_shape=(2, 5), padding="same", stride=2), "stride 1"),
        (dict(weight=np.ones((2, 2, 3)), in_shape=(2, 5), padding="full"), "'same', 'valid'"),
        (dict(weight=np.ones((2, 2, 3)), in_shape=(2, 5), stride=0), "stride must be >= 1"),
        (dict(weight=np.ones((2, 2, 3)), in_shape=(2, 5), bias=[1.0]), "bias must have shape"),
        (dict(weight=np.ones((2, 2, 7)), in_shape=(2, 5)), "larger than the padded input"),
        (dict(weight=np.full((1, 1, 2), np.nan), in_shape=(1, 5)), "finite"),
        (dict(weight=np.ones((1, 1, 2)), in_shape=(1, 0)), "positive sizes"),
        (dict(weight=np.ones((1, 1, 2, 2)), in_shape=(1, 4, 4), padding=(1, 2, 3)), "2 entries"),
    ],
)
def test_conv_rejects_bad_arguments(kwargs: dict, message: str) -> None:
    weight = kwargs.pop("weight")
    with pytest.raises(ValueError, match=message):
        Conv(weight, **kwargs)


def test_shaped_layers_check_widths() -> None:
    layer = Conv(np.ones((1, 1, 2)), in_shape=(1, 5))
    with pytest.raises(ValueError, match=r"shape \(1, 5\) \(width 5\), got width 6"):
        layer.out_width(6)
    with pytest.raises(ValueError, match=r"flat batch \(N, 5\)"):
        layer.forward(np.ones((2, 6)))
    with pytest.raises(ValueError, match=r"\(width 4\), got width 3"):
        PReLU([0.1, 0.2], in_shape=(2, 2)).out_width(3)


# ------------------------------------------------------------------ affine per channel


def test_channel_affine_is_eval_batchnorm() -> None:
    rng = np.random.default_rng(4)
    mean, var = rng.normal(size=3), rng.uniform(0.5, 2, size=3)
    gamma, beta = rng.normal(size=3), rng.normal(size=3)
    layer = ChannelAffine.from_batchnorm(mean, var, gamma, beta, eps=1e-3, in_shape=(3, 4, 2))
    x = rng.normal(size=(5, 3, 4, 2))
    want = F.batch_norm(_t(x), _t(mean), _t(var), _t(gamma), _t(beta), False, 0.1, 1e-3)
    _close(layer.forward(_flat(x)), want)
    layer1 = ChannelAffine.from_batchnorm(mean, var, in_shape=(3,))  # BatchNorm1d, affine=False
    x1 = rng.normal(size=(4, 3))
    _close(layer1.forward(x1), F.batch_norm(_t(x1), _t(mean), _t(var), None, None, False))
    with pytest.raises(ValueError, match=r"scale must have shape \(3,\)"):
        ChannelAffine([1.0, 2.0], [0.0, 0.0], in_shape=(3, 2))
    with pytest.raises(ValueError, match="running_var"):
        ChannelAffine.from_batchnorm([0.0], [-1.0], eps=0.5, in_shape=(1,))


def test_elementwise_affine() -> None:
    x = np.arange(6.0).reshape(1, 6)
    layer = ElementwiseAffine([[2.0], [3.0]], [1.0, 0.0, -1.0], in_shape=(2, 3))
    np.testing.assert_array_equal(layer.forward(x), [[1.0, 2.0, 3.0, 10.0, 12.0, 14.0]])
    with pytest.raises(ValueError, match="does not broadcast"):
        ElementwiseAffine([1.0, 2.0], 0.0, in_shape=(2, 3))


def test_prelu_matches_torch() -> None:
    rng = np.random.default_rng(5)
    w = rng.uniform(-0.5, 0.5, size=3)
    layer = PReLU(w, in_shape=(3, 2, 2))
    x = rng.normal(size=(6, 3, 2, 2))
    _close(layer.forward(_flat(x)), F.prelu(_t(x), _t(w)))
    np.testing.assert_array_equal(layer.pattern(_flat(x)), _flat(x) > 0)
    # the affine piece a pattern selects is the layer itself on the inputs with that pattern
    np.testing.assert_array_equal(
        layer.forward_pattern(_flat(x), layer.pattern(_flat(x))), layer.forward(_flat(x))
    )
    single = PReLU([0.25], in_shape=(3, 2, 2))
    _close(single.forward(_flat(x)), F.prelu(_t(x), _t(np.array([0.25]))))
    with pytest.raises(ValueError, match="1 or 3 entries"):
        PReLU([0.1, 0.2], in_shape=(3,))


# ------------------------------------------------------------------ average pooling


@pytest.mark.parametrize(
    "kw",
    [
        dict(kernel_size=2),
        dict(kernel_size=3, stride=2, padding=1),
        dict(kernel_size=3, stride=2, padding=1, count_include_pad=False),
        dict(kernel_size=(2, 3), stride=(2, 2), ceil_mode=True),
        dict(kernel_size=3, stride=2, padding=1, ceil_mode=True, count_include_pad=False),
        dict(kernel_size=2, stride=1, padding=1, divisor_override=3),
    ],
)
def test_avgpool2d_matches_torch(kw: dict) -> None:
    rng = np.random.default_rng(6)
    x = rng.normal(size=(3, 2, 7, 6))
    ours = dict(kw)
    ours["kernel"] = ours.pop("kernel_size")
    layer = AvgPool((2, 7, 6), **ours)
    want = F.avg_pool2d(_t(x), **kw)
    assert layer.out_shape == tuple(want.shape[1:])
    _close(layer.forward(_flat(x)), want)


def test_avgpool1d_matches_torch() -> None:
    x = np.random.default_rng(7).normal(size=(2, 3, 9))
    layer = AvgPool((3, 9), kernel=4, stride=3, padding=2, ceil_mode=True)
    _close(layer.forward(_flat(x)), F.avg_pool1d(_t(x), 4, 3, 2, ceil_mode=True))


@pytest.mark.parametrize("size, out", [((7, 5), (3, 2)), ((4, 4), (4, 1)), ((5, 6), (1, 1))])
def test_adaptive_avgpool_matches_torch(size: tuple, out: tuple) -> None:
    x = np.random.default_rng(8).normal(size=(2, 3, *size))
    layer = AdaptiveAvgPool((3, *size), out)
    _close(layer.forward(_flat(x)), F.adaptive_avg_pool2d(_t(x), out))
    layer1 = AdaptiveAvgPool((3, size[0]), out[0])
    x1 = x[:, :, :, 0]
    _close(layer1.forward(_flat(x1)), F.adaptive_avg_pool1d(_t(x1), out[0]))
    keep = AdaptiveAvgPool((3, *size), (None, out[1]))
    assert keep.out_shape == (3, size[0], out[1])


def test_avgpool_weights_sum_to_one() -> None:
    # without padding every output is an average: constant inputs stay constant
    layer = AdaptiveAvgPool((2, 9, 7), (4, 3))
    np.testing.assert_allclose(layer.forward(np.full((1, 126), 2.5)), 2.5, rtol=1e-15)


def test_axis_linear_and_pool_errors() -> None:
    with pytest.raises(ValueError, match="one matrix"):
        AxisLinear([None], in_shape=(2, 2))
    with pytest.raises(ValueError, match=r"shape \(out, 2\)"):
        AxisLinear([None, np.ones((1, 3))], in_shape=(2, 2))
    with pytest.raises(ValueError, match="at most half the kernel"):
        AvgPool((1, 5), kernel=2, padding=2)
    with pytest.raises(ValueError, match="2 entries"):
        AdaptiveAvgPool((1, 5, 5), (1, 2, 3))


# ------------------------------------------------------------------ max pooling


@pytest.mark.parametrize(
    "kw",
    [
        dict(kernel_size=2),
        dict(kernel_size=3, stride=2, padding=1),
        dict(kernel_size=(2, 3), stride=(1, 2), dilation=(2, 1)),
        dict(kernel_size=3, stride=2, padding=1, ceil_mode=True),
        dict(kernel_size=2, stride=3, ceil_mode=True),
        dict(kernel_size=3, stride=1, padding=1, dilation=2),
    ],
)
def test_maxpool2d_groups_match_torch(kw: dict) -> None:
    rng = np.random.default_rng(9)
    x = rng.normal(size=(4, 3, 7, 6))
    ours = dict(kw)
    ours["kernel"] = ours.pop("kernel_size")
    groups = maxpool_groups((3, 7, 6), **ours)
    want = F.max_pool2d(_t(x), **kw)
    assert groups.shape[0] == math.prod(want.shape[1:])
    _close(MaxPool(groups).forward(_flat(x)), want)
    # every index is a valid input, each window without repeats
    assert groups.max() < 3 * 7 * 6
    for row in groups:
        row = row[row >= 0]
        assert len(set(row.tolist())) == len(row)


def test_maxpool1d_groups_match_torch() -> None:
    x = np.random.default_rng(10).normal(size=(3, 2, 10))
    groups = maxpool_groups((2, 10), kernel=3, stride=2, padding=1, ceil_mode=True)
    want = F.max_pool1d(_t(x), 3, 2, 1, ceil_mode=True)
    _close(MaxPool(groups).forward(_flat(x)), want)


def test_maxpool_groups_hand_computed() -> None:
    # 1 channel 3x3, 2x2 windows, stride 1: four windows of the flat indices 0..8
    np.testing.assert_array_equal(
        maxpool_groups((1, 3, 3), 2, stride=1),
        [[0, 1, 3, 4], [1, 2, 4, 5], [3, 4, 6, 7], [4, 5, 7, 8]],
    )
    # two channels: channel 1's windows are channel 0's shifted by 4
    g = maxpool_groups((2, 2, 2), 2)
    np.testing.assert_array_equal(g, [[0, 1, 2, 3], [4, 5, 6, 7]])
    with pytest.raises(ValueError, match="at most half the kernel"):
        maxpool_groups((1, 4, 4), 2, padding=2)
    with pytest.raises(ValueError, match="larger than the padded input"):
        maxpool_groups((1, 2, 2), 5, padding=1)
    assert pool_output_size(6, 3, 2, 1) == 3  # windows start at -1, 1, 3
    assert pool_output_size(6, 3, 2, 1, ceil_mode=True) == 4  # ... and 5
    # ceil mode drops a last window that would start in the right padding
    assert pool_output_size(5, 2, 3, 1, ceil_mode=True) == 2
    for size, k, s, p in [(5, 2, 3, 1), (7, 3, 2, 1), (4, 2, 2, 1), (9, 4, 3, 2)]:
        for ceil in (False, True):
            want = F.max_pool1d(torch.zeros(1, 1, size), k, s, p, ceil_mode=ceil).shape[-1]
            assert pool_output_size(size, k, s, p, ceil_mode=ceil) == want


# ------------------------------------------------------------------ shapes, programs


def test_reshape_and_flatten() -> None:
    x = np.arange(12.0).reshape(2, 6)
    assert Reshape((2, 3), (3, 2)).forward(x) is x
    assert Flatten((1, 2, 3)).out_shape == (6,)
    with pytest.raises(ValueError, match="changes the number of values"):
        Reshape((2, 3), (4, 2))


def test_cnn_program_matches_torch() -> None:
    # conv -> bn -> relu -> maxpool -> flatten -> linear, run by Program.run on flat input
    rng = np.random.default_rng(11)
    wc, bc = rng.normal(size=(4, 1, 3, 3)), rng.normal(size=4)
    mean, var = rng.normal(size=4), rng.uniform(0.5, 2, size=4)
    wl, bl = rng.normal(size=(3, 4 * 4 * 4)), rng.normal(size=3)
    conv_layer = Conv(wc, bc, in_shape=(1, 8, 8), padding="same")
    model = Sequential(
        conv_layer,
        ChannelAffine.from_batchnorm(mean, var, in_shape=conv_layer.out_shape),
        ReLU(),
        MaxPool(maxpool_groups((4, 8, 8), 2)),
        Flatten((4, 4, 4)),
        Linear(wl, bl),
    )
    prog = compile_model(model, 64)
    assert [op.out_width for op in prog.ops] == [256, 256, 256, 64, 64, 3]
    x = rng.normal(size=(10, 1, 8, 8))
    t = F.conv2d(_t(x), _t(wc), _t(bc), padding="same")
    t = F.max_pool2d(F.relu(F.batch_norm(t, _t(mean), _t(var), training=False)), 2)
    want = F.linear(t.flatten(1), _t(wl), _t(bl))
    _close(prog.run(_flat(x)), want)
    with pytest.raises(ValueError, match="layer 0"):
        compile_model(model, 65)


def test_numpy_convolutions_give_the_partition_of_torch_kernels(monkeypatch) -> None:
    """A small CNN partitioned with torch's kernels and with the NumPy reference: one
    partition."""
    from regionscope.testing import assert_partitions_equal

    rng = np.random.default_rng(4)
    net = Sequential(
        Conv(rng.normal(size=(2, 1, 3, 3)), rng.normal(size=2) * 0.3, in_shape=(1, 5, 5),
             padding=1),
        ReLU(),
        Conv(rng.normal(size=(3, 2, 2, 2)) / 2, rng.normal(size=3) * 0.3, in_shape=(2, 5, 5),
             padding="same"),
        ReLU(),
        MaxPool(maxpool_groups((3, 5, 5), kernel=2)),
    )  # fmt: skip
    domain = rs.Plane(rng.normal(size=(3, 25)) * 0.3)
    fast = rs.partition(net, domain)
    monkeypatch.setattr(conv_module, "TORCH_KERNELS", False)
    reference = rs.partition(net, domain)
    assert reference.num_regions > 20
    assert_partitions_equal(fast, reference)


def test_a_process_that_never_imported_torch_convolves_with_the_same_bits():
    """Torch's kernels run wherever torch is installed, imported on the first convolution:
    a network's values do not depend on whether the caller imported torch first."""
    import subprocess

    code = (
        "import sys, numpy as np\n"
        "from regionscope.network.conv import Conv\n"
        "rng = np.random.default_rng(0)\n"
        "conv = Conv(rng.normal(size=(4, 3, 3, 3)), rng.normal(size=4), in_shape=(3, 8, 8),"
        " padding=1)\n"
        "x = rng.normal(size=(5, 192))\n"
        "before = 'torch' in sys.modules\n"
        "y = conv.forward(x)\n"
        "print(before, 'torch' in sys.modules, y.tobytes().hex())\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    before, after, hexed = run.stdout.split()
    assert (before, after) == ("False", "True")  # imported by the convolution itself
    rng = np.random.default_rng(0)
    conv = Conv(rng.normal(size=(4, 3, 3, 3)), rng.normal(size=4), in_shape=(3, 8, 8), padding=1)
    assert "torch" in sys.modules
    assert conv.forward(rng.normal(size=(5, 192))).tobytes().hex() == hexed
