"""Connection cap, register timeout and body limits (issue 11 D12, D15)."""

from __future__ import annotations

import logging

import pytest
import trio
import trio_websocket

from carta_trio import limits
from carta_trio.actors import connection_gate
from carta_trio.messages import framing
from carta_trio.messages import schema as pb
from carta_trio.messages.client import open_client
from tests.conftest import TEST_TOKEN, server_url


async def http(port: int, request: bytes, body_size: int = 0) -> bytes:
    """Send a raw HTTP request (and ``body_size`` zero bytes of body); the status line."""
    stream = await trio.open_tcp_stream("127.0.0.1", port)
    async with stream:
        await stream.send_all(request)
        sent = 0
        chunk = bytes(1 << 20)
        with trio.move_on_after(10):
            while sent < body_size:
                try:
                    await stream.send_all(chunk[: min(len(chunk), body_size - sent)])
                except (trio.BrokenResourceError, trio.ClosedResourceError):
                    break
                sent += len(chunk)
        data = b""
        with trio.fail_after(10):
            while b"\r\n" not in data:
                more = await stream.receive_some(4096)
                if not more:
                    break
                data += more
    return data.split(b"\r\n", 1)[0]


async def test_d12_connections_beyond_the_cap_are_refused_gracefully(start_server, monkeypatch) -> None:
    monkeypatch.setattr(limits, "MAX_CONNECTIONS", 2)
    handle = await start_server()
    async with open_client(server_url(handle)) as first, open_client(server_url(handle)) as second:
        assert (await first.register()).success and (await second.register()).success
        async with open_client(server_url(handle)) as third:
            with pytest.raises(trio_websocket.ConnectionClosed) as closed:
                await third.register()
            assert closed.value.reason.code == 1013
        status = await http(handle.port, b"GET /config HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        assert status == b"HTTP/1.1 503 "
        assert await first.ping() == "PONG"
    # the slots are free again
    async with open_client(server_url(handle)) as again:
        assert (await again.register()).success


async def test_d12_connection_that_never_registers_is_closed(start_server, monkeypatch) -> None:
    monkeypatch.setattr(limits, "REGISTER_TIMEOUT", 0.5)
    handle = await start_server()
    async with open_client(server_url(handle)) as registered:
        assert (await registered.register()).success
        async with open_client(server_url(handle)) as silent:
            with pytest.raises(trio_websocket.ConnectionClosed) as closed:
                await silent.receive(timeout=5)
            assert closed.value.reason.code == 1008
        await trio.sleep(0.6)
        assert await registered.ping() == "PONG"
        assert len(handle.manager.sessions) == 1


def test_d12_file_limit_raised_and_cap_bounded_by_it() -> None:
    import resource

    before, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    soft = connection_gate.raise_file_limit()
    assert soft >= before
    assert connection_gate.connection_cap(1024) == 512
    assert connection_gate.connection_cap(10**6) == limits.MAX_CONNECTIONS
    _ = hard


def test_d12_accept_failures_logged_once_a_second_without_traceback(caplog: pytest.LogCaptureFixture) -> None:
    connection_gate.quiet_accept_errors()
    logger = logging.getLogger("trio.serve_listeners")
    with caplog.at_level(logging.ERROR, logger="trio.serve_listeners"):
        for _ in range(50):
            try:
                raise OSError(24, "Too many open files")
            except OSError:
                logger.error("accept returned %s (%s); retrying in %s seconds", "EMFILE", "Too many", 0.1,
                             exc_info=True)
    records = [r for r in caplog.records if r.name == "trio.serve_listeners"]
    assert len(records) <= 1 and all(r.exc_info is None for r in records)


async def test_d15_http_body_over_the_limit_refused(start_server) -> None:
    handle = await start_server()
    size = limits.MAX_HTTP_BODY_BYTES + (4 << 20)
    head = (f"PUT /api/database/preferences HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TEST_TOKEN}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {size}\r\nConnection: close\r\n\r\n").encode()
    status = await http(handle.port, head, size)
    assert status == b"HTTP/1.1 413 "


async def test_d15_websocket_message_over_the_limit_closes_that_connection(start_server) -> None:
    handle = await start_server()
    async with open_client(server_url(handle)) as other:
        async with open_client(server_url(handle)) as client:
            big = framing.pack_frame(pb.EventType.REGISTER_VIEWER, 1, None) + bytes(limits.MAX_WEBSOCKET_MESSAGE_BYTES)
            await client.send_raw(big)
            with pytest.raises(trio_websocket.ConnectionClosed) as closed:
                await client.receive(timeout=20)
            assert closed.value.reason.code == 1009
        assert (await other.register()).success
