"""Real networks on real data (issue 11): regionscope, and regioncam where it can run the case.

Inputs come from the two photographs bundled with scikit-learn
(``sklearn.datasets.load_sample_images()``: no download), cut into 32x32x3
patches scaled to [0, 1] (channels first, as a CNN takes them; flattened
C-major to 3 072 values for an MLP).

Cases (``--cases``, comma-separated):

``mlp``
    A 3072-256-128-10 MLP (ReLU after the two hidden layers, a plain linear
    output) on the plane through three patches of different places; both
    tools.
``segment``
    A [10, 64, 64, 3] MLP on the segment through two random points of R^10
    (``rs.Segment(p, q)``, a quarter of ``|q - p|`` beyond both ends); both
    tools (regioncam's ``Regioncam1D``).
``wide``
    A [2, 1024, 1024] ReLU MLP on the square ``[-1, 1]^2``; both tools.
``cnn-shift``
    The CIFAR-shaped CNN (conv 3->16 3x3 pad 1, batch-norm, ReLU, conv 16->32
    3x3 stride 2 pad 1, ReLU, max-pool 2, linear 2048->64, ReLU, linear 64->10)
    on the plane through a patch and its two 1-pixel shifts (same photograph,
    patches at (r, c), (r, c+1), (r+1, c)); regionscope only.
``cnn-full``
    The same CNN on the plane through the three patches of ``mlp``;
    regionscope only (``--window`` is passed to ``rs.Plane`` when it takes it).
``cnn-shift-relu1``, ``cnn-full-relu1``
    Only the CNN's first ReLU layer (``until="relu1"``) on those planes: its
    regions must equal the exact count printed at the start.

Weights are fixed by ``--seed``.  The MLPs are He-initialised: weights and
biases normal with standard deviation ``sqrt(2 / fan_in)`` (biases too, so
that the lines of the first layer of ``wide`` do not all pass through the
origin).  The CNN has PyTorch's default initialisation (after
``torch.manual_seed(seed)``) and batch-norm in evaluation mode with
non-trivial running statistics.  Both tools get the same float64 arrays
(regioncam casts them to float32, the only dtype it takes).

The same plane for both tools.  regionscope's ``rs.Plane(points)`` is the
rectangle of plane coordinates around the three points (margin 0.25).
regioncam computes on the square ``[-1, 1]^2`` (``Regioncam(1.0)``) followed
by a linear layer onto R^3072 (what ``Regioncam.through_points`` does, for
its own square); that layer maps the square onto regionscope's rectangle, an
affine bijection, so both tools cut the same set of inputs and their region
counts must agree.  The segment is mapped the same way from regioncam's
``Regioncam1D(2.0)`` interval ``[-1, 1]``.

How it measures (as ``bench/compare.py``): every run is a fresh subprocess
(``real_networks.py --worker TOOL CASE SEED DATA``) that builds the network,
partitions a tiny one first (imports and first calls are not timed), then
times the partition call with ``time.perf_counter`` (wall) and
``time.process_time`` (CPU of the process, all threads).  The parent reads the
child's peak resident set size from ``os.wait4`` (also for a run killed at
the timeout), and the worker the memory the call itself added (VmHWM reset
before the call).  Tools alternate within each repetition and the one going
first alternates between repetitions; tables show medians over ``--reps``.
A run over ``--timeout`` seconds or ``--max-rss-gb`` of memory is killed;
for regionscope the table then shows where it got to (its progress bar:
units cut of the total, the layer, the regions so far).  Workers run with one
BLAS/OpenMP thread (``--threads``) and import a copy of regionscope made at
the start (``--no-snapshot`` turns this off), so the code measured does not
change during a run; ``--git REV`` copies it from a commit instead of the
working tree (``git archive``, which changes nothing in the repository).

Before the runs, the exact number of regions of the CNN's first ReLU layer
alone on both planes (and of the first layers of ``mlp`` and ``wide``) is
computed independently: its units are affine on the plane, so they are
lines, and for lines in general position a convex window is cut into
``1 + L + P`` regions (``L`` lines meeting the open window, ``P`` pairwise
crossings inside it).

Usage::

    python bench/real_networks.py --cases mlp,segment,wide,cnn-shift,cnn-full \\
        --reps 3 --timeout 600 --json out.json
    python bench/real_networks.py --cases cnn-shift --reps 1 --timeout 120
    python bench/real_networks.py --first-layer-only
"""

from __future__ import annotations

import argparse
import ast
import datetime as _dt
import hashlib
import json
import os
import re
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import compare  # noqa: E402  (bench/ is not a package; machine info and the snapshot)

REGIONSCOPE, REGIONCAM = "regionscope", "regioncam"
BOTH = (REGIONSCOPE, REGIONCAM)
CASES: dict[str, tuple[str, tuple[str, ...]]] = {
    "mlp": ("3072-256-128-10 MLP, plane through 3 patches", BOTH),
    "segment": ("[10,64,64,3] MLP, segment in R^10", BOTH),
    "wide": ("[2,1024,1024] MLP, box [-1,1]^2", BOTH),
    "cnn-shift": ("CIFAR CNN, plane through a patch and its 1-px shifts", (REGIONSCOPE,)),
    "cnn-full": ("CIFAR CNN, plane through 3 patches", (REGIONSCOPE,)),
    "cnn-shift-relu1": ("CIFAR CNN up to relu1, shift plane", (REGIONSCOPE,)),
    "cnn-full-relu1": ("CIFAR CNN up to relu1, plane through 3 patches", (REGIONSCOPE,)),
}
DEFAULT_CASES = "mlp,segment,wide,cnn-shift,cnn-full"
MLP_WIDTHS = (3072, 256, 128, 10)
SEGMENT_WIDTHS = (10, 64, 64, 3)
WIDE_WIDTHS = (2, 1024, 1024)
PATCH = 32
#: regionscope's region limit in the workers: the timeout and memory are the limits here
MAX_REGIONS = 10**9
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


# --------------------------------------------------------------------------- data


def _textured_positions(image: np.ndarray, rng: np.random.Generator, count: int) -> list:
    """``count`` patch corners among 200 random ones, the most textured (pixel std) first."""
    h, w = image.shape[:2]
    rows = rng.integers(0, h - PATCH - 1, 200)
    cols = rng.integers(0, w - PATCH - 1, 200)
    std = [image[r : r + PATCH, c : c + PATCH].std() for r, c in zip(rows, cols, strict=True)]
    order = np.argsort(std)[::-1]
    picked: list[tuple[int, int]] = []
    for k in order:  # distinct places: at least a patch apart
        r, c = int(rows[k]), int(cols[k])
        if all(abs(r - r2) >= PATCH or abs(c - c2) >= PATCH for r2, c2 in picked):
            picked.append((r, c))
        if len(picked) == count:
            break
    return picked


def _patch(image: np.ndarray, r: int, c: int) -> np.ndarray:
    """The 32x32x3 patch at ``(r, c)`` as (3, 32, 32) float64 in [0, 1]."""
    return image[r : r + PATCH, c : c + PATCH].transpose(2, 0, 1).astype(np.float64) / 255.0


def sample_patches(seed: int) -> dict:
    """Three patches of different places, and a patch with its two 1-pixel shifts.

    Returns
    -------
    dict
        ``full`` (3, 3, 32, 32) float64: two textured patches of the first
        photograph (china.jpg) and one of the second (flower.jpg);
        ``shift`` (3, 3, 32, 32): the patch at (r, c) of china.jpg and those at
        (r, c+1) and (r+1, c); ``where``: their positions, for the record.
    """
    from sklearn.datasets import load_sample_images

    images = load_sample_images().images
    rng = np.random.default_rng(seed)
    (a, b) = _textured_positions(images[0], rng, 2)
    (f,) = _textured_positions(images[1], rng, 1)
    full = np.stack([_patch(images[0], *a), _patch(images[0], *b), _patch(images[1], *f)])
    r, c = a
    shift = np.stack(
        [_patch(images[0], r, c), _patch(images[0], r, c + 1), _patch(images[0], r + 1, c)]
    )
    where = {"full": [["china", *a], ["china", *b], ["flower", *f]], "shift": ["china", r, c]}
    return {"full": full, "shift": shift, "where": where}


def he_mlp(widths: tuple[int, ...], seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """He-initialised layers ``(weight (out, in), bias (out,))``, all std ``sqrt(2/fan_in)``."""
    rng = np.random.default_rng(seed)
    layers = []
    for fan_in, fan_out in zip(widths[:-1], widths[1:], strict=True):
        std = np.sqrt(2.0 / fan_in)
        layers.append((rng.normal(0.0, std, (fan_out, fan_in)), rng.normal(0.0, std, fan_out)))
    return layers


def relu_after(widths: tuple[int, ...], case: str) -> int:
    """How many linear layers are followed by a ReLU (``wide``: all; others: all but the last)."""
    return len(widths) - 1 if case == "wide" else len(widths) - 2


def cifar_cnn(seed: int):
    """The CIFAR-shaped CNN, PyTorch's default init, batch-norm in eval mode with real stats."""
    from collections import OrderedDict

    import torch
    from torch import nn

    torch.manual_seed(seed)
    model = nn.Sequential(
        OrderedDict(
            conv1=nn.Conv2d(3, 16, 3, padding=1),
            bn1=nn.BatchNorm2d(16),
            relu1=nn.ReLU(),
            conv2=nn.Conv2d(16, 32, 3, stride=2, padding=1),
            relu2=nn.ReLU(),
            pool=nn.MaxPool2d(2),
            flatten=nn.Flatten(),
            fc1=nn.Linear(2048, 64),
            relu3=nn.ReLU(),
            fc2=nn.Linear(64, 10),
        )
    )
    g = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():
        bn = model.bn1
        bn.running_mean.copy_(0.1 * torch.randn(16, generator=g))
        bn.running_var.copy_(0.5 + torch.rand(16, generator=g))
        bn.weight.copy_(1.0 + 0.1 * torch.randn(16, generator=g))
        bn.bias.copy_(0.1 * torch.randn(16, generator=g))
    return model.eval()


# --------------------------------------------------------------------------- geometry


def plane_frame(points: np.ndarray) -> dict:
    """regionscope's plane through ``points``: origin, basis, and its window (rectangle).

    Also the map of regioncam's square ``[-1, 1]^2`` onto that window, lifted to
    the inputs: ``x = v @ lift_weight + lift_bias`` for ``v`` in the square.
    """
    import regionscope as rs

    plane = rs.Plane(points)
    lo, hi = plane.polygon.min(axis=0), plane.polygon.max(axis=0)
    center, half = (lo + hi) / 2, (hi - lo) / 2
    return {
        "origin": plane.origin,
        "basis": plane.basis,
        "window": np.array([lo[0], hi[0], lo[1], hi[1]]),
        "lift_weight": half[:, None] * plane.basis,
        "lift_bias": plane.origin + center @ plane.basis,
    }


def segment_frame(p: np.ndarray, q: np.ndarray) -> dict:
    """regionscope's ``Segment(p, q)`` and the map of regioncam's ``[-1, 1]`` onto it."""
    import regionscope as rs

    seg = rs.Segment(p, q)
    center, half = (seg.lo + seg.hi) / 2, (seg.hi - seg.lo) / 2
    return {
        "lift_weight": (half * seg.direction)[None, :],
        "lift_bias": seg.p + center * seg.direction,
    }


def line_arrangement(normals: np.ndarray, offsets: np.ndarray, window: np.ndarray) -> dict:
    """Regions cut from a rectangle by the lines ``normals @ u + offsets = 0``, exactly.

    For lines in general position (none parallel, no three through a point),
    Euler's formula gives ``1 + L + P`` regions inside a convex window: ``L``
    lines meeting the open window and ``P`` pairwise crossings strictly inside.

    Parameters
    ----------
    normals : (n, 2) float64
    offsets : (n,) float64
    window : (4,) float64
        ``xmin, xmax, ymin, ymax``.

    Returns
    -------
    dict
        ``units`` n, ``crossing`` L, ``crossings`` P, ``regions`` 1 + L + P.
    """
    x0, x1, y0, y1 = window
    corners = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]])
    values = corners @ normals.T + offsets  # (4, n)
    cross = (values.min(axis=0) < 0) & (values.max(axis=0) > 0)
    a, b = normals[cross], offsets[cross]
    n = len(b)
    inside = 0
    block = max(1, 4_000_000 // max(n, 1))
    for i0 in range(0, n, block):
        i = np.arange(i0, min(i0 + block, n))[:, None]
        det = a[i, 0] * a[None, :, 1] - a[i, 1] * a[None, :, 0]
        with np.errstate(divide="ignore", invalid="ignore"):
            x = (b[None, :] * a[i, 1] - b[i] * a[None, :, 1]) / det
            y = (b[i] * a[None, :, 0] - b[None, :] * a[i, 0]) / det
        ok = (x > x0) & (x < x1) & (y > y0) & (y < y1) & (np.arange(n)[None, :] > i)
        inside += int(np.count_nonzero(ok))
    return {
        "units": int(len(offsets)),
        "crossing": n,
        "crossings": inside,
        "regions": 1 + n + inside,
    }


def cnn_first_layer_lines(model, frame: dict) -> tuple[np.ndarray, np.ndarray]:
    """The first ReLU's pre-activations (conv1 + bn1) on the plane as lines ``(n, 2), (n,)``."""
    import torch

    first = torch.nn.Sequential(model.conv1, model.bn1).double().eval()
    pts = np.stack(
        [frame["origin"], frame["origin"] + frame["basis"][0], frame["origin"] + frame["basis"][1]]
    )
    with torch.no_grad():
        out = first(torch.from_numpy(pts.reshape(3, 3, PATCH, PATCH))).numpy().reshape(3, -1)
    return np.stack([out[1] - out[0], out[2] - out[0]], axis=1), out[0]


def first_layer_counts(data: dict, seed: int) -> list[dict]:
    """Exact region counts of the first ReLU layer of the CNN, ``mlp`` and ``wide``."""
    rows = []
    model = cifar_cnn(seed)
    for key, label in (
        ("full", "CNN relu1, plane through 3 patches"),
        ("shift", "CNN relu1, 1-px shifts"),
    ):
        frame = plane_frame(data[key])
        normals, offsets = cnn_first_layer_lines(model, frame)
        rows.append({"what": label, **line_arrangement(normals, offsets, frame["window"])})
    frame = plane_frame(data["full"])
    w, b = he_mlp(MLP_WIDTHS, seed)[0]
    rows.append(
        {
            "what": "mlp layer 1, plane through 3 patches",
            **line_arrangement(w @ frame["basis"].T, w @ frame["origin"] + b, frame["window"]),
        }
    )
    w, b = he_mlp(WIDE_WIDTHS, seed)[0]
    rows.append(
        {
            "what": "wide layer 1, box [-1,1]^2",
            **line_arrangement(w, b, np.array([-1.0, 1, -1, 1])),
        }
    )
    return rows


# --------------------------------------------------------------------------- worker


def _rs_mlp(layers: list, relus: int):
    import regionscope as rs

    ops: list = []
    for k, (w, b) in enumerate(layers):
        ops.append(rs.Linear(w, b))
        if k < relus:
            ops.append(rs.ReLU())
    return rs.Sequential(*ops)


def _rc_apply(cam, layers: list, relus: int) -> None:
    for k, (w, b) in enumerate(layers):
        cam.linear(np.ascontiguousarray(w.T, dtype=np.float32), np.asarray(b, dtype=np.float32))
        if k < relus:
            cam.relu()


def _warm_up(tool: str, torch_too: bool) -> None:
    """A tiny partition (plane and segment too), so that imports and first calls are not timed."""
    layers = he_mlp((5, 8, 8), 12345)
    pts = np.random.default_rng(1).normal(size=(3, 5))
    if tool == REGIONSCOPE:
        import regionscope as rs

        model = _rs_mlp(layers, 2)
        rs.partition(model, rs.Plane(pts))
        rs.partition(model, rs.Segment(pts[0], pts[1]))
        rs.partition(_rs_mlp(he_mlp((2, 8, 8), 1), 2), rs.Box(1.0))
        if torch_too:
            import torch

            conv = torch.nn.Sequential(
                torch.nn.Conv2d(1, 2, 3), torch.nn.ReLU(), torch.nn.MaxPool2d(2)
            )
            rs.partition(conv.eval(), rs.Plane(np.random.default_rng(2).normal(size=(3, 1, 6, 6))))
    else:
        import regioncam

        cam = regioncam.Regioncam(1.0)
        _rc_apply(cam, he_mlp((2, 8, 8), 1), 2)
        cam1 = regioncam.Regioncam1D(2.0)
        _rc_apply(cam1, he_mlp((1, 8, 8), 1), 2)


def _timed(fn):
    """``fn()``'s result, wall and CPU seconds, RSS before and the peak the call added."""
    rss_before = compare._current_rss_bytes()  # noqa: SLF001  (bench helpers, same folder)
    reset = compare._reset_peak_rss()  # noqa: SLF001
    start, cpu = time.perf_counter(), time.process_time()
    out = fn()
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    peak = compare._peak_rss_since_reset() if reset else -1  # noqa: SLF001
    return out, {
        "time_s": elapsed,
        "cpu_s": cpu,
        "rss_before_bytes": rss_before,
        "call_peak_rss_bytes": peak,
    }


def _check_affine(part, forward) -> float:
    """Largest error of the affine maps at regions' centroids, relative to the largest output."""
    a, c = part.affine_maps()
    u = part.centroids() if part.domain.dim == 2 else part.midpoints()[:, None]
    # at most 20 000 regions, at random: the inputs at the centroids are 24 KB each
    keep = np.random.default_rng(0).permutation(len(u))[:20_000]
    got = np.einsum("fij,fj->fi", a[keep], u[keep]) + c[keep]
    want = forward(part.domain.lift(u[keep] if part.domain.dim == 2 else u[keep, 0]))
    return float(np.abs(got - want).max() / max(1.0, np.abs(want).max()))


def _numpy_forward(layers: list, relus: int):
    def forward(x: np.ndarray) -> np.ndarray:
        for k, (w, b) in enumerate(layers):
            x = x @ w.T + b
            if k < relus:
                x = np.maximum(x, 0.0)
        return x

    return forward


def _work_mlp(tool: str, case: str, seed: int, data: dict) -> dict:
    widths = {"mlp": MLP_WIDTHS, "segment": SEGMENT_WIDTHS, "wide": WIDE_WIDTHS}[case]
    layers = he_mlp(widths, seed)
    relus = relu_after(widths, case)
    if tool == REGIONSCOPE:
        import regionscope as rs

        model = _rs_mlp(layers, relus)
        if case == "mlp":
            make = lambda: rs.Plane(data["full"].reshape(3, -1))  # noqa: E731
        elif case == "segment":
            make = lambda: rs.Segment(data["seg_p"], data["seg_q"])  # noqa: E731
        else:
            make = lambda: rs.Box(1.0)  # noqa: E731
        part, record = _timed(
            lambda: rs.partition(model, make(), progress=True, max_regions=MAX_REGIONS)
        )
        record["regions"] = int(part.num_regions)
        record["layer_seconds"] = {
            str(k): v for k, v in part.timings.get("layer_seconds", {}).items()
        }
        if case != "wide":  # wide: 1024 outputs, the affine maps alone would be 16 KB a region
            record["affine_error"] = _check_affine(part, _numpy_forward(layers, relus))
        return record
    import regioncam

    def run() -> int:
        if case == "segment":
            cam = regioncam.Regioncam1D(2.0)
        else:
            cam = regioncam.Regioncam(1.0)
        if case != "wide":
            key = "full" if case == "mlp" else "seg"
            cam.linear(
                np.ascontiguousarray(data[f"{key}_lift_weight"], dtype=np.float32),
                np.asarray(data[f"{key}_lift_bias"], dtype=np.float32),
            )
        _rc_apply(cam, layers, relus)
        return int(cam.num_edges if case == "segment" else cam.num_faces)

    regions, record = _timed(run)
    record["regions"] = regions
    return record


def _work_cnn(case: str, seed: int, data: dict, window: str | None) -> dict:
    import torch

    import regionscope as rs
    from regionscope.network.torch_import import convert

    torch.set_num_threads(max(1, int(os.environ.get("OMP_NUM_THREADS", "1"))))
    model = cifar_cnn(seed)
    until = "relu1" if case.endswith("-relu1") else None
    start = time.perf_counter()
    graph = convert(model, (3, PATCH, PATCH), until=until)
    convert_s = time.perf_counter() - start
    points = data["shift" if case.startswith("cnn-shift") else "full"]
    kwargs = {}
    if window is not None and case.startswith("cnn-full"):
        import inspect

        if "window" not in inspect.signature(rs.Plane).parameters:
            raise RuntimeError("--window: this regionscope's Plane takes no window")
        kwargs["window"] = ast.literal_eval(window)
    plane = rs.Plane(points, **kwargs)
    print(
        f"plane window {plane.polygon.min(axis=0)} .. {plane.polygon.max(axis=0)}", file=sys.stderr
    )
    part, record = _timed(
        lambda: rs.partition(graph, plane, progress=True, max_regions=MAX_REGIONS)
    )
    record["convert_s"] = convert_s
    record["regions"] = int(part.num_regions)
    record["layer_seconds"] = {str(k): v for k, v in part.timings.get("layer_seconds", {}).items()}
    if until is None:
        ref = model.double()

        def forward(x: np.ndarray) -> np.ndarray:
            with torch.no_grad():
                return ref(torch.from_numpy(x.reshape(len(x), 3, PATCH, PATCH))).numpy()

        record["affine_error"] = _check_affine(part, forward)
    return record


def worker(tool: str, case: str, seed: int, data_path: str, window: str | None) -> None:
    """Time one partition of ``case`` by ``tool``; print one JSON line on stdout."""
    with np.load(data_path) as f:
        data = {k: f[k] for k in f.files}
    cnn = case.startswith("cnn")
    _warm_up(tool, torch_too=cnn)
    if cnn:
        record = _work_cnn(case, seed, data, window)
    else:
        record = _work_mlp(tool, case, seed, data)
    module = __import__(tool)
    record.update(
        {
            "tool": tool,
            "case": case,
            "seed": seed,
            "self_peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
            "module_file": module.__file__,
        }
    )
    print(json.dumps(record), flush=True)


# --------------------------------------------------------------------------- parent

PROGRESS_TQDM = re.compile(r"(\d+)/(\d+) \[[^\]]*?(layer [^:\]]+): (\d+) regions\]")
PROGRESS_LINE = re.compile(r"regionscope: (layer [^:]+): (\d+) regions")


class _Stderr(threading.Thread):
    """Reads a worker's stderr, keeping the last progress report and when it came."""

    def __init__(self, stream, start: float) -> None:
        super().__init__(daemon=True)
        self.stream, self.start_time = stream, start
        self.text: list[str] = []
        self.progress: dict | None = None

    def run(self) -> None:
        buffer = ""
        for chunk in iter(lambda: self.stream.read1(65536), b""):
            buffer += chunk.decode(errors="replace")
            *lines, buffer = re.split(r"[\r\n]", buffer)
            for line in lines:
                self._line(line)
        self._line(buffer)

    def _line(self, line: str) -> None:
        if not line.strip():
            return
        m = PROGRESS_TQDM.search(line)
        if m:
            state = {
                "units_done": int(m.group(1)),
                "units_total": int(m.group(2)),
                "layer": m.group(3),
                "regions": int(m.group(4)),
            }
        else:
            m = PROGRESS_LINE.search(line)
            state = {"layer": m.group(1), "regions": int(m.group(2))} if m else None
        if state is not None:
            # tqdm redraws the same state now and then: keep when it was first reached
            if self.progress is None or any(self.progress[k] != v for k, v in state.items()):
                self.progress = {**state, "at_s": time.perf_counter() - self.start_time}
            return
        if "regionscope:" not in line:
            self.text.append(line)
            del self.text[:-40]


def _rss_bytes(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return -1


def run_once(tool: str, case: str, args: argparse.Namespace, data_path: Path, pythonpath) -> dict:
    """One worker subprocess, killed beyond the timeout or the memory limit."""
    cmd = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--worker",
        tool,
        case,
        str(args.seed),
        str(data_path),
    ]
    if args.window is not None:
        cmd += ["--window", args.window]
    env = compare._worker_env(args.threads, pythonpath)  # noqa: SLF001
    limit = args.max_rss_gb * 2**30
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    reader = _Stderr(proc.stderr, start)
    reader.start()
    stopped: list[str] = []
    exited = threading.Event()
    lock = threading.Lock()

    def watch() -> None:
        # the child is reaped only by wait4 below, after ``exited`` is set under the lock,
        # so the pid killed here is always the child's
        while not exited.wait(0.25):
            elapsed = time.perf_counter() - start
            if elapsed > args.timeout:
                stopped.append(f"timed out after {args.timeout:.0f} s")
            elif _rss_bytes(proc.pid) > limit:
                stopped.append(
                    f"killed beyond {args.max_rss_gb:g} GB of memory at {elapsed:.0f} s"
                )
            if stopped:
                with lock:
                    if not exited.is_set():
                        os.kill(proc.pid, signal.SIGKILL)
                return

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    stdout = proc.stdout.read().decode(errors="replace")
    os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOWAIT)  # exited, not reaped yet
    with lock:
        exited.set()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - start
    watcher.join(timeout=1)
    reader.join(timeout=5)
    record: dict = {
        "tool": tool,
        "case": case,
        "seed": args.seed,
        "wall_s": wall,
        "child_cpu_s": usage.ru_utime + usage.ru_stime,
        "peak_rss_bytes": usage.ru_maxrss * 1024,
    }
    if reader.progress is not None:
        record["progress"] = reader.progress
    if stopped:
        record["error"] = stopped[0]
        return record
    if proc.returncode != 0:
        record["error"] = f"exit {proc.returncode}: " + " | ".join(
            reader.text[-3:] or ["(no stderr)"]
        )
        return record
    try:
        record.update(json.loads(stdout.strip().splitlines()[-1]))
    except (IndexError, json.JSONDecodeError):
        record["error"] = f"unreadable worker output: {stdout[-200:]!r}"
    return record


def summarize(runs: list[dict]) -> dict:
    """Medians over the successful runs; the counts seen; the furthest progress of failed ones."""
    ok = [r for r in runs if "error" not in r]
    out: dict = {"runs": runs, "ok": len(ok), "failed": len(runs) - len(ok)}
    if not ok:
        out["error"] = runs[-1].get("error", "no run") if runs else "no run"
        progress = [r["progress"] for r in runs if "progress" in r]
        if progress:
            out["progress"] = max(progress, key=lambda p: (p.get("units_done", 0), p["regions"]))
        out["peak_rss_mb"] = statistics.median(r["peak_rss_bytes"] for r in runs) / 2**20
        return out
    out["regions"] = statistics.median_low([r["regions"] for r in ok])
    out["regions_seen"] = sorted({r["regions"] for r in ok})
    for key in ("time_s", "cpu_s", "convert_s"):
        if all(key in r for r in ok):
            out[key] = statistics.median(r[key] for r in ok)
    out["time_range_s"] = [min(r["time_s"] for r in ok), max(r["time_s"] for r in ok)]
    # peak RSS during the call (VmHWM reset before it), else of the whole worker process
    peaks = [
        r["call_peak_rss_bytes"] if r.get("call_peak_rss_bytes", -1) >= 0 else r["peak_rss_bytes"]
        for r in ok
    ]
    out["peak_rss_mb"] = statistics.median(peaks) / 2**20
    out["process_peak_rss_mb"] = statistics.median(r["peak_rss_bytes"] for r in ok) / 2**20
    added = [
        r["call_peak_rss_bytes"] - r["rss_before_bytes"]
        for r in ok
        if r.get("call_peak_rss_bytes", -1) >= 0
    ]
    if added:
        out["call_mb"] = statistics.median(added) / 2**20
    errors = [r["affine_error"] for r in ok if "affine_error" in r]
    if errors:
        out["affine_error"] = max(errors)
    return out


def _fmt_s(s: float | None) -> str:
    if s is None:
        return "-"
    return f"{s * 1000:.0f} ms" if s < 1 else f"{s:.2f} s"


def _progress_text(p: dict) -> str:
    done = f"{p['units_done']}/{p['units_total']} units, " if "units_done" in p else ""
    return f"{done}{p['layer']}, {p['regions']} regions at {p['at_s']:.0f} s"


def format_table(results: list[dict]) -> str:
    """Markdown: one row per case and tool."""
    head = [
        "case", "tool", "regions", "time (CPU)", "per region", "peak RSS in the call",
        "added by the call", "affine maps at centroids", "status",
    ]  # fmt: skip
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for res in results:
        for tool, s in res["tools"].items():
            if "regions" in s:
                seen = s["regions_seen"]
                regions = str(s["regions"]) + ("" if len(seen) == 1 else f" (seen {seen})")
                t = f"{_fmt_s(s.get('time_s'))} ({_fmt_s(s.get('cpu_s'))})"
                per = f"{s['time_s'] / max(s['regions'], 1) * 1e6:.1f} µs"
                status = f"ok {s['ok']}/{s['ok'] + s['failed']}"
                if "convert_s" in s:
                    status += f", conversion {_fmt_s(s['convert_s'])}"
            else:
                regions, t, per = "-", "-", "-"
                status = s.get("error", "-")
                if "progress" in s:
                    status += f"; got to {_progress_text(s['progress'])}"
            err = f"{s['affine_error']:.1e}" if "affine_error" in s else "-"
            row = [
                f"`{res['case']}`",
                tool,
                regions,
                t,
                per,
                f"{s['peak_rss_mb']:.0f} MB" if "peak_rss_mb" in s else "-",
                f"{s['call_mb']:.0f} MB" if "call_mb" in s else "-",
                err,
                status,
            ]
            lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def format_first_layer(rows: list[dict]) -> str:
    head = [
        "first ReLU layer alone",
        "units",
        "lines crossing the window",
        "crossings inside",
        "regions (1+L+P)",
    ]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        lines.append(
            f"| {r['what']} | {r['units']} | {r['crossing']} | {r['crossings']} | {r['regions']} |"
        )
    return "\n".join(lines)


def _digest(package: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(package.rglob("*.py")):
        if "__pycache__" not in path.parts:
            digest.update(path.relative_to(package).as_posix().encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def _snapshot_commit(rev: str, folder: Path) -> tuple[Path, str]:
    """Copy ``src/regionscope`` as committed in ``rev`` into ``folder``; its commit hash."""
    root = Path(__file__).resolve().parent.parent
    git = ["git", "-C", str(root)]
    commit = subprocess.run(
        [*git, "rev-parse", "--verify", f"{rev}^{{commit}}"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    archive = subprocess.run(
        [*git, "archive", "--format=tar", commit, "src/regionscope"],
        check=True,
        capture_output=True,
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
    shutil.move(str(folder / "src" / "regionscope"), str(folder / "regionscope"))
    return root / "src" / "regionscope", commit


def _write_data(data: dict, seed: int, folder: Path) -> Path:
    """The inputs every worker reads: patches, the segment, the lifts for regioncam."""
    rng = np.random.default_rng(seed + 7)
    p, q = rng.normal(size=(2, SEGMENT_WIDTHS[0]))
    full, seg = plane_frame(data["full"]), segment_frame(p, q)
    path = folder / "inputs.npz"
    np.savez(
        path,
        full=data["full"],
        shift=data["shift"],
        seg_p=p,
        seg_q=q,
        full_lift_weight=full["lift_weight"],
        full_lift_bias=full["lift_bias"],
        seg_lift_weight=seg["lift_weight"],
        seg_lift_bias=seg["lift_bias"],
    )
    return path


def prepare(folder: Path, seed: int) -> None:
    """Write the workers' ``inputs.npz`` and ``prepared.json`` (exact counts) in ``folder``."""
    start = time.perf_counter()
    data = sample_patches(seed)
    first = first_layer_counts(data, seed)
    seconds = time.perf_counter() - start
    _write_data(data, seed, folder)
    record = {"where": data["where"], "first_layer": first, "seconds": seconds}
    (folder / "prepared.json").write_text(json.dumps(record))


def _run_cases(
    cases: list[str], args: argparse.Namespace, data_path: Path, pythonpath
) -> list[dict]:
    results = []
    for case in cases:
        tools = [t for t in CASES[case][1] if t in args.tools]
        runs: dict[str, list[dict]] = {t: [] for t in tools}
        for rep in range(args.reps):
            for tool in tools if rep % 2 == 0 else tools[::-1]:
                rec = run_once(tool, case, args, data_path, pythonpath)
                runs[tool].append(rec)
                if "error" in rec:
                    status = rec["error"]
                    if "progress" in rec:
                        status += f"; got to {_progress_text(rec['progress'])}"
                else:
                    status = f"{rec['regions']} regions, {_fmt_s(rec['time_s'])}"
                status += f", peak {rec['peak_rss_bytes'] / 2**20:.0f} MB"
                print(f"[{case} rep {rep + 1}/{args.reps}] {tool}: {status}", file=sys.stderr)
        results.append(
            {
                "case": case,
                "description": CASES[case][0],
                "tools": {t: summarize(runs[t]) for t in tools},
            }
        )
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--worker", nargs=4, metavar=("TOOL", "CASE", "SEED", "DATA"), help=argparse.SUPPRESS
    )
    parser.add_argument("--prepare", nargs=2, metavar=("FOLDER", "SEED"), help=argparse.SUPPRESS)
    parser.add_argument(
        "--cases",
        default=DEFAULT_CASES,
        help=f"comma-separated (default {DEFAULT_CASES}); all: {','.join(CASES)}",
    )
    parser.add_argument("--reps", type=int, default=3, help="repetitions per tool (default 3)")
    parser.add_argument(
        "--tools", default=",".join(BOTH), help="comma-separated tools (default both)"
    )
    parser.add_argument("--seed", type=int, default=0, help="weights and patches (default 0)")
    parser.add_argument(
        "--timeout", type=float, default=600.0, help="seconds per run (default 600)"
    )
    parser.add_argument(
        "--max-rss-gb", type=float, default=12.0, help="kill a run beyond this memory (default 12)"
    )
    parser.add_argument(
        "--window", help="for cnn-full: passed to rs.Plane(..., window=) (a Python literal)"
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="BLAS/OpenMP threads per worker (default 1; 0 leaves the environment)",
    )
    parser.add_argument("--json", type=Path, help="write the results here")
    parser.add_argument(
        "--no-snapshot", action="store_true", help="import regionscope where it is installed"
    )
    parser.add_argument(
        "--git", metavar="REV", help="measure regionscope as committed in REV (git archive)"
    )
    parser.add_argument(
        "--first-layer-only",
        action="store_true",
        help="print the exact first-layer counts and exit",
    )
    args = parser.parse_args(argv)
    if args.worker:
        tool, case, seed, data = args.worker
        worker(tool, case, int(seed), data, args.window)
        return 0
    if args.prepare:
        prepare(Path(args.prepare[0]), int(args.prepare[1]))
        return 0
    cases = [c.strip() for c in args.cases.split(",") if c.strip()]
    unknown = [c for c in cases if c not in CASES]
    if unknown:
        parser.error(f"--cases: unknown {unknown}; choose from {', '.join(CASES)}")
    args.tools = tuple(t.strip() for t in args.tools.split(",") if t.strip())
    if any(t not in BOTH for t in args.tools):
        parser.error(f"--tools: choose from {', '.join(BOTH)}")
    if args.reps < 1:
        parser.error("--reps must be at least 1")

    started = _dt.datetime.now(_dt.timezone.utc)
    info = compare.machine_info()
    folder = Path(tempfile.mkdtemp(prefix="regionscope-real-"))
    pythonpath = None
    try:
        if args.git:
            source, digest = _snapshot_commit(args.git, folder)
            pythonpath = folder
            info["regionscope_commit"] = digest
            print(f"regionscope as committed in {args.git}: {digest}", file=sys.stderr)
        elif not args.no_snapshot:
            source, digest = compare.snapshot_regionscope(folder)
            pythonpath = folder
            info["regionscope_source"], info["regionscope_sha256"] = str(source), digest
            print(f"regionscope snapshot of {source}: sha256 {digest[:16]}", file=sys.stderr)
        # the inputs and the exact counts in a child process: the parent stays small, so the
        # peak memory (ru_maxrss) of the workers it starts is theirs alone
        env = compare._worker_env(args.threads, pythonpath)  # noqa: SLF001
        here = str(Path(__file__).resolve())
        cmd = [sys.executable, here, "--prepare", str(folder), str(args.seed)]
        subprocess.run(cmd, check=True, env=env)
        prepared = json.loads((folder / "prepared.json").read_text())
        first, first_table = prepared["first_layer"], format_first_layer(prepared["first_layer"])
        print(f"{first_table}\n\n(exact counts in {prepared['seconds']:.1f} s)\n", flush=True)
        if args.first_layer_only:
            return 0
        results = _run_cases(cases, args, folder / "inputs.npz", pythonpath)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    if pythonpath is not None and not args.git and _digest(source) != digest:
        print(
            "note: regionscope's source changed during the run; the snapshot was measured",
            file=sys.stderr,
        )
    table = format_table(results)
    print(table)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        payload = {
            "date": started.isoformat(timespec="seconds"),
            "machine": info,
            "args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
            "patches": prepared["where"],
            "first_layer": first,
            "results": results,
            "table_markdown": table,
            "first_layer_markdown": first_table,
        }
        args.json.write_text(json.dumps(payload, indent=1) + "\n")
        print(f"wrote {args.json}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
