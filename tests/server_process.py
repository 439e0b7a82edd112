"""A carta-trio server in its own process, for fault tests whose failure mode on a
broken build is the death of the process (SIGBUS, SIGSEGV, SIGABRT): the test
survives and sees the exit instead."""

from __future__ import annotations

import contextlib
import functools
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

TOKEN = "fault-token-0123456789"


@dataclass
class ServerProcess:
    proc: subprocess.Popen[str]
    port: int
    lines: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/?token={TOKEN}"

    def alive(self) -> bool:
        return self.proc.poll() is None

    def output(self) -> str:
        return "\n".join(self.lines)


def _limit_memory(limit: int) -> None:
    """In the child before exec: cap its address space at ``limit`` bytes."""
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


@contextlib.contextmanager
def server_process(
    top: Path, *args: str, home: Path | None = None, memory_limit: int | None = None
) -> Iterator[ServerProcess]:
    """Start ``python -m carta_trio`` serving ``top``; yields once it listens.

    ``memory_limit`` (bytes) caps the server's address space (``RLIMIT_AS``): a test of
    an unbounded allocation then sees a MemoryError in the output, or a refusal, and
    never the machine's OOM killer."""
    env = dict(os.environ, HOME=str(home or top.parent), CARTA_AUTH_TOKEN=TOKEN)
    proc = subprocess.Popen(
        [sys.executable, "-m", "carta_trio", "--no_browser", "--no_frontend", "--host", "127.0.0.1",
         "--port", "0", "--top_level_folder", str(top), "--no_log", *args],
        # errors="replace": native libraries may print broken UTF-8 (cfitsio wraps long
        # names mid-character); a strict decode would end the drain and block the server.
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace", env=env,
        preexec_fn=None if memory_limit is None else functools.partial(_limit_memory, memory_limit),
    )
    lines: list[str] = []
    port = None
    deadline = time.monotonic() + 60
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line.rstrip("\n"))
        found = re.search(r"Listening on port (\d+)", line)
        if found:
            port = int(found.group(1))
            break
    if port is None:
        proc.kill()
        raise AssertionError("server did not start:\n" + "\n".join(lines))
    server = ServerProcess(proc, port, lines)

    def drain() -> None:
        for line in proc.stdout:  # type: ignore[union-attr]
            lines.append(line.rstrip("\n"))

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    try:
        yield server
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        reader.join(timeout=5)
        proc.stdout.close()
