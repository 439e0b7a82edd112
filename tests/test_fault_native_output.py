"""Native libraries in the worker processes (casacore's log sink, cfitsio's error
reports) print straight to the file descriptors the server was given. When a launcher
pipes the server's output and stops reading it, those prints must be lost, not block
the worker inside a call (with it the job, and every session waiting for that job):
the long fuzz run with seed 11 wedged every session that way."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

NOISY = textwrap.dedent("""
    import os

    def spam(total):
        # writes as a C library does: straight to fd 2, errors ignored
        chunk = b"x" * 4095 + b"\\n"
        for _ in range(total // len(chunk)):
            try:
                os.write(2, chunk)
            except BlockingIOError:
                pass
        return "done"
""")

SERVER_LIKE = textwrap.dedent("""
    import os, sys
    read_end, write_end = os.pipe()
    os.dup2(write_end, 1)  # the server's output: a pipe nobody reads
    os.dup2(write_end, 2)
    from carta_trio.io import native_worker
    result = native_worker.run_once("noisy_native:spam", 1 << 20)
    with open(sys.argv[1], "w") as out:
        out.write(result)
""")


def test_worker_prints_never_block_on_an_unread_pipe(tmp_path: Path) -> None:
    (tmp_path / "noisy_native.py").write_text(NOISY)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(tmp_path), os.environ.get("PYTHONPATH")])))
    result = tmp_path / "result"
    proc = subprocess.Popen([sys.executable, "-c", SERVER_LIKE, str(result)], env=env, start_new_session=True,
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        raise AssertionError("the worker blocked writing 1 MiB to an unread pipe") from None
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)  # its forkserver and worker too, however it ended
        proc.wait()
    assert result.read_text() == "done"
