"""SET_VECTOR_OVERLAY_PARAMETERS and the VECTOR_OVERLAY_TILE_DATA stream (WIRE.md 7, ANALYTICS.md 9).

The stored settings live in ``frame.vectors``. A request equal to
the stored one (the reference's ``IsEqual``; a NaN threshold never is) does
nothing; otherwise it replaces the settings and:

* smoothing factor < 1 (the frontend's clear message): nothing is sent;
* both sources < 0: the settings are cleared and one message without tiles and
  with progress 1.0 is sent (the reference sends it with file id -1, which the
  frontend ignores; we send the real id so that the frontend's store is emptied);
* otherwise the overlay of the current plane is computed and sent tile by tile,
  rows outer, with ``progress = (k + 1) / tiles``, and recomputed on every channel
  or Stokes change (:func:`follow_channel`, after contours in
  :mod:`~carta_trio.actors.channel_change`).

Requests that cannot be served (PI/PA from an image without Stokes Q or U, a
missing Stokes I for the threshold or fractional intensity) get an ERROR_DATA with
tag ``vector field``; the frame keeps serving.

The work is the frame's ``vectors`` job (:mod:`~carta_trio.actors.jobs`; new
parameters, a channel change, CLOSE_FILE cancel it). As for contours (see :mod:`.contours`), a stream cut
short leaves the frontend's store incomplete so that the next stream would be
appended to it; the next stream then starts with an empty message of progress 0,
which makes the frontend clear the store (``VectorOverlayStore.setData``).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from carta_trio.actors.dispatch import handles
from carta_trio.actors.frame_handlers import require_frame
from carta_trio.analysis.vector_field import VectorSettings, VectorSources, vector_field, vector_sources
from carta_trio.codecs.downsample import block_mean
from carta_trio.codecs.raster_tiles import COMPRESSION_NONE, COMPRESSION_ZFP
from carta_trio.codecs.vector_tiles import VectorTile, encode_vector_tile, vector_tile_grid, vector_tile_layer
from carta_trio import limits
from carta_trio.messages import schema as pb

if TYPE_CHECKING:
    from carta_trio.actors.frame import Frame
    from carta_trio.actors.session import Session
    from carta_trio.io.image_reader import ImageReader

log = logging.getLogger(__name__)

TAG = "vector field"
JOB_KIND = "vectors"


@dataclass
class VectorState:
    """Vector-overlay settings and job of one frame."""

    settings: VectorSettings | None = None
    #: Did our last message leave the frontend's store complete? None: never sent.
    store_complete: bool | None = None


def vector_state(frame: Frame) -> VectorState:
    """The frame's vector-overlay state, created on first use."""
    if frame.vectors is None:
        frame.vectors = VectorState()
    return frame.vectors


def settings_from_message(message: pb.SetVectorOverlayParameters) -> VectorSettings:
    """Stored form of a request (errors are kept only when debiasing, as the reference)."""
    return VectorSettings(
        smoothing_factor=min(int(message.smoothing_factor), limits.MAX_VECTOR_SMOOTHING_FACTOR),
        fractional=bool(message.fractional),
        threshold=float(message.threshold),
        debiasing=bool(message.debiasing),
        q_error=float(message.q_error) if message.debiasing else 0.0,
        u_error=float(message.u_error) if message.debiasing else 0.0,
        stokes_intensity=int(message.stokes_intensity),
        stokes_angle=int(message.stokes_angle),
        compression_type=int(message.compression_type),
        compression_quality=float(message.compression_quality),
    )


@handles(pb.EventType.SET_VECTOR_OVERLAY_PARAMETERS)
async def on_set_vector_overlay_parameters(
    session: Session, request_id: int, message: pb.SetVectorOverlayParameters
) -> None:
    """Store the parameters and, if they changed, clear or compute the overlay.

    Runs inline and only starts the frame's vector job, so a later channel change
    always cancels it.
    """
    frame = await require_frame(session, message.file_id, TAG)
    if frame is None:
        return
    settings = settings_from_message(message)
    state = vector_state(frame)
    if settings.same_as(state.settings):
        return
    state.settings = settings
    frame.jobs.start(JOB_KIND, None, TAG, _vector_job, frame)


async def follow_channel(frame: Frame) -> None:
    """After a channel or Stokes change: recompute while settings are stored (frame's task)."""
    state = frame.vectors
    if state is not None and state.settings is not None:
        await compute_vectors(frame)


def cancel_vectors(frame: Frame) -> None:
    """Stop the frame's vector-overlay job, if one runs (not a checkpoint)."""
    frame.jobs.cancel(JOB_KIND)


async def compute_vectors(frame: Frame) -> None:
    """Clear or compute and stream the overlay of the frame's current plane.

    Runs in the caller's task as the frame's vector job (cancelling the one in flight);
    returns early when cancelled in turn. Never raises: bad requests get ERROR_DATA, failures a
    WARNING ``Error processing vector field image`` (tag ``vector field``).
    """
    state = vector_state(frame)
    settings = state.settings
    if settings is None or settings.smoothing_factor < 1:
        return
    with frame.jobs.open(JOB_KIND):
        await _vector_job(frame)


async def _vector_job(frame: Frame) -> None:
    """The work itself (the body of the frame's vector job)."""
    state = vector_state(frame)
    settings = state.settings
    if settings is None or settings.smoothing_factor < 1:
        return
    if settings.cleared:
        state.settings = None
        if state.store_complete is False:
            await _send(frame, state, pb.VectorOverlayTileData(file_id=frame.file_id, channel=frame.channel))
        await _send(frame, state, pb.VectorOverlayTileData(
            file_id=frame.file_id, channel=frame.channel, stokes_intensity=-1, stokes_angle=-1, progress=1.0
        ))
        return
    reader = frame.reader
    try:
        sources = vector_sources(
            settings, reader.axes.stokes is not None, list(getattr(reader, "stokes_values", [])), frame.num_stokes
        )
    except ValueError as exc:
        await frame.session.send_error(f"Vector overlay not available: {exc}", pb.ErrorSeverity.ERROR, [TAG])
        return
    try:
        await _stream_vectors(frame, settings, sources, state)
    except Exception as exc:  # noqa: BLE001 - reported to the client, frame keeps serving
        log.exception("vector overlay of file %d failed", frame.file_id)
        await frame.session.send_error(
            f"Error processing vector field image: {exc}", pb.ErrorSeverity.WARNING, [TAG]
        )


def _downsampled(plane: np.ndarray, mip: int) -> np.ndarray:
    """Block mean by ``mip``; for mip 1 a copy with every non-finite value NaN (WIRE.md 7)."""
    if mip == 1:
        data = np.array(plane, dtype=np.float32, copy=True)
        data[~np.isfinite(data)] = np.nan
        return data
    return block_mean(plane, mip)


def _read_downsampled(reader: ImageReader, channel: int, stokes: int, mip: int) -> np.ndarray:
    if mip > 1:
        precomputed = reader.mipmap(mip, channel, stokes)
        if precomputed is not None:
            return np.asarray(precomputed, dtype=np.float32)
    return _downsampled(reader.read_plane(channel, stokes), mip)


async def _stokes_plane(frame: Frame, channel: int, stokes: int, mip: int) -> np.ndarray:
    """Downsampled plane of ``stokes`` at ``channel``: the frame's own for its current
    Stokes, otherwise read from the file under the frame's reader lock."""
    if stokes == frame.stokes and channel == frame.channel:
        if mip == 1:
            return await frame.session.run_sync(_downsampled, frame.plane, 1)
        return await frame.mip_plane(mip)
    async with frame.reader_lock:
        return await frame.session.run_sync(_read_downsampled, frame.reader, channel, stokes, mip)


async def _stream_vectors(frame: Frame, settings: VectorSettings, sources: VectorSources, state: VectorState) -> None:
    session = frame.session
    # A factor as large as the image already averages it into one block; larger ones
    # give the same single value but would make block_mean pad to factor^2 pixels.
    mip = min(settings.smoothing_factor, max(frame.width, frame.height))
    channel = frame.channel
    planes: dict[str, np.ndarray | None] = {"current": None, "i": None, "q": None, "u": None}
    if sources.current_as_intensity or sources.current_as_angle:
        planes["current"] = await _stokes_plane(frame, channel, frame.stokes, mip)
    for name, index in (("i", sources.i_index), ("q", sources.q_index), ("u", sources.u_index)):
        if index is not None:
            planes[name] = await _stokes_plane(frame, channel, index, mip)
    intensity, angle = await session.run_sync(
        lambda: vector_field(settings, sources, planes["current"], planes["i"], planes["q"], planes["u"])
    )
    tiles = vector_tile_grid(frame.width, frame.height, settings.smoothing_factor)
    layer = vector_tile_layer(frame.width, frame.height, settings.smoothing_factor)
    if state.store_complete is False:
        await _send(frame, state, _message(frame, settings, channel, 0.0))
    for k, tile in enumerate(tiles):
        message = _message(frame, settings, channel, (k + 1) / len(tiles))
        message.intensity_tiles.append(await _tile_data(session, intensity, tile, layer, settings))
        message.angle_tiles.append(await _tile_data(session, angle, tile, layer, settings))
        await _send(frame, state, message)


def _message(frame: Frame, settings: VectorSettings, channel: int, progress: float) -> pb.VectorOverlayTileData:
    return pb.VectorOverlayTileData(
        file_id=frame.file_id,
        channel=channel,
        stokes_intensity=settings.stokes_intensity,
        stokes_angle=settings.stokes_angle,
        compression_type=settings.compression_type,
        compression_quality=settings.compression_quality,
        progress=progress,
    )


async def _tile_data(
    session: Session, data: np.ndarray | None, tile: VectorTile, layer: int, settings: VectorSettings
) -> pb.TileData:
    """One filled TileData, or an empty one for an overlay side not computed."""
    if data is None:
        return pb.TileData()
    m = tile.mip
    block = data[tile.y_min // m : tile.y_min // m + tile.height, tile.x_min // m : tile.x_min // m + tile.width]
    if settings.compression_type == COMPRESSION_ZFP and math.isfinite(settings.compression_quality):
        encoded = await session.run_sync(encode_vector_tile, block, COMPRESSION_ZFP, settings.compression_quality)
    else:
        # NONE, and anything else the reference would also send raw.
        encoded = encode_vector_tile(block, COMPRESSION_NONE)
    return pb.TileData(
        x=tile.x,
        y=tile.y,
        layer=layer,
        mip=m,
        width=tile.width,
        height=tile.height,
        image_data=encoded.image_data,
        nan_encodings=encoded.nan_encodings,
    )


async def _send(frame: Frame, state: VectorState, message: pb.VectorOverlayTileData) -> None:
    await frame.session.send_stream(message)
    state.store_complete = message.progress >= 1.0
