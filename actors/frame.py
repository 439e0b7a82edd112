"""The Frame actor: one open image, and the owner of all work on it.

A newcomer's map of the actor layer starts here (then :mod:`carta_trio.actors.jobs`):

- **Lifetime.** :meth:`Frame.run` opens the frame's nursery; the actor loop, every
  job (:attr:`Frame.jobs`, see :mod:`~carta_trio.actors.jobs`), stream and overlay of
  the frame run in it. CLOSE_FILE, replacing the file id and disconnect all call
  ``await frame.aclose()``: it cancels the nursery, waits until the loop and its
  children have stopped, and closes the reader once no reader call is in flight
  (:class:`~carta_trio.io.reader_guard.GuardedReader`: a cancelled caller's worker
  thread may still be inside the file; the last one out closes it). There are no
  close hooks: whatever belongs to a frame lives in its nursery or its attributes.
- **Inbox.** Coalescing: of a burst of SET_IMAGE_CHANNELS only the latest is served
  (the ICD's command-queue note), the newest tile request is served first, and
  animation steps run as a unit.
- **Channel change.** After a new plane is loaded, the work that follows the channel
  runs in the one order of :mod:`carta_trio.actors.channel_change` (BEHAVIOUR.md §4.4).
- **State.** Typed attributes: :attr:`Frame.analytics` (requirements and caches of
  the region streams), :attr:`Frame.contours`, :attr:`Frame.vectors`,
  :attr:`Frame.cursor_inbox` and :attr:`Frame.facts` (header-derived values).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import trio

from carta_trio.actors import region_data
from carta_trio.actors.analytics_state import FrameAnalytics
from carta_trio.actors.frame_state import AnimationStep, FrameFacts
from carta_trio.actors.frame_pixels import FramePixels
from carta_trio.actors.jobs import Jobs
from carta_trio.actors.session import own_error_budget
from carta_trio.actors.tile_queue import TileQueue
from carta_trio.analysis import polarization
from carta_trio.io import reader_pool
from carta_trio.io.reader_guard import GuardedReader
from carta_trio.messages import schema as pb

if TYPE_CHECKING:
    from carta_trio.actors.contours import ContourState
    from carta_trio.actors.cursor import CursorInbox
    from carta_trio.actors.session import Session
    from carta_trio.actors.vector_overlay import VectorState
    from carta_trio.io.image_reader import ImageReader

log = logging.getLogger(__name__)

#: Seconds :meth:`Frame.aclose` waits for reader calls in flight (a cancelled caller's
#: thread); after that the last call out closes the reader on its own.
READER_CLOSE_WAIT = 10.0


def _inside(nursery: trio.Nursery) -> bool:
    """True when the current task is a (grand)child of ``nursery``."""
    task: trio.lowlevel.Task | None = trio.lowlevel.current_task()
    while task is not None:
        parent = task.parent_nursery
        if parent is None:
            return False
        if parent is nursery:
            return True
        task = parent.parent_task
    return False


class Frame(FramePixels):
    """State of one open image; its actor loop is :meth:`run`."""

    def __init__(self, session: Session, file_id: int, reader: ImageReader, name: str) -> None:
        self.session = session
        self.file_id = file_id
        # Every frame showing the same file shares one reader and its cached planes, mips
        # and tiles (io/reader_pool); the guard's close releases this frame's handle.
        self._guard = reader if isinstance(reader, GuardedReader) else GuardedReader(reader_pool.adopt(reader))
        #: The image; every call on it is counted in flight (see the module docstring).
        self.reader: ImageReader = cast("ImageReader", self._guard)
        self.name = name
        self.width = reader.width
        self.height = reader.height
        self.depth = reader.depth
        self.num_stokes = reader.num_stokes
        self.channel = 0
        self.stokes = 0
        self._plane: np.ndarray | None = None
        self._mips: dict[int, np.ndarray] = {}
        self._mips_pending: dict[int, trio.Event] = {}
        self._pending_channels: pb.SetImageChannels | None = None
        #: SET_IMAGE_CHANNELS posted / applied (a coalesced one counts as applied with
        #: the newer one), so later messages can wait for the channel they must see.
        self._channels_posted = 0
        self._channels_applied = 0
        self._channels_settled = trio.Event()
        self._closed = False
        self._pending_steps: list[AnimationStep] = []
        #: Set once the render histogram that OPEN_FILE sends after its ack is out (or
        #: the frame closed): the first tiles are computed meanwhile, sent after it.
        self._first_histogram: trio.Event | None = None
        self._queue = TileQueue()
        self._wake = trio.Event()
        self._plane_lock = trio.Lock()
        self._nursery: trio.Nursery | None = None
        self._started = False
        self._stopped = trio.Event()
        self._closing = False
        #: The frame's jobs, one per slot ``(kind, key)``; :meth:`aclose` cancels them all.
        self.jobs = Jobs(session, self.spawn)
        #: Requirements, caches and cursor of the region streams (analytics_state).
        self.analytics = FrameAnalytics()
        #: Contour settings (None until SET_CONTOUR_PARAMETERS).
        self.contours: ContourState | None = None
        #: Vector-overlay settings (None until SET_VECTOR_OVERLAY_PARAMETERS).
        self.vectors: VectorState | None = None
        #: The newest unserved SET_CURSOR (cursor.py).
        self.cursor_inbox: CursorInbox | None = None
        #: Values derived once from the header (flux context, sky, pixel scale...).
        self.facts = FrameFacts()


    # ---------------------------------------------------------------- lifecycle

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Load channel 0 / Stokes 0, then serve posted work until :meth:`aclose`.

        The frame's nursery lives as long as this call: the loop and every job,
        stream and overlay of the frame run in it.
        """
        own_error_budget()  # its errors belong to the work it serves, not to OPEN_FILE
        try:
            async with trio.open_nursery() as nursery:
                self._nursery = nursery
                if self._closing:
                    nursery.cancel_scope.cancel()
                await self.load_plane()
                self._started = True
                task_status.started()
                while True:
                    await self._wake.wait()
                    self._wake = trio.Event()
                    await self._drain()
        finally:
            self._nursery = None
            self._release()
            self._stopped.set()

    def spawn(self, name: str, fn: Any, *args: object) -> None:
        """Start a supervised child task (a job, a stream) in the frame's nursery.

        A failure is logged and reported as ERROR_DATA naming ``name``; the frame keeps
        serving. Nothing starts once the frame is closing.
        """
        if self._nursery is None or self._closing:
            return
        self._nursery.start_soon(self._supervised, name, fn(*args), name=name)

    async def aclose(self) -> None:
        """Stop the frame and release the image (CLOSE_FILE, a replaced file id, disconnect).

        Cancels the frame's nursery and its jobs, waits until they have stopped, then
        waits (bounded) until no reader call is in flight and the reader is closed.
        Idempotent; safe from inside the frame's own tasks (it then only cancels).
        """
        self._closing = True
        self.jobs.close()
        nursery = self._nursery
        with trio.CancelScope(shield=True):
            if nursery is not None:
                nursery.cancel_scope.cancel()
                if _inside(nursery):
                    return
                await self._stopped.wait()
            else:
                self._release()
            with trio.move_on_after(READER_CLOSE_WAIT):
                while not self._guard.closed:
                    await trio.sleep(0.002)

    def _release(self) -> None:
        """Drop the caches and close the reader (now, or as its last call returns)."""
        self._closing = True
        self._closed = True
        self._channels_settled.set()
        if self._first_histogram is not None:
            self._first_histogram.set()
        self.jobs.close()
        self._plane = None
        self._mips.clear()
        self._guard.close()

    @property
    def closing(self) -> bool:
        """True once :meth:`aclose` has been called (or the actor stopped)."""
        return self._closing

    # ------------------------------------------------------------------ inbox

    def post_channels(self, message: pb.SetImageChannels) -> None:
        """Queue a channel change; a newer one replaces one not yet started.

        The jobs that follow the channel (contours, vectors) are cancelled at once, so
        work for the outgoing channel stops now rather than finishing first.
        """
        from carta_trio.actors.channel_change import FOLLOW_CHANNEL_JOBS

        self._pending_channels = message
        self._channels_posted += 1
        for kind in FOLLOW_CHANNEL_JOBS:
            self.jobs.cancel(kind)
        self._wake.set()

    async def channels_settled(self) -> None:
        """Return once every SET_IMAGE_CHANNELS posted so far is applied (or the frame
        closed): a message that arrived after a channel change then sees the new channel."""
        while self._channels_applied < self._channels_posted and not self._closed:
            await self._channels_settled.wait()

    def post_tiles(self, message: pb.AddRequiredTiles, animation_id: int = 0) -> None:
        """Queue a tile request for the current channel; served newest first."""
        if not message.tiles:
            return
        self._queue.push(self._make_request(message, animation_id))
        self._wake.set()

    async def animation_switch(self, channel: int, stokes: int) -> tuple[bool, bool] | None:
        """Animation phase 1: make (channel, stokes) current and send the render histogram
        and the image's derived streams. Returns (channel_changed, stokes_changed), or
        None when the plane did not change (then nothing at all was sent).

        The frame actor runs each phase as a unit; cancelling the caller only stops
        the wait, never the phase half-way, so no frame is ever half sent.
        """
        step = AnimationStep(channel, stokes, None, 0, "switch")
        self._pending_steps.append(step)
        self._wake.set()
        await step.done.wait()
        return step.changed

    async def animation_send(
        self, changed: tuple[bool, bool], tiles: pb.AddRequiredTiles | None, animation_id: int
    ) -> None:
        """Animation phase 2: contours, vector overlay, then the animation view's tiles."""
        step = AnimationStep(self.channel, self.stokes, tiles, animation_id, "send")
        step.changed = changed
        self._pending_steps.append(step)
        self._wake.set()
        await step.done.wait()

    async def _drain(self) -> None:
        """Serve posted work, most urgent first; a failing item is reported and dropped."""
        while True:
            if self._pending_steps:
                step = self._pending_steps.pop(0)
                with trio.CancelScope(shield=True):
                    try:
                        await self._supervised("animation", self._apply_step(step))
                    finally:
                        step.done.set()
                continue
            if self._pending_channels is not None:
                message, self._pending_channels = self._pending_channels, None
                generation = self._channels_posted
                try:
                    await self._supervised("channels", self._apply_channels(message))
                finally:
                    self._channels_applied = generation
                    self._channels_settled.set()
                    self._channels_settled = trio.Event()
                continue
            request = self._queue.newest()
            if request is None:
                return
            if not await self._supervised("tiles", self._serve_tile_batch(request)):
                self._queue.discard(request)

    async def _supervised(self, tag: str, work: Awaitable[None]) -> bool:
        """Run one work item or child task; a failure becomes ERROR_DATA and the frame
        keeps serving."""
        try:
            await work
        except Exception as exc:  # noqa: BLE001 - the frame's supervision boundary
            log.exception("File %d: %s failed", self.file_id, tag)
            await self.session.send_error(
                f"File {self.file_id} ({self.name}): {tag} failed: {exc}", pb.ErrorSeverity.ERROR, [tag]
            )
            return False
        return True

    # --------------------------------------------------------------- channels

    def valid_channel(self, channel: int, stokes: int) -> bool:
        """Channel in the image; Stokes an index of the image, or a computed polarization
        (13-17) whose components the image has."""
        if not 0 <= channel < self.depth:
            return False
        if polarization.is_computed(stokes):
            present = region_data.component_indices(self.reader)
            return all(present.get(name) is not None for name in polarization.required_components(stokes))
        return 0 <= stokes < self.num_stokes

    async def _apply_channels(self, message: pb.SetImageChannels) -> None:
        if await self._switch_to(message.channel, message.stokes, "channels"):
            if message.HasField("required_tiles") and message.required_tiles.tiles:
                self._queue.push(self._make_request(message.required_tiles, 0))

    async def _switch_to(self, channel: int, stokes: int, tag: str) -> bool:
        """Make (channel, stokes) current and send what follows it (BEHAVIOUR.md §4.4).

        Returns False (after an ERROR_DATA) if the pair is outside the image.
        """
        if not self.valid_channel(channel, stokes):
            await self.session.send_error(
                f"Channel {channel} or Stokes {stokes} is invalid in image", pb.ErrorSeverity.ERROR, [tag]
            )
            return False
        channel_changed, stokes_changed = channel != self.channel, stokes != self.stokes
        if channel_changed or stokes_changed:
            from carta_trio.actors import channel_change

            await self.load_plane(channel, stokes)
            await channel_change.after_channel_change(self, channel_changed, stokes_changed)
        return True

    async def _apply_step(self, step: AnimationStep) -> None:
        from carta_trio.actors import channel_change

        if step.phase == "switch":
            if not self.valid_channel(step.channel, step.stokes):
                await self.session.send_error(
                    f"Channel {step.channel} or Stokes {step.stokes} is invalid in image",
                    pb.ErrorSeverity.ERROR, ["animation"],
                )
                return
            channel_changed, stokes_changed = step.channel != self.channel, step.stokes != self.stokes
            if not (channel_changed or stokes_changed):
                return  # the reference's SetImageChannels refuses an unchanged plane silently
            await self.load_plane(step.channel, step.stokes)
            step.changed = (channel_changed, stokes_changed)
            await channel_change.render_and_streams(self, channel_changed, stokes_changed)
            return
        assert step.changed is not None
        await channel_change.overlays(self)
        if step.tiles is None or not step.tiles.tiles:
            return
        request = self._make_request(step.tiles, step.animation_id)
        await self._serve_tile_batch(request, preemptible=False)

    async def load_plane(self, channel: int | None = None, stokes: int | None = None) -> None:
        """Make (channel, stokes) current (default: reload the current one).

        The plane is read first and only then do ``channel``/``stokes`` change, so
        nothing ever pairs the new channel number with the old plane.
        """
        channel = self.channel if channel is None else channel
        stokes = self.stokes if stokes is None else stokes
        async with self._plane_lock:
            self._plane = await self.session.run_sync(_shared_plane, self.reader, channel, stokes)
            self._mips = {1: self._plane}
            self.channel, self.stokes = channel, stokes

    async def read_plane(self, channel: int, stokes: int) -> np.ndarray:
        """Any plane of the image (the current one from memory), read off the event loop.

        Serialised with the frame's own plane loads, so readers that are not
        thread-safe (h5py, casacore) are never used from two threads at once.
        """
        if (channel, stokes) == (self.channel, self.stokes) and self._plane is not None:
            return self._plane
        async with self._plane_lock:
            return await self.session.run_sync(_shared_plane, self.reader, channel, stokes)

    @property
    def reader_lock(self) -> trio.Lock:
        """Held around whole-plane reads (the frame's own loads, other planes), so readers
        that are not thread-safe (h5py, casacore) are never used from two threads at once."""
        return self._plane_lock


def _shared_plane(reader: Any, channel: int, stokes: int) -> np.ndarray:
    """Plane (channel, stokes) as contiguous float32, read once for every frame of the
    file while it stays in the shared cache (blocking)."""
    return reader_pool.cached(
        reader, ("plane", channel, stokes),
        lambda: np.ascontiguousarray(region_data.read_plane(reader, channel, stokes), dtype=np.float32),
    )
