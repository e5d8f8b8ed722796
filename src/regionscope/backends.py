"""Which implementation runs the geometric core: NumPy, or kernels compiled with numba.

The NumPy code (:mod:`regionscope.geometry`) is the reference; it needs
nothing but NumPy, so it runs everywhere, Pyodide included.  With numba
installed (``pip install regionscope[fast]``), the hot loops of a cut run as
compiled kernels (:mod:`regionscope.geometry.kernels`) that give exactly the
same result: the same vertices, bit for bit, the same regions in the same
order, the same patterns.  They are compiled on first use and cached on disk
(numba's ``cache=True``), so only the first run on a machine pays for the
compilation.

The backend is a context variable, like the tolerances: ``with
backend("numpy"):`` affects only its own thread (and the tasks it starts).
The default, ``"auto"``, is ``"numba"`` when numba can be imported and
``"numpy"`` otherwise; the environment variable ``REGIONSCOPE_BACKEND`` sets
another default.

Examples
--------
>>> from regionscope.backends import backend, get_backend
>>> with backend("numpy"):
...     get_backend()
'numpy'
>>> get_backend() in ("numpy", "numba")
True
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import os
from collections.abc import Iterator

__all__ = ["BACKENDS", "backend", "get_backend", "available_backends", "compiled"]

#: the names :func:`backend` accepts
BACKENDS = ("auto", "numpy", "numba")

_FAST_HINT = "pip install regionscope[fast]"


def _check(name: object, what: str) -> str:
    if not isinstance(name, str) or name not in BACKENDS:
        raise ValueError(f"{what} must be one of {BACKENDS}, got {name!r}")
    return name


_CHOICE: contextvars.ContextVar[str] = contextvars.ContextVar("regionscope_backend", default="")


@functools.lru_cache(maxsize=1)
def _numba_works() -> bool:
    try:
        import numba  # noqa: F401
    except Exception:  # not installed, or broken (a NumPy it does not support, say)
        return False
    return True


def available_backends() -> tuple[str, ...]:
    """The backends this installation can run: ``("numpy",)`` or ``("numpy", "numba")``.

    >>> "numpy" in available_backends()
    True
    """
    return ("numpy", "numba") if _numba_works() else ("numpy",)


def _default() -> str:
    return _check(os.environ.get("REGIONSCOPE_BACKEND", "auto"), "REGIONSCOPE_BACKEND")


def get_backend() -> str:
    """The backend in force here: ``"numpy"`` or ``"numba"`` (``"auto"`` resolved).

    Raises ``ImportError`` if ``"numba"`` was asked for (by the environment
    variable) and numba cannot be imported.
    """
    choice = _CHOICE.get() or _default()
    if choice == "auto":
        return "numba" if _numba_works() else "numpy"
    if choice == "numba" and not _numba_works():
        raise ImportError(f"the numba backend needs numba: {_FAST_HINT}")
    return choice


def compiled() -> bool:
    """Whether the compiled kernels run here (the backend is ``"numba"``)."""
    return get_backend() == "numba"


@contextlib.contextmanager
def backend(name: str) -> Iterator[str]:
    """Run the geometric core with the backend ``name`` inside the ``with`` block.

    Parameters
    ----------
    name : {"auto", "numpy", "numba"}
        ``"numba"`` raises ``ImportError`` when numba is not installed
        (``pip install regionscope[fast]``).

    Yields
    ------
    str
        The backend in force: ``"numpy"`` or ``"numba"``.
    """
    _check(name, "backend")
    if name == "numba" and not _numba_works():
        raise ImportError(f"backend('numba') needs numba: {_FAST_HINT}")
    token = _CHOICE.set(name)
    try:
        yield get_backend()
    finally:
        _CHOICE.reset(token)
