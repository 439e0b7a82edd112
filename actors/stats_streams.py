"""REGION_STATS_DATA for the image plane (region -1) and closed regions (ANALYTICS.md §2).

One message per stats config, ``statistics`` in the requested order, always for the
frame's current channel and the config's Stokes. Region -1 covers the whole plane
(HDF5 files with stored per-plane sums answer from them, engine 2); a region covers
the pixel centres of its mask. A region outside the image reports NumPixels 0 and NaN
for everything else.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import numpy as np

from carta_trio.actors import region_data
from carta_trio.actors.analytics_state import IMAGE_REGION_ID, StatsRequirement, analytics, send_file_stream
from carta_trio.actors.histogram_streams import resolve_requirement_stokes
from carta_trio.actors.stokes_coordinates import CoordinateError, is_computed
from carta_trio.analysis import statistics
from carta_trio.actors.session import one_error_per_call
from carta_trio.messages import schema as pb

if TYPE_CHECKING:
    from carta_trio.actors.frame import Frame
    from carta_trio.actors.regions import Region

log = logging.getLogger(__name__)

TAG = "stats"


def flux_of(frame: Frame) -> region_data.FluxContext:
    """The frame's FluxDensity inputs (read once per frame)."""
    if frame.facts.flux_context is None:
        frame.facts.flux_context = region_data.flux_context(frame.reader)
    context: region_data.FluxContext = frame.facts.flux_context
    return context


def _stats_message(frame: Frame, region_id: int, channel: int, stokes: int, values: list[tuple[int, float]]) -> pb.RegionStatsData:
    return pb.RegionStatsData(
        file_id=frame.file_id,
        region_id=region_id,
        channel=channel,
        stokes=stokes,
        statistics=[pb.StatisticsValue(stats_type=st, value=float(v)) for st, v in values],
    )


def _image_statistics(frame: Frame, plane: np.ndarray | None, channel: int, stokes: int, stats: list[int], flux: float) -> list[tuple[int, float]]:
    if not is_computed(stokes):
        stored = _stored(frame, channel, stokes)
        if stored is not None:
            beams = flux_of(frame)
            area = beams.beam_area_pixels(channel, stokes) if len(beams.beams) == 1 else None
            return statistics.stored_plane_statistics(
                frame.width, frame.height, stored["nan_count"], stored["sum"], stored["sum_sq"],
                stored["min"], stored["max"], stats, area,
            )
    if plane is None:
        plane = region_data.read_plane(frame.reader, channel, stokes)
    return statistics.region_statistics(plane, None, 0, stats, flux)


def _stored(frame: Frame, channel: int, stokes: int) -> dict[str, Any] | None:
    """HDF5 per-plane statistics with everything engine 2 needs, else None."""
    try:
        stored = frame.reader.precomputed_stats(channel, stokes)
    except (IndexError, ValueError, OSError):
        return None
    if not stored or not all(k in stored for k in ("sum", "sum_sq", "min", "max", "nan_count")):
        return None
    return stored


@one_error_per_call
async def send_image_stats(frame: Frame) -> None:
    """REGION_STATS_DATA for region -1, one per stats config (current channel)."""
    requirements = list(analytics(frame).stats.get(IMAGE_REGION_ID, []))
    for requirement in requirements:
        await _send_stats(frame, IMAGE_REGION_ID, None, requirement)


@one_error_per_call
async def send_region_stats(frame: Frame, region: Region) -> None:
    """REGION_STATS_DATA for a closed region, one per stats config (current channel)."""
    requirements = list(analytics(frame).stats.get(region.region_id, []))
    for requirement in requirements:
        await _send_stats(frame, region.region_id, region, requirement)


def _region_values(frame: Frame, region: Region, plane: np.ndarray | None, channel: int, stokes: int,
                   stats: list[int], flux: float) -> list[tuple[int, float]]:
    mask = region.compute_mask(frame)
    if mask is None:
        return statistics.outside_statistics(stats)
    if plane is not None:
        box = plane[mask.slices()]
    else:
        box = region_data.read_block(frame.reader, mask.x0, mask.x1, mask.y0, mask.y1, channel, channel + 1, stokes)[0]
    return statistics.region_statistics(box, None if mask.is_full else mask.mask, mask.x0, stats, flux)


async def _send_stats(frame: Frame, region_id: int, region: Region | None, requirement: StatsRequirement) -> None:
    session = frame.session
    channel = frame.channel
    version = region.version if region is not None else 0
    try:
        stokes = resolve_requirement_stokes(frame, requirement.coordinate)
    except CoordinateError as exc:
        await session.send_error(f"Stats requirements not valid for region id {region_id}: {exc}", pb.ErrorSeverity.ERROR, [TAG])
        return
    plane = frame.plane if (channel, stokes) == (frame.channel, frame.stokes) else None
    flux = flux_of(frame).flux_scale(channel, stokes)
    stats = list(requirement.stats_types)
    try:
        if region is None:
            values = await session.run_sync(_image_statistics, frame, plane, channel, stokes, stats, flux)
        else:
            values = await session.run_sync(_region_values, frame, region, plane, channel, stokes, stats, flux)
    except Exception as exc:  # noqa: BLE001 - reported; the other streams continue
        log.exception("statistics of region %d failed", region_id)
        await session.send_error(f"Statistics calculation for region {region_id} failed: {exc}", pb.ErrorSeverity.ERROR, [TAG])
        return
    if region is not None and region.version != version:
        return
    await send_file_stream(frame, _stats_message(frame, region_id, channel, stokes, values))

