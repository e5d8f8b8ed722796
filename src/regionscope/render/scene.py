"""The scene: a style resolved once into what every back end draws.

:func:`build_scene` checks the style options (:mod:`.style`), fits the domain
into the picture (:func:`place_domain`), picks one colour per region
(:mod:`.fills`), sorts the mesh edges into drawing passes (:class:`Lines`:
other layers' edges, edges, domain boundary, decision boundary) and reads the
marks.  The SVG, PNG and matplotlib back ends draw the resulting
:class:`Scene`; the SVG axes are ticked with :func:`nice_ticks`.

Geometry is honest: ``y`` points up, the aspect ratio of the domain is kept
(the domain is centred in the picture when ``size`` has another aspect).

Examples
--------
>>> import regionscope as rs
>>> part = rs.partition(rs.Sequential(rs.Linear([[1.0, 0.0]]), rs.ReLU()), rs.Box(1.0))
>>> scene = build_scene(part, {"size": (200, 100), "padding": 0}, "example")
>>> scene.width, scene.height, scene.scale       # the 2 x 2 box, centred
(200, 100, 50.0)
>>> scene.px(np.array([[0.0, 0.0], [1.0, 1.0]])).tolist()
[[100.0, 50.0], [150.0, 0.0]]
>>> [lines.kind for lines in scene.lines]
['edges', 'boundary']
>>> nice_ticks(-1.0, 1.0).tolist()
[-1.0, -0.5, 0.0, 0.5, 1.0]
"""

from __future__ import annotations

import dataclasses
import math
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from regionscope.geometry.arrays import mix64

from .colors import LAYER_PALETTE, RGBA, categorical_colors, hash_colors, to_rgba
from .decor import Decor, decor_items, decor_margins, legend_size, nice_ticks, tick_text
from .fills import ClassScale, ValueScale, class_colors, resolve_fill
from .legend import MAX_CLASS_ENTRIES, Entry, class_labels, layer_label
from .overlay import Item
from .style import check_int_option, check_style

if TYPE_CHECKING:
    from regionscope.partitions import Partition

__all__ = [
    "DEFAULT_WIDTH",
    "Frame",
    "Lines",
    "Scene",
    "build_scene",
    "line_widths",
    "nice_ticks",
    "picture_size",
    "place_domain",
    "tick_text",
]

#: picture width in pixels when ``size`` is not given
DEFAULT_WIDTH = 600
#: padding in pixels when ``padding`` is not given
DEFAULT_PADDING = 4
#: extra room (left, right, top, bottom) in pixels for the tick labels of ``axes=True``
AXES_MARGINS = (58, 12, 8, 30)
#: decorations (legend, colour bar, axis names, title, axes) are left out while the domain
#: would get less than this fraction of the picture's smaller side
MIN_DOMAIN_FRACTION = 0.4
#: largest picture side in pixels (bounds the memory of the rasteriser)
MAX_PICTURE_SIDE = 20000
#: default edge width is this times the side (in pixels) of an average region ...
EDGE_WIDTH_PER_REGION_SIDE = 0.2
#: ... clipped to this range of pixels
EDGE_WIDTH_RANGE = (0.35, 1.2)


# --------------------------------------------------------------------------------------
# the scene


@dataclasses.dataclass
class Lines:
    """Segments of one drawing pass, in one width.

    Attributes
    ----------
    p0, p1 : (M, 2) float64
        End points of the segments, domain coordinates.
    colors : (M, 4) float64
        RGBA of each segment.
    width : float
        Line width in pixels.
    kind : str
        ``"other"`` (other layers' edges when ``layer`` is set), ``"edges"``,
        ``"boundary"`` or ``"decision"``.
    legend : list of (str, RGBA)
        Legend entries of this pass (one per layer of ``group`` when set).
    group : (M,) int64, optional
        Layer of each segment, for one artist per layer.
    """

    p0: np.ndarray
    p1: np.ndarray
    colors: np.ndarray
    width: float
    kind: str
    legend: list[tuple[str, RGBA]]
    group: np.ndarray | None = None


@dataclasses.dataclass
class Scene:
    """Everything a back end draws, in domain coordinates with the pixel frame.

    Attributes
    ----------
    width, height : int
        Picture size in pixels.
    scale, x0, y0 : float
        The pixel frame: domain point ``(x, y)`` is at pixel
        ``(x0 + scale * x, y0 - scale * y)`` (see :meth:`px`).
    bounds : (float, float, float, float)
        ``(xmin, xmax, ymin, ymax)`` of the domain.
    region_rgba : (F, 4) float64
        Fill colour of each region.
    values : ValueScale or None
        The value scale when regions are coloured by values (for a colour bar).
    lines : list of Lines
        Drawing passes, in drawing order.
    vertex_xy : (V, 2) float64 or None
        Vertices to draw as dots.
    vertex_rgba : RGBA
    vertex_size : float
        Dot diameter in pixels.
    mark_xy : (N, 2) float64 or None
        Marked points, domain coordinates.
    mark_rgba : (N, 4) float64 or None
    mark_labels : list of str or None
    mark_size : float
        Mark diameter in pixels.
    axes : bool
        Whether to draw a frame with ticks.
    background : RGBA
    precision : int
        SVG coordinate decimals.
    classes : ClassScale or None
        The region classes when regions are coloured by class.
    entries : list of Entry
        Every legend entry the picture could show (classes, edge layers or
        units, decision boundary), whether or not ``legend`` is on.
    overlay : list of Item
        Axes, title, colour bar and legend, in pixels (:mod:`.overlay`,
        placed by :func:`~.decor.decor_items`).
    title : str or None
    """

    width: int
    height: int
    scale: float
    x0: float
    y0: float
    bounds: tuple[float, float, float, float]
    region_rgba: np.ndarray
    values: ValueScale | None
    lines: list[Lines]
    vertex_xy: np.ndarray | None
    vertex_rgba: RGBA
    vertex_size: float
    mark_xy: np.ndarray | None
    mark_rgba: np.ndarray | None
    mark_labels: list[str] | None
    mark_size: float
    axes: bool
    background: RGBA
    precision: int
    classes: ClassScale | None = None
    entries: list[Entry] = dataclasses.field(default_factory=list)
    overlay: list[Item] = dataclasses.field(default_factory=list)
    title: str | None = None

    def px(self, xy: np.ndarray) -> np.ndarray:
        """Pixel coordinates ``(N, 2) float64`` (y down) of domain points ``(N, 2)``."""
        xy = np.asarray(xy, dtype=np.float64)
        return np.stack([self.x0 + self.scale * xy[:, 0], self.y0 - self.scale * xy[:, 1]], 1)


class Frame(NamedTuple):
    """Where the domain lies in the picture: see :func:`place_domain`."""

    width: int
    height: int
    scale: float
    x0: float
    y0: float


def picture_size(
    size: Any, bounds: tuple[float, float, float, float], pad: tuple[int, int, int, int]
) -> tuple[int, int]:
    """The picture's ``(width, height)`` in pixels.

    Parameters
    ----------
    size : None, int or (int, int)
        ``None`` (:data:`DEFAULT_WIDTH`), a width (the height follows the
        domain's aspect ratio) or ``(width, height)``.
    bounds : (float, float, float, float)
        ``(xmin, xmax, ymin, ymax)`` of the domain.
    pad : (int, int, int, int)
        Padding ``(left, right, top, bottom)`` in pixels.

    Raises
    ------
    ValueError
        When ``size`` is malformed, leaves less than 2 pixels for the domain
        or exceeds :data:`MAX_PICTURE_SIDE`.

    Examples
    --------
    >>> picture_size(300, (0.0, 2.0, 0.0, 1.0), (4, 4, 4, 4))
    (300, 154)
    >>> picture_size((80, 60), (0.0, 2.0, 0.0, 1.0), (0, 0, 0, 0))
    (80, 60)
    """
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
    if (
        w - left - right < 2
        or h - top - bottom < 2
        or w > MAX_PICTURE_SIDE
        or h > MAX_PICTURE_SIDE
    ):
        raise ValueError(
            f"size must leave at least 2 pixels for the domain and be at most "
            f"{MAX_PICTURE_SIDE}, got ({w}, {h}) with padding {pad}"
        )
    return w, h


def place_domain(
    size: Any,
    bounds: tuple[float, float, float, float],
    padding: Any,
    axes: bool,
    extra: tuple[int, int, int, int] = (0, 0, 0, 0),
    min_height: int = 0,
) -> Frame:
    """Fit the domain into the picture: as large as the padding allows, centred.

    Parameters
    ----------
    size : None, int or (int, int)
        The ``size`` style option (see :func:`picture_size`).
    bounds : (float, float, float, float)
        ``(xmin, xmax, ymin, ymax)`` of the domain.
    padding : None or int
        Pixels around the domain (``None``: :data:`DEFAULT_PADDING`); with
        ``axes`` the :data:`AXES_MARGINS` are added for the tick labels.
    axes : bool
    extra : (int, int, int, int)
        More pixels ``(left, right, top, bottom)`` around the domain (for
        the title, the legend...; see :func:`~.decor.decor_margins`).
    min_height : int
        The picture is at least this high when its height follows the
        domain (a tall legend), pixels.

    Returns
    -------
    Frame
        ``(width, height, scale, x0, y0)``: domain point ``(x, y)`` is at
        pixel ``(x0 + scale * x, y0 - scale * y)``.

    Examples
    --------
    >>> place_domain((400, 400), (0.0, 2.0, 0.0, 1.0), 0, False)
    Frame(width=400, height=400, scale=200.0, x0=0.0, y0=300.0)
    """
    pad = DEFAULT_PADDING if padding is None else padding
    pad = int(pad)
    if pad < 0:
        raise ValueError(f"padding must be >= 0, got {pad}")
    base = tuple(pad + m for m in AXES_MARGINS) if axes else (pad, pad, pad, pad)
    pads = tuple(int(b + e) for b, e in zip(base, extra, strict=True))
    w, h = picture_size(size, bounds, pads)
    if size is None or isinstance(size, (int, np.integer)):
        h = min(max(h, int(min_height)), MAX_PICTURE_SIDE)
    xmin, xmax, ymin, ymax = bounds
    left, right, top, bottom = pads
    scale = min((w - left - right) / (xmax - xmin), (h - top - bottom) / (ymax - ymin))
    cx = left + 0.5 * (w - left - right)
    cy = top + 0.5 * (h - top - bottom)
    return Frame(w, h, scale, cx - scale * 0.5 * (xmin + xmax), cy + scale * 0.5 * (ymin + ymax))


def line_widths(
    edge_width: Any, boundary_width: Any, decision_width: Any, region_px_area: float
) -> tuple[float, float, float]:
    """Line widths in pixels ``(edges, boundary, decision)`` from the style options.

    Parameters
    ----------
    edge_width, boundary_width : float or None
        ``None``: the edge width follows the density of regions
        (:data:`EDGE_WIDTH_PER_REGION_SIDE` times the side of an average
        region, within :data:`EDGE_WIDTH_RANGE`), the boundary is 1.5 times
        as wide (at least 1 pixel).
    decision_width : float
    region_px_area : float
        Average area of a region in square pixels.

    Raises
    ------
    ValueError
        When a width is not a finite number ``>= 0``.

    Examples
    --------
    >>> line_widths(None, None, 2.5, 25.0)    # regions of 5 x 5 pixels
    (1.0, 1.5, 2.5)
    >>> line_widths(None, None, 2.5, 1e6)[0], line_widths(0.5, 3, 0, 1.0)
    (1.2, (0.5, 3.0, 0.0))
    """
    lo, hi = EDGE_WIDTH_RANGE
    ew = (
        float(np.clip(EDGE_WIDTH_PER_REGION_SIDE * math.sqrt(region_px_area), lo, hi))
        if edge_width is None
        else float(edge_width)
    )
    bw = max(1.5 * ew, 1.0) if boundary_width is None else float(boundary_width)
    dw = float(decision_width)
    for name, val in (("edge_width", ew), ("boundary_width", bw), ("decision_width", dw)):
        if not (math.isfinite(val) and val >= 0):
            raise ValueError(f"{name} must be a finite number >= 0, got {val}")
    return ew, bw, dw


def _selected_layer(part: Partition, sel: Any) -> int | None:
    """The ``layer`` style option, checked against the partition's piecewise layers."""
    if sel is None:
        return None
    check_int_option(sel, "layer", "an int layer index")
    layers_known = tuple(getattr(part, "piecewise_layers", ()))
    if int(sel) not in layers_known:
        raise ValueError(
            f"layer={sel} is not a piecewise layer of this partition; piecewise layers: "
            f"{list(layers_known)}"
        )
    return sel


def _neuron_colors(layer: np.ndarray, neuron: np.ndarray, categorical: bool) -> np.ndarray:
    """Colours ``(M, 4)`` of edges by unit: palette colours, or hashed ``(layer, neuron)``."""
    if categorical:
        return categorical_colors(neuron, LAYER_PALETTE)
    key = (layer.astype(np.uint64) << np.uint64(32)) ^ neuron.astype(np.uint64)
    return hash_colors(mix64(key), saturation=(0.6, 0.9), lightness=(0.28, 0.48))


def _palette_color(i: int) -> RGBA:
    """Colour ``i`` of the layer palette, as a legend wants it."""
    return tuple(categorical_colors([i], LAYER_PALETTE)[0])  # type: ignore[return-value]


def _edge_colors(
    part: Partition,
    mode: str,
    layer: np.ndarray,
    neuron: np.ndarray,
    sel: int | None,
    edge_rgba: RGBA | None,
    names: Any = None,
) -> tuple[np.ndarray, list[tuple[str, RGBA]], np.ndarray | None]:
    """Colours ``(M, 4)``, legend entries and layer groups of edges.

    ``layer`` and ``neuron`` are ``(M,) int64`` (what made each edge); ``mode``
    is ``"layer"``, ``"neuron"`` or ``"color"`` (all in ``edge_rgba``);
    ``names`` is the ``layer_names`` option.
    """
    legend: list[tuple[str, RGBA]] = []
    if mode == "layer":
        known = sorted(set(getattr(part, "piecewise_layers", ())) | set(layer.tolist()))
        cols = categorical_colors(np.searchsorted(np.array(known), layer), LAYER_PALETTE)
        for i, lay in enumerate(known):
            if (layer == lay).any():
                legend.append((layer_label(part, lay, names), _palette_color(i)))
        return cols, legend, layer
    if mode == "neuron":
        cols = _neuron_colors(layer, neuron, sel is not None)
        if sel is not None:
            legend = [(f"neuron {n}", _palette_color(n)) for n in np.unique(neuron).tolist()]
        return cols, legend, None
    return np.tile(np.array(edge_rgba), (len(layer), 1)), legend, None


def _uniform_lines(
    verts: np.ndarray,
    edges: np.ndarray,
    mask: np.ndarray,
    rgba: RGBA,
    width: float,
    kind: str,
    legend: list[tuple[str, RGBA]],
) -> Lines:
    """The edges in ``mask`` ``(E,) bool``, all in one colour."""
    idx = np.flatnonzero(mask)
    rows = np.tile(np.array(rgba), (len(idx), 1))
    return Lines(verts[edges[idx, 0]], verts[edges[idx, 1]], rows, width, kind, legend)


def _edge_lines(
    part: Partition,
    st: dict[str, Any],
    verts: np.ndarray,
    edges: np.ndarray,
    decision: np.ndarray,
    width: float,
    other_rgba: RGBA,
) -> list[Lines]:
    """The interior edges that are not decision edges: ``"other"`` and ``"edges"`` passes."""
    e_layer = np.asarray(part.edge_layer, dtype=np.int64)
    e_neuron = np.asarray(part.edge_neuron, dtype=np.int64)
    edges_spec = st["edges"]
    sel = _selected_layer(part, st["layer"])
    if sel is not None and edges_spec == "layer":
        edges_spec = "neuron"
    lines: list[Lines] = []
    normal = (e_layer >= 0) & ~decision
    if sel is not None:
        others = normal & (e_layer != sel)
        normal = normal & (e_layer == sel)
        if others.any() and other_rgba[3] > 0:
            lines.append(_uniform_lines(verts, edges, others, other_rgba, width, "other", []))
    edge_rgba = None
    if isinstance(edges_spec, str) and edges_spec in ("layer", "neuron", "none"):
        mode = edges_spec
    else:
        mode = "color"
        edge_rgba = to_rgba(edges_spec)
    if mode != "none" and normal.any():
        idx = np.flatnonzero(normal)
        cols, legend, group = _edge_colors(
            part, mode, e_layer[idx], e_neuron[idx], sel, edge_rgba, st["layer_names"]
        )
        p0, p1 = verts[edges[idx, 0]], verts[edges[idx, 1]]
        lines.append(Lines(p0, p1, cols, width, "edges", legend, group))
    return lines


def _single_output(part: Partition) -> bool:
    """A partition of a network with one output and a way to cut its zero set."""
    program = getattr(part, "program", None)
    return (
        program is not None
        and program.out_width == 1
        and hasattr(part, "decision_segments")
        and len(getattr(part, "piecewise_layers", ())) > 0
    )


def _decision_lines(
    part: Partition,
    st: dict[str, Any],
    verts: np.ndarray,
    edges: np.ndarray,
    decision: np.ndarray,
    width: float,
    rgba: RGBA,
) -> list[Lines]:
    """The decision boundary: its edges, or a one-logit output's zero set (or nothing)."""
    legend = [("decision boundary", rgba)]
    if decision.any():
        return [_uniform_lines(verts, edges, decision, rgba, width, "decision", legend)]
    if st["decision"] and _single_output(part):
        # a one-logit classifier: its decision is where the output changes sign
        segs = np.asarray(part.decision_segments(0), dtype=np.float64).reshape(-1, 2, 2)
        if len(segs):
            rows = np.tile(np.array(rgba), (len(segs), 1))
            return [Lines(segs[:, 0], segs[:, 1], rows, width, "decision", legend)]
    return []


def _scene_lines(
    part: Partition, st: dict[str, Any], widths: tuple[float, float, float]
) -> list[Lines]:
    """All drawing passes, in order: other layers' edges, edges, boundary, decision."""
    ew, bw, dw = widths
    verts = np.asarray(part.vertices, dtype=np.float64)
    edges = np.asarray(part.edges, dtype=np.int64).reshape(-1, 2)
    interior = np.asarray(part.edge_layer, dtype=np.int64) >= 0
    rgba_b = to_rgba(st["boundary_color"])
    rgba_d = to_rgba(st["decision_color"])
    other_rgba = to_rgba(st["other_edges"])
    decision = np.zeros(len(edges), dtype=bool)
    if st["decision"]:
        decision = np.asarray(part.decision_boundary(), dtype=bool) & interior
    lines = _edge_lines(part, st, verts, edges, decision, ew, other_rgba)
    if st["boundary"]:
        poly = np.asarray(part.domain.polygon, dtype=np.float64)
        rows = np.tile(np.array(rgba_b), (len(poly), 1))
        lines.append(Lines(poly, np.roll(poly, -1, axis=0), rows, bw, "boundary", []))
    lines.extend(_decision_lines(part, st, verts, edges, decision, dw, rgba_d))
    return lines


def _projected_marks(domain: Any, mark: Any) -> np.ndarray:
    """Marks ``(N, 2) float64`` in domain coordinates (inputs of a Plane are projected)."""
    arr = np.asarray(mark, dtype=np.float64)
    if hasattr(domain, "to_plane") and arr.ndim >= 1 and arr.size % domain.input_dim == 0:
        shapes = (tuple(domain.input_shape), (domain.input_dim,))
        if arr.shape[1:] in shapes or arr.shape in shapes:
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
    return arr


def _mark_points(
    part: Partition, st: dict[str, Any]
) -> tuple[np.ndarray, list[str] | None] | None:
    """The ``mark`` option: points ``(N, 2) float64`` and their labels, or ``None``."""
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
        xy = _projected_marks(domain, mark)
    if labels is not None:
        labels = [str(v) for v in labels]
        if len(labels) != len(xy):
            raise ValueError(f"mark_labels has {len(labels)} labels for {len(xy)} marks")
    return xy, labels


def _mark_colors(spec: Any, n: int) -> np.ndarray:
    """Colours ``(n, 4) float64`` of ``n`` marks: one colour, ``n`` colours or class labels."""
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


def _check_precision(precision: Any) -> int:
    """The ``precision`` option: an int in ``0..6``."""
    check_int_option(precision, "precision", "an int")
    if not 0 <= precision <= 6:
        raise ValueError(f"precision must be between 0 and 6, got {precision}")
    return int(precision)


def _class_entries(part: Partition, st: dict[str, Any], classes: ClassScale) -> list[Entry]:
    """Legend entries of a class colouring: every class, or those present when there are many."""
    names = class_labels(classes.num_classes, st["class_names"])
    if classes.num_classes <= MAX_CLASS_ENTRIES:
        shown = np.arange(classes.num_classes)
    else:
        shown = np.unique(classes.classes)[:MAX_CLASS_ENTRIES]
    rgba = class_colors(shown)
    rgba[:, 3] *= float(st["alpha"])
    return [
        Entry(names[c], tuple(rgba[i]), "patch", section="classes")  # type: ignore[arg-type]
        for i, c in enumerate(shown.tolist())
    ]


def _legend_entries(
    part: Partition, st: dict[str, Any], lines: list[Lines], classes: ClassScale | None
) -> list[Entry]:
    """Every entry a legend of the picture may show: classes, edges, decision boundary."""
    entries = _class_entries(part, st, classes) if classes is not None else []
    for lines_ in lines:
        if lines_.kind == "other":
            entries.append(Entry("other layers", tuple(lines_.colors[0]), section="edges"))
        elif lines_.kind == "edges":
            entries += [Entry(label, color, section="edges") for label, color in lines_.legend]
        elif lines_.kind == "decision":
            entries += [Entry(lab, col, width=3.0, section="other") for lab, col in lines_.legend]
    return entries


def _axis_labels(part: Partition, spec: Any) -> tuple[str, str] | None:
    """The ``axis_labels`` option: ``None`` (by domain), ``False`` (none) or two strings."""
    if spec is False:
        return None
    if spec is None:
        if hasattr(part.domain, "to_plane"):
            return ("plane coordinate 1", "plane coordinate 2")
        return ("input 0", "input 1")
    if isinstance(spec, str) or len(spec) != 2:
        raise ValueError(f"axis_labels must be two strings (x, y) or False, got {spec!r}")
    return (str(spec[0]), str(spec[1]))


def _decor(
    part: Partition, st: dict[str, Any], entries: list[Entry], values: ValueScale | None
) -> Decor:
    """What surrounds the domain: the title, legend, colour bar and axes options resolved."""
    legend = bool(st["legend"])
    colorbar = legend if st["colorbar"] is None else bool(st["colorbar"])
    title = None if st["title"] is None else str(st["title"])
    axes = bool(st["axes"])
    return Decor(
        title=title or None,
        entries=entries if legend else [],
        values=values if colorbar else None,
        axes=axes,
        axis_labels=_axis_labels(part, st["axis_labels"]) if axes else None,
    )


def _set_widths(lines: list[Lines], widths: tuple[float, float, float]) -> None:
    """Give each drawing pass its width ``(edges, boundary, decision)``, in place."""
    by_kind = {"other": widths[0], "edges": widths[0], "boundary": widths[1]}
    for lines_ in lines:
        lines_.width = by_kind.get(lines_.kind, widths[2])


def _fit_decor(
    st: dict[str, Any], decor: Decor, bounds: tuple[float, float, float, float]
) -> tuple[Frame, Decor, int]:
    """The frame with room for the decorations, leaving out those that do not fit.

    When the domain would get less than :data:`MIN_DOMAIN_FRACTION` of the
    picture's smaller side (or no room at all), the legend, colour bar, axis
    names, title and axes are dropped, in that order, until it fits.
    """
    pad = DEFAULT_PADDING if st["padding"] is None else int(st["padding"])
    drops = ("entries", "values", "axis_labels", "title", "axes")
    for k in range(len(drops) + 1):
        extra = decor_margins(decor)
        top = pad + extra[2] + (AXES_MARGINS[2] if decor.axes else 0)
        min_h = top + legend_size(decor.entries)[1] + pad
        try:
            frame = place_domain(st["size"], bounds, st["padding"], decor.axes, extra, min_h)
        except ValueError:
            if k == len(drops) or not _has_decor(decor):
                raise
            frame = None
        if frame is not None:
            side = frame.scale * min(bounds[1] - bounds[0], bounds[3] - bounds[2])
            small = side < MIN_DOMAIN_FRACTION * min(frame.width, frame.height)
            if not small or k == len(drops) or not _has_decor(decor):
                return frame, decor, top
        name = drops[k]
        left_out = {"entries": [], "axes": False}.get(name)
        decor = dataclasses.replace(decor, **{name: left_out})
    raise AssertionError("unreachable")  # pragma: no cover: the last pass returns or raises


def _has_decor(decor: Decor) -> bool:
    return bool(decor.entries or decor.values or decor.axis_labels or decor.title or decor.axes)


def _frame_and_overlay(
    st: dict[str, Any], decor: Decor, bounds: tuple[float, float, float, float]
) -> tuple[Frame, Decor, list[Item]]:
    """The pixel frame, the decorations that fit, and those placed around the domain."""
    frame, decor, top = _fit_decor(st, decor, bounds)
    pad = DEFAULT_PADDING if st["padding"] is None else int(st["padding"])
    xmin, xmax, ymin, ymax = bounds
    box = (
        frame.x0 + frame.scale * xmin,
        frame.y0 - frame.scale * ymax,
        frame.x0 + frame.scale * xmax,
        frame.y0 - frame.scale * ymin,
    )
    room = (top, frame.height - pad, frame.width)
    return frame, decor, decor_items(decor, box, bounds, room)


def build_scene(part: Partition, style: dict[str, Any], where: str) -> Scene:
    """Resolve a style into the :class:`Scene` of a 2-D partition.

    Parameters
    ----------
    part : Partition
    style : dict
        Style options (see the module docstring); unknown ones raise.
    where : str
        Name of the calling function, for error messages.

    Returns
    -------
    Scene

    Raises
    ------
    TypeError, ValueError
        For unknown or malformed style options.
    """
    st = check_style(style, where)
    bounds = tuple(float(v) for v in part.domain.bounds)
    rgba, info = resolve_fill(part, st)
    values = info if isinstance(info, ValueScale) else None
    classes = info if isinstance(info, ClassScale) else None
    lines = _scene_lines(part, st, (0.0, 0.0, 0.0))
    entries = _legend_entries(part, st, lines, classes)
    decor = _decor(part, st, entries, values)
    frame, decor, overlay = _frame_and_overlay(st, decor, bounds)  # type: ignore[arg-type]
    px_area = part.domain.area * frame.scale * frame.scale / max(int(part.num_regions), 1)
    widths = line_widths(st["edge_width"], st["boundary_width"], st["decision_width"], px_area)
    _set_widths(lines, widths)
    marks = _mark_points(part, st)
    mark_xy = mark_rgba = mark_labels = None
    if marks is not None:
        mark_xy, mark_labels = marks
        mark_rgba = _mark_colors(st["mark_color"], len(mark_xy))
    precision = _check_precision(st["precision"])
    return Scene(
        width=frame.width,
        height=frame.height,
        scale=frame.scale,
        x0=frame.x0,
        y0=frame.y0,
        bounds=bounds,  # type: ignore[arg-type]
        region_rgba=rgba,
        values=values,
        lines=lines,
        vertex_xy=np.asarray(part.vertices, dtype=np.float64) if st["vertices"] else None,
        vertex_rgba=to_rgba(st["vertex_color"]),
        vertex_size=float(st["vertex_size"]),
        mark_xy=mark_xy,
        mark_rgba=mark_rgba,
        mark_labels=mark_labels,
        mark_size=float(st["mark_size"]),
        axes=decor.axes,
        background=to_rgba(st["background"]),
        precision=precision,
        classes=classes,
        entries=entries,
        overlay=overlay,
        title=decor.title,
    )
