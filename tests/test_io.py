"""Saving and loading partitions and networks."""

from __future__ import annotations

import os

import numpy as np
import pytest

import regionscope as rs
from regionscope.io import load_model, save_model
from regionscope.testing import random_mlp


@pytest.mark.parametrize(
    "domain",
    [rs.Box(1.0), rs.Polygon([[0, 0], [2, 0], [0, 2]]), "plane"],
)
def test_partition_round_trip(tmp_path, domain):
    rng = np.random.default_rng(0)
    if domain == "plane":
        domain = rs.Plane(rng.normal(size=(3, 2)))
    net = rs.Sequential(
        *random_mlp([2, 8, 8], seed=1).layers,
        rs.Residual(rs.Sequential(rs.Linear(rng.normal(size=(8, 8))), rs.ReLU())),
        rs.Linear(rng.normal(size=(3, 8))),
        rs.Argmax(),
    )
    part = rs.partition(net, domain)
    path = tmp_path / "part.npz"
    part.save(path)
    back = rs.load(path)
    for name in ["vertices", "region_vertices", "region_offsets", "edges", "edge_layer"]:
        np.testing.assert_array_equal(getattr(back, name), getattr(part, name))
    a1, c1 = part.affine_maps()
    a2, c2 = back.affine_maps()
    np.testing.assert_array_equal(a1, a2)
    np.testing.assert_array_equal(c1, c2)
    np.testing.assert_array_equal(back.pattern_keys(), part.pattern_keys())


def test_partition1d_round_trip(tmp_path):
    net = random_mlp([3, 6, 6], seed=2)
    part = rs.partition(net, rs.Segment(np.zeros(3), np.ones(3)))
    part.save(tmp_path / "p1")
    back = rs.load(tmp_path / "p1.npz")
    np.testing.assert_array_equal(back.points, part.points)
    assert isinstance(back.domain, rs.Segment)


def test_model_round_trip_and_no_pickles(tmp_path):
    net = random_mlp([2, 5, 4], seed=3, maxout=2)
    path = tmp_path / "net.npz"
    save_model(net, path)
    x = np.random.default_rng(0).normal(size=(7, 2))
    np.testing.assert_array_equal(load_model(path).forward(x), net.forward(x))
    # a file naming a class outside regionscope is refused, nothing is imported
    with np.load(path) as data:
        arrays = {k: data[k] for k in data.files}
    arrays["model"] = np.array(str(arrays["model"]).replace("regionscope.network.layers", "os"))
    np.savez(tmp_path / "evil.npz", **arrays)
    with pytest.raises(ValueError, match="not one of regionscope's own layers"):
        load_model(tmp_path / "evil.npz")
    with pytest.raises(ValueError, match="not a regionscope"):
        (tmp_path / "junk.npz").write_bytes(b"junk")
        load_model(tmp_path / "junk.npz")


def test_interrupted_save_leaves_old_file(tmp_path, monkeypatch):
    part = rs.partition(random_mlp([2, 4], seed=0), rs.Box(1.0))
    path = tmp_path / "p.npz"
    part.save(path)
    before = path.read_bytes()

    def boom(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(np, "savez_compressed", boom)
    with pytest.raises(KeyboardInterrupt):
        part.save(path)
    assert path.read_bytes() == before
    assert [p for p in os.listdir(tmp_path) if p != "p.npz"] == []


def test_unsavable_layer_is_named(tmp_path):
    class Custom(rs.ReLU):
        pass

    Custom.__module__ = "mypackage"
    part = rs.partition(rs.Sequential(rs.Linear(np.eye(2)), Custom()), rs.Box(1.0))
    with pytest.raises(TypeError, match="layer model.1 .*Custom"):
        part.save(tmp_path / "x.npz")
