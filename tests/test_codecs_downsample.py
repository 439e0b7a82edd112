"""Block-mean downsampling (WIRE.md 2.4): bit-exact against a scalar transliteration of
the reference loops, and close to a float64 nanmean."""

from __future__ import annotations

import numpy as np
import pytest

from carta_trio.codecs.downsample import band_rows, block_mean, downsample_region, downsample_tile, tile_from_mip_plane
from carta_trio.codecs.tile_geometry import mip_for_layer, tile_bounds, total_layers

F = np.float32


def slow_reference(region: np.ndarray, m: int) -> np.ndarray:
    """One float32 accumulator per block, in the order of BlockSmoothSSE (m % 4 == 0)
    or BlockSmoothScalar (otherwise), written as plain loops over numpy float32 scalars."""
    h, w = region.shape
    oh, ow = -(-h // m), -(-w // m)
    out = np.empty((oh, ow), dtype=np.float32)
    for j in range(oh):
        for i in range(ow):
            r0, c0 = j * m, i * m
            rows, cols = min(m, h - r0), min(m, w - c0)
            if m % 4 == 0:
                lanes = [F(0)] * 4
                count = 0
                chunks = cols // 4
                for r in range(rows):
                    for k in range(chunks):
                        for lane in range(4):
                            v = region[r0 + r, c0 + 4 * k + lane]
                            if np.isfinite(v):
                                lanes[lane] = F(lanes[lane] + v)
                                count += 1
                total = F(F(lanes[0] + lanes[1]) + F(lanes[2] + lanes[3]))
                if cols != m:
                    for r in range(rows):
                        for c in range(4 * chunks, cols):
                            v = region[r0 + r, c0 + c]
                            if np.isfinite(v):
                                total = F(total + v)
                                count += 1
            else:
                total, count = F(0), 0
                for r in range(rows):
                    for c in range(cols):
                        v = region[r0 + r, c0 + c]
                        if np.isfinite(v):
                            total = F(total + v)
                            count += 1
            out[j, i] = F(total / F(count)) if count else np.nan
    return out


def noisy_plane(h: int, w: int, seed: int, nan_fraction: float = 0.1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    # wide dynamic range so float32 summation order shows in the last bits
    data = (rng.standard_normal((h, w)) * 10.0 ** rng.integers(-3, 4, size=(h, w))).astype(np.float32)
    data[rng.random((h, w)) < nan_fraction] = np.nan
    data[rng.random((h, w)) < 0.01] = np.inf
    data[rng.random((h, w)) < 0.01] = -np.inf
    return data


def assert_bits_equal(a: np.ndarray, b: np.ndarray) -> None:
    assert a.shape == b.shape and a.dtype == b.dtype == np.float32
    nan_a, nan_b = np.isnan(a), np.isnan(b)
    assert (nan_a == nan_b).all()
    assert (a[~nan_a].view(np.uint32) == b[~nan_b].view(np.uint32)).all()


@pytest.mark.parametrize("m", [2, 3, 4, 5, 8, 12, 16])
@pytest.mark.parametrize("shape", [(37, 45), (16, 16), (7, 3), (33, 65)])
def test_bit_exact_against_reference_loops(m: int, shape: tuple[int, int]) -> None:
    plane = noisy_plane(*shape, seed=m * 100 + shape[0])
    assert_bits_equal(block_mean(plane, m), slow_reference(plane, m))


def test_partial_edge_block_is_mean_of_present_pixels() -> None:
    plane = np.arange(5 * 7, dtype=np.float32).reshape(5, 7)
    out = block_mean(plane, 4)
    assert out.shape == (2, 2)
    assert out[0, 0] == plane[:4, :4].mean()
    assert out[0, 1] == plane[:4, 4:].mean()  # 4 rows x 3 columns
    assert out[1, 0] == plane[4:, :4].mean()  # 1 row x 4 columns
    assert out[1, 1] == plane[4:, 4:].mean()  # 1 x 3


def test_non_finite_excluded_and_empty_block_is_nan() -> None:
    plane = np.array([[np.nan, np.inf, 1, 2], [-np.inf, np.nan, 3, np.nan]], dtype=np.float32)
    out = block_mean(plane, 2)
    assert np.isnan(out[0, 0])
    assert out[0, 1] == 2.0


def test_close_to_float64_nanmean_on_large_plane() -> None:
    rng = np.random.default_rng(3)
    plane = rng.normal(5.0, 2.0, size=(1000, 777)).astype(np.float32)
    plane[rng.random(plane.shape) < 0.2] = np.nan
    for m in (2, 4, 8, 32):
        out = block_mean(plane, m)
        oh, ow = out.shape
        padded = np.full((oh * m, ow * m), np.nan)
        padded[:1000, :777] = plane
        blocks = padded.reshape(oh, m, ow, m)
        count = np.isfinite(blocks).sum(axis=(1, 3))
        with np.errstate(invalid="ignore"):
            expected = np.nansum(blocks, axis=(1, 3)) / count
        np.testing.assert_allclose(out, expected, rtol=2e-6, atol=0)
        assert (np.isnan(out) == np.isnan(expected)).all()


def test_factor_one_is_copy_with_non_finite_kept() -> None:
    plane = noisy_plane(9, 11, seed=1)
    out = block_mean(plane, 1)
    assert out is not plane
    assert_bits_equal(out, plane)


def test_tile_data_for_every_tile_of_a_layer() -> None:
    w, h = 1000, 600
    plane = noisy_plane(h, w, seed=5, nan_fraction=0.02)
    for layer in range(total_layers(w, h) + 1):
        mip = mip_for_layer(layer, w, h)
        b = tile_bounds(1 if layer else 0, 0, layer, w, h)
        tile = downsample_tile(plane, b)
        assert tile.shape == (b.height, b.width)
        assert_bits_equal(tile, block_mean(plane[b.y_min : b.y_max, b.x_min : b.x_max], mip))
    # the last tile of layer 1 against the reference loops
    b = tile_bounds(1, 1, 1, w, h)
    assert_bits_equal(downsample_tile(plane, b), slow_reference(plane[512:600, 512:1000], 2))


def test_invalid_inputs() -> None:
    plane = np.zeros((4, 4), dtype=np.float32)
    with pytest.raises(ValueError, match="at least 1"):
        block_mean(plane, 0)
    with pytest.raises(ValueError, match="2-D"):
        block_mean(np.zeros(4, dtype=np.float32), 2)
    with pytest.raises(ValueError, match="outside"):
        downsample_region(plane, 0, 5, 0, 4, 2)


def test_tile_from_precomputed_mip_plane() -> None:
    w, h = 1000, 600
    plane = noisy_plane(h, w, seed=8, nan_fraction=0.0)
    mip_plane = block_mean(plane, 2)  # what an HDF5 MipMaps dataset would hold
    for x, y in [(0, 0), (1, 1), (1, 0)]:
        b = tile_bounds(x, y, 1, w, h)
        assert_bits_equal(tile_from_mip_plane(mip_plane, b), downsample_tile(plane, b))
    with pytest.raises(ValueError, match="does not contain"):
        tile_from_mip_plane(mip_plane[:100], tile_bounds(1, 1, 1, w, h))


@pytest.mark.parametrize(("h", "w", "factor", "parts"), [(1001, 777, 8, 2), (1001, 777, 3, 3), (5, 9, 16, 2), (37, 64, 4, 64)])
def test_row_bands_stack_to_the_whole_block_mean(h: int, w: int, factor: int, parts: int) -> None:
    plane = noisy_plane(h, w, seed=9, nan_fraction=0.05)
    bands = band_rows(h, factor, parts)
    assert bands[0][0] == 0 and bands[-1][1] == h and len(bands) <= parts
    assert all(stop == start for (_, stop), (start, _) in zip(bands, bands[1:]))
    assert all(start % factor == 0 for start, _ in bands)
    stacked = np.concatenate([block_mean(plane[start:stop], factor) for start, stop in bands])
    assert_bits_equal(stacked, block_mean(plane, factor))


@pytest.mark.parametrize(("h", "w", "factor"), [(300, 1024, 2), (257, 1030, 4), (130, 2049, 8), (70, 4096, 4)])
def test_cache_sized_bands_are_bit_identical(monkeypatch: pytest.MonkeyPatch, h: int, w: int, factor: int) -> None:
    """Large planes are reduced in row bands (cache-sized): same bits as one whole pass."""
    import carta_trio.codecs.downsample as downsample

    plane = noisy_plane(h, w, seed=h + w, nan_fraction=0.02)
    clean = np.nan_to_num(plane, nan=1.5, posinf=2.5, neginf=-2.5)
    banded = [block_mean(plane, factor), block_mean(clean, factor)]
    assert h > downsample._band_height(w, factor)  # several bands were reduced
    monkeypatch.setattr(downsample, "_BANDED_FACTORS", 0)
    assert_bits_equal(banded[0], block_mean(plane, factor))
    assert_bits_equal(banded[1], block_mean(clean, factor))
