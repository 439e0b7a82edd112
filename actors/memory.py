"""Giving memory back to the system after sessions close (issue 11 D19).

Planes, mips and encoded tiles are allocated in worker threads; glibc keeps the
freed space in per-thread arenas and below its (dynamically raised) mmap threshold,
so a server that has served many sessions keeps its peak resident size long after
they left. After a session ends (its frames closed), :func:`release_soon` collects
garbage and calls ``malloc_trim(0)``, which returns the free pages of every arena.
Many sessions closing together cause one release, shortly after the last of them.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import gc
import logging
from collections.abc import Callable

import trio

log = logging.getLogger(__name__)

#: Seconds after a session closes at which memory is released: soon (its frames close
#: meanwhile, and a burst of closing sessions shares it), and once more when threads
#: abandoned by the cancelled work have finished and dropped their arrays.
DELAYS = (0.5, 4.5)


class _ReleaseState:
    """Whether a release sequence runs, and whether another session closed meanwhile."""

    def __init__(self) -> None:
        self.running = False
        self.requested = False


_state: trio.lowlevel.RunVar[_ReleaseState] = trio.lowlevel.RunVar("memory_release")


def _release_state() -> _ReleaseState:
    try:
        return _state.get()
    except LookupError:
        state = _ReleaseState()
        _state.set(state)
        return state


def _load_malloc_trim() -> Callable[[int], int] | None:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        trim = libc.malloc_trim
    except (OSError, AttributeError):  # not glibc (musl, macOS): nothing to trim
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return trim


_malloc_trim = _load_malloc_trim()

#: glibc's mallopt parameter for the number of malloc arenas (malloc.h).
_M_ARENA_MAX = -8


def limit_malloc_arenas(arenas: int | None = None) -> bool:
    """Let the process use at most ``arenas`` malloc arenas (default: one per core);
    once at start-up, before worker threads exist. glibc gives each thread that
    allocates while another holds an arena an arena of its own, up to 8 per core: the
    tile encoders (which compress with the GIL released) and the worker threads then
    leave freed memory spread over many arenas that ``malloc_trim`` cannot give back
    whole, and the server's idle RSS after rounds of sessions wandered by tens of MiB
    (tests/test_process_memory.py: 133, 179, 158, 172 MiB; with two arenas 128, 128,
    134, 134). Returns False where there is no glibc mallopt."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return bool(mallopt(_M_ARENA_MAX, max(1, arenas or os.cpu_count() or 1)))


def release_memory() -> bool:
    """Collect garbage and return the allocator's free pages to the system (blocking).

    Returns True if ``malloc_trim`` ran and released something.
    """
    gc.collect()
    if _malloc_trim is None:
        return False
    return bool(_malloc_trim(0))


async def release_soon() -> None:
    """Release memory at :data:`DELAYS` seconds from now; a session closing while such
    a sequence runs gets another sequence after it (never two at once).

    Meant to be started in the server's nursery when a session ends.
    """
    state = _release_state()
    state.requested = True
    if state.running:
        return
    state.running = True
    try:
        while state.requested:
            state.requested = False
            waited = 0.0
            for delay in DELAYS:
                await trio.sleep(delay - waited)
                waited = delay
                try:
                    await trio.to_thread.run_sync(release_memory)
                except Exception:  # noqa: BLE001 - releasing memory is best effort
                    log.debug("releasing memory failed", exc_info=True)
    finally:
        state.running = False
