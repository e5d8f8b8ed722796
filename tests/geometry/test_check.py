"""The validity check finds each kind of broken mesh."""

from __future__ import annotations

import numpy as np
import pytest

from regionscope.errors import InvalidMeshError
from regionscope.geometry.check import check_mesh, mesh_problems
from regionscope.geometry.mesh import Mesh

XY = np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]])


def mesh(rv, offsets, xy=XY, source=None):
    rv = np.array(rv)
    src = np.full(len(rv), -1) if source is None else np.array(source)
    return Mesh(xy, rv, np.array(offsets), src, 4)


def test_a_valid_mesh_has_no_problems():
    two = mesh([0, 1, 2, 0, 2, 3], [0, 3, 6], source=[-1, -1, 1 << 32, 1 << 32, -1, -1])
    assert mesh_problems(two, 1.0) == []
    check_mesh(two, 1.0)


@pytest.mark.parametrize(
    ("rv", "offsets", "source", "words"),
    [
        ([0, 3, 2, 1], [0, 4], None, "non-positive area"),  # clockwise
        ([0, 1, 2], [0, 3], None, "areas sum"),  # half the square is missing
        ([0, 1, 2, 0, 2, 3, 0, 2, 3], [0, 3, 6, 9], None, "more than two"),  # a region twice
        ([0, 1, 2, 1, 2, 3], [0, 3, 6], None, "outer boundary"),  # overlapping triangles
        ([0, 1, 2, 2, 3], [0, 5], None, "repeated"),
    ],
)
def test_each_broken_invariant_is_named(rv, offsets, source, words):
    bad = mesh(rv, offsets, source=source)
    with pytest.raises(InvalidMeshError, match=words):
        check_mesh(bad, 1.0, "layer 3")


def test_a_crack_is_found():
    # two triangles whose shared side is listed by one of them only (the other skips it)
    xy = np.vstack([XY, [[0.5, 0.5]]])
    bad = Mesh(xy, np.array([0, 1, 2, 4, 0, 2, 3]), np.array([0, 3, 7]),
               np.array([-1, -1, 1 << 32, 1 << 32, 1 << 32, -1, -1]), 4)  # fmt: skip
    assert any("one side only" in p for p in mesh_problems(bad, 1.0))


def test_euler_characteristic_is_checked():
    # a region listing a vertex twice, making an extra edge: V - E + F != 1
    bad = mesh([0, 1, 2, 3, 1, 2], [0, 6])
    assert any("Euler" in p for p in mesh_problems(bad, 1.0))


def test_coincident_vertices_are_found():
    xy = np.vstack([XY, XY[:1]])
    bad = Mesh(xy, np.array([0, 1, 2, 3]), np.array([0, 4]), np.full(4, -1), 4)
    assert any("no region's corner" in p for p in mesh_problems(bad, 1.0))
    assert any("coincide" in p for p in mesh_problems(bad, 1.0))


def test_invalid_faces_finds_clockwise_reflex_and_repeated_corners():
    from regionscope.geometry.check import invalid_faces

    xy = np.array([[0, 0], [1, 0], [1, 1], [0, 1], [0.5, 0.2]], dtype=float)
    faces = [
        [0, 1, 2, 3],  # group 0: a convex counter-clockwise square
        [0, 3, 2, 1],  # group 1: the same square, clockwise
        [0, 1, 2, 4],  # group 2: a right turn at corner 4 (reflex)
        [0, 1, 2, 1],  # group 3: corner 1 twice
        [0, 2, 3, 0],  # group 4 (not checked): corner 0 twice
    ]
    corners = np.concatenate(faces)
    offsets = np.append(0, np.cumsum([len(f) for f in faces]))
    group = np.arange(5)
    check = np.array([True, True, True, True, False])
    assert invalid_faces(group, offsets, corners, xy, check).tolist() == [1, 2, 3]
    assert len(invalid_faces(group, offsets, corners, xy, np.zeros(5, bool))) == 0
