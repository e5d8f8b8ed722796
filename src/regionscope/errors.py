"""Exceptions raised by regionscope."""

from __future__ import annotations

__all__ = ["RegionLimitError"]


class RegionLimitError(ValueError):
    """The partition would exceed ``max_regions``.

    Attributes
    ----------
    count : int
        The number of regions reached when the limit was hit.
    limit : int
        The limit that was exceeded.
    """

    def __init__(self, count: int, limit: int, where: str = "") -> None:
        self.count = int(count)
        self.limit = int(limit)
        at = f" at {where}" if where else ""
        super().__init__(
            f"max_regions={limit} exceeded{at}: the partition has {count} regions; "
            "pass a larger max_regions= (memory grows with it) or a smaller domain"
        )
