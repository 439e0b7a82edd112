"""SPECTRAL_PROFILE_DATA: cursor and region spectral profiles as cancellable jobs.

ANALYTICS.md §4, WIRE.md §4.3. Each profile is a job of the frame (``frame.jobs``, kind ``spectral``)
keyed by its region (0 for the cursor): a newer cursor position, a region change, a new
requirement, a Stokes change (for ``z`` configs), REMOVE_REGION or CLOSE_FILE cancel
it, and the work stops between two channel blocks.

* Cursor (region 0): raw float32 pixel values at ``(round(x), round(y))``, one message
  per config (stats type = its first requested one; ``stokes`` = the current Stokes).
  Channel blocks start at 10 and are resized once to take about 50 ms; a partial
  message (NaN where not read yet) goes out when more than 500 ms passed.
* Regions: the per-channel statistics configs wait for are computed in blocks resized
  after every block to take about 50 ms (each block split over two worker threads),
  streamed every second with ``progress`` (NaN for channels not yet done), then cached
  per (region state, Stokes, statistic); a config receives only the stats types it has
  not received complete yet (ANALYTICS.md §4.1 "new_stats"). Values
  are float64 in ``raw_values_fp64``; ``stokes`` is the resolved index (13-17 for
  computed polarizations, combined stat by stat from the I/Q/U/V profiles, §4.6).
  A region outside the image gets all-NaN profiles with progress 1.
* Huge cubes (issue 18): once the frame's spectral cache is built
  (``actors/spectral_cache.py``) profiles read from it, and the statistics that follow
  from count, sum and sum of squares come from its tile-row prefix sums (only the tiles
  the region's edge cuts are read). With ``--dask_scheduler`` and no cache, a large
  region's profile runs as cluster tasks (``actors/spectral_cluster.py``); a cluster
  failure is reported as ERROR_DATA and the profile is computed here instead.
"""

from __future__ import annotations

import logging
import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
import trio

from carta_trio.actors import cluster, region_data, spectral_cache, spectral_cluster
from carta_trio.actors.analytics_state import (
    CURSOR_REGION_ID,
    SpectralRequirement,
    analytics,
    send_file_stream,
)
from carta_trio.actors.histogram_streams import resolve_requirement_stokes
from carta_trio.actors.stats_streams import flux_of
from carta_trio.actors.stokes_coordinates import CoordinateError, is_computed
from carta_trio.analysis import polarization, spectral_profiles
from carta_trio.analysis.region_masks import cursor_pixel
from carta_trio.analysis.region_geometry import RegionMask
from carta_trio.analysis.statistics import SPECTRAL_STATS
from carta_trio.messages import schema as pb

if TYPE_CHECKING:
    from carta_trio.actors.frame import Frame
    from carta_trio.actors.regions import Region

log = logging.getLogger(__name__)

#: Per-channel values of each statistic over a run of channels.
Profiles = dict[int, np.ndarray]
#: The statistics each spectral config of one Stokes waits for: (coordinate, stats types).
Configs = list[tuple[str, list[int]]]

TAG = "spectral"
SLOT = "spectral"
CURSOR_PARTIAL_S = spectral_profiles.TARGET_PARTIAL_CURSOR_TIME_MS / 1000
REGION_PARTIAL_S = spectral_profiles.TARGET_PARTIAL_REGION_TIME_MS / 1000
#: A block of channels is read and reduced by this many worker threads at once
#: (page faults and numpy both run outside the GIL), in parts of at least
#: MIN_PART_CHANNELS channels.
PARALLEL_PARTS = 2
MIN_PART_CHANNELS = 8


def _resolved(frame: Frame, requirements: list[SpectralRequirement], only_current: bool) -> list[tuple[SpectralRequirement, int]]:
    out = []
    for requirement in requirements:
        if only_current and requirement.coordinate.stokes_type is not None:
            continue
        try:
            out.append((requirement, resolve_requirement_stokes(frame, requirement.coordinate)))
        except CoordinateError:
            continue  # refused (with an error) when the requirement was set
    return out


# ------------------------------------------------------------------------ cursor


def start_cursor_spectral(frame: Frame, position: tuple[float, float] | None, only_current: bool = False) -> None:
    """Stream the cursor's spectral profiles at ``position`` (nothing outside the image
    or without requirements, or for a 2-D image)."""
    state = analytics(frame)
    # A job still streaming is replaced, so it must redo the fixed-Stokes profiles too.
    only_current = only_current and not frame.jobs.is_running(SLOT, CURSOR_REGION_ID)
    requirements = _resolved(frame, list(state.spectral.get(CURSOR_REGION_ID, [])), only_current)
    if only_current and not requirements:
        return  # a Stokes change leaves fixed-Stokes profiles alone
    if not requirements or position is None or frame.depth <= 1:
        frame.jobs.cancel(SLOT, CURSOR_REGION_ID)
        return
    pixel = cursor_pixel(position[0], position[1], frame.width, frame.height)
    if pixel is None:
        frame.jobs.cancel(SLOT, CURSOR_REGION_ID)
        return
    frame.jobs.start(SLOT, CURSOR_REGION_ID, "cursor spectral profile", _cursor_job, frame, pixel, requirements)


def _read_spectra(frame: Frame, pixel: tuple[int, int], stokes_list: list[int], z0: int, z1: int) -> dict[int, np.ndarray]:
    reader = spectral_cache.source(frame)
    return {s: region_data.read_spectrum(reader, pixel[0], pixel[1], s, z0, z1) for s in stokes_list}


async def _cursor_job(frame: Frame, pixel: tuple[int, int], requirements: list[tuple[SpectralRequirement, int]]) -> None:
    depth = frame.depth
    stokes_list = sorted({s for _, s in requirements})
    values = {s: np.full(depth, np.nan, dtype=np.float32) for s in stokes_list}
    current = frame.stokes
    delta = spectral_profiles.INIT_DELTA_Z
    z = 0
    last = trio.current_time()
    while z < depth:
        z1 = min(depth, z + delta)
        started = trio.current_time()
        chunk = await frame.session.run_sync(_read_spectra, frame, pixel, stokes_list, z, z1)
        elapsed_ms = (trio.current_time() - started) * 1000.0
        for s, data in chunk.items():
            values[s][z:z1] = data
        delta = spectral_profiles.next_cursor_delta(delta, z1 - z, elapsed_ms, depth)
        z = z1
        if z < depth and trio.current_time() - last > CURSOR_PARTIAL_S:
            last = trio.current_time()
            await _send_cursor(frame, requirements, values, current, z / depth)
    await _send_cursor(frame, requirements, values, current, 1.0)


async def _send_cursor(frame: Frame, requirements: list[tuple[SpectralRequirement, int]],
                       values: dict[int, np.ndarray], current: int, progress: float) -> None:
    for requirement, stokes in requirements:
        stats_type = requirement.stats_types[0] if requirement.stats_types else 0
        await send_file_stream(
            frame,
            pb.SpectralProfileData(
                file_id=frame.file_id,
                region_id=CURSOR_REGION_ID,
                stokes=current,
                progress=progress,
                profiles=[
                    pb.SpectralProfile(
                        coordinate=requirement.coordinate.text,
                        stats_type=stats_type,
                        raw_values_fp32=values[stokes].astype("<f4").tobytes(),
                    )
                ],
            ),
        )


# ----------------------------------------------------------------------- regions


def start_region_spectral(frame: Frame, region: Region, only_current: bool = False) -> None:
    """Stream the spectral profiles a region's requirements still miss on ``frame``."""
    state = analytics(frame)
    if frame.depth <= 1 or not (region.is_point or region.is_closed):
        return
    if only_current:
        sent = state.spectral_sent.get(region.region_id, {})
        for requirement in state.spectral.get(region.region_id, []):
            if requirement.coordinate.stokes_type is None:
                sent.pop(requirement.coordinate.text, None)
    work = []
    sent = state.spectral_sent.setdefault(region.region_id, {})
    for requirement, stokes in _resolved(frame, list(state.spectral.get(region.region_id, [])), False):
        done = sent.get(requirement.coordinate.text, set())
        pending = [st for st in requirement.stats_types if st not in done]
        if pending:
            work.append((requirement.coordinate.text, stokes, pending))
    if not work:
        frame.jobs.cancel(SLOT, region.region_id)  # nothing pending: a running job serves a removed requirement
        return
    frame.jobs.start(SLOT, region.region_id, "region spectral profile", _region_job, frame, region,
                     region.version, work)


def _component_profiles(frame: Frame, mask: RegionMask, stokes: int, z0: int, z1: int, flux: float | np.ndarray,
                        stats: Sequence[int]) -> Profiles:
    """Per-channel statistics ``stats`` for channels ``z0 .. z1-1`` of one (non-computed) Stokes."""
    source = spectral_cache.source(frame)
    pixels = None if mask.is_full else mask.mask
    if getattr(source, "has_sums", False) and spectral_profiles.SUM_STATS.issuperset(stats):
        # A spectral cache entry: whole tiles from its prefix sums, only the edge tiles read.
        sums = source.region_sums(stokes, mask.x0, mask.x1, mask.y0, mask.y1, pixels, z0, z1)
        return spectral_profiles.profiles_from_sums(sums, stats, flux)
    block = source.read_cube(mask.x0, mask.x1, mask.y0, mask.y1, z0, z1, stokes)
    return spectral_profiles.region_spectral_profiles(block, pixels, stats, flux)


def _sums_at_once(frame: Frame, mask: RegionMask) -> bool:
    pixels = None if mask.is_full else mask.mask
    return bool(spectral_cache.source(frame).sums_at_once(mask.x0, mask.x1, mask.y0, mask.y1, pixels))


def _chunk_profiles(frame: Frame, mask: RegionMask, stokes: int, z0: int, z1: int, stats: Sequence[int]) -> Profiles:
    flux = flux_of(frame)
    if not is_computed(stokes):
        return _component_profiles(frame, mask, stokes, z0, z1, flux.flux_scales(z0, z1, stokes), stats)
    indices = region_data.component_indices(frame.reader)
    components = {}
    for name in polarization.required_components(stokes):
        index = indices[name]
        assert index is not None
        components[name] = _component_profiles(frame, mask, index, z0, z1, flux.flux_scales(z0, z1, index), stats)
    return spectral_profiles.computed_region_profiles(stokes, components, stats)


async def _region_job(frame: Frame, region: Region, version: int, work: list[tuple[str, int, list[int]]]) -> None:
    """Stream the pending profiles of one region, one Stokes at a time.

    Only the statistics some config is waiting for are computed (the reference computes
    all ten at once; the numbers are the same); results are cached per (region state,
    Stokes, statistic) so a config asking for more later computes only what is new.
    Statistics the engine does not produce per channel (NanCount, positions) are NaN.
    """
    state = analytics(frame)
    session = frame.session
    by_stokes: dict[int, list[tuple[str, list[int]]]] = defaultdict(list)
    for coordinate, stokes, pending in work:
        by_stokes[stokes].append((coordinate, pending))
    found, mask = region.cached_mask(frame)
    if not found:
        mask = await session.run_sync(region.compute_mask, frame)
    for stokes, configs in by_stokes.items():
        key = (region.region_id, version, stokes)
        profiles = state.spectral_cache.setdefault(key, {})
        wanted = {st for _, pending in configs for st in pending}
        missing = [st for st in SPECTRAL_STATS if st in wanted and st not in profiles]
        if missing:
            if mask is None:
                profiles.update({st: np.full(frame.depth, np.nan) for st in missing})
            else:
                profiles.update(await _compute_region(frame, region, mask, stokes, configs, missing, profiles))
        await _send_region(frame, region.region_id, stokes, configs, profiles, 1.0)
        sent = state.spectral_sent.setdefault(region.region_id, {})
        for coordinate, pending in configs:
            sent.setdefault(coordinate, set()).update(pending)


async def _block_profiles(frame: Frame, mask: RegionMask, stokes: int, z0: int, z1: int, stats: Sequence[int]) -> Profiles:
    """The statistics of channels ``z0 .. z1-1``, split over :data:`PARALLEL_PARTS` worker threads."""
    parts = min(PARALLEL_PARTS, max(1, (z1 - z0) // MIN_PART_CHANNELS))
    run = frame.session.run_sync
    if parts == 1:
        return await run(_chunk_profiles, frame, mask, stokes, z0, z1, stats)
    edges = np.linspace(z0, z1, parts + 1).astype(int)
    results: list[Profiles] = [{} for _ in range(parts)]

    async def part(index: int) -> None:
        results[index] = await run(_chunk_profiles, frame, mask, stokes, edges[index], edges[index + 1], stats)

    async with trio.open_nursery() as nursery:
        for index in range(parts):
            nursery.start_soon(part, index)
    return {st: np.concatenate([r[st] for r in results]) for st in results[0]}


async def _compute_region(frame: Frame, region: Region, mask: RegionMask, stokes: int, configs: Configs,
                          stats: Sequence[int], known: Mapping[int, np.ndarray]) -> Profiles:
    """Statistics ``stats`` over all channels in adaptive blocks, with partial messages
    (which also carry the ``known`` statistics) every second."""
    depth = frame.depth
    accumulator = spectral_profiles.ProfileAccumulator(depth, stats)
    if (getattr(spectral_cache.source(frame), "has_sums", False) and spectral_profiles.SUM_STATS.issuperset(stats)
            and await frame.session.run_sync(_sums_at_once, frame, mask)):
        # The cache's sums of every channel cost about one block: one call, no ramp of blocks.
        return await frame.session.run_sync(_chunk_profiles, frame, mask, stokes, 0, depth, stats)
    plan = spectral_cluster.cluster_plan(frame, mask, stokes)
    if plan is not None:

        async def send_partial() -> None:
            partial = {**known, **accumulator.profiles}
            await _send_region(frame, region.region_id, stokes, configs, partial, accumulator.progress)

        try:
            await spectral_cluster.compute_on_cluster(frame, plan, mask, stokes, stats, accumulator,
                                                      REGION_PARTIAL_S, send_partial)
            return accumulator.profiles
        except cluster.ClusterError as exc:
            log.warning("Spectral profile of region %d on the cluster failed: %s", region.region_id, exc)
            await frame.session.send_error(
                f"Spectral profile of region {region.region_id} on the dask cluster failed ({exc}); "
                "computing it here instead", pb.ErrorSeverity.ERROR, [TAG])
            accumulator = spectral_profiles.ProfileAccumulator(depth, stats)
    delta = spectral_profiles.INIT_DELTA_Z
    z = 0
    last = trio.current_time()
    while z < depth:
        z1 = min(depth, z + delta)
        started = trio.current_time()
        chunk = await _block_profiles(frame, mask, stokes, z, z1, stats)
        elapsed_ms = (trio.current_time() - started) * 1000.0
        accumulator.add(z, chunk)
        delta = spectral_profiles.next_region_delta(z1 - z, elapsed_ms, depth)
        z = z1
        if z < depth and trio.current_time() - last > REGION_PARTIAL_S:
            last = trio.current_time()
            partial = {**known, **accumulator.profiles}
            await _send_region(frame, region.region_id, stokes, configs, partial, accumulator.progress)
    return accumulator.profiles


async def _send_region(frame: Frame, region_id: int, stokes: int, configs: Configs, profiles: Mapping[int, np.ndarray],
                       progress: float) -> None:
    depth = frame.depth
    for coordinate, stats_types in configs:
        message = pb.SpectralProfileData(file_id=frame.file_id, region_id=region_id, stokes=stokes, progress=progress)
        for st in stats_types:
            values = profiles.get(st)
            if values is None:
                values = np.full(depth, math.nan)
            message.profiles.append(
                pb.SpectralProfile(
                    coordinate=coordinate,
                    stats_type=st,
                    raw_values_fp64=np.asarray(values, dtype="<f8").tobytes(),
                )
            )
        await send_file_stream(frame, message)
