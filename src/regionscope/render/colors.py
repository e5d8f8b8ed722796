"""Colours for regionscope pictures, with NumPy only.

Colours are float RGBA arrays in ``[0, 1]``.  This module parses colour
specifications (``"#1f77b4"``, ``"black"``, ``(0.2, 0.4, 0.6)``), maps region
hashes to pleasant pastel colours, holds the categorical palettes, and
evaluates colormaps (two built in; any other name is looked up in matplotlib,
imported lazily).

Examples
--------
>>> from regionscope.render.colors import to_rgba, to_hex
>>> to_rgba("#ff8000")
(1.0, 0.5019607843137255, 0.0, 1.0)
>>> to_hex((0.0, 0.5, 1.0))
'#0080ff'
>>> import numpy as np
>>> hash_colors(np.array([1, 1, 2], dtype=np.uint64)).shape
(3, 4)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from regionscope.geometry.arrays import mix64

__all__ = [
    "RGBA",
    "CATEGORICAL",
    "LAYER_PALETTE",
    "to_rgba",
    "to_hex",
    "hex_array",
    "hash_colors",
    "categorical_colors",
    "colormap",
]

#: one colour: red, green, blue and alpha, floats in ``[0, 1]``
RGBA = tuple[float, float, float, float]

_NAMED = {
    "black": "#000000",
    "white": "#ffffff",
    "red": "#d62728",
    "green": "#2ca02c",
    "blue": "#1f5fbf",
    "orange": "#ff7f0e",
    "purple": "#8e44ad",
    "yellow": "#f1c40f",
    "cyan": "#17becf",
    "magenta": "#e377c2",
    "gray": "#808080",
    "grey": "#808080",
    "lightgray": "#d3d3d3",
    "lightgrey": "#d3d3d3",
    "darkgray": "#404040",
    "darkgrey": "#404040",
}

#: categorical palette for classes (Okabe & Ito's colour-blind safe set, then more)
CATEGORICAL = (
    "#e69f00",
    "#56b4e9",
    "#009e73",
    "#f0e442",
    "#0072b2",
    "#d55e00",
    "#cc79a7",
    "#999999",
    "#8c6d31",
    "#6b6ecf",
)

#: edge colours per layer: saturated and dark enough to read on pastel regions
LAYER_PALETTE = (
    "#1b4f9c",
    "#c0392b",
    "#1e8449",
    "#7d3c98",
    "#d35400",
    "#117a8b",
    "#b7950b",
    "#6e2c00",
    "#c71585",
    "#2e4053",
)


def to_rgba(color: Any, alpha: float | None = None) -> RGBA:
    """Parse one colour into an RGBA tuple of floats in ``[0, 1]``.

    Parameters
    ----------
    color : str or sequence of float
        ``"#rgb"``, ``"#rrggbb"``, ``"#rrggbbaa"``, a basic name (``"black"``,
        ``"gray"``...), ``"none"`` (transparent), or 3 or 4 floats in
        ``[0, 1]``.  Other names are looked up in matplotlib if it is installed.
    alpha : float, optional
        Replaces the alpha of the colour.

    Raises
    ------
    ValueError
        When the colour cannot be parsed.
    """
    rgba: tuple[float, ...]
    if isinstance(color, str):
        s = color.strip().lower()
        s = _NAMED.get(s, s)
        if s in ("none", "transparent"):
            rgba = (0.0, 0.0, 0.0, 0.0)
        elif s.startswith("#") and len(s) in (4, 7, 9):
            digits = s[1:]
            if len(digits) == 3:
                digits = "".join(c * 2 for c in digits)
            try:
                vals = [int(digits[i : i + 2], 16) / 255.0 for i in range(0, len(digits), 2)]
            except ValueError:
                raise ValueError(f"color {color!r} is not a valid hex colour") from None
            rgba = (*vals, 1.0) if len(vals) == 3 else tuple(vals)
        else:
            rgba = _matplotlib_color(color)
    else:
        try:
            vals = [float(v) for v in color]
        except (TypeError, ValueError):
            raise ValueError(
                f"color must be a string or 3 or 4 numbers in [0, 1], got {color!r}"
            ) from None
        if len(vals) not in (3, 4) or not all(0.0 <= v <= 1.0 for v in vals):
            raise ValueError(f"color must be 3 or 4 numbers in [0, 1], got {color!r}")
        rgba = (*vals, 1.0) if len(vals) == 3 else tuple(vals)
    if alpha is not None:
        rgba = (*rgba[:3], float(alpha))
    return (float(rgba[0]), float(rgba[1]), float(rgba[2]), float(rgba[3]))


def _matplotlib_color(color: str) -> tuple[float, ...]:
    try:
        from matplotlib.colors import to_rgba as mpl_to_rgba  # noqa: TID251 (lazy, optional)
    except ImportError:
        raise ValueError(
            f"unknown color {color!r}: use '#rrggbb' or a basic name (install matplotlib "
            "for all named colours)"
        ) from None
    try:
        return tuple(mpl_to_rgba(color))
    except ValueError:
        raise ValueError(f"unknown color {color!r}") from None


def to_hex(color: Any) -> str:
    """``'#rrggbb'`` of a colour (alpha dropped).

    Parameters
    ----------
    color : str or sequence of float
        Anything :func:`to_rgba` parses.
    """
    r, g, b, _ = to_rgba(color)
    return "#{:02x}{:02x}{:02x}".format(*(int(round(v * 255)) for v in (r, g, b)))


def hex_array(rgba: np.ndarray) -> np.ndarray:
    """``'#rrggbb'`` strings of many colours at once.

    Parameters
    ----------
    rgba : (N, 3) or (N, 4) float64
        Colours in ``[0, 1]`` (alpha ignored).

    Returns
    -------
    (N,) str
        NumPy unicode array.

    Examples
    --------
    >>> hex_array(np.array([[1.0, 0.0, 0.5, 1.0]])).tolist()
    ['#ff0080']
    """
    rgb = np.clip(np.round(np.asarray(rgba, dtype=np.float64)[:, :3] * 255), 0, 255)
    idx = rgb.astype(np.int64)
    byte = _BYTE_HEX[idx]
    return np.char.add(np.char.add(np.char.add("#", byte[:, 0]), byte[:, 1]), byte[:, 2])


_BYTE_HEX = np.array([f"{i:02x}" for i in range(256)])


def _hsl_to_rgb(h: np.ndarray, s: np.ndarray, lum: np.ndarray) -> np.ndarray:
    """Vectorised HSL to RGB; all inputs ``(N,)`` in ``[0, 1]``, result ``(N, 3)``."""
    c = (1.0 - np.abs(2.0 * lum - 1.0)) * s
    k = np.stack([(n + h * 12.0) % 12.0 for n in (0.0, 8.0, 4.0)], axis=1)
    a = c[:, None] / 2.0
    f = lum[:, None] - a * np.clip(np.minimum(k - 3.0, 9.0 - k), -1.0, 1.0)
    return np.clip(f, 0.0, 1.0)


def hash_colors(
    keys: np.ndarray,
    *,
    saturation: tuple[float, float] = (0.40, 0.70),
    lightness: tuple[float, float] = (0.62, 0.82),
) -> np.ndarray:
    """Deterministic pastel colours from hashes.

    Hue comes from 16 bits of the scrambled key, saturation and lightness from
    8 bits each, so equal keys always get equal colours and different keys
    almost always visibly different ones.

    Parameters
    ----------
    keys : (N,) uint64
        Hashes (pattern keys...).
    saturation, lightness : (float, float)
        Ranges of the HSL saturation and lightness.

    Returns
    -------
    (N, 4) float64
        Opaque RGBA in ``[0, 1]``.
    """
    z = mix64(keys)
    hue = (z & np.uint64(0xFFFF)).astype(np.float64) / 65536.0
    s8 = ((z >> np.uint64(16)) & np.uint64(0xFF)).astype(np.float64) / 255.0
    l8 = ((z >> np.uint64(24)) & np.uint64(0xFF)).astype(np.float64) / 255.0
    sat = saturation[0] + (saturation[1] - saturation[0]) * s8
    lum = lightness[0] + (lightness[1] - lightness[0]) * l8
    rgb = _hsl_to_rgb(hue, sat, lum)
    return np.concatenate([rgb, np.ones((len(rgb), 1))], axis=1)


def categorical_colors(index: Any, palette: Any = CATEGORICAL) -> np.ndarray:
    """Colours of integer categories from a palette.

    Categories beyond the palette get hash colours (darker, to stay distinct).

    Parameters
    ----------
    index : (N,) int
        Non-negative categories.
    palette : sequence of colours
        Colour of category ``i`` is ``palette[i]``.

    Returns
    -------
    (N, 4) float64
        RGBA in ``[0, 1]``.

    Examples
    --------
    >>> categorical_colors([1], ("#000000", "#ffffff")).tolist()
    [[1.0, 1.0, 1.0, 1.0]]
    """
    idx = np.asarray(index, dtype=np.int64)
    table = np.array([to_rgba(c) for c in palette])
    out = np.empty((len(idx), 4))
    inside = (idx >= 0) & (idx < len(table))
    out[inside] = table[idx[inside]]
    if (~inside).any():
        out[~inside] = hash_colors(
            idx[~inside].astype(np.uint64), saturation=(0.55, 0.8), lightness=(0.35, 0.5)
        )
    return out


# Two colormaps that need no matplotlib: piecewise-linear through a few anchors.
# "viridis" (anchors sampled from the CC0 viridis map of van der Walt & Smith) and a
# blue-white-red diverging map for signed outputs.
_BUILTIN_CMAPS = {
    "viridis": (
        "#440154",
        "#472d7b",
        "#3b528b",
        "#2c728e",
        "#21918c",
        "#28ae80",
        "#5ec962",
        "#addc30",
        "#fde725",
    ),
    "diverging": ("#2b5c9e", "#8fb3d9", "#f7f7f7", "#e69a8a", "#b2302c"),
}


def colormap(cmap: Any = None) -> Callable[[np.ndarray], np.ndarray]:
    """A function mapping values ``(N,)`` in ``[0, 1]`` to colours ``(N, 4) float64``.

    Parameters
    ----------
    cmap : None, str or callable
        ``None`` or ``"viridis"`` / ``"diverging"`` use the built-in maps (no
        matplotlib needed); other names are matplotlib colormaps; a callable
        (a matplotlib ``Colormap``, say) is used as is.

    Examples
    --------
    >>> colormap("diverging")(np.array([0.5])).round(3).tolist()
    [[0.969, 0.969, 0.969, 1.0]]
    """
    if cmap is None:
        cmap = "viridis"
    if isinstance(cmap, str):
        if cmap in _BUILTIN_CMAPS:
            anchors = np.array([to_rgba(c) for c in _BUILTIN_CMAPS[cmap]])
            grid = np.linspace(0.0, 1.0, len(anchors))

            def builtin(t: np.ndarray) -> np.ndarray:
                t = np.clip(np.nan_to_num(np.asarray(t, dtype=np.float64), nan=0.0), 0.0, 1.0)
                return np.stack([np.interp(t, grid, anchors[:, c]) for c in range(4)], axis=-1)

            return builtin
        try:
            import matplotlib  # noqa: TID251 (lazy, optional)
        except ImportError:
            raise ValueError(
                f"cmap {cmap!r} needs matplotlib; without it use one of {sorted(_BUILTIN_CMAPS)}"
            ) from None
        try:
            mpl_map = matplotlib.colormaps[cmap]
        except KeyError:
            raise ValueError(f"cmap {cmap!r} is not a known colormap name") from None
        return lambda t: np.asarray(mpl_map(np.asarray(t, dtype=np.float64)), dtype=np.float64)
    if callable(cmap):
        return lambda t: np.asarray(cmap(np.asarray(t, dtype=np.float64)), dtype=np.float64)
    raise TypeError(f"cmap must be None, a colormap name or a callable, got {type(cmap).__name__}")
