"""Print the lines of a one-hidden-layer suite network, one ``w0 w1 b`` per line.

The input of ``bench/floor/floor.cpp``: the same weights as ``bench/compare.py``
gives both tools (``suite.draw_weights``, seed 0 unless ``--seed``).

    python bench/floor/lines.py 2-1000 > /tmp/lines.txt
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import suite  # noqa: E402  (bench/ is not a package)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("net", help="a one-hidden-layer network of the suite, e.g. 2-1000")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    net = suite.SUITE_BY_NAME.get(args.net)
    if net is None or len(net.widths) != 2 or net.classes is not None:
        parser.error(f"{args.net!r} is not a one-hidden-layer ReLU network of the suite")
    ((weight, bias),) = suite.draw_weights(net, args.seed)
    for (w0, w1), b in zip(weight, bias, strict=True):
        print(f"{float(w0)!r} {float(w1)!r} {float(b)!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
