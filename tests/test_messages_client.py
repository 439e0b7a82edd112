"""CartaClient against a tiny scripted trio-websocket server on an ephemeral loopback port.

The server echoes every binary frame unchanged except a few scripted requests:
REGISTER_VIEWER (an ERROR_DATA stream first, then the ack echoing the id),
FILE_LIST_REQUEST (progress with the same id, a stream message, then the response),
and text frames: PING -> PONG, "close" -> closes the socket, "garbage" -> a 3-byte frame.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import trio
import trio_websocket

from carta_trio.messages import framing, registry
from carta_trio.messages import schema as pb
from carta_trio.messages.client import CartaClient, ProtocolViolation, open_client

E = pb.EventType


async def scripted_handler(request: trio_websocket.WebSocketRequest) -> None:
    ws = await request.accept()
    try:
        while True:
            data = await ws.get_message()
            if isinstance(data, str):
                if data == "PING":
                    await ws.send_message("PONG")
                elif data == "close":
                    await ws.aclose()
                    return
                elif data == "garbage":
                    await ws.send_message(b"\x01\x02\x03")
                continue
            envelope = registry.decode_frame(data)
            rid = envelope.request_id
            if envelope.event_type == E.REGISTER_VIEWER:
                await ws.send_message(registry.encode_frame(pb.ErrorData(message="hello"), 0))
                ack = pb.RegisterViewerAck(
                    session_id=envelope.message.session_id or 99, success=True
                )
                await ws.send_message(registry.encode_frame(ack, rid))
            elif envelope.event_type == E.FILE_LIST_REQUEST:
                await ws.send_message(registry.encode_frame(pb.ListProgress(percentage=0.5), rid))
                await ws.send_message(registry.encode_frame(pb.RasterTileSync(sync_id=4), 0))
                reply = pb.FileListResponse(success=True, directory=envelope.message.directory)
                await ws.send_message(registry.encode_frame(reply, rid))
            else:
                await ws.send_message(data)
    except trio_websocket.ConnectionClosed:
        pass


@pytest.fixture
async def url() -> AsyncIterator[str]:
    async with trio.open_nursery() as nursery:
        server = await nursery.start(
            trio_websocket.serve_websocket, scripted_handler, "127.0.0.1", 0, None
        )
        yield f"ws://127.0.0.1:{server.port}/"
        nursery.cancel_scope.cancel()


@pytest.fixture
async def client(url: str) -> AsyncIterator[CartaClient]:
    async with open_client(url) as connected:
        yield connected


async def test_register_returns_ack_and_keeps_earlier_stream(client: CartaClient) -> None:
    ack = await client.register(session_id=1234)
    assert isinstance(ack, pb.RegisterViewerAck)
    assert (ack.session_id, ack.success) == (1234, True)
    error = await client.receive()  # sent before the ack: buffered, not lost
    assert error.event_type == E.ERROR_DATA and error.message.message == "hello"
    assert client.buffered == []


async def test_request_ids_count_from_one(client: CartaClient) -> None:
    assert await client.send(pb.CloseFile(file_id=1)) == 1
    assert await client.send(pb.CloseFile(file_id=2)) == 2
    assert await client.send(pb.CloseFile(file_id=3), request_id=77) == 77
    assert await client.send(pb.CloseFile(file_id=4)) == 3
    seen = [await client.receive() for _ in range(4)]
    assert [e.request_id for e in seen] == [1, 2, 77, 3]
    assert [e.message.file_id for e in seen] == [1, 2, 3, 4]
    assert all(e.icd_version == 28 and e.event_type == E.CLOSE_FILE for e in seen)


async def test_request_skips_progress_with_same_id_and_buffers_in_order(
    client: CartaClient,
) -> None:
    response = await client.request(pb.FileListRequest(directory="sub"))
    assert isinstance(response, pb.FileListResponse)
    assert response.directory == "sub" and response.success
    rest = [await client.receive(), await client.receive()]
    assert [e.event_type for e in rest] == [E.FILE_LIST_PROGRESS, E.RASTER_TILE_SYNC]
    assert rest[0].request_id == 1 and rest[0].message.percentage == 0.5
    assert rest[1].request_id == 0


async def test_expect_by_class_or_value_keeps_the_rest(client: CartaClient) -> None:
    await client.send(pb.FileListRequest(directory="a"))
    sync = await client.expect(pb.RasterTileSync)
    assert sync.message.sync_id == 4
    response = await client.expect(E.FILE_LIST_RESPONSE)
    assert response.message.directory == "a"
    assert [e.event_type for e in client.buffered] == [E.FILE_LIST_PROGRESS]


async def test_collect_until(client: CartaClient) -> None:
    await client.send(pb.FileListRequest(directory="a"))
    got = await client.collect_until(lambda e: e.event_type == E.FILE_LIST_RESPONSE)
    assert [e.event_type for e in got] == [
        E.FILE_LIST_PROGRESS,
        E.RASTER_TILE_SYNC,
        E.FILE_LIST_RESPONSE,
    ]


async def test_collect_until_timeout_puts_messages_back(client: CartaClient) -> None:
    await client.send(pb.FileListRequest(directory="a"))
    await client.expect(E.FILE_LIST_RESPONSE)
    with pytest.raises(trio.TooSlowError):
        await client.collect_until(lambda e: False, timeout=0.2)
    assert [e.event_type for e in client.buffered] == [E.FILE_LIST_PROGRESS, E.RASTER_TILE_SYNC]


async def test_ping_uses_a_separate_text_queue(client: CartaClient) -> None:
    await client.send(pb.CloseFile(file_id=5))
    assert await client.ping() == "PONG"
    assert (await client.receive()).message.file_id == 5


async def test_timeouts(client: CartaClient) -> None:
    with pytest.raises(trio.TooSlowError):
        await client.receive(timeout=0.1)
    with pytest.raises(trio.TooSlowError):
        await client.expect(pb.RasterTileData, timeout=0.1)


async def test_send_with_other_icd_version_and_raw_frames(client: CartaClient) -> None:
    await client.send(pb.RegisterViewer(session_id=5), request_id=1, icd_version=27)
    ack = await client.expect(pb.RegisterViewerAck)
    assert ack.request_id == 1 and ack.icd_version == 28
    raw = framing.pack_frame(E.SET_CURSOR, 8, pb.SetCursor(file_id=2), icd_version=3)
    await client.send_raw(raw)
    echoed = await client.expect(E.SET_CURSOR)
    assert (echoed.icd_version, echoed.request_id, echoed.message.file_id) == (3, 8, 2)


async def test_request_refuses_messages_without_reply(client: CartaClient) -> None:
    with pytest.raises(ValueError, match="CloseFile has no reply"):
        await client.request(pb.CloseFile(file_id=1))


async def test_server_close_after_buffered_messages(client: CartaClient) -> None:
    await client.send(pb.CloseFile(file_id=6))
    await client.send_raw("close")
    with trio.fail_after(5):
        while not client.closed:
            await trio.sleep(0.01)
    assert (await client.receive()).message.file_id == 6  # still delivered after close
    with pytest.raises(trio_websocket.ConnectionClosed):
        await client.receive(timeout=1)


async def test_undecodable_frame_from_server_fails_loudly(client: CartaClient) -> None:
    await client.send_raw("garbage")
    with pytest.raises(ProtocolViolation, match="shorter than the 8-byte header"):
        await client.receive(timeout=5)


async def test_body_exception_propagates_unwrapped(url: str) -> None:
    with pytest.raises(KeyError, match="boom"):
        async with open_client(url) as connected:
            await connected.ping()
            raise KeyError("boom")


async def test_outer_cancellation_ends_a_wait_without_timeout(client: CartaClient) -> None:
    with trio.move_on_after(0.1) as scope:
        await client.receive(timeout=None)
    assert scope.cancelled_caught
    assert await client.ping() == "PONG"  # the client is still usable


async def test_connect_errors_are_plain() -> None:
    listener = (await trio.open_tcp_listeners(0, host="127.0.0.1"))[0]
    port = listener.socket.getsockname()[1]
    await listener.aclose()  # nothing listens on this port any more
    with pytest.raises(OSError):
        async with open_client(f"ws://127.0.0.1:{port}/"):
            pass  # pragma: no cover
    with pytest.raises(ValueError, match="not a WebSocket URL"):
        async with open_client("http://127.0.0.1:1/"):
            pass  # pragma: no cover
