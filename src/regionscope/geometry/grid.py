"""Which boxes a line may meet, found through a uniform grid of cells.

For many lines and many boxes (the bounding boxes of a mesh's regions), the
pairs that meet are found without testing every pair: each box is listed in
the cells it covers, each line in the cells it passes through, and only the
pairs sharing a cell are tested.  The work grows with the pairs found, about
``lines * sqrt(boxes)`` for lines across a mesh of small regions, not with
``lines * boxes``.

The test is conservative: a line ``normal . p + offset = 0`` meets a box when
``normal . p + offset`` takes a value within ``pad`` of zero at some point of
the box.  Every pair that meets is reported; a few that do not may be too.
"""

from __future__ import annotations

import numpy as np

from .arrays import expand

__all__ = ["boxes_meeting_lines"]


def _cell_range(lo: np.ndarray, hi: np.ndarray, origin: float, size: float, n: int):
    a = np.clip(np.floor((lo - origin) / size), 0, n - 1).astype(np.int64)
    b = np.clip(np.floor((hi - origin) / size), 0, n - 1).astype(np.int64)
    return a, b


def _line_cells(
    normal: np.ndarray,
    offset: np.ndarray,
    pad: np.ndarray,
    origin: np.ndarray,
    size: np.ndarray,
    cells: int,
) -> tuple[np.ndarray, np.ndarray]:
    """``(line, cell)`` pairs: the cells within ``pad`` of each line (cell = iy * cells + ix)."""
    lines: list[np.ndarray] = []
    found: list[np.ndarray] = []
    steep = np.abs(normal[:, 1]) >= np.abs(normal[:, 0])  # y is a function of x
    for axis in (0, 1):  # axis 0: walk the columns (x), axis 1: the rows (y)
        sel = np.flatnonzero(steep if axis == 0 else ~steep)
        if len(sel) == 0:
            continue
        a, b = normal[sel, axis], normal[sel, 1 - axis]  # a * t + b * s + offset = 0
        edges = origin[axis] + size[axis] * np.arange(cells + 1)
        # s at both ends of each column, widened by the padding
        s_at = -(a[:, None] * edges[None, :] + offset[sel, None]) / b[:, None]
        s_lo = np.minimum(s_at[:, :-1], s_at[:, 1:]) - (pad[sel] / np.abs(b))[:, None]
        s_hi = np.maximum(s_at[:, :-1], s_at[:, 1:]) + (pad[sel] / np.abs(b))[:, None]
        inside = (s_hi >= origin[1 - axis]) & (s_lo <= origin[1 - axis] + cells * size[1 - axis])
        row, col = np.nonzero(inside)
        c0, c1 = _cell_range(
            s_lo[row, col], s_hi[row, col], origin[1 - axis], size[1 - axis], cells
        )
        own, k = expand(c1 - c0 + 1)
        other = c0[own] + k
        t = col[own]
        cell = other * cells + t if axis == 0 else t * cells + other
        lines.append(sel[row[own]])
        found.append(cell)
    if not lines:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    return np.concatenate(lines), np.concatenate(found)


def boxes_meeting_lines(
    box_lo: np.ndarray,
    box_hi: np.ndarray,
    normal: np.ndarray,
    offset: np.ndarray,
    pad: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """``(box, line)`` pairs such that line ``line`` comes within ``pad`` of box ``box``.

    Parameters
    ----------
    box_lo, box_hi : (B, 2) float64
        Lower and upper corners of each box.
    normal : (L, 2) float64
    offset : (L,) float64
        Line ``l`` is ``normal[l] . p + offset[l] = 0``.
    pad : (L,) float64
        A pair meets when ``normal[l] . p + offset[l]`` is within ``pad[l]``
        of zero at some point ``p`` of the box.

    Returns
    -------
    box, line : (P,) int64
        Every pair that meets, sorted by box then line, each once.

    Examples
    --------
    >>> lo = np.array([[0.0, 0.0], [2.0, 0.0]])
    >>> hi = np.array([[1.0, 1.0], [3.0, 1.0]])
    >>> normal = np.array([[1.0, 0.0], [0.0, 1.0]])   # x = 0.5 and y = 2
    >>> boxes_meeting_lines(lo, hi, normal, np.array([-0.5, -2.0]), np.zeros(2))
    (array([0]), array([0]))
    """
    nbox, nline = len(box_lo), len(normal)
    if nbox == 0 or nline == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    lo_all, hi_all = box_lo.min(axis=0), box_hi.max(axis=0)
    magnitude = np.abs(lo_all) + np.abs(hi_all)
    extent = np.maximum(hi_all - lo_all, 1e-9 * magnitude + 1e-300)
    cells = int(np.clip(np.sqrt(nbox), 1, 4096))
    size = extent / cells
    # rounding of the cell tests: relative to the cells and to where the boxes sit
    slack = 1e-9 * (np.abs(normal) @ extent)
    slack += 1e-12 * (np.abs(normal) @ (magnitude + extent) + np.abs(offset))
    pad = np.maximum(pad, 0.0) + slack
    # a line of zero normal is all of the plane (within its pad of zero) or nothing
    flat = (normal == 0).all(axis=1)
    walk = (~flat).nonzero()[0]
    line, cell = _line_cells(normal[walk], offset[walk], pad[walk], lo_all, size, cells)
    line = walk[line]
    everywhere = (flat & (np.abs(offset) <= pad)).nonzero()[0]
    if len(everywhere):
        line = np.concatenate([line, np.repeat(everywhere, cells * cells)])
        cell = np.concatenate([cell, np.tile(np.arange(cells * cells), len(everywhere))])
    bx0, bx1 = _cell_range(box_lo[:, 0], box_hi[:, 0], lo_all[0], size[0], cells)
    by0, by1 = _cell_range(box_lo[:, 1], box_hi[:, 1], lo_all[1], size[1], cells)
    nx, ny = bx1 - bx0 + 1, by1 - by0 + 1
    own, k = expand(nx * ny)
    box_cell = (by0[own] + k // nx[own]) * cells + bx0[own] + k % nx[own]
    # join on the cell: for each (box, cell), the lines listed in that cell
    order = np.argsort(cell, kind="stable")
    cell_sorted, line_sorted = cell[order], line[order]
    first = np.searchsorted(cell_sorted, box_cell, side="left")
    last = np.searchsorted(cell_sorted, box_cell, side="right")
    pair_own, j = expand(last - first)
    boxes = own[pair_own]
    lines = line_sorted[first[pair_own] + j]
    # the exact (padded) test on the box's corners, then each pair once
    n, o = normal[lines], offset[lines]
    lo, hi = box_lo[boxes], box_hi[boxes]
    vmin = o + np.minimum(n[:, 0] * lo[:, 0], n[:, 0] * hi[:, 0])
    vmin += np.minimum(n[:, 1] * lo[:, 1], n[:, 1] * hi[:, 1])
    vmax = o + np.maximum(n[:, 0] * lo[:, 0], n[:, 0] * hi[:, 0])
    vmax += np.maximum(n[:, 1] * lo[:, 1], n[:, 1] * hi[:, 1])
    meets = (vmin <= pad[lines]) & (vmax >= -pad[lines])
    key = np.unique(boxes[meets] * np.int64(nline) + lines[meets])
    return key // nline, key % nline
