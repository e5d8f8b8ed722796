"""Questions to a partition answered from its patterns and maps: affine maps of any layer,
classes, locate, patterns; by hand on tiny networks, against the per-corner reference, and
against the network's forward pass."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import regionscope as rs
from regionscope.geometry import decode_source
from regionscope.geometry.arrays import pack_bits, unpack_bits
from regionscope.network.conv import Conv, maxpool_groups
from regionscope.testing import random_mlp, tiny_cross


def cross_minus() -> rs.Sequential:
    """``relu(x) - relu(y)``: four quadrants, maps known by hand."""
    return rs.Sequential(*tiny_cross().layers, rs.Linear([[1.0, -1.0]]))


# ------------------------------------------------------------------------- by hand


def test_affine_maps_of_the_output_and_of_a_layer_by_hand():
    part = rs.partition(cross_minus(), rs.Box(1.0))
    pts = np.array([[0.5, 0.5], [0.5, -0.5], [-0.5, 0.5], [-0.5, -0.5]])
    f = part.locate(pts)
    assert len(set(f.tolist())) == 4
    a, c = part.affine_maps()  # the output: relu(x) - relu(y)
    np.testing.assert_array_equal(a[f, 0], [[1.0, -1.0], [1.0, 0.0], [0.0, -1.0], [0.0, 0.0]])
    np.testing.assert_array_equal(c[f], np.zeros((4, 1)))
    a1, c1 = part.affine_maps(layer=1)  # the ReLU's output: diag(x > 0, y > 0)
    np.testing.assert_array_equal(a1[f[1]], [[1.0, 0.0], [0.0, 0.0]])
    np.testing.assert_array_equal(a1[f[2]], [[0.0, 0.0], [0.0, 1.0]])
    sub_a, sub_c = part.affine_maps(regions=f[::-1])
    np.testing.assert_array_equal(sub_a, a[f[::-1]])
    np.testing.assert_array_equal(sub_c, c[f[::-1]])


def test_classes_locate_and_patterns_by_hand():
    logits = rs.Sequential(rs.Linear([[1.0, 0.0], [0.0, 1.0]]))  # class 0 where x > y
    part = rs.partition(logits, rs.Box(1.0)).with_decision()
    f = part.locate([[0.5, -0.5], [-0.5, 0.5]])
    assert part.classes()[f].tolist() == [0, 1]
    cross = rs.partition(tiny_cross(), rs.Box(1.0))
    g = cross.locate([[0.5, 0.5], [-0.5, 0.5]])
    assert cross.activation_patterns(1)[g].tolist() == [[True, True], [False, True]]
    # one layer asked alone, then all of them: the same
    np.testing.assert_array_equal(cross.activation_patterns(1), cross.activation_patterns()[1])


# ------------------------------------------------------------ the per-corner reference


def per_corner_patterns(part) -> dict[int, np.ndarray]:
    """Each layer's pattern from bits gathered at every corner, neutralised there, packed:
    the way before the bits were packed per vertex."""
    ev = part._ev  # noqa: SLF001 - the partition's own evaluator
    rv, off = part.region_vertices, part.region_offsets
    sources = part.mesh.incidence_source
    starts = off[:-1]
    bits: dict[int, np.ndarray] = {}

    def grab(op, result, args):
        if op.layer.piecewise:
            bits[op.index] = op.layer.corner_bits(args[0], ev.unit_tol[op.index])

    ev.run(part.vertices, collect=grab)
    layer_of, unit_of = decode_source(sources)
    prev = np.arange(len(rv)) - 1
    prev[starts] = np.append(starts[1:], len(rv)) - 1
    out = {}
    for i, b in bits.items():
        layer: Any = part.layers[i].layer
        at = b[rv]
        rows = np.concatenate([np.flatnonzero(layer_of == i), np.flatnonzero(layer_of[prev] == i)])
        units = np.concatenate([unit_of[layer_of == i], unit_of[prev][layer_of[prev] == i]])
        layer.neutral_bits(at, rows, units)
        every = layer.every_corner(part.layers[i].in_width)
        combined = np.empty((part.num_regions, b.shape[1]), dtype=bool)
        for cols, combine in ((every, np.bitwise_and), (~every, np.bitwise_or)):
            if cols.any():
                words = combine.reduceat(pack_bits(at[:, cols]), starts, axis=0)
                combined[:, cols] = unpack_bits(words, int(cols.sum()))
        out[i] = layer.pattern_from_bits(combined)
    rows = np.unique(np.concatenate([np.flatnonzero((p < 0).any(axis=1)) for p in out.values()]))
    if len(rows):
        inside = ev.patterns(part.centroids()[rows])
        for i, p in out.items():
            bad = (p[rows] < 0).any(axis=1)
            p[rows[bad]] = inside[i][bad]
    return out


def concurrent_lines() -> rs.Sequential:
    """Near-degenerate corners: five lines through (almost) one point, a HardTanh after."""
    angles = np.linspace(0.0, np.pi, 5, endpoint=False)
    w = np.stack([np.cos(angles), np.sin(angles)], axis=1)
    b = np.array([0.0, 1e-13, -1e-13, 0.0, 2e-13])
    return rs.Sequential(rs.Linear(w, b), rs.ReLU(), rs.Linear(np.ones((3, 5)) / 5), rs.HardTanh())


def small_cnn(seed: int) -> rs.Sequential:
    rng = np.random.default_rng(seed)
    conv = Conv(rng.normal(size=(2, 1, 3, 3)), rng.normal(size=2) * 0.1, in_shape=(1, 6, 6),
                padding=1)  # fmt: skip
    return rs.Sequential(
        conv, rs.ReLU(), rs.MaxPool(maxpool_groups((2, 6, 6), 2)),
        rs.Linear(rng.normal(size=(3, 18)) / 3), rs.LeakyReLU(0.1),
        rs.Linear(rng.normal(size=(4, 3))), rs.Argmax(),
    )  # fmt: skip


CASES = {
    "mlp": (lambda: random_mlp([2, 16, 16, 16], seed=1), rs.Box(1.0)),
    "maxout-argmax": (
        lambda: random_mlp([2, 8, 8, 3], seed=2, maxout=3, argmax=True),
        rs.Box(1.0),
    ),
    "near-degenerate": (concurrent_lines, rs.Box(1.0)),
    "cnn": (lambda: small_cnn(3), rs.Plane(np.random.default_rng(4).normal(size=(3, 1, 6, 6)))),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_patterns_equal_the_per_corner_reference(case):
    make, domain = CASES[case]
    part = rs.partition(make(), domain)
    want = per_corner_patterns(part)
    got = part.activation_patterns()
    assert got.keys() == want.keys()
    for i in got:
        np.testing.assert_array_equal(got[i], want[i])
        fresh = rs.partition(make(), domain)  # one layer asked alone
        np.testing.assert_array_equal(fresh.activation_patterns(i), want[i])


@pytest.mark.parametrize("case", sorted(CASES))
def test_affine_maps_agree_with_the_forward_pass_inside(case):
    make, domain = CASES[case]
    model = make()
    part = rs.partition(model, domain)
    u = part.centroids()
    x = domain.lift(u)
    for layer in range(len(part.layers)):
        a, c = part.affine_maps(layer)
        want = part.region_values(u, layer)
        got = np.einsum("fij,fj->fi", a, u) + c
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-9 * max(1.0, np.abs(want).max()))
    np.testing.assert_allclose(
        np.einsum("fij,fj->fi", *part.affine_maps()[:1], u) + part.affine_maps()[1],
        model.forward(x), rtol=1e-9, atol=1e-9,
    )  # fmt: skip


@pytest.mark.parametrize("case", sorted(CASES))
def test_locate_finds_each_centroid_in_its_own_region(case):
    make, domain = CASES[case]
    part = rs.partition(make(), domain)
    f = part.locate(part.centroids())
    assert (f == np.arange(part.num_regions)).mean() > 0.99  # thin regions may tie
    assert (f >= 0).all()


@pytest.mark.parametrize("case", sorted(CASES))
def test_locate_by_polygons_agrees_with_locate_by_patterns(case):
    make, domain = CASES[case]
    fresh = rs.partition(make(), domain)  # no pattern known: polygons first
    known = rs.partition(make(), domain)
    known.activation_patterns()  # patterns known: decided points by their pattern
    rng = np.random.default_rng(7)
    lo, hi = fresh.vertices.min(axis=0), fresh.vertices.max(axis=0)
    pts = lo + (hi - lo) * rng.random((300, 2))
    np.testing.assert_array_equal(fresh.locate(pts), known.locate(pts))
    # on corners: a region touching the vertex (within rounding of its polygon), either way
    verts = fresh.vertices[:50]
    for part in (rs.partition(make(), domain), known):
        f = part.locate(verts)
        assert (f >= 0).all()
        for v, region in zip(verts, f.tolist(), strict=True):
            poly = part.polygon(region)
            edge = np.roll(poly, -1, axis=0) - poly
            rel = v - poly
            cross = edge[:, 0] * rel[:, 1] - edge[:, 1] * rel[:, 0]
            assert (cross / np.hypot(edge[:, 0], edge[:, 1]) > -1e-9).all()
