"""RASTER_TILE_DATA frames assembled around the tile bytes equal pack_frame(tile_message(...))."""

from __future__ import annotations

import numpy as np
import pytest

from carta_trio.actors.tile_queue import TileRequest, encode_tile_frames
from carta_trio.codecs import raster_tiles, tile_geometry
from carta_trio.messages import framing, registry, tile_frames
from carta_trio.messages import schema as pb


def request(**overrides: object) -> TileRequest:
    fields: dict[str, object] = dict(sync_id=7, channel=3, stokes=1, animation_id=0, compression_type=1,
                                     compression_quality=11, codes=[])
    fields.update(overrides)
    return TileRequest(**fields)  # type: ignore[arg-type]


def tile_message(
    file_id: int, request: TileRequest, code: int, tile: raster_tiles.EncodedTile, width: int, height: int
) -> pb.RasterTileData:
    """RASTER_TILE_DATA carrying one encoded tile of ``request`` (WIRE.md §2.5), built the
    plain protobuf way: the oracle the assembled frames must equal."""
    coord = tile_geometry.decode_tile_code(code)
    bounds = tile_geometry.tile_bounds(coord.x, coord.y, coord.layer, width, height)
    return pb.RasterTileData(
        file_id=file_id,
        channel=request.channel,
        stokes=request.stokes,
        compression_type=request.compression_type,
        compression_quality=float(tile.quality_used),
        sync_id=request.sync_id,
        animation_id=request.animation_id,
        tiles=[
            pb.TileData(
                layer=coord.layer,
                x=coord.x,
                y=coord.y,
                width=bounds.width,
                height=bounds.height,
                image_data=tile.image_data,
                nan_encodings=tile.nan_encodings,
            )
        ],
    )


def reference(file_id: int, req: TileRequest, code: int, tile: raster_tiles.EncodedTile, w: int, h: int) -> bytes:
    return framing.pack_frame(pb.EventType.RASTER_TILE_DATA, 0, tile_message(file_id, req, code, tile, w, h))


@pytest.mark.parametrize("image_size", [0, 1, 127, 128, 16383, 16384, 70_000, 2_100_000])
@pytest.mark.parametrize("nan_size", [0, 4, 400])
def test_frame_is_pack_frames(image_size: int, nan_size: int) -> None:
    tile = raster_tiles.EncodedTile(bytes(range(256)) * (image_size // 256) + bytes(image_size % 256),
                                    b"\x01\x00\x00\x00" * (nan_size // 4), 1, 11)
    for file_id, req, (x, y, layer), (w, h) in [
        (0, request(), (0, 0, 0), (200, 100)),
        (-1, request(channel=0, stokes=0, sync_id=0), (3, 2, 4), (4096, 4096)),
        (5, request(animation_id=12, sync_id=2**31 - 1, compression_type=0), (1, 0, 1), (300, 257)),
    ]:
        code = tile_geometry.encode_tile_code(x, y, layer)
        bounds = tile_geometry.tile_bounds(x, y, layer, w, h)
        ours = tile_frames.raster_tile_frame(
            tile_frames.message_head(file_id, req.channel, req.stokes, req.compression_type,
                                     float(tile.quality_used), req.sync_id, req.animation_id),
            tile_frames.tile_fields(layer, x, y, bounds.width, bounds.height),
            tile.image_data, tile.nan_encodings,
        )
        assert ours == reference(file_id, req, code, tile, w, h)
        decoded = registry.decode_frame(ours).message
        assert decoded.tiles[0].image_data == tile.image_data and decoded.file_id == file_id


def test_encoded_groups_frame_as_before() -> None:
    rng = np.random.default_rng(2)
    plane = rng.normal(0, 1, (600, 700)).astype(np.float32)
    plane[256:512, 256:512] = 0.0  # compresses > 20x at precision 11: sent at precision 32
    plane[10:20, 300:310] = np.nan
    top = tile_geometry.total_layers(700, 600)
    codes = [tile_geometry.encode_tile_code(x, y, top) for y in range(3) for x in range(3)]
    req = request(codes=list(codes))
    blocks: list[np.ndarray | None] = []
    for code in codes:
        c = tile_geometry.decode_tile_code(code)
        b = tile_geometry.tile_bounds(c.x, c.y, c.layer, 700, 600)
        blocks.append(plane[b.y_min : b.y_min + b.height, b.x_min : b.x_min + b.width])
    tiles, frames = encode_tile_frames(4, req, codes, [None] * len(codes), blocks, 700, 600)
    assert {t.quality_used for t in tiles if t is not None} == {11, 32}
    for code, tile, frame in zip(codes, tiles, frames):
        assert tile is not None and frame == reference(4, req, code, tile, 700, 600)
