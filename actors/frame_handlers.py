"""Messages that open, close and navigate images (BEHAVIOUR.md §4.4, §4.5, §7)."""

from __future__ import annotations

import functools
import logging
import math
from typing import TYPE_CHECKING, Any, cast

import trio

from carta_trio.actors import session_keep, spectral_cache
from carta_trio.actors.animation import cancel_animation
from carta_trio.actors.dispatch import handles
from carta_trio.actors.frame import Frame
from carta_trio.actors.session import describe_error
from carta_trio.actors.tile_queue import SUPPORTED_COMPRESSION, check_compression, drop_invalid_tiles, tile_in_pyramid
from carta_trio.io import file_info, images, paths, reader_pool
from carta_trio.io.image_reader import ImageOpenError, ImageReader
from carta_trio.messages import schema as pb

if TYPE_CHECKING:
    from carta_trio.actors.session import Session

log = logging.getLogger(__name__)

ALL_FILES = -1


def frame_or_none(session: Session, file_id: int) -> Frame | None:
    return session.frames.get(file_id)


async def require_frame(session: Session, file_id: int, tag: str) -> Frame | None:
    """The open frame, or a DEBUG ERROR_DATA ``File id <id> not found`` (as the reference)."""
    frame = session.frames.get(file_id)
    if frame is None:
        await session.send_error(f"File id {file_id} not found", pb.ErrorSeverity.DEBUG, [tag])
    return frame


def _open(session: Session, message: pb.OpenFile) -> tuple[pb.FileInfo, pb.FileInfoExtended, ImageReader]:
    """Blocking part of OPEN_FILE: resolve, read the file info, open the reader."""
    settings = session.settings
    path = paths.resolve_file(settings.top_level_folder, message.directory, message.file, settings.starting_folder)
    info, extended, hdu_used = file_info.open_file_info(
        path, message.hdu, name=message.file, support_aips_beam=message.support_aips_beam
    )
    # every file id and session showing this file shares one reader and its caches
    reader = reader_pool.open_shared(path, hdu_used, images.open_image)
    return info, extended, cast(ImageReader, reader)  # a handle that behaves as the reader


def beam_table(reader: ImageReader) -> list[pb.Beam]:
    """One beam for the whole image (channel/stokes -1) or one per plane."""
    beams = reader.beams()
    if not beams:
        return []
    if len(beams) == 1:
        bmaj, bmin, bpa = beams[0]
        return [pb.Beam(channel=-1, stokes=-1, major_axis=bmaj, minor_axis=bmin, pa=bpa)]
    table = []
    depth = reader.depth
    for index, (bmaj, bmin, bpa) in enumerate(beams):
        table.append(
            pb.Beam(channel=index % depth, stokes=index // depth, major_axis=bmaj, minor_axis=bmin, pa=bpa)
        )
    return table


async def open_frame(
    session: Session, message: pb.OpenFile, *, log_failure: bool = True
) -> tuple[pb.OpenFileAck, Frame | None]:
    """Open an image as a new Frame actor under ``message.file_id`` (replacing one).

    Returns the OPEN_FILE_ACK to send and the frame (None on failure). Sends nothing
    itself, so RESUME_SESSION can open files silently -- except for an image
    expression (``lel_expr``), whose image histogram is sent once the frame exists.
    """
    if message.lel_expr:
        from carta_trio.actors.image_combination import open_expression_frame  # imports this module

        return await open_expression_frame(session, message)
    ack = pb.OpenFileAck(file_id=message.file_id)
    try:
        info, extended, reader = await session.run_sync(_open, session, message)
    except (paths.PathError, ImageOpenError, file_info.FileInfoError, OSError) as exc:
        ack.success = False
        ack.message = str(exc)
        if log_failure:  # RESUME_SESSION logs one line for all its failures instead
            log.error("%s", exc)
        return ack, None
    old = session.frames.pop(message.file_id, None)
    if old is not None:
        await close_frame(session, old)
    frame = Frame(session, message.file_id, reader, message.file)
    try:
        assert session.nursery is not None
        await session.nursery.start(frame.run)
    except Exception as exc:
        await frame.aclose()
        raise RuntimeError(f"Cannot load image data: {describe_error(exc)}") from exc
    session.frames[message.file_id] = frame
    spectral_cache.attach(frame)
    ack.success = True
    ack.file_info.CopyFrom(info)
    ack.file_info_extended.CopyFrom(extended)
    ack.file_feature_flags = reader.feature_flags
    ack.beam_table.extend(beam_table(reader))
    return ack, frame


@handles(pb.EventType.OPEN_FILE, response=pb.OpenFileAck)
async def on_open_file(session: Session, request_id: int, message: pb.OpenFile) -> None:
    """OPEN_FILE_ACK, then the default image histogram (region -1) of channel 0.

    The histogram is computed by the frame after the ack; until it is sent, the
    session holds every message behind this one (:func:`_after_first_histogram`)
    except the new image's first ADD_REQUIRED_TILES, whose tiles are computed at the
    same time and sent after the histogram: the first view no longer waits for the
    histogram's passes before its block means start. The order on the wire is the
    reference's: ack, histogram, then the tiles and everything else.
    """
    ack, frame = await open_frame(session, message)
    await session.reply(request_id, ack)
    if frame is not None:
        done = frame.start_first_histogram()
        session.gate = functools.partial(_after_first_histogram, session, frame, done)


async def _after_first_histogram(session: Session, frame: Frame, done: trio.Event, envelope: Any) -> None:
    """The session's gate while ``frame``'s first render histogram is pending: lets
    that frame's ADD_REQUIRED_TILES through when posting it sends nothing, holds
    every other message until the histogram is out (or the frame closed)."""
    if not done.is_set() and not _posts_silently(session, frame, envelope):
        await done.wait()
    if done.is_set():
        session.gate = None  # only OPEN_FILE sets a gate, and this one held the session's messages


def _posts_silently(session: Session, frame: Frame, envelope: Any) -> bool:
    """An ADD_REQUIRED_TILES for ``frame`` that :func:`on_add_required_tiles` would
    only post: a supported compression, every tile in the pyramid, no animation."""
    if envelope is None or envelope.event_type != pb.EventType.ADD_REQUIRED_TILES:
        return False
    tiles = envelope.message
    if tiles.file_id != frame.file_id or session.frames.get(frame.file_id) is not frame:
        return False
    if tiles.compression_type not in SUPPORTED_COMPRESSION or not math.isfinite(tiles.compression_quality):
        return False
    if session.state.animation_tiles_hook is not None:
        return False
    return all(tile_in_pyramid(code, frame.width, frame.height) for code in tiles.tiles)


async def close_frame(session: Session, frame: Frame) -> None:
    """Close a frame (already taken out of ``session.frames``): its actor, jobs, streams
    and reader stop (:meth:`Frame.aclose`); then the session-level things drawn on its
    file id go too, each named here (no hooks): its regions and its PV previews."""
    from carta_trio.actors import pv_preview, regions

    await frame.aclose()
    regions.forget_file(session, frame.file_id)
    pv_preview.forget_file(session, frame.file_id)


async def close_all_frames(session: Session) -> None:
    """CLOSE_FILE -1: every frame of the session."""
    cancel_animation(session)
    for file_id in list(session.frames):
        await close_frame(session, session.frames.pop(file_id))


@handles(pb.EventType.CLOSE_FILE)
async def on_close_file(session: Session, request_id: int, message: pb.CloseFile) -> None:
    """Close one frame or all (-1); unknown ids are ignored, as the reference does. An
    image the session kept for RESUME_SESSION under that id is let go too (the 4.1.0
    frontend closes its in-memory images so before it resumes)."""
    if message.file_id == ALL_FILES:
        await close_all_frames(session)
        session_keep.release(session)
        return
    session_keep.release(session, message.file_id)
    cancel_animation(session)
    frame = session.frames.pop(message.file_id, None)
    if frame is not None:
        await close_frame(session, frame)


@handles(pb.EventType.SET_IMAGE_CHANNELS)
async def on_set_image_channels(session: Session, request_id: int, message: pb.SetImageChannels) -> None:
    frame = await require_frame(session, message.file_id, "channels")
    if frame is None:
        return
    if not frame.valid_channel(message.channel, message.stokes):
        # Reported here, not by the frame actor, so it counts as this message's one error.
        await session.send_error(f"Channel {message.channel} or Stokes {message.stokes} is invalid in image",
                                 pb.ErrorSeverity.ERROR, ["channels"])
        return
    if message.HasField("required_tiles") and not await check_compression(session, message.required_tiles):
        message.ClearField("required_tiles")
    if message.HasField("required_tiles"):
        await drop_invalid_tiles(session, message.required_tiles, frame.width, frame.height)
    frame.post_channels(message)


@handles(pb.EventType.ADD_REQUIRED_TILES)
async def on_add_required_tiles(session: Session, request_id: int, message: pb.AddRequiredTiles) -> None:
    frame = frame_or_none(session, message.file_id)
    if frame is not None and message.tiles and await check_compression(session, message):
        await drop_invalid_tiles(session, message, frame.width, frame.height)
        if not message.tiles:
            return
        animation = session.state.animation_tiles_hook
        if animation is not None and animation(frame, message):
            return
        frame.post_tiles(message)


@handles(pb.EventType.REMOVE_REQUIRED_TILES)
async def on_remove_required_tiles(session: Session, request_id: int, message: pb.RemoveRequiredTiles) -> None:
    frame = frame_or_none(session, message.file_id)
    if frame is not None:
        frame.remove_tiles(message)

