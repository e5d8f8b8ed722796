"""Argument checks shared by the lab modules.

Each check raises ``TypeError`` (wrong kind of value) or ``ValueError``
(right kind, bad value) with a message that names the argument.

Examples
--------
>>> check_int(3, "m", 1)
3
>>> check_int(0, "m", 1)
Traceback (most recent call last):
...
ValueError: m must be at least 1, got 0
>>> check_domain_2d(2.0)
Box(2.0)
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable
from typing import Any

from regionscope.domains import Domain2D, coerce_domain

__all__ = ["check_int", "check_int_list", "check_domain_2d"]


def check_int(value: Any, name: str, minimum: int) -> int:
    """``value`` as an ``int`` at least ``minimum``.

    Parameters
    ----------
    value : int
        Any integral number (Python or NumPy), not a bool.
    name : str
        The argument's name, for the error message.
    minimum : int

    Returns
    -------
    int

    Raises
    ------
    TypeError
        ``value`` is not an integer.
    ValueError
        ``value < minimum``.

    Examples
    --------
    >>> import numpy as np
    >>> check_int(np.int64(5), "seed", 0)
    5
    >>> check_int(1.5, "seed", 0)
    Traceback (most recent call last):
    ...
    TypeError: seed must be an integer, got float 1.5
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__} {value!r}")
    if int(value) < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {int(value)}")
    return int(value)


def check_int_list(values: Iterable[Any], name: str, minimum: int) -> list[int]:
    """``values`` as a list of ``int``, each at least ``minimum``.

    Parameters
    ----------
    values : iterable of int
        A list, tuple, integer array... (not a string).
    name : str
        The argument's name; an entry is named ``name[i]``.
    minimum : int

    Returns
    -------
    list of int
        Possibly empty.

    Raises
    ------
    TypeError
        ``values`` is not iterable, is a string, or holds a non-integer.
    ValueError
        An entry is below ``minimum``.

    Examples
    --------
    >>> import numpy as np
    >>> check_int_list(np.array([2, 4, 1]), "widths", 1)
    [2, 4, 1]
    >>> check_int_list([2, 0, 1], "widths", 1)
    Traceback (most recent call last):
    ...
    ValueError: widths[1] must be at least 1, got 0
    >>> check_int_list(7, "widths", 1)
    Traceback (most recent call last):
    ...
    TypeError: widths must be a sequence of integers, got int
    """
    if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
        raise TypeError(f"{name} must be a sequence of integers, got {type(values).__name__}")
    return [check_int(v, f"{name}[{i}]", minimum) for i, v in enumerate(values)]


def check_domain_2d(domain: Any, name: str = "domain") -> Domain2D:
    """``domain`` as a 2-D domain (a number ``h`` is ``Box(h)``).

    Parameters
    ----------
    domain : Domain2D or float
    name : str
        The argument's name, for the error message.

    Returns
    -------
    Domain2D

    Raises
    ------
    TypeError
        ``domain`` is not a domain, or is a 1-D one.

    Examples
    --------
    >>> import regionscope as rs
    >>> check_domain_2d(rs.Interval(0.0, 1.0))
    Traceback (most recent call last):
    ...
    TypeError: domain must be a 2-D domain (Box, Polygon, Plane), got Interval(0.0, 1.0)
    """
    dom = coerce_domain(domain)
    if not isinstance(dom, Domain2D):
        raise TypeError(f"{name} must be a 2-D domain (Box, Polygon, Plane), got {dom!r}")
    return dom
