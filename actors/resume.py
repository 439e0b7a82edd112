"""RESUME_SESSION: rebuild a reconnected viewer's state (BEHAVIOUR.md §3.6).

The frontend re-sends what it shows: images (with channel, Stokes, regions and
contour settings) and catalogs. Everything running is cancelled and every frame
closed first, its image kept (:func:`session_keep.park`); images are then opened
silently -- on the kept reader when the file is unchanged, and an in-memory image
(moment, PV, fitting result) the session kept comes back under its file id and name -- (no OPEN_FILE_ACK, but the image
histogram is sent), moved to their channel, and their regions restored under
their ids without SET_REGION_ACK; catalogs are reopened silently under their ids.
Failures are collected into the ack's message in the reference's words (catalogs,
which the reference reopens without reporting failures, as ``Problem loading
catalogs: <ids>``).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, cast

from carta_trio import limits
from carta_trio.actors import catalogs, contours, cursor, regions, session_keep
from carta_trio.actors.dispatch import handles
from carta_trio.actors.frame_handlers import open_frame
from carta_trio.actors.generated_frames import open_generated_frame
from carta_trio.actors.image_combination import concat_frame
from carta_trio.analysis.region_geometry import RegionError
from carta_trio.messages import schema as pb

if TYPE_CHECKING:
    from carta_trio.actors.frame import Frame
    from carta_trio.actors.session import Session
    from carta_trio.io.image_reader import ImageReader

log = logging.getLogger(__name__)

CURSOR_KEY = 0


async def _resume_concat(
    session: Session, request_id: int, image: pb.ImageProperties, reasons: list[str]
) -> Frame | None:
    """Join an image's Stokes files again; sends CONCAT_STOKES_FILES_ACK; the frame or None."""
    try:
        ack = await concat_frame(session, image.file_id, image.stokes_files)
    except Exception as exc:  # noqa: BLE001 - one failed image must not end the resume
        reasons.append(f"file {image.file_id}: {exc}")
        return None
    await session.reply(request_id, ack)
    if not (ack.success and ack.open_file_ack.success):
        reasons.append(f"file {image.file_id}: {ack.message or ack.open_file_ack.message}")
        return None
    return session.frames.get(image.file_id)


async def _resume_kept(session: Session, image: pb.ImageProperties, reasons: list[str]) -> Frame | None:
    """Open the in-memory image the session kept under ``image.file_id`` again (its image
    histogram is sent, no ack); None if it was not kept or does not load."""
    handle = session_keep.take_generated(session, image)
    if handle is None:
        return None
    ack = await open_generated_frame(session, image.file_id, cast("ImageReader", handle))
    if not ack.success:
        handle.close()
        reasons.append(f"file {image.file_id}: {ack.message}")
        return None
    return session.frames.get(image.file_id)


async def _resume_file(session: Session, image: pb.ImageProperties, reasons: list[str]) -> Frame | None:
    """Open ``image`` from its file (cheaply while the session still holds it unchanged:
    the reader pool finds it); its image histogram is sent, no OPEN_FILE_ACK."""
    request = pb.OpenFile(
        directory=image.directory, file=image.file, hdu=image.hdu, file_id=image.file_id,
        lel_expr=image.lel_expr, support_aips_beam=image.support_aips_beam,
    )
    try:
        ack, frame = await open_frame(session, request, log_failure=False)
    except Exception as exc:  # noqa: BLE001 - one failed image must not end the resume
        reasons.append(f"file {image.file_id}: {exc}")
        return None
    if frame is None:
        reasons.append(f"file {image.file_id}: {ack.message}")
        return None
    await frame.send_image_histogram()
    return frame


@handles(pb.EventType.RESUME_SESSION, response=pb.ResumeSessionAck)
async def on_resume_session(session: Session, request_id: int, message: pb.ResumeSession) -> None:
    await session_keep.park(session)
    try:
        await _resume(session, request_id, message)
    finally:
        session_keep.release(session)  # kept images nobody listed


async def _resume(session: Session, request_id: int, message: pb.ResumeSession) -> None:
    failed_files: list[int] = []
    failed_regions: list[int] = []
    #: Why each failed; logged as one line at the end (a 1,000-image resume with a bad
    #: path must not write 1,000 tracebacks).
    reasons: list[str] = []
    # Bounded work (issue 11 D20): images and regions beyond the limits are not restored
    # and are reported as failed, with the limit named in the ack.
    images = list(message.images)
    over_limit = [image.file_id for image in images[limits.MAX_RESUME_IMAGES:]]
    regions_left = limits.MAX_RESUME_REGIONS
    regions_over = False
    #: Frames moved to another channel: the ack waits for their histograms, which the
    #: reference sends before it (its channel change runs inline).
    moved: list[Frame] = []
    for image in images[: limits.MAX_RESUME_IMAGES]:
        if len(image.stokes_files) > 1:
            # as the reference: joined again, and its CONCAT_STOKES_FILES_ACK is sent
            frame = await _resume_concat(session, request_id, image, reasons)
            if frame is None:
                failed_files.append(image.file_id)
                continue
        else:
            frame = await _resume_kept(session, image, reasons)
            if frame is None:
                frame = await _resume_file(session, image, reasons)
            if frame is None:
                failed_files.append(image.file_id)
                continue
        if (image.channel, image.stokes) != (0, 0):
            frame.post_channels(pb.SetImageChannels(file_id=image.file_id, channel=image.channel, stokes=image.stokes))
            moved.append(frame)
        for region_id, info in image.regions.items():
            if region_id == CURSOR_KEY:
                if info.control_points:
                    # Quirk kept from the reference: the restored cursor always goes to file 0.
                    point = info.control_points[0]
                    await cursor.on_set_cursor(session, 0, pb.SetCursor(file_id=0, point=point))
                continue
            if regions_left <= 0:
                regions_over = True
                failed_regions.append(region_id)
                continue
            regions_left -= 1
            try:
                await regions.restore_region(session, region_id, image.file_id, info)
            except RegionError as exc:
                reasons.append(f"region {region_id}: {exc}")
                failed_regions.append(region_id)
        if image.HasField("contour_settings") and image.contour_settings.levels:
            contours.restore_contour_settings(frame, image.contour_settings)
    for frame in moved:
        await frame.channels_settled()
    failed_catalogs: list[int] = []
    for catalog in message.catalog_files:
        catalog_ack = await catalogs.open_catalog(session, catalog)
        if not catalog_ack.success:
            reasons.append(f"catalog {catalog.file_id}: {catalog_ack.message}")
            failed_catalogs.append(catalog.file_id)
    failed_files.extend(over_limit)
    if reasons:
        more = f" (and {len(reasons) - 1} more)" if len(reasons) > 1 else ""
        log.error("Resume: %d file(s), %d region(s), %d catalog(s) failed; first: %s%s",
                  len(failed_files), len(failed_regions), len(failed_catalogs), reasons[0], more)
    ack = pb.ResumeSessionAck(success=not failed_files and not failed_regions and not failed_catalogs)
    if not ack.success:
        text = ""
        if failed_files:
            text += "Problem loading files: " + "".join(f"{file_id} " for file_id in failed_files)
        if failed_regions:
            text += "Problem loading regions: " + "".join(f"{region_id} " for region_id in failed_regions)
        if failed_catalogs:
            text += "Problem loading catalogs: " + "".join(f"{file_id} " for file_id in failed_catalogs)
        if over_limit:
            text += f"(at most {limits.MAX_RESUME_IMAGES} images are restored) "
        if regions_over:
            text += f"(at most {limits.MAX_RESUME_REGIONS} regions are restored) "
        ack.message = text
    await session.reply(request_id, ack)
