"""An interactive viewer: one self-contained HTML file, no server, no network.

:func:`to_html` (``part.to_html(path)``) and :func:`write_html` (a series of
partitions of one domain, with a slider over the steps) write a page that
opens from disk in any current browser.  Hovering a region shows its id, its
area, its activation pattern in every layer (counts of active units, the
full pattern on demand), the network's output and class under the pointer,
and the region's affine map.  The page pans (drag) and zooms (wheel), and
toggles each layer's edges and the decision boundary.

How it stays fast with 100 000 regions: the regions are drawn on a
``<canvas>`` by a small script (``viewer.js``, shipped with the package and
inlined into the page), the region under the pointer is found through a
uniform grid of region bounding boxes plus a point-in-convex-polygon test,
and the data are typed arrays: coordinates and affine maps as float64,
region corners as uint32, the side of each corner's edge as a layer code,
patterns of on/off layers as packed bits.  Each array is zlib-compressed
(float arrays byte-shuffled first) and base64-encoded; the browser inflates
it with ``DecompressionStream``.

Examples
--------
>>> import regionscope as rs
>>> part = rs.partition(rs.testing.tiny_cross(), rs.Box(1.0))
>>> page = to_html(part)
>>> page.startswith("<!DOCTYPE html>"), "<canvas" in page, "http" in page.split("<script")[0]
(True, True, False)
"""

from __future__ import annotations

import base64
import html
import json
import zlib
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from regionscope.geometry import decode_source

from .colors import LAYER_PALETTE, categorical_colors, to_hex
from .fills import drawn_partition
from .legend import class_labels, layer_label
from .scene import build_scene

if TYPE_CHECKING:
    from regionscope.partitions import Partition

__all__ = ["to_html", "write_html", "viewer_script", "pack_array", "VIEWER_OPTIONS"]

#: style options the viewer takes (the others are about static pictures)
VIEWER_STYLE = (
    "color_by",
    "output",
    "cmap",
    "vmin",
    "vmax",
    "fill",
    "alpha",
    "class_names",
    "layer_names",
    "mark",
    "mark_labels",
    "mark_color",
    "decision",
    "decision_color",
    "boundary",
)
#: options of the viewer itself, with their defaults
VIEWER_OPTIONS: dict[str, Any] = {"title": None, "max_outputs": 16, "compress": True}
#: affine maps and outputs are shown for at most this many outputs by default
#: (VIEWER_OPTIONS["max_outputs"]); a page holds F * outputs * 3 float64 for them
_DTYPES = {
    np.dtype("<f8"): "f8",
    np.dtype("<f4"): "f4",
    np.dtype("uint8"): "u1",
    np.dtype("<u2"): "u2",
    np.dtype("<u4"): "u4",
    np.dtype("<i4"): "i4",
}


def pack_array(arr: np.ndarray, compress: bool = True) -> dict[str, Any]:
    """One typed array for the page: dtype, length and base64 bytes.

    Parameters
    ----------
    arr : ndarray
        Of dtype float64, float32, uint8, uint16, uint32 or int32 (little
        endian); flattened in C order.
    compress : bool
        zlib-compress the bytes; 8- and 4-byte types are byte-shuffled first
        (all first bytes, then all second bytes...), which compresses floats
        better.

    Returns
    -------
    dict
        ``{"t": "f8", "n": length, "z": compressed, "s": shuffled, "b": base64}``.

    Examples
    --------
    >>> d = pack_array(np.array([1.0, 2.0]), compress=False)
    >>> d["t"], d["n"], base64.b64decode(d["b"]) == np.array([1.0, 2.0]).tobytes()
    ('f8', 2, True)
    """
    a = np.ascontiguousarray(arr).reshape(-1)
    key = _DTYPES.get(a.dtype.newbyteorder("<") if a.dtype.byteorder == ">" else a.dtype)
    if key is None:
        raise TypeError(f"pack_array: unsupported dtype {a.dtype}")
    a = a.astype(a.dtype.newbyteorder("<"), copy=False)
    raw = a.view(np.uint8)
    shuffle = compress and a.dtype.itemsize > 1 and a.dtype.kind == "f"
    if shuffle:
        raw = raw.reshape(-1, a.dtype.itemsize).T
    data = np.ascontiguousarray(raw).tobytes()
    if compress:
        data = zlib.compress(data, 6)
    return {
        "t": key,
        "n": int(a.size),
        "z": bool(compress),
        "s": bool(shuffle),
        "b": base64.b64encode(data).decode("ascii"),
    }


def _smallest_uint(values: np.ndarray) -> np.ndarray:
    """Non-negative ints in the smallest of uint8, uint16, uint32 that holds them."""
    top = int(values.max()) if values.size else 0
    for dt in ("uint8", "<u2", "<u4"):
        if top <= np.iinfo(np.dtype(dt)).max:
            return values.astype(dt)
    raise ValueError(f"values up to {top} do not fit in uint32")


def _rgb_bytes(rgba: np.ndarray) -> np.ndarray:
    """Colours ``(N, 4)`` in ``[0, 1]`` as ``(N, 4) uint8`` (alpha kept)."""
    return np.clip(np.round(rgba * 255.0), 0, 255).astype(np.uint8)


def _edge_layers(part: Partition, scene: Any) -> list[int]:
    """The layers whose edges the page can toggle: those of the scene's edge legend."""
    layer = np.asarray(part.edge_layer, dtype=np.int64)
    known = sorted(set(getattr(part, "piecewise_layers", ())) | set(layer[layer >= 0].tolist()))
    drawn: set[int] = set()
    for lines in scene.lines:
        if lines.kind == "edges" and lines.group is not None:
            drawn |= set(np.unique(lines.group).tolist())
    return [lay for lay in known if lay in drawn]


def _side_codes(part: Partition, layers: list[int]) -> np.ndarray:
    """Per corner of every region, the code of its side: ``1 + position`` in ``layers``, or 0."""
    side_layer, _ = decode_source(part.mesh.incidence_source)
    lut_keys = np.array(layers, dtype=np.int64)
    codes = np.zeros(len(side_layer), dtype=np.int64)
    if len(lut_keys):
        pos = np.searchsorted(lut_keys, side_layer)
        pos = np.minimum(pos, len(lut_keys) - 1)
        hit = lut_keys[pos] == side_layer
        codes[hit] = pos[hit] + 1
    return _smallest_uint(codes)


def _layer_color(part: Partition, layer: int) -> str:
    """The colour of ``layer``'s edges in the static pictures (palette by position)."""
    el = np.asarray(part.edge_layer, dtype=np.int64)
    known = sorted(set(getattr(part, "piecewise_layers", ())) | set(el[el >= 0].tolist()))
    return to_hex(tuple(categorical_colors([known.index(layer)], LAYER_PALETTE)[0]))


def _pattern_payload(pat: np.ndarray, compress: bool) -> dict[str, Any]:
    """A layer's patterns ``(F, k)``: packed bits (little bit order) for bool, else uints."""
    pat = np.asarray(pat)
    f = pat.shape[0]
    k = int(np.prod(pat.shape[1:])) if pat.ndim > 1 else 1
    flat = pat.reshape(f, k)
    if flat.dtype == bool:
        packed = np.packbits(flat, axis=1, bitorder="little")
        return {"kind": "bits", "units": k, "data": pack_array(packed, compress)}
    vals = flat.astype(np.int64)
    lo = int(vals.min()) if vals.size else 0
    return {
        "kind": "ints",
        "units": k,
        "offset": lo,
        "data": pack_array(_smallest_uint(vals - lo), compress),
    }


def _layers_payload(part: Partition, edge_layers: list[int], opts: dict[str, Any]) -> list[dict]:
    """Name, type, colour, toggle code and patterns of each piecewise layer."""
    out = []
    pats = part.activation_patterns()
    for lay in part.piecewise_layers:
        op = part.program.ops[lay]
        out.append(
            {
                "index": int(lay),
                "label": layer_label(part, lay, opts.get("layer_names")),
                "type": type(op.layer).__name__,
                "code": edge_layers.index(lay) + 1 if lay in edge_layers else 0,
                "color": _layer_color(part, lay),
                "pattern": _pattern_payload(pats[lay], opts["compress"]),
            }
        )
    return out


def _decision_segments(scene: Any) -> np.ndarray:
    """The decision boundary's segments ``(S, 4) float64`` (``x0, y0, x1, y1``)."""
    for lines in scene.lines:
        if lines.kind == "decision":
            return np.concatenate([lines.p0, lines.p1], axis=1)
    return np.zeros((0, 4))


def _value_scale(scene: Any) -> dict[str, Any] | None:
    vs = scene.values
    if vs is None:
        return None
    stops = np.asarray(vs.cmap(np.linspace(0.0, 1.0, 16)), dtype=np.float64)
    return {
        "label": vs.label,
        "vmin": vs.vmin,
        "vmax": vs.vmax,
        "stops": [to_hex(tuple(c[:3])) for c in stops],
    }


def _step_payload(
    part: Partition, style: dict[str, Any], opts: dict[str, Any], label: str
) -> dict[str, Any]:
    """Everything the page needs about one partition."""
    z = opts["compress"]
    scene = build_scene(part, {**style, "size": 200, "padding": 0}, "to_html")
    edge_layers = _edge_layers(part, scene)
    out_width = int(part.program.out_width)
    m = min(out_width, int(opts["max_outputs"]))
    a_maps, c_maps = part.affine_maps(-1) if m else (np.zeros((0, 0, 2)), np.zeros((0, 0)))
    offsets = np.asarray(part.region_offsets, dtype=np.int64)
    sizes = np.diff(offsets)
    marks = None
    if scene.mark_xy is not None:
        marks = {
            "xy": scene.mark_xy.tolist(),
            "labels": scene.mark_labels,
            "colors": [to_hex(tuple(c[:3])) for c in scene.mark_rgba],
        }
    classes = scene.classes
    return {
        "label": label,
        "regions": int(part.num_regions),
        "bounds": [float(v) for v in part.domain.bounds],
        "polygon": np.asarray(part.domain.polygon, dtype=np.float64).tolist(),
        "domain": repr(part.domain),
        "outputs": out_width,
        "shown_outputs": m,
        "class_names": class_labels(max(out_width, 2), style.get("class_names")),
        "colored_by_class": classes is not None,
        "legend": [
            {"label": e.label, "color": to_hex(tuple(e.color[:3]))}
            for e in scene.entries
            if e.kind == "patch"
        ],
        "values": _value_scale(scene),
        "layers": _layers_payload(part, edge_layers, {**opts, **style}),
        "marks": marks,
        "arrays": {
            "xy": pack_array(np.asarray(part.vertices, dtype="<f8"), z),
            "rv": pack_array(np.asarray(part.region_vertices).astype("<u4"), z),
            "sizes": pack_array(_smallest_uint(sizes), z),
            "side": pack_array(_side_codes(part, edge_layers), z),
            "rgba": pack_array(_rgb_bytes(scene.region_rgba), z),
            "A": pack_array(np.asarray(a_maps[:, :m], dtype="<f8"), z),
            "c": pack_array(np.asarray(c_maps[:, :m], dtype="<f8"), z),
            "decision": pack_array(_decision_segments(scene).astype("<f8"), z),
        },
    }


def viewer_script() -> str:
    """The viewer's JavaScript (``viewer.js``, package data), to inline into a page."""
    return resources.files("regionscope.render").joinpath("viewer.js").read_text("utf-8")


_CSS = """
*{box-sizing:border-box}
body{margin:0;font:13px/1.35 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#222;
background:#fafafa;height:100vh;display:flex;flex-direction:column}
header{padding:6px 12px;border-bottom:1px solid #ddd;background:#fff;display:flex;gap:16px;
align-items:center;flex-wrap:wrap}
header h1{font-size:15px;margin:0;font-weight:600}
#rs-main{flex:1;display:flex;min-height:0}
#rs-stage{flex:1;position:relative;min-width:0;background:#fff;cursor:crosshair}
#rs-stage canvas{position:absolute;left:0;top:0}
#rs-side{width:370px;overflow:auto;border-left:1px solid #ddd;padding:8px 12px;background:#fff}
#rs-side h2{font-size:12px;text-transform:uppercase;letter-spacing:.04em;color:#666;
margin:12px 0 4px}
.rs-row{display:flex;align-items:center;gap:6px;margin:2px 0}
.rs-sw{display:inline-block;width:18px;height:10px;border:1px solid #999}
.rs-line{display:inline-block;width:18px;height:0;border-top:3px solid #000}
#rs-info table{border-collapse:collapse;width:100%}
#rs-info td{padding:1px 4px;vertical-align:top}
#rs-info td:first-child{color:#666;white-space:nowrap}
#rs-info code{font-size:11px;word-break:break-all}
.rs-map{font-size:11px;font-variant-numeric:tabular-nums}
#rs-info .rs-map td,#rs-info .rs-map th{padding:0 3px;text-align:right;color:#222;
font-weight:normal}
#rs-info details{margin:2px 0}
#rs-status{color:#666}
#rs-coords{font-variant-numeric:tabular-nums;color:#444}
button{font:inherit;padding:1px 8px}
#rs-bar{height:12px;border:1px solid #999}
"""

_BODY = """<header><h1 id="rs-title">{title}</h1>
<span id="rs-steps" hidden><input id="rs-step" type="range" min="0" max="0" value="0">
<span id="rs-step-label"></span></span>
<span><button id="rs-zoom-in" title="zoom in">+</button>
<button id="rs-zoom-out" title="zoom out">&minus;</button>
<button id="rs-fit" title="fit the domain (or double-click)">fit</button></span>
<span id="rs-coords"></span><span id="rs-status">loading&hellip;</span></header>
<div id="rs-main"><div id="rs-stage"><canvas id="rs-canvas"></canvas>
<canvas id="rs-hover"></canvas></div>
<div id="rs-side"><div id="rs-domain"></div>
<h2>Show</h2><div id="rs-toggles"></div>
<div id="rs-legend"></div>
<h2>Region under the pointer</h2><div id="rs-info">Move the pointer over the regions.</div>
<h2>Controls</h2><div>Drag to pan, wheel to zoom, double-click to fit.</div></div></div>
"""


def _check_same_domain(partitions: Sequence[Any]) -> None:
    first = partitions[0]
    for i, part in enumerate(partitions):
        if getattr(part.domain, "dim", 2) != 2 or not hasattr(part, "mesh"):
            raise TypeError(
                f"partitions[{i}] is not a 2-D partition; the viewer shows 2-D partitions "
                "(draw a 1-D one with to_png or plot)"
            )
        same = type(part.domain) is type(first.domain) and np.allclose(
            part.domain.polygon, first.domain.polygon, rtol=0.0, atol=0.0
        )
        if not same:
            raise ValueError(
                f"partitions must share one domain: partitions[{i}] is on {part.domain!r}, "
                f"partitions[0] on {first.domain!r}"
            )


def _split_options(options: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Style options and viewer options, unknown names refused."""
    unknown = sorted(set(options) - set(VIEWER_STYLE) - set(VIEWER_OPTIONS))
    if unknown:
        raise TypeError(
            f"to_html() got unknown option(s) {unknown}; known: "
            f"{sorted(VIEWER_STYLE + tuple(VIEWER_OPTIONS))}"
        )
    style = {k: v for k, v in options.items() if k in VIEWER_STYLE}
    opts = {**VIEWER_OPTIONS, **{k: v for k, v in options.items() if k in VIEWER_OPTIONS}}
    mo = opts["max_outputs"]
    if isinstance(mo, bool) or not isinstance(mo, (int, np.integer)) or mo < 0:
        raise ValueError(f"max_outputs must be an int >= 0, got {mo!r}")
    return style, opts


def _shared_value_range(partitions: Sequence[Any], style: dict[str, Any]) -> dict[str, Any]:
    """For a series coloured by values: one colour range over all steps (unless given)."""
    if len(partitions) < 2 or style.get("color_by", "pattern") in ("pattern", "class", "none"):
        return style
    if callable(style.get("color_by")) or (
        style.get("vmin") is not None and style.get("vmax") is not None
    ):
        return style
    lo, hi = np.inf, -np.inf
    for part in partitions:
        scene = build_scene(part, {**style, "size": 50, "padding": 0}, "write_html")
        if scene.values is not None:
            lo, hi = min(lo, scene.values.vmin), max(hi, scene.values.vmax)
    if not np.isfinite([lo, hi]).all():
        return style
    return {"vmin": lo, "vmax": hi, **{k: v for k, v in style.items() if v is not None}}


def write_html(
    partitions: Sequence[Partition],
    path: str | Path | None = None,
    steps: Sequence[Any] | None = None,
    **options: Any,
) -> str:
    """Write an interactive page of one or several partitions of one domain.

    Parameters
    ----------
    partitions : sequence of Partition
        2-D partitions of the same domain (a timeline: the same network
        during training, say).  With more than one, the page has a slider
        over them.
    path : str or Path, optional
        File to write (UTF-8).
    steps : sequence, optional
        A label for each partition (``str()`` of each; default ``"0"``,
        ``"1"``...), shown next to the slider.
    **options
        Style options ``color_by``, ``output``, ``cmap``, ``vmin``, ``vmax``,
        ``fill``, ``alpha``, ``class_names``, ``layer_names``, ``mark``,
        ``mark_labels``, ``mark_color``, ``decision``, ``decision_color``,
        ``boundary`` (see :mod:`regionscope.render.style`; a series coloured
        by values shares one range), and ``title`` (the page's heading),
        ``max_outputs`` (outputs whose values and affine maps are shown,
        default 16), ``compress`` (default True; False writes raw base64
        for browsers without ``DecompressionStream``).

    Returns
    -------
    str
        The HTML page: one file with the data and the script inlined; it
        loads nothing from the network.

    Raises
    ------
    TypeError, ValueError
        For an empty list, a 1-D partition, partitions on different
        domains, a wrong number of ``steps`` or an unknown option.

    Examples
    --------
    >>> import regionscope as rs
    >>> a = rs.partition(rs.testing.tiny_cross(), rs.Box(1.0))
    >>> page = write_html([a, a], steps=["before", "after"], title="two steps")
    >>> '"label":"after"' in page, "<title>two steps</title>" in page
    (True, True)
    """
    parts = [drawn_partition(p, options) for p in partitions]
    if not parts:
        raise ValueError("partitions must hold at least one partition")
    _check_same_domain(parts)
    labels = [str(i) for i in range(len(parts))] if steps is None else [str(s) for s in steps]
    if len(labels) != len(parts):
        raise ValueError(f"steps has {len(labels)} labels for {len(parts)} partitions")
    style, opts = _split_options(options)
    style = _shared_value_range(parts, style)
    data = {
        "version": 1,
        "title": opts["title"],
        "steps": [
            _step_payload(p, style, opts, lab) for p, lab in zip(parts, labels, strict=True)
        ],
    }
    text = _page(data, opts["title"])
    if path is not None:
        Path(path).write_text(text, encoding="utf-8")
    return text


def _page(data: dict[str, Any], title: Any) -> str:
    """The page: styles, body, the data as JSON, the viewer script."""
    heading = html.escape(str(title)) if title else "regionscope viewer"
    payload = json.dumps(data, separators=(",", ":"), allow_nan=False).replace("</", "<\\/")
    script = viewer_script().replace("</script", "<\\/script")
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{heading}</title>\n<style>{_CSS}</style></head>\n<body>\n"
        + _BODY.format(title=heading)
        + f'<script type="application/json" id="rs-data">{payload}</script>\n'
        + f"<script>\n{script}\n</script>\n</body></html>\n"
    )


def to_html(part: Partition, path: str | Path | None = None, **options: Any) -> str:
    """Write an interactive page of one partition (see :func:`write_html` for the options).

    Parameters
    ----------
    part : Partition
        A 2-D partition.
    path : str or Path, optional
        File to write.
    **options
        As for :func:`write_html`.

    Returns
    -------
    str
        The page.
    """
    return write_html([part], path, None, **options)
