"""Tile codes, layers, mips and bounds (WIRE.md 2.1-2.3) against independent formulas."""

from __future__ import annotations

import math
import struct

import numpy as np
import pytest

from carta_trio.codecs.tile_geometry import (
    MAX_LAYER,
    TILE_SIZE,
    TileBounds,
    TileCoord,
    decode_tile_code,
    encode_tile_code,
    layer_for_mip,
    mip_for_layer,
    tile_bounds,
    tiles_for_view,
    total_layers,
)

SIZES = [(100, 100), (256, 256), (257, 1000), (1000, 600), (4096, 4096), (5000, 3), (1, 1), (513, 257)]


# --- independent formulas, written the way the reference writes them (floats) -----


def ref_total_layers(w: int, h: int) -> int:
    return int(math.ceil(math.log2(max(math.ceil(w / 256.0), math.ceil(h / 256.0)))))


def ref_bounds(x: int, y: int, layer: int, w: int, h: int) -> tuple[int, int, int, int, int, int, int]:
    mip = int(2.0 ** (ref_total_layers(w, h) - layer))
    span = 256 * mip
    x0, x1 = max(0, x * span), min(w, (x + 1) * span)
    y0, y1 = max(0, y * span), min(h, (y + 1) * span)
    fw = np.float32(x1 - x0) / np.float32(mip)
    fh = np.float32(y1 - y0) / np.float32(mip)
    return x0, x1, y0, y1, mip, int(math.ceil(fw)), int(math.ceil(fh))


# --- codes ----------------------------------------------------------------------


def test_wire_example_code_and_bytes() -> None:
    code = encode_tile_code(3, 2, 2)
    assert code == 0x02002003 == 33562627
    assert struct.pack("<i", code) == bytes.fromhex("03200002")
    assert decode_tile_code(code) == TileCoord(3, 2, 2)
    assert TileCoord(3, 2, 2).code == code


@pytest.mark.parametrize("layer", range(MAX_LAYER + 1))
def test_code_round_trip_every_layer(layer: int) -> None:
    side = 1 << layer
    rng = np.random.default_rng(layer)
    for x, y in [(0, 0), (side - 1, side - 1), *rng.integers(0, side, size=(20, 2)).tolist()]:
        code = encode_tile_code(x, y, layer)
        assert code == layer * 2**24 + y * 2**12 + x
        assert decode_tile_code(code) == TileCoord(x, y, layer)


@pytest.mark.parametrize("x, y, layer", [(0, 0, 13), (0, 0, -1), (2, 0, 1), (0, 4, 2), (-1, 0, 3)])
def test_encode_rejects_invalid(x: int, y: int, layer: int) -> None:
    with pytest.raises(ValueError, match="tile"):
        encode_tile_code(x, y, layer)


def test_decode_matches_reference_bit_tricks_on_any_int32() -> None:
    # Tile::Decode: x = ((c << 19) >> 19 + 4096) % 4096 etc. with 32-bit wrapping shifts
    def ref(c: int) -> tuple[int, int, int]:
        def shl(v: int, n: int) -> int:
            return ((v << n) + 2**31) % 2**32 - 2**31

        x = ((shl(c, 19) >> 19) + 4096) % 4096
        y = ((shl(c, 7) >> 19) + 4096) % 4096
        layer = ((c >> 24) + 128) % 128
        return x, y, layer

    rng = np.random.default_rng(7)
    for c in [-1, -(2**31), 2**31 - 1, 0, *rng.integers(-(2**31), 2**31, size=200).tolist()]:
        t = decode_tile_code(c)
        assert (t.x, t.y, t.layer) == ref(c)


def test_decode_rejects_non_int32() -> None:
    with pytest.raises(ValueError, match="32-bit"):
        decode_tile_code(2**31)


# --- layers and mips --------------------------------------------------------------


@pytest.mark.parametrize("w, h", SIZES)
def test_layers_and_mips_match_formula(w: int, h: int) -> None:
    top = total_layers(w, h)
    assert top == ref_total_layers(w, h)
    for layer in range(top + 1):
        mip = mip_for_layer(layer, w, h)
        assert mip == 2 ** (top - layer)
        assert layer_for_mip(mip, w, h) == layer
    # layer 0 fits in one tile, the top layer is full resolution
    b0 = tile_bounds(0, 0, 0, w, h)
    assert b0.width <= TILE_SIZE and b0.height <= TILE_SIZE
    assert mip_for_layer(top, w, h) == 1
    with pytest.raises(ValueError, match="does not exist"):
        mip_for_layer(top + 1, w, h)
    with pytest.raises(ValueError, match="does not exist"):
        mip_for_layer(-1, w, h)


def test_known_layer_counts() -> None:
    assert [total_layers(w, h) for w, h in SIZES] == [0, 0, 2, 2, 4, 5, 0, 2]
    assert layer_for_mip(8, 1000, 600) == -1  # coarser than layer 0


def test_image_size_must_be_positive() -> None:
    with pytest.raises(ValueError, match="at least 1x1"):
        total_layers(0, 10)


# --- bounds -----------------------------------------------------------------------


@pytest.mark.parametrize("w, h", SIZES)
def test_bounds_table_matches_reference_formula_and_covers_image(w: int, h: int) -> None:
    for layer in range(total_layers(w, h) + 1):
        mip = mip_for_layer(layer, w, h)
        span = 256 * mip
        cols, rows = -(-w // span), -(-h // span)
        covered = np.zeros((h, w), dtype=np.int32) if w * h <= 2_000_000 else None
        widths_row0 = 0
        for y in range(rows):
            for x in range(cols):
                b = tile_bounds(x, y, layer, w, h)
                x0, x1, y0, y1, m, tw, th = ref_bounds(x, y, layer, w, h)
                assert b == TileBounds(x0, x1, y0, y1, m, tw, th)
                assert 1 <= b.width <= 256 and 1 <= b.height <= 256
                if x < cols - 1:
                    assert b.width == 256
                if y < rows - 1:
                    assert b.height == 256
                if y == 0:
                    widths_row0 += b.width
                if covered is not None:
                    covered[y0:y1, x0:x1] += 1
        assert widths_row0 == -(-w // mip)
        if covered is not None:
            assert (covered == 1).all()
        with pytest.raises(ValueError, match="outside"):
            tile_bounds(cols, 0, layer, w, h)
        with pytest.raises(ValueError, match="outside"):
            tile_bounds(0, rows, layer, w, h)


def test_wire_examples_1000x600() -> None:
    assert tile_bounds(1, 1, 1, 1000, 600) == TileBounds(512, 1000, 512, 600, 2, 244, 44)
    assert tile_bounds(0, 0, 1, 1000, 600) == TileBounds(0, 512, 0, 512, 2, 256, 256)
    assert tile_bounds(0, 0, 0, 1000, 600) == TileBounds(0, 1000, 0, 600, 4, 250, 150)


def test_hand_table_257x1000_and_5000x3() -> None:
    assert tile_bounds(0, 0, 0, 257, 1000) == TileBounds(0, 257, 0, 1000, 4, 65, 250)
    assert tile_bounds(0, 1, 1, 257, 1000) == TileBounds(0, 257, 512, 1000, 2, 129, 244)
    assert tile_bounds(1, 3, 2, 257, 1000) == TileBounds(256, 257, 768, 1000, 1, 1, 232)
    assert tile_bounds(0, 0, 0, 5000, 3) == TileBounds(0, 5000, 0, 3, 32, 157, 1)
    assert tile_bounds(19, 0, 5, 5000, 3) == TileBounds(4864, 5000, 0, 3, 1, 136, 3)
    assert tile_bounds(0, 0, 0, 100, 100) == TileBounds(0, 100, 0, 100, 1, 100, 100)


# --- views ------------------------------------------------------------------------


def test_tiles_for_view_full_image_every_layer() -> None:
    w, h = 1000, 600
    for layer in range(3):
        mip = mip_for_layer(layer, w, h)
        got = tiles_for_view(0, w, 0, h, mip, w, h)
        span = 256 * mip
        expected = [TileCoord(x, y, layer) for x in range(-(-w // span)) for y in range(-(-h // span))]
        assert got == expected


def test_tiles_for_view_partial_and_degenerate() -> None:
    w, h = 4096, 4096
    # a 300x300 view at full resolution starting at (1000, 2000)
    got = tiles_for_view(1000, 1300, 2000, 2300, 1, w, h)
    assert got == [TileCoord(x, y, 4) for x in (3, 4, 5) for y in (7, 8)]
    # clipped to the image
    assert tiles_for_view(-500, 100, -500, 100, 1, w, h) == [TileCoord(0, 0, 4)]
    assert tiles_for_view(0, 10, 0, 10, 64, w, h) == [TileCoord(0, 0, 0)]
    assert tiles_for_view(5, 5, 0, 10, 1, w, h) == []
    assert tiles_for_view(0, 10, 0, 10, 0, w, h) == []
    assert tiles_for_view(5000, 6000, 0, 10, 1, w, h) == []
    assert tiles_for_view(float("nan"), 10, 0, 10, 1, w, h) == []
