"""The lab's exercises as experiments on exact partitions.

* :func:`region_count_stats` -- exact region counts of :func:`lab_network
  <regionscope.lab.networks.lab_network>` over many seeds (exercise 1);
* :func:`perturbation_series` -- regions of noisy copies of a network
  (exercise 2);
* :func:`check_affine` -- the network is affine on a region, with the
  region's map and the lab's formula ``W2 diag(sigma) W1`` (exercise 3).

Examples
--------
>>> import regionscope as rs
>>> from regionscope.lab import lab_network
>>> stats = region_count_stats([2, 4, 1], seeds=3, domain="plane")
>>> stats.counts.tolist(), stats.fraction_at_bound
([11, 11, 11], 1.0)
>>> part = rs.partition(lab_network([2, 4, 1], seed=0), rs.Box(2.0))
>>> all(check_affine(part, f, n=5).ok for f in range(part.num_regions))
True
"""

from __future__ import annotations

import dataclasses
import numbers
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

from regionscope import bounds
from regionscope.domains import Domain2D, Polygon
from regionscope.network.layers import Graph, Layer, Linear, Residual, Sequential
from regionscope.partitions import partition
from regionscope.tolerances import get_tolerance

from .arguments import check_domain_2d, check_int, check_int_list
from .figures import axes_or_new, draw_regions, new_figure
from .networks import LAB_DOMAIN, arrangement_box, lab_network, one_hidden_layer

__all__ = [
    "RegionCountStats",
    "PerturbationSeries",
    "AffineCheck",
    "region_count_stats",
    "perturbation_series",
    "check_affine",
]


# --------------------------------------------------------------------------------------
# exercise 1: counts over seeds


@dataclasses.dataclass(frozen=True)
class RegionCountStats:
    """Exact region counts of many randomly initialised networks.

    Attributes
    ----------
    widths : tuple of int
        ``[n_in, n_1, ..., n_L, n_out]`` (the lab's notation).
    seeds : (S,) int64
    counts : (S,) int64
        Exact number of regions of :func:`~regionscope.lab.networks.lab_network`
        ``(widths, seed)``.
    histogram : (max(counts) + 1,) int64
        ``np.bincount(counts)``: ``histogram[k]`` networks have ``k`` regions.
    bound : int
        :func:`regionscope.bounds.serra_upper` of the hidden widths (for one
        hidden layer, :func:`regionscope.bounds.zaslavsky`): the maximum over
        all weights on the whole input space.
    domain : Domain2D
        Where the regions were counted (for ``domain="plane"``, one box per
        network, see :func:`~regionscope.lab.networks.arrangement_box`; this
        holds the last one).
    """

    widths: tuple[int, ...]
    seeds: np.ndarray
    counts: np.ndarray
    histogram: np.ndarray
    bound: int
    domain: Any

    @property
    def fraction_at_bound(self) -> float:
        """Fraction of the networks reaching :attr:`bound`."""
        return float(np.mean(self.counts == self.bound))

    def plot(self, ax: Any = None, label: str | None = None, **bar_kw: Any) -> Any:
        """Bar chart of :attr:`histogram` with the bound marked.

        Parameters
        ----------
        ax : matplotlib Axes, optional
            Default: the axes of a new figure.
        label : str, optional
            Legend label of the bars.
        **bar_kw
            Passed to ``ax.bar``.

        Returns
        -------
        matplotlib Axes

        Examples
        --------
        >>> import pytest; _ = pytest.importorskip("matplotlib")
        >>> stats = region_count_stats([2, 2, 1], seeds=4)
        >>> ax = stats.plot()
        >>> len(ax.patches) == len(stats.histogram)
        True
        """
        ax = axes_or_new(ax)
        ks = np.arange(len(self.histogram))
        ax.bar(ks, self.histogram, width=0.8, label=label, **bar_kw)
        ax.axvline(self.bound, color="#c0392b", linestyle="--", label=f"bound {self.bound}")
        ax.set_xlabel("number of regions")
        ax.set_ylabel("networks")
        ax.set_xlim(-0.5, max(len(ks), self.bound + 1) + 0.5)
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.legend(frameon=False)
        return ax


def _seed_list(seeds: Any) -> list[int]:
    """``seeds`` (an int ``S`` for ``range(S)``, or integers) as a non-empty list."""
    if isinstance(seeds, numbers.Integral) and not isinstance(seeds, bool):
        return list(range(check_int(seeds, "seeds", 1)))
    seed_list = check_int_list(seeds, "seeds", 0)
    if not seed_list:
        raise ValueError("seeds must hold at least one seed, got none")
    return seed_list


def region_count_stats(
    widths: Sequence[int] = (2, 4, 1),
    seeds: int | Iterable[int] = 50,
    domain: Any = LAB_DOMAIN,
) -> RegionCountStats:
    """Exact region counts of :func:`~regionscope.lab.networks.lab_network` over seeds.

    Parameters
    ----------
    widths : sequence of int
        ``[2, n_1, ..., n_L, n_out]``.
    seeds : int or iterable of int
        An int ``S`` means ``range(S)``.
    domain : Domain2D, float or "plane"
        Where to count (default: the lab's window ``[-2, 2]^2``).  ``"plane"``
        counts the regions of the whole plane (one hidden layer only), in
        :func:`~regionscope.lab.networks.arrangement_box` of each network.

    Returns
    -------
    RegionCountStats

    Raises
    ------
    TypeError
        ``widths`` or ``seeds`` hold non-integers, or ``domain`` is no 2-D domain.
    ValueError
        ``widths`` is not ``[2, ..., n_out]`` with a hidden layer, no seed is
        given, or ``domain`` is a string other than ``"plane"`` (or
        ``"plane"`` with more than one hidden layer).

    Examples
    --------
    >>> stats = region_count_stats([2, 4, 1], seeds=5, domain="plane")
    >>> stats.counts.tolist(), stats.bound
    ([11, 11, 11, 11, 11], 11)
    """
    w = tuple(check_int_list(widths, "widths", 1))
    if len(w) < 3 or w[0] != 2:
        raise ValueError(
            f"widths must be [2, n_1, ..., n_out] (2 inputs, at least one hidden layer), got {w}"
        )
    seed_list = _seed_list(seeds)
    plane = isinstance(domain, str)
    if plane and domain != "plane":
        raise ValueError(f"domain must be a 2-D domain, a number or 'plane', got {domain!r}")
    if plane and len(w) != 3:
        raise ValueError(f"domain='plane' needs one hidden layer, got widths {w}")
    dom = None if plane else check_domain_2d(domain)
    counts = np.empty(len(seed_list), dtype=np.int64)
    for k, s in enumerate(seed_list):
        net = lab_network(w, s)
        if plane:
            dom = arrangement_box(net)
        counts[k] = partition(net, dom).num_regions
    bound = bounds.serra_upper([w[0], *w[1:-1]])
    return RegionCountStats(
        w, np.asarray(seed_list, dtype=np.int64), counts, np.bincount(counts), bound, dom
    )


# --------------------------------------------------------------------------------------
# exercise 2: perturbation


def _map_linear(layer: Layer, fn: Callable[[Linear], Linear]) -> Layer:
    """A copy of ``layer`` with every :class:`Linear` replaced by ``fn(linear)``."""
    if isinstance(layer, Linear):
        return fn(layer)
    if isinstance(layer, Sequential):
        return Sequential(*(_map_linear(sub, fn) for sub in layer.layers))
    if isinstance(layer, Residual):
        return Residual(_map_linear(layer.module, fn))
    if isinstance(layer, Graph):
        nodes = [(name, _map_linear(sub, fn), list(ins)) for name, sub, ins in layer.nodes]
        return Graph(nodes, layer.output)
    return layer


@dataclasses.dataclass(frozen=True)
class PerturbationSeries:
    """Partitions of noisy copies of a network.

    Attributes
    ----------
    eps : (K,) float64
    base : Partition
        The unperturbed network's partition.
    partitions : tuple of Partition
        ``partitions[k]`` for the weights ``W + eps[k] * Z``, ``Z`` standard
        normal noise (one draw shared by all ``eps``).
    figure : matplotlib Figure or None
    """

    eps: np.ndarray
    base: Any
    partitions: tuple[Any, ...]
    figure: Any = None

    @property
    def counts(self) -> np.ndarray:
        """``(K,) int64`` region counts."""
        return np.array([p.num_regions for p in self.partitions], dtype=np.int64)

    def shared_patterns(self) -> np.ndarray:
        """``(K,) float64``: fraction of each partition's patterns also in the base."""
        base = np.asarray(self.base.pattern_keys())
        return np.array(
            [float(np.isin(np.asarray(p.pattern_keys()), base).mean()) for p in self.partitions]
        )


def _check_eps(eps: Any) -> np.ndarray:
    """``eps`` as a non-empty ``(K,) float64`` array of finite numbers ``>= 0``."""
    try:
        eps_arr = np.asarray(eps, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        raise TypeError(f"eps must be a sequence of numbers, got {eps!r}") from None
    if len(eps_arr) == 0 or not np.all(np.isfinite(eps_arr)) or np.any(eps_arr < 0):
        raise ValueError(f"eps must be finite numbers >= 0, at least one, got {eps!r}")
    return eps_arr


def _noisy_copies(model: Layer, seed: int) -> Callable[[float], Layer]:
    """``eps -> model with W + eps * Z``, one draw ``Z`` from ``default_rng([1, seed])``."""
    rng = np.random.default_rng([1, seed])
    noise: dict[int, tuple[np.ndarray, np.ndarray | None]] = {}

    def draw(lin: Linear) -> Linear:
        z_w = rng.standard_normal(lin.weight.shape)
        z_b = None if lin.bias is None else rng.standard_normal(lin.bias.shape)
        noise[id(lin)] = (z_w, z_b)
        return lin

    _map_linear(model, draw)  # the draws, in a fixed order

    def noisy(e: float) -> Layer:
        def fn(lin: Linear) -> Linear:
            z_w, z_b = noise[id(lin)]
            bias = None if lin.bias is None or z_b is None else lin.bias + e * z_b
            return Linear(lin.weight + e * z_w, bias)

        return _map_linear(model, fn)

    return noisy


def perturbation_series(
    model: Layer,
    eps: Sequence[float] = (0.01, 0.1, 0.5, 1.0),
    seed: int = 0,
    domain: Any = LAB_DOMAIN,
    *,
    plot: bool = False,
) -> PerturbationSeries:
    """Regions of ``model`` with ``eps * N(0, I)`` noise added to its weights.

    One standard normal draw ``Z`` (from ``np.random.default_rng([1, seed])``,
    a stream unrelated to :func:`~regionscope.lab.networks.lab_network`'s
    ``default_rng(seed)``, so the noise of seed 0 is not the weights of the
    lab's network of seed 0; for each :class:`~regionscope.Linear` in order,
    its weight then its bias) is scaled by each ``eps``, so the series follows
    one path away from the model.  Other layers are kept.  With ``plot=True``
    the partitions are drawn side by side, the model first, coloured by a hash
    of the activation pattern, so a region that survives the noise keeps its
    colour.

    Parameters
    ----------
    model : Layer
    eps : sequence of float
        Noise scales, each finite and ``>= 0``, at least one.
    seed : int
    domain : Domain2D or float
        Default: the lab's window ``[-2, 2]^2``.
    plot : bool
        Also draw the figure (needs matplotlib).

    Returns
    -------
    PerturbationSeries

    Raises
    ------
    TypeError
        ``model`` is not a regionscope Layer, ``eps`` not numbers, ``seed``
        not an integer or ``domain`` no 2-D domain.
    ValueError
        ``eps`` is empty, negative or not finite, or ``seed < 0``.

    Examples
    --------
    >>> net = lab_network([2, 4, 1], seed=0)
    >>> series = perturbation_series(net, eps=[0.0, 0.01])
    >>> bool(series.counts[0] == series.base.num_regions)
    True
    """
    if not isinstance(model, Layer):
        raise TypeError(f"model must be a regionscope Layer, got {type(model).__name__}")
    eps_arr = _check_eps(eps)
    seed = check_int(seed, "seed", 0)
    dom = check_domain_2d(domain)
    noisy = _noisy_copies(model, seed)
    base = partition(model, dom)
    parts = tuple(partition(noisy(float(e)), dom) for e in eps_arr)
    fig = None
    if plot:
        fig = new_figure(1, len(parts) + 1, panel=3.0)
        axes = fig.axes
        draw_regions(base, axes[0])
        axes[0].set_title(f"model: {base.num_regions} regions")
        for ax, e, p in zip(axes[1:], eps_arr, parts, strict=True):
            draw_regions(p, ax)
            ax.set_title(f"eps = {e:g}: {p.num_regions} regions")
    return PerturbationSeries(eps_arr, base, parts, fig)


# --------------------------------------------------------------------------------------
# exercise 3: affine check


@dataclasses.dataclass(frozen=True)
class AffineCheck:
    """The network against a region's affine map at points inside the region.

    Attributes
    ----------
    region : int
    points : (n, 2) float64
        Random strictly interior points of the region.
    outputs : (n, out) float64
        The network's output there (forward pass).
    predicted : (n, out) float64
        ``A @ u + c`` with the region's affine map from ``part.affine_maps()``.
    max_error : float
        ``max |outputs - predicted|``.
    scale : float
        ``max(1, max |outputs|)``: errors are judged relative to it.
    pattern_ok : bool
        Every sample point has the region's activation pattern
        (``part.patterns_at``, the partition's snapping rule).
    A, c : (out, 2), (out,) float64
        The region's affine map.
    lab_A, lab_c : (out, 2), (out,) float64 or None
        For a ``Sequential(Linear, ReLU, Linear)`` on a Box/Polygon, the
        lab's formula ``W2 diag(sigma) W1`` and ``W2 diag(sigma) b1 + b2``
        with ``sigma`` the region's pattern; else ``None``.
    lab_map_error : float or None
        ``max`` of ``|lab_A - A|`` and ``|lab_c - c|``.
    """

    region: int
    points: np.ndarray
    outputs: np.ndarray
    predicted: np.ndarray
    max_error: float
    scale: float
    pattern_ok: bool
    A: np.ndarray
    c: np.ndarray
    lab_A: np.ndarray | None = None
    lab_c: np.ndarray | None = None
    lab_map_error: float | None = None

    @property
    def ok(self) -> bool:
        """Errors within ``value_rtol * scale`` (float round-off) and patterns right."""
        tol = get_tolerance().value_rtol * self.scale
        lab_ok = self.lab_map_error is None or self.lab_map_error <= tol
        return bool(self.pattern_ok and self.max_error <= tol and lab_ok)


def _interior_points(polygon: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """``(n, 2)`` random strictly interior points of a convex polygon ``(K, 2)``.

    Convex combinations of the corners with Dirichlet(1, ..., 1) weights, all
    positive, lie strictly inside a polygon of positive area.
    """
    weights = rng.dirichlet(np.ones(len(polygon)), size=n)
    return weights @ polygon


def _check_region(part: Any, region: Any) -> int:
    """``region`` as a valid region index of the 2-D partition ``part``."""
    if not hasattr(part, "affine_maps") or not isinstance(getattr(part, "domain", None), Domain2D):
        raise TypeError(f"part must be a 2-D Partition, got {type(part).__name__}")
    if isinstance(region, bool) or not isinstance(region, numbers.Integral):
        raise TypeError(f"region must be an integer index, got {type(region).__name__}")
    region = int(region)
    if not 0 <= region < part.num_regions:
        raise ValueError(
            f"region must be in [0, {part.num_regions}) for this partition, got {region}"
        )
    return region


def _patterns_agree(part: Any, region: int, u: np.ndarray) -> bool:
    """Whether every point of ``u (n, 2)`` has ``region``'s pattern in every piecewise layer."""
    got = part.patterns_at(u)
    stored = part.activation_patterns()
    if set(got) != set(stored):
        return False
    for k, pat in stored.items():
        want = np.asarray(pat)[region].reshape(1, -1)
        have = np.asarray(got[k]).reshape(len(u), -1)
        if have.shape[1] != want.shape[1] or not (have == want).all():
            return False
    return True


def _lab_formula(
    part: Any, region: int, a: np.ndarray, c: np.ndarray
) -> tuple[np.ndarray | None, np.ndarray | None, float | None]:
    """The lab's ``W2 diag(sigma) W1``, ``W2 diag(sigma) b1 + b2`` and its distance to ``A, c``."""
    layers = one_hidden_layer(part.model)
    if layers is None or not isinstance(part.domain, Polygon):
        return None, None, None
    first, last = layers
    sigma = np.asarray(part.activation_patterns(1))[region].astype(np.float64)
    b1 = np.zeros(first.weight.shape[0]) if first.bias is None else first.bias
    b2 = np.zeros(last.weight.shape[0]) if last.bias is None else last.bias
    lab_a = last.weight @ (sigma[:, None] * first.weight)
    lab_c = last.weight @ (sigma * b1) + b2
    lab_err = float(max(np.abs(lab_a - a).max(), np.abs(lab_c - c).max()))
    return lab_a, lab_c, lab_err


def check_affine(part: Any, region: int, n: int = 20, seed: int = 0) -> AffineCheck:
    """Check that the network is affine on ``region``, with the region's map.

    Samples ``n`` random strictly interior points of the region's polygon,
    runs the network on them and compares with ``A @ u + c`` from
    ``part.affine_maps()``; for the lab's ``[2, m, 1]`` network it also builds
    the map by the lab's formula ``W2 diag(sigma) W1``,
    ``W2 diag(sigma) b1 + b2``.

    Parameters
    ----------
    part : Partition
        A 2-D partition.
    region : int
        Region index, ``0 <= region < part.num_regions``.
    n : int
        Number of points, at least 1.
    seed : int
        Seeds ``np.random.default_rng`` for the points.

    Returns
    -------
    AffineCheck

    Raises
    ------
    TypeError
        ``part`` is not a 2-D partition, or ``region``, ``n``, ``seed`` not integers.
    ValueError
        ``region`` out of range, ``n < 1`` or ``seed < 0``.

    Examples
    --------
    >>> import regionscope as rs
    >>> part = rs.partition(lab_network([2, 4, 1], seed=0), rs.Box(2.0))
    >>> origin = int(part.locate([[0.0, 0.0]])[0])
    >>> check = check_affine(part, origin)
    >>> check.ok, check.max_error < 1e-12
    (True, True)
    """
    region = _check_region(part, region)
    n = check_int(n, "n", 1)
    seed = check_int(seed, "seed", 0)
    rng = np.random.default_rng(seed)
    lo, hi = part.region_offsets[region], part.region_offsets[region + 1]
    poly = np.asarray(part.vertices)[np.asarray(part.region_vertices)[lo:hi]]
    u = _interior_points(poly, n, rng)
    outputs = np.asarray(part.model(part.domain.lift(u)), dtype=np.float64).reshape(n, -1)
    a_all, c_all = part.affine_maps()
    a, c = np.asarray(a_all[region]), np.asarray(c_all[region])
    predicted = u @ a.T + c
    max_error = float(np.abs(outputs - predicted).max())
    scale = max(1.0, float(np.abs(outputs).max()))
    pattern_ok = _patterns_agree(part, region, u)
    lab_a, lab_c, lab_err = _lab_formula(part, region, a, c)
    return AffineCheck(
        region, u, outputs, predicted, max_error, scale, pattern_ok, a, c, lab_a, lab_c, lab_err
    )
