"""Running blocking and CPU-bound work off the event loop, fairly across sessions.

numpy, fitsio and h5py release the GIL for the bulk of their work, so worker
threads (and trio-parallel processes) under one token per core keep both cores
busy without oversubscribing them. Who gets a free token is decided by
:class:`FairScheduler`: every piece of work names an *owner* (a session, or None
for server-wide work) and the next token goes to the waiting owner that has used
the least CPU time so far (virtual time, as in a fair-share kernel scheduler). So
one session queueing hundreds of chunks (a tile stream, a moment job) cannot make
another session's cursor request wait for more than one chunk per core; within
one owner, work runs in the order it was queued.

Cancelling the caller abandons the thread: its result is dropped, the caller
returns at once, and the token comes back when the thread really finishes.

The event loop shares the GIL with these threads: when it wakes while a worker holds
the GIL, CPython makes it wait a *switch interval* before asking the holder to let go,
and with two busy workers the GIL can go to the other worker first. The server
therefore runs with a 1 ms switch interval (:func:`configure_gil`) instead of
CPython's 5 ms: ``bench/bench_loop_stall.py`` measured the longest loop stall during
cube histograms at roughly a third, with no loss of throughput.
"""

from __future__ import annotations

import collections
import contextvars
import os
import sys
import time
from collections.abc import Callable, Hashable
from typing import Any, TypeVar, cast

import trio

T = TypeVar("T")

#: Seconds a thread waiting for the GIL waits before the holder must release it.
GIL_SWITCH_INTERVAL = 0.001

#: A newly active owner starts this many seconds of CPU time ahead of the least
#: served busy owner, so an occasional light request goes next (CFS's wake-up credit).
WAKE_CREDIT = 0.05

#: A new owner starts this many seconds ahead of the least served busy owner: a new
#: session's first request runs soon, but after the light owners coming back.
NEW_OWNER_CREDIT = WAKE_CREDIT / 2

#: The owner of results computed once for every session that shows a file (its render
#: histogram): several sessions may wait for them, so they must not queue behind the
#: CPU share of whichever session happened to ask first.
SHARED_OWNER = "shared per-file results"


class _Waiter:
    """One queued acquisition: its borrower, owner and the event that grants it."""

    __slots__ = ("borrower", "owner", "event", "granted")

    def __init__(self, borrower: object, owner: Hashable) -> None:
        self.borrower = borrower
        self.owner = owner
        self.event = trio.Event()
        self.granted = False


class FairScheduler:
    """CPU tokens shared by owners, least-used owner first, FIFO within an owner.

    The bookkeeping runs only in the trio thread (acquire in tasks, release from
    trio's thread-completion callback), so it needs no lock.
    """

    def __init__(self, total_tokens: int) -> None:
        self.total_tokens = total_tokens
        self._queues: dict[Hashable, collections.deque[_Waiter]] = {}
        self._holders: dict[object, tuple[Hashable, float]] = {}
        self._running: collections.Counter[Hashable] = collections.Counter()
        #: CPU seconds charged per owner (virtual time). Kept while an owner is idle
        #: too: an owner whose work comes in bursts (a tile stream between sends) must
        #: come back with what it used, not with a fresh credit each time.
        self._used: dict[Hashable, float] = {}
        #: Owners with work queued or running.
        self._active: set[Hashable] = set()
        #: The least CPU time served among active owners, as it was last seen: it only
        #: moves forward while anyone is active (see :meth:`_floor`).
        self._clock = 0.0

    # ------------------------------------------------------------ inspection

    @property
    def borrowed_tokens(self) -> int:
        return len(self._holders)

    @property
    def available_tokens(self) -> int:
        return self.total_tokens - len(self._holders)

    def queued(self, owner: Hashable = None) -> int:
        """Acquisitions waiting for ``owner`` (all owners when None)."""
        if owner is None:
            return sum(len(q) for q in self._queues.values())
        return len(self._queues.get(owner, ()))

    def used(self, owner: Hashable) -> float:
        """CPU seconds charged to ``owner`` while it has been active."""
        return self._used.get(owner, 0.0)

    # ------------------------------------------------------------- acquiring

    async def acquire(self, borrower: object, owner: Hashable) -> None:
        """Take one token for ``borrower`` on behalf of ``owner``; waits for its turn."""
        if borrower in self._holders:
            raise RuntimeError("this borrower already holds a CPU token")
        self._activate(owner)
        if self.available_tokens > 0 and not self._queues:
            await trio.lowlevel.checkpoint_if_cancelled()
            self._grant(borrower, owner)
            await trio.lowlevel.cancel_shielded_checkpoint()
            return
        waiter = _Waiter(borrower, owner)
        self._queues.setdefault(owner, collections.deque()).append(waiter)
        try:
            await waiter.event.wait()
        except BaseException:
            if waiter.granted:
                self.release(borrower)
            else:
                queue = self._queues.get(owner)
                if queue is not None:
                    queue.remove(waiter)
                    if not queue:
                        del self._queues[owner]
                self._deactivate_if_idle(owner)
            raise

    def release(self, borrower: object) -> None:
        """Give back ``borrower``'s token, charge its owner, grant the next waiter."""
        owner, start = self._holders.pop(borrower)
        self._running[owner] -= 1
        if self._running[owner] <= 0:
            del self._running[owner]
        if owner in self._used:
            self._used[owner] += time.monotonic() - start
        self._deactivate_if_idle(owner)
        self._wake_next()

    def _grant(self, borrower: object, owner: Hashable) -> None:
        self._holders[borrower] = (owner, time.monotonic())
        self._running[owner] += 1

    def _wake_next(self) -> None:
        while self.available_tokens > 0 and self._queues:
            owner = min(self._queues, key=lambda o: self._used.get(o, 0.0))
            queue = self._queues[owner]
            waiter = queue.popleft()
            if not queue:
                del self._queues[owner]
            waiter.granted = True
            self._grant(waiter.borrower, owner)
            waiter.event.set()

    # ------------------------------------------------------- owner accounting

    def _floor(self) -> float | None:
        """The scheduler's clock: the least CPU time among the active owners, never
        going back while anyone is active (CFS's min_vruntime); None when nobody is."""
        if not self._active:
            return None
        self._clock = max(self._clock, min(self._used[o] for o in self._active))
        return self._clock

    def _activate(self, owner: Hashable) -> None:
        """``owner`` has work again. Coming back from idle it resumes at what it used,
        but no further back than :data:`WAKE_CREDIT` behind the clock (so a long idle
        owner cannot claim the cores for its whole idle time, and a light one goes
        next). A new owner starts :data:`NEW_OWNER_CREDIT` behind the clock: ahead of
        the busy owners, behind the ones coming back. The clock never goes back, so
        owners arriving one after another cannot push the line back by a credit each
        (they used to: fifty new sessions put a light one seconds behind)."""
        if owner in self._active:
            return
        floor = self._floor()
        if floor is None:  # nobody busy: everyone starts equal
            self._used.clear()
            self._clock = 0.0
            self._used[owner] = 0.0
        elif owner in self._used:
            self._used[owner] = max(self._used[owner], floor - WAKE_CREDIT)
        else:
            self._used[owner] = floor - NEW_OWNER_CREDIT
        self._active.add(owner)

    def _deactivate_if_idle(self, owner: Hashable) -> None:
        if owner in self._queues or owner in self._running:
            return
        self._active.discard(owner)
        if len(self._used) > 2 * len(self._active) + 64:
            # idle owners this far behind would resume at the credit line anyway
            floor = self._floor()
            if floor is not None:
                line = floor - WAKE_CREDIT
                for idle in [o for o, used in self._used.items() if o not in self._active and used <= line]:
                    del self._used[idle]


class OwnerLimiter:
    """A :class:`trio.CapacityLimiter`-like view of the scheduler for one owner.

    Pass it as ``limiter=`` to ``trio.to_thread.run_sync`` or ``trio_parallel.run_sync``.
    """

    def __init__(self, scheduler: FairScheduler, owner: Hashable) -> None:
        self._scheduler = scheduler
        self.owner = owner

    @property
    def total_tokens(self) -> int:
        return self._scheduler.total_tokens

    @property
    def borrowed_tokens(self) -> int:
        return self._scheduler.borrowed_tokens

    @property
    def available_tokens(self) -> int:
        return self._scheduler.available_tokens

    async def acquire_on_behalf_of(self, borrower: object) -> None:
        await self._scheduler.acquire(borrower, self.owner)

    def release_on_behalf_of(self, borrower: object) -> None:
        self._scheduler.release(borrower)

    async def __aenter__(self) -> None:
        await self.acquire_on_behalf_of(trio.lowlevel.current_task())

    async def __aexit__(self, *exc: Any) -> None:
        self.release_on_behalf_of(trio.lowlevel.current_task())


# One scheduler per trio run: a thread abandoned by cancellation keeps its token until
# it finishes, which must not outlive the run it belongs to (tests run many).
_scheduler: trio.lowlevel.RunVar[FairScheduler] = trio.lowlevel.RunVar("cpu_scheduler")


def scheduler() -> FairScheduler:
    """The fair CPU scheduler of this trio run (one token per core)."""
    try:
        return _scheduler.get()
    except LookupError:
        made = FairScheduler(max(1, os.cpu_count() or 1))
        _scheduler.set(made)
        return made


#: The owner of work started by the current task when none is named: a session sets
#: itself in its own task, and every task it spawns (handlers, frames, jobs) inherits it.
current_owner: contextvars.ContextVar[object] = contextvars.ContextVar("cpu_owner", default=None)


def owner_key(owner: object) -> Hashable:
    """The scheduling identity of ``owner``: a session's id, or the object itself."""
    if owner is None:
        return None
    session_id = getattr(owner, "id", None)
    return ("session", session_id) if isinstance(session_id, int) else owner


def cpu_limiter(owner: object = None) -> OwnerLimiter:
    """The CPU limiter for work done on behalf of ``owner`` (default: the current
    task's :data:`current_owner`, a session or None for server-wide work)."""
    return OwnerLimiter(scheduler(), owner_key(current_owner.get() if owner is None else owner))


def thread_limiter(owner: object = None) -> trio.CapacityLimiter:
    """:func:`cpu_limiter` as the ``limiter=`` of ``trio.to_thread.run_sync``."""
    # trio documents any object with acquire_on_behalf_of/release_on_behalf_of as a
    # limiter but annotates the parameter as CapacityLimiter; OwnerLimiter is such an object
    return cast(trio.CapacityLimiter, cpu_limiter(owner))


async def run_sync(fn: Callable[..., T], *args: object, owner: object = None) -> T:
    """Run ``fn(*args)`` in a worker thread with ``owner``'s fair share of the cores
    (default: the current task's owner); a checkpoint, cancellable at any time."""
    return await trio.to_thread.run_sync(fn, *args, limiter=thread_limiter(owner), abandon_on_cancel=True)


def configure_gil(interval: float = GIL_SWITCH_INTERVAL) -> None:
    """Set the process's GIL switch interval (see the module docstring); once at start-up."""
    sys.setswitchinterval(interval)
