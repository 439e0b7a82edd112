"""Spectral profiles: coordinates, per-channel region statistics, computed Stokes, streaming.

Region profiles are checked channel by channel against plain numpy on the masked
values; computed-Stokes profiles against the combination formulas written out here;
per-pixel computed images against float32 numpy expressions (ANALYTICS.md §4, §10.1).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from carta_trio.analysis.polarization import PolarizationType as PT
from carta_trio.analysis.polarization import combine_profiles, computed_stokes, is_computed, required_components
from carta_trio.analysis.spectral_profiles import (
    ProfileAccumulator,
    computed_region_profiles,
    next_cursor_delta,
    next_region_delta,
    parse_coordinate,
    region_spectral_profiles,
    resolve_stokes_index,
)
from carta_trio.analysis.statistics import SPECTRAL_STATS, StatsType

ST = StatsType
F32 = np.float32


# ----------------------------------------------------------------- coordinates


@pytest.mark.parametrize(
    "text, want",
    [("z", (None, "z")), ("", (None, "")), ("x", (None, "x")), ("Iz", (PT.I, "z")), ("Qx", (PT.Q, "x")),
     ("Ptotalz", (PT.Ptotal, "z")), ("PFlinearz", (PT.PFlinear, "z")), ("Panglez", (PT.Pangle, "z")),
     ("I", (PT.I, "")), ("Vy", (PT.V, "y")), ("YXz", (PT.YX, "z"))],
)
def test_parse_coordinate(text: str, want: tuple[object, str]) -> None:
    assert parse_coordinate(text) == want


@pytest.mark.parametrize("text", ["Wz", "Fooz", "Pz", "abc", "zz", "Iq"])
def test_unknown_coordinates_raise(text: str) -> None:
    with pytest.raises(ValueError):
        parse_coordinate(text)


def test_resolve_stokes_index() -> None:
    iquv = [PT.I, PT.Q, PT.U, PT.V]
    assert resolve_stokes_index("z", stokes_types=iquv, num_stokes=4, current_stokes=2) == 2
    assert resolve_stokes_index("Uz", stokes_types=iquv, num_stokes=4, current_stokes=0) == 2
    assert resolve_stokes_index("Ptotalz", stokes_types=iquv, num_stokes=4, current_stokes=0) == 13
    assert resolve_stokes_index("Panglez", stokes_types=iquv, num_stokes=4, current_stokes=0) == 17
    # header order wins over the assumed order
    assert resolve_stokes_index("Iz", stokes_types=[PT.V, PT.I], num_stokes=2, current_stokes=0) == 1
    # no header Stokes: assumed (value - 1) % 4 when the image has that many planes
    assert resolve_stokes_index("Iz", stokes_types=[], num_stokes=1, current_stokes=0) == 0
    assert resolve_stokes_index("LLz", stokes_types=[], num_stokes=2, current_stokes=0) == 1
    assert resolve_stokes_index("YXz", stokes_types=[], num_stokes=4, current_stokes=0) == 3
    with pytest.raises(ValueError, match="invalid stokes"):
        resolve_stokes_index("Vz", stokes_types=[], num_stokes=1, current_stokes=0)


# ----------------------------------------------------------------- region profiles


def numpy_profile(cube: np.ndarray, mask: np.ndarray | None, st: StatsType, flux: np.ndarray) -> np.ndarray:
    out = []
    for z in range(cube.shape[0]):
        v = cube[z] if mask is None else cube[z][mask]
        v = v[~np.isnan(v)].astype(np.float64)
        n = v.size
        if n == 0:
            out.append(math.nan)
            continue
        lo, hi = v.min(), v.max()
        out.append({
            ST.NumPixels: n, ST.Sum: v.sum(), ST.FluxDensity: v.sum() * flux[z], ST.Mean: v.mean(),
            ST.RMS: math.sqrt((v * v).sum() / n), ST.Sigma: 0.0 if n == 1 else v.std(ddof=1),
            ST.SumSq: (v * v).sum(), ST.Min: lo, ST.Max: hi, ST.Extrema: lo if abs(lo) > abs(hi) else hi,
        }[st])
    return np.array(out)


def make_cube(rng: np.random.Generator, shape: tuple[int, int, int]) -> np.ndarray:
    cube = (rng.standard_normal(shape) * 2 + 1).astype(F32)
    cube[1, 0, 0] = np.nan
    cube[2] = np.nan  # empty channel
    cube[3, :, :4] = np.nan  # NaN border
    return cube


@pytest.mark.parametrize("masked", [False, True])
def test_region_profiles_match_numpy(masked: bool) -> None:
    rng = np.random.default_rng(21)
    cube = make_cube(rng, (9, 14, 17))
    mask = (rng.random((14, 17)) < 0.55) if masked else None
    flux = np.linspace(0.1, 0.9, 9)
    got = region_spectral_profiles(cube, mask, None, flux)
    assert list(got) == list(SPECTRAL_STATS)
    for st in SPECTRAL_STATS:
        np.testing.assert_allclose(got[st], numpy_profile(cube, mask, st, flux), rtol=1e-12, equal_nan=True, err_msg=st.name)
    assert all(math.isnan(got[st][2]) for st in SPECTRAL_STATS)  # empty channel: NumPixels too


def test_requested_subset_and_non_profile_types() -> None:
    cube = np.arange(24, dtype=F32).reshape(2, 3, 4)
    got = region_spectral_profiles(cube, None, [ST.Mean, ST.NanCount, ST.Blc])
    assert list(got) == [ST.Mean, ST.NanCount, ST.Blc]
    np.testing.assert_allclose(got[ST.Mean], [5.5, 17.5])
    assert np.isnan(got[ST.NanCount]).all() and np.isnan(got[ST.Blc]).all()


def test_point_region_profile_is_the_pixel() -> None:
    spectrum = np.array([3.0, -2.0, np.nan, 0.5], dtype=F32)
    got = region_spectral_profiles(spectrum.reshape(4, 1, 1), None)
    np.testing.assert_array_equal(got[ST.Mean], spectrum.astype(np.float64))
    np.testing.assert_array_equal(got[ST.RMS], np.abs(spectrum).astype(np.float64))
    np.testing.assert_array_equal(got[ST.Sigma], [0, 0, np.nan, 0])
    np.testing.assert_array_equal(got[ST.NumPixels], [1, 1, np.nan, 1])


def test_multi_beam_flux_profile() -> None:
    # a 5x5 box of 1.0 with beams 4"x2" then 8"x4" (1" pixels): [2.757945, 0.689486]
    area = np.array([math.pi / (4 * math.log(2)) * 8, math.pi / (4 * math.log(2)) * 32])
    got = region_spectral_profiles(np.ones((2, 5, 5), dtype=F32), None, [ST.FluxDensity], 1.0 / area)
    np.testing.assert_allclose(got[ST.FluxDensity], [2.757945, 0.689486], rtol=1e-6)


def test_workers_split_channels() -> None:
    rng = np.random.default_rng(22)
    cube = make_cube(rng, (11, 8, 9))
    one = region_spectral_profiles(cube, None)
    two = region_spectral_profiles(cube, None, workers=2)
    for st in SPECTRAL_STATS:
        np.testing.assert_array_equal(one[st], two[st])


# ----------------------------------------------------------------- computed Stokes


def test_computed_region_profiles_combine_stat_by_stat() -> None:
    rng = np.random.default_rng(23)
    comps = {name: {st: rng.standard_normal(6) for st in SPECTRAL_STATS} for name in "IQUV"}
    comps["Q"][ST.Mean][2] = np.nan
    for kind in (PT.Ptotal, PT.Plinear, PT.PFtotal, PT.PFlinear, PT.Pangle):
        got = computed_region_profiles(kind, comps)
        for st in SPECTRAL_STATS:
            i, q, u, v = (comps[n][st] for n in "IQUV")
            want = {
                PT.Ptotal: np.sqrt(q**2 + u**2 + v**2), PT.Plinear: np.sqrt(q**2 + u**2),
                PT.PFtotal: 100 * np.sqrt(q**2 + u**2 + v**2) / i, PT.PFlinear: 100 * np.sqrt(q**2 + u**2) / i,
                PT.Pangle: np.degrees(np.arctan2(u, q)) / 2,
            }[kind]
            np.testing.assert_allclose(got[st], want, rtol=1e-14, equal_nan=True)
        assert np.isnan(got[ST.Mean][2])
    # NumPixels is combined like any statistic: Ptotal of N, N, N is sqrt(3)·N
    n = {name: {ST.NumPixels: np.array([4.0])} for name in "QUV"}
    assert computed_region_profiles(PT.Ptotal, n, [ST.NumPixels])[ST.NumPixels][0] == pytest.approx(4 * math.sqrt(3))


def test_computed_stokes_pixels_in_float32() -> None:
    rng = np.random.default_rng(24)
    i, q, u, v = (rng.standard_normal(50).astype(F32) for _ in range(4))
    q[3] = np.nan
    i[5] = 0.0
    with np.errstate(divide="ignore", invalid="ignore"):
        want = {
            PT.Ptotal: np.sqrt(v * v + u * u + q * q),
            PT.Plinear: np.sqrt(u * u + q * q),
            PT.PFtotal: (100.0 * np.sqrt(v * v + u * u + q * q).astype(np.float64) / i).astype(F32),
            PT.PFlinear: (100.0 * np.sqrt(u * u + q * q).astype(np.float64) / i).astype(F32),
            PT.Pangle: F32(90 / math.pi) * np.arctan2(u, q),
        }
    for kind, expected in want.items():
        got = computed_stokes(kind, i, q, u, v)
        assert got.dtype == F32
        np.testing.assert_allclose(got, expected, rtol=2e-7, equal_nan=True, err_msg=kind.name)
        assert np.isnan(got[3])
    assert np.isinf(computed_stokes(PT.PFlinear, i, q, u, v)[5])
    assert required_components(PT.Pangle) == ("Q", "U") and is_computed(15) and not is_computed(4)
    with pytest.raises(ValueError):
        computed_stokes(PT.Ptotal, q=q, u=u)
    with pytest.raises(ValueError):
        required_components(PT.I)
    assert combine_profiles(PT.Pangle, q=np.array([0.0]), u=np.array([1.0]))[0] == pytest.approx(45.0)


# ----------------------------------------------------------------- streaming helpers


def test_accumulator_and_block_sizes() -> None:
    acc = ProfileAccumulator(10, [ST.Mean, ST.Sum])
    assert acc.progress == 0 and not acc.complete
    acc.add(0, {ST.Mean: np.arange(4.0), ST.Sum: np.ones(4)})
    assert acc.progress == 0.4 and np.isnan(acc.profiles[ST.Mean][4:]).all()
    acc.add(4, {ST.Mean: np.arange(6.0), ST.Sum: np.ones(6)})
    assert acc.complete and acc.profiles[ST.Mean][9] == 5.0
    assert next_region_delta(10, 25.0, 1000) == 20 and next_region_delta(10, 1000.0, 1000) == 1
    assert next_region_delta(10, 0.01, 300) == 300 and next_region_delta(10, 0.0, 300) == 300
    assert next_cursor_delta(10, 10, 20.0, 1000) == 25 and next_cursor_delta(25, 25, 1.0, 1000) == 25
    assert next_cursor_delta(10, 10, 0.1, 40) == 40
