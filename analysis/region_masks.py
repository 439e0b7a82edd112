"""Which pixels a region contains, per region type (ANALYTICS.md §1).

Entry point :func:`region_mask` validates CARTA control points like SET_REGION does
(raising :class:`RegionError`) and returns the region's :class:`RegionMask` on the
image it was drawn on, or ``None`` when the reference has "no region" (entirely
outside, or containing no pixel centre). Callers turn ``None`` into NumPixels = 0 /
all-NaN statistics and profiles, or into "nothing sent" where the reference sends
nothing (ANALYTICS.md §1.6).

Only the reference-image path (§1.3) is implemented: a region drawn on another image
and transferred through world coordinates (§1.5) needs the coordinate systems, which
live above this layer; that path ends in :func:`polygon_mask` on the converted
outline.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from .ellipse_mask import ellipse_mask
from .polygon_mask import polygon_mask, rectangle_mask
from .region_geometry import RegionError, RegionMask, RegionType, is_annotation, validate_control_points

__all__ = [
    "RegionError",
    "RegionMask",
    "RegionType",
    "region_mask",
    "point_pixel",
    "point_mask",
    "cursor_pixel",
    "c_round",
]

Point = tuple[float, float]


def c_round(v: float) -> int:
    """C ``std::round``: nearest integer, halves away from zero."""
    v = float(v)
    base = math.floor(v)
    frac = v - base
    if frac > 0.5 or (frac == 0.5 and v >= 0):
        base += 1
    return int(base)


def cursor_pixel(x: float, y: float, width: int, height: int) -> tuple[int, int] | None:
    """The cursor's pixel: C ``round`` (half away from zero) of each coordinate.

    ``None`` when it falls outside the image (then no cursor profile is sent).
    """
    ix, iy = c_round(x), c_round(y)
    if 0 <= ix < width and 0 <= iy < height:
        return ix, iy
    return None


def point_pixel(x: float, y: float, width: int, height: int) -> tuple[int, int] | None:
    """The pixel of a POINT region: casacore LCBox ``int(p + 0.5)`` (truncation toward zero).

    So the pixel is ``floor(p + 0.5)`` for p ≥ -0.5, and p in (-1.5, -0.5) also maps to
    pixel 0. ``None`` when the point lies outside the image.
    """
    ix = math.trunc(float(x) + 0.5)
    iy = math.trunc(float(y) + 0.5)
    if 0 <= ix < width and 0 <= iy < height:
        return ix, iy
    return None


def point_mask(x: float, y: float, width: int, height: int) -> RegionMask | None:
    """A 1×1 mask at :func:`point_pixel`, or ``None`` outside the image."""
    pixel = point_pixel(x, y, width, height)
    if pixel is None:
        return None
    return RegionMask(pixel[0], pixel[1], np.ones((1, 1), dtype=bool))


def region_mask(
    region_type: int,
    points: Sequence[Point],
    rotation: float,
    width: int,
    height: int,
    pixel_scale: tuple[float, float] = (1.0, 1.0),
) -> RegionMask | None:
    """Mask of a POINT, RECTANGLE, ELLIPSE or POLYGON region on its reference image.

    ``points`` are CARTA control points (0-based pixel coordinates; rectangle
    ``[(cx, cy), (width, height)]``, ellipse ``[(cx, cy), (a, b)]`` semi-axes, polygon
    vertices), ``rotation`` is in degrees (the reference treats RegionInfo.rotation as
    degrees although the proto says radians). ``pixel_scale`` = ``(|Δx|, |Δy|)`` only
    matters for ellipses on non-square pixels.

    Raises :class:`RegionError` for invalid control points and for types without a
    mask (LINE and POLYLINE have none; annotations never produce analytics; ANNULUS
    is unsupported).
    """
    validate_control_points(region_type, points)
    rtype = RegionType(int(region_type))
    if is_annotation(rtype):
        raise RegionError(f"{rtype.name.lower()} is an annotation and has no analytics")
    if rtype == RegionType.POINT:
        return point_mask(points[0][0], points[0][1], width, height)
    if rtype == RegionType.RECTANGLE:
        (x0, y0), (x1, y1) = points[0], points[1]
        return rectangle_mask((x0, y0), (x1, y1), rotation, width, height)
    if rtype == RegionType.ELLIPSE:
        (x0, y0), (x1, y1) = points[0], points[1]
        return ellipse_mask((x0, y0), (x1, y1), rotation, width, height, pixel_scale)
    if rtype == RegionType.POLYGON:
        xs = [p[0] for p in points]
        ys = [p[1] for p in points]
        return polygon_mask(xs, ys, width, height)
    raise RegionError(f"{rtype.name.lower()} regions have no pixel mask")
