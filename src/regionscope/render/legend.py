"""Legend entries: names of layers and classes, and what each colour of a picture means.

A picture's legend has up to three sections, each a list of :class:`Entry`:

* classes (``color_by="class"``): a filled swatch per class, named by the
  ``class_names`` style option (default ``"class 0"``, ...);
* edges: a line sample per layer that made edges (named by
  :func:`layer_label`, or the ``layer_names`` option), or per unit when one
  ``layer`` is highlighted;
* the decision boundary and the marked points.

:func:`layer_label` names a layer readably: ``"ReLU 2"`` for the second ReLU
of a model whose layers have no names of their own, ``"features.3 (ReLU)"``
for a named (converted torch) layer.

Examples
--------
>>> import regionscope as rs
>>> net = rs.Sequential(rs.Linear([[1.0, 0.0]]), rs.ReLU(), rs.Linear([[1.0]]), rs.ReLU())
>>> part = rs.partition(net, rs.Box(1.0))
>>> layer_label(part, 1), layer_label(part, 3)
('ReLU 1', 'ReLU 2')
>>> layer_label(part, 3, {3: "second"}), layer_label(part, 3, ["a", "b"])
('second', 'b')
>>> class_labels(3, ["cat", "dog", "emu"]), class_labels(2, None)
(['cat', 'dog', 'emu'], ['class 0', 'class 1'])
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from .colors import RGBA

if TYPE_CHECKING:
    from regionscope.partitions import Partition

__all__ = [
    "Entry",
    "class_labels",
    "layer_label",
    "check_names",
    "MAX_CLASS_ENTRIES",
]

#: a class legend lists at most this many classes (those present in the picture first)
MAX_CLASS_ENTRIES = 20
_AUTO_NAME = re.compile(r"^[0-9]+(\.[0-9]+)*$")


@dataclasses.dataclass
class Entry:
    """One legend entry.

    Attributes
    ----------
    label : str
    color : RGBA
    kind : {"patch", "line", "dot"}
        A filled swatch (classes), a line sample (edges), a disc (marks).
    width : float
        Line width in pixels of a ``"line"`` sample.
    section : str
        ``"classes"``, ``"edges"`` or ``"other"``.
    """

    label: str
    color: RGBA
    kind: str = "line"
    width: float = 2.0
    section: str = "edges"


def check_names(names: Any, option: str) -> Mapping[Any, str] | Sequence[str] | None:
    """The ``class_names`` or ``layer_names`` option: ``None``, a sequence or a mapping of str.

    Raises
    ------
    TypeError
        For anything else (a single string included).

    Examples
    --------
    >>> check_names(("a", "b"), "class_names")
    ['a', 'b']
    >>> check_names("ab", "class_names")
    Traceback (most recent call last):
        ...
    TypeError: class_names must be a sequence or a dict of names, got str
    """
    if names is None:
        return None
    if isinstance(names, Mapping):
        return {k: str(v) for k, v in names.items()}
    if isinstance(names, np.ndarray) and names.ndim == 1:
        return [str(v) for v in names.tolist()]
    if isinstance(names, (str, bytes)) or not isinstance(names, Sequence):
        raise TypeError(
            f"{option} must be a sequence or a dict of names, got {type(names).__name__}"
        )
    return [str(v) for v in names]


def class_labels(num_classes: int, names: Any) -> list[str]:
    """Names of classes ``0 .. num_classes - 1``.

    Parameters
    ----------
    num_classes : int
    names : None, sequence of str or dict
        The ``class_names`` option: a sequence names classes in order (it
        must name every class), a dict names some (by int).

    Raises
    ------
    ValueError
        When a sequence has fewer names than there are classes.
    """
    checked = check_names(names, "class_names")
    out = [f"class {i}" for i in range(num_classes)]
    if checked is None:
        return out
    if isinstance(checked, Mapping):
        for k, v in checked.items():
            if isinstance(k, (int, np.integer)) and 0 <= k < num_classes:
                out[k] = v
        return out
    if len(checked) < num_classes:
        raise ValueError(
            f"class_names has {len(checked)} names but the network has {num_classes} classes"
        )
    return list(checked[:num_classes])


def _auto_label(part: Partition, layer: int) -> str:
    """``"ReLU 2"``: the type, numbered among the piecewise layers of that type when repeated."""
    ops = part.program.ops
    kind = type(ops[layer].layer).__name__
    same = [i for i in part.piecewise_layers if type(ops[i].layer).__name__ == kind]
    if len(same) <= 1 or layer not in same:
        return kind
    return f"{kind} {same.index(layer) + 1}"


def layer_label(part: Partition, layer: int, names: Any = None) -> str:
    """A readable name of layer ``layer`` (an op index) of a partition.

    Parameters
    ----------
    part : Partition
    layer : int
        Index of the layer (``part.layers[layer]``).
    names : None, sequence of str or dict
        The ``layer_names`` option: a dict by layer index or layer name, or a
        sequence naming the piecewise layers in order.

    Returns
    -------
    str
        ``names``' entry; else ``"ReLU 2"`` (the second ReLU) for layers
        named by position, ``"features.3 (ReLU)"`` for named ones, or
        ``"layer 3"`` when the partition has no program.
    """
    checked = check_names(names, "layer_names")
    try:
        op = part.program.ops[layer]
    except (AttributeError, IndexError, TypeError):
        return f"layer {layer}"
    if isinstance(checked, Mapping):
        for key in (layer, op.name):
            if key in checked:
                return checked[key]
    elif checked is not None:
        order = list(part.piecewise_layers)
        if layer in order and order.index(layer) < len(checked):
            return checked[order.index(layer)]
    if _AUTO_NAME.match(op.name):
        return _auto_label(part, layer)
    return f"{op.name} ({type(op.layer).__name__})"
