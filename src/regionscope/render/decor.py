"""The figure around the domain: axes, title, colour bar and legend, laid out in pixels.

A :class:`Decor` says what surrounds the domain; :func:`decor_margins` says
how many pixels it needs on each side (so that the domain is fitted into
what is left), and :func:`decor_items` places it once the domain's frame is
known, as overlay primitives (:mod:`.overlay`) that every back end draws the
same way::

    +-------------------- title --------------------+
    | 1 +-------------------+  +--+ 2   +----------+ |
    |   |                   |  |  |     | - ReLU 1 | |
    | 0 |      domain       |  |  | 0   | - ReLU 2 | |
    |   |                   |  |  |     | # cat    | |
    |-1 +-------------------+  +--+ -2  +----------+ |
    |   -1        0        1  colour bar   legend    |
    |          input 0                               |

Examples
--------
>>> nice_ticks(-1.0, 1.0).tolist()
[-1.0, -0.5, 0.0, 0.5, 1.0]
>>> decor = Decor(title="A title", entries=[], values=None, axes=False, axis_labels=None)
>>> decor_margins(decor)            # room for the title only
(0, 0, 28, 0)
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

import numpy as np

from .colors import RGBA
from .fills import ValueScale
from .legend import Entry
from .overlay import Dot, Gradient, Item, Rect, Strokes, Text, text_width

__all__ = [
    "Decor",
    "decor_items",
    "decor_margins",
    "legend_size",
    "nice_ticks",
    "tick_text",
]

#: font sizes in pixels: title, tick and legend labels, axis labels
TITLE_SIZE = 15.0
LABEL_SIZE = 11.0
AXIS_LABEL_SIZE = 12.0
#: pixels above the domain for the title
TITLE_ROOM = 28
#: pixels for an axis label (beside the tick labels)
AXIS_LABEL_ROOM = 18
#: pixels between the domain (or its axes) and the colour bar or the legend
GAP = 14
#: legend layout: inner padding, row height, swatch size, space after a swatch
LEGEND_PAD = 8
LEGEND_ROW = 18
SWATCH = (22, 12)
SWATCH_GAP = 6
#: colour bar: bar width, tick length, room for the rotated label
COLORBAR_WIDTH = 14
TICK = 5
COLORBAR_LABEL_ROOM = 20
#: number of colour steps of a colour bar's gradient
COLORBAR_STEPS = 64
#: Slack of the tick search, as a fraction of one tick step.  Not a geometric
#: tolerance: the axes are drawn, not computed with; it only absorbs the rounding
#: of ``lo / step`` so that a tick falling exactly on an end of the axis is kept.
TICK_SLACK = 1e-9
#: headings of the legend's sections (written when there are several sections)
SECTION_HEADINGS = {"classes": "class", "edges": "edges made by"}
GRAY: RGBA = (0.55, 0.55, 0.55, 1.0)
WHITE: RGBA = (1.0, 1.0, 1.0, 0.9)
BLACK: RGBA = (0.0, 0.0, 0.0, 1.0)


@dataclasses.dataclass
class Decor:
    """What surrounds the domain in a figure.

    Attributes
    ----------
    title : str or None
    entries : list of Entry
        Legend entries (empty: no legend).
    values : ValueScale or None
        The colour bar's scale (``None``: no colour bar).
    axes : bool
        A frame with ticks (its margins are :data:`~.scene.AXES_MARGINS`).
    axis_labels : (str, str) or None
        Names of the two axes, written under and left of the tick labels.
    """

    title: str | None
    entries: list[Entry]
    values: ValueScale | None
    axes: bool
    axis_labels: tuple[str, str] | None


def nice_ticks(lo: float, hi: float, target: int = 5) -> np.ndarray:
    """Round tick positions inside ``[lo, hi]``.

    Parameters
    ----------
    lo, hi : float
        The axis range, ``lo < hi``.
    target : int
        About how many steps the range should have.

    Returns
    -------
    (T,) float64
        Multiples of a step of 1, 2 or 5 times a power of ten (the smallest
        such step at least ``(hi - lo) / target``), increasing, ends included.

    Examples
    --------
    >>> nice_ticks(0.0, 2.0).tolist()
    [0.0, 0.5, 1.0, 1.5, 2.0]
    >>> nice_ticks(-0.13, 0.92).tolist(), nice_ticks(-0.13, 0.92, target=10).tolist()
    ([0.0, 0.5], [0.0, 0.2, 0.4, 0.6, 0.8])
    """
    span = hi - lo
    raw = span / max(target, 1)
    mag = 10.0 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1.0, 2.0, 5.0, 10.0) if m * mag >= raw)
    first = math.ceil(lo / step - TICK_SLACK) * step
    ticks = np.arange(first, hi + step * TICK_SLACK, step)
    return np.round(ticks / step) * step


def tick_text(v: float) -> str:
    """Label of a tick: six significant digits, ``"0"`` for zero of either sign.

    Examples
    --------
    >>> tick_text(0.5), tick_text(-0.0), tick_text(2.0), tick_text(1234567.0)
    ('0.5', '0', '2', '1.23457e+06')
    """
    s = f"{v:.6g}"
    return "0" if s in ("-0", "0") else s


def _colorbar_ticks(values: ValueScale) -> np.ndarray:
    """Ticks ``(T,)`` of a colour bar (its two ends when the range is empty)."""
    if values.vmax > values.vmin:
        return nice_ticks(values.vmin, values.vmax)
    return np.array([values.vmin])


def _legend_rows(entries: Sequence[Entry]) -> list[tuple[str, Entry | None]]:
    """The legend's rows: a heading ``(text, None)`` before each named section when
    there are several sections, then ``(label, entry)`` rows."""
    sections = list(dict.fromkeys(e.section for e in entries))
    rows: list[tuple[str, Entry | None]] = []
    section = None
    for e in entries:
        if e.section != section and len(sections) > 1 and SECTION_HEADINGS.get(e.section):
            rows.append((SECTION_HEADINGS[e.section], None))
        section = e.section
        rows.append((e.label, e))
    return rows


def legend_size(entries: Sequence[Entry]) -> tuple[int, int]:
    """Width and height in pixels of a legend box (``(0, 0)`` without entries).

    Examples
    --------
    >>> legend_size([Entry("ReLU 1", (0.0, 0.0, 1.0, 1.0))])
    (87, 34)
    """
    if not entries:
        return 0, 0
    rows = _legend_rows(entries)
    widths = [
        text_width(text, LABEL_SIZE) + (0 if e is None else SWATCH[0] + SWATCH_GAP)
        for text, e in rows
    ]
    return int(math.ceil(2 * LEGEND_PAD + max(widths))), 2 * LEGEND_PAD + len(rows) * LEGEND_ROW


def _colorbar_width(values: ValueScale) -> int:
    labels = [tick_text(v) for v in _colorbar_ticks(values)]
    widest = max(text_width(s, LABEL_SIZE) for s in labels)
    return int(math.ceil(COLORBAR_WIDTH + TICK + 3 + widest + COLORBAR_LABEL_ROOM))


def decor_margins(decor: Decor) -> tuple[int, int, int, int]:
    """Pixels ``(left, right, top, bottom)`` the decorations need around the domain.

    The axes' own tick-label margins are not included (see
    :func:`~.scene.place_domain`); axis labels, the title, the colour bar
    and the legend are.
    """
    left = right = top = bottom = 0
    if decor.axes and decor.axis_labels is not None:
        left += AXIS_LABEL_ROOM
        bottom += AXIS_LABEL_ROOM
    if decor.title:
        top += TITLE_ROOM
    if decor.values is not None:
        right += GAP + _colorbar_width(decor.values)
    if decor.entries:
        right += GAP + legend_size(decor.entries)[0]
    return left, right, top, bottom


def _axes_items(
    box: tuple[float, float, float, float],
    bounds: tuple[float, float, float, float],
    labels: tuple[str, str] | None,
) -> list[Item]:
    """Frame, ticks, tick labels and axis labels around the domain box ``(x0, y0, x1, y1)`` px."""
    x0, y0, x1, y1 = box
    xmin, xmax, ymin, ymax = bounds
    items: list[Item] = [Rect(x0, y0, x1 - x0, y1 - y0, None, BLACK, 1.0, "axes")]
    xt = nice_ticks(xmin, xmax)
    yt = nice_ticks(ymin, ymax)
    xs = x0 + (xt - xmin) / (xmax - xmin) * (x1 - x0)
    ys = y1 - (yt - ymin) / (ymax - ymin) * (y1 - y0)
    p0 = np.concatenate(
        [np.stack([xs, np.full(len(xs), y1)], 1), np.stack([np.full(len(ys), x0), ys], 1)]
    )
    p1 = np.concatenate(
        [
            np.stack([xs, np.full(len(xs), y1 + TICK)], 1),
            np.stack([np.full(len(ys), x0 - TICK), ys], 1),
        ]
    )
    items.append(Strokes(p0, p1, BLACK, 1.0, "axes"))
    for x, v in zip(xs, xt, strict=True):
        items.append(Text(x, y1 + TICK + 9, tick_text(v), LABEL_SIZE, "middle", group="axes"))
    for y, v in zip(ys, yt, strict=True):
        items.append(Text(x0 - TICK - 3, y, tick_text(v), LABEL_SIZE, "end", group="axes"))
    if labels is not None:
        widest = max((text_width(tick_text(v), LABEL_SIZE) for v in yt), default=0.0)
        cx, cy = 0.5 * (x0 + x1), 0.5 * (y0 + y1)
        items.append(
            Text(cx, y1 + TICK + 28, labels[0], AXIS_LABEL_SIZE, "middle", group="labels")
        )
        xl = x0 - TICK - 3 - widest - 12
        items.append(
            Text(xl, cy, labels[1], AXIS_LABEL_SIZE, "middle", rotation=90.0, group="labels")
        )
    return items


def _colorbar_items(values: ValueScale, x: float, y0: float, y1: float) -> list[Item]:
    """A vertical colour bar from ``y0`` (top) to ``y1`` px at ``x``, ticks and label."""
    colors = np.asarray(values.cmap(np.linspace(0.0, 1.0, COLORBAR_STEPS)), dtype=np.float64)
    if colors.shape[1] == 3:
        colors = np.concatenate([colors, np.ones((len(colors), 1))], axis=1)
    items: list[Item] = [
        Gradient(x, y0, COLORBAR_WIDTH, y1 - y0, colors),
        Rect(x, y0, COLORBAR_WIDTH, y1 - y0, None, BLACK, 1.0, "colorbar"),
    ]
    ticks = _colorbar_ticks(values)
    span = values.vmax - values.vmin
    frac = (ticks - values.vmin) / span if span > 0 else np.full(len(ticks), 0.5)
    ys = y1 - frac * (y1 - y0)
    xe = x + COLORBAR_WIDTH
    p0 = np.stack([np.full(len(ys), xe), ys], 1)
    items.append(Strokes(p0, p0 + [TICK, 0.0], BLACK, 1.0, "colorbar"))
    for yy, v in zip(ys, ticks, strict=True):
        items.append(Text(xe + TICK + 3, yy, tick_text(v), LABEL_SIZE, group="colorbar"))
    widest = max(text_width(tick_text(v), LABEL_SIZE) for v in ticks)
    lx = xe + TICK + 3 + widest + COLORBAR_LABEL_ROOM / 2
    items.append(
        Text(
            lx,
            0.5 * (y0 + y1),
            values.label,
            LABEL_SIZE,
            "middle",
            rotation=90.0,
            group="colorbar",
        )
    )
    return items


def _legend_items(entries: Sequence[Entry], x: float, y: float) -> list[Item]:
    """The legend box with its top left corner at ``(x, y)`` px."""
    w, h = legend_size(entries)
    items: list[Item] = [Rect(x, y, w, h, WHITE, GRAY, 1.0)]
    sx = x + LEGEND_PAD
    sw, sh = SWATCH
    for i, (text, e) in enumerate(_legend_rows(entries)):
        row_y = y + LEGEND_PAD + (i + 0.5) * LEGEND_ROW
        if e is None:
            items.append(Text(sx, row_y, text, LABEL_SIZE, bold=True))
            continue
        if e.kind == "patch":
            items.append(Rect(sx, row_y - sh / 2, sw, sh, e.color, GRAY, 0.75))
        elif e.kind == "dot":
            items.append(Dot(sx + sw / 2, row_y, 9.0, e.color))
        else:
            p = np.array([[sx, row_y]])
            items.append(Strokes(p, p + [sw, 0.0], e.color, e.width))
        items.append(Text(sx + sw + SWATCH_GAP, row_y, text, LABEL_SIZE))
    return items


def decor_items(
    decor: Decor,
    box: tuple[float, float, float, float],
    bounds: tuple[float, float, float, float],
    room: tuple[float, float],
) -> list[Item]:
    """Place the decorations around the domain.

    Parameters
    ----------
    decor : Decor
    box : (float, float, float, float)
        The domain's bounding box in pixels ``(x0, y0, x1, y1)`` (``y`` down).
    bounds : (float, float, float, float)
        ``(xmin, xmax, ymin, ymax)`` of the domain.
    room : (float, float, float)
        The top and bottom of the picture's drawing area in pixels (inside
        the padding and the title), and the picture's width.

    Returns
    -------
    list of Item
        Axes, title, colour bar and legend primitives, in drawing order; the
        colour bar and the legend follow the domain on its right.
    """
    x0, y0, x1, y1 = box
    top, bottom, width = room
    items: list[Item] = []
    if decor.axes:
        items += _axes_items(box, bounds, decor.axis_labels)
    if decor.title:
        # centred over the domain, moved sideways as little as keeps it in the picture
        half = text_width(decor.title, TITLE_SIZE) / 2 + 4
        tx = min(max(0.5 * (x0 + x1), half), max(width - half, half))
        ty = y0 - TITLE_ROOM / 2
        items.append(Text(tx, ty, decor.title, TITLE_SIZE, "middle", group="title"))
    x = x1 + GAP
    if decor.values is not None:
        items += _colorbar_items(decor.values, x, y0, y1)
        x += _colorbar_width(decor.values) + GAP
    if decor.entries:
        height = legend_size(decor.entries)[1]
        items += _legend_items(decor.entries, x, y0 if y0 + height <= bottom else top)
    return items
