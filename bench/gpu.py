"""Time the torch backend (``backend="torch"``) on a device against NumPy.

Two parts, both printed with wall and CPU time (``time.process_time``, every
thread of the process):

1. The one-layer arrangement ``[2, W]`` (default ``W = 8192``, the GPU target
   of issue 12: 10^7 regions per second on one H100): the cut of the square
   by ``W`` lines (``regionscope.geometry.cutting.cut``, the geometric core
   alone), then the whole ``rs.partition``.  Regions per second are regions
   over wall time.  The torch cut is checked against the NumPy cut, array for
   array, up to ``--check-width`` lines (NumPy is slow beyond that).
2. The benchmark suite (``bench/suite.py``): ``rs.partition`` of every
   network with ``backend="numpy"`` and with ``backend="torch"`` on the
   device; the two partitions are checked to be the same.

Each timed call follows a warm-up call of the same size (CUDA context, kernel
loading, the first allocation of the caching allocator).  Runs on a CPU too
(``--device cpu``), which is how it is tested without a GPU.

Usage::

    python bench/gpu.py                        # cuda if available, else cpu
    python bench/gpu.py --device cpu --width 1024 --threads 1
    python bench/gpu.py --skip-suite --width 8192 --repeat 3 --json out.json
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


def one_layer(
    width: int, device: str, repeat: int, check_width: int, partition_width: int | None = None
) -> list[dict]:
    """The ``[2, width]`` arrangement: the cut alone, then the whole partition."""
    import regionscope as rs
    from regionscope.geometry.cutting import cut
    from regionscope.geometry.mesh import Mesh, encode_source

    net = suite.Net(f"2-{width}", (2, width))
    ((weight, bias),) = suite.draw_weights(net, seed=0)
    h = suite.HALF_WIDTH
    square = Mesh.from_polygon(np.array([[-h, -h], [h, -h], [h, h], [-h, h]]))
    values = square.vertices @ weight.T + bias
    tol = np.full(width, 1e-12)  # well below any corner value of these lines
    codes = encode_source(0, np.arange(width))

    def cut_on(name: str, dev: str | None):
        def run():
            kwargs = {"device": dev} if dev else {}
            with rs.backend(name, **kwargs):
                return cut(square, values, tol, codes, 1e-12, 10**9)

        return run

    rows = []
    res_t, wall, cpu = timed(cut_on("torch", device), device, repeat)
    regions = res_t.mesh.num_regions
    row = {"case": f"cut [2,{width}]", "backend": f"torch/{device}", "regions": regions}
    rows.append(row | {"wall_s": wall, "cpu_s": cpu, "regions_per_s": regions / wall})
    if width <= check_width:
        res_n, wall, cpu = timed(cut_on("numpy", None), "cpu", repeat)
        row = {"case": f"cut [2,{width}]", "backend": "numpy", "regions": res_n.mesh.num_regions}
        rows.append(row | {"wall_s": wall, "cpu_s": cpu, "regions_per_s": regions / wall})
        rows[-1]["identical"] = rows[-2]["identical"] = same_cut(res_n, res_t)
    if partition_width is not None and partition_width != width:
        net = suite.Net(f"2-{partition_width}", (2, partition_width))
        weight, bias = suite.draw_weights(net, seed=0)[0]
    model = suite.regionscope_model(net, [(weight, bias)])

    def part():
        with rs.backend("torch", device=device):
            return rs.partition(model, rs.Box(h), max_regions=10**9)

    p, wall, cpu = timed(part, device, repeat)
    row = {"case": f"partition [2,{weight.shape[0]}]", "backend": f"torch/{device}"}
    rows.append(row | {"regions": p.num_regions, "wall_s": wall, "cpu_s": cpu,
                       "regions_per_s": p.num_regions / wall})  # fmt: skip
    return rows


def the_suite(device: str, repeat: int, only: list[str] | None) -> list[dict]:
    """Every network of ``bench/suite.py``, NumPy then torch on ``device``."""
    import regionscope as rs

    rows = []
    for net in suite.SUITE:
        if only and net.name not in only:
            continue
        model = suite.regionscope_model(net, suite.draw_weights(net, seed=0))
        parts = {}
        for name, dev in (("numpy", None), ("torch", device)):

            def run(name=name, dev=dev, model=model):
                kwargs = {"device": dev} if dev else {}
                with rs.backend(name, **kwargs):
                    return rs.partition(model, rs.Box(suite.HALF_WIDTH))

            parts[name], wall, cpu = timed(run, device if dev else "cpu", repeat)
            label = f"torch/{dev}" if dev else name
            rows.append({"case": net.name, "backend": label, "regions": parts[name].num_regions,
                         "wall_s": wall, "cpu_s": cpu})  # fmt: skip
        rows[-1]["identical"] = rows[-2]["identical"] = same_partition(*parts.values())
    return rows


def table(rows: list[dict]) -> str:
    head = f"{'case':<22} {'backend':<12} {'regions':>10} {'wall s':>9} {'cpu s':>9} "
    lines = [head + f"{'regions/s':>11} same", "-" * (len(head) + 16)]
    for r in rows:
        rate = f"{r['regions_per_s']:.3g}" if "regions_per_s" in r else ""
        same = {True: "yes", False: "NO"}.get(r.get("identical"), "")
        lines.append(
            f"{r['case']:<22} {r['backend']:<12} {r['regions']:>10} {r['wall_s']:>9.4f} "
            f"{r['cpu_s']:>9.4f} {rate:>11} {same}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default=None, help="torch device (default: cuda if any)")
    parser.add_argument("--width", type=int, default=8192, help="lines of the one-layer case")
    parser.add_argument("--check-width", type=int, default=2048,
                        help="check against NumPy up to this many lines")  # fmt: skip
    parser.add_argument("--partition-width", type=int, default=None,
                        help="lines of the whole-partition case (default: --width)")  # fmt: skip
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
    if not args.skip_suite:
        rows += the_suite(device, args.repeat, args.only)
        print(table(rows), flush=True)
    if args.json:
        args.json.write_text(json.dumps({"device": device, "name": name, "rows": rows}, indent=1))
    return 0 if all(r.get("identical", True) for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
