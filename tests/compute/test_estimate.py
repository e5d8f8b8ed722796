"""The first layer's lines, counted before any cut, against the partitions themselves."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import regionscope as rs
import regionscope.compute.driver as driver
from regionscope.compute.estimate import interleaved_pairs
from regionscope.testing import random_mlp


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(st.floats(0, 100), st.floats(0, 100)), max_size=25))
def test_interleaved_pairs_against_every_pair(chords):
    ends = [tuple(sorted(c)) for c in chords]
    a = np.array([e[0] for e in ends], dtype=float)
    b = np.array([e[1] for e in ends], dtype=float)
    want = sum(
        1 for i, j in itertools.permutations(range(len(ends)), 2) if a[i] < a[j] < b[i] < b[j]
    )
    assert interleaved_pairs(a, b) == want


@pytest.mark.parametrize("ends", ["ties", "distinct"])
def test_interleaved_pairs_of_many_chords_against_every_pair(ends):
    rng = np.random.default_rng(3)
    for n in (2, 3, 64, 65, 300, 513):  # levels of the count with partial blocks
        if ends == "ties":  # repeated ends and repeated chords, some empty
            a = rng.integers(0, 12, n).astype(float)
            b = a + rng.integers(-1, 10, n)
        else:
            a, b = np.sort(rng.uniform(0, 4, (2, n)), axis=0)
        i, j = a[:, None], a[None, :]
        want = np.count_nonzero((i < j) & (j < b[:, None]) & (b[:, None] < b[None, :]))
        assert interleaved_pairs(a, b) == want


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10**6), width=st.integers(1, 60), plane=st.booleans())
def test_the_count_is_the_one_layer_partition(seed, width, plane):
    net = random_mlp([5 if plane else 2, width], seed=seed)
    rng = np.random.default_rng(seed)
    domain = rs.Plane(rng.normal(size=(3, 5))) if plane else rs.Box(1.0)
    est = rs.estimate(net, domain)
    part = rs.partition(net, domain)
    assert est.floor and est.units == width
    assert est.regions == part.num_regions  # lines in general position
    assert est.crossing == len(np.unique(part.edge_neuron[part.edge_layer == 1]))


def test_a_floor_for_deeper_networks_and_none_without_piecewise_layers():
    net = random_mlp([2, 20, 20, 3], seed=4)
    assert rs.estimate(net, rs.Box(1.0)).regions <= rs.partition(net, rs.Box(1.0)).num_regions
    assert rs.estimate(rs.Sequential(rs.Linear(np.eye(2))), rs.Box(1.0)) is None
    with pytest.raises(TypeError, match="2-D"):
        rs.estimate(net, rs.Interval(-1.0, 1.0))


def test_too_many_regions_stop_before_any_cut(monkeypatch):
    def no_cut(*args, **kwargs):
        raise AssertionError("cut should not run")

    monkeypatch.setattr(driver, "cut", no_cut)
    with pytest.raises(rs.RegionLimitError, match="known before cutting") as info:
        rs.partition(random_mlp([2, 200], seed=1), rs.Box(1.0), max_regions=1000)
    assert info.value.count > 1000 and "layer 1" in str(info.value)
    assert "window" in str(info.value) and "partition_tiles" in str(info.value)


def test_progress_reports_the_estimate_first(capsys, monkeypatch):
    monkeypatch.setitem(__import__("sys").modules, "tqdm", None)  # plain lines
    monkeypatch.setitem(__import__("sys").modules, "tqdm.auto", None)
    rs.partition(random_mlp([2, 10, 10], seed=2), rs.Box(1.0), progress=True)
    lines = capsys.readouterr().err.splitlines()
    assert "units cross the domain" in lines[0] and "at least" in lines[0]
    rs.partition(random_mlp([2, 10, 10], seed=2), rs.Box(1.0))  # not a terminal: quiet
    assert capsys.readouterr().err == ""


def test_small_networks_skip_the_count():
    from regionscope.compute import evaluator
    from regionscope.compute.estimate import first_layer_estimate
    from regionscope.network.program import compile_model

    box = rs.Box(1.0)
    ev = evaluator(box, compile_model(random_mlp([2, 10]), 2))
    full = first_layer_estimate(ev, box.polygon)
    assert first_layer_estimate(ev, box.polygon, above=10**6) is None  # 10 lines: <= 56
    assert first_layer_estimate(ev, box.polygon, above=full.regions - 1) == full
