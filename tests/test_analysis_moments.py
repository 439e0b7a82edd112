"""Moments (ANALYTICS.md §6): every moment type against a per-spectrum reference written
here from the CASA formulas, the worked examples of §6.2-6.3, units, selection rules."""

from __future__ import annotations

import math

import numpy as np
import pytest

from carta_trio.analysis.moments import (
    SUFFIXES,
    Moment,
    moment_block,
    moment_coordinates,
    moment_unit,
    pixel_range,
    selected_moments,
)
from carta_trio.analysis.spectral_axis import C_KM_S, spectral_axis_from_header

M = Moment
F32 = np.float32
ALL = list(Moment)
REST = 1.420405751e9
SPECTRUM = np.array([1, 2, 3, 10, 4, 2, 1, 1], dtype=F32)
HEADERS = {
    "freq_rest": {"CTYPE3": "FREQ", "CRVAL3": 1.42e9, "CDELT3": 1e5, "CRPIX3": 1, "RESTFRQ": REST},
    "freq": {"CTYPE3": "FREQ", "CRVAL3": 1.42e9, "CDELT3": 1e5, "CRPIX3": 1},
    "vrad": {"CTYPE3": "VRAD", "CRVAL3": 1000e3, "CDELT3": 10e3, "CRPIX3": 1, "RESTFRQ": REST},
    "vopt": {"CTYPE3": "VOPT", "CRVAL3": 1000e3, "CDELT3": 10e3, "CRPIX3": 1, "RESTFRQ": REST},
}


def reference_spectrum(values: np.ndarray, coords: np.ndarray, scale: float, moment: Moment,
                       include=None, exclude=None, coord_at=None) -> float:
    """One spectrum, sample by sample, as CASA's MomentClip/MomentCalcBase do."""
    chosen, index = [], []
    for i, v in enumerate(values.tolist()):
        if not math.isfinite(v):
            continue
        if include is not None and not (F32(include[0]) <= v <= F32(include[1])):
            continue
        if exclude is not None and not (v <= F32(exclude[0]) or v >= F32(exclude[1])):
            continue
        chosen.append(F32(v))
        index.append(i)
    n = len(chosen)
    if n == 0:
        return math.nan
    s0 = sum(float(v) for v in chosen)
    s0sq = sum(float(v) * float(v) for v in chosen)
    s1 = sum(float(v) * coords[i] for v, i in zip(chosen, index))
    s2 = sum(float(v) * coords[i] ** 2 for v, i in zip(chosen, index))
    if moment == M.MEAN_OF_THE_SPECTRUM:
        return float(F32(s0 / n))
    if moment == M.INTEGRATED_OF_THE_SPECTRUM:
        return float(F32(s0 * scale))
    if moment in (M.INTENSITY_WEIGHTED_COORD, M.INTENSITY_WEIGHTED_DISPERSION_OF_THE_COORD):
        if s0 == 0:
            return math.nan
        m1 = F32(s1 / s0)
        if moment == M.INTENSITY_WEIGHTED_COORD:
            return float(m1)
        d = abs(F32(s2 / s0 - float(F32(m1 * m1))))
        return float(np.sqrt(d)) if d > 0 else math.nan
    if moment == M.MEDIAN_OF_THE_SPECTRUM:
        s = sorted(chosen)
        h = (n - 1) // 2
        if n % 2 == 0 and n <= 100:
            return float(F32((s[h] + s[h + 1]) / F32(2)))
        return float(s[h])
    if moment == M.MEDIAN_COORDINATE:
        cum = [abs(chosen[0])]
        for v in chosen[1:]:
            cum.append(F32(v + abs(cum[-1])))
        half = float(max(cum)) / 2.0
        k = next((j for j, c in enumerate(cum) if float(c) >= half), 0)
        return float(F32(coord_at(index[k])))
    if moment == M.STD_ABOUT_THE_MEAN_OF_THE_SPECTRUM:
        var = (s0sq - s0 * s0 / n) / (n - 1) if n > 1 else 0.0
        return float(F32(math.sqrt(var))) if n > 1 and F32(var) > 0 else math.nan
    if moment == M.RMS_OF_THE_SPECTRUM:
        return float(F32(math.sqrt(s0sq / n)))
    if moment == M.ABS_MEAN_DEVIATION_OF_THE_SPECTRUM:
        mean = F32(s0 / n)
        return float(F32(sum(float(abs(F32(v - mean))) for v in chosen) / n))
    peak = max(range(n), key=lambda j: (chosen[j], -j))
    low = min(range(n), key=lambda j: (chosen[j], j))
    if moment == M.MAX_OF_THE_SPECTRUM:
        return float(chosen[peak])
    if moment == M.MIN_OF_THE_SPECTRUM:
        return float(chosen[low])
    if moment == M.COORD_OF_THE_MAX_OF_THE_SPECTRUM:
        return float(F32(coords[index[peak]]))
    return float(F32(coords[index[low]]))


@pytest.fixture
def cube() -> np.ndarray:
    rng = np.random.default_rng(7)
    data = (rng.normal(0.5, 1.0, size=(23, 5, 6)) * 3).astype(F32)
    data[:, 0, 0] = np.nan  # an all-masked spectrum
    data[3:9, 1, 2] = np.nan
    data[0, 4, 5] = np.inf
    data[:, 2, 3] = 0.0  # s0 == 0: weighted moments masked, std masked
    data[:, 3, 3] = np.nan
    data[7, 3, 3] = 2.5  # a single sample
    return data


@pytest.mark.parametrize("kind", sorted(HEADERS))
@pytest.mark.parametrize("mask", [(0, 0, 0), (1, -0.5, 4.0), (1, 6.0, -1.0), (2, -1.0, 2.0)])
def test_every_moment_matches_per_spectrum_reference(cube: np.ndarray, kind: str, mask: tuple) -> None:
    nz = cube.shape[0]
    axis = spectral_axis_from_header(HEADERS[kind], 2, 40)
    z0 = 5
    coords = moment_coordinates(axis, z0, z0 + nz)
    prange = pixel_range(*mask)
    moments = selected_moments(ALL, prange)
    result = moment_block(cube, coords, moments, prange)
    for moment in moments:
        plane = result.planes[moment]
        assert plane.dtype == np.float32 and plane.shape == cube.shape[1:]
        for y in range(cube.shape[1]):
            for x in range(cube.shape[2]):
                want = reference_spectrum(cube[:, y, x], coords.values, coords.scale, moment,
                                          prange.include, prange.exclude, lambda p: coords.at(np.array(p))[()])
                got = float(plane[y, x])
                if math.isnan(want):
                    assert math.isnan(got), (moment, y, x, got)
                else:
                    assert got == pytest.approx(want, rel=2e-7, abs=1e-30), (moment, y, x)


@pytest.mark.parametrize("moment", ALL)
def test_each_moment_alone_matches_the_reference(cube: np.ndarray, moment: Moment) -> None:
    coords = moment_coordinates(spectral_axis_from_header(HEADERS["freq_rest"], 2, 23), 0, 23)
    prange = pixel_range(2, 0.2, 0.4) if moment == M.MEDIAN_COORDINATE else pixel_range(0, 0, 0)
    plane = moment_block(cube, coords, [moment], prange).planes[moment]
    for y in range(cube.shape[1]):
        for x in range(cube.shape[2]):
            want = reference_spectrum(cube[:, y, x], coords.values, coords.scale, moment, prange.include,
                                      prange.exclude, lambda p: coords.at(np.array(p))[()])
            assert plane[y, x] == pytest.approx(want, rel=2e-7, nan_ok=True), (y, x)


@pytest.mark.parametrize(
    "kind, integrated, weighted, max_coord, min_coord, dispersion, unit",
    [
        ("freq_rest", 506.54672, 17.922819, 22.319927, 85.638268, 32.228127, "km/s"),
        ("freq", 2.4000001e11, 1420320896.0, 1420300032.0, 1420000000.0, 459780.66, "Hz"),
        ("vrad", 240.0, 1032.0834, 1030.0, 1000.0, None, "km/s"),
        ("vopt", 238.39894, 1028.5416, 1026.4734, 996.67548, 15.16586, "km/s"),
    ],
)
def test_worked_examples_of_the_reference(kind, integrated, weighted, max_coord, min_coord, dispersion, unit) -> None:
    block = np.broadcast_to(SPECTRUM[:, None, None], (8, 4, 4)).copy()
    coords = moment_coordinates(spectral_axis_from_header(HEADERS[kind], 2, 8), 0, 8)
    prange = pixel_range(1, 0.5, 1000.0)
    planes = moment_block(block, coords, selected_moments(ALL, prange), prange).planes
    value = {m: float(p[0, 0]) for m, p in planes.items()}
    assert value[M.INTEGRATED_OF_THE_SPECTRUM] == pytest.approx(integrated, rel=1e-7)
    assert value[M.INTENSITY_WEIGHTED_COORD] == pytest.approx(weighted, rel=1e-7)
    assert value[M.COORD_OF_THE_MAX_OF_THE_SPECTRUM] == pytest.approx(max_coord, rel=1e-7)
    assert value[M.MEDIAN_COORDINATE] == pytest.approx(max_coord, rel=1e-7)
    assert value[M.COORD_OF_THE_MIN_OF_THE_SPECTRUM] == pytest.approx(min_coord, rel=1e-7)
    if dispersion is not None:
        assert value[M.INTENSITY_WEIGHTED_DISPERSION_OF_THE_COORD] == pytest.approx(dispersion, rel=1e-7)
    assert (value[M.MEAN_OF_THE_SPECTRUM], value[M.MEDIAN_OF_THE_SPECTRUM]) == (3.0, 2.0)
    assert value[M.STD_ABOUT_THE_MEAN_OF_THE_SPECTRUM] == pytest.approx(3.0237157, rel=1e-7)
    assert value[M.RMS_OF_THE_SPECTRUM] == pytest.approx(4.1231055, rel=1e-7)
    assert (value[M.ABS_MEAN_DEVIATION_OF_THE_SPECTRUM], value[M.MAX_OF_THE_SPECTRUM]) == (2.0, 10.0)
    assert value[M.MIN_OF_THE_SPECTRUM] == 1.0
    assert moment_unit(M.INTENSITY_WEIGHTED_COORD, "Jy/beam", coords) == unit


def test_units_follow_casa() -> None:
    velocity = moment_coordinates(spectral_axis_from_header(HEADERS["freq_rest"], 2, 8), 0, 8)
    native = moment_coordinates(spectral_axis_from_header(HEADERS["freq"], 2, 8), 0, 8)
    expected_velocity = {M.INTEGRATED_OF_THE_SPECTRUM: "Jy/beam.km/s",
                         M.INTENSITY_WEIGHTED_DISPERSION_OF_THE_COORD: "km/s", M.MEDIAN_COORDINATE: "km/s",
                         M.COORD_OF_THE_MAX_OF_THE_SPECTRUM: "km/s", M.COORD_OF_THE_MIN_OF_THE_SPECTRUM: "km/s"}
    expected_native = {M.INTEGRATED_OF_THE_SPECTRUM: "Jy/beam.Hz", M.INTENSITY_WEIGHTED_COORD: "Hz",
                       M.INTENSITY_WEIGHTED_DISPERSION_OF_THE_COORD: "Hz.Hz", M.COORD_OF_THE_MIN_OF_THE_SPECTRUM: "Hz"}
    for moment in Moment:
        if moment in expected_velocity:
            assert moment_unit(moment, "Jy/beam", velocity) == expected_velocity[moment]
        elif moment not in (M.INTENSITY_WEIGHTED_COORD,):
            assert moment_unit(moment, "Jy/beam", velocity) == "Jy/beam"
        if moment in expected_native:
            assert moment_unit(moment, "Jy/beam", native) == expected_native[moment]
    assert moment_unit(M.INTEGRATED_OF_THE_SPECTRUM, "", native) == "Hz"


def test_velocity_axis_conversions() -> None:
    freq = spectral_axis_from_header({"CTYPE3": "FREQ", "CRVAL3": 1.0, "CDELT3": 0.001, "CRPIX3": 3,
                                      "CUNIT3": "GHz", "RESTFRQ": 1.001e9}, 2, 10)
    assert freq.world(2.0) == pytest.approx(1e9)
    assert freq.radio_velocity_kms(np.array([2.0]))[0] == pytest.approx(C_KM_S * (1 - 1e9 / 1.001e9))
    assert freq.velocity_channel_width_kms() == pytest.approx(C_KM_S * 1e6 / 1.001e9)
    vopt = spectral_axis_from_header(HEADERS["vopt"], 2, 8)
    assert vopt.tabular and not freq.tabular
    v = vopt.radio_velocity_kms(np.arange(8.0))
    optical = 1000.0 + 10.0 * np.arange(8)
    assert v == pytest.approx(optical / (1 + optical / C_KM_S), rel=1e-12)
    assert vopt.velocity_channel_width_kms() == pytest.approx(v[1] - v[0], rel=1e-9)
    linear = spectral_axis_from_header({"CTYPE3": "", "CRVAL3": 5.0, "CDELT3": 2.0, "CRPIX3": 1}, 2, 4)
    coords = moment_coordinates(linear, 1, 3)
    assert list(coords.values) == [7.0, 9.0] and coords.scale == 4.0 and not coords.velocity


def test_selection_rules() -> None:
    assert pixel_range(1, 5.0, 2.0).include == (2.0, 5.0)
    assert pixel_range(2, 1.0, 3.0).exclude == (1.0, 3.0)
    assert not pixel_range(0, 1.0, 3.0).any
    assert selected_moments([5, 0], pixel_range(0, 0, 0)) == [M.MEAN_OF_THE_SPECTRUM]
    assert selected_moments([5, 0], pixel_range(1, -1.0, 2.0)) == [M.MEAN_OF_THE_SPECTRUM]
    assert selected_moments([5, 0, 5], pixel_range(1, 0.5, 2.0)) == [M.MEDIAN_COORDINATE, M.MEAN_OF_THE_SPECTRUM]
    assert selected_moments([5], pixel_range(2, -1.0, 2.0)) == [M.MEDIAN_COORDINATE]
    with pytest.raises(ValueError, match="Unknown moment type 13"):
        selected_moments([13], pixel_range(0, 0, 0))
    assert set(SUFFIXES) == set(Moment) and SUFFIXES[M.COORD_OF_THE_MIN_OF_THE_SPECTRUM] == "minimum_coord"


def test_median_of_long_even_spectra_takes_the_lower_middle() -> None:
    coords = moment_coordinates(spectral_axis_from_header(HEADERS["freq"], 2, 102), 0, 102)
    values = np.arange(102, dtype=F32)[:, None, None]
    assert moment_block(values, coords, [M.MEDIAN_OF_THE_SPECTRUM]).planes[M.MEDIAN_OF_THE_SPECTRUM][0, 0] == 50.0
    short = moment_coordinates(spectral_axis_from_header(HEADERS["freq"], 2, 100), 0, 100)
    planes = moment_block(values[:100], short, [M.MEDIAN_OF_THE_SPECTRUM]).planes
    assert planes[M.MEDIAN_OF_THE_SPECTRUM][0, 0] == 49.5


def test_spectrum_mask_and_selected_count(cube: np.ndarray) -> None:
    coords = moment_coordinates(spectral_axis_from_header(HEADERS["freq"], 2, 23), 0, 23)
    mask = np.zeros(cube.shape[1:], dtype=bool)
    mask[1:3, 2:5] = True
    result = moment_block(cube, coords, [M.MEAN_OF_THE_SPECTRUM, M.MAX_OF_THE_SPECTRUM], spectrum_mask=mask)
    plane = result.planes[M.MEAN_OF_THE_SPECTRUM]
    assert np.isnan(plane[~mask]).all() and np.isfinite(plane[mask]).all()
    assert result.selected == int(np.isfinite(cube[:, mask]).sum())
    nothing = moment_block(cube, coords, [M.MEAN_OF_THE_SPECTRUM], pixel_range(1, 1e6, 2e6))
    assert nothing.selected == 0 and np.isnan(nothing.planes[M.MEAN_OF_THE_SPECTRUM]).all()


def test_bands_give_the_same_planes_as_the_whole_block(cube: np.ndarray) -> None:
    coords = moment_coordinates(spectral_axis_from_header(HEADERS["freq_rest"], 2, 23), 0, 23)
    prange = pixel_range(2, -0.5, 0.5)
    moments = selected_moments(ALL, prange)
    whole = moment_block(cube, coords, moments, prange).planes
    for y0 in range(0, cube.shape[1], 2):
        part = moment_block(cube[:, y0 : y0 + 2], coords, moments, prange).planes
        for moment in moments:
            np.testing.assert_array_equal(part[moment], whole[moment][y0 : y0 + 2])


def test_large_block_uses_several_tiles_and_matches_float64_sums() -> None:
    rng = np.random.default_rng(3)
    block = rng.normal(10.0, 2.0, size=(300, 40, 50)).astype(F32)
    block[17, 5, 7] = np.nan
    coords = moment_coordinates(spectral_axis_from_header(HEADERS["freq_rest"], 2, 300), 0, 300)
    planes = moment_block(block, coords, [M.INTEGRATED_OF_THE_SPECTRUM, M.INTENSITY_WEIGHTED_COORD]).planes
    valid = np.isfinite(block)
    data = np.where(valid, block, 0).astype(np.float64)
    s0 = data.sum(axis=0)
    s1 = np.einsum("zyx,z->yx", data, coords.values)
    np.testing.assert_allclose(planes[M.INTEGRATED_OF_THE_SPECTRUM], (s0 * coords.scale).astype(F32), rtol=1e-7)
    np.testing.assert_allclose(planes[M.INTENSITY_WEIGHTED_COORD], (s1 / s0).astype(F32), rtol=1e-7)


@pytest.mark.parametrize("pattern", ["primary_beam", "first_tile_only", "sparse", "inf_columns"])
def test_non_finite_patterns_take_every_path_and_agree_with_numpy(pattern: str) -> None:
    rng = np.random.default_rng(11)
    block = rng.normal(1.0, 2.0, size=(1200, 30, 40)).astype(F32)  # several tiles of 437 planes
    if pattern == "primary_beam":
        block[:, :, :9] = np.nan  # 22 % of the spectra, in every tile: the tile-wide path
        block[500:520, 3, 20] = np.nan
    elif pattern == "first_tile_only":
        block[:300, :, :12] = np.nan  # tile-wide path, then back to the fast path
    elif pattern == "sparse":
        block.reshape(-1)[rng.integers(0, block.size, 40)] = np.nan  # a few spectra per tile
    else:
        block[:, 2:12, 5] = np.inf
        block[700, 7, 7] = -np.inf
    coords = moment_coordinates(spectral_axis_from_header(HEADERS["freq_rest"], 2, 1200), 0, 1200)
    moments = [M.MEAN_OF_THE_SPECTRUM, M.INTEGRATED_OF_THE_SPECTRUM, M.INTENSITY_WEIGHTED_COORD,
               M.RMS_OF_THE_SPECTRUM]
    result = moment_block(block, coords, moments)
    valid = np.isfinite(block)
    data = np.where(valid, block, 0).astype(np.float64)
    n = valid.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        s0 = data.sum(axis=0)
        want = {
            M.MEAN_OF_THE_SPECTRUM: s0 / n,
            M.INTEGRATED_OF_THE_SPECTRUM: s0 * coords.scale,
            M.INTENSITY_WEIGHTED_COORD: np.einsum("zyx,z->yx", data, coords.values) / s0,
            M.RMS_OF_THE_SPECTRUM: np.sqrt((data * data).sum(axis=0) / n),
        }
    assert result.selected == int(n.sum())
    for moment in moments:
        expected = np.where(n > 0, want[moment], np.nan).astype(F32)
        np.testing.assert_allclose(result.planes[moment], expected, rtol=2e-6, equal_nan=True, err_msg=moment.name)
