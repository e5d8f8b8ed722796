"""Engine: the same tasks in this process or on a Dask cluster; failures and interrupts."""

from __future__ import annotations

import math
import os
from typing import Any

import pytest

import regionscope as rs
from regionscope.scale.engine import Engine, snapshot_settings, with_settings


def square(x: int) -> int:
    if x < 0:
        raise ValueError(f"negative: {x}")
    return x * x


@pytest.mark.parametrize("where", ["serial", "dask"])
def test_results_and_failures_by_key(where, request):
    client = "serial" if where == "serial" else request.getfixturevalue("cluster")
    got: dict[Any, int] = {}
    with Engine(client) as engine:
        failed = engine.run(
            [(k, square, (k,)) for k in (3, -1, 4, -2)], got.__setitem__, max_in_flight=2
        )
    assert got == {3: 9, 4: 16}
    assert sorted(failed) == [-2, -1]
    assert isinstance(failed[-1], ValueError) and "negative: -1" in str(failed[-1])


def test_tasks_are_read_as_they_are_submitted(cluster):
    # a generator of tasks is consumed at most max_in_flight ahead of the results
    pulled: list[int] = []
    seen: list[tuple[int, int]] = []

    def tasks():
        for k in range(8):
            pulled.append(k)
            yield k, square, (k,)

    def arrived(key: int, value: int) -> None:
        seen.append((key, len(pulled)))

    with Engine(cluster) as engine:
        assert engine.run(tasks(), arrived, total=8, max_in_flight=2) == {}
    assert sorted(k for k, _ in seen) == list(range(8))
    # when a result arrives, at most 2 more tasks than results had been asked for
    for done, (_, asked) in enumerate(seen):
        assert asked <= done + 2 + 1


def test_settings_travel_to_the_workers(cluster):
    with rs.tolerance(value_rtol=1e-7), rs.budget(chunk_values=4321), rs.backend("numpy"):
        settings = snapshot_settings()
    fut = cluster.submit(with_settings, settings, _read_settings, pure=False)
    assert fut.result() == (1e-7, 4321, "numpy")
    assert rs.get_tolerance().value_rtol != 1e-7  # the caller's own settings are back


def _read_settings() -> tuple[float, int, str]:
    return rs.get_tolerance().value_rtol, rs.get_budget().chunk_values, rs.get_backend()


def test_a_worker_without_the_callers_backend_runs_its_own(monkeypatch):
    import regionscope.backends as backends

    settings = {**snapshot_settings(), "backend": {"name": "numba"}}
    monkeypatch.setattr(backends, "available_backends", lambda: ("numpy",))
    assert with_settings(settings, rs.get_backend) == "numpy"


def test_the_torch_device_travels_and_a_missing_one_falls_back():
    torch = pytest.importorskip("torch")
    from regionscope.backends import get_device

    with rs.backend("torch", device="cpu"):
        settings = snapshot_settings()
    assert settings["backend"] == {"name": "torch", "device": "cpu"}
    assert str(with_settings(settings, get_device)) == "cpu"
    if not torch.cuda.is_available():  # asked for a GPU this worker does not have
        away = {**settings, "backend": {"name": "torch", "device": "cuda"}}
        assert str(with_settings(away, get_device)) == "cpu"


def test_interrupt_cancels_what_is_left(cluster):
    done: list[int] = []

    def arrived(key: int, value: float) -> None:
        done.append(key)
        if len(done) == 2:
            raise KeyboardInterrupt

    with Engine(cluster) as engine, pytest.raises(KeyboardInterrupt):
        engine.run([(k, math.sqrt, (k,)) for k in range(20)], arrived, max_in_flight=3)
    assert len(done) == 2


@pytest.mark.parametrize(
    ("args", "error", "match"),
    [
        (("threads",), ValueError, "client must be"),
        ((3,), TypeError, "client must be a dask"),
        ((None, 0), ValueError, "workers must be a positive integer"),
        ((None, True), ValueError, "workers must be a positive integer"),
    ],
)
def test_bad_engines_are_refused(args, error, match):
    with pytest.raises(error, match=match):
        Engine(*args)


def environ(name: str) -> str | None:
    return os.environ.get(name)


def test_a_local_cluster_is_started_and_closed(monkeypatch):
    pytest.importorskip("distributed")
    # as after an earlier Dask cluster in this process (Dask's nanny writes it here)
    monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "65536")
    with Engine(None, workers=1) as engine:
        got: dict[int, int] = {}
        assert engine.run([(2, square, (2,))], got.__setitem__) == {}
        client = engine.client
        assert len(client.scheduler_info()["workers"]) == 1
        # the worker runs without Dask's malloc setting, with one BLAS thread
        assert list(client.run(environ, "MALLOC_TRIM_THRESHOLD_").values()) == [None]
        assert list(client.run(environ, "OMP_NUM_THREADS").values()) == ["1"]
    assert client.status in ("closed", "closing")
    assert got == {2: 4}
    assert os.environ["MALLOC_TRIM_THRESHOLD_"] == "65536"  # ours, put back
