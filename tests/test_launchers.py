"""carta-trio started exactly as the programs that start carta_backend do.

* The CARTA desktop app (carta-package ``main.js`` + ``carta-backend/bin/run.sh``):
  ``CARTA_AUTH_TOKEN=<uuid> carta_backend <base> --port=<port> --frontend_folder=<dir>
  --no_browser [extra --name=value ...] --enable_scripting``; the window then loads
  ``index.html?socketUrl=ws://localhost:<port>&token=<uuid>``. ``--version`` and
  ``--help`` are run and their stdout printed as is.
* carta-controller v1.4.1 (``src/serverHandlers.ts``): ``sudo --preserve-env=CARTA_AUTH_TOKEN
  -u <user> <processCommand> -port <port> -root <root> -base <base> [additionalArgs]`` with
  an environment holding only ``CARTA_AUTH_TOKEN``; after ``startDelay`` (default 250 ms) the
  process must still run, then the WebSocket is proxied with a ``carta-auth-token`` header.
* carta-controller 4.x (same file, later): ``<processCommand> --no_frontend --no_database
  --port <port> --top_level_folder <root> --controller_deployment [--no_log] [additional]
  <base>``; its self-test connects to ``ws://localhost:<port>`` 2 s after the spawn.

The ready signal all of them can see is the reference's ``Listening on port <port>`` log line.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import trio

from carta_trio.messages import schema as pb
from carta_trio.messages.client import open_client

PROGRAM = shutil.which("carta-trio", path=os.path.dirname(sys.executable)) or shutil.which("carta-trio")


def _command() -> list[str]:
    # the console script when installed (as launchers run it), else the module
    return [PROGRAM] if PROGRAM else [sys.executable, "-m", "carta_trio"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Started:
    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        self.started = time.monotonic()
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
        self.lines: list[str] = []
        self.ready = threading.Event()
        self.ready_after: float | None = None
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))
            if "Listening on port" in line and not self.ready.is_set():
                self.ready_after = time.monotonic() - self.started
                self.ready.set()

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        if self.proc.stdout:
            self.proc.stdout.close()


async def _browse(url: str, headers: list[tuple[bytes, bytes]] | None = None) -> pb.FileListResponse:
    async with open_client(url, extra_headers=headers, connect_timeout=60) as client:
        ack = await client.register(timeout=60)
        assert ack.success, ack.message
        return await client.request(pb.FileListRequest(directory="$BASE"), timeout=60)


def test_desktop_launcher_command_line(tmp_path: Path) -> None:
    base = tmp_path / "data"
    base.mkdir()
    (base / "visible.fits").write_bytes(b"SIMPLE  =                    T" + b" " * 2850)
    frontend = tmp_path / "frontend"
    frontend.mkdir()
    (frontend / "index.html").write_text("<html></html>")
    token, port = str(uuid.uuid4()), _free_port()
    env = dict(os.environ, CARTA_AUTH_TOKEN=token, HOME=str(tmp_path))
    run = Started(_command() + [str(base), f"--port={port}", f"--frontend_folder={frontend}", "--no_browser",
                                "--no_log", "--enable_scripting"], env)
    try:
        assert run.ready.wait(60), run.lines
        listing = trio.run(_browse, f"ws://localhost:{port}/?token={token}")
        assert listing.success and listing.directory == str(base).lstrip("/")
        assert "visible.fits" in [f.name for f in listing.files]
        assert any(f"Listening on port {port}" in line for line in run.lines)
        assert run.proc.poll() is None
    finally:
        run.stop()


def test_desktop_launcher_version_and_help_pass_through() -> None:
    version = subprocess.run(_command() + ["--version"], capture_output=True, text=True, timeout=60)
    assert version.returncode == 0 and version.stderr == ""
    lines = version.stdout.splitlines()
    assert len(lines) == 1
    assert re.fullmatch(r"carta-trio \d+\.\d+\.\d+\S* \(CARTA backend 4\.1\.0 compatible, ICD 28\)", lines[0])
    usage = subprocess.run(_command() + ["--help"], capture_output=True, text=True, timeout=60)
    assert usage.returncode == 0 and "--top_level_folder" in usage.stdout


def test_carta_controller_1_4_1_command_line(tmp_path: Path) -> None:
    root = tmp_path / "home" / "alice"
    root.mkdir(parents=True)
    (root / "mine.fits").write_bytes(b"SIMPLE  =                    T" + b" " * 2850)
    token, port = str(uuid.uuid4()), _free_port()
    # sudo --preserve-env=CARTA_AUTH_TOKEN: the controller passes nothing else
    run = Started(_command() + ["-port", str(port), "-root", str(root), "-base", str(root)],
                  {"CARTA_AUTH_TOKEN": token})
    try:
        time.sleep(0.25)  # startDelay
        assert run.proc.poll() is None, run.lines
        assert run.ready.wait(60), run.lines
        listing = trio.run(_browse, f"ws://localhost:{port}/", [(b"carta-auth-token", token.encode())])
        assert listing.success and listing.directory in ("", ".")
        assert "mine.fits" in [f.name for f in listing.files]
        assert run.proc.poll() is None
    finally:
        run.stop()
    assert not any("Traceback" in line for line in run.lines), run.lines


def test_carta_controller_4_command_line(tmp_path: Path) -> None:
    root = tmp_path / "home" / "bob"
    (root / "work").mkdir(parents=True)
    token, port = str(uuid.uuid4()), _free_port()
    run = Started(_command() + ["--no_frontend", "--no_database", "--port", str(port), "--top_level_folder",
                                str(root), "--controller_deployment", "--no_log", str(root / "work")],
                  {"CARTA_AUTH_TOKEN": token})
    try:
        assert run.ready.wait(60), run.lines
        listing = trio.run(_browse, f"ws://localhost:{port}/", [(b"carta-auth-token", token.encode())])
        assert listing.success and listing.directory == "work"
        # the controller's self-test waits 2 s, then gives the connection 1 s (on an idle
        # machine we listen after ~0.6 s; the budget grows with the load of a shared CI box)
        load = max(1.0, os.getloadavg()[0] / (os.cpu_count() or 1))
        assert run.ready_after is not None and run.ready_after < 3.0 * load, (run.ready_after, load)
    finally:
        run.stop()
