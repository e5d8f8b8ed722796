"""How regionscope's cost per layer grows with the regions that layer produces.

For networks ``[2, w, ..., w]`` of growing width ``w`` (weights as in the
benchmark suite: PyTorch's default init, seed 0, domain [-1, 1]^2) each hidden
layer's time (Linear + ReLU) is read from ``part.timings["layer_seconds"]`` of
one ``partition`` call (``--mode add`` instead times ``Partition.add`` steps
from outside).  Each point of the plot is one layer of one network: its time
against the number of regions after it.  If the cost
of a layer is proportional to what it produces, the points lie on a line of
slope 1 on the log-log plot, whatever the width and depth.

Usage::

    python bench/scaling.py --json bench/out/scaling.json --plot bench/out/scaling.png
    python bench/scaling.py --widths 16,32,64 --depth 2 --reps 1
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import suite  # noqa: E402  (bench/ is not a package)


def _prefix_region_counts(part, piecewise: list[int]) -> list[int]:
    """Regions after each piecewise layer, from the final regions' patterns.

    For ReLU networks the set of inputs sharing the patterns of layers 1..k is
    convex, so the number of layer-k regions is the number of distinct
    pattern prefixes among the final regions (each contains at least one).
    """
    patterns = part.activation_patterns()
    counts = []
    prefix = np.zeros((part.num_regions, 0), dtype=bool)
    for index in piecewise:
        prefix = np.concatenate([prefix, np.asarray(patterns[index], dtype=bool)], axis=1)
        counts.append(len(np.unique(np.packbits(prefix, axis=1), axis=0)))
    return counts


def time_layers(width: int, depth: int, seed: int, reps: int, mode: str = "stats") -> list[dict]:
    """Partition ``[2] + [width] * depth`` and time each hidden layer.

    ``mode="stats"`` makes one ``partition`` call and reads the time each
    layer took from ``part.timings["layer_seconds"]`` (measured inside
    regionscope around each Linear + ReLU step); ``mode="add"`` partitions the
    first layer and adds the others one by one with ``Partition.add``, timing
    each call from outside.

    Returns
    -------
    list of dict
        One record per hidden layer: ``layer`` (1-based), ``width``,
        ``regions_in``, ``regions_out``, ``time_s`` (median over ``reps``)
        and ``times_s`` (every repetition).
    """
    import regionscope as rs
    from regionscope.compute import chain2d

    # the layer-by-layer driver, which times each layer (the compiled chain of Linear and
    # ReLU layers makes a whole small partition in one call and times only the whole)
    chain2d.CHAIN_2D = False
    net = suite.Net(f"2-{width}x{depth}", (2,) + (width,) * depth)
    weights = suite.draw_weights(net, seed)
    domain = rs.Box(suite.HALF_WIDTH)
    times: list[list[float]] = [[] for _ in range(depth)]
    counts: list[int] | None = None
    for _ in range(reps):
        if mode == "stats":
            part = rs.partition(suite.regionscope_model(net, weights), domain)
            seconds = part.timings.get("layer_seconds")
            if not seconds or len(seconds) != depth:
                raise RuntimeError(
                    f"{net.name}: partition did not record one time per layer "
                    f"(timings['layer_seconds'] = {seconds!r}); use --mode add"
                )
            piecewise = sorted(seconds)
            for k, index in enumerate(piecewise):
                times[k].append(float(seconds[index]))
            seen = _prefix_region_counts(part, piecewise)
        else:
            seen = []
            part = None
            for k, (weight, bias) in enumerate(weights):
                layers = (rs.Linear(weight, bias), rs.ReLU())
                start = time.perf_counter()
                if part is None:
                    part = rs.partition(rs.Sequential(*layers), domain)
                else:
                    part = part.add(*layers)
                regions = int(part.num_regions)
                times[k].append(time.perf_counter() - start)
                seen.append(regions)
        if counts is None:
            counts = seen
        elif counts != seen:
            raise RuntimeError(f"{net.name}: region counts changed between runs: {counts} {seen}")
    if counts is None:
        raise ValueError(f"reps must be at least 1, got {reps}")
    records = []
    for k in range(depth):
        records.append(
            {
                "network": net.name,
                "layer": k + 1,
                "width": width,
                "regions_in": 1 if k == 0 else counts[k - 1],
                "regions_out": counts[k],
                "time_s": statistics.median(times[k]),
                "times_s": times[k],
            }
        )
    return records


def fit_exponent(records: list[dict], min_regions: int = 1000) -> float | None:
    """Least-squares slope of log(time) against log(regions_out).

    Only layers producing at least ``min_regions`` regions are used, so that
    fixed per-call overheads do not bend the fit.
    """
    pts = [(r["regions_out"], r["time_s"]) for r in records if r["regions_out"] >= min_regions]
    if len(pts) < 2:
        return None
    x = np.log([p[0] for p in pts])
    y = np.log([p[1] for p in pts])
    slope, _ = np.polyfit(x, y, 1)
    return float(slope)


def plot(records: list[dict], path: Path, slope: float | None) -> None:
    """Log-log scatter of time per layer against regions out, coloured by layer."""
    import matplotlib  # noqa: TID251  (bench is not the library)

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: TID251

    fig, ax = plt.subplots(figsize=(6.4, 4.6), dpi=100)
    layers = sorted({r["layer"] for r in records})
    markers = "os^Dv<>p"
    for i, layer in enumerate(layers):
        sel = [r for r in records if r["layer"] == layer]
        ax.scatter(
            [r["regions_out"] for r in sel],
            [r["time_s"] for r in sel],
            marker=markers[i % len(markers)],
            label=f"hidden layer {layer}",
            zorder=3,
        )
    for r in records:
        if r["layer"] == layers[-1]:
            ax.annotate(
                f"w={r['width']}",
                (r["regions_out"], r["time_s"]),
                textcoords="offset points",
                xytext=(4, -10),
                fontsize=7,
            )
    xs = np.array([r["regions_out"] for r in records], dtype=float)
    ys = np.array([r["time_s"] for r in records], dtype=float)
    big = xs >= 1000
    if big.any():
        # reference line of slope 1 through the median of time / regions
        per_region = float(np.median(ys[big] / xs[big]))
        grid = np.geomspace(xs.min(), xs.max(), 50)
        ax.plot(grid, per_region * grid, "k--", lw=1, label="time ∝ regions (slope 1)")
    title = "regionscope: time per layer vs regions it produces"
    if slope is not None:
        title += f"\n(fitted slope {slope:.2f} over layers with ≥ 1000 regions)"
    ax.set_title(title, fontsize=10)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("regions after the layer")
    ax.set_ylabel("time for the layer (s, median)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--widths", default="8,16,32,64,128,192", help="comma-separated widths")
    parser.add_argument("--depth", type=int, default=3, help="hidden layers (default 3)")
    parser.add_argument("--reps", type=int, default=3, help="repetitions (median; default 3)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--mode",
        choices=("stats", "add"),
        default="stats",
        help="per-layer times from one partition call (stats, default) or Partition.add steps",
    )
    parser.add_argument("--json", type=Path, help="write the records here")
    parser.add_argument("--plot", type=Path, help="write the log-log plot here")
    args = parser.parse_args(argv)
    try:
        widths = [int(w) for w in args.widths.split(",") if w.strip()]
    except ValueError:
        parser.error(f"--widths must be comma-separated integers, got {args.widths!r}")
    if not widths or min(widths) < 1:
        parser.error(f"--widths must be positive integers, got {args.widths!r}")
    if args.depth < 1 or args.reps < 1:
        parser.error(f"--depth and --reps must be at least 1, got {args.depth}, {args.reps}")

    # warm-up: lazy imports and first-call costs are not the layers' cost
    time_layers(2, 2, seed=12345, reps=1, mode=args.mode)

    records: list[dict] = []
    print(
        f"{'network':12s} {'layer':>5s} {'regions in':>11s} {'regions out':>12s} "
        f"{'time':>10s} {'us/region out':>14s}"
    )
    for width in widths:
        for r in time_layers(width, args.depth, args.seed, args.reps, args.mode):
            records.append(r)
            print(
                f"{r['network']:12s} {r['layer']:5d} {r['regions_in']:11d} "
                f"{r['regions_out']:12d} {r['time_s'] * 1000:8.1f} ms "
                f"{r['time_s'] * 1e6 / r['regions_out']:14.2f}"
            )
    slope = fit_exponent(records)
    if slope is not None:
        print(
            f"fitted slope of log(time) vs log(regions out), layers >= 1000 regions: {slope:.2f}"
        )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        from compare import _digest, machine_info

        import regionscope

        payload = {
            "machine": machine_info(),
            "regionscope_sha256": _digest(Path(regionscope.__file__).parent),
            "widths": widths,
            "depth": args.depth,
            "reps": args.reps,
            "seed": args.seed,
            "mode": args.mode,
            "fitted_slope": slope,
            "records": records,
        }
        args.json.write_text(json.dumps(payload, indent=1) + "\n")
    if args.plot:
        plot(records, args.plot, slope)
    return 0


if __name__ == "__main__":
    sys.exit(main())
