"""Near-degenerate arrangements: every mesh valid, whatever is snapped (issue 10, item 10).

Families of one-layer networks whose lines are perturbed, by 1e-6 down to
1e-15, from exactly degenerate positions: concurrent, repeated, parallel and
hugging a side of the box.  Strict mode (on for the whole suite) checks every
mesh: positive areas summing to the box's, no repeated corner, at most two
region sides per side, Euler's V - E + F = 1.

Where lines meet within their tolerance of one point, but not exactly, the
snapped complex may keep regions far smaller than the tolerance whose pattern
equals a neighbour's (in exact arithmetic those regions exist and differ by a
sign within rounding).  That is the one exception the checks below allow:
such twins are only ever thinner than ``TWIN_WIDTH`` (area over perimeter).
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import regionscope as rs
from regionscope.geometry import check_mesh
from regionscope.testing import check_partition, interior_points, tiny_lines

epsilons = st.sampled_from([10.0**-k for k in range(6, 16)])
#: twins (neighbours with equal patterns) are allowed only when thinner than this (the
#: tolerance is about 1e-11 of the units' scale, here of order one)
TWIN_WIDTH = 1e-10


def widths(part: rs.Partition) -> np.ndarray:
    """Area over perimeter of each region (half the width of a sliver)."""
    xy = part.vertices[part.region_vertices]
    nxt = part.vertices[part.region_vertices[part.mesh.incidence_next]]
    perimeter = np.add.reduceat(np.hypot(*(nxt - xy).T), part.region_offsets[:-1])
    return part.areas() / perimeter


def perturbed(rng: np.random.Generator, lines: np.ndarray, eps: float) -> np.ndarray:
    return lines + eps * rng.uniform(-1, 1, size=lines.shape)


def partition_checked(lines: np.ndarray) -> rs.Partition:
    part = rs.partition(tiny_lines(lines), rs.Box(1.0))  # strict mode: valid meshes
    check_mesh(part.mesh, part.domain.area)
    keys = part.pattern_keys()
    inner = part.edge_regions[part.edge_regions[:, 1] >= 0]
    twins = inner[keys[inner[:, 0]] == keys[inner[:, 1]]]
    assert (widths(part)[twins].min(axis=1, initial=np.inf) < TWIN_WIDTH).all()
    if len(twins) == 0:
        check_partition(part, n=1)
    else:  # every other invariant still holds: patterns at decided points, affine maps
        pts, owner = interior_points(part, n=1)
        got, sure = part.patterns_decided_at(pts)
        want = part.activation_patterns(1)[owner]
        assert not ((got[1] != want) & sure[1]).any()
        a, c = part.affine_maps()
        np.testing.assert_allclose(
            np.einsum("fwd,fd->fw", a[owner], pts) + c[owner], part.region_values(pts), atol=1e-9
        )
    return part


@settings(max_examples=40, deadline=None)
@given(st.integers(3, 8), epsilons, st.integers(0, 2**16))
def test_nearly_concurrent_lines(m, eps, seed):
    rng = np.random.default_rng(seed)
    p = rng.uniform(-0.8, 0.8, size=2)
    ang = rng.uniform(0, np.pi, m)
    normals = np.stack([np.cos(ang), np.sin(ang)], axis=1)
    lines = np.column_stack([normals, -(normals @ p)])
    part = partition_checked(perturbed(rng, lines, eps))
    assert part.num_regions >= 2 * m


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 4), epsilons, st.integers(0, 2**16))
def test_nearly_repeated_neurons(copies, eps, seed):
    rng = np.random.default_rng(seed)
    line = rng.uniform(-1, 1, size=3)
    line[:2] /= np.linalg.norm(line[:2])
    line[2] *= 0.5
    other = rng.uniform(-1, 1, size=(1, 3))
    scale = rng.uniform(0.5, 2.0, size=(copies, 1))
    reps = line[None] * scale * (1 + eps * rng.uniform(-1, 1, size=(copies, 3)))
    partition_checked(np.vstack([line[None], reps, other]))


@settings(max_examples=40, deadline=None)
@given(st.integers(2, 6), epsilons, st.integers(0, 2**16))
def test_nearly_parallel_lines(m, eps, seed):
    rng = np.random.default_rng(seed)
    ang = rng.uniform(0, np.pi)
    normal = np.array([np.cos(ang), np.sin(ang)])
    offsets = rng.uniform(-0.9, 0.9, size=m)
    lines = np.column_stack([np.tile(normal, (m, 1)), offsets])
    lines[:, :2] += eps * rng.uniform(-1, 1, size=(m, 2))
    partition_checked(np.vstack([lines, rng.uniform(-1, 1, size=(2, 3))]))


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 5), epsilons, st.integers(0, 4), st.integers(0, 2**16))
def test_lines_hugging_a_side_or_a_corner(m, eps, where, seed):
    rng = np.random.default_rng(seed)
    if where < 4:  # x = +-1 or y = +-1, tilted and shifted by about eps
        axis, sign = divmod(where, 2)
        base = np.zeros(3)
        base[axis] = 1.0
        base[2] = -1.0 if sign else 1.0
        lines = np.tile(base, (m, 1))
    else:  # through a corner of the box
        ang = rng.uniform(0, np.pi, m)
        lines = np.column_stack([np.cos(ang), np.sin(ang), -(np.cos(ang) + np.sin(ang))])
    lines = perturbed(rng, lines, eps)
    part = partition_checked(np.vstack([lines, rng.uniform(-1, 1, size=(2, 3))]))
    np.testing.assert_allclose(part.areas().sum(), 4.0, rtol=1e-12)


def test_four_lines_through_one_point_moved_by_1e_11():
    rng = np.random.default_rng(0)
    ang = np.array([0.1, 0.9, 1.7, 2.5])
    normals = np.stack([np.cos(ang), np.sin(ang)], axis=1)
    lines = np.column_stack([normals, -(normals @ [0.2, -0.3])])
    for _ in range(50):
        partition_checked(perturbed(rng, lines, 1e-11))


def test_300_nearly_repeated_neurons_plus_one_line():
    rng = np.random.default_rng(1)
    for _ in range(300):
        w = rng.normal(size=(1, 2))
        b = rng.normal(size=1) * 0.3
        rep = (w * (1 + 1e-12 * rng.normal(size=(1, 2))), b * (1 + 1e-12 * rng.normal()))
        net = rs.Sequential(
            rs.Linear(np.vstack([w, rep[0], rng.normal(size=(1, 2))]),
                      np.concatenate([b, rep[1], rng.normal(size=1) * 0.3])),
            rs.ReLU(),
        )  # fmt: skip
        check_partition(rs.partition(net, rs.Box(1.0)), n=1)
