"""Requirement messages and what each change re-sends (BEHAVIOUR.md §4.3-4.4, ICD §3.5-3.6).

SET_SPATIAL/SPECTRAL/STATS/HISTOGRAM_REQUIREMENTS replace the requirements of one
(file, region) and send what they ask for. The handlers run inline, in arrival order,
and only validate, store and start jobs of the frame (``frame.jobs.start``),
so a later message always supersedes an earlier one and nothing here delays the next
message or a tile. Errors are ERROR_DATA with the reference's texts and tags; the other
requirements and streams are untouched.

After SET_REGION (:func:`_on_region_changed`): the region's histograms, statistics,
spatial profiles (point/line) and spectral profiles on every file that has requirements
on it. After a channel or Stokes change (:func:`follow_channel`, called by
:mod:`~carta_trio.actors.channel_change` after contours, vectors and the render
histogram), exactly §4.4: cursor spectral profile if
the Stokes changed; the configured image histograms and image statistics; the cursor's
and point/line regions' spatial profiles if the channel changed; for every region, its
spectral profiles if the Stokes changed (``z`` configs only), its histograms and stats.
All of it runs as jobs, so the frame serves its tiles without waiting.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from carta_trio.actors import cube_histogram, regions, spatial_streams, spectral_streams
from carta_trio.actors.analytics_state import (
    CUBE_REGION_ID,
    CURSOR_REGION_ID,
    IMAGE_REGION_ID,
    HistogramRequirement,
    SpatialRequirement,
    SpectralRequirement,
    StatsRequirement,
    analytics,
    forget_region,
)
from carta_trio.actors.dispatch import handles
from carta_trio.actors.frame_handlers import require_frame
from carta_trio.actors.histogram_streams import (
    requirement_from_config,
    resolve_requirement_stokes,
    send_image_histograms,
    send_region_histograms,
)
from carta_trio.actors.stats_streams import send_image_stats, send_region_stats
from carta_trio.actors.stokes_coordinates import Coordinate, CoordinateError, parse_coordinate
from carta_trio.messages import schema as pb

if TYPE_CHECKING:
    from carta_trio.actors.frame import Frame
    from carta_trio.actors.regions import Region
    from carta_trio.actors.session import Session

log = logging.getLogger(__name__)

#: Job kinds (slot keys are region ids).
STATS_JOB = "stats"
HISTOGRAM_JOB = "histogram"
#: More bins than this is refused (the reference would try to allocate them and die).
#: Values <= 0 mean automatic (the reference crashes on 0 and -3; -1 is automatic).
MAX_HISTOGRAM_BINS = 1 << 20


async def _coordinates(frame: Frame, texts: list[str], axes: tuple[str | None, ...], tag: str,
                       what: str, region_id: int) -> list[Coordinate | None]:
    """Parse each coordinate; one that is unknown, has the wrong axis letter or names a
    Stokes the image does not have gets an ERROR_DATA and a None in its place."""
    session = frame.session
    out: list[Coordinate | None] = []
    for text in texts:
        try:
            coordinate = parse_coordinate(text)
            if coordinate.axis not in axes:
                raise CoordinateError(f"coordinate '{text}' is not valid here")
            resolve_requirement_stokes(frame, coordinate)
        except CoordinateError as exc:
            await session.send_error(f"{what} requirements not valid for region id {region_id}: {exc}",
                                     pb.ErrorSeverity.ERROR, [tag])
            out.append(None)
            continue
        out.append(coordinate)
    return out


_STATS_TYPES = frozenset(v.number for v in pb.StatsType.DESCRIPTOR.values)


async def _known_stats(session: Session, types: list[int], tag: str, region_id: int) -> list[int]:
    """The stats types this schema knows; unknown ones are dropped with one ERROR_DATA."""
    known = [int(t) for t in types if t in _STATS_TYPES]
    if len(known) != len(types):
        unknown = sorted({int(t) for t in types if t not in _STATS_TYPES})
        await session.send_error(f"{tag.capitalize()} requirements for region id {region_id}: unknown statistics "
                                 f"type(s) {', '.join(map(str, unknown[:5]))} ignored", pb.ErrorSeverity.ERROR, [tag])
    return known


def _region(session: Session, region_id: int) -> Region | None:
    return regions.registry(session).get(region_id)


# ------------------------------------------------------------------ spatial


@handles(pb.EventType.SET_SPATIAL_REQUIREMENTS)
async def on_set_spatial_requirements(session: Session, request_id: int, message: pb.SetSpatialRequirements) -> None:
    """Store the spatial configs of the cursor or a point/line region and send its profiles."""
    frame = await require_frame(session, message.file_id, "spatial")
    if frame is None:
        return
    await apply_spatial_requirements(frame, message)


async def apply_spatial_requirements(frame: Frame, message: pb.SetSpatialRequirements, send: bool = True) -> bool:
    """Validate and store spatial requirements (also used by SET_CURSOR); False if refused."""
    session = frame.session
    region_id = message.region_id
    region = _region(session, region_id) if region_id > 0 else None
    is_line = region is not None and region.is_line
    if region_id != CURSOR_REGION_ID and (region is None or not (region.is_point or region.is_line)):
        await session.send_error(f"Spatial requirements failed for region {region_id}: invalid region id or type",
                                 pb.ErrorSeverity.ERROR, ["spatial"])
        return False
    configs = list(message.spatial_profiles)
    axes: tuple[str | None, ...] = (None,) if is_line else ("x", "y")
    coordinates = await _coordinates(frame, [c.coordinate for c in configs], axes, "spatial", "Spatial", region_id)
    requirements = []
    for config, coordinate in zip(configs, coordinates):
        if coordinate is None:
            continue
        if is_line and not 1 <= config.width <= spatial_streams.MAX_LINE_WIDTH:
            await session.send_error(
                f"Spatial requirements failed for region {region_id}: line width {config.width} is not 1-"
                f"{spatial_streams.MAX_LINE_WIDTH}", pb.ErrorSeverity.ERROR, ["spatial"])
            continue
        requirements.append(SpatialRequirement(coordinate, int(config.start), int(config.end), int(config.mip), int(config.width)))
    state = analytics(frame)
    state.spatial[region_id] = requirements
    if send:
        if region_id == CURSOR_REGION_ID:
            spatial_streams.start_cursor_spatial(frame)
        else:
            assert region is not None
            spatial_streams.start_region_spatial(frame, region)
    return True


# ----------------------------------------------------------------- spectral


@handles(pb.EventType.SET_SPECTRAL_REQUIREMENTS)
async def on_set_spectral_requirements(session: Session, request_id: int, message: pb.SetSpectralRequirements) -> None:
    """Store spectral configs of the cursor or a point/closed region; stream what is new."""
    frame = await require_frame(session, message.file_id, "spectral")
    if frame is None:
        return
    region_id = message.region_id
    if frame.depth <= 1:
        await session.send_error("Spectral profile not valid for 2D image.", pb.ErrorSeverity.WARNING, ["spectral"])
        return
    if region_id == IMAGE_REGION_ID:
        return  # the frontend sends it; the reference fails silently
    region = _region(session, region_id) if region_id > 0 else None
    if region_id != CURSOR_REGION_ID and (region is None or not (region.is_point or region.is_closed)):
        await session.send_error(f"Spectral requirements not valid for region id {region_id}",
                                 pb.ErrorSeverity.ERROR, ["spectral"])
        return
    configs = list(message.spectral_profiles)
    coordinates = await _coordinates(frame, [c.coordinate for c in configs], (None, "z"), "spectral", "Spectral", region_id)
    requirements = [
        SpectralRequirement(coordinate, await _known_stats(session, config.stats_types, "spectral", region_id))
        for config, coordinate in zip(configs, coordinates)
        if coordinate is not None
    ]
    state = analytics(frame)
    state.spectral[region_id] = requirements
    kept = {r.coordinate.text for r in requirements}
    sent = state.spectral_sent.get(region_id, {})
    state.spectral_sent[region_id] = {c: s for c, s in sent.items() if c in kept}
    if region_id == CURSOR_REGION_ID:
        spectral_streams.start_cursor_spectral(frame, state.cursor)
    else:
        assert region is not None
        spectral_streams.start_region_spectral(frame, region)


# -------------------------------------------------------------------- stats


@handles(pb.EventType.SET_STATS_REQUIREMENTS)
async def on_set_stats_requirements(session: Session, request_id: int, message: pb.SetStatsRequirements) -> None:
    """Store stats configs of the image (-1) or a closed region; send them if any."""
    frame = await require_frame(session, message.file_id, "stats")
    if frame is None:
        return
    region_id = message.region_id
    region = _region(session, region_id) if region_id > 0 else None
    if region_id != IMAGE_REGION_ID and (region is None or not region.is_closed):
        await session.send_error(f"Stats requirements not valid for region id {region_id}",
                                 pb.ErrorSeverity.ERROR, ["stats"])
        return
    configs = list(message.stats_configs)
    coordinates = await _coordinates(frame, [c.coordinate for c in configs], (None, "z"), "stats", "Stats", region_id)
    requirements = [
        StatsRequirement(coordinate, await _known_stats(session, config.stats_types, "stats", region_id))
        for config, coordinate in zip(configs, coordinates)
        if coordinate is not None
    ]
    state = analytics(frame)
    state.stats[region_id] = requirements
    if requirements:
        _start_stats(frame, region_id, region)
    else:
        frame.jobs.cancel(STATS_JOB, region_id)


def _start_stats(frame: Frame, region_id: int, region: Region | None) -> None:
    if region is None:
        frame.jobs.start(STATS_JOB, region_id, "image statistics", send_image_stats, frame)
    else:
        frame.jobs.start(STATS_JOB, region_id, f"statistics of region {region_id}", send_region_stats, frame, region)


# ---------------------------------------------------------------- histogram


@handles(pb.EventType.SET_HISTOGRAM_REQUIREMENTS)
async def on_set_histogram_requirements(session: Session, request_id: int, message: pb.SetHistogramRequirements) -> None:
    """Image (-1), cube (-2) or closed-region histograms; an empty list cancels.

    An empty list for the cube cancels its job (INFO ``Histogram cancelled``); for the
    image or a region it forgets the configs (the reference keeps them by accident and
    would go on sending histograms of a closed widget).
    """
    frame = await require_frame(session, message.file_id, "histogram")
    if frame is None:
        return
    region_id = message.region_id
    configs = list(message.histograms)
    state = analytics(frame)
    if not configs:
        if region_id == CUBE_REGION_ID:
            await cube_histogram.cancel_cube_histogram(frame)
        else:
            state.histograms.pop(region_id, None)
            frame.jobs.cancel(HISTOGRAM_JOB, region_id)
        return
    region = _region(session, region_id) if region_id > 0 else None
    if region_id not in (IMAGE_REGION_ID, CUBE_REGION_ID) and (region is None or not region.is_closed):
        await session.send_error(f"Histogram requirements not valid for region id {region_id}",
                                 pb.ErrorSeverity.ERROR, ["histogram"])
        return
    coordinates = await _coordinates(frame, [c.coordinate for c in configs], (None, "z"), "histogram", "Histogram", region_id)
    requirements = []
    for config, coordinate in zip(configs, coordinates):
        if coordinate is None:
            continue
        if config.num_bins > MAX_HISTOGRAM_BINS:
            await session.send_error(
                f"Histogram requirements not valid for region id {region_id}: {config.num_bins} bins "
                f"(at most {MAX_HISTOGRAM_BINS})", pb.ErrorSeverity.ERROR, ["histogram"])
            continue
        requirements.append(requirement_from_config(config, coordinate))
    if region_id == CUBE_REGION_ID:
        cube_histogram.start_cube_histograms(frame, requirements)
        return
    state.histograms[region_id] = requirements
    # Every request is answered, in order (the reference computes each in its own task;
    # the suite's SET_HISTOGRAMCONFIG_QUEUE drags the bin count and counts the replies).
    _start_histograms(frame, region_id, region, list(requirements), queue=True)


def _start_histograms(frame: Frame, region_id: int, region: Region | None,
                      requirements: list[HistogramRequirement] | None = None, queue: bool = False) -> None:
    """The histograms of one region (or the image plane) as its job; ``requirements``
    None: the ones set when the job runs."""
    if region is None:
        frame.jobs.start(HISTOGRAM_JOB, region_id, "image histogram", send_image_histograms, frame, requirements,
                         queue=queue)
    else:
        frame.jobs.start(HISTOGRAM_JOB, region_id, f"histogram of region {region_id}", send_region_histograms,
                         frame, region, requirements, queue=queue)


# ------------------------------------------------------------ region change


def _start_region_streams(frame: Frame, region: Region, stokes_changed: bool = True) -> None:
    """Histograms, stats, spatial and spectral profiles of one region on one frame."""
    state = analytics(frame)
    rid = region.region_id
    if region.is_closed:
        if state.histograms.get(rid):
            _start_histograms(frame, rid, region)
        if state.stats.get(rid):
            _start_stats(frame, rid, region)
    if state.spatial.get(rid) and (region.is_point or region.is_line):
        spatial_streams.start_region_spatial(frame, region)
    if state.spectral.get(rid) and stokes_changed:
        spectral_streams.start_region_spectral(frame, region, only_current=False)


async def _on_region_changed(session: Session, region: Region) -> None:
    """SET_REGION accepted: the region's analytics on every file with requirements on it."""
    for frame in list(session.frames.values()):
        state = frame.analytics
        if region.region_id not in state.region_ids():
            continue
        frame.jobs.cancel(None, region.region_id)
        state.region_changed(region.region_id)
        if not region.is_annotation:
            _start_region_streams(frame, region)


def _on_region_removed(session: Session, region_id: int) -> None:
    for frame in list(session.frames.values()):
        forget_region(frame, region_id)


regions.add_region_listener(changed=_on_region_changed, removed=_on_region_removed)


# ----------------------------------------------------------- channel change


def follow_channel(frame: Frame, channel_changed: bool, stokes_changed: bool) -> None:
    """BEHAVIOUR.md §4.4 steps 3-7 (the frame has already sent the render histogram).

    Everything is started as jobs, in the reference's order, and the frame goes on to
    its tiles at once; a newer channel change restarts the jobs of the older one.
    """
    state = frame.analytics
    if stokes_changed:
        spectral_streams.start_cursor_spectral(frame, state.cursor, only_current=True)
    if state.histograms.get(IMAGE_REGION_ID):
        _start_histograms(frame, IMAGE_REGION_ID, None)
    if state.stats.get(IMAGE_REGION_ID):
        _start_stats(frame, IMAGE_REGION_ID, None)
    if channel_changed and state.cursor is not None:
        spatial_streams.start_cursor_spatial(frame)
    reg = regions.registry(frame.session)
    for rid in sorted(state.region_ids()):
        region = reg.get(rid)
        if region is None or region.is_annotation:
            continue
        if channel_changed and state.spatial.get(rid) and (region.is_point or region.is_line):
            spatial_streams.start_region_spatial(frame, region)
        if stokes_changed and state.spectral.get(rid):
            spectral_streams.start_region_spectral(frame, region, only_current=True)
        if region.is_closed:
            if state.histograms.get(rid):
                _start_histograms(frame, rid, region)
            if state.stats.get(rid):
                _start_stats(frame, rid, region)

