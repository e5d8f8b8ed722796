"""A vectorised NumPy rasteriser: the pixels of a :class:`~.scene.Scene`.

All regions are filled at once by scan lines (:func:`fill_spans`: a pixel
belongs to the region that contains its centre, so neighbours tile without
seams), lines and dots are anti-aliased by box-filter coverage
(:func:`line_coverage`, :func:`disc_coverage`) and composited with
:func:`blend`.  No Pillow and no matplotlib are needed (so it runs in
Pyodide); :mod:`.png` encodes the result.

Examples
--------
>>> import numpy as np
>>> px = np.array([[0.0, 0.0], [2.0, 0.0], [2.0, 2.0], [0.0, 2.0], [4.0, 0.0], [4.0, 2.0]])
>>> rv, offsets = np.array([0, 1, 2, 3, 1, 4, 5, 2]), np.array([0, 4, 8])
>>> pix, polygon = fill_spans(px, rv, offsets, 4, 2)   # two squares side by side
>>> np.bincount(pix, minlength=8).tolist()             # every pixel exactly once
[1, 1, 1, 1, 1, 1, 1, 1]
>>> polygon[np.argsort(pix)].reshape(2, 4).tolist()    # (row, column): its square
[[0, 0, 1, 1], [0, 0, 1, 1]]
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from regionscope.geometry.arrays import expand

from .overlay import Dot, Gradient, Item, Rect, Strokes
from .scene import Scene

if TYPE_CHECKING:
    from regionscope.partitions import Partition

__all__ = [
    "blend",
    "disc_coverage",
    "draw_overlay",
    "fill_spans",
    "line_coverage",
    "rasterize",
]

#: Floor of a segment's extent along its major axis, in pixels.  Not a geometric
#: tolerance: zero-length segments are dropped from the output anyway; the floor
#: only keeps the vectorised division by that extent finite for them.
MIN_SPAN = 1e-300


def _row_cuts(
    px: np.ndarray, rv: np.ndarray, offsets: np.ndarray, height: int
) -> tuple[np.ndarray, np.ndarray]:
    """Where polygon sides cross pixel-row centres: sorted ``(key, x)``.

    ``key = polygon * height + row`` (``(K,) int64``, sorted, stable) and ``x``
    ``(K,) float64`` the pixel column of the crossing.  A side covers the rows
    whose centre lies in ``[y_low, y_high)``.
    """
    sizes = np.diff(offsets)
    region_of = np.repeat(np.arange(len(sizes)), sizes)
    nxt = np.arange(len(rv)) + 1
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
    side, local = expand(np.maximum(r1 - r0, 0))
    row = r0[side] + local
    dy = hi[side, 1] - lo[side, 1]
    t = (row + 0.5 - lo[side, 1]) / dy
    x = lo[side, 0] + t * (hi[side, 0] - lo[side, 0])
    key = region_of[side] * np.int64(height) + row
    order = np.argsort(key, kind="stable")
    return key[order], x[order]


def fill_spans(
    px: np.ndarray, rv: np.ndarray, offsets: np.ndarray, width: int, height: int
) -> tuple[np.ndarray, np.ndarray]:
    """Pixels covered by convex polygons.

    A pixel belongs to the polygon that contains its centre (half-open rules
    on both axes, so polygons that share edges tile without gaps or overlap).
    Every polygon side is cut with the pixel rows whose centre it spans; a
    convex polygon has exactly two cuts per row, the span between them is
    filled.

    Parameters
    ----------
    px : (V, 2) float64
        Vertices in pixel coordinates (``y`` down).
    rv : (I,) int64
    offsets : (F+1,) int64
        Polygon ``f`` has corners ``px[rv[offsets[f]:offsets[f+1]]]``, in order.
    width, height : int
        Picture size in pixels.

    Returns
    -------
    pix : (P,) int64
        Covered pixels, ``row * width + column``; each at most once.
    polygon : (P,) int64
        The polygon covering each.
    """
    key, x = _row_cuts(px, rv, offsets, height)
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
    span, local = expand(np.maximum(c1 - c0, 0))
    rows = k2 % height
    regions = k2 // height
    pix = rows[span] * width + c0[span] + local
    return pix, regions[span]


def line_coverage(
    p0: np.ndarray, p1: np.ndarray, lw: float, width: int, height: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Anti-aliased pixels of thick segments.

    Each segment is stepped one pixel at a time along its major axis; at each
    step the pixels across it get the length of their overlap with the
    segment's cross-section (``lw / cos``), a box-filter coverage.

    Parameters
    ----------
    p0, p1 : (M, 2) float64
        End points in pixel coordinates.
    lw : float
        Line width in pixels.
    width, height : int
        Picture size in pixels.

    Returns
    -------
    pix : (P,) int64
        Touched pixels, ``row * width + column`` (repeated where segments meet).
    coverage : (P,) float64
        Fraction of each pixel covered, in ``(0, 1]``.
    segment : (P,) int64
        The segment of each sample.
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
    da = np.maximum(a1 - a0, MIN_SPAN)
    slope = (b1 - b0) / da
    h = lw * length / da  # cross-section along the minor axis
    ext = min(0.5 * lw, 0.5)
    lim = np.where(xmajor, width, height)
    s0 = np.clip(np.ceil(a0 - ext - 0.5), 0, lim).astype(np.int64)
    s1 = np.clip(np.ceil(a1 + ext - 0.5), 0, lim).astype(np.int64)
    steps = np.where(keep, np.maximum(s1 - s0, 0), 0)
    seg, local = expand(steps)
    m = s0[seg] + local
    c = b0[seg] + (np.clip(m + 0.5, a0[seg], a1[seg]) - a0[seg]) * slope[seg]
    half = 0.5 * h[seg]
    q0 = np.floor(c - half).astype(np.int64)
    q1 = np.floor(c + half).astype(np.int64)
    sample, j = expand(q1 - q0 + 1)
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


def disc_coverage(
    centers: np.ndarray, diameter: float, width: int, height: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Anti-aliased pixels of discs.

    Parameters
    ----------
    centers : (N, 2) float64
        Disc centres in pixel coordinates.
    diameter : float
        Disc diameter in pixels.
    width, height : int
        Picture size in pixels.

    Returns
    -------
    pix : (P,) int64
        Touched pixels, ``row * width + column``.
    coverage : (P,) float64
        In ``(0, 1]``: one minus how far the pixel centre lies outside the
        disc, clipped.
    disc : (P,) int64
        The disc of each sample.
    """
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


def blend(flat: np.ndarray, pix: np.ndarray, cov: np.ndarray, rgba: np.ndarray) -> None:
    """Composite coverage-weighted colours onto a picture, in place.

    Samples on one pixel are averaged by weight (coverage times alpha) and
    laid over the pixel with their total weight (at most 1) as opacity.

    Parameters
    ----------
    flat : (H*W, 3) float64
        The picture, RGB in ``[0, 1]``; changed in place.
    pix : (P,) int64
        Pixel of each sample.
    cov : (P,) float64
        Coverage of each sample, in ``[0, 1]``.
    rgba : (P, 4) float64
        Colour of each sample.
    """
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


def _rect_pixels(x: float, y: float, w: float, h: float, width: int, height: int) -> np.ndarray:
    """Pixels ``(P,) int64`` whose centres lie in the rectangle (half-open), clipped."""
    c0, c1 = (int(np.clip(math.ceil(v - 0.5), 0, width)) for v in (x, x + w))
    r0, r1 = (int(np.clip(math.ceil(v - 0.5), 0, height)) for v in (y, y + h))
    rows, cols = np.meshgrid(np.arange(r0, r1), np.arange(c0, c1), indexing="ij")
    return (rows * width + cols).ravel()


def _draw_rect(flat: np.ndarray, r: Rect, width: int, height: int) -> None:
    """A rectangle's fill and outline, in place."""
    if r.fill is not None and r.fill[3] > 0:
        pix = _rect_pixels(r.x, r.y, r.w, r.h, width, height)
        blend(flat, pix, np.ones(len(pix)), np.tile(np.array(r.fill), (len(pix), 1)))
    if r.stroke is not None and r.stroke_width > 0:
        c = np.array([[r.x, r.y], [r.x + r.w, r.y], [r.x + r.w, r.y + r.h], [r.x, r.y + r.h]])
        s = Strokes(c, np.roll(c, -1, axis=0), r.stroke, r.stroke_width)
        _draw_strokes(flat, s, width, height)


def _draw_strokes(flat: np.ndarray, s: Strokes, width: int, height: int) -> None:
    pix, cov, _ = line_coverage(s.p0, s.p1, s.width, width, height)
    blend(flat, pix, cov, np.tile(np.array(s.color), (len(pix), 1)))


def _draw_gradient(flat: np.ndarray, g: Gradient, width: int, height: int) -> None:
    """A vertical gradient: each pixel row takes the colour at its centre (bottom first)."""
    pix = _rect_pixels(g.x, g.y, g.w, g.h, width, height)
    rows = pix // width
    t = np.clip((g.y + g.h - (rows + 0.5)) / g.h, 0.0, 1.0) * (len(g.colors) - 1)
    lo = np.floor(t).astype(np.int64)
    hi = np.minimum(lo + 1, len(g.colors) - 1)
    frac = (t - lo)[:, None]
    rgba = g.colors[lo] * (1.0 - frac) + g.colors[hi] * frac
    blend(flat, pix, np.ones(len(pix)), rgba)


def draw_overlay(flat: np.ndarray, items: list[Item], width: int, height: int) -> None:
    """Draw the overlay's shapes (not its text) on a picture, in place.

    Parameters
    ----------
    flat : (H*W, 3) float64
        The picture, RGB in ``[0, 1]``.
    items : list of Item
        Overlay primitives (:mod:`.overlay`); :class:`~.overlay.Text` is
        skipped (the NumPy back end has no fonts).
    width, height : int
        Picture size in pixels.
    """
    for item in items:
        if isinstance(item, Rect):
            _draw_rect(flat, item, width, height)
        elif isinstance(item, Strokes):
            _draw_strokes(flat, item, width, height)
        elif isinstance(item, Gradient):
            _draw_gradient(flat, item, width, height)
        elif isinstance(item, Dot):
            c = np.array([[item.x, item.y]])
            for diameter, rgba in ((item.diameter + 2.0, item.stroke), (item.diameter, item.fill)):
                pix, cov, _ = disc_coverage(c, diameter, width, height)
                blend(flat, pix, cov, np.tile(np.array(rgba), (len(pix), 1)))


def rasterize(part: Partition, scene: Scene) -> np.ndarray:
    """Draw a scene with NumPy: regions, line passes, vertices, marks and the overlay's shapes.

    Parameters
    ----------
    part : Partition
        Its ``vertices``, ``region_vertices`` and ``region_offsets`` are filled.
    scene : Scene
        From :func:`~.scene.build_scene`.

    Returns
    -------
    (H, W, 3) uint8
        The picture (a transparent background is laid on white).
    """
    w, h = scene.width, scene.height
    flat = np.empty((w * h, 3), dtype=np.float64)
    bg = scene.background
    flat[:] = np.array(bg[:3]) * bg[3] + (1.0 - bg[3])  # on white when transparent
    verts_px = scene.px(np.asarray(part.vertices, dtype=np.float64))
    rv = np.asarray(part.region_vertices, dtype=np.int64)
    offsets = np.asarray(part.region_offsets, dtype=np.int64)
    pix, region = fill_spans(verts_px, rv, offsets, w, h)
    rgba = scene.region_rgba[region]
    a = rgba[:, 3:4]
    flat[pix] = flat[pix] * (1.0 - a) + rgba[:, :3] * a
    for lines in scene.lines:
        if len(lines.p0) and lines.width > 0:
            pix, cov, seg = line_coverage(
                scene.px(lines.p0), scene.px(lines.p1), lines.width, w, h
            )
            blend(flat, pix, cov, lines.colors[seg])
    if scene.vertex_xy is not None and len(scene.vertex_xy):
        pix, cov, _ = disc_coverage(scene.px(scene.vertex_xy), scene.vertex_size, w, h)
        blend(flat, pix, cov, np.tile(np.array(scene.vertex_rgba), (len(pix), 1)))
    if scene.mark_xy is not None and len(scene.mark_xy):
        centers = scene.px(scene.mark_xy)
        pix, cov, _ = disc_coverage(centers, scene.mark_size + 2.0, w, h)
        blend(flat, pix, cov, np.tile(np.array([0.0, 0.0, 0.0, 1.0]), (len(pix), 1)))
        pix, cov, owner = disc_coverage(centers, scene.mark_size, w, h)
        blend(flat, pix, cov, scene.mark_rgba[owner])
    draw_overlay(flat, scene.overlay, w, h)
    return np.clip(np.round(flat * 255.0), 0, 255).astype(np.uint8).reshape(h, w, 3)
