"""HTTP routes of the front door (BEHAVIOUR.md §1.4, §2): static files, /config, auth, CORS, scripting.

Driven in-process through the ASGI interface (tests/asgi_call.py); the database
routes are in test_http_database.py, the real-socket checks at the end.
"""

from __future__ import annotations

import dataclasses
import gzip
import json
from pathlib import Path
from typing import Any

import pytest
import trio
import trio_websocket

from carta_trio.actors.http_app import (
    CORS_HEADERS,
    NO_CACHE_HEADERS,
    ScriptingAction,
    ScriptingResult,
    build_asgi_app,
    frontend_path,
)
from carta_trio.settings import Settings
from tests.asgi_call import call, upgrade

TOKEN = "0f7c1d6e-5b1a-4c8e-9d2f-3a4b5c6d7e8f"
INDEX = b"<!DOCTYPE html><html>carta</html>"


@pytest.fixture
def frontend(tmp_path: Path) -> Path:
    folder = tmp_path / "frontend"
    (folder / "static" / "js").mkdir(parents=True)
    (folder / "index.html").write_bytes(INDEX)
    files = {
        "main.css": b"body{}",
        "page.htm": b"<p>",
        "a.jpg": b"\xff\xd8",
        "a.jpeg": b"\xff\xd8",
        "static/js/main.123.js": b"console.log(1)",
        "manifest.json": b"{}",
        "logo.png": b"\x89PNG",
        "icon.svg": b"<svg/>",
        "font.woff": b"wOFF",
        "font.woff2": b"wOF2",
        "ast_wrapper.wasm": b"\x00asm\x01\x00\x00\x00",
        "static/js/zfp_wrapper.wasm": b"\x00asm\x01\x00\x00\x00",
        "font.ttf": b"\x00\x01",
        "notes.txt": b"text",
        "upper.JS": b"x",
        "a..b.js": b"x",
    }
    for name, data in files.items():
        (folder / name).write_bytes(data)
    (folder / "empty.js").write_bytes(b"")
    return folder


def settings_for(tmp_path: Path, frontend: Path | None = None, **overrides: Any) -> Settings:
    base = Settings(
        top_level_folder=tmp_path,
        starting_folder=tmp_path,
        frontend_folder=frontend,
        auth_token=TOKEN,
        user_folder=tmp_path / "home" / ".carta",
        no_browser=True,
    )
    return dataclasses.replace(base, **overrides)


async def _no_websocket(websocket: Any) -> None:
    raise AssertionError("the WebSocket endpoint must not be reached")


def app_for(tmp_path: Path, frontend: Path | None = None, endpoint: Any = _no_websocket, **overrides: Any) -> Any:
    return build_asgi_app(settings_for(tmp_path, frontend, **overrides), endpoint)


# -- static files ------------------------------------------------------------


@pytest.mark.parametrize("path", ["/", "/index.html", "//index.html"])
async def test_root_and_index_serve_index_html(tmp_path: Path, frontend: Path, path: str) -> None:
    reply = await call(app_for(tmp_path, frontend), "GET", path, query="token=wrong&x=1")
    assert reply.status == 200
    assert reply.body == INDEX
    assert reply.header("content-type") == "text/html"


@pytest.mark.parametrize(
    ("name", "mime"),
    [
        ("main.css", "text/css"),
        ("page.htm", "text/html"),
        ("a.jpg", "image/jpeg"),
        ("a.jpeg", "image/jpeg"),
        ("static/js/main.123.js", "text/javascript"),
        ("manifest.json", "application/json"),
        ("logo.png", "image/png"),
        ("icon.svg", "image/svg+xml"),
        ("font.woff", "font/woff"),
        ("font.woff2", "font/woff2"),
        ("ast_wrapper.wasm", "application/wasm"),
        ("static/js/zfp_wrapper.wasm", "application/wasm"),
        ("font.ttf", None),
        ("notes.txt", None),
        ("upper.JS", None),
    ],
)
async def test_mime_types(tmp_path: Path, frontend: Path, name: str, mime: str | None) -> None:
    reply = await call(app_for(tmp_path, frontend), "GET", "/" + name)
    assert reply.status == 200
    assert reply.body == (frontend / name).read_bytes()
    assert reply.header("content-type") == mime
    assert reply.header("content-encoding") is None


async def test_static_files_need_no_token_and_carry_no_api_headers(tmp_path: Path, frontend: Path) -> None:
    reply = await call(app_for(tmp_path, frontend), "GET", "/main.css")
    assert reply.status == 200
    assert reply.header("cache-control") is None
    assert reply.header("access-control-allow-origin") is None


async def test_gzip_variant_is_sent_when_accepted(tmp_path: Path, frontend: Path) -> None:
    plain = b"console.log('plain')"
    packed = gzip.compress(b"console.log('gzip')")
    (frontend / "static" / "js" / "big.js").write_bytes(plain)
    (frontend / "static" / "js" / "big.js.gz").write_bytes(packed)
    app = app_for(tmp_path, frontend)
    reply = await call(app, "GET", "/static/js/big.js", headers=[("Accept-Encoding", "deflate, gzip;q=1.0")])
    assert reply.status == 200
    assert reply.body == packed
    assert reply.header("content-encoding") == "gzip"
    # Deliberate difference from the reference: the uncompressed name's type is kept.
    assert reply.header("content-type") == "text/javascript"
    reply = await call(app, "GET", "/static/js/big.js", headers=[("Accept-Encoding", "deflate, br")])
    assert (reply.status, reply.body, reply.header("content-encoding")) == (200, plain, None)


async def test_gzip_only_file_is_found_only_with_gzip(tmp_path: Path, frontend: Path) -> None:
    (frontend / "only.wasm.gz").write_bytes(gzip.compress(b"\x00asm"))
    app = app_for(tmp_path, frontend)
    reply = await call(app, "GET", "/only.wasm", headers=[("accept-encoding", "gzip")])
    assert reply.status == 200
    assert reply.header("content-type") == "application/wasm"
    assert gzip.decompress(reply.body) == b"\x00asm"
    assert (await call(app, "GET", "/only.wasm")).status == 404


async def test_missing_file_is_404_with_empty_body(tmp_path: Path, frontend: Path) -> None:
    reply = await call(app_for(tmp_path, frontend), "GET", "/nope.js")
    assert (reply.status, reply.body) == (404, b"")


@pytest.mark.parametrize("path", ["/static", "/static/", "/."])
async def test_directory_is_404(tmp_path: Path, frontend: Path, path: str) -> None:
    reply = await call(app_for(tmp_path, frontend), "GET", path)
    assert (reply.status, reply.body) == (404, b"")


async def test_empty_file_is_500(tmp_path: Path, frontend: Path) -> None:
    reply = await call(app_for(tmp_path, frontend), "GET", "/empty.js")
    assert (reply.status, reply.body) == (500, b"")


@pytest.mark.parametrize(("error", "status"), [(PermissionError, 404), (OSError, 500)])
async def test_unreadable_file_is_404_and_failed_read_500(
    tmp_path: Path, frontend: Path, monkeypatch: pytest.MonkeyPatch, error: type, status: int
) -> None:
    from carta_trio.actors import http_static

    (frontend / "secret.js").write_bytes(b"x")
    real_open = open

    def guarded_open(path: Any, *args: Any, **kwargs: Any) -> Any:
        if str(path).endswith("secret.js"):
            raise error("denied")
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(http_static, "open", guarded_open, raising=False)
    reply = await call(app_for(tmp_path, frontend), "GET", "/secret.js")
    assert (reply.status, reply.body) == (status, b"")


@pytest.mark.parametrize("path", ["/../secret.txt", "/static/../../secret.txt", "/%2e%2e/secret.txt", "/a..b.js"])
async def test_traversal_is_403(tmp_path: Path, frontend: Path, path: str) -> None:
    (tmp_path / "secret.txt").write_bytes(b"secret")
    reply = await call(app_for(tmp_path, frontend), "GET", path)
    assert (reply.status, reply.body) == (403, b"")


async def test_dotdot_that_stays_inside_is_served(tmp_path: Path, frontend: Path) -> None:
    reply = await call(app_for(tmp_path, frontend), "GET", "/static/../index.html")
    assert (reply.status, reply.body) == (200, INDEX)


async def test_symlink_leaving_the_folder_is_403(tmp_path: Path, frontend: Path) -> None:
    (tmp_path / "secret.txt").write_bytes(b"secret")
    (frontend / "link.txt").symlink_to(tmp_path / "secret.txt")
    reply = await call(app_for(tmp_path, frontend), "GET", "/link.txt")
    assert reply.status == 403


async def test_frontend_disabled_is_501(tmp_path: Path, frontend: Path) -> None:
    app = app_for(tmp_path, frontend, no_frontend=True)
    for path in ("/", "/index.html", "/config", "/api/database/nothing"):
        reply = await call(app, "GET", path)
        assert (path, reply.status, reply.body) == (path, 501, b"")


async def test_invalid_frontend_folder_serves_404_and_warns(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    missing = tmp_path / "no-frontend"
    app = app_for(tmp_path, missing)
    assert "Failed to host the CARTA frontend" in caplog.text
    assert frontend_path(settings_for(tmp_path, missing)) is None
    assert (await call(app, "GET", "/")).status == 404


def test_frontend_path(tmp_path: Path, frontend: Path) -> None:
    assert frontend_path(settings_for(tmp_path, frontend)) == frontend
    assert frontend_path(settings_for(tmp_path, frontend, no_frontend=True)) is None


# -- runtime config ----------------------------------------------------------


async def test_runtime_config(tmp_path: Path, frontend: Path) -> None:
    reply = await call(app_for(tmp_path, frontend), "GET", "/config")
    assert reply.status == 200
    assert reply.body == b'{"apiAddress":"/api"}'
    assert reply.header("content-type") == "application/json"


async def test_no_runtime_config_is_empty_200(tmp_path: Path, frontend: Path) -> None:
    reply = await call(app_for(tmp_path, frontend, no_runtime_config=True), "GET", "/config")
    assert (reply.status, reply.body, reply.header("content-type")) == (200, b"", None)


# -- token carriers ------------------------------------------------------------

PREFS = "/api/database/preferences"
GOOD_CARRIERS = [
    ({"headers": [("Cookie", f"carta-auth-token={TOKEN}")]}),
    ({"headers": [("Cookie", f"theme=dark; carta-auth-token={TOKEN}; other=1")]}),
    ({"headers": [("Authorization", f"Bearer {TOKEN}")]}),
    ({"headers": [("Authorization", f"Bearer   {TOKEN}")]}),
    ({"query": f"token={TOKEN}"}),
    ({"query": f"a=1&token={TOKEN}"}),
    ({"headers": [("carta-auth-token", TOKEN)]}),
    # A wrong carrier does not hide a right one further down the order.
    ({"headers": [("Cookie", "carta-auth-token=bad"), ("carta-auth-token", TOKEN)]}),
]
BAD_CARRIERS = [
    {},
    {"headers": [("Cookie", "carta-auth-token=wrong")]},
    {"headers": [("Cookie", f"carta-auth-token={TOKEN}x")]},
    {"headers": [("Authorization", f"Basic {TOKEN}")]},
    {"headers": [("Authorization", f"Bearer {TOKEN} extra")]},
    {"query": "token=wrong"},
    {"query": f"tok={TOKEN}"},
    {"headers": [("carta-auth-token", TOKEN.upper())]},
    {"query": "token=no_auth_configured"},
]


@pytest.mark.parametrize("carrier", GOOD_CARRIERS)
async def test_each_token_carrier_is_accepted(tmp_path: Path, carrier: dict[str, Any]) -> None:
    reply = await call(app_for(tmp_path), "GET", PREFS, **carrier)
    assert reply.status == 200
    assert json.loads(reply.body)["success"] is True


@pytest.mark.parametrize("carrier", BAD_CARRIERS)
async def test_wrong_or_missing_token_is_403_without_headers(tmp_path: Path, carrier: dict[str, Any]) -> None:
    reply = await call(app_for(tmp_path), "GET", PREFS, **carrier)
    assert (reply.status, reply.body) == (403, b"")
    assert reply.header("access-control-allow-origin") is None
    assert reply.header("cache-control") is None


async def test_debug_no_auth_accepts_everything(tmp_path: Path) -> None:
    reply = await call(app_for(tmp_path, auth_token=""), "GET", PREFS)
    assert reply.status == 200


# -- CORS and unknown routes -------------------------------------------------


@pytest.mark.parametrize("path", ["/api/database/preferences", "/api/scripting/action", "/api/anything/else"])
async def test_options_under_api_answers_cors(tmp_path: Path, path: str) -> None:
    reply = await call(app_for(tmp_path), "OPTIONS", path)
    assert (reply.status, reply.body) == (200, b"")
    for name, value in CORS_HEADERS.items():
        assert reply.header(name) == value
    assert reply.header("cache-control") is None


async def test_unknown_methods_and_paths_get_clean_answers(tmp_path: Path, frontend: Path) -> None:
    app = app_for(tmp_path, frontend)
    assert (await call(app, "POST", "/index.html")).status == 405
    assert (await call(app, "PATCH", PREFS, query=f"token={TOKEN}")).status == 405
    assert (await call(app, "POST", "/api/server/stop")).status == 405
    assert (await call(app, "OPTIONS", "/index.html")).status == 405
    # A GET under /api/database that is no database route falls through to static files.
    assert (await call(app, "GET", "/api/database/share/x", query=f"token={TOKEN}")).status == 404


async def test_no_http_feature_means_no_routes(tmp_path: Path, frontend: Path) -> None:
    app = app_for(tmp_path, frontend, no_frontend=True, no_database=True)
    for method, path in [("GET", "/"), ("GET", PREFS), ("POST", "/api/scripting/action"), ("OPTIONS", "/api/x")]:
        assert (await call(app, method, path, query=f"token={TOKEN}")).status == 404


# -- scripting -----------------------------------------------------------------

ACTION = "/api/scripting/action"
SCRIPT_BODY = {
    "session_id": 42,
    "path": "openFile",
    "action": "",
    "parameters": ["dir", "file.fits", {"z": 1, "a": [1.5, "x"]}],
    "async": True,
}


async def test_scripting_disabled_is_501_even_without_token(tmp_path: Path) -> None:
    reply = await call(app_for(tmp_path), "POST", ACTION, body=json.dumps(SCRIPT_BODY).encode())
    assert (reply.status, reply.body) == (501, b"")


def scripting_app(tmp_path: Path, handler: Any) -> Any:
    return build_asgi_app(settings_for(tmp_path, enable_scripting=True), _no_websocket, handler)


async def test_scripting_round_trip(tmp_path: Path) -> None:
    seen: list[ScriptingAction] = []

    async def handler(action: ScriptingAction) -> ScriptingResult:
        seen.append(action)
        return ScriptingResult(success=True, message="done", response='{"b": 2, "a": [1, 2]}')

    app = scripting_app(tmp_path, handler)
    body = dict(SCRIPT_BODY, return_path="frameInfo")
    auth = [("Authorization", f"Bearer {TOKEN}")]
    reply = await call(app, "POST", ACTION, headers=auth, body=json.dumps(body).encode())
    assert reply.status == 200
    assert reply.body == b'{"message":"done","response":{"a":[1,2],"b":2},"success":true}'
    assert reply.header("content-type") == "application/json"
    for name, value in NO_CACHE_HEADERS.items():
        assert reply.header(name) == value
    assert seen == [
        ScriptingAction(
            scripting_request_id=1,
            session_id=42,
            path="openFile",
            action="",
            parameters='["dir","file.fits",{"a":[1.5,"x"],"z":1}]',
            is_async=True,
            return_path="frameInfo",
        )
    ]
    reply = await call(app, "POST", ACTION, headers=auth, body=json.dumps(SCRIPT_BODY).encode())
    assert seen[1].scripting_request_id == 2
    assert seen[1].return_path == ""


async def test_scripting_result_without_message_or_response(tmp_path: Path) -> None:
    async def handler(action: ScriptingAction) -> ScriptingResult:
        return ScriptingResult(success=False)

    reply = await call(
        scripting_app(tmp_path, handler), "POST", ACTION, query=f"token={TOKEN}", body=json.dumps(SCRIPT_BODY).encode()
    )
    assert (reply.status, reply.body) == (200, b'{"success":false}')


async def test_scripting_errors(tmp_path: Path) -> None:
    async def unknown_session(action: ScriptingAction) -> None:
        return None

    async def bad_response(action: ScriptingAction) -> ScriptingResult:
        return ScriptingResult(success=True, response="{not json")

    auth = {"query": f"token={TOKEN}"}
    good = json.dumps(SCRIPT_BODY).encode()
    app = scripting_app(tmp_path, unknown_session)
    assert (await call(app, "POST", ACTION, body=good)).status == 403
    assert (await call(app, "POST", ACTION, body=good, **auth)).status == 404
    for bad in [b"{", b"[1]", json.dumps(dict(SCRIPT_BODY, session_id="1")).encode(),
                json.dumps({k: v for k, v in SCRIPT_BODY.items() if k != "path"}).encode(),
                json.dumps(dict(SCRIPT_BODY, **{"async": "yes"})).encode(),
                json.dumps(dict(SCRIPT_BODY, return_path=3)).encode()]:
        reply = await call(app, "POST", ACTION, body=bad, **auth)
        assert (bad, reply.status, reply.body) == (bad, 400, b"")
    reply = await call(scripting_app(tmp_path, bad_response), "POST", ACTION, body=good, **auth)
    assert (reply.status, reply.body) == (500, b"")
    reply = await call(scripting_app(tmp_path, None), "POST", ACTION, body=good, **auth)
    assert reply.status == 501


async def test_scripting_handler_is_cancelled_when_client_disconnects(tmp_path: Path) -> None:
    cancelled = trio.Event()

    async def slow(action: ScriptingAction) -> ScriptingResult:
        try:
            await trio.sleep_forever()
        finally:
            cancelled.set()
        raise AssertionError("unreachable")

    app = scripting_app(tmp_path, slow)
    body = json.dumps(SCRIPT_BODY).encode()
    messages = [{"type": "http.request", "body": body, "more_body": False}, {"type": "http.disconnect"}]
    from tests.asgi_call import _scope

    scope = _scope("http", ACTION, f"token={TOKEN}", [])
    scope["method"] = "POST"
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        if len(messages) == 1:
            await trio.sleep(0.05)
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    with trio.fail_after(5):
        await app(scope, receive, send)
    assert cancelled.is_set()


# -- WebSocket upgrade ---------------------------------------------------------


@pytest.mark.parametrize(
    "carrier",
    [
        {"query": f"token={TOKEN}"},
        {"headers": [("Cookie", f"carta-auth-token={TOKEN}")]},
        {"headers": [("Authorization", f"Bearer {TOKEN}")]},
        {"headers": [("carta-auth-token", TOKEN)]},
    ],
)
async def test_websocket_with_token_reaches_endpoint_unaccepted(tmp_path: Path, carrier: dict[str, Any]) -> None:
    reached: list[Any] = []

    async def endpoint(websocket: Any) -> None:
        reached.append(websocket)
        await websocket.accept()
        await websocket.close()

    sent = await upgrade(app_for(tmp_path, endpoint=endpoint), "/any/path", **carrier)
    assert len(reached) == 1
    assert reached[0].url.path == "/any/path"
    assert [m["type"] for m in sent] == ["websocket.accept", "websocket.close"]


@pytest.mark.parametrize("carrier", [{}, {"query": "token=wrong"}, {"headers": [("Cookie", "carta-auth-token=x")]}])
async def test_websocket_without_token_is_closed_before_accept(
    tmp_path: Path, carrier: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    sent = await upgrade(app_for(tmp_path), "/", **carrier)
    assert [m["type"] for m in sent] == ["websocket.close"]
    assert "Incorrect or missing auth token supplied! Closing WebSocket connection" in caplog.text


async def test_websocket_debug_no_auth(tmp_path: Path) -> None:
    reached: list[Any] = []

    async def endpoint(websocket: Any) -> None:
        reached.append(websocket)
        await websocket.close()

    await upgrade(app_for(tmp_path, endpoint=endpoint, auth_token=""), "/")
    assert len(reached) == 1


# -- through a real socket -----------------------------------------------------


async def _raw_http(port: int, request: bytes) -> tuple[int, dict[str, str], bytes]:
    stream = await trio.open_tcp_stream("127.0.0.1", port)
    async with stream:
        await stream.send_all(request)
        data = b""
        while True:
            chunk = await stream.receive_some(65536)
            if not chunk:
                break
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return int(lines[0].split()[1]), headers, body


async def test_real_server_http_and_websocket_auth(start_server: Any, tmp_path: Path, frontend: Path) -> None:
    from tests.conftest import TEST_TOKEN

    handle = await start_server(frontend_folder=frontend)
    with trio.fail_after(10):
        status, headers, body = await _raw_http(
            handle.port, b"GET /config HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        )
        assert (status, body, headers["content-type"]) == (200, b'{"apiAddress":"/api"}', "application/json")
        status, headers, body = await _raw_http(
            handle.port, b"GET /ast_wrapper.wasm HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        )
        assert (status, headers["content-type"], body) == (200, "application/wasm", b"\x00asm\x01\x00\x00\x00")
        status, _, body = await _raw_http(
            handle.port, b"HEAD /index.html HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        )
        assert (status, body) == (200, b"")
        status, _, _ = await _raw_http(
            handle.port,
            f"GET /api/database/preferences HTTP/1.1\r\nHost: x\r\nCookie: carta-auth-token={TEST_TOKEN}\r\n"
            f"Connection: close\r\n\r\n".encode(),
        )
        assert status == 200
        upgrade_request = (
            "GET /?token={} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )
        status, _, _ = await _raw_http(handle.port, upgrade_request.format("wrong").encode())
        assert status == 403
        async with trio_websocket.open_websocket_url(f"ws://127.0.0.1:{handle.port}/?token={TEST_TOKEN}") as ws:
            await ws.send_message("PING")
            assert await ws.get_message() == "PONG"

