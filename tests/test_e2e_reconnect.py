"""End to end: the released frontend loses its connection and resumes its session (issue 12).

The frontend is loaded through a TCP relay (tests/tcp_relay.py). After it opened the cube and
made a moment image, the relay cuts every connection the way a lost network does (no WebSocket
close frame either way). The server keeps the session (``--reconnect_grace``, 60 s by default);
the frontend shows its "disconnected" dialog, the driver presses Retry, the frontend sends
REGISTER_VIEWER with its session id and gets it back RESUMED ("Network reconnected"), closes
its in-memory moment image itself and sends RESUME_SESSION for the cube, which the server
reopens on the reader it kept. The cube is drawn again.
"""

from __future__ import annotations

import json
import subprocess
import urllib.parse
from typing import Any

import pytest

from carta_trio.messages import schema as pb
from tests.e2e_session import (
    ARTIFACTS, CUBE_NAME, DRIVER_TIMEOUT, E2E_DIR, IMAGE_FOLDER, SERVER_START_TIMEOUT, STEP_TIMEOUT_MS,
    _start_server, frontend_build, make_data_folder, node_driver, step,
)
from tests.e2e_wire import decode_wire, select, sequence
from tests.tcp_relay import TcpRelay

pytestmark = pytest.mark.e2e

E = pb.EventType
OUT = ARTIFACTS.parent / "e2e-reconnect"


def plan_steps(cut_url: str) -> list[dict[str, Any]]:
    return [
        {"step": "boot"},
        {"step": "connect"},
        {"step": "open_image", "name": "open_cube", "via": "api", "folder": IMAGE_FOLDER, "file": CUBE_NAME},
        {"step": "moment", "region_id": -1},
        {"step": "reconnect", "cut_url": cut_url},
        {"step": "console", "always": True},
    ]


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Run the plan through the relay; ``{step name: result}`` plus the server log."""
    driver = node_driver()
    build = frontend_build()
    data = make_data_folder(tmp_path_factory.mktemp("e2e-reconnect-data"))
    OUT.mkdir(parents=True, exist_ok=True)
    results_path = OUT / "results.json"
    results_path.unlink(missing_ok=True)
    server = _start_server(build, data, tmp_path_factory.mktemp("e2e-reconnect-home"), OUT / "server.log")
    relay: TcpRelay | None = None
    try:
        url = urllib.parse.urlsplit(server.wait_for_url(SERVER_START_TIMEOUT))
        relay = TcpRelay(url.port or 80)
        relayed = url._replace(netloc=f"127.0.0.1:{relay.port}").geturl()
        plan = {"url": relayed, "results": str(results_path), "artifacts": str(OUT),
                "step_timeout_ms": STEP_TIMEOUT_MS,
                "steps": plan_steps(f"http://127.0.0.1:{relay.port}/__relay_cut__")}
        plan_path = OUT / "plan.json"
        plan_path.write_text(json.dumps(plan, indent=2))
        proc = subprocess.run(["node", str(driver), str(plan_path)], cwd=E2E_DIR, stdin=subprocess.DEVNULL,
                              capture_output=True, text=True, timeout=DRIVER_TIMEOUT, check=False)
    finally:
        if relay is not None:
            relay.close()
        server.stop()
    (OUT / "driver.log").write_text(proc.stdout + proc.stderr)
    if not results_path.exists():
        pytest.fail(f"e2e driver wrote no results (exit {proc.returncode}):\n{proc.stderr[-3000:]}")
    results = json.loads(results_path.read_text())
    if results.get("fatal"):
        pytest.fail(f"e2e driver could not run: {results['fatal']}")
    return {entry["step"]: entry for entry in results["steps"]} | {"_log": server.log_text()}


def test_the_frontend_resumes_its_kept_session(run: dict[str, Any]) -> None:
    moment = step(run, "moment")
    generated = [f["fileId"] for f in moment["frames"] if f["fileId"] >= 1000]
    assert [f["fileId"] for f in moment["frames"]][0] == 0 and len(generated) == 1
    data = step(run, "reconnect")
    before, after = data["before"], data["after"]
    assert any("disconnected from the server" in text for text in data["alerts"]), data["alerts"]
    messages = decode_wire(data["wire"])
    order = sequence(messages)
    register = select(messages, E.REGISTER_VIEWER, "sent")
    ack = select(messages, E.REGISTER_VIEWER_ACK, "recv")
    assert len(register) == 1 and register[0].message.session_id == before["sessionId"], order
    assert len(ack) == 1 and ack[0].req == register[0].req
    assert ack[0].message.session_type == pb.SessionType.RESUMED and ack[0].message.success
    assert ack[0].message.session_id == before["sessionId"]
    assert ack[0].message.message == f"Network reconnected with session id {before['sessionId']}"
    # the frontend closes its in-memory moment image itself, then resumes the cube
    closes = select(messages, E.CLOSE_FILE, "sent")
    resume = select(messages, E.RESUME_SESSION, "sent")
    assert [m.message.file_id for m in closes] == generated, order
    assert len(resume) == 1 and [image.file_id for image in resume[0].message.images] == [0]
    resume_ack = select(messages, E.RESUME_SESSION_ACK, "recv")
    assert len(resume_ack) == 1 and resume_ack[0].req == resume[0].req
    assert resume_ack[0].message.success, resume_ack[0].message.message
    histograms = [m for m in select(messages, E.REGION_HISTOGRAM_DATA, "recv") if m.message.file_id == 0]
    assert histograms and messages.index(histograms[0]) < messages.index(resume_ack[0]), order
    assert not select(messages, E.ERROR_DATA, "recv"), order
    assert after["sessionId"] == before["sessionId"] and after["connectionStatus"] == 2
    assert [f["fileId"] for f in after["files"]] == [0] and data["canvas"]["variance"] > 0
    assert data["alerts_after"] == []
    # the server kept the session through the drop and re-attached it; nothing ended it
    log = run["_log"]
    session_id = before["sessionId"]
    assert f"Session {session_id} [127.0.0.1] Disconnected; kept 60 s for a reconnect" in log, log[-3000:]
    assert f"Session {session_id} [127.0.0.1] Reconnected" in log
    assert log.index("Disconnected; kept") < log.index(f"Session {session_id} [127.0.0.1] Reconnected")
    assert f"Session {session_id} [127.0.0.1] Deleted" not in log.split("Reconnected", 1)[0]
