"""Render-plane pixels to sky positions, for lengths along lines drawn on an image.

PV cuts (and line profiles) measure their offset increment as the great-circle
distance between box centres (ANALYTICS.md §5.2). That needs the image's direction
coordinate on the render axes; images whose render plane is not a celestial pair
(e.g. a swapped FREQ × RA cube, or linear axes) have none, and the reference then
refuses: "Cannot approximate line with no direction coordinate."
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from carta_trio.io.coord_ranges import build_wcs
from carta_trio.io.image_reader import ImageReader

__all__ = ["SkyCoordinates", "pixel_scales", "sky_coordinates"]

_ARCSEC_PER_DEG = 3600.0


@dataclass
class SkyCoordinates:
    """The celestial part of an image's WCS, addressed by render-plane pixels."""

    celestial: Any  # astropy.wcs.WCS of the two render axes, in render (file) order
    swap: bool  # True when the render x axis is the celestial latitude axis

    def to_sky(self, xs: np.ndarray, ys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(longitude, latitude) in degrees at 0-based render pixels."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            w0, w1 = self.celestial.wcs_pix2world(np.asarray(xs, float), np.asarray(ys, float), 0)
        lon, lat = (w1, w0) if self.swap else (w0, w1)
        return np.asarray(lon, float), np.asarray(lat, float)

    def separations_arcsec(self, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
        """Great-circle distances between consecutive points (arcsec, Vincenty formula)."""
        lon, lat = self.to_sky(xs, ys)
        lon1, lat1 = np.radians(lon[:-1]), np.radians(lat[:-1])
        lon2, lat2 = np.radians(lon[1:]), np.radians(lat[1:])
        dlon = lon2 - lon1
        num1 = np.cos(lat2) * np.sin(dlon)
        num2 = np.cos(lat1) * np.sin(lat2) - np.sin(lat1) * np.cos(lat2) * np.cos(dlon)
        den = np.sin(lat1) * np.sin(lat2) + np.cos(lat1) * np.cos(lat2) * np.cos(dlon)
        separation: np.ndarray = np.degrees(np.arctan2(np.hypot(num1, num2), den)) * _ARCSEC_PER_DEG
        return separation

    def pixel_scales_arcsec(self) -> tuple[float, float]:
        """|increment| of the render x and y axes in arcsec (CDELT, or the CD matrix scale)."""
        from astropy.wcs.utils import proj_plane_pixel_scales

        scales = [float(s) * _ARCSEC_PER_DEG for s in proj_plane_pixel_scales(self.celestial)]
        return scales[0], scales[1]


def sky_coordinates(reader: ImageReader) -> SkyCoordinates | None:
    """The render plane's celestial WCS, or None without a direction coordinate there."""
    try:
        cards = reader.header_strings()
    except NotImplementedError:
        return None
    wcs = build_wcs(cards, reader.ndim)
    if wcs is None:
        return None
    w = wcs.wcs
    axes = reader.axes
    if w.lng < 0 or w.lat < 0 or {axes.x, axes.y} != {w.lng, w.lat}:
        return None
    try:
        celestial = wcs.celestial
    except Exception:  # noqa: BLE001 - astropy raises several types for odd headers
        return None
    swap = celestial.wcs.lng != 0
    scales = SkyCoordinates(celestial, swap).pixel_scales_arcsec()
    if not all(math.isfinite(s) and s > 0 for s in scales):
        return None
    return SkyCoordinates(celestial, swap)


def pixel_scales(reader: ImageReader, x_axis: int | None = None,
                 y_axis: int | None = None) -> tuple[float, float] | None:
    """|world increment| per pixel along two image axes (default: the render axes).

    The one pixel-scale rule: from the header's WCS with astropy, so CDELT, CD and
    PC matrices (rotated or not) all give the length of a pixel step along each axis
    (``proj_plane_pixel_scales``). Angular axes are in arcsec, others in their own
    unit. None when the header has no usable WCS or a scale is not positive.
    """
    from astropy import units as u
    from astropy.wcs.utils import proj_plane_pixel_scales

    axes = reader.axes
    x = axes.x if x_axis is None else x_axis
    y = axes.y if y_axis is None else y_axis
    try:
        cards = reader.header_strings()
    except NotImplementedError:
        return None
    wcs = build_wcs(cards, reader.ndim)
    if wcs is None:
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sub = wcs.sub([x + 1, y + 1])
            raw = [float(v) for v in proj_plane_pixel_scales(sub)]
            units = list(sub.wcs.cunit)
    except Exception:  # noqa: BLE001 - astropy raises several types for odd headers
        return None
    out = []
    for value, unit in zip(raw, units):
        try:
            factor = float(u.Unit(unit).to(u.arcsec)) if u.Unit(unit).physical_type == "angle" else 1.0
        except (ValueError, TypeError):
            factor = 1.0
        out.append(abs(value) * factor)
    if not all(math.isfinite(v) and v > 0 for v in out):
        return None
    return out[0], out[1]
