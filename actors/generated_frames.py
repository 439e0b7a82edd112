"""Open backend-made images (moments, PV, fitting results) as frames (WIRE.md §8.3).

The reference's ``Session::OnOpenFile(file_id, name, image, ack)``: an existing frame
with the id is replaced, the new frame is created from the in-memory image, its
default image histogram (REGION_HISTOGRAM_DATA, region -1) is sent, and the
OpenFileAck is returned for the caller to embed in its response (MOMENT_RESPONSE,
PV_RESPONSE, FITTING_RESPONSE), which therefore follows the histogram.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from carta_trio.actors import frame_handlers
from carta_trio.actors.frame import Frame
from carta_trio.actors.frame_handlers import beam_table
from carta_trio.io.generated_image import generated_file_info
from carta_trio.io.image_reader import ImageReader
from carta_trio.messages import schema as pb

if TYPE_CHECKING:
    from carta_trio.actors.session import Session

log = logging.getLogger(__name__)

__all__ = ["open_generated_frame", "close_frame"]


async def close_frame(session: Session, file_id: int) -> bool:
    """Close frame ``file_id`` as CLOSE_FILE does (its jobs, its regions); False if none."""
    frame = session.frames.pop(file_id, None)
    if frame is None:
        return False
    await frame_handlers.close_frame(session, frame)
    return True


async def open_generated_frame(session: Session, file_id: int, image: ImageReader) -> pb.OpenFileAck:
    """Make ``image`` the frame ``file_id`` and send its image histogram; return the ack.

    ``image`` is any in-memory style reader with a ``name`` (generated images, joined
    Stokes files, image expressions).

    Blocking work (file info, loading the first plane) runs in worker threads. A
    failure gives an ack with ``success=false`` and the reason (nothing is sent then).
    """
    ack = pb.OpenFileAck(file_id=file_id)
    name = str(getattr(image, "name", image.path.name))
    try:
        info, extended = await session.run_sync(generated_file_info, image, name)
    except Exception as exc:  # noqa: BLE001 - a bad header must not lose the other results
        log.exception("file info of generated image %s failed", name)
        ack.success = False
        ack.message = f"Cannot describe generated image {name}: {exc}"
        return ack
    await close_frame(session, file_id)
    frame = Frame(session, file_id, image, name)
    assert session.nursery is not None, "session is not running"
    try:
        await session.nursery.start(frame.run)
    except Exception as exc:  # noqa: BLE001 - reported in the ack, as the reference does
        await frame.aclose()
        ack.success = False
        ack.message = f"Cannot load image data of {name}: {exc}"
        return ack
    session.frames[file_id] = frame
    ack.success = True
    ack.file_info.CopyFrom(info)
    ack.file_info_extended.CopyFrom(extended)
    ack.file_feature_flags = 0
    ack.beam_table.extend(beam_table(image))
    await frame.send_image_histogram()
    return ack
