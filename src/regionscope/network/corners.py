"""A region's pattern from its corners: bits packed once per vertex, words per corner.

:meth:`Evaluator.region_patterns
<regionscope.network.evaluate.Evaluator.region_patterns>` combines, for every
region, what the values at its corners say about each unit
(:meth:`Piecewise.corner_bits <regionscope.network.layers.Piecewise.corner_bits>`):
some columns by ``and`` over the corners, the others by ``or``.  A vertex is a
corner of several regions (four, typically), and a layer has thousands of
bits, so :func:`combine_corners` packs each vertex's bits into 64-bit words
once, gathers the words for each corner (a region's incidence), and reduces
them per region.  The corners that lie on a side made by a unit say nothing
about that unit (:meth:`Piecewise.neutral_bits
<regionscope.network.layers.Piecewise.neutral_bits>`): for the layers whose
bits are side bits (:mod:`~regionscope.network.evidence`: ReLU and its
variants, HardTanh), that is a few bits set or cleared in those corners'
words; for a layer of unknown layout, the corners' bits are gathered whole
and neutralised by the layer itself.

Examples
--------
>>> import numpy as np
>>> from regionscope.network.layers import ReLU
>>> relu = ReLU()
>>> bits = relu.corner_bits(np.array([[1.0], [-1.0], [0.0]]), np.array([1e-12]))
>>> # one region with corners 0 and 2, one with corners 1 and 2
>>> combined = combine_corners(relu, 1, bits, np.array([0, 2, 1, 2]), np.array([0, 2]))
>>> relu.pattern_from_bits(combined).tolist()
[[True], [False]]
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

from regionscope.geometry.arrays import expand, pack_bits, unpack_bits
from regionscope.geometry.mesh import decode_source
from regionscope.tolerances import NOISE_FRACTION

from .layers import HardTanh, MaxPool, Piecewise, ReLU

__all__ = [
    "combine_corners",
    "combine_words",
    "on_own_sides",
    "side_blocks",
    "side_pattern",
    "plain_sides",
    "VertexWords",
]

#: the word of each of the 64 bit positions, as :func:`pack_bits` lays them out
_BIT = pack_bits(np.eye(64, dtype=bool))[:, 0]


def side_blocks(layer: Piecewise, width: int) -> tuple[int, ...] | None:
    """The first columns of the side-bit blocks that ``layer.neutral_bits`` neutralises.

    Each block holds :func:`~regionscope.network.evidence.side_bits` of the
    ``width`` units (``4 * width`` columns).  ``()`` for a layer whose
    neutral bits change nothing (max, argmax); ``None`` for a layer of unknown
    layout (its own :meth:`neutral_bits` then runs on the gathered bits).

    >>> side_blocks(ReLU(), 3), side_blocks(HardTanh(), 3), side_blocks(MaxPool([[0, 1]]), 2)
    ((0,), (0, 12), ())
    """
    own = type(layer).neutral_bits
    if own is ReLU.neutral_bits:
        return (0,)
    if own is HardTanh.neutral_bits:
        return (0, 4 * width)
    if own is MaxPool.neutral_bits:
        return ()
    return None


class VertexWords:
    """A layer's corner bits at some vertices, packed: what :func:`combine_words` reads.

    Attributes
    ----------
    every : (B,) bool
        Which columns combine by ``and`` (``layer.every_corner(width)``).
    words : tuple
        ``(and words (V, Wa) uint64, or words (V, Wo) uint64)``: the columns
        ``every`` and ``~every``, packed 64 to a word (:func:`pack_bits`).
    raw : (V, B) bool or None
        The bits themselves, kept only for a layer whose neutral bits follow a
        layout regionscope does not know (:func:`side_blocks` is ``None``).
    """

    def __init__(self, layer: Any, width: int, bits: np.ndarray, zero_units: Any = None) -> None:
        if zero_units is not None and len(zero_units):  # the same at every corner of a vertex
            rows = np.repeat(np.arange(len(bits)), len(zero_units))
            layer.neutral_bits(bits, rows, np.tile(zero_units, len(bits)))
        self.layer, self.width = layer, width
        self.every = layer.every_corner(width)
        self.blocks = side_blocks(layer, width)
        self.raw = bits if self.blocks is None else None
        self.words = tuple(_pack_columns(bits, cols) for cols in (self.every, ~self.every))

    @classmethod
    def join(cls, parts: list[VertexWords]) -> VertexWords:
        """The words of several groups of vertices, one after another."""
        out = copy.copy(parts[0])
        out.words = tuple(np.concatenate([p.words[k] for p in parts]) for k in range(2))
        if out.raw is not None:
            out.raw = np.concatenate([p.raw for p in parts])  # type: ignore[misc]
        return out


def combine_corners(
    layer: Any,
    width: int,
    bits: np.ndarray,
    local: np.ndarray,
    starts: np.ndarray,
    on_sides: tuple[np.ndarray, np.ndarray] | None = None,
    zero_units: np.ndarray | None = None,
) -> np.ndarray:
    """Every region's corner bits combined: ``(F, B) bool``, ready for ``pattern_from_bits``.

    Parameters
    ----------
    layer : Piecewise
    width : int
        The layer's input width.
    bits : (V, B) bool
        :meth:`corner_bits` at the vertices (changed in place where
        ``zero_units`` are given).
    local : (I,) int64
        The vertex (row of ``bits``) of each corner, regions one after another.
    starts : (F,) int64
        The first corner of each region.
    on_sides : tuple, optional
        ``(corner (k,), unit (k,))``: corners lying on a side made by that
        unit, which say nothing about it.
    zero_units : (z,) int, optional
        Units no corner says anything about (zero on the whole domain).

    Returns
    -------
    (F, B) bool
        Column ``b`` combined by ``and`` over each region's corners where
        ``layer.every_corner(width)[b]``, by ``or`` elsewhere.
    """
    return combine_words(VertexWords(layer, width, bits, zero_units), local, starts, on_sides)


def combine_words(
    vw: VertexWords,
    local: np.ndarray,
    starts: np.ndarray,
    on_sides: tuple[np.ndarray, np.ndarray] | None = None,
) -> np.ndarray:
    """:func:`combine_corners` from bits packed per vertex (:class:`VertexWords`).

    >>> relu = ReLU()
    >>> vw = VertexWords(relu, 2, relu.corner_bits(np.array([[1.0, -1.0], [2.0, 1.0]])))
    >>> relu.pattern_from_bits(combine_words(vw, np.array([0, 1, 1]), np.array([0, 2])))
    array([[ True,  True],
           [ True,  True]])
    """
    every = vw.every
    ncols = len(every)
    combined = np.empty((len(starts), ncols), dtype=bool)
    if on_sides is not None and len(on_sides[0]) and vw.raw is not None:
        at_corners = vw.raw[local]  # a layout the layer alone knows: gathered whole
        vw.layer.neutral_bits(at_corners, *on_sides)
        vw = VertexWords(vw.layer, vw.width, at_corners)
        local, on_sides = np.arange(len(at_corners)), None
    for k, (cols, combine) in enumerate(((every, np.bitwise_and), (~every, np.bitwise_or))):
        if not cols.any():
            continue
        words = vw.words[k][local]
        if on_sides is not None and vw.blocks:
            _neutralise(words, vw, local, on_sides, combine is np.bitwise_and)
        out = unpack_bits(combine.reduceat(words, starts, axis=0), int(cols.sum()))
        at = 0
        for a, b in _runs(cols):
            combined[:, a:b] = out[:, at : at + b - a]
            at += b - a
    return combined


def on_own_sides(
    sources: np.ndarray, starts: np.ndarray, index: int
) -> tuple[np.ndarray, np.ndarray]:
    """``(incidence (k,), unit (k,))`` pairs where the corner lies on a side made by
    ``unit`` of op ``index`` (the side leaving it, or the side arriving at it).

    ``sources (I,)`` are the corners' incidence sources
    (:func:`~regionscope.geometry.encode_source`), regions one after another
    from ``starts (F,)``: what :func:`combine_words` takes as ``on_sides``.

    >>> from regionscope.geometry import encode_source
    >>> src = encode_source(2, np.array([5, 7, 9]))      # one triangle, all sides by op 2
    >>> [a.tolist() for a in on_own_sides(src, np.array([0]), 2)]
    [[0, 1, 2, 0, 1, 2], [5, 7, 9, 9, 5, 7]]
    """
    layer, unit = decode_source(sources)
    prev = np.arange(len(sources)) - 1
    prev[starts] = np.append(starts[1:], len(sources)) - 1  # the last corner of each region
    rows = [np.flatnonzero(layer == index), np.flatnonzero(layer[prev] == index)]
    units = [unit[rows[0]], unit[prev][rows[1]]]
    return np.concatenate(rows), np.concatenate(units)


def plain_sides(layer: Any) -> bool:
    """Whether ``layer``'s pattern is :func:`side_pattern` of its input (a ReLU and its
    variants whose corner bits are the plain side bits)."""
    kind = type(layer)
    return (
        isinstance(layer, ReLU)
        and kind.corner_bits is ReLU.corner_bits
        and kind.neutral_bits is ReLU.neutral_bits
        and kind.pattern_from_bits is ReLU.pattern_from_bits
    )


def side_pattern(
    z: np.ndarray,
    tol: np.ndarray | float,
    local: np.ndarray,
    starts: np.ndarray,
    on_sides: tuple[np.ndarray, np.ndarray] | None = None,
) -> np.ndarray:
    """``(F, n) bool``: each region's side of each unit from the values ``z (V, n)`` at the
    vertices: the same as :func:`combine_corners` of the :func:`side_bits
    <regionscope.network.evidence.side_bits>` followed by :func:`side_from_bits
    <regionscope.network.evidence.side_from_bits>`, without the four bit blocks.

    A corner beyond the tolerance decides (``or`` over the corners of ``z > tol``,
    then of ``z < -tol``, on bits packed per vertex); only the units of a region
    whose corners all lie inside the band are settled from the corners' lean,
    one by one (corners ``on_sides`` of a unit say nothing about it).

    >>> z = np.array([[2.0, -1.0], [-1e-13, -1.0], [5e-12, 1e-13]])
    >>> side_pattern(z, 1e-11, np.array([0, 1, 1, 2]), np.array([0, 2])).tolist()
    [[True, False], [False, False]]
    """
    n = z.shape[1]
    t = np.broadcast_to(np.asarray(tol, dtype=np.float64), (n,))
    above = _or_over_corners(z > t, local, starts, n)
    below = _or_over_corners(z < -t, local, starts, n)
    region, unit = np.nonzero(~above & ~below)  # every corner inside the band
    if len(region):
        sizes = np.diff(np.append(starts, len(local)))[region]
        own, k = expand(sizes)
        corner = starts[region][own] + k
        vals = z[local[corner], unit[own]]
        neutral = np.zeros(len(corner), dtype=bool)
        if on_sides is not None and len(on_sides[0]):
            keys = corner * n + unit[own]
            neutral = np.isin(keys, on_sides[0].astype(np.int64) * n + on_sides[1])
        noise = NOISE_FRACTION * t[unit[own]]
        first = np.append(0, np.cumsum(sizes)[:-1])
        lean = np.logical_or.reduceat((vals > noise) & ~neutral, first)
        nonneg = np.logical_and.reduceat((vals >= -noise) | neutral, first)
        above[region, unit] = lean & nonneg
    return above


def _or_over_corners(
    bits: np.ndarray, local: np.ndarray, starts: np.ndarray, n: int
) -> np.ndarray:
    """``(F, n) bool``: ``or`` of ``bits (V, n)`` over each region's corners, packed."""
    packed = np.packbits(bits, axis=1)
    pad = -packed.shape[1] % 8
    if pad:
        packed = np.concatenate([packed, np.zeros((len(packed), pad), np.uint8)], axis=1)
    words = np.ascontiguousarray(packed).view(np.uint64)
    combined = np.bitwise_or.reduceat(words[local], starts, axis=0)
    return np.unpackbits(combined.view(np.uint8), axis=1, count=n).astype(bool)


def _pack_columns(bits: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """``pack_bits(bits[:, cols])``, copying the columns by runs (far faster than a mask)."""
    runs = _runs(cols)
    if not runs:
        return np.zeros((len(bits), 0), dtype=np.uint64)
    return pack_bits(np.concatenate([bits[:, a:b] for a, b in runs], axis=1))


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """``[(start, stop), ...]``: the runs of true entries of ``mask (B,) bool``.

    >>> _runs(np.array([True, True, False, True]))
    [(0, 2), (3, 4)]
    """
    edges = np.flatnonzero(np.diff(np.concatenate([[0], mask.astype(np.int8), [0]])))
    return [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2], strict=True)]


def _bit(words: np.ndarray, rows: np.ndarray, pos: np.ndarray) -> np.ndarray:
    """Bit ``pos`` (a position among packed columns) of rows ``rows`` of ``words``."""
    return (words[rows, pos >> 6] & _BIT[pos & 63]) != 0


def _neutralise(
    words: np.ndarray,
    vw: VertexWords,
    local: np.ndarray,
    on_sides: tuple[np.ndarray, np.ndarray],
    every: bool,
) -> None:
    """:func:`~regionscope.network.evidence.neutral_side_bits` on the corners' packed words
    (in place): a corner inside a unit's band (neither beyond its tolerance), on the unit's
    own side, leans neither way (its ``or`` bit cleared, its ``and`` bit set)."""
    corner, unit = on_sides
    blocks = vw.blocks or ()
    n = len(vw.every) // (4 * len(blocks))
    rank_or = np.cumsum(~vw.every) - 1  # column -> position among the packed columns
    rank_and = np.cumsum(vw.every) - 1
    vertex = local[corner]
    or_words = vw.words[1]
    for b0 in blocks:
        beyond = _bit(or_words, vertex, rank_or[b0 + unit])
        beyond |= _bit(or_words, vertex, rank_or[b0 + n + unit])
        rows, units = corner[~beyond], unit[~beyond]
        if every:
            pos = rank_and[b0 + 3 * n + units]
            np.bitwise_or.at(words, (rows, pos >> 6), _BIT[pos & 63])
        else:
            pos = rank_or[b0 + 2 * n + units]
            np.bitwise_and.at(words, (rows, pos >> 6), ~_BIT[pos & 63])
