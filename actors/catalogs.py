"""Catalog handlers: OPEN_CATALOG_FILE, CATALOG_FILTER_REQUEST, CLOSE_CATALOG_FILE.

Thin glue over ``io.catalog_open`` and ``io.catalog_view`` (FILES_REGIONS_CATALOGS.md
§2.4-2.7). The session's catalogs live in one :class:`CatalogStore`, keyed by the
frontend's catalog file id (independent of image ids). Open and close run inline
(ordered with the requests around them; parsing itself happens in a worker
thread). A filter request is checked inline and then streamed by a child task as
the session job ``("catalog_filter", file_id)`` (``session.jobs.start``): a newer
request for the same catalog, or closing/reopening it, cancels the stream at the
next chunk. Requests that the
reference ignores or crashes on (unknown id, failed open) get an ERROR_DATA.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from carta_trio.actors.dispatch import handles
from carta_trio.io.catalog_open import build_open_ack, catalog_path, read_catalog
from carta_trio.io.catalog_table import CatalogError, CatalogTable
from carta_trio.io.catalog_view import CatalogStore, CatalogView
from carta_trio.messages import schema as pb

if TYPE_CHECKING:
    from carta_trio.actors.session import Session

__all__ = ["catalog_store", "open_catalog"]

JOB_KIND = "catalog_filter"
_STORE_KEY = "catalogs"
_TAGS = ["catalog"]


def catalog_store(session: Session) -> CatalogStore:
    """The session's open catalogs."""
    return session.state.setdefault(_STORE_KEY, CatalogStore())


def _read(top: str, starting: str, directory: str, name: str) -> tuple[CatalogTable, int]:
    path = catalog_path(top, starting, directory, name)
    return read_catalog(path), os.path.getsize(path)


async def open_catalog(session: Session, request: pb.OpenCatalogFile) -> pb.OpenCatalogFileAck:
    """Open (or reopen) a catalog; the ack, success or not. Used by RESUME_SESSION too."""
    store = catalog_store(session)
    session.jobs.cancel(JOB_KIND, request.file_id)
    store.close(request.file_id)
    settings = session.settings
    try:
        table, size = await session.run_sync(
            _read, str(settings.top_level_folder), str(settings.starting_folder), request.directory, request.name
        )
        if table.rows == 0:
            raise CatalogError("The table has no rows")
    except CatalogError as exc:
        store.failed(request.file_id, str(exc))
        return pb.OpenCatalogFileAck(success=False, file_id=request.file_id, message=str(exc))
    store.opened(request.file_id, table)
    notes = table.unsupported_notes()
    if notes:  # one ERROR_DATA per message (limits.MAX_ERRORS_PER_MESSAGE)
        await session.send_error(f"{request.name}: " + "; ".join(notes), pb.ErrorSeverity.INFO, _TAGS)
    return await session.run_sync(
        build_open_ack, table, request.file_id, request.name, size, request.preview_data_size
    )


@handles(pb.EventType.OPEN_CATALOG_FILE, response=pb.OpenCatalogFileAck)
async def on_open_catalog_file(session: Session, request_id: int, message: pb.OpenCatalogFile) -> None:
    await session.reply(request_id, await open_catalog(session, message))


@handles(pb.EventType.CLOSE_CATALOG_FILE)
async def on_close_catalog_file(session: Session, request_id: int, message: pb.CloseCatalogFile) -> None:
    session.jobs.cancel(JOB_KIND, message.file_id)
    catalog_store(session).close(message.file_id)


@handles(pb.EventType.CATALOG_FILTER_REQUEST)
async def on_catalog_filter(session: Session, request_id: int, message: pb.CatalogFilterRequest) -> None:
    try:
        view = catalog_store(session).view(message.file_id)
    except CatalogError as exc:
        await session.send_error(str(exc), pb.ErrorSeverity.WARNING, _TAGS)
        return
    # The job's slot is claimed now, so of two requests the later always wins.
    session.jobs.start(JOB_KIND, message.file_id, "CATALOG_FILTER_REQUEST", _stream_filter, session, view, message)


async def _stream_filter(session: Session, view: CatalogView, message: pb.CatalogFilterRequest) -> None:
    """The job's body (its cancel scope is around it): plan in a worker thread, then one chunk at a time."""
    plan = await session.run_sync(view.plan, message)
    if plan.notes:  # one ERROR_DATA per message (limits.MAX_ERRORS_PER_MESSAGE)
        await session.send_error("; ".join(plan.notes), pb.ErrorSeverity.WARNING, _TAGS)
    for begin, end in plan.chunks():
        response = await session.run_sync(plan.response, begin, end)
        await session.send_stream(response)
