"""Vector-overlay maths (analysis/vector_field.py) against independent numpy formulas."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from carta_trio.analysis import vector_field as vf
from carta_trio.codecs.downsample import block_mean


def reference_block_mean(plane: np.ndarray, f: int) -> np.ndarray:
    """float64 nanmean of each f x f block (partial edge blocks, NaN when empty)."""
    h, w = plane.shape
    padded = np.full((-(-h // f) * f, -(-w // f) * f), np.nan)
    padded[:h, :w] = plane
    blocks = padded.reshape(padded.shape[0] // f, f, padded.shape[1] // f, f)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # empty blocks give NaN
        return np.nanmean(blocks, axis=(1, 3))


def stokes_planes(seed: int = 0, shape: tuple[int, int] = (50, 70)) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    i = rng.uniform(0.5, 3.0, shape).astype(np.float32)
    q = rng.normal(0, 0.4, shape).astype(np.float32)
    u = rng.normal(0, 0.4, shape).astype(np.float32)
    i[3, 4] = np.nan
    q[10:14, 10:14] = np.nan  # a whole 4x4 block
    u[30, 31] = np.nan
    return i, q, u


def reference_overlay(i, q, u, mip, *, fractional=False, threshold=math.nan, qe=0.0, ue=0.0):
    """PI, PA written from WIRE.md 7 in float64 on float64 block means."""
    I, Q, U = (reference_block_mean(a.astype(np.float64), mip) for a in (i, q, u))
    with np.errstate(invalid="ignore", divide="ignore"):
        pi = np.sqrt(Q**2 + U**2 - (qe**2 + ue**2) / 2)
        if fractional:
            pi = 100 * pi / I
        pa = np.degrees(np.arctan2(U, Q)) / 2
        if fractional or not math.isnan(threshold):
            cut = np.isnan(I) | (I < threshold if not math.isnan(threshold) else False)
            pi[cut] = np.nan
            pa[cut] = np.nan
    return pi, pa


def full_sources(**kw) -> vf.VectorSources:
    settings = vf.VectorSettings(smoothing_factor=4, stokes_intensity=1, stokes_angle=1, **kw)
    return settings, vf.vector_sources(settings, True, [1, 2, 3, 4], 4)


@pytest.mark.parametrize(
    "kw",
    [
        {},
        {"fractional": True},
        {"threshold": 1.5},
        {"fractional": True, "threshold": 1.0},
        {"debiasing": True, "q_error": 0.2, "u_error": 0.1},
    ],
)
@pytest.mark.parametrize("mip", [1, 2, 4])
def test_pi_pa_match_independent_formulas(kw: dict, mip: int) -> None:
    i, q, u = stokes_planes()
    settings, sources = full_sources(**kw)
    planes = [block_mean(a, mip) if mip > 1 else a for a in (i, q, u)]
    intensity, angle = vf.vector_field(settings, sources, None, *planes)
    exp_pi, exp_pa = reference_overlay(
        i, q, u, mip, fractional=settings.fractional, threshold=settings.threshold,
        qe=settings.q_error, ue=settings.u_error,
    )
    for got, want in ((intensity, exp_pi), (angle, exp_pa)):
        assert got.dtype == np.float32 and got.shape == want.shape
        assert np.array_equal(np.isnan(got), np.isnan(want))
        np.testing.assert_allclose(got[~np.isnan(got)], want[~np.isnan(want)], rtol=2e-5, atol=2e-4)
    assert np.nanmax(np.abs(angle)) <= 90.0


def test_debiasing_makes_negative_radicand_nan() -> None:
    q = np.array([[0.1, 3.0]], np.float32)
    u = np.array([[0.0, 4.0]], np.float32)
    pi = vf.polarized_intensity(q, u, 1.0, 1.0)
    assert math.isnan(pi[0, 0])
    assert pi[0, 1] == pytest.approx(math.sqrt(25 - 1))


def test_angle_is_half_atan2_in_degrees() -> None:
    q = np.array([1.0, 0.0, -1.0, 0.0], np.float32)
    u = np.array([0.0, 1.0, 0.0, -1.0], np.float32)
    np.testing.assert_allclose(vf.polarization_angle(q, u), [0.0, 45.0, 90.0, -45.0], atol=1e-5)


def test_current_image_threshold() -> None:
    current = np.array([[0.5, 2.0, np.nan, 1.0]], np.float32)
    settings = vf.VectorSettings(smoothing_factor=1, threshold=1.0, stokes_intensity=0, stokes_angle=-1)
    sources = vf.vector_sources(settings, True, [1, 2, 3, 4], 4)
    intensity, angle = vf.vector_field(settings, sources, current)
    assert angle is None
    np.testing.assert_array_equal(intensity, [[np.nan, 2.0, np.nan, 1.0]])


def test_stokes_index_rules() -> None:
    assert vf.stokes_index("Q", [1, 2, 3, 4], 4) == 1
    assert vf.stokes_index("U", [3, 2], 2) == 0  # named by the header
    assert vf.stokes_index("Q", [], 4) == 1  # assumed (code - 1) % 4
    assert vf.stokes_index("U", [-1, -2], 2) is None  # RR, LL: no U and only 2 planes
    assert vf.stokes_index("I", [], 1) == 0


def test_sources_without_stokes_axis_use_the_current_image() -> None:
    settings = vf.VectorSettings(smoothing_factor=2, stokes_intensity=0, stokes_angle=-1)
    sources = vf.vector_sources(settings, False, [], 1)
    assert (sources.current_as_intensity, sources.current_as_angle) == (True, True)
    assert not (sources.compute_intensity or sources.compute_angle)


@pytest.mark.parametrize("has_axis, values, n", [(False, [], 1), (True, [1], 1), (True, [1, 4], 2)])
def test_computing_without_q_or_u_is_refused(has_axis: bool, values: list[int], n: int) -> None:
    settings = vf.VectorSettings(smoothing_factor=2, stokes_intensity=1, stokes_angle=0)
    with pytest.raises(ValueError, match="no Stokes .*U"):
        vf.vector_sources(settings, has_axis, values, n)


def test_threshold_reads_stokes_i() -> None:
    settings = vf.VectorSettings(smoothing_factor=2, stokes_intensity=1, stokes_angle=1, threshold=0.1)
    # The reference's "assumed index" quirk: with Q, U only, "I" falls back to index 0.
    assert vf.vector_sources(settings, True, [2, 3], 2).i_index == 0
    assert vf.vector_sources(settings.__class__(smoothing_factor=2, stokes_intensity=1), True, [2, 3], 2).i_index is None
    sources = vf.vector_sources(settings, True, [2, 3, 1], 3)
    assert (sources.i_index, sources.q_index, sources.u_index) == (2, 0, 1)


def test_settings_equality_like_the_reference() -> None:
    a = vf.VectorSettings(smoothing_factor=4, threshold=1.0, stokes_intensity=1, stokes_angle=1)
    assert a.same_as(vf.VectorSettings(smoothing_factor=4, threshold=1.0, stokes_intensity=1, stokes_angle=1))
    assert not a.same_as(vf.VectorSettings(smoothing_factor=2, threshold=1.0, stokes_intensity=1, stokes_angle=1))
    assert not vf.VectorSettings(smoothing_factor=4).same_as(vf.VectorSettings(smoothing_factor=4))  # NaN threshold
    assert not a.same_as(None)
    assert vf.VectorSettings(stokes_intensity=-1, stokes_angle=-1).cleared
