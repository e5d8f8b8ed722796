"""The lab's networks: its random init, a network with the most regions, and a box for the plane.

Networks are given in the lab's notation ``widths = [2, n_1, ..., n_L, 1]``
(input, hidden widths, output).  Note that :mod:`regionscope.bounds` takes
``[n_0, n_1, ..., n_L]`` without the output width.

* :func:`lab_network` -- the lab's init, ``np.random.default_rng(seed)``;
* :func:`max_regions_network` -- a ``[2, m, 1]`` network reaching
  :func:`regionscope.bounds.zaslavsky` ``(m, 2)`` regions in a domain;
* :func:`arrangement_box` -- a box every region of a one-hidden-layer network
  meets, to count the regions of the whole plane;
* :func:`one_hidden_layer` -- the two :class:`~regionscope.Linear` layers of a
  ``Sequential(Linear, ReLU, Linear)`` (used by the other lab modules).

Examples
--------
>>> import regionscope as rs
>>> net = lab_network([2, 4, 1], seed=LAB_SEED)
>>> rs.partition(net, arrangement_box(net)).num_regions   # four lines in general position
11
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np

from regionscope.domains import Box, Polygon
from regionscope.network.layers import Layer, Linear, ReLU, Sequential
from regionscope.tolerances import get_tolerance

from .arguments import check_domain_2d, check_int, check_int_list

__all__ = [
    "LAB_DOMAIN",
    "LAB_SEED",
    "lab_network",
    "max_regions_network",
    "arrangement_box",
    "one_hidden_layer",
]

#: the lab's window ``[-2, 2]^2``
LAB_DOMAIN = Box(2.0)
#: the seed of the lab's default network (:func:`regionscope.lab.run_lab01`)
LAB_SEED = 0


def one_hidden_layer(model: Any) -> tuple[Linear, Linear] | None:
    """``(first, last)`` Linear of a ``Sequential(Linear, ReLU, Linear)``, else ``None``.

    Parameters
    ----------
    model : Any
        Any object; only a :class:`~regionscope.Sequential` of exactly a
        :class:`~regionscope.Linear`, a :class:`~regionscope.ReLU` (not a
        subclass such as LeakyReLU) and a :class:`~regionscope.Linear` matches.

    Returns
    -------
    tuple of Linear or None
        ``(Linear W1 (m, n_in), Linear W2 (n_out, m))``.

    Examples
    --------
    >>> first, last = one_hidden_layer(lab_network([2, 4, 1]))
    >>> first.weight.shape, last.weight.shape
    ((4, 2), (1, 4))
    >>> one_hidden_layer(lab_network([2, 4, 4, 1])) is None
    True
    """
    if (
        isinstance(model, Sequential)
        and len(model) == 3
        and isinstance(model[0], Linear)
        and type(model[1]) is ReLU
        and isinstance(model[2], Linear)
    ):
        return model[0], model[2]
    return None


def lab_network(widths: Sequence[int] = (2, 4, 1), seed: int = LAB_SEED) -> Sequential:
    """A ReLU network with the lab's init.

    ``rng = np.random.default_rng(seed)`` draws, for each layer in turn, the
    weight ``(n_out, n_in)`` and then the bias ``(n_out,)`` (both float64)
    from the standard normal distribution; every layer but the last is
    followed by a ReLU.

    Parameters
    ----------
    widths : sequence of int
        ``[n_in, n_1, ..., n_L, n_out]``, at least two entries, each at least
        1; the lab's network is ``[2, 4, 1]``.
    seed : int
        At least 0.

    Returns
    -------
    Sequential
        ``Sequential(Linear, ReLU, ..., Linear)``.

    Raises
    ------
    TypeError
        ``widths`` is not a sequence of integers, or ``seed`` not an integer.
    ValueError
        Fewer than two widths, a width below 1, or a negative seed.

    Examples
    --------
    >>> net = lab_network([2, 4, 1], seed=0)
    >>> [type(layer).__name__ for layer in net.layers]
    ['Linear', 'ReLU', 'Linear']
    >>> net(np.zeros((1, 2))).shape
    (1, 1)
    """
    w = check_int_list(widths, "widths", 1)
    if len(w) < 2:
        raise ValueError(f"widths must have at least 2 entries [n_in, n_out], got {list(w)}")
    seed = check_int(seed, "seed", 0)
    rng = np.random.default_rng(seed)
    layers: list[Layer] = []
    for i, (n_in, n_out) in enumerate(zip(w[:-1], w[1:], strict=True)):
        weight = rng.standard_normal((n_out, n_in))
        bias = rng.standard_normal(n_out)
        layers.append(Linear(weight, bias))
        if i < len(w) - 2:
            layers.append(ReLU())
    return Sequential(*layers)


def max_regions_network(m: int, domain: Any = None, seed: int = 0) -> Sequential:
    """A ``[2, m, 1]`` ReLU network with the most regions possible in ``domain``.

    The ``m`` hidden neurons' zero lines are tangent to one circle at distinct
    angles spread over ``2 pi / 3``: no two tangents of a circle at angles
    less than ``pi`` apart are parallel and no three tangents of a circle
    meet in a point, so the lines are in general position, and every two of
    them cross at distance at most ``r / cos(pi / 3) = 2 r`` from the centre.
    The centre is the mean of the domain's corners and ``2 r`` is 0.9 times the
    distance from it to the nearest side, so all ``C(m, 2)`` crossings lie
    inside the domain and the domain holds all
    :func:`regionscope.bounds.zaslavsky` ``(m, 2)`` regions of the
    arrangement.

    Parameters
    ----------
    m : int
        Number of hidden neurons, ``m >= 1``.
    domain : Box or Polygon, optional
        Default ``Box(1.0)``.  A domain whose network input is the domain
        point itself (not a :class:`~regionscope.Plane`).
    seed : int
        Draws the angles (sorted, uniform, at least a tenth of the even
        spacing apart), the neurons' orientations (the sign of each row of
        ``W1``, which flips the pattern, not the lines) and the output layer.

    Returns
    -------
    Sequential
        ``Sequential(Linear(W1 (m, 2), b1 (m,)), ReLU(), Linear(W2 (1, m), b2 (1,)))``,
        float64.

    Raises
    ------
    TypeError
        ``domain`` is not a Box or Polygon; ``m`` or ``seed`` not an integer.
    ValueError
        ``m < 1`` or ``seed < 0``.

    Examples
    --------
    >>> import regionscope as rs
    >>> net = max_regions_network(4)
    >>> rs.partition(net, rs.Box(1.0)).num_regions
    11
    """
    m = check_int(m, "m", 1)
    seed = check_int(seed, "seed", 0)
    dom = Box(1.0) if domain is None else check_domain_2d(domain)
    if not isinstance(dom, Polygon):
        raise TypeError(
            f"domain must be a Box or Polygon (network input = domain point), got {dom!r}"
        )
    poly = dom.polygon
    centre = poly.mean(axis=0)
    edge = np.roll(poly, -1, axis=0) - poly
    rel = centre - poly
    dist = np.abs(edge[:, 0] * rel[:, 1] - edge[:, 1] * rel[:, 0]) / np.hypot(
        edge[:, 0], edge[:, 1]
    )
    radius = 0.45 * float(dist.min())
    rng = np.random.default_rng(seed)
    spread = 2.0 * math.pi / 3.0
    # m angles in [0, spread): even spacing jittered by at most 45% of the gap
    gap = spread / m
    angles = (np.arange(m) + 0.5 + rng.uniform(-0.45, 0.45, m)) * gap
    angles += rng.uniform(0.0, 2.0 * math.pi)  # a random rotation
    normals = np.stack([np.cos(angles), np.sin(angles)], axis=1)  # (m, 2)
    signs = rng.choice([-1.0, 1.0], size=m)
    # tangent line at angle a: normal(a) . (x - centre) = radius
    w1 = signs[:, None] * normals
    b1 = -signs * (normals @ centre + radius)
    w2 = rng.standard_normal((1, m))
    b2 = rng.standard_normal(1)
    return Sequential(Linear(w1, b1), ReLU(), Linear(w2, b2))


def arrangement_box(model: Sequential, margin: float = 0.5) -> Box:
    """A box that meets every activation region of a one-hidden-layer network in ``R^2``.

    The regions of ``x -> W2 relu(W1 x + b1) + b2`` on the whole plane are the
    cells of the arrangement of the lines ``(W1 x + b1)_j = 0``.  Every cell
    has a crossing of two lines on its boundary, unless all lines are
    parallel; then every cell meets the segment joining the lines' points
    nearest the origin.  The returned square holds all crossings and those
    points with a margin, so partitioning it counts the regions of the whole
    plane.

    Parameters
    ----------
    model : Sequential
        ``Sequential(Linear (m, 2), ReLU(), Linear)``.
    margin : float
        The half width is ``(1 + margin) * r + 1`` where ``r`` is the points'
        largest coordinate magnitude; finite, at least 0.

    Returns
    -------
    Box
        A square centred at the origin.

    Raises
    ------
    TypeError
        ``model`` is not such a network.
    ValueError
        ``margin`` is negative or not finite.

    Examples
    --------
    >>> net = Sequential(Linear([[1.0, 0.0], [0.0, 1.0]], [-5.0, 0.0]), ReLU(),
    ...                  Linear([[1.0, 1.0]]))
    >>> arrangement_box(net).bounds
    (-8.5, 8.5, -8.5, 8.5)
    """
    layers = one_hidden_layer(model)
    if layers is None or layers[0].weight.shape[1] != 2:
        raise TypeError(
            "arrangement_box needs a Sequential(Linear(W1 (m, 2), b1), ReLU(), Linear) "
            f"as model, got {model!r}"
        )
    if (
        isinstance(margin, bool)
        or not isinstance(margin, numbers.Real)
        or not (math.isfinite(margin) and margin >= 0)
    ):
        raise ValueError(f"margin must be a finite number >= 0, got {margin!r}")
    first = layers[0]
    w = np.asarray(first.weight, dtype=np.float64)
    b = np.zeros(len(w)) if first.bias is None else np.asarray(first.bias, dtype=np.float64)
    norm2 = (w**2).sum(axis=1)
    keep = norm2 > 0  # a zero row is a constant neuron: no line
    w, b, norm2 = w[keep], b[keep], norm2[keep]
    points = [-(b / norm2)[:, None] * w]  # nearest points to the origin
    i, j = np.triu_indices(len(w), k=1)
    det = w[i, 0] * w[j, 1] - w[i, 1] * w[j, 0]
    scale = np.sqrt(norm2[i] * norm2[j])
    crossing = np.abs(det) > get_tolerance().collinear_rtol * scale
    i, j, det = i[crossing], j[crossing], det[crossing]
    # solve w_i . x = -b_i, w_j . x = -b_j by Cramer's rule
    x = (-b[i] * w[j, 1] + b[j] * w[i, 1]) / det
    y = (-w[i, 0] * b[j] + w[j, 0] * b[i]) / det
    points.append(np.stack([x, y], axis=1))
    allp = np.concatenate(points)
    reach = float(np.abs(allp).max()) if len(allp) else 0.0
    return Box(reach * (1.0 + margin) + 1.0)
