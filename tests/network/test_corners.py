"""Corner bits combined per region: packed per vertex, the same as bits gathered per corner."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import regionscope as rs
from regionscope.geometry import BOUNDARY, encode_source
from regionscope.geometry.arrays import pack_bits, unpack_bits
from regionscope.network.corners import (
    combine_corners,
    on_own_sides,
    plain_sides,
    side_blocks,
    side_pattern,
)
from regionscope.network.layers import HardTanh, LeakyReLU, MaxPool, ReLU
from regionscope.testing import random_mlp


def per_corner(layer, width, bits, local, starts, on_sides=None, zero_units=None):
    """The reference: every corner's bits gathered whole, neutralised by the layer, packed."""
    at = bits[local]
    if on_sides is not None:
        layer.neutral_bits(at, *on_sides)
    if zero_units is not None and len(zero_units):
        rows = np.repeat(np.arange(len(at)), len(zero_units))
        layer.neutral_bits(at, rows, np.tile(zero_units, len(at)))
    every = layer.every_corner(width)
    out = np.empty((len(starts), bits.shape[1]), dtype=bool)
    for cols, combine in ((every, np.bitwise_and), (~every, np.bitwise_or)):
        if cols.any():
            words = combine.reduceat(pack_bits(at[:, cols]), starts, axis=0)
            out[:, cols] = unpack_bits(words, int(cols.sum()))
    return out


class OwnLayout(ReLU):
    """A layer whose neutral bits follow a layout regionscope does not know."""

    def neutral_bits(self, bits, rows, units):
        bits[rows, units] = ~bits[rows, units]


def random_case(rng, layer, width, nverts, nregions):
    # some units within their band at some vertices (values of 1e-14 against 1e-12)
    scale = rng.choice([1.0, 1e-14], (nverts, width))
    bits = layer.corner_bits(rng.normal(size=(nverts, width)) * scale, np.full(width, 1e-12))
    sizes = rng.integers(1, 6, nregions)
    local = rng.integers(0, nverts, sizes.sum())
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    k = int(rng.integers(0, 3 * len(local)))
    on_sides = (rng.integers(0, len(local), k), rng.integers(0, width, k))
    zero = rng.choice(width, int(rng.integers(0, min(width, 4) + 1)), replace=False)
    return bits, local, starts, on_sides, zero


LAYERS = [ReLU(), LeakyReLU(0.1), HardTanh(-0.5, 0.5), OwnLayout()]


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**31),
    which=st.integers(0, len(LAYERS) - 1),
    width=st.integers(1, 150),  # more than 64 units: several words, units sharing a word
)
def test_property_the_same_as_bits_gathered_per_corner(seed, which, width):
    rng = np.random.default_rng(seed)
    layer = LAYERS[which]
    bits, local, starts, on_sides, zero = random_case(rng, layer, width, 20, 30)
    want = per_corner(layer, width, bits.copy(), local, starts, on_sides, zero)
    got = combine_corners(layer, width, bits.copy(), local, starts, on_sides, zero)
    np.testing.assert_array_equal(got, want)


def test_max_pool_groups_need_no_neutral_bits():
    pool = MaxPool([[0, 1, 2], [3, 4, -1]])
    rng = np.random.default_rng(3)
    x = rng.normal(size=(12, 5))
    x[:4, 1] = x[:4, 0]  # ties
    bits = pool.corner_bits(x, np.full(2, 1e-12))
    local = rng.integers(0, 12, 30)
    starts = np.arange(0, 30, 3)
    sides = (np.arange(10), np.zeros(10, dtype=np.int64))
    got = combine_corners(pool, 5, bits, local, starts, sides)
    np.testing.assert_array_equal(got, per_corner(pool, 5, bits, local, starts, sides))


def test_a_corner_on_its_units_side_says_nothing_by_hand():
    relu = ReLU()
    # unit 0: within its band at vertex 0 but leaning positive (5e-13 against a band of
    # 1e-12 and a noise level of 1e-15); clearly negative at vertex 1
    bits = relu.corner_bits(np.array([[5e-13], [-1.0]]), np.array([1e-12]))
    one = np.array([0])
    # a region whose corner leans positive: on
    assert relu.pattern_from_bits(combine_corners(relu, 1, bits, np.array([0]), one)).tolist() == [
        [True]
    ]
    # the same corner on a side the unit made says nothing: off (the snapping rule)
    sides = (np.array([0]), np.array([0]))
    alone = combine_corners(relu, 1, bits, np.array([0]), np.array([0]), sides)
    assert relu.pattern_from_bits(alone).tolist() == [[False]]
    # with a corner beyond the band, that corner decides: off
    both = combine_corners(relu, 1, bits, np.array([0, 1]), np.array([0]), sides)
    assert relu.pattern_from_bits(both).tolist() == [[False]]


def test_side_blocks_of_the_known_layouts():
    assert side_blocks(ReLU(), 5) == (0,)
    assert side_blocks(LeakyReLU(0.2), 5) == (0,)
    assert side_blocks(HardTanh(), 5) == (0, 20)
    assert side_blocks(MaxPool([[0, 1]]), 2) == ()
    assert side_blocks(rs.Argmax(), 3) == ()
    assert side_blocks(OwnLayout(), 5) is None


@pytest.mark.parametrize("widths", [[2, 12, 12, 12], [2, 70, 70]])
def test_region_patterns_match_the_decided_patterns_inside(widths):
    part = rs.partition(random_mlp(widths, seed=len(widths)), rs.Box(1.0))
    pats = part.activation_patterns()
    inside, sure = part.patterns_decided_at(part.centroids())
    for i, p in pats.items():
        decided = sure[i]
        np.testing.assert_array_equal(p[decided], inside[i][decided])


def test_corners_on_their_units_sides_by_hand():
    # a square (corners 0..3, side k leaves corner k) and a triangle (corners 4..6)
    sources = np.array([
        encode_source(2, 5), BOUNDARY, encode_source(3, 1), encode_source(2, 7),
        encode_source(2, 9), encode_source(2, 9), BOUNDARY,
    ])  # fmt: skip
    corner, unit = on_own_sides(sources, np.array([0, 4]), 2)
    got = sorted(zip(corner.tolist(), unit.tolist(), strict=True))
    # a side by op 2 puts both its ends on that unit: the corner it leaves and the next one
    assert got == [(0, 5), (0, 7), (1, 5), (3, 7), (4, 9), (5, 9), (5, 9), (6, 9)]
    corner, unit = on_own_sides(sources, np.array([0, 4]), 3)
    assert sorted(zip(corner.tolist(), unit.tolist(), strict=True)) == [(2, 1), (3, 1)]


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**31 - 1), st.sampled_from(["relu", "leaky"]))
def test_property_side_pattern_is_the_side_bits_combined(seed, which):
    rng = np.random.default_rng(seed)
    layer = ReLU() if which == "relu" else LeakyReLU(0.2)
    assert plain_sides(layer)
    n, nverts, nregions = 7, 12, 9
    tol = rng.uniform(0.5, 2.0, size=n) * 1e-9
    # values far out, inside the band, leaning by more or less than noise, and exact zeros
    scale = rng.choice([1.0, 1e-9, 1e-12, 0.0], size=(nverts, n))
    z = rng.normal(size=(nverts, n)) * scale
    sizes = rng.integers(2, 5, size=nregions)
    local = rng.integers(0, nverts, size=int(sizes.sum()))
    starts = np.append(0, np.cumsum(sizes)[:-1])
    k = int(rng.integers(0, 12))
    on_sides = (rng.integers(0, len(local), size=k), rng.integers(0, n, size=k))
    want = layer.pattern_from_bits(
        combine_corners(layer, n, layer.corner_bits(z, tol), local, starts, on_sides)
    )
    np.testing.assert_array_equal(side_pattern(z, tol, local, starts, on_sides), want)


def test_layers_with_other_pieces_are_not_plain_sides():
    assert not plain_sides(HardTanh())
    assert not plain_sides(MaxPool([[0, 1]]))
