"""SAOImage DS9 region files: read into CARTA regions (IMPORT_REGION).

Reading follows the reference's shape table (FILES_REGIONS_CATALOGS.md §1.5): before
any coordinate-system line a file is in image pixels (1-based, so 1 is subtracted
from x/y); ``image``/``physical`` select pixels, ``fk5``/``j2000``, ``fk4``/``b1950``,
``icrs``, ``galactic`` and ``ecliptic`` select sky frames, where a unitless number is
in degrees. Lines are also split on ``;``. Bad pieces are reported with their line
number and the reference's text and the good ones still import.

Deliberately not copied from the reference: a ``global`` word inside a region's text
is not a global line; ``image`` after a sky frame switches back to pixels; explicit
``i``/``p`` positions are 1-based like plain ones; galactic/ecliptic sexagesimal
longitudes are degrees (DS9's meaning), not hours; a global ``width`` applies;
box/ellipse angles honour their unit; a ``# textbox`` takes its style only from a
following ``text`` region.

The writer is :mod:`region_export_ds9`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable

from carta_trio.analysis.region_geometry import RegionType as RT
from carta_trio.io.region_file_common import (
    ANNOTATION_SHAPES,
    ANNOTATION_TYPES,
    AnnotationData,
    Builder,
    ImportedRegion,
    ImportResult,
    Pending,
    Point,
    StyleData,
    layout_builder,
    resolve_pending,
    set_labels,
)
from carta_trio.io.region_sky import ImageGeometry
from carta_trio.io.region_values import QUOTES, QuantityError, hex_color, parse_angle_value, properties, split_outside

__all__ = ["HEADER", "import_ds9"]

HEADER = ("# Region file format: DS9 CARTA 4.1.0\n"
          "global color=green dashlist=8 3 width=1 font=\"helvetica 10 normal roman\" select=1 highlite=1 dash=0 "
          "fixed=0 edit=1 move=1 delete=1 include=1 source=1\n")

_FRAMES = {"image": "", "physical": "", "fk5": "J2000", "j2000": "J2000", "fk4": "B1950", "b1950": "B1950",
           "icrs": "ICRS", "galactic": "GALACTIC", "ecliptic": "ECLIPTIC"}
_UNUSABLE_FRAMES = {"wcs", "wcsa", "linear", "amplifier", "detector"} | {f"wcs{c}" for c in "abcdefghijklmnopqrstuvwxyz"}
_EQUATORIAL = {"J2000", "B1950", "ICRS"}
_SHAPES: dict[str, int] = {"point": RT.POINT, "circle": RT.ELLIPSE, "ellipse": RT.ELLIPSE, "box": RT.RECTANGLE,
           "polygon": RT.POLYGON, "line": RT.LINE, "polyline": RT.POLYLINE, "segment": RT.ANNPOLYLINE,
           "vector": RT.ANNVECTOR, "text": RT.ANNTEXT, "textbox": RT.ANNTEXT, "ruler": RT.ANNRULER,
           "compass": RT.ANNCOMPASS}
_UNSUPPORTED = {"annulus", "panda", "epanda", "bpanda", "projection", "composite"}
_POINT_WORDS = {"circle", "box", "diamond", "cross", "x", "arrow", "boxcircle"}
_REGION = re.compile(r"^([+-]?)\s*(?:(\w+)\s+)?(\w+)\s*\(([^)]*)\)\s*(.*)$")
_PROPERTY = re.compile(r"""(\w+)\s*=\s*(\{[^}]*\}|"[^"]*"|'[^']*'|[^\s=]+(?:\s+(?!\w+\s*=)[^\s=#]+)*)""")


class _PieceError(Exception):
    pass


def _properties(text: str) -> dict[str, str]:
    return properties(_PROPERTY, text, (("{", "}"), *QUOTES))


def _split_pieces(line: str) -> list[str]:
    """Split on ``;`` outside ``{}`` and quotes."""
    return split_outside(line, ";", "{", "}", clamp=True)


class _Reader:
    """Parser state across the lines of one file."""

    def __init__(self, geometry: ImageGeometry) -> None:
        self.geometry = geometry
        self.frame = ""  # "" = image pixels
        self.unusable = False
        self.glob: dict[str, str] = {}
        self.pending: list[Pending] = []
        self.errors: list[tuple[int, str]] = []
        self.held: Pending | None = None

    # -- values --------------------------------------------------------------
    def position(self, text: str, latitude: bool) -> tuple[float, str]:
        if self.frame:
            colon_hours = not latitude and self.frame in _EQUATORIAL
            value, kind = parse_angle_value(text, colon_is_hours=colon_hours)
            if kind == "":
                return value, "deg"
            if kind == "pix":
                return value - 1.0, "pix"
            return value, kind
        value, kind = parse_angle_value(text, colon_is_hours=not latitude)
        if kind in ("", "pix"):
            return value - 1.0, "pix"
        return value, kind

    def length(self, text: str, axis: int) -> tuple[float, str, int]:
        value, kind = parse_angle_value(text)
        if kind == "":
            kind = "deg" if self.frame else "pix"
        return abs(value), kind, axis

    # -- pieces --------------------------------------------------------------
    def piece(self, number: int, text: str) -> None:
        piece = text.strip()
        if not piece:
            return
        annotation = False
        if piece.startswith("#"):
            body = piece[1:].lstrip()
            m = re.match(r"(\w+)\s*\(", body)
            if not m or m.group(1).lower() not in _SHAPES or m.group(1).lower() == "composite":
                return  # a comment (headers included)
            annotation, piece = True, body
        if piece.startswith("-"):
            return  # excluded regions are not imported
        lowered = piece.lower()
        if lowered.split(None, 1)[0] == "global":
            self.glob.update(_properties(piece[6:]))
            return
        if lowered in _FRAMES:
            self.frame, self.unusable = _FRAMES[lowered], False
            return
        if lowered in _UNUSABLE_FRAMES or lowered.startswith("tile "):
            self.unusable = True
            return
        m = _REGION.match(piece)
        if not m:
            self.errors.append((number, f"Invalid DS9 region syntax: {piece}\n"))
            return
        prefix_shape, shape, args, tail = (m.group(2) or "").lower(), m.group(3).lower(), m.group(4), m.group(5)
        if prefix_shape in _FRAMES:  # "fk5 circle(...)"
            self.frame, prefix_shape = _FRAMES[prefix_shape], ""
        if shape in _UNSUPPORTED:
            self.errors.append((number, f"DS9 {shape} region not supported.\n"))
            return
        if shape not in _SHAPES:
            self.errors.append((number, f"Invalid DS9 region syntax: {piece}\n"))
            return
        if self.unusable:
            self.errors.append((number, f"Failed to apply {shape} to image: coordinate system not supported.\n"))
            return
        props = _properties(tail.lstrip("#"))
        values = [v for v in re.split(r"[\s,]+", args.strip()) if v]
        try:
            item = self.region(number, shape, prefix_shape, annotation, values, props)
        except (_PieceError, QuantityError) as exc:
            reason = str(exc) if isinstance(exc, _PieceError) else f"{shape} invalid parameter {exc}, not a numeric value."
            self.errors.append((number, f"{reason}\n"))
            self.errors.append((number, f"Invalid DS9 region syntax: {piece}\n"))
            return
        if shape == "textbox":
            if self.held is not None:
                self.pending.append(self.held)
            self.held = item
            return
        if shape == "text" and self.held is not None:
            held_build, text_style = self.held.build, item.build(  # style of the text line
                [(0.0, 0.0)], [])
            self.held.build = _restyled(held_build, text_style.style if text_style else None)
            self.pending.append(self.held)
            self.held = None
            return
        if self.held is not None:
            self.pending.append(self.held)
            self.held = None
        self.pending.append(item)

    def region(self, number: int, shape: str, prefix: str, annotation: bool, v: list[str],
               props: dict[str, str]) -> Pending:
        region_type = _SHAPES[shape]
        if annotation:
            region_type = ANNOTATION_TYPES.get(region_type, region_type)
        n = len(v)
        lengths: list[tuple[float, str, int]] = []
        rotation = 0.0
        layout = "points"

        def pos(i: int) -> tuple[tuple[float, str], tuple[float, str]]:
            return self.position(v[i], False), self.position(v[i + 1], True)

        if shape == "point" or shape == "text":
            if n < 2:
                raise _PieceError(f"{shape} syntax error.")
            coords = [pos(0)]
            if shape == "text":
                layout = "text"
                rotation = _number(props.get("textangle", "0"), shape)
        elif shape == "circle":
            if n != 3:
                raise _PieceError(f"{'DS9 annulus region not supported.' if n > 3 else 'circle syntax error.'}")
            coords, lengths, layout = [pos(0)], [self.length(v[2], 0)], "radius"
        elif shape in ("ellipse", "box", "textbox"):
            if n > 5:
                name = "box" if shape == "box" else "ellipse"
                raise _PieceError(f"DS9 {name} annulus region not supported.")
            if n < 4:
                raise _PieceError(f"{shape} syntax error.")
            coords, lengths, layout = [pos(0)], [self.length(v[2], 0), self.length(v[3], 1)], "sized"
            angle = _angle(v[4], shape) if n == 5 else 0.0
            if shape == "ellipse" and v[2] != v[3]:
                angle -= 90.0
            rotation = angle % 360.0
        elif shape in ("line", "ruler"):
            if n != 4:
                raise _PieceError(f"{shape} syntax error.")
            coords = [pos(0), pos(2)]
        elif shape in ("polygon", "polyline", "segment"):
            if n < 6 or n % 2:
                raise _PieceError(f"{shape} syntax error.")
            coords = [pos(i) for i in range(0, n, 2)]
        elif shape == "vector":
            if n != 4:
                raise _PieceError("Unsupported vector definition.")
            coords, lengths, layout = [pos(0)], [self.length(v[2], 0)], "vector"
            rotation = _angle(v[3], shape)  # used only to place the tip
        else:  # compass
            if n != 3:
                raise _PieceError("compass syntax error.")
            coords, lengths, layout = [pos(0)], [self.length(v[2], 0)], "radius"
        style = self.style(region_type, prefix, props)
        return Pending(number, shape, coords, lengths, self.frame, layout_builder(region_type, rotation, style, layout),
                       error=f"Failed to apply {shape} to image.\n")

    def style(self, region_type: int, prefix: str, props: dict[str, str]) -> StyleData:
        def get(key: str, default: str = "") -> str:
            return props.get(key, self.glob.get(key, default))

        text = props.get("text", "")
        style = StyleData(color=hex_color(get("color", "#2EE6D6")))
        if region_type != RT.ANNTEXT:
            style.name = text
        try:
            style.line_width = max(0, int(float(get("width", "2"))))
        except ValueError:
            style.line_width = 2
        if get("dash", "0") == "1":
            try:
                style.dash_list = [int(float(d)) for d in get("dashlist", "8 3").split()]
            except ValueError:
                style.dash_list = []
        if region_type <= RT.POLYGON:
            return style
        ann = AnnotationData()
        words = get("font", "").split()
        if len(words) == 4:
            ann.font = words[0][:1].upper() + words[0][1:]
            try:
                ann.font_size = int(float(words[1]))
            except ValueError:
                pass
            bold, italic = words[2] == "bold", words[3] == "italic"
            ann.font_style = "bold_italic" if bold and italic else "bold" if bold else "italic" if italic else "normal"
        if region_type == RT.ANNPOINT:
            point = (props.get("point") or prefix or "box").split()
            fill = get("fill", "0") == "1"
            kind = point[0].lower() if point else "box"
            filled = {"circle": "CIRCLE", "box": "SQUARE", "diamond": "DIAMOND"}
            hollow = {"circle": "CIRCLE_LINED", "box": "BOX", "diamond": "DIAMOND_LINED"}
            other = {"cross": "CROSS", "x": "X"}
            name = (filled if fill else hollow).get(kind) or other.get(kind, "SQUARE")
            ann.point_shape = ANNOTATION_SHAPES[name]
            for word in point[1:]:
                if word.isdigit():
                    ann.point_width = int(word)
        else:
            set_labels(ann, region_type, text, get("align", "center"), props.get("compass", ""))
        style.annotation = ann
        return style


def _number(text: str, shape: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise _PieceError(f"{shape} invalid parameter {text}, not a numeric value.") from None
    if not math.isfinite(value):
        raise _PieceError(f"Invalid {shape} parameter {text}.")
    return value


def _angle(text: str, shape: str) -> float:
    try:
        value, kind = parse_angle_value(text)
    except QuantityError:
        raise _PieceError(f"{shape} invalid parameter {text}, not a numeric value.") from None
    if kind == "pix":
        raise _PieceError(f"{shape} invalid parameter unit: {text}.")
    return value


def _restyled(build: Builder, text_style: StyleData | None) -> Builder:
    def rebuilt(points: list[Point], lengths: list[float]) -> ImportedRegion | None:
        region = build(points, lengths)
        if region is not None and text_style is not None:
            box_ann = region.style.annotation or AnnotationData()
            ann = text_style.annotation or AnnotationData()
            ann.text_position = box_ann.text_position
            region.style = StyleData(box_ann.text_label0, text_style.color, text_style.line_width,
                                     text_style.dash_list, ann)
        return region

    return rebuilt


def import_ds9(lines: Iterable[str], geometry: ImageGeometry) -> ImportResult:
    """Parse DS9 lines onto an image; never raises for bad content."""
    reader = _Reader(geometry)
    for number, raw in enumerate(lines, start=1):
        for piece in _split_pieces(raw.strip().lstrip("\ufeff")):
            reader.piece(number, piece)
    if reader.held is not None:
        reader.pending.append(reader.held)
    result = resolve_pending(reader.pending, geometry)
    result.errors = sorted(reader.errors + result.errors, key=lambda e: e[0])
    return result
