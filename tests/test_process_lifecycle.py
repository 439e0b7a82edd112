"""The carta-trio process: start-up lines, signals and the reference's timeouts."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest


def start(tmp_path: Path, *args: str) -> subprocess.Popen[str]:
    env = dict(os.environ, HOME=str(tmp_path), CARTA_AUTH_TOKEN="tok")
    return subprocess.Popen(
        [sys.executable, "-m", "carta_trio", "--no_browser", "--no_frontend", "--host", "127.0.0.1",
         "--port", "0", "--top_level_folder", str(tmp_path), "--no_log", *args],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
    )


def read_until(proc: subprocess.Popen[str], pattern: str, timeout: float = 30) -> list[str]:
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line.rstrip("\n"))
        if re.search(pattern, line):
            return lines
    raise AssertionError(f"{pattern!r} not seen in {lines}")


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_signals_shut_down_cleanly(tmp_path: Path, sig: signal.Signals) -> None:
    proc = start(tmp_path)
    try:
        lines = read_until(proc, r"Listening on port \d+")
        assert re.search(r"\[CARTA\] \[info\] .*: Version 4\.1\.0$", lines[0])
        time.sleep(1.0)  # let it finish importing and serve
        proc.send_signal(sig)
        assert proc.wait(timeout=20) == 0
        rest = proc.stdout.read() if proc.stdout else ""
        assert "Exiting backend." in rest
    finally:
        proc.kill()
        if proc.stdout:
            proc.stdout.close()


def test_initial_timeout_exits_when_nobody_connects(tmp_path: Path) -> None:
    proc = start(tmp_path, "--initial_timeout", "1")
    try:
        assert proc.wait(timeout=30) == 0
        assert "No sessions timeout." in (proc.stdout.read() if proc.stdout else "")
    finally:
        proc.kill()
        if proc.stdout:
            proc.stdout.close()


def test_busy_fixed_port_is_reported(tmp_path: Path) -> None:
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        env = dict(os.environ, HOME=str(tmp_path))
        result = subprocess.run(
            [sys.executable, "-m", "carta_trio", "--no_browser", "--host", "127.0.0.1", "--port", str(port),
             "--top_level_folder", str(tmp_path), "--no_log"],
            capture_output=True, text=True, env=env, timeout=30,
        )
    assert result.returncode == 1
    assert f"Could not listen on port {port}!" in result.stdout
