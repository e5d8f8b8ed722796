"""Exceptions raised by regionscope."""

from __future__ import annotations

__all__ = ["RegionLimitError", "InvalidMeshError"]


class RegionLimitError(ValueError):
    """The partition would exceed ``max_regions``.

    Attributes
    ----------
    count : int
        The number of regions the partition reached (or was about to reach)
        when the limit was hit.
    limit : int
        The limit that was exceeded.
    """

    def __init__(self, count: int, limit: int, where: str = "") -> None:
        self.count = int(count)
        self.limit = int(limit)
        self.where = where
        at = f" at {where}" if where else ""
        super().__init__(
            f"max_regions={limit} exceeded{at}: the partition reached {count} regions. "
            "Ask for less: a window of the domain (a smaller Box or Polygon, or "
            "Plane(points, window=...)), or tiles computed one at a time "
            "(rs.partition_tiles); or pass a larger max_regions= (memory grows with it)"
        )


class InvalidMeshError(AssertionError):
    """A mesh broke an invariant (strict mode, :func:`regionscope.geometry.check_mesh`).

    This is a bug in regionscope, never the user's fault: please report it
    with the network and domain that caused it.
    """
