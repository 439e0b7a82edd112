"""RASTER_TILE_DATA frames assembled around the tile's bytes, not copied through protobuf.

``framing.pack_frame(RASTER_TILE_DATA, 0, RasterTileData(..., tiles=[TileData(...)]))``
copies a tile's compressed bytes three times (into the message, out of it when
serialising, behind the header) while holding the GIL, which the two tile encoder
threads and the event loop share: ~15 ms of GIL per 256 tiles of 60 kB. Here the small
fields are serialised by protobuf as usual (the message without its tile, the tile
without its two byte strings) and the frame is one join of those parts and the tile's
own bytes. The result is byte for byte what ``pack_frame`` makes: protobuf writes
fields in field-number order, ``tiles`` (8) is RasterTileData's last field, and
``image_data`` (6) and ``nan_encodings`` (7) come after TileData's fields 1-5 (``mip``,
8, is never set for raster tiles); empty byte strings are left out as proto3 does.
Checked against ``pack_frame`` in tests/test_messages_tile_frames.py.
"""

from __future__ import annotations

from carta_trio.messages import framing
from carta_trio.messages import schema as pb

__all__ = ["raster_tile_frame"]

_HEADER = framing.HEADER.pack(int(pb.EventType.RASTER_TILE_DATA), framing.ICD_VERSION, 0)
_TILES_TAG = b"\x42"  # field 8, length-delimited
_IMAGE_DATA_TAG = b"\x32"  # field 6, length-delimited
_NAN_ENCODINGS_TAG = b"\x3a"  # field 7, length-delimited


def _varint(value: int) -> bytes:
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def raster_tile_frame(head: bytes, tile_fields: bytes, image_data: bytes, nan_encodings: bytes) -> bytes:
    """The RASTER_TILE_DATA frame (header included) of one tile.

    ``head``: the serialised RasterTileData without tiles (:func:`message_head`);
    ``tile_fields``: the serialised TileData with layer, x, y, width and height only.
    """
    tile = [tile_fields]
    size = len(tile_fields)
    if image_data:
        tile += [_IMAGE_DATA_TAG, _varint(len(image_data)), image_data]
        size += 1 + len(tile[-2]) + len(image_data)
    if nan_encodings:
        tile += [_NAN_ENCODINGS_TAG, _varint(len(nan_encodings)), nan_encodings]
        size += 1 + len(tile[-2]) + len(nan_encodings)
    return b"".join([_HEADER, head, _TILES_TAG, _varint(size), *tile])


def message_head(
    file_id: int, channel: int, stokes: int, compression_type: int, compression_quality: float, sync_id: int,
    animation_id: int,
) -> bytes:
    """RasterTileData's fields 1-7 serialised (the same for every tile of a request
    compressed at one quality)."""
    head: bytes = pb.RasterTileData(
        file_id=file_id,
        channel=channel,
        stokes=stokes,
        compression_type=compression_type,
        compression_quality=compression_quality,
        sync_id=sync_id,
        animation_id=animation_id,
    ).SerializeToString()
    return head


def tile_fields(layer: int, x: int, y: int, width: int, height: int) -> bytes:
    """TileData's fields 1-5 serialised."""
    fields: bytes = pb.TileData(layer=layer, x=x, y=y, width=width, height=height).SerializeToString()
    return fields
