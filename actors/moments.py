"""MOMENT_REQUEST → MOMENT_PROGRESS… → REGION_HISTOGRAM_DATA per image → MOMENT_RESPONSE.

ANALYTICS.md §6, BEHAVIOUR.md §4.3. The request is validated (open file, closed
region, channel range, moment types), then the sub-cube (the region's bounding box ×
the channel range × the current Stokes) is reduced as a job (:mod:`.jobs`, kind
``moments``, one per file): row bands of whole spectra go to worker threads, their
planes are pasted into the results, and MOMENT_PROGRESS (with the request's id)
reports the fraction of spectra done at every tenth and at least every half second
(never 1.0: the response marks completion). Each result becomes an in-memory image
opened as frame ``(file_id + 1)·1000 + N·13 + moment`` (N counts this file's earlier
``keep`` requests), whose image histogram precedes the response.

STOP_MOMENT_CALC, CLOSE_FILE or a newer MOMENT_REQUEST for the same file cancel the
job at once (a running chunk is abandoned): the response then has ``cancel = true``,
``success = true`` (as the reference) and no images. Bad input gets
``success = false`` and a message saying what is wrong.
"""

from __future__ import annotations

import logging
import math
import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import trio

from carta_trio.actors import region_data
from carta_trio.actors.dispatch import handles
from carta_trio.actors.progress_pacing import MomentPacing
from carta_trio.actors.generated_frames import open_generated_frame
from carta_trio.actors.jobs import Job, cancel_on_file
from carta_trio.actors.regions import registry
from carta_trio.analysis.moments import (
    SUFFIXES,
    Moment,
    MomentCoordinates,
    PixelRange,
    moment_block,
    moment_coordinates,
    moment_unit,
    pixel_range,
    selected_moments,
)
from carta_trio.analysis.region_geometry import RegionMask
from carta_trio.analysis.spectral_axis import spectral_axis_from_header
from carta_trio.io.generated_headers import (
    STOKES_CODES_COMPUTED,
    copy_cards,
    moment_axis_cards,
    set_card,
    subimage_cards,
)
from carta_trio.io.generated_image import GeneratedImage
from carta_trio.io.image_reader import HeaderCard
from carta_trio.io.reader_guard import ReaderClosed
from carta_trio.messages import schema as pb

if TYPE_CHECKING:
    from carta_trio.actors.frame import Frame
    from carta_trio.actors.session import Session

log = logging.getLogger(__name__)

JOB_KIND = "moments"
ID_MULTIPLIER = 1000
MOMENT_COUNT = 13
#: Bytes of source data per chunk of work (a band of whole spectra).
CHUNK_BYTES = 24 << 20
#: At least this many chunks when the cube allows, so progress moves in tenths.
MIN_CHUNKS = 10


class MomentError(Exception):
    """A request the moment generator refuses; ``str(exc)`` is the response message."""


@dataclass
class MomentPlan:
    """What to compute: the sub-cube, the moment axis and the outputs."""

    frame: Frame
    stokes: int
    x0: int
    x1: int
    y0: int
    y1: int
    z0: int
    z1: int  # exclusive
    along_stokes: bool
    moments: list[Moment]
    prange: PixelRange
    coordinates: MomentCoordinates
    mask: np.ndarray | None  # [y1 - y0, x1 - x0] region mask, None = every pixel
    region_text: str = ""
    chunks: list[tuple[int, int, int, int, int, int, int]] = field(default_factory=list)  # plane, z, y, x ranges

    @property
    def width(self) -> int:
        return self.x1 - self.x0

    @property
    def height(self) -> int:
        return self.y1 - self.y0

    @property
    def planes(self) -> int:
        """Output planes per moment: 1, or one per channel along the Stokes axis."""
        return self.z1 - self.z0 if self.along_stokes else 1


def moment_workers(session: Session) -> int:
    """Chunks computed at once: ``--omp_threads`` if set, else one per core. Chunks are
    short (tens of ms) and the CPU limiter is first come, first served, so a tile or
    cursor request waits at most for one chunk to finish."""
    configured = int(getattr(session.settings, "omp_threads", -1) or -1)
    if configured > 0:
        return configured
    return max(1, os.cpu_count() or 1)


# --------------------------------------------------------------------- planning


def _region_mask(session: Session, frame: Frame, region_id: int) -> tuple[RegionMask, str]:
    """Blocking: the closed region's mask on the frame, or MomentError."""
    region = registry(session).get(region_id)
    if region is None:
        raise MomentError(f"Region {region_id} not found")
    if not region.is_closed:
        raise MomentError(f"Region {region_id} is not a closed region (rectangle, ellipse or polygon)")
    mask = region.compute_mask(frame)
    if mask is None or mask.num_pixels == 0:
        raise MomentError(f"Region {region_id} contains no pixel of the image")
    points = ", ".join(f"[{x:.4f}pix, {y:.4f}pix]" for x, y in region.points)
    return mask, f"Region: {region.region_type} [{points}, {region.rotation:.4f}deg]"


def _chunks(plan: MomentPlan, depth_bytes: int) -> list[tuple[int, int, int, int, int, int, int]]:
    """(plane, z0, z1, row0, row1, col0, col1) work items of about :data:`CHUNK_BYTES`
    (whole rows, or pieces of a row when one row of spectra is larger than that)."""
    cols = max(1, min(plan.width, CHUNK_BYTES // max(depth_bytes, 1)))
    rows = max(1, CHUNK_BYTES // max(cols * depth_bytes, 1)) if cols == plan.width else 1
    if plan.planes == 1:
        rows = min(rows, max(1, math.ceil(plan.height / MIN_CHUNKS)))
    out = []
    for plane in range(plan.planes):
        z0, z1 = (plan.z0 + plane, plan.z0 + plane + 1) if plan.along_stokes else (plan.z0, plan.z1)
        for ya in range(0, plan.height, rows):
            for xa in range(0, plan.width, cols):
                out.append((plane, z0, z1, ya, min(plan.height, ya + rows), xa, min(plan.width, xa + cols)))
    return out


def build_plan(session: Session, frame: Frame, message: pb.MomentRequest) -> MomentPlan:
    """Validate a request and describe the work (blocking: region masks, headers)."""
    reader = frame.reader
    axes = reader.axes
    prange = pixel_range(message.mask, message.pixel_range.min, message.pixel_range.max)
    try:
        moments = selected_moments(message.moments, prange)
    except ValueError as exc:
        raise MomentError(str(exc)) from None
    if not moments:
        if list(message.moments):
            raise MomentError("The median coordinate needs an include or exclude pixel range (not straddling 0)")
        raise MomentError("No moments requested")
    along_stokes = message.axis == pb.MomentAxis.STOKES
    if message.axis not in (pb.MomentAxis.SPECTRAL, pb.MomentAxis.STOKES):
        raise MomentError(f"Unsupported moment axis {message.axis}")
    if axes.z is None:
        raise MomentError("Moments need an image with a spectral (depth) axis")
    if along_stokes and axes.stokes is None:
        raise MomentError("Moments along the Stokes axis need an image with a Stokes axis")
    depth = frame.depth
    z_min, z_max = int(message.spectral_range.min), int(message.spectral_range.max)
    if not (0 <= z_min <= z_max < depth):
        raise MomentError(f"Invalid spectral range [{z_min}, {z_max}]: the image has channels 0 to {depth - 1}")
    header = {c.key: c.value for c in reader.header_cards() if c.value is not None}
    if along_stokes:
        assert axes.stokes is not None  # refused above
        stokes_axis = spectral_axis_from_header(header, axes.stokes, frame.num_stokes)
        coordinates = moment_coordinates(stokes_axis, frame.stokes, frame.stokes + 1)
    else:
        spectral = spectral_axis_from_header(header, axes.z, depth)
        coordinates = moment_coordinates(spectral, z_min, z_max + 1)
    x0, x1, y0, y1 = 0, frame.width, 0, frame.height
    mask = None
    region_text = ""
    if message.region_id > 0:
        region, region_text = _region_mask(session, frame, message.region_id)
        x0, x1, y0, y1 = region.x0, region.x1, region.y0, region.y1
        mask = None if region.is_full else np.asarray(region.mask, dtype=bool)
    plan = MomentPlan(frame, frame.stokes, x0, x1, y0, y1, z_min, z_max + 1, along_stokes, moments, prange,
                      coordinates, mask, region_text)
    plan.chunks = _chunks(plan, 4 * (1 if along_stokes else plan.z1 - plan.z0))
    return plan


# ------------------------------------------------------------------ computing


def compute_chunk(plan: MomentPlan, z0: int, z1: int, ya: int, yb: int, xa: int,
                  xb: int) -> tuple[dict[Moment, np.ndarray], int]:
    """Blocking: the moment planes of rows ``ya:yb``, columns ``xa:xb`` of the sub-image."""
    reader = plan.frame.reader
    block = region_data.read_block(reader, plan.x0 + xa, plan.x0 + xb, plan.y0 + ya, plan.y0 + yb, z0, z1,
                                   plan.stokes)
    mask = None if plan.mask is None else plan.mask[ya:yb, xa:xb]
    result = moment_block(block, plan.coordinates, plan.moments, plan.prange, mask)
    return result.planes, result.selected


class MomentResults:
    """The outputs of a plan filled chunk by chunk (in any order), with the reference's
    progress cadence: ``[planes, height, width]`` float32 per moment and the selected count."""

    def __init__(self, session: Session, plan: MomentPlan, request_id: int) -> None:
        self.session = session
        self.plan = plan
        self.request_id = request_id
        shape = (plan.planes, plan.height, plan.width)
        self.results = {m: np.full(shape, np.nan, dtype=np.float32) for m in plan.moments}
        self.selected = 0
        self._done = 0
        self._pacing = MomentPacing(trio.current_time())

    async def add(self, chunk: tuple[int, int, int, int, int, int, int],
                  result: tuple[dict[Moment, np.ndarray], int]) -> None:
        """Store one chunk's planes; MOMENT_PROGRESS when it is due."""
        plane, _z0, _z1, ya, yb, xa, xb = chunk
        planes, count = result
        for moment, values in planes.items():
            self.results[moment][plane, ya:yb, xa:xb] = values
        self.selected += count
        self._done += 1
        fraction = self._done / len(self.plan.chunks)
        if self._pacing.due(fraction, trio.current_time()) and fraction < 1.0:
            await self.session.reply(self.request_id,
                                     pb.MomentProgress(file_id=self.plan.frame.file_id, progress=fraction))

    def outcome(self) -> tuple[dict[Moment, np.ndarray], int]:
        return self.results, self.selected


async def compute_moments(session: Session, job: Job, plan: MomentPlan, request_id: int,
                          workers: int = 1) -> tuple[dict[Moment, np.ndarray], int] | None:
    """Run every chunk (``workers`` at a time); progress as they finish. None if cancelled.

    Results are ``[planes, height, width]`` float32 per moment and the selected count.
    """
    collected = MomentResults(session, plan, request_id)
    pending = iter(plan.chunks)

    async def worker() -> None:
        for chunk in pending:
            _plane, z0, z1, ya, yb, xa, xb = chunk
            await collected.add(chunk, await job.run_chunk(compute_chunk, plan, z0, z1, ya, yb, xa, xb))

    async with trio.open_nursery() as nursery:
        for _ in range(max(1, min(workers, len(plan.chunks)))):
            nursery.start_soon(worker)
    return collected.outcome()


# ------------------------------------------------------------------ results


def _embed(values: np.ndarray, plan: MomentPlan) -> np.ndarray:
    """A ``[planes, h, w]`` result as a numpy-order array of the source's dimensionality:
    the moment axis (or, along Stokes, the Stokes axis) has length 1."""
    axes = plan.frame.reader.axes
    ndim = plan.frame.reader.ndim
    assert axes.z is not None
    labels = [axes.x, axes.y, axes.z]
    labels += [a for a in range(ndim) if a not in labels]
    arranged = np.transpose(values, (2, 1, 0)).reshape(values.shape[::-1] + (1,) * (ndim - 3))
    fits_order = np.moveaxis(arranged, list(range(ndim)), labels)
    return np.ascontiguousarray(fits_order.T)


def _image_cards(plan: MomentPlan, moment: Moment, unit: str) -> list[HeaderCard]:
    reader = plan.frame.reader
    axes = reader.axes
    cards = subimage_cards(copy_cards(reader.header_cards()), axes, plan.x0, plan.y0)
    header = {c.key: c.value for c in cards if c.value is not None}
    assert axes.z is not None  # a plan exists only for an image with a depth axis
    if plan.along_stokes:
        assert axes.stokes is not None  # and, along Stokes, with a Stokes axis
        cards = moment_axis_cards(cards, axes.z, plan.z0)
        moment_axis = axes.stokes
        cards = moment_axis_cards(cards, moment_axis, plan.stokes)
    else:
        spectral = spectral_axis_from_header(header, axes.z, plan.frame.depth)
        velocity = None
        if spectral.converts_to_velocity and spectral.tabular:
            v = spectral.radio_velocity_kms(np.array([plan.z0, plan.z0 + 1], dtype=float)) * 1000.0
            velocity = (float(v[0]), float(v[1]))
        cards = moment_axis_cards(cards, axes.z, plan.z0, velocity)
        if axes.stokes is not None:
            cards = moment_axis_cards(cards, axes.stokes, plan.stokes)
            if plan.stokes in STOKES_CODES_COMPUTED:
                set_card(cards, f"CRVAL{axes.stokes + 1}", float(STOKES_CODES_COMPUTED[plan.stokes]))
    set_card(cards, "BUNIT", unit)
    cards.append(HeaderCard("HISTORY", None, "CARTA MOMENT MAP GENERATOR LOG"))
    cards.append(HeaderCard("HISTORY", None, f"Input image: {os.path.basename(plan.frame.name)}"))
    if plan.region_text:
        cards.append(HeaderCard("HISTORY", None, plan.region_text))
    cards.append(HeaderCard("HISTORY", None, f"Spectral range: [{plan.z0}, {plan.z1 - 1}](channel)"))
    cards.append(HeaderCard("HISTORY", None, f"Moment: {SUFFIXES[moment]}"))
    return cards


def make_images(plan: MomentPlan, results: dict[Moment, np.ndarray], name_index: int,
                keep: bool) -> list[tuple[int, GeneratedImage]]:
    """Blocking: (file id, image) of every result, in request order."""
    reader = plan.frame.reader
    base = os.path.basename(plan.frame.name.rstrip("/")) + ".moment"
    brightness = reader.unit
    beams = reader.beams()
    beam = [beams[0]] if beams else []
    file_id = plan.frame.file_id
    images = []
    for moment in plan.moments:
        name = f"{base}.{SUFFIXES[moment]}" + (str(name_index) if keep else "")
        unit = moment_unit(moment, brightness, plan.coordinates)
        image_id = (file_id + 1) * ID_MULTIPLIER + name_index * MOMENT_COUNT + int(moment)
        data = _embed(results[moment], plan)
        images.append((image_id, GeneratedImage(name, data, _image_cards(plan, moment, unit), unit=unit, beams=beam)))
    return images


# ------------------------------------------------------------------ handlers


@handles(pb.EventType.MOMENT_REQUEST, concurrent=True, response=pb.MomentResponse)
async def on_moment_request(session: Session, request_id: int, message: pb.MomentRequest) -> None:
    """Validate, compute as a cancellable job, open the images, answer (see module doc)."""
    file_id = message.file_id
    frame = session.frames.get(file_id)
    if frame is None:
        text = f"File id {file_id} not found"
        await session.send_error(text, pb.ErrorSeverity.DEBUG, ["Moments"])
        await session.reply(request_id, pb.MomentResponse(success=False, message=text))
        return
    try:
        plan = await session.run_sync(build_plan, session, frame, message)
    except MomentError as exc:
        log.info("MOMENT_REQUEST for file %d refused: %s", file_id, exc)
        await session.reply(request_id, pb.MomentResponse(success=False, message=str(exc)))
        return
    outcome = None
    address = session.settings.dask_scheduler
    with frame.jobs.open(JOB_KIND) as job:
        calls = None
        if address is not None:
            from carta_trio.actors import moments_cluster

            calls = moments_cluster.cluster_calls(plan)
        if calls is None or address is None:
            outcome = await compute_moments(session, job, plan, request_id, moment_workers(session))
        else:
            from carta_trio.actors.cluster import ClusterError

            try:
                outcome = await moments_cluster.compute_moments_on_cluster(session, plan, request_id, str(address), calls)
            except ClusterError as exc:
                log.warning("MOMENT_REQUEST for file %d on the cluster failed: %s", file_id, exc)
                await session.reply(request_id, pb.MomentResponse(success=False, message=str(exc)))
                return
    if job.cancelled or outcome is None:
        await session.reply(request_id, pb.MomentResponse(success=True, cancel=True))
        return
    results, selected = outcome
    if selected == 0:
        await session.reply(request_id, pb.MomentResponse(
            success=False, message="No pixel passes the moment mask: every spectrum is masked or out of range"))
        return
    if session.frames.get(file_id) is not frame:
        await session.reply(request_id, pb.MomentResponse(success=True, cancel=True))
        return
    name_index = 0
    if message.keep:
        name_index = frame.facts.moment_name_index = frame.facts.moment_name_index + 1
    try:
        images = await session.run_sync(make_images, plan, results, name_index, message.keep)
    except ReaderClosed:  # closed meanwhile (CLOSE_FILE, RESUME_SESSION): as a frame already gone
        await session.reply(request_id, pb.MomentResponse(success=True, cancel=True))
        return
    response = pb.MomentResponse(success=True)
    for image_id, image in images:
        response.open_file_acks.append(await open_generated_frame(session, image_id, image))
    await session.reply(request_id, response)


@handles(pb.EventType.STOP_MOMENT_CALC)
async def on_stop_moment_calc(session: Session, request_id: int, message: pb.StopMomentCalc) -> None:
    """Cancel the file's moment job now; its response follows with ``cancel = true``."""
    cancel_on_file(session, message.file_id, JOB_KIND)
