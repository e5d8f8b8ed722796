"""What both drivers refuse: too many regions by default, values that overflowed.

>>> DEFAULT_MAX_REGIONS
4000000
"""

from __future__ import annotations

import numpy as np

from regionscope.network.program import Op

__all__ = ["DEFAULT_MAX_REGIONS", "check_finite"]

#: default limit on the number of regions (2-D) or pieces (1-D)
DEFAULT_MAX_REGIONS = 4_000_000


def check_finite(z: np.ndarray, op: Op) -> None:
    """Refuse values that overflowed: the geometry would be silently wrong.

    Raises
    ------
    ValueError
        Naming the layer, when ``z`` holds an infinity or a NaN.
    """
    with np.errstate(over="ignore", invalid="ignore"):
        total = np.sum(z)
    if np.isfinite(total):  # (an infinity or a NaN makes the sum one; no table)
        return
    if not np.isfinite(z).all():  # (or the sum of finite values overflowed)
        raise ValueError(
            f"layer {op.index} ({op.name}: {type(op.layer).__name__}): its input is not finite "
            "at some points of the domain (float64 overflow); the weights or the domain are "
            "too large"
        )
