"""Global and adaptive max-pooling, ``amax`` and ``max(dim)`` in the torch converter.

The converted network must compute what the model computes (against the
float64 model, independently of the converter's own check), the groups must
be torch's windows (against torch's own pooling as an oracle), what cannot be
converted is refused with a message, and partitions through such models must
carry the model's affine maps.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import regionscope as rs
from regionscope.network.layers import MaxPool
from regionscope.network.torch_import import convert
from regionscope.network.torch_import.maxima import (
    adaptive_max_groups,
    adaptive_windows,
    axes_max_groups,
)
from regionscope.testing import assert_partitions_equal, check_partition

torch = pytest.importorskip("torch")
nn = torch.nn
F = torch.nn.functional


def _reference(model: nn.Module, x: np.ndarray) -> np.ndarray:
    ref = copy.deepcopy(model).double().eval()
    with torch.no_grad():
        return ref(torch.from_numpy(x)).numpy().reshape(len(x), -1)


def _check(model: nn.Module, shape: tuple, n: int = 12) -> rs.Graph:
    graph = convert(model, shape)
    x = np.random.default_rng(7).normal(size=(n, *shape))
    got = graph.forward(x.reshape(n, -1))
    want = _reference(model, x)
    assert got.shape == want.shape
    # a maximum is one of its inputs: exact up to the float64 rounding of the layers before
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-12 * max(1.0, np.abs(want).max()))
    return graph


class Fn(nn.Module):
    """``fn`` applied to the input (no parameters)."""

    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, x):
        return self.fn(x)


def _maxpools(graph) -> list[MaxPool]:
    return [layer for _, layer, _ in graph.nodes if isinstance(layer, MaxPool)]


# ------------------------------------------------------------------ the groups


def test_axes_groups_by_hand() -> None:
    # shape (2, 2, 3): a global max over the last two axes is one group per channel
    np.testing.assert_array_equal(
        axes_max_groups((2, 2, 3), [1, 2]), [[0, 1, 2, 3, 4, 5], [6, 7, 8, 9, 10, 11]]
    )
    # over the middle axis: kept axes (0, 2) in C-major order
    np.testing.assert_array_equal(
        axes_max_groups((2, 2, 3), [1]), [[0, 3], [1, 4], [2, 5], [6, 9], [7, 10], [8, 11]]
    )
    for bad in ([], [0, 0], [3], [-1]):
        with pytest.raises(ValueError, match="axes"):
            axes_max_groups((2, 2, 3), bad)


def test_adaptive_windows_by_hand() -> None:
    # 7 -> 3: [0, 3), [2, 5), [4, 7) (overlapping, as in torch)
    start, stop = adaptive_windows(7, 3)
    np.testing.assert_array_equal(start, [0, 2, 4])
    np.testing.assert_array_equal(stop, [3, 5, 7])
    # exact division: disjoint windows of equal length
    start, stop = adaptive_windows(8, 4)
    np.testing.assert_array_equal(stop - start, [2, 2, 2, 2])
    np.testing.assert_array_equal(adaptive_max_groups((1, 2, 2), 1), [[0, 1, 2, 3]])
    np.testing.assert_array_equal(adaptive_max_groups((2, 2), None), [[0], [1], [2], [3]])
    for bad in (0, (1, 2, 3), (0, None)):
        with pytest.raises(ValueError, match="output"):
            adaptive_max_groups((1, 4, 4), bad)
    with pytest.raises(ValueError, match="spatial"):
        adaptive_max_groups((4,), 1)


@settings(max_examples=40, deadline=None)
@given(
    c=st.integers(1, 3),
    h=st.integers(1, 9),
    w=st.integers(1, 9),
    oh=st.one_of(st.none(), st.integers(1, 10)),
    ow=st.integers(1, 10),
    seed=st.integers(0, 2**16),
)
def test_adaptive_groups_match_torch(c, h, w, oh, ow, seed) -> None:
    """Any output size (smaller, larger, not dividing): torch's own pooling is the oracle."""
    x = np.random.default_rng(seed).normal(size=(4, c, h, w))
    groups = adaptive_max_groups((c, h, w), (oh, ow))
    got = MaxPool(groups).forward(x.reshape(4, -1))
    want = F.adaptive_max_pool2d(torch.from_numpy(x), (oh, ow)).numpy().reshape(4, -1)
    np.testing.assert_array_equal(got, want)


@settings(max_examples=30, deadline=None)
@given(
    shape=st.lists(st.integers(1, 4), min_size=1, max_size=4),
    data=st.data(),
)
def test_axes_groups_match_amax(shape, data) -> None:
    axes = data.draw(st.sets(st.integers(0, len(shape) - 1), min_size=1))
    x = np.random.default_rng(len(shape)).normal(size=(3, *shape))
    got = MaxPool(axes_max_groups(shape, sorted(axes))).forward(x.reshape(3, -1))
    dims = tuple(a + 1 for a in sorted(axes))
    want = torch.amax(torch.from_numpy(x), dim=dims).numpy().reshape(3, -1)
    np.testing.assert_array_equal(got, want)


# ------------------------------------------------------------------ conversion

FORMS = {
    "AdaptiveMaxPool2d(1)": nn.AdaptiveMaxPool2d(1),
    "AdaptiveMaxPool2d((2, None))": nn.AdaptiveMaxPool2d((2, None)),
    "AdaptiveMaxPool2d(3) of 5x4": nn.AdaptiveMaxPool2d(3),
    "F.adaptive_max_pool2d": Fn(lambda x: F.adaptive_max_pool2d(x, (2, 2))),
    "AdaptiveMaxPool1d": nn.Sequential(nn.Flatten(2), nn.AdaptiveMaxPool1d(3)),
    "F.adaptive_max_pool1d": Fn(lambda x: F.adaptive_max_pool1d(x.flatten(2), 1)),
    "torch.amax dim=(2,3)": Fn(lambda x: torch.amax(x, dim=(2, 3))),
    "x.amax((-2,-1), keepdim)": Fn(lambda x: x.amax((-2, -1), keepdim=True)),
    "x.amax(1)": Fn(lambda x: x.amax(1)),
    "torch.max(x, dim=2)[0]": Fn(lambda x: torch.max(x, dim=2)[0]),
    "torch.max(x, 3, True).values": Fn(lambda x: torch.max(x, 3, True).values),
    "x.max(1).values": Fn(lambda x: x.max(1).values),
    "x.max(dim=-1, keepdim=True)[0]": Fn(lambda x: x.max(dim=-1, keepdim=True)[0]),
    "values, _ = x.max(2)": Fn(lambda x: x.max(2)[0] * 2.0),
    "flatten(2).max(-1)": Fn(lambda x: x.flatten(2).max(-1)[0]),
}


@pytest.mark.parametrize("name", list(FORMS))
def test_forms_compute_the_model(name: str) -> None:
    graph = _check(FORMS[name], (3, 5, 4))
    assert len(_maxpools(graph)) == 1


def test_global_max_is_one_group_per_channel() -> None:
    for model in (nn.AdaptiveMaxPool2d(1), Fn(lambda x: x.amax(dim=(2, 3)))):
        (pool,) = _maxpools(_check(model, (3, 5, 4)))
        assert pool.groups.shape == (3, 20)
        np.testing.assert_array_equal(pool.groups, np.arange(60).reshape(3, 20))


def test_unused_indices_are_not_converted() -> None:
    def values_only(x):
        values, indices = torch.max(x, dim=1)
        return values

    _check(Fn(values_only), (4, 3))


class GlobalMaxCNN(nn.Module):
    def __init__(self, how: str):
        super().__init__()
        self.conv = nn.Conv2d(2, 4, 3, padding=1)
        self.bn = nn.BatchNorm2d(4)
        self.pool = nn.AdaptiveMaxPool2d(1) if how == "module" else nn.MaxPool2d((4, 5))
        self.how = how
        self.fc = nn.Linear(4, 3)

    def forward(self, x):
        h = F.relu(self.bn(self.conv(x)))
        if self.how == "amax":
            h = h.amax(dim=(-2, -1))
        elif self.how == "max":
            h = h.flatten(2).max(dim=2).values
        else:
            h = self.pool(h)
        return self.fc(h.flatten(1))


def _cnn(how: str) -> nn.Module:
    torch.manual_seed(3)
    model = GlobalMaxCNN(how)
    g = torch.Generator().manual_seed(4)
    with torch.no_grad():
        model.bn.running_mean.copy_(torch.randn(4, generator=g))
        model.bn.running_var.copy_(torch.rand(4, generator=g) + 0.5)
    return model.eval()


@pytest.mark.parametrize("how", ["module", "amax", "max"])
def test_cnn_with_global_max_converts(how: str) -> None:
    _check(_cnn(how), (2, 4, 5))


# ------------------------------------------------------------------ refused

REFUSED = [
    (Fn(lambda x: torch.max(x, 1)[1] * 1.0), r"node 2 'getitem'.*indices of torch\.max"),
    (Fn(lambda x: x.max(dim=1).indices * 1.0), r"'getattr_1'.*indices of x\.max\(dim\)"),
    (Fn(lambda x: torch.max(x, 0)[0]), r"'getitem'.*mixes or drops the batch axis"),
    (Fn(lambda x: x.amax(dim=0)), r"'amax'.*mixes or drops the batch axis"),
    (Fn(lambda x: x.amax()), r"'amax'.*mixes or drops the batch axis"),
    (Fn(lambda x: x.max()), r"'max_1'.*mixes or drops the batch axis"),
    (Fn(lambda x: torch.max(x, x * 2.0)), r"'max_1'.*elementwise maximum"),
    (Fn(lambda x: x.max(x * 2.0)), r"'max_1'.*elementwise maximum"),
    (
        nn.Sequential(nn.AdaptiveMaxPool2d(1, return_indices=True)),
        r"AdaptiveMaxPool2d\): .*return_indices",
    ),
    (Fn(lambda x: F.adaptive_max_pool2d(x, 1, return_indices=True)[0]), r"return_indices"),
    (Fn(lambda x: F.max_pool2d(x, 2, return_indices=True)[0]), r"return_indices"),
]


@pytest.mark.parametrize("model, message", REFUSED)
def test_refused(model: nn.Module, message: str) -> None:
    with pytest.raises(TypeError, match=message):
        convert(model, (2, 4, 4))


# ------------------------------------------------------------------ partitions


def _check_affine_at_centroids(part, model: nn.Module) -> None:
    a, c = part.affine_maps()
    u = part.centroids()
    got = np.einsum("fij,fj->fi", a, u) + c
    x = part.domain.lift(u).reshape(len(u), *part.domain.input_shape)
    want = _reference(model, x)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-9 * max(1.0, np.abs(want).max()))


def test_partition_through_three_inputs() -> None:
    model = _cnn("module")
    images = np.random.default_rng(5).normal(size=(3, 2, 4, 5))
    part = rs.partition(model, rs.Plane(images))
    assert part.num_regions > 1
    check_partition(part)
    _check_affine_at_centroids(part, model)
    # the global maximum's pattern says which position wins in each channel
    pool_layer = [i for i, op in enumerate(part.layers) if isinstance(op.layer, MaxPool)]
    assert len(pool_layer) == 1
    winners = part.activation_patterns(pool_layer[0])
    assert winners.shape == (part.num_regions, 4)
    assert ((winners >= 0) & (winners < 20)).all()


def test_global_max_forms_give_the_same_partition() -> None:
    """AdaptiveMaxPool2d(1), amax, max(dim).values and a full-size MaxPool2d agree."""
    images = np.random.default_rng(6).normal(size=(3, 2, 4, 5))
    plane = rs.Plane(images)
    parts = {how: rs.partition(_cnn(how), plane) for how in ("module", "amax", "max", "window")}
    for how in ("amax", "max", "window"):
        assert_partitions_equal(parts["module"], parts[how])


def test_partition_with_overlapping_adaptive_windows() -> None:
    """5x4 pooled to 3x3: windows of rows [0, 2), [1, 4), [3, 5) overlap and differ in size."""
    torch.manual_seed(8)
    model = nn.Sequential(
        nn.Conv2d(1, 2, 3, padding=1), nn.ReLU(), nn.AdaptiveMaxPool2d(3), nn.Flatten(),
        nn.Linear(18, 2),
    ).eval()  # fmt: skip
    (pool,) = _maxpools(convert(model, (1, 5, 4)))
    assert (pool.sizes != pool.sizes[0]).any()  # windows of several sizes
    part = rs.partition(model, rs.Plane(np.random.default_rng(9).normal(size=(3, 1, 5, 4))))
    check_partition(part)
    _check_affine_at_centroids(part, model)


def test_windows_of_one_entry_cut_nothing() -> None:
    """Pooling 3x4 to (None, None) keeps every entry: the regions are the ReLU's."""
    torch.manual_seed(10)
    body = [nn.Conv2d(1, 2, 3, padding=1), nn.ReLU()]
    images = np.random.default_rng(11).normal(size=(3, 1, 3, 4))
    pooled = nn.Sequential(*body, nn.AdaptiveMaxPool2d((None, None))).eval()
    plain = nn.Sequential(*body).eval()
    assert_partitions_equal(
        rs.partition(pooled, rs.Plane(images)), rs.partition(plain, rs.Plane(images))
    )
