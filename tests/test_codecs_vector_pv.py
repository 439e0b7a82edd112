"""Vector-overlay tiles (WIRE.md 7) and PV preview payloads (WIRE.md 8.2)."""

from __future__ import annotations

import math
import struct

import numpy as np
import pytest

from carta_trio.codecs.downsample import block_mean
from carta_trio.codecs.pv_preview import encode_pv_preview
from carta_trio.codecs.raster_tiles import (
    COMPRESSION_NONE,
    COMPRESSION_ZFP,
    decode_tile,
    fill_nan_blocks,
    nan_encodings,
    zfp_compress,
)
from carta_trio.codecs.vector_tiles import (
    encode_vector_tile,
    vector_tile_data,
    vector_tile_grid,
    vector_tile_layer,
)


def test_grid_row_major_and_clipped() -> None:
    tiles = vector_tile_grid(1000, 600, 2)  # span 512: 2 columns, 2 rows
    assert [(t.x, t.y) for t in tiles] == [(0, 0), (1, 0), (0, 1), (1, 1)]
    last = tiles[-1]
    assert (last.x_min, last.x_max, last.y_min, last.y_max) == (512, 1000, 512, 600)
    assert (last.width, last.height, last.mip) == (244, 44, 2)
    for m in (1, 3, 4, 7):
        grid = vector_tile_grid(1000, 600, m)
        span = 256 * m
        assert len(grid) == math.ceil(1000 / span) * math.ceil(600 / span)
        assert sum(t.width for t in grid if t.y == 0) == math.ceil(1000 / m)
        assert sum(t.height for t in grid if t.x == 0) == math.ceil(600 / m)


def test_layer_is_reference_mip_to_layer() -> None:
    assert vector_tile_layer(1000, 600, 1) == 2
    assert vector_tile_layer(1000, 600, 4) == 0
    assert vector_tile_layer(100, 100, 4) == -2
    assert vector_tile_layer(4096, 4096, 3) == math.ceil(math.log2(16 / 3))
    with pytest.raises(ValueError):
        vector_tile_layer(10, 10, 0)


def test_tile_data_block_mean_and_m1_non_finite_to_nan() -> None:
    rng = np.random.default_rng(3)
    plane = rng.standard_normal((300, 700)).astype(np.float32)
    plane[5, 5] = np.inf
    plane[6, 6] = np.nan
    t = vector_tile_grid(700, 300, 1)[0]
    data = vector_tile_data(plane, t)
    assert data.shape == (256, 256) and np.isnan(data[5, 5]) and np.isnan(data[6, 6])
    assert np.array_equal(data[7:, 7:], plane[7:256, 7:256])
    t3 = vector_tile_grid(700, 300, 3)[-1]
    out = vector_tile_data(plane, t3)
    expected = block_mean(plane[t3.y_min : t3.y_max, t3.x_min : t3.x_max], 3)
    assert np.array_equal(out, expected, equal_nan=True)
    assert out.shape == (t3.height, t3.width)


def test_vector_tile_none_keeps_nan_and_zfp_has_no_retry() -> None:
    data = np.array([[1.0, np.nan], [2.0, 3.0]], np.float32)
    enc = encode_vector_tile(data)
    assert enc.image_data == struct.pack("<4f", 1.0, np.nan, 2.0, 3.0) and enc.nan_encodings == b""
    # a tile that would trigger the raster high-quality retry stays at the requested precision
    tile = np.full((64, 64), np.nan, np.float32)
    tile[:, :32] = 3.5
    z = encode_vector_tile(tile, COMPRESSION_ZFP, 11)
    filled = tile.copy()
    fill_nan_blocks(filled)
    assert z.quality_used == 11 and z.image_data == zfp_compress(filled, 11)


def test_pv_preview_zfp_exact_and_decodable() -> None:
    rng = np.random.default_rng(6)
    preview = rng.normal(0, 1, size=(40, 123)).astype(np.float32)  # 40 channels x 123 offsets
    preview[:, :3] = np.nan
    enc = encode_pv_preview(preview, COMPRESSION_ZFP, 10.5)
    assert enc.quality_used == 11
    filled = preview.copy()
    fill_nan_blocks(filled)
    assert enc.image_data == zfp_compress(filled, 11)
    assert enc.nan_encodings == nan_encodings(preview).astype("<i4").tobytes()
    back = decode_tile(enc.image_data, enc.nan_encodings, 123, 40, COMPRESSION_ZFP, enc.quality_used)
    assert (np.isnan(back) == np.isnan(preview)).all()
    ok = ~np.isnan(preview)
    assert np.abs(back[ok] - preview[ok]).max() < 0.1


def test_pv_preview_no_retry_and_none_reports_quality() -> None:
    tile = np.full((64, 64), np.nan, np.float32)
    tile[:, :32] = 3.5
    assert encode_pv_preview(tile, COMPRESSION_ZFP, 9).quality_used == 9
    none = encode_pv_preview(np.ones((2, 3), np.float32), COMPRESSION_NONE, 8.6)
    assert none.quality_used == 9 and none.image_data == struct.pack("<6f", *([1.0] * 6))
