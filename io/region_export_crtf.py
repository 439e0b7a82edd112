"""CASA region text format (CRTF): write CARTA regions (EXPORT_REGION).

One line per region (two for a text box: ``# textbox`` then ``text``), in pixel
(``0.000000pix``, 0-based as casacore) or world coordinates (sexagesimal for
J2000/B1950, degrees otherwise; sizes in arcsec), six decimals or better so that
:mod:`region_files_crtf` reads back the same geometry. Pixel lines carry no
``coord=``: other readers (astropy-regions) refuse pix values with a sky frame.
Shapes and style keywords follow FILES_REGIONS_CATALOGS.md §1.6.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from carta_trio.analysis.region_geometry import RegionType as RT
from carta_trio.io.angle_format import mvangle_angle, mvangle_time
from carta_trio.io.region_file_common import ALIGN_WORDS, AnnotationData, StyleData
from carta_trio.io.region_sky import ImageGeometry
from carta_trio.io.region_values import fmt_float, hex_color
from carta_trio.io.region_file_export import ExportRegion, WorldValues, world_values
from carta_trio.io.region_files_crtf import HEADER

__all__ = ["export_crtf"]

_CRTF_NAMES: dict[int, str] = {RT.POINT: "symbol", RT.ANNPOINT: "ann symbol", RT.LINE: "line", RT.ANNLINE: "ann line",
               RT.POLYLINE: "polyline", RT.ANNPOLYLINE: "ann polyline", RT.POLYGON: "poly",
               RT.ANNPOLYGON: "ann poly", RT.ANNVECTOR: "vector", RT.ANNRULER: "# ruler"}
_SYMBOL_CHARS = {0: "s", 1: "s", 2: "o", 3: "o", 4: "D", 5: "D", 6: "+", 7: "x"}
_FONT_STYLES = {"": "normal", "normal": "normal", "bold": "bold", "italic": "italic",
                "italic bold": "bold-italic", "bold_italic": "bold-italic", "bold italic": "bold-italic"}
_COLOR_NAMES = {"#000000": "black", "#0000FF": "blue", "#00FFFF": "cyan", "#808080": "gray", "#00FF00": "green",
                "#FF00FF": "magenta", "#FFA500": "orange", "#FF0000": "red", "#FFFFFF": "white", "#FFFF00": "yellow"}


def _fmt_pix(v: float) -> str:
    return f"{v:.6f}pix"


def _style_suffix(region: ExportRegion, frame: str, world: bool) -> str:
    style, ann = region.style, region.style.annotation
    # Pixel lines carry no frame: other readers (astropy-regions) refuse pix values with a sky frame.
    parts = [f"coord={frame}"] if frame and world else []
    dashes = style.dash_list
    linestyle = "-" if not dashes or dashes[0] == 0 else ":" if dashes[0] == 1 else "--"
    color = hex_color(style.color or "green")
    color = color[1:].lower() if color.startswith("#") else color
    parts += [f"linewidth={style.line_width}", f"linestyle={linestyle}", f"color={color}"]
    if style.name:
        parts += [f'label="{style.name}"', f"labelcolor={color}", "labelpos=top"]
    font = ann.font if ann and ann.font else "Helvetica"
    size = ann.font_size if ann and ann.font_size else 10
    raw = (ann.font_style if ann else "").strip().lower()
    font_style = _FONT_STYLES.get(raw, "bold") if raw or not world else "bold"
    parts += [f"font={font}", f"fontsize={size}", f"fontstyle={font_style}", "usetex=false"]
    if region.region_type in (RT.POINT, RT.ANNPOINT):
        shape = ann.point_shape if ann else 0
        width = ann.point_width if ann and ann.point_width else 1
        parts += [f"symsize={width}", f"symthick={0 if shape in (1, 3, 5) else 1}"]
    return " " + ", ".join(parts)


def export_crtf(regions: Sequence[ExportRegion], geometry: ImageGeometry, world: bool
                ) -> tuple[list[str], list[tuple[int, str]]]:
    """CRTF lines (header first, no newlines) and per-region errors ``(id, text)``."""
    lines = [HEADER]
    errors: list[tuple[int, str]] = []
    frame = geometry.frame_name if geometry.has_sky else ""
    sexagesimal = frame in ("J2000", "B1950")
    values = world_values(regions, geometry) if world else None
    for index, region in enumerate(regions):
        try:
            strings = _world_strings(values[index], sexagesimal) if values is not None else None
            lines += _region_lines(region, strings, frame, world)
        except (ValueError, KeyError, IndexError):
            errors.append((region.region_id, f"Export region {region.region_id} failed.\n"))
    return lines, errors


def _world_strings(values: WorldValues, sexagesimal: bool) -> tuple[list[str], list[str]]:
    """``[lon, lat]`` texts of the positions and ``<n>arcsec`` texts of the sizes."""
    if not all(math.isfinite(v) for v in values.lon + values.lat + values.sizes_arcsec):
        raise ValueError("position outside the world coordinate system")
    if sexagesimal:
        pos = [f"[{mvangle_time(lon, 14)}, {mvangle_angle(lat, 14)}]" for lon, lat in zip(values.lon, values.lat)]
    else:
        pos = [f"[{lon:.9f}deg, {lat:.9f}deg]" for lon, lat in zip(values.lon, values.lat)]
    return pos, [f"{v:.6f}arcsec" for v in values.sizes_arcsec]


def _region_lines(region: ExportRegion, world: tuple[list[str], list[str]] | None, frame: str,
                  is_world: bool) -> list[str]:
    rt, pts, rot = region.region_type, region.points, region.rotation
    if not all(math.isfinite(v) for p in pts for v in p):
        raise ValueError("non-finite control point")
    if world is not None:
        pos, size = world
    else:
        pos = [f"[{_fmt_pix(x)}, {_fmt_pix(y)}]" for x, y in pts]
        size = [_fmt_pix(v) for p in pts[1:2] for v in p]
    suffix = _style_suffix(region, frame, is_world)
    ann = region.style.annotation
    if rt in (RT.POINT, RT.ANNPOINT):
        symbol = _SYMBOL_CHARS.get(ann.point_shape, "s") if ann else "."
        return [f"{_CRTF_NAMES[rt]} [{pos[0]}, {symbol}]{suffix}"]
    if rt in (RT.RECTANGLE, RT.ANNRECTANGLE, RT.ANNTEXT):
        if rt == RT.ANNTEXT:
            name = "# textbox"
        else:
            name = ("ann " if rt == RT.ANNRECTANGLE else "") + ("centerbox" if rot == 0 else "rotbox")
        angle = f", {fmt_float(rot)}deg" if rot != 0 else ""
        line = f"{name} [{pos[0]}, [{size[0]}, {size[1]}]{angle}]"
        if rt != RT.ANNTEXT:
            return [line + suffix]
        text_ann = ann or StyleData().annotation or AnnotationData()
        box = line + f' label="{region.style.name}", align={ALIGN_WORDS.get(text_ann.text_position, "center")}'
        label = text_ann.text_label0.replace('"', "'")
        return [box, f'text [{pos[0]}, "{label}"]{suffix}']
    if rt in (RT.ELLIPSE, RT.ANNELLIPSE):
        prefix = "ann " if rt == RT.ANNELLIPSE else ""
        if pts[1][0] == pts[1][1]:
            return [f"{prefix}circle [{pos[0]}, {size[0]}]{suffix}"]
        return [f"{prefix}ellipse [{pos[0]}, [{size[0]}, {size[1]}], {fmt_float(rot)}deg]{suffix}"]
    if rt == RT.ANNCOMPASS:
        labels = (ann.text_label0, ann.text_label1) if ann else ("N", "E")
        arrows = (int(ann.is_north_arrow), int(ann.is_east_arrow)) if ann else (1, 1)
        compass_frame = frame or "image"
        return [f"# compass [{pos[0]}, {size[0]}]{suffix} compass={compass_frame} {{{labels[0]}}} {{{labels[1]}}} "
                f"{arrows[0]} {arrows[1]}"]
    if rt in _CRTF_NAMES:
        line = f"{_CRTF_NAMES[rt]} [{', '.join(pos)}]{suffix}"
        if rt == RT.ANNRULER:
            line += f" ruler={frame or 'image'} {'degrees' if frame else 'image'}"
        return [line]
    raise KeyError(rt)
