"""The directory of a tiled run: task digests, manifests, tile files, resuming."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

import regionscope as rs
from regionscope.scale.grid import tile_borders, whole_scales
from regionscope.scale.store import (
    MANIFEST_NAME,
    TASK_KEY,
    done_tiles,
    open_directory,
    read_members,
    store_tile,
    task_digest,
    tile_file,
)


def digest_of(net, domain=None, tiles=2, tol=None):
    domain = domain or rs.Box(1.0)
    xs, ys = tile_borders(domain, tiles)
    return task_digest(net, domain, xs, ys, whole_scales(domain), tol or {"point_rtol": 1e-12})


def test_the_digest_changes_with_everything_that_decides_the_tiles():
    net = rs.Sequential(rs.Linear([[1.0, 2.0]], [0.5]), rs.ReLU())
    base = digest_of(net)
    assert digest_of(rs.Sequential(rs.Linear([[1.0, 2.0]], [0.5]), rs.ReLU())) == base
    # one bit of one weight, the domain, the grid, the tolerances
    nudged = np.nextafter(2.0, 3.0)
    assert digest_of(rs.Sequential(rs.Linear([[1.0, nudged]], [0.5]), rs.ReLU())) != base
    assert digest_of(net, rs.Box(0.0, 1.0, -1.0, 1.0)) != base
    assert digest_of(net, tiles=(2, 3)) != base
    assert digest_of(net, tol={"point_rtol": 1e-11}) != base


def test_a_directory_belongs_to_one_task(tmp_path):
    open_directory(tmp_path / "a", "d1", {"note": "first"})
    with open(tmp_path / "a" / MANIFEST_NAME) as fh:
        assert json.load(fh) == {"digest": "d1", "note": "first"}
    open_directory(tmp_path / "a", "d1", {})  # the same task: kept
    with pytest.raises(ValueError, match="another task"):
        open_directory(tmp_path / "a", "d2", {})
    # tile files of an unknown task (no manifest) are not mixed with ours
    os.makedirs(tmp_path / "b")
    (tmp_path / "b" / tile_file((0, 0))).write_bytes(b"")
    with pytest.raises(ValueError, match="no task.json"):
        open_directory(tmp_path / "b", "d1", {})
    # an unreadable manifest is refused too
    os.makedirs(tmp_path / "c")
    (tmp_path / "c" / MANIFEST_NAME).write_text("{")
    with pytest.raises(ValueError, match="cannot be read"):
        open_directory(tmp_path / "c", "d1", {})


def test_done_tiles_are_whole_files_of_this_task(tmp_path):
    folder = str(tmp_path)
    summary = {"num_regions": np.array(4), "areas": np.arange(4.0)}
    store_tile(os.path.join(folder, tile_file((0, 0))), summary, {"x": np.ones(3)}, "mine")
    store_tile(os.path.join(folder, tile_file((1, 0))), summary, {}, "theirs")
    (tmp_path / tile_file((0, 1))).write_bytes(b"PK\x03\x04 truncated")
    done = done_tiles(folder, "mine", [(0, 0), (1, 0), (0, 1), (1, 1)])
    assert list(done) == [(0, 0)]
    np.testing.assert_array_equal(done[(0, 0)]["areas"], np.arange(4.0))
    assert read_members(os.path.join(folder, tile_file((0, 0))), [TASK_KEY])[TASK_KEY] == "mine"
    assert sorted(read_members(os.path.join(folder, tile_file((0, 0))), prefix="")) == [
        "summary/areas", "summary/num_regions", TASK_KEY, "x",
    ]  # fmt: skip
    # no temporary file is left behind
    assert not [n for n in os.listdir(folder) if n.endswith(".tmp")]


def test_a_worker_without_the_directory_sends_the_tile_back(tmp_path):
    from regionscope.scale.grid import tile_domains
    from regionscope.scale.store import compute_stored, keep_result, light_summary

    net = rs.Sequential(rs.Linear([[1.0, 0.0], [1.0, 1.0]], [0.1, -0.2]), rs.ReLU())
    box = rs.Box(1.0)
    xs, ys = tile_borders(box, 2)
    ij, tile = tile_domains(box, xs, ys)[0]
    args = (net, tile, ij, xs, ys, whole_scales(box), 100)
    here = compute_stored(str(tmp_path), "d", *args)  # written by the "worker"
    assert "areas" not in here and "border_areas" in here
    far = compute_stored(str(tmp_path / "elsewhere"), "d", *args)  # a directory it cannot see
    assert isinstance(far, tuple) and not (tmp_path / "elsewhere").exists()
    os.makedirs(tmp_path / "caller")
    kept = keep_result(str(tmp_path / "caller"), "d", ij, far)
    assert sorted(kept) == sorted(light_summary(far[0])) == sorted(here)
    for folder in (tmp_path, tmp_path / "caller"):
        got = done_tiles(str(folder), "d", [ij])
        np.testing.assert_array_equal(got[ij]["border_areas"], here["border_areas"])
        part = rs.load(folder / tile_file(ij))
        assert part.num_regions == int(here["num_regions"]) == 2  # x = -0.1 cuts [-1, 0]^2
