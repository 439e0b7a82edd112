"""SAVE_FILE -> SAVE_FILE_ACK: write an open image, or part of it, as FITS or CASA.

Generated images (moments, PV, fitting) are saved the same way as opened files.
Refused in read-only mode (ERROR_DATA first, as the reference), for paths outside
the top-level folder, for the source file itself and for computed Stokes. What may be
written or replaced is decided by :func:`carta_trio.io.safe_write.check_target`: never
the top folder, a folder, or an image open in any session; an existing CASA image
only when saving as CASA (the frontend asked the user to confirm the overwrite).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING

from carta_trio.actors import regions
from carta_trio.actors.dispatch import handles
from carta_trio.actors.session import live_sessions
from carta_trio.actors.tile_queue import enum_name
from carta_trio.analysis.polarization import is_computed
from carta_trio.io import paths, safe_write, save_image
from carta_trio.io.reader_guard import ReaderClosed
from carta_trio.messages import schema as pb

if TYPE_CHECKING:
    from carta_trio.actors.session import Session

log = logging.getLogger(__name__)

TAG = "Saving a file"


def _same_file(a: Path, b: object) -> bool:
    try:
        return os.path.realpath(a) == os.path.realpath(str(b))
    except (OSError, TypeError):
        return False


def _open_paths() -> list[str]:
    """Paths of the images open in any session (generated images have none)."""
    out: list[str] = []
    for other in live_sessions():
        for frame in list(other.frames.values()):
            # joined Stokes files and image expressions read several files
            try:
                out.extend(os.fspath(p) for p in frame.reader.source_paths() if os.path.isabs(os.fspath(p)))
            except (AttributeError, TypeError):
                continue
    return out


@handles(pb.EventType.SAVE_FILE, concurrent=True, response=pb.SaveFileAck)
async def on_save_file(session: Session, request_id: int, message: pb.SaveFile) -> None:
    ack = pb.SaveFileAck(file_id=message.file_id, success=False)

    async def fail(text: str) -> None:
        ack.message = text
        await session.reply(request_id, ack)

    if session.settings.read_only:
        text = "Saving files is not allowed in read-only mode"
        await session.send_error(text, pb.ErrorSeverity.ERROR, [TAG])
        return await fail(text)
    frame = session.frames.get(message.file_id)
    if frame is None:
        return await fail(f"File id {message.file_id} not found")
    if message.output_file_type not in (pb.FileType.FITS, pb.FileType.CASA):
        return await fail(f"Saving as {enum_name(pb.FileType, message.output_file_type)} is not supported")
    if not message.output_file_name:
        return await fail("No output file name given")
    stokes = list(message.stokes)
    if any(is_computed(s) for s in stokes[:2]):
        return await fail("Computed Stokes images can not be saved")
    try:
        target = paths.resolve_inside(session.settings.top_level_folder, message.output_file_directory,
                                      message.output_file_name)
    except paths.PathError as exc:
        return await fail(exc.message)
    if any(_same_file(target, source) for source in frame.reader.source_paths()):
        return await fail("The source file can not be overwritten!")
    casa = message.output_file_type == pb.FileType.CASA
    try:
        replace = safe_write.check_target(session.settings.top_level_folder, target, casa=casa,
                                          open_paths=_open_paths())
    except safe_write.TargetError as exc:
        return await fail(str(exc))
    box, mask = None, None
    if message.region_id > 0:
        region = regions.registry(session).get(message.region_id)
        if region is None:
            return await fail(f"No region with id {message.region_id} found.")
        if not region.is_closed:
            return await fail(f"Region {message.region_id} is not a closed region")
        region_mask = await session.run_sync(region.compute_mask, frame)
        if region_mask is None:
            return await fail(f"Region {message.region_id} lies outside the image")
        box = (region_mask.x0, region_mask.x1, region_mask.y0, region_mask.y0 + region_mask.height)
        mask = region_mask.mask.astype(bool)
    selection = save_image.select(frame.reader, list(message.channels), stokes, box, mask)

    def write() -> None:
        if casa:
            save_image.write_casa(frame.reader, target, selection, keep_degenerate=message.keep_degenerate,
                                  rest_freq=message.rest_freq, replace=replace)
        else:
            save_image.write_fits(frame.reader, target, selection, keep_degenerate=message.keep_degenerate,
                                  rest_freq=message.rest_freq)

    try:
        await session.run_sync(write)
    except (OSError, save_image.SaveError, safe_write.TargetError, RuntimeError, ValueError) as exc:
        # Expected failures (disk, refusals, the image closed meanwhile) are one line;
        # only an unexpected RuntimeError/ValueError keeps its traceback.
        expected = (OSError, save_image.SaveError, safe_write.TargetError, ReaderClosed)
        log.warning("saving %s failed: %s", target, exc, exc_info=not isinstance(exc, expected))
        return await fail(f"Saving {message.output_file_name} failed: {_user_text(exc, session.settings.top_level_folder)}")
    ack.success = True
    await session.reply(request_id, ack)


def _user_text(exc: BaseException, top: str | Path) -> str:
    """The error as the user should read it: no absolute server paths."""
    if isinstance(exc, OSError) and exc.strerror:
        text = exc.strerror
        if exc.filename:
            text += f": {safe_write.relative_name(top, exc.filename)}"
        return text
    text = str(exc)
    top_s = os.path.realpath(os.fspath(top)).rstrip("/")
    return text.replace(top_s + "/", "") if top_s else text
