"""SAOImage DS9 region files: write CARTA regions (EXPORT_REGION).

A header element (format line + ``global``), a frame line (``image`` or the image's
sky frame) and one element per region (two for a text box), each ending in a newline.
Pixel values are 1-based with six decimals, world positions degrees with nine,
sizes arcsec with six. Annotation shapes are ``#``-prefixed as the reference writes
them, except text, written ``text(x, y) # ...`` (astropy-regions cannot read DS9's
own ``# text(...)``). Shapes and style keywords follow FILES_REGIONS_CATALOGS.md §1.6.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from carta_trio.analysis.region_geometry import RegionType as RT
from carta_trio.io.region_file_common import ALIGN_WORDS
from carta_trio.io.region_sky import ImageGeometry
from carta_trio.io.region_values import fmt_float, hex_color
from carta_trio.io.region_file_export import ExportRegion, WorldValues, world_values
from carta_trio.io.region_files_ds9 import HEADER

__all__ = ["export_ds9"]

_DS9_FRAMES = {"J2000": "fk5", "B1950": "fk4", "ICRS": "icrs", "GALACTIC": "galactic", "ECLIPTIC": "ecliptic"}
_NAMES: dict[int, str] = {RT.POINT: "point", RT.ANNPOINT: "# point", RT.RECTANGLE: "box", RT.ANNRECTANGLE: "# box",
          RT.LINE: "line", RT.ANNLINE: "# line", RT.POLYLINE: "polyline", RT.ANNPOLYLINE: "# polyline",
          RT.POLYGON: "polygon", RT.ANNPOLYGON: "# polygon", RT.ANNRULER: "# ruler"}
_POINT_SHAPES: dict[int, tuple[str, bool]] = {0: ("box", True), 1: ("box", False), 2: ("circle", True), 3: ("circle", False),
                 4: ("diamond", True), 5: ("diamond", False), 6: ("cross", False), 7: ("x", False)}
_FONT_STYLES = {"normal": "normal roman", "bold": "bold roman", "italic": "normal italic",
                "italic bold": "bold italic", "bold_italic": "bold italic", "bold italic": "bold italic"}


def _style_suffix(region: ExportRegion, line: str, frame: str) -> str:
    style, ann, rt = region.style, region.style.annotation, region.region_type
    out = "" if line.startswith("#") else " #"
    color = hex_color(style.color or "green")
    out += f" color={color} width={style.line_width}"
    if ann is not None:
        font = (ann.font or "helvetica").lower()
        size = ann.font_size or 10
        out += f' font="{font} {size} {_FONT_STYLES.get(ann.font_style.strip().lower(), "normal roman")}"'
    if style.name and rt != RT.ANNTEXT:
        out += f" text={{{style.name}}}"
    if style.dash_list and style.dash_list[0] != 0:
        d = style.dash_list
        out += f" dash=1 dashlist={d[0]} {d[1] if len(d) > 1 else d[0]}"
    if rt == RT.ANNPOINT:
        shape, fill = _POINT_SHAPES.get(ann.point_shape if ann else 0, ("box", True))
        out += f" point={shape} {ann.point_width if ann and ann.point_width else 1}" + (" fill=1" if fill else "")
    elif rt == RT.ANNLINE:
        out += " line=0 0"
    elif rt == RT.ANNVECTOR:
        out += " vector=1"
    elif rt == RT.ANNRULER:
        out += f" ruler={frame or 'image'} {'arcsec' if frame else 'image'}"
    elif rt == RT.ANNTEXT:
        out += f" text={{{ann.text_label0 if ann else ''}}}"
    elif rt == RT.ANNCOMPASS:
        labels = (ann.text_label0 or "N", ann.text_label1 or "E") if ann else ("N", "E")
        arrows = (int(ann.is_north_arrow), int(ann.is_east_arrow)) if ann else (1, 1)
        out += f" compass={frame or 'image'} {{{labels[0]}}} {{{labels[1]}}} {arrows[0]} {arrows[1]}"
    return out


def export_ds9(regions: Sequence[ExportRegion], geometry: ImageGeometry, world: bool
               ) -> tuple[list[str], list[tuple[int, str]]]:
    """DS9 elements (each ending in a newline: header, frame line, regions) and
    per-region errors ``(id, text)``."""
    frame = _DS9_FRAMES.get(geometry.frame_name, geometry.frame_name.lower()) if geometry.has_sky else ""
    elements = [HEADER, (frame if world else "image") + "\n"]
    errors: list[tuple[int, str]] = []
    values = world_values(regions, geometry) if world else None
    for index, region in enumerate(regions):
        try:
            elements += _region_lines(region, values[index] if values is not None else None, frame, geometry)
        except (ValueError, KeyError, IndexError):
            errors.append((region.region_id, f"Export region {region.region_id} failed.\n"))
    return elements, errors


def _region_lines(region: ExportRegion, world: WorldValues | None, frame: str, geometry: ImageGeometry) -> list[str]:
    rt, pts, rot = region.region_type, region.points, region.rotation
    if not all(math.isfinite(v) for p in pts for v in p):
        raise ValueError("non-finite control point")
    if world is not None:
        if not all(math.isfinite(v) for v in world.lon + world.lat + world.sizes_arcsec):
            raise ValueError("outside the world coordinate system")
        pos = [f"{lon:.9f}, {lat:.9f}" for lon, lat in zip(world.lon, world.lat)]
        sizes = [f'{s:.6f}"' for s in world.sizes_arcsec]
    else:
        pos = [f"{x + 1:.6f}, {y + 1:.6f}" for x, y in pts]
        sizes = [f"{v:.6f}" for v in pts[1]] if len(pts) > 1 else []
    if rt in (RT.ELLIPSE, RT.ANNELLIPSE):
        prefix = "# " if rt == RT.ANNELLIPSE else ""
        if pts[1][0] == pts[1][1]:
            line = f"{prefix}circle({pos[0]}, {sizes[0]})"
        else:
            angle = (rot + 90.0) % 360.0
            line = f"{prefix}ellipse({pos[0]}, {sizes[0]}, {sizes[1]}, {fmt_float(angle)})"
    elif rt in (RT.RECTANGLE, RT.ANNRECTANGLE):
        line = f"{_NAMES[rt]}({pos[0]}, {sizes[0]}, {sizes[1]}, {fmt_float(rot)})"
    elif rt in (RT.POINT, RT.ANNPOINT):
        line = f"{_NAMES[rt]}({pos[0]})"
    elif rt == RT.ANNCOMPASS:
        line = f"# compass({pos[0]}, {sizes[0]})"
    elif rt == RT.ANNVECTOR:
        (x1, y1), (x2, y2) = pts
        length_pix = math.hypot(x2 - x1, y2 - y1)
        angle = math.degrees(math.atan2(y2 - y1, x2 - x1)) % 360.0
        if world is not None:
            length = f'{length_pix * geometry.increments[0] * 3600.0:.6f}"'
        else:
            length = f"{length_pix:.6f}"
        line = f"# vector({pos[0]}, {length}, {angle:.6f})"
    elif rt == RT.ANNTEXT:
        ann = region.style.annotation
        align = ALIGN_WORDS.get(ann.text_position if ann else 0, "center")
        # "text(...) # ..." rather than DS9's "# text(...)": astropy-regions cannot read the latter.
        text_line = f"text({pos[0]}) #" + (f" textangle={fmt_float(rot)}" if rot else "")
        text_line += _style_suffix(region, "#", frame)
        if pts[1][0] > 0 or pts[1][1] > 0:
            box = f"# textbox({pos[0]}, {sizes[0]}, {sizes[1]}, {fmt_float(rot)})"
            box += (f" text={{{region.style.name}}}" if region.style.name else "") + f" align={align}"
            return [box + "\n", text_line + "\n"]
        return [text_line + "\n"]
    elif rt in _NAMES:
        line = f"{_NAMES[rt]}({', '.join(pos)})"
    else:
        raise KeyError(rt)
    return [line + _style_suffix(region, line, frame) + "\n"]
