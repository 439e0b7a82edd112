"""LINE and POLYLINE spatial profiles with an averaging width (ANALYTICS.md §5.2, WIRE.md §4.2).

The reference replaces the line by temporary RECTANGLE regions one pixel apart
("fixed-pixel boxes", BE ``LineBoxRegions::GetFixedPixelRegions``), each of size
``(width, h)`` rotated by the line angle — so ``width`` lies *along* the line, and
``h`` = 1 for lines at a multiple of 90°, else 3 (overlapping boxes) across it — and
each profile value is the BasicStats mean of the finite pixels in a box (NaN for an
empty box or one outside the image).

* LINE p0 → p1: ``2N+1`` boxes, N = lround((|p1 − p0| − 1)/2), centred on the line
  centre at offsets −N … N along ``(cos θ, sin θ)`` with θ = atan2(p0 − p1) — index 0
  is at the p1 end.
* POLYLINE: per segment ``lround(length) + 1`` centres from its start; a segment's
  first centre is dropped when the previous segment's last centre lies within half an
  increment of the segment start.

The reference only uses fixed-pixel boxes when consecutive box centres are equally
spaced on the sky (within 1% of |CDELT2|); that check and the angular separations
need the image's direction coordinate, so callers pass ``separation`` (arcsec between
two pixel positions) and ``tolerance``; by default pixel distances are used, which is
exact for the linear projections the check accepts. The "fixed angular" fallback for
wide fields is not implemented here.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from .histograms import basic_stats
from .polygon_mask import rectangle_mask

__all__ = [
    "BoxRegion",
    "LineBoxes",
    "line_boxes",
    "polyline_boxes",
    "box_means",
    "increment_unit",
    "LineAxis",
    "line_axis",
]

_F32 = np.float32
Point = tuple[float, float]
Separation = Callable[[Point, Point], float]


@dataclass(frozen=True)
class BoxRegion:
    """A temporary RECTANGLE: centre (float32 values), size (width, h), rotation in degrees."""

    center: tuple[float, float]
    size: tuple[float, float]
    rotation: float


@dataclass(frozen=True)
class LineBoxes:
    """Boxes in profile order and the mean spacing of their centres (``separation`` units)."""

    boxes: list[BoxRegion]
    increment: float


def _lround(v: float) -> int:
    """C ``lround``: halves away from zero."""
    return int(math.floor(abs(v) + 0.5)) * (1 if v >= 0 else -1)


def _rotation(start: Point, end: Point) -> float:
    """Line angle from +x in degrees, from ``start − end`` (BE ``GetLineRotation``), as float32."""
    return float(_F32(math.atan2(start[1] - end[1], start[0] - end[0]) * 180.0 / math.pi))


def _unit(rotation: float) -> tuple[np.float32, np.float32]:
    angle = float(_F32(rotation)) * math.pi / 180.0
    return _F32(math.cos(angle)), _F32(math.sin(angle))


def _height(rotation: float) -> float:
    return 1.0 if math.fmod(rotation, 90.0) == 0.0 else 3.0


def _pixel_separation(a: Point, b: Point) -> float:
    return math.hypot(b[0] - a[0], b[1] - a[1])


def _check_linear(centers: Sequence[Point], separation: Separation, tolerance: float) -> float | None:
    """Mean spacing of consecutive centres, or None when it varies by more than ``tolerance``.

    As coded in BE ``CheckLinearOffsets``: zero separations (undefined world
    coordinates) are skipped, but the running min/max start at 0 unless the very first
    separation is positive.
    """
    lo = hi = 0.0
    total, used = 0.0, 0
    for i in range(len(centers) - 1):
        s = separation(centers[i], centers[i + 1])
        if s > 0:
            if i == 0:
                lo = hi = s
            else:
                lo, hi = min(s, lo), max(s, hi)
            if hi - lo > tolerance:
                return None
            total += s
            used += 1
    return total / used if used else math.nan


def line_boxes(
    p0: Point,
    p1: Point,
    width: int,
    separation: Separation | None = None,
    tolerance: float = 0.01,
    unit_length: Callable[[float, float], float] | None = None,
) -> LineBoxes | None:
    """Fixed-pixel boxes for a LINE from control point ``p0`` to ``p1`` (index 0 at p1).

    ``separation(a, b)`` gives the spacing unit of the increment (default: pixels);
    ``unit_length(cos, sin)`` the length of one pixel step along the line for a single
    box (default 1). Returns None when the spacing is not uniform within ``tolerance``
    (the reference then switches to fixed angular boxes).
    """
    _check_width(width)
    sep = separation or _pixel_separation
    x0, y0 = float(p0[0]), float(p0[1])
    x1, y1 = float(p1[0]), float(p1[1])
    length = math.sqrt((x1 - x0) ** 2 + (y1 - y0) ** 2)
    n = max(_lround((length - 1.0) / 2.0), 0)
    cx, cy = (x0 + x1) / 2.0, (y0 + y1) / 2.0
    rotation = _rotation((x0, y0), (x1, y1))
    cos_x, sin_x = _unit(rotation)
    centers: list[Point] = []
    for k in range(-n, n + 1):
        # the offset k·cos is formed in float32, the sum in double, the point stored as float32
        dx, dy = float(_F32(abs(k)) * cos_x), float(_F32(abs(k)) * sin_x)
        if k < 0:
            dx, dy = -dx, -dy
        centers.append((float(_F32(cx + dx)), float(_F32(cy + dy))))
    increment: float | None
    if len(centers) == 1:
        increment = unit_length(float(cos_x), float(sin_x)) if unit_length else 1.0
    else:
        increment = _check_linear(centers, sep, tolerance)
        if increment is None:
            return None
    size = (float(width), _height(rotation))
    return LineBoxes([BoxRegion(c, size, rotation) for c in centers], increment)


def polyline_boxes(
    points: Sequence[Point],
    width: int,
    separation: Separation | None = None,
    tolerance: float = 0.01,
    unit_length: Callable[[float, float], float] | None = None,
) -> LineBoxes | None:
    """Fixed-pixel boxes for a POLYLINE, from the first vertex to the last."""
    _check_width(width)
    sep = separation or _pixel_separation
    boxes: list[BoxRegion] = []
    increment = math.nan
    trim = False
    for a, b in zip(points[:-1], points[1:]):
        xs, ys = float(a[0]), float(a[1])
        xe, ye = float(b[0]), float(b[1])
        count = _lround(math.sqrt((xe - xs) ** 2 + (ye - ys) ** 2)) + 1
        rotation = _rotation((xs, ys), (xe, ye))
        cos_x, sin_x = _unit(rotation)
        centers = [
            (float(_F32(xs - float(_F32(i) * cos_x))), float(_F32(ys - float(_F32(i) * sin_x))))
            for i in range(1 if trim else 0, count)
        ]
        if not centers:
            trim = False
            continue
        if len(centers) == 1:
            increment = unit_length(float(cos_x), float(sin_x)) if unit_length else 1.0
        else:
            checked = _check_linear(centers, sep, tolerance)
            if checked is None:
                return None
            increment = checked
        size = (float(width), _height(rotation))
        boxes.extend(BoxRegion(c, size, rotation) for c in centers)
        trim = sep(centers[-1], (xe, ye)) < 0.5 * increment
    if not boxes:
        return None
    return LineBoxes(boxes, increment)


def _check_width(width: int) -> None:
    if not 1 <= int(width) <= 20:
        raise ValueError(f"Invalid averaging width: {width}.")


def box_means(plane: np.ndarray, boxes: Sequence[BoxRegion]) -> np.ndarray:
    """Mean of the finite pixels of each box on a ``[height, width]`` plane (float32; NaN if none)."""
    data = np.asarray(plane)
    height, width = data.shape
    out = np.full(len(boxes), np.nan, dtype=_F32)
    for i, box in enumerate(boxes):
        region = rectangle_mask(box.center, box.size, box.rotation, width, height)
        if region is None:
            continue
        stats = basic_stats(data[region.slices()], region.mask)
        if stats.num_pixels:
            out[i] = stats.mean
    return out


def increment_unit(increment_arcsec: float, num_boxes: int) -> tuple[float, str]:
    """BE ``AdjustIncrementUnit``: the increment in marcsec, arcsec, arcmin or deg.

    The unit follows the total length T = increment · boxes: T < 2 mas → "marcsec";
    T ≥ 2 arcmin → "arcmin", or "deg" once T ≥ 2 deg; otherwise "arcsec".
    """
    total = increment_arcsec * num_boxes
    if total < 0.002:
        return increment_arcsec * 1000.0, "marcsec"
    if total >= 120.0:
        if total < 7200.0:
            return increment_arcsec / 60.0, "arcmin"
        return increment_arcsec / 3600.0, "deg"
    return increment_arcsec, "arcsec"


@dataclass(frozen=True)
class LineAxis:
    """CARTA.LineProfileAxis fields."""

    axis_type: int  # 0 = Offset (LINE), 1 = Distance (POLYLINE)
    crpix: float
    crval: float
    cdelt: float
    unit: str


def line_axis(is_polyline: bool, num_boxes: int, increment: float, unit: str) -> LineAxis:
    """The profile axis: crpix = floor(N/2), crval = 0 (Offset) or crpix·cdelt (Distance)."""
    crpix = float(num_boxes // 2)
    crval = crpix * increment if is_polyline else 0.0
    return LineAxis(1 if is_polyline else 0, crpix, crval, increment, unit)
