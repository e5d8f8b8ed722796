"""Where a tiled partition's regions are: a map of regions per unit area over the domain.

Reads a directory written by ``rs.partition_tiles(..., directory=D)`` (for example by
``bench/scale.py plane``), counts the stitched regions by their centroids (the index's
``centroids`` file, read in blocks, so the regions never sit in memory at once) on a
``bins x bins`` grid over the domain's bounding box, and draws ``log10`` of regions per unit
area, with a plane's three data points marked.  Prints the counts it drew from.

Example::

    python bench/plane_density.py /work/scratch/three_tiles3 --out docs/three_patch_density.png
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

import regionscope as rs
from regionscope.scale import load_tiles

#: centroids read at a time
BLOCK = 1 << 22


def density(directory: Path, bins: int) -> dict:
    """The counts per bin ``(bins, bins)`` (rows: the second coordinate), the bin edges and
    the domain."""
    tiled = load_tiles(directory)
    polygon = np.asarray(tiled.domain.polygon)
    lo, hi = polygon.min(axis=0), polygon.max(axis=0)
    centroids = tiled.centroids()
    counts = np.zeros((bins, bins))
    for start in range(0, len(centroids), BLOCK):
        c = np.asarray(centroids[start : start + BLOCK])
        box = [[lo[1], hi[1]], [lo[0], hi[0]]]
        counts += np.histogram2d(c[:, 1], c[:, 0], bins=bins, range=box)[0]
    return {"tiled": tiled, "counts": counts, "lo": lo, "hi": hi}


def draw(result: dict, out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tiled, counts, lo, hi = result["tiled"], result["counts"], result["lo"], result["hi"]
    bins = counts.shape[0]
    cell = (hi[0] - lo[0]) * (hi[1] - lo[1]) / bins**2
    per_area = np.where(counts > 0, counts / cell, np.nan)
    fig, ax = plt.subplots(figsize=(6.4, 5.6), dpi=110)
    image = ax.imshow(
        np.log10(per_area), origin="lower", extent=(lo[0], hi[0], lo[1], hi[1]), cmap="magma"
    )
    domain = tiled.domain
    if isinstance(domain, rs.Plane):
        pts = domain.projected
        ax.scatter(pts[:, 0], pts[:, 1], s=40, c="cyan", edgecolors="black", zorder=3)
        for k, (u, v) in enumerate(pts):
            ax.annotate(f"patch {k + 1}", (u, v), xytext=(6, 6), textcoords="offset points",
                        color="cyan", fontsize=9)  # fmt: skip
    ax.set_xlabel("plane coordinate 1")
    ax.set_ylabel("plane coordinate 2")
    kx, ky = tiled.grid
    ax.set_title(f"{tiled.num_regions:,} regions ({kx}x{ky} tiles)", fontsize=10)
    bar = fig.colorbar(image, ax=ax)
    bar.set_label("log10 regions per unit area")
    fig.tight_layout()
    fig.savefig(out)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directory", type=Path)
    parser.add_argument("--bins", type=int, default=400)
    parser.add_argument("--out", type=Path, default=Path("density.png"))
    args = parser.parse_args()
    if args.bins < 1:
        parser.error(f"--bins must be at least 1, got {args.bins}")
    result = density(args.directory, args.bins)
    draw(result, args.out)
    counts = result["counts"]
    print(json.dumps({
        "regions": int(result["tiled"].num_regions),
        "counted": int(counts.sum()),
        "bins": args.bins,
        "max_per_bin": int(counts.max()),
        "empty_bins": int((counts == 0).sum()),
        "out": str(args.out),
    }))  # fmt: skip


if __name__ == "__main__":
    main()
