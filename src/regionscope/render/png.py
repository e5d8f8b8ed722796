"""PNG pictures: :func:`to_png`, Jupyter's :func:`repr_png` and a zlib-only :func:`encode_png`.

:func:`to_png` draws with the NumPy rasteriser (:mod:`.raster`) by default,
and with matplotlib (:mod:`.mpl`) where text is needed (``axes``,
``mark_labels``) or asked for; pictures of 1-D partitions are matplotlib
plots.  The PNG is exactly ``size`` pixels.

Examples
--------
>>> import struct
>>> import regionscope as rs
>>> part = rs.partition(rs.Sequential(rs.Linear([[1.0, 0.0]]), rs.ReLU()), rs.Box(1.0))
>>> data = to_png(part, None, size=(64, 32))
>>> data[:8] == b"\\x89PNG\\r\\n\\x1a\\n", struct.unpack(">II", data[16:24])
(True, (64, 32))
"""

from __future__ import annotations

import importlib.util
import struct
import zlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .figure import mark_texts, text_layer
from .fills import drawn_partition
from .mpl import picture_1d
from .overlay import Text
from .raster import rasterize
from .scene import build_scene

if TYPE_CHECKING:
    from regionscope.partitions import Partition, Partition1D

__all__ = ["encode_png", "needs_text", "png_engine", "repr_png", "to_png"]

#: picture width of :func:`repr_png`, in pixels
REPR_SIZE = 400
#: the eight bytes every PNG file starts with
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _chunk(tag: bytes, data: bytes) -> bytes:
    """One PNG chunk: length, tag, data and CRC."""
    crc = struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)
    return struct.pack(">I", len(data)) + tag + data + crc


def encode_png(image: np.ndarray, level: int = 6) -> bytes:
    """Encode pixels as PNG bytes (zlib only).

    Parameters
    ----------
    image : (H, W, 3) or (H, W, 4) uint8
        RGB or RGBA pixels, rows from the top.
    level : int
        zlib compression level, 0 to 9.

    Returns
    -------
    bytes
        An 8-bit RGB or RGBA PNG, filter 0 on every row.

    Raises
    ------
    ValueError
        When ``image`` has another shape or dtype.

    Examples
    --------
    >>> import numpy as np
    >>> data = encode_png(np.zeros((2, 3, 3), dtype=np.uint8))
    >>> data[:8] == b"\\x89PNG\\r\\n\\x1a\\n", struct.unpack(">II", data[16:24])
    (True, (3, 2))
    """
    img = np.asarray(image)
    if img.dtype != np.uint8 or img.ndim != 3 or img.shape[2] not in (3, 4):
        raise ValueError(f"image must be (H, W, 3 or 4) uint8, got {img.shape} {img.dtype}")
    h, w, c = img.shape
    raw = np.zeros((h, 1 + w * c), dtype=np.uint8)  # filter byte 0 on every row
    raw[:, 1:] = img.reshape(h, w * c)
    header = struct.pack(">IIBBBBB", w, h, 8, 2 if c == 3 else 6, 0, 0, 0)
    return (
        PNG_SIGNATURE
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(raw.tobytes(), level))
        + _chunk(b"IEND", b"")
    )


def needs_text(style: dict[str, Any]) -> bool:
    """Whether a picture with these style options has text.

    Text comes with ``axes``, ``title``, ``legend``, ``colorbar`` (its tick
    labels) and ``mark_labels``.

    Examples
    --------
    >>> needs_text({"size": 300}), needs_text({"title": "t"}), needs_text({"legend": False})
    (False, True, False)
    """
    flags = ("axes", "legend", "colorbar")
    return (
        any(bool(style.get(k)) for k in flags)
        or bool(style.get("title"))
        or style.get("mark_labels") is not None
    )


def png_engine(engine: str, style: dict[str, Any]) -> str:
    """The back end :func:`to_png` uses: ``"numpy"`` or ``"matplotlib"``.

    Parameters
    ----------
    engine : {"auto", "numpy", "matplotlib"}
        ``"auto"`` is ``"numpy"`` unless the picture has text
        (:func:`needs_text`) and matplotlib is installed.
    style : dict
        The style options.

    Raises
    ------
    ValueError
        For another ``engine``.

    Examples
    --------
    >>> png_engine("auto", {"size": 300}), png_engine("matplotlib", {})
    ('numpy', 'matplotlib')
    """
    if engine not in ("auto", "numpy", "matplotlib"):
        raise ValueError(f"engine must be 'auto', 'numpy' or 'matplotlib', got {engine!r}")
    if engine != "auto":
        return engine
    if needs_text(style) and importlib.util.find_spec("matplotlib") is not None:
        return "matplotlib"
    return "numpy"


def to_png(
    part: Partition | Partition1D,
    path: str | Path | None = None,
    *,
    engine: str = "auto",
    **style: Any,
) -> bytes:
    """Draw a partition as a PNG of exactly ``size`` pixels.

    Parameters
    ----------
    part : Partition or Partition1D
        A 1-D partition is drawn by :func:`~regionscope.render.plot_1d`
        (needs matplotlib; style options ``size``, ``layer``, ``outputs``...).
    path : str or Path, optional
        File to write.
    engine : {"auto", "numpy", "matplotlib"}
        ``"numpy"`` rasterises with NumPy and zlib only (fast: ~1 s for
        100 000 regions); it has no fonts, so it draws no text.
        ``"matplotlib"`` draws the same picture and writes its text (axes,
        title, legend, colour bar, mark labels) with matplotlib.  ``"auto"``
        (default) is ``"matplotlib"`` for pictures with text when matplotlib
        is installed.  For a vector figure use :func:`~regionscope.render.to_svg`
        or :func:`~regionscope.render.to_pdf`.
    **style
        Style options (see :mod:`regionscope.render.style`).

    Returns
    -------
    bytes
        The PNG file's bytes.
    """
    engine = png_engine(engine, style)
    if getattr(part.domain, "dim", 2) == 1:
        data = picture_1d(part, "png", style)
    else:
        part = drawn_partition(part, style)
        scene = build_scene(part, style, "to_png")
        image = rasterize(part, scene)
        if engine == "matplotlib":
            texts = [it for it in scene.overlay if isinstance(it, Text)] + mark_texts(scene)
            if texts:
                image = text_layer(image, texts)
        data = encode_png(image)
    if path is not None:
        Path(path).write_bytes(data)
    return data


def repr_png(part: Partition) -> bytes:
    """PNG bytes for Jupyter's ``_repr_png_``: :data:`REPR_SIZE` pixels wide, NumPy engine."""
    return to_png(part, None, engine="numpy", size=REPR_SIZE)
