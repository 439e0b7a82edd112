"""What a frame sends from its current plane: the mip pyramid, tiles and the render histogram.

:class:`FramePixels` is the half of :class:`~carta_trio.actors.frame.Frame` that turns
the current plane into bytes (tile requests from its queue, block means, the region -1
histogram); the lifetime, inbox and channel changes are in ``frame.py``. Everything
here runs in the frame's own task or its nursery.
"""

from __future__ import annotations

import collections
import os
from typing import TYPE_CHECKING, Any

import numpy as np
import trio

from carta_trio.actors.image_histogram import histogram_message, plane_histogram
from carta_trio.actors.tile_queue import TileQueue, TileRequest, encode_tile_frames
from carta_trio.analysis import polarization
from carta_trio.codecs import downsample, raster_tiles, tile_geometry
from carta_trio.io import reader_pool
from carta_trio.messages import framing
from carta_trio.messages import schema as pb

if TYPE_CHECKING:
    from carta_trio.actors.frame import Frame
    from carta_trio.actors.session import Session
    from carta_trio.io.image_reader import ImageReader

#: Mips being computed, by (file identity, key), for every frame of the file.
_shared_mips_pending: dict[tuple[Any, ...], trio.Event] = {}
#: Tiles encoded per worker-thread call, at most: each call is a hand-over between the
#: event loop and a worker (and a GIL round trip), so long requests use big groups; a
#: short one is split so every core gets a share (see :func:`group_size`).
TILE_GROUP = 8
CORES = os.cpu_count() or 1
#: Groups being encoded at once: one per core and one more ready to start, so no core
#: idles while the event loop forwards a finished group; few enough that a newer
#: request waits only a few milliseconds.
TILE_GROUPS_IN_FLIGHT = (os.cpu_count() or 1) + 1


def group_size(remaining: int) -> int:
    """Tiles for the next worker call: up to :data:`TILE_GROUP`, fewer when fewer than
    a full group per core remain (16 tiles on 2 cores: 8 + 8; 6 tiles: 3 + 3)."""
    return max(1, min(TILE_GROUP, -(-remaining // CORES)))


#: Row bands a plane's block mean is split into (one per core).
MIP_PARTS = os.cpu_count() or 1


class FramePixels:
    """Mips, tiles and the render histogram of the frame's current plane (a Frame mixin)."""

    session: Session
    file_id: int
    reader: ImageReader
    width: int
    height: int
    channel: int
    stokes: int
    _mips: dict[int, np.ndarray]
    _mips_pending: dict[int, trio.Event]
    _queue: TileQueue
    _plane: np.ndarray | None
    _pending_steps: list[Any]
    _pending_channels: pb.SetImageChannels | None
    _first_histogram: trio.Event | None

    def _as_frame(self) -> Frame:
        from carta_trio.actors.frame import Frame

        assert isinstance(self, Frame)
        return self

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
        # mips (and tiles below) are shared by every frame showing the file (io/reader_pool);
        # frames of the file asking together wait for the one computation
        key = ("mip", channel, stokes, mip)
        identity = getattr(self.reader, "pool_identity", None)
        while True:
            shared: np.ndarray | None = reader_pool.peek(self.reader, key)  # only mips are stored under key
            if shared is not None:
                if (channel, stokes) == (self.channel, self.stokes):
                    self._mips[mip] = shared
                return shared
            other = _shared_mips_pending.get((identity, key)) if identity is not None else None
            if other is None:
                break
            await other.wait()
        done = self._mips_pending[mip] = trio.Event()
        if identity is not None:
            _shared_mips_pending[(identity, key)] = done
        try:
            data = await self._downsample(mip, channel, stokes)
            reader_pool.store(self.reader, key, data)
        finally:
            del self._mips_pending[mip]
            if identity is not None:
                _shared_mips_pending.pop((identity, key), None)
            done.set()
        if (channel, stokes) == (self.channel, self.stokes):
            self._mips[mip] = data
        return data

    async def _downsample(self, mip: int, channel: int, stokes: int) -> np.ndarray:
        """The block mean of the current plane, in row bands reduced on all cores at
        once (the first view waits for it), unless the file has it precomputed."""
        if mip in self.reader.mip_levels:  # listed without file access; only HDF5 has any
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
        result = await plane_histogram(self._as_frame(), self.channel, self.stokes, plane=self.plane)
        await self.session.send_stream(
            pb.RegionHistogramData(
                file_id=self.file_id,
                region_id=-1,
                channel=self.channel,
                stokes=self.stokes,
                progress=1.0,
                # The reference always writes the bounds (zero here): the suite's
                # SET_HISTOGRAMCONFIG expects ``config.bounds`` present and empty.
                config=pb.HistogramConfig(num_bins=-1, bounds=pb.DoubleBounds()),
                histograms=histogram_message(result),
            )
        )

    def start_first_histogram(self) -> trio.Event:
        """OPEN_FILE, after its ack: send the render histogram from the frame's own
        nursery and return at once, so the first tile request can be taken meanwhile:
        its block means and tiles are computed while the histogram is, and sent after
        it (:meth:`_serve_tile_batch`). Returns the event set once the histogram is
        out, failed, or the frame closed; the session holds every other message until
        then (:func:`~carta_trio.actors.frame_handlers.on_open_file`), so the order on
        the wire stays ack, histogram, then everything else."""
        done = self._first_histogram = trio.Event()
        frame = self._as_frame()
        if frame.closing:
            done.set()
            return done

        async def send() -> None:
            try:
                await self.send_image_histogram()
            finally:
                done.set()

        frame.spawn("histogram", send)
        return done

    async def _prepare_tiles(self, request: TileRequest, histogram: trio.Event) -> list[bytes]:
        """The RASTER_TILE_DATA frames of the first tiles of ``request``, encoded while
        the first render histogram (which goes before them) is pending, and taken from
        the request; nothing is sent here. Groups are encoded :data:`TILE_GROUPS_IN_FLIGHT`
        at a time (the histogram's passes queue behind these few, not behind the whole
        view: 256 tiles delayed it by seconds under load), and no new group starts once
        the histogram is out. Impossible tiles have no frame."""
        codes = list(request.codes)
        size = group_size(len(codes))  # equal groups: 16 tiles on 2 cores are 8 + 8
        groups = [codes[i : i + size] for i in range(0, len(codes), size)]
        encoded: list[list[bytes | None] | None] = [None] * len(groups)
        next_group = 0

        async def encoder() -> None:
            nonlocal next_group
            while next_group < len(groups) and not histogram.is_set():
                index, next_group = next_group, next_group + 1
                encoded[index] = await self._encode_tiles(groups[index], request)

        async with trio.open_nursery() as nursery:
            for _ in range(min(TILE_GROUPS_IN_FLIGHT, len(groups))):
                nursery.start_soon(encoder)
        done = [frames for frames in encoded[:next_group] if frames is not None]
        request.take(sum(len(group) for group in groups[:next_group]))
        return [frame for frames in done for frame in frames if frame is not None]

    # ------------------------------------------------------------------ tiles

    @property
    def pending_tile_requests(self) -> int:
        """Tile requests queued and not finished (bounded: see :mod:`.tile_queue`)."""
        return len(self._queue)

    def remove_tiles(self, message: pb.RemoveRequiredTiles) -> None:
        """Drop queued tiles that the viewer no longer needs."""
        self._queue.remove(set(message.tiles))

    def _make_request(self, message: pb.AddRequiredTiles, animation_id: int) -> TileRequest:
        sync_id = self.session.next_sync_id()
        return TileRequest(
            sync_id=sync_id,
            channel=self.channel,
            stokes=self.stokes,
            animation_id=animation_id,
            compression_type=message.compression_type,
            compression_quality=message.compression_quality,
            codes=list(message.tiles),
        )

    async def _serve_tile_batch(self, request: TileRequest, *, preemptible: bool = True) -> None:
        """Send the tiles of ``request`` and its syncs as due.

        Groups of up to :data:`TILE_GROUP` tiles are encoded in worker threads, up to
        :data:`TILE_GROUPS_IN_FLIGHT` at once, and each group is sent, in request
        order, as soon as it and those before it are ready: the cores keep encoding
        while the event loop forwards bytes. A ``preemptible`` request stops taking
        new groups once more urgent work is posted (a newer tile request, a channel
        change, an animation step); what is in flight is still sent, the rest stays
        queued.
        """
        first = self._first_histogram
        held: list[bytes] = []
        if first is not None and not first.is_set():
            if (request.channel, request.stokes) == (self.channel, self.stokes):
                held = await self._prepare_tiles(request, first)
            await first.wait()
        if not request.started:
            request.started = True
            await self.session.send_stream(request.sync_message(self.file_id, end=False))
        if (request.channel, request.stokes) != (self.channel, self.stokes):
            request.take(len(request.codes))  # stale: the plane it asked for is gone
            held = []
        elif request.codes:
            if held:  # encoded while the histogram was pending; the rest as usual
                await self.session.send_frames(held)
            held = await self._stream_tiles(request, preemptible)
        if request.done:
            self._queue.discard(request)
            # the last group and the end sync in one write (Session.send_frames)
            end = framing.pack_frame(pb.EventType.RASTER_TILE_SYNC, 0, request.sync_message(self.file_id, end=True))
            await self.session.send_frames([*held, end])
        elif held:
            await self.session.send_frames(held)

    def _preempted(self, request: TileRequest) -> bool:
        return bool(self._pending_steps) or self._pending_channels is not None or self._queue.newest() is not request

    async def _stream_tiles(self, request: TileRequest, preemptible: bool) -> list[bytes]:
        """Send the groups of ``request`` as they are encoded, except the frames of the
        last one, returned for the caller to send together with what follows them."""
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
                    nursery.start_soon(encode, request.take(group_size(len(request.codes))), *slot)
                if not in_flight:
                    return []
                done, result = in_flight.popleft()
                await done.wait()
                frames = [frame for frame in (result[0] if result else ()) if frame is not None]
                if not in_flight and not request.codes:
                    return frames
                await self.session.send_frames(frames)

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
            key = ("tile", self.channel, self.stokes, code, request.compression_type, request.precision)
            cached = reader_pool.peek(self.reader, key)
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
        for tile_key, tile in zip(keys, tiles):
            if tile_key is not None and tile is not None:
                reader_pool.store(self.reader, tile_key, tile)
        return frames
