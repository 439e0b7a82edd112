"""Raster tile geometry: tile codes, layers, mips and pixel bounds (WIRE.md 2.1-2.3).

A tile is addressed by ``(x, y, layer)``. Layer 0 is the whole image downsampled to
fit one 256 x 256 tile; the highest layer, ``total_layers``, is full resolution.
Tile ``(x, y)`` of a layer with downsampling factor ``mip`` spans ``256 * mip``
full-resolution pixels per side, clipped to the image at the right and top edges,
and holds ``ceil(span / mip)`` pixels per side.

Everything here is integer arithmetic so it agrees with the reference
(``Tile::Encode/Decode/LayerToMip``, ``Frame::GetRasterTileData``) and the frontend
(``tiling.ts``) for every image size. Invalid requests raise ``ValueError`` with a
message saying what is wrong; the caller decides whether that means skipping a tile.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = [
    "TILE_SIZE",
    "MAX_LAYER",
    "TileCoord",
    "TileBounds",
    "encode_tile_code",
    "decode_tile_code",
    "total_layers",
    "mip_for_layer",
    "layer_for_mip",
    "tile_bounds",
    "tiles_for_view",
]

TILE_SIZE = 256
MAX_LAYER = 12  # 12 bits of x and y: 2**12 tiles per axis at most

_INT32_MIN = -(2**31)
_INT32_MAX = 2**31 - 1


@dataclass(frozen=True, slots=True)
class TileCoord:
    """A decoded tile coordinate: tile column ``x``, tile row ``y`` and ``layer``."""

    x: int
    y: int
    layer: int

    @property
    def code(self) -> int:
        """The 32-bit code the frontend uses for this tile."""
        return encode_tile_code(self.x, self.y, self.layer)


@dataclass(frozen=True, slots=True)
class TileBounds:
    """Pixel bounds of one tile in the full-resolution image.

    ``x_min:x_max`` and ``y_min:y_max`` are half-open full-resolution ranges already
    clipped to the image; ``width`` x ``height`` is the size of the tile data after
    downsampling by ``mip`` (the values TileData.width/height must carry).
    """

    x_min: int
    x_max: int
    y_min: int
    y_max: int
    mip: int
    width: int
    height: int


def encode_tile_code(x: int, y: int, layer: int) -> int:
    """Return ``(layer << 24) | (y << 12) | x``.

    Raises ValueError unless 0 <= layer <= 12 and 0 <= x, y < 2**layer (the
    reference returns -1 for those; a code we build must always be valid).
    """
    if not 0 <= layer <= MAX_LAYER:
        raise ValueError(f"tile layer {layer} is outside 0..{MAX_LAYER}")
    side = 1 << layer
    if not (0 <= x < side and 0 <= y < side):
        raise ValueError(f"tile ({x}, {y}) is outside the {side}x{side} grid of layer {layer}")
    return (layer << 24) | (y << 12) | x


def decode_tile_code(code: int) -> TileCoord:
    """Split a 32-bit tile code into ``TileCoord(x, y, layer)``.

    Takes the low 12 bits as x, the next 12 as y and the next 7 as the layer, which
    is what the reference ``Tile::Decode`` yields for every int32, negative ones
    included. The result may still be an impossible tile for a given image; check
    it with ``tile_bounds``.
    """
    code = int(code)
    if not _INT32_MIN <= code <= _INT32_MAX:
        raise ValueError(f"tile code {code} does not fit in a signed 32-bit integer")
    return TileCoord(x=code & 0xFFF, y=(code >> 12) & 0xFFF, layer=(code >> 24) & 0x7F)


def _check_image_size(width: int, height: int) -> None:
    if width < 1 or height < 1:
        raise ValueError(f"image size {width}x{height} must be at least 1x1")


def total_layers(width: int, height: int) -> int:
    """Index of the full-resolution layer: ``ceil(log2(max(tiles_x, tiles_y)))``.

    An image of at most 256 x 256 pixels has only layer 0.
    """
    _check_image_size(width, height)
    max_tiles = max(-(-width // TILE_SIZE), -(-height // TILE_SIZE))
    # ceil(log2(n)) for n >= 1, exactly
    return (max_tiles - 1).bit_length()


def mip_for_layer(layer: int, width: int, height: int) -> int:
    """Downsampling factor of ``layer``: ``2 ** (total_layers - layer)``.

    Raises ValueError for a layer below 0 or above the full-resolution layer
    (the reference would get a fractional mip, truncate it to 0 and drop the tile).
    """
    top = total_layers(width, height)
    if not 0 <= layer <= top:
        raise ValueError(
            f"tile layer {layer} does not exist for a {width}x{height} image (layers 0..{top})"
        )
    return 1 << (top - layer)


def layer_for_mip(mip: int, width: int, height: int) -> int:
    """Layer of a downsampling factor, in the frontend's form
    ``total_layers - ceil(log2(mip))``; it can be negative for a mip coarser than
    layer 0 (the frontend then asks for tile (0, 0, 0))."""
    if mip < 1:
        raise ValueError(f"mip {mip} must be at least 1")
    return total_layers(width, height) - (int(mip) - 1).bit_length()


def tile_bounds(x: int, y: int, layer: int, width: int, height: int) -> TileBounds:
    """Full-resolution bounds and output size of tile ``(x, y, layer)``.

    Raises ValueError for an impossible layer or for a tile that starts outside the
    image (for example x = 3 on a layer whose tiles cover the image with 2 columns).
    """
    mip = mip_for_layer(layer, width, height)
    span = TILE_SIZE * mip
    x_min, y_min = x * span, y * span
    if x < 0 or y < 0 or x_min >= width or y_min >= height:
        cols, rows = -(-width // span), -(-height // span)
        raise ValueError(
            f"tile ({x}, {y}) of layer {layer} is outside the {width}x{height} image "
            f"({cols}x{rows} tiles on that layer)"
        )
    x_max, y_max = min(width, x_min + span), min(height, y_min + span)
    return TileBounds(
        x_min=x_min,
        x_max=x_max,
        y_min=y_min,
        y_max=y_max,
        mip=mip,
        width=-(-(x_max - x_min) // mip),
        height=-(-(y_max - y_min) // mip),
    )


def tiles_for_view(
    x_min: float, x_max: float, y_min: float, y_max: float, mip: int, width: int, height: int
) -> list[TileCoord]:
    """Tiles the frontend requests for a view, as its ``GetRequiredTiles`` does.

    The view is a full-resolution pixel rectangle and a mip. Returns ``[]`` for an
    empty or non-finite view or one entirely outside the image, ``[(0, 0, 0)]`` when
    the mip is coarser than layer 0, and otherwise every tile of the mip's layer that
    the view (clipped to the image) touches, x outer and y inner. The frontend then
    sorts them by distance from the view centre; that order is not reproduced here.
    """
    _check_image_size(width, height)
    bounds = (x_min, x_max, y_min, y_max, mip)
    if not all(math.isfinite(v) for v in bounds):
        return []
    if x_min >= x_max or y_min >= y_max or mip <= 0:
        return []
    if x_max < 0 or x_min > width or y_max < 0 or y_min > height:
        return []
    layer = total_layers(width, height) - math.ceil(math.log2(mip))
    if layer < 0:
        return [TileCoord(0, 0, 0)]
    span = mip * TILE_SIZE
    x_start = math.floor(max(0, x_min) / span)
    x_end = math.ceil(min(x_max, width) / span)
    y_start = math.floor(max(0, y_min) / span)
    y_end = math.ceil(min(y_max, height) / span)
    return [TileCoord(x, y, layer) for x in range(x_start, x_end) for y in range(y_start, y_end)]
