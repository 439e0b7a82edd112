"""Gaussian image fitting (ANALYTICS.md §8) against data the tests generate.

The synthetic images are built here from rotated-axis Gaussians (not the fitter's
A/B/C form), so the pa convention is checked independently: the fwhm_x axis points
at pa from +y towards -x. Errors, fluxes and the log are recomputed from the formulas
in the ICD notes.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
import scipy.optimize

from carta_trio.analysis.gaussian_fit import (
    Component,
    FitInputError,
    GaussianFitter,
    SOLVERS,
    fit_gaussians,
    gaussian_image,
    scaled_mad,
)
from carta_trio.analysis.nonlinear_lsq import LinearSolver, TrustRegionLM

LN2x8 = 8.0 * math.log(2.0)


def rotated_gaussian(shape: tuple[int, int], cx: float, cy: float, amp: float, fwhm_x: float, fwhm_y: float,
                     pa: float) -> np.ndarray:
    """A Gaussian whose fwhm_x axis is the unit vector (-sin pa, cos pa)."""
    ys, xs = np.mgrid[0:shape[0], 0:shape[1]].astype(np.float64)
    t = math.radians(pa)
    u = (xs - cx) * -math.sin(t) + (ys - cy) * math.cos(t)
    v = (xs - cx) * math.cos(t) + (ys - cy) * math.sin(t)
    return amp * np.exp(-0.5 * (u * u / (fwhm_x ** 2 / LN2x8) + v * v / (fwhm_y ** 2 / LN2x8)))


def noisy_image(shape: tuple[int, int], components: list[tuple[float, ...]], offset: float, noise: float,
                seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    image = np.full(shape, offset, dtype=np.float64)
    for component in components:
        image += rotated_gaussian(shape, *component)
    return (image + rng.normal(0.0, noise, shape)).astype(np.float32)


TRUTH = [(40.3, 30.7, 20.0, 9.0, 4.5, 30.0), (18.2, 52.6, 12.0, 6.0, 5.0, 120.0)]
GUESS = [(41.0, 31.0, 15.0, 7.0, 5.0, 20.0), (19.0, 52.0, 10.0, 5.0, 4.0, 110.0)]
SHAPE = (72, 64)


def condon_errors(values: Component, sigma: float, theta: float) -> list[float]:
    """The ANALYTICS.md §8.4 error estimates, written out again."""
    _, _, amp, fx, fy, pa = values
    if theta > 0:
        a = fx * fy / (4 * theta ** 2) * amp ** 2 / sigma ** 2
        b, c = 1 + (theta / fx) ** 2, 1 + (theta / fy) ** 2
        r1, r2, r3 = a * b ** 1.5 * c ** 1.5, a * b ** 2.5 * c ** 0.5, a * b ** 0.5 * c ** 2.5
    else:
        r1 = r2 = r3 = math.pi * fx * fy / LN2x8 * amp ** 2 / sigma ** 2
    e_major2 = fx ** 2 / LN2x8 * 2 / r2
    e_minor2 = fy ** 2 / LN2x8 * 2 / r3
    s2, c2 = math.sin(math.radians(pa)) ** 2, math.cos(math.radians(pa)) ** 2
    t = fx * fy / (fx ** 2 - fy ** 2)
    return [math.sqrt(e_major2 * s2 + e_minor2 * c2), math.sqrt(e_major2 * c2 + e_minor2 * s2),
            abs(amp) * math.sqrt(2 / r1), abs(fx) * math.sqrt(2 / r2), abs(fy) * math.sqrt(2 / r3),
            180 / math.pi * math.sqrt(4 * t * t / r3)]


@pytest.mark.parametrize("solver", [0, 1, 2, 3])
def test_recovers_two_gaussians_within_reported_errors(solver: int) -> None:
    image = noisy_image(SHAPE, TRUTH, 0.0, 0.5, seed=3)
    result = fit_gaussians(image, GUESS, [False] * 12 + [True], 0.0, solver=solver)
    assert result.success and result.message == ""
    for fitted, error, truth in zip(result.values, result.errors, TRUTH):
        for value, err, expected in zip(fitted, error, truth):
            assert err > 0
            assert abs(value - expected) <= 4 * err, (fitted, error, truth)
    assert result.offset == 0.0 and result.offset_error == 0.0


def test_solvers_agree_and_mcholesky_is_cholesky() -> None:
    image = noisy_image(SHAPE, TRUTH, 1.0, 0.5, seed=4)
    results = [fit_gaussians(image, GUESS, [False] * 13, 0.0, solver=s) for s in range(4)]
    assert SOLVERS == {0: LinearSolver.QR, 1: LinearSolver.CHOLESKY, 2: LinearSolver.CHOLESKY, 3: LinearSolver.SVD}
    reference = np.array([v for r in results for v in r.values]).reshape(4, -1)
    assert np.allclose(reference, reference[0], rtol=0, atol=1e-5)
    assert results[1].values == results[2].values and results[1].log == results[2].log


def test_errors_are_the_analytic_estimates_with_and_without_beam() -> None:
    image = noisy_image(SHAPE, TRUTH, 0.0, 0.5, seed=5)
    sigma = scaled_mad(image[np.isfinite(image)])
    for theta in (0.0, 3.0):
        result = fit_gaussians(image, GUESS, [False] * 12 + [True], 0.0, beam_size=theta)
        for values, errors in zip(result.values, result.errors):
            assert np.allclose(errors, condon_errors(values, sigma, theta), rtol=1e-12)


def test_scaled_mad_is_gsl_mad() -> None:
    values = np.array([1.0, 2.0, 4.0, 7.0, 100.0, -3.0])
    median = (2.0 + 4.0) / 2
    deviations = sorted(abs(v - median) for v in values)
    assert scaled_mad(values) == pytest.approx(1.4826 * (deviations[2] + deviations[3]) / 2)


def test_fixed_parameters_stay_fixed() -> None:
    image = noisy_image(SHAPE, TRUTH, 0.0, 0.5, seed=6)
    guess = [list(GUESS[0]), list(GUESS[1])]
    guess[0][3], guess[0][4], guess[0][5] = 9.5, 4.0, 33.0  # wrong but fixed shape
    guess[1][0], guess[1][1] = 18.2, 52.6  # right and fixed centre
    fixed = [False, False, False, True, True, True, True, True, False, False, False, False, True]
    result = fit_gaussians(image, guess, fixed, 0.0)
    assert result.success
    flat_values = [v for c in result.values for v in c]
    flat_errors = [e for c in result.errors for e in c]
    flat_guess = [v for c in guess for v in c]
    for i, is_fixed in enumerate(fixed[:-1]):
        if is_fixed:
            assert flat_values[i] == flat_guess[i] and flat_errors[i] == 0.0
        else:
            assert flat_errors[i] > 0
    # the free amplitude of the first component absorbs the wrong shape; the second is fine
    assert result.values[1].amp == pytest.approx(TRUTH[1][2], abs=4 * result.errors[1].amp)
    assert result.values[1].fwhm_x == pytest.approx(TRUTH[1][3], abs=4 * result.errors[1].fwhm_x)


def test_background_offset_free_and_fixed() -> None:
    image = noisy_image(SHAPE, TRUTH, 7.5, 0.5, seed=7)
    free = fit_gaussians(image, GUESS, [False] * 13, math.nan)
    assert free.success
    assert free.offset_error > 0
    assert abs(free.offset - 7.5) <= 4 * free.offset_error
    # the covariance error of the offset: about sigma / sqrt(n) for a flat background
    assert free.offset_error == pytest.approx(0.5 / math.sqrt(image.size), rel=0.3)
    fixed = fit_gaussians(image, GUESS, [False] * 12 + [True], 7.0)
    assert fixed.offset == 7.0 and fixed.offset_error == 0.0
    no_background = noisy_image(SHAPE, TRUTH, 0.0, 0.5, seed=7)
    nan_fixed = fit_gaussians(no_background, GUESS, [False] * 12 + [True], math.nan)
    assert nan_fixed.success and nan_fixed.offset == 0.0


def test_pa_convention_from_plus_y_towards_minus_x() -> None:
    truth = (32.0, 36.0, 10.0, 12.0, 4.0, 30.0)
    image = rotated_gaussian(SHAPE, *truth).astype(np.float32)
    image += np.random.default_rng(8).normal(0, 0.05, SHAPE).astype(np.float32)
    result = fit_gaussians(image, [(31.0, 35.0, 8.0, 10.0, 5.0, 20.0)], [False] * 6 + [True])
    fitted = result.values[0]
    assert fitted.pa == pytest.approx(30.0, abs=0.2)
    assert (fitted.fwhm_x, fitted.fwhm_y) == (pytest.approx(12.0, abs=0.05), pytest.approx(4.0, abs=0.05))
    # and the module's own model image agrees with the independent one
    assert np.allclose(gaussian_image(SHAPE, [truth]), rotated_gaussian(SHAPE, *truth), atol=1e-12)


def test_region_box_origin_and_nan_pixels() -> None:
    image = noisy_image(SHAPE, TRUTH, 0.0, 0.5, seed=9)
    x0, y0 = 25, 15
    box = image[y0:y0 + 35, x0:x0 + 32].copy()
    box[:4, :] = np.nan  # outside an irregular region
    result = fit_gaussians(box, [GUESS[0]], [False] * 6 + [True], origin=(x0, y0), model=True, residual=True)
    assert result.success
    fitted = result.values[0]
    assert abs(fitted.center_x - TRUTH[0][0]) <= 4 * result.errors[0].center_x
    assert abs(fitted.center_y - TRUTH[0][1]) <= 4 * result.errors[0].center_y
    expected_model = gaussian_image(box.shape, result.values, result.offset, origin=(x0, y0))
    nan = np.isnan(box)
    assert np.array_equal(np.isnan(result.model), nan) and np.array_equal(np.isnan(result.residual), nan)
    assert np.allclose(result.model[~nan], expected_model[~nan], rtol=1e-6, atol=1e-5)
    assert np.allclose(result.residual[~nan], box[~nan] - expected_model[~nan], rtol=1e-6, atol=1e-5)
    assert result.model.dtype == np.float32 and result.model.shape == box.shape


def test_integrated_flux_by_unit() -> None:
    image = noisy_image(SHAPE, TRUTH[:1], 0.0, 0.2, seed=10)
    per_pixel = fit_gaussians(image, GUESS[:1], [False] * 6 + [True], unit="Jy/pixel", model=True)
    volume = float(np.nansum(per_pixel.model))  # numerical integral of the fitted model
    assert per_pixel.integrated_flux[0] == pytest.approx(volume, rel=1e-3)
    values = per_pixel.values[0]
    rho2 = math.pi * values.fwhm_x * values.fwhm_y / LN2x8 * values.amp ** 2 / scaled_mad(image.ravel()) ** 2
    assert per_pixel.integrated_flux_errors[0] == pytest.approx(per_pixel.integrated_flux[0] * math.sqrt(2 / rho2))
    theta = 3.0
    per_beam = fit_gaussians(image, GUESS[:1], [False] * 6 + [True], unit="Jy/beam", beam_size=theta)
    beam_area = math.pi * theta ** 2 / (4 * math.log(2))
    assert per_beam.integrated_flux[0] == pytest.approx(
        2 * math.pi * per_beam.values[0].amp * per_beam.values[0].fwhm_x * per_beam.values[0].fwhm_y / LN2x8 / beam_area)
    assert per_beam.integrated_flux_errors[0] > 0
    assert fit_gaussians(image, GUESS[:1], [False] * 6 + [True], unit="K").integrated_flux == []
    # a unit that does not match the beam state: the list is there but zero (as coded)
    mismatch = fit_gaussians(image, GUESS[:1], [False] * 6 + [True], unit="Jy/pixel", beam_size=theta)
    assert mismatch.integrated_flux == [0.0] and mismatch.integrated_flux_errors == [0.0]


def test_log_text() -> None:
    image = noisy_image(SHAPE, TRUTH, 0.0, 0.5, seed=11)
    image[0, :5] = np.nan
    result = fit_gaussians(image, GUESS, [False] * 12 + [True], residual=True)
    lines = result.log.split("\n")
    assert lines[0] == "Gaussian fitting with 2 component(s)"
    assert lines[1] == "summary from method 'trust-region/levenberg-marquardt':"
    assert re.fullmatch(r"number of iterations = \d+", lines[2])
    iterations = int(lines[2].split("= ")[1])
    assert iterations == result.iterations and 1 <= iterations < 200
    nevalf = int(lines[3].split("= ")[1])
    assert nevalf >= 1 + 13 * (iterations + 1) - 1  # one f and 12 Jacobian columns per accepted step
    assert lines[4] == "Jacobian evaluations = 0"
    assert lines[5] in ("reason for stopping  = small step size", "reason for stopping  = small gradient")
    numbers = {}
    for line in lines[6:12]:
        key, value = line.split("=")
        assert re.fullmatch(r" -?\d\.\d{12}e[+-]\d{2}", value), line
        numbers[key.strip()] = float(value)
    cost = float(np.nansum(result.residual.astype(np.float64) ** 2))
    n = int(np.count_nonzero(~np.isnan(image)))
    assert numbers["final cost"] == pytest.approx(cost, rel=1e-5)
    assert numbers["final |f(x)|"] == pytest.approx(math.sqrt(cost), rel=1e-5)
    assert numbers["residual variance"] == pytest.approx(cost / (n - 12), rel=1e-5)
    initial = noisy_image(SHAPE, TRUTH, 0.0, 0.5, seed=11).astype(np.float64) - gaussian_image(SHAPE, GUESS)
    initial[0, :5] = np.nan
    assert numbers["initial cost"] == pytest.approx(float(np.nansum(initial ** 2)), rel=1e-9)
    assert numbers["final cond(J)"] >= 1.0
    assert lines[12] == ""


def test_max_iterations_is_still_a_success() -> None:
    image = noisy_image(SHAPE, TRUTH, 0.0, 0.5, seed=12)
    result = fit_gaussians(image, GUESS, [False] * 12 + [True], max_iter=2)
    assert result.success and result.message == "exceeded max number of iterations"
    assert "reason for stopping  = exceeded max number of iterations" in result.log
    assert "number of iterations = 2\n" in result.log


@pytest.mark.parametrize("data, components, fixed, message", [
    (np.full((8, 8), np.nan, np.float32), [(4, 4, 1, 2, 2, 0)], None, "insufficient data points"),
    (np.ones((2, 2), np.float32), [(1, 1, 1, 2, 2, 0)], [False] * 7, "insufficient data points"),
    (np.ones((8, 8), np.float32), [], None, "no initial values"),
    (np.ones((8, 8), np.float32), [(4, 4, 1, 2, 2, 0)], [True] * 7, "all parameters are fixed"),
    (np.ones((8, 8), np.float32), [(4, 4, math.nan, 2, 2, 0)], None, "finite"),
])
def test_bad_input(data: np.ndarray, components: list, fixed: list | None, message: str) -> None:
    with pytest.raises(FitInputError, match=message):
        GaussianFitter(data, components, fixed)
    result = fit_gaussians(data, components, fixed)
    assert not result.success and message in result.message and result.values == []


def test_wrong_fixed_length_means_all_free_but_offset() -> None:
    image = noisy_image(SHAPE, TRUTH[:1], 3.0, 0.5, seed=13)
    fitter = GaussianFitter(image, GUESS[:1], [True, False], 2.0)
    assert fitter.fixed == [False] * 6 + [True]
    assert fitter.result().offset == 2.0


def test_stepwise_progress_and_stop() -> None:
    image = noisy_image(SHAPE, TRUTH, 0.0, 0.5, seed=14)
    fitter = GaussianFitter(image, GUESS, [False] * 12 + [True])
    assert fitter.progress == 0.0
    assert fitter.run(budget=0.0) is False  # set up, no iteration yet
    assert fitter.progress == pytest.approx(1 / 202)
    fitter._lm.iterate()  # type: ignore[union-attr]
    assert fitter.progress == pytest.approx(2 / 202)
    assert fitter.run() is True
    assert fitter.progress == pytest.approx(201 / 202)
    stopped = GaussianFitter(image, GUESS, [False] * 12 + [True])
    stopped.run(budget=0.0)
    stopped.stop()
    assert stopped.run() is True
    result = stopped.result()
    assert (result.success, result.message, result.cancelled) == (False, "task cancelled", True)


def test_driver_matches_scipy_on_a_plain_problem() -> None:
    """The LM loop converges to the same least-squares solution as scipy's MINPACK."""
    t = np.linspace(0, 4, 50)
    y = 3.0 * np.exp(-1.3 * t) + 0.5 + 0.01 * np.sin(7 * t)

    class Decay:
        def residual(self, x: np.ndarray) -> np.ndarray:
            return y - (x[0] * np.exp(-x[1] * t) + x[2])

        def perturbed(self, x: np.ndarray, j: int, value: float, f: np.ndarray) -> np.ndarray:
            shifted = x.copy()
            shifted[j] = value
            return self.residual(shifted)

    expected = scipy.optimize.least_squares(Decay().residual, [1.0, 1.0, 0.0], method="lm", xtol=1e-12).x
    for solver in LinearSolver:
        lm = TrustRegionLM(Decay(), np.array([1.0, 1.0, 0.0]), solver)
        lm.run()
        assert lm.info in (1, 2) and not lm.max_iter_exceeded
        assert np.allclose(lm.x, expected, rtol=1e-6)
