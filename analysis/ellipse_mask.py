"""Ellipse masks with casacore WCEllipsoid → LCEllipsoid semantics (ANALYTICS.md §1.4.3).

A CARTA ELLIPSE is ``[(cx, cy), (a, b)]`` with *semi-axes*: ``a`` lies along +y when
the rotation is 0, ``b`` along +x, and the rotation (degrees) turns the figure
counter-clockwise. The reference passes it through casacore's world ellipsoid, which
orders the radii as (major, minor) and adds 90° when ``a`` is the major axis, and then
through ``LCEllipsoid``'s 2-D constructor, whose three mask builders (axis-aligned with
the centre inside the image, axis-aligned with the centre outside, rotated) differ in
tolerance and rounding. All three are reproduced in float32, quirks included:
the axis-aligned builder's mixed ``eps`` terms, the first row of a box starting above
the centre treated as distance 0, C ``int()`` truncation toward zero of negative
column bounds when the centre is outside, and the rotated builder's early row break.
"""

from __future__ import annotations

import math

import numpy as np

from .region_geometry import RegionMask

__all__ = ["ellipse_mask", "lc_ellipsoid_mask"]

_F32 = np.float32
_PI = math.pi


def _c_int(v: float | np.floating) -> int:
    """C ``int()`` of a float: truncation toward zero."""
    return int(math.trunc(max(min(float(v), 2.0**30), -(2.0**30))))


def _near_double(u: float, v: float, tol: float = 1.0e-5) -> bool:
    if u == v:
        return True
    if u == 0:
        return abs(v) <= (1 + tol) * 2.2250738585072014e-308
    if v == 0:
        return abs(u) <= (1 + tol) * 2.2250738585072014e-308
    if (u > 0) != (v > 0):
        return False
    return abs(u - v) <= tol * max(abs(u), abs(v))


def ellipse_mask(
    center: tuple[float, float],
    semi_axes: tuple[float, float],
    rotation_deg: float,
    width: int,
    height: int,
    pixel_scale: tuple[float, float] = (1.0, 1.0),
) -> RegionMask | None:
    """Mask of a CARTA ELLIPSE region ``[(cx, cy), (a, b)]`` rotated by ``rotation_deg``.

    ``pixel_scale`` holds ``(|Δx|, |Δy|)`` of the reference coordinate system (any
    common unit). It only matters for non-square pixels, where the reference's world
    round trip divides the world major radius by ``|Δx|`` and the minor by ``|Δy|``
    whatever their orientation (as coded). Returns ``None`` for an empty ellipse or
    one entirely outside the image.
    """
    cx, cy = _F32(center[0]), _F32(center[1])
    a, b = _F32(semi_axes[0]), _F32(semi_axes[1])
    rotation = _F32(rotation_deg)
    dx, dy = abs(float(pixel_scale[0])), abs(float(pixel_scale[1]))
    world_a, world_b = float(a) * dx, float(b) * dy
    if world_a > world_b:
        # carta rotation is measured from +y, casacore's from +x
        rotation = _F32(float(rotation) + 90.0)
        major, minor = world_a, world_b
    else:
        major, minor = world_b, world_a
    theta = math.fmod(float(rotation) * (_PI / 180.0), _PI)
    return lc_ellipsoid_mask(float(cx), float(cy), major / dx, minor / dy, theta, width, height)


def lc_ellipsoid_mask(
    cx: float, cy: float, major: float, minor: float, theta: float, width: int, height: int
) -> RegionMask | None:
    """casacore ``LCEllipsoid(xcenter, ycenter, major, minor, theta, shape)`` (radians)."""
    cx32, cy32 = _F32(cx), _F32(cy)
    r_major, r_minor = _F32(major), _F32(minor)
    th = np.fmod(_F32(theta), _F32(_PI))
    if th < 0:
        th = _F32(float(th) + _PI)
    if _near_double(float(th), _PI / 2):
        radii = (r_minor, r_major)
        th = _F32(0.0)
    else:
        radii = (r_major, r_minor)
    center = (cx32, cy32)
    shape = (width, height)
    if float(th) == 0.0 or abs(float(th)) <= (1 + 1e-5) * float(np.finfo(np.float32).tiny):
        box = _make_box(center, radii, shape)
        if box is None:
            return None
        blc, trc, eps, center_inside = box
        if center_inside:
            mask = _aligned_mask(center, radii, eps, blc, trc)
        else:
            mask = _outside_mask(center, radii, eps, blc, trc)
            if not mask.any():
                return None
    else:
        big = max(radii[0], radii[1])
        box = _make_box(center, (big, big), shape)
        if box is None:
            return None
        blc, trc, _eps, center_inside = box
        mask = _rotated_mask(center, radii, th, blc, trc)
        if not center_inside and not mask.any():
            return None
    return RegionMask(blc[0], blc[1], mask)


def _make_box(
    center: tuple[np.float32, np.float32], radii: tuple[np.float32, np.float32], shape: tuple[int, int]
) -> tuple[tuple[int, int], tuple[int, int], tuple[np.float32, np.float32], bool] | None:
    """``LCEllipsoid::_makeBox``: per-axis epsilon, tolerant box, outside/empty checks."""
    blc, trc, eps = [], [], []
    center_inside = True
    one = _F32(1.0)
    for c, r, n in zip(center, radii, shape):
        if c > n - 1 or c < 0:
            center_inside = False
            if c + r < 0 or c - r > n - 1:
                return None  # "Ellipsoid lies completely outside the lattice"
        two_r = _F32(2.0) * r
        exponent = _c_int(float(np.log10(two_r))) if two_r > 0 else -(2**30)
        e = _F32(10.0 ** (exponent - 5)) if exponent > -300 else _F32(0.0)
        lo = max(_c_int(c - r + one - e), 0)
        hi = min(_c_int(c + r + e), n - 1)
        if lo > hi:
            return None  # "ellipsoid is empty (radii too small)"
        blc.append(lo)
        trc.append(hi)
        eps.append(e)
    return (blc[0], blc[1]), (trc[0], trc[1]), (eps[0], eps[1]), center_inside


#: (x, y) in float32, as casacore computes ellipse geometry.
Pair32 = tuple[np.float32, np.float32]


def _aligned_mask(center: Pair32, radii: Pair32, eps: Pair32, blc: tuple[int, int], trc: tuple[int, int]) -> np.ndarray:
    """``LCEllipsoid::defineMask`` (2-D, centre inside the image)."""
    nx, ny = trc[0] - blc[0] + 1, trc[1] - blc[1] + 1
    c0 = center[0] - _F32(blc[0])
    c1 = center[1] - _F32(blc[1])
    radsq0 = radii[0] * radii[0]
    rows = np.arange(ny)
    d = np.abs(c1 - rows.astype(_F32)).astype(_F32)
    d[0] = max(_F32(0.0), c1)  # first row: max(0, centre) rather than |centre - 0|
    d = (d / radii[1]).astype(_F32)
    rest = (_F32(1.0) - d * d).astype(_F32)
    ok = rest >= 0
    half = (np.sqrt(np.where(ok, rest, _F32(0.0)) * radsq0) + eps[0]).astype(_F32)
    start = (c0 - half + _F32(1.0) - eps[1]).astype(_F32)
    end = (c0 + half + eps[1]).astype(_F32)
    return _row_spans(ok, start, end, nx)


def _outside_mask(center: Pair32, radii: Pair32, eps: Pair32, blc: tuple[int, int], trc: tuple[int, int]) -> np.ndarray:
    """``LCEllipsoid::_doOutside`` (axis-aligned, centre outside the image)."""
    nx, ny = trc[0] - blc[0] + 1, trc[1] - blc[1] + 1
    c0 = center[0] - _F32(blc[0])
    c1 = center[1] - _F32(blc[1])
    rad2_1 = radii[1] * radii[1]
    rows = np.arange(ny)
    d = ((c1 - rows.astype(_F32)) / radii[1]).astype(_F32)
    d2 = (d * d).astype(_F32)
    d2[0] = c1 * c1 / rad2_1  # first row: centre²/radius² rather than (centre/radius)²
    rest = (_F32(1.0) - d2).astype(_F32)
    ok = rest >= 0
    half = (radii[0] * np.sqrt(np.where(ok, rest, _F32(0.0)))).astype(_F32)
    start = (c0 - half + _F32(1.0) - eps[0]).astype(_F32)
    end = (c0 + half + eps[0]).astype(_F32)
    return _row_spans(ok, start, end, nx)


def _row_spans(ok: np.ndarray, start: np.ndarray, end: np.ndarray, nx: int) -> np.ndarray:
    lo = np.maximum(np.trunc(start.astype(np.float64)), 0)
    hi = np.minimum(np.trunc(end.astype(np.float64)), nx - 1)
    cols = np.arange(nx)
    return ok[:, None] & (cols[None, :] >= lo[:, None]) & (cols[None, :] <= hi[:, None])


def _rotated_mask(center: Pair32, radii: Pair32, theta: float | np.floating, blc: tuple[int, int], trc: tuple[int, int]) -> np.ndarray:
    """``LCEllipsoid::_defineMask2D`` with its per-row early break."""
    nx, ny = trc[0] - blc[0] + 1, trc[1] - blc[1] + 1
    c0 = center[0] - _F32(blc[0])
    c1 = center[1] - _F32(blc[1])
    rad2_0 = radii[0] * radii[0]
    rad2_1 = radii[1] * radii[1]
    cos_t = _F32(math.cos(-float(theta)))
    sin_t = _F32(math.sin(-float(theta)))
    ydiff = (np.arange(ny).astype(_F32) - c1)[:, None]
    xdiff = (np.arange(nx).astype(_F32) - c0)[None, :]
    xp = xdiff * cos_t - ydiff * sin_t
    yp = xdiff * sin_t + ydiff * cos_t
    total = (xp * xp / rad2_0 + yp * yp / rad2_1).astype(_F32)
    inside = total <= 1
    # The scan of a row stops at the first x > 0 that is outside and further than x - 1.
    stop = np.zeros_like(inside)
    stop[:, 1:] = (total[:, 1:] > 1) & (total[:, 1:] > total[:, :-1])
    stopped = np.cumsum(stop, axis=1) > 0
    mask: np.ndarray = inside & ~stopped
    return mask
