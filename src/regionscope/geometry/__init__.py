"""Planar geometry on flat arrays: meshes, cutting by zero sets, merging, validity.

The bottom layer of regionscope: every function here takes and returns NumPy
arrays (or the small frozen :class:`Mesh` container) and knows nothing about
networks.  ``arrays`` holds ragged-array helpers, ``mesh`` the container,
``cutting`` the cutting steps, ``faces`` face tracing, ``merging`` region merging,
``line`` the 1-D case and ``check`` the validity check.
"""

from .check import check_mesh, mesh_problems
from .cutting import CutResult, cut
from .merging import merge
from .mesh import BOUNDARY, Mesh, decode_source, encode_source

__all__ = [
    "BOUNDARY",
    "CutResult",
    "Mesh",
    "check_mesh",
    "cut",
    "decode_source",
    "encode_source",
    "merge",
    "mesh_problems",
]
