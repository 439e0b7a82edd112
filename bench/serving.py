"""Shared helpers for benchmarks that go through a real server socket."""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import functools
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

import trio

from carta_trio.actors.server import ServerHandle, serve
from carta_trio.settings import Settings

TOKEN = "bench-token"


@contextlib.asynccontextmanager
async def running_server(top: Path, **overrides: object) -> AsyncIterator[str]:
    """Start a real server on a loopback ephemeral port browsing ``top``; yield its URL."""
    with tempfile.TemporaryDirectory() as home:
        settings = Settings(
            top_level_folder=top.resolve(), starting_folder=top.resolve(), host="127.0.0.1", ports=(0,),
            port_fixed=True, no_browser=True, auth_token=TOKEN, user_folder=Path(home) / ".carta",
        )
        settings = dataclasses.replace(settings, **overrides)
        async with trio.open_nursery() as nursery:
            handle: ServerHandle = await nursery.start(functools.partial(serve, settings))
            try:
                yield f"ws://127.0.0.1:{handle.port}/?token={TOKEN}"
            finally:
                handle.shutdown.set()


@contextlib.asynccontextmanager
async def server_process(
    top: Path,
    *extra: str,
    pids: list[int] | None = None,
    trace: Path | None = None,
    memory_limit: int | None = None,
    output: Path | None = None,
) -> AsyncIterator[str]:
    """Run ``python3 -m carta_trio`` in its own process (so the benchmark client does
    not share the server's GIL); yield its WebSocket URL; stop it with SIGINT.
    ``pids`` (if given) receives the server's process id, for CPU accounting; with
    ``trace`` the server runs under :mod:`bench.traced_server`, writing its timeline there.
    ``memory_limit`` (bytes) caps the server's address space (``RLIMIT_AS``, inherited by
    its worker processes): an unbounded allocation then fails as a MemoryError in the
    server's output instead of bringing in the kernel's OOM killer on a shared machine.
    ``output`` (a file) receives every line the server prints."""
    import os
    import re
    import signal
    import subprocess
    import sys

    env = dict(os.environ, CARTA_AUTH_TOKEN=TOKEN)
    module = "carta_trio"
    if trace is not None:
        env["CARTA_TRIO_TRACE"] = str(trace)
        module = "bench.traced_server"
    with tempfile.TemporaryDirectory() as home:
        env["HOME"] = home
        proc = subprocess.Popen(
            [sys.executable, "-m", module, "--no_browser", "--no_frontend", "--host", "127.0.0.1",
             "--port", "0", "--top_level_folder", str(top), "--no_log", *extra],
            # errors="replace": cfitsio wraps long file names mid UTF-8 sequence; a strict
            # decode ended the thread draining this pipe, and the server's native workers
            # then blocked writing to it (the fuzz run with seed 11 wedged on it).
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, text=True, errors="replace",
            preexec_fn=None if memory_limit is None else functools.partial(_limit_memory, memory_limit),
        )
        if pids is not None:
            pids.append(proc.pid)
        try:
            port = None
            assert proc.stdout is not None
            while port is None:
                line = await trio.to_thread.run_sync(proc.stdout.readline)
                if not line:
                    raise RuntimeError("server exited before listening")
                match = re.search(r"Listening on port (\d+)", line)
                if match:
                    port = int(match.group(1))
            # Keep reading the server's output: a full pipe blocks the server's log
            # writes, and with them its event loop (the long fuzz run wedged on it).
            import threading

            threading.Thread(target=_discard_lines, args=(proc.stdout, output), daemon=True).start()
            url = f"ws://127.0.0.1:{port}/?token={TOKEN}"
            # The heavy imports run after the port is announced (seconds on a busy machine):
            # one registered session proves the server is ready before anything is timed.
            from carta_trio.messages.client import open_client

            async with open_client(url, connect_timeout=120) as client:
                await client.register()
            yield url
        finally:
            proc.send_signal(signal.SIGINT)
            try:
                await trio.to_thread.run_sync(proc.wait, 10)
            except subprocess.TimeoutExpired:
                proc.kill()
            if proc.stdout is not None:
                proc.stdout.close()


#: The server process's last output lines (for a post-mortem when it died).
LAST_OUTPUT: collections.deque[str] = collections.deque(maxlen=200)


def _limit_memory(limit: int) -> None:
    """In the server's child process before exec: cap its address space at ``limit`` bytes."""
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def _discard_lines(stream, output: Path | None = None) -> None:  # type: ignore[no-untyped-def]
    """Read a pipe to its end (in a thread), keeping the last lines in LAST_OUTPUT
    (and every line in ``output``, if given)."""
    sink = open(output, "a", encoding="utf-8") if output is not None else None  # noqa: SIM115
    try:
        for line in stream:
            LAST_OUTPUT.append(line.rstrip("\n"))
            if sink is not None:
                sink.write(line)
                sink.flush()
    except (OSError, ValueError) as exc:
        # Said aloud: a silent end here once left the server blocked on a full pipe.
        import sys

        print(f"bench: stopped draining the server's output: {exc!r}"[:300], file=sys.stderr, flush=True)
    finally:
        if sink is not None:
            sink.close()


def process_cpu_seconds(pid: int | None = None) -> float:
    """User + system CPU seconds of a process (this one by default), all threads."""
    import os

    if pid is None:
        times = os.times()
        return times.user + times.system
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def load_average() -> str:
    """The 1-minute load average and the core count, for the record of a noisy run."""
    import os

    return f"load {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"

