"""REGION_HISTOGRAM_DATA for the image plane (region -1) and user regions (> 0).

BEHAVIOUR.md §4.6, ANALYTICS.md §3.3-3.4, WIRE.md §5. One message per configured
histogram, each echoing its config's ``fixed_num_bins``, ``num_bins``,
``fixed_bounds`` and ``bounds`` (coordinate and channel are left empty, as the
reference). Region -1 uses the config's channel (-1: current; 2-D images always the
current one) and the whole plane, or an IDIA HDF5 file's stored histogram when the
config allows it; regions use the current channel and the pixels of
their mask inside their bounding box, with automatic bins sized from that box. A
region outside the image sends nothing. The cube histogram (region -2) is in
:mod:`carta_trio.actors.cube_histogram`.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import numpy as np

from carta_trio.actors import image_histogram, region_data
from carta_trio.actors.image_histogram import histogram_message
from carta_trio.actors.analytics_state import (
    IMAGE_REGION_ID,
    HistogramRequirement,
    analytics,
    send_file_stream,
)
from carta_trio.actors.stokes_coordinates import Coordinate, CoordinateError, resolve_stokes
from carta_trio.analysis import histograms
from carta_trio.actors.session import one_error_per_call
from carta_trio.messages import schema as pb

if TYPE_CHECKING:
    from carta_trio.actors.frame import Frame
    from carta_trio.actors.regions import Region

log = logging.getLogger(__name__)

TAG = "histogram"
ALL_Z = -2


def config_echo(requirement: HistogramRequirement) -> pb.HistogramConfig:
    """The config fields every message echoes (WIRE.md §5)."""
    lo, hi = requirement.bounds
    return pb.HistogramConfig(
        fixed_num_bins=requirement.fixed_num_bins,
        num_bins=requirement.num_bins,
        fixed_bounds=requirement.fixed_bounds,
        bounds=pb.DoubleBounds(min=lo, max=hi),
    )


def requirement_from_config(config: pb.HistogramConfig, coordinate: Coordinate) -> HistogramRequirement:
    return HistogramRequirement(
        coordinate=coordinate,
        channel=int(config.channel),
        fixed_num_bins=bool(config.fixed_num_bins),
        num_bins=int(config.num_bins),
        fixed_bounds=bool(config.fixed_bounds),
        bounds=(float(config.bounds.min), float(config.bounds.max)),
    )


def resolve_requirement_stokes(frame: Frame, requirement_coordinate: Coordinate) -> int:
    """Stokes index of a requirement coordinate on ``frame`` (raises CoordinateError)."""
    return resolve_stokes(requirement_coordinate, frame.stokes, list(frame.reader.stokes_values or []), frame.num_stokes)


async def plane_of(frame: Frame, channel: int, stokes: int) -> np.ndarray:
    """A plane of ``frame``: the cached current plane, or read in a worker thread."""
    if (channel, stokes) == (frame.channel, frame.stokes):
        return frame.plane
    return await frame.session.run_sync(region_data.read_plane, frame.reader, channel, stokes)


def stored_histogram(
    stored: dict[str, Any] | None, requirement: HistogramRequirement, total_pixels: int
) -> histograms.HistogramResult | None:
    """:func:`~carta_trio.actors.image_histogram.stored_histogram` for a requirement."""
    return image_histogram.stored_histogram(stored, requirement.num_bins, requirement.fixed_bounds, total_pixels)


def _bounds(requirement: HistogramRequirement) -> tuple[float, float] | None:
    return requirement.bounds if requirement.fixed_bounds else None


@one_error_per_call
async def send_image_histograms(frame: Frame, requirements: list[HistogramRequirement] | None = None) -> None:
    """One REGION_HISTOGRAM_DATA (region -1) per configured image histogram."""
    if requirements is None:
        requirements = list(analytics(frame).histograms.get(IMAGE_REGION_ID, []))
    session = frame.session
    for requirement in requirements:
        channel = requirement.channel
        if channel == ALL_Z:
            continue  # region -1 with channel -2 produces nothing (WIRE.md §5)
        if channel < 0 or frame.depth == 1:
            channel = frame.channel
        if channel >= frame.depth:
            await session.send_error(
                f"Histogram channel {channel} is invalid in image", pb.ErrorSeverity.ERROR, [TAG]
            )
            continue
        try:
            stokes = resolve_requirement_stokes(frame, requirement.coordinate)
        except CoordinateError as exc:
            await session.send_error(f"Histogram requirements not valid for region id -1: {exc}", pb.ErrorSeverity.ERROR, [TAG])
            continue
        result = await image_histogram.plane_histogram(frame, channel, stokes, requirement.num_bins,
                                                       _bounds(requirement))
        await send_file_stream(
            frame,
            pb.RegionHistogramData(
                file_id=frame.file_id,
                region_id=IMAGE_REGION_ID,
                channel=channel,
                stokes=stokes,
                progress=1.0,
                config=config_echo(requirement),
                histograms=histogram_message(result),
            ),
        )


def _region_histogram(
    frame: Frame, region: Region, plane: np.ndarray | None, channel: int, stokes: int,
    num_bins: int, bounds: tuple[float, float] | None,
) -> histograms.HistogramResult | None:
    mask = region.compute_mask(frame)
    if mask is None:
        return None
    if plane is not None:
        box = plane[mask.slices()]
    else:
        box = region_data.read_block(frame.reader, mask.x0, mask.x1, mask.y0, mask.y1, channel, channel + 1, stokes)[0]
    if num_bins <= 0:
        num_bins = histograms.resolve_num_bins(num_bins, mask.width, mask.height)
    return histograms.histogram(box, num_bins, mask=None if mask.is_full else mask.mask, fixed_bounds=bounds)


@one_error_per_call
async def send_region_histograms(
    frame: Frame, region: Region, requirements: list[HistogramRequirement] | None = None
) -> None:
    """One REGION_HISTOGRAM_DATA per histogram config of a closed region (current channel):
    ``requirements``, or (None) the region's when the job runs.

    Nothing is sent for a region outside the image (ANALYTICS.md §1.6).
    """
    if requirements is None:
        requirements = list(analytics(frame).histograms.get(region.region_id, []))
    session = frame.session
    channel = frame.channel
    version = region.version
    for requirement in requirements:
        try:
            stokes = resolve_requirement_stokes(frame, requirement.coordinate)
        except CoordinateError as exc:
            await session.send_error(
                f"Histogram requirements not valid for region id {region.region_id}: {exc}", pb.ErrorSeverity.ERROR, [TAG]
            )
            continue
        plane = frame.plane if (channel, stokes) == (frame.channel, frame.stokes) else None
        try:
            result = await session.run_sync(
                _region_histogram, frame, region, plane, channel, stokes, requirement.num_bins, _bounds(requirement)
            )
        except Exception as exc:  # noqa: BLE001 - reported, other streams continue
            log.exception("histogram of region %d failed", region.region_id)
            await session.send_error(
                f"Histogram calculation for region {region.region_id} failed: {exc}", pb.ErrorSeverity.WARNING, [TAG]
            )
            continue
        if result is None or region.version != version:
            continue
        await send_file_stream(
            frame,
            pb.RegionHistogramData(
                file_id=frame.file_id,
                region_id=region.region_id,
                channel=channel,
                stokes=stokes,
                progress=1.0,
                config=config_echo(requirement),
                histograms=histogram_message(result),
            ),
        )
