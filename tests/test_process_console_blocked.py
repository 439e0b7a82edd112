"""A launcher that pipes carta-trio's standard output and stops reading it must not
freeze the server: log lines go out through a bounded queue written by a thread, the
overflow is dropped and counted, and the session keeps answering."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import trio

from carta_trio.messages import framing
from carta_trio.messages.client import open_client

TOKEN = "console-token-0123456789"


async def test_an_unread_stdout_pipe_does_not_freeze_the_server(tmp_path: Path) -> None:
    env = dict(os.environ, HOME=str(tmp_path), CARTA_AUTH_TOKEN=TOKEN)
    proc = subprocess.Popen(
        [sys.executable, "-m", "carta_trio", "--no_browser", "--no_frontend", "--host", "127.0.0.1",
         "--port", "0", "--top_level_folder", str(tmp_path), "--no_log"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env,
    )
    assert proc.stdout is not None
    try:
        port = None
        with trio.fail_after(60):
            while port is None:
                line = await trio.to_thread.run_sync(proc.stdout.readline)
                assert line, "server exited"
                found = re.search(rb"Listening on port (\d+)", line)
                port = int(found.group(1)) if found else None
        # From here on nobody reads the pipe (64 KiB on Linux): each bad message logs a line.
        async with open_client(f"ws://127.0.0.1:{port}/?token={TOKEN}") as client:
            await client.register()
            bad = framing.pack_frame(9999, 3, None)
            for _ in range(12_500):  # more than the console queue holds
                await client.send_raw(bad)
            with trio.fail_after(20):
                assert await client.ping()
        assert proc.poll() is None
        # Once the pipe is read again, the dropped lines are counted there.
        proc.terminate()
        output = await trio.to_thread.run_sync(proc.stdout.read)
        assert re.search(rb"\[warning\] \d+ log lines dropped: standard output was not being read", output)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        proc.stdout.close()
