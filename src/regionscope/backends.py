"""Which implementation runs the geometric core: NumPy, or kernels compiled with numba.

The NumPy code (:mod:`regionscope.geometry`) is the reference; it needs
nothing but NumPy, so it runs everywhere, Pyodide included.  With numba
installed (``pip install regionscope[fast]``), the hot loops of a cut run as
compiled kernels (:mod:`regionscope.geometry.kernels`) that give exactly the
same result: the same vertices, bit for bit, the same regions in the same
order, the same patterns.  They are compiled on first use and cached on disk
(numba's ``cache=True``), so only the first run on a machine pays for the
compilation.

With torch installed (``pip install regionscope[torch]``), ``"torch"`` runs
each cut after its crossed pairs on torch tensors, float64 throughout, on a
device: ``backend("torch", device="cuda")`` (by default ``"cuda"`` when a GPU
is available, else ``"cpu"``).  It too gives the same result, bit for bit
(:mod:`regionscope.geometry.tensor`); it is never chosen by ``"auto"``.
Small cuts, where a GPU's fixed cost per cut exceeds the work, run on the
host instead (:func:`device_for`; ``host_below``), with the compiled kernels
where numba is installed (:func:`compiled`; the same bits as NumPy), else with
the NumPy reference; so do the interpolation and the merges.  The kernels that
cut a whole Linear/ReLU chain on a plane in one call (:func:`chain_kernels`) are
the numba backend's only: on the torch backend a wide layer's cut goes to the device.

The backend is a context variable, like the tolerances: ``with
backend("numpy"):`` affects only its own thread (and the tasks it starts).
The default, ``"auto"``, is ``"numba"`` when numba can be imported and
``"numpy"`` otherwise; the environment variable ``REGIONSCOPE_BACKEND`` sets
another default (and ``REGIONSCOPE_DEVICE`` the torch backend's device).  Both are
read when regionscope is imported (a lookup in ``os.environ`` that misses costs a
first call 10 us); after changing them at run time, call :func:`read_environment`.

Examples
--------
>>> from regionscope.backends import backend, get_backend
>>> with backend("numpy"):
...     get_backend()
'numpy'
>>> get_backend() in ("numpy", "numba")
True
>>> get_device() is None  # the torch backend's device, when it is in force
True
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import importlib.util
import os
from collections.abc import Iterator
from typing import Any

import numpy as np

from regionscope.tolerances import DEVICE_MIN_VALUES, DEVICE_MIN_WORK

__all__ = [
    "BACKENDS",
    "backend",
    "get_backend",
    "get_device",
    "get_host_below",
    "device_for",
    "device_for_values",
    "available_backends",
    "torch_installed",
    "compiled",
    "chain_kernels",
    "read_environment",
]

#: the names :func:`backend` accepts
BACKENDS = ("auto", "numpy", "numba", "torch")

_FAST_HINT = "pip install regionscope[fast]"
_TORCH_HINT = "pip install regionscope[torch]"


def _check(name: object, what: str) -> str:
    if not isinstance(name, str) or name not in BACKENDS:
        raise ValueError(f"{what} must be one of {BACKENDS}, got {name!r}")
    return name


_CHOICE: contextvars.ContextVar[str] = contextvars.ContextVar("regionscope_backend", default="")
_DEVICE: contextvars.ContextVar[str] = contextvars.ContextVar("regionscope_device", default="")
_HOST_BELOW: contextvars.ContextVar[int] = contextvars.ContextVar(
    "regionscope_host_below", default=-1
)


@functools.lru_cache(maxsize=1)
def _numba_works() -> bool:
    try:
        import numba  # noqa: F401
    except Exception:  # not installed, or broken (a NumPy it does not support, say)
        return False
    return True


@functools.lru_cache(maxsize=1)
def torch_installed() -> bool:
    """Whether torch is installed (found, not imported: cheap; the answer is kept).

    >>> isinstance(torch_installed(), bool)
    True
    """
    return importlib.util.find_spec("torch") is not None


def available_backends() -> tuple[str, ...]:
    """The backends this installation can run: ``"numpy"``, then ``"numba"`` and
    ``"torch"`` where those are installed.

    >>> "numpy" in available_backends()
    True
    """
    return (
        ("numpy",)
        + (("numba",) if _numba_works() else ())
        + (("torch",) if torch_installed() else ())
    )


def _torch_device(device: Any, what: str) -> str:
    """``device`` checked (a name or a ``torch.device``; None: a GPU if there is one)."""
    if not torch_installed():
        raise ImportError(f"the torch backend needs torch: {_TORCH_HINT}")
    import torch

    if device is None or device == "":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if not isinstance(device, (str, torch.device)):
        raise TypeError(f"{what} must be a str or a torch.device, got {type(device).__name__}")
    try:
        dev = torch.device(device)
    except (RuntimeError, ValueError) as err:
        raise ValueError(f"{what} must name a torch device, got {device!r}") from err
    if dev.type not in ("cpu", "cuda"):  # float64 throughout: no mps
        raise ValueError(f"{what} must be a cpu or cuda device, got {str(device)!r}")
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"{what} {str(device)!r} is not available: no CUDA GPU here")
    if dev.type == "cuda" and (dev.index or 0) >= torch.cuda.device_count():
        count = torch.cuda.device_count()
        raise ValueError(f"{what} {str(device)!r} is not available: {count} GPUs here")
    return str(dev)


def _environment() -> tuple[str, str | None]:
    return os.environ.get("REGIONSCOPE_BACKEND", "auto"), os.environ.get("REGIONSCOPE_DEVICE")


#: ``REGIONSCOPE_BACKEND`` (``"auto"`` when unset) and ``REGIONSCOPE_DEVICE``, as read
_ENVIRONMENT = _environment()


def read_environment() -> tuple[str, str | None]:
    """Read ``REGIONSCOPE_BACKEND`` and ``REGIONSCOPE_DEVICE`` again (they are read when
    regionscope is imported), after changing ``os.environ`` at run time; returns them.

    >>> import os
    >>> os.environ["REGIONSCOPE_BACKEND"] = "numpy"
    >>> read_environment()[0], get_backend()
    ('numpy', 'numpy')
    >>> del os.environ["REGIONSCOPE_BACKEND"]
    >>> read_environment()[0]
    'auto'
    """
    global _ENVIRONMENT
    _ENVIRONMENT = _environment()
    return _ENVIRONMENT


def _default() -> str:
    return _check(_ENVIRONMENT[0], "REGIONSCOPE_BACKEND")


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
    if choice == "torch" and not torch_installed():
        raise ImportError(f"the torch backend needs torch: {_TORCH_HINT}")
    return choice


def get_device() -> str | None:
    """The torch device the geometric core runs on (``"cpu"``, ``"cuda"``, ...), or None
    when the backend is not ``"torch"``."""
    if get_backend() != "torch":
        return None
    return _DEVICE.get() or _torch_device(_ENVIRONMENT[1], "REGIONSCOPE_DEVICE")


def get_host_below() -> int:
    """The size below which the torch backend cuts on the host (see :func:`device_for`):
    ``backend(host_below=)``, by default :data:`regionscope.tolerances.DEVICE_MIN_WORK`.

    >>> get_host_below() == DEVICE_MIN_WORK
    True
    """
    value = _HOST_BELOW.get()
    return DEVICE_MIN_WORK if value < 0 else value


def device_for(pair_region: np.ndarray) -> str | None:
    """The torch device that runs a cut of these crossed pairs, or None for the host.

    None when the backend is not ``"torch"``, or when the cut is small: its
    crossed pairs plus the most crossings they can make (``k (k - 1) / 2``
    for ``k`` pairs in one region) below :func:`get_host_below`.  The host
    then runs the compiled kernels or the NumPy reference (:func:`compiled`),
    which give the same result, bit for bit.

    Parameters
    ----------
    pair_region : (P,) int64
        The region of each crossed (region, unit) pair of the cut.

    Examples
    --------
    >>> device_for(np.zeros(3, dtype=np.int64)) is None  # not the torch backend
    True
    >>> if "torch" in available_backends():
    ...     with backend("torch", device="cpu", host_below=4):
    ...         small, big = device_for(np.zeros(2, np.int64)), device_for(np.zeros(3, np.int64))
    ... else:
    ...     small, big = None, "cpu"
    >>> small, big  # 2 + 1 < 4 <= 3 + 3
    (None, 'cpu')
    """
    device = get_device()
    if device is None:
        return None
    limit = get_host_below()
    work = len(pair_region)
    if 0 < limit and work < limit:
        per_region = np.bincount(np.asarray(pair_region, dtype=np.int64))
        work += int((per_region * (per_region - 1) // 2).sum())
    return device if work >= limit else None


def device_for_values(n_values: int) -> str | None:
    """The torch device that holds a max-pooling layer's tables of values while it is cut
    (:mod:`regionscope.compute.tables`), or None for the host.

    None when the backend is not ``"torch"``, when its device is the CPU (the host's
    compiled steps are faster there), or when the tables are small: fewer than
    :data:`regionscope.tolerances.DEVICE_MIN_VALUES` values.  ``host_below=0``, which
    sends every cut to the device, sends every table too, on any device (as the tests
    of the torch backend run it).

    >>> device_for_values(10**9) is None  # not the torch backend
    True
    >>> if "torch" in available_backends():
    ...     with backend("torch", device="cpu"):
    ...         default = device_for_values(10**9)
    ...     with backend("torch", device="cpu", host_below=0):
    ...         every = device_for_values(10)
    ... else:
    ...     default, every = None, "cpu"
    >>> default, every
    (None, 'cpu')
    """
    device = get_device()
    if device is None:
        return None
    if get_host_below() == 0:
        return device
    large = n_values >= DEVICE_MIN_VALUES
    return device if large and not device.startswith("cpu") else None


def compiled() -> bool:
    """Whether the compiled kernels run the host's part of the core here: the backend is
    ``"numba"``, or ``"torch"`` with numba installed (cuts too small for the device,
    interpolation, merges; the same bits as NumPy).

    >>> with backend("numpy"):
    ...     compiled()
    False
    """
    name = get_backend()
    return name == "numba" or (name == "torch" and _numba_works())


def chain_kernels() -> bool:
    """Whether a Linear/ReLU chain on a 2-D domain may be cut whole by one compiled kernel
    call (:mod:`regionscope.compute.chain2d`): the backend is ``"numba"``.  Not on the
    torch backend, which sends each wide layer's cut to its device (:func:`device_for`);
    1-D cuts never go there, so its 1-D chain kernel is :func:`compiled`'s.

    >>> with backend("numpy"):
    ...     chain_kernels()
    False
    """
    return get_backend() == "numba"


@contextlib.contextmanager
def backend(name: str, device: Any = None, host_below: int | None = None) -> Iterator[str]:
    """Run the geometric core with the backend ``name`` inside the ``with`` block.

    Parameters
    ----------
    name : {"auto", "numpy", "numba", "torch"}
        ``"numba"`` raises ``ImportError`` when numba is not installed
        (``pip install regionscope[fast]``), ``"torch"`` when torch is not
        (``pip install regionscope[torch]``).
    device : str or torch.device, optional
        For ``"torch"`` only: where the cuts run (``"cpu"``, ``"cuda"``,
        ``"cuda:1"``, ...; not ``"mps"``, which has no float64).  By default
        ``REGIONSCOPE_DEVICE``, else ``"cuda"`` when a GPU is available, else
        ``"cpu"``.  A CUDA device without a GPU raises ``ValueError``.
    host_below : int, optional
        For ``"torch"`` only: a cut whose crossed pairs plus the most
        crossings they can make come to less than this runs on the host
        (NumPy, the same result); 0 sends every cut to ``device``.  By default
        that of the enclosing ``backend`` block, else
        :data:`regionscope.tolerances.DEVICE_MIN_WORK` (see :func:`device_for`).

    Yields
    ------
    str
        The backend in force: ``"numpy"``, ``"numba"`` or ``"torch"``.

    Examples
    --------
    >>> import regionscope as rs
    >>> net = rs.Sequential(rs.Linear([[1.0, -1.0]], [0.0]), rs.ReLU())
    >>> if "torch" in available_backends():
    ...     with backend("torch", device="cpu"):
    ...         n = rs.partition(net).num_regions
    ... else:
    ...     n = 2
    >>> n
    2
    """
    _check(name, "backend")
    if name == "numba" and not _numba_works():
        raise ImportError(f"backend('numba') needs numba: {_FAST_HINT}")
    if device is not None and name != "torch":
        raise ValueError(f"device is for backend 'torch' only, got backend {name!r}")
    if host_below is not None:
        if isinstance(host_below, bool) or not isinstance(host_below, (int, np.integer)):
            raise TypeError(f"host_below must be an int, got {type(host_below).__name__}")
        if host_below < 0:
            raise ValueError(f"host_below must be >= 0, got {host_below}")
        if name != "torch":
            raise ValueError(f"host_below is for backend 'torch' only, got backend {name!r}")
    dev = ""
    if name == "torch" and device is None:
        dev = _torch_device(_ENVIRONMENT[1], "REGIONSCOPE_DEVICE")
    elif name == "torch":
        dev = _torch_device(device, "device")
    token = _CHOICE.set(name)
    dtoken = _DEVICE.set(dev)
    htoken = _HOST_BELOW.set(_HOST_BELOW.get() if host_below is None else int(host_below))
    try:
        yield get_backend()
    finally:
        _HOST_BELOW.reset(htoken)
        _DEVICE.reset(dtoken)
        _CHOICE.reset(token)
