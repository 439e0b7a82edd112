"""The HTTP side of the front door: one ASGI app for hypercorn (BEHAVIOUR.md §2).

Routes, as the reference registers them (frontend, database and scripting can
each be disabled; with all three off no HTTP route exists):

* ``POST /api/scripting/action`` — scripting (§2.6) or 501.
* ``/api/database/...`` — preferences, layouts, snippets, workspaces (§2.5), each
  checking the token (§1.4, 403 empty) and answering with no-cache and CORS
  headers (§2.4); with ``--no_database`` GET/PUT/DELETE there answer 501.
* ``GET /config`` — ``{"apiAddress":"/api"}``, or an empty 200 with
  ``--no_runtime_config``.
* ``GET /*`` — the frontend's static files (no token), or 501 with ``--no_frontend``.
  A GET under ``/api/database/`` that matches no database route ends up here (404).
* ``OPTIONS /api/*`` — 200 with CORS headers.
* WebSocket upgrade on any path: the token is checked on the upgrade; a bad token
  closes before accepting (the client sees HTTP 403), a good one hands the
  unaccepted Starlette ``WebSocket`` to the server's endpoint.

Other methods on known paths get 405, unknown paths 404 (the reference just
drops the TCP connection there).
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import trio
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket

from carta_trio.actors.http_auth import is_authenticated
from carta_trio.actors.http_static import is_valid_frontend_folder, serve_static
from carta_trio.io.user_store import OBJECT_KINDS, StoreError, UserStore, dump_compact, unescape_name
from carta_trio.settings import Settings

log = logging.getLogger(__name__)

CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "GET, POST, PUT, DELETE, OPTIONS",
    "Access-Control-Allow-Headers": "origin, content-type, accept, x-requested-with",
    "Access-Control-Max-Age": "3600",
}
NO_CACHE_HEADERS = {
    "Cache-Control": "private, no-cache, no-store, must-revalidate",
    "Expires": "-1",
    "Pragma": "no-cache",
    **CORS_HEADERS,
}
JSON_TYPE = {"Content-Type": "application/json"}
SUCCESS_BODY = b'{"success":true}'
RUNTIME_CONFIG = b'{"apiAddress":"/api"}'

WebSocketEndpoint = Callable[[WebSocket], Awaitable[None]]


@dataclasses.dataclass(frozen=True)
class ScriptingAction:
    """One validated ``POST /api/scripting/action`` body, numbered for SCRIPTING_REQUEST."""

    scripting_request_id: int
    session_id: int
    path: str
    action: str
    #: The ``parameters`` value re-serialised as JSON text (``null`` if absent).
    parameters: str
    is_async: bool
    return_path: str = ""


@dataclasses.dataclass(frozen=True)
class ScriptingResult:
    """The frontend's SCRIPTING_RESPONSE, as the HTTP answer needs it."""

    success: bool
    message: str = ""
    #: JSON text; empty means no ``response`` key.
    response: str = ""


#: Finds the session, sends SCRIPTING_REQUEST, awaits the matching response.
#: Returns None when the session does not exist or closes first (HTTP 404).
ScriptingHandler = Callable[[ScriptingAction], Awaitable[ScriptingResult | None]]


def _empty(status: int, headers: dict[str, str] | None = None) -> Response:
    return Response(status_code=status, headers=headers)


def _json_ok(value: Any) -> Response:
    body = dump_compact(value).encode("utf-8", "surrogateescape")
    return Response(body, status_code=200, headers={**NO_CACHE_HEADERS, **JSON_TYPE})


def _write_answer(status: int) -> Response:
    """PUT/DELETE answers: ``{"success":true}`` or an empty body, always with headers."""
    headers = {**NO_CACHE_HEADERS, **JSON_TYPE}
    return Response(SUCCESS_BODY if status == 200 else b"", status_code=status, headers=headers)


def parse_scripting_action(request: Any, scripting_request_id: int) -> ScriptingAction:
    """Validate a parsed scripting body (§2.6); ValueError means HTTP 400."""
    if not isinstance(request, dict):
        raise ValueError("body must be a JSON object")
    session_id = request.get("session_id")
    if isinstance(session_id, bool) or not isinstance(session_id, (int, float)):
        raise ValueError("session_id must be a number")
    path, action, is_async = request.get("path"), request.get("action"), request.get("async")
    if not isinstance(path, str) or not isinstance(action, str) or not isinstance(is_async, bool):
        raise ValueError("path and action must be strings, async a boolean")
    return_path = request.get("return_path", "")
    if not isinstance(return_path, str):
        raise ValueError("return_path must be a string")
    return ScriptingAction(
        scripting_request_id=scripting_request_id,
        session_id=int(session_id),
        path=path,
        action=action,
        parameters=dump_compact(request.get("parameters")),
        is_async=is_async,
        return_path=return_path,
    )


def scripting_response_body(result: ScriptingResult) -> bytes:
    """The 200 body for a scripting result; ValueError if ``response`` is not JSON (500)."""
    answer: dict[str, Any] = {"success": result.success}
    if result.message:
        answer["message"] = result.message
    if result.response:
        answer["response"] = json.loads(result.response)
    return dump_compact(answer).encode("utf-8", "surrogateescape")


class CartaApp:
    """The ASGI callable: WebSocket upgrades checked here, HTTP handed to Starlette."""

    def __init__(self, settings: Settings, websocket_endpoint: WebSocketEndpoint, http: Starlette) -> None:
        self.settings = settings
        self.websocket_endpoint = websocket_endpoint
        self.http = http

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            if not is_authenticated(scope, self.settings.auth_token):
                log.error("Incorrect or missing auth token supplied! Closing WebSocket connection")
                message = await receive()
                if message["type"] == "websocket.connect":
                    await send({"type": "websocket.close", "code": 1008})
                return
            await self.websocket_endpoint(WebSocket(scope, receive, send))
            return
        await self.http(scope, receive, send)


class _Routes:
    """The HTTP handlers, closing over the settings, the store and the scripting hook."""

    def __init__(self, settings: Settings, scripting_handler: ScriptingHandler | None) -> None:
        self.settings = settings
        self.token = settings.auth_token
        self.store = UserStore(settings.config_folder, read_only=settings.read_only)
        self.scripting_handler = scripting_handler
        self._scripting_counter = 0

    def authorised(self, request: Request) -> bool:
        return is_authenticated(request.scope, self.token)

    async def _run(self, fn: Callable[..., Any], *args: Any) -> Any:
        return await trio.to_thread.run_sync(fn, *args)

    # -- database ----------------------------------------------------------

    async def preferences(self, request: Request) -> Response:
        if not self.authorised(request):
            return _empty(403)
        if request.method in ("GET", "HEAD"):
            try:
                prefs = await self._run(self.store.get_preferences)
            except StoreError as exc:
                return _empty(exc.status, NO_CACHE_HEADERS)
            return _json_ok({"success": True, "preferences": prefs})
        body = await request.body()
        operation = self.store.update_preferences if request.method == "PUT" else self.store.clear_preferences
        try:
            await self._run(operation, body)
        except StoreError as exc:
            return _write_answer(exc.status)
        return _write_answer(200)

    def object_list(self, kind: str) -> Callable[[Request], Awaitable[Response]]:
        async def handler(request: Request) -> Response:
            if not self.authorised(request):
                return _empty(403)
            return _json_ok({"success": True, f"{kind}s": await self._run(self.store.list_objects, kind)})

        return handler

    def object_all(self, kind: str) -> Callable[[Request], Awaitable[Response]]:
        async def handler(request: Request) -> Response:
            if not self.authorised(request):
                return _empty(403)
            return _json_ok({"success": True, f"{kind}s": await self._run(self.store.get_objects, kind)})

        return handler

    def object_one(self, kind: str) -> Callable[[Request], Awaitable[Response]]:
        async def handler(request: Request) -> Response:
            if not self.authorised(request):
                return _empty(403)
            raw_path = request.scope.get("raw_path")
            if raw_path:
                segment = raw_path.decode("utf-8", "surrogateescape").rsplit("/", 1)[-1]
            else:
                segment = request.path_params.get("name", "")
            name = unescape_name(segment)
            if not name:
                return _empty(404)
            try:
                value = await self._run(self.store.get_object, kind, name)
            except StoreError as exc:
                return _empty(exc.status)
            return _json_ok({"success": True, kind: value})

        return handler

    def object_write(self, kind: str) -> Callable[[Request], Awaitable[Response]]:
        async def handler(request: Request) -> Response:
            if not self.authorised(request):
                return _empty(403)
            body = await request.body()
            operation = self.store.set_object if request.method == "PUT" else self.store.clear_object
            try:
                await self._run(operation, kind, body)
            except StoreError as exc:
                return _write_answer(exc.status)
            return _write_answer(200)

        return handler

    # -- scripting, config, static, CORS ----------------------------------

    def _next_scripting_id(self) -> int:
        # A uint32 counter starting at 1 that skips 0 when it wraps.
        self._scripting_counter = max((self._scripting_counter + 1) & 0xFFFFFFFF, 1)
        return self._scripting_counter

    async def scripting(self, request: Request) -> Response:
        if not self.settings.enable_scripting:
            return _empty(501)
        if not self.authorised(request):
            return _empty(403)
        body = await request.body()
        try:
            parsed = json.loads(body)
        except (ValueError, UnicodeDecodeError) as exc:
            log.warning("Bad scripting request: %s", exc)
            return _empty(400, NO_CACHE_HEADERS)
        # The reference numbers every parsable request, valid or not.
        scripting_request_id = self._next_scripting_id()
        try:
            action = parse_scripting_action(parsed, scripting_request_id)
        except ValueError as exc:
            log.warning("Bad scripting request: %s", exc)
            return _empty(400, NO_CACHE_HEADERS)
        if self.scripting_handler is None:
            return _empty(501)
        result = await self._await_unless_disconnected(request, self.scripting_handler, action)
        if result is None:
            return _empty(404, NO_CACHE_HEADERS)
        try:
            answer = scripting_response_body(result)
        except ValueError as exc:
            log.warning("Scripting response is not valid JSON: %s", exc)
            return _empty(500, {**NO_CACHE_HEADERS, **JSON_TYPE})
        return Response(answer, status_code=200, headers={**NO_CACHE_HEADERS, **JSON_TYPE})

    async def _await_unless_disconnected(
        self, request: Request, handler: ScriptingHandler, action: ScriptingAction
    ) -> ScriptingResult | None:
        """Await the handler; if the HTTP client goes away first, cancel it (answer None)."""
        outcome: list[ScriptingResult | None] = [None]
        async with trio.open_nursery() as nursery:

            async def watch() -> None:
                while True:
                    message = await request.receive()
                    if message["type"] == "http.disconnect":
                        log.debug("Scripting client disconnected; dropping its request")
                        nursery.cancel_scope.cancel()
                        return

            async def wait() -> None:
                outcome[0] = await handler(action)
                nursery.cancel_scope.cancel()

            nursery.start_soon(wait)
            nursery.start_soon(watch)
        return outcome[0]

    async def config(self, request: Request) -> Response:
        if self.settings.no_runtime_config:
            return _empty(200)
        return Response(RUNTIME_CONFIG, status_code=200, headers=JSON_TYPE)

    async def static(self, request: Request) -> Response:
        if self.settings.no_frontend or self.settings.frontend_folder is None:
            return _empty(501) if self.settings.no_frontend else _empty(404)
        return await serve_static(request, self.settings.frontend_folder)

    async def not_implemented(self, request: Request) -> Response:
        return _empty(501)

    async def options(self, request: Request) -> Response:
        return _empty(200, CORS_HEADERS)

    def routes(self) -> list[BaseRoute]:
        s = self.settings
        if s.no_frontend and s.no_database and not s.enable_scripting:
            return []
        routes: list[BaseRoute] = [Route("/api/scripting/action", self.scripting, methods=["POST"])]
        if s.no_database:
            routes.append(Route("/api/database/{rest:path}", self.not_implemented, methods=["GET", "PUT", "DELETE"]))
        else:
            routes.append(Route("/api/database/preferences", self.preferences, methods=["GET", "PUT", "DELETE"]))
            for kind in OBJECT_KINDS:
                routes += [
                    Route(f"/api/database/list/{kind}s", self.object_list(kind), methods=["GET"]),
                    Route(f"/api/database/{kind}s", self.object_all(kind), methods=["GET"]),
                    Route(f"/api/database/{kind}/{{name}}", self.object_one(kind), methods=["GET"]),
                    Route(f"/api/database/{kind}", self.object_write(kind), methods=["PUT", "DELETE"]),
                ]
        if not s.no_frontend:
            routes.append(Route("/config", self.config, methods=["GET"]))
        routes.append(Route("/{path:path}", self.static, methods=["GET"]))
        routes.append(Route("/api/{rest:path}", self.options, methods=["OPTIONS"]))
        return routes


def build_asgi_app(
    settings: Settings,
    websocket_endpoint: WebSocketEndpoint,
    scripting_handler: ScriptingHandler | None = None,
) -> CartaApp:
    """The one ASGI app the server runs: HTTP routes plus the guarded WebSocket endpoint.

    ``websocket_endpoint(websocket)`` receives a not yet accepted Starlette
    ``WebSocket`` whose upgrade carried a valid token. ``scripting_handler`` serves
    ``POST /api/scripting/action`` when scripting is enabled (501 while it is None).
    """
    # None (no folder at all) only happens for Settings built in code, e.g. by tests.
    frontend = settings.frontend_folder
    if not settings.no_frontend and frontend is not None and not is_valid_frontend_folder(frontend):
        log.warning("Failed to host the CARTA frontend. Please specify a custom location using the frontend_folder argument.")
    handlers = _Routes(settings, scripting_handler)
    http = Starlette(routes=handlers.routes(), max_body_size=settings.max_http_body_size)
    http.router.redirect_slashes = False
    return CartaApp(settings, websocket_endpoint, http)


def frontend_path(settings: Settings) -> Path | None:
    """The frontend folder if it will be served, else None (then no URL is announced)."""
    if settings.no_frontend or not is_valid_frontend_folder(settings.frontend_folder):
        return None
    return settings.frontend_folder
