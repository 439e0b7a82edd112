"""PV_REQUEST → PV_PROGRESS… → (REGION_HISTOGRAM_DATA) → PV_RESPONSE; STOP_PV_CALC.

ANALYTICS.md §7, BEHAVIOUR.md §4.3. A request with ``preview_settings`` goes to
:mod:`carta_trio.actors.pv_preview`. Otherwise the LINE region is cut into boxes
(:mod:`carta_trio.actors.pv_cut`) and every box's mean spectrum over the channel range
at the current Stokes is read as a job (kind ``pv``, one per file); PV_PROGRESS
(with the request's id, ``preview_id`` 0) reports the fraction of boxes done at most
every half second and at completion. The result is an in-memory image
``<stem>_pv[N]<ext>`` opened as frame ``(file_id + 1)·(−1000) − N``: N is 0 for the
first PV of a file and for ``keep = false``, else the previous N + 1. Its histogram
precedes PV_RESPONSE with ``open_file_ack``.

STOP_PV_CALC, CLOSE_FILE, a newer PV_REQUEST for the file or moving the cut cancels
the job at once: PV_RESPONSE ``success = false``, ``cancel = true``, "PV image
generator cancelled.".
"""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING

import numpy as np
import trio

from carta_trio.actors import cluster, pv_preview  # cluster imports dask only when used
from carta_trio.actors.dispatch import handles
from carta_trio.actors.generated_frames import open_generated_frame
from carta_trio.actors.jobs import Job, cancel_on_file
from carta_trio.actors.progress_pacing import IntervalPacing
from carta_trio.actors.pv_cut import Cut, PvError, box_groups, plan_cut, read_box_spectra, validate_request
from carta_trio.actors.regions import Region, add_region_listener
from carta_trio.analysis.pv import pv_matrix
from carta_trio.io.generated_headers import copy_cards, pv_cards
from carta_trio.io.generated_image import GeneratedImage
from carta_trio.io.image_reader import Beam, HeaderCard
from carta_trio.messages import schema as pb

if TYPE_CHECKING:
    from carta_trio.actors.frame import Frame
    from carta_trio.actors.session import Session

log = logging.getLogger(__name__)

JOB_KIND = "pv"
PV_ID_MULTIPLIER = -1000
CANCELLED = "PV image generator cancelled."


def pv_name(source_name: str, index: int, suffix: str = "_pv") -> str:
    """``image.ext`` → ``image_pv[index].ext`` (index omitted when 0), as the reference."""
    base = os.path.basename(source_name.rstrip("/"))
    stem, ext = os.path.splitext(base)
    return f"{stem}{suffix}{index if index > 0 else ''}{ext}"


def pv_image(frame_name: str, source_cards: list[HeaderCard], spectral_axis: int, has_stokes: bool, stokes: int,
             spectra: np.ndarray, cut: Cut, z0: int, reverse: bool, name: str, beams: list[Beam],
             spectral_rebin: int = 1) -> GeneratedImage:
    """Blocking: the PV image of box spectra ``[nboxes, nchan]``."""
    data = pv_matrix(spectra, reverse)
    if has_stokes:
        data = data[np.newaxis]
    cards = pv_cards(copy_cards(source_cards), spectral_axis, z0, len(cut), cut.increment, cut.unit, reverse,
                     stokes if has_stokes else None, spectral_rebin)
    return GeneratedImage(name, data, cards, beams=beams[:1])


async def compute_spectra(session: Session, job: Job, frame: Frame, cut: Cut, z0: int, z1: int,
                          request_id: int) -> np.ndarray:
    """Every box's spectrum, chunk by chunk, with PV_PROGRESS; cancelled with the job.

    With ``--dask_scheduler`` the chunks are cluster tasks when the workers can open the
    image (progress as they complete; a cluster failure raises ``cluster.ClusterError``)."""
    spectra = np.full((len(cut), z1 - z0), np.nan, dtype=np.float32)
    n = len(cut)
    stokes = frame.stokes
    pacing = IntervalPacing(trio.current_time())  # the reference's first report after 0.5 s
    groups = box_groups(cut, z1 - z0)
    done = 0

    async def add(a: int, b: int, values: np.ndarray) -> None:
        nonlocal done
        spectra[a:b] = values
        done += b - a
        if pacing.due(done / n, trio.current_time()):
            await frame.session.reply(request_id, pb.PvProgress(file_id=frame.file_id, progress=done / n))

    address = session.settings.dask_scheduler
    source = None
    if address is not None:
        source = cluster.cluster_source(frame.reader, stokes)
    if source is not None:
        from carta_trio.analysis.cluster_tasks import pv_spectra_task

        sizes = [sum(0 if m is None else m.width * m.height * (z1 - z0) * 4 for m in cut.masks[a:b]) for a, b in groups]
        groups = [(groups[a][0], groups[b - 1][1]) for a, b in cluster.task_ranges(sizes)]  # few large tasks
        calls = [(*source, stokes, cut.masks[a:b], z0, z1) for a, b in groups]

        async def collect(index: int, values: np.ndarray) -> None:
            await add(*groups[index], values)

        await cluster.map_tasks(str(address), pv_spectra_task, calls, collect)
        return spectra
    for a, b in groups:
        await add(a, b, await job.run_chunk(read_box_spectra, frame.reader, cut.masks[a:b], z0, z1, stokes))
    return spectra


@handles(pb.EventType.PV_REQUEST, concurrent=True, response=pb.PvResponse)
async def on_pv_request(session: Session, request_id: int, message: pb.PvRequest) -> None:
    """A PV image, or a PV preview when ``preview_settings`` is present."""
    file_id = message.file_id
    frame = session.frames.get(file_id)
    preview = message.HasField("preview_settings")
    if preview:
        pv_preview.stop_updates(session, message.preview_settings.preview_id)
    if frame is None:
        text = f"File id {file_id} not found"
        await session.send_error(text, pb.ErrorSeverity.DEBUG, ["PV"])
        await session.reply(request_id, _failure(message, text))
        return
    try:
        region, z0, z1 = validate_request(session, frame, message)
        if preview:
            await pv_preview.preview_request(session, request_id, message, frame, region, z0, z1)
            return
        cut = await session.run_sync(plan_cut, frame.reader, region.points, message.width)
    except PvError as exc:
        log.info("PV_REQUEST for file %d refused: %s", file_id, exc)
        await session.reply(request_id, _failure(message, str(exc)))
        return
    spectra = None
    cuts = session.state.pv_cut_regions
    with frame.jobs.open(JOB_KIND) as job:
        cuts[file_id] = region.region_id
        try:
            spectra = await compute_spectra(session, job, frame, cut, z0, z1, request_id)
        except cluster.ClusterError as exc:
            log.warning("PV_REQUEST for file %d on the cluster failed: %s", file_id, exc)
            await session.reply(request_id, pb.PvResponse(success=False, message=str(exc)))
            return
    if job.cancelled or spectra is None or session.frames.get(file_id) is not frame:
        await session.reply(request_id, pb.PvResponse(success=False, cancel=True, message=CANCELLED))
        return
    indices = session.state.pv_name_index
    index = indices[file_id] + 1 if message.keep and file_id in indices else 0
    indices[file_id] = index
    reader = frame.reader
    image = await session.run_sync(
        pv_image, frame.name, reader.header_cards(), reader.axes.spectral, reader.axes.stokes is not None,
        frame.stokes, spectra, cut, z0, message.reverse, pv_name(frame.name, index), reader.beams(),
    )
    ack = await open_generated_frame(session, (file_id + 1) * PV_ID_MULTIPLIER - index, image)
    await session.reply(request_id, pb.PvResponse(success=ack.success, message=ack.message, open_file_ack=ack))


def _failure(message: pb.PvRequest, text: str) -> pb.PvResponse:
    """``success = false`` with ``text``; previews also carry an empty preview_data."""
    response = pb.PvResponse(success=False, message=text)
    if message.HasField("preview_settings"):
        response.preview_data.SetInParent()
        response.preview_data.preview_id = message.preview_settings.preview_id
    return response


async def _cut_moved(session: Session, region: Region) -> None:
    """Moving a cut cancels the PV image being computed from it (as the reference)."""
    for file_id, region_id in list(session.state.pv_cut_regions.items()):
        if region_id == region.region_id:
            cancel_on_file(session, file_id, JOB_KIND)


add_region_listener(changed=_cut_moved)


@handles(pb.EventType.STOP_PV_CALC)
async def on_stop_pv_calc(session: Session, request_id: int, message: pb.StopPvCalc) -> None:
    """Cancel the file's PV job now; its response follows with ``cancel = true``."""
    cancel_on_file(session, message.file_id, JOB_KIND)
