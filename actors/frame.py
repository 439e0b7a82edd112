"""The Frame actor: one open image.

A frame owns its reader, the current plane and its mip pyramid, and the queue of
tile requests. Its inbox is coalescing: of a burst of SET_IMAGE_CHANNELS only the
latest is served (the ICD's command-queue note), and the newest tile request is
served first. Analytics that follow the channel register a hook in
:attr:`Frame.channel_listeners`; the frame awaits them, in order, between the
image histogram and the tiles of a channel change (BEHAVIOUR.md §4.4).

Cancelling the frame's scope (CLOSE_FILE, disconnect) stops whatever it was
doing; :meth:`close` also releases the reader.
"""

from __future__ import annotations

import collections
import logging
import os
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import numpy as np
import trio

from carta_trio.actors.image_histogram import histogram_message, plane_histogram
from carta_trio.actors.tile_queue import TileQueue, TileRequest, encode_tile_frames
from carta_trio.actors import region_data
from carta_trio.actors.session import own_error_budget
from carta_trio.analysis import histograms, polarization
from carta_trio.codecs import downsample, raster_tiles, tile_geometry
from carta_trio.messages import schema as pb

if TYPE_CHECKING:
    from carta_trio.actors.session import Session
    from carta_trio.io.image_reader import ImageReader

log = logging.getLogger(__name__)

ChannelListener = Callable[["Frame", bool, bool], Awaitable[None]]

#: Channel listeners ordered below this run before the image histogram.
HISTOGRAM_ORDER = 30

#: Encoded tiles kept per frame (a 4K plane has 256 full-resolution tiles).
TILE_CACHE_SIZE = 1024
#: Tiles encoded per worker-thread call.
TILE_GROUP = 4
#: Groups being encoded at once: one per core and one more ready to start, so no core
#: idles while the event loop forwards a finished group; few enough that a newer
#: request waits only a few milliseconds.
TILE_GROUPS_IN_FLIGHT = (os.cpu_count() or 1) + 1
#: Row bands a plane's block mean is split into (one per core).
MIP_PARTS = os.cpu_count() or 1


def _order(listener: ChannelListener) -> int:
    return int(getattr(listener, "channel_order", HISTOGRAM_ORDER))


class AnimationStep:
    """One animation phase posted to a frame actor, with a completion event.

    ``phase`` is ``"switch"`` (make the plane current; render histogram and the
    image's derived streams) or ``"send"`` (contours, vectors, then the animation
    view's tiles). The animation actor runs every file's switch before any file's
    send, as the reference's ``ExecuteAnimationFrameInner`` does. ``changed``
    reports whether the switch changed the plane (nothing is sent otherwise).
    """

    def __init__(
        self, channel: int, stokes: int, tiles: pb.AddRequiredTiles | None, animation_id: int, phase: str
    ) -> None:
        self.channel = channel
        self.stokes = stokes
        self.tiles = tiles
        self.animation_id = animation_id
        self.phase = phase
        self.changed: tuple[bool, bool] | None = None
        self.done = trio.Event()


class Frame:
    """State of one open image; its actor loop is :meth:`run`."""

    def __init__(self, session: Session, file_id: int, reader: ImageReader, name: str) -> None:
        self.session = session
        self.file_id = file_id
        self.reader = reader
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
        self._tiles: dict[tuple[Any, ...], raster_tiles.EncodedTile] = {}
        self._pending_channels: pb.SetImageChannels | None = None
        #: SET_IMAGE_CHANNELS posted / applied (a coalesced one counts as applied with
        #: the newer one), so later messages can wait for the channel they must see.
        self._channels_posted = 0
        self._channels_applied = 0
        self._channels_settled = trio.Event()
        self._closed = False
        self._pending_steps: list[AnimationStep] = []
        self._queue = TileQueue()
        self._wake = trio.Event()
        self._scope: trio.CancelScope | None = None
        self._plane_lock = trio.Lock()
        #: Coroutines called as ``listener(frame, channel_changed, stokes_changed)`` after a
        #: channel change, ordered by their ``channel_order`` attribute: those below
        #: :data:`HISTOGRAM_ORDER` (contours, vectors) before the image histogram, the
        #: rest (region streams) after it (BEHAVIOUR.md §4.4).
        self.channel_listeners: list[ChannelListener] = []
        #: Plain callables ``hook(frame)`` run when a channel change is queued.
        self.channel_posted_hooks: list[Callable[[Frame], None]] = []
        #: Free slots for analytics modules (regions, contours, ...).
        self.state: dict[str, Any] = {}

    # ---------------------------------------------------------------- lifecycle

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Serve posted work until cancelled; loads channel 0 / Stokes 0 first."""
        own_error_budget()  # its errors belong to the work it serves, not to OPEN_FILE
        with trio.CancelScope() as scope:
            self._scope = scope
            await self.load_plane()
            task_status.started()
            while True:
                await self._wake.wait()
                self._wake = trio.Event()
                await self._drain()

    def close(self) -> None:
        """Stop the actor now and release the image (CLOSE_FILE, disconnect)."""
        if self._scope is not None:
            self._scope.cancel()
        self._closed = True
        self._channels_settled.set()
        self._plane = None
        self._mips.clear()
        self._tiles.clear()
        try:
            self.reader.close()
        except Exception:  # noqa: BLE001 - closing must never fail the caller
            log.debug("closing reader of file %d failed", self.file_id, exc_info=True)

    # ------------------------------------------------------------------ inbox

    def post_channels(self, message: pb.SetImageChannels) -> None:
        """Queue a channel change; a newer one replaces one not yet started.

        ``channel_posted_hooks`` run at once, so work for the outgoing channel
        (a contour job, say) stops now rather than finishing first.
        """
        self._pending_channels = message
        self._channels_posted += 1
        for hook in list(self.channel_posted_hooks):
            hook(self)
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

    @property
    def pending_tile_requests(self) -> int:
        """Tile requests queued and not finished (bounded: see :mod:`.tile_queue`)."""
        return len(self._queue)

    def remove_tiles(self, message: pb.RemoveRequiredTiles) -> None:
        """Drop queued tiles that the viewer no longer needs."""
        self._queue.remove(set(message.tiles))

    def _make_request(self, message: pb.AddRequiredTiles, animation_id: int) -> TileRequest:
        sync_id = self.session.state.get("sync_id", 0) + 1
        self.session.state["sync_id"] = sync_id
        return TileRequest(
            sync_id=sync_id,
            channel=self.channel,
            stokes=self.stokes,
            animation_id=animation_id,
            compression_type=message.compression_type,
            compression_quality=message.compression_quality,
            codes=list(message.tiles),
        )

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
        """Run one work item; a failure becomes ERROR_DATA and the frame keeps serving."""
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
            await self.load_plane(channel, stokes)
            listeners = list(self.channel_listeners)
            for listener in listeners:
                if _order(listener) < HISTOGRAM_ORDER:
                    await listener(self, channel_changed, stokes_changed)
            await self.send_image_histogram()
            for listener in listeners:
                if _order(listener) >= HISTOGRAM_ORDER:
                    await listener(self, channel_changed, stokes_changed)
        return True

    async def _apply_step(self, step: AnimationStep) -> None:
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
            await self.send_image_histogram()
            for listener in list(self.channel_listeners):
                if _order(listener) >= HISTOGRAM_ORDER:
                    await listener(self, channel_changed, stokes_changed)
            return
        assert step.changed is not None
        for listener in list(self.channel_listeners):
            if _order(listener) < HISTOGRAM_ORDER:
                await listener(self, *step.changed)
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
            plane = await self.session.run_sync(region_data.read_plane, self.reader, channel, stokes)
            self._plane = np.ascontiguousarray(plane, dtype=np.float32)
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
            plane = await self.session.run_sync(region_data.read_plane, self.reader, channel, stokes)
        return np.asarray(plane, dtype=np.float32)

    @property
    def plane(self) -> np.ndarray:
        """The current plane, float32 [height, width]."""
        assert self._plane is not None, "frame has no plane loaded"
        return self._plane

    async def mip_plane(self, mip: int) -> np.ndarray:
        """The current plane block-averaged by ``mip``, computed once per channel.

        Concurrent callers (the tiles of one batch) wait for the one computation.
        """
        while True:
            cached = self._mips.get(mip)
            if cached is not None:
                return cached
            pending = self._mips_pending.get(mip)
            if pending is None:
                break
            await pending.wait()
        channel, stokes = self.channel, self.stokes
        done = self._mips_pending[mip] = trio.Event()
        try:
            data = await self._downsample(mip, channel, stokes)
        finally:
            del self._mips_pending[mip]
            done.set()
        if (channel, stokes) == (self.channel, self.stokes):
            self._mips[mip] = data
        return data

    async def _downsample(self, mip: int, channel: int, stokes: int) -> np.ndarray:
        """The block mean of the current plane, in row bands reduced on all cores at
        once (the first view waits for it), unless the file has it precomputed."""
        precomputed = await self.session.run_sync(self._precomputed_mip, mip, channel, stokes)
        if precomputed is not None:
            return precomputed
        plane = self.plane
        bands = downsample.band_rows(plane.shape[0], mip, MIP_PARTS)
        parts: list[np.ndarray] = [plane] * len(bands)

        async def reduce(index: int, start: int, stop: int) -> None:
            parts[index] = await self.session.run_sync(downsample.block_mean, plane[start:stop], mip)

        async with trio.open_nursery() as nursery:
            for index, (start, stop) in enumerate(bands):
                nursery.start_soon(reduce, index, start, stop)
        return parts[0] if len(parts) == 1 else np.concatenate(parts)

    def _precomputed_mip(self, mip: int, channel: int, stokes: int) -> np.ndarray | None:
        # Precomputed (HDF5) mipmaps exist only for the stored Stokes planes.
        precomputed = None if polarization.is_computed(stokes) else self.reader.mipmap(mip, channel, stokes)
        return None if precomputed is None else np.asarray(precomputed, dtype=np.float32)

    # -------------------------------------------------------------- histogram

    async def send_image_histogram(self) -> None:
        """REGION_HISTOGRAM_DATA for region -1 with the default render config."""
        result = await plane_histogram(self.session, self.plane, histograms.auto_bin_count(self.width, self.height))
        await self.session.send_stream(
            pb.RegionHistogramData(
                file_id=self.file_id,
                region_id=-1,
                channel=self.channel,
                stokes=self.stokes,
                progress=1.0,
                config=pb.HistogramConfig(num_bins=-1),
                histograms=histogram_message(result),
            )
        )

    # ------------------------------------------------------------------ tiles

    async def _serve_tile_batch(self, request: TileRequest, *, preemptible: bool = True) -> None:
        """Send the tiles of ``request`` and its syncs as due.

        Groups of :data:`TILE_GROUP` tiles are encoded in worker threads, up to
        :data:`TILE_GROUPS_IN_FLIGHT` at once, and each group is sent, in request
        order, as soon as it and those before it are ready: the cores keep encoding
        while the event loop forwards bytes. A ``preemptible`` request stops taking
        new groups once more urgent work is posted (a newer tile request, a channel
        change, an animation step); what is in flight is still sent, the rest stays
        queued.
        """
        if not request.started:
            request.started = True
            await self.session.send_stream(request.sync_message(self.file_id, end=False))
        if (request.channel, request.stokes) != (self.channel, self.stokes):
            request.take(len(request.codes))  # stale: the plane it asked for is gone
        else:
            await self._stream_tiles(request, preemptible)
        if request.done:
            self._queue.discard(request)
            await self.session.send_stream(request.sync_message(self.file_id, end=True))

    def _preempted(self, request: TileRequest) -> bool:
        return bool(self._pending_steps) or self._pending_channels is not None or self._queue.newest() is not request

    async def _stream_tiles(self, request: TileRequest, preemptible: bool) -> None:
        in_flight: collections.deque[tuple[trio.Event, list[list[bytes | None]]]] = collections.deque()

        async def encode(group: list[int], done: trio.Event, result: list[list[bytes | None]]) -> None:
            try:
                result.append(await self._encode_tiles(group, request))
            finally:
                done.set()

        async with trio.open_nursery() as nursery:
            while True:
                while (
                    request.codes
                    and len(in_flight) < TILE_GROUPS_IN_FLIGHT
                    and not (preemptible and self._preempted(request))
                ):
                    slot: tuple[trio.Event, list[list[bytes | None]]] = (trio.Event(), [])
                    in_flight.append(slot)
                    nursery.start_soon(encode, request.take(TILE_GROUP), *slot)
                if not in_flight:
                    return
                done, result = in_flight.popleft()
                await done.wait()
                for frame in result[0] if result else ():
                    if frame is not None:
                        await self.session.send_frame(frame)

    async def _encode_tiles(self, codes: list[int], request: TileRequest) -> list[bytes | None]:
        """Ready RASTER_TILE_DATA frames for ``codes`` (None for impossible ones, reported).

        Encoding (for tiles not in the cache) and the protobuf framing both happen in
        one worker-thread call, so the event loop only forwards bytes.
        """
        out: list[raster_tiles.EncodedTile | None] = [None] * len(codes)
        blocks: list[np.ndarray | None] = [None] * len(codes)
        keys: list[tuple[Any, ...] | None] = [None] * len(codes)
        for index, code in enumerate(codes):
            coord = tile_geometry.decode_tile_code(code)
            try:
                bounds = tile_geometry.tile_bounds(coord.x, coord.y, coord.layer, self.width, self.height)
            except ValueError as exc:
                await self.session.send_error(f"Invalid tile {code}: {exc}", pb.ErrorSeverity.WARNING, ["tiles"])
                continue
            key = (self.channel, self.stokes, code, request.compression_type, request.precision)
            cached = self._tiles.get(key)
            if cached is not None:
                out[index] = cached
                continue
            source = await self.mip_plane(bounds.mip)
            m = bounds.mip
            y0, x0 = bounds.y_min // m, bounds.x_min // m
            blocks[index] = source[y0 : y0 + bounds.height, x0 : x0 + bounds.width]
            keys[index] = key
        tiles, frames = await self.session.run_sync(
            encode_tile_frames, self.file_id, request, codes, out, blocks, self.width, self.height
        )
        for key, tile in zip(keys, tiles):
            if key is not None and tile is not None:
                if len(self._tiles) >= TILE_CACHE_SIZE:
                    self._tiles.pop(next(iter(self._tiles)))
                self._tiles[key] = tile
        return frames
