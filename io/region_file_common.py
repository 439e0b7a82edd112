"""What the CRTF and DS9 region readers share: plain region data (styles, annotation
styles, imported regions), the region a parsed line still has to become
(:class:`Pending`) and :func:`resolve_pending`, which converts world values to 0-based
image pixels, plus the control-point layouts and annotation labels both dialects build.

Everything here is pure (numpy + astropy); the actors turn :class:`ImportedRegion`
into protobuf messages. Sky frames and the WCS are in :mod:`region_sky`; quantities
and colours in :mod:`region_values`. Lengths are converted per axis as
``|value| / |increment|`` (no cos(dec) factor), as the reference does
(FILES_REGIONS_CATALOGS.md §1.1).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from carta_trio.analysis.region_geometry import RegionType
from carta_trio.io.region_sky import ImageGeometry

__all__ = [
    "AnnotationData",
    "ImportResult",
    "ImportedRegion",
    "Pending",
    "StyleData",
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
#: The annotation type of a region type, for a region a file marks as an annotation.
ANNOTATION_TYPES: dict[int, int] = {
    RegionType.POINT: RegionType.ANNPOINT, RegionType.RECTANGLE: RegionType.ANNRECTANGLE,
    RegionType.ELLIPSE: RegionType.ANNELLIPSE, RegionType.POLYGON: RegionType.ANNPOLYGON,
    RegionType.POLYLINE: RegionType.ANNPOLYLINE, RegionType.LINE: RegionType.ANNLINE,
}


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


def set_labels(ann: AnnotationData, region_type: int, text: str, align: str, compass: str) -> None:
    """The labels of a text annotation (``text``, ``align`` word) or a compass
    (``compass=<frame> {N} {E} <north arrow 0/1> <east arrow 0/1>``), as both dialects
    write them."""
    if region_type == RegionType.ANNTEXT:
        ann.text_label0 = text
        ann.text_position = TEXT_POSITIONS.get(align.lower(), 0)
    elif region_type == RegionType.ANNCOMPASS:
        words = compass.split()
        if len(words) == 5:
            ann.coordinate_system = words[0]
            ann.text_label0, ann.text_label1 = words[1].strip("{}"), words[2].strip("{}")
            ann.is_north_arrow, ann.is_east_arrow = words[3] == "1", words[4] == "1"


def layout_builder(region_type: int, rotation: float, style: StyleData, layout: str) -> Builder:
    """A :attr:`Pending.build` for one control-point layout of a parsed region:

    ``corners`` (two opposite corners: centre and size; None when the box is empty),
    ``sized`` (centre and two lengths), ``radius`` (centre and one length for both
    axes), ``text`` (a position, no size), ``vector`` (a start, a length and
    ``rotation`` in degrees: start and end points), anything else the points as given.
    """

    def build(points: list[Point], lengths: list[float]) -> ImportedRegion | None:
        angle = rotation
        if layout == "corners":
            (x1, y1), (x2, y2) = points
            w, h = abs(x2 - x1), abs(y2 - y1)
            if w <= 0 or h <= 0:
                return None
            pts = [((x1 + x2) / 2, (y1 + y2) / 2), (w, h)]
        elif layout == "sized":
            pts = [points[0], (lengths[0], lengths[1])]
        elif layout == "radius":
            pts = [points[0], (lengths[0], lengths[0])]
        elif layout == "text":
            pts = [points[0], (0.0, 0.0)]
        elif layout == "vector":
            (x, y), length, a = points[0], lengths[0], math.radians(rotation)
            pts, angle = [(x, y), (x + length * math.cos(a), y + length * math.sin(a))], 0.0
        else:
            pts = list(points)
        return ImportedRegion(region_type, pts, angle, style)

    return build


def is_annotation_type(region_type: int) -> bool:
    return int(region_type) > int(RegionType.POLYGON)
