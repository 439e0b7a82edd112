"""Image fitting: FITTING_REQUEST -> FITTING_PROGRESS... -> FITTING_RESPONSE; STOP_FITTING.

The fit (ANALYTICS.md §8, :mod:`carta_trio.analysis.gaussian_fit`) runs as the job
``("fitting", file_id)`` in the request's own task: iterations run in worker threads
in chunks of about :data:`CHUNK_SECONDS` (a cancelled chunk stops at its next function
evaluation and is waited for, so no computation outlives the job). FITTING_PROGRESS
``(iter + 1)/202`` goes out once per solver iteration, from ``iter`` 0 (before the
first) on, as the reference's GSL driver callback sends it (with the request's id),
then ``201/202`` once the solver is done, then the response. Requests beyond
:data:`carta_trio.limits.MAX_FITTING_COMPONENTS` components or whose Jacobian would
exceed :data:`carta_trio.limits.MAX_FITTING_JACOBIAN_BYTES` are refused. Data: the current plane
(region -1), the field of view ``fov_info`` (region 0) or a closed region (> 0); pixels
outside the region are NaN in its bounding box.

Cancelled by STOP_FITTING for the file, CLOSE_FILE, a newer FITTING_REQUEST on the
same file, or the session ending; the response is then ``success=false``,
``task cancelled`` (as the reference). Bad input (unknown file, no components, a
region that is missing, open or outside, too few finite pixels) gets
``success=false`` with the reason, never a stuck progress bar. The reference answers an
unknown file id with a DEBUG ERROR_DATA only, which would leave the frontend's fitting
dialog waiting; here the response says ``File id <id> not found``.

Model and residual images (``create_model_image``/``create_residual_image``) are
opened as new frames (:mod:`carta_trio.actors.fitting_images`) and their OpenFileAcks
carried in the response.
"""

from __future__ import annotations

import functools
import logging
import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, TypeVar, cast

import numpy as np
import trio

from carta_trio.actors import workers
from carta_trio.actors.dispatch import handles
from carta_trio.actors.fitting_images import open_fit_images
from carta_trio.actors.jobs import cancel_on_file
from carta_trio.actors.frame_grids import pixel_scale_of
from carta_trio.actors.regions import registry
from carta_trio.io.sky_coordinates import pixel_scales
from carta_trio import limits
from carta_trio.analysis.gaussian_fit import PARAMS_PER_COMPONENT, FitInputError, FitResult, GaussianFitter
from carta_trio.analysis.region_geometry import RegionError, RegionMask
from carta_trio.analysis.region_masks import region_mask
from carta_trio.io.header_entries import normalize_unit
from carta_trio.messages import schema as pb

if TYPE_CHECKING:
    from carta_trio.actors.frame import Frame
    from carta_trio.actors.jobs import Job
    from carta_trio.actors.regions import Region
    from carta_trio.actors.session import Session
    from carta_trio.io.image_reader import ImageReader

log = logging.getLogger(__name__)
T = TypeVar("T")

KIND = "fitting"
IMAGE_REGION_ID = -1
FOV_REGION_ID = 0
#: Seconds of solver work per worker-thread chunk, between progress checks.
CHUNK_SECONDS = 0.25
OUTSIDE = "region is outside image or is not closed"
_ARCSEC_PER = {"deg": 3600.0, "degree": 3600.0, "degrees": 3600.0, "": 3600.0, "arcmin": 60.0,
               "arcsec": 1.0, "rad": 180.0 / math.pi * 3600.0, "mas": 1e-3}


#: (channel, stokes, pixels) of the plane a fit works on, taken when the request arrives.
Plane = tuple[int, int, np.ndarray]


class FitRequestError(Exception):
    """A request the fitter cannot serve; ``str(error)`` is the response message."""


# ------------------------------------------------------------------ the data


def beam_size_pixels(reader: ImageReader, channel: int, stokes: int) -> float:
    """sqrt(bmaj·bmin) of the plane's beam in pixels, 0 without a beam (§8.4).

    As the reference: the first beam, or for per-plane beams the one of this channel and
    Stokes; major and minor are divided by the increments of the two direction axes.
    """
    beams = reader.beams()
    if not beams:
        return 0.0
    beam = beams[0]
    if len(beams) > 1:
        index = stokes * reader.depth + channel
        if 0 <= index < len(beams):
            beam = beams[index]
    if not beam[0] or not beam[1]:
        return 0.0
    dx, dy = _increments_arcsec(reader)
    if not dx or not dy:
        return 0.0
    return math.sqrt(abs(beam[0] / dx) * abs(beam[1] / dy))


def _increments_arcsec(reader: ImageReader) -> tuple[float, float]:
    """|increment| of the direction axes (render axes if there are none) in arcsec, by the
    one WCS rule (``sky_coordinates.pixel_scales``: CDELT, CD and PC alike); 0 if unknown."""
    axes = reader.axes
    x = axes.spatial_x if axes.spatial_x is not None else axes.x
    y = axes.spatial_y if axes.spatial_y is not None else axes.y
    return pixel_scales(reader, x, y) or (0.0, 0.0)


def _masked_box(plane: np.ndarray, mask: RegionMask) -> np.ndarray:
    """The region's bounding box of ``plane`` with pixels outside the region NaN."""
    height, width = mask.mask.shape
    box = np.array(plane[mask.y0:mask.y0 + height, mask.x0:mask.x0 + width], dtype=np.float32)
    box[~mask.mask] = np.nan
    return box


def _region_of(frame: Frame, message: pb.FittingRequest, region: Region | None) -> RegionMask | None:
    """The pixels to fit: None for the whole plane, else the mask of the field of view
    or of ``region`` (the session's region ``message.region_id``, if any). Blocking.

    Raises :class:`FitRequestError` with the reference's messages.
    """
    region_id = message.region_id
    if region_id == IMAGE_REGION_ID:
        return None
    if region_id == FOV_REGION_ID:
        fov = message.fov_info
        points = [(float(p.x), float(p.y)) for p in fov.control_points]
        try:
            mask = region_mask(fov.region_type, points, fov.rotation, frame.width, frame.height, pixel_scale_of(frame))
        except RegionError as exc:
            raise FitRequestError("failed to set up field of view region") from exc
    else:
        if region is None:
            raise FitRequestError("region id not found")
        if not (region.is_closed or region.is_point):
            raise FitRequestError(OUTSIDE)
        try:
            mask = region.compute_mask(frame)
        except RegionError as exc:  # drawn on a file with another pixel grid
            raise FitRequestError(str(exc)) from exc
    if mask is None:
        raise FitRequestError(OUTSIDE)
    return mask


def _prepare(frame: Frame, plane: Plane, message: pb.FittingRequest, region: Region | None) -> GaussianFitter:
    """Blocking: cut the data and set up the fitter (NaN count, noise estimate)."""
    channel, stokes, pixels = plane
    ncomp = len(message.initial_values)
    if ncomp > limits.MAX_FITTING_COMPONENTS:
        raise FitRequestError(f"too many Gaussian components: {ncomp} (at most {limits.MAX_FITTING_COMPONENTS})")
    mask = _region_of(frame, message, region)
    data, origin = (pixels, (0, 0)) if mask is None else (_masked_box(pixels, mask), (mask.x0, mask.y0))
    finite = int(np.count_nonzero(~np.isnan(data)))
    jacobian = finite * (ncomp * PARAMS_PER_COMPONENT + 1) * 8
    if jacobian > limits.MAX_FITTING_JACOBIAN_BYTES:
        raise FitRequestError(
            f"fitting {ncomp} component(s) to {finite} pixels needs {jacobian / 2**30:.1f} GiB, more than the "
            f"{limits.MAX_FITTING_JACOBIAN_BYTES / 2**30:.1f} GiB limit: fit a smaller region or fewer components"
        )
    components = [
        (c.center.x, c.center.y, c.amp, c.fwhm.x, c.fwhm.y, c.pa) for c in message.initial_values
    ]
    return GaussianFitter(
        data,
        components,
        list(message.fixed_params),
        message.offset,
        solver=message.solver,
        beam_size=beam_size_pixels(frame.reader, channel, stokes),
        unit=normalize_unit(frame.reader.unit or ""),
        origin=origin,
    )


# --------------------------------------------------------------- the response


def _component(values: Sequence[float]) -> pb.GaussianComponent:
    cx, cy, amp, fwhm_x, fwhm_y, pa = values
    return pb.GaussianComponent(
        center=pb.DoublePoint(x=cx, y=cy), amp=amp, fwhm=pb.DoublePoint(x=fwhm_x, y=fwhm_y), pa=pa
    )


def response_of(result: FitResult) -> pb.FittingResponse:
    """FITTING_RESPONSE fields of a fit (values, errors, offset, fluxes, log only on success)."""
    response = pb.FittingResponse(success=result.success, message=result.message)
    if result.success:
        response.result_values.extend(_component(v) for v in result.values)
        response.result_errors.extend(_component(e) for e in result.errors)
        response.offset_value = result.offset
        response.offset_error = result.offset_error
        response.integrated_flux_values.extend(result.integrated_flux)
        response.integrated_flux_errors.extend(result.integrated_flux_errors)
        response.log = result.log
    return response


async def _fit(session: Session, job: Job, request_id: int, frame: Frame, plane: Plane,
               message: pb.FittingRequest) -> tuple[FitResult, tuple[int, int]]:
    """Run one fit inside ``job``: (result, image pixel of the box origin).

    Cancellation interrupts it (the caller then answers ``task cancelled``).
    """
    file_id = message.file_id
    region = registry(session).get(message.region_id) if message.region_id > 0 else None
    try:
        fitter = await _in_thread(None, _prepare, frame, plane, message, region)
    except (FitRequestError, FitInputError) as exc:
        log.info("Fitting file %d refused: %s", file_id, exc)
        return FitResult(False, str(exc)), (0, 0)
    log.info("Fitting image (%d data points) with %d Gaussian component(s) (%d parameter(s)).",
             fitter.n_valid, fitter.ncomp, len(fitter.free))
    try:
        while True:
            finished = await _in_thread(fitter, fitter.run, CHUNK_SECONDS)
            # One FITTING_PROGRESS per solver iteration, as the reference's GSL callback.
            for value in fitter.take_progress():
                await session.reply(request_id, pb.FittingProgress(file_id=file_id, progress=value))
            if finished:
                break
        await session.reply(request_id, pb.FittingProgress(file_id=file_id, progress=fitter.progress))
        result = await _in_thread(fitter, functools.partial(
            fitter.result, model=message.create_model_image, residual=message.create_residual_image))
    except (ValueError, ArithmeticError, np.linalg.LinAlgError) as exc:
        # Extreme initial values drive the solver to inf/NaN (issue 11 D13): the fit
        # failed, which is an answer, not a server error.
        # The reference's text exactly (the protocol suite compares it whole); the cause is logged.
        log.info("Fitting file %d failed: %s", file_id, exc)
        return FitResult(False, "fit did not converge"), (0, 0)
    return result, fitter.origin


async def _in_thread(fitter: GaussianFitter | None, fn: Callable[..., T], *args: object) -> T:
    """Run ``fn`` in a worker thread under the CPU limiter; if cancelled meanwhile, stop
    ``fitter`` and wait for the thread, which returns before its next function
    evaluation. Unlike an abandoned thread, no fit keeps computing (and holding a CPU
    slot) after its STOP_FITTING or CLOSE_FILE."""
    finished = False

    async def stop_on_cancel() -> None:
        try:
            await trio.sleep_forever()
        finally:
            if not finished and fitter is not None:
                fitter.stop()

    async with trio.open_nursery() as nursery:
        nursery.start_soon(stop_on_cancel)
        try:
            # an error crosses the nursery as a value (not wrapped in an exception group)
            value, error = await trio.to_thread.run_sync(_capture, fn, *args, limiter=workers.thread_limiter())
        finally:
            finished = True
            nursery.cancel_scope.cancel()
    if error is not None:
        raise error
    return cast(T, value)


def _capture(fn: Callable[..., T], *args: object) -> tuple[T | None, Exception | None]:
    try:
        return fn(*args), None
    except Exception as exc:  # noqa: BLE001 - re-raised in the caller's task
        return None, exc


# ------------------------------------------------------------------ handlers


@handles(pb.EventType.FITTING_REQUEST, concurrent=True, response=pb.FittingResponse)
async def on_fitting_request(session: Session, request_id: int, message: pb.FittingRequest) -> None:
    """Fit, streaming progress; always ends with one FITTING_RESPONSE."""
    file_id = message.file_id
    frame = session.frames.get(file_id)
    if frame is None:
        await session.reply(request_id, pb.FittingResponse(success=False, message=f"File id {file_id} not found"))
        return
    outcome: tuple[FitResult, tuple[int, int]] | None = None
    plane = (frame.channel, frame.stokes, frame.plane)
    with frame.jobs.open(KIND) as job:
        outcome = await _fit(session, job, request_id, frame, plane, message)
    if job.cancelled or outcome is None:
        log.info("Fitting file %d cancelled", file_id)
        await session.reply(request_id, pb.FittingResponse(success=False, message="task cancelled"))
        return
    result, origin = outcome
    response = response_of(result)
    if result.success and (message.create_model_image or message.create_residual_image):
        await open_fit_images(session, frame, plane[:2], message, result, origin, response)
    await session.reply(request_id, response)


@handles(pb.EventType.STOP_FITTING)
async def on_stop_fitting(session: Session, request_id: int, message: pb.StopFitting) -> None:
    """Cancel the file's running fit; its response says ``task cancelled``. No reply."""
    cancel_on_file(session, message.file_id, KIND)
