"""Moments on a dask.distributed cluster: the same chunks as :func:`moments.compute_moments`,
run as cluster tasks that read the image themselves (``--dask_scheduler``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from carta_trio.actors import cluster
from carta_trio.analysis.moments import Moment

if TYPE_CHECKING:
    from carta_trio.actors.moments import MomentPlan
    from carta_trio.actors.session import Session


def task_groups(plan: MomentPlan) -> list[list[int]]:
    """Indices of the plan's chunks per task (``cluster.task_ranges``: few large tasks)."""
    sizes = [(z1 - z0) * (yb - ya) * (xb - xa) * 4 for _plane, z0, z1, ya, yb, xa, xb in plan.chunks]
    return [list(range(a, b)) for a, b in cluster.task_ranges(sizes)]


def cluster_calls(plan: MomentPlan) -> list[tuple[Any, ...]] | None:
    """Task arguments per group of chunks (:func:`task_groups`), or None when the image
    cannot be opened by path on a worker (joined Stokes files, expressions, generated
    images) or needs combining Stokes planes (computed polarizations, moments along
    Stokes): those run here."""
    source = cluster.cluster_source(plan.frame.reader, plan.stokes)
    if source is None or plan.along_stokes:
        return None
    path, hdu, shape = source
    calls = []
    for group in task_groups(plan):
        boxes, masks = [], []
        for index in group:
            _plane, z0, z1, ya, yb, xa, xb = plan.chunks[index]
            boxes.append((plan.x0 + xa, plan.x0 + xb, plan.y0 + ya, plan.y0 + yb, z0, z1))
            masks.append(None if plan.mask is None else np.ascontiguousarray(plan.mask[ya:yb, xa:xb]))
        calls.append((path, hdu, shape, plan.stokes, boxes, plan.coordinates, list(plan.moments),
                      plan.prange, masks))
    return calls


async def compute_moments_on_cluster(session: Session, plan: MomentPlan, request_id: int, address: str,
                                     calls: list[tuple[Any, ...]]) -> tuple[dict[Moment, np.ndarray], int]:
    """Run the plan's chunks on the cluster; progress as tasks complete.

    Raises :class:`cluster.ClusterError` when the cluster fails the job."""
    from carta_trio.analysis.cluster_tasks import moment_group_task

    from carta_trio.actors.moments import MomentResults

    collected = MomentResults(session, plan, request_id)
    groups = task_groups(plan)

    async def collect(index: int, results: list[tuple[dict[Moment, np.ndarray], int]]) -> None:
        for chunk, result in zip(groups[index], results):
            await collected.add(plan.chunks[chunk], result)

    await cluster.map_tasks(address, moment_group_task, calls, collect)
    return collected.outcome()
