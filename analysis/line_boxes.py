"""A line cut as a row of box regions: the geometry behind PV images (ANALYTICS.md §5.2, §7.2).

The reference approximates a LINE of control points ``p0 → p1`` by ``2N + 1``
rotated rectangles ("fixed-pixel boxes"): with ``L = |p1 − p0|`` pixels,
``N = max(lround((L − 1) / 2), 0)``, angle ``θ = atan2(p0.y − p1.y, p0.x − p1.x)``
(degrees) and unit step ``u = (cos θ, sin θ)`` in float32, box ``k`` is centred at
``(p0 + p1)/2 + (k − N)·u``, so **box 0 sits at the p1 end**. Each box is a
RECTANGLE of size ``(width, h)`` rotated by θ — the averaging ``width`` lies *along*
the cut — with ``h = 1`` when θ is a multiple of 90° and 3 otherwise (overlapping
boxes for oblique cuts). Its pixels follow the rectangle mask rules of §1.4.2.

The offset increment is the mean angular separation between consecutive box centres;
the reference accepts it when the separations spread by at most 1 % of |CDELT2| and
otherwise switches to angular-width boxes for wide fields (not implemented here: the
mean separation is used, see :attr:`LineBoxes.linear`). The unit of the increment
follows the total length (``AdjustIncrementUnit``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from .region_geometry import RegionMask, RegionType
from .region_masks import region_mask

__all__ = ["LineBoxes", "line_boxes", "line_box_count", "box_masks", "box_increment", "increment_with_unit",
           "segment_points", "lround"]

_F32 = np.float32
#: Separations may spread by this fraction of |CDELT2| before the cut counts as non-linear.
LINEARITY_TOLERANCE = 0.01

Point = tuple[float, float]
#: (x pixels, y pixels) -> angular separations in arcsec between consecutive points.
SeparationFn = Callable[[np.ndarray, np.ndarray], np.ndarray]


def lround(v: float) -> int:
    """C ``lround``: nearest integer, halves away from zero."""
    return int(math.floor(abs(v) + 0.5)) * (1 if v >= 0 else -1)


def line_box_count(points: Sequence[Point], polyline: bool = False) -> int:
    """How many boxes a cut along ``points`` needs, without making any: ``2N + 1`` for a
    LINE (see the module docstring), ``lround(length) + 1`` per segment of a POLYLINE
    (the line profiles' rule; an upper bound, as a segment's first box may be dropped).

    Cheap for any finite points, so callers can refuse a line far longer than an image
    before its boxes (one Python object, one profile value or PV column each) exist.
    """
    if not polyline:
        (x0, y0), (x1, y1) = segment_points(points)
        return 2 * max(lround((math.hypot(x1 - x0, y1 - y0) - 1.0) / 2.0), 0) + 1
    return sum(lround(math.hypot(float(b[0]) - float(a[0]), float(b[1]) - float(a[1]))) + 1
               for a, b in zip(points[:-1], points[1:]))


@dataclass(frozen=True)
class LineBoxes:
    """Box centres (float32 pixels, box 0 at the p1 end), rotation and box size."""

    centers: np.ndarray  # [n, 2] float32 (x, y)
    angle_deg: float
    width: int
    height: int

    def __len__(self) -> int:
        return int(self.centers.shape[0])

    @property
    def reference_index(self) -> int:
        """The offset axis' reference pixel (0-based): ``(n − 1) // 2``, the cut's centre."""
        return (len(self) - 1) // 2


def line_boxes(p0: Point, p1: Point, width: int) -> LineBoxes:
    """The fixed-pixel boxes of a LINE with control points ``p0``, ``p1``."""
    x0, y0 = float(p0[0]), float(p0[1])
    x1, y1 = float(p1[0]), float(p1[1])
    length = math.sqrt((x1 - x0) ** 2 + (y1 - y0) ** 2)
    half = max(lround((length - 1.0) / 2.0), 0)
    # As GetFixedPixelRegions: the rotation is a float, its cos/sin are taken in double
    # and stored as floats, each offset k·cos is a float product added to the double
    # centre, and the sum is stored as a float (CARTA::Point). The same rounding as the
    # line profiles (analysis/line_profiles.py), which share the reference function.
    angle = float(_F32(math.atan2(y0 - y1, x0 - x1) * 180.0 / math.pi))
    radians = angle * math.pi / 180.0
    ux, uy = _F32(math.cos(radians)), _F32(math.sin(radians))
    cx, cy = (x0 + x1) / 2.0, (y0 + y1) / 2.0
    steps = np.arange(-half, half + 1)
    offsets = np.abs(steps).astype(_F32)
    sign = np.where(steps < 0, -1.0, 1.0)
    dx = sign * (offsets * ux).astype(np.float64)
    dy = sign * (offsets * uy).astype(np.float64)
    centers = np.stack([cx + dx, cy + dy], axis=1).astype(_F32)
    height = 1 if math.fmod(angle, 90.0) == 0.0 else 3
    return LineBoxes(centers, angle, int(width), height)


def box_masks(boxes: LineBoxes, image_width: int, image_height: int) -> list[RegionMask | None]:
    """The pixel mask of every box on the image (``None`` where a box has no pixel)."""
    masks: list[RegionMask | None] = []
    size = (float(boxes.width), float(boxes.height))
    for cx, cy in boxes.centers.tolist():
        masks.append(region_mask(RegionType.RECTANGLE, [(cx, cy), size], boxes.angle_deg, image_width, image_height))
    return masks


def box_increment(boxes: LineBoxes, separations: SeparationFn, cdelt_arcsec: tuple[float, float]) -> tuple[float, bool]:
    """Offset increment in arcsec and whether the cut passed the linearity check.

    ``separations(xs, ys)`` gives the great-circle distances between consecutive
    points. A single box uses the world length of one pixel step along the cut.
    """
    centers = boxes.centers.astype(np.float64)
    if len(boxes) < 2:
        theta = math.radians(boxes.angle_deg)
        lx = abs(math.cos(theta)) * abs(cdelt_arcsec[0])
        ly = abs(math.sin(theta)) * abs(cdelt_arcsec[1])
        return math.hypot(lx, ly), True
    seps = np.asarray(separations(centers[:, 0], centers[:, 1]), dtype=np.float64)
    seps = seps[np.isfinite(seps) & (seps > 0)]
    if seps.size == 0:
        return float("nan"), False
    linear = float(seps.max() - seps.min()) <= LINEARITY_TOLERANCE * abs(cdelt_arcsec[1])
    return float(seps.mean()), linear


def increment_with_unit(increment_arcsec: float, count: int) -> tuple[float, str]:
    """``AdjustIncrementUnit``: marcsec below 2 mas total length, arcmin from 2′, deg
    from 2°, else arcsec; returns the increment in that unit."""
    total = increment_arcsec * count
    if total < 2e-3:
        return increment_arcsec * 1000.0, "marcsec"
    if total >= 120.0:
        if total < 7200.0:
            return increment_arcsec / 60.0, "arcmin"
        return increment_arcsec / 3600.0, "deg"
    return increment_arcsec, "arcsec"


def segment_points(points: Sequence[Point]) -> tuple[Point, Point]:
    """The two control points of a LINE (convenience for callers holding a list)."""
    if len(points) != 2:
        raise ValueError(f"a line needs 2 control points, got {len(points)}")
    return (float(points[0][0]), float(points[0][1])), (float(points[1][0]), float(points[1][1]))
