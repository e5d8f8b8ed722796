"""Style options: their names, defaults and checks.

Every drawing function of :mod:`regionscope.render` takes the same keyword
options; :func:`check_style` fills in the defaults of :data:`STYLE_KEYS` and
rejects unknown names (a typo raises instead of being ignored).

Style options (keywords of every drawing function)
---------------------------------------------------
size : int or (int, int), optional
    Picture width, or ``(width, height)``, in pixels (default width 600,
    height from the domain's aspect ratio).
color_by : str, callable or colormap
    ``"pattern"`` (default: a colour hashed from the activation pattern, so a
    region keeps its colour while weights move a little), ``"output"`` (the
    value of output ``output`` at the region's centroid through ``cmap``),
    ``"class"`` (argmax of the outputs, categorical colours), ``"none"``
    (``fill``), a colormap name or object (like ``"output"`` with that map),
    or a function ``f(part)`` returning ``(F, 3|4)`` colours in ``[0, 1]`` or
    ``(F,)`` values (shown through ``cmap``).
output : int
    Output index for ``color_by="output"`` (default 0).
cmap, vmin, vmax :
    Colormap and value range for values (default: built-in viridis, range of
    the values).
fill : colour
    Region colour for ``color_by="none"`` (default white).
alpha : float
    Opacity of the region colours (default 1).
edges : str or colour
    ``"layer"`` (default: colour of the layer that made the edge),
    ``"neuron"`` (colour of the unit), ``"none"``, or one colour for all.
layer : int, optional
    Draw only this layer's edges in colour (by neuron unless ``edges`` says
    otherwise); other layers' edges use ``other_edges`` (default light gray;
    ``"none"`` hides them).
edge_width : float, optional
    Line width in pixels (default: from the density of regions, 0.35 to 1.2).
boundary, boundary_color, boundary_width :
    Draw the domain's outline (default True, dark gray).
decision, decision_color, decision_width :
    Draw the decision boundary (``part.decision_boundary()``) thicker in its
    own colour (default True, black, 2.5 px).
vertices, vertex_color, vertex_size :
    Draw the vertices as dots (default False; size is a diameter in pixels).
mark : array or True, optional
    Points to mark: ``(N, 2)`` domain coordinates or, for a
    :class:`~regionscope.Plane`, inputs of ``R^D`` (images...) that are
    projected with ``domain.to_plane``; ``True`` marks a plane's three
    defining points.
mark_labels : sequence of str, optional
    Text next to each mark (SVG and matplotlib; the NumPy PNG back end has no
    fonts and uses matplotlib when it is installed).
mark_color : colour, sequence of colours or (N,) int
    Mark colours; integers are class labels in the ``"class"`` palette.
mark_size : float
    Mark diameter in pixels (default 9).
axes : bool
    Frame with ticks in domain coordinates, and the axes' names (default
    False, True in :func:`~regionscope.render.plot`).
axis_labels : (str, str) or False, optional
    Names of the axes (default ``"input 0"``, ``"input 1"``, or for a
    :class:`~regionscope.Plane` ``"plane coordinate 1"``, ``"plane
    coordinate 2"``); ``False`` writes none.
background : colour
    Picture background (default white; ``"none"`` for a transparent SVG).
padding : int
    Pixels around the domain (default 4; larger with ``axes``).
title : str, optional
    Title above the domain.
legend : bool
    Legend of the classes (``color_by="class"``), of the edge layers (or of
    the units of ``layer``) and of the decision boundary, right of the
    domain (default False; in :func:`~regionscope.render.plot`, inside the
    axes when it has at most 12 entries).
class_names : sequence of str or dict, optional
    Names of the classes in the legend (default ``"class 0"``, ...): one per
    output, or ``{class: name}``.
layer_names : sequence of str or dict, optional
    Names of the layers in the legend (default ``"ReLU 1"``, ``"ReLU 2"``...
    for unnamed layers, ``"features.3 (ReLU)"`` for named ones): one per
    piecewise layer, or ``{layer index or name: name}``.
colorbar : bool, optional
    Colour bar for value colourings (default: with the legend; always in
    :func:`~regionscope.render.plot`).

A picture too small for its decorations leaves out the legend, colour bar,
axis names, title and axes, in that order, while the domain would get less
than 40% of the picture's smaller side.  Text in PNG pictures is written by
matplotlib (the NumPy back end has no fonts).
precision : int
    SVG coordinate decimals (in pixels; default 2).

Examples
--------
>>> st = check_style({"size": 300}, "to_svg")
>>> st["size"], st["color_by"], len(st) == len(STYLE_KEYS)
(300, 'pattern', True)
>>> check_style({"colour_by": "class"}, "to_svg")
Traceback (most recent call last):
    ...
TypeError: to_svg() got unknown style option(s) ['colour_by']; known options: [...]
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["STYLE_KEYS", "check_style", "check_int_option"]

#: style options accepted by the drawing functions, with their defaults
STYLE_KEYS: dict[str, Any] = {
    "size": None,
    "color_by": "pattern",
    "output": 0,
    "cmap": None,
    "vmin": None,
    "vmax": None,
    "fill": "white",
    "alpha": 1.0,
    "edges": "layer",
    "layer": None,
    "other_edges": "#c8c8c8",
    "edge_width": None,
    "boundary": True,
    "boundary_color": "#333333",
    "boundary_width": None,
    "decision": True,
    "decision_color": "#000000",
    "decision_width": 2.5,
    "vertices": False,
    "vertex_color": "#222222",
    "vertex_size": 3.0,
    "mark": None,
    "mark_labels": None,
    "mark_color": "#ffffff",
    "mark_size": 9.0,
    "axes": False,
    "background": "white",
    "padding": None,
    "legend": None,
    "colorbar": None,
    "precision": 2,
    "title": None,
    "class_names": None,
    "layer_names": None,
    "axis_labels": None,
}


def check_style(style: dict[str, Any], where: str) -> dict[str, Any]:
    """The style options with defaults filled in.

    Parameters
    ----------
    style : dict
        Style options given by the caller (not changed).
    where : str
        Name of the calling function, for the error message.

    Returns
    -------
    dict
        A new dict with every key of :data:`STYLE_KEYS`.

    Raises
    ------
    TypeError
        When ``style`` has a name that is not a style option.
    """
    unknown = sorted(set(style) - set(STYLE_KEYS))
    if unknown:
        raise TypeError(
            f"{where}() got unknown style option(s) {unknown}; known options: {sorted(STYLE_KEYS)}"
        )
    out = dict(STYLE_KEYS)
    out.update(style)
    return out


def check_int_option(value: Any, name: str, what: str) -> None:
    """Raise ``TypeError`` unless ``value`` is an integer (a ``bool`` is not).

    Parameters
    ----------
    value : object
        The option's value.
    name : str
        The option's name, for the message.
    what : str
        What it should be (``"an int"``...), for the message.

    Examples
    --------
    >>> check_int_option(np.int64(2), "output", "an int")
    >>> check_int_option(True, "output", "an int")
    Traceback (most recent call last):
        ...
    TypeError: output must be an int, got bool
    """
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be {what}, got {type(value).__name__}")
