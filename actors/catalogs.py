"""Catalog handlers: OPEN_CATALOG_FILE, CATALOG_FILTER_REQUEST, CLOSE_CATALOG_FILE.

Thin glue over ``io.catalog_open`` and ``io.catalog_view`` (FILES_REGIONS_CATALOGS.md
§2.4-2.7). The session's catalogs live in one :class:`CatalogStore`, keyed by the
frontend's catalog file id (independent of image ids). OPEN registers the catalog
as "opening" inline (ordered with the requests around it) and parses in a worker
thread from a child task, so the session keeps serving tiles and cursor while a
big table is read; a filter sent meanwhile waits for the open and streams after
its ack. CLOSE runs inline. A filter request is checked inline and then streamed by a child task as
the session job ``("catalog_filter", file_id)`` (``session.jobs.start``): a newer
request for the same catalog, or closing/reopening it, cancels the stream at the
next chunk. Requests that the
reference ignores or crashes on (unknown id, failed open) get an ERROR_DATA.
"""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING

import trio

from carta_trio.actors.dispatch import handles
from carta_trio.actors.memory import release_memory
from carta_trio.io.catalog_open import build_open_ack, catalog_path, read_catalog
from carta_trio.io.catalog_table import CatalogError, CatalogTable
from carta_trio.io.catalog_view import CatalogPending, CatalogStore, CatalogView
from carta_trio.messages import schema as pb

if TYPE_CHECKING:
    from carta_trio.actors.session import Session

__all__ = ["catalog_store", "open_catalog"]

log = logging.getLogger(__name__)

JOB_KIND = "catalog_filter"
_TAGS = ["catalog"]


def catalog_store(session: Session) -> CatalogStore:
    """The session's open catalogs."""
    store = session.state.catalogs
    if store is None:
        store = session.state.catalogs = CatalogStore()
    return store


def _read(top: str, starting: str, directory: str, name: str) -> tuple[CatalogTable, int]:
    path = catalog_path(top, starting, directory, name)
    return read_catalog(path), os.path.getsize(path)


async def open_catalog(session: Session, request: pb.OpenCatalogFile, token: object = None) -> pb.OpenCatalogFileAck:
    """Open (or reopen) a catalog; the ack, success or not. Used by RESUME_SESSION too.

    ``token`` marks this open in the store while it runs (filters wait for it); if the
    catalog was closed or reopened meanwhile, the ack is still made but the table dropped.
    """
    store = catalog_store(session)
    session.jobs.cancel(JOB_KIND, request.file_id)
    token = object() if token is None else token
    store.opening(request.file_id, token)
    settings = session.settings
    try:
        table, size = await session.run_sync(
            _read, str(settings.top_level_folder), str(settings.starting_folder), request.directory, request.name
        )
        if table.rows == 0:
            raise CatalogError("The table has no rows")
    except CatalogError as exc:
        if store.is_opening(request.file_id, token):
            store.failed(request.file_id, str(exc))
        return pb.OpenCatalogFileAck(success=False, file_id=request.file_id, message=str(exc))
    # Parsing leaves many freed small objects behind; give those pages back (RSS ~ column bytes).
    await session.run_sync(release_memory)
    if store.is_opening(request.file_id, token):
        store.opened(request.file_id, table)
        notes = table.unsupported_notes()
        if notes:  # one ERROR_DATA per message (limits.MAX_ERRORS_PER_MESSAGE)
            await session.send_error(f"{request.name}: " + "; ".join(notes), pb.ErrorSeverity.INFO, _TAGS)
    return await session.run_sync(
        build_open_ack, table, request.file_id, request.name, size, request.preview_data_size
    )


@handles(pb.EventType.OPEN_CATALOG_FILE, response=pb.OpenCatalogFileAck)
async def on_open_catalog_file(session: Session, request_id: int, message: pb.OpenCatalogFile) -> None:
    """Register the open now (ordered with what follows), parse and answer in a child task,
    so this session's other messages (tiles, cursor) are served while a big table is read."""
    done = trio.Event()
    catalog_store(session).opening(message.file_id, done)
    session.spawn("OPEN_CATALOG_FILE", _open_and_reply, session, request_id, message, done)


async def _open_and_reply(session: Session, request_id: int, message: pb.OpenCatalogFile, done: trio.Event) -> None:
    try:
        try:
            ack = await open_catalog(session, message, done)
        except Exception as exc:  # noqa: BLE001 - the ack must still go out
            log.exception("Opening catalog %s failed", message.name)
            store = catalog_store(session)
            if store.is_opening(message.file_id, done):
                store.failed(message.file_id, f"{type(exc).__name__}: {exc}")
            ack = pb.OpenCatalogFileAck(success=False, file_id=message.file_id, message=f"Cannot open catalog: {exc}")
        await session.reply(request_id, ack)
    finally:
        store = catalog_store(session)
        if store.is_opening(message.file_id, done):  # cancelled: the connection went meanwhile
            store.failed(message.file_id, "the connection closed while it was opening")
        done.set()


@handles(pb.EventType.CLOSE_CATALOG_FILE)
async def on_close_catalog_file(session: Session, request_id: int, message: pb.CloseCatalogFile) -> None:
    session.jobs.cancel(JOB_KIND, message.file_id)
    catalog_store(session).close(message.file_id)


@handles(pb.EventType.CATALOG_FILTER_REQUEST)
async def on_catalog_filter(session: Session, request_id: int, message: pb.CatalogFilterRequest) -> None:
    # The job's slot is claimed now, so of two requests the later always wins.
    try:
        view = catalog_store(session).view(message.file_id)
    except CatalogPending as pending:
        session.jobs.start(JOB_KIND, message.file_id, "CATALOG_FILTER_REQUEST", _stream_after_open, session, message,
                           pending.token)
        return
    except CatalogError as exc:
        await session.send_error(str(exc), pb.ErrorSeverity.WARNING, _TAGS)
        return
    session.jobs.start(JOB_KIND, message.file_id, "CATALOG_FILTER_REQUEST", _stream_filter, session, view, message)


async def _stream_after_open(session: Session, message: pb.CatalogFilterRequest, token: object) -> None:
    """A filter sent right after OPEN_CATALOG_FILE: wait for the open (its ack goes first), then stream."""
    if isinstance(token, trio.Event):
        await token.wait()
    try:
        view = catalog_store(session).view(message.file_id)
    except CatalogError as exc:
        await session.send_error(str(exc), pb.ErrorSeverity.WARNING, _TAGS)
        return
    await _stream_filter(session, view, message)


async def _stream_filter(session: Session, view: CatalogView, message: pb.CatalogFilterRequest) -> None:
    """The job's body (its cancel scope is around it): plan in a worker thread, then one chunk at a time."""
    plan = await session.run_sync(view.plan, message)
    if plan.notes:  # one ERROR_DATA per message (limits.MAX_ERRORS_PER_MESSAGE)
        await session.send_error("; ".join(plan.notes), pb.ErrorSeverity.WARNING, _TAGS)
    for begin, end in plan.chunks():
        response = await session.run_sync(plan.response, begin, end)
        await session.send_stream(response)
