"""Where contour levels are traced: worker threads for small grids, worker
processes for large ones.

Measured with contourpy 1.3: building a generator costs about 25 ns per cell
(numpy, releases the GIL) and tracing one level about 15 ns per cell while holding
the GIL: 0.25 s for a 4096 x 4096 plane, which would stall every session's event
loop. Hence:

* grids below :data:`PROCESS_MIN_CELLS` cells: one generator per job, built in a
  worker thread; levels traced one after the other in worker threads and delivered
  one by one (at most ~15 ms of GIL each);
* larger grids: the levels are dealt round-robin into one group per core (fewer
  when the generators would not fit :data:`TRACER_MEMORY_BUDGET`), and each
  group is traced and encoded by one trio-parallel worker process with its own
  generator (:mod:`carta_trio.analysis.contour_levels`, which imports neither trio
  nor scipy); a group's levels are delivered when the group is done. The grid is not
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
from collections.abc import Awaitable, Callable
from pathlib import Path

import numpy as np
import trio
import trio_parallel

from carta_trio.actors import workers
from carta_trio.analysis.contour_levels import EncodedLevel, encode_level, encode_levels_from_file
from carta_trio.analysis.contours import (
    GAUSSIAN_BLUR,
    ContourSettings,
    LevelTracer,
    SmoothedPlane,
    gaussian_smooth,
    smooth_plane,
)

log = logging.getLogger(__name__)

#: Grids with at least this many cells are traced in worker processes.
PROCESS_MIN_CELLS = 1 << 20
#: A contourpy generator keeps full x and y grids: about 20 bytes per cell (measured:
#: 320 MB for 4096 x 4096). Fewer worker processes trace at once when the groups
#: would need more than this together.
TRACER_BYTES_PER_CELL = 20
TRACER_MEMORY_BUDGET = 2 << 30

LevelCallback = Callable[[float, EncodedLevel], Awaitable[None]]


async def smooth(plane: np.ndarray, mode: int, factor: int, *, cores: int | None = None) -> SmoothedPlane:
    """:func:`~carta_trio.analysis.contours.smooth_plane` in worker threads; a large
    Gaussian is split into one row range per core (numpy and scipy release the GIL).
    Cancellable."""
    if mode != GAUSSIAN_BLUR or factor <= 1 or plane.size < PROCESS_MIN_CELLS:
        return await workers.run_sync(smooth_plane, plane, mode, factor)
    radius = factor - 1
    height, width = plane.shape
    out_h, out_w = max(0, height - 2 * radius), max(0, width - 2 * radius)
    out = np.empty((out_h, out_w), dtype=np.float32)
    parts = max(1, min(cores or os.cpu_count() or 1, out_h))
    edges = np.linspace(0, out_h, parts + 1).astype(int).tolist()
    async with trio.open_nursery() as nursery:
        for a, b in zip(edges[:-1], edges[1:]):
            nursery.start_soon(workers.run_sync, gaussian_smooth, plane, factor, (a, b), out)
    return SmoothedPlane(out, 1, float(radius))


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

    affordable = TRACER_MEMORY_BUDGET // (TRACER_BYTES_PER_CELL * z.size)
    groups_count = max(1, min(len(levels), cores or os.cpu_count() or 1, affordable))
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
