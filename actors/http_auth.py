"""The reference's token check for HTTP requests and WebSocket upgrades (BEHAVIOUR.md §1.4).

A request is authenticated if any of four carriers holds the server's token,
tried in the reference's order: the ``carta-auth-token`` cookie, an
``Authorization: Bearer`` header, the ``token`` query parameter, and the
``carta-auth-token`` header. An empty server token (``--debug_no_auth``, or an
empty ``CARTA_AUTH_TOKEN``) accepts everything. Comparisons are constant-time.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import parse_qsl

_BEARER = re.compile(r"^Bearer\s+(\S+)$")


def _same(candidate: str | None, token: str) -> bool:
    if candidate is None:
        return False
    return hmac.compare_digest(candidate.encode("utf-8", "surrogateescape"), token.encode("utf-8", "surrogateescape"))


def _header_values(headers: Iterable[tuple[bytes, bytes]], name: bytes) -> list[str]:
    return [value.decode("latin-1") for key, value in headers if key.lower() == name]


def cookie_values(headers: Iterable[str], name: str) -> list[str]:
    """Values of the cookies called exactly ``name`` (``xname=`` is another cookie)."""
    out = []
    for header in headers:
        for part in header.split(";"):
            key, sep, value = part.strip().partition("=")
            if sep and key == name:
                out.append(value)
    return out


def query_token(query_string: bytes | str) -> str | None:
    """The first ``token`` query parameter, percent-decoded, or None."""
    if isinstance(query_string, bytes):
        query_string = query_string.decode("latin-1")
    for key, value in parse_qsl(query_string, keep_blank_values=True):
        if key == "token":
            return value
    return None


def is_authenticated(scope: Mapping[str, Any], token: str) -> bool:
    """True if the ASGI ``scope`` (http or websocket) carries ``token``."""
    if not token:
        return True
    headers = scope.get("headers") or []
    if any(_same(value, token) for value in cookie_values(_header_values(headers, b"cookie"), "carta-auth-token")):
        return True
    for value in _header_values(headers, b"authorization"):
        match = _BEARER.search(value)
        if match and _same(match.group(1), token):
            return True
    candidate = query_token(scope.get("query_string", b""))
    if candidate and _same(candidate, token):
        return True
    return any(_same(value, token) for value in _header_values(headers, b"carta-auth-token"))
