"""A 2-D partition by a chain of Linear and ReLU layers, in one compiled call.

The counterpart, for a polygon, of :func:`.line.chain`: the unit tolerances and the
folded first layers (:func:`.dense.chain_scales`), the first ReLU's input at the
vertices from the folded map, then for every ReLU the crossed pairs
(:mod:`.pairs`), the cut (:mod:`.cut`, the kernel the driver calls), the values
carried to the new vertices (:mod:`.interp`) and the next Linear layers at the
vertices (:func:`.dense.times`), with no Python in between.

It makes the cuts the driver makes, by the same kernels and the same snapping
rule; its matrix products add in their own order, so its numbers may differ from
the driver's in the last bits (the same partition, not the same bits).  It takes
the common case only and hands over where the driver does more: a cut with
regions to cut again one unit at a time, past a limit, a value that is not
finite, a mesh past ``most_regions`` after a layer (wide products are the
driver's, with NumPy's matrix products), a table of values past ``limit``.  It
then returns the mesh, how many ReLUs it finished, and the values it holds at the
vertices, for the driver to go on from.
"""

from __future__ import annotations

import numba
import numpy as np
from numba import types

from .common import F1, F2, I1
from .cut import DONE, cut_kernel
from .dense import add_bias, as_lists, chain_scales, check_chain, relu_span, times, transposed
from .interp import interpolate_kernel
from .line import CHAIN_SIZES
from .pairs import pairs_kernel

__all__ = ["chain_2d", "FINISHED"]

#: ``done`` of :func:`chain_2d` where it made every cut (else the ReLUs it finished)
FINISHED = -1

#: :func:`chain_2d`'s statuses: every cut made (or handed over, see ``done``); the
#: layers do not follow one another
OK, MISMATCH = 0, 4

def _chain_2d(
    weights, biases, n_linear, relu_mask, bias_mask, relu_codes, corners, lift_lin, lift_off,
    vertices, rv, offsets, source, value_rtol, point_tol, near_tol, turn_rtol, budget, limit,
    max_regions, most_regions, most_products, keep_values,
):  # fmt: skip
    dim = corners.shape[1]
    ws, bs = as_lists(weights, biases, n_linear)
    empty = np.zeros(0)
    if relu_mask == 0 or not check_chain(ws, bs, n_linear, bias_mask, len(lift_off)):
        return MISMATCH, 0, vertices, rv, offsets, source, empty, np.zeros((0, 0)), 0
    tols, out_tol, fold = chain_scales(
        ws, bs, n_linear, relu_mask, bias_mask, corners, lift_lin, lift_off, value_rtol
    )
    first, last = relu_span(relu_mask, n_linear)
    # the result: tolerances of every ReLU and of the outputs, the folded map (rows, offset)
    n_fold = fold.shape[1] if first else 0
    res = np.empty(len(tols) + len(out_tol) + (dim + 1) * n_fold)
    res[: len(tols)] = tols
    res[len(tols) : len(tols) + len(out_tol)] = out_tol
    if n_fold:
        res[len(tols) + len(out_tol) :] = fold.ravel()
    # the first ReLU's input at the vertices, from the folded map
    width = fold.shape[1]
    x = np.empty((len(vertices), width))
    for v in range(len(vertices)):
        for k in range(width):
            acc = fold[dim, k]
            for j in range(dim):
                acc += vertices[v, j] * fold[j, k]
            x[v, k] = acc
    no_active = np.zeros((1, 1), dtype=np.bool_)
    t = 0
    done = 0
    for j in range(first, last + 1):
        if (relu_mask >> j) & 1:
            tol = tols[t : t + width]
            t += width
            nregions = len(offsets) - 1
            if nregions > most_regions or len(x) * width > limit:
                return OK, done, vertices, rv, offsets, source, res, x, done
            for v in range(len(x)):  # finite (else the driver refuses it)
                for k in range(width):
                    if not np.isfinite(x[v, k]):
                        return OK, done, vertices, rv, offsets, source, res, x, done
            pair_region, pair_unit = pairs_kernel(x, tol, rv, offsets, no_active, False)
            if len(pair_region):
                codes = np.empty(width, dtype=np.int64)
                for k in range(width):
                    codes[k] = relu_codes[done] | k  # encode_source(op, k)
                out = cut_kernel(vertices, rv, offsets, source, x, tol, pair_region, pair_unit,
                                 codes, point_tol, near_tol, turn_rtol, budget, max_regions)
                status = out[0]
                bad = out[12]
                if status != DONE or len(bad):
                    return OK, done, vertices, rv, offsets, source, res, x, done
                vertices, rv, offsets, source = out[3], out[4], out[5], out[6]
                if j != last or keep_values:
                    x = interpolate_kernel(x, out[8], out[9], out[10])
            done += 1
            if j != last and len(offsets) - 1 > most_regions:  # before the next products
                return OK, done, vertices, rv, offsets, source, res, x, done - 1
        if j == last:
            break
        width = ws[j].shape[0]
        relu_before = (relu_mask >> j) & 1 == 1  # x: the input of ReLU done - 1
        if len(x) * width > limit or len(x) * x.shape[1] * width > most_products:
            return OK, done, vertices, rv, offsets, source, res, x, done - 1 if relu_before else -1
        x = times(x, transposed(ws[j]), relu_before)
        if (bias_mask >> j) & 1:
            add_bias(x, bs[j])
    if keep_values:  # the values at the vertices, for the layers after the chain
        # the Linear layers after the last ReLU here too, unless a product is too large
        rows = len(x)
        width = x.shape[1]
        for j in range(last, n_linear):
            out_width = ws[j].shape[0]
            if rows * out_width > limit or rows * width * out_width > most_products:
                return OK, done, vertices, rv, offsets, source, res, x, done - 1
            width = out_width
        for j in range(last, n_linear):
            x = times(x, transposed(ws[j]), j == last)
            if (bias_mask >> j) & 1:
                add_bias(x, bs[j])
        if last == n_linear:  # (a ReLU last: its input, the caller takes its maximum)
            return OK, done, vertices, rv, offsets, source, res, x, done - 1
        return OK, done, vertices, rv, offsets, source, res, x, done
    return OK, FINISHED, vertices, rv, offsets, source, res, np.zeros((0, 0)), 0


def _signature(size: int) -> tuple:
    return (
        types.UniTuple(F2, size), types.UniTuple(F1, size), types.int64, types.int64,
        types.int64, I1, F2, F2, F1, F2, I1, I1, I1, types.float64, types.float64,
        types.float64, types.float64, types.int64, types.int64, types.int64, types.int64,
        types.int64, types.boolean,
    )  # fmt: skip


_chain_2d = numba.njit([_signature(size) for size in CHAIN_SIZES], cache=True)(_chain_2d)


def chain_2d(*args: object) -> tuple:
    """The 2-D partition of a chain of Linear and ReLU layers, from a mesh, in one call.

    Parameters (in order)
    ---------------------
    weights, biases : tuples of ``CHAIN_SIZES[k]`` read-only float64 arrays
        The Linear layers ``(out, in)`` and their biases (empty arrays beyond
        ``n_linear`` and where a layer has no bias), as
        :func:`regionscope.compute.chain.describe_chain` makes them.
    n_linear, relu_mask, bias_mask : int
        How many Linear layers; bit ``j``: a ReLU before Linear layer ``j`` (``n_linear``:
        after the last); bit ``j``: layer ``j`` has a bias.
    relu_codes : (R,) int64
        The edge code of unit 0 of each ReLU, in order (``encode_source(op index, 0)``,
        :func:`~regionscope.geometry.mesh.encode_source`): unit ``k``'s is that ``| k``.
    corners : (K, 2) float64
        The points whose magnitudes give the unit scales (the domain's corners).
    lift_lin, lift_off : (2, D), (D,) float64
        The lift ``u -> u @ lift_lin + lift_off`` to the network's input.
    vertices, rv, offsets, source
        The mesh to cut (:class:`~regionscope.geometry.mesh.Mesh`'s arrays).
    value_rtol, point_tol, near_tol, turn_rtol : float
        The snapping rule's factor, and the cut's tolerances.
    budget : int
        The cut's budget of crossings.
    limit : int
        The most values a table at the vertices may hold.
    max_regions, most_regions, most_products : int
        The cut's limit; the most regions a layer may start from here; the most
        multiply-adds of a matrix product here (larger ones are NumPy's, the driver's).
    keep_values : bool
        Whether the chain is the start of a network that goes on after it: then the last
        ReLU's input is carried to the new vertices of its cut too, and the mesh handed
        over after that ReLU (``done`` the number of ReLUs) instead of ``FINISHED``, with
        the chain's output at the vertices (the Linear layers after the last ReLU applied:
        ``x_relu`` is ``done``), or where the chain ends in a ReLU or one of those products
        is past the limits, the last ReLU's input (``x_relu`` is ``done - 1``).

    Returns
    -------
    status : int
        ``OK``, or ``MISMATCH`` where the widths do not follow one another.
    done : int
        ``FINISHED``, or how many ReLUs were applied before handing over.
    vertices, rv, offsets, source : arrays
        The mesh after them.
    res : (P,) float64
        The unit tolerances of each ReLU, those of the outputs, then (where Linear layers
        come before the first ReLU) the folded map's rows and offset, ``(3, width)``
        flat.
    x : (V, w) float64
        After a hand-over: the input of ReLU ``x_relu`` at the mesh's vertices, or with
        ``keep_values`` and ``x_relu == done``, the chain's output there (``done``,
        or ``done - 1`` when the hand-over comes before the Linear layers after ReLU
        ``done - 1``: their products are left to the caller's matrix products; -1 where
        it holds neither, between two Linear layers: the caller runs a forward pass).
    x_relu : int

    Examples
    --------
    >>> from regionscope.geometry.mesh import Mesh, encode_source
    >>> square = Mesh.from_polygon(np.array([[-1.0, -1.0], [1.0, -1.0], [1.0, 1.0],
    ...                                      [-1.0, 1.0]]))
    >>> ro = lambda a: np.require(a, np.float64, "C")
    >>> w = (ro(np.eye(2)),) + (ro(np.zeros((0, 0))),) * 7
    >>> b = (ro(np.zeros(2)),) + (ro(np.zeros(0)),) * 7
    >>> codes = encode_source(np.array([1]), 0)  # the ReLU is op 1
    >>> args = (w, b, 1, 0b10, 0b1, codes, square.vertices, ro(np.eye(2)), ro(np.zeros(2)),
    ...         square.vertices, square.region_vertices, square.region_offsets,
    ...         square.incidence_source, 1e-11, 1e-12, 1e-10, 1e-9, 10**6, 10**6, 100, 100,
    ...         10**6)
    >>> status, done, vertices, rv, offsets, source, res, x, x_relu = chain_2d(*args, False)
    >>> status, done, len(offsets) - 1  # the two axes cut the square in four
    (0, -1, 4)

    With ``keep_values``, the ReLU's input (the point itself) at the 9 vertices of the cut:

    >>> status, done, vertices, rv, offsets, source, res, x, x_relu = chain_2d(*args, True)
    >>> done, x_relu, x.shape, bool((x == vertices).all())
    (1, 0, (9, 2), True)
    """
    return _chain_2d(*args)
