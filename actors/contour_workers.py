"""Where contour levels are traced: worker threads for small grids, worker
processes for large ones.

Measured with contourpy 1.3: building a generator costs about 25 ns per cell
(numpy, releases the GIL) and tracing one level about 15 ns per cell while holding
the GIL: 0.25 s for a 4096 x 4096 plane, which would stall every session's event
loop. Hence:

* grids below :data:`PROCESS_MIN_CELLS` cells: one generator per job, built in a
  worker thread; levels traced one after the other in worker threads and delivered
  one by one (at most ~15 ms of GIL each);
* larger grids: the levels are dealt round-robin into one group per core, and each
  group is traced and encoded by one trio-parallel worker process with its own
  generator; a group's levels are delivered when the group is done. The grid is not
  pickled to the workers: it is written once per job as a ``.npy`` file in
  ``/dev/shm`` (tmpfs; the system temp folder if missing) that the workers
  memory-map read-only, and removed when the job ends, however it ends.

Threads and processes share the CPU limiter of :mod:`carta_trio.actors.workers`.
Cancelling the caller kills busy worker processes (``kill_on_cancel``) and abandons
worker threads.
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

import numpy as np
import trio
import trio_parallel

from carta_trio.actors import workers
from carta_trio.analysis.contours import ContourSettings, LevelTracer, contour_level
from carta_trio.codecs.contour_encoding import EncodedContourSet, encode_contour_set

log = logging.getLogger(__name__)

#: Grids with at least this many cells are traced in worker processes.
PROCESS_MIN_CELLS = 1 << 20

EncodedLevel = list[tuple[EncodedContourSet, float]]
LevelCallback = Callable[[float, EncodedLevel], Awaitable[None]]


def encode_level(
    tracer: LevelTracer, level: float, scale: int, offset: float, settings: ContourSettings
) -> EncodedLevel:
    """Trace one level and encode each chunk: ``[(EncodedContourSet, progress), ...]``."""
    return [
        (
            encode_contour_set(
                level, chunk.vertices, chunk.start_indices, settings.decimation_factor, settings.compression_level
            ),
            chunk.progress,
        )
        for chunk in contour_level(tracer, level, scale, offset, settings.chunk_size)
    ]


def encode_levels_from_file(
    path: str, levels: Sequence[float], scale: int, offset: float, settings: ContourSettings
) -> list[tuple[float, EncodedLevel]]:
    """Worker-process entry: trace and encode ``levels`` of a memory-mapped ``.npy`` grid."""
    tracer = LevelTracer(np.load(path, mmap_mode="r"))
    return [(level, encode_level(tracer, level, scale, offset, settings)) for level in levels]


def _shared_folder() -> str:
    shm = Path("/dev/shm")
    if shm.is_dir() and os.access(shm, os.W_OK):
        return str(shm)
    return tempfile.gettempdir()


def _write_shared(z: np.ndarray) -> str:
    fd, path = tempfile.mkstemp(prefix="carta-trio-contour-", suffix=".npy", dir=_shared_folder())
    try:
        with os.fdopen(fd, "wb") as handle:
            np.save(handle, z, allow_pickle=False)
    except BaseException:
        os.unlink(path)
        raise
    return path


def _remove(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


async def trace_levels(
    z: np.ndarray,
    scale: int,
    offset: float,
    settings: ContourSettings,
    on_level: LevelCallback,
    *,
    cores: int | None = None,
) -> None:
    """Trace and encode every level of ``settings`` on the prepared grid ``z`` and
    await ``on_level(level, chunks)`` for each as it becomes available.

    Cancellable at every await; returns when every level has been delivered.
    """
    levels = list(settings.levels)
    if not levels:
        return
    if z.size < PROCESS_MIN_CELLS:
        tracer = await workers.run_sync(LevelTracer, z)
        for level in levels:
            chunks = await workers.run_sync(encode_level, tracer, level, scale, offset, settings)
            await on_level(level, chunks)
        return

    groups_count = max(1, min(len(levels), cores or os.cpu_count() or 1))
    groups = [levels[i::groups_count] for i in range(groups_count)]
    path = await workers.run_sync(_write_shared, z)
    try:

        async def run_group(group: list[float]) -> None:
            results = await trio_parallel.run_sync(
                encode_levels_from_file, path, group, scale, offset, settings,
                kill_on_cancel=True, limiter=workers.cpu_limiter(),
            )
            for level, chunks in results:
                await on_level(level, chunks)

        async with trio.open_nursery() as nursery:
            for group in groups:
                nursery.start_soon(run_group, group)
    finally:
        with trio.CancelScope(shield=True):
            await trio.to_thread.run_sync(_remove, path)
