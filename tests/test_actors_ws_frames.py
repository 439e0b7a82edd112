"""Binary WebSocket frames written by ws_batch itself are the bytes wsproto would write.

The batching writer frames binary messages (tiles) without wsproto's copies; the
frames must be exactly wsproto's for every payload length class (7-bit, 16-bit and
64-bit lengths), mixed with text messages, and whenever wsproto's state says a
message is framed differently (closing, an extension, a client connection) the
batch must go through wsproto.
"""

from __future__ import annotations

import pytest
from wsproto import ConnectionType, WSConnection
from wsproto.connection import Connection
from wsproto.events import BytesMessage, CloseConnection, Request, TextMessage

from carta_trio.actors import ws_batch

SIZES = [0, 1, 8, 125, 126, 127, 1000, 65535, 65536, 65537, 300_000]


def server_connection() -> Connection:
    return Connection(ConnectionType.SERVER)


def wsproto_bytes(messages: list[bytes | str]) -> bytes:
    reference = server_connection()
    return b"".join(
        reference.send(TextMessage(data=m) if isinstance(m, str) else BytesMessage(data=m)) for m in messages
    )


@pytest.mark.parametrize("size", SIZES)
def test_a_binary_frame_is_wsprotos(size: int) -> None:
    payload = bytes(range(256)) * (size // 256) + bytes(size % 256)
    connection = server_connection()
    assert ws_batch.frames_plainly(connection)
    assert ws_batch.frame_messages(connection, [payload]) == wsproto_bytes([payload])


def test_a_batch_of_tiles_syncs_and_pongs_is_wsprotos() -> None:
    messages: list[bytes | str] = []
    for size in SIZES:
        messages += [b"\x07" * size, "PONG", b"sync"]
    connection = server_connection()
    assert ws_batch.frame_messages(connection, messages) == wsproto_bytes(messages)
    # and the connection can still frame through wsproto afterwards (no state left behind)
    assert connection.send(BytesMessage(data=b"x")) == wsproto_bytes([b"x"])


def test_wsproto_frames_when_its_state_is_not_plain() -> None:
    closing = server_connection()
    closing.send(CloseConnection(code=1000))
    assert not ws_batch.frames_plainly(closing)
    with pytest.raises(Exception):  # wsproto refuses to send data after its close, as before
        ws_batch.frame_messages(closing, [b"late"])

    handshaking = WSConnection(ConnectionType.CLIENT)
    handshaking.send(Request(host="localhost", target="/"))
    assert not ws_batch.frames_plainly(handshaking)
    assert not ws_batch.frames_plainly(Connection(ConnectionType.CLIENT))  # client frames are masked

    fragmented = server_connection()
    fragmented.send(BytesMessage(data=b"part", message_finished=False))
    assert not ws_batch.frames_plainly(fragmented)

    class Extended:
        state = server_connection().state
        _proto = type("P", (), {"extensions": [object()], "_outbound_opcode": None, "client": False})()

    assert not ws_batch.frames_plainly(Extended())


def test_header_lengths() -> None:
    assert ws_batch.binary_frame_header(125) == b"\x82\x7d"
    assert ws_batch.binary_frame_header(126) == b"\x82\x7e\x00\x7e"
    assert ws_batch.binary_frame_header(65536) == b"\x82\x7f" + (65536).to_bytes(8, "big")
