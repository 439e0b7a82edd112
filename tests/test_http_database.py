"""The database REST API (BEHAVIOUR.md §2.4, §2.5) and its store (io/user_store.py)."""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Any

import pytest

from carta_trio.actors.http_app import NO_CACHE_HEADERS, build_asgi_app
from carta_trio.io.user_store import OBJECT_KINDS, StoreError, UserStore, unescape_name, write_atomically
from carta_trio.settings import Settings
from tests.asgi_call import Reply, call

TOKEN = "db-token"
AUTH = {"query": f"token={TOKEN}"}
PREFS = "/api/database/preferences"
PREFS_SCHEMA = "https://cartavis.github.io/schemas/preferences_schema_2.json"
SCHEMAS = {
    "layout": "https://cartavis.github.io/schemas/layout_schema_2.json",
    "snippet": "https://cartavis.github.io/schemas/snippet_schema_1.json",
    "workspace": "https://cartavis.github.io/schemas/workspace_schema_1.json",
}


async def _unused_endpoint(websocket: Any) -> None:
    raise AssertionError("no websocket here")


@pytest.fixture
def config(tmp_path: Path) -> Path:
    return tmp_path / "home" / ".carta" / "config"


def make_app(tmp_path: Path, **overrides: Any) -> Any:
    settings = Settings(
        top_level_folder=tmp_path,
        starting_folder=tmp_path,
        auth_token=TOKEN,
        user_folder=tmp_path / "home" / ".carta",
    )
    return build_asgi_app(dataclasses.replace(settings, **overrides), _unused_endpoint)


@pytest.fixture
def app(tmp_path: Path) -> Any:
    return make_app(tmp_path)


async def request(app: Any, method: str, path: str, body: Any = None, raw: bytes | None = None) -> Reply:
    data = raw if raw is not None else (b"" if body is None else json.dumps(body).encode())
    return await call(app, method, path, body=data, **AUTH)


def assert_api_headers(reply: Reply, json_type: bool = True) -> None:
    for name, value in NO_CACHE_HEADERS.items():
        assert reply.header(name) == value, name
    assert reply.header("content-type") == ("application/json" if json_type else None)


def expected_file(value: dict[str, Any]) -> str:
    # nlohmann dump(4): keys sorted, 4-space indent, no trailing newline.
    return json.dumps(value, sort_keys=True, indent=4, ensure_ascii=False)


# -- preferences ---------------------------------------------------------------


async def test_get_preferences_without_file(app: Any) -> None:
    reply = await request(app, "GET", PREFS)
    assert reply.status == 200
    assert reply.body == b'{"preferences":{"version":1},"success":true}'
    assert_api_headers(reply)


async def test_put_preferences_writes_merged_file(app: Any, config: Path) -> None:
    reply = await request(app, "PUT", PREFS, {"theme": "dark", "zoom": 1.5})
    assert (reply.status, reply.body) == (200, b'{"success":true}')
    assert_api_headers(reply)
    path = config / "preferences.json"
    stored = {"$schema": PREFS_SCHEMA, "theme": "dark", "version": 2, "zoom": 1.5}
    assert path.read_text(encoding="utf-8") == expected_file(stored)
    assert path.read_text().startswith('{\n    "$schema": ')
    # Shallow merge: each top-level key replaces the stored one, others stay.
    await request(app, "PUT", PREFS, {"zoom": {"nested": [1]}, "unicodé": "ü"})
    stored.update({"zoom": {"nested": [1]}, "unicodé": "ü"})
    assert json.loads(path.read_text(encoding="utf-8")) == stored
    reply = await request(app, "GET", PREFS)
    assert json.loads(reply.body) == {"success": True, "preferences": stored}
    assert [p.name for p in config.iterdir()] == ["preferences.json"]


async def test_put_empty_object_writes_nothing(app: Any, config: Path) -> None:
    reply = await request(app, "PUT", PREFS, {})
    assert (reply.status, reply.body) == (200, b'{"success":true}')
    assert not (config / "preferences.json").exists()


@pytest.mark.parametrize("raw", [b"{", b"", b"[1, 2]", b"7", b"\xff"])
async def test_put_preferences_bad_body_is_400(app: Any, config: Path, raw: bytes) -> None:
    reply = await request(app, "PUT", PREFS, raw=raw)
    assert (reply.status, reply.body) == (400, b"")
    assert_api_headers(reply)
    assert not (config / "preferences.json").exists()


@pytest.mark.parametrize("content", ["{not json", "", "{}", "[1]"])
async def test_malformed_or_empty_preferences_file_is_500(app: Any, config: Path, content: str) -> None:
    config.mkdir(parents=True)
    (config / "preferences.json").write_text(content)
    reply = await request(app, "GET", PREFS)
    assert (reply.status, reply.body) == (500, b"")
    assert_api_headers(reply, json_type=False)
    reply = await request(app, "DELETE", PREFS, {"keys": ["a"]})
    assert reply.status == 500


async def test_put_over_malformed_file_keeps_a_backup(app: Any, config: Path) -> None:
    config.mkdir(parents=True)
    (config / "preferences.json").write_text("{broken")
    reply = await request(app, "PUT", PREFS, {"a": 1})
    assert reply.status == 200
    assert json.loads((config / "preferences.json").read_text()) == {"$schema": PREFS_SCHEMA, "a": 1, "version": 2}
    assert (config / "preferences.json.bak").read_text() == "{broken"


async def test_delete_preferences(app: Any, config: Path) -> None:
    await request(app, "PUT", PREFS, {"a": 1, "b": 2, "c": 3})
    reply = await request(app, "DELETE", PREFS, {"keys": ["a", "c", 5, "missing"]})
    assert (reply.status, reply.body) == (200, b'{"success":true}')
    assert_api_headers(reply)
    assert json.loads((config / "preferences.json").read_text()) == {"$schema": PREFS_SCHEMA, "b": 2, "version": 2}


async def test_delete_preferences_without_match_does_not_write(app: Any, config: Path) -> None:
    config.mkdir(parents=True)
    (config / "preferences.json").write_text('{"version": 1, "x": 1}')
    reply = await request(app, "DELETE", PREFS, {"keys": ["y"]})
    assert reply.status == 200
    assert (config / "preferences.json").read_text() == '{"version": 1, "x": 1}'


@pytest.mark.parametrize("body", [b"{", b"{}", b'{"keys": []}', b'{"keys": "a"}', b'["keys"]'])
async def test_delete_preferences_bad_body_is_400(app: Any, body: bytes) -> None:
    reply = await request(app, "DELETE", PREFS, raw=body)
    assert (reply.status, reply.body) == (400, b"")


async def test_read_only_preferences(tmp_path: Path, config: Path) -> None:
    app = make_app(tmp_path, read_only=True)
    assert (await request(app, "GET", PREFS)).status == 200
    reply = await request(app, "PUT", PREFS, {"a": 1})
    assert (reply.status, reply.body) == (500, b"")
    assert not (config / "preferences.json").exists()
    assert (await request(app, "PUT", PREFS, {})).status == 200
    config.mkdir(parents=True)
    (config / "preferences.json").write_text('{"a": 1}')
    assert (await request(app, "DELETE", PREFS, {"keys": ["a"]})).status == 500
    assert (await request(app, "DELETE", PREFS, {"keys": ["zz"]})).status == 200
    assert (config / "preferences.json").read_text() == '{"a": 1}'


# -- layouts, snippets, workspaces -----------------------------------------------


@pytest.mark.parametrize("kind", OBJECT_KINDS)
async def test_object_round_trip(app: Any, config: Path, kind: str) -> None:
    value = {"zeta": [1, 2], "alpha": {"b": True, "a": None}}
    reply = await request(app, "PUT", f"/api/database/{kind}", {f"{kind}Name": "My Thing", kind: value})
    assert (reply.status, reply.body) == (200, b'{"success":true}')
    assert_api_headers(reply)
    path = config / f"{kind}s" / "My Thing.json"
    assert path.read_text(encoding="utf-8") == expected_file({**value, "$schema": SCHEMAS[kind]})

    await request(app, "PUT", f"/api/database/{kind}", {f"{kind}Name": "another", kind: {"name": "kept"}})
    os.utime(path, (1_700_000_000, 1_700_000_000))
    reply = await request(app, "GET", f"/api/database/list/{kind}s")
    assert reply.status == 200
    assert_api_headers(reply)
    listing = json.loads(reply.body)
    other_date = int((config / f"{kind}s" / "another.json").stat().st_mtime)
    assert listing == {
        "success": True,
        f"{kind}s": [{"name": "My Thing", "date": 1_700_000_000}, {"name": "another", "date": other_date}],
    }
    # Bodies are compact with sorted keys, like nlohmann's dump().
    assert reply.body == json.dumps(listing, sort_keys=True, separators=(",", ":")).encode()
    assert b'{"date":1700000000,"name":"My Thing"}' in reply.body

    reply = await request(app, "GET", f"/api/database/{kind}s")
    assert json.loads(reply.body) == {
        "success": True,
        f"{kind}s": {
            "My Thing": {**value, "$schema": SCHEMAS[kind]},
            "another": {"name": "kept", "$schema": SCHEMAS[kind]},
        },
    }

    reply = await request(app, "GET", f"/api/database/{kind}/My%20Thing")
    assert reply.status == 200
    assert_api_headers(reply)
    assert json.loads(reply.body) == {"success": True, kind: {**value, "$schema": SCHEMAS[kind], "name": "My Thing"}}
    reply = await request(app, "GET", f"/api/database/{kind}/another")
    assert json.loads(reply.body)[kind]["name"] == "kept"

    reply = await request(app, "DELETE", f"/api/database/{kind}", {f"{kind}Name": "My Thing"})
    assert (reply.status, reply.body) == (200, b'{"success":true}')
    assert not path.exists()
    reply = await request(app, "GET", f"/api/database/{kind}/My%20Thing")
    assert (reply.status, reply.body) == (404, b"")


@pytest.mark.parametrize("kind", OBJECT_KINDS)
async def test_object_listing_without_folder_is_empty(app: Any, kind: str) -> None:
    listing = {f"{kind}s": [], "success": True}
    objects = {f"{kind}s": {}, "success": True}
    compact = {"separators": (",", ":"), "sort_keys": True}
    assert (await request(app, "GET", f"/api/database/list/{kind}s")).body == json.dumps(listing, **compact).encode()
    assert (await request(app, "GET", f"/api/database/{kind}s")).body == json.dumps(objects, **compact).encode()


async def test_listing_ignores_non_json_and_skips_malformed(app: Any, config: Path) -> None:
    folder = config / "layouts"
    folder.mkdir(parents=True)
    (folder / "good.json").write_text('{"a": 1}')
    (folder / "bad.json").write_text("{nope")
    (folder / "notes.txt").write_text("x")
    (folder / ".json").write_text("{}")
    (folder / "dir.json").mkdir()
    listing = json.loads((await request(app, "GET", "/api/database/list/layouts")).body)
    assert [item["name"] for item in listing["layouts"]] == ["bad", "good"]
    objects = json.loads((await request(app, "GET", "/api/database/layouts")).body)
    assert objects == {"success": True, "layouts": {"good": {"a": 1}}}
    assert (await request(app, "GET", "/api/database/layout/bad")).status == 404


async def test_object_name_escapes_uppercase_hex_only(app: Any, config: Path) -> None:
    folder = config / "snippets"
    folder.mkdir(parents=True)
    (folder / "%c3%a9.json").write_text('{"code": "x"}')
    (folder / "é.json").write_text('{"code": "y"}')
    (folder / "a%b.json").write_text('{"code": "z"}')
    reply = await request(app, "GET", "/api/database/snippet/%c3%a9")
    assert json.loads(reply.body)["snippet"] == {"code": "x", "name": "%c3%a9"}
    reply = await request(app, "GET", "/api/database/snippet/%C3%A9")
    assert json.loads(reply.body)["snippet"] == {"code": "y", "name": "é"}
    reply = await request(app, "GET", "/api/database/snippet/a%25b")
    assert json.loads(reply.body)["snippet"] == {"code": "z", "name": "a%b"}
    # A name with "/" never leaves the snippets folder.
    (config / "outside.json").write_text("{}")
    assert (await request(app, "GET", "/api/database/snippet/..%2Foutside")).status == 404


@pytest.mark.parametrize(
    "body",
    [
        b"{",
        b"[]",
        b'{"layout": {}}',
        b'{"layoutName": "", "layout": {}}',
        b'{"layoutName": 3, "layout": {}}',
        b'{"layoutName": "x", "layout": [1]}',
        b'{"layoutName": "x"}',
        b'{"layoutName": "../escape", "layout": {}}',
        b'{"layoutName": "..", "layout": {}}',
    ],
)
async def test_put_object_bad_body_is_400(app: Any, config: Path, body: bytes) -> None:
    reply = await request(app, "PUT", "/api/database/layout", raw=body)
    assert (reply.status, reply.body) == (400, b"")
    assert_api_headers(reply)
    assert not (config / "escape.json").exists()
    assert not list(config.rglob("*.json"))


@pytest.mark.parametrize("body", [b"{", b"{}", b'{"workspaceName": ""}', b'{"workspaceName": "missing"}'])
async def test_delete_object_bad_body_or_missing_is_400(app: Any, body: bytes) -> None:
    reply = await request(app, "DELETE", "/api/database/workspace", raw=body)
    assert (reply.status, reply.body) == (400, b"")


async def test_read_only_objects(tmp_path: Path, config: Path) -> None:
    folder = config / "layouts"
    folder.mkdir(parents=True)
    (folder / "keep.json").write_text('{"a": 1}')
    app = make_app(tmp_path, read_only=True)
    reply = await request(app, "PUT", "/api/database/layout", {"layoutName": "new", "layout": {}})
    assert reply.status == 400
    assert not (folder / "new.json").exists()
    assert (await request(app, "DELETE", "/api/database/layout", {"layoutName": "keep"})).status == 400
    assert (folder / "keep.json").exists()
    assert (await request(app, "GET", "/api/database/layout/keep")).status == 200


async def test_database_routes_need_the_token(app: Any) -> None:
    for method, path in [
        ("GET", PREFS), ("PUT", PREFS), ("DELETE", PREFS),
        ("GET", "/api/database/list/layouts"), ("GET", "/api/database/snippets"),
        ("GET", "/api/database/workspace/x"), ("PUT", "/api/database/layout"), ("DELETE", "/api/database/snippet"),
    ]:
        reply = await call(app, method, path, body=b'{"a": 1}')
        assert (method, path, reply.status, reply.body) == (method, path, 403, b"")


async def test_database_disabled_is_501(tmp_path: Path) -> None:
    app = make_app(tmp_path, no_database=True)
    for method in ("GET", "PUT", "DELETE"):
        for path in (PREFS, "/api/database/layouts", "/api/database/anything/else"):
            reply = await call(app, method, path)
            assert (method, path, reply.status, reply.body) == (method, path, 501, b"")


# -- the store directly --------------------------------------------------------


def test_unescape_name() -> None:
    assert unescape_name("a%20b%2Fc") == "a b/c"
    assert unescape_name("a%2fb%4") == "a%2fb%4"
    assert unescape_name("%E2%82%AC%41") == "€A"


def test_write_atomically_leaves_no_temporary_file(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "file.json"
    write_atomically(target, "one")
    write_atomically(target, "two")
    assert target.read_text() == "two"
    assert [p.name for p in target.parent.iterdir()] == ["file.json"]


def test_failed_write_keeps_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = UserStore(tmp_path)
    store.update_preferences(b'{"a": 1}')
    before = store.preferences_path.read_text()

    def broken_replace(src: Any, dst: Any) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(StoreError) as failure:
        store.update_preferences(b'{"a": 2}')
    assert failure.value.status == 500
    assert store.preferences_path.read_text() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["preferences.json"]


def test_unknown_kind_is_a_programming_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        UserStore(tmp_path).list_objects("region")
