"""Scaling, measured: sweeps and tiles on 1 and 2 Dask workers of this machine.

Four measurements (each on a fresh ``LocalCluster`` of processes, one thread
per worker):

* ``sweep``: a small CNN trained on scikit-learn's 8x8 digits, with a
  checkpoint saved after each of 20 epochs; :func:`regionscope.sweep` over the
  20 checkpoints (loaded on the workers) on the plane through three test
  digits, with 1 and with 2 workers: wall time, speed-up, regions per
  checkpoint;
* ``tiles``: the CIFAR-shaped CNN (conv 3->16 3x3 pad 1, BN, ReLU, conv
  16->32 3x3 stride 2 pad 1, ReLU, max-pool 2, linear 2048->64, ReLU, linear
  64->10; PyTorch's default initialisation, seed 0) on the plane through three
  32x32x3 patches of ``sklearn.datasets.load_sample_images``.  The whole plane
  is far too large today; a square window around the first patch is computed
  in ``k x k`` tiles with 1 and 2 workers (regions, time, peak memory per
  worker), and as one partition for comparison when ``--whole`` is given;
* ``full``: the CIFAR-shaped CNN of ``bench/real_networks.py`` (``cifar_cnn(0)``)
  on the *full* plane through its three patches of different places
  (``sample_patches(0)["full"]``).  The plane's box is cut into a ``k x k``
  grid of cells (``--grid``).  Measured: a window of ``--block x --block``
  cells at the box's centre, in tiles of one cell, with each worker count of
  ``--workers`` (regions, wall, CPU, peak memory per worker); then a random
  sample of ``--sample`` cells of the whole grid, each partitioned on its own
  (with the whole plane's tolerances), to *extrapolate* the regions and the
  time of the whole plane (the first layer's regions are exact for every
  sampled cell and for the whole plane, ``rs.estimate``, which gives a ratio
  estimate besides the plain one);
* ``plane``: the same CNN on the *whole* full plane, in ``--grid x --grid``
  tiles written to ``--directory`` (required).  A run that stops (or is
  stopped) resumes from the tiles already there when started again with the
  same arguments; memory stays bounded: a worker's by its tile, this
  process's by the tiles' borders (the regions' areas and centroids are
  written to the directory).  Reported: regions, vertices, tiles (computed in
  this run / loaded), wall and client CPU of this run, the tiles' summed CPU
  and wall (over all runs), the peak memory of each worker and of this
  process.  Around 13 000 regions per tile suit a 2-core machine (``--grid
  80`` for the ~8e7 regions extrapolated below; hours of CPU);
* ``all``: ``sweep`` and ``tiles``.

Run::

    python bench/scale.py all --out out/scale
    python bench/scale.py full --grid 256 --block 4 --sample 40 --workers 1,2
    python bench/scale.py plane --grid 80 --workers 2 --directory /big/disk/plane_tiles

Results go to ``OUT/scale.json`` and a picture of the tiled window to
``OUT/cnn_tiles.png``; a Markdown summary is printed.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

import regionscope as rs
from regionscope.scale.grid import peak_rss_mb, reset_peak_rss


def _cluster(workers: int) -> tuple[Any, Any]:
    """A LocalCluster as ``partition_tiles`` starts its own (no MALLOC_TRIM_THRESHOLD_)."""
    from regionscope.scale.engine import local_cluster

    return local_cluster(workers)


# -- the sweep over checkpoints ----------------------------------------------------------


def digits_cnn() -> Any:
    """A small CNN for 1x8x8 digits: conv 1->8, BN, ReLU, max-pool 2, linear 128->10."""
    from torch import nn

    return nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1),
        nn.BatchNorm2d(8),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(128, 10),
    ).double()


def train_checkpoints(folder: Path, epochs: int, seed: int = 0) -> tuple[list[Path], np.ndarray]:
    """Train on the digits, save the state dict after every epoch; the three test images."""
    import torch
    from sklearn.datasets import load_digits

    digits = load_digits()
    x = (digits.images / 16.0)[:, None].astype(np.float64)
    y = digits.target
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(x))
    train, test = order[:1500], order[1500:]
    torch.manual_seed(seed)
    model = digits_cnn()
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    xt, yt = torch.from_numpy(x[train]), torch.from_numpy(y[train])
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for epoch in range(epochs):
        model.train()
        for batch in torch.randperm(len(train)).split(64):
            opt.zero_grad()
            torch.nn.functional.cross_entropy(model(xt[batch]), yt[batch]).backward()
            opt.step()
        path = folder / f"epoch_{epoch + 1:02d}.pt"
        torch.save(model.state_dict(), path)
        paths.append(path)
    picks = [test[np.flatnonzero(y[test] == c)[0]] for c in (0, 3, 7)]
    return paths, x[picks]


def bench_sweep(out: Path, checkpoints: int, workers: list[int]) -> dict[str, Any]:
    paths, images = train_checkpoints(out / "checkpoints", checkpoints)
    plane = rs.Plane(images)
    template = digits_cnn()
    runs = {}
    frame = None
    for n in workers:
        cluster, client = _cluster(n)
        try:
            t0 = time.perf_counter()
            frame = rs.sweep(
                [str(p) for p in paths],
                {"digits 0, 3, 7": plane},
                stats=["num_regions", "num_vertices", "decision_edges", "time", "peak_rss_mb"],
                template=template,
                client=client,
                progress=False,
            )
            wall = time.perf_counter() - t0
        finally:
            client.close()
            cluster.close()
        runs[n] = {
            "wall_s": wall,
            "task_s_total": float(frame["time"].sum()),
            "peak_rss_mb": sorted(frame["peak_rss_mb"].tolist()),
        }
    assert frame is not None
    return {
        "checkpoints": len(paths),
        "runs": runs,
        "regions": frame["num_regions"].tolist(),
        "vertices": frame["num_vertices"].tolist(),
        "decision_edges": frame["decision_edges"].tolist(),
    }


# -- the CIFAR-shaped CNN in tiles -------------------------------------------------------


def cifar_cnn() -> Any:
    import torch
    from torch import nn

    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(3, 16, 3, padding=1),
        nn.BatchNorm2d(16),
        nn.ReLU(),
        nn.Conv2d(16, 32, 3, stride=2, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(2048, 64),
        nn.ReLU(),
        nn.Linear(64, 10),
    ).eval()


def sample_patches() -> np.ndarray:
    """Three 32x32x3 patches of scikit-learn's sample images, as (3, 3, 32, 32) in [0, 1]."""
    from sklearn.datasets import load_sample_images

    china, flower = load_sample_images().images
    patches = [china[100:132, 200:232], china[300:332, 400:432], flower[200:232, 300:332]]
    return np.stack(patches).transpose(0, 3, 1, 2).astype(np.float64) / 255.0


def bench_tiles(
    out: Path, half_width: float, tiles: int, workers: list[int], whole: bool, picture: bool
) -> dict[str, Any]:
    patches = sample_patches()
    plane = rs.Plane(patches)
    centre = tuple(float(v) for v in plane.projected[0])
    window = rs.Plane(patches, window=(centre, half_width))
    net = rs.Sequential(*rs.network.coerce.as_layers(cifar_cnn(), (3, 32, 32)))
    result: dict[str, Any] = {
        "plane_bounds": plane.bounds,
        "window": window.window,
        "tiles": [tiles, tiles],
        "runs": {},
    }
    tiled = None
    for n in workers:
        cluster, client = _cluster(n)
        try:
            t0 = time.perf_counter()
            tiled = rs.partition_tiles(net, window, tiles, client=client)
            wall = time.perf_counter() - t0
        finally:
            client.close()
            cluster.close()
        stats = tiled.tile_stats
        per_worker = {}
        for pid, peak in zip(stats["pid"].tolist(), stats["peak_rss_mb"].tolist(), strict=True):
            per_worker[pid] = max(per_worker.get(pid, 0.0), peak)
        result["runs"][n] = {
            "wall_s": wall,
            "tile_s_total": float(stats["seconds"].sum()),
            "tile_s_max": float(stats["seconds"].max()),
            "peak_rss_mb_per_worker": sorted(per_worker.values()),
        }
    assert tiled is not None
    result.update(
        regions=tiled.num_regions,
        vertices=tiled.num_vertices,
        edges=tiled.num_edges,
        tile_regions=tiled.tile_stats["num_regions"].tolist(),
        regions_across_borders=int((tiled.num_pieces() > 1).sum()),
    )
    if picture:
        t0 = time.perf_counter()
        tiled.to_png(out / "cnn_tiles.png", size=600)
        result["picture_s"] = time.perf_counter() - t0
    if whole:
        reset_peak_rss()
        t0 = time.perf_counter()
        part = rs.partition(net, window)
        result["whole"] = {
            "seconds": time.perf_counter() - t0,
            "regions": part.num_regions,
            "vertices": part.num_vertices,
            "peak_rss_mb": peak_rss_mb(),
            "same_counts": (part.num_regions, part.num_vertices, part.num_edges)
            == (tiled.num_regions, tiled.num_vertices, tiled.num_edges),
        }
    return result


# -- the CIFAR-shaped CNN on the full plane: a window in tiles, and a sample of cells ---


def _real_networks() -> Any:
    """``bench/real_networks.py`` as a module (for ``cifar_cnn`` and ``sample_patches``)."""
    import importlib.util

    path = Path(__file__).with_name("real_networks.py")
    spec = importlib.util.spec_from_file_location("real_networks", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _per_worker(pids: list[int], peaks: list[float]) -> list[float]:
    out: dict[int, float] = {}
    for pid, peak in zip(pids, peaks, strict=True):
        out[pid] = max(out.get(pid, 0.0), peak)
    return sorted(out.values())


def _cell_task(net: Any, cell: Any, scales: Any, max_regions: int) -> dict[str, float]:
    """One cell of the grid partitioned on its own (on a worker): regions, times, memory."""
    from regionscope.scale.grid import compute_tile

    xmin, xmax, ymin, ymax = cell.bounds
    xs, ys = np.array([xmin, xmax]), np.array([ymin, ymax])
    summary, _ = compute_tile(net, cell, (0, 0), xs, ys, scales, max_regions)
    keys = ("num_regions", "num_vertices", "seconds", "cpu_seconds", "peak_rss_mb", "pid")
    return {k: float(np.asarray(summary[k])) for k in keys}


def _window_runs(net: Any, window: Any, block: int, workers: list[int]) -> dict[str, Any]:
    runs: dict[int, Any] = {}
    tiled = None
    for n in workers:
        cluster, client = _cluster(n)
        try:
            t0, c0 = time.perf_counter(), time.process_time()
            tiled = rs.partition_tiles(net, window, block, client=client)
            wall, client_cpu = time.perf_counter() - t0, time.process_time() - c0
        finally:
            client.close()
            cluster.close()
        stats = tiled.tile_stats
        runs[n] = {
            "wall_s": wall,
            "client_cpu_s": client_cpu,
            "tile_s_total": float(stats["seconds"].sum()),
            "tile_cpu_s_total": float(stats["cpu_seconds"].sum()),
            "tile_s_max": float(stats["seconds"].max()),
            "peak_rss_mb_per_worker": _per_worker(
                stats["pid"].tolist(), stats["peak_rss_mb"].tolist()
            ),
        }
    assert tiled is not None
    pieces = int(tiled.tile_stats["num_regions"].sum())
    return {
        "runs": runs,
        "regions": tiled.num_regions,
        "vertices": tiled.num_vertices,
        "tile_pieces": pieces,
        "regions_per_piece": tiled.num_regions / pieces,
        "regions_across_borders": len(tiled.stitched.multi_regions),
        "first_layer_regions": rs.estimate(net, window).regions,
    }


def _sample_cells(
    net: Any, plane: Any, cells: list[Any], workers: int, max_regions: int
) -> list[dict[str, float]]:
    from regionscope.scale.engine import Engine
    from regionscope.scale.grid import whole_scales

    scales = whole_scales(plane)
    got: dict[int, dict[str, float]] = {}
    cluster, client = _cluster(workers)
    try:
        with Engine(client) as engine:
            shared = engine.share(net)
            tasks = [
                (i, _cell_task, (shared, cell, scales, max_regions))
                for i, cell in enumerate(cells)
            ]
            failed = engine.run(tasks, got.__setitem__, max_in_flight=2 * workers + 2)
    finally:
        client.close()
        cluster.close()
    for i, exc in failed.items():
        got[i] = {"failed": repr(exc)[:200]}  # type: ignore[dict-item]
    return [got[i] for i in range(len(cells))]


def bench_full(
    grid: int, block: int, sample: int, workers: list[int], seed: int, max_regions: int
) -> dict[str, Any]:
    """The window of ``block x block`` cells at the centre, and ``sample`` random cells."""
    rn = _real_networks()
    points = rn.sample_patches(0)["full"]
    plane = rs.Plane(points)
    net = rs.Sequential(*rs.network.coerce.as_layers(rn.cifar_cnn(0), (3, 32, 32)))
    xmin, xmax, ymin, ymax = plane.bounds
    xs, ys = np.linspace(xmin, xmax, grid + 1), np.linspace(ymin, ymax, grid + 1)
    lo = grid // 2 - block // 2
    box = (xs[lo], xs[lo + block], ys[lo], ys[lo + block])
    window = rs.Plane(points, window=box)
    result: dict[str, Any] = {
        "plane_bounds": plane.bounds,
        "grid": grid,
        "cell": [float(xs[1] - xs[0]), float(ys[1] - ys[0])],
        "whole_first_layer_regions": rs.estimate(net, plane).regions,
        "window": window.window,
        "window_tiles": [block, block],
    }
    result["window_run"] = _window_runs(net, window, block, workers)
    if sample < 2:
        return result
    rng = np.random.default_rng(seed)
    picked = rng.choice(grid * grid, size=sample, replace=False)
    cells = []
    for k in picked.tolist():
        i, j = divmod(k, grid)
        cells.append(rs.Plane(points, window=(xs[i], xs[i + 1], ys[j], ys[j + 1])))
    t0, c0 = time.perf_counter(), time.process_time()
    rows = _sample_cells(net, plane, cells, max(workers), max_regions)
    wall = time.perf_counter() - t0
    for row, cell, k in zip(rows, cells, picked.tolist(), strict=True):
        row["cell"] = k
        row["first_layer_regions"] = rs.estimate(net, cell).regions
    result["sample"] = {
        "seed": seed,
        "cells": rows,
        "wall_s": wall,
        "client_cpu_s": time.process_time() - c0,
        "workers": max(workers),
    }
    result["extrapolation"] = _extrapolate(result)
    return result


def bench_plane(directory: Path, grid: int, workers: int, max_regions: int) -> dict[str, Any]:
    """The whole full plane in ``grid x grid`` tiles, resumable from ``directory``."""
    import resource

    rn = _real_networks()
    plane = rs.Plane(rn.sample_patches(0)["full"])
    net = rs.Sequential(*rs.network.coerce.as_layers(rn.cifar_cnn(0), (3, 32, 32)))
    cluster, client = _cluster(workers)
    try:
        t0, c0 = time.perf_counter(), time.process_time()
        tiled = rs.partition_tiles(net, plane, grid, client=client, directory=directory,
                                   progress=True, max_regions=max_regions)  # fmt: skip
        wall, client_cpu = time.perf_counter() - t0, time.process_time() - c0
    finally:
        client.close()
        cluster.close()
    stats = tiled.tile_stats
    computed = stats["computed"]
    peaks = stats["peak_rss_mb"]
    return {
        "directory": str(directory),
        "grid": grid,
        "workers": workers,
        "regions": tiled.num_regions,
        "vertices": tiled.num_vertices,
        "edges": tiled.num_edges,
        "tiles": tiled.num_tiles,
        "tiles_computed_now": int(computed.sum()),
        "tile_pieces": int(stats["num_regions"].sum()),
        "regions_across_borders": len(tiled.stitched.multi_regions),
        "collisions": tiled.stitched.collisions,
        "wall_s_this_run": wall,
        "client_cpu_s_this_run": client_cpu,
        "tile_cpu_s_total": float(stats["cpu_seconds"].sum()),
        "tile_s_total": float(stats["seconds"].sum()),
        "tile_s_max": float(stats["seconds"].max()),
        "tile_regions_max": int(stats["num_regions"].max()),
        "peak_rss_mb_per_worker_this_run": _per_worker(
            stats["pid"][computed].tolist(), peaks[computed].tolist()
        ),
        "peak_rss_mb_tile_max": float(peaks.max()),
        "peak_rss_mb_client": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "first_layer_regions": rs.estimate(net, plane).regions,
    }


def _extrapolate(result: dict[str, Any]) -> dict[str, Any]:
    """Regions and time of the whole plane from the sampled cells (an extrapolation)."""
    rows = [r for r in result["sample"]["cells"] if "failed" not in r]
    n_cells = result["grid"] ** 2
    pieces = np.array([r["num_regions"] for r in rows])
    first = np.array([r["first_layer_regions"] for r in rows], dtype=np.float64)
    cpu = np.array([r["cpu_seconds"] for r in rows])
    per_piece = result["window_run"]["regions_per_piece"]
    n = len(rows)
    mean, se = pieces.mean(), pieces.std(ddof=1) / np.sqrt(n)
    ratio = pieces.sum() / first.sum()
    return {
        "sampled": n,
        "failed": len(result["sample"]["cells"]) - n,
        "cells": n_cells,
        "pieces_mean": float(mean),
        "pieces_total": float(mean * n_cells),
        "pieces_total_se": float(se * n_cells),
        "regions_total": float(mean * n_cells * per_piece),
        "full_per_first_layer": float(ratio),
        "regions_total_by_ratio": float(ratio * result["whole_first_layer_regions"]),
        "cpu_s_mean": float(cpu.mean()),
        "cpu_s_total": float(cpu.mean() * n_cells),
        "cpu_s_total_se": float(cpu.std(ddof=1) / np.sqrt(n) * n_cells),
        "peak_rss_mb_max": float(max(r["peak_rss_mb"] for r in rows)),
    }


def summary(results: dict[str, Any]) -> str:
    lines = []
    if "sweep" in results:
        s = results["sweep"]
        lines += [
            f"sweep of {s['checkpoints']} checkpoints (digits CNN, plane through 3 digits): "
            f"regions {min(s['regions'])}..{max(s['regions'])}",
            "| workers | wall (s) | sum of task times (s) | speed-up |",
            "|---|---|---|---|",
        ]
        base = s["runs"][min(s["runs"])]["wall_s"]
        for n, r in sorted(s["runs"].items()):
            speed = base / r["wall_s"]
            lines.append(f"| {n} | {r['wall_s']:.1f} | {r['task_s_total']:.1f} | {speed:.2f}x |")
    if "tiles" in results:
        t = results["tiles"]
        lines += [
            "",
            f"CIFAR-shaped CNN, window {t['window']} in {t['tiles']} tiles: {t['regions']} "
            f"regions, {t['vertices']} vertices ({t['regions_across_borders']} across borders)",
            "| workers | wall (s) | sum of tile times (s) | slowest tile (s) | peak MiB/worker |",
            "|---|---|---|---|---|",
        ]
        for n, r in sorted(t["runs"].items()):
            peaks = ", ".join(f"{v:.0f}" for v in r["peak_rss_mb_per_worker"])
            lines.append(
                f"| {n} | {r['wall_s']:.1f} | {r['tile_s_total']:.1f} | {r['tile_s_max']:.1f} "
                f"| {peaks} |"
            )
        if "whole" in t:
            w = t["whole"]
            lines.append(
                f"one partition of the window: {w['regions']} regions in {w['seconds']:.1f} s, "
                f"peak {w['peak_rss_mb']:.0f} MiB, same counts: {w['same_counts']}"
            )
    if "full" in results:
        lines += ["", _full_summary(results["full"])]
    return "\n".join(lines)


def _full_summary(f: dict[str, Any]) -> str:
    w, x = f["window_run"], f.get("extrapolation")
    lines = [
        f"CIFAR CNN on the full plane (box {[round(v, 2) for v in f['plane_bounds']]}, "
        f"{f['whole_first_layer_regions']} first-layer regions); grid {f['grid']}x{f['grid']}, "
        f"cells {f['cell'][0]:.4f} x {f['cell'][1]:.4f}",
        f"window {f['window']} in {f['window_tiles']} tiles: {w['regions']} regions "
        f"({w['tile_pieces']} tile pieces, {w['regions_across_borders']} across borders; "
        f"first layer {w['first_layer_regions']})",
        "| workers | wall (s) | tile CPU total (s) | client CPU (s) | slowest tile (s) "
        "| peak MiB/worker |",
        "|---|---|---|---|---|---|",
    ]
    for n, r in sorted(w["runs"].items()):
        peaks = ", ".join(f"{v:.0f}" for v in r["peak_rss_mb_per_worker"])
        lines.append(
            f"| {n} | {r['wall_s']:.1f} | {r['tile_cpu_s_total']:.1f} | {r['client_cpu_s']:.1f} "
            f"| {r['tile_s_max']:.1f} | {peaks} |"
        )
    if x is None:
        return "\n".join(lines)
    s = f["sample"]
    lines += [
        f"sample: {x['sampled']} random cells of {x['cells']} ({x['failed']} failed), "
        f"{s['workers']} workers, wall {s['wall_s']:.1f} s",
        f"EXTRAPOLATED whole plane: {x['pieces_total']:.3g} +- {x['pieces_total_se']:.2g} cell "
        f"pieces -> {x['regions_total']:.3g} regions (x {w['regions_per_piece']:.3f} regions "
        f"per piece, from the window); by the first-layer ratio "
        f"({x['full_per_first_layer']:.2f} x {f['whole_first_layer_regions']}): "
        f"{x['regions_total_by_ratio']:.3g}; CPU {x['cpu_s_total']:.3g} +- "
        f"{x['cpu_s_total_se']:.2g} s; largest cell peak {x['peak_rss_mb_max']:.0f} MiB",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("what", choices=["sweep", "tiles", "full", "plane", "all"])
    parser.add_argument("--out", type=Path, default=Path("out/scale"))
    parser.add_argument("--checkpoints", type=int, default=20)
    parser.add_argument("--half-width", type=float, default=0.05)
    parser.add_argument("--tiles", type=int, default=3)
    parser.add_argument("--workers", default="1,2", help="comma-separated worker counts")
    parser.add_argument("--whole", action="store_true", help="also one partition of the window")
    parser.add_argument("--no-picture", action="store_true", help="do not draw the tiles")
    parser.add_argument("--grid", type=int, default=256, help="full: cells per axis")
    parser.add_argument("--block", type=int, default=4, help="full: window of block^2 cells")
    parser.add_argument("--sample", type=int, default=40, help="full: random cells sampled")
    parser.add_argument("--seed", type=int, default=0, help="full: the sample's seed")
    parser.add_argument("--max-regions", type=int, default=200_000, help="full: per cell")
    parser.add_argument("--directory", type=Path, default=None,
                        help="plane: the tiles' directory (a rerun resumes from it)")  # fmt: skip
    args = parser.parse_args(argv)
    if args.what == "plane" and args.directory is None:
        parser.error("plane needs --directory")
    workers = [int(v) for v in args.workers.split(",")]
    args.out.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {"python": sys.version.split()[0]}
    if args.what in ("sweep", "all"):
        results["sweep"] = bench_sweep(args.out, args.checkpoints, workers)
    if args.what in ("tiles", "all"):
        results["tiles"] = bench_tiles(
            args.out, args.half_width, args.tiles, workers, args.whole, not args.no_picture
        )
    if args.what == "full":
        results["full"] = bench_full(
            args.grid, args.block, args.sample, workers, args.seed, args.max_regions
        )
    if args.what == "plane":
        results["plane"] = bench_plane(args.directory, args.grid, max(workers), args.max_regions)
        (args.out / "plane.json").write_text(json.dumps(results, indent=1, default=str))
        print(json.dumps(results["plane"], indent=1, default=str))
        return results
    (args.out / "scale.json").write_text(json.dumps(results, indent=1, default=str))
    print(summary(results))
    return results


if __name__ == "__main__":
    main()
