"""SAVE_FILE -> SAVE_FILE_ACK: write an open image, or part of it, as FITS or CASA.

Generated images (moments, PV, fitting) are saved the same way as opened files.
Refused in read-only mode (ERROR_DATA first, as the reference), for paths outside
the top-level folder, for the source file itself and for computed Stokes.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING

from carta_trio.actors import regions
from carta_trio.actors.dispatch import handles
from carta_trio.analysis.polarization import is_computed
from carta_trio.io import paths, save_image
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
        return await fail(f"Saving as {pb.FileType.Name(message.output_file_type)} is not supported")
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
    if _same_file(target, getattr(frame.reader, "path", None)):
        return await fail("The source file can not be overwritten!")
    if not target.parent.is_dir():
        return await fail(f"Directory {message.output_file_directory} does not exist")
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
    writer = save_image.write_casa if message.output_file_type == pb.FileType.CASA else save_image.write_fits
    try:
        await session.run_sync(
            lambda: writer(frame.reader, target, selection, keep_degenerate=message.keep_degenerate,
                           rest_freq=message.rest_freq)
        )
    except (OSError, save_image.SaveError, RuntimeError, ValueError) as exc:
        log.exception("saving %s failed", target)
        return await fail(f"Saving {message.output_file_name} failed: {exc}")
    ack.success = True
    await session.reply(request_id, ack)
