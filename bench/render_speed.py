"""Speed of the pictures: PNG and SVG of a partition with about 100 000 regions.

A one-layer ReLU network of ``n`` random neurons cuts the box into the
regions of an arrangement of ``n`` lines (about ``n^2 / 2`` of them inside
the box when the lines cross it); ``n`` is chosen for the target count.

Run::

    python bench/render_speed.py [--regions 100000] [--size 800] [--out bench/out]

The goal is a PNG (NumPy back end) in under 2 s.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

import regionscope as rs
from regionscope import render


def line_arrangement(num_lines: int, seed: int = 0) -> rs.Sequential:
    """``num_lines`` ReLUs whose zero lines cross the unit box (random direction and offset)."""
    rng = np.random.default_rng(seed)
    angle = rng.uniform(0, np.pi, num_lines)
    normal = np.stack([np.cos(angle), np.sin(angle)], axis=1)
    offset = rng.uniform(-0.9, 0.9, num_lines)
    return rs.Sequential(rs.Linear(normal, -offset), rs.ReLU())


def best_of(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--regions", type=int, default=100_000)
    parser.add_argument("--size", type=int, default=800)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", default="bench/out")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    # lines crossing the box: about 0.5 * 0.8 * n^2 regions inside it
    n = int(np.ceil(np.sqrt(args.regions / 0.4)))
    t0 = time.perf_counter()
    part = rs.partition(line_arrangement(n), rs.Box(1.0))
    while part.num_regions < args.regions:
        n = int(n * 1.05) + 1
        part = rs.partition(line_arrangement(n), rs.Box(1.0))
    t_part = time.perf_counter() - t0
    print(
        f"partition: {n} lines, {part.num_regions} regions, {part.num_vertices} vertices, "
        f"{part.num_edges} edges ({t_part:.2f} s)"
    )
    size = (args.size, args.size)
    png_path = out / "render_speed.png"
    t_png = best_of(lambda: render.to_png(part, png_path, size=size), args.repeat)
    print(f"to_png {size[0]}x{size[1]}: {t_png:.3f} s  ({png_path.stat().st_size / 1e6:.2f} MB)")
    t_out = best_of(
        lambda: render.to_png(part, None, size=size, color_by="output", edges="none"), args.repeat
    )
    print(f"to_png color_by=output, no edges: {t_out:.3f} s")
    svg_path = out / "render_speed.svg"
    t_svg = best_of(lambda: render.to_svg(part, svg_path, size=size), 1)
    size_mb = svg_path.stat().st_size / 1e6
    print(
        f"to_svg: {t_svg:.3f} s  ({size_mb:.1f} MB, "
        f"{svg_path.stat().st_size / part.num_regions:.0f} bytes per region)"
    )
    try:
        t_mpl = best_of(
            lambda: render.to_png(
                part, out / "render_speed_mpl.png", size=size, engine="matplotlib"
            ),
            1,
        )
        print(f"to_png engine='matplotlib' (PolyCollection + Agg): {t_mpl:.3f} s")
    except ImportError:
        pass
    verdict = "OK" if t_png < 2.0 else "TOO SLOW"
    print(f"goal: PNG of {part.num_regions} regions under 2 s: {verdict}")


if __name__ == "__main__":
    main()
