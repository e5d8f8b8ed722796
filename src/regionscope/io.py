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

import importlib
import json
import os
import tempfile
from typing import Any

import numpy as np

from . import core
from .domains import Domain1D, Domain2D, domain_from_arrays
from .layers import Graph, Layer, Residual, Sequential

__all__ = [
    "save_model",
    "load_model",
    "save_partition",
    "load_partition",
    "model_to_arrays",
    "model_from_arrays",
]

FORMAT = "regionscope-1"


# --------------------------------------------------------------------------------------
# networks


def _class_name(layer: Layer) -> str:
    cls = type(layer)
    return f"{cls.__module__}:{cls.__qualname__}"


def _resolve_class(name: str) -> type:
    module, _, qualname = name.partition(":")
    if not (module == "regionscope" or module.startswith("regionscope.")) or "." in qualname:
        raise ValueError(f"layer class {name!r} is not one of regionscope's own layers")
    cls = getattr(importlib.import_module(module), qualname, None)
    if not (isinstance(cls, type) and issubclass(cls, Layer)):
        raise ValueError(f"{name!r} is not a regionscope layer class")
    return cls


def model_to_arrays(model: Layer, prefix: str = "model") -> tuple[str, dict[str, np.ndarray]]:
    """Describe a network as ``(json text, {name: array})``.

    Raises ``TypeError`` naming a layer that is not one of regionscope's own
    classes or holds something other than arrays, numbers and strings.
    """
    arrays: dict[str, np.ndarray] = {}

    def encode(layer: Layer, path: str) -> dict[str, Any]:
        if isinstance(layer, Sequential):
            return {
                "container": "Sequential",
                "layers": [encode(sub, f"{path}.{i}") for i, sub in enumerate(layer.layers)],
            }
        if isinstance(layer, Residual):
            return {"container": "Residual", "module": encode(layer.module, f"{path}.module")}
        if isinstance(layer, Graph):
            return {
                "container": "Graph",
                "output": layer.output,
                "nodes": [
                    [name, encode(sub, f"{path}.{name}"), list(inputs)]
                    for name, sub, inputs in layer.nodes
                ],
            }
        name = _class_name(layer)
        if not name.startswith("regionscope"):
            raise TypeError(
                f"layer {path} ({type(layer).__name__}) is not a regionscope layer class; "
                "it cannot be saved"
            )
        state: dict[str, Any] = {}
        for key, value in vars(layer).items():
            if isinstance(value, np.ndarray):
                ref = f"{prefix}/{len(arrays)}"
                arrays[ref] = value
                state[key] = {"array": ref}
            elif value is None or isinstance(value, (bool, int, float, str)):
                state[key] = {"value": value}
            elif isinstance(value, (tuple, list)) and all(
                isinstance(v, (bool, int, float, str, type(None)))
                or (isinstance(v, (tuple, list)) and all(isinstance(w, (int, float)) for w in v))
                for v in value
            ):
                state[key] = {
                    "tuple": [list(v) if isinstance(v, (tuple, list)) else v for v in value]
                }
            elif isinstance(value, (np.integer, np.floating)):
                state[key] = {"value": value.item()}
            else:
                raise TypeError(
                    f"layer {path} ({type(layer).__name__}) holds {key!r} of type "
                    f"{type(value).__name__}, which cannot be saved"
                )
        return {"class": name, "state": state}

    spec = encode(model, "model")
    return json.dumps(spec), arrays


def model_from_arrays(text: str, arrays: Any) -> Layer:
    """Rebuild a network from :func:`model_to_arrays` output (no code is run)."""
    try:
        spec = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"the saved model description is not valid JSON: {exc}") from None

    def decode(node: dict[str, Any]) -> Layer:
        kind = node.get("container")
        if kind == "Sequential":
            return Sequential(*[decode(n) for n in node["layers"]])
        if kind == "Residual":
            return Residual(decode(node["module"]))
        if kind == "Graph":
            return Graph([(n, decode(sub), ins) for n, sub, ins in node["nodes"]], node["output"])
        cls = _resolve_class(str(node["class"]))
        obj = cls.__new__(cls)
        state = {}
        for key, entry in node["state"].items():
            if "array" in entry:
                arr = np.array(arrays[entry["array"]])
                arr.setflags(write=False)
                state[key] = arr
            elif "tuple" in entry:
                state[key] = tuple(tuple(v) if isinstance(v, list) else v for v in entry["tuple"])
            else:
                state[key] = entry["value"]
        obj.__dict__.update(state)
        return obj

    return decode(spec)


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


# --------------------------------------------------------------------------------------
# partitions


def save_partition(part: Any, path: Any) -> None:
    """Write a :class:`~regionscope.partition.Partition` or ``Partition1D``."""
    text, arrays = model_to_arrays(Sequential(*part._layers))
    out: dict[str, np.ndarray] = {"format": np.array(FORMAT), "model": np.array(text), **arrays}
    for key, value in part.domain._describe().items():
        out[f"domain/{key}"] = np.asarray(value)
    if isinstance(part.domain, Domain2D):
        mesh = part._mesh
        out.update(
            kind=np.array("2d"),
            vertices=mesh.vertices,
            region_vertices=mesh.region_vertices,
            region_offsets=mesh.region_offsets,
            incidence_source=mesh.incidence_source,
            num_corners=np.array(mesh.num_corners),
        )
    else:
        out.update(kind=np.array("1d"), points=part.points)
    _atomic_savez(path, out)


def load_partition(path: Any) -> Any:
    """Read a partition written by :func:`save_partition`."""
    from .partition import Partition, Partition1D

    with _open(path) as data:
        if "format" not in data.files or str(data["format"]) != FORMAT:
            raise ValueError(f"{os.fspath(path)!r} is not a regionscope partition file")
        model = model_from_arrays(str(data["model"]), data)
        layers = model.layers if isinstance(model, Sequential) else (model,)
        desc = {k[len("domain/") :]: data[k] for k in data.files if k.startswith("domain/")}
        desc = {k: (str(v) if v.dtype.kind == "U" else v) for k, v in desc.items()}
        domain = domain_from_arrays(desc)
        if str(data["kind"]) == "2d":
            if not isinstance(domain, Domain2D):
                raise ValueError("a 2-D partition file must hold a 2-D domain")
            mesh = core.Mesh(
                np.array(data["vertices"]),
                np.array(data["region_vertices"]),
                np.array(data["region_offsets"]),
                np.array(data["incidence_source"]),
                int(data["num_corners"]),
            )
            return Partition(domain, tuple(layers), mesh)
        if not isinstance(domain, Domain1D):
            raise ValueError("a 1-D partition file must hold a 1-D domain")
        return Partition1D(domain, tuple(layers), np.array(data["points"]))
