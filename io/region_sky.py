"""Sky frames and the image geometry of region files: world coordinates (degrees in a
named sky frame) to 0-based render pixels and back, vectorised with astropy.

World positions are converted in one astropy call per sky frame
(:meth:`ImageGeometry.world_to_pixel`), so a file of 10,000 regions costs a handful of
WCS calls, not 10,000.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

__all__ = ["FRAME_ALIASES", "ImageGeometry", "astropy_frame", "frame_name_of"]


#: Canonical frame names (casacore spelling) -> astropy frame factory arguments.
FRAME_ALIASES = {
    "J2000": "J2000", "FK5": "J2000",
    "B1950": "B1950", "FK4": "B1950", "B1950_VLA": "B1950",
    "ICRS": "ICRS",
    "GALACTIC": "GALACTIC",
    "ECLIPTIC": "ECLIPTIC",
    "SUPERGAL": "SUPERGAL",
}


def astropy_frame(name: str) -> Any:
    """The astropy frame for a canonical frame name (J2000, B1950, ICRS, ...)."""
    from astropy.coordinates import FK4, FK5, ICRS, BarycentricMeanEcliptic, Galactic, Supergalactic

    if name == "J2000":
        return FK5(equinox="J2000")
    if name == "B1950":
        return FK4(equinox="B1950")
    if name == "ICRS":
        return ICRS()
    if name == "GALACTIC":
        return Galactic()
    if name == "ECLIPTIC":
        return BarycentricMeanEcliptic(equinox="J2000")
    if name == "SUPERGAL":
        return Supergalactic()
    raise KeyError(name)


def frame_name_of(frame: Any) -> str:
    """Canonical name of an astropy celestial frame (the image's)."""
    kind = type(frame).__name__
    if kind == "FK5":
        return "J2000"
    if kind == "FK4" or kind == "FK4NoETerms":
        return "B1950"
    if kind == "ICRS":
        return "ICRS"
    if kind == "Galactic":
        return "GALACTIC"
    if "Ecliptic" in kind:
        return "ECLIPTIC"
    if kind == "Supergalactic":
        return "SUPERGAL"
    return kind.upper()


class ImageGeometry:
    """The image a region file is read onto or written from.

    ``celestial`` is the astropy WCS of the render axes (None: pixel regions only);
    ``swap`` is True when render x is the latitude axis.
    """

    def __init__(self, width: int, height: int, celestial: Any = None, swap: bool = False) -> None:
        self.width = width
        self.height = height
        self.celestial = celestial
        self.swap = swap
        self.frame_name = ""
        self.increments = (1.0, 1.0)  # |deg per pixel| of render x, y
        if celestial is not None:
            from astropy.wcs.utils import proj_plane_pixel_scales, wcs_to_celestial_frame

            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                self._frame = wcs_to_celestial_frame(celestial)
                scales = [abs(float(s)) for s in proj_plane_pixel_scales(celestial)]
            self.frame_name = frame_name_of(self._frame)
            self.increments = (scales[1], scales[0]) if swap else (scales[0], scales[1])

    @property
    def has_sky(self) -> bool:
        return self.celestial is not None

    def world_to_pixel(self, lon: np.ndarray, lat: np.ndarray, frame: str) -> tuple[np.ndarray, np.ndarray]:
        """Sky positions (degrees, in ``frame``) to 0-based render pixels (vectorised)."""
        from astropy import units as u
        from astropy.coordinates import SkyCoord

        lon = np.asarray(lon, float)
        lat = np.asarray(lat, float)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if frame != self.frame_name:
                coords = SkyCoord(lon * u.deg, lat * u.deg, frame=astropy_frame(frame))
                coords = coords.transform_to(self._frame)
                sph = coords.spherical
                lon, lat = sph.lon.deg, sph.lat.deg
            w0, w1 = (lat, lon) if self.swap else (lon, lat)
            px, py = self.celestial.wcs_world2pix(w0, w1, 0)
        xs, ys = (py, px) if self.swap else (px, py)
        return np.asarray(xs, float), np.asarray(ys, float)

    def pixel_to_world(self, xs: np.ndarray, ys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """0-based render pixels to (lon, lat) degrees in the image's own frame."""
        xs = np.asarray(xs, float)
        ys = np.asarray(ys, float)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            a, b = (ys, xs) if self.swap else (xs, ys)
            w0, w1 = self.celestial.wcs_pix2world(a, b, 0)
        lon, lat = (w1, w0) if self.swap else (w0, w1)
        return np.asarray(lon, float) % 360.0, np.asarray(lat, float)
