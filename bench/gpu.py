"""Time the torch backend (``backend="torch"``) on a device against NumPy.

Two parts, both printed with wall and CPU time (``time.process_time``, every
thread of the process):

1. The one-layer arrangement ``[2, W]`` (default ``W = 8192``, the GPU target
   of issue 12: 10^7 regions per second on one H100): the cut of the square
   by ``W`` lines (``regionscope.geometry.cutting.cut``, the geometric core
   alone), with ``--stages`` its wall time step by step (synchronised), and
   with ``--partition-width`` the whole ``rs.partition`` of such a layer.
   Regions per second are regions over wall time.  The torch cut is checked
   against the NumPy cut, array for array, at ``min(W, --check-width)`` lines
   (NumPy is slow beyond that).
2. The benchmark suite (``bench/suite.py``): ``rs.partition`` of every
   network with ``backend="numpy"`` and with ``backend="torch"`` on the
   device (cuts below ``--host-below`` on the host, as by default); the two
   partitions are checked to be the same, and the cuts that ran on the device
   are counted.

Each timed call follows a warm-up call of the same size (CUDA context, kernel
loading, the first allocation of the caching allocator).  Runs on a CPU too
(``--device cpu``), which is how it is tested without a GPU.

Usage::

    python bench/gpu.py                        # cuda if available, else cpu
    python bench/gpu.py --device cpu --width 1024 --threads 1
    python bench/gpu.py --skip-suite --width 8192 --repeat 3 --json out.json
    python bench/gpu.py --device cuda --width 8192 --check-width 2048 --stages
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import suite  # noqa: E402  (bench/ is not a package)


def _sync(device: str) -> None:
    import torch

    if device.startswith("cuda"):
        torch.cuda.synchronize()


def timed(fn, device: str, repeat: int) -> tuple[object, float, float]:
    """``fn()`` once to warm up, then ``repeat`` times; the best wall time and its CPU time."""
    out = fn()
    best = (float("inf"), float("inf"))
    for _ in range(repeat):
        _sync(device)
        start, cpu = time.perf_counter(), time.process_time()
        out = fn()
        _sync(device)
        best = min(best, (time.perf_counter() - start, time.process_time() - cpu))
    return out, best[0], best[1]


def same_cut(a, b) -> bool:
    fields = ("vertices", "region_vertices", "region_offsets", "incidence_source")
    if not all(np.array_equal(getattr(a.mesh, f), getattr(b.mesh, f)) for f in fields):
        return False
    blocks = all(
        np.array_equal(u, v)
        for x, y in zip(a.interp, b.interp, strict=True)
        for u, v in zip(x, y, strict=True)
    )
    return blocks and np.array_equal(a.region_parent, b.region_parent)


def same_partition(a, b) -> bool:
    x, y = a.to_arrays(), b.to_arrays()
    return sorted(x) == sorted(y) and all(
        np.array_equal(np.asarray(x[k]), np.asarray(y[k])) for k in x if k != "stats"
    )


def _layer(width: int):
    """The square, and the values, tolerances and codes of ``width`` random lines."""
    from regionscope.geometry.mesh import Mesh, encode_source

    net = suite.Net(f"2-{width}", (2, width))
    ((weight, bias),) = suite.draw_weights(net, seed=0)
    h = suite.HALF_WIDTH
    square = Mesh.from_polygon(np.array([[-h, -h], [h, -h], [h, h], [-h, h]]))
    values = square.vertices @ weight.T + bias
    tol = np.full(width, 1e-12)  # well below any corner value of these lines
    return net, (weight, bias), (square, values, tol, encode_source(0, np.arange(width)))


def _cut_on(name: str, dev: str | None, args: tuple):
    import regionscope as rs
    from regionscope.geometry.cutting import cut

    def run():
        kwargs = {"device": dev} if dev else {}
        with rs.backend(name, **kwargs):
            return cut(*args, 1e-12, 10**9)

    return run


def one_layer(
    width: int, device: str, repeat: int, check_width: int, partition_width: int | None = None
) -> list[dict]:
    """The ``[2, width]`` arrangement cut on ``device``; the check against NumPy at
    ``min(width, check_width)`` lines; the partition of ``[2, partition_width]``."""
    import regionscope as rs

    _, _, args = _layer(width)
    rows = []
    res_t, wall, cpu = timed(_cut_on("torch", device, args), device, repeat)
    regions = res_t.mesh.num_regions
    row = {"case": f"cut [2,{width}]", "backend": f"torch/{device}", "regions": regions}
    rows.append(row | {"wall_s": wall, "cpu_s": cpu, "regions_per_s": regions / wall})
    if check_width:
        w = min(width, check_width)
        if w != width:  # the same cut, smaller, on the device
            _, _, args = _layer(w)
            res_t, wall, cpu = timed(_cut_on("torch", device, args), device, 1)
            row = {"case": f"cut [2,{w}]", "backend": f"torch/{device}",
                   "regions": res_t.mesh.num_regions}  # fmt: skip
            rows.append(row | {"wall_s": wall, "cpu_s": cpu,
                               "regions_per_s": res_t.mesh.num_regions / wall})  # fmt: skip
        res_n, wall, cpu = timed(_cut_on("numpy", None, args), "cpu", 1 if w != width else repeat)
        regions = res_n.mesh.num_regions
        row = {"case": f"cut [2,{w}]", "backend": "numpy", "regions": regions}
        rows.append(row | {"wall_s": wall, "cpu_s": cpu, "regions_per_s": regions / wall})
        rows[-1]["identical"] = rows[-2]["identical"] = same_cut(res_n, res_t)
    if partition_width:
        net, (weight, bias), _ = _layer(partition_width)
        model = suite.regionscope_model(net, [(weight, bias)])

        def part():
            with rs.backend("torch", device=device):
                return rs.partition(model, rs.Box(suite.HALF_WIDTH), max_regions=10**9)

        p, wall, cpu = timed(part, device, repeat)
        row = {"case": f"partition [2,{partition_width}]", "backend": f"torch/{device}"}
        rows.append(row | {"regions": p.num_regions, "wall_s": wall, "cpu_s": cpu,
                           "regions_per_s": p.num_regions / wall})  # fmt: skip
    return rows


def stages(width: int, device: str) -> dict[str, float]:
    """Wall seconds of each step of one torch cut of ``[2, width]``, synchronised after each
    (a warm-up cut first); ``host`` is the transfer back and the work on the host."""
    import regionscope.geometry.tensor.cut as tcut

    _, _, args = _layer(width)
    run = _cut_on("torch", device, args)
    run()
    seconds: dict[str, float] = {}
    names = ("chord_ends", "edge_points", "make_chords", "crossings", "along", "concurrent",
             "paths", "rebuild", "_risky", "_host", "_invalid")  # fmt: skip
    saved = {name: getattr(tcut, name) for name in names}

    def timer(name, fn):
        def call(*a, **k):
            _sync(device)
            start = time.perf_counter()
            out = fn(*a, **k)
            _sync(device)
            seconds[name] = seconds.get(name, 0.0) + time.perf_counter() - start
            return out

        return call

    try:
        for name, fn in saved.items():
            setattr(tcut, name, timer(name, fn))
        _sync(device)
        start = time.perf_counter()
        run()
        _sync(device)
        seconds["whole cut"] = time.perf_counter() - start
    finally:
        for name, fn in saved.items():
            setattr(tcut, name, fn)
    return {k: round(v, 4) for k, v in seconds.items()}


def _count_device_cuts():
    """Wrap the dispatch of cuts: ``counts`` gets ``[cuts, cuts sent to the device]``."""
    import regionscope.geometry.cutting as cutting

    counts = [0, 0]
    choose = cutting.device_for

    def counted(pair_region):
        device = choose(pair_region)
        counts[0] += 1
        counts[1] += device is not None
        return device

    cutting.device_for = counted
    return counts


def the_suite(
    device: str, repeat: int, only: list[str] | None, host_below: int | None = None
) -> list[dict]:
    """Every network of ``bench/suite.py``, NumPy then torch on ``device``."""
    import regionscope as rs

    counts = _count_device_cuts()
    rows = []
    for net in suite.SUITE:
        if only and net.name not in only:
            continue
        model = suite.regionscope_model(net, suite.draw_weights(net, seed=0))
        parts = {}
        for name, dev in (("numpy", None), ("torch", device)):

            def run(name=name, dev=dev, model=model):
                kwargs = {"device": dev, "host_below": host_below} if dev else {}
                with rs.backend(name, **kwargs):
                    return rs.partition(model, rs.Box(suite.HALF_WIDTH))

            counts[:] = [0, 0]
            parts[name], wall, cpu = timed(run, device if dev else "cpu", repeat)
            label = f"torch/{dev}" if dev else name
            rows.append({"case": net.name, "backend": label, "regions": parts[name].num_regions,
                         "wall_s": wall, "cpu_s": cpu})  # fmt: skip
        rows[-1]["device_cuts"] = f"{counts[1] // (repeat + 1)}/{counts[0] // (repeat + 1)}"
        rows[-1]["identical"] = rows[-2]["identical"] = same_partition(*parts.values())
    return rows


def table(rows: list[dict]) -> str:
    head = f"{'case':<22} {'backend':<12} {'regions':>10} {'wall s':>9} {'cpu s':>9} "
    lines = [head + f"{'regions/s':>11} same  on device", "-" * (len(head) + 28)]
    for r in rows:
        rate = f"{r['regions_per_s']:.3g}" if "regions_per_s" in r else ""
        same = {True: "yes", False: "NO"}.get(r.get("identical"), "")
        lines.append(
            f"{r['case']:<22} {r['backend']:<12} {r['regions']:>10} {r['wall_s']:>9.4f} "
            f"{r['cpu_s']:>9.4f} {rate:>11} {same:<5} {r.get('device_cuts', '')}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default=None, help="torch device (default: cuda if any)")
    parser.add_argument("--width", type=int, default=8192, help="lines of the one-layer case")
    parser.add_argument("--check-width", type=int, default=2048,
                        help="check against NumPy at min(width, this); 0: none")  # fmt: skip
    parser.add_argument("--partition-width", type=int, default=None,
                        help="lines of a whole-partition case (default: none)")  # fmt: skip
    parser.add_argument("--stages", action="store_true",
                        help="time the steps of one cut of --width lines")  # fmt: skip
    parser.add_argument("--host-below", type=int, default=None,
                        help="the suite's host_below (default: the library's)")  # fmt: skip
    parser.add_argument("--repeat", type=int, default=3, help="timed runs (best is kept)")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument("--skip-suite", action="store_true")
    parser.add_argument("--only", action="append", help="suite networks to run (repeatable)")
    parser.add_argument("--json", type=Path, default=None, help="write the rows here")
    args = parser.parse_args(argv)
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda"):
        name = torch.cuda.get_device_name(torch.device(device))
    else:
        name = f"CPU, {torch.get_num_threads()} torch threads"
    print(f"torch {torch.__version__} on {device} ({name})", flush=True)
    rows = one_layer(args.width, device, args.repeat, args.check_width, args.partition_width)
    print(table(rows), flush=True)
    steps = stages(args.width, device) if args.stages else {}
    if steps:
        print(f"steps of one cut [2,{args.width}], wall s:", json.dumps(steps), flush=True)
    if not args.skip_suite:
        rows += the_suite(device, args.repeat, args.only, args.host_below)
        print(table(rows), flush=True)
    if args.json:
        out = {"device": device, "name": name, "rows": rows, "stages": steps}
        args.json.write_text(json.dumps(out, indent=1))
    return 0 if all(r.get("identical", True) for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
