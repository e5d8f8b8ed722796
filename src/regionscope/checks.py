"""Checks of user input shared by every module: real finite arrays, integer indices.

Bad input raises ``TypeError`` (wrong kind of thing) or ``ValueError``
(right kind, wrong value) naming the argument and the rule broken.  Nothing is
coerced silently: complex numbers, strings, booleans-as-numbers and
non-integral indices are refused.

Examples
--------
>>> as_finite([1, 2.5], "weight")
array([1. , 2.5])
>>> as_finite([1 + 2j], "weight")
Traceback (most recent call last):
...
TypeError: weight must hold real numbers, got complex128
>>> as_indices([[0, 1.0]], "groups")
array([[0, 1]])
>>> as_indices([[0, 1.5]], "groups")
Traceback (most recent call last):
...
ValueError: groups must hold whole numbers, got 1.5
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = ["as_finite", "as_weights", "as_indices", "as_number"]


def _numeric(x: Any, name: str) -> np.ndarray:
    if isinstance(x, (str, bytes)):
        raise TypeError(f"{name} must be numbers, got the string {x!r}")
    try:
        arr = np.asarray(x)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be an array of numbers ({exc})") from None
    if arr.dtype.kind == "c":
        raise TypeError(f"{name} must hold real numbers, got {arr.dtype}")
    if arr.dtype.kind not in "iuf":
        raise TypeError(f"{name} must be an array of numbers, got dtype {arr.dtype}")
    return arr


def as_finite(x: Any, name: str, *, ndim: int | None = None) -> np.ndarray:
    """``x`` as a float64 array; refuse non-numbers, complex, NaN and infinity.

    ``ndim``, if given, is the number of dimensions required.
    """
    arr = _numeric(x, name).astype(np.float64)
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimension(s), got shape {arr.shape}")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} must be finite, got NaN or infinity")
    return arr


def as_weights(x: Any, name: str) -> np.ndarray:
    """A read-only float64 copy of layer parameters, checked as by :func:`as_finite`."""
    arr = as_finite(x, name).copy()
    arr.setflags(write=False)
    return arr


def as_indices(x: Any, name: str) -> np.ndarray:
    """``x`` as an ``intp`` array; refuse non-integral or non-finite values."""
    arr = _numeric(x, name)
    if arr.dtype.kind == "f":
        if not np.isfinite(arr).all():
            raise ValueError(f"{name} must be finite, got NaN or infinity")
        bad = arr != np.round(arr)
        if bad.any():
            raise ValueError(f"{name} must hold whole numbers, got {arr[bad].flat[0]}")
    return arr.astype(np.intp)


def as_number(x: Any, name: str) -> float:
    """``x`` as a finite Python float; refuse strings, booleans, complex and arrays.

    >>> as_number("1.0", "half_width")
    Traceback (most recent call last):
    ...
    TypeError: half_width must be a number, got str
    """
    if isinstance(x, bool) or not isinstance(x, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a number, got {type(x).__name__}")
    value = float(x)
    if not math.isfinite(value):  # (a float: math's test, no NumPy call)
        raise ValueError(f"{name} must be finite, got {value}")
    return value
