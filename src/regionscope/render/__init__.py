"""Pictures of partitions: SVG and PNG with NumPy only, matplotlib plots.

Everything here works on the arrays of a :class:`~regionscope.Partition`
(``vertices``, ``region_vertices``/``region_offsets``, ``edges``,
``edge_layer``/``edge_neuron``...).  A style is resolved once into a *scene*
(pixel frame, one colour per region, edge groups, marks) that three back ends
draw.  One module per concept:

* :mod:`.style` -- the style options (:data:`STYLE_KEYS`, documented there),
  shared by every drawing function;
* :mod:`.colors` -- colour parsing, palettes, hash colours, colormaps;
* :mod:`.fills` -- :func:`region_colors`: the ``color_by`` option resolved
  into one colour per region;
* :mod:`.scene` -- the scene every back end draws: picture size and frame,
  line passes, marks, ticks;
* :mod:`.svg` -- :func:`to_svg` and :func:`repr_svg`: one ``<path>`` per
  region, compact integer coordinates;
* :mod:`.raster` -- a vectorised scan-line rasteriser (all regions at once)
  with anti-aliased lines, no Pillow and no matplotlib (so it runs in Pyodide);
* :mod:`.png` -- :func:`to_png`, :func:`repr_png` and a zlib-only
  :func:`encode_png`;
* :mod:`.mpl` -- :func:`plot`, :func:`plot_bent_hyperplanes` and
  :func:`plot_1d` with matplotlib artists (imported lazily);
* :mod:`.legend`, :mod:`.overlay`, :mod:`.decor` -- names of layers and
  classes, and the figure around the domain (axes, title, colour bar,
  legend) as primitives every back end draws;
* :mod:`.figure` -- :func:`to_pdf` (whole figures with matplotlib) and the
  text of PNG pictures;
* :mod:`.jupyter` -- :func:`repr_format`: one picture per display;
* :mod:`.html` -- :func:`to_html` and :func:`write_html`: an interactive,
  self-contained viewer page (``viewer.js``).

The functions above are re-exported here: ``regionscope.render.to_svg`` and
so on.

Examples
--------
>>> import regionscope as rs
>>> from regionscope import render
>>> part = rs.partition(rs.Sequential(rs.Linear([[1.0, 0.0], [0.0, 1.0]]), rs.ReLU()), rs.Box(1.0))
>>> svg = render.to_svg(part, size=(200, 200))
>>> svg.count("<path d=")          # 4 regions, one path each
4
>>> png = render.to_png(part, None, size=(64, 32))
>>> png[:8] == b"\\x89PNG\\r\\n\\x1a\\n"
True
"""

from __future__ import annotations

from .figure import to_pdf
from .fills import region_colors
from .html import to_html, write_html
from .jupyter import repr_format, repr_png_1d
from .mpl import LEGEND_MAX_ENTRIES as LEGEND_MAX_ENTRIES
from .mpl import plot, plot_1d, plot_bent_hyperplanes
from .png import encode_png, repr_png, to_png
from .scene import DEFAULT_WIDTH as DEFAULT_WIDTH
from .style import STYLE_KEYS
from .svg import SVG_REPR_MAX_REGIONS as SVG_REPR_MAX_REGIONS
from .svg import repr_svg, to_svg

__all__ = [
    "STYLE_KEYS",
    "region_colors",
    "to_svg",
    "to_png",
    "encode_png",
    "plot",
    "plot_bent_hyperplanes",
    "plot_1d",
    "repr_svg",
    "repr_png",
    "repr_format",
    "repr_png_1d",
    "to_pdf",
    "to_html",
    "write_html",
]
