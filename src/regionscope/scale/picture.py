"""Draw a tiled partition tile by tile into one raster, equal to the whole partition's PNG.

The picture of the whole domain is what :func:`regionscope.render.to_png`
draws with the NumPy engine: regions filled by pixel centres, then line
passes (other layers' edges, edges, the domain's boundary, the decision
boundary), each composited by box-filter coverage, then vertices and marks.
Here every tile draws its own part on a worker, in the pixel frame of the
whole picture, with the style resolved once for the whole domain (line
widths from the whole partition's density, colour ranges over all regions,
values at the regions' global centroids):

* fills: the pixels whose centres lie in the tile's regions;
* lines: the coverage of the tile's edges that do not touch an inner
  border, summed per pass (sums add up across tiles exactly as one pass);
* *pieces*: the edges that end on an inner border.  The client joins the
  pieces of one edge of the whole partition (those meeting at a border point
  that is not a vertex, :mod:`.stitch`) into one segment, with the edges that
  lie along a border, and draws them once.

Only :mod:`regionscope.render`'s public functions draw (:func:`build_scene`,
:func:`fill_spans`, :func:`line_coverage`, :func:`disc_coverage`,
:func:`blend`).  Text (axes, title, legend, colour bar, mark labels) needs
the whole scene and is refused.

Examples
--------
>>> import numpy as np
>>> import regionscope as rs
>>> from regionscope.scale import partition_tiles
>>> net = rs.Sequential(rs.Linear([[1.0, 0.3], [-0.2, 1.0]], [0.1, -0.2]), rs.ReLU())
>>> tiled = partition_tiles(net, rs.Box(1.0), tiles=3, client="serial")
>>> whole = rs.partition(net, rs.Box(1.0))
>>> np.array_equal(tiled.raster(size=(120, 96)), rs.render.raster.rasterize(
...     whole, rs.render.scene.build_scene(whole, {"size": (120, 96)}, "to_png")))
True
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from regionscope.geometry.arrays import components
from regionscope.geometry.mesh import BOUNDARY, Mesh, encode_source
from regionscope.partitions import Partition

from .engine import Engine, snapshot_settings, with_settings
from .grid import SCALE_KEYS, tile_partition, tile_tolerance
from .stitch import border_points

__all__ = ["render_tiles", "render_tile", "PASSES", "REFUSED_STYLE"]

#: the line passes of a picture, in drawing order
PASSES = ("other", "edges", "boundary", "decision")
#: style options that need the whole scene (text); refused for tiled pictures
REFUSED_STYLE = ("axes", "title", "legend", "colorbar", "mark_labels")


def _lookup(table: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Index in ``table (K, 2)`` of each of ``points (N, 2)`` (exact coordinates), or -1."""
    if not len(table) or not len(points):
        return np.full(len(points), -1, dtype=np.int64)
    keys = table[:, 0] + 1j * table[:, 1]
    order = np.argsort(keys)
    want = points[:, 0] + 1j * points[:, 1]
    pos = np.minimum(np.searchsorted(keys[order], want), len(keys) - 1)
    hit = keys[order][pos] == want
    return np.where(hit, order[pos], -1)


def _sums(pix: np.ndarray, weight: np.ndarray, rgb: np.ndarray) -> tuple[np.ndarray, ...]:
    """Per touched pixel: ``(pixels, sum of weights, sum of weighted colours (P, 3))``."""
    upix, inv = np.unique(pix, return_inverse=True)
    inv = inv.reshape(-1)
    w = np.bincount(inv, weights=weight, minlength=len(upix))
    c = np.stack(
        [np.bincount(inv, weights=weight * rgb[:, k], minlength=len(upix)) for k in range(3)],
        axis=1,
    )
    return upix, w, c


def _merged(parts: list[tuple[np.ndarray, ...]]) -> tuple[np.ndarray, ...]:
    """Coverage sums of several parts of one pass, added per pixel."""
    pix = np.concatenate([p[0] for p in parts])
    upix, inv = np.unique(pix, return_inverse=True)
    inv = inv.reshape(-1)
    w = np.bincount(inv, weights=np.concatenate([p[1] for p in parts]), minlength=len(upix))
    c = np.concatenate([p[2] for p in parts])
    c = np.stack([np.bincount(inv, weights=c[:, k], minlength=len(upix)) for k in range(3)], 1)
    return upix, w, c


def _coverage(lines: Any, scene: Any, sel: np.ndarray) -> tuple[np.ndarray, ...]:
    """Coverage sums of the selected segments of one pass, in the scene's frame."""
    from regionscope.render.raster import line_coverage

    pix, cov, seg = line_coverage(
        scene.px(lines.p0[sel]), scene.px(lines.p1[sel]), lines.width, scene.width, scene.height
    )
    rgba = lines.colors[sel][seg]
    return _sums(pix, cov * rgba[:, 3], rgba[:, :3])


class _GlobalCentroids(Partition):
    """A tile's partition whose ``centroids()`` are those of the global regions.

    The picture colours a region by the network at its centroid; a piece of
    a region cut by tile borders must use the whole region's.  Patterns still
    come from the tile's own partition.
    """

    def __init__(self, part: Partition, centroids: np.ndarray, scale_corners: Any) -> None:
        from regionscope import compute

        ev = compute.evaluator(part.domain, part.program, scale_corners)
        super().__init__(part.domain, part.mesh, ev)
        self.tile = part
        self.global_centroids = centroids

    def centroids(self) -> np.ndarray:
        return self.global_centroids

    def pattern_keys(self) -> np.ndarray:
        return self.tile.pattern_keys()

    def activation_patterns(self, layer: int | str | None = None) -> Any:
        return self.tile.activation_patterns(layer)


def _snap_to_borders(
    part: Any, ij: tuple[int, int], xs: np.ndarray, ys: np.ndarray, tol: float
) -> np.ndarray:
    """The tile's vertices with those on an inner line put exactly on it (for the fill)."""
    verts = np.array(part.vertices, dtype=np.float64)
    for axis, borders, k in ((0, xs, ij[0]), (1, ys, ij[1])):
        for line in (k, k + 1):
            if 0 < line < len(borders) - 1:
                near = np.abs(verts[:, axis] - borders[line]) <= tol
                verts[near, axis] = borders[line]
    return verts


def _tile_scene(
    arrays: dict[str, np.ndarray],
    style: dict[str, Any],
    centroids: Any,
    point_tol: float | None,
) -> tuple[Partition, Any]:
    """A tile's partition (:func:`~.grid.tile_partition`) and its scene, built with the whole
    domain's tolerances (the tile's file holds its unit scales; ``point_tol`` snaps points;
    ``None``: the tile's own)."""
    import contextlib

    from regionscope.render.scene import build_scene

    part = tile_partition(arrays)
    corners = arrays.get(SCALE_KEYS[0])
    drawn = part if centroids is None else _GlobalCentroids(part, centroids, corners)
    own = point_tol is None
    with contextlib.nullcontext() if own else tile_tolerance(part.domain, point_tol):
        return part, build_scene(drawn, style, "to_png")


def render_tile(
    arrays: dict[str, np.ndarray],
    ij: tuple[int, int],
    grid: tuple[np.ndarray, np.ndarray, float],
    bv_point: np.ndarray,
    frame: tuple[int, int, float, float, float],
    style: dict[str, Any],
    centroids: np.ndarray | None,
) -> dict[str, Any]:
    """One tile's share of the picture (runs on a worker).

    Returns ``fill`` (pixels and colours), ``passes`` (coverage sums of the
    tile's own lines, per pass), ``pieces`` (edges ending on an inner border:
    end points, their border points, colour, pass), ``loose`` (other lines
    ending on an inner line: a one-output decision boundary), ``vertices``
    (the tile's vertices off its boundary) and ``value_range``.
    """
    from regionscope.render.raster import fill_spans

    xs, ys, tol = grid
    part, scene = _tile_scene(arrays, style, centroids, tol)
    w, h, scale, x0, y0 = frame
    scene = dataclasses.replace(scene, width=w, height=h, scale=scale, x0=x0, y0=y0)
    verts = _snap_to_borders(part, ij, xs, ys, tol)
    pix, region = fill_spans(
        scene.px(verts), np.asarray(part.region_vertices), np.asarray(part.region_offsets), w, h
    )
    edges = np.asarray(part.edges).reshape(-1, 2)
    bv = np.unique(edges[np.asarray(part.edge_layer) == -1])
    bv_xy = np.asarray(part.vertices)[bv]
    out: dict[str, Any] = {
        "fill": (pix, scene.region_rgba[region]),
        "passes": {},
        "pieces": [],
        "loose": [],
        "vertices": np.asarray(part.vertices)[np.setdiff1d(np.unique(part.region_vertices), bv)],
        "value_range": None if scene.values is None else (scene.values.vmin, scene.values.vmax),
    }
    for lines in scene.lines:
        if not len(lines.p0) or lines.width <= 0:
            continue
        e0, e1 = _lookup(bv_xy, lines.p0), _lookup(bv_xy, lines.p1)
        piece = (e0 >= 0) | (e1 >= 0)
        ends = np.stack(
            [np.where(e0 >= 0, bv_point[e0], -1), np.where(e1 >= 0, bv_point[e1], -1)], 1
        )
        loose = ~piece & (
            _on_inner(lines.p0, ij, xs, ys, tol) | _on_inner(lines.p1, ij, xs, ys, tol)
        )
        own = ~piece & ~loose
        if own.any():
            out["passes"].setdefault(lines.kind, []).append(_coverage(lines, scene, own))
        for mask, where in ((piece, "pieces"), (loose, "loose")):
            if mask.any():
                out[where].append(
                    {
                        "p0": lines.p0[mask],
                        "p1": lines.p1[mask],
                        "rgba": lines.colors[mask],
                        "kind": lines.kind,
                        "width": lines.width,
                        "ends": ends[mask],
                    }
                )
    return out


def _on_inner(
    p: np.ndarray, ij: tuple[int, int], xs: np.ndarray, ys: np.ndarray, tol: float
) -> np.ndarray:
    """``(N,) bool``: points on one of the tile's inner lines."""
    hit = np.zeros(len(p), dtype=bool)
    for axis, borders, k in ((0, xs, ij[0]), (1, ys, ij[1])):
        for line in (k, k + 1):
            if 0 < line < len(borders) - 1:
                hit |= np.abs(p[:, axis] - borders[line]) <= tol
    return hit


def chain_segments(ends: np.ndarray, joinable: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Join pieces end to end at joinable points: the pieces of each chain and its two ends.

    Parameters
    ----------
    ends : (N, 2) int64
        The point at each end of each piece (``-1``: an end that joins nothing).
    joinable : (C,) bool
        Points where exactly two pieces are to be joined (checked: a point
        met by another number of piece ends joins nothing).

    Returns
    -------
    chain : (N,) int64
        The chain of each piece (its smallest piece).
    outer : (N, 2) bool
        Which piece ends are the ends of their chain.

    Examples
    --------
    >>> chain, outer = chain_segments(np.array([[-1, 0], [0, 1], [1, -1], [-1, 2]]),
    ...                               np.array([True, True, False]))
    >>> chain.tolist(), outer.tolist()
    ([0, 0, 0, 3], [[True, False], [False, False], [False, True], [True, True]])
    """
    n = len(ends)
    flat = ends.reshape(-1)
    ok = flat >= 0
    count = np.bincount(flat[ok], minlength=len(joinable))
    join = np.zeros(2 * n, dtype=bool)
    join[ok] = joinable[flat[ok]] & (count[flat[ok]] == 2)
    idx = np.flatnonzero(join)
    order = idx[np.argsort(flat[idx], kind="stable")]
    a, b = order[0::2] // 2, order[1::2] // 2
    return components(n, a, b), ~join.reshape(n, 2)


def _draw_chains(
    pieces: list[dict[str, Any]],
    joinable: np.ndarray,
    frame_scene: Any,
) -> dict[str, list[tuple[np.ndarray, ...]]]:
    """Coverage sums, per pass, of the chains the pieces make."""
    from regionscope.render.raster import line_coverage

    if not pieces:
        return {}
    p0 = np.concatenate([p["p0"] for p in pieces])
    p1 = np.concatenate([p["p1"] for p in pieces])
    rgba = np.concatenate([p["rgba"] for p in pieces])
    ends = np.concatenate([p["ends"] for p in pieces])
    kind = np.concatenate([[PASSES.index(p["kind"])] * len(p["p0"]) for p in pieces])
    width = np.concatenate([[p["width"]] * len(p["p0"]) for p in pieces])
    chain, outer = chain_segments(ends, joinable)
    xy = np.stack([p0, p1], axis=1)  # (N, 2, 2)
    piece, which = np.nonzero(outer)
    first = np.argsort(chain[piece], kind="stable")
    piece, which = piece[first], which[first]
    heads = np.flatnonzero(np.r_[True, chain[piece][1:] != chain[piece][:-1]])
    counts = np.diff(np.r_[heads, len(piece)])
    good = counts == 2
    a = xy[piece[heads[good]], which[heads[good]]]
    b = xy[piece[heads[good] + 1], which[heads[good] + 1]]
    lead = chain[piece[heads[good]]]  # each chain drawn with its smallest piece's colour
    seg_p0, seg_p1 = a, b
    seg_rgba, seg_kind, seg_width = rgba[lead], kind[lead], width[lead]
    bad = np.isin(chain, chain[piece[heads[~good]]])  # not a path: draw its pieces as they are
    seg_p0 = np.concatenate([seg_p0, p0[bad]])
    seg_p1 = np.concatenate([seg_p1, p1[bad]])
    seg_rgba = np.concatenate([seg_rgba, rgba[bad]])
    seg_kind = np.concatenate([seg_kind, kind[bad]])
    seg_width = np.concatenate([seg_width, width[bad]])
    out: dict[str, list[tuple[np.ndarray, ...]]] = {}
    w, h = frame_scene.width, frame_scene.height
    for k in np.unique(seg_kind).tolist():
        for lw in np.unique(seg_width[seg_kind == k]).tolist():
            sel = (seg_kind == k) & (seg_width == lw)
            pix, cov, seg = line_coverage(
                frame_scene.px(seg_p0[sel]), frame_scene.px(seg_p1[sel]), lw, w, h
            )
            col = seg_rgba[sel][seg]
            out.setdefault(PASSES[k], []).append(_sums(pix, cov * col[:, 3], col[:, :3]))
    return out


def _border_edge_pieces(tiled: Any, style: dict[str, Any], frame_scene: Any) -> list[dict]:
    """The edges along inner borders as pieces, coloured by the scene of a stand-in mesh.

    Each edge becomes a thin triangle whose first side carries the edge's
    ``(layer, unit)``; :func:`build_scene` colours that side as it would the
    edge of the whole partition.
    """
    from regionscope import compute
    from regionscope.partitions import Partition
    from regionscope.render.scene import build_scene

    s = tiled.stitched
    if not len(s.edge_points):
        return []
    a, b = s.point_xy[s.edge_points[:, 0]], s.point_xy[s.edge_points[:, 1]]
    d = b - a
    c = 0.5 * (a + b) + 0.25 * np.stack([-d[:, 1], d[:, 0]], axis=1)
    n = len(a)
    verts = np.stack([a, b, c], axis=1).reshape(-1, 2)
    source = np.full((n, 3), BOUNDARY, dtype=np.int64)
    source[:, 0] = encode_source(s.edge_layer, s.edge_unit)
    mesh = Mesh(
        verts,
        np.arange(3 * n, dtype=np.int64),
        3 * np.arange(n + 1, dtype=np.int64),
        source.reshape(-1),
        0,
    )
    program_domain = tiled.domain
    fake = Partition(program_domain, mesh, compute.evaluator(program_domain, _program(tiled)))
    has_argmax = any(type(op.layer).__name__ == "Argmax" for op in fake.program.ops)
    fake_style = {
        **style,
        "color_by": "none",
        "decision": bool(style.get("decision", True)) and has_argmax,
    }
    scene = build_scene(fake, fake_style, "to_png")
    out = []
    for lines in scene.lines:
        if lines.kind == "boundary" or not len(lines.p0):
            continue
        e0, e1 = _lookup(s.point_xy, lines.p0), _lookup(s.point_xy, lines.p1)
        keep = (e0 >= 0) & (e1 >= 0)
        out.append(
            {
                "p0": lines.p0[keep],
                "p1": lines.p1[keep],
                "rgba": lines.colors[keep],
                "kind": lines.kind,
                "width": lines.width,
                "ends": np.stack([e0[keep], e1[keep]], axis=1),
            }
        )
    return out


def _program(tiled: Any) -> Any:
    from regionscope.network.program import compile_model

    return compile_model(tiled.model, tiled.domain.input_dim)


def _inner_line(coords: np.ndarray, borders: np.ndarray, tol: float) -> np.ndarray:
    """``(N,) int64``: the inner line (index into ``borders``) each coordinate is on, or -1."""
    inner = borders[1:-1]
    if not len(inner):
        return np.full(len(coords), -1, dtype=np.int64)
    pos = np.clip(np.searchsorted(inner, coords), 1, len(inner)) - 1
    near = np.where(
        np.abs(coords - inner[pos]) <= np.abs(coords - inner[np.minimum(pos + 1, len(inner) - 1)]),
        pos,
        np.minimum(pos + 1, len(inner) - 1),
    )
    return np.where(np.abs(coords - inner[near]) <= tol, near + 1, -1)


def _loose_pieces(loose: list[dict[str, Any]], tiled: Any, tol: float) -> tuple[list, np.ndarray]:
    """Ends of lines on inner lines (a one-output decision boundary) as points to join.

    Two ends at one point of an inner line are joined unless a border point
    (where an edge crosses the border) is there too.
    """
    if not loose:
        return [], np.zeros(0, dtype=bool)
    xy = np.concatenate([np.stack([p["p0"], p["p1"]], 1) for p in loose]).reshape(-1, 2)
    vline, hline = _inner_line(xy[:, 0], tiled.xs, tol), _inner_line(xy[:, 1], tiled.ys, tol)
    point, n = border_points(xy, vline, hline, tol)
    point = np.where((vline >= 0) | (hline >= 0), point, -1)
    crossing = np.zeros(n, dtype=bool)
    near = (np.abs(xy[:, None, :] - tiled.stitched.point_xy[None, :, :]) <= tol).all(2).any(1)
    crossing[point[near & (point >= 0)]] = True
    out, start = [], 0
    for p in loose:
        m = len(p["p0"])
        out.append({**p, "ends": point[start : start + 2 * m].reshape(m, 2)})
        start += 2 * m
    return out, ~crossing


def _frame_scene(tiled: Any, style: dict[str, Any]) -> Any:
    """The scene of a one-region stand-in of the whole domain: frame, boundary, marks."""
    from regionscope.render.scene import build_scene

    stand = Partition.start(tiled.domain)
    frame_style = {**style, "color_by": "none", "decision": False, "layer": None}
    return build_scene(stand, frame_style, "to_png")


def _tile_style(tiled: Any, style: dict[str, Any], frame_scene: Any) -> dict[str, Any]:
    """The style every tile draws with: line widths of the whole partition, no text."""
    from regionscope.render.scene import line_widths
    from regionscope.render.style import check_style

    st = check_style(style, "to_png")
    scale = frame_scene.scale
    px_area = tiled.domain.area * scale * scale / max(tiled.num_regions, 1)
    ew, bw, _ = line_widths(st["edge_width"], st["boundary_width"], st["decision_width"], px_area)
    return {
        **style,
        "size": (frame_scene.width, frame_scene.height),
        "edge_width": ew,
        "boundary_width": bw,
        "boundary": False,
        "mark": None,
        "vertices": False,
    }


def _value_colours(style: dict[str, Any]) -> bool:
    """Whether regions are coloured by the network's values (at their centroids)."""
    color_by = style.get("color_by", "pattern")
    return not (isinstance(color_by, str) and color_by in ("pattern", "none"))


def render_tiles(tiled: Any, style: dict[str, Any], client: Any = "serial") -> np.ndarray:
    """The picture of a tiled partition, drawn tile by tile: ``(H, W, 3) uint8``.

    Equal to ``regionscope.render.to_png(whole partition, engine="numpy")``
    with the same style (see the module docstring).  ``client`` runs the
    tiles (:class:`~regionscope.scale.engine.Engine`; by default in this
    process, one tile in memory at a time).
    """
    from regionscope.render.raster import blend, disc_coverage

    refused = [k for k in REFUSED_STYLE if style.get(k) not in (None, False)]
    if refused:
        raise ValueError(
            f"a tiled picture has no text; drop the style option(s) {refused} (or draw a tile, "
            "tiled.tile(ij).to_png(...), or the partition of the whole domain)"
        )
    frame_scene = _frame_scene(tiled, style)
    tile_style = _tile_style(tiled, style, frame_scene)
    w, h = frame_scene.width, frame_scene.height
    frame = (w, h, frame_scene.scale, frame_scene.x0, frame_scene.y0)
    values = _value_colours(style)
    tol = float(tiled.tolerance)
    settings = snapshot_settings()
    with Engine(client) as engine:
        ranged = values and style.get("color_by") != "class"  # classes need no range
        if ranged and (style.get("vmin") is None or style.get("vmax") is None):
            lo, hi = _value_range(tiled, engine, settings, tile_style)
            vmin, vmax = style.get("vmin"), style.get("vmax")
            tile_style = {
                **tile_style,
                "vmin": lo if vmin is None else vmin,
                "vmax": hi if vmax is None else vmax,
            }
        got = _run_tiles(tiled, engine, settings, frame, tile_style, tol, values)
    bg = frame_scene.background
    flat = np.empty((w * h, 3), dtype=np.float64)
    flat[:] = np.array(bg[:3]) * bg[3] + (1.0 - bg[3])
    filled = np.zeros(w * h, dtype=bool)
    for out in got:
        pix, rgba = out["fill"]
        new = ~filled[pix]
        pix, rgba = pix[new], rgba[new]
        filled[pix] = True
        a = rgba[:, 3:4]
        flat[pix] = flat[pix] * (1.0 - a) + rgba[:, :3] * a
    sums = _line_sums(tiled, got, tile_style, frame_scene, tol)
    for kind in PASSES:
        if kind in sums:
            pix, wsum, csum = _merged(sums[kind])
            ok = wsum > 0
            # as blend() composites its samples: their weighted mean, with their total weight
            alpha = np.minimum(wsum[ok], 1.0)[:, None]
            color = csum[ok] / wsum[ok, None]
            flat[pix[ok]] = flat[pix[ok]] * (1.0 - alpha) + color * alpha
    if style.get("vertices"):
        xy = np.concatenate(
            [out["vertices"] for out in got]
            + [tiled.stitched.point_xy[tiled.stitched.point_is_vertex]]
        )
        pix, cov, _ = disc_coverage(frame_scene.px(xy), frame_scene.vertex_size, w, h)
        blend(flat, pix, cov, np.tile(np.array(frame_scene.vertex_rgba), (len(pix), 1)))
    if frame_scene.mark_xy is not None and len(frame_scene.mark_xy):
        centers = frame_scene.px(frame_scene.mark_xy)
        pix, cov, _ = disc_coverage(centers, frame_scene.mark_size + 2.0, w, h)
        blend(flat, pix, cov, np.tile(np.array([0.0, 0.0, 0.0, 1.0]), (len(pix), 1)))
        pix, cov, owner = disc_coverage(centers, frame_scene.mark_size, w, h)
        blend(flat, pix, cov, frame_scene.mark_rgba[owner])
    return np.clip(np.round(flat * 255.0), 0, 255).astype(np.uint8).reshape(h, w, 3)


def _line_sums(
    tiled: Any, got: list[dict[str, Any]], tile_style: dict[str, Any], frame_scene: Any, tol: float
) -> dict[str, list[tuple[np.ndarray, ...]]]:
    """Coverage sums per pass: the tiles' own lines, the joined pieces, the boundary."""
    sums: dict[str, list[tuple[np.ndarray, ...]]] = {}
    for out in got:
        for kind, parts in out["passes"].items():
            sums.setdefault(kind, []).extend(parts)
    pieces = [p for out in got for p in out["pieces"]]
    pieces += _border_edge_pieces(tiled, tile_style, frame_scene)
    joined = [_draw_chains(pieces, ~tiled.stitched.point_is_vertex, frame_scene)]
    loose, joinable = _loose_pieces([p for out in got for p in out["loose"]], tiled, tol)
    joined.append(_draw_chains(loose, joinable, frame_scene))
    for part in joined:
        for kind, parts in part.items():
            sums.setdefault(kind, []).extend(parts)
    if frame_scene.lines:
        for lines in frame_scene.lines:
            if lines.kind == "boundary":
                lines = dataclasses.replace(lines, width=tile_style["boundary_width"])
                sel = np.ones(len(lines.p0), dtype=bool)
                sums.setdefault("boundary", []).append(_coverage(lines, frame_scene, sel))
    return sums


def _centroids(tiled: Any, ij: tuple[int, int], values: bool) -> np.ndarray | None:
    return tiled.stitched.centroids[tiled.labels(ij)] if values else None


def _run_tiles(
    tiled: Any,
    engine: Engine,
    settings: Any,
    frame: Any,
    style: dict[str, Any],
    tol: float,
    values: bool,
) -> list[dict[str, Any]]:
    """Every tile's share of the picture, in tile order."""
    grid = (tiled.xs, tiled.ys, tol)
    got: dict[tuple[int, int], dict[str, Any]] = {}
    tasks = (
        (
            ij,
            with_settings,
            (
                settings,
                render_tile,
                tiled.tile_arrays(ij),
                ij,
                grid,
                tiled.border_points(ij),
                frame,
                style,
                _centroids(tiled, ij, values),
            ),
        )
        for ij in tiled.tiles
    )
    failed = engine.run(
        tasks, got.__setitem__, total=tiled.num_tiles, max_in_flight=4, description="picture tiles"
    )
    if failed:
        ij, exc = next(iter(failed.items()))
        raise RuntimeError(f"drawing tile {ij} failed: {type(exc).__name__}: {exc}") from exc
    return [got[ij] for ij in tiled.tiles]


def tile_value_range(
    arrays: dict[str, np.ndarray], style: dict[str, Any], centroids: np.ndarray
) -> tuple[float, float] | None:
    """The range of the values a tile's regions are coloured by (runs on a worker)."""
    tol = arrays.get(SCALE_KEYS[1])
    _, scene = _tile_scene(arrays, style, centroids, None if tol is None else float(tol))
    return None if scene.values is None else (scene.values.vmin, scene.values.vmax)


def _value_range(
    tiled: Any, engine: Engine, settings: Any, style: dict[str, Any]
) -> tuple[float | None, float | None]:
    """The range of the colouring values over all regions (``None`` without values)."""
    got: dict[tuple[int, int], Any] = {}
    tasks = (
        (
            ij,
            with_settings,
            (
                settings,
                tile_value_range,
                tiled.tile_arrays(ij),
                style,
                _centroids(tiled, ij, True),
            ),
        )
        for ij in tiled.tiles
    )
    failed = engine.run(tasks, got.__setitem__, total=tiled.num_tiles, max_in_flight=4)
    if failed:
        ij, exc = next(iter(failed.items()))
        raise RuntimeError(f"drawing tile {ij} failed: {type(exc).__name__}: {exc}") from exc
    ranges = [r for r in got.values() if r is not None]
    if not ranges:
        return None, None
    return min(r[0] for r in ranges), max(r[1] for r in ranges)
