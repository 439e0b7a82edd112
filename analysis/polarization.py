"""Computed polarization quantities (ANALYTICS.md §0.5, §4.6, §10.1).

Two different combinations exist in the reference and both are needed:

* :func:`computed_stokes` — the per-pixel computed image (casacore LEL expressions),
  used for raster tiles, cursor profiles, statistics, histograms and moments. Float32
  arithmetic as LEL evaluates it: ``Ptotal = sqrt((V² + U²) + Q²)``,
  ``Plinear = sqrt(U² + Q²)``, ``PFtotal``/``PFlinear = 100·P/I`` (the constant 100.0 is
  a double, so that product and quotient are formed in double and rounded once),
  ``Pangle = f32(90/π)·atan2(U, Q)`` degrees. NaN in any input gives NaN; I = 0 gives ±Inf.
* :func:`combine_profiles` — region spectral profiles combine per-statistic profiles of
  I, Q, U, V *stat by stat* (e.g. the "Mean" Plinear profile is sqrt(mean_Q² + mean_U²)),
  in double: ``sqrt((Q² + U²) + V²)``, ``100·(P/I)``, ``(180/π)·atan2(U, Q)/2``.
"""

from __future__ import annotations

import enum
import math

import numpy as np

__all__ = [
    "PolarizationType",
    "COMPUTED_STOKES",
    "is_computed",
    "required_components",
    "computed_stokes",
    "combine_profiles",
]

_F32 = np.float32


class PolarizationType(enum.IntEnum):
    """CARTA.PolarizationType; also the Stokes *index* of the computed types (13–17)."""

    POLARIZATION_TYPE_NONE = 0
    I = 1  # noqa: E741
    Q = 2
    U = 3
    V = 4
    RR = 5
    LL = 6
    RL = 7
    LR = 8
    XX = 9
    YY = 10
    XY = 11
    YX = 12
    Ptotal = 13
    Plinear = 14
    PFtotal = 15
    PFlinear = 16
    Pangle = 17


COMPUTED_STOKES = frozenset(
    {PolarizationType.Ptotal, PolarizationType.Plinear, PolarizationType.PFtotal, PolarizationType.PFlinear, PolarizationType.Pangle}
)

_COMPONENTS = {
    PolarizationType.Ptotal: ("Q", "U", "V"),
    PolarizationType.Plinear: ("Q", "U"),
    PolarizationType.PFtotal: ("I", "Q", "U", "V"),
    PolarizationType.PFlinear: ("I", "Q", "U"),
    PolarizationType.Pangle: ("Q", "U"),
}


def is_computed(stokes: int) -> bool:
    """True for the computed Stokes indices 13–17."""
    return int(stokes) in COMPUTED_STOKES


def required_components(kind: int) -> tuple[str, ...]:
    """Which of "I", "Q", "U", "V" a computed type needs."""
    try:
        return _COMPONENTS[PolarizationType(int(kind))]
    except (KeyError, ValueError):
        raise ValueError(f"{kind} is not a computed polarization type") from None


def _need(name: str, value: np.ndarray | None) -> np.ndarray:
    if value is None:
        raise ValueError(f"Stokes {name} is required")
    return value


def computed_stokes(
    kind: int,
    i: np.ndarray | None = None,
    q: np.ndarray | None = None,
    u: np.ndarray | None = None,
    v: np.ndarray | None = None,
) -> np.ndarray:
    """Per-pixel computed polarization (float32) from I, Q, U, V arrays of equal shape."""
    kind = PolarizationType(int(kind))
    required_components(kind)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        if kind == PolarizationType.Pangle:
            uu = np.asarray(_need("U", u), dtype=_F32)
            qq = np.asarray(_need("Q", q), dtype=_F32)
            return (_F32(90.0 / math.pi) * np.arctan2(uu, qq)).astype(_F32)
        qq = np.asarray(_need("Q", q), dtype=_F32)
        uu = np.asarray(_need("U", u), dtype=_F32)
        if kind in (PolarizationType.Ptotal, PolarizationType.PFtotal):
            vv = np.asarray(_need("V", v), dtype=_F32)
            p: np.ndarray = np.sqrt(vv * vv + uu * uu + qq * qq).astype(_F32)
        else:
            p = np.sqrt(uu * uu + qq * qq).astype(_F32)
        if kind in (PolarizationType.Ptotal, PolarizationType.Plinear):
            return p
        ii = np.asarray(_need("I", i), dtype=_F32)
        fraction: np.ndarray = (100.0 * p.astype(np.float64) / ii.astype(np.float64)).astype(_F32)
        return fraction


def combine_profiles(
    kind: int,
    i: np.ndarray | None = None,
    q: np.ndarray | None = None,
    u: np.ndarray | None = None,
    v: np.ndarray | None = None,
) -> np.ndarray:
    """Combine one statistic's I/Q/U/V profiles into a computed-Stokes profile (float64).

    Applied to every statistic alike, NumPixels included (Ptotal NumPixels = √3·N).
    """
    kind = PolarizationType(int(kind))
    required_components(kind)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        qq = np.asarray(_need("Q", q), dtype=np.float64)
        uu = np.asarray(_need("U", u), dtype=np.float64)
        if kind == PolarizationType.Pangle:
            return (180.0 / math.pi) * np.arctan2(uu, qq) / 2
        if kind in (PolarizationType.Ptotal, PolarizationType.PFtotal):
            vv = np.asarray(_need("V", v), dtype=np.float64)
            p = np.sqrt(qq * qq + uu * uu + vv * vv)
        else:
            p = np.sqrt(qq * qq + uu * uu)
        if kind in (PolarizationType.Ptotal, PolarizationType.Plinear):
            return p
        ii = np.asarray(_need("I", i), dtype=np.float64)
        return 100.0 * (p / ii)
