"""The ZFP stream we emit is exactly zfp's header-less fixed-precision stream (WIRE.md 2.7).

``independent_zfp_encode`` below is a from-scratch pure-Python encoder for 2-D float32
fields in zfp's fixed-precision mode, written from the zfp 0.5.5 / 1.0 sources
(``zfp_stream_set_precision``: minbits 1, maxprec p, minexp -1074; ``compress_strided``
2-D block order; ``gather_partial``/``pad_block``; ``encode_block`` float: 8-bit
biased exponent behind a 1 flag bit, or one 0 bit for an all-zero block;
``fwd_cast`` to int32 at 2**(30-emax); ``fwd_lift`` on rows then columns;
``perm_2``; negabinary; embedded bit-plane group-test coding; bits LSB-first in
64-bit words; ``stream_flush`` to a word boundary). No zfp header is written.
Our ``zfp_compress`` must produce the same bytes.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import zfpy

from carta_trio.codecs.raster_tiles import fill_nan_blocks, zfp_compress, zfp_decompress

EBIAS = 127
NBMASK = 0xAAAAAAAA
PERM_2 = [i + 4 * j for i, j in [(0, 0), (1, 0), (0, 1), (1, 1), (2, 0), (0, 2), (2, 1), (1, 2),
                                  (3, 0), (0, 3), (2, 2), (3, 1), (1, 3), (3, 2), (2, 3), (3, 3)]]


class BitWriter:
    def __init__(self) -> None:
        self.bits: list[int] = []

    def bit(self, b: int) -> int:
        self.bits.append(b & 1)
        return b & 1

    def bits_lsb_first(self, value: int, n: int) -> int:
        for i in range(n):
            self.bits.append((value >> i) & 1)
        return value >> n

    def flushed_bytes(self) -> bytes:
        bits = self.bits + [0] * (-len(self.bits) % 64)
        out = bytearray()
        for k in range(0, len(bits), 8):
            out.append(sum(b << i for i, b in enumerate(bits[k : k + 8])))
        return bytes(out)


def pad(vals: list, n: int, idx: list[int]) -> None:
    # pad_block: fill a partial row/column of n < 4 values (fallthrough switch)
    if n == 0:
        vals[idx[0]] = np.float32(0)
    if n <= 1:
        vals[idx[1]] = vals[idx[0]]
    if n <= 2:
        vals[idx[2]] = vals[idx[1]]
    if n <= 3:
        vals[idx[3]] = vals[idx[0]]


def gather(arr: np.ndarray, x0: int, y0: int) -> list:
    h, w = arr.shape
    nx, ny = min(4, w - x0), min(4, h - y0)
    block = [np.float32(0)] * 16
    for y in range(ny):
        for x in range(nx):
            block[4 * y + x] = arr[y0 + y, x0 + x]
        if nx < 4:
            pad(block, nx, [4 * y + k for k in range(4)])
    if ny < 4:
        for x in range(4):
            pad(block, ny, [x + 4 * k for k in range(4)])
    return block


def fwd_lift(v: list[int], idx: list[int]) -> None:
    x, y, z, w = (v[i] for i in idx)
    x += w; x >>= 1; w -= x  # noqa: E702
    z += y; z >>= 1; y -= z  # noqa: E702
    x += z; x >>= 1; z -= x  # noqa: E702
    w += y; w >>= 1; y -= w  # noqa: E702
    w += y >> 1; y -= w >> 1  # noqa: E702
    for i, val in zip(idx, (x, y, z, w)):
        v[i] = val


def encode_block(out: BitWriter, block: list, maxprec: int) -> None:
    fmax = np.float32(0)
    for v in block:
        a = np.float32(abs(v))
        if fmax < a:  # NaN never compares greater
            fmax = a
    if fmax > 0:
        emax = max(math.frexp(float(fmax))[1], 1 - EBIAS)
    else:
        emax = -EBIAS
    prec = min(maxprec, max(0, emax - (-1074) + 6))
    e = emax + EBIAS if prec else 0
    if not e:
        out.bit(0)
        return
    out.bits_lsb_first(2 * e + 1, 9)
    scale = np.float32(math.ldexp(1.0, 30 - emax))
    ints = [int(np.float32(scale * np.float32(v))) for v in block]
    for y in range(4):
        fwd_lift(ints, [4 * y + k for k in range(4)])
    for x in range(4):
        fwd_lift(ints, [x + 4 * k for k in range(4)])
    ublock = [((ints[p] + NBMASK) & 0xFFFFFFFF) ^ NBMASK for p in PERM_2]
    kmin = 32 - prec if prec < 32 else 0
    n = 0
    for k in range(31, kmin - 1, -1):
        x = sum(((u >> k) & 1) << i for i, u in enumerate(ublock))
        x = out.bits_lsb_first(x, n)
        while n < 16:
            if not out.bit(1 if x else 0):
                break
            while n < 15:
                if out.bit(x & 1):
                    break
                x >>= 1
                n += 1
            x >>= 1
            n += 1


def independent_zfp_encode(arr: np.ndarray, precision: int) -> bytes:
    out = BitWriter()
    h, w = arr.shape
    for y0 in range(0, h, 4):
        for x0 in range(0, w, 4):
            encode_block(out, gather(arr, x0, y0), precision)
    return out.flushed_bytes()


def test_worked_example_tile_exact_bytes() -> None:
    # WIRE.md 2.7: rows [1, NaN, NaN, 4] and [5, 6, NaN, 8]; the NaNs become 4.8f
    tile = np.array([[1, np.nan, np.nan, 4], [5, 6, np.nan, 8]], dtype=np.float32)
    fill_nan_blocks(tile)
    assert tile.tolist() == [[1, np.float32(4.8), np.float32(4.8), 4], [5, 6, np.float32(4.8), 8]]
    expected = bytes.fromhex("07310768a40262a649a4104b982d0100")
    assert independent_zfp_encode(tile, 11) == expected
    assert zfp_compress(tile, 11) == expected
    # first 9 bits: flag 1 and biased exponent 131 = 127 + 4 (max |v| = 8 = 0.5 * 2**4)
    assert expected[0] & 1 == 1
    assert ((int.from_bytes(expected[:2], "little") >> 1) & 0xFF) == 131


def _fields() -> list[tuple[str, np.ndarray]]:
    rng = np.random.default_rng(11)
    yy, xx = np.mgrid[0:13, 0:17]
    smooth = (np.sin(xx / 3.0) * np.cos(yy / 5.0) * 100).astype(np.float32)
    noise = rng.standard_normal((9, 10)).astype(np.float32)
    huge = (rng.standard_normal((4, 4)) * 1e37).astype(np.float32)
    tiny = (rng.standard_normal((5, 6)) * 1e-20).astype(np.float32)
    mixed = (rng.standard_normal((7, 5)) * 10.0 ** rng.integers(-5, 6, size=(7, 5))).astype(np.float32)
    zeros = np.zeros((6, 6), dtype=np.float32)
    one = np.array([[3.25]], dtype=np.float32)
    holes = smooth.copy()
    holes[2:9, 3:11] = np.nan
    holes[0, 0] = np.nan
    fill_nan_blocks(holes)
    return [("smooth", smooth), ("noise", noise), ("huge", huge), ("tiny", tiny), ("mixed", mixed),
            ("zeros", zeros), ("one", one), ("holes", holes)]


@pytest.mark.parametrize("precision", [1, 2, 4, 9, 11, 16, 23, 31, 32])
def test_stream_equals_independent_encoder(precision: int) -> None:
    for name, field in _fields():
        ours = zfp_compress(field, precision)
        assert ours == independent_zfp_encode(field, precision), name
        assert len(ours) % 8 == 0


def test_all_nan_blocks_are_zero_blocks() -> None:
    # a 4x8 tile: left block all NaN (left unfilled), right block valid
    tile = np.full((4, 8), np.nan, dtype=np.float32)
    tile[:, 4:] = np.arange(16, dtype=np.float32).reshape(4, 4)
    fill_nan_blocks(tile)
    assert np.isnan(tile[:, :4]).all()
    stream = zfp_compress(tile, 11)
    zero_left = tile.copy()
    zero_left[:, :4] = 0
    assert stream == independent_zfp_encode(zero_left, 11) == zfp_compress(zero_left, 11)
    assert stream[0] & 1 == 0  # the first block is a single 0 bit


@pytest.mark.parametrize("precision", [2, 4, 8, 11, 16, 24, 30, 32])
def test_round_trip_error_within_precision_bound(precision: int) -> None:
    rng = np.random.default_rng(precision)
    smooth = (rng.standard_normal((256, 256)) * 50).astype(np.float32).cumsum(axis=1)
    wild = (rng.standard_normal((256, 256)) * 10.0 ** rng.integers(-3, 3, (256, 256))).astype(np.float32)
    for field in (smooth, wild):
        back = zfp_decompress(zfp_compress(field, precision), 256, 256, precision)
        err = np.abs(back.astype(np.float64) - field).reshape(64, 4, 64, 4).max(axis=(1, 3))
        # Fixed precision p keeps p bit planes (at most 30 carry data: the block is
        # cast to int32 at 2**(30 - emax)) of the block scaled to its largest exponent
        # emax; the decorrelating transform amplifies that truncation by less than
        # 2**6 in 2-D (measured worst case 2**5.5), so the error stays below
        # 2**(emax - min(p, 30) + 6).
        emax = np.frexp(np.abs(field).reshape(64, 4, 64, 4).max(axis=(1, 3)))[1]
        bound = np.ldexp(1.0, emax - min(precision, 30) + 6)
        assert (err <= bound).all()
        assert err.max() > 0 or precision == 32


def test_zfpy_decoder_reads_exactly_our_bytes() -> None:
    # decoding with zfpy given only shape and precision, as the frontend does
    field = np.linspace(-3, 7, 13 * 21, dtype=np.float32).reshape(13, 21)
    stream = zfp_compress(field, 20)
    direct = zfpy._decompress(stream, zfpy.dtype_to_ztype(np.dtype("float32")), [13, 21], precision=20)
    assert np.array_equal(direct, zfp_decompress(stream, 21, 13, 20))
    np.testing.assert_allclose(direct, field, atol=1e-4)
    # the nx = width (fast axis) convention: transposing the field changes the stream
    assert zfp_compress(field.T, 20) != stream


def test_no_header_and_header_variant_differs() -> None:
    field = np.arange(16, dtype=np.float32).reshape(4, 4)
    with_header = zfpy.compress_numpy(field, precision=11)
    ours = zfp_compress(field, 11)
    # zfpy's default prepends a 96-bit header ("zfp", codec version 5, field and
    # mode words); the frontend would read that as block data.
    assert with_header[:4] == b"zfp\x05" and not ours.startswith(b"zfp")
    assert len(ours) == 8 and ours == independent_zfp_encode(field, 11)
    assert np.array_equal(zfpy.decompress_numpy(with_header), zfp_decompress(ours, 4, 4, 11))
