"""Long jobs on a dask.distributed cluster (``--dask_scheduler ADDRESS``).

Moments (``moments_cluster.py``), both cube-histogram passes (``cube_histogram.py``), PV
images (``pv.py``) and region spectral profiles of large regions (``spectral_cluster.py``)
use it. The server stays the only place with sessions and sockets; a job hands its chunks to
the cluster as tasks (``analysis/cluster_tasks.py``) that open the image themselves,
and streams progress as tasks complete. The dask client is synchronous: connecting and
submitting run in worker threads, and trio polls the futures' states (a plain read)
every :data:`POLL_SECONDS`, so a STOP (the job's cancel scope) cancels the futures at once.

Failures are the job's, never the viewer's: a scheduler that does not answer, a lost
scheduler during the job, or a task that fails on a worker (a worker that cannot see
the file) end the job with :class:`ClusterError`, whose text is for the user; a lost
worker is retried by dask itself. Without ``--dask_scheduler`` nothing here is
imported, and neither is dask.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import trio

log = logging.getLogger(__name__)

#: Seconds to reach the scheduler before a job gives up.
CONNECT_SECONDS = 5.0
#: Seconds between looks at the futures' states (reading them does not block).
POLL_SECONDS = 0.02
#: Seconds without a scheduler (the client reconnecting) before a job fails.
LOST_SECONDS = 10.0
#: Reruns of a task whose worker died.
RETRIES = 2

#: A job runs as at least this many tasks when it has that many chunks (progress in tenths)...
MIN_TASKS = 10
#: ...and each task reads at most about this many bytes. A task costs ~10 ms of scheduling
#: and transfer on 2 busy cores, so a job's chunks (sized for the server's memory, 24-32
#: MiB) are grouped: moments of a 1 GB cube as 43 tasks took ~1.3-1.5x embedded, as 10
#: tasks ~1.0x (bench_huge_cubes, load 6-9 on 2 cores).
MAX_TASK_BYTES = 256 << 20

_clients: dict[str, Any] = {}
_clients_lock = threading.Lock()


class ClusterError(Exception):
    """A cluster job failed; ``str(exc)`` is the message for the user."""


def _client(address: str) -> Any:
    """The process's dask client for ``address``, connecting on first use (blocking)."""
    with _clients_lock:
        client = _clients.get(address)
        if client is not None and client.status in ("running", "connecting"):
            return client
        from distributed import Client

        try:
            client = Client(address, timeout=CONNECT_SECONDS, set_as_default=False)  # type: ignore[no-untyped-call]  # distributed's Client.__init__ is unannotated
        except (OSError, TimeoutError) as exc:
            raise ClusterError(f"The dask scheduler at {address} does not answer ({type(exc).__name__})") from None
        _clients[address] = client
        return client


def task_ranges(sizes: Sequence[int]) -> list[tuple[int, int]]:
    """``[a, b)`` ranges of consecutive chunks (bytes ``sizes``) to run as one task each:
    :data:`MIN_TASKS` or more when there are that many chunks, none above
    :data:`MAX_TASK_BYTES` unless a single chunk is."""
    n = len(sizes)
    if n == 0:
        return []
    per_task = max(1, MAX_TASK_BYTES // max(1, int(max(sizes))))  # chunks a task may hold
    tasks = min(n, max(MIN_TASKS, -(-n // per_task)))
    edges = [round(i * n / tasks) for i in range(tasks + 1)]
    return [(a, b) for a, b in zip(edges[:-1], edges[1:]) if b > a]


def close_clients() -> None:
    """Close every dask client of the process (server shutdown, tests)."""
    with _clients_lock:
        clients = list(_clients.values())
        _clients.clear()
    for client in clients:
        try:
            client.close(timeout=2)
        except Exception:  # noqa: BLE001 - closing a client of a dead scheduler may fail
            log.debug("closing a dask client failed", exc_info=True)


def cluster_source(reader: Any, stokes: int) -> tuple[str, str, tuple[int, ...]] | None:
    """``(path, hdu, shape)`` by which a worker opens the image behind ``reader``, or None
    when it cannot: images that exist only in this server (joined Stokes files,
    expressions, generated images) and computed polarizations (they combine planes)."""
    from carta_trio.analysis import polarization

    from carta_trio.io.image_reader import backing_file

    path = backing_file(reader)
    if path is None or polarization.is_computed(stokes) or not os.path.exists(path):
        return None
    return str(path), str(reader.hdu), tuple(int(n) for n in reader.shape)


async def map_in_order(address: str, fn: Callable[..., Any], calls: Sequence[tuple[Any, ...]],
                       on_result: Callable[[int, Any], Awaitable[None]]) -> None:
    """:func:`map_tasks`, with results handed over in the order of ``calls``."""
    ready: dict[int, Any] = {}
    next_index = 0

    async def collect(index: int, result: Any) -> None:
        nonlocal next_index
        ready[index] = result
        while next_index in ready:
            await on_result(next_index, ready.pop(next_index))
            next_index += 1

    await map_tasks(address, fn, calls, collect)


async def map_tasks(address: str, fn: Callable[..., Any], calls: Sequence[tuple[Any, ...]],
                    on_result: Callable[[int, Any], Awaitable[None]]) -> None:
    """Run ``fn(*args)`` for every ``args`` of ``calls`` on the cluster; ``on_result(index,
    result)`` as each finishes. Cancelling the caller cancels the tasks not yet done."""
    client = await trio.to_thread.run_sync(_client, address, abandon_on_cancel=True)
    futures = await trio.to_thread.run_sync(
        lambda: [client.submit(fn, *args, pure=False, retries=RETRIES) for args in calls])
    index = {future.key: position for position, future in enumerate(futures)}
    pending = list(futures)
    lost_since: float | None = None
    try:
        while pending:
            done = [future for future in pending if future.done()]
            if not done:
                await trio.sleep(POLL_SECONDS)
            pending = [future for future in pending if future not in done]
            if client.status != "running":
                lost_since = lost_since if lost_since is not None else trio.current_time()
                if client.status in ("closed", "closing") or trio.current_time() - lost_since > LOST_SECONDS:
                    raise ClusterError(f"Lost the dask scheduler at {address}")
            else:
                lost_since = None
            for future in done:
                if future.status == "error":
                    exc = await trio.to_thread.run_sync(future.exception)
                    raise ClusterError(f"A cluster task failed: {type(exc).__name__}: {exc}")
                if future.status == "cancelled":
                    raise ClusterError(f"Lost the dask scheduler at {address} (task cancelled)")
            if done:
                # Every finished result in one gather: one thread hop and one round trip
                # per poll, not per task (per-task fetches were ~40% of a job's time).
                with trio.move_on_after(LOST_SECONDS) as waited:
                    try:
                        results = await trio.to_thread.run_sync(client.gather, done, abandon_on_cancel=True)
                    except Exception as exc:  # noqa: BLE001 - e.g. the worker holding a result died
                        raise ClusterError(f"A cluster task's result was lost: {type(exc).__name__}: {exc}") from None
                if waited.cancelled_caught:
                    raise ClusterError(f"Lost the dask scheduler at {address} (results did not arrive)")
                for future, result in zip(done, results):
                    await on_result(index[future.key], result)
    finally:
        if pending:
            with trio.CancelScope(shield=True):
                await trio.to_thread.run_sync(_cancel, client, pending)


def _cancel(client: Any, futures: list[Any]) -> None:
    try:
        client.cancel(futures)
    except Exception:  # noqa: BLE001 - a client of a lost scheduler cannot cancel; nothing to stop then
        log.debug("cancelling dask futures failed", exc_info=True)
