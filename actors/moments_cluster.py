"""Moments on a dask.distributed cluster: the same chunks as :func:`moments.compute_moments`,
run as cluster tasks that read the image themselves (``--dask_scheduler``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import trio

from carta_trio.actors import cluster
from carta_trio.actors.progress_pacing import MomentPacing
from carta_trio.analysis.moments import Moment
from carta_trio.messages import schema as pb

if TYPE_CHECKING:
    from carta_trio.actors.moments import MomentPlan
    from carta_trio.actors.session import Session


def cluster_calls(plan: MomentPlan) -> list[tuple[Any, ...]] | None:
    """Task arguments per chunk, or None when the image cannot be opened by path on a
    worker (joined Stokes files, expressions, generated images) or needs combining
    Stokes planes (computed polarizations, moments along Stokes): those run here."""
    source = cluster.cluster_source(plan.frame.reader, plan.stokes)
    if source is None or plan.along_stokes:
        return None
    path, hdu, shape = source
    calls = []
    for _plane, z0, z1, ya, yb, xa, xb in plan.chunks:
        box = (plan.x0 + xa, plan.x0 + xb, plan.y0 + ya, plan.y0 + yb, z0, z1)
        mask = None if plan.mask is None else np.ascontiguousarray(plan.mask[ya:yb, xa:xb])
        calls.append((path, hdu, shape, plan.stokes, box, plan.coordinates, list(plan.moments),
                      plan.prange, mask))
    return calls


async def compute_moments_on_cluster(session: Session, plan: MomentPlan, request_id: int, address: str,
                                     calls: list[tuple[Any, ...]]) -> tuple[dict[Moment, np.ndarray], int]:
    """Run the plan's chunks on the cluster; progress as tasks complete.

    Raises :class:`cluster.ClusterError` when the cluster fails the job."""
    from carta_trio.analysis.cluster_tasks import moment_task

    shape = (plan.planes, plan.height, plan.width)
    results = {m: np.full(shape, np.nan, dtype=np.float32) for m in plan.moments}
    total = len(plan.chunks)
    done = 0
    selected = 0
    pacing = MomentPacing(trio.current_time())
    file_id = plan.frame.file_id

    async def collect(index: int, result: tuple[dict[Moment, np.ndarray], int]) -> None:
        nonlocal done, selected
        plane, _z0, _z1, ya, yb, xa, xb = plan.chunks[index]
        planes, count = result
        for moment, values in planes.items():
            results[moment][plane, ya:yb, xa:xb] = values
        selected += count
        done += 1
        fraction = done / total
        if pacing.due(fraction, trio.current_time()) and fraction < 1.0:
            await session.reply(request_id, pb.MomentProgress(file_id=file_id, progress=fraction))

    await cluster.map_tasks(address, moment_task, calls, collect)
    return results, selected
