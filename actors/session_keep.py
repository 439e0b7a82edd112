"""What a session keeps while no viewer is attached, and how RESUME_SESSION gets it back.

A session outlives a dropped connection for the reconnect grace period
(:mod:`~carta_trio.actors.session_manager`). While nobody is attached it *parks*
(:func:`park`):

- everything that works for a viewer stops: the animation, every frame's jobs and streams,
  the session's jobs (catalog filters), scripting requests waiting for a response. Their
  results would answer requests the frontend has forgotten: a reconnecting frontend starts
  its request ids at 1 again, so a late MOMENT_RESPONSE could even resolve the wrong
  request. The reference's RESUME_SESSION cancels them too;
- every frame closes as CLOSE_FILE -1 closes it, but the session first takes another
  handle on its image (:class:`KeptImage`, :func:`~carta_trio.io.reader_pool.share`). The
  image stays open with its cached planes, mips, tiles and histograms, and an image that
  exists only in memory (a moment, PV or fitting result) is not lost.

RESUME_SESSION (:mod:`~carta_trio.actors.resume`) parks too (the reference closes all files
first), then opens what the frontend lists: a file still held opens on the kept reader
(the pool finds it while the file is unchanged: same path, inode, size and time), a listed
in-memory image under its file id and name comes back as it was (:func:`take_generated`);
what is left is released (:func:`release`). CLOSE_FILE releases what it names; the session's
end releases everything.

The released frontend (4.1.0) closes its in-memory images itself before RESUME_SESSION (its
reconnect dialog says they will be unloaded), so for it the gain is the cheap reopen.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import TYPE_CHECKING

from carta_trio.io import reader_pool
from carta_trio.io.reader_pool import PooledReader
from carta_trio.messages import schema as pb

if TYPE_CHECKING:
    from carta_trio.actors.session import Session

log = logging.getLogger(__name__)


@dataclasses.dataclass(eq=False)
class KeptImage:
    """A handle on the image a closed frame showed, kept for RESUME_SESSION."""

    file_id: int
    name: str
    handle: PooledReader
    #: Made in memory (moment, PV, fitting result, expression): no file to reopen it from.
    in_memory: bool

    def release(self) -> None:
        self.handle.close()


async def park(session: Session) -> None:
    """Stop all work of the session and close its frames, keeping their images."""
    from carta_trio.actors import scripting
    from carta_trio.actors.frame_handlers import close_all_frames

    session.jobs.cancel()
    scripting.abandon_pending(session)
    kept = session.state.kept_images
    for file_id, frame in session.frames.items():
        handle = reader_pool.share(frame.reader)
        if handle is None:
            continue
        old = kept.pop(file_id, None)
        if old is not None:
            old.release()
        kept[file_id] = KeptImage(file_id, frame.name, handle, reader_pool.is_adopted(handle))
    await close_all_frames(session)  # the animation too


def take_generated(session: Session, image: pb.ImageProperties) -> PooledReader | None:
    """The kept in-memory image RESUME_SESSION lists (same file id and name), now the
    caller's to open; None if the session did not keep it."""
    if image.lel_expr or len(image.stokes_files) > 1:
        return None
    kept = session.state.kept_images.get(image.file_id)
    if kept is None or not kept.in_memory or kept.name != image.file:
        return None
    del session.state.kept_images[image.file_id]
    return kept.handle


def release(session: Session, file_id: int | None = None) -> None:
    """Let go of the kept image ``file_id`` (None: all of them)."""
    kept = session.state.kept_images
    ids = list(kept) if file_id is None else [file_id]
    for key in ids:
        image = kept.pop(key, None)
        if image is not None:
            image.release()
