"""Compiled kernels of the geometric core (numba), used when the backend is ``"numba"``.

Each kernel gives exactly what the NumPy function it replaces gives (the
same arrays, bit for bit; :mod:`regionscope.backends`): the same formulas in
the same order of operations, the same total orders where the NumPy code
sorts, and NumPy's own summation order where it sums.  Every public function
here takes and returns plain arrays; the NumPy modules of
:mod:`regionscope.geometry` call them and wrap the results.

Kernels are compiled for one signature each, with read-only C-contiguous
arrays, on first import, and cached on disk (``cache=True``).

Modules: ``common`` (signatures, NumPy's summation order, sorts, searches,
union-find), ``pairs`` (crossed pairs), ``ends`` (chord ends, side points,
chords), ``crossings`` (chord crossings, their order along the chords,
concurrent crossings), ``faces`` (chord paths, boundaries, face tracing, the
validity check), ``cut`` (one fused kernel for a whole cut after the crossed
pairs), ``interp`` (exact interpolation at new vertices) and ``merge``
(merging regions), ``maxes`` (max layers' stage values and winners).
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import numpy as np

from regionscope.backends import compiled


def load_all() -> None:
    """Import (compile, or load from the cache) every kernel at once.

    Called on the first compiled cut, so that a later call never pays for
    loading a kernel it had not needed before (a merge, say).
    """
    from . import cut, interp, maxes, merge, pairs  # noqa: F401


def compiled_maxes(x: Any = None) -> ModuleType | None:
    """The compiled max kernels (:mod:`.maxes`) where the backend is numba and ``x``, if
    given, is a 2-D float64 array, else None (the caller runs NumPy)."""
    if x is not None and not (
        isinstance(x, np.ndarray) and x.ndim == 2 and x.dtype == np.float64
    ):
        return None
    if not compiled():
        return None
    from . import maxes

    return maxes
