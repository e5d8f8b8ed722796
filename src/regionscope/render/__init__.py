"""Pictures of partitions: SVG and PNG with NumPy only, matplotlib plots.

Everything here works on the arrays of a :class:`~regionscope.Partition`
(``vertices``, ``region_vertices``/``region_offsets``, ``edges``,
``edge_layer``/``edge_neuron``...).  A style is resolved once into a *scene*
(pixel coordinates, one colour per region, edge groups, marks) that three
back ends draw:

* :func:`to_svg` -- one ``<path>`` per region, compact integer coordinates;
* :func:`to_png` -- a vectorised scan-line rasteriser (all regions at once)
  with anti-aliased lines and a small zlib PNG encoder, no Pillow and no
  matplotlib needed (so it runs in Pyodide);
* :func:`plot` -- matplotlib artists (``PolyCollection`` of the regions,
  ``LineCollection`` per edge layer with a legend, a colour bar for
  ``color_by="output"``), imported lazily.

Geometry is honest: ``y`` points up, the aspect ratio of the domain is kept
(the domain is centred in the picture when ``size`` has another aspect).

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
    Frame with ticks in domain coordinates (default False, True in :func:`plot`).
background : colour
    Picture background (default white; ``"none"`` for a transparent SVG).
padding : int
    Pixels around the domain (default 4; larger with ``axes``).
legend : bool
    Legend of edge layers (or of the units of ``layer``) and of the decision
    boundary in :func:`plot` (default: when it has at most 12 entries).
colorbar : bool
    Colour bar in :func:`plot` for value colourings (default True).
precision : int
    SVG coordinate decimals (in pixels; default 2).

Examples
--------
>>> import regionscope as rs
>>> from regionscope import render
>>> part = rs.partition(rs.Sequential(rs.Linear([[1.0, 0.0], [0.0, 1.0]]), rs.ReLU()), rs.Box(1.0))
>>> svg = render.to_svg(part, size=(200, 200))
>>> svg.count("<path d=")          # 4 regions, one path each
4
>>> png = render.to_png(part, None, size=(64, 32))
>>> png[:8] == b"\\x89PNG\\r\\n\\x1a\\n"
True
"""

from __future__ import annotations

import dataclasses
import math
import struct
import sys
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from .colors import (
    CATEGORICAL,
    LAYER_PALETTE,
    categorical_colors,
    colormap,
    hash_colors,
    hex_array,
    mix64,
    to_hex,
    to_rgba,
)

__all__ = [
    "STYLE_KEYS",
    "region_colors",
    "to_svg",
    "to_png",
    "encode_png",
    "plot",
    "plot_bent_hyperplanes",
    "plot_1d",
    "repr_svg",
    "repr_png",
]

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
    "colorbar": True,
    "precision": 2,
}

DEFAULT_WIDTH = 600
#: :func:`plot` shows a legend by default only up to this many entries
LEGEND_MAX_ENTRIES = 12
#: above this many regions :func:`repr_svg` returns None (Jupyter then shows the PNG)
SVG_REPR_MAX_REGIONS = 20_000


# --------------------------------------------------------------------------------------
# style and scene


def _check_style(style: dict[str, Any], where: str) -> dict[str, Any]:
    unknown = sorted(set(style) - set(STYLE_KEYS))
    if unknown:
        raise TypeError(
            f"{where}() got unknown style option(s) {unknown}; known options: {sorted(STYLE_KEYS)}"
        )
    out = dict(STYLE_KEYS)
    out.update(style)
    return out


def _is_mpl_colormap(obj: Any) -> bool:
    mod = sys.modules.get("matplotlib.colors")
    return mod is not None and isinstance(obj, mod.Colormap)


def _region_values(part: Any) -> np.ndarray:
    """Network outputs ``(F, width)`` at the region centroids."""
    vals = np.asarray(part.region_values(part.centroids()), dtype=np.float64)
    return vals.reshape(len(vals), -1)


def _lighten(rgba: np.ndarray, amount: float) -> np.ndarray:
    out = rgba.copy()
    out[:, :3] = rgba[:, :3] + (1.0 - rgba[:, :3]) * amount
    return out


@dataclasses.dataclass
class _Values:
    """A value colouring: what the colour bar shows."""

    cmap: Callable[[np.ndarray], np.ndarray]
    cmap_spec: Any
    vmin: float
    vmax: float
    label: str


def _color_values(
    values: np.ndarray, st: dict[str, Any], label: str
) -> tuple[np.ndarray, _Values]:
    cmap = colormap(st["cmap"])
    finite = values[np.isfinite(values)]
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    vmin = float(st["vmin"]) if st["vmin"] is not None else lo
    vmax = float(st["vmax"]) if st["vmax"] is not None else hi
    span = vmax - vmin if vmax > vmin else 1.0
    rgba = np.asarray(cmap((values - vmin) / span), dtype=np.float64).reshape(len(values), -1)
    if rgba.shape[1] == 3:
        rgba = np.concatenate([rgba, np.ones((len(rgba), 1))], axis=1)
    return rgba, _Values(cmap, st["cmap"], vmin, vmax, label)


def _resolve_region_colors(part: Any, st: dict[str, Any]) -> tuple[np.ndarray, _Values | None]:
    color_by = st["color_by"]
    num = int(part.num_regions)
    info = None
    if _is_mpl_colormap(color_by) or (
        isinstance(color_by, str) and color_by not in ("pattern", "output", "class", "none")
    ):
        st = {**st, "cmap": color_by}
        color_by = "output"
    if isinstance(color_by, str):
        if color_by == "pattern":
            rgba = hash_colors(np.asarray(part.pattern_keys(), dtype=np.uint64))
        elif color_by == "none":
            rgba = np.tile(np.array(to_rgba(st["fill"])), (num, 1))
        elif color_by == "class":
            vals = _region_values(part)
            cls = vals.argmax(axis=1) if vals.shape[1] > 1 else (vals[:, 0] > 0).astype(int)
            rgba = _lighten(categorical_colors(cls), 0.35)
        else:  # output
            vals = _region_values(part)
            k = st["output"]
            if isinstance(k, bool) or not isinstance(k, (int, np.integer)):
                raise TypeError(f"output must be an int, got {type(k).__name__}")
            if not -vals.shape[1] <= k < vals.shape[1]:
                raise ValueError(
                    f"output={k} is out of range: the network has {vals.shape[1]} output(s)"
                )
            rgba, info = _color_values(vals[:, k], st, f"output {int(k) % vals.shape[1]}")
    elif callable(color_by):
        got = np.asarray(color_by(part), dtype=np.float64)
        if got.shape == (num,):
            rgba, info = _color_values(got, st, getattr(color_by, "__name__", "value"))
        elif got.ndim == 2 and got.shape[0] == num and got.shape[1] in (3, 4):
            if not (np.isfinite(got).all() and got.min() >= 0.0 and got.max() <= 1.0):
                raise ValueError("color_by function must return colours in [0, 1]")
            rgba = got if got.shape[1] == 4 else np.concatenate([got, np.ones((num, 1))], 1)
        else:
            raise ValueError(
                f"color_by function must return ({num},) values or ({num}, 3|4) colours, "
                f"got shape {got.shape}"
            )
    else:
        raise TypeError(
            "color_by must be 'pattern', 'output', 'class', 'none', a colormap or a "
            f"function, got {type(color_by).__name__}"
        )
    rgba = np.array(rgba, dtype=np.float64)
    rgba[:, 3] *= float(st["alpha"])
    return rgba, info


def region_colors(part: Any, **style: Any) -> np.ndarray:
    """The fill colours ``(F, 4) float64`` (RGBA in ``[0, 1]``) a picture would use.

    Takes the style options of :func:`to_svg`.
    """
    st = _check_style(style, "region_colors")
    return _resolve_region_colors(part, st)[0]


@dataclasses.dataclass
class _Lines:
    """Segments of one drawing pass."""

    p0: np.ndarray  # (M, 2) domain coordinates
    p1: np.ndarray  # (M, 2)
    colors: np.ndarray  # (M, 4)
    width: float
    kind: str  # "edges", "decision", "boundary"
    legend: list[tuple[str, tuple[float, float, float, float]]]
    group: np.ndarray | None = None  # (M,) layer index for per-layer artists


@dataclasses.dataclass
class _Scene:
    width: int
    height: int
    scale: float
    x0: float  # pixel x of domain x = 0 ... (px = x0 + scale * x)
    y0: float  # pixel y of domain y = 0 ... (py = y0 - scale * y)
    bounds: tuple[float, float, float, float]
    region_rgba: np.ndarray
    values: _Values | None
    lines: list[_Lines]
    vertex_xy: np.ndarray | None
    vertex_rgba: tuple[float, float, float, float]
    vertex_size: float
    mark_xy: np.ndarray | None
    mark_rgba: np.ndarray | None
    mark_labels: list[str] | None
    mark_size: float
    axes: bool
    background: tuple[float, float, float, float]
    precision: int

    def px(self, xy: np.ndarray) -> np.ndarray:
        """Pixel coordinates ``(N, 2)`` (y down) of domain points ``(N, 2)``."""
        xy = np.asarray(xy, dtype=np.float64)
        return np.stack([self.x0 + self.scale * xy[:, 0], self.y0 - self.scale * xy[:, 1]], 1)


def _layer_label(part: Any, layer: int) -> str:
    try:
        op = part.program.ops[layer]
        return f"layer {layer} ({op.name}: {type(op.layer).__name__})"
    except (AttributeError, IndexError, TypeError):
        return f"layer {layer}"


def _picture_size(size: Any, bounds: tuple[float, float, float, float], pad: tuple) -> tuple:
    left, right, top, bottom = pad
    xmin, xmax, ymin, ymax = bounds
    aspect = (ymax - ymin) / (xmax - xmin)
    if size is None:
        size = DEFAULT_WIDTH
    if isinstance(size, (int, np.integer)) and not isinstance(size, bool):
        w = int(size)
        h = int(round((w - left - right) * aspect)) + top + bottom
    else:
        try:
            w, h = (int(v) for v in size)
        except (TypeError, ValueError):
            raise ValueError(f"size must be an int or (width, height), got {size!r}") from None
    if w - left - right < 2 or h - top - bottom < 2 or w > 20000 or h > 20000:
        raise ValueError(
            f"size must leave at least 2 pixels for the domain and be at most 20000, got "
            f"({w}, {h}) with padding {pad}"
        )
    return w, h


def _mark_points(part: Any, st: dict[str, Any]) -> tuple[np.ndarray, list[str] | None] | None:
    mark = st["mark"]
    if mark is None or mark is False:
        return None
    domain = part.domain
    labels = st["mark_labels"]
    if mark is True:
        if not hasattr(domain, "projected"):
            raise ValueError("mark=True marks a Plane's three points; this domain is not a Plane")
        xy = np.asarray(domain.projected, dtype=np.float64)
        if labels is None:
            labels = ["0", "1", "2"]
    else:
        arr = np.asarray(mark, dtype=np.float64)
        if hasattr(domain, "to_plane") and arr.ndim >= 1 and arr.size % domain.input_dim == 0:
            shape_ok = arr.shape[1:] in (tuple(domain.input_shape), (domain.input_dim,))
            if shape_ok or arr.shape in (tuple(domain.input_shape), (domain.input_dim,)):
                arr = domain.to_plane(arr)
        if arr.ndim == 1 and arr.shape == (2,):
            arr = arr[None]
        if arr.ndim != 2 or arr.shape[1] != 2:
            raise ValueError(
                f"mark must be points of shape (N, 2) (domain coordinates), or for a Plane "
                f"inputs of shape (N, *input_shape); got {np.shape(mark)}"
            )
        if not np.isfinite(arr).all():
            raise ValueError("mark must be finite points")
        xy = arr
    if labels is not None:
        labels = [str(v) for v in labels]
        if len(labels) != len(xy):
            raise ValueError(f"mark_labels has {len(labels)} labels for {len(xy)} marks")
    return xy, labels


def _mark_colors(spec: Any, n: int) -> np.ndarray:
    if isinstance(spec, str) or (
        isinstance(spec, (tuple, list))
        and len(spec) in (3, 4)
        and all(isinstance(v, float) for v in spec)
    ):
        return np.tile(np.array(to_rgba(spec)), (n, 1))
    arr = np.asarray(spec)
    if arr.shape == (n,) and np.issubdtype(arr.dtype, np.integer):
        return categorical_colors(arr)
    if len(arr) != n:
        raise ValueError(f"mark_color must be one colour or {n} colours/labels, got {len(arr)}")
    if arr.ndim == 2 and np.issubdtype(arr.dtype, np.number):
        return np.array([to_rgba(tuple(float(v) for v in row)) for row in arr])
    return np.array([to_rgba(c) for c in arr])


def _neuron_colors(layer: np.ndarray, neuron: np.ndarray, categorical: bool) -> np.ndarray:
    if categorical:
        return categorical_colors(neuron, LAYER_PALETTE)
    key = (layer.astype(np.uint64) << np.uint64(32)) ^ neuron.astype(np.uint64)
    return hash_colors(mix64(key), saturation=(0.6, 0.9), lightness=(0.28, 0.48))


def _scene(part: Any, style: dict[str, Any], where: str) -> _Scene:
    st = _check_style(style, where)
    domain = part.domain
    bounds = tuple(float(v) for v in domain.bounds)
    axes = bool(st["axes"])
    pad = st["padding"]
    if pad is None:
        pad = 4
    pad = int(pad)
    if pad < 0:
        raise ValueError(f"padding must be >= 0, got {pad}")
    pads = (pad + 58, pad + 12, pad + 8, pad + 30) if axes else (pad, pad, pad, pad)
    w, h = _picture_size(st["size"], bounds, pads)
    xmin, xmax, ymin, ymax = bounds
    left, right, top, bottom = pads
    scale = min((w - left - right) / (xmax - xmin), (h - top - bottom) / (ymax - ymin))
    cx = left + 0.5 * (w - left - right)
    cy = top + 0.5 * (h - top - bottom)
    x0 = cx - scale * 0.5 * (xmin + xmax)
    y0 = cy + scale * 0.5 * (ymin + ymax)

    rgba, info = _resolve_region_colors(part, st)

    # line widths
    num = max(int(part.num_regions), 1)
    px_area = domain.area * scale * scale / num
    ew = st["edge_width"]
    ew = float(np.clip(0.2 * math.sqrt(px_area), 0.35, 1.2)) if ew is None else float(ew)
    bw = st["boundary_width"]
    bw = max(1.5 * ew, 1.0) if bw is None else float(bw)
    dw = float(st["decision_width"])
    for name, val in (("edge_width", ew), ("boundary_width", bw), ("decision_width", dw)):
        if not (math.isfinite(val) and val >= 0):
            raise ValueError(f"{name} must be a finite number >= 0, got {val}")

    verts = np.asarray(part.vertices, dtype=np.float64)
    edges = np.asarray(part.edges, dtype=np.int64).reshape(-1, 2)
    e_layer = np.asarray(part.edge_layer, dtype=np.int64)
    e_neuron = np.asarray(part.edge_neuron, dtype=np.int64)
    interior = e_layer >= 0
    rgba_b = to_rgba(st["boundary_color"])
    rgba_d = to_rgba(st["decision_color"])
    other_rgba = to_rgba(st["other_edges"])
    decision = np.zeros(len(edges), dtype=bool)
    if st["decision"]:
        decision = np.asarray(part.decision_boundary(), dtype=bool) & interior
    lines: list[_Lines] = []

    edges_spec = st["edges"]
    sel = st["layer"]
    if sel is not None:
        if isinstance(sel, bool) or not isinstance(sel, (int, np.integer)):
            raise TypeError(f"layer must be an int layer index, got {type(sel).__name__}")
        layers_known = tuple(getattr(part, "piecewise_layers", ()))
        if int(sel) not in layers_known:
            raise ValueError(
                f"layer={sel} is not a piecewise layer of this partition; piecewise layers: "
                f"{list(layers_known)}"
            )
        if edges_spec == "layer":
            edges_spec = "neuron"

    def one_color(mask: np.ndarray, rgba: Any, width: float, kind: str, legend: list) -> _Lines:
        """The edges in ``mask``, all in one colour."""
        idx = np.flatnonzero(mask)
        rgba_rows = np.tile(np.array(rgba), (len(idx), 1))
        return _Lines(verts[edges[idx, 0]], verts[edges[idx, 1]], rgba_rows, width, kind, legend)

    normal = interior & ~decision
    if sel is not None:
        others = normal & (e_layer != sel)
        normal = normal & (e_layer == sel)
        if others.any() and other_rgba[3] > 0:
            lines.append(one_color(others, other_rgba, ew, "other", []))
    if isinstance(edges_spec, str) and edges_spec in ("layer", "neuron", "none"):
        mode = edges_spec
    else:
        mode = "color"
        edge_rgba = to_rgba(edges_spec)
    if mode != "none" and normal.any():
        idx = np.flatnonzero(normal)
        legend: list[tuple[str, tuple[float, float, float, float]]] = []
        group = None
        if mode == "layer":
            known = sorted(set(getattr(part, "piecewise_layers", ())) | set(e_layer[idx].tolist()))
            pos = np.searchsorted(np.array(known), e_layer[idx])
            cols = categorical_colors(pos, LAYER_PALETTE)
            group = e_layer[idx]
            for i, lay in enumerate(known):
                if (e_layer[idx] == lay).any():
                    legend.append(
                        (_layer_label(part, lay), tuple(categorical_colors([i], LAYER_PALETTE)[0]))
                    )
        elif mode == "neuron":
            cols = _neuron_colors(e_layer[idx], e_neuron[idx], sel is not None)
            if sel is not None:
                for n in np.unique(e_neuron[idx]).tolist():
                    legend.append(
                        (f"neuron {n}", tuple(categorical_colors([n], LAYER_PALETTE)[0]))
                    )
        else:
            cols = np.tile(np.array(edge_rgba), (len(idx), 1))
        lines.append(
            _Lines(verts[edges[idx, 0]], verts[edges[idx, 1]], cols, ew, "edges", legend, group)
        )
    if st["boundary"]:
        poly = np.asarray(domain.polygon, dtype=np.float64)
        lines.append(
            _Lines(
                poly,
                np.roll(poly, -1, axis=0),
                np.tile(np.array(rgba_b), (len(poly), 1)),
                bw,
                "boundary",
                [],
            )
        )
    if decision.any():
        lines.append(one_color(decision, rgba_d, dw, "decision", [("decision boundary", rgba_d)]))
    elif st["decision"] and _single_output(part):
        # a one-logit classifier: its decision is where the output changes sign
        segs = np.asarray(part.decision_segments(0), dtype=np.float64).reshape(-1, 2, 2)
        if len(segs):
            rgba_rows = np.tile(np.array(rgba_d), (len(segs), 1))
            legend_d = [("decision boundary", rgba_d)]
            lines.append(_Lines(segs[:, 0], segs[:, 1], rgba_rows, dw, "decision", legend_d))

    marks = _mark_points(part, st)
    mark_xy = mark_rgba = mark_labels = None
    if marks is not None:
        mark_xy, mark_labels = marks
        mark_rgba = _mark_colors(st["mark_color"], len(mark_xy))
    precision = st["precision"]
    if isinstance(precision, bool) or not isinstance(precision, (int, np.integer)):
        raise TypeError(f"precision must be an int, got {type(precision).__name__}")
    if not 0 <= precision <= 6:
        raise ValueError(f"precision must be between 0 and 6, got {precision}")
    return _Scene(
        width=w,
        height=h,
        scale=scale,
        x0=x0,
        y0=y0,
        bounds=bounds,
        region_rgba=rgba,
        values=info,
        lines=lines,
        vertex_xy=verts if st["vertices"] else None,
        vertex_rgba=to_rgba(st["vertex_color"]),
        vertex_size=float(st["vertex_size"]),
        mark_xy=mark_xy,
        mark_rgba=mark_rgba,
        mark_labels=mark_labels,
        mark_size=float(st["mark_size"]),
        axes=axes,
        background=to_rgba(st["background"]),
        precision=int(precision),
    )


def _single_output(part: Any) -> bool:
    """A partition of a network with one output and a way to cut its zero set."""
    program = getattr(part, "program", None)
    return (
        program is not None
        and program.out_width == 1
        and hasattr(part, "decision_segments")
        and len(getattr(part, "piecewise_layers", ())) > 0
    )


def _nice_ticks(lo: float, hi: float, target: int = 5) -> np.ndarray:
    """Round tick positions (steps 1, 2 or 5 times a power of ten) inside ``[lo, hi]``."""
    span = hi - lo
    raw = span / max(target, 1)
    mag = 10.0 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1.0, 2.0, 5.0, 10.0) if m * mag >= raw)
    first = math.ceil(lo / step - 1e-9) * step
    ticks = np.arange(first, hi + step * 1e-9, step)
    return np.round(ticks / step) * step


def _tick_text(v: float) -> str:
    s = f"{v:.6g}"
    return "0" if s in ("-0", "0") else s


# --------------------------------------------------------------------------------------
# SVG


def _int_strings(a: np.ndarray) -> np.ndarray:
    return np.round(a).astype(np.int64).astype(str)


def _svg_color_attrs(rgba: tuple[float, float, float, float] | np.ndarray, attr: str) -> str:
    out = f'{attr}="{to_hex(tuple(float(v) for v in rgba[:3]))}"'
    if rgba[3] < 1.0:
        out += f' {attr}-opacity="{float(rgba[3]):.3g}"'
    return out


def _svg_text(s: str) -> str:
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def _svg(part: Any, scene: _Scene) -> str:
    k = 10**scene.precision  # coordinates are integers in units of 1 / k pixel
    w, h = scene.width, scene.height
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" '
        f'viewBox="0 0 {w * k} {h * k}">\n'
    ]
    if scene.background[3] > 0:
        out.append(
            f'<rect width="{w * k}" height="{h * k}" '
            f"{_svg_color_attrs(scene.background, 'fill')}/>\n"
        )
    # regions: one path each, "M x y x y ... Z" (implicit line-to)
    verts_px = scene.px(np.asarray(part.vertices, dtype=np.float64)) * k
    vstr = np.char.add(
        np.char.add(_int_strings(verts_px[:, 0]), " "), _int_strings(verts_px[:, 1])
    )
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
    out.append('<g class="regions" stroke="none">\n')
    out.append("".join(tokens.tolist()))
    out.append("</g>\n")
    # lines: one path per colour and pass
    for lines in scene.lines:
        if not len(lines.p0) or lines.width <= 0:
            continue
        a = scene.px(lines.p0) * k
        b = scene.px(lines.p1) * k
        seg = np.char.add(
            np.char.add(np.char.add("M", _int_strings(a[:, 0])), " "), _int_strings(a[:, 1])
        )
        seg = np.char.add(np.char.add(seg, " "), _int_strings(b[:, 0]))
        seg = np.char.add(np.char.add(seg, " "), _int_strings(b[:, 1]))
        keys = hex_array(lines.colors)
        alpha = np.round(lines.colors[:, 3], 3)
        uniq, inverse = np.unique(np.char.add(keys, alpha.astype(str)), return_inverse=True)
        order = np.argsort(inverse, kind="stable")
        counts = np.bincount(inverse, minlength=len(uniq))
        starts = np.concatenate([[0], np.cumsum(counts)])
        out.append(
            f'<g class="{lines.kind}" fill="none" stroke-linecap="round" '
            f'stroke-linejoin="round" stroke-width="{lines.width * k:.4g}">\n'
        )
        seg_sorted = seg[order]
        for g in range(len(uniq)):
            first_edge = order[starts[g]]
            attrs = _svg_color_attrs(lines.colors[first_edge], "stroke")
            d = "".join(seg_sorted[starts[g] : starts[g + 1]].tolist())
            out.append(f'<path {attrs} d="{d}"/>\n')
        out.append("</g>\n")
    if scene.vertex_xy is not None and len(scene.vertex_xy):
        p = scene.px(scene.vertex_xy) * k
        r = scene.vertex_size * k / 2
        # each dot a zero-length round-capped line: compact for many vertices
        d = np.char.add(
            np.char.add(np.char.add("M", _int_strings(p[:, 0])), " "), _int_strings(p[:, 1])
        )
        out.append(
            '<path class="vertices" fill="none" stroke-linecap="round" '
            f'stroke-width="{2 * r:.4g}" '
            f'{_svg_color_attrs(scene.vertex_rgba, "stroke")} d="{"h0".join(d.tolist())}h0"/>\n'
        )
    if scene.mark_xy is not None:
        p = scene.px(scene.mark_xy) * k
        r = scene.mark_size * k / 2
        out.append(f'<g class="marks" stroke="#000000" stroke-width="{k:.4g}">\n')
        for i in range(len(p)):
            out.append(
                f'<circle cx="{p[i, 0]:.0f}" cy="{p[i, 1]:.0f}" r="{r:.0f}" '
                f"{_svg_color_attrs(scene.mark_rgba[i], 'fill')}/>\n"
            )
        if scene.mark_labels is not None:
            for i, text in enumerate(scene.mark_labels):
                out.append(
                    f'<text x="{p[i, 0] + r + 2 * k:.0f}" y="{p[i, 1] - r:.0f}" '
                    f'font-size="{12 * k}" font-family="sans-serif" stroke="#ffffff" '
                    f'stroke-width="{3 * k}" paint-order="stroke" fill="#000000">'
                    f"{_svg_text(text)}</text>\n"
                )
        out.append("</g>\n")
    if scene.axes:
        out.append(_svg_axes(scene, k))
    out.append("</svg>\n")
    return "".join(out)


def _svg_axes(scene: _Scene, k: int) -> str:
    xmin, xmax, ymin, ymax = scene.bounds
    corners = scene.px(np.array([[xmin, ymin], [xmax, ymax]])) * k
    (fx0, fy1), (fx1, fy0) = corners
    parts = [
        f'<g class="axes" stroke="#000000" stroke-width="{k}" font-family="sans-serif" '
        f'font-size="{11 * k}">\n',
        f'<rect x="{fx0:.0f}" y="{fy0:.0f}" width="{fx1 - fx0:.0f}" height="{fy1 - fy0:.0f}" '
        'fill="none"/>\n',
    ]
    tick = 5 * k
    for v in _nice_ticks(xmin, xmax):
        x = scene.px(np.array([[v, ymin]]))[0, 0] * k
        parts.append(f'<path d="M{x:.0f} {fy1:.0f}v{tick}"/>\n')
        parts.append(
            f'<text x="{x:.0f}" y="{fy1 + tick + 12 * k:.0f}" stroke="none" '
            f'text-anchor="middle">{_tick_text(v)}</text>\n'
        )
    for v in _nice_ticks(ymin, ymax):
        y = scene.px(np.array([[xmin, v]]))[0, 1] * k
        parts.append(f'<path d="M{fx0:.0f} {y:.0f}h{-tick}"/>\n')
        parts.append(
            f'<text x="{fx0 - tick - 3 * k:.0f}" y="{y + 4 * k:.0f}" stroke="none" '
            f'text-anchor="end">{_tick_text(v)}</text>\n'
        )
    parts.append("</g>\n")
    return "".join(parts)


def to_svg(part: Any, path: str | Path | None = None, **style: Any) -> str:
    """Draw a partition as SVG (NumPy only).

    Parameters
    ----------
    part : Partition
    path : str or Path, optional
        File to write.
    **style
        Style options (see the module docstring).

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
        text = _save_1d(part, "svg", style).decode("utf-8")
        if path is not None:
            Path(path).write_text(text, encoding="utf-8")
        return text
    style.setdefault("background", "none")
    scene = _scene(part, style, "to_svg")
    text = _svg(part, scene)
    if path is not None:
        Path(path).write_text(text, encoding="utf-8")
    return text


# --------------------------------------------------------------------------------------
# PNG: vectorised rasteriser


def _ragged(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(owner, local)`` for ``counts[i]`` items per owner ``i``: the flattened ranges."""
    counts = np.asarray(counts, dtype=np.int64)
    owner = np.repeat(np.arange(len(counts)), counts)
    starts = np.cumsum(counts) - counts
    local = np.arange(len(owner), dtype=np.int64) - starts[owner]
    return owner, local


def _fill_spans(
    px: np.ndarray, rv: np.ndarray, offsets: np.ndarray, width: int, height: int
) -> tuple[np.ndarray, np.ndarray]:
    """Pixels covered by convex polygons: ``(pixel index, polygon index)``.

    A pixel belongs to the polygon that contains its centre (half-open rules
    on both axes, so polygons that share edges tile without gaps or overlap).
    Every polygon side is cut with the pixel rows whose centre it spans; a
    convex polygon has exactly two cuts per row, the span between them is
    filled.
    """
    sizes = np.diff(offsets)
    region_of = np.repeat(np.arange(len(sizes)), sizes)
    pos = np.arange(len(rv))
    nxt = pos + 1
    last = offsets[1:] - 1
    nxt[last[sizes > 0]] = offsets[:-1][sizes > 0]
    a = px[rv]
    b = px[rv[nxt]]
    # canonical order (lower y first) so a side shared by two regions cuts identically
    swap = b[:, 1] < a[:, 1]
    lo = np.where(swap[:, None], b, a)
    hi = np.where(swap[:, None], a, b)
    r0 = np.clip(np.ceil(lo[:, 1] - 0.5), 0, height).astype(np.int64)
    r1 = np.clip(np.ceil(hi[:, 1] - 0.5), 0, height).astype(np.int64)
    counts = np.maximum(r1 - r0, 0)
    side, local = _ragged(counts)
    row = r0[side] + local
    dy = hi[side, 1] - lo[side, 1]
    t = (row + 0.5 - lo[side, 1]) / dy
    x = lo[side, 0] + t * (hi[side, 0] - lo[side, 0])
    key = region_of[side] * np.int64(height) + row
    order = np.argsort(key, kind="stable")
    key = key[order]
    x = x[order]
    # pairs of cuts per (region, row)
    if len(key) % 2 or (len(key) and (key[0::2] != key[1::2]).any()):
        # a degenerate (non-convex) polygon: keep only well-formed pairs
        good = np.zeros(len(key), dtype=bool)
        _, start, cnt = np.unique(key, return_index=True, return_counts=True)
        ok = cnt == 2
        good[start[ok]] = True
        good[start[ok] + 1] = True
        key, x = key[good], x[good]
    k2 = key[0::2]
    xa, xb = x[0::2], x[1::2]
    xl = np.minimum(xa, xb)
    xr = np.maximum(xa, xb)
    c0 = np.clip(np.ceil(xl - 0.5), 0, width).astype(np.int64)
    c1 = np.clip(np.ceil(xr - 0.5), 0, width).astype(np.int64)
    n = np.maximum(c1 - c0, 0)
    span, local = _ragged(n)
    rows = k2 % height
    regions = k2 // height
    pix = rows[span] * width + c0[span] + local
    return pix, regions[span]


def _line_coverage(
    p0: np.ndarray, p1: np.ndarray, lw: float, width: int, height: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Anti-aliased pixels of thick segments: ``(pixel index, coverage, segment index)``.

    Each segment is stepped one pixel at a time along its major axis; at each
    step the pixels across it get the length of their overlap with the
    segment's cross-section (``lw / cos``), a box-filter coverage.
    """
    d = p1 - p0
    length = np.hypot(d[:, 0], d[:, 1])
    keep = length > 0
    xmajor = np.abs(d[:, 0]) >= np.abs(d[:, 1])
    maj = np.where(xmajor, 0, 1)
    mnr = 1 - maj
    idx = np.arange(len(p0))
    a0, a1 = p0[idx, maj], p1[idx, maj]
    b0, b1 = p0[idx, mnr], p1[idx, mnr]
    flip = a1 < a0
    a0, a1 = np.where(flip, a1, a0), np.where(flip, a0, a1)
    b0, b1 = np.where(flip, b1, b0), np.where(flip, b0, b1)
    da = np.maximum(a1 - a0, 1e-300)
    slope = (b1 - b0) / da
    h = lw * length / da  # cross-section along the minor axis
    ext = min(0.5 * lw, 0.5)
    lim = np.where(xmajor, width, height)
    s0 = np.clip(np.ceil(a0 - ext - 0.5), 0, lim).astype(np.int64)
    s1 = np.clip(np.ceil(a1 + ext - 0.5), 0, lim).astype(np.int64)
    steps = np.where(keep, np.maximum(s1 - s0, 0), 0)
    seg, local = _ragged(steps)
    m = s0[seg] + local
    c = b0[seg] + (np.clip(m + 0.5, a0[seg], a1[seg]) - a0[seg]) * slope[seg]
    half = 0.5 * h[seg]
    q0 = np.floor(c - half).astype(np.int64)
    q1 = np.floor(c + half).astype(np.int64)
    sample, j = _ragged(q1 - q0 + 1)
    q = q0[sample] + j
    lo = np.maximum(q, c[sample] - half[sample])
    hi = np.minimum(q + 1, c[sample] + half[sample])
    cov = np.clip(hi - lo, 0.0, 1.0)
    segment = seg[sample]
    mm = m[sample]
    xm = xmajor[segment]
    col = np.where(xm, mm, q)
    row = np.where(xm, q, mm)
    ok = (cov > 0) & (col >= 0) & (col < width) & (row >= 0) & (row < height)
    return (row * width + col)[ok], cov[ok], segment[ok]


def _disc_coverage(
    centers: np.ndarray, diameter: float, width: int, height: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Anti-aliased pixels of discs: ``(pixel index, coverage, disc index)``."""
    r = 0.5 * diameter
    reach = int(math.ceil(r + 1))
    off = np.arange(-reach, reach + 1)
    ox, oy = np.meshgrid(off, off)
    ox, oy = ox.ravel(), oy.ravel()
    cx = np.floor(centers[:, 0]).astype(np.int64)
    cy = np.floor(centers[:, 1]).astype(np.int64)
    col = cx[:, None] + ox[None, :]
    row = cy[:, None] + oy[None, :]
    dist = np.hypot(col + 0.5 - centers[:, :1], row + 0.5 - centers[:, 1:])
    cov = np.clip(r + 0.5 - dist, 0.0, 1.0)
    owner = np.broadcast_to(np.arange(len(centers))[:, None], col.shape)
    ok = (cov > 0) & (col >= 0) & (col < width) & (row >= 0) & (row < height)
    return (row * width + col)[ok], cov[ok], owner[ok]


def _blend(flat: np.ndarray, pix: np.ndarray, cov: np.ndarray, rgba: np.ndarray) -> None:
    """Composite coverage-weighted colours onto ``flat (H*W, 3)`` in place."""
    if not len(pix):
        return
    n = len(flat)
    weight = cov * rgba[:, 3]
    total = np.bincount(pix, weights=weight, minlength=n)
    touched = np.flatnonzero(total > 0)
    if not len(touched):
        return
    tw = total[touched]
    alpha = np.minimum(tw, 1.0)[:, None]
    color = (
        np.stack(
            [
                np.bincount(pix, weights=weight * rgba[:, c], minlength=n)[touched]
                for c in range(3)
            ],
            axis=1,
        )
        / tw[:, None]
    )
    flat[touched] = flat[touched] * (1.0 - alpha) + color * alpha


def _raster(part: Any, scene: _Scene) -> np.ndarray:
    """The picture as ``(H, W, 3) uint8``."""
    w, h = scene.width, scene.height
    flat = np.empty((w * h, 3), dtype=np.float64)
    bg = scene.background
    flat[:] = np.array(bg[:3]) * bg[3] + (1.0 - bg[3])  # on white when transparent
    verts_px = scene.px(np.asarray(part.vertices, dtype=np.float64))
    rv = np.asarray(part.region_vertices, dtype=np.int64)
    offsets = np.asarray(part.region_offsets, dtype=np.int64)
    pix, region = _fill_spans(verts_px, rv, offsets, w, h)
    rgba = scene.region_rgba[region]
    a = rgba[:, 3:4]
    flat[pix] = flat[pix] * (1.0 - a) + rgba[:, :3] * a
    for lines in scene.lines:
        if len(lines.p0) and lines.width > 0:
            pix, cov, seg = _line_coverage(
                scene.px(lines.p0), scene.px(lines.p1), lines.width, w, h
            )
            _blend(flat, pix, cov, lines.colors[seg])
    if scene.vertex_xy is not None and len(scene.vertex_xy):
        pix, cov, _ = _disc_coverage(scene.px(scene.vertex_xy), scene.vertex_size, w, h)
        _blend(flat, pix, cov, np.tile(np.array(scene.vertex_rgba), (len(pix), 1)))
    if scene.mark_xy is not None and len(scene.mark_xy):
        centers = scene.px(scene.mark_xy)
        pix, cov, _ = _disc_coverage(centers, scene.mark_size + 2.0, w, h)
        _blend(flat, pix, cov, np.tile(np.array([0.0, 0.0, 0.0, 1.0]), (len(pix), 1)))
        pix, cov, owner = _disc_coverage(centers, scene.mark_size, w, h)
        _blend(flat, pix, cov, scene.mark_rgba[owner])
    return np.clip(np.round(flat * 255.0), 0, 255).astype(np.uint8).reshape(h, w, 3)


def encode_png(image: np.ndarray, level: int = 6) -> bytes:
    """Encode ``(H, W, 3)`` or ``(H, W, 4)`` ``uint8`` pixels as PNG bytes (zlib only).

    Examples
    --------
    >>> import numpy as np
    >>> data = encode_png(np.zeros((2, 3, 3), dtype=np.uint8))
    >>> data[:8] == b"\\x89PNG\\r\\n\\x1a\\n", struct.unpack(">II", data[16:24])
    (True, (3, 2))
    """
    img = np.asarray(image)
    if img.dtype != np.uint8 or img.ndim != 3 or img.shape[2] not in (3, 4):
        raise ValueError(f"image must be (H, W, 3 or 4) uint8, got {img.shape} {img.dtype}")
    h, w, c = img.shape
    raw = np.zeros((h, 1 + w * c), dtype=np.uint8)  # filter byte 0 on every row
    raw[:, 1:] = img.reshape(h, w * c)

    def chunk(tag: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + tag
            + data
            + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", w, h, 8, 2 if c == 3 else 6, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw.tobytes(), level))
        + chunk(b"IEND", b"")
    )


def to_png(
    part: Any, path: str | Path | None = None, *, engine: str = "auto", **style: Any
) -> bytes:
    """Draw a partition as a PNG of exactly ``size`` pixels.

    Parameters
    ----------
    part : Partition
    path : str or Path, optional
        File to write.
    engine : {"auto", "numpy", "matplotlib"}
        ``"numpy"`` rasterises with NumPy and zlib only (fast: ~1 s for
        100 000 regions); it has no fonts, so ``"auto"`` switches to
        matplotlib for ``axes=True`` or ``mark_labels`` when matplotlib is
        installed.
    **style
        Style options (see the module docstring).

    Returns
    -------
    bytes
        The PNG file's bytes.
    """
    if engine not in ("auto", "numpy", "matplotlib"):
        raise ValueError(f"engine must be 'auto', 'numpy' or 'matplotlib', got {engine!r}")
    if engine == "auto":
        engine = "numpy"
        if style.get("axes") or style.get("mark_labels") is not None:
            import importlib.util

            if importlib.util.find_spec("matplotlib") is not None:
                engine = "matplotlib"
    if getattr(part.domain, "dim", 2) == 1:
        data = _save_1d(part, "png", style)
    elif engine == "numpy":
        scene = _scene(part, style, "to_png")
        data = encode_png(_raster(part, scene))
    else:
        data = _png_matplotlib(part, style)
    if path is not None:
        Path(path).write_bytes(data)
    return data


def _save_1d(part1d: Any, fmt: str, style: dict[str, Any]) -> bytes:
    """A :func:`plot_1d` picture as PNG or SVG bytes (needs matplotlib)."""
    import io

    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise ValueError("pictures of 1-D partitions need matplotlib") from None
    unknown = sorted(set(style) - {"size", "layer", "outputs", "breakpoint_color", "linewidth"})
    if unknown:
        raise TypeError(f"1-D pictures take size, layer, outputs, ...; got {unknown}")
    size = style.pop("size", None) or (700, 350)
    if isinstance(size, (int, np.integer)):
        size = (int(size), int(size) // 2)
    w, h = (int(v) for v in size)
    fig = Figure(figsize=(w / 100, h / 100), dpi=100, layout="tight")
    plot_1d(part1d, ax=fig.add_subplot(), **style)
    buf = io.BytesIO()
    fig.savefig(buf, format=fmt, dpi=100)
    return buf.getvalue()


def _png_matplotlib(part: Any, style: dict[str, Any]) -> bytes:
    import io

    from matplotlib.figure import Figure

    scene = _scene(part, {**style, "padding": 0, "axes": False}, "to_png")
    w, h = scene.width, scene.height
    dpi = 100
    fig = Figure(figsize=(w / dpi, h / dpi), dpi=dpi)
    axes = bool(style.get("axes"))
    if axes:
        ax = fig.add_axes((56 / w, 30 / h, 1 - 68 / w, 1 - 40 / h))
    else:
        ax = fig.add_axes((0, 0, 1, 1))
    plot(part, ax=ax, **{**style, "axes": axes, "legend": style.get("legend", False)})
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, facecolor=to_rgba(style.get("background", "white")))
    return buf.getvalue()


# --------------------------------------------------------------------------------------
# matplotlib


def _region_polygons(part: Any) -> list[np.ndarray]:
    verts = np.asarray(part.vertices, dtype=np.float64)
    rv = np.asarray(part.region_vertices, dtype=np.int64)
    offsets = np.asarray(part.region_offsets, dtype=np.int64)
    return np.split(verts[rv], offsets[1:-1])


def _mpl_cmap(info: _Values) -> Any:
    from matplotlib.colors import ListedColormap

    if _is_mpl_colormap(info.cmap_spec):
        return info.cmap_spec
    return ListedColormap(info.cmap(np.linspace(0.0, 1.0, 256)), name=str(info.cmap_spec))


def plot(part: Any, ax: Any = None, **style: Any) -> dict[str, Any]:
    """Draw a partition on matplotlib axes.

    Parameters
    ----------
    part : Partition
    ax : matplotlib Axes, optional
        Default: a new figure's axes (``plt.subplots``).
    **style
        Style options (see the module docstring); ``axes`` defaults to True,
        line widths are in points at 100 dpi (so one pixel of :func:`to_png`
        is 0.72 pt).

    Returns
    -------
    dict
        The artists: ``"regions"`` (``PolyCollection``, paths in region
        order), ``"edges"`` (``{layer: LineCollection}`` when coloured by
        layer, otherwise one ``LineCollection`` under key ``None``),
        ``"boundary"``, ``"decision"``, ``"vertices"``, ``"marks"``,
        ``"labels"``, ``"legend"``, ``"colorbar"`` (``None`` when absent), and
        ``"ax"``.
    """
    from matplotlib.collections import LineCollection, PolyCollection

    style = dict(style)
    style.setdefault("axes", True)
    scene = _scene(part, style, "plot")
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(scene.width / 100, scene.height / 100))
    pt = 0.72  # points per pixel at 100 dpi
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
    # no anti-aliasing on the fills: anti-aliased neighbours leave light seams between them
    regions = PolyCollection(
        _region_polygons(part),
        facecolors=scene.region_rgba,
        edgecolors="none",
        linewidths=0.0,
        antialiaseds=False,
    )
    ax.add_collection(regions)
    out["regions"] = regions
    handles = []
    for lines in scene.lines:
        if not len(lines.p0) or lines.width <= 0:
            continue
        segs = np.stack([lines.p0, lines.p1], axis=1)
        if lines.kind == "edges" and lines.group is not None:
            for (label, _), lay in zip(
                lines.legend, sorted(set(lines.group.tolist())), strict=True
            ):
                sel = lines.group == lay
                lc = LineCollection(
                    segs[sel], colors=lines.colors[sel], linewidths=lines.width * pt, label=label
                )
                ax.add_collection(lc)
                out["edges"][lay] = lc
                handles.append(lc)
        elif lines.kind in ("edges", "other"):
            lc = LineCollection(segs, colors=lines.colors, linewidths=lines.width * pt)
            ax.add_collection(lc)
            if lines.kind == "edges":
                out["edges"][None] = lc
                if lines.legend:
                    from matplotlib.lines import Line2D

                    for label, color in lines.legend:
                        handles.append(Line2D([], [], color=color, label=label))
            else:
                out["other_edges"] = lc
        else:
            label = lines.legend[0][0] if lines.legend else None
            lc = LineCollection(
                segs,
                colors=lines.colors,
                linewidths=lines.width * pt,
                label=label,
                capstyle="round",
                zorder=3 if lines.kind == "decision" else 2.5,
            )
            ax.add_collection(lc)
            out[lines.kind] = lc
            if label:
                handles.append(lc)
    if scene.vertex_xy is not None:
        out["vertices"] = ax.scatter(
            scene.vertex_xy[:, 0],
            scene.vertex_xy[:, 1],
            s=(scene.vertex_size * pt) ** 2,
            c=[scene.vertex_rgba],
            zorder=4,
            linewidths=0,
        )
    if scene.mark_xy is not None:
        out["marks"] = ax.scatter(
            scene.mark_xy[:, 0],
            scene.mark_xy[:, 1],
            s=(scene.mark_size * pt) ** 2,
            c=scene.mark_rgba,
            edgecolors="black",
            linewidths=1.0,
            zorder=5,
        )
        if scene.mark_labels is not None:
            import matplotlib.patheffects as pe

            for (x, y), text in zip(scene.mark_xy, scene.mark_labels, strict=True):
                out["labels"].append(
                    ax.annotate(
                        text,
                        (x, y),
                        xytext=(scene.mark_size * 0.5 * pt + 2, scene.mark_size * 0.5 * pt),
                        textcoords="offset points",
                        fontsize=9,
                        zorder=6,
                        path_effects=[pe.withStroke(linewidth=2.5, foreground="white")],
                    )
                )
    xmin, xmax, ymin, ymax = scene.bounds
    pad = 0.01 * max(xmax - xmin, ymax - ymin)
    ax.set_xlim(xmin - pad, xmax + pad)
    ax.set_ylim(ymin - pad, ymax + pad)
    ax.set_aspect("equal")
    if not scene.axes:
        ax.set_axis_off()
    legend = style.get("legend")
    if legend is None:
        legend = 0 < len(handles) <= LEGEND_MAX_ENTRIES
    if legend and handles:
        out["legend"] = ax.legend(handles=handles, loc="upper right", fontsize=8, framealpha=0.85)
    if scene.values is not None and style.get("colorbar", True):
        from matplotlib.cm import ScalarMappable
        from matplotlib.colors import Normalize

        info = scene.values
        mappable = ScalarMappable(norm=Normalize(info.vmin, info.vmax), cmap=_mpl_cmap(info))
        out["colorbar"] = ax.figure.colorbar(mappable, ax=ax, label=info.label)
    return out


def plot_bent_hyperplanes(part: Any, layer: int, ax: Any = None, **style: Any) -> dict[str, Any]:
    """Draw the zero sets ("bent hyperplanes") of the units of one piecewise layer.

    The edges made by ``layer`` (``edge_layer == layer``) are drawn in one
    colour per unit (``edge_neuron``, with a legend); the other layers'
    edges are light gray and the regions white (override with ``color_by``,
    ``other_edges``...).  Returns the artists as :func:`plot` does.
    """
    style = {"color_by": "none", "decision": False, **style, "layer": layer}
    style.setdefault("edge_width", 2.0)
    return plot(part, ax=ax, **style)


def plot_1d(
    part1d: Any, ax: Any = None, *, layer: int = -1, outputs: Any = None, **kw: Any
) -> dict:
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
        ``breakpoint_color`` (default: by the layer that made it) and
        ``linewidth``.

    Returns
    -------
    dict
        ``"lines"`` (list of ``Line2D``, one per output), ``"breakpoints"``
        (``LineCollection`` of vertical ticks), ``"ax"``.
    """
    from matplotlib.collections import LineCollection

    unknown = sorted(set(kw) - {"breakpoint_color", "linewidth"})
    if unknown:
        raise TypeError(f"plot_1d() got unknown option(s) {unknown}")
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(7, 3.5))
    s = np.asarray(part1d.points, dtype=np.float64)
    vals = np.asarray(part1d.vertex_values(layer), dtype=np.float64).reshape(len(s), -1)
    if outputs is None:
        outputs = range(min(vals.shape[1], 10))
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
    bp = np.asarray(part1d.breakpoints, dtype=np.float64)
    lo = float(vals[:, list(outputs)].min()) if len(lines) else 0.0
    hi = float(vals[:, list(outputs)].max()) if len(lines) else 1.0
    span = hi - lo if hi > lo else 1.0
    ax.set_ylim(lo - 0.08 * span, hi + 0.05 * span)
    layers = np.asarray(getattr(part1d, "breakpoint_layer", np.zeros(len(bp))), dtype=np.int64)
    if kw.get("breakpoint_color") is not None:
        cols = np.tile(np.array(to_rgba(kw["breakpoint_color"])), (len(bp), 1))
    else:
        uniq, pos = np.unique(layers, return_inverse=True)
        cols = categorical_colors(pos, LAYER_PALETTE)
    y0, y1 = lo - 0.08 * span, hi + 0.05 * span
    segs = np.stack(
        [np.stack([bp, np.full(len(bp), y0)], 1), np.stack([bp, np.full(len(bp), y1)], 1)], 1
    )
    breaks = LineCollection(segs, colors=cols, linewidths=0.6, linestyles=":", alpha=0.8)
    ax.add_collection(breaks)
    ax.set_xlim(float(s[0]), float(s[-1]))
    ax.set_xlabel("position along the segment")
    ax.set_ylabel("output" if layer == -1 else f"layer {layer} output")
    if lines:
        ax.legend(fontsize=8)
    return {"lines": lines, "breakpoints": breaks, "ax": ax}


# --------------------------------------------------------------------------------------
# Jupyter


def repr_svg(part: Any) -> str | None:
    """SVG for Jupyter's ``_repr_svg_`` (``None`` above ``SVG_REPR_MAX_REGIONS`` regions)."""
    if int(part.num_regions) > SVG_REPR_MAX_REGIONS:
        return None
    return to_svg(part, size=400)


def repr_png(part: Any) -> bytes:
    """PNG bytes for Jupyter's ``_repr_png_``."""
    return to_png(part, None, engine="numpy", size=400)
