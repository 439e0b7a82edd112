"""The scripting bridge: HTTP action -> SCRIPTING_REQUEST -> SCRIPTING_RESPONSE -> HTTP answer."""

from __future__ import annotations

import json

import trio

from carta_trio.messages import schema as pb
from carta_trio.messages.client import open_client
from tests.conftest import TEST_TOKEN, server_url


async def http_post(port: int, path: str, body: dict) -> tuple[int, dict | None]:
    stream = await trio.open_tcp_stream("127.0.0.1", port)
    payload = json.dumps(body).encode()
    request = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {TEST_TOKEN}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\nConnection: close\r\n\r\n"
    ).encode() + payload
    async with stream:
        await stream.send_all(request)
        data = b""
        while chunk := await stream.receive_some():
            data += chunk
    head, _, content = data.partition(b"\r\n\r\n")
    status = int(head.split()[1])
    return status, json.loads(content) if content.strip() else None


async def test_action_round_trip_and_unknown_session(start_server) -> None:
    handle = await start_server(enable_scripting=True)
    async with open_client(server_url(handle)) as client:
        ack = await client.register()
        assert ack.server_feature_flags & pb.ServerFeatureFlags.SCRIPTING
        result: dict = {}

        async def post() -> None:
            result["answer"] = await http_post(handle.port, "/api/scripting/action", {
                "session_id": ack.session_id, "path": "", "action": "openFile",
                "parameters": ["/data", "a.fits", ""], "async": True,
            })

        async with trio.open_nursery() as nursery:
            nursery.start_soon(post)
            request = (await client.expect(pb.ScriptingRequest)).message
            assert (request.action, json.loads(request.parameters)) == ("openFile", ["/data", "a.fits", ""])
            assert getattr(request, "async") is True
            await client.send(pb.ScriptingResponse(
                scripting_request_id=request.scripting_request_id, success=True, response='{"file_id": 0}'))
        assert result["answer"] == (200, {"success": True, "response": {"file_id": 0}})
    status, _ = await http_post(handle.port, "/api/scripting/action", {
        "session_id": 12345, "path": "", "action": "x", "parameters": None, "async": False})
    assert status == 404
