"""Specs of a sweep: labels, stable keys, statistics, loading checkpoints."""

from __future__ import annotations

import numpy as np
import pytest

import regionscope as rs
from regionscope.scale.specs import (
    domain_specs,
    load_model,
    model_specs,
    stat_functions,
    stats_key,
    task_key,
)

torch = pytest.importorskip("torch")


def test_model_keys_follow_content(make_net, tmp_path):
    a, b = make_net(1), make_net(2)
    ka = model_specs([a], None)[0].key
    assert model_specs({"x": make_net(1)}, None)[0].key == ka  # same weights, same key
    assert model_specs([b], None)[0].key != ka
    module = torch.nn.Sequential(torch.nn.Linear(2, 3))
    specs = model_specs([module, module.state_dict()], module)
    assert [s.kind for s in specs] == ["torch", "state_dict"]
    path = tmp_path / "m.pt"
    torch.save(module.state_dict(), path)
    first = model_specs([str(path)], module)[0]
    assert first.label == "m.pt" and first.kind == "path"
    torch.save({"state_dict": module.state_dict()}, path)  # rewritten: another key
    assert model_specs([str(path)], module)[0].key != first.key
    # repeated labels are made unique
    assert [s.label for s in model_specs([str(path), str(path)], module)] == ["m.pt #0", "m.pt #1"]


def test_domain_labels_and_keys():
    specs = domain_specs([rs.Box(1.0), 2.0, rs.Box(1.0)])
    assert [s.label for s in specs] == ["Box(1.0) #0", "Box(2.0) #1", "Box(1.0) #2"]
    assert specs[0].key == specs[2].key != specs[1].key
    assert [s.label for s in domain_specs({"a": rs.Box(1.0)})] == ["a"]
    assert domain_specs(rs.Box(1.0))[0].domain.bounds == (-1.0, 1.0, -1.0, 1.0)


def regions_twice(part):
    return 2 * part.num_regions


def test_statistics_and_task_keys(make_net):
    stats = stat_functions(["num_regions", "time", regions_twice])
    assert [name for name, _ in stats] == ["num_regions", "time", "regions_twice"]
    named = stat_functions({"regions": "num_regions", "secs": "time"})
    assert [name for name, _ in named] == ["regions", "secs"] and named[1][1] == "time"
    m = model_specs([make_net(1)], None)[0]
    d = domain_specs([rs.Box(1.0)])[0]
    k = task_key(m, d, stats_key(stats))
    assert k == task_key(m, d, stats_key(stat_functions(["num_regions", "time", regions_twice])))
    assert k != task_key(m, d, stats_key(stat_functions(["num_regions"])))
    part = rs.partition(make_net(1), rs.Box(1.0))
    values = {
        name: fn(part)
        for name, fn in stat_functions(
            [
                "num_regions",
                "num_vertices",
                "num_edges",
                "mean_size",
                "min_size",
                "max_size",
                "decision_edges",
            ]
        )
    }
    assert values["num_regions"] == part.num_regions
    assert values["mean_size"] == pytest.approx(4.0 / part.num_regions)
    assert values["min_size"] == pytest.approx(part.areas().min())
    assert values["decision_edges"] == 0
    line = rs.partition(make_net(1), rs.Segment([-1.0, 0.0], [1.0, 0.0]))
    seg = {name: fn(line) for name, fn in stat_functions(["num_vertices", "num_edges"])}
    assert seg == {"num_vertices": len(line.breakpoints) + 2, "num_edges": line.num_regions}


def test_load_model_of_each_kind(make_net, tmp_path):
    template = torch.nn.Sequential(torch.nn.Linear(2, 4), torch.nn.ReLU()).double()
    other = torch.nn.Sequential(torch.nn.Linear(2, 4), torch.nn.ReLU()).double()
    torch.save({"model": other.state_dict()}, tmp_path / "c.pt")
    rs.io.save_model(make_net(3), tmp_path / "n.npz")
    specs = model_specs(
        [str(tmp_path / "c.pt"), str(tmp_path / "n.npz"), other.state_dict()], template
    )
    x = np.array([[0.3, -0.7], [1.0, 2.0]])
    want = other(torch.from_numpy(x)).detach().numpy()
    np.testing.assert_allclose(load_model(specs[0], (2,)).forward(x), want, rtol=1e-12)
    np.testing.assert_allclose(load_model(specs[2], (2,)).forward(x), want, rtol=1e-12)
    np.testing.assert_array_equal(load_model(specs[1], (2,)).forward(x), make_net(3).forward(x))
    (tmp_path / "bad.pt").write_bytes(b"junk")
    with pytest.raises(ValueError, match="bad.pt: not a readable torch checkpoint"):
        load_model(model_specs([str(tmp_path / "bad.pt")], template)[0], (2,))
    torch.save([1, 2, 3], tmp_path / "list.pt")
    with pytest.raises(ValueError, match="not a state dict"):
        load_model(model_specs([str(tmp_path / "list.pt")], template)[0], (2,))
