"""Files: partitions and networks as ``.npz`` archives, never pickles.

A network is stored as a JSON description of its layer tree plus its arrays;
only regionscope's own layer classes can be named in it, so loading a file
never runs code from it.  Files are written to a temporary name and renamed,
so an interrupted save never leaves a broken file.

Examples
--------
>>> import os, tempfile
>>> import numpy as np
>>> import regionscope as rs
>>> from regionscope.io import load_model, save_model
>>> net = rs.Sequential(rs.Linear(np.eye(2), [0.5, -0.5]), rs.ReLU())
>>> path = os.path.join(tempfile.mkdtemp(), "net.npz")
>>> save_model(net, path)
>>> x = np.array([[0.2, 0.7]])
>>> np.array_equal(load_model(path).forward(x), net.forward(x))
True
"""

from __future__ import annotations

import os
import tempfile
from typing import Any

import numpy as np

from .network.layers import Layer
from .network.serialize import model_from_arrays, model_to_arrays

__all__ = ["save_model", "load_model", "save_arrays", "load_arrays"]

FORMAT = "regionscope-1"


def _atomic_savez(path: Any, arrays: dict[str, np.ndarray]) -> None:
    path = os.fspath(path)
    if not path.endswith(".npz"):
        path += ".npz"
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(suffix=".npz.tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as fh:
            np.savez_compressed(fh, **arrays)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _open(path: Any) -> Any:
    try:
        return np.load(os.fspath(path), allow_pickle=False)
    except FileNotFoundError:
        raise
    except (OSError, ValueError) as exc:
        raise ValueError(f"{os.fspath(path)!r} is not a regionscope .npz file: {exc}") from None


def save_model(model: Layer, path: Any) -> None:
    """Write a regionscope network to ``path`` (``.npz``)."""
    text, arrays = model_to_arrays(model)
    _atomic_savez(path, {"format": np.array(FORMAT), "model": np.array(text), **arrays})


def load_model(path: Any) -> Layer:
    """Read a network written by :func:`save_model` (or the model inside a saved partition)."""
    with _open(path) as data:
        if "model" not in data.files:
            raise ValueError(f"{os.fspath(path)!r} holds no regionscope model")
        return model_from_arrays(str(data["model"]), data)


def save_arrays(path: Any, arrays: dict[str, np.ndarray]) -> None:
    """Write named arrays to an ``.npz`` file, atomically."""
    _atomic_savez(path, arrays)


def load_arrays(path: Any) -> dict[str, np.ndarray]:
    """Read every array of an ``.npz`` file (no pickles)."""
    with _open(path) as data:
        return {key: data[key] for key in data.files}
