"""Which side of a unit's zero set a region lies on, from what its corners say.

A piecewise layer's pattern entry for a unit (a ReLU on or off, a HardTanh
threshold passed or not) is a side of the unit's zero set.  At each corner of
a region, four bits say what the unit's value there tells (:func:`side_bits`);
combined over the corners (``or``, ``or``, ``or``, ``and``: :data:`SIDE_EVERY`)
they give the region's side (:func:`side_from_bits`).

Examples
--------
>>> import numpy as np
>>> corners = side_bits(np.array([[2.0], [-1e-13], [5e-12]]), 1e-11)  # one corner beyond
>>> combined = np.array([corners[:, :3].any(axis=0).tolist() + [corners[:, 3].all()]])
>>> side_from_bits(combined).tolist()
[[True]]
"""

from __future__ import annotations

import numpy as np

from regionscope.tolerances import NOISE_FRACTION

__all__ = ["SIDE_EVERY", "side_bits", "neutral_side_bits", "side_from_bits"]

#: which of the four side bits combine by ``and`` over a region's corners
SIDE_EVERY = np.array([False, False, False, True])


def side_bits(z: np.ndarray, t: np.ndarray | float) -> np.ndarray:
    """``(N, 4n)``: ``z > t``, ``z < -t``, ``z > noise``, ``z >= -noise`` for each unit.

    Combined over a region's corners (or, or, or, and), :func:`side_from_bits` says on which
    side of the unit's zero set the region lies: a corner beyond the tolerance decides; a
    region entirely inside the band (thinner than the tolerance) is on the positive side
    when its corners lean there by more than noise, and never for a unit that is zero up
    to rounding.
    """
    noise = NOISE_FRACTION * t
    return np.concatenate([z > t, z < -t, z > noise, z >= -noise], axis=1)


def neutral_side_bits(bits: np.ndarray, rows: np.ndarray, units: np.ndarray, n: int) -> None:
    """Make the bits of ``units`` at ``rows`` neutral where the corner is inside the band
    (a corner on the unit's own side: its lean says nothing).  In place."""
    inside = ~bits[rows, units] & ~bits[rows, n + units]
    rows, units = rows[inside], units[inside]
    bits[rows, 2 * n + units] = False  # neutral for "or"
    bits[rows, 3 * n + units] = True  # neutral for "and"


def side_from_bits(bits: np.ndarray) -> np.ndarray:
    """``(N, n) bool``: the side (True: positive) from combined :func:`side_bits`."""
    pos, neg, lean, nonneg = np.split(bits, 4, axis=1)
    return pos | (~neg & lean & nonneg)
