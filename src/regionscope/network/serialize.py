"""Networks as plain data: a JSON description of the layer tree plus its arrays.

Only regionscope's own layer classes can be named in a description, so
rebuilding a network from one never runs code from it.

Examples
--------
>>> import numpy as np
>>> from regionscope.network.layers import Linear, ReLU, Sequential
>>> text, arrays = model_to_arrays(Sequential(Linear(np.eye(2), [0.5, -0.5]), ReLU()))
>>> sorted(arrays)
['model/0', 'model/1']
>>> model_from_arrays(text, arrays).forward(np.array([[0.2, 0.7]]))
array([[0.7, 0.2]])
"""

from __future__ import annotations

import importlib
import json
from typing import Any

import numpy as np

from .layers import Graph, Layer, Residual, Sequential

__all__ = ["model_to_arrays", "model_from_arrays"]


def _class_name(layer: Layer) -> str:
    cls = type(layer)
    return f"{cls.__module__}:{cls.__qualname__}"


#: where layer classes lived in files written by regionscope 0.1
_MOVED = {
    "regionscope.layers": "regionscope.network.layers",
    "regionscope.conv": "regionscope.network.conv",
}


def _resolve_class(name: str) -> type:
    module, _, qualname = name.partition(":")
    module = _MOVED.get(module, module)
    if not (module == "regionscope" or module.startswith("regionscope.")) or "." in qualname:
        raise ValueError(f"layer class {name!r} is not one of regionscope's own layers")
    try:
        cls = getattr(importlib.import_module(module), qualname, None)
    except ImportError:
        cls = None
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
                if arr.dtype.kind not in "biuf":
                    raise ValueError(f"{cls.__name__} {key} has dtype {arr.dtype}, not real")
                if arr.dtype.kind == "f" and not np.isfinite(arr).all():
                    raise ValueError(f"{cls.__name__} {key} holds NaN or infinity")
                arr.setflags(write=False)
                state[key] = arr
            elif "tuple" in entry:
                state[key] = tuple(tuple(v) if isinstance(v, list) else v for v in entry["tuple"])
            else:
                state[key] = entry["value"]
        obj.__dict__.update(state)
        return obj

    try:
        return decode(spec)
    except (KeyError, TypeError, IndexError, AttributeError) as exc:
        raise ValueError(f"the saved model description is malformed ({exc!r})") from None
