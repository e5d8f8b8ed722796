"""Animations: one GIF frame per step, region colours as in each step's to_png; palettes; MP4."""

from __future__ import annotations

import numpy as np
import pytest

import regionscope as rs
from regionscope.render.scene import build_scene
from regionscope.render.style import STYLE_KEYS
from regionscope.workflows.animation import decode_png, palette_image, write_animation
from regionscope.workflows.timeline import Timeline

Image = pytest.importorskip("PIL.Image")


def small_nets(count: int) -> list[rs.Sequential]:
    rng = np.random.default_rng(11)
    w1, b1 = rng.normal(size=(5, 2)), rng.normal(scale=0.4, size=5)
    w2 = rng.normal(size=(3, 5))
    out = []
    for _ in range(count):
        out.append(rs.Sequential(rs.Linear(w1, b1), rs.ReLU(), rs.Linear(w2), rs.Argmax()))
        w1 = w1 + rng.normal(scale=0.15, size=w1.shape)
    return out


def gif_frames(path) -> list[np.ndarray]:
    with Image.open(path) as im:
        frames = []
        for i in range(im.n_frames):
            im.seek(i)
            frames.append(np.asarray(im.convert("RGB")).copy())
    return frames


def test_gif_has_one_frame_per_step_with_each_steps_colours(tmp_path):
    tl = Timeline(rs.Box(1.0), small_nets(4), steps=[0, 100, 200, 300])
    style = {"size": 160}
    path = tl.save_animation(tmp_path / "train.gif", fps=4, **style)
    frames = gif_frames(path)
    assert len(frames) == 4
    checked = 0
    for i, (part, frame) in enumerate(zip(tl, frames, strict=True)):
        st = dict(style)
        if "title" in STYLE_KEYS:
            st["title"] = f"step {tl.steps[i]}"
        want = decode_png(part.to_png(None, **st))
        assert frame.shape == want.shape
        px = np.round(build_scene(part, st, "test").px(part.centroids()) - 0.5).astype(int)
        for x, y in px:
            block = want[y - 1 : y + 2, x - 1 : x + 2].reshape(-1, 3)
            if (block == block[0]).all():  # the centroid is not on a line
                assert frame[y, x].tolist() == want[y, x].tolist()
                checked += 1
    assert checked >= 0.8 * sum(p.num_regions for p in tl)


def test_frames_show_the_step_label():
    if "title" not in STYLE_KEYS:
        pytest.skip("the renderer has no title option yet")
    tl = Timeline(rs.Box(1.0), small_nets(1), steps=[7])
    labelled = tl.frames(size=120)[0]
    plain = tl.frames(label=None, size=120)[0]
    assert labelled.shape[0] > plain.shape[0] or not np.array_equal(labelled, plain)


def test_palette_keeps_the_most_frequent_colours_exactly():
    rng = np.random.default_rng(0)
    image = np.zeros((40, 50, 3), dtype=np.uint8)
    image[:20] = (200, 10, 10)
    image[20:] = (10, 10, 200)
    noise = rng.integers(0, 256, (300, 3), dtype=np.uint8)  # 300 colours of one pixel each
    image[rng.integers(0, 40, 300), rng.integers(0, 50, 300)] = noise
    index, palette = palette_image(image)
    assert len(palette) == 255
    out = palette[index]
    big = (image == (200, 10, 10)).all(axis=2) | (image == (10, 10, 200)).all(axis=2)
    assert (out[big] == image[big]).all()
    # other pixels take the nearest kept colour
    flat_in, flat_out = image.reshape(-1, 3).astype(int), out.reshape(-1, 3).astype(int)
    dist = ((flat_in[:, None, :] - palette[None, :, :].astype(int)) ** 2).sum(axis=2).min(axis=1)
    assert (((flat_in - flat_out) ** 2).sum(axis=1) == dist).all()


def test_write_animation_checks():
    frame = np.zeros((8, 8, 3), dtype=np.uint8)
    with pytest.raises(ValueError, match=".gif or .mp4"):
        write_animation("movie.avi", [frame])
    with pytest.raises(ValueError, match="one shape"):
        write_animation("movie.gif", [frame, np.zeros((4, 8, 3), dtype=np.uint8)])
    with pytest.raises(ValueError, match="fps must be a positive"):
        write_animation("movie.gif", [frame], fps=0)
    with pytest.raises(ValueError, match="empty"):
        write_animation("movie.gif", [])


def test_mp4(tmp_path):
    pytest.importorskip("imageio_ffmpeg")
    import imageio.v2 as imageio

    tl = Timeline(rs.Box(1.0), small_nets(3))
    path = tl.save_animation(tmp_path / "train.mp4", fps=3, size=100)
    reader = imageio.get_reader(str(path), format="FFMPEG")
    frames = [f for f in reader]
    reader.close()
    assert len(frames) == 3
    assert frames[0].shape[0] % 16 == 0 and frames[0].shape[1] % 16 == 0
