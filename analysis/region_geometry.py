"""Shared region vocabulary: region types, the mask result type and the validity rules.

Region masks follow casacore's lattice regions exactly as the reference backend uses
them (ANALYTICS.md §1): membership is decided on pixel centres (pixel i spans
i-0.5 … i+0.5), the result is a bounding box plus a boolean mask, and a region that
cannot form a lattice region ("outside", "empty") is reported as ``None`` by the mask
builders — never as an exception, because the reference turns those cases into
NumPixels = 0 / all-NaN answers rather than errors.

Invalid *control points* (the checks SET_REGION performs) raise :class:`RegionError`.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = [
    "RegionError",
    "RegionType",
    "RegionMask",
    "ANNOTATION_TYPES",
    "CLOSED_TYPES",
    "is_annotation",
    "validate_control_points",
]


class RegionError(ValueError):
    """Control points that the reference would refuse (SET_REGION fails)."""


class RegionType(enum.IntEnum):
    """CARTA.RegionType (shared/enums.proto); plain ints from protobuf compare equal."""

    POINT = 0
    LINE = 1
    POLYLINE = 2
    RECTANGLE = 3
    ELLIPSE = 4
    ANNULUS = 5
    POLYGON = 6
    ANNPOINT = 7
    ANNLINE = 8
    ANNPOLYLINE = 9
    ANNRECTANGLE = 10
    ANNELLIPSE = 11
    ANNPOLYGON = 12
    ANNVECTOR = 13
    ANNRULER = 14
    ANNTEXT = 15
    ANNCOMPASS = 16


CLOSED_TYPES = frozenset({RegionType.RECTANGLE, RegionType.ELLIPSE, RegionType.POLYGON})
ANNOTATION_TYPES = frozenset(t for t in RegionType if t > RegionType.POLYGON)


def is_annotation(region_type: int) -> bool:
    """Annotation regions (type > POLYGON) never produce analytics."""
    return int(region_type) > RegionType.POLYGON


@dataclass(frozen=True)
class RegionMask:
    """A region's bounding box in image pixels and the pixels it contains.

    ``mask`` is ``[height, width]`` (row = y), aligned with ``image[y0:y1, x0:x1]``.
    The box is casacore's bounding box (for an ellipse it may contain empty edge rows;
    statistics report its corners as Blc/Trc and region histograms size their
    automatic bin count from it), so do not trim it.
    """

    x0: int
    y0: int
    mask: np.ndarray

    @property
    def width(self) -> int:
        return int(self.mask.shape[1])

    @property
    def height(self) -> int:
        return int(self.mask.shape[0])

    @property
    def x1(self) -> int:
        """Exclusive end column."""
        return self.x0 + self.width

    @property
    def y1(self) -> int:
        """Exclusive end row."""
        return self.y0 + self.height

    @property
    def num_pixels(self) -> int:
        return int(np.count_nonzero(self.mask))

    @property
    def is_full(self) -> bool:
        """True when every pixel of the box is in the region (a plain slice suffices)."""
        return bool(self.mask.all())

    def slices(self) -> tuple[slice, slice]:
        """``(rows, cols)`` slices selecting the bounding box from a ``[y, x]`` plane."""
        return slice(self.y0, self.y1), slice(self.x0, self.x1)

    def full_mask(self, width: int, height: int) -> np.ndarray:
        """The mask pasted into a ``[height, width]`` boolean image."""
        out = np.zeros((height, width), dtype=bool)
        out[self.y0 : self.y1, self.x0 : self.x1] = self.mask
        return out


Point = tuple[float, float]


def _points_finite(points: Sequence[Point]) -> bool:
    return all(math.isfinite(float(x)) and math.isfinite(float(y)) for x, y in points)


def validate_control_points(region_type: int, points: Sequence[Point]) -> None:
    """Raise :class:`RegionError` unless the reference's CheckPoints accepts them.

    Rules (BE Region::CheckPoints): POINT exactly 1 point; LINE, ANNVECTOR, ANNRULER
    exactly 2; POLYLINE/POLYGON more than 2; RECTANGLE/ELLIPSE/ANNCOMPASS 2 points with
    a strictly positive size; ANNTEXT 2 points (size may be 0); all coordinates finite.
    ANNULUS is not supported in v4.1.0 and is always refused.
    """
    try:
        rtype = RegionType(int(region_type))
    except ValueError:
        raise RegionError(f"unknown region type {region_type}") from None
    n = len(points)
    name = rtype.name.lower()
    if rtype == RegionType.ANNULUS:
        raise RegionError("annulus regions are not supported")
    if not _points_finite(points):
        raise RegionError(f"{name} control points must be finite")
    if rtype in (RegionType.POINT, RegionType.ANNPOINT):
        if n != 1:
            raise RegionError(f"{name} needs exactly 1 control point, got {n}")
    elif rtype in (RegionType.LINE, RegionType.ANNLINE, RegionType.ANNVECTOR, RegionType.ANNRULER):
        if n != 2:
            raise RegionError(f"{name} needs exactly 2 control points, got {n}")
    elif rtype in (RegionType.POLYLINE, RegionType.POLYGON, RegionType.ANNPOLYLINE, RegionType.ANNPOLYGON):
        if n < 3:
            raise RegionError(f"{name} needs at least 3 control points, got {n}")
    elif rtype == RegionType.ANNTEXT:
        if n != 2:
            raise RegionError(f"{name} needs exactly 2 control points, got {n}")
    else:  # RECTANGLE, ELLIPSE, ANNRECTANGLE, ANNELLIPSE, ANNCOMPASS
        if n != 2:
            raise RegionError(f"{name} needs exactly 2 control points, got {n}")
        if not (points[1][0] > 0 and points[1][1] > 0):
            raise RegionError(f"{name} size must be positive, got {tuple(points[1])}")
