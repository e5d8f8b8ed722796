"""The geometric core on torch tensors: one cut on a CPU or a GPU, float64 throughout.

Used when the backend is ``"torch"`` (:func:`regionscope.backends.backend`,
``rs.backend("torch", device="cuda")``).  :func:`cut_once` is everything of a
cut after the crossed pairs (chord ends, side points, chords, crossings,
concurrent crossings, chord paths, faces, the new mesh and how its new
vertices mix old ones), as matrix-free array steps: sorts, prefix sums,
scatters, gathers and binary searches over flat tensors, with no loop over
regions.  The formulas are those of the NumPy reference term for term and
every order is total, so the result is the same, bit for bit.

Modules: ``ops`` (ragged-tensor helpers), ``ends`` (chord ends, side points,
chords), ``crossings`` (crossings, concurrent crossings, chord paths),
``faces`` (boundaries, successors, face cycles), ``cut`` (the whole step).
Needs torch (``pip install regionscope[torch]``).
"""

from __future__ import annotations

from .cut import cut_once

__all__ = ["cut_once"]
