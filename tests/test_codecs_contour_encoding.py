"""ContourSet encoding (WIRE.md 3.5-3.6): exact bytes, rounding quirks, chunk buffer."""

from __future__ import annotations

import struct

import numpy as np
import pytest
import zstandard

from carta_trio.codecs.contour_encoding import (
    ContourChunkBuffer,
    EncodedContourSet,
    chunk_progress,
    decode_contour_set,
    encode_contour_set,
    shuffle_int_groups,
    unshuffle_int_groups,
)


def f32(*values: float) -> bytes:
    return struct.pack(f"<{len(values)}f", *values)


def i32(*values: int) -> bytes:
    return struct.pack(f"<{len(values)}i", *values)


def test_worked_example_bytes() -> None:
    enc = encode_contour_set(2.5, np.array([10.5, 20.25, 11.0, 20.75], np.float32), np.array([0]), 4, 8)
    shuffled = bytes.fromhex("2A510202") + bytes(12)
    assert zstandard.ZstdDecompressor().decompress(enc.raw_coordinates) == shuffled
    assert enc.uncompressed_coordinates_size == 16
    assert enc.decimation_factor == 4
    assert enc.raw_start_indices == bytes.fromhex("00000000")
    assert enc.level == 2.5
    # the zstd frame is a standard single frame that records the content size
    params = zstandard.get_frame_parameters(enc.raw_coordinates)
    assert params.content_size == 16
    vertices, starts = decode_contour_set(enc.raw_coordinates, enc.raw_start_indices, 16, 4)
    assert vertices.tolist() == [10.5, 20.25, 11.0, 20.75] and starts.tolist() == [0]


def test_uncompressed_bytes() -> None:
    verts = np.array([1.5, 2.5, 3.0, 4.0, 5.25, 6.0, 7.0, 8.0], np.float32)
    enc = encode_contour_set(-1.0, verts, np.array([0, 4]), 4, 0)
    assert enc == EncodedContourSet(
        level=-1.0,
        raw_coordinates=f32(1.5, 2.5, 3.0, 4.0, 5.25, 6.0, 7.0, 8.0),
        raw_start_indices=i32(0, 4),
        uncompressed_coordinates_size=32,
        decimation_factor=0,
    )
    assert enc.as_fields() == {
        "level": -1.0,
        "raw_coordinates": enc.raw_coordinates,
        "raw_start_indices": i32(0, 4),
        "uncompressed_coordinates_size": 32,
    }
    back, starts = decode_contour_set(enc.raw_coordinates, enc.raw_start_indices, 32, 0)
    assert np.array_equal(back, verts) and starts.tolist() == [0, 4]
    # negative levels clamp to 0: uncompressed too
    assert encode_contour_set(0.0, verts, np.array([0]), 4, -5).decimation_factor == 0


def test_empty_chunk_has_only_level() -> None:
    enc = encode_contour_set(0.125, np.zeros(0, np.float32), np.zeros(0, np.int32), 4, 8)
    assert enc == EncodedContourSet(level=0.125)
    assert enc.as_fields() == {"level": 0.125}


def test_delta_runs_across_polylines_and_shuffle_layout() -> None:
    # two polylines, 3 + 2 vertices; D = 2; N = 10 floats -> 2 shuffled groups + 2 tail ints
    verts = np.array([1, 1, 2, 1, 3, 2, 0.5, 0.5, 1000, 2000], np.float32)
    enc = encode_contour_set(1.0, verts, np.array([0, 6]), 2, 3)
    ints = [2, 2, 4, 2, 6, 4, 1, 1, 2000, 4000]
    deltas = [2, 2, 2, 0, 2, 2, -5, -3, 1999, 3999]
    plain = struct.pack("<10i", *deltas)
    groups = b""
    for g in range(2):
        chunk = plain[16 * g : 16 * g + 16]
        groups += bytes(chunk[4 * k + b] for b in range(4) for k in range(4))
    expected = groups + plain[32:]
    assert zstandard.ZstdDecompressor().decompress(enc.raw_coordinates) == expected
    assert shuffle_int_groups(np.array(deltas)) == expected
    assert unshuffle_int_groups(expected).tolist() == deltas
    back, starts = decode_contour_set(enc.raw_coordinates, enc.raw_start_indices, 40, 2)
    assert (back * 2).tolist() == ints and starts.tolist() == [0, 6]
    assert enc.raw_start_indices == i32(0, 6)


def test_rounding_half_even_in_blocks_half_away_in_tail() -> None:
    # D = 1: 0.5, 1.5, 2.5, 3.5 are in the SSE block (half to even -> 0, 2, 2, 4);
    # the trailing 2.5, 0.5 use C round (half away -> 3, 1)
    verts = np.array([0.5, 1.5, 2.5, 3.5, 2.5, 0.5], np.float32)
    enc = encode_contour_set(0.0, verts, np.array([0]), 1, 1)
    ints = unshuffle_int_groups(zstandard.ZstdDecompressor().decompress(enc.raw_coordinates))
    rounded = np.cumsum(ints.reshape(-1, 2), axis=0).ravel().tolist()
    assert rounded == [0, 2, 2, 4, 3, 1]


def test_product_is_float32() -> None:
    # 0.1f * 5 in float32 is exactly 0.5 -> rounds to 0 (even); in float64 it is
    # 0.50000000745 and would round to 1
    verts = np.array([0.1, 0.1, 0.1, 0.1], np.float32)
    enc = encode_contour_set(0.0, verts, np.array([0]), 5, 1)
    ints = unshuffle_int_groups(zstandard.ZstdDecompressor().decompress(enc.raw_coordinates))
    assert ints.tolist() == [0, 0, 0, 0]


def test_clamping_of_decimation_and_level() -> None:
    verts = np.array([1.0, 2.0], np.float32)
    assert encode_contour_set(0.0, verts, np.array([0]), 0, 1).decimation_factor == 1
    assert encode_contour_set(0.0, verts, np.array([0]), 99, 1).decimation_factor == 32
    big = encode_contour_set(0.0, verts, np.array([0]), 4, 99)
    assert big.decimation_factor == 4
    assert zstandard.ZstdDecompressor().decompress(big.raw_coordinates) == i32(4, 8)


def test_random_round_trip_within_decimation() -> None:
    rng = np.random.default_rng(8)
    verts = (rng.random(2 * 5001) * 4000).astype(np.float32)
    starts = np.array([0, 100, 4000, 9000])
    for d in (1, 4, 32):
        enc = encode_contour_set(3.0, verts, starts, d, 8)
        back, s = decode_contour_set(enc.raw_coordinates, enc.raw_start_indices, enc.uncompressed_coordinates_size, d)
        assert np.abs(back - verts).max() <= 0.5 / d + 1e-3
        assert s.tolist() == starts.tolist()


def test_invalid_buffers() -> None:
    with pytest.raises(ValueError, match="odd"):
        encode_contour_set(0.0, np.zeros(3, np.float32), np.array([0]), 4, 8)
    with pytest.raises(ValueError, match="start indices"):
        encode_contour_set(0.0, np.zeros(4, np.float32), np.array([2, 0]), 4, 8)
    with pytest.raises(ValueError, match="expected"):
        frame = zstandard.ZstdCompressor().compress(bytes(16))
        decode_contour_set(frame, b"", 32, 4)


def test_chunk_buffer_flushes_above_twice_chunk_size() -> None:
    buf = ContourChunkBuffer(chunk_size=5)  # flush when more than 10 floats
    assert buf.add_polyline(np.arange(6, dtype=np.float32)) is False  # 6 floats
    assert buf.add_polyline(np.arange(4, dtype=np.float32)) is False  # 10: not more than 10
    assert buf.add_polyline(np.array([9.0, 9.0], np.float32)) is True  # 12
    verts, starts = buf.take()
    assert starts.tolist() == [0, 6, 10] and verts.size == 12
    assert buf.take()[0].size == 0 and buf.take()[1].size == 0
    never = ContourChunkBuffer(chunk_size=0)
    assert never.add_polyline(np.zeros(10**5, np.float32)) is False


def test_chunk_progress() -> None:
    assert chunk_progress(50, 10, 10) == 0.5
    assert chunk_progress(100, 10, 10) == 0.99
