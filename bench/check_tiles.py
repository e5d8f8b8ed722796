"""Check a tiled partition of the CIFAR-shaped CNN against the float64 torch model.

A tiled run of ``bench/cnn_windows.py 0 --tiles K --directory D`` (the shifted-patch plane)
or ``bench/scale.py plane --directory D`` (the full plane through three patches) leaves its
tiles and index in ``D``.  For ``--regions`` regions drawn at random (seed 0), this pulls
each region out as an ordinary partition of its tile (``TiledPartition.region``) and
compares, at three points inside the region's piece (its centroid and two points between
the centroid and a corner), the region's affine map of the output with ``model(x)`` of the
float64 torch model, relative to the outputs' largest magnitude; and the region's
activation pattern of every piecewise layer with the pattern at the centroid (a forward
pass).  Also: the pieces' areas add up to the plane's area.

Run::

    python bench/check_tiles.py /tmp/cnn_tiles --regions 50
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import real_networks as rn  # noqa: E402  (bench/ is not a package)


def check(directory: str, regions: int, seed: int = 0) -> dict:
    import torch

    import regionscope as rs

    torch.set_num_threads(1)
    cpu = time.process_time()
    tiled = rs.load_tiles(directory)
    model = rn.cifar_cnn(0).double().eval()
    rng = np.random.default_rng(seed)
    chosen = rng.choice(tiled.num_regions, size=min(regions, tiled.num_regions), replace=False)
    worst_map, worst_pattern = 0.0, 0
    for g in chosen.tolist():
        part, f = tiled.region(int(g))
        poly = part.polygon(f)
        centre = part.centroids()[f]
        points = np.stack([centre, (centre + poly[0]) / 2, (centre + poly[len(poly) // 2]) / 2])
        lin, off = part.affine_maps(regions=[f])
        ours = points @ lin[0].T + off[0]
        x = part.lift(points).reshape(len(points), 3, rn.PATCH, rn.PATCH)
        with torch.no_grad():
            theirs = model(torch.from_numpy(x)).numpy()
        scale = max(float(np.abs(theirs).max()), 1e-300)
        worst_map = max(worst_map, float(np.abs(ours - theirs).max()) / scale)
        at_centre = part.patterns_at(centre[None])
        mine = part.activation_patterns()
        worst_pattern += sum(
            int(np.any(np.asarray(mine[k])[f] != np.asarray(at_centre[k])[0])) for k in mine
        )
    area = float(np.sum(tiled.areas()))
    return {
        "directory": directory,
        "regions": int(tiled.num_regions),
        "checked": len(chosen),
        "max_relative_map_error": worst_map,
        "pattern_mismatches": worst_pattern,
        "area_sum": area,
        "plane_area": float(tiled.domain.area),
        "cpu_s": round(time.process_time() - cpu, 1),
    }


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("directory")
    ap.add_argument("--regions", type=int, default=50)
    args = ap.parse_args(argv)
    out = check(args.directory, args.regions)
    print(json.dumps(out))
    return out


if __name__ == "__main__":
    main()
