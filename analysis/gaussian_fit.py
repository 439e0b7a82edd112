"""Several elliptical 2-D Gaussians fitted to one image plane (ANALYTICS.md §8).

Model (§8.2), per component ``(center_x, center_y, amp, fwhm_x, fwhm_y, pa)`` in pixels
and degrees, plus one background offset after all components::

    f_i = (d_i - offset) - Σ_k amp_k · exp(-(A dx² + B dx dy + C dy²))
    σx² = fwhm_x²/(8 ln 2), σy² = fwhm_y²/(8 ln 2), φ = pa - 90°
    A = cos²φ/(2σx²) + sin²φ/(2σy²),  B = sin 2φ/(2σx²) - sin 2φ/(2σy²),
    C = sin²φ/(2σx²) + cos²φ/(2σy²)

so the fwhm_x axis points at pa from +y towards -x (counter-clockwise). dx, dy are
column and row offsets in the fitted box. NaN pixels are left out of the residuals
(the reference sets their residual to 0, which is the same thing). Every residual is
weighted by 1/σ with σ the scaled MAD ``1.4826·median|v - median v|`` of the finite
pixels (GSL ``gsl_stats_mad``); when that is 0 (a noiseless image) σ falls back to the
standard deviation, then to 1 (the reference would divide by zero). The reference
evaluates ``d - offset`` and each Gaussian in float32; this module stays in float64,
so its iteration counts may differ slightly.

Fixed parameters keep their initial values; a NaN initial offset becomes 0. A
``fixed`` list of the wrong length means "all free except the offset" (the reference
meant that, but its fallback is buggy: §8.2). Results are not normalised: pa is not
wrapped and fwhm may come back negative. The solver and its stopping rules are
:mod:`carta_trio.analysis.nonlinear_lsq` (§8.3); errors are the reference's analytic
(Condon-style) estimates (:mod:`carta_trio.analysis.gaussian_errors`), the offset error
the covariance one (§8.4); the log is the reference's text. :class:`GaussianFitter`
runs stepwise so a caller can report progress ``(iter + 1)/(max_iter + 2)`` and stop
between iterations.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import time
from collections.abc import Sequence
from typing import NamedTuple, TypedDict, Unpack

import numpy as np

from .gaussian_errors import SQ_FWHM_TO_SIGMA, component_errors, integrated_fluxes
from .nonlinear_lsq import ENOPROG, LinearSolver, Stopped, TrustRegionLM

__all__ = [
    "Component",
    "FitInputError",
    "FitResult",
    "GaussianFitter",
    "MAX_ITER",
    "SOLVERS",
    "fit_gaussians",
    "gaussian_image",
    "scaled_mad",
]

log = logging.getLogger(__name__)

PARAMS_PER_COMPONENT = 6
MAX_ITER = 200
#: CARTA.FittingSolverType -> GSL linear solver. Mcholesky is not mapped by the
#: reference and falls through to Cholesky.
SOLVERS = {0: LinearSolver.QR, 1: LinearSolver.CHOLESKY, 2: LinearSolver.CHOLESKY, 3: LinearSolver.SVD}
_STOP_REASONS = {1: "small step size", 2: "small gradient"}


class Component(NamedTuple):
    """One Gaussian: centre (pixels), amplitude, FWHM along its axes (pixels), pa (deg)."""

    center_x: float
    center_y: float
    amp: float
    fwhm_x: float
    fwhm_y: float
    pa: float


class FitInputError(ValueError):
    """Input the fitter refuses; ``str(error)`` is the client-facing message."""


@dataclasses.dataclass
class FitResult:
    """What FITTING_RESPONSE carries. Values and errors are empty unless ``success``;
    the flux lists are empty unless the unit is ``Jy/beam`` or ``Jy/pixel``."""

    success: bool
    message: str = ""
    values: list[Component] = dataclasses.field(default_factory=list)
    errors: list[Component] = dataclasses.field(default_factory=list)
    offset: float = 0.0
    offset_error: float = 0.0
    integrated_flux: list[float] = dataclasses.field(default_factory=list)
    integrated_flux_errors: list[float] = dataclasses.field(default_factory=list)
    log: str = ""
    model: np.ndarray | None = None
    residual: np.ndarray | None = None
    cancelled: bool = False
    iterations: int = 0


def _quadratic(fwhm_x: float, fwhm_y: float, pa: float) -> tuple[float, float, float]:
    """(A, B, C) of the exponent for one component."""
    with np.errstate(all="ignore"):
        two_sx2 = np.float64(2.0 * fwhm_x * fwhm_x * SQ_FWHM_TO_SIGMA)
        two_sy2 = np.float64(2.0 * fwhm_y * fwhm_y * SQ_FWHM_TO_SIGMA)
        phi = math.radians(pa - 90.0)
        cos2, sin2, sin2phi = math.cos(phi) ** 2, math.sin(phi) ** 2, math.sin(2.0 * phi)
        a = cos2 / two_sx2 + sin2 / two_sy2
        b = sin2phi / two_sx2 - sin2phi / two_sy2
        c = sin2 / two_sx2 + cos2 / two_sy2
    return float(a), float(b), float(c)


def _gaussian(xs: np.ndarray, ys: np.ndarray, params: Sequence[float] | np.ndarray) -> np.ndarray:
    """amp·exp(-(A dx² + B dx dy + C dy²)) at pixel coordinates ``xs``, ``ys``."""
    cx, cy, amp, fwhm_x, fwhm_y, pa = (float(v) for v in params)
    a, b, c = _quadratic(fwhm_x, fwhm_y, pa)
    dx = xs - cx
    dy = ys - cy
    with np.errstate(all="ignore"):
        q = a * dx * dx
        q += b * dx * dy
        q += c * dy * dy
        return amp * np.exp(-q)


def gaussian_image(shape: tuple[int, int], components: Sequence[Sequence[float]], offset: float = 0.0,
                   origin: tuple[int, int] = (0, 0)) -> np.ndarray:
    """``offset + Σ`` Gaussians on a ``[height, width]`` grid whose pixel (0, 0) is image
    pixel ``origin`` = (x0, y0); float64."""
    height, width = shape
    ys, xs = np.mgrid[0:height, 0:width]
    xs = xs.astype(np.float64) + origin[0]
    ys = ys.astype(np.float64) + origin[1]
    out = np.full(shape, float(offset), dtype=np.float64)
    for component in components:
        out += _gaussian(xs, ys, component)
    return out


def scaled_mad(values: np.ndarray) -> float:
    """GSL ``gsl_stats_mad``: 1.4826 · median(|v - median(v)|) (medians average the two
    middle values of an even count)."""
    values = np.asarray(values, dtype=np.float64)
    if values.size == 0:
        return math.nan
    return float(1.4826 * np.median(np.abs(values - np.median(values))))


class _Residuals:
    """The weighted residual vector over the finite pixels, for the LM driver."""

    def __init__(self, xs: np.ndarray, ys: np.ndarray, data: np.ndarray, initial: np.ndarray,
                 free: list[int], weight: float) -> None:
        self.xs, self.ys, self.data = xs, ys, data
        self.initial = initial
        self.free = free
        self.weight = weight
        self.ncomp = (initial.size - 1) // PARAMS_PER_COMPONENT
        self._cache: tuple[bytes, list[np.ndarray]] | None = None

    def full(self, x: np.ndarray) -> np.ndarray:
        params = self.initial.copy()
        params[self.free] = x
        return params

    def _components(self, params: np.ndarray) -> list[np.ndarray]:
        n = PARAMS_PER_COMPONENT
        return [_gaussian(self.xs, self.ys, params[k * n:(k + 1) * n]) for k in range(self.ncomp)]

    def unweighted(self, x: np.ndarray) -> np.ndarray:
        params = self.full(x)
        components = self._components(params)
        self._cache = (np.asarray(x, dtype=np.float64).tobytes(), components)
        with np.errstate(all="ignore"):
            r: np.ndarray = self.data - params[-1]
            for g in components:
                r -= g
        return r

    def residual(self, x: np.ndarray) -> np.ndarray:
        return self.unweighted(x) * self.weight

    def perturbed(self, x: np.ndarray, j: int, value: float, f: np.ndarray) -> np.ndarray:
        index = self.free[j]
        with np.errstate(all="ignore"):
            if index == self.initial.size - 1:
                return f - (value - float(x[j])) * self.weight
            if self._cache is None or self._cache[0] != np.asarray(x, dtype=np.float64).tobytes():
                self.unweighted(x)
            assert self._cache is not None
            k = index // PARAMS_PER_COMPONENT
            params = self.full(x)
            params[index] = value
            n = PARAMS_PER_COMPONENT
            shifted = _gaussian(self.xs, self.ys, params[k * n:(k + 1) * n])
            residual: np.ndarray = f + (self._cache[1][k] - shifted) * self.weight
            return residual


class GaussianFitter:
    """One fit of ``components`` to ``data`` (float32/64 ``[height, width]``, NaN = no data).

    ``origin`` = (x0, y0) is the image pixel of ``data[0, 0]`` (initial centres are in
    image pixels and results come back in them). ``beam_size`` is sqrt(bmaj·bmin) of the
    plane's beam in pixels (0 without a beam); ``unit`` the image's brightness unit.
    Raises :class:`FitInputError` for input it cannot fit. Not thread-safe, except
    :meth:`stop`, which may be called from any thread.
    """

    def __init__(
        self,
        data: np.ndarray,
        components: Sequence[Sequence[float]],
        fixed: Sequence[bool] | None = None,
        offset: float = 0.0,
        *,
        solver: int = 0,
        beam_size: float = 0.0,
        unit: str = "",
        origin: tuple[int, int] = (0, 0),
        max_iter: int = MAX_ITER,
    ) -> None:
        data = np.asarray(data)
        if data.ndim != 2:
            raise FitInputError("fitting needs a 2-D image")
        if not components:
            raise FitInputError("no initial values: at least one Gaussian component is needed")
        self.shape = data.shape
        self.origin = (int(origin[0]), int(origin[1]))
        self.ncomp = len(components)
        self.beam_size = float(beam_size)
        self.unit = unit
        self.max_iter = max_iter
        self.solver = SOLVERS.get(int(solver), LinearSolver.CHOLESKY)
        initial = []
        for component in components:
            values = [float(v) for v in component]
            if len(values) != PARAMS_PER_COMPONENT or not all(math.isfinite(v) for v in values):
                raise FitInputError("initial values of every component must be 6 finite numbers")
            initial += [values[0] - self.origin[0], values[1] - self.origin[1], *values[2:]]
        offset = float(offset)
        initial.append(0.0 if math.isnan(offset) else offset)
        self.initial = np.array(initial, dtype=np.float64)
        nparams = self.initial.size
        if fixed is None or len(fixed) != nparams:
            if fixed is not None:
                log.warning("fixed_params has %d entries, expected %d: fitting all but the offset",
                            len(fixed), nparams)
            fixed = [False] * (nparams - 1) + [True]
        self.fixed = [bool(v) for v in fixed]
        self.free = [i for i, is_fixed in enumerate(self.fixed) if not is_fixed]
        if not self.free:
            raise FitInputError("all parameters are fixed: nothing to fit")
        pixels = np.asarray(data, dtype=np.float64)
        finite = ~np.isnan(pixels)
        self.n_valid = int(np.count_nonzero(finite))
        if self.n_valid < len(self.free):
            raise FitInputError("insufficient data points")
        ys, xs = np.nonzero(finite)
        samples = pixels[finite]
        self.sigma = _noise_sigma(samples)
        self._finite = finite
        self._problem = _Residuals(xs.astype(np.float64), ys.astype(np.float64), samples,
                                   self.initial, self.free, 1.0 / self.sigma)
        self._lm: TrustRegionLM | None = None
        self._stop = False
        self._cancelled = False
        self._progress: list[float] = []

    # ------------------------------------------------------------------ running

    def stop(self) -> None:
        """Ask a running :meth:`run` to stop before its next function evaluation."""
        self._stop = True

    @property
    def finished(self) -> bool:
        return self._cancelled or (self._lm is not None and self._lm.finished)

    @property
    def progress(self) -> float:
        """The reference's FITTING_PROGRESS value at this point."""
        if self._lm is None:
            return 0.0
        done = self.max_iter + 1 if self._lm.finished else self._lm.niter + 1
        return done / (self.max_iter + 2)

    def run(self, budget: float | None = None) -> bool:
        """Iterate until finished or ``budget`` seconds have passed; True when finished.

        Blocking (run it in a worker thread). Returns at once after :meth:`stop`.
        """
        deadline = None if budget is None else time.monotonic() + budget
        try:
            if self._lm is None:
                self._lm = TrustRegionLM(self._problem, self.initial[self.free], self.solver,
                                         max_iter=self.max_iter, should_stop=lambda: self._stop)
                self._progress.append(1 / (self.max_iter + 2))  # the driver's call before iterating
            while not self._lm.finished:
                if deadline is not None and time.monotonic() >= deadline:
                    return False
                self._lm.iterate()
                if self._lm.info != ENOPROG:  # GSL returns before the callback then
                    self._progress.append((self._lm.niter + 1) / (self.max_iter + 2))
        except Stopped:
            self._cancelled = True
        return True

    def take_progress(self) -> list[float]:
        """Progress values of the iterations run since the last call, in order: the
        reference's per-iteration ``(iter + 1)/(max_iter + 2)``. Call between runs."""
        values, self._progress = self._progress, []
        return values

    # ------------------------------------------------------------------ results

    def result(self, *, model: bool = False, residual: bool = False) -> FitResult:
        """The fit's outcome (runs the fit to the end first if needed)."""
        if not self.finished:
            self.run()
        lm = self._lm
        if self._cancelled or lm is None:
            return FitResult(False, "task cancelled", cancelled=True)
        if lm.max_iter_exceeded and lm.niter < self.max_iter:
            return FitResult(False, "fit did not converge", iterations=lm.niter)
        message = "exceeded max number of iterations" if lm.max_iter_exceeded else ""
        params = self._problem.full(lm.x)
        out = FitResult(True, message, iterations=lm.niter)
        fitted = [params[k * PARAMS_PER_COMPONENT:(k + 1) * PARAMS_PER_COMPONENT] for k in range(self.ncomp)]
        for k, values in enumerate(fitted):
            cx, cy, amp, fwhm_x, fwhm_y, pa = (float(v) for v in values)
            out.values.append(Component(cx + self.origin[0], cy + self.origin[1], amp, fwhm_x, fwhm_y, pa))
            errors = component_errors(values, self.sigma, self.beam_size)
            base = k * PARAMS_PER_COMPONENT
            out.errors.append(Component(*(0.0 if self.fixed[base + i] else errors[i] for i in range(6))))
        out.offset = float(params[-1])
        if not self.fixed[-1]:
            j = self.free.index(self.initial.size - 1)
            dof = self.n_valid - len(self.free)
            scale = max(1.0, math.sqrt(lm.chisq / dof)) if dof > 0 else 1.0
            out.offset_error = float(scale * math.sqrt(max(float(lm.covariance()[j, j]), 0.0)))
        out.integrated_flux, out.integrated_flux_errors = integrated_fluxes(fitted, self.sigma, self.beam_size, self.unit)
        out.log = self._log(lm)
        if model or residual:
            rest = self._problem.unweighted(lm.x)
            image = np.full(self.shape, np.nan, dtype=np.float64)
            if model:
                image[self._finite] = self._problem.data - rest
                out.model = image.astype(np.float32)
            if residual:
                image[self._finite] = rest
                out.residual = image.astype(np.float32)
        return out

    def _log(self, lm: TrustRegionLM) -> str:
        """The reference's fitting log (``ImageFitter::GetLog``); costs are unweighted."""
        var = self.sigma * self.sigma
        chisq0, chisq = lm.chisq0 * var, lm.chisq * var
        dof = self.n_valid - len(self.free)
        with np.errstate(all="ignore"):
            variance = float(np.float64(chisq) / np.float64(dof))
            cond = float(np.float64(1.0) / np.float64(lm.rcond()))
        lines = [
            f"Gaussian fitting with {self.ncomp} component(s)",
            "summary from method 'trust-region/levenberg-marquardt':",
            f"number of iterations = {lm.niter}",
            f"function evaluations = {lm.nevalf}",
            "Jacobian evaluations = 0",
            f"reason for stopping  = {_STOP_REASONS.get(lm.info, 'exceeded max number of iterations')}",
            f"initial |f(x)|       = {math.sqrt(chisq0):.12e}",
            f"final |f(x)|         = {math.sqrt(chisq):.12e}",
            f"initial cost         = {chisq0:.12e}",
            f"final cost           = {chisq:.12e}",
            f"residual variance    = {variance:.12e}",
            f"final cond(J)        = {cond:.12e}",
        ]
        return "\n".join(lines) + "\n"


def _noise_sigma(samples: np.ndarray) -> float:
    sigma = scaled_mad(samples)
    if not (sigma > 0 and math.isfinite(sigma)):
        sigma = float(np.std(samples)) if samples.size else 0.0
    if not (sigma > 0 and math.isfinite(sigma)):
        sigma = 1.0
    return sigma


class FitOptions(TypedDict, total=False):
    """The keyword options of :class:`GaussianFitter`."""

    solver: int
    beam_size: float
    unit: str
    origin: tuple[int, int]
    max_iter: int


def fit_gaussians(data: np.ndarray, components: Sequence[Sequence[float]], fixed: Sequence[bool] | None = None,
                  offset: float = 0.0, *, model: bool = False, residual: bool = False,
                  **options: Unpack[FitOptions]) -> FitResult:
    """Fit to completion (blocking); input errors become ``success=False`` results."""
    try:
        fitter = GaussianFitter(data, components, fixed, offset, **options)
    except FitInputError as exc:
        return FitResult(False, str(exc))
    fitter.run()
    return fitter.result(model=model, residual=residual)
