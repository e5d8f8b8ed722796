"""Region colours: the ``color_by`` style option resolved into one colour per region.

A region is coloured by a hash of its activation pattern (the default: a
region keeps its colour while the weights move a little), by the network's
class or output at its centroid, by a user's function, or all alike.  Value
colourings also return a :class:`ValueScale`, from which matplotlib draws a
colour bar.

Examples
--------
>>> import regionscope as rs
>>> net = rs.Sequential(rs.Linear([[1.0, 0.0], [0.0, 1.0]]), rs.ReLU())
>>> part = rs.partition(net, rs.Box(1.0))
>>> region_colors(part).shape
(4, 4)
>>> rgba, scale = resolve_region_colors(part, check_style({"color_by": "output"}, "example"))
>>> scale.label, scale.vmin, scale.vmax
('output 0', 0.0, 0.5)
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from regionscope.network.layers import Argmax

from .colors import categorical_colors, colormap, hash_colors, to_rgba
from .style import check_int_option, check_style

if TYPE_CHECKING:
    from regionscope.partitions import Partition

__all__ = [
    "ClassScale",
    "ValueScale",
    "class_colors",
    "region_colors",
    "resolve_fill",
    "resolve_region_colors",
]

#: how far ``color_by="class"`` colours are lightened towards white (0: not, 1: white)
CLASS_LIGHTEN = 0.35


def _is_mpl_colormap(obj: Any) -> bool:
    """Whether ``obj`` is a matplotlib ``Colormap`` (without importing matplotlib)."""
    mod = sys.modules.get("matplotlib.colors")
    return mod is not None and isinstance(obj, mod.Colormap)


@dataclasses.dataclass
class ValueScale:
    """A colouring by values: what a colour bar shows.

    Attributes
    ----------
    cmap : callable
        Maps values ``(N,) float64`` in ``[0, 1]`` to colours ``(N, 4) float64``.
    cmap_spec : None, str or colormap
        The ``cmap`` option it was made from (a matplotlib ``Colormap`` is
        reused as is by :func:`~regionscope.render.plot`).
    vmin, vmax : float
        Values shown at the two ends of the colormap.
    label : str
        What the values are (``"output 1"``, a function's name...).
    """

    cmap: Callable[[np.ndarray], np.ndarray]
    cmap_spec: Any
    vmin: float
    vmax: float
    label: str


@dataclasses.dataclass
class ClassScale:
    """A colouring by class: what a class legend shows.

    Attributes
    ----------
    classes : (F,) int64
        The class of each region (argmax of the outputs at its centroid; for
        one output, 1 where it is positive).
    num_classes : int
        Number of classes of the network (its outputs, or 2 for one output).
    """

    classes: np.ndarray
    num_classes: int


def class_colors(classes: np.ndarray) -> np.ndarray:
    """Fill colours ``(N, 4) float64`` of classes ``(N,) int`` (the palette, lightened).

    Examples
    --------
    >>> class_colors(np.array([0])).round(3).tolist()
    [[0.936, 0.755, 0.35, 1.0]]
    """
    return _lighten(categorical_colors(classes), CLASS_LIGHTEN)


def _region_values(part: Partition) -> np.ndarray:
    """Network outputs ``(F, width) float64`` at the region centroids."""
    vals = np.asarray(part.region_values(part.centroids()), dtype=np.float64)
    return vals.reshape(len(vals), -1)


def _region_classes(part: Partition) -> tuple[np.ndarray, int]:
    """The class ``(F,) int64`` of each region and the number of classes.

    A planar partition whose class is constant on every region (it ends in an
    Argmax, as the picture's :func:`drawn_partition` does, or has one output)
    answers from its stored maps
    (:meth:`~regionscope.partitions.planar.Partition.classes`), with no forward
    pass; any other partition by its outputs at the region centroids.
    """
    width = getattr(part, "num_outputs", None)
    ops = part.program.ops if width is not None and hasattr(part, "classes") else ()
    if ops and (width == 1 or isinstance(ops[-1].layer, Argmax)):
        return np.asarray(part.classes(), dtype=np.int64), max(int(width), 2)
    vals = _region_values(part)
    cls = vals.argmax(axis=1) if vals.shape[1] > 1 else (vals[:, 0] > 0).astype(np.int64)
    return cls.astype(np.int64), max(vals.shape[1], 2)


def _lighten(rgba: np.ndarray, amount: float) -> np.ndarray:
    """Colours ``(N, 4)`` moved ``amount`` of the way to white (alpha kept)."""
    out = rgba.copy()
    out[:, :3] = rgba[:, :3] + (1.0 - rgba[:, :3]) * amount
    return out


def _color_values(
    values: np.ndarray, st: dict[str, Any], label: str
) -> tuple[np.ndarray, ValueScale]:
    """Colours ``(N, 4) float64`` of values ``(N,)`` through the style's colormap and range."""
    cmap = colormap(st["cmap"])
    finite = values[np.isfinite(values)]
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    vmin = float(st["vmin"]) if st["vmin"] is not None else lo
    vmax = float(st["vmax"]) if st["vmax"] is not None else hi
    span = vmax - vmin if vmax > vmin else 1.0
    rgba = np.asarray(cmap((values - vmin) / span), dtype=np.float64).reshape(len(values), -1)
    if rgba.shape[1] == 3:
        rgba = np.concatenate([rgba, np.ones((len(rgba), 1))], axis=1)
    return rgba, ValueScale(cmap, st["cmap"], vmin, vmax, label)


def _colors_by_name(
    part: Partition, st: dict[str, Any], color_by: str
) -> tuple[np.ndarray, ValueScale | ClassScale | None]:
    """Region colours ``(F, 4)`` for ``color_by`` "pattern", "none", "class" or "output"."""
    if color_by == "pattern":
        return hash_colors(np.asarray(part.pattern_keys(), dtype=np.uint64)), None
    if color_by == "none":
        return np.tile(np.array(to_rgba(st["fill"])), (int(part.num_regions), 1)), None
    if color_by == "class":
        cls, num = _region_classes(part)
        return class_colors(cls), ClassScale(cls, num)
    vals = _region_values(part)
    k = st["output"]
    check_int_option(k, "output", "an int")
    if not -vals.shape[1] <= k < vals.shape[1]:
        raise ValueError(f"output={k} is out of range: the network has {vals.shape[1]} output(s)")
    return _color_values(vals[:, k], st, f"output {int(k) % vals.shape[1]}")


def _colors_from_function(
    part: Partition, st: dict[str, Any], fn: Callable[[Any], Any]
) -> tuple[np.ndarray, ValueScale | None]:
    """Region colours ``(F, 3|4)`` of a ``color_by`` function (colours or values)."""
    num = int(part.num_regions)
    got = np.asarray(fn(part), dtype=np.float64)
    if got.shape == (num,):
        return _color_values(got, st, getattr(fn, "__name__", "value"))
    if got.ndim == 2 and got.shape[0] == num and got.shape[1] in (3, 4):
        if not (np.isfinite(got).all() and got.min() >= 0.0 and got.max() <= 1.0):
            raise ValueError("color_by function must return colours in [0, 1]")
        return (got if got.shape[1] == 4 else np.concatenate([got, np.ones((num, 1))], 1)), None
    raise ValueError(
        f"color_by function must return ({num},) values or ({num}, 3|4) colours, "
        f"got shape {got.shape}"
    )


def drawn_partition(part: Any, style: dict[str, Any]) -> Any:
    """The partition to draw with ``style``.

    Colouring by class needs one class per region.  A classifier with ``K > 1``
    outputs and no Argmax layer has a decision boundary that crosses regions,
    so its picture is drawn from the partition with the decision cut in
    (:meth:`Partition.with_decision <regionscope.partitions.planar.Partition.with_decision>`):
    exact class colours, and the boundary drawn.  Any other partition is drawn as it is.
    """
    if style.get("color_by") == "class" and hasattr(part, "with_decision"):
        return part.with_decision()
    return part


def resolve_region_colors(
    part: Partition, st: dict[str, Any]
) -> tuple[np.ndarray, ValueScale | None]:
    """Region colours of a checked style, and the value scale they show (if any).

    As :func:`resolve_fill`, without the classes.
    """
    rgba, info = resolve_fill(part, st)
    return rgba, info if isinstance(info, ValueScale) else None


def resolve_fill(
    part: Partition, st: dict[str, Any]
) -> tuple[np.ndarray, ValueScale | ClassScale | None]:
    """Region colours of a checked style, and what they show.

    Parameters
    ----------
    part : Partition
    st : dict
        Style options with defaults filled in (:func:`~.style.check_style`).

    Returns
    -------
    rgba : (F, 4) float64
        RGBA in ``[0, 1]`` of each region, ``alpha`` applied.
    scale : ValueScale, ClassScale or None
        The value scale when the colours show values (``"output"``, a
        colormap, a function returning values), the classes for
        ``"class"``, else ``None``.
    """
    color_by = st["color_by"]
    if _is_mpl_colormap(color_by) or (
        isinstance(color_by, str) and color_by not in ("pattern", "output", "class", "none")
    ):
        st = {**st, "cmap": color_by}
        color_by = "output"
    if isinstance(color_by, str):
        rgba, info = _colors_by_name(part, st, color_by)
    elif callable(color_by):
        rgba, info = _colors_from_function(part, st, color_by)
    else:
        raise TypeError(
            "color_by must be 'pattern', 'output', 'class', 'none', a colormap or a "
            f"function, got {type(color_by).__name__}"
        )
    rgba = np.array(rgba, dtype=np.float64)
    rgba[:, 3] *= float(st["alpha"])
    return rgba, info


def region_colors(part: Partition, **style: Any) -> np.ndarray:
    """The fill colours a picture would use.

    Parameters
    ----------
    part : Partition
    **style
        Style options of :func:`~regionscope.render.to_svg` (see
        :mod:`regionscope.render.style`).

    Returns
    -------
    (F, 4) float64
        RGBA in ``[0, 1]``, one row per region.

    Examples
    --------
    >>> import regionscope as rs
    >>> part = rs.partition(rs.Sequential(rs.Linear([[1.0, 0.0]]), rs.ReLU()), rs.Box(1.0))
    >>> region_colors(part, color_by="none", fill="#ff0000", alpha=0.5).tolist()
    [[1.0, 0.0, 0.0, 0.5], [1.0, 0.0, 0.0, 0.5]]
    """
    st = check_style(style, "region_colors")
    return resolve_region_colors(part, st)[0]
