"""Running blocking and CPU-bound work off the event loop.

numpy, fitsio and h5py release the GIL for the bulk of their work, so threads under
one process-wide limiter sized to the cores keep both cores busy without
oversubscribing them. Cancelling the caller abandons the thread: its result is
dropped and the caller returns at once.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TypeVar

import trio

T = TypeVar("T")

# One limiter per trio run: a thread abandoned by cancellation keeps its token until
# it finishes, which must not outlive the run it belongs to (tests run many).
_limiter: trio.lowlevel.RunVar[trio.CapacityLimiter] = trio.lowlevel.RunVar("cpu_limiter")


def cpu_limiter() -> trio.CapacityLimiter:
    """The limiter for CPU work of this trio run (one token per core)."""
    try:
        return _limiter.get()
    except LookupError:
        limiter = trio.CapacityLimiter(max(1, os.cpu_count() or 1))
        _limiter.set(limiter)
        return limiter


async def run_sync(fn: Callable[..., T], *args: object) -> T:
    """Run ``fn(*args)`` in a worker thread; a checkpoint, cancellable at any time."""
    return await trio.to_thread.run_sync(fn, *args, limiter=cpu_limiter(), abandon_on_cancel=True)
