"""The backend setting, and the same partitions from NumPy, the compiled kernels and torch."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import regionscope as rs
from regionscope import backends
from regionscope.backends import available_backends, backend, get_backend
from regionscope.compute import chain2d
from regionscope.errors import RegionLimitError
from regionscope.testing import check_partition, random_mlp, tiny_lines, tiny_star

HAS_NUMBA = "numba" in available_backends()
needs_numba = pytest.mark.skipif(not HAS_NUMBA, reason="numba is not installed")
HAS_TORCH = "torch" in available_backends()
needs_torch = pytest.mark.skipif(not HAS_TORCH, reason="torch is not installed")


@pytest.fixture
def environ(monkeypatch):
    """``environ(NAME=value or None)``: set (or unset) ``REGIONSCOPE_*`` variables and have
    regionscope read them again (they are read at import); undone after the test."""
    monkeypatch.setattr(backends, "_ENVIRONMENT", backends.read_environment())

    def change(**values):
        for name, value in values.items():
            if value is None:
                monkeypatch.delenv(name, raising=False)
            else:
                monkeypatch.setenv(name, value)
        backends.read_environment()

    return change


def test_backend_is_a_context_setting(environ):
    environ(REGIONSCOPE_BACKEND=None)
    default = get_backend()
    assert default == ("numba" if HAS_NUMBA else "numpy")
    with backend("numpy") as name:
        assert name == get_backend() == "numpy"
        with backend("auto"):
            assert get_backend() == default
        assert get_backend() == "numpy"
    assert get_backend() == default


def test_backend_is_per_thread(environ):
    environ(REGIONSCOPE_BACKEND=None)
    seen = []
    with backend("numpy"):
        worker = threading.Thread(target=lambda: seen.append(get_backend()))
        worker.start()
        worker.join()
    assert seen == [("numba" if HAS_NUMBA else "numpy")]


@pytest.mark.parametrize("bad", ["cuda", "NumPy", 3, None])
def test_unknown_backends_are_refused(bad):
    with pytest.raises(ValueError, match="backend must be one of"):
        with backend(bad):
            pass
    net = tiny_lines([[1, 0, 0]])
    if bad is not None:
        with pytest.raises(ValueError, match="backend must be one of"):
            rs.partition(net, backend=bad)


def test_the_environment_sets_the_default(environ):
    environ(REGIONSCOPE_BACKEND="numpy")
    assert get_backend() == "numpy"
    with backend("auto"):
        assert get_backend() == ("numba" if HAS_NUMBA else "numpy")
    environ(REGIONSCOPE_BACKEND="fast")
    with pytest.raises(ValueError, match="REGIONSCOPE_BACKEND must be one of"):
        get_backend()


def test_numba_asked_for_without_numba_names_the_extra(monkeypatch, environ):
    environ(REGIONSCOPE_BACKEND=None)
    monkeypatch.setattr(backends, "_numba_works", lambda: False)
    assert "numba" not in available_backends()
    with pytest.raises(ImportError, match=r"regionscope\[fast\]"):
        with backend("numba"):
            pass
    with backend("auto"):
        assert get_backend() == "numpy"  # auto falls back quietly


NETWORKS = {
    "relu": lambda: random_mlp([2, 16, 16, 8], 3),
    "deep": lambda: random_mlp([2, 8, 8, 8, 8, 8], 5),
    "wide": lambda: random_mlp([2, 120], 1),
    "argmax": lambda: random_mlp([2, 12, 12, 5], 7, argmax=True),
    "maxout": lambda: random_mlp([2, 6, 6], 2, maxout=3),
    "star": lambda: tiny_star(16),
    "lines": lambda: tiny_lines([[1, 0, 0], [2, 0, 0], [0, 1, -1], [1, -1, 0], [1, 1e-13, 0.5]]),
}
DOMAINS = {
    "box": lambda: rs.Box(1.0),
    "polygon": lambda: rs.Polygon([[-1, -1], [2, -0.5], [1, 1.5], [-1.5, 0.5]]),
}


@pytest.fixture(autouse=True)
def _driver_only(monkeypatch):
    """The backends' own cuts, bit for bit: the compiled chain of Linear and ReLU layers
    (its own matrix products) is held to the driver in ``tests/compute/test_chain2d.py``."""
    monkeypatch.setattr(chain2d, "CHAIN_2D", False)


def both(make_net, domain, other="numba"):
    out = [rs.partition(make_net(), domain, backend="numpy")]
    if other == "torch":  # every cut on the device, however small
        with backend("torch", device="cpu", host_below=0):
            out.append(rs.partition(make_net(), domain))
    else:
        out.append(rs.partition(make_net(), domain, backend=other))
    return out


def assert_same(a, b):
    x, y = a.to_arrays(), b.to_arrays()
    assert sorted(x) == sorted(y)
    for key in x:
        if key == "stats":  # timings
            continue
        assert np.array_equal(np.asarray(x[key]), np.asarray(y[key])), key
    for op in a.layers:
        if op.layer.piecewise:
            assert np.array_equal(a.activation_patterns(op.index), b.activation_patterns(op.index))


@needs_numba
@pytest.mark.parametrize("domain", sorted(DOMAINS))
@pytest.mark.parametrize("net", sorted(NETWORKS))
def test_every_network_is_cut_identically_by_both_backends(net, domain):
    a, b = both(NETWORKS[net], DOMAINS[domain]())
    assert_same(a, b)
    check_partition(b)


@needs_numba
def test_a_plane_through_three_points():
    images = np.random.default_rng(4).normal(size=(3, 6))
    net = random_mlp([6, 10, 10], 4)
    assert_same(*both(lambda: net, rs.Plane(images)))


@needs_numba
@settings(max_examples=12, deadline=None)
@given(
    st.lists(st.integers(1, 12), min_size=1, max_size=3),
    st.integers(0, 2**16),
    st.sampled_from(["relu", "argmax", "maxout"]),
)
def test_random_networks_are_cut_identically(widths, seed, kind):
    if kind == "argmax":  # hidden widths, then at least two classes
        widths = [*widths[:-1], max(widths[-1], 2)] if len(widths) > 1 else [*widths, 3]
    make = {
        "relu": lambda: random_mlp([2, *widths], seed),
        "argmax": lambda: random_mlp([2, *widths], seed, argmax=True),
        "maxout": lambda: random_mlp([2, *widths], seed, maxout=2),
    }[kind]
    assert_same(*both(make, rs.Box(1.0)))


@needs_numba
def test_the_region_limit_reads_the_same():
    messages = []
    for name in ("numpy", "numba"):
        with pytest.raises(RegionLimitError) as info:
            rs.partition(random_mlp([2, 40], 0), backend=name, max_regions=50)
        messages.append(str(info.value))
    assert messages[0] == messages[1]


# --------------------------------------------------------------------------------------
# the torch backend (torch on the CPU here; bench/gpu.py times a GPU)


@pytest.fixture
def one_torch_thread():
    torch = pytest.importorskip("torch")
    before = torch.get_num_threads()
    torch.set_num_threads(1)  # small shared test machines
    yield torch
    torch.set_num_threads(before)


@needs_torch
def test_torch_backend_carries_its_device(environ):
    import torch

    environ(REGIONSCOPE_DEVICE=None)
    assert backends.get_device() is None
    with backend("torch", device="cpu") as name:
        assert name == get_backend() == "torch"
        assert backends.get_device() == "cpu"
        with backend("numpy"):
            assert backends.get_device() is None
        assert backends.get_device() == "cpu"
    with backend("torch", device=torch.device("cpu")):
        assert backends.get_device() == "cpu"
    with backend("torch"):  # a GPU when there is one
        assert backends.get_device() == ("cuda" if torch.cuda.is_available() else "cpu")
    assert backends.get_device() is None
    environ(REGIONSCOPE_DEVICE="cpu")
    with backend("torch"):  # the environment's device
        assert backends.get_device() == "cpu"
    environ(REGIONSCOPE_BACKEND="torch")
    assert get_backend() == "torch" and backends.get_device() == "cpu"
    environ(REGIONSCOPE_DEVICE="tpu9")
    with pytest.raises(ValueError, match="REGIONSCOPE_DEVICE must name a torch device"):
        backends.get_device()


@needs_torch
def test_host_below_is_a_setting_of_the_torch_backend():
    from regionscope.tolerances import DEVICE_MIN_WORK

    assert backends.get_host_below() == DEVICE_MIN_WORK
    with backend("torch", device="cpu", host_below=7):
        assert backends.get_host_below() == 7
        with backend("torch", device="cpu"):  # inherited
            assert backends.get_host_below() == 7
        with backend("torch", device="cpu", host_below=0):
            assert backends.get_host_below() == 0
    assert backends.get_host_below() == DEVICE_MIN_WORK
    for bad, error, match in [
        (True, TypeError, "host_below must be an int"),
        ("10", TypeError, "host_below must be an int"),
        (-1, ValueError, "host_below must be >= 0"),
    ]:
        with pytest.raises(error, match=match), backend("torch", device="cpu", host_below=bad):
            pass
    with pytest.raises(ValueError, match="host_below is for backend 'torch' only"):
        with backend("numpy", host_below=3):
            pass


@needs_torch
def test_the_torch_backend_runs_the_host_part_compiled_where_numba_is(monkeypatch):
    from regionscope.geometry import cutting

    assert backends.compiled() == backends.chain_kernels() == (get_backend() == "numba")
    with backend("numpy"):
        assert not backends.compiled() and not backends.chain_kernels()
    with backend("torch", device="cpu"):
        assert backends.compiled() == HAS_NUMBA
        assert not backends.chain_kernels()  # a wide layer's cut goes to the device
    # cuts below host_below run on the host: compiled where numba is, the same bits
    calls = []
    compiled_cut = cutting._cut_once_compiled
    monkeypatch.setattr(
        cutting, "_cut_once_compiled", lambda *a: calls.append(1) or compiled_cut(*a)
    )
    monkeypatch.setattr(chain2d, "CHAIN_2D", True)  # (not taken on the torch backend)
    net, box = random_mlp([2, 12, 12, 6], 3), rs.Box(1.0)
    reference = rs.partition(net, box, backend="numpy")
    calls.clear()
    with backend("torch", device="cpu", host_below=10**9):
        host = rs.partition(random_mlp([2, 12, 12, 6], 3), box)
    relus = sum(op.layer.piecewise for op in reference.layers)
    assert relus == 3 and len(calls) == (relus if HAS_NUMBA else 0)  # a cut per layer
    assert "chain_seconds" not in host.timings
    assert_same(reference, host)


@pytest.mark.parametrize("seed", [0, 1])
def test_a_cnn_with_its_pool_head_is_cut_identically(monkeypatch, seed):
    from regionscope.compute import driver, undecided

    monkeypatch.setattr(driver, "LIVE_UNITS_MIN_WIDTH", 0)  # (the ReLU narrowed for the pool)
    folded = []
    real = undecided.narrow_for_pool
    monkeypatch.setattr(
        driver, "narrow_for_pool", lambda *a: (out := real(*a), folded.append(out[1].partial))[0]
    )
    monkeypatch.syspath_prepend(str(Path(__file__).parent / "compute"))
    from test_merge import plane as window  # (a window of a plane through three points)
    from test_merge import small_cnn  # conv, ReLU, conv, ReLU, pool, Linear, ReLU, Linear

    # where the tables live: the ReLU's narrowed input (driver) and the pool's (undecided)
    placed = []
    for module, name in (
        (driver, "tables_for"),
        (undecided, "tables_for"),
        (undecided, "tables_of"),
    ):
        real_place = getattr(module, name)
        monkeypatch.setattr(
            module,
            name,
            lambda v, f=real_place, m=module: (t := f(v), placed.append((m, t.device)))[0],
        )
    net, plane = small_cnn(seed, False, head=True), window(seed, 0.3)
    parts = [rs.partition(net, plane, backend="numpy")]
    names = ["numba"] * HAS_NUMBA + ["torch"] * HAS_TORCH
    for name in names:
        placed.clear()
        if name == "torch":
            with backend("torch", device="cpu", host_below=0):
                parts.append(rs.partition(net, plane))
            # (host_below=0: every table on the device, the ReLU's and the pool's)
            assert {m for m, _ in placed} == {driver, undecided}
            assert {d for _, d in placed} == {"cpu"}
        else:
            parts.append(rs.partition(net, plane, backend=name))
            assert placed and {d for _, d in placed} == {None}
    assert parts[0].num_regions > 20 and all(f > 0 for f in folded)  # the head's 5 columns
    for other in parts[1:]:
        assert_same(parts[0], other)
    check_partition(parts[0], n=2)


@needs_torch
def test_the_device_takes_cuts_of_at_least_host_below():
    # 3 pairs in region 0 (3 crossings at most), 2 in region 4 (1): 5 + 3 + 1 = 9
    pair_region = np.array([0, 0, 0, 4, 4])
    assert backends.device_for(pair_region) is None  # not the torch backend
    for limit, expected in [(0, "cpu"), (5, "cpu"), (9, "cpu"), (10, None), (10**6, None)]:
        with backend("torch", device="cpu", host_below=limit):
            assert backends.device_for(pair_region) == expected, limit
    with backend("torch", device="cpu", host_below=1):
        assert backends.device_for(np.zeros(0, dtype=np.int64)) is None
    with backend("torch", device="cpu"):  # the default: a one-region cut by 255 / 256 units
        assert backends.device_for(np.zeros(255, dtype=np.int64)) is None  # 255 + 32385
        assert backends.device_for(np.zeros(256, dtype=np.int64)) == "cpu"  # 256 + 32640


def test_auto_never_picks_torch(environ):
    environ(REGIONSCOPE_BACKEND=None)
    with backend("auto"):
        assert get_backend() in ("numpy", "numba")


@needs_torch
@pytest.mark.parametrize(
    ("name", "device", "error", "match"),
    [
        ("numpy", "cpu", ValueError, "device is for backend 'torch' only"),
        ("torch", "gpu0", ValueError, "device must name a torch device"),
        ("torch", "meta", ValueError, "device must be a cpu or cuda device"),
        ("torch", "mps", ValueError, "device must be a cpu or cuda device"),
        ("torch", 3, TypeError, "device must be a str or a torch.device"),
    ],
)
def test_bad_devices_are_refused(name, device, error, match):
    with pytest.raises(error, match=match):
        with backend(name, device=device):
            pass


@needs_torch
def test_a_cuda_device_without_a_gpu_is_refused():
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    with pytest.raises(ValueError, match="not available: no CUDA GPU"):
        with backend("torch", device="cuda"):
            pass


def test_torch_asked_for_without_torch_names_the_extra(monkeypatch, environ):
    environ(REGIONSCOPE_BACKEND=None)
    monkeypatch.setattr(backends, "torch_installed", lambda: False)
    assert "torch" not in available_backends()
    with pytest.raises(ImportError, match=r"regionscope\[torch\]"):
        with backend("torch"):
            pass
    environ(REGIONSCOPE_BACKEND="torch")
    with pytest.raises(ImportError, match=r"regionscope\[torch\]"):
        get_backend()


@needs_torch
@pytest.mark.parametrize("domain", sorted(DOMAINS))
@pytest.mark.parametrize("net", sorted(NETWORKS))
def test_every_network_is_cut_identically_by_torch(net, domain, one_torch_thread):
    a, b = both(NETWORKS[net], DOMAINS[domain](), other="torch")
    assert_same(a, b)
    check_partition(b)


@needs_torch
def test_the_region_limit_reads_the_same_with_torch(one_torch_thread):
    # the first layer passes the limit known before cutting; the second layer's cut stops
    limit = rs.partition(random_mlp([2, 12], 0), backend="numpy").num_regions + 5
    messages = []
    for name in ("numpy", "torch"):
        options = {"host_below": 0} if name == "torch" else {}
        with pytest.raises(RegionLimitError) as info, backend(name, **options):
            rs.partition(random_mlp([2, 12, 30], 0), max_regions=limit)
        messages.append(str(info.value))
    assert messages[0] == messages[1]
    assert "known before cutting" not in messages[0]


@needs_torch
def test_partition_takes_a_device(one_torch_thread):
    net = NETWORKS["relu"]()
    a = rs.partition(net, backend="numpy")
    with backend("torch", device="cpu", host_below=0):  # inherited by partition's backend
        assert_same(a, rs.partition(net, backend="torch", device="cpu"))
        assert_same(a, rs.partition(net, device="cpu"))  # a device alone means torch
    with pytest.raises(ValueError, match="device is for backend 'torch' only"):
        rs.partition(net, backend="numpy", device="cpu")
