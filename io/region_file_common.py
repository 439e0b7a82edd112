"""Shared pieces of the CRTF and DS9 region-file dialects: plain region data, sky
frames, quantities (units and sexagesimal), colours, and the image geometry that
turns world coordinates into 0-based image pixels and back.

Everything here is pure (numpy + astropy); the actors turn :class:`ImportedRegion`
into protobuf messages. World positions are converted in one vectorised astropy call
per sky frame (:meth:`ImageGeometry.world_to_pixel`), so a file of 10,000 regions
costs a handful of WCS calls, not 10,000. Lengths are converted per axis as
``|value| / |increment|`` (no cos(dec) factor), as the reference does
(FILES_REGIONS_CATALOGS.md §1.1).
"""

from __future__ import annotations

import math
import re
import warnings
from dataclasses import dataclass, field
from collections.abc import Callable
from typing import Any

import numpy as np

from carta_trio.analysis.region_geometry import RegionType

__all__ = [
    "AnnotationData",
    "ImageGeometry",
    "ImportResult",
    "ImportedRegion",
    "Pending",
    "QuantityError",
    "StyleData",
    "hex_color",
    "parse_angle_value",
    "resolve_pending",
]

Point = tuple[float, float]

#: Conversion failure messages of the reference (§1.1).
PIXEL_CONVERSION_FAILED = "Conversion of region parameters to image pixel coordinates failed.\n"
FRAME_CONVERSION_FAILED = "Conversion of region parameters to image coordinate system failed.\n"

#: Limit for any pixel value (coordinates or sizes): a region this far away is an error.
MAX_PIXEL = 1.0e9

ANNOTATION_SHAPES = {  # PointAnnotationShape
    "SQUARE": 0, "BOX": 1, "CIRCLE": 2, "CIRCLE_LINED": 3, "DIAMOND": 4, "DIAMOND_LINED": 5, "CROSS": 6, "X": 7,
}
TEXT_POSITIONS = {  # TextAnnotationPosition, keyed by the CRTF/DS9 ``align`` word
    "center": 0, "uleft": 1, "uright": 2, "lleft": 3, "lright": 4, "top": 5, "bottom": 6, "left": 7, "right": 8,
}
ALIGN_WORDS = {v: k for k, v in TEXT_POSITIONS.items()}


@dataclass
class AnnotationData:
    """CARTA.AnnotationStyle as plain data."""

    point_shape: int = 0
    point_width: int = 0
    text_label0: str = ""
    text_label1: str = ""
    coordinate_system: str = ""
    is_north_arrow: bool = False
    is_east_arrow: bool = False
    text_position: int = 0
    font_style: str = ""
    font: str = ""
    font_size: int = 0


@dataclass
class StyleData:
    """CARTA.RegionStyle as plain data; ``annotation`` None means "not present"."""

    name: str = ""
    color: str = ""
    line_width: int = 1
    dash_list: list[int] = field(default_factory=list)
    annotation: AnnotationData | None = None


@dataclass
class ImportedRegion:
    """One region ready for the session: RegionInfo + RegionStyle + source line."""

    region_type: int
    points: list[Point]
    rotation: float
    style: StyleData
    line: int = 0


@dataclass
class ImportResult:
    """What a dialect parser returns: regions in file order and per-line errors."""

    regions: list[ImportedRegion]
    errors: list[tuple[int, str]]

    @property
    def message(self) -> str:
        """Errors as text, one per line, each naming its line number."""
        return "".join(f"Line {n}: {text.rstrip(chr(10))}\n" if n else text for n, text in self.errors)


class QuantityError(ValueError):
    """A value that is not a number with a known unit."""


# --- quantities -------------------------------------------------------------------

_DEG_PER = {
    "deg": 1.0, "degree": 1.0, "degrees": 1.0, "d": 1.0,
    "rad": 180.0 / math.pi, "r": 180.0 / math.pi,
    "arcmin": 1.0 / 60.0, "'": 1.0 / 60.0, "amin": 1.0 / 60.0,
    "arcsec": 1.0 / 3600.0, '"': 1.0 / 3600.0, "asec": 1.0 / 3600.0,
    "mas": 1.0 / 3.6e6, "marcsec": 1.0 / 3.6e6,
}
_NUMBER = r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?"
_NUM_UNIT = re.compile(rf"^({_NUMBER})\s*([A-Za-z\"']*)$")
_HMS_COLON = re.compile(r"^([+-]?)(\d+):(\d+):(\d+\.?\d*)$")
_DMS_DOTS = re.compile(r"^([+-]?)(\d+)\.(\d+)\.(\d+\.?\d*)$")
_HMS_LETTERS = re.compile(r"^([+-]?)(\d+)[hH](\d+)[mM](\d+\.?\d*)[sS]?$")
_DMS_LETTERS = re.compile(r"^([+-]?)(\d+)[dD](\d+)[mM](\d+\.?\d*)[sS]?$")


def _sexagesimal(sign: str, a: str, b: str, c: str) -> float:
    value = float(a) + float(b) / 60.0 + float(c) / 3600.0
    return -value if sign == "-" else value


def parse_angle_value(text: str, *, colon_is_hours: bool = True) -> tuple[float, str]:
    """A coordinate or length: ``(value, kind)`` with kind ``"deg"`` (value in degrees),
    ``"pix"`` or ``""`` (a plain number without unit).

    Accepts ``<n><unit>`` with deg/rad/arcmin/arcsec/mas/pix (and DS9's one-letter
    ``d r ' " p i``), ``hh:mm:ss.s`` (hours; degrees when ``colon_is_hours`` is
    False), ``dd.mm.ss.s`` (degrees), ``hhHmmMss.s`` and ``ddDmmMss.s``. Raises
    :class:`QuantityError` for anything else or a non-finite value.
    """
    s = text.strip()
    m = _NUM_UNIT.match(s)
    if m:
        value, unit = float(m.group(1)), m.group(2)
        if not math.isfinite(value):
            raise QuantityError(text)
        if unit == "":
            return value, ""
        lowered = unit.lower()
        if lowered in ("pix", "pixel", "pixels", "p", "i"):
            return value, "pix"
        factor = _DEG_PER.get(lowered if unit not in ("'", '"') else unit)
        if factor is None:
            raise QuantityError(text)
        return value * factor, "deg"
    for pattern, scale in ((_HMS_COLON, 15.0 if colon_is_hours else 1.0), (_DMS_DOTS, 1.0),
                           (_HMS_LETTERS, 15.0), (_DMS_LETTERS, 1.0)):
        m = pattern.match(s)
        if m:
            return _sexagesimal(*m.groups()) * scale, "deg"
    if s.lower() in ("nan", "inf", "-inf", "+inf", "infinity"):
        raise QuantityError(text)
    raise QuantityError(text)


# --- colours -----------------------------------------------------------------------

_HEX = re.compile(r"^#?([0-9a-fA-F]{6}|[0-9a-fA-F]{3})$")


def hex_color(value: str) -> str:
    """``2ee6d6`` / ``#2ee6d6`` -> ``#2EE6D6``; colour names are kept as written."""
    m = _HEX.match(value.strip())
    if m:
        return "#" + m.group(1).upper()
    return value.strip()


# --- sky frames -------------------------------------------------------------------

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


# --- pending regions: parsed, world values not yet converted -------------------------

#: Makes the region from converted positions and lengths (pixels); None when they do not fit.
Builder = Callable[[list[Point], list[float]], "ImportedRegion | None"]


@dataclass
class Pending:
    """A parsed region whose values may still be in world units.

    ``coords`` holds (value, kind) pairs for x/y positions (kind ``deg``, ``pix``, or
    ``""`` when the dialect says a plain number is a pixel already converted);
    ``lengths`` holds (value, kind, axis) for sizes. ``frame`` names the sky frame of
    the world positions. ``build`` makes the region from converted positions and
    lengths (pixels).
    """

    line: int
    keyword: str
    coords: list[tuple[tuple[float, str], tuple[float, str]]]
    lengths: list[tuple[float, str, int]]
    frame: str
    build: Builder
    error: str = ""  # message when the conversion fails


def resolve_pending(pending: list[Pending], geometry: ImageGeometry) -> ImportResult:
    """Convert every pending region to pixels (one astropy call per frame)."""
    errors: list[tuple[int, str]] = []
    regions: list[ImportedRegion | None] = [None] * len(pending)
    points: list[list[Point] | None] = []
    # Gather world positions per frame.
    world: dict[str, list[tuple[int, int, float, float]]] = {}
    for i, p in enumerate(pending):
        pts: list[Point] = []
        failed = False
        for j, ((xv, xk), (yv, yk)) in enumerate(p.coords):
            if xk == "deg" and yk == "deg":
                if not geometry.has_sky or not p.frame:
                    failed = True
                    errors.append((p.line, PIXEL_CONVERSION_FAILED))
                    break
                world.setdefault(p.frame, []).append((i, j, xv, yv))
                pts.append((math.nan, math.nan))
            elif xk != "deg" and yk != "deg":
                pts.append((xv, yv))
            else:
                failed = True
                errors.append((p.line, p.error or f"{p.keyword} import failed.\n"))
                break
        points.append(None if failed else pts)
    for frame, items in world.items():
        idx = np.array([(i, j) for i, j, _, _ in items], dtype=np.int64)
        lon = np.array([it[2] for it in items])
        lat = np.array([it[3] for it in items])
        try:
            xs, ys = geometry.world_to_pixel(lon, lat, frame)
        except Exception:  # noqa: BLE001 - astropy raises many types for odd frames/WCS
            xs = ys = np.full(len(items), np.nan)
            for i in sorted({int(i) for i, _ in idx}):
                if points[i] is not None:
                    errors.append((pending[i].line, FRAME_CONVERSION_FAILED))
                    points[i] = None
        for (i, j), x, y in zip(idx.tolist(), xs.tolist(), ys.tolist()):
            converted = points[i]
            if converted is not None:
                converted[j] = (x, y)
    for i, p in enumerate(pending):
        found = points[i]
        if found is None:
            continue
        pts = found
        if not all(math.isfinite(x) and math.isfinite(y) and abs(x) < MAX_PIXEL and abs(y) < MAX_PIXEL
                   for x, y in pts):
            errors.append((p.line, PIXEL_CONVERSION_FAILED))
            continue
        lengths: list[float] = []
        ok = True
        for value, kind, axis in p.lengths:
            if kind == "deg":
                if not geometry.has_sky:
                    ok = False
                    break
                value = value / geometry.increments[axis]
            if not math.isfinite(value) or abs(value) >= MAX_PIXEL:
                ok = False
                break
            lengths.append(value)
        if not ok:
            errors.append((p.line, PIXEL_CONVERSION_FAILED))
            continue
        region = p.build(pts, lengths)
        if region is None:
            errors.append((p.line, p.error or f"{p.keyword} import failed.\n"))
            continue
        region.line = p.line
        if geometry.width and geometry.height and _entirely_outside(region, geometry):
            errors.append((p.line, f"{p.keyword} lies entirely outside the image (imported anyway).\n"))
        regions[i] = region
    errors.sort(key=lambda e: e[0])
    return ImportResult([r for r in regions if r is not None], errors)


_SIZED = frozenset({RegionType.RECTANGLE, RegionType.ANNRECTANGLE, RegionType.ELLIPSE, RegionType.ANNELLIPSE,
                    RegionType.ANNTEXT, RegionType.ANNCOMPASS})


def _entirely_outside(region: ImportedRegion, geometry: ImageGeometry) -> bool:
    """True when the region's extent (centre +- size, or its vertices) misses the image."""
    if region.region_type in _SIZED:
        (x, y), (w, h) = region.points[0], region.points[1]
        reach = math.hypot(w, h)
        xs: tuple[float, ...] = (x - reach, x + reach)
        ys: tuple[float, ...] = (y - reach, y + reach)
    else:
        xs = tuple(p[0] for p in region.points)
        ys = tuple(p[1] for p in region.points)
    return (max(xs) < -0.5 or min(xs) > geometry.width - 0.5
            or max(ys) < -0.5 or min(ys) > geometry.height - 0.5)


def is_annotation_type(region_type: int) -> bool:
    return int(region_type) > int(RegionType.POLYGON)


def fmt_float(value: float) -> str:
    """Shortest round-trip repr of a float, integers without ``.0`` (``45``, ``318.95805``)."""
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return repr(float(value))
