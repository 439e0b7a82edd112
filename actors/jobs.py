"""Long computations as cancellable jobs: request -> progress... -> result.

Moments, PV diagrams, fitting and the cube histogram share one shape (STYLE.md:
"write it once"): a job runs in the task of its (concurrent) handler inside a
cancel scope registered in the session under ``(kind, key)``; it computes in
chunks off the event loop, reports progress at a steady cadence, and ends with
its response. Any of these cancel it: its STOP message (:func:`cancel_jobs` by
kind and file), closing its file (:func:`cancel_file_jobs`), a new job under the
same key, or the session ending. Cancellation takes effect at the next chunk
boundary or at once while waiting for a worker thread (the thread's result is
dropped).
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
from collections.abc import AsyncIterator, Callable, Hashable
from typing import TYPE_CHECKING, Any, TypeVar

import trio

if TYPE_CHECKING:
    from carta_trio.actors.session import Session

log = logging.getLogger(__name__)
T = TypeVar("T")

#: Seconds between progress messages while a job runs (DESIGN.md: about 0.5-1 s).
PROGRESS_INTERVAL = 0.5


@dataclasses.dataclass(eq=False)
class Job:
    """One running job: its scope, identity and progress pacing."""

    session: Session
    kind: str
    key: Hashable
    file_id: int | None
    scope: trio.CancelScope
    interval: float = PROGRESS_INTERVAL
    _last_report: float = -1.0

    @property
    def cancelled(self) -> bool:
        return self.scope.cancel_called

    def due(self, fraction: float) -> bool:
        """True when a progress report should go out now (steady cadence, and at 1.0)."""
        now = trio.current_time()
        if fraction >= 1.0 or self._last_report < 0 or now - self._last_report >= self.interval:
            self._last_report = now
            return True
        return False

    async def report(self, fraction: float, message: Any, request_id: int = 0) -> None:
        """Send ``message`` (a progress message) if a report is due."""
        if self.due(fraction):
            if request_id:
                await self.session.reply(request_id, message)
            else:
                await self.session.send_stream(message)

    async def run_chunk(self, fn: Callable[..., T], *args: object) -> T:
        """Run one chunk of work in a worker thread; a cancellation point."""
        return await self.session.run_sync(fn, *args)


def _registry(session: Session) -> dict[tuple[str, Hashable], Job]:
    return session.state.setdefault("jobs", {})


@contextlib.asynccontextmanager
async def open_job(
    session: Session, kind: str, key: Hashable, *, file_id: int | None = None, interval: float = PROGRESS_INTERVAL
) -> AsyncIterator[Job]:
    """Run the ``async with`` body as the job ``(kind, key)``.

    A job already running under the same key is cancelled first. If the job is
    cancelled, the body is interrupted and the block exits quietly; check
    ``job.cancelled`` afterwards to send a cancelled response where the ICD wants one.
    """
    registry = _registry(session)
    previous = registry.get((kind, key))
    if previous is not None:
        previous.scope.cancel()
    with trio.CancelScope() as scope:
        job = Job(session, kind, key, file_id, scope, interval)
        registry[(kind, key)] = job
        try:
            yield job
        finally:
            if registry.get((kind, key)) is job:
                del registry[(kind, key)]


def cancel_jobs(session: Session, kind: str | None = None, *, file_id: int | None = None, key: Hashable = None) -> int:
    """Cancel the jobs matching ``kind``/``file_id``/``key`` (None matches any).

    Returns how many were cancelled now (jobs already cancelled but not yet
    finished are not counted again).
    """
    count = 0
    for (job_kind, job_key), job in list(_registry(session).items()):
        if job.cancelled:
            continue
        if kind is not None and job_kind != kind:
            continue
        if file_id is not None and job.file_id != file_id:
            continue
        if key is not None and job_key != key:
            continue
        job.scope.cancel()
        count += 1
    return count


def cancel_file_jobs(session: Session, file_id: int) -> int:
    """CLOSE_FILE: cancel every job working on ``file_id``."""
    return cancel_jobs(session, file_id=file_id)


def running_jobs(session: Session, kind: str | None = None) -> list[Job]:
    """The jobs currently registered (tests, diagnostics)."""
    return [job for (job_kind, _), job in _registry(session).items() if kind is None or job_kind == kind]
