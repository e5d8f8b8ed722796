"""What a partition shows in Jupyter: one picture per display, chosen by size.

Jupyter asks an object for every representation it has and keeps all that
are not ``None``, so a partition answers only one of them:
:func:`repr_format` picks SVG up to :data:`~.svg.SVG_REPR_MAX_REGIONS`
regions (sharp at any zoom, and small) and PNG above (an SVG of many
thousand paths is several hundred kilobytes).  A 1-D partition shows the
plot of its outputs along the segment as a PNG (:func:`repr_png_1d`).

Examples
--------
>>> import regionscope as rs
>>> part = rs.partition(rs.Sequential(rs.Linear([[1.0, 0.0]]), rs.ReLU()), rs.Box(1.0))
>>> repr_format(part)
'svg'
>>> part._repr_svg_() is not None, part._repr_png_() is None
(True, True)
"""

from __future__ import annotations

import importlib.util
from typing import TYPE_CHECKING

from . import svg
from .png import to_png

if TYPE_CHECKING:
    from regionscope.partitions import Partition, Partition1D

__all__ = ["repr_format", "repr_png_1d", "REPR_SIZE_1D"]

#: size in pixels of the plot a 1-D partition shows
REPR_SIZE_1D = (560, 280)


def repr_format(part: Partition) -> str:
    """``"svg"`` up to :data:`~.svg.SVG_REPR_MAX_REGIONS` regions, ``"png"`` above."""
    return "svg" if int(part.num_regions) <= svg.SVG_REPR_MAX_REGIONS else "png"


def repr_png_1d(part1d: Partition1D) -> bytes | None:
    """PNG of a 1-D partition's outputs for Jupyter, or ``None`` without matplotlib."""
    if importlib.util.find_spec("matplotlib") is None:
        return None
    return to_png(part1d, None, size=REPR_SIZE_1D)
