"""Tests of regionscope.render.colors: parsing, hex strings, palettes, colormaps."""

from __future__ import annotations

import numpy as np
import pytest

from regionscope.render import colors


def test_to_rgba_forms():
    assert colors.to_rgba("#f00") == (1.0, 0.0, 0.0, 1.0)
    assert colors.to_rgba("#00ff0080") == (0.0, 1.0, 0.0, 128 / 255)
    assert colors.to_rgba("Black") == (0.0, 0.0, 0.0, 1.0)
    assert colors.to_rgba("none")[3] == 0.0
    assert colors.to_rgba((0.1, 0.2, 0.3)) == (0.1, 0.2, 0.3, 1.0)
    assert colors.to_rgba("#ffffff", alpha=0.5) == (1.0, 1.0, 1.0, 0.5)
    for bad in ("#ggg", (1.0, 2.0, 0.0), (0.5,), 3):
        with pytest.raises(ValueError, match="colou?r"):
            colors.to_rgba(bad)


def test_hex_array_matches_to_hex():
    rng = np.random.default_rng(1)
    rgba = rng.uniform(size=(20, 4))
    assert colors.hex_array(rgba).tolist() == [colors.to_hex(tuple(c)) for c in rgba[:, :3]]
    for h in colors.hex_array(rgba):
        assert colors.to_hex(h) == h  # round trip through the parser


def test_categorical_colors_palette_then_hashes():
    idx = np.array([0, 1, len(colors.CATEGORICAL), len(colors.CATEGORICAL) + 1, 0])
    got = colors.categorical_colors(idx)
    assert got.shape == (5, 4)
    np.testing.assert_array_equal(got[0], colors.to_rgba(colors.CATEGORICAL[0]))
    np.testing.assert_array_equal(got[0], got[4])
    # beyond the palette: distinct, deterministic hash colours
    assert not np.array_equal(got[2], got[3])
    np.testing.assert_array_equal(got[2:4], colors.categorical_colors(idx[2:4]))


def test_builtin_colormaps_ends_and_clipping():
    viridis = colors.colormap()
    ends = viridis(np.array([-1.0, 0.0, 1.0, 2.0, np.nan]))
    np.testing.assert_allclose(ends[1], colors.to_rgba("#440154"))
    np.testing.assert_allclose(ends[2], colors.to_rgba("#fde725"))
    np.testing.assert_array_equal(ends[0], ends[1])  # clipped below
    np.testing.assert_array_equal(ends[3], ends[2])  # clipped above
    np.testing.assert_array_equal(ends[4], ends[1])  # nan shows as the low end
    with pytest.raises(TypeError, match="cmap"):
        colors.colormap(3)
