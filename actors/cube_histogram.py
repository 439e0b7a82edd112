"""The cube histogram (region -2): a two-pass job with progress (BEHAVIOUR.md §4.6).

SET_HISTOGRAM_REQUIREMENTS for region -2 starts a job in the frame's ``cube
histogram`` slot. Pass 1 joins the BasicStats of every plane of the requested Stokes
(cached per plane), pass 2 counts every plane into bins over the cube's bounds (or
the config's fixed bounds). Messages, all with region -2 and channel -2:

* during pass 1, at most every 2 s: progress ``z/(2·depth)`` with an empty histogram;
* after pass 1: progress 0.5 with an empty histogram;
* during pass 2, at most every 2 s: progress ``0.5 + z/(2·depth)`` with the partial counts;
* the final histogram with progress 1.0.

An IDIA HDF5 file's precomputed cube histogram answers at once when the config allows
(automatic or equal bins, bounds not fixed). Results (and each plane's stats) are cached per
(Stokes, bins, bounds) in the file's shared, byte-bounded cache (``io/reader_pool``):
asking again, from any file id or session showing the file, answers at once. An empty
requirement list cancels the job (no final message): as in the reference, where each
request is its own task and a cancel makes each one still running fail, one WARNING
``Histogram calculation for region -2 failed`` per request not yet answered (a request
made while another runs restarts our one job, so both count); the reference never sends
its INFO ``Histogram cancelled`` (SessionManager catches the empty list before
OnSetHistogramRequirements). Closing the file cancels it too. The planes are reduced in
chunks of several planes, two chunks in flight at a time, each read a few planes at a
time (:data:`READ_BYTES`: still in cache when reduced), and cancellation is checked
between chunks.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterator
from typing import TYPE_CHECKING, Any, TypeVar, cast

import numpy as np
import trio

from carta_trio.actors import region_data
from carta_trio.actors.analytics_state import (
    CUBE_REGION_ID,
    HistogramRequirement,
    analytics,
    send_file_stream,
)
from carta_trio.actors.histogram_streams import config_echo, resolve_requirement_stokes, stored_histogram
from carta_trio.actors.image_histogram import histogram_message
from carta_trio.actors.stokes_coordinates import CoordinateError, is_computed
from carta_trio.analysis import histograms
from carta_trio.io import reader_pool
from carta_trio.messages import schema as pb

if TYPE_CHECKING:
    from carta_trio.actors.frame import Frame
    from carta_trio.actors.session import Session

log = logging.getLogger(__name__)
R = TypeVar("R")  # what one chunk of work gives

TAG = "histogram"
ALL_Z = -2
#: Seconds between progress messages (the reference's UPDATE_HISTOGRAM_PROGRESS_PER_SECONDS).
PROGRESS_INTERVAL = 2.0
#: Bytes of image data read per chunk.
CHUNK_BYTES = 32 << 20
#: Chunks read and reduced concurrently (one per core; bench_profiles measures it).
CONCURRENT_CHUNKS = 2
SLOT = "cube_histogram"
#: At most this many cancel warnings at once (a client may have sent thousands of requests).
MAX_CANCEL_WARNINGS = 8


def start_cube_histograms(frame: Frame, requirements: list[HistogramRequirement]) -> None:
    """Start (or restart) the frame's cube-histogram job for ``requirements``."""
    state = analytics(frame)
    state.cube_histograms = list(requirements)
    state.cube_histogram_pending += 1
    frame.jobs.start(SLOT, CUBE_REGION_ID, "cube histogram", _run, frame, list(requirements))


async def cancel_cube_histogram(frame: Frame) -> None:
    """Stop a running cube histogram; a WARNING for each request it leaves unanswered."""
    state = analytics(frame)
    pending, state.cube_histogram_pending = state.cube_histogram_pending, 0
    if frame.jobs.cancel(SLOT, CUBE_REGION_ID):
        # one per request, so not through send_error's one-error-per-message budget
        warning = pb.ErrorData(message=f"Histogram calculation for region {CUBE_REGION_ID} failed",
                               severity=pb.ErrorSeverity.WARNING, tags=[TAG])
        for _ in range(min(max(1, pending), MAX_CANCEL_WARNINGS)):
            await frame.session.send_stream(warning)


async def _run(frame: Frame, requirements: list[HistogramRequirement]) -> None:
    for requirement in requirements:
        try:
            stokes = resolve_requirement_stokes(frame, requirement.coordinate)
        except CoordinateError as exc:
            await frame.session.send_error(
                f"Histogram requirements not valid for region id -2: {exc}", pb.ErrorSeverity.ERROR, [TAG]
            )
            continue
        num_bins = histograms.resolve_num_bins(requirement.num_bins, frame.width, frame.height)
        bounds = requirement.bounds if requirement.fixed_bounds else None
        key = ("cube_histogram", stokes, num_bins, bounds)
        result = reader_pool.peek(frame.reader, key)
        if result is None:
            result = await frame.session.run_sync(_stored, frame, stokes, requirement)
        if result is None:
            result = await _compute(frame, requirement, stokes, num_bins, bounds)
        reader_pool.store(frame.reader, key, result)
        await _send(frame, requirement, stokes, 1.0, result)
    analytics(frame).cube_histogram_pending = 0


async def _send(
    frame: Frame, requirement: HistogramRequirement, stokes: int, progress: float,
    result: histograms.HistogramResult | None,
) -> None:
    message = pb.RegionHistogramData(
        file_id=frame.file_id,
        region_id=CUBE_REGION_ID,
        channel=ALL_Z,
        stokes=stokes,
        progress=progress,
        config=config_echo(requirement),
    )
    if result is None:
        message.histograms.SetInParent()
    else:
        message.histograms.CopyFrom(histogram_message(result))
    await send_file_stream(frame, message)


def _stored(frame: Frame, stokes: int, requirement: HistogramRequirement) -> histograms.HistogramResult | None:
    """The HDF5 file's precomputed cube histogram, when usable (ANALYTICS.md §3.5)."""
    if is_computed(stokes):
        return None
    try:
        stored = frame.reader.precomputed_cube_stats(stokes)
    except (IndexError, ValueError, OSError):
        return None
    return stored_histogram(stored, requirement, frame.width * frame.height * frame.depth)


def _chunks(frame: Frame) -> list[tuple[int, int]]:
    planes = max(1, CHUNK_BYTES // max(1, frame.width * frame.height * 4))
    return [(z, min(frame.depth, z + planes)) for z in range(0, frame.depth, planes)]


#: A chunk is read a few planes at a time, so each read is still in cache when reduced.
READ_BYTES = 2 << 20


def _reads(frame: Frame, z0: int, z1: int, stokes: int) -> Iterator[np.ndarray]:
    """The planes ``z0 .. z1-1`` in reads of about :data:`READ_BYTES` (at least a plane)."""
    step = max(1, READ_BYTES // max(1, frame.width * frame.height * 4))
    for z in range(z0, z1, step):
        yield region_data.read_block(frame.reader, 0, frame.width, 0, frame.height, z, min(z1, z + step), stokes)


def _chunk_stats(frame: Frame, z0: int, z1: int, stokes: int) -> list[histograms.BasicStats]:
    return [stats for block in _reads(frame, z0, z1, stokes) for stats in histograms.basic_stats_planes(block)]


def _chunk_counts(frame: Frame, z0: int, z1: int, stokes: int, bins: histograms.HistogramBins, within: bool) -> np.ndarray:
    counts = np.zeros(bins.num_bins, dtype=np.int64)
    for block in _reads(frame, z0, z1, stokes):
        counts += histograms.bin_counts(block, bins, within_bounds=within)
    return counts


async def _in_order(
    chunks: list[tuple[int, int]], work: Callable[[int, int], Awaitable[R]], on_result: Callable[[int, int, R], Awaitable[None]]
) -> None:
    """Run ``work(z0, z1)`` for every chunk, a few at a time, and hand the results to
    ``on_result(z0, z1, result)`` in chunk order."""
    results: dict[int, R] = {}
    done = {i: trio.Event() for i in range(len(chunks))}
    next_index = 0

    async def worker() -> None:
        nonlocal next_index
        while next_index < len(chunks):
            index = next_index
            next_index += 1
            z0, z1 = chunks[index]
            results[index] = await work(z0, z1)
            done[index].set()

    async with trio.open_nursery() as nursery:
        for _ in range(min(CONCURRENT_CHUNKS, len(chunks))):
            nursery.start_soon(worker)
        for index, (z0, z1) in enumerate(chunks):
            await done[index].wait()
            await on_result(z0, z1, results.pop(index))


async def _compute(
    frame: Frame, requirement: HistogramRequirement, stokes: int, num_bins: int, bounds: tuple[float, float] | None
) -> histograms.HistogramResult:
    session = frame.session
    cube = histograms.CubeHistogram(num_bins, bounds)
    depth = frame.depth
    last = trio.current_time()
    chunks = _chunks(frame)
    async def stats_of(z0: int, z1: int) -> list[histograms.BasicStats]:
        cached = [reader_pool.peek(frame.reader, ("plane_stats", z, stokes)) for z in range(z0, z1)]
        if all(s is not None for s in cached):
            return cast(list[histograms.BasicStats], cached)  # every entry checked for None just above
        return await session.run_sync(_chunk_stats, frame, z0, z1, stokes)

    async def add_stats(z0: int, z1: int, plane_stats: list[histograms.BasicStats]) -> None:
        nonlocal last
        for z, item in zip(range(z0, z1), plane_stats):
            reader_pool.store(frame.reader, ("plane_stats", z, stokes), item)
        cube.add_stats(plane_stats)
        if trio.current_time() - last > PROGRESS_INTERVAL:
            last = trio.current_time()
            await _send(frame, requirement, stokes, z1 / (2 * depth), None)

    source = cluster_source_of(frame, stokes)
    if source is not None:
        await cluster_pass(session, source, stokes, chunks, "plane_stats_task", (), add_stats)
    else:
        await _in_order(chunks, stats_of, add_stats)
    bins = cube.freeze_bounds()
    await _send(frame, requirement, stokes, 0.5, None)
    within = bounds is None

    async def counts_of(z0: int, z1: int) -> np.ndarray:
        return await session.run_sync(_chunk_counts, frame, z0, z1, stokes, bins, within)

    async def add_counts(z0: int, z1: int, counts: np.ndarray) -> None:
        nonlocal last
        assert cube.counts is not None
        cube.counts += counts
        if trio.current_time() - last > PROGRESS_INTERVAL and z1 < depth:
            last = trio.current_time()
            await _send(frame, requirement, stokes, 0.5 + z1 / (2 * depth), cube.result())

    if source is not None:
        await cluster_pass(session, source, stokes, chunks, "bin_counts_task", (bins, within), add_counts)
    else:
        await _in_order(chunks, counts_of, add_counts)
    return cube.result()


def cluster_source_of(frame: Frame, stokes: int) -> tuple[str, str, tuple[int, ...]] | None:
    """Where cluster workers open the image, when ``--dask_scheduler`` is given and they can."""
    if not frame.session.settings.dask_scheduler:
        return None
    from carta_trio.actors import cluster

    return cluster.cluster_source(frame.reader, stokes)


async def cluster_pass(session: Session, source: tuple[str, str, tuple[int, ...]], stokes: int,
                       chunks: list[tuple[int, int]], task: str, extra: tuple[object, ...],
                       on_result: Any) -> None:
    """One pass of the cube histogram as cluster tasks, results handed over in chunk order.
    A cluster failure ends the job with ERROR_DATA naming it (cluster.ClusterError)."""
    from carta_trio.actors import cluster
    from carta_trio.analysis import cluster_tasks

    address = session.settings.dask_scheduler
    assert address is not None
    plane_bytes = 4 * int(source[2][0]) * int(source[2][1])  # shape in FITS order: x, y first
    chunks = [(chunks[a][0], chunks[b - 1][1])  # few large tasks: each costs ~10 ms of scheduling
              for a, b in cluster.task_ranges([(z1 - z0) * plane_bytes for z0, z1 in chunks])]
    calls = [(*source, stokes, z0, z1, *extra) for z0, z1 in chunks]

    async def collect(index: int, result: object) -> None:
        z0, z1 = chunks[index]
        await on_result(z0, z1, result)

    await cluster.map_in_order(address, getattr(cluster_tasks, task), calls, collect)
