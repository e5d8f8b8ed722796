"""The one place where regionscope's numerical tolerances live.

Every comparison against zero or between two nearly equal numbers in the
geometric core goes through the :class:`Tolerance` in effect, never through a
literal epsilon.  The defaults suit float64 networks whose weights and inputs
are of order one; :func:`tolerance` changes them for a block of code.

Examples
--------
>>> from regionscope.tolerance import get_tolerance, tolerance
>>> get_tolerance().value_rtol
1e-10
>>> with tolerance(value_rtol=1e-7):
...     get_tolerance().value_rtol
1e-07
>>> get_tolerance().value_rtol
1e-10
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator

__all__ = ["Tolerance", "get_tolerance", "tolerance"]


@dataclasses.dataclass(frozen=True)
class Tolerance:
    """Numerical tolerances of the geometric core.

    Parameters
    ----------
    value_rtol : float
        A vertex lies *on* the zero set of a unit (a neuron, or the difference
        of two inputs of a max) when the unit's value there is at most
        ``value_rtol`` times the unit's largest magnitude over the vertices of
        the regions it is tested on.  Snapping to zero is what makes lines
        through a common point meet in one vertex and repeated neurons give no
        sliver.
    point_rtol : float
        Two new vertices closer than ``point_rtol`` times the domain's diameter
        are one vertex.  It must stay well below ``value_rtol``: a crossing
        that close to an existing vertex has already been snapped onto it by
        the value test, so point merging only joins crossings that coincide up
        to rounding.
    collinear_rtol : float
        Three domain points are collinear when the component of the third
        orthogonal to the line through the first two is at most
        ``collinear_rtol`` times their spread.
    strict : bool
        Turn on costly invariant checks after every step (used by the tests).
    """

    value_rtol: float = 1e-10
    point_rtol: float = 1e-12
    collinear_rtol: float = 1e-9
    strict: bool = False


_current = Tolerance()


def get_tolerance() -> Tolerance:
    """Return the :class:`Tolerance` in effect."""
    return _current


@contextlib.contextmanager
def tolerance(**changes: float | bool) -> Iterator[Tolerance]:
    """Temporarily change tolerances: ``with tolerance(strict=True): ...``.

    Unknown names raise ``TypeError``.
    """
    global _current
    previous = _current
    _current = dataclasses.replace(previous, **changes)
    try:
        yield _current
    finally:
        _current = previous
