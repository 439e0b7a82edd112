"""Nonlinear least squares the way the reference's image fitter runs it (ANALYTICS.md §8.3).

The reference calls GSL ``gsl_multifit_nlinear`` with its default parameters: the
trust-region driver with the Levenberg-Marquardt subproblem, Moré's diagonal scaling,
a forward finite-difference Jacobian (step ``sqrt(DBL_EPSILON)·|x_j|``, or that
constant when ``x_j = 0``), Nielsen's damping updates, at most 15 rejected steps per
iteration, and the convergence tests ``|dx_i| < xtol² + xtol·|x_i|`` for all i
(info 1, "small step size") and ``max_i |g_i·max(x_i, 1)| <= gtol·max(½‖f‖², 1)``
(info 2, "small gradient"). The request's solver enum picks only the *linear* solver of
each damped step, which this module reproduces: QR of J (then a small QR of
``[R; sqrt(mu)·D]``), Cholesky of the normal equations ``JᵀJ + mu·D²``, or the SVD of
``J·D⁻¹``. All three solve the same equations, so they differ only in rounding and in
the reported condition number. scipy's ``least_squares`` offers neither this driver's
stopping rules nor its counts, and its ``lm`` (MINPACK) cannot be paused between
iterations; the loop is therefore written out here, stepwise, so the caller can report
progress and stop between iterations (a STOP_FITTING).

The residual vector is whatever the :class:`Problem` returns (already weighted); the
driver never looks at individual observations. Everything is float64.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Callable
from typing import Protocol

import numpy as np
import scipy.linalg

__all__ = ["LinearSolver", "Problem", "Stopped", "TrustRegionLM", "FD_STEP"]

#: GSL_SQRT_DBL_EPSILON, the relative finite-difference step (``h_df``).
FD_STEP = math.sqrt(np.finfo(float).eps)
#: GSL ``trust_iterate``: more consecutive rejected steps than this is "no progress".
MAX_BAD_STEPS = 15


#: GSL_ENOPROG: no acceptable step in the first iteration.
ENOPROG = 27

class LinearSolver(enum.Enum):
    """GSL ``gsl_multifit_nlinear_solver_*`` used for each damped step."""

    QR = "qr"
    CHOLESKY = "cholesky"
    SVD = "svd"


class Stopped(Exception):
    """Raised inside the driver when the caller asked it to stop."""


class Problem(Protocol):
    """A residual function. ``perturbed`` may exploit that only ``x[j]`` changed."""

    def residual(self, x: np.ndarray) -> np.ndarray:
        """The (weighted) residual vector f(x), float64 [n]."""
        ...

    def perturbed(self, x: np.ndarray, j: int, value: float, f: np.ndarray) -> np.ndarray:
        """f at ``x`` with ``x[j]`` replaced by ``value``; ``f`` = f(x) just computed."""
        ...


class TrustRegionLM:
    """GSL's trust-region Levenberg-Marquardt driver, one iteration at a time.

    Call :meth:`iterate` until :attr:`finished`; :attr:`niter` counts iterations as
    ``gsl_multifit_nlinear_niter`` does. ``should_stop`` is polled before every
    function evaluation; when it returns True the running call raises :class:`Stopped`.
    """

    def __init__(
        self,
        problem: Problem,
        x0: np.ndarray,
        solver: LinearSolver = LinearSolver.QR,
        *,
        max_iter: int = 200,
        xtol: float = 1e-8,
        gtol: float = 1e-8,
        should_stop: Callable[[], bool] | None = None,
    ) -> None:
        self.problem = problem
        self.solver = solver
        self.max_iter = max_iter
        self.xtol = xtol
        self.gtol = gtol
        self.should_stop = should_stop or (lambda: False)
        self.nevalf = 0
        self.niter = 0
        #: Why the driver stopped: 1 small step, 2 small gradient, 0 otherwise.
        self.info = 0
        #: True when the driver ended by reaching ``max_iter`` (GSL_EMAXITER) or by
        #: finding no acceptable step in its first iteration (also GSL_EMAXITER).
        self.max_iter_exceeded = False
        self.finished = False
        self.x = np.array(x0, dtype=np.float64)
        self.f = self._eval(self.x)
        self.J = self._jacobian(self.x, self.f)
        self.g = self.J.T @ self.f
        self.diag = _column_norms(self.J)
        self.dx = np.zeros_like(self.x)
        # Nielsen: mu = 1e-3 * max_j (|J_j| / D_j)^2 with D from Moré's scaling.
        ratio = np.linalg.norm(self.J, axis=0) / self.diag
        self.mu = 1e-3 * float(np.max(ratio, initial=-1.0)) ** 2
        self.nu = 2
        self.chisq0 = float(self.f @ self.f)
        self._factor_J = self.J
        self._factor_diag = self.diag.copy()

    # ------------------------------------------------------------------ driving

    @property
    def chisq(self) -> float:
        """‖f‖² at the current position."""
        return float(self.f @ self.f)

    def iterate(self) -> None:
        """One pass of ``gsl_multifit_nlinear_driver``'s loop: an iteration, then the tests."""
        if self.finished:
            return
        progressed = self._trust_iterate()
        if not progressed and self.niter == 1:
            # no acceptable step at all: the driver gives up with GSL_EMAXITER
            self.info = ENOPROG
            self.max_iter_exceeded = True
            self.finished = True
            return
        if self._converged():
            self.finished = True
        elif self.niter >= self.max_iter:
            self.max_iter_exceeded = True
            self.finished = True

    def run(self) -> None:
        """Iterate until finished."""
        while not self.finished:
            self.iterate()

    # -------------------------------------------------------------- one iteration

    def _trust_iterate(self) -> bool:
        """GSL ``trust_iterate`` with the LM subproblem; False after too many rejections."""
        self.niter += 1
        step = _StepSolver(self.solver, self.J, self.f, self.diag)
        self._factor_J, self._factor_diag = self.J, self.diag.copy()
        normf = math.sqrt(self.chisq)
        bad_steps = 0
        while True:
            v = step.solve(self.mu)
            self.dx = v
            x_trial = self.x + v
            f_trial = self._eval(x_trial)
            rho = _gain_ratio(normf, f_trial, self.J, v, self.diag, self.mu)
            if rho > 0.0:
                self.J = self._jacobian(x_trial, f_trial)
                self.x, self.f = x_trial, f_trial
                self.g = self.J.T @ self.f
                self.diag = np.maximum(self.diag, _column_norms(self.J))
                b = 2.0 * rho - 1.0
                self.mu *= max(0.333333333333333, 1.0 - b * b * b)
                self.nu = 2
                return True
            self.mu *= self.nu
            self.nu *= 2
            bad_steps += 1
            if bad_steps > MAX_BAD_STEPS:
                return False

    def _converged(self) -> bool:
        self.info = 0
        tolerance = self.xtol * self.xtol + self.xtol * np.abs(self.x)
        if np.all(np.abs(self.dx) < tolerance):
            self.info = 1
            return True
        gnorm = float(np.max(np.abs(np.maximum(self.x, 1.0) * self.g), initial=0.0))
        phi = 0.5 * self.chisq
        if gnorm <= self.gtol * max(phi, 1.0):
            self.info = 2
            return True
        return False

    # ------------------------------------------------------------- evaluations

    def _eval(self, x: np.ndarray) -> np.ndarray:
        if self.should_stop():
            raise Stopped
        self.nevalf += 1
        return np.asarray(self.problem.residual(x), dtype=np.float64)

    def _jacobian(self, x: np.ndarray, f: np.ndarray) -> np.ndarray:
        """Forward differences, one column per parameter (GSL ``forward_jac``)."""
        J = np.empty((f.size, x.size), dtype=np.float64)
        for j in range(x.size):
            delta = FD_STEP * abs(float(x[j]))
            if delta == 0.0:
                delta = FD_STEP
            if self.should_stop():
                raise Stopped
            self.nevalf += 1
            shifted = np.asarray(self.problem.perturbed(x, j, float(x[j]) + delta, f), dtype=np.float64)
            J[:, j] = (shifted - f) * (1.0 / delta)
        return J

    # ----------------------------------------------------------------- results

    def covariance(self) -> np.ndarray:
        """``inv(JᵀJ)`` of the (weighted) Jacobian at the solution (``gsl_multifit_nlinear_covar``)."""
        jtj = self.J.T @ self.J
        try:
            return np.linalg.inv(jtj)
        except np.linalg.LinAlgError:
            return np.linalg.pinv(jtj)

    def rcond(self) -> float:
        """Reciprocal condition number as the chosen GSL solver reports it.

        Taken from the factorization of the last iteration's Jacobian (as GSL, which
        factors once per iteration): 1-norm of R for QR, the square root of the 1-norm
        value of JᵀJ for Cholesky, s_min/s_max of J·D⁻¹ for SVD. GSL estimates the
        1-norm values; they are computed exactly here.
        """
        J, diag = self._factor_J, self._factor_diag
        with np.errstate(all="ignore"):
            if self.solver is LinearSolver.SVD:
                s = np.linalg.svd(J / diag, compute_uv=False)
                return float(s[-1] / s[0]) if s.size and s[0] > 0 else 0.0
            if self.solver is LinearSolver.CHOLESKY:
                return math.sqrt(max(_rcond_1norm(J.T @ J), 0.0))
            # pivoted QR of R has the R factor of pivoted QR of J (same Gram matrix)
            return _rcond_1norm(np.triu(scipy.linalg.qr(_r_factor(J), mode="r", pivoting=True)[0]))


class _StepSolver:
    """Solves ``(JᵀJ + mu·D²) v = -Jᵀf`` for the damped step, factoring J once."""

    def __init__(self, solver: LinearSolver, J: np.ndarray, f: np.ndarray, diag: np.ndarray) -> None:
        self.kind = solver
        self.diag = diag
        if solver is LinearSolver.QR:
            # R of [J f]: its last column holds Q^T f (Q never formed)
            r = _r_factor(np.column_stack([J, f]))
            p = J.shape[1]
            self.r, self.qtf = r[:p, :p], r[:p, p]
        elif solver is LinearSolver.CHOLESKY:
            self.jtj = J.T @ J
            self.rhs = -(J.T @ f)
        else:
            self.u, self.s, self.vt = np.linalg.svd(J / diag, full_matrices=False)
            self.utf = self.u.T @ f

    def solve(self, mu: float) -> np.ndarray:
        p = self.diag.size
        if self.kind is LinearSolver.QR:
            a = np.vstack([self.r, math.sqrt(mu) * np.diag(self.diag)])
            b = np.concatenate([-self.qtf, np.zeros(p)])
            step: np.ndarray = np.linalg.lstsq(a, b, rcond=None)[0]
            return step
        if self.kind is LinearSolver.CHOLESKY:
            a = self.jtj + mu * np.diag(self.diag * self.diag)
            try:
                step = scipy.linalg.cho_solve(scipy.linalg.cho_factor(a), self.rhs)
                return step
            except np.linalg.LinAlgError:
                step = np.linalg.lstsq(a, self.rhs, rcond=None)[0]
                return step
        scale = self.s / (self.s * self.s + mu)
        step = (self.vt.T @ (scale * -self.utf)) / self.diag
        return step


def _r_factor(a: np.ndarray) -> np.ndarray:
    """The upper-triangular factor of the (economic) QR of ``a``, [p, p]."""
    r: np.ndarray = scipy.linalg.qr(np.array(a, order="F"), mode="raw", overwrite_a=True)[1]
    return r


def _column_norms(J: np.ndarray) -> np.ndarray:
    norms: np.ndarray = np.linalg.norm(J, axis=0)
    norms[norms == 0.0] = 1.0
    return norms


def _gain_ratio(normf: float, f_trial: np.ndarray, J: np.ndarray, v: np.ndarray, diag: np.ndarray,
                mu: float) -> float:
    """rho = actual / predicted reduction (GSL ``trust_calc_rho`` with ``lm_preduction``).

    A non-finite trial residual is rejected (GSL would accept a NaN rho as coded).
    """
    normf_trial = float(np.linalg.norm(f_trial))
    if not math.isfinite(normf_trial) or normf_trial >= normf:
        return -1.0
    u = normf_trial / normf
    actual = 1.0 - u * u
    norm_jv = float(np.linalg.norm(J @ v)) / normf
    norm_dv = float(np.linalg.norm(diag * v)) / normf
    predicted = norm_jv * norm_jv + 2.0 * mu * norm_dv * norm_dv
    return actual / predicted if predicted > 0.0 else -1.0


def _rcond_1norm(a: np.ndarray) -> float:
    """1 / (‖A‖₁·‖A⁻¹‖₁), 0 for a singular matrix."""
    try:
        inverse = np.linalg.inv(a)
    except np.linalg.LinAlgError:
        return 0.0
    value = np.linalg.norm(a, 1) * np.linalg.norm(inverse, 1)
    return float(1.0 / value) if value > 0 and math.isfinite(value) else 0.0
