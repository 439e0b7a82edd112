"""Raster tile payloads (WIRE.md 2.5-2.7): run lengths, NaN fill, NONE/ZFP, fallback."""

from __future__ import annotations

import math
import struct

import numpy as np
import pytest

from carta_trio.codecs.raster_tiles import (
    COMPRESSION_NONE,
    COMPRESSION_ZFP,
    EncodedTile,
    decode_tile,
    encode_tile,
    fill_nan_blocks,
    lround,
    nan_encodings,
    zfp_compress,
    zfp_precision,
)

NAN = np.nan


def i32(*values: int) -> bytes:
    return struct.pack(f"<{len(values)}i", *values)


def slow_runs(tile: np.ndarray) -> list[int]:
    runs, current, state = [], 0, False
    for v in tile.ravel():
        if bool(np.isnan(v)) != state:
            runs.append(current)
            current, state = 0, not state
        current += 1
    return runs + [current]


def slow_fill(tile: np.ndarray) -> np.ndarray:
    """GetNanEncodingsBlock's fill loop, transliterated (x outer, y inner, float32)."""
    out = tile.copy()
    h, w = out.shape
    for i in range(0, w, 4):
        for j in range(0, h, 4):
            bw, bh = min(4, w - i), min(4, h - j)
            total, count = np.float32(0), 0
            for x in range(bw):
                for y in range(bh):
                    v = out[j + y, i + x]
                    if not np.isnan(v):
                        total = np.float32(total + v)
                        count += 1
            if count and count != bw * bh:
                mean = np.float32(total / np.float32(count))
                for x in range(bw):
                    for y in range(bh):
                        if np.isnan(out[j + y, i + x]):
                            out[j + y, i + x] = mean
    return out


# --- run lengths ----------------------------------------------------------------


def test_worked_example_runs_bytes() -> None:
    tile = np.array([[1, NAN, NAN, 4], [5, 6, NAN, 8]], dtype=np.float32)
    assert nan_encodings(tile).tolist() == [1, 2, 3, 1, 1]
    enc = encode_tile(tile, COMPRESSION_ZFP, 11)
    assert enc.nan_encodings == bytes.fromhex("0100000002000000030000000100000001000000")


@pytest.mark.parametrize(
    "rows, runs",
    [
        ([[1.0, 2.0], [3.0, 4.0]], [4]),
        ([[NAN, NAN], [NAN, NAN]], [0, 4]),
        ([[NAN, 1.0], [2.0, 3.0]], [0, 1, 3]),
        ([[1.0, 2.0], [3.0, NAN]], [3, 1]),
        ([[np.inf, -np.inf, NAN]], [2, 1]),
        ([[NAN]], [0, 1]),
        ([[7.0]], [1]),
    ],
)
def test_hand_computed_runs(rows: list[list[float]], runs: list[int]) -> None:
    tile = np.array(rows, dtype=np.float32)
    assert nan_encodings(tile).tolist() == runs
    assert encode_tile(tile, COMPRESSION_ZFP, 11).nan_encodings == i32(*runs)


def test_runs_random_against_loop() -> None:
    rng = np.random.default_rng(2)
    for _ in range(20):
        h, w = rng.integers(1, 40, size=2)
        tile = rng.standard_normal((h, w)).astype(np.float32)
        tile[rng.random((h, w)) < rng.random()] = NAN
        runs = nan_encodings(tile)
        assert runs.dtype == np.int32 and runs.sum() == h * w
        assert runs.tolist() == slow_runs(tile)


# --- NaN fill -------------------------------------------------------------------


def test_fill_worked_example() -> None:
    tile = np.array([[1, NAN, NAN, 4], [5, 6, NAN, 8]], dtype=np.float32)
    fill_nan_blocks(tile)
    assert tile.tolist() == [[1, np.float32(4.8), np.float32(4.8), 4], [5, 6, np.float32(4.8), 8]]


def test_fill_bit_exact_against_reference_loop() -> None:
    rng = np.random.default_rng(9)
    # few blocks to fill take the gather path, many the dense path; odd sizes are padded
    cases = [((13, 9), 0.4), ((256, 256), 0.4), ((256, 256), 0.002), ((130, 67), 0.4), ((130, 67), 0.003),
             ((5, 3), 0.4), ((4, 4), 0.4), ((1, 7), 0.4)]
    for shape, fraction in cases:
        tile = (rng.standard_normal(shape) * 10.0 ** rng.integers(-4, 5, size=shape)).astype(np.float32)
        tile[rng.random(shape) < fraction] = NAN
        expected = slow_fill(tile)
        fill_nan_blocks(tile)
        nan = np.isnan(tile)
        assert (nan == np.isnan(expected)).all()
        assert (tile[~nan].view(np.uint32) == expected[~nan].view(np.uint32)).all()


def test_fill_leaves_all_nan_and_clean_blocks() -> None:
    tile = np.arange(32, dtype=np.float32).reshape(4, 8)
    tile[:, :4] = NAN
    before = tile.copy()
    fill_nan_blocks(tile)
    assert np.array_equal(tile, before, equal_nan=True)


def test_encode_does_not_touch_caller_array() -> None:
    tile = np.array([[1, NAN, 3, 4]], dtype=np.float32)
    encode_tile(tile, COMPRESSION_ZFP, 11)
    assert np.isnan(tile[0, 1])


# --- NONE -----------------------------------------------------------------------


def test_none_is_raw_float32_le_row_major() -> None:
    tile = np.array([[1.5, NAN], [-2.0, 3.0], [0.25, np.inf]], dtype=np.float32)
    enc = encode_tile(tile, COMPRESSION_NONE, 11)
    assert enc == EncodedTile(struct.pack("<6f", 1.5, NAN, -2.0, 3.0, 0.25, math.inf), b"", COMPRESSION_NONE, 0)
    back = decode_tile(enc.image_data, enc.nan_encodings, 2, 3, COMPRESSION_NONE)
    assert np.array_equal(back, tile, equal_nan=True)


def test_none_accepts_other_dtypes_and_big_endian() -> None:
    tile = np.array([[1.0, 2.0]], dtype=">f8")
    assert encode_tile(tile, COMPRESSION_NONE).image_data == struct.pack("<2f", 1.0, 2.0)


# --- ZFP ------------------------------------------------------------------------


def test_zfp_tile_round_trip_and_nan_restore() -> None:
    rng = np.random.default_rng(4)
    tile = rng.normal(100, 5, size=(200, 131)).astype(np.float32)
    tile[50:80, 10:40] = NAN
    tile[0, 0] = NAN
    enc = encode_tile(tile, COMPRESSION_ZFP, 11)
    assert enc.compression_type == COMPRESSION_ZFP and enc.quality_used == 11
    filled = tile.copy()
    fill_nan_blocks(filled)
    assert enc.image_data == zfp_compress(filled, 11)
    back = decode_tile(enc.image_data, enc.nan_encodings, 131, 200, COMPRESSION_ZFP, enc.quality_used)
    assert (np.isnan(back) == np.isnan(tile)).all()
    ok = ~np.isnan(tile)
    assert np.abs(back[ok] - tile[ok]).max() < 4  # |v| < 2**7: bound 2**(7 - 11 + 6)
    minus = decode_tile(enc.image_data, enc.nan_encodings, 131, 200, COMPRESSION_ZFP, 11.0, nan_value=-3.4028234663852886e38)
    assert (minus[~ok] == np.float32(-3.4028234663852886e38)).all()


def test_fallback_to_precision_32_when_both_ratios_high() -> None:
    # half of the 4x4 blocks constant, the rest NaN (zero blocks): ratio ~32 at 11, ~14 at 32
    tile = np.full((64, 64), NAN, dtype=np.float32)
    tile[:, :32] = 3.5
    filled = tile.copy()
    fill_nan_blocks(filled)
    r11 = 4 * tile.size / len(zfp_compress(filled, 11))
    r32 = 4 * tile.size / len(zfp_compress(filled, 32))
    assert r11 > 20 and r32 > 10
    enc = encode_tile(tile, COMPRESSION_ZFP, 11)
    assert enc.quality_used == 32 and enc.image_data == zfp_compress(filled, 32)
    off = encode_tile(tile, COMPRESSION_ZFP, 11, high_quality_fallback=False)
    assert off.quality_used == 11 and off.image_data == zfp_compress(filled, 11)


def test_fallback_keeps_first_stream_when_retry_ratio_low() -> None:
    rng = np.random.default_rng(0)
    tile = np.full((64, 64), NAN, dtype=np.float32)
    tile[:8, :] = rng.standard_normal((8, 64))
    filled = tile.copy()
    fill_nan_blocks(filled)
    r11 = 4 * tile.size / len(zfp_compress(filled, 11))
    r32 = 4 * tile.size / len(zfp_compress(filled, 32))
    assert r11 > 20 and r32 <= 10
    enc = encode_tile(tile, COMPRESSION_ZFP, 11)
    assert enc.quality_used == 11 and enc.image_data == zfp_compress(filled, 11)


def test_no_fallback_for_ordinary_tiles() -> None:
    tile = np.random.default_rng(1).standard_normal((256, 256)).astype(np.float32)
    enc = encode_tile(tile, COMPRESSION_ZFP, 11)
    assert enc.quality_used == 11 and len(enc.image_data) * 20 > 4 * tile.size


# --- quality --------------------------------------------------------------------


def test_lround_half_away_from_zero() -> None:
    assert [lround(v) for v in (10.5, 11.49, -2.5, 2.5, 0.5, 0.4999999, 0.0, -0.4)] == [11, 11, -3, 3, 1, 0, 0, 0]
    with pytest.raises(ValueError, match="finite"):
        lround(float("nan"))


def test_precision_mapping_does_not_change_bytes() -> None:
    tile = np.random.default_rng(5).standard_normal((16, 16)).astype(np.float32) * 1e3
    assert [zfp_precision(q) for q in (40, 32, 31.4, 10.5, 1, 0.2, 0, -3)] == [32, 32, 31, 11, 1, 32, 32, 32]
    # zfp itself treats 0 and every precision >= 32 alike for float32
    import zfpy

    full = zfp_compress(tile, 32)
    assert zfpy.compress_numpy(tile, precision=40, write_header=False) == full
    assert zfpy.compress_numpy(tile, precision=0, write_header=False) == full
    assert zfp_compress(tile, 31) != full
    for q in (40, 0, -2):
        enc = encode_tile(tile, COMPRESSION_ZFP, q)
        assert enc.quality_used == 32 and enc.image_data == full


def test_unsupported_inputs() -> None:
    tile = np.zeros((2, 2), dtype=np.float32)
    with pytest.raises(ValueError, match="not supported"):
        encode_tile(tile, 2, 11)
    with pytest.raises(ValueError, match="2-D"):
        encode_tile(np.zeros(4, dtype=np.float32), COMPRESSION_ZFP, 11)
    with pytest.raises(ValueError, match="finite"):
        encode_tile(tile, COMPRESSION_ZFP, float("inf"))
    with pytest.raises(ValueError, match="expected"):
        decode_tile(b"\x00" * 12, b"", 2, 2, COMPRESSION_NONE)
    enc = encode_tile(tile, COMPRESSION_ZFP, 11)
    with pytest.raises(ValueError, match="sum"):
        decode_tile(enc.image_data, i32(3), 2, 2, COMPRESSION_ZFP, 11)
