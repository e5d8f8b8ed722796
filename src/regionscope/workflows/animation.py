"""Frames to animations: GIF with Pillow (extra ``[anim]``), MP4 with imageio-ffmpeg (``[video]``).

A GIF frame holds at most 256 colours.  :func:`palette_image` keeps the 255
most frequent colours of a frame exactly (region fills cover many pixels, so
they are among them whenever a frame has fewer than about 250 regions) and
maps every other colour (anti-aliased edge pixels, mostly) to the nearest
kept one; Pillow then writes each frame with its own palette, unchanged.

Examples
--------
>>> import numpy as np
>>> image = np.zeros((2, 3, 3), dtype=np.uint8)
>>> image[0, 0] = (255, 0, 0)
>>> index, palette = palette_image(image)
>>> palette[index].tolist() == image.tolist(), len(palette)
(True, 2)
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from regionscope.checks import as_number
from regionscope.tolerances import get_budget

__all__ = ["GIF_COLORS", "decode_png", "palette_image", "save_gif", "save_mp4", "write_animation"]

#: colours kept exactly in each GIF frame
GIF_COLORS = 255


def _pillow(what: str) -> Any:
    try:
        from PIL import Image
    except ImportError as exc:
        raise ImportError(f"{what} needs Pillow: pip install 'regionscope[anim]'") from exc
    return Image


def decode_png(data: bytes) -> np.ndarray:
    """PNG bytes to ``(H, W, 3) uint8`` RGB pixels (needs Pillow)."""
    image = _pillow("decode_png")
    with image.open(io.BytesIO(data)) as im:
        return np.asarray(im.convert("RGB"), dtype=np.uint8).copy()


def palette_image(image: np.ndarray, colors: int = GIF_COLORS) -> tuple[np.ndarray, np.ndarray]:
    """An RGB image as palette indices, the most frequent colours kept exactly.

    Parameters
    ----------
    image : (H, W, 3) uint8
    colors : int
        Palette size, 1 to 256.

    Returns
    -------
    index : (H, W) uint8
    palette : (P, 3) uint8
        ``palette[index]`` is the image, except that pixels of colours beyond
        the ``colors`` most frequent take the nearest kept colour (squared RGB
        distance).
    """
    img = np.asarray(image)
    if img.dtype != np.uint8 or img.ndim != 3 or img.shape[2] != 3:
        raise ValueError(f"image must be (H, W, 3) uint8, got {img.shape} {img.dtype}")
    if not 1 <= colors <= 256:
        raise ValueError(f"colors must be in 1..256, got {colors}")
    flat = img.reshape(-1, 3).astype(np.uint32)
    codes = (flat[:, 0] << 16) | (flat[:, 1] << 8) | flat[:, 2]
    unique, inverse, counts = np.unique(codes, return_inverse=True, return_counts=True)
    rgb = np.stack([(unique >> 16) & 255, (unique >> 8) & 255, unique & 255], axis=1)
    keep = np.sort(np.argsort(-counts, kind="stable")[:colors])
    slot = np.full(len(unique), -1, dtype=np.int64)
    slot[keep] = np.arange(len(keep))
    rest = np.flatnonzero(slot < 0)
    # squared distances less |c|^2: |k|^2 - 2 c.k; every term is an integer below 2^24, so
    # float32 holds them exactly and the nearest colour is the exact one
    kept = rgb[keep].astype(np.float32)
    kept_sq = (kept * kept).sum(axis=1)
    step = max(1, min(4096, get_budget().table_values // max(len(keep), 1)))
    for start in range(0, len(rest), step):
        part = rgb[rest[start : start + step]].astype(np.float32)
        dist = kept_sq[None, :] - 2.0 * part[:, :1] * kept[None, :, 0]
        dist -= 2.0 * part[:, 1:2] * kept[None, :, 1]
        dist -= 2.0 * part[:, 2:] * kept[None, :, 2]
        slot[rest[start : start + step]] = dist.argmin(axis=1)
    index = slot[inverse.reshape(-1)].reshape(img.shape[:2]).astype(np.uint8)
    return index, rgb[keep].astype(np.uint8)


def save_gif(path: str | Path, frames: Sequence[np.ndarray], fps: float, loop: int = 0) -> None:
    """Write RGB frames ``(H, W, 3) uint8`` as an animated GIF (needs Pillow)."""
    image = _pillow("a GIF")
    pictures = []
    for frame in frames:
        index, palette = palette_image(frame)
        pic = image.fromarray(index)
        pic.putpalette(palette.reshape(-1).tobytes())
        pictures.append(pic)
    pictures[0].save(
        str(path),
        save_all=True,
        append_images=pictures[1:],
        duration=max(20, int(round(1000.0 / fps))),
        loop=loop,
        optimize=False,
        disposal=1,
    )


def save_mp4(path: str | Path, frames: Sequence[np.ndarray], fps: float) -> None:
    """Write RGB frames as an H.264 MP4 (needs imageio and imageio-ffmpeg).

    Frames are padded with white to sides divisible by 16 (the codec's blocks).
    """
    try:
        import imageio.v2 as imageio
        import imageio_ffmpeg  # noqa: F401
    except ImportError as exc:
        raise ImportError(
            "an MP4 needs imageio and imageio-ffmpeg: pip install 'regionscope[video]'"
        ) from exc
    h, w = frames[0].shape[:2]
    ph, pw = -h % 16, -w % 16
    with imageio.get_writer(str(path), format="FFMPEG", mode="I", fps=fps, codec="libx264",
                            macro_block_size=16, quality=8) as writer:  # fmt: skip
        for frame in frames:
            writer.append_data(np.pad(frame, ((0, ph), (0, pw), (0, 0)), constant_values=255))


def write_animation(
    path: str | Path, frames: Sequence[np.ndarray], fps: float = 5.0, loop: int = 0
) -> Path:
    """Write frames as ``.gif`` or ``.mp4``, by the file's suffix.

    Parameters
    ----------
    path : str or Path
        Ends in ``.gif`` (Pillow, extra ``[anim]``) or ``.mp4`` (imageio-ffmpeg,
        extra ``[video]``).
    frames : sequence of (H, W, 3) uint8
        All of one size.
    fps : float
        Frames per second (a GIF stores delays in hundredths of a second, at
        least 0.02 s).
    loop : int
        GIF only: times to loop, 0 for ever.

    Returns
    -------
    Path
    """
    out = Path(path)
    if not len(frames):
        raise ValueError("frames is empty: an animation needs at least one frame")
    shapes = {np.shape(f) for f in frames}
    if len(shapes) != 1:
        raise ValueError(f"frames must all have one shape, got {sorted(shapes)}")
    fps = as_number(fps, "fps")
    if fps <= 0:
        raise ValueError(f"fps must be a positive number, got {fps}")
    suffix = out.suffix.lower()
    if suffix == ".gif":
        save_gif(out, frames, fps, loop)
    elif suffix == ".mp4":
        save_mp4(out, frames, fps)
    else:
        raise ValueError(f"path must end in .gif or .mp4, got {out.name!r}")
    return out
