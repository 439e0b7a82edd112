"""CASA region text format (CRTF): read into CARTA regions (IMPORT_REGION).

Reading follows the reference's shape table (FILES_REGIONS_CATALOGS.md §1.4): CRTF
``pix`` values are 0-based pixels (casacore convention) and are used unchanged;
world values go through the image WCS (:mod:`region_sky`). Each bad line
is reported with its line number and the good lines still import. Deliberately
not copied from the reference: the ``#blue`` colour quirk, quotes kept around a
one-word label, the ignored global ``linewidth``, and the loss of a ``# textbox``
followed by another region before its ``text`` line.
The writer is :mod:`region_export_crtf`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

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
from carta_trio.io.region_sky import FRAME_ALIASES, ImageGeometry
from carta_trio.io.region_values import QuantityError, hex_color, outside_quotes, parse_angle_value, properties, split_outside

__all__ = ["HEADER", "import_crtf"]

HEADER = "#CRTFv0 CASA Region Text Format version 0"

_PLAIN: dict[str, int] = {"symbol": RT.POINT, "box": RT.RECTANGLE, "centerbox": RT.RECTANGLE, "rotbox": RT.RECTANGLE,
          "circle": RT.ELLIPSE, "ellipse": RT.ELLIPSE, "poly": RT.POLYGON, "polygon": RT.POLYGON,
          "polyline": RT.POLYLINE, "line": RT.LINE, "vector": RT.ANNVECTOR, "text": RT.ANNTEXT,
          "textbox": RT.ANNTEXT, "ruler": RT.ANNRULER, "compass": RT.ANNCOMPASS}
_MIXED = "Mixed world and pixel coordinates not supported"
_SYMBOLS = {"o": "CIRCLE", "s": "SQUARE", "d": "DIAMOND", "D": "DIAMOND", "+": "CROSS", "x": "X"}
_THIN = {"CIRCLE": "CIRCLE_LINED", "SQUARE": "BOX", "DIAMOND": "DIAMOND_LINED"}
_PROPERTY = re.compile(r"""(\w+)\s*=\s*("[^"]*"|'[^']*'|\[[^\]]*\]|.*?)\s*(?=,|\s\w+\s*=|$)""")


class _LineError(Exception):
    pass


def _split_top(text: str) -> list[str]:
    """Split on commas outside brackets and quotes; parts stripped, empty ones dropped."""
    return [p.strip() for p in split_outside(text, ",", "[", "]") if p.strip()]


def _coordinate_block(rest: str) -> tuple[str, str]:
    """``[[..],..] props`` -> (inside of the outer brackets, remainder)."""
    rest = rest.lstrip()
    if rest.startswith("["):
        for i, ch, depth in outside_quotes(rest, "[", "]"):
            if ch == "]" and depth == 0:
                return rest[1:i], rest[i + 1:]
    raise _LineError("syntax invalid")


def _properties(text: str) -> dict[str, str]:
    return properties(_PROPERTY, text)


def _quantity(text: str) -> tuple[float, str]:
    value, kind = parse_angle_value(text)
    if kind == "":
        raise QuantityError(text)  # CRTF values need units
    return value, kind


def _pair(element: str) -> tuple[tuple[float, str], tuple[float, str]]:
    if not (element.startswith("[") and element.endswith("]")):
        raise _LineError("parameters invalid")
    items = _split_top(element[1:-1])
    if len(items) != 2:
        raise _LineError("parameters invalid")
    try:
        return _quantity(items[0]), _quantity(items[1])
    except QuantityError:
        raise _LineError("parameters invalid") from None


def _length(element: str, axis: int) -> tuple[float, str, int]:
    try:
        value, kind = _quantity(element)
    except QuantityError:
        raise _LineError("parameters invalid") from None
    return abs(value), kind, axis


def _angle(element: str) -> float:
    try:
        value, kind = parse_angle_value(element)
    except QuantityError:
        raise _LineError("parameters invalid") from None
    if kind == "pix":
        raise _LineError("parameters invalid")
    return value


def _style(region_type: int, props: dict[str, str], glob: dict[str, str], symbol: str, text: str) -> StyleData:
    def get(key: str, default: str = "") -> str:
        return props.get(key, glob.get(key, default))

    style = StyleData(name=props.get("label", ""), color=hex_color(get("color", "green")))
    try:
        style.line_width = max(0, int(float(get("linewidth", "1"))))
    except ValueError:
        style.line_width = 1
    dash = get("linestyle", "-")
    style.dash_list = [0] if dash == "-" else [1] if dash == ":" else [2]
    ann = AnnotationData(font=get("font"), font_style=get("fontstyle").replace("bold-italic", "bold_italic"))
    try:
        ann.font_size = int(float(get("fontsize", "0")))
    except ValueError:
        pass
    if region_type == RT.ANNPOINT:
        shape = _SYMBOLS.get(symbol.strip(), "SQUARE")
        if get("symthick") == "0":
            shape = _THIN.get(shape, shape)
        ann.point_shape = ANNOTATION_SHAPES[shape]
        try:
            ann.point_width = int(float(get("symsize", "1")))
        except ValueError:
            ann.point_width = 1
    else:
        set_labels(ann, region_type, text, get("align", "center"), props.get("compass", ""))
    style.annotation = ann
    return style


def import_crtf(lines: Iterable[str], geometry: ImageGeometry) -> ImportResult:
    """Parse CRTF lines onto an image; never raises for bad content."""
    pending: list[Pending] = []
    errors: list[tuple[int, str]] = []
    glob: dict[str, str] = {}
    held: Pending | None = None  # a text box waiting for its text line
    default_frame = geometry.frame_name
    for number, raw in enumerate(lines, start=1):
        line = raw.strip().lstrip("\ufeff")
        if not line:
            continue
        if line.startswith("#"):
            body = line[1:].lstrip()
            if not re.match(r"(textbox|ruler|compass)\b", body, re.I):
                continue
            line = body
        words = line.split(None, 1)
        keyword = words[0].lower()
        annotation = False
        if keyword == "ann" and len(words) > 1:
            annotation = True
            words = words[1].split(None, 1)
            keyword = words[0].lower()
        rest = words[1] if len(words) > 1 else ""
        m = re.match(r"([a-z]+)(.*)$", keyword)
        if m and m.group(2).startswith("["):  # "circle[[...]]" without a space
            keyword, rest = m.group(1), m.group(2) + " " + rest
        if keyword == "global":
            glob.update(_properties(rest))
            continue
        if keyword not in _PLAIN:
            errors.append((number, f"{keyword} not supported.\n"))
            continue
        try:
            block, tail = _coordinate_block(rest)
        except _LineError:
            errors.append((number, f"{keyword} syntax invalid.\n"))
            continue
        props = _properties(tail)
        frame_word = props.get("coord", glob.get("coord", default_frame)).upper()
        frame = FRAME_ALIASES.get(frame_word, "")
        try:
            item = _parse_shape(number, keyword, annotation, _split_top(block), props, glob, frame)
        except _LineError as exc:
            errors.append((number, f"{keyword} {exc}.\n"))
            continue
        if frame_word and not frame and any(k == "deg" for c in item.coords for _, k in c):
            errors.append((number, f"{keyword} import failed: unknown coordinate frame {frame_word}.\n"))
            continue
        if keyword == "textbox":
            if held is not None:
                pending.append(held)
            held = item
            continue
        if keyword == "text" and held is not None:
            # The text line gives the held box its label, colour and font.
            text_style = _style(RT.ANNTEXT, props, glob, "", _text_of(_split_top(block)))
            held.build = _restyle(held.build, text_style)
            pending.append(held)
            held = None
            continue
        pending.append(item)
    if held is not None:
        pending.append(held)
    result = resolve_pending(pending, geometry)
    result.errors = sorted(errors + result.errors, key=lambda e: e[0])
    return result


def _restyle(build: Builder, text_style: StyleData) -> Builder:
    def rebuilt(points: list[Point], lengths: list[float]) -> ImportedRegion | None:
        region = build(points, lengths)
        if region is not None:
            ann = region.style.annotation or AnnotationData()
            text_ann = text_style.annotation or AnnotationData()
            text_ann.text_position = ann.text_position
            region.style = StyleData(region.style.name or text_style.name, text_style.color, text_style.line_width,
                                     text_style.dash_list, text_ann)
        return region

    return rebuilt


def _text_of(elements: Sequence[str]) -> str:
    if len(elements) < 2:
        return ""
    text = elements[1]
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        text = text[1:-1]
    return text


def _parse_shape(number: int, keyword: str, annotation: bool, el: list[str], props: dict[str, str],
                 glob: dict[str, str], frame: str) -> Pending:
    region_type = _PLAIN[keyword]
    if annotation:
        region_type = ANNOTATION_TYPES.get(region_type, region_type)
    rotation = 0.0
    lengths: list[tuple[float, str, int]] = []
    symbol = text = ""
    if keyword in ("symbol", "text"):
        if len(el) < 2:
            raise _LineError("syntax invalid")
        coords = [_pair(el[0])]
        layout = "points" if keyword == "symbol" else "text"
        symbol, text = (el[1], "") if keyword == "symbol" else ("", _text_of(el))
    elif keyword == "box":
        if len(el) != 2:
            raise _LineError("syntax invalid")
        coords, layout = [_pair(el[0]), _pair(el[1])], "corners"
    elif keyword in ("centerbox", "rotbox", "textbox"):
        if len(el) < 2 or (keyword == "rotbox" and len(el) < 3):
            raise _LineError("syntax invalid")
        coords = [_pair(el[0])]
        size = el[1]
        if not (size.startswith("[") and size.endswith("]")) or len(_split_top(size[1:-1])) != 2:
            raise _LineError("parameters invalid")
        w, h = _split_top(size[1:-1])
        lengths = [_length(w, 0), _length(h, 1)]
        rotation = _angle(el[2]) if len(el) > 2 else 0.0
        layout = "sized"
    elif keyword in ("circle", "compass"):
        if len(el) < 2:
            raise _LineError("syntax invalid")
        coords, lengths, layout = [_pair(el[0])], [_length(el[1], 0)], "radius"
    elif keyword == "ellipse":
        if len(el) < 3:
            raise _LineError("syntax invalid")
        coords = [_pair(el[0])]
        size = el[1]
        if not (size.startswith("[") and size.endswith("]")) or len(_split_top(size[1:-1])) != 2:
            raise _LineError("parameters invalid")
        a, b = _split_top(size[1:-1])
        lengths = [_length(a, 0), _length(b, 1)]
        rotation, layout = _angle(el[2]), "sized"
    else:  # poly, polygon, polyline, line, vector, ruler
        need = 3 if keyword in ("poly", "polygon", "polyline") else 2
        if len(el) < need:
            raise _LineError("syntax invalid")
        coords, layout = [_pair(e) for e in el], "points"
        if keyword in ("line", "vector", "ruler") and len(coords) != 2:
            raise _LineError("parameters invalid")
    style = _style(region_type, props, glob, symbol, text)
    mixed = any((x[1] == "deg") != (y[1] == "deg") for x, y in coords)
    return Pending(number, keyword, coords, lengths, frame, layout_builder(region_type, rotation % 360.0, style, layout),
                   error=f"{keyword} import failed: {_MIXED}.\n" if mixed else "")
