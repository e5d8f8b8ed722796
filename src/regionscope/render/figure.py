"""Whole figures with matplotlib: PDF (vector), and the text layer of PNG pictures.

A figure is a :class:`~.scene.Scene`: the domain in its pixel frame, with
the overlay (axes, title, colour bar, legend; :mod:`.overlay`) around it.

* :func:`to_pdf` draws the whole figure with matplotlib artists (regions as
  a ``PolyCollection``, lines, marks, then the overlay on a pixel-coordinate
  axes) and saves it as PDF, or any vector or raster format matplotlib
  writes (``fmt``);
* :func:`text_layer` writes the overlay's text (and the marks' labels) with
  matplotlib on top of a picture drawn by the NumPy rasteriser: this is what
  :func:`~regionscope.render.to_png` does for pictures with text, so that
  100 000 regions still take about a second.

matplotlib is imported inside the functions only.

Examples
--------
>>> import regionscope as rs
>>> part = rs.partition(rs.Sequential(rs.Linear([[1.0, 0.0]]), rs.ReLU()), rs.Box(1.0))
>>> to_pdf(part, None, title="one ReLU", size=300)[:5]
b'%PDF-'
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .fills import drawn_partition
from .mpl import DPI, POINTS_PER_PIXEL, picture_1d, plot
from .overlay import Dot, Gradient, Item, Rect, Strokes, Text
from .scene import Scene, build_scene

if TYPE_CHECKING:
    from regionscope.partitions import Partition, Partition1D

__all__ = ["draw_overlay_mpl", "figure", "mark_texts", "text_layer", "to_pdf"]

#: matplotlib's horizontal alignment of each text anchor
_HA = {"start": "left", "middle": "center", "end": "right"}
#: font size in pixels of the marks' labels
MARK_LABEL_SIZE = 12.0


def _need_matplotlib(what: str) -> None:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise ImportError(
            f"{what} needs matplotlib: pip install regionscope[plot] (or draw with to_svg, "
            "which needs nothing more)"
        ) from None


def mark_texts(scene: Scene) -> list[Text]:
    """The marks' labels as overlay text, up and to the right of each mark (with a halo)."""
    if scene.mark_xy is None or not scene.mark_labels:
        return []
    p = scene.px(scene.mark_xy)
    r = scene.mark_size / 2
    return [
        Text(x + r + 2, y - r - 3, text, MARK_LABEL_SIZE, bold=False, group="marks")
        for (x, y), text in zip(p, scene.mark_labels, strict=True)
    ]


def _add_text(ax: Any, t: Text, halo: bool = False) -> Any:
    kw: dict[str, Any] = {}
    if halo:
        import matplotlib.patheffects as pe

        kw["path_effects"] = [pe.withStroke(linewidth=2.5, foreground="white")]
    return ax.text(
        t.x,
        t.y,
        t.text,
        fontsize=t.size * POINTS_PER_PIXEL,
        ha=_HA[t.anchor],
        va="center",
        rotation=t.rotation,
        rotation_mode="anchor",
        color=t.color,
        fontweight="bold" if t.bold else "normal",
        zorder=10,
        **kw,
    )


def _pixel_axes(fig: Any, w: int, h: int) -> Any:
    """Transparent axes over the whole figure in pixel coordinates, ``y`` down."""
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, w)
    ax.set_ylim(h, 0)
    ax.set_axis_off()
    ax.patch.set_alpha(0.0)
    return ax


def draw_overlay_mpl(ax: Any, items: list[Item]) -> None:
    """Draw overlay primitives on axes whose data coordinates are picture pixels (``y`` down)."""
    from matplotlib.collections import LineCollection
    from matplotlib.patches import Circle, Rectangle

    pt = POINTS_PER_PIXEL
    xlim, ylim = ax.get_xlim(), ax.get_ylim()
    for it in items:
        if isinstance(it, Text):
            _add_text(ax, it, halo=it.group == "marks")
        elif isinstance(it, Rect):
            ax.add_patch(
                Rectangle(
                    (it.x, it.y),
                    it.w,
                    it.h,
                    facecolor=it.fill if it.fill is not None else "none",
                    edgecolor=it.stroke if it.stroke is not None else "none",
                    linewidth=it.stroke_width * pt if it.stroke is not None else 0.0,
                    zorder=5,
                )
            )
        elif isinstance(it, Strokes):
            segs = np.stack([it.p0, it.p1], axis=1)
            ax.add_collection(
                LineCollection(segs, colors=[it.color], linewidths=it.width * pt, zorder=6)
            )
        elif isinstance(it, Gradient):
            img = it.colors[::-1, None, :]
            ax.imshow(
                img,
                extent=(it.x, it.x + it.w, it.y + it.h, it.y),
                aspect="auto",
                zorder=5,
                interpolation="bilinear",
            )
        elif isinstance(it, Dot):
            ax.add_patch(
                Circle(
                    (it.x, it.y),
                    it.diameter / 2,
                    facecolor=it.fill,
                    edgecolor=it.stroke,
                    linewidth=pt,
                    zorder=6,
                )
            )
    ax.set_xlim(xlim)  # imshow moves the limits to its extent
    ax.set_ylim(ylim)


def text_layer(image: np.ndarray, texts: list[Text]) -> np.ndarray:
    """Write text on a picture with matplotlib.

    Parameters
    ----------
    image : (H, W, 3) uint8
        The picture (from :func:`~.raster.rasterize`).
    texts : list of Text
        Text in picture pixels.

    Returns
    -------
    (H, W, 3) uint8
        A new picture with the text drawn (the pixels elsewhere unchanged).

    Raises
    ------
    ImportError
        When matplotlib is not installed.
    """
    _need_matplotlib("text in PNG pictures (title, legend, axes, labels)")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    h, w = image.shape[:2]
    fig = Figure(figsize=(w / DPI, h / DPI), dpi=DPI)
    canvas = FigureCanvasAgg(fig)
    fig.figimage(image, xo=0, yo=0, origin="upper", zorder=-1)  # below the text axes
    ax = _pixel_axes(fig, w, h)
    for t in texts:
        _add_text(ax, t, halo=t.group == "marks")
    canvas.draw()
    out = np.asarray(canvas.buffer_rgba())[..., :3]
    if out.shape[:2] != (h, w):  # pragma: no cover - matplotlib rounds figure sizes exactly
        raise RuntimeError(f"matplotlib drew {out.shape[:2]} pixels instead of {(h, w)}")
    return np.ascontiguousarray(out)


def figure(part: Partition, style: dict[str, Any]) -> Any:
    """The whole figure as a matplotlib ``Figure`` of the scene's size (at :data:`~.mpl.DPI`).

    Parameters
    ----------
    part : Partition
    style : dict
        Style options (see :mod:`regionscope.render.style`).

    Returns
    -------
    matplotlib.figure.Figure
        The domain is where the scene puts it (the same layout as the SVG
        and PNG pictures); regions, edges and marks are drawn by
        :func:`~regionscope.render.plot`, the overlay on top.
    """
    _need_matplotlib("PDF and matplotlib figures")
    from matplotlib.figure import Figure

    part = drawn_partition(part, style)
    scene = build_scene(part, style, "figure")
    w, h = scene.width, scene.height
    fig = Figure(figsize=(w / DPI, h / DPI), dpi=DPI, facecolor=scene.background)
    ax = fig.add_axes((0, 0, 1, 1))
    plain = {**style, "axes": False, "legend": False, "colorbar": False, "title": None}
    plot(part, ax=ax, **plain)
    # the pixel frame of the scene: x = x0 + scale * u, y = y0 - scale * v
    ax.set_xlim(-scene.x0 / scene.scale, (w - scene.x0) / scene.scale)
    ax.set_ylim((scene.y0 - h) / scene.scale, scene.y0 / scene.scale)
    ax.set_aspect("auto")
    ax.set_axis_off()
    draw_overlay_mpl(_pixel_axes(fig, w, h), list(scene.overlay))
    return fig


def to_pdf(
    part: Partition | Partition1D,
    path: str | Path | None = None,
    *,
    fmt: str = "pdf",
    **style: Any,
) -> bytes:
    """Draw a partition as a vector PDF with matplotlib (the layout of :func:`to_svg`).

    Parameters
    ----------
    part : Partition or Partition1D
        A 1-D partition is drawn by :func:`~regionscope.render.plot_1d`.
    path : str or Path, optional
        File to write.
    fmt : str
        Any format matplotlib's ``savefig`` writes (``"pdf"``, ``"eps"``,
        ``"svg"``, ``"png"``...).
    **style
        Style options (see :mod:`regionscope.render.style`): ``title``,
        ``legend``, ``class_names``, ``axes``...

    Returns
    -------
    bytes
        The file's bytes.

    Raises
    ------
    ImportError
        When matplotlib is not installed.
    """
    if getattr(part.domain, "dim", 2) == 1:
        _need_matplotlib("PDF pictures")
        data = picture_1d(part, fmt, style)
        if path is not None:
            Path(path).write_bytes(data)
        return data
    fig = figure(part, style)
    buf = io.BytesIO()
    fig.savefig(buf, format=fmt, dpi=DPI, facecolor=fig.get_facecolor())
    data = buf.getvalue()
    if path is not None:
        Path(path).write_bytes(data)
    return data
