"""PV previews: the live PV diagram of a cut while the user moves it (ANALYTICS.md §7.4).

A PV_REQUEST with ``preview_settings`` builds (or reuses) the preview *cube* — the
preview region's bounding box (the whole image for region −1) over the channel range
at the current Stokes, rebinned by ``rebin_xy``/``rebin_z`` — as a job (kind
``pv_preview``, key ``preview_id``) reporting PV_PROGRESS with the ``preview_id`` at
most every second and 1.0 when loaded. The PV diagram of the cut is then computed on
that cube and answered inside PV_RESPONSE's ``preview_data`` (ZFP or raw float32,
histogram bounds, histogram, and the preview image's FileInfoExtended).

While the preview lives, every change of its cut region sends PV_PREVIEW_DATA (request
id 0) computed on the cached cube; changes arriving while one is computed are
coalesced to the latest. A quick update (SET_REGION with ``preview_region``, while
dragging) uses the animation quality and omits the histogram; such moves raise no
region change event, so the updater notices them by looking at the cut region. STOP_PV_PREVIEW
cancels loading the cube ("PV image preview cancelled."); CLOSE_PV_PREVIEW (and
closing the source file) drops the preview and stops its updates; a new PV_REQUEST
for the preview first clears pending updates.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import trio

from carta_trio.actors import region_data
from carta_trio.actors.dispatch import handles
from carta_trio.actors.image_histogram import histogram_message
from carta_trio.actors.jobs import Job, cancel_everywhere
from carta_trio.actors.pv_cut import PvError, plan_cut, read_box_spectra
from carta_trio.actors.regions import Region, add_region_listener, registry
from carta_trio.analysis import histograms
from carta_trio.analysis.pv import preview_cube_shape, preview_line, pv_matrix, rebin_channels
from carta_trio.codecs.downsample import block_mean
from carta_trio.codecs.pv_preview import encode_pv_preview
from carta_trio.io.generated_headers import copy_cards, pv_cards, select_axes, subimage_cards
from carta_trio.io.generated_image import GeneratedImage, generated_file_info
from carta_trio.messages import schema as pb

if TYPE_CHECKING:
    from carta_trio.actors.frame import Frame
    from carta_trio.actors.session import Session

log = logging.getLogger(__name__)

JOB_KIND = "pv_preview"
UPDATES_JOB = "pv_preview_updates"
CANCELLED = "PV image preview cancelled."
LOAD_PROGRESS_INTERVAL = 1.0
CHUNK_BYTES = 16 << 20
IMAGE_REGION_ID = -1
SUPPORTED_COMPRESSION = (pb.CompressionType.NONE, pb.CompressionType.ZFP)


@dataclass(eq=False)
class Preview:
    """One preview viewer: its cut settings, cached cube and pending cut updates."""

    preview_id: int
    file_id: int
    cut_region_id: int
    width: int
    reverse: bool
    compression: pb.CompressionType
    image_quality: float
    animation_quality: float
    cube_key: tuple[Any, ...]
    cube: GeneratedImage
    origin: tuple[int, int]
    rebin_xy: int
    source_name: str
    source_has_stokes: bool
    stokes: int
    pending: tuple[tuple[tuple[float, float], ...], bool] | None = None
    #: The cut of the last preview computed or queued (moves are detected against it).
    shown: tuple[tuple[float, float], ...] = ()
    wake: trio.Event = field(default_factory=trio.Event)
    #: The frame job sending PV_PREVIEW_DATA for queued cuts.
    updater: Job | None = None


def previews(session: Session) -> dict[int, Preview]:
    """The session's live previews by preview id."""
    table: dict[int, Preview] = session.state.pv_previews
    return table


# ------------------------------------------------------------------ the cube


def _load_groups(reader: Any, box: tuple[int, int, int, int], za: int, zb: int, stokes: int, rebin_xy: int,
                 rebin_z: int) -> np.ndarray:
    """Blocking: rebinned planes of channels ``[za, zb)`` (whole groups of ``rebin_z``)."""
    x0, x1, y0, y1 = box
    block = region_data.read_block(reader, x0, x1, y0, y1, za, zb, stokes)
    if rebin_xy > 1:
        block = np.stack([block_mean(plane, rebin_xy) for plane in block])
    return rebin_channels(block, rebin_z)


async def _load_cube(session: Session, frame: Frame, box: tuple[int, int, int, int], z0: int, z1: int,
                     rebin_xy: int, rebin_z: int, request_id: int, preview_id: int) -> np.ndarray | None:
    """The preview cube ``[nz', ny', nx']``, as a job; None when cancelled."""
    x0, x1, y0, y1 = box
    nchan = z1 - z0
    shape = preview_cube_shape(x1 - x0, y1 - y0, nchan, rebin_xy, rebin_z)
    cube = np.full(shape, np.nan, dtype=np.float32)
    groups = nchan // rebin_z
    plane_bytes = max((x1 - x0) * (y1 - y0) * 4 * rebin_z, 1)
    step = max(1, min(groups, CHUNK_BYTES // plane_bytes)) if groups else 1
    stokes = frame.stokes
    file_id = frame.file_id
    with frame.jobs.open(JOB_KIND, preview_id, interval=LOAD_PROGRESS_INTERVAL) as job:
        for g0 in range(0, groups, step):
            g1 = min(groups, g0 + step)
            cube[g0:g1] = await job.run_chunk(_load_groups, frame.reader, box, z0 + g0 * rebin_z,
                                              z0 + g1 * rebin_z, stokes, rebin_xy, rebin_z)
            fraction = g1 / groups
            if fraction < 1.0:
                await job.report(fraction, pb.PvProgress(file_id=file_id, progress=fraction, preview_id=preview_id),
                                 request_id)
        await session.reply(request_id, pb.PvProgress(file_id=file_id, progress=1.0, preview_id=preview_id))
        return cube
    return None


def _cube_image(frame: Frame, cube: np.ndarray, box: tuple[int, int, int, int], z0: int, rebin_xy: int,
                rebin_z: int, preview_id: int) -> GeneratedImage:
    """Blocking: the cube with the rebinned sub-image WCS (axes x, y, spectral)."""
    reader = frame.reader
    axes = reader.axes
    cards = subimage_cards(copy_cards(reader.header_cards()), axes, box[0], box[2], z0, rebin_xy, rebin_z)
    assert axes.z is not None
    cards = select_axes(cards, [axes.x, axes.y, axes.z])
    from carta_trio.actors.pv import pv_name  # noqa: PLC0415 - pv imports this module

    return GeneratedImage(pv_name(frame.name, preview_id, "_pv_preview"), cube, cards, unit=reader.unit,
                          beams=reader.beams()[:1])


# ------------------------------------------------------------ preview data


def preview_data(preview: Preview, points: tuple[tuple[float, float], ...], quick: bool) -> pb.PvPreviewData:
    """Blocking: PvPreviewData of the cut ``points`` (source pixels) on the cached cube."""
    if preview.compression not in SUPPORTED_COMPRESSION:
        raise PvError("Preview data compression failed: unsupported type")
    cube = preview.cube
    line = preview_line(points, preview.origin, preview.rebin_xy)
    cut = plan_cut(cube, line, preview.width)
    nchan = cube.depth
    spectra = read_box_spectra(cube, cut.masks, 0, nchan, 0)
    matrix = pv_matrix(spectra, preview.reverse)
    height, width = matrix.shape
    image_data = matrix[np.newaxis] if preview.source_has_stokes else matrix
    cards = pv_cards(cube.header_cards(), 2, 0, len(cut), cut.increment, cut.unit, preview.reverse,
                     preview.stokes if preview.source_has_stokes else None)
    image = GeneratedImage(cube.name, image_data, cards, beams=cube.beams())
    _, extended = generated_file_info(image)
    quality = preview.animation_quality if quick else preview.image_quality
    encoded = encode_pv_preview(matrix, preview.compression, quality)
    stats = histograms.basic_stats(matrix)
    message = pb.PvPreviewData(
        preview_id=preview.preview_id,
        image_info=extended,
        image_data=encoded.image_data,
        nan_encodings=encoded.nan_encodings,
        width=width,
        height=height,
        compression_type=preview.compression,
        compression_quality=float(encoded.quality_used),
        histogram_bounds=pb.FloatBounds(min=stats.min, max=stats.max),
    )
    if not quick:
        bins = histograms.auto_bin_count(width, height)
        message.histogram.CopyFrom(histogram_message(histograms.histogram(matrix, bins, stats=stats)))
    return message


def _empty(preview_id: int) -> pb.PvPreviewData:
    return pb.PvPreviewData(preview_id=preview_id, width=0, height=0)


async def preview_request(session: Session, request_id: int, message: pb.PvRequest, frame: Frame, region: Region,
                          z0: int, z1: int) -> None:
    """Answer a PV_REQUEST with preview settings (see module doc); PvError for bad input."""
    settings = message.preview_settings
    preview_id = settings.preview_id
    rebin_xy, rebin_z = max(settings.rebin_xy, 1), max(settings.rebin_z, 1)
    box, box_state = await _preview_box(session, frame, settings.region_id)
    key = (frame.file_id, settings.region_id, box_state, z0, z1, rebin_xy, rebin_z, frame.stokes)
    old = previews(session).get(preview_id)
    if old is not None and old.cube_key == key:
        cube = old.cube
    else:
        data = await _load_cube(session, frame, box, z0, z1, rebin_xy, rebin_z, request_id, preview_id)
        if data is None:
            await session.reply(request_id, pb.PvResponse(success=False, cancel=True, message=CANCELLED,
                                                          preview_data=_empty(preview_id)))
            return
        cube = await session.run_sync(_cube_image, frame, data, box, z0, rebin_xy, rebin_z, preview_id)
    preview = Preview(preview_id, frame.file_id, region.region_id, message.width, message.reverse,
                      settings.compression_type, settings.image_compression_quality,
                      settings.animation_compression_quality, key, cube, (box[0], box[2]), rebin_xy, frame.name,
                      frame.reader.axes.stokes is not None, frame.stokes)
    data_message = await session.run_sync(preview_data, preview, region.points, False)
    preview.shown = tuple(region.points)
    _replace(session, preview)
    await session.reply(request_id, pb.PvResponse(success=True, preview_data=data_message))


async def _preview_box(session: Session, frame: Frame, region_id: int) -> tuple[tuple[int, int, int, int], Any]:
    """Bounding box ``(x0, x1, y0, y1)`` of the preview region and its state (for the cache key)."""
    if region_id == IMAGE_REGION_ID:
        return (0, frame.width, 0, frame.height), None
    region = registry(session).get(region_id)
    if region is None or region.is_annotation:
        raise PvError("PV preview cube requested for invalid preview region id.")
    if not region.is_closed:
        raise PvError("PV preview cube requested for invalid preview region type.")
    mask = await session.run_sync(region.compute_mask, frame)
    if mask is None:
        raise PvError("Failed to set preview region for preview cube.")
    return (mask.x0, mask.x1, mask.y0, mask.y1), (region.region_type, region.points, region.rotation)


# ----------------------------------------------------------------- updates


def _replace(session: Session, preview: Preview) -> None:
    """Install ``preview`` (dropping an older one with its id) and start its updater."""
    table = previews(session)
    old = table.pop(preview.preview_id, None)
    if old is not None and old.updater is not None:
        old.updater.cancel()
    table[preview.preview_id] = preview
    frame = session.frames.get(preview.file_id)
    if frame is not None:
        preview.updater = frame.jobs.start(UPDATES_JOB, preview.preview_id, f"PV preview {preview.preview_id} updates",
                                           _updates, session, preview)


async def _updates(session: Session, preview: Preview) -> None:
    """Send PV_PREVIEW_DATA for the latest queued cut until the preview is dropped.

    A region change queues a full update; a ``preview_region`` SET_REGION (the cut
    being dragged) queues a quick one. Only the newest queued cut is computed.
    """
    while True:
        await preview.wake.wait()
        preview.wake = trio.Event()
        pending, preview.pending = preview.pending, None
        if pending is None:
            continue
        points, quick = pending
        preview.shown = points
        try:
            data = await session.run_sync(preview_data, preview, points, quick)
        except PvError as exc:
            log.info("PV preview %d update failed: %s", preview.preview_id, exc)
            data = _empty(preview.preview_id)
        if previews(session).get(preview.preview_id) is preview:
            await session.send_stream(data)


def region_moved(session: Session, region: Region, quick: bool = False) -> None:
    """Queue an update of every preview cut by ``region`` (latest wins)."""
    for preview in previews(session).values():
        if preview.cut_region_id == region.region_id and preview.file_id == region.file_id:
            preview.pending = (tuple(region.points), quick)
            preview.shown = tuple(region.points)
            preview.wake.set()


async def _on_region_changed(session: Session, region: Region) -> None:
    if region.region_type == pb.RegionType.LINE and session.state.pv_previews:
        region_moved(session, region, quick=False)


def _on_region_dragged(session: Session, region: Region) -> None:
    if region.region_type == pb.RegionType.LINE and session.state.pv_previews:
        region_moved(session, region, quick=True)


add_region_listener(changed=_on_region_changed, preview=_on_region_dragged)


def stop_updates(session: Session, preview_id: int) -> None:
    """Forget queued cut updates of a preview (a new PV_REQUEST for it is coming)."""
    preview = previews(session).get(preview_id)
    if preview is not None:
        preview.pending = None


def close_preview(session: Session, preview_id: int) -> None:
    """Drop a preview: cancel its cube loading and updates; nothing more is sent."""
    cancel_everywhere(session, JOB_KIND, preview_id)
    preview = previews(session).pop(preview_id, None)
    if preview is not None and preview.updater is not None:
        preview.updater.cancel()


def forget_file(session: Session, file_id: int) -> None:
    """CLOSE_FILE: the previews of the closed file go with it (its jobs already stopped)."""
    for preview_id in [p.preview_id for p in previews(session).values() if p.file_id == file_id]:
        close_preview(session, preview_id)


@handles(pb.EventType.STOP_PV_PREVIEW)
async def on_stop_pv_preview(session: Session, request_id: int, message: pb.StopPvPreview) -> None:
    """Cancel loading the preview cube (its PV_RESPONSE says cancelled)."""
    cancel_everywhere(session, JOB_KIND, message.preview_id)


@handles(pb.EventType.CLOSE_PV_PREVIEW)
async def on_close_pv_preview(session: Session, request_id: int, message: pb.ClosePvPreview) -> None:
    """Release the preview; no message follows."""
    close_preview(session, message.preview_id)
