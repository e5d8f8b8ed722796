"""A movie of the linear regions of a small MLP while it learns the two moons.

Trains a [2, 24, 24, 2] ReLU network with PyTorch on scikit-learn's
``make_moons`` (generated, no download) for 300 steps, records the network
every ``--every`` steps in a :class:`regionscope.Timeline`, and writes an
animated GIF of the regions (coloured by activation pattern, so a region keeps
its colour while it survives; the decision boundary in black; the training
points marked) with the step on every frame.

Run::

    python examples/training_movie.py --out out/movie

It prints the time of training, of the partitions and of the GIF, and a
table of region statistics per recorded step.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import numpy as np

import regionscope as rs


def moons(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` standardised two-moons points ``(n, 2)`` and their labels ``(n,)``."""
    from sklearn.datasets import make_moons

    x, y = make_moons(n, noise=0.15, random_state=seed)
    return (x - x.mean(axis=0)) / x.std(axis=0), y


def train(steps: int, every: int, width: int, seed: int = 0) -> tuple[Any, np.ndarray, np.ndarray]:
    """Train on the moons, recording a frame every ``every`` steps (and the last)."""
    import torch

    torch.set_num_threads(1)
    torch.manual_seed(seed)
    x, y = moons(200, seed)
    xt = torch.tensor(x, dtype=torch.float32)
    yt = torch.tensor(y)
    model = torch.nn.Sequential(
        torch.nn.Linear(2, width),
        torch.nn.ReLU(),
        torch.nn.Linear(width, width),
        torch.nn.ReLU(),
        torch.nn.Linear(width, 2),
    )
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    # the class decision is an Argmax after the logits: its edges are the decision boundary
    timeline = rs.Timeline(rs.Box(2.5), argmax=True)
    for step in range(steps + 1):
        if step % every == 0 or step == steps:
            timeline.record(model, step)  # a float64 copy of the weights as they are now
        if step == steps:
            break
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(xt), yt)
        loss.backward()
        opt.step()
    return timeline, x, y


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("out/movie"), help="output folder")
    parser.add_argument("--steps", type=int, default=300, help="training steps")
    parser.add_argument("--every", type=int, default=10, help="record every this many steps")
    parser.add_argument("--width", type=int, default=24, help="hidden layer width")
    parser.add_argument("--size", type=int, default=360, help="frame width in pixels")
    parser.add_argument("--fps", type=float, default=8.0, help="frames per second")
    args = parser.parse_args(argv)
    if args.steps < 1 or args.every < 1 or args.width < 1:
        parser.error("--steps, --every and --width must be positive")

    t0 = time.perf_counter()
    timeline, x, y = train(args.steps, args.every, args.width)
    t_train = time.perf_counter() - t0
    t0 = time.perf_counter()
    parts = timeline.partitions
    t_part = time.perf_counter() - t0
    print(
        f"trained {args.steps} steps, recorded {len(timeline)} frames in {t_train:.2f} s; "
        f"partitions {t_part:.2f} s ({min(p.num_regions for p in parts)} to "
        f"{max(p.num_regions for p in parts)} regions)"
    )
    table = timeline.stats()
    print(" step  regions  boundary  near/far density  born  died")
    for row in table[:: max(1, len(table) // 10)]:
        ratio = row["near_density"] / row["far_density"]
        print(
            f"{row['step']:5d}  {row['regions']:7d}  {row['boundary_length']:8.2f}  "
            f"{ratio:16.2f}  {row['born'] or 0:4d}  {row['died'] or 0:4d}"
        )
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / "training.gif"
    t0 = time.perf_counter()
    timeline.save_animation(
        path, fps=args.fps, size=args.size, mark=x, mark_color=y, mark_size=4.0
    )
    t_gif = time.perf_counter() - t0
    print(f"wrote {path} ({path.stat().st_size / 1024:.0f} KiB) in {t_gif:.2f} s")
    return {
        "timeline": timeline,
        "table": table,
        "path": path,
        "seconds": {"train": t_train, "partitions": t_part, "gif": t_gif},
    }


if __name__ == "__main__":
    main()
