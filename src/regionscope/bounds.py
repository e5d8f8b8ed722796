"""Counting bounds for the number of linear regions.

Three classical bounds, in exact integer arithmetic (Python ``int``, no
overflow), to compare with the exact counts of :func:`regionscope.partition`:

* :func:`zaslavsky` -- the number of regions of ``m`` hyperplanes in general
  position in ``R^d`` (the maximum over all arrangements of ``m``
  hyperplanes); for a single hidden ReLU layer of width ``m`` on a
  ``d``-dimensional input it is the maximum number of activation regions
  (the "Warren bound" of lab 01).
* :func:`serra_upper` -- the upper bound of Serra, Tjandraatmadja and
  Ramalingam (2018) for deep ReLU networks.
* :func:`montufar_lower` -- the lower bound on the *maximum* number of regions
  of Montufar, Pascanu, Cho and Bengio (2014), reached by a construction.

``widths`` is always ``[n_0, n_1, ..., n_L]``: the input dimension ``n_0``
followed by the widths of the ``L`` hidden ReLU layers.  A final linear output
layer does not cut the input and has no width here: the lab's ``[2, 4, 1]``
network is ``widths=[2, 4]``.

The regions counted are *activation regions* (sets of inputs sharing one
activation pattern), which is what :func:`regionscope.partition` returns.

Examples
--------
>>> from regionscope import bounds
>>> bounds.zaslavsky(4, 2)
11
>>> bounds.serra_upper([2, 4])
11
>>> bounds.serra_upper([2, 8, 8])   # every (j_1, j_2) in {0, 1, 2}^2: 37 * 37
1369
>>> bounds.montufar_lower([2, 8, 8])
592
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence

__all__ = ["zaslavsky", "serra_upper", "montufar_lower"]


def _check_count(value: object, name: str, minimum: int) -> int:
    """Return ``value`` as an ``int``; ``TypeError``/``ValueError`` naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__} {value!r}")
    value = int(value)
    if value < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {value}")
    return value


def _check_widths(widths: Sequence[int], name: str = "widths") -> list[int]:
    if isinstance(widths, (str, bytes)) or not isinstance(widths, Sequence):
        try:
            widths = list(widths)  # type: ignore[call-overload]
        except TypeError:
            raise TypeError(
                f"{name} must be a sequence of integers [n_0, n_1, ..., n_L], "
                f"got {type(widths).__name__}"
            ) from None
    if len(widths) < 2:
        raise ValueError(
            f"{name} must hold the input dimension and at least one hidden width "
            f"[n_0, n_1, ...], got {list(widths)}"
        )
    return [_check_count(w, f"{name}[{i}]", 1) for i, w in enumerate(widths)]


def zaslavsky(m: int, d: int) -> int:
    """Maximum number of regions of ``m`` hyperplanes in ``R^d``: ``sum_{i<=d} C(m, i)``.

    Zaslavsky's theorem (T. Zaslavsky, "Facing up to arrangements", Memoirs of
    the AMS 154, 1975) counts the regions of an arrangement; for ``m``
    hyperplanes in general position it gives this sum, the largest possible
    count.  For one hidden ReLU layer of width ``m`` on a ``d``-dimensional
    input each neuron's zero set is a hyperplane, so this is the maximum
    number of activation regions (called Warren's bound in lab 01).

    Parameters
    ----------
    m : int
        Number of hyperplanes (neurons), ``m >= 0``.
    d : int
        Dimension of the space (the input), ``d >= 0``.

    Returns
    -------
    int
        ``sum_{i=0}^{min(d, m)} C(m, i)``, exact.

    Examples
    --------
    >>> zaslavsky(4, 2)            # 1 + 4 + 6
    11
    >>> zaslavsky(3, 1)            # 3 points cut a line into 4 pieces
    4
    >>> zaslavsky(5, 7)            # d >= m: every pattern occurs
    32
    >>> zaslavsky(100, 2)
    5051
    """
    m = _check_count(m, "m", 0)
    d = _check_count(d, "d", 0)
    return sum(math.comb(m, i) for i in range(min(d, m) + 1))


def serra_upper(widths: Sequence[int]) -> int:
    """Upper bound on the number of linear regions of a deep ReLU network.

    Theorem 1 of T. Serra, C. Tjandraatmadja and S. Ramalingam, "Bounding and
    Counting Linear Regions of Deep Neural Networks", ICML 2018: a network
    with input dimension ``n_0`` and ``L`` hidden ReLU layers of widths
    ``n_1, ..., n_L`` has at most

    ``sum_{(j_1, ..., j_L) in J} prod_{l=1}^{L} C(n_l, j_l)``

    activation regions, where ``J`` is the set of integer tuples with
    ``0 <= j_l <= min(n_0, n_1 - j_1, ..., n_{l-1} - j_{l-1}, n_l)`` for every
    ``l``.  With one hidden layer it is :func:`zaslavsky` ``(n_1, n_0)``; for
    one-dimensional input (``n_0 = 1``) the bound is the maximum (the paper
    shows it is reached).

    The sum is computed by dynamic programming over the bound
    ``min(n_0, n_1 - j_1, ..., n_{l-1} - j_{l-1})`` carried from layer to
    layer, in exact integers: cost ``O(L * n_0^2)``.

    Parameters
    ----------
    widths : sequence of int
        ``[n_0, n_1, ..., n_L]``: input dimension, then the hidden widths (all
        ``>= 1``).  Leave out a final linear output layer.

    Returns
    -------
    int

    Examples
    --------
    >>> serra_upper([2, 4])        # one layer: zaslavsky(4, 2)
    11
    >>> serra_upper([1, 3, 3])     # 1-D input: (3 + 1) * (3 + 1)
    16
    >>> serra_upper([2, 1, 5])     # a 1-neuron bottleneck: 1 + 6
    7
    """
    w = _check_widths(widths)
    n0 = w[0]
    # counts[k] = sum over admissible (j_1..j_l) whose running bound
    # min(n_0, n_1 - j_1, ..., n_l - j_l) equals k, of prod C(n_i, j_i)
    counts = {n0: 1}
    for n in w[1:]:
        new: dict[int, int] = {}
        for bound, total in counts.items():
            for j in range(min(bound, n) + 1):
                key = min(bound, n - j)
                new[key] = new.get(key, 0) + total * math.comb(n, j)
        counts = new
    return sum(counts.values())


def montufar_lower(widths: Sequence[int]) -> int:
    """Lower bound on the maximum number of linear regions of a deep ReLU network.

    Theorem 4 of G. Montufar, R. Pascanu, K. Cho and Y. Bengio, "On the Number
    of Linear Regions of Deep Neural Networks", NeurIPS 2014: some ReLU network
    with input dimension ``n_0`` and hidden widths ``n_1, ..., n_L``, all
    ``n_l >= n_0``, has at least

    ``(prod_{l=1}^{L-1} floor(n_l / n_0)^{n_0}) * sum_{j=0}^{n_0} C(n_L, j)``

    regions (each of the first ``L - 1`` layers folds the input space onto
    itself ``floor(n_l / n_0)^{n_0}`` times; the last layer is an arrangement
    in general position).  So the maximum over all weights lies between
    :func:`montufar_lower` and :func:`serra_upper`; random weights usually give
    far fewer regions than either.

    Parameters
    ----------
    widths : sequence of int
        ``[n_0, n_1, ..., n_L]`` with every hidden width ``n_l >= n_0``.

    Returns
    -------
    int

    Examples
    --------
    >>> montufar_lower([2, 4])     # one layer: zaslavsky(4, 2)
    11
    >>> montufar_lower([1, 3, 3])  # 3 folds, then 4 pieces each
    12
    >>> montufar_lower([2, 4, 4, 4])
    176
    """
    w = _check_widths(widths)
    n0 = w[0]
    for l, n in enumerate(w[1:], start=1):
        if n < n0:
            raise ValueError(
                f"montufar_lower needs every hidden width >= the input dimension n_0={n0}, "
                f"got widths[{l}]={n}"
            )
    folds = math.prod((n // n0) ** n0 for n in w[1:-1])
    return folds * zaslavsky(w[-1], n0)
