"""The server with a timeline of its work, for benchmarks: ``python -m bench.traced_server ARGS``.

Runs ``carta_trio``'s command line exactly as ``python -m carta_trio ARGS`` after wrapping
the steps of opening an image and serving its tiles, so a benchmark can see where the
time between a request and its answer goes. Each step appends one line to the file
named by ``CARTA_TRIO_TRACE``::

    <step> <start> <end> <thread> [cpu=<seconds>] [detail]

with ``time.perf_counter()`` seconds (cpu: the thread's CPU time inside a blocking step) (CLOCK_MONOTONIC on Linux: comparable with the
client process's clock). Steps (see :data:`STEPS`): the request reaching the session,
the blocking part of OPEN_FILE, the plane read, the stored-histogram check, the
histogram's two passes, block means, tile encoding + framing (per worker call), each
socket write, and every worker-thread hand-over (queued until its result is back on
the event loop), so the hand-over latency is the hop minus the work inside it.

Nothing here changes what the server does; the wrappers only read the clock.
Benchmark code only (the server proper has no tracing).
"""

from __future__ import annotations

import functools
import os
import threading
import time
from collections.abc import Callable
from typing import Any

_FD: int | None = None


def _emit(step: str, start: float, end: float, detail: str = "") -> None:
    if _FD is None:
        return
    line = f"{step} {start:.6f} {end:.6f} {threading.current_thread().name.replace(' ', '_')} {detail}".rstrip()
    os.write(_FD, (line + "\n").encode())


def _timed(step: str, fn: Callable[..., Any], detail: Callable[..., str] | None = None) -> Callable[..., Any]:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        start, cpu = time.perf_counter(), time.thread_time()
        try:
            return fn(*args, **kwargs)
        finally:
            end, cpu = time.perf_counter(), time.thread_time() - cpu
            _emit(step, start, end, f"cpu={cpu:.6f} " + (detail(*args, **kwargs) if detail else ""))

    return wrapper


def _timed_async(step: str, fn: Callable[..., Any], detail: Callable[..., str] | None = None) -> Callable[..., Any]:
    @functools.wraps(fn)
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return await fn(*args, **kwargs)
        finally:
            _emit(step, start, time.perf_counter(), detail(*args, **kwargs) if detail else "")

    return wrapper


#: The steps written, in the order they happen for a first view.
STEPS = ("receive", "open", "read_plane", "stored_histogram", "stats", "counts", "mip", "encode", "write", "hop")


def install(path: str) -> None:
    """Open the trace file and wrap the traced steps (before the server starts)."""
    global _FD
    _FD = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)

    from carta_trio.actors import frame, frame_handlers, frame_pixels, image_histogram, session, workers, ws_batch
    from carta_trio.analysis import histograms
    from carta_trio.codecs import downsample
    from carta_trio.messages import registry

    def message_name(self: Any, data: bytes) -> str:
        try:
            return str(registry.decode_frame(data).message.DESCRIPTOR.name)
        except Exception:  # noqa: BLE001 - a bad frame is the server's business
            return "?"

    session.Session._dispatch = _timed_async("receive", session.Session._dispatch, message_name)  # type: ignore[method-assign]
    frame_handlers._open = _timed("open", frame_handlers._open)
    frame._shared_plane = _timed("read_plane", frame._shared_plane)
    image_histogram._stored_plane = _timed("stored_histogram", image_histogram._stored_plane)
    histograms.basic_stats = _timed("stats", histograms.basic_stats)
    histograms.bin_counts = _timed("counts", histograms.bin_counts)
    downsample.block_mean = _timed("mip", downsample.block_mean, lambda plane, mip, *a, **k: f"{mip}:{plane.shape[0]}")
    frame_pixels.encode_tile_frames = _timed(  # type: ignore[attr-defined]
        "encode", frame_pixels.encode_tile_frames, lambda *args, **k: str(len(args[2]))  # type: ignore[attr-defined]
    )

    original_writer = ws_batch.batch_writer

    def batch_writer(websocket: Any) -> Any:
        write = original_writer(websocket)
        if write is None:
            return None
        return _timed_async("write", write, lambda messages: f"{len(messages)}:{sum(len(m) for m in messages)}")

    ws_batch.batch_writer = batch_writer
    import carta_trio.actors.connection as connection

    connection.batch_writer = batch_writer  # type: ignore[attr-defined]

    original_run_sync = workers.run_sync

    async def run_sync(fn: Callable[..., Any], *args: object, owner: object = None) -> Any:
        start = time.perf_counter()
        try:
            return await original_run_sync(fn, *args, owner=owner)
        finally:
            name = getattr(fn, "__name__", None) or getattr(getattr(fn, "func", None), "__name__", "?")
            _emit("hop", start, time.perf_counter(), name)

    workers.run_sync = run_sync  # type: ignore[assignment]


def read_trace(path: str, since: float = 0.0) -> list[tuple[str, float, float, str, str]]:
    """The trace lines written so far that end after ``since``: (step, start, end, thread, detail)."""
    rows = []
    try:
        with open(path) as f:
            for line in f:
                parts = line.split(maxsplit=4)
                if len(parts) < 4:
                    continue
                row = (parts[0], float(parts[1]), float(parts[2]), parts[3], parts[4].strip() if len(parts) > 4 else "")
                if row[2] >= since:
                    rows.append(row)
    except FileNotFoundError:
        pass
    return rows


if __name__ == "__main__":
    trace = os.environ.get("CARTA_TRIO_TRACE")
    if trace:
        install(trace)
    from carta_trio.cli import main

    raise SystemExit(main())
