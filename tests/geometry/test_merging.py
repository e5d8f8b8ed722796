"""Merging regions with equal keys, and dropping degree-two vertices."""

from __future__ import annotations

import numpy as np
import pytest

from regionscope.geometry.cutting import cut
from regionscope.geometry.merging import drop_degree_two, merge
from regionscope.geometry.mesh import Mesh, decode_source, encode_source

pytestmark = pytest.mark.usefixtures("both_backends")

SQUARE = Mesh.from_polygon(np.array([[-1.0, -1.0], [1.0, -1.0], [1.0, 1.0], [-1.0, 1.0]]))


def quadrants():
    values = np.stack([SQUARE.vertices[:, 0], SQUARE.vertices[:, 1]], axis=1)
    return cut(SQUARE, values, np.zeros(2), encode_source(0, np.arange(2)), 1e-12, 99).mesh


def test_merge_by_sign_of_x_leaves_two_halves_and_drops_the_centre():
    mesh = quadrants()
    key = (mesh.centroids[:, 0] > 0).astype(int)
    removable = decode_source(mesh.incidence_source)[1] == 1  # sides made by unit y
    merged, group, kept = merge(mesh, key, removable)
    assert merged.num_regions == 2
    np.testing.assert_allclose(np.sort(merged.areas), [2.0, 2.0])
    assert len(np.unique(group)) == 2 and (group[key == 0] == group[key == 0][0]).all()
    # the side midpoints on x = +-1 and the centre lie in the middle of straight sides now
    assert merged.num_vertices == 6 and kept.sum() == 6


def test_merge_respects_removable_and_keys():
    mesh = quadrants()
    same = np.zeros(mesh.num_regions, dtype=int)
    merged, _, _ = merge(mesh, same, np.zeros(len(mesh.region_vertices), dtype=bool))
    assert merged is mesh  # nothing removable
    merged, _, _ = merge(
        mesh, np.arange(mesh.num_regions), np.ones(len(mesh.region_vertices), bool)
    )
    assert merged is mesh  # all keys differ


def test_drop_degree_two_keeps_domain_corners():
    # the square with a redundant vertex in the middle of its bottom side
    xy = np.array([[-1.0, -1.0], [1.0, -1.0], [1.0, 1.0], [-1.0, 1.0], [0.0, -1.0]])
    mesh = Mesh(xy, np.array([0, 4, 1, 2, 3]), np.array([0, 5]), np.full(5, -1), 4)
    out, used = drop_degree_two(mesh)
    assert out.num_vertices == 4 and used.tolist() == [True] * 4 + [False]
    np.testing.assert_allclose(out.areas, [4.0])
