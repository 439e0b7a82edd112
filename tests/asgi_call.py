"""A minimal in-process ASGI caller for HTTP and WebSocket-upgrade tests (no httpx needed)."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any
from urllib.parse import unquote

import trio


@dataclasses.dataclass
class Reply:
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key == name.lower():
                return value
        return None

    def header_names(self) -> set[str]:
        return {key for key, _ in self.headers}


def _scope(kind: str, path: str, query: str, headers: Sequence[tuple[str, str]]) -> dict[str, Any]:
    return {
        "type": kind,
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "scheme": "http" if kind == "http" else "ws",
        "path": unquote(path),
        "raw_path": path.encode("utf-8"),
        "query_string": query.encode("utf-8"),
        "root_path": "",
        "headers": [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 3002),
    }


async def call(
    app: Any,
    method: str,
    path: str,
    *,
    query: str = "",
    headers: Sequence[tuple[str, str]] = (),
    body: bytes = b"",
) -> Reply:
    """Send one HTTP request through ``app``; after the body, receive() blocks (client stays)."""
    scope = _scope("http", path, query, headers)
    scope["method"] = method
    pending = [{"type": "http.request", "body": body, "more_body": False}]
    status = 0
    out_headers: list[tuple[str, str]] = []
    chunks: list[bytes] = []

    async def receive() -> dict[str, Any]:
        if pending:
            return pending.pop(0)
        await trio.sleep_forever()
        raise AssertionError("unreachable")

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
            out_headers.extend((k.decode("latin-1").lower(), v.decode("latin-1")) for k, v in message.get("headers", []))
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, send)
    return Reply(status, out_headers, b"".join(chunks))


async def upgrade(
    app: Any, path: str = "/", *, query: str = "", headers: Sequence[tuple[str, str]] = ()
) -> list[dict[str, Any]]:
    """Offer a WebSocket upgrade; returns what the app sent before it returned."""
    scope = _scope("websocket", path, query, headers)
    scope["subprotocols"] = []
    pending = [{"type": "websocket.connect"}]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        if pending:
            return pending.pop(0)
        return {"type": "websocket.disconnect", "code": 1000}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    return sent
