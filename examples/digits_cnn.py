"""Linear regions of a small CNN on the plane through three handwritten digits.

Trains a small convolutional network (convolution, batch-norm, max-pooling, a
residual block, a linear classifier) on scikit-learn's bundled 8x8 digits (no
download), then computes exactly how the trained network cuts the plane
through three test images of different classes into linear regions, with the
decision boundary (an ``Argmax`` layer on the logits).

Run::

    python examples/digits_cnn.py --out out/digits --epochs 30

It prints the test accuracy, the number of regions and vertices, the time of
the partition and the process's peak memory (``resource.getrusage``), and
writes ``digits_cnn.npz`` (read back with ``regionscope.load``) and, when the
rendering module is available, ``digits_cnn.png``.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

import regionscope as rs


def build_model() -> Any:
    """The CNN: 1x8x8 -> conv 4 -> BN -> ReLU -> max-pool -> residual block -> linear 10."""
    import torch
    from torch import nn

    class ResidualBlock(nn.Module):
        def __init__(self, channels: int) -> None:
            super().__init__()
            self.conv1 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
            self.bn1 = nn.BatchNorm2d(channels)
            self.conv2 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
            self.bn2 = nn.BatchNorm2d(channels)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y = torch.relu(self.bn1(self.conv1(x)))
            return torch.relu(x + self.bn2(self.conv2(y)))

    return nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1),
        nn.BatchNorm2d(4),
        nn.ReLU(),
        nn.MaxPool2d(2),  # 4 x 4 x 4
        ResidualBlock(4),
        nn.Flatten(),
        nn.Linear(64, 10),
    )


def train(epochs: int, seed: int = 0) -> tuple[Any, np.ndarray, np.ndarray, float]:
    """Train on 80% of the digits; return the model (eval mode), test images, labels, accuracy."""
    import torch
    from sklearn.datasets import load_digits

    torch.set_num_threads(2)
    torch.manual_seed(seed)
    digits = load_digits()
    images = (digits.images / 16.0).astype(np.float32)[:, None]  # (1797, 1, 8, 8) in [0, 1]
    labels = digits.target.astype(np.int64)
    order = np.random.default_rng(seed).permutation(len(images))
    split = int(0.8 * len(images))
    train_idx, test_idx = order[:split], order[split:]
    x_train, y_train = torch.from_numpy(images[train_idx]), torch.from_numpy(labels[train_idx])
    model = build_model()
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    loss_fn = torch.nn.CrossEntropyLoss()
    for _ in range(epochs):
        model.train()
        perm = torch.randperm(len(x_train))
        for start in range(0, len(perm), 64):
            batch = perm[start : start + 64]
            opt.zero_grad()
            loss_fn(model(x_train[batch]), y_train[batch]).backward()
            opt.step()
    model.eval()
    with torch.no_grad():
        pred = model(torch.from_numpy(images[test_idx])).argmax(dim=1).numpy()
    accuracy = float((pred == labels[test_idx]).mean())
    return model, images[test_idx], labels[test_idx], accuracy


def _max_rss_mib() -> float:
    """Peak resident memory of this process so far, in MiB."""
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / 2**20 if sys.platform == "darwin" else rss / 1024  # bytes on macOS, else KiB


def pick_images(images: np.ndarray, labels: np.ndarray, classes: tuple[int, ...]) -> np.ndarray:
    """The first test image of each of the given classes: ``(3, 1, 8, 8)``."""
    return np.stack([images[np.flatnonzero(labels == c)[0]] for c in classes]).astype(np.float64)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("out/digits"), help="output folder")
    parser.add_argument("--epochs", type=int, default=30, help="training epochs")
    parser.add_argument(
        "--classes", type=int, nargs=3, default=(0, 3, 7), help="digits spanning the plane"
    )
    parser.add_argument("--margin", type=float, default=0.25, help="plane margin")
    args = parser.parse_args(argv)
    if args.epochs < 0:
        parser.error("--epochs must be >= 0")

    t0 = time.perf_counter()
    model, images, labels, accuracy = train(args.epochs)
    t_train = time.perf_counter() - t0
    print(f"trained {args.epochs} epochs in {t_train:.1f} s, test accuracy {accuracy:.3f}")

    plane = rs.Plane(pick_images(images, labels, tuple(args.classes)), margin=args.margin)
    rss_before = _max_rss_mib()
    t0 = time.perf_counter()
    # the torch model is converted (a copy; the model is not changed), then the class
    # decision is added as an Argmax layer: its edges are the decision boundary
    part = rs.partition(model, plane).add(rs.Argmax())
    t_part = time.perf_counter() - t0
    rss_after = _max_rss_mib()
    boundary = int(part.decision_boundary().sum())
    print(
        f"plane through digits {tuple(args.classes)}: {part.num_regions} regions, "
        f"{part.num_vertices} vertices, {boundary} decision-boundary edges"
    )
    print(
        f"partition: {t_part:.2f} s; process peak memory {rss_after:.0f} MiB "
        f"({rss_after - rss_before:.0f} MiB above the peak before the partition)"
    )
    # the regions' affine maps reproduce the torch model at the region centroids
    import torch

    a, c = part.affine_maps(layer=-1)
    u = part.centroids()
    logits = np.einsum("fij,fj->fi", a, u) + c
    with torch.no_grad():
        x = torch.from_numpy(plane.lift(u).reshape(-1, *plane.input_shape))
        want = model.double()(x).numpy()
        model.float()
    err = float(np.abs(logits - want).max())
    print(f"largest difference between region maps and the model: {err:.2e}")

    args.out.mkdir(parents=True, exist_ok=True)
    part.save(args.out / "digits_cnn.npz")
    files = [args.out / "digits_cnn.npz"]
    try:
        part.to_png(
            args.out / "digits_cnn.png",
            color_by="class",
            class_names=[f"digit {c}" for c in range(10)],
            legend=True,
            axes=True,
            title=f"A small CNN on the plane through three digits: {part.num_regions} regions",
            mark=True,
            mark_labels=[f"digit {c}" for c in args.classes],
            size=(820, 640),
        )
        files.append(args.out / "digits_cnn.png")
    except ImportError as exc:  # labels are drawn with matplotlib, an optional extra
        print(f"(no picture: {exc})")
    print("wrote", ", ".join(str(f) for f in files))
    return {
        "accuracy": accuracy,
        "regions": part.num_regions,
        "vertices": part.num_vertices,
        "boundary_edges": boundary,
        "seconds": t_part,
        "peak_rss_mib": rss_after,
        "max_error": err,
        "files": files,
        "partition": part,
    }


if __name__ == "__main__":
    main()
