"""In-place operations in a torch model: followed exactly, or refused naming the operation.

An in-place operation whose result is not assigned (``F.relu_(h)``) changes
``h`` for every later use; the converted network must compute what the model
computes, or the conversion must say which operation it cannot follow and how
to write it instead.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest

import regionscope as rs
from regionscope.network.torch_import import convert

torch = pytest.importorskip("torch")
nn = torch.nn
F = torch.nn.functional


def _model_output(model: nn.Module, x: np.ndarray) -> np.ndarray:
    ref = copy.deepcopy(model).double()
    with torch.no_grad():
        return ref(torch.from_numpy(x.copy())).numpy().reshape(len(x), -1)


def _assert_converts_exactly(model: nn.Module, input_shape: tuple = (2,)) -> rs.Graph:
    graph = convert(model, input_shape)
    x = np.random.default_rng(7).normal(size=(32, *input_shape))
    want = _model_output(model, x)
    got = graph.forward(x.reshape(len(x), -1))
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-12 * max(1.0, np.abs(want).max()))
    return graph


class Body(nn.Module):
    """``fc1``, then ``change(h, x)`` (which changes ``h`` in place), then ``fc2(h)``."""

    def __init__(self, change, width: int = 6):
        super().__init__()
        self.fc1 = nn.Linear(2, width)
        self.fc2 = nn.Linear(width, 3)
        self.change = change

    def forward(self, x):
        h = self.fc1(x)
        self.change(h, x)  # the result is dropped: only the change of h counts
        return self.fc2(h)


def _iadd(h, x):
    g = h
    g += 0.7  # the same tensor as h: h changes too


def _imul(h, x):
    g = h
    g *= -2.0


def _isub_tensor(h, x):
    g = h
    g -= F.relu(h)


def _chain(h, x):
    F.relu_(h)
    h.mul_(3.0)
    h.sub_(0.25)
    h.clamp_(max=1.0)


CHANGES = {
    "F.relu_": lambda h, x: F.relu_(h),
    "torch.relu_": lambda h, x: torch.relu_(h),
    "h.relu_()": lambda h, x: h.relu_(),
    "h.clamp_(min=0)": lambda h, x: h.clamp_(min=0),
    "h.clamp_(-0.3, 0.4)": lambda h, x: h.clamp_(-0.3, 0.4),
    "h.clamp_(min=0.2)": lambda h, x: h.clamp_(min=0.2),
    "h.clamp_(max=-0.1)": lambda h, x: h.clamp_(max=-0.1),
    "torch.clamp_(h, min=0)": lambda h, x: torch.clamp_(h, min=0),
    "h.clamp_min_(0.1)": lambda h, x: h.clamp_min_(0.1),
    "h.mul_(2)": lambda h, x: h.mul_(2),
    "h.add_(1)": lambda h, x: h.add_(1),
    "h.sub_(0.5)": lambda h, x: h.sub_(0.5),
    "h.div_(4)": lambda h, x: h.div_(4),
    "h.neg_()": lambda h, x: h.neg_(),
    "F.relu(h, inplace=True)": lambda h, x: F.relu(h, inplace=True),
    "F.relu(h, True)": lambda h, x: F.relu(h, True),
    "F.leaky_relu_(h, 0.2)": lambda h, x: F.leaky_relu_(h, 0.2),
    "F.leaky_relu(h, 0.2, True)": lambda h, x: F.leaky_relu(h, 0.2, True),
    "F.hardtanh_(h)": lambda h, x: F.hardtanh_(h),
    "F.relu6(h, inplace=True)": lambda h, x: F.relu6(h, inplace=True),
    "g = h; g += 0.7": _iadd,
    "g = h; g *= -2": _imul,
    "g = h; g -= F.relu(h)": _isub_tensor,
    "relu_, mul_, sub_, clamp_": _chain,
}


@pytest.mark.parametrize("name", list(CHANGES))
def test_inplace_change_is_followed(name: str) -> None:
    torch.manual_seed(0)
    graph = _assert_converts_exactly(Body(CHANGES[name]))
    assert len(graph.nodes) > 2  # the change is a layer between fc1 and fc2


@pytest.mark.parametrize(
    "module",
    [
        nn.ReLU(inplace=True),
        nn.LeakyReLU(0.3, inplace=True),
        nn.ReLU6(inplace=True),
        nn.Hardtanh(-0.5, 0.5, inplace=True),
    ],
)
def test_inplace_module_is_followed(module: nn.Module) -> None:
    class ModuleBody(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = nn.Linear(2, 6)
            self.act = module
            self.fc2 = nn.Linear(6, 3)

        def forward(self, x):
            h = self.fc1(x)
            self.act(h)  # changes h
            return self.fc2(h)

    torch.manual_seed(1)
    graph = _assert_converts_exactly(ModuleBody())
    assert [name for name, _, _ in graph.nodes] == ["fc1", "act", "fc2"]


class Residual(nn.Module):
    """``out += x`` where ``out`` is also kept under another name."""

    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(2, 2)
        self.fc2 = nn.Linear(2, 2)

    def forward(self, x):
        out = self.fc1(x)
        skip = out
        out += self.fc2(x)  # skip changes too
        return F.relu(out) - skip


def test_augmented_assignment_on_a_tensor_used_later() -> None:
    torch.manual_seed(2)
    _assert_converts_exactly(Residual())


class InputChange(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(2, 3)

    def forward(self, x):
        x.relu_()
        return self.fc(x)


def test_inplace_change_of_the_input() -> None:
    torch.manual_seed(3)
    graph = _assert_converts_exactly(InputChange())
    assert [name for name, _, _ in graph.nodes] == ["relu_", "fc"]


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(2, 4)

    def forward(self, x):
        h = self.fc(x)
        F.relu_(h)
        return h


class Outer(nn.Module):
    def __init__(self):
        super().__init__()
        self.block = Block()
        self.fc = nn.Linear(4, 1)

    def forward(self, x):
        h = self.block(x)
        h.mul_(-1.0)  # after the block returned: not part of its output
        return self.fc(h)


def test_until_sees_changes_inside_the_module_only() -> None:
    torch.manual_seed(4)
    model = Outer()
    _assert_converts_exactly(model)
    graph = convert(model, (2,), until="block")
    assert [name for name, _, _ in graph.nodes] == ["block.fc", "relu_"]
    x = np.random.default_rng(0).normal(size=(9, 2))
    with torch.no_grad():
        want = F.relu(copy.deepcopy(model).double().block.fc(torch.from_numpy(x))).numpy()
    np.testing.assert_allclose(graph.forward(x), want, atol=1e-12)


# ------------------------------------------------------------------ refused


class ViewThenChange(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(2, 4)

    def forward(self, x):
        h = self.fc(x)
        v = h.view(-1, 2, 2)  # shares h's memory
        F.relu_(h)
        return v.flatten(1)


class IdentityThenChange(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(2, 4)
        self.same = nn.Identity()

    def forward(self, x):
        h = self.fc(x)
        y = self.same(h)  # h itself
        h.add_(1.0)
        return y - 0.5 * h


class ParameterChange(nn.Module):
    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.randn(3, 2))
        self.b = nn.Parameter(torch.zeros(3))

    def forward(self, x):
        self.b.add_(1.0)
        return F.linear(x, self.w, self.b)


class NumberAlias(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(2, 3)

    def forward(self, x):
        n = x.shape[1]
        m = n
        n += 1  # numbers do not change in place: m keeps its value
        return self.fc(x) * m


REFUSED = [
    (
        ViewThenChange(),
        r"node 3 'relu_' \(function 'torch\.relu_'\): it changes 'fc' in place, and 'view'"
        r".*shares its memory.*h = torch\.relu\(h",
    ),
    (
        IdentityThenChange(),
        r"node 3 'add_' \(method '\.add_\(\)'\): it changes 'fc' in place, and 'same'"
        r".*h = h\.add\(",
    ),
    (ParameterChange(), r"node 2 'add_' \(method '\.add_\(\)'\).*parameter or buffer 'b'"),
    (NumberAlias(), r"node 3 'iadd' \(function 'operator\.iadd'\).*'getitem'.*h = h \+ y"),
]


@pytest.mark.parametrize("model, message", REFUSED)
def test_inplace_change_that_cannot_be_followed_is_refused(model: nn.Module, message: str):
    with pytest.raises(TypeError, match=message):
        convert(model, (2,))


def test_unsupported_inplace_method_is_named() -> None:
    with pytest.raises(TypeError, match=r"'zero_' \(method '\.zero_\(\)'\): not a supported"):
        convert(Body(lambda h, x: h.zero_()), (2,))


# ------------------------------------------------------------------ partitions


class TwoLayer(nn.Module):
    def __init__(self, inplace: bool):
        super().__init__()
        self.fc1 = nn.Linear(2, 8)
        self.fc2 = nn.Linear(8, 8)
        self.out = nn.Linear(8, 2)
        self.inplace = inplace

    def forward(self, x):
        h = self.fc1(x)
        if self.inplace:
            F.relu_(h)
        else:
            h = F.relu(h)
        g = self.fc2(h)
        if self.inplace:
            F.relu_(g)
        else:
            g = F.relu(g)
        return self.out(g)


def test_partition_with_relu_inplace_equals_relu() -> None:
    torch.manual_seed(5)
    plain = TwoLayer(inplace=False)
    inplace = TwoLayer(inplace=True)
    inplace.load_state_dict(plain.state_dict())
    part = rs.partition(inplace, rs.Box(1.0))
    ref = rs.partition(plain, rs.Box(1.0))
    assert part.num_regions == ref.num_regions > 1
    cent = part.centroids()
    a, c = part.affine_maps()
    ra, rc = ref.affine_maps()
    idx = ref.locate(cent)
    assert (idx >= 0).all() and len(set(idx.tolist())) == part.num_regions
    np.testing.assert_allclose(a, ra[idx], atol=1e-12)
    np.testing.assert_allclose(c, rc[idx], atol=1e-12)
    points = np.random.default_rng(0).uniform(-1.0, 1.0, size=(200, 2))
    want = _model_output(plain, points)
    np.testing.assert_allclose(part.region_values(points), want, atol=1e-12)
    np.testing.assert_allclose(part.region_values(points), _model_output(inplace, points))
