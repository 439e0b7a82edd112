"""Connection cap and graceful refusal (issue 11 D12).

One process serves every viewer of a machine; 1,100 idle connections under systemd's
1024-descriptor default used to end in an EMFILE traceback flood and new sessions
failing. Here:

* at start the soft RLIMIT_NOFILE is raised to the hard limit (capped), so the
  descriptor table is rarely the bottleneck;
* :class:`ConnectionGate` wraps the ASGI app and counts WebSocket sessions and HTTP
  requests in progress; beyond ``limits.MAX_CONNECTIONS`` (or half the descriptor
  limit) a WebSocket is accepted and closed at once with code 1013 ("try again
  later") and an HTTP request gets 503 with ``Retry-After``;
* should ``accept`` still fail for lack of descriptors, trio's listener logs one
  line per second with the count instead of a traceback every 100 ms.

The per-WebSocket register timeout lives in :mod:`carta_trio.actors.connection`.
"""

from __future__ import annotations

import logging
import resource
import time
from typing import TYPE_CHECKING, Any

from carta_trio import limits

if TYPE_CHECKING:
    # the server's types for what it passes an ASGI application
    from hypercorn.typing import ASGIReceiveCallable, ASGISendCallable, Scope

log = logging.getLogger(__name__)

#: The soft descriptor limit is raised at most to this.
NOFILE_TARGET = 65536


def raise_file_limit() -> int:
    """Raise the soft RLIMIT_NOFILE towards the hard limit; return the soft limit now."""
    try:
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        target = NOFILE_TARGET if hard == resource.RLIM_INFINITY else min(hard, NOFILE_TARGET)
        if soft != resource.RLIM_INFINITY and soft < target:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        return int(soft) if soft != resource.RLIM_INFINITY else NOFILE_TARGET
    except (ValueError, OSError):  # pragma: no cover - platform without the limit
        return NOFILE_TARGET


def connection_cap(file_limit: int) -> int:
    """Connections served at once: the configured cap, and at most half the descriptors
    (the rest are for image files, idle sockets and the process itself)."""
    return max(1, min(limits.MAX_CONNECTIONS, file_limit // 2))


class ConnectionGate:
    """ASGI middleware counting connections and refusing those beyond ``cap``."""

    def __init__(self, app: Any, cap: int) -> None:
        self.app = app
        self.cap = cap
        self.active = 0
        self.refused = 0

    async def __call__(self, scope: Scope, receive: ASGIReceiveCallable, send: ASGISendCallable) -> None:
        kind = scope.get("type")
        if kind not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        if self.active >= self.cap:
            self.refused += 1
            if self.refused == 1 or self.refused % 100 == 0:
                log.warning("Connection refused: %d connections served (the cap); %d refused so far",
                            self.active, self.refused)
            await (_refuse_websocket(receive, send) if kind == "websocket" else _refuse_http(send))
            return
        self.active += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.active -= 1


async def _refuse_websocket(receive: Any, send: Any) -> None:
    message = await receive()
    if message.get("type") == "websocket.connect":
        await send({"type": "websocket.accept"})
        await send({"type": "websocket.close", "code": 1013, "reason": "Too many connections, try again later"})


async def _refuse_http(send: Any) -> None:
    body = b"Too many connections, try again later\n"
    await send({"type": "http.response.start", "status": 503, "headers": [
        (b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(body)).encode()),
        (b"retry-after", b"5"),
    ]})
    await send({"type": "http.response.body", "body": body})


class _AcceptErrors(logging.Filter):
    """trio's ``serve_listeners`` logs a traceback every 100 ms while accept fails
    with EMFILE; keep one line per second, with how many were folded into it."""

    def __init__(self) -> None:
        super().__init__()
        self._last = 0.0
        self._folded = 0

    def filter(self, record: logging.LogRecord) -> bool:
        now = time.monotonic()
        if now - self._last < 1.0:
            self._folded += 1
            return False
        record.exc_info = None
        record.exc_text = None
        if self._folded:
            record.msg = f"{record.msg} ({self._folded} more in the last second)"
        self._last, self._folded = now, 0
        return True


_FILTER = _AcceptErrors()


def quiet_accept_errors() -> None:
    """Install the one-line-per-second filter on trio's listener logger (idempotent)."""
    logger = logging.getLogger("trio.serve_listeners")
    if _FILTER not in logger.filters:
        logger.addFilter(_FILTER)
