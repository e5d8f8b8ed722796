"""What a figure draws around the domain: text, boxes, strokes, gradients and dots, in pixels.

The title, the legend, the colour bar and the axes of a picture are made of
a few primitives placed in picture pixels (``y`` down), so that the SVG, the
NumPy PNG and the matplotlib back ends draw the same figure:

* :class:`Text` -- one line of text (tick labels, legend labels, the title);
* :class:`Rect` -- a rectangle, filled and/or outlined (frames, swatches);
* :class:`Strokes` -- straight segments of one colour and width (ticks, line samples);
* :class:`Gradient` -- a rectangle filled with colours from bottom to top (colour bars);
* :class:`Dot` -- a disc with an outline (the sample of a mark in a legend).

Every primitive names the ``group`` it belongs to (``"axes"``, ``"labels"``
(the axis names), ``"title"``, ``"colorbar"``, ``"legend"``); the SVG back
end writes one ``<g>`` per group.
:func:`text_width` estimates how wide a text is, for the layout (the back
ends use real fonts, so the estimate is generous).

Examples
--------
>>> text_width("abc", 10.0)
19.2
>>> Text(5.0, 10.0, "hi", 12.0).anchor
'start'
"""

from __future__ import annotations

import dataclasses

import numpy as np

from .colors import RGBA

__all__ = ["Dot", "Gradient", "Item", "Rect", "Strokes", "Text", "text_width", "CHAR_WIDTH"]

#: average width of a character, as a fraction of the font size (sans-serif, generous)
CHAR_WIDTH = 0.64
BLACK: RGBA = (0.0, 0.0, 0.0, 1.0)


@dataclasses.dataclass
class Text:
    """One line of text.

    Attributes
    ----------
    x, y : float
        Anchor point in pixels; ``y`` is the vertical centre of the text.
    text : str
    size : float
        Font size in pixels.
    anchor : {"start", "middle", "end"}
        Which end of the text is at ``x`` (after rotation: along the text).
    color : RGBA
    rotation : float
        Degrees counter-clockwise (90: read from bottom to top).
    bold : bool
    group : str
    """

    x: float
    y: float
    text: str
    size: float
    anchor: str = "start"
    color: RGBA = BLACK
    rotation: float = 0.0
    bold: bool = False
    group: str = "legend"


@dataclasses.dataclass
class Rect:
    """A rectangle from ``(x, y)`` (top left) of ``w`` by ``h`` pixels.

    ``fill`` and ``stroke`` are RGBA or ``None`` (not drawn); ``stroke_width``
    in pixels.
    """

    x: float
    y: float
    w: float
    h: float
    fill: RGBA | None
    stroke: RGBA | None = None
    stroke_width: float = 1.0
    group: str = "legend"


@dataclasses.dataclass
class Strokes:
    """Segments ``p0[i]``--``p1[i]`` (``(M, 2) float64`` pixels) in one colour and width."""

    p0: np.ndarray
    p1: np.ndarray
    color: RGBA
    width: float
    group: str = "legend"


@dataclasses.dataclass
class Gradient:
    """A rectangle filled with ``colors`` ``(K, 4) float64``, the first at the bottom."""

    x: float
    y: float
    w: float
    h: float
    colors: np.ndarray
    group: str = "colorbar"


@dataclasses.dataclass
class Dot:
    """A disc of ``diameter`` pixels at ``(x, y)``, filled, with a one-pixel outline."""

    x: float
    y: float
    diameter: float
    fill: RGBA
    stroke: RGBA = BLACK
    group: str = "legend"


#: any overlay primitive
Item = Text | Rect | Strokes | Gradient | Dot


def text_width(text: str, size: float) -> float:
    """Estimated width in pixels of ``text`` at font size ``size`` (pixels).

    Parameters
    ----------
    text : str
    size : float

    Returns
    -------
    float
        ``CHAR_WIDTH * size * len(text)``.
    """
    return CHAR_WIDTH * float(size) * len(text)
