"""Compare regionscope with regioncam on the benchmark suite.

Each measurement runs in a fresh subprocess (``compare.py --worker TOOL NET
SEED``) that draws the network's weights, builds the network, warms the tool
up on a two-neuron network, and then times the partition call only (imports,
weight drawing and network construction are excluded).  The parent reads the
worker's peak resident set size from ``os.wait4`` (the kernel's ``ru_maxrss``
for that one child), so both tools are measured in exactly the same way.
The tools alternate within each repetition (and which one goes first
alternates between repetitions); the table reports medians.

Usage::

    python bench/compare.py --reps 3 --json bench/out/results.json \\
        --plot bench/out/time_vs_regions.png
    python bench/compare.py --only 2-64x3 --tools regioncam
    python bench/compare.py --selfcheck

Counts: both tools count activation regions (faces of the partition).
regioncam works in float32 and can leave sliver faces where many lines meet,
so its count may differ from regionscope's by a few regions; differences are
printed and flagged, never hidden.  For one-hidden-layer networks the table
also shows an independent exact count (``suite.arrangement_count``: 1 + lines
meeting the square + crossings inside it, for lines in general position).
"""

from __future__ import annotations

import argparse
import datetime as _dt
import hashlib
import importlib.util
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from importlib import metadata
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import suite  # noqa: E402  (bench/ is not a package)

TOOLS = ("regionscope", "regioncam")
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


# --------------------------------------------------------------------------- worker


def _current_rss_bytes() -> int:
    """Resident set size of this process now, from /proc/self/statm (Linux)."""
    try:
        with open("/proc/self/statm") as f:
            resident_pages = int(f.read().split()[1])
        return resident_pages * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return -1


def _reset_peak_rss() -> bool:
    """Reset this process's peak RSS (VmHWM) to its current RSS; Linux >= 4.0."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def _peak_rss_since_reset() -> int:
    """VmHWM of this process in bytes (-1 if unknown)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return -1


def _warm_up(tool: str, net: suite.Net | None = None) -> None:
    """Partition a network once so that imports and first calls are not timed.

    With ``net``, the same architecture with other weights (seed 12345): the timed
    call then measures steady-state speed, as in a session that computes many
    partitions, for both tools alike (``--cold`` keeps the small warm-up only).
    """
    net = net if net is not None else suite.Net("warm-up", (2, 8, 8))
    weights = suite.draw_weights(net, seed=12345)
    if tool == "regionscope":
        suite.run_regionscope(suite.regionscope_model(net, weights))
    else:
        suite.run_regioncam(net, suite.regioncam_layers(weights))


def worker(tool: str, net_name: str, seed: int) -> None:
    """Time one partition of ``net_name`` by ``tool``; print one JSON line."""
    net = suite.SUITE_BY_NAME[net_name]
    weights = suite.draw_weights(net, seed)
    _warm_up(tool, None if os.environ.get("REGIONSCOPE_BENCH_COLD") else net)
    if tool == "regionscope":
        model = suite.regionscope_model(net, weights)
        rss_before = _current_rss_bytes()
        reset = _reset_peak_rss()
        start, cpu_start = time.perf_counter(), time.process_time()
        regions = suite.run_regionscope(model)
        elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu_start
        import regionscope

        origin = regionscope.__file__
    elif tool == "regioncam":
        rc_layers = suite.regioncam_layers(weights)
        rss_before = _current_rss_bytes()
        reset = _reset_peak_rss()
        start, cpu_start = time.perf_counter(), time.process_time()
        regions = suite.run_regioncam(net, rc_layers)
        elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu_start
        import regioncam

        origin = regioncam.__file__
    else:
        raise ValueError(f"--worker: tool must be one of {TOOLS}, got {tool!r}")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    call_peak = _peak_rss_since_reset() if reset else -1
    record = {
        "call_peak_rss_bytes": call_peak,
        "tool": tool,
        "net": net_name,
        "seed": seed,
        "regions": regions,
        "time_s": elapsed,
        "cpu_s": cpu,
        "rss_before_bytes": rss_before,
        "self_peak_rss_bytes": peak,
        "module_file": origin,
    }
    print(json.dumps(record), flush=True)


# --------------------------------------------------------------------------- parent


def snapshot_regionscope(dest: Path) -> tuple[Path, str]:
    """Copy the regionscope package that would be imported into ``dest``.

    The workers import this copy (through ``PYTHONPATH``), so a long run
    measures one version of the code even if the working tree changes
    meanwhile.  Returns the package's source directory and a SHA-256 digest of
    its ``.py`` files.
    """
    spec = importlib.util.find_spec("regionscope")  # finds without importing
    if spec is None or spec.origin is None:
        raise RuntimeError("regionscope is not installed; pip install -e '.[bench]'")
    source = Path(spec.origin).parent
    shutil.copytree(source, dest / "regionscope", ignore=shutil.ignore_patterns("__pycache__"))
    return source, _digest(dest / "regionscope")


def _digest(package: Path) -> str:
    """SHA-256 of a package's ``.py`` files (names and contents)."""
    digest = hashlib.sha256()
    for path in sorted(package.rglob("*.py")):
        if "__pycache__" in path.parts:
            continue
        digest.update(path.relative_to(package).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _worker_env(threads: int, pythonpath: Path | None) -> dict[str, str]:
    env = dict(os.environ)
    if threads > 0:
        for var in THREAD_VARS:
            env[var] = str(threads)
    if pythonpath is not None:
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(pythonpath), env.get("PYTHONPATH", "")) if p
        )
    return env


def run_once(
    tool: str,
    net_name: str,
    seed: int,
    timeout: float,
    threads: int,
    pythonpath: Path | None = None,
) -> dict:
    """Run one worker subprocess; return its record plus peak RSS from wait4.

    The returned dict always has ``tool``, ``net``, ``wall_s``; on success also
    ``regions``, ``time_s`` and ``peak_rss_bytes``; on failure ``error``.
    """
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", tool, net_name, str(seed)]
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, env=_worker_env(threads, pythonpath))
        killed = threading.Event()

        def _kill() -> None:
            killed.set()
            proc.kill()

        timer = threading.Timer(timeout, _kill)
        timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            timer.cancel()
        proc.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - start
        out.seek(0)
        err.seek(0)
        stdout = out.read().decode(errors="replace")
        stderr = err.read().decode(errors="replace")
    record: dict = {"tool": tool, "net": net_name, "seed": seed, "wall_s": wall}
    if killed.is_set():
        record["error"] = f"timed out after {timeout:.0f} s"
        return record
    if proc.returncode != 0:
        tail = stderr.strip().splitlines()[-3:] or ["(no stderr)"]
        record["error"] = f"exit {proc.returncode}: " + " | ".join(tail)
        return record
    try:
        record.update(json.loads(stdout.strip().splitlines()[-1]))
    except (IndexError, json.JSONDecodeError):
        record["error"] = f"unreadable worker output: {stdout[-200:]!r}"
        return record
    record["peak_rss_bytes"] = usage.ru_maxrss * 1024
    return record


def summarize(runs: list[dict]) -> dict:
    """Median time and memory over successful runs; the set of counts seen."""
    ok = [r for r in runs if "error" not in r]
    summary: dict = {"runs": runs, "ok": len(ok), "failed": len(runs) - len(ok)}
    if not ok:
        summary["error"] = runs[-1].get("error", "no run") if runs else "no run"
        return summary
    counts = sorted({r["regions"] for r in ok})
    summary["regions"] = statistics.median_low([r["regions"] for r in ok])
    summary["regions_seen"] = counts
    summary["time_s"] = statistics.median(r["time_s"] for r in ok)
    if all("cpu_s" in r for r in ok):
        summary["cpu_s"] = statistics.median(r["cpu_s"] for r in ok)
    summary["time_min_s"] = min(r["time_s"] for r in ok)
    summary["time_max_s"] = max(r["time_s"] for r in ok)
    summary["peak_rss_mb"] = statistics.median(r["peak_rss_bytes"] for r in ok) / 2**20
    summary["rss_before_mb"] = statistics.median(r["rss_before_bytes"] for r in ok) / 2**20
    grown = [
        r["call_peak_rss_bytes"] - r["rss_before_bytes"]
        for r in ok
        if r.get("call_peak_rss_bytes", -1) >= 0
    ]
    if grown:
        # memory the partition call itself added at its peak (VmHWM reset before the call)
        summary["call_mb"] = statistics.median(grown) / 2**20
    return summary


def machine_info() -> dict:
    """CPU model, core count, RAM, and the versions that matter."""
    cpu = platform.processor() or "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    ram_gib = None
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    ram_gib = round(int(line.split()[1]) / 2**20, 1)
                    break
    except OSError:
        pass

    def version(dist: str) -> str | None:
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            return None

    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "ram_gib": ram_gib,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "regionscope": version("regionscope"),
        "regioncam": version("regioncam"),
        "platform": platform.platform(),
    }


def _fmt_time(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 0.01:
        return f"{seconds * 1000:.2f} ms"
    if seconds < 0.1:
        return f"{seconds * 1000:.1f} ms"
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    return f"{seconds:.2f} s"


def _fmt_wall_cpu(summary: dict) -> str:
    """Median wall time, and median CPU time (both threads) in brackets."""
    if "time_s" not in summary:
        return "-"
    wall = _fmt_time(summary["time_s"])
    return wall if "cpu_s" not in summary else f"{wall} ({_fmt_time(summary['cpu_s'])})"


def speedup(res: dict, key: str = "time_s") -> float | None:
    """regioncam's median ``key`` (``"time_s"`` wall, ``"cpu_s"`` CPU) over regionscope's."""
    a = res["tools"].get("regionscope", {})
    b = res["tools"].get("regioncam", {})
    if key in a and key in b and a[key] > 0:
        return b[key] / a[key]
    return None


def geometric_mean_speedup(results: list[dict], key: str = "time_s") -> float | None:
    """Geometric mean of :func:`speedup` over the networks where both tools ran."""
    ratios = [r for r in (speedup(res, key) for res in results) if r is not None and r > 0]
    if not ratios:
        return None
    return float(np.exp(np.mean(np.log(ratios))))


def _fmt_ratio(ratio: float | None) -> str:
    return "-" if ratio is None else f"{ratio:.2f}x"


def format_table(results: list[dict], tools: tuple[str, ...]) -> str:
    """Markdown table: regions, median times, speed-up, peak memory."""
    rs, rc = "regionscope", "regioncam"
    header = [
        "network",
        "neurons",
        "regions (regionscope / regioncam)",
        "exact (1 layer)",
        "regionscope time (CPU)",
        "regioncam time (CPU)",
        "speed-up",
        "speed-up (CPU)",
        "regionscope peak RSS",
        "regioncam peak RSS",
        "regionscope memory added by the call",
        "regioncam memory added by the call",
    ]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for res in results:
        a = res["tools"].get(rs, {})
        b = res["tools"].get(rc, {})

        def count(s: dict) -> str:
            if "regions" not in s:
                return "error" if s else "-"
            seen = s["regions_seen"]
            return str(s["regions"]) + ("" if len(seen) == 1 else f" (varied: {seen})")

        regions = f"{count(a)} / {count(b)}"
        if "regions" in a and "regions" in b and a["regions"] != b["regions"]:
            diff = b["regions"] - a["regions"]
            regions += f" **MISMATCH {diff:+d}**"
        speed = _fmt_ratio(speedup(res, "time_s"))
        speed_cpu = _fmt_ratio(speedup(res, "cpu_s"))
        mem_a = f"{a['peak_rss_mb']:.0f} MB" if "peak_rss_mb" in a else "-"
        mem_b = f"{b['peak_rss_mb']:.0f} MB" if "peak_rss_mb" in b else "-"
        row = [
            f"`{res['name']}`",
            str(res["neurons"]),
            regions,
            "-" if res.get("oracle_regions") is None else str(res["oracle_regions"]),
            _fmt_wall_cpu(a),
            _fmt_wall_cpu(b),
            speed,
            speed_cpu,
            mem_a,
            mem_b,
            f"{a['call_mb']:.1f} MB" if "call_mb" in a else "-",
            f"{b['call_mb']:.1f} MB" if "call_mb" in b else "-",
        ]
        lines.append("| " + " | ".join(row) + " |")
    means = [geometric_mean_speedup(results, key) for key in ("time_s", "cpu_s")]
    if any(mean is not None for mean in means):
        row = ["geometric mean"] + ["-"] * 5 + [_fmt_ratio(mean) for mean in means] + ["-"] * 4
        lines.append("| " + " | ".join(row) + " |")
    notes = []
    for res in results:
        for tool in tools:
            s = res["tools"].get(tool, {})
            if "error" in s:
                notes.append(f"- `{res['name']}` {tool}: {s['error']}")
    if notes:
        lines.append("")
        lines.append("Failures:")
        lines.extend(notes)
    return "\n".join(lines)


def plot(results: list[dict], tools: tuple[str, ...], path: Path) -> None:
    """Log-log plot of median partition time against number of regions."""
    import matplotlib  # noqa: TID251  (bench is not the library)

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: TID251

    styles = {"regionscope": ("tab:blue", "o"), "regioncam": ("tab:orange", "s")}
    fig, ax = plt.subplots(figsize=(6.4, 4.6), dpi=100)
    for tool in tools:
        xs, ys, names = [], [], []
        for res in results:
            s = res["tools"].get(tool, {})
            if "time_s" in s:
                xs.append(s["regions"])
                ys.append(s["time_s"])
                names.append(res["name"])
        if not xs:
            continue
        color, marker = styles.get(tool, ("black", "x"))
        ax.scatter(xs, ys, color=color, marker=marker, label=tool, zorder=3)
        if tool == tools[0]:
            for x, y, name in zip(xs, ys, names, strict=True):
                ax.annotate(name, (x, y), textcoords="offset points", xytext=(4, -10), fontsize=7)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("number of regions")
    ax.set_ylabel("partition time (s, median)")
    ax.set_title("Partition time on [-1, 1]^2 (benchmark suite)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)


def selfcheck(tools: tuple[str, ...]) -> bool:
    """Check both tools' conventions on networks with known region counts.

    Two axis lines cut the square into 4; a line at x = 0.9 into 2; a line at
    x = 1.1 (outside) leaves 1; m lines in general position whose crossings
    all lie inside the square make 1 + m + m(m-1)/2 (Zaslavsky); an argmax
    between x and y makes 2.
    """
    rng = np.random.default_rng(7)
    m = 12
    angles = (np.arange(m) + rng.uniform(-0.3, 0.3, m)) * np.pi / m
    normals = np.stack([np.cos(angles), np.sin(angles)], axis=1)
    offsets = rng.uniform(-0.02, 0.02, m)  # lines pass near the origin
    cases = [
        ("two axis lines", suite.Net("c", (2, 2)), [(np.eye(2), np.zeros(2))], 4),
        ("line x = 0.9", suite.Net("c", (2, 1)), [(np.array([[1.0, 0.0]]), np.array([-0.9]))], 2),
        ("line x = 1.1", suite.Net("c", (2, 1)), [(np.array([[1.0, 0.0]]), np.array([-1.1]))], 1),
        (
            f"{m} lines near 0",
            suite.Net("c", (2, m)),
            [(normals, offsets)],
            1 + m + m * (m - 1) // 2,
        ),
        ("argmax(x, y)", suite.Net("c", (2,), classes=2), [(np.eye(2), np.zeros(2))], 2),
    ]
    # the m lines must cross pairwise inside the square for the formula to hold
    for i in range(m):
        for j in range(i + 1, m):
            point = np.linalg.solve(normals[[i, j]], -offsets[[i, j]])
            if np.max(np.abs(point)) >= 1.0:
                raise RuntimeError("selfcheck: a crossing fell outside the square")
    good = True
    for tool in tools:
        for label, net, weights, expected in cases:
            if tool == "regionscope":
                got = suite.run_regionscope(suite.regionscope_model(net, weights))
            else:
                got = suite.run_regioncam(net, suite.regioncam_layers(weights))
            ok = got == expected
            good &= ok
            verdict = "ok" if ok else "FAIL"
            print(f"{tool:12s} {label:18s} expected {expected:3d} got {got:3d} {verdict}")
    return good


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--worker", nargs=3, metavar=("TOOL", "NET", "SEED"), help=argparse.SUPPRESS
    )
    parser.add_argument(
        "--only", action="append", metavar="NAME", help="run only this network (repeatable)"
    )
    parser.add_argument("--reps", type=int, default=3, help="repetitions per tool (default 3)")
    parser.add_argument(
        "--tools", default=",".join(TOOLS), help="comma-separated tools (default: both)"
    )
    parser.add_argument("--seed", type=int, default=0, help="weight seed (default 0)")
    parser.add_argument("--json", type=Path, help="write the results here")
    parser.add_argument("--plot", type=Path, help="write the log-log time/regions plot here")
    parser.add_argument(
        "--timeout", type=float, default=900.0, help="seconds per run (default 900)"
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="BLAS/OpenMP threads in the workers (default 1; 0 leaves the environment alone)",
    )
    parser.add_argument(
        "--no-snapshot",
        action="store_true",
        help="import regionscope from where it is installed instead of a copy made at start",
    )
    parser.add_argument(
        "--cold",
        action="store_true",
        help="time the first partition in each fresh process (warm-up on a small network "
        "only) instead of a second one of the same architecture",
    )
    parser.add_argument("--list", action="store_true", help="list the suite and exit")
    parser.add_argument("--selfcheck", action="store_true", help="check conventions and exit")
    args = parser.parse_args(argv)

    if args.worker:
        tool, net_name, seed = args.worker
        worker(tool, net_name, int(seed))
        return 0

    if args.cold:  # read by the workers, which inherit the environment
        os.environ["REGIONSCOPE_BENCH_COLD"] = "1"
    tools = tuple(t.strip() for t in args.tools.split(",") if t.strip())
    for tool in tools:
        if tool not in TOOLS:
            parser.error(f"--tools: unknown tool {tool!r}; choose from {', '.join(TOOLS)}")
    if args.reps < 1:
        parser.error(f"--reps must be at least 1, got {args.reps}")
    if args.list:
        for net in suite.SUITE:
            print(f"{net.name:18s} {net.description}")
        return 0
    if args.selfcheck:
        return 0 if selfcheck(tools) else 1

    nets = list(suite.SUITE)
    if args.only:
        unknown = [name for name in args.only if name not in suite.SUITE_BY_NAME]
        if unknown:
            parser.error(f"--only: unknown network(s) {unknown}; see --list")
        nets = [suite.SUITE_BY_NAME[name] for name in args.only]

    info = machine_info()
    started = _dt.datetime.now(_dt.timezone.utc)
    snapshot_dir = None
    if "regionscope" in tools and not args.no_snapshot:
        snapshot_dir = Path(tempfile.mkdtemp(prefix="regionscope-bench-"))
        source, digest = snapshot_regionscope(snapshot_dir)
        info["regionscope_source"] = str(source)
        info["regionscope_sha256"] = digest
        print(f"regionscope snapshot of {source}: sha256 {digest[:16]}", file=sys.stderr)
    try:
        results = _run_suite(nets, tools, args, snapshot_dir)
    finally:
        if snapshot_dir is not None:
            shutil.rmtree(snapshot_dir, ignore_errors=True)
    if snapshot_dir is not None and _digest(source) != digest:
        print(
            "note: regionscope's source changed during the run; the snapshot taken at the "
            "start was measured",
            file=sys.stderr,
        )

    table = format_table(results, tools)
    print(table)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        payload = {
            "date": started.isoformat(timespec="seconds"),
            "machine": info,
            "reps": args.reps,
            "threads": args.threads,
            "warm_up": "small network" if args.cold else "same architecture, other weights",
            "domain": "[-1, 1]^2",
            "results": results,
            "geometric_mean_speedup": geometric_mean_speedup(results, "time_s"),
            "geometric_mean_speedup_cpu": geometric_mean_speedup(results, "cpu_s"),
            "table_markdown": table,
        }
        args.json.write_text(json.dumps(payload, indent=1) + "\n")
        print(f"wrote {args.json}", file=sys.stderr)
    if args.plot:
        plot(results, tools, args.plot)
        print(f"wrote {args.plot}", file=sys.stderr)
    return 0


def _run_suite(
    nets: list[suite.Net],
    tools: tuple[str, ...],
    args: argparse.Namespace,
    pythonpath: Path | None,
) -> list[dict]:
    """Run every network ``args.reps`` times with each tool, alternating tools."""
    results = []
    for net in nets:
        runs: dict[str, list[dict]] = {tool: [] for tool in tools}
        for rep in range(args.reps):
            order = tools if rep % 2 == 0 else tools[::-1]
            for tool in order:
                rec = run_once(tool, net.name, args.seed, args.timeout, args.threads, pythonpath)
                runs[tool].append(rec)
                status = rec.get("error") or (
                    f"{rec['regions']} regions, {_fmt_time(rec['time_s'])}, "
                    f"peak {rec['peak_rss_bytes'] / 2**20:.0f} MB"
                )
                print(f"[{net.name} rep {rep + 1}/{args.reps}] {tool}: {status}", file=sys.stderr)
        oracle = None
        if len(net.widths) == 2 and net.classes is None and net.maxout is None:
            ((weight, bias),) = suite.draw_weights(net, args.seed)
            oracle = suite.arrangement_count(weight, bias)
        results.append(
            {
                "name": net.name,
                "oracle_regions": oracle,
                "architecture": net.description,
                "neurons": net.num_neurons,
                "seed": args.seed,
                "tools": {tool: summarize(runs[tool]) for tool in tools},
            }
        )

    return results


if __name__ == "__main__":
    sys.exit(main())
