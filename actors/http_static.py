"""Serving the built CARTA frontend's static files (BEHAVIOUR.md §2.2).

Rules of the reference: ``/`` maps to ``index.html``; leading slashes are
stripped and the rest joined to the frontend folder; a path that resolves outside
the folder, to the folder itself, or whose relative form contains ``..`` is
answered 403. With ``gzip`` in ``Accept-Encoding`` a regular ``<file>.gz`` is
sent instead with ``Content-Encoding: gzip``. Missing or unreadable files get an
empty 404, empty or failing reads an empty 500. No authentication, query strings
ignored.

One deliberate difference: for a ``.gz`` variant the reference omits
``Content-Type`` (it looks up the ``.gz`` extension); we send the type of the
uncompressed name, so ``.wasm.gz`` still streams as ``application/wasm``.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import trio
from starlette.requests import Request
from starlette.responses import Response

log = logging.getLogger(__name__)

#: The reference's MIME table (``BE:src/HttpServer/MimeTypes.h``); others get no type.
MIME_TYPES = {
    ".css": "text/css",
    ".htm": "text/html",
    ".html": "text/html",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".js": "text/javascript",
    ".json": "application/json",
    ".png": "image/png",
    ".svg": "image/svg+xml",
    ".woff": "font/woff",
    ".woff2": "font/woff2",
    ".wasm": "application/wasm",
}


def is_valid_frontend_folder(folder: Path | None) -> bool:
    """A directory holding a readable regular ``index.html`` (the reference's test)."""
    if folder is None:
        return False
    index = Path(folder) / "index.html"
    try:
        if not Path(folder).is_dir() or not index.is_file():
            return False
        with open(index, "rb"):
            return True
    except OSError:
        return False


def resolve_static_path(folder: Path, url_path: str) -> Path | None:
    """The file a URL path names inside ``folder``, or None if it must be refused (403)."""
    relative = url_path.lstrip("/")
    if "\0" in relative:
        return None
    candidate = Path(folder) / (relative or "index.html")
    root = os.path.realpath(folder)
    try:
        rel = os.path.relpath(os.path.realpath(candidate), root)
    except ValueError:
        return None
    # The reference refuses any relative form containing "..", even inside a name.
    if not rel or ".." in rel:
        return None
    return candidate


def _read_file(path: Path, accepts_gzip: bool) -> tuple[int, bytes, bool]:
    """(status, body, gzip) for one file; blocking, run in a worker thread."""
    gzip_path = path.with_name(path.name + ".gz")
    compressed = accepts_gzip and gzip_path.is_file()
    target = gzip_path if compressed else path
    if not target.is_file():
        return 404, b"", False
    try:
        with open(target, "rb") as f:
            data = f.read()
    except PermissionError:
        return 404, b"", False
    except OSError as exc:
        log.warning("Could not read frontend file %s: %s", target, exc)
        return 500, b"", False
    if not data:
        return 500, b"", False
    return 200, data, compressed


async def serve_static(request: Request, folder: Path) -> Response:
    """Answer one GET for a frontend file."""
    path = resolve_static_path(folder, request.scope["path"])
    if path is None:
        return Response(status_code=403)
    accepts_gzip = "gzip" in request.headers.get("accept-encoding", "")
    status, body, compressed = await trio.to_thread.run_sync(_read_file, path, accepts_gzip)
    if status != 200:
        return Response(status_code=status)
    headers = {"Content-Encoding": "gzip"} if compressed else {}
    mime = MIME_TYPES.get(path.suffix)
    if mime is not None:
        # Set verbatim: Starlette's media_type would append "; charset=utf-8".
        headers["Content-Type"] = mime
    return Response(content=body, status_code=200, headers=headers)
