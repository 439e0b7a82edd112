"""Vector-overlay tiles (WIRE.md 7): tile grid, tile data and TileData payload.

For a pixel-averaging width m the image is cut into tiles of ``256*m`` full-resolution
pixels per side, clipped to the image, sent in row-major tile order (rows outer).
Each tile holds the block mean with factor m (finite values only, NaN for an empty
block, partial edge blocks, WIRE.md 2.4) -- or, for m = 1, a copy with every
non-finite value turned into NaN -- and is ``ceil(w/m) x ceil(h/m)``.

The polarization maths (PI, PA, debiasing, thresholds) is analysis, not encoding;
it works on the arrays ``vector_tile_data`` returns. Payloads are always raw float32
with NaN kept (the 4.1.0 frontend reads vector tiles as raw float32 even when ZFP is
requested; ``Frame::DoVectorFieldCalculation`` would encode ZFP as for raster tiles,
which ``encode_vector_tile`` supports for completeness).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .downsample import block_mean
from .raster_tiles import COMPRESSION_NONE, EncodedTile, encode_tile
from .tile_geometry import TILE_SIZE

__all__ = ["VectorTile", "vector_tile_grid", "vector_tile_layer", "vector_tile_data", "encode_vector_tile"]


@dataclass(frozen=True, slots=True)
class VectorTile:
    """One vector-overlay tile: indices, full-resolution bounds and output size."""

    x: int
    y: int
    x_min: int
    x_max: int
    y_min: int
    y_max: int
    mip: int
    width: int
    height: int


def vector_tile_layer(image_width: int, image_height: int, mip: int) -> int:
    """The informational TileData.layer: ``ceil(log2(max_tiles / m))``, as the
    reference's ``Tile::MipToLayer`` (negative when m exceeds the tile count)."""
    if mip < 1:
        raise ValueError(f"vector overlay smoothing factor {mip} must be at least 1")
    max_tiles = max(math.ceil(image_width / TILE_SIZE), math.ceil(image_height / TILE_SIZE))
    return math.ceil(math.log2(max_tiles / mip))


def vector_tile_grid(image_width: int, image_height: int, mip: int) -> list[VectorTile]:
    """All vector tiles of the image for averaging width ``mip``, rows outer."""
    if image_width < 1 or image_height < 1:
        raise ValueError(f"image size {image_width}x{image_height} must be at least 1x1")
    if mip < 1:
        raise ValueError(f"vector overlay smoothing factor {mip} must be at least 1")
    span = TILE_SIZE * mip
    tiles = []
    for ty in range(-(-image_height // span)):
        for tx in range(-(-image_width // span)):
            x_min, y_min = tx * span, ty * span
            x_max, y_max = min(image_width, x_min + span), min(image_height, y_min + span)
            tiles.append(
                VectorTile(
                    x=tx,
                    y=ty,
                    x_min=x_min,
                    x_max=x_max,
                    y_min=y_min,
                    y_max=y_max,
                    mip=mip,
                    width=-(-(x_max - x_min) // mip),
                    height=-(-(y_max - y_min) // mip),
                )
            )
    return tiles


def vector_tile_data(plane: np.ndarray, tile: VectorTile) -> np.ndarray:
    """float32 ``(tile.height, tile.width)`` data of ``tile`` from a 2-D plane."""
    region = plane[tile.y_min : tile.y_max, tile.x_min : tile.x_max]
    if region.shape != (tile.y_max - tile.y_min, tile.x_max - tile.x_min):
        raise ValueError(f"vector tile {tile} lies outside the {plane.shape[1]}x{plane.shape[0]} plane")
    if tile.mip == 1:
        data = np.array(region, dtype=np.float32, copy=True)
        data[~np.isfinite(data)] = np.nan
        return data
    return block_mean(region, tile.mip)


def encode_vector_tile(data: np.ndarray, compression_type: int = COMPRESSION_NONE, quality: float = 0.0) -> EncodedTile:
    """TileData payload for a vector tile: raw float32 LE with NaN kept for NONE;
    ZFP as for raster tiles but without the high-quality retry (the reference
    compresses vector tiles once, at ``lround(quality)``)."""
    return encode_tile(data, compression_type, quality, high_quality_fallback=False)
