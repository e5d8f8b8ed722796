"""The ``regionscope`` command line.

Subcommands
-----------
``regionscope demo [--out regions.png] [--size W H]``
    Partition a built-in network (fixed seed, no downloads) and draw it.
``regionscope render MODEL --domain SPEC --out FILE [style options]``
    Partition a saved model and draw it (``.svg``, ``.png``, ``.pdf`` or
    ``.html`` from the extension of ``FILE``).
``regionscope view MODEL --domain SPEC --out page.html``
    Partition a saved model and write the interactive viewer: one HTML file
    that opens from disk (hover a region for its pattern and affine map).
``regionscope lab01 --out DIR``
    Run the first lab (see :mod:`regionscope.lab`).

Loading never runs code from a file: ``.npz`` files are read with
``allow_pickle=False`` and torch files with ``weights_only=True``; a whole
pickled torch model (``torch.save(model)``) needs ``--trust-pickle``.
TorchScript archives and ``torch.export`` programs are refused: they hold
compiled graphs that ``torch.fx`` cannot trace back into layers.

Bad arguments print one line on stderr and exit with status 2.

Examples
--------
>>> from regionscope.cli import main
>>> main(["render"])
2
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

import numpy as np

__all__ = ["main", "demo_network", "load_npz_mlp", "parse_domain"]


class _UsageError(Exception):
    """Bad command-line input (exit status 2)."""

    def __init__(self, message: str, prefixed: bool = False) -> None:
        super().__init__(message)
        self.prefixed = prefixed


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line (no usage dump)."""

    def error(self, message: str) -> NoReturn:
        raise _UsageError(f"{self.prog}: error: {message} (see '{self.prog} --help')", True)


def demo_network(seed: int = 0) -> Any:
    """The demo network: a fixed-seed ``[2, 32, 32, 32]`` ReLU MLP, 3 logits, then Argmax.

    Weights are drawn with He scaling (``N(0, 2 / fan_in)``) and biases
    ``N(0, 0.3^2)`` from ``numpy.random.default_rng(seed)``.

    Examples
    --------
    >>> net = demo_network()
    >>> net.forward(np.zeros((1, 2))).shape
    (1, 3)
    """
    from .network import layers as L

    rng = np.random.default_rng(seed)
    widths = [2, 32, 32, 32]
    mods: list[Any] = []
    for a, b in zip(widths[:-1], widths[1:], strict=True):
        mods += [
            L.Linear(rng.normal(0.0, np.sqrt(2.0 / a), (b, a)), rng.normal(0.0, 0.3, b)),
            L.ReLU(),
        ]
    mods += [L.Linear(rng.normal(0.0, np.sqrt(1.0 / widths[-1]), (3, widths[-1])), np.zeros(3))]
    mods.append(L.Argmax())
    return L.Sequential(*mods)


def load_npz_mlp(path: str | Path) -> Any:
    """Read a ReLU MLP from an ``.npz`` of ``W0, b0, W1, b1, ...`` (+ optional ``argmax``).

    ``Wi`` has shape ``(out, in)`` (as ``torch.nn.Linear.weight``), ``bi``
    ``(out,)`` (optional).  A ReLU follows every linear layer but the last;
    a true scalar ``argmax`` appends :class:`~regionscope.Argmax`.  The file
    is read with ``allow_pickle=False``.
    """
    from .network import layers as L

    with np.load(path, allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files}
    n = 0
    while f"W{n}" in arrays:
        n += 1
    if n == 0:
        raise ValueError(
            f"{path}: no weights found; expected arrays W0, b0, W1, b1, ... (got keys "
            f"{sorted(arrays)})"
        )
    extra = set(arrays) - {f"W{i}" for i in range(n)} - {f"b{i}" for i in range(n)} - {"argmax"}
    if extra:
        raise ValueError(f"{path}: unexpected arrays {sorted(extra)} (after W0..W{n - 1})")
    mods: list[Any] = []
    for i in range(n):
        try:
            mods.append(L.Linear(arrays[f"W{i}"], arrays.get(f"b{i}")))
        except ValueError as exc:
            raise ValueError(f"{path}: layer W{i}: {exc}") from None
        if i < n - 1:
            mods.append(L.ReLU())
    if "argmax" in arrays and bool(np.asarray(arrays["argmax"]).reshape(())):
        mods.append(L.Argmax())
    return L.Sequential(*mods)


def _load_torch(path: Path, trust_pickle: bool) -> Any:
    try:
        import torch
    except ImportError:
        raise ValueError(f"{path}: reading torch files needs torch installed") from None
    import zipfile

    compiled = path.suffix == ".pt2"
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as zf:
            names = zf.namelist()
        compiled |= any(n.endswith("constants.pkl") or "/code/" in n for n in names)
    if compiled:
        raise ValueError(
            f"{path}: TorchScript and torch.export files cannot be converted (torch.fx cannot "
            "trace compiled graphs); save the module itself with torch.save(model) and pass "
            "--trust-pickle, or save a regionscope model with regionscope.io.save_model"
        )
    try:
        obj = torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as exc:  # an unpicklable-without-code file
        if not trust_pickle:
            raise ValueError(
                f"{path}: not loadable with weights_only=True ({type(exc).__name__}); if it "
                "is a whole pickled model from a source you trust, pass --trust-pickle"
            ) from None
        obj = torch.load(str(path), map_location="cpu", weights_only=False)
    if isinstance(obj, torch.nn.Module):
        return obj
    if isinstance(obj, dict):
        raise ValueError(
            f"{path}: a state dict has no architecture; save the module itself with "
            "torch.save(model) and pass --trust-pickle, or save an .npz of W0, b0, W1, ..."
        )
    raise ValueError(f"{path}: holds a {type(obj).__name__}, not a model")


def load_model(path: str | Path, *, trust_pickle: bool = False) -> Any:
    """Load a model for the CLI (see the module docstring for what is accepted).

    ``.npz`` files hold either a model written by :func:`regionscope.io.save_model`
    (or a saved partition) or the simple ``W0, b0, W1, ...`` layout of
    :func:`load_npz_mlp`; other files are torch files.
    """
    p = Path(path)
    if not p.is_file():
        raise ValueError(f"model file {str(p)!r} does not exist")
    if p.suffix == ".npz":
        with np.load(p, allow_pickle=False) as data:
            keys = set(data.files)
        if "W0" in keys:
            return load_npz_mlp(p)
        if "model" in keys:
            from . import io as rs_io

            return rs_io.load_model(p)
        raise ValueError(
            f"{p}: neither a regionscope model (regionscope.io.save_model) nor an npz of "
            f"W0, b0, W1, b1, ... (keys: {sorted(keys)[:8]})"
        )
    return _load_torch(p, trust_pickle)


def parse_domain(spec: str) -> Any:
    """Parse ``box:H``, ``box:XMIN,XMAX,YMIN,YMAX``, ``polygon:X0,Y0,X1,Y1,...``,
    ``interval:A,B``, ``plane:POINTS.npy`` (three inputs), ``segment:POINTS.npy`` (two
    inputs) or ``segment:P0,P1,...:Q0,Q1,...`` (two points of the input space).

    Examples
    --------
    >>> parse_domain("box:0,2,0,1").bounds
    (0.0, 2.0, 0.0, 1.0)
    >>> seg = parse_domain("segment:0,0:3,4")
    >>> seg.p.tolist(), seg.q.tolist()
    ([0.0, 0.0], [3.0, 4.0])
    """
    from . import domains

    kind, sep, rest = spec.partition(":")
    kind = kind.strip().lower()
    if not sep or not rest:
        raise _UsageError(
            f"--domain must look like box:1.0, box:xmin,xmax,ymin,ymax, plane:POINTS.npy or "
            f"segment:P.npy, got {spec!r}"
        )

    def numbers(text: str = rest) -> list[float]:
        try:
            return [float(v) for v in text.split(",")]
        except ValueError:
            raise _UsageError(f"--domain {kind}: expected numbers, got {text!r}") from None

    if kind == "box":
        return domains.Box(*numbers())
    if kind == "polygon":
        vals = numbers()
        if len(vals) % 2:
            raise _UsageError("--domain polygon: needs an even number of coordinates")
        return domains.Polygon(np.reshape(vals, (-1, 2)))
    if kind == "interval":
        return domains.Interval(*numbers())
    if kind == "plane":
        pts = np.load(rest, allow_pickle=False)
        return domains.Plane(pts)
    if kind == "segment":
        return _parse_segment(rest)
    raise _UsageError(
        f"--domain kind must be box, polygon, interval, plane or segment, got {kind!r}"
    )


def _parse_segment(rest: str) -> Any:
    """``segment:POINTS.npy`` (shape ``(2, ...)``) or ``segment:P0,P1,...:Q0,Q1,...``."""
    from . import domains

    if rest.endswith(".npy"):
        pts = np.load(rest, allow_pickle=False)
        if pts.ndim < 2 or pts.shape[0] != 2:
            raise _UsageError(
                f"--domain segment: {rest} must hold 2 inputs, got shape {pts.shape}"
            )
        return domains.Segment(pts[0], pts[1])
    ends = rest.split(":")
    if len(ends) != 2:
        raise _UsageError(
            f"--domain segment: expected P.npy or P0,P1,...:Q0,Q1,... (two points), got {rest!r}"
        )
    try:
        p, q = ([float(v) for v in end.split(",")] for end in ends)
    except ValueError:
        raise _UsageError(f"--domain segment: expected numbers, got {rest!r}") from None
    return domains.Segment(p, q)


def _add_style_args(p: argparse.ArgumentParser, size: bool = True) -> None:
    g = p.add_argument_group("style")
    if size:
        g.add_argument(
            "--size", type=int, nargs="+", metavar="PX", help="width [height] in pixels"
        )
    g.add_argument(
        "--color-by",
        default="pattern",
        help="pattern (default), output, class, none, or a colormap name",
    )
    g.add_argument("--output", type=int, default=0, help="output index for --color-by output")
    g.add_argument("--cmap", default=None, help="colormap for values (default viridis)")
    g.add_argument(
        "--edges", default="layer", help="edge colours: layer (default), neuron, none or a colour"
    )
    g.add_argument("--layer", type=int, default=None, help="highlight one layer's edges")
    g.add_argument("--edge-width", type=float, default=None, help="edge width in pixels")
    g.add_argument("--decision-color", default="#000000", help="decision boundary colour")
    g.add_argument("--decision-width", type=float, default=2.5)
    g.add_argument("--no-decision", action="store_true", help="do not draw the decision boundary")
    g.add_argument("--no-boundary", action="store_true", help="do not draw the domain outline")
    g.add_argument("--vertices", action="store_true", help="draw the vertices")
    g.add_argument(
        "--axes",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="frame with ticks and axis names in domain (plane) coordinates",
    )
    g.add_argument(
        "--legend",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="legend of classes, edge layers and the decision boundary (and a colour bar)",
    )
    g.add_argument("--title", default=None, help="title above the picture")
    g.add_argument("--class-names", help="comma-separated class names (legend, viewer)")
    g.add_argument(
        "--mark",
        metavar="POINTS.npy",
        help="points to mark: (N, 2) domain coordinates, or inputs for a plane domain "
        "(a plane's three points are marked by default)",
    )
    g.add_argument("--mark-labels", help="comma-separated labels of the marks")


def _style_from(args: argparse.Namespace) -> dict[str, Any]:
    style: dict[str, Any] = {
        "color_by": args.color_by,
        "output": args.output,
        "cmap": args.cmap,
        "edges": args.edges,
        "layer": args.layer,
        "edge_width": args.edge_width,
        "decision": not args.no_decision,
        "decision_color": args.decision_color,
        "decision_width": args.decision_width,
        "boundary": not args.no_boundary,
        "vertices": args.vertices,
        "axes": bool(args.axes),
        "legend": bool(args.legend),
        "title": args.title,
    }
    size = getattr(args, "size", None)
    if size is not None:
        if len(size) not in (1, 2):
            raise _UsageError("--size takes WIDTH or WIDTH HEIGHT")
        style["size"] = size[0] if len(size) == 1 else tuple(size)
    if args.mark is not None:
        style["mark"] = np.load(args.mark, allow_pickle=False)
    if args.mark_labels is not None:
        style["mark_labels"] = args.mark_labels.split(",")
    if args.class_names is not None:
        style["class_names"] = args.class_names.split(",")
    return style


def _plane_marks(domain: Any, style: dict[str, Any]) -> dict[str, Any]:
    """A plane's three defining points are marked (and labelled) unless marks are given."""
    if hasattr(domain, "projected") and style.get("mark") is None:
        style = {**style, "mark": True}
    return style


#: picture formats of --out, by extension
_FORMATS = (".png", ".svg", ".pdf", ".html")


def _out_format(path: str, formats: tuple[str, ...] = _FORMATS) -> str:
    suffix = Path(path).suffix.lower()
    if suffix not in formats:
        raise _UsageError(f"--out must end in {' or '.join(formats)}, got {path!r}")
    return suffix[1:]


#: style options that 1-D pictures (a plot of the outputs along the segment) take
_STYLE_1D = ("size", "title")
#: style options of the viewer (see regionscope.render.html.VIEWER_STYLE)
_STYLE_VIEW = ("color_by", "output", "cmap", "class_names", "mark", "mark_labels", "decision")


def _draw(part: Any, out: str, style: dict[str, Any]) -> float:
    from . import render

    t0 = time.perf_counter()
    fmt = _out_format(out)
    if fmt == "html":
        if part.domain.dim == 1:
            raise _UsageError("the viewer (.html) shows 2-D domains; draw a 1-D one as .png")
        view = {k: v for k, v in style.items() if k in _STYLE_VIEW}
        render.to_html(part, out, title=style.get("title"), **view)
        return time.perf_counter() - t0
    if part.domain.dim == 1:  # a matplotlib plot of the outputs along the interval
        style = {k: v for k, v in style.items() if k in _STYLE_1D and v is not None}
    if fmt == "svg":
        render.to_svg(part, out, **style)
    elif fmt == "pdf":
        render.to_pdf(part, out, **style)
    else:
        render.to_png(part, out, **style)
    return time.perf_counter() - t0


def _summary(part: Any, seconds: float, draw_seconds: float, out: str) -> str:
    if part.domain.dim == 1:
        counts = f"regions: {part.num_regions}, breakpoints: {len(part.breakpoints)}"
    else:
        counts = (
            f"regions: {part.num_regions}, vertices: {part.num_vertices}, edges: {part.num_edges}"
        )
    timing = f"time: {seconds:.2f} s (partition) + {draw_seconds:.2f} s (picture)"
    return f"{counts}\n{timing}\nwrote {out}"


def _cmd_demo(args: argparse.Namespace) -> int:
    from . import domains
    from .partitions import partition

    out = args.out
    _out_format(out)
    style = _style_from(args)
    if args.size is not None:
        style["size"] = tuple(args.size)
    t0 = time.perf_counter()
    part = partition(demo_network(args.seed), domains.Box(1.0), progress=args.progress)
    seconds = time.perf_counter() - t0
    # a figure by default: axes, legend, title (--no-axes, --no-legend, --title "")
    style["axes"] = args.axes is not False
    style["legend"] = args.legend is not False
    if args.title is None:
        style["title"] = f"[2, 32, 32, 32] ReLU network, 3 classes: {part.num_regions} regions"
    draw = _draw(part, out, style)
    print("demo network: [2, 32, 32, 32] ReLU MLP -> 3 classes (Argmax) on Box(1.0)")
    print(_summary(part, seconds, draw, out))
    return 0


def _partition_model(args: argparse.Namespace) -> tuple[Any, float]:
    """Load ``args.model`` and partition it on ``args.domain``: the partition and seconds."""
    from .partitions import partition

    domain = parse_domain(args.domain)
    model = load_model(args.model, trust_pickle=args.trust_pickle)
    t0 = time.perf_counter()
    part = partition(model, domain, max_regions=args.max_regions, progress=args.progress)
    return part, time.perf_counter() - t0


def _cmd_render(args: argparse.Namespace) -> int:
    _out_format(args.out)
    style = _style_from(args)
    part, seconds = _partition_model(args)
    draw = _draw(part, args.out, _plane_marks(part.domain, style))
    print(_summary(part, seconds, draw, args.out))
    return 0


def _cmd_view(args: argparse.Namespace) -> int:
    _out_format(args.out, (".html",))
    style = _style_from(args)
    part, seconds = _partition_model(args)
    if part.domain.dim == 1:
        raise _UsageError("the viewer shows 2-D domains; use 'regionscope render' for 1-D ones")
    draw = _draw(part, args.out, _plane_marks(part.domain, style))
    print(_summary(part, seconds, draw, args.out))
    return 0


def _cmd_lab01(args: argparse.Namespace) -> int:
    from .lab import run_lab01

    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    run_lab01(out_dir, verbose=True)  # prints the lab's numbers as sentences
    print(f"wrote {out_dir}")
    return 0


def _add_model_args(p: argparse.ArgumentParser, out_help: str, out_default: str | None) -> None:
    """MODEL, --domain, --out, --max-regions, --trust-pickle and --progress."""
    p.add_argument("model", metavar="MODEL", help="model file (.npz, or .pt with --trust-pickle)")
    p.add_argument(
        "--domain",
        default="box:1.0",
        help="box:H, box:XMIN,XMAX,YMIN,YMAX, polygon:X0,Y0,..., interval:A,B, "
        "plane:POINTS.npy or segment:P.npy (or segment:P0,P1,...:Q0,Q1,...) "
        "(default box:1.0)",
    )
    if out_default is None:
        p.add_argument("--out", required=True, help=out_help)
    else:
        p.add_argument("--out", default=out_default, help=f"{out_help} (default {out_default})")
    p.add_argument("--max-regions", type=int, default=4_000_000)
    p.add_argument(
        "--trust-pickle",
        action="store_true",
        help="allow loading a whole pickled torch model (runs code from the file)",
    )
    p.add_argument("--progress", action="store_true", help="show a progress bar while cutting")


def _build_parser() -> _Parser:
    parser = _Parser(
        prog="regionscope",
        description="Exact linear regions of piecewise-linear networks on 2-D and 1-D domains.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    demo = sub.add_parser(
        "demo",
        help="partition a built-in example network and draw it",
        description="Partition a fixed-seed [2, 32, 32, 32] ReLU network with 3 classes "
        "(Argmax) on Box(1.0), draw it and print a summary.",
    )
    demo.add_argument(
        "--out", default="regions.png", help="picture (.png, .svg, .pdf) or viewer (.html)"
    )
    demo.add_argument("--size", type=int, nargs=2, metavar=("W", "H"), default=None)
    demo.add_argument("--seed", type=int, default=0, help="weights seed (default 0)")
    demo.add_argument("--progress", action="store_true", help="show a progress bar")
    _add_style_args(demo, size=False)
    demo.set_defaults(handler=_cmd_demo)

    render = sub.add_parser(
        "render",
        help="partition a saved model and draw it",
        description="Partition MODEL on a domain and draw the regions. MODEL is an .npz of "
        "W0, b0, W1, b1, ... (ReLU MLP; a true 'argmax' entry adds Argmax), a model saved "
        "by regionscope.io.save_model, or (only with --trust-pickle) a whole pickled torch "
        "model.",
    )
    _add_model_args(render, "picture (.png, .svg, .pdf) or viewer (.html)", None)
    _add_style_args(render)
    render.set_defaults(handler=_cmd_render)

    view = sub.add_parser(
        "view",
        help="partition a saved model and write the interactive viewer (one HTML file)",
        description="Partition MODEL on a 2-D domain and write one self-contained HTML page "
        "(no server, no network): hover a region for its id, area, activation patterns, "
        "output and affine map; drag to pan, wheel to zoom, toggle layers.",
    )
    _add_model_args(view, "the page (.html)", "regions.html")
    _add_style_args(view, size=False)
    view.set_defaults(handler=_cmd_view)

    lab = sub.add_parser(
        "lab01",
        help="run lab 01 and write its pictures",
        description="Run lab 01 (regionscope.lab.run_lab01) and write its outputs to DIR.",
    )
    lab.add_argument("--out", required=True, metavar="DIR", help="output folder")
    lab.set_defaults(handler=_cmd_lab01)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 ok, 2 bad input)."""
    parser = _build_parser()
    try:
        args = parser.parse_args(argv)
        if getattr(args, "handler", None) is None:
            raise _UsageError(
                "choose a command: demo, render, view or lab01 (see 'regionscope --help')"
            )
        return int(args.handler(args))
    except SystemExit as exc:  # --help
        return int(exc.code or 0) if not isinstance(exc.code, str) else 2
    except (_UsageError, ValueError, TypeError, OSError) as exc:
        message = " ".join(str(exc).split()) or type(exc).__name__
        if not getattr(exc, "prefixed", False):
            message = f"regionscope: error: {message}"
        print(message, file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
