"""The frame's queue of tile requests: newest first, each with its sync pair.

Every ADD_REQUIRED_TILES (or ``required_tiles`` of SET_IMAGE_CHANNELS) becomes a
:class:`TileRequest` with its own sync id (WIRE.md §2.9). The queue serves the
newest request first, so the tiles of the view the user is looking at now come
before those of a view already left; older requests resume afterwards.

The queue is bounded (issue 11 D7): a client that keeps sending tile requests
while never reading its socket stalls the frame in its send, so requests pile up
unserved. A new request absorbs the waiting (not yet announced) requests for the
same plane and encoding, their codes after its own; beyond :data:`MAX_WAITING`
waiting requests the oldest are dropped, and a request carries at most
:data:`MAX_CODES` distinct codes. Nothing announced by a start sync is ever dropped,
so every start sync still gets its tiles and its end sync.
"""

from __future__ import annotations

import dataclasses
import math
from typing import TYPE_CHECKING, Any

import numpy as np

from carta_trio.codecs import raster_tiles, tile_geometry
from carta_trio.messages import tile_frames
from carta_trio.messages import schema as pb

if TYPE_CHECKING:
    from carta_trio.actors.session import Session


#: Requests waiting unannounced per frame; the oldest beyond this are dropped.
MAX_WAITING = 8
#: Distinct tile codes per request: every layer of a 16384 x 16384 image has 5,461 tiles.
MAX_CODES = 8192


@dataclasses.dataclass(eq=False)
class TileRequest:
    """One tile batch: its sync id, plane, compression and the codes not yet sent."""

    sync_id: int
    channel: int
    stokes: int
    animation_id: int
    compression_type: pb.CompressionType
    compression_quality: float
    codes: list[int]
    #: Number of codes requested: the sync messages' ``tile_count``.
    tile_count: int = -1
    started: bool = False

    def __post_init__(self) -> None:
        # The frontend counts distinct tiles; a duplicated code would never flush.
        self.codes = list(dict.fromkeys(self.codes))[:MAX_CODES]
        if self.tile_count < 0:
            self.tile_count = len(self.codes)

    @property
    def precision(self) -> int:
        """ZFP precision: the quality rounded half away from zero (the reference's lround)."""
        q = self.compression_quality
        return int(q + 0.5) if q >= 0 else -int(-q + 0.5)

    def same_batch(self, other: TileRequest) -> bool:
        """Same plane, encoding and animation step: the two can be served as one batch."""
        return (
            (self.channel, self.stokes, self.animation_id, self.compression_type)
            == (other.channel, other.stokes, other.animation_id, other.compression_type)
            and self.precision_or_none == other.precision_or_none
        )

    @property
    def precision_or_none(self) -> int | None:
        return self.precision if math.isfinite(self.compression_quality) else None

    def absorb(self, older: TileRequest) -> None:
        """Take over the codes of a waiting ``older`` request after this one's own."""
        assert not self.started, "an announced request cannot grow"
        seen = set(self.codes)
        extra = [code for code in older.codes if code not in seen]
        self.codes = (self.codes + extra)[:MAX_CODES]
        self.tile_count = len(self.codes)

    @property
    def done(self) -> bool:
        return not self.codes

    def take(self, n: int) -> list[int]:
        """Remove and return the next ``n`` codes in request order."""
        head, self.codes = self.codes[:n], self.codes[n:]
        return head

    def sync_message(self, file_id: int, *, end: bool) -> pb.RasterTileSync:
        return pb.RasterTileSync(
            file_id=file_id,
            channel=self.channel,
            stokes=self.stokes,
            sync_id=self.sync_id,
            animation_id=self.animation_id,
            tile_count=self.tile_count,
            end_sync=end,
        )


class TileQueue:
    """Pending tile requests of one frame."""

    def __init__(self) -> None:
        self._requests: list[TileRequest] = []

    def __len__(self) -> int:
        return len(self._requests)

    def push(self, request: TileRequest) -> None:
        """Queue ``request`` as the newest; waiting requests of the same batch merge into it
        and at most :data:`MAX_WAITING` stay waiting (the oldest are dropped)."""
        if not request.started:
            for older in [r for r in self._requests if not r.started and r.same_batch(request)]:
                request.absorb(older)
                self._requests.remove(older)
        self._requests.append(request)
        waiting = [r for r in self._requests if not r.started]
        for dropped in waiting[: max(0, len(waiting) - MAX_WAITING)]:
            self._requests.remove(dropped)

    @property
    def pending_codes(self) -> int:
        """Codes not yet served, over every queued request."""
        return sum(len(r.codes) for r in self._requests)

    def newest(self) -> TileRequest | None:
        return self._requests[-1] if self._requests else None

    def discard(self, request: TileRequest) -> None:
        if request in self._requests:
            self._requests.remove(request)

    def remove(self, codes: set[int]) -> None:
        """Drop ``codes`` from every request not yet finished."""
        for request in self._requests:
            request.codes = [c for c in request.codes if c not in codes]

    def clear(self) -> None:
        self._requests.clear()


def encode_tile_frames(
    file_id: int,
    request: TileRequest,
    codes: list[int],
    tiles: list[raster_tiles.EncodedTile | None],
    blocks: list[np.ndarray | None],
    width: int,
    height: int,
) -> tuple[list[raster_tiles.EncodedTile | None], list[bytes | None]]:
    """Encode the tiles that have a block (the others are cached or impossible) and build
    each tile's RASTER_TILE_DATA frame (blocking; one worker-thread call per group).

    The frames are RASTER_TILE_DATA (WIRE.md §2.5) as ``framing.pack_frame`` would pack
    them, assembled around the tile's bytes (:mod:`~carta_trio.messages.tile_frames`: no
    copies through protobuf while holding the GIL)."""
    done: list[raster_tiles.EncodedTile | None] = []
    frames: list[bytes | None] = []
    heads: dict[int, bytes] = {}  # the message's small fields, by quality used
    for code, tile, block in zip(codes, tiles, blocks):
        if tile is None and block is not None:
            tile = raster_tiles.encode_tile(block, request.compression_type, request.precision)
        done.append(tile)
        if tile is None:
            frames.append(None)
            continue
        head = heads.get(tile.quality_used)
        if head is None:
            head = heads[tile.quality_used] = tile_frames.message_head(
                file_id, request.channel, request.stokes, request.compression_type, float(tile.quality_used),
                request.sync_id, request.animation_id,
            )
        coord = tile_geometry.decode_tile_code(code)
        bounds = tile_geometry.tile_bounds(coord.x, coord.y, coord.layer, width, height)
        fields = tile_frames.tile_fields(coord.layer, coord.x, coord.y, bounds.width, bounds.height)
        frames.append(tile_frames.raster_tile_frame(head, fields, tile.image_data, tile.nan_encodings))
    return done, frames


SUPPORTED_COMPRESSION = (pb.CompressionType.NONE, pb.CompressionType.ZFP)


async def check_compression(session: Session, tiles: pb.AddRequiredTiles) -> bool:
    """Only NONE and ZFP are implemented (as in the reference); SZ or an unknown type
    gets an error, and so does a quality that is not a finite number (the reference's
    ``lround`` of it is undefined; the batch is refused before its start sync)."""
    if tiles.compression_type not in SUPPORTED_COMPRESSION:
        name = enum_name(pb.CompressionType, tiles.compression_type)
        await session.send_error(f"Compression type {name} is not supported", pb.ErrorSeverity.ERROR, ["tiles"])
        return False
    if not math.isfinite(tiles.compression_quality):
        await session.send_error(
            f"Compression quality {tiles.compression_quality} is not a finite number", pb.ErrorSeverity.ERROR, ["tiles"]
        )
        return False
    return True


def enum_name(enum: Any, value: int) -> str:
    """The name of an enum value, or the number for one this schema does not know.

    ``enum`` is a protobuf enum class (``pb.CompressionType``...); its ``Name`` comes
    from protobuf's EnumTypeWrapper metaclass, which has no type stubs.
    """
    try:
        return str(enum.Name(value))
    except ValueError:
        return str(value)


def tile_in_pyramid(code: int, width: int, height: int) -> bool:
    """True when tile ``code`` exists in the tile pyramid of a ``width`` x ``height`` image."""
    coord = tile_geometry.decode_tile_code(code)
    try:
        tile_geometry.tile_bounds(coord.x, coord.y, coord.layer, width, height)
    except ValueError:
        return False
    return True


async def drop_invalid_tiles(session: Session, tiles: pb.AddRequiredTiles, width: int, height: int) -> None:
    """Remove tile codes outside the image's tile pyramid, with one ERROR_DATA for all
    of them (the frame would otherwise report each, and no batch could complete)."""
    valid: list[int] = []
    invalid: list[int] = []
    for code in tiles.tiles:
        (valid if tile_in_pyramid(code, width, height) else invalid).append(code)
    if invalid:
        del tiles.tiles[:]
        tiles.tiles.extend(valid)
        sample = ", ".join(str(c) for c in invalid[:3])
        await session.send_error(
            f"{len(invalid)} invalid tile code(s) ignored ({sample}{', ...' if len(invalid) > 3 else ''})",
            pb.ErrorSeverity.WARNING, ["tiles"],
        )
