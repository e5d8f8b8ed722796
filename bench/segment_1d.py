"""1-D segments against regioncam: one cold call per fresh process, and warm loops.

The row is ``real_networks.py``'s ``segment`` case: the He-initialised ``[10, 64, 64, 3]``
ReLU MLP of ``--seed`` and the segment through two random points of R^10
(``rs.Segment(p, q)``, a quarter of ``|q - p|`` beyond both ends; regioncam's
``Regioncam1D.through_points``, its own way to the same segment).  Both tools get the same weights;
regioncam computes in float32, regionscope in float64.

``cold``
    Each round starts one fresh process per tool (and per ``--base`` source tree), in
    an order that rotates from round to round.  A process imports both numpy and its
    tool, runs ``real_networks.py``'s warm-up (a partition of a *different* small
    network, as a user's script would have done before), builds the model (regionscope's
    layers; regioncam's float32 ``weight.T`` and bias), and then times **one** call:
    the domain and the partition (regionscope: ``rs.partition(model, rs.Segment(p,
    q))``; regioncam: ``Regioncam1D(2.0)``, the lift layer and the layers).  CPU
    (``time.process_time``) and wall (``time.perf_counter``) medians over the rounds.
``warm``
    One process, both tools warmed up, calls alternating tool by tool:

    * ``sweep``: ``--segments`` segments through the same model, sliding along a
      path (``p + t v``, ``q + t v``): one call each (domain and partition);
    * ``checkpoints``: ``--models`` fresh models (seeds ``seed + 1 ...``) on the one
      segment: one call each (the domain is built once, as a user would; the
      models, like regioncam's float32 weights, are built before the timed call).

    Per-call medians, CPU and wall.
``check``
    The two tools' outputs on the row's segment agree: the same number of pieces,
    breakpoints within float32 rounding, the same on/off pattern of every ReLU on
    every piece (regioncam's from its values at the piece's ends; regionscope's from
    a float64 forward pass at the piece's midpoint).

Run with ``OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1`` (the script sets them for the
processes it starts).  Examples::

    python bench/segment_1d.py check
    python bench/segment_1d.py cold --rounds 21 [--base /path/to/old/src]
    python bench/segment_1d.py warm --segments 300 --models 100
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import real_networks as rn  # noqa: E402  (bench/ is not a package)

TOOLS = (rn.REGIONSCOPE, rn.REGIONCAM)
THREADS = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def row(seed: int) -> tuple[list, np.ndarray, np.ndarray]:
    """The row's layers ``[(weight (out, in), bias (out,))]`` and the points ``p, q``."""
    layers = rn.he_mlp(rn.SEGMENT_WIDTHS, seed)
    p, q = np.random.default_rng(seed + 7).normal(size=(2, rn.SEGMENT_WIDTHS[0]))
    return layers, p, q


def rs_call(layers: list):
    """``call(p, q)``: regionscope's partition of the segment (the model built now)."""
    import regionscope as rs

    model = rn._rs_mlp(layers, len(layers) - 1)  # noqa: SLF001  (bench helpers)

    def call(p: np.ndarray, q: np.ndarray, domain=None):
        dom = rs.Segment(p, q) if domain is None else domain
        return rs.partition(model, dom, max_regions=rn.MAX_REGIONS)

    return call


def rc_call(layers: list):
    """``call(p, q)``: regioncam's partition of the same segment (float32 weights made now).

    ``Regioncam1D.through_points(points, size)`` spans ``size / 4`` times ``|q - p|`` on
    both sides of the points' midpoint (measured): ``size=3`` is ``rs.Segment``'s
    quarter beyond both ends.  Its coordinate is arc length from the midpoint.
    """
    import regioncam

    relus = len(layers) - 1
    weights = [
        (np.ascontiguousarray(w.T, dtype=np.float32), np.asarray(b, dtype=np.float32))
        for w, b in layers
    ]

    def call(p: np.ndarray, q: np.ndarray, domain=None):
        points = np.stack([p, q]).astype(np.float32) if domain is None else domain
        cam = regioncam.Regioncam1D.through_points(points, size=3.0)
        for k, (w, b) in enumerate(weights):
            cam.linear(w, b)
            if k < relus:
                cam.relu()
        return cam

    return call


def pieces(tool: str, out) -> int:
    return int(out.num_regions if tool == rn.REGIONSCOPE else out.num_edges)


def worker(tool: str, seed: int) -> None:
    """One cold call (after the warm-up); prints ``{"cpu_us", "wall_us", "pieces"}``."""
    rn._warm_up(tool, torch_too=False)  # noqa: SLF001
    layers, p, q = row(seed)
    call = (rs_call if tool == rn.REGIONSCOPE else rc_call)(layers)
    start, cpu = time.perf_counter(), time.process_time()
    out = call(p, q)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - start
    record = {"cpu_us": cpu * 1e6, "wall_us": wall * 1e6, "pieces": pieces(tool, out)}
    print(json.dumps(record), flush=True)


def cold(rounds: int, seed: int, base: str | None) -> dict:
    """Alternated fresh processes; medians per runner."""
    runners = [(rn.REGIONSCOPE, rn.REGIONSCOPE, None), (rn.REGIONCAM, rn.REGIONCAM, None)]
    if base:
        runners.append((f"{rn.REGIONSCOPE} (base)", rn.REGIONSCOPE, base))
    runs: dict[str, list[dict]] = {name: [] for name, _, _ in runners}
    for r in range(rounds):
        k = r % len(runners)
        for name, tool, path in runners[k:] + runners[:k]:
            env = dict(os.environ, **THREADS)
            if path:
                env["PYTHONPATH"] = path
            cmd = [sys.executable, str(Path(__file__).resolve()), "worker", tool, str(seed)]
            out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
            runs[name].append(json.loads(out.stdout.strip().splitlines()[-1]))
    return {name: summary(recs) for name, recs in runs.items()}


def summary(recs: list[dict]) -> dict:
    cpu = [r["cpu_us"] for r in recs]
    wall = [r["wall_us"] for r in recs]
    return {
        "n": len(recs),
        "cpu_us_median": statistics.median(cpu),
        "cpu_us_min": min(cpu),
        "wall_us_median": statistics.median(wall),
        "wall_us_min": min(wall),
        "pieces": sorted({r["pieces"] for r in recs}),
    }


def _alternate(call_of, args_of, count: int) -> dict:
    """``count`` calls of each tool, alternating (the order flips each time)."""
    times: dict[str, list[dict]] = {t: [] for t in TOOLS}
    kept: dict[str, list] = {t: [] for t in TOOLS}
    for i in range(count):
        for tool in TOOLS if i % 2 == 0 else TOOLS[::-1]:
            call, args = call_of(tool, i), args_of(tool, i)
            start, cpu = time.perf_counter_ns(), time.process_time_ns()
            out = call(*args)
            cpu, wall = time.process_time_ns() - cpu, time.perf_counter_ns() - start
            rec = {"cpu_us": cpu / 1e3, "wall_us": wall / 1e3, "pieces": pieces(tool, out)}
            times[tool].append(rec)
            kept[tool].append(out)  # a sweep keeps its partitions (to plot, to compare)
    result = {t: summary(v) for t, v in times.items()}
    counts = [[r["pieces"] for r in times[t]] for t in TOOLS]
    result["calls_with_other_piece_counts"] = sum(a != b for a, b in zip(*counts, strict=True))
    return result


def warm(seed: int, segments: int, models: int) -> dict:
    """The sweep (one model, many segments) and the checkpoints (many models, one segment)."""
    import regionscope as rs

    for tool in TOOLS:
        rn._warm_up(tool, torch_too=False)  # noqa: SLF001
    layers, p, q = row(seed)
    v = np.random.default_rng(seed + 11).normal(size=p.shape)
    ts = np.linspace(0.0, 1.0, segments)
    one = {rn.REGIONSCOPE: rs_call(layers), rn.REGIONCAM: rc_call(layers)}
    sweep = _alternate(
        lambda tool, i: one[tool], lambda tool, i: (p + ts[i] * v, q + ts[i] * v), segments
    )
    nets = [row(seed + 1 + m)[0] for m in range(models)]
    many = {rn.REGIONSCOPE: [rs_call(n) for n in nets], rn.REGIONCAM: [rc_call(n) for n in nets]}
    domains = {rn.REGIONSCOPE: rs.Segment(p, q), rn.REGIONCAM: np.stack([p, q]).astype(np.float32)}
    checkpoints = _alternate(
        lambda tool, i: many[tool][i], lambda tool, i: (p, q, domains[tool]), models
    )
    return {"sweep": sweep, "checkpoints": checkpoints}


def check(seed: int) -> dict:
    """Pieces, breakpoints and patterns of both tools on the row's segment."""
    layers, p, q = row(seed)
    part = rs_call(layers)(p, q)
    cam = rc_call(layers)(p, q)
    seg = part.domain
    # regioncam's coordinate: arc length from the midpoint
    theirs = (seg.lo + seg.hi) / 2 + np.sort(np.asarray(cam.inputs, dtype=np.float64).ravel())
    ours = np.asarray(part.points)
    same_count = len(theirs) == len(ours)
    gap = float(np.abs(theirs - ours).max() / (seg.hi - seg.lo)) if same_count else None
    # patterns: ReLU k's input is regioncam's layer 2 + 2k (0: its input, 1: the point)
    order = np.argsort(np.asarray(cam.inputs).ravel())
    relus = len(layers) - 1
    ends = [np.asarray(cam.activations(2 + 2 * k), dtype=np.float64)[order] for k in range(relus)]
    theirs_on = np.hstack([(a[:-1] + a[1:]) > 0 for a in ends])
    x = seg.lift(part.midpoints())
    ours_on = []
    for w, b in layers[:relus]:
        x = x @ w.T + b
        ours_on.append(x > 0)
        x = np.maximum(x, 0.0)
    ours_on = np.hstack(ours_on)
    return {
        "pieces": [int(part.num_regions), int(cam.num_edges)],
        "breakpoints_max_gap_over_length": gap,
        "patterns_equal": bool(same_count and np.array_equal(ours_on, theirs_on)),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="mode", required=True)
    c = sub.add_parser("cold")
    c.add_argument("--rounds", type=int, default=21)
    c.add_argument("--base", help="also time this source tree (a PYTHONPATH holding regionscope)")
    w = sub.add_parser("warm")
    w.add_argument("--segments", type=int, default=300)
    w.add_argument("--models", type=int, default=100)
    sub.add_parser("check")
    k = sub.add_parser("worker")
    k.add_argument("tool", choices=TOOLS)
    k.add_argument("wseed", type=int)
    for s in (c, w, sub.choices["check"]):
        s.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    os.environ.update(THREADS)
    if args.mode == "worker":
        worker(args.tool, args.wseed)
        return 0
    if args.mode == "cold":
        result = cold(args.rounds, args.seed, args.base)
    elif args.mode == "warm":
        result = warm(args.seed, args.segments, args.models)
    else:
        result = check(args.seed)
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
