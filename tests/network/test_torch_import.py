"""Converting torch modules: the converted network must compute what the model computes."""

from __future__ import annotations

import copy
import subprocess
import sys

import numpy as np
import pytest

import regionscope as rs
from regionscope.network.conv import ChannelAffine, Conv, PReLU, Reshape
from regionscope.network.layers import Add, Concat, Graph, HardTanh, LeakyReLU, MaxPool
from regionscope.network.program import compile_model
from regionscope.network.torch_import import convert, is_torch_module

torch = pytest.importorskip("torch")
nn = torch.nn
F = torch.nn.functional

RTOL = 1e-10


def _randomize_bn(model: nn.Module, seed: int = 0) -> nn.Module:
    """Give batch-norm layers non-trivial statistics (defaults are mean 0, var 1)."""
    g = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            with torch.no_grad():
                m.running_mean.copy_(torch.randn(m.num_features, generator=g))
                m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)
                if m.affine:
                    m.weight.copy_(torch.randn(m.num_features, generator=g))
                    m.bias.copy_(torch.randn(m.num_features, generator=g))
    return model


def _reference(model: nn.Module, x: np.ndarray) -> np.ndarray:
    ref = copy.deepcopy(model).double()
    with torch.no_grad():
        return ref(torch.from_numpy(x)).numpy().reshape(len(x), -1)


def _check(model: nn.Module, input_shape: tuple, n: int = 16, **kw) -> Graph:
    """Convert, and compare graph and compiled program against the float64 model."""
    graph = convert(model, input_shape, **kw)
    x = np.random.default_rng(42).normal(size=(n, *input_shape))
    want = _reference(model, x) if "until" not in kw else None
    flat = x.reshape(n, -1)
    got = graph.forward(flat)
    prog = compile_model(graph, flat.shape[1])
    np.testing.assert_array_equal(prog.run(flat), got)
    if want is not None:
        assert got.shape == want.shape
        scale = max(1.0, float(np.abs(want).max()))
        np.testing.assert_allclose(got, want, rtol=0, atol=RTOL * scale)
    return graph


def _names(graph: Graph) -> list[str]:
    return [name for name, _, _ in graph.nodes]


# ------------------------------------------------------------------ models


class MyLinear(nn.Linear):
    """A subclass that keeps torch's forward."""


class ScaledReLU(nn.ReLU):
    """A subclass with its own forward."""

    def forward(self, x):
        return F.relu(x) * 2.0 - 0.5


class ShiftLinear(nn.Linear):
    def forward(self, x):
        return super().forward(x) + 1.0


class Functional(nn.Module):
    """A custom forward using functional forms and tensor methods."""

    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.randn(6, 3))
        self.b = nn.Parameter(torch.randn(6))
        self.slope = nn.Parameter(torch.rand(6) * 0.3)

    def forward(self, x):
        h = F.linear(x, self.w, self.b)
        a = F.leaky_relu(h, 0.2)
        b = torch.relu(h) - F.hardtanh(h, -0.5, 0.7)
        c = F.relu6(3 * h).neg() + h.relu() / 4.0
        d = torch.add(a, b, alpha=0.5) + torch.sub(c, a) - 2 * x.shape[1]
        e = F.prelu(d, self.slope)
        return F.dropout(e, 0.3, self.training).contiguous()


class Residual(nn.Module):
    def __init__(self, width):
        super().__init__()
        self.fc1 = nn.Linear(width, width)
        self.fc2 = nn.Linear(width, width)

    def forward(self, x):
        out = F.relu(self.fc1(x))
        out = self.fc2(out)
        out += x
        return F.relu(out)


class ResBlock(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv1 = nn.Conv2d(c, c, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(c)
        self.conv2 = nn.Conv2d(c, c, 3, padding="same")
        self.bn2 = nn.BatchNorm2d(c)

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        return torch.relu(x + self.bn2(self.conv2(y)))


class CNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 4, 3, padding=1),
            nn.BatchNorm2d(4),
            nn.ReLU(),
            nn.MaxPool2d(2),
            ResBlock(4),
            nn.Conv2d(4, 6, 2, stride=2, dilation=1, groups=2),
            nn.PReLU(6, init=0.1),
        )
        self.pool = nn.AdaptiveAvgPool2d((1, 2))
        self.head = nn.Sequential(nn.Flatten(), nn.Dropout(0.5), nn.Linear(12, 3))

    def forward(self, x):
        return self.head(self.pool(self.features(x)))


class Conv1dNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv1d(2, 4, 3, stride=1, padding=2, dilation=2)
        self.bn = nn.BatchNorm1d(4)
        self.pool = nn.MaxPool1d(3, stride=2, padding=1, ceil_mode=True)
        self.avg = nn.AvgPool1d(2, count_include_pad=False, padding=1)
        self.fc = nn.Linear(4 * 3, 2)
        self.bn_fc = nn.BatchNorm1d(2)

    def forward(self, x):
        x = F.max_pool1d(F.relu(self.bn(self.conv(x))), 1)
        x = self.avg(self.pool(x))
        return self.bn_fc(self.fc(torch.flatten(x, 1)))


class Inception2(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Conv2d(2, 3, 1)
        self.b = nn.Conv2d(2, 2, 3, padding=1)
        self.side = nn.Linear(32, 5)
        self.fc = nn.Linear(5 * 16 + 5, 2)

    def forward(self, x):
        y = torch.cat([F.relu(self.a(x)), self.b(x)], dim=1)
        y = y.view(x.size(0), -1)
        z = torch.concat((y, F.relu(self.side(x.reshape(-1, 32)))), -1)
        return self.fc(z)


# ------------------------------------------------------------------ equality with the model


def test_nested_sequentials() -> None:
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Sequential(nn.Linear(2, 8), nn.ReLU()),
        nn.Sequential(nn.Sequential(MyLinear(8, 8), nn.LeakyReLU(0.1))),
        nn.Sequential(nn.Linear(8, 8), nn.ReLU6(), nn.Identity(), nn.Hardtanh(-2.0, 3.0)),
        nn.Linear(8, 1, bias=False),
    )
    graph = _check(model, (2,))
    assert _names(graph) == ["0.0", "0.1", "1.0.0", "1.0.1", "2.0", "2.1", "2.2", "2.3", "3"]
    layers = [layer for _, layer, _ in graph.nodes]
    assert isinstance(layers[3], LeakyReLU) and layers[3].negative_slope == pytest.approx(0.1)
    assert isinstance(layers[5], HardTanh) and (layers[5].min_val, layers[5].max_val) == (0, 6)
    assert (layers[7].min_val, layers[7].max_val) == (-2.0, 3.0)
    assert layers[8].bias is None


def test_subclasses_and_custom_forward() -> None:
    torch.manual_seed(1)
    model = nn.Sequential(MyLinear(3, 5), ScaledReLU(), ShiftLinear(5, 3), Functional()).eval()
    graph = _check(model, (3,))
    names = _names(graph)
    assert names[0] == "0"  # a subclass keeping torch's forward is converted as a layer
    assert any(isinstance(layer, PReLU) for _, layer, _ in graph.nodes)


def test_residual_mlp_and_functional_add() -> None:
    torch.manual_seed(2)
    model = nn.Sequential(nn.Linear(2, 6), Residual(6), Residual(6), nn.Linear(6, 2))
    graph = _check(model, (2,))
    adds = [(n, inputs) for n, layer, inputs in graph.nodes if isinstance(layer, Add)]
    assert len(adds) == 2
    # the first skip connection adds the block's input, the output of layer "0"
    assert "0" in adds[0][1]


def test_cnn_with_batchnorm_maxpool_residual() -> None:
    torch.manual_seed(3)
    model = _randomize_bn(CNN()).eval()
    graph = _check(model, (1, 8, 8))
    kinds = {name: type(layer) for name, layer, _ in graph.nodes}
    assert kinds["features.0"] is Conv and kinds["features.1"] is ChannelAffine
    assert kinds["features.3"] is MaxPool and kinds["features.6"] is PReLU
    assert kinds["head.0"] is Reshape
    assert "features.4.conv1" in kinds  # a custom block inside a Sequential


class FunctionalCNN(nn.Module):
    """Convolution, batch-norm and pooling through torch.nn.functional only."""

    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.randn(4, 1, 3, 3))
        self.w2 = nn.Parameter(torch.randn(4, 2, 2, 2))
        self.register_buffer("mean", torch.randn(4))
        self.register_buffer("var", torch.rand(4) + 0.5)

    def forward(self, x):
        y = F.conv2d(x, self.w, None, 1, 2, 2)  # padding 2, dilation 2
        y = F.batch_norm(y, self.mean, self.var, None, None, False, 0.1, 1e-3)
        y = F.max_pool2d(F.relu(y), 3, stride=2, padding=1, ceil_mode=True)
        y = torch.max_pool2d(y, [2, 2], [], 0, 1, False)
        y = F.conv2d(y, self.w2, torch.ones(4), groups=2, padding="same")
        return F.avg_pool2d(y, 2, 1, 1, False, False) - F.adaptive_avg_pool2d(y, 3)


def test_functional_cnn() -> None:
    torch.manual_seed(15)
    graph = _check(FunctionalCNN(), (1, 9, 9))
    kinds = [type(layer).__name__ for _, layer, _ in graph.nodes]
    assert kinds.count("Conv") == 2 and kinds.count("MaxPool") == 2
    assert "ChannelAffine" in kinds and "AvgPool" in kinds and "AdaptiveAvgPool" in kinds


def test_conv1d_model() -> None:
    torch.manual_seed(4)
    model = _randomize_bn(Conv1dNet()).eval()
    _check(model, (2, 9))


def test_concatenation_and_views() -> None:
    torch.manual_seed(5)
    graph = _check(Inception2(), (2, 4, 4))
    assert sum(isinstance(layer, Concat) for _, layer, _ in graph.nodes) == 2


def test_pooling_modules_and_means() -> None:
    torch.manual_seed(6)

    class Pools(nn.Module):
        def __init__(self):
            super().__init__()
            self.avg = nn.AvgPool2d(3, stride=2, padding=1, ceil_mode=True, divisor_override=4)
            self.ada = nn.AdaptiveAvgPool2d((2, None))
            self.ada1 = nn.AdaptiveAvgPool1d(3)
            self.unflat = nn.Unflatten(1, (2, 16))

        def forward(self, x):
            y = self.ada(self.avg(x))
            z = F.adaptive_avg_pool2d(x, 1).squeeze(-1)
            m = x.mean((2, 3), keepdim=True).flatten(1) + torch.mean(x, dim=-1).mean(-1)
            s = self.ada1(x.flatten(2)).flatten(1)
            w = torch.cat([y.flatten(1), z.flatten(1), m, s, s], 1)  # 16 + 2 + 2 + 6 + 6
            return self.unflat(w).unsqueeze(1)

    _check(Pools(), (2, 5, 6))


def test_dropout_and_batchnorm_in_eval_mode_and_float32_precision() -> None:
    torch.manual_seed(7)
    model = _randomize_bn(
        nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Dropout(0.9), nn.ReLU())
    ).eval()
    assert model[0].weight.dtype == torch.float32
    graph = _check(model, (3,))  # against the float64 copy at 1e-10: computed in float64
    w = graph.nodes[0][1].weight
    np.testing.assert_array_equal(w, model[0].weight.detach().double().numpy())


def test_identity_model_and_single_prelu() -> None:
    graph = _check(nn.Sequential(nn.Identity()), (3,))
    assert _names(graph) == ["0"]
    graph = _check(nn.Sequential(nn.PReLU(init=0.3)), (2, 3))
    assert isinstance(graph.nodes[0][1], LeakyReLU)


def test_clamp_forms() -> None:
    """Both bounds: a HardTanh; min=0: a ReLU; one other bound: a ReLU between affine maps."""

    class Clamps(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(2, 3)

        def forward(self, x):
            h = self.fc(x)
            parts = [
                h.clamp(min=0),
                h.clamp(-0.5, 0.5),
                torch.clamp(h, min=0.3),
                h.clip(max=-0.2),
                torch.clamp_max(h, 0.1),
                h.clamp_min(-0.1),
            ]
            return torch.cat(parts, 1)

    torch.manual_seed(16)
    graph = _check(Clamps(), (2,))
    kinds = {name: type(layer).__name__ for name, layer, _ in graph.nodes}
    assert kinds["clamp"] == "ReLU" and kinds["clamp_1"] == "HardTanh"
    assert kinds["clamp_2.relu"] == "ReLU" and kinds["clamp_2"] == "ElementwiseAffine"


# ------------------------------------------------------------------ until


def test_until_stops_after_the_named_module() -> None:
    torch.manual_seed(8)
    model = _randomize_bn(CNN()).eval()
    graph = convert(model, (1, 8, 8), until="features.3")
    assert _names(graph) == ["features.0", "features.1", "features.2", "features.3"]
    x = np.random.default_rng(0).normal(size=(4, 1, 8, 8))
    with torch.no_grad():
        want = copy.deepcopy(model).double().features[:4](torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(graph.forward(x.reshape(4, -1)), want.reshape(4, -1), atol=1e-12)
    # a container: its output is the output of its last operation
    block = convert(model, (1, 8, 8), until="features.4")
    assert _names(block)[-1] == block.output
    assert block.output.startswith("relu")  # torch.relu in ResBlock.forward
    with torch.no_grad():
        want = copy.deepcopy(model).double().features[:5](torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(block.forward(x.reshape(4, -1)), want.reshape(4, -1), atol=1e-12)


def test_until_ignores_what_comes_after() -> None:
    model = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Tanh(), nn.Softmax(dim=1))
    graph = convert(model, (2,), until="1")
    assert _names(graph) == ["0", "1"]
    with pytest.raises(TypeError, match="Tanh"):
        convert(model, (2,))


def test_until_errors() -> None:
    model = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    with pytest.raises(ValueError, match=r"until='3' is not the name.*\['0', '1', '2'\]"):
        convert(model, (2,), until="3")

    class Twice(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(2, 2)
            self.act = nn.ReLU()
            self.unused = nn.ReLU()

        def forward(self, x):
            return self.act(self.fc(self.act(x)))

    # a module called twice gives two layers with distinct names
    assert _names(_check(Twice(), (2,))) == ["act", "fc", "act:1"]
    with pytest.raises(ValueError, match="called 2 times"):
        convert(Twice(), (2,), until="act")
    with pytest.raises(ValueError, match="never called"):
        convert(Twice(), (2,), until="unused")
    with pytest.raises(ValueError, match="did you mean 'fc'"):
        convert(Twice(), (2,), until="fc1")
    with pytest.raises(TypeError, match="until must be a module name"):
        convert(Twice(), (2,), until=1)


# ------------------------------------------------------------------ rejected models


class Tanh(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(2, 2)
        self.act = nn.Tanh()

    def forward(self, x):
        return self.act(self.fc(x))


class Fn(nn.Module):
    def __init__(self, fn):
        super().__init__()
        self.fc = nn.Linear(2, 4)
        self.fn = fn

    def forward(self, x):
        return self.fn(self.fc(x))


REJECTED = [
    (Tanh(), (2,), r"node 2 'act' \(module 'act', Tanh\): Tanh is not a supported layer"),
    (Fn(torch.sigmoid), (2,), r"node 2 'sigmoid' \(function 'torch\.sigmoid'\): not a supp"),
    (Fn(lambda x: F.softmax(x, dim=1) * 2), (2,), r"node 2 'softmax' \(function '.*softmax'\)"),
    (Fn(lambda x: x * x), (2,), r"node 2 'mul'.*product or quotient of two tensors"),
    (Fn(lambda x: 1.0 / x), (2,), r"node 2 'truediv'.*division by a tensor"),
    (Fn(lambda x: x[:, :2]), (2,), r"node 2 'getitem'.*indexing or slicing"),
    (Fn(lambda x: x.tanh()), (2,), r"node 2 'tanh' \(method '\.tanh\(\)'\): not a supported"),
    (Fn(lambda x: F.dropout(x, 0.5)), (2,), r"node 2 'dropout'.*training=True is random"),
    (Fn(lambda x: x.view(-1)), (2,), r"node 2 'view'.*mixes or drops the batch axis"),
    (
        Fn(lambda x: x.sum(0, keepdim=True)),
        (2,),
        r"node 2 'sum_1' \(method '\.sum\(\)'\): not a supported method",
    ),
    (Fn(lambda x: x.mean(0, keepdim=True)), (2,), r"node 2 'mean'.*batch axis"),
    (Fn(lambda x: torch.cat([x, x], 0)), (2,), r"node 2 'cat'.*mixes or drops the batch"),
    (Fn(lambda x: (x, x)), (2,), r"must return one tensor, it returns tuple"),
    (Fn(lambda x: x + x.shape[0]), (2,), r"node 4 'add'.*'getitem' depends on the batch size"),
    (Fn(lambda x: x.relu() if x.sum() > 0 else x), (2,), r"torch\.fx could not trace"),
    (Fn(lambda x: x.reshape(-1, 2, 2) @ x.reshape(-1, 2, 2)), (2,), r"node 4 'matmul'"),
    (Fn(lambda x: x.view(-1, 1, 4) + torch.ones(3, 1)), (2,), r"node 4 'add'.*broadcasts the"),
    (
        nn.Sequential(nn.Linear(2, 2), nn.Dropout()),
        (2,),
        r"node 2 '_1' \(module '1', Dropout\).*training mode",
    ),
    (nn.Sequential(nn.BatchNorm1d(2)), (2,), r"node 1 '_0' \(module '0', BatchNorm1d\).*eval\(\)"),
    (
        nn.Sequential(nn.BatchNorm1d(2, track_running_stats=False)).eval(),
        (2,),
        r"batch statistics",
    ),
    (nn.Sequential(nn.Conv1d(1, 1, 3, padding=1, padding_mode="circular")), (1, 5), "circular"),
    (nn.Sequential(nn.MaxPool1d(2, return_indices=True)), (1, 4), "return_indices"),
    (nn.Sequential(nn.Linear(3, 2)), (2, 3), r"samples of shape \(2, 3\).*flatten first"),
    (
        nn.Sequential(nn.ConvTranspose1d(1, 1, 2)),
        (1, 4),
        "ConvTranspose1d is not a supported layer",
    ),
    (Fn(lambda x: torch.cat([x.view(-1, 2, 2), x.view(-1, 2, 2)], 2)), (2,), "only the chan"),
    (Fn(lambda x: x.detach() + torch.rand_like(x)), (2,), "rand_like"),
    (Fn(lambda x: x.clamp(0.5, 0.5)), (2,), r"node 2 'clamp'.*min=0\.5 >= max=0\.5"),
    (Fn(lambda x: torch.clamp(x, min=torch.zeros(4))), (2,), r"tensor min= of shape \(4,\)"),
]


@pytest.mark.parametrize("model, shape, message", REJECTED)
def test_rejected(model: nn.Module, shape: tuple, message: str) -> None:
    with pytest.raises(TypeError, match=message):
        convert(model, shape)


def test_rejected_arguments() -> None:
    with pytest.raises(TypeError, match="must be a torch.nn.Module, got Sequential"):
        convert(rs.Sequential(rs.ReLU()), (2,))
    with pytest.raises(ValueError, match="input_shape must be a tuple of positive ints"):
        convert(nn.Linear(2, 2), (0, 2))
    with pytest.raises(ValueError, match=r"input of shape \(5, 3\) \(input_shape=\(3,\)"):
        convert(nn.Linear(2, 2), (3,))


def test_inplace_result_and_changed_tensor_are_the_same() -> None:
    """``y = F.relu(h, inplace=True)`` also changes ``h``: both uses see the ReLU."""

    class Inplace(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(2, 2)

        def forward(self, x):
            h = self.fc(x)
            y = F.relu(h, inplace=True)  # also changes h
            return h + y

    model = Inplace()
    with torch.no_grad():
        model.fc.weight.copy_(torch.eye(2))
        model.fc.bias.zero_()
    graph = _check(model, (2,))
    add = next(inputs for _, layer, inputs in graph.nodes if isinstance(layer, Add))
    assert list(add) == ["relu", "relu"]


# ------------------------------------------------------------------ the model is not changed


def _snapshot(model: nn.Module) -> dict:
    return {
        "state": {k: v.detach().clone() for k, v in model.state_dict(keep_vars=True).items()},
        "dtypes": {k: v.dtype for k, v in model.state_dict().items()},
        "grad": {k: p.requires_grad for k, p in model.named_parameters()},
        "training": {k: m.training for k, m in model.named_modules()},
        "hooks": {
            k: (
                list(m._forward_hooks),
                list(m._forward_pre_hooks),
                list(m._backward_hooks),
            )
            for k, m in model.named_modules()
        },
        "ids": {k: id(v) for k, v in model.state_dict(keep_vars=True).items()},
        "rng": torch.get_rng_state().clone(),
    }


def _assert_same(before: dict, model: nn.Module) -> None:
    after = _snapshot(model)
    assert before["state"].keys() == after["state"].keys()
    for k, v in before["state"].items():
        assert torch.equal(v, after["state"][k]), k
    assert before["dtypes"] == after["dtypes"]
    assert before["grad"] == after["grad"]
    assert before["training"] == after["training"]
    assert before["hooks"] == after["hooks"]
    assert before["ids"] == after["ids"]
    assert torch.equal(before["rng"], after["rng"])


def _hooked_cnn() -> tuple[nn.Module, list]:
    torch.manual_seed(10)
    model = _randomize_bn(CNN())
    model.features[1].eval()  # mixed modes: a BN in eval, the rest in training mode
    model.head[2].weight.requires_grad_(False)
    calls: list = []
    model.features[0].register_forward_hook(lambda m, i, o: calls.append("fwd"))
    model.register_forward_pre_hook(lambda m, i: calls.append("pre"))
    model.head.register_full_backward_hook(lambda m, gi, go: calls.append("bwd"))
    return model, calls


def test_model_unchanged_after_success() -> None:
    model, calls = _hooked_cnn()
    model.features[4].bn1.eval()
    model.features[4].bn2.eval()
    model.head[1].eval()
    before = _snapshot(model)
    with pytest.warns(UserWarning, match="forward hooks of"):
        convert(model, (1, 8, 8))
    assert calls == []  # no hook ran during the conversion
    _assert_same(before, model)
    model(torch.zeros(2, 1, 8, 8)).sum().backward()
    assert calls == ["pre", "fwd", "bwd"]  # the hooks still work


def test_model_unchanged_after_failure() -> None:
    model, calls = _hooked_cnn()  # batch-norm / dropout in training mode: rejected
    before = _snapshot(model)
    with pytest.warns(UserWarning, match="forward hooks"):
        with pytest.raises(TypeError, match="training mode"):
            convert(model, (1, 8, 8))
    _assert_same(before, model)
    model.eval()
    before = _snapshot(model)
    with pytest.warns(UserWarning, match="forward hooks"):
        with pytest.raises(ValueError, match=r"input of shape \(5, 3, 8, 8\).*failed"):
            convert(model, (3, 8, 8))  # the model does not run on this shape
    with pytest.raises(ValueError, match="is not the name of a submodule"):
        convert(model, (1, 8, 8), until="features.9")  # checked before anything else
    assert calls == []
    _assert_same(before, model)


def test_global_rng_untouched_by_random_models() -> None:
    model = Fn(lambda x: x.detach() + torch.rand_like(x))
    before = _snapshot(model)
    with pytest.raises(TypeError, match="rand_like"):
        convert(model, (2,))
    _assert_same(before, model)


def test_model_unchanged_with_until_and_after_partition() -> None:
    torch.manual_seed(11)
    model = nn.Sequential(nn.Linear(2, 4), nn.ReLU(), nn.Linear(4, 2))
    before = _snapshot(model)
    convert(model, (2,), until="1")
    rs.partition(model, rs.Box(1.0))
    _assert_same(before, model)


def test_core_does_not_import_torch() -> None:
    code = (
        "import sys, regionscope, regionscope.network.torch_import, regionscope.network.conv;"
        "assert not regionscope.network.torch_import.is_torch_module(object());"
        "assert 'torch' not in sys.modules, 'torch was imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
    assert is_torch_module(nn.ReLU()) and not is_torch_module(rs.ReLU())


# ------------------------------------------------------------------ partitions of torch models


def _check_partition(model: nn.Module, domain, n_random: int = 200) -> rs.Partition:
    part = rs.partition(model, domain)
    a, c = part.affine_maps()
    ref = copy.deepcopy(model).double().eval()
    rng = np.random.default_rng(0)
    xmin, xmax, ymin, ymax = domain.bounds
    u_rand = np.column_stack(
        [rng.uniform(xmin, xmax, n_random), rng.uniform(ymin, ymax, n_random)]
    )
    u_rand = u_rand[domain.contains(u_rand)]
    u_cent = part.centroids()
    for u, f in ((u_cent, np.arange(part.num_regions)), (u_rand, part.locate(u_rand))):
        assert (f >= 0).all()
        got = np.einsum("fij,fj->fi", a[f], u) + c[f]
        x = torch.from_numpy(domain.lift(u).reshape(len(u), *domain.input_shape))
        with torch.no_grad():
            want = ref(x).numpy().reshape(len(u), -1)
        scale = max(1.0, float(np.abs(want).max()))
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-8 * scale)
    return part


def test_partition_of_nested_sequentials() -> None:
    torch.manual_seed(12)
    model = nn.Sequential(
        nn.Sequential(nn.Linear(2, 8), nn.ReLU()),
        nn.Sequential(nn.Sequential(nn.Linear(8, 8), nn.LeakyReLU(0.2))),
        nn.Linear(8, 2),
    )
    part = _check_partition(model, rs.Box(2.0))
    assert part.num_regions > 8  # the first layer alone makes several
    np.testing.assert_allclose(part.areas().sum(), 16.0, rtol=1e-9)


def test_partition_of_a_residual_block() -> None:
    torch.manual_seed(13)
    model = nn.Sequential(nn.Linear(2, 6), Residual(6), nn.Linear(6, 1))
    _check_partition(model, rs.Box(1.5))


def test_partition_of_conv_maxpool_batchnorm() -> None:
    torch.manual_seed(14)
    model = nn.Sequential(
        nn.Conv2d(1, 3, 3, padding=1),
        nn.BatchNorm2d(3),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(12, 2),
    )
    model = _randomize_bn(model).eval()
    images = np.random.default_rng(1).normal(size=(3, 1, 4, 4))
    part = _check_partition(model, rs.Plane(images))
    assert part.num_regions > 1
    assert np.isclose(part.areas().sum(), part.domain.area)


@pytest.mark.slow
def test_digits_example_runs(tmp_path) -> None:
    pytest.importorskip("sklearn")
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "examples" / "digits_cnn.py"
    spec = importlib.util.spec_from_file_location("digits_cnn_example", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    result = module.main(["--epochs", "1", "--out", str(tmp_path), "--margin", "0.0"])
    assert result["accuracy"] > 0.3  # one epoch is far better than chance (0.1)
    assert result["max_error"] < 1e-8
    assert result["regions"] > 1
    saved = rs.load(tmp_path / "digits_cnn.npz")
    assert saved.num_regions == result["regions"]
    np.testing.assert_array_equal(saved.vertices, result["partition"].vertices)


@pytest.mark.parametrize("how", ["module", "log_module", "function", "method"])
def test_final_softmax_becomes_argmax(how):
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 3))
            self.soft = nn.LogSoftmax(dim=1) if how == "log_module" else nn.Softmax(dim=-1)

        def forward(self, x):
            z = self.body(x)
            if how in ("module", "log_module"):
                return self.soft(z)
            if how == "function":
                return torch.nn.functional.softmax(z, dim=1)
            return z.softmax(dim=-1)

    torch.manual_seed(0)
    model = Net().eval()
    part = rs.partition(model, rs.Box(1.0))
    assert isinstance(part.layers[-1].layer, rs.Argmax)
    # the decision is the model's: the class of highest probability at interior points
    cent = part.centroids().copy()  # partition arrays are read-only
    with torch.no_grad():
        probs = model.double()(torch.from_numpy(cent)).numpy()
    classes = part.activation_patterns(len(part.layers) - 1)[:, 0]
    np.testing.assert_array_equal(classes, probs.argmax(axis=1))
    # the affine maps describe the logits
    a, c = part.affine_maps()
    with torch.no_grad():
        logits = model.body(torch.from_numpy(cent)).numpy()
    np.testing.assert_allclose(np.einsum("fwd,fd->fw", a, cent) + c, logits, atol=1e-10)


def test_softmax_before_the_end_is_refused():
    model = nn.Sequential(nn.Linear(2, 8), nn.Softmax(dim=1), nn.Linear(8, 3)).eval()
    with pytest.raises(TypeError, match="node 2 .*Softmax"):
        rs.partition(model, rs.Box(1.0))
