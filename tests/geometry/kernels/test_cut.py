"""The compiled cut gives exactly what the NumPy cut gives, degenerate cases included."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

pytest.importorskip("numba")

from regionscope.backends import backend  # noqa: E402
from regionscope.errors import RegionLimitError  # noqa: E402
from regionscope.geometry.check import check_mesh  # noqa: E402
from regionscope.geometry.cutting import cut  # noqa: E402
from regionscope.geometry.mesh import Mesh, encode_source  # noqa: E402

SQUARE = Mesh.from_polygon(np.array([[-1.0, -1.0], [1.0, -1.0], [1.0, 1.0], [-1.0, 1.0]]))
POINT_TOL = 1e-12 * math.sqrt(8)


def layer(mesh, abc, layer_index=0):
    """Cut ``mesh`` by the lines ``a x + b y + c`` (tolerances as the snapping rule's)."""
    abc = np.asarray(abc, dtype=np.float64).reshape(-1, 3)
    values = mesh.vertices @ abc[:, :2].T + abc[:, 2]
    tol = 1e-11 * np.abs(abc).sum(axis=1)
    return values, tol, encode_source(layer_index, np.arange(len(abc)))


def both(mesh, values, tol, codes, max_regions=100_000, active=None):
    out = []
    for name in ("numpy", "numba"):
        with backend(name):
            out.append(cut(mesh, values, tol, codes, POINT_TOL, max_regions, active))
    return out


def assert_same(a, b):
    for name in ("vertices", "region_vertices", "region_offsets", "incidence_source"):
        x, y = getattr(a.mesh, name), getattr(b.mesh, name)
        assert x.shape == y.shape and (x == y).all(), name
    assert a.mesh.num_corners == b.mesh.num_corners
    assert (a.region_parent == b.region_parent).all() and a.num_chords == b.num_chords
    assert len(a.interp) == len(b.interp)
    for p, q in zip(a.interp, b.interp, strict=True):
        assert all((u == v).all() for u, v in zip(p, q, strict=True))
    assert a.coincident.tolist() == b.coincident.tolist()


def two_layers(seed, n1, n2, degenerate):
    """A first layer of lines, then units affine on its regions (ReLUs of the first)."""
    rng = np.random.default_rng(seed)
    abc = rng.uniform(-1, 1, size=(n1, 3))
    if degenerate:
        abc[: n1 // 2, 2] = -(abc[: n1 // 2, :2] @ [0.25, -0.5])  # through one point
        abc[-1] = abc[0] * 3.0  # a repeated unit
        abc[-2] = [1.0, -1.0, 0.0]  # through two corners
    first = cut(SQUARE, *layer(SQUARE, abc), POINT_TOL, 100_000).mesh
    h = np.maximum(first.vertices @ abc[:, :2].T + abc[:, 2], 0.0)
    w = rng.uniform(-1, 1, size=(n1, n2))
    values = h @ w + rng.uniform(-1, 1, size=n2)
    scale = np.abs(w).sum(axis=0) * 3 + 1
    return first, values, 1e-11 * scale, encode_source(1, np.arange(n2))


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**20), st.integers(1, 12), st.integers(1, 12), st.booleans())
def test_random_two_layer_cuts_are_identical(seed, n1, n2, degenerate):
    mesh, values, tol, codes = two_layers(seed, max(n1, 3), n2, degenerate)
    a, b = both(mesh, values, tol, codes)
    assert_same(a, b)
    check_mesh(b.mesh, 4.0)


@pytest.mark.parametrize(
    "abc",
    [
        [[1, 0, 0], [0, 1, 0]],  # a cross
        [[math.cos(t), math.sin(t), 0] for t in np.linspace(0, math.pi, 12)[:-1]],  # a star
        [[1, 0, 0], [2, 0, 0], [-1, 0, 0]],  # one line three times
        [[1, -1, 0], [1, 1, 0]],  # the diagonals, through the corners
        [[0, 1, 1], [1, 0, 0.5]],  # one along a side
        [[1, 0, 0.3], [1, 1e-13, 0.3], [0, 1, 0]],  # nearly one line: cut one at a time
        [[1, 0, 1e-13], [1, 0, -1e-13], [0, 1, 0]],  # within the tolerance of each other
    ],
)
def test_degenerate_lines_are_cut_identically(abc):
    a, b = both(SQUARE, *layer(SQUARE, abc))
    assert_same(a, b)
    check_mesh(b.mesh, 4.0)
    # and a second layer across the first's vertices
    again = layer(b.mesh, [[1, 1, 0], [1, -2, 0.3], [0, 1, 1e-14]], 1)
    assert_same(*both(b.mesh, *again))


def test_active_pairs_only():
    values, tol, codes = layer(SQUARE, [[1, 0, 0], [0, 1, 0]])
    first = cut(SQUARE, values, tol, codes, POINT_TOL, 99).mesh
    values, tol, codes = layer(first, [[1, 1, 0.1], [1, -1, 0.2]], 1)
    active = np.zeros((first.num_regions, 2), dtype=bool)
    active[::2, 0] = active[1::2, 1] = True
    assert_same(*both(first, values, tol, codes, active=active))


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**20), st.integers(3, 10), st.integers(1, 6), st.floats(0.1, 0.9))
def test_cuts_of_some_pairs_only_are_identical(seed, n1, n2, share):
    # a chord of an allowed pair ends on sides of regions whose own pair was left out:
    # those regions gain a vertex on a side, found by the compiled cut's second look
    mesh, values, tol, codes = two_layers(seed, n1, n2, seed % 3 == 0)
    active = np.random.default_rng(seed).random((mesh.num_regions, n2)) < share
    a, b = both(mesh, values, tol, codes, active=active)
    assert_same(a, b)
    check_mesh(b.mesh, 4.0)


@pytest.mark.parametrize("limit", [3, 5, 6])
def test_region_limit_is_reported_alike(limit):
    values, tol, codes = layer(SQUARE, [[1, 0, 0], [0, 1, 0], [1, 1, 0.1]])
    errors = []
    for name in ("numpy", "numba"):
        with backend(name), pytest.raises(RegionLimitError) as info:
            cut(SQUARE, values, tol, codes, POINT_TOL, limit)
        errors.append((info.value.count, info.value.limit, str(info.value)))
    assert errors[0] == errors[1] and errors[0][0] > limit
