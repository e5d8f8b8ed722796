"""A timeline: the partitions of one domain across a series of models (training checkpoints).

:class:`Timeline` takes models as they come: a list of torch modules or
regionscope networks, state dicts loaded into a template module, or
snapshots recorded inside a training loop (:meth:`Timeline.record` converts
the model at once, a float64 copy, so later training does not change it).
Partitions are computed when first needed and kept.

Regions are matched between frames by their activation pattern
(:meth:`~regionscope.partitions.base.PartitionBase.pattern_keys`, equal for
equal patterns in networks of one architecture): :meth:`Timeline.compare`
tells which regions were born, died or survived between two steps.  The
same keys give the default colours, so a surviving region keeps its colour
in every frame; colourings by value share one scale across all frames.

Examples
--------
>>> import numpy as np
>>> import regionscope as rs
>>> models = [rs.testing.tiny_lines([[1.0, 0.0, 0.0]]),                   # x = 0
...           rs.testing.tiny_lines([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])]  # and y = 0
>>> tl = Timeline(rs.Box(1.0), models, steps=[0, 10])
>>> [p.num_regions for p in tl], tl.stats().column("regions").tolist()
([2, 4], [2, 4])
>>> change = tl.compare(0, 10)
>>> len(change.born), len(change.died), len(change.survived)
(4, 2, 0)
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from regionscope import compute
from regionscope.checks import as_number
from regionscope.domains import Domain2D, coerce_domain
from regionscope.network.coerce import as_layers
from regionscope.network.detect import is_torch_module
from regionscope.network.layers import Argmax, Layer, Sequential
from regionscope.partitions import Partition, partition

from .animation import decode_png, write_animation
from .statistics import StatsTable, partition_stats

__all__ = ["RegionChanges", "Timeline", "match_patterns"]

#: the default frame label (``str.format`` with ``step`` and ``index``)
DEFAULT_LABEL = "step {step}"


def match_patterns(keys_a: np.ndarray, keys_b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Regions of two partitions with equal pattern keys.

    Parameters
    ----------
    keys_a : (Fa,) uint64
    keys_b : (Fb,) uint64
        :meth:`pattern_keys` of two partitions of one architecture.

    Returns
    -------
    ia, ib : (M,) int64
        Region ``ia[m]`` of the first and ``ib[m]`` of the second have the same
        pattern; sorted by ``ia``.  (Within one partition patterns are unique:
        an activation region is convex.)

    Examples
    --------
    >>> ia, ib = match_patterns(np.array([5, 7, 9], np.uint64), np.array([9, 1, 5], np.uint64))
    >>> ia.tolist(), ib.tolist()
    ([0, 2], [2, 0])
    """
    order = np.argsort(keys_b, kind="stable")
    pos = np.minimum(np.searchsorted(keys_b[order], keys_a), max(len(order) - 1, 0))
    hit = (keys_b[order][pos] == keys_a) if len(order) else np.zeros(len(keys_a), dtype=bool)
    ia = np.flatnonzero(hit)
    return ia.astype(np.int64), order[pos[hit]].astype(np.int64)


@dataclasses.dataclass(frozen=True)
class RegionChanges:
    """Which regions were born, died or survived between two frames.

    Attributes
    ----------
    step_a, step_b : int or float
        The two steps compared.
    born : (B,) int64
        Regions of ``step_b`` whose pattern no region of ``step_a`` has.
    died : (D,) int64
        Regions of ``step_a`` whose pattern no region of ``step_b`` has.
    survived : (S, 2) int64
        Pairs ``(region at step_a, region at step_b)`` with the same pattern.
    """

    step_a: Any
    step_b: Any
    born: np.ndarray
    died: np.ndarray
    survived: np.ndarray

    def counts(self) -> dict[str, int]:
        """``{"born": B, "died": D, "survived": S}``."""
        return {"born": len(self.born), "died": len(self.died), "survived": len(self.survived)}


def compare_partitions(a: Partition, b: Partition, step_a: Any, step_b: Any) -> RegionChanges:
    """:class:`RegionChanges` between two partitions of one architecture, by pattern."""
    ka, kb = a.pattern_keys(), b.pattern_keys()
    ia, ib = match_patterns(ka, kb)
    died = np.setdiff1d(np.arange(a.num_regions), ia)
    born = np.setdiff1d(np.arange(b.num_regions), ib)
    return RegionChanges(step_a, step_b, born, died, np.stack([ia, ib], axis=1))


class Timeline:
    """The partitions of one 2-D domain across a series of models.

    Parameters
    ----------
    domain : Domain2D or float
        The domain (``Box``, ``Polygon``, ``Plane``); a number ``h`` is ``Box(h)``.
    models : sequence, optional
        Models to add at once (see :meth:`add`): torch modules, regionscope
        networks, or state dicts when ``model`` is given.
    steps : sequence of int or float, optional
        The step of each of ``models`` (default ``0, 1, ...``).
    model : torch.nn.Module, optional
        A template to load state dicts into (copied; never changed).
    argmax : bool
        Add an :class:`~regionscope.Argmax` after each model (unless it ends
        with one), so the class decision and its boundary are part of every
        frame.
    until : str, optional
        For torch modules: stop after the submodule of this name.
    max_regions : int
        As :func:`regionscope.partition`.

    Examples
    --------
    >>> import torch
    >>> import regionscope as rs
    >>> torch.manual_seed(0) and None
    >>> net = torch.nn.Sequential(torch.nn.Linear(2, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2))
    >>> tl = Timeline(rs.Box(1.0), model=net, argmax=True)
    >>> tl.record(net, step=0)                  # a copy: later training does not change it
    >>> with torch.no_grad():
    ...     net[0].bias += 0.5
    >>> tl.add(net.state_dict(), step=1)
    >>> tl.steps, [row["step"] for row in tl.stats()]
    ((0, 1), [0, 1])
    >>> change = tl.compare(0, 1)               # regions matched by activation pattern
    >>> len(change.survived) + len(change.born) == tl[1].num_regions
    True
    """

    def __init__(
        self,
        domain: Any,
        models: Sequence[Any] = (),
        steps: Sequence[Any] | None = None,
        *,
        model: Any = None,
        argmax: bool = False,
        until: str | None = None,
        max_regions: int = compute.DEFAULT_MAX_REGIONS,
    ) -> None:
        dom = coerce_domain(domain)
        if not isinstance(dom, Domain2D):
            raise TypeError(f"Timeline needs a 2-D domain (Box, Polygon, Plane), got {dom!r}")
        if model is not None and not is_torch_module(model):
            raise TypeError(
                f"model must be a torch.nn.Module to load state dicts into, got "
                f"{type(model).__name__}"
            )
        if steps is not None and len(steps) != len(models):
            raise ValueError(f"steps has {len(steps)} entries for {len(models)} models")
        self.domain = dom
        self.argmax = bool(argmax)
        self.until = until
        self.max_regions = max_regions
        self._template = None if model is None else copy.deepcopy(model).eval()
        self._steps: list[Any] = []
        self._layers: list[tuple[Layer, ...]] = []
        self._parts: list[Partition | None] = []
        for i, m in enumerate(models):
            self.add(m, None if steps is None else steps[i])

    # -- adding models -----------------------------------------------------------------

    def _snapshot(self, model: Any) -> tuple[Layer, ...]:
        """The model as regionscope layers, copied (float64, independent of the model)."""
        shape = self.domain.input_shape
        if isinstance(model, Mapping):
            if self._template is None:
                raise TypeError(
                    "a state dict needs a module to load into: Timeline(domain, model=module)"
                )
            self._template.load_state_dict(model)
            return as_layers(self._template, shape, self.until)
        if is_torch_module(model):
            was_training = model.training
            model.eval()  # batch-norm and dropout as at inference; the mode is restored
            try:
                return as_layers(model, shape, self.until)
            finally:
                model.train(was_training)
        if isinstance(model, Layer):
            return as_layers(copy.deepcopy(model), shape, self.until)
        raise TypeError(
            "model must be a torch.nn.Module, a state dict (with Timeline(model=...)) or a "
            f"regionscope network, got {type(model).__name__}"
        )

    def add(self, model: Any, step: Any = None) -> None:
        """Add a frame: a torch module, a regionscope network or a state dict.

        The model is converted now (a float64 copy: changing the model later
        changes nothing here); its partition is computed when first needed.

        Parameters
        ----------
        model : torch.nn.Module, Layer or Mapping
            A state dict is loaded into the template given as ``model=``.
            A module in training mode is read as in eval mode (batch-norm with
            its running statistics), and its mode is restored.
        step : int or float, optional
            Its step (default: one more than the last, or 0).  Steps are unique.
        """
        if step is None:
            step = (self._steps[-1] + 1) if self._steps else 0
        step = as_number(step, "step")
        step = int(step) if float(step).is_integer() else step
        if step in self._steps:
            raise ValueError(f"step {step} is already in the timeline")
        layers = self._snapshot(model)
        if self.argmax and not (layers and isinstance(layers[-1], Argmax)):
            layers = (*layers, Argmax())
        self._steps.append(step)
        self._layers.append(layers)
        self._parts.append(None)

    def record(self, model: Any, step: Any = None) -> None:
        """Add the model as it is now (for a training loop); the same as :meth:`add`."""
        self.add(model, step)

    # -- frames ------------------------------------------------------------------------

    @property
    def steps(self) -> tuple[Any, ...]:
        """The steps, in the order added."""
        return tuple(self._steps)

    def __len__(self) -> int:
        return len(self._steps)

    def __getitem__(self, index: int) -> Partition:
        """The partition of frame ``index`` (computed on first use)."""
        if isinstance(index, bool) or not isinstance(index, (int, np.integer)):
            raise TypeError(f"index must be an int, got {type(index).__name__}")
        i = int(index) + (len(self) if index < 0 else 0)
        if not 0 <= i < len(self):
            raise IndexError(f"frame {index} is out of range: the timeline has {len(self)}")
        if self._parts[i] is None:
            model = Sequential(*self._layers[i])
            self._parts[i] = partition(model, self.domain, max_regions=self.max_regions)
        return self._parts[i]

    def __iter__(self) -> Iterator[Partition]:
        return (self[i] for i in range(len(self)))

    @property
    def partitions(self) -> list[Partition]:
        """Every frame's partition."""
        return list(self)

    def index(self, step: Any) -> int:
        """The frame index of ``step``."""
        if step not in self._steps:
            raise ValueError(f"no step {step!r} in the timeline; steps are {self.steps}")
        return self._steps.index(step)

    def partition_at(self, step: Any) -> Partition:
        """The partition at ``step``."""
        return self[self.index(step)]

    # -- analysis ----------------------------------------------------------------------

    def compare(self, step_a: Any, step_b: Any) -> RegionChanges:
        """Regions born, died and survived from ``step_a`` to ``step_b`` (matched by pattern)."""
        a, b = self.partition_at(step_a), self.partition_at(step_b)
        return compare_partitions(a, b, step_a, step_b)

    def stats(self, near: float | None = None) -> StatsTable:
        """One row per frame: ``step``, :func:`partition_stats`, and ``born``, ``died``,
        ``survived`` against the frame before (``None`` in the first row)."""
        table = StatsTable()
        for i, part in enumerate(self):
            row: dict[str, Any] = {"step": self._steps[i], **partition_stats(part, near)}
            if i:
                row.update(compare_partitions(self[i - 1], part, None, None).counts())
            else:
                row.update(born=None, died=None, survived=None)
            table.append(row)
        return table

    def local_complexity(self, points: Any, radius: Any) -> np.ndarray:
        """``(frames, N) int64``: :meth:`Partition.local_complexity
        <regionscope.partitions.planar.Partition.local_complexity>` in every frame."""
        if not len(self):
            return np.zeros((0, len(np.atleast_2d(points))), dtype=np.int64)
        return np.stack([part.local_complexity(points, radius) for part in self])

    # -- pictures ----------------------------------------------------------------------

    def shared_style(self, **style: Any) -> dict[str, Any]:
        """The style with one value scale for all frames (``vmin``/``vmax`` over all frames).

        Colourings by value (``color_by="output"``, a colormap, a function
        returning values) get the range of every frame's values, unless
        ``vmin`` and ``vmax`` are both given; others are returned unchanged.
        """
        from regionscope.render.fills import resolve_region_colors
        from regionscope.render.style import check_style

        if style.get("vmin") is not None and style.get("vmax") is not None:
            return dict(style)
        st = check_style(style, "Timeline.frames")
        scales = [resolve_region_colors(part, st)[1] for part in self]
        if any(s is None for s in scales) or not scales:
            return dict(style)
        lo = min(s.vmin for s in scales) if style.get("vmin") is None else style["vmin"]
        hi = max(s.vmax for s in scales) if style.get("vmax") is None else style["vmax"]
        return {**style, "vmin": lo, "vmax": hi}

    def frames(self, label: str | None = DEFAULT_LABEL, **style: Any) -> list[np.ndarray]:
        """Every frame as ``(H, W, 3) uint8`` RGB, drawn by ``Partition.to_png``.

        Parameters
        ----------
        label : str or None
            Text above each frame, ``label.format(step=..., index=...)``;
            drawn with the ``title`` style option where the renderer has it.
        **style
            Style options of :func:`regionscope.render.to_png`; value scales
            are shared across frames (:meth:`shared_style`).
        """
        from regionscope.render.style import STYLE_KEYS

        st = self.shared_style(**style)
        out = []
        for i, part in enumerate(self):
            frame_style = dict(st)
            if label is not None and "title" in STYLE_KEYS and "title" not in style:
                frame_style["title"] = label.format(step=self._steps[i], index=i)
            out.append(decode_png(part.to_png(None, **frame_style)))
        return out

    def save_animation(
        self,
        path: str | Path,
        fps: float = 5.0,
        *,
        label: str | None = DEFAULT_LABEL,
        loop: int = 0,
        **style: Any,
    ) -> Path:
        """Write the frames as an animation: ``.gif`` (extra ``[anim]``) or ``.mp4`` (``[video]``).

        Parameters
        ----------
        path : str or Path
        fps : float
            Frames per second.
        label : str or None
            Frame label (see :meth:`frames`).
        loop : int
            GIF only: times to loop, 0 for ever.
        **style
            Style options of :func:`regionscope.render.to_png` (``size``,
            ``color_by``...).

        Returns
        -------
        Path
            The file written.
        """
        if not len(self):
            raise ValueError("the timeline is empty: add models before saving an animation")
        return write_animation(path, self.frames(label, **style), fps=fps, loop=loop)

    def __repr__(self) -> str:
        return f"<Timeline of {self.domain!r}: {len(self)} frames, steps {self.steps}>"
