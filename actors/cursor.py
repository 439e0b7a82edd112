"""SET_CURSOR: the cursor's spatial and spectral profiles (BEHAVIOUR.md §4.3, ANALYTICS.md §4.2, §5.1).

The handler runs inline and only records the newest message per frame; one cursor
task per frame serves them, always taking the newest, so of a burst of moves only the
latest positions are processed (the reference's per-file "latest cursor" queue). A
new message also cancels the spectral profile still streaming for an older position.

Serving a message: its ``spatial_requirements`` (if present) replace the cursor's;
then, if the position differs from the last one served (float32 compare) and rounds
to a pixel inside the image, SPATIAL_PROFILE_DATA for region 0 (always, to carry the
pixel value) and the cursor's SPECTRAL_PROFILE_DATA when it has spectral
requirements, which replaces (cancels) the profile of the previous position. Non-finite coordinates are refused with ERROR_DATA (tag ``cursor``).
"""

from __future__ import annotations

import logging
import math
from typing import TYPE_CHECKING

import numpy as np

from carta_trio.actors import spatial_streams, spectral_streams
from carta_trio.actors.analytics_state import CURSOR_REGION_ID, analytics
from carta_trio.actors.dispatch import handles
from carta_trio.actors.frame_handlers import require_frame
from carta_trio.actors.region_streams import apply_spatial_requirements
from carta_trio.actors.session import one_error_per_message
from carta_trio.messages import schema as pb

if TYPE_CHECKING:
    from carta_trio.actors.frame import Frame
    from carta_trio.actors.session import Session

log = logging.getLogger(__name__)

TAG = "cursor"
SLOT = "cursor"


class CursorInbox:
    """The newest unserved SET_CURSOR of a frame and whether its task is running."""

    def __init__(self) -> None:
        self.pending: pb.SetCursor | None = None
        self.running = False


def _inbox(frame: Frame) -> CursorInbox:
    if frame.cursor_inbox is None:
        frame.cursor_inbox = CursorInbox()
    return frame.cursor_inbox


@handles(pb.EventType.SET_CURSOR)
async def on_set_cursor(session: Session, request_id: int, message: pb.SetCursor) -> None:
    """Record the newest cursor message and make sure the frame's cursor task runs."""
    frame = await require_frame(session, message.file_id, TAG)
    if frame is None:
        return
    inbox = _inbox(frame)
    inbox.pending = message
    if not inbox.running:
        inbox.running = True
        frame.jobs.start(SLOT, CURSOR_REGION_ID, "cursor", _serve, frame, inbox)


async def _serve(frame: Frame, inbox: CursorInbox) -> None:
    """Serve cursor messages, newest first, until none is pending (cancelled on close)."""
    try:
        while inbox.pending is not None:
            message, inbox.pending = inbox.pending, None
            with one_error_per_message():
                await _apply(frame, message)
    finally:
        inbox.running = False


async def _apply(frame: Frame, message: pb.SetCursor) -> None:
    session = frame.session
    if message.HasField("spatial_requirements"):
        requirements = pb.SetSpatialRequirements()
        requirements.CopyFrom(message.spatial_requirements)
        requirements.file_id = frame.file_id
        requirements.region_id = CURSOR_REGION_ID
        await apply_spatial_requirements(frame, requirements, send=False)
    x, y = float(np.float32(message.point.x)), float(np.float32(message.point.y))
    if not (math.isfinite(x) and math.isfinite(y)):
        await session.send_error(f"Invalid cursor position ({message.point.x}, {message.point.y})",
                                 pb.ErrorSeverity.ERROR, [TAG])
        return
    state = analytics(frame)
    if state.cursor == (x, y):
        return
    state.cursor = (x, y)
    # A cursor profile still on its way for the previous position (after a channel
    # change) would arrive after this one and show the old position last.
    frame.jobs.cancel(spatial_streams.SLOT, CURSOR_REGION_ID)
    await spatial_streams.send_cursor_spatial(frame)
    # Cancels the profile of the previous position, and starts none outside the image.
    spectral_streams.start_cursor_spectral(frame, state.cursor)
