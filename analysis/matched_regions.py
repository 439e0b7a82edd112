"""A region drawn on one image applied to another (matched) image (ANALYTICS.md §1.5).

The reference converts each reference-pixel point through world coordinates into the
target image's pixels; the coordinate systems live above this layer, so every function
here takes ``convert(xs, ys) -> (xs, ys)``: float64 arrays of reference pixel
coordinates to target pixel coordinates (raising or returning non-finite values when
a point has no world coordinate).

* POINT: the converted point, then the LCBox pixel rule.
* ELLIPSE and unrotated RECTANGLE whose shape survives the conversion (side/axis
  length ratio within 1e-4 and still perpendicular, ``|v0·v1| < 1e-2``) are converted
  directly: rectangle corners → LCPolygon; ellipse centre converted, world radii
  divided by the target's pixel increments, rotation kept.
* Otherwise (POLYGON always, rotated RECTANGLE always, distorted shapes): a polygon
  approximation with about 1000 vertices (ellipse: 1000 points of the parametric
  outline; rectangle/polygon: each side split into round(length/(perimeter/1000))
  pieces), converted, "horizontal points" removed per side, evaluated as LCPolygon.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

from .ellipse_mask import lc_ellipsoid_mask
from .polygon_mask import near_f32, polygon_mask, rectangle_corners
from .region_geometry import RegionError, RegionMask, RegionType, validate_control_points
from .region_masks import point_mask

__all__ = [
    "DEFAULT_VERTEX_COUNT",
    "Convert",
    "approximate_outline",
    "remove_horizontal_points",
    "needs_polygon_approximation",
    "matched_region_mask",
]

DEFAULT_VERTEX_COUNT = 1000
_F32 = np.float32
Point = tuple[float, float]
Convert = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


def _c_round(v: float) -> float:
    return math.floor(v + 0.5) if v >= 0 else -math.floor(-v + 0.5)


def _ellipse_points(points: Sequence[Point], rotation: float, num_vertices: int) -> tuple[np.ndarray, np.ndarray]:
    """BE GetApproximateEllipsePoints: t = i·2π/n, ``a`` along the rotated y axis (float32 points)."""
    cx, cy = float(_F32(points[0][0])), float(_F32(points[0][1]))
    a, b = float(_F32(points[1][0])), float(_F32(points[1][1]))
    rot = float(_F32(rotation)) * math.pi / 180.0
    cos_r, sin_r = math.cos(rot), math.sin(rot)
    t = np.arange(num_vertices) * (2.0 * math.pi / num_vertices)
    rb, ra = b * np.cos(t), a * np.sin(t)
    xs = (cx + (cos_r * rb - sin_r * ra)).astype(_F32)
    ys = (cy + (sin_r * rb + cos_r * ra)).astype(_F32)
    return xs.astype(np.float64), ys.astype(np.float64)


def approximate_outline(
    region_type: int, points: Sequence[Point], rotation: float, num_vertices: int = DEFAULT_VERTEX_COUNT
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Reference-pixel outline of an ELLIPSE (one list) or RECTANGLE/POLYGON (one list per side)."""
    rtype = RegionType(int(region_type))
    if rtype == RegionType.ELLIPSE:
        return [_ellipse_points(points, rotation, num_vertices)]
    if rtype == RegionType.RECTANGLE:
        cx, cy = points[0]
        w, h = points[1]
        xs, ys = rectangle_corners(cx, cy, w, h, rotation)
        vertices = list(zip(xs.tolist(), ys.tolist()))
    elif rtype == RegionType.POLYGON:
        vertices = [(float(_F32(x)), float(_F32(y))) for x, y in points]
    else:
        raise RegionError(f"{rtype.name.lower()} has no polygon outline")
    vertices.append(vertices[0])
    lengths = [math.hypot(q[0] - p[0], q[1] - p[1]) for p, q in zip(vertices[:-1], vertices[1:])]
    target = sum(lengths) / num_vertices
    sides = []
    for (x0, y0), (x1, y1), length in zip(vertices[:-1], vertices[1:], lengths):
        n = _c_round(length / target) if target > 0 else 0.0
        step = length / n if n else math.inf
        dx, dy = ((x1 - x0) / length, (y1 - y0) / length) if length else (math.nan, math.nan)
        j = np.arange(1, int(n)) if n > 1 else np.arange(0)
        xs = np.concatenate([[x0], (x0 + dx * (j * step)).astype(_F32)])
        ys = np.concatenate([[y0], (y0 + dy * (j * step)).astype(_F32)])
        sides.append((xs.astype(np.float64), ys.astype(np.float64)))
    return sides


def remove_horizontal_points(xs: np.ndarray, ys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """BE RemoveHorizontalPolygonPoints on one converted point list.

    Keeps the first point; for the others (the loop stops two points before the end,
    so the last two are always dropped) keeps a point whose y is not near the next
    point's y; if it is, keeps it only when y is near its own integer part and the next
    point is not nearer to that integer. Lists of one point are kept as they are.
    """
    xs = np.asarray(xs, dtype=np.float64)
    ys = np.asarray(ys, dtype=np.float64)
    n = xs.size
    if n < 2:
        return xs, ys
    keep = [0]
    for i in range(1, n - 2):
        this_y, next_y = _F32(ys[i]), _F32(ys[i + 1])
        if not near_f32(this_y, next_y):
            keep.append(i)
            continue
        pixel_y = int(this_y)
        if not near_f32(this_y, _F32(pixel_y)):
            continue
        if int(next_y) == pixel_y and (this_y - _F32(pixel_y)) > (next_y - _F32(pixel_y)):
            continue
        keep.append(i)
    return xs[keep], ys[keep]


def _convert(
    convert: Convert, xs: Sequence[float] | np.ndarray, ys: Sequence[float] | np.ndarray
) -> tuple[np.ndarray, np.ndarray] | None:
    try:
        out_x, out_y = convert(np.asarray(xs, dtype=np.float64), np.asarray(ys, dtype=np.float64))
    except (ValueError, ArithmeticError):
        return None
    out_x, out_y = np.asarray(out_x, dtype=np.float64), np.asarray(out_y, dtype=np.float64)
    if not (np.isfinite(out_x).all() and np.isfinite(out_y).all()):
        return None
    return out_x, out_y


def needs_polygon_approximation(region_type: int, points: Sequence[Point], rotation: float, convert: Convert) -> bool:
    """BE UseApproximatePolygon plus the rotated-rectangle rule: True unless the shape survives."""
    rtype = RegionType(int(region_type))
    if rtype == RegionType.RECTANGLE and float(_F32(rotation)) != 0.0:
        return True
    if rtype not in (RegionType.ELLIPSE, RegionType.RECTANGLE):
        return True
    x_len, y_len = float(_F32(points[1][0])), float(_F32(points[1][1]))
    if rtype == RegionType.ELLIPSE:
        ratio = x_len / y_len
        px, py = _ellipse_points(points, rotation, 4)
    else:
        ratio = y_len / x_len
        cx, cy = rectangle_corners(points[0][0], points[0][1], points[1][0], points[1][1], rotation)
        cx, cy = cx.astype(np.float64), cy.astype(np.float64)
        px = np.array([(cx[1] + cx[2]) / 2, (cx[2] + cx[3]) / 2, (cx[3] + cx[0]) / 2, (cx[0] + cx[1]) / 2])
        py = np.array([(cy[1] + cy[2]) / 2, (cy[2] + cy[3]) / 2, (cy[3] + cy[0]) / 2, (cy[0] + cy[1]) / 2])
        px, py = px.astype(_F32).astype(np.float64), py.astype(_F32).astype(np.float64)
    xs = np.append(px, float(_F32(points[0][0])))
    ys = np.append(py, float(_F32(points[0][1])))
    converted = _convert(convert, xs, ys)
    if converted is None:
        return True
    x, y = converted
    v0: tuple[float, float] = (x[0] - x[4], y[0] - y[4])  # float64 elements
    v1: tuple[float, float] = (x[1] - x[4], y[1] - y[4])
    converted_ratio = math.hypot(*v1) / math.hypot(*v0)
    if abs(ratio - converted_ratio) >= 1e-4:
        return True
    return abs(v0[0] * v1[0] + v0[1] * v1[1]) >= 1e-2


def matched_region_mask(
    region_type: int,
    points: Sequence[Point],
    rotation: float,
    convert: Convert,
    width: int,
    height: int,
    reference_scale: tuple[float, float] = (1.0, 1.0),
    target_scale: tuple[float, float] = (1.0, 1.0),
    num_vertices: int = DEFAULT_VERTEX_COUNT,
) -> RegionMask | None:
    """Mask on a ``width`` × ``height`` target image of a region drawn on another image.

    ``reference_scale``/``target_scale`` are ``(|Δx|, |Δy|)`` of both images in one
    world unit (they set the ellipse radii of a direct conversion). Raises
    :class:`RegionError` for invalid control points or types without a mask.
    """
    validate_control_points(region_type, points)
    rtype = RegionType(int(region_type))
    if rtype == RegionType.POINT:
        converted = _convert(convert, [float(_F32(points[0][0]))], [float(_F32(points[0][1]))])
        return None if converted is None else point_mask(converted[0][0], converted[1][0], width, height)
    if rtype not in (RegionType.RECTANGLE, RegionType.ELLIPSE, RegionType.POLYGON):
        raise RegionError(f"{rtype.name.lower()} regions have no pixel mask")
    if not needs_polygon_approximation(rtype, points, rotation, convert):
        return _direct(rtype, points, rotation, convert, width, height, reference_scale, target_scale)
    xs_all: list[np.ndarray] = []
    ys_all: list[np.ndarray] = []
    for xs, ys in approximate_outline(rtype, points, rotation, num_vertices):
        converted = _convert(convert, xs, ys)
        if converted is None:
            return None
        kept_x, kept_y = remove_horizontal_points(*converted)
        xs_all.append(kept_x)
        ys_all.append(kept_y)
    return polygon_mask(np.concatenate(xs_all), np.concatenate(ys_all), width, height)


def _direct(
    rtype: RegionType, points: Sequence[Point], rotation: float, convert: Convert, width: int, height: int,
    reference_scale: tuple[float, float], target_scale: tuple[float, float],
) -> RegionMask | None:
    if rtype == RegionType.RECTANGLE:
        cx, cy = rectangle_corners(points[0][0], points[0][1], points[1][0], points[1][1], rotation)
        converted = _convert(convert, cx.astype(np.float64), cy.astype(np.float64))
        return None if converted is None else polygon_mask(converted[0], converted[1], width, height)
    centre = _convert(convert, [float(_F32(points[0][0]))], [float(_F32(points[0][1]))])
    if centre is None:
        return None
    a, b = float(_F32(points[1][0])), float(_F32(points[1][1]))
    rot = _F32(rotation)
    world_a, world_b = a * abs(reference_scale[0]), b * abs(reference_scale[1])
    if world_a > world_b:
        rot = _F32(float(rot) + 90.0)
        major, minor = world_a, world_b
    else:
        major, minor = world_b, world_a
    theta = math.fmod(float(rot) * (math.pi / 180.0), math.pi)
    return lc_ellipsoid_mask(
        centre[0][0], centre[1][0], major / abs(target_scale[0]), minor / abs(target_scale[1]), theta, width, height
    )
