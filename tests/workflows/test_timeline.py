"""Timelines: frames equal partitions computed one by one, copies, matching by pattern."""

from __future__ import annotations

import numpy as np
import pytest

import regionscope as rs
from regionscope.testing import assert_partitions_equal
from regionscope.workflows.statistics import partition_stats
from regionscope.workflows.timeline import Timeline, match_patterns


def drifting_nets(count: int, seed: int = 0) -> list[rs.Sequential]:
    """One architecture, weights drifting a little from frame to frame (like training)."""
    rng = np.random.default_rng(seed)
    w1, b1 = rng.normal(size=(10, 2)), rng.normal(scale=0.5, size=10)
    w2, b2 = rng.normal(size=(3, 10)), rng.normal(scale=0.3, size=3)
    nets = []
    for _ in range(count):
        nets.append(rs.Sequential(rs.Linear(w1, b1), rs.ReLU(), rs.Linear(w2, b2), rs.Argmax()))
        w1 = w1 + rng.normal(scale=0.05, size=w1.shape)
        b1 = b1 + rng.normal(scale=0.05, size=b1.shape)
        w2 = w2 + rng.normal(scale=0.05, size=w2.shape)
    return nets


def same_row(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(
        a[k] == b[k] or (isinstance(a[k], float) and np.isnan(a[k]) and np.isnan(b[k])) for k in a
    )


def test_statistics_equal_partitions_one_by_one():
    nets = drifting_nets(4)
    box = rs.Box(1.5)
    tl = Timeline(box, nets, steps=[0, 10, 20, 40])
    table = tl.stats(near=0.1)
    assert [row["step"] for row in table] == [0, 10, 20, 40]
    for row, net in zip(table, nets, strict=True):
        alone = rs.partition(net, box)
        want = partition_stats(alone, near=0.1)
        assert same_row({k: row[k] for k in want}, want)
    for i, net in enumerate(nets):
        assert_partitions_equal(tl[i], rs.partition(net, box))
    # born / died / survived against the frame before
    assert table[0]["born"] is None
    for i in range(1, 4):
        change = tl.compare(tl.steps[i - 1], tl.steps[i])
        assert (table[i]["born"], table[i]["died"], table[i]["survived"]) == (
            len(change.born), len(change.died), len(change.survived),
        )  # fmt: skip
    frame = table.to_pandas()
    assert frame["regions"].tolist() == [p.num_regions for p in tl]


def test_local_complexity_in_every_frame():
    tl = Timeline(rs.Box(1.5), drifting_nets(3, seed=1))
    pts = np.random.default_rng(1).uniform(-1, 1, (20, 2))
    got = tl.local_complexity(pts, 0.2)
    assert got.shape == (3, 20)
    for i, part in enumerate(tl):
        assert got[i].tolist() == part.local_complexity(pts, 0.2).tolist()


def test_born_died_survived_by_hand():
    # units x and y - 0.5 (four regions), then x and y + 2 (the line leaves the box: the
    # second unit is on everywhere): the two regions above y = 0.5 survive
    a = rs.testing.tiny_lines([[1.0, 0.0, 0.0], [0.0, 1.0, -0.5]])
    b = rs.testing.tiny_lines([[1.0, 0.0, 0.0], [0.0, 1.0, 2.0]])
    tl = Timeline(rs.Box(1.0), [a, b], steps=[3, 7])
    change = tl.compare(3, 7)
    assert change.counts() == {"born": 0, "died": 2, "survived": 2}
    pa, pb = tl.partition_at(3), tl.partition_at(7)
    for fa, fb in change.survived:
        assert pa.centroids()[fa][1] > 0.5
        assert np.sign(pa.centroids()[fa][0]) == np.sign(pb.centroids()[fb][0])
    assert (pa.centroids()[change.died][:, 1] < 0.5).all()
    back = tl.compare(7, 3)
    assert back.counts() == {"born": 2, "died": 0, "survived": 2}


def test_survivors_share_patterns_and_counts_add_up():
    tl = Timeline(rs.Box(1.5), drifting_nets(3, seed=4))
    assert tl.steps == (0, 1, 2)
    change = tl.compare(0, 2)
    ka, kb = tl[0].pattern_keys(), tl[2].pattern_keys()
    assert (ka[change.survived[:, 0]] == kb[change.survived[:, 1]]).all()
    assert len(change.survived) + len(change.died) == tl[0].num_regions
    assert len(change.survived) + len(change.born) == tl[2].num_regions
    assert not np.isin(ka[change.died], kb).any()
    assert not np.isin(kb[change.born], ka).any()
    # survivors (same pattern) keep their colour: pattern colours come from the keys
    from regionscope.render import region_colors

    ca, cb = region_colors(tl[0]), region_colors(tl[2])
    assert np.array_equal(ca[change.survived[:, 0]], cb[change.survived[:, 1]])


def test_match_patterns():
    ia, ib = match_patterns(np.array([3, 1, 2], np.uint64), np.array([2, 4, 3, 9], np.uint64))
    assert ia.tolist() == [0, 2] and ib.tolist() == [2, 0]
    ia, ib = match_patterns(np.array([3], np.uint64), np.zeros(0, np.uint64))
    assert len(ia) == len(ib) == 0


def test_shared_value_scale():
    nets = drifting_nets(3, seed=2)
    tl = Timeline(rs.Box(1.0), nets)
    st = tl.shared_style(color_by="output", output=1)
    values = np.concatenate([p.region_values(p.centroids())[:, 1] for p in tl])
    assert st["vmin"] == pytest.approx(values.min()) and st["vmax"] == pytest.approx(values.max())
    assert tl.shared_style(color_by="output", vmin=-1.0, vmax=2.0)["vmin"] == -1.0
    assert "vmin" not in tl.shared_style(color_by="pattern")


torch = pytest.importorskip("torch")


def torch_mlp(seed: int) -> torch.nn.Module:
    torch.manual_seed(seed)
    return torch.nn.Sequential(
        torch.nn.Linear(2, 8), torch.nn.ReLU(), torch.nn.Linear(8, 8), torch.nn.ReLU(),
        torch.nn.Linear(8, 3),
    )  # fmt: skip


def test_record_copies_the_model():
    model = torch_mlp(0)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    tl = Timeline(rs.Box(2.0), argmax=True)
    tl.record(model, step=0)
    with torch.no_grad():  # "training" changes the weights in place afterwards
        for p in model.parameters():
            p.add_(0.3 * torch.randn_like(p))
    tl.record(model, step=1)
    fresh = torch_mlp(0)
    fresh.load_state_dict(before)
    want0 = rs.partition(fresh, rs.Box(2.0)).add(rs.Argmax())
    want1 = rs.partition(model, rs.Box(2.0)).add(rs.Argmax())
    assert_partitions_equal(tl[0], want0)
    assert_partitions_equal(tl[1], want1)
    assert tl[0].num_regions != tl[1].num_regions or not np.array_equal(
        tl[0].vertices, tl[1].vertices
    )


def test_state_dicts_load_into_a_copy_of_the_template():
    template = torch_mlp(0)
    kept = {k: v.clone() for k, v in template.state_dict().items()}
    others = [torch_mlp(s) for s in (1, 2)]
    tl = Timeline(rs.Box(1.0), [m.state_dict() for m in others], steps=[5, 6], model=template)
    for k, v in template.state_dict().items():  # the template is not changed
        assert torch.equal(v, kept[k])
    for part, m in zip(tl, others, strict=True):
        assert_partitions_equal(part, rs.partition(m, rs.Box(1.0)))
    with pytest.raises(TypeError, match="model=module"):
        Timeline(rs.Box(1.0)).add(others[0].state_dict())


def test_batch_norm_in_training_mode_is_read_in_eval_mode_and_the_mode_restored():
    model = torch.nn.Sequential(torch.nn.Linear(2, 6), torch.nn.BatchNorm1d(6), torch.nn.ReLU())
    model(torch.randn(64, 2))  # running statistics move away from the defaults
    model.train()
    tl = Timeline(rs.Box(1.0))
    tl.record(model)
    assert model.training
    assert_partitions_equal(tl[0], rs.partition(model.eval(), rs.Box(1.0)))


def test_input_checks():
    with pytest.raises(TypeError, match="2-D domain"):
        Timeline(rs.Interval(0.0, 1.0))
    with pytest.raises(TypeError, match="torch.nn.Module"):
        Timeline(rs.Box(1.0), model=rs.testing.tiny_cross())
    with pytest.raises(ValueError, match="steps has 1 entries for 2 models"):
        Timeline(rs.Box(1.0), drifting_nets(2), steps=[0])
    tl = Timeline(rs.Box(1.0), drifting_nets(1))
    with pytest.raises(ValueError, match="step 0 is already"):
        tl.add(drifting_nets(1)[0], step=0)
    with pytest.raises(TypeError, match="model must be"):
        tl.add("a model")
    with pytest.raises(ValueError, match="no step 5"):
        tl.partition_at(5)
    with pytest.raises(IndexError, match="out of range"):
        tl[3]
    with pytest.raises(ValueError, match="empty"):
        Timeline(rs.Box(1.0)).save_animation("x.gif")
