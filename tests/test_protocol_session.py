"""Session lifecycle through the real server socket (BEHAVIOUR.md §3, GOLDEN.md §7)."""

from __future__ import annotations

import gc
import struct

import pytest
import trio
import trio_websocket

from carta_trio.actors import dispatch
from carta_trio.messages import framing
from carta_trio.messages import schema as pb
from carta_trio.messages.client import open_client
from tests.conftest import server_url


async def test_register_new_session(carta_url: str) -> None:
    async with open_client(carta_url) as client:
        ack = await client.register()
    assert ack.success
    assert ack.session_type == pb.SessionType.NEW
    assert 0 < ack.session_id < 2**32
    assert ack.message == f"Start a new frontend and assign it with session id {ack.session_id}"
    assert ack.server_feature_flags == 0
    assert set(ack.platform_strings) == {"release_info", "platform", "deployment", "architecture"}
    assert ack.platform_strings["deployment"] == "unknown"


async def test_register_echoes_request_id_and_icd_version(carta_url: str) -> None:
    async with open_client(carta_url) as client:
        await client.send_raw(framing.pack_frame(pb.EventType.REGISTER_VIEWER, 77, pb.RegisterViewer()))
        envelope = await client.expect(pb.EventType.REGISTER_VIEWER_ACK)
    assert envelope.request_id == 77
    assert envelope.icd_version == 28


async def test_register_known_session_is_resumed(carta_url: str) -> None:
    async with open_client(carta_url) as client:
        ack = await client.register(9999)
        again = await client.register(9999)
    assert (ack.success, ack.session_id, ack.session_type) == (True, 9999, pb.SessionType.RESUMED)
    assert ack.message == "Start a new backend and assign it with session id 9999"
    assert again.message == "Network reconnected with session id 9999"


async def test_feature_flags_and_platform_strings(start_server, monkeypatch) -> None:
    monkeypatch.setenv("CARTA_DOCKER_DEPLOYMENT", "")
    handle = await start_server(read_only=True, enable_scripting=True, controller_deployment=True)
    async with open_client(server_url(handle)) as client:
        ack = await client.register()
    assert ack.server_feature_flags == 72
    assert ack.platform_strings["controller_deployment"] == "true"
    assert ack.platform_strings["docker_deployment"] == "true"


async def test_icd_version_mismatch_keeps_connection(carta_url: str) -> None:
    frame = bytearray(framing.pack_frame(pb.EventType.REGISTER_VIEWER, 5, pb.RegisterViewer(session_id=1234)))
    frame[2:4] = struct.pack("<H", 27)
    async with open_client(carta_url) as client:
        await client.send_raw(bytes(frame))
        envelope = await client.expect(pb.EventType.REGISTER_VIEWER_ACK)
        ack = envelope.message
        assert envelope.request_id == 5 and envelope.icd_version == 28
        assert not ack.success
        assert ack.session_id == 1234
        assert ack.message == "Invalid ICD version number. Expected 28, got 27"
        assert (await client.register()).success


async def test_ping_pong(carta_url: str) -> None:
    async with open_client(carta_url) as client:
        assert await client.ping() == "PONG"
        await client.send_raw("HELLO")  # other text is ignored
        assert await client.ping() == "PONG"


@pytest.mark.parametrize(
    "raw, expected",
    [
        (framing.pack_frame(9999, 3, None), "Bad event type 9999"),
        (struct.pack("<HHI", pb.EventType.FILE_LIST_REQUEST, 28, 4) + b"\xff\xff\xff\xff", "does not parse"),
        (struct.pack("<HHI", pb.EventType.REGISTER_VIEWER_ACK, 28, 4), "not handled"),
    ],
)
async def test_bad_frames_get_error_data_and_session_survives(carta_url: str, raw: bytes, expected: str) -> None:
    async with open_client(carta_url) as client:
        await client.send_raw(raw)
        error = (await client.expect(pb.ErrorData)).message
        assert expected in error.message
        assert error.severity == pb.ErrorSeverity.WARNING
        assert (await client.register()).success


async def test_truncated_frame_is_ignored(carta_url: str) -> None:
    async with open_client(carta_url) as client:
        await client.send_raw(b"\x01\x00\x1c")
        ack = await client.register()
        assert ack.success
        assert not [e for e in client.buffered if e.event_type == pb.EventType.ERROR_DATA]


async def test_failing_handler_is_reported_and_session_keeps_serving(carta_url: str) -> None:
    async def broken(session, request_id, message):
        raise RuntimeError("injected failure")

    with dispatch.replaced_handler(pb.EventType.REGISTER_VIEWER, broken, response=pb.RegisterViewerAck):
        async with open_client(carta_url) as client:
            ack = await client.register()
            assert not ack.success
            assert "injected failure" in ack.message
            assert await client.ping() == "PONG"
    with dispatch.replaced_handler(pb.EventType.STOP_FILE_LIST, broken, concurrent=True):
        async with open_client(carta_url) as client:
            assert (await client.register()).success
            await client.send(pb.StopFileList())
            error = (await client.expect(pb.ErrorData)).message
            assert "injected failure" in error.message
            assert error.severity == pb.ErrorSeverity.ERROR
            assert await client.ping() == "PONG"


async def test_wrong_token_is_refused(carta_server) -> None:
    with pytest.raises(trio_websocket.HandshakeError):
        async with open_client(server_url(carta_server, token="wrong")):
            pass
    async with open_client(server_url(carta_server)) as client:
        assert (await client.register()).success


async def test_message_over_the_size_cap_closes_only_that_connection(start_server) -> None:
    handle = await start_server(max_message_size=1024 * 1024)
    async with open_client(server_url(handle)) as other:
        async with open_client(server_url(handle)) as client:
            await client.send_raw(framing.pack_frame(pb.EventType.REGISTER_VIEWER, 1, None) + bytes(2 * 1024 * 1024))
            with pytest.raises(trio_websocket.ConnectionClosed) as closed:
                await client.receive(timeout=5)
            assert closed.value.reason.code == 1009
        assert (await other.register()).success


async def test_idle_timeout_disconnects_on_ping(start_server) -> None:
    handle = await start_server(idle_timeout=0.3)
    async with open_client(server_url(handle)) as client:
        assert (await client.register()).success
        assert await client.ping() == "PONG"
        await trio.sleep(0.4)
        await client.send_raw("PING")
        with pytest.raises(trio_websocket.ConnectionClosed):
            await client.receive_text(timeout=5)


async def test_hundred_connections_leave_nothing_behind(carta_server) -> None:
    url = server_url(carta_server)
    root = trio.lowlevel.current_root_task()

    def task_count(task: trio.lowlevel.Task = root) -> int:
        return 1 + sum(task_count(child) for nursery in task.child_nurseries for child in nursery.child_tasks)

    async with open_client(url) as client:
        await client.register()
    await trio.testing.wait_all_tasks_blocked()
    baseline = task_count()
    for _ in range(100):
        async with open_client(url) as client:
            await client.register()
    with trio.fail_after(5):
        while carta_server.manager.sessions:
            await trio.sleep(0.01)
    # Connection tasks finish their closing handshakes shortly after the sessions go;
    # a leak would leave about a hundred tasks (or more) behind for good.
    with trio.move_on_after(5):
        while task_count() > baseline:
            await trio.sleep(0.05)
    gc.collect()
    assert carta_server.manager.sessions == {}
    assert task_count() <= baseline


async def test_slow_reader_keeps_memory_bounded(start_server) -> None:
    handle = await start_server(outbound_queue=8)
    produced = 0
    total = 400
    payload = pb.ErrorData(message="x" * 256 * 1024)

    async def flood(session, request_id, message):
        nonlocal produced
        for _ in range(total):
            await session.send_stream(payload)
            produced += 1

    with dispatch.replaced_handler(pb.EventType.STOP_FILE_LIST, flood, concurrent=True):
        # trio-websocket stops reading the socket while its one-slot queue is full.
        async with trio_websocket.open_websocket_url(
            server_url(handle), max_message_size=2**20, message_queue_size=1
        ) as ws:
            await ws.send_message(framing.pack_frame(pb.EventType.STOP_FILE_LIST, 1, pb.StopFileList()))
            await trio.sleep(1.0)
            # 400 x 256 KiB = 100 MiB would be queued if nothing pushed back.
            held_back = produced
            assert held_back < total // 2
            for _ in range(total):
                with trio.fail_after(10):
                    await ws.get_message()
    assert held_back < total
    assert produced == total


async def test_request_before_register_is_served_with_a_debug_notice(carta_url: str) -> None:
    async with open_client(carta_url) as client:
        assert await client.ping() == "PONG"
        response = await client.request(pb.FileListRequest(directory=""))
        assert response.success
        notice = (await client.expect(pb.ErrorData)).message
        assert notice.severity == pb.ErrorSeverity.DEBUG and "before REGISTER_VIEWER" in notice.message
        assert (await client.register()).success
        await client.request(pb.FileListRequest(directory=""))
        assert not [e for e in client.buffered if e.event_type == pb.EventType.ERROR_DATA]
