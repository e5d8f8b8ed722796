"""The CIFAR-shaped CNN of ``real_networks.py`` on windows of the shifted-patch plane.

The plane through a photograph patch and its two 1-pixel shifts is too large to
partition whole on a small machine (its first ReLU layer alone makes 1.8 M
regions); windows of half-width ``w`` around the plane's centre show how the
whole network's cost grows with the regions.  For each ``w``: the regions and the
CPU seconds up to the first ReLU, up to the second, and for the whole network
(with each piecewise layer's seconds), the process's peak memory, then the
CPU seconds and peak memory of the whole partition's ``affine_maps()``, and
their largest error against the float64 torch model at 2 000 centroids.

    python bench/cnn_windows.py 0.1 0.2
    python bench/cnn_windows.py 0.1 0.2 --device cuda   # the cuts on a GPU (torch backend)

With ``--device``, each window is also partitioned with the default backend
first (NumPy or numba, on the CPU), and the two partitions are checked to be the
same; the row then holds both times.

With ``--tiles K``, each window (``0`` or less: the whole plane) is partitioned
whole-network in ``K x K`` tiles by ``rs.partition_tiles`` on a local Dask
cluster of 2 single-threaded worker processes (``--workers``; started as the
engine starts its own, without Dask's ``MALLOC_TRIM_THRESHOLD_``); the row holds the regions, the
wall seconds, the workers' CPU seconds (summed over tiles) and the largest peak
memory of a worker during a tile:

    python bench/cnn_windows.py 0.2 --tiles 2
    python bench/cnn_windows.py 0 --tiles 24 --directory /tmp/cnn_tiles   # the whole plane
    python bench/cnn_windows.py 1.0 --tiles 4 --workers 8 --device cuda   # then on a GPU

With ``--tiles`` and ``--device``, each window is partitioned in tiles with the
default backend, then with the torch backend on that device (the workers share it).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import real_networks as rn  # noqa: E402


def _peak_gb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6, 2)


def on_device(device: str | None) -> contextlib.AbstractContextManager:
    """The torch backend on ``device``, or nothing (the default backend) for None."""
    import regionscope as rs

    return rs.backend("torch", device=device) if device else contextlib.nullcontext()


def tiled(
    widths: list[float], k: int, directory: str | None, workers: int = 2, device: str | None = None
) -> None:
    """The whole network on each window (or the whole plane) in ``k x k`` tiles (with
    ``device``: with the default backend, then with the torch backend on ``device``)."""
    import regionscope as rs
    from regionscope.network.torch_import import convert
    from regionscope.scale.engine import local_cluster

    data = rn.sample_patches(0)
    net = convert(rn.cifar_cnn(0), (3, rn.PATCH, rn.PATCH))
    full = rs.Plane(data["shift"])
    cx, cy = (full.polygon.min(axis=0) + full.polygon.max(axis=0)) / 2
    # the engine's own cluster: one thread per worker, no MALLOC_TRIM_THRESHOLD_
    cluster, client = local_cluster(workers)
    with cluster, client:
        runs = [None] + ([device] if device else [])
        # the workers first load numba's kernels and start torch's device, outside the timings
        small = rs.Plane(data["shift"], window=(cx - 0.05, cx + 0.05, cy - 0.05, cy + 0.05))
        for dev in runs:
            with on_device(dev):
                rs.partition_tiles(net, small, (workers, 1), client=client)
        for w, dev in ((w, dev) for w in widths for dev in runs):
            window = (cx - w, cx + w, cy - w, cy + w)
            plane = full if w <= 0 else rs.Plane(data["shift"], window=window)
            wall, client_cpu = time.perf_counter(), time.process_time()
            with on_device(dev):  # (the workers take the client's backend and device)
                part = rs.partition_tiles(
                    net, plane, (k, k), client=client, directory=directory and (
                        directory + (f"-{dev}" if dev else "")),
                    max_regions=50_000_000,
                )  # fmt: skip
            stats = part.tile_stats
            row = {
                "half_width": w if w > 0 else "whole plane",
                "backend": "torch" if dev else rs.get_backend(),
                "device": dev,
                "tiles": [k, k],
                "workers": workers,
                "regions": int(part.num_regions),
                "wall_s": round(time.perf_counter() - wall, 1),
                "worker_cpu_s": round(float(np.sum(stats["cpu_seconds"])), 1),
                "client_cpu_s": round(time.process_time() - client_cpu, 1),
                "slowest_tile_s": round(float(np.max(stats["seconds"])), 1),
                "peak_worker_rss_gb": round(float(np.max(stats["peak_rss_mb"])) / 1e3, 2),
                "peak_client_rss_gb": _peak_gb(),
            }
            if "computed" in stats:
                row["tiles_computed"] = int(np.sum(stats["computed"]))
            row["regions_per_cpu_s"] = round(row["regions"] / max(row["worker_cpu_s"], 1e-9))
            print(json.dumps(row), flush=True)


def main(widths: list[float], device: str | None = None) -> None:
    import torch

    import regionscope as rs
    from regionscope.network.torch_import import convert

    torch.set_num_threads(1)
    data = rn.sample_patches(0)
    model = rn.cifar_cnn(0)
    shape = (3, rn.PATCH, rn.PATCH)
    nets = {name: convert(model, shape, until=name) for name in ("relu1", "relu2")}
    nets["all"] = convert(model, shape)
    full = rs.Plane(data["shift"])
    cx, cy = (full.polygon.min(axis=0) + full.polygon.max(axis=0)) / 2
    ref = model.double()

    def forward(x: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return ref(torch.from_numpy(x.reshape(len(x), *shape))).numpy()

    # a small window first: numba compiles (or loads) its kernels, torch starts its device
    small = rs.Plane(data["shift"], window=(cx - 0.02, cx + 0.02, cy - 0.02, cy + 0.02))
    rs.partition(nets["all"], small)
    with on_device(device):
        rs.partition(nets["all"], small)

    for w in widths:
        plane = rs.Plane(data["shift"], window=(cx - w, cx + w, cy - w, cy + w))
        row: dict = {"half_width": w, "backend": rs.get_backend(), "device": device}
        if device:
            cpu, wall = time.process_time(), time.perf_counter()
            host = rs.partition(nets["all"], plane, max_regions=50_000_000)
            row["host"] = {"regions": int(host.num_regions),
                           "cpu_s": round(time.process_time() - cpu, 2),
                           "wall_s": round(time.perf_counter() - wall, 2)}  # fmt: skip
        for name, net in nets.items():
            cpu, wall = time.process_time(), time.perf_counter()
            with on_device(device):
                part = rs.partition(net, plane, max_regions=50_000_000)
            row[name] = {
                "regions": int(part.num_regions),
                "cpu_s": round(time.process_time() - cpu, 2),
                "wall_s": round(time.perf_counter() - wall, 2),
                "layer_wall_s": {
                    str(k): round(v, 2) for k, v in part.timings["layer_seconds"].items()
                },
            }
        row["peak_rss_gb"] = _peak_gb()
        if device:
            a, b = host.to_arrays(), part.to_arrays()
            row["same_as_host"] = sorted(a) == sorted(b) and all(
                np.array_equal(np.asarray(a[k]), np.asarray(b[k])) for k in a if k != "stats"
            )
        cpu = time.process_time()
        linear, offset = part.affine_maps()
        row["affine_maps_cpu_s"] = round(time.process_time() - cpu, 2)
        row["peak_rss_gb_after_maps"] = _peak_gb()
        # the model at 2 000 centroids, in batches (its activations are 200 KB per input)
        u = part.centroids()
        keep = np.random.default_rng(0).permutation(len(u))[:2000]
        got = np.einsum("fij,fj->fi", linear[keep], u[keep]) + offset[keep]
        x = plane.lift(u[keep])
        want = np.concatenate([forward(x[i : i + 250]) for i in range(0, len(x), 250)])
        row["affine_error"] = float(np.abs(got - want).max() / max(1.0, np.abs(want).max()))
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("widths", nargs="*", type=float, default=[0.1, 0.2])
    parser.add_argument("--device", default=None, help="run the cuts on this torch device")
    parser.add_argument(
        "--tiles",
        type=int,
        default=0,
        help="partition each window (0: the whole plane) in K x K tiles on Dask",
    )
    parser.add_argument(
        "--directory",
        default=None,
        help="with --tiles: write the tiles there (a rerun resumes from them)",
    )
    parser.add_argument("--workers", type=int, default=2, help="with --tiles: worker processes")
    args = parser.parse_args()
    if args.tiles:
        tiled(args.widths, args.tiles, args.directory, args.workers, args.device)
    else:
        main(args.widths, args.device)
