"""sweep: one row per (model, domain), equal to partitions computed one by one; resumable."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import regionscope as rs
from regionscope.scale import SweepError, read_results, sweep

torch = pytest.importorskip("torch")


def torch_net(seed: int) -> Any:
    torch.manual_seed(seed)
    return torch.nn.Sequential(
        torch.nn.Linear(2, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3)
    ).double()


def wait_for_files(folder: Path, count: int, timeout: float = 60.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if len(list(folder.glob("*.json"))) >= count:
            return True
        time.sleep(0.02)
    return False


def area_sum(part: Any) -> float:
    return float(part.areas().sum()) if hasattr(part, "areas") else float(part.lengths().sum())


DOMAINS = {
    "box": rs.Box(1.5),
    "plane": rs.Plane([[0.0, 1.0], [1.0, -1.0], [-1.5, 0.5]]),
    "segment": rs.Segment([-1.0, -0.5], [1.0, 0.8]),
}


def check_one_by_one(frame: Any, models: dict[str, Any]) -> None:
    """Every row equals the partition computed on its own."""
    assert len(frame) == len(models) * len(DOMAINS)
    assert not frame.duplicated(["model", "domain"]).any()
    for row in frame.itertuples():
        part = rs.partition(models[row.model], DOMAINS[row.domain])
        assert row.num_regions == part.num_regions
        if isinstance(part, rs.Partition):
            assert (row.num_vertices, row.num_edges) == (part.num_vertices, part.num_edges)
        else:  # a segment: its breakpoints and both ends; its pieces
            assert (row.num_vertices, row.num_edges) == (
                len(part.breakpoints) + 2,
                part.num_regions,
            )
        assert row.area_sum == pytest.approx(area_sum(part), rel=1e-12)
        assert row.time > 0


def test_sweep_equals_partitions_one_by_one(make_net, tmp_path):
    # every kind of model: networks, a torch module, a state dict, checkpoints
    template = torch_net(0)
    trained = torch_net(1)
    torch.save(trained.state_dict(), tmp_path / "plain.pt")
    torch.save({"model_state_dict": torch_net(2).state_dict(), "epoch": 3}, tmp_path / "wrap.pt")
    rs.io.save_model(make_net(3, out=2), tmp_path / "net.npz")
    models = {
        "net": make_net(4, argmax=False),
        "torch": trained,
        "state": torch_net(5).state_dict(),
        "plain.pt": str(tmp_path / "plain.pt"),
        "wrap.pt": tmp_path / "wrap.pt",
        "net.npz": str(tmp_path / "net.npz"),
    }
    frame = sweep(
        models, DOMAINS, stats=["num_regions", "num_vertices", "num_edges", "time", area_sum],
        template=template, client="serial", progress=False,
    )  # fmt: skip
    assert list(frame.columns) == [
        "model", "domain", "num_regions", "num_vertices", "num_edges", "time", "area_sum",
    ]  # fmt: skip
    assert frame["model"].tolist() == [m for m in models for _ in DOMAINS]
    loaded = dict(models)
    loaded["state"] = torch_net(5)
    loaded["plain.pt"] = trained
    loaded["wrap.pt"] = torch_net(2)
    loaded["net.npz"] = rs.io.load_model(tmp_path / "net.npz")
    check_one_by_one(frame, loaded)


def test_sweep_on_a_dask_cluster(cluster, make_net, tmp_path):
    template = torch_net(0)
    torch.save(torch_net(6).state_dict(), tmp_path / "six.pt")
    models = {
        "a": make_net(7),
        "b": make_net(8, out=3, argmax=True),
        "six.pt": str(tmp_path / "six.pt"),
    }
    frame = sweep(
        models,
        DOMAINS,
        stats=[*rs.scale.specs.DEFAULT_STATS, area_sum],
        template=template,
        client=cluster,
        results=tmp_path / "out",
        progress=False,
    )
    loaded = {**models, "six.pt": torch_net(6)}
    check_one_by_one(frame, loaded)
    assert len(read_results(tmp_path / "out")) == len(frame)


def test_a_worker_killed_mid_sweep(cluster, make_net, tmp_path):
    models = {f"n{i}": make_net(10 + i) for i in range(8)}

    def slow_regions(part: Any) -> int:
        import time as clock

        clock.sleep(0.35)
        return part.num_regions

    victim = sorted(cluster.run(os.getpid).values())[0]
    killed = []

    def kill() -> None:
        if wait_for_files(tmp_path, 2):
            os.kill(victim, signal.SIGKILL)
            killed.append(victim)

    thread = threading.Thread(target=kill)
    thread.start()
    try:
        frame = sweep(
            models,
            [rs.Box(1.0)],
            stats={"regions": slow_regions, "time": "time"},
            client=cluster,
            results=tmp_path,
            progress=False,
        )
    finally:
        thread.join()
    assert killed == [victim]
    # every row once, none lost, each written once
    assert frame["model"].tolist() == list(models)
    assert len(read_results(tmp_path)) == len(models)
    for row in frame.itertuples():
        assert row.regions == rs.partition(models[row.model], rs.Box(1.0)).num_regions
    cluster.wait_for_workers(2, timeout=60)


def test_an_interrupted_sweep_resumes(cluster, make_net, tmp_path):
    models = {f"n{i}": make_net(20 + i) for i in range(6)}

    def slow_regions(part: Any) -> int:
        import time as clock

        clock.sleep(0.3)
        return part.num_regions

    def interrupt() -> None:
        if wait_for_files(tmp_path, 2):
            os.kill(os.getpid(), signal.SIGINT)  # as Ctrl-C would

    stats = {"regions": slow_regions}
    thread = threading.Thread(target=interrupt)
    thread.start()
    with pytest.raises(KeyboardInterrupt):
        try:
            sweep(
                models,
                [rs.Box(1.0)],
                stats=stats,
                client=cluster,
                results=tmp_path,
                progress=False,
            )
        finally:
            thread.join()
    before = {p.name: p.stat().st_mtime_ns for p in tmp_path.glob("*.json")}
    assert 2 <= len(before) < len(models)
    frame = sweep(
        models, [rs.Box(1.0)], stats=stats, client=cluster, results=tmp_path, progress=False
    )
    # only what was missing was computed; what was there was not written again
    assert frame.attrs["resumed"] == len(before)
    assert frame.attrs["computed"] == len(models) - len(before)
    after = {p.name: p.stat().st_mtime_ns for p in tmp_path.glob("*.json")}
    assert len(after) == len(models)
    assert all(after[name] == stamp for name, stamp in before.items())
    assert frame["model"].tolist() == list(models)
    for row in frame.itertuples():
        assert row.regions == rs.partition(models[row.model], rs.Box(1.0)).num_regions
    # a sweep with other statistics is another sweep: its tasks have other keys
    other = sweep(
        models,
        [rs.Box(1.0)],
        stats=["num_regions"],
        client="serial",
        results=tmp_path,
        progress=False,
    )
    assert other.attrs["computed"] == len(models)


def test_bad_input_names_the_task_and_keeps_the_rows(cluster, make_net, tmp_path):
    template = torch_net(0)
    (tmp_path / "broken.pt").write_bytes(b"this is not a checkpoint")
    wrong = torch.nn.Sequential(torch.nn.Linear(2, 5), torch.nn.ReLU(), torch.nn.Linear(5, 3))
    models = {
        "good": make_net(30),
        "broken.pt": str(tmp_path / "broken.pt"),
        "wrong shapes": wrong.state_dict(),
        "also good": make_net(31),
    }
    domains = {"small": rs.Box(0.5), "large": rs.Box(2.0)}
    out = tmp_path / "out"
    with pytest.raises(
        SweepError,
        match=r"4 of 8 tasks failed; first: model='(broken\.pt|"
        r"wrong shapes)', domain='(small|large)'",
    ) as info:
        sweep(models, domains, template=template, client=cluster, results=out, progress=False)
    err = info.value
    assert set(err.failures) == {(m, d) for m in ("broken.pt", "wrong shapes") for d in domains}
    assert err.frame["model"].tolist() == ["good", "good", "also good", "also good"]
    assert len(read_results(out)) == 4  # the finished rows are on disk too
    # skip: the other rows, and what failed
    frame = sweep(
        models,
        domains,
        template=template,
        client="serial",
        results=out,
        errors="skip",
        progress=False,
    )
    assert frame.attrs["resumed"] == 4 and frame.attrs["computed"] == 0
    assert len(frame.attrs["failures"]) == 4


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"models": "net"}, TypeError, "models must be a list or a dict"),
        ({"models": [3.0]}, TypeError, r"models\['model0'\] must be a regionscope network"),
        ({"models": []}, ValueError, "models is empty"),
        ({"domains": ["box"]}, TypeError, r"domains\[0\]"),
        ({"stats": ["regions"]}, ValueError, "unknown statistic 'regions'"),
        ({"stats": [3]}, TypeError, "a statistic must be a name or a function"),
        ({"stats": ["time", "time"]}, ValueError, "distinct names"),
        ({"errors": "ignore"}, ValueError, "errors must be"),
        ({"max_regions": 0}, ValueError, "max_regions"),
        ({"client": "threads"}, ValueError, "client must be"),
        ({"models": [{"0.weight": np.zeros((2, 2))}]}, ValueError, "needs template"),
        ({"models": {"0.weight": np.zeros((2, 2))}}, TypeError, "looks like one state dict"),
        ({"models": ["/no/such/file.pt"]}, FileNotFoundError, "no checkpoint file"),
    ],
)
def test_bad_arguments_are_refused_before_running(make_net, kwargs, error, match):
    args: dict[str, Any] = {
        "models": [make_net(1)],
        "domains": [rs.Box(1.0)],
        "client": "serial",
        "progress": False,
    }
    args.update(kwargs)
    with pytest.raises(error, match=match):
        sweep(args.pop("models"), args.pop("domains"), **args)


def test_a_statistic_must_be_a_scalar(make_net):
    with pytest.raises(SweepError, match="statistic 'areas' returned ndarray"):
        sweep(
            [make_net(1)],
            [rs.Box(1.0)],
            stats={"areas": lambda part: part.areas()},
            client="serial",
            progress=False,
        )


def test_read_results_skips_what_is_not_a_result(make_net, tmp_path):
    sweep([make_net(1)], [rs.Box(1.0)], client="serial", results=tmp_path, progress=False)
    (tmp_path / "notes.json").write_text("[1, 2]")
    (tmp_path / "half.json").write_text('{"format": "regionscope-sw')
    (tmp_path / "other.txt").write_text("hello")
    got = read_results(tmp_path)
    assert len(got) == 1
    (record,) = got.values()
    assert record["model"] == "model0" and record["row"]["num_regions"] > 0
    assert read_results(tmp_path / "missing") == {}
