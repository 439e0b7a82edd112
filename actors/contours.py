"""SET_CONTOUR_PARAMETERS and the CONTOUR_IMAGE_DATA stream (WIRE.md 3, BEHAVIOUR.md §4.3-4.4).

A frame's contour settings live in ``frame.contours``. New settings with
levels start a computation of the current plane; empty levels store the empty
settings and send nothing; settings equal to the stored ones do nothing (as the
reference). Every channel or Stokes change recomputes while levels are set
(:func:`follow_channel`, first in :mod:`~carta_trio.actors.channel_change`).

A computation is the frame's ``contours`` job (:mod:`~carta_trio.actors.jobs`): new
parameters, a channel change, CLOSE_FILE or the end of the session cancel it. It smooths the
plane, traces the levels concurrently (see :mod:`carta_trio.actors.contour_workers`)
and sends each level's chunks as soon as that level is traced: one
CONTOUR_IMAGE_DATA per chunk with one ContourSet; messages of different levels may
interleave (WIRE.md 3.5).

The frontend appends a chunk to a level's store while that store is incomplete,
and replaces the store otherwise (WIRE.md 3.7). A job cancelled between a level's
first and last chunk leaves that store incomplete, and the next computation would
be appended to the stale vertices. The state therefore tracks, per level, whether
our last messages left the store complete, and a new computation of a level left
incomplete first sends an empty ContourSet with progress 0, which makes the
frontend clear the store (``setContourData`` clears before it adds).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from carta_trio import limits
from carta_trio.actors.contour_workers import smooth, trace_levels
from carta_trio.actors.dispatch import handles
from carta_trio.actors.frame_handlers import require_frame
from carta_trio.analysis.contour_levels import EncodedLevel
from carta_trio.analysis.contours import (
    ContourParameterError,
    ContourSettings,
    make_contour_settings,
    prepare_for_tracing,
)
from carta_trio.codecs.contour_encoding import EncodedContourSet
from carta_trio.messages import schema as pb

if TYPE_CHECKING:
    from carta_trio.actors.frame import Frame
    from carta_trio.actors.session import Session

log = logging.getLogger(__name__)

TAG = "contours"
JOB_KIND = "contours"


@dataclass
class ContourState:
    """Contour settings and job of one frame."""

    settings: ContourSettings | None = None
    #: Per level: did our last messages leave the frontend's store complete (True),
    #: incomplete (False)? Absent: we never filled it.
    store_complete: dict[float, bool] = field(default_factory=dict)


def contour_state(frame: Frame) -> ContourState:
    """The frame's contour state, created on first use."""
    if frame.contours is None:
        frame.contours = ContourState()
    return frame.contours


def settings_from_message(message: pb.SetContourParameters) -> ContourSettings:
    """Validated settings of a SET_CONTOUR_PARAMETERS (``image_bounds`` is ignored,
    WIRE.md 3.1); raises :class:`ContourParameterError`."""
    return make_contour_settings(
        levels=message.levels,
        smoothing_mode=message.smoothing_mode,
        smoothing_factor=message.smoothing_factor,
        decimation_factor=message.decimation_factor,
        compression_level=message.compression_level,
        # at least MIN_CONTOUR_CHUNK_SIZE vertices a message (0: one message per level)
        chunk_size=(message.contour_chunk_size if message.contour_chunk_size <= 0
                    else max(message.contour_chunk_size, limits.MIN_CONTOUR_CHUNK_SIZE)),
        reference_file_id=message.reference_file_id,
    )


@handles(pb.EventType.SET_CONTOUR_PARAMETERS)
async def on_set_contour_parameters(session: Session, request_id: int, message: pb.SetContourParameters) -> None:
    """Store the settings; compute and stream contours if they changed and have levels.

    Invalid settings get an ERROR_DATA (tag ``contours``) and leave the stored ones
    unchanged. Runs inline and only starts the frame's contour job, so a later channel
    change always cancels it.
    """
    frame = await require_frame(session, message.file_id, TAG)
    if frame is None:
        return
    try:
        settings = settings_from_message(message)
    except ContourParameterError as exc:
        log.info("file %d: %s", message.file_id, exc)
        await session.send_error(str(exc), pb.ErrorSeverity.ERROR, [TAG])
        return
    state = contour_state(frame)
    if settings == state.settings:
        return
    state.settings = settings
    frame.jobs.cancel(JOB_KIND)
    if settings.is_empty:
        state.store_complete.clear()  # the frontend cleared its stores before asking
        return
    frame.jobs.start(JOB_KIND, None, TAG, _contour_job, frame)


def restore_contour_settings(frame: Frame, message: pb.SetContourParameters) -> bool:
    """Store settings without computing (RESUME_SESSION, BEHAVIOUR.md §3.6); False
    if they are invalid. Later channel changes compute as usual."""
    try:
        settings = settings_from_message(message)
    except ContourParameterError as exc:
        log.info("file %d: %s", frame.file_id, exc)
        return False
    contour_state(frame).settings = settings
    return True


async def follow_channel(frame: Frame) -> None:
    """After a channel or Stokes change: recompute while levels are set (in the frame's task)."""
    state = frame.contours
    if state is not None and state.settings is not None and not state.settings.is_empty:
        await compute_contours(frame)


def cancel_contours(frame: Frame) -> None:
    """Stop the frame's contour job, if one runs (not a checkpoint)."""
    frame.jobs.cancel(JOB_KIND)


async def compute_contours(frame: Frame) -> None:
    """Compute and stream the contours of the frame's current plane.

    Runs in the caller's task as the frame's contour job (cancelling the one in flight);
    returns early, without an error, when cancelled in turn. A failure is logged and reported as
    WARNING ``Error processing contours`` (tag ``contours``); it never raises.
    """
    state = contour_state(frame)
    settings = state.settings
    if settings is None or settings.is_empty:
        return
    with frame.jobs.open(JOB_KIND):
        await _contour_job(frame)


async def _contour_job(frame: Frame) -> None:
    """The computation itself (the body of the frame's contour job)."""
    state = contour_state(frame)
    settings = state.settings
    if settings is None or settings.is_empty:
        return
    try:
        await _stream_contours(frame, settings, state)
    except Exception as exc:  # noqa: BLE001 - reported to the client, frame keeps serving
        log.exception("contours of file %d failed", frame.file_id)
        await frame.session.send_error(f"Error processing contours: {exc}", pb.ErrorSeverity.WARNING, [TAG])


async def _stream_contours(frame: Frame, settings: ContourSettings, state: ContourState) -> None:
    session = frame.session
    plane, channel, stokes = frame.plane, frame.channel, frame.stokes
    smoothed = await smooth(plane, settings.smoothing_mode, settings.smoothing_factor)
    z = await session.run_sync(prepare_for_tracing, smoothed.data)

    async def send_level(level: float, chunks: EncodedLevel) -> None:
        if state.store_complete.get(level) is False:
            await _send(frame, settings, EncodedContourSet(level=level), 0.0, channel, stokes)
        for encoded, progress in chunks:
            await _send(frame, settings, encoded, progress, channel, stokes)
            if encoded.uncompressed_coordinates_size:
                state.store_complete[level] = progress >= 1.0

    await trace_levels(z, smoothed.scale, smoothed.offset, settings, send_level)


async def _send(
    frame: Frame, settings: ContourSettings, encoded: EncodedContourSet, progress: float, channel: int, stokes: int
) -> None:
    await frame.session.send_stream(
        pb.ContourImageData(
            file_id=frame.file_id,
            reference_file_id=settings.reference_file_id,
            channel=channel,
            stokes=stokes,
            progress=progress,
            contour_sets=[pb.ContourSet(**encoded.as_fields())],
        )
    )
