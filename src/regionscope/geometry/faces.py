"""Faces of plane graphs given as twin half-edges, traced for many graphs at once.

Examples
--------
A square with one diagonal, as one graph: two triangles.

>>> import numpy as np
>>> xy = np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]])
>>> ring = [(0, 1), (1, 2), (2, 3), (3, 0)]
>>> orig = np.array([a for a, b in ring for _ in (0, 1)] + [0, 2])
>>> dest = np.array([b for a, b in ring for _ in (0, 1)] + [2, 0])
>>> orig[1:8:2], dest[1:8:2] = dest[1:8:2].copy(), orig[1:8:2].copy()
>>> outer = np.zeros(10, dtype=bool); outer[1:8:2] = True
>>> group, offsets, corners, _ = trace_faces(0 * orig, orig, dest, 0 * orig, xy, outer)
>>> np.diff(offsets).tolist(), sorted(corners.tolist())
([3, 3], [0, 0, 1, 2, 2, 3])
"""

from __future__ import annotations

import numpy as np

from .arrays import changes, lexsort2, order_cycles

__all__ = ["trace_faces"]


def trace_faces(
    group: np.ndarray,
    orig: np.ndarray,
    dest: np.ndarray,
    code: np.ndarray,
    vertices: np.ndarray,
    outer: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Faces of plane graphs given as twin half-edge pairs (``h`` and ``h ^ 1``).

    Parameters
    ----------
    group, orig, dest, code : (H,) int64
        Graph, origin vertex, destination vertex and source code of every
        half-edge; half-edges ``2j`` and ``2j + 1`` are twins.  Every graph is
        connected.
    vertices : (V, 2) float64
    outer : (H,) bool
        The half-edges of each graph's outer face (the outside of its
        boundary); that face is not returned.

    Returns
    -------
    face_group : (F,) int64
    face_offsets : (F+1,) int64
    face_vertices : (I,) int64
        Corners, counter-clockwise.
    face_source : (I,) int64
        Source code of the side leaving each corner.
    """
    h = len(orig)
    d = vertices[dest] - vertices[orig]
    angle = np.arctan2(d[:, 1], d[:, 0])
    # half-edges around each (graph, vertex), by angle
    order = lexsort2(angle, group * np.int64(len(vertices)) + orig)
    pos = np.empty(h, dtype=np.int64)
    pos[order] = np.arange(h)
    start = changes(group[order], orig[order])
    fan_start = np.maximum.accumulate(np.where(start, np.arange(h), 0))
    end = np.empty(h, dtype=bool)
    end[:-1] = start[1:]
    end[-1:] = True
    fan_end = np.minimum.accumulate(np.where(end, np.arange(h), h)[::-1])[::-1]
    # the face to the left of h continues with the half-edge just clockwise of its twin
    twin_pos = pos[np.arange(h) ^ 1]
    prev = np.where(twin_pos == fan_start[twin_pos], fan_end[twin_pos], twin_pos - 1)
    succ = order[prev]
    # faces inside never use the outer side of the boundary: trace the rest only
    inner = (~outer).nonzero()[0]
    local = np.full(h, -1, dtype=np.int64)
    local[inner] = np.arange(len(inner))
    label, rank = order_cycles(local[succ[inner]])
    idx = lexsort2(rank, label)
    lab = label[idx]
    idx = inner[idx]
    starts = changes(lab).nonzero()[0]
    offsets = np.append(starts, len(idx)).astype(np.int64)
    return group[idx[starts]], offsets, orig[idx], code[idx]
