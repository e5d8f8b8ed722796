"""What a sweep is made of: models, domains and statistics, with stable keys.

A sweep's models may be regionscope networks, torch modules, state dicts (with
a template module) or checkpoint paths (loaded on the worker); its domains
any regionscope domain; its statistics names of :data:`STATS` or functions of
a partition.  Each gets a *key*, a hash of its content (a checkpoint: its
path, size and modification time), so that a task ``(model, domain, stats)``
has the same key in every run: an interrupted sweep finds what it already
computed.

Examples
--------
>>> import regionscope as rs
>>> net = rs.Sequential(rs.Linear([[1.0, 0.0]]), rs.ReLU())
>>> [m.label for m in model_specs([net, net], None)]
['model0', 'model1']
>>> model_specs([net], None)[0].key == model_specs([net], None)[0].key
True
>>> [d.label for d in domain_specs([rs.Box(1.0), rs.Box(2.0)])]
['Box(1.0)', 'Box(2.0)']
>>> part = rs.partition(net, rs.Box(1.0))
>>> {name: fn(part) for name, fn in stat_functions(["num_regions", "mean_size"])}
{'num_regions': 2, 'mean_size': 2.0}
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from regionscope.domains import Domain, coerce_domain
from regionscope.network.detect import is_torch_module
from regionscope.network.layers import Layer

__all__ = [
    "ModelSpec",
    "DomainSpec",
    "STATS",
    "DEFAULT_STATS",
    "model_specs",
    "domain_specs",
    "stat_functions",
    "load_model",
    "task_key",
]


@dataclasses.dataclass(frozen=True)
class ModelSpec:
    """One model of a sweep.

    Attributes
    ----------
    label : str
        Its name in the results (a key of a dict of models, a checkpoint's
        file name, or ``model<i>``).
    kind : {"layers", "torch", "state_dict", "path"}
    obj : object
        The network, module, state dict or path (a str).
    template : torch.nn.Module or None
        The module a state dict or checkpoint is loaded into.
    key : str
        Hash of the content.
    """

    label: str
    kind: str
    obj: Any
    template: Any
    key: str


@dataclasses.dataclass(frozen=True)
class DomainSpec:
    """One domain of a sweep: ``label`` (its repr, made unique), ``domain``, ``key``."""

    label: str
    domain: Domain
    key: str


def _hash(*parts: Any) -> str:
    h = hashlib.sha256()
    for part in parts:
        if isinstance(part, np.ndarray):
            arr = np.ascontiguousarray(part)
            h.update(f"{arr.dtype.str}{arr.shape}".encode())
            h.update(arr.tobytes())
        else:
            h.update(repr(part).encode())
        h.update(b"\x00")
    return h.hexdigest()


def _arrays_key(arrays: Mapping[str, Any]) -> list[Any]:
    return [x for name in sorted(arrays) for x in (name, np.asarray(arrays[name]))]


def _state_key(state: Mapping[str, Any]) -> list[Any]:
    out: list[Any] = []
    for name in sorted(state):
        value = state[name]
        if hasattr(value, "detach"):
            value = value.detach().cpu().numpy()
        out += [name, np.asarray(value)]
    return out


def _looks_like_state(obj: Any) -> bool:
    return (
        isinstance(obj, Mapping) and bool(obj) and all(hasattr(v, "shape") for v in obj.values())
    )


def _model_spec(label: str, model: Any, template: Any, where: str) -> ModelSpec:
    from regionscope.network.serialize import model_to_arrays

    if isinstance(model, Layer):
        text, arrays = model_to_arrays(model)
        return ModelSpec(label, "layers", model, None, _hash("layers", text, *_arrays_key(arrays)))
    if is_torch_module(model):
        key = _hash("torch", type(model).__qualname__, *_state_key(model.state_dict()))
        return ModelSpec(label, "torch", model, None, key)
    if isinstance(model, (str, os.PathLike)):
        path = os.path.abspath(os.fspath(model))
        if not os.path.isfile(path):
            raise FileNotFoundError(f"{where}: no checkpoint file {path!r}")
        if not path.endswith(".npz") and template is None:
            raise ValueError(f"{where}: a checkpoint {path!r} needs template= (a torch module)")
        info = os.stat(path)
        key = _hash("path", path, info.st_size, info.st_mtime_ns, _template_name(template))
        return ModelSpec(label, "path", path, template, key)
    if isinstance(model, Mapping):
        if template is None:
            raise ValueError(f"{where}: a state dict needs template= (a torch module)")
        key = _hash("state_dict", _template_name(template), *_state_key(model))
        return ModelSpec(label, "state_dict", dict(model), template, key)
    raise TypeError(
        f"{where} must be a regionscope network, a torch module, a state dict or a checkpoint "
        f"path, got {type(model).__name__}"
    )


def _template_name(template: Any) -> str:
    return "" if template is None else type(template).__qualname__


def model_specs(models: Any, template: Any) -> list[ModelSpec]:
    """The models of a sweep: a sequence, or a dict ``{label: model}``.

    Raises ``TypeError`` or ``ValueError`` naming the model that is not usable.
    """
    if template is not None and not is_torch_module(template):
        raise TypeError(f"template must be a torch.nn.Module, got {type(template).__name__}")
    if _looks_like_state(models):
        raise TypeError(
            "models looks like one state dict; pass a list [state_dict] or {label: state_dict}"
        )
    if isinstance(models, Mapping):
        items = [(str(k), v) for k, v in models.items()]
    elif isinstance(models, Sequence) and not isinstance(models, (str, bytes)):
        items = [(_default_label(m, i), m) for i, m in enumerate(models)]
    else:
        raise TypeError(f"models must be a list or a dict of models, got {type(models).__name__}")
    if not items:
        raise ValueError("models is empty")
    labels = [label for label, _ in items]
    if len(set(labels)) != len(labels):
        items = [(f"{label} #{i}", m) for i, (label, m) in enumerate(items)]
    return [_model_spec(label, m, template, f"models[{label!r}]") for label, m in items]


def _default_label(model: Any, i: int) -> str:
    if isinstance(model, (str, os.PathLike)):
        return os.path.basename(os.fspath(model))
    return f"model{i}"


def domain_specs(domains: Any) -> list[DomainSpec]:
    """The domains of a sweep: a sequence (labelled by repr) or a dict ``{label: domain}``."""
    if isinstance(domains, Domain):
        domains = [domains]
    if isinstance(domains, Mapping):
        items = [(str(k), v) for k, v in domains.items()]
    elif isinstance(domains, Sequence) and not isinstance(domains, (str, bytes)):
        items = [(None, d) for d in domains]
    else:
        raise TypeError(
            f"domains must be a list or a dict of domains, got {type(domains).__name__}"
        )
    if not items:
        raise ValueError("domains is empty")
    out = []
    for i, (label, d) in enumerate(items):
        try:
            dom = coerce_domain(d)
        except TypeError as exc:
            raise TypeError(f"domains[{i if label is None else label!r}]: {exc}") from None
        out.append((repr(dom) if label is None else label, dom))
    labels = [label for label, _ in out]
    if len(set(labels)) != len(labels):
        out = [(f"{label} #{i}", d) for i, (label, d) in enumerate(out)]
    return [DomainSpec(label, d, _hash("domain", *_arrays_key(d.to_arrays()))) for label, d in out]


# -- statistics -----------------------------------------------------------------------


def _sizes(part: Any) -> np.ndarray:
    return np.asarray(part.areas() if hasattr(part, "areas") else part.lengths())


def _num_vertices(part: Any) -> int:
    if hasattr(part, "num_vertices"):
        return int(part.num_vertices)
    return len(part.breakpoints) + 2  # a segment's pieces: breakpoints and both ends


def _num_edges(part: Any) -> int:
    return int(part.num_edges) if hasattr(part, "num_edges") else int(part.num_regions)


def _decision_edges(part: Any) -> int:
    if hasattr(part, "decision_boundary"):
        return int(np.count_nonzero(part.decision_boundary()))
    return 0


#: statistics by name: functions of a partition (2-D or 1-D)
STATS: dict[str, Callable[[Any], Any]] = {
    "num_regions": lambda part: int(part.num_regions),
    "num_vertices": _num_vertices,
    "num_edges": _num_edges,
    "mean_size": lambda part: float(_sizes(part).mean()),
    "min_size": lambda part: float(_sizes(part).min()),
    "max_size": lambda part: float(_sizes(part).max()),
    "decision_edges": _decision_edges,
}
#: the statistics of a sweep by default (``time``: seconds to compute the partition,
#: ``peak_rss_mb``: peak memory of the worker process during the task, on Linux)
DEFAULT_STATS = ("num_regions", "num_vertices", "num_edges", "time")
#: statistics measured by the task itself rather than computed from the partition
MEASURED = ("time", "peak_rss_mb")


def stat_functions(stats: Any) -> list[tuple[str, Callable[[Any], Any] | str]]:
    """``[(column, function)]`` of a sweep's ``stats`` (the name for :data:`MEASURED` ones).

    ``stats`` is a sequence of names (:data:`STATS`, ``"time"``,
    ``"peak_rss_mb"``) and functions ``f(partition) -> number`` (named by
    ``__name__``), or a dict ``{column: name or function}``.
    """
    if stats is None:
        stats = DEFAULT_STATS
    if isinstance(stats, (str, bytes)) or callable(stats):
        stats = [stats]
    items = list(stats.items()) if isinstance(stats, Mapping) else [(None, s) for s in stats]
    out: list[tuple[str, Callable[[Any], Any] | str]] = []
    for column, stat in items:
        if isinstance(stat, str):
            if stat not in STATS and stat not in MEASURED:
                raise ValueError(
                    f"unknown statistic {stat!r}; known: {sorted([*STATS, *MEASURED])} "
                    "(or pass a function of a partition)"
                )
            out.append((column or stat, STATS.get(stat, stat)))
        elif callable(stat):
            out.append((column or getattr(stat, "__name__", "stat"), stat))
        else:
            raise TypeError(f"a statistic must be a name or a function, got {type(stat).__name__}")
    names = [name for name, _ in out]
    if len(set(names)) != len(names):
        raise ValueError(f"statistics must have distinct names, got {names} (use a dict)")
    return out


def stats_key(stats: list[tuple[str, Callable[[Any], Any] | str]]) -> str:
    """Hash of the statistics' names and functions (module and qualified name)."""
    return _hash(
        *[
            (name, fn if isinstance(fn, str) else f"{fn.__module__}.{fn.__qualname__}")
            for name, fn in stats
        ]
    )


def task_key(model: ModelSpec, domain: DomainSpec, stats: str) -> str:
    """The key of a task: the same in every run of the same sweep (a file name)."""
    return _hash(model.key, domain.key, stats)[:24]


# -- on the worker --------------------------------------------------------------------

#: models loaded by this process, by key (a worker runs many tasks of one model)
_LOADED: dict[tuple[str, tuple[int, ...]], Any] = {}
#: at most this many loaded models are kept
LOADED_MAX = 4


def _load_checkpoint(path: str, template: Any) -> Any:
    """A torch checkpoint (a state dict, or a dict holding one) loaded into a copy of template."""
    import copy

    import torch

    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many kinds for a damaged file
        raise ValueError(
            f"{path}: not a readable torch checkpoint ({type(exc).__name__}: {exc})"
        ) from exc
    if isinstance(state, Mapping):
        for name in ("state_dict", "model_state_dict", "model"):
            if name in state and isinstance(state[name], Mapping):
                state = state[name]
                break
    if not isinstance(state, Mapping):
        raise ValueError(f"{path}: the checkpoint is not a state dict")
    module = copy.deepcopy(template)
    module.load_state_dict(state)
    return module


def load_model(spec: ModelSpec, input_shape: tuple[int, ...]) -> Any:
    """The regionscope layers of a model (loaded and converted once per process)."""
    import copy

    from regionscope.network.coerce import as_layers
    from regionscope.network.layers import Sequential

    key = (spec.key, tuple(input_shape))
    if key in _LOADED:
        return _LOADED[key]
    if spec.kind == "path" and spec.obj.endswith(".npz"):
        from regionscope.io import load_model as load_npz

        model = load_npz(spec.obj)
    elif spec.kind == "path":
        model = _load_checkpoint(spec.obj, spec.template)
    elif spec.kind == "state_dict":
        model = copy.deepcopy(spec.template)
        model.load_state_dict(spec.obj)
    else:
        model = spec.obj
    if is_torch_module(model):
        model = model.eval()
    net = Sequential(*as_layers(model, input_shape))
    while len(_LOADED) >= LOADED_MAX:
        _LOADED.pop(next(iter(_LOADED)))
    _LOADED[key] = net
    return net
