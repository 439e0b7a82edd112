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

_limiter: trio.CapacityLimiter | None = None


def cpu_limiter() -> trio.CapacityLimiter:
    """The process-wide limiter for CPU work (one token per core)."""
    global _limiter
    if _limiter is None:
        _limiter = trio.CapacityLimiter(max(1, os.cpu_count() or 1))
    return _limiter


async def run_sync(fn: Callable[..., T], *args: object) -> T:
    """Run ``fn(*args)`` in a worker thread; a checkpoint, cancellable at any time."""
    return await trio.to_thread.run_sync(fn, *args, limiter=cpu_limiter(), abandon_on_cancel=True)
