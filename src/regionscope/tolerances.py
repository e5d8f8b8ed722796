"""The one place for regionscope's numerical tolerances and memory budgets.

The snapping rule
-----------------
Every decision about a sign (does a unit cut a region, is a ReLU on at a
point, which input of a max wins) compares a value ``z`` of a unit with the
unit's *tolerance*::

    |z| <= value_rtol * scale_j        # z counts as zero

``scale_j`` is the largest *magnitude* of unit ``j`` over the domain: the
value the unit would take if every weight, bias and input along the way were
replaced by its absolute value (``|W| |x| + |b|``, layer after layer).  It is
an upper bound on the size of the terms whose sum is ``z``, so rounding noise
in ``z`` is a small multiple of ``eps * scale_j``.  The rule is therefore

- *scale-free*: multiplying a unit's weights by ``c > 0`` multiplies its
  values and its scale by ``c`` (and dividing the next layer's column by
  ``c`` leaves every later scale alone), so no decision changes;
- *noise-proof*: a unit that is zero by cancellation (``(x + 2) - (x + 1) - 1``)
  has values of order ``eps * scale`` and counts as zero: it neither cuts nor
  flips a pattern;
- *the same everywhere*: the cut (values at vertices) and the patterns
  (values at interior points) use the same per-unit tolerance, so the pattern
  read at a region's centroid is the one its cut made.

The magnitudes are convex functions of the domain point, so their largest
value over a convex domain is attained at one of its corners, where
:class:`regionscope.network.evaluate.Evaluator` computes them once per model.

Points are snapped by ``point_rtol`` times the domain's diameter.

Examples
--------
>>> from regionscope.tolerances import get_tolerance, tolerance
>>> get_tolerance().value_rtol
1e-11
>>> with tolerance(value_rtol=1e-7):
...     get_tolerance().value_rtol
1e-07
>>> get_tolerance().value_rtol
1e-11
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import os
from collections.abc import Iterator

import numpy as np

__all__ = [
    "Tolerance",
    "Budget",
    "get_tolerance",
    "tolerance",
    "get_budget",
    "budget",
    "available_memory",
    "default_memory_bytes",
]


@dataclasses.dataclass(frozen=True)
class Tolerance:
    """Numerical tolerances of regionscope.

    Parameters
    ----------
    value_rtol : float
        A unit's value is zero when it is at most ``value_rtol`` times the
        unit's scale (see the module docstring).  Well above the rounding of
        float64 sums (``~1e-16`` per term), well below any real feature.
    point_rtol : float
        Two new vertices closer than ``point_rtol`` times the domain's
        diameter are one vertex.
    collinear_rtol : float
        Three domain points are collinear when the component of the third
        orthogonal to the line through the first two is at most
        ``collinear_rtol`` times their spread.
    conversion_rtol : float
        A converted torch model must match the model on random inputs to this
        relative difference (both run in float64).
    strict : bool
        Check the mesh after every layer (:func:`regionscope.geometry.check_mesh`);
        used by the tests.
    """

    value_rtol: float = 1e-11
    point_rtol: float = 1e-12
    collinear_rtol: float = 1e-9
    conversion_rtol: float = 1e-9
    strict: bool = False

    def __post_init__(self) -> None:
        for name in ("value_rtol", "point_rtol", "collinear_rtol", "conversion_rtol"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise TypeError(f"tolerance {name} must be a number, got {type(value).__name__}")
            if not 0 <= value < 1:
                raise ValueError(f"tolerance {name} must be in [0, 1), got {value}")
        if not isinstance(self.strict, bool):
            raise TypeError(f"tolerance strict must be True or False, got {self.strict!r}")

    def unit_tolerance(self, scale: np.ndarray) -> np.ndarray:
        """Absolute tolerance of units of the given scales (the snapping rule).

        >>> Tolerance().unit_tolerance(np.array([1.0, 1e6])).tolist()
        [1e-11, 1e-05]
        """
        return self.value_rtol * np.asarray(scale, dtype=np.float64)


def available_memory() -> int | None:
    """Bytes of memory available to new allocations now, or ``None`` where unknown.

    ``MemAvailable`` of ``/proc/meminfo`` (Linux), else the free physical
    pages times the page size (``os.sysconf``), else ``None`` (as in Pyodide).

    >>> m = available_memory()
    >>> m is None or m > 0
    True
    """
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        pages = os.sysconf("SC_AVPHYS_PAGES")
        size = os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, OSError, ValueError):
        return None
    return int(pages) * int(size) if pages > 0 and size > 0 else None


def default_memory_bytes(available: int | None = None) -> int:
    """The default :attr:`Budget.memory_bytes`: a quarter of the available memory, at least
    256 MiB; 1 GiB where the available memory is unknown.

    >>> default_memory_bytes(8 << 30) == 2 << 30, default_memory_bytes(None) == 1 << 30
    (True, True)
    """
    if available is None:
        return MEMORY_FALLBACK_BYTES
    return max(available // 4, 256 << 20)


#: the memory budget where the available memory cannot be read
MEMORY_FALLBACK_BYTES = 1 << 30
#: the default memory budget, read once at import (so that ``Budget() == Budget()``)
DEFAULT_MEMORY_BYTES = default_memory_bytes(available_memory())


@dataclasses.dataclass(frozen=True)
class Budget:
    """How much memory regionscope's tables may hold at once.

    They bound memory, never the result: any budget gives the same
    partition (tested).

    Parameters
    ----------
    memory_bytes : int
        Bytes the values stored at the mesh's vertices may take (the
        registers of the network carried through cuts by exact
        interpolation), counting the copy an interpolation makes.  Spent
        there first: a forward pass is run again only for what does not
        fit.  Default: a quarter of the memory available at import
        (:func:`default_memory_bytes`).
    chunk_values : int
        float64 values one chunked forward pass may hold (points per chunk
        times the widest layer).
    table_values : int
        Entries of one chunk of the (vertex, unit), (region, unit) and chord
        crossing tables of a cut.
    conv_elements : int
        Elements one chunk of a convolution may hold.
    file_member_bytes : int
        The largest array a file may declare (checked before decompressing).
    file_bytes : int
        The most all arrays of one file may declare together.
    register_values : int, optional
        Deprecated: the stored values' budget counted in float64 values; when
        given, it replaces ``memory_bytes`` by ``8 * register_values``.

    Examples
    --------
    >>> Budget(memory_bytes=1 << 20).stored_bytes, Budget(register_values=10).stored_bytes
    (1048576, 80)
    """

    memory_bytes: int = DEFAULT_MEMORY_BYTES
    chunk_values: int = 1 << 22
    table_values: int = 1 << 24
    conv_elements: int = 1 << 22
    file_member_bytes: int = 1 << 30
    file_bytes: int = 1 << 31
    register_values: int | None = None

    def __post_init__(self) -> None:
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if field.name == "register_values" and value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"budget {field.name} must be a positive integer, got {value!r}")

    @property
    def stored_bytes(self) -> int:
        """Bytes for the values stored at the vertices (``memory_bytes``, or the deprecated
        ``8 * register_values``)."""
        if self.register_values is not None:
            return 8 * int(self.register_values)
        return int(self.memory_bytes)

    def stores(self, rows: int, width: int) -> bool:
        """Whether ``rows * width`` float64 values fit :attr:`stored_bytes`, with the copy an
        interpolation makes (twice the values).

        >>> Budget(memory_bytes=1600).stores(10, 10), Budget(memory_bytes=1600).stores(10, 11)
        (True, False)
        """
        return 2 * 8 * int(rows) * int(width) <= self.stored_bytes


#: the geometry's fixed slack, not meant to be tuned: a corner of a region may turn right by
#: this fraction of its sides' lengths product and still count as straight (strict mode) ...
CONVEX_RTOL = 1e-7
#: ... and a new face's corner by this much (the cut's own check of the faces it traced)
FACE_TURN_RTOL = 1e-9
#: areas (of the regions, of the outer boundary) must match the domain's to this
AREA_RTOL = 1e-9
#: a region inside a unit's tolerance band takes the side its corners lean to by more than
#: this fraction of the tolerance (rounding noise is far below it)
NOISE_FRACTION = 1e-3
#: crossings farther apart than this many point tolerances are never one point up to the
#: units' tolerances (a prefilter of that test)
NEAR_FACTOR = 1e6
#: the torch backend runs a cut on its device only when the cut's crossed (region, unit)
#: pairs plus the most crossings they can make (``k (k - 1) / 2`` for ``k`` pairs in a
#: region) reach this; smaller cuts run on the host, where a GPU's fixed cost per cut (kernel
#: launches, synchronisations, transfers) exceeds the work (``backend(host_below=)``)
DEVICE_MIN_WORK = 1 << 15
#: the torch backend holds a max-pooling layer's tables of values on its device while the
#: layer is cut (:mod:`regionscope.compute.tables`) when its input has at least this many
#: values at the vertices (8 MiB); smaller ones stay on the host (``host_below=0``: none)
DEVICE_MIN_VALUES = 1 << 20
#: a max-pooling group after a ReLU is settled for the ReLU's cuts when one input leads the
#: others (and zero) at every vertex by twice its tolerance plus this fraction of its inputs'
#: largest magnitude: far above the rounding that a chain of interpolations can add (about
#: ``3e-16`` of it per new vertex of the chain), see :mod:`regionscope.compute.undecided`
SETTLED_MARGIN_RTOL = 1e-9
#: inputs larger than this never settle a group (their interpolations could overflow)
SETTLED_MAX_MAGNITUDE = 1e300
#: ReLU layers narrower than this are cut on all their units: looking for the live ones (those
#: whose input has both signs at the vertices) costs two passes over the input and a copy, and
#: saves little where most units are live, as in the MLPs of ``bench/suite.py`` (5-19% slower
#: with it, widths 32 to 500); a convolution's 8 192 units on a small window are mostly not
LIVE_UNITS_MIN_WIDTH = 1024
#: a chain of Linear and ReLU layers on a polygon or a plane is cut in one compiled call
#: (:mod:`regionscope.compute.chain2d`) while the mesh before each layer has at most this
#: many regions; from a larger one the driver goes on (its progress bar, its chunks): a
#: layer cut in the kernel from this many regions takes well under a second
CHAIN_2D_MOST_REGIONS = 20_000
#: ... and its matrix products have at most this many multiply-adds (vertices times inputs
#: times outputs): larger ones run faster as NumPy's (BLAS) products in the driver, which
#: then goes on (after a ReLU, the kernel's own take 1.6-2.1x the time of NumPy's with one
#: OpenBLAS thread, from 64 x 64 to 256 x 256, and the driver's fixed cost per layer,
#: about 0.3 ms, is a product of about 6 M)
CHAIN_2D_MOST_PRODUCTS = 1 << 24
#: a CNN's ReLU layer whose input is affine ops on a ReLU of the domain's affine map
#: (:mod:`~regionscope.compute.expansion`) gets that input from the first ReLU's live units
#: when at most this fraction of them are live (each output column then costs ``2 + L``
#: products instead of the ops' own, 144 for a 3x3 convolution of 16 channels) ...
EXPANSION_MAX_LIVE_FRACTION = 1 / 32
#: ... and its ``(2 + L)`` products for each column it needs come to at most this many times
#: the ops' products for every column (estimated from the live units' weights): one matrix
#: product per chunk runs several times faster per product than a forward pass through a
#: convolution (three-patch CNN tiles with 280-330 live units: 2.5x and 1.5x less CPU at 4
#: than at 0.5, the same partitions)
EXPANSION_MAX_COST = 4.0
#: ... and the bounds of its columns over the domain are widened by this fraction of each
#: column's scale (the expansion and a forward pass sum in different orders; rounding is
#: about ``1e-16 (L + 2)`` of the scale) before they say a column keeps one sign
EXPANSION_BOUND_RTOL = 1e-9


_tolerance: contextvars.ContextVar[Tolerance] = contextvars.ContextVar(
    "regionscope_tolerance",
    default=Tolerance(),  # noqa: B039 - frozen, immutable
)
_budget: contextvars.ContextVar[Budget] = contextvars.ContextVar(
    "regionscope_budget",
    default=Budget(),  # noqa: B039 - frozen, immutable
)


def get_tolerance() -> Tolerance:
    """Return the :class:`Tolerance` in effect (in this thread or task)."""
    return _tolerance.get()


def get_budget() -> Budget:
    """Return the :class:`Budget` in effect (in this thread or task)."""
    return _budget.get()


@contextlib.contextmanager
def tolerance(**changes: float | bool) -> Iterator[Tolerance]:
    """Change tolerances for a block: ``with tolerance(strict=True): ...``.

    The change is seen only by the thread (or asyncio task) that makes it:
    it is held in a :mod:`contextvars` variable.  Unknown names raise
    ``TypeError``, bad values ``ValueError``.
    """
    token = _tolerance.set(dataclasses.replace(_tolerance.get(), **changes))
    try:
        yield _tolerance.get()
    finally:
        _tolerance.reset(token)


@contextlib.contextmanager
def budget(**changes: int) -> Iterator[Budget]:
    """Change memory budgets for a block: ``with budget(memory_bytes=2 << 30): ...``.

    >>> with budget(memory_bytes=1 << 28, chunk_values=1000):
    ...     get_budget().memory_bytes, get_budget().chunk_values
    (268435456, 1000)
    """
    token = _budget.set(dataclasses.replace(_budget.get(), **changes))
    try:
        yield _budget.get()
    finally:
        _budget.reset(token)
