"""Drawing helpers of the lab (matplotlib, imported inside the functions).

Figures are made with :class:`matplotlib.figure.Figure` directly (no pyplot
state), so a script can save them without a display.  Regions are drawn by
:mod:`regionscope.render`, coloured by a hash of their activation pattern,
so a region keeps its colour across figures as long as it keeps its pattern.

Examples
--------
>>> import pytest; _ = pytest.importorskip("matplotlib")
>>> import regionscope as rs
>>> from regionscope.lab import max_regions_network
>>> part = rs.partition(max_regions_network(3), rs.Box(1.0))
>>> fig = new_figure(1, 2)
>>> draw_regions(part, fig.axes[0]).get_aspect()
1.0
>>> draw_zero_lines(part, fig.axes[1], layer=1) is fig.axes[1]
True
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["new_figure", "axes_or_new", "draw_regions", "draw_zero_lines", "mark_regions"]


def new_figure(rows: int, cols: int, panel: float = 3.2) -> Any:
    """A matplotlib ``Figure`` with a ``rows x cols`` grid of axes.

    Parameters
    ----------
    rows, cols : int
        Number of panels down and across.
    panel : float
        Size of one panel, in inches.

    Returns
    -------
    matplotlib.figure.Figure
        Constrained layout; its axes are ``fig.axes``, row by row.

    Raises
    ------
    ImportError
        matplotlib is not installed.

    Examples
    --------
    >>> import pytest; _ = pytest.importorskip("matplotlib")
    >>> fig = new_figure(2, 3)
    >>> len(fig.axes), fig.get_size_inches().tolist()
    (6, [9.6, 6.4])
    """
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise ImportError("drawing needs matplotlib: pip install 'regionscope[plot]'") from None
    fig = Figure(figsize=(panel * cols, panel * rows), layout="constrained")
    fig.subplots(rows, cols, squeeze=False)
    return fig


def axes_or_new(ax: Any = None) -> Any:
    """``ax``, or the axes of a new one-panel figure when ``ax`` is ``None``.

    Parameters
    ----------
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib Axes

    Examples
    --------
    >>> import pytest; _ = pytest.importorskip("matplotlib")
    >>> ax = axes_or_new()
    >>> axes_or_new(ax) is ax
    True
    """
    if ax is not None:
        return ax
    return new_figure(1, 1, panel=4.0).axes[0]


def draw_regions(part: Any, ax: Any) -> Any:
    """Regions of ``part`` coloured by a hash of their pattern (:func:`regionscope.render.plot`).

    Parameters
    ----------
    part : Partition
        A 2-D partition.
    ax : matplotlib Axes

    Returns
    -------
    matplotlib Axes
        ``ax``, with equal aspect.

    Examples
    --------
    >>> import pytest; _ = pytest.importorskip("matplotlib")
    >>> import regionscope as rs
    >>> from regionscope.lab import max_regions_network
    >>> part = rs.partition(max_regions_network(3), rs.Box(1.0))
    >>> ax = draw_regions(part, axes_or_new())
    >>> len(ax.collections[0].get_paths()) == part.num_regions == 7
    True
    """
    from regionscope import render

    render.plot(part, ax=ax, decision=False, legend=False)
    ax.set_aspect("equal")
    return ax


def draw_zero_lines(part: Any, ax: Any, layer: int) -> Any:
    """Regions (faint) with the zero lines of ``layer``, one colour per neuron.

    Parameters
    ----------
    part : Partition
        A 2-D partition.
    ax : matplotlib Axes
    layer : int
        A piecewise layer of ``part`` (see
        :func:`regionscope.render.plot_bent_hyperplanes`).

    Returns
    -------
    matplotlib Axes
        ``ax``, with equal aspect.

    Examples
    --------
    >>> import pytest; _ = pytest.importorskip("matplotlib")
    >>> import regionscope as rs
    >>> from regionscope.lab import max_regions_network
    >>> part = rs.partition(max_regions_network(3), rs.Box(1.0))
    >>> ax = draw_zero_lines(part, axes_or_new(), layer=1)
    >>> sorted(text.get_text() for text in ax.get_legend().get_texts())
    ['neuron 0', 'neuron 1', 'neuron 2']
    """
    from regionscope import render

    render.plot_bent_hyperplanes(part, layer, ax=ax, color_by="pattern", alpha=0.45)
    ax.set_aspect("equal")
    return ax


def mark_regions(part: Any, ax: Any, regions: Any, color: str = "#d62728") -> Any:
    """Fill ``regions`` of ``part`` in ``color`` and circle their centroids.

    Tiny regions (a grid's blind spots) stay visible thanks to the circles.

    Parameters
    ----------
    part : Partition
        A 2-D partition.
    ax : matplotlib Axes
    regions : (M,) int64 array_like
        Region indices.
    color : str
        A matplotlib colour.

    Returns
    -------
    matplotlib Axes
        ``ax``.

    Examples
    --------
    >>> import pytest; _ = pytest.importorskip("matplotlib")
    >>> import regionscope as rs
    >>> from regionscope.lab import max_regions_network
    >>> part = rs.partition(max_regions_network(3), rs.Box(1.0))
    >>> ax = mark_regions(part, axes_or_new(), [0, 2])
    >>> len(ax.collections[0].get_paths()), len(ax.collections[1].get_offsets())
    (2, 2)
    """
    from matplotlib.collections import PolyCollection

    which = np.asarray(regions, dtype=np.int64).reshape(-1)
    verts = np.asarray(part.vertices)
    offs = np.asarray(part.region_offsets)
    idx = np.asarray(part.region_vertices)
    polygons = [verts[idx[offs[f] : offs[f + 1]]] for f in which.tolist()]
    ax.add_collection(PolyCollection(polygons, facecolors=color, edgecolors=color, linewidths=1.5))
    cents = np.asarray(part.centroids())[which]
    if len(cents):
        ax.scatter(
            cents[:, 0], cents[:, 1], s=60, facecolors="none", edgecolors=color, linewidths=1.2
        )
    return ax
