"""The driver: apply a compiled network's piecewise layers to a mesh (2-D) or points (1-D).

:mod:`~regionscope.compute.driver` cuts layer by layer in 2-D and
:mod:`~regionscope.compute.line` along a segment;
:mod:`~regionscope.compute.windowed` cuts max layers whose input is affine on the
domain with work that follows the regions they make.
"""

from typing import Any

import numpy as np

from regionscope.domains import Domain, Domain2D
from regionscope.network.evaluate import Evaluator
from regionscope.network.program import Program

from . import driver
from .driver import *  # noqa: F403  (the names of driver.__all__)

__all__ = list(driver.__all__)


def evaluator(domain: Domain, program: Program, scale_corners: Any = None) -> Evaluator:
    """The evaluator of ``program`` on ``domain`` (its lift, and the corners of its scales).

    Parameters
    ----------
    domain : Domain
    program : Program
    scale_corners : (K, dim) array_like of float64, optional
        Points in ``domain``'s own coordinates whose unit magnitudes give the
        unit scales, hence the unit tolerances (:mod:`regionscope.tolerances`);
        by default the domain's corners.  A part of a larger domain (a tile)
        passes the larger domain's corners, so that it decides every sign as
        the partition of the larger domain does.

    Examples
    --------
    >>> import numpy as np
    >>> import regionscope as rs
    >>> from regionscope.network.program import compile_model
    >>> program = compile_model(rs.Sequential(rs.Linear([[1.0, 0.0]]), rs.ReLU()), 2)
    >>> evaluator(rs.Box(1.0), program).unit_tol[1].tolist()
    [1e-11]
    >>> big = rs.Box(100.0).polygon
    >>> evaluator(rs.Box(1.0), program, scale_corners=big).unit_tol[1].tolist()
    [1e-09]
    """
    if scale_corners is None:
        return driver.evaluator(domain, program)
    dim = 2 if isinstance(domain, Domain2D) else 1
    try:
        corners = np.array(scale_corners, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(
            f"scale_corners must be an array of points, got {type(scale_corners).__name__}"
        ) from None
    if corners.ndim != 2 or corners.shape[1] != dim or len(corners) == 0:
        raise ValueError(f"scale_corners must have shape (K, {dim}), got {corners.shape}")
    if not np.isfinite(corners).all():
        raise ValueError("scale_corners must be finite")
    if isinstance(domain, Domain2D):
        return Evaluator(program, domain.lift, corners, lift_map(domain, domain.lift))  # noqa: F405
    own = driver.evaluator(domain, program)  # the 1-D lift; its own scales are replaced here
    return Evaluator(program, own.lift, corners, (own.lift_linear, own.lift_offset))
