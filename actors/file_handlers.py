"""File browser messages: image/region/catalog lists, file info, region and catalog file info.

Each handler validates nothing itself -- path confinement and the reference's
messages live in ``carta_trio.io`` -- and runs the blocking file-system work in a
worker thread (:meth:`Session.run_sync`), so a slow disk or a huge folder never
stalls the session's other messages.

Listings (FILE_LIST, REGION_LIST, CATALOG_LIST) run as concurrent handlers driving
the ``iter_*`` generators of ``carta_trio.io`` one slice at a time: between slices a
due FILE_LIST_PROGRESS is sent (first after 50 ms, then every more than 2 whole
seconds; see :mod:`carta_trio.io.file_list`) and the stop flag is checked. The final
response (100,000 entries are megabytes) is serialised in a worker thread too. STOP_FILE_LIST with
``file_list_type`` Image stops the running image and region listings of this
session, Catalog the catalog listings; a stopped listing sends no response (the
reference's behaviour, BEHAVIOUR.md §5.3). A listing is also stopped, within one
slice, when the session ends (its task is cancelled).

FILE_INFO requests run concurrently with other messages but one at a time per
session (a fair lock), so their responses keep the order of the requests.
"""

from __future__ import annotations

import logging
from collections.abc import Generator
from typing import TYPE_CHECKING, Any


from carta_trio.actors.dispatch import handles
from carta_trio.io import catalog_files, file_info, file_list, region_files
from carta_trio.messages import framing, registry
from carta_trio.messages import schema as pb

if TYPE_CHECKING:
    from carta_trio.actors.session import Session

log = logging.getLogger(__name__)


_DONE = object()


class _StopFlag:
    """Set by STOP_FILE_LIST; read by the listing between slices."""

    __slots__ = ("stopped",)

    def __init__(self) -> None:
        self.stopped = False


def _stop_flags(session: Session, list_type: int) -> set[_StopFlag]:
    stops = session.state.file_list_stops
    return stops.setdefault(int(list_type), set())


def _next_item(generator: Generator[Any, None, None]) -> Any:
    return next(generator, _DONE)


async def drive_listing(session: Session, generator: Generator[Any, None, None], list_type: int) -> Any | None:
    """Run a listing generator to its final message; None if STOP_FILE_LIST stopped it.

    Sends FILE_LIST_PROGRESS (``list_type``) whenever the generator says one is due.
    Cancellable between slices; the generator is closed on every exit path.
    """
    flag = _StopFlag()
    flags = _stop_flags(session, list_type)
    flags.add(flag)
    finished = False
    try:
        while True:
            item = await session.run_sync(_next_item, generator)
            if item is _DONE:
                finished = True
                return None
            if not isinstance(item, file_list.ListProgress):
                finished = True
                return item
            if item.report:
                await session.send_stream(file_list.progress_message(item, list_type))
            if flag.stopped:
                log.info("Session %d: file list stopped after %d of %d entries", session.id, item.checked, item.total)
                return None
    finally:
        flags.discard(flag)
        if finished:
            generator.close()
        else:
            try:
                generator.close()
            except ValueError:
                pass  # still running in an abandoned worker thread; it ends on its own


async def reply_off_loop(session: Session, request_id: int, message: Any) -> None:
    """``session.reply`` with the serialisation in a worker thread (a huge listing's
    response would otherwise stall every session's event loop while it is encoded)."""
    frame = await session.run_sync(framing.pack_frame, registry.event_type_of(message), request_id, message)
    await session.send_frame(frame)


@handles(pb.EventType.STOP_FILE_LIST)
async def on_stop_file_list(session: Session, request_id: int, message: pb.StopFileList) -> None:
    """Stop this session's running listings of the given type (no reply)."""
    for flag in _stop_flags(session, message.file_list_type):
        flag.stopped = True


def _folders(session: Session) -> tuple[str, str]:
    settings = session.settings
    return str(settings.top_level_folder), str(settings.starting_folder)


@handles(pb.EventType.FILE_LIST_REQUEST, concurrent=True, response=pb.FileListResponse)
async def on_file_list(session: Session, request_id: int, message: pb.FileListRequest) -> None:
    """FILE_LIST_RESPONSE, with FILE_LIST_PROGRESS for slow folders."""
    top, starting = _folders(session)
    generator = file_list.iter_file_list(top, starting, message.directory, message.filter_mode)
    response = await drive_listing(session, generator, pb.FileListType.Image)
    if response is not None:
        await reply_off_loop(session, request_id, response)


@handles(pb.EventType.REGION_LIST_REQUEST, concurrent=True, response=pb.RegionListResponse)
async def on_region_list(session: Session, request_id: int, message: pb.RegionListRequest) -> None:
    """REGION_LIST_RESPONSE (progress messages say Image, as the reference's)."""
    top, starting = _folders(session)
    generator = region_files.iter_region_list(top, starting, message.directory, message.filter_mode)
    response = await drive_listing(session, generator, pb.FileListType.Image)
    if response is not None:
        await reply_off_loop(session, request_id, response)


@handles(pb.EventType.CATALOG_LIST_REQUEST, concurrent=True, response=pb.CatalogListResponse)
async def on_catalog_list(session: Session, request_id: int, message: pb.CatalogListRequest) -> None:
    """CATALOG_LIST_RESPONSE, with Catalog-type progress for slow folders."""
    top, starting = _folders(session)
    generator = catalog_files.iter_catalog_list(top, starting, message.directory, message.filter_mode)
    response = await drive_listing(session, generator, pb.FileListType.Catalog)
    if response is not None:
        await reply_off_loop(session, request_id, response)


@handles(pb.EventType.FILE_INFO_REQUEST, concurrent=True, response=pb.FileInfoResponse)
async def on_file_info(session: Session, request_id: int, message: pb.FileInfoRequest) -> None:
    """FILE_INFO_RESPONSE, preceded by INFO ERROR_DATA for HISTORY-derived beams."""
    lock = session.state.file_info_lock
    top, starting = _folders(session)
    async with lock:
        result = await session.run_sync(
            file_info.file_info, top, message.directory, message.file, message.hdu, message.support_aips_beam, starting
        )
        for notice in result.notices:
            await session.send_error(notice, pb.ErrorSeverity.INFO, ["file info"])
        await session.reply(request_id, result.response)


@handles(pb.EventType.REGION_FILE_INFO_REQUEST, concurrent=True, response=pb.RegionFileInfoResponse)
async def on_region_file_info(session: Session, request_id: int, message: pb.RegionFileInfoRequest) -> None:
    """REGION_FILE_INFO_RESPONSE: the region file's lines."""
    top, starting = _folders(session)
    response = await session.run_sync(region_files.region_file_info, top, message.directory, message.file, starting)
    await session.reply(request_id, response)


@handles(pb.EventType.CATALOG_FILE_INFO_REQUEST, concurrent=True, response=pb.CatalogFileInfoResponse)
async def on_catalog_file_info(session: Session, request_id: int, message: pb.CatalogFileInfoRequest) -> None:
    """CATALOG_FILE_INFO_RESPONSE: columns, units and types of a catalog file."""
    top, starting = _folders(session)
    response = await session.run_sync(catalog_files.catalog_file_info, top, starting, message.directory, message.name)
    await session.reply(request_id, response)
