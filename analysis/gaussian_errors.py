"""Uncertainties and integrated fluxes of fitted Gaussians (ANALYTICS.md §8.4).

The reference reports analytic (Condon-style) errors, not the covariance: with σ the
image noise (scaled MAD), θ = sqrt(bmaj·bmin) of the beam in pixels and per component
amp, fwhm_x, fwhm_y, pa:

* θ > 0: a = fx·fy/(4θ²)·amp²/σ², b = 1 + (θ/fx)², c = 1 + (θ/fy)²,
  ρ1² = a·b^1.5·c^1.5, ρ2² = a·b^2.5·c^0.5, ρ3² = a·b^0.5·c^2.5;
* θ = 0: ρ1² = ρ2² = ρ3² = π·fx·fy/(8 ln 2)·amp²/σ²;

then ε_major² = fx²/(8 ln 2)·2/ρ2², ε_minor² = fy²/(8 ln 2)·2/ρ3²,
err_cx = sqrt(ε_major² sin²pa + ε_minor² cos²pa), err_cy = sqrt(ε_major² cos²pa +
ε_minor² sin²pa), err_amp = |amp|·sqrt(2/ρ1²), err_fx = |fx|·sqrt(2/ρ2²),
err_fy = |fy|·sqrt(2/ρ3²), err_pa = (180/π)·sqrt(4t²/ρ3²) with t = fx·fy/(fx² - fy²).

Integrated flux F = 2π·fx·fy/(8 ln 2)·amp, divided by the beam area πθ²/(4 ln 2) for
``Jy/beam`` images with a beam (error F·sqrt(2/ρ1² + θ²/(fx fy)·(2/ρ2² + 2/ρ3²))), as
is for ``Jy/pixel`` images without one (error F·sqrt(2/ρ²)); a unit that matches
neither case leaves 0 (as coded), any other unit gives no fluxes at all.

Division follows IEEE rules as in the C++ reference: a circular Gaussian has an
infinite pa error, a zero amplitude infinite errors.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

__all__ = ["component_errors", "integrated_fluxes", "FLUX_UNITS"]

SQ_FWHM_TO_SIGMA = 1.0 / 8.0 / math.log(2.0)
FLUX_UNITS = ("Jy/beam", "Jy/pixel")


def _rho_squares(amp: np.float64, fwhm_x: np.float64, fwhm_y: np.float64, sigma: float,
                 theta: float) -> tuple[np.float64, np.float64, np.float64]:
    if theta > 0:
        a = fwhm_x * fwhm_y / 4.0 / theta / theta * amp * amp / sigma / sigma
        b = 1.0 + (theta / fwhm_x) ** 2
        c = 1.0 + (theta / fwhm_y) ** 2
        return a * b ** 1.5 * c ** 1.5, a * b ** 2.5 * c ** 0.5, a * b ** 0.5 * c ** 2.5
    rho = math.pi * fwhm_x * fwhm_y * SQ_FWHM_TO_SIGMA * amp * amp / sigma / sigma
    return rho, rho, rho


def component_errors(values: Sequence[float] | np.ndarray, sigma: float, beam_size: float) -> tuple[float, ...]:
    """Errors of ``(center_x, center_y, amp, fwhm_x, fwhm_y, pa)`` of one component."""
    with np.errstate(all="ignore"):
        _, _, amp, fwhm_x, fwhm_y, pa = (np.float64(v) for v in values)
        rho1, rho2, rho3 = _rho_squares(amp, fwhm_x, fwhm_y, sigma, beam_size)
        major2 = fwhm_x * fwhm_x * SQ_FWHM_TO_SIGMA * 2.0 / rho2
        minor2 = fwhm_y * fwhm_y * SQ_FWHM_TO_SIGMA * 2.0 / rho3
        sin2 = math.sin(math.radians(pa)) ** 2
        cos2 = math.cos(math.radians(pa)) ** 2
        t = fwhm_x * fwhm_y / (fwhm_x * fwhm_x - fwhm_y * fwhm_y)
        return tuple(float(v) for v in (
            np.sqrt(major2 * sin2 + minor2 * cos2),
            np.sqrt(major2 * cos2 + minor2 * sin2),
            np.sqrt(amp * amp * 2.0 / rho1),
            np.sqrt(fwhm_x * fwhm_x * 2.0 / rho2),
            np.sqrt(fwhm_y * fwhm_y * 2.0 / rho3),
            np.sqrt(4.0 * t * t / rho3) * 180.0 / math.pi,
        ))


def integrated_fluxes(components: Sequence[Sequence[float] | np.ndarray], sigma: float, beam_size: float,
                      unit: str) -> tuple[list[float], list[float]]:
    """Integrated flux and its error per component; empty lists unless ``unit`` is one
    of :data:`FLUX_UNITS`."""
    if unit not in FLUX_UNITS:
        return [], []
    values, errors = [0.0] * len(components), [0.0] * len(components)
    theta = beam_size
    with np.errstate(all="ignore"):
        for k, component in enumerate(components):
            amp, fwhm_x, fwhm_y = (np.float64(v) for v in component[2:5])
            rho1, rho2, rho3 = _rho_squares(amp, fwhm_x, fwhm_y, sigma, theta)
            flux = 2.0 * math.pi * fwhm_x * fwhm_y * SQ_FWHM_TO_SIGMA * amp
            if theta > 0 and unit == "Jy/beam":
                flux = flux / (math.pi * theta * theta / 4.0 / math.log(2.0))
                ratio = theta * theta / fwhm_x / fwhm_y
                values[k] = float(flux)
                errors[k] = float(np.sqrt(flux * flux * (2.0 / rho1 + ratio * (2.0 / rho2 + 2.0 / rho3))))
            elif theta <= 0 and unit == "Jy/pixel":
                values[k] = float(flux)
                errors[k] = float(np.sqrt(flux * flux * 2.0 / rho1))
    return values, errors
