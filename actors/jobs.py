"""Jobs: long work on behalf of a request, in one shape (STYLE.md: "write it once").

A *job* is request -> progress... -> result: moments, PV, PV preview, fitting, the
cube histogram, region statistics/histograms/profiles, contours and vector overlays.
Every job belongs to one frame and sits in a *slot* ``(kind, key)`` of that frame's
:class:`Jobs` table (``frame.jobs``), at most one job per slot. A job is cancelled by:

- its STOP message (:meth:`Jobs.cancel` by kind, and key where the ICD names one);
- a newer job for the same slot (starting one cancels the one in the slot first:
  the newest request always wins), unless the newer one is *queued*
  (``start(..., queue=True)``): then it waits for the one in the slot to finish and
  runs after it, as the reference answers every SET_HISTOGRAM_REQUIREMENTS; cancelling
  a queued job cancels the ones it waits for too;
- its frame closing (:meth:`Frame.aclose <carta_trio.actors.frame.Frame.aclose>`
  closes the table: every job is cancelled and no new one starts).

There are two ways to run a job, both in the same table:

- :meth:`Jobs.start` runs ``fn(*args)`` as a supervised task in the **frame's
  nursery** (streams that nobody waits for: region stats, profiles, the cube histogram);
- :meth:`Jobs.open` runs the ``with`` body as the job **in the caller's task** (a
  handler that must answer its request whatever happens, e.g. MOMENT_RESPONSE with
  ``cancel=true``; or the frame's own task, which keeps the §4.4 order after a channel
  change). The body ends quietly when the job is cancelled; check ``job.cancelled``.

Work inside a job goes to worker threads in chunks (:meth:`Job.run_chunk`), so a
cancellation takes effect at the next chunk boundary, or at once while waiting for a
thread (the thread's result is dropped; the frame's reader guard keeps the file open
until that thread has left it).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Callable, Hashable, Iterator
from typing import TYPE_CHECKING, Any, TypeVar

import trio

if TYPE_CHECKING:
    from carta_trio.actors.session import Session

log = logging.getLogger(__name__)
T = TypeVar("T")

#: Seconds between progress messages while a job runs (DESIGN.md: about 0.5-1 s).
PROGRESS_INTERVAL = 0.5
#: At most this many jobs wait behind each other in one slot; one more and the newest
#: wins again (a flood of queued requests cannot pile up tasks).
MAX_QUEUED = 32

Slot = tuple[str, Hashable]
#: "Any key" for :meth:`Jobs.cancel` (None is a key like any other).
ANY: Any = object()
Spawn = Callable[..., None]


class Job:
    """One running job: its slot, cancel scope and progress pacing."""

    def __init__(self, session: Session, kind: str, key: Hashable, interval: float = PROGRESS_INTERVAL) -> None:
        self.session = session
        self.kind = kind
        self.key = key
        self.interval = interval
        self.scope = trio.CancelScope()
        self._last_report = -1.0
        #: Set once the job's body has ended (normally, failed or cancelled).
        self.finished = trio.Event()
        #: The job this queued job waits for (None once it has finished, or not queued).
        self.after: Job | None = None
        self.depth = 0

    @property
    def cancelled(self) -> bool:
        """True once anything cancelled the job (STOP, a newer job, the frame closing)."""
        return self.scope.cancel_called

    def cancel(self) -> None:
        """Cancel the job and those it is queued behind (not a checkpoint)."""
        self.scope.cancel()
        if self.after is not None:
            self.after.cancel()

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

    def __repr__(self) -> str:
        return f"Job({self.kind!r}, {self.key!r}{', cancelled' if self.cancelled else ''})"


class Jobs:
    """The job table of one frame: at most one job per slot ``(kind, key)``.

    ``spawn(name, fn, *args)`` starts a supervised task in the owner's nursery (the
    frame's); it is only used by :meth:`start`.
    """

    def __init__(self, session: Session, spawn: Spawn) -> None:
        self._session = session
        self._spawn = spawn
        self._slots: dict[Slot, Job] = {}
        self._closed = False

    def _claim(self, kind: str, key: Hashable, interval: float, queue: bool = False) -> Job:
        """A new job in slot ``(kind, key)``, cancelling the one there (or, ``queue``,
        waiting for it); born cancelled once the table is closed."""
        previous = self._slots.get((kind, key))
        job = Job(self._session, kind, key, interval)
        if previous is not None:
            if queue and not previous.cancelled and previous.depth < MAX_QUEUED:
                job.after, job.depth = previous, previous.depth + 1
            else:
                previous.cancel()
        if self._closed:
            job.cancel()
        else:
            self._slots[(kind, key)] = job
        return job

    def _release(self, job: Job) -> None:
        if self._slots.get((job.kind, job.key)) is job:
            del self._slots[(job.kind, job.key)]

    @contextlib.contextmanager
    def open(self, kind: str, key: Hashable = None, *, interval: float = PROGRESS_INTERVAL) -> Iterator[Job]:
        """Run the ``with`` body as the job in slot ``(kind, key)``, in the caller's task.

        The job in the slot is cancelled first. If this job is cancelled, the body is
        interrupted and the block exits quietly; ``job.cancelled`` tells afterwards.
        """
        job = self._claim(kind, key, interval)
        try:
            with job.scope:
                yield job
        finally:
            job.finished.set()
            self._release(job)

    def start(
        self, kind: str, key: Hashable, name: str, fn: Callable[..., Awaitable[object]], *args: object,
        interval: float = PROGRESS_INTERVAL, queue: bool = False,
    ) -> Job:
        """Start ``fn(*args)`` as the job in slot ``(kind, key)`` in the frame's nursery.

        The job's scope is registered before its task runs, so of two jobs started back
        to back the later always wins, whatever order trio runs them in; with ``queue``
        the later runs once the earlier has finished instead. A failure is reported as
        ERROR_DATA naming ``name``. Returns the job (cancel it to stop it).
        """
        job = self._claim(kind, key, interval, queue)
        if job.cancelled:
            return job

        async def run() -> None:
            try:
                with job.scope:
                    if job.after is not None:
                        await job.after.finished.wait()
                        job.after = None
                    await fn(*args)
            finally:
                job.finished.set()
                self._release(job)

        self._spawn(name, run)
        return job

    def get(self, kind: str, key: Hashable = None) -> Job | None:
        """The job in slot ``(kind, key)``, if one runs."""
        return self._slots.get((kind, key))

    def is_running(self, kind: str, key: Hashable = None) -> bool:
        """True while a job not yet cancelled holds slot ``(kind, key)``."""
        job = self._slots.get((kind, key))
        return job is not None and not job.cancelled

    def running(self, kind: str | None = None) -> list[Job]:
        """The jobs in the table (of ``kind``), cancelled ones still finishing included."""
        return [job for job in self._slots.values() if kind is None or job.kind == kind]

    def cancel(self, kind: str | None = None, key: Hashable = ANY) -> int:
        """Cancel the jobs of ``kind`` (None: every kind) and ``key`` (default: every
        key). Returns how many were cancelled now (jobs already cancelled are not
        counted again). Not a checkpoint."""
        count = 0
        for (job_kind, job_key), job in list(self._slots.items()):
            if job.cancelled or (kind is not None and job_kind != kind):
                continue
            if key is not ANY and job_key != key:
                continue
            job.cancel()
            count += 1
        return count

    def close(self) -> None:
        """Cancel every job; jobs claimed from now on are born cancelled."""
        self._closed = True
        for job in list(self._slots.values()):
            job.cancel()


def cancel_on_file(session: Session, file_id: int, kind: str | None = None, key: Hashable = ANY) -> int:
    """Cancel jobs of ``kind``/``key`` on the frame open under ``file_id`` (STOP_* messages
    name the file); 0 if no frame is open there."""
    frame = session.frames.get(file_id)
    return 0 if frame is None else frame.jobs.cancel(kind, key)


def cancel_everywhere(session: Session, kind: str | None = None, key: Hashable = ANY) -> int:
    """Cancel jobs of ``kind``/``key`` on every frame of the session (RESUME_SESSION,
    STOP_PV_PREVIEW which names only a preview id)."""
    return sum(frame.jobs.cancel(kind, key) for frame in list(session.frames.values()))
