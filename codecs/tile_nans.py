"""A tile's NaN run lengths and NaN-filled copy through ``codecs/nan_blocks.c``.

Tiles of real images have NaN: blanked pixels, the masked edge beyond a primary beam.
Each such tile needs its NaN run lengths and a copy whose NaNs are filled with their 4x4
block's mean before ZFP (:func:`.raster_tiles.encode_tile`). In numpy that is a mask,
run edges, a copy and block arithmetic, about as much CPU as the compiled ZFP encoder
itself; the extension does it in one scan and one copy with the GIL released, and a tile
without NaN costs one vectorised scan.

Optional like the encoder: :func:`prepare` returns None when the extension is not built,
or when on first use it disagreed with the numpy rules of :mod:`.raster_tiles` on tiles
that exercise every branch (partial blocks, leading NaN, all-NaN blocks, ±Inf, strides).
"""

from __future__ import annotations

import sys
from types import ModuleType

import numpy as np

from carta_trio.extensions import CheckedExtension

__all__ = ["available", "extension", "prepare"]


def check_tiles() -> list[np.ndarray]:
    """Tiles covering the rules' branches."""
    rng = np.random.default_rng(41)
    plane = rng.normal(0.0, 1.0, (37, 45)).astype(np.float32)
    plane[0, 0] = np.nan  # a leading NaN run
    plane[4:8, 4:8] = np.nan  # an all-NaN block
    plane[9, 13] = np.nan
    plane[30:, 40:] = np.nan  # NaN in partial blocks
    plane[20, 21], plane[21, 21] = np.inf, -np.inf  # a block whose mean is NaN
    plane[20, 22] = np.nan
    return [plane, plane[1:35, 2:43], plane[10:20, 10:30], np.full((5, 6), np.nan, np.float32)]


def _agrees_with_numpy(module: ModuleType) -> bool:
    from carta_trio.codecs import raster_tiles

    with np.errstate(invalid="ignore", over="ignore"):
        for tile in check_tiles():
            runs, filled = module.prepare(tile)
            expected = np.array(tile, copy=True)
            raster_tiles.fill_nan_blocks(expected)
            if np.frombuffer(runs, np.int32).tolist() != raster_tiles.nan_encodings(tile).tolist():
                return False
            if filled is None:
                if np.isnan(tile).any():
                    return False
            elif np.frombuffer(filled, np.float32).tobytes() != expected.tobytes():
                return False
    return True


extension = CheckedExtension(
    "carta_trio.codecs._nan_blocks", lambda m: sys.byteorder == "little" and _agrees_with_numpy(m), "tiles use numpy"
)


def available() -> bool:
    """True when :func:`prepare` uses the extension."""
    return extension.available()


def prepare(tile: np.ndarray) -> tuple[bytes, np.ndarray | None] | None:
    """``(nan_encodings, filled)`` of a float32 tile with contiguous rows: the int32 LE
    run lengths, and the NaN-filled row-major copy (None when the tile has no NaN, so
    the tile itself can be compressed); None without the extension."""
    module = extension.module
    if module is None:
        return None
    runs, filled = module.prepare(tile)
    if filled is None:
        return runs, None
    return runs, np.frombuffer(filled, np.float32).reshape(tile.shape)
