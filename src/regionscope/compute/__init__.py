"""The driver: apply a compiled network's piecewise layers to a mesh (2-D) or points (1-D).

:mod:`~regionscope.compute.driver` cuts layer by layer;
:mod:`~regionscope.compute.windowed` cuts max layers whose input is affine on the
domain with work that follows the regions they make.
"""

from .driver import (
    DEFAULT_MAX_REGIONS,
    Progress,
    cut_1d,
    cut_2d,
    evaluator,
    lift_map,
    stage_plan,
)

__all__ = [
    "evaluator",
    "lift_map",
    "stage_plan",
    "cut_2d",
    "cut_1d",
    "Progress",
    "DEFAULT_MAX_REGIONS",
]
