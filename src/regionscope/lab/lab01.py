"""Lab 01, "Visualizing activation regions", run exactly from start to end.

:func:`run_lab01` runs the lab and its four exercises in named steps, each
adding its numbers to the result and, when asked, drawing one figure:

1. :func:`_network_step` -- the ``[2, 4, 1]`` network, its regions and zero
   lines (``lab01_regions.png``);
2. :func:`_grid_step` -- the lab's grid against the exact partition, and a
   network with the most regions (``lab01_grid.png``);
3. :func:`_seeds_step` -- exercise 1, counts over seeds (``lab01_histogram.png``);
4. :func:`_perturbation_step` -- exercise 2 (``lab01_perturbation.png``);
5. :func:`_affine_step` -- exercise 3, the affine check at the origin;
6. :func:`_widths_step` -- exercise 4, widths 4, 8, 16 (``lab01_widths.png``).

Used by ``regionscope lab01 --out DIR``, ``examples/lab01.py`` and (step by
step, with the same tools) ``examples/lab01.ipynb``.

Examples
--------
>>> res = run_lab01(None, num_seeds=2, resolution=40)
>>> res["bound"], res["regions"] <= res["bound"], res["figures"]
(11, True, [])
"""

from __future__ import annotations

import dataclasses
import importlib.util
import os
from typing import Any

import numpy as np

from regionscope import bounds
from regionscope.domains import Domain2D
from regionscope.network.layers import Sequential
from regionscope.partitions import Partition, partition

from .arguments import check_int
from .experiments import check_affine, perturbation_series, region_count_stats
from .figures import draw_regions, draw_zero_lines, mark_regions, new_figure
from .grid import GridComparison, compare_with_grid, grid_patterns
from .networks import LAB_DOMAIN, LAB_SEED, arrangement_box, lab_network, max_regions_network

__all__ = ["run_lab01"]

#: the lab's hidden width, and the one of the grid's hard case
_WIDTH = 4
_MAX_WIDTH = 12
#: perturbation scales of exercise 2, widths of exercise 4
_EPS = (0.01, 0.1, 0.5, 1.0)
_WIDTHS = (4, 8, 16)


@dataclasses.dataclass
class _Run:
    """Settings of one run, and where its text and figures go."""

    seed: int
    num_seeds: int
    resolution: int
    out: str | None
    draw: bool
    verbose: bool
    domain: Domain2D = LAB_DOMAIN
    figures: list[str] = dataclasses.field(default_factory=list)

    def say(self, *args: Any) -> None:
        if self.verbose:
            print(*args)  # noqa: T201

    def save(self, fig: Any, name: str) -> None:
        assert self.out is not None
        path = os.path.join(self.out, name)
        fig.savefig(path, dpi=110)
        self.figures.append(path)


def _network_step(run: _Run) -> tuple[Sequential, Partition, dict[str, Any]]:
    """The lab itself: build the ``[2, 4, 1]`` network, partition, count."""
    net = lab_network([2, _WIDTH, 1], run.seed)
    part = partition(net, run.domain)
    plane_part = partition(net, arrangement_box(net))
    bound = bounds.zaslavsky(_WIDTH, 2)
    grid = grid_patterns(net, run.domain, run.resolution)
    res = dict(
        W1=net[0].weight.tolist(),
        b1=net[0].bias.tolist(),
        W2=net[2].weight.tolist(),
        b2=net[2].bias.tolist(),
        regions=part.num_regions,
        regions_plane=plane_part.num_regions,
        grid_patterns=grid.num_patterns,
        bound=bound,
    )
    run.say(
        f"[2, 4, 1] network, seed {run.seed}: {part.num_regions} regions in [-2, 2]^2 "
        f"({grid.num_patterns} patterns on the {run.resolution}x{run.resolution} grid), "
        f"{plane_part.num_regions} in the whole plane; bound {bound}"
    )
    if run.draw:
        fig = new_figure(1, 2, panel=4.0)
        ax0, ax1 = fig.axes
        draw_regions(part, ax0)
        ax0.set_title(f"{part.num_regions} activation regions (bound {bound})")
        draw_zero_lines(part, ax1, layer=1)
        ax1.set_title("zero lines (W1 x + b1)_j = 0")
        run.save(fig, "lab01_regions.png")
    return net, part, res


def _draw_grid(run: _Run, max4: Partition, max_part: Partition, cmp: GridComparison) -> None:
    """``lab01_grid.png``: 4 lines at the bound, the grid's labels and the regions it misses."""
    fig = new_figure(1, 3, panel=3.6)
    ax0, ax1, ax2 = fig.axes
    draw_regions(max4, ax0)
    ax0.set_title(f"max_regions_network(4): {max4.num_regions} regions")
    g = grid_patterns(max_part.model, run.domain, run.resolution)
    ax1.imshow(g.labels, origin="lower", extent=g.extent, cmap="tab20", interpolation="nearest")
    ax1.set_title(
        f"m={_MAX_WIDTH}, {run.resolution}x{run.resolution} grid: {g.num_patterns} patterns"
    )
    ax1.set_aspect("equal")
    draw_regions(max_part, ax2)
    mark_regions(max_part, ax2, cmp.missed)
    ax2.set_title(f"exact: {max_part.num_regions}; {cmp.num_missed} missed (red)")
    run.save(fig, "lab01_grid.png")


def _grid_step(run: _Run, part: Partition) -> dict[str, Any]:
    """What the grid gets wrong: the lab's network, and ``max_regions_network(12)``."""
    cmp_lab = compare_with_grid(part, run.resolution)
    max_net = max_regions_network(_MAX_WIDTH, run.domain, seed=run.seed)
    max_part = partition(max_net, run.domain)
    cmp_max = compare_with_grid(max_part, run.resolution)
    max4 = partition(max_regions_network(_WIDTH, run.domain, seed=run.seed), run.domain)
    bound, bound_max = bounds.zaslavsky(_WIDTH, 2), bounds.zaslavsky(_MAX_WIDTH, 2)
    res = dict(
        grid_missed=cmp_lab.num_missed,
        max_regions_4=max4.num_regions,
        max_regions_m=_MAX_WIDTH,
        max_regions_m_count=max_part.num_regions,
        max_regions_m_bound=bound_max,
        max_regions_m_grid=cmp_max.grid_count,
        max_regions_m_missed=cmp_max.num_missed,
        max_regions_m_missed_areas=cmp_max.missed_areas.tolist(),
    )
    run.say("lab network:", cmp_lab.summary())
    run.say(f"max_regions_network(4): {max4.num_regions} regions (bound {bound})")
    run.say(f"max_regions_network({_MAX_WIDTH}):", cmp_max.summary(), f"bound {bound_max}")
    if run.draw:
        _draw_grid(run, max4, max_part, cmp_max)
    return res


def _seeds_step(run: _Run) -> dict[str, Any]:
    """Exercise 1: region counts over ``num_seeds`` seeds, in the window and the plane."""
    stats_window = region_count_stats([2, _WIDTH, 1], run.num_seeds, run.domain)
    stats_plane = region_count_stats([2, _WIDTH, 1], run.num_seeds, "plane")
    bound = bounds.zaslavsky(_WIDTH, 2)
    res = dict(
        counts_window=stats_window.counts.tolist(),
        counts_plane=stats_plane.counts.tolist(),
        at_bound_window=stats_window.fraction_at_bound,
        at_bound_plane=stats_plane.fraction_at_bound,
    )
    run.say(
        f"exercise 1: over {run.num_seeds} seeds, the count reaches {bound} for "
        f"{stats_window.fraction_at_bound:.0%} in [-2, 2]^2 and "
        f"{stats_plane.fraction_at_bound:.0%} in the whole plane; window histogram "
        f"{stats_window.histogram.tolist()}"
    )
    if run.draw:
        fig = new_figure(1, 2, panel=3.6)
        stats_window.plot(fig.axes[0], color="#56b4e9")
        fig.axes[0].set_title("regions in [-2, 2]^2")
        stats_plane.plot(fig.axes[1], color="#009e73")
        fig.axes[1].set_title("regions in the whole plane")
        run.save(fig, "lab01_histogram.png")
    return res


def _perturbation_step(run: _Run, net: Sequential) -> dict[str, Any]:
    """Exercise 2: regions of the network with ``eps * N(0, I)`` noise on its weights."""
    series = perturbation_series(net, _EPS, seed=run.seed, domain=run.domain, plot=run.draw)
    res = dict(
        perturb_eps=series.eps.tolist(),
        perturb_counts=series.counts.tolist(),
        perturb_shared=series.shared_patterns().tolist(),
    )
    run.say(
        "exercise 2: eps",
        series.eps.tolist(),
        "counts",
        series.counts.tolist(),
        "patterns kept",
        np.round(series.shared_patterns(), 2).tolist(),
    )
    if run.draw:
        run.save(series.figure, "lab01_perturbation.png")
    return res


def _affine_step(run: _Run, part: Partition) -> dict[str, Any]:
    """Exercise 3: the network is affine on the region holding the origin."""
    origin = int(np.asarray(part.locate(np.zeros((1, 2))))[0])
    check = check_affine(part, origin, n=20, seed=run.seed)
    pattern = np.asarray(part.activation_patterns(1))[origin].astype(int).tolist()
    res = dict(
        origin_region=origin,
        origin_pattern=pattern,
        affine_max_error=check.max_error,
        affine_lab_map_error=check.lab_map_error,
        affine_ok=check.ok,
    )
    run.say(
        f"exercise 3: region {origin} (pattern {pattern}): max |f(x) - (A x + c)|"
        f" = {check.max_error:.2e} over 20 points; |lab formula - affine_maps| = "
        f"{check.lab_map_error:.2e}; ok={check.ok}"
    )
    return res


def _widths_step(run: _Run) -> dict[str, Any]:
    """Exercise 4: wider networks ``[2, m, 1]``, ``m`` in 4, 8, 16."""
    wide = {}
    for m in _WIDTHS:
        wnet = lab_network([2, m, 1], run.seed)
        wide[m] = (partition(wnet, run.domain), partition(wnet, arrangement_box(wnet)))
    res = dict(
        widths=list(_WIDTHS),
        width_counts=[wide[m][0].num_regions for m in _WIDTHS],
        width_counts_plane=[wide[m][1].num_regions for m in _WIDTHS],
        width_bounds=[bounds.zaslavsky(m, 2) for m in _WIDTHS],
        width_grid_missed=[
            compare_with_grid(wide[m][0], run.resolution).num_missed for m in _WIDTHS
        ],
    )
    run.say(
        "exercise 4: widths 4, 8, 16:",
        res["width_counts"],
        "regions in [-2, 2]^2,",
        res["width_counts_plane"],
        "in the plane; bounds",
        res["width_bounds"],
        "; missed by the grid",
        res["width_grid_missed"],
    )
    if run.draw:
        fig = new_figure(1, 3, panel=3.6)
        for ax, m in zip(fig.axes, _WIDTHS, strict=True):
            draw_regions(wide[m][0], ax)
            ax.set_title(
                f"[2, {m}, 1]: {wide[m][0].num_regions} regions in the window\n"
                f"{wide[m][1].num_regions} in the plane (bound {bounds.zaslavsky(m, 2)})",
                fontsize=10,
            )
        run.save(fig, "lab01_widths.png")
    return res


def run_lab01(
    out_dir: str | os.PathLike[str] | None = None,
    seed: int = LAB_SEED,
    *,
    num_seeds: int = 50,
    resolution: int = 300,
    verbose: bool = False,
) -> dict[str, Any]:
    """Run lab 01 and its exercises exactly; write the figures; return the numbers.

    Steps (figures as ``out_dir/lab01_*.png`` when ``out_dir`` is given and
    matplotlib is installed):

    0. the ``[2, 4, 1]`` network :func:`~regionscope.lab.networks.lab_network`
       ``([2, 4, 1], seed)`` on ``[-2, 2]^2``: regions coloured by pattern,
       and the four zero lines (``lab01_regions.png``); the exact count
       against ``zaslavsky(4, 2) = 11``, in the window and in the whole plane;
    0'. the lab's ``resolution``-grid against the exact partition
       (``lab01_grid.png``), and a network with ``zaslavsky(m, 2)`` regions;
    1. counts over ``num_seeds`` seeds, window and whole plane
       (``lab01_histogram.png``);
    2. the perturbation series ``eps = 0.01, 0.1, 0.5, 1`` (``lab01_perturbation.png``);
    3. the affine check in the region containing the origin;
    4. widths 4, 8, 16 (``lab01_widths.png``).

    Parameters
    ----------
    out_dir : path, optional
        Folder for the figures (created).  ``None``: no figures.
    seed : int
        Seed of the lab's network, at least 0.
    num_seeds : int
        Networks in exercise 1, at least 1.
    resolution : int
        The lab's grid resolution, at least 2.
    verbose : bool
        Print the numbers as they come.

    Returns
    -------
    dict
        Plain numbers and lists (see the keys); ``"figures"`` lists the files.

    Raises
    ------
    TypeError
        ``seed``, ``num_seeds`` or ``resolution`` is not an integer, or
        ``out_dir`` not a path.
    ValueError
        One of them is below its minimum.

    Examples
    --------
    >>> res = run_lab01(None, seed=1, num_seeds=2, resolution=30)
    >>> res["counts_plane"], res["width_bounds"], res["affine_ok"]
    ([11, 11], [11, 37, 137], True)
    """
    seed = check_int(seed, "seed", 0)
    num_seeds = check_int(num_seeds, "num_seeds", 1)
    resolution = check_int(resolution, "resolution", 2)
    out = None
    if out_dir is not None:
        try:
            out = os.fspath(out_dir)
        except TypeError:
            raise TypeError(
                f"out_dir must be a path or None, got {type(out_dir).__name__}"
            ) from None
        os.makedirs(out, exist_ok=True)
    draw = out is not None and importlib.util.find_spec("matplotlib") is not None
    run = _Run(seed, num_seeds, resolution, out, draw, bool(verbose))
    res: dict[str, Any] = {"seed": seed}
    net, part, found = _network_step(run)
    res.update(found)
    res.update(_grid_step(run, part))
    res.update(_seeds_step(run))
    res.update(_perturbation_step(run, net))
    res.update(_affine_step(run, part))
    res.update(_widths_step(run))
    res["figures"] = run.figures
    return res
