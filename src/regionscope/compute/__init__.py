"""The driver: apply a compiled network's piecewise layers to a mesh (2-D) or points (1-D).

:mod:`~regionscope.compute.driver` cuts layer by layer in 2-D and
:mod:`~regionscope.compute.line` along a segment;
:mod:`~regionscope.compute.windowed` cuts max layers whose input is affine on the
domain with work that follows the regions they make.
"""

from . import driver
from .driver import *  # noqa: F403  (the names of driver.__all__)

__all__ = list(driver.__all__)
