"""Images built from other images: CONCAT_STOKES_FILES and OPEN_FILE with ``lel_expr``.

Thin: the readers live in :mod:`carta_trio.io.stokes_concat` and
:mod:`carta_trio.io.image_expression`; the frame is opened like a generated image
(:func:`~carta_trio.actors.generated_frames.open_generated_frame`), which is what the
reference does for both (an ``ImagePtrLoader`` over the casacore image): the image
histogram (region -1) goes out before the ack. Failures are acks with ``success=false``
and the reason, never an exception out of the handler.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING

from carta_trio.actors.dispatch import handles
from carta_trio.actors.generated_frames import open_generated_frame
from carta_trio.io import paths
from carta_trio.io.image_expression import ExpressionError, open_expression
from carta_trio.io.image_reader import ImageOpenError
from carta_trio.io.stokes_concat import ConcatError, StokesFile, concat_stokes_files
from carta_trio.messages import schema as pb

if TYPE_CHECKING:
    from carta_trio.actors.frame import Frame
    from carta_trio.actors.session import Session

log = logging.getLogger(__name__)

__all__ = ["concat_frame", "open_expression_frame"]


async def concat_frame(session: Session, file_id: int,
                       stokes_files: Iterable[pb.StokesFile]) -> pb.ConcatStokesFilesAck:
    """Join ``stokes_files`` into frame ``file_id``; the CONCAT_STOKES_FILES_ACK to send.

    As the reference: a validation failure is ``success=false`` with no
    ``open_file_ack``; once joined, ``success`` stays true even if opening the frame
    fails (only ``open_file_ack.success`` is false then).
    """
    files = [StokesFile(f.directory, f.file, f.hdu, int(f.polarization_type)) for f in stokes_files]
    settings = session.settings
    try:
        reader = await session.run_sync(concat_stokes_files, settings.top_level_folder, files,
                                        settings.starting_folder)
    except ConcatError as exc:
        log.error("Fail to concatenate stokes files: %s", exc)
        return pb.ConcatStokesFilesAck(success=False, message=str(exc))
    open_ack = await open_generated_frame(session, file_id, reader)
    if not open_ack.success:
        log.error("Fail to open the concatenated stokes image: %s", open_ack.message)
        reader.close()  # no frame holds it (closing twice is harmless)
    return pb.ConcatStokesFilesAck(success=True, message="", open_file_ack=open_ack)


@handles(pb.EventType.CONCAT_STOKES_FILES, response=pb.ConcatStokesFilesAck)
async def on_concat_stokes_files(session: Session, request_id: int, message: pb.ConcatStokesFiles) -> None:
    """REGION_HISTOGRAM_DATA of the new frame (on success), then CONCAT_STOKES_FILES_ACK."""
    ack = await concat_frame(session, message.file_id, message.stokes_files)
    await session.reply(request_id, ack)


async def open_expression_frame(session: Session, message: pb.OpenFile) -> tuple[pb.OpenFileAck, Frame | None]:
    """OPEN_FILE with ``lel_expr``: the frame of the expression ``message.file``.

    Sends the image histogram once the frame exists (the reference's in-memory open);
    the caller sends the ack and, as the reference, the histogram again. On failure
    the ack's ``file_id`` is 0 (the reference sets it only once the image exists).
    """
    settings = session.settings
    try:
        reader = await session.run_sync(open_expression, settings.top_level_folder, message.directory,
                                        message.file, settings.starting_folder)
    except (paths.PathError, ExpressionError, ImageOpenError, OSError) as exc:
        log.error("%s", exc)
        return pb.OpenFileAck(file_id=0, success=False, message=str(exc)), None
    except (UnicodeError, ValueError) as exc:
        # The image library's own messages about a malformed expression (issue 11 D13:
        # expected bad input gets a clear answer and one log line, not a traceback).
        log.error("image expression %r: %s: %s", message.file, type(exc).__name__, exc)
        return pb.OpenFileAck(file_id=0, success=False,
                              message=f"Cannot evaluate the image expression: {type(exc).__name__}"), None
    ack = await open_generated_frame(session, message.file_id, reader)
    frame = session.frames.get(message.file_id) if ack.success else None
    if frame is None:
        reader.close()
    return ack, frame
