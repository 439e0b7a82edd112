"""Contour smoothing, tracing and chunking (analysis/contours.py) against independent
computations: smoothing with plain numpy loops, tracing with contourpy called
directly, every chunk encoded and decoded as the frontend does."""

from __future__ import annotations

import math

import contourpy
import numpy as np
import pytest

from carta_trio.analysis import contours
from carta_trio.codecs.contour_encoding import decode_contour_set, encode_contour_set

FLT_MAX = float(np.finfo(np.float32).max)


# ------------------------------------------------------------ independent references


def reference_gaussian(plane: np.ndarray, factor: int) -> np.ndarray:
    """WIRE.md 3.2 Gaussian, written independently: float64, np.convolve per line."""
    r = factor - 1
    sigma = r / 2.0
    k = np.arange(-r, r + 1)
    w = np.exp(-0.5 * k * k / sigma**2) / sigma
    src = plane.astype(np.float64)

    def one_pass(a: np.ndarray) -> np.ndarray:  # along the last axis
        ok = np.isfinite(a)
        num = np.array([np.convolve(np.where(ok[i], a[i], 0.0), w[::-1], mode="valid") for i in range(a.shape[0])])
        den = np.array([np.convolve(ok[i].astype(float), w[::-1], mode="valid") for i in range(a.shape[0])])
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)

    out = one_pass(one_pass(src).T).T
    out[np.isnan(src[r : src.shape[0] - r, r : src.shape[1] - r])] = np.nan
    return out


def reference_block_mean(plane: np.ndarray, f: int) -> np.ndarray:
    h, w = plane.shape
    out = np.full((-(-h // f), -(-w // f)), np.nan)
    for j in range(out.shape[0]):
        for i in range(out.shape[1]):
            block = plane[j * f : (j + 1) * f, i * f : (i + 1) * f].astype(np.float64)
            block = block[np.isfinite(block)]
            if block.size:
                out[j, i] = block.mean()
    return out


def reference_polylines(smoothed: np.ndarray, level: float, scale: int, offset: float) -> list[np.ndarray]:
    """contourpy run directly on the smoothed grid, NaN as -FLT_MAX, mapped to wire coordinates."""
    z = np.where(np.isnan(smoothed), -FLT_MAX, smoothed).astype(np.float64)
    gen = contourpy.contour_generator(z=z, name="serial", line_type=contourpy.LineType.Separate)
    return [scale * (line + 0.5) + offset for line in gen.lines(level)]


def decoded_polylines(chunks: list[contours.ContourChunk], level: float, decimation: int, compression: int):
    """Encode every chunk, decode it as the frontend does, and split into polylines."""
    lines: list[np.ndarray] = []
    for chunk in chunks:
        enc = encode_contour_set(level, chunk.vertices, chunk.start_indices, decimation, compression)
        assert enc.level == level
        if not enc.raw_coordinates:
            continue
        vertices, starts = decode_contour_set(
            enc.raw_coordinates, enc.raw_start_indices, enc.uncompressed_coordinates_size, enc.decimation_factor
        )
        bounds = list(starts) + [vertices.size]
        for a, b in zip(bounds[:-1], bounds[1:]):
            lines.append(vertices[a:b].reshape(-1, 2))
    return lines


def sample_plane(seed: int = 1, shape: tuple[int, int] = (90, 120)) -> np.ndarray:
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0 : shape[0], 0 : shape[1]]
    plane = np.sin(x / 9.0) * np.cos(y / 7.0) + 0.3 * rng.normal(size=shape)
    plane[20:28, 40:55] = np.nan
    plane[0, :7] = np.nan
    return plane.astype(np.float32)


# ------------------------------------------------------------------------ smoothing


@pytest.mark.parametrize("with_nan", [True, False])
@pytest.mark.parametrize("factor", [2, 3, 4, 7])
def test_gaussian_smoothing_matches_independent_convolution(factor: int, with_nan: bool) -> None:
    plane = sample_plane()
    if not with_nan:
        plane = np.nan_to_num(plane, nan=0.25)
    ours = contours.gaussian_smooth(plane, factor)
    ref = reference_gaussian(plane, factor)
    r = factor - 1
    assert ours.dtype == np.float32
    assert ours.shape == (plane.shape[0] - 2 * r, plane.shape[1] - 2 * r)
    assert np.array_equal(np.isnan(ours), np.isnan(ref))
    np.testing.assert_allclose(ours[~np.isnan(ours)], ref[~np.isnan(ref)], rtol=2e-5, atol=2e-6)


def test_gaussian_smoothing_in_bands_and_row_ranges() -> None:
    """Planes taller than a band, and the result assembled from separate row ranges,
    equal the independent computation."""
    plane = sample_plane(6, (2 * contours.BAND_ROWS + 41, 40))
    ref = reference_gaussian(plane, 5)
    whole = contours.gaussian_smooth(plane, 5)
    out = np.full_like(whole, -1.0)
    contours.gaussian_smooth(plane, 5, (0, 97), out)
    contours.gaussian_smooth(plane, 5, (97, out.shape[0]), out)
    for got in (whole, out):
        assert np.array_equal(np.isnan(got), np.isnan(ref))
        np.testing.assert_allclose(got[~np.isnan(got)], ref[~np.isnan(ref)], rtol=2e-5, atol=2e-6)


def test_gaussian_weights_formula() -> None:
    w = contours.gaussian_weights(4)
    k = np.arange(-3, 4)
    assert w.dtype == np.float32
    np.testing.assert_array_equal(w, (np.exp(-0.5 * k * k / 1.5**2) / 1.5).astype(np.float32))


def test_gaussian_skips_nan_samples_and_keeps_nan_centres() -> None:
    """On a plane of ones with a NaN block, every finite output is exactly the mean of
    ones (NaN samples do not count); outputs are NaN exactly where the centre is."""
    plane = np.ones((12, 12), np.float32)
    plane[2:5, 3:9] = np.nan
    out = contours.gaussian_smooth(plane, 3)
    assert out.shape == (8, 8)
    np.testing.assert_array_equal(np.isnan(out), np.isnan(plane[2:10, 2:10]))
    np.testing.assert_allclose(out[np.isfinite(out)], 1.0, rtol=1e-6)
    assert contours.gaussian_smooth(np.ones((4, 9), np.float32), 3).shape == (0, 5)


@pytest.mark.parametrize("factor", [2, 3, 4, 5])
def test_block_average_matches_nanmean(factor: int) -> None:
    plane = sample_plane(2, (37, 50))
    smoothed = contours.smooth_plane(plane, contours.BLOCK_AVERAGE, factor)
    assert (smoothed.scale, smoothed.offset) == (factor, 0.0)
    ref = reference_block_mean(plane, factor)
    assert np.array_equal(np.isnan(smoothed.data), np.isnan(ref))
    np.testing.assert_allclose(smoothed.data[~np.isnan(ref)], ref[~np.isnan(ref)], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("mode, factor", [(0, 4), (1, 1), (2, 1), (2, 0), (1, 0)])
def test_no_smoothing_for_mode_zero_or_factor_at_most_one(mode: int, factor: int) -> None:
    plane = sample_plane()
    smoothed = contours.smooth_plane(plane, mode, factor)
    assert (smoothed.scale, smoothed.offset) == (1, 0.0)
    np.testing.assert_array_equal(smoothed.data, plane)


def test_gaussian_offset_and_scale() -> None:
    smoothed = contours.smooth_plane(sample_plane(), contours.GAUSSIAN_BLUR, 5)
    assert (smoothed.scale, smoothed.offset) == (1, 4.0)


# ------------------------------------------------------------------ coordinates


def _single_level(plane: np.ndarray, mode: int, factor: int, level: float) -> list[np.ndarray]:
    smoothed = contours.smooth_plane(plane, mode, factor)
    z = contours.prepare_for_tracing(smoothed.data)
    chunks = contours.contour_level(z, level, smoothed.scale, smoothed.offset, 0)
    return decoded_polylines(chunks, level, 0, 0)


def test_vertex_convention_no_smoothing() -> None:
    """v = x on 8 x 8, level 3.3: the crossing x = 3.3 is sent as 3.8 (pixel centre + 0.5)."""
    plane = np.tile(np.arange(8, dtype=np.float32), (8, 1))
    (line,) = _single_level(plane, contours.NO_SMOOTHING, 0, 3.3)
    np.testing.assert_allclose(line[:, 0], 3.8, atol=1e-6)
    assert sorted(line[:, 1].tolist()) == pytest.approx([j + 0.5 for j in range(8)])


def test_vertex_convention_block_average() -> None:
    """Block mean 4 of v = x: block k holds 4k + 1.5 and is placed at 4(k + 0.5)."""
    plane = np.tile(np.arange(32, dtype=np.float32), (16, 1))
    (line,) = _single_level(plane, contours.BLOCK_AVERAGE, 4, 9.5)  # block 2 exactly
    np.testing.assert_allclose(line[:, 0], 4 * (2 + 0.5), atol=1e-5)
    assert sorted(line[:, 1].tolist()) == pytest.approx([4 * (j + 0.5) for j in range(4)])


def test_vertex_convention_gaussian() -> None:
    """A Gaussian keeps a linear ramp; smoothed column i is original column i + r."""
    plane = np.tile(np.arange(40, dtype=np.float32), (20, 1))
    (line,) = _single_level(plane, contours.GAUSSIAN_BLUR, 4, 10.3)
    np.testing.assert_allclose(line[:, 0], 10.3 + 0.5, atol=1e-4)
    assert sorted(line[:, 1].tolist()) == pytest.approx([j + 0.5 + 3 for j in range(20 - 6)])


def test_contour_closes_around_nan_hole_like_the_reference() -> None:
    """NaN is -FLT_MAX: a level below the data closes around the hole on valid pixel centres."""
    plane = np.ones((10, 10), np.float32)
    plane[4:6, 3:7] = np.nan
    (line,) = _single_level(plane, contours.NO_SMOOTHING, 0, 0.5)
    np.testing.assert_array_equal(line[0], line[-1])  # closed: the frontend checks first == last
    xs, ys = line[:, 0] - 0.5, line[:, 1] - 0.5
    assert xs.min() == pytest.approx(2.0) and xs.max() == pytest.approx(7.0)
    assert ys.min() == pytest.approx(3.0) and ys.max() == pytest.approx(6.0)


# ---------------------------------------------------------- vertices vs contourpy


@pytest.mark.parametrize(
    "mode, factor, decimation, compression, chunk_size",
    [
        (contours.NO_SMOOTHING, 0, 4, 0, 0),
        (contours.NO_SMOOTHING, 0, 4, 8, 50),
        (contours.BLOCK_AVERAGE, 3, 8, 5, 20),
        (contours.GAUSSIAN_BLUR, 4, 4, 8, 100),
        (contours.GAUSSIAN_BLUR, 2, 32, 1, 7),
        (contours.GAUSSIAN_BLUR, 6, 1, 0, 100_000),
    ],
)
def test_decoded_vertices_match_contourpy(mode, factor, decimation, compression, chunk_size) -> None:
    plane = sample_plane(3)
    if mode == contours.GAUSSIAN_BLUR and factor > 1:
        reference_grid, scale, offset = reference_gaussian(plane, factor), 1, factor - 1
    elif mode == contours.BLOCK_AVERAGE:
        reference_grid, scale, offset = reference_block_mean(plane, factor), factor, 0
    else:
        reference_grid, scale, offset = plane.astype(np.float64), 1, 0
    settings = contours.make_contour_settings(
        [-0.6, 0.0, 0.45], mode, factor, decimation, compression, chunk_size
    )
    smoothed = contours.smooth_plane(plane, settings.smoothing_mode, settings.smoothing_factor)
    z = contours.prepare_for_tracing(smoothed.data)
    tolerance = 2e-4 if compression < 1 else 0.5 / decimation + 2e-4
    for level in settings.levels:
        chunks = contours.contour_level(z, level, smoothed.scale, smoothed.offset, settings.chunk_size)
        ours = decoded_polylines(chunks, level, settings.decimation_factor, settings.compression_level)
        expected = reference_polylines(reference_grid, level, scale, offset)
        assert len(ours) == len(expected) > 0
        for got, want in zip(ours, expected):
            assert got.shape == want.shape
            np.testing.assert_allclose(got, want, atol=tolerance, rtol=0)


# --------------------------------------------------------------------- chunking


def test_chunks_follow_the_buffer_rule() -> None:
    plane = sample_plane(4)
    z = contours.prepare_for_tracing(plane)
    points, offsets = contours.trace_level(z, 0.1)
    flat = contours.wire_vertices(points, 1, 0.0)
    chunk_size = 40
    chunks = contours.level_chunks(flat, offsets, chunk_size)
    assert len(chunks) > 3
    sizes = np.diff(offsets) * 2
    polyline = 0
    for chunk in chunks[:-1]:
        assert 0 < chunk.progress <= 0.99
        assert chunk.vertices.size > 2 * chunk_size
        assert chunk.start_indices[0] == 0
        last_size = int(sizes[polyline + chunk.start_indices.size - 1])
        assert chunk.vertices.size - last_size <= 2 * chunk_size  # closed right after crossing the limit
        polyline += chunk.start_indices.size
    assert chunks[-1].progress == 1.0 and chunks[-1].vertices.size > 0
    assert [c.progress for c in chunks] == sorted(c.progress for c in chunks)
    joined = np.concatenate([c.vertices for c in chunks])
    np.testing.assert_array_equal(joined, flat)
    assert sum(c.start_indices.size for c in chunks) == offsets.size - 1


def test_single_chunk_without_chunk_size_and_empty_level() -> None:
    z = contours.prepare_for_tracing(sample_plane(5))
    (only,) = contours.contour_level(z, 0.0, 1, 0.0, 0)
    assert only.progress == 1.0 and only.vertices.size > 0
    (empty,) = contours.contour_level(z, 100.0, 1, 0.0, 10)
    assert (empty.progress, empty.vertices.size, empty.start_indices.size) == (1.0, 0, 0)
    (tiny,) = contours.contour_level(np.zeros((1, 5)), 0.0, 1, 0.0, 10)
    assert tiny.vertices.size == 0


def test_start_indices_are_float_indices() -> None:
    flat = np.arange(20, dtype=np.float32)  # 10 vertices
    (chunk,) = contours.level_chunks(flat, np.array([0, 3, 4, 10]), 0)
    np.testing.assert_array_equal(chunk.start_indices, [0, 6, 8])
    first, second = contours.level_chunks(flat, np.array([0, 3, 4, 10]), 2)
    np.testing.assert_array_equal(first.start_indices, [0])
    np.testing.assert_array_equal(second.start_indices, [0, 2])
    assert first.progress == pytest.approx(0.3) and second.progress == 1.0


# --------------------------------------------------------------------- settings


def test_settings_validation() -> None:
    settings = contours.make_contour_settings([1.0, 2.0, 1.0, 0.5], 2, 4, 4, 8, -5)
    assert settings.levels == (1.0, 2.0, 0.5)
    assert settings.chunk_size == 0
    assert contours.make_contour_settings([]).is_empty
    with pytest.raises(contours.ContourParameterError, match="Too many contour levels: 500"):
        contours.make_contour_settings(np.linspace(0, 1, 500))
    with pytest.raises(contours.ContourParameterError, match="Invalid contour level nan"):
        contours.make_contour_settings([1.0, math.nan])
    with pytest.raises(contours.ContourParameterError, match="Invalid contour level inf"):
        contours.make_contour_settings([math.inf])
    with pytest.raises(contours.ContourParameterError, match="smoothing factor 40 is out of range"):
        contours.make_contour_settings([1.0], 2, 40)
    with pytest.raises(contours.ContourParameterError, match="smoothing factor -1 is out of range"):
        contours.make_contour_settings([1.0], 1, -1)
    with pytest.raises(contours.ContourParameterError, match="Unknown contour smoothing mode 7"):
        contours.make_contour_settings([1.0], 7, 4)
