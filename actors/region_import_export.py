"""IMPORT_REGION and EXPORT_REGION: region files in CASA CRTF and DS9 formats.

Thin handlers over the pure parsers and writers in ``io/region_files_crtf.py`` and
``io/region_files_ds9.py`` (FILES_REGIONS_CATALOGS.md §1). Imported regions become
ordinary session regions (ids continue the session's positive ids, drawn on the
image named by ``group_id``), so analytics, export and RESUME_SESSION treat them
like drawn ones.

Differences from the reference, on purpose: an unknown file id gets an ack with
``success=false`` (the reference sends none and the frontend would wait forever);
line errors name their line number; an unsupported ``type`` is refused instead of
crashing; export paths are confined to the top folder and written atomically.
Both handlers parse and format in a worker thread; they are not concurrent, so
the session's later messages see the imported regions.
"""

from __future__ import annotations

import logging
import math
import os
from pathlib import Path
from typing import TYPE_CHECKING

import trio

from carta_trio.actors import frame_grids, regions
from carta_trio.actors.dispatch import handles
from carta_trio.analysis.region_geometry import RegionError, validate_control_points
from carta_trio.io import paths
from carta_trio.io.region_file_common import AnnotationData, ImportedRegion, ImportResult, StyleData
from carta_trio.io.region_sky import ImageGeometry
from carta_trio.io.region_file_export import SIZED_TYPES, ExportRegion
from carta_trio.io.region_file_io import RegionFileError, contents_lines, read_region_lines, write_text_atomic
from carta_trio.io.region_export_crtf import export_crtf
from carta_trio.io.region_files_crtf import import_crtf
from carta_trio.io.region_export_ds9 import export_ds9
from carta_trio.io.region_files_ds9 import import_ds9
from carta_trio.io.sky_coordinates import sky_coordinates
from carta_trio.messages import schema as pb

if TYPE_CHECKING:
    from carta_trio.actors.frame import Frame
    from carta_trio.actors.session import Session

log = logging.getLogger(__name__)

IMPORT_TAG = "import"
EXPORT_TAG = "export"
ZERO_REGIONS = ("Import error: zero regions set. No regions defined or regions lie outside image coordinate "
                "system.")
READ_ONLY = "Exporting region is not allowed in read-only mode"
#: Regions set (or announced) between two checkpoints of a large import.
CHUNK = 500


def geometry_of(frame: Frame) -> ImageGeometry:
    """The frame's render plane for region files (cached on the frame)."""
    geometry: ImageGeometry | None = frame.facts.region_file_geometry
    if geometry is None:
        sky = sky_coordinates(frame.reader)
        geometry = ImageGeometry(frame.width, frame.height, sky.celestial if sky else None, sky.swap if sky else False)
        frame.facts.region_file_geometry = geometry
    return geometry


# --- import ---------------------------------------------------------------------------


def _style_message(style: StyleData) -> pb.RegionStyle:
    message = pb.RegionStyle(name=style.name, color=style.color, line_width=style.line_width,
                             dash_list=style.dash_list)
    a = style.annotation
    if a is not None:
        message.annotation_style.CopyFrom(pb.AnnotationStyle(
            point_shape=a.point_shape, point_width=a.point_width, text_label0=a.text_label0,
            text_label1=a.text_label1, coordinate_system=a.coordinate_system, is_north_arrow=a.is_north_arrow,
            is_east_arrow=a.is_east_arrow, text_position=a.text_position, font_style=a.font_style,
            font=a.font, font_size=a.font_size))
    return message


def _parse(session: Session, message: pb.ImportRegion, geometry: ImageGeometry) -> ImportResult:
    """Read and parse the file or contents (blocking); RegionFileError for refusals."""
    if message.file:
        top = session.settings.top_level_folder
        try:
            path = paths.resolve_file(top, message.directory, message.file, session.settings.starting_folder)
        except paths.PathError as exc:
            raise RegionFileError(f"Import region failed: {exc.message}") from None
        lines = read_region_lines(path)
    elif "".join(message.contents):
        lines = contents_lines(list(message.contents))
    else:
        raise RegionFileError("Import region failed: cannot import by filename or contents.")
    parse = import_crtf if message.type == pb.FileType.CRTF else import_ds9
    return parse(lines, geometry)


@handles(pb.EventType.IMPORT_REGION, response=pb.ImportRegionAck)
async def on_import_region(session: Session, request_id: int, message: pb.ImportRegion) -> None:
    """IMPORT_REGION_ACK with every imported region (ERROR_DATA first when there are messages)."""
    ack = pb.ImportRegionAck(success=False)

    async def fail(text: str) -> None:
        ack.message = text
        await session.send_error(text, pb.ErrorSeverity.ERROR, [IMPORT_TAG])
        await session.reply(request_id, ack)

    frame = session.frames.get(message.group_id)
    if frame is None:
        return await fail(f"File id {message.group_id} not found")
    if message.type not in (pb.FileType.CRTF, pb.FileType.DS9_REG):
        return await fail(f"Region importer failed: file type {_type_name(message.type)} is not a region format.")
    try:
        geometry = geometry_of(frame)
        result = await session.run_sync(_parse, session, message, geometry)
    except RegionFileError as exc:
        text = str(exc)
        return await fail(text if text.startswith("Import region failed") else f"Import region failed: {text}")
    except Exception as exc:  # noqa: BLE001 - a parser bug must not end the session
        log.exception("IMPORT_REGION of %s failed", message.file or "contents")
        return await fail(f"Region import failed: {exc}")
    text = result.message
    if not result.regions:
        return await fail(text or ZERO_REGIONS)
    reg = regions.registry(session)
    ack, accepted, refused = await session.run_sync(_build_ack, result.regions, reg.next_id())
    text += refused
    # Thousands of regions: let other sessions run now and then (this session's next
    # message waits for this handler, so the ids chosen above stay free).
    added: list[regions.Region] = []
    for count, (region_id, item) in enumerate(accepted, start=1):
        added.append(reg.set(region_id, frame.file_id, item.region_type, item.points, item.rotation))
        if count % CHUNK == 0:
            await trio.sleep(0)
    ack.message = text
    if text:
        await session.send_error(text, pb.ErrorSeverity.WARNING, [IMPORT_TAG])
    await session.reply(request_id, ack)
    for count, region in enumerate(added, start=1):
        await regions.region_changed(session, region)
        if count % CHUNK == 0:
            await trio.sleep(0)


def _build_ack(items: list[ImportedRegion], first_id: int
               ) -> tuple[pb.ImportRegionAck, list[tuple[int, ImportedRegion]], str]:
    """The ack for ``items`` with ids from ``first_id`` (blocking; a worker thread runs it).

    Regions the registry would refuse (the reference's CheckPoints) are dropped and use
    no id; their lines are named in the returned text.
    """
    ack = pb.ImportRegionAck(success=True)
    accepted: list[tuple[int, ImportedRegion]] = []
    refused = ""
    region_id = first_id
    for item in items:
        try:
            if not math.isfinite(item.rotation):
                raise RegionError("rotation must be finite")
            validate_control_points(item.region_type, item.points)
        except RegionError as exc:
            refused += f"Line {item.line}: region not set: {exc}.\n"
            continue
        ack.regions[region_id].CopyFrom(pb.RegionInfo(
            region_type=item.region_type, rotation=item.rotation,
            control_points=[pb.Point(x=x, y=y) for x, y in item.points]))
        ack.region_styles[region_id].CopyFrom(_style_message(item.style))
        accepted.append((region_id, item))
        region_id += 1
    return ack, accepted, refused


def _type_name(file_type: int) -> str:
    try:
        return str(pb.FileType.Name(file_type))
    except ValueError:
        return str(file_type)


# --- export ---------------------------------------------------------------------------


def _style_data(style: pb.RegionStyle) -> StyleData:
    data = StyleData(name=style.name, color=style.color, line_width=style.line_width,
                     dash_list=list(style.dash_list))
    if style.HasField("annotation_style"):
        a = style.annotation_style
        data.annotation = AnnotationData(
            point_shape=a.point_shape, point_width=a.point_width, text_label0=a.text_label0,
            text_label1=a.text_label1, coordinate_system=a.coordinate_system, is_north_arrow=a.is_north_arrow,
            is_east_arrow=a.is_east_arrow, text_position=a.text_position, font_style=a.font_style, font=a.font,
            font_size=a.font_size)
    return data


def _on_image(region: regions.Region, frame: Frame) -> tuple[list[tuple[float, float]], float]:
    """The region's control points on ``frame``'s pixel grid (through the sky if needed)."""
    points = list(region.points)
    if region.file_id == frame.file_id:
        return points, region.rotation
    reference = frame.session.frames.get(region.file_id)
    if reference is None:
        raise RegionError(f"region {region.region_id} is drawn on a closed file")
    if frame_grids.same_grid(reference, frame):
        return points, region.rotation
    import numpy as np

    convert = frame_grids.sky_converter(reference, frame)
    positions = points[:1] if region.region_type in SIZED_TYPES else points
    xs, ys = convert(np.array([p[0] for p in positions]), np.array([p[1] for p in positions]))
    moved = list(zip(xs.tolist(), ys.tolist()))
    if region.region_type in SIZED_TYPES:
        (sx0, sy0), (sx1, sy1) = frame_grids.pixel_scale_of(reference), frame_grids.pixel_scale_of(frame)
        w, h = points[1]
        moved.append((w * sx0 / sx1, h * sy0 / sy1))
    if not all(math.isfinite(v) for p in moved for v in p):
        raise RegionError(f"region {region.region_id} cannot be converted to file {frame.file_id}")
    return moved, region.rotation


def _target(session: Session, message: pb.ExportRegion) -> Path:
    """The export file, confined to the top folder; RegionFileError with the reason."""
    settings = session.settings
    relative = paths.client_relative(message.directory, settings.top_level_folder, settings.starting_folder)
    try:
        target = paths.resolve_inside(settings.top_level_folder, relative, message.file)
    except paths.PathError as exc:
        raise RegionFileError(f"Export region failed: {exc.message}") from None
    folder = target.parent
    if not folder.is_dir():
        raise RegionFileError(f"Export region failed: directory {message.directory or '.'} does not exist.")
    if target.exists() and (target.is_dir() or not os.access(target, os.W_OK)):
        raise RegionFileError("Export region failed: cannot overwrite file.")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise RegionFileError("Export region failed: cannot create file.")
    return target


@handles(pb.EventType.EXPORT_REGION, response=pb.ExportRegionAck)
async def on_export_region(session: Session, request_id: int, message: pb.ExportRegion) -> None:
    """EXPORT_REGION_ACK: the regions of ``region_styles`` written to a file, or as
    ``contents`` when no file name is given. An existing file is replaced (the
    frontend's export dialog asks the user before it sends the request)."""
    ack = pb.ExportRegionAck(success=False)

    async def fail(text: str, tag: str = EXPORT_TAG) -> None:
        ack.message = text
        await session.send_error(text, pb.ErrorSeverity.ERROR, [tag])
        await session.reply(request_id, ack)

    frame = session.frames.get(message.file_id)
    if frame is None:
        return await fail(f"File id {message.file_id} not found")
    to_file = bool(message.file)
    if to_file and session.settings.read_only:
        return await fail(READ_ONLY, "Export region")
    if message.type not in (pb.FileType.CRTF, pb.FileType.DS9_REG):
        return await fail(f"Export region failed: file type {_type_name(message.type)} is not a region format.")
    if not message.region_styles:
        return await fail("Export failed: no regions requested.")
    geometry = geometry_of(frame)
    world = message.coord_type == pb.CoordinateType.WORLD
    if world and not geometry.has_sky:
        return await fail("Cannot export regions in world coordinates for linear coordinate system.")
    target: Path | None = None
    if to_file:
        try:
            target = await session.run_sync(_target, session, message)
        except RegionFileError as exc:
            return await fail(str(exc))
    reg = regions.registry(session)
    errors = ""
    items: list[ExportRegion] = []
    for region_id in sorted(message.region_styles):
        region = reg.get(region_id)
        if region is None:
            errors += f"Region {region_id} not found for export.\n"
            continue
        try:
            points, rotation = _on_image(region, frame)
        except RegionError:
            errors += f"Export region {region_id} in image {frame.file_id} failed.\n"
            continue
        items.append(ExportRegion(region_id, region.region_type, points, rotation,
                                  _style_data(message.region_styles[region_id])))
    writer = export_crtf if message.type == pb.FileType.CRTF else export_ds9
    lines, failures = await session.run_sync(writer, items, geometry, world)
    errors += "".join(text.replace("failed", f"in image {frame.file_id} failed") for _, text in failures)
    if len(failures) == len(items):
        return await fail("Export region failed: no regions to export.")
    if target is not None:
        text = _file_text(lines, message.type)
        try:
            await session.run_sync(write_text_atomic, target, text)
        except OSError as exc:
            log.warning("EXPORT_REGION to %s failed: %s", target, exc)
            return await fail(f"Export region failed: cannot create file ({exc.strerror or exc}).")
    else:
        if message.type == pb.FileType.CRTF and lines:
            lines = [lines[0] + "\n", *lines[1:]]
        ack.contents.extend(lines)
    ack.success = True
    ack.message = errors
    await session.reply(request_id, ack)


def _file_text(lines: list[str], file_type: int) -> str:
    """File text: CRTF lines each get a newline; DS9 elements carry their own."""
    if file_type == pb.FileType.CRTF:
        return "".join(line + "\n" for line in lines)
    return "".join(lines)
