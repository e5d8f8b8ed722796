"""The SVG writer: :func:`to_svg` and Jupyter's :func:`repr_svg`, NumPy only.

A picture is one ``<g class="regions">`` with one filled ``<path>`` per region
(in region order), one ``<g>`` per drawing pass of the scene (``"other"``,
``"edges"``, ``"boundary"``, ``"decision"``) with one ``<path>`` per colour,
then vertices, marks and axes.  Coordinates are integers in units of
``10**-precision`` pixel (the ``viewBox`` scales them back), and the strings
are built with vectorised NumPy string operations, so 100 000 regions take
about a second.

Examples
--------
>>> import regionscope as rs
>>> part = rs.partition(rs.Sequential(rs.Linear([[1.0, 0.0]]), rs.ReLU()), rs.Box(1.0))
>>> svg = to_svg(part, size=(200, 100), padding=0, precision=0, boundary=False)
>>> print(svg)  # doctest: +NORMALIZE_WHITESPACE
<svg xmlns="http://www.w3.org/2000/svg" width="200" height="100" viewBox="0 0 200 100">
<g class="regions" stroke="none">
<path d="M50 100 100 100 100 0 50 0Z" fill="#..."/>
<path d="M100 100 150 100 150 0 100 0Z" fill="#..."/>
</g>
<g class="edges" fill="none" stroke-linecap="round" stroke-linejoin="round" stroke-width="1.2">
<path stroke="#1b4f9c" d="M100 100 100 0"/>
</g>
</svg>
"""

from __future__ import annotations

import zlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .colors import RGBA, hex_array, to_hex
from .fills import drawn_partition
from .mpl import picture_1d
from .overlay import Dot, Gradient, Item, Rect, Text
from .scene import Lines, Scene, build_scene

if TYPE_CHECKING:
    from regionscope.partitions import Partition, Partition1D

__all__ = [
    "SVG_REPR_MAX_REGIONS",
    "repr_svg",
    "svg_axes",
    "svg_lines",
    "svg_marks",
    "svg_overlay",
    "svg_regions",
    "svg_vertices",
    "to_svg",
]

#: above this many regions :func:`repr_svg` returns None (Jupyter then shows the PNG; an
#: SVG of this many regions is about 350 kB)
SVG_REPR_MAX_REGIONS = 3_000
#: picture width of :func:`repr_svg`, in pixels
REPR_SIZE = 400
#: the overlay's groups, in drawing order
OVERLAY_GROUPS = ("axes", "labels", "title", "colorbar", "legend")


def _int_strings(a: np.ndarray) -> np.ndarray:
    """Decimal strings ``(N,)`` of numbers ``(N,)`` rounded to integers."""
    return np.round(a).astype(np.int64).astype(str)


def _point_strings(p: np.ndarray) -> np.ndarray:
    """``"x y"`` strings ``(N,)`` of points ``(N, 2)``, rounded to integers."""
    return np.char.add(np.char.add(_int_strings(p[:, 0]), " "), _int_strings(p[:, 1]))


def _color_attrs(rgba: RGBA | np.ndarray, attr: str) -> str:
    """``fill="#rrggbb"`` (or ``stroke``), with ``fill-opacity`` when not opaque."""
    out = f'{attr}="{to_hex(tuple(float(v) for v in rgba[:3]))}"'
    if rgba[3] < 1.0:
        out += f' {attr}-opacity="{float(rgba[3]):.3g}"'
    return out


def _escape(s: str) -> str:
    """Text made safe inside an XML element or attribute."""
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def svg_regions(part: Partition, scene: Scene, k: int) -> str:
    """The regions: one filled ``<path>`` per region, in region order.

    Parameters
    ----------
    part : Partition
        Its ``vertices``, ``region_vertices`` and ``region_offsets`` are drawn.
    scene : Scene
        Gives the pixel frame and ``region_rgba`` ``(F, 4)``.
    k : int
        Coordinate units per pixel (``10**precision``).

    Returns
    -------
    str
        A ``<g class="regions">`` element; each path is ``M x y x y ... Z``
        (implicit line-to) with integer coordinates.
    """
    vstr = _point_strings(scene.px(np.asarray(part.vertices, dtype=np.float64)) * k)
    rv = np.asarray(part.region_vertices, dtype=np.int64)
    offsets = np.asarray(part.region_offsets, dtype=np.int64)
    num = len(offsets) - 1
    rgba = scene.region_rgba
    fills = hex_array(rgba)
    if (rgba[:, 3] < 1.0).any():
        fills = np.char.add(
            np.char.add(fills, '" fill-opacity="'),
            np.char.mod("%.3g", rgba[:, 3]),
        )
    first = np.zeros(len(rv), dtype=bool)
    first[offsets[:-1][offsets[:-1] < len(rv)]] = True
    tokens = np.where(first, '<path d="M', " ").astype(object) + vstr[rv].astype(object)
    last = offsets[1:] - 1
    nonempty = offsets[1:] > offsets[:-1]
    tails = np.char.add(np.char.add('Z" fill="', fills), '"/>\n').astype(object)
    tokens[last[nonempty]] = tokens[last[nonempty]] + tails[:num][nonempty]
    return '<g class="regions" stroke="none">\n' + "".join(tokens.tolist()) + "</g>\n"


def svg_lines(lines: Lines, scene: Scene, k: int) -> str:
    """One drawing pass: a ``<g>`` with one ``<path>`` per distinct colour.

    Parameters
    ----------
    lines : Lines
        The segments ``(M, 2)`` and their colours ``(M, 4)``.
    scene : Scene
        Gives the pixel frame.
    k : int
        Coordinate units per pixel.

    Returns
    -------
    str
        ``<g class="{lines.kind}">`` whose paths are ``Mx0 y0 x1 y1`` segments
        grouped by colour (opacity rounded to 3 decimals), in order of first
        appearance of the colour; ``""`` when there is nothing to draw.
    """
    if not len(lines.p0) or lines.width <= 0:
        return ""
    a = _point_strings(scene.px(lines.p0) * k)
    b = _point_strings(scene.px(lines.p1) * k)
    seg = np.char.add(np.char.add(np.char.add("M", a), " "), b)
    keys = hex_array(lines.colors)
    alpha = np.round(lines.colors[:, 3], 3)
    uniq, inverse = np.unique(np.char.add(keys, alpha.astype(str)), return_inverse=True)
    order = np.argsort(inverse, kind="stable")
    counts = np.bincount(inverse, minlength=len(uniq))
    starts = np.concatenate([[0], np.cumsum(counts)])
    out = [
        f'<g class="{lines.kind}" fill="none" stroke-linecap="round" '
        f'stroke-linejoin="round" stroke-width="{lines.width * k:.4g}">\n'
    ]
    seg_sorted = seg[order]
    for g in range(len(uniq)):
        attrs = _color_attrs(lines.colors[order[starts[g]]], "stroke")
        d = "".join(seg_sorted[starts[g] : starts[g + 1]].tolist())
        out.append(f'<path {attrs} d="{d}"/>\n')
    out.append("</g>\n")
    return "".join(out)


def svg_vertices(scene: Scene, k: int) -> str:
    """The vertices as dots: one ``<path>`` of zero-length round-capped lines.

    Returns ``""`` when the scene has no vertices to draw (``k`` as in
    :func:`svg_regions`).
    """
    if scene.vertex_xy is None or not len(scene.vertex_xy):
        return ""
    p = scene.px(scene.vertex_xy) * k
    r = scene.vertex_size * k / 2
    # each dot a zero-length round-capped line: compact for many vertices
    d = np.char.add("M", _point_strings(p))
    return (
        '<path class="vertices" fill="none" stroke-linecap="round" '
        f'stroke-width="{2 * r:.4g}" '
        f'{_color_attrs(scene.vertex_rgba, "stroke")} d="{"h0".join(d.tolist())}h0"/>\n'
    )


def svg_marks(scene: Scene, k: int) -> str:
    """The marks: a ``<g class="marks">`` of ``<circle>`` and ``<text>`` labels.

    Returns ``""`` when the scene has no marks (``k`` as in :func:`svg_regions`).
    """
    if scene.mark_xy is None:
        return ""
    p = scene.px(scene.mark_xy) * k
    r = scene.mark_size * k / 2
    out = [f'<g class="marks" stroke="#000000" stroke-width="{k:.4g}">\n']
    for i in range(len(p)):
        out.append(
            f'<circle cx="{p[i, 0]:.0f}" cy="{p[i, 1]:.0f}" r="{r:.0f}" '
            f"{_color_attrs(scene.mark_rgba[i], 'fill')}/>\n"
        )
    for i, text in enumerate(scene.mark_labels or ()):
        out.append(
            f'<text x="{p[i, 0] + r + 2 * k:.0f}" y="{p[i, 1] - r:.0f}" '
            f'font-size="{12 * k}" font-family="sans-serif" stroke="#ffffff" '
            f'stroke-width="{3 * k}" paint-order="stroke" fill="#000000">'
            f"{_escape(text)}</text>\n"
        )
    out.append("</g>\n")
    return "".join(out)


def _svg_text(t: Text, k: int) -> str:
    """One ``<text>`` element, centred vertically on ``t.y``."""
    x, y = t.x * k, t.y * k
    attrs = (
        f'x="{x:.0f}" y="{y:.0f}" font-size="{t.size * k:.4g}" '
        f'text-anchor="{t.anchor}" dominant-baseline="central"'
    )
    if t.rotation:
        attrs += f' transform="rotate({-t.rotation:.4g} {x:.0f} {y:.0f})"'
    if t.bold:
        attrs += ' font-weight="bold"'
    if t.color != (0.0, 0.0, 0.0, 1.0):
        attrs += " " + _color_attrs(t.color, "fill")
    return f"<text {attrs}>{_escape(t.text)}</text>\n"


def _svg_rect(r: Rect, k: int, fill: str | None = None) -> str:
    """One ``<rect>``; ``fill`` overrides the fill attribute (a gradient's ``url(#...)``)."""
    attrs = f'x="{r.x * k:.0f}" y="{r.y * k:.0f}" width="{r.w * k:.0f}" height="{r.h * k:.0f}"'
    if fill is not None:
        attrs += f' fill="{fill}"'
    else:
        attrs += " " + (_color_attrs(r.fill, "fill") if r.fill is not None else 'fill="none"')
    if r.stroke is not None:
        attrs += f' {_color_attrs(r.stroke, "stroke")} stroke-width="{r.stroke_width * k:.4g}"'
    else:
        attrs += ' stroke="none"'
    return f"<rect {attrs}/>\n"


def _svg_gradient(g: Gradient, k: int) -> str:
    """A ``<linearGradient>`` (bottom to top) and the ``<rect>`` it fills."""
    key = zlib.crc32(np.ascontiguousarray(g.colors).tobytes()) ^ int(g.x * 131 + g.y * 7919)
    gid = f"rs-gradient-{key & 0xFFFFFFFF:08x}"
    stops = "".join(
        f'<stop offset="{i / max(len(g.colors) - 1, 1):.4f}" stop-color="{c}"/>'
        for i, c in enumerate(hex_array(g.colors).tolist())
    )
    return (
        f'<defs><linearGradient id="{gid}" x1="0" y1="1" x2="0" y2="0">{stops}'
        "</linearGradient></defs>\n" + _svg_rect(Rect(g.x, g.y, g.w, g.h, None), k, f"url(#{gid})")
    )


def _svg_item(item: Item, k: int) -> str:
    """One overlay primitive as SVG."""
    if isinstance(item, Text):
        return _svg_text(item, k)
    if isinstance(item, Rect):
        return _svg_rect(item, k)
    if isinstance(item, Gradient):
        return _svg_gradient(item, k)
    if isinstance(item, Dot):
        return (
            f'<circle cx="{item.x * k:.0f}" cy="{item.y * k:.0f}" r="{item.diameter * k / 2:.0f}" '
            f"{_color_attrs(item.fill, 'fill')} {_color_attrs(item.stroke, 'stroke')} "
            f'stroke-width="{k}"/>\n'
        )
    a = _point_strings(item.p0 * k)
    b = _point_strings(item.p1 * k)
    d = "".join(np.char.add(np.char.add(np.char.add("M", a), " "), b).tolist())
    return (
        f'<path fill="none" {_color_attrs(item.color, "stroke")} '
        f'stroke-width="{item.width * k:.4g}" d="{d}"/>\n'
    )


def svg_overlay(scene: Scene, k: int, groups: tuple[str, ...] = OVERLAY_GROUPS) -> str:
    """The scene's overlay (:mod:`.overlay`): one ``<g class="...">`` per group.

    Parameters
    ----------
    scene : Scene
    k : int
        Coordinate units per pixel (``10**precision``).
    groups : tuple of str
        The groups to write, in this order.

    Returns
    -------
    str
        ``""`` when none of ``groups`` has anything to draw.
    """
    out = []
    for group in groups:
        items = [it for it in scene.overlay if it.group == group]
        if not items:
            continue
        out.append(
            f'<g class="{group}" font-family="sans-serif" stroke-linecap="butt">\n'
            + "".join(_svg_item(it, k) for it in items)
            + "</g>\n"
        )
    return "".join(out)


def svg_axes(scene: Scene, k: int) -> str:
    """A frame around the domain with ticks (:func:`~.decor.nice_ticks`) and their labels.

    Returns a ``<g class="axes">`` element (``k`` as in :func:`svg_regions`),
    ``""`` when the scene has no axes.
    """
    return svg_overlay(scene, k, ("axes",))


def _svg_document(part: Partition, scene: Scene) -> str:
    """The whole SVG text of a scene."""
    k = 10**scene.precision  # coordinates are integers in units of 1 / k pixel
    w, h = scene.width, scene.height
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" '
        f'viewBox="0 0 {w * k} {h * k}">\n'
    ]
    if scene.background[3] > 0:
        out.append(
            f'<rect width="{w * k}" height="{h * k}" {_color_attrs(scene.background, "fill")}/>\n'
        )
    out.append(svg_regions(part, scene, k))
    out.extend(svg_lines(lines, scene, k) for lines in scene.lines)
    out.append(svg_vertices(scene, k))
    out.append(svg_marks(scene, k))
    out.append(svg_overlay(scene, k))
    out.append("</svg>\n")
    return "".join(out)


def to_svg(part: Partition | Partition1D, path: str | Path | None = None, **style: Any) -> str:
    """Draw a partition as SVG (NumPy only).

    Parameters
    ----------
    part : Partition or Partition1D
        A 1-D partition is drawn by :func:`~regionscope.render.plot_1d`
        (needs matplotlib; style options ``size``, ``layer``, ``outputs``...).
    path : str or Path, optional
        File to write.
    **style
        Style options (see :mod:`regionscope.render.style`).

    Returns
    -------
    str
        The SVG text: a ``<g class="regions">`` with one filled ``<path>`` per
        region (in region order), then ``<g>`` groups of edges, the domain
        boundary and the decision boundary.  Coordinates are integers in units
        of ``10**-precision`` pixel (see the ``viewBox``), ``y`` pointing down
        as SVG wants (the domain's ``y`` points up in the picture).
    """
    if getattr(part.domain, "dim", 2) == 1:
        text = picture_1d(part, "svg", style).decode("utf-8")
    else:
        style.setdefault("background", "none")
        part = drawn_partition(part, style)
        text = _svg_document(part, build_scene(part, style, "to_svg"))
    if path is not None:
        Path(path).write_text(text, encoding="utf-8")
    return text


def repr_svg(part: Partition) -> str | None:
    """SVG for Jupyter's ``_repr_svg_``.

    Returns
    -------
    str or None
        A :data:`REPR_SIZE` pixels wide picture, or ``None`` above
        :data:`SVG_REPR_MAX_REGIONS` regions (Jupyter then asks for the PNG).
    """
    if int(part.num_regions) > SVG_REPR_MAX_REGIONS:
        return None
    return to_svg(part, size=REPR_SIZE)
