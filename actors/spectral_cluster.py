"""Region spectral profiles of large regions on a dask cluster (``--dask_scheduler``).

A region profile reads the region's box in every channel: for a large region of a big
cube that is the whole job's cost, and with a cluster it is split into channel ranges
that run as tasks (``analysis/cluster_tasks.region_profile_task``) on workers that open
the image by path. Results come back in channel order into the job's accumulator, and
the job streams partial profiles as they arrive, as it does embedded. The job's cancel
scope (a region change or removal, a new requirement, closing the file) cancels the
futures still pending (``cluster.map_tasks``).

Not sent to the cluster: small regions (:data:`CLUSTER_MIN_BYTES`: a task's round trip
costs more than reading them here), frames whose spectral cache is built (it is faster
than any plane-major read), images the workers cannot open by path and computed
polarizations (``cluster.cluster_source``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any

import trio

from carta_trio.actors import cluster, spectral_cache
from carta_trio.actors.stats_streams import flux_of
from carta_trio.analysis.region_geometry import RegionMask
from carta_trio.analysis.spectral_profiles import ProfileAccumulator

if TYPE_CHECKING:
    from carta_trio.actors.frame import Frame

#: Bytes of a region's box over all channels from which its profile runs on the cluster.
CLUSTER_MIN_BYTES = 256 << 20
#: Bytes of the box read by one task (a range of channels).
TASK_BYTES = 32 << 20

Source = tuple[str, str, tuple[int, ...]]


def cluster_plan(frame: Frame, mask: RegionMask, stokes: int) -> tuple[Source, list[tuple[int, int]]] | None:
    """``(source, channel ranges)`` when this profile should run on the cluster, else None."""
    if frame.session.settings.dask_scheduler is None or spectral_cache.source(frame) is not frame.reader:
        return None
    box_bytes = max(1, mask.width * mask.height * 4)
    if box_bytes * frame.depth < CLUSTER_MIN_BYTES:
        return None
    source = cluster.cluster_source(frame.reader, stokes)
    if source is None:
        return None
    step = max(1, TASK_BYTES // box_bytes)
    return source, [(z, min(frame.depth, z + step)) for z in range(0, frame.depth, step)]


async def compute_on_cluster(frame: Frame, plan: tuple[Source, list[tuple[int, int]]], mask: RegionMask,
                             stokes: int, stats: Sequence[int], accumulator: ProfileAccumulator,
                             partial_seconds: float, send_partial: Callable[[], Awaitable[None]]) -> None:
    """Fill ``accumulator`` from cluster tasks, calling ``send_partial`` at most every
    ``partial_seconds`` until done. Raises :class:`cluster.ClusterError` on a cluster failure."""
    from carta_trio.analysis.cluster_tasks import region_profile_task

    source, chunks = plan
    flux = flux_of(frame)
    calls = [(*source, stokes, mask, z0, z1, list(stats), flux.flux_scales(z0, z1, stokes)) for z0, z1 in chunks]
    last = trio.current_time()

    async def collect(index: int, result: dict[Any, Any]) -> None:
        nonlocal last
        accumulator.add(chunks[index][0], result)
        if not accumulator.complete and trio.current_time() - last > partial_seconds:
            last = trio.current_time()
            await send_partial()

    address = frame.session.settings.dask_scheduler
    assert address is not None
    await cluster.map_in_order(str(address), region_profile_task, calls, collect)
