"""Lab 01, "Visualizing activation regions", with exact regions.

Builds the lab's [2, 4, 1] ReLU network (standard normal weights and biases
from ``np.random.default_rng(seed)``, see :func:`regionscope.lab.lab_network`),
draws its activation regions and zero lines on [-2, 2]^2, compares the exact
count with the bound sum_{i<=2} C(4, i) = 11 and with the lab's 300 x 300 grid,
and runs the four exercises: counts over 50 seeds, weight perturbation,
the affine check in the origin's region, and widths 4, 8, 16.

Run ``python examples/lab01.py --out out/lab01`` (or ``regionscope lab01 --out
DIR``); figures go to DIR as ``lab01_*.png``.  ``--fast`` (or the environment
variable ``REGIONSCOPE_FAST=1``) uses 8 seeds instead of 50.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from typing import Any

from regionscope.lab import LAB_SEED, run_lab01


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Run the lab; returns the numbers of :func:`regionscope.lab.run_lab01`."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="out/lab01", help="folder for the figures")
    parser.add_argument("--seed", type=int, default=LAB_SEED, help="seed of the lab's network")
    parser.add_argument("--num-seeds", type=int, default=None, help="networks in exercise 1")
    parser.add_argument("--fast", action="store_true", help="8 seeds in exercise 1")
    args = parser.parse_args(argv)
    fast = args.fast or os.environ.get("REGIONSCOPE_FAST", "") not in ("", "0")
    num_seeds = args.num_seeds if args.num_seeds is not None else (8 if fast else 50)
    result = run_lab01(args.out, seed=args.seed, num_seeds=num_seeds, verbose=True)
    print("figures:", *result["figures"], sep="\n  ")
    return result


if __name__ == "__main__":
    main()
