"""Matplotlib drawing: :func:`plot`, :func:`plot_bent_hyperplanes`, :func:`plot_1d`.

:func:`plot` draws a :class:`~.scene.Scene` as matplotlib artists: a
``PolyCollection`` of the regions, a ``LineCollection`` per edge layer (with a
legend), the boundaries, vertices, marks with labels and a colour bar for
value colourings.  The pictures of 1-D partitions (the outputs along the
segment) are matplotlib plots too (:func:`plot_1d`), and :func:`picture_1d`
renders them to file bytes for :mod:`.svg` and :mod:`.png`.  Whole figures
(PDF, and the text of PNG pictures) are in :mod:`.figure`.

matplotlib is imported inside the functions only: the rest of
:mod:`regionscope.render` works without it.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any

import numpy as np

from .colors import CATEGORICAL, LAYER_PALETTE, categorical_colors, to_rgba
from .fills import drawn_partition
from .scene import Lines, Scene, build_scene

if TYPE_CHECKING:
    from regionscope.partitions import Partition, Partition1D

    from .fills import ValueScale

__all__ = [
    "LEGEND_MAX_ENTRIES",
    "picture_1d",
    "plot",
    "plot_1d",
    "plot_bent_hyperplanes",
    "region_polygons",
]

#: :func:`plot` shows a legend by default only up to this many entries
LEGEND_MAX_ENTRIES = 12
#: pictures are made at this many dots per inch, so one pixel is one dot
DPI = 100
#: typographic points per pixel at :data:`DPI` (line widths of the scene are in pixels)
POINTS_PER_PIXEL = 72 / DPI
#: margin around the domain in :func:`plot`, as a fraction of the domain's larger side
PLOT_MARGIN = 0.01
#: default size in pixels of the pictures of 1-D partitions
SIZE_1D = (700, 350)
#: :func:`plot_1d` draws at most this many outputs by default
MAX_OUTPUTS_1D = 10
#: room below and above the curves of :func:`plot_1d`, as fractions of their range
MARGINS_1D = (0.08, 0.05)
#: options of :func:`plot_1d` besides ``ax``, ``layer`` and ``outputs``
OPTIONS_1D = ("breakpoint_color", "linewidth", "title")


def region_polygons(part: Partition) -> list[np.ndarray]:
    """The corners of every region.

    Parameters
    ----------
    part : Partition

    Returns
    -------
    list of (k_f, 2) float64
        Region ``f``'s corners in domain coordinates, counter-clockwise, in
        region order.

    Examples
    --------
    >>> import regionscope as rs
    >>> part = rs.partition(rs.Sequential(rs.Linear([[1.0, 0.0]]), rs.ReLU()), rs.Box(1.0))
    >>> [poly.shape for poly in region_polygons(part)]
    [(4, 2), (4, 2)]
    """
    verts = np.asarray(part.vertices, dtype=np.float64)
    rv = np.asarray(part.region_vertices, dtype=np.int64)
    offsets = np.asarray(part.region_offsets, dtype=np.int64)
    return np.split(verts[rv], offsets[1:-1])


def _mpl_cmap(info: ValueScale) -> Any:
    """A matplotlib ``Colormap`` of a value scale (for a colour bar)."""
    from matplotlib.colors import Colormap, ListedColormap

    if isinstance(info.cmap_spec, Colormap):
        return info.cmap_spec
    return ListedColormap(info.cmap(np.linspace(0.0, 1.0, 256)), name=str(info.cmap_spec))


def _add_regions(ax: Any, part: Partition, scene: Scene) -> Any:
    """Fill the regions: one ``PolyCollection``, paths in region order."""
    from matplotlib.collections import PolyCollection

    # no anti-aliasing on the fills: anti-aliased neighbours leave light seams between them
    regions = PolyCollection(
        region_polygons(part),
        facecolors=scene.region_rgba,
        edgecolors="none",
        linewidths=0.0,
        antialiaseds=False,
    )
    ax.add_collection(regions)
    return regions


def _add_layer_edges(
    ax: Any, lines: Lines, group: np.ndarray, segs: np.ndarray, out: dict[str, Any]
) -> list[Any]:
    """Edges coloured by layer (``group``, ``(M,) int64``): a labelled ``LineCollection`` each."""
    from matplotlib.collections import LineCollection

    handles = []
    for (label, _), lay in zip(lines.legend, sorted(set(group.tolist())), strict=True):
        sel = group == lay
        lc = LineCollection(
            segs[sel],
            colors=lines.colors[sel],
            linewidths=lines.width * POINTS_PER_PIXEL,
            label=label,
        )
        ax.add_collection(lc)
        out["edges"][lay] = lc
        handles.append(lc)
    return handles


def _add_edges(ax: Any, lines: Lines, segs: np.ndarray, out: dict[str, Any]) -> list[Any]:
    """Edges in one ``LineCollection`` (``"edges"`` or ``"other"`` pass), legend proxies."""
    from matplotlib.collections import LineCollection

    lc = LineCollection(segs, colors=lines.colors, linewidths=lines.width * POINTS_PER_PIXEL)
    ax.add_collection(lc)
    if lines.kind != "edges":
        out["other_edges"] = lc
        return []
    out["edges"][None] = lc
    if not lines.legend:
        return []
    from matplotlib.lines import Line2D

    return [Line2D([], [], color=color, label=label) for label, color in lines.legend]


def _add_outline(ax: Any, lines: Lines, segs: np.ndarray, out: dict[str, Any]) -> list[Any]:
    """The domain boundary or the decision boundary, above the edges."""
    from matplotlib.collections import LineCollection

    label = lines.legend[0][0] if lines.legend else None
    lc = LineCollection(
        segs,
        colors=lines.colors,
        linewidths=lines.width * POINTS_PER_PIXEL,
        label=label,
        capstyle="round",
        zorder=3 if lines.kind == "decision" else 2.5,
    )
    ax.add_collection(lc)
    out[lines.kind] = lc
    return [lc] if label else []


def _add_lines(ax: Any, scene: Scene, out: dict[str, Any]) -> list[Any]:
    """Every drawing pass of the scene; returns the legend handles."""
    handles = []
    for lines in scene.lines:
        if not len(lines.p0) or lines.width <= 0:
            continue
        segs = np.stack([lines.p0, lines.p1], axis=1)
        if lines.kind == "edges" and lines.group is not None:
            handles += _add_layer_edges(ax, lines, lines.group, segs, out)
        elif lines.kind in ("edges", "other"):
            handles += _add_edges(ax, lines, segs, out)
        else:
            handles += _add_outline(ax, lines, segs, out)
    return handles


def _add_points(ax: Any, scene: Scene, out: dict[str, Any]) -> None:
    """Vertices, marks and mark labels, when the scene has them."""
    pt = POINTS_PER_PIXEL
    if scene.vertex_xy is not None:
        out["vertices"] = ax.scatter(
            scene.vertex_xy[:, 0],
            scene.vertex_xy[:, 1],
            s=(scene.vertex_size * pt) ** 2,
            c=[scene.vertex_rgba],
            zorder=4,
            linewidths=0,
        )
    if scene.mark_xy is None:
        return
    out["marks"] = ax.scatter(
        scene.mark_xy[:, 0],
        scene.mark_xy[:, 1],
        s=(scene.mark_size * pt) ** 2,
        c=scene.mark_rgba,
        edgecolors="black",
        linewidths=1.0,
        zorder=5,
    )
    if scene.mark_labels is None:
        return
    import matplotlib.patheffects as pe

    offset = (scene.mark_size * 0.5 * pt + 2, scene.mark_size * 0.5 * pt)
    for (x, y), text in zip(scene.mark_xy, scene.mark_labels, strict=True):
        out["labels"].append(
            ax.annotate(
                text,
                (x, y),
                xytext=offset,
                textcoords="offset points",
                fontsize=9,
                zorder=6,
                path_effects=[pe.withStroke(linewidth=2.5, foreground="white")],
            )
        )


def _frame(ax: Any, scene: Scene) -> None:
    """Limits around the domain, equal aspect, axis hidden unless ``axes``."""
    xmin, xmax, ymin, ymax = scene.bounds
    pad = PLOT_MARGIN * max(xmax - xmin, ymax - ymin)
    ax.set_xlim(xmin - pad, xmax + pad)
    ax.set_ylim(ymin - pad, ymax + pad)
    ax.set_aspect("equal")
    if not scene.axes:
        ax.set_axis_off()


def _add_colorbar(ax: Any, info: ValueScale) -> Any:
    """A colour bar of a value scale next to the axes."""
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize

    mappable = ScalarMappable(norm=Normalize(info.vmin, info.vmax), cmap=_mpl_cmap(info))
    return ax.figure.colorbar(mappable, ax=ax, label=info.label)


def _class_handles(scene: Scene) -> list[Any]:
    """Legend patches of the classes, when regions are coloured by class."""
    if scene.classes is None:
        return []
    from matplotlib.patches import Patch

    return [
        Patch(facecolor=e.color, edgecolor="#8c8c8c", label=e.label)
        for e in scene.entries
        if e.kind == "patch"
    ]


def plot(part: Partition, ax: Any = None, **style: Any) -> dict[str, Any]:
    """Draw a partition on matplotlib axes.

    Parameters
    ----------
    part : Partition
    ax : matplotlib Axes, optional
        Default: a new figure's axes (``plt.subplots``).
    **style
        Style options (see :mod:`regionscope.render.style`); ``axes``
        defaults to True, line widths are in points at 100 dpi (so one pixel
        of :func:`~regionscope.render.to_png` is 0.72 pt).  The legend (of
        classes, edge layers and the decision boundary) is drawn inside the
        axes, the title above them, the colour bar beside them.

    Returns
    -------
    dict
        The artists: ``"regions"`` (``PolyCollection``, paths in region
        order), ``"edges"`` (``{layer: LineCollection}`` when coloured by
        layer, otherwise one ``LineCollection`` under key ``None``),
        ``"boundary"``, ``"decision"``, ``"vertices"``, ``"marks"``,
        ``"labels"``, ``"legend"``, ``"colorbar"`` (``None`` when absent),
        ``"other_edges"`` (only when ``layer`` leaves other edges to draw),
        and ``"ax"``.
    """
    import matplotlib  # noqa: F401 - without matplotlib, fail before any work

    style = dict(style)
    style.setdefault("axes", True)
    # the legend, colour bar and title are matplotlib's own here, not the scene's overlay
    part = drawn_partition(part, style)
    scene = build_scene(part, {**style, "legend": False, "colorbar": False, "title": None}, "plot")
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(scene.width / DPI, scene.height / DPI))
    out: dict[str, Any] = {
        "ax": ax,
        "edges": {},
        "boundary": None,
        "decision": None,
        "vertices": None,
        "marks": None,
        "labels": [],
        "legend": None,
        "colorbar": None,
    }
    out["regions"] = _add_regions(ax, part, scene)
    handles = _add_lines(ax, scene, out)
    _add_points(ax, scene, out)
    _frame(ax, scene)
    handles = _class_handles(scene) + handles
    legend = style.get("legend")
    if legend is None:
        legend = 0 < len(handles) <= LEGEND_MAX_ENTRIES
    if legend and handles:
        out["legend"] = ax.legend(handles=handles, loc="upper right", fontsize=8, framealpha=0.85)
    colorbar = style.get("colorbar")
    if scene.values is not None and (colorbar is None or colorbar):
        out["colorbar"] = _add_colorbar(ax, scene.values)
    if style.get("title"):
        ax.set_title(str(style["title"]))
    return out


def plot_bent_hyperplanes(
    part: Partition, layer: int, ax: Any = None, **style: Any
) -> dict[str, Any]:
    """Draw the zero sets ("bent hyperplanes") of the units of one piecewise layer.

    The edges made by ``layer`` (``edge_layer == layer``) are drawn in one
    colour per unit (``edge_neuron``, with a legend); the other layers'
    edges are light gray and the regions white (override with ``color_by``,
    ``other_edges``...).

    Parameters
    ----------
    part : Partition
    layer : int
        A piecewise layer of the partition (``part.piecewise_layers``).
    ax : matplotlib Axes, optional
    **style
        Style options, as for :func:`plot` (``edge_width`` defaults to 2).

    Returns
    -------
    dict
        The artists, as :func:`plot` returns them.
    """
    style = {"color_by": "none", "decision": False, **style, "layer": layer}
    style.setdefault("edge_width", 2.0)
    return plot(part, ax=ax, **style)


def _breakpoint_colors(part1d: Partition1D, color: Any) -> np.ndarray:
    """Colours ``(B, 4)`` of the breakpoints: ``color``, or by the layer that made each."""
    bp = np.asarray(part1d.breakpoints, dtype=np.float64)
    if color is not None:
        return np.tile(np.array(to_rgba(color)), (len(bp), 1))
    layers = np.asarray(getattr(part1d, "breakpoint_layer", np.zeros(len(bp))), dtype=np.int64)
    _, pos = np.unique(layers, return_inverse=True)
    return categorical_colors(pos, LAYER_PALETTE)


def _add_breakpoints(ax: Any, part1d: Partition1D, y0: float, y1: float, color: Any) -> Any:
    """Dotted vertical lines from ``y0`` to ``y1`` at the breakpoints: a ``LineCollection``."""
    from matplotlib.collections import LineCollection

    bp = np.asarray(part1d.breakpoints, dtype=np.float64)
    segs = np.stack(
        [np.stack([bp, np.full(len(bp), y0)], 1), np.stack([bp, np.full(len(bp), y1)], 1)], 1
    )
    cols = _breakpoint_colors(part1d, color)
    breaks = LineCollection(segs, colors=cols, linewidths=0.6, linestyles=":", alpha=0.8)
    ax.add_collection(breaks)
    return breaks


def plot_1d(
    part1d: Partition1D, ax: Any = None, *, layer: int = -1, outputs: Any = None, **kw: Any
) -> dict[str, Any]:
    """Plot a 1-D partition: the outputs along the segment with breakpoints marked.

    The outputs are piecewise linear along the segment, so straight lines
    between the values at ``part1d.points`` are exact.

    Parameters
    ----------
    part1d : Partition1D
    ax : matplotlib Axes, optional
    layer : int
        Which layer's output to draw (default: the network output).
    outputs : sequence of int, optional
        Output indices to draw (default: all, at most 10).
    **kw
        ``breakpoint_color`` (default: by the layer that made it),
        ``linewidth`` and ``title``.

    Returns
    -------
    dict
        ``"lines"`` (list of ``Line2D``, one per output), ``"breakpoints"``
        (``LineCollection`` of vertical ticks), ``"ax"``.
    """
    import matplotlib  # noqa: F401 - without matplotlib, fail before any work

    unknown = sorted(set(kw) - set(OPTIONS_1D))
    if unknown:
        raise TypeError(f"plot_1d() got unknown option(s) {unknown}")
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(SIZE_1D[0] / DPI, SIZE_1D[1] / DPI))
    s = np.asarray(part1d.points, dtype=np.float64)
    vals = np.asarray(part1d.vertex_values(layer), dtype=np.float64).reshape(len(s), -1)
    if outputs is None:
        outputs = range(min(vals.shape[1], MAX_OUTPUTS_1D))
    lines = []
    palette = np.array([to_rgba(c) for c in CATEGORICAL])
    for n, j in enumerate(outputs):
        if not -vals.shape[1] <= int(j) < vals.shape[1]:
            raise ValueError(f"outputs: index {j} is out of range for width {vals.shape[1]}")
        (ln,) = ax.plot(
            s,
            vals[:, j],
            color=palette[n % len(palette)],
            lw=kw.get("linewidth", 1.5),
            label=f"output {j}",
        )
        lines.append(ln)
    lo = float(vals[:, list(outputs)].min()) if len(lines) else 0.0
    hi = float(vals[:, list(outputs)].max()) if len(lines) else 1.0
    span = hi - lo if hi > lo else 1.0
    y0, y1 = lo - MARGINS_1D[0] * span, hi + MARGINS_1D[1] * span
    ax.set_ylim(y0, y1)
    breaks = _add_breakpoints(ax, part1d, y0, y1, kw.get("breakpoint_color"))
    ax.set_xlim(float(s[0]), float(s[-1]))
    ax.set_xlabel("position along the segment")
    ax.set_ylabel("output" if layer == -1 else f"layer {layer} output")
    if lines:
        ax.legend(fontsize=8)
    if kw.get("title"):
        ax.set_title(str(kw["title"]))
    return {"lines": lines, "breakpoints": breaks, "ax": ax}


def picture_1d(part1d: Partition1D, fmt: str, style: dict[str, Any]) -> bytes:
    """A :func:`plot_1d` picture as file bytes (needs matplotlib).

    Parameters
    ----------
    part1d : Partition1D
    fmt : {"png", "svg", "pdf"}
        File format.
    style : dict
        ``size`` (int width or ``(width, height)`` in pixels, default
        :data:`SIZE_1D`; removed from ``style``) and the options of
        :func:`plot_1d`.

    Returns
    -------
    bytes

    Raises
    ------
    ValueError
        When matplotlib is not installed.
    TypeError
        For options :func:`plot_1d` does not take.
    """
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise ValueError("pictures of 1-D partitions need matplotlib") from None
    unknown = sorted(set(style) - {"size", "layer", "outputs", *OPTIONS_1D})
    if unknown:
        raise TypeError(f"1-D pictures take size, layer, outputs, ...; got {unknown}")
    size = style.pop("size", None) or SIZE_1D
    if isinstance(size, (int, np.integer)):
        size = (int(size), int(size) // 2)
    w, h = (int(v) for v in size)
    fig = Figure(figsize=(w / DPI, h / DPI), dpi=DPI, layout="tight")
    plot_1d(part1d, ax=fig.add_subplot(), **style)
    buf = io.BytesIO()
    fig.savefig(buf, format=fmt, dpi=DPI)
    return buf.getvalue()
