"""Local complexity of the digits CNN around its data, through training.

Trains the small CNN of ``examples/digits_cnn.py`` on scikit-learn's bundled
8x8 digits (no download) and, at checkpoints through training, counts its
*local complexity* around test and training images: the number of linear
regions that meet a disk of radius ``--radius`` around the image, in a
random plane through it (``rs.neighbourhood_planes``: a square window of
half side ``--radius`` around each image, two random orthonormal directions;
the count is exact, from the regions' polygons).  It plots the mean count
(with its spread over the images) against the training step, with the test
accuracy, to a PNG with matplotlib.

Run::

    python examples/local_complexity.py --out out/lc

It prints the time of training and of the partitions, and the table.
"""

from __future__ import annotations

import argparse
import copy
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

import regionscope as rs

sys.path.insert(0, str(Path(__file__).resolve().parent))
from digits_cnn import build_model  # noqa: E402  (the CNN of examples/digits_cnn.py)


def load(seed: int = 0) -> tuple[np.ndarray, ...]:
    """Digits in ``[0, 1]`` as ``(N, 1, 8, 8)`` float32, split 80/20: train x, y, test x, y."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    images = (digits.images / 16.0).astype(np.float32)[:, None]
    labels = digits.target.astype(np.int64)
    order = np.random.default_rng(seed).permutation(len(images))
    split = int(0.8 * len(images))
    tr, te = order[:split], order[split:]
    return images[tr], labels[tr], images[te], labels[te]


def train_checkpoints(
    epochs: int, checkpoints: list[int], seed: int = 0
) -> tuple[list[tuple[int, Any, float]], tuple[np.ndarray, ...]]:
    """Train; at the end of each epoch in ``checkpoints`` (0: before training) keep
    ``(optimizer step, eval-mode copy of the model, test accuracy)``."""
    import torch

    torch.set_num_threads(1)  # small batches: one thread is as fast, and shares the machine
    torch.manual_seed(seed)
    data = load(seed)
    x_train, y_train = torch.from_numpy(data[0]), torch.from_numpy(data[1])
    x_test, y_test = torch.from_numpy(data[2]), data[3]
    model = build_model()
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    loss_fn = torch.nn.CrossEntropyLoss()
    kept, step = [], 0

    def keep() -> None:
        snapshot = copy.deepcopy(model).eval()
        with torch.no_grad():
            accuracy = float((snapshot(x_test).argmax(dim=1).numpy() == y_test).mean())
        kept.append((step, snapshot, accuracy))

    for epoch in range(epochs + 1):
        if epoch in checkpoints:
            keep()
        if epoch == epochs:
            break
        model.train()
        perm = torch.randperm(len(x_train))
        for start in range(0, len(perm), 64):
            batch = perm[start : start + 64]
            opt.zero_grad()
            loss_fn(model(x_train[batch]), y_train[batch]).backward()
            opt.step()
            step += 1
    return kept, data


def complexity_at(model: Any, images: np.ndarray, radius: float, seed: int) -> np.ndarray:
    """Local complexity of ``model`` around each image ``(N, 1, 8, 8)``: ``(N,) int64``."""
    from regionscope.network.coerce import as_layers

    net = rs.Sequential(*as_layers(model, images.shape[1:]))  # converted once, float64
    planes = rs.neighbourhood_planes(images.astype(np.float64), radius, seed=seed)
    out = np.empty(len(images), dtype=np.int64)
    for i, (x, plane) in enumerate(zip(images, planes, strict=True)):
        part = rs.partition(net, plane)
        out[i] = part.local_complexity(plane.to_plane(x.astype(np.float64)), radius)[0]
    return out


def plot(rows: list[dict[str, Any]], radius: float, path: Path) -> None:
    """Mean local complexity (band: quartiles) against the step, accuracy on a second axis."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    steps = np.array([r["step"] for r in rows])
    fig, ax = plt.subplots(figsize=(6.4, 4.0), dpi=110)
    for key, color, name in (("test", "tab:blue", "test images"),
                             ("train", "tab:orange", "training images")):  # fmt: skip
        values = [r[key] for r in rows]
        ax.plot(steps, [v.mean() for v in values], "o-", color=color, label=name)
        lo, hi = np.array([np.quantile(v, [0.25, 0.75]) for v in values]).T
        ax.fill_between(steps, lo, hi, color=color, alpha=0.2, linewidth=0)
    ax.set_xlabel("training step")
    ax.set_ylabel(f"regions within radius {radius:g} (mean; quartiles)")
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    acc = ax.twinx()
    acc.plot(steps, [r["accuracy"] for r in rows], "s--", color="0.35", label="test accuracy")
    acc.set_ylim(0, 1.02)
    acc.set_ylabel("test accuracy")
    handles = ax.get_legend_handles_labels()[0] + acc.get_legend_handles_labels()[0]
    ax.legend(handles=handles, loc="lower right", fontsize=8)
    ax.set_title("Digits CNN: local complexity around data through training", fontsize=10)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("out/lc"), help="output folder")
    parser.add_argument("--epochs", type=int, default=16, help="training epochs")
    parser.add_argument(
        "--checkpoints", type=int, nargs="+", default=[0, 1, 2, 4, 8, 12, 16],
        help="epochs after which to measure (0: at initialisation)",
    )  # fmt: skip
    parser.add_argument("--images", type=int, default=16, help="test and training images each")
    parser.add_argument("--radius", type=float, default=0.25, help="disk radius")
    parser.add_argument("--seed", type=int, default=0, help="seed of data split and planes")
    args = parser.parse_args(argv)
    if args.epochs < 0 or args.images < 1 or args.radius <= 0:
        parser.error("need --epochs >= 0, --images >= 1 and --radius > 0")
    checkpoints = sorted({c for c in args.checkpoints if 0 <= c <= args.epochs})
    if not checkpoints:
        parser.error("no --checkpoints within 0..--epochs")

    t0 = time.perf_counter()
    kept, (x_train, _, x_test, _) = train_checkpoints(args.epochs, checkpoints, args.seed)
    t_train = time.perf_counter() - t0
    print(f"trained {args.epochs} epochs in {t_train:.1f} s ({len(kept)} checkpoints)")
    rng = np.random.default_rng(args.seed)
    test = x_test[rng.choice(len(x_test), args.images, replace=False)]
    train = x_train[rng.choice(len(x_train), args.images, replace=False)]
    rows = []
    t0 = time.perf_counter()
    print(" step  accuracy  test LC (mean)  train LC (mean)")
    for step, model, accuracy in kept:
        row = {
            "step": step,
            "accuracy": accuracy,
            "test": complexity_at(model, test, args.radius, args.seed),
            "train": complexity_at(model, train, args.radius, args.seed + 1),
        }
        rows.append(row)
        print(
            f"{step:5d}  {accuracy:8.3f}  {row['test'].mean():14.1f}  {row['train'].mean():15.1f}"
        )
    t_lc = time.perf_counter() - t0
    count = 2 * args.images * len(kept)
    print(f"{count} neighbourhood partitions and counts in {t_lc:.1f} s")
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / "local_complexity.png"
    plot(rows, args.radius, path)
    print(f"wrote {path}")
    return {"rows": rows, "path": path, "seconds": {"train": t_train, "complexity": t_lc}}


if __name__ == "__main__":
    main()
